// Windows (Npcap) readiness and the Npcap-only knobs: the counterpart of wait_posix.cpp.
//
// What the Npcap driver really does (Npcap's pcap-npf.c, Packet32 and the NPF driver; the Npcap
// maintainers' advice in shared/reference/npcap-tuning-notes.txt):
// - Each handle has a kernel buffer (pcap_set_buffer_size: a limit, allocated as used from the
//   NonPagedPool) and a user buffer (pcap_setuserbuffer, default 256,000 bytes). One read
//   (PacketReceivePacket, which pcap_dispatch issues when its user buffer is empty) copies at
//   most one user buffer out of the kernel buffer; pcap_dispatch(-1) then walks that buffer.
// - The handle's event (pcap_getevent) is signalled when at least mintocopy bytes wait
//   (pcap_setmintocopy, default 16,000; 0 in immediate mode), when the read timeout
//   (pcap_set_timeout) expires with data waiting, and on a drop. It is the Windows replacement
//   for a selectable descriptor: WaitForMultipleObjects on it, then pcap_dispatch, which may
//   still return 0 packets. pcap_dispatch in non-blocking mode (pcap_setnonblock, which
//   open_live sets) never sleeps in the driver.
// - A packet larger than the user buffer can never be read and blocks every packet behind it
//   (npcap issue 119): the user buffer must hold the largest packet the snaplen lets through
//   plus its bpf_hdr (20 bytes, word-aligned to 8: at most 28 bytes). We keep it >= snaplen + 64.
// - All packets of one driver indication share one timestamp (since Npcap 0.9994): arrival
//   times are quantised and measured jitter is inflated. Npcap 1.74 to 1.76 had timestamp
//   regressions on top of that; we warn when one of them is loaded.
//
// pcap_stats on Npcap (struct pcap_stat, 32-bit running totals; widened in pcap_backend.cpp):
//   ps_recv   before Npcap 1.76: every packet the driver saw on the adapter, whether or not the
//             filter accepted it or the buffer had room; since 1.76 (driver redesign, npcap
//             issue 644): only packets the filter accepted, including ones then dropped - the
//             same meaning as Linux. rtcap reports it as InterfaceStats::received either way.
//   ps_drop   packets dropped by this handle: kernel buffer full (the reader did not keep up)
//             plus allocation failures in the driver -> InterfaceStats::kernel_dropped.
//   ps_ifdrop always 0 on Npcap: the driver cannot see NIC drops -> interface_dropped is 0.
// MODE_STAT (pcap_setmode) would need a second handle and counts nothing we lack: not used.
#include <pcap/pcap.h>  // first: it includes <winsock2.h>, which must come before <windows.h>
#include <windows.h>
#include <timeapi.h>  // timeBeginPeriod (winmm)

#include <algorithm>
#include <cstdio>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "backend/pcap_backend.hpp"
#include "backend/wait.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::backend {
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
  const DWORD n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                     FORMAT_MESSAGE_IGNORE_INSERTS,
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
    for (DWORD i = 1; i < handle_count(); ++i) handles.push_back(reinterpret_cast<std::intptr_t>(events_[i]));
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

void prepare_capture_thread() noexcept {
  // Windows' analogue of Linux timer slack: Sleep, sleep_for (--coalesce-us) and millisecond
  // waits end on the system timer tick, 15.6 ms by default. 1 ms is the finest period the
  // multimedia timer offers. Since Windows 10 2004 the request is per process; it is reference
  // counted and lasts until the process ends (an engine opened again asks again, harmlessly).
  // The high-resolution waitable timer in EventWaiter covers sub-millisecond readiness waits.
  (void)timeBeginPeriod(1);
}

std::int64_t thread_cpu_ns() noexcept {
  FILETIME created, exited, kernel, user;
  if (!GetThreadTimes(GetCurrentThread(), &created, &exited, &kernel, &user)) return 0;
  auto ticks = [](const FILETIME& t) {
    return (std::int64_t(t.dwHighDateTime) << 32) | std::int64_t(t.dwLowDateTime);
  };
  // FILETIME counts 100 ns ticks. The counts advance only at the scheduler's clock tick
  // (15.6 ms by default): read per stats interval, not per batch.
  return (ticks(kernel) + ticks(user)) * 100;
}

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

