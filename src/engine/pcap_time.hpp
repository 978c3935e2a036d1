// pcap time stamps to int64 ns, safe for any input. tv_usec holds ns when the handle was opened
// with nano precision. A pcapng file can declare any if_tsresol and any 64-bit time, so libpcap
// can hand us seconds far beyond what int64 ns holds: those saturate instead of overflowing
// (found by tests/fuzz/fuzz_pcap_file).
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <limits>

namespace rtcap::detail {

inline std::int64_t pcap_ts_ns(const struct pcap_pkthdr& h, bool nano) noexcept {
  constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max() / 1000000000 - 1;
  const std::int64_t sec = std::int64_t(h.ts.tv_sec);
  // Every packet of a live capture: in range, no division (this runs per packet).
  if (sec >= -kMaxSeconds && sec <= kMaxSeconds && std::uint64_t(h.ts.tv_usec) < 1000000000)
      [[likely]]
    return sec * 1000000000 + std::int64_t(h.ts.tv_usec) * (nano ? 1 : 1000);
  if (sec > kMaxSeconds) return std::numeric_limits<std::int64_t>::max();
  if (sec < -kMaxSeconds) return std::numeric_limits<std::int64_t>::min();
  const std::int64_t sub = std::int64_t(h.ts.tv_usec) % 1000000000;  // bounded by the file too
  return sec * 1000000000 + sub * (nano ? 1 : 1000);
}

}  // namespace rtcap::detail
