#include "io/pcm.hpp"

#include <utility>

namespace rtcap::io {
namespace {

template <std::size_t W>
void swap_bytes(const std::uint8_t* __restrict in, std::uint8_t* __restrict out,
                std::size_t samples) noexcept {
  for (std::size_t i = 0; i < samples; ++i)
    for (std::size_t b = 0; b < W; ++b) out[i * W + b] = in[i * W + W - 1 - b];
}

template <std::size_t W>
void swap_in_place(std::uint8_t* data, std::size_t samples) noexcept {
  for (std::size_t i = 0; i < samples; ++i)
    for (std::size_t b = 0; b < W / 2; ++b) {
      const std::uint8_t t = data[i * W + b];
      data[i * W + b] = data[i * W + W - 1 - b];
      data[i * W + W - 1 - b] = t;
    }
}

template <std::size_t W>
void to_int32(const std::uint8_t* __restrict in, std::int32_t* __restrict out,
              std::size_t samples) noexcept {
  for (std::size_t i = 0; i < samples; ++i) out[i] = big_endian_sample<W>(in + i * W);
}

template <std::size_t W>
void to_float(const std::uint8_t* __restrict in, float* __restrict out,
              std::size_t samples) noexcept {
  constexpr float kScale = 1.0f / 2147483648.0f;
  for (std::size_t i = 0; i < samples; ++i)
    out[i] = static_cast<float>(big_endian_sample<W>(in + i * W)) * kScale;
}

}  // namespace

void big_endian_to_little(const std::uint8_t* in, std::uint8_t* out, std::size_t samples,
                          std::size_t width) noexcept {
  if (width == 3) return swap_bytes<3>(in, out, samples);
  if (width == 2) return swap_bytes<2>(in, out, samples);
  for (std::size_t i = 0; i < samples; ++i, in += width, out += width)
    for (std::size_t b = 0; b < width; ++b) out[b] = in[width - 1 - b];
}

void big_endian_to_little_in_place(std::uint8_t* data, std::size_t samples,
                                   std::size_t width) noexcept {
  if (width == 3) return swap_in_place<3>(data, samples);
  if (width == 2) return swap_in_place<2>(data, samples);
  for (std::size_t i = 0; i < samples; ++i, data += width)
    for (std::size_t b = 0; b < width / 2; ++b) std::swap(data[b], data[width - 1 - b]);
}

void big_endian_to_int32(const std::uint8_t* in, std::int32_t* out, std::size_t samples,
                         std::size_t width) noexcept {
  if (samples < detail::kFewSamples && (width == 2 || width == 3))
    return detail::few_to_int32(in, out, samples, width);
  if (width == 3) return to_int32<3>(in, out, samples);
  if (width == 2) return to_int32<2>(in, out, samples);
  if (width == 4) return to_int32<4>(in, out, samples);
  for (std::size_t i = 0; i < samples; ++i) out[i] = 0;
}

void big_endian_to_float(const std::uint8_t* in, float* out, std::size_t samples,
                         std::size_t width) noexcept {
  if (samples < detail::kFewSamples && (width == 2 || width == 3))
    return detail::few_to_float(in, out, samples, width);
  if (width == 3) return to_float<3>(in, out, samples);
  if (width == 2) return to_float<2>(in, out, samples);
  if (width == 4) return to_float<4>(in, out, samples);
  for (std::size_t i = 0; i < samples; ++i) out[i] = 0;
}

void detail::few_to_int32(const std::uint8_t* in, std::int32_t* out, std::size_t samples,
                          std::size_t width) noexcept {
  const auto as_int = [](std::uint32_t u) { return static_cast<std::int32_t>(u); };
  if (width == 3) return detail::few_samples<3>(in, out, samples, as_int);
  detail::few_samples<2>(in, out, samples, as_int);
}

void detail::few_to_float(const std::uint8_t* in, float* out, std::size_t samples,
                          std::size_t width) noexcept {
  constexpr float kScale = 1.0f / 2147483648.0f;
  const auto as_float = [](std::uint32_t u) {
    return static_cast<float>(static_cast<std::int32_t>(u)) * kScale;
  };
  if (width == 3) return detail::few_samples<3>(in, out, samples, as_float);
  detail::few_samples<2>(in, out, samples, as_float);
}

void int32_to_float(const std::int32_t* __restrict in, float* __restrict out,
                    std::size_t samples) noexcept {
  constexpr float kScale = 1.0f / 2147483648.0f;
  for (std::size_t i = 0; i < samples; ++i) out[i] = static_cast<float>(in[i]) * kScale;
}

}  // namespace rtcap::io
