// ST 2022-7 pairing and merge analysis; the model and its bounds are in redundancy.hpp.
#include "analysis/redundancy.hpp"
#include "analysis/hash.hpp"
#include "analysis/wire_text.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace rtcap {

const char* to_string(PairedBy by) noexcept {
  return by == PairedBy::kSdpGroup ? "sdp_group" : "ssrc";
}

const char* to_string(SkewClass c) noexcept {
  switch (c) {
    case SkewClass::kUltraLowSkew:
      return "ultra_low_skew";
    case SkewClass::kLowSkew:
      return "low_skew";
    case SkewClass::kModerateSkew:
      return "moderate_skew";
    case SkewClass::kHighSkew:
      return "high_skew";
    case SkewClass::kBeyond:
      return "beyond_high_skew";
    case SkewClass::kUnknown:
      break;
  }
  return "unknown";
}

SkewClass skew_class_of(double max_differential_us) noexcept {
  if (!(max_differential_us >= 0)) return SkewClass::kUnknown;
  if (max_differential_us <= kUltraLowSkewMaxUs) return SkewClass::kUltraLowSkew;
  if (max_differential_us <= kLowSkewMaxUs) return SkewClass::kLowSkew;
  if (max_differential_us <= kModerateSkewMaxUs) return SkewClass::kModerateSkew;
  if (max_differential_us <= kHighSkewMaxUs) return SkewClass::kHighSkew;
  return SkewClass::kBeyond;
}

namespace analysis {

namespace {

constexpr std::int64_t kWindow = kRedundancyWindow;
static_assert((kRedundancyWindow & (kRedundancyWindow - 1)) == 0, "window is a power of two");

// FNV-1a over the origin (which names the session: "sap 198.18.0.1 #1a2b", "file a.sdp") and
// the group's index in that SDP; never 0 (0 means "no group").
std::uint64_t dup_key_of(const SdpFormat& f) noexcept {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (char c : f.origin) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  h = fmix(h ^ static_cast<std::uint64_t>(f.dup_group));
  return h == 0 ? 1 : h;
}

// Integer octaves (no log2 per packet): |d| in whole us, bin = bit width.
inline int diff_bin(double abs_us) noexcept {
  if (!(abs_us < 1e15)) return RedundancyAnalyser::kDiffBins - 1;
  const auto us = static_cast<std::uint64_t>(abs_us);  // [2^(e-1), 2^e) has bit width e
  return std::min(static_cast<int>(std::bit_width(us)), RedundancyAnalyser::kDiffBins - 1);
}

}  // namespace

// --- the waiting tables: streams not (yet) paired, by SSRC and by DUP group ---

void RedundancyAnalyser::Waiting::init(std::size_t max_streams) {
  std::size_t buckets = 16;
  while (buckets < 2 * max_streams) buckets *= 2;  // one entry per stream at most: load <= 0.5
  keys.assign(buckets, 0);
  nodes.assign(buckets, kNone);
  mask = buckets - 1;
}

void RedundancyAnalyser::Waiting::insert(std::uint64_t key, std::uint32_t node) noexcept {
  std::size_t i = fmix(key) & mask;
  while (nodes[i] != kNone) {
    if (nodes[i] == node && keys[i] == key) return;
    i = (i + 1) & mask;
  }
  keys[i] = key;
  nodes[i] = node;
}

void RedundancyAnalyser::Waiting::erase(std::uint64_t key, std::uint32_t node) noexcept {
  std::size_t i = fmix(key) & mask;
  while (nodes[i] != kNone && !(nodes[i] == node && keys[i] == key)) i = (i + 1) & mask;
  if (nodes[i] == kNone) return;
  std::size_t hole = i;
  for (std::size_t j = (hole + 1) & mask; nodes[j] != kNone; j = (j + 1) & mask) {
    const std::size_t home = fmix(keys[j]) & mask;
    // Move j into the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!stays) {
      keys[hole] = keys[j];
      nodes[hole] = nodes[j];
      hole = j;
    }
  }
  nodes[hole] = kNone;
}

void RedundancyAnalyser::Waiting::reset() noexcept { std::fill(nodes.begin(), nodes.end(), kNone); }

RedundancyAnalyser::RedundancyAnalyser(std::size_t max_streams)
    : nodes_(max_streams), pairs_(kMaxRedundantPairs) {
  by_ssrc_.init(max_streams);
  by_dup_.init(max_streams);
}

