#include <gtest/gtest.h>

#include "rtcap/latency_budget.hpp"
#include "stats/latency_model.hpp"

namespace rtcap {
namespace {

constexpr std::int64_t kUs = 1000;
constexpr std::int64_t kMs = 1000 * kUs;

TEST(ParseDuration, AcceptsTheUsualForms) {
  EXPECT_EQ(parse_duration_ns("250us").value(), 250 * kUs);
  EXPECT_EQ(parse_duration_ns("2ms").value(), 2 * kMs);
  EXPECT_EQ(parse_duration_ns("1.5ms").value(), 1500 * kUs);
  EXPECT_EQ(parse_duration_ns("1s").value(), 1000 * kMs);
  EXPECT_EQ(parse_duration_ns("0.5s").value(), 500 * kMs);
  EXPECT_EQ(parse_duration_ns("800ns").value(), 800);
  EXPECT_EQ(parse_duration_ns("250\xC2\xB5s").value(), 250 * kUs);  // micro sign
  EXPECT_EQ(parse_duration_ns(" 2 ms ").value(), 2 * kMs);
  EXPECT_EQ(parse_duration_ns("0.25ms").value(), 250 * kUs);
}

TEST(ParseDuration, RejectsWithAnActionableMessage) {
  for (const char* bad :
       {"", "250", "ms", "abc", "-1ms", "0ms", "5 parsecs", "2hours", "7200s", "0.0001ns"}) {
    const auto r = parse_duration_ns(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kBadConfig);
    EXPECT_NE(r.error().message.find("250us"), std::string::npos) << r.error().message;
  }
  EXPECT_NE(parse_duration_ns("250").error().message.find("unit"), std::string::npos);
}

TEST(FormatDuration, ShortForms) {
  EXPECT_EQ(format_duration_ns(250 * kUs), "250us");
  EXPECT_EQ(format_duration_ns(1500 * kUs), "1.5ms");
  EXPECT_EQ(format_duration_ns(2000 * kMs), "2s");
  EXPECT_EQ(format_duration_ns(800), "800ns");
  EXPECT_EQ(parse_duration_ns(format_duration_ns(1500 * kUs)).value(), 1500 * kUs);
}

TEST(RingModel, V2SlotsFollowTheSnaplen) {
  // 64 bytes of header, then min(snaplen, 65553), 16-byte aligned.
  EXPECT_EQ(linux_v2_slot_bytes(kMaxSnaplen), 65632u);
  EXPECT_EQ(linux_v2_slot_bytes(256), 320u);
  EXPECT_EQ(linux_v2_slot_bytes(0), 65632u);                 // 0 = whole packets
  EXPECT_EQ(linux_v2_slot_bytes(kMaxSnaplen, 1514), 1584u);  // offloads off, MTU 1500

  CaptureConfig c;
  c.immediate_mode = true;
  c.snaplen = 65553;  // a snaplen that keeps offload aggregates whole
  // FACTS.md: "the default 2 MiB holds ~32 packets" with offloads on.
  RingModel r = linux_ring_model(c, 2u << 20, 90);
  EXPECT_FALSE(r.tpacket_v3);
  EXPECT_EQ(r.packets, 32u);
  EXPECT_EQ(r.block_bytes, 131072u);  // one 64 KiB slot per 128 KiB block
  EXPECT_EQ(r.memory_bytes, 32u * 131072u);

  c.snaplen = 256;
  r = linux_ring_model(c, 2u << 20, 90);
  EXPECT_EQ(r.block_bytes, 4096u);
  EXPECT_EQ(r.packets, 6552u);  // ceil(2 MiB / 320) = 6554 frames, whole blocks of 12
}

TEST(RingModel, ImmediateModeWithoutSnaplenSizesSlotsFromTheMtu) {
  CaptureConfig c;  // snaplen kMaxSnaplen: whole packets, no number given
  EXPECT_TRUE(snaplen_is_automatic(c));
  EXPECT_EQ(linux_v2_snaplen(c, 1500), kMaxSnaplen);  // batched: V3 packs packets, no slots
  c.immediate_mode = true;
  EXPECT_EQ(linux_v2_snaplen(c, 1500), 1522);  // Ethernet header + two VLAN tags
  EXPECT_EQ(linux_v2_snaplen(c, 9000), 9022);
  EXPECT_EQ(linux_v2_snaplen(c, 0), kMaxSnaplen);  // not Ethernet-framed ("any"): unchanged
  c.snaplen = 0;
  EXPECT_EQ(linux_v2_snaplen(c, 1500), 1522);
  c.snaplen = 65553;  // given: kept, even above the MTU
  EXPECT_FALSE(snaplen_is_automatic(c));
  EXPECT_EQ(linux_v2_snaplen(c, 1500), 65553);
  c.snaplen = 128;
  EXPECT_EQ(linux_v2_snaplen(c, 1500), 128);

  // The default ring: >= 100 ms at 1,000,000 packets/s, two 1,600-byte slots per 4 KiB block.
  c.snaplen = kMaxSnaplen;
  const std::uint64_t bytes = linux_v2_default_buffer_bytes(c, 1500);
  const RingModel r = linux_ring_model(c, bytes, 90, kLinuxOffloadMaxFrameBytes, 1500);
  EXPECT_EQ(r.slot_bytes, 1600u);
  EXPECT_EQ(r.block_bytes, 4096u);
  EXPECT_GE(r.packets, 100000u);
  EXPECT_LE(r.memory_bytes, 256ull << 20);
  EXPECT_EQ(bytes, 100001u * 1600u + 1600u);  // 100,001 packets, whole blocks of two
  // libpcap's own default slot (64 KiB, offloads on) got 2,046 slots from 128 MiB before.
  c.snaplen = 65553;
  const RingModel whole =
      linux_ring_model(c, linux_v2_default_buffer_bytes(c, 1500), 90, kLinuxOffloadMaxFrameBytes);
  EXPECT_EQ(whole.packets, 2048u);  // capped at 256 MiB mapped
  EXPECT_LE(whole.memory_bytes, 256ull << 20);
  // Jumbo frames: 9,088-byte slots, one per 16 KiB block, capped.
  c.snaplen = kMaxSnaplen;
  const RingModel jumbo = linux_ring_model(c, linux_v2_default_buffer_bytes(c, 9000), 90,
                                           kLinuxOffloadMaxFrameBytes, 9000);
  EXPECT_EQ(jumbo.slot_bytes, 9088u);
  EXPECT_EQ(jumbo.packets, 16384u);
  EXPECT_LE(jumbo.memory_bytes, 256ull << 20);
}

TEST(RingModel, V3BlocksAndRetireTimer) {
  CaptureConfig c;  // batched
  const RingModel r = linux_ring_model(c, 2u << 20, 90);
  EXPECT_TRUE(r.tpacket_v3);
  EXPECT_EQ(r.blocks, 8u);  // libpcap default: 8 blocks of 256 KiB
  EXPECT_EQ(r.slot_bytes, 176u);
  EXPECT_EQ(r.packets, 8u * ((262144u - 48u) / 176u));

  EXPECT_EQ(jiffy_ns(250), 4 * kMs);
  EXPECT_EQ(linux_v3_retire_jiffies(1, 250), 1);
  EXPECT_EQ(linux_v3_retire_jiffies(4, 250), 1);
  EXPECT_EQ(linux_v3_retire_jiffies(5, 250), 2);  // rounded up
  EXPECT_EQ(linux_v3_retire_jiffies(0, 250), 2);  // kernel default 8 ms
  EXPECT_EQ(linux_v3_worst_delay_ns(1, 250), 8 * kMs);
  EXPECT_EQ(linux_v3_worst_delay_ns(1, 1000), 2 * kMs);
}

TEST(RingModel, BufferForStall) {
  CaptureConfig c;  // V3, timeout 1 ms -> a block closes every 4 ms at HZ=250
  // 100 ms / 4 ms = 25 blocks + the one being filled.
  EXPECT_EQ(buffer_bytes_for_stall(c, CapturePlatform::kLinuxLibpcap, 100 * kMs, 100000, 90),
            26u * 262144u);
  c.immediate_mode = true;
  c.snaplen = 256;
  // 10,001 slots of 320 bytes, whole blocks of 12.
  EXPECT_EQ(buffer_bytes_for_stall(c, CapturePlatform::kLinuxLibpcap, 100 * kMs, 100000, 90),
            834u * 12u * 320u);
  EXPECT_EQ(buffer_bytes_for_stall(c, CapturePlatform::kNpcap, 100 * kMs, 100000, 90),
            10001u * 110u);
}

TEST(PlanLatencyBudget, SubMillisecondMeansImmediateWithCoalescing) {
  CaptureConfig base;
  base.filter = "udp";
  base.pool_batches = 7;
  const LatencyPlan p = plan_for_latency_budget(250 * kUs, base);
  EXPECT_TRUE(p.immediate_mode);
  EXPECT_TRUE(p.config.immediate_mode);
  EXPECT_EQ(p.coalesce_us, 83);  // a third of the budget
  EXPECT_EQ(p.config.coalesce_us, 83);
  EXPECT_LE(p.modelled_worst_delay_ns, 250 * kUs);
  EXPECT_FALSE(p.best_effort);
  EXPECT_LT(p.wakeups_per_second, 100000.0 / 5);  // many packets per wake-up
  // No snaplen given: slots from the MTU (1500 assumed), so 100 ms at 100 kpps fits uncapped.
  EXPECT_EQ(p.ring.slot_bytes, 1600u);
  EXPECT_GE(p.ring.packets, 10000u);
  EXPECT_GE(p.stall_tolerance_ns, 100 * kMs);
  EXPECT_LE(p.ring.memory_bytes, 32ull << 20);
  EXPECT_EQ(p.explanation.find("(capped at"), std::string::npos) << p.explanation;
  EXPECT_NE(p.explanation.find("MTU + 22"), std::string::npos) << p.explanation;
  EXPECT_NE(p.explanation.find("V3 needs a budget"), std::string::npos);
  // A snaplen that keeps 64 KiB aggregates: 100 ms would need 656 MB, so the buffer is capped and
  // says so.
  base.snaplen = 65553;
  const LatencyPlan whole = plan_for_latency_budget(250 * kUs, base);
  EXPECT_LE(whole.ring.memory_bytes, 256ull << 20);  // the cap is on what the kernel maps
  EXPECT_EQ(whole.ring.packets, 2048u);              // one 64 KiB slot per 128 KiB block
  EXPECT_NE(whole.explanation.find("capped"), std::string::npos) << whole.explanation;
  // Untouched fields are kept.
  EXPECT_EQ(p.config.filter, "udp");
  EXPECT_EQ(p.config.pool_batches, 7u);
  EXPECT_EQ(p.config.snaplen, kMaxSnaplen);
}

TEST(PlanLatencyBudget, KnownPacketSizeSizesTheRingInPackets) {
  TrafficProfile t;
  t.max_packet_bytes = 200;
  const LatencyPlan p = plan_for_latency_budget(2 * kMs, {}, t);
  EXPECT_TRUE(p.immediate_mode);
  EXPECT_EQ(p.coalesce_us, 666);
  EXPECT_EQ(p.snaplen, 208);
  EXPECT_GE(p.ring.packets, 10000u);
  EXPECT_GE(p.stall_tolerance_ns, 100 * kMs);
  EXPECT_LT(std::uint64_t(p.buffer_kib), 8u * 1024);  // a few MiB, not hundreds
}

TEST(PlanLatencyBudget, CoalescingIsCapped) {
  const LatencyPlan p = plan_for_latency_budget(9 * kMs);
  EXPECT_TRUE(p.immediate_mode);  // 8 ms worst case + 2 ms margin does not fit 9 ms
  EXPECT_EQ(p.coalesce_us, 2000);
}

TEST(PlanLatencyBudget, TenMillisecondsIsBatched) {
  const LatencyPlan p = plan_for_latency_budget(10 * kMs);
  EXPECT_FALSE(p.immediate_mode);
  EXPECT_EQ(p.timeout_ms, 4);  // one jiffy at HZ=250
  EXPECT_EQ(p.coalesce_us, 0);
  EXPECT_EQ(p.modelled_worst_delay_ns, 8 * kMs);
  EXPECT_GE(p.stall_tolerance_ns, 100 * kMs);
  EXPECT_NE(p.explanation.find("TPACKET_V3"), std::string::npos);

  const LatencyPlan q = plan_for_latency_budget(20 * kMs);
  EXPECT_FALSE(q.immediate_mode);
  EXPECT_EQ(q.timeout_ms, 12);  // 3 jiffies: (3 + 1) x 4 ms + 2 ms margin = 18 ms
  EXPECT_LE(q.modelled_worst_delay_ns + TrafficProfile{}.v3_margin_ns, 20 * kMs);
  EXPECT_LT(q.wakeups_per_second, p.wakeups_per_second);
}

TEST(PlanLatencyBudget, HigherHzLetsV3MeetSmallerBudgets) {
  TrafficProfile t;
  t.hz = 1000;
  const LatencyPlan p = plan_for_latency_budget(5 * kMs, {}, t);
  EXPECT_FALSE(p.immediate_mode);
  EXPECT_EQ(p.timeout_ms, 2);
  t.hz = 250;
  EXPECT_TRUE(plan_for_latency_budget(5 * kMs, {}, t).immediate_mode);
}

TEST(PlanLatencyBudget, TinyBudgetIsBestEffort) {
  const LatencyPlan p = plan_for_latency_budget(50 * kUs);
  EXPECT_TRUE(p.immediate_mode);
  EXPECT_EQ(p.coalesce_us, 0);  // 16 us would drown in the 50 us timer slack
  EXPECT_TRUE(p.best_effort);
  EXPECT_NE(p.explanation.find("best effort"), std::string::npos);
}

TEST(PlanLatencyBudget, Npcap) {
  TrafficProfile t;
  t.platform = CapturePlatform::kNpcap;
  const LatencyPlan fast = plan_for_latency_budget(250 * kUs, {}, t);
  EXPECT_TRUE(fast.immediate_mode);
  EXPECT_EQ(fast.npcap_mintocopy_bytes, 0u);
  EXPECT_EQ(fast.coalesce_us, 83);

  const LatencyPlan slow = plan_for_latency_budget(30 * kMs, {}, t);
  EXPECT_FALSE(slow.immediate_mode);
  EXPECT_EQ(slow.timeout_ms, 10);
  EXPECT_EQ(slow.npcap_mintocopy_bytes, 110000u);    // 100 kpps x 110 bytes x 10 ms
  EXPECT_EQ(slow.npcap_user_buffer_bytes, 262144u);  // twice mintocopy, whole 64 KiB
  EXPECT_EQ(slow.config.mintocopy_bytes, 110000);
  EXPECT_EQ(slow.config.user_buffer_bytes, 262144);
  EXPECT_EQ(fast.config.mintocopy_bytes, -1);  // immediate: Npcap uses 0 itself
  CaptureConfig big;
  big.user_buffer_bytes = 1 << 20;  // the current user buffer is kept when already larger
  EXPECT_EQ(plan_for_latency_budget(30 * kMs, big, t).npcap_user_buffer_bytes, 1u << 20);
  EXPECT_GE(slow.npcap_kernel_buffer_bytes, kNpcapDefaultKernelBufferBytes);
  EXPECT_GE(slow.stall_tolerance_ns, 100 * kMs);
  EXPECT_NE(slow.explanation.find("pcap_getevent"), std::string::npos);
}

TEST(PlanLatencyBudget, PureAndNoBudgetKeepsConfig) {
  const LatencyPlan a = plan_for_latency_budget(1500 * kUs);
  const LatencyPlan b = plan_for_latency_budget(1500 * kUs);
  EXPECT_EQ(a.explanation, b.explanation);
  EXPECT_EQ(a.buffer_kib, b.buffer_kib);
  CaptureConfig base;
  base.timeout_ms = 7;
  const LatencyPlan none = plan_for_latency_budget(0, base);
  EXPECT_EQ(none.timeout_ms, 7);
  EXPECT_FALSE(none.immediate_mode);
}

HistogramData latency_of(std::initializer_list<std::pair<std::uint64_t, std::uint64_t>> values) {
  HistogramData h;
  for (auto [v, n] : values) {
    h.buckets[histogram_bucket_index(v)] += n;
    h.min = h.count ? std::min(h.min, v) : v;
    h.max = std::max(h.max, v);
    h.count += n;
    h.sum += v * n;
  }
  return h;
}

TEST(BudgetMet, UsesTheQuantile) {
  const HistogramData h = latency_of({{100 * kUs, 995}, {1 * kMs, 5}});
  EXPECT_TRUE(budget_met(h, 250 * kUs));          // p99 ~100 us
  EXPECT_FALSE(budget_met(h, 250 * kUs, 0.999));  // p99.9 = 1 ms
  EXPECT_TRUE(budget_met(h, 2 * kMs, 1.0));
  EXPECT_FALSE(budget_met(h, 99 * kUs));
  EXPECT_FALSE(budget_met(HistogramData{}, 250 * kUs));  // nothing measured proves nothing
}

}  // namespace
}  // namespace rtcap

// The automatic window (-1) is resolved for the platform asked about, not the one running.
TEST(LatencyBudget, AutomaticCoalesceWindowPerPlatform) {
  rtcap::CaptureConfig c;  // coalesce_us = -1
  EXPECT_EQ(rtcap::coalesce_us_on(c, rtcap::CapturePlatform::kLinuxLibpcap), 0);  // batched
  c.immediate_mode = true;
  EXPECT_EQ(rtcap::coalesce_us_on(c, rtcap::CapturePlatform::kLinuxLibpcap),
            rtcap::kLinuxAutoCoalesceUs);
  EXPECT_EQ(rtcap::coalesce_us_on(c, rtcap::CapturePlatform::kNpcap), 0);
  c.coalesce_us = 0;
  EXPECT_EQ(rtcap::coalesce_us_on(c, rtcap::CapturePlatform::kLinuxLibpcap), 0);
  c.coalesce_us = 70;
  EXPECT_EQ(rtcap::coalesce_us_on(c, rtcap::CapturePlatform::kNpcap), 70);
}
