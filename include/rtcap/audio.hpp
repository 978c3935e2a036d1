// Live audio: PCM samples of the captured AES67 / ST 2110-30 streams, for the application.
//
// An AudioReceiver is fed every captured packet after the StreamTracker it reads formats from
// (the stream catalogue: SAP/SDP, the application's own SDP or format options, RFC 3551). The
// application subscribes to the streams it wants (by session name, by SDP, by address, port and
// SSRC, or every audio stream) and receives their samples through a callback: 32-bit integers
// (left-justified: full scale is INT32_MIN..INT32_MAX whatever the depth on the wire) or 32-bit
// floats in [-1, 1), interleaved or one buffer per channel, in RTP-timestamp order through a
// reorder window of sequence numbers.
//
//   rtcap::StreamTracker tracker;  // compiled in tests/unit/test_header_examples.cpp
//   rtcap::AudioReceiver audio(tracker);
//   rtcap::AudioSubscription sub;  // every audio stream, float32 interleaved
//   sub.on_audio = [](const rtcap::AudioBlock& b) { /* b.frames x b.channels */ };
//   (void)audio.subscribe(std::move(sub));
//   for (rtcap::PacketView p : batch) { tracker.add(p, linktype); audio.add(p, linktype); }
//
// A stream is taken once the catalogue calls its format ready (its RTP sequence validated, the
// packets agree with the format): the packets of its first milliseconds before that are not
// delivered. A stream fans out to every subscription that selects it and has room (a meter and a
// recorder of one stream: two subscriptions, each with its own format, layout, reorder window
// and buffer from its own fixed memory; the packet is parsed once). A stream a subscription
// selects and will not get (no format known, too many channels, max_streams taken) is a
// kNotTaken event. A lost packet becomes silence of exactly its length (the RTP timestamps say
// how long, the arrival clock bounds it) inside the deliveries, reported by a kGap event with
// its sample range; AudioSubscription::loss = kGapOnly delivers no silence, the gap event only.
// A change of format and the end of a stream are events too.
//
// ST 2022-7: the two legs of a redundant stream (two groups or interfaces, one RTP stream) are
// two streams here, each delivered on its own with its own loss as silence; the receiver does
// not merge them. AudioStreamInfo names the pair (redundancy_group, redundancy_leg,
// redundant_peer, from the catalogue's 2022-7 analysis: a=group:DUP or one SSRC on two paths),
// so the application can take one leg (select it by address) or merge the two itself: same RTP
// timestamps, and a kGap on one leg whose range the other leg delivered is no loss. The pair is
// named at kStart when both legs are seen before the stream is taken (legs start together), else
// from the next change of the catalogue.
//
// Memory is fixed when the subscription is made (max_streams streams of max_channels channels,
// reorder_packets slots of max_payload_bytes, one delivery buffer each); add() allocates nothing,
// takes no lock, makes no system call and never throws (callbacks must not throw either: an
// exception from one is caught, counted and the subscription's streams go on). Not thread-safe:
// the thread that feeds the tracker (the capture thread inline, the consumer thread threaded)
// owns the receiver and runs the callbacks.
#pragma once

#include "rtcap/export.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rtcap/analysis.hpp"
#include "rtcap/batch.hpp"
#include "rtcap/error.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap {

enum class SampleFormat : std::uint8_t { kInt32, kFloat32 };
enum class ChannelLayout : std::uint8_t { kInterleaved, kPlanar };
enum class LossFill : std::uint8_t {
  kSilence,  // a lost packet is zeros of its length in the deliveries, and a kGap event
  kGapOnly,  // the kGap event only: the next delivery starts after the gap
};

// Which streams a subscription takes. Every field set must match; a default selector takes
// every PCM stream the catalogue knows the format of.
struct AudioSelector {
  std::string session_name;  // the SDP's s= (SAP or an SDP given to the tracker); "": any
  IpAddress dst;             // unset: any destination
  int dst_port = -1;         // -1: any
  IpAddress src;             // unset: any source
  bool has_ssrc = false;
  std::uint32_t ssrc = 0;
  int payload_type = -1;  // -1: any

  [[nodiscard]] static AudioSelector every_stream() { return {}; }
  [[nodiscard]] static AudioSelector session(std::string name) {
    AudioSelector s;
    s.session_name = std::move(name);
    return s;
  }
  // The stream an SDP media description describes: its group and port, its a=source-filter
  // source when it has one, its payload type. AudioReceiver::subscribe gives the SDP to the
  // tracker's catalogue, which then knows the format.
  [[nodiscard]] static AudioSelector sdp(const SdpFormat& f) {
    AudioSelector s;
    s.dst = f.group;
    s.dst_port = f.port;
    s.src = f.source;
    s.payload_type = f.payload_type;
    return s;
  }
  [[nodiscard]] static AudioSelector address(const IpAddress& dst, std::uint16_t port) {
    AudioSelector s;
    s.dst = dst;
    s.dst_port = port;
    return s;
  }
};