void RedundancyAnalyser::clear() noexcept {
  for (Node& n : nodes_) n = Node{};
  for (Pair& p : pairs_) {
    std::vector<Slot> keep = std::move(p.window);
    p = Pair{};
    p.window = std::move(keep);
  }
  by_ssrc_.reset();
  by_dup_.reset();
  totals_ = RedundancyTotals{};
}

std::size_t RedundancyAnalyser::memory_bytes() const noexcept {
  std::size_t b = nodes_.capacity() * sizeof(Node) + pairs_.capacity() * sizeof(Pair) +
                  (by_ssrc_.keys.capacity() + by_dup_.keys.capacity()) * 12;
  for (const Pair& p : pairs_) b += p.window.capacity() * sizeof(Slot) + p.group.capacity();
  return b;
}

// --- pairing ---

bool RedundancyAnalyser::ssrc_compatible(const Node& a, const Node& b) const noexcept {
  // Two paths: another interface, or another destination (group or port). The same flow twice
  // is not a second path.
  return a.id.ssrc == b.id.ssrc &&
         (a.id.interface_index != b.id.interface_index || a.id.dst_port != b.id.dst_port ||
          a.id.family != b.id.family || std::memcmp(a.id.dst, b.id.dst, 16) != 0);
}

void RedundancyAnalyser::wait_ssrc(std::uint32_t node) noexcept {
  by_ssrc_.insert(nodes_[node].id.ssrc, node);
}

void RedundancyAnalyser::try_ssrc(std::uint32_t node) noexcept {
  const Node& me = nodes_[node];
  std::size_t i = fmix(me.id.ssrc) & by_ssrc_.mask;
  for (; by_ssrc_.nodes[i] != kNone; i = (i + 1) & by_ssrc_.mask) {
    const std::uint32_t other = by_ssrc_.nodes[i];
    if (other == node || by_ssrc_.keys[i] != me.id.ssrc) continue;
    const Node& o = nodes_[other];
    if (!o.live || o.pair != kNone || !ssrc_compatible(o, me)) continue;
    // The leg seen first is path 0.
    const bool older = o.id.stream_id < me.id.stream_id;
    if (form(older ? other : node, older ? node : other, PairedBy::kSsrc)) return;
    break;  // no pair slot: both stay waiting
  }
  wait_ssrc(node);
}

void RedundancyAnalyser::on_stream(std::uint32_t node, const LegIdentity& id) noexcept {
  if (node >= nodes_.size()) return;
  Node& n = nodes_[node];
  n = Node{};
  n.id = id;
  n.live = true;
  try_ssrc(node);
}

void RedundancyAnalyser::on_format(std::uint32_t node, const SdpFormat* f) noexcept {
  if (node >= nodes_.size() || !nodes_[node].live) return;
  Node& n = nodes_[node];
  const std::uint64_t key =
      f != nullptr && f->dup_group >= 0 && f->dup_leg >= 0 ? dup_key_of(*f) : 0;
  if (key == n.dup_key && (key == 0 || f->dup_leg == n.dup_leg)) return;
  if (n.pair != kNone && pairs_[n.pair].by == PairedBy::kSdpGroup) dissolve(n.pair, false);
  if (n.dup_key != 0) by_dup_.erase(n.dup_key, node);
  n.dup_key = key;
  n.dup_leg = key ? static_cast<std::int8_t>(f->dup_leg) : -1;
  n.mid = {};
  if (key == 0) return;
  std::memcpy(n.mid.data(), f->mid.data(), std::min(f->mid.size(), kMaxMidBytes));
  // The twin: the other leg of the same group, waiting.
  std::size_t i = fmix(key) & by_dup_.mask;
  for (; by_dup_.nodes[i] != kNone; i = (i + 1) & by_dup_.mask) {
    const std::uint32_t other = by_dup_.nodes[i];
    const Node& o = nodes_[other];
    if (by_dup_.keys[i] != key || other == node || !o.live || o.dup_leg == n.dup_leg) continue;
    if (o.pair != kNone) {
      if (pairs_[o.pair].by == PairedBy::kSdpGroup) continue;
      dissolve(o.pair, false);  // an SDP says which legs belong together: it wins over the SSRC
    }
    if (n.pair != kNone) dissolve(n.pair, false);
    const std::uint32_t first = n.dup_leg == 0 ? node : other;
    const std::uint32_t second = n.dup_leg == 0 ? other : node;
    if (form(first, second, PairedBy::kSdpGroup)) {
      by_dup_.erase(key, other);
      return;
    }
    break;
  }
  by_dup_.insert(key, node);
}

