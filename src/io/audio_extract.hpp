// --extract-audio: every L16/L24 RTP stream of a capture as a bit-exact WAV file.
//
// Private to librtcap (the CLI and the unit tests include it through the src/ include path).
// The consumer thread feeds it each batch, as it feeds the stream tracker. Per stream it keeps a
// reorder window of kReorderWindow packets (memory fixed when the stream is first seen): a packet
// that arrives up to that many sequence numbers late still lands in its place; a sequence number
// still missing when the window has moved past it is lost, and becomes silence of exactly the
// length the RTP timestamps say (next packet's timestamp - where the last one ended). Every gap
// goes into a side-car CSV beside the WAV.
//
// What hostile input cannot make it do: silence per gap is bounded by the arrival time that
// passed (at the stream's rate, 64-bit) and is left as a hole in the file (a seek, no write), so
// writing costs what the packets carry and no more; all files together stay under a byte budget
// (--extract-audio-max-bytes), what did not fit is counted and said; files are opened under the
// directory held open, never through a symbolic link (platform/file_output.hpp); a write that
// fails (a full disk) leaves a WAV whose header matches the data it holds, and the report says why.
//
// The format of a stream (encoding, rate, channels) is the stream catalogue's
// (StreamTracker::pcm_format): an SDP that describes the stream (group, port, payload type,
// source-filter), an --audio-format that selects it, or RFC 3551 for the static L16 types 10
// and 11; validated (its RTP sequence passed probation, its packets agree with the format). The
// extractor keeps no list of its own: a stream gets a slot (reorder buffer, files) only once the
// catalogue validated it, and a full table frees the slots of streams that ended. A stream not
// extracted, or stopped, says why.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/rtp_reorder.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/batch.hpp"
#include "rtcap/sdp.hpp"

#include "analysis/rtp_handoff.hpp"

namespace rtcap::io {

// PCM as RTP carries it (RFC 3551 4.5.11 L16, RFC 3190 L24): big-endian, channels interleaved.
struct PcmFormat {
  int bits = 24;  // 16 or 24
  std::uint32_t rate_hz = 48000;
  int channels = 2;
  [[nodiscard]] std::size_t frame_bytes() const noexcept {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(bits / 8);
  }
};

// "L24/48000/2" (an a=rtpmap value; channels default to 1). Empty string on success.
std::string parse_pcm_format(const std::string& text, PcmFormat& out);

// A RIFF/WAVE file of little-endian PCM: WAVE_FORMAT_PCM for one or two channels,
// WAVE_FORMAT_EXTENSIBLE (Microsoft's rule for more than two channels) beyond, channel mask 0
// (AES67 channels are not speaker positions). Sizes are patched in at close().
class WavWriter {
 public:
  WavWriter() = default;
  ~WavWriter();
  WavWriter(const WavWriter&) = delete;
  WavWriter& operator=(const WavWriter&) = delete;
  // Creates `name` under the directory `dir_fd` (platform::open_output_directory, or
  // platform::kWorkingDirectory and a path), never through a symbolic link. Empty on success,
  // else one line naming the file and the fix; a file whose header could not be written is
  // removed.
  std::string open(int dir_fd, const std::string& name, const PcmFormat& format);
  std::string open(const std::string& path, const PcmFormat& format);
  // `frames` frames of big-endian samples (RTP order) -> little-endian in the file.
  // Both false when nothing was added: the file failed or is full.
  bool write_big_endian(const std::uint8_t* data, std::size_t frames);
  // Silence is a hole (a seek past it): reads as zeros, costs no write, no disk block.
  bool write_silence(std::uint64_t frames);
  // Cuts the file to the whole frames it holds and patches the RIFF and data sizes to match;
  // empty on success, else the first error (a failed write's reason, not a later one's).
  std::string close();
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }
  [[nodiscard]] bool full() const noexcept { return full_; }  // the 4 GiB RIFF limit was reached
  [[nodiscard]] bool failed() const noexcept { return !error_.empty(); }
  static constexpr std::size_t kBufferBytes = 64 * 1024;  // one write() per 64 KiB of audio

