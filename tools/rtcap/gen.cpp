// The generator's hot loop: one unconnected UDP socket, per-message destinations (stream k goes
// to port + 2k), sendmmsg batches of up to 64, an absolute schedule with clock_nanosleep
// (TIMER_ABSTIME) so lateness never accumulates into drift. Everything is allocated before the
// first packet; the loop itself only builds headers into preallocated buffers and makes the
// clock, sleep and send system calls.
#include "gen.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/core.h>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "lab.hpp"
#include "rtp_format.hpp"
#include "engine/clock.hpp"
#include "rtcap/histogram.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::tool {
namespace {

constexpr std::size_t kMaxBatch = 64;      // messages per sendmmsg (the brief's limit; UIO_MAXIOV is 1024)
constexpr std::size_t kMaxDatagram = 1472; // 1500-byte veth/Ethernet MTU minus IPv4 and UDP headers
constexpr int kMaxStreams = 4096;
constexpr double kDefaultSecs = 5.0;
constexpr double kMaxSecs = 3600.0;
// Socket send buffer: 4 MiB holds ~40,000 tiny datagrams' skbs, so a scheduling hiccup of the
// receiving softirq does not turn into ENOBUFS at 250 kpps. Set with SO_SNDBUFFORCE (root).
constexpr int kSndBufBytes = 4 * 1024 * 1024;
constexpr unsigned long kTimerSlackNs = 1000;  // see the prctl in run_generator

// 128-bit intermediates for slot x period products (no overflow, no floating-point drift).
__extension__ using u128 = unsigned __int128;
__extension__ using i128 = __int128;

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t s = seed ^ (a * 0xD6E8FEB86659FD93ull) ^ (b * 0xA0761D6478BD642Full);
  return splitmix64(s);
}

std::uint64_t probability_threshold(double p) noexcept {
  if (p <= 0) return 0;
  if (p >= 1) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(std::ldexp(p, 64));
}

