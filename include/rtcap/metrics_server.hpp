// Prometheus metrics server: a small HTTP/1.0 server (cpp-httplib) on its own threads, serving
// GET /metrics (render_metrics' text, rtcap/metrics.hpp) for captures that run for weeks.
//
// A library of its own, librtcap-metrics-server (CMake: rtcap::metrics_server; pkg-config:
// rtcap-metrics-server; Debian: librtcap-metrics-server1), over librtcap: a program that never
// serves metrics neither links it nor loads cpp-httplib (docs/EMBEDDING.md).
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
// MetricsServerOptions::allow_any_address is set (scrape through an SSH tunnel or a local proxy).
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
#include "rtcap/metrics.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

struct MetricsServerOptions {
  // Bind anything, not only loopback (127.0.0.0/8, ::1). Off by default: see above.
  bool allow_any_address = false;
  std::size_t max_request_bytes = 8192;  // a longer request head gets 431 and is closed
  int client_timeout_ms = 5000;          // a client must finish its request and read by then
  MetricsOptions text;                   // what publish() renders
};

class RTCAP_METRICS_SERVER_API MetricsServer {
 public:
  // Connections held at once (waiting for their request or being answered): a scrape answers
  // within 1 s while 64 idle or slow connections are open; 128 leaves room.
  static constexpr int kMaxClients = 128;

  // listen: "HOST:PORT" with a numeric IPv4 address, "[IPv6]:PORT", or "localhost:PORT"; port 0
  // picks a free port (port() tells which). Binds and listens before returning, so a bad or busy
  // address is an error here, one line naming the address and the fix. Starts no thread:
  // connections wait in the listen backlog until serve().
  static Result<std::unique_ptr<MetricsServer>> open(std::string_view listen,
                                                     MetricsServerOptions options = {});
  // Starts the server's threads (once; later calls do nothing).
  void serve();
  // open() and serve().
  static Result<std::unique_ptr<MetricsServer>> start(std::string_view listen,
                                                      MetricsServerOptions options = {});

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