 private:
  bool room_for(std::uint64_t frames) noexcept;
  bool flush() noexcept;
  void fail(const char* what, int error);
  int fd_ = -1;
  std::string name_;
  PcmFormat format_;
  std::uint64_t frames_ = 0;         // data and silence, as the header will say
  std::uint64_t written_bytes_ = 0;  // data bytes the file holds for sure (holes before them too)
  std::uint64_t hole_bytes_ = 0;     // silence not yet passed over in the file
  std::size_t header_bytes_ = 0;
  bool full_ = false;
  std::string error_;
  // Big-endian as the packets carried it, whole samples only (a sample never straddles two
  // flushes); flush() converts it to little-endian in one pass and writes it.
  std::vector<std::uint8_t> buffer_;
  std::size_t buffered_ = 0;
  std::size_t buffer_room_ = 0;  // bytes of whole samples still free
  std::size_t sample_bytes_ = 3;
};

struct AudioExtractConfig {
  // 2 GiB: two hours of one L24/48k/2 stream (288 kB/s), ten minutes of twelve.
  static constexpr std::uint64_t kDefaultMaxBytes = 2ull << 30;
  std::string dir;                             // created if missing (one level)
  std::uint64_t max_bytes = kDefaultMaxBytes;  // all files together, silence included
  // The catalogue to read formats from, fed the same packets before the extractor (the CLI's
  // stream tracker). nullptr: the extractor keeps one of its own from the three fields below.
  const StreamTracker* tracker = nullptr;
  std::map<int, PcmFormat> format_by_pt;    // PT=ENC/RATE/CH
  std::vector<FormatOption> audio_formats;  // --audio-format SELECTOR=ENC/RATE/CH
  std::vector<SdpFormat> sdp;               // --sdp FILE
  std::size_t max_streams = 64;             // slots; more streams are counted, not extracted
};

// One line per extracted or skipped stream, for the end of the capture.
struct ExtractedStream {
  std::string wav_path;  // empty when not extracted
  std::string gaps_path;
  std::string description;    // "198.18.0.1:5004 > 239.69.1.1:5004 ssrc 0x..."
  std::string format_source;  // "sdp 'name'", "static", "option"; empty when skipped
  PcmFormat format;
  std::uint64_t packets = 0;  // written into the file
  std::uint64_t frames = 0;   // in the file, silence included
  std::uint64_t gaps = 0;     // runs of lost packets filled with silence
  std::uint64_t silence_frames = 0;
  std::uint64_t lost_packets = 0;       // sequence numbers never seen
  std::uint64_t late_or_duplicate = 0;  // arrived after their place was written, or twice
  std::uint64_t discontinuities = 0;    // timestamp jumps not filled (backwards or > 10 s)
  std::uint64_t malformed = 0;          // payload not a whole number of frames, or over 64 KiB
  std::uint64_t unfilled_frames = 0;    // of those jumps: what the timestamps claimed
  // Started mid-stream: packets of the stream seen before its format was ready (a late SDP, no
  // format at first) that the probation stash could not replay into the file, and how long
  // after the stream's first packet the file starts.
  std::uint64_t before_format_packets = 0;
  std::int64_t before_format_ns = 0;
  // The byte budget ran out (or the WAV reached the RIFF limit, riff_full): packets and bytes
  // not written from then on.
  std::uint64_t over_budget_packets = 0;
  std::uint64_t over_budget_bytes = 0;
  bool riff_full = false;
  std::string skipped;      // why not extracted ("" when extracted)
  std::string stopped;      // why writing stopped before the end ("" when it did not)
  std::string write_error;  // the file is incomplete: why (a full disk); the capture exits 1
};

class AudioExtractor {
 public:
  // Packets a sequence number may arrive late and still land in place. 32 at 125 us packets is
  // 4 ms of reordering, more than a switched LAN produces; memory per stream is 32 x 1500 bytes.
  static constexpr std::size_t kReorderWindow = 32;
  // The slot size a stream starts with (an Ethernet MTU); it grows to the largest payload seen
  // (jumbo frames: 9,000 bytes and more), up to what a UDP datagram can carry.
  static constexpr std::size_t kInitialSlotBytes = 1500;
  static constexpr std::size_t kMaxPayloadBytes = 65535;

