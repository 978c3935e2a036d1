#include "capture/capture_cmd.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "analysis/packet_parser.hpp"
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
#include "rtcap/metrics.hpp"
#include "rtcap/writer.hpp"
#include "capture/signals.hpp"
#include "capture/streams_view.hpp"

namespace rtcap::tool {
namespace {

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

int list_tstamp_types_cmd(const CaptureConfig& c) {
  if (c.interfaces.size() != 1) {
    fmt::print(stderr, "rtcap: -J needs exactly one -i interface\n");
    return kExitUsage;
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
  if (n == 0) fmt::print("Time stamp type cannot be set for {}\n", c.interfaces[0]);
  else fmt::print("Time stamp types for {} (use option -j to set):\n", c.interfaces[0]);
  for (int i = 0; i < n; ++i)
    fmt::print("  {} ({})\n", pcap_tstamp_type_val_to_name(types[i]),
               pcap_tstamp_type_val_to_description(types[i]));
  pcap_free_tstamp_types(types);
  pcap_close(p);
  return kExitOk;
}

// Without -w: one line per packet on stdout, as tcpdump -n prints UDP ("IP a.p > b.q: UDP,
// length n"); other packets get their length only.
void print_packets(const Batch& batch, const std::vector<InterfaceInfo>& infos) {
  std::string out;
  for (PacketView p : batch) {
    const std::time_t secs = std::time_t(p.ts_ns / 1000000000);
    const struct tm tm = *std::localtime(&secs);  // the consumer thread only
    char clock[16];
    std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    out += fmt::format("{}.{:09} ", clock, p.ts_ns % 1000000000);
    if (infos.size() > 1) out += infos[p.interface_index].name + " ";
    const analysis::ParsedPacket pp = analysis::parse_packet(
        p.bytes.data(), p.bytes.size(), p.wire_len, infos[p.interface_index].linktype);
    if (pp.cls == analysis::ParseClass::kUdp) {
      IpAddress src, dst;
      src.family = dst.family = pp.family;
      const std::size_t n = pp.family == 4 ? 4 : 16;
      std::copy_n(pp.src, n, src.bytes.begin());
      std::copy_n(pp.dst, n, dst.bytes.begin());
      out += fmt::format("{} {}.{} > {}.{}: UDP, length {}\n", pp.family == 4 ? "IP" : "IP6",
                         src.to_string(), pp.src_port, dst.to_string(), pp.dst_port,
                         pp.payload_len);
    } else {
      out += fmt::format("length {} (captured {})\n", p.wire_len, p.bytes.size());
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);  // one write per batch
  std::fflush(stdout);
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
    for (std::string_view rest = plan.explanation; !rest.empty();) {
      const auto nl = rest.find('\n');
      fmt::print(stderr, "rtcap:   {}\n", rest.substr(0, nl));
      rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    }
  }
  return true;
}

// Every output is opened (created) before capture starts, so that a bad path fails now and not
// after weeks of capture; the reports are written into the open files at the end.
bool open_output_file(std::ofstream& f, const std::string& path, const char* what) {
  if (path.empty()) return true;
  f.open(path, std::ios::out | std::ios::trunc);
  if (!f) {
    fmt::print(stderr, "rtcap: cannot write {} file '{}': check the directory and permissions\n",
               what, path);
    return false;
  }
  return true;
}

bool write_text_file(std::ofstream& f, const std::string& path, const std::string& text,
                     const char* what) {
  f << text << '\n' << std::flush;
  if (!f) {
    fmt::print(stderr, "rtcap: cannot write {} file '{}': check the free space\n", what, path);
    return false;
  }
  return true;
}

// The interface outages explain stream gaps the capture drops do not: the packets the streams
// carried while an interface was down never reached the capture. Estimated from the streams'
// average rate over the capture and the outages' length (their gaps are not timed one by one).
std::string outage_loss_note(const LossAttribution& loss, const TrackerSnapshot& snap,
                             const CaptureStats& s) {
  std::int64_t down_ns = 0;
  std::uint64_t outages = 0;
  for (const auto& i : s.interfaces) {
    down_ns += i.down_ns;
    outages += i.down_events;
  }
  if (outages == 0 || loss.lost_before_capture_min == 0 || s.elapsed_ns <= down_ns) return {};
  const double up_s = double(s.elapsed_ns - down_ns) / 1e9;
  const double rate = double(snap.totals.rtp) / up_s;  // RTP packets/s while capturing
  const auto during = std::min<std::uint64_t>(loss.lost_before_capture_min,
                                              std::uint64_t(rate * double(down_ns) / 1e9 + 0.5));
  return fmt::format(
      "Of the {} not explained by capture drops, about {} fall in the {} interface outage(s) "
      "({:.1f} s in all, at the streams' {:.0f} packets/s): missed by the capture while the "
      "interface was down, not lost by the network; the other {} were lost before the capture "
      "point.",
      loss.lost_before_capture_min, during, outages, double(down_ns) / 1e9, rate,
      loss.lost_before_capture_min - during);
}

std::int64_t wall_ns() {  // CLOCK_REALTIME: an ISB time stamp, the clock of packet stamps
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
      if (writer) (void)writer->current().write_interface_stats(now, wall_ns());
    }
  }
}

}  // namespace

