#include "rtcap/histogram.hpp"

#include "stats/histogram_recorder.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace rtcap {

std::size_t histogram_bucket_index(std::uint64_t value) noexcept {
  return detail::bucket_index(value);
}

std::uint64_t histogram_bucket_lower(std::size_t index) noexcept {
  if (index < kHistogramSub) return index;
  const std::size_t shift = (index - kHistogramSub) / kHistogramSub;
  const std::size_t sub = (index - kHistogramSub) % kHistogramSub;
  return static_cast<std::uint64_t>(kHistogramSub + sub) << shift;
}

std::uint64_t histogram_bucket_upper(std::size_t index) noexcept {
  if (index < kHistogramSub) return index;
  const std::size_t shift = (index - kHistogramSub) / kHistogramSub;
  return histogram_bucket_lower(index) + ((std::uint64_t{1} << shift) - 1);
}

std::uint64_t HistogramData::percentile(double q) const noexcept {
  if (count == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // Rank of the sample we want, 1-based: the smallest value with at least q*count at or below it.
  const auto rank =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * double(count))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (seen >= rank) return std::clamp(histogram_bucket_upper(i), min, max);
  }
  return max;
}

void HistogramData::merge(const HistogramData& other) {
  if (other.count == 0) return;
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  min = count ? std::min(min, other.min) : other.min;
  max = std::max(max, other.max);
  count += other.count;
  sum += other.sum;
}

void HistogramData::record(std::uint64_t value) noexcept {
  ++buckets[histogram_bucket_index(value)];
  if (count == 0 || value < min) min = value;
  if (value > max) max = value;
  ++count;
  sum += value;
}

HistogramData HistogramData::minus(const HistogramData& before) const {
  // Running counts only grow; a smaller one means a new histogram: count from zero again.
  const auto delta = [](std::uint64_t now, std::uint64_t then) {
    return now >= then ? now - then : now;
  };
  HistogramData d;
  const bool reset = count < before.count;
  std::size_t first = kHistogramBuckets, last = 0;
  for (std::size_t i = 0; i < kHistogramBuckets && i < buckets.size(); ++i) {
    const std::uint64_t then = (!reset && i < before.buckets.size()) ? before.buckets[i] : 0;
    d.buckets[i] = delta(buckets[i], then);
    if (d.buckets[i]) {
      d.count += d.buckets[i];
      first = std::min(first, i);
      last = i;
    }
  }
  d.sum = reset ? sum : delta(sum, before.sum);
  if (d.count) {
    d.min = std::max(histogram_bucket_lower(first), min);
    d.max = std::min(histogram_bucket_upper(last), std::max(max, histogram_bucket_lower(last)));
  }
  return d;
}

HistogramData Histogram::snapshot() const {
  HistogramData d;
  for (std::size_t i = 0; i < kHistogramBuckets; ++i)
    d.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  // Buckets first, then the totals: a concurrent writer can make count run slightly ahead of the
  // buckets, never behind, so percentile() still finds its rank (it falls back to max).
  d.count = count_.load(std::memory_order_relaxed);
  d.sum = sum_.load(std::memory_order_relaxed);
  d.max = max_.load(std::memory_order_relaxed);
  d.min = d.count ? min_.load(std::memory_order_relaxed) : 0;
  return d;
}

}  // namespace rtcap
