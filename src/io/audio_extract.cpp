#include "io/audio_extract.hpp"

#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "analysis/wire_text.hpp"
#include "analysis/packet_parser.hpp"
#include "analysis/rtp_stats.hpp"
#include "io/pcm.hpp"
#include "io/rtp_reorder.hpp"
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

}  // namespace

std::string parse_pcm_format(const std::string& text, PcmFormat& out) {
  std::string encoding;
  std::uint32_t rate = 0;
  int channels = 0;
  if (std::string e = parse_pcm_encoding(text, encoding, rate, channels); !e.empty()) return e;
  out = PcmFormat{encoding == "L16" ? 16 : 24, rate, channels};
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
  if (!fd) return fmt::format("{}; check the output directory", fd.error().message);
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
  sample_bytes_ = static_cast<std::size_t>(format.bits / 8);
  buffered_ = 0;
  buffer_room_ = buffer_.size() / sample_bytes_ * sample_bytes_;
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
  // The buffer holds the packets as RTP carried them: one conversion pass over all of it.
  big_endian_to_little_in_place(buffer_.data(), buffered_ / sample_bytes_, sample_bytes_);
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
      buffer_room_ = 0;  // failed(): nothing more is added
      return false;
    }
  }
  buffered_ = 0;
  buffer_room_ = buffer_.size() / sample_bytes_ * sample_bytes_;
  return true;
}

bool WavWriter::write_big_endian(const std::uint8_t* data, std::size_t frames) {
  if (!room_for(frames)) return false;
  std::size_t left = frames * format_.frame_bytes();
  if (left <= buffer_room_) {  // a packet: a copy, converted with the buffer at flush()
    std::memcpy(buffer_.data() + buffered_, data, left);
    buffered_ += left;
    buffer_room_ -= left;
    frames_ += frames;
    return true;
  }
  while (left > 0) {
    if (buffer_room_ == 0 && !flush()) return false;
    const std::size_t n = std::min(left, buffer_room_);
    std::memcpy(buffer_.data() + buffered_, data, n);
    data += n;
    buffered_ += n;
    buffer_room_ -= n;
    left -= n;
  }
  if (buffer_room_ == 0 && !flush()) return false;
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
  // Identity: the tracker's slot and stream id, and the stream's address.
  std::uint32_t slot = 0;
  std::uint64_t stream_id = 0;
  StreamKey key;
  int payload_type = -1;
  // What the catalogue's answer was given for (RtpHandoffPacket says why these).
  bool validated_seen = false;
  std::uint8_t payload_type_seen = 0;
  std::uint32_t payload_bytes_seen = 0;
  std::uint32_t samples_per_packet_seen = 0;
  ExtractedStream out;
  std::int64_t last_ts_ns = 0;
  std::uint64_t catalogue_version_seen = ~0ull;  // never asked yet
  bool waits_for_packets = false;  // format known, the catalogue waits for the timestamp step
  std::string stopped;             // why writing stopped midway (a format it now contradicts)

  // Before the format was ready: the stream's first packet (sequence number, arrival), and the
  // packets seen since that the stash has not replayed (out.before_format_packets).
  std::int64_t first_seen_ns = 0;
  std::uint16_t first_seen_seq = 0;

  // Format and file.
  bool resolved = false;  // format known and file open
  bool given_up = false;  // skipped for good (not PCM, or the file could not be made)
  bool over_budget = false;
  PcmFormat format;
  WavWriter wav;
  std::FILE* gaps = nullptr;

  ReorderWindow window;              // the shared depacketiser core (io/rtp_reorder.hpp)
  std::uint32_t next_ts = 0;         // RTP timestamp where the written audio ends
  std::int64_t last_arrival_ns = 0;  // of the last packet written
};

AudioExtractor::AudioExtractor(AudioExtractConfig config)
    : config_(std::move(config)), budget_left_(config_.max_bytes) {
  tracker_ = config_.tracker;
  if (tracker_ == nullptr) {  // alone (tests, embedders): a catalogue of its own
    StreamTrackerConfig tc;
    tc.sdp = config_.sdp;
    tc.audio_formats = config_.audio_formats;
    for (const auto& [pt, f] : config_.format_by_pt) {
      FormatOption o;
      o.payload_type = pt;
      o.encoding = f.bits == 16 ? "L16" : "L24";
      o.clock_rate = f.rate_hz;
      o.channels = f.channels;
      tc.audio_formats.push_back(o);
    }
    own_tracker_ = std::make_unique<StreamTracker>(std::move(tc));
    tracker_ = own_tracker_.get();
  }
  for (Held& h : stash_) h.payload.resize(kStashPayloadBytes);
  by_slot_.assign(tracker_->config().max_streams, nullptr);
}

