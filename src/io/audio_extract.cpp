#include "io/audio_extract.hpp"

#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "analysis/packet_parser.hpp"
#include "analysis/rtp_stats.hpp"
#include "platform/file_output.hpp"

namespace rtcap::io {
namespace {

void put_le16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
}
void put_le32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// KSDATAFORMAT_SUBTYPE_PCM, 00000001-0000-0010-8000-00aa00389b71, as stored in the file.
constexpr std::uint8_t kPcmSubFormat[16] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                            0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
constexpr std::uint64_t kMaxRiffBytes = 0xFFFFFFFFull;  // RIFF sizes are 32-bit

// Largest timestamp jump filled with silence: 10 s. Beyond it the sender restarted or jumped,
// and ten seconds of silence would be a guess, not a measurement.
constexpr std::uint32_t kMaxGapSeconds = 10;

}  // namespace

std::string parse_pcm_format(const std::string& text, PcmFormat& out) {
  PcmFormat f;
  const auto bad = [&] {
    return fmt::format(
        "'{}' is not ENCODING/RATE[/CHANNELS] with L16 or L24, for example L24/48000/2", text);
  };
  const auto slash = text.find('/');
  if (slash == std::string::npos) return bad();
  const std::string enc = text.substr(0, slash);
  if (enc == "L16")
    f.bits = 16;
  else if (enc == "L24")
    f.bits = 24;
  else
    return bad();
  std::string rest = text.substr(slash + 1);
  const auto slash2 = rest.find('/');
  const std::string rate = rest.substr(0, slash2);
  const std::string ch = slash2 == std::string::npos ? "1" : rest.substr(slash2 + 1);
  char* end = nullptr;
  const unsigned long r = std::strtoul(rate.c_str(), &end, 10);
  if (rate.empty() || *end != '\0' || r < 1000 || r > 768000) return bad();
  const unsigned long c = std::strtoul(ch.c_str(), &end, 10);
  if (ch.empty() || *end != '\0' || c < 1 || c > 64) return bad();
  f.rate_hz = static_cast<std::uint32_t>(r);
  f.channels = static_cast<int>(c);
  out = f;
  return {};
}

// ---- WavWriter ----

WavWriter::~WavWriter() { (void)close(); }

std::string WavWriter::open(const std::string& path, const PcmFormat& format) {
  return open(platform::kWorkingDirectory, path, format);
}

std::string WavWriter::open(int dir_fd, const std::string& name, const PcmFormat& format) {
  name_ = name;
  format_ = format;
  auto fd = platform::open_output_nofollow(dir_fd, name, platform::OutputOpen::kTruncate);
  if (!fd) return fmt::format("{}; check the --extract-audio directory", fd.error().message);
  fd_ = *fd;
  const bool extensible = format.channels > 2;
  std::uint8_t h[68] = {};
  const std::size_t fmt_bytes = extensible ? 40 : 16;
  header_bytes_ = 12 + 8 + fmt_bytes + 8;
  std::memcpy(h, "RIFF", 4);
  std::memcpy(h + 8, "WAVE", 4);
  std::memcpy(h + 12, "fmt ", 4);
  put_le32(h + 16, static_cast<std::uint32_t>(fmt_bytes));
  put_le16(h + 20, extensible ? 0xFFFE : 1);  // WAVE_FORMAT_EXTENSIBLE / WAVE_FORMAT_PCM
  put_le16(h + 22, static_cast<std::uint32_t>(format.channels));
  put_le32(h + 24, format.rate_hz);
  put_le32(h + 28, static_cast<std::uint32_t>(format.rate_hz * format.frame_bytes()));
  put_le16(h + 32, static_cast<std::uint32_t>(format.frame_bytes()));
  put_le16(h + 34, static_cast<std::uint32_t>(format.bits));
  std::size_t off = 36;
  if (extensible) {
    put_le16(h + 36, 22);                                       // cbSize: the extension's bytes
    put_le16(h + 38, static_cast<std::uint32_t>(format.bits));  // valid bits per sample
    put_le32(h + 40, 0);  // dwChannelMask: no speaker positions
    std::memcpy(h + 44, kPcmSubFormat, 16);
    off = 60;
  }
  std::memcpy(h + off, "data", 4);
  put_le32(h + 4, static_cast<std::uint32_t>(header_bytes_ - 8));
  // Sizes say "empty" until close(); a reader of an unfinished file sees an empty data chunk.
  if (::write(fd_, h, header_bytes_) != static_cast<ssize_t>(header_bytes_)) {
    const int e = errno;
    struct stat st {};
    const bool regular = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    ::close(fd_);
    fd_ = -1;
    if (regular) (void)platform::remove_output(dir_fd, name);  // no WAV rather than a broken one
    return fmt::format("cannot write {}: {}; check free space", name,
                       std::strerror(e ? e : ENOSPC));
  }
  buffer_.resize(kBufferBytes);
  return {};
}

