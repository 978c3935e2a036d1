// The live audio API (rtcap/audio.hpp) on crafted RTP: order through the reorder window, loss
// as silence (or a gap) of exactly its sample range, format change, end, int32/float32,
// interleaved/planar, selectors, levels.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/pcm.hpp"
#include "rtcap/audio.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr int kPt = 97;
constexpr std::uint32_t kFrames = 6;         // per packet: 125 us at 48 kHz
constexpr std::int64_t kPacketNs = 125'000;  // arrival spacing

// Ethernet + IPv4 + UDP + RTP, L24 stereo, `kFrames` frames; sample (f, c) of packet `seq`
// is value(seq, f, c).
std::int32_t value(std::uint16_t seq, std::uint32_t f, int c) {
  return static_cast<std::int32_t>(((seq * 64u + f * 2u + static_cast<unsigned>(c)) * 4099u) &
                                   0xFFFFFFu)
         << 8;
}
Bytes frame(std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc = 0xAB000001,
            std::uint8_t last_dst_octet = 1, int channels = 2, bool full_scale = false) {
  Bytes payload;
  for (std::uint32_t f = 0; f < kFrames; ++f)
    for (int c = 0; c < channels; ++c) {
      const auto v = static_cast<std::uint32_t>(full_scale ? (f % 2 ? INT32_MIN : 0x7FFFFF00)
                                                           : value(seq, f, c));
      payload.push_back(static_cast<std::uint8_t>(v >> 24));
      payload.push_back(static_cast<std::uint8_t>(v >> 16));
      payload.push_back(static_cast<std::uint8_t>(v >> 8));
    }
  Bytes b(14 + 20 + 8 + 12 + payload.size(), 0);
  b[12] = 0x08;
  std::uint8_t* ip = &b[14];
  ip[0] = 0x45;
  const std::size_t ip_len = b.size() - 14;
  ip[2] = static_cast<std::uint8_t>(ip_len >> 8);
  ip[3] = static_cast<std::uint8_t>(ip_len);
  ip[8] = 64;
  ip[9] = 17;
  const std::uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {239, 69, 1, last_dst_octet};
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  std::uint8_t* udp = ip + 20;
  udp[0] = 0x13, udp[1] = 0x8C, udp[2] = 0x13, udp[3] = 0x8C;  // 5004 > 5004
  const std::size_t udp_len = ip_len - 20;
  udp[4] = static_cast<std::uint8_t>(udp_len >> 8);
  udp[5] = static_cast<std::uint8_t>(udp_len);
  std::uint8_t* rtp = udp + 8;
  rtp[0] = 0x80;
  rtp[1] = kPt;
  rtp[2] = static_cast<std::uint8_t>(seq >> 8);
  rtp[3] = static_cast<std::uint8_t>(seq);
  for (int i = 0; i < 4; ++i) {
    rtp[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
    rtp[8 + i] = static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
  }
  std::memcpy(rtp + 12, payload.data(), payload.size());
  return b;
}

rtcap::StreamTrackerConfig with_option(const char* text = "97=L24/48000/2") {
  rtcap::StreamTrackerConfig c;
  rtcap::FormatOption o;
  EXPECT_EQ(rtcap::parse_format_option(text, o), "");
  c.audio_formats.push_back(o);
  return c;
}

struct Collected {
  std::vector<std::int32_t> samples;  // interleaved, as int32 (floats scaled back)
  std::vector<rtcap::AudioBlock> blocks;
  std::vector<rtcap::AudioEvent> events;
  std::vector<rtcap::ChannelLevels> last_levels;
  int channels = 0;
};

rtcap::AudioSubscription collect(Collected& out) {
  rtcap::AudioSubscription sub;
  sub.on_audio = [&out](const rtcap::AudioBlock& b) {
    out.blocks.push_back(b);
    out.channels = b.channels;
    for (std::size_t f = 0; f < b.frames; ++f)
      for (int c = 0; c < b.channels; ++c) {
        const std::size_t i = f * b.frame_stride + static_cast<std::size_t>(c) * b.channel_stride;
        out.samples.push_back(
            b.format == rtcap::SampleFormat::kInt32
                ? b.int32()[i]
                : static_cast<std::int32_t>(std::lrint(double{b.float32()[i]} * 2147483648.0)));
      }
  };
  sub.on_event = [&out](const rtcap::AudioEvent& e) {
    out.events.push_back(e);
    if (e.kind == rtcap::AudioEvent::Kind::kLevels)
      out.last_levels.assign(e.levels, e.levels + e.stream->channels);
  };
  return sub;
}

struct Lab {
  rtcap::StreamTracker tracker;
  rtcap::AudioReceiver audio;
  std::int64_t now_ns = 1'700'000'000'000'000'000;
  explicit Lab(rtcap::StreamTrackerConfig c = with_option())
      : tracker(std::move(c)), audio(tracker) {}
  void send(const Bytes& f) {
    const rtcap::PacketView p{
        now_ns, static_cast<std::uint32_t>(f.size()), 0, {f.data(), f.size()}};
    tracker.add(p, rtcap::kDltEn10mb);
    audio.add(p, rtcap::kDltEn10mb);
    now_ns += kPacketNs;
  }
  // Packets `first`..`last` in the given order of sequence numbers.
  void send_seqs(const std::vector<std::uint16_t>& seqs) {
    for (std::uint16_t s : seqs) send(frame(s, 1000u + s * kFrames));
  }
};

std::vector<std::uint16_t> range(std::uint16_t a, std::uint16_t b) {
  std::vector<std::uint16_t> v;
  for (std::uint16_t s = a; s <= b; ++s) v.push_back(s);
  return v;
}

std::size_t count(const Collected& c, rtcap::AudioEvent::Kind k) {
  std::size_t n = 0;
  for (const auto& e : c.events) n += e.kind == k;
  return n;
}

// The samples of packets `first`..`last`, interleaved.
std::vector<std::int32_t> expected(std::uint16_t first, std::uint16_t last,
                                   const std::vector<std::uint16_t>& lost = {}) {
  std::vector<std::int32_t> v;
  for (std::uint16_t s = first; s <= last; ++s)
    for (std::uint32_t f = 0; f < kFrames; ++f)
      for (int c = 0; c < 2; ++c)
        v.push_back(std::find(lost.begin(), lost.end(), s) != lost.end() ? 0 : value(s, f, c));
  return v;
}

}  // namespace

