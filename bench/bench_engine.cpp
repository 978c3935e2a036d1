// The engine's drain and hand-off per packet, without the kernel: a capture file of 100,000
// AES67-sized frames (90 bytes) read through the same on_packet -> batch -> hand-over path as
// live capture, inline (the callback on the reading thread) and threaded (the capture thread,
// the rings, next_batch). libpcap's savefile read is part of the figure; the difference between
// two builds of the engine is what to compare (before and after a change to the path).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/fake_source.hpp"
#include "rtcap/engine.hpp"

namespace {

constexpr int kPackets = 100000;
constexpr std::uint32_t kFrameBytes = 90;

// Written once per process, removed at exit: a classic pcap file (microseconds, Ethernet).
struct SampleFile {
  std::string path =
      (std::filesystem::temp_directory_path() /
       ("rtcap-bench-engine-" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".pcap"))
          .string();
  SampleFile() {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return;
    const std::uint32_t header[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 262144, 1};
    std::fwrite(header, sizeof header, 1, f);
    std::vector<std::uint8_t> frame(kFrameBytes, 0x5a);
    for (int i = 0; i < kPackets; ++i) {
      const std::uint32_t record[4] = {1700000000u + std::uint32_t(i / 8000),
                                       std::uint32_t(i % 8000) * 125u, kFrameBytes, kFrameBytes};
      std::fwrite(record, sizeof record, 1, f);
      std::fwrite(frame.data(), 1, frame.size(), f);
    }
    std::fclose(f);
  }
  ~SampleFile() { std::filesystem::remove(path); }
};

const std::string& sample_file() {
  static const SampleFile file;
  return file.path;
}

void BM_EngineDrain(benchmark::State& state, rtcap::Delivery delivery) {
  rtcap::CaptureConfig c;
  c.read_file = sample_file();
  c.delivery = delivery;
  std::uint64_t total = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto e = rtcap::Engine::open(c);
    if (!e) {
      state.SkipWithError(e.error().message.c_str());
      return;
    }
    if (delivery == rtcap::Delivery::kThreaded) (void)(*e)->start();
    state.ResumeTiming();
    std::uint64_t n = 0;
    while (!(*e)->done()) {
      if (delivery == rtcap::Delivery::kInline) {
        (void)(*e)->poll(std::chrono::milliseconds(100),
                         [&](const rtcap::Batch& b) { n += b.size(); });
      } else if (rtcap::BatchRef b = (*e)->next_batch(std::chrono::milliseconds(100))) {
        n += b->size();
      }
    }
    benchmark::DoNotOptimize(n);
    total += n;
    state.PauseTiming();
    e->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(std::int64_t(total));
}

}  // namespace

BENCHMARK_CAPTURE(BM_EngineDrain, inline, rtcap::Delivery::kInline)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EngineDrain, threaded, rtcap::Delivery::kThreaded)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

namespace {

// The same drain and hand-off on the live path (Source -> on_packet -> batch -> callback), the
// fake source's ring standing in for the kernel's: the engine's cost per packet without
// libpcap's savefile read.
void BM_EngineDrainLiveFake(benchmark::State& state, rtcap::Delivery delivery) {
  rtcap::CaptureConfig c;
  c.interfaces = {"fake0"};
  c.delivery = delivery;
  // The whole "ring" waits at the start: the capture thread must wait for the consumer, as a
  // file's reader does, not count what the pool cannot hold as dropped.
  c.overflow = rtcap::OverflowPolicy::kBlock;
  std::uint64_t total = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto kernel = std::make_shared<rtcap::detail::FakeKernel>();
    auto e = rtcap::detail::open_engine(c, std::make_unique<rtcap::detail::FakeSource>(kernel));
    if (!e) {
      state.SkipWithError(e.error().message.c_str());
      return;
    }
    kernel->inject(0, kPackets, kFrameBytes);
    if (delivery == rtcap::Delivery::kThreaded) (void)(*e)->start();
    state.ResumeTiming();
    std::uint64_t n = 0;
    while (n < std::uint64_t(kPackets)) {
      if (delivery == rtcap::Delivery::kInline) {
        (void)(*e)->poll(std::chrono::milliseconds(100),
                         [&](const rtcap::Batch& b) { n += b.size(); });
      } else if (rtcap::BatchRef b = (*e)->next_batch(std::chrono::milliseconds(100))) {
        n += b->size();
      }
    }
    benchmark::DoNotOptimize(n);
    total += n;
    state.PauseTiming();
    e->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(std::int64_t(total));
}

}  // namespace

BENCHMARK_CAPTURE(BM_EngineDrainLiveFake, inline, rtcap::Delivery::kInline)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EngineDrainLiveFake, threaded, rtcap::Delivery::kThreaded)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