AudioExtractor::~AudioExtractor() {
  for (auto& s : streams_)
    if (s->gaps != nullptr) std::fclose(s->gaps);
  platform::close_output_directory(dir_fd_);
}

std::string AudioExtractor::check_output() {
  namespace fs = std::filesystem;
  if (dir_fd_ >= 0) return {};
  if (config_.dir.empty()) return "no audio output directory given";
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(config_.dir, ec))) {
    if (!fs::create_directory(config_.dir, ec))
      return fmt::format("cannot create directory '{}': {}; create it or choose another",
                         config_.dir, ec.message());
  } else if (!fs::is_directory(config_.dir, ec)) {
    return fmt::format("'{}' is not a directory", config_.dir);
  }
  auto dir = platform::open_output_directory(config_.dir);
  if (!dir) return dir.error().message;
  dir_fd_ = *dir;
  // Writable: the only sure test is to write (permissions, ACLs, read-only mounts, quotas). A
  // name of our own, created exclusively: never a file (or link) someone put there.
  const std::string probe = fmt::format(".rtcap-write-probe-{}", ::getpid());
  auto f = platform::open_output_nofollow(dir_fd_, probe, platform::OutputOpen::kExclusive);
  if (!f) return fmt::format("directory '{}' is not writable: {}", config_.dir, f.error().message);
  ::close(*f);
  (void)platform::remove_output(dir_fd_, probe);
  return {};
}

void AudioExtractor::add(const Batch& batch, const std::vector<int>& linktype_by_interface) {
  if (own_tracker_) own_tracker_->add(batch, Span<const int>(linktype_by_interface));
  analysis::for_each_rtp(*tracker_, cursor_, batch, Span<const int>(linktype_by_interface),
                         [&](const analysis::RtpHandoffPacket& e) { take(e); });
}

// Opens the stream's files in the format the catalogue validated (resolved), or records why
// not. Slots (reorder buffers, files) exist only for streams the catalogue validated.
void AudioExtractor::resolve(Stream& s, std::int64_t now_ns) {
  if (s.resolved || s.given_up) return;
  const StreamKey& key = s.key;
  const PcmStreamFormat pf = tracker_->pcm_format(key);
  s.catalogue_version_seen = tracker_->catalogue_version();
  s.waits_for_packets = pf.state == FormatState::kPending && pf.rate_hz != 0;
  if (pf.state == FormatState::kRefused) {
    s.given_up = true;
    s.out.skipped = pf.why;
    return;
  }
  if (pf.state != FormatState::kReady) {
    s.out.skipped = pf.why;
    return;
  }
  const PcmFormat f{pf.bits, pf.rate_hz, pf.channels};
  // File names from the stream's identity only: nothing from the network goes into a path.
  std::string base = fmt::format("{}_{}-{}_{}-{:08x}", key.src.to_string(), key.src_port,
                                 key.dst.to_string(), key.dst_port, key.ssrc);
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
  // The catalogue saw the stream first (it is fed before the extractor): its first packet is
  // where the stream started, when the extractor's own note of it was lost to a collision.
  if (pf.first_ts_ns != 0 && (s.first_seen_ns == 0 || pf.first_ts_ns < s.first_seen_ns))
    s.first_seen_ns = pf.first_ts_ns;
  if (s.first_seen_ns == 0) s.first_seen_ns = now_ns;
  s.format = f;
  s.out.format = f;
  s.out.format_source = pf.source;
  s.out.skipped.clear();
  s.window.reset(kReorderWindow, kInitialSlotBytes, kMaxPayloadBytes);
  s.resolved = true;
}