TEST(AudioReceiver, DeliversInOrderInt32InterleavedFromTheFirstValidatedPacket) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.format = rtcap::SampleFormat::kInt32;
  sub.frames_per_delivery = 0;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  lab.send_seqs(range(0, 20));
  lab.audio.finish();
  ASSERT_FALSE(got.blocks.empty());
  ASSERT_EQ(got.events.front().kind, rtcap::AudioEvent::Kind::kStart);
  const rtcap::AudioStreamInfo& info = *got.events.front().stream;
  EXPECT_EQ(info.bits, 24);
  EXPECT_EQ(info.rate_hz, 48000u);
  EXPECT_EQ(info.channels, 2);
  // Probation takes the first packets; from the first delivered one on, every sample in place.
  const auto first =
      static_cast<std::uint16_t>((got.blocks.front().rtp_timestamp - 1000) / kFrames);
  EXPECT_LE(first, 3);
  EXPECT_EQ(got.samples, expected(first, 20));
  EXPECT_EQ(got.blocks.size(), 21u - first);  // one per packet
  EXPECT_EQ(got.blocks.front().first_frame, 0u);
  EXPECT_EQ(got.blocks[1].first_frame, kFrames);
  EXPECT_EQ(got.blocks[1].capture_ns - got.blocks[0].capture_ns, kPacketNs);
  EXPECT_EQ(count(got, rtcap::AudioEvent::Kind::kEnd), 1u);
  EXPECT_EQ(count(got, rtcap::AudioEvent::Kind::kGap), 0u);
}

TEST(AudioReceiver, ReorderedPacketsComeOutInTimestampOrder) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.format = rtcap::SampleFormat::kInt32;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  lab.send_seqs({0, 1, 2, 3, 5, 4, 6, 9, 7, 8, 10, 14, 13, 12, 11, 15});
  lab.audio.finish();
  const auto first =
      static_cast<std::uint16_t>((got.blocks.front().rtp_timestamp - 1000) / kFrames);
  EXPECT_EQ(got.samples, expected(first, 15));
  EXPECT_EQ(lab.audio.stats(1)->lost_packets, 0u);
  EXPECT_EQ(count(got, rtcap::AudioEvent::Kind::kGap), 0u);
}

