// The live audio API (rtcap/audio.hpp) on the shared depacketiser core (io/rtp_reorder.hpp).
//
// Per packet: no parse and no lookup of its own: the stream tracker hands over each RTP packet
// it parsed with its stream's slot (analysis/rtp_handoff.hpp), and the receiver's record of the
// stream is that slot's; then the stream's reorder window. The catalogue (StreamTracker) is
// asked only when a stream is new to the receiver, when the catalogue changed, and when what
// its answer depends on changed (validation, payload type and size, the RTP timestamp step).
#include "rtcap/audio.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "analysis/levels.hpp"
#include "analysis/rtp_handoff.hpp"
#include "analysis/saturating.hpp"
#include "io/audio_words.hpp"
#include "io/pcm.hpp"
#include "io/rtp_reorder.hpp"

namespace rtcap {
namespace {

using io::ReorderWindow;

// A stream's idleness is looked at every 100 ms of packet time: kEnd within end_after_ms + 100.
constexpr std::int64_t kExpireCheckNs = 100'000'000;
constexpr std::size_t kMaxReorderPackets = 1024;  // far more than a LAN reorders; int16 distances
constexpr std::size_t kMaxFramesPerDelivery = 1u << 20;
constexpr std::size_t kMaxStreamsPerSubscription = 4096;
// What one subscription may allocate: 1 GiB is 64 streams of 1024 jumbo-frame slots.
constexpr std::uint64_t kMaxSubscriptionBytes = 1ull << 30;
constexpr float kInt32ToFloat = 1.0f / 2147483648.0f;
// Samples converted at a time through the stack (4 KiB): a packet's, or a jumbo frame's in two.
constexpr std::size_t kScratchSamples = 1024;

enum class RecordState : std::uint8_t { kFree, kPending, kIgnored, kTaken };

struct Record {
  std::uint64_t stream_id = 0;  // the tracker's id of the stream in this slot
  StreamKey key;
  RecordState state = RecordState::kFree;
  bool waits_for_packets = false;  // format known, the catalogue waits for the timestamp step
  std::uint64_t version_seen = ~0ull;
  // What the catalogue's answer was given for (RtpHandoffPacket says why these).
  bool validated_seen = false;
  std::uint8_t payload_type_seen = 0;
  std::uint32_t payload_bytes_seen = 0;
  std::uint32_t samples_per_packet_seen = 0;
  std::int32_t sub = -1;
  std::int32_t slot = -1;
  std::int64_t no_format_since_ns = 0;  // pending without a format: since when
  std::int64_t recheck_ns = 0;          // ask the catalogue again at this packet time (0: no)
};

// Why a subscription that selects a stream does not get it (AudioEvent::kNotTaken).
enum class NotTaken : std::uint8_t { kNone, kNoFormat, kChannels, kFull };

// A stream with no format known is said not taken after this long: a SAP announcement sent as the
// stream starts has arrived by then, and the tracker's inferred format (its hint) is known.
constexpr std::int64_t kNoFormatWaitNs = 1'000'000'000;

bool selects(const AudioSelector& s, const StreamKey& key, int payload_type,
             const std::string& session_name) {
  if (!s.session_name.empty() && s.session_name != session_name) return false;
  if (s.dst.family != 0 && s.dst != key.dst) return false;
  if (s.dst_port >= 0 && s.dst_port != key.dst_port) return false;
  if (s.src.family != 0 && s.src != key.src) return false;
  if (s.has_ssrc && s.ssrc != key.ssrc) return false;
  return s.payload_type < 0 || s.payload_type == payload_type;
}

Unexpected no_subscription(const char* function, int id) {
  std::string reason = fmt::format(
      "{} is not a subscription of this receiver (never subscribed, or unsubscribed)", id);
  Error e{ErrorCode::kBadConfig,
          fmt::format("AudioReceiver::{}: subscription {}", function, reason), "subscription",
          reason};
  return Unexpected{std::move(e)};
}

Unexpected busy(const char* function) {
  return Unexpected{Error{ErrorCode::kBusy, fmt::format("AudioReceiver::{}: {}", function,
                                                        detail::kAudioCallFromCallback)}};
}

Unexpected bad(const char* setting, std::string reason) {
  Error e{ErrorCode::kBadConfig, std::string("audio subscription ") + setting + ": " + reason,
          setting, reason};
  return Unexpected{std::move(e)};
}

}  // namespace

struct AudioReceiver::Impl {
  struct Slot {
    bool active = false;
    std::int32_t record = -1;
    // The next subscription's slot taking the same stream (the record's chain, oldest first).
    std::int32_t next_sub = -1;
    std::int32_t next_slot = -1;
    AudioStreamInfo info;
    ReorderWindow window;
    std::vector<std::uint32_t> buffer;  // int32 or float bits, capacity_samples
    std::uint32_t* out = nullptr;       // this delivery's: `buffer` or the application's
    std::size_t capacity_frames = 0;
    std::size_t buffered = 0;        // frames
    std::uint32_t buffer_rtp = 0;    // of the buffer's first frame
    std::uint64_t buffer_first = 0;  // stream position of the buffer's first frame
    std::int64_t buffer_capture_ns = 0;
    bool buffer_has_capture = false;
    std::uint64_t buffer_silence = 0;
    std::uint64_t position = 0;  // stream frames up to next_ts (gaps included)
    std::uint32_t next_ts = 0;
    std::int64_t last_arrival_ns = 0;
    std::int64_t last_ns = 0;
    std::int64_t last_recheck_ns = 0;
    std::uint64_t packets = 0;
    std::uint32_t frame_bytes = 0;         // channels x bytes per sample
    std::uint32_t last_payload_bytes = 0;  // and its frames: a division per size, not per packet
    std::uint32_t last_payload_frames = 0;
    analysis::LevelMeter meter;
    std::uint64_t levels_seconds = 0;
    std::uint64_t metered_frames = 0;   // given to the meter since start()
    std::uint64_t next_second_at = 0;   // metered_frames at which the meter completes a second
    std::vector<ChannelLevels> levels;  // max_channels
  };
  struct Sub {
    std::int32_t index = 0;  // in subs
    AudioSubscription config;
    std::vector<Slot> slots;
    AudioSubscriptionStats stats;
    std::size_t capacity_samples = 0;
    // Per record: the stream (tracker id) said not taken, and why: once per stream and reason.
    struct Refusal {
      std::uint64_t stream = 0;  // the tracker's stream id + 1 (its ids start at 0); 0: none
      NotTaken why = NotTaken::kNone;
    };
    std::vector<Refusal> refused;
  };

