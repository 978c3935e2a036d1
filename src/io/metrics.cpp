// Prometheus text exposition (format 0.0.4) and the tiny HTTP/1.0 server that serves it.
//
// Why a hand-written server: one endpoint, one response, no keep-alive, bounded requests. A
// library (prometheus-cpp, civetweb) would bring threads pools and a dependency for ~200 lines.
//
// The server thread owns every socket. It waits in poll() on the listening socket, the client
// sockets and a self-pipe (stop). Each client gets a fixed deadline; a request head longer than
// max_request_bytes is answered 431 and closed. Responses are written non-blocking, so a client
// that does not read only keeps its own slot busy until its deadline.
#include "rtcap/metrics.hpp"

#ifndef _WIN32
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "rtcap/engine.hpp"

#ifndef RTCAP_VERSION
#define RTCAP_VERSION "unknown"
#endif

namespace rtcap {
namespace {

// ---------------------------------------------------------------------------------------------
// Rendering

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

struct Label {
  std::string_view name;
  std::string value;
};

class Text {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, std::string_view value) {
    out_ += name;
    if (labels.size() != 0) {
      out_ += '{';
      bool first = true;
      for (const Label& l : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += fmt::format("{}=\"{}\"", l.name, escape_label(l.value));
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t v) {
    sample(name, labels, std::string_view(fmt::format("{}", v)));
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t v) {
    sample(name, labels, std::string_view(fmt::format("{}", v)));
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, double v) {
    sample(name, labels, std::string_view(format_value(v)));
  }
  // One-sample families.
  void counter(std::string_view name, std::string_view help, std::uint64_t v) {
    family(name, "counter", help);
    sample(name, {}, v);
  }
  void gauge(std::string_view name, std::string_view help, double v) {
    family(name, "gauge", help);
    sample(name, {}, v);
  }

  // A Prometheus histogram from a log-linear HistogramData. A sample is counted under `le` when
  // its whole histogram bucket lies at or below le * scale (HDR buckets are at most 3.1% wide,
  // so a value up to 3.1% under a bound may land in the next one: latency is never understated).
  // _count and +Inf are the sum of the buckets, not HistogramData::count, so that the series is
  // self-consistent even when the snapshot raced a writer.
  template <std::size_t N>
  void histogram(std::string_view name, std::string_view help, const HistogramData& h,
                 const double (&bounds)[N], double scale_to_units) {
    family(name, "histogram", help);
    const std::string bucket = fmt::format("{}_bucket", name);
    std::uint64_t cumulative = 0;
    std::size_t i = 0;
    for (double bound : bounds) {
      const double limit = std::floor(bound / scale_to_units + 1e-9);  // in histogram units
      for (; i < h.buckets.size() && double(histogram_bucket_upper(i)) <= limit; ++i)
        cumulative += h.buckets[i];
      sample(bucket, {{"le", format_value(bound)}}, cumulative);
    }
    for (; i < h.buckets.size(); ++i) cumulative += h.buckets[i];
    sample(bucket, {{"le", "+Inf"}}, cumulative);
    sample(fmt::format("{}_sum", name), {}, double(h.sum) * scale_to_units);
    sample(fmt::format("{}_count", name), {}, cumulative);
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

const char* const kKnownRules[] = {
    advice_id::kDispatchFillsBuffer, advice_id::kReaderTooSlow,     advice_id::kBurstDrops,
    advice_id::kImmediateCostsCpu,   advice_id::kConsumerDiscards,  advice_id::kSnaplenTruncates,
    advice_id::kRingTooFewSlots,     advice_id::kPromiscuousUnneeded, advice_id::kAppQueueDrops,
    advice_id::kLossBeforeCapture};

std::string endpoint(const IpAddress& a, std::uint16_t port) {
  return a.family == 6 ? fmt::format("[{}]:{}", a.to_string(), port)
                       : fmt::format("{}:{}", a.to_string(), port);
}

void render_streams(Text& t, const TrackerSnapshot& snap, std::size_t top) {
  t.gauge("rtcap_streams_active", "Streams in the analyser's table now.",
          double(snap.totals.streams_active));
  t.counter("rtcap_streams_seen_total", "Distinct UDP/RTP streams the analyser ever created.",
            snap.totals.streams_seen);
  t.counter("rtcap_streams_evicted_total",
            "Streams pushed out of the analyser's table to make room.", snap.totals.evicted);
  t.counter("rtcap_analysed_malformed_packets_total",
            "Packets with truncated or inconsistent headers.", snap.totals.malformed);
  t.gauge("rtcap_sequence_lost_packets",
          "RTP sequence gaps summed over all streams (positive per-stream loss, evicted included).",
          double(total_sequence_loss(snap)));

  std::vector<const StreamSummary*> order;
  order.reserve(snap.streams.size());
  for (const auto& s : snap.streams) order.push_back(&s);
  const std::size_t n = std::min(top, order.size());
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(n), order.end(),
                    [](const StreamSummary* a, const StreamSummary* b) {
                      return a->packets != b->packets ? a->packets > b->packets : a->id < b->id;
                    });
  order.resize(n);

  struct Row {
    std::string src, dst, ssrc;
    const StreamSummary* s;
  };
  std::vector<Row> rows;
  rows.reserve(n);
  for (const StreamSummary* s : order)
    rows.push_back({endpoint(s->src, s->src_port), endpoint(s->dst, s->dst_port),
                    s->is_rtp ? fmt::format("0x{:08x}", s->ssrc) : std::string(), s});

  auto each = [&](std::string_view name, std::string_view type, std::string_view help,
                  auto value, bool rtp_only) {
    t.family(name, type, help);
    for (const Row& r : rows) {
      if (rtp_only && !r.s->is_rtp) continue;
      t.sample(name, {{"src", r.src}, {"dst", r.dst}, {"ssrc", r.ssrc}}, value(*r.s));
    }
  };
  each("rtcap_stream_packets_total", "counter",
       "Packets of the stream (top streams by packets; ssrc empty for plain UDP).",
       [](const StreamSummary& s) { return s.packets; }, false);
  each("rtcap_stream_bytes_total", "counter", "Wire bytes of the stream.",
       [](const StreamSummary& s) { return s.bytes; }, false);
  each("rtcap_stream_expected_packets", "gauge",
       "RTP packets expected from the sequence numbers (RFC 3550 A.3).",
       [](const StreamSummary& s) { return s.expected; }, true);
  each("rtcap_stream_lost_packets", "gauge",
       "RTP expected minus received; may fall when late packets arrive, negative with duplicates.",
       [](const StreamSummary& s) { return s.lost; }, true);
  each("rtcap_stream_duplicate_packets_total", "counter", "RTP sequence numbers seen twice.",
       [](const StreamSummary& s) { return s.duplicates; }, true);
  each("rtcap_stream_reordered_packets_total", "counter",
       "RTP packets that arrived behind the highest sequence number.",
       [](const StreamSummary& s) { return s.reordered; }, true);
  each("rtcap_stream_jitter_seconds", "gauge", "RFC 3550 interarrival jitter, now.",
       [](const StreamSummary& s) { return s.jitter_ms / 1000.0; }, true);
  each("rtcap_stream_max_gap_seconds", "gauge", "Largest arrival gap between two packets.",
       [](const StreamSummary& s) { return s.interval.max_ms / 1000.0; }, false);
}

}  // namespace

std::string render_metrics(const CaptureStats& s, const TrackerSnapshot* streams,
                           const std::vector<Advice>* advice, const MetricsOptions& options) {
  Text t;
  t.family("rtcap_build_info", "gauge", "Always 1; the labels name the rtcap and libpcap builds.");
  t.sample("rtcap_build_info",
           {{"version", options.version.empty() ? std::string(RTCAP_VERSION) : options.version},
            {"libpcap", pcap_library_version()}},
           std::uint64_t{1});
  t.gauge("rtcap_capture_elapsed_seconds", "Time since the capture started.",
          double(s.elapsed_ns) / 1e9);

  t.counter("rtcap_packets_captured_total", "Packets copied into batches by the capture thread.",
            s.packets_captured);
  t.counter("rtcap_bytes_captured_total", "Bytes captured (sum of captured lengths).",
            s.bytes_captured);
  t.counter("rtcap_packets_truncated_total", "Packets cut by the snapshot length.",
            s.packets_truncated);
  t.counter("rtcap_app_dropped_packets_total",
            "Packets dropped by rtcap: no free batch (the consumer fell behind).",
            s.app_dropped_packets);
  t.counter("rtcap_packets_delivered_total", "Packets handed to the consumer.",
            s.packets_delivered);
  t.counter("rtcap_batches_delivered_total", "Batches handed to the consumer.",
            s.batches_delivered);
  t.counter("rtcap_wakeups_total", "Returns of the capture thread from its readiness wait.",
            s.wakeups);
  t.counter("rtcap_dispatch_calls_total", "pcap_dispatch (or pcap_next_ex) calls.",
            s.dispatch_calls);
  t.counter("rtcap_empty_dispatch_calls_total", "Dispatch calls that returned no packet.",
            s.empty_dispatch_calls);
  t.family("rtcap_capture_cpu_seconds_total", "counter", "CPU time of the capture thread.");
  t.sample("rtcap_capture_cpu_seconds_total", {}, double(s.capture_cpu_ns) / 1e9);
  t.gauge("rtcap_max_dispatch_buffer_ratio",
          "Largest share of the kernel buffer one dispatch call carried (1 = full: drops near).",
          s.max_dispatch_buffer_share);

  // Per interface: pcap_stats, widened to 64 bits (meanings per platform: rtcap/stats.hpp).
  auto per_if = [&](std::string_view name, std::string_view type, std::string_view help,
                    auto value) {
    t.family(name, type, help);
    for (const auto& i : s.interfaces) t.sample(name, {{"interface", i.name}}, value(i));
  };
  per_if("rtcap_interface_received_packets_total", "counter",
         "pcap_stats ps_recv: packets that passed the filter (Linux), including dropped ones.",
         [](const InterfaceStats& i) { return i.received; });
  per_if("rtcap_kernel_dropped_packets_total", "counter",
         "pcap_stats ps_drop: the kernel buffer was full (the reader did not keep up).",
         [](const InterfaceStats& i) { return i.kernel_dropped; });
  per_if("rtcap_interface_dropped_packets_total", "counter",
         "pcap_stats ps_ifdrop: dropped by the interface (Linux: promiscuous mode only).",
         [](const InterfaceStats& i) { return i.interface_dropped; });
  per_if("rtcap_kernel_buffer_bytes", "gauge", "Kernel capture buffer asked for.",
         [](const InterfaceStats& i) { return i.buffer_bytes; });
  // Interface outages (issue 13): alert on rtcap_interface_up == 0, and on reopens increasing.
  per_if("rtcap_interface_up", "gauge",
         "1 while the interface exists and is up and running, 0 while it is down or gone.",
         [](const InterfaceStats& i) { return std::uint64_t(i.up ? 1 : 0); });
  per_if("rtcap_interface_down_events_total", "counter",
         "Times the interface was seen going down or away.",
         [](const InterfaceStats& i) { return i.down_events; });
  per_if("rtcap_interface_down_seconds_total", "counter",
         "Time the interface was seen down or away (the current outage included).",
         [](const InterfaceStats& i) { return double(i.down_ns) / 1e9; });
  per_if("rtcap_interface_reopens_total", "counter",
         "--reopen: times the capture handle was opened again after the interface came back.",
         [](const InterfaceStats& i) { return i.reopens; });

  t.histogram("rtcap_dispatch_packets", "Packets per dispatch call (calls that carried any).",
              s.dispatch_packets, kDispatchPacketBuckets, 1.0);
  t.histogram("rtcap_delivery_latency_seconds",
              "Packet timestamp to consumer hand-off (CLOCK_REALTIME).", s.latency_ns,
              kLatencyBucketsSeconds, 1e-9);

  if (streams) render_streams(t, *streams, options.top_streams);

  if (advice) {
    std::vector<std::pair<std::string, const Advice*>> rules;
    for (const char* id : kKnownRules) rules.emplace_back(id, nullptr);
    for (const Advice& a : *advice) {
      auto it = std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.first == a.id; });
      if (it == rules.end()) rules.emplace_back(a.id, &a);
      else it->second = &a;
    }
    t.family("rtcap_advice_active", "gauge",
             "1 while an advisor rule holds (rtcap's tuning advice, docs/TUNING.md).");
    for (const auto& [id, a] : rules)
      t.sample("rtcap_advice_active",
               {{"rule", id}, {"severity", a ? to_string(a->severity) : ""}},
               std::uint64_t{a && a->active ? 1u : 0u});
    t.family("rtcap_advice_fired_total", "counter", "Times an advisor rule became active.");
    for (const auto& [id, a] : rules)
      t.sample("rtcap_advice_fired_total", {{"rule", id}, {"severity", a ? to_string(a->severity) : ""}},
               std::uint64_t(a ? std::max(a->times_fired, 0) : 0));
  }
  return t.take();
}

// ---------------------------------------------------------------------------------------------
// The server

#ifdef _WIN32
// Windows: the server is written against POSIX sockets (poll, accept4, a self-pipe) and is not
// ported to Winsock yet; start() says so, and render_metrics works as everywhere. No server can
// be constructed, so the members below only complete the class.
struct MetricsServer::Impl {
  std::string address;
};
MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() = default;
Result<std::unique_ptr<MetricsServer>> MetricsServer::start(std::string_view listen,
                                                            MetricsOptions) {
  return make_error(ErrorCode::kUnsupported,
                    fmt::format("cannot serve metrics on {}: the metrics server is not available "
                                "on Windows yet; write the statistics with --stats-json instead",
                                listen));
}
void MetricsServer::publish(const CaptureStats&, const TrackerSnapshot*, const std::vector<Advice>*) {}
std::uint16_t MetricsServer::port() const noexcept { return 0; }
const std::string& MetricsServer::address() const noexcept { return impl_->address; }
std::uint64_t MetricsServer::scrapes() const noexcept { return 0; }
std::uint64_t MetricsServer::publishes() const noexcept { return 0; }
#else
namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool loopback = false;
};

