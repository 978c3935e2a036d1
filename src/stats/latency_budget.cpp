#include "rtcap/latency_budget.hpp"
#include "stats/latency_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

namespace rtcap {

namespace {

constexpr std::uint64_t kPageBytes = 4096;  // getpagesize() on x86-64 and most arm64 kernels
constexpr std::int64_t kNsPerUs = 1000;
constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerS = 1'000'000'000;
// Sleeping for less than this is noise next to the 50 us timer slack: no coalescing below it.
constexpr std::int64_t kMinCoalesceNs = 20'000;
// The V3 retire timeout we never exceed: past ~100 ms the stall tolerance per block stops
// mattering and a quiet link would deliver its rare packets very late.
constexpr int kMaxV3TimeoutMs = 100;
// Windows waits are quantised by the system timer: 15.625 ms unless some process raised the
// resolution (timeBeginPeriod). Only mentioned in the explanation: it has to be measured.
constexpr double kWindowsDefaultTickMs = 15.625;

std::uint64_t align16(std::uint64_t n) noexcept { return (n + 15) & ~std::uint64_t{15}; }

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) noexcept {
  return b ? (a + b - 1) / b : 0;
}

std::uint64_t v3_packet_bytes(double mean_packet_bytes, int snaplen) noexcept {
  const double caplen = std::clamp(mean_packet_bytes, 1.0, double(std::max(snaplen, 1)));
  return align16(kLinuxV3PacketHeaderBytes + std::uint64_t(std::ceil(caplen)));
}

std::uint64_t npcap_packet_bytes(double mean_packet_bytes) noexcept {
  return kNpcapPacketHeaderBytes + std::uint64_t(std::ceil(std::max(mean_packet_bytes, 1.0)));
}

std::string bytes_text(std::uint64_t bytes) {
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1ull << 20)) return fmt::format("{:.1f} MiB", double(bytes) / double(1ull << 20));
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

int kib_for(std::uint64_t bytes) noexcept {
  return int(std::min<std::uint64_t>(ceil_div(bytes, 1024),
                                     std::uint64_t(std::numeric_limits<int>::max())));
}

// Reader stall the ring absorbs, given how the ring fills at `pps`.
std::int64_t stall_covered_ns(const RingModel& ring, const CaptureConfig& config,
                              CapturePlatform platform, double pps, int hz) noexcept {
  if (pps <= 0 || ring.packets == 0) return 0;
  const double by_packets_ns = double(ring.packets) / pps * 1e9;
  if (platform == CapturePlatform::kLinuxLibpcap && ring.tpacket_v3 && ring.blocks > 1) {
    // One block is being filled; each other one is retired after one retire period, full or not.
    const double period_ns = double(linux_v3_retire_jiffies(config.timeout_ms, hz) * jiffy_ns(hz));
    const double by_time_ns = double(ring.blocks - 1) * period_ns;
    return std::int64_t(std::min(by_packets_ns, by_time_ns));
  }
  return std::int64_t(by_packets_ns);
}

}  // namespace

// ---- Ring model -------------------------------------------------------------------------------

bool snaplen_is_automatic(const CaptureConfig& config) noexcept {
  return config.snaplen <= 0 || config.snaplen >= kMaxSnaplen;
}

int linux_v2_snaplen(const CaptureConfig& config, int mtu) noexcept {
  if (snaplen_is_automatic(config)) {
    if (config.immediate_mode && mtu > 0 && mtu <= kMaxSnaplen - kLinuxV2SnaplenOverMtu)
      return mtu + kLinuxV2SnaplenOverMtu;
    return kMaxSnaplen;
  }
  return config.snaplen;
}

std::uint64_t linux_v2_slot_bytes(int snaplen, int max_frame_bytes) noexcept {
  std::uint64_t frame = std::uint64_t(std::max(snaplen <= 0 ? kMaxSnaplen : snaplen, 1));
  if (max_frame_bytes > 0) frame = std::min(frame, std::uint64_t(max_frame_bytes));
  return align16(kLinuxV2SlotHeaderBytes + frame);
}