void wait_on_word(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                  std::chrono::microseconds max_wait) noexcept {
  // Milliseconds, rounded up so that a short wait does not spin; beyond ~49 days, no limit.
  const auto us = std::max<std::int64_t>(0, max_wait.count());
  const DWORD ms = us >= std::int64_t(INFINITE - 1) * 1000 ? INFINITE
                                                           : static_cast<DWORD>((us + 999) / 1000);
  (void)WaitOnAddress(reinterpret_cast<volatile VOID*>(&word), &expected, sizeof expected, ms);
}

void wake_word_waiter(std::atomic<std::uint32_t>& word) noexcept {
  WakeByAddressSingle(reinterpret_cast<PVOID>(&word));
}

namespace {

// rtcap's user buffer when the user gives none (--user-buffer 0), for ~100,000 packets/s of
// ~100-byte frames (AES67 at 125 us: 90-byte frames; ~112 bytes each in Npcap's buffer with the
// bpf_hdr and alignment, ~11 MB/s):
// - Npcap's default, 256,000 bytes, is smaller than the default snaplen (262,144) plus header,
//   which is npcap issue 119's wedge waiting for a 64 KiB coalesced (LSO/RSC) packet; and it
//   empties only ~23 ms of traffic per read, so after a stall of the reader the backlog takes
//   several reads to drain while the kernel buffer keeps filling.
// - 1 MiB holds ~93 ms of this traffic: one read takes the whole backlog of any ordinary stall,
//   which is the Npcap maintainers' advice (raise the user buffer when the bytes per
//   pcap_dispatch come close to it; rtcap reports that share as max_dispatch_buffer_share).
//   It is plain pageable process memory, locked only during a read: cheap.
// - It stays far above mintocopy (the advice: user buffer >= mintocopy, or one read cannot take
//   what one event announced).
constexpr int kDefaultUserBufferBytes = 1 << 20;
// mintocopy is left at Npcap's default when not given (-1): 16,000 bytes, ~143 such packets,
// ~1.4 ms of traffic at 100,000 packets/s. The 1 ms read timeout (--timeout-ms) fires first, so
// the timeout, not mintocopy, bounds the delay at this rate, while at higher rates 16,000 bytes
// keeps the driver to about one read per 16 kB instead of one per packet. Immediate mode sets
// it to 0 (every packet signals): the lowest delay and the highest read rate.
constexpr int kNpcapDefaultMinToCopy = 16000;
// bpf_hdr (20 bytes) word-aligned to 8, plus room: see npcap issue 119 above.
constexpr int kUserBufferHeadroomBytes = 64;

// "Npcap version 1.75, based on libpcap version 1.10.4" -> 1, 75. False for other libraries
// (WinPcap: "WinPcap version 4.1.3 (packet.dll version ...)").
bool npcap_version(const char* text, int& major, int& minor) {
  return text && std::sscanf(text, "Npcap version %d.%d", &major, &minor) == 2;
}

void warn_once(std::vector<std::string>& warnings, std::string text) {
  if (std::find(warnings.begin(), warnings.end(), text) == warnings.end())
    warnings.push_back(std::move(text));
}

}  // namespace

