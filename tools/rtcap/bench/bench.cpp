#include "bench/bench.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/core.h>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>
#include <sstream>

#include "common/process.hpp"
#include "common/exit_codes.hpp"
#include "gen/gen.hpp"
#include "lab/lab.hpp"
#include "bench/pcap_pipe_reader.hpp"
#include "rtcap/latency_budget.hpp"
#include "common/text_format.hpp"
#include "rtcap/engine.hpp"

namespace rtcap::tool {
namespace {

using namespace std::chrono_literals;

// Every mode captures the same thing: the generator's datagrams (the lab carries nothing else:
// IPv6 is off and neighbours are permanent, but the filter keeps the comparison honest anyway).
const std::vector<std::string> kFilter = {"udp", "and", "dst", "host", "198.18.0.2"};
constexpr auto kReadyTimeout = 10s;  // capture program: "listening on" within this
constexpr auto kSettle = 200ms;      // after "listening on", before the first packet
constexpr auto kStopGrace = 10s;     // SIGINT -> exit, then SIGKILL
constexpr auto kReaderGrace = 10s;   // reader: end of file -> exit, then SIGKILL
constexpr auto kGenSlack = 20s;      // generator: --secs plus this, then stopped
constexpr auto kBetweenRuns = 300ms;
constexpr int kWakeProbeWakeups = 500;  // per probe, 1 ms apart: 3 x 2 probes ~ 3.5 s in all

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) {
    if (!s.empty()) s += ' ';
    const bool quote = a.find(' ') != std::string::npos;
    s += quote ? "'" + a + "'" : a;
  }
  return s;
}

std::string rate_name(double pps) { return pps == 0 ? "max" : fmt::format("{:.0f}", pps); }

std::string fmt_latency(double ns) {
  return format_duration_ns(static_cast<std::uint64_t>(std::llround(ns)));
}

// CPU time the whole machine spent in user, nice and system mode (/proc/stat, all CPUs), and
// what this process and its reaped children used: the difference over a run is the CPU other
// programs took while we measured (irq/softirq time is left out on both sides).
struct CpuSample {
  std::int64_t machine_ns = 0;
  std::int64_t ours_ns = 0;
  std::int64_t wall_ns = 0;
};

CpuSample cpu_sample() {
  CpuSample c;
  std::ifstream f("/proc/stat");
  std::string label;
  unsigned long long user = 0, nice = 0, system = 0;
  if (f >> label >> user >> nice >> system) {
    const long hz = sysconf(_SC_CLK_TCK);
    c.machine_ns = static_cast<std::int64_t>(
        (user + nice + system) *
        (1'000'000'000ull / static_cast<unsigned long long>(hz > 0 ? hz : 100)));
  }
  const auto tv = [](const timeval& t) {
    return std::int64_t(t.tv_sec) * 1'000'000'000 + std::int64_t(t.tv_usec) * 1000;
  };
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  c.ours_ns = tv(self.ru_utime) + tv(self.ru_stime) + tv(children.ru_utime) + tv(children.ru_stime);
  c.wall_ns = monotonic_ns();
  return c;
}

// Other programs' CPU between two samples, as a share of one CPU (0.5 = half a core).
double foreign_cpu_share(const CpuSample& a, const CpuSample& b) {
  const double wall = double(b.wall_ns - a.wall_ns);
  if (wall <= 0) return 0;
  const double foreign = double((b.machine_ns - a.machine_ns) - (b.ours_ns - a.ours_ns));
  return std::max(0.0, foreign / wall);
}

double loadavg1() {
  const std::string s = read_text_file("/proc/loadavg");
  return s.empty() ? -1 : std::atof(s.c_str());
}

// "123 packets dropped by kernel" etc. from tcpdump's exit lines; nullopt when absent.
std::optional<std::uint64_t> tcpdump_counter(const std::string& text, const std::string& what) {
  const std::regex re("([0-9]+) packets? " + what);
  std::smatch m;
  std::optional<std::uint64_t> last;
  auto begin = text.cbegin();
  while (std::regex_search(begin, text.cend(), m, re)) {
    last = std::stoull(m[1].str());
    begin = m.suffix().first;
  }
  return last;
}

HistogramData histogram_from_reader(const nlohmann::json& j) {
  HistogramData h;
  if (!j.contains("latency_histogram")) return h;
  for (const auto& pair : j["latency_histogram"]) {
    const auto i = pair.at(0).get<std::size_t>();
    const auto c = pair.at(1).get<std::uint64_t>();
    if (i < h.buckets.size()) h.buckets[i] += c;
  }
  const auto& l = j["latency_ns"];
  h.count = l.value("count", std::uint64_t{0});
  h.min = l.value("min", std::uint64_t{0});
  h.max = l.value("max", std::uint64_t{0});
  h.sum = static_cast<std::uint64_t>(l.value("mean", 0.0) * static_cast<double>(h.count));
  return h;
}

// Last line with "final": true of an rtcap --stats-json file.
std::optional<nlohmann::json> final_stats_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::optional<nlohmann::json> last;
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("final", false)) last = std::move(j);
  }
  return last;
}

struct Context {
  BenchConfig cfg;
  Lab lab;
  std::string self;
  std::string tcpdump;
  std::string dir;  // scratch directory for this bench
  int rx_netns_fd = -1;
  const std::atomic<bool>* interrupted = nullptr;
};

