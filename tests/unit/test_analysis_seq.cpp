// RFC 3550 A.1 sequence tracking and interarrival jitter, on crafted sequences.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "analysis/rtp_stats.hpp"

namespace rtcap::analysis {
namespace {

SeqTracker feed(std::initializer_list<int> seqs) {
  SeqTracker t;
  bool first = true;
  for (int s : seqs) {
    const auto seq = static_cast<std::uint16_t>(s);
    if (first) t.start(seq);
    first = false;
    t.update(seq);
  }
  return t;
}

SeqTracker feed_range(SeqTracker t, bool started, int from, int to_inclusive) {
  for (int s = from; s <= to_inclusive; ++s) {
    const auto seq = static_cast<std::uint16_t>(s);
    if (!started) t.start(seq);
    started = true;
    t.update(seq);
  }
  return t;
}

TEST(AnalysisSeq, InOrderCountsEveryPacketOnceValidated) {
  SeqTracker t = feed_range({}, false, 1000, 1099);
  EXPECT_TRUE(t.validated());
  EXPECT_EQ(t.expected(), 100u);
  EXPECT_EQ(t.received(), 100u);
  EXPECT_EQ(t.lost(), 0u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.reordered(), 0u);
  EXPECT_EQ(t.restarts(), 0u);
}

TEST(AnalysisSeq, ProbationNeedsTwoSequentialPackets) {
  SeqTracker t;
  t.start(10);
  EXPECT_EQ(t.update(10), SeqVerdict::kProbation);
  EXPECT_FALSE(t.validated());
  EXPECT_EQ(t.expected(), 0u);
  // Not sequential: probation starts over from 20.
  EXPECT_EQ(t.update(20), SeqVerdict::kProbation);
  EXPECT_FALSE(t.validated());
  EXPECT_EQ(t.update(21), SeqVerdict::kInOrder);
  EXPECT_TRUE(t.validated());
  // Counting starts at the first packet of the successful probation run (20).
  EXPECT_EQ(t.expected(), 2u);
  EXPECT_EQ(t.received(), 2u);
  EXPECT_EQ(t.update(22), SeqVerdict::kInOrder);
  EXPECT_EQ(t.expected(), 3u);
  EXPECT_EQ(t.lost(), 0u);
}

TEST(AnalysisSeq, ProbationAcrossTheWrap) {
  SeqTracker t = feed({65535, 0, 1});
  EXPECT_EQ(t.expected(), 3u);  // base is -1 in extended terms: 65535
  EXPECT_EQ(t.lost(), 0u);
}

TEST(AnalysisSeq, SixteenBitWrapAddsACycle) {
  SeqTracker t = feed_range({}, false, 65530, 65535);
  t = feed_range(t, true, 65536, 65545);  // 0 .. 9
  EXPECT_EQ(t.cycles(), 65536u);
  EXPECT_EQ(t.max_seq(), 9);
  EXPECT_EQ(t.expected(), 16u);
  EXPECT_EQ(t.lost(), 0u);
}

TEST(AnalysisSeq, GapIsLoss) {
  SeqTracker t = feed_range({}, false, 0, 9);
  t = feed_range(t, true, 20, 29);
  EXPECT_EQ(t.expected(), 30u);
  EXPECT_EQ(t.received(), 20u);
  EXPECT_EQ(t.lost(), 10u);
}

TEST(AnalysisSeq, LongGapJustBelowMaxDropoutIsLossNotRestart) {
  SeqTracker t = feed_range({}, false, 0, 9);
  // 9 -> 3008: udelta 2999 < MAX_DROPOUT (3000), so 2998 packets are lost.
  EXPECT_EQ(t.update(3008), SeqVerdict::kInOrder);
  EXPECT_EQ(t.lost(), 2998u);
  EXPECT_EQ(t.restarts(), 0u);
}

TEST(AnalysisSeq, LargeJumpFollowedBySuccessorRestarts) {
  SeqTracker t = feed_range({}, false, 0, 99);
  EXPECT_EQ(t.update(40000), SeqVerdict::kBadJump);  // remembered, not counted
  EXPECT_EQ(t.update(40001), SeqVerdict::kRestart);  // the successor confirms the jump
  EXPECT_EQ(t.update(40002), SeqVerdict::kInOrder);
  EXPECT_EQ(t.restarts(), 1u);
  EXPECT_EQ(t.bad_seq_packets(), 1u);
  // 100 before the restart, 40001..40002 after it; 40000 itself is outside the count (A.1).
  EXPECT_EQ(t.expected(), 102u);
  EXPECT_EQ(t.received(), 102u);
  EXPECT_EQ(t.lost(), 0u);
}

TEST(AnalysisSeq, LoneLargeJumpIsIgnored) {
  SeqTracker t = feed_range({}, false, 0, 99);
  EXPECT_EQ(t.update(40000), SeqVerdict::kBadJump);
  t = feed_range(t, true, 100, 109);
  EXPECT_EQ(t.restarts(), 0u);
  EXPECT_EQ(t.bad_seq_packets(), 1u);
  EXPECT_EQ(t.expected(), 110u);
  EXPECT_EQ(t.lost(), 0u);
}

TEST(AnalysisSeq, DuplicatesMakeOnlyTheRfc3550FigureNegative) {
  SeqTracker t = feed_range({}, false, 0, 9);
  EXPECT_EQ(t.update(9), SeqVerdict::kDuplicate);  // the highest again
  EXPECT_EQ(t.update(5), SeqVerdict::kDuplicate);  // an older one again
  EXPECT_EQ(t.duplicates(), 2u);
  EXPECT_EQ(t.reordered(), 0u);
  EXPECT_EQ(t.expected(), 10u);
  EXPECT_EQ(t.received(), 12u);
  EXPECT_EQ(t.rfc3550_lost(), -2);
  EXPECT_EQ(t.lost(), 0u);  // nothing is missing: duplicates never hide or invent loss
}

TEST(AnalysisSeq, DuplicateFarBehindUsesTheUpperWindowWord) {
  SeqTracker t = feed_range({}, false, 0, 99);
  EXPECT_EQ(t.update(10), SeqVerdict::kDuplicate);  // 89 behind: bit in the second word
  EXPECT_EQ(t.duplicates(), 1u);
}

TEST(AnalysisSeq, LatePacketIsReorderedNotLost) {
  SeqTracker t = feed({0, 1, 2, 4, 3, 5});
  EXPECT_EQ(t.reordered(), 1u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.expected(), 6u);
  EXPECT_EQ(t.lost(), 0u);
  // The late packet again is a duplicate.
  EXPECT_EQ(t.update(3), SeqVerdict::kDuplicate);
}

TEST(AnalysisSeq, ReorderAcrossTheWrap) {
  SeqTracker t = feed({65533, 65534, 65535, 1, 0, 2});
  EXPECT_EQ(t.reordered(), 1u);
  EXPECT_EQ(t.expected(), 6u);
  EXPECT_EQ(t.lost(), 0u);
}

TEST(AnalysisSeq, TooLateCountsAsBadJump) {
  // More than MAX_MISORDER (100) behind: A.1 treats it as a large jump, not as a late packet.
  SeqTracker t = feed_range({}, false, 0, 49);
  t = feed_range(t, true, 51, 200);
  EXPECT_EQ(t.lost(), 1u);
  EXPECT_EQ(t.update(50), SeqVerdict::kBadJump);
  EXPECT_EQ(t.reordered(), 0u);
  EXPECT_EQ(t.lost(), 1u);
}

TEST(AnalysisSeq, WindowSurvivesLargeForwardSteps) {
  SeqTracker t = feed_range({}, false, 0, 9);
  EXPECT_EQ(t.update(80), SeqVerdict::kInOrder);   // shift by 71 (>= 64)
  EXPECT_EQ(t.update(9), SeqVerdict::kDuplicate);  // 71 behind, moved to the upper word
  EXPECT_EQ(t.update(50), SeqVerdict::kLate);
  EXPECT_EQ(t.update(300), SeqVerdict::kInOrder);  // shift by 220 (>= 128): window cleared
  EXPECT_EQ(t.update(250), SeqVerdict::kLate);
}

// Jitter against hand-computed RFC 3550 values. Clock 48 kHz, 1 ms packets: 48 ticks apart.
TEST(AnalysisJitter, MatchesHandComputedValues) {
  JitterTracker j;
  const std::uint32_t clock = 48000;
  j.update(0, 0, clock);  // first packet: no D yet
  EXPECT_DOUBLE_EQ(j.jitter(), 0.0);
  // Arrives 1.5 ms later, ts +48: D = 1.5 ms * 48 ticks/ms - 48 = 72 - 48 = 24.
  // J = 0 + (24 - 0) / 16 = 1.5
  j.update(1'500'000, 48, clock);
  EXPECT_DOUBLE_EQ(j.jitter(), 1.5);
  // Arrives 0.5 ms later, ts +48: D = 24 - 48 = -24, |D| = 24. J = 1.5 + (24 - 1.5) / 16 = 2.90625
  j.update(2'000'000, 96, clock);
  EXPECT_DOUBLE_EQ(j.jitter(), 2.90625);
  // Arrives 1 ms later, ts +48: D = 0. J = 2.90625 - 2.90625 / 16 = 2.724609375
  j.update(3'000'000, 144, clock);
  EXPECT_DOUBLE_EQ(j.jitter(), 2.724609375);
  EXPECT_DOUBLE_EQ(j.max_jitter(), 2.90625);
  // In ms: 2.724609375 / 48 = 0.056762695... ms
  EXPECT_NEAR(j.jitter() * 1e3 / clock, 0.0567626953125, 1e-12);
}

TEST(AnalysisJitter, RtpTimestampWrapIsSeamless) {
  JitterTracker j;
  j.update(0, 0xFFFFFFF0u, 48000);
  j.update(1'000'000, 0x00000020u, 48000);  // ts delta 48 across the wrap, arrival 1 ms: D = 0
  EXPECT_DOUBLE_EQ(j.jitter(), 0.0);
}

TEST(AnalysisJitter, ConstantOffsetGivesZeroJitter) {
  JitterTracker j;
  for (int i = 0; i < 1000; ++i)
    j.update(5'000'000 + std::int64_t{i} * 125'000, static_cast<std::uint32_t>(1000 + 6 * i),
             48000);
  EXPECT_NEAR(j.jitter(), 0.0, 1e-9);
}

// Issue 13 item 1: a jump of MAX_DROPOUT or more whose timestamp moved by as many packet times
// is an outage, counted as loss; the same jump with an inconsistent timestamp stays a restart.
TEST(AnalysisSeq, ConsistentTimestampJumpIsLossNotRestart) {
  SeqTracker t = feed_range({}, false, 0, 99);
  // 4,000 packets missing: 99 -> 4100, the timestamp says 4001 packet times.
  EXPECT_EQ(t.update(4100, 4001), SeqVerdict::kInOrder);
  EXPECT_EQ(t.update(4101, 1), SeqVerdict::kInOrder);
  EXPECT_EQ(t.restarts(), 0u);
  EXPECT_EQ(t.loss_jumps(), 1u);
  EXPECT_EQ(t.expected(), 4102u);
  EXPECT_EQ(t.lost(), 4000u);
  EXPECT_EQ(t.rfc3550_lost(), 4000);
}

TEST(AnalysisSeq, InconsistentTimestampJumpIsStillARestart) {
  SeqTracker t = feed_range({}, false, 0, 99);
  EXPECT_EQ(t.update(40000, 7), SeqVerdict::kBadJump);  // timestamp says 7 packets, seq 39901
  EXPECT_EQ(t.update(40001, 1), SeqVerdict::kRestart);
  EXPECT_EQ(t.loss_jumps(), 0u);
  EXPECT_EQ(t.restarts(), 1u);
  EXPECT_EQ(t.lost(), 0u);
}

TEST(AnalysisSeq, OutageLongerThanTheSequenceSpaceIsCountedWhole) {
  // 70,000 packets missing (8.75 s at 125 us): the sequence number wrapped past its own start,
  // only the timestamp can tell; 99 + 70,001 = 70,100 = 65,536 + 4,564.
  SeqTracker t = feed_range({}, false, 0, 99);
  EXPECT_EQ(t.update(4564, 70001), SeqVerdict::kInOrder);
  EXPECT_EQ(t.expected(), 70101u);
  EXPECT_EQ(t.lost(), 70000u);
  EXPECT_EQ(t.cycles(), 65536u);
}

TEST(AnalysisSeq, EveryOtherPacketLostNeverValidates) {
  SeqTracker t;
  t.start(0);
  for (int s = 0; s < 2000; s += 2)
    EXPECT_EQ(t.update(static_cast<std::uint16_t>(s)), SeqVerdict::kProbation);
  EXPECT_FALSE(t.validated());
  EXPECT_EQ(t.expected(), 0u);  // nothing counted: the tracker must not call this complete
}

}  // namespace
}  // namespace rtcap::analysis
