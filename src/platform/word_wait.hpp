// Sleeping until another thread changes a 32-bit word (the engine's Doorbell).
// Linux (word_wait_linux.cpp): a futex. Windows (word_wait_windows.cpp): WaitOnAddress.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace rtcap::platform {

// Returns at once when the word no longer holds `expected`, and may return early for no reason:
// callers re-check their condition.
void wait_on_word(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                  std::chrono::microseconds max_wait) noexcept;
void wake_word_waiter(std::atomic<std::uint32_t>& word) noexcept;  // wakes one sleeper

// Both platforms wait on the atomic's own storage: a lock-free 32-bit atomic is a plain 32-bit
// word in memory.
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

}  // namespace rtcap::platform
