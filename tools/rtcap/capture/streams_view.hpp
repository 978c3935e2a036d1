// --streams-svg: one self-contained SVG per capture with, per RTP stream, TS-DF and one-way delay
// over time, the packet interval histogram and where the gaps fell; per ST 2022-7 pair the path
// differential over time; per PTP domain the capture clock's offset from PTP time over the
// capture (the PTP analyser's own buckets, read from the final snapshot). (The live table that
// redraws in place on a terminal is common/live_view.hpp: rtcap demo draws it too.)
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "rtcap/analysis.hpp"

namespace rtcap::tool {

// Samples the tracker once a status interval; renders at the end. Memory bounded: at most
// kMaxPoints samples per stream (beyond, every other sample is dropped and the step doubles).
class StreamsSvg {
 public:
  static constexpr std::size_t kMaxPoints =
      4096;                                       // > an hour at one sample a second before halving
  static constexpr std::size_t kMaxStreams = 64;  // panels drawn; more streams are named, not drawn

  void sample(const TrackerSnapshot& snapshot, std::int64_t t_ns);
  [[nodiscard]] std::string render(const TrackerSnapshot& final_snapshot) const;
  // The TS-DF value of each point kept for stream `id`, in time order (the chart's data).
  [[nodiscard]] std::vector<double> ts_df_points(std::uint64_t id) const;

 private:
  struct Point {
    double t_s = 0;
    double ts_df_us = 0;     // last completed TS-DF window
    double delay_us = -1;    // mean one-way delay over the interval; -1: none
    std::uint64_t lost = 0;  // packets lost in the interval (sequence gaps)
  };
  struct Series {
    std::vector<Point> points;
    std::uint64_t last_lost = 0;
    std::uint64_t last_delay_count = 0;
    double last_delay_sum_ns = 0;
    std::uint32_t keep_every = 1;    // after halving
    double last_ts_df_max_us = 0;    // the stream's largest window at the previous sample
    std::uint64_t last_windows = 0;  // windows completed at the previous sample
    double skipped_ts_df_us = 0;     // of a sample skipped after halving
    std::uint64_t seen = 0;
  };
  std::map<std::uint64_t, Series> series_;  // by stream id
  // ST 2022-7 pairs, by path 0's stream id: (t, largest |differential| of the last second).
  std::map<std::uint64_t, std::vector<std::pair<double, double>>> pairs_;
  std::int64_t t0_ns_ = 0;
};

}  // namespace rtcap::tool
