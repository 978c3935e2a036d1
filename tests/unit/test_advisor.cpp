#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/config_table.hpp"
#include "rtcap/advisor.hpp"

namespace rtcap {
namespace {
// The advice as the rtcap command words it (-B 4096).
std::string cli(const std::string& change) {
  return rtcap::config_table::word(change, rtcap::config_table::Front::kCli);
}
}  // namespace

namespace {

constexpr std::int64_t kUs = 1000;
constexpr std::int64_t kMs = 1000 * kUs;

void add_value(HistogramData& h, std::uint64_t value, std::uint64_t n) {
  if (n == 0) return;
  h.buckets[histogram_bucket_index(value)] += n;
  h.min = h.count ? std::min(h.min, value) : value;
  h.max = std::max(h.max, value);
  h.count += n;
  h.sum += value * n;
}

// One statistics interval, described by what happened in it.
struct Step {
  double seconds = 1;
  std::uint64_t packets = 0;  // captured
  std::uint64_t bytes_per_packet = 90;
  std::uint64_t kernel_dropped = 0;
  std::uint64_t interface_dropped = 0;
  std::uint64_t truncated = 0;
  std::uint64_t app_dropped = 0;
  std::uint64_t calls = 0;        // dispatch calls that carried packets; 0: packets / 100
  std::uint64_t empty_calls = 1;  // calls that found nothing
  std::uint64_t wakeups = 0;      // 0: one per call
  double cpu_share = 0.1;         // capture thread CPU / interval
  std::uint64_t latency_ns = 100 * kUs;
  std::optional<StreamIntervalInfo> streams;
};

// Builds running-total CaptureStats by hand, as the engine would publish them.
class Feeder {
 public:
  explicit Feeder(CaptureConfig config = {}, AdvisorConfig advisor_config = {},
                  std::uint64_t buffer_bytes = 32ull << 20,
                  CapturePlatform platform = CapturePlatform::kLinuxLibpcap)
      : advisor(advisor_config) {
    in.config = std::move(config);
    in.platform = platform;
    InterfaceStats i;
    i.name = "veth0";
    i.buffer_bytes = buffer_bytes;
    in.stats.interfaces.push_back(i);
  }

  std::vector<Advice> step(const Step& s) {
    CaptureStats& st = in.stats;
    st.elapsed_ns += std::int64_t(s.seconds * 1e9);
    st.packets_captured += s.packets;
    st.bytes_captured += s.packets * s.bytes_per_packet;
    st.packets_truncated += s.truncated;
    st.app_dropped_packets += s.app_dropped;
    st.packets_delivered += s.packets - std::min(s.packets, s.app_dropped);
    const std::uint64_t calls =
        s.packets == 0 ? 0 : (s.calls ? s.calls : std::max<std::uint64_t>(1, s.packets / 100));
    const std::uint64_t per_call = calls ? s.packets / calls : 0;
    add_value(st.dispatch_packets, per_call, calls);
    add_value(st.dispatch_bytes, per_call * s.bytes_per_packet, calls);
    st.max_dispatch_bytes = std::max(st.max_dispatch_bytes, per_call * s.bytes_per_packet);
    st.max_dispatch_buffer_share =
        double(st.max_dispatch_bytes) / double(st.interfaces[0].buffer_bytes);
    st.dispatch_calls += calls + s.empty_calls;
    st.empty_dispatch_calls += s.empty_calls;
    st.wakeups += s.wakeups ? s.wakeups : calls + s.empty_calls;
    st.capture_cpu_ns += std::int64_t(s.seconds * s.cpu_share * 1e9);
    add_value(st.latency_ns, s.latency_ns, s.packets);
    st.interfaces[0].received += s.packets + s.kernel_dropped;
    st.interfaces[0].kernel_dropped += s.kernel_dropped;
    st.interfaces[0].interface_dropped += s.interface_dropped;
    in.streams = s.streams;
    return advisor.update(in);
  }

