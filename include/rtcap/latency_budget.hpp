// Latency budget: "deliver every packet within 250 us" -> the capture settings that meet it at the
// lowest CPU cost, plus the ring model both the planner and the advisor use.
//
//   auto budget = rtcap::parse_duration_ns("250us");          // Result<std::int64_t>
//   rtcap::LatencyPlan plan = rtcap::plan_for_latency_budget(*budget, config);
//   config = plan.config;                                       // immediate, timeout, coalesce, -B
//   puts(plan.explanation.c_str());
//   ... later: rtcap::budget_met(engine->stats().latency_ns, *budget)
//
// Why the planner decides as it does (docs/TUNING.md has the long form):
//  - Linux, not immediate: TPACKET_V3. A part-filled block reaches user space only when the retire
//    timer fires. The timer counts jiffies (timeout_ms is rounded UP to whole jiffies, 4 ms at
//    HZ=250) and only retires a block that was already current when it was armed, so a packet can
//    wait up to (timeout jiffies + 1) jiffies: 8 ms with timeout 1 ms at HZ=250. V3 is the cheap
//    mode (one wake-up per block), so it is chosen whenever that worst case plus a margin fits.
//  - Linux, immediate: TPACKET_V2, the reader is woken per packet. A coalescing window W (sleep W
//    after a wake-up, then drain) bounds the added delay by W + timer slack + scheduling, and
//    turns ~100,000 wake-ups/s into at most 1/W. W = budget / 3 leaves two thirds of the budget
//    for timer slack (50 us by default on Linux), scheduling and the hand-off.
//  - V2 slots are sized from the snaplen (up to ~64 KiB with offloads on): the ring is sized in
//    packets, never in bytes.
//  - Npcap: the driver signals when mintocopy bytes wait or the timeout expires; mintocopy is
//    sized to the bytes that arrive in a third of the budget, the user buffer to hold them.
#pragma once

#include "rtcap/export.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include "rtcap/config.hpp"
#include "rtcap/error.hpp"
#include "rtcap/histogram.hpp"

namespace rtcap {

enum class CapturePlatform {
  kLinuxLibpcap,  // PF_PACKET rings: TPACKET_V3 (batched) or TPACKET_V2 (immediate mode)
  kNpcap,         // Windows NDIS filter driver: kernel buffer, user buffer, mintocopy
};

// ---- Ring model -------------------------------------------------------------------------------

struct RingModel {
  bool tpacket_v3 = false;         // Linux: V3 (batched) or V2 (immediate); Npcap: false
  std::uint64_t slot_bytes = 0;    // V2: one slot per packet; V3 and Npcap: bytes per packet
  std::uint64_t block_bytes = 0;   // Linux: kernel block size
  std::uint64_t blocks = 0;        // Linux: blocks in the ring
  std::uint64_t packets = 0;       // packets the ring holds (V3/Npcap: at the mean size)
  std::uint64_t memory_bytes = 0;  // what the kernel really maps (blocks x block size)
};

// The resolution of this host's TPACKET_V3 block-retire timer, as the `hz` the model takes.
// Kernels before 6.18 arm it in jiffies (CONFIG_HZ: 250 on Debian 12's 6.1); 6.18 and later arm
// an hrtimer, so a 1 ms timeout is honoured to the ms and we model it as hz = 1000. Measured here
// on 6.18.44 (CONFIG_HZ=250), 2,000 packets/s, --timeout-ms 1: delivery p50 0.61 ms, p99 1.03 ms;
// --timeout-ms 2: p99 1.87 ms (a jiffy timer would give p50 ~2 ms, p99 ~4-8 ms).
// Not Linux: 250 (unused there).
[[nodiscard]] RTCAP_API int host_v3_retire_hz() noexcept;
// The ring model's facts and functions (V2 slot and V3 block sizes, Npcap's defaults, the retire
// timer in jiffies, the buffer for a given stall) are internal: src/stats/latency_model.hpp.

// ---- Budgets ----------------------------------------------------------------------------------

// "250us", "2ms", "1.5ms", "0.5 s", "800ns", "250µs". A unit is required; the value must be > 0.
[[nodiscard]] RTCAP_API Result<std::int64_t> parse_duration_ns(std::string_view text);
// The same text, in nanoseconds as written (not rounded, no range checked beyond > 0): for
// callers with their own rules (rtcap gen's --ptime must be a whole number of ns).
[[nodiscard]] RTCAP_API Result<double> parse_duration(std::string_view text);
// The short human form: "250us", "1.5ms", "2s".
[[nodiscard]] RTCAP_API std::string format_duration_ns(std::int64_t ns);

struct TrafficProfile {
  double packets_per_second = 100'000;  // expected rate (the project's design point)
  double mean_packet_bytes = 90;        // AES67 L24 stereo 125 us: 36-byte payload, 90-byte frame
  int max_packet_bytes = 0;             // largest frame expected; > 0 lets V2 use a small snaplen
  CapturePlatform platform = CapturePlatform::kLinuxLibpcap;
  int hz = 250;  // kernel CONFIG_HZ (Debian 12: 250)
  // How long the reader may stall (descheduled, page faults, a slow writer) without drops. An
  // assumption for a shared 2-core host, to be replaced by docs/TUNING.md "Measured here".
  std::int64_t stall_tolerance_ns = 100'000'000;
  std::uint64_t max_buffer_bytes = 256ull << 20;  // never ask the kernel for more than this
  // Room kept for wake-up and scheduling on top of the modelled delay. Assumptions, to be
  // measured: V3 keeps 2 ms for the reader to run after a block retires; immediate mode 100 us.
  std::int64_t v3_margin_ns = 2'000'000;
  std::int64_t immediate_margin_ns = 100'000;
  std::int64_t timer_slack_ns = 50'000;  // Linux default timer slack (prctl PR_SET_TIMERSLACK)
  int max_coalesce_us = 2000;  // past ~100 packets per drain at 100 kpps more window buys nothing
  std::uint64_t npcap_user_buffer_bytes = 256'000;  // current, if known (Npcap default: 256,000)
};

