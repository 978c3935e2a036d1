// Text and JSON for the PTP analysis (ptp_report.hpp).
#include "analysis/ptp_report.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace rtcap::analysis {

namespace {

const char* type_name(int t) {
  static const char* const kNames[16] = {"Sync",
                                         "Delay_Req",
                                         "Pdelay_Req",
                                         "Pdelay_Resp",
                                         "4",
                                         "5",
                                         "6",
                                         "7",
                                         "Follow_Up",
                                         "Delay_Resp",
                                         "Pdelay_Resp_Follow_Up",
                                         "Announce",
                                         "Signaling",
                                         "Management",
                                         "14",
                                         "15"};
  return kNames[t & 15];
}

std::string interval_text(const PtpIntervalStats& s) {
  if (s.count == 0) return fmt::format("log {} (not measured)", s.log_interval);
  return fmt::format(
      "log {} ({:g} s): measured mean {:.4f} s ({:.2f}/s), jitter {:.3f} ms, "
      "min {:.4f} max {:.4f} s",
      s.log_interval, s.expected_s, s.mean_s, s.rate_hz, s.stddev_s * 1e3, s.min_s, s.max_s);
}

nlohmann::json interval_json(const PtpIntervalStats& s) {
  return {{"count", s.count},           {"log_interval", s.log_interval},
          {"expected_s", s.expected_s}, {"mean_s", s.mean_s},
          {"jitter_s", s.stddev_s},     {"min_s", s.min_s},
          {"max_s", s.max_s},           {"rate_hz", s.rate_hz}};
}

std::string sdp_clock(const SdpFormat& f) {
  return f.ptp_traceable ? fmt::format("traceable, domain {}", f.ptp_domain)
                         : fmt::format("{} domain {}", ptp_clock_identity_text(f.ptp_grandmaster),
                                       f.ptp_domain);
}

// Signed, in the unit that keeps it short: the offset runs from microseconds (a disciplined
// clock) to seconds (TAI against UTC without a valid announced offset).
std::string signed_duration(double ns) {
  const double a = ns < 0 ? -ns : ns;
  if (a >= 1e9) return fmt::format("{:+.3f} s", ns / 1e9);
  if (a >= 1e6) return fmt::format("{:+.2f} ms", ns / 1e6);
  return fmt::format("{:+.1f} us", ns / 1e3);
}

// A "GM CHANGED" mark stays on the status line this long after the change (packet time).
constexpr std::int64_t kRecentChangeNs = 60'000'000'000;

}  // namespace

std::string format_ptp_status(const PtpSnapshot& ptp) {
  std::string out;
  int shown = 0;
  int more = 0;
  for (const PtpDomainSummary& d : ptp.domains) {
    if (!d.has_grandmaster) continue;
    if (shown == 2) {  // the line has room for two; the table has every domain
      ++more;
      continue;
    }
    ++shown;
    const PtpClockIdentity& g = d.grandmaster.identity;
    out += fmt::format(" | ptp d{} gm ..{:02X}-{:02X}-{:02X}", d.domain, g[5], g[6], g[7]);
    if (const PtpOffsetEstimate* o = grandmaster_offset(ptp, d.domain); o && o->samples)
      out += fmt::format(" off {} +-{}", signed_duration(o->mean_ns),
                         signed_duration(o->stddev_ns).substr(1));
    std::int64_t latest_ns = d.grandmaster_since_ns;
    for (const PtpMasterSummary& m : d.masters) latest_ns = std::max(latest_ns, m.last_seen_ns);
    if (!d.changes.empty() && d.changes.back().had_previous &&
        latest_ns - d.changes.back().ts_ns <= kRecentChangeNs)
      out +=
          fmt::format(" GM CHANGED {:.0f} s ago", double(latest_ns - d.changes.back().ts_ns) / 1e9);
  }
  if (more) out += fmt::format(" (+{} domains)", more);
  return out;
}

