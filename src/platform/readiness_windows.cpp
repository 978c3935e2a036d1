// Windows readiness: WaitForMultipleObjects on each handle's Npcap event plus a wake event; the
// counterpart of readiness_linux.cpp.
//
// What the Npcap driver does with the event (Npcap's pcap-npf.c, Packet32 and the NPF driver;
// the Npcap maintainers' advice in shared/reference/npcap-tuning-notes.txt):
// - The handle's event (pcap_getevent) is signalled when at least mintocopy bytes wait
//   (pcap_setmintocopy, default 16,000; 0 in immediate mode), when the read timeout
//   (pcap_set_timeout) expires with data waiting, and on a drop. It is the Windows replacement
//   for a selectable descriptor: WaitForMultipleObjects on it, then pcap_dispatch, which may
//   still return 0 packets. pcap_dispatch in non-blocking mode (pcap_setnonblock, which
//   open_live sets) never sleeps in the driver.
// The knobs themselves (user buffer, mintocopy) are set in src/backend/pcap_npcap.cpp.
// <pcap/pcap.h> first: it includes <winsock2.h>, which must come before <windows.h> (and fmt's).
#include <pcap/pcap.h>
// Then:
#include <fmt/format.h>
#include <windows.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "platform/readiness.hpp"

namespace rtcap::platform {
namespace {

// WaitForMultipleObjects takes at most MAXIMUM_WAIT_OBJECTS (64) handles. One slot is the wake
// event and one the high-resolution timer, so one waiter serves at most 62 capture handles. We
// refuse more rather than chain waits through helper threads: every helper would add a thread
// hop (and its wake-up delay) between the driver's event and pcap_dispatch, and 62 interfaces
// in one process is far beyond what one capture thread can drain at 100,000 packets/s anyway.
constexpr DWORD kReservedWaitSlots = 2;
constexpr std::size_t kMaxCaptureHandles = MAXIMUM_WAIT_OBJECTS - kReservedWaitSlots;

#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002
#endif

std::string last_error_text(DWORD err) {
  char* text = nullptr;
  const DWORD n = FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, err, 0, reinterpret_cast<char*>(&text), 0, nullptr);
  std::string s = n && text ? std::string(text, n) : fmt::format("Windows error {}", err);
  if (text) LocalFree(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

class EventWaiter final : public ReadinessWaiter {
 public:
  // events: [0] wake event, [1..n] the handles' pcap_getevent events, [n+1] the timer if any.
  EventWaiter(std::vector<HANDLE> events, HANDLE wake, HANDLE timer)
      : events_(std::move(events)), wake_(wake), timer_(timer) {}
  ~EventWaiter() override {
    // The pcap events belong to their handles (pcap_close closes them).
    CloseHandle(wake_);
    if (timer_) CloseHandle(timer_);
  }

  WaitResult wait(std::chrono::microseconds max_wait) noexcept override {
    // WaitForMultipleObjects counts milliseconds and, with the default 15.6 ms system tick, can
    // oversleep by a tick. The engine's waits end at its next statistics read, which should
    // come on time; a high-resolution waitable timer (Windows 10 1803 and later) ends them to
    // the microsecond. The millisecond timeout, rounded up, stays as the bound when the timer
    // is missing. (Wake-ups for packets come from the driver's event, not from this timeout.)
    const std::int64_t us = std::max<std::int64_t>(0, max_wait.count());
    const std::int64_t ms = (us + 999) / 1000;
    const DWORD timeout_ms =
        DWORD(std::min<std::int64_t>(ms, std::numeric_limits<DWORD>::max() - 1));
    DWORD count = DWORD(events_.size()) - (timer_ ? 1 : 0);
    if (timer_ && us > 0) {
      LARGE_INTEGER due;
      due.QuadPart = -us * 10;  // relative, in 100 ns units
      if (SetWaitableTimer(timer_, &due, 0, nullptr, nullptr, FALSE)) count += 1;
    }
    const DWORD r = WaitForMultipleObjects(count, events_.data(), FALSE, timeout_ms);
    if (r == WAIT_OBJECT_0) return WaitResult::kWoken;  // auto-reset: consumed
    if (r > WAIT_OBJECT_0 && r < WAIT_OBJECT_0 + handle_count()) return WaitResult::kReady;
    // WAIT_TIMEOUT, the timer, or WAIT_FAILED: the caller dispatches every handle anyway and
    // loops, so a failed wait costs one poll, never a lost packet.
    return WaitResult::kTimeout;
  }

  void wake() noexcept override { SetEvent(wake_); }

  std::vector<std::intptr_t> wait_handles() const override {
    std::vector<std::intptr_t> handles;
    for (DWORD i = 1; i < handle_count(); ++i)
      handles.push_back(reinterpret_cast<std::intptr_t>(events_[i]));
    handles.push_back(reinterpret_cast<std::intptr_t>(wake_));
    return handles;
  }
  std::int64_t required_timeout_us() const noexcept override { return -1; }
  void clear_wake() noexcept override { ResetEvent(wake_); }

 private:
  DWORD handle_count() const noexcept {
    return DWORD(events_.size()) - (timer_ ? 1 : 0);  // wake event + pcap events
  }

  std::vector<HANDLE> events_;
  HANDLE wake_;
  HANDLE timer_;
};

}  // namespace

Result<std::unique_ptr<ReadinessWaiter>> ReadinessWaiter::create(std::span<pcap_t* const> handles) {
  if (handles.size() > kMaxCaptureHandles)
    return make_error(
        ErrorCode::kUnsupported,
        fmt::format("{} interfaces in one capture: Windows waits on at most {} capture handles "
                    "at once (MAXIMUM_WAIT_OBJECTS {} less the stop event and the timer); split "
                    "the interfaces over several rtcap processes",
                    handles.size(), kMaxCaptureHandles, MAXIMUM_WAIT_OBJECTS));
  // Auto-reset: one wake() ends one wait; SetEvent is safe from a console control handler.
  HANDLE wake = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  if (!wake)
    return make_error(ErrorCode::kOpenFailed,
                      fmt::format("CreateEvent: {}", last_error_text(GetLastError())));
  std::vector<HANDLE> events{wake};
  for (pcap_t* p : handles) {
    HANDLE ev = pcap_getevent(p);
    if (!ev) {
      CloseHandle(wake);
      return make_error(ErrorCode::kOpenFailed,
                        "this capture handle has no event to wait on (pcap_getevent returned "
                        "none): is it an Npcap live capture handle?");
    }
    events.push_back(ev);
  }
  // Missing before Windows 10 1803 (and in some Wine versions): the waits then round up to
  // whole milliseconds.
  HANDLE timer = CreateWaitableTimerExW(nullptr, nullptr, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
                                        TIMER_ALL_ACCESS);
  if (timer) events.push_back(timer);
  return std::make_unique<EventWaiter>(std::move(events), wake, timer);
}

}  // namespace rtcap::platform
