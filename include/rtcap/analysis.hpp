// Stream analysis: "where did the packets go?"
//
// A StreamTracker is fed every captured packet by the consumer thread. It parses the link layer
// (Ethernet with 802.1Q/802.1ad tags, Linux cooked v1/v2, raw IP, BSD loopback), IPv4/IPv6 and
// UDP, and keeps per-stream statistics for every UDP flow and, when the payload is RTP, for every
// SSRC within it: RFC 3550 A.1 sequence tracking (expected, lost, duplicates, late packets,
// restarts), RFC 3550 interarrival jitter, packet-interval statistics and, when the sender put
// rtcap's send-time header extension in the packet, one-way delay.
//
//   rtcap::StreamTracker tracker;  // compiled in tests/unit/test_header_examples.cpp
//   for (rtcap::PacketView p : batch) tracker.add(p, linktype);
//   std::string table = rtcap::format_stream_table(tracker.snapshot());
//
// Memory is fixed at construction (max_streams slots, the least recently seen stream is evicted
// to make room and the eviction is counted); after warm-up `add` allocates nothing, takes no
// lock, makes no system call and never throws. Not thread-safe: the consumer thread owns it, and
// a status printer calls snapshot() from that same thread.
#pragma once

#include "rtcap/export.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include "rtcap/batch.hpp"
#include <string>
#include <vector>

#include "rtcap/batch.hpp"

namespace rtcap {

struct CaptureStats;  // rtcap/stats.hpp

// Link types (DLT_* values as libpcap hands them out by pcap_datalink()).
inline constexpr int kDltNull = 0;         // BSD loopback, host-order AF_ family
inline constexpr int kDltEn10mb = 1;       // Ethernet
inline constexpr int kDltRaw = 12;         // raw IP (most platforms)
inline constexpr int kDltRawOpenBsd = 14;  // raw IP (OpenBSD's DLT_RAW)
inline constexpr int kLinktypeRaw = 101;   // raw IP as written in files
inline constexpr int kDltLoop = 108;       // OpenBSD loopback, network-order AF_ family
inline constexpr int kDltLinuxSll = 113;   // Linux cooked capture v1 ("any" device)
inline constexpr int kDltLinuxSll2 = 276;  // Linux cooked capture v2

// RTP header extension (RFC 8285 one-byte form, profile 0xBEDE) element that rtcap's generator
// writes: 8 data bytes, CLOCK_REALTIME nanoseconds at send time, big-endian uint64.
inline constexpr int kSendTimeExtensionId = 1;

struct StreamTrackerConfig {
  std::size_t max_streams = 1024;  // table slots; more streams evict the least recently seen
  std::uint32_t default_clock_rate = 48000;       // Hz, RTP clock for payload types not mapped
  std::map<int, std::uint32_t> clock_rate_by_pt;  // payload type -> RTP clock rate (Hz)
  // Expected packet time for the gap count; 0: estimate per stream from RTP timestamp deltas.
  std::int64_t expected_ptime_ns = 0;
  bool detect_rtp = true;  // false: every UDP flow is tracked as raw UDP
};

struct RTCAP_API IpAddress {
  std::uint8_t family = 0;  // 4 or 6 (0: unset)
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes
  [[nodiscard]] std::string to_string() const;  // dotted quad, or RFC 5952 text for IPv6
  bool operator==(const IpAddress& o) const { return family == o.family && bytes == o.bytes; }
  bool operator!=(const IpAddress& o) const { return !(*this == o); }
};

// Arrival-time gaps between consecutive packets of one stream (arrival order).
struct IntervalStats {
  std::uint64_t count = 0;       // gaps measured (packets - 1)
  double mean_ms = 0;
  double stddev_ms = 0;
  double min_ms = 0;
  double max_ms = 0;             // the largest gap
  double ptime_ms = 0;           // expected packet time (configured or estimated); 0: unknown
  std::uint64_t long_gaps = 0;   // gaps > 1.5 x ptime (only counted once ptime is known)
};

// One-way delay = capture timestamp - sender timestamp (both CLOCK_REALTIME, so meaningful only
// when the clocks agree: same host, or PTP-synchronised hosts).
struct DelayStats {
  std::uint64_t count = 0;
  std::int64_t min_ns = 0;
  std::int64_t max_ns = 0;
  double mean_ns = 0;
  std::uint64_t p99_ns = 0;        // from a log-linear histogram, <= 3.1% above the true value
  std::uint64_t negative = 0;      // samples below zero (clocks disagree); recorded as 0 in p99
};

struct StreamSummary {
  std::uint64_t id = 0;  // first-seen order (0, 1, 2, ... across the tracker's life)
  std::uint16_t interface_index = 0;
  IpAddress src;
  IpAddress dst;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  bool is_rtp = false;

  std::uint64_t packets = 0;  // every packet of the stream the tracker saw
  std::uint64_t bytes = 0;    // sum of wire lengths (whole frames)
  std::int64_t first_ts_ns = 0;
  std::int64_t last_ts_ns = 0;
  double rate_pps = 0;        // packets / (last - first)
  double rate_bps = 0;        // bytes * 8 / (last - first)
  IntervalStats interval;

