// The advisor: "where did the packets go, and what do I change?"
//
// Rules over measured statistics. Feed it one AdvisorInput per statistics interval (the engine's
// CaptureStats, the CaptureConfig in force, the platform and, when a stream tracker runs, what it
// saw in that interval). Every rule looks at the DIFFERENCE between this snapshot and the previous
// one (the first snapshot is compared with an all-zero start), names the numbers it used and the
// settings to change (as data and in words). docs/TUNING.md explains every rule and the facts
// behind it.
//
//   rtcap::Advisor advisor({.latency_budget_ns = 2'000'000});
//   every interval:
//     rtcap::AdvisorInput in{engine->stats(), engine->config()};
//     for (const rtcap::Advice& a : advisor.update(in)) print(rtcap::format_advice({a}));
//   at the end:
//     std::string json = rtcap::to_json(advisor.summary());
//
// Hysteresis: a rule fires once its condition held in `fire_after` consecutive intervals, and is
// then "active" until the condition was false in `clear_after` consecutive intervals; only then
// can it fire again. update() returns only the rules that fired (became active) in this interval,
// so a condition that persists is reported once, not every second.
//
// Not thread-safe; cheap (a few hundred operations per rule and a histogram difference).
#pragma once

#include "rtcap/export.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rtcap/config.hpp"
#include "rtcap/latency_budget.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

enum class Severity {
  kInfo,      // worth knowing, nothing is lost
  kWarning,   // costs CPU or latency, or loss is likely soon
  kCritical,  // packets are being lost in the capture
};

// Rule ids, stable: scripts and docs/TUNING.md refer to them.
namespace advice_id {
inline constexpr const char* kDispatchFillsBuffer = "dispatch-fills-buffer";  // rule 1
inline constexpr const char* kReaderTooSlow = "reader-too-slow";              // rule 2
inline constexpr const char* kBurstDrops = "burst-drops";                     // rule 3
inline constexpr const char* kImmediateCostsCpu = "immediate-costs-cpu";      // rule 4
inline constexpr const char* kConsumerDiscards = "consumer-discards";         // rule 5
inline constexpr const char* kSnaplenTruncates = "snaplen-truncates";         // rule 6
inline constexpr const char* kRingTooFewSlots = "ring-too-few-slots";         // rule 7
inline constexpr const char* kPromiscuousUnneeded = "promiscuous-unneeded";   // rule 8
inline constexpr const char* kAppQueueDrops = "app-queue-drops";              // rule 9
inline constexpr const char* kLossBeforeCapture = "loss-before-capture";      // rule 10
inline constexpr const char* kConsumerStalls = "consumer-stalls";             // rule 11
// Every rule, in the order the advisor evaluates and reports them (the metrics export each).
inline constexpr const char* kAll[] = {
    kDispatchFillsBuffer, kReaderTooSlow,     kBurstDrops,      kImmediateCostsCpu,
    kConsumerDiscards,    kSnaplenTruncates,  kRingTooFewSlots, kPromiscuousUnneeded,
    kAppQueueDrops,       kLossBeforeCapture, kConsumerStalls};
}  // namespace advice_id

// One setting to change: a CaptureConfig field, its new value, and why.
struct SettingChange {
  std::string setting;  // the CaptureConfig member, "buffer_kib"
  std::string value;    // "65536", "false", "threaded"
  std::string why;
};

struct Advice {
  std::string id;  // one of advice_id
  Severity severity = Severity::kInfo;
  std::string trigger;   // the condition, in words
  std::string evidence;  // the numbers from the stats that made it true
  // What to change, in words. A setting appears as ${name} (the CaptureConfig member), for each
  // front end to name its own way: format_advice and to_json say CaptureConfig::name, the rtcap
  // command its option (-B).
  std::string change;
  std::vector<SettingChange> settings;  // the same as data (the main changes; may be empty)
  int times_fired = 0;                  // how often the rule became active (hysteresis transitions)
  std::uint64_t intervals_triggered = 0;  // intervals in which the condition held
  std::int64_t first_fired_ns = 0;        // CaptureStats::elapsed_ns when it first fired
  std::int64_t last_seen_ns = 0;          // elapsed_ns of the last interval in which it held
  bool active = false;                    // the condition holds now (or has not cleared yet)
};

