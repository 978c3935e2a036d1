#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace rtcap::tool {


namespace {
double cpu_ns_per_packet(const CaptureStats& s) {
  return s.packets_captured ? double(s.capture_cpu_ns) / double(s.packets_captured) : 0.0;
}
}  // namespace

std::string status_line(const CaptureStats& now, const CaptureStats& prev) {
  const double secs = double(now.elapsed_ns - prev.elapsed_ns) / 1e9;
  const double rate = secs > 0 ? double(now.packets_captured - prev.packets_captured) / secs : 0;
  const auto& lat = now.latency_ns;
  return fmt::format(
      "{:7.1f}s {:>10} pkts {:>9.0f}/s | drops kernel {} if {} app {} | delay p50 {} p99 {} "
      "max {} | cpu {:.0f} ns/pkt",
      double(now.elapsed_ns) / 1e9, now.packets_captured, rate, now.kernel_dropped(),
      now.interface_dropped(), now.app_dropped_packets, format_duration_ns(lat.percentile(0.5)),
      format_duration_ns(lat.percentile(0.99)), format_duration_ns(lat.max),
      cpu_ns_per_packet(now));
}

std::string tcpdump_lines(const CaptureStats& s) {
  return fmt::format("{} packets captured\n{} packets received by filter\n{} packets dropped by "
                     "kernel\n",
                     s.packets_captured, s.received(), s.kernel_dropped());
}

std::string summary(const CaptureStats& s, bool live) {
  const auto& lat = s.latency_ns;
  if (!live) return fmt::format("{} packets read\n", s.packets_captured);
  std::string out = tcpdump_lines(s);
  out += fmt::format("{} packets dropped by interface\n", s.interface_dropped());
  out += fmt::format("{} packets dropped by rtcap (consumer behind, no free batch)\n",
                     s.app_dropped_packets);
  if (s.packets_truncated)
    out += fmt::format("{} packets cut by the snaplen\n", s.packets_truncated);
  out += fmt::format("{} packets delivered in {} batches over {:.2f} s\n", s.packets_delivered,
                     s.batches_delivered, double(s.elapsed_ns) / 1e9);
  if (lat.count)
    out += fmt::format("delivery delay: p50 {}  p99 {}  p99.9 {}  max {}\n",
                       format_duration_ns(lat.percentile(0.5)),
                       format_duration_ns(lat.percentile(0.99)),
                       format_duration_ns(lat.percentile(0.999)), format_duration_ns(lat.max));
  out += fmt::format(
      "capture thread: {} CPU ({:.0f} ns/packet), {} wake-ups, {} dispatch calls ({} empty), "
      "{:.1f} packets/call, largest call {} bytes ({:.1f}% of the buffer)\n",
      format_duration_ns(s.capture_cpu_ns), cpu_ns_per_packet(s), s.wakeups,
      s.dispatch_calls, s.empty_dispatch_calls, s.dispatch_packets.mean(), s.max_dispatch_bytes,
      s.max_dispatch_buffer_share * 100.0);
  return out;
}

std::string stats_json(const CaptureStats& s, bool final) {
  auto hist = [](const HistogramData& h) {
    return nlohmann::json{{"count", h.count},          {"mean", h.mean()},
                          {"min", h.min},              {"p50", h.percentile(0.5)},
                          {"p99", h.percentile(0.99)}, {"p999", h.percentile(0.999)},
                          {"max", h.max}};
  };
  nlohmann::json interfaces = nlohmann::json::array();
  for (const auto& i : s.interfaces)
    interfaces.push_back({{"name", i.name},
                          {"received", i.received},
                          {"kernel_dropped", i.kernel_dropped},
                          {"interface_dropped", i.interface_dropped},
                          {"buffer_bytes", i.buffer_bytes}});
  nlohmann::json j{{"final", final},
                   {"elapsed_ns", s.elapsed_ns},
                   {"packets_captured", s.packets_captured},
                   {"bytes_captured", s.bytes_captured},
                   {"packets_truncated", s.packets_truncated},
                   {"received", s.received()},
                   {"kernel_dropped", s.kernel_dropped()},
                   {"interface_dropped", s.interface_dropped()},
                   {"app_dropped_packets", s.app_dropped_packets},
                   {"packets_delivered", s.packets_delivered},
                   {"batches_delivered", s.batches_delivered},
                   {"thread_handoffs", s.thread_handoffs},
                   {"wakeups", s.wakeups},
                   {"dispatch_calls", s.dispatch_calls},
                   {"empty_dispatch_calls", s.empty_dispatch_calls},
                   {"max_dispatch_bytes", s.max_dispatch_bytes},
                   {"max_dispatch_buffer_share", s.max_dispatch_buffer_share},
                   {"capture_cpu_ns", s.capture_cpu_ns},
                   {"cpu_ns_per_packet", cpu_ns_per_packet(s)},
                   {"interfaces", interfaces},
                   {"dispatch_packets", hist(s.dispatch_packets)},
                   {"dispatch_bytes", hist(s.dispatch_bytes)},
                   {"latency_ns", hist(s.latency_ns)}};
  return j.dump();
}

StreamIntervalInfo stream_interval_info(const TrackerSnapshot& snap, std::uint64_t loss_now,
                                        std::uint64_t loss_before, std::uint64_t discarded_before) {
  StreamIntervalInfo info;
  info.sequence_lost = loss_now - std::min(loss_now, loss_before);
  const std::uint64_t discarded = snap.totals.discarded;
  info.consumer_discarded = discarded - std::min(discarded, discarded_before);
  // "Every packet seen": the tracker knows the destinations of UDP only, so anything else (ARP,
  // TCP, PTP over Ethernet) makes the answer "no" rather than a guess.
  if (snap.totals.udp > 0)
    info.all_unicast_to_one_destination = snap.totals.distinct_destinations == 1 &&
                                          !snap.totals.any_multicast && snap.totals.other == 0;
  return info;
}

}  // namespace rtcap::tool
