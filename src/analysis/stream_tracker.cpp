// The stream table: a preallocated node pool, an open-addressing index (linear probing,
// backward-shift deletion, no tombstones) and an intrusive LRU list through the nodes. Nothing in
// add() allocates except a slot's delay histogram the first time that slot sees a send-time
// extension (at most max_streams times over the tracker's life; reused after eviction).
#include <cstdint>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "analysis/catalogue.hpp"
#include "analysis/format_words.hpp"
#include "analysis/hash.hpp"
#include "analysis/packet_parser.hpp"
#include "analysis/ptp_analyser.hpp"
#include "analysis/redundancy.hpp"
#include "analysis/rtp_handoff.hpp"
#include "analysis/rtp_stats.hpp"
#include "analysis/running_intervals.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/histogram.hpp"
#include "stats/histogram_recorder.hpp"

namespace rtcap {

namespace {

using analysis::Destination;
using analysis::JitterTracker;
using analysis::ParseClass;
using analysis::RtpHeader;
using analysis::SeqTracker;

constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();

// 44 bytes, no padding: make_key builds it and its hash, same_key compares two.
struct FlowKey {
  std::uint8_t src[16];
  std::uint8_t dst[16];
  std::uint32_t ssrc;
  std::uint16_t src_port;
  std::uint16_t dst_port;
  std::uint16_t interface_index;
  std::uint8_t family;
  std::uint8_t is_rtp;
};
static_assert(sizeof(FlowKey) == 44);

using analysis::fmix;
// fmix over a running combination.
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
  return fmix(a ^ (b * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull));
}

// The key and its hash from six words in registers, the key stored a word at a time: a key built
// field by field (a memset, 4-byte addresses, 2-byte ports) and read back as words by the hash
// and the compare makes loads that span several narrower stores, which the CPU cannot forward
// from them; that stall was the tracker's hottest spot (perf, BM_Tracker_12Streams_SapCatalogue).
inline FlowKey make_key(std::uint8_t family, const std::uint8_t* src, const std::uint8_t* dst,
                        std::uint16_t src_port, std::uint16_t dst_port,
                        std::uint16_t interface_index, bool is_rtp, std::uint32_t ssrc,
                        std::uint64_t& hash) noexcept {
  std::uint64_t w0 = 0, w1 = 0, w2 = 0, w3 = 0;
  if (family == 4) {
    std::uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, dst, 4);
    w0 = a;
    w2 = b;
  } else {
    std::memcpy(&w0, src, 8);
    std::memcpy(&w1, src + 8, 8);
    std::memcpy(&w2, dst, 8);
    std::memcpy(&w3, dst + 8, 8);
  }
  const std::uint64_t w4 = ssrc | std::uint64_t{src_port} << 32 | std::uint64_t{dst_port} << 48;
  const std::uint32_t w5 =
      interface_index | std::uint32_t{family} << 16 | static_cast<std::uint32_t>(is_rtp) << 24;
  hash = mix(mix(w0, w1) ^ mix(w2, w3), mix(w4, w5));
  FlowKey k;
  if constexpr (std::endian::native == std::endian::little) {  // the fields' bytes, word by word
    auto* out = reinterpret_cast<unsigned char*>(&k);
    std::memcpy(out, &w0, 8);
    std::memcpy(out + 8, &w1, 8);
    std::memcpy(out + 16, &w2, 8);
    std::memcpy(out + 24, &w3, 8);
    std::memcpy(out + 32, &w4, 8);
    std::memcpy(out + 40, &w5, 4);
  } else {
    std::memset(&k, 0, sizeof k);
    std::memcpy(k.src, src, family == 4 ? 4 : 16);
    std::memcpy(k.dst, dst, family == 4 ? 4 : 16);
    k.ssrc = ssrc;
    k.src_port = src_port;
    k.dst_port = dst_port;
    k.interface_index = interface_index;
    k.family = family;
    k.is_rtp = is_rtp ? 1 : 0;
  }
  return k;
}

// At make_key's offsets and sizes, so that the loads of a key just stored are forwarded.
inline bool same_key(const FlowKey& a, const FlowKey& b) noexcept {
  const auto* x = reinterpret_cast<const unsigned char*>(&a);
  const auto* y = reinterpret_cast<const unsigned char*>(&b);
  std::uint64_t p[5], q[5];
  std::uint32_t pt, qt;
  std::memcpy(p, x, 40);
  std::memcpy(q, y, 40);
  std::memcpy(&pt, x + 40, 4);
  std::memcpy(&qt, y + 40, 4);
  return ((p[0] ^ q[0]) | (p[1] ^ q[1]) | (p[2] ^ q[2]) | (p[3] ^ q[3]) | (p[4] ^ q[4]) |
          (pt ^ qt)) == 0;
}

// Arrival gaps, and how many were long.
struct IntervalAccumulator : analysis::RunningIntervals {
  std::uint64_t long_gaps = 0;

  void add(std::int64_t gap_ns, std::int64_t ptime_ns) noexcept {
    RunningIntervals::add(gap_ns);
    // 1.5 x ptime: a gap that long means at least one packet is missing or late.
    if (ptime_ns > 0 && 2 * gap_ns > 3 * ptime_ns) ++long_gaps;
  }
};

// PIT histogram: log-linear over microseconds, 8 bins per octave (12.5% wide), values 0..7 us
// one bin each, 2^kPitOctaves us (16.8 s) and above in the last bin. 8 per octave resolves the
// 125 us packet time to 15 us and the 1 ms one to 125 us, the widths EBU LIST's PIT plots use
// to tell a 125 us sender's bursts apart. Fixed size: 4 bytes x kPitBins per stream.
constexpr int kPitOctaves = 24;
constexpr int kPitBins = 8 + (kPitOctaves - 3) * 8 + 1;

inline int pit_bin(std::int64_t gap_ns) noexcept {
  if (gap_ns < 8000) return gap_ns <= 0 ? 0 : static_cast<int>(gap_ns / 1000);
  const auto us = static_cast<std::uint64_t>(gap_ns / 1000);
  const int e = std::bit_width(us) - 1;  // >= 3
  if (e >= kPitOctaves) return kPitBins - 1;
  return 8 + (e - 3) * 8 + static_cast<int>((us >> (e - 3)) & 7u);
}
inline void pit_bin_bounds(int bin, double& lower_us, double& upper_us) noexcept {
  if (bin < 8) {
    lower_us = bin;
    upper_us = bin + 1;
    return;
  }
  if (bin == kPitBins - 1) {
    lower_us = std::ldexp(1.0, kPitOctaves);
    upper_us = std::numeric_limits<double>::infinity();
    return;
  }
  const int e = 3 + (bin - 8) / 8;
  const int sub = (bin - 8) % 8;
  const double step = std::ldexp(1.0, e - 3);
  lower_us = std::ldexp(1.0, e) + sub * step;
  upper_us = lower_us + step;
}

// A sequence gap: `missing` packets between two received ones that arrived at prev_ns, next_ns.
struct PendingGap {
  std::int64_t prev_ns;
  std::int64_t next_ns;
  std::uint64_t missing;
};
// 8: a stream loses packets in at most a few places within the settle horizon (5 s) unless its
// network is very lossy; then the oldest gap is settled early, against the outages known then.
constexpr std::uint32_t kPendingGaps = 8;
// The last TS-DF windows a snapshot carries: 16 of 200 ms are 3.2 s, three status intervals, so
// a reader that samples once a second (the SVG) sees every window.
constexpr std::uint32_t kTsDfRecent = 16;

struct Outage {
  std::uint16_t interface_index;
  std::int64_t begin_ns;
  std::int64_t end_ns;  // INT64_MAX: still down
};

// Missing packets of a gap that fall in [begin - step, end + step), step being the gap's packet
// spacing: the packets either side bound it, the link looks and the packets the interface
// carried bound the outage, and a sender's jitter of under a packet time must not move a packet
// out of the outage it fell in.
inline std::uint64_t missing_in_outage(const PendingGap& g, std::int64_t begin_ns,
                                       std::int64_t end_ns) noexcept {
  if (g.missing == 0 || g.next_ns <= g.prev_ns) return 0;
  const double step =
      static_cast<double>(g.next_ns - g.prev_ns) / static_cast<double>(g.missing + 1);
  // Positions relative to prev_ns, in steps: packet k (1..missing) is at k.
  const double lo = (static_cast<double>(begin_ns) - static_cast<double>(g.prev_ns)) / step - 1;
  const double hi = end_ns == std::numeric_limits<std::int64_t>::max()
                        ? std::numeric_limits<double>::infinity()
                        : (static_cast<double>(end_ns) - static_cast<double>(g.prev_ns)) / step + 1;
  // k in [lo, hi): the first is ceil(lo), the last the largest k below hi.
  const double first = std::max(1.0, std::ceil(lo));
  const double last = std::min(static_cast<double>(g.missing), std::ceil(hi) - 1);
  return last >= first ? static_cast<std::uint64_t>(last - first + 1) : 0;
}

