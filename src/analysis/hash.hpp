// The hash under the analysis' open-addressing tables (streams, SAP sessions, 2022-7 legs).
// Private to librtcap.
#pragma once

#include <cstdint>

namespace rtcap::analysis {

// MurmurHash3's 64-bit finaliser: portable (no __int128, MSVC too) and a few cycles per word.
inline std::uint64_t fmix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

}  // namespace rtcap::analysis