std::int64_t now_ns(clockid_t clock) noexcept {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void sleep_until(std::int64_t mono_ns) noexcept {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(mono_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(mono_ns % 1'000'000'000);
  // EINTR: the caller's loop looks at the stop flag and sleeps again if needed.
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

std::atomic<bool> g_stop{false};
void gen_stop_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

std::expected<std::pair<std::string, std::uint16_t>, std::string> parse_dst(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return std::unexpected(fmt::format("--dst '{}' must be ADDR:PORT, for example 198.18.0.2:5004", text));
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  const long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 1 || port > 65535)
    return std::unexpected(fmt::format("--dst '{}': port must be 1..65535", text));
  return std::pair{text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pure helpers

std::expected<std::int64_t, std::string> parse_ptime(const std::string& text) {
  // Number and unit as for every duration (rtcap/latency_budget.hpp), written without a space.
  const auto ns = text.find_first_of(" \t") == std::string::npos ? rtcap::parse_duration(text)
                                                                   : rtcap::parse_duration("");
  if (!ns)
    return std::unexpected(
        fmt::format("--ptime '{}' must be a number with a unit: 1ms, 250us, 125us (ns, us, ms, s)", text));
  if (!(*ns >= 1) || *ns > 1e10 || std::abs(*ns - std::round(*ns)) > 1e-6)
    return std::unexpected(fmt::format("--ptime '{}' must be a whole number of ns between 1ns and 10s", text));
  return static_cast<std::int64_t>(std::llround(*ns));
}

std::expected<std::uint32_t, std::string> samples_per_packet(int sample_rate_hz, std::int64_t ptime_ns) {
  if (sample_rate_hz <= 0) return std::unexpected(std::string("--sample-rate must be positive"));
  const i128 prod = static_cast<i128>(sample_rate_hz) * ptime_ns;
  if (prod % 1'000'000'000 != 0 || prod == 0)
    return std::unexpected(fmt::format("--ptime {}ns at --sample-rate {} Hz is not a whole number of "
                                       "samples: choose a ptime such as 1ms, 250us or 125us",
                                       ptime_ns, sample_rate_hz));
  return static_cast<std::uint32_t>(prod / 1'000'000'000);
}

std::expected<std::size_t, std::string> audio_payload_bytes(int sample_rate_hz, std::int64_t ptime_ns,
                                                            int channels, int bits) {
  auto spp = samples_per_packet(sample_rate_hz, ptime_ns);
  if (!spp) return std::unexpected(spp.error());
  if (channels < 1 || channels > 64) return std::unexpected(std::string("--channels must be 1..64"));
  if (bits != 16 && bits != 24) return std::unexpected(std::string("--bits must be 16 (L16) or 24 (L24)"));
  return static_cast<std::size_t>(*spp) * static_cast<std::size_t>(channels) *
         static_cast<std::size_t>(bits / 8);
}

std::int64_t Schedule::offset_ns(std::uint64_t slot) const noexcept {
  if (!paced()) return 0;
  const std::uint64_t tick_slot = slot / burst * burst;
  return static_cast<std::int64_t>(static_cast<u128>(tick_slot) * period_num / period_den);
}

double Schedule::rate_pps() const noexcept {
  return paced() ? 1e9 * static_cast<double>(period_den) / static_cast<double>(period_num) : 0.0;
}

std::expected<Schedule, std::string> make_schedule(const GenConfig& cfg) {
  Schedule s;
  if (cfg.burst < 1) return std::unexpected(std::string("--burst must be at least 1"));
  s.burst = static_cast<std::uint32_t>(cfg.burst);
  if (cfg.rate_pps) {
    const double r = *cfg.rate_pps;
    if (!(r >= 0) || r > 1e8) return std::unexpected(std::string("--rate must be 0 (unpaced) .. 100000000 pps"));
    if (r == 0) {
      s.period_num = 0;
      return s;
    }
    // Millipacket resolution keeps fractional rates exact enough and the maths integral.
    const auto milli = static_cast<std::uint64_t>(std::llround(r * 1000.0));
    if (milli == 0) return std::unexpected(std::string("--rate must be at least 0.001 pps"));
    s.period_num = 1'000'000'000'000ull;
    s.period_den = milli;
    return s;
  }
  if (cfg.ptime_ns <= 0) return std::unexpected(std::string("--ptime must be positive"));
  if (cfg.streams < 1) return std::unexpected(std::string("--streams must be at least 1"));
  s.period_num = static_cast<std::uint64_t>(cfg.ptime_ns);
  s.period_den = static_cast<std::uint64_t>(cfg.streams);
  return s;
}

std::uint32_t stream_ssrc(std::uint64_t seed, std::uint32_t stream) {
  auto v = static_cast<std::uint32_t>(mix(seed, 0x55C1, stream));
  return v == 0 ? 0x5eed0001u + stream : v;
}

std::uint16_t stream_first_seq(std::uint64_t seed, std::uint32_t stream) {
  return static_cast<std::uint16_t>(mix(seed, 0x5E9, stream));
}

static std::uint32_t stream_first_timestamp(std::uint64_t seed, std::uint32_t stream) {
  return static_cast<std::uint32_t>(mix(seed, 0x715, stream));
}

FateSelector::FateSelector(std::uint64_t seed, std::uint32_t stream, double loss, double reorder) noexcept
    : state_(mix(seed, 0xFA7E, stream)),
      loss_threshold_(probability_threshold(loss)),
      hold_threshold_(probability_threshold(loss + reorder)) {}

FateSelector::Fate FateSelector::next(bool last) noexcept {
  const std::uint64_t r = splitmix64(state_);  // always drawn: fates depend only on the index
  if (previous_held_) {
    previous_held_ = false;
    return Fate::kSend;
  }
  constexpr auto kAll = std::numeric_limits<std::uint64_t>::max();
  if (loss_threshold_ == kAll || r < loss_threshold_) return Fate::kDrop;
  if (!last && hold_threshold_ > loss_threshold_ && (hold_threshold_ == kAll || r < hold_threshold_)) {
    previous_held_ = true;
    return Fate::kHold;
  }
  return Fate::kSend;
}

std::expected<void, std::string> validate_config(const GenConfig& cfg) {
  if (cfg.streams < 1 || cfg.streams > kMaxStreams)
    return std::unexpected(fmt::format("--streams must be 1..{}", kMaxStreams));
  if (static_cast<long>(cfg.dst_port) + 2L * (cfg.streams - 1) > 65535)
    return std::unexpected(fmt::format("--dst port {} + 2 x ({} streams - 1) exceeds 65535: lower the port "
                                       "or the stream count",
                                       cfg.dst_port, cfg.streams));
  in_addr a{};
  if (inet_pton(AF_INET, cfg.dst_addr.c_str(), &a) != 1)
    return std::unexpected(fmt::format("--dst address '{}' is not an IPv4 address", cfg.dst_addr));
  const std::uint32_t host = ntohl(a.s_addr);
  const bool benchmarking = (host & 0xFFFE0000u) == 0xC6120000u;  // 198.18.0.0/15 (RFC 2544)
  const bool multicast239 = (host >> 24) == 239;                    // administratively scoped
  if (!benchmarking) {
    if (!multicast239)
      return std::unexpected(fmt::format("--dst {} is outside 198.18.0.0/15, the benchmarking range this tool "
                                         "sends to: use the lab's 198.18.0.2 (or 239.x.x.x with --allow-multicast)",
                                         cfg.dst_addr));
    if (!cfg.allow_multicast)
      return std::unexpected(fmt::format("--dst {} is multicast: add --allow-multicast to send to it", cfg.dst_addr));
  }
  if (cfg.raw_payload_bytes) {
    if (*cfg.raw_payload_bytes < 1 || *cfg.raw_payload_bytes > kMaxDatagram)
      return std::unexpected(fmt::format("--payload must be 1..{} bytes (one unfragmented datagram)", kMaxDatagram));
  } else {
    auto bytes = audio_payload_bytes(cfg.sample_rate_hz, cfg.ptime_ns, cfg.channels, cfg.bits);
    if (!bytes) return std::unexpected(bytes.error());
    if (*bytes + rtp::kHeaderBytes > kMaxDatagram)
      return std::unexpected(fmt::format("RTP payload of {} bytes does not fit one {}-byte datagram: lower "
                                         "--ptime or --channels",
                                         *bytes, kMaxDatagram));
  }
  if (!(cfg.loss >= 0 && cfg.loss <= 1)) return std::unexpected(std::string("--loss must be 0..1"));
  if (!(cfg.reorder >= 0 && cfg.reorder <= 1)) return std::unexpected(std::string("--reorder must be 0..1"));
  if (cfg.loss + cfg.reorder > 1) return std::unexpected(std::string("--loss + --reorder must not exceed 1"));
  if (cfg.burst < 1 || cfg.burst > 65536) return std::unexpected(std::string("--burst must be 1..65536"));
  if (cfg.secs && !(*cfg.secs > 0 && *cfg.secs <= kMaxSecs))
    return std::unexpected(fmt::format("--secs must be more than 0 and at most {} (runs are bounded)", kMaxSecs));
  if (cfg.count && *cfg.count == 0)
    return std::unexpected(std::string("--count must be at least 1 (runs are bounded; omit it for 5 s)"));
  if (cfg.netns.empty() == false && (cfg.netns.find('/') != std::string::npos || cfg.netns.size() > 64))
    return std::unexpected(fmt::format("--netns '{}' must be a name from `ip netns list`", cfg.netns));
  auto sched = make_schedule(cfg);
  if (!sched) return std::unexpected(sched.error());
  return {};
}

void build_packet(std::uint8_t* buf, std::size_t datagram_bytes, bool rtp_mode, std::uint8_t payload_type,
                  std::uint16_t seq, std::uint32_t rtp_timestamp, std::uint32_t ssrc, std::uint64_t index) {
  if (!rtp_mode) {
    rtp::put_index(buf, datagram_bytes, index);
    return;
  }
  rtp::HeaderFields h;
  h.payload_type = payload_type;
  h.seq = seq;
  h.timestamp = rtp_timestamp;
  h.ssrc = ssrc;
  rtp::encode_header(buf, h);
  const std::size_t payload = datagram_bytes - rtp::kHeaderBytes;
  rtp::put_index(buf + rtp::kPayloadOffset, payload, index);
}

// ---------------------------------------------------------------------------------------------
// The run

namespace {

struct StreamState {
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint64_t index = 0;   // next packet index
  std::uint64_t planned = 0; // packets this stream will produce (UINT64_MAX: unknown)
  FateSelector fate{0, 0, 0, 0};
  bool holding = false;
  std::uint16_t held_seq = 0;
  std::uint64_t held_index = 0;
};

struct Message {
  std::uint32_t stream;
  std::int64_t scheduled_ns;  // absolute monotonic; -1: a held packet (not paced)
  bool held;
};

}  // namespace

std::expected<GenReport, std::string> run_generator(const GenConfig& cfg, const std::atomic<bool>* stop) {
  if (auto ok = validate_config(cfg); !ok) return std::unexpected(ok.error());
  const Schedule sched = *make_schedule(cfg);
  const auto nstreams = static_cast<std::uint32_t>(cfg.streams);

  GenReport rep;
  rep.rtp = !cfg.raw_payload_bytes.has_value();
  std::uint32_t spp = 0;
  if (rep.rtp) {
    spp = *samples_per_packet(cfg.sample_rate_hz, cfg.ptime_ns);
    rep.payload_bytes = *audio_payload_bytes(cfg.sample_rate_hz, cfg.ptime_ns, cfg.channels, cfg.bits);
    rep.datagram_bytes = rep.payload_bytes + rtp::kHeaderBytes;
  } else {
    rep.payload_bytes = rep.datagram_bytes = *cfg.raw_payload_bytes;
  }
  const std::uint8_t pt = cfg.bits == 16 ? rtp::kPayloadTypeL16 : rtp::kPayloadTypeL24;
  rep.target_pps = sched.rate_pps();

  // Bounds: count, or secs (default 5 s). A paced run turns secs into an exact packet count.
  std::uint64_t total = std::numeric_limits<std::uint64_t>::max();
  std::int64_t deadline_ns = 0;  // relative; 0 = none
  const bool bounded_by_secs = cfg.secs.has_value() || !cfg.count.has_value();
  const double secs = cfg.secs.value_or(kDefaultSecs);
  if (cfg.count) total = *cfg.count;
  if (bounded_by_secs) {
    if (sched.paced() && !cfg.count) {
      total = static_cast<std::uint64_t>(std::llround(secs * sched.rate_pps()));
      if (total == 0) total = 1;
    } else {
      deadline_ns = static_cast<std::int64_t>(secs * 1e9);
    }
  }

  if (!cfg.netns.empty())
    if (auto e = enter_netns(cfg.netns); !e) return std::unexpected(e.error());

  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return std::unexpected(fmt::format("cannot open a UDP socket: {}", std::strerror(errno)));
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  {
    int sndbuf = kSndBufBytes;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);  // unprivileged: capped by wmem_max
    if (cfg.allow_multicast) {
      const unsigned char ttl = 1;  // never routed beyond the first hop
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    }
    if (cfg.src_port != 0) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_port = htons(cfg.src_port);
      src.sin_addr.s_addr = htonl(INADDR_ANY);
      if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
        return std::unexpected(fmt::format("cannot bind UDP source port {}: {}; choose another --src-port",
                                           cfg.src_port, std::strerror(errno)));
    }
  }

  // ---- preallocate everything ----
  std::vector<sockaddr_in> dst(nstreams);
  in_addr dst_ip{};
  inet_pton(AF_INET, cfg.dst_addr.c_str(), &dst_ip);
  for (std::uint32_t k = 0; k < nstreams; ++k) {
    dst[k].sin_family = AF_INET;
    dst[k].sin_addr = dst_ip;
    dst[k].sin_port = htons(static_cast<std::uint16_t>(cfg.dst_port + 2 * k));
  }
  const std::size_t dgram = rep.datagram_bytes;
  std::vector<std::uint8_t> slot_bufs(kMaxBatch * dgram, 0);
  std::vector<std::uint8_t> held_bufs(static_cast<std::size_t>(nstreams) * dgram, 0);
  std::array<mmsghdr, kMaxBatch> msgs{};
  std::array<iovec, kMaxBatch> iov{};
  std::array<Message, kMaxBatch> meta{};
  std::array<bool, kMaxBatch> failed{};
  std::vector<StreamState> st(nstreams);
  rep.streams.resize(nstreams);
  for (std::uint32_t k = 0; k < nstreams; ++k) {
    st[k].seq = cfg.seq_start ? *cfg.seq_start : stream_first_seq(cfg.seed, k);
    st[k].timestamp = stream_first_timestamp(cfg.seed, k);
    st[k].fate = FateSelector(cfg.seed, k, cfg.loss, cfg.reorder);
    st[k].planned = total == std::numeric_limits<std::uint64_t>::max()
                        ? total
                        : total / nstreams + (k < total % nstreams ? 1 : 0);
    rep.streams[k].ssrc = rep.rtp ? stream_ssrc(cfg.seed, k) : 0;
    rep.streams[k].dst_port = static_cast<std::uint16_t>(cfg.dst_port + 2 * k);
    rep.streams[k].first_seq = rep.rtp ? st[k].seq : 0;
  }
  if (cfg.loss + cfg.reorder > 0) {
    // Expected events plus a generous margin, so push_back does not allocate in the loop.
    const double expect = total == std::numeric_limits<std::uint64_t>::max()
                              ? 1e6 * secs * (cfg.loss + cfg.reorder)
                              : static_cast<double>(total) * (cfg.loss + cfg.reorder);
    rep.events.reserve(static_cast<std::size_t>(std::min(expect * 1.2 + 4096.0, 5e7)));
  }
  auto hist = std::make_unique<HistogramData>();  // pacing error, rtcap/histogram.hpp
  // One stream: connect, so the kernel reuses the cached route instead of a lookup per
  // datagram (measured on the 2-core lab VM, raw 32-byte payload, --rate 0 over the lab veth:
  // ~272 kpps unconnected, 282-291 kpps connected). Several streams share the unconnected
  // socket with a destination
  // per message, so one sendmmsg carries all streams in schedule order.
  const bool connected = nstreams == 1;
  if (connected && connect(fd, reinterpret_cast<const sockaddr*>(&dst[0]), sizeof dst[0]) != 0)
    return std::unexpected(fmt::format("cannot reach {}:{}: {}; is the lab up and --netns right?", cfg.dst_addr,
                                       cfg.dst_port, std::strerror(errno)));
  for (std::size_t i = 0; i < kMaxBatch; ++i) {
    iov[i].iov_len = dgram;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_namelen = connected ? 0 : sizeof(sockaddr_in);
  }
  const auto dst_name = [&](std::uint32_t k) -> void* { return connected ? nullptr : &dst[k]; };
  std::string first_error;

  // The default timer slack (50 us) lets clock_nanosleep wake up to 50 us late, which is a
  // whole 125 us packet time off by 40%. Measured on the 2-core lab VM at 16 kpps: p50 pacing
  // error 33-65 us with the default slack. Restored on return.
  const int old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, kTimerSlackNs, 0, 0, 0);
  struct SlackRestorer {
    int ns;
    ~SlackRestorer() {
      if (ns > 0) prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
    }
  } slack_restorer{old_slack};

  // ---- the loop ----
  std::uint64_t slot = 0;
  const std::int64_t t0 = now_ns(CLOCK_MONOTONIC);
  std::int64_t last_send = t0;
  while (slot < total) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
      rep.interrupted = true;
      break;
    }
    std::int64_t now = now_ns(CLOCK_MONOTONIC);
    if (deadline_ns != 0 && now - t0 >= deadline_ns) break;
    if (sched.paced()) {
      const std::int64_t due = t0 + sched.offset_ns(slot);
      if (due > now) {
        sleep_until(due);
        continue;  // re-check stop and the clock: the sleep may have been interrupted
      }
    }
    // Everything due now, up to one batch; keep room for a successor plus its held packet.
    std::size_t n = 0;
    while (n + 2 <= kMaxBatch && slot < total) {
      const std::int64_t scheduled = t0 + sched.offset_ns(slot);
      if (sched.paced() && scheduled > now) break;
      const auto k = static_cast<std::uint32_t>(slot % nstreams);
      ++slot;
      StreamState& s = st[k];
      const std::uint64_t index = s.index++;
      const std::uint16_t seq = s.seq++;
      const std::uint32_t ts = s.timestamp;
      s.timestamp += spp;
      ++rep.streams[k].produced;
      const auto fate = s.fate.next(index + 1 == s.planned);
      if (fate == FateSelector::Fate::kDrop) {
        ++rep.streams[k].dropped;
        rep.events.push_back({TruthEvent::Kind::kDrop, k, rep.streams[k].ssrc,
                              rep.rtp ? seq : static_cast<std::uint16_t>(index), index});
        continue;
      }
      if (fate == FateSelector::Fate::kHold) {
        build_packet(&held_bufs[k * dgram], dgram, rep.rtp, pt, seq, ts, rep.streams[k].ssrc, index);
        s.holding = true;
        s.held_seq = seq;
        s.held_index = index;
        continue;
      }
      build_packet(&slot_bufs[n * dgram], dgram, rep.rtp, pt, seq, ts, rep.streams[k].ssrc, index);
      meta[n] = {k, scheduled, false};
      msgs[n].msg_hdr.msg_name = dst_name(k);
      ++n;
      if (s.holding) {  // the swap: the held packet goes right after its successor
        std::memcpy(&slot_bufs[n * dgram], &held_bufs[k * dgram], dgram);
        meta[n] = {k, -1, true};
        msgs[n].msg_hdr.msg_name = dst_name(k);
        ++n;
        s.holding = false;
        ++rep.streams[k].reordered;
        rep.events.push_back({TruthEvent::Kind::kReorder, k, rep.streams[k].ssrc,
                              rep.rtp ? s.held_seq : static_cast<std::uint16_t>(s.held_index), s.held_index});
      }
    }
    // End of run (count reached) with a packet still held: happens only when a run is cut short
    // of its plan; the held packet goes out late but in order, so it is not a reorder.
    if (slot >= total)
      for (std::uint32_t k = 0; k < nstreams && n < kMaxBatch; ++k)
        if (st[k].holding) {
          std::memcpy(&slot_bufs[n * dgram], &held_bufs[k * dgram], dgram);
          meta[n] = {k, -1, true};
          msgs[n].msg_hdr.msg_name = dst_name(k);
          ++n;
          st[k].holding = false;
        }
    if (n == 0) continue;

    for (std::size_t i = 0; i < n; ++i) {
      iov[i].iov_base = &slot_bufs[i * dgram];
      failed[i] = false;
    }
    // The send time goes in just before the system call that sends.
    if (rep.rtp) {
      const auto realtime = static_cast<std::uint64_t>(rtcap::realtime_ns());
      for (std::size_t i = 0; i < n; ++i) rtp::set_send_time(&slot_bufs[i * dgram], realtime);
    }
    const std::int64_t send_mono = now_ns(CLOCK_MONOTONIC);
    std::size_t off = 0;
    bool retried = false;
    while (off < n) {
      const int r = sendmmsg(fd, &msgs[off], static_cast<unsigned>(n - off), 0);
      ++rep.sendmmsg_calls;
      if (r > 0) {
        retried = false;
        off += static_cast<std::size_t>(r);
        continue;
      }
      const int err = errno;
      if (r < 0 && err == EINTR) continue;
      // A connected UDP socket reports an earlier ICMP port unreachable (nobody listens on the
      // rx side, the normal case when capturing) on the next send, which then sends nothing.
      // Reading the error clears it (sock_error), so one retry sends the packet.
      if (r < 0 && err == ECONNREFUSED && connected && !retried) {
        ++rep.icmp_refused;
        retried = true;
        continue;
      }
      retried = false;
      // The message at `off` failed (ENOBUFS, EAGAIN, ECONNREFUSED, ...): count it, go on.
      failed[off] = true;
      ++rep.send_errors;
      if (err == ENOBUFS) ++rep.enobufs;
      if (first_error.empty()) first_error = std::strerror(err);
      ++off;
    }
    last_send = now_ns(CLOCK_MONOTONIC);
    for (std::size_t i = 0; i < n; ++i) {
      auto& sr = rep.streams[meta[i].stream];
      if (failed[i]) {
        ++sr.send_errors;
        continue;
      }
      ++sr.sent;
      if (sched.paced() && !meta[i].held) {
        const std::int64_t err_ns = send_mono - meta[i].scheduled_ns;
        hist->record(err_ns > 0 ? static_cast<std::uint64_t>(err_ns) : 0);
      }
    }
  }
  // Held packets whose successor never came (stopped early): send them, in order, not reordered.
  {
    std::size_t n = 0;
    for (std::uint32_t k = 0; k < nstreams && n < kMaxBatch; ++k)
      if (st[k].holding) {
        std::memcpy(&slot_bufs[n * dgram], &held_bufs[k * dgram], dgram);
        if (rep.rtp) rtp::set_send_time(&slot_bufs[n * dgram], static_cast<std::uint64_t>(rtcap::realtime_ns()));
        iov[n].iov_base = &slot_bufs[n * dgram];
        msgs[n].msg_hdr.msg_name = dst_name(k);
        meta[n] = {k, -1, true};
        ++n;
        st[k].holding = false;
      }
    for (std::size_t i = 0; i < n; ++i) {
      ++rep.sendmmsg_calls;
      if (sendmmsg(fd, &msgs[i], 1, 0) == 1 || (errno == ECONNREFUSED && sendmmsg(fd, &msgs[i], 1, 0) == 1)) {
        ++rep.streams[meta[i].stream].sent;
      } else {
        ++rep.streams[meta[i].stream].send_errors;
        ++rep.send_errors;
      }
    }
    if (n != 0) last_send = now_ns(CLOCK_MONOTONIC);
  }

  for (const auto& s : rep.streams) {
    rep.produced += s.produced;
    rep.sent += s.sent;
    rep.dropped += s.dropped;
    rep.reordered += s.reordered;
  }
  rep.duration_s = static_cast<double>(last_send - t0) / 1e9;
  rep.achieved_pps = rep.duration_s > 0 ? static_cast<double>(rep.sent) / rep.duration_s : 0.0;
  rep.pacing_samples = hist->count;
  rep.pacing_p50_ns = hist->percentile(0.50);
  rep.pacing_p99_ns = hist->percentile(0.99);
  rep.pacing_max_ns = hist->max;
  rep.first_send_error = first_error;
  return rep;
}

std::string report_line(const GenReport& r) {
  std::string s = fmt::format(
      "rtcap gen: sent {} of {} packets ({} B UDP payload{}) in {:.3f} s = {:.0f} pps (target {}), "
      "{} sendmmsg calls, {} send errors ({} ENOBUFS), {} dropped and {} reordered on purpose",
      r.sent, r.produced, r.datagram_bytes, r.rtp ? fmt::format(", {} B audio", r.payload_bytes) : ", raw UDP",
      r.duration_s, r.achieved_pps, r.target_pps > 0 ? fmt::format("{:.0f}", r.target_pps) : "unpaced",
      r.sendmmsg_calls, r.send_errors, r.enobufs, r.dropped, r.reordered);
  if (r.pacing_samples > 0)
    s += fmt::format(", pacing error p50 {} ns p99 {} ns max {} ns", r.pacing_p50_ns, r.pacing_p99_ns,
                     r.pacing_max_ns);
  if (!r.first_send_error.empty()) s += fmt::format(", first send error: {}", r.first_send_error);
  if (r.interrupted) s += " (interrupted)";
  return s;
}

static nlohmann::json event_json(const TruthEvent& e, bool rtp_mode) {
  nlohmann::json j;
  j["kind"] = e.kind == TruthEvent::Kind::kDrop ? "drop" : "reorder";
  j["stream"] = e.stream;
  j["ssrc"] = rtp_mode ? nlohmann::json(e.ssrc) : nlohmann::json(nullptr);
  j["seq"] = rtp_mode ? nlohmann::json(e.seq) : nlohmann::json(nullptr);
  j["index"] = e.index;
  return j;
}

std::string report_json(const GenReport& r, const GenConfig& cfg) {
  nlohmann::json j;
  j["mode"] = r.rtp ? "rtp" : "udp";
  j["dst"] = fmt::format("{}:{}", cfg.dst_addr, cfg.dst_port);
  j["payload_bytes"] = r.payload_bytes;
  j["udp_payload_bytes"] = r.datagram_bytes;
  j["target_pps"] = r.target_pps;
  j["produced"] = r.produced;
  j["sent"] = r.sent;
  j["dropped_on_purpose"] = r.dropped;
  j["reordered_on_purpose"] = r.reordered;
  j["send_errors"] = r.send_errors;
  j["send_errors_enobufs"] = r.enobufs;
  j["first_send_error"] = r.first_send_error;
  j["icmp_refused_retried"] = r.icmp_refused;
  j["sendmmsg_calls"] = r.sendmmsg_calls;
  j["duration_s"] = r.duration_s;
  j["achieved_pps"] = r.achieved_pps;
  j["pacing_error_ns"] = {{"samples", r.pacing_samples},
                          {"p50", r.pacing_p50_ns},
                          {"p99", r.pacing_p99_ns},
                          {"max", r.pacing_max_ns}};
  j["interrupted"] = r.interrupted;
  j["seed"] = cfg.seed;
  auto streams = nlohmann::json::array();
  for (std::size_t k = 0; k < r.streams.size(); ++k) {
    const auto& s = r.streams[k];
    streams.push_back({{"stream", k},
                       {"ssrc", s.ssrc},
                       {"dst_port", s.dst_port},
                       {"first_seq", s.first_seq},
                       {"produced", s.produced},
                       {"sent", s.sent},
                       {"dropped", s.dropped},
                       {"reordered", s.reordered},
                       {"send_errors", s.send_errors}});
  }
  j["streams"] = std::move(streams);
  auto events = nlohmann::json::array();
  for (const auto& e : r.events) events.push_back(event_json(e, r.rtp));
  j["events"] = std::move(events);
  return j.dump(2) + "\n";
}

std::string truth_jsonl(const GenReport& r) {
  std::string out;
  for (const auto& e : r.events) out += event_json(e, r.rtp).dump() + "\n";
  return out;
}

static std::expected<void, std::string> write_file(const std::string& path, const std::string& text,
                                                   const char* what) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (f) f << text;
  if (!f) return std::unexpected(fmt::format("cannot write the {} file {}: check the directory exists and is "
                                             "writable",
                                             what, path));
  return {};
}

CLI::App* add_gen_command(CLI::App& app, int& exit_code) {
  auto* gen = app.add_subcommand(
      "gen", "Send AES67-style RTP (or raw UDP with --payload) on an absolute schedule, to 198.18.0.0/15");
  struct Opts {
    GenConfig cfg;
    std::string ptime = "1ms";
    std::string dst = "198.18.0.2:5004";
    std::size_t payload = 0;
    double rate = 0;
    double secs = 0;
    std::uint64_t count = 0;
    int seq_start = 0;
  };
  auto o = std::make_shared<Opts>();
  gen->add_option("--streams", o->cfg.streams, "Number of streams; stream k goes to port + 2k")
      ->type_name("N")
      ->capture_default_str()->check(CLI::Range(1, kMaxStreams));
  gen->add_option("--ptime", o->ptime, "Packet time with unit: 1ms, 250us, 125us")
      ->type_name("TIME")->capture_default_str();
  gen->add_option("--channels", o->cfg.channels, "Audio channels per stream")
      ->type_name("N")->capture_default_str();
  gen->add_option("--sample-rate", o->cfg.sample_rate_hz, "Sample rate in Hz")
      ->type_name("HZ")->capture_default_str();
  gen->add_option("--bits", o->cfg.bits, "Bits per sample: 24 (L24, PT 97) or 16 (L16, PT 96)")
      ->capture_default_str()->check(CLI::IsMember({16, 24}));
  auto* payload = gen->add_option("--payload", o->payload,
                                  "Raw UDP payload size in BYTES instead of RTP (first 8 bytes: packet index)")
                      ->type_name("BYTES");
  auto* rate = gen->add_option("--rate", o->rate,
                               "Total packets per second over all streams (PPS); 0 = as fast as possible; "
                               "default: streams / ptime")
                   ->type_name("PPS");
  gen->add_option("--burst", o->cfg.burst, "Packets sent back to back per tick (same average rate)")
      ->type_name("N")
      ->capture_default_str();
  auto* secs = gen->add_option("--secs", o->secs, "Run time bound in seconds (default 5 when no --count)")
                   ->type_name("SECONDS");
  auto* count = gen->add_option("--count", o->count, "Total packets to produce over all streams (incl. --loss drops)")
                    ->type_name("PACKETS");
  gen->add_option("--dst", o->dst, "Destination ADDR:PORT in 198.18.0.0/15 (or 239.x with --allow-multicast)")
      ->type_name("ADDR:PORT")
      ->capture_default_str();
  gen->add_option("--src-port", o->cfg.src_port, "UDP source port for all streams (default: ephemeral)")
      ->type_name("PORT");
  gen->add_flag("--allow-multicast", o->cfg.allow_multicast, "Allow a 239.x.x.x multicast destination (TTL 1)");
  gen->add_option("--netns", o->cfg.netns, "Network namespace to send from (e.g. rtcap-tx)")
      ->type_name("NAME");
  gen->add_option("--loss", o->cfg.loss, "Probability 0..1 that a packet is dropped on purpose")
      ->type_name("P")
      ->check(CLI::Range(0.0, 1.0));
  gen->add_option("--reorder", o->cfg.reorder, "Probability 0..1 that a packet is sent after its successor")
      ->type_name("P")
      ->check(CLI::Range(0.0, 1.0));
  gen->add_option("--seed", o->cfg.seed, "Seed for SSRCs, sequence starts, loss and reorder")
      ->type_name("N")->capture_default_str();
  auto* seq_start = gen->add_option("--seq-start", o->seq_start, "First RTP sequence number (default: random from seed)")
                        ->type_name("SEQ")
                        ->check(CLI::Range(0, 65535));
  gen->add_option("--truth", o->cfg.truth_path, "Write JSON lines naming each dropped/reordered packet to FILE")
      ->type_name("FILE");
  gen->add_option("--json", o->cfg.json_path, "Write the report as JSON to FILE")->type_name("FILE");
  gen->add_flag("-q,--quiet", o->cfg.quiet, "No report line on stderr");

  gen->callback([o, payload, rate, secs, count, seq_start, &exit_code] {
    GenConfig cfg = o->cfg;
    const auto fail = [&](const std::string& msg) {
      fmt::print(stderr, "rtcap gen: {}\n", msg);
      exit_code = 1;
    };
    auto ptime = parse_ptime(o->ptime);
    if (!ptime) return fail(ptime.error());
    cfg.ptime_ns = *ptime;
    auto dst = parse_dst(o->dst);
    if (!dst) return fail(dst.error());
    cfg.dst_addr = dst->first;
    cfg.dst_port = dst->second;
    if (payload->count() > 0) cfg.raw_payload_bytes = o->payload;
    if (rate->count() > 0) cfg.rate_pps = o->rate;
    if (secs->count() > 0) cfg.secs = o->secs;
    if (count->count() > 0) cfg.count = o->count;
    if (seq_start->count() > 0) cfg.seq_start = static_cast<std::uint16_t>(o->seq_start);

    g_stop.store(false);
    struct sigaction sa {}, old_int{}, old_term{};
    sa.sa_handler = gen_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: sleeps and sends return EINTR and the loop sees the flag
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    auto rep = run_generator(cfg, &g_stop);
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    if (!rep) return fail(rep.error());

    if (!cfg.quiet) fmt::print(stderr, "{}\n", report_line(*rep));
    exit_code = 0;
    if (!cfg.json_path.empty())
      if (auto w = write_file(cfg.json_path, report_json(*rep, cfg), "--json"); !w) return fail(w.error());
    if (!cfg.truth_path.empty())
      if (auto w = write_file(cfg.truth_path, truth_jsonl(*rep), "--truth"); !w) return fail(w.error());
  });
  return gen;
}

}  // namespace rtcap::tool
