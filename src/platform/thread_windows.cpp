// Windows: the capture thread's timer period and CPU clock (thread.hpp).
#include <windows.h>
// After <windows.h>, which it needs:
#include <timeapi.h>  // timeBeginPeriod (winmm)

#include "platform/thread.hpp"

namespace rtcap::platform {

void prepare_capture_thread() noexcept {
  // Windows' analogue of Linux timer slack: Sleep, sleep_for (--coalesce-us) and millisecond
  // waits end on the system timer tick, 15.6 ms by default. 1 ms is the finest period the
  // multimedia timer offers. Since Windows 10 2004 the request is per process; it is reference
  // counted and lasts until the process ends (an engine opened again asks again, harmlessly).
  // The high-resolution waitable timer in EventWaiter covers sub-millisecond readiness waits.
  (void)timeBeginPeriod(1);
}

std::int64_t thread_cpu_ns() noexcept {
  FILETIME created, exited, kernel, user;
  if (!GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user)) return 0;
  auto ticks = [](const FILETIME& t) {
    return (std::int64_t(t.dwHighDateTime) << 32) | std::int64_t(t.dwLowDateTime);
  };
  // FILETIME counts 100 ns ticks. The counts advance only at the scheduler's clock tick
  // (15.6 ms by default): read per stats interval, not per batch.
  return (ticks(kernel) + ticks(user)) * 100;
}

}  // namespace rtcap::platform
