// PTP (IEEE 1588-2008, PTPv2) as the stream tracker sees it on the wire: per domain, the
// grandmaster now and every change of it, the masters sending, the measured Announce and Sync
// intervals against the logMessageInterval they carry, one- and two-step Sync, and an estimate
// of the capture clock's offset from PTP time. Part of rtcap::TrackerSnapshot (analysis.hpp).
// Compiles as C++17.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rtcap/export.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap {

using PtpClockIdentity = std::array<std::uint8_t, 8>;  // EUI-64

// "39-A7-94-FF-FE-07-CB-D0": the form RFC 7273's a=ts-refclk uses (upper-case hex, dashes).
[[nodiscard]] RTCAP_API std::string ptp_clock_identity_text(const PtpClockIdentity& id);

// The Announce fields that describe a grandmaster (IEEE 1588-2008 13.5, 7.6.2).
struct PtpGrandmaster {
  PtpClockIdentity identity{};
  std::uint8_t priority1 = 0;
  std::uint8_t clock_class = 0;
  std::uint8_t clock_accuracy = 0;  // 0x20 25 ns ... 0x31 > 10 s, 0xFE unknown
  std::uint16_t offset_scaled_log_variance = 0;
  std::uint8_t priority2 = 0;
  std::uint16_t steps_removed = 0;
  std::uint8_t time_source = 0;         // 0x10 atomic, 0x20 GPS, 0x40 PTP, 0xA0 internal oscillator
  std::int16_t current_utc_offset = 0;  // TAI - UTC, s (37 since 2017)
  bool current_utc_offset_valid = false;
};

// Arrival intervals of one message type from one master, against the interval it announces.
struct PtpIntervalStats {
  std::uint64_t count = 0;  // intervals measured (messages - 1)
  int log_interval = 0;     // logMessageInterval of the latest message (log2 s; 127: none)
  double expected_s = 0;    // 2^log_interval
  double mean_s = 0;        // measured
  double stddev_s = 0;      // interval jitter
  double min_s = 0;
  double max_s = 0;
  double rate_hz = 0;  // 1 / mean
};

// Capture clock minus PTP time (as UTC: TAI minus currentUtcOffset when the Announce says it is
// valid; else the time as sent), from the Sync
// (one-step) or Follow_Up (two-step) origin timestamps plus correctionField against the capture
// time stamps of the Syncs. The path delay from master to capture point is inside it (see
// PtpPathDelay for taking it off), so it is an estimate from the wire.
struct PtpOffsetEstimate {
  std::uint64_t samples = 0;
  double last_ns = 0;
  double mean_ns = 0;    // exponentially weighted, 1/16 per sample: the capture clock drifts
  double stddev_ns = 0;  // the estimate's uncertainty: weighted spread, same weight
  double min_ns = 0;
  double max_ns = 0;
  bool utc_offset_applied = false;  // an Announce with currentUtcOffsetValid was seen
};

// The path delay between the master and the capture point, as IEEE 1588-2008 11.3 computes it
// with the capture point in the slave's place: a slave's Delay_Req seen passing (its capture
// time), the master's Delay_Resp answering it (receiveTimestamp, correctionField) and the latest
// Sync's offset sample. Like PTP itself it assumes the two directions take equally long.
struct PtpPathDelay {
  std::uint64_t samples = 0;  // Delay_Req/Delay_Resp pairs matched after a Sync
  double last_ns = 0;
  double mean_ns = 0;  // weighted as PtpOffsetEstimate
  double stddev_ns = 0;
  double min_ns = 0;
  double max_ns = 0;
};

// One bucket of the offset over time: the capture-clock offset samples whose capture time fell
// in [start_ns, end_ns), their least and largest.
struct PtpOffsetBucket {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  double min_ns = 0;
  double max_ns = 0;
  std::uint64_t samples = 0;
};