void RedundancyAnalyser::on_evict(std::uint32_t node) noexcept {
  if (node >= nodes_.size() || !nodes_[node].live) return;
  Node& n = nodes_[node];
  if (n.pair != kNone) dissolve(n.pair, true);
  by_ssrc_.erase(n.id.ssrc, node);
  if (n.dup_key != 0) by_dup_.erase(n.dup_key, node);
  n = Node{};
}

bool RedundancyAnalyser::peer(std::uint32_t node, std::uint32_t& other, int& leg,
                              std::string& group) const {
  if (node >= nodes_.size() || !nodes_[node].live || nodes_[node].pair == kNone) return false;
  const Pair& pr = pairs_[nodes_[node].pair];
  leg = nodes_[node].leg;
  other = pr.node[1 - leg];
  group = pr.group;
  return true;
}

bool RedundancyAnalyser::form(std::uint32_t leg0, std::uint32_t leg1, PairedBy by) noexcept {
  std::uint32_t p = 0;
  while (p < pairs_.size() && pairs_[p].used) ++p;
  if (p == pairs_.size()) {
    ++totals_.pairs_not_kept;
    return false;
  }
  Pair& pr = pairs_[p];
  try {
    if (pr.window.empty()) pr.window.resize(kRedundancyWindow);  // once per pair slot
    if (by == PairedBy::kSdpGroup)
      pr.group = fmt::format("DUP {} {}", nodes_[leg0].mid.data(), nodes_[leg1].mid.data());
    else
      pr.group = fmt::format("ssrc 0x{:08x}", nodes_[leg0].id.ssrc);
  } catch (...) {
    ++totals_.pairs_not_kept;
    return false;
  }
  std::vector<Slot> window = std::move(pr.window);
  std::string group = std::move(pr.group);
  pr = Pair{};
  pr.window = std::move(window);
  pr.group = std::move(group);
  for (Slot& s : pr.window) s.at[0] = s.at[1] = kAbsent;
  pr.used = true;
  pr.by = by;
  pr.node[0] = leg0;
  pr.node[1] = leg1;
  for (std::uint8_t leg = 0; leg < 2; ++leg) {
    Node& n = nodes_[pr.node[leg]];
    n.pair = p;
    n.leg = leg;
    by_ssrc_.erase(n.id.ssrc, pr.node[leg]);
  }
  ++totals_.pairs_formed;
  ++pairing_version_;
  return true;
}

// Ends a pair; its legs wait for a partner again unless `ended` (one leg is leaving).
void RedundancyAnalyser::dissolve(std::uint32_t p, bool ended) noexcept {
  Pair& pr = pairs_[p];
  if (!pr.used) return;
  pr.used = false;
  ++pairing_version_;
  if (ended) ++totals_.pairs_ended;
  for (std::uint32_t node : pr.node) {
    Node& n = nodes_[node];
    n.pair = kNone;
    if (n.dup_key != 0) by_dup_.insert(n.dup_key, node);
    wait_ssrc(node);
  }
}

// --- merging ---

void RedundancyAnalyser::record_differential(Pair& pr, double d_us, std::int64_t ts_ns) noexcept {
  const double a = std::fabs(d_us);
  if (pr.diff_count == 0) {
    pr.diff_min_us = pr.diff_max_us = d_us;
  } else {
    pr.diff_min_us = std::min(pr.diff_min_us, d_us);
    pr.diff_max_us = std::max(pr.diff_max_us, d_us);
  }
  ++pr.diff_count;
  pr.diff_sum_us += d_us;
  pr.diff_max_abs_us = std::max(pr.diff_max_abs_us, a);
  ++pr.diff_bins[diff_bin(a)];
  // A new second of packet time: one comparison per packet, a division once a second.
  if (ts_ns >= pr.second_end_ns || ts_ns < pr.second_end_ns - 1'000'000'000) {
    if (pr.second_end_ns != INT64_MIN)
      pr.recent[pr.recent_count++ % kRecentSeconds] = pr.second_max_us;
    const std::int64_t sec = ts_ns / 1'000'000'000;  // a file's time stamp can be anything
    pr.second_end_ns = sec < INT64_MAX / 1'000'000'000 ? (sec + 1) * 1'000'000'000 : INT64_MAX;
    pr.second_max_us = 0;
  }
  pr.second_max_us = std::max(pr.second_max_us, a);
}

