#include "io/audio_extract.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "analysis/packet_parser.hpp"

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
  path_ = path;
  format_ = format;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr)
    return fmt::format("cannot create {}: {}; check the --extract-audio directory", path,
                       std::strerror(errno));
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
  // Sizes stay 0 until close(); a reader of an unfinished file sees an empty data chunk.
  if (std::fwrite(h, 1, header_bytes_, file_) != header_bytes_) {
    failed_ = true;
    return fmt::format("cannot write {}: {}", path, std::strerror(errno));
  }
  scratch_.resize(format.frame_bytes() * 1024);
  return {};
}

bool WavWriter::room_for(std::uint64_t frames) noexcept {
  if (full_) return false;
  if (header_bytes_ - 8 + (frames_ + frames) * format_.frame_bytes() > kMaxRiffBytes) {
    full_ = true;
    return false;
  }
  return true;
}

void WavWriter::write_big_endian(const std::uint8_t* data, std::size_t frames) {
  if (file_ == nullptr || failed_ || !room_for(frames)) return;
  const std::size_t bytes = frames * format_.frame_bytes();
  if (scratch_.size() < bytes) scratch_.resize(bytes);
  const std::size_t w = static_cast<std::size_t>(format_.bits / 8);
  for (std::size_t i = 0; i < bytes; i += w)
    for (std::size_t b = 0; b < w; ++b)
      scratch_[i + b] = data[i + w - 1 - b];  // byte swap per sample
  if (std::fwrite(scratch_.data(), 1, bytes, file_) != bytes) failed_ = true;
  frames_ += frames;
}

void WavWriter::write_silence(std::uint64_t frames) {
  if (file_ == nullptr || failed_ || !room_for(frames)) return;
  const std::size_t chunk = scratch_.size() / format_.frame_bytes();
  std::fill(scratch_.begin(), scratch_.end(), 0);
  for (std::uint64_t left = frames; left > 0;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk));
    if (std::fwrite(scratch_.data(), 1, n * format_.frame_bytes(), file_) !=
        n * format_.frame_bytes()) {
      failed_ = true;
      return;
    }
    left -= n;
  }
  frames_ += frames;
}

std::string WavWriter::close() {
  if (file_ == nullptr) return {};
  std::string err;
  const std::uint64_t data_bytes = frames_ * format_.frame_bytes();
  std::uint8_t b[4];
  bool ok = !failed_;
  put_le32(b, static_cast<std::uint32_t>(header_bytes_ - 8 + data_bytes));
  ok = ok && std::fseek(file_, 4, SEEK_SET) == 0 && std::fwrite(b, 1, 4, file_) == 4;
  put_le32(b, static_cast<std::uint32_t>(data_bytes));
  ok = ok && std::fseek(file_, static_cast<long>(header_bytes_ - 4), SEEK_SET) == 0 &&
       std::fwrite(b, 1, 4, file_) == 4;
  if (std::fclose(file_) != 0) ok = false;
  file_ = nullptr;
  if (!ok) err = fmt::format("cannot write {}: {}; check free space", path_, std::strerror(errno));
  return err;
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
  std::uint64_t sdp_generation_seen = ~0ull;
  PcmFormat format;
  WavWriter wav;
  std::FILE* gaps = nullptr;
  analysis::LevelMeter levels;  // of the received audio: loss filled with silence is not counted

  // Reorder window: slot i holds sequence number head_seq + k where (head_seq + k) % W == i.
  struct Slot {
    bool present = false;
    std::uint16_t seq = 0;
    std::uint32_t timestamp = 0;
    std::uint16_t bytes = 0;
  };
  std::unique_ptr<Slot[]> slots;
  std::unique_ptr<std::uint8_t[]> data;  // W x kMaxPayloadBytes
  bool started = false;
  std::uint16_t head_seq = 0;     // the next sequence number to write
  std::uint32_t next_ts = 0;      // RTP timestamp where the written audio ends
  std::uint64_t missing_run = 0;  // sequence numbers passed over since the last written packet
  std::uint16_t missing_first = 0;
};