TEST(AudioReceiver, LostPacketsAreSilenceOfExactlyTheirLengthAndAGap) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.format = rtcap::SampleFormat::kInt32;
  sub.frames_per_delivery = 48;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  std::vector<std::uint16_t> seqs = range(0, 60);
  seqs.erase(std::remove_if(seqs.begin(), seqs.end(),
                            [](std::uint16_t s) { return s == 10 || s == 11 || s == 30; }),
             seqs.end());
  lab.send_seqs(seqs);
  lab.audio.finish();
  const auto first =
      static_cast<std::uint16_t>((got.blocks.front().rtp_timestamp - 1000) / kFrames);
  EXPECT_EQ(got.samples, expected(first, 60, {10, 11, 30}));
  std::vector<rtcap::AudioEvent> gaps;
  for (const auto& e : got.events)
    if (e.kind == rtcap::AudioEvent::Kind::kGap) gaps.push_back(e);
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].gap_first_seq, 10);
  EXPECT_EQ(gaps[0].gap_packets, 2u);
  EXPECT_EQ(gaps[0].gap_frames, 2 * kFrames);
  EXPECT_EQ(gaps[0].gap_rtp_timestamp, 1000u + 10 * kFrames);
  EXPECT_EQ(gaps[0].gap_first_frame, (10u - first) * kFrames);
  EXPECT_TRUE(gaps[0].gap_filled);
  EXPECT_EQ(gaps[1].gap_first_seq, 30);
  EXPECT_EQ(gaps[1].gap_frames, kFrames);
  const rtcap::AudioSubscriptionStats st = lab.audio.stats(1).value();
  EXPECT_EQ(st.lost_packets, 3u);
  EXPECT_EQ(st.silence_frames, 3 * kFrames);
  EXPECT_EQ(st.frames, (61u - first) * kFrames);
  // Blocks are whole frames_per_delivery but the last; frames and silence add up.
  std::uint64_t silence = 0;
  for (const auto& b : got.blocks) silence += b.silence_frames;
  EXPECT_EQ(silence, 3 * kFrames);
}

TEST(AudioReceiver, GapOnlyDeliversNoSilenceAndSkipsTheRange) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.format = rtcap::SampleFormat::kInt32;
  sub.loss = rtcap::LossFill::kGapOnly;
  sub.frames_per_delivery = 0;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  std::vector<std::uint16_t> seqs = range(0, 20);
  seqs.erase(std::find(seqs.begin(), seqs.end(), 12));
  lab.send_seqs(seqs);
  lab.audio.finish();
  const auto first =
      static_cast<std::uint16_t>((got.blocks.front().rtp_timestamp - 1000) / kFrames);
  std::vector<std::int32_t> want = expected(first, 11);
  const std::vector<std::int32_t> tail = expected(13, 20);
  want.insert(want.end(), tail.begin(), tail.end());
  EXPECT_EQ(got.samples, want);
  for (const auto& b : got.blocks) {
    EXPECT_EQ(b.silence_frames, 0u);
    if (b.rtp_timestamp == 1000u + 13 * kFrames) {
      EXPECT_EQ(b.first_frame, (13u - first) * kFrames);
    }
  }
  ASSERT_EQ(count(got, rtcap::AudioEvent::Kind::kGap), 1u);
  EXPECT_EQ(lab.audio.stats(1)->silence_frames, 0u);
}

TEST(AudioReceiver, Float32PlanarCarriesTheSameSamples) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.format = rtcap::SampleFormat::kFloat32;
  sub.layout = rtcap::ChannelLayout::kPlanar;
  sub.frames_per_delivery = 30;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  lab.send_seqs(range(0, 40));
  lab.audio.finish();
  const auto first =
      static_cast<std::uint16_t>((got.blocks.front().rtp_timestamp - 1000) / kFrames);
  const std::vector<std::int32_t> want = expected(first, 40);
  ASSERT_EQ(got.samples.size(), want.size());
  // float32 holds 24 bits of mantissa: L24 samples come back exactly.
  EXPECT_EQ(got.samples, want);
  EXPECT_EQ(got.blocks.front().frame_stride, 1u);
  EXPECT_EQ(got.blocks.front().channel_stride, 30u);
  for (std::size_t i = 0; i + 1 < got.blocks.size(); ++i) EXPECT_EQ(got.blocks[i].frames, 30u);
}

TEST(AudioReceiver, AFormatChangeIsAnEventAndTheNewFormatFollows) {
  Lab lab{rtcap::StreamTrackerConfig{}};
  const auto desk = [&](const char* rtpmap) {
    lab.tracker.add_sdp(rtcap::parse_sdp(
        std::string("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Desk\r\nc=IN IP4 239.69.1.1/32\r\n"
                    "t=0 0\r\nm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 ") +
            rtpmap + "\r\n",
        "test"));
  };
  desk("L24/48000/2");
  Collected got;
  auto sub = collect(got);
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  lab.send_seqs(range(0, 10));
  // The application's own SDP now says the stream is 96 kHz: the catalogue's word wins.
  desk("L24/96000/2");
  lab.send_seqs(range(11, 20));
  lab.audio.finish();
  ASSERT_EQ(count(got, rtcap::AudioEvent::Kind::kFormatChange), 1u);
  for (const auto& e : got.events)
    if (e.kind == rtcap::AudioEvent::Kind::kFormatChange) {
      EXPECT_EQ(e.stream->rate_hz, 96000u);
      EXPECT_EQ(e.stream->session_name, "Desk");
    }
  EXPECT_EQ(got.blocks.back().stream->rate_hz, 96000u);
}