RingModel linux_ring_model(const CaptureConfig& config, std::uint64_t buffer_bytes,
                           double mean_packet_bytes, int max_frame_bytes, int mtu) noexcept {
  RingModel r;
  if (config.immediate_mode) {
    // libpcap create_ring(), TPACKET_V2: frames = ceil(buffer / frame); the block is the smallest
    // power-of-two number of pages holding one frame; frames are then rounded DOWN to whole
    // blocks. A ~64 KiB slot gets a 128 KiB block to itself, so the kernel maps twice the memory.
    r.slot_bytes = linux_v2_slot_bytes(linux_v2_snaplen(config, mtu), max_frame_bytes);
    r.block_bytes = kPageBytes;
    while (r.block_bytes < r.slot_bytes) r.block_bytes <<= 1;
    const std::uint64_t per_block = r.block_bytes / r.slot_bytes;
    r.blocks = std::max<std::uint64_t>(1, ceil_div(buffer_bytes, r.slot_bytes) / per_block);
    r.packets = r.blocks * per_block;
  } else {
    // TPACKET_V3: 256 KiB blocks, ceil(buffer / 256 KiB) of them; packets packed back to back.
    r.tpacket_v3 = true;
    r.slot_bytes = v3_packet_bytes(mean_packet_bytes, config.snaplen);
    r.block_bytes = kLinuxV3BlockBytes;
    r.blocks = std::max<std::uint64_t>(1, ceil_div(buffer_bytes, kLinuxV3BlockBytes));
    constexpr std::uint64_t kBlockHeaderBytes = 48;  // tpacket_block_desc, aligned
    r.packets = r.blocks * ((r.block_bytes - kBlockHeaderBytes) / r.slot_bytes);
  }
  r.memory_bytes = r.blocks * r.block_bytes;
  return r;
}

std::uint64_t linux_buffer_within_mapped(const CaptureConfig& config, std::uint64_t buffer_bytes,
                                         std::uint64_t max_mapped_bytes, int mtu) noexcept {
  const RingModel ring =
      linux_ring_model(config, buffer_bytes, kSmallFrameBytes, kLinuxOffloadMaxFrameBytes, mtu);
  if (ring.memory_bytes <= max_mapped_bytes) return buffer_bytes;
  if (!config.immediate_mode)
    return std::max<std::uint64_t>(1, max_mapped_bytes / ring.block_bytes) * ring.block_bytes;
  // V2: whole blocks of whole slots (a ~64 KiB slot gets a 128 KiB block to itself).
  const std::uint64_t per_block = ring.block_bytes / ring.slot_bytes;
  return std::max<std::uint64_t>(1, max_mapped_bytes / ring.block_bytes) * per_block *
         ring.slot_bytes;
}

std::uint64_t linux_v2_default_buffer_bytes(const CaptureConfig& config, int mtu) noexcept {
  CaptureConfig v2 = config;
  v2.immediate_mode = true;
  const std::uint64_t want =
      buffer_bytes_for_stall(v2, CapturePlatform::kLinuxLibpcap, kLinuxV2DefaultHoldNs,
                             kLinuxV2DefaultHoldPps, kSmallFrameBytes, 250, mtu);
  return linux_buffer_within_mapped(v2, want, kLinuxMaxRingMappedBytes, mtu);
}

RingModel npcap_buffer_model(std::uint64_t buffer_bytes, double mean_packet_bytes) noexcept {
  RingModel r;
  r.slot_bytes = npcap_packet_bytes(mean_packet_bytes);
  r.packets = buffer_bytes / r.slot_bytes;
  r.memory_bytes = buffer_bytes;  // a limit: allocated from NonPagedPool as used (Npcap >= 1.00)
  return r;
}

std::int64_t jiffy_ns(int hz) noexcept { return kNsPerS / std::max(hz, 1); }