// A stream the extractor has no record of: one only once the catalogue validated it (its RTP
// sequence passed probation), so one-packet junk never takes a slot. A full table first frees
// the records of streams that ended (no packet for kStreamIdleNs).
AudioExtractor::Stream* AudioExtractor::admit(const analysis::RtpHandoffPacket& e) {
  if (!e.validated || e.stream >= by_slot_.size()) return nullptr;
  if (Stream* old = by_slot_[e.stream]; old != nullptr) {
    // The tracker's table was full and gave the slot to another stream: that one has ended.
    drop(std::find_if(streams_.begin(), streams_.end(),
                      [&](const auto& x) { return x.get() == old; }));
  }
  if (streams_.size() >= config_.max_streams) {
    // A record whose stream ended (idle longest) goes first: freeing a live one only brings it
    // back at its next packet, pushing out another. Then one that never got its files.
    auto victim = streams_.end();
    for (auto it = streams_.begin(); it != streams_.end(); ++it)
      if (e.ts_ns - (*it)->last_ts_ns > kStreamIdleNs &&
          (victim == streams_.end() || (*it)->last_ts_ns < (*victim)->last_ts_ns))
        victim = it;
    if (victim == streams_.end())
      victim = std::find_if(streams_.begin(), streams_.end(),
                            [](const auto& x) { return !x->resolved; });
    drop(victim);
    if (streams_.size() >= config_.max_streams) {
      ++streams_over_limit_;
      return nullptr;
    }
  }
  auto s = std::make_unique<Stream>();
  s->slot = e.stream;
  s->stream_id = e.stream_id;
  s->key = tracker_->rtp_stream_key(e.stream);
  s->payload_type = e.payload_type;
  // Its packets before this one (probation) went to the stash; how many, and from where.
  if (Unadmitted& u = unadmitted_[e.stream_id % kUnadmittedEntries];
      u.packets > 0 && u.id == e.stream_id) {
    s->out.before_format_packets = u.packets;
    s->first_seen_ns = u.first_ns;
    s->first_seen_seq = u.first_seq;
    u = Unadmitted{};
  }
  const StreamKey& key = s->key;
  s->out.description =
      fmt::format("{}:{} > {}:{} ssrc 0x{:08x} pt {}", key.src.to_string(), key.src_port,
                  key.dst.to_string(), key.dst_port, key.ssrc, e.payload_type);
  by_slot_[e.stream] = s.get();
  streams_.push_back(std::move(s));
  return streams_.back().get();
}

// Ends a record: its files closed, its report kept (up to kMaxEndedReports).
void AudioExtractor::drop(std::vector<std::unique_ptr<Stream>>::iterator it) {
  if (it == streams_.end()) return;
  Stream& s = **it;
  finish_stream(s);
  if (ended_.size() < kMaxEndedReports)
    ended_.push_back(s.out);
  else
    ++ended_unreported_;
  if (s.slot < by_slot_.size() && by_slot_[s.slot] == &s) by_slot_[s.slot] = nullptr;
  streams_.erase(it);
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

// Writes one in-order packet of `s`, after the silence its timestamp says is missing; false
// when it wrote nothing (its lost predecessors then still count against the next one).
bool AudioExtractor::write_packet(Stream& s, const ReorderWindow::Packet& p) {
  const std::size_t fb = s.format.frame_bytes();
  const std::uint32_t rate_hz = s.format.rate_hz;
  // One 32-bit division per packet: payloads and frames are far below 2^32 bytes.
  const auto frames = static_cast<std::uint32_t>(p.bytes) / static_cast<std::uint32_t>(fb);
  if (frames * fb != p.bytes) {
    ++s.out.malformed;
    return false;
  }
  const auto not_written = [&] {
    ++s.out.over_budget_packets;
    s.out.over_budget_bytes += p.bytes;
    s.out.riff_full = s.wav.full();
    return false;
  };
  if (s.over_budget || s.wav.failed() || s.wav.full()) return not_written();
  if (s.out.packets > 0) {
    const Continuation c = continue_at(s.next_ts, s.last_arrival_ns, p.ts, p.arrival_ns, rate_hz);
    if (c.kind == Continuation::kGap) {
      const std::uint64_t at = s.wav.frames();
      if (!take_budget(s, c.frames * fb) || !s.wav.write_silence(c.frames)) return not_written();
      ++s.out.gaps;
      s.out.silence_frames += c.frames;
      if (s.gaps != nullptr)
        std::fprintf(s.gaps, "%llu,%.6f,%llu,%.3f,%u,%llu,lost\n",
                     static_cast<unsigned long long>(at), static_cast<double>(at) / rate_hz,
                     static_cast<unsigned long long>(c.frames),
                     1e3 * static_cast<double>(c.frames) / rate_hz,
                     static_cast<unsigned>(p.missing_run > 0 ? p.missing_first : p.seq),
                     static_cast<unsigned long long>(p.missing_run));
    } else if (c.kind == Continuation::kDiscontinuity) {
      ++s.out.discontinuities;  // backwards, or a jump too long to be a gap
      s.out.unfilled_frames += c.frames;
    }
  }
  if (!take_budget(s, p.bytes) || !s.wav.write_big_endian(p.payload, frames)) return not_written();
  ++s.out.packets;
  s.next_ts = p.ts + frames;
  s.last_arrival_ns = p.arrival_ns;
  return true;
}

void AudioExtractor::add(const PacketView& packet, int linktype) {
  if (own_tracker_) own_tracker_->add(packet, linktype);
  analysis::for_each_rtp(*tracker_, cursor_, packet, linktype,
                         [&](const analysis::RtpHandoffPacket& e) { take(e); });
}

// The probation stash: packets of streams the catalogue has not validated yet (or whose format
// waits for the RTP timestamp step), so that a WAV still starts at the stream's first packet.
// Fixed size, shared by all streams: junk can push a real stream's first packets out (the WAV
// then starts later, and says so), never take memory or a slot.
std::size_t AudioExtractor::stash_index(std::uint64_t id, std::uint16_t seq) noexcept {
  // Consecutive sequence numbers of one stream take consecutive entries: they never collide.
  return (static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ull) >> 58) + seq) % kStashEntries;
}