  StreamTracker& tracker;
  std::vector<Record> records;  // one per tracker slot
  std::vector<std::unique_ptr<Sub>> subs;
  std::uint64_t next_stream_id = 1;
  std::int64_t next_expire_ns = 0;
  analysis::HandoffCursor cursor;
  int in_callback = 0;    // callbacks running (subscribe/unsubscribe refused meanwhile)
  int running = 0;        // add/expire/finish/unsubscribe calls on the stack
  bool orphaned = false;  // the receiver was destroyed from a callback: nothing more runs

  explicit Impl(StreamTracker& t) : tracker(t) { records.resize(t.config().max_streams); }

  // An entry point that may run callbacks: a callback that destroys the receiver leaves its
  // Impl to the outermost such call, which frees it on the way out.
  class Running {
   public:
    explicit Running(std::unique_ptr<Impl>& impl) : impl_(impl.get()) { ++impl_->running; }
    ~Running() {
      if (--impl_->running == 0 && impl_->orphaned) delete impl_;
    }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;
    [[nodiscard]] Impl& impl() const noexcept { return *impl_; }

   private:
    Impl* impl_;
  };

  // ---- callbacks: an exception stays here ----
  void call(Sub& sub, const AudioEvent& e) noexcept {
    if (!sub.config.on_event || orphaned) return;
    ++in_callback;
    try {
      sub.config.on_event(e);
    } catch (...) {
      ++sub.stats.callback_exceptions;
    }
    --in_callback;
  }
  void deliver(Sub& sub, Slot& s) noexcept {
    if (s.buffered == 0) return;
    const int ch = s.info.channels;
    AudioBlock b;
    b.stream = &s.info;
    b.format = sub.config.format;
    b.layout = sub.config.layout;
    b.data = s.out;
    b.frames = s.buffered;
    b.channels = ch;
    const bool planar = sub.config.layout == ChannelLayout::kPlanar;
    b.frame_stride = planar ? 1 : static_cast<std::size_t>(ch);
    b.channel_stride = planar ? s.capacity_frames : 1;
    b.rtp_timestamp = s.buffer_rtp;
    b.capture_ns = s.buffer_capture_ns;
    b.first_frame = s.buffer_first;
    b.silence_frames = s.buffer_silence;
    sub.stats.frames += s.buffered;
    s.buffered = 0;
    s.buffer_silence = 0;
    s.buffer_has_capture = false;
    if (!sub.config.on_audio || orphaned) return;
    ++in_callback;
    try {
      sub.config.on_audio(b);
    } catch (...) {
      ++sub.stats.callback_exceptions;
    }
    --in_callback;
  }

  // The memory of a delivery about to start: the application's when it gives some.
  std::uint32_t* delivery_memory(Sub& sub, Slot& s) noexcept {
    if (!sub.config.buffer || orphaned) return s.buffer.data();
    void* p = nullptr;
    ++in_callback;
    try {
      p = sub.config.buffer(s.info, s.capacity_frames * static_cast<std::size_t>(s.info.channels));
    } catch (...) {
      ++sub.stats.callback_exceptions;
    }
    --in_callback;
    if (p == nullptr || reinterpret_cast<std::uintptr_t>(p) % alignof(std::uint32_t) != 0) {
      ++sub.stats.own_buffer_deliveries;
      return s.buffer.data();
    }
    return static_cast<std::uint32_t*>(p);
  }

