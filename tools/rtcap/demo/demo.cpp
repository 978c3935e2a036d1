#include "demo/demo.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fmt/core.h>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/exit_codes.hpp"
#include "common/live_view.hpp"
#include "engine/config_table.hpp"
#include "engine/warning_texts.hpp"
#include "common/process.hpp"
#include "lab/lab.hpp"
#include "lab/netns.hpp"
#include "rtcap/latency_budget.hpp"
#include "common/text_format.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/engine.hpp"

namespace rtcap::tool {
namespace {

using namespace std::chrono_literals;

// The traffic: AES67's 125 µs packet time (6 samples of L24 stereo at 48 kHz = 36-byte payload)
// on 12 streams is 12 x 8,000 = 96,000 packets/s, the ~100 kpps the project is built for.
constexpr int kStreams = 12;
constexpr const char* kPtime = "125us";
// What gen sends on its default payload type, told to the tracker: no clock is assumed.
constexpr const char* kPayloadType = "97";
constexpr const char* kFormat = "97=L24/48000/2";
// Below this share of its target rate the generator, not the capture, set the pace.
constexpr double kRateShortfall = 0.95;
constexpr const char* kFilter = "udp and dst host 198.18.0.2";
constexpr auto kOpenTimeout = 15s;
constexpr auto kGenSlack = 20s;  // generator bound: --secs plus this
// After the generator ends: the default 1 ms ring timeout and 1 ms flush deliver the last
// packets within a few ms; 300 ms leaves room for a busy machine.
constexpr auto kDrain = 300ms;

std::int64_t process_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const auto tv = [](const timeval& t) {
    return std::int64_t(t.tv_sec) * 1'000'000'000 + std::int64_t(t.tv_usec) * 1000;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// Everything the capture thread (the one in the rx namespace) and the main thread share.
struct Shared {
  std::mutex mutex;
  std::condition_variable cv;
  bool opened = false;  // engine open and started
  std::string error;    // could not open
  Engine* engine = nullptr;
  std::atomic<bool> finished{false};  // consumer loop ended

  // Written by the consumer thread before `finished`, read by main after join.
  CaptureStats final_stats;
  TrackerSnapshot final_snapshot;
  std::optional<Error> failure;
  std::vector<std::string> warnings;
  int linktype = 0;
  std::uint64_t buffer_bytes = 0;
  std::size_t pool_bytes = 0;
};

// Once a second: the interval's rate, drops and delay above the stream table (in place on a
// terminal, one line otherwise).
void show_live(LiveStreamView& view, const CaptureStats& now, const CaptureStats& prev,
               const TrackerSnapshot& snap, double secs_total) {
  const double dt = double(now.elapsed_ns - prev.elapsed_ns) / 1e9;
  const double rate = dt > 0 ? double(now.packets_captured - prev.packets_captured) / dt : 0;
  const HistogramData d = now.latency_ns.minus(prev.latency_ns);
  const std::string status = fmt::format(
      "[{:4.1f}/{:g} s] captured {} ({:.0f} pkt/s)  drops: kernel {}, interface {}, rtcap {}  "
      "delay last 1 s: p50 {} p99 {} p99.9 {} max {}",
      double(now.elapsed_ns) / 1e9, secs_total, fmt_count(now.packets_captured), rate,
      now.kernel_dropped(), now.interface_dropped(), now.app_dropped_packets,
      format_duration_ns(d.percentile(0.5)), format_duration_ns(d.percentile(0.99)),
      format_duration_ns(d.percentile(0.999)), format_duration_ns(d.max));
  if (stderr_is_terminal())
    view.draw(stderr, status, snap, stderr_terminal_columns());
  else
    fmt::print(stderr, "rtcap demo: {}\n", status);
}

// The consumer thread: enters the rx namespace (the capture handle must be opened there), opens
// and starts the engine, feeds every batch to the stream tracker, draws the live view.
void consumer_thread(Shared& shared, const Lab& lab, double secs, bool quiet) {
  const auto fail = [&](std::string message) {
    std::lock_guard lock(shared.mutex);
    shared.error = std::move(message);
    shared.cv.notify_all();
    shared.finished.store(true);
  };
  if (auto r = enter_netns(lab.rx_ns); !r) return fail(r.error());
  CaptureConfig config;  // the defaults: that is what the demo shows
  config.interfaces = {lab.rx_if};
  config.filter = kFilter;
  auto opened = Engine::open(config);
  if (!opened) return fail(opened.error().message);
  std::unique_ptr<Engine> engine = std::move(*opened);
  const int linktype = engine->interfaces().front().linktype;
  StreamTrackerConfig tracker_config;
  FormatOption format;
  if (std::string e = parse_format_option(kFormat, format); !e.empty()) return fail(e);
  tracker_config.audio_formats.push_back(format);
  StreamTracker tracker(tracker_config);
  {
    std::lock_guard lock(shared.mutex);
    shared.engine = engine.get();
    shared.opened = true;
    shared.warnings = config_table::word(detail::warning_texts(*engine), config_table::Front::kCli);
    shared.linktype = linktype;
    shared.pool_bytes = engine->pool_memory_bytes();
    shared.cv.notify_all();
  }

  LiveStreamView view;
  CaptureStats previous = engine->stats();
  auto next_view = std::chrono::steady_clock::now() + 1s;
  while (!engine->done()) {
    // Inline (the default delivery): the analysis runs on the capture thread, this one.
    (void)engine->poll(100ms, [&](const Batch& batch) { tracker.add(batch, linktype); });
    if (std::chrono::steady_clock::now() >= next_view) {
      CaptureStats now = engine->stats();
      if (!quiet) show_live(view, now, previous, tracker.snapshot(), secs);
      previous = std::move(now);
      next_view += 1s;
    }
  }
  // The engine stays alive until main is done with it (main may still call request_stop()).
  CaptureStats final_stats = engine->stats();
  TrackerSnapshot snap = tracker.snapshot();
  {
    std::lock_guard lock(shared.mutex);
    shared.final_stats = std::move(final_stats);
    shared.final_snapshot = std::move(snap);
    shared.failure = engine->failure();
    shared.buffer_bytes = shared.final_stats.interfaces.empty()
                              ? 0
                              : shared.final_stats.interfaces.front().buffer_bytes;
    shared.engine = nullptr;
  }
  engine.reset();
  shared.finished.store(true);
}

// The generator's report (--json) and error text, in /tmp for the demo's lifetime.
struct GenFiles {
  std::string json, err;
  GenFiles() = default;
  GenFiles(const GenFiles&) = delete;
  GenFiles& operator=(const GenFiles&) = delete;
  ~GenFiles() {
    if (!json.empty()) std::remove(json.c_str());
    if (!err.empty()) std::remove(err.c_str());
  }
  bool make() {
    char path[] = "/tmp/rtcap-demo-gen.XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return false;
    close(fd);
    json = path;
    err = json + ".err";
    std::ofstream touch(err);
    return bool(touch);
  }
};

// Stops the capture thread and joins it on every way out of run_demo.
struct Joiner {
  Shared& s;
  std::thread& t;
  ~Joiner() {
    if (!t.joinable()) return;
    {
      std::lock_guard lock(s.mutex);
      if (s.engine) s.engine->request_stop();
    }
    t.join();
  }
};

// Waits for the capture thread to open its engine; false (printed) when it could not.
bool wait_for_capture(Shared& shared, std::thread& consumer, const Lab& lab) {
  std::unique_lock lock(shared.mutex);
  shared.cv.wait_for(lock, kOpenTimeout, [&] { return shared.opened || !shared.error.empty(); });
  if (!shared.opened) {
    fmt::print(stderr, "rtcap demo: cannot capture on {} in {}: {}\n", lab.rx_if, lab.rx_ns,
               shared.error.empty() ? "the capture did not open in time" : shared.error);
    if (!shared.error.empty()) {
      lock.unlock();
      consumer.join();
    }
    return false;
  }
  for (const auto& w : shared.warnings) fmt::print(stderr, "rtcap demo: warning: {}\n", w);
  return true;
}

// The generator, a child process in the tx namespace, within its time bound. "" or what failed.
std::string run_generator_child(const DemoConfig& cfg, const Lab& lab, const GenFiles& files,
                                const InterruptGuard& interrupt, const Shared& shared) {
  SpawnOptions go;
  go.argv = {self_executable(),
             "gen",
             "--netns",
             lab.tx_ns,
             "--dst",
             lab.rx_addr + ":5004",
             "--streams",
             std::to_string(kStreams),
             "--ptime",
             kPtime,
             "--payload-type",
             kPayloadType,
             "--secs",
             fmt::format("{}", cfg.secs),
             "--json",
             files.json,
             "-q"};
  const int gen_err_fd = open(files.err.c_str(), O_WRONLY | O_CLOEXEC);
  go.stderr_fd = gen_err_fd;
  auto gen = ChildProcess::spawn(go);
  if (gen_err_fd >= 0) close(gen_err_fd);
  if (!gen) return gen.error();
  std::string gen_error;
  const auto limit = std::chrono::milliseconds(static_cast<long long>(cfg.secs * 1000)) + kGenSlack;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!gen->poll()) {
    if (interrupt.interrupted() || shared.finished.load() ||
        std::chrono::steady_clock::now() >= deadline) {
      gen->stop(SIGINT, 2s);
      if (!interrupt.interrupted() && !shared.finished.load())
        gen_error = "the generator overran its time bound";
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (gen_error.empty() && gen->exit_status() != 0 && !interrupt.interrupted())
    gen_error = fmt::format("the generator failed ({}): {}", gen->describe_status(),
                            read_text_file(files.err));
  return gen_error;
}

// What the demo found: the generator's truth against what the capture saw.
struct DemoResult {
  nlohmann::json gen;  // the generator's report
  bool have_gen = false;
  std::uint64_t sent = 0, send_errors = 0;
  std::uint64_t rtp_packets = 0, duplicates = 0, one_way_p99 = 0, missing = 0;
  std::size_t rtp_streams = 0;
  LossAttribution loss;
  double cpu_per_packet = 0, process_cpu_per_packet = 0;
  std::vector<std::string> problems;
  bool pass = false;
  std::string settings;
  std::string lab_error;
  double duration_s = 0;
  double target_pps = 0, achieved_pps = 0;  // the generator's
};

DemoResult judge(const Shared& shared, const GenFiles& files, std::string gen_error,
                 bool interrupted, std::int64_t process_cpu) {
  DemoResult r;
  const CaptureStats& s = shared.final_stats;
  r.gen = nlohmann::json::parse(read_text_file(files.json), nullptr, false);
  r.have_gen = !r.gen.is_discarded() && r.gen.is_object();
  if (!r.have_gen && gen_error.empty() && !interrupted) gen_error = "the generator wrote no report";
  r.sent = r.have_gen ? r.gen.value("sent", std::uint64_t{0}) : 0;
  r.send_errors = r.have_gen ? r.gen.value("send_errors", std::uint64_t{0}) : 0;
  for (const auto& st : shared.final_snapshot.streams) {
    if (!st.is_rtp) continue;
    ++r.rtp_streams;
    r.rtp_packets += st.packets;
    r.duplicates += st.duplicates;
    if (st.has_delay) r.one_way_p99 = std::max(r.one_way_p99, st.one_way_delay.p99_ns);
  }
  const std::uint64_t unique_rtp = r.rtp_packets - std::min(r.rtp_packets, r.duplicates);
  r.missing = r.sent > unique_rtp ? r.sent - unique_rtp : 0;
  r.loss = attribute_loss(r.missing, s);
  r.cpu_per_packet = s.packets_captured ? double(s.capture_cpu_ns) / double(s.packets_captured) : 0;
  r.process_cpu_per_packet =
      s.packets_captured ? double(process_cpu) / double(s.packets_captured) : 0;
  if (interrupted) r.problems.push_back("interrupted");
  if (!gen_error.empty()) r.problems.push_back(gen_error);
  if (shared.failure) r.problems.push_back(shared.failure->message);
  if (r.loss.capture_dropped)
    r.problems.push_back(fmt::format("the capture dropped {} packets", r.loss.capture_dropped));
  if (r.sent == 0 && r.problems.empty()) r.problems.push_back("nothing was sent");
  if (r.rtp_packets == 0 && r.problems.empty()) r.problems.push_back("nothing was captured");
  if (r.have_gen) {
    r.target_pps = r.gen.value("target_pps", 0.0);
    r.achieved_pps = r.gen.value("achieved_pps", 0.0);
  }
  r.pass = r.problems.empty();
  const CaptureConfig defaults;
  r.settings = fmt::format(
      "mode dispatch, {}, timeout {} ms, kernel buffer {} KiB, snaplen {}, nanosecond timestamps, "
      "inline delivery (analysis on the capture thread), one batch of {} packets ({:.1f} MiB), "
      "filter \"{}\"",
      defaults.immediate_mode ? "immediate" : "TPACKET_V3 blocks (not immediate)",
      defaults.timeout_ms, shared.buffer_bytes / 1024, defaults.snaplen, defaults.batch_packets,
      double(shared.pool_bytes) / double(1 << 20), kFilter);
  return r;
}

std::string verdict_text(const DemoResult& r, const CaptureStats& s, double secs) {
  const HistogramData& lat = s.latency_ns;
  std::string v = "\nrtcap demo verdict\n";
  v += fmt::format(
      "  traffic   {} RTP streams (L24 stereo 48 kHz, {} packets, {} B UDP payload) for {:g} s "
      "from `rtcap gen`\n",
      kStreams, kPtime, r.have_gen ? r.gen.value("udp_payload_bytes", 0) : 0, secs);
  const bool slow = r.target_pps > 0 && r.achieved_pps < kRateShortfall * r.target_pps;
  v += fmt::format("  sent      {} packets ({:.0f} pkt/s{}{})\n", fmt_count(r.sent), r.achieved_pps,
                   slow ? fmt::format(" of the {:.0f} asked: this machine was too busy to send "
                                      "faster",
                                      r.target_pps)
                        : "",
                   r.send_errors ? fmt::format(", {} send errors", r.send_errors) : "");
  v += fmt::format("  captured  {} packets ({} of them in the {} RTP streams{})\n",
                   fmt_count(s.packets_captured), fmt_count(r.rtp_packets), r.rtp_streams,
                   r.duplicates ? fmt::format(", {} duplicates", r.duplicates) : "");
  v += fmt::format(
      "  lost      {}: {} dropped by the capture (kernel ring {}, interface {}, rtcap {}), {} "
      "before the "
      "capture point (sender/network){}\n",
      fmt_count(r.missing), fmt_count(r.loss.dropped_by_capture_max), s.kernel_dropped(),
      s.interface_dropped(), s.app_dropped_packets, fmt_count(r.loss.lost_before_capture_min),
      r.loss.exact ? "" : " (bounds)");
  v +=
      fmt::format("  delay     packet timestamp -> application: p50 {}, p99 {}, p99.9 {}, max {}\n",
                  format_duration_ns(lat.percentile(0.5)), format_duration_ns(lat.percentile(0.99)),
                  format_duration_ns(lat.percentile(0.999)), format_duration_ns(lat.max));
  if (r.one_way_p99)
    v += fmt::format("  network   sender send time -> capture timestamp: p99 {} (worst stream)\n",
                     format_duration_ns(r.one_way_p99));
  v += fmt::format(
      "  CPU       {:.0f} ns/packet capture thread (capture + stream analysis, inline; read once a "
      "second); {:.0f} ns/packet whole process\n",
      r.cpu_per_packet, r.process_cpu_per_packet);
  v += fmt::format("  settings  {}\n", r.settings);
  if (!r.lab_error.empty()) v += fmt::format("  cleanup   {}\n", r.lab_error);
  if (r.pass) {
    v += fmt::format(
        "PASS: every packet reached the application, the capture dropped none{}{}\n",
        r.missing ? fmt::format(" ({} were lost before the capture point)", r.missing) : "",
        slow ? fmt::format("; but at {:.0f} pkt/s, not the {:.0f} the demo is about: run it again "
                           "on a quieter machine",
                           r.achieved_pps, r.target_pps)
             : "");
  } else {
    std::string why;
    for (const auto& p : r.problems) why += (why.empty() ? "" : "; ") + p;
    v += fmt::format("FAIL: {}\n", why);
    if (r.loss.capture_dropped)
      v += "  try: rtcap --help for -B (kernel buffer), --pool-batches, --timeout-ms; rerun on a "
           "quieter machine\n";
  }
  return v;
}

bool write_demo_json(const DemoResult& r, const Shared& shared, const DemoConfig& cfg,
                     const std::string& lab_name, bool interrupted) {
  const CaptureStats& s = shared.final_stats;
  const HistogramData& lat = s.latency_ns;
  const CaptureConfig defaults;
  nlohmann::json j;
  j["tool"] = "rtcap demo";
  j["pass"] = r.pass;
  j["problems"] = r.problems;
  j["sent"] = r.sent;
  j["sent_pps"] = r.achieved_pps;
  j["target_pps"] = r.target_pps;
  j["send_errors"] = r.send_errors;
  j["captured"] = s.packets_captured;
  j["captured_rtp"] = r.rtp_packets;
  j["duplicates"] = r.duplicates;
  j["lost"] = r.missing;
  j["capture_dropped"] = {{"kernel", s.kernel_dropped()},
                          {"interface", s.interface_dropped()},
                          {"app", s.app_dropped_packets},
                          {"total", r.loss.capture_dropped}};
  j["lost_before_capture"] = r.loss.lost_before_capture_min;
  j["loss_attribution"] = nlohmann::json::parse(to_json(r.loss, -1), nullptr, false);
  j["sequence_loss"] = total_sequence_loss(shared.final_snapshot);
  j["latency_ns"] = {{"count", lat.count},
                     {"p50", lat.percentile(0.5)},
                     {"p99", lat.percentile(0.99)},
                     {"p999", lat.percentile(0.999)},
                     {"max", lat.max},
                     {"mean", lat.mean()}};
  j["one_way_delay_p99_ns"] = r.one_way_p99;
  j["cpu_ns_per_packet"] = r.cpu_per_packet;
  j["process_cpu_ns_per_packet"] = r.process_cpu_per_packet;
  j["settings"] = {{"mode", "dispatch"},
                   {"immediate_mode", defaults.immediate_mode},
                   {"timeout_ms", defaults.timeout_ms},
                   {"buffer_bytes", shared.buffer_bytes},
                   {"snaplen", defaults.snaplen},
                   {"pool_batches", defaults.pool_batches},
                   {"batch_packets", defaults.batch_packets},
                   {"filter", kFilter},
                   {"text", r.settings}};
  j["traffic"] = {{"streams", kStreams},
                  {"ptime", kPtime},
                  {"secs", cfg.secs},
                  {"encoding", "L24 stereo 48 kHz"}};
  j["streams"] = nlohmann::json::parse(to_json(shared.final_snapshot, -1), nullptr, false);
  if (r.have_gen) {
    nlohmann::json gen = r.gen;
    gen.erase("events");
    j["generator"] = gen;
  }
  j["lab"] = lab_name;
  j["lab_removed"] = r.lab_error.empty();
  j["interrupted"] = interrupted;
  j["duration_s"] = r.duration_s;
  std::ofstream f(cfg.json_path, std::ios::trunc);
  f << j.dump(2) << "\n";
  if (!f) fmt::print(stderr, "rtcap demo: cannot write --json file {}\n", cfg.json_path);
  return bool(f);
}

}  // namespace

int run_demo(const DemoConfig& cfg) {
  const auto started = std::chrono::steady_clock::now();
  // README's exit codes: a bad value 2, no root 3 (nothing can be set up), a failed run 1.
  if (!(cfg.secs > 0 && cfg.secs <= 40)) {
    fmt::print(
        stderr,
        "rtcap demo: --secs must be more than 0 and at most 40 (the demo stays under a minute)\n");
    return kExitUsage;
  }
  if (geteuid() != 0) {
    fmt::print(stderr,
               "rtcap demo: needs root (it builds network namespaces and captures): run as root\n");
    return kExitSetup;
  }
  InterruptGuard interrupt;
  const std::string lab_name = unique_lab_name("dm");
  LabGuard lab_guard(lab_name);
  GenFiles files;
  if (!files.make()) {
    fmt::print(stderr, "rtcap demo: cannot create a file in /tmp\n");
    return 1;
  }
  if (!cfg.quiet)
    fmt::print(stderr, "rtcap demo: building lab {} (netns {}-tx -> {}-rx over a veth pair)\n",
               lab_name, lab_name, lab_name);
  auto lab = lab_up(lab_name);
  if (!lab) {
    fmt::print(stderr, "rtcap demo: {}\n", lab.error());
    return 1;
  }
  Shared shared;
  std::thread consumer([&] { consumer_thread(shared, *lab, cfg.secs, cfg.quiet); });
  Joiner joiner{shared, consumer};
  if (!wait_for_capture(shared, consumer, *lab)) return 1;
  // From here on: capture and analysis only (opening the handle and the pool is not per packet).
  const std::int64_t cpu_before = process_cpu_ns();
  if (!cfg.quiet)
    fmt::print(stderr,
               "rtcap demo: capturing on {} with the rtcap library (default settings); sending {} "
               "RTP streams, "
               "L24 stereo 48 kHz, {} packets, for {:g} s\n",
               lab->rx_if, kStreams, kPtime, cfg.secs);
  const std::string gen_error = run_generator_child(cfg, *lab, files, interrupt, shared);
  sleep_interruptible(kDrain, interrupt.flag());
  {
    std::lock_guard lock(shared.mutex);
    if (shared.engine) shared.engine->request_stop();
  }
  consumer.join();
  const std::int64_t process_cpu = process_cpu_ns() - cpu_before;

  DemoResult result = judge(shared, files, gen_error, interrupt.interrupted(), process_cpu);
  result.lab_error = lab_guard.release();
  if (!cfg.quiet && !stderr_is_terminal() && !shared.final_snapshot.streams.empty())
    fmt::print(stderr, "{}", format_stream_table(shared.final_snapshot));
  fmt::print("{}", verdict_text(result, shared.final_stats, cfg.secs));
  std::fflush(stdout);
  result.duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!cfg.json_path.empty() &&
      !write_demo_json(result, shared, cfg, lab_name, interrupt.interrupted()))
    return 1;
  return result.pass && result.lab_error.empty() ? 0 : 1;
}

CLI::App* add_demo_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "demo",
      "Start here: builds a lab, sends 100,000 packets/s of tiny RTP for 10 s, captures it with "
      "rtcap, shows "
      "what arrived and when, prints PASS/FAIL and removes the lab (needs root)");
  auto cfg = std::make_shared<DemoConfig>();
  cmd->add_option("--secs", cfg->secs, "Traffic time in seconds (at most 40)")
      ->capture_default_str();
  cmd->add_option("--json", cfg->json_path, "Write the verdict as JSON to FILE")->type_name("FILE");
  cmd->add_flag("-q,--quiet", cfg->quiet, "No live view, only the verdict");
  cmd->callback([cfg, &exit_code] { exit_code = run_demo(*cfg); });
  return cmd;
}

}  // namespace rtcap::tool