AudioExtractor::AudioExtractor(AudioExtractConfig config) : config_(std::move(config)) {}

AudioExtractor::~AudioExtractor() {
  for (auto& s : streams_)
    if (s->gaps != nullptr) std::fclose(s->gaps);
}

std::string AudioExtractor::check_output() const {
  namespace fs = std::filesystem;
  if (config_.dir.empty()) return "--extract-audio needs a directory";
  std::error_code ec;
  if (!fs::exists(config_.dir, ec)) {
    if (!fs::create_directory(config_.dir, ec))
      return fmt::format(
          "--extract-audio: cannot create directory '{}': {}; create it or choose another",
          config_.dir, ec.message());
  } else if (!fs::is_directory(config_.dir, ec)) {
    return fmt::format("--extract-audio: '{}' is not a directory", config_.dir);
  }
  // Writable: the only sure test is to write (permissions, ACLs, read-only mounts, quotas).
  const std::string probe = config_.dir + "/.rtcap-write-probe";
  std::FILE* f = std::fopen(probe.c_str(), "wb");
  if (f == nullptr)
    return fmt::format("--extract-audio: directory '{}' is not writable: {}", config_.dir,
                       std::strerror(errno));
  std::fclose(f);
  fs::remove(probe, ec);
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
  if (std::string e = s.wav.open(s.out.wav_path, f); !e.empty()) {
    s.given_up = true;
    s.out.skipped = e;
    s.out.wav_path.clear();
    return;
  }
  s.gaps = std::fopen(s.out.gaps_path.c_str(), "w");
  if (s.gaps != nullptr)
    std::fputs("start_sample,start_seconds,samples,duration_ms,first_lost_seq,lost_packets\n",
               s.gaps);
  s.format = f;
  s.levels.reset(f.rate_hz, f.channels, f.bits);
  s.out.format = f;
  s.out.format_source = source;
  s.out.skipped.clear();
  s.slots = std::make_unique<Stream::Slot[]>(kReorderWindow);
  s.data = std::make_unique<std::uint8_t[]>(kReorderWindow * kMaxPayloadBytes);
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

namespace {

// Writes one in-order packet of `s`, after the silence its timestamp says is missing.
template <class S>
void write_packet(S& s, std::uint16_t seq, std::uint32_t ts, const std::uint8_t* payload,
                  std::size_t bytes, std::uint32_t rate_hz) {
  const std::size_t fb = s.format.frame_bytes();
  if (bytes % fb != 0) {
    ++s.out.malformed;
    return;
  }
  if (s.out.packets > 0 && ts != s.next_ts) {
    const auto gap = static_cast<std::int32_t>(ts - s.next_ts);
    if (gap > 0 && static_cast<std::uint32_t>(gap) <= kMaxGapSeconds * rate_hz) {
      const std::uint64_t at = s.wav.frames();
      s.wav.write_silence(static_cast<std::uint64_t>(gap));
      ++s.out.gaps;
      s.out.silence_frames += static_cast<std::uint64_t>(gap);
      if (s.gaps != nullptr)
        std::fprintf(s.gaps, "%llu,%.6f,%d,%.3f,%u,%llu\n", static_cast<unsigned long long>(at),
                     static_cast<double>(at) / rate_hz, gap, 1e3 * gap / rate_hz,
                     static_cast<unsigned>(s.missing_run > 0 ? s.missing_first : seq),
                     static_cast<unsigned long long>(s.missing_run));
    } else {
      ++s.out.discontinuities;  // backwards, or a jump too long to be a gap
    }
  }
  s.wav.write_big_endian(payload, bytes / fb);
  s.levels.add_big_endian(payload, bytes / fb);
  ++s.out.packets;
  s.missing_run = 0;
  s.next_ts = ts + static_cast<std::uint32_t>(bytes / fb);
}

template <class S>
void write_head(S& s, std::size_t window, std::size_t max_payload) {
  auto& slot = s.slots[s.head_seq % window];
  if (slot.present && slot.seq == s.head_seq) {
    write_packet(s, slot.seq, slot.timestamp, &s.data[(s.head_seq % window) * max_payload],
                 slot.bytes, s.format.rate_hz);
    slot.present = false;
  } else {
    if (s.missing_run == 0) s.missing_first = s.head_seq;
    ++s.missing_run;
    ++s.out.lost_packets;
  }
  ++s.head_seq;
}

}  // namespace

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
    resolve(*s);
    if (!s->resolved) return;
  }
  const std::size_t bytes = end - off;
  if (bytes > kMaxPayloadBytes) {
    ++s->out.malformed;
    return;
  }
  if (!s->started) {
    s->started = true;
    s->head_seq = seq;
    s->next_ts = ts;
  }
  auto d = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - s->head_seq));
  if (d < 0) {  // its place is written already (or it came twice)
    ++s->out.late_or_duplicate;
    return;
  }
  constexpr auto kW = static_cast<std::int16_t>(kReorderWindow);
  // Out of the window ahead: write (or declare lost) from the head until it fits. A jump far
  // beyond the window skips the empty middle in one step.
  while (d >= kW) {
    bool any = false;
    for (std::size_t i = 0; i < kReorderWindow; ++i) any = any || s->slots[i].present;
    if (!any) {
      const auto skip = static_cast<std::uint16_t>(d - kW + 1);
      if (s->missing_run == 0) s->missing_first = s->head_seq;
      s->missing_run += skip;
      s->out.lost_packets += skip;
      s->head_seq = static_cast<std::uint16_t>(s->head_seq + skip);
      d = static_cast<std::int16_t>(d - skip);
      break;
    }
    write_head(*s, kReorderWindow, kMaxPayloadBytes);
    --d;
  }
  auto& slot = s->slots[seq % kReorderWindow];
  if (slot.present && slot.seq == seq) {
    ++s->out.late_or_duplicate;
    return;
  }
  slot.present = true;
  slot.seq = seq;
  slot.timestamp = ts;
  slot.bytes = static_cast<std::uint16_t>(bytes);
  std::memcpy(&s->data[(seq % kReorderWindow) * kMaxPayloadBytes], p + off, bytes);
  // Everything contiguous from the head goes out now.
  while (s->slots[s->head_seq % kReorderWindow].present &&
         s->slots[s->head_seq % kReorderWindow].seq == s->head_seq)
    write_head(*s, kReorderWindow, kMaxPayloadBytes);
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
        write_head(s, kReorderWindow, kMaxPayloadBytes);
      }
      s.out.frames = s.wav.frames();
      if (std::string e = s.wav.close(); !e.empty()) s.out.skipped = e;
      if (s.gaps != nullptr) {
        std::fclose(s.gaps);
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
  for (const auto& s : streams) {
    if (!s.wav_path.empty() && s.skipped.empty())
      out += fmt::format(
          "rtcap: audio {}: {} (L{} {} Hz {} ch from {}), {} packets, {} samples, {} gap{} ({} "
          "samples of "
          "silence, {} packets lost){}{}\n",
          s.description, s.wav_path, s.format.bits, s.format.rate_hz, s.format.channels,
          s.format_source, s.packets, s.frames, s.gaps, s.gaps == 1 ? "" : "s", s.silence_frames,
          s.lost_packets,
          s.late_or_duplicate
              ? fmt::format(", {} late or duplicate packets dropped", s.late_or_duplicate)
              : "",
          s.discontinuities ? fmt::format(", {} timestamp jumps not filled", s.discontinuities)
                            : "");
    else
      out += fmt::format("rtcap: audio {}: not extracted: {}\n", s.description, s.skipped);
  }
  return out;
}

}  // namespace rtcap::io
