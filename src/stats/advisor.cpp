#include "rtcap/advisor.hpp"
#include "engine/config_table.hpp"
#include "stats/latency_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

namespace rtcap {

namespace {

constexpr const auto& kRuleOrder = advice_id::kAll;

// Running totals only grow; a smaller value means a new engine (or a wrapped counter that the
// engine failed to widen): count from zero again.
std::uint64_t delta(std::uint64_t now, std::uint64_t before) noexcept {
  return now >= before ? now - before : now;
}

// Calls in the interval whose value reached `threshold` (bucket upper edge, so within 3.1%).
std::uint64_t count_at_least(const HistogramData& h, double threshold) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < h.buckets.size(); ++i)
    if (h.buckets[i] && double(histogram_bucket_upper(i)) >= threshold) n += h.buckets[i];
  return n;
}

std::uint64_t max_buffer_bytes(const CaptureStats& s) noexcept {
  std::uint64_t b = 0;
  for (const auto& i : s.interfaces) b = std::max(b, i.buffer_bytes);
  return b;
}

std::uint64_t round_up(std::uint64_t n, std::uint64_t to) noexcept {
  return to ? (n + to - 1) / to * to : n;
}

std::uint64_t ceil_kib(std::uint64_t bytes) noexcept { return (bytes + 1023) / 1024; }

std::string pct(double share) { return fmt::format("{:.0f}%", share * 100.0); }

struct Interval {
  std::int64_t ns = 0;
  double seconds = 0;
  std::uint64_t captured = 0, bytes = 0, truncated = 0, app_dropped = 0, delivered = 0;
  std::uint64_t wakeups = 0, dispatch_calls = 0, empty_dispatch_calls = 0;
  std::uint64_t kernel_dropped = 0, interface_dropped = 0, received = 0;
  std::int64_t cpu_ns = 0;
  std::int64_t callback_ns = 0;
  bool cpu_known = false;
  double cpu_share = 0;
  bool max_dispatch_grew = false;
  std::uint64_t buffer_bytes = 0;
  double rate_pps = 0;
  double mean_bytes = 0;
  HistogramData dispatch_packets, dispatch_bytes, latency_ns;

  [[nodiscard]] bool busy(const AdvisorConfig& c) const noexcept {
    const bool never_empty = dispatch_calls >= 10 && empty_dispatch_calls == 0;
    if (!cpu_known) return never_empty;
    return cpu_share >= c.busy_cpu_share || (never_empty && cpu_share >= c.busy_cpu_share / 2);
  }
  // The kernel dropped while the capture thread waited on the consumer (rule 11): the cause is
  // the consumer, whatever the CPU share or the ring's size.
  [[nodiscard]] bool consumer_stalled(const AdvisorConfig& c) const noexcept {
    return kernel_dropped > 0 && ns > 0 && double(callback_ns) >= c.callback_share * double(ns);
  }
};

Interval make_interval(const CaptureStats& now, const CaptureStats& before) {
  Interval d;
  d.ns = now.elapsed_ns - before.elapsed_ns;
  d.seconds = double(d.ns) / 1e9;
  d.captured = delta(now.packets_captured, before.packets_captured);
  d.bytes = delta(now.bytes_captured, before.bytes_captured);
  d.truncated = delta(now.packets_truncated, before.packets_truncated);
  d.app_dropped = delta(now.app_dropped_packets, before.app_dropped_packets);
  d.delivered = delta(now.packets_delivered, before.packets_delivered);
  d.wakeups = delta(now.wakeups, before.wakeups);
  d.dispatch_calls = delta(now.dispatch_calls, before.dispatch_calls);
  d.empty_dispatch_calls = delta(now.empty_dispatch_calls, before.empty_dispatch_calls);
  d.kernel_dropped = delta(now.kernel_dropped(), before.kernel_dropped());
  d.interface_dropped = delta(now.interface_dropped(), before.interface_dropped());
  d.received = delta(now.received(), before.received());
  d.cpu_ns = now.capture_cpu_ns >= before.capture_cpu_ns
                 ? now.capture_cpu_ns - before.capture_cpu_ns
                 : now.capture_cpu_ns;
  d.callback_ns = now.callback_ns >= before.callback_ns ? now.callback_ns - before.callback_ns
                                                        : now.callback_ns;
  d.cpu_known = d.cpu_ns > 0;
  d.cpu_share = d.ns > 0 ? double(d.cpu_ns) / double(d.ns) : 0;
  d.max_dispatch_grew = now.max_dispatch_bytes > before.max_dispatch_bytes;
  d.buffer_bytes = max_buffer_bytes(now);
  // ps_recv counts what passed the filter, drops included (Linux; Npcap >= 1.76); when a platform
  // reports nothing, what we captured plus what was dropped is the best estimate of the offer.
  const std::uint64_t offered = std::max(d.received, d.captured + d.kernel_dropped);
  d.rate_pps = d.seconds > 0 ? double(offered) / d.seconds : 0;
  d.mean_bytes = d.captured ? double(d.bytes) / double(d.captured) : 0;
  d.dispatch_packets = now.dispatch_packets.minus(before.dispatch_packets);
  d.dispatch_bytes = now.dispatch_bytes.minus(before.dispatch_bytes);
  d.latency_ns = now.latency_ns.minus(before.latency_ns);
  return d;
}