  Advisor advisor;
  AdvisorInput in;
};

// A copy: callers often pass the temporary that step() returns.
std::optional<Advice> find(const std::vector<Advice>& v, const std::string& id) {
  auto it = std::find_if(v.begin(), v.end(), [&](const Advice& a) { return a.id == id; });
  if (it == v.end()) return std::nullopt;
  return *it;
}
bool has(const std::vector<Advice>& v, const std::string& id) { return find(v, id).has_value(); }

Step quiet() {
  Step s;
  s.packets = 100000;
  return s;
}

// ---- Rule 1 ----------------------------------------------------------------------------------

TEST(AdvisorDispatchFillsBuffer, NpcapFullUserBufferFires) {
  Feeder f({}, {}, 1'000'000, CapturePlatform::kNpcap);
  f.in.npcap_user_buffer_bytes = 256'000;
  Step s = quiet();
  s.calls = 40;  // 2,500 packets x 100 bytes = 250,000 bytes per read
  s.bytes_per_packet = 100;
  const auto fired = f.step(s);
  const std::optional<Advice> a = find(fired, advice_id::kDispatchFillsBuffer);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->severity, Severity::kWarning);
  EXPECT_NE(a->evidence.find("40 of 41 reads"), std::string::npos) << a->evidence;
  EXPECT_NE(cli(a->change).find("--user-buffer 1048576"), std::string::npos) << a->change;
}

TEST(AdvisorDispatchFillsBuffer, NpcapUserBufferFromConfig) {
  CaptureConfig c;
  c.user_buffer_bytes = 1 << 20;  // --user-buffer 1048576: 250,000-byte reads are 24%
  Feeder f(c, {}, 1'000'000, CapturePlatform::kNpcap);
  Step s = quiet();
  s.calls = 40;
  s.bytes_per_packet = 100;
  EXPECT_FALSE(has(f.step(s), advice_id::kDispatchFillsBuffer));
}

TEST(AdvisorDispatchFillsBuffer, NpcapRoomyReadsStaySilent) {
  Feeder f({}, {}, 1'000'000, CapturePlatform::kNpcap);
  f.in.npcap_user_buffer_bytes = 256'000;
  Step s = quiet();
  s.calls = 100;  // 100,000 bytes per read: 39%
  s.bytes_per_packet = 100;
  EXPECT_FALSE(has(f.step(s), advice_id::kDispatchFillsBuffer));
}

TEST(AdvisorDispatchFillsBuffer, LinuxNearlyFullRingFires) {
  // 2 MiB V3 ring: 8 blocks x 1,489 packets of 90 bytes = 11,912 packets.
  Feeder f({}, {}, 2u << 20);
  Step s = quiet();
  s.packets = 11000;
  s.calls = 1;
  const auto fired = f.step(s);
  ASSERT_TRUE(has(fired, advice_id::kDispatchFillsBuffer));
  EXPECT_NE(cli(find(fired, advice_id::kDispatchFillsBuffer)->change).find("-B 4096"),
            std::string::npos);
  // Later intervals with small calls: nothing new (and the old maximum is not re-counted).
  Feeder g({}, {}, 2u << 20);
  EXPECT_FALSE(has(g.step(quiet()), advice_id::kDispatchFillsBuffer));
}

// ---- Rules 2 and 3 -----------------------------------------------------------------------------

TEST(AdvisorKernelDrops, BusyReaderIsTooSlow) {
  Feeder f;
  Step s = quiet();
  s.kernel_dropped = 500;
  s.cpu_share = 0.97;
  s.empty_calls = 0;
  const auto fired = f.step(s);
  const std::optional<Advice> a = find(fired, advice_id::kReaderTooSlow);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->severity, Severity::kCritical);
  EXPECT_NE(a->evidence.find("500 kernel drops"), std::string::npos) << a->evidence;
  EXPECT_NE(a->evidence.find("97%"), std::string::npos) << a->evidence;
  EXPECT_NE(cli(a->change).find("BPF filter"), std::string::npos);
  EXPECT_FALSE(has(fired, advice_id::kBurstDrops));
}