std::string format_ptp_section(const PtpSnapshot& ptp) {
  const PtpTotals& t = ptp.totals;
  if (t.messages == 0) return {};
  std::string out = fmt::format("PTP: {} messages ({} UDP, {} Ethernet)", t.messages, t.over_udp,
                                t.over_ethernet);
  const std::uint64_t refused = t.truncated + t.bad_length + t.bad_version + t.unknown_type;
  if (refused)
    out += fmt::format("; refused {}: {} truncated, {} bad length, {} not PTPv2, {} reserved type",
                       refused, t.truncated, t.bad_length, t.bad_version, t.unknown_type);
  if (t.wrong_port || t.bad_timestamp || t.orphan_follow_ups)
    out += fmt::format(
        "; contradictory: {} on the wrong port, {} bad timestamps, {} Follow_Up "
        "without Sync",
        t.wrong_port, t.bad_timestamp, t.orphan_follow_ups);
  if (t.domains_overflow || t.masters_overflow)
    out += fmt::format("; beyond the table: {} in other domains, {} of other masters",
                       t.domains_overflow, t.masters_overflow);
  out += "\n";
  for (const PtpDomainSummary& d : ptp.domains) {
    out += fmt::format("  domain {}: ", d.domain);
    if (d.has_grandmaster) {
      const PtpGrandmaster& g = d.grandmaster;
      out += fmt::format(
          "grandmaster {} (priority1 {}, class {}, accuracy 0x{:02X}, variance 0x{:04X}, "
          "priority2 {}, steps {}, time source 0x{:02X}, UTC offset {}{}), {} change(s)\n",
          ptp_clock_identity_text(g.identity), g.priority1, g.clock_class, g.clock_accuracy,
          g.offset_scaled_log_variance, g.priority2, g.steps_removed, g.time_source,
          g.current_utc_offset, g.current_utc_offset_valid ? "" : " not valid",
          d.grandmaster_changes);
    } else {
      out += "no Announce seen\n";
    }
    for (const PtpGrandmasterChange& c : d.changes)
      out += fmt::format("    grandmaster change at {:.6f} s: {} -> {}\n", double(c.ts_ns) / 1e9,
                         ptp_clock_identity_text(c.from), ptp_clock_identity_text(c.to));
    std::string counts;
    for (int i = 0; i < 16; ++i)
      if (d.messages_by_type[i])
        counts +=
            fmt::format("{}{} {}", counts.empty() ? "" : ", ", d.messages_by_type[i], type_name(i));
    out += fmt::format("    messages: {}\n", counts);
    for (const PtpMasterSummary& m : d.masters) {
      out += fmt::format(
          "    master {} port {}{}{}: {} Announce, {} Sync ({}), {} Follow_Up, {} "
          "Delay_Resp\n",
          ptp_clock_identity_text(m.clock), m.port,
          m.address.family ? " from " + m.address.to_string() : "",
          m.over_ethernet ? " over Ethernet" : "", m.announces, m.syncs,
          m.two_step && m.one_step ? "one- and two-step"
          : m.two_step             ? "two-step"
          : m.one_step             ? "one-step"
                                   : "-",
          m.follow_ups, m.delay_resps);
      if (m.announces) out += "      Announce interval " + interval_text(m.announce) + "\n";
      if (m.syncs) out += "      Sync interval " + interval_text(m.sync) + "\n";
      if (m.follow_ups_missing || m.follow_ups_orphan)
        out += fmt::format(
            "      ! {} two-step Sync(s) without Follow_Up, {} Follow_Up(s) "
            "without Sync\n",
            m.follow_ups_missing, m.follow_ups_orphan);
      if (m.offset.samples)
        out += fmt::format(
            "      capture clock - PTP time (estimate from the wire, path delay inside): "
            "{:.1f} us +- {:.1f} us ({} samples{})\n",
            m.offset.mean_ns / 1e3, m.offset.stddev_ns / 1e3, m.offset.samples,
            m.offset.utc_offset_applied ? ", announced UTC offset taken off"
                                        : ", no valid UTC offset announced: PTP time as sent");
      if (m.path_delay.samples)
        out += fmt::format(
            "      path delay master - capture point: {:.1f} us +- {:.1f} us ({} Delay_Req/"
            "Delay_Resp pairs); capture clock - PTP time with it taken off: {:.1f} us\n",
            m.path_delay.mean_ns / 1e3, m.path_delay.stddev_ns / 1e3, m.path_delay.samples,
            (m.offset.mean_ns - m.path_delay.mean_ns) / 1e3);
    }
  }
  return out;
}