void WavWriter::fail(const char* what, int error) {
  if (error_.empty())
    error_ = fmt::format("cannot {} {}: {}", what, name_, std::strerror(error ? error : EIO));
}

bool WavWriter::room_for(std::uint64_t frames) noexcept {
  if (full_ || failed() || fd_ < 0) return false;
  if (header_bytes_ - 8 + (frames_ + frames) * format_.frame_bytes() > kMaxRiffBytes) {
    full_ = true;
    return false;
  }
  return true;
}

// Passes over pending silence, then writes the buffer. On failure, what the kernel took counts.
bool WavWriter::flush() noexcept {
  if (failed()) return false;
  if (buffered_ == 0) return true;
  while (hole_bytes_ > 0) {  // in steps a 32-bit off_t (Windows) can hold
    const std::uint64_t step = std::min<std::uint64_t>(hole_bytes_, 1u << 30);
    if (::lseek(fd_, static_cast<off_t>(step), SEEK_CUR) < 0) {
      fail("seek in", errno);
      return false;
    }
    written_bytes_ += step;
    hole_bytes_ -= step;
  }
  std::size_t done = 0;
  while (done < buffered_) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffered_ - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      written_bytes_ += static_cast<std::uint64_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      fail("write", n < 0 ? errno : ENOSPC);
      buffered_ = 0;
      return false;
    }
  }
  buffered_ = 0;
  return true;
}

bool WavWriter::write_big_endian(const std::uint8_t* data, std::size_t frames) {
  if (!room_for(frames)) return false;
  const std::size_t w = static_cast<std::size_t>(format_.bits / 8);
  const std::size_t fb = format_.frame_bytes();
  for (std::size_t left = frames * fb; left > 0;) {
    if (buffered_ == buffer_.size() && !flush()) return false;
    // Whole samples only in one go: a sample never straddles two flushes.
    const std::size_t room = (buffer_.size() - buffered_) / w * w;
    const std::size_t n = std::min(left, room);
    std::uint8_t* out = buffer_.data() + buffered_;
    for (std::size_t i = 0; i < n; i += w)
      for (std::size_t b = 0; b < w; ++b) out[i + b] = data[i + w - 1 - b];  // byte swap
    data += n;
    buffered_ += n;
    left -= n;
    if (buffered_ + w > buffer_.size() && !flush()) return false;
  }
  frames_ += frames;
  return true;
}

bool WavWriter::write_silence(std::uint64_t frames) {
  if (!room_for(frames) || !flush()) return false;
  hole_bytes_ += frames * format_.frame_bytes();
  frames_ += frames;
  return true;
}

std::string WavWriter::close() {
  if (fd_ < 0) return error_;
  (void)flush();
  // The header says what the file holds: everything, or (after a failed write) the whole frames
  // written before it. A hole at the end becomes part of the file by the size cut.
  const std::size_t fb = format_.frame_bytes();
  std::uint64_t data_bytes = failed() ? written_bytes_ / fb * fb : written_bytes_ + hole_bytes_;
  if (::ftruncate(fd_, static_cast<off_t>(header_bytes_ + data_bytes)) != 0) {
    fail("cut", errno);  // growing over a hole needs no block; this fails only on a broken file
    data_bytes = std::min<std::uint64_t>(data_bytes, written_bytes_ / fb * fb);
    (void)::ftruncate(fd_, static_cast<off_t>(header_bytes_ + data_bytes));
  }
  frames_ = data_bytes / fb;
  std::uint8_t b[4];
  put_le32(b, static_cast<std::uint32_t>(header_bytes_ - 8 + data_bytes));
  bool ok = ::lseek(fd_, 4, SEEK_SET) == 4 && ::write(fd_, b, 4) == 4;
  put_le32(b, static_cast<std::uint32_t>(data_bytes));
  ok = ok &&
       ::lseek(fd_, static_cast<off_t>(header_bytes_ - 4), SEEK_SET) ==
           static_cast<off_t>(header_bytes_ - 4) &&
       ::write(fd_, b, 4) == 4;
  if (!ok) fail("write the header of", errno);
  if (::close(fd_) != 0) fail("write", errno);
  fd_ = -1;
  if (!error_.empty() && error_.find("check free space") == std::string::npos)
    error_ += "; check free space";
  return error_;
}

