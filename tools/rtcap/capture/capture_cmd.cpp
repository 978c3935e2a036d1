#include "capture/capture_cmd.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <span>
#include <string_view>
#include <optional>

#include <fmt/format.h>

#include "analysis/format_words.hpp"
#include "analysis/packet_parser.hpp"
#include "analysis/ptp_report.hpp"
#include "analysis/ptp_wire.hpp"
#include "analysis/stream_levels.hpp"
#include "engine/baseline.hpp"
#include "engine/clock.hpp"
#include "engine/config_table.hpp"
#include "engine/warning_texts.hpp"
#include "io/output_file.hpp"
#include "common/exit_codes.hpp"
#include "lab/netns.hpp"
#include "capture/privileges.hpp"
#include "capture/report.hpp"
#include "capture/rotation.hpp"
#include "capture/host.hpp"
#include "rtcap/advisor.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/latency_budget.hpp"
#include "rtcap/metrics_server.hpp"
#include "rtcap/writer.hpp"
#include "capture/signals.hpp"
#include "capture/streams_view.hpp"
#include "common/live_view.hpp"

namespace rtcap::tool {
namespace {

// --sap / --ptp on a file (-r): as live, but there is no group to join.
std::string only_live_note(const char* option, const char* what) {
  return fmt::format(
      "rtcap: warning: {} joins the {} groups only on a live interface (-i): the file's {} "
      "packets are read as recorded\n",
      option, what, what);
}

int list_devices_cmd() {
  auto devices = list_devices();
  if (!devices) {
    fmt::print(stderr, "rtcap: {}\n", devices.error().message);
    return kExitSetup;
  }
  int n = 0;
  for (const auto& d : *devices) {
    fmt::print("{}.{}{}{}\n", ++n, d.name, d.description.empty() ? "" : " (" + d.description + ")",
               d.loopback ? " [Loopback]" : (d.up ? (d.running ? " [Up, Running]" : " [Up]") : ""));
  }
  return kExitOk;
}

int list_tstamp_types_cmd(const CaptureConfig& c, const std::string& netns) {
  if (c.interfaces.size() != 1) {
    fmt::print(stderr, "rtcap: -J needs exactly one -i interface\n");
    return kExitUsage;
  }
  // pcap_create accepts any name (activation would fail), and libpcap then lists the types every
  // interface has: an interface that is not there would seem to have them.
  if (auto devices = list_devices();
      devices && std::none_of(devices->begin(), devices->end(),
                              [&](const auto& d) { return d.name == c.interfaces[0]; })) {
    const Error missing{ErrorCode::kNoSuchDevice,
                        fmt::format("no such interface '{}'", c.interfaces[0])};
    fmt::print(stderr, "rtcap: {}\n", cli_wording(missing, netns));
    return kExitSetup;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(c.interfaces[0].c_str(), errbuf);
  if (!p) {
    fmt::print(stderr, "rtcap: {}\n", errbuf);
    return kExitSetup;
  }
  int* types = nullptr;
  const int n = pcap_list_tstamp_types(p, &types);
  if (n < 0) {
    fmt::print(stderr, "rtcap: {}: {}\n", c.interfaces[0], pcap_geterr(p));
    pcap_close(p);
    return kExitSetup;
  }
  if (n == 0)
    fmt::print("Time stamp type cannot be set for {}\n", c.interfaces[0]);
  else
    fmt::print("Time stamp types for {} (use option -j to set):\n", c.interfaces[0]);
  for (int i = 0; i < n; ++i)
    fmt::print("  {} ({})\n", pcap_tstamp_type_val_to_name(types[i]),
               pcap_tstamp_type_val_to_description(types[i]));
  pcap_free_tstamp_types(types);
  pcap_close(p);
  return kExitOk;
}

// Whole lines of text in `data`: the output's records, for a write that stops half-way.
io::RecordPrefix scan_text_lines(const std::uint8_t* data, std::size_t size,
                                 std::size_t limit) noexcept {
  io::RecordPrefix p;
  for (std::size_t i = 0; i < std::min(size, limit); ++i)
    if (data[i] == '\n') {
      p.bytes = i + 1;
      ++p.packets;
    }
  return p;
}

// Standard output without -w goes through the same output as -w -: a pipe or FIFO is written
// non-blocking and the writer gives up at the stop deadline (issue 13: a stalled reader of the
// text held up a stop as it did for -w -, in fwrite). 64 KiB: one batch of lines, one write.
Result<std::unique_ptr<io::OutputFile>> open_text_output() {
  return io::OutputFile::open("-", std::size_t{1} << 16, &scan_text_lines, output_give_up_at_ns());
}

// Without -w: one line per packet on stdout, as tcpdump -n prints UDP ("IP a.p > b.q: UDP,
// length n"); other packets get their length only. One write per batch; false once the
// output failed (out.failed() says why).
bool print_packets(const Batch& batch, const std::vector<InterfaceInfo>& infos,
                   io::OutputFile& out) {
  std::string line;
  for (PacketView p : batch) {
    line.clear();
    const std::time_t secs = std::time_t(p.ts_ns / 1000000000);
    const struct tm tm = *std::localtime(&secs);  // the consumer thread only
    char clock[16];
    std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    line += fmt::format("{}.{:09} ", clock, p.ts_ns % 1000000000);
    if (infos.size() > 1) line += infos[p.interface_index].name + " ";
    const analysis::ParsedPacket pp = analysis::parse_packet(
        p.bytes.data(), p.bytes.size(), p.wire_len, infos[p.interface_index].linktype);
    if (pp.cls == analysis::ParseClass::kUdp) {
      IpAddress src, dst;
      src.family = dst.family = pp.family;
      const std::size_t n = pp.family == 4 ? 4 : 16;
      std::copy_n(pp.src, n, src.bytes.begin());
      std::copy_n(pp.dst, n, dst.bytes.begin());
      line +=
          fmt::format("{} {}.{} > {}.{}: UDP, length {}\n", pp.family == 4 ? "IP" : "IP6",
                      src.to_string(), pp.src_port, dst.to_string(), pp.dst_port, pp.payload_len);
    } else {
      line += fmt::format("length {} (captured {})\n", p.wire_len, p.bytes.size());
    }
    std::uint8_t* to = out.reserve(line.size());  // a line is far below the 64 KiB buffer
    if (to == nullptr) return false;
    std::memcpy(to, line.data(), line.size());
    out.commit(line.size(), true);
  }
  return bool(out.flush());
}

}  // namespace

namespace {

// Turns --latency-budget into settings before anything is opened; prints the plan.
bool apply_latency_budget(CaptureOptions& o, std::int64_t& budget_ns) {
  if (o.latency_budget.empty()) return true;
  auto parsed = parse_duration_ns(o.latency_budget);
  if (!parsed) {
    fmt::print(stderr, "rtcap: --latency-budget: {}\n", parsed.error().message);
    return false;
  }
  budget_ns = *parsed;
  TrafficProfile traffic;
  traffic.packets_per_second = o.expected_pps;
  traffic.hz = host_v3_retire_hz();
  traffic.platform = host_capture_platform();
  const LatencyPlan plan = plan_for_latency_budget(budget_ns, o.config, traffic);
  o.config = plan.config;
  if (!o.quiet) {
    fmt::print(stderr, "rtcap: latency budget {}:\n", o.latency_budget);
    const std::string explanation = cli_words(plan.explanation);
    for (std::string_view rest = explanation; !rest.empty();) {
      const auto nl = rest.find('\n');
      fmt::print(stderr, "rtcap:   {}\n", rest.substr(0, nl));
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    }
  }
  return true;
}

// A report file (--stats-json, --streams-json, --advice-json, --streams-svg) is opened before
// capture starts, so that a bad path fails now and not after weeks of capture, through the
// output -w uses: no link another user planted, and a failure that names its cause.
using ReportFile = std::unique_ptr<io::OutputFile>;

bool open_report_file(ReportFile& f, const std::string& path, const char* option) {
  if (path.empty()) return true;
  // "-" is a file of that name here: standard output carries the table.
  auto opened = io::OutputFile::open(path == "-" ? "./-" : path, io::kMinBufferBytes,
                                     &scan_text_lines, output_give_up_at_ns(), option);
  if (!opened) {
    fmt::print(stderr, "rtcap: {}\n", opened.error().message);
    return false;
  }
  f = std::move(*opened);
  return true;
}

// One report written whole (a line is added); false once the file has failed, the reason
// printed the first time.
bool write_report(ReportFile& f, std::string_view text) {
  if (!f) return true;
  if (!f->ok()) return false;
  const std::string line = std::string(text) + '\n';
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(line.data());
  if (auto r = f->write_whole({std::span<const std::uint8_t>(bytes, line.size())}, false); !r) {
    fmt::print(stderr, "rtcap: {}\n", r.error().message);
    return false;
  }
  return true;
}

// Closes a report file; false when the close said the data did not reach the disk.
bool close_report(ReportFile& f) {
  if (!f || !f->ok()) return !f;
  if (auto r = f->close(); !r) {
    fmt::print(stderr, "rtcap: {}\n", r.error().message);
    return false;
  }
  return true;
}

// An interface went down or away, or came back (issue 13): one line at once (at the next
// status tick, within a second), with -q too; pcapng gets an ISB whose comment carries the outage.
void report_link_changes(const CaptureStats& now, const CaptureStats& before, bool reopen,
                         RotatingWriter* writer) {
  for (std::size_t i = 0; i < now.interfaces.size() && i < before.interfaces.size(); ++i) {
    const InterfaceStats& n = now.interfaces[i];
    const InterfaceStats& b = before.interfaces[i];
    const bool went_down = n.down_events > b.down_events;
    if (went_down)
      fmt::print(stderr, "rtcap: warning: interface '{}' is down or gone: {}\n", n.name,
                 reopen ? "capturing on the others, opening it again every second (--reopen)"
                        : "capture on it resumes if it comes back up (if it was deleted, "
                          "capture ends: --reopen would wait for it)");
    if (n.up && (went_down || !b.up)) {
      fmt::print(stderr, "rtcap: interface '{}' is back: down {} time(s), {:.1f} s in all{}\n",
                 n.name, n.down_events, double(n.down_ns) / 1e9,
                 n.reopens ? fmt::format(", reopened {} time(s)", n.reopens) : "");
      if (CaptureWriter* w = writer ? writer->current() : nullptr)
        (void)w->write_interface_stats(now, realtime_ns());  // ISB: the clock of packet stamps
    }
  }
}

// One capture command from set-up to the last report. Member order is destruction order in
// reverse: the engine goes after the writer and the reports it feeds.
class CaptureRun {
 public:
  explicit CaptureRun(CaptureOptions& o) : o_(o) {}
  // kExitOk to go on; otherwise the exit code, its line already printed.
  int open_capture();
  int open_outputs();
  void prepare_analysis();
  void make_tracker();
  void print_startup() const;
  int loop();
  int report();

