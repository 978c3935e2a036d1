// The registry of counters (rtcap/stats.hpp): each figure once, its unit, kind, help and
// Prometheus family. Meanings per platform of the pcap_stats figures: the top of stats.hpp.
#include <iterator>

#include "rtcap/stats.hpp"

namespace rtcap {
namespace {

std::uint64_t non_negative(std::int64_t v) { return v > 0 ? std::uint64_t(v) : 0; }

template <auto Member>
std::uint64_t member(const CaptureStats& s) {
  return std::uint64_t(s.*Member);
}
template <auto Member>
std::uint64_t iface(const InterfaceStats& i) {
  return std::uint64_t(i.*Member);
}

#define RTCAP_MEMBER(m) &member<&CaptureStats::m>, nullptr

// clang-format off
const CounterInfo kCounters[] = {
    {"elapsed_ns", "ns", CounterKind::kGauge, CounterSource::kMember,
     "Time since the capture started.", "rtcap_capture_elapsed_seconds", 1e-9,
     [](const CaptureStats& s) { return non_negative(s.elapsed_ns); }, nullptr},
    {"packets_captured", "packets", CounterKind::kCounter, CounterSource::kMember,
     "Packets copied into batches by the capture thread.", "rtcap_packets_captured_total", 1,
     RTCAP_MEMBER(packets_captured)},
    {"bytes_captured", "bytes", CounterKind::kCounter, CounterSource::kMember,
     "Bytes captured (sum of captured lengths).", "rtcap_bytes_captured_total", 1,
     RTCAP_MEMBER(bytes_captured)},
    {"packets_truncated", "packets", CounterKind::kCounter, CounterSource::kMember,
     "Packets cut by the snapshot length.", "rtcap_packets_truncated_total", 1,
     RTCAP_MEMBER(packets_truncated)},
    {"app_dropped_packets", "packets", CounterKind::kCounter, CounterSource::kMember,
     "Packets dropped by rtcap: no free batch (the consumer fell behind).",
     "rtcap_app_dropped_packets_total", 1, RTCAP_MEMBER(app_dropped_packets)},
    {"packets_delivered", "packets", CounterKind::kCounter, CounterSource::kMember,
     "Packets handed to the consumer.", "rtcap_packets_delivered_total", 1,
     RTCAP_MEMBER(packets_delivered)},
    {"batches_delivered", "batches", CounterKind::kCounter, CounterSource::kMember,
     "Batches handed to the consumer (inline: callbacks).", "rtcap_batches_delivered_total", 1,
     RTCAP_MEMBER(batches_delivered)},
    {"thread_handoffs", "batches", CounterKind::kCounter, CounterSource::kMember,
     "Batches passed to the consumer thread (inline delivery: 0).", "rtcap_thread_handoffs_total",
     1, RTCAP_MEMBER(thread_handoffs)},
    {"wakeups", "wake-ups", CounterKind::kCounter, CounterSource::kMember,
     "Wake-ups of the capture thread: readiness-wait returns and coalescing sleeps.",
     "rtcap_wakeups_total", 1, RTCAP_MEMBER(wakeups)},
    {"dispatch_calls", "calls", CounterKind::kCounter, CounterSource::kMember,
     "pcap_dispatch (or pcap_next_ex) calls.", "rtcap_dispatch_calls_total", 1,
     RTCAP_MEMBER(dispatch_calls)},
    {"empty_dispatch_calls", "calls", CounterKind::kCounter, CounterSource::kMember,
     "Dispatch calls that returned no packet.", "rtcap_empty_dispatch_calls_total", 1,
     RTCAP_MEMBER(empty_dispatch_calls)},
    {"max_dispatch_bytes", "bytes", CounterKind::kGauge, CounterSource::kMember,
     "Most bytes one dispatch call carried.", "rtcap_max_dispatch_bytes", 1,
     RTCAP_MEMBER(max_dispatch_bytes)},
    {"max_dispatch_buffer_share", "ratio", CounterKind::kGauge, CounterSource::kMember,
     "Largest share of the kernel buffer one dispatch call carried (1 = full: drops near).",
     "rtcap_max_dispatch_buffer_ratio", 1, nullptr,
     [](const CaptureStats& s) { return s.max_dispatch_buffer_share; }},
    {"capture_cpu_ns", "ns", CounterKind::kCounter, CounterSource::kMember,
     "CPU time of the capture thread.", "rtcap_capture_cpu_seconds_total", 1e-9,
     [](const CaptureStats& s) { return non_negative(s.capture_cpu_ns); }, nullptr},
    {"callback_ns", "ns", CounterKind::kCounter, CounterSource::kMember,
     "Time the capture thread spent in the consumer's hands: inside the batch callback (inline) "
     "or waiting for a free batch (threaded, block policy).", "rtcap_callback_seconds_total",
     1e-9, [](const CaptureStats& s) { return non_negative(s.callback_ns); }, nullptr},
    {"received", "packets", CounterKind::kCounter, CounterSource::kInterfaceSum,
     "pcap_stats ps_recv summed over the interfaces.", "rtcap_interface_received_packets_total",
     1, [](const CaptureStats& s) { return s.received(); }, nullptr},
    {"kernel_dropped", "packets", CounterKind::kCounter, CounterSource::kInterfaceSum,
     "pcap_stats ps_drop summed over the interfaces: the kernel buffer was full.",
     "rtcap_kernel_dropped_packets_total", 1,
     [](const CaptureStats& s) { return s.kernel_dropped(); }, nullptr},
    {"interface_dropped", "packets", CounterKind::kCounter, CounterSource::kInterfaceSum,
     "pcap_stats ps_ifdrop summed over the interfaces (Linux: promiscuous mode only).",
     "rtcap_interface_dropped_packets_total", 1,
     [](const CaptureStats& s) { return s.interface_dropped(); }, nullptr},
    {"interface_reopens", "reopens", CounterKind::kCounter, CounterSource::kInterfaceSum,
     "Capture handles opened again after their interface came back, summed.",
     "rtcap_interface_reopens_total", 1,
     [](const CaptureStats& s) { return s.interface_reopens(); }, nullptr},
    {"latency_count", "packets", CounterKind::kCounter, CounterSource::kHistogram,
     "Packets whose delivery delay was measured.", "rtcap_delivery_latency_seconds", 1,
     [](const CaptureStats& s) { return s.latency_ns.count; }, nullptr},
    {"latency_p50_ns", "ns", CounterKind::kGauge, CounterSource::kHistogram,
     "Median delivery delay: packet time stamp to consumer hand-off.",
     "rtcap_delivery_latency_seconds", 1e-9,
     [](const CaptureStats& s) { return s.latency_ns.percentile(0.5); }, nullptr},
    {"latency_p99_ns", "ns", CounterKind::kGauge, CounterSource::kHistogram,
     "99th percentile of the delivery delay.", "rtcap_delivery_latency_seconds", 1e-9,
     [](const CaptureStats& s) { return s.latency_ns.percentile(0.99); }, nullptr},
    {"latency_p999_ns", "ns", CounterKind::kGauge, CounterSource::kHistogram,
     "99.9th percentile of the delivery delay.", "rtcap_delivery_latency_seconds", 1e-9,
     [](const CaptureStats& s) { return s.latency_ns.percentile(0.999); }, nullptr},
    {"latency_max_ns", "ns", CounterKind::kGauge, CounterSource::kHistogram,
     "Longest delivery delay.", "rtcap_delivery_latency_seconds", 1e-9,
     [](const CaptureStats& s) { return s.latency_ns.max; }, nullptr},
    {"dispatch_bytes_count", "calls", CounterKind::kCounter, CounterSource::kHistogram,
     "Dispatch calls that carried packets (the bytes per call are the histogram).",
     "rtcap_dispatch_bytes", 1,
     [](const CaptureStats& s) { return s.dispatch_bytes.count; }, nullptr},
    {"dispatch_bytes_p99", "bytes", CounterKind::kGauge, CounterSource::kHistogram,
     "99th percentile of the bytes one dispatch call carried.", "rtcap_dispatch_bytes", 1,
     [](const CaptureStats& s) { return s.dispatch_bytes.percentile(0.99); }, nullptr},
};

const InterfaceCounterInfo kInterfaceCounters[] = {
    {"received", "packets", CounterKind::kCounter,
     "pcap_stats ps_recv: packets that passed the filter (Linux), including dropped ones.",
     "rtcap_interface_received_packets_total", 1, &iface<&InterfaceStats::received>},
    {"kernel_dropped", "packets", CounterKind::kCounter,
     "pcap_stats ps_drop: the kernel buffer was full (the reader did not keep up).",
     "rtcap_kernel_dropped_packets_total", 1, &iface<&InterfaceStats::kernel_dropped>},
    {"interface_dropped", "packets", CounterKind::kCounter,
     "pcap_stats ps_ifdrop: dropped by the interface (Linux: promiscuous mode only).",
     "rtcap_interface_dropped_packets_total", 1, &iface<&InterfaceStats::interface_dropped>},
    {"buffer_bytes", "bytes", CounterKind::kGauge, "Kernel capture buffer asked for.",
     "rtcap_kernel_buffer_bytes", 1, &iface<&InterfaceStats::buffer_bytes>},
    {"up", "", CounterKind::kGauge,
     "1 while the interface exists and is up and running, 0 while it is down or gone.",
     "rtcap_interface_up", 1, &iface<&InterfaceStats::up>},
    {"down_events", "events", CounterKind::kCounter,
     "Times the interface was seen going down or away.", "rtcap_interface_down_events_total", 1,
     &iface<&InterfaceStats::down_events>},
    {"down_ns", "ns", CounterKind::kCounter,
     "Time the interface was seen down or away (the current outage included).",
     "rtcap_interface_down_seconds_total", 1e-9,
     [](const InterfaceStats& i) { return non_negative(i.down_ns); }},
    {"reopens", "reopens", CounterKind::kCounter,
     "Times the capture handle was opened again after the interface came back (reopen).",
     "rtcap_interface_reopens_total", 1, &iface<&InterfaceStats::reopens>},
};
// clang-format on
#undef RTCAP_MEMBER

}  // namespace

Span<const CounterInfo> capture_counters() noexcept { return {kCounters, std::size(kCounters)}; }

Span<const InterfaceCounterInfo> interface_counters() noexcept {
  return {kInterfaceCounters, std::size(kInterfaceCounters)};
}

double counter_value(const CounterInfo& counter, const CaptureStats& stats) {
  return counter.fraction ? counter.fraction(stats) : double(counter.integer(stats));
}

}  // namespace rtcap
