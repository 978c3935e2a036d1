// The live path without root: the engine on the fake source (src/engine/fake_source.hpp), whose
// "kernel ring" each test fills with sequence-numbered packets. Every number is delivered once,
// in order, and at the end received() == captured + every drop counter + unread_packets().
// Bounds here are one-sided (what must never exceed), never timings to meet.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/fake_source.hpp"
#include "rtcap/engine.hpp"

namespace {

using rtcap::detail::FakeKernel;
using std::chrono::milliseconds;

struct Fake {
  std::shared_ptr<FakeKernel> kernel;
  std::unique_ptr<rtcap::Engine> engine;
};

Fake open_fake(rtcap::CaptureConfig c, std::size_t ring_packets = std::size_t(1) << 20) {
  Fake f{std::make_shared<FakeKernel>(1, ring_packets), nullptr};
  c.interfaces = {"fake0"};
  auto e = rtcap::detail::open_engine(c, std::make_unique<rtcap::detail::FakeSource>(f.kernel));
  EXPECT_TRUE(e) << (e ? "" : e.error().message);
  if (e) f.engine = std::move(*e);
  return f;
}

rtcap::CaptureConfig with(rtcap::Delivery delivery) {
  rtcap::CaptureConfig c;
  c.delivery = delivery;
  return c;
}

// Sequence numbers delivered: each once, in order from `first`.
struct Seen {
  std::uint64_t next = 0, packets = 0, batches = 0, out_of_order = 0;
  void take(const rtcap::Batch& b) {
    ++batches;
    for (const auto& p : b) {
      if (FakeKernel::sequence_of(p.bytes.data()) != next) ++out_of_order;
      next = FakeKernel::sequence_of(p.bytes.data()) + 1;
      ++packets;
    }
  }
};

// One consumer call of whichever kind the delivery has.
void consume(rtcap::Engine& e, Seen& seen, milliseconds wait = milliseconds(100)) {
  if (e.config().delivery == rtcap::Delivery::kInline) {
    auto r = e.poll(wait, [&](const rtcap::Batch& b) { seen.take(b); });
    EXPECT_TRUE(r) << r.error().message;
  } else if (rtcap::BatchRef b = e.next_batch(wait)) {
    seen.take(*b);
  }
}

void consume_until_done(rtcap::Engine& e, Seen& seen) {
  for (int i = 0; i < 2000 && !e.done(); ++i) consume(e, seen);
  EXPECT_TRUE(e.done());
}

void expect_reconciled(const rtcap::CaptureStats& s, std::int64_t unread = 0) {
  EXPECT_EQ(s.received(), s.packets_captured + s.kernel_dropped() + s.app_dropped_packets +
                              std::uint64_t(unread));
  EXPECT_EQ(s.unread_packets(), unread);
}

class EngineLive : public ::testing::TestWithParam<rtcap::Delivery> {
 protected:
  rtcap::CaptureConfig config() const { return with(GetParam()); }
  void start(rtcap::Engine& e) const {
    if (GetParam() == rtcap::Delivery::kThreaded) {
      ASSERT_TRUE(e.start());
    }
  }
};
INSTANTIATE_TEST_SUITE_P(Delivery, EngineLive,
                         ::testing::Values(rtcap::Delivery::kInline, rtcap::Delivery::kThreaded),
                         [](const auto& info) {
                           return info.param == rtcap::Delivery::kInline ? "inline" : "threaded";
                         });

TEST_P(EngineLive, EveryPacketOnceInOrderThenAStop) {
  Fake f = open_fake(config());
  ASSERT_TRUE(f.engine);
  start(*f.engine);
  Seen seen;
  for (int burst = 0; burst < 10; ++burst) {
    f.kernel->inject(0, 1000);
    for (int i = 0; i < 200 && seen.packets < std::uint64_t(burst + 1) * 1000; ++i)
      consume(*f.engine, seen);
  }
  EXPECT_EQ(seen.packets, 10000u);
  f.engine->request_stop();
  consume_until_done(*f.engine, seen);
  EXPECT_EQ(f.engine->stop_reason(), rtcap::StopReason::kRequested);
  EXPECT_EQ(seen.packets, 10000u);
  EXPECT_EQ(seen.out_of_order, 0u);
  const auto s = f.engine->stats();
  EXPECT_EQ(s.packets_delivered, 10000u);
  EXPECT_EQ(s.received(), 10000u);
  expect_reconciled(s);
}

// A stop takes what the kernel already holds before it ends (the drain after a stop).
TEST_P(EngineLive, AStopDrainsWhatTheKernelHolds) {
  Fake f = open_fake(config());
  ASSERT_TRUE(f.engine);
  start(*f.engine);
  f.kernel->inject(0, 5000);
  f.engine->request_stop();
  Seen seen;
  consume_until_done(*f.engine, seen);
  EXPECT_EQ(seen.packets, 5000u);
  EXPECT_EQ(seen.out_of_order, 0u);
  EXPECT_EQ(f.kernel->waiting(0), 0u);
  EXPECT_EQ(f.engine->stop_reason(), rtcap::StopReason::kRequested);
  expect_reconciled(f.engine->stats());
}

// -c: exactly max_packets, the first ones; the rest stays in the kernel, counted as unread.
TEST_P(EngineLive, CountStopsAtExactlyThatManyPackets) {
  auto c = config();
  c.max_packets = 250;
  Fake f = open_fake(c);
  ASSERT_TRUE(f.engine);
  start(*f.engine);
  f.kernel->inject(0, 1000);
  Seen seen;
  consume_until_done(*f.engine, seen);
  EXPECT_EQ(seen.packets, 250u);
  EXPECT_EQ(seen.next, 250u);
  EXPECT_EQ(seen.out_of_order, 0u);
  EXPECT_EQ(f.engine->stop_reason(), rtcap::StopReason::kCountReached);
  const auto s = f.engine->stats();
  EXPECT_EQ(s.packets_captured, 250u);
  EXPECT_EQ(s.received(), 1000u);
  expect_reconciled(s, 750);
}

// A stop from another thread ends a poll that waits on an idle source.
TEST_P(EngineLive, AStopFromAnotherThreadEndsAWaitingCall) {
  Fake f = open_fake(config());
  ASSERT_TRUE(f.engine);
  start(*f.engine);
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    f.engine->request_stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  Seen seen;
  consume(*f.engine, seen, milliseconds(20000));
  consume_until_done(*f.engine, seen);
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(10000));
  EXPECT_EQ(f.engine->stop_reason(), rtcap::StopReason::kRequested);
  EXPECT_EQ(seen.packets, 0u);
}

