// Everything a capture needs to know, filled by the CLI or by an embedding application.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rtcap/export.hpp"

namespace rtcap {

// How captured batches reach the application (include/rtcap/engine.hpp, docs/EMBEDDING.md).
enum class Delivery {
  // Engine::poll/dispatch on the caller's thread: one thread, one wake-up per batch. A callback
  // that stalls delays capture; the kernel ring absorbs it (Linux default 32 MiB ring at
  // 100,000 packets/s of 74-byte frames: a 0.5 s stall lost 1.5k of its 50k packets, a 1 s
  // stall 17.6k; docs/TUNING.md, "Inline stalls"), and what overflows it is counted as kernel
  // drops (pcap_stats), never lost silently.
  kInline,
  // Engine::start + next_batch: the engine's capture thread hands batches to a consumer thread
  // through a lock-free ring. For consumers that may stall for long (slow disks, heavy
  // analysis); costs a second wake-up per batch (docs/TUNING.md, "The wake-up floor").
  kThreaded,
};

enum class OverflowPolicy {
  kDrop,   // no free batch: drop the packet and count it (capture never blocks)
  kBlock,  // no free batch: wait for the consumer (the kernel ring absorbs the delay, then drops)
};

enum class TimestampPrecision { kMicro, kNano };

// Largest snaplen libpcap accepts (MAXIMUM_SNAPLEN in pcap-int.h); tcpdump's -s 0 means this.
inline constexpr int kMaxSnaplen = 262144;

struct CaptureConfig {
  std::vector<std::string> interfaces;  // live capture on each (one capture thread serves all)
  std::string read_file;                // or: replay a capture file through the same pipeline
  std::string filter;                   // BPF expression, compiled for every handle
  // Linux: the network namespace of `interfaces`, a name from `ip netns add` or a path such as
  // /proc/PID/ns/net. Only the opening thread enters it, for the open, and returns; the handles
  // capture there. Needs CAP_SYS_ADMIN. Empty: the caller's namespace. Elsewhere: kUnsupported.
  std::string netns;

  // kMaxSnaplen (or 0): whole packets. Linux immediate mode then takes the interface MTU + 22, so
  // that TPACKET_V2 slots are small; offload aggregates larger than that are cut and counted
  // (packets_truncated; docs/TUNING.md, "Immediate mode: the snaplen and the ring").
  int snaplen = kMaxSnaplen;
  bool promiscuous = true;  // tcpdump's default; -p turns it off
  bool immediate_mode = false;
  // pcap_set_timeout. With TPACKET_V3 (Linux, not immediate) this is the ring block retire time:
  // the longest a packet waits in a part-filled block. See docs/TUNING.md for the measurement.
  int timeout_ms = 1;
  // pcap_set_buffer_size in KiB (tcpdump -B). 0: the platform default (default_buffer_bytes in
  // src/platform/defaults_*.cpp: Linux 32 MiB batched; immediate 100 ms at 1,000,000 packets/s
  // of V2 slots, at most 256 MiB mapped; Windows 16 MiB).
  int buffer_kib = 0;
  TimestampPrecision precision = TimestampPrecision::kNano;
  std::string tstamp_type;  // pcap-tstamp(7) name, empty: the default

  Delivery delivery = Delivery::kInline;
  // Immediate mode only: after a wake-up, wait this long before draining, so that one
  // pcap_dispatch carries several packets. 0 turns coalescing off (a wake-up per packet, as
  // libpcap's immediate mode does); -1 (the default): automatic, see effective_coalesce_us.
  int coalesce_us = -1;

  // Npcap only (Windows), applied after activation; other platforms say they do not apply.
  // pcap_setmintocopy: the driver wakes the reader when this many bytes wait (-1: Npcap's
  // default, 16,000 bytes; 0 in immediate mode).
  int mintocopy_bytes = -1;
  // pcap_setuserbuffer: the buffer one read fills (0: rtcap's default, 1 MiB; Npcap's own
  // 256,000 bytes is smaller than the default snaplen, which wedges the handle: npcap issue 119).
  int user_buffer_bytes = 0;

  // Batches. Inline delivery uses one batch (pool_batches does not apply); threaded delivery a
  // pool of pool_batches handed between the capture thread and the consumer.
  std::size_t batch_packets = 1024;      // records per batch
  std::size_t batch_bytes = 256 * 1024;  // arena per batch (raised to the snaplen if smaller)
  std::size_t pool_batches = 64;         // batches in the pool (bounds memory)
  // A batch is handed over when full, or at the end of a drain when the consumer has taken the
  // previous one (docs/ARCHITECTURE.md, "Hand-off policy").
  OverflowPolicy overflow = OverflowPolicy::kDrop;

  std::int64_t max_packets = 0;  // -c: stop after this many packets (0: no limit)
  // --reopen: when an interface goes away, keep capturing on the others and open it again,
  // with the same settings, once a second until it is back (Suricata's AF_PACKET capture does
  // the same). Off: a deleted interface ends the capture (StopReason::kFailed).
  bool reopen = false;
  int stats_interval_ms = 1000;  // how often pcap_stats is read on the capture handles
};

// The automatic immediate-mode window on Linux. Measured with rtcap bench at 100,000 packets/s
// on a 2-CPU VM (docs/TUNING.md, "The wake-up floor"): with no window the capture thread wakes
// ~42,000 times a second and hands over a batch at nearly every wake-up: 5.4 us/packet, p99
// 3.5 ms. 20 us: 5.6 us/packet, p99 111 us; 30 us: 4.7-5.8 us/packet, p99 98-168 us; 50 us:
// 3.2 us/packet, p99 119 us. The window sets the wake-up rate, and the wake-up rate the CPU;
// p99 moves by more from run to run than between 30 and 50 us.
// 75 us since the third session (issue 10: CPU <= 1.0 x tcpdump --immediate-mode with p50 <=
// 100 us). At 50 us, quiet: rtcap 4,091 and the reference loop 3,959 ns/packet against tcpdump's
// 3,607 (1.13 x, and the loop itself 1.10 x): no design with that window meets the CPU target.
// 100 us: the reference loop 2,208 ns, p50 86 us quiet (issue 10) but 115-117 us on the loaded
// machine (rtcap bench, third session): too close to the p50 target. 75 us lies between (the
// frontier and its figures: docs/TUNING.md, "Choosing the immediate-mode window").
inline constexpr int kLinuxAutoCoalesceUs = 75;

// coalesce_us with -1 (automatic) resolved for the platform rtcap runs on: Linux
// kLinuxAutoCoalesceUs in immediate mode; Windows 0 (its sleeps end on a 1 ms timer tick, and
// Npcap's mintocopy batches instead); batched mode 0 (the kernel hands over whole blocks).
// coalesce_us_on (latency_budget.hpp) resolves it for a platform given by name.
RTCAP_API int effective_coalesce_us(const CaptureConfig& config) noexcept;

// Library text that names settings as ${name} (Advice::change, LatencyPlan::explanation), with
// each setting named as C++ does: CaptureConfig::buffer_kib.
[[nodiscard]] RTCAP_API std::string setting_words(const std::string& text);

}  // namespace rtcap