// What a stream measures in its media clock: a new clock (a late SDP, a re-announcement) starts
// all of it afresh at once (restart_timing).
struct ClockTimed {
  JitterTracker jitter;
  // ptime estimate: the RTP timestamp step between sequential packets, once seen 3 times running.
  std::uint32_t ptime_ticks = 0;
  std::uint32_t ptime_candidate = 0;
  std::uint32_t ptime_streak = 0;
  std::int64_t ptime_ns = 0;  // ptime_ticks in ns, 0: unknown
  IntervalAccumulator pit;    // arrival gaps since timing_since_ns
  // Of them, the gaps that span a sequence gap or a reordering (not the sender's pacing).
  std::uint64_t pit_unpaced = 0;
  double pit_unpaced_ns = 0;
  // AES67 / ST 2110-30 timing (docs/TUNING.md): PIT histogram, TS-DF window, drift sums.
  std::uint32_t pit_bins[kPitBins] = {};
  std::int64_t tsdf_ref_arrival_ns = 0;  // R(0) of the current window; also its start
  std::uint32_t tsdf_ref_ts = 0;         // S(0) of the current window
  bool tsdf_open = false;
  double tsdf_min_ns = 0;
  double tsdf_max_ns = 0;
  double tsdf_max_window_ns = 0;  // largest completed window
  double tsdf_last_window_ns = 0;
  std::uint64_t tsdf_windows = 0;
  float tsdf_recent_ns[kTsDfRecent] = {};  // completed windows, by window number mod kTsDfRecent
  // Drift: least squares of y = RTP time - arrival time against x = arrival time (both s, from
  // the first packet of the run), as plain sums (x from the run's first packet keeps them small).
  std::int64_t drift_first_arrival_ns = 0;
  std::int64_t drift_ts_ext = 0;  // RTP timestamp, unwrapped by signed 32-bit steps, from the first
  std::uint32_t drift_prev_ts = 0;
  double drift_n = 0, drift_sx = 0, drift_sy = 0, drift_sxx = 0, drift_sxy = 0;
  // Delta packet vs RTP, us.
  std::uint64_t delta_count = 0;
  double delta_sum_us = 0;
  double delta_min_us = std::numeric_limits<double>::infinity();
  double delta_max_us = -std::numeric_limits<double>::infinity();
  std::int64_t delta_base_ns = 0;      // arrival of the packet the tick count was worked out at
  std::uint32_t delta_base_ticks = 0;  // floor(arrival x rate) mod 2^32 at delta_base_ns
  double delta_base_frac = 0;          // the fraction of a tick floor() dropped there
};

// The public key of a tracked RTP stream.
StreamKey stream_key_of(const FlowKey& k) noexcept {
  StreamKey key;
  key.interface_index = k.interface_index;
  key.src.family = key.dst.family = k.family;
  std::memcpy(key.src.bytes.data(), k.src, 16);
  std::memcpy(key.dst.bytes.data(), k.dst, 16);
  key.src_port = k.src_port;
  key.dst_port = k.dst_port;
  key.ssrc = k.ssrc;
  return key;
}

struct Stream : ClockTimed {
  FlowKey key;
  std::uint64_t hash;
  std::uint32_t lru_prev;
  std::uint32_t lru_next;
  std::uint32_t dst_prev;  // the chain of streams whose destination hashes to one bucket
  std::uint32_t dst_next;
  std::uint64_t id;
  std::uint64_t packets;
  std::uint64_t bytes;
  std::int64_t first_ts_ns;
  std::int64_t last_ts_ns;
  IntervalAccumulator interval;
  // RTP
  SeqTracker seq;
  std::uint32_t clock_rate;
  std::uint8_t payload_type;
  bool have_prev_rtp;
  std::uint16_t prev_seq;
  std::uint32_t prev_rtp_ts;
  std::uint16_t max_seq_seen;  // mirror of seq.max_seq() for the timestamp check
  std::uint32_t max_seq_ts;    // RTP timestamp of the packet holding the highest sequence number
  std::int64_t max_seq_arrival_ns;  // arrival of that packet: the start of the next gap
  // Capture outages (issue 13): each sequence gap waits here, its missing packets laid out
  // evenly between the packets either side, until it is older than the settle horizon (the
  // outage it fell in is known by then), then its share of the outages is settled.
  PendingGap pending[kPendingGaps];
  std::uint32_t pending_first;  // ring index of the oldest
  std::uint32_t pending_count;
  std::uint64_t outage_lost;    // settled: missing packets that fell in a capture outage
  std::uint32_t payload_bytes;  // of the latest packet
  ClockSource clock_source;
  std::int32_t sdp_index;        // catalogue format slot, -1: none
  std::int32_t option_index;     // into config.audio_formats, -1: none
  std::uint32_t sdp_generation;  // the slot's generation when it was matched
  bool clock_known;              // clock resolved for payload_type
  // Clock-derived figures (jitter maximum, PIT test, TS-DF, drift) count from here: the first
  // packet, or the first after the clock changed (a late SDP, a re-announcement).
  std::int64_t timing_since_ns;
  std::uint32_t clock_changes;
  std::uint32_t previous_clock_rate;  // before the last change (0: none)
  double ns_per_tick;                 // 1e9 / clock_rate
  double ticks_per_ns;                // clock_rate / 1e9
  // one-way delay
  std::uint64_t delay_count;
  std::int64_t delay_min_ns;
  std::int64_t delay_max_ns;
  double delay_sum_ns;
  std::uint64_t delay_negative;
};

constexpr std::uint32_t kPtimeConfirmations = 3;

}  // namespace

struct RTCAP_LOCAL StreamTracker::Impl {
  explicit Impl(StreamTrackerConfig c)
      : config(std::move(c)),
        catalogue(config.max_sdp_formats ? config.max_sdp_formats : 1),
        redundancy(std::clamp<std::size_t>(config.max_streams, 1, kNil / 4)) {
    if (config.max_streams == 0) config.max_streams = 1;
    if (config.max_streams >= kNil / 4) config.max_streams = kNil / 4;
    std::size_t buckets = 16;
    while (buckets < 2 * config.max_streams) buckets *= 2;  // load factor <= 0.5
    index.assign(buckets, kNil);
    dst_heads.assign(buckets, kNil);
    mask = buckets - 1;
    changed.reserve(64);
    handoff.packets.reserve(analysis::RtpHandoff::kCapacity);
    nodes.resize(config.max_streams);
    histograms.resize(config.max_streams);
    for (int pt = 0; pt < 128; ++pt) {
      const std::uint32_t st = static_clock_rate(pt);
      clock_by_pt[pt] = st ? st : config.default_clock_rate;
      clock_source_by_pt[pt] = st ? ClockSource::kStatic : ClockSource::kDefault;
    }
    for (const auto& [pt, rate] : config.clock_rate_by_pt) {
      clock_by_pt[pt] = rate;
      clock_source_by_pt[pt] = ClockSource::kOption;
    }
    if (config.ts_df_window_ms <= 0) config.ts_df_window_ms = 200;
    if (config.outage_settle_ms > 0) settle_ns = config.outage_settle_ms * 1'000'000;
    ts_df_window_ns = config.ts_df_window_ms * 1'000'000;
    // One --sdp file may hold several media descriptions: each origin is one session.
    std::vector<SdpFormat> initial = std::move(config.sdp);
    config.sdp.clear();
    std::vector<SdpFormat> one;
    for (std::size_t i = 0; i < initial.size(); ++i) {
      one.push_back(initial[i]);
      if (i + 1 == initial.size() || initial[i + 1].origin != initial[i].origin) {
        catalogue.add_file(one, changed);
        one.clear();
      }
    }
    changed.clear();
  }

  StreamTrackerConfig config;
  std::vector<std::uint32_t> index;  // bucket -> node, kNil when empty
  // bucket (destination hash) -> first stream of that destination chain, kNil when empty: an
  // announcement for a destination rematches the streams of that destination only.
  std::vector<std::uint32_t> dst_heads;
  analysis::SessionCatalogue catalogue;
  std::vector<Destination> changed;  // scratch: destinations a catalogue change touched
  std::size_t mask = 0;
  std::vector<Stream> nodes;
  std::vector<std::unique_ptr<Histogram>> histograms;  // per node, allocated on first use
  std::uint32_t used = 0;  // nodes [0, used) have been handed out at least once
  std::uint32_t live = 0;
  std::uint32_t lru_head = kNil;  // most recently seen
  std::uint32_t lru_tail = kNil;  // least recently seen
  std::uint64_t next_id = 0;
  std::int64_t last_ts_ns = 0;
  std::uint32_t clock_by_pt[128] = {};
  ClockSource clock_source_by_pt[128] = {};
  TrackerTotals totals;
  std::int64_t ts_df_window_ns = 200'000'000;
  IpAddress first_destination;
  std::vector<Outage> outages;  // set_outages: the capture outages of every interface
  std::int64_t settle_ns = 5'000'000'000;
  analysis::PtpAnalyser ptp;
  analysis::RedundancyAnalyser redundancy;  // ST 2022-7 pairs, fed below
  analysis::RtpHandoff handoff;             // the RTP packets of the last add() call
  // Set when a consumer first reads the hand-off: a tracker without consumers fills none.
  mutable bool handoff_wanted = false;