// The levels a subscription measures (ChannelLevels says what each figure means).
struct AudioLevelsConfig {
  bool enabled = true;  // kLevels events once a second, and AudioReceiver::levels()
  // kMinSilenceThresholdDbfs..kMaxSilenceThresholdDbfs (-200 to 0); NaN and infinities refused.
  double silence_threshold_dbfs = kDefaultSilenceThresholdDbfs;
  std::uint32_t silence_ms = kDefaultSilenceMs;
};

// One stream a subscription took, as its events and deliveries name it.
struct AudioStreamInfo {
  std::uint64_t id = 0;  // the receiver's own number for the stream, from 1, never reused
  StreamKey key;
  int payload_type = -1;
  int bits = 0;  // on the wire: 16 or 24
  std::uint32_t rate_hz = 0;
  int channels = 0;
  std::string source;        // where the format came from (PcmStreamFormat::source)
  std::string session_name;  // the SDP's s=, when an SDP describes the stream
  // ST 2022-7: this stream is one leg of a redundant pair; the other leg is a stream of its own
  // (the receiver does not merge them: see "ST 2022-7" above). The pair's group ("DUP primary
  // secondary", "ssrc 0x1a2b3c4d"), this leg (0 or 1) and the other leg; "" and -1: no pair.
  std::string redundancy_group;
  int redundancy_leg = -1;
  StreamKey redundant_peer;
};

// A run of samples of one stream. `frames` frames of `channels` samples; sample (f, c) is at
// data[f * frame_stride + c * channel_stride] (interleaved: frame_stride = channels,
// channel_stride = 1; planar: frame_stride = 1, channel_stride >= frames). Valid during the
// callback only.
struct AudioBlock {
  const AudioStreamInfo* stream = nullptr;
  SampleFormat format = SampleFormat::kFloat32;
  ChannelLayout layout = ChannelLayout::kInterleaved;
  const void* data = nullptr;  // std::int32_t or float, as `format` says
  std::size_t frames = 0;
  int channels = 0;
  std::size_t frame_stride = 0;     // in samples
  std::size_t channel_stride = 0;   // in samples
  std::uint32_t rtp_timestamp = 0;  // of the first frame
  // Capture time (CLOCK_REALTIME ns) of the first packet whose samples are in the block; a
  // block that starts with a gap's silence carries the capture time of the packet after it.
  std::int64_t capture_ns = 0;
  std::uint64_t first_frame = 0;     // frames delivered before this block (silence included)
  std::uint64_t silence_frames = 0;  // of `frames`: lost packets filled with silence

  [[nodiscard]] const std::int32_t* int32() const noexcept {
    return static_cast<const std::int32_t*>(data);
  }
  [[nodiscard]] const float* float32() const noexcept { return static_cast<const float*>(data); }
};

struct AudioEvent {
  enum class Kind : std::uint8_t {
    kStart,          // the stream was taken: `stream` holds its format
    kGap,            // packets lost: the gap_* fields
    kDiscontinuity,  // an RTP timestamp jump not filled: backwards, longer than the arrival
                     // time allows, or more than the lost sequence numbers could carry
    kFormatChange,   // the catalogue now gives another format: `stream` holds the new one
    kLevels,         // a second of levels was measured: `levels`, one per channel
    kEnd,            // no more samples: `why` says why
    // A stream the subscription selects and will not get: `why` says why (no format known after
    // a second of packets, with the format the packets suggest; more channels than max_channels;
    // max_streams all taken). `stream` holds what is known (id 0: never taken). Once per stream
    // and reason; the stream is still taken when the reason goes (an SDP arrives; a slot frees
    // and the catalogue changes).
    kNotTaken,
  };
  Kind kind = Kind::kStart;
  const AudioStreamInfo* stream = nullptr;
  // kGap: the lost samples are RTP timestamps [gap_rtp_timestamp, + gap_frames), frames
  // [gap_first_frame, + gap_frames) of the stream's deliveries (silence in them, or skipped
  // with LossFill::kGapOnly); the first lost sequence number and how many packets.
  std::uint32_t gap_rtp_timestamp = 0;
  std::uint64_t gap_first_frame = 0;
  std::uint64_t gap_frames = 0;
  std::uint16_t gap_first_seq = 0;
  std::uint64_t gap_packets = 0;
  bool gap_filled = false;                // silence was delivered in its place
  const ChannelLevels* levels = nullptr;  // kLevels: stream->channels entries
  const char* why = "";                   // kEnd, kDiscontinuity, kNotTaken: one line
};