std::int64_t linux_v3_retire_jiffies(int timeout_ms, int hz) noexcept {
  const std::int64_t ms = timeout_ms > 0 ? timeout_ms : kLinuxDefaultRetireTimeoutMs;
  // msecs_to_jiffies() rounds up; the kernel never uses less than one jiffy.
  return std::max<std::int64_t>(1, (ms * std::max(hz, 1) + 999) / 1000);
}

std::int64_t linux_v3_worst_delay_ns(int timeout_ms, int hz) noexcept {
  // The retire timer only closes a block that was already the current one when it was armed, and
  // it fires on a jiffy tick: a packet landing just after arming waits the full period plus up to
  // one more tick.
  return (linux_v3_retire_jiffies(timeout_ms, hz) + 1) * jiffy_ns(hz);
}

std::uint64_t buffer_bytes_for_stall(const CaptureConfig& config, CapturePlatform platform,
                                     std::int64_t stall_ns, double pps, double mean_packet_bytes,
                                     int hz, int mtu) noexcept {
  // Multiply before dividing: 1e8 ns x 100,000/s is exact, 0.1 s x 100,000 is not.
  const double packets =
      std::ceil(double(std::max<std::int64_t>(stall_ns, 0)) * std::max(pps, 0.0) / 1e9) + 1;
  if (platform == CapturePlatform::kNpcap)
    return std::uint64_t(packets) * npcap_packet_bytes(mean_packet_bytes);
  if (config.immediate_mode) {
    const RingModel one =
        linux_ring_model(config, 1, mean_packet_bytes, kLinuxOffloadMaxFrameBytes, mtu);
    const std::uint64_t per_block = one.block_bytes / one.slot_bytes;
    return ceil_div(std::uint64_t(packets), per_block) * per_block * one.slot_bytes;
  }
  // V3: a block closes after one retire period or when full, whichever comes first.
  const double period_ns = double(linux_v3_retire_jiffies(config.timeout_ms, hz) * jiffy_ns(hz));
  const double per_block =
      double((kLinuxV3BlockBytes - 48) / v3_packet_bytes(mean_packet_bytes, config.snaplen));
  const double fill_ns = pps > 0 ? per_block / pps * 1e9 : period_ns;
  const double close_ns = std::max(1.0, std::min(period_ns, fill_ns));
  const auto blocks = std::uint64_t(std::ceil(double(stall_ns) / close_ns)) + 1;
  return blocks * kLinuxV3BlockBytes;
}

// ---- Durations --------------------------------------------------------------------------------

Result<double> parse_duration(std::string_view text) {
  const std::string original(text);
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kBadConfig,
                      fmt::format("bad duration '{}': {} (write it like 250us, 2ms, 1.5ms or 1s)",
                                  original, why));
  };
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty()) return bad("empty");
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return bad("no number");
  std::string_view unit(end, std::size_t(text.data() + text.size() - end));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  double scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
    scale = double(kNsPerUs);
  else if (unit == "ms")
    scale = double(kNsPerMs);
  else if (unit == "s")
    scale = double(kNsPerS);
  else if (unit.empty())
    return bad("a unit is required");
  else
    return bad(fmt::format("unknown unit '{}'", unit));
  if (!std::isfinite(value) || value <= 0) return bad("must be greater than zero");
  return value * scale;
}

Result<std::int64_t> parse_duration_ns(std::string_view text) {
  const auto exact = parse_duration(text);
  if (!exact) return rtcap::unexpected(exact.error());
  auto bad = [&](std::string_view why) {
    return make_error(
        ErrorCode::kBadConfig,
        fmt::format("bad duration '{}': {} (write it like 250us, 2ms, 1.5ms or 1s)", text, why));
  };
  const double ns = std::round(*exact);
  if (ns < 1) return bad("shorter than a nanosecond");
  if (ns > 3600.0 * double(kNsPerS)) return bad("longer than an hour");
  return std::int64_t(ns);
}