TEST(AudioReceiver, AStreamThatGoesQuietEnds) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.end_after_ms = 50;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  lab.send_seqs(range(0, 10));
  EXPECT_EQ(count(got, rtcap::AudioEvent::Kind::kEnd), 0u);
  lab.now_ns += 1'000'000'000;
  lab.audio.expire(lab.now_ns);
  EXPECT_EQ(count(got, rtcap::AudioEvent::Kind::kEnd), 1u);
  EXPECT_EQ(got.events.back().kind, rtcap::AudioEvent::Kind::kEnd);
  // Everything held went out before the end.
  const auto first =
      static_cast<std::uint16_t>((got.blocks.front().rtp_timestamp - 1000) / kFrames);
  std::vector<std::int32_t> as_float = expected(first, 10);
  EXPECT_EQ(got.samples, as_float);
}

TEST(AudioReceiver, SelectorsTakeOnlyTheirStreams) {
  rtcap::StreamTrackerConfig c = with_option("97=L24/48000/2");
  c.sdp = rtcap::parse_sdp(
      "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Stage\r\nc=IN IP4 239.69.1.2/32\r\nt=0 0\r\n"
      "m=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\n",
      "test");
  Lab lab(c);
  Collected stage, other, by_addr, all;
  auto s1 = collect(stage);
  s1.selector = rtcap::AudioSelector::session("Stage");
  auto s2 = collect(other);
  s2.selector = rtcap::AudioSelector::session("Other");
  auto s3 = collect(by_addr);
  rtcap::IpAddress g;
  ASSERT_TRUE(g.parse("239.69.1.1"));
  s3.selector = rtcap::AudioSelector::address(g, 5004);
  auto s4 = collect(all);
  ASSERT_TRUE(lab.audio.subscribe(std::move(s1)).has_value());
  ASSERT_TRUE(lab.audio.subscribe(std::move(s2)).has_value());
  ASSERT_TRUE(lab.audio.subscribe(std::move(s3)).has_value());
  ASSERT_TRUE(lab.audio.subscribe(std::move(s4)).has_value());
  for (std::uint16_t s = 0; s < 10; ++s) {
    lab.send(frame(s, s * kFrames, 0xAB000001, 1));
    lab.send(frame(s, s * kFrames, 0xAB000002, 2));
    lab.send(frame(s, s * kFrames, 0xAB000003, 3));
  }
  lab.audio.finish();
  ASSERT_FALSE(stage.blocks.empty());
  EXPECT_EQ(stage.blocks.front().stream->key.dst.bytes[3], 2);
  EXPECT_EQ(stage.blocks.front().stream->session_name, "Stage");
  EXPECT_TRUE(other.blocks.empty());
  ASSERT_FALSE(by_addr.blocks.empty());
  EXPECT_EQ(by_addr.blocks.front().stream->key.dst.bytes[3], 1);
  // Every subscription that selects a stream gets it: "every stream" gets all three.
  EXPECT_EQ(lab.audio.stats(4)->streams, 3u);
  EXPECT_EQ(lab.audio.stats(2)->streams, 0u);
}

TEST(AudioReceiver, OutOfRangeSettingsAreRefusedByName) {
  rtcap::StreamTracker tracker;
  rtcap::AudioReceiver audio(tracker);
  rtcap::AudioSubscription sub;
  sub.max_channels = 65;
  auto r = audio.subscribe(sub);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, rtcap::ErrorCode::kBadConfig);
  EXPECT_EQ(r.error().setting, "max_channels");
  sub.max_channels = 2;
  sub.reorder_packets = 0;
  EXPECT_EQ(audio.subscribe(sub).error().setting, "reorder_packets");
  // Each value in range, together 256 GiB: refused before anything is allocated.
  sub.reorder_packets = 1024;
  sub.max_payload_bytes = 65535;
  sub.max_streams = 4096;
  EXPECT_EQ(audio.subscribe(sub).error().setting, "max_streams");
}