int open_out(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

std::vector<std::string> gen_args(const Context& ctx, double rate) {
  const BenchConfig& c = ctx.cfg;
  std::vector<std::string> a = {ctx.self,      "gen",   "--netns",
                                ctx.lab.tx_ns, "--dst", ctx.lab.rx_addr + ":5004"};
  if (c.rtp) {
    a.insert(a.end(), {"--streams", std::to_string(c.streams), "--ptime", c.ptime});
    if (c.rate_given || c.sweep) a.insert(a.end(), {"--rate", fmt::format("{}", rate)});
    // Every second, so that a 1 s run is announced too; 12 announcements/s beside ~100 kpps.
    if (c.sap_traffic) a.insert(a.end(), {"--sap", "--sap-interval", "1"});
  } else {
    a.insert(a.end(),
             {"--payload", std::to_string(c.payload_bytes), "--rate", fmt::format("{}", rate)});
  }
  a.insert(a.end(), {"--secs", fmt::format("{}", c.secs), "-q"});
  return a;
}

std::vector<std::string> capture_args(const Context& ctx, const BenchMode& m,
                                      const std::string& stats_path, const std::string& audio_dir,
                                      const std::string& streams_json) {
  std::vector<std::string> a;
  if (m.tcpdump) {
    a = {ctx.tcpdump, "-i", ctx.lab.rx_if, "-U", "-w", "-"};
  } else if (m.reference) {
    a = {ctx.self, "bench-reference", "-i", ctx.lab.rx_if};
  } else {
    a = {ctx.self, "--netns", ctx.lab.rx_ns, "-i",           ctx.lab.rx_if, "-U",
         "-w",     "-",       "-q",          "--stats-json", stats_path};
  }
  a.insert(a.end(), m.args.begin(), m.args.end());
  if (m.analysis) a.insert(a.end(), {"--streams-json", streams_json});
  if (m.extract_audio) a.insert(a.end(), {"--extract-audio", audio_dir});
  a.insert(a.end(), kFilter.begin(), kFilter.end());
  return a;
}

// Waits for the capture program's "listening on" (rtcap and tcpdump both print it once the
// handle is active, i.e. once packets are being kept).
std::string wait_ready(ChildProcess& capture, const std::string& err_path,
                       const std::atomic<bool>* interrupted) {
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  for (;;) {
    if (read_text_file(err_path).find("listening on") != std::string::npos) return {};
    if (capture.poll())
      return fmt::format("capture ended before it listened ({}): {}", capture.describe_status(),
                         read_text_file(err_path));
    if (interrupted->load()) return "interrupted";
    if (std::chrono::steady_clock::now() >= deadline)
      return fmt::format("capture not listening after {} s: {}", kReadyTimeout.count(),
                         read_text_file(err_path));
    std::this_thread::sleep_for(10ms);
  }
}

// What an analysis mode's capture saw (its --streams-json): every stream, described by SAP when
// the mode announces them, and ptp4l's messages when the lab carries them.
void check_analysis(const Context& ctx, const BenchMode& mode, const std::string& streams_json,
                    BenchRun& run) {
  const auto j = nlohmann::json::parse(read_text_file(streams_json), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("streams")) {
    if (run.error.empty()) run.error = "capture wrote no --streams-json report";
    return;
  }
  int rtp = 0, described = 0;
  for (const auto& s : j["streams"]) {
    if (s.value("protocol", std::string()) != "rtp") continue;
    ++rtp;
    if (s.contains("sdp")) ++described;
  }
  std::uint64_t ptp = 0;
  if (j.contains("ptp") && j["ptp"].contains("totals"))
    ptp = j["ptp"]["totals"].value("messages", std::uint64_t{0});
  run.rtp_streams = rtp;
  run.described_streams = described;
  run.ptp_messages = ptp;
  if (!run.error.empty()) return;
  const int want = ctx.cfg.streams;
  if (rtp != want)
    run.error = fmt::format("the stream table holds {} RTP streams, {} were sent", rtp, want);
  else if (mode.sap && described != want)
    run.error = fmt::format("SAP described {} of the {} streams", described, want);
  else if (mode.ptp && ptp == 0)
    run.error = "no PTP message reached the analysis (ptp4l sent them)";
}

BenchRun run_once_inner(const Context& ctx, const BenchMode& mode, double rate, int rep,
                        int position, int serial) {
  BenchRun run;
  run.mode = mode.name;
  run.target_pps = rate;
  run.repetition = rep;
  run.position = position;
  const std::string base = fmt::format("{}/run{:03}-{}", ctx.dir, serial, mode.name);
  const std::string stats_path = base + ".stats.jsonl", cap_err = base + ".capture.err",
                    reader_json = base + ".reader.json", reader_err = base + ".reader.err",
                    gen_json = base + ".gen.json", gen_err = base + ".gen.err",
                    audio_dir = base + ".audio", streams_json = base + ".streams.json";
  // The WAVs of one run (~3.5 MB/s for 12 stereo L24 streams) go as soon as they are counted.
  struct AudioDirRemover {
    std::string dir;
    ~AudioDirRemover() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } audio_remover{mode.extract_audio ? audio_dir : std::string()};
  if (mode.extract_audio) {
    std::error_code ec;
    if (!std::filesystem::create_directory(audio_dir, ec)) {
      run.error = fmt::format("cannot create {}: {}", audio_dir, ec.message());
      return run;
    }
  }

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    run.error = fmt::format("pipe: {}", std::strerror(errno));
    return run;
  }
  FdCloser pipe_r{fds[0]}, pipe_w{fds[1]};
  // Same pipe size for every mode, so a reader hiccup does not stall one writer more than another.
  fcntl(fds[1], F_SETPIPE_SZ, ctx.cfg.pipe_bytes);
  FdCloser reader_err_fd{open_out(reader_err)}, cap_err_fd{open_out(cap_err)},
      gen_err_fd{open_out(gen_err)};
  if (reader_err_fd.fd < 0 || cap_err_fd.fd < 0 || gen_err_fd.fd < 0) {
    run.error = fmt::format("cannot create files in {}: {}", ctx.dir, std::strerror(errno));
    return run;
  }

  SpawnOptions ro;
  ro.argv = {ctx.self,    "bench-reader", "--json",
             reader_json, "--pipe-bytes", std::to_string(ctx.cfg.pipe_bytes)};
  if (ctx.cfg.rtp) ro.argv.push_back("--rtp");
  ro.stdin_fd = pipe_r.fd;
  ro.stderr_fd = reader_err_fd.fd;
  auto reader = ChildProcess::spawn(ro);
  if (!reader) {
    run.error = reader.error();
    return run;
  }

  SpawnOptions co;
  co.argv = capture_args(ctx, mode, stats_path, audio_dir, streams_json);
  run.command = join(co.argv);
  if (mode.tcpdump) {
    co.argv[0] = ctx.tcpdump;
    co.netns_fd = ctx.rx_netns_fd;
    run.command = fmt::format("[netns {}] tcpdump {}", ctx.lab.rx_ns,
                              join(std::vector<std::string>(co.argv.begin() + 1, co.argv.end())));
  } else if (mode.reference) {
    co.netns_fd = ctx.rx_netns_fd;
    run.command = fmt::format("[netns {}] rtcap {}", ctx.lab.rx_ns,
                              join(std::vector<std::string>(co.argv.begin() + 1, co.argv.end())));
  } else {
    run.command =
        fmt::format("rtcap {}", join(std::vector<std::string>(co.argv.begin() + 1, co.argv.end())));
  }
  co.stdout_fd = pipe_w.fd;
  co.stderr_fd = cap_err_fd.fd;
  auto capture = ChildProcess::spawn(co);
  // Only the children hold the pipe now: the reader sees end of file when the capture exits.
  pipe_r.reset();
  pipe_w.reset();
  if (!capture) {
    run.error = capture.error();
    reader->wait_for(kReaderGrace);
    return run;
  }

  // Stops everything still running, in data-path order, on every early return.
  const auto abort_all = [&](ChildProcess* gen) {
    if (gen) gen->stop(SIGINT, 2s);
    capture->stop(SIGINT, 3s);
    reader->stop(SIGTERM, 3s);
  };

  if (std::string e = wait_ready(*capture, cap_err, ctx.interrupted); !e.empty()) {
    run.error = e;
    abort_all(nullptr);
    return run;
  }
  sleep_interruptible(kSettle, ctx.interrupted);

  SpawnOptions go;
  go.argv = gen_args(ctx, rate);
  go.argv.insert(go.argv.end() - 1, {"--json", gen_json});
  go.stderr_fd = gen_err_fd.fd;
  auto gen = ChildProcess::spawn(go);
  if (!gen) {
    run.error = gen.error();
    abort_all(nullptr);
    return run;
  }
  const auto gen_limit =
      std::chrono::milliseconds(static_cast<long long>(ctx.cfg.secs * 1000)) + kGenSlack;
  if (!gen->wait_for(std::chrono::duration_cast<std::chrono::milliseconds>(gen_limit),
                     ctx.interrupted)) {
    run.error = ctx.interrupted->load() ? "interrupted" : "generator overran its time bound";
    abort_all(&*gen);
    return run;
  }
  if (gen->exit_status() != 0) {
    run.error =
        fmt::format("generator failed ({}): {}", gen->describe_status(), read_text_file(gen_err));
    abort_all(nullptr);
    return run;
  }
  sleep_interruptible(std::chrono::milliseconds(ctx.cfg.drain_ms), ctx.interrupted);
  capture->stop(SIGINT, kStopGrace);
  if (!reader->wait_for(kReaderGrace)) {
    reader->stop(SIGKILL, 0ms);
    run.error = "reader did not finish";
  }
  run.capture_exit = capture->exit_status();
  run.cpu_user_ns = capture->user_cpu_ns();
  run.cpu_sys_ns = capture->sys_cpu_ns();
  if (ctx.interrupted->load() && run.error.empty()) run.error = "interrupted";

  // ---- outputs ----
  auto gj = nlohmann::json::parse(read_text_file(gen_json), nullptr, false);
  if (gj.is_discarded() || !gj.is_object()) {
    if (run.error.empty()) run.error = "generator wrote no report";
  } else {
    run.sent = gj.value("sent", std::uint64_t{0});
    run.achieved_pps = gj.value("achieved_pps", 0.0);
    run.send_errors = gj.value("send_errors", std::uint64_t{0});
    if (gj.contains("pacing_error_ns"))
      run.pacing_p99_ns = gj["pacing_error_ns"].value("p99", std::uint64_t{0});
  }
  auto rj = nlohmann::json::parse(read_text_file(reader_json), nullptr, false);
  if (rj.is_discarded() || !rj.is_object()) {
    if (run.error.empty())
      run.error = fmt::format("reader wrote no result ({}): {}", reader->describe_status(),
                              read_text_file(reader_err));
  } else {
    if (!rj.value("ok", false) && run.error.empty())
      run.error = fmt::format("reader: {}", rj.value("error", std::string("failed")));
    run.records = rj.value("records", std::uint64_t{0});
    run.captured = rj.value("ours", std::uint64_t{0});
    run.unique = rj.value("unique", std::uint64_t{0});
    run.duplicates = rj.value("duplicates", std::uint64_t{0});
    run.missing_inside = rj.value("missing_inside", std::uint64_t{0});
    run.timestamp_precision = rj.value("timestamp_precision", std::string());
    run.latency_ns = histogram_from_reader(rj);
  }
  run.lost = run.sent > run.unique ? run.sent - run.unique : 0;
  const std::string err_text = read_text_file(cap_err);
  if (mode.tcpdump || mode.reference) {
    const auto kernel = tcpdump_counter(err_text, "dropped by kernel");
    const auto iface = tcpdump_counter(err_text, "dropped by interface");
    if (!kernel && run.error.empty()) run.error = "capture printed no drop count: " + err_text;
    run.pcap_drops = kernel.value_or(0) + iface.value_or(0);
  } else {
    const auto fin = final_stats_line(stats_path);
    if (!fin) {
      if (run.error.empty()) run.error = "capture wrote no final statistics: " + err_text;
    } else {
      run.pcap_drops = fin->value("kernel_dropped", std::uint64_t{0}) +
                       fin->value("interface_dropped", std::uint64_t{0});
      run.app_drops = fin->value("app_dropped_packets", std::uint64_t{0});
      run.capture_thread_cpu_ns = fin->value("capture_cpu_ns", std::int64_t{0});
      run.capture_wakeups = fin->value("wakeups", std::uint64_t{0});
      // Hand-offs between threads: threaded delivery's batches; inline makes none.
      run.batches_delivered = fin->value("thread_handoffs", std::uint64_t{0});
    }
  }
  if (run.capture_exit != 0 && run.error.empty())
    run.error = fmt::format("capture ended with {}: {}", capture->describe_status(), err_text);
  if (mode.analysis) check_analysis(ctx, mode, streams_json, run);
  if (mode.extract_audio) {
    int wavs = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(audio_dir, ec))
      if (e.path().extension() == ".wav") ++wavs;
    run.wav_files = wavs;
    // One WAV per announced stream, or the mode measured less work than it claims.
    if (wavs < ctx.cfg.streams && run.error.empty())
      run.error =
          fmt::format("--extract-audio wrote {} WAV(s) for {} streams", wavs, ctx.cfg.streams);
  }
  run.cpu_ns_per_packet =
      run.records ? double(run.cpu_user_ns + run.cpu_sys_ns) / double(run.records) : 0;
  run.ok = run.error.empty();
  return run;
}