struct PtpMasterSummary {
  PtpClockIdentity clock{};  // sourcePortIdentity
  std::uint16_t port = 0;
  IpAddress address;  // sender of the UDP datagrams; unset over Ethernet
  bool over_udp = false;
  bool over_ethernet = false;
  std::uint64_t announces = 0;
  std::uint64_t syncs = 0;
  std::uint64_t follow_ups = 0;
  std::uint64_t delay_resps = 0;
  bool two_step = false;                 // Syncs with twoStepFlag seen
  bool one_step = false;                 // Syncs without it seen
  std::uint64_t follow_ups_matched = 0;  // a Follow_Up with the sequenceId of the Sync before it
  std::uint64_t follow_ups_missing = 0;  // two-step Syncs whose Follow_Up never came
  std::uint64_t follow_ups_orphan = 0;   // Follow_Ups without their Sync
  PtpIntervalStats announce;
  PtpIntervalStats sync;
  PtpOffsetEstimate offset;  // from this master's Syncs
  // The offset over the capture in at most 64 buckets of one width (1 s, doubled as the capture
  // outgrows them; fixed memory), each sample's own value, not the weighted mean; empty buckets
  // left out. Restarts with the estimate when a valid UTC offset is first announced.
  std::vector<PtpOffsetBucket> offset_history;
  PtpPathDelay path_delay;  // from Delay_Req/Delay_Resp pairs with this master
  std::int64_t last_seen_ns = 0;
};

struct PtpGrandmasterChange {
  std::int64_t ts_ns = 0;  // capture time of the Announce that named the new one
  bool had_previous = false;
  PtpClockIdentity from{};
  PtpClockIdentity to{};
};

struct PtpDomainSummary {
  int domain = 0;
  bool has_grandmaster = false;  // an Announce was seen
  PtpGrandmaster grandmaster;    // named by the latest Announce
  std::int64_t grandmaster_since_ns = 0;
  std::uint64_t grandmaster_changes = 0;
  std::vector<PtpGrandmasterChange> changes;  // the latest ones (at most 16), oldest first
  std::vector<PtpMasterSummary> masters;      // in first-seen order
  std::uint64_t messages = 0;
  std::uint64_t messages_by_type[16] = {};  // by messageType
};

struct PtpTotals {
  std::uint64_t messages = 0;  // PTP datagrams and frames seen (UDP 319/320, EtherType 0x88F7)
  std::uint64_t over_udp = 0;
  std::uint64_t over_ethernet = 0;
  // Refused, never analysed: truncated (shorter than the header, the body or messageLength),
  // bad messageLength, versionPTP not 2, reserved messageType.
  std::uint64_t truncated = 0;
  std::uint64_t bad_length = 0;
  std::uint64_t bad_version = 0;
  std::uint64_t unknown_type = 0;
  // Parsed but contradictory: an event message on the general port or the reverse, a timestamp
  // with nanoseconds >= 1e9, a Follow_Up without its Sync (also per master).
  std::uint64_t wrong_port = 0;
  std::uint64_t bad_timestamp = 0;
  std::uint64_t orphan_follow_ups = 0;
  // Table limits (fixed memory): messages of domains or masters beyond them, counted only.
  std::uint64_t domains_overflow = 0;
  std::uint64_t masters_overflow = 0;
};

struct PtpSnapshot {
  PtpTotals totals;
  std::vector<PtpDomainSummary> domains;  // by domain number
};

// A stream's SDP reference clock (RFC 7273 a=ts-refclk:ptp=...) against the wire.
enum class PtpMatch : std::uint8_t {
  kNoReference,       // no SDP, or its SDP names no PTP grandmaster
  kMatch,             // the wire's grandmaster in that domain is the one the SDP names
  kOtherGrandmaster,  // PTP in that domain follows another grandmaster
  kNoPtpSeen,         // no Announce in that domain seen
};
[[nodiscard]] RTCAP_API const char* to_string(PtpMatch match) noexcept;  // "match", ...

// Matches an SDP's reference clock against the domains seen; sets `gm_seen` to the wire's
// grandmaster when it answers kOtherGrandmaster or kMatch.
[[nodiscard]] RTCAP_API PtpMatch match_ptp(const SdpFormat& sdp, const PtpSnapshot& ptp,
                                           PtpClockIdentity* gm_seen = nullptr) noexcept;
// The master that speaks for a domain's grandmaster (the one whose clockIdentity it is, else the
// first with offset samples); nullptr when none has one. Its `offset` is the capture-clock
// offset estimate, its `path_delay` what to take off it.
[[nodiscard]] RTCAP_API const PtpMasterSummary* grandmaster_master(const PtpSnapshot& ptp,
                                                                   int domain) noexcept;
// grandmaster_master(ptp, domain)->offset, or nullptr.
[[nodiscard]] RTCAP_API const PtpOffsetEstimate* grandmaster_offset(const PtpSnapshot& ptp,
                                                                    int domain) noexcept;

}  // namespace rtcap
