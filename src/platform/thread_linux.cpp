// Linux: the capture thread's timer slack and CPU clock (thread.hpp).
#include <sys/prctl.h>

#include <ctime>

#include "platform/thread.hpp"

namespace rtcap::platform {

void prepare_capture_thread() noexcept {
#ifdef PR_SET_TIMERSLACK
  (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);  // ns; per thread
#endif
}

std::int64_t thread_cpu_ns() noexcept {
  struct timespec ts {};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace rtcap::platform