// One run, and how much CPU other programs took meanwhile (every child is reaped by then).
BenchRun run_once(const Context& ctx, const BenchMode& mode, double rate, int rep, int position,
                  int serial) {
  const CpuSample start = cpu_sample();
  BenchRun run = run_once_inner(ctx, mode, rate, rep, position, serial);
  run.foreign_cpu_share = foreign_cpu_share(start, cpu_sample());
  return run;
}

nlohmann::json run_json(const BenchRun& r) {
  const HistogramData& h = r.latency_ns;
  nlohmann::json j{
      {"mode", r.mode},
      {"target_pps", r.target_pps},
      {"repetition", r.repetition},
      {"position", r.position},
      {"ok", r.ok},
      {"error", r.error},
      {"command", r.command},
      {"sent", r.sent},
      {"achieved_pps", r.achieved_pps},
      {"send_errors", r.send_errors},
      {"pacing_error_p99_ns", r.pacing_p99_ns},
      {"records", r.records},
      {"captured", r.captured},
      {"unique", r.unique},
      {"duplicates", r.duplicates},
      {"missing_inside", r.missing_inside},
      {"lost", r.lost},
      {"pcap_drops", r.pcap_drops},
      {"app_drops", r.app_drops ? nlohmann::json(*r.app_drops) : nlohmann::json(nullptr)},
      {"capture_exit", r.capture_exit},
      {"rtp_streams", r.rtp_streams ? nlohmann::json(*r.rtp_streams) : nlohmann::json(nullptr)},
      {"described_streams",
       r.described_streams ? nlohmann::json(*r.described_streams) : nlohmann::json(nullptr)},
      {"ptp_messages", r.ptp_messages ? nlohmann::json(*r.ptp_messages) : nlohmann::json(nullptr)},
      {"wav_files", r.wav_files ? nlohmann::json(*r.wav_files) : nlohmann::json(nullptr)},
      {"cpu_user_ns", r.cpu_user_ns},
      {"cpu_sys_ns", r.cpu_sys_ns},
      {"cpu_ns_per_packet", r.cpu_ns_per_packet},
      {"capture_thread_cpu_ns", r.capture_thread_cpu_ns ? nlohmann::json(*r.capture_thread_cpu_ns)
                                                        : nlohmann::json(nullptr)},
      {"capture_wakeups",
       r.capture_wakeups ? nlohmann::json(*r.capture_wakeups) : nlohmann::json(nullptr)},
      {"batches_delivered",
       r.batches_delivered ? nlohmann::json(*r.batches_delivered) : nlohmann::json(nullptr)},
      {"timestamp_precision", r.timestamp_precision},
      {"foreign_cpu_share", r.foreign_cpu_share},
      {"latency_ns",
       {{"count", h.count},
        {"min", h.min},
        {"mean", h.mean()},
        {"p50", h.percentile(0.5)},
        {"p99", h.percentile(0.99)},
        {"p999", h.percentile(0.999)},
        {"max", h.max}}}};
  return j;
}

nlohmann::json cell_json(const BenchCell& c) {
  return {{"mode", c.mode},
          {"target_pps", c.target_pps},
          {"runs", c.runs},
          {"failed_runs", c.failed_runs},
          {"zero_loss", c.zero_loss},
          {"sent", c.sent},
          {"achieved_pps", c.achieved_pps},
          {"captured", c.captured},
          {"lost", c.lost},
          {"pcap_drops", c.pcap_drops},
          {"app_drops", c.app_drops ? nlohmann::json(*c.app_drops) : nlohmann::json(nullptr)},
          {"cpu_ns_per_packet", c.cpu_ns_per_packet},
          {"wakeups_per_kpacket", c.wakeups_per_kpacket ? nlohmann::json(*c.wakeups_per_kpacket)
                                                        : nlohmann::json(nullptr)},
          {"handoffs_per_kpacket", c.handoffs_per_kpacket ? nlohmann::json(*c.handoffs_per_kpacket)
                                                          : nlohmann::json(nullptr)},
          {"latency_ns", {{"p50", c.p50}, {"p99", c.p99}, {"p999", c.p999}, {"max", c.max}}}};
}

