#include <gtest/gtest.h>

#include <cstdint>
#include <thread>

#include "engine/doorbell.hpp"
#include "engine/spsc_ring.hpp"
#include "rtcap/batch.hpp"

using rtcap::detail::Doorbell;
using rtcap::detail::SpscRing;

TEST(SpscRing, FillsToCapacityAndEmptiesInOrder) {
  SpscRing<int> ring(4);
  EXPECT_EQ(ring.capacity(), 4u);
  EXPECT_TRUE(ring.empty());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.try_push(i));
  EXPECT_FALSE(ring.try_push(99));
  int v = -1;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ring.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(ring.try_pop(v));
  EXPECT_TRUE(ring.empty());
}

// Two threads, many wrap-arounds: every value arrives once and in order.
TEST(SpscRing, TwoThreadStressEveryRecordOnceInOrder) {
  constexpr std::uint64_t kCount = 2'000'000;
  SpscRing<std::uint64_t> ring(64);
  Doorbell bell;
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kCount; ++i) {
      while (!ring.try_push(i)) std::this_thread::yield();
      bell.ring();
    }
  });
  std::uint64_t expected = 0, v = 0;
  while (expected < kCount) {
    if (ring.try_pop(v)) {
      ASSERT_EQ(v, expected);
      ++expected;
    } else {
      bell.wait_for([&] { return !ring.empty(); }, std::chrono::milliseconds(1));
    }
  }
  producer.join();
  EXPECT_FALSE(ring.try_pop(v));
}

// The batch pool's shape: batches go round between a free ring and a filled ring; each batch's
// records arrive intact and every packet exactly once.
TEST(SpscRing, BatchesCirculateBetweenFreeAndFilledRings) {
  constexpr int kBatches = 8;
  constexpr std::uint64_t kPackets = 500'000;
  std::vector<std::unique_ptr<rtcap::Batch>> storage;
  SpscRing<rtcap::Batch*> free_ring(kBatches), filled(kBatches);
  for (int i = 0; i < kBatches; ++i) {
    storage.push_back(std::make_unique<rtcap::Batch>(32, 32 * 8));
    ASSERT_TRUE(free_ring.try_push(storage.back().get()));
  }
  std::thread producer([&] {
    rtcap::Batch* b = nullptr;
    for (std::uint64_t i = 0; i < kPackets; ++i) {
      while (!b && !free_ring.try_pop(b)) std::this_thread::yield();
      std::uint8_t bytes[8];
      for (int k = 0; k < 8; ++k) bytes[k] = std::uint8_t(i >> (8 * k));
      if (!b->try_append(std::int64_t(i), 0, bytes, 8, 8)) {
        while (!filled.try_push(b)) std::this_thread::yield();
        b = nullptr;
        while (!free_ring.try_pop(b)) std::this_thread::yield();
        ASSERT_TRUE(b->try_append(std::int64_t(i), 0, bytes, 8, 8));
      }
    }
    if (b)
      while (!filled.try_push(b)) std::this_thread::yield();
  });
  std::uint64_t next = 0;
  while (next < kPackets) {
    rtcap::Batch* b = nullptr;
    if (!filled.try_pop(b)) {
      std::this_thread::yield();
      continue;
    }
    for (rtcap::PacketView p : *b) {
      ASSERT_EQ(p.ts_ns, std::int64_t(next));
      std::uint64_t v = 0;
      for (int k = 0; k < 8; ++k) v |= std::uint64_t(p.bytes[std::size_t(k)]) << (8 * k);
      ASSERT_EQ(v, next);
      ++next;
    }
    b->clear();
    ASSERT_TRUE(free_ring.try_push(b));
  }
  producer.join();
  EXPECT_EQ(next, kPackets);
}

TEST(Batch, AppendStopsAtRecordOrArenaLimit) {
  rtcap::Batch b(3, 10);
  const std::uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_TRUE(b.try_append(1, 0, data, 4, 60));
  EXPECT_TRUE(b.try_append(2, 1, data, 6, 6));
  EXPECT_FALSE(b.try_append(3, 0, data, 1, 1));  // arena full (10 bytes)
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].wire_len, 60u);
  EXPECT_EQ(b[1].interface_index, 1);
  EXPECT_EQ(b[1].bytes.size(), 6u);
  EXPECT_EQ(b[1].bytes[5], 6);
  b.clear();
  EXPECT_TRUE(b.empty());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.try_append(i, 0, data, 1, 1));
  EXPECT_FALSE(b.try_append(4, 0, data, 1, 1));  // records full
}
