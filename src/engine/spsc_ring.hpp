// Bounded single-producer/single-consumer ring of pointers, after rigtorp/SPSCQueue and the
// xsk ring in xdp-tools: cache-line-separated indices, each side keeps a cached copy of the other
// side's index so the common case touches only its own cache line. Never allocates after
// construction, never blocks, never throws on the fast path.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <type_traits>

namespace rtcap::detail {

// 64 bytes on x86-64 and most ARM cores; std::hardware_destructive_interference_size warns in
// headers on GCC 12 (-Winterference-size), so we say it ourselves.
inline constexpr std::size_t kCacheLine = 64;

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>, "ring slots are copied with plain stores");

 public:
  explicit SpscRing(std::size_t capacity)
      : capacity_(capacity + 1), slots_(std::make_unique<T[]>(capacity + 1)) {}

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer only.
  [[nodiscard]] bool try_push(T value) noexcept {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    const std::size_t next = head + 1 == capacity_ ? 0 : head + 1;
    if (next == tail_cached_) {
      tail_cached_ = tail_.load(std::memory_order_acquire);
      if (next == tail_cached_) return false;
    }
    slots_[head] = value;
    head_.store(next, std::memory_order_release);
    return true;
  }

  // Consumer only.
  [[nodiscard]] bool try_pop(T& out) noexcept {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cached_) {
      head_cached_ = head_.load(std::memory_order_acquire);
      if (tail == head_cached_) return false;
    }
    out = slots_[tail];
    tail_.store(tail + 1 == capacity_ ? 0 : tail + 1, std::memory_order_release);
    return true;
  }

  // Either side; exact only when the other side is idle.
  [[nodiscard]] bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_ - 1; }

 private:
  const std::size_t capacity_;  // one slot stays empty to tell full from empty
  std::unique_ptr<T[]> slots_;
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};  // written by the producer
  alignas(kCacheLine) std::size_t tail_cached_ = 0;       // producer's copy of tail_
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};  // written by the consumer
  alignas(kCacheLine) std::size_t head_cached_ = 0;       // consumer's copy of head_
};

}  // namespace rtcap::detail
