// Per-channel levels of PCM audio: peak and RMS in dBFS over each second, silence and clipping
// (what a broadcast engineer's monitoring watches; ChannelLevels in rtcap/analysis.hpp says what
// each figure means). Internal to librtcap: the audio extractor feeds it the samples it
// depacketised.
//
// Memory is fixed (kMaxChannels channels inside the object); add() allocates nothing, takes no
// lock and never throws. One owner thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "rtcap/analysis.hpp"

namespace rtcap::analysis {

struct LevelsConfig {
  double silence_threshold_dbfs = -60.0;
  // 10 s: a dead-air alarm, not a pause in speech or music (those rarely pass 2-3 s). A
  // Prometheus rule can pick its own time from silent_seconds (docs/OPERATIONS.md).
  std::uint32_t silence_ms = 10000;
};

class LevelMeter {
 public:
  static constexpr int kMaxChannels = 64;  // parse_pcm_format's limit, and audioconvert's

  // Starts over for a format. `bits` (16, 24 or 32) are the valid bits of the left-justified
  // samples: the largest positive code of that depth is full scale (clipping). Channels beyond
  // kMaxChannels are not measured.
  void reset(std::uint32_t rate_hz, int channels, int bits, const LevelsConfig& config = {});

  // `frames` frames of interleaved 32-bit left-justified samples.
  void add(const std::int32_t* interleaved, std::size_t frames) noexcept;
  // `frames` frames as RTP carries L16/L24 (big-endian, interleaved, reset()'s bits per sample).
  void add_big_endian(const std::uint8_t* data, std::size_t frames) noexcept;

  [[nodiscard]] int channels() const noexcept { return channels_; }
  [[nodiscard]] ChannelLevels levels(int channel) const noexcept;

 private:
  struct Channel {
    std::uint32_t peak = 0;       // largest |sample| of the second so far (2^31 for INT32_MIN)
    double sum_squares = 0;       // of samples scaled to [-1, 1)
    std::uint64_t last_loud = 0;  // frame index after the last sample at or above the threshold
    bool silent = false;
    ChannelLevels out;
  };
  void sample(Channel& c, std::int32_t x) noexcept;
  void end_frame() noexcept;

  std::array<Channel, kMaxChannels> ch_{};
  int channels_ = 0;
  int measured_ = 0;  // min(channels_, kMaxChannels)
  int bytes_per_sample_ = 3;
  std::uint32_t rate_hz_ = 48000;
  std::uint32_t clip_code_ = 0x7FFFFF00u;  // |sample| at or above: full scale
  std::uint32_t quiet_code_ = 0;           // |sample| below: below the silence threshold
  std::uint64_t silence_frames_ = 0;
  std::uint64_t frames_ = 0;            // in all, since reset()
  std::uint32_t frames_in_second_ = 0;  // of the second being measured
};

}  // namespace rtcap::analysis