// "127.0.0.1:9464", "[::1]:9464", "localhost:9464" -> a socket address. Names other than
// localhost are not resolved: a metrics endpoint should not depend on DNS at start.
Result<Endpoint> parse_listen(std::string_view text) {
  const std::string shown(text);
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kBadConfig,
                      fmt::format("bad metrics address '{}': {}; use HOST:PORT, for example "
                                  "127.0.0.1:9464 or [::1]:9464",
                                  shown, why));
  };
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("an IPv6 address needs brackets and a port");
    host = std::string(text.substr(1, close - 1));
    port_text = std::string(text.substr(close + 2));
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = std::string(text.substr(0, colon));
    port_text = std::string(text.substr(colon + 1));
    if (host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad("the port must be a number 0..65535");
  const unsigned long port = std::stoul(port_text);
  if (port > 65535) return bad("the port must be a number 0..65535");
  if (host.empty()) return bad("no host (use 127.0.0.1 for this host only)");
  if (host == "localhost") host = "127.0.0.1";

  Endpoint e;
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&e.addr, &v4, sizeof v4);
    e.len = sizeof v4;
    e.loopback = (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&e.addr, &v6, sizeof v6);
    e.len = sizeof v6;
    e.loopback = IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr);
  } else {
    return bad("the host must be a numeric IPv4/IPv6 address or localhost");
  }
  return e;
}

