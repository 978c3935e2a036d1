// The engine end to end on a capture file (no privileges): -r goes through the same batches,
// rings and consumer API as live capture.
#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <type_traits>
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
  auto take = [&](const rtcap::Batch& b) {
    ++d.batches;
    for (rtcap::PacketView p : b) {
      ++d.packets;
      d.timestamps.insert(p.ts_ns);
    }
  };
  if (config.delivery == rtcap::Delivery::kInline) {
    while (!(*engine)->done()) (void)(*engine)->poll(std::chrono::milliseconds(100), take);
  } else {
    EXPECT_TRUE((*engine)->start());
    while (!(*engine)->done())
      if (rtcap::BatchRef b = (*engine)->next_batch(std::chrono::milliseconds(100))) take(*b);
  }
  d.stats = (*engine)->stats();
  d.reason = (*engine)->stop_reason();
  return d;
}

}  // namespace

class EngineFileBoth : public ::testing::TestWithParam<rtcap::Delivery> {};
INSTANTIATE_TEST_SUITE_P(Delivery, EngineFileBoth,
                         ::testing::Values(rtcap::Delivery::kInline, rtcap::Delivery::kThreaded),
                         [](const auto& info) {
                           return info.param == rtcap::Delivery::kInline ? "inline" : "threaded";
                         });

TEST_P(EngineFileBoth, ReadsEveryPacketThroughBatches) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  c.delivery = GetParam();
  c.batch_packets = 100;  // forces 12 batches
  c.pool_batches = 2;     // threaded: forces the capture thread to wait for released batches
  const Drained d = drain(c);
  EXPECT_EQ(d.packets, 1200u);
  EXPECT_EQ(d.stats.packets_captured, 1200u);
  EXPECT_EQ(d.stats.packets_delivered, 1200u);
  EXPECT_EQ(d.stats.app_dropped_packets, 0u);  // files never drop: the reader waits
  EXPECT_GE(d.batches, 12u);
  EXPECT_EQ(d.reason, rtcap::StopReason::kEndOfFile);
}

TEST_P(EngineFileBoth, CountAndFilterApply) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  c.delivery = GetParam();
  c.max_packets = 250;
  const Drained counted = drain(c);
  EXPECT_EQ(counted.packets, 250u);
  EXPECT_EQ(counted.reason, rtcap::StopReason::kCountReached);
  c.max_packets = 0;
  c.filter = "udp dst port 5004";  // stream 0 of 12
  EXPECT_EQ(drain(c).packets, 100u);
}

TEST(EngineInline, ReadinessOfAFileIsAlwaysReadyAndStopWakes) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  auto engine = rtcap::Engine::open(c);
  ASSERT_TRUE(engine) << engine.error().message;
  const rtcap::Readiness r = (*engine)->readiness();
  EXPECT_EQ(r.max_wait_us, 0);
  ASSERT_EQ(r.handles.size(), 1u);  // the wake-up handle only
  std::uint64_t packets = 0;
  (void)(*engine)->dispatch([&](const rtcap::Batch& b) { packets += b.size(); });
  EXPECT_GT(packets, 0u);
  (*engine)->request_stop();
  while (!(*engine)->done())
    (void)(*engine)->dispatch([&](const rtcap::Batch& b) { packets += b.size(); });
  EXPECT_EQ((*engine)->stats().packets_delivered, packets);
  EXPECT_EQ((*engine)->stop_reason(), rtcap::StopReason::kRequested);
  EXPECT_FALSE((*engine)->failure());
}

TEST(EngineInline, BatchIsARandomAccessRange) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  c.max_packets = 10;
  auto engine = rtcap::Engine::open(c);
  ASSERT_TRUE(engine);
  std::size_t seen = 0;
  while (!(*engine)->done())
    (void)(*engine)->poll(std::chrono::milliseconds(10), [&](const rtcap::Batch& b) {
      static_assert(std::is_same_v<std::iterator_traits<rtcap::Batch::Iterator>::iterator_category,
                                   std::random_access_iterator_tag>);
      EXPECT_EQ(std::size_t(std::distance(b.begin(), b.end())), b.size());
      EXPECT_EQ((*(b.end() - 1)).ts_ns, b[b.size() - 1].ts_ns);
      EXPECT_TRUE(std::is_sorted(b.begin(), b.end(),
                                 [](const rtcap::PacketView& x, const rtcap::PacketView& y) {
                                   return x.ts_ns < y.ts_ns;
                                 }));
      seen += b.size();
    });
  EXPECT_EQ(seen, 10u);
}

TEST(EngineInline, CallbackThatThrowsStopsTheEngineWithAClearError) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  auto engine = rtcap::Engine::open(c);
  ASSERT_TRUE(engine);
  (void)(*engine)->poll(std::chrono::milliseconds(10),
                        [](const rtcap::Batch&) { throw std::runtime_error("disk on fire"); });
  EXPECT_TRUE((*engine)->done());
  ASSERT_TRUE((*engine)->failure());
  EXPECT_EQ((*engine)->failure()->code, rtcap::ErrorCode::kMisuse);
  EXPECT_NE((*engine)->failure()->message.find("disk on fire"), std::string::npos);
}

TEST(EngineThreaded, BatchRefGivesTheBatchBackWhenDestroyedOrMovedFrom) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  c.delivery = rtcap::Delivery::kThreaded;
  c.batch_packets = 100;
  c.pool_batches = 2;  // two batches only: a batch not given back would stall the reader
  auto engine = rtcap::Engine::open(c);
  ASSERT_TRUE(engine);
  ASSERT_TRUE((*engine)->start());
  std::uint64_t packets = 0;
  rtcap::BatchRef kept;
  while (!(*engine)->done()) {
    rtcap::BatchRef b = (*engine)->next_batch(std::chrono::milliseconds(100));
    if (!b) continue;
    packets += b->size();
    kept = std::move(b);  // moving gives the previously kept batch back
    EXPECT_FALSE(b);      // NOLINT(bugprone-use-after-move): moved-from is empty
  }
  kept.reset();
  kept.reset();  // twice: harmless, the batch went back once
  EXPECT_EQ(packets, 1200u);
  EXPECT_EQ((*engine)->stats().packets_delivered, 1200u);
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

  // A coalescing window only means something in immediate mode: a warning, not an error.
  c.snaplen = rtcap::kMaxSnaplen;
  c.coalesce_us = 100;
  auto window = rtcap::Engine::open(c);
  ASSERT_TRUE(window) << window.error().message;
  const auto& w = (*window)->warnings();
  EXPECT_EQ(std::count_if(w.begin(), w.end(),
                          [](const std::string& line) {
                            return line.rfind(
                                       "CaptureConfig::coalesce_us does nothing here: it "
                                       "applies with CaptureConfig::immediate_mode only",
                                       0) == 0;
                          }),
            1);
  c.immediate_mode = true;
  auto immediate = rtcap::Engine::open(c);
  ASSERT_TRUE(immediate) << "immediate mode takes a window";
  EXPECT_TRUE((*immediate)->warnings().empty());
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
