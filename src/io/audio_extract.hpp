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
// The format of a stream (encoding, rate, channels) comes, in this order, from an SDP whose
// c= address, m= port and payload type match the stream (SAP announcements seen in the capture,
// or --sdp files), from RFC 3551 for the static L16 types 10 and 11, or from --audio-format
// PT=ENC/RATE/CH. A stream with none of these is not extracted, and a line says why.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analysis/levels.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/batch.hpp"
#include "rtcap/sdp.hpp"

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
  // Empty on success, else one line naming the file and the fix.
  std::string open(const std::string& path, const PcmFormat& format);
  // `frames` frames of big-endian samples (RTP order) -> little-endian in the file.
  void write_big_endian(const std::uint8_t* data, std::size_t frames);
  void write_silence(std::uint64_t frames);
  // Patches the RIFF and data sizes; empty on success.
  std::string close();
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }
  [[nodiscard]] bool full() const noexcept { return full_; }  // the 4 GiB RIFF limit was reached

 private:
  bool room_for(std::uint64_t frames) noexcept;
  std::FILE* file_ = nullptr;
  std::string path_;
  PcmFormat format_;
  std::uint64_t frames_ = 0;
  std::size_t header_bytes_ = 0;
  bool full_ = false;
  bool failed_ = false;
  std::vector<std::uint8_t> scratch_;
};

struct AudioExtractConfig {
  std::string dir;                        // created if missing (one level)
  std::map<int, PcmFormat> format_by_pt;  // --audio-format PT=ENC/RATE/CH
  std::vector<SdpFormat> sdp;             // --sdp FILE
  std::size_t max_streams = 64;           // more streams are counted, not extracted
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
  std::uint64_t malformed = 0;          // payload not a whole number of frames
  std::string skipped;                  // why not extracted ("" when extracted)
};

class AudioExtractor {
 public:
  // Packets a sequence number may arrive late and still land in place. 32 at 125 us packets is
  // 4 ms of reordering, more than a switched LAN produces; memory per stream is 32 x 1500 bytes.
  static constexpr std::size_t kReorderWindow = 32;
  static constexpr std::size_t kMaxPayloadBytes =
      1500;  // Ethernet MTU: no RTP packet is larger here

  explicit AudioExtractor(AudioExtractConfig config);
  ~AudioExtractor();
  AudioExtractor(const AudioExtractor&) = delete;
  AudioExtractor& operator=(const AudioExtractor&) = delete;

  // Empty on success: the directory exists (or was made) and is writable.
  [[nodiscard]] std::string check_output() const;
  // Consumer thread; `linktype_by_interface` indexed by PacketView::interface_index.
  void add(const Batch& batch, const std::vector<int>& linktype_by_interface);
  void add(const PacketView& packet, int linktype);
  // The levels of every extracted stream (analysis/levels.hpp) into the summary of the same
  // stream (source, destination, ports, SSRC); other summaries are left as they are.
  void add_levels(std::vector<StreamSummary>& streams) const;
  // Writes what the reorder windows hold, closes every file. Call once.
  std::vector<ExtractedStream> finish();

 private:
  struct Stream;
  Stream* find_or_create(const std::uint8_t* key, std::size_t key_len, const PacketView& packet,
                         int family, const std::uint8_t* src, const std::uint8_t* dst,
                         std::uint16_t src_port, std::uint16_t dst_port, std::uint32_t ssrc,
                         int payload_type);
  void resolve(Stream& s);
  void on_sap(const std::uint8_t* data, std::size_t len);
  AudioExtractConfig config_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::uint64_t streams_over_limit_ = 0;
  std::uint64_t sdp_generation_ = 0;  // bumps when a SAP announcement adds a format
};

// Human lines for the end of a capture (one per stream).
std::string format_extract_report(const std::vector<ExtractedStream>& streams);

}  // namespace rtcap::io