struct Finding {
  Severity severity = Severity::kInfo;
  std::string trigger, evidence, change;
  std::vector<SettingChange> settings;
};
using MaybeFinding = std::optional<Finding>;

struct Context {
  const AdvisorInput& in;
  const AdvisorConfig& cfg;
  const Interval& d;
  double peak_pps;
  [[nodiscard]] bool npcap() const noexcept { return in.platform == CapturePlatform::kNpcap; }
  [[nodiscard]] double mean_bytes() const noexcept {
    return d.mean_bytes > 0 ? d.mean_bytes : 90.0;
  }
  [[nodiscard]] std::uint64_t buffer_bytes() const noexcept {
    if (d.buffer_bytes) return d.buffer_bytes;
    return std::uint64_t(std::max(in.config.buffer_kib, 0)) * 1024;
  }
};

// ---- Rule 1: one read carried (almost) the whole buffer ----------------------------------------
MaybeFinding rule_dispatch_fills_buffer(const Context& x) {
  const auto& d = x.d;
  if (d.dispatch_calls == 0 || d.consumer_stalled(x.cfg)) return std::nullopt;
  if (x.npcap()) {
    // One read returns at most one user buffer (Npcap): a full one means packets were left behind
    // in the kernel buffer that one bigger read would have taken (maintainers' notes).
    const std::uint64_t known = x.in.npcap_user_buffer_bytes
                                    ? x.in.npcap_user_buffer_bytes
                                    : std::uint64_t(std::max(x.in.config.user_buffer_bytes, 0));
    const bool assumed = known == 0;
    const std::uint64_t user = assumed ? kNpcapDefaultUserBufferBytes : known;
    const double threshold = x.cfg.dispatch_share * double(user);
    std::uint64_t near_full = count_at_least(d.dispatch_bytes, threshold);
    if (d.max_dispatch_grew && double(x.in.stats.max_dispatch_bytes) >= threshold)
      near_full = std::max<std::uint64_t>(near_full, 1);
    if (!near_full) return std::nullopt;
    const std::uint64_t raised = std::max<std::uint64_t>(round_up(2 * user, 65536), 1ull << 20);
    Finding f;
    f.severity = d.kernel_dropped ? Severity::kCritical : Severity::kWarning;
    f.trigger = fmt::format("a pcap_dispatch call carried >= {} of the Npcap user buffer",
                            pct(x.cfg.dispatch_share));
    f.evidence = fmt::format(
        "{} of {} reads this interval carried >= {:.0f} bytes; user buffer {} bytes{}; largest "
        "read so far {} bytes ({} of it); kernel drops this interval: {}",
        near_full, d.dispatch_calls, threshold, user, assumed ? " (Npcap default, assumed)" : "",
        x.in.stats.max_dispatch_bytes, pct(double(x.in.stats.max_dispatch_bytes) / double(user)),
        d.kernel_dropped);
    f.change = fmt::format(
        "${{user_buffer_bytes}} {} (pcap_setuserbuffer): reads are full, so packets wait in the "
        "kernel buffer for the next call; keep ${{mintocopy_bytes}} at most {} (half of it)",
        raised, raised / 2);
    f.settings = {{"user_buffer_bytes", std::to_string(raised), "reads are full"},
                  {"mintocopy_bytes", std::to_string(raised / 2), "at most half the user buffer"}};
    return f;
  }
  // Linux: one pcap_dispatch(-1) drains every block/slot already in user space, so a call that
  // carried ~the whole ring found the ring ~full: the reader came back just before drops.
  const std::uint64_t buffer = x.buffer_bytes();
  if (!buffer) return std::nullopt;
  const RingModel ring = linux_ring_model(x.in.config, buffer, x.mean_bytes());
  const double threshold_packets = x.cfg.dispatch_share * double(ring.packets);
  std::uint64_t near_full =
      ring.packets ? count_at_least(d.dispatch_packets, threshold_packets) : 0;
  if (d.max_dispatch_grew && x.in.stats.max_dispatch_buffer_share >= x.cfg.dispatch_share)
    near_full = std::max<std::uint64_t>(near_full, 1);
  if (!near_full) return std::nullopt;
  const std::uint64_t kib = buffer / 1024;
  Finding f;
  f.severity = d.kernel_dropped ? Severity::kCritical : Severity::kWarning;
  f.trigger = fmt::format("a pcap_dispatch call carried >= {} of the kernel ring",
                          pct(x.cfg.dispatch_share));
  f.evidence = fmt::format(
      "{} of {} calls this interval carried >= {:.0f} packets; the ring ({} KiB, {}) holds ~{} "
      "packets of ~{:.0f} bytes; largest call so far {} bytes ({} of the buffer); kernel drops "
      "this interval: {}",
      near_full, d.dispatch_calls, threshold_packets, kib,
      ring.tpacket_v3 ? "TPACKET_V3 blocks" : "TPACKET_V2 slots", ring.packets, x.mean_bytes(),
      x.in.stats.max_dispatch_bytes, pct(x.in.stats.max_dispatch_buffer_share), d.kernel_dropped);
  f.change = fmt::format(
      "${{buffer_kib}} {} (twice the ring): the reader came back to a nearly full ring; also check "
      "why it was "
      "late (rule {})",
      std::max<std::uint64_t>(2 * kib, 1024), advice_id::kReaderTooSlow);
  f.settings = {{"buffer_kib", std::to_string(std::max<std::uint64_t>(2 * kib, 1024)),
                 "the reader came back to a nearly full ring"}};
  return f;
}