  // Room in the buffer: starts a block at the stream's current position.
  std::size_t room(Sub& sub, Slot& s, std::int64_t capture_ns) noexcept {
    if (s.buffered == s.capacity_frames) deliver(sub, s);
    if (s.buffered == 0) {
      s.buffer_rtp = s.next_ts;
      s.buffer_first = s.position;
      s.out = delivery_memory(sub, s);
    }
    if (!s.buffer_has_capture) {
      s.buffer_capture_ns = capture_ns;
      s.buffer_has_capture = true;
    }
    return s.capacity_frames - s.buffered;
  }
  std::size_t index(const Sub& sub, const Slot& s, std::size_t frame, int c) const noexcept {
    return sub.config.layout == ChannelLayout::kPlanar
               ? static_cast<std::size_t>(c) * s.capacity_frames + frame
               : frame * static_cast<std::size_t>(s.info.channels) + static_cast<std::size_t>(c);
  }
  void append_silence(Sub& sub, Slot& s, std::uint64_t frames, std::int64_t capture_ns) noexcept {
    const auto ch = static_cast<std::size_t>(s.info.channels);
    const bool planar = sub.config.layout == ChannelLayout::kPlanar;
    while (frames > 0) {
      const std::size_t n = std::min<std::uint64_t>(room(sub, s, capture_ns), frames);
      if (!planar) {
        std::memset(s.out + s.buffered * ch, 0, n * ch * 4);  // 0.0f is all zero bits too
      } else {
        for (std::size_t c = 0; c < ch; ++c)
          std::memset(s.out + c * s.capacity_frames + s.buffered, 0, n * 4);
      }
      s.buffered += n;
      s.buffer_silence += n;
      s.position += n;
      s.next_ts += static_cast<std::uint32_t>(n);
      frames -= n;
    }
  }

  // A packet's samples into the delivery, and into the level meter. Each sample is read from the
  // packet once: straight into the delivery (interleaved without levels, or int32), or else
  // through a scratch of left-justified integers on the stack that the meter reads and the
  // delivery's layout and format are written from.
  void append_samples(Sub& sub, Slot& s, const std::uint8_t* p, std::size_t frames,
                      std::int64_t capture_ns) noexcept {
    const auto ch = static_cast<std::size_t>(s.info.channels);
    const std::size_t w = s.info.bits == 16 ? 2 : 3;
    const bool planar = sub.config.layout == ChannelLayout::kPlanar;
    const bool to_float = sub.config.format == SampleFormat::kFloat32;
    const bool levels = sub.config.levels.enabled;
    while (frames > 0) {
      const std::size_t n = std::min(room(sub, s, capture_ns), frames);
      if (!planar && !to_float) {
        auto* out = reinterpret_cast<std::int32_t*>(s.out + s.buffered * ch);
        io::big_endian_to_int32(p, out, n * ch, w);
        if (levels) {
          s.meter.add(out, n);
          s.metered_frames += n;
        }
        p += n * ch * w;
      } else if (!planar && !levels) {
        io::big_endian_to_float(p, reinterpret_cast<float*>(s.out + s.buffered * ch), n * ch, w);
        p += n * ch * w;
      } else {
        std::int32_t scratch[kScratchSamples];
        const std::size_t chunk = kScratchSamples / ch;  // >= 16: ch <= kMaxChannels
        for (std::size_t done = 0; done < n;) {
          const std::size_t k = std::min(chunk, n - done);
          io::big_endian_to_int32(p, scratch, k * ch, w);
          if (levels) {
            s.meter.add(scratch, k);
            s.metered_frames += k;
          }
          if (!planar) {
            io::int32_to_float(scratch, reinterpret_cast<float*>(s.out + (s.buffered + done) * ch),
                               k * ch);
          } else {
            for (std::size_t c = 0; c < ch; ++c) {
              std::uint32_t* out = s.out + c * s.capacity_frames + s.buffered + done;
              if (to_float) {
                for (std::size_t f = 0; f < k; ++f) {
                  const float x = static_cast<float>(scratch[f * ch + c]) * kInt32ToFloat;
                  std::memcpy(out + f, &x, sizeof x);
                }
              } else {
                for (std::size_t f = 0; f < k; ++f)
                  out[f] = static_cast<std::uint32_t>(scratch[f * ch + c]);
              }
            }
          }
          p += k * ch * w;
          done += k;
        }
      }
      s.buffered += n;
      s.position += n;
      s.next_ts += static_cast<std::uint32_t>(n);
      frames -= n;
    }
  }

