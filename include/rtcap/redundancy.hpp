// SMPTE ST 2022-7 (seamless protection switching) as the stream tracker sees it: the two legs of
// one stream — the same RTP packets (same sequence numbers) sent over two paths — paired, and
// per pair what each path lost, what a 2022-7 receiver keeping the first copy of each sequence
// number would still lose (what both paths lost), and how far apart the two copies arrive (the
// path differential). Part of rtcap::TrackerSnapshot (analysis.hpp). Compiles as C++17.
//
// Legs are paired by an SDP that describes them together (a=group:DUP with a=mid, RFC 7104), or
// by the same SSRC arriving on two interfaces or two destinations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rtcap/export.hpp"

namespace rtcap {

enum class PairedBy : std::uint8_t { kSdpGroup, kSsrc };
[[nodiscard]] RTCAP_API const char* to_string(PairedBy by) noexcept;  // "sdp_group", "ssrc"

// ST 2022-7:2019 Table 1 classes receivers by the largest path differential (PD) they absorb:
// Class D ultra-low-skew 150 us (physical-layer LAN redundancy), Class A low-skew 10 ms
// (intra-facility), Class B moderate-skew 50 ms (short haul), Class C high-skew 450 ms (long haul;
// 150 ms for streams of 270 Mb/s and more, video only: AES67 audio stays far below). Source: the
// standard (pub.smpte.org/pub/st2022-7/, 2019 edition) as quoted, table and clauses, by a research
// note on Intel's Media Transport Library that read it; rtcap did not read the PDF itself.
// kBeyond: above Class C. The class says which receivers merge this pair; the differential is the
// fact.
enum class SkewClass : std::uint8_t {
  kUnknown,
  kUltraLowSkew,
  kLowSkew,
  kModerateSkew,
  kHighSkew,
  kBeyond
};
[[nodiscard]] RTCAP_API const char* to_string(SkewClass c) noexcept;  // "ultra_low_skew", ...
inline constexpr double kUltraLowSkewMaxUs = 150;
inline constexpr double kLowSkewMaxUs = 10'000;
inline constexpr double kModerateSkewMaxUs = 50'000;
inline constexpr double kHighSkewMaxUs = 450'000;
[[nodiscard]] RTCAP_API SkewClass skew_class_of(double max_differential_us) noexcept;

// Sequence numbers are matched in a window of this many per pair (fixed memory: 16 bytes each):
// 256 ms of a 125 us stream, 2 s of a 1 ms one. A copy arriving later than that behind its twin
// counts as lost on its path and as late_beyond_window.
inline constexpr std::uint32_t kRedundancyWindow = 2048;
// Pairs tracked at once (fixed: their windows are 32 KiB each); more pairings are counted.
inline constexpr std::uint32_t kMaxRedundantPairs = 64;

struct RedundantPath {
  std::uint64_t stream_id = 0;  // StreamSummary::id of this leg
  std::uint64_t received = 0;   // distinct sequence numbers of the counted range it delivered
  std::uint64_t lost = 0;       // of the counted range, not delivered on this path
  std::uint64_t duplicates = 0;
  std::uint64_t late_beyond_window = 0;  // arrived more than the window behind the other path
};

struct PathDifferentialBin {
  double lower_us = 0;  // |differential| in [lower_us, upper_us)
  double upper_us = 0;
  std::uint64_t count = 0;
};

struct RedundantPair {
  PairedBy paired_by = PairedBy::kSsrc;
  std::string group;  // "DUP primary secondary" (the mids) or "ssrc 0x1a2b3c4d"
  // The pair by its primary stream, unique among the pairs: "'Stage box' 239.69.1.1:5004 ssrc
  // 0x1a2b3c4d" (the session name when an SDP describes it; the interface when not the first;
  // the stream id when two pairs would read alike). The table, JSON, SVG and metrics use it.
  std::string name;
  // [0] the first mid of a=group:DUP, or (paired by SSRC) the leg seen first; [1] the other.
  RedundantPath path[2];
  // The counted range: from the first sequence number both legs could carry (the later of the
  // two legs' first packets after pairing) to the last one both have reached (the earlier of
  // their highest). A number above one leg's highest is not yet due on it and is not counted.
  std::uint64_t expected = 0;     // sequence numbers in the counted range
  std::uint64_t merged_lost = 0;  // lost on both paths: what a 2022-7 receiver loses
  std::uint16_t first_seq = 0;    // RTP sequence numbers bounding the counted range
  std::uint16_t last_seq = 0;
  std::uint64_t resyncs = 0;  // a sequence jump larger than the window restarted the count
  // Path differential: arrival on path[1] minus arrival on path[0] of the same sequence number.
  std::uint64_t differential_count = 0;
  double differential_mean_us = 0;
  double differential_min_us = 0;
  double differential_max_us = 0;
  double differential_max_abs_us = 0;
  std::vector<PathDifferentialBin> differential_histogram;  // non-empty bins, ascending
  // The largest |differential| of each of the last completed seconds (up to 16), oldest first.
  std::vector<double> differential_recent_max_us;
  SkewClass skew_class = SkewClass::kUnknown;
  // What a receiver must hold to merge: the earlier copy waits for the later one, so at least
  // the largest differential, in time and in packets of this stream (0: packet time unknown).
  double buffer_needed_us = 0;
  std::uint64_t buffer_needed_packets = 0;
};

struct RedundancyTotals {
  std::uint64_t pairs_formed = 0;
  std::uint64_t pairs_ended = 0;      // a leg left the stream table
  std::uint64_t pairs_dissolved = 0;  // paired by SSRC, but no sequence number met in a window
  std::uint64_t pairs_not_kept = 0;   // over kMaxRedundantPairs
};

}  // namespace rtcap