TEST(AudioReceiver, LevelsOfAFullScaleSquareWaveCountClipping) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.on_audio = nullptr;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  for (std::uint16_t s = 0; s < 8100; ++s) lab.send(frame(s, s * kFrames, 0xAB000001, 1, 2, true));
  ASSERT_EQ(count(got, rtcap::AudioEvent::Kind::kLevels), 1u);
  ASSERT_EQ(got.last_levels.size(), 2u);
  EXPECT_NEAR(got.last_levels[0].peak_dbfs, 0.0, 0.01);
  EXPECT_NEAR(got.last_levels[0].rms_dbfs, 0.0, 0.01);
  EXPECT_GT(got.last_levels[0].clipped_samples, 47000u);
  const auto levels = lab.audio.levels(1).value();
  ASSERT_EQ(levels.size(), 1u);
  EXPECT_EQ(levels[0].channels.size(), 2u);
}

TEST(AudioReceiver, JunkAndOtherStreamsCostNoMemory) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.max_streams = 1;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  const std::size_t before = lab.audio.memory_bytes();
  for (std::uint16_t s = 0; s < 200; ++s)
    lab.send(frame(static_cast<std::uint16_t>(s * 7919), s, s));
  EXPECT_EQ(lab.audio.memory_bytes(), before);
  EXPECT_EQ(lab.audio.stats(1)->streams, 0u);
}

// max_streams full: the stream refused is taken once a taken one ends and frees its slot, with
// no SAP/SDP change in between.
TEST(AudioReceiver, AStreamRefusedForWantOfASlotIsTakenWhenOneIsFree) {
  Lab lab;
  std::vector<int> started;  // last octet of each started stream's destination
  std::vector<int> refused;
  rtcap::AudioSubscription sub;
  sub.max_streams = 1;
  sub.end_after_ms = 10;
  sub.on_event = [&](const rtcap::AudioEvent& e) {
    if (e.kind == rtcap::AudioEvent::Kind::kStart) started.push_back(e.stream->key.dst.bytes[3]);
    if (e.kind == rtcap::AudioEvent::Kind::kNotTaken) refused.push_back(e.stream->key.dst.bytes[3]);
  };
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  for (std::uint16_t s = 0; s < 20; ++s) {
    lab.send(frame(s, s * kFrames, 0xAB000001, 1));
    lab.send(frame(s, s * kFrames, 0xAB000002, 2));
  }
  ASSERT_EQ(started, std::vector<int>{1});
  ASSERT_EQ(refused, std::vector<int>{2});
  // The first stream stops; 250 ms of the second (the idle check runs every 100 ms).
  for (std::uint16_t s = 20; s < 2020; ++s) lab.send(frame(s, s * kFrames, 0xAB000002, 2));
  EXPECT_EQ(started, (std::vector<int>{1, 2}));
  EXPECT_EQ(lab.audio.stats(1)->streams, 2u);
}

// Silence is work for the API (not a seek as in a WAV): a timestamp jump with no lost sequence
// number, or longer than the lost packets could carry, is the sender's, filled with nothing.
TEST(AudioReceiver, TimestampJumpsWithoutLostPacketsAreNotSilence) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  for (std::uint16_t s = 0; s < 10; ++s) lab.send(frame(s, 1000u + s * kFrames));
  lab.send(frame(10, 1000u + 10 * kFrames + 60));   // +60 frames, no sequence number missing
  lab.send(frame(12, 1000u + 12 * kFrames + 600));  // one packet lost, but 606 frames claimed
  lab.send(frame(13, 1000u + 13 * kFrames + 600));
  lab.audio.finish();
  EXPECT_EQ(count(got, rtcap::AudioEvent::Kind::kGap), 0u);
  EXPECT_EQ(count(got, rtcap::AudioEvent::Kind::kDiscontinuity), 2u);
  EXPECT_EQ(lab.audio.stats(1)->silence_frames, 0u);
  EXPECT_EQ(lab.audio.stats(1)->lost_packets, 1u);
}