Result<void> apply_platform_options(pcap_t* p, const std::string& name, const CaptureConfig& config,
                                    std::vector<std::string>& warnings) {
  const char* version = pcap_lib_version();
  int major = 0, minor = 0;
  if (!npcap_version(version, major, minor)) {
    warn_once(warnings, fmt::format("the capture library is not Npcap ('{}'): rtcap is tuned and "
                                    "tested for Npcap only; install it from https://npcap.com",
                                    version ? version : "?"));
  } else if (major == 1 && minor >= 74 && minor <= 76) {
    warn_once(warnings,
              fmt::format("Npcap {}.{} has known time stamp regressions (1.74 to 1.76): delay "
                          "and jitter measurements may be wrong; install a newer Npcap from "
                          "https://npcap.com",
                          major, minor));
  }

  if (config.user_buffer_bytes < 0)
    return make_error(ErrorCode::kBadConfig, "--user-buffer must be >= 0 bytes (0: rtcap's default)");
  if (config.mintocopy_bytes < -1)
    return make_error(ErrorCode::kBadConfig,
                      "--mintocopy must be >= 0 bytes (or -1: Npcap's default)");

  // The user buffer first: the snaplen after activation is the real one.
  const int snaplen = pcap_snapshot(p);
  const long long needed = static_cast<long long>(std::max(snaplen, 0)) + kUserBufferHeadroomBytes;
  long long user_buffer = config.user_buffer_bytes > 0 ? config.user_buffer_bytes
                                                       : kDefaultUserBufferBytes;
  std::string user_buffer_note;
  if (user_buffer < needed) {
    user_buffer_note = fmt::format(
        " (raised from {}: it must hold a whole packet of the snapshot length {} plus its "
        "header, or a larger packet wedges the handle, npcap issue 119; lower it with a "
        "smaller -s)",
        user_buffer, snaplen);
    user_buffer = needed;
  }
  if (pcap_setuserbuffer(p, static_cast<int>(user_buffer)) != 0)
    return make_error(ErrorCode::kOpenFailed,
                      fmt::format("{}: cannot set the Npcap user buffer to {} bytes: {}", name,
                                  user_buffer, pcap_geterr(p)));

  int mintocopy = config.immediate_mode ? 0 : kNpcapDefaultMinToCopy;
  std::string mintocopy_note = config.mintocopy_bytes < 0 ? " (Npcap default)" : "";
  if (config.mintocopy_bytes >= 0) {
    if (config.immediate_mode && config.mintocopy_bytes > 0) {
      // Immediate mode is "signal every packet": a mintocopy would quietly undo it.
      mintocopy_note = fmt::format(" (--mintocopy {} ignored: immediate mode signals every "
                                   "packet; drop --immediate-mode to batch)",
                                   config.mintocopy_bytes);
    } else {
      mintocopy = config.mintocopy_bytes;
      if (pcap_setmintocopy(p, mintocopy) != 0)
        return make_error(ErrorCode::kOpenFailed,
                          fmt::format("{}: cannot set Npcap mintocopy to {} bytes: {}", name,
                                      mintocopy, pcap_geterr(p)));
      if (mintocopy > user_buffer)
        mintocopy_note = fmt::format(
            " (larger than the user buffer: one read cannot take what one event announces; "
            "raise --user-buffer to at least {})",
            mintocopy);
    }
  }
  warnings.push_back(fmt::format("{}: Npcap user buffer {} bytes{}, mintocopy {} bytes{}", name,
                                 user_buffer, user_buffer_note, mintocopy, mintocopy_note));
  return {};
}

}  // namespace rtcap::backend

namespace rtcap {
// No TPACKET_V3 block-retire timer on Windows (the Npcap driver signals on mintocopy and the
// read timeout instead); latency_budget.hpp asks for 250 here, unused by the Npcap model.
int host_v3_retire_hz() noexcept { return 250; }
}  // namespace rtcap

namespace rtcap::backend {
// Npcap's kernel buffer (pcap_set_buffer_size) is a limit, allocated as used from the
// NonPagedPool (npcap-tuning-notes: 768 MB of it on a 4 GB Windows 11 machine), and a handle that
// stops reading can grow to it. 16 MiB holds ~1.5 s of 100,000 packets/s of ~100-byte frames:
// room for bursts and stalls without claiming a large share of that pool. Npcap's own default is
// 1,000,000 bytes (~90 ms at that rate).
std::uint64_t default_buffer_bytes(const CaptureConfig&) { return 16ull << 20; }
}  // namespace rtcap::backend

namespace rtcap {
int effective_coalesce_us(const CaptureConfig& config) noexcept {
  return coalesce_us_on(config, CapturePlatform::kNpcap);
}
}  // namespace rtcap