std::string table(const std::vector<BenchCell>& cells) {
  std::string s = fmt::format(
      "{:<22} {:>11} {:>11} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9}\n", "mode", "sent",
      "captured", "lost", "pcap drops", "app drops", "CPU ns/pkt", "p50", "p99", "p99.9", "max");
  for (const auto& c : cells) {
    if (c.runs == 0) {
      s += fmt::format("{:<22} (no completed run: {} failed)\n", c.mode, c.failed_runs);
      continue;
    }
    s +=
        fmt::format("{:<22} {:>11} {:>11} {:>9} {:>10} {:>9} {:>10.0f} {:>9} {:>9} {:>9} {:>9}{}\n",
                    c.mode, fmt_count_rounded(c.sent), fmt_count_rounded(c.captured),
                    fmt_count_rounded(c.lost), fmt_count_rounded(c.pcap_drops),
                    c.app_drops ? fmt_count_rounded(*c.app_drops) : "-", c.cpu_ns_per_packet,
                    fmt_latency(c.p50), fmt_latency(c.p99), fmt_latency(c.p999), fmt_latency(c.max),
                    c.failed_runs ? fmt::format("  ({} run(s) failed)", c.failed_runs) : "");
  }
  return s;
}

// The wake-up floor under each rtcap mode: its measured wake-ups and hand-offs per packet, priced
// at what the probe found a wake-up costs here.
std::string wake_floor_text(const WakeCost& wake, const std::vector<BenchCell>& cells) {
  const double handoff_us = wake.handoff_waker_us + wake.handoff_woken_us;
  std::string s = fmt::format(
      "wake-up floor: on this machine (medians of {} probes of {} wake-ups, on the quiet machine "
      "before the runs) "
      "a thread's sleep and wake-up costs {:.1f} us of CPU; a wake-up that hands a batch to the "
      "consumer costs "
      "{:.1f} us (capture thread) + {:.1f} us (consumer it wakes) = {:.1f} us. Each mode's "
      "wake-ups priced so "
      "(hand-offs x {:.1f} + the other wake-ups x {:.1f}) are CPU no per-packet work can remove:\n",
      wake.probes, wake.wakeups_per_probe, wake.sleep_us, wake.handoff_waker_us,
      wake.handoff_woken_us, handoff_us, handoff_us, wake.sleep_us);
  for (const auto& c : cells) {
    // naive mode blocks in pcap_next_ex and counts no wake-ups: no floor to show.
    if (!c.wakeups_per_kpacket || *c.wakeups_per_kpacket == 0) continue;
    const double floor = wake.floor_ns_per_packet(*c.wakeups_per_kpacket, *c.handoffs_per_kpacket);
    // The probe ran on a quiet machine; during a run the generator and the reader share the CPUs,
    // and wake-ups cost more.
    const char* note = c.cpu_ns_per_packet > 1.5 * floor
                           ? "; well above: wake-ups cost more beside the "
                             "generator and reader than in the quiet probe"
                           : "";
    s += fmt::format(
        "  {:<22} at {:>9} pps: {:6.1f} wake-ups, {:6.1f} of them hand-offs, per 1,000 packets -> "
        "~{:5.0f} ns/packet (measured {:.0f}{})\n",
        c.mode, c.target_pps == 0 ? "max" : fmt_count_rounded(c.target_pps), *c.wakeups_per_kpacket,
        *c.handoffs_per_kpacket, floor, c.cpu_ns_per_packet, note);
  }
  return s;
}

// The settings a run cannot go on without; kExitOk or the exit code, its line printed.
int check_bench_config(const BenchConfig& cfg) {
  if (geteuid() != 0) {
    fmt::print(stderr, "rtcap bench: needs root (network namespaces, capture): run as root\n");
    return kExitSetup;
  }
  if (!(cfg.secs > 0 && cfg.secs <= 3600)) {
    fmt::print(stderr, "rtcap bench: --secs must be more than 0 and at most 3600\n");
    return kExitUsage;
  }
  if (cfg.repeat < 1 || cfg.repeat > 100) {
    fmt::print(stderr, "rtcap bench: --repeat must be 1..100\n");
    return kExitUsage;
  }
  if (cfg.rtp) {
    if (auto p = parse_ptime(cfg.ptime); !p) {
      fmt::print(stderr, "rtcap bench: {}\n", p.error());
      return kExitUsage;
    }
  }
  return kExitOk;
}

// --modes picks from the modes this machine can run (tcpdump may be missing); nullopt: printed.
std::optional<std::vector<BenchMode>> choose_modes(const BenchConfig& cfg, bool have_tcpdump) {
  std::vector<BenchMode> modes = bench_modes(have_tcpdump);
  if (cfg.modes.empty()) {  // the frontier's extra windows and the analysis modes: when named
    std::erase_if(modes, [](const BenchMode& m) { return m.frontier || m.analysis; });
    return modes;
  }
  std::vector<BenchMode> chosen;
  for (const auto& name : cfg.modes) {
    auto it = std::find_if(modes.begin(), modes.end(),
                           [&](const BenchMode& m) { return m.name == name; });
    if (it == modes.end()) {
      std::string known;
      for (const auto& m : bench_modes(true)) known += (known.empty() ? "" : ", ") + m.name;
      fmt::print(stderr, "rtcap bench: unknown or unavailable mode '{}' (modes: {}{})\n", name,
                 known, have_tcpdump ? "" : "; tcpdump is not installed");
      return std::nullopt;
    }
    if (it->analysis && !cfg.rtp) {
      fmt::print(stderr,
                 "rtcap bench: mode '{}' analyses RTP streams: add --streams N (12 streams at "
                 "--rate 100000 is the AES67 load the issue measures)\n",
                 name);
      return std::nullopt;
    }
    chosen.push_back(*it);
  }
  return chosen;
}

// The rates to run: the sweep's, the RTP streams' own rate, or --rate (0: unpaced).
std::optional<std::vector<double>> bench_rates(const BenchConfig& cfg) {
  std::vector<double> rates;
  if (cfg.sweep) {
    rates = cfg.sweep_rates.empty() ? std::vector<double>{100000, 150000, 200000, 250000, 300000, 0}
                                    : cfg.sweep_rates;
  } else if (cfg.rtp && !cfg.rate_given) {
    rates = {double(cfg.streams) * 1e9 / double(*parse_ptime(cfg.ptime))};
  } else {
    rates = {cfg.rate_pps};
  }
  for (double r : rates)
    if (!(r >= 0 && r <= 1e8)) {
      fmt::print(stderr, "rtcap bench: rates must be 0 (max) .. 100000000 pps\n");
      return std::nullopt;
    }
  return rates;
}

std::string traffic_text(const BenchConfig& cfg) {
  return cfg.rtp ? fmt::format("RTP, {} streams, ptime {}, L24 stereo 48 kHz{}{}", cfg.streams,
                               cfg.ptime, cfg.sap_traffic ? ", SAP every second" : "",
                               cfg.ptp_traffic ? ", ptp4l grandmaster (8 Sync/s)" : "")
                 : fmt::format("raw UDP, {}-byte payload", cfg.payload_bytes);
}

// Every rate, every repetition, every mode; the modes' order rotates with the repetition so that
// none always runs first (or right after the same neighbour).
std::vector<BenchRun> run_all(const Context& ctx, const std::vector<BenchMode>& modes,
                              const std::vector<double>& rates) {
  const BenchConfig& cfg = ctx.cfg;
  std::vector<BenchRun> runs;
  int serial = 0;
  for (double rate : rates) {
    for (int rep = 0; rep < cfg.repeat && !*ctx.interrupted; ++rep) {
      for (std::size_t k = 0; k < modes.size() && !*ctx.interrupted; ++k) {
        const BenchMode& m = modes[(k + static_cast<std::size_t>(rep)) % modes.size()];
        BenchRun r = run_once(ctx, m, rate, rep, static_cast<int>(k), serial++);
        if (!cfg.quiet) {
          if (r.ok)
            fmt::print(stderr,
                       "rtcap bench: rate {} rep {}/{} {:<20} sent {} captured {} lost {} drops "
                       "{}{} cpu {:.0f} ns/pkt "
                       "p99 {} max {}\n",
                       rate_name(rate), rep + 1, cfg.repeat, m.name, r.sent, r.captured, r.lost,
                       r.pcap_drops, r.app_drops ? fmt::format("+{}", *r.app_drops) : "",
                       r.cpu_ns_per_packet, format_duration_ns(r.latency_ns.percentile(0.99)),
                       format_duration_ns(r.latency_ns.max));
          else
            fmt::print(stderr, "rtcap bench: rate {} rep {}/{} {:<20} FAILED: {}\n",
                       rate_name(rate), rep + 1, cfg.repeat, m.name, r.error);
        }
        runs.push_back(std::move(r));
        sleep_interruptible(kBetweenRuns, ctx.interrupted);
      }
    }
    if (*ctx.interrupted) break;
  }
  return runs;
}

