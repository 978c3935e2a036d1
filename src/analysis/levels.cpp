#include "analysis/levels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

namespace rtcap::analysis {
namespace {

constexpr double kFullScale = 2147483648.0;  // 2^31: int32 left-justified

double to_dbfs(double ratio) {
  return ratio > 0 ? 20.0 * std::log10(ratio) : -std::numeric_limits<double>::infinity();
}

}  // namespace

void LevelMeter::reset(std::uint32_t rate_hz, int channels, int bits, const LevelsConfig& config) {
  ch_.fill(Channel{});
  channels_ = std::max(channels, 0);
  measured_ = std::min(channels_, kMaxChannels);
  bits = std::clamp(bits, 8, 32);
  bytes_per_sample_ = bits / 8;
  rate_hz_ = std::max<std::uint32_t>(rate_hz, 1);
  clip_code_ = 0x7FFFFFFFu & ~((std::uint32_t{1} << (32 - bits)) - 1);
  quiet_code_ = static_cast<std::uint32_t>(
      std::min(kFullScale * std::pow(10.0, config.silence_threshold_dbfs / 20.0), kFullScale));
  silence_frames_ = std::uint64_t{rate_hz_} * config.silence_ms / 1000;
  frames_ = 0;
  frames_in_second_ = 0;
}

// Inline: called per sample (12 per AES67 packet of 12 streams' worth), it was a third of the
// extractor's cost per packet as a call (perf, BM_Tracker_12Streams_SapCatalogueExtract).
inline void LevelMeter::sample(Channel& c, std::int32_t x) noexcept {
  const std::uint32_t a =
      x < 0 ? 0u - static_cast<std::uint32_t>(x) : static_cast<std::uint32_t>(x);
  c.peak = std::max(c.peak, a);
  const double v = static_cast<double>(x) / kFullScale;
  c.sum_squares += v * v;
  if (a >= clip_code_) ++c.out.clipped_samples;
  if (a >= quiet_code_) {
    c.last_loud = frames_ + 1;
    c.silent = false;
  }
}

// After each frame: the silence test, and the second's figures when it is complete.
inline void LevelMeter::end_frame() noexcept {
  ++frames_;
  for (int i = 0; i < measured_; ++i) {
    Channel& c = ch_[static_cast<std::size_t>(i)];
    if (!c.silent && frames_ - c.last_loud >= silence_frames_) {
      c.silent = true;
      ++c.out.silences;
    }
  }
  if (++frames_in_second_ < rate_hz_) return;
  for (int i = 0; i < measured_; ++i) {
    Channel& c = ch_[static_cast<std::size_t>(i)];
    c.out.peak_dbfs = to_dbfs(c.peak / kFullScale);
    c.out.rms_dbfs = to_dbfs(std::sqrt(c.sum_squares / rate_hz_));
    ++c.out.seconds;
    c.peak = 0;
    c.sum_squares = 0;
  }
  frames_in_second_ = 0;
}

void LevelMeter::add(const std::int32_t* interleaved, std::size_t frames) noexcept {
  const auto stride = static_cast<std::size_t>(channels_);
  for (std::size_t f = 0; f < frames; ++f, interleaved += stride) {
    for (int i = 0; i < measured_; ++i) sample(ch_[static_cast<std::size_t>(i)], interleaved[i]);
    end_frame();
  }
}

void LevelMeter::add_big_endian(const std::uint8_t* data, std::size_t frames) noexcept {
  // The sample width as a constant for L24 and L16, so that each sample is one unrolled load.
  const auto run = [&](auto width) {
    const std::size_t w = decltype(width)::value ? decltype(width)::value
                                                 : static_cast<std::size_t>(bytes_per_sample_);
    const std::size_t stride = static_cast<std::size_t>(channels_) * w;
    const int measured = measured_;  // a local: the stores into ch_ make the compiler reload it
    for (std::size_t f = 0; f < frames; ++f, data += stride) {
      for (int i = 0; i < measured; ++i) {
        const std::uint8_t* p = data + static_cast<std::size_t>(i) * w;
        std::uint32_t u = 0;
        for (std::size_t b = 0; b < w; ++b) u |= std::uint32_t{p[b]} << (24 - 8 * b);
        sample(ch_[static_cast<std::size_t>(i)], static_cast<std::int32_t>(u));
      }
      end_frame();
    }
  };
  if (bytes_per_sample_ == 3)
    run(std::integral_constant<std::size_t, 3>{});
  else if (bytes_per_sample_ == 2)
    run(std::integral_constant<std::size_t, 2>{});
  else
    run(std::integral_constant<std::size_t, 0>{});
}

ChannelLevels LevelMeter::levels(int channel) const noexcept {
  if (channel < 0 || channel >= measured_) return {};
  const Channel& c = ch_[static_cast<std::size_t>(channel)];
  ChannelLevels out = c.out;
  out.silent = c.silent;
  out.silent_seconds = static_cast<double>(frames_ - c.last_loud) / rate_hz_;
  return out;
}

}  // namespace rtcap::analysis