// A slow consumer with a small kernel ring: loss is counted (kernel or app drops, per the
// policy), never silent, and what is delivered is in order.
TEST_P(EngineLive, ASlowConsumerLosesCountedPacketsOnly) {
  for (auto policy : {rtcap::OverflowPolicy::kDrop, rtcap::OverflowPolicy::kBlock}) {
    auto c = config();
    c.overflow = policy;
    c.pool_batches = 2;
    c.batch_packets = 100;
    Fake f = open_fake(c, 500);
    ASSERT_TRUE(f.engine);
    start(*f.engine);
    Seen seen;
    std::atomic<bool> producing{true};
    std::thread producer([&] {
      for (int i = 0; i < 40; ++i) {
        f.kernel->inject(0, 500);
        std::this_thread::sleep_for(milliseconds(1));
      }
      producing.store(false);
    });
    while (producing.load()) {
      if (GetParam() == rtcap::Delivery::kInline) {
        (void)f.engine->poll(milliseconds(100), [&](const rtcap::Batch& b) {
          seen.take(b);
          std::this_thread::sleep_for(milliseconds(5));
        });
      } else if (rtcap::BatchRef b = f.engine->next_batch(milliseconds(100))) {
        seen.take(*b);
        std::this_thread::sleep_for(milliseconds(5));
      }
    }
    producer.join();
    f.engine->request_stop();
    consume_until_done(*f.engine, seen);
    const auto s = f.engine->stats();
    EXPECT_EQ(s.received(), 20000u);
    EXPECT_GT(s.kernel_dropped() + s.app_dropped_packets, 0u);
    if (policy == rtcap::OverflowPolicy::kBlock) {
      EXPECT_EQ(s.app_dropped_packets, 0u);
    }
    EXPECT_EQ(seen.packets, s.packets_captured);
    EXPECT_EQ(s.packets_delivered, s.packets_captured);
    expect_reconciled(s);
  }
}

// Threaded hold-back: while the consumer has a batch waiting, the capture thread keeps filling
// the next one instead of publishing a batch per drain.
TEST(EngineLiveThreaded, HoldsBackWhileTheConsumerIsBusy) {
  Fake f = open_fake(with(rtcap::Delivery::kThreaded));
  ASSERT_TRUE(f.engine);
  ASSERT_TRUE(f.engine->start());
  auto captured = [&] { return f.engine->stats().packets_captured; };
  for (std::uint64_t burst = 1; burst <= 3; ++burst) {
    f.kernel->inject(0, 100);
    for (int i = 0; i < 5000 && captured() < burst * 100; ++i)
      std::this_thread::sleep_for(milliseconds(1));
    std::this_thread::sleep_for(milliseconds(20));  // the drain's hand-over
  }
  ASSERT_EQ(captured(), 300u);
  Seen seen;
  while (seen.packets < 300) {
    rtcap::BatchRef b = f.engine->next_batch(milliseconds(2000));
    ASSERT_TRUE(b);
    seen.take(*b);
  }
  EXPECT_LT(seen.batches, 3u);  // three drains, at most two batches
  EXPECT_EQ(seen.out_of_order, 0u);
  f.engine->request_stop();
  consume_until_done(*f.engine, seen);
  EXPECT_EQ(seen.packets, 300u);
}