// The application gives the memory each delivery is written into (AudioSubscription::buffer):
// every block's data is the piece it gave, holding the same samples as the receiver's own buffer
// would (interleaved and planar, int32 and float32, a loss's silence included), and nothing more
// is written there once on_audio returned.
TEST(AudioReceiver, DeliveriesAreWrittenIntoTheApplicationsMemory) {
  for (const auto layout : {rtcap::ChannelLayout::kInterleaved, rtcap::ChannelLayout::kPlanar})
    for (const auto format : {rtcap::SampleFormat::kInt32, rtcap::SampleFormat::kFloat32}) {
      Lab lab;
      Collected got;
      auto sub = collect(got);
      sub.format = format;
      sub.layout = layout;
      sub.frames_per_delivery = 30;
      std::vector<std::vector<std::uint32_t>> given;
      std::vector<std::vector<std::uint32_t>> at_delivery;
      sub.buffer = [&given](const rtcap::AudioStreamInfo& s, std::size_t samples) -> void* {
        EXPECT_EQ(samples, 30u * static_cast<std::size_t>(s.channels));
        given.emplace_back(samples, 0xDEADBEEFu);
        return given.back().data();
      };
      auto collect_audio = std::move(sub.on_audio);
      sub.on_audio = [&](const rtcap::AudioBlock& b) {
        ASSERT_FALSE(given.empty());
        EXPECT_EQ(b.data, given.back().data());
        at_delivery.push_back(given.back());
        collect_audio(b);
      };
      ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
      std::vector<std::uint16_t> seqs = range(0, 40);
      seqs.erase(std::find(seqs.begin(), seqs.end(), 17));
      lab.send_seqs(seqs);
      lab.audio.finish();
      const auto first =
          static_cast<std::uint16_t>((got.blocks.front().rtp_timestamp - 1000) / kFrames);
      EXPECT_EQ(got.samples, expected(first, 40, {17}));
      ASSERT_EQ(given.size(), got.blocks.size());
      for (std::size_t i = 0; i < given.size(); ++i) EXPECT_EQ(given[i], at_delivery[i]) << i;
      EXPECT_EQ(lab.audio.stats(1)->own_buffer_deliveries, 0u);
      EXPECT_EQ(lab.audio.stats(1)->callback_exceptions, 0u);
    }
}

// A supplier that gives nothing, or throws, leaves the delivery to the receiver's own buffer:
// the samples are the same, and the count says so.
TEST(AudioReceiver, ASupplierThatGivesNoMemoryFallsBackToTheReceiversBuffer) {
  Lab lab;
  Collected got;
  auto sub = collect(got);
  sub.format = rtcap::SampleFormat::kInt32;
  sub.frames_per_delivery = 0;
  int calls = 0;
  sub.buffer = [&calls](const rtcap::AudioStreamInfo&, std::size_t) -> void* {
    if (++calls % 2 == 0) throw std::runtime_error("no memory today");
    return nullptr;
  };
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  lab.send_seqs(range(0, 20));
  lab.audio.finish();
  const auto first =
      static_cast<std::uint16_t>((got.blocks.front().rtp_timestamp - 1000) / kFrames);
  EXPECT_EQ(got.samples, expected(first, 20));
  const rtcap::AudioSubscriptionStats st = lab.audio.stats(1).value();
  EXPECT_EQ(st.own_buffer_deliveries, got.blocks.size());
  EXPECT_EQ(st.callback_exceptions, static_cast<std::uint64_t>(calls / 2));
}

// A packet's samples take the word-at-a-time path, longer runs the vectorised loop: both give
// the same left-justified integers and floats for every count, width and byte value, and read
// nothing past the last sample (the buffer ends there: ASan would see a read beyond it).
TEST(AudioReceiver, FewSamplesAndManyConvertAlike) {
  for (const std::size_t width : {std::size_t{2}, std::size_t{3}})
    for (std::size_t n = 1; n <= 300; n += (n < 140 ? 1 : 37)) {
      std::vector<std::uint8_t> in(n * width);
      for (std::size_t i = 0; i < in.size(); ++i)
        in[i] = static_cast<std::uint8_t>((i * 151u + n * 7u + width) & 0xFF);
      std::vector<std::int32_t> ints(n), want(n);
      std::vector<float> floats(n);
      rtcap::io::big_endian_to_int32(in.data(), ints.data(), n, width);
      rtcap::io::big_endian_to_float(in.data(), floats.data(), n, width);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* p = &in[i * width];
        std::uint32_t u = std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16;
        if (width == 3) u |= std::uint32_t{p[2]} << 8;
        want[i] = static_cast<std::int32_t>(u);
        EXPECT_EQ(floats[i], static_cast<float>(want[i]) * (1.0f / 2147483648.0f)) << n << " " << i;
      }
      EXPECT_EQ(ints, want) << "width " << width << ", " << n << " samples";
    }
}