std::string format_duration_ns(std::int64_t ns) {
  auto trim = [](std::string s) {
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s;
  };
  const std::int64_t a = ns < 0 ? -ns : ns;
  if (a >= kNsPerS) return trim(fmt::format("{:.3f}", double(ns) / 1e9)) + "s";
  if (a >= kNsPerMs) return trim(fmt::format("{:.3f}", double(ns) / 1e6)) + "ms";
  if (a >= kNsPerUs) return trim(fmt::format("{:.3f}", double(ns) / 1e3)) + "us";
  return fmt::format("{}ns", ns);
}

// ---- Planner ----------------------------------------------------------------------------------

namespace {

void plan_linux(LatencyPlan& p, const TrafficProfile& t, double pps, double mean,
                std::vector<std::string>& why) {
  const std::int64_t budget = p.budget_ns;
  const std::int64_t jiffy = jiffy_ns(t.hz);
  const std::int64_t v3_floor = linux_v3_worst_delay_ns(1, t.hz);
  CaptureConfig& c = p.config;

  if (budget >= v3_floor + t.v3_margin_ns) {
    // The longest retire period that still fits: fewest wake-ups, most stall per block.
    std::int64_t jiffies = (budget - t.v3_margin_ns) / jiffy - 1;
    const std::int64_t max_jiffies =
        std::max<std::int64_t>(1, std::int64_t(kMaxV3TimeoutMs) * t.hz / 1000);
    jiffies = std::clamp<std::int64_t>(jiffies, 1, max_jiffies);
    int timeout_ms = int(std::max<std::int64_t>(1, jiffies * 1000 / std::max(t.hz, 1)));
    while (timeout_ms > 1 && linux_v3_worst_delay_ns(timeout_ms, t.hz) + t.v3_margin_ns > budget)
      --timeout_ms;
    c.immediate_mode = false;
    c.timeout_ms = timeout_ms;
    c.coalesce_us = 0;
    p.modelled_worst_delay_ns = linux_v3_worst_delay_ns(timeout_ms, t.hz);
    const double period_s = double(linux_v3_retire_jiffies(timeout_ms, t.hz) * jiffy) / 1e9;
    const double per_block = double((kLinuxV3BlockBytes - 48) / v3_packet_bytes(mean, c.snaplen));
    p.wakeups_per_second = std::max(1.0 / period_s, pps / per_block);
    why.push_back(fmt::format(
        "batched capture (TPACKET_V3, no ${{immediate_mode}}): a part-filled 256 KiB block is "
        "handed over when its retire timer fires; ${{timeout_ms}} {} is {} jiffy(s) at HZ={}, so a "
        "packet waits at most ~{} (period + one tick), {} under the budget of {} with {} kept "
        "for scheduling",
        timeout_ms, linux_v3_retire_jiffies(timeout_ms, t.hz), t.hz,
        format_duration_ns(p.modelled_worst_delay_ns),
        format_duration_ns(budget - p.modelled_worst_delay_ns), format_duration_ns(budget),
        format_duration_ns(t.v3_margin_ns)));
    why.push_back(fmt::format(
        "cost: ~{:.0f} wake-ups/s at {:.0f} packets/s (one per retired block, ~{:.0f} packets "
        "each)",
        p.wakeups_per_second, pps, pps / p.wakeups_per_second));
  } else {
    c.immediate_mode = true;
    c.timeout_ms = std::max(c.timeout_ms, 1);
    why.push_back(fmt::format(
        "immediate mode (TPACKET_V2): batched capture cannot promise {} because a part-filled "
        "block waits up to {} for its retire timer (jiffies of {} at HZ={}); V3 needs a budget "
        "of at least {}",
        format_duration_ns(budget), format_duration_ns(v3_floor), format_duration_ns(jiffy), t.hz,
        format_duration_ns(v3_floor + t.v3_margin_ns)));
    std::int64_t window_ns =
        std::min<std::int64_t>(budget / 3, std::int64_t(t.max_coalesce_us) * kNsPerUs);
    if (window_ns < kMinCoalesceNs) window_ns = 0;
    c.coalesce_us = int(window_ns / kNsPerUs);
    window_ns = std::int64_t(c.coalesce_us) * kNsPerUs;
    p.modelled_worst_delay_ns =
        window_ns + (window_ns > 0 ? t.timer_slack_ns : 0) + t.immediate_margin_ns;
    p.best_effort = p.modelled_worst_delay_ns > budget;
    const double window_s = double(window_ns) / 1e9;
    p.wakeups_per_second =
        window_ns > 0 ? std::min(pps, 1.0 / (window_s + double(t.timer_slack_ns) / 1e9)) : pps;
    if (c.coalesce_us > 0)
      why.push_back(fmt::format(
          "${{coalesce_us}} {}: after a wake-up wait {} then drain, so one pcap_dispatch carries "
          "~{:.0f} packets; ~{:.0f} wake-ups/s instead of one per packet. Added delay <= window "
          "+ {} timer slack + scheduling ({} assumed) = {}; a third of the budget, capped at {} us",
          c.coalesce_us, format_duration_ns(window_ns), std::max(1.0, pps / p.wakeups_per_second),
          p.wakeups_per_second, format_duration_ns(t.timer_slack_ns),
          format_duration_ns(t.immediate_margin_ns), format_duration_ns(p.modelled_worst_delay_ns),
          t.max_coalesce_us));
    else
      why.push_back(fmt::format(
          "no coalescing: a third of {} is below {} and the {} timer slack would swallow it; "
          "expect ~one wake-up per packet (~{:.0f}/s)",
          format_duration_ns(budget), format_duration_ns(kMinCoalesceNs),
          format_duration_ns(t.timer_slack_ns), pps));
    if (p.best_effort)
      why.push_back(fmt::format(
          "best effort: {} is below the ~{} this host's wake-up path is assumed to need; "
          "check the measured delay against the budget and consider an isolated "
          "core",
          format_duration_ns(budget), format_duration_ns(p.modelled_worst_delay_ns)));
    if (t.max_packet_bytes > 0) {
      const int snap =
          int(std::min<std::uint64_t>(align16(std::uint64_t(t.max_packet_bytes)), kMaxSnaplen));
      const int automatic = linux_v2_snaplen(c);
      if (snap < automatic) {
        c.snaplen = snap;
        why.push_back(fmt::format(
            "${{snaplen}} {}: V2 slots are sized by the snaplen ({} bytes per slot instead of {}); "
            "frames "
            "up to {} bytes are kept whole",
            snap, linux_v2_slot_bytes(snap), linux_v2_slot_bytes(automatic), t.max_packet_bytes));
      }
    }
    if (snaplen_is_automatic(c))
      why.push_back(fmt::format(
          "snaplen: the interface MTU + {} (Ethernet header, two VLAN tags; {} at MTU {}), so a V2 "
          "slot takes {} bytes instead of {}; larger GRO/GSO aggregates are cut and counted as "
          "truncated",
          kLinuxV2SnaplenOverMtu, linux_v2_snaplen(c), kAssumedMtu,
          linux_v2_slot_bytes(linux_v2_snaplen(c)), linux_v2_slot_bytes(kMaxSnaplen)));
  }

  std::uint64_t bytes = buffer_bytes_for_stall(c, CapturePlatform::kLinuxLibpcap,
                                               t.stall_tolerance_ns, pps, mean, t.hz);
  // The cap is on what the kernel maps: ~64 KiB V2 slots get a 128 KiB block each.
  const std::uint64_t within = linux_buffer_within_mapped(c, bytes, t.max_buffer_bytes);
  const bool capped = within < bytes;
  bytes = within;
  c.buffer_kib = kib_for(bytes);
  p.ring = linux_ring_model(c, std::uint64_t(c.buffer_kib) * 1024, mean);
  p.stall_tolerance_ns = stall_covered_ns(p.ring, c, CapturePlatform::kLinuxLibpcap, pps, t.hz);
  why.push_back(fmt::format(
      "${{buffer_kib}} {}: the ring holds {} packets in {} blocks ({} mapped), {} of reader stall "
      "at {:.0f} "
      "packets/s{}",
      c.buffer_kib, p.ring.packets, p.ring.blocks, bytes_text(p.ring.memory_bytes),
      format_duration_ns(p.stall_tolerance_ns), pps,
      capped ? fmt::format(" (capped at {}; wanted {}: lower the snaplen to get more slots)",
                           bytes_text(t.max_buffer_bytes), format_duration_ns(t.stall_tolerance_ns))
             : ""));
}

void plan_npcap(LatencyPlan& p, const TrafficProfile& t, double pps, double mean,
                std::vector<std::string>& why) {
  CaptureConfig& c = p.config;
  const std::int64_t third = p.budget_ns / 3;
  const double per_packet = double(npcap_packet_bytes(mean));
  const double byte_rate = pps * per_packet;
  const double mintocopy = byte_rate * double(third) / 1e9;
  // pcap_setuserbuffer must hold the largest packet plus its header (npcap issue 119).
  const std::uint64_t min_user =
      std::uint64_t(std::min(c.snaplen, kLinuxOffloadMaxFrameBytes)) + kNpcapPacketHeaderBytes;
  if (mintocopy < 2 * per_packet || third < kNsPerMs) {
    // Fewer than two packets per copy, or a timeout (whole ms) that cannot express a third of
    // the budget: mintocopy cannot help, immediate it is.
    c.immediate_mode = true;
    c.timeout_ms = std::max(c.timeout_ms, 1);
    std::int64_t window_ns =
        std::min<std::int64_t>(third, std::int64_t(t.max_coalesce_us) * kNsPerUs);
    if (window_ns < kMinCoalesceNs) window_ns = 0;
    c.coalesce_us = int(window_ns / kNsPerUs);
    p.npcap_mintocopy_bytes = 0;
    p.modelled_worst_delay_ns = window_ns + t.immediate_margin_ns;
    p.best_effort = p.modelled_worst_delay_ns > p.budget_ns;
    p.wakeups_per_second = window_ns > 0 ? std::min(pps, 1e9 / double(window_ns)) : pps;
    why.push_back(fmt::format(
        "immediate mode (mintocopy 0): a third of {} is {} ({:.0f} bytes at {:.0f} packets/s), "
        "below the 1 ms timeout granularity or too little for mintocopy to batch; "
        "${{coalesce_us}} {} then waits before draining",
        format_duration_ns(p.budget_ns), format_duration_ns(third), mintocopy, pps, c.coalesce_us));
  } else {
    c.immediate_mode = false;
    c.coalesce_us = 0;
    c.timeout_ms = int(std::max<std::int64_t>(1, third / kNsPerMs));
    p.npcap_mintocopy_bytes = std::uint64_t(std::llround(mintocopy));
    p.modelled_worst_delay_ns = third + t.immediate_margin_ns;
    p.wakeups_per_second = byte_rate / std::max(1.0, mintocopy);
    why.push_back(
        fmt::format("${{mintocopy_bytes}} {}: the driver signals the pcap_getevent() handle once "
                    "that much waits, "
                    "which at {:.0f} packets/s of ~{:.0f} bytes is every {} (~{:.0f} reads/s); "
                    "${{timeout_ms}} {} bounds the delay when traffic is slower, but Windows waits "
                    "follow the system timer "
                    "({} ms unless raised): measure it",
                    p.npcap_mintocopy_bytes, pps, per_packet, format_duration_ns(third),
                    p.wakeups_per_second, c.timeout_ms, kWindowsDefaultTickMs));
  }
  const std::uint64_t current_user =
      c.user_buffer_bytes > 0 ? std::uint64_t(c.user_buffer_bytes) : t.npcap_user_buffer_bytes;
  p.npcap_user_buffer_bytes =
      std::max({current_user, min_user, ceil_div(2 * p.npcap_mintocopy_bytes, 65536) * 65536});
  c.user_buffer_bytes = int(std::min<std::uint64_t>(
      p.npcap_user_buffer_bytes, std::uint64_t(std::numeric_limits<int>::max())));
  c.mintocopy_bytes =
      c.immediate_mode
          ? -1
          : int(std::min<std::uint64_t>(p.npcap_mintocopy_bytes,
                                        std::uint64_t(std::numeric_limits<int>::max())));
  why.push_back(
      fmt::format("${{user_buffer_bytes}} {}: one read returns at most one user buffer; it holds "
                  "twice mintocopy and "
                  "at least one {}-byte packet plus header (npcap issue 119)",
                  p.npcap_user_buffer_bytes, min_user - kNpcapPacketHeaderBytes));
  std::uint64_t kernel = std::max<std::uint64_t>(
      kNpcapDefaultKernelBufferBytes,
      buffer_bytes_for_stall(c, CapturePlatform::kNpcap, t.stall_tolerance_ns, pps, mean, t.hz));
  kernel = std::min(kernel, t.max_buffer_bytes);
  p.npcap_kernel_buffer_bytes = kernel;
  c.buffer_kib = kib_for(kernel);
  p.ring = npcap_buffer_model(std::uint64_t(c.buffer_kib) * 1024, mean);
  p.stall_tolerance_ns = stall_covered_ns(p.ring, c, CapturePlatform::kNpcap, pps, t.hz);
  why.push_back(
      fmt::format("${{buffer_kib}} {}: kernel buffer for {} packets, {} of reader stall; a limit "
                  "allocated from "
                  "NonPagedPool as used, so close handles you stop reading",
                  c.buffer_kib, p.ring.packets, format_duration_ns(p.stall_tolerance_ns)));
}

}  // namespace