void RedundancyAnalyser::finalise(Pair& pr, std::int64_t ext, const Slot& s) noexcept {
  if (!pr.counting || ext < pr.count_from) return;
  const bool got0 = s.at[0] != kAbsent;
  const bool got1 = s.at[1] != kAbsent;
  ++pr.expected;
  pr.received[0] += got0;
  pr.received[1] += got1;
  pr.merged_lost += !got0 && !got1;
  pr.last_counted = ext;
}

// A jump past the window (a restart, or a spoofed number): count what the window held and start
// again from `ext`, taking nothing skipped as lost.
void RedundancyAnalyser::resync(Pair& pr, std::int64_t ext) noexcept {
  for (std::int64_t e = pr.front - kWindow + 1; e <= pr.front; ++e) {
    Slot& s = pr.window[static_cast<std::size_t>(e & (kWindow - 1))];
    if (e >= pr.start) finalise(pr, e, s);
    s.at[0] = s.at[1] = kAbsent;
  }
  ++pr.resyncs;
  pr.seen[0] = pr.seen[1] = false;
  pr.counting = false;
  pr.front = pr.start = ext;
}

void RedundancyAnalyser::update(std::uint32_t p, std::uint8_t leg, std::uint16_t seq,
                                std::int64_t ts_ns) noexcept {
  Pair& pr = pairs_[p];
  // Extended sequence numbers, relative to the front: the two paths are within half the
  // sequence space of each other, or one of them is not the same stream.
  if (!pr.started) {
    pr.started = true;
    pr.front = pr.start = (std::int64_t{1} << 20) + seq;
  }
  const std::int64_t ext =
      pr.front + static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - pr.front));
  if (ext > pr.front) {
    pr.late_run = 0;
    if (ext - pr.front >= kWindow) {
      resync(pr, ext);
    } else {
      for (std::int64_t e = pr.front + 1; e <= ext; ++e) {
        Slot& s = pr.window[static_cast<std::size_t>(e & (kWindow - 1))];
        if (e - kWindow >= pr.start) finalise(pr, e - kWindow, s);
        s.at[0] = s.at[1] = kAbsent;
      }
      pr.front = ext;
    }
  } else if (ext <= pr.front - kWindow || ext < pr.start) {
    if (ext <= pr.front - kWindow) {
      ++pr.late[leg];
      // A run of them is a sender that restarted lower, not late copies: follow it.
      if (++pr.late_run < kLateRunResync) return;
      resync(pr, ext);
      pr.late_run = 0;
      if (pr.by == PairedBy::kSsrc && pr.matched == 0 && pr.resyncs >= kResyncsUnmatched) {
        ++totals_.pairs_dissolved;
        dissolve(p, false);
        return;
      }
    } else {
      return;
    }
  } else {
    pr.late_run = 0;
  }
  Slot& s = pr.window[static_cast<std::size_t>(ext & (kWindow - 1))];
  if (s.at[leg] != kAbsent) {
    ++pr.duplicates[leg];
    return;
  }
  s.at[leg] = ts_ns;
  if (!pr.seen[leg]) {
    pr.seen[leg] = true;
    pr.first[leg] = pr.high[leg] = ext;
    if (pr.seen[0] && pr.seen[1]) {
      pr.counting = true;
      pr.count_from = std::max(pr.first[0], pr.first[1]);
    }
  }
  if (ext > pr.high[leg]) pr.high[leg] = ext;
  if (s.at[1 - leg] != kAbsent) {
    ++pr.matched;
    // In doubles: two hostile time stamps need not subtract in 64 bits.
    record_differential(pr, (static_cast<double>(s.at[1]) - static_cast<double>(s.at[0])) / 1e3,
                        ts_ns);
  }
  // The same SSRC, but no sequence number met in two windows of packets (or the numbers keep
  // jumping past each other): not two copies of one stream.
  if (pr.by == PairedBy::kSsrc && pr.matched == 0 &&
      (++pr.unmatched_packets >= 2 * kWindow || pr.resyncs >= kResyncsUnmatched)) {
    ++totals_.pairs_dissolved;
    dissolve(p, false);
  }
}