namespace {

// The kNotTaken events of a subscription, `why` kept (it is valid during the callback only).
struct NotTakenLog {
  std::vector<std::string> why;
  std::vector<int> channels;
};
rtcap::AudioSubscription log_not_taken(NotTakenLog& log) {
  rtcap::AudioSubscription sub;
  sub.on_event = [&log](const rtcap::AudioEvent& e) {
    if (e.kind != rtcap::AudioEvent::Kind::kNotTaken) return;
    EXPECT_EQ(e.stream->id, 0u);
    log.why.emplace_back(e.why);
    log.channels.push_back(e.stream->channels);
  };
  return sub;
}

// An SDP of another stream: the catalogue changes, every stream is looked at again.
void change_catalogue(Lab& lab, int n) {
  lab.tracker.add_sdp(
      rtcap::parse_sdp("v=0\r\no=- " + std::to_string(n) + " 1 IN IP4 198.18.0.9\r\ns=Else " +
                           std::to_string(n) + "\r\nc=IN IP4 239.69.3." + std::to_string(n) +
                           "/32\r\nt=0 0\r\nm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L24/48000/2\r\n",
                       "test"));
}

}  // namespace

// A meter and a recorder of one stream: every subscription that selects a stream gets it, each
// in its own format, also one made after the stream was taken (it got nothing before).
TEST(AudioReceiver, EverySubscriptionOfAStreamGetsItsSamples) {
  Lab lab;
  Collected meter, recorder, late;
  auto as_float = collect(recorder);
  as_float.format = rtcap::SampleFormat::kFloat32;
  as_float.layout = rtcap::ChannelLayout::kPlanar;
  auto as_int = collect(meter);
  as_int.format = rtcap::SampleFormat::kInt32;
  ASSERT_EQ(*lab.audio.subscribe(std::move(as_int)), 1);
  ASSERT_EQ(*lab.audio.subscribe(std::move(as_float)), 2);
  lab.send_seqs(range(0, 19));
  auto later = collect(late);
  later.format = rtcap::SampleFormat::kInt32;
  ASSERT_EQ(*lab.audio.subscribe(std::move(later)), 3);
  for (std::uint16_t s = 20; s < 40; ++s) {
    if (s % 5 == 0) change_catalogue(lab, s);
    lab.send(frame(s, 1000u + s * kFrames));
  }
  ASSERT_TRUE(lab.audio.unsubscribe(1).has_value());  // the others go on
  lab.send_seqs(range(40, 49));
  lab.audio.finish();
  for (int id : {1, 2, 3}) EXPECT_EQ(lab.audio.stats(id).has_value(), id != 1);
  EXPECT_EQ(lab.audio.stats(2)->streams, 1u);
  EXPECT_EQ(lab.audio.stats(3)->streams, 1u);
  EXPECT_EQ(lab.audio.stats(2)->streams_not_taken, 0u);
  ASSERT_FALSE(meter.samples.empty());
  ASSERT_FALSE(recorder.samples.empty());
  ASSERT_FALSE(late.samples.empty());
  const std::size_t from = recorder.samples.size() - late.samples.size();
  EXPECT_EQ(std::vector<std::int32_t>(recorder.samples.begin() + static_cast<std::ptrdiff_t>(from),
                                      recorder.samples.end()),
            late.samples);
  EXPECT_EQ(std::vector<std::int32_t>(
                recorder.samples.begin(),
                recorder.samples.begin() + static_cast<std::ptrdiff_t>(meter.samples.size())),
            meter.samples);
  EXPECT_EQ(count(meter, rtcap::AudioEvent::Kind::kEnd), 1u);
  EXPECT_EQ(count(recorder, rtcap::AudioEvent::Kind::kEnd), 1u);
}

// More channels than max_channels: one event saying so, counted once however often the
// catalogue changes (it was counted again on every change).
TEST(AudioReceiver, AStreamWithTooManyChannelsIsNotTakenOnceWithTheReason) {
  Lab lab;
  NotTakenLog log;
  auto sub = log_not_taken(log);
  sub.max_channels = 1;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  for (std::uint16_t s = 0; s < 40; ++s) {
    if (s % 5 == 0) change_catalogue(lab, s);
    lab.send(frame(s, s * kFrames));
  }
  ASSERT_EQ(log.why.size(), 1u);
  EXPECT_NE(log.why[0].find("max_channels (1)"), std::string::npos) << log.why[0];
  EXPECT_EQ(log.channels[0], 2);
  EXPECT_EQ(lab.audio.stats(1)->streams_not_taken, 1u);
  EXPECT_EQ(lab.audio.stats(1)->streams, 0u);
}

