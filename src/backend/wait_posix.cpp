// POSIX readiness: epoll over every handle's selectable fd and one eventfd for wake().
//
// libpcap notes that matter here (pcap_get_selectable_fd(3PCAP), libpcap issue 387):
// - With TPACKET_V3 the fd polls readable only when the kernel retires a ring block (full, or
//   the timeout set with pcap_set_timeout expired); with TPACKET_V2 (immediate mode) after
//   every packet.
// - pcap_get_required_select_timeout() may return a timeout (for example after the interface
//   went down) that the wait must not exceed; it is asked again before every wait.
// - A readable fd does not promise packets: pcap_dispatch may return 0.
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "backend/pcap_backend.hpp"
#include "backend/wait.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::backend {
namespace {

struct timespec to_timespec(std::chrono::microseconds d) noexcept {
  return {static_cast<time_t>(d.count() / 1000000), static_cast<long>(d.count() % 1000000) * 1000};
}

class EpollWaiter final : public ReadinessWaiter {
 public:
  EpollWaiter(int epfd, int wakefd, std::vector<pcap_t*> handles)
      : epfd_(epfd), wakefd_(wakefd), handles_(std::move(handles)) {}
  ~EpollWaiter() override {
    close(epfd_);
    close(wakefd_);
  }

  std::vector<std::intptr_t> wait_handles() const override {
    std::vector<std::intptr_t> fds;
    for (pcap_t* p : handles_) fds.push_back(pcap_get_selectable_fd(p));
    fds.push_back(wakefd_);
    return fds;
  }

  std::int64_t required_timeout_us() const noexcept override {
    std::int64_t us = -1;
    for (pcap_t* p : handles_) {
      if (const struct timeval* tv = pcap_get_required_select_timeout(p)) {
        const std::int64_t t = std::int64_t(tv->tv_sec) * 1000000 + tv->tv_usec;
        us = us < 0 ? t : std::min(us, t);
      }
    }
    return us;
  }

  void clear_wake() noexcept override {
    std::uint64_t drained;
    (void)!read(wakefd_, &drained, sizeof drained);  // non-blocking: EAGAIN when none pending
  }

  WaitResult wait(std::chrono::microseconds max_wait) noexcept override {
    auto limit = max_wait;
    if (const std::int64_t required = required_timeout_us(); required >= 0)
      limit = std::min(limit, std::chrono::microseconds(required));
    // epoll_pwait2 (Linux 5.11, glibc 2.35) takes a timespec: sub-millisecond waits stay exact.
    const struct timespec timeout = to_timespec(limit);
    // One event per capture fd plus the wake-up eventfd is all a wait can report that matters;
    // more ready fds are simply reported by the next wait (every handle is drained anyway).
    epoll_event events[8];
    int n = -1;
    if (have_pwait2_) {
      n = epoll_pwait2(epfd_, events, 8, &timeout, nullptr);
      if (n < 0 && errno == ENOSYS) have_pwait2_ = false;  // kernel before 5.11
    }
    if (!have_pwait2_) {  // millisecond timeout, rounded up so a short wait never spins
      n = epoll_wait(epfd_, events, 8, static_cast<int>((limit.count() + 999) / 1000));
    }
    if (n <= 0) return WaitResult::kTimeout;  // EINTR counts as a timeout: the caller loops
    WaitResult result = WaitResult::kReady;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wakefd_) {
        std::uint64_t drained;
        (void)!read(wakefd_, &drained, sizeof drained);
        result = WaitResult::kWoken;
      }
    }
    return result;
  }

  void wake() noexcept override {
    const std::uint64_t one = 1;
    (void)!write(wakefd_, &one, sizeof one);
  }

 private:
  int epfd_;
  int wakefd_;
  bool have_pwait2_ = true;
  std::vector<pcap_t*> handles_;
};

}  // namespace