// ---- Rules 2 and 3: kernel drops, with the capture thread busy or not ---------------------------
std::string reader_fixes(const Context& x) {
  std::vector<std::string> fixes;
  // (The naive baseline, a benchmark mode, is no longer a CaptureConfig field the rules can see:
  // src/engine/baseline.hpp.)
  if (x.in.config.filter.empty())
    fixes.push_back(
        "add a BPF filter for the streams you need, e.g. 'udp dst portrange 5004-5099', so the "
        "kernel discards the rest before the ring");
  else
    fixes.push_back(
        fmt::format("tighten the BPF filter '{}' to the streams you need", x.in.config.filter));
  if (x.in.config.delivery == Delivery::kInline)
    fixes.push_back(
        "the writer and the analysis run on the capture thread (inline delivery): if they are "
        "what is slow, threaded delivery (${delivery}) moves them behind a hand-off, and a larger "
        "${buffer_kib} absorbs their stalls meanwhile");
  else
    fixes.push_back(
        "keep per-packet work off the capture thread: the callback only copies, the consumer "
        "thread (stream analysis, writer) does the rest");
  if (x.in.config.immediate_mode && x.d.captured && x.d.wakeups * 2 >= x.d.captured)
    fixes.push_back(
        "${coalesce_us} N (about a third of your latency budget; the latency planner computes it) "
        "so "
        "one wake-up drains many packets");
  fixes.push_back(
      "only then a larger ${buffer_kib}: a bigger buffer merely delays drops when the reader is "
      "too slow");
  std::string out;
  for (std::size_t i = 0; i < fixes.size(); ++i)
    out += fmt::format("{}{}) {}", i ? "; " : "", i + 1, fixes[i]);
  return out;
}

MaybeFinding rule_reader_too_slow(const Context& x) {
  const auto& d = x.d;
  if (d.kernel_dropped == 0 || !d.busy(x.cfg) || d.consumer_stalled(x.cfg)) return std::nullopt;
  Finding f;
  f.severity = Severity::kCritical;
  f.trigger = "kernel drops (ps_drop) rising while the capture thread is busy";
  f.evidence = fmt::format(
      "{} kernel drops in {:.2f} s at ~{:.0f} packets/s; capture thread CPU {} of the interval{}; "
      "{} dispatch calls, {} empty",
      d.kernel_dropped, d.seconds, d.rate_pps, d.cpu_known ? pct(d.cpu_share) : std::string("n/a"),
      d.cpu_known ? "" : " (not measured)", d.dispatch_calls, d.empty_dispatch_calls);
  f.change = "the reader is too slow: " + reader_fixes(x);
  return f;
}

