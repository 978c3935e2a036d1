// The wake-up probe of `rtcap bench`: what one sleep and wake-up costs this machine in CPU time.
//
// Every capture design that sleeps between batches pays it once per wake-up, whatever it does
// with the packets, so (wake-ups per packet) x (this cost) is a floor under its CPU per packet.
// On bare metal a wake-up costs a few microseconds; in a virtual machine, where halting an idle
// CPU, re-arming its timer and signalling another CPU are exits to the hypervisor, it can cost
// ten times that, and then the floor, not rtcap's own code, decides the CPU column.
//
// The probe uses the engine's own pieces: the capture thread's preparation (timer slack), its
// CPU clock, and the Doorbell it hands batches over with.
#include <atomic>
#include <thread>
#include <vector>

#include "platform/thread.hpp"
#include "platform/word_wait.hpp"
#include "bench/bench.hpp"
#include "engine/doorbell.hpp"

namespace rtcap::tool {
namespace {

constexpr auto kSleep = std::chrono::milliseconds(1);  // the default batched timeout's period

constexpr int kProbes = 3;

// One thread sleeps and wakes `n` times: CPU per wake-up, µs.
double probe_sleep(int n) {
  double result = 0;
  std::thread t([&] {
    platform::prepare_capture_thread();
    const std::int64_t start = platform::thread_cpu_ns();
    for (int i = 0; i < n; ++i) std::this_thread::sleep_for(kSleep);
    result = double(platform::thread_cpu_ns() - start) / 1e3 / n;
  });
  t.join();
  return result;
}

// The engine's hand-off: a thread wakes every 1 ms and rings a Doorbell that a second thread
// sleeps on. CPU per cycle of each, µs.
std::pair<double, double> probe_handoff(int n) {
  std::atomic<std::uint32_t> published{0};
  std::atomic<bool> done{false};
  detail::Doorbell bell;
  double waker = 0, woken = 0;
  std::thread consumer([&] {
    const std::int64_t start = platform::thread_cpu_ns();
    std::uint32_t seen = 0;
    while (!done.load()) {
      bell.wait_for([&] { return published.load() != seen || done.load(); },
                    std::chrono::milliseconds(100));
      seen = published.load();
    }
    woken = double(platform::thread_cpu_ns() - start) / 1e3 / n;
  });
  std::thread producer([&] {
    platform::prepare_capture_thread();
    const std::int64_t start = platform::thread_cpu_ns();
    for (int i = 0; i < n; ++i) {
      std::this_thread::sleep_for(kSleep);
      published.fetch_add(1);
      bell.ring();
    }
    waker = double(platform::thread_cpu_ns() - start) / 1e3 / n;
    done.store(true);
    bell.ring();
  });
  producer.join();
  consumer.join();
  return {waker, woken};
}

}  // namespace

WakeCost measure_wake_cost(int wakeups_per_probe) {
  std::vector<double> sleep, waker, woken;
  for (int i = 0; i < kProbes; ++i) {
    sleep.push_back(probe_sleep(wakeups_per_probe));
    const auto [w, c] = probe_handoff(wakeups_per_probe);
    waker.push_back(w);
    woken.push_back(c);
  }
  return WakeCost{median(sleep), median(waker), median(woken), wakeups_per_probe, kProbes};
}

}  // namespace rtcap::tool