// One cell per (rate, mode): the median over its repetitions.
std::vector<BenchCell> summarise_all(const std::vector<BenchRun>& runs,
                                     const std::vector<BenchMode>& modes,
                                     const std::vector<double>& rates) {
  std::vector<BenchCell> cells;
  for (double rate : rates)
    for (const auto& m : modes) {
      std::vector<const BenchRun*> rs;
      for (const auto& r : runs)
        if (r.mode == m.name && r.target_pps == rate) rs.push_back(&r);
      if (!rs.empty()) cells.push_back(summarise(m.name, rate, rs));
    }
  return cells;
}

// `figure` of `mode` over `base` at `rate`, one ratio per repetition: the two ran side by side on
// the same traffic, so the ratio of a repetition is steadier than the ratio of medians on a
// loaded machine. Empty when either mode did not run.
std::vector<double> paired_ratios(const std::vector<BenchRun>& runs, const std::string& mode,
                                  const std::string& base, double rate,
                                  double (*figure)(const BenchRun&)) {
  std::vector<double> ratios;
  for (const auto& a : runs) {
    if (a.mode != mode || a.target_pps != rate || !a.ok) continue;
    for (const auto& b : runs)
      if (b.mode == base && b.target_pps == rate && b.repetition == a.repetition && b.ok &&
          figure(b) > 0)
        ratios.push_back(figure(a) / figure(b));
  }
  return ratios;
}

// "1.02, 0.97, 1.10 -> median 1.02x (0.97-1.10)".
std::string ratios_text(const std::vector<double>& ratios) {
  if (ratios.empty()) return "-";
  std::string each;
  for (double r : ratios) each += fmt::format("{}{:.2f}", each.empty() ? "" : ", ", r);
  const auto [lo, hi] = std::minmax_element(ratios.begin(), ratios.end());
  return fmt::format("{} -> median {:.2f}x ({:.2f}-{:.2f})", each, median(ratios), *lo, *hi);
}

double cpu_per_packet(const BenchRun& r) { return r.cpu_ns_per_packet; }
double p99_latency(const BenchRun& r) { return double(r.latency_ns.percentile(0.99)); }

// The reference loop a mode is held against: the immediate one (with the same window) for
// immediate modes and the latency budget, else the batched one; none for the references.
std::string reference_of(const BenchMode& m) {
  if (m.reference || m.analysis) return {};
  const std::string prefix = "dispatch-immediate-";
  if (m.name.rfind(prefix, 0) == 0) return "reference-immediate-" + m.name.substr(prefix.size());
  if (m.name.find("immediate") != std::string::npos || m.name.find("budget") != std::string::npos)
    return "reference-immediate";
  return "reference";
}

// Each mode against the one-thread reference loop (CPU per packet and p99 latency), and each
// analysis mode against "dispatch" (the same capture without analysis), per repetition.
std::string ratio_text(const std::vector<BenchRun>& runs, const std::vector<BenchMode>& modes,
                       const std::vector<double>& rates) {
  std::string out;
  for (double rate : rates) {
    const std::string at = rate == 0 ? "max" : fmt_count_rounded(rate);
    for (const auto& m : modes) {
      const std::string ref = reference_of(m);
      if (ref.empty()) continue;
      const auto cpu = paired_ratios(runs, m.name, ref, rate, cpu_per_packet);
      if (cpu.empty()) continue;
      if (out.empty())
        out = "\nagainst the reference loop (same traffic; per repetition -> median (min-max)):\n";
      out += fmt::format("  {:<22} at {:>9} pps: CPU/packet {}; p99 {} (vs {})\n", m.name, at,
                         ratios_text(cpu),
                         ratios_text(paired_ratios(runs, m.name, ref, rate, p99_latency)), ref);
    }
  }
  std::string analysis;
  for (double rate : rates)
    for (const auto& m : modes) {
      if (!m.analysis) continue;
      const auto cpu = paired_ratios(runs, m.name, "dispatch", rate, cpu_per_packet);
      if (cpu.empty()) continue;
      if (analysis.empty())
        analysis =
            "\nanalysis against dispatch (CPU per packet, same traffic; per repetition -> "
            "median (min-max)):\n";
      analysis += fmt::format("  {:<22} at {:>9} pps: {}\n", m.name,
                              rate == 0 ? "max" : fmt_count_rounded(rate), ratios_text(cpu));
    }
  return out + analysis;
}

// What else ran on the machine during the bench: the figures are only as clean as this.
struct MachineLoad {
  long cpus = 0;
  double load_before = 0, load_after = 0;
  double foreign_mean = 0, foreign_max = 0;
  bool noisy = false;
};

MachineLoad machine_load(const std::vector<BenchRun>& runs, double load_before, double load_after) {
  MachineLoad m;
  m.cpus = sysconf(_SC_NPROCESSORS_ONLN);
  m.load_before = load_before;
  m.load_after = load_after;
  double sum = 0;
  for (const auto& r : runs) {
    m.foreign_max = std::max(m.foreign_max, r.foreign_cpu_share);
    sum += r.foreign_cpu_share;
  }
  m.foreign_mean = runs.empty() ? 0 : sum / double(runs.size());
  // More than a fifth of a core taken by others in some run: on 2 CPUs that is enough to move
  // the latency tail and the loss of the tighter modes.
  m.noisy = m.foreign_max > 0.2;
  return m;
}

// --sweep: per mode, the highest rate with zero loss in every repetition (text, and JSON).
std::string sweep_text(const std::vector<BenchMode>& modes, const std::vector<BenchCell>& cells,
                       nlohmann::json& sweep_json) {
  std::string out =
      "\nhighest rate with zero loss in every repetition (rates tried in order; 'first loss' = "
      "lowest rate that lost):\n";
  for (const auto& m : modes) {
    double best = -1, first_loss = -1;
    bool max_clean = false;  // zero loss unpaced: the generator, not the capture, set the ceiling
    for (const auto& c : cells) {
      if (c.mode != m.name) continue;
      const double reached = c.target_pps == 0 ? c.achieved_pps : c.target_pps;
      if (c.zero_loss)
        best = std::max(best, reached);
      else if (first_loss < 0)
        first_loss = reached;
      if (c.target_pps == 0 && c.zero_loss) max_clean = true;
    }
    out += fmt::format(
        "  {:<22} {}{}{}\n", m.name, best < 0 ? "none" : fmt_count_rounded(best) + " pps",
        first_loss < 0 ? ""
                       : fmt::format("   (first loss at {} pps)", fmt_count_rounded(first_loss)),
        max_clean ? "   (no loss even unpaced: the generator's ceiling, not the capture's)" : "");
    sweep_json[m.name] = {
        {"highest_zero_loss_pps", best < 0 ? nlohmann::json(nullptr) : nlohmann::json(best)},
        {"limited_by_generator", max_clean},
        {"first_loss_pps", first_loss < 0 ? nlohmann::json(nullptr) : nlohmann::json(first_loss)}};
  }
  return out;
}