  void begin_call(const Batch* batch, const PacketView* one) noexcept {
    ++handoff.call;
    handoff.batch = batch;
    handoff.frame = one ? one->bytes.data() : nullptr;
    handoff.frame_ts_ns = one ? one->ts_ns : 0;
    handoff.complete = handoff_wanted;  // until then, consumers ask per packet
    handoff.packets.clear();
  }
  void hand_off(const Stream& s, std::uint32_t n, const PacketView& p,
                const analysis::ParsedPacket& pk, const RtpHeader& rtp) noexcept {
    if (!handoff.complete || !pk.payload_complete) return;  // consumers take whole payloads
    if (handoff.packets.size() == handoff.packets.capacity()) {
      handoff.complete = false;  // never grows here: the consumers ask per packet instead
      return;
    }
    handoff.packets.push_back(handoff_packet(s, n, p, pk, rtp));
  }
  static analysis::RtpHandoffPacket handoff_packet(const Stream& s, std::uint32_t n,
                                                   const PacketView& p,
                                                   const analysis::ParsedPacket& pk,
                                                   const RtpHeader& rtp) noexcept {
    analysis::RtpHandoffPacket e;
    e.payload = pk.payload + rtp.payload_offset;
    e.payload_bytes = rtp.payload_len;
    e.rtp_ts = rtp.timestamp;
    e.seq = rtp.seq;
    e.payload_type = rtp.payload_type;
    e.validated = s.seq.validated();
    e.ts_ns = p.ts_ns;
    e.stream = n;
    e.stream_id = s.id;
    e.samples_per_packet = s.ptime_ticks;
    return e;
  }
  bool handoff_of(const PacketView& p, int linktype,
                  analysis::RtpHandoffPacket& out) const noexcept {
    const analysis::ParsedPacket pk =
        analysis::parse_packet(p.bytes.data(), p.bytes.size(), p.wire_len, linktype);
    if (pk.cls != ParseClass::kUdp || !pk.payload_complete || pk.dst_port == kSapPort ||
        !config.detect_rtp)
      return false;
    RtpHeader rtp;
    if (!analysis::parse_rtp(pk.payload, pk.payload_len, true, rtp)) return false;
    std::uint64_t h;
    const FlowKey k = make_key(pk.family, pk.src, pk.dst, pk.src_port, pk.dst_port,
                               p.interface_index, true, rtp.ssrc, h);
    const std::uint32_t n = find(k, h);
    if (n == kNil) return false;
    out = handoff_packet(nodes[n], n, p, pk, rtp);
    return true;
  }

  // --- capture outages (issue 13) ---
  [[nodiscard]] std::uint64_t gap_outage_share(const PendingGap& g,
                                               std::uint16_t iface) const noexcept {
    std::uint64_t n = 0;
    for (const Outage& o : outages)
      if (o.interface_index == iface) n += missing_in_outage(g, o.begin_ns, o.end_ns);
    return std::min(n, g.missing);
  }
  void settle_oldest(Stream& s) noexcept {
    const PendingGap& g = s.pending[s.pending_first];
    s.outage_lost += gap_outage_share(g, s.key.interface_index);
    s.pending_first = (s.pending_first + 1) % kPendingGaps;
    --s.pending_count;
  }
  void record_gap(Stream& s, std::int64_t prev_ns, std::int64_t next_ns,
                  std::uint64_t missing) noexcept {
    while (s.pending_count > 0 && (s.pending_count == kPendingGaps ||
                                   next_ns - s.pending[s.pending_first].next_ns > settle_ns))
      settle_oldest(s);
    s.pending[(s.pending_first + s.pending_count) % kPendingGaps] =
        PendingGap{prev_ns, next_ns, missing};
    ++s.pending_count;
  }
  // Settled plus pending, against the outages known now; never more than the stream's loss.
  [[nodiscard]] std::uint64_t outage_lost(const Stream& s) const noexcept {
    std::uint64_t n = s.outage_lost;
    for (std::uint32_t i = 0; i < s.pending_count; ++i)
      n += gap_outage_share(s.pending[(s.pending_first + i) % kPendingGaps], s.key.interface_index);
    return std::min(n, s.seq.lost());
  }

  // --- SDP: the catalogue's matches (cold path: stream creation, a catalogue change) ---
  [[nodiscard]] static Destination destination(const FlowKey& k) noexcept {
    Destination d;
    d.family = k.family;
    std::memcpy(d.addr, k.dst, 16);
    d.port = k.dst_port;
    return d;
  }
  // The stream's format slot, if the catalogue still holds what it matched.
  [[nodiscard]] const SdpFormat* sdp_of(const Stream& s) const noexcept {
    if (s.sdp_index < 0 || catalogue.generation(s.sdp_index) != s.sdp_generation) return nullptr;
    return &catalogue.format(s.sdp_index);
  }
  void match_sdp(Stream& s) noexcept {
    if (s.key.is_rtp == 0) return;
    // A stream described by a session that ended (deleted by its sender, or not re-announced)
    // keeps that description while no other session describes its destination: the final table
    // still says what a finished stream was.
    const std::int32_t m =
        catalogue.match(destination(s.key), s.key.family, s.key.src, s.payload_type);
    const SdpFormat* kept = sdp_of(s);
    if (m < 0 && kept != nullptr && !catalogue.active(s.sdp_index)) return;
    if (m == s.sdp_index && kept != nullptr) return;
    s.sdp_index = m;
    s.sdp_generation = m >= 0 ? catalogue.generation(m) : 0;
    if (m >= 0) catalogue.mark_used(m);
    s.clock_known = false;  // resolve again with the next packet
    redundancy.on_format(static_cast<std::uint32_t>(&s - nodes.data()), sdp_of(s));
  }
  static analysis::LegIdentity leg_identity(const Stream& s) noexcept {
    analysis::LegIdentity id;
    id.stream_id = s.id;
    id.ssrc = s.key.ssrc;
    id.interface_index = s.key.interface_index;
    id.dst_port = s.key.dst_port;
    id.family = s.key.family;
    std::memcpy(id.dst, s.key.dst, sizeof id.dst);
    return id;
  }
  void rematch(const Destination& d) noexcept {
    for (std::uint32_t n = dst_heads[d.hash() & mask]; n != kNil; n = nodes[n].dst_next)
      if (destination(nodes[n].key) == d) match_sdp(nodes[n]);
  }
  void apply_changes() noexcept {
    for (std::size_t i = 0; i < changed.size(); ++i)
      if (std::find(changed.begin(), changed.begin() + std::ptrdiff_t(i), changed[i]) ==
          changed.begin() + std::ptrdiff_t(i))
        rematch(changed[i]);
    changed.clear();
  }
  // The first --audio-format whose selector takes the stream (cold: a new payload type).
  void match_option(Stream& s) const noexcept {
    s.option_index = -1;
    const std::size_t alen = s.key.family == 4 ? 4 : 16;
    for (std::size_t i = 0; i < config.audio_formats.size(); ++i) {
      const FormatOption& o = config.audio_formats[i];
      if (o.payload_type >= 0 && o.payload_type != s.payload_type) continue;
      if (o.port >= 0 && o.port != s.key.dst_port) continue;
      if (o.has_ssrc && o.ssrc != s.key.ssrc) continue;
      if (o.dst.family != 0 &&
          (o.dst.family != s.key.family || std::memcmp(o.dst.bytes.data(), s.key.dst, alen) != 0))
        continue;
      s.option_index = static_cast<std::int32_t>(i);
      return;
    }
  }
  void add_sdp(const std::vector<SdpFormat>& formats) {
    catalogue.add_file(formats, changed);
    apply_changes();
  }
  void dst_link(std::uint32_t n) noexcept {
    std::uint32_t& head = dst_heads[destination(nodes[n].key).hash() & mask];
    nodes[n].dst_prev = kNil;
    nodes[n].dst_next = head;
    if (head != kNil) nodes[head].dst_prev = n;
    head = n;
  }
  void dst_unlink(std::uint32_t n) noexcept {
    Stream& s = nodes[n];
    if (s.dst_prev != kNil)
      nodes[s.dst_prev].dst_next = s.dst_next;
    else
      dst_heads[destination(s.key).hash() & mask] = s.dst_next;
    if (s.dst_next != kNil) nodes[s.dst_next].dst_prev = s.dst_prev;
  }
  // A SAP datagram (UDP port 9875) in the traffic: the catalogue bounds what it costs.
  void on_sap(const std::uint8_t* payload, std::size_t len, bool complete,
              std::int64_t ts_ns) noexcept {
    catalogue.on_sap(payload, len, complete, ts_ns, changed);
    if (!changed.empty()) apply_changes();
  }

  // Clock of a stream for its payload type: SDP, option, static, default (ClockSource).
  void resolve_clock(Stream& s) noexcept {
    const int pt = s.payload_type;
    std::uint32_t rate = clock_by_pt[pt];
    ClockSource src = clock_source_by_pt[pt];
    // A format option selecting the stream is the user's word for it: over its SDP.
    if (s.option_index >= 0) {
      rate = config.audio_formats[std::size_t(s.option_index)].clock_rate;
      src = ClockSource::kOption;
    } else if (const SdpFormat* f = sdp_of(s);
               f != nullptr && f->payload_type == pt && f->clock_rate > 0) {
      rate = f->clock_rate;
      src = ClockSource::kSdp;
    }
    if (rate != s.clock_rate && s.clock_rate != 0) restart_timing(s, rate);
    s.clock_rate = rate;
    s.clock_source = src;
    s.ns_per_tick = 1e9 / rate;
    s.ticks_per_ns = rate * 1e-9;
    if (s.ptime_ticks != 0)
      s.ptime_ns = static_cast<std::int64_t>(s.ptime_ticks) * 1'000'000'000 / rate;
    s.clock_known = true;
  }