std::string format_ptp_stream_line(const StreamSummary& s) {
  if (!s.has_sdp || !s.sdp.has_ptp_refclk) return {};
  const std::string named = sdp_clock(s.sdp);
  switch (s.ptp_match) {
    case PtpMatch::kMatch:
      return fmt::format(
          "  PTP: SDP names {}: on the wire, match{}\n", named,
          s.has_ptp_rtp_offset
              ? fmt::format("; packets arrive {:.1f} us +- {:.1f} us after their "
                            "RTP timestamp's PTP media time (estimate from the wire)",
                            s.ptp_rtp_offset_us, s.ptp_rtp_offset_uncertainty_us)
              : std::string());
    case PtpMatch::kOtherGrandmaster:
      return fmt::format("  ! PTP: SDP names {}, the wire's grandmaster in that domain is {}\n",
                         named, ptp_clock_identity_text(s.ptp_grandmaster_seen));
    case PtpMatch::kNoPtpSeen:
      return fmt::format("  ! PTP: SDP names {}, no PTP Announce seen in that domain\n", named);
    case PtpMatch::kNoReference:
      break;
  }
  return {};
}

nlohmann::json ptp_json(const PtpSnapshot& ptp) {
  const PtpTotals& t = ptp.totals;
  nlohmann::json j;
  j["totals"] = {{"messages", t.messages},
                 {"over_udp", t.over_udp},
                 {"over_ethernet", t.over_ethernet},
                 {"truncated", t.truncated},
                 {"bad_length", t.bad_length},
                 {"bad_version", t.bad_version},
                 {"unknown_type", t.unknown_type},
                 {"wrong_port", t.wrong_port},
                 {"bad_timestamp", t.bad_timestamp},
                 {"orphan_follow_ups", t.orphan_follow_ups},
                 {"domains_overflow", t.domains_overflow},
                 {"masters_overflow", t.masters_overflow}};
  j["domains"] = nlohmann::json::array();
  for (const PtpDomainSummary& d : ptp.domains) {
    nlohmann::json jd;
    jd["domain"] = d.domain;
    if (d.has_grandmaster) {
      const PtpGrandmaster& g = d.grandmaster;
      jd["grandmaster"] = {{"identity", ptp_clock_identity_text(g.identity)},
                           {"priority1", g.priority1},
                           {"clock_class", g.clock_class},
                           {"clock_accuracy", g.clock_accuracy},
                           {"offset_scaled_log_variance", g.offset_scaled_log_variance},
                           {"priority2", g.priority2},
                           {"steps_removed", g.steps_removed},
                           {"time_source", g.time_source},
                           {"current_utc_offset", g.current_utc_offset},
                           {"current_utc_offset_valid", g.current_utc_offset_valid},
                           {"since_ns", d.grandmaster_since_ns}};
    } else {
      jd["grandmaster"] = nullptr;
    }
    jd["grandmaster_changes"] = d.grandmaster_changes;
    jd["changes"] = nlohmann::json::array();
    for (const PtpGrandmasterChange& c : d.changes)
      jd["changes"].push_back({{"ts_ns", c.ts_ns},
                               {"from", ptp_clock_identity_text(c.from)},
                               {"to", ptp_clock_identity_text(c.to)}});
    nlohmann::json types = nlohmann::json::object();
    for (int i = 0; i < 16; ++i)
      if (d.messages_by_type[i]) types[type_name(i)] = d.messages_by_type[i];
    jd["messages"] = d.messages;
    jd["messages_by_type"] = types;
    jd["masters"] = nlohmann::json::array();
    for (const PtpMasterSummary& m : d.masters) {
      nlohmann::json jm = {{"clock_identity", ptp_clock_identity_text(m.clock)},
                           {"port", m.port},
                           {"address", m.address.family ? nlohmann::json(m.address.to_string())
                                                        : nlohmann::json(nullptr)},
                           {"over_udp", m.over_udp},
                           {"over_ethernet", m.over_ethernet},
                           {"announces", m.announces},
                           {"syncs", m.syncs},
                           {"follow_ups", m.follow_ups},
                           {"delay_resps", m.delay_resps},
                           {"two_step", m.two_step},
                           {"one_step", m.one_step},
                           {"follow_ups_matched", m.follow_ups_matched},
                           {"follow_ups_missing", m.follow_ups_missing},
                           {"follow_ups_orphan", m.follow_ups_orphan},
                           {"announce_interval", interval_json(m.announce)},
                           {"sync_interval", interval_json(m.sync)},
                           {"last_seen_ns", m.last_seen_ns}};
      if (m.offset.samples)
        jm["capture_offset"] = {{"samples", m.offset.samples},
                                {"last_ns", m.offset.last_ns},
                                {"mean_ns", m.offset.mean_ns},
                                {"stddev_ns", m.offset.stddev_ns},
                                {"min_ns", m.offset.min_ns},
                                {"max_ns", m.offset.max_ns},
                                {"utc_offset_applied", m.offset.utc_offset_applied},
                                {"note", "estimate from the wire: one-way path delay inside"}};
      if (!m.offset_history.empty()) {
        nlohmann::json h = nlohmann::json::array();
        for (const PtpOffsetBucket& b : m.offset_history)
          h.push_back({{"start_ns", b.start_ns},
                       {"end_ns", b.end_ns},
                       {"min_ns", b.min_ns},
                       {"max_ns", b.max_ns},
                       {"samples", b.samples}});
        jm["capture_offset"]["history"] = std::move(h);
      }
      if (m.path_delay.samples)
        jm["path_delay"] = {{"samples", m.path_delay.samples},
                            {"last_ns", m.path_delay.last_ns},
                            {"mean_ns", m.path_delay.mean_ns},
                            {"stddev_ns", m.path_delay.stddev_ns},
                            {"min_ns", m.path_delay.min_ns},
                            {"max_ns", m.path_delay.max_ns},
                            {"note", "Delay_Req/Delay_Resp, capture point as the slave"}};
      jd["masters"].push_back(std::move(jm));
    }
    j["domains"].push_back(std::move(jd));
  }
  return j;
}