  explicit AudioExtractor(AudioExtractConfig config);
  ~AudioExtractor();
  AudioExtractor(const AudioExtractor&) = delete;
  AudioExtractor& operator=(const AudioExtractor&) = delete;

  // Empty on success: the directory exists (or was made), is held open and is writable.
  [[nodiscard]] std::string check_output();
  // Consumer thread; `linktype_by_interface` indexed by PacketView::interface_index.
  void add(const Batch& batch, const std::vector<int>& linktype_by_interface);
  void add(const PacketView& packet, int linktype);
  // Writes what the reorder windows hold, closes every file. Call once.
  std::vector<ExtractedStream> finish();

 private:
  struct Stream;
  // A packet held while its stream waits for validation (the probation stash, fixed size).
  struct Held {
    bool used = false;
    analysis::RtpHandoffPacket packet{};  // its payload points into `payload`
    std::vector<std::uint8_t> payload;    // kStashPayloadBytes, allocated at construction
  };
  static constexpr std::size_t kStashEntries = 64;         // 64 x 9.2 KB: ~600 KB, all streams
  static constexpr std::size_t kStashPayloadBytes = 9216;  // a jumbo frame's
  // Packets before the format is ready a WAV keeps: validation takes 2, the timestamp step 4,
  // more when they arrive reordered.
  static constexpr std::uint16_t kStashDepth = 32;
  // A slot whose stream sent nothing for 2 s (packet time) has ended: a full table frees it.
  static constexpr std::int64_t kStreamIdleNs = 2'000'000'000;

  void take(const analysis::RtpHandoffPacket& e);
  Stream* admit(const analysis::RtpHandoffPacket& e);
  void resolve(Stream& s, std::int64_t now_ns);
  bool write_packet(Stream& s, const ReorderWindow::Packet& p);
  bool take_budget(Stream& s, std::uint64_t bytes);
  void finish_stream(Stream& s);
  void drop(std::vector<std::unique_ptr<Stream>>::iterator it);
  static std::size_t stash_index(std::uint64_t id, std::uint16_t seq) noexcept;
  void hold(const analysis::RtpHandoffPacket& e);
  void replay(Stream& s, std::uint64_t id, std::uint16_t seq);
  // Packets of streams not admitted yet (no slot): how many, and the first one's sequence
  // number and arrival, so that a stream whose file starts late says from where (fixed size;
  // a collision forgets the older stream's count).
  struct Unadmitted {
    std::uint64_t id = 0;
    std::uint64_t packets = 0;
    std::int64_t first_ns = 0;
    std::uint16_t first_seq = 0;
  };
  static constexpr std::size_t kUnadmittedEntries = 256;
  void note_unadmitted(std::uint64_t id, std::uint16_t seq, std::int64_t ts_ns);

  AudioExtractConfig config_;
  int dir_fd_ = -1;
  std::uint64_t budget_left_ = 0;
  std::unique_ptr<StreamTracker> own_tracker_;
  const StreamTracker* tracker_ = nullptr;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<Stream*> by_slot_;  // per slot of the tracker's table: its stream's record, if any
  analysis::HandoffCursor cursor_;
  std::vector<ExtractedStream> ended_;  // streams whose slot was freed, kMaxEndedReports at most
  std::uint64_t ended_unreported_ = 0;
  static constexpr std::size_t kMaxEndedReports = 1024;
  std::uint64_t streams_over_limit_ = 0;
  Held stash_[kStashEntries];
  Unadmitted unadmitted_[kUnadmittedEntries];
};

// Human lines for the end of a capture (one per stream); `budget_name` is how the front end
// calls AudioExtractConfig::max_bytes.
std::string format_extract_report(const std::vector<ExtractedStream>& streams,
                                  std::string_view budget_name = "the audio byte budget");
// True when a file could not be written whole (the capture then exits 1).
bool extract_failed(const std::vector<ExtractedStream>& streams);

}  // namespace rtcap::io
