// libFuzzer target: hostile RTP packet sequences into the live audio API (rtcap/audio.hpp): the
// reorder window, loss as silence or gaps, format changes from SAP at absurd rates and channel
// counts, streams that come and go; every delivery is read whole (ASan sees a sample out of its
// buffer) and checked: frames within the block size, positions never going back.
//
// Input: [config byte][records...], record = 11 bytes as in fuzz_audio_extract: [stream (bits
// 0-1), SAP instead (bit 2)][i16 LE sequence step][i32 LE timestamp step][i16 LE arrival step,
// us][u16 LE payload bytes] (payload bytes modulo 9,217). Config: bit 0 planar, bit 1 float32,
// bit 2 gaps only, bits 3-4 frames per delivery (0, 1, 7, 480), bits 5-6 reorder packets (1, 2,
// 32, 200), bit 7 one stream at a time.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fuzz_frames.hpp"
#include "rtcap/audio.hpp"

namespace {

using rtcap::fuzz::audio_udp_frame;
using rtcap::fuzz::le16;
using rtcap::fuzz::le32;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t cfg = data[0];
  ++data;
  --size;
  rtcap::StreamTrackerConfig tc;
  rtcap::FormatOption o;
  if (!rtcap::parse_format_option("96=L24/48000/2", o).empty()) std::abort();
  tc.audio_formats.push_back(o);
  if (!rtcap::parse_format_option("97=L16/96000/8", o).empty()) std::abort();
  tc.audio_formats.push_back(o);
  tc.max_streams = 8;  // slots reused by other streams: the receiver's records follow them
  rtcap::StreamTracker tracker(tc);
  rtcap::AudioReceiver audio(tracker);
  rtcap::AudioSubscription sub;
  sub.layout = (cfg & 1) ? rtcap::ChannelLayout::kPlanar : rtcap::ChannelLayout::kInterleaved;
  sub.format = (cfg & 2) ? rtcap::SampleFormat::kFloat32 : rtcap::SampleFormat::kInt32;
  sub.loss = (cfg & 4) ? rtcap::LossFill::kGapOnly : rtcap::LossFill::kSilence;
  const std::size_t fpd[4] = {0, 1, 7, 480};
  sub.frames_per_delivery = fpd[(cfg >> 3) & 3];
  const std::size_t reorder[4] = {1, 2, 32, 256};
  sub.reorder_packets = reorder[(cfg >> 5) & 3];
  sub.max_streams = (cfg & 128) ? 1 : 3;
  sub.max_channels = rtcap::kMaxChannels;
  sub.max_payload_bytes = 9216;
  sub.end_after_ms = 50;
  std::map<std::uint64_t, std::uint64_t> next_position;
  std::uint64_t sink = 0;
  sub.on_audio = [&](const rtcap::AudioBlock& b) {
    if (b.frames == 0 || b.channels < 1 || b.silence_frames > b.frames) std::abort();
    if (sub.frames_per_delivery > 0 && b.frames > sub.frames_per_delivery) std::abort();
    auto& pos = next_position[b.stream->id];
    if (b.first_frame < pos) std::abort();  // positions never go back
    pos = b.first_frame + b.frames;
    const auto* words = static_cast<const std::uint32_t*>(b.data);
    for (std::size_t f = 0; f < b.frames; ++f)
      for (int c = 0; c < b.channels; ++c)
        sink += words[f * b.frame_stride + static_cast<std::size_t>(c) * b.channel_stride];
  };
  sub.on_event = [&](const rtcap::AudioEvent& e) {
    if (e.stream == nullptr) std::abort();
    if (e.kind == rtcap::AudioEvent::Kind::kLevels)
      for (int c = 0; c < e.stream->channels; ++c) sink += e.levels[c].clipped_samples;
    if (e.kind == rtcap::AudioEvent::Kind::kFormatChange) next_position[e.stream->id] = 0;
  };
  if (!audio.subscribe(sub)) std::abort();

  const int pts[4] = {96, 97, 11, 10};
  std::uint16_t seq[4] = {};
  std::uint32_t ts[4] = {};
  std::int64_t arrival_ns = 1'700'000'000'000'000'000;
  while (size >= 11) {
    const std::uint8_t kind = data[0];
    const int k = kind & 3;
    seq[k] = std::uint16_t(seq[k] + le16(data + 1));
    ts[k] += le32(data + 3);
    arrival_ns += std::int64_t(std::int16_t(le16(data + 7))) * 1000;
    const std::size_t bytes = le16(data + 9) % 9217u;
    data += 11;
    size -= 11;
    std::vector<std::uint8_t> payload;
    std::uint16_t port = std::uint16_t(5004 + 2 * k);
    if (kind & 4) {  // a SAP announcement of stream k's destination, absurd rate and channels
      const std::string sdp =
          "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=x\r\nc=IN IP4 239.69.1.1/1\r\nt=0 0\r\n"
          "m=audio " +
          std::to_string(port) + " RTP/AVP " + std::to_string(pts[k]) +
          "\r\na=rtpmap:" + std::to_string(pts[k]) + " L24/" + std::to_string(bytes * 524287u) +
          "/" + std::to_string(kind >> 3) + "\r\n";
      payload = {0x20, 0, 0x12, std::uint8_t(k), 198, 18, 0, 1};
      payload.insert(payload.end(), sdp.begin(), sdp.end());
      port = 9875;
    } else {
      payload.assign(12 + bytes, std::uint8_t(bytes));
      payload[0] = 0x80;
      payload[1] = std::uint8_t(pts[k]);
      payload[2] = std::uint8_t(seq[k] >> 8);
      payload[3] = std::uint8_t(seq[k]);
      for (int i = 0; i < 4; ++i) payload[4 + i] = std::uint8_t(ts[k] >> (24 - 8 * i));
      payload[11] = std::uint8_t(k);
    }
    const std::vector<std::uint8_t> f = audio_udp_frame(port, payload);
    const rtcap::PacketView p{arrival_ns, std::uint32_t(f.size()), 0, {f.data(), f.size()}};
    tracker.add(p, 1);
    audio.add(p, 1);
  }
  audio.finish();
  return sink == 0xFFFFFFFFFFFFFFFFull ? 1 : 0;
}