// ---- AudioExtractor ----

struct AudioExtractor::Stream {
  // Identity.
  std::uint8_t family = 0;
  std::uint8_t src[16] = {};
  std::uint8_t dst[16] = {};
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t ssrc = 0;
  int payload_type = -1;
  ExtractedStream out;

  // Format and file.
  bool resolved = false;  // format known and file open
  bool given_up = false;  // skipped for good (not PCM, or the file could not be made)
  bool over_budget = false;
  std::uint64_t sdp_generation_seen = ~0ull;
  PcmFormat format;
  WavWriter wav;
  std::FILE* gaps = nullptr;
  std::int64_t first_seen_ns = 0;  // while waiting for a format: when the stream was first seen
  std::uint16_t first_seen_seq = 0;
  analysis::LevelMeter levels;  // of the received audio: loss filled with silence is not counted

  // Reorder window: slot i holds sequence number head_seq + k where (head_seq + k) % W == i.
  struct Slot {
    bool present = false;
    std::uint16_t seq = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t bytes = 0;
    std::int64_t arrival_ns = 0;
  };
  std::unique_ptr<Slot[]> slots;
  std::vector<std::uint8_t> data;  // W x slot_bytes
  std::size_t slot_bytes = 0;
  bool started = false;
  std::uint16_t head_seq = 0;        // the next sequence number to write
  std::uint32_t next_ts = 0;         // RTP timestamp where the written audio ends
  std::int64_t last_arrival_ns = 0;  // of the last packet written
  std::uint64_t missing_run = 0;     // sequence numbers passed over since the last written packet
  std::uint16_t missing_first = 0;

  std::uint8_t* slot_data(std::uint16_t seq) { return &data[(seq % kReorderWindow) * slot_bytes]; }
  // Room for a payload of `bytes`: the slots grow (and what they hold moves) when it is larger.
  void fit(std::size_t bytes) {
    if (bytes <= slot_bytes) return;
    const std::size_t grown = std::max(bytes, std::min(2 * slot_bytes, kMaxPayloadBytes));
    std::vector<std::uint8_t> d(kReorderWindow * grown);
    for (std::size_t i = 0; i < kReorderWindow; ++i)
      if (slots[i].present) std::memcpy(&d[i * grown], &data[i * slot_bytes], slots[i].bytes);
    data.swap(d);
    slot_bytes = grown;
  }
};

AudioExtractor::AudioExtractor(AudioExtractConfig config)
    : config_(std::move(config)), budget_left_(config_.max_bytes) {}

AudioExtractor::~AudioExtractor() {
  for (auto& s : streams_)
    if (s->gaps != nullptr) std::fclose(s->gaps);
  platform::close_output_directory(dir_fd_);
}

std::string AudioExtractor::check_output() {
  namespace fs = std::filesystem;
  if (dir_fd_ >= 0) return {};
  if (config_.dir.empty()) return "--extract-audio needs a directory";
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(config_.dir, ec))) {
    if (!fs::create_directory(config_.dir, ec))
      return fmt::format(
          "--extract-audio: cannot create directory '{}': {}; create it or choose another",
          config_.dir, ec.message());
  } else if (!fs::is_directory(config_.dir, ec)) {
    return fmt::format("--extract-audio: '{}' is not a directory", config_.dir);
  }
  auto dir = platform::open_output_directory(config_.dir);
  if (!dir) return fmt::format("--extract-audio: {}", dir.error().message);
  dir_fd_ = *dir;
  // Writable: the only sure test is to write (permissions, ACLs, read-only mounts, quotas). A
  // name of our own, created exclusively: never a file (or link) someone put there.
  const std::string probe = fmt::format(".rtcap-write-probe-{}", ::getpid());
  auto f = platform::open_output_nofollow(dir_fd_, probe, platform::OutputOpen::kExclusive);
  if (!f)
    return fmt::format("--extract-audio: directory '{}' is not writable: {}", config_.dir,
                       f.error().message);
  ::close(*f);
  (void)platform::remove_output(dir_fd_, probe);
  return {};
}

