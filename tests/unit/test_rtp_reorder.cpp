// The reorder window under forged sequence numbers: one packet far ahead of (or behind) a clean
// stream must not stall it, declare loss or start silence; a real jump (two packets continuing
// from each other) is taken.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "io/rtp_reorder.hpp"

namespace rtcap::io {
namespace {

constexpr std::uint32_t kTicks = 48;        // 1 ms at 48 kHz
constexpr std::int64_t kGapNs = 1'000'000;  // 1 ms
constexpr std::size_t kWindow = 32;

struct Delivered {
  std::uint16_t seq;
  std::uint32_t ts;
  std::uint64_t missing_run;
  std::size_t added;  // how many add() calls had been made when it came out
};

struct Harness {
  ReorderWindow w;
  std::vector<Delivered> out;
  std::size_t added = 0;
  std::uint8_t payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};

  Harness() { w.reset(kWindow, 16, 16); }
  void add(std::uint16_t seq, std::uint32_t ts, std::int64_t at) {
    ++added;
    w.add(seq, ts, at, payload, sizeof payload, [&](const ReorderWindow::Packet& p) {
      out.push_back({p.seq, p.ts, p.missing_run, added});
      return true;
    });
  }
  void genuine(std::uint16_t seq) { add(seq, 1000u + seq * kTicks, std::int64_t{seq} * kGapNs); }
};

// Every genuine packet comes out in order, at most `delay` add() calls after its own, with no
// missing run (so no silence) and no loss counted.
void expect_clean(const Harness& h, std::uint16_t first, std::uint16_t count, std::size_t delay) {
  std::vector<Delivered> genuine;
  for (const Delivered& d : h.out)
    if (d.ts == 1000u + std::uint32_t{d.seq} * kTicks) genuine.push_back(d);
  ASSERT_EQ(genuine.size(), count);
  for (std::uint16_t i = 0; i < count; ++i) {
    EXPECT_EQ(genuine[i].seq, static_cast<std::uint16_t>(first + i));
    EXPECT_EQ(genuine[i].missing_run, 0u) << "silence before packet " << genuine[i].seq;
  }
  EXPECT_EQ(h.w.counters().lost_packets, 0u);
  for (const Delivered& d : h.out) EXPECT_EQ(d.missing_run, 0u);
  std::size_t n = 0;
  for (const Delivered& d : h.out) {
    if (d.ts != 1000u + std::uint32_t{d.seq} * kTicks) continue;
    // The k-th genuine add() was call number k + (forged calls before it); allow `delay` more.
    EXPECT_LE(d.added, n + 1 + 1 + delay) << "packet " << d.seq << " held back";
    ++n;
  }
}

TEST(ReorderWindow, ForgedJumpAheadDoesNotStallTheStream) {
  for (const std::uint16_t jump : {std::uint16_t{33}, std::uint16_t{1000}, std::uint16_t{32000}}) {
    Harness h;
    for (std::uint16_t s = 0; s < 100; ++s) h.genuine(s);
    // Consistent timestamp, so only the sequence number gives it away.
    h.add(static_cast<std::uint16_t>(99 + jump), 1000u + (99u + jump) * kTicks, 99 * kGapNs + 1);
    for (std::uint16_t s = 100; s < 300; ++s) h.genuine(s);
    h.w.drain([&](const ReorderWindow::Packet& p) {
      h.out.push_back({p.seq, p.ts, p.missing_run, h.added});
      return true;
    });
    SCOPED_TRACE(jump);
    expect_clean(h, 0, 300, 0);
    EXPECT_EQ(h.out.size(), 300u) << "the forged packet was delivered";
    EXPECT_EQ(h.w.counters().late_or_duplicate, 1u);
  }
}

TEST(ReorderWindow, ForgedPacketFarBehindIsDropped) {
  Harness h;
  for (std::uint16_t s = 0; s < 100; ++s) h.genuine(s);
  h.add(static_cast<std::uint16_t>(99 - 5000), 7, 99 * kGapNs + 1);
  for (std::uint16_t s = 100; s < 200; ++s) h.genuine(s);
  expect_clean(h, 0, 200, 0);
  EXPECT_EQ(h.out.size(), 200u);
}

TEST(ReorderWindow, TwoForgedPacketsCostOneResync) {
  // Two forged packets continuing from each other look like a real jump; the genuine stream
  // then jumps back the same way and loses nothing.
  Harness h;
  for (std::uint16_t s = 0; s < 100; ++s) h.genuine(s);
  h.add(20000, 5, 99 * kGapNs + 1);
  h.add(20001, 6, 99 * kGapNs + 2);
  for (std::uint16_t s = 100; s < 200; ++s) h.genuine(s);
  h.w.drain([&](const ReorderWindow::Packet& p) {
    h.out.push_back({p.seq, p.ts, p.missing_run, h.added});
    return true;
  });
  std::vector<std::uint16_t> genuine;
  for (const Delivered& d : h.out)
    if (d.ts == 1000u + std::uint32_t{d.seq} * kTicks) genuine.push_back(d.seq);
  ASSERT_EQ(genuine.size(), 200u);
  for (std::uint16_t i = 0; i < 200; ++i) EXPECT_EQ(genuine[i], i);
}

TEST(ReorderWindow, RealJumpIsConfirmedByTheNextPacket) {
  // A sender restarting at another sequence number: every packet goes on, one held for one packet.
  Harness h;
  for (std::uint16_t s = 0; s < 50; ++s) h.genuine(s);
  for (std::uint16_t s = 40000; s < 40050; ++s) h.add(s, s * kTicks, std::int64_t{s} * kGapNs);
  h.w.drain([&](const ReorderWindow::Packet& p) {
    h.out.push_back({p.seq, p.ts, p.missing_run, h.added});
    return true;
  });
  ASSERT_EQ(h.out.size(), 100u);
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(h.out[50 + i].seq, 40000 + i);
  EXPECT_EQ(h.out[50].added, 52u);  // held until 40001 confirmed it
  EXPECT_EQ(h.w.counters().late_or_duplicate, 0u);
}

TEST(ReorderWindow, OutageLongerThanTheWindowCountsItsLoss) {
  Harness h;
  for (std::uint16_t s = 0; s < 50; ++s) h.genuine(s);
  for (std::uint16_t s = 150; s < 200; ++s) h.genuine(s);
  EXPECT_EQ(h.w.counters().lost_packets, 100u);
  ASSERT_EQ(h.out.size(), 100u);
  EXPECT_EQ(h.out[50].seq, 150);
  EXPECT_EQ(h.out[50].missing_run, 100u);
}

TEST(ReorderWindow, SmallWindowKeepsBothPacketsOfABackwardJump) {
  Harness h;
  h.w.reset(1, 16, 16);
  for (std::uint16_t s = 1000; s < 1010; ++s) h.genuine(s);
  // The sender restarts lower, and its first two packets arrive swapped.
  h.genuine(11);
  h.genuine(10);
  h.genuine(12);
  ASSERT_EQ(h.out.size(), 13u);
  EXPECT_EQ(h.out[10].seq, 10);
  EXPECT_EQ(h.out[11].seq, 11);
  EXPECT_EQ(h.out[12].seq, 12);
  EXPECT_EQ(h.w.counters().lost_packets, 0u);
}

TEST(ReorderWindow, HeldPacketSurvivesTheSlotsGrowing) {
  // The packet confirming a jump is larger than the slots: they grow, the held one moves along.
  ReorderWindow w;
  w.reset(4, 8, 64);
  std::vector<std::vector<std::uint8_t>> out;
  const auto take = [&](const ReorderWindow::Packet& p) {
    out.emplace_back(p.payload, p.payload + p.bytes);
    return true;
  };
  const std::vector<std::uint8_t> small = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<std::uint8_t> large(40, 9);
  w.add(0, 0, 0, small.data(), small.size(), take);
  w.add(5000, 0, 1, small.data(), small.size(), take);
  w.add(5001, 0, 2, large.data(), large.size(), take);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1], small);
  EXPECT_EQ(out[2], large);
}

}  // namespace
}  // namespace rtcap::io
