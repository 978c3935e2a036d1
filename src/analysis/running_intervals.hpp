// Intervals between events (packet arrivals, PTP messages) as running statistics: Welford's mean
// and variance, the minimum and the maximum, both seeded by the first interval. One definition
// for the stream tracker's packet intervals and PIT and the PTP analyser's message intervals.
#pragma once

#include <cmath>
#include <cstdint>

namespace rtcap::analysis {

struct RunningIntervals {
  std::uint64_t count = 0;
  double mean_ns = 0;
  double m2 = 0;  // sum of squared differences from the mean
  std::int64_t min_ns = 0;
  std::int64_t max_ns = 0;

  void add(std::int64_t interval_ns) noexcept {
    ++count;
    const double x = static_cast<double>(interval_ns);
    const double delta = x - mean_ns;
    mean_ns += delta / static_cast<double>(count);
    m2 += delta * (x - mean_ns);
    if (count == 1 || interval_ns < min_ns) min_ns = interval_ns;
    if (count == 1 || interval_ns > max_ns) max_ns = interval_ns;
  }
  // The sample standard deviation (n - 1), ns; 0 below two intervals.
  [[nodiscard]] double stddev_ns() const noexcept {
    return count > 1 ? std::sqrt(m2 / static_cast<double>(count - 1)) : 0.0;
  }
};

}  // namespace rtcap::analysis