  // One in-order packet of a taken stream (the reorder window's consumer).
  bool take_packet(Sub& sub, Slot& s, const ReorderWindow::Packet& p) noexcept {
    if (p.bytes != s.last_payload_bytes) {
      if (p.bytes % s.frame_bytes != 0) {
        ++sub.stats.malformed;
        return false;
      }
      s.last_payload_bytes = static_cast<std::uint32_t>(p.bytes);
      s.last_payload_frames = static_cast<std::uint32_t>(p.bytes / s.frame_bytes);
    }
    const std::size_t frames = s.last_payload_frames;
    if (s.packets > 0) {
      io::Continuation c =
          io::continue_at(s.next_ts, s.last_arrival_ns, p.ts, p.arrival_ns, s.info.rate_hz);
      // Silence is work here (the extractor's is a seek): only for packets the sequence numbers
      // say were lost, and no more than they could carry; another jump is the sender's.
      if (c.kind == io::Continuation::kGap &&
          (p.missing_run == 0 ||
           c.frames > (p.missing_run + 1) * std::max<std::uint64_t>(frames, 1)))
        c.kind = io::Continuation::kDiscontinuity;
      if (c.kind == io::Continuation::kGap) {
        const bool fill = sub.config.loss == LossFill::kSilence;
        if (!fill) deliver(sub, s);
        AudioEvent e;
        e.kind = AudioEvent::Kind::kGap;
        e.stream = &s.info;
        e.gap_rtp_timestamp = s.next_ts;
        e.gap_first_frame = s.position;
        e.gap_frames = c.frames;
        e.gap_first_seq = p.missing_run > 0 ? p.missing_first : p.seq;
        e.gap_packets = p.missing_run;
        e.gap_filled = fill;
        ++sub.stats.gaps;
        call(sub, e);
        if (fill) {
          sub.stats.silence_frames += c.frames;
          append_silence(sub, s, c.frames, p.arrival_ns);
        } else {
          s.position += c.frames;
          s.next_ts = p.ts;
        }
      } else if (c.kind == io::Continuation::kDiscontinuity) {
        deliver(sub, s);
        ++sub.stats.discontinuities;
        AudioEvent e;
        e.kind = AudioEvent::Kind::kDiscontinuity;
        e.stream = &s.info;
        e.gap_rtp_timestamp = s.next_ts;
        e.gap_first_frame = s.position;
        e.gap_frames = c.frames;
        e.why =
            "RTP timestamp jump not filled: backwards, longer than the arrival time allows, or "
            "not explained by lost sequence numbers";
        call(sub, e);
        s.next_ts = p.ts;
      }
    } else {
      s.next_ts = p.ts;
    }
    append_samples(sub, s, p.payload, frames, p.arrival_ns);
    ++s.packets;
    ++sub.stats.packets;
    s.last_arrival_ns = p.arrival_ns;
    if (sub.config.levels.enabled && s.metered_frames >= s.next_second_at) {
      // The meter completes a second at each rate_hz frames it was given: asked only then.
      while (s.next_second_at <= s.metered_frames)
        s.next_second_at += std::max<std::uint32_t>(s.info.rate_hz, 1);
      if (s.meter.levels(0).seconds != s.levels_seconds) {
        s.levels_seconds = s.meter.levels(0).seconds;
        const int n = std::min(s.info.channels, static_cast<int>(s.levels.size()));
        for (int c = 0; c < n; ++c) s.levels[static_cast<std::size_t>(c)] = s.meter.levels(c);
        AudioEvent e;
        e.kind = AudioEvent::Kind::kLevels;
        e.stream = &s.info;
        e.levels = s.levels.data();
        call(sub, e);
      }
    }
    if (sub.config.frames_per_delivery == 0) deliver(sub, s);
    return true;
  }

  void add_window_counters(Sub& sub, const Slot& s) noexcept {
    const ReorderWindow::Counters& c = s.window.counters();
    sub.stats.lost_packets += c.lost_packets;
    sub.stats.late_or_duplicate += c.late_or_duplicate;
    sub.stats.malformed += c.oversize;
  }

  // Everything held goes out, in order, before an event that changes the stream.
  void drain(Sub& sub, Slot& s) noexcept {
    s.window.drain([&](const ReorderWindow::Packet& p) { return take_packet(sub, s, p); });
    deliver(sub, s);
  }

  void end(Sub& sub, Slot& s, const char* why) noexcept {
    drain(sub, s);
    add_window_counters(sub, s);
    AudioEvent e;
    e.kind = AudioEvent::Kind::kEnd;
    e.stream = &s.info;
    e.why = why;
    call(sub, e);
    s.active = false;
    if (s.record >= 0) {
      Record& r = records[static_cast<std::size_t>(s.record)];
      unlink(r, sub.index, static_cast<std::int32_t>(&s - sub.slots.data()), s);
      if (r.sub < 0) {
        r.state = RecordState::kPending;  // a stream that comes back is taken again
        r.version_seen = ~0ull;
      }
    }
    s.record = -1;
    // A slot is free: the streams this subscription refused for want of one get another look.
    for (std::size_t ri = 0; ri < sub.refused.size() && ri < records.size(); ++ri)
      if (sub.refused[ri].why == NotTaken::kFull &&
          sub.refused[ri].stream == records[ri].stream_id + 1)
        records[ri].version_seen = ~0ull;
  }

  // Takes slot (si, sl) out of the record's chain; `s` is that slot (its Sub may be gone from
  // subs already: unsubscribe).
  void unlink(Record& r, std::int32_t si, std::int32_t sl, Slot& s) noexcept {
    std::int32_t* link_sub = &r.sub;
    std::int32_t* link_slot = &r.slot;
    while (*link_sub >= 0 && !(*link_sub == si && *link_slot == sl)) {
      Slot& x =
          subs[static_cast<std::size_t>(*link_sub)]->slots[static_cast<std::size_t>(*link_slot)];
      link_sub = &x.next_sub;
      link_slot = &x.next_slot;
    }
    if (*link_sub < 0) return;
    *link_sub = s.next_sub;
    *link_slot = s.next_slot;
    s.next_sub = s.next_slot = -1;
  }

