// Output of the stream tracker: addresses as text, JSON, the terminal table, loss attribution.
// None of this is on the hot path.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "rtcap/analysis.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

std::string IpAddress::to_string() const {
  if (family == 4) return fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
  if (family != 6) return "?";
  std::uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<std::uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // RFC 5952: the longest run (>= 2) of zero groups becomes "::", the first one on a tie.
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    out += fmt::format("{:x}", g[i]);
  }
  return out;
}

std::uint64_t total_sequence_loss(const TrackerSnapshot& snapshot) noexcept {
  std::uint64_t lost = 0;
  for (const auto& s : snapshot.streams)
    if (s.is_rtp && s.lost > 0) lost += static_cast<std::uint64_t>(s.lost);
  if (snapshot.totals.evicted_lost > 0) lost += static_cast<std::uint64_t>(snapshot.totals.evicted_lost);
  return lost;
}

LossAttribution attribute_loss(std::uint64_t missing, std::uint64_t capture_dropped) {
  LossAttribution a;
  a.missing_in_streams = missing;
  a.capture_dropped = capture_dropped;
  a.dropped_by_capture_max = std::min(missing, capture_dropped);
  a.lost_before_capture_min = missing - a.dropped_by_capture_max;
  if (missing == 0 && capture_dropped == 0) {
    a.exact = true;
    a.text = "No packet is missing: every RTP sequence is complete and the capture dropped nothing.";
  } else if (capture_dropped == 0) {
    a.exact = true;
    a.text = fmt::format(
        "{} packet(s) are missing from the RTP sequences and the capture dropped none, so all {} "
        "were lost before they reached this machine's capture point (network, switch or sender).",
        missing, missing);
  } else if (missing == 0) {
    a.exact = true;
    a.text = fmt::format(
        "The capture dropped {} packet(s), but no RTP sequence has a gap: the drops hit other "
        "traffic (untracked flows, RTCP, ARP, PTP) or fell after a stream's last packet. The "
        "streams themselves arrived complete.",
        capture_dropped);
  } else if (capture_dropped >= missing) {
    a.text = fmt::format(
        "{} packet(s) are missing from the RTP sequences and the capture itself dropped {} "
        "packet(s) (kernel buffer, interface or rtcap queue). The capture can explain all of the "
        "gaps, so they may all be capture drops; but drops also hit other traffic, so some gaps "
        "may still be network loss. Fix the capture drops first (larger buffer, faster consumer), "
        "then measure again.",
        missing, capture_dropped);
  } else {
    a.text = fmt::format(
        "{} packet(s) are missing from the RTP sequences; the capture itself dropped {} "
        "packet(s). At most {} of the gaps are the capture's doing, so at least {} packet(s) were "
        "lost before the capture point (network, switch or sender).",
        missing, capture_dropped, a.dropped_by_capture_max, a.lost_before_capture_min);
  }
  return a;
}

LossAttribution attribute_loss(std::uint64_t missing, const CaptureStats& stats) {
  return attribute_loss(missing,
                        stats.kernel_dropped() + stats.interface_dropped() + stats.app_dropped_packets);
}

namespace {

nlohmann::json stream_json(const StreamSummary& s) {
  nlohmann::json j;
  j["id"] = s.id;
  j["interface"] = s.interface_index;
  j["protocol"] = s.is_rtp ? "rtp" : "udp";
  j["src_addr"] = s.src.to_string();
  j["src_port"] = s.src_port;
  j["dst_addr"] = s.dst.to_string();
  j["dst_port"] = s.dst_port;
  j["packets"] = s.packets;
  j["bytes"] = s.bytes;
  j["first_ts_ns"] = s.first_ts_ns;
  j["last_ts_ns"] = s.last_ts_ns;
  j["rate_pps"] = s.rate_pps;
  j["rate_bps"] = s.rate_bps;
  j["interval"] = {{"count", s.interval.count},       {"mean_ms", s.interval.mean_ms},
                   {"stddev_ms", s.interval.stddev_ms}, {"min_ms", s.interval.min_ms},
                   {"max_ms", s.interval.max_ms},     {"ptime_ms", s.interval.ptime_ms},
                   {"long_gaps", s.interval.long_gaps}};
  if (s.is_rtp) {
    j["ssrc"] = fmt::format("0x{:08x}", s.ssrc);
    j["payload_type"] = s.payload_type;
    j["clock_rate"] = s.clock_rate;
    j["validated"] = s.validated;
    j["expected"] = s.expected;
    j["received"] = s.received;
    j["lost"] = s.lost;
    j["duplicates"] = s.duplicates;
    j["reordered"] = s.reordered;
    j["seq_restarts"] = s.seq_restarts;
    j["bad_seq"] = s.bad_seq;
    j["jitter"] = s.jitter;
    j["jitter_ms"] = s.jitter_ms;
    j["max_jitter_ms"] = s.max_jitter_ms;
    if (s.has_delay) {
      const DelayStats& d = s.one_way_delay;
      j["one_way_delay"] = {{"count", d.count},       {"min_ms", double(d.min_ns) / 1e6},
                            {"mean_ms", d.mean_ns / 1e6}, {"max_ms", double(d.max_ns) / 1e6},
                            {"p99_ms", double(d.p99_ns) / 1e6}, {"negative", d.negative}};
    }
  }
  return j;
}

}  // namespace

