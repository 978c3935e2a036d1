// The advisor on a consumer that stalls the capture thread (the fake source, no root): the kernel
// drops while the capture thread waits in the batch callback (inline) or for a free batch
// (threaded, block). The advice names the consumer (consumer-stalls), not bursts or the buffer.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "engine/fake_source.hpp"
#include "rtcap/advisor.hpp"
#include "rtcap/engine.hpp"

namespace {

using rtcap::detail::FakeKernel;
using std::chrono::milliseconds;

bool has(const std::vector<rtcap::Advice>& advice, const char* id) {
  return std::any_of(advice.begin(), advice.end(),
                     [&](const rtcap::Advice& a) { return a.id == id; });
}

// Only the stall rule among those that explain kernel drops.
void expect_the_consumer_named(const rtcap::CaptureStats& s, const rtcap::CaptureConfig& c,
                               const char* setting, const char* value) {
  ASSERT_GT(s.kernel_dropped(), 0u);
  EXPECT_GE(double(s.callback_ns), 0.5 * double(s.elapsed_ns));
  rtcap::Advisor advisor;
  rtcap::AdvisorInput in;
  in.stats = s;
  in.config = c;
  const auto fired = advisor.update(in);
  ASSERT_TRUE(has(fired, rtcap::advice_id::kConsumerStalls));
  EXPECT_FALSE(has(fired, rtcap::advice_id::kBurstDrops));
  EXPECT_FALSE(has(fired, rtcap::advice_id::kReaderTooSlow));
  EXPECT_FALSE(has(fired, rtcap::advice_id::kDispatchFillsBuffer));
  for (const auto& a : fired) {
    if (a.id != rtcap::advice_id::kConsumerStalls) continue;
    ASSERT_EQ(a.settings.size(), 1u);
    EXPECT_EQ(a.settings[0].setting, setting);
    EXPECT_EQ(a.settings[0].value, value);
    for (const auto& change : a.settings) EXPECT_NE(change.setting, "buffer_kib");
  }
}

TEST(AdvisorConsumerStall, ASlowInlineCallbackIsNamedNotTheBuffer) {
  auto kernel = std::make_shared<FakeKernel>(1, 256);
  rtcap::CaptureConfig c;
  c.interfaces = {"fake0"};
  auto e = rtcap::detail::open_engine(c, std::make_unique<rtcap::detail::FakeSource>(kernel));
  ASSERT_TRUE(e) << e.error().message;
  kernel->inject(0, 100);
  // Each batch's callback blocks 30 ms (a write() to a full pipe) while 400 packets arrive at a
  // ring of 256: the kernel drops what does not fit.
  for (int i = 0; i < 8; ++i) {
    auto r = (*e)->poll(milliseconds(100), [&](const rtcap::Batch&) {
      kernel->inject(0, 400);
      std::this_thread::sleep_for(milliseconds(30));
    });
    ASSERT_TRUE(r) << r.error().message;
  }
  expect_the_consumer_named((*e)->stats_now(milliseconds(100)), c, "delivery", "threaded");
}

TEST(AdvisorConsumerStall, AThreadedConsumerThatTakesNothingIsNamed) {
  auto kernel = std::make_shared<FakeKernel>(1, 64);
  rtcap::CaptureConfig c;
  c.interfaces = {"fake0"};
  c.delivery = rtcap::Delivery::kThreaded;
  c.overflow = rtcap::OverflowPolicy::kBlock;
  c.pool_batches = 2;
  c.batch_packets = 16;
  auto e = rtcap::detail::open_engine(c, std::make_unique<rtcap::detail::FakeSource>(kernel));
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_TRUE((*e)->start());
  // The pool fills, the capture thread waits for a batch, and the ring overflows meanwhile.
  for (int i = 0; i < 10; ++i) {
    kernel->inject(0, 100);
    std::this_thread::sleep_for(milliseconds(30));
  }
  // callback_ns grows while the capture thread waits: no batch given back yet.
  expect_the_consumer_named((*e)->stats_now(milliseconds(500)), c, "overflow", "drop");
}

}  // namespace