void AudioExtractor::hold(const analysis::RtpHandoffPacket& e) {
  if (e.payload_bytes > kStashPayloadBytes) return;
  Held& h = stash_[stash_index(e.stream_id, e.seq)];
  h.used = true;
  h.packet = e;
  std::memcpy(h.payload.data(), e.payload, e.payload_bytes);
  h.packet.payload = h.payload.data();
}

// Every packet held for `s` was counted in before_format_packets: one replayed into the file is
// no longer missing from it.
void AudioExtractor::replay(Stream& s, std::uint64_t id, std::uint16_t seq) {
  for (std::uint16_t back = kStashDepth; back >= 1; --back) {
    const auto want = static_cast<std::uint16_t>(seq - back);
    Held& h = stash_[stash_index(id, want)];
    if (!h.used || h.packet.stream_id != id || h.packet.seq != want) continue;
    h.used = false;
    if (s.out.before_format_packets > 0) --s.out.before_format_packets;
    take(h.packet);
  }
}

void AudioExtractor::note_unadmitted(std::uint64_t id, std::uint16_t seq, std::int64_t ts_ns) {
  Unadmitted& u = unadmitted_[id % kUnadmittedEntries];
  if (u.packets == 0 || u.id != id) u = Unadmitted{id, 0, ts_ns, seq};
  ++u.packets;
}

void AudioExtractor::take(const analysis::RtpHandoffPacket& e) {
  const std::uint16_t seq = e.seq;
  const std::uint64_t id = e.stream_id;
  Stream* s = e.stream < by_slot_.size() ? by_slot_[e.stream] : nullptr;
  if (s != nullptr && s->stream_id != id) s = nullptr;
  if (s == nullptr && (s = admit(e)) == nullptr) {
    note_unadmitted(id, seq, e.ts_ns);
    hold(e);
    return;
  }
  s->last_ts_ns = e.ts_ns;
  if (!s->resolved) {
    if (s->first_seen_ns == 0) {
      s->first_seen_ns = e.ts_ns;
      s->first_seen_seq = seq;
    }
    // Asked again when the catalogue changed (a late SAP announcement), or what its answer
    // depends on did (validation, the RTP timestamp step).
    const bool inputs_changed = s->validated_seen != e.validated ||
                                s->payload_type_seen != e.payload_type ||
                                s->payload_bytes_seen != e.payload_bytes ||
                                s->samples_per_packet_seen != e.samples_per_packet;
    if (s->given_up || (!(s->waits_for_packets && inputs_changed) &&
                        s->catalogue_version_seen == tracker_->catalogue_version())) {
      ++s->out.before_format_packets;
      if (s->waits_for_packets && !s->given_up) hold(e);  // replayed once the format is ready
      return;
    }
    s->validated_seen = e.validated;
    s->payload_type_seen = e.payload_type;
    s->payload_bytes_seen = e.payload_bytes;
    s->samples_per_packet_seen = e.samples_per_packet;
    resolve(*s, e.ts_ns);
    if (!s->resolved) {
      ++s->out.before_format_packets;
      if (s->waits_for_packets) hold(e);
      return;
    }
    replay(*s, id, seq);
    if (s->out.before_format_packets > 0) {
      // Packets came before the format was ready and are not in the file (a late SDP, or the
      // stash lost them): the file starts mid-stream, at its first packet (the earliest
      // replayed one, else this one).
      const std::int64_t start_ns = s->window.started() ? s->window.start_arrival_ns() : e.ts_ns;
      s->out.before_format_ns = std::max<std::int64_t>(0, start_ns - s->first_seen_ns);
      if (s->gaps != nullptr)
        std::fprintf(s->gaps, "0,0.000000,0,%.3f,%u,%llu,before_format\n",
                     static_cast<double>(s->out.before_format_ns) / 1e6,
                     static_cast<unsigned>(s->first_seen_seq),
                     static_cast<unsigned long long>(s->out.before_format_packets));
    }
  } else if (s->catalogue_version_seen != tracker_->catalogue_version()) {
    // A re-announcement may change what the stream is: a format it contradicts stops it.
    s->catalogue_version_seen = tracker_->catalogue_version();
    const PcmStreamFormat now = tracker_->pcm_format(s->key);
    if (now.state == FormatState::kRefused ||
        (now.state == FormatState::kReady &&
         (now.bits != s->format.bits || now.rate_hz != s->format.rate_hz ||
          now.channels != s->format.channels))) {
      s->stopped = now.state == FormatState::kRefused
                       ? now.why
                       : fmt::format("its format changed to L{}/{}/{} ({})", now.bits, now.rate_hz,
                                     now.channels, now.source);
      s->given_up = true;
    }
  }
  if (s->given_up) return;
  s->window.add(seq, e.rtp_ts, e.ts_ns, e.payload, e.payload_bytes,
                [&](const ReorderWindow::Packet& p) { return write_packet(*s, p); });
}