  // Each subscription's slot taking the stream of `r`; `f` may end the slot it is given.
  template <class F>
  void each_taker(const Record& r, F&& f) {
    for (std::int32_t si = r.sub, sl = r.slot; si >= 0;) {
      Sub& sub = *subs[static_cast<std::size_t>(si)];
      Slot& s = sub.slots[static_cast<std::size_t>(sl)];
      const std::int32_t next_sub = s.next_sub, next_slot = s.next_slot;
      f(sub, s);
      si = next_sub;
      sl = next_slot;
    }
  }

  // What the catalogue says of a stream's format, as a subscriber sees it.
  static void set_format(AudioStreamInfo& info, const PcmStreamFormat& pf) {
    info.bits = pf.bits;
    info.rate_hz = pf.rate_hz;
    info.channels = pf.channels;
    info.source = pf.source;
    info.session_name = pf.session_name;
  }

  static void set_pairing(Slot& s, const PcmStreamFormat& pf) {
    s.info.redundancy_group = pf.redundancy_group;
    s.info.redundancy_leg = pf.redundancy_leg;
    s.info.redundant_peer = pf.redundant_peer;
  }

  void start(Sub& sub, Slot& s, const PcmStreamFormat& pf) {
    set_pairing(s, pf);
    set_format(s.info, pf);
    s.capacity_frames = sub.config.frames_per_delivery > 0
                            ? sub.config.frames_per_delivery
                            : sub.capacity_samples / static_cast<std::size_t>(pf.channels);
    s.window.restart();
    s.buffered = 0;
    s.buffer_silence = 0;
    s.buffer_has_capture = false;
    s.position = 0;
    s.packets = 0;
    analysis::LevelsConfig lc;
    lc.silence_threshold_dbfs = sub.config.levels.silence_threshold_dbfs;
    lc.silence_ms = sub.config.levels.silence_ms;
    s.meter.reset(pf.rate_hz, pf.channels, pf.bits, lc);
    s.levels_seconds = 0;
    s.metered_frames = 0;
    s.next_second_at = std::max<std::uint32_t>(pf.rate_hz, 1);
    s.frame_bytes =
        static_cast<std::uint32_t>(pf.channels) * static_cast<std::uint32_t>(pf.bits / 8);
    s.last_payload_bytes = 0;
    s.last_payload_frames = 0;
  }

  // A stream `sub` selects and does not get: counted once per stream, an event once per reason.
  void not_taken(std::size_t si, const Record& r, std::int32_t ri, const PcmStreamFormat& pf,
                 int payload_type, NotTaken why) {
    Sub& sub = *subs[si];
    Sub::Refusal& seen = sub.refused[static_cast<std::size_t>(ri)];
    if (seen.stream == r.stream_id + 1 && seen.why == why) return;
    if (seen.stream != r.stream_id + 1) ++sub.stats.streams_not_taken;
    seen = {r.stream_id + 1, why};
    AudioStreamInfo info;
    info.key = r.key;
    info.payload_type = payload_type;
    set_format(info, pf);
    std::string text;
    switch (why) {
      case NotTaken::kNoFormat:
        text = "no format known (it is taken once one is): " + pf.why;
        break;
      case NotTaken::kChannels:
        text = fmt::format("{} channels, more than the subscription's max_channels ({})",
                           pf.channels, sub.config.max_channels);
        break;
      case NotTaken::kFull:
        text = fmt::format("the subscription's max_streams ({}) streams are all taken",
                           sub.config.max_streams);
        break;
      case NotTaken::kNone:
        break;
    }
    AudioEvent e;
    e.kind = AudioEvent::Kind::kNotTaken;
    e.stream = &info;
    e.why = text.c_str();
    call(sub, e);
  }
  // Every subscription that selects the (ready) stream of `r` and does not take it yet takes it
  // now, after the ones that have it: a stream fans out to all its subscriptions.
  void offer(Record& r, std::int32_t ri, const PcmStreamFormat& pf, int payload_type,
             std::int64_t now_ns) {
    std::int32_t* tail_sub = &r.sub;
    std::int32_t* tail_slot = &r.slot;
    while (*tail_sub >= 0) {
      Slot& x =
          subs[static_cast<std::size_t>(*tail_sub)]->slots[static_cast<std::size_t>(*tail_slot)];
      tail_sub = &x.next_sub;
      tail_slot = &x.next_slot;
    }
    for (std::size_t si = 0; si < subs.size(); ++si) {
      if (!subs[si]) continue;
      Sub& sub = *subs[si];
      if (!selects(sub.config.selector, r.key, payload_type, pf.session_name)) continue;
      bool has = false;
      each_taker(r, [&](const Sub& t, const Slot&) { has = has || &t == &sub; });
      if (has) continue;
      if (pf.channels > sub.config.max_channels) {
        not_taken(si, r, ri, pf, payload_type, NotTaken::kChannels);
        continue;
      }
      auto it =
          std::find_if(sub.slots.begin(), sub.slots.end(), [](const Slot& x) { return !x.active; });
      if (it == sub.slots.end()) {
        not_taken(si, r, ri, pf, payload_type, NotTaken::kFull);
        continue;
      }
      Slot& s = *it;
      s.active = true;
      s.record = ri;
      s.next_sub = s.next_slot = -1;
      s.last_ns = now_ns;
      s.info.id = next_stream_id++;
      s.info.key = r.key;
      s.info.payload_type = payload_type;
      start(sub, s, pf);
      *tail_sub = static_cast<std::int32_t>(si);
      *tail_slot = static_cast<std::int32_t>(it - sub.slots.begin());
      tail_sub = &s.next_sub;
      tail_slot = &s.next_slot;
      r.state = RecordState::kTaken;
      ++sub.stats.streams;
      AudioEvent e;
      e.kind = AudioEvent::Kind::kStart;
      e.stream = &s.info;
      call(sub, e);
    }
  }