// No format known (a dynamic payload type, no SDP, no option): the event carries the format the
// packets suggest; the stream is taken once an SDP describes it.
TEST(AudioReceiver, AStreamWithNoFormatIsNotTakenWithTheInferredFormat) {
  Lab lab{rtcap::StreamTrackerConfig{}};
  NotTakenLog log;
  Collected got;
  auto sub = log_not_taken(log);
  sub.on_audio = collect(got).on_audio;
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  for (std::uint16_t s = 0; s < 7000; ++s) lab.send(frame(s, s * kFrames));  // 875 ms
  EXPECT_TRUE(log.why.empty());  // an announcement may still come
  for (std::uint16_t s = 7000; s < 10000; ++s) lab.send(frame(s, s * kFrames));
  ASSERT_EQ(log.why.size(), 1u);
  EXPECT_NE(log.why[0].find("no format known"), std::string::npos) << log.why[0];
  EXPECT_NE(log.why[0].find("239.69.1.1:5004/97=L24/48000/2"), std::string::npos) << log.why[0];
  EXPECT_EQ(lab.audio.stats(1)->streams_not_taken, 1u);
  EXPECT_TRUE(got.blocks.empty());
  lab.tracker.add_sdp(rtcap::parse_sdp(
      "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Late\r\nc=IN IP4 239.69.1.1/32\r\nt=0 0\r\n"
      "m=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\n",
      "test"));
  for (std::uint16_t s = 10000; s < 10020; ++s) lab.send(frame(s, s * kFrames));
  lab.audio.finish();
  EXPECT_EQ(lab.audio.stats(1)->streams, 1u);
  EXPECT_FALSE(got.blocks.empty());
  EXPECT_EQ(log.why.size(), 1u);
}

// An SDP text with no media description is refused, as C and Python refuse it: it would
// otherwise describe nothing and the subscription would take every stream.
TEST(AudioReceiver, AnSdpTextWithoutMediaIsRefused) {
  Lab lab;
  rtcap::AudioSubscription sub;
  sub.sdp_text = "hello world";
  auto r = lab.audio.subscribe(std::move(sub));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, rtcap::ErrorCode::kBadConfig);
  EXPECT_EQ(r.error().setting, "sdp");
  EXPECT_EQ(r.error().reason, "holds no media description (m=)");
  std::vector<rtcap::SdpFormat> formats;
  EXPECT_EQ(rtcap::parse_sdp_streams("hello world", "test", formats),
            "holds no media description (m=)");
  EXPECT_TRUE(formats.empty());
}

// ST 2022-7: the two legs of a redundant stream (one SSRC, two groups) arrive as two streams,
// each naming the pair and the other leg.
TEST(AudioReceiver, TheLegsOfARedundantPairNameEachOther) {
  Lab lab;
  std::vector<rtcap::AudioStreamInfo> started;
  rtcap::AudioSubscription sub;
  sub.on_event = [&](const rtcap::AudioEvent& e) {
    if (e.kind == rtcap::AudioEvent::Kind::kStart) started.push_back(*e.stream);
  };
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  for (std::uint16_t s = 0; s < 20; ++s) {
    lab.send(frame(s, s * kFrames, 0xAB000001, 1));
    lab.send(frame(s, s * kFrames, 0xAB000001, 2));
  }
  ASSERT_EQ(started.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const rtcap::AudioStreamInfo& me = started[i];
    const rtcap::AudioStreamInfo& other = started[1 - i];
    EXPECT_EQ(me.redundancy_group, "ssrc 0xab000001");
    EXPECT_EQ(me.redundant_peer.dst, other.key.dst);
    EXPECT_EQ(me.redundancy_leg + other.redundancy_leg, 1);
  }
}

// A leg taken before its twin's first packet learns its pair when the pair forms, with no
// SAP/SDP change: the pairing is part of what the catalogue's version tracks.
TEST(AudioReceiver, ALegTakenBeforeItsTwinLearnsThePairWhenItForms) {
  Lab lab;
  std::string first_leg_group = "never delivered";
  rtcap::AudioSubscription sub;
  sub.frames_per_delivery = 0;
  sub.on_audio = [&](const rtcap::AudioBlock& b) {
    if (b.stream->key.dst.bytes[3] == 1) first_leg_group = b.stream->redundancy_group;
  };
  ASSERT_TRUE(lab.audio.subscribe(std::move(sub)).has_value());
  for (std::uint16_t s = 0; s < 20; ++s) lab.send(frame(s, s * kFrames, 0xAB000001, 1));
  EXPECT_EQ(first_leg_group, "");
  for (std::uint16_t s = 20; s < 60; ++s) {
    lab.send(frame(s, s * kFrames, 0xAB000001, 1));
    lab.send(frame(s, s * kFrames, 0xAB000001, 2));
  }
  EXPECT_EQ(first_leg_group, "ssrc 0xab000001");
}
