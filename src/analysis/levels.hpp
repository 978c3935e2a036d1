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
  double silence_threshold_dbfs = kDefaultSilenceThresholdDbfs;
  std::uint32_t silence_ms = kDefaultSilenceMs;
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
  // Integers per sample; floating point and dB once per block and once a second.
  struct Channel {
    std::uint32_t peak = 0;       // largest |sample| of the second so far (2^31 for INT32_MIN)
    double sum_squares = 0;       // of the second so far, in int32 units squared
    std::uint64_t last_loud = 0;  // frame index after the last sample at or above the threshold
    bool silent = false;
    ChannelLevels out;
  };
  // Frames of one block: sums of (sample >> 8)^2 (at most 2^46 each) fit in 64 bits.
  static constexpr std::size_t kMaxBlockFrames = 65536;
  [[nodiscard]] std::size_t block_frames(std::size_t frames) const noexcept;
  template <class Sample>
  void block(Sample&& sample, std::size_t frames) noexcept;
  template <std::size_t W>
  void add_big_endian_width(const std::uint8_t* data, std::size_t frames) noexcept;

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