TEST(AdvisorKernelDrops, BusyWithoutDropsIsSilent) {
  Feeder f;
  Step s = quiet();
  s.cpu_share = 0.97;
  s.empty_calls = 0;
  const auto fired = f.step(s);
  EXPECT_FALSE(has(fired, advice_id::kReaderTooSlow));
  EXPECT_FALSE(has(fired, advice_id::kBurstDrops));
}

TEST(AdvisorKernelDrops, IdleReaderDropsInBurstsWantsABiggerBuffer) {
  Feeder f;  // 32 MiB, batched
  Step s = quiet();
  s.kernel_dropped = 500;
  s.cpu_share = 0.1;
  const auto fired = f.step(s);
  const std::optional<Advice> a = find(fired, advice_id::kBurstDrops);
  ASSERT_TRUE(a);
  EXPECT_FALSE(has(fired, advice_id::kReaderTooSlow));
  EXPECT_NE(cli(a->change).find("-B 65536"), std::string::npos)
      << a->change;  // at least twice 32 MiB
  EXPECT_NE(cli(a->change).find("100ms"), std::string::npos) << a->change;
  EXPECT_NE(a->evidence.find("100500 packets/s"), std::string::npos) << a->evidence;
}

TEST(AdvisorKernelDrops, BurstBufferFollowsThePeakRate) {
  // Small ring, high peak: the stall model asks for more than twice the current buffer.
  CaptureConfig c;
  c.immediate_mode = true;
  c.snaplen = 256;
  Feeder f(c, {}, 1u << 20);
  Step s = quiet();
  s.packets = 400000;  // 400 kpps peak
  s.kernel_dropped = 1000;
  s.cpu_share = 0.2;
  const std::optional<Advice> a = find(f.step(s), advice_id::kBurstDrops);
  ASSERT_TRUE(a);
  // 40,101 slots of 320 bytes in blocks of 12 = 12.2 MiB -> 13 MiB, in KiB.
  EXPECT_NE(cli(a->change).find("-B 13312"), std::string::npos) << a->change;
}

TEST(AdvisorKernelDrops, NoDropsNoAdvice) {
  Feeder f;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(f.step(quiet()).empty());
  EXPECT_TRUE(f.advisor.summary().empty());
}

// ---- Rule 4 ----------------------------------------------------------------------------------

CaptureConfig immediate_small_slots() {
  CaptureConfig c;
  c.immediate_mode = true;
  c.snaplen = 256;  // so that rule 7 stays out of the way
  return c;
}

TEST(AdvisorImmediateCostsCpu, FiresWithSlack) {
  AdvisorConfig ac;
  ac.latency_budget_ns = 2 * kMs;
  Feeder f(immediate_small_slots(), ac, 128ull << 20);
  Step s = quiet();
  s.calls = 90000;  // ~1 packet per wake-up
  s.latency_ns = 50 * kUs;
  s.cpu_share = 0.6;
  const auto fired = f.step(s);
  const std::optional<Advice> a = find(fired, advice_id::kImmediateCostsCpu);
  ASSERT_TRUE(a) << format_advice(fired);
  EXPECT_NE(cli(a->change).find("--coalesce-us 666"), std::string::npos) << a->change;
  EXPECT_NE(a->evidence.find("p99 latency"), std::string::npos);
}

TEST(AdvisorImmediateCostsCpu, LargeBudgetSuggestsBatchedCapture) {
  AdvisorConfig ac;
  ac.latency_budget_ns = 50 * kMs;
  Feeder f(immediate_small_slots(), ac, 128ull << 20);
  Step s = quiet();
  s.calls = 90000;
  s.latency_ns = 50 * kUs;
  const std::optional<Advice> a = find(f.step(s), advice_id::kImmediateCostsCpu);
  ASSERT_TRUE(a);
  EXPECT_NE(cli(a->change).find("--immediate-mode off"), std::string::npos) << a->change;
  EXPECT_NE(cli(a->change).find("--timeout-ms 44"), std::string::npos) << a->change;
}

