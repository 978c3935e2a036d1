#include "analysis/levels.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "io/pcm.hpp"

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

// One block of frames within one second: per channel, the block's peak, sum of squares (int64),
// clipped samples and last loud frame in one integer pass; then the silence test, and the
// second's figures when the block completes it.
void LevelMeter::block(const std::int32_t* x, std::size_t stride, std::size_t frames) noexcept {
  const std::uint32_t clip = clip_code_;
  const std::uint32_t quiet = quiet_code_;
  for (int i = 0; i < measured_; ++i) {
    Channel& c = ch_[static_cast<std::size_t>(i)];
    const std::int32_t* p = x + i;
    std::uint32_t peak = c.peak;
    std::int64_t squares = 0;
    std::uint64_t clipped = 0;
    std::size_t loud = 0;  // frame after the block's last loud sample, 0: none
    for (std::size_t f = 0; f < frames; ++f) {
      const std::int32_t v = p[f * stride];
      const std::uint32_t a =
          v < 0 ? 0u - static_cast<std::uint32_t>(v) : static_cast<std::uint32_t>(v);
      peak = std::max(peak, a);
      const std::int64_t s = v >> 8;  // 24 bits: L16 and L24 lose nothing
      squares += s * s;
      clipped += a >= clip ? 1 : 0;
      loud = a >= quiet ? f + 1 : loud;
    }
    c.peak = peak;
    c.sum_squares += static_cast<double>(squares) * 65536.0;
    c.out.clipped_samples += clipped;
    if (loud != 0) {
      c.last_loud = frames_ + loud;
      c.silent = false;
    }
  }
  frames_ += frames;
  for (int i = 0; i < measured_; ++i) {
    Channel& c = ch_[static_cast<std::size_t>(i)];
    if (!c.silent && frames_ - c.last_loud >= silence_frames_) {
      c.silent = true;
      ++c.out.silences;
    }
  }
  frames_in_second_ += static_cast<std::uint32_t>(frames);
  if (frames_in_second_ < rate_hz_) return;
  for (int i = 0; i < measured_; ++i) {
    Channel& c = ch_[static_cast<std::size_t>(i)];
    c.out.peak_dbfs = to_dbfs(c.peak / kFullScale);
    c.out.rms_dbfs = to_dbfs(std::sqrt(c.sum_squares / rate_hz_) / kFullScale);
    ++c.out.seconds;
    c.peak = 0;
    c.sum_squares = 0;
  }
  frames_in_second_ = 0;
}

void LevelMeter::add(const std::int32_t* interleaved, std::size_t frames) noexcept {
  const auto stride = static_cast<std::size_t>(channels_);
  while (frames > 0 && measured_ > 0) {
    const std::size_t n =
        std::min<std::size_t>({frames, std::size_t{rate_hz_ - frames_in_second_}, kMaxBlockFrames});
    block(interleaved, stride, n);
    interleaved += n * stride;
    frames -= n;
  }
}

void LevelMeter::add_big_endian(const std::uint8_t* data, std::size_t frames) noexcept {
  if (measured_ == 0) return;
  const auto w = static_cast<std::size_t>(bytes_per_sample_);
  const auto channels = static_cast<std::size_t>(channels_);
  const auto measured = static_cast<std::size_t>(measured_);
  std::int32_t scratch[kScratchSamples];
  const std::size_t chunk = kScratchSamples / measured;  // >= 16: measured <= kMaxChannels
  while (frames > 0) {
    const std::size_t n =
        std::min<std::size_t>({frames, chunk, std::size_t{rate_hz_ - frames_in_second_}});
    if (measured == channels) {
      io::big_endian_to_int32(data, scratch, n * channels, w);
    } else {  // channels beyond kMaxChannels are not measured
      for (std::size_t f = 0; f < n; ++f)
        io::big_endian_to_int32(data + f * channels * w, scratch + f * measured, measured, w);
    }
    block(scratch, measured, n);
    data += n * channels * w;
    frames -= n;
  }
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