MaybeFinding rule_burst_drops(const Context& x) {
  const auto& d = x.d;
  if (d.kernel_dropped == 0 || d.busy(x.cfg) || d.consumer_stalled(x.cfg)) return std::nullopt;
  const double peak = std::max(x.peak_pps, d.rate_pps);
  const std::uint64_t now_bytes = x.buffer_bytes();
  std::uint64_t want = buffer_bytes_for_stall(x.in.config, x.in.platform, x.cfg.ring_min_hold_ns,
                                              peak, x.mean_bytes(), x.cfg.hz);
  want = std::max(want, 2 * now_bytes);
  const std::uint64_t kib = round_up((want + 1023) / 1024, 1024);  // whole MiB
  Finding f;
  f.severity = Severity::kCritical;
  f.trigger = "kernel drops while the capture thread is mostly idle (bursts, or brief stalls)";
  f.evidence = fmt::format(
      "{} kernel drops in {:.2f} s; capture thread CPU {}; average {:.0f} packets/s, peak "
      "interval {:.0f} packets/s; buffer now {} KiB",
      d.kernel_dropped, d.seconds, d.cpu_known ? pct(d.cpu_share) : std::string("n/a"), d.rate_pps,
      peak, now_bytes / 1024);
  std::string ring_note;
  if (x.in.platform == CapturePlatform::kLinuxLibpcap && x.in.config.immediate_mode &&
      linux_v2_slot_bytes(linux_v2_snaplen(x.in.config)) > 4096)
    ring_note =
        fmt::format(" (V2 slots are {} bytes each here; ${{snaplen}} 256 makes them {})",
                    linux_v2_slot_bytes(linux_v2_snaplen(x.in.config)), linux_v2_slot_bytes(256));
  f.change = fmt::format(
      "${{buffer_kib}} {}: enough for {} of traffic at the peak {:.0f} packets/s{}; a larger "
      "kernel buffer "
      "absorbs bursts while the reader catches up in the lulls",
      kib, format_duration_ns(x.cfg.ring_min_hold_ns), peak, ring_note);
  f.settings = {{"buffer_kib", std::to_string(kib), "absorb bursts while the reader catches up"}};
  return f;
}

// ---- Rule 4: immediate mode costs CPU while latency has slack ----------------------------------
MaybeFinding rule_immediate_costs_cpu(const Context& x) {
  const auto& d = x.d;
  const std::int64_t budget = x.cfg.latency_budget_ns;
  if (!x.in.config.immediate_mode || budget <= 0 || d.captured < x.cfg.min_interval_packets)
    return std::nullopt;
  const std::uint64_t full_calls =
      d.dispatch_calls - std::min(d.dispatch_calls, d.empty_dispatch_calls);
  const double per_dispatch = full_calls ? double(d.captured) / double(full_calls) : 0;
  const double wake_share = double(d.wakeups) / double(d.captured);
  const bool costly = wake_share >= x.cfg.immediate_wakeup_share ||
                      (full_calls && per_dispatch <= x.cfg.immediate_packets_per_dispatch);
  if (!costly || d.latency_ns.count == 0) return std::nullopt;
  const std::uint64_t p99 = d.latency_ns.percentile(0.99);
  if (double(p99) > x.cfg.latency_slack_share * double(budget)) return std::nullopt;

  TrafficProfile t;
  t.packets_per_second = std::max(x.peak_pps, d.rate_pps);
  t.mean_packet_bytes = x.mean_bytes();
  t.platform = x.in.platform;
  t.hz = x.cfg.hz;
  if (x.in.npcap_user_buffer_bytes) t.npcap_user_buffer_bytes = x.in.npcap_user_buffer_bytes;
  const LatencyPlan plan = plan_for_latency_budget(budget, x.in.config, t);
  std::string change;
  if (!plan.immediate_mode)
    change = fmt::format(
        "${{immediate_mode}} off; ${{timeout_ms}} {} ${{buffer_kib}} {} (batched capture meets {})",
        plan.timeout_ms, plan.buffer_kib, format_duration_ns(budget));
  else if (plan.coalesce_us > coalesce_us_on(x.in.config, x.in.platform))
    change = fmt::format("${{coalesce_us}} {} (a third of the {} budget, capped)", plan.coalesce_us,
                         format_duration_ns(budget));
  else
    return std::nullopt;  // already as batched as the budget allows
  Finding f;
  f.severity = Severity::kWarning;
  f.trigger = "immediate mode wakes up per packet while latency is well inside the budget";
  f.evidence = fmt::format(
      "{} wake-ups for {} packets ({} of packets), {:.1f} packets per dispatch; p99 latency {} "
      "against a budget of {}; capture thread CPU {}",
      d.wakeups, d.captured, pct(wake_share), per_dispatch, format_duration_ns(std::int64_t(p99)),
      format_duration_ns(budget), d.cpu_known ? pct(d.cpu_share) : std::string("n/a"));
  // The plan's second line is the decision (the first restates the inputs).
  const std::size_t first_nl = plan.explanation.find('\n');
  const std::string decision =
      first_nl == std::string::npos
          ? plan.explanation
          : plan.explanation.substr(first_nl + 1,
                                    plan.explanation.find('\n', first_nl + 1) - first_nl - 1);
  f.change = change + ". Why: " + decision;
  if (!plan.immediate_mode)
    f.settings = {{"immediate_mode", "false", decision},
                  {"timeout_ms", std::to_string(plan.timeout_ms), decision},
                  {"buffer_kib", std::to_string(plan.buffer_kib), decision}};
  else
    f.settings = {{"coalesce_us", std::to_string(plan.coalesce_us), decision}};
  return f;
}

