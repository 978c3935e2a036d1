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
  // watching the line must see a bad second as it happens.
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

namespace {

// The summary's lines in the command's words, each naming the registry's figures it shows as
// {name} (rtcap/stats.hpp: the value and its unit come from there) or a figure derived here.
struct SummaryLine {
  const char* text;
  bool (*shown)(const CaptureStats&);  // null: always
};
constexpr SummaryLine kTcpdumpLines[] = {
    {"{packets_captured} packets captured", nullptr},
    {"{received} packets received by filter", nullptr},
    {"{kernel_dropped} packets dropped by kernel", nullptr},
};
constexpr SummaryLine kSummaryLines[] = {
    {"{interface_dropped} packets dropped by interface", nullptr},
    {"{app_dropped_packets} packets dropped by rtcap (consumer behind, no free batch)", nullptr},
    // received = captured + kernel + rtcap drops + this, exactly (CaptureStats::unread_packets).
    {"{unread} packets counted by the kernel but not read (after the last drain)",
     [](const CaptureStats& s) { return s.unread_packets() != 0; }},
    {"{packets_truncated} packets cut by the snaplen",
     [](const CaptureStats& s) { return s.packets_truncated != 0; }},
    {"{packets_delivered} packets delivered in {batches_delivered} batches over {elapsed_ns} "
     "({thread_handoffs} handed to another thread), {bytes_captured} bytes captured",
     nullptr},
    {"delivery delay: p50 {latency_p50_ns}  p99 {latency_p99_ns}  p99.9 {latency_p999_ns}  max "
     "{latency_max_ns} ({latency_count} packets)",
     [](const CaptureStats& s) { return s.latency_ns.count != 0; }},
    {"{interface_reopens} interface reopen(s)",
     [](const CaptureStats& s) { return s.interface_reopens() != 0; }},
    {"capture thread: {capture_cpu_ns} CPU ({cpu_ns_per_packet} ns/packet), {callback_ns} in the "
     "consumer's hands, {wakeups} wake-ups, "
     "{dispatch_calls} dispatch calls ({empty_dispatch_calls} empty), {packets_per_call} "
     "packets/call, largest call {max_dispatch_bytes} bytes ({max_dispatch_buffer_share} of the "
     "buffer), p99 {dispatch_bytes_p99} bytes per call of {dispatch_bytes_count} with packets",
     nullptr},
};

// A figure of the registry as the summary prints it: durations as durations, ratios in %.
std::string figure(std::string_view name, const CaptureStats& s) {
  if (name == "unread") return std::to_string(s.unread_packets());
  if (name == "cpu_ns_per_packet") return fmt::format("{:.0f}", cpu_ns_per_packet(s));
  if (name == "packets_per_call") return fmt::format("{:.1f}", s.dispatch_packets.mean());
  for (const CounterInfo& c : capture_counters()) {
    if (name != c.name) continue;
    if (std::string_view(c.unit) == "ratio") return fmt::format("{:.1f}%", c.fraction(s) * 100.0);
    if (std::string_view(c.unit) == "ns") return format_duration_ns(std::int64_t(c.integer(s)));
    return c.fraction ? fmt::format("{}", c.fraction(s)) : std::to_string(c.integer(s));
  }
  return "{" + std::string(name) + "?}";  // a name neither here nor in the registry
}

template <std::size_t N>
void render(std::string& out, const SummaryLine (&lines)[N], const CaptureStats& s) {
  for (const SummaryLine& line : lines) {
    if (line.shown && !line.shown(s)) continue;
    const std::string_view text = line.text;
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t open = text.find('{', at);
      const std::size_t close = open == std::string_view::npos ? open : text.find('}', open);
      if (close == std::string_view::npos) {
        out.append(text.substr(at));
        break;
      }
      out.append(text.substr(at, open - at));
      out += figure(text.substr(open + 1, close - open - 1), s);
      at = close + 1;
    }
    out += '\n';
  }
}

template <std::size_t N>
void names_in(std::vector<std::string>& out, const SummaryLine (&lines)[N]) {
  for (const SummaryLine& line : lines) {
    const std::string_view text = line.text;
    for (std::size_t open = text.find('{'); open != std::string_view::npos;
         open = text.find('{', open + 1))
      out.emplace_back(text.substr(open + 1, text.find('}', open) - open - 1));
  }
}

}  // namespace

std::vector<std::string> summary_figures() {
  std::vector<std::string> names;
  names_in(names, kTcpdumpLines);
  names_in(names, kSummaryLines);
  return names;
}

std::string tcpdump_lines(const CaptureStats& s) {
  std::string out;
  render(out, kTcpdumpLines, s);
  return out;
}

std::string summary(const CaptureStats& s, bool live) {
  if (!live) return fmt::format("{} packets read\n", s.packets_captured);
  std::string out = tcpdump_lines(s);
  render(out, kSummaryLines, s);
  for (const auto& i : s.interfaces)
    if (i.down_events)
      out += fmt::format("interface {}: down {} time(s), {:.1f} s in all{}, reopened {} time(s)\n",
                         i.name, i.down_events, double(i.down_ns) / 1e9,
                         i.up ? "" : ", down at the end", i.reopens);
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

std::string cli_words(const Error& writer_error) {
  static constexpr std::pair<std::string_view, std::string_view> kOptions[] = {
      {"pcapng", "--pcapng"}, {"path", "-w FILE"}};
  for (const auto& [field, option] : kOptions) {
    if (writer_error.setting != field) continue;
    std::string text = writer_error.reason;
    const std::string token = "${" + std::string(field) + "}";
    if (const auto at = text.find(token); at != std::string::npos)
      text.replace(at, token.size(), option);
    return text;
  }
  return writer_error.message;
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
