// Threaded delivery: rtcap's capture thread fills batches and hands them to this thread through
// a lock-free ring; a slow consumer (a disk, heavy analysis) never stalls capture, and what the
// pool cannot hold is counted (app_dropped_packets). Usage: threaded_capture (-i IFACE | -r FILE)
// [seconds] [filter]
#include <rtcap/engine.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s (-i IFACE | -r FILE) [seconds] [filter]\n", argv[0]);
    return 2;
  }
  rtcap::CaptureConfig config;
  if (std::string(argv[1]) == "-r")
    config.read_file = argv[2];
  else
    config.interfaces.push_back(argv[2]);
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  if (argc > 4) config.filter = argv[4];
  config.delivery = rtcap::Delivery::kThreaded;

  auto opened = rtcap::Engine::open(config);
  if (!opened) {
    std::fprintf(stderr, "threaded_capture: %s\n", opened.error().message.c_str());
    return 1;
  }
  rtcap::Engine& engine = **opened;
  for (const auto& w : engine.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (auto started = engine.start(); !started) {
    std::fprintf(stderr, "threaded_capture: %s\n", started.error().message.c_str());
    return 1;
  }

  // The application's consumer thread (here: main). Batches come with no copy and no lock; a
  // BatchRef gives its batch back to the pool when it goes out of scope.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::uint64_t packets = 0, bytes = 0;
  while (!engine.done()) {
    if (std::chrono::steady_clock::now() >= deadline) engine.request_stop();
    if (rtcap::BatchRef batch = engine.next_batch(std::chrono::milliseconds(50))) {
      for (rtcap::PacketView p : *batch) {
        ++packets;
        bytes += p.bytes.size();
      }
    }
  }
  const rtcap::CaptureStats s = engine.stats();
  std::printf(
      "packets=%llu bytes=%llu captured=%llu kernel_dropped=%llu app_dropped=%llu "
      "latency_p99_ns=%llu\n",
      (unsigned long long)packets, (unsigned long long)bytes,
      (unsigned long long)s.packets_captured, (unsigned long long)s.kernel_dropped(),
      (unsigned long long)s.app_dropped_packets, (unsigned long long)s.latency_ns.percentile(0.99));
  if (auto f = engine.failure()) {
    std::fprintf(stderr, "threaded_capture: %s\n", f->message.c_str());
    return 1;
  }
  return packets == s.packets_captured ? 0 : 1;
}
