// Log-linear (HDR style) histogram of non-negative integers, fixed memory: the snapshot an
// application reads (HistogramData) and the bucket layout.
// Values below 32 are exact; above, every power of two is split in 32 equal buckets, so a
// reported value is at most 1/32 (3.1%) above the true one. 1,920 buckets cover 0 .. 2^64.
#pragma once

#include "rtcap/export.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rtcap {

inline constexpr int kHistogramSubBits = 5;
inline constexpr std::size_t kHistogramSub = std::size_t{1} << kHistogramSubBits;
inline constexpr std::size_t kHistogramBuckets =
    kHistogramSub + (64 - kHistogramSubBits) * kHistogramSub;

RTCAP_API std::size_t histogram_bucket_index(std::uint64_t value) noexcept;
RTCAP_API std::uint64_t histogram_bucket_lower(std::size_t index) noexcept;
RTCAP_API std::uint64_t histogram_bucket_upper(std::size_t index) noexcept;

// A plain copy, for reading: percentiles, merging, export.
struct RTCAP_API HistogramData {
  std::vector<std::uint64_t> buckets = std::vector<std::uint64_t>(kHistogramBuckets, 0);
  std::uint64_t count = 0;
  std::uint64_t sum = 0;  // wraps only after 584 years of nanoseconds
  std::uint64_t min = 0;  // valid when count > 0
  std::uint64_t max = 0;

  // Upper edge of the bucket holding the q-quantile (0 <= q <= 1), capped at max; 0 if empty.
  [[nodiscard]] std::uint64_t percentile(double q) const noexcept;
  [[nodiscard]] double mean() const noexcept { return count ? double(sum) / double(count) : 0.0; }
  void merge(const HistogramData& other);
  // Adds one value: a plain histogram owned by one thread (tools, offline readers, tests).
  void record(std::uint64_t value) noexcept;
  // What was recorded since `before`, an earlier snapshot of the same running histogram: the
  // buckets subtract; min and max are the edges of the lowest and highest bucket that grew,
  // kept within the running min and max. A `before` with more samples than this one belongs to
  // an earlier histogram (a new engine): the difference is then all of this one.
  [[nodiscard]] HistogramData minus(const HistogramData& before) const;
};

// The running histogram the engine records into is internal (src/stats/histogram_recorder.hpp);
// an application reads its snapshots, HistogramData.

}  // namespace rtcap
