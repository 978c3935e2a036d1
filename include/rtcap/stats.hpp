// What the engine measured, as one snapshot. Every counter is a 64-bit running total.
//
// pcap_stats fields per platform (they are 32-bit in struct pcap_stat and wrap; we widen them):
//   Linux (libpcap 1.10, PF_PACKET): received = packets that passed the kernel filter, including
//     ones then dropped; kernel_dropped = ring full (the reader did not keep up);
//     interface_dropped = NIC missed/fifo errors, counted only in promiscuous mode.
//   Npcap: received = every packet seen before 1.76, only filter-accepted ones since;
//     kernel_dropped = kernel buffer full plus allocation failures; interface_dropped is always 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rtcap/batch.hpp"
#include "rtcap/export.hpp"
#include "rtcap/histogram.hpp"

namespace rtcap {

// One interval during which an interface could not capture (issue 13): it was seen gone, or not
// up and running. Both ends are CLOCK_REALTIME ns, the clock of packet time stamps, so that a
// stream's gap can be laid against it. The link is looked at once per statistics interval (1 s),
// so each end is bounded by what was seen, not the instant of the change: begin_ns is the last
// sign that the link was still up (the last packet captured on it, or the last look that found
// it up), end_ns the first sign that it was up again (a packet captured on it, or the look that
// found it up or reopened it). The interval therefore holds the real outage, and is as tight as
// the traffic on the interface makes it (the packets bound both ends to within one packet).
struct LinkOutage {
  std::int64_t begin_ns = 0;
  std::int64_t end_ns = 0;  // 0: still down
};

struct InterfaceStats {
  std::string name;
  std::uint64_t received = 0;           // ps_recv, widened
  std::uint64_t kernel_dropped = 0;     // ps_drop, widened
  std::uint64_t interface_dropped = 0;  // ps_ifdrop, widened
  std::uint64_t buffer_bytes = 0;       // kernel buffer asked for
  // The link (read once per statistics interval; an unknown state counts as up): down means
  // gone (deleted) or not up and running (ip link set down, no carrier).
  bool up = true;
  std::uint64_t down_events = 0;  // times it was seen going down (or away)
  std::int64_t down_ns = 0;       // total time seen down, the current outage included
  std::uint64_t reopens = 0;      // --reopen: times its handle was opened again
  // The outages, oldest first: the most recent kMaxOutagesKept (the counters above count all).
  std::vector<LinkOutage> outages = {};
  // 64: a flap every 30 s (scripts/soak.sh) keeps 32 minutes; the stream analysis needs only
  // the last few seconds' (it settles a gap's attribution within seconds, see analysis.hpp).
  static constexpr std::size_t kMaxOutagesKept = 64;
};

struct CaptureStats {
  std::int64_t elapsed_ns = 0;             // since start()
  std::uint64_t packets_captured = 0;      // copied into batches by the capture thread
  std::uint64_t bytes_captured = 0;        // sum of caplen
  std::uint64_t packets_truncated = 0;     // caplen < wire length (snaplen cut them)
  std::uint64_t app_dropped_packets = 0;   // no free batch (consumer behind, drop policy)
  std::uint64_t packets_delivered = 0;     // handed to the consumer
  std::uint64_t batches_delivered = 0;     // inline: callbacks; threaded: batches handed out
  std::uint64_t thread_handoffs = 0;       // batches passed to the consumer thread (inline: 0)
  std::uint64_t wakeups = 0;               // capture-thread wake-ups: returns from the readiness
                                           // wait (ready or timed out) and coalescing sleeps
                                           // (--coalesce-us); each is followed by one drain
  std::uint64_t dispatch_calls = 0;        // pcap_dispatch / pcap_next_ex calls
  std::uint64_t empty_dispatch_calls = 0;  // calls that returned no packet
  std::uint64_t max_dispatch_bytes = 0;    // most bytes one call carried
  double max_dispatch_buffer_share = 0;    // max_dispatch_bytes / kernel buffer bytes
  std::int64_t capture_cpu_ns = 0;         // CPU time of the capture thread
  // Wall time the capture thread spent in the consumer's hands instead of reading: inside the
  // batch callback (inline delivery) or waiting for a free batch (threaded, block policy). Near
  // the elapsed time while the kernel drops: the consumer stalls capture (a blocked write()).
  std::int64_t callback_ns = 0;
  std::vector<InterfaceStats> interfaces;
  HistogramData dispatch_packets;  // packets per dispatch call (calls that carried any)
  HistogramData dispatch_bytes;    // bytes per dispatch call (calls that carried any)
  HistogramData latency_ns;        // packet timestamp -> consumer receives it

