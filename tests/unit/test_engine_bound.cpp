// poll(timeout) returns within its timeout plus at most one batch's callback, however much the
// source still holds; what it leaves is delivered by the next calls, none of it lost. A capture
// file of 40,000-byte packets with batch_bytes at its minimum (64 KiB) stands in for a busy
// interface: every packet fills a batch, so one read would otherwise run a callback per packet.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "rtcap/engine.hpp"

namespace {

constexpr int kPackets = 400;

// A classic pcap file (microseconds, Ethernet) of `count` packets of `size` bytes.
std::string write_big_packets(int count, std::uint32_t size) {
  const std::string path =
      (std::filesystem::temp_directory_path() /
       ("rtcap-bound-" +
        std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".pcap"))
          .string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  const std::uint32_t header[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65536, 1};  // v2.4 LE halves
  std::fwrite(header, sizeof header, 1, f);
  std::vector<std::uint8_t> data(size, 0x5a);
  for (int i = 0; i < count; ++i) {
    const std::uint32_t record[4] = {1700000000u + std::uint32_t(i / 1000),
                                     std::uint32_t(i % 1000) * 1000u, size, size};
    std::fwrite(record, sizeof record, 1, f);
    std::fwrite(data.data(), 1, data.size(), f);
  }
  std::fclose(f);
  return path;
}

struct BigFile {
  std::string path = write_big_packets(kPackets, 40000);
  ~BigFile() { std::filesystem::remove(path); }
};

std::unique_ptr<rtcap::Engine> open_big(const BigFile& file) {
  rtcap::CaptureConfig c;
  c.read_file = file.path;
  c.batch_packets = kPackets;  // one read takes the whole file...
  c.batch_bytes = 65536;       // ...and each packet fills a batch (two do not fit)
  auto e = rtcap::Engine::open(c);
  EXPECT_TRUE(e) << (e ? "" : e.error().message);
  return e ? std::move(*e) : nullptr;
}

using ms = std::chrono::milliseconds;

}  // namespace

TEST(EngineBound, PollReturnsWithinItsTimeoutPlusOneSlowCallback) {
  BigFile file;
  auto e = open_big(file);
  ASSERT_TRUE(e);
  int callbacks = 0;
  std::uint64_t delivered = 0;
  auto slow = [&](const rtcap::Batch& b) {
    ++callbacks;
    delivered += b.size();
    std::this_thread::sleep_for(ms(50));
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto r = e->poll(ms(100), slow);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r) << r.error().message;
  // 100 ms + one 50 ms callback, and scheduling slack on a loaded 2-vCPU machine.
  EXPECT_LT(took, ms(100 + 50 + 150)) << callbacks << " callbacks";
  EXPECT_LE(callbacks, 3);
  EXPECT_EQ(*r, delivered);

  // A callback longer than the whole timeout: the call ends after it.
  callbacks = 0;
  r = e->poll(ms(10), slow);
  ASSERT_TRUE(r);
  EXPECT_EQ(callbacks, 1);

  // dispatch() is the same step with a zero timeout: one callback per call.
  callbacks = 0;
  auto d = e->dispatch(slow);
  ASSERT_TRUE(d);
  EXPECT_EQ(callbacks, 1);

  // Nothing was lost: the rest comes with the next calls.
  while (!e->done()) {
    auto more = e->poll(ms(100), [&](const rtcap::Batch& b) { delivered += b.size(); });
    ASSERT_TRUE(more);
  }
  EXPECT_EQ(delivered, std::uint64_t(kPackets));
  EXPECT_EQ(e->stats().packets_captured, std::uint64_t(kPackets));
  EXPECT_EQ(e->stats().packets_delivered, std::uint64_t(kPackets));
  EXPECT_EQ(e->stop_reason(), rtcap::StopReason::kEndOfFile);
}

TEST(EngineBound, AStopIsDeliveredAcrossBoundedCalls) {
  BigFile file;
  auto e = open_big(file);
  ASSERT_TRUE(e);
  std::uint64_t delivered = 0;
  auto r = e->poll(ms(1), [&](const rtcap::Batch& b) {
    delivered += b.size();
    std::this_thread::sleep_for(ms(5));
  });
  ASSERT_TRUE(r);
  e->request_stop();
  int calls = 0;
  while (!e->done() && calls++ < 1000) {
    auto more = e->poll(ms(1), [&](const rtcap::Batch& b) { delivered += b.size(); });
    ASSERT_TRUE(more);
  }
  EXPECT_TRUE(e->done());
  EXPECT_EQ(e->stop_reason(), rtcap::StopReason::kRequested);
  // Everything captured was delivered, whatever the stop left unread in the file.
  EXPECT_EQ(delivered, e->stats().packets_captured);
  EXPECT_EQ(e->stats().packets_delivered, e->stats().packets_captured);
}