void AudioExtractor::add(const Batch& batch, const std::vector<int>& linktype_by_interface) {
  for (PacketView p : batch) {
    const int lt = p.interface_index < linktype_by_interface.size()
                       ? linktype_by_interface[p.interface_index]
                       : -1;
    add(p, lt);
  }
}

void AudioExtractor::on_sap(const std::uint8_t* data, std::size_t len) {
  SapMessage m;
  if (!parse_sap(data, len, m, nullptr) || m.sdp.empty() || m.deletion) return;
  // A deletion ends the session; a stream already being written keeps its format.
  for (SdpFormat& f : parse_sdp(m.sdp, "sap " + m.origin.to_string())) {
    bool known = false;
    for (const SdpFormat& k : config_.sdp)
      if (k.group == f.group && k.port == f.port && k.payload_type == f.payload_type &&
          k.encoding == f.encoding && k.clock_rate == f.clock_rate && k.channels == f.channels)
        known = true;
    if (known) continue;
    if (config_.sdp.size() >= 1024) return;  // bounded: a flood of announcements cannot grow it
    config_.sdp.push_back(std::move(f));
    ++sdp_generation_;
  }
}

void AudioExtractor::resolve(Stream& s) {
  if (s.resolved || s.given_up || s.sdp_generation_seen == sdp_generation_) return;
  s.sdp_generation_seen = sdp_generation_;
  IpAddress dst;
  dst.family = s.family;
  std::copy_n(s.dst, 16, dst.bytes.begin());
  std::string source;
  PcmFormat f;
  // 1. An SDP that describes this destination and payload type.
  for (const SdpFormat& sdp : config_.sdp) {
    if (!(sdp.group == dst && sdp.port == s.dst_port && sdp.payload_type == s.payload_type))
      continue;
    if (sdp.encoding != "L16" && sdp.encoding != "L24") {
      s.given_up = true;
      s.out.skipped =
          fmt::format("its SDP ('{}') says {}, not PCM L16/L24", sdp.session_name, sdp.encoding);
      return;
    }
    f.bits = sdp.encoding == "L16" ? 16 : 24;
    f.rate_hz = sdp.clock_rate;
    f.channels = sdp.channels;
    source = fmt::format("sdp '{}' ({})", sdp.session_name, sdp.origin);
    break;
  }
  // 2. RFC 3551 table 4: L16 at 44,100 Hz, stereo (10) and mono (11).
  if (source.empty() && (s.payload_type == 10 || s.payload_type == 11)) {
    f = PcmFormat{16, 44100, s.payload_type == 10 ? 2 : 1};
    source = "static (RFC 3551)";
  }
  // 3. --audio-format PT=...
  if (source.empty())
    if (auto it = config_.format_by_pt.find(s.payload_type); it != config_.format_by_pt.end()) {
      f = it->second;
      source = "option";
    }
  if (source.empty()) {
    s.out.skipped =
        s.payload_type >= 96
            ? fmt::format(
                  "payload type {} is dynamic and no SDP describes it: give --sdp FILE, "
                  "capture its SAP announcements, or --audio-format {}=L24/48000/2",
                  s.payload_type, s.payload_type)
            : fmt::format("payload type {} is not PCM L16/L24", s.payload_type);
    if (s.payload_type < 96) s.given_up = true;
    return;
  }
  if (f.rate_hz == 0 || f.channels < 1 || f.frame_bytes() == 0) {
    s.given_up = true;
    s.out.skipped = "its format has no rate or channels";
    return;
  }
  // File names from the stream's identity only: nothing from the network goes into a path.
  IpAddress src;
  src.family = s.family;
  std::copy_n(s.src, 16, src.bytes.begin());
  std::string base = fmt::format("{}_{}-{}_{}-{:08x}", src.to_string(), s.src_port, dst.to_string(),
                                 s.dst_port, s.ssrc);
  std::replace(base.begin(), base.end(), ':', '.');  // IPv6
  s.out.wav_path = config_.dir + "/" + base + ".wav";
  s.out.gaps_path = config_.dir + "/" + base + ".gaps.csv";
  if (std::string e = check_output(); !e.empty()) {
    s.given_up = true;
    s.out.skipped = e;
    s.out.wav_path.clear();
    return;
  }
  if (std::string e = s.wav.open(dir_fd_, base + ".wav", f); !e.empty()) {
    s.given_up = true;
    s.out.skipped = e;
    s.out.write_error = e;
    s.out.wav_path.clear();
    return;
  }
  if (auto fd = platform::open_output_nofollow(dir_fd_, base + ".gaps.csv",
                                               platform::OutputOpen::kTruncate);
      !fd) {
    s.out.write_error = fd.error().message;
  } else if ((s.gaps = ::fdopen(*fd, "w")) == nullptr) {
    ::close(*fd);
    s.out.write_error = fmt::format("cannot write {}: {}", s.out.gaps_path, std::strerror(errno));
  } else {
    std::fputs("start_sample,start_seconds,samples,duration_ms,first_lost_seq,lost_packets,cause\n",
               s.gaps);
  }
  s.format = f;
  s.levels.reset(f.rate_hz, f.channels, f.bits);
  s.out.format = f;
  s.out.format_source = source;
  s.out.skipped.clear();
  s.slots = std::make_unique<Stream::Slot[]>(kReorderWindow);
  s.slot_bytes = kInitialSlotBytes;
  s.data.assign(kReorderWindow * s.slot_bytes, 0);
  s.resolved = true;
}