 private:
  void consume(const Batch& batch);
  void adopt_new_interfaces();
  void status_tick(CaptureStats s);
  void report_streams(const CaptureStats& final_stats);
  [[noreturn]] void leave_abandoned_capture();

  CaptureOptions& o_;
  std::int64_t budget_ns_ = 0;
  std::unique_ptr<Engine> engine_;
  SapMembership sap_membership_;
  SapMembership ptp_membership_;  // --ptp
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<RotatingWriter> writer_;
  std::unique_ptr<io::OutputFile> text_out_;  // no -w: a line per packet on standard output
  ReportFile stats_json_file_, streams_json_file_, advice_json_file_;
  std::optional<StreamsSvg> svg_;
  ReportFile svg_file_;
  std::optional<LiveStreamView> live_;
  std::optional<io::AudioExtractor> extractor_;
  std::optional<analysis::StreamLevels> levels_;  // --levels, --extract-audio
  // This thread (the capture thread inline, the consumer behind the hand-off otherwise) owns the
  // stream tracker and the advisor.
  std::optional<StreamTracker> tracker_;
  std::vector<int> linktypes_;
  std::vector<InterfaceInfo> infos_;  // the engine's, grown by adopt_new_interfaces()
  std::optional<Advisor> advisor_;
  std::uint64_t previous_stream_loss_ = 0;
  std::uint64_t previous_discarded_ = 0;