  // A new clock invalidates everything measured in the old one: jitter and its maximum, the
  // packet time, TS-DF windows and their maximum, drift, delta vs RTP, the PIT test. They count
  // again from the next packet, and the report says from when.
  void restart_timing(Stream& s, std::uint32_t new_rate) noexcept {
    s.previous_clock_rate = s.clock_rate;
    s.clock_rate = new_rate;
    ++s.clock_changes;
    s.timing_since_ns = s.last_ts_ns;
    static_cast<ClockTimed&>(s) = ClockTimed{};
  }

  void lru_unlink(std::uint32_t n) noexcept {
    Stream& s = nodes[n];
    if (s.lru_prev != kNil)
      nodes[s.lru_prev].lru_next = s.lru_next;
    else
      lru_head = s.lru_next;
    if (s.lru_next != kNil)
      nodes[s.lru_next].lru_prev = s.lru_prev;
    else
      lru_tail = s.lru_prev;
  }
  void lru_push_front(std::uint32_t n) noexcept {
    Stream& s = nodes[n];
    s.lru_prev = kNil;
    s.lru_next = lru_head;
    if (lru_head != kNil) nodes[lru_head].lru_prev = n;
    lru_head = n;
    if (lru_tail == kNil) lru_tail = n;
  }

  [[nodiscard]] std::uint32_t find(const FlowKey& k, std::uint64_t h) const noexcept {
    for (std::size_t b = h & mask;; b = (b + 1) & mask) {
      const std::uint32_t n = index[b];
      if (n == kNil) return kNil;
      if (nodes[n].hash == h && same_key(nodes[n].key, k)) return n;
    }
  }

