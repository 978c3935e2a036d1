// Where each counter of the registry (rtcap/stats.hpp) lives in the C structs of rtcap.h. The
// C structs are fixed layouts, so this list names every field once; fill_* walk the registry
// and tests/unit/test_counters.cpp fails when a counter has no field here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "rtcap/rtcap.h"
#include "rtcap/stats.hpp"

namespace rtcap::capi {

struct CField {
  const char* name;
  std::size_t offset;
  bool is_double;
};

#define RTCAP_FIELD(type, f) \
  CField { #f, offsetof(type, f), std::is_same_v < decltype(type::f), double> }

inline constexpr CField kStatsFields[] = {
    RTCAP_FIELD(rtcap_stats, elapsed_ns),
    RTCAP_FIELD(rtcap_stats, packets_captured),
    RTCAP_FIELD(rtcap_stats, bytes_captured),
    RTCAP_FIELD(rtcap_stats, packets_truncated),
    RTCAP_FIELD(rtcap_stats, app_dropped_packets),
    RTCAP_FIELD(rtcap_stats, packets_delivered),
    RTCAP_FIELD(rtcap_stats, batches_delivered),
    RTCAP_FIELD(rtcap_stats, wakeups),
    RTCAP_FIELD(rtcap_stats, dispatch_calls),
    RTCAP_FIELD(rtcap_stats, empty_dispatch_calls),
    RTCAP_FIELD(rtcap_stats, max_dispatch_bytes),
    RTCAP_FIELD(rtcap_stats, max_dispatch_buffer_share),
    RTCAP_FIELD(rtcap_stats, capture_cpu_ns),
    RTCAP_FIELD(rtcap_stats, received),
    RTCAP_FIELD(rtcap_stats, kernel_dropped),
    RTCAP_FIELD(rtcap_stats, interface_dropped),
    RTCAP_FIELD(rtcap_stats, latency_count),
    RTCAP_FIELD(rtcap_stats, latency_p50_ns),
    RTCAP_FIELD(rtcap_stats, latency_p99_ns),
    RTCAP_FIELD(rtcap_stats, latency_p999_ns),
    RTCAP_FIELD(rtcap_stats, latency_max_ns),
    RTCAP_FIELD(rtcap_stats, thread_handoffs),
    RTCAP_FIELD(rtcap_stats, interface_reopens),
    RTCAP_FIELD(rtcap_stats, dispatch_bytes_count),
    RTCAP_FIELD(rtcap_stats, dispatch_bytes_p99),
    RTCAP_FIELD(rtcap_stats, callback_ns),
};

inline constexpr CField kInterfaceFields[] = {
    RTCAP_FIELD(rtcap_interface_info, received),
    RTCAP_FIELD(rtcap_interface_info, kernel_dropped),
    RTCAP_FIELD(rtcap_interface_info, interface_dropped),
    RTCAP_FIELD(rtcap_interface_info, buffer_bytes),
    RTCAP_FIELD(rtcap_interface_info, up),
    RTCAP_FIELD(rtcap_interface_info, down_events),
    RTCAP_FIELD(rtcap_interface_info, down_ns),
    RTCAP_FIELD(rtcap_interface_info, reopens),
};
#undef RTCAP_FIELD

template <std::size_t N>
const CField* field_of(const CField (&fields)[N], std::string_view name) noexcept {
  for (const CField& f : fields)
    if (name == f.name) return &f;
  return nullptr;
}

// The fields are 64-bit integers (signed ones hold non-negative values) or doubles.
inline void store(void* base, const CField& f, std::uint64_t integer, double fraction) noexcept {
  auto* at = static_cast<unsigned char*>(base) + f.offset;
  if (f.is_double)
    std::memcpy(at, &fraction, sizeof fraction);
  else
    std::memcpy(at, &integer, sizeof integer);
}

inline void fill_stats(const CaptureStats& s, rtcap_stats& out) noexcept {
  for (const CounterInfo& c : capture_counters())
    if (const CField* f = field_of(kStatsFields, c.name))
      store(&out, *f, c.integer ? c.integer(s) : 0, counter_value(c, s));
}

inline void fill_interface(const InterfaceStats& s, rtcap_interface_info& out) noexcept {
  for (const InterfaceCounterInfo& c : interface_counters())
    if (const CField* f = field_of(kInterfaceFields, c.name)) {
      const std::uint64_t v = c.value(s);
      store(&out, *f, v, double(v));
    }
}

}  // namespace rtcap::capi
