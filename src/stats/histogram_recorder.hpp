// The running histogram the engine and the stream tracker record into (one writer, any reader).
// Internal, so that histogram internals stay out of the public headers: applications read
// histograms as rtcap::HistogramData (rtcap/histogram.hpp), the snapshot this one gives.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "rtcap/histogram.hpp"

namespace rtcap {
namespace detail {

// histogram_bucket_index, inlined for the hot path (the exported one calls this).
[[nodiscard]] inline std::size_t bucket_index(std::uint64_t value) noexcept {
  if (value < kHistogramSub) return static_cast<std::size_t>(value);
  const int exponent = 63 - std::countl_zero(value);  // >= kHistogramSubBits
  const int shift = exponent - kHistogramSubBits;
  const std::size_t sub = static_cast<std::size_t>(value >> shift) - kHistogramSub;
  return kHistogramSub + static_cast<std::size_t>(shift) * kHistogramSub + sub;
}

}  // namespace detail

// Written by one thread (relaxed load + store, no read-modify-write), read by any.
class Histogram {
 public:
  Histogram() = default;
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void record(std::uint64_t value) noexcept {
    bump(buckets_[detail::bucket_index(value)], 1);
    bump(count_, 1);
    bump(sum_, value);
    if (value > max_.load(std::memory_order_relaxed)) max_.store(value, std::memory_order_relaxed);
    if (value < min_.load(std::memory_order_relaxed)) min_.store(value, std::memory_order_relaxed);
  }

  // Records n values, value_at(0) .. value_at(n - 1): every value into its bucket, the count,
  // sum, min and max stored once for all of them. The same histogram as n record() calls; the
  // engine records a delivered batch's delays this way (one store of each total per batch
  // instead of four per packet).
  template <class ValueAt>
  void record_n(std::size_t n, ValueAt&& value_at) noexcept {
    if (n == 0) return;
    std::uint64_t sum = 0, lo = UINT64_MAX, hi = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t v = value_at(i);
      bump(buckets_[detail::bucket_index(v)], 1);
      sum += v;
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    // Buckets before the count, as record() does: see snapshot().
    bump(count_, n);
    bump(sum_, sum);
    if (hi > max_.load(std::memory_order_relaxed)) max_.store(hi, std::memory_order_relaxed);
    if (lo < min_.load(std::memory_order_relaxed)) min_.store(lo, std::memory_order_relaxed);
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
