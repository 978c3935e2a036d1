// Linux readiness: epoll over every handle's selectable fd and one eventfd for wake().
//
// libpcap notes that matter here (pcap_get_selectable_fd(3PCAP), libpcap issue 387):
// - With TPACKET_V3 the fd polls readable only when the kernel retires a ring block (full, or
//   the timeout set with pcap_set_timeout expired); with TPACKET_V2 (immediate mode) after
//   every packet.
// - pcap_get_required_select_timeout() may return a timeout (for example after the interface
//   went down) that the wait must not exceed; it is asked again before every wait.
// - A readable fd does not promise packets: pcap_dispatch may return 0.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "platform/readiness.hpp"

namespace rtcap::platform {
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
    return make_error(ErrorCode::kOpenFailed,
                      fmt::format("epoll_create1: {}", std::strerror(errno)));
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

}  // namespace rtcap::platform
