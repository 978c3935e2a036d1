// Per-domain PTP analysis (ptp_analyser.hpp) and the SDP reference-clock match (rtcap/ptp.hpp).
#include "analysis/ptp_analyser.hpp"
#include "analysis/saturating.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace rtcap {

std::string ptp_clock_identity_text(const PtpClockIdentity& id) {
  return fmt::format("{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}", id[0], id[1], id[2],
                     id[3], id[4], id[5], id[6], id[7]);
}

const char* to_string(PtpMatch match) noexcept {
  switch (match) {
    case PtpMatch::kNoReference:
      return "no_reference";
    case PtpMatch::kMatch:
      return "match";
    case PtpMatch::kOtherGrandmaster:
      return "other_grandmaster";
    case PtpMatch::kNoPtpSeen:
      return "no_ptp_seen";
  }
  return "?";
}

PtpMatch match_ptp(const SdpFormat& sdp, const PtpSnapshot& ptp,
                   PtpClockIdentity* gm_seen) noexcept {
  if (!sdp.has_ptp_refclk) return PtpMatch::kNoReference;
  for (const PtpDomainSummary& d : ptp.domains) {
    if (d.domain != sdp.ptp_domain || !d.has_grandmaster) continue;
    if (gm_seen != nullptr) *gm_seen = d.grandmaster.identity;
    // "traceable" (RFC 7273 section 4.8) names no grandmaster: any in the domain will do.
    if (sdp.ptp_traceable || d.grandmaster.identity == sdp.ptp_grandmaster) return PtpMatch::kMatch;
    return PtpMatch::kOtherGrandmaster;
  }
  return PtpMatch::kNoPtpSeen;
}

const PtpMasterSummary* grandmaster_master(const PtpSnapshot& ptp, int domain) noexcept {
  for (const PtpDomainSummary& d : ptp.domains) {
    if (d.domain != domain) continue;
    const PtpMasterSummary* first = nullptr;
    for (const PtpMasterSummary& m : d.masters) {
      if (m.offset.samples == 0) continue;
      if (d.has_grandmaster && m.clock == d.grandmaster.identity) return &m;
      if (first == nullptr) first = &m;
    }
    return first;
  }
  return nullptr;
}

const PtpOffsetEstimate* grandmaster_offset(const PtpSnapshot& ptp, int domain) noexcept {
  const PtpMasterSummary* m = grandmaster_master(ptp, domain);
  return m != nullptr ? &m->offset : nullptr;
}