// ---- Rule 5: the consumer throws most packets away ----------------------------------------------
MaybeFinding rule_consumer_discards(const Context& x) {
  if (!x.in.streams || x.d.captured < x.cfg.min_interval_packets) return std::nullopt;
  const std::uint64_t discarded = x.in.streams->consumer_discarded;
  const double share = double(discarded) / double(x.d.captured);
  if (share < x.cfg.discard_share) return std::nullopt;
  Finding f;
  f.severity = Severity::kWarning;
  f.trigger =
      fmt::format("the consumer discarded >= {} of the captured packets", pct(x.cfg.discard_share));
  f.evidence = fmt::format("{} of {} captured packets discarded ({}) this interval; filter: {}",
                           discarded, x.d.captured, pct(share),
                           x.in.config.filter.empty() ? "none" : "'" + x.in.config.filter + "'");
  f.change = x.in.config.filter.empty()
                 ? "add a BPF filter (${filter}, e.g. 'udp dst portrange 5004-5099'): the "
                   "kernel/driver then drops them before the ring, the copy and the hand-off"
                 : fmt::format(
                       "tighten the BPF filter '{}' so the kernel/driver drops what the "
                       "consumer throws away",
                       x.in.config.filter);
  return f;
}

// ---- Rule 6: snaplen cuts packets
// ----------------------------------------------------------------
MaybeFinding rule_snaplen_truncates(const Context& x) {
  if (x.d.truncated == 0) return std::nullopt;
  Finding f;
  f.severity = Severity::kWarning;
  f.trigger = "caplen < len: the snaplen is cutting packets";
  const bool automatic =
      !x.npcap() && x.in.config.immediate_mode && snaplen_is_automatic(x.in.config);
  f.evidence =
      fmt::format("{} of {} packets truncated this interval; snaplen {}", x.d.truncated,
                  x.d.captured, automatic ? linux_v2_snaplen(x.in.config) : x.in.config.snaplen);
  f.change = "${snaplen} 0 (whole packets, 262144) or a snaplen at least the largest frame";
  f.settings = {{"snaplen", "0", "whole packets"}};
  if (automatic) {
    f.settings = {{"snaplen", std::to_string(kLinuxOffloadMaxFrameBytes),
                   "offload aggregates whole (0 is the automatic MTU + 22 here)"}};
    f.change = fmt::format(
        "immediate mode's automatic snaplen is the MTU + {}: these are offload (GRO/GSO/TSO) "
        "aggregates larger than the MTU; ${{snaplen}} {} keeps them whole, with V2 slots of {} "
        "bytes "
        "(raise ${{buffer_kib}} with it)",
        kLinuxV2SnaplenOverMtu, kLinuxOffloadMaxFrameBytes,
        linux_v2_slot_bytes(kLinuxOffloadMaxFrameBytes));
  } else if (x.npcap())
    f.change += "; keep ${user_buffer_bytes} at least snaplen + 20 bytes (npcap issue 119)";
  else if (x.in.config.immediate_mode)
    f.change += fmt::format(
        "; in immediate mode a V2 slot is snaplen + {} bytes, so raise ${{buffer_kib}} with it",
        kLinuxV2SlotHeaderBytes);
  return f;
}

