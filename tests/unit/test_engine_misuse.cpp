// The engine's preconditions: every call out of turn is refused with a typed error and capture
// goes on (ErrorCode::kBusy, kMisuse); destroying the engine from inside its own callback is
// safe (.ci/sanitizers.sh runs these under AddressSanitizer). The sample file stands in for a
// live interface: no privileges needed.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rtcap/engine.hpp"

#ifndef RTCAP_SOURCE_DIR
#define RTCAP_SOURCE_DIR "."
#endif

namespace {

const char* kSample = RTCAP_SOURCE_DIR "/tests/data/rtp-12streams-125us.pcap";
constexpr std::uint64_t kSamplePackets = 1200;  // tshark -r ... | wc -l
constexpr auto k100ms = std::chrono::milliseconds(100);

std::unique_ptr<rtcap::Engine> open_sample(rtcap::Delivery delivery,
                                           std::size_t batch_packets = 100) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  c.delivery = delivery;
  c.batch_packets = batch_packets;
  auto engine = rtcap::Engine::open(c);
  EXPECT_TRUE(engine) << (engine ? "" : engine.error().message);
  return engine ? std::move(*engine) : nullptr;
}

// Takes the rest through whichever consumer call the delivery has.
std::uint64_t drain(rtcap::Engine& e) {
  std::uint64_t n = 0;
  for (int i = 0; i < 100000 && !e.done(); ++i) {
    if (e.config().delivery == rtcap::Delivery::kInline) {
      auto r = e.poll(k100ms, [&](const rtcap::Batch& b) { n += b.size(); });
      EXPECT_TRUE(r) << r.error().message;
    } else if (rtcap::BatchRef b = e.next_batch(k100ms)) {
      n += b->size();
    }
  }
  return n;
}

bool mentions(const rtcap::Error& e, const std::string& text) {
  return e.message.find(text) != std::string::npos;
}

}  // namespace

TEST(EngineMisuse, InlineRefusesThreadedCallsAndCaptureGoesOn) {
  auto e = open_sample(rtcap::Delivery::kInline);
  ASSERT_TRUE(e);
  auto started = e->start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, rtcap::ErrorCode::kMisuse);
  EXPECT_TRUE(mentions(started.error(), "inline delivery has no capture thread"));
  rtcap::BatchRef b = e->next_batch(std::chrono::milliseconds(1));
  EXPECT_FALSE(b);
  ASSERT_NE(b.refused(), nullptr);
  EXPECT_EQ(b.refused()->code, rtcap::ErrorCode::kMisuse);
  auto no_fn = e->poll(k100ms, nullptr, nullptr);
  ASSERT_FALSE(no_fn);
  EXPECT_EQ(no_fn.error().code, rtcap::ErrorCode::kMisuse);
  EXPECT_FALSE(e->done());
  EXPECT_FALSE(e->failure());
  EXPECT_EQ(drain(*e), kSamplePackets);
  EXPECT_EQ(e->stop_reason(), rtcap::StopReason::kEndOfFile);
  EXPECT_FALSE(e->failure());
}

TEST(EngineMisuse, ThreadedRefusesOutOfTurnCallsAndCaptureGoesOn) {
  auto e = open_sample(rtcap::Delivery::kThreaded);
  ASSERT_TRUE(e);
  rtcap::BatchRef early = e->next_batch(std::chrono::milliseconds(1));
  EXPECT_FALSE(early);
  ASSERT_NE(early.refused(), nullptr);
  EXPECT_EQ(early.refused()->code, rtcap::ErrorCode::kMisuse);
  EXPECT_TRUE(mentions(*early.refused(), "start the capture thread first"));
  auto early_poll = e->poll(k100ms, [](const rtcap::Batch&) {});
  ASSERT_FALSE(early_poll);
  EXPECT_EQ(early_poll.error().code, rtcap::ErrorCode::kMisuse);
  EXPECT_FALSE(e->done());
  ASSERT_TRUE(e->start());
  auto again = e->start();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, rtcap::ErrorCode::kMisuse);
  EXPECT_TRUE(mentions(again.error(), "started twice"));
  auto dispatched = e->dispatch([](const rtcap::Batch&) {});
  ASSERT_FALSE(dispatched);
  EXPECT_EQ(dispatched.error().code, rtcap::ErrorCode::kMisuse);
  // Threaded poll is next_batch with a callback: both take from the same queue.
  std::uint64_t n = 0;
  auto polled = e->poll(k100ms, [&](const rtcap::Batch& b) { n += b.size(); });
  ASSERT_TRUE(polled) << polled.error().message;
  EXPECT_EQ(*polled, n);
  n += drain(*e);
  EXPECT_EQ(n, kSamplePackets);
  EXPECT_FALSE(e->failure());
  EXPECT_EQ(e->stop_reason(), rtcap::StopReason::kEndOfFile);
}

