// Waiting until a pcap handle may have packets: the one place where Linux and Windows differ.
// POSIX (wait_posix.cpp): epoll on pcap_get_selectable_fd plus an eventfd to wake the waiter.
// Windows (wait_windows.cpp): WaitForMultipleObjects on pcap_getevent plus a wake event.
#pragma once

#include <pcap/pcap.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <cstdint>
#include <span>
#include <vector>

#include "rtcap/error.hpp"

namespace rtcap::backend {

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

}  // namespace rtcap::backend

#include <string>
#include <vector>

#include "rtcap/config.hpp"

namespace rtcap::backend {
// Platform knobs applied after pcap_activate: Npcap's mintocopy and user buffer on Windows; on
// other platforms a warning that they do not apply, naming what does.
Result<void> apply_platform_options(pcap_t* p, const std::string& name,
                                    const CaptureConfig& config,
                                    std::vector<std::string>& warnings);
// Called once on the capture thread before it starts: on Linux, timer slack of 1 us (the default
// 50 us would stretch a --coalesce-us window and the readiness wait).
void prepare_capture_thread() noexcept;
// CPU time consumed by the calling thread, ns (a system call: call it per interval).
std::int64_t thread_cpu_ns() noexcept;
// Sleeping until another thread changes a 32-bit word (the engine's Doorbell): a futex on Linux,
// WaitOnAddress on Windows. Returns at once when the word no longer holds `expected`, and may
// return early for no reason: callers re-check their condition.
void wait_on_word(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                  std::chrono::microseconds max_wait) noexcept;
void wake_word_waiter(std::atomic<std::uint32_t>& word) noexcept;  // wakes one sleeper
}  // namespace rtcap::backend