// ---- Rule 7: V2 ring with 64 KiB slots for tiny packets -----------------------------------------
MaybeFinding rule_ring_too_few_slots(const Context& x) {
  const auto& d = x.d;
  if (x.npcap() || !x.in.config.immediate_mode || d.captured == 0) return std::nullopt;
  if (d.mean_bytes > x.cfg.small_packet_bytes) return std::nullopt;
  const std::uint64_t buffer = x.buffer_bytes();
  if (!buffer) return std::nullopt;
  const RingModel ring = linux_ring_model(x.in.config, buffer, d.mean_bytes);
  // "Sized for big packets": a slot at least 16 times the mean packet.
  if (double(ring.slot_bytes) < 16 * d.mean_bytes) return std::nullopt;
  const double rate = std::max(x.peak_pps, d.rate_pps);
  if (rate <= 0) return std::nullopt;
  const double hold_ns = double(ring.packets) / rate * 1e9;
  if (hold_ns >= double(x.cfg.ring_min_hold_ns)) return std::nullopt;

  const int snap =
      int(std::max<std::uint64_t>(256, std::bit_ceil(std::uint64_t(std::ceil(2 * d.mean_bytes)))));
  CaptureConfig small = x.in.config;
  small.snaplen = snap;
  const RingModel same_memory = linux_ring_model(small, buffer, d.mean_bytes);
  const std::uint64_t small_kib =
      std::max(buffer / 1024, round_up(ceil_kib(buffer_bytes_for_stall(
                                           small, CapturePlatform::kLinuxLibpcap,
                                           x.cfg.ring_min_hold_ns, rate, d.mean_bytes, x.cfg.hz)),
                                       1024));
  const RingModel small_ring = linux_ring_model(small, small_kib * 1024, d.mean_bytes);
  const std::uint64_t whole_kib = round_up(
      ceil_kib(buffer_bytes_for_stall(x.in.config, CapturePlatform::kLinuxLibpcap,
                                      x.cfg.ring_min_hold_ns, rate, d.mean_bytes, x.cfg.hz)),
      1024);
  const RingModel whole_ring = linux_ring_model(x.in.config, whole_kib * 1024, d.mean_bytes);
  auto hold = [&](const RingModel& r) {
    return format_duration_ns(std::int64_t(double(r.packets) / rate * 1e9));
  };
  Finding f;
  f.severity = d.kernel_dropped ? Severity::kCritical : Severity::kWarning;
  f.trigger =
      "immediate mode (TPACKET_V2) with slots sized for ~64 KiB packets while the traffic is tiny";
  f.evidence = fmt::format(
      "mean {:.0f} bytes per packet; {} KiB buffer = {} slots of {} bytes ({} KiB mapped), {} at "
      "{:.0f} packets/s; kernel drops this interval: {}",
      d.mean_bytes, buffer / 1024, ring.packets, ring.slot_bytes, ring.memory_bytes / 1024,
      hold(ring), rate, d.kernel_dropped);
  // The smaller buffer is worth naming only when it differs from the one in use.
  const std::string smaller =
      small_kib == buffer / 1024
          ? std::string()
          : fmt::format("; ${{snaplen}} {} ${{buffer_kib}} {} holds {} ({})", snap, small_kib,
                        small_ring.packets, hold(small_ring));
  f.change = fmt::format(
      "the ring holds only {} packets: size it in packets. ${{snaplen}} {} makes a slot {} bytes, "
      "so "
      "the same {} KiB holds {} packets ({}){}. Keeping whole-packet slots would need "
      "${{buffer_kib}} {} ({} MiB "
      "mapped: libpcap rounds each block up to a power of two)",
      ring.packets, snap, same_memory.slot_bytes, buffer / 1024, same_memory.packets,
      hold(same_memory), smaller, whole_kib, whole_ring.memory_bytes >> 20);
  return f;
}

// ---- Rule 8: promiscuous mode that gains nothing
// -------------------------------------------------
MaybeFinding rule_promiscuous_unneeded(const Context& x) {
  if (!x.in.config.promiscuous || !x.in.streams || x.d.captured == 0) return std::nullopt;
  if (x.in.streams->all_unicast_to_one_destination != true) return std::nullopt;
  Finding f;
  f.severity = Severity::kInfo;
  f.trigger = "promiscuous mode on, and every packet seen is unicast to one destination";
  f.evidence =
      fmt::format("{} packets this interval, all unicast to a single destination", x.d.captured);
  f.change = "${promiscuous} off: promiscuous mode likely gains nothing on a switched network";
  f.settings = {{"promiscuous", "false", "every packet seen is unicast to one destination"}};
  if (!x.npcap())
    f.change +=
        " (but on Linux ps_ifdrop, the NIC drop count, is only reported in promiscuous mode)";
  return f;
}