std::string to_json(const TrackerSnapshot& snap, int indent) {
  nlohmann::json j;
  const TrackerTotals& t = snap.totals;
  j["totals"] = {{"packets", t.packets},     {"bytes", t.bytes},
                 {"udp", t.udp},             {"rtp", t.rtp},
                 {"malformed", t.malformed}, {"other", t.other},
                 {"fragments", t.fragments}, {"evicted", t.evicted},
                 {"streams_seen", t.streams_seen}, {"streams_active", t.streams_active},
                 {"sequence_lost", total_sequence_loss(snap)}};
  j["streams"] = nlohmann::json::array();
  for (const auto& s : snap.streams) j["streams"].push_back(stream_json(s));
  return j.dump(indent);
}

std::string to_json(const LossAttribution& a, int indent) {
  nlohmann::json j = {{"missing_in_streams", a.missing_in_streams},
                      {"capture_dropped", a.capture_dropped},
                      {"dropped_by_capture_max", a.dropped_by_capture_max},
                      {"lost_before_capture_min", a.lost_before_capture_min},
                      {"exact", a.exact},
                      {"text", a.text}};
  return j.dump(indent);
}

std::string format_stream_table(const TrackerSnapshot& snap) {
  std::string out;
  const auto endpoint = [](const IpAddress& a, std::uint16_t port) {
    return a.family == 6 ? fmt::format("[{}]:{}", a.to_string(), port)
                         : fmt::format("{}:{}", a.to_string(), port);
  };
  out += fmt::format("{:<23} {:<23} {:>10} {:>3} {:>9} {:>9} {:>7} {:>6} {:>5} {:>5} {:>8} "
                     "{:>8} {:>8} {:>5} {:>9}\n",
                     "Source", "Destination", "SSRC", "PT", "Packets", "Expected", "Lost", "Lost%",
                     "Dup", "Late", "Jitter", "MeanInt", "MaxInt", "Gaps", "DelayP99");
  out += fmt::format("{:<23} {:<23} {:>10} {:>3} {:>9} {:>9} {:>7} {:>6} {:>5} {:>5} {:>8} "
                     "{:>8} {:>8} {:>5} {:>9}\n",
                     "", "", "", "", "", "", "", "", "", "", "ms", "ms", "ms", "", "ms");
  for (const auto& s : snap.streams) {
    const std::string src = endpoint(s.src, s.src_port);
    const std::string dst = endpoint(s.dst, s.dst_port);
    if (s.is_rtp) {
      const double lost_pct = s.expected ? 100.0 * double(s.lost) / double(s.expected) : 0.0;
      const std::string delay =
          s.has_delay ? fmt::format("{:.3f}", double(s.one_way_delay.p99_ns) / 1e6) : "-";
      out += fmt::format("{:<23} {:<23} 0x{:08x} {:>3} {:>9} {:>9} {:>7} {:>6.2f} {:>5} {:>5} "
                         "{:>8.3f} {:>8.3f} {:>8.3f} {:>5} {:>9}\n",
                         src, dst, s.ssrc, s.payload_type, s.packets, s.expected, s.lost, lost_pct,
                         s.duplicates, s.reordered, s.jitter_ms, s.interval.mean_ms,
                         s.interval.max_ms, s.interval.long_gaps, delay);
    } else {
      out += fmt::format("{:<23} {:<23} {:>10} {:>3} {:>9} {:>9} {:>7} {:>6} {:>5} {:>5} {:>8} "
                         "{:>8.3f} {:>8.3f} {:>5} {:>9}\n",
                         src, dst, "udp", "-", s.packets, "-", "-", "-", "-", "-", "-",
                         s.interval.mean_ms, s.interval.max_ms, "-", "-");
    }
  }
  const TrackerTotals& t = snap.totals;
  out += fmt::format(
      "{} packets: {} UDP ({} RTP), {} other, {} malformed, {} fragments; {} streams ({} evicted); "
      "{} missing from RTP sequences\n",
      t.packets, t.udp, t.rtp, t.other, t.malformed, t.fragments, t.streams_active, t.evicted,
      total_sequence_loss(snap));
  return out;
}

}  // namespace rtcap