  // A stream new to the receiver, or pending, or the catalogue changed: what is it now?
  void resolve(Record& r, std::int32_t ri, int payload_type, std::int64_t now_ns) {
    const StreamKey& key = r.key;
    const PcmStreamFormat pf = tracker.pcm_format(key);
    r.version_seen = tracker.catalogue_version();
    r.waits_for_packets = pf.state == FormatState::kPending && pf.rate_hz != 0;
    if (r.state == RecordState::kTaken) {
      const AudioStreamInfo& now =
          subs[static_cast<std::size_t>(r.sub)]->slots[static_cast<std::size_t>(r.slot)].info;
      if (pf.state == FormatState::kReady && pf.bits == now.bits && pf.rate_hz == now.rate_hz &&
          pf.channels == now.channels) {
        each_taker(r, [&](Sub&, Slot& s) { set_pairing(s, pf); });
        offer(r, ri, pf, payload_type, now_ns);  // a subscription made since
        return;
      }
      // A new format the catalogue checks against the next packets (its timestamp step): the
      // stream goes on in the format it has until the answer.
      if (r.waits_for_packets) return;
      each_taker(r, [&](Sub& sub, Slot& s) {
        if (pf.state != FormatState::kReady || pf.channels > sub.config.max_channels) {
          end(sub, s,
              pf.state == FormatState::kReady ? "its new format has more channels than "
                                                "the subscription's max_channels"
                                              : "the catalogue no longer gives it a usable "
                                                "format");
          return;
        }
        drain(sub, s);
        add_window_counters(sub, s);
        start(sub, s, pf);
        AudioEvent e;
        e.kind = AudioEvent::Kind::kFormatChange;
        e.stream = &s.info;
        call(sub, e);
      });
      if (r.sub < 0) r.state = RecordState::kIgnored;  // until the catalogue changes again
      r.version_seen = tracker.catalogue_version();
      return;
    }
    if (pf.state == FormatState::kPending || pf.state == FormatState::kUnknownStream) {
      r.state = RecordState::kPending;
      if (pf.state == FormatState::kPending && pf.validated && pf.rate_hz == 0) {
        if (r.no_format_since_ns == 0) r.no_format_since_ns = now_ns;
        if (now_ns - r.no_format_since_ns < kNoFormatWaitNs) {
          r.recheck_ns = analysis::sat_add(now_ns, kExpireCheckNs);
          return;
        }
        r.recheck_ns = 0;
        for (std::size_t si = 0; si < subs.size(); ++si)
          if (subs[si] && selects(subs[si]->config.selector, key, payload_type, pf.session_name))
            not_taken(si, r, ri, pf, payload_type, NotTaken::kNoFormat);
      }
      return;
    }
    r.state = RecordState::kIgnored;
    if (pf.state != FormatState::kReady) return;
    offer(r, ri, pf, payload_type, now_ns);
  }

  void expire(std::int64_t now_ns) noexcept {
    for (auto& sp : subs) {
      if (!sp) continue;
      const std::int64_t idle_ns = std::int64_t{sp->config.end_after_ms} * 1'000'000;
      for (Slot& s : sp->slots)
        if (s.active && analysis::sat_sub(now_ns, s.last_ns) > idle_ns)
          end(*sp, s, "no packet for end_after_ms: the stream ended");
    }
  }