AudioExtractor::Stream* AudioExtractor::find_or_create(
    const std::uint8_t*, std::size_t, const PacketView&, int family, const std::uint8_t* src,
    const std::uint8_t* dst, std::uint16_t src_port, std::uint16_t dst_port, std::uint32_t ssrc,
    int payload_type) {
  const std::size_t n = family == 4 ? 4 : 16;
  for (auto& s : streams_)
    if (s->ssrc == ssrc && s->dst_port == dst_port && s->src_port == src_port &&
        s->family == family && std::memcmp(s->src, src, n) == 0 && std::memcmp(s->dst, dst, n) == 0)
      return s.get();
  if (streams_.size() >= config_.max_streams) {
    ++streams_over_limit_;
    return nullptr;
  }
  auto s = std::make_unique<Stream>();
  s->family = static_cast<std::uint8_t>(family);
  std::memcpy(s->src, src, n);
  std::memcpy(s->dst, dst, n);
  s->src_port = src_port;
  s->dst_port = dst_port;
  s->ssrc = ssrc;
  s->payload_type = payload_type;
  IpAddress a, b;
  a.family = b.family = static_cast<std::uint8_t>(family);
  std::copy_n(src, n, a.bytes.begin());
  std::copy_n(dst, n, b.bytes.begin());
  s->out.description = fmt::format("{}:{} > {}:{} ssrc 0x{:08x} pt {}", a.to_string(), src_port,
                                   b.to_string(), dst_port, ssrc, payload_type);
  streams_.push_back(std::move(s));
  return streams_.back().get();
}

// Counts `bytes` against the budget of all files; false (and the stream stops) when they do not
// fit.
bool AudioExtractor::take_budget(Stream& s, std::uint64_t bytes) {
  if (!s.over_budget && bytes <= budget_left_) {
    budget_left_ -= bytes;
    return true;
  }
  s.over_budget = true;
  return false;
}

