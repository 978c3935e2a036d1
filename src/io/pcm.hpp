// L16/L24 samples as RTP carries them (RFC 3551 4.5.11, RFC 3190: big-endian, channels
// interleaved) into what the consumers want: little-endian bytes (a WAV's data chunk) and
// left-justified 32-bit integers (the live audio API, the level meter).
//
// One pass over the samples with the width fixed per loop, compiled (pcm.cpp) with a cost model
// that lets GCC vectorise it: at -O2 GCC 12 vectorises only loops it needs no remainder for.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rtcap::io {

// One big-endian sample of W bytes, left-justified in 32 bits (full scale is INT32_MIN..INT32_MAX).
template <std::size_t W>
[[nodiscard]] inline std::int32_t big_endian_sample(const std::uint8_t* p) noexcept {
  std::uint32_t u = 0;
  for (std::size_t b = 0; b < W; ++b) u |= std::uint32_t{p[b]} << (24 - 8 * b);
  return static_cast<std::int32_t>(u);
}

// `samples` samples of `width` bytes (2 or 3; other widths go byte by byte).
void big_endian_to_little(const std::uint8_t* in, std::uint8_t* out, std::size_t samples,
                          std::size_t width) noexcept;
// The same within one buffer (the WAV writer converts what it buffered just before writing it).
void big_endian_to_little_in_place(std::uint8_t* data, std::size_t samples,
                                   std::size_t width) noexcept;
// Left-justified: full scale is INT32_MIN..INT32_MAX whatever the width.
void big_endian_to_int32(const std::uint8_t* in, std::int32_t* out, std::size_t samples,
                         std::size_t width) noexcept;
// As big_endian_to_int32, then scaled to [-1, 1).
void big_endian_to_float(const std::uint8_t* in, float* out, std::size_t samples,
                         std::size_t width) noexcept;
// Left-justified 32-bit integers scaled to [-1, 1), as big_endian_to_float scales them.
void int32_to_float(const std::int32_t* in, float* out, std::size_t samples) noexcept;

namespace detail {
// One packet's samples (an AES67 packet holds 12 to 96): GCC's vectorised loops are set up for
// more, and run these by bytes at ~17 instructions a sample; four bytes read as one big-endian
// word (GCC loads and byte-swaps it in two instructions) and masked cost ~5. The last sample is
// read by its own bytes: a word read past it could cross the end of the buffer.
// Below 128 (a 1 ms stereo packet holds 96; not tuned further), few_samples; above, the vector
// loop.
inline constexpr std::size_t kFewSamples = 128;
template <std::size_t W, class Out, class Convert>
void few_samples(const std::uint8_t* in, Out* out, std::size_t samples, Convert convert) noexcept {
  static_assert(W == 2 || W == 3);
  constexpr std::uint32_t kMask = W == 3 ? 0xFFFFFF00u : 0xFFFF0000u;
  if (samples == 0) return;
  for (std::size_t i = 0; i + 1 < samples; ++i, in += W)
    out[i] = convert((std::uint32_t{in[0]} << 24 | std::uint32_t{in[1]} << 16 |
                      std::uint32_t{in[2]} << 8 | std::uint32_t{in[3]}) &
                     kMask);
  std::uint32_t last = std::uint32_t{in[0]} << 24 | std::uint32_t{in[1]} << 16;
  if constexpr (W == 3) last |= std::uint32_t{in[2]} << 8;
  out[samples - 1] = convert(last);
}
void few_to_int32(const std::uint8_t* in, std::int32_t* out, std::size_t samples,
                  std::size_t width) noexcept;
void few_to_float(const std::uint8_t* in, float* out, std::size_t samples,
                  std::size_t width) noexcept;
}  // namespace detail

}  // namespace rtcap::io
