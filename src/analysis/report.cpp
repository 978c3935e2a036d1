// Output of the stream tracker: addresses as text, JSON, the terminal table, loss attribution.
// None of this is on the hot path.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/catalogue.hpp"
#include "analysis/wire_text.hpp"
#include "analysis/ptp_report.hpp"
#include "analysis/redundancy_report.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

std::string IpAddress::to_string() const {
  if (family == 4) return fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
  if (family != 6) return "?";
  std::uint16_t g[8];
  for (int i = 0; i < 8; ++i)
    g[i] = static_cast<std::uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
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
    if (s.is_rtp && s.validated) lost += s.lost;
  return lost + snapshot.totals.evicted_lost;
}

std::uint64_t total_outage_loss(const TrackerSnapshot& snapshot) noexcept {
  std::uint64_t lost = 0;
  for (const auto& s : snapshot.streams)
    if (s.is_rtp && s.validated) lost += s.outage_lost;
  return lost + snapshot.totals.evicted_outage_lost;
}

LossAttribution attribute_loss(std::uint64_t missing, std::uint64_t capture_dropped) {
  LossAttribution a;
  a.missing_in_streams = missing;
  a.capture_dropped = capture_dropped;
  a.dropped_by_capture_max = std::min(missing, capture_dropped);
  a.lost_before_capture_min = missing - a.dropped_by_capture_max;
  if (missing == 0 && capture_dropped == 0) {
    a.exact = true;
    a.text =
        "No packet is missing: every RTP sequence is complete and the capture dropped nothing.";
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

LossAttribution attribute_loss(const TrackerSnapshot& snap, std::uint64_t capture_dropped,
                               DropKnowledge knowledge) {
  const std::uint64_t all_missing = total_sequence_loss(snap);
  const std::uint64_t in_outages = std::min(all_missing, total_outage_loss(snap));
  // What the capture drops and the network share: the gaps outside the capture outages.
  const std::uint64_t missing = all_missing - in_outages;
  std::uint64_t unvalidated = 0;
  for (const auto& s : snap.streams)
    if (s.is_rtp && !s.validated) ++unvalidated;
  LossAttribution a;
  if (knowledge == DropKnowledge::kFileWithoutStatistics) {
    // A file from another tool: what its capture dropped was never written down, so a gap may
    // be a capture drop or upstream loss, and nothing here can tell which.
    a.missing_in_streams = missing;
    a.capture_dropped = 0;
    a.dropped_by_capture_max = missing;
    a.lost_before_capture_min = 0;
    a.exact = missing == 0;
    a.text = missing == 0
                 ? "No packet is missing from the validated RTP sequences in this file."
                 : fmt::format(
                       "{} packet(s) are missing from the RTP sequences in this file. The file "
                       "carries no capture statistics (pcapng interface statistics blocks), so "
                       "whether the capture that wrote it dropped them or they were lost before "
                       "it (network, switch or sender) cannot be told.",
                       missing);
  } else {
    a = attribute_loss(missing, capture_dropped);
  }
  if (in_outages > 0) {
    // The capture outages first: those packets were never on offer to the capture.
    const std::string outage = fmt::format(
        "{} packet(s) are missing from the RTP sequences: {} of them fell while an interface was "
        "down or gone (capture outage: missed by the capture, not lost by the network)",
        all_missing, in_outages);
    if (missing == 0 && a.capture_dropped == 0)
      a.text = outage + "; outside the outages nothing is missing and the capture dropped nothing.";
    else
      a.text = outage + fmt::format("; {} outside them. Outside the outages: {}", missing, a.text);
  }
  a.missing_in_streams = all_missing;
  a.lost_in_outages = in_outages;
  a.unvalidated_streams = unvalidated;
  if (unvalidated > 0) {
    a.exact = false;
    const std::string note = fmt::format(
        "{} RTP stream(s) never passed sequence validation (RFC 3550 probation: no two packets "
        "in a row were in sequence), so their loss could not be counted; they are not complete.",
        unvalidated);
    if (all_missing == 0 && a.capture_dropped == 0)
      a.text = note + " The capture dropped nothing.";
    else
      a.text += " " + note;
  }
  return a;
}

LossAttribution attribute_loss(std::uint64_t missing, const CaptureStats& stats) {
  return attribute_loss(
      missing, stats.kernel_dropped() + stats.interface_dropped() + stats.app_dropped_packets);
}

namespace {

// Why parse_sdp refused the format's rtpmap; null when it did not.
nlohmann::json refused_json(const SdpFormat& f) {
  return f.refused.empty() ? nlohmann::json() : nlohmann::json(analysis::printable_text(f.refused));
}

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
  j["interval"] = {{"count", s.interval.count},         {"mean_ms", s.interval.mean_ms},
                   {"stddev_ms", s.interval.stddev_ms}, {"min_ms", s.interval.min_ms},
                   {"max_ms", s.interval.max_ms},       {"ptime_ms", s.interval.ptime_ms},
                   {"long_gaps", s.interval.long_gaps}};
  if (s.is_rtp) {
    j["ssrc"] = fmt::format("0x{:08x}", s.ssrc);
    j["payload_type"] = s.payload_type;
    j["clock_rate"] = s.clock_rate;
    j["clock_source"] = to_string(s.clock_source);
    j["validated"] = s.validated;
    j["expected"] = s.expected;
    j["received"] = s.received;
    // Not validated: the loss is unknown (null), the sequence range gives an estimate.
    j["lost"] = s.validated ? nlohmann::json(s.lost) : nlohmann::json(nullptr);
    if (!s.validated) j["lost_estimate"] = s.lost_estimate;
    j["rfc3550_cumulative_lost"] = s.rfc3550_cumulative_lost;
    j["loss_jumps"] = s.loss_jumps;
    j["outage_lost"] = s.outage_lost;
    j["network_lost"] = s.network_lost;
    j["payload_bytes"] = s.payload_bytes;
    j["duplicates"] = s.duplicates;
    j["reordered"] = s.reordered;
    j["seq_restarts"] = s.seq_restarts;
    j["bad_seq"] = s.bad_seq;
    j["jitter"] = s.jitter;
    j["jitter_ms"] = s.jitter_ms;
    j["max_jitter_ms"] = s.max_jitter_ms;
    if (s.has_delay) {
      const DelayStats& d = s.one_way_delay;
      j["one_way_delay"] = {{"count", d.count},
                            {"min_ms", double(d.min_ns) / 1e6},
                            {"mean_ms", d.mean_ns / 1e6},
                            {"max_ms", double(d.max_ns) / 1e6},
                            {"p99_ms", double(d.p99_ns) / 1e6},
                            {"negative", d.negative}};
    }
    const AudioTiming& t = s.timing;
    nlohmann::json hist = nlohmann::json::array();
    for (const PitBin& b : t.pit.histogram)
      hist.push_back({{"lower_us", b.lower_us},
                      {"upper_us", std::isinf(b.upper_us) ? nlohmann::json(nullptr)
                                                          : nlohmann::json(b.upper_us)},
                      {"count", b.count}});
    j["pit"] = {{"count", t.pit.count},     {"min_us", t.pit.min_us},
                {"mean_us", t.pit.mean_us}, {"paced_mean_us", t.pit.paced_mean_us},
                {"max_us", t.pit.max_us},   {"ptime_us", t.pit.ptime_us},
                {"histogram", hist}};
    j["ts_df_us"] = t.ts_df_us;
    j["ts_df_last_us"] = t.ts_df_last_us;
    j["ts_df_windows"] = t.ts_df_windows;
    j["ts_df_window_ms"] = t.ts_df_window_ms;
    j["drift_ppm"] = t.has_drift ? nlohmann::json(t.drift_ppm) : nlohmann::json(nullptr);
    if (t.has_delta_rtp)
      j["delta_rtp_us"] = {{"min", t.delta_rtp_min_us},
                           {"mean", t.delta_rtp_mean_us},
                           {"max", t.delta_rtp_max_us},
                           {"note", "meaningful only with a PTP-disciplined capture clock"}};
    j["verdict"] = to_string(t.verdict);
    if (t.clock_assumed) j["verdict_note"] = "clock assumed";
    if (!t.verdict_reason.empty()) j["verdict_reason"] = t.verdict_reason;
    j["timing_since_ns"] = t.since_ns;
    j["clock_changes"] = t.clock_changes;
    if (t.clock_changes) j["previous_clock_rate"] = t.previous_clock_rate;
    // Format: from the SDP when one describes the stream, else from the static payload type.
    const char* static_name = static_encoding_name(s.payload_type);
    if (s.has_sdp) {
      const SdpFormat& f = s.sdp;
      j["session_name"] = analysis::printable_text(f.session_name);
      j["encoding"] = analysis::printable_text(f.encoding);
      j["channels"] = f.channels;
      j["sdp_ptime_ms"] = f.ptime_ms;
      j["sdp"] = {{"origin", analysis::printable_text(f.origin)},
                  {"group", f.group.to_string()},
                  {"port", f.port},
                  {"ttl", f.ttl},
                  {"payload_type", f.payload_type},
                  {"rate", f.clock_rate},
                  {"refused", refused_json(f)},
                  {"source", f.source.family ? f.source.to_string() : std::string()},
                  {"ts_refclk", analysis::printable_text(f.ts_refclk)},
                  {"mediaclk_offset", f.has_mediaclk_offset ? nlohmann::json(f.mediaclk_offset)
                                                            : nlohmann::json(nullptr)}};
    } else {
      j["session_name"] = nullptr;
      j["encoding"] = static_name ? nlohmann::json(static_name) : nlohmann::json(nullptr);
      j["channels"] = static_channels(s.payload_type)
                          ? nlohmann::json(static_channels(s.payload_type))
                          : nlohmann::json(nullptr);
    }
    j["sdp_mismatches"] = nlohmann::json::array();
    for (const std::string& m : s.sdp_mismatches)
      j["sdp_mismatches"].push_back(analysis::printable_text(m));
    j["ptp"] = analysis::ptp_stream_json(s);
    if (!s.levels.empty()) {
      // Peak and RMS are null until a whole second was measured, and for digital zero.
      const auto db = [](const ChannelLevels& l, double v) {
        return l.seconds && std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
      };
      nlohmann::json levels = nlohmann::json::array();
      for (const ChannelLevels& l : s.levels)
        levels.push_back({{"peak_dbfs", db(l, l.peak_dbfs)},
                          {"rms_dbfs", db(l, l.rms_dbfs)},
                          {"seconds", l.seconds},
                          {"silent", l.silent},
                          {"silent_seconds", l.silent_seconds},
                          {"silences", l.silences},
                          {"clipped_samples", l.clipped_samples}});
      j["levels"] = levels;
    }
  }
  return j;
}

nlohmann::json session_json(const SessionSummary& x) {
  const SdpFormat& f = x.format;
  return {{"session_name", analysis::printable_text(f.session_name)},
          {"origin", analysis::printable_text(f.origin)},
          {"group", f.group.to_string()},
          {"port", f.port},
          {"payload_type", f.payload_type},
          {"encoding", analysis::printable_text(f.encoding)},
          {"rate", f.clock_rate},
          {"channels", f.channels},
          {"ptime_ms", f.ptime_ms},
          {"refused", refused_json(f)},
          {"source", f.source.family ? nlohmann::json(f.source.to_string()) : nlohmann::json()},
          {"first_seen_ns", x.first_seen_ns},
          {"last_seen_ns", x.last_seen_ns},
          {"announcements", x.announcements},
          {"streams", x.streams},
          {"ended",
           x.ended.empty() ? nlohmann::json() : nlohmann::json(analysis::printable_text(x.ended))}};
}

}  // namespace

std::string to_json(const TrackerSnapshot& snap, int indent) {
  nlohmann::json j;
  const TrackerTotals& t = snap.totals;
  j["totals"] = {{"packets", t.packets},
                 {"bytes", t.bytes},
                 {"udp", t.udp},
                 {"rtp", t.rtp},
                 {"malformed", t.malformed},
                 {"other", t.other},
                 {"fragments", t.fragments},
                 {"evicted", t.evicted},
                 {"streams_seen", t.streams_seen},
                 {"streams_active", t.streams_active},
                 {"sequence_lost", total_sequence_loss(snap)},
                 {"outage_lost", total_outage_loss(snap)},
                 {"network_lost", total_sequence_loss(snap) -
                                      std::min(total_sequence_loss(snap), total_outage_loss(snap))},
                 {"unvalidated_rtp_streams", t.unvalidated_rtp_streams},
                 {"sap",
                  {{"packets", t.sap_packets},
                   {"announcements", t.sap_announcements},
                   {"deletions", t.sap_deletions},
                   {"refreshes", t.sap_refreshes},
                   {"encrypted_or_compressed", t.sap_encrypted_or_compressed},
                   {"malformed", t.sap_malformed},
                   {"incomplete", t.sap_incomplete},
                   {"rate_limited", t.sap_rate_limited},
                   {"expired", t.sap_expired},
                   {"evicted", t.sap_evicted}}}};
  j["streams"] = nlohmann::json::array();
  for (const auto& s : snap.streams) j["streams"].push_back(stream_json(s));
  j["sessions"] = nlohmann::json::array();
  for (const auto& x : snap.sessions) j["sessions"].push_back(session_json(x));
  j["ptp"] = analysis::ptp_json(snap.ptp);
  j["st2022_7"] = analysis::redundancy_json(snap);
  // SDP text comes off the wire: invalid UTF-8 there must not make the report throw (found by
  // fuzz_sap_sdp; tests/fuzz/regressions/fuzz_sap_sdp).
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string to_json(const LossAttribution& a, int indent) {
  nlohmann::json j = {{"missing_in_streams", a.missing_in_streams},
                      {"lost_in_outages", a.lost_in_outages},
                      {"capture_dropped", a.capture_dropped},
                      {"dropped_by_capture_max", a.dropped_by_capture_max},
                      {"lost_before_capture_min", a.lost_before_capture_min},
                      {"exact", a.exact},
                      {"unvalidated_streams", a.unvalidated_streams},
                      {"text", a.text}};
  // SDP text comes off the wire: invalid UTF-8 there must not make the report throw (found by
  // fuzz_sap_sdp; tests/fuzz/regressions/fuzz_sap_sdp).
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// The table's columns in display order. `priority`: which columns a narrow terminal keeps first
// (0 first): the destination names the stream, then packets, lost, jitter and the verdict.
struct TableColumn {
  const char* head;
  const char* unit;
  std::size_t width;
  bool left;
  int priority;
};
constexpr TableColumn kTableColumns[] = {
    {"Source", "", 23, true, 5},     {"Destination", "", 23, true, 0},
    {"SSRC", "", 10, false, 12},     {"PT", "", 3, false, 7},
    {"Format", "", 6, true, 8},      {"Clock", "Hz", 7, false, 9},
    {"Packets", "", 9, false, 1},    {"Expected", "", 9, false, 13},
    {"Lost", "", 7, false, 2},       {"Lost%", "", 6, false, 6},
    {"Dup", "", 5, false, 14},       {"Reord", "", 5, false, 15},
    {"Jitter", "ms", 8, false, 3},   {"MeanInt", "ms", 8, false, 16},
    {"MaxInt", "ms", 8, false, 11},  {"LongInt", "", 7, false, 17},
    {"TS-DF", "us", 8, false, 10},   {"Verdict", "", 13, true, 4},
    {"DelayP99", "ms", 9, false, 18}};
constexpr std::size_t kTableColumnCount = std::size(kTableColumns);
using TableRow = std::array<std::string, kTableColumnCount>;
using ShownColumns = std::array<bool, kTableColumnCount>;

// The columns that fit in `width` characters (0: all), by priority; at least the first.
ShownColumns columns_for_width(std::size_t width) {
  ShownColumns shown{};
  std::array<std::size_t, kTableColumnCount> order{};
  for (std::size_t i = 0; i < kTableColumnCount; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [](std::size_t a, std::size_t b) {
    return kTableColumns[a].priority < kTableColumns[b].priority;
  });
  std::size_t used = 0;
  for (std::size_t i : order) {
    const std::size_t need = kTableColumns[i].width + (used ? 1 : 0);
    if (width == 0 || used == 0 || used + need <= width) {
      shown[i] = true;
      used += need;
    }
  }
  return shown;
}

std::string format_row(const TableRow& cells, const ShownColumns& shown) {
  std::string line;
  for (std::size_t i = 0; i < kTableColumnCount; ++i) {
    if (!shown[i]) continue;
    if (!line.empty()) line += ' ';
    const TableColumn& c = kTableColumns[i];
    line += c.left ? fmt::format("{:<{}}", cells[i], c.width)
                   : fmt::format("{:>{}}", cells[i], c.width);
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + '\n';
}

}  // namespace

std::string format_stream_table(const TrackerSnapshot& snap) {
  return format_stream_table(snap, 0);
}

std::string format_stream_table(const TrackerSnapshot& snap, std::size_t width) {
  std::string out;
  const ShownColumns shown = columns_for_width(width);
  const auto endpoint = [](const IpAddress& a, std::uint16_t port) {
    return a.family == 6 ? fmt::format("[{}]:{}", a.to_string(), port)
                         : fmt::format("{}:{}", a.to_string(), port);
  };
  const auto row = [&shown](auto&&... cells) {
    return format_row(TableRow{fmt::format("{}", cells)...}, shown);
  };
  TableRow heads, units;
  for (std::size_t i = 0; i < kTableColumnCount; ++i) {
    heads[i] = kTableColumns[i].head;
    units[i] = kTableColumns[i].unit;
  }
  out += format_row(heads, shown);
  out += format_row(units, shown);
  for (const auto& s : snap.streams) {
    const std::string src = endpoint(s.src, s.src_port);
    const std::string dst = endpoint(s.dst, s.dst_port);
    if (s.is_rtp) {
      const std::string delay =
          s.has_delay ? fmt::format("{:.3f}", double(s.one_way_delay.p99_ns) / 1e6) : "-";
      const char* static_name = static_encoding_name(s.payload_type);
      const std::string format = s.has_sdp && !s.sdp.encoding.empty()
                                     ? analysis::printable_text(s.sdp.encoding)
                                 : static_name ? static_name
                                               : "-";
      // A clock that came from nowhere is marked: jitter and ptime are then assumptions.
      const std::string clock =
          fmt::format("{}{}", s.clock_rate, s.clock_source == ClockSource::kDefault ? "?" : "");
      const std::string lost = s.validated ? fmt::format("{}", s.lost) : "?";
      const std::string lost_pct =
          s.validated && s.expected
              ? fmt::format("{:.2f}", 100.0 * double(s.lost) / double(s.expected))
              : "-";
      const std::string tsdf =
          s.timing.ts_df_windows ? fmt::format("{:.1f}", s.timing.ts_df_us) : "-";
      out +=
          row(src, dst, fmt::format("0x{:08x}", s.ssrc), s.payload_type, format, clock, s.packets,
              s.validated ? fmt::format("{}", s.expected) : "?", lost, lost_pct, s.duplicates,
              s.reordered, fmt::format("{:.3f}", s.jitter_ms),
              fmt::format("{:.3f}", s.interval.mean_ms), fmt::format("{:.3f}", s.interval.max_ms),
              s.interval.long_gaps, tsdf, to_string(s.timing.verdict), delay);
      if (s.has_sdp && !s.sdp.refused.empty()) {
        out += fmt::format("  ! {}\n", analysis::refused_sdp_text(s.sdp));
      } else if (s.has_sdp) {
        const SdpFormat& f = s.sdp;
        // Session name, encoding, origin: from the wire, shown on a terminal.
        out +=
            fmt::format("  session \"{}\": {}/{}/{}, ptime {} ms ({})\n",
                        analysis::printable_text(f.session_name),
                        f.encoding.empty() ? "?" : analysis::printable_text(f.encoding),
                        f.clock_rate, f.channels, f.ptime_ms, analysis::printable_text(f.origin));
        for (const std::string& m : s.sdp_mismatches)
          out += fmt::format("  ! contradicts its SDP: {}\n", analysis::printable_text(m));
        out += analysis::format_ptp_stream_line(s);
      }
      if (s.timing.clock_assumed)
        out += fmt::format("  ! verdict unknown: clock assumed ({} Hz): nothing gives its format\n",
                           s.clock_rate);
      if (!s.timing.verdict_reason.empty())
        out += fmt::format("  ! not compliant: {}\n", s.timing.verdict_reason);
      if (s.timing.clock_changes)
        out += fmt::format(
            "  clock changed from {} to {} Hz: timing figures count from {:.3f} s after the "
            "stream's first packet\n",
            s.timing.previous_clock_rate, s.clock_rate,
            (double(s.timing.since_ns) - double(s.first_ts_ns)) / 1e9);
      if (!s.validated)
        out += fmt::format(
            "  ! never passed RTP sequence validation (no two packets in sequence): loss unknown; "
            "its sequence range misses {} (as tshark counts)\n",
            s.lost_estimate);
      if (s.rfc3550_cumulative_lost != static_cast<std::int64_t>(s.lost) && s.validated)
        out += fmt::format(
            "  RFC 3550 cumulative lost {} (expected - received, duplicates count as received)\n",
            s.rfc3550_cumulative_lost);
      if (s.outage_lost)
        out += fmt::format(
            "  of the {} lost: {} in capture outages of its interface (down or gone: "
            "missed by the capture), {} outside them (network)\n",
            s.lost, s.outage_lost, s.network_lost);
      if (s.loss_jumps)
        out += fmt::format(
            "  {} outage(s) of >= 3000 packets taken as loss (RTP timestamps advanced with "
            "the sequence numbers)\n",
            s.loss_jumps);
    } else {
      out += row(src, dst, "udp", "-", "-", "-", s.packets, "-", "-", "-", "-", "-", "-",
                 fmt::format("{:.3f}", s.interval.mean_ms),
                 fmt::format("{:.3f}", s.interval.max_ms), "-", "-", "-", "-");
    }
  }
  const TrackerTotals& t = snap.totals;
  out += fmt::format(
      "{} packets: {} UDP ({} RTP), {} other, {} malformed, {} fragments; {} streams ({} evicted); "
      "{} missing from RTP sequences{}\n",
      t.packets, t.udp, t.rtp, t.other, t.malformed, t.fragments, t.streams_active, t.evicted,
      total_sequence_loss(snap),
      total_outage_loss(snap)
          ? fmt::format(" ({} in capture outages, {} outside them)", total_outage_loss(snap),
                        total_sequence_loss(snap) - total_outage_loss(snap))
          : std::string());
  if (t.sap_packets)
    out += fmt::format(
        "SAP: {} packets, {} announcements, {} repeated, {} deletions, {} encrypted or compressed "
        "(not read), {} malformed, {} incomplete (fragmented or cut), {} over the rate limit, {} "
        "expired; {} SDP formats known{}\n",
        t.sap_packets, t.sap_announcements, t.sap_refreshes, t.sap_deletions,
        t.sap_encrypted_or_compressed, t.sap_malformed, t.sap_incomplete, t.sap_rate_limited,
        t.sap_expired, snap.sdp.size() - analysis::refused_formats(snap.sdp),
        analysis::refused_formats(snap.sdp)
            ? fmt::format(", {} refused", analysis::refused_formats(snap.sdp))
            : "");
  // Sessions announced (or given with --sdp) that no stream in the table matches.
  for (const SessionSummary& x : snap.sessions) {
    if (x.streams != 0) continue;
    const SdpFormat& f = x.format;
    if (!f.refused.empty()) {
      out += fmt::format("{}: no traffic{}\n", analysis::refused_sdp_text(f),
                         x.ended.empty() ? "" : " (" + analysis::printable_text(x.ended) + ")");
      continue;
    }
    out += fmt::format(
        "session \"{}\" {}:{} pt {} {}/{}/{}{}: no traffic ({}{})\n",
        analysis::printable_text(f.session_name), f.group.to_string(), f.port, f.payload_type,
        f.encoding.empty() ? "?" : analysis::printable_text(f.encoding), f.clock_rate, f.channels,
        f.source.family ? " from " + f.source.to_string() : std::string(),
        analysis::printable_text(f.origin),
        x.ended.empty() ? "" : ", " + analysis::printable_text(x.ended));
  }
  out += analysis::format_ptp_section(snap.ptp);
  out += analysis::format_redundancy_section(snap);
  return out;
}

}  // namespace rtcap
