// The stream table: a preallocated node pool, an open-addressing index (linear probing,
// backward-shift deletion, no tombstones) and an intrusive LRU list through the nodes. Nothing in
// add() allocates except a slot's delay histogram the first time that slot sees a send-time
// extension (at most max_streams times over the tracker's life; reused after eviction).
#include <cstdint>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "analysis/packet_parser.hpp"
#include "analysis/rtp_stats.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/histogram.hpp"

namespace rtcap {

namespace {

using analysis::JitterTracker;
using analysis::ParseClass;
using analysis::RtpHeader;
using analysis::SeqTracker;

constexpr std::uint32_t kNil = std::numeric_limits<std::uint32_t>::max();

// 44 bytes, no padding: compared with memcmp, hashed as words.
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

// MurmurHash3's 64-bit finaliser over a running combination: portable (no __int128, MSVC too)
// and a few cycles per word.
inline std::uint64_t fmix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
  return fmix(a ^ (b * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull));
}

inline std::uint64_t hash_key(const FlowKey& k) noexcept {
  std::uint64_t w[6] = {};
  std::memcpy(w, &k, sizeof k);  // 44 bytes into 48, the tail word zero-padded
  return mix(mix(w[0], w[1]) ^ mix(w[2], w[3]), mix(w[4], w[5]));
}

// Welford running mean/variance of arrival gaps, plus the min/max and the long-gap count.
struct IntervalAccumulator {
  std::uint64_t count = 0;
  double mean_ns = 0;
  double m2 = 0;
  std::int64_t min_ns = 0;
  std::int64_t max_ns = 0;
  std::uint64_t long_gaps = 0;

  void add(std::int64_t gap_ns, std::int64_t ptime_ns) noexcept {
    ++count;
    const double x = static_cast<double>(gap_ns);
    const double delta = x - mean_ns;
    mean_ns += delta / static_cast<double>(count);
    m2 += delta * (x - mean_ns);
    if (count == 1 || gap_ns < min_ns) min_ns = gap_ns;
    if (gap_ns > max_ns) max_ns = gap_ns;
    // 1.5 x ptime: a gap that long means at least one packet is missing or late.
    if (ptime_ns > 0 && 2 * gap_ns > 3 * ptime_ns) ++long_gaps;
  }
};

struct Stream {
  FlowKey key;
  std::uint64_t hash;
  std::uint32_t lru_prev;
  std::uint32_t lru_next;
  std::uint64_t id;
  std::uint64_t packets;
  std::uint64_t bytes;
  std::int64_t first_ts_ns;
  std::int64_t last_ts_ns;
  IntervalAccumulator interval;
  // RTP
  SeqTracker seq;
  JitterTracker jitter;
  std::uint32_t clock_rate;
  std::uint8_t payload_type;
  bool have_prev_rtp;
  std::uint16_t prev_seq;
  std::uint32_t prev_rtp_ts;
  // ptime estimate: the RTP timestamp step between sequential packets, once seen 3 times running.
  std::uint32_t ptime_ticks;
  std::uint32_t ptime_candidate;
  std::uint32_t ptime_streak;
  std::int64_t ptime_ns;  // ptime_ticks in ns, 0: unknown
  // one-way delay
  std::uint64_t delay_count;
  std::int64_t delay_min_ns;
  std::int64_t delay_max_ns;
  double delay_sum_ns;
  std::uint64_t delay_negative;
};

constexpr std::uint32_t kPtimeConfirmations = 3;

}  // namespace

struct StreamTracker::Impl {
  explicit Impl(StreamTrackerConfig c) : config(std::move(c)) {
    if (config.max_streams == 0) config.max_streams = 1;
    if (config.max_streams >= kNil / 4) config.max_streams = kNil / 4;
    std::size_t buckets = 16;
    while (buckets < 2 * config.max_streams) buckets *= 2;  // load factor <= 0.5
    index.assign(buckets, kNil);
    mask = buckets - 1;
    nodes.resize(config.max_streams);
    histograms.resize(config.max_streams);
    for (int pt = 0; pt < 128; ++pt) clock_by_pt[pt] = config.default_clock_rate;
    for (const auto& [pt, rate] : config.clock_rate_by_pt)
      if (pt >= 0 && pt < 128 && rate > 0) clock_by_pt[pt] = rate;
  }

  StreamTrackerConfig config;
  std::vector<std::uint32_t> index;  // bucket -> node, kNil when empty
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
  TrackerTotals totals;