Result<std::unique_ptr<ReadinessWaiter>> ReadinessWaiter::create(std::span<pcap_t* const> handles) {
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0)
    return make_error(ErrorCode::kOpenFailed, fmt::format("epoll_create1: {}", std::strerror(errno)));
  const int wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakefd < 0) {
    close(epfd);
    return make_error(ErrorCode::kOpenFailed, fmt::format("eventfd: {}", std::strerror(errno)));
  }
  auto fail = [&](std::string message) {
    close(epfd);
    close(wakefd);
    return make_error(ErrorCode::kOpenFailed, std::move(message));
  };
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakefd;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0)
    return fail(fmt::format("epoll_ctl: {}", std::strerror(errno)));
  for (pcap_t* p : handles) {
    const int fd = pcap_get_selectable_fd(p);
    if (fd < 0) return fail("this capture handle has no selectable descriptor");
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
      return fail(fmt::format("epoll_ctl: {}", std::strerror(errno)));
  }
  return std::make_unique<EpollWaiter>(epfd, wakefd,
                                       std::vector<pcap_t*>(handles.begin(), handles.end()));
}

}  // namespace rtcap::backend

namespace rtcap::backend {
std::uint64_t default_buffer_bytes(const CaptureConfig& config) {
  // TPACKET_V3 (batched): blocks of 256 KiB, each handed to us when full or when the retire
  // timeout (timeout_ms, rounded up to a jiffy: 4 ms at HZ=250) expires. At 100,000 packets/s of
  // ~100-byte frames a block retires part-filled, so the ring tolerates about
  // blocks x max(timeout, jiffy) of reader stall: 128 blocks x 4 ms = 0.5 s. libpcap's default
  // of 2 MiB (8 blocks, ~32 ms) is what lets a briefly descheduled reader drop packets.
  //
  // TPACKET_V2 (immediate mode): one slot per packet, sized from the snaplen and, on Ethernet,
  // the interface's largest packet (64 KiB plus headers when GRO/GSO/TSO offloads are on, as on
  // veth). 128 MiB then holds ~1,000 whole-size slots (10 ms at 100,000 packets/s); with -s 256
  // the same memory holds ~250,000 slots. docs/TUNING.md has the measurements.
  return config.immediate_mode ? 128ull << 20 : 32ull << 20;
}

}  // namespace rtcap::backend

namespace rtcap {
int effective_coalesce_us(const CaptureConfig& config) noexcept {
  return coalesce_us_on(config, CapturePlatform::kLinuxLibpcap);
}
}  // namespace rtcap

namespace rtcap::backend {
void prepare_capture_thread() noexcept {
#ifdef PR_SET_TIMERSLACK
  (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);  // ns; per thread
#endif
}

std::int64_t thread_cpu_ns() noexcept {
  struct timespec ts {};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The futex system call on the atomic's own storage: a lock-free 32-bit atomic is a plain 32-bit
// word in memory. A raw futex rather than a condition variable: glibc's condition variable
// re-takes its mutex marked as contended, so every consumer wake-up paid one more futex system
// call (seen in strace at 100,000 packets/s); std::atomic::wait spins with sched_yield first.
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

void wait_on_word(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                  std::chrono::microseconds max_wait) noexcept {
  const struct timespec timeout = to_timespec(max_wait);
  (void)syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
                &timeout, nullptr, 0);
}

void wake_word_waiter(std::atomic<std::uint32_t>& word) noexcept {
  (void)syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
                nullptr, 0);
}
}  // namespace rtcap::backend

namespace rtcap::backend {
Result<void> apply_platform_options(pcap_t*, const std::string& name, const CaptureConfig& config,
                                    std::vector<std::string>& warnings) {
  if (config.mintocopy_bytes >= 0)
    warnings.push_back(fmt::format(
        "{}: --mintocopy is Npcap-only (Windows) and does nothing here; on Linux the kernel hands "
        "over a ring block when it is full or after --timeout-ms",
        name));
  if (config.user_buffer_bytes > 0)
    warnings.push_back(fmt::format(
        "{}: --user-buffer is Npcap-only (Windows) and does nothing here; on Linux libpcap reads "
        "the mmap ring in place: size it with -B",
        name));
  return {};
}
}  // namespace rtcap::backend

namespace rtcap {
int host_v3_retire_hz() noexcept {
  struct utsname u {};
  int major = 0, minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return 250;
  if (major > 6 || (major == 6 && minor >= 18)) return 1000;  // hrtimer: see the header
  return 250;  // Debian 12 and most distributions build with CONFIG_HZ=250
}
}  // namespace rtcap