// Writes one in-order packet of `s`, after the silence its timestamp says is missing.
void AudioExtractor::write_packet(Stream& s, std::uint16_t seq, std::uint32_t ts,
                                  std::int64_t arrival_ns, const std::uint8_t* payload,
                                  std::size_t bytes) {
  const std::size_t fb = s.format.frame_bytes();
  const std::uint32_t rate_hz = s.format.rate_hz;
  if (bytes % fb != 0) {
    ++s.out.malformed;
    return;
  }
  const auto not_written = [&] {
    ++s.out.over_budget_packets;
    s.out.over_budget_bytes += bytes;
    s.out.riff_full = s.wav.full();
  };
  if (s.over_budget || s.wav.failed() || s.wav.full()) return not_written();
  if (s.out.packets > 0 && ts != s.next_ts) {
    const auto gap = static_cast<std::int32_t>(ts - s.next_ts);
    // No more silence than the arrival clock allows (a timestamp is as easy to forge as a
    // sequence number) nor than 10 s: beyond, the sender restarted or lies. 64-bit throughout.
    const std::uint64_t allowed =
        std::min(analysis::packet_times_elapsed(arrival_ns - s.last_arrival_ns, rate_hz, 1),
                 std::uint64_t{kMaxGapSeconds} * rate_hz);
    if (gap > 0 && static_cast<std::uint64_t>(gap) <= allowed) {
      const auto frames = static_cast<std::uint64_t>(gap);
      const std::uint64_t at = s.wav.frames();
      if (!take_budget(s, frames * fb) || !s.wav.write_silence(frames)) return not_written();
      ++s.out.gaps;
      s.out.silence_frames += frames;
      if (s.gaps != nullptr)
        std::fprintf(s.gaps, "%llu,%.6f,%d,%.3f,%u,%llu,lost\n",
                     static_cast<unsigned long long>(at), static_cast<double>(at) / rate_hz, gap,
                     1e3 * gap / rate_hz,
                     static_cast<unsigned>(s.missing_run > 0 ? s.missing_first : seq),
                     static_cast<unsigned long long>(s.missing_run));
    } else {
      ++s.out.discontinuities;  // backwards, or a jump too long to be a gap
      if (gap > 0) s.out.unfilled_frames += static_cast<std::uint64_t>(gap);
    }
  }
  if (!take_budget(s, bytes) || !s.wav.write_big_endian(payload, bytes / fb)) return not_written();
  s.levels.add_big_endian(payload, bytes / fb);
  ++s.out.packets;
  s.missing_run = 0;
  s.next_ts = ts + static_cast<std::uint32_t>(bytes / fb);
  s.last_arrival_ns = arrival_ns;
}

void AudioExtractor::write_head(Stream& s) {
  auto& slot = s.slots[s.head_seq % kReorderWindow];
  if (slot.present && slot.seq == s.head_seq) {
    write_packet(s, slot.seq, slot.timestamp, slot.arrival_ns, s.slot_data(s.head_seq), slot.bytes);
    slot.present = false;
  } else {
    if (s.missing_run == 0) s.missing_first = s.head_seq;
    ++s.missing_run;
    ++s.out.lost_packets;
  }
  ++s.head_seq;
}

void AudioExtractor::add(const PacketView& packet, int linktype) {
  const analysis::ParsedPacket pp =
      analysis::parse_packet(packet.bytes.data(), packet.bytes.size(), packet.wire_len, linktype);
  if (pp.cls != analysis::ParseClass::kUdp || !pp.payload_complete) return;
  if (pp.dst_port == kSapPort) {
    on_sap(pp.payload, pp.payload_len);
    return;
  }
  // RTP fixed header (RFC 3550 5.1), CSRCs, extension, padding.
  const std::uint8_t* p = pp.payload;
  const std::size_t n = pp.payload_len;
  if (n < 12 || (p[0] >> 6) != 2) return;
  std::size_t off = 12 + 4 * std::size_t{p[0] & 0x0Fu};
  if (off > n) return;
  if ((p[0] & 0x10) != 0) {
    if (off + 4 > n) return;
    off += 4 + 4 * std::size_t{analysis::load_be16(p + off + 2)};
    if (off > n) return;
  }
  std::size_t end = n;
  if ((p[0] & 0x20) != 0) {
    const std::size_t pad = p[n - 1];
    if (pad == 0 || off + pad > n) return;
    end -= pad;
  }
  const int pt = p[1] & 0x7F;
  if (pt >= 72 && pt <= 76) return;  // RTCP on the same port (RFC 5761 section 4)
  const std::uint16_t seq = analysis::load_be16(p + 2);
  const std::uint32_t ts = analysis::load_be32(p + 4);
  const std::uint32_t ssrc = analysis::load_be32(p + 8);
  Stream* s = find_or_create(nullptr, 0, packet, pp.family, pp.src, pp.dst, pp.src_port,
                             pp.dst_port, ssrc, pt);
  if (s == nullptr) return;
  if (!s->resolved) {
    if (s->out.before_format_packets == 0) {
      s->first_seen_ns = packet.ts_ns;
      s->first_seen_seq = seq;
    }
    resolve(*s);
    if (!s->resolved) {
      ++s->out.before_format_packets;
      return;
    }
    if (s->out.before_format_packets > 0) {
      // The format came late (an SDP announced after the stream started): the file starts here.
      s->out.before_format_ns = packet.ts_ns - s->first_seen_ns;
      if (s->gaps != nullptr)
        std::fprintf(s->gaps, "0,0.000000,0,%.3f,%u,%llu,before_format\n",
                     static_cast<double>(s->out.before_format_ns) / 1e6,
                     static_cast<unsigned>(s->first_seen_seq),
                     static_cast<unsigned long long>(s->out.before_format_packets));
    }
  }
  add_rtp(*s, seq, ts, packet.ts_ns, p + off, end - off);
}