// The tables per rate, the sweep, how each figure is measured, and how quiet the machine was.
std::string results_text(const BenchConfig& cfg, const std::vector<BenchMode>& modes,
                         const std::vector<double>& rates, const std::vector<BenchCell>& cells,
                         const MachineLoad& load, const WakeCost& wake,
                         nlohmann::json& sweep_json) {
  std::string out = fmt::format(
      "rtcap bench: {}, {} s per run, median of {} repetition(s) per mode, modes interleaved\n",
      traffic_text(cfg), cfg.secs, cfg.repeat);
  for (double rate : rates) {
    std::vector<BenchCell> at;
    for (const auto& c : cells)
      if (c.target_pps == rate) at.push_back(c);
    if (at.empty()) continue;
    out +=
        fmt::format("\nrate {} pps{}\n", rate == 0 ? "max (unpaced)" : fmt_count_rounded(rate),
                    rate == 0 && at.front().achieved_pps > 0
                        ? fmt::format(" (reached {})", fmt_count_rounded(at.front().achieved_pps))
                        : "");
    out += table(at);
  }
  if (cfg.sweep) out += sweep_text(modes, cells, sweep_json);
  out += fmt::format(
      "\nlatency = reader's CLOCK_REALTIME at read() - pcap record timestamp (tcpdump writes µs "
      "stamps, +<1 µs); "
      "CPU = capture process user+sys (wait4) / records written; lost = sent - unique packet "
      "indexes read\n");
  out += fmt::format(
      "machine: {} CPUs; other programs used {:.0f}% of a CPU on average during the runs (worst "
      "run "
      "{:.0f}%){}; load average {:.2f} before, {:.2f} after\n",
      load.cpus, 100 * load.foreign_mean, 100 * load.foreign_max,
      load.noisy ? " - NOISY: other load competed with the bench, rerun on a quiet machine for "
                   "clean numbers"
                 : " - quiet",
      load.load_before, load.load_after);
  out += wake_floor_text(wake, cells);
  return out;
}

// What one bench run gathered, for --json and --svg.
struct BenchResults {
  const Context& ctx;
  const std::vector<BenchMode>& modes;
  const std::vector<double>& rates;
  const std::vector<BenchRun>& runs;
  const std::vector<BenchCell>& cells;
  const MachineLoad& load;
  const WakeCost& wake;
  const nlohmann::json& sweep_json;
  long failed = 0;
  bool lab_removed = true;
};

bool write_bench_json(const BenchResults& b, const std::string& path) {
  const BenchConfig& cfg = b.ctx.cfg;
  utsname u{};
  uname(&u);
  nlohmann::json j;
  j["tool"] = "rtcap bench";
  j["settings"] = {
      {"secs", cfg.secs},
      {"repeat", cfg.repeat},
      {"traffic", cfg.rtp ? "rtp" : "udp"},
      {"payload_bytes", cfg.rtp ? nlohmann::json(nullptr) : nlohmann::json(cfg.payload_bytes)},
      {"streams", cfg.rtp ? nlohmann::json(cfg.streams) : nlohmann::json(nullptr)},
      {"ptime", cfg.rtp ? nlohmann::json(cfg.ptime) : nlohmann::json(nullptr)},
      {"rates_pps", b.rates},
      {"sweep", cfg.sweep},
      {"sap", cfg.sap_traffic},
      {"ptp4l_grandmaster", cfg.ptp_traffic},
      {"drain_ms", cfg.drain_ms},
      {"pipe_bytes", cfg.pipe_bytes},
      {"filter", join(kFilter)},
      {"lab", b.ctx.lab.name}};
  nlohmann::json mj = nlohmann::json::array();
  for (const auto& m : b.modes)
    mj.push_back({{"name", m.name},
                  {"tcpdump", m.tcpdump},
                  {"args", m.args},
                  {"extract_audio", m.extract_audio}});
  j["modes"] = mj;
  j["environment"] = {{"kernel", fmt::format("{} {}", u.sysname, u.release)},
                      {"cpus", b.load.cpus},
                      {"loadavg_before", b.load.load_before},
                      {"loadavg_after", b.load.load_after},
                      {"foreign_cpu_share_mean", b.load.foreign_mean},
                      {"foreign_cpu_share_max", b.load.foreign_max},
                      {"noisy", b.load.noisy},
                      {"wake_cost_us",
                       {{"sleep_1ms", b.wake.sleep_us},
                        {"handoff_waker", b.wake.handoff_waker_us},
                        {"handoff_woken", b.wake.handoff_woken_us},
                        {"wakeups_per_probe", b.wake.wakeups_per_probe},
                        {"probes", b.wake.probes}}},
                      {"libpcap", pcap_library_version()},
                      {"tcpdump", b.ctx.tcpdump}};
  nlohmann::json rj = nlohmann::json::array();
  for (const auto& r : b.runs) rj.push_back(run_json(r));
  j["runs"] = rj;
  nlohmann::json cj = nlohmann::json::array();
  for (const auto& c : b.cells) cj.push_back(cell_json(c));
  j["summary"] = cj;
  if (cfg.sweep) j["sweep"] = b.sweep_json;
  j["failed_runs"] = b.failed;
  j["interrupted"] = b.ctx.interrupted->load();
  j["lab_removed"] = b.lab_removed;
  std::ofstream f(path, std::ios::trunc);
  f << j.dump(2) << "\n";
  if (!f) fmt::print(stderr, "rtcap bench: cannot write --json file {}\n", path);
  return bool(f);
}

bool write_bench_svg(const BenchResults& b, const std::string& path) {
  const BenchConfig& cfg = b.ctx.cfg;
  BenchChart chart;
  chart.title = fmt::format("rtcap bench: {}", traffic_text(cfg));
  const double base_rate = b.rates.front();
  chart.subtitle = fmt::format(
      "latency CDF at {} pps, all {} repetition(s) of {} s merged; {} CPUs, other programs used "
      "{:.0f}% of a CPU "
      "(worst run {:.0f}%)",
      base_rate == 0 ? "max" : fmt_count_rounded(base_rate), cfg.repeat, cfg.secs, b.load.cpus,
      100 * b.load.foreign_mean, 100 * b.load.foreign_max);
  for (const auto& m : b.modes)
    for (const auto& c : b.cells)
      if (c.mode == m.name && c.target_pps == base_rate)
        chart.latency_cdf.push_back({m.name, cdf_points(c.merged_latency)});
  if (cfg.sweep) {
    for (const auto& m : b.modes) {
      ChartSeries cpu{m.name, {}}, loss{m.name, {}};
      for (const auto& c : b.cells) {
        if (c.mode != m.name || c.runs == 0) continue;
        const double x = c.achieved_pps > 0 ? c.achieved_pps : c.target_pps;
        cpu.points.emplace_back(x, c.cpu_ns_per_packet);
        loss.points.emplace_back(x, c.sent > 0 ? 100.0 * c.lost / c.sent : 0.0);
      }
      chart.cpu_vs_rate.push_back(std::move(cpu));
      chart.loss_vs_rate.push_back(std::move(loss));
    }
  }
  std::ofstream f(path, std::ios::trunc);
  f << render_bench_svg(chart);
  if (!f) fmt::print(stderr, "rtcap bench: cannot write --svg file {}\n", path);
  return bool(f);
}

