#include "capture_cmd.hpp"

#include <pcap/pcap.h>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <fmt/format.h>

#include "exit_codes.hpp"
#include "lab.hpp"
#include "report.hpp"
#include "signals.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/writer.hpp"

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

// Without -w: one line per packet on stdout, time and length (as tcpdump -q -tttt would, less
// the decoding).
void print_packets(const Batch& batch, const std::vector<InterfaceInfo>& infos) {
  for (PacketView p : batch) {
    const std::time_t secs = std::time_t(p.ts_ns / 1000000000);
    struct tm tm {};
    tm = *std::localtime(&secs);  // main thread only
    char clock[16];
    std::strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    fmt::print("{}.{:09} {} length {} (captured {})\n", clock, p.ts_ns % 1000000000,
               infos.size() > 1 ? infos[p.interface].name : "", p.wire_len, p.bytes.size());
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

  auto opened = Engine::open(o.config);
  if (!opened) {
    fmt::print(stderr, "rtcap: {}\n", opened.error().message);
    return exit_code_for(opened.error().code);
  }
  std::unique_ptr<Engine> engine = std::move(*opened);
  for (const auto& w : engine->warnings()) fmt::print(stderr, "rtcap: warning: {}\n", w);

  std::unique_ptr<CaptureWriter> writer;
  if (!o.write_path.empty()) {
    WriterOptions wo;
    wo.path = o.write_path;
    wo.packet_buffered = o.packet_buffered;
    wo.pcapng = o.pcapng;
    wo.precision = engine->interfaces().front().precision;
    wo.snaplen = o.config.snaplen;
    wo.interfaces = engine->interfaces();
    wo.filter = o.config.filter;
    // One serialised batch must fit the buffer for -U to stay one write() per batch.
    wo.buffer_bytes = std::max<std::size_t>(wo.buffer_bytes, o.config.batch_bytes +
                                                                 32 * o.config.batch_packets);
    auto w = CaptureWriter::open(wo);
    if (!w) {
      fmt::print(stderr, "rtcap: {}\n", w.error().message);
      return kExitSetup;
    }
    writer = std::move(*w);
  }
  std::ofstream stats_json_file;
  if (!o.stats_json_path.empty()) {
    stats_json_file.open(o.stats_json_path, std::ios::out | std::ios::trunc);
    if (!stats_json_file) {
      fmt::print(stderr, "rtcap: cannot write --stats-json file '{}': check the directory\n",
                 o.stats_json_path);
      return kExitSetup;
    }
  }

  for (const auto& info : engine->interfaces()) {
    fmt::print(stderr, "rtcap: {} {}, link-type {} ({}), snapshot length {} bytes\n",
               o.config.read_file.empty() ? "listening on" : "reading from", info.name,
               pcap_datalink_val_to_name(info.linktype) ? pcap_datalink_val_to_name(info.linktype)
                                                        : "?",
               pcap_datalink_val_to_description(info.linktype)
                   ? pcap_datalink_val_to_description(info.linktype)
                   : "?",
               info.snaplen);
  }
  const CaptureStats initial = engine->stats();
  if (o.config.read_file.empty())
    fmt::print(stderr,
               "rtcap: mode {}{}, kernel buffer {} KiB, timeout {} ms, pool {} batches x {} "
               "packets = {:.1f} MiB\n",
               o.mode_name, o.config.immediate_mode ? " (immediate)" : "",
               initial.interfaces.empty() ? 0 : initial.interfaces.front().buffer_bytes / 1024,
               o.config.timeout_ms, o.config.pool_batches, o.config.batch_packets,
               double(engine->pool_memory_bytes()) / double(1 << 20));

  install_capture_signals();
  set_signal_target(engine.get());
  engine->start();

  int exit_code = kExitOk;
  bool writing = writer != nullptr;
  CaptureStats previous = engine->stats();
  auto next_status = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!engine->done()) {
    if (stop_requested()) engine->request_stop();
    if (const Batch* batch = engine->next_batch(std::chrono::milliseconds(100))) {
      if (writing) {
        if (auto r = writer->write(*batch); !r) {
          writing = false;
          if (writer->failure() == WriteFailure::kPipeClosed) {
            fmt::print(stderr, "rtcap: {}; stopping\n", r.error().message);
          } else {
            fmt::print(stderr, "rtcap: {}\n", r.error().message);
            exit_code = kExitRuntime;
          }
          engine->request_stop();
        }
      } else if (!writer) {
        print_packets(*batch, engine->interfaces());
      }
      engine->release(batch);
    }
    if (take_flush_request() && writing) (void)writer->flush();
    const auto now = std::chrono::steady_clock::now();
    const bool print_stats = take_print_stats_request();
    if (print_stats || now >= next_status) {
      CaptureStats s = engine->stats();
      if (print_stats) fmt::print(stderr, "{}", tcpdump_lines(s));
      if (now >= next_status) {
        if (!o.quiet) fmt::print(stderr, "rtcap: {}\n", status_line(s, previous));
        if (stats_json_file) stats_json_file << stats_json(s, false) << '\n' << std::flush;
        previous = std::move(s);
        next_status += std::chrono::seconds(1);
      }
    }
  }
  set_signal_target(nullptr);

  const CaptureStats final_stats = engine->stats();
  if (writer) {
    if (writing) (void)writer->write_interface_stats(
          final_stats, std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    if (auto r = writer->close(); !r && writing) {
      fmt::print(stderr, "rtcap: {}\n", r.error().message);
      exit_code = kExitRuntime;
    }
  }
  if (auto failure = engine->failure()) {
    fmt::print(stderr, "rtcap: {}\n", failure->message);
    exit_code = kExitRuntime;
  }
  fmt::print(stderr, "{}", summary(final_stats));
  if (stats_json_file) stats_json_file << stats_json(final_stats, true) << '\n' << std::flush;
  return exit_code;
}

}  // namespace rtcap::tool
