// Inline delivery in the application's own event loop (Linux): one thread, one epoll set that
// waits on rtcap's readiness handles *and* on a timer of the application's own (here a 10 ms
// timerfd standing in for an audio block clock). Capture runs on this thread, as the Npcap and
// libpcap maintainers advise: wait, pcap_dispatch every handle, run the callback on the batch.
//
// Usage: inline_capture (-i IFACE | -r FILE) [seconds] [filter]
// Prints one line: packets, bytes, timer ticks served, and the engine's statistics.
#include <rtcap/engine.hpp>

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s (-i IFACE | -r FILE) [seconds] [filter]\n", argv[0]);
    return 2;
  }
  rtcap::CaptureConfig config;  // delivery is inline by default
  if (std::string(argv[1]) == "-r")
    config.read_file = argv[2];
  else
    config.interfaces.push_back(argv[2]);
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  if (argc > 4) config.filter = argv[4];

  auto opened = rtcap::Engine::open(config);
  if (!opened) {
    std::fprintf(stderr, "inline_capture: %s\n", opened.error().message.c_str());
    return 1;
  }
  rtcap::Engine& engine = **opened;
  for (const auto& w : engine.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());

  // The application's own timer, in the same epoll set as the capture.
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  const itimerspec every_10ms{{0, 10'000'000}, {0, 10'000'000}};
  timerfd_settime(timer, 0, &every_10ms, nullptr);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = timer;
  epoll_ctl(epfd, EPOLL_CTL_ADD, timer, &ev);
  // rtcap's handles: each capture fd, then the engine's wake-up (request_stop() from any thread
  // makes it readable). They stay the same for the engine's life (unless CaptureConfig::reopen
  // reopens a lost interface: then compare readiness().handles again); the wait limit does not.
  for (rtcap::WaitHandle h : engine.readiness().handles) {
    ev.data.fd = static_cast<int>(h);
    epoll_ctl(epfd, EPOLL_CTL_ADD, static_cast<int>(h), &ev);
  }

  std::uint64_t packets = 0, bytes = 0, ticks = 0;
  auto on_batch = [&](const rtcap::Batch& batch) {  // a view, valid during the call
    for (rtcap::PacketView p : batch) {
      ++packets;
      bytes += p.bytes.size();
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!engine.done()) {
    if (std::chrono::steady_clock::now() >= deadline) engine.request_stop();
    // Ask before every wait: libpcap's required timeout, rtcap's statistics read and immediate
    // mode's coalescing window all shorten it.
    const std::int64_t max_wait_us = engine.readiness().max_wait_us;
    const int timeout_ms = max_wait_us < 0 ? 100 : static_cast<int>((max_wait_us + 999) / 1000);
    epoll_event events[8];
    const int n = epoll_wait(epfd, events, 8, timeout_ms < 100 ? timeout_ms : 100);
    bool capture_ready = n == 0;  // the wait limit passed: dispatch anyway
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == timer) {
        std::uint64_t expirations = 0;
        if (read(timer, &expirations, sizeof expirations) == sizeof expirations)
          ticks += expirations;
      } else {
        capture_ready = true;
      }
    }
    if (capture_ready) (void)engine.dispatch(on_batch);  // may deliver nothing: that is fine
  }
  close(timer);
  close(epfd);

  const rtcap::CaptureStats s = engine.stats();
  std::printf(
      "packets=%llu bytes=%llu ticks=%llu captured=%llu kernel_dropped=%llu "
      "latency_p99_ns=%llu\n",
      (unsigned long long)packets, (unsigned long long)bytes, (unsigned long long)ticks,
      (unsigned long long)s.packets_captured, (unsigned long long)s.kernel_dropped(),
      (unsigned long long)s.latency_ns.percentile(0.99));
  if (auto f = engine.failure()) {
    std::fprintf(stderr, "inline_capture: %s\n", f->message.c_str());
    return 1;
  }
  return packets == s.packets_captured ? 0 : 1;
}
