// Prometheus metrics text: render_metrics() turns the counters, the stream table and the advice
// into one scrape in the text exposition format 0.0.4. It is pure and part of librtcap; the HTTP
// server that serves it (MetricsServer) is a library of its own, rtcap/metrics_server.hpp
// (librtcap-metrics-server), so that a program that never serves metrics links no server.
//
//   const std::string text = rtcap::render_metrics(engine->stats(), &snapshot, &advice);
//
// Metric families (base units, counters end in _total), see docs/OPERATIONS.md for the list
// with meanings, a scrape config and alert rules.
#pragma once

#include "rtcap/export.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "rtcap/advisor.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

// What the text holds (MetricsServerOptions carries these for the server).
struct MetricsOptions {
  // Per-stream series are exported for at most this many streams, the ones with the most
  // packets, to keep the label set bounded (3 labels: src, dst, ssrc).
  std::size_t top_streams = 20;
  // Value of the "version" label of rtcap_build_info (empty: the library's own version).
  std::string version;
};

// Latency histogram bounds (seconds) of rtcap_delivery_latency_seconds: 10 us .. 10 s; 2 ms and
// 20 ms are the AES67 network-delay budgets for 125 us and 1 ms packets (see FACTS.md).
inline constexpr double kLatencyBucketsSeconds[] = {
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01,
    0.02,    0.05,     0.1,     0.25,   0.5,     1.0,    2.5,   5.0,   10.0};
// Bytes-per-dispatch histogram bounds of rtcap_dispatch_bytes: 64 B (one small frame) to 128 MiB
// (the largest default ring, Linux immediate mode), by fours.
inline constexpr double kDispatchByteBuckets[] = {
    64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 134217728};
// Packets-per-dispatch histogram bounds of rtcap_dispatch_packets.
inline constexpr double kDispatchPacketBuckets[] = {1,   2,   4,    8,    16,   32,    64,   128,
                                                    256, 512, 1024, 2048, 4096, 16384, 65536};

// The text of one scrape (exposition format 0.0.4). `streams` and `advice` may be null (not
// running). `advice`: rules as Advisor::summary() or active() gives them; every known rule is
// exported, 0 unless present and active. Pure function: MetricsServer::publish() calls it.
[[nodiscard]] RTCAP_API std::string render_metrics(const CaptureStats& stats,
                                                   const TrackerSnapshot* streams,
                                                   const std::vector<Advice>* advice,
                                                   const MetricsOptions& options = {});

}  // namespace rtcap