TEST(AdvisorImmediateCostsCpu, SilentWithoutSlackOrBudgetOrWhenAlreadyCoalesced) {
  Step s = quiet();
  s.calls = 90000;
  s.latency_ns = 1500 * kUs;  // p99 75% of the budget: no slack
  AdvisorConfig ac;
  ac.latency_budget_ns = 2 * kMs;
  Feeder tight(immediate_small_slots(), ac, 128ull << 20);
  EXPECT_FALSE(has(tight.step(s), advice_id::kImmediateCostsCpu));

  s.latency_ns = 50 * kUs;
  Feeder no_budget(immediate_small_slots(), {}, 128ull << 20);
  EXPECT_FALSE(has(no_budget.step(s), advice_id::kImmediateCostsCpu));

  CaptureConfig c = immediate_small_slots();
  c.coalesce_us = 666;
  Feeder done(c, ac, 128ull << 20);
  EXPECT_FALSE(has(done.step(s), advice_id::kImmediateCostsCpu));

  Feeder batched({}, ac);  // not immediate at all
  EXPECT_FALSE(has(batched.step(s), advice_id::kImmediateCostsCpu));
}

// ---- Rule 5 ----------------------------------------------------------------------------------

TEST(AdvisorConsumerDiscards, MostPacketsThrownAway) {
  Feeder f;
  Step s = quiet();
  s.streams = StreamIntervalInfo{};
  s.streams->consumer_discarded = 90000;
  const std::optional<Advice> a = find(f.step(s), advice_id::kConsumerDiscards);
  ASSERT_TRUE(a);
  EXPECT_NE(a->evidence.find("90000 of 100000"), std::string::npos) << a->evidence;
  EXPECT_NE(cli(a->change).find("BPF filter"), std::string::npos);

  Feeder g;
  s.streams->consumer_discarded = 10000;
  EXPECT_FALSE(has(g.step(s), advice_id::kConsumerDiscards));
  Feeder h;  // no stream info at all
  EXPECT_FALSE(has(h.step(quiet()), advice_id::kConsumerDiscards));
}

// ---- Rule 6 ----------------------------------------------------------------------------------

TEST(AdvisorSnaplen, TruncationFires) {
  CaptureConfig c;
  c.snaplen = 64;
  Feeder f(c);
  Step s = quiet();
  s.truncated = 100000;
  const std::optional<Advice> a = find(f.step(s), advice_id::kSnaplenTruncates);
  ASSERT_TRUE(a);
  EXPECT_NE(cli(a->change).find("-s 0"), std::string::npos);
  EXPECT_NE(a->evidence.find("snaplen 64"), std::string::npos);

  Feeder g(c);
  EXPECT_FALSE(has(g.step(quiet()), advice_id::kSnaplenTruncates));
}

// ---- Rule 7 ----------------------------------------------------------------------------------

TEST(AdvisorRingSlots, WholePacketSlotsForTinyTraffic) {
  CaptureConfig c;
  c.immediate_mode = true;
  c.snaplen = 65553;  // offload aggregates whole, asked for: 64 KiB slots
  Feeder f(c, {}, 2u << 20);
  const auto fired = f.step(quiet());
  const std::optional<Advice> a = find(fired, advice_id::kRingTooFewSlots);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->severity, Severity::kWarning);
  EXPECT_NE(cli(a->change).find("holds only 32 packets"), std::string::npos) << a->change;
  EXPECT_NE(cli(a->change).find("-s 256 makes a slot 320 bytes, so the same 2048 KiB holds 6552"),
            std::string::npos)
      << a->change;
  // 10,001 slots of 320 bytes in blocks of 12 = 3.05 MiB -> 4 MiB, holding >= 100 ms.
  EXPECT_NE(cli(a->change).find("-s 256 -B 4096 holds 13104 (131.04ms)"), std::string::npos)
      << a->change;
  EXPECT_NE(a->evidence.find("32 slots of 65632 bytes"), std::string::npos) << a->evidence;

  Step drops = quiet();
  drops.kernel_dropped = 1000;
  Feeder g(c, {}, 2u << 20);
  EXPECT_EQ(find(g.step(drops), advice_id::kRingTooFewSlots).value().severity, Severity::kCritical);
}