// ---- Rule 9: the application queue overflowed
// ----------------------------------------------------
MaybeFinding rule_app_queue_drops(const Context& x) {
  if (x.d.app_dropped == 0) return std::nullopt;
  const auto& c = x.in.config;
  const std::size_t pool = std::max<std::size_t>(c.pool_batches, 1);
  Finding f;
  f.severity = Severity::kCritical;
  f.trigger = "packets dropped in rtcap: no free batch (the consumer is behind)";
  f.evidence = fmt::format(
      "{} packets dropped for want of a batch this interval, {} delivered; pool {} batches x {} "
      "packets / {} KiB; overflow policy {}",
      x.d.app_dropped, x.d.delivered, c.pool_batches, c.batch_packets, c.batch_bytes / 1024,
      c.overflow == OverflowPolicy::kDrop ? "drop" : "block");
  f.change = fmt::format(
      "the consumer is too slow: ${{pool_batches}} {} (more slack for bursts; {} MiB of batches)",
      2 * pool, (2 * pool * c.batch_bytes + (1u << 20) - 1) >> 20);
  f.settings = {{"pool_batches", std::to_string(2 * pool), "more slack for bursts"}};
  if (c.overflow == OverflowPolicy::kDrop)
    f.change += "; or ${overflow} block (the kernel ring absorbs the wait, its drops are counted)";
  f.change += "; or lighten the consumer (no per-packet output, write to a fast disk)";
  return f;
}

// ---- Rule 10: loss before the capture
// ------------------------------------------------------------
MaybeFinding rule_loss_before_capture(const Context& x) {
  if (!x.in.streams || x.in.streams->sequence_lost == 0) return std::nullopt;
  const auto& d = x.d;
  if (d.kernel_dropped || d.interface_dropped || d.app_dropped) return std::nullopt;
  Finding f;
  f.severity = Severity::kInfo;
  f.trigger = "RTP sequence gaps while the capture dropped nothing";
  f.evidence = fmt::format(
      "{} packets missing from tracked streams this interval; kernel drops 0, interface drops 0, "
      "rtcap queue drops 0",
      x.in.streams->sequence_lost);
  f.change =
      "nothing to change in rtcap: the packets were lost before the capture point (sender, "
      "switch, router, firewall or the NIC); check switch port counters and the sender";
  if (!x.npcap())
    f.change += x.in.config.promiscuous ? "; 'ethtool -S' shows NIC-level drops"
                                        : "; without ${promiscuous} Linux does not report NIC "
                                          "drops (ps_ifdrop): check 'ethtool -S'";
  return f;
}

// ---- Rule 11: the consumer stalls the capture thread --------------------------------------------
MaybeFinding rule_consumer_stalls(const Context& x) {
  const auto& d = x.d;
  if (!d.consumer_stalled(x.cfg)) return std::nullopt;
  const auto& c = x.in.config;
  const bool inline_delivery = c.delivery == Delivery::kInline;
  Finding f;
  f.severity = Severity::kCritical;
  f.trigger = inline_delivery
                  ? "kernel drops while the capture thread waited inside the batch callback"
                  : "kernel drops while the capture thread waited for the consumer to free a "
                    "batch";
  f.evidence = fmt::format(
      "{} kernel drops in {:.2f} s; the capture thread spent {} ({}) of the interval in the "
      "consumer's hands; capture thread CPU {}",
      d.kernel_dropped, d.seconds, format_duration_ns(d.callback_ns),
      pct(double(d.callback_ns) / double(d.ns)),
      d.cpu_known ? pct(d.cpu_share) : std::string("n/a"));
  if (inline_delivery) {
    f.change =
        "the consumer stalls capture: the batch callback (a writer blocked on a full pipe or a "
        "slow disk, or the analysis) did not return while packets arrived. Threaded delivery "
        "(${delivery}) "
        "lets the capture thread go on reading while the consumer catches up (a stall longer "
        "than the pool is counted as rtcap drops); or make the reader faster. A larger "
        "${buffer_kib} only delays these drops";
    f.settings = {{"delivery", "threaded", "the consumer's stalls no longer stop the reading"}};
  } else {
    f.change =
        "the consumer stalls capture: it did not give batches back (a writer blocked on a full "
        "pipe or a slow disk, or the analysis), and the block policy waits for it. Make the "
        "reader faster; ${overflow} drop keeps reading and counts what the consumer cannot "
        "take as rtcap drops. A larger ${buffer_kib} only delays these drops";
    f.settings = {{"overflow", "drop", "capture goes on reading while the consumer stalls"}};
  }
  return f;
}

using RuleFn = MaybeFinding (*)(const Context&);
constexpr RuleFn kRules[] = {
    rule_dispatch_fills_buffer, rule_reader_too_slow,      rule_burst_drops,
    rule_immediate_costs_cpu,   rule_consumer_discards,    rule_snaplen_truncates,
    rule_ring_too_few_slots,    rule_promiscuous_unneeded, rule_app_queue_drops,
    rule_loss_before_capture,   rule_consumer_stalls,
};
static_assert(std::size(kRules) == std::size(kRuleOrder));

}  // namespace