struct LatencyPlan {
  std::int64_t budget_ns = 0;
  CaptureConfig config;  // the base config with the fields below set
  bool immediate_mode = false;
  int timeout_ms = 1;
  int coalesce_us = 0;
  int buffer_kib = 0;
  int snaplen = kMaxSnaplen;
  RingModel ring;                            // the ring the chosen buffer gives
  std::int64_t stall_tolerance_ns = 0;       // reader stall the ring absorbs at the expected rate
  std::int64_t modelled_worst_delay_ns = 0;  // capture delay the model predicts (no consumer)
  double wakeups_per_second = 0;             // modelled, at the expected rate
  // Npcap only; also set in config.mintocopy_bytes / config.user_buffer_bytes (--mintocopy,
  // --user-buffer). Immediate mode leaves mintocopy to Npcap (it uses 0).
  std::uint64_t npcap_mintocopy_bytes = 0;
  std::uint64_t npcap_user_buffer_bytes = 0;
  std::uint64_t npcap_kernel_buffer_bytes = 0;
  bool best_effort = false;  // the budget is below what this host can promise; measure it
  // Several lines, one decision per line, with the numbers; a setting appears as ${name} (the
  // CaptureConfig member) for each front end to name its own way. The settings themselves are
  // `config` (data).
  std::string explanation;
};

// Pure: same inputs, same plan. Fields of `base` other than immediate_mode, timeout_ms,
// coalesce_us, buffer_kib, (V2 with a known max_packet_bytes) snaplen and (Npcap)
// mintocopy_bytes / user_buffer_bytes are kept. base.user_buffer_bytes, when set, is the current
// Npcap user buffer (it overrides traffic.npcap_user_buffer_bytes).
// coalesce_us with -1 (automatic) resolved for `platform` (see effective_coalesce_us).
[[nodiscard]] RTCAP_API int coalesce_us_on(const CaptureConfig& config,
                                           CapturePlatform platform) noexcept;

[[nodiscard]] RTCAP_API LatencyPlan plan_for_latency_budget(std::int64_t budget_ns,
                                                            const CaptureConfig& base = {},
                                                            const TrafficProfile& traffic = {});

// True when the `quantile` of the measured latency is within budget. The histogram reports the
// upper edge of a bucket (<= 3.1% high), so this errs on the side of "not met". An empty
// histogram proves nothing and returns false.
[[nodiscard]] RTCAP_API bool budget_met(const HistogramData& latency, std::int64_t budget_ns,
                                        double quantile = 0.99) noexcept;

}  // namespace rtcap