  // RTP only (zero for raw UDP).
  std::uint32_t ssrc = 0;
  int payload_type = -1;  // of the latest packet
  std::uint32_t clock_rate = 0;
  bool validated = false;        // passed RFC 3550 probation (MIN_SEQUENTIAL in-order packets)
  std::uint64_t expected = 0;    // extended highest seq - base + 1, summed over restarts
  std::uint64_t received = 0;    // RFC 3550 count (includes duplicates)
  std::int64_t lost = 0;         // expected - received; negative when duplicates outnumber losses
  std::uint64_t duplicates = 0;  // a sequence number seen twice (within the last 128)
  std::uint64_t reordered = 0;   // late packets: behind the highest seq, not seen before
  std::uint64_t seq_restarts = 0;  // large jump confirmed by a sequential packet
  std::uint64_t bad_seq = 0;     // packets dropped from the count by the large-jump rule
  double jitter = 0;             // RFC 3550 J, RTP clock units
  double jitter_ms = 0;
  double max_jitter_ms = 0;
  bool has_delay = false;
  DelayStats one_way_delay;      // valid when has_delay
};

struct TrackerTotals {
  std::uint64_t packets = 0;    // every packet given to add()
  std::uint64_t bytes = 0;      // sum of wire lengths
  std::uint64_t udp = 0;        // UDP datagrams (first fragments included)
  std::uint64_t rtp = 0;        // of which parsed as RTP
  std::uint64_t malformed = 0;  // truncated headers, bad lengths, bad versions
  std::uint64_t other = 0;      // not IP, or IP but not UDP, or unknown link type
  std::uint64_t fragments = 0;  // non-first IP fragments (counted, not parsed)
  std::uint64_t evicted = 0;    // streams pushed out of the table to make room
  std::uint64_t streams_seen = 0;    // distinct streams ever created
  std::uint64_t streams_active = 0;  // in the table now
  // Sequence loss of evicted streams, kept so that totals stay right after eviction.
  std::uint64_t evicted_expected = 0;
  std::int64_t evicted_lost = 0;
};

struct TrackerSnapshot {
  TrackerTotals totals;
  std::vector<StreamSummary> streams;  // by first-seen id
  std::int64_t last_ts_ns = 0;         // newest packet timestamp seen
};

class RTCAP_API StreamTracker {
 public:
  explicit StreamTracker(StreamTrackerConfig config = {});
  ~StreamTracker();
  StreamTracker(const StreamTracker&) = delete;
  StreamTracker& operator=(const StreamTracker&) = delete;
  StreamTracker(StreamTracker&&) noexcept;
  StreamTracker& operator=(StreamTracker&&) noexcept;

  // Hot path. `linktype` is the handle's pcap_datalink() value.
  void add(const PacketView& packet, int linktype) noexcept;
  void add(const Batch& batch, int linktype) noexcept;
  // Several interfaces with different link types: indexed by PacketView::interface (an index
  // out of range counts the packet as "other").
  void add(const Batch& batch, Span<const int> linktype_by_interface) noexcept;

  [[nodiscard]] std::vector<StreamSummary> streams() const;  // by first-seen id
  [[nodiscard]] TrackerTotals totals() const noexcept;
  [[nodiscard]] TrackerSnapshot snapshot() const;
  [[nodiscard]] const StreamTrackerConfig& config() const noexcept;
  // Bytes the tracker holds now (table + histograms); bounded by max_streams.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;
  void clear() noexcept;  // forget every stream and counter (keeps the memory)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sum of sequence loss over streams, only positive per-stream values (duplicates in one stream
// must not hide loss in another), plus the loss of evicted streams.
[[nodiscard]] RTCAP_API std::uint64_t total_sequence_loss(const TrackerSnapshot& snapshot) noexcept;

// "Where did the packets go?" Splits the packets missing from RTP sequences into those the
// capture itself dropped and those lost before the capture point (on the network or sender).
//
// Reasoning: every packet the capture dropped (kernel ring full, interface drop, or no free batch
// in rtcap) is a packet the tracker never saw. If it belonged to a tracked RTP stream it shows up
// as a sequence gap; if it was other traffic (ARP, PTP, RTCP, untracked flows) it does not. So
// the capture explains at most min(missing, capture_dropped) of the gaps: that is an UPPER bound
// on "dropped by the capture", and missing - that is a LOWER bound on "lost before the capture".
// When the capture dropped nothing, every gap happened before the capture point. Caveats: Linux
// counts interface drops only in promiscuous mode; packets that arrive before the ring exists are
// not counted by anyone; loss after a stream's last received packet is invisible to sequence
// numbers.
struct LossAttribution {
  std::uint64_t missing_in_streams = 0;       // sequence gaps (positive per-stream loss)
  std::uint64_t capture_dropped = 0;          // kernel + interface + application drops
  std::uint64_t dropped_by_capture_max = 0;   // upper bound: min(missing, capture_dropped)
  std::uint64_t lost_before_capture_min = 0;  // lower bound: missing - dropped_by_capture_max
  bool exact = false;  // true when the split is certain (no capture drops, or nothing missing)
  std::string text;    // plain words for a person
};

[[nodiscard]] RTCAP_API LossAttribution attribute_loss(std::uint64_t missing_in_streams,
                                             std::uint64_t capture_dropped);
// capture_dropped = stats.kernel_dropped() + stats.interface_dropped() + app_dropped_packets.
[[nodiscard]] RTCAP_API LossAttribution attribute_loss(std::uint64_t missing_in_streams,
                                             const CaptureStats& stats);

// Output. JSON text (nlohmann inside the library, not in this header): an object with "totals"
// and "streams"; per stream src/dst address and port, ssrc as "0x%08x", payload_type,
// clock_rate, packets, expected, lost, duplicates, reordered, jitter_ms, interval and,
// when known, one_way_delay. indent < 0: one line.
[[nodiscard]] RTCAP_API std::string to_json(const TrackerSnapshot& snapshot, int indent = 2);
[[nodiscard]] RTCAP_API std::string to_json(const LossAttribution& loss, int indent = 2);
// Fixed-width text table for a terminal, in the spirit of `tshark -z rtp,streams`.
[[nodiscard]] RTCAP_API std::string format_stream_table(const TrackerSnapshot& snapshot);

}  // namespace rtcap