namespace analysis {

void apply_ptp(StreamSummary& s, const PtpSnapshot& ptp) noexcept {
  if (!s.has_sdp) return;
  s.ptp_match = match_ptp(s.sdp, ptp, &s.ptp_grandmaster_seen);
  if (s.ptp_match != PtpMatch::kMatch || !s.timing.has_delta_rtp || !s.sdp.has_mediaclk_offset)
    return;
  const PtpMasterSummary* gm = grandmaster_master(ptp, s.sdp.ptp_domain);
  if (gm == nullptr) return;
  const PtpOffsetEstimate* o = &gm->offset;
  // The media clock counts PTP time (TAI, RFC 7273); the estimate is against it less the UTC
  // offset when that was applied. Arrival in PTP time = capture time - offset + UTC offset.
  double utc_us = 0;
  for (const PtpDomainSummary& d : ptp.domains)
    if (d.domain == s.sdp.ptp_domain && o->utc_offset_applied)
      utc_us = d.grandmaster.current_utc_offset * 1e6;
  // With Delay_Req/Delay_Resp pairs the path delay inside the offset estimate is taken off.
  const PtpPathDelay& pd = gm->path_delay;
  const double offset_ns = o->mean_ns - (pd.samples ? pd.mean_ns : 0.0);
  const double spread_ns = std::hypot(o->stddev_ns, pd.samples ? pd.stddev_ns : 0.0);
  s.has_ptp_rtp_offset = true;
  s.ptp_rtp_offset_us = s.timing.delta_rtp_mean_us - offset_ns / 1e3 + utc_us;
  s.ptp_rtp_offset_uncertainty_us = spread_ns / 1e3;
}

namespace {

PtpClockIdentity identity(const std::uint8_t* p) noexcept {
  PtpClockIdentity id;
  std::memcpy(id.data(), p, 8);
  return id;
}

PtpIntervalStats summarize(const RunningIntervals& g, std::int8_t log) {
  PtpIntervalStats s;
  s.count = g.count;
  s.log_interval = log;
  // 0x7F: "not applicable" (1588-2008 table 24); other values outside +-31 say nothing either.
  if (log >= -31 && log <= 31) s.expected_s = std::ldexp(1.0, log);
  if (g.count > 0) {
    s.mean_s = g.mean_ns * 1e-9;
    s.stddev_s = g.stddev_ns() * 1e-9;
    s.min_s = static_cast<double>(g.min_ns) * 1e-9;
    s.max_s = static_cast<double>(g.max_ns) * 1e-9;
    if (g.mean_ns > 0) s.rate_hz = 1e9 / g.mean_ns;
  }
  return s;
}

}  // namespace

void PtpAnalyser::Intervals::add(std::int64_t ts_ns, std::int8_t log) noexcept {
  log_interval = log;
  if (messages++ > 0) gaps.add(ts_ns - last_ns);
  last_ns = ts_ns;
}

// Weight 1/16 per sample, as RFC 3550's jitter: long enough to smooth software time stamps,
// short enough (a few seconds at 8 Syncs/s) to follow an undisciplined capture clock's drift.
void PtpAnalyser::Estimate::add(double ns, bool utc) noexcept {
  // Samples before the first Announce with a valid UTC offset are 37 s away: start afresh.
  if (utc != utc_applied) samples = 0;
  last_ns = ns;
  utc_applied = utc;
  if (samples++ == 0) {
    mean_ns = min_ns = max_ns = ns;
    var_ns2 = 0;
    return;
  }
  const double d = ns - mean_ns;
  mean_ns += d / 16;
  var_ns2 += (d * d - var_ns2) / 16;
  min_ns = std::min(min_ns, ns);
  max_ns = std::max(max_ns, ns);
}

PtpAnalyser::Domain* PtpAnalyser::domain(std::uint8_t number) noexcept {
  for (Domain& d : domains_) {
    if (d.used && d.number == number) return &d;
    if (!d.used) {
      d.used = true;
      d.number = number;
      return &d;
    }
  }
  return nullptr;
}

PtpAnalyser::Master* PtpAnalyser::master(Domain& d, const ptp::PortIdentity& id) noexcept {
  for (std::size_t i = 0; i < d.master_count; ++i)
    if (d.masters[i].id == id) return &d.masters[i];
  if (d.master_count == kMaxMasters) return nullptr;
  Master& m = d.masters[d.master_count++];
  m = Master{};
  m.id = id;
  return &m;
}

void PtpAnalyser::on_announce(Domain& d, const ptp::Message& m, std::int64_t ts_ns) noexcept {
  const ptp::Announce& a = m.announce;
  if (!d.has_gm || std::memcmp(d.gm.grandmaster, a.grandmaster, 8) != 0) {
    if (d.has_gm) {
      Change& c = d.changes[d.gm_changes % kChangesKept];
      c.ts_ns = ts_ns;
      c.had_previous = true;
      std::memcpy(c.from, d.gm.grandmaster, 8);
      std::memcpy(c.to, a.grandmaster, 8);
      ++d.gm_changes;
    }
    d.gm_since_ns = ts_ns;
    d.has_gm = true;
  }
  d.gm = a;
  d.utc_valid = (m.flags & ptp::kFlagUtcOffsetValid) != 0;
}

bool PtpAnalyser::ptp_time_ns(const Domain& d, const ptp::Timestamp& t, std::int64_t& ns) noexcept {
  // 2^33 s is the year 2242: larger seconds cannot be a real PTP time and would overflow ns.
  if (!t.valid() || t.seconds >= (std::uint64_t{1} << 33)) {
    ++totals_.bad_timestamp;
    return false;
  }
  const std::int64_t utc_ns =
      d.has_gm && d.utc_valid ? std::int64_t{d.gm.current_utc_offset} * 1'000'000'000 : 0;
  ns = static_cast<std::int64_t>(t.seconds) * 1'000'000'000 + t.nanoseconds - utc_ns;
  return true;
}

void PtpAnalyser::History::add(std::int64_t ts_ns, double ns) noexcept {
  if (used == 0) {
    origin_ns = ts_ns;
    width_ns = 1'000'000'000;
  }
  // A capture time before the first (a file out of order, a clock step back) joins bucket 0.
  const std::int64_t since = ts_ns > origin_ns ? sat_sub(ts_ns, origin_ns) : 0;
  std::int64_t index = since / width_ns;
  while (index >= static_cast<std::int64_t>(kBuckets)) {
    if (width_ns > std::numeric_limits<std::int64_t>::max() / 4) {  // years apart: keep the last
      index = kBuckets - 1;
      break;
    }
    // Twice as wide: each pair of buckets becomes one, the upper half is free again.
    for (std::size_t i = 0; i < kBuckets / 2; ++i) {
      Bucket merged = buckets[2 * i];
      const Bucket& b = buckets[2 * i + 1];
      if (b.samples) {
        merged.min_ns = merged.samples ? std::min(merged.min_ns, b.min_ns) : b.min_ns;
        merged.max_ns = merged.samples ? std::max(merged.max_ns, b.max_ns) : b.max_ns;
        merged.samples += b.samples;
      }
      buckets[i] = merged;
    }
    for (std::size_t i = kBuckets / 2; i < kBuckets; ++i) buckets[i] = Bucket{};
    used = (used + 1) / 2;
    width_ns *= 2;
    index = since / width_ns;
  }
  Bucket& b = buckets[index];
  b.min_ns = b.samples ? std::min(b.min_ns, ns) : ns;
  b.max_ns = b.samples ? std::max(b.max_ns, ns) : ns;
  ++b.samples;
  used = std::max(used, static_cast<std::size_t>(index) + 1);
}

void PtpAnalyser::offset_sample(Domain& d, Master& ms, std::int64_t capture_ns,
                                const ptp::Timestamp& t, std::int64_t correction) noexcept {
  std::int64_t ptp_ns = 0;
  if (!ptp_time_ns(d, t, ptp_ns)) return;
  // correctionField: ns x 2^16, the residence and path corrections that belong to the origin time.
  const double ns =
      static_cast<double>(sat_sub(capture_ns, ptp_ns)) - static_cast<double>(correction) / 65536.0;
  const bool utc = d.has_gm && d.utc_valid;
  if (ms.offset.samples && ms.offset.utc_applied != utc) ms.offset_history = History{};
  ms.offset.add(ns, utc);
  ms.offset_history.add(capture_ns, ns);
}

void PtpAnalyser::on_delay_req(Domain& d, const ptp::Message& m, std::int64_t ts_ns) noexcept {
  DelayReq& r = d.delay_reqs[d.delay_req_next++ % kDelayReqsKept];
  r.requester = m.source;
  r.sequence_id = m.sequence_id;
  r.ts_ns = ts_ns;
  r.pending = true;
}

void PtpAnalyser::on_delay_resp(Domain& d, Master& ms, const ptp::Message& m) noexcept {
  for (DelayReq& r : d.delay_reqs) {
    if (!r.pending || r.sequence_id != m.sequence_id || !(r.requester == m.requesting)) continue;
    r.pending = false;
    std::int64_t t4 = 0;
    // The Sync's sample and t4 must be on one time scale (both with the UTC offset, or neither).
    if (ms.offset.samples == 0 || ms.offset.utc_applied != (d.has_gm && d.utc_valid) ||
        !ptp_time_ns(d, m.timestamp, t4))
      return;
    // 1588-2008 11.3 with the capture point as the slave: the latest Sync gave
    // c1 - t1 = offset + delay, this pair gives t4 - c3 = delay - offset.
    const double reverse =
        static_cast<double>(sat_sub(t4, r.ts_ns)) - static_cast<double>(m.correction) / 65536.0;
    ms.path_delay.add((ms.offset.last_ns + reverse) / 2, false);
    return;
  }
}

void PtpAnalyser::add_udp(const ParsedPacket& pk, std::int64_t ts_ns) noexcept {
  ++totals_.over_udp;
  add(pk.payload, pk.payload_len, ts_ns, &pk);
}

void PtpAnalyser::add_ethernet(const std::uint8_t* p, std::size_t len,
                               std::int64_t ts_ns) noexcept {
  ++totals_.over_ethernet;
  add(p, len, ts_ns, nullptr);
}

void PtpAnalyser::add(const std::uint8_t* p, std::size_t len, std::int64_t ts_ns,
                      const ParsedPacket* udp) {
  ++totals_.messages;
  ptp::Message m;
  switch (ptp::parse_ptp(p, len, m)) {
    case ptp::ParseResult::kOk:
      break;
    case ptp::ParseResult::kTruncated:
      ++totals_.truncated;
      return;
    case ptp::ParseResult::kBadLength:
      ++totals_.bad_length;
      return;
    case ptp::ParseResult::kBadVersion:
      ++totals_.bad_version;
      return;
    case ptp::ParseResult::kUnknownType:
      ++totals_.unknown_type;
      return;
  }
  if (udp != nullptr && (udp->dst_port == ptp::kEventPort) != ptp::is_event(m.type))  // Annex D.2
    ++totals_.wrong_port;
  Domain* d = domain(m.domain);
  if (d == nullptr) {
    ++totals_.domains_overflow;
    return;
  }
  ++d->messages;
  ++d->by_type[m.type];
  const auto type = static_cast<ptp::MessageType>(m.type);
  if (type == ptp::MessageType::kDelayReq) {
    on_delay_req(*d, m, ts_ns);
    return;
  }
  // Masters send these; Delay_Req, peer delay, Signaling and Management come from anyone.
  if (type != ptp::MessageType::kAnnounce && type != ptp::MessageType::kSync &&
      type != ptp::MessageType::kFollowUp && type != ptp::MessageType::kDelayResp)
    return;
  Master* ms = master(*d, m.source);
  if (ms == nullptr) {
    ++totals_.masters_overflow;
    if (type == ptp::MessageType::kAnnounce) on_announce(*d, m, ts_ns);
    return;
  }
  ms->last_seen_ns = ts_ns;
  if (udp != nullptr) {
    ms->over_udp = true;
    ms->addr_family = udp->family;
    std::memcpy(ms->addr, udp->src, udp->family == 4 ? 4 : 16);
  } else {
    ms->over_ethernet = true;
  }
  switch (type) {
    case ptp::MessageType::kAnnounce:
      ++ms->announces;
      ms->announce.add(ts_ns, m.log_interval);
      on_announce(*d, m, ts_ns);
      break;
    case ptp::MessageType::kSync:
      ms->sync.add(ts_ns, m.log_interval);
      if (ms->sync_pending) ++ms->fu_missing;  // the previous two-step Sync never got its own
      ms->sync_pending = false;
      if (m.two_step()) {
        ms->two_step = true;
        ms->sync_pending = true;
        ms->sync_seq = m.sequence_id;
        ms->sync_ts_ns = ts_ns;
        ms->sync_correction = m.correction;
      } else {
        ms->one_step = true;
        offset_sample(*d, *ms, ts_ns, m.timestamp, m.correction);
      }
      break;
    case ptp::MessageType::kFollowUp:
      ++ms->follow_ups;
      if (ms->sync_pending && ms->sync_seq == m.sequence_id) {
        ms->sync_pending = false;
        ++ms->fu_matched;
        // The Sync's own correction (1588-2008 11.2) adds to the Follow_Up's.
        offset_sample(*d, *ms, ms->sync_ts_ns, m.timestamp,
                      sat_add(m.correction, ms->sync_correction));
      } else {
        ++ms->fu_orphan;
        ++totals_.orphan_follow_ups;
      }
      break;
    case ptp::MessageType::kDelayResp:
      ++ms->delay_resps;
      on_delay_resp(*d, *ms, m);
      break;
    default:
      break;
  }
}

namespace {

// The public figures of an estimate (PtpOffsetEstimate, PtpPathDelay); none without samples.
template <typename Public>
void copy_estimate(const PtpAnalyser::Estimate& e, Public& out) noexcept {
  if (e.samples == 0) return;
  out.samples = e.samples;
  out.last_ns = e.last_ns;
  out.mean_ns = e.mean_ns;
  out.stddev_ns = std::sqrt(e.var_ns2);
  out.min_ns = e.min_ns;
  out.max_ns = e.max_ns;
}

}  // namespace

PtpSnapshot PtpAnalyser::snapshot() const {
  PtpSnapshot s;
  s.totals = totals_;
  for (const Domain& d : domains_) {
    if (!d.used) continue;
    PtpDomainSummary out;
    out.domain = d.number;
    out.has_grandmaster = d.has_gm;
    if (d.has_gm) {
      PtpGrandmaster& g = out.grandmaster;
      g.identity = identity(d.gm.grandmaster);
      g.priority1 = d.gm.priority1;
      g.clock_class = d.gm.clock_class;
      g.clock_accuracy = d.gm.clock_accuracy;
      g.offset_scaled_log_variance = d.gm.offset_scaled_log_variance;
      g.priority2 = d.gm.priority2;
      g.steps_removed = d.gm.steps_removed;
      g.time_source = d.gm.time_source;
      g.current_utc_offset = d.gm.current_utc_offset;
      g.current_utc_offset_valid = d.utc_valid;
    }
    out.grandmaster_since_ns = d.gm_since_ns;
    out.grandmaster_changes = d.gm_changes;
    const std::uint64_t kept = std::min<std::uint64_t>(d.gm_changes, kChangesKept);
    for (std::uint64_t i = d.gm_changes - kept; i < d.gm_changes; ++i) {
      const Change& c = d.changes[i % kChangesKept];
      out.changes.push_back(
          PtpGrandmasterChange{c.ts_ns, c.had_previous, identity(c.from), identity(c.to)});
    }
    out.messages = d.messages;
    std::copy(std::begin(d.by_type), std::end(d.by_type), std::begin(out.messages_by_type));
    for (std::size_t i = 0; i < d.master_count; ++i) {
      const Master& m = d.masters[i];
      PtpMasterSummary ms;
      ms.clock = identity(m.id.clock);
      ms.port = m.id.port;
      if (m.addr_family != 0) {
        ms.address.family = m.addr_family;
        std::memcpy(ms.address.bytes.data(), m.addr, 16);
      }
      ms.over_udp = m.over_udp;
      ms.over_ethernet = m.over_ethernet;
      ms.announces = m.announces;
      ms.syncs = m.sync.messages;
      ms.follow_ups = m.follow_ups;
      ms.delay_resps = m.delay_resps;
      ms.two_step = m.two_step;
      ms.one_step = m.one_step;
      ms.follow_ups_matched = m.fu_matched;
      ms.follow_ups_missing = m.fu_missing;
      ms.follow_ups_orphan = m.fu_orphan;
      ms.announce = summarize(m.announce.gaps, m.announce.log_interval);
      ms.sync = summarize(m.sync.gaps, m.sync.log_interval);
      copy_estimate(m.offset, ms.offset);
      ms.offset.utc_offset_applied = m.offset.utc_applied;
      const History& h = m.offset_history;
      for (std::size_t b = 0; b < h.used; ++b) {
        if (!h.buckets[b].samples) continue;
        const std::int64_t start = sat_add(h.origin_ns, sat_mul(h.width_ns, std::int64_t(b)));
        ms.offset_history.push_back({start, sat_add(start, h.width_ns), h.buckets[b].min_ns,
                                     h.buckets[b].max_ns, h.buckets[b].samples});
      }
      copy_estimate(m.path_delay, ms.path_delay);
      ms.last_seen_ns = m.last_seen_ns;
      out.masters.push_back(ms);
    }
    s.domains.push_back(std::move(out));
  }
  std::sort(
      s.domains.begin(), s.domains.end(),
      [](const PtpDomainSummary& a, const PtpDomainSummary& b) { return a.domain < b.domain; });
  return s;
}

void PtpAnalyser::clear() noexcept {
  totals_ = PtpTotals{};
  for (Domain& d : domains_) d = Domain{};
}

}  // namespace analysis
}  // namespace rtcap