void AudioExtractor::add_rtp(Stream& s, std::uint16_t seq, std::uint32_t ts,
                             std::int64_t arrival_ns, const std::uint8_t* payload,
                             std::size_t bytes) {
  if (bytes > kMaxPayloadBytes) {
    ++s.out.malformed;
    return;
  }
  if (!s.started) {
    s.started = true;
    s.head_seq = seq;
    s.next_ts = ts;
    s.last_arrival_ns = arrival_ns;
  }
  auto d = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - s.head_seq));
  if (d < 0) {  // its place is written already (or it came twice)
    ++s.out.late_or_duplicate;
    return;
  }
  constexpr auto kW = static_cast<std::int16_t>(kReorderWindow);
  // Out of the window ahead: write (or declare lost) from the head until it fits. A jump far
  // beyond the window skips the empty middle in one step.
  while (d >= kW) {
    bool any = false;
    for (std::size_t i = 0; i < kReorderWindow; ++i) any = any || s.slots[i].present;
    if (!any) {
      const auto skip = static_cast<std::uint16_t>(d - kW + 1);
      if (s.missing_run == 0) s.missing_first = s.head_seq;
      s.missing_run += skip;
      s.out.lost_packets += skip;
      s.head_seq = static_cast<std::uint16_t>(s.head_seq + skip);
      d = static_cast<std::int16_t>(d - skip);
      break;
    }
    write_head(s);
    --d;
  }
  auto& slot = s.slots[seq % kReorderWindow];
  if (slot.present && slot.seq == seq) {
    ++s.out.late_or_duplicate;
    return;
  }
  s.fit(bytes);
  slot.present = true;
  slot.seq = seq;
  slot.timestamp = ts;
  slot.bytes = static_cast<std::uint32_t>(bytes);
  slot.arrival_ns = arrival_ns;
  if (bytes > 0) std::memcpy(s.slot_data(seq), payload, bytes);
  // Everything contiguous from the head goes out now.
  while (s.slots[s.head_seq % kReorderWindow].present &&
         s.slots[s.head_seq % kReorderWindow].seq == s.head_seq)
    write_head(s);
}

void AudioExtractor::add_levels(std::vector<StreamSummary>& streams) const {
  for (StreamSummary& summary : streams) {
    if (!summary.is_rtp) continue;
    const std::size_t n = summary.src.family == 4 ? 4 : 16;
    for (const auto& s : streams_) {
      if (!s->resolved || s->ssrc != summary.ssrc || s->src_port != summary.src_port ||
          s->dst_port != summary.dst_port || s->family != summary.src.family ||
          std::memcmp(s->src, summary.src.bytes.data(), n) != 0 ||
          std::memcmp(s->dst, summary.dst.bytes.data(), n) != 0)
        continue;
      summary.levels.clear();
      for (int c = 0; c < s->levels.channels(); ++c) summary.levels.push_back(s->levels.levels(c));
      break;
    }
  }
}