struct AudioSubscription {
  AudioSelector selector;
  // The application's own description of its streams (an SDP file it read): subscribe() gives
  // them to the tracker's catalogue, the one place formats come from. They describe formats,
  // they select nothing: the selector does.
  std::vector<SdpFormat> sdp;
  // The same as SDP text: subscribe() parses it (parse_sdp_streams) and refuses a text that
  // holds no media description (kBadConfig, setting "sdp"), as C and Python do.
  std::string sdp_text;
  SampleFormat format = SampleFormat::kFloat32;
  ChannelLayout layout = ChannelLayout::kInterleaved;
  LossFill loss = LossFill::kSilence;
  // Frames per delivery (480: 10 ms at 48 kHz); 0: each packet's samples as soon as they are in
  // order (and a gap's silence in pieces of at most max_payload_bytes / 2 samples).
  std::size_t frames_per_delivery = 480;
  // Packets a sequence number may arrive late and still land in place: 32 at 125 us packets is
  // 4 ms of reordering, more than a switched LAN produces. Each stream waits for at most this
  // many packets before it declares one lost. A power of two, 1 to 1024.
  std::size_t reorder_packets = 32;
  std::size_t max_payload_bytes = 1500;  // larger payloads are counted (malformed), not used
  int max_channels = 8;                  // streams with more are not taken (1..kMaxChannels)
  std::size_t max_streams = 16;          // taken at once; an idle one makes room
  // A stream with no packet for this long (packet time) has ended: kEnd.
  std::uint32_t end_after_ms = 1000;
  AudioLevelsConfig levels;
  // Optional: the memory each delivery is written into, the application's own (a numpy array,
  // a ring slot), so that a sample is copied once, from the packet to where it is kept. Asked
  // once per delivery, before its first sample is written, for `samples` 4-byte samples (the
  // delivery's capacity in frames x the stream's channels; planar: channel c from c x capacity
  // frames on, as AudioBlock::channel_stride says), 4-byte aligned. The block's data then points
  // there and the receiver writes it no more once on_audio returns. nullptr (or an exception)
  // gives the receiver's own buffer for that delivery, valid during the callback only.
  std::function<void*(const AudioStreamInfo& stream, std::size_t samples)> buffer;
  std::function<void(const AudioBlock&)> on_audio;
  std::function<void(const AudioEvent&)> on_event;
};

// A subscription's counts, all its streams together.
struct AudioSubscriptionStats {
  std::uint64_t streams = 0;  // taken in all
  // Selected and not taken (kNotTaken says why), each stream once.
  std::uint64_t streams_not_taken = 0;
  std::uint64_t packets = 0;         // whose samples were delivered
  std::uint64_t frames = 0;          // delivered, silence included
  std::uint64_t silence_frames = 0;  // filled for lost packets
  std::uint64_t gaps = 0;
  std::uint64_t lost_packets = 0;       // sequence numbers never seen
  std::uint64_t late_or_duplicate = 0;  // after their place was delivered, twice, or a lone jump
  std::uint64_t malformed = 0;          // not whole frames, or over max_payload_bytes
  std::uint64_t discontinuities = 0;
  std::uint64_t callback_exceptions = 0;    // a callback threw (caught)
  std::uint64_t own_buffer_deliveries = 0;  // with `buffer` set: it gave none, the receiver's
};

// The levels of one stream a subscription holds now.
struct AudioStreamLevels {
  AudioStreamInfo stream;
  std::vector<ChannelLevels> channels;
};

class RTCAP_API AudioReceiver {
 public:
  // `tracker` must be fed every packet before this receiver and outlive it: fed the same packet
  // or batch right after the tracker, the receiver reads what the tracker parsed and parses
  // nothing itself. It keeps a record per stream of the tracker's table (max_streams):
  // `max_records` is unused, kept for source compatibility.
  explicit AudioReceiver(StreamTracker& tracker, std::size_t max_records = 1024);
  ~AudioReceiver();
  AudioReceiver(const AudioReceiver&) = delete;
  AudioReceiver& operator=(const AudioReceiver&) = delete;

  // Misuse, refused alike here, in C and in Python: subscribe() and unsubscribe() from inside one
  // of this receiver's callbacks answer kBusy (the receiver is delivering; call them after the
  // callback returns); add(), expire() and finish() from inside a callback do nothing.
  // Destroying the receiver from inside its own callback is safe: no further callback runs and
  // the memory goes when the call that ran the callback returns.

  // Allocates the subscription's memory; its number (from 1). kBadConfig names the field when a
  // value is out of range. Cold. Streams other subscriptions already take are taken by this
  // one too from their next packet.
  [[nodiscard]] Result<int> subscribe(AudioSubscription subscription);
  // Ends its streams (kEnd events) and frees its memory. kBadConfig (setting "subscription") for
  // a number subscribe() did not give or already unsubscribed.
  [[nodiscard]] Result<void> unsubscribe(int id);

  // Hot path. `linktype` is the handle's pcap_datalink() value.
  void add(const PacketView& packet, int linktype) noexcept;
  void add(const Batch& batch, Span<const int> linktype_by_interface) noexcept;
  // Ends the streams idle for their end_after_ms at `now_ns` (CLOCK_REALTIME, as packet
  // stamps): for an application whose capture went quiet. add() does it by packet time.
  void expire(std::int64_t now_ns) noexcept;
  // Delivers what every window and buffer holds and ends every stream (kEnd). Capture over.
  void finish() noexcept;

  // kBadConfig (setting "subscription") for a number that is not a live subscription.
  [[nodiscard]] Result<AudioSubscriptionStats> stats(int id) const;
  // The levels of every stream the subscription holds now (cold); kBadConfig as stats().
  [[nodiscard]] Result<std::vector<AudioStreamLevels>> levels(int id) const;
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  struct RTCAP_LOCAL Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtcap
