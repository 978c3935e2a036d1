// The metrics server (rtcap/metrics_server.hpp): render_metrics' text served on cpp-httplib
// (Debian libcpp-httplib-dev; on Windows the same release's header-only form). A library of its
// own, librtcap-metrics-server, so that librtcap neither links cpp-httplib nor holds a socket.
//
// httplib does the HTTP: request line and headers, routing, the response head. What its own
// listen loop does not bound is the connection: each accepted socket takes one of its worker
// threads until a request arrives, so eight idle connections held a scrape for 5 s.
// Here one thread, the door, owns the listening socket and every connection until its request
// head is complete: it waits in poll(), reads what arrives, and closes a connection at its
// deadline (client_timeout_ms). A head that passes max_request_bytes gets 431. Only a complete
// request goes to a worker (kWorkers), which runs httplib's Server::process_request over a
// stream that serves the bytes the door read, then the socket, within the same deadline. An
// idle or slow client therefore costs a file descriptor, never a worker; when kMaxClients
// connections are held, the oldest one still waiting for its request makes room.
#include "rtcap/metrics_server.hpp"

// httplib.h brings the socket API: <winsock2.h>/<ws2tcpip.h> on Windows, the POSIX headers
// elsewhere (and its socket_t, INVALID_SOCKET).
#include <httplib.h>

#include "platform/socket.hpp"  // after httplib.h: Winsock before <windows.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace rtcap {

namespace {

using Clock = std::chrono::steady_clock;
// socket_t and INVALID_SOCKET: httplib.h defines them (global: SOCKET on Windows, int elsewhere).

// Two workers: an answer is one copy of a text rendered beforehand and one send() into a socket
// buffer that holds it (a scrape is tens of kB; Linux starts a loopback socket with 128 kB of
// receive buffer, tcp_rmem), so one worker suffices; the second keeps answering while a client
// that does not read holds the first until its deadline.
constexpr std::size_t kWorkers = 2;
// poll() waits at most this long, so that a stop is seen even if the self-connect in ~Impl fails.
constexpr int kPollSliceMs = 1000;
// A worker waiting for a slow client looks at the stop flag this often.
constexpr int kWorkerSliceMs = 100;

// The socket calls that differ between Winsock and POSIX (src/platform/socket_*.cpp).
using platform::allow_address_reuse;
using platform::close_socket;
using platform::kAccessDenied;
using platform::kAddrInUse;
using platform::kAddrNotAvailable;
using platform::kSendFlags;
using platform::kShutWrite;
using platform::poll_sockets;
using platform::set_nonblocking;
using platform::socket_error;
using platform::would_block;
std::string error_text(int e) { return std::system_category().message(e); }

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

// Address and port of a socket address, the address alone in `ip`.
void split_address(const sockaddr_storage& a, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    port = ntohs(v6->sin6_port);
  } else {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    port = ntohs(v4->sin_port);
  }
  ip = buf;
}

std::string to_text(const sockaddr_storage& a) {
  std::string ip;
  int port = 0;
  split_address(a, ip, port);
  return a.ss_family == AF_INET6 ? fmt::format("[{}]:{}", ip, port)
                                 : fmt::format("{}:{}", ip, port);
}

// Half-closes, reads what the client sent beyond its request (bounded) and closes: closing a
// socket with unread data makes the kernel send RST, and the client could lose the response.
void close_client(socket_t fd) {
  ::shutdown(fd, kShutWrite);
  char scratch[4096];
  for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof scratch, 0) > 0; ++i) {
  }
  close_socket(fd);
}

// A connection held by the door until its request head is complete.
struct Waiting {
  socket_t fd = INVALID_SOCKET;
  Clock::time_point deadline;
  std::string head;  // what arrived so far
};

bool head_complete(const std::string& head) { return head.find("\r\n\r\n") != std::string::npos; }

// httplib's view of one connection: first the bytes the door read, then the socket; every
// wait ends at the connection's deadline or when the server stops. The socket is non-blocking.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(Waiting& w, std::size_t max_read_bytes, const std::atomic<bool>& stopping)
      : fd_(w.fd),
        head_(std::move(w.head)),
        deadline_(w.deadline),
        max_read_bytes_(max_read_bytes),
        stopping_(stopping) {}

  bool is_readable() const override { return pos_ < head_.size() || wait(POLLIN); }
  bool is_writable() const override { return wait(POLLOUT); }

  ssize_t read(char* ptr, size_t size) override {
    if (pos_ < head_.size()) {
      const std::size_t n = std::min(size, head_.size() - pos_);
      std::memcpy(ptr, head_.data() + pos_, n);
      pos_ += n;
      return static_cast<ssize_t>(n);
    }
    // GET and HEAD have no body; whatever else a client sends is bounded like its head.
    if (read_bytes_ >= max_read_bytes_) return -1;
    const std::size_t want = std::min(size, max_read_bytes_ - read_bytes_);
    while (wait(POLLIN)) {
      const auto n = ::recv(fd_, ptr, static_cast<int>(want), 0);
      if (n >= 0) {
        read_bytes_ += static_cast<std::size_t>(n);
        return n;
      }
      if (!would_block(socket_error())) break;
    }
    return -1;
  }

  ssize_t write(const char* ptr, size_t size) override {
    // This server speaks HTTP/1.0 as it always did: one response per connection, then close
    // (httplib sends Connection: close). httplib 0.11 writes its status line as "HTTP/1.1";
    // the first write is the whole response head, and its version is rewritten to what the
    // connection really was.
    static constexpr std::string_view kHttp11 = "HTTP/1.1 ";
    if (!head_written_) {
      head_written_ = true;
      if (std::string_view(ptr, size).starts_with(kHttp11)) {
        std::string head(ptr, size);
        head[7] = '0';
        return send_all(head.data(), head.size()) ? static_cast<ssize_t>(size) : -1;
      }
    }
    return send_all(ptr, size) ? static_cast<ssize_t>(size) : -1;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) split_address(a, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) split_address(a, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  // true when the socket is ready for `events` before the deadline and before a stop.
  bool wait(short events) const {
    for (;;) {
      if (stopping_.load(std::memory_order_relaxed)) return false;
      const auto left_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left_ms <= 0) return false;
      pollfd p{fd_, events, 0};
      const int ready = poll_sockets(&p, 1, int(std::min<long long>(left_ms, kWorkerSliceMs)));
      if (ready > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
      if (ready < 0 && !would_block(socket_error())) return false;
    }
  }

  bool send_all(const char* p, std::size_t n) {
    while (n > 0) {
      if (!wait(POLLOUT)) return false;
      const auto sent = ::send(fd_, p, static_cast<int>(n), kSendFlags);
      if (sent > 0) {
        p += sent;
        n -= static_cast<std::size_t>(sent);
      } else if (sent < 0 && !would_block(socket_error())) {
        return false;
      }
    }
    return true;
  }

  socket_t fd_;
  std::string head_;
  std::size_t pos_ = 0;
  Clock::time_point deadline_;
  std::size_t max_read_bytes_;
  std::size_t read_bytes_ = 0;
  bool head_written_ = false;
  const std::atomic<bool>& stopping_;
};

// httplib's server with its request processing opened up: the door and the workers here
// replace its accept loop (Server::listen is never called).
class Http : public httplib::Server {
 public:
  using httplib::Server::process_request;
};

}  // namespace

struct RTCAP_LOCAL MetricsServer::Impl {
  MetricsServerOptions options;
  socket_t listen_fd = INVALID_SOCKET;
  sockaddr_storage bound{};
  socklen_t bound_len = 0;
  std::uint16_t port = 0;
  std::string address;
  Http http;
  std::unique_ptr<httplib::ThreadPool> workers;
  std::thread door;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> answering{0};  // connections handed to a worker, not yet closed
  std::atomic<std::uint64_t> scrapes{0};
  std::atomic<std::uint64_t> publishes{0};

  std::mutex mutex;  // guards `text` only
  std::shared_ptr<const std::string> text;

  ~Impl() {
    stopping.store(true);
    if (door.joinable()) {
      wake_door();
      door.join();
    }
    if (workers) workers->shutdown();  // each worker sees `stopping` within kWorkerSliceMs
    if (listen_fd != INVALID_SOCKET) close_socket(listen_fd);
  }

  std::shared_ptr<const std::string> current() {
    std::lock_guard lock(mutex);
    return text;
  }

