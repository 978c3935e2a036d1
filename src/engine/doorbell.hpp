// Wakes a sleeping consumer without a system call when it is not sleeping.
//
// The waiter announces itself (sleeping_ = true, seq_cst), re-checks its ring, then sleeps on a
// semaphore with a timeout; the ringer pays a futex wake only when someone announced. The seq_cst
// pair (ringer: push then load sleeping_; waiter: store sleeping_ then re-check) rules out the
// lost wake-up where both sides miss each other.
#pragma once

#include <atomic>
#include <chrono>
#include <semaphore>

namespace rtcap::detail {

class Doorbell {
 public:
  void ring() noexcept {
    if (sleeping_.load(std::memory_order_seq_cst) && !pending_.exchange(true)) sem_.release();
  }

  // `ready` is re-checked after announcing; returns when it is true or after `wait`.
  template <typename Ready>
  void wait_for(Ready&& ready, std::chrono::microseconds wait) {
    sleeping_.store(true, std::memory_order_seq_cst);
    if (!ready()) (void)sem_.try_acquire_for(wait);
    sleeping_.store(false, std::memory_order_relaxed);
    // A ring that raced with our timeout may leave one token behind; it costs the next wait one
    // early return (callers loop on their own condition), never a lost wake-up.
    pending_.store(false, std::memory_order_relaxed);
  }

 private:
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> pending_{false};
  std::counting_semaphore<> sem_{0};
};

}  // namespace rtcap::detail
