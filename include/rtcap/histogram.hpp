// Log-linear (HDR style) histogram of non-negative integers, fixed memory, one writer.
// Values below 32 are exact; above, every power of two is split in 32 equal buckets, so a
// reported value is at most 1/32 (3.1%) above the true one. 1,920 buckets cover 0 .. 2^64.
#pragma once

#include "rtcap/export.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rtcap {

inline constexpr int kHistogramSubBits = 5;
inline constexpr std::size_t kHistogramSub = std::size_t{1} << kHistogramSubBits;
inline constexpr std::size_t kHistogramBuckets = kHistogramSub + (64 - kHistogramSubBits) * kHistogramSub;

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

// Written by one thread (relaxed load + store, no read-modify-write), read by any.
class RTCAP_API Histogram {
 public:
  Histogram() = default;
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void record(std::uint64_t value) noexcept {
    bump(buckets_[histogram_bucket_index(value)], 1);
    bump(count_, 1);
    bump(sum_, value);
    if (value > max_.load(std::memory_order_relaxed)) max_.store(value, std::memory_order_relaxed);
    if (value < min_.load(std::memory_order_relaxed)) min_.store(value, std::memory_order_relaxed);
  }
  [[nodiscard]] HistogramData snapshot() const;

 private:
  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t by) noexcept {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, kHistogramBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::uint64_t> min_{UINT64_MAX};
  std::atomic<std::uint64_t> max_{0};
};

}  // namespace rtcap