  void lru_unlink(std::uint32_t n) noexcept {
    Stream& s = nodes[n];
    if (s.lru_prev != kNil) nodes[s.lru_prev].lru_next = s.lru_next; else lru_head = s.lru_next;
    if (s.lru_next != kNil) nodes[s.lru_next].lru_prev = s.lru_prev; else lru_tail = s.lru_prev;
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
      if (nodes[n].hash == h && std::memcmp(&nodes[n].key, &k, sizeof k) == 0) return n;
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
      const bool home_in_range = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!home_in_range) {
        index[hole] = index[j];
        hole = j;
      }
    }
    index[hole] = kNil;
  }

  void retire(const Stream& s) noexcept {
    if (s.key.is_rtp != 0) {
      totals.evicted_expected += s.seq.expected();
      const std::int64_t lost = s.seq.lost();
      if (lost > 0) totals.evicted_lost += lost;
    }
  }

  std::uint32_t create(const FlowKey& k, std::uint64_t h, std::int64_t ts_ns) noexcept {
    std::uint32_t n;
    if (used < nodes.size()) {
      n = used++;
    } else {
      n = lru_tail;  // the table is full: evict the least recently seen stream
      retire(nodes[n]);
      lru_unlink(n);
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
    index_insert(n, h);
    lru_push_front(n);
    ++live;
    ++totals.streams_seen;
    return n;
  }

  void add(const PacketView& p, int linktype) noexcept {
    ++totals.packets;
    totals.bytes += p.wire_len;
    if (p.ts_ns > last_ts_ns) last_ts_ns = p.ts_ns;
    const analysis::ParsedPacket pk =
        analysis::parse_packet(p.bytes.data(), p.bytes.size(), p.wire_len, linktype);
    switch (pk.cls) {
      case ParseClass::kUdp:
        break;
      case ParseClass::kOther:
        ++totals.other;
        return;
      case ParseClass::kMalformed:
        ++totals.malformed;
        return;
      case ParseClass::kFragment:
        ++totals.fragments;
        return;
    }
    ++totals.udp;

    FlowKey k;
    std::memset(&k, 0, sizeof k);
    const std::size_t alen = pk.family == 4 ? 4 : 16;
    std::memcpy(k.src, pk.src, alen);
    std::memcpy(k.dst, pk.dst, alen);
    k.src_port = pk.src_port;
    k.dst_port = pk.dst_port;
    k.interface_index = p.interface_index;
    k.family = pk.family;
    RtpHeader rtp;
    const bool is_rtp = config.detect_rtp &&
                        analysis::parse_rtp(pk.payload, pk.payload_len, pk.payload_complete, rtp);
    if (is_rtp) {
      ++totals.rtp;
      k.is_rtp = 1;
      k.ssrc = rtp.ssrc;
    }

    const std::uint64_t h = hash_key(k);
    std::uint32_t n = find(k, h);
    const bool fresh = n == kNil;
    if (fresh) {
      n = create(k, h, p.ts_ns);
    } else if (n != lru_head) {
      lru_unlink(n);
      lru_push_front(n);
    }
    Stream& s = nodes[n];
    const std::int64_t ptime_ns_config = config.expected_ptime_ns;
    if (!fresh) s.interval.add(p.ts_ns - s.last_ts_ns, ptime_ns_config ? ptime_ns_config : s.ptime_ns);
    ++s.packets;
    s.bytes += p.wire_len;
    s.last_ts_ns = p.ts_ns;
    if (!is_rtp) return;

    s.payload_type = rtp.payload_type;
    s.clock_rate = clock_by_pt[rtp.payload_type];
    analysis::SeqVerdict verdict;
    if (fresh) {
      s.seq.start(rtp.seq);
      verdict = s.seq.update(rtp.seq);
    } else {
      verdict = s.seq.update(rtp.seq);
    }
    if (verdict == analysis::SeqVerdict::kRestart) s.jitter.reset();
    if (verdict != analysis::SeqVerdict::kBadJump) s.jitter.update(p.ts_ns, rtp.timestamp, s.clock_rate);

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
      out.rate_bps = static_cast<double>(s.bytes) * 8 * out.rate_pps / static_cast<double>(s.packets);
    }
    IntervalStats& iv = out.interval;
    iv.count = s.interval.count;
    if (iv.count > 0) {
      iv.mean_ms = s.interval.mean_ns / 1e6;
      iv.stddev_ms = iv.count > 1 ? std::sqrt(s.interval.m2 / static_cast<double>(iv.count - 1)) / 1e6 : 0.0;
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
    out.validated = s.seq.validated();
    out.expected = s.seq.expected();
    out.received = s.seq.received();
    out.lost = s.seq.lost();
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
    return out;
  }
};

StreamTracker::StreamTracker(StreamTrackerConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}
StreamTracker::~StreamTracker() = default;
StreamTracker::StreamTracker(StreamTracker&&) noexcept = default;
StreamTracker& StreamTracker::operator=(StreamTracker&&) noexcept = default;

void StreamTracker::add(const PacketView& packet, int linktype) noexcept {
  impl_->add(packet, linktype);
}

void StreamTracker::add(const Batch& batch, int linktype) noexcept {
  for (PacketView p : batch) impl_->add(p, linktype);
}

void StreamTracker::add(const Batch& batch, Span<const int> linktype_by_interface) noexcept {
  for (PacketView p : batch)
    impl_->add(p, p.interface_index < linktype_by_interface.size() ? linktype_by_interface[p.interface_index] : -1);
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
  t.streams_active = impl_->live;
  return t;
}

TrackerSnapshot StreamTracker::snapshot() const {
  TrackerSnapshot s;
  s.totals = totals();
  s.streams = streams();
  s.last_ts_ns = impl_->last_ts_ns;
  return s;
}

const StreamTrackerConfig& StreamTracker::config() const noexcept { return impl_->config; }

std::size_t StreamTracker::memory_bytes() const noexcept {
  std::size_t bytes = sizeof(Impl) + impl_->index.capacity() * sizeof(std::uint32_t) +
                      impl_->nodes.capacity() * sizeof(Stream) +
                      impl_->histograms.capacity() * sizeof(std::unique_ptr<Histogram>);
  for (const auto& h : impl_->histograms)
    if (h) bytes += sizeof(Histogram);
  return bytes;
}

void StreamTracker::clear() noexcept {
  Impl& m = *impl_;
  std::fill(m.index.begin(), m.index.end(), kNil);
  m.used = 0;
  m.live = 0;
  m.lru_head = kNil;
  m.lru_tail = kNil;
  m.next_id = 0;
  m.last_ts_ns = 0;
  m.totals = TrackerTotals{};
}

}  // namespace rtcap