std::vector<RedundantPair> RedundancyAnalyser::pairs() const {
  std::vector<RedundantPair> out;
  for (const Pair& pr : pairs_) {
    if (!pr.used) continue;
    RedundantPair r;
    r.paired_by = pr.by;
    r.group = pr.group;
    std::uint64_t expected = pr.expected, merged = pr.merged_lost;
    std::uint64_t received[2] = {pr.received[0], pr.received[1]};
    std::int64_t last = pr.last_counted;
    if (pr.counting) {
      // The window so far: up to the highest number both paths have reached (above it, the
      // later path may still deliver).
      const std::int64_t due = std::min(pr.high[0], pr.high[1]);
      for (std::int64_t e = std::max(pr.count_from, pr.front - kWindow + 1); e <= due; ++e) {
        if (e <= pr.last_counted) continue;
        const Slot& s = pr.window[static_cast<std::size_t>(e & (kWindow - 1))];
        const bool got0 = s.at[0] != kAbsent, got1 = s.at[1] != kAbsent;
        ++expected;
        received[0] += got0;
        received[1] += got1;
        merged += !got0 && !got1;
        last = e;
      }
    }
    r.expected = expected;
    r.merged_lost = merged;
    if (expected > 0) {
      r.first_seq = static_cast<std::uint16_t>(pr.count_from);
      r.last_seq = static_cast<std::uint16_t>(last);
    }
    for (int leg = 0; leg < 2; ++leg) {
      RedundantPath& path = r.path[leg];
      path.stream_id = nodes_[pr.node[leg]].id.stream_id;
      path.received = received[leg];
      path.lost = expected - received[leg];
      path.duplicates = pr.duplicates[leg];
      path.late_beyond_window = pr.late[leg];
    }
    r.resyncs = pr.resyncs;
    r.differential_count = pr.diff_count;
    if (pr.diff_count > 0) {
      r.differential_mean_us = pr.diff_sum_us / static_cast<double>(pr.diff_count);
      r.differential_min_us = pr.diff_min_us;
      r.differential_max_us = pr.diff_max_us;
      r.differential_max_abs_us = pr.diff_max_abs_us;
      r.skew_class = skew_class_of(pr.diff_max_abs_us);
      r.buffer_needed_us = pr.diff_max_abs_us;
    }
    for (int b = 0; b < kDiffBins; ++b) {
      if (pr.diff_bins[b] == 0) continue;
      PathDifferentialBin bin;
      bin.lower_us = b == 0 ? 0 : std::ldexp(1.0, b - 1);
      bin.upper_us = b == kDiffBins - 1 ? HUGE_VAL : std::ldexp(1.0, b);
      bin.count = pr.diff_bins[b];
      r.differential_histogram.push_back(bin);
    }
    const std::uint64_t n = std::min<std::uint64_t>(pr.recent_count, kRecentSeconds);
    for (std::uint64_t i = pr.recent_count - n; i < pr.recent_count; ++i)
      r.differential_recent_max_us.push_back(pr.recent[i % kRecentSeconds]);
    out.push_back(std::move(r));
  }
  return out;
}

void apply_redundancy(TrackerSnapshot& s) {
  for (RedundantPair& r : s.redundancy) {
    double ptime_ms = 0;
    for (const StreamSummary& st : s.streams) {
      if (st.id == r.path[0].stream_id || st.id == r.path[1].stream_id)
        ptime_ms = std::max(ptime_ms, st.interval.ptime_ms);
      if (st.id != r.path[0].stream_id) continue;
      const std::string& session = st.sdp.session_name;
      r.name = fmt::format(
          "{}{}:{} ssrc 0x{:08x}{}",
          st.has_sdp && !session.empty() && session != "-" ? "'" + printable_text(session) + "' "
                                                           : std::string(),
          st.dst.family == 6 ? "[" + st.dst.to_string() + "]" : st.dst.to_string(), st.dst_port,
          st.ssrc, st.interface_index ? fmt::format(" if {}", st.interface_index) : "");
    }
    if (r.name.empty()) r.name = fmt::format("stream {}", r.path[0].stream_id);
    if (ptime_ms > 0 && r.differential_count > 0)
      r.buffer_needed_packets =
          static_cast<std::uint64_t>(std::ceil(r.buffer_needed_us / (ptime_ms * 1e3)));
  }
  // Two primaries alike (another source, same destination and SSRC): the stream ids tell apart.
  std::vector<bool> alike(s.redundancy.size());
  for (std::size_t i = 0; i < alike.size(); ++i)
    for (std::size_t j = 0; j < alike.size(); ++j)
      if (i != j && s.redundancy[i].name == s.redundancy[j].name) alike[i] = true;
  for (std::size_t i = 0; i < alike.size(); ++i)
    if (alike[i])
      s.redundancy[i].name += fmt::format(" (stream {})", s.redundancy[i].path[0].stream_id);
}

}  // namespace analysis
}  // namespace rtcap
