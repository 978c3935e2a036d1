// The engine end to end on a capture file (no privileges): -r goes through the same batches,
// rings and consumer API as live capture.
#include <gtest/gtest.h>

#include <set>

#include "backend/pcap_backend.hpp"
#include "rtcap/engine.hpp"

#ifndef RTCAP_SOURCE_DIR
#define RTCAP_SOURCE_DIR "."
#endif

namespace {

const char* kSample = RTCAP_SOURCE_DIR "/tests/data/rtp-12streams-125us.pcap";

struct Drained {
  std::uint64_t packets = 0, batches = 0;
  std::set<std::int64_t> timestamps;
  rtcap::CaptureStats stats;
  rtcap::StopReason reason = rtcap::StopReason::kRunning;
};

Drained drain(const rtcap::CaptureConfig& config) {
  auto engine = rtcap::Engine::open(config);
  EXPECT_TRUE(engine.has_value()) << (engine ? "" : engine.error().message);
  Drained d;
  if (!engine) return d;
  (*engine)->start();
  while (!(*engine)->done()) {
    if (const rtcap::Batch* b = (*engine)->next_batch(std::chrono::milliseconds(100))) {
      ++d.batches;
      for (rtcap::PacketView p : *b) {
        ++d.packets;
        d.timestamps.insert(p.ts_ns);
      }
      (*engine)->release(b);
    }
  }
  d.stats = (*engine)->stats();
  d.reason = (*engine)->stop_reason();
  return d;
}

}  // namespace

TEST(EngineFile, ReadsEveryPacketThroughBatches) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  c.batch_packets = 100;  // forces 12 batches
  c.pool_batches = 2;     // and forces the capture thread to wait for released batches
  const Drained d = drain(c);
  EXPECT_EQ(d.packets, 1200u);
  EXPECT_EQ(d.stats.packets_captured, 1200u);
  EXPECT_EQ(d.stats.packets_delivered, 1200u);
  EXPECT_EQ(d.stats.app_dropped_packets, 0u);  // files never drop: the reader waits
  EXPECT_GE(d.batches, 12u);
  EXPECT_EQ(d.reason, rtcap::StopReason::kEndOfFile);
}

TEST(EngineFile, CountAndFilterApply) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  c.max_packets = 250;
  EXPECT_EQ(drain(c).packets, 250u);
  c.max_packets = 0;
  c.filter = "udp dst port 5004";  // stream 0 of 12
  EXPECT_EQ(drain(c).packets, 100u);
}

TEST(EngineFile, NanosecondTimestampsKeepMicrosecondFileValues) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  const Drained d = drain(c);
  ASSERT_FALSE(d.timestamps.empty());
  for (std::int64_t ts : d.timestamps) EXPECT_EQ(ts % 1000, 0) << "a µs file read as ns";
}

TEST(EngineOpen, ErrorsAreTypedAndActionable) {
  rtcap::CaptureConfig c;
  auto none = rtcap::Engine::open(c);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, rtcap::ErrorCode::kBadConfig);

  c.read_file = "/nonexistent/file.pcap";
  auto missing = rtcap::Engine::open(c);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, rtcap::ErrorCode::kIo);
  EXPECT_NE(missing.error().message.find("/nonexistent/file.pcap"), std::string::npos);

  c.read_file = kSample;
  c.filter = "udp port";
  auto bad = rtcap::Engine::open(c);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, rtcap::ErrorCode::kBadFilter);
  EXPECT_NE(bad.error().message.find("bad filter expression 'udp port'"), std::string::npos);

  c.filter.clear();
  c.snaplen = 300000;
  EXPECT_EQ(rtcap::Engine::open(c).error().code, rtcap::ErrorCode::kBadConfig);

  // A coalescing window only means something in immediate mode.
  c.snaplen = rtcap::kMaxSnaplen;
  c.coalesce_us = 100;
  auto window = rtcap::Engine::open(c);
  ASSERT_FALSE(window);
  EXPECT_EQ(window.error().code, rtcap::ErrorCode::kBadConfig);
  EXPECT_NE(window.error().message.find("--immediate-mode only"), std::string::npos);
  c.immediate_mode = true;
  EXPECT_TRUE(rtcap::Engine::open(c)) << "immediate mode takes a window";
}

TEST(WidenedStats, SurvivesThe32BitWrap) {
  rtcap::backend::WidenedStats w;
  struct pcap_stat raw {};
  raw.ps_recv = 0xfffffff0u;
  w.update(raw);
  raw.ps_recv = 0x10u;  // wrapped: 0x20 more packets
  raw.ps_drop = 3;
  w.update(raw);
  EXPECT_EQ(w.received, 0xfffffff0ull + 0x20ull);
  EXPECT_EQ(w.kernel_dropped, 3u);
}
