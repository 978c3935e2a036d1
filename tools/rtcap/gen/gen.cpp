// The generator's hot loop: one unconnected UDP socket, per-message destinations (stream k goes
// to port + 2k), sendmmsg batches of up to 64, an absolute schedule with clock_nanosleep
// (TIMER_ABSTIME) so lateness never accumulates into drift. Everything is allocated before the
// first packet; the loop itself only builds headers into preallocated buffers and makes the
// clock, sleep and send system calls.
#include "gen/gen.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <utility>
#include <array>
#include <bit>
#include <numeric>
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
#include <tuple>

#include "common/exit_codes.hpp"
#include "common/validators.hpp"
#include "lab/lab.hpp"
#include "lab/netns.hpp"
#include "wire/wire.hpp"
#include "engine/clock.hpp"
#include "rtcap/histogram.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::tool {
namespace {

constexpr std::size_t kMaxBatch =
    64;  // messages per sendmmsg (the brief's limit; UIO_MAXIOV is 1024)
constexpr std::size_t kMaxDatagram =
    1472;  // 1500-byte veth/Ethernet MTU minus IPv4 and UDP headers
constexpr int kMaxStreams = 4096;
// --redundant-delay: 1024 packets is 128 ms of a 125 us stream, 1 s of a 1 ms one; the ring holds
// delay + 1 packets per stream, bounded in all by kMaxRingBytes.
constexpr std::uint32_t kMaxRedundantDelayPackets = 1024;
constexpr std::size_t kMaxRingBytes = std::size_t{256} << 20;
constexpr double kDefaultSecs = 5.0;
constexpr double kMaxSecs = 3600.0;
// Socket send buffer: 4 MiB holds ~40,000 tiny datagrams' skbs, so a scheduling hiccup of the
// receiving softirq does not turn into ENOBUFS at 250 kpps. Set with SO_SNDBUFFORCE (root).
constexpr int kSndBufBytes = 4 * 1024 * 1024;
constexpr unsigned long kTimerSlackNs = 1000;  // see TimerSlack

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

void sleep_until(std::int64_t mono_ns) noexcept {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(mono_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(mono_ns % 1'000'000'000);
  // EINTR: the caller's loop looks at the stop flag and sleeps again if needed.
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

// "125us", "1ms", "10ms", "62.5us": the shortest exact spelling parse_ptime reads back.
std::string format_ptime(std::int64_t ns) {
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  if (ns % 100 == 0) return fmt::format("{}.{}us", ns / 1'000, (ns % 1'000) / 100);
  return fmt::format("{}ns", ns);
}

// True when this thread runs in one of the lab's namespaces (`rtcap lab up` names them
// <lab>-tx and <lab>-rx under /var/run/netns): the only place rtcap gen may send multicast.
// Compares namespace inodes, as `ip netns identify` does, so `ip netns exec` counts too.
bool in_lab_netns() {
  struct stat self {};
  if (stat("/proc/self/ns/net", &self) != 0) return false;
  DIR* dir = opendir("/var/run/netns");
  if (dir == nullptr) return false;
  bool found = false;
  while (const dirent* e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() < 4 || !(name.ends_with("-tx") || name.ends_with("-rx")) ||
        !valid_lab_name(name.substr(0, name.size() - 3)))
      continue;
    struct stat ns {};
    if (stat(("/var/run/netns/" + name).c_str(), &ns) == 0 && ns.st_ino == self.st_ino &&
        ns.st_dev == self.st_dev) {
      found = true;
      break;
    }
  }
  closedir(dir);
  return found;
}

std::atomic<bool> g_stop{false};
void gen_stop_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

std::expected<std::pair<std::string, std::uint16_t>, std::string> parse_dst(
    const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return std::unexpected(
        fmt::format("--dst '{}' must be ADDR:PORT, for example 198.18.0.2:5004", text));
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
  if (!ns) return std::unexpected("--ptime: " + ns.error().message);
  if (!(*ns >= 1) || *ns > 1e10 || std::abs(*ns - std::round(*ns)) > 1e-6)
    return std::unexpected(
        fmt::format("--ptime '{}' must be a whole number of ns between 1ns and 10s", text));
  return static_cast<std::int64_t>(std::llround(*ns));
}

std::expected<std::uint32_t, std::string> samples_per_packet(int sample_rate_hz,
                                                             std::int64_t ptime_ns) {
  if (sample_rate_hz <= 0) return std::unexpected(std::string("--sample-rate must be positive"));
  const i128 prod = static_cast<i128>(sample_rate_hz) * ptime_ns;
  if (prod % 1'000'000'000 != 0 || prod == 0) {
    // Whole samples in whole nanoseconds: ptime must be a multiple of 1e9 / gcd(1e9, rate) ns
    // (62.5 us = 3 samples at 48 kHz; 10 ms = 441 samples at 44.1 kHz).
    const std::int64_t step_ns =
        1'000'000'000 / std::gcd<std::int64_t>(1'000'000'000, sample_rate_hz);
    std::string examples;
    // Packet times audio uses: AES67 (125 us .. 4 ms), RFC 3551's 20 ms default and 10/40 ms.
    for (const std::int64_t t :
         {125'000, 250'000, 1'000'000, 4'000'000, 10'000'000, 20'000'000, 40'000'000})
      if (t % step_ns == 0 && std::count(examples.begin(), examples.end(), ',') < 2)
        examples += fmt::format("{}{}", examples.empty() ? "" : ", ", format_ptime(t));
    return std::unexpected(
        fmt::format(
            "--ptime {} at {} Hz is {:.4g} samples, not a whole number: at {} Hz the packet time "
            "must be a "
            "multiple of {} ({} samples), such as {}",
            format_ptime(ptime_ns), sample_rate_hz, static_cast<double>(prod) / 1e9, sample_rate_hz,
            format_ptime(step_ns),
            static_cast<std::int64_t>(static_cast<i128>(sample_rate_hz) * step_ns / 1'000'000'000),
            examples.empty() ? format_ptime(step_ns) : examples) +
        ", or give it in samples (--ptime 48samples is 1.088 ms at 44.1 kHz, as AES67 does)");
  }
  return static_cast<std::uint32_t>(prod / 1'000'000'000);
}

// Bytes per sample of a validated configuration.
static int pfmt_bytes(const GenConfig& cfg) {
  auto f = payload_format(cfg);
  return f ? f->bytes_per_sample : cfg.bits / 8;
}

std::expected<std::uint32_t, std::string> packet_samples(const GenConfig& cfg) {
  if (cfg.ptime_samples == 0) return samples_per_packet(cfg.sample_rate_hz, cfg.ptime_ns);
  if (cfg.sample_rate_hz <= 0)
    return std::unexpected(std::string("--sample-rate must be positive"));
  return cfg.ptime_samples;
}

std::expected<std::size_t, std::string> audio_payload_bytes(int sample_rate_hz,
                                                            std::int64_t ptime_ns, int channels,
                                                            int bits) {
  auto spp = samples_per_packet(sample_rate_hz, ptime_ns);
  if (!spp) return std::unexpected(spp.error());
  if (channels < 1 || channels > 64)
    return std::unexpected(std::string("--channels must be 1..64"));
  if (bits != 8 && bits != 16 && bits != 24)
    return std::unexpected(std::string("--bits must be 16 (L16) or 24 (L24)"));
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
    if (!(r >= 0) || r > 1e8)
      return std::unexpected(std::string("--rate must be 0 (unpaced) .. 100000000 pps"));
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
  if (cfg.ptime_samples != 0 && cfg.sample_rate_hz > 0) {  // samples / rate seconds, exactly
    s.period_num = static_cast<std::uint64_t>(cfg.ptime_samples) * 1'000'000'000ull;
    s.period_den =
        static_cast<std::uint64_t>(cfg.sample_rate_hz) * static_cast<std::uint64_t>(cfg.streams);
    return s;
  }
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

FateSelector::FateSelector(std::uint64_t seed, std::uint32_t stream, double loss,
                           double reorder) noexcept
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
  if (!last && hold_threshold_ > loss_threshold_ &&
      (hold_threshold_ == kAll || r < hold_threshold_)) {
    previous_held_ = true;
    return Fate::kHold;
  }
  return Fate::kSend;
}

std::expected<void, std::string> validate_config(const GenConfig& cfg) {
  if (cfg.streams < 1 || cfg.streams > kMaxStreams)
    return std::unexpected(fmt::format("--streams must be 1..{}", kMaxStreams));
  if (!cfg.group_per_stream && static_cast<long>(cfg.dst_port) + 2L * (cfg.streams - 1) > 65535)
    return std::unexpected(
        fmt::format("--dst port {} + 2 x ({} streams - 1) exceeds 65535: lower the port "
                    "or the stream count",
                    cfg.dst_port, cfg.streams));
  in_addr a{};
  if (inet_pton(AF_INET, cfg.dst_addr.c_str(), &a) != 1)
    return std::unexpected(fmt::format("--dst address '{}' is not an IPv4 address", cfg.dst_addr));
  const std::uint32_t host = ntohl(a.s_addr);
  const bool benchmarking = (host & 0xFFFE0000u) == 0xC6120000u;  // 198.18.0.0/15 (RFC 2544)
  const bool multicast239 = (host >> 24) == 239;                  // administratively scoped
  if (!benchmarking) {
    if (!multicast239)
      return std::unexpected(
          fmt::format("--dst {} is outside 198.18.0.0/15, the benchmarking range this tool "
                      "sends to: use the lab's 198.18.0.2 (or 239.x.x.x with --allow-multicast)",
                      cfg.dst_addr));
    if (!cfg.allow_multicast)
      return std::unexpected(
          fmt::format("--dst {} is multicast: add --allow-multicast to send to it", cfg.dst_addr));
  }
  if (cfg.group_per_stream) {
    if (!multicast239)
      return std::unexpected(fmt::format(
          "--group-per-stream needs a 239.x.y.z multicast --dst (got {})", cfg.dst_addr));
    if (((host + static_cast<std::uint32_t>(cfg.streams - 1)) >> 24) != 239)
      return std::unexpected(
          fmt::format("--group-per-stream: {} + {} streams leaves 239.0.0.0/8: start lower",
                      cfg.dst_addr, cfg.streams));
  }
  if (!cfg.redundant_dst.empty()) {
    // The rest first, in its own words; then the same checks as --dst for the second address.
    GenConfig second = cfg;
    second.redundant_dst.clear();
    if (auto r = validate_config(second); !r) return r;
    second.dst_addr = cfg.redundant_dst;
    if (auto r = validate_config(second); !r)
      return std::unexpected(fmt::format("--redundant-dst: {}", r.error()));
    if (cfg.raw_payload_bytes)
      return std::unexpected(std::string("--redundant-dst sends RTP twice: drop --payload"));
    if (cfg.redundant_delay_packets > kMaxRedundantDelayPackets)
      return std::unexpected(
          fmt::format("--redundant-delay must be 0..{} packets", kMaxRedundantDelayPackets));
  }
  if (cfg.raw_payload_bytes) {
    if (*cfg.raw_payload_bytes < 1 || *cfg.raw_payload_bytes > kMaxDatagram)
      return std::unexpected(
          fmt::format("--payload must be 1..{} bytes (one unfragmented datagram)", kMaxDatagram));
    if (cfg.tone_hz != 0)
      return std::unexpected(std::string("--tone needs RTP audio: drop --payload"));
    if (cfg.sap) return std::unexpected(std::string("--sap announces RTP streams: drop --payload"));
  } else {
    auto f = payload_format(cfg);
    if (!f) return std::unexpected(f.error());
    auto spp = packet_samples(cfg);
    if (!spp) return std::unexpected(spp.error());
    if (cfg.ptime_samples > 100'000)
      return std::unexpected(std::string("--ptime in samples must be 1..100000 samples"));
    auto bytes = audio_payload_bytes(cfg.sample_rate_hz, 1'000'000'000, cfg.channels, cfg.bits);
    if (!bytes) return std::unexpected(bytes.error());
    *bytes = *bytes / static_cast<std::size_t>(cfg.sample_rate_hz) *
             *spp;  // one second's bytes / rate x spp
    if (cfg.tone_hz < 0 || static_cast<long>(cfg.tone_hz) * cfg.channels * 2 >= cfg.sample_rate_hz)
      return std::unexpected(
          fmt::format("--tone {} Hz puts channel {} at {} Hz, not below half the {} Hz sample "
                      "rate: lower --tone",
                      cfg.tone_hz, cfg.channels, static_cast<long>(cfg.tone_hz) * cfg.channels,
                      cfg.sample_rate_hz));
    if (cfg.sap && !(cfg.sap_interval_s >= 0.1 && cfg.sap_interval_s <= 3600))
      return std::unexpected(std::string("--sap-interval must be 0.1..3600 seconds"));
    if (cfg.sap &&
        (cfg.session_name.empty() || cfg.session_name.find_first_of("\r\n") != std::string::npos))
      return std::unexpected(std::string("--session-name must be one non-empty line"));
    if (*bytes + rtp::kHeaderBytes > kMaxDatagram)
      return std::unexpected(
          fmt::format("RTP payload of {} bytes does not fit one {}-byte datagram: lower "
                      "--ptime or --channels",
                      *bytes, kMaxDatagram));
  }
  if (!(cfg.loss >= 0 && cfg.loss <= 1)) return std::unexpected(std::string("--loss must be 0..1"));
  if (!(cfg.reorder >= 0 && cfg.reorder <= 1))
    return std::unexpected(std::string("--reorder must be 0..1"));
  if (cfg.loss + cfg.reorder > 1)
    return std::unexpected(std::string("--loss + --reorder must not exceed 1"));
  if (cfg.burst < 1 || cfg.burst > 65536)
    return std::unexpected(std::string("--burst must be 1..65536"));
  if (cfg.secs && !(*cfg.secs > 0 && *cfg.secs <= kMaxSecs))
    return std::unexpected(
        fmt::format("--secs must be more than 0 and at most {} (runs are bounded)", kMaxSecs));
  if (cfg.count && *cfg.count == 0)
    return std::unexpected(
        std::string("--count must be at least 1 (runs are bounded; omit it for 5 s)"));
  if (cfg.netns.empty() == false &&
      (cfg.netns.find('/') != std::string::npos || cfg.netns.size() > 64))
    return std::unexpected(
        fmt::format("--netns '{}' must be a name from `ip netns list`", cfg.netns));
  auto sched = make_schedule(cfg);
  if (!sched) return std::unexpected(sched.error());
  return {};
}

void build_packet(std::uint8_t* buf, std::size_t datagram_bytes, bool rtp_mode,
                  std::uint8_t payload_type, std::uint16_t seq, std::uint32_t rtp_timestamp,
                  std::uint32_t ssrc, std::uint64_t index) {
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

std::expected<PayloadFormat, std::string> payload_format(const GenConfig& cfg) {
  PayloadFormat f;
  const int pt = cfg.payload_type;
  const auto need = [&](const char* name, int rate, int channels,
                        int bits) -> std::expected<void, std::string> {
    if (cfg.sample_rate_hz != rate || cfg.channels != channels || cfg.bits != bits)
      return std::unexpected(
          fmt::format("--payload-type {} is {} at {} Hz, {} channel{}, {}-bit (RFC 3551 table 4): "
                      "drop --sample-rate, "
                      "--channels and --bits, or use a dynamic type (96-127)",
                      pt, name, rate, channels, channels == 1 ? "" : "s", bits));
    return {};
  };
  if (pt == -1 || (pt >= 96 && pt <= 127)) {
    if (cfg.bits == 24)
      f = {static_cast<std::uint8_t>(pt == -1 ? rtp::kPayloadTypeL24 : pt), GenEncoding::kL24, 3,
           "L24"};
    else if (cfg.bits == 16)
      f = {static_cast<std::uint8_t>(pt == -1 ? rtp::kPayloadTypeL16 : pt), GenEncoding::kL16, 2,
           "L16"};
    else
      return std::unexpected(std::string("--bits must be 16 (L16) or 24 (L24)"));
    return f;
  }
  // RFC 3551 section 6, table 4: the static audio types rtcap gen can produce.
  switch (pt) {
    case 0:
      if (auto ok = need("PCMU", 8000, 1, 8); !ok) return std::unexpected(ok.error());
      return PayloadFormat{0, GenEncoding::kPcmu, 1, "PCMU"};
    case 8:
      if (auto ok = need("PCMA", 8000, 1, 8); !ok) return std::unexpected(ok.error());
      return PayloadFormat{8, GenEncoding::kPcma, 1, "PCMA"};
    case 10:
      if (auto ok = need("L16", 44100, 2, 16); !ok) return std::unexpected(ok.error());
      return PayloadFormat{10, GenEncoding::kL16, 2, "L16"};
    case 11:
      if (auto ok = need("L16", 44100, 1, 16); !ok) return std::unexpected(ok.error());
      return PayloadFormat{11, GenEncoding::kL16, 2, "L16"};
    default:
      return std::unexpected(
          fmt::format("--payload-type {}: rtcap gen sends 0 (PCMU), 8 (PCMA), 10 and 11 (L16 "
                      "44.1 kHz) or a dynamic type 96-127",
                      pt));
  }
}

std::pair<std::string, std::uint16_t> stream_destination(const GenConfig& cfg,
                                                         std::uint32_t stream) {
  if (!cfg.group_per_stream)
    return {cfg.dst_addr, static_cast<std::uint16_t>(cfg.dst_port + 2 * stream)};
  in_addr a{};
  inet_pton(AF_INET, cfg.dst_addr.c_str(), &a);
  a.s_addr = htonl(ntohl(a.s_addr) + stream);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, text, sizeof text);
  return {text, cfg.dst_port};
}

// The tone at phase k / rate of a turn (k = (f x n) mod rate).
static std::int32_t tone_value(std::uint64_t k, std::uint64_t rate, int bits) {
  constexpr double kPi = 3.14159265358979323846;  // M_PI, which Python's math.pi equals
  const double amplitude = static_cast<double>((std::int64_t{1} << (bits - 1)) - 1) / 2.0;
  const double x = 2.0 * kPi * static_cast<double>(k) / static_cast<double>(rate);
  return static_cast<std::int32_t>(std::floor(amplitude * std::sin(x) + 0.5));
}

std::int32_t tone_sample(int tone_hz, int channel, std::uint64_t n, int sample_rate_hz, int bits) {
  const auto rate = static_cast<std::uint64_t>(sample_rate_hz);
  const std::uint64_t f =
      static_cast<std::uint64_t>(tone_hz) * static_cast<std::uint64_t>(channel + 1);
  return tone_value((f % rate) * (n % rate) % rate, rate, bits);  // rate < 2^20: no overflow
}

std::uint8_t linear_to_ulaw(std::int16_t pcm) {
  constexpr int kBias = 0x84;   // G.711 u-law bias (132)
  constexpr int kClip = 32635;  // largest magnitude before the bias overflows 15 bits
  int v = pcm;
  const int sign = v < 0 ? 0x80 : 0;
  if (v < 0) v = -v;
  if (v > kClip) v = kClip;
  v += kBias;
  int exponent = 7;
  for (int mask = 0x4000; (v & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  const int mantissa = (v >> (exponent + 3)) & 0x0F;
  return static_cast<std::uint8_t>(~(sign | (exponent << 4) | mantissa));
}

std::uint8_t linear_to_alaw(std::int16_t pcm) {
  int v = pcm >> 3;  // A-law codes 13-bit magnitudes
  int sign = 0x80;   // A-law: bit 7 set for positive values, then even bits toggled (0x55)
  if (v < 0) {
    sign = 0;
    v = -v - 1;
  }
  int segment = 0;  // segment s holds magnitudes up to (32 << s) - 1
  while (segment < 8 && v > (0x20 << segment) - 1) ++segment;
  if (segment == 8) return static_cast<std::uint8_t>((sign | 0x7F) ^ 0x55);
  const int mantissa = (segment < 2 ? v >> 1 : v >> segment) & 0x0F;
  return static_cast<std::uint8_t>((sign | (segment << 4) | mantissa) ^ 0x55);
}

static std::string sdp_ptime(std::int64_t ptime_ns) {
  // a=ptime is in milliseconds (RFC 8866 section 6.4); AES67 writes fractions: 0.125, 0.25, 0.333.
  std::string t = fmt::format("{:.6f}", static_cast<double>(ptime_ns) / 1e6);
  while (t.back() == '0') t.pop_back();
  if (t.back() == '.') t.pop_back();
  return t;
}

// The second path's destination of a stream (--redundant-dst), chosen as --dst chooses the first.
std::pair<std::string, std::uint16_t> redundant_destination(const GenConfig& cfg,
                                                            std::uint32_t stream) {
  GenConfig second = cfg;
  second.dst_addr = cfg.redundant_dst;
  return stream_destination(second, stream);
}

std::string stream_sdp(const GenConfig& cfg, const PayloadFormat& f, std::uint32_t stream,
                       std::uint32_t ssrc, const std::string& origin,
                       const std::string& redundant_source) {
  const auto [addr, port] = stream_destination(cfg, stream);
  const auto is_multicast = [](const std::string& address) {
    in_addr a{};
    inet_pton(AF_INET, address.c_str(), &a);
    return (ntohl(a.s_addr) >> 28) == 0xE;
  };
  const bool redundant = !cfg.redundant_dst.empty();
  const std::string name =
      cfg.streams > 1 ? fmt::format("{} {}", cfg.session_name, stream + 1) : cfg.session_name;
  // rtpmap: channels are omitted for mono G.711 (RFC 8866 6.6: "1" is the default).
  const std::string encoding_params =
      f.encoding == GenEncoding::kPcmu || f.encoding == GenEncoding::kPcma
          ? ""
          : fmt::format("/{}", cfg.channels);
  std::string sdp;
  const auto line = [&](const std::string& l) { sdp += l + "\r\n"; };
  // AES67 section 8.4: c= carries the group and TTL for multicast.
  const auto connection = [&](const std::string& address) {
    line(is_multicast(address) ? fmt::format("c=IN IP4 {}/1", address)
                               : fmt::format("c=IN IP4 {}", address));
  };
  const auto media = [&](const std::string& address, std::uint16_t media_port, const char* mid,
                         const std::string& source) {
    line(fmt::format("m=audio {} RTP/AVP {}", media_port, f.payload_type));
    if (mid != nullptr) connection(address);  // a DUP leg carries its own destination
    line(fmt::format("a=rtpmap:{} {}/{}{}", f.payload_type, f.name, cfg.sample_rate_hz,
                     encoding_params));
    line(fmt::format("a=ptime:{}",
                     sdp_ptime(cfg.ptime_samples != 0
                                   ? static_cast<std::int64_t>(
                                         std::llround(1e9 * cfg.ptime_samples / cfg.sample_rate_hz))
                                   : cfg.ptime_ns)));
    // RFC 7273: the sender has no PTP grandmaster; its RTP clock follows the host clock
    // (CLOCK_REALTIME), which "local" says. The media clock is that clock: the RTP timestamp of a
    // packet is its scheduled send time in samples since the epoch, mod 2^32, so the offset is 0.
    line("a=ts-refclk:local");
    line("a=mediaclk:direct=0");
    if (is_multicast(address))
      line(fmt::format("a=source-filter: incl IN IP4 {} {}", address, source));
    if (mid != nullptr) line(fmt::format("a=mid:{}", mid));
    line("a=recvonly");
  };
  line("v=0");
  // o=<username> <sess-id> <sess-version> IN IP4 <address>: the SSRC makes a unique numeric id.
  line(fmt::format("o=- {} 1 IN IP4 {}", ssrc, origin));
  line(fmt::format("s={}", name));
  line(fmt::format("i={} channel{} of {} {} Hz{}{}", cfg.channels, cfg.channels == 1 ? "" : "s",
                   f.name, cfg.sample_rate_hz,
                   cfg.tone_hz ? fmt::format(", tone {} Hz x channel", cfg.tone_hz) : "",
                   redundant ? ", ST 2022-7 on two paths" : ""));
  if (!redundant) {
    connection(addr);
    line("t=0 0");
    media(addr, port, nullptr, origin);
    return sdp;
  }
  // RFC 7104: one session, the two legs as m= lines with their own c=, grouped by their mids.
  const auto [addr1, port1] = redundant_destination(cfg, stream);
  line("t=0 0");
  line("a=group:DUP primary secondary");
  media(addr, port, "primary", origin);
  // The second path may leave by another interface (the lab's blue link), from its address.
  media(addr1, port1, "secondary", redundant_source.empty() ? origin : redundant_source);
  return sdp;
}

std::vector<std::uint8_t> sap_packet(bool deletion, std::uint16_t msg_id_hash, std::uint32_t origin,
                                     const std::string& sdp) {
  static constexpr char kPayloadType[] = "application/sdp";  // sent with its terminating NUL
  std::vector<std::uint8_t> p;
  p.reserve(8 + sizeof kPayloadType + sdp.size());
  // V=1 (bits 7-5), A=0 IPv4 origin, R=0, T (bit 2) = deletion, E=0, C=0 (RFC 2974 section 3).
  p.push_back(static_cast<std::uint8_t>(0x20 | (deletion ? 0x04 : 0x00)));
  p.push_back(0);  // authentication length: none
  p.push_back(static_cast<std::uint8_t>(msg_id_hash >> 8));
  p.push_back(static_cast<std::uint8_t>(msg_id_hash));
  for (int i = 3; i >= 0; --i) p.push_back(static_cast<std::uint8_t>(origin >> (8 * i)));
  p.insert(p.end(), kPayloadType, kPayloadType + sizeof kPayloadType);
  p.insert(p.end(), sdp.begin(), sdp.end());
  return p;
}

// ---------------------------------------------------------------------------------------------
// The run

namespace {

struct StreamState {
  FateSelector fate1{0, 0, 0, 0};  // path 1's (--redundant-loss), independent of path 0's
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint64_t index = 0;    // next packet index
  std::uint64_t planned = 0;  // packets this stream will produce (UINT64_MAX: unknown)
  FateSelector fate{0, 0, 0, 0};
  bool holding = false;
  std::uint16_t held_seq = 0;
  std::uint64_t held_index = 0;
};

struct Message {
  std::uint32_t stream;
  std::int64_t scheduled_ns;  // absolute monotonic; -1: a held packet (not paced)
  bool held;
  std::uint8_t path = 0;  // 1: a copy for --redundant-dst
};

// An fd closed when it goes out of scope (-1: none).
struct UniqueFd {
  int fd = -1;
  UniqueFd() = default;
  explicit UniqueFd(int f) : fd(f) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd >= 0) close(fd);
  }
};

// The default timer slack (50 us) lets clock_nanosleep wake up to 50 us late, which is a whole
// 125 us packet time off by 40%. Measured on the 2-core lab VM at 16 kpps: p50 pacing error
// 33-65 us with the default slack. Restored when the run ends.
class TimerSlack {
 public:
  explicit TimerSlack(unsigned long ns) : old_(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)) {
    prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
  }
  ~TimerSlack() {
    if (old_ > 0) prctl(PR_SET_TIMERSLACK, old_, 0, 0, 0);
  }
  TimerSlack(const TimerSlack&) = delete;
  TimerSlack& operator=(const TimerSlack&) = delete;

 private:
  int old_;
};

// One run of `rtcap gen`: everything is allocated by prepare(), the loop allocates nothing.
class Generator {
 public:
  Generator(const GenConfig& cfg, const Schedule& sched) : cfg_(cfg), sched_(sched) {}
  std::expected<void, std::string> prepare();
  GenReport run(const std::atomic<bool>* stop);

 private:
  void plan();
  std::expected<void, std::string> check_destination() const;
  std::expected<void, std::string> open_socket();
  std::expected<void, std::string> allocate();
  void prepare_tone();
  void fill_tone(std::uint8_t* packet, std::uint64_t index) const;
  std::expected<void, std::string> open_sap();
  void send_sap(const std::vector<std::vector<std::uint8_t>>& packets);
  void start_clock();
  std::size_t fill_batch(std::int64_t now);
  std::size_t add_held(std::size_t n, std::uint32_t k);
  void send_batch(std::size_t n);
  void send_held_at_end();
  void send_redundant_at_end(const std::atomic<bool>* stop);
  void finish_report();
  void* dst_name(std::uint32_t k) { return connected_ ? nullptr : &dst_[k]; }
  std::size_t add_redundant(std::size_t n, std::uint32_t k, std::uint64_t index,
                            std::int64_t scheduled);

  const GenConfig& cfg_;
  const Schedule sched_;
  std::uint32_t nstreams_ = 0;
  GenReport rep_;
  std::uint32_t spp_ = 0;  // samples per packet
  PayloadFormat pfmt_{};
  std::uint64_t total_ = std::numeric_limits<std::uint64_t>::max();
  std::int64_t deadline_ns_ = 0;  // relative; 0 = none
  double secs_ = kDefaultSecs;
  UniqueFd fd_;
  bool connected_ = false;
  std::size_t dgram_ = 0;
  std::vector<sockaddr_in> dst_;
  std::vector<sockaddr_in> dst1_;  // --redundant-dst, per stream
  std::vector<std::uint8_t> slot_bufs_, held_bufs_;
  // --redundant-dst: per stream the last delay + 1 packets built, path 1 sends from here.
  std::vector<std::uint8_t> ring_bufs_;
  std::size_t ring_len_ = 0;
  std::array<mmsghdr, kMaxBatch> msgs_{};
  std::array<iovec, kMaxBatch> iov_{};
  std::array<Message, kMaxBatch> meta_{};
  std::array<bool, kMaxBatch> failed_{};
  std::vector<StreamState> st_;
  std::unique_ptr<HistogramData> hist_ = std::make_unique<HistogramData>();  // pacing error
  std::string first_error_;
  std::vector<std::int32_t> tone_table_;
  std::vector<std::uint64_t> tone_freq_mod_;  // per channel: (tone x (c + 1)) mod rate
  std::uint64_t rate_u_ = 0;
  UniqueFd sap_fd_;
  std::vector<std::vector<std::uint8_t>> sap_announce_, sap_delete_;
  std::uint64_t slot_ = 0;
  std::int64_t t0_ = 0, last_send_ = 0;
};

std::expected<void, std::string> Generator::prepare() {
  nstreams_ = static_cast<std::uint32_t>(cfg_.streams);
  plan();
  if (!cfg_.netns.empty())
    if (auto e = enter_netns(cfg_.netns); !e) return std::unexpected(e.error());
  if (auto r = check_destination(); !r) return r;
  if (auto r = open_socket(); !r) return r;
  if (auto r = allocate(); !r) return r;
  prepare_tone();
  return open_sap();
}

// Sizes and bounds: count, or secs (default 5 s). A paced run turns secs into an exact count.
void Generator::plan() {
  rep_.rtp = !cfg_.raw_payload_bytes.has_value();
  if (rep_.rtp) {
    spp_ = *packet_samples(cfg_);
    rep_.payload_bytes = static_cast<std::size_t>(spp_) * static_cast<std::size_t>(cfg_.channels) *
                         static_cast<std::size_t>(pfmt_bytes(cfg_));
    rep_.datagram_bytes = rep_.payload_bytes + rtp::kHeaderBytes;
  } else {
    rep_.payload_bytes = rep_.datagram_bytes = *cfg_.raw_payload_bytes;
  }
  pfmt_ = rep_.rtp ? *payload_format(cfg_) : PayloadFormat{};
  rep_.payload_type = pfmt_.payload_type;
  rep_.target_pps = sched_.rate_pps();
  const bool bounded_by_secs = cfg_.secs.has_value() || !cfg_.count.has_value();
  secs_ = cfg_.secs.value_or(kDefaultSecs);
  if (cfg_.count) total_ = *cfg_.count;
  if (bounded_by_secs) {
    if (sched_.paced() && !cfg_.count) {
      total_ = static_cast<std::uint64_t>(std::llround(secs_ * sched_.rate_pps()));
      if (total_ == 0) total_ = 1;
    } else {
      deadline_ns_ = static_cast<std::int64_t>(secs_ * 1e9);
    }
  }
}

// Groups (and the SAP group) only on the lab's links: never from the host's own namespace.
std::expected<void, std::string> Generator::check_destination() const {
  in_addr a{};
  inet_pton(AF_INET, cfg_.dst_addr.c_str(), &a);
  const bool multicast = (ntohl(a.s_addr) >> 24) == 239;
  if ((multicast || cfg_.sap) && !in_lab_netns())
    return std::unexpected(
        fmt::format("{} is multicast, which rtcap gen sends only inside a lab network "
                    "namespace: add --netns <lab>-tx (rtcap lab up)",
                    multicast ? fmt::format("--dst {}", cfg_.dst_addr) : std::string("--sap")));
  return {};
}

std::expected<void, std::string> Generator::open_socket() {
  fd_.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd_.fd < 0)
    return std::unexpected(fmt::format("cannot open a UDP socket: {}", std::strerror(errno)));
  int sndbuf = kSndBufBytes;
  if (setsockopt(fd_.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0)
    setsockopt(fd_.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
               sizeof sndbuf);  // unprivileged: capped by wmem_max
  if (cfg_.allow_multicast) {
    const unsigned char ttl = 1;  // never routed beyond the first hop
    setsockopt(fd_.fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  }
  if (cfg_.src_port != 0) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_port = htons(cfg_.src_port);
    src.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd_.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
      return std::unexpected(
          fmt::format("cannot bind UDP source port {}: {}; choose another --src-port",
                      cfg_.src_port, std::strerror(errno)));
  }
  return {};
}

// Every buffer, message header and per-stream state the loop uses.
std::expected<void, std::string> Generator::allocate() {
  dst_.resize(nstreams_);
  for (std::uint32_t k = 0; k < nstreams_; ++k) {
    const auto [addr, port] = stream_destination(cfg_, k);
    dst_[k].sin_family = AF_INET;
    inet_pton(AF_INET, addr.c_str(), &dst_[k].sin_addr);
    dst_[k].sin_port = htons(port);
  }
  dgram_ = rep_.datagram_bytes;
  if (!cfg_.redundant_dst.empty()) {
    dst1_.resize(nstreams_);
    for (std::uint32_t k = 0; k < nstreams_; ++k) {
      const auto [addr, port] = redundant_destination(cfg_, k);
      dst1_[k].sin_family = AF_INET;
      inet_pton(AF_INET, addr.c_str(), &dst1_[k].sin_addr);
      dst1_[k].sin_port = htons(port);
    }
    ring_len_ = std::size_t{cfg_.redundant_delay_packets} + 1;
    if (static_cast<double>(nstreams_) * static_cast<double>(ring_len_ * dgram_) >
        static_cast<double>(kMaxRingBytes))
      return std::unexpected(fmt::format(
          "--redundant-delay {} packets x {} streams x {} bytes needs more than {} MiB: fewer "
          "streams or a shorter delay",
          cfg_.redundant_delay_packets, nstreams_, dgram_, kMaxRingBytes >> 20));
    ring_bufs_.assign(static_cast<std::size_t>(nstreams_) * ring_len_ * dgram_, 0);
  }
  slot_bufs_.assign(kMaxBatch * dgram_, 0);
  held_bufs_.assign(static_cast<std::size_t>(nstreams_) * dgram_, 0);
  st_.resize(nstreams_);
  rep_.streams.resize(nstreams_);
  for (std::uint32_t k = 0; k < nstreams_; ++k) {
    st_[k].seq = cfg_.seq_start ? *cfg_.seq_start : stream_first_seq(cfg_.seed, k);
    st_[k].timestamp = stream_first_timestamp(cfg_.seed, k);
    st_[k].fate = FateSelector(cfg_.seed, k, cfg_.loss, cfg_.reorder);
    // Another seed for path 1, so its losses are independent of path 0's.
    st_[k].fate1 = FateSelector(cfg_.seed ^ 0x2022'0007'2022'0007ull, k, cfg_.redundant_loss, 0);
    st_[k].planned = total_ == std::numeric_limits<std::uint64_t>::max()
                         ? total_
                         : total_ / nstreams_ + (k < total_ % nstreams_ ? 1 : 0);
    rep_.streams[k].ssrc = rep_.rtp ? stream_ssrc(cfg_.seed, k) : 0;
    std::tie(rep_.streams[k].dst_addr, rep_.streams[k].dst_port) = stream_destination(cfg_, k);
    if (!dst1_.empty()) {
      char text[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &dst1_[k].sin_addr, text, sizeof text);
      rep_.streams[k].redundant_dst_addr = text;
    }
    rep_.streams[k].first_seq = rep_.rtp ? st_[k].seq : 0;
  }
  const double event_share = cfg_.loss + cfg_.reorder + (dst1_.empty() ? 0 : cfg_.redundant_loss);
  if (event_share > 0) {
    // Expected events plus a generous margin, so push_back does not allocate in the loop.
    const double expect = total_ == std::numeric_limits<std::uint64_t>::max()
                              ? 1e6 * secs_ * event_share
                              : static_cast<double>(total_) * event_share;
    rep_.events.reserve(static_cast<std::size_t>(std::min(expect * 1.2 + 4096.0, 5e7)));
  }
  // One stream: connect, so the kernel reuses the cached route instead of a lookup per
  // datagram (measured on the 2-core lab VM, raw 32-byte payload, --rate 0 over the lab veth:
  // ~272 kpps unconnected, 282-291 kpps connected). Several streams share the unconnected
  // socket with a destination per message, so one sendmmsg carries all streams in schedule order.
  connected_ = nstreams_ == 1 && dst1_.empty();
  if (connected_ &&
      connect(fd_.fd, reinterpret_cast<const sockaddr*>(&dst_[0]), sizeof dst_[0]) != 0)
    return std::unexpected(fmt::format("cannot reach {}:{}: {}; is the lab up and --netns right?",
                                       cfg_.dst_addr, cfg_.dst_port, std::strerror(errno)));
  for (std::size_t i = 0; i < kMaxBatch; ++i) {
    iov_[i].iov_len = dgram_;
    msgs_[i].msg_hdr.msg_iov = &iov_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
    msgs_[i].msg_hdr.msg_namelen = connected_ ? 0 : sizeof(sockaddr_in);
  }
  return {};
}

// --tone: one period table, indexed by the reduced phase (see tone_sample).
void Generator::prepare_tone() {
  rate_u_ = static_cast<std::uint64_t>(cfg_.sample_rate_hz);
  if (!rep_.rtp || cfg_.tone_hz == 0) return;
  const int tone_bits = pfmt_.encoding == GenEncoding::kL24 ? 24 : 16;
  tone_table_.resize(rate_u_);
  for (std::uint64_t k = 0; k < rate_u_; ++k) tone_table_[k] = tone_value(k, rate_u_, tone_bits);
  for (int c = 0; c < cfg_.channels; ++c)
    tone_freq_mod_.push_back(static_cast<std::uint64_t>(cfg_.tone_hz) *
                             static_cast<std::uint64_t>(c + 1) % rate_u_);
}

void Generator::fill_tone(std::uint8_t* packet, std::uint64_t index) const {
  std::uint8_t* p = packet + rtp::kPayloadOffset;
  std::uint64_t n_mod = index % rate_u_ * spp_ % rate_u_;
  for (std::uint32_t j = 0; j < spp_; ++j) {
    for (const std::uint64_t f : tone_freq_mod_) {
      const std::int32_t v = tone_table_[f * n_mod % rate_u_];
      switch (pfmt_.encoding) {
        case GenEncoding::kL24:
          p[0] = static_cast<std::uint8_t>(v >> 16);
          p[1] = static_cast<std::uint8_t>(v >> 8);
          p[2] = static_cast<std::uint8_t>(v);
          break;
        case GenEncoding::kL16:
          wire::store_be16(p, static_cast<std::uint16_t>(v));
          break;
        case GenEncoding::kPcmu:
          p[0] = linear_to_ulaw(static_cast<std::int16_t>(v));
          break;
        case GenEncoding::kPcma:
          p[0] = linear_to_alaw(static_cast<std::int16_t>(v));
          break;
      }
      p += pfmt_.bytes_per_sample;
    }
    if (++n_mod == rate_u_) n_mod = 0;
  }
}

// --sap: one session per stream, announced on its own socket to the SAP group.
std::expected<void, std::string> Generator::open_sap() {
  if (!cfg_.sap) return {};
  sap_fd_.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (sap_fd_.fd < 0)
    return std::unexpected(fmt::format("cannot open the SAP socket: {}", std::strerror(errno)));
  const unsigned char ttl = 1;  // RFC 2974: the session's own scope; one hop here
  setsockopt(sap_fd_.fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(kSapPort);
  inet_pton(AF_INET, kSapGroup, &group.sin_addr);
  if (connect(sap_fd_.fd, reinterpret_cast<const sockaddr*>(&group), sizeof group) != 0)
    return std::unexpected(
        fmt::format("cannot reach the SAP group {}:{}: {}; `rtcap lab up` routes multicast "
                    "in the lab (is --netns a lab namespace?)",
                    kSapGroup, kSapPort, std::strerror(errno)));
  sockaddr_in local{};
  socklen_t len = sizeof local;
  getsockname(sap_fd_.fd, reinterpret_cast<sockaddr*>(&local), &len);
  char origin[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &local.sin_addr, origin, sizeof origin);
  for (std::uint32_t k = 0; k < nstreams_; ++k) {
    std::string redundant_source;
    if (!dst1_.empty()) {  // the address the kernel sends path 1 from: its source-filter
      UniqueFd probe;
      probe.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
      sockaddr_in from{};
      socklen_t from_len = sizeof from;
      char text[INET_ADDRSTRLEN] = {};
      if (probe.fd >= 0 &&
          connect(probe.fd, reinterpret_cast<const sockaddr*>(&dst1_[k]), sizeof dst1_[k]) == 0 &&
          getsockname(probe.fd, reinterpret_cast<sockaddr*>(&from), &from_len) == 0 &&
          inet_ntop(AF_INET, &from.sin_addr, text, sizeof text) != nullptr)
        redundant_source = text;
    }
    const std::string sdp =
        stream_sdp(cfg_, pfmt_, k, rep_.streams[k].ssrc, origin, redundant_source);
    // The message id hash identifies this announcement with the origin (RFC 2974 section 5);
    // never 0, which older receivers take for "no hash".
    const auto hash = static_cast<std::uint16_t>(mix(cfg_.seed, 0x5A9, k) | 1u);
    sap_announce_.push_back(sap_packet(false, hash, ntohl(local.sin_addr.s_addr), sdp));
    sap_delete_.push_back(sap_packet(true, hash, ntohl(local.sin_addr.s_addr), sdp));
  }
  return {};
}

void Generator::send_sap(const std::vector<std::vector<std::uint8_t>>& packets) {
  for (const auto& p : packets) {
    if (send(sap_fd_.fd, p.data(), p.size(), 0) == static_cast<ssize_t>(p.size())) {
      ++rep_.sap_sent;
    } else {
      ++rep_.sap_errors;
      if (first_error_.empty()) first_error_ = fmt::format("SAP: {}", std::strerror(errno));
    }
  }
}

// t0 of the schedule. With --sap (mediaclk:direct=0, the host clock as reference), stream k's
// first RTP timestamp is its first packet's scheduled time in samples since the epoch
// (CLOCK_REALTIME, UTC; PTP senders count TAI), mod 2^32; each packet adds its samples, as the
// schedule adds its time.
void Generator::start_clock() {
  t0_ = last_send_ = monotonic_ns();
  if (!cfg_.sap) return;
  const std::int64_t real0 = realtime_ns();
  for (std::uint32_t k = 0; k < nstreams_; ++k)
    st_[k].timestamp =
        static_cast<std::uint32_t>(static_cast<u128>(real0 + sched_.offset_ns(k)) *
                                   static_cast<u128>(cfg_.sample_rate_hz) / 1'000'000'000u);
}

GenReport Generator::run(const std::atomic<bool>* stop) {
  const TimerSlack slack(kTimerSlackNs);
  const auto sap_period_ns = static_cast<std::int64_t>(cfg_.sap_interval_s * 1e9);
  // Announce before the first packet, so a receiver knows the format from the start.
  if (cfg_.sap) send_sap(sap_announce_);
  start_clock();
  std::int64_t next_sap = t0_ + sap_period_ns;
  while (slot_ < total_) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
      rep_.interrupted = true;
      break;
    }
    const std::int64_t now = monotonic_ns();
    if (deadline_ns_ != 0 && now - t0_ >= deadline_ns_) break;
    if (cfg_.sap && now >= next_sap) {
      send_sap(sap_announce_);
      next_sap += sap_period_ns;
    }
    if (sched_.paced()) {
      const std::int64_t due = t0_ + sched_.offset_ns(slot_);
      if (due > now) {
        sleep_until(due);
        continue;  // re-check stop and the clock: the sleep may have been interrupted
      }
    }
    if (const std::size_t n = fill_batch(now); n != 0) send_batch(n);
  }
  send_held_at_end();
  send_redundant_at_end(stop);
  if (cfg_.sap) send_sap(sap_delete_);  // RFC 2974 section 4: the session is gone now
  finish_report();
  return std::move(rep_);
}

// The held packet of stream k goes into message n (after its successor, or late at the end).
std::size_t Generator::add_held(std::size_t n, std::uint32_t k) {
  std::memcpy(&slot_bufs_[n * dgram_], &held_bufs_[k * dgram_], dgram_);
  meta_[n] = {k, -1, true};
  msgs_[n].msg_hdr.msg_name = dst_name(k);
  st_[k].holding = false;
  return n + 1;
}

// Path 1's copy of packet `index` of stream k (built in the ring), unless path 1 drops it.
std::size_t Generator::add_redundant(std::size_t n, std::uint32_t k, std::uint64_t index,
                                     std::int64_t scheduled) {
  StreamReport& sr = rep_.streams[k];
  const auto seq = static_cast<std::uint16_t>(sr.first_seq + index);
  if (st_[k].fate1.next(false) == FateSelector::Fate::kDrop) {
    ++sr.redundant_dropped;
    rep_.events.push_back({TruthEvent::Kind::kDrop, k, sr.ssrc, seq, index, 1});
    return n;
  }
  std::memcpy(&slot_bufs_[n * dgram_], &ring_bufs_[(k * ring_len_ + index % ring_len_) * dgram_],
              dgram_);
  meta_[n] = {k, scheduled, true, 1};  // not a pacing sample: path 0's packet is
  msgs_[n].msg_hdr.msg_name = &dst1_[k];
  return n + 1;
}

// Everything due now, up to one batch; keeps room for a successor plus its held packet.
std::size_t Generator::fill_batch(std::int64_t now) {
  std::size_t n = 0;
  const std::uint8_t pt = pfmt_.payload_type;
  while (n + 3 <= kMaxBatch && slot_ < total_) {
    const std::int64_t scheduled = t0_ + sched_.offset_ns(slot_);
    if (sched_.paced() && scheduled > now) break;
    const auto k = static_cast<std::uint32_t>(slot_ % nstreams_);
    ++slot_;
    StreamState& s = st_[k];
    StreamReport& sr = rep_.streams[k];
    const std::uint64_t index = s.index++;
    const std::uint16_t seq = s.seq++;
    const std::uint32_t ts = s.timestamp;
    s.timestamp += spp_;
    ++sr.produced;
    if (!dst1_.empty()) {
      // Path 1: this packet into the stream's ring, and the one delay packets back out of it
      // (whatever path 0 does with its own copy).
      std::uint8_t* slot = &ring_bufs_[(k * ring_len_ + index % ring_len_) * dgram_];
      build_packet(slot, dgram_, rep_.rtp, pt, seq, ts, sr.ssrc, index);
      if (!tone_table_.empty()) fill_tone(slot, index);
      if (index >= cfg_.redundant_delay_packets)
        n = add_redundant(n, k, index - cfg_.redundant_delay_packets, scheduled);
    }
    const auto fate = s.fate.next(index + 1 == s.planned);
    if (fate == FateSelector::Fate::kDrop) {
      ++sr.dropped;
      rep_.events.push_back({TruthEvent::Kind::kDrop, k, sr.ssrc,
                             rep_.rtp ? seq : static_cast<std::uint16_t>(index), index});
      continue;
    }
    if (fate == FateSelector::Fate::kHold) {
      build_packet(&held_bufs_[k * dgram_], dgram_, rep_.rtp, pt, seq, ts, sr.ssrc, index);
      if (!tone_table_.empty()) fill_tone(&held_bufs_[k * dgram_], index);
      s.holding = true;
      s.held_seq = seq;
      s.held_index = index;
      continue;
    }
    build_packet(&slot_bufs_[n * dgram_], dgram_, rep_.rtp, pt, seq, ts, sr.ssrc, index);
    if (!tone_table_.empty()) fill_tone(&slot_bufs_[n * dgram_], index);
    meta_[n] = {k, scheduled, false};
    msgs_[n].msg_hdr.msg_name = dst_name(k);
    ++n;
    if (s.holding) {  // the swap: the held packet goes right after its successor
      n = add_held(n, k);
      ++sr.reordered;
      rep_.events.push_back({TruthEvent::Kind::kReorder, k, sr.ssrc,
                             rep_.rtp ? s.held_seq : static_cast<std::uint16_t>(s.held_index),
                             s.held_index});
    }
  }
  // End of run (count reached) with a packet still held: happens only when a run is cut short
  // of its plan; the held packet goes out late but in order, so it is not a reorder.
  if (slot_ >= total_)
    for (std::uint32_t k = 0; k < nstreams_ && n < kMaxBatch; ++k)
      if (st_[k].holding) n = add_held(n, k);
  return n;
}

void Generator::send_batch(std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    iov_[i].iov_base = &slot_bufs_[i * dgram_];
    failed_[i] = false;
  }
  // The send time goes in just before the system call that sends.
  if (rep_.rtp) {
    const auto realtime = static_cast<std::uint64_t>(rtcap::realtime_ns());
    for (std::size_t i = 0; i < n; ++i) rtp::set_send_time(&slot_bufs_[i * dgram_], realtime);
  }
  const std::int64_t send_mono = monotonic_ns();
  std::size_t off = 0;
  bool retried = false;
  while (off < n) {
    const int r = sendmmsg(fd_.fd, &msgs_[off], static_cast<unsigned>(n - off), 0);
    ++rep_.sendmmsg_calls;
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
    if (r < 0 && err == ECONNREFUSED && connected_ && !retried) {
      ++rep_.icmp_refused;
      retried = true;
      continue;
    }
    retried = false;
    // The message at `off` failed (ENOBUFS, EAGAIN, ECONNREFUSED, ...): count it, go on.
    failed_[off] = true;
    ++rep_.send_errors;
    if (err == ENOBUFS) ++rep_.enobufs;
    if (first_error_.empty()) first_error_ = std::strerror(err);
    ++off;
  }
  last_send_ = monotonic_ns();
  for (std::size_t i = 0; i < n; ++i) {
    auto& sr = rep_.streams[meta_[i].stream];
    if (failed_[i]) {
      ++sr.send_errors;
      continue;
    }
    if (meta_[i].path == 1) {
      ++sr.redundant_sent;
      continue;
    }
    ++sr.sent;
    if (sched_.paced() && !meta_[i].held) {
      const std::int64_t err_ns = send_mono - meta_[i].scheduled_ns;
      hist_->record(err_ns > 0 ? static_cast<std::uint64_t>(err_ns) : 0);
    }
  }
}

// Path 1's copies still in the rings when path 0 ends (each stream's last delay packets): sent
// when path 0's next packets would have gone (at once when stopped), so path 1 carries them all.
void Generator::send_redundant_at_end(const std::atomic<bool>* stop) {
  if (dst1_.empty()) return;
  const std::uint64_t delay = cfg_.redundant_delay_packets;
  std::uint64_t end = slot_;  // one past the virtual slot of the last copy
  for (std::uint32_t k = 0; k < nstreams_; ++k)
    if (st_[k].index != 0) end = std::max(end, (st_[k].index - 1 + delay) * nstreams_ + k + 1);
  std::size_t n = 0;
  for (std::uint64_t v = slot_; v < end; ++v) {
    const auto k = static_cast<std::uint32_t>(v % nstreams_);
    const std::uint64_t j = v / nstreams_;
    if (j < delay || j - delay >= st_[k].index) continue;
    const std::int64_t due = t0_ + sched_.offset_ns(v);
    while (sched_.paced() && (stop == nullptr || !stop->load(std::memory_order_relaxed)) &&
           due > monotonic_ns()) {
      if (n != 0) send_batch(std::exchange(n, 0));
      sleep_until(due);
    }
    n = add_redundant(n, k, j - delay, due);
    if (n == kMaxBatch) send_batch(std::exchange(n, 0));
  }
  if (n != 0) send_batch(n);
}

// Held packets whose successor never came (stopped early): sent in order, not reordered.
void Generator::send_held_at_end() {
  std::size_t n = 0;
  for (std::uint32_t k = 0; k < nstreams_ && n < kMaxBatch; ++k)
    if (st_[k].holding) {
      n = add_held(n, k);
      const std::size_t i = n - 1;
      if (rep_.rtp)
        rtp::set_send_time(&slot_bufs_[i * dgram_],
                           static_cast<std::uint64_t>(rtcap::realtime_ns()));
      iov_[i].iov_base = &slot_bufs_[i * dgram_];
    }
  for (std::size_t i = 0; i < n; ++i) {
    ++rep_.sendmmsg_calls;
    if (sendmmsg(fd_.fd, &msgs_[i], 1, 0) == 1 ||
        (errno == ECONNREFUSED && sendmmsg(fd_.fd, &msgs_[i], 1, 0) == 1)) {
      ++rep_.streams[meta_[i].stream].sent;
    } else {
      ++rep_.streams[meta_[i].stream].send_errors;
      ++rep_.send_errors;
    }
  }
  if (n != 0) last_send_ = monotonic_ns();
}

void Generator::finish_report() {
  for (const auto& s : rep_.streams) {
    rep_.produced += s.produced;
    rep_.sent += s.sent;
    rep_.dropped += s.dropped;
    rep_.reordered += s.reordered;
  }
  rep_.duration_s = static_cast<double>(last_send_ - t0_) / 1e9;
  rep_.achieved_pps = rep_.duration_s > 0 ? static_cast<double>(rep_.sent) / rep_.duration_s : 0.0;
  rep_.pacing_samples = hist_->count;
  rep_.pacing_p50_ns = hist_->percentile(0.50);
  rep_.pacing_p99_ns = hist_->percentile(0.99);
  rep_.pacing_max_ns = hist_->max;
  rep_.first_send_error = first_error_;
}

}  // namespace

std::expected<GenReport, std::string> run_generator(const GenConfig& cfg,
                                                    const std::atomic<bool>* stop) {
  if (auto ok = validate_config(cfg); !ok) return std::unexpected(ok.error());
  Generator gen(cfg, *make_schedule(cfg));
  if (auto r = gen.prepare(); !r) return std::unexpected(r.error());
  return gen.run(stop);
}

std::string report_line(const GenReport& r) {
  std::string s = fmt::format(
      "rtcap gen: sent {} of {} packets ({} B UDP payload{}) in {:.3f} s = {:.0f} pps (target {}), "
      "{} sendmmsg calls, {} send errors ({} ENOBUFS), {} dropped and {} reordered on purpose",
      r.sent, r.produced, r.datagram_bytes,
      r.rtp ? fmt::format(", {} B audio", r.payload_bytes) : ", raw UDP", r.duration_s,
      r.achieved_pps, r.target_pps > 0 ? fmt::format("{:.0f}", r.target_pps) : "unpaced",
      r.sendmmsg_calls, r.send_errors, r.enobufs, r.dropped, r.reordered);
  if (r.pacing_samples > 0)
    s += fmt::format(", pacing error p50 {} ns p99 {} ns max {} ns", r.pacing_p50_ns,
                     r.pacing_p99_ns, r.pacing_max_ns);
  std::uint64_t second_sent = 0, second_dropped = 0;
  for (const auto& x : r.streams) {
    second_sent += x.redundant_sent;
    second_dropped += x.redundant_dropped;
  }
  if (second_sent + second_dropped > 0)
    s += fmt::format(", second path (--redundant-dst) sent {}, {} dropped on purpose", second_sent,
                     second_dropped);
  if (r.sap_sent + r.sap_errors > 0)
    s += fmt::format(", {} SAP announcements ({} failed)", r.sap_sent, r.sap_errors);
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
  j["path"] = e.path;
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
  j["payload_type"] = r.rtp ? nlohmann::json(r.payload_type) : nlohmann::json(nullptr);
  j["sap_sent"] = r.sap_sent;
  j["sap_errors"] = r.sap_errors;
  j["interrupted"] = r.interrupted;
  j["seed"] = cfg.seed;
  auto streams = nlohmann::json::array();
  for (std::size_t k = 0; k < r.streams.size(); ++k) {
    const auto& s = r.streams[k];
    streams.push_back({{"stream", k},
                       {"ssrc", s.ssrc},
                       {"dst", s.dst_addr},
                       {"dst_port", s.dst_port},
                       {"first_seq", s.first_seq},
                       {"produced", s.produced},
                       {"sent", s.sent},
                       {"dropped", s.dropped},
                       {"reordered", s.reordered},
                       {"send_errors", s.send_errors}});
    if (!s.redundant_dst_addr.empty())
      streams.back()["redundant"] = {{"dst", s.redundant_dst_addr},
                                     {"sent", s.redundant_sent},
                                     {"dropped", s.redundant_dropped},
                                     {"delay_packets", cfg.redundant_delay_packets},
                                     {"loss", cfg.redundant_loss}};
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

// A report file, opened before the first packet is sent (a path that cannot be written fails the
// run at once, not after it) and written when the run is over.
class ReportFile {
 public:
  ReportFile(std::string path, const char* option) : path_(std::move(path)), option_(option) {}
  [[nodiscard]] bool wanted() const { return !path_.empty(); }
  std::expected<void, std::string> open() {
    if (wanted()) file_.open(path_, std::ios::binary | std::ios::trunc);
    return check();
  }
  std::expected<void, std::string> write(const std::string& text) {
    if (wanted()) file_ << text << std::flush;
    return check();
  }

 private:
  std::expected<void, std::string> check() const {
    if (!wanted() || file_) return {};
    return std::unexpected(fmt::format(
        "cannot write the {} file {}: check the directory exists and is writable", option_, path_));
  }
  std::string path_;
  const char* option_;
  std::ofstream file_;
};

CLI::App* add_gen_command(CLI::App& app, int& exit_code) {
  auto* gen = app.add_subcommand(
      "gen",
      "Send AES67-style RTP (or raw UDP with --payload) on an absolute schedule, to 198.18.0.0/15");
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
  // CLI11 reads "-1" into an unsigned option as its largest value (--count -1 ran unbounded):
  // unsigned options take decimal digits only; their ranges are validate_config's.
  constexpr std::int64_t kMaxUnsigned = std::numeric_limits<std::int64_t>::max();
  gen->add_option("--streams", o->cfg.streams, "Number of streams; stream k goes to port + 2k")
      ->type_name("N")
      ->capture_default_str()
      ->transform(decimal_in(1, kMaxStreams));
  gen->add_option("--ptime", o->ptime,
                  "Packet time with unit: 1ms, 250us, 125us; or in samples: 48samples")
      ->type_name("TIME")
      ->capture_default_str();
  gen->add_option("--channels", o->cfg.channels, "Audio channels per stream")
      ->type_name("N")
      ->capture_default_str();
  gen->add_option("--sample-rate", o->cfg.sample_rate_hz, "Sample rate in Hz")
      ->type_name("HZ")
      ->capture_default_str();
  gen->add_option("--bits", o->cfg.bits, "Bits per sample: 24 (L24, PT 97) or 16 (L16, PT 96)")
      ->capture_default_str()
      ->check(one_of({"16", "24"}));
  auto* payload =
      gen->add_option("--payload", o->payload,
                      "Raw UDP payload size in BYTES instead of RTP (first 8 bytes: packet index)")
          ->type_name("BYTES")
          ->transform(decimal(0, kMaxUnsigned));
  auto* rate =
      gen->add_option("--rate", o->rate,
                      "Total packets per second over all streams (PPS); 0 = as fast as possible; "
                      "default: streams / ptime")
          ->type_name("PPS");
  gen->add_option("--burst", o->cfg.burst, "Packets sent back to back per tick (same average rate)")
      ->type_name("N")
      ->capture_default_str();
  auto* secs =
      gen->add_option("--secs", o->secs, "Run time bound in seconds (default 5 when no --count)")
          ->type_name("SECONDS");
  auto* count = gen->add_option("--count", o->count,
                                "Total packets to produce over all streams (incl. --loss drops)")
                    ->type_name("PACKETS")
                    ->transform(decimal(0, kMaxUnsigned));
  gen->add_option("--dst", o->dst,
                  "Destination ADDR:PORT in 198.18.0.0/15 (or 239.x with --allow-multicast)")
      ->type_name("ADDR:PORT")
      ->capture_default_str();
  gen->add_option("--src-port", o->cfg.src_port,
                  "UDP source port for all streams (default: ephemeral)")
      ->type_name("PORT")
      ->transform(decimal(0, 65535));
  gen->add_flag("--allow-multicast", o->cfg.allow_multicast,
                "Allow a 239.x.x.x multicast destination (TTL 1)");
  gen->add_option("--netns", o->cfg.netns, "Network namespace to send from (e.g. rtcap-tx)")
      ->type_name("NAME");
  gen->add_option("--loss", o->cfg.loss, "Probability 0..1 that a packet is dropped on purpose")
      ->type_name("P")
      ->check(number_in(0, 1));
  gen->add_option("--reorder", o->cfg.reorder,
                  "Probability 0..1 that a packet is sent after its successor")
      ->type_name("P")
      ->check(number_in(0, 1));
  gen->add_option("--redundant-dst", o->cfg.redundant_dst,
                  "ST 2022-7: send every packet also to this address (stream k: +k with "
                  "--group-per-stream), the same port, SSRC and sequence numbers")
      ->type_name("ADDR");
  gen->add_option(
         "--redundant-loss", o->cfg.redundant_loss,
         "Probability 0..1 that the --redundant-dst copy is dropped, independent of --loss")
      ->type_name("P")
      ->check(number_in(0, 1));
  gen->add_option("--redundant-delay", o->cfg.redundant_delay_packets,
                  "Send the --redundant-dst copy this many packet times later")
      ->type_name("PACKETS")
      ->transform(decimal_in(0, kMaxRedundantDelayPackets));
  gen->add_option("--seed", o->cfg.seed, "Seed for SSRCs, sequence starts, loss and reorder")
      ->type_name("N")
      ->capture_default_str()
      ->transform(decimal(0, kMaxUnsigned));
  auto* seq_start = gen->add_option("--seq-start", o->seq_start,
                                    "First RTP sequence number (default: random from seed)")
                        ->type_name("SEQ")
                        ->transform(decimal_in(0, 65535));
  gen->add_option("--truth", o->cfg.truth_path,
                  "Write JSON lines naming each dropped/reordered packet to FILE")
      ->type_name("FILE");
  gen->add_option("--json", o->cfg.json_path, "Write the report as JSON to FILE")
      ->type_name("FILE");
  auto* payload_type =
      gen->add_option("--payload-type", o->cfg.payload_type,
                      "RTP payload type: 0 PCMU, 8 PCMA (8 kHz mono), 10/11 L16 stereo/mono "
                      "(44.1 kHz), or dynamic 96-127 (default 97 L24, 96 L16)")
          ->type_name("PT");
  gen->add_flag(
      "--group-per-stream", o->cfg.group_per_stream,
      "Stream k goes to multicast group --dst + k, all on the --dst port (as AES67 senders do)");
  gen->add_option(
         "--tone", o->cfg.tone_hz,
         "Send a tone: channel c carries HZ x (c+1), -6 dBFS, exact per sample. Without it the "
         "audio is zeros except its first 8 bytes, the packet's index (big-endian, counted by the "
         "tests): not silence")
      ->type_name("HZ")
      ->transform(decimal_in(1, 100000));
  gen->add_flag(
      "--sap", o->cfg.sap,
      "Announce each stream with SAP (RFC 2974) to 239.255.255.255:9875: an AES67-style SDP, a "
      "deletion at the end (inside a lab namespace only)");
  gen->add_option("--sap-interval", o->cfg.sap_interval_s, "Seconds between SAP announcements")
      ->type_name("SECONDS")
      ->capture_default_str();
  gen->add_option("--session-name", o->cfg.session_name,
                  "SDP session name (s=); '<NAME> <k+1>' per stream")
      ->type_name("NAME")
      ->capture_default_str();
  gen->add_flag("-q,--quiet", o->cfg.quiet, "No report line on stderr");

  auto* sample_rate_opt = gen->get_option("--sample-rate");
  auto* channels_opt = gen->get_option("--channels");
  auto* bits_opt = gen->get_option("--bits");
  gen->callback([o, payload, rate, secs, count, seq_start, payload_type, sample_rate_opt,
                 channels_opt, bits_opt, &exit_code] {
    GenConfig cfg = o->cfg;
    // README's exit codes: a bad value 2, what cannot be set up (namespace, socket) 3, a send or
    // a report that failed 1.
    const auto fail = [&](const std::string& msg, int code = kExitRuntime) {
      fmt::print(stderr, "rtcap gen: {}\n", msg);
      exit_code = code;
    };
    const auto bad = [&](const std::string& msg) { fail(msg, kExitUsage); };
    if (o->ptime.size() > 7 && o->ptime.ends_with("samples")) {
      const std::string n = o->ptime.substr(0, o->ptime.size() - 7);
      char* end = nullptr;
      const unsigned long v = std::strtoul(n.c_str(), &end, 10);
      if (n.empty() || *end != '\0' || v == 0 || v > 100'000)
        return bad(
            fmt::format("--ptime '{}': give 1..100000 samples, for example 48samples", o->ptime));
      cfg.ptime_samples = static_cast<std::uint32_t>(v);
    } else {
      auto ptime = parse_ptime(o->ptime);
      if (!ptime) return bad(ptime.error());
      cfg.ptime_ns = *ptime;
    }
    auto dst = parse_dst(o->dst);
    if (!dst) return bad(dst.error());
    cfg.dst_addr = dst->first;
    cfg.dst_port = dst->second;
    if (payload->count() > 0) cfg.raw_payload_bytes = o->payload;
    if (rate->count() > 0) cfg.rate_pps = o->rate;
    if (secs->count() > 0) cfg.secs = o->secs;
    if (count->count() > 0) cfg.count = o->count;
    if (seq_start->count() > 0) cfg.seq_start = static_cast<std::uint16_t>(o->seq_start);
    // A static payload type brings its RFC 3551 format; given explicitly, the options must agree.
    if (payload_type->count() > 0) {
      struct Static {
        int pt, rate, channels, bits;
      };
      for (const Static st : {Static{0, 8000, 1, 8}, Static{8, 8000, 1, 8},
                              Static{10, 44100, 2, 16}, Static{11, 44100, 1, 16}})
        if (cfg.payload_type == st.pt) {
          if (sample_rate_opt->count() == 0) cfg.sample_rate_hz = st.rate;
          if (channels_opt->count() == 0) cfg.channels = st.channels;
          if (bits_opt->count() == 0) cfg.bits = st.bits;
        }
    }

    if (auto ok = validate_config(cfg); !ok) return bad(ok.error());
    ReportFile json_file(cfg.json_path, "--json"), truth_file(cfg.truth_path, "--truth");
    for (ReportFile* f : {&json_file, &truth_file})
      if (auto ok = f->open(); !ok) return fail(ok.error());

    g_stop.store(false);
    struct sigaction sa {
    }, old_int{}, old_term{};
    sa.sa_handler = gen_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: sleeps and sends return EINTR and the loop sees the flag
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    auto rep = run_generator(cfg, &g_stop);
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    if (!rep) return fail(rep.error(), kExitSetup);  // the values passed: setting up failed

    exit_code = 0;
    // A generator whose packets did not go out must not look like one that worked. ENOBUFS is
    // the one failure that is back-pressure, not a broken path (the unpaced bench steps meet it):
    // counted and reported, not fatal unless nothing at all was sent.
    const std::uint64_t hard_errors = rep->send_errors - rep->enobufs + rep->sap_errors;
    const std::uint64_t to_send = rep->produced - rep->dropped;
    if (to_send > 0 && rep->sent == 0)
      fail(fmt::format(
          "sent nothing: all {} sends failed ({}); check that the lab is up and --netns/--dst are "
          "right",
          to_send, rep->first_send_error.empty() ? "no error reported" : rep->first_send_error));
    else if (hard_errors > 0)
      fail(fmt::format(
          "{} of {} packets could not be sent ({}); check that the lab is up and --netns/--dst are "
          "right",
          hard_errors, to_send + rep->sap_sent + rep->sap_errors, rep->first_send_error));
    if (exit_code != 0) return;  // the one line says it; the JSON report is not written
    if (!cfg.quiet) fmt::print(stderr, "{}\n", report_line(*rep));
    if (json_file.wanted())
      if (auto w = json_file.write(report_json(*rep, cfg)); !w) return fail(w.error());
    if (truth_file.wanted())
      if (auto w = truth_file.write(truth_jsonl(*rep)); !w) return fail(w.error());
  });
  return gen;
}

}  // namespace rtcap::tool