nlohmann::json ptp_stream_json(const StreamSummary& s) {
  if (!s.has_sdp || !s.sdp.has_ptp_refclk) return nullptr;
  nlohmann::json j = {
      {"sdp_grandmaster", s.sdp.ptp_traceable
                              ? nlohmann::json("traceable")
                              : nlohmann::json(ptp_clock_identity_text(s.sdp.ptp_grandmaster))},
      {"sdp_domain", s.sdp.ptp_domain},
      {"match", to_string(s.ptp_match)}};
  if (s.has_ptp_rtp_offset)
    j["rtp_offset_from_ptp_media_clock_us"] = {
        {"mean", s.ptp_rtp_offset_us},
        {"uncertainty", s.ptp_rtp_offset_uncertainty_us},
        {"note",
         "estimate from the wire: arrival in PTP time minus the RTP timestamp's media "
         "time; the one-way path delay from the grandmaster is inside the uncertainty"}};
  j["wire_grandmaster"] =
      s.ptp_match == PtpMatch::kMatch || s.ptp_match == PtpMatch::kOtherGrandmaster
          ? nlohmann::json(ptp_clock_identity_text(s.ptp_grandmaster_seen))
          : nlohmann::json(nullptr);
  return j;
}

}  // namespace rtcap::analysis
