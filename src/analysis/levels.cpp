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

// One block of frames within one second: per channel, the block's peak and sum of squares (int64)
// in one integer pass over `sample(channel, frame)`; clipped samples and the last loud frame only
// when the peak says there are any (rare, and found from the end); then the silence test, and the
// second's figures when the block completes it.
template <class Sample>
void LevelMeter::block(Sample&& sample, std::size_t frames) noexcept {
  const std::uint32_t clip = clip_code_;
  const std::uint32_t quiet = quiet_code_;
  const auto magnitude = [](std::int32_t v) {
    return v < 0 ? 0u - static_cast<std::uint32_t>(v) : static_cast<std::uint32_t>(v);
  };
  for (int i = 0; i < measured_; ++i) {
    Channel& c = ch_[static_cast<std::size_t>(i)];
    const auto ci = static_cast<std::size_t>(i);
    std::int32_t high = 0;  // the peak is max(high, -low): no absolute value per sample
    std::int32_t low = 0;
    std::int64_t squares = 0;
    for (std::size_t f = 0; f < frames; ++f) {
      const std::int32_t v = sample(ci, f);
      high = std::max(high, v);
      low = std::min(low, v);
      const std::int64_t s = v >> 8;  // 24 bits: L16 and L24 lose nothing
      squares += s * s;
    }
    const std::uint32_t peak = std::max(magnitude(high), magnitude(low));
    c.peak = std::max(c.peak, peak);
    c.sum_squares += static_cast<double>(squares) * 65536.0;
    if (peak >= clip) {
      std::uint64_t clipped = 0;
      for (std::size_t f = 0; f < frames; ++f) clipped += magnitude(sample(ci, f)) >= clip ? 1 : 0;
      c.out.clipped_samples += clipped;
    }
    if (peak >= quiet) {
      std::size_t loud = frames;  // frame after the block's last loud sample
      while (magnitude(sample(ci, loud - 1)) < quiet) --loud;
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

std::size_t LevelMeter::block_frames(std::size_t frames) const noexcept {
  return std::min<std::size_t>(
      {frames, std::size_t{rate_hz_ - frames_in_second_}, kMaxBlockFrames});
}

void LevelMeter::add(const std::int32_t* interleaved, std::size_t frames) noexcept {
  const auto stride = static_cast<std::size_t>(channels_);
  while (frames > 0 && measured_ > 0) {
    const std::size_t n = block_frames(frames);
    block(
        [interleaved, stride](std::size_t c, std::size_t f) { return interleaved[f * stride + c]; },
        n);
    interleaved += n * stride;
    frames -= n;
  }
}

// Read in place, sample by sample: a packet's few frames cost no conversion pass of their own.
template <std::size_t W>
void LevelMeter::add_big_endian_width(const std::uint8_t* data, std::size_t frames) noexcept {
  const std::size_t stride = static_cast<std::size_t>(channels_) * W;
  while (frames > 0) {
    const std::size_t n = block_frames(frames);
    block(
        [data, stride](std::size_t c, std::size_t f) {
          return io::big_endian_sample<W>(data + f * stride + c * W);
        },
        n);
    data += n * stride;
    frames -= n;
  }
}

void LevelMeter::add_big_endian(const std::uint8_t* data, std::size_t frames) noexcept {
  if (measured_ == 0) return;
  switch (bytes_per_sample_) {
    case 2:
      return add_big_endian_width<2>(data, frames);
    case 3:
      return add_big_endian_width<3>(data, frames);
    case 4:
      return add_big_endian_width<4>(data, frames);
    default:  // no such width: zeros, as the conversion gives
      return add_big_endian_width<0>(data, frames);
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