// Threaded, block policy, a consumer holding every batch: the capture thread waits, and the
// kernel's drops show in stats_now() meanwhile; none is counted as an app drop.
TEST(EngineLiveThreaded, BlockShowsKernelDropsLiveWhileTheConsumerStalls) {
  auto c = with(rtcap::Delivery::kThreaded);
  c.overflow = rtcap::OverflowPolicy::kBlock;
  c.pool_batches = 2;
  c.batch_packets = 100;
  c.stats_interval_ms = 10;
  Fake f = open_fake(c, 500);
  ASSERT_TRUE(f.engine);
  ASSERT_TRUE(f.engine->start());
  f.kernel->inject(0, 200);
  std::vector<rtcap::BatchRef> held;
  while (held.size() < 2) {
    rtcap::BatchRef b = f.engine->next_batch(milliseconds(2000));
    ASSERT_TRUE(b);
    held.push_back(std::move(b));
  }
  f.kernel->inject(0, 2000);  // one batch fills, then the capture thread waits: the ring overflows
  std::uint64_t dropped = 0;
  for (int i = 0; i < 200 && dropped == 0; ++i)
    dropped = f.engine->stats_now(milliseconds(100)).kernel_dropped();
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(f.engine->stats().app_dropped_packets, 0u);
  held.clear();
  f.engine->request_stop();
  Seen seen{200, 200, 2, 0};
  consume_until_done(*f.engine, seen);
  const auto s = f.engine->stats();
  EXPECT_EQ(s.app_dropped_packets, 0u);
  EXPECT_EQ(s.received(), 2200u);
  EXPECT_EQ(seen.out_of_order, 0u);
  expect_reconciled(s);
}

// Coalescing: once traffic flows the engine drains every window instead of waking per packet.
TEST(EngineLiveInline, CoalescingDrainsPerWindowNotPerPacket) {
  auto c = with(rtcap::Delivery::kInline);
  c.immediate_mode = true;
  c.coalesce_us = 5000;
  Fake f = open_fake(c);
  ASSERT_TRUE(f.engine);
  std::atomic<bool> producing{true};
  std::thread producer([&] {  // 1,000 packets one at a time, ~200 ms
    for (int i = 0; i < 1000; ++i) {
      f.kernel->inject(0, 1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    producing.store(false);
  });
  Seen seen;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000 && seen.packets < 1000; ++i) consume(*f.engine, seen);
  producer.join();
  const double windows =
      double(
          std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count()) /
      5.0;
  const auto s = f.engine->stats();
  EXPECT_EQ(seen.packets, 1000u);
  EXPECT_EQ(seen.out_of_order, 0u);
  // Per packet would be ~1,000 wake-ups; per 5 ms window, one per window that passed (a loaded
  // machine stretches the run and the windows alike), plus the waits while idle.
  EXPECT_LT(double(s.wakeups), windows * 2 + 20) << "dispatch calls " << s.dispatch_calls;
  EXPECT_LT(s.wakeups, 1000u);
}

// A threaded stats_now() waits for the capture thread; the owner destroying the engine from
// another thread meanwhile frees it only when that reader has returned.
TEST(EngineLiveThreaded, DestroyedWhileAnotherThreadWaitsInStatsNowIsSafe) {
  Fake f = open_fake(with(rtcap::Delivery::kThreaded));
  ASSERT_TRUE(f.engine);
  ASSERT_TRUE(f.engine->start());
  std::mutex m;
  std::condition_variable cv;
  bool in_stats = false, release = false;
  f.kernel->on_stats([&] {  // the capture thread's statistics read waits for the test
    std::unique_lock lock(m);
    in_stats = true;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
  });
  rtcap::Engine* raw = f.engine.get();
  std::thread reader([raw] { (void)raw->stats_now(std::chrono::seconds(20)); });
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return in_stats; }));
  }
  f.engine.reset();  // the reader is inside stats_now, waiting for that read
  EXPECT_TRUE(f.kernel->source_alive());
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  reader.join();
  EXPECT_FALSE(f.kernel->source_alive());
}

}  // namespace
