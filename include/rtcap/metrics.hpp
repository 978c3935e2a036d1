// Prometheus metrics: a small HTTP/1.0 server (cpp-httplib) on its own threads, serving GET
// /metrics in the text exposition format 0.0.4, for captures that run for weeks.
//
//   auto server = rtcap::MetricsServer::start("127.0.0.1:9464");   // bound when this returns
//   if (!server) { print(server.error().message); ... }
//   consumer thread, about once a second (never the capture thread):
//     (*server)->publish(engine->stats(), &tracker_snapshot, &advisor_summary);
//
// Threads: publish() renders the whole text on the CALLER's thread and swaps it in under a mutex;
// the server's threads only copy a pointer to the latest text under that mutex and write it out.
// One thread holds every connection until its request head is complete (idle and slow clients
// cost a socket, not a thread), two workers answer complete requests. A slow or hostile client
// therefore never touches the capture or consumer thread, nor delays another scrape: it holds
// one of kMaxClients connection slots until its deadline (client_timeout_ms), and the oldest
// waiting one gives its slot to a new connection when all are taken. Requests are bounded
// (max_request_bytes: 431); anything but GET/HEAD /metrics gets 404 or 405.
//
// Privileges: the server's threads start in serve() (start() = open() + serve()) and carry the
// caller's credentials of that moment. A program that drops privileges (rtcap -Z) opens the
// server before the drop (a port below 1024 needs them) and calls serve() after it, so that no
// thread keeps what the others gave up (capabilities and no_new_privs are per thread on Linux).
//
// Exposure: the metrics name hosts, ports and SSRCs, so the server binds loopback only unless
// MetricsOptions::allow_any_address is set (scrape through an SSH tunnel or a local proxy).
//
// Metric families (base units, counters end in _total), see docs/OPERATIONS.md for the list
// with meanings, a scrape config and alert rules.
#pragma once

#include "rtcap/export.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rtcap/advisor.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/error.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

struct MetricsOptions {
  // Bind anything, not only loopback (127.0.0.0/8, ::1). Off by default: see above.
  bool allow_any_address = false;
  // Per-stream series are exported for at most this many streams, the ones with the most
  // packets, to keep the label set bounded (3 labels: src, dst, ssrc).
  std::size_t top_streams = 20;
  // Value of the "version" label of rtcap_build_info (empty: the library's own version).
  std::string version;
  std::size_t max_request_bytes = 8192;  // a longer request head gets 431 and is closed
  int client_timeout_ms = 5000;          // a client must finish its request and read by then
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
// exported, 0 unless present and active. Pure function: the server calls it from publish().
[[nodiscard]] RTCAP_API std::string render_metrics(const CaptureStats& stats,
                                                   const TrackerSnapshot* streams,
                                                   const std::vector<Advice>* advice,
                                                   const MetricsOptions& options = {});

class RTCAP_API MetricsServer {
 public:
  // Connections held at once (waiting for their request or being answered). Issue 13's bound:
  // a scrape answers within 1 s while 64 idle or slow connections are open; 128 leaves room.
  static constexpr int kMaxClients = 128;

  // listen: "HOST:PORT" with a numeric IPv4 address, "[IPv6]:PORT", or "localhost:PORT"; port 0
  // picks a free port (port() tells which). Binds and listens before returning, so a bad or busy
  // address is an error here, one line naming the address and the fix. Starts no thread:
  // connections wait in the listen backlog until serve().
  static Result<std::unique_ptr<MetricsServer>> open(std::string_view listen,
                                                     MetricsOptions options = {});
  // Starts the server's threads (once; later calls do nothing).
  void serve();
  // open() and serve().
  static Result<std::unique_ptr<MetricsServer>> start(std::string_view listen,
                                                      MetricsOptions options = {});

  ~MetricsServer();  // stops the thread and closes every socket
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Renders on the calling thread, then swaps the text in (one short mutex hold).
  void publish(const CaptureStats& stats, const TrackerSnapshot* streams,
               const std::vector<Advice>* advice);

  [[nodiscard]] std::uint16_t port() const noexcept;          // bound port (useful with :0)
  [[nodiscard]] const std::string& address() const noexcept;  // "127.0.0.1:9464" as bound
  [[nodiscard]] std::uint64_t scrapes() const noexcept;       // 200 responses to /metrics
  [[nodiscard]] std::uint64_t publishes() const noexcept;

  struct RTCAP_LOCAL Impl;

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtcap
