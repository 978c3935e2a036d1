#include "bench/pcap_pipe_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/core.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "analysis/packet_parser.hpp"
#include "common/process.hpp"
#include "wire/wire.hpp"

namespace rtcap::tool {
namespace {

constexpr std::size_t kFileHeaderBytes = 24;
constexpr std::size_t kRecordHeaderBytes = 16;
constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;
constexpr std::uint32_t kPcapngMagic = 0x0a0d0d0a;
// Largest record we accept whatever the header's snaplen says (libpcap's MAXIMUM_SNAPLEN).
constexpr std::uint32_t kMaxRecordBytes = 262144;
// One read() takes up to this much: a whole pipe's worth (bench sets 1 MiB pipes), so a reader
// that fell behind catches up in one call.
constexpr std::size_t kReadBytes = 1 << 20;

std::uint32_t load32(const std::uint8_t* p, bool swapped) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped ? __builtin_bswap32(v) : v;
}

}  // namespace

std::uint64_t PipeReaderResult::unique() const noexcept {
  std::uint64_t n = 0;
  for (const auto& s : streams) n += s.unique;
  return n;
}
std::uint64_t PipeReaderResult::duplicates() const noexcept {
  std::uint64_t n = 0;
  for (const auto& s : streams) n += s.duplicates;
  return n;
}
std::uint64_t PipeReaderResult::missing_inside() const noexcept {
  std::uint64_t n = 0;
  for (const auto& s : streams) n += s.missing_inside();
  return n;
}

PcapStreamParser::PcapStreamParser(PipeReaderOptions options) : options_(options) {}

bool PcapStreamParser::feed(const std::uint8_t* data, std::size_t n, std::int64_t now_ns) {
  if (!result_.error.empty()) return false;
  ++result_.read_calls;
  if (result_.first_read_ns == 0) result_.first_read_ns = now_ns;
  result_.last_read_ns = now_ns;
  if (pending_.empty()) {
    const std::size_t used = parse(data, n, now_ns);
    if (!result_.error.empty()) return false;
    pending_.assign(data + used, data + n);
  } else {
    pending_.insert(pending_.end(), data, data + n);
    const std::size_t used = parse(pending_.data(), pending_.size(), now_ns);
    if (!result_.error.empty()) return false;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
  }
  return true;
}

void PcapStreamParser::finish() {
  result_.trailing_bytes = pending_.size();
  if (!result_.header_seen && result_.error.empty())
    result_.error = result_.bytes == 0 && pending_.empty()
                        ? "no data: the capture wrote nothing to the pipe"
                        : "end of data inside the pcap file header";
}

std::size_t PcapStreamParser::parse(const std::uint8_t* data, std::size_t n, std::int64_t now_ns) {
  std::size_t off = 0;
  if (!result_.header_seen) {
    if (n < kFileHeaderBytes) return 0;
    std::uint32_t magic;
    std::memcpy(&magic, data, 4);
    if (magic == kMagicMicro || magic == kMagicNano) {
      result_.swapped = false;
    } else if (__builtin_bswap32(magic) == kMagicMicro || __builtin_bswap32(magic) == kMagicNano) {
      result_.swapped = true;
      magic = __builtin_bswap32(magic);
    } else if (magic == kPcapngMagic) {
      result_.error = "the stream is pcapng; the bench reader takes pcap (drop --pcapng)";
      return 0;
    } else {
      result_.error = fmt::format("not a pcap stream (magic 0x{:08x})", magic);
      return 0;
    }
    result_.nanosecond = magic == kMagicNano;
    result_.snaplen = load32(data + 16, result_.swapped);
    result_.linktype = load32(data + 20, result_.swapped) & 0x0fffffff;  // upper bits: FCS info
    result_.header_seen = true;
    off = kFileHeaderBytes;
    result_.bytes += kFileHeaderBytes;
  }
  const std::uint32_t max_caplen = std::max(result_.snaplen, kMaxRecordBytes);
  const std::int64_t frac_scale = result_.nanosecond ? 1 : 1000;
  while (n - off >= kRecordHeaderBytes) {
    const std::uint8_t* h = data + off;
    const std::uint32_t sec = load32(h, result_.swapped);
    const std::uint32_t frac = load32(h + 4, result_.swapped);
    const std::uint32_t caplen = load32(h + 8, result_.swapped);
    if (caplen > max_caplen) {
      result_.error = fmt::format("corrupt pcap stream: record {} claims {} bytes (snaplen {})",
                                  result_.records + 1, caplen, result_.snaplen);
      return off;
    }
    if (n - off - kRecordHeaderBytes < caplen) break;
    const std::int64_t ts_ns = static_cast<std::int64_t>(sec) * 1'000'000'000 +
                               static_cast<std::int64_t>(frac) * frac_scale;
    record(h + kRecordHeaderBytes, caplen, load32(h + 12, result_.swapped), ts_ns, now_ns);
    off += kRecordHeaderBytes + caplen;
    result_.bytes += kRecordHeaderBytes + caplen;
  }
  return off;
}

ReaderStream& PcapStreamParser::stream(std::uint16_t dst_port, std::uint32_t ssrc) {
  const std::uint64_t key = (std::uint64_t{dst_port} << 32) | ssrc;
  if (key == last_key_) return result_.streams[last_stream_];
  auto [it, inserted] = stream_index_.try_emplace(key, result_.streams.size());
  if (inserted) {
    ReaderStream s;
    s.dst_port = dst_port;
    s.ssrc = ssrc;
    result_.streams.push_back(std::move(s));
  }
  last_key_ = key;
  last_stream_ = it->second;
  return result_.streams[it->second];
}

void PcapStreamParser::record(const std::uint8_t* p, std::uint32_t caplen, std::uint32_t wire_len,
                              std::int64_t ts_ns, std::int64_t now_ns) {
  ++result_.records;
  if (result_.records == 1) result_.first_record_ts_ns = ts_ns;
  result_.last_record_ts_ns = ts_ns;

  // Latency of every record, ours or not: it is the capture's delivery delay.
  std::int64_t latency = now_ns - ts_ns;
  if (latency < 0) {
    ++result_.negative_latency;
    latency = 0;
  }
  result_.latency_ns.record(static_cast<std::uint64_t>(latency));

  // Link layer, VLAN tags (802.1Q, 802.1ad, 0x9100), IPv4/IPv6 with extension headers, UDP:
  // the stream tracker's parser (src/analysis/packet_parser.hpp).
  const analysis::ParsedPacket parsed =
      analysis::parse_packet(p, caplen, wire_len, static_cast<int>(result_.linktype));
  if (parsed.cls != analysis::ParseClass::kUdp) {
    ++result_.not_ours;
    return;
  }
  const std::uint16_t dst_port = parsed.dst_port;
  const std::size_t payload_len = parsed.payload_len;
  const std::uint8_t* payload = parsed.payload;

  std::uint64_t index = 0;
  std::uint32_t ssrc = 0;
  if (options_.rtp) {
    const auto d = rtp::decode(payload, payload_len);
    if (!d || !d->index) {
      ++result_.not_ours;
      return;
    }
    index = *d->index;
    ssrc = d->ssrc;
  } else {
    if (payload_len == 0) {
      ++result_.not_ours;
      return;
    }
    index = rtp::get_index(payload, payload_len);
  }
  ++result_.ours;
  ReaderStream& s = stream(dst_port, ssrc);
  ++s.packets;
  if (index >= options_.max_index) {
    ++result_.index_out_of_range;
    return;
  }
  const std::size_t word = static_cast<std::size_t>(index / 64);
  if (word >= s.seen.size()) s.seen.resize(std::max(word + 1, s.seen.size() * 2), 0);
  const std::uint64_t bit = std::uint64_t{1} << (index % 64);
  if (s.seen[word] & bit) {
    ++s.duplicates;
    return;
  }
  s.seen[word] |= bit;
  if (s.unique > 0 && index < s.highest_index) ++s.out_of_order;
  if (s.unique == 0 || index > s.highest_index) s.highest_index = index;
  ++s.unique;
}

PipeReaderResult read_pcap_stream(int fd, const PipeReaderOptions& options, int pipe_bytes) {
  struct stat st {};
  if (pipe_bytes > 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
    fcntl(fd, F_SETPIPE_SZ, pipe_bytes);
  PcapStreamParser parser(options);
  auto buf = std::make_unique<std::uint8_t[]>(kReadBytes);
  for (;;) {
    const ssize_t got = read(fd, buf.get(), kReadBytes);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      PipeReaderResult r = parser.take_result();
      r.error = fmt::format("read error: {}", std::strerror(errno));
      return r;
    }
    if (got == 0) break;
    // The time the bytes became ours: one clock read per read() (every record in this chunk
    // reached the reader at this moment; reading the clock per record would only add the
    // parse time of the records before it).
    if (!parser.feed(buf.get(), static_cast<std::size_t>(got), realtime_ns())) {
      // Fatal format error: keep draining so the writer does not block or see EPIPE mid-run.
      while (read(fd, buf.get(), kReadBytes) > 0) {
      }
      break;
    }
  }
  parser.finish();
  return parser.take_result();
}

