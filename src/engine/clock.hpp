// The two clocks rtcap reads, in nanoseconds: one definition for the library and the tools.
#pragma once

#include <chrono>
#include <cstdint>

namespace rtcap {

// Wall clock, the clock pcap time stamps use (latency = this minus the packet's stamp):
// CLOCK_REALTIME on Linux (libstdc++'s system_clock), the system time on Windows.
inline std::int64_t realtime_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Intervals and deadlines: CLOCK_MONOTONIC on Linux (steady_clock), never stepped.
inline std::int64_t monotonic_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace rtcap
