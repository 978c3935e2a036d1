// Waiting until a pcap handle may have packets.
// Linux (readiness_linux.cpp): epoll on pcap_get_selectable_fd plus an eventfd to wake the waiter.
// Windows (readiness_windows.cpp): WaitForMultipleObjects on pcap_getevent plus a wake event.
#pragma once

#include <pcap/pcap.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "rtcap/error.hpp"

namespace rtcap::platform {

enum class WaitResult { kReady, kTimeout, kWoken };

class ReadinessWaiter {
 public:
  static Result<std::unique_ptr<ReadinessWaiter>> create(std::span<pcap_t* const> handles);
  virtual ~ReadinessWaiter() = default;
  // Returns when a handle may be readable, wake() was called, or max_wait passed. The caller
  // must pcap_dispatch every handle after kReady, and accept that it may return 0 packets.
  virtual WaitResult wait(std::chrono::microseconds max_wait) noexcept = 0;
  // Async-signal-safe.
  virtual void wake() noexcept = 0;
  // For an application's own event loop (Engine::readiness): each capture handle's fd / event,
  // then the wake-up eventfd / event.
  [[nodiscard]] virtual std::vector<std::intptr_t> wait_handles() const = 0;
  // The shortest pcap_get_required_select_timeout of the handles, us; -1 if none asks for one
  // (Windows: always -1, the events say everything).
  [[nodiscard]] virtual std::int64_t required_timeout_us() const noexcept = 0;
  // Consumes a pending wake() without waiting (after the application's own wait saw it).
  virtual void clear_wake() noexcept = 0;
};

}  // namespace rtcap::platform