std::string reader_result_json(const PipeReaderResult& r) {
  const HistogramData& h = r.latency_ns;
  nlohmann::json hist = nlohmann::json::array();
  for (std::size_t i = 0; i < h.buckets.size(); ++i)
    if (h.buckets[i]) hist.push_back({i, h.buckets[i]});
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& s : r.streams)
    streams.push_back({{"dst_port", s.dst_port},
                       {"ssrc", s.ssrc},
                       {"packets", s.packets},
                       {"unique", s.unique},
                       {"duplicates", s.duplicates},
                       {"out_of_order", s.out_of_order},
                       {"highest_index", s.highest_index},
                       {"missing_inside", s.missing_inside()}});
  nlohmann::json j{{"ok", r.error.empty()},
                   {"error", r.error},
                   {"timestamp_precision", r.nanosecond ? "nano" : "micro"},
                   {"byte_swapped", r.swapped},
                   {"linktype", r.linktype},
                   {"snaplen", r.snaplen},
                   {"records", r.records},
                   {"bytes", r.bytes},
                   {"ours", r.ours},
                   {"not_ours", r.not_ours},
                   {"unique", r.unique()},
                   {"duplicates", r.duplicates()},
                   {"missing_inside", r.missing_inside()},
                   {"index_out_of_range", r.index_out_of_range},
                   {"negative_latency", r.negative_latency},
                   {"read_calls", r.read_calls},
                   {"trailing_bytes", r.trailing_bytes},
                   {"first_record_ts_ns", r.first_record_ts_ns},
                   {"last_record_ts_ns", r.last_record_ts_ns},
                   {"first_read_ns", r.first_read_ns},
                   {"last_read_ns", r.last_read_ns},
                   {"latency_ns",
                    {{"count", h.count},
                     {"min", h.min},
                     {"mean", h.mean()},
                     {"p50", h.percentile(0.5)},
                     {"p90", h.percentile(0.9)},
                     {"p99", h.percentile(0.99)},
                     {"p999", h.percentile(0.999)},
                     {"p9999", h.percentile(0.9999)},
                     {"max", h.max}}},
                   {"latency_histogram", std::move(hist)},
                   {"streams", std::move(streams)}};
  return j.dump() + "\n";
}

CLI::App* add_bench_reader_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "bench-reader",
      "Read a pcap stream on stdin, measure delivery latency and check packet indexes "
      "(used by rtcap bench)");
  cmd->group("");  // hidden: an internal tool of `rtcap bench`
  struct Opts {
    bool rtp = false;
    std::string json_path;
    int pipe_bytes = 1 << 20;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_flag("--rtp", o->rtp, "Payload is rtcap gen RTP (default: raw UDP, index first)");
  cmd->add_option("--json", o->json_path, "Write the result to FILE (default: stdout)")
      ->type_name("FILE");
  cmd->add_option("--pipe-bytes", o->pipe_bytes, "Pipe buffer size to ask for when stdin is a pipe")
      ->capture_default_str();
  cmd->callback([o, &exit_code] {
    PipeReaderOptions opts;
    opts.rtp = o->rtp;
    const PipeReaderResult r = read_pcap_stream(STDIN_FILENO, opts, o->pipe_bytes);
    const std::string text = reader_result_json(r);
    if (o->json_path.empty()) {
      fmt::print("{}", text);
    } else {
      std::ofstream f(o->json_path, std::ios::trunc);
      f << text;
      if (!f) {
        fmt::print(stderr, "rtcap bench-reader: cannot write {}\n", o->json_path);
        exit_code = 1;
        return;
      }
    }
    if (!r.error.empty()) fmt::print(stderr, "rtcap bench-reader: {}\n", r.error);
    exit_code = r.error.empty() ? 0 : 1;
  });
  return cmd;
}

}  // namespace rtcap::tool