  [[nodiscard]] std::uint64_t kernel_dropped() const noexcept {
    std::uint64_t n = 0;
    for (const auto& i : interfaces) n += i.kernel_dropped;
    return n;
  }
  [[nodiscard]] std::uint64_t interface_dropped() const noexcept {
    std::uint64_t n = 0;
    for (const auto& i : interfaces) n += i.interface_dropped;
    return n;
  }
  [[nodiscard]] std::uint64_t interface_reopens() const noexcept {
    std::uint64_t n = 0;
    for (const auto& i : interfaces) n += i.reopens;
    return n;
  }
  [[nodiscard]] std::uint64_t received() const noexcept {
    std::uint64_t n = 0;
    for (const auto& i : interfaces) n += i.received;
    return n;
  }
  // What the kernel counted in received() that is neither captured nor counted as dropped.
  // Linux counts in received every packet that passed the filter, drops included, so at the end
  // of a live capture received() == packets_captured + kernel_dropped() + app_dropped_packets +
  // unread_packets(), exactly: what arrived after the last drain (during the stop, after the
  // -c-th packet, or left in the ring when the block policy's consumer took nothing before the
  // stop's deadline). While capture runs it also holds what waits in the ring. Negative only by
  // packets that were in the ring before the filter was set (counted before capture began).
  [[nodiscard]] std::int64_t unread_packets() const noexcept {
    return std::int64_t(received()) -
           std::int64_t(packets_captured + kernel_dropped() + app_dropped_packets);
  }
};

// The registry of counters: every figure of CaptureStats and InterfaceStats once, with its unit,
// kind and help. The Prometheus text, the stats JSON, the C struct (rtcap_stats), Python's
// stats() and the CLI walk it; a unit test fails when one of them lacks a counter.
enum class CounterKind {
  kCounter,  // a running total (Prometheus: a counter, its name ends in _total)
  kGauge,    // a level or a maximum
};

// Where a capture-wide figure comes from.
enum class CounterSource {
  kMember,        // a member of CaptureStats
  kInterfaceSum,  // the sum over InterfaceStats (Prometheus exports it per interface)
  kHistogram,     // a figure of a histogram (Prometheus exports the histogram)
};

struct CounterInfo {
  const char* name;  // the member: the JSON key, the rtcap_stats field, Python's key
  const char* unit;  // "packets", "bytes", "ns", "calls", "batches", "wake-ups", "ratio"
  CounterKind kind;
  CounterSource source;
  const char* help;         // one line
  const char* prometheus;   // the metric family that carries it
  double prometheus_scale;  // to the family's base unit (ns to seconds: 1e-9)
  // The value: integers exactly (negative time is 0); the one fraction through `fraction`.
  std::uint64_t (*integer)(const CaptureStats&);
  double (*fraction)(const CaptureStats&);
};

struct InterfaceCounterInfo {
  const char* name;  // the InterfaceStats member: JSON key, rtcap_interface_info field
  const char* unit;
  CounterKind kind;
  const char* help;
  const char* prometheus;  // family, labelled {interface="NAME"}
  double prometheus_scale;
  std::uint64_t (*value)(const InterfaceStats&);
};

// The capture-wide figures, and those of each interface, in a stable order.
[[nodiscard]] RTCAP_API Span<const CounterInfo> capture_counters() noexcept;
[[nodiscard]] RTCAP_API Span<const InterfaceCounterInfo> interface_counters() noexcept;
// The value of a figure as a number (the fraction, or the integer widened).
[[nodiscard]] RTCAP_API double counter_value(const CounterInfo& counter, const CaptureStats& stats);

}  // namespace rtcap