class EngineMisuseBoth : public ::testing::TestWithParam<rtcap::Delivery> {};
INSTANTIATE_TEST_SUITE_P(Delivery, EngineMisuseBoth,
                         ::testing::Values(rtcap::Delivery::kInline, rtcap::Delivery::kThreaded),
                         [](const auto& info) {
                           return info.param == rtcap::Delivery::kInline ? "inline" : "threaded";
                         });

TEST_P(EngineMisuseBoth, ReentryFromTheCallbackIsBusyAndCaptureGoesOn) {
  auto e = open_sample(GetParam());
  ASSERT_TRUE(e);
  if (GetParam() == rtcap::Delivery::kThreaded) {
    ASSERT_TRUE(e->start());
  }
  std::uint64_t n = 0;
  int reentered = 0;
  while (!e->done()) {
    auto r = e->poll(k100ms, [&](const rtcap::Batch& b) {
      n += b.size();
      if (reentered++ > 2) return;
      auto inner = e->poll(std::chrono::milliseconds(1), [&](const rtcap::Batch&) {
        ADD_FAILURE() << "the inner poll must not deliver";
      });
      ASSERT_FALSE(inner);
      EXPECT_EQ(inner.error().code, rtcap::ErrorCode::kBusy);
      EXPECT_TRUE(mentions(inner.error(), "from inside this engine's own batch callback"))
          << inner.error().message;
      rtcap::BatchRef taken = e->next_batch(std::chrono::milliseconds(1));
      EXPECT_FALSE(taken);
      ASSERT_NE(taken.refused(), nullptr);
      if (GetParam() == rtcap::Delivery::kThreaded) {
        EXPECT_EQ(taken.refused()->code, rtcap::ErrorCode::kBusy);
      }
      if (GetParam() == rtcap::Delivery::kInline) {
        auto d = e->dispatch([](const rtcap::Batch&) {});
        ASSERT_FALSE(d);
        EXPECT_EQ(d.error().code, rtcap::ErrorCode::kBusy);
      }
      (void)e->stats_now(std::chrono::milliseconds(10));  // allowed from the callback
    });
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_GT(reentered, 2);
  EXPECT_EQ(n, kSamplePackets);
  EXPECT_FALSE(e->failure());
  EXPECT_EQ(e->stop_reason(), rtcap::StopReason::kEndOfFile);
}

TEST_P(EngineMisuseBoth, ASecondThreadIsBusyWhileOneIsInside) {
  auto e = open_sample(GetParam());
  ASSERT_TRUE(e);
  if (GetParam() == rtcap::Delivery::kThreaded) {
    ASSERT_TRUE(e->start());
  }
  std::mutex m;
  std::condition_variable cv;
  bool inside = false, release = false;
  std::uint64_t n = 0;
  std::thread consumer([&] {
    bool first = true;
    while (!e->done()) {
      auto r = e->poll(k100ms, [&](const rtcap::Batch& b) {
        n += b.size();
        if (!first) return;
        first = false;
        std::unique_lock lock(m);
        inside = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
      });
      EXPECT_TRUE(r) << r.error().message;
    }
  });
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return inside; });
  }
  auto rival = e->poll(std::chrono::milliseconds(1), [](const rtcap::Batch&) {
    ADD_FAILURE() << "the rival poll must not deliver";
  });
  ASSERT_FALSE(rival);
  EXPECT_EQ(rival.error().code, rtcap::ErrorCode::kBusy);
  EXPECT_TRUE(mentions(rival.error(), "another thread")) << rival.error().message;
  rtcap::BatchRef taken = e->next_batch(std::chrono::milliseconds(1));
  EXPECT_FALSE(taken);
  ASSERT_NE(taken.refused(), nullptr);
  (void)e->stats_now(std::chrono::milliseconds(10));  // answers from any thread
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  consumer.join();
  EXPECT_EQ(n, kSamplePackets);
  EXPECT_FALSE(e->failure());
}

// Destroyed from inside its own callback: freed when the call returns, and the callback is not
// called again (under ASan, any use after free fails the test).
TEST_P(EngineMisuseBoth, DestroyedFromInsideItsOwnCallbackIsSafe) {
  auto e = open_sample(GetParam(), 10);  // many batches: the call would go on delivering
  ASSERT_TRUE(e);
  if (GetParam() == rtcap::Delivery::kThreaded) {
    ASSERT_TRUE(e->start());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // batches wait in the ring
  }
  int calls = 0;
  rtcap::Engine* raw = e.get();
  auto r = raw->poll(k100ms, [&](const rtcap::Batch& b) {
    ++calls;
    EXPECT_GT(b.size(), 0u);
    e.reset();
  });
  EXPECT_FALSE(e);
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(r);
  EXPECT_GT(*r, 0u);
}