int coalesce_us_on(const CaptureConfig& config, CapturePlatform platform) noexcept {
  if (config.coalesce_us >= 0) return config.coalesce_us;
  if (platform == CapturePlatform::kNpcap || !config.immediate_mode) return 0;
  return kLinuxAutoCoalesceUs;
}

LatencyPlan plan_for_latency_budget(std::int64_t budget_ns, const CaptureConfig& base,
                                    const TrafficProfile& traffic) {
  LatencyPlan p;
  p.budget_ns = budget_ns;
  p.config = base;
  std::vector<std::string> why;
  if (budget_ns <= 0) {
    p.explanation = "no latency budget: the configuration is left as it is";
  } else {
    const double pps = std::max(traffic.packets_per_second, 1.0);
    const double mean = std::clamp(traffic.mean_packet_bytes, 1.0, double(kMaxSnaplen));
    if (p.config.snaplen <= 0) p.config.snaplen = kMaxSnaplen;
    why.push_back(fmt::format(
        "budget {} at {:.0f} packets/s of ~{:.0f} bytes ({})", format_duration_ns(budget_ns), pps,
        mean, traffic.platform == CapturePlatform::kNpcap ? "Npcap" : "Linux libpcap"));
    if (traffic.platform == CapturePlatform::kNpcap)
      plan_npcap(p, traffic, pps, mean, why);
    else
      plan_linux(p, traffic, pps, mean, why);
    for (std::size_t i = 0; i < why.size(); ++i) p.explanation += (i ? "\n" : "") + why[i];
  }
  p.immediate_mode = p.config.immediate_mode;
  p.timeout_ms = p.config.timeout_ms;
  p.coalesce_us = coalesce_us_on(p.config, traffic.platform);
  p.buffer_kib = p.config.buffer_kib;
  p.snaplen = p.config.snaplen;
  return p;
}

bool budget_met(const HistogramData& latency, std::int64_t budget_ns, double quantile) noexcept {
  if (latency.count == 0 || budget_ns <= 0) return false;
  return latency.percentile(quantile) <= std::uint64_t(budget_ns);
}

}  // namespace rtcap