// ptp4l (linuxptp) as grandmaster in the sender's namespace, over UDPv4 with software time
// stamps, at AES67's default rates (Sync and Follow_Up 8/s, Announce 1/s); it runs for the whole
// bench, so every mode sees it. Returns when ptp4l says it is master, or why it did not.
std::expected<ChildProcess, std::string> start_ptp_grandmaster(const Context& ctx,
                                                               const std::string& ptp4l) {
  const std::string conf = ctx.dir + "/ptp4l.conf", log = ctx.dir + "/ptp4l.log";
  {
    std::ofstream f(conf, std::ios::trunc);
    f << "[global]\ndomainNumber 0\nlogSyncInterval -3\nlogAnnounceInterval 0\n"
         "announceReceiptTimeout 2\nmasterOnly 1\nuds_address "
      << ctx.dir << "/ptp4l.uds\n";
    if (!f) return std::unexpected(fmt::format("cannot write {}", conf));
  }
  FdCloser log_fd{open_out(log)}, tx_ns{open_netns(ctx.lab.tx_ns)};
  if (log_fd.fd < 0 || tx_ns.fd < 0)
    return std::unexpected(fmt::format("cannot start ptp4l: {}", std::strerror(errno)));
  SpawnOptions o;
  o.argv = {ptp4l, "-i", ctx.lab.tx_if, "-4", "-S", "-m", "-f", conf};
  o.stdout_fd = log_fd.fd;
  o.stderr_fd = log_fd.fd;
  o.netns_fd = tx_ns.fd;
  auto p = ChildProcess::spawn(o);
  if (!p) return std::unexpected(p.error());
  // announceReceiptTimeout 2 x 1 s: master within ~2-3 s; 10 s bound.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (read_text_file(log).find("to MASTER on") == std::string::npos) {
    if (p->poll() || ctx.interrupted->load() || std::chrono::steady_clock::now() >= deadline) {
      p->stop(SIGTERM, 2s);
      return std::unexpected(fmt::format("ptp4l did not become grandmaster in {}: {}",
                                         ctx.lab.tx_ns, read_text_file(log)));
    }
    std::this_thread::sleep_for(50ms);
  }
  return std::move(*p);
}