  void routes() {
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const auto body = current();
      res.set_content(body ? *body : std::string(), "text/plain; version=0.0.4; charset=utf-8");
      scrapes.fetch_add(1, std::memory_order_relaxed);
    });
    http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "GET" || req.method == "HEAD")
        return httplib::Server::HandlerResponse::Unhandled;
      res.status = 405;
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_content(res.status == 404   ? "not found: rtcap serves /metrics only\n"
                      : res.status == 405 ? "method not allowed: rtcap serves GET and HEAD\n"
                                          : "bad request\n",
                      "text/plain; charset=utf-8");
    });
    http.set_payload_max_length(options.max_request_bytes);
  }

  // The door's poll() returns when the listening socket is readable: one connection to it.
  void wake_door() {
    sockaddr_storage to = bound;
    if (to.ss_family == AF_INET6) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&to);
      if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) v6->sin6_addr = in6addr_loopback;
    } else {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&to);
      if (v4->sin_addr.s_addr == htonl(INADDR_ANY)) v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    const socket_t s = ::socket(to.ss_family, SOCK_STREAM, 0);
    if (s == INVALID_SOCKET) return;  // the door sees the flag within kPollSliceMs
    (void)::connect(s, reinterpret_cast<const sockaddr*>(&to), bound_len);
    close_socket(s);
  }

  void answer(Waiting w) {
    if (!head_complete(w.head)) {
      // The door gave up on it: the head passed max_request_bytes.
      static constexpr std::string_view k431 =
          "HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
          "charset=utf-8\r\nContent-Length: 18\r\nConnection: close\r\n\r\nrequest too large\n";
      ConnectionStream s(w, 0, stopping);
      (void)s.write(k431.data(), k431.size());
    } else {
      ConnectionStream s(w, options.max_request_bytes, stopping);
      bool closed = false;
      (void)http.process_request(s, /*close_connection=*/true, closed, nullptr);
    }
    close_client(w.fd);
    answering.fetch_sub(1, std::memory_order_relaxed);
  }

  void hand_over(Waiting&& w) {
    answering.fetch_add(1, std::memory_order_relaxed);
    workers->enqueue([this, w = std::move(w)]() mutable { answer(std::move(w)); });
  }

  void run_door() {
    std::vector<Waiting> waiting;  // oldest first
    std::vector<pollfd> fds;
    char buf[4096];
    while (!stopping.load(std::memory_order_relaxed)) {
      fds.clear();
      fds.push_back({listen_fd, POLLIN, 0});
      auto now = Clock::now();
      int timeout_ms = kPollSliceMs;
      for (const Waiting& w : waiting) {
        fds.push_back({w.fd, POLLIN, 0});
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(w.deadline - now).count();
        timeout_ms =
            std::clamp<int>(int(std::min<long long>(left, kPollSliceMs)) + 1, 0, timeout_ms);
      }
      const int ready = poll_sockets(fds.data(), fds.size(), timeout_ms);
      if (ready < 0 && !would_block(socket_error())) break;
      if (stopping.load(std::memory_order_relaxed)) break;
      now = Clock::now();
      std::vector<Waiting> kept;
      kept.reserve(waiting.size() + 1);
      for (std::size_t i = 0; i < waiting.size(); ++i) {
        Waiting& w = waiting[i];
        const short rev = ready > 0 ? fds[i + 1].revents : short(0);
        if (rev & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
          // Readable: this recv returns at once (data, end of stream or an error).
          const auto n = ::recv(w.fd, buf, sizeof buf, 0);
          if (n > 0) {
            w.head.append(buf, static_cast<std::size_t>(n));
            if (head_complete(w.head) || w.head.size() > options.max_request_bytes) {
              hand_over(std::move(w));
              continue;
            }
          } else if (n == 0 || !would_block(socket_error())) {
            close_socket(w.fd);  // gone before a whole request
            continue;
          }
        }
        if (now >= w.deadline) {
          close_client(w.fd);  // too slow: give the slot back
          continue;
        }
        kept.push_back(std::move(w));
      }
      waiting = std::move(kept);
      if (ready > 0 && (fds[0].revents & POLLIN)) accept_new(waiting, now);
    }
    for (Waiting& w : waiting) close_socket(w.fd);
  }

  void accept_new(std::vector<Waiting>& waiting, Clock::time_point now) {
    for (;;) {
      const socket_t fd = ::accept(listen_fd, nullptr, nullptr);
      if (fd == INVALID_SOCKET) return;  // none left, or a transient error (ECONNABORTED, EMFILE)
      if (!set_nonblocking(fd)) {
        close_socket(fd);
        continue;
      }
      if (waiting.size() + answering.load(std::memory_order_relaxed) >= std::size_t(kMaxClients)) {
        if (waiting.empty()) {  // every slot is being answered: this one waits its turn no more
          close_socket(fd);
          continue;
        }
        close_client(waiting.front().fd);  // the oldest idle or slow client makes room
        waiting.erase(waiting.begin());
      }
      Waiting w;
      w.fd = fd;
      w.deadline = now + std::chrono::milliseconds(options.client_timeout_ms);
      waiting.push_back(std::move(w));
    }
  }
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() = default;

