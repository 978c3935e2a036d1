// Wakes a sleeping thread without a system call when it is not sleeping.
//
// The waiter reads the bell's sequence word, announces itself (sleeping_ = true, seq_cst),
// re-checks its condition, then sleeps on the word (a futex on Linux, WaitOnAddress on Windows)
// with a timeout. The ringer pays a system call only when someone announced: it bumps the word
// and wakes one sleeper. The seq_cst pair (ringer: publish, then load sleeping_; waiter: store
// sleeping_, then re-check) rules out the lost wake-up where both sides miss each other, and a
// ring between the re-check and the sleep changes the word, so the sleep returns at once.
//
// Neither a condition variable (glibc re-takes its mutex marked contended after every wake-up,
// one extra futex call per batch) nor std::counting_semaphore / std::atomic::wait (libstdc++
// spins with sched_yield before it sleeps, 5% of the process in a perf profile of
// 100,000 packets/s capture).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "platform/word_wait.hpp"

namespace rtcap::detail {

class Doorbell {
 public:
  void ring() noexcept {
    // The ring's release store of its index must be visible before we look at sleeping_ (a
    // store followed by a load: only a full fence orders them, on x86 too).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!sleeping_.load(std::memory_order_seq_cst)) return;
    word_.fetch_add(1, std::memory_order_seq_cst);
    platform::wake_word_waiter(word_);
  }

  // `ready` is re-checked after announcing; returns when it is true, when rung, after `wait`,
  // or spuriously: callers loop on their own condition. One waiter at a time.
  template <typename Ready>
  void wait_for(Ready&& ready, std::chrono::microseconds wait) {
    const std::uint32_t seen = word_.load(std::memory_order_seq_cst);
    sleeping_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!ready()) platform::wait_on_word(word_, seen, wait);
    sleeping_.store(false, std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> sleeping_{false};
  std::atomic<std::uint32_t> word_{0};
};

}  // namespace rtcap::detail