// What the stream tracker saw in the interval (not running totals: since the previous update).
struct StreamIntervalInfo {
  std::uint64_t sequence_lost = 0;       // RTP sequence gaps in tracked streams (positive loss)
  std::uint64_t consumer_discarded = 0;  // packets the consumer looked at and threw away
  // All traffic seen was unicast to one destination (ours); nullopt: unknown.
  std::optional<bool> all_unicast_to_one_destination;
};

struct AdvisorInput {
  CaptureStats stats;    // the engine's running totals at the end of the interval
  CaptureConfig config;  // the configuration in force
  CapturePlatform platform = CapturePlatform::kLinuxLibpcap;
  std::uint64_t npcap_user_buffer_bytes = 0;  // Npcap: pcap_setuserbuffer size; 0 = default
  std::optional<StreamIntervalInfo> streams;  // when a stream tracker runs
};

struct AdvisorConfig {
  std::int64_t latency_budget_ns = 0;  // 0: no budget (rule 4 stays silent)
  int hz = 250;                        // kernel CONFIG_HZ, for the V3 retire-timer model
  int fire_after = 1;   // consecutive intervals the condition must hold before firing
  int clear_after = 3;  // consecutive quiet intervals before a rule may fire again
  // Thresholds (the defaults come from the issue and the maintainers' notes; see TUNING.md).
  double dispatch_share = 0.9;          // rule 1: one read carried >= this share of the buffer
  double busy_cpu_share = 0.9;          // rule 2: capture thread CPU / interval
  double discard_share = 0.5;           // rule 5: consumer discarded / captured
  double immediate_wakeup_share = 0.5;  // rule 4: wake-ups / packets at or above this
  double immediate_packets_per_dispatch = 4;  // rule 4: ... or fewer packets per dispatch
  double latency_slack_share = 0.5;           // rule 4: interval p99 latency below budget x this
  double small_packet_bytes = 512;            // rule 7: mean captured bytes per packet at or below
  std::int64_t ring_min_hold_ns = 100'000'000;  // rules 3, 7: the ring should hold this long
  std::uint64_t min_interval_packets = 100;     // ratio rules need this many packets
  // Rule 11: the capture thread spent at least this share of the interval in the consumer's
  // hands (CaptureStats::callback_ns) while the kernel dropped; rules 1-3 then stay silent.
  double callback_share = 0.5;
};

class RTCAP_API Advisor {
 public:
  explicit Advisor(AdvisorConfig config = {});

  // Newly firing rules this interval (empty most of the time).
  std::vector<Advice> update(const AdvisorInput& input);
  // Every rule that ever fired, in rule order, with counts, times and the latest evidence.
  [[nodiscard]] std::vector<Advice> summary() const;
  // Rules active now (fired and not yet cleared), with the latest evidence.
  [[nodiscard]] std::vector<Advice> active() const;
  [[nodiscard]] const AdvisorConfig& config() const noexcept { return config_; }
  void reset();  // forget the previous snapshot and every rule's history

 private:
  struct RuleState {
    Advice advice;
    int consecutive_true = 0;
    int consecutive_false = 0;
  };
  RuleState& state(const char* id);

  AdvisorConfig config_;
  std::optional<CaptureStats> previous_;
  double peak_pps_ = 0;           // highest per-interval received rate seen
  std::vector<RuleState> rules_;  // one per advice_id, in rule order
};

[[nodiscard]] RTCAP_API const char* to_string(
    Severity severity) noexcept;  // "info", "warning", "critical"
// JSON array of objects: id, severity, trigger, evidence, change, times_fired,
// intervals_triggered, first_fired_ns, last_seen_ns, active. indent < 0: one line.
[[nodiscard]] RTCAP_API std::string to_json(const std::vector<Advice>& advice, int indent = 2);
// For a terminal: "[critical] reader-too-slow (fired 2x)\n  why: ...\n  seen: ...\n  do: ...".
[[nodiscard]] RTCAP_API std::string format_advice(const std::vector<Advice>& advice);

}  // namespace rtcap