std::string to_text(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    return fmt::format("[{}]:{}", buf, ntohs(v6->sin6_port));
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
  inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
  return fmt::format("{}:{}", buf, ntohs(v4->sin_port));
}

// Reads what the client sent beyond its request (bounded) before closing: closing a socket with
// unread data makes the kernel send RST, and the client could lose the response we just wrote.
void close_client(int fd) {
  char scratch[4096];
  for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; ++i) {
  }
  ::close(fd);
}

struct Client {
  int fd = -1;
  Clock::time_point deadline;
  std::string request;
  std::shared_ptr<const std::string> body;  // keeps the scrape text alive while we write it
  std::string head;
  std::size_t sent = 0;  // bytes of head + body written
  bool writing = false;
};

}  // namespace

struct MetricsServer::Impl {
  MetricsOptions options;
  int listen_fd = -1;
  int wake_read = -1;
  int wake_write = -1;
  std::uint16_t port = 0;
  std::string address;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> scrapes{0};
  std::atomic<std::uint64_t> publishes{0};

  std::mutex mutex;  // guards `text` only
  std::shared_ptr<const std::string> text;

  ~Impl() {
    stopping.store(true);
    if (wake_write >= 0) {
      const char c = 0;
      [[maybe_unused]] auto n = ::write(wake_write, &c, 1);
    }
    if (thread.joinable()) thread.join();
    for (int fd : {listen_fd, wake_read, wake_write})
      if (fd >= 0) ::close(fd);
  }