TEST(AdvisorRingSlots, SilentWhenSizedInPacketsOrBatched) {
  Feeder small_slots(immediate_small_slots(), {}, 128ull << 20);
  EXPECT_FALSE(has(small_slots.step(quiet()), advice_id::kRingTooFewSlots));
  Feeder batched({}, {}, 2u << 20);
  EXPECT_FALSE(has(batched.step(quiet()), advice_id::kRingTooFewSlots));
  CaptureConfig c;
  c.immediate_mode = true;
  Feeder big_packets(c, {}, 2u << 20);
  Step s = quiet();
  s.bytes_per_packet = 1400;
  EXPECT_FALSE(has(big_packets.step(s), advice_id::kRingTooFewSlots));
}

// ---- Rule 8 ----------------------------------------------------------------------------------

TEST(AdvisorPromiscuous, UnicastToOneDestination) {
  Feeder f;  // promiscuous is the default
  Step s = quiet();
  s.streams = StreamIntervalInfo{};
  s.streams->all_unicast_to_one_destination = true;
  const std::optional<Advice> a = find(f.step(s), advice_id::kPromiscuousUnneeded);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->severity, Severity::kInfo);
  EXPECT_NE(cli(a->change).find("-p"), std::string::npos);

  CaptureConfig c;
  c.promiscuous = false;
  Feeder g(c);
  EXPECT_FALSE(has(g.step(s), advice_id::kPromiscuousUnneeded));
  Feeder h;
  s.streams->all_unicast_to_one_destination.reset();  // unknown
  EXPECT_FALSE(has(h.step(s), advice_id::kPromiscuousUnneeded));
  s.streams->all_unicast_to_one_destination = false;
  EXPECT_FALSE(has(h.step(s), advice_id::kPromiscuousUnneeded));
}

// ---- Rule 9 ----------------------------------------------------------------------------------

TEST(AdvisorAppQueue, DropsWantMoreBatchesOrBlocking) {
  Feeder f;
  Step s = quiet();
  s.app_dropped = 2048;
  const std::optional<Advice> a = find(f.step(s), advice_id::kAppQueueDrops);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->severity, Severity::kCritical);
  EXPECT_NE(cli(a->change).find("--pool-batches 128"), std::string::npos) << a->change;
  EXPECT_NE(cli(a->change).find("--on-overflow block"), std::string::npos);

  Feeder g;
  EXPECT_FALSE(has(g.step(quiet()), advice_id::kAppQueueDrops));
}

// ---- Rule 10 ---------------------------------------------------------------------------------

TEST(AdvisorLossBeforeCapture, SequenceGapsWithoutCaptureDrops) {
  Feeder f;
  Step s = quiet();
  s.streams = StreamIntervalInfo{};
  s.streams->sequence_lost = 12;
  const std::optional<Advice> a = find(f.step(s), advice_id::kLossBeforeCapture);
  ASSERT_TRUE(a);
  EXPECT_NE(a->evidence.find("12 packets missing"), std::string::npos);
  EXPECT_NE(cli(a->change).find("not"), std::string::npos);

  Feeder g;
  s.kernel_dropped = 12;
  s.cpu_share = 0.95;
  const auto fired = g.step(s);
  EXPECT_FALSE(has(fired, advice_id::kLossBeforeCapture));  // the capture may explain them
  EXPECT_TRUE(has(fired, advice_id::kReaderTooSlow));
}

// ---- Hysteresis, summary, output ---------------------------------------------------------------

