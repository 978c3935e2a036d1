// Prometheus metrics from an embedding program: the engine captures inline on this thread, and
// rtcap::MetricsServer (librtcap-metrics-server) serves GET /metrics on its own threads; this
// thread publishes the counters about once a second, and once more at the end. After the
// capture it keeps serving for `linger` seconds, so that a scraper reads the final counters.
// Usage: metrics_capture (-i IFACE | -r FILE) [seconds] [linger] [listen]
//   listen: HOST:PORT, loopback only (default 127.0.0.1:0: a free port, printed on stderr)
#include <rtcap/engine.hpp>
#include <rtcap/metrics_server.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s (-i IFACE | -r FILE) [seconds] [linger] [listen]\n", argv[0]);
    return 2;
  }
  rtcap::CaptureConfig config;
  if (std::string(argv[1]) == "-r")
    config.read_file = argv[2];
  else
    config.interfaces.push_back(argv[2]);
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  const int linger = argc > 4 ? std::atoi(argv[4]) : 0;
  const std::string listen = argc > 5 ? argv[5] : "127.0.0.1:0";

  // Bound before the capture starts: a busy or refused address is an error now, not later.
  auto server = rtcap::MetricsServer::start(listen);
  if (!server) {
    std::fprintf(stderr, "metrics_capture: %s\n", server.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "metrics at http://%s/metrics\n", (*server)->address().c_str());

  auto opened = rtcap::Engine::open(config);
  if (!opened) {
    std::fprintf(stderr, "metrics_capture: %s\n", opened.error().message.c_str());
    return 1;
  }
  rtcap::Engine& engine = **opened;  // inline delivery: capture runs in poll() below
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  auto next_publish = Clock::now();
  std::uint64_t packets = 0;
  while (!engine.done()) {
    if (Clock::now() >= deadline) engine.request_stop();
    auto r = engine.poll(std::chrono::milliseconds(100),
                         [&](const rtcap::Batch& batch) { packets += batch.size(); });
    if (!r) {
      std::fprintf(stderr, "metrics_capture: %s\n", r.error().message.c_str());
      return 1;
    }
    if (Clock::now() >= next_publish) {  // never per packet: rendering costs tens of microseconds
      (*server)->publish(engine.stats(), nullptr, nullptr);
      next_publish += std::chrono::seconds(1);
    }
  }
  const rtcap::CaptureStats stats = engine.stats();
  (*server)->publish(stats, nullptr, nullptr);
  std::fprintf(stderr, "published packets=%llu\n", (unsigned long long)stats.packets_captured);
  std::this_thread::sleep_for(std::chrono::seconds(linger));
  std::printf("packets=%llu captured=%llu scrapes=%llu\n", (unsigned long long)packets,
              (unsigned long long)stats.packets_captured, (unsigned long long)(*server)->scrapes());
  if (auto f = engine.failure()) {
    std::fprintf(stderr, "metrics_capture: %s\n", f->message.c_str());
    return 1;
  }
  return packets == stats.packets_captured ? 0 : 1;
}