Advisor::Advisor(AdvisorConfig config) : config_(config) {
  config_.fire_after = std::max(config_.fire_after, 1);
  config_.clear_after = std::max(config_.clear_after, 1);
  reset();
}

void Advisor::reset() {
  previous_.reset();
  peak_pps_ = 0;
  rules_.clear();
  for (const char* id : kRuleOrder) {
    RuleState s;
    s.advice.id = id;
    rules_.push_back(std::move(s));
  }
}

Advisor::RuleState& Advisor::state(const char* id) {
  for (auto& r : rules_)
    if (r.advice.id == id) return r;
  return rules_.front();  // unreachable: every id is created in reset()
}

std::vector<Advice> Advisor::update(const AdvisorInput& input) {
  const CaptureStats zero;
  const CaptureStats* before = previous_ ? &*previous_ : &zero;
  // A new engine (elapsed went backwards) starts from zero again.
  if (input.stats.elapsed_ns < before->elapsed_ns ||
      input.stats.packets_captured < before->packets_captured)
    before = &zero;
  if (input.stats.elapsed_ns <= before->elapsed_ns) return {};  // the same snapshot twice

  const Interval d = make_interval(input.stats, *before);
  peak_pps_ = std::max(peak_pps_, d.rate_pps);
  const Context x{input, config_, d, peak_pps_};

  std::vector<Advice> fired;
  for (std::size_t i = 0; i < std::size(kRules); ++i) {
    RuleState& s = state(kRuleOrder[i]);
    MaybeFinding f = kRules[i](x);
    if (f) {
      ++s.consecutive_true;
      s.consecutive_false = 0;
      ++s.advice.intervals_triggered;
      s.advice.last_seen_ns = input.stats.elapsed_ns;
      s.advice.severity = f->severity;
      s.advice.trigger = std::move(f->trigger);
      s.advice.evidence = std::move(f->evidence);
      s.advice.change = std::move(f->change);
      s.advice.settings = std::move(f->settings);
      if (!s.advice.active && s.consecutive_true >= config_.fire_after) {
        s.advice.active = true;
        if (++s.advice.times_fired == 1) s.advice.first_fired_ns = input.stats.elapsed_ns;
        fired.push_back(s.advice);
      }
    } else {
      s.consecutive_true = 0;
      if (s.advice.active && ++s.consecutive_false >= config_.clear_after) {
        s.advice.active = false;
        s.consecutive_false = 0;
      }
    }
  }
  previous_ = input.stats;
  return fired;
}

std::vector<Advice> Advisor::summary() const {
  std::vector<Advice> out;
  for (const auto& r : rules_)
    if (r.advice.times_fired > 0) out.push_back(r.advice);
  return out;
}

std::vector<Advice> Advisor::active() const {
  std::vector<Advice> out;
  for (const auto& r : rules_)
    if (r.advice.active) out.push_back(r.advice);
  return out;
}

const char* to_string(Severity severity) noexcept {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "info";
}

namespace {
nlohmann::json settings_json(const std::vector<SettingChange>& settings) {
  nlohmann::json out = nlohmann::json::array();
  for (const SettingChange& c : settings)
    out.push_back({{"setting", c.setting}, {"value", c.value}, {"why", c.why}});
  return out;
}
}  // namespace

std::string to_json(const std::vector<Advice>& advice, int indent) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& a : advice) {
    arr.push_back({{"id", a.id},
                   {"severity", to_string(a.severity)},
                   {"trigger", a.trigger},
                   {"evidence", a.evidence},
                   {"change", config_table::word(a.change, config_table::Front::kCxx)},
                   {"settings", settings_json(a.settings)},
                   {"times_fired", a.times_fired},
                   {"intervals_triggered", a.intervals_triggered},
                   {"first_fired_ns", a.first_fired_ns},
                   {"last_seen_ns", a.last_seen_ns},
                   {"active", a.active}});
  }
  return arr.dump(indent < 0 ? -1 : indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string format_advice(const std::vector<Advice>& advice) {
  std::string out;
  for (const auto& a : advice) {
    out += fmt::format("[{}] {}", to_string(a.severity), a.id);
    if (a.times_fired > 1) out += fmt::format(" (fired {}x)", a.times_fired);
    if (a.first_fired_ns > 0 || a.last_seen_ns > 0)
      out += fmt::format(" at {:.1f} s, last seen {:.1f} s", double(a.first_fired_ns) / 1e9,
                         double(a.last_seen_ns) / 1e9);
    out += fmt::format("\n  why:  {}\n  seen: {}\n  do:   {}\n", a.trigger, a.evidence,
                       config_table::word(a.change, config_table::Front::kCxx));
  }
  return out;
}

}  // namespace rtcap
