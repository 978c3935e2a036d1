// ST 2022-7 pairing and merge analysis (rtcap/redundancy.hpp), fed by the stream tracker through
// four calls: a new RTP stream, its SDP match, its eviction, and each of its packets. Private to
// librtcap.
//
// Memory is fixed: per stream slot a few words; kMaxRedundantPairs pairs, each with a window of
// kRedundancyWindow sequence numbers allocated the first time the pair slot is used and reused
// after. on_packet costs one load for a stream without a pair, and for a paired one a slot
// write plus one finalised sequence number per step of the front: never allocates, never throws.
// Pairing (stream creation, SDP change) costs a probe of a fixed open-addressing table. Hostile
// input stays bounded: a sequence jump beyond the window restarts the count (counted, not taken
// as loss), and an SSRC pair whose sequence numbers never meet within a window is dissolved.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rtcap/analysis.hpp"
#include "rtcap/redundancy.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap::analysis {

// What the tracker knows of a new RTP stream that pairing needs.
struct LegIdentity {
  std::uint64_t stream_id = 0;
  std::uint32_t ssrc = 0;
  std::uint16_t interface_index = 0;
  std::uint16_t dst_port = 0;
  std::uint8_t family = 0;
  std::uint8_t dst[16] = {};
};

class RedundancyAnalyser {
 public:
  explicit RedundancyAnalyser(std::size_t max_streams);

  void on_stream(std::uint32_t node, const LegIdentity& id) noexcept;
  // The stream's SDP (nullptr: none): a leg of an a=group:DUP pairs with its twin.
  void on_format(std::uint32_t node, const SdpFormat* f) noexcept;
  void on_evict(std::uint32_t node) noexcept;
  void on_packet(std::uint32_t node, std::uint16_t seq, std::int64_t ts_ns) noexcept {
    const std::uint32_t p = nodes_[node].pair;
    if (p != kNone) update(p, nodes_[node].leg, seq, ts_ns);
  }

  [[nodiscard]] std::vector<RedundantPair> pairs() const;
  // `node`'s pair now: the other leg's node, this leg (0: path[0]) and the pair's group name.
  // False when the stream is no leg of a pair. Cold.
  bool peer(std::uint32_t node, std::uint32_t& other, int& leg, std::string& group) const;
  [[nodiscard]] RedundancyTotals totals() const noexcept { return totals_; }
  // Bumps whenever a pair forms or dissolves (peer()'s answer changed); never reset.
  [[nodiscard]] std::uint64_t pairing_version() const noexcept { return pairing_version_; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept;
  void clear() noexcept;

  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  // |differential| bins: [0,1) us, then octaves [2^(k-1), 2^k) us up to 2^20 us (~1 s), then the
  // rest: 22 counters a pair.
  static constexpr int kDiffBins = 22;
  static constexpr std::size_t kRecentSeconds = 16;

 private:
  struct Node {
    LegIdentity id;
    bool live = false;
    std::uint32_t pair = kNone;
    std::uint8_t leg = 0;
    std::uint64_t dup_key = 0;  // 0: not a leg of an a=group:DUP
    std::int8_t dup_leg = -1;
    std::array<char, kMaxMidBytes + 1> mid{};
  };
  struct Slot {
    std::int64_t at[2];  // arrival per path; kAbsent when not (yet) received
  };
  struct Pair {
    bool used = false;
    PairedBy by = PairedBy::kSsrc;
    std::string group;
    std::uint32_t node[2] = {kNone, kNone};
    std::vector<Slot> window;  // kRedundancyWindow, allocated on the slot's first use
    bool started = false;
    std::int64_t front = 0;  // highest extended sequence number seen on either path
    std::int64_t start = 0;  // extended sequence number of the pair's first packet
    bool seen[2] = {false, false};
    std::int64_t first[2] = {0, 0};
    std::int64_t high[2] = {0, 0};
    bool counting = false;
    std::int64_t count_from = 0;  // max(first): both paths could carry it
    std::int64_t last_counted = -1;
    // Finalised (left the window).
    std::uint64_t expected = 0;
    std::uint64_t merged_lost = 0;
    std::uint64_t received[2] = {0, 0};
    std::uint64_t duplicates[2] = {0, 0};
    std::uint64_t late[2] = {0, 0};
    std::uint64_t resyncs = 0;
    std::uint64_t matched = 0;
    std::uint32_t late_run = 0;           // consecutive packets behind the window
    std::uint64_t unmatched_packets = 0;  // while nothing matched (SSRC pairs only)
    // Differential, path 1 minus path 0.
    std::uint64_t diff_count = 0;
    double diff_sum_us = 0;
    double diff_min_us = 0;
    double diff_max_us = 0;
    double diff_max_abs_us = 0;
    std::uint64_t diff_bins[kDiffBins] = {};
    std::int64_t second_end_ns = INT64_MIN;  // end of the packet-time second of second_max_us
    double second_max_us = 0;
    std::array<double, kRecentSeconds> recent{};
    std::uint64_t recent_count = 0;
  };
  struct Waiting {  // open addressing, linear probing, backward-shift deletion
    std::vector<std::uint64_t> keys;
    std::vector<std::uint32_t> nodes;  // kNone: empty bucket
    std::size_t mask = 0;
    void init(std::size_t max_streams);
    void insert(std::uint64_t key, std::uint32_t node) noexcept;
    void erase(std::uint64_t key, std::uint32_t node) noexcept;
    void reset() noexcept;
  };

  static constexpr std::int64_t kAbsent = INT64_MIN;
  // 8 packets in a row behind the window: one late straggler is counted, a run is a restart.
  static constexpr std::uint32_t kLateRunResync = 8;
  // An SSRC pair restarting this often before any number met is two unrelated senders.
  static constexpr std::uint64_t kResyncsUnmatched = 4;

  void update(std::uint32_t p, std::uint8_t leg, std::uint16_t seq, std::int64_t ts_ns) noexcept;
  void resync(Pair& pr, std::int64_t ext) noexcept;
  void finalise(Pair& pr, std::int64_t ext, const Slot& s) noexcept;
  void record_differential(Pair& pr, double d_us, std::int64_t ts_ns) noexcept;
  bool form(std::uint32_t leg0, std::uint32_t leg1, PairedBy by) noexcept;
  void dissolve(std::uint32_t p, bool ended) noexcept;
  void wait_ssrc(std::uint32_t node) noexcept;
  void try_ssrc(std::uint32_t node) noexcept;
  [[nodiscard]] bool ssrc_compatible(const Node& a, const Node& b) const noexcept;

  std::vector<Node> nodes_;
  std::vector<Pair> pairs_;
  Waiting by_ssrc_;
  Waiting by_dup_;
  RedundancyTotals totals_;
  std::uint64_t pairing_version_ = 0;
};

// Fills what needs the streams (buffer in packets from the legs' packet time, the pair's name).
void apply_redundancy(TrackerSnapshot& s);

}  // namespace rtcap::analysis