  std::shared_ptr<const std::string> current() {
    std::lock_guard lock(mutex);
    return text;
  }

  void respond(Client& c) {
    // Request line: METHOD SP TARGET SP VERSION. Only the path matters; a query is ignored.
    const auto eol = c.request.find("\r\n") != std::string::npos ? c.request.find("\r\n")
                                                                  : c.request.find('\n');
    const std::string line = c.request.substr(0, eol);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
    std::string status = "400 Bad Request";
    std::shared_ptr<const std::string> body;
    bool head_only = false;
    if (sp1 != std::string::npos) {
      const std::string method = line.substr(0, sp1);
      std::string target = line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos
                                                                          : sp2 - sp1 - 1);
      if (const auto q = target.find('?'); q != std::string::npos) target.resize(q);
      if (method != "GET" && method != "HEAD") {
        status = "405 Method Not Allowed";
      } else if (target != "/metrics") {
        status = "404 Not Found";
      } else {
        status = "200 OK";
        head_only = method == "HEAD";
        body = current();
        if (!body) body = std::make_shared<const std::string>();
        scrapes.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (!body)
      body = std::make_shared<const std::string>(
          status.starts_with("404") ? "not found: rtcap serves /metrics only\n"
                                    : status + "\n");
    begin_write(c, status, std::move(body), head_only);
  }

  static void begin_write(Client& c, std::string_view status,
                          std::shared_ptr<const std::string> body, bool head_only) {
    c.head = fmt::format(
        "HTTP/1.0 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        status,
        status.starts_with("200") ? "text/plain; version=0.0.4; charset=utf-8"
                                  : "text/plain; charset=utf-8",
        body->size());
    c.body = head_only ? std::make_shared<const std::string>() : std::move(body);
    c.writing = true;
    c.sent = 0;
  }

  // false: the client is finished (or failed) and must be closed.
  bool on_readable(Client& c) {
    char buf[2048];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.request.append(buf, std::size_t(n));
        if (c.request.find("\r\n\r\n") != std::string::npos ||
            c.request.find("\n\n") != std::string::npos) {
          respond(c);
          return on_writable(c);
        }
        if (c.request.size() > options.max_request_bytes) {
          begin_write(c, "431 Request Header Fields Too Large",
                      std::make_shared<const std::string>("request too large\n"), false);
          return on_writable(c);
        }
        continue;
      }
      if (n == 0) return false;  // closed before a whole request
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  bool on_writable(Client& c) {
    const std::size_t total = c.head.size() + c.body->size();
    while (c.sent < total) {
      const bool in_head = c.sent < c.head.size();
      const char* p = in_head ? c.head.data() + c.sent : c.body->data() + (c.sent - c.head.size());
      const std::size_t len = in_head ? c.head.size() - c.sent : total - c.sent;
      const ssize_t n = ::send(c.fd, p, len, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += std::size_t(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    ::shutdown(c.fd, SHUT_WR);
    return false;  // done: HTTP/1.0, one response per connection
  }

  void run() {
    std::vector<Client> clients;
    std::vector<pollfd> fds;
    while (!stopping.load(std::memory_order_relaxed)) {
      fds.clear();
      fds.push_back({wake_read, POLLIN, 0});
      const bool room = clients.size() < std::size_t(kMaxClients);
      fds.push_back({room ? listen_fd : -1, POLLIN, 0});
      auto now = Clock::now();
      int timeout_ms = 1000;
      for (const Client& c : clients) {
        fds.push_back({c.fd, short(c.writing ? POLLOUT : POLLIN), 0});
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
        timeout_ms = std::clamp<int>(int(std::min<long long>(left, 1000)) + 1, 0, timeout_ms);
      }
      const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
      if (ready < 0 && errno != EINTR) break;
      if (stopping.load(std::memory_order_relaxed)) break;
      now = Clock::now();
      // Clients first (their indices match fds[2..]); then accept new ones.
      std::vector<Client> kept;
      kept.reserve(clients.size() + 1);
      for (std::size_t i = 0; i < clients.size(); ++i) {
        Client& c = clients[i];
        const short rev = ready > 0 ? fds[i + 2].revents : short(0);
        bool keep = true;
        if (rev & (POLLERR | POLLNVAL)) keep = false;
        else if (!c.writing && (rev & (POLLIN | POLLHUP))) keep = on_readable(c);
        else if (c.writing && (rev & (POLLOUT | POLLHUP))) keep = on_writable(c);
        if (keep && now >= c.deadline) keep = false;  // too slow: give the slot back
        if (keep) kept.push_back(std::move(c));
        else close_client(c.fd);
      }
      clients = std::move(kept);
      if (ready > 0 && room && (fds[1].revents & POLLIN)) {
        for (;;) {
          if (clients.size() >= std::size_t(kMaxClients)) break;
          const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;  // EAGAIN, or a transient error (ECONNABORTED, EMFILE): try later
          Client c;
          c.fd = fd;
          c.deadline = now + std::chrono::milliseconds(options.client_timeout_ms);
          clients.push_back(std::move(c));
        }
      }
    }
    for (Client& c : clients) ::close(c.fd);
  }
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() = default;

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(std::string_view listen,
                                                            MetricsOptions options) {
  auto ep = parse_listen(listen);
  if (!ep) return rtcap::unexpected(ep.error());
  if (!ep->loopback && !options.allow_any_address)
    return make_error(
        ErrorCode::kBadConfig,
        fmt::format("refusing to serve metrics on {}: not a loopback address, and the metrics name "
                    "hosts, ports and SSRCs; listen on 127.0.0.1 and scrape through a tunnel or "
                    "proxy, or allow it explicitly (rtcap --metrics-allow-any-address, "
                    "MetricsOptions::allow_any_address)",
                    listen));

  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const int family = ep->addr.ss_family;
  impl->listen_fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (impl->listen_fd < 0)
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: socket: {}", listen,
                                                  std::strerror(errno)));
  const int one = 1;
  ::setsockopt(impl->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(impl->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(impl->listen_fd, reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) != 0) {
    const int err = errno;
    const char* fix = err == EADDRINUSE   ? "another process listens there: stop it or pick a "
                                            "free port (for example 127.0.0.1:9465)"
                      : err == EACCES     ? "ports below 1024 need root or CAP_NET_BIND_SERVICE: "
                                            "use a port of 1024 or more (9464 is registered for "
                                            "exporters like this one)"
                      : err == EADDRNOTAVAIL ? "no interface of this host has that address: use "
                                               "127.0.0.1 or an address `ip addr` shows"
                                             : "check the address";
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: {}; {}", listen,
                                                  std::strerror(err), fix));
  }
  if (::listen(impl->listen_fd, 16) != 0)
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: listen: {}", listen,
                                                  std::strerror(errno)));
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  impl->address = to_text(bound);
  impl->port = family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                                  : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: pipe: {}", listen,
                                                  std::strerror(errno)));
  impl->wake_read = pipe_fds[0];
  impl->wake_write = pipe_fds[1];
  // Something valid before the first publish(): build info and zero counters.
  impl->text = std::make_shared<const std::string>(
      render_metrics(CaptureStats{}, nullptr, nullptr, impl->options));
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

void MetricsServer::publish(const CaptureStats& stats, const TrackerSnapshot* streams,
                            const std::vector<Advice>* advice) {
  auto text =
      std::make_shared<const std::string>(render_metrics(stats, streams, advice, impl_->options));
  {
    std::lock_guard lock(impl_->mutex);
    impl_->text.swap(text);
  }
  impl_->publishes.fetch_add(1, std::memory_order_relaxed);
  // The old text is freed here, outside the lock (or by the server thread if it still writes it).
}

std::uint16_t MetricsServer::port() const noexcept { return impl_->port; }
const std::string& MetricsServer::address() const noexcept { return impl_->address; }
std::uint64_t MetricsServer::scrapes() const noexcept {
  return impl_->scrapes.load(std::memory_order_relaxed);
}
std::uint64_t MetricsServer::publishes() const noexcept {
  return impl_->publishes.load(std::memory_order_relaxed);
}

#endif  // _WIN32

}  // namespace rtcap