  // One RTP packet of the tracker's, with its stream's slot.
  void take(const analysis::RtpHandoffPacket& e) noexcept {
    if (orphaned) return;
    if (e.ts_ns >= next_expire_ns) {
      next_expire_ns = analysis::sat_add(e.ts_ns, kExpireCheckNs);
      expire(e.ts_ns);
    }
    if (e.stream >= records.size()) return;
    const auto ri = static_cast<std::int32_t>(e.stream);
    Record& r = records[e.stream];
    if (r.state == RecordState::kFree || r.stream_id != e.stream_id) {
      // Another stream in the slot: the tracker's table was full and forgot the one before.
      if (r.state == RecordState::kTaken)
        each_taker(r, [&](Sub& sub, Slot& s) {
          end(sub, s, "the stream tracker's table was full and forgot the stream");
        });
      r = Record{};
      // Junk never takes a record: only a stream whose RTP sequence the tracker validated.
      if (!e.validated) return;
      r.stream_id = e.stream_id;
      r.key = tracker.rtp_stream_key(e.stream);
      r.state = RecordState::kPending;
    }
    const std::uint64_t version = tracker.catalogue_version();
    const bool inputs_changed = r.validated_seen != e.validated ||
                                r.payload_type_seen != e.payload_type ||
                                r.payload_bytes_seen != e.payload_bytes ||
                                r.samples_per_packet_seen != e.samples_per_packet;
    if (r.version_seen != version ||
        (inputs_changed && (r.state != RecordState::kTaken || r.waits_for_packets)) ||
        (r.recheck_ns != 0 && e.ts_ns >= r.recheck_ns)) {
      r.recheck_ns = 0;
      r.validated_seen = e.validated;
      r.payload_type_seen = e.payload_type;
      r.payload_bytes_seen = e.payload_bytes;
      r.samples_per_packet_seen = e.samples_per_packet;
      try {
        resolve(r, ri, e.payload_type, e.ts_ns);
      } catch (...) {  // the catalogue's strings: out of memory
        return;
      }
    }
    if (r.state != RecordState::kTaken) return;
    each_taker(r, [&](Sub& sub, Slot& s) {
      s.last_ns = e.ts_ns;
      const std::uint64_t malformed = sub.stats.malformed;
      s.window.add(e.seq, e.rtp_ts, e.ts_ns, e.payload, e.payload_bytes,
                   [&](const ReorderWindow::Packet& p) { return take_packet(sub, s, p); });
      // Packets that do not fit the format: ask the catalogue again (a format change the
      // packets show before an announcement does), at most every 100 ms.
      if (sub.stats.malformed != malformed && e.ts_ns - s.last_recheck_ns >= kExpireCheckNs) {
        s.last_recheck_ns = e.ts_ns;
        r.version_seen = ~0ull;
      }
    });
  }
};

AudioReceiver::AudioReceiver(StreamTracker& tracker, std::size_t /*max_records*/)
    : impl_(std::make_unique<Impl>(tracker)) {}
AudioReceiver::~AudioReceiver() {
  if (impl_ && impl_->running > 0) {
    impl_->orphaned = true;
    (void)impl_.release();  // NOLINT(bugprone-unused-return-value): Running frees it
  }
}

Result<int> AudioReceiver::subscribe(AudioSubscription sub) {
  if (impl_->in_callback > 0) return busy("subscribe");
  if (sub.selector.dst_port < -1 || sub.selector.dst_port > 65535)
    return bad("dst_port", "must be 0 to 65535 (-1: any)");
  if (sub.selector.payload_type < -1 || sub.selector.payload_type > 127)
    return bad("payload_type", "must be 0 to 127 (-1: any)");
  if (sub.format != SampleFormat::kInt32 && sub.format != SampleFormat::kFloat32)
    return bad("format", "is not a SampleFormat (kInt32 or kFloat32)");
  if (sub.layout != ChannelLayout::kInterleaved && sub.layout != ChannelLayout::kPlanar)
    return bad("layout", "is not a ChannelLayout (kInterleaved or kPlanar)");
  if (sub.loss != LossFill::kSilence && sub.loss != LossFill::kGapOnly)
    return bad("loss", "is not a LossFill (kSilence or kGapOnly)");
  // A power of two divides the 65,536 sequence numbers: the slots never collide across the wrap.
  if (sub.reorder_packets < 1 || sub.reorder_packets > kMaxReorderPackets ||
      (sub.reorder_packets & (sub.reorder_packets - 1)) != 0)
    return bad("reorder_packets",
               fmt::format("must be a power of two from 1 to {}", kMaxReorderPackets));
  if (sub.max_payload_bytes < 2 || sub.max_payload_bytes > 65535)
    return bad("max_payload_bytes", "must be 2 to 65535");
  if (sub.max_channels < 1 || sub.max_channels > kMaxChannels)
    return bad("max_channels", "must be 1 to 64");
  if (sub.max_streams < 1 || sub.max_streams > kMaxStreamsPerSubscription)
    return bad("max_streams", "must be 1 to 4096");
  if (sub.frames_per_delivery > kMaxFramesPerDelivery)
    return bad("frames_per_delivery", "must be 0 to 1048576");
  if (sub.end_after_ms < 1) return bad("end_after_ms", "must be at least 1");
  const double threshold = sub.levels.silence_threshold_dbfs;
  if (!std::isfinite(threshold) || threshold < kMinSilenceThresholdDbfs ||
      threshold > kMaxSilenceThresholdDbfs)
    return bad("silence_threshold_dbfs",
               fmt::format("{} is outside {} to {} dBFS", threshold, kMinSilenceThresholdDbfs,
                           kMaxSilenceThresholdDbfs));
  const std::size_t capacity_samples =
      sub.frames_per_delivery > 0
          ? sub.frames_per_delivery * static_cast<std::size_t>(sub.max_channels)
          : std::max<std::size_t>(sub.max_payload_bytes / 2,
                                  static_cast<std::size_t>(sub.max_channels));
  const std::uint64_t bytes =
      std::uint64_t{sub.max_streams} *
      ((std::uint64_t{sub.reorder_packets} + 1) * (sub.max_payload_bytes + 24) +
       capacity_samples * 4 + sizeof(Impl::Slot));
  if (bytes > kMaxSubscriptionBytes)
    return bad("max_streams",
               "with these reorder_packets, max_payload_bytes, frames_per_delivery "
               "and max_channels it would take " +
                   std::to_string(bytes >> 20) +
                   " MiB; at most 1024 MiB: take fewer streams or smaller windows");
  if (!sub.sdp_text.empty()) {
    std::vector<SdpFormat> more;
    if (std::string why = parse_sdp_streams(sub.sdp_text, "application", more); !why.empty())
      return bad("sdp", std::move(why));
    sub.sdp.insert(sub.sdp.end(), more.begin(), more.end());
  }
  if (!sub.sdp.empty()) impl_->tracker.add_sdp(sub.sdp);
  auto s = std::make_unique<Impl::Sub>();
  s->index = static_cast<std::int32_t>(impl_->subs.size());
  s->capacity_samples = capacity_samples;
  s->slots.resize(sub.max_streams);
  s->refused.resize(impl_->records.size());
  for (Impl::Slot& slot : s->slots) {
    slot.window.reset(sub.reorder_packets, sub.max_payload_bytes, sub.max_payload_bytes);
    slot.buffer.assign(s->capacity_samples, 0);
    slot.out = slot.buffer.data();
    slot.levels.resize(static_cast<std::size_t>(sub.max_channels));
  }
  s->config = std::move(sub);
  impl_->subs.push_back(std::move(s));
  // Streams the receiver ignored so far may be this subscription's, and one another took is
  // said not taken: look at every stream again.
  for (Record& r : impl_->records) r.version_seen = ~0ull;
  return static_cast<int>(impl_->subs.size());
}

Result<void> AudioReceiver::unsubscribe(int id) {
  if (impl_->in_callback > 0) return busy("unsubscribe");
  if (id < 1 || static_cast<std::size_t>(id) > impl_->subs.size() ||
      !impl_->subs[static_cast<std::size_t>(id - 1)])
    return no_subscription("unsubscribe", id);
  // The kEnd callbacks are refused unsubscribe (in_callback) but may destroy the receiver.
  const Impl::Running run(impl_);
  Impl& im = run.impl();
  std::unique_ptr<Impl::Sub> sub = std::move(im.subs[static_cast<std::size_t>(id - 1)]);
  for (Impl::Slot& s : sub->slots)
    if (s.active) im.end(*sub, s, "unsubscribed");
  return {};
}

void AudioReceiver::add(const PacketView& packet, int linktype) noexcept {
  if (impl_->in_callback > 0) return;
  const Impl::Running run(impl_);
  Impl& im = run.impl();
  analysis::for_each_rtp(im.tracker, im.cursor, packet, linktype,
                         [&im](const analysis::RtpHandoffPacket& e) { im.take(e); });
}

void AudioReceiver::add(const Batch& batch, Span<const int> linktype_by_interface) noexcept {
  if (impl_->in_callback > 0) return;
  const Impl::Running run(impl_);
  Impl& im = run.impl();
  analysis::for_each_rtp(im.tracker, im.cursor, batch, linktype_by_interface,
                         [&im](const analysis::RtpHandoffPacket& e) { im.take(e); });
}

void AudioReceiver::expire(std::int64_t now_ns) noexcept {
  if (impl_->in_callback > 0) return;
  const Impl::Running run(impl_);
  run.impl().expire(now_ns);
}

void AudioReceiver::finish() noexcept {
  if (impl_->in_callback > 0) return;
  const Impl::Running run(impl_);
  Impl& im = run.impl();
  for (auto& sp : im.subs) {
    if (!sp) continue;
    for (Impl::Slot& s : sp->slots)
      if (s.active && !im.orphaned) im.end(*sp, s, "the capture ended");
  }
}

Result<AudioSubscriptionStats> AudioReceiver::stats(int id) const {
  if (id < 1 || static_cast<std::size_t>(id) > impl_->subs.size() ||
      !impl_->subs[static_cast<std::size_t>(id - 1)])
    return no_subscription("stats", id);
  const Impl::Sub& sub = *impl_->subs[static_cast<std::size_t>(id - 1)];
  AudioSubscriptionStats out = sub.stats;
  for (const Impl::Slot& s : sub.slots) {
    if (!s.active) continue;
    out.lost_packets += s.window.counters().lost_packets;
    out.late_or_duplicate += s.window.counters().late_or_duplicate;
    out.malformed += s.window.counters().oversize;
  }
  return out;
}

Result<std::vector<AudioStreamLevels>> AudioReceiver::levels(int id) const {
  std::vector<AudioStreamLevels> out;
  if (id < 1 || static_cast<std::size_t>(id) > impl_->subs.size() ||
      !impl_->subs[static_cast<std::size_t>(id - 1)])
    return no_subscription("levels", id);
  for (const Impl::Slot& s : impl_->subs[static_cast<std::size_t>(id - 1)]->slots) {
    if (!s.active) continue;
    AudioStreamLevels l;
    l.stream = s.info;
    for (int c = 0; c < s.meter.channels() && c < analysis::LevelMeter::kMaxChannels; ++c)
      l.channels.push_back(s.meter.levels(c));
    out.push_back(std::move(l));
  }
  return out;
}

std::size_t AudioReceiver::memory_bytes() const noexcept {
  std::size_t n = impl_->records.size() * sizeof(Record);
  for (const auto& sp : impl_->subs) {
    if (!sp) continue;
    for (const Impl::Slot& s : sp->slots)
      n += sizeof(Impl::Slot) + s.window.memory_bytes() + s.buffer.size() * 4 +
           s.levels.size() * sizeof(ChannelLevels);
    n += sp->refused.size() * sizeof(Impl::Sub::Refusal);
  }
  return n;
}

}  // namespace rtcap
