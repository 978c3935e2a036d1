// The capture thread's own settings and clock.
// Linux (thread_linux.cpp): timer slack (prctl) and CLOCK_THREAD_CPUTIME_ID.
// Windows (thread_windows.cpp): timeBeginPeriod and GetThreadTimes.
#pragma once

#include <cstdint>

namespace rtcap::platform {

// Called once on the capture thread before it starts: on Linux, timer slack of 1 us (the default
// 50 us would stretch a --coalesce-us window and the readiness wait); on Windows, a 1 ms system
// timer period.
void prepare_capture_thread() noexcept;
// CPU time consumed by the calling thread, ns (a system call: call it per interval).
std::int64_t thread_cpu_ns() noexcept;

}  // namespace rtcap::platform