  int exit_code_ = kExitOk;
  bool writing_ = false;
  bool abandoned_ = false;  // the capture did not end within kAbandonAfterStop of a stop
  CaptureStats previous_;   // the last status snapshot
};

// Engine, SAP groups, metrics socket: everything that needs privileges, then -Z.
int CaptureRun::open_capture() {
  if (!apply_latency_budget(o_, budget_ns_)) return kExitUsage;
  auto opened = detail::open_engine(
      o_.config, o_.naive() ? detail::CaptureMode::kNaive : detail::CaptureMode::kDispatch);
  if (!opened) {
    fmt::print(stderr, "rtcap: {}\n", cli_wording(opened.error(), o_.netns));
    return exit_code_for(opened.error().code);
  }
  engine_ = std::move(*opened);
  for (const auto& w : detail::warning_texts(*engine_))
    fmt::print(stderr, "rtcap: warning: {}\n", config_table::word(w, config_table::Front::kCli));
  // --sap: join the SAP groups in the capture's namespace, before privileges go.
  if (o_.sap) {
    if (auto r = sap_membership_.join(o_.config.interfaces); !r) {
      fmt::print(stderr, "rtcap: {}\n", r.error());
      return kExitSetup;
    }
    if (o_.config.interfaces.empty())
      fmt::print(stderr, "{}", only_live_note("--sap", "SAP"));
    else
      fmt::print(stderr, "rtcap: joined {} SAP group(s) ({}, {})\n",
                 sap_membership_.groups_joined(), kSapGroupAdminScoped, kSapGroupGlobal);
  }
  if (o_.ptp) {
    const std::vector<const char*> groups = {analysis::ptp::kGroupIpv4,
                                             analysis::ptp::kGroupIpv4PeerDelay};
    if (auto r = ptp_membership_.join(o_.config.interfaces, groups, "--ptp"); !r) {
      fmt::print(stderr, "rtcap: {}\n", r.error());
      return kExitSetup;
    }
    if (o_.config.interfaces.empty())
      fmt::print(stderr, "{}", only_live_note("--ptp", "PTP"));
    else
      fmt::print(stderr, "rtcap: joined {} PTP group(s) ({}, {})\n",
                 ptp_membership_.groups_joined(), groups[0], groups[1]);
  }
  if (!o_.metrics_listen.empty()) {
    MetricsServerOptions mo;
    mo.allow_any_address = o_.metrics_any_address;
    auto m = MetricsServer::open(o_.metrics_listen, mo);  // bound now; serve() after -Z
    if (!m) {
      const bool option = m.error().setting == "allow_any_address";
      fmt::print(stderr, "rtcap: {}\n",
                 option ? m.error().reason + " (--metrics-allow-any-address)" : m.error().message);
      return exit_code_for(m.error().code);
    }
    metrics_ = std::move(*m);
    // --netns puts the whole process there, the server too: only that namespace reaches it.
    fmt::print(stderr, "rtcap: metrics at http://{}/metrics{}\n", metrics_->address(),
               o_.netns.empty() ? "" : " (inside network namespace '" + o_.netns + "')");
  }
  // Everything privileged is open: from here on, the files are written as the -Z user.
  if (!o_.drop_to_user.empty()) {
    if (auto r = drop_privileges(o_.drop_to_user); !r) {
      fmt::print(stderr, "rtcap: {}\n", r.error().message);
      return kExitSetup;
    }
  }
  // Its threads start now, so that they run with what every other thread runs with.
  if (metrics_) metrics_->serve();
  return kExitOk;
}

// Every output is made now, so that a bad path fails before the capture, not after weeks of it.
int CaptureRun::open_outputs() {
  if (!o_.write_path.empty()) {
    WriterOptions wo;
    wo.path = o_.write_path;
    wo.packet_buffered = o_.packet_buffered;
    wo.pcapng = o_.pcapng;
    wo.precision = engine_->interfaces().front().precision;
    // wo.snaplen 0: the handles' own (pcap_snapshot: Linux immediate mode may pick the MTU + 22).
    wo.interfaces = engine_->interfaces();
    wo.filter = o_.config.filter;
    wo.give_up_at_ns = output_give_up_at_ns();  // a stalled reader cannot hold up a stop
    // One serialised batch must fit the buffer for -U to stay one write() per batch.
    wo.buffer_bytes = std::max<std::size_t>(wo.buffer_bytes,
                                            o_.config.batch_bytes + 32 * o_.config.batch_packets);
    auto w = RotatingWriter::open(wo, o_.rotation);
    if (!w) {
      fmt::print(stderr, "rtcap: {}\n", cli_words(w.error()));
      return w.error().code == ErrorCode::kBadConfig ? kExitUsage : kExitSetup;
    }
    writer_ = std::move(*w);
    writing_ = true;
  } else if (!o_.streams && o_.extract_audio_dir.empty()) {
    auto t = open_text_output();
    if (!t) {
      fmt::print(stderr, "rtcap: {}\n", t.error().message);
      return kExitSetup;
    }
    text_out_ = std::move(*t);
  }
  if (!open_report_file(stats_json_file_, o_.stats_json_path, "--stats-json") ||
      !open_report_file(streams_json_file_, o_.streams_json_path, "--streams-json") ||
      !open_report_file(advice_json_file_, o_.advice_json_path, "--advice-json") ||
      !open_report_file(svg_file_, o_.streams_svg_path, "--streams-svg"))
    return kExitSetup;
  if (svg_file_) svg_.emplace();
  if (o_.levels || !o_.extract_audio_dir.empty()) {
    // Fed after the tracker: its levels of every stream the catalogue gives a format.
    make_tracker();
    levels_.emplace(*tracker_);
  }
  if (!o_.extract_audio_dir.empty()) {
    // The extractor reads every stream's format from the tracker's catalogue, fed first.
    make_tracker();
    io::AudioExtractConfig ec;
    ec.dir = o_.extract_audio_dir;
    ec.tracker = &*tracker_;
    ec.max_bytes = o_.extract_audio_max_bytes;
    extractor_.emplace(std::move(ec));
    if (std::string e = extractor_->check_output(); !e.empty()) {
      fmt::print(stderr, "rtcap: --extract-audio: {}\n", e);
      return kExitSetup;
    }
  }
  return kExitOk;
}

void CaptureRun::make_tracker() {
  if (tracker_) return;
  StreamTrackerConfig tc;
  tc.default_clock_rate = o_.default_clock_rate_hz;
  tc.clock_rate_by_pt = o_.clock_rate_by_pt;
  tc.audio_formats = o_.audio_formats;
  tc.sdp = o_.sdp_formats;
  tracker_.emplace(tc);
}

void CaptureRun::prepare_analysis() {
  // The per-stream table redraws in place once a second on a terminal; piped or -q, it is
  // printed once at the end only.
  if (o_.streams && !o_.quiet && stderr_is_terminal()) live_.emplace();
  infos_ = engine_->interfaces();
  for (const auto& info : infos_) linktypes_.push_back(info.linktype);
  if (o_.streams) make_tracker();
  AdvisorConfig advisor_config;
  advisor_config.latency_budget_ns = budget_ns_;
  advisor_config.hz = host_v3_retire_hz();
  advisor_.emplace(advisor_config);
}

// tcpdump's "listening on" line per interface, then the settings that decide loss and delay.
void CaptureRun::print_startup() const {
  for (const auto& info : engine_->interfaces()) {
    const char* name = pcap_datalink_val_to_name(info.linktype);
    const char* description = pcap_datalink_val_to_description(info.linktype);
    fmt::print(stderr, "rtcap: {} {}, link-type {} ({}), snapshot length {} bytes\n",
               o_.config.read_file.empty() ? "listening on" : "reading from", info.name,
               name ? name : "?", description ? description : "?", info.snaplen);
  }
  if (!o_.config.read_file.empty()) return;
  const CaptureStats initial = engine_->stats();
  const std::uint32_t coalesce_us = effective_coalesce_us(o_.config);
  fmt::print(stderr, "rtcap: mode {}{}, kernel buffer {} KiB, timeout {} ms{}, {} = {:.1f} MiB\n",
             o_.mode_name, o_.config.immediate_mode ? " (immediate)" : "",
             initial.interfaces.empty() ? 0 : initial.interfaces.front().buffer_bytes / 1024,
             o_.config.timeout_ms,
             !o_.config.immediate_mode ? ""
             : coalesce_us             ? fmt::format(", coalesce {} us", coalesce_us)
                                       : ", no coalescing (a wake-up per packet)",
             o_.config.delivery == Delivery::kInline
                 ? fmt::format("inline, one batch of {} packets", o_.config.batch_packets)
                 : fmt::format("consumer thread, pool {} batches x {} packets",
                               o_.config.pool_batches, o_.config.batch_packets),
             double(engine_->pool_memory_bytes()) / double(1 << 20));
}

// Everything done with a batch, on the thread that has it: inline, the capture thread itself
// (a write that blocks delays capture; the kernel ring absorbs it and counts what overflows);
// with --consumer-thread, the consumer thread behind the hand-off.
void CaptureRun::consume(const Batch& batch) {
  if (engine_->interface_count() > infos_.size()) [[unlikely]]
    adopt_new_interfaces();
  if (writing_) {
    // `previous_` (the last status snapshot) goes into a rotated file's statistics block.
    if (auto r = writer_->write(batch, previous_); !r) {
      writing_ = false;
      if (writer_->failure() == WriteFailure::kPipeClosed) {
        fmt::print(stderr, "rtcap: {}; stopping\n", cli_words(r.error()));
      } else {
        fmt::print(stderr, "rtcap: {}\n", r.error().message);
        exit_code_ = kExitRuntime;
      }
      engine_->request_stop();
    } else if (writer_->finished()) {
      engine_->request_stop();  // -G with -W: the last file is complete
    }
  } else if (text_out_ && text_out_->ok() && !print_packets(batch, infos_, *text_out_)) {
    // A stalled reader past the stop deadline, or a closed pipe (as -w -: not an error).
    const bool closed = text_out_->failure() == WriteFailure::kPipeClosed;
    fmt::print(stderr, "rtcap: {}{}\n", text_out_->failed().error.message,
               closed ? "; stopping" : "");
    if (!closed) exit_code_ = kExitRuntime;
    engine_->request_stop();
  }
  if (tracker_) tracker_->add(batch, linktypes_);
  if (extractor_) extractor_->add(batch, linktypes_);
  if (levels_) levels_->add(batch, linktypes_);
}

// --reopen brought an interface back with another link type or snaplen: the engine gave its
// packets a new interface index (Engine::interface_count). pcapng takes a new IDB and goes on; a
// pcap file (one link type) cannot: the capture stops with the writer's one line, as it stopped
// before for every such change. On the consumer's thread, before it uses the batch.
void CaptureRun::adopt_new_interfaces() {
  while (infos_.size() < engine_->interface_count()) {
    const InterfaceInfo info = engine_->interface_info(infos_.size());
    const char* name = pcap_datalink_val_to_name(info.linktype);
    fmt::print(stderr,
               "rtcap: interface '{}' came back with link-type {}, snapshot length {}: "
               "interface {} from here on\n",
               info.name, name ? name : "?", info.snaplen, infos_.size());
    infos_.push_back(info);
    linktypes_.push_back(info.linktype);
    if (writing_) {
      if (auto r = writer_->add_interface(info); !r) {
        fmt::print(stderr, "rtcap: {}; stopping\n", r.error().message);
        writing_ = false;
        exit_code_ = kExitRuntime;
        engine_->request_stop();
      }
    }
  }
}

int CaptureRun::loop() {
  set_signal_target(engine_.get());
  const bool inline_delivery = o_.config.delivery == Delivery::kInline;
  if (!inline_delivery) {
    if (auto started = engine_->start(); !started) {
      set_signal_target(nullptr);
      fmt::print(stderr, "rtcap: {}\n", started.error().message);
      return kExitSetup;
    }
  }
  previous_ = engine_->stats();
  // A stop during start-up is acted on now: the capture gets its drain time from here.
  const auto loop_start = std::chrono::steady_clock::now();
  auto consume = [this](const Batch& batch) { this->consume(batch); };
  auto next_status = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!engine_->done()) {
    if (stop_requested()) {
      engine_->request_stop();
      if (stop_overdue() && std::chrono::steady_clock::now() - loop_start >= kAbandonAfterStop) {
        fmt::print(stderr,
                   "rtcap: the capture did not end within {} ms of the stop (a read that cannot "
                   "be interrupted, such as a -r pipe whose writer stalls): leaving it\n",
                   kAbandonAfterStop.count());
        abandoned_ = true;
        break;
      }
    }
    // 100 ms: how late a signal's flag is seen at the latest (a signal also ends the wait).
    if (inline_delivery) {
      (void)engine_->poll(std::chrono::milliseconds(100), consume);
    } else if (BatchRef batch = engine_->next_batch(std::chrono::milliseconds(100))) {
      consume(*batch);
    }
    if (take_flush_request() && writing_) (void)writer_->flush();
    const auto now = std::chrono::steady_clock::now();
    const bool print_stats = take_print_stats_request();
    if (!print_stats && now < next_status) continue;
    // pcap_stats read now, so that "received by filter" and the CPU time agree with "captured"
    // (the periodic copy is up to stats_interval_ms old). 50 ms: far above the tens of
    // microseconds the capture thread takes to answer, short enough for SIGUSR1.
    CaptureStats s = engine_->stats_now(std::chrono::milliseconds(50));
    if (print_stats) fmt::print(stderr, "{}", tcpdump_lines(s));
    if (now >= next_status) {
      status_tick(std::move(s));
      next_status += std::chrono::seconds(1);
      if (next_status <= now) next_status = now + std::chrono::seconds(1);  // after a stall
    }
  }
  set_signal_target(nullptr);
  return kExitOk;
}

// Once a second: advice, link changes, the status line (or live table), metrics, --stats-json.
void CaptureRun::status_tick(CaptureStats s) {
  AdvisorInput input;
  input.stats = s;
  input.config = o_.config;
  input.platform = host_capture_platform();
  std::string stream_note;
  std::optional<TrackerSnapshot> snap;
  if (tracker_ && o_.streams) {
    tracker_->set_outages(s);  // the interfaces' outages: their gaps are not the network's
    snap = tracker_->snapshot();
    if (levels_) levels_->add_levels(snap->streams);
    const std::uint64_t outage_loss = total_outage_loss(*snap);
    const std::uint64_t loss = total_sequence_loss(*snap) - outage_loss;
    input.streams = stream_interval_info(*snap, loss, previous_stream_loss_, previous_discarded_);
    previous_stream_loss_ = loss;
    previous_discarded_ = snap->totals.discarded;
    const LossAttribution a = attribute_loss(loss, s);
    stream_note = fmt::format(" | streams {} lost {} (capture <= {}, before capture >= {})",
                              snap->totals.streams_active, loss, a.dropped_by_capture_max,
                              a.lost_before_capture_min);
    if (outage_loss) stream_note += fmt::format(", in outages {}", outage_loss);
    stream_note += analysis::format_ptp_status(snap->ptp);  // the table's PTP figures, short
  }
  report_link_changes(s, previous_, o_.config.reopen, writing_ ? writer_.get() : nullptr);
  for (const Advice& a : advisor_->update(input)) {
    const std::string line =
        fmt::format("rtcap: advice [{}] {}: {}\n", a.id, a.trigger, cli_words(a.change));
    if (live_)
      live_->note(stderr, line);
    else if (!o_.quiet)
      fmt::print(stderr, "{}", line);
  }
  if (snap && svg_) svg_->sample(*snap, monotonic_ns());
  if (live_ && snap)
    live_->draw(stderr, fmt::format("rtcap: {}{}", status_line(s, previous_), stream_note), *snap,
                stderr_terminal_columns(), o_.wide);
  else if (!o_.quiet)
    fmt::print(stderr, "rtcap: {}{}\n", status_line(s, previous_), stream_note);
  if (metrics_) {
    const std::vector<Advice> active = advisor_->active();
    metrics_->publish(s, snap ? &*snap : nullptr, &active);
  }
  if (!write_report(stats_json_file_, stats_json(s, false))) exit_code_ = kExitRuntime;
  previous_ = std::move(s);
}

// The final word: output closed, tcpdump's summary and ours, streams, budget, advice, JSON.
int CaptureRun::report() {
  const CaptureStats final_stats = engine_->stats();
  if (writer_) {
    if (auto r = writer_->close(final_stats); !r && writing_) {
      fmt::print(stderr, "rtcap: {}\n", r.error().message);
      exit_code_ = kExitRuntime;
      writing_ = false;  // the last flush failed (or gave up on a stalled reader)
    }
  }
  if (auto failure = engine_->failure()) {
    fmt::print(stderr, "rtcap: {}\n", failure->message);
    exit_code_ = kExitRuntime;
  }
  fmt::print(stderr, "{}", summary(final_stats, o_.config.read_file.empty()));
  // The output stopped early (full disk, write error, closed or stalled pipe, a capture left
  // behind): say what reached it.
  if (writer_ && (!writing_ || abandoned_) &&
      final_stats.packets_captured > writer_->packets_written())
    fmt::print(
        stderr, "{} packets written before the output stopped; {} captured packets not written\n",
        writer_->packets_written(), final_stats.packets_captured - writer_->packets_written());
  if (text_out_ && (!text_out_->ok() || abandoned_) &&
      final_stats.packets_captured > text_out_->packets_written())
    fmt::print(
        stderr, "{} packets printed before the output stopped; {} captured packets not printed\n",
        text_out_->packets_written(), final_stats.packets_captured - text_out_->packets_written());
  if (tracker_ && o_.streams) report_streams(final_stats);
  if (extractor_) {
    const std::vector<io::ExtractedStream> audio = extractor_->finish();
    fmt::print(stderr, "{}",
               analysis::word_format_remedies(
                   io::format_extract_report(audio, "--extract-audio-max-bytes"), " (--sdp FILE)",
                   "--audio-format"));
    if (io::extract_failed(audio)) exit_code_ = kExitRuntime;
  }
  if (budget_ns_ > 0 && final_stats.latency_ns.count > 0) {
    const bool met = budget_met(final_stats.latency_ns, budget_ns_);
    fmt::print(stderr, "latency budget {}: {} (p99 {})\n", o_.latency_budget,
               met ? "met" : "NOT met",
               format_duration_ns(final_stats.latency_ns.percentile(0.99)));
  }
  // One more look with the final totals, then every rule that fired.
  AdvisorInput last;
  last.stats = final_stats;
  last.config = o_.config;
  last.platform = host_capture_platform();
  (void)advisor_->update(last);
  const std::vector<Advice> advice = cli_words(advisor_->summary());
  if (!advice.empty()) fmt::print(stderr, "{}", format_advice(advice));
  if (!write_report(advice_json_file_, to_json(advice))) exit_code_ = kExitRuntime;
  if (!write_report(stats_json_file_, stats_json(final_stats, true))) exit_code_ = kExitRuntime;
  for (ReportFile* f : {&stats_json_file_, &streams_json_file_, &advice_json_file_, &svg_file_})
    if (!close_report(*f)) exit_code_ = kExitRuntime;
  if (abandoned_) leave_abandoned_capture();
  return exit_code_;
}

// The stream table, where the loss happened, --streams-json, --streams-svg.
void CaptureRun::report_streams(const CaptureStats& final_stats) {
  tracker_->set_outages(final_stats);  // every outage, the last one's end included
  TrackerSnapshot snap = tracker_->snapshot();
  if (levels_) levels_->add_levels(snap.streams);
  // Standard output carries the capture with -w -: the table must not go after it.
  fmt::print(o_.write_path == "-" ? stderr : stdout, "{}", format_stream_table(snap));
  const auto assumed = std::count_if(snap.streams.begin(), snap.streams.end(),
                                     [](const StreamSummary& s) { return s.timing.clock_assumed; });
  if (assumed > 0)
    fmt::print(stderr,
               "rtcap: {} stream(s) with an assumed clock have no verdict: describe them with "
               "--sap, --sdp FILE, --audio-format SEL=ENC/RATE/CH or --clock-rate PT=HZ\n",
               assumed);
  std::uint64_t dropped = final_stats.kernel_dropped() + final_stats.interface_dropped() +
                          final_stats.app_dropped_packets;
  DropKnowledge knowledge = DropKnowledge::kLive;
  if (!o_.config.read_file.empty()) {  // what the capture that wrote the file said it dropped
    knowledge = DropKnowledge::kFileWithoutStatistics;
    if (o_.config.read_file != "-")
      if (auto f = read_file_drop_statistics(o_.config.read_file); f && f->has_statistics) {
        knowledge = DropKnowledge::kFileWithStatistics;
        dropped = f->dropped;
      }
  }
  const LossAttribution loss = attribute_loss(snap, dropped, knowledge);
  fmt::print(stderr, "{}\n", loss.text);
  if (!write_report(streams_json_file_, to_json(snap))) exit_code_ = kExitRuntime;
  if (svg_) {
    svg_->sample(snap, monotonic_ns());
    if (!write_report(svg_file_, svg_->render(snap))) exit_code_ = kExitRuntime;
  }
}

// The capture thread is still blocked in a read, holding its FILE's lock: destroying the engine
// would join it, and exit() would flush every FILE, that one too; both wait for ever. Close what
// is ours and end the process without either.
void CaptureRun::leave_abandoned_capture() {
  for (ReportFile* f : {&stats_json_file_, &streams_json_file_, &advice_json_file_, &svg_file_})
    if (*f) (void)(*f)->close();
  metrics_.reset();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(exit_code_);
}

}  // namespace

int run_capture(CaptureOptions& o) {
  int problem_exit = kExitUsage;
  if (std::string problem = finish_capture_options(o, &problem_exit); !problem.empty()) {
    fmt::print(stderr, "rtcap: {}\n", problem);
    return problem_exit;
  }
  if (!o.netns.empty()) {
    if (auto r = enter_netns(o.netns); !r) {
      fmt::print(stderr, "rtcap: {}\n", r.error());
      return kExitSetup;
    }
  }
  if (o.list_devices) return list_devices_cmd();
  if (o.list_tstamp_types) return list_tstamp_types_cmd(o.config, o.netns);
  CaptureRun run(o);
  if (int rc = run.open_capture(); rc != kExitOk) return rc;
  if (int rc = run.open_outputs(); rc != kExitOk) return rc;
  run.prepare_analysis();
  run.print_startup();
  if (int rc = run.loop(); rc != kExitOk) return rc;
  return run.report();
}

}  // namespace rtcap::tool