std::vector<ExtractedStream> AudioExtractor::finish() {
  std::vector<ExtractedStream> out;
  for (auto& sp : streams_) {
    Stream& s = *sp;
    if (s.resolved) {
      // Whatever is still in the window, in order; sequence numbers never seen before the last
      // held packet are lost; after it nothing can be known.
      for (std::size_t k = 0; k < kReorderWindow; ++k) {
        bool any = false;
        for (std::size_t i = 0; i < kReorderWindow; ++i) any = any || s.slots[i].present;
        if (!any) break;
        write_head(s);
      }
      if (std::string e = s.wav.close(); !e.empty() && s.out.write_error.empty())
        s.out.write_error = e;
      s.out.frames = s.wav.frames();
      if (s.gaps != nullptr) {
        const bool bad = std::ferror(s.gaps) != 0;
        const int e = errno;
        if ((std::fclose(s.gaps) != 0 || bad) && s.out.write_error.empty())
          s.out.write_error = fmt::format("cannot write {}: {}; check free space", s.out.gaps_path,
                                          std::strerror(e ? e : EIO));
        s.gaps = nullptr;
      }
    }
    out.push_back(s.out);
  }
  if (streams_over_limit_ > 0) {
    ExtractedStream e;
    e.description = fmt::format("{} packets of streams beyond the first {}", streams_over_limit_,
                                config_.max_streams);
    e.skipped = "too many streams";
    out.push_back(e);
  }
  return out;
}

std::string format_extract_report(const std::vector<ExtractedStream>& streams) {
  std::string out;
  std::uint64_t over_budget_bytes = 0;
  for (const auto& s : streams) {
    if (s.write_error.empty() && !s.riff_full) over_budget_bytes += s.over_budget_bytes;
    if (!s.wav_path.empty() && s.skipped.empty()) {
      std::string notes;
      if (s.before_format_packets > 0)
        notes += fmt::format(
            ", starts mid-stream: its format came {:.3f} s and {} packets after the stream "
            "started",
            static_cast<double>(s.before_format_ns) / 1e9, s.before_format_packets);
      if (s.late_or_duplicate)
        notes += fmt::format(", {} late or duplicate packets dropped", s.late_or_duplicate);
      if (s.discontinuities)
        notes += fmt::format(", {} timestamp jumps not filled ({} samples claimed)",
                             s.discontinuities, s.unfilled_frames);
      if (s.malformed)
        notes += fmt::format(
            ", {} packets not used (payload not a whole number of {}-byte frames, or over "
            "{} bytes)",
            s.malformed, s.format.frame_bytes(), AudioExtractor::kMaxPayloadBytes);
      if (s.over_budget_packets)
        notes += fmt::format(", {} packets ({} bytes) not written: {}", s.over_budget_packets,
                             s.over_budget_bytes,
                             !s.write_error.empty() ? "the file failed"
                             : s.riff_full          ? "the WAV reached the 4 GiB RIFF limit"
                                           : "the --extract-audio-max-bytes budget ran out");
      if (!s.write_error.empty()) notes += fmt::format("; INCOMPLETE: {}", s.write_error);
      out += fmt::format(
          "rtcap: audio {}: {} (L{} {} Hz {} ch from {}), {} packets, {} samples, {} gap{} ({} "
          "samples of silence, {} packets lost){}\n",
          s.description, s.wav_path, s.format.bits, s.format.rate_hz, s.format.channels,
          s.format_source, s.packets, s.frames, s.gaps, s.gaps == 1 ? "" : "s", s.silence_frames,
          s.lost_packets, notes);
    } else {
      out += fmt::format("rtcap: audio {}: not extracted: {}\n", s.description, s.skipped);
    }
  }
  if (over_budget_bytes > 0)
    out += fmt::format(
        "rtcap: audio: {} bytes not written: the files reached --extract-audio-max-bytes\n",
        over_budget_bytes);
  return out;
}

bool extract_failed(const std::vector<ExtractedStream>& streams) {
  return std::any_of(streams.begin(), streams.end(),
                     [](const ExtractedStream& s) { return !s.write_error.empty(); });
}

}  // namespace rtcap::io