struct DirRemover {
  std::string dir;
  ~DirRemover() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

int run_bench(BenchConfig cfg) {
  if (int rc = check_bench_config(cfg); rc != kExitOk) return rc;
  Context ctx;
  ctx.self = self_executable();
  ctx.tcpdump = find_program("tcpdump");
  const auto modes = choose_modes(cfg, !ctx.tcpdump.empty());
  if (!modes) return kExitUsage;
  if (ctx.tcpdump.empty() && !cfg.quiet)
    fmt::print(stderr, "rtcap bench: tcpdump not installed: comparing rtcap's modes only\n");
  const auto rates = bench_rates(cfg);
  if (!rates) return kExitUsage;
  for (const auto& m : *modes) {
    cfg.sap_traffic = cfg.sap_traffic || m.sap;
    cfg.ptp_traffic = cfg.ptp_traffic || m.ptp;
  }
  const std::string ptp4l = cfg.ptp_traffic ? find_program("ptp4l") : std::string();
  if (cfg.ptp_traffic && ptp4l.empty()) {
    fmt::print(stderr,
               "rtcap bench: the PTP modes need linuxptp's ptp4l as grandmaster: apt-get install "
               "linuxptp\n");
    return kExitSetup;
  }
  ctx.cfg = cfg;

  InterruptGuard interrupt;
  ctx.interrupted = interrupt.flag();
  const std::string lab_name = unique_lab_name("bn");
  char dir_template[] = "/tmp/rtcap-bench.XXXXXX";
  if (!mkdtemp(dir_template)) {
    fmt::print(stderr, "rtcap bench: cannot create a directory in /tmp: {}\n",
               std::strerror(errno));
    return kExitSetup;
  }
  ctx.dir = dir_template;
  DirRemover dir_remover{ctx.dir};
  const double load_before = loadavg1();
  LabGuard lab_guard(lab_name);
  auto lab = lab_up(lab_name);
  if (!lab) {
    fmt::print(stderr, "rtcap bench: {}\n", lab.error());
    return kExitSetup;
  }
  ctx.lab = *lab;
  FdCloser netns_fd{open_netns(ctx.lab.rx_ns)};
  ctx.rx_netns_fd = netns_fd.fd;
  if (ctx.rx_netns_fd < 0) {
    fmt::print(stderr, "rtcap bench: cannot open network namespace {}: {}\n", ctx.lab.rx_ns,
               std::strerror(errno));
    return kExitSetup;
  }
  if (!cfg.quiet) {
    fmt::print(stderr,
               "rtcap bench: lab {} up; {} modes x {} rate(s) x {} repetition(s) of {} s; {}\n",
               lab_name, modes->size(), rates->size(), cfg.repeat, cfg.secs, traffic_text(cfg));
    for (const auto& m : *modes)
      fmt::print(stderr, "  mode {:<20} {} {}{}{}\n", m.name,
                 m.tcpdump     ? "tcpdump -U -w -"
                 : m.reference ? "rtcap bench-reference (one thread, one write per dispatch)"
                               : "rtcap -U -w -",
                 join(m.args), m.analysis ? " --streams-json FILE" : "",
                 m.extract_audio ? " --extract-audio DIR" : "");
  }
  std::optional<ChildProcess> grandmaster;  // stopped before the lab goes (declared after it)
  if (cfg.ptp_traffic) {
    auto gm = start_ptp_grandmaster(ctx, ptp4l);
    if (!gm) {
      fmt::print(stderr, "rtcap bench: {}\n", gm.error());
      return kExitSetup;
    }
    grandmaster = std::move(*gm);
    if (!cfg.quiet)
      fmt::print(stderr, "rtcap bench: ptp4l is grandmaster in {} (pid {})\n", ctx.lab.tx_ns,
                 grandmaster->pid());
  }
  // Before any traffic, on the quiet machine: what a wake-up costs here (about 3.5 s).
  const WakeCost wake = measure_wake_cost(kWakeProbeWakeups);
  if (!cfg.quiet)
    fmt::print(stderr,
               "rtcap bench: a wake-up costs {:.1f} us of CPU here (hand-off {:.1f} + {:.1f} us)\n",
               wake.sleep_us, wake.handoff_waker_us, wake.handoff_woken_us);

  const std::vector<BenchRun> runs = run_all(ctx, *modes, *rates);
  if (grandmaster) grandmaster->stop(SIGTERM, 2s);
  const MachineLoad load = machine_load(runs, load_before, loadavg1());
  const std::string lab_error = lab_guard.release();
  if (!lab_error.empty()) fmt::print(stderr, "rtcap bench: {}\n", lab_error);

  const std::vector<BenchCell> cells = summarise_all(runs, *modes, *rates);
  nlohmann::json sweep_json = nlohmann::json::object();
  std::string out = results_text(cfg, *modes, *rates, cells, load, wake, sweep_json);
  out += ratio_text(runs, *modes, *rates);
  if (interrupt.interrupted()) out += "INTERRUPTED: results are partial\n";
  fmt::print("{}", out);

  const long failed =
      std::count_if(runs.begin(), runs.end(), [](const BenchRun& r) { return !r.ok; });
  int exit_code = failed || interrupt.interrupted() || !lab_error.empty() ? kExitRuntime : kExitOk;
  const BenchResults results{ctx,  *modes, *rates,     runs,   cells,
                             load, wake,   sweep_json, failed, lab_error.empty()};
  if (!cfg.json_path.empty() && !write_bench_json(results, cfg.json_path)) exit_code = kExitRuntime;
  if (!cfg.svg_path.empty() && !write_bench_svg(results, cfg.svg_path)) exit_code = kExitRuntime;
  if (failed && !cfg.quiet)
    fmt::print(stderr, "rtcap bench: {} run(s) failed (see above)\n", failed);
  return exit_code;
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

std::vector<BenchMode> bench_modes(bool tcpdump_available) {
  std::vector<BenchMode> m = {
      {"naive", false, false, {"--mode", "naive"}},
      {"dispatch", false, false, {"--mode", "dispatch"}},
      {"dispatch-threaded", false, false, {"--mode", "dispatch", "--consumer-thread"}},
      {"dispatch-immediate", false, false, {"--mode", "dispatch", "--immediate-mode"}},
      {"dispatch-budget-250us", false, false, {"--mode", "dispatch", "--latency-budget", "250us"}},
      // The one-thread reference loop, batched and with rtcap's immediate-mode window; its ring
      // is the obvious one: 128 MiB of whole-packet V2 slots (rtcap sizes its own in packets).
      {"reference", false, true, {}},
      {"reference-immediate",
       false,
       true,
       {"--immediate-mode", "--coalesce-us", std::to_string(kLinuxAutoCoalesceUs), "-B", "131072"}},
  };
  // Analysis on the capture thread (inline, the default delivery), against "dispatch" over the
  // same traffic: the stream table alone; with SAP naming the streams and every stream extracted
  // to WAV; with ptp4l's PTP beside the streams. Run only when named, with --streams.
  const auto analysis = [&](std::string name, std::vector<std::string> args, bool sap, bool ptp,
                            bool wav) {
    BenchMode a{std::move(name), false, false, {"--mode", "dispatch", "--streams"}};
    a.args.insert(a.args.end(), args.begin(), args.end());
    a.analysis = true;
    a.sap = sap;
    a.ptp = ptp;
    a.extract_audio = wav;
    m.push_back(std::move(a));
  };
  analysis("streams", {}, false, false, false);
  analysis("streams-sap-audio", {"--sap"}, true, false, true);
  analysis("streams-ptp", {"--ptp"}, false, true, false);
  if (tcpdump_available) {
    m.push_back({"tcpdump", true, false, {}});
    m.push_back({"tcpdump-immediate", true, false, {"--immediate-mode"}});
  }
  // The latency/CPU frontier of immediate mode: rtcap and the reference loop at the windows the
  // issue's measurements quote (50, 100, 200 us) and 75 us between them, beside the automatic
  // one. Run only when named (--modes): docs/TUNING.md "Choosing the immediate-mode window".
  for (const int window_us : {50, 75, 100, 200}) {
    if (window_us == kLinuxAutoCoalesceUs) continue;  // that is dispatch-immediate itself
    const std::string w = std::to_string(window_us);
    m.push_back({"dispatch-immediate-" + w + "us",
                 false,
                 false,
                 {"--mode", "dispatch", "--immediate-mode", "--coalesce-us", w},
                 true});
    m.push_back({"reference-immediate-" + w + "us",
                 false,
                 true,
                 {"--immediate-mode", "--coalesce-us", w, "-B", "131072"},
                 true});
  }
  return m;
}

BenchCell summarise(const std::string& mode, double target_pps,
                    const std::vector<const BenchRun*>& runs) {
  BenchCell c;
  c.mode = mode;
  c.target_pps = target_pps;
  std::vector<double> sent, achieved, captured, lost, drops, app, cpu, p50, p99, p999, mx, wakes,
      handoffs;
  bool all_clean = true;
  for (const BenchRun* r : runs) {
    if (!r->ok) {
      ++c.failed_runs;
      all_clean = false;
      continue;
    }
    ++c.runs;
    sent.push_back(double(r->sent));
    achieved.push_back(r->achieved_pps);
    captured.push_back(double(r->captured));
    lost.push_back(double(r->lost));
    drops.push_back(double(r->pcap_drops));
    if (r->app_drops) app.push_back(double(*r->app_drops));
    if (r->capture_wakeups && r->batches_delivered && r->records) {
      wakes.push_back(1000.0 * double(*r->capture_wakeups) / double(r->records));
      handoffs.push_back(1000.0 * double(*r->batches_delivered) / double(r->records));
    }
    cpu.push_back(r->cpu_ns_per_packet);
    p50.push_back(double(r->latency_ns.percentile(0.5)));
    p99.push_back(double(r->latency_ns.percentile(0.99)));
    p999.push_back(double(r->latency_ns.percentile(0.999)));
    mx.push_back(double(r->latency_ns.max));
    if (r->lost || r->pcap_drops || r->app_drops.value_or(0)) all_clean = false;
    c.merged_latency.merge(r->latency_ns);
  }
  c.zero_loss = c.runs > 0 && all_clean;
  c.sent = median(sent);
  c.achieved_pps = median(achieved);
  c.captured = median(captured);
  c.lost = median(lost);
  c.pcap_drops = median(drops);
  if (!app.empty()) c.app_drops = median(app);
  if (!wakes.empty()) {
    c.wakeups_per_kpacket = median(wakes);
    c.handoffs_per_kpacket = median(handoffs);
  }
  c.cpu_ns_per_packet = median(cpu);
  c.p50 = median(p50);
  c.p99 = median(p99);
  c.p999 = median(p999);
  c.max = median(mx);
  return c;
}

CLI::App* add_bench_command(CLI::App& app, int& exit_code) {
  add_bench_reader_command(app, exit_code);
  add_bench_reference_command(app, exit_code);
  auto* cmd =
      app.add_subcommand("bench",
                         "Side-by-side benchmark in a lab of its own: rtcap's capture modes and "
                         "tcpdump capture the same generated "
                         "traffic, one reader measures loss, CPU and delivery latency for all");
  auto cfg = std::make_shared<BenchConfig>();
  cmd->add_option("--secs", cfg->secs, "Traffic time per run in seconds")->capture_default_str();
  cmd->add_option("--repeat", cfg->repeat,
                  "Repetitions per mode (median reported; mode order rotated)")
      ->capture_default_str();
  auto* rate =
      cmd->add_option("--rate", cfg->rate_pps, "Packets per second (0 = as fast as possible)")
          ->type_name("PPS")
          ->capture_default_str();
  auto* payload = cmd->add_option("--payload", cfg->payload_bytes,
                                  "Raw UDP payload bytes (first 8: packet index)")
                      ->capture_default_str();
  auto* streams = cmd->add_option("--streams", cfg->streams,
                                  "RTP instead of raw UDP: number of streams (L24 stereo 48 kHz)")
                      ->check(CLI::Range(1, 4096));
  auto* ptime =
      cmd->add_option("--ptime", cfg->ptime, "RTP packet time (with --streams; default 125us)")
          ->type_name("TIME");
  streams->excludes(payload);
  ptime->excludes(payload);
  cmd->add_flag("--sweep", cfg->sweep,
                "Raise the rate step by step (100k, 150k, 200k, 250k, 300k, max) to find each "
                "mode's highest zero-loss rate");
  cmd->add_option("--sweep-rates", cfg->sweep_rates, "Rates for --sweep, in order (0 = max)")
      ->delimiter(',')
      ->type_name("PPS,...");
  cmd->add_option(
         "--modes", cfg->modes,
         "Modes to run, comma-separated (default all: naive, dispatch, dispatch-threaded, "
         "dispatch-immediate, "
         "dispatch-budget-250us, reference, reference-immediate, tcpdump, tcpdump-immediate; also "
         "dispatch-immediate-Wus and reference-immediate-Wus, W = 50, 75, 100, 200, beside the "
         "automatic window; and with --streams the analysis modes: streams (the stream table), "
         "streams-sap-audio (SAP announces the streams, --extract-audio writes every one), "
         "streams-ptp (ptp4l grandmaster beside the streams, --ptp))")
      ->delimiter(',')
      ->type_name("MODE,...");
  cmd->add_option("--json", cfg->json_path, "Write every run and the summary as JSON to FILE")
      ->type_name("FILE");
  cmd->add_option("--svg", cfg->svg_path,
                  "Write an SVG chart (latency CDF; CPU and loss against rate when sweeping)")
      ->type_name("FILE");
  cmd->add_option("--drain-ms", cfg->drain_ms,
                  "Wait after the generator ends before stopping the capture")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->add_flag("-q,--quiet", cfg->quiet, "Only the final table");
  cmd->callback([cfg, rate, streams, ptime, &exit_code] {
    BenchConfig c = *cfg;
    c.rtp = streams->count() > 0 || ptime->count() > 0;
    c.rate_given = rate->count() > 0;
    exit_code = run_bench(c);
  });
  return cmd;
}

}  // namespace rtcap::tool
