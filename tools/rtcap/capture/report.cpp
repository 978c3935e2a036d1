#include "capture/report.hpp"
#include "engine/config_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace rtcap::tool {

namespace {
double cpu_ns_per_packet(const CaptureStats& s) {
  return s.packets_captured ? double(s.capture_cpu_ns) / double(s.packets_captured) : 0.0;
}
}  // namespace

HistogramData interval_histogram(const HistogramData& now, const HistogramData& prev) {
  HistogramData d;
  if (prev.buckets.size() != now.buckets.size()) return now;
  std::size_t lowest = now.buckets.size(), highest = 0;
  for (std::size_t i = 0; i < now.buckets.size(); ++i) {
    // A snapshot's buckets are never behind its count; a bucket cannot shrink between two.
    d.buckets[i] = now.buckets[i] - std::min(now.buckets[i], prev.buckets[i]);
    if (d.buckets[i] == 0) continue;
    d.count += d.buckets[i];
    lowest = std::min(lowest, i);
    highest = i;
  }
  if (d.count == 0) return d;
  d.sum = now.sum - std::min(now.sum, prev.sum);
  // Within the buckets' 3.1%: the interval's own extremes are not kept, its buckets' edges are.
  d.min = std::max(histogram_bucket_lower(lowest), now.min);
  d.max = std::min(histogram_bucket_upper(highest), now.max);
  return d;
}

std::string outage_note(const CaptureStats& s) {
  std::string note;
  for (const auto& i : s.interfaces)
    if (!i.up) note += fmt::format(" | {} DOWN {:.0f} s", i.name, double(i.down_ns) / 1e9);
  if (const std::uint64_t n = s.interface_reopens()) note += fmt::format(" | reopens {}", n);
  return note;
}

std::string status_line(const CaptureStats& now, const CaptureStats& prev) {
  const double secs = double(now.elapsed_ns - prev.elapsed_ns) / 1e9;
  const double rate = secs > 0 ? double(now.packets_captured - prev.packets_captured) / secs : 0;
  // The delay of the packets delivered since the previous line, not since the start: a monitor
  // watching the line must see a bad second as it happens (issue 13, item 5).
  const HistogramData lat = interval_histogram(now.latency_ns, prev.latency_ns);
  const std::uint64_t packets =
      now.packets_captured - std::min(now.packets_captured, prev.packets_captured);
  const std::int64_t cpu_ns =
      now.capture_cpu_ns - std::min(now.capture_cpu_ns, prev.capture_cpu_ns);
  const double interval_cpu_ns_per_packet = packets ? double(cpu_ns) / double(packets) : 0.0;
  return fmt::format(
             "{:7.1f}s {:>10} pkts {:>9.0f}/s | drops kernel {} if {} app {} | delay this interval "
             "p50 {} p99 {} max {} | cpu {:.0f} ns/pkt",
             double(now.elapsed_ns) / 1e9, now.packets_captured, rate, now.kernel_dropped(),
             now.interface_dropped(), now.app_dropped_packets,
             format_duration_ns(lat.percentile(0.5)), format_duration_ns(lat.percentile(0.99)),
             format_duration_ns(lat.max), interval_cpu_ns_per_packet) +
         outage_note(now);
}

std::string tcpdump_lines(const CaptureStats& s) {
  return fmt::format(
      "{} packets captured\n{} packets received by filter\n{} packets dropped by "
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
  // received = captured + kernel + rtcap drops + this, exactly (CaptureStats::unread_packets).
  if (const std::int64_t unread = s.unread_packets(); unread != 0)
    out += fmt::format("{} packets counted by the kernel but not read (after the last drain)\n",
                       unread);
  if (s.packets_truncated)
    out += fmt::format("{} packets cut by the snaplen\n", s.packets_truncated);
  out += fmt::format("{} packets delivered in {} batches over {:.2f} s\n", s.packets_delivered,
                     s.batches_delivered, double(s.elapsed_ns) / 1e9);
  if (lat.count)
    out += fmt::format("delivery delay: p50 {}  p99 {}  p99.9 {}  max {}\n",
                       format_duration_ns(lat.percentile(0.5)),
                       format_duration_ns(lat.percentile(0.99)),
                       format_duration_ns(lat.percentile(0.999)), format_duration_ns(lat.max));
  for (const auto& i : s.interfaces)
    if (i.down_events)
      out += fmt::format("interface {}: down {} time(s), {:.1f} s in all{}, reopened {} time(s)\n",
                         i.name, i.down_events, double(i.down_ns) / 1e9,
                         i.up ? "" : ", down at the end", i.reopens);
  out += fmt::format(
      "capture thread: {} CPU ({:.0f} ns/packet), {} wake-ups, {} dispatch calls ({} empty), "
      "{:.1f} packets/call, largest call {} bytes ({:.1f}% of the buffer)\n",
      format_duration_ns(s.capture_cpu_ns), cpu_ns_per_packet(s), s.wakeups, s.dispatch_calls,
      s.empty_dispatch_calls, s.dispatch_packets.mean(), s.max_dispatch_bytes,
      s.max_dispatch_buffer_share * 100.0);
  return out;
}

std::string stats_json(const CaptureStats& s, bool final) {
  auto hist = [](const HistogramData& h) {
    return nlohmann::json{{"count", h.count},
                          {"mean", h.mean()},
                          {"min", h.min},
                          {"p50", h.percentile(0.5)},
                          {"p99", h.percentile(0.99)},
                          {"p999", h.percentile(0.999)},
                          {"max", h.max}};
  };
  // Every figure of the registry (rtcap/stats.hpp) under its name.
  nlohmann::json interfaces = nlohmann::json::array();
  for (const auto& i : s.interfaces) {
    nlohmann::json one{{"name", i.name}};
    for (const InterfaceCounterInfo& c : interface_counters()) one[c.name] = c.value(i);
    interfaces.push_back(std::move(one));
  }
  nlohmann::json j{{"final", final}};
  for (const CounterInfo& c : capture_counters()) {
    if (c.fraction)
      j[c.name] = c.fraction(s);
    else
      j[c.name] = c.integer(s);
  }
  j["cpu_ns_per_packet"] = cpu_ns_per_packet(s);
  j["interfaces"] = std::move(interfaces);
  j["dispatch_packets"] = hist(s.dispatch_packets);
  j["dispatch_bytes"] = hist(s.dispatch_bytes);
  j["latency_ns"] = hist(s.latency_ns);
  return j.dump();
}

std::string cli_words(std::string_view text) {
  return config_table::word(text, config_table::Front::kCli);
}

std::vector<Advice> cli_words(std::vector<Advice> advice) {
  for (Advice& a : advice) a.change = cli_words(a.change);
  return advice;
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