  void index_insert(std::uint32_t n, std::uint64_t h) noexcept {
    std::size_t b = h & mask;
    while (index[b] != kNil) b = (b + 1) & mask;
    index[b] = n;
  }

  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  void index_erase(std::uint32_t n) noexcept {
    std::size_t b = nodes[n].hash & mask;
    while (index[b] != n) b = (b + 1) & mask;
    std::size_t hole = b;
    for (std::size_t j = (hole + 1) & mask; index[j] != kNil; j = (j + 1) & mask) {
      const std::size_t home = nodes[index[j]].hash & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const bool home_in_range =
          hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!home_in_range) {
        index[hole] = index[j];
        hole = j;
      }
    }
    index[hole] = kNil;
  }

  void retire(const Stream& s) noexcept {
    if (s.key.is_rtp != 0 && s.seq.validated()) {
      totals.evicted_expected += s.seq.expected();
      totals.evicted_lost += s.seq.lost();
      totals.evicted_outage_lost += outage_lost(s);
    }
  }

  std::uint32_t create(const FlowKey& k, std::uint64_t h, std::int64_t ts_ns) noexcept {
    std::uint32_t n;
    if (used < nodes.size()) {
      n = used++;
    } else {
      n = lru_tail;  // the table is full: evict the least recently seen stream
      retire(nodes[n]);
      redundancy.on_evict(n);
      lru_unlink(n);
      dst_unlink(n);
      index_erase(n);
      --live;
      ++totals.evicted;
    }
    Stream& s = nodes[n];
    s = Stream{};
    s.key = k;
    s.hash = h;
    s.id = next_id++;
    s.first_ts_ns = ts_ns;
    s.last_ts_ns = ts_ns;
    s.delay_min_ns = std::numeric_limits<std::int64_t>::max();
    s.delay_max_ns = std::numeric_limits<std::int64_t>::min();
    if (histograms[n]) {  // reuse the slot's histogram: reset in place, no allocation
      std::destroy_at(histograms[n].get());
      std::construct_at(histograms[n].get());
    }
    s.sdp_index = -1;
    s.option_index = -1;
    s.timing_since_ns = ts_ns;
    index_insert(n, h);
    lru_push_front(n);
    dst_link(n);
    ++live;
    ++totals.streams_seen;
    // Destinations for the advisor's promiscuous-mode rule: a new destination is a new stream.
    IpAddress dst;
    dst.family = k.family;
    std::memcpy(dst.bytes.data(), k.dst, 16);
    const bool multicast = k.family == 4
                               ? (k.dst[0] >= 224 || (k.dst[0] == 255))  // 224/4, 240/4, broadcast
                               : k.dst[0] == 0xFF;
    if (multicast) totals.any_multicast = true;
    if (totals.distinct_destinations == 0) {
      first_destination = dst;
      totals.distinct_destinations = 1;
    } else if (totals.distinct_destinations == 1 && dst != first_destination) {
      totals.distinct_destinations = 2;  // saturates: "more than one" is all the rule needs
    }
    return n;
  }

  // TS-DF, drift and delta packet vs RTP for one packet (formulas in docs/TUNING.md).
  void timing(Stream& s, std::int64_t arrival_ns, std::uint32_t ts) const noexcept {
    // TS-DF (EBU Tech 3337, as EBU LIST computes it): D(i) = (R(i) - S(i)) - (R(0) - S(0)), the
    // reference being the first packet of the window; TS-DF = max D - min D over the window.
    // The packet that closes a window opens the next one (LIST does the same).
    if (s.tsdf_open && arrival_ns - s.tsdf_ref_arrival_ns > ts_df_window_ns) {
      const double w = s.tsdf_max_ns - s.tsdf_min_ns;
      s.tsdf_last_window_ns = w;
      if (w > s.tsdf_max_window_ns) s.tsdf_max_window_ns = w;
      s.tsdf_recent_ns[s.tsdf_windows % kTsDfRecent] = static_cast<float>(w);
      ++s.tsdf_windows;
      s.tsdf_open = false;
    }
    if (!s.tsdf_open) {
      s.tsdf_open = true;
      s.tsdf_ref_arrival_ns = arrival_ns;
      s.tsdf_ref_ts = ts;
      s.tsdf_min_ns = 0;
      s.tsdf_max_ns = 0;
    } else {
      const double d = static_cast<double>(arrival_ns - s.tsdf_ref_arrival_ns) -
                       static_cast<std::int32_t>(ts - s.tsdf_ref_ts) * s.ns_per_tick;
      if (d < s.tsdf_min_ns) s.tsdf_min_ns = d;
      if (d > s.tsdf_max_ns) s.tsdf_max_ns = d;
    }
    // Drift: y = RTP time - arrival time, x = arrival time, seconds from the run's first packet.
    if (s.drift_n == 0) {
      s.drift_first_arrival_ns = arrival_ns;
      s.drift_ts_ext = 0;
      s.drift_prev_ts = ts;
      s.drift_sx = s.drift_sy = s.drift_sxx = s.drift_sxy = 0;
    } else {
      s.drift_ts_ext += static_cast<std::int32_t>(ts - s.drift_prev_ts);
      s.drift_prev_ts = ts;
    }
    const double x = static_cast<double>(arrival_ns - s.drift_first_arrival_ns) * 1e-9;
    const double y = static_cast<double>(s.drift_ts_ext) * s.ns_per_tick * 1e-9 - x;
    s.drift_n += 1;
    s.drift_sx += x;
    s.drift_sy += y;
    s.drift_sxx += x * x;
    s.drift_sxy += x * y;
    // Delta packet vs RTP: arrival in media-clock ticks modulo 2^32 minus the timestamp the
    // media clock would give (RTP timestamp - mediaclk offset), in us. Integer ticks: a
    // CLOCK_REALTIME in ns times 96 kHz does not fit a double's 53 bits exactly.
    if (arrival_ns >= 0) {
      // The exact tick count at the run's first packet (integer: a CLOCK_REALTIME in ns times
      // 96 kHz does not fit a double's 53 bits), then the ticks since in a double (exact to
      // well under a tick for days), so the per-packet cost is one multiply, no division.
      if (s.delta_count == 0 || s.drift_n == 1) {
        const auto t = static_cast<std::uint64_t>(arrival_ns);
        const std::uint64_t whole = (t / 1'000'000'000) * s.clock_rate;
        const std::uint64_t part = (t % 1'000'000'000) * s.clock_rate;  // < 1e9 x 1e7: fits
        s.delta_base_ns = arrival_ns;
        s.delta_base_ticks = static_cast<std::uint32_t>(whole + part / 1'000'000'000);
        s.delta_base_frac = static_cast<double>(part % 1'000'000'000) * 1e-9;
      }
      const double since =
          static_cast<double>(arrival_ns - s.delta_base_ns) * s.ticks_per_ns + s.delta_base_frac;
      const auto since_whole = static_cast<std::int64_t>(since);
      std::uint32_t offset = 0;
      if (const SdpFormat* f = sdp_of(s)) offset = f->mediaclk_offset;
      const auto delta_ticks = static_cast<std::int32_t>(
          s.delta_base_ticks + static_cast<std::uint32_t>(since_whole) - (ts - offset));
      // Whole ticks, as the arrival floored to the media clock's tick (EBU LIST rounds).
      const double us = delta_ticks * s.ns_per_tick * 1e-3;
      ++s.delta_count;
      s.delta_sum_us += us;
      if (us < s.delta_min_us) s.delta_min_us = us;
      if (us > s.delta_max_us) s.delta_max_us = us;
    }
  }

  void add(const PacketView& p, int linktype) noexcept {
    ++totals.packets;
    totals.bytes += p.wire_len;
    if (p.ts_ns > last_ts_ns) last_ts_ns = p.ts_ns;
    catalogue.expire(p.ts_ns, changed);  // one comparison, except once a second
    if (!changed.empty()) [[unlikely]]
      apply_changes();
    const analysis::ParsedPacket pk =
        analysis::parse_packet(p.bytes.data(), p.bytes.size(), p.wire_len, linktype);
    switch (pk.cls) {
      case ParseClass::kUdp:
        break;
      case ParseClass::kOther:
        ++totals.other;
        ++totals.discarded;
        if (pk.ptp_l2) ptp.add_ethernet(pk.payload, pk.payload_len, p.ts_ns);
        return;
      case ParseClass::kMalformed:
        ++totals.malformed;
        ++totals.discarded;
        return;
      case ParseClass::kFragment:
        ++totals.fragments;
        ++totals.discarded;
        return;
    }
    ++totals.udp;

    if (pk.dst_port == kSapPort && config.parse_sap)
      on_sap(pk.payload, pk.payload_len, pk.payload_complete, p.ts_ns);
    if (pk.dst_port == analysis::ptp::kEventPort || pk.dst_port == analysis::ptp::kGeneralPort)
      ptp.add_udp(pk, p.ts_ns);
    RtpHeader rtp;
    const bool is_rtp = config.detect_rtp && pk.dst_port != kSapPort &&
                        analysis::parse_rtp(pk.payload, pk.payload_len, pk.payload_complete, rtp);
    if (is_rtp) ++totals.rtp;
    std::uint64_t h;
    const FlowKey k = make_key(pk.family, pk.src, pk.dst, pk.src_port, pk.dst_port,
                               p.interface_index, is_rtp, is_rtp ? rtp.ssrc : 0, h);
    std::uint32_t n = find(k, h);
    const bool fresh = n == kNil;
    if (fresh) {
      n = create(k, h, p.ts_ns);
    } else if (n != lru_head) {
      lru_unlink(n);
      lru_push_front(n);
    }
    Stream& s = nodes[n];
    const std::int64_t prev_arrival_ns = s.last_ts_ns;
    const std::int64_t ptime_ns_config = config.expected_ptime_ns;
    if (!fresh)
      s.interval.add(p.ts_ns - s.last_ts_ns, ptime_ns_config ? ptime_ns_config : s.ptime_ns);
    ++s.packets;
    s.bytes += p.wire_len;
    s.last_ts_ns = p.ts_ns;
    if (!is_rtp) return;

    if (fresh) redundancy.on_stream(n, leg_identity(s));
    if (fresh || rtp.payload_type != s.payload_type || !s.clock_known) {
      const bool pt_changed = fresh || rtp.payload_type != s.payload_type;
      s.payload_type = rtp.payload_type;
      if (pt_changed) {
        match_sdp(s);
        match_option(s);
      }
      resolve_clock(s);
    }
    s.payload_bytes = rtp.payload_len;
    analysis::SeqVerdict verdict;
    const bool counting = s.seq.validated();  // gaps count once probation is over
    const std::uint64_t extended_before = s.seq.cycles() + s.seq.max_seq();
    if (fresh) {
      s.seq.start(rtp.seq);
      verdict = s.seq.update(rtp.seq);
    } else {
      // How many packet times the timestamp moved since the highest packet: only worked out
      // when it did not move by exactly the sequence step (the common case costs a multiply).
      std::uint64_t ts_packets = 0;
      if (s.ptime_ticks != 0) {
        const std::uint16_t udelta = static_cast<std::uint16_t>(rtp.seq - s.max_seq_seen);
        const std::uint32_t ts_step = rtp.timestamp - s.max_seq_ts;
        if (ts_step == static_cast<std::uint32_t>(udelta) * s.ptime_ticks) ts_packets = udelta;
        // Forward only (a signed step): with a power-of-two step, a late packet's negative step
        // modulo 2^32 would otherwise look like an exact forward jump of 2^32 / step packets.
        else if (static_cast<std::int32_t>(ts_step) > 0 && ts_step % s.ptime_ticks == 0)
          ts_packets = ts_step / s.ptime_ticks;
      }
      // An assumed clock may be 16x too slow (768 kHz against 48 kHz): allow for it.
      const std::uint32_t rate = s.clock_source == ClockSource::kDefault
                                     ? static_cast<std::uint32_t>(std::min<std::uint64_t>(
                                           std::uint64_t{s.clock_rate} * 16, 0xFFFFFFFFu))
                                     : s.clock_rate;
      verdict = s.seq.update(
          rtp.seq, ts_packets,
          analysis::packet_times_elapsed(p.ts_ns - s.max_seq_arrival_ns, rate, s.ptime_ticks));
    }
    if (counting && verdict == analysis::SeqVerdict::kInOrder) {
      const std::uint64_t extended = s.seq.cycles() + s.seq.max_seq();
      if (extended > extended_before + 1)
        record_gap(s, s.max_seq_arrival_ns, p.ts_ns, extended - extended_before - 1);
    }
    if (s.seq.max_seq() == rtp.seq) {
      s.max_seq_seen = rtp.seq;
      s.max_seq_ts = rtp.timestamp;
      s.max_seq_arrival_ns = p.ts_ns;
    }
    if (verdict == analysis::SeqVerdict::kRestart) {
      s.jitter.reset();
      s.tsdf_open = false;
      s.drift_n = 0;
    }
    if (verdict != analysis::SeqVerdict::kBadJump) {
      redundancy.on_packet(n, rtp.seq, p.ts_ns);
      s.jitter.update(p.ts_ns, rtp.timestamp, s.clock_rate);
      timing(s, p.ts_ns, rtp.timestamp);
    }
    if (!fresh) {
      ++s.pit_bins[pit_bin(p.ts_ns - prev_arrival_ns)];
      s.pit.add(p.ts_ns - prev_arrival_ns, 0);
      if (s.have_prev_rtp && static_cast<std::uint16_t>(rtp.seq - s.prev_seq) != 1) {
        ++s.pit_unpaced;
        s.pit_unpaced_ns += static_cast<double>(p.ts_ns - prev_arrival_ns);
      }
    }

    // ptime from timestamp steps between consecutive sequence numbers.
    if (s.have_prev_rtp && static_cast<std::uint16_t>(rtp.seq - s.prev_seq) == 1) {
      const std::uint32_t step = rtp.timestamp - s.prev_rtp_ts;
      if (step != 0 && step < s.clock_rate) {  // under one second per packet
        if (step == s.ptime_candidate) {
          if (++s.ptime_streak >= kPtimeConfirmations && s.ptime_ticks != step) {
            s.ptime_ticks = step;
            s.ptime_ns = static_cast<std::int64_t>(step) * 1'000'000'000 / s.clock_rate;
          }
        } else {
          s.ptime_candidate = step;
          s.ptime_streak = 1;
        }
      }
    }
    s.have_prev_rtp = true;
    s.prev_seq = rtp.seq;
    s.prev_rtp_ts = rtp.timestamp;

    // A send time from a hostile or foreign sender can be any 64-bit value. Two values in
    // [0, INT64_MAX] always subtract without overflow; anything else is not a delay (found by
    // fuzz_pcap_file; see tests/fuzz/regressions).
    if (rtp.has_send_time && p.ts_ns >= 0 &&
        rtp.send_time_ns <= static_cast<std::uint64_t>(INT64_MAX)) {
      const std::int64_t delay = p.ts_ns - static_cast<std::int64_t>(rtp.send_time_ns);
      ++s.delay_count;
      s.delay_sum_ns += static_cast<double>(delay);
      if (delay < s.delay_min_ns) s.delay_min_ns = delay;
      if (delay > s.delay_max_ns) s.delay_max_ns = delay;
      if (delay < 0) ++s.delay_negative;
      Histogram* hist = histograms[n].get();
      if (hist == nullptr) {
        // Once per slot in the tracker's life (warm-up); on failure we keep min/mean/max only.
        try {
          histograms[n] = std::make_unique<Histogram>();
          hist = histograms[n].get();
        } catch (...) {
        }
      }
      if (hist != nullptr) hist->record(delay < 0 ? 0 : static_cast<std::uint64_t>(delay));
    }
    hand_off(s, n, p, pk, rtp);
  }

  [[nodiscard]] StreamSummary summarize(std::uint32_t n) const {
    const Stream& s = nodes[n];
    StreamSummary out;
    out.id = s.id;
    out.interface_index = s.key.interface_index;
    out.src.family = s.key.family;
    out.dst.family = s.key.family;
    std::memcpy(out.src.bytes.data(), s.key.src, 16);
    std::memcpy(out.dst.bytes.data(), s.key.dst, 16);
    out.src_port = s.key.src_port;
    out.dst_port = s.key.dst_port;
    out.is_rtp = s.key.is_rtp != 0;
    out.packets = s.packets;
    out.bytes = s.bytes;
    out.first_ts_ns = s.first_ts_ns;
    out.last_ts_ns = s.last_ts_ns;
    const std::int64_t span_ns = s.last_ts_ns - s.first_ts_ns;
    if (span_ns > 0) {
      // Packets per elapsed time between the first and the last: n packets span n-1 gaps.
      out.rate_pps = static_cast<double>(s.packets - 1) * 1e9 / static_cast<double>(span_ns);
      out.rate_bps =
          static_cast<double>(s.bytes) * 8 * out.rate_pps / static_cast<double>(s.packets);
    }
    IntervalStats& iv = out.interval;
    iv.count = s.interval.count;
    if (iv.count > 0) {
      iv.mean_ms = s.interval.mean_ns / 1e6;
      iv.stddev_ms = s.interval.stddev_ns() / 1e6;
      iv.min_ms = static_cast<double>(s.interval.min_ns) / 1e6;
      iv.max_ms = static_cast<double>(s.interval.max_ns) / 1e6;
    }
    iv.long_gaps = s.interval.long_gaps;
    if (config.expected_ptime_ns > 0)
      iv.ptime_ms = static_cast<double>(config.expected_ptime_ns) / 1e6;
    else if (s.ptime_ticks != 0 && s.clock_rate != 0)
      iv.ptime_ms = static_cast<double>(s.ptime_ticks) * 1e3 / s.clock_rate;
    if (!out.is_rtp) return out;

    out.ssrc = s.key.ssrc;
    out.payload_type = s.payload_type;
    out.clock_rate = s.clock_rate;
    out.clock_source = s.clock_source;
    out.validated = s.seq.validated();
    out.expected = s.seq.expected();
    out.received = s.seq.received();
    out.lost = s.seq.lost();
    out.lost_estimate = s.seq.unvalidated_lost_estimate();
    out.rfc3550_cumulative_lost = s.seq.rfc3550_lost();
    out.loss_jumps = s.seq.loss_jumps();
    out.outage_lost = outage_lost(s);
    out.network_lost = out.lost - out.outage_lost;
    out.payload_bytes = s.payload_bytes;
    out.duplicates = s.seq.duplicates();
    out.reordered = s.seq.reordered();
    out.seq_restarts = s.seq.restarts();
    out.bad_seq = s.seq.bad_seq_packets();
    out.jitter = s.jitter.jitter();
    if (s.clock_rate != 0) {
      out.jitter_ms = s.jitter.jitter() * 1e3 / s.clock_rate;
      out.max_jitter_ms = s.jitter.max_jitter() * 1e3 / s.clock_rate;
    }
    if (s.delay_count > 0) {
      out.has_delay = true;
      DelayStats& d = out.one_way_delay;
      d.count = s.delay_count;
      d.min_ns = s.delay_min_ns;
      d.max_ns = s.delay_max_ns;
      d.mean_ns = s.delay_sum_ns / static_cast<double>(s.delay_count);
      d.negative = s.delay_negative;
      if (histograms[n]) d.p99_ns = histograms[n]->snapshot().percentile(0.99);
    }
    if (const SdpFormat* f = sdp_of(s)) {
      out.has_sdp = true;
      out.sdp = *f;
    }
    summarize_timing(s, out);
    if (out.has_sdp) out.sdp_mismatches = mismatches(out);
    return out;
  }

  // The mean packet interval with the intervals across a lost or reordered packet left out: the
  // sender's pacing, which loss does not stretch.
  [[nodiscard]] static double paced_mean_ns(const Stream& s) noexcept {
    const std::uint64_t paced = s.pit.count - std::min(s.pit.count, s.pit_unpaced);
    return paced ? (s.pit.mean_ns * static_cast<double>(s.pit.count) - s.pit_unpaced_ns) /
                       static_cast<double>(paced)
                 : s.pit.mean_ns;
  }

  void summarize_timing(const Stream& s, StreamSummary& out) const {
    AudioTiming& t = out.timing;
    PitStats& pit = t.pit;
    pit.count = s.pit.count;
    if (pit.count > 0) {
      pit.min_us = static_cast<double>(s.pit.min_ns) / 1e3;
      pit.mean_us = s.pit.mean_ns / 1e3;
      pit.max_us = static_cast<double>(s.pit.max_ns) / 1e3;
      pit.paced_mean_us = paced_mean_ns(s) / 1e3;
    }
    t.since_ns = s.timing_since_ns;
    t.clock_changes = s.clock_changes;
    t.previous_clock_rate = s.previous_clock_rate;
    t.clock_assumed = s.clock_source == ClockSource::kDefault;
    for (int b = 0; b < kPitBins; ++b) {
      if (s.pit_bins[b] == 0) continue;
      PitBin bin;
      pit_bin_bounds(b, bin.lower_us, bin.upper_us);
      bin.count = s.pit_bins[b];
      pit.histogram.push_back(bin);
    }
    // The packet time to judge against: the real one, samples per packet (the RTP timestamp
    // step) over the rate (44 samples at 44.1 kHz are 997.73 us, not a=ptime's nominal 1 ms);
    // else the SDP's a=ptime, else the configured one.
    if (s.ptime_ticks != 0 && s.clock_rate != 0)
      pit.ptime_us = static_cast<double>(s.ptime_ticks) * 1e6 / s.clock_rate;
    else if (out.has_sdp && out.sdp.ptime_ms > 0)
      pit.ptime_us = out.sdp.ptime_ms * 1e3;
    else
      pit.ptime_us = out.interval.ptime_ms * 1e3;
    t.ts_df_window_ms = static_cast<double>(ts_df_window_ns) / 1e6;
    t.ts_df_windows = s.tsdf_windows;
    t.ts_df_us = s.tsdf_max_window_ns / 1e3;
    t.ts_df_last_us = s.tsdf_last_window_ns / 1e3;
    for (std::uint64_t w = s.tsdf_windows - std::min<std::uint64_t>(s.tsdf_windows, kTsDfRecent);
         w < s.tsdf_windows; ++w)
      t.ts_df_recent_us.push_back(s.tsdf_recent_ns[w % kTsDfRecent] / 1e3);
    // slope = (n Sxy - Sx Sy) / (n Sxx - Sx^2): the rate error of RTP time against arrival.
    const double den = s.drift_n * s.drift_sxx - s.drift_sx * s.drift_sx;
    if (s.drift_n >= 3 && den > 0) {
      t.has_drift = true;
      t.drift_ppm = (s.drift_n * s.drift_sxy - s.drift_sx * s.drift_sy) / den * 1e6;
    }
    if (s.delta_count > 0) {
      t.has_delta_rtp = true;
      t.delta_rtp_min_us = s.delta_min_us;
      t.delta_rtp_max_us = s.delta_max_us;
      t.delta_rtp_mean_us = s.delta_sum_us / static_cast<double>(s.delta_count);
    }
    // JT-NM Tested 2022 (docs/TUNING.md): TS-DF < 1 packet time narrow, <= 17 wide, else not
    // compliant; PIT mean outside ptime +-1% not compliant. Unknown without a packet time or a
    // completed window, and on an assumed clock (every figure would be in the wrong unit).
    if (!t.clock_assumed && pit.ptime_us > 0 && t.ts_df_windows > 0 && pit.count > 0) {
      const bool pit_off = std::fabs(pit.paced_mean_us - pit.ptime_us) > 0.01 * pit.ptime_us;
      const bool tsdf_off = t.ts_df_us > 17 * pit.ptime_us;
      if (pit_off || tsdf_off) {
        t.verdict = TimingVerdict::kNotCompliant;
        if (pit_off)
          t.verdict_reason = fmt::format("packet interval mean {:.1f} us is outside {:.1f} us +-1%",
                                         pit.paced_mean_us, pit.ptime_us);
        if (tsdf_off)
          t.verdict_reason += fmt::format("{}TS-DF {:.1f} us is over 17 packet times ({:.1f} us)",
                                          pit_off ? "; " : "", t.ts_df_us, 17 * pit.ptime_us);
      } else if (t.ts_df_us < pit.ptime_us)
        t.verdict = TimingVerdict::kNarrow;
      else
        t.verdict = TimingVerdict::kWide;
    }
  }

  // An --audio-format for a stream no format describes, from what its packets show: samples per
  // packet (the RTP timestamp step), bytes per frame (payload / samples: L24 when it divides by
  // 3, else L16) and the rate (samples per packet over the paced packet interval, snapped to the
  // nearest common rate within 2%). Empty when the packets do not tell.
  [[nodiscard]] static std::string format_hint(const Stream& s) {
    const double interval_ns = paced_mean_ns(s);
    if (s.ptime_ticks == 0 || s.payload_bytes == 0 || s.payload_bytes % s.ptime_ticks != 0 ||
        s.pit.count == 0 || !(interval_ns > 0))
      return {};
    const std::uint32_t frame = s.payload_bytes / s.ptime_ticks;
    const int bytes = frame % 3 == 0 ? 3 : frame % 2 == 0 ? 2 : 0;
    if (bytes == 0 || frame / static_cast<std::uint32_t>(bytes) > std::uint32_t(kMaxChannels))
      return {};
    double rate = s.ptime_ticks * 1e9 / interval_ns;
    for (double r : {8000.0, 16000.0, 22050.0, 24000.0, 32000.0, 44100.0, 48000.0, 88200.0, 96000.0,
                     176400.0, 192000.0, 384000.0})
      if (std::fabs(rate - r) <= 0.02 * r) rate = r;
    if (rate < kMinClockRateHz || rate > kMaxClockRateHz) return {};
    IpAddress dst;
    dst.family = s.key.family;
    std::memcpy(dst.bytes.data(), s.key.dst, 16);
    const std::string addr = s.key.family == 6 ? "[" + dst.to_string() + "]" : dst.to_string();
    return fmt::format("{}:{}/{}=L{}/{}/{}", addr, s.key.dst_port, s.payload_type, bytes * 8,
                       std::llround(rate), frame / static_cast<std::uint32_t>(bytes));
  }

  [[nodiscard]] std::uint32_t find_rtp(const StreamKey& key) const noexcept {
    if (key.src.family != key.dst.family || (key.src.family != 4 && key.src.family != 6))
      return kNil;
    std::uint64_t h;
    const FlowKey k = make_key(key.src.family, key.src.bytes.data(), key.dst.bytes.data(),
                               key.src_port, key.dst_port, key.interface_index, true, key.ssrc, h);
    return find(k, h);
  }

  [[nodiscard]] PcmStreamFormat pcm_format(const StreamKey& key) const {
    PcmStreamFormat out;
    const std::uint32_t n = find_rtp(key);
    if (n == kNil) return out;
    const Stream& s = nodes[n];
    out.first_ts_ns = s.first_ts_ns;
    out.validated = s.seq.validated();
    out.samples_per_packet = s.ptime_ticks;
    if (std::uint32_t other = 0;
        redundancy.peer(n, other, out.redundancy_leg, out.redundancy_group) && other < nodes.size())
      out.redundant_peer = stream_key_of(nodes[other].key);
    const int pt = s.payload_type;
    std::string encoding;
    const SdpFormat* f = sdp_of(s);
    const auto refuse = [&](std::string why) {
      out.state = FormatState::kRefused;
      out.why = std::move(why);
      return out;
    };
    const bool sdp_format = f != nullptr && f->payload_type == pt && !f->encoding.empty();
    if (s.option_index >= 0) {  // the user's word for the streams it selects, over an SDP
      const FormatOption& o = config.audio_formats[std::size_t(s.option_index)];
      encoding = o.encoding;
      out.rate_hz = o.clock_rate;
      out.channels = o.channels;
      out.source = o.text.empty() ? "option" : "option " + o.text;
      if (sdp_format) {
        out.session_name = f->session_name;
        if (f->encoding != o.encoding || f->clock_rate != o.clock_rate || f->channels != o.channels)
          out.source += fmt::format(", over sdp '{}' ({}) which says {}/{}/{}", f->session_name,
                                    f->origin, f->encoding, f->clock_rate, f->channels);
      }
    } else if (sdp_format) {
      if (f->encoding != "L16" && f->encoding != "L24")
        return refuse(
            fmt::format("its SDP ('{}') says {}, not PCM L16/L24", f->session_name, f->encoding));
      if (f->clock_rate == 0 || f->channels < 1)
        return refuse(
            fmt::format("its SDP ('{}') gives no usable rate and channels", f->session_name));
      encoding = f->encoding;
      out.rate_hz = f->clock_rate;
      out.channels = f->channels;
      out.source = fmt::format("sdp '{}' ({})", f->session_name, f->origin);
      out.session_name = f->session_name;
    } else if (pt == 10 || pt == 11) {
      encoding = "L16";
      out.rate_hz = static_clock_rate(pt);
      out.channels = static_channels(pt);
      out.source = "static (RFC 3551)";
    } else if (pt >= 96) {
      out.hint = format_hint(s);
      out.state = FormatState::kPending;
      const std::string option =
          out.hint.empty() ? fmt::format("{}=L24/48000/2 (the format its sender uses)", pt)
                           : out.hint + " (inferred from its packets)";
      if (f != nullptr && f->payload_type == pt && !f->refused.empty())
        out.why = fmt::format("payload type {} is dynamic and its {}: {} or {} {}", pt,
                              analysis::refused_sdp_text(*f), analysis::kGiveSdpWords,
                              analysis::kFormatOptionWords, option);
      else
        out.why = fmt::format(
            "payload type {} is dynamic and no SDP describes it: {}, capture its SAP "
            "announcements, or {} {}",
            pt, analysis::kGiveSdpWords, analysis::kFormatOptionWords, option);
      return out;
    } else {
      return refuse(fmt::format("payload type {} is not PCM L16/L24", pt));
    }
    out.bits = encoding == "L16" ? 16 : 24;
    // The packets must agree with the format: whole frames, and, once the RTP timestamp step
    // is known, exactly samples-per-packet of them (8 channels under a 16-channel SDP divide
    // evenly into frames but are half the bytes).
    const std::uint32_t frame = static_cast<std::uint32_t>(out.channels * out.bits / 8);
    if (s.payload_bytes % frame != 0)
      return refuse(fmt::format(
          "its packets contradict the format ({}): payload {} bytes is not a whole number of "
          "{}-byte frames ({} ch x {} bytes)",
          out.source, s.payload_bytes, frame, out.channels, out.bits / 8));
    if (s.ptime_ticks != 0 && s.payload_bytes != s.ptime_ticks * frame)
      return refuse(fmt::format(
          "its packets contradict the format ({}): payload {} bytes, format {} ch x {} bytes x "
          "{} samples (RTP timestamp step) = {}",
          out.source, s.payload_bytes, out.channels, out.bits / 8, s.ptime_ticks,
          std::uint64_t{s.ptime_ticks} * frame));
    if (f != nullptr && s.ptime_ticks == 0 && f->ptime_ms > 0 && f->payload_type == pt) {
      const auto samples =
          static_cast<std::uint64_t>(std::llround(f->ptime_ms * f->clock_rate / 1e3));
      if (s.payload_bytes != samples * frame)
        return refuse(fmt::format(
            "its packets contradict the format ({}): payload {} bytes, format {} ch x {} bytes x "
            "{} samples (a=ptime {} ms) = {}",
            out.source, s.payload_bytes, out.channels, out.bits / 8, samples, f->ptime_ms,
            samples * frame));
    }
    if (!out.validated) {
      out.state = FormatState::kPending;
      out.why = "its RTP sequence never validated (no two packets in sequence)";
      return out;
    }
    // Without an a=ptime, the payload can be checked only against the timestamp step (seen
    // three times running: the fourth packet).
    if (s.ptime_ticks == 0 && !(f != nullptr && f->ptime_ms > 0 && f->payload_type == pt)) {
      out.state = FormatState::kPending;
      out.why = "waiting for the RTP timestamp step to check the payload against the format";
      return out;
    }
    out.state = FormatState::kReady;
    return out;
  }

  // Every session format the catalogue holds, with the streams in the table it describes.
  [[nodiscard]] std::vector<SessionSummary> sessions() const {
    std::vector<SessionSummary> out;
    for (const auto& e : catalogue.entries()) {
      SessionSummary x;
      x.format = *e.format;
      x.first_seen_ns = e.first_seen_ns;
      x.last_seen_ns = e.last_seen_ns;
      x.announcements = e.announcements;
      x.ended = e.ended ? e.ended : "";
      for (std::uint32_t n = lru_head; n != kNil; n = nodes[n].lru_next)
        if (nodes[n].sdp_index == e.slot && sdp_of(nodes[n]) == e.format) ++x.streams;
      out.push_back(std::move(x));
    }
    return out;
  }

  // What the packets contradict in their SDP (cold: at snapshot time).
  [[nodiscard]] static std::vector<std::string> mismatches(const StreamSummary& out) {
    std::vector<std::string> m;
    const SdpFormat& f = out.sdp;
    if (f.payload_type >= 0 && out.payload_type != f.payload_type)
      m.push_back(fmt::format("payload type {}, SDP says {}", out.payload_type, f.payload_type));
    // Samples per packet the sender uses: the RTP timestamp step when seen, else SDP ptime.
    const double ptime_ms = out.interval.ptime_ms;
    if (f.ptime_ms > 0 && ptime_ms > 0 && std::fabs(ptime_ms - f.ptime_ms) > 0.01 * f.ptime_ms)
      m.push_back(fmt::format("packet time {:.3f} ms (RTP timestamp step), SDP ptime {} ms",
                              ptime_ms, f.ptime_ms));
    else if (f.ptime_ms > 0 && ptime_ms == 0 && out.timing.pit.count > 0 &&
             std::fabs(out.timing.pit.paced_mean_us / 1e3 - f.ptime_ms) > 0.01 * f.ptime_ms)
      m.push_back(fmt::format("packet interval {:.3f} ms, SDP ptime {} ms",
                              out.timing.pit.paced_mean_us / 1e3, f.ptime_ms));
    if (f.sample_bytes() > 0 && f.channels > 0 && f.ptime_ms > 0 && f.clock_rate > 0 &&
        out.payload_type == f.payload_type) {
      const double samples = f.ptime_ms * f.clock_rate / 1e3;
      const auto expect = static_cast<std::uint64_t>(std::llround(samples)) *
                          static_cast<std::uint64_t>(f.channels) *
                          static_cast<std::uint64_t>(f.sample_bytes());
      if (out.payload_bytes != expect)
        m.push_back(fmt::format("payload {} bytes, SDP format {} ch x {} bytes x {} samples = {}",
                                out.payload_bytes, f.channels, f.sample_bytes(),
                                std::llround(samples), expect));
    }
    return m;
  }
};

namespace {
std::optional<Error> bad_tracker_setting(const char* setting, std::string reason) {
  return Error{ErrorCode::kBadConfig, fmt::format("stream tracker {}: {}", setting, reason),
               setting, std::move(reason)};
}
bool clock_in_range(std::uint32_t hz) { return hz >= kMinClockRateHz && hz <= kMaxClockRateHz; }
std::string clock_range_text(std::uint32_t hz) {
  return fmt::format("{} Hz is outside {} to {} Hz", hz, kMinClockRateHz, kMaxClockRateHz);
}
StreamTrackerConfig checked(StreamTrackerConfig config) {
  if (std::optional<Error> e = validate(config)) throw std::invalid_argument(e->message);
  return config;
}
}  // namespace

std::optional<Error> validate(const StreamTrackerConfig& config) {
  if (config.max_streams < kMinTrackerStreams || config.max_streams > kMaxTrackerStreams)
    return bad_tracker_setting(
        "max_streams", fmt::format("{} is outside {} to {} (about 2 KiB a slot, allocated "
                                   "up front)",
                                   config.max_streams, kMinTrackerStreams, kMaxTrackerStreams));
  if (!clock_in_range(config.default_clock_rate))
    return bad_tracker_setting("default_clock_rate", clock_range_text(config.default_clock_rate));
  for (const auto& [pt, hz] : config.clock_rate_by_pt) {
    if (pt < 0 || pt > 127)
      return bad_tracker_setting("clock_rate_by_pt",
                                 fmt::format("payload type {} is outside 0 to 127", pt));
    if (!clock_in_range(hz))
      return bad_tracker_setting("clock_rate_by_pt",
                                 fmt::format("payload type {}: {}", pt, clock_range_text(hz)));
  }
  for (const FormatOption& f : config.audio_formats) {
    const std::string& name = f.text.empty() ? f.encoding : f.text;
    if (!clock_in_range(f.clock_rate))
      return bad_tracker_setting("audio_formats",
                                 fmt::format("'{}': {}", name, clock_range_text(f.clock_rate)));
    if (f.channels < 1 || f.channels > kMaxChannels)
      return bad_tracker_setting(
          "audio_formats",
          fmt::format("'{}': {} channels is outside 1 to {}", name, f.channels, kMaxChannels));
  }
  return std::nullopt;
}

StreamTracker::StreamTracker(StreamTrackerConfig config)
    : impl_(std::make_unique<Impl>(checked(std::move(config)))) {}
StreamTracker::~StreamTracker() = default;
StreamTracker::StreamTracker(StreamTracker&&) noexcept = default;
StreamTracker& StreamTracker::operator=(StreamTracker&&) noexcept = default;

void StreamTracker::add(const PacketView& packet, int linktype) noexcept {
  impl_->begin_call(nullptr, &packet);
  impl_->add(packet, linktype);
}

void StreamTracker::add(const Batch& batch, int linktype) noexcept {
  impl_->begin_call(&batch, nullptr);
  for (PacketView p : batch) impl_->add(p, linktype);
}

void StreamTracker::add(const Batch& batch, Span<const int> linktype_by_interface) noexcept {
  impl_->begin_call(&batch, nullptr);
  for (PacketView p : batch)
    impl_->add(p, p.interface_index < linktype_by_interface.size()
                      ? linktype_by_interface[p.interface_index]
                      : -1);
}

std::vector<StreamSummary> StreamTracker::streams() const {
  std::vector<StreamSummary> out;
  out.reserve(impl_->live);
  for (std::uint32_t n = impl_->lru_head; n != kNil; n = impl_->nodes[n].lru_next)
    out.push_back(impl_->summarize(n));
  std::sort(out.begin(), out.end(),
            [](const StreamSummary& a, const StreamSummary& b) { return a.id < b.id; });
  return out;
}

TrackerTotals StreamTracker::totals() const noexcept {
  TrackerTotals t = impl_->totals;
  const analysis::SapCounters& sap = impl_->catalogue.counters();
  t.sap_packets = sap.packets;
  t.sap_announcements = sap.announcements;
  t.sap_refreshes = sap.refreshes;
  t.sap_deletions = sap.deletions;
  t.sap_encrypted_or_compressed = sap.encrypted_or_compressed;
  t.sap_malformed = sap.malformed;
  t.sap_incomplete = sap.incomplete;
  t.sap_rate_limited = sap.rate_limited;
  t.sap_expired = sap.expired;
  t.sap_evicted = sap.evicted;
  t.streams_active = impl_->live;
  t.unvalidated_rtp_streams = 0;
  for (std::uint32_t n = impl_->lru_head; n != kNil; n = impl_->nodes[n].lru_next)
    if (impl_->nodes[n].key.is_rtp != 0 && !impl_->nodes[n].seq.validated())
      ++t.unvalidated_rtp_streams;
  return t;
}

void StreamTracker::add_sdp(const std::vector<SdpFormat>& formats) { impl_->add_sdp(formats); }

PcmStreamFormat StreamTracker::pcm_format(const StreamKey& key) const {
  return impl_->pcm_format(key);
}

bool StreamTracker::stream_validated(const StreamKey& key) const noexcept {
  const std::uint32_t n = impl_->find_rtp(key);
  return n != kNil && impl_->nodes[n].seq.validated();
}

const analysis::RtpHandoff& StreamTracker::rtp_handoff() const noexcept {
  impl_->handoff_wanted = true;
  return impl_->handoff;
}

bool StreamTracker::rtp_handoff_of(const PacketView& packet, int linktype,
                                   analysis::RtpHandoffPacket& out) const noexcept {
  return impl_->handoff_of(packet, linktype, out);
}

StreamKey StreamTracker::rtp_stream_key(std::uint32_t stream) const noexcept {
  if (stream >= impl_->nodes.size()) return StreamKey{};
  return stream_key_of(impl_->nodes[stream].key);
}

std::uint64_t StreamTracker::catalogue_version() const noexcept {
  // Both only grow: the sum changes when either does (pcm_format's redundancy_group included).
  return impl_->catalogue.version() + impl_->redundancy.pairing_version();
}

void StreamTracker::set_outages(std::uint16_t interface_index, Span<const LinkOutage> outages) {
  auto& all = impl_->outages;
  all.erase(std::remove_if(all.begin(), all.end(),
                           [&](const Outage& o) { return o.interface_index == interface_index; }),
            all.end());
  for (const LinkOutage& o : outages)
    all.push_back(Outage{interface_index, o.begin_ns,
                         o.end_ns == 0 ? std::numeric_limits<std::int64_t>::max() : o.end_ns});
}

void StreamTracker::set_outages(const CaptureStats& stats) {
  for (std::size_t i = 0; i < stats.interfaces.size() && i <= 0xFFFF; ++i)
    set_outages(static_cast<std::uint16_t>(i), stats.interfaces[i].outages);
}

TrackerSnapshot StreamTracker::snapshot() const {
  TrackerSnapshot s;
  s.totals = totals();
  s.streams = streams();
  s.last_ts_ns = impl_->last_ts_ns;
  s.sdp = impl_->catalogue.active_formats();
  s.sessions = impl_->sessions();
  s.ptp = impl_->ptp.snapshot();
  for (StreamSummary& st : s.streams) analysis::apply_ptp(st, s.ptp);
  s.redundancy = impl_->redundancy.pairs();
  s.redundancy_totals = impl_->redundancy.totals();
  analysis::apply_redundancy(s);
  return s;
}

const StreamTrackerConfig& StreamTracker::config() const noexcept { return impl_->config; }

std::size_t StreamTracker::memory_bytes() const noexcept {
  std::size_t bytes = sizeof(Impl) + impl_->index.capacity() * sizeof(std::uint32_t) +
                      impl_->nodes.capacity() * sizeof(Stream) +
                      impl_->histograms.capacity() * sizeof(std::unique_ptr<Histogram>);
  for (const auto& h : impl_->histograms)
    if (h) bytes += sizeof(Histogram);
  bytes += impl_->dst_heads.capacity() * sizeof(std::uint32_t) + impl_->catalogue.memory_bytes();
  bytes += impl_->handoff.packets.capacity() * sizeof(analysis::RtpHandoffPacket);
  return bytes + impl_->redundancy.memory_bytes();
}

void StreamTracker::clear() noexcept {
  Impl& m = *impl_;
  std::fill(m.index.begin(), m.index.end(), kNil);
  std::fill(m.dst_heads.begin(), m.dst_heads.end(), kNil);
  m.catalogue.clear_counters();
  m.used = 0;
  m.live = 0;
  m.lru_head = kNil;
  m.lru_tail = kNil;
  m.next_id = 0;
  m.last_ts_ns = 0;
  m.totals = TrackerTotals{};
  m.first_destination = IpAddress{};
  m.ptp.clear();
  m.redundancy.clear();
}

}  // namespace rtcap