int run_capture(CaptureOptions& o) {
  if (std::string problem = finish_capture_options(o); !problem.empty()) {
    fmt::print(stderr, "rtcap: {}\n", problem);
    return kExitUsage;
  }
  if (!o.netns.empty()) {
    if (auto r = enter_netns(o.netns); !r) {
      fmt::print(stderr, "rtcap: {}\n", r.error());
      return kExitSetup;
    }
  }
  if (o.list_devices) return list_devices_cmd();
  if (o.list_tstamp_types) return list_tstamp_types_cmd(o.config);
  std::int64_t budget_ns = 0;
  if (!apply_latency_budget(o, budget_ns)) return kExitUsage;

  auto opened = Engine::open(o.config);
  if (!opened) {
    std::string message = cli_wording(opened.error().message);
    // Inside a namespace, the interfaces to list are the namespace's.
    if (const auto at = message.find("'rtcap -D'"); at != std::string::npos && !o.netns.empty())
      message.replace(at, 10, fmt::format("'rtcap --netns {} -D'", o.netns));
    fmt::print(stderr, "rtcap: {}\n", message);
    return exit_code_for(opened.error().code);
  }
  std::unique_ptr<Engine> engine = std::move(*opened);
  for (const auto& w : engine->warnings()) fmt::print(stderr, "rtcap: warning: {}\n", w);
  // --sap: join the SAP groups in the capture's namespace, before privileges go.
  SapMembership sap_membership;
  if (o.sap) {
    if (auto r = sap_membership.join(o.config.interfaces); !r) {
      fmt::print(stderr, "rtcap: {}\n", r.error());
      return kExitSetup;
    }
    fmt::print(stderr, "rtcap: joined {} SAP group(s) ({}, {})\n", sap_membership.groups_joined(),
               kSapGroupAdminScoped, kSapGroupGlobal);
  }

  std::unique_ptr<MetricsServer> metrics;
  if (!o.metrics_listen.empty()) {
    MetricsOptions mo;
    mo.allow_any_address = o.metrics_any_address;
    auto m = MetricsServer::open(o.metrics_listen, mo);  // bound now; serve() after -Z
    if (!m) {
      fmt::print(stderr, "rtcap: {}\n", m.error().message);
      return exit_code_for(m.error().code);
    }
    metrics = std::move(*m);
    fmt::print(stderr, "rtcap: metrics at http://{}/metrics\n", metrics->address());
  }
  // Everything privileged is open: from here on, the files are written as the -Z user.
  if (!o.drop_to_user.empty()) {
    if (auto r = drop_privileges(o.drop_to_user); !r) {
      fmt::print(stderr, "rtcap: {}\n", r.error().message);
      return kExitSetup;
    }
  }
  // Its threads start now, so that they run with what every other thread runs with.
  if (metrics) metrics->serve();

  std::unique_ptr<RotatingWriter> writer;
  if (!o.write_path.empty()) {
    WriterOptions wo;
    wo.path = o.write_path;
    wo.packet_buffered = o.packet_buffered;
    wo.pcapng = o.pcapng;
    wo.precision = engine->interfaces().front().precision;
    wo.snaplen = o.config.snaplen;
    wo.interfaces = engine->interfaces();
    wo.filter = o.config.filter;
    wo.give_up_at_ns = output_give_up_at_ns();  // a stalled reader cannot hold up a stop
    // One serialised batch must fit the buffer for -U to stay one write() per batch.
    wo.buffer_bytes = std::max<std::size_t>(wo.buffer_bytes, o.config.batch_bytes +
                                                                 32 * o.config.batch_packets);
    auto w = RotatingWriter::open(wo, o.rotation);
    if (!w) {
      fmt::print(stderr, "rtcap: {}\n", w.error().message);
      return w.error().code == ErrorCode::kBadConfig ? kExitUsage : kExitSetup;
    }
    writer = std::move(*w);
  }
  std::ofstream stats_json_file, streams_json_file, advice_json_file;
  if (!open_output_file(stats_json_file, o.stats_json_path, "--stats-json") ||
      !open_output_file(streams_json_file, o.streams_json_path, "--streams-json") ||
      !open_output_file(advice_json_file, o.advice_json_path, "--advice-json"))
    return kExitSetup;

  // --streams-svg: the file is made now, so a bad path fails before the capture, not after it.
  std::optional<StreamsSvg> svg;
  std::ofstream svg_file;
  if (!o.streams_svg_path.empty()) {
    svg_file.open(o.streams_svg_path, std::ios::out | std::ios::trunc);
    if (!svg_file) {
      fmt::print(stderr, "rtcap: cannot write --streams-svg file '{}': check the directory\n", o.streams_svg_path);
      return kExitSetup;
    }
    svg.emplace();
  }
  // The per-stream table redraws in place once a second on a terminal; piped or -q, it is
  // printed once at the end only.
  std::optional<LiveStreamView> live;
  if (o.streams && !o.quiet && stderr_is_terminal()) live.emplace();
  std::optional<io::AudioExtractor> extractor;
  if (!o.extract_audio_dir.empty()) {
    io::AudioExtractConfig ec;
    ec.dir = o.extract_audio_dir;
    ec.format_by_pt = o.audio_format_by_pt;
    ec.sdp = o.sdp_formats;
    extractor.emplace(std::move(ec));
    if (std::string e = extractor->check_output(); !e.empty()) {
      fmt::print(stderr, "rtcap: {}\n", e);
      return kExitSetup;
    }
  }

  // The consumer thread (this one) owns the stream tracker and the advisor.
  std::optional<StreamTracker> tracker;
  std::vector<int> linktypes;
  for (const auto& info : engine->interfaces()) linktypes.push_back(info.linktype);
  if (o.streams) {
    StreamTrackerConfig tc;
    tc.default_clock_rate = o.default_clock_rate_hz;
    tc.clock_rate_by_pt = o.clock_rate_by_pt;
    tc.sdp = o.sdp_formats;
    tracker.emplace(tc);
  }
  AdvisorConfig advisor_config;
  advisor_config.latency_budget_ns = budget_ns;
  advisor_config.hz = host_v3_retire_hz();
  Advisor advisor(advisor_config);
  std::uint64_t previous_stream_loss = 0;
  std::uint64_t previous_discarded = 0;

  for (const auto& info : engine->interfaces()) {
    const char* name = pcap_datalink_val_to_name(info.linktype);
    const char* description = pcap_datalink_val_to_description(info.linktype);
    fmt::print(stderr, "rtcap: {} {}, link-type {} ({}), snapshot length {} bytes\n",
               o.config.read_file.empty() ? "listening on" : "reading from", info.name,
               name ? name : "?", description ? description : "?", info.snaplen);
  }
  const CaptureStats initial = engine->stats();
  if (o.config.read_file.empty())
    fmt::print(stderr,
               "rtcap: mode {}{}, kernel buffer {} KiB, timeout {} ms{}, {} = {:.1f} MiB\n",
               o.mode_name, o.config.immediate_mode ? " (immediate)" : "",
               initial.interfaces.empty() ? 0 : initial.interfaces.front().buffer_bytes / 1024,
               o.config.timeout_ms,
               !o.config.immediate_mode ? ""
               : effective_coalesce_us(o.config)
                   ? fmt::format(", coalesce {} us", effective_coalesce_us(o.config))
                   : ", no coalescing (a wake-up per packet)",
               o.config.delivery == Delivery::kInline
                   ? fmt::format("inline, one batch of {} packets", o.config.batch_packets)
                   : fmt::format("consumer thread, pool {} batches x {} packets",
                                 o.config.pool_batches, o.config.batch_packets),
               double(engine->pool_memory_bytes()) / double(1 << 20));

  install_capture_signals();
  set_signal_target(engine.get());
  const bool inline_delivery = o.config.delivery == Delivery::kInline;
  if (!inline_delivery) {
    if (auto started = engine->start(); !started) {
      fmt::print(stderr, "rtcap: {}\n", started.error().message);
      return kExitSetup;
    }
  }

  int exit_code = kExitOk;
  bool writing = writer != nullptr;
  CaptureStats previous = engine->stats();
  // Everything done with a batch, on the thread that has it: inline, the capture thread itself
  // (a write that blocks delays capture; the kernel ring absorbs it and counts what overflows);
  // with --consumer-thread, the consumer thread behind the hand-off.
  auto consume = [&](const Batch& batch) {
    if (writing) {
      // `previous` (the last status snapshot) goes into a rotated file's statistics block.
      if (auto r = writer->write(batch, previous); !r) {
        writing = false;
        if (writer->current().failure() == WriteFailure::kPipeClosed) {
          fmt::print(stderr, "rtcap: {}; stopping\n", r.error().message);
        } else {
          fmt::print(stderr, "rtcap: {}\n", r.error().message);
          exit_code = kExitRuntime;
        }
        engine->request_stop();
      } else if (writer->finished()) {
        engine->request_stop();  // -G with -W: the last file is complete
      }
    } else if (!writer && !o.streams && !extractor) {
      print_packets(batch, engine->interfaces());
    }
    if (tracker) tracker->add(batch, linktypes);
    if (extractor) extractor->add(batch, linktypes);
  };
  auto next_status = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  bool abandoned = false;  // the capture did not end within kAbandonAfterStop of a stop
  while (!engine->done()) {
    if (stop_requested()) {
      engine->request_stop();
      if (stop_overdue()) {
        fmt::print(stderr,
                   "rtcap: the capture did not end within {} ms of the stop (a read that cannot "
                   "be interrupted, such as a -r pipe whose writer stalls): leaving it\n",
                   kAbandonAfterStop.count());
        abandoned = true;
        break;
      }
    }
    // 100 ms: how late a signal's flag is seen at the latest (a signal also ends the wait).
    if (inline_delivery) {
      (void)engine->poll(std::chrono::milliseconds(100), consume);
    } else if (BatchRef batch = engine->next_batch(std::chrono::milliseconds(100))) {
      consume(*batch);
    }
    if (take_flush_request() && writing) (void)writer->flush();
    const auto now = std::chrono::steady_clock::now();
    const bool print_stats = take_print_stats_request();
    if (print_stats || now >= next_status) {
      // pcap_stats read now, so that "received by filter" and the CPU time agree with
      // "captured" (the periodic copy is up to stats_interval_ms old). 50 ms: far above the
      // tens of microseconds the capture thread takes to answer, short enough for SIGUSR1.
      CaptureStats s = engine->stats_now(std::chrono::milliseconds(50));
      if (print_stats) fmt::print(stderr, "{}", tcpdump_lines(s));
      if (now >= next_status) {
        AdvisorInput input;
        input.stats = s;
        input.config = o.config;
        input.platform = host_capture_platform();
        std::string stream_note;
        std::optional<TrackerSnapshot> snap;
        if (tracker) {
          snap = tracker->snapshot();
          const std::uint64_t loss = total_sequence_loss(*snap);
          input.streams = stream_interval_info(*snap, loss, previous_stream_loss,
                                               previous_discarded);
          previous_stream_loss = loss;
          previous_discarded = snap->totals.discarded;
          const LossAttribution a = attribute_loss(loss, s);
          stream_note = fmt::format(" | streams {} lost {} (capture <= {}, before capture >= {})",
                                    snap->totals.streams_active, loss, a.dropped_by_capture_max,
                                    a.lost_before_capture_min);
        }
        report_link_changes(s, previous, o.config.reopen, writing ? writer.get() : nullptr);
        for (const Advice& a : advisor.update(input)) {
          const std::string line = fmt::format("rtcap: advice [{}] {}: {}\n", a.id, a.trigger, a.change);
          if (live) live->note(stderr, line);
          else if (!o.quiet) fmt::print(stderr, "{}", line);
        }
        if (snap && svg) svg->sample(*snap, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 std::chrono::steady_clock::now().time_since_epoch())
                                                 .count());
        if (live && snap)
          live->draw(stderr, fmt::format("rtcap: {}{}", status_line(s, previous), stream_note), *snap,
                     stderr_terminal_columns());
        else if (!o.quiet)
          fmt::print(stderr, "rtcap: {}{}\n", status_line(s, previous), stream_note);
        if (metrics) {
          const std::vector<Advice> active = advisor.active();
          metrics->publish(s, snap ? &*snap : nullptr, &active);
        }
        if (stats_json_file) stats_json_file << stats_json(s, false) << '\n' << std::flush;
        previous = std::move(s);
        next_status += std::chrono::seconds(1);
        if (next_status <= now) next_status = now + std::chrono::seconds(1);  // after a stall
      }
    }
  }
  set_signal_target(nullptr);

  const CaptureStats final_stats = engine->stats();
  if (writer) {
    if (auto r = writer->close(final_stats); !r && writing) {
      fmt::print(stderr, "rtcap: {}\n", r.error().message);
      exit_code = kExitRuntime;
      writing = false;  // the last flush failed (or gave up on a stalled reader)
    }
  }
  if (auto failure = engine->failure()) {
    fmt::print(stderr, "rtcap: {}\n", failure->message);
    exit_code = kExitRuntime;
  }
  fmt::print(stderr, "{}", summary(final_stats, o.config.read_file.empty()));
  // The output stopped early (full disk, write error, closed or stalled pipe, a capture left
  // behind): say what reached it.
  if (writer && (!writing || abandoned) && final_stats.packets_captured > writer->packets_written())
    fmt::print(stderr, "{} packets written before the output stopped; {} captured packets not written\n",
               writer->packets_written(), final_stats.packets_captured - writer->packets_written());
  if (tracker) {
    const TrackerSnapshot snap = tracker->snapshot();
    // Standard output carries the capture with -w -: the table must not go after it.
    fmt::print(o.write_path == "-" ? stderr : stdout, "{}", format_stream_table(snap));
    const LossAttribution loss =
        attribute_loss(snap,
                       final_stats.kernel_dropped() + final_stats.interface_dropped() +
                           final_stats.app_dropped_packets,
                       o.config.read_file.empty() ? DropKnowledge::kLive
                                                  : DropKnowledge::kFileWithoutStatistics);
    fmt::print(stderr, "{}\n", loss.text);
    if (const std::string note = outage_loss_note(loss, snap, final_stats); !note.empty())
      fmt::print(stderr, "{}\n", note);
    if (!o.streams_json_path.empty() &&
        !write_text_file(streams_json_file, o.streams_json_path, to_json(snap), "--streams-json"))
      exit_code = kExitRuntime;
    if (svg) {
      svg->sample(snap, std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count());
      svg_file << svg->render(snap);
      svg_file.close();
      if (!svg_file) {
        fmt::print(stderr, "rtcap: cannot write --streams-svg file '{}': check free space\n", o.streams_svg_path);
        exit_code = kExitRuntime;
      }
    }
  }
  if (extractor) fmt::print(stderr, "{}", io::format_extract_report(extractor->finish()));
  if (budget_ns > 0 && final_stats.latency_ns.count > 0) {
    const bool met = budget_met(final_stats.latency_ns, budget_ns);
    fmt::print(stderr, "latency budget {}: {} (p99 {})\n", o.latency_budget,
               met ? "met" : "NOT met", format_duration_ns(final_stats.latency_ns.percentile(0.99)));
  }
  // One more look with the final totals, then every rule that fired.
  AdvisorInput last;
  last.stats = final_stats;
  last.config = o.config;
  last.platform = host_capture_platform();
  (void)advisor.update(last);
  const std::vector<Advice> advice = advisor.summary();
  if (!advice.empty()) fmt::print(stderr, "{}", format_advice(advice));
  if (!o.advice_json_path.empty() &&
      !write_text_file(advice_json_file, o.advice_json_path, to_json(advice), "--advice-json"))
    exit_code = kExitRuntime;
  if (stats_json_file) stats_json_file << stats_json(final_stats, true) << '\n' << std::flush;
  if (abandoned) {
    // The capture thread is still blocked in a read, holding its FILE's lock: destroying the
    // engine would join it, and exit() would flush every FILE, that one too; both wait for ever.
    // Close what is ours and end the process without either.
    stats_json_file.close();
    streams_json_file.close();
    advice_json_file.close();
    metrics.reset();
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(exit_code);
  }
  return exit_code;
}

}  // namespace rtcap::tool