// Closes one stream's files; what could not be extracted says why, in the catalogue's words now.
void AudioExtractor::finish_stream(Stream& s) {
  if (!s.resolved && !s.given_up) s.out.skipped = tracker_->pcm_format(s.key).why;
  if (s.resolved) {
    // Whatever is still in the window, in order; sequence numbers never seen before the last
    // held packet are lost; after it nothing can be known.
    s.window.drain([&](const ReorderWindow::Packet& p) { return write_packet(s, p); });
    const ReorderWindow::Counters& c = s.window.counters();
    s.out.lost_packets = c.lost_packets;
    s.out.late_or_duplicate = c.late_or_duplicate;
    s.out.malformed += c.oversize;
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
    if (!s.stopped.empty()) s.out.stopped = s.stopped;
  }
}

std::vector<ExtractedStream> AudioExtractor::finish() {
  std::vector<ExtractedStream> out = std::move(ended_);
  ended_.clear();
  for (auto& sp : streams_) {
    finish_stream(*sp);
    out.push_back(sp->out);
  }
  if (streams_over_limit_ > 0) {
    ExtractedStream e;
    e.description = fmt::format("{} packets of streams beyond the first {}", streams_over_limit_,
                                config_.max_streams);
    e.skipped = "too many streams";
    out.push_back(e);
  }
  if (ended_unreported_ > 0) {
    ExtractedStream e;
    e.description = fmt::format("{} more streams that ended", ended_unreported_);
    e.skipped = "not listed one by one";
    out.push_back(e);
  }
  return out;
}

std::string format_extract_report(const std::vector<ExtractedStream>& streams,
                                  std::string_view budget_name) {
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
                                                    : fmt::format("{} ran out", budget_name));
      if (!s.write_error.empty()) notes += fmt::format("; INCOMPLETE: {}", s.write_error);
      out += fmt::format(
          "rtcap: audio {}: {} (L{} {} Hz {} ch from {}), {} packets, {} samples, {} gap{} ({} "
          "samples of silence, {} packets lost){}\n",
          s.description, s.wav_path, s.format.bits, s.format.rate_hz, s.format.channels,
          analysis::printable_text(s.format_source), s.packets, s.frames, s.gaps,
          s.gaps == 1 ? "" : "s", s.silence_frames, s.lost_packets, notes);
      if (!s.stopped.empty())
        out += fmt::format("rtcap: audio {}: stopped: {}\n", s.description,
                           analysis::printable_text(s.stopped));
    } else {
      out += fmt::format("rtcap: audio {}: not extracted: {}\n", s.description,
                         analysis::printable_text(s.skipped));
    }
  }
  if (over_budget_bytes > 0)
    out += fmt::format("rtcap: audio: {} bytes not written: the files reached {}\n",
                       over_budget_bytes, budget_name);
  return out;
}

bool extract_failed(const std::vector<ExtractedStream>& streams) {
  return std::any_of(streams.begin(), streams.end(),
                     [](const ExtractedStream& s) { return !s.write_error.empty(); });
}

}  // namespace rtcap::io
