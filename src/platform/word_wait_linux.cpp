// Linux: the futex system call on the atomic's own storage (word_wait.hpp).
//
// A raw futex rather than a condition variable: glibc's condition variable re-takes its mutex
// marked as contended, so every consumer wake-up paid one more futex system call (seen in strace
// at 100,000 packets/s); std::atomic::wait spins with sched_yield first.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

#include "platform/word_wait.hpp"

namespace rtcap::platform {

void wait_on_word(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                  std::chrono::microseconds max_wait) noexcept {
  const struct timespec timeout = {static_cast<time_t>(max_wait.count() / 1000000),
                                   static_cast<long>(max_wait.count() % 1000000) * 1000};
  (void)syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
                &timeout, nullptr, 0);
}

void wake_word_waiter(std::atomic<std::uint32_t>& word) noexcept {
  (void)syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
                nullptr, 0);
}

}  // namespace rtcap::platform