TEST(AdvisorHysteresis, FiresOnceClearsThenFiresAgain) {
  Feeder f;  // fire_after 1, clear_after 3
  Step bad = quiet();
  bad.truncated = 5;
  EXPECT_TRUE(has(f.step(bad), advice_id::kSnaplenTruncates));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(f.step(bad).empty());  // persists: no repeat
  EXPECT_TRUE(f.step(quiet()).empty());
  EXPECT_TRUE(f.step(quiet()).empty());
  EXPECT_TRUE(f.step(bad).empty());  // back within clear_after: still the same episode
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(f.step(quiet()).empty());
  ASSERT_EQ(f.advisor.active().size(), 0u);
  EXPECT_TRUE(has(f.step(bad), advice_id::kSnaplenTruncates));  // a new episode

  const auto sum = f.advisor.summary();
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(sum[0].times_fired, 2);
  EXPECT_EQ(sum[0].intervals_triggered, 6u);
  EXPECT_EQ(sum[0].first_fired_ns, 1'000'000'000);
  EXPECT_EQ(sum[0].last_seen_ns, 11'000'000'000);
  EXPECT_TRUE(sum[0].active);
}

TEST(AdvisorHysteresis, FireAfterNeedsConsecutiveIntervals) {
  AdvisorConfig ac;
  ac.fire_after = 2;
  Feeder f({}, ac);
  Step bad = quiet();
  bad.app_dropped = 1;
  EXPECT_TRUE(f.step(bad).empty());
  EXPECT_TRUE(f.step(quiet()).empty());
  EXPECT_TRUE(f.step(bad).empty());
  EXPECT_TRUE(has(f.step(bad), advice_id::kAppQueueDrops));
}

TEST(AdvisorDeltas, SameSnapshotTwiceAndANewEngine) {
  Feeder f;
  Step bad = quiet();
  bad.app_dropped = 10;
  EXPECT_EQ(f.step(bad).size(), 1u);
  EXPECT_TRUE(f.advisor.update(f.in).empty());  // no time passed: nothing evaluated

  // A new engine: totals start again from a smaller elapsed time; deltas count from zero.
  AdvisorInput fresh = f.in;
  fresh.stats.elapsed_ns = 500'000'000;
  fresh.stats.packets_captured = 10;
  fresh.stats.app_dropped_packets = 0;
  EXPECT_TRUE(f.advisor.update(fresh).empty());
  f.advisor.reset();
  EXPECT_TRUE(f.advisor.summary().empty());
}

TEST(AdvisorOutput, JsonAndText) {
  Feeder f;
  Step bad = quiet();
  bad.app_dropped = 10;
  bad.truncated = 3;
  const auto fired = f.step(bad);
  ASSERT_EQ(fired.size(), 2u);
  const auto j = nlohmann::json::parse(to_json(f.advisor.summary()));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["id"], advice_id::kSnaplenTruncates);  // rule order
  EXPECT_EQ(j[1]["id"], advice_id::kAppQueueDrops);
  EXPECT_EQ(j[1]["severity"], "critical");
  EXPECT_EQ(j[1]["times_fired"], 1);
  EXPECT_EQ(j[1]["first_fired_ns"], 1'000'000'000);
  EXPECT_TRUE(j[1]["change"].get<std::string>().find("CaptureConfig::pool_batches 128") !=
              std::string::npos)
      << j[1]["change"];
  EXPECT_EQ(j[1]["settings"][0]["setting"], "pool_batches");
  EXPECT_EQ(j[1]["settings"][0]["value"], "128");
  EXPECT_EQ(to_json({}, -1), "[]");

  const std::string text = format_advice(fired);
  EXPECT_NE(text.find("[critical] app-queue-drops"), std::string::npos) << text;
  EXPECT_NE(text.find("  do:   "), std::string::npos);
  EXPECT_EQ(std::string(to_string(Severity::kWarning)), "warning");
}

}  // namespace
}  // namespace rtcap