Result<std::unique_ptr<MetricsServer>> MetricsServer::open(std::string_view listen,
                                                           MetricsServerOptions options) {
  auto ep = parse_listen(listen);
  if (!ep) return rtcap::unexpected(ep.error());
  if (!ep->loopback && !options.allow_any_address) {
    // The option by its field: a front end (the CLI) names it in its own words.
    Error e{ErrorCode::kBadConfig,
            {},
            "allow_any_address",
            fmt::format("refusing to serve metrics on {}: not a loopback address, and the metrics "
                        "name hosts, ports and SSRCs; listen on 127.0.0.1 and scrape through a "
                        "tunnel or proxy, or allow it explicitly",
                        listen)};
    e.message = e.reason + " (MetricsServerOptions::allow_any_address)";
    return rtcap::unexpected(std::move(e));
  }

  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const int family = ep->addr.ss_family;
  impl->listen_fd = ::socket(family, SOCK_STREAM, 0);
  if (impl->listen_fd == INVALID_SOCKET || !set_nonblocking(impl->listen_fd))
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: socket: {}", listen,
                                                  error_text(socket_error())));
  const int one = 1;
  const char* on = reinterpret_cast<const char*>(&one);
  allow_address_reuse(impl->listen_fd);
  if (family == AF_INET6) ::setsockopt(impl->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, on, sizeof one);
  if (::bind(impl->listen_fd, reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) != 0) {
    const int err = socket_error();
    const char* fix =
        err == kAddrInUse          ? "another process listens there: stop it or pick a "
                                     "free port (for example 127.0.0.1:9465)"
        : err == kAccessDenied     ? "ports below 1024 need root or CAP_NET_BIND_SERVICE: "
                                     "use a port of 1024 or more (9464 is registered for "
                                     "exporters like this one)"
        : err == kAddrNotAvailable ? "no interface of this host has that address: use "
                                     "127.0.0.1 or an address `ip addr` shows"
                                   : "check the address";
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: {}; {}", listen,
                                                  error_text(err), fix));
  }
  // Backlog: connections made before serve() or while the door is busy wait here (the kernel
  // completes their handshake); 64 covers kMaxClients arriving at once with room to spare.
  if (::listen(impl->listen_fd, 64) != 0)
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: listen: {}", listen,
                                                  error_text(socket_error())));
  impl->bound_len = sizeof impl->bound;
  ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&impl->bound), &impl->bound_len);
  impl->address = to_text(impl->bound);
  impl->port = family == AF_INET6
                   ? ntohs(reinterpret_cast<const sockaddr_in6*>(&impl->bound)->sin6_port)
                   : ntohs(reinterpret_cast<const sockaddr_in*>(&impl->bound)->sin_port);
  impl->routes();
  // Something valid before the first publish(): build info and zero counters.
  impl->text = std::make_shared<const std::string>(
      render_metrics(CaptureStats{}, nullptr, nullptr, impl->options.text));
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

void MetricsServer::serve() {
  if (impl_->door.joinable()) return;
  impl_->workers = std::make_unique<httplib::ThreadPool>(kWorkers);
  Impl* raw = impl_.get();
  impl_->door = std::thread([raw] { raw->run_door(); });
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(std::string_view listen,
                                                            MetricsServerOptions options) {
  auto server = open(listen, std::move(options));
  if (server) (*server)->serve();
  return server;
}

void MetricsServer::publish(const CaptureStats& stats, const TrackerSnapshot* streams,
                            const std::vector<Advice>* advice) {
  auto text = std::make_shared<const std::string>(
      render_metrics(stats, streams, advice, impl_->options.text));
  {
    std::lock_guard lock(impl_->mutex);
    impl_->text.swap(text);
  }
  impl_->publishes.fetch_add(1, std::memory_order_relaxed);
  // The old text is freed here, outside the lock (or by a worker if it still copies it).
}

std::uint16_t MetricsServer::port() const noexcept { return impl_->port; }
const std::string& MetricsServer::address() const noexcept { return impl_->address; }
std::uint64_t MetricsServer::scrapes() const noexcept {
  return impl_->scrapes.load(std::memory_order_relaxed);
}
std::uint64_t MetricsServer::publishes() const noexcept {
  return impl_->publishes.load(std::memory_order_relaxed);
}

}  // namespace rtcap
