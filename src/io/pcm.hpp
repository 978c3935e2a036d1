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

// `samples` samples of `width` bytes (2 or 3; other widths go byte by byte).
void big_endian_to_little(const std::uint8_t* in, std::uint8_t* out, std::size_t samples,
                          std::size_t width) noexcept;
// Left-justified: full scale is INT32_MIN..INT32_MAX whatever the width.
void big_endian_to_int32(const std::uint8_t* in, std::int32_t* out, std::size_t samples,
                         std::size_t width) noexcept;
// As big_endian_to_int32, then scaled to [-1, 1).
void big_endian_to_float(const std::uint8_t* in, float* out, std::size_t samples,
                         std::size_t width) noexcept;
// Left-justified 32-bit integers scaled to [-1, 1), as big_endian_to_float scales them.
void int32_to_float(const std::int32_t* in, float* out, std::size_t samples) noexcept;

}  // namespace rtcap::io
