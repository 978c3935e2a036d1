// A forged sequence jump with a consistent RTP timestamp is not loss: the arrival clock says how
// many packets could have been sent since the last one (rtp_stats.hpp, packet_times_elapsed).
#include <gtest/gtest.h>

#include <cstdint>

#include "analysis/rtp_stats.hpp"
#include "analysis_frames.hpp"
#include "rtcap/analysis.hpp"

namespace rtcap {
namespace {

using analysis::packet_times_elapsed;
using analysis::SeqTracker;
using analysis::SeqVerdict;

Bytes frame(const Rtp& r) {
  V4 v;
  v.src = 0xC6120001;
  v.dst = 0xC6130002;
  return ether(0x0800, ipv4(v, udp(5004, 5004, rtp(r))));
}

// n packets, ts step `ticks`, arrival step `gap_ns`; returns the next arrival time.
std::int64_t feed(StreamTracker& t, int n, std::uint32_t seq0, std::uint32_t ts0,
                  std::uint32_t ticks, std::int64_t t0, std::int64_t gap_ns) {
  for (int i = 0; i < n; ++i) {
    Rtp r;
    r.seq = static_cast<std::uint16_t>(seq0 + std::uint32_t(i));
    r.ts = ts0 + std::uint32_t(i) * ticks;
    t.add(view(frame(r), t0 + i * gap_ns), 1);
  }
  return t0 + n * gap_ns;
}

TEST(SeqForgedJump, TimeBoundsTheLossAJumpMayClaim) {
  EXPECT_EQ(packet_times_elapsed(1'000'000, 48000, 0), SeqTracker::kTimeUnknown);
  // 0.5 s at 125 us packets: 4,000 packet times, plus the slack (1% + 20 ms + 2).
  EXPECT_EQ(packet_times_elapsed(500'000'000, 48000, 6), 4000u + 40u + 160u + 2u);
  EXPECT_EQ(packet_times_elapsed(-5, 48000, 48), 20u + 2u);
  // No overflow over a century at an absurd rate.
  EXPECT_GT(packet_times_elapsed(3'155'760'000'000'000'000, 0xFFFFFFFFu, 1),
            std::uint64_t{1} << 62);
}

TEST(SeqForgedJump, ThatTimeCannotHoldIsARestartNotLoss) {
  SeqTracker t;
  t.start(100);
  for (int s = 100; s < 200; ++s) t.update(static_cast<std::uint16_t>(s), 1, 10);
  ASSERT_EQ(t.lost(), 0u);
  // +44,000,000 packets with a consistent timestamp, 1 ms after the last one (1 ms packets).
  const std::uint64_t jump = 44'000'000;
  const auto forged = static_cast<std::uint16_t>(199 + jump);
  EXPECT_EQ(t.update(forged, jump, packet_times_elapsed(1'000'000, 48000, 48)),
            SeqVerdict::kBadJump);
  EXPECT_EQ(t.lost(), 0u);
  // The real stream goes on: nothing lost.
  for (int s = 200; s < 300; ++s) t.update(static_cast<std::uint16_t>(s), 1, 10);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.loss_jumps(), 0u);
  // A small forged jump (below MAX_DROPOUT) is held to the same rule.
  EXPECT_EQ(t.update(static_cast<std::uint16_t>(299 + 2000), 2000, 30), SeqVerdict::kBadJump);
  EXPECT_EQ(t.lost(), 0u);
  // A jump confirmed by its successor is a restart, still not loss.
  EXPECT_EQ(t.update(static_cast<std::uint16_t>(299 + 2001), 2001, 30), SeqVerdict::kRestart);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.restarts(), 1u);
}

TEST(SeqForgedJump, TrackerIgnoresAForgedJumpAndCountsARealOutage) {
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  {
    StreamTracker t;
    std::int64_t at = feed(t, 1000, 0, 0, 6, t0, 125'000);
    // One forged packet: sequence +44,000,000, timestamp consistent, 125 us later.
    const std::uint32_t jump = 44'000'000;
    at = feed(t, 1, 999 + jump, 999 * 6 + jump * 6, 6, at, 125'000);
    feed(t, 1000, 1000, 1000 * 6, 6, at, 125'000);
    const TrackerSnapshot snap = t.snapshot();  // the summary lives in it
    const StreamSummary& s = snap.streams.at(0);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.loss_jumps, 0u);
  }
  {
    // Timestamp step 1 (a ptime of one tick): a jump of 2^31 - 60,437 ticks, forged.
    StreamTracker t;
    std::int64_t at = feed(t, 100, 0, 0, 1, t0, 125'000);
    const std::uint32_t jump = 2'147'423'211;
    at = feed(t, 1, 99 + jump, 99 + jump, 1, at, 125'000);
    feed(t, 100, 100, 100, 1, at, 125'000);
    EXPECT_EQ(t.snapshot().streams.at(0).lost, 0u);
  }
  {
    // A real 0.5 s outage at 125 us packets is still 4,000 lost.
    StreamTracker t;
    feed(t, 1000, 0, 0, 6, t0, 125'000);
    feed(t, 1000, 5000, 5000 * 6, 6, t0 + 5000 * 125'000, 125'000);
    EXPECT_EQ(t.snapshot().streams.at(0).lost, 4000u);
  }
}

}  // namespace
}  // namespace rtcap
