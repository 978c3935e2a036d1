// Windows: WaitOnAddress on the atomic's own storage (word_wait.hpp; synchronization.lib).
#include <windows.h>

#include <algorithm>

#include "platform/word_wait.hpp"

namespace rtcap::platform {

void wait_on_word(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                  std::chrono::microseconds max_wait) noexcept {
  // Milliseconds, rounded up so that a short wait does not spin; beyond ~49 days, no limit.
  const auto us = std::max<std::int64_t>(0, max_wait.count());
  const DWORD ms =
      us >= std::int64_t(INFINITE - 1) * 1000 ? INFINITE : static_cast<DWORD>((us + 999) / 1000);
  (void)WaitOnAddress(reinterpret_cast<volatile VOID*>(&word), &expected, sizeof expected, ms);
}

void wake_word_waiter(std::atomic<std::uint32_t>& word) noexcept {
  WakeByAddressSingle(reinterpret_cast<PVOID>(&word));
}

}  // namespace rtcap::platform
