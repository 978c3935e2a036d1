// Per-packet cost of StreamTracker::add on AES67-like traffic: 12 RTP streams of 90-byte frames
// (Ethernet + IPv4 + UDP + 12-byte RTP + 36-byte L24 stereo payload), interleaved round-robin as
// they arrive at ~100 kpps (12 streams at 125 us). Target: < 100 ns/packet, so that analysis
// costs under 1% of one core at 100 kpps.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "rtcap/analysis.hpp"
#include "rtcap/audio.hpp"

namespace {

constexpr int kStreams = 12;

struct Frame {
  std::vector<std::uint8_t> bytes;
  std::size_t rtp_offset = 0;
};

// pairs > 0: streams s and s + pairs carry one SSRC (to two groups): ST 2022-7 legs, paired by
// the tracker as they start.
Frame make_frame(int stream, bool send_time, int pairs = 0) {
  std::vector<std::uint8_t> b = {0x01, 0x00, 0x5e, 0x00, 0x00, static_cast<std::uint8_t>(stream),
                                 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
                                 0x08, 0x00};
  // Room for the whole frame up front: also keeps GCC 12 at -O3 from a false -Warray-bounds in
  // the inserts below (a Release build with RTCAP_WERROR=ON failed on it).
  b.reserve(160);
  const std::size_t rtp_len = 12 + (send_time ? 16 : 0) + 36;
  const std::size_t udp_len = 8 + rtp_len;
  const std::size_t ip_len = 20 + udp_len;
  const std::uint8_t ip[20] = {0x45,
                               0,
                               static_cast<std::uint8_t>(ip_len >> 8),
                               static_cast<std::uint8_t>(ip_len),
                               0,
                               0,
                               0x40,
                               0,
                               64,
                               17,
                               0,
                               0,
                               198,
                               18,
                               0,
                               1,
                               239,
                               69,
                               0,
                               static_cast<std::uint8_t>(stream + 1)};
  b.insert(b.end(), ip, ip + 20);
  const std::uint8_t udp[8] = {0x13,
                               0x8c,
                               0x13,
                               0x8c,
                               static_cast<std::uint8_t>(udp_len >> 8),
                               static_cast<std::uint8_t>(udp_len),
                               0,
                               0};
  b.insert(b.end(), udp, udp + 8);
  Frame f;
  f.rtp_offset = b.size();
  b.push_back(send_time ? 0x90 : 0x80);
  b.push_back(97);
  b.insert(b.end(), 6, 0);  // seq, timestamp: patched per packet
  const std::uint32_t ssrc =
      0x5EED0000u + static_cast<std::uint32_t>(pairs > 0 ? stream % pairs : stream);
  for (int i = 3; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(ssrc >> (8 * i)));
  if (send_time) {
    const std::uint8_t ext[4] = {0xBE, 0xDE, 0, 3};
    b.insert(b.end(), ext, ext + 4);
    b.push_back(0x17);
    b.insert(b.end(), 11, 0);  // 8 bytes send time (patched) + 3 padding
  }
  b.insert(b.end(), 36, 0x55);
  f.bytes = std::move(b);
  return f;
}

// A two-step PTP Sync over UDP/IPv4 to 224.0.1.129:319 (IEEE 1588-2008 13.3, 13.6).
std::vector<std::uint8_t> make_ptp_sync() {
  std::vector<std::uint8_t> b = {0x01, 0x00, 0x5e, 0x00, 0x01, 0x81, 0x02,
                                 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00};
  const std::uint8_t ip[20] = {0x45, 0, 0,   72, 0, 0, 0x40, 0, 1, 17,
                               0,    0, 198, 18, 0, 2, 224,  0, 1, 129};
  b.insert(b.end(), ip, ip + 20);
  const std::uint8_t udp[8] = {0x01, 0x3F, 0x01, 0x3F, 0, 52, 0, 0};
  b.insert(b.end(), udp, udp + 8);
  std::uint8_t msg[44] = {0x00, 0x02, 0, 44, 0, 0, 0x02, 0x00};
  const std::uint8_t clock[8] = {0x02, 0, 0, 0xFF, 0xFE, 0, 0, 2};
  for (int i = 0; i < 8; ++i) msg[20 + i] = clock[i];
  msg[29] = 1;
  msg[33] = 0xFD;  // logMessageInterval -3
  b.insert(b.end(), msg, msg + 44);
  return b;
}

// ptp_every > 0: every ptp_every-th packet is a PTP Sync instead of RTP (the RTP streams keep
// their own sequence).
// `audio`: the stream format known (an L24/48000/2 option) and, when `receiver`, the live audio
// API subscribed to all 12 streams (float32, 480-frame deliveries): the two differ by its cost.
// `pairs`: that many of the streams are sent twice, as ST 2022-7 legs.
void run(benchmark::State& state, bool send_time, std::uint32_t ptp_every = 0, int pairs = 0,
         bool audio = false, bool receiver = false, bool levels = true) {
  std::vector<std::uint8_t> ptp = make_ptp_sync();
  std::uint32_t ptp_seq = 0;
  std::array<Frame, kStreams> frames;
  for (int i = 0; i < kStreams; ++i) frames[i] = make_frame(i, send_time, pairs);
  rtcap::StreamTrackerConfig tc;
  if (audio) {
    rtcap::FormatOption o;
    (void)rtcap::parse_format_option("97=L24/48000/2", o);
    tc.audio_formats.push_back(o);
  }
  rtcap::StreamTracker tracker(tc);
  rtcap::AudioReceiver audio_api(tracker);
  std::uint64_t frames_out = 0;
  if (receiver) {
    rtcap::AudioSubscription sub;
    sub.on_audio = [&](const rtcap::AudioBlock& b) { frames_out += b.frames; };
    sub.levels.enabled = levels;
    (void)audio_api.subscribe(std::move(sub));
  }
  std::int64_t now_ns = 1'700'000'000'000'000'000;
  std::uint32_t n = 0;
  for (auto _ : state) {
    if (ptp_every != 0 && ++ptp_seq % ptp_every == 0) {
      ptp[14 + 28 + 30] = static_cast<std::uint8_t>(ptp_seq >> 8);
      ptp[14 + 28 + 31] = static_cast<std::uint8_t>(ptp_seq);
      tracker.add(
          rtcap::PacketView{
              now_ns, static_cast<std::uint32_t>(ptp.size()), 0, {ptp.data(), ptp.size()}},
          rtcap::kDltEn10mb);
      continue;
    }
    const int s = static_cast<int>(n % kStreams);
    const std::uint32_t k = n / kStreams;  // this stream's packet number
    Frame& f = frames[s];
    std::uint8_t* rtp = f.bytes.data() + f.rtp_offset;
    rtp[2] = static_cast<std::uint8_t>(k >> 8);
    rtp[3] = static_cast<std::uint8_t>(k);
    const std::uint32_t ts = k * 6;
    rtp[4] = static_cast<std::uint8_t>(ts >> 24);
    rtp[5] = static_cast<std::uint8_t>(ts >> 16);
    rtp[6] = static_cast<std::uint8_t>(ts >> 8);
    rtp[7] = static_cast<std::uint8_t>(ts);
    if (send_time) {
      const auto sent = static_cast<std::uint64_t>(now_ns - 150'000);
      for (int i = 0; i < 8; ++i) rtp[17 + i] = static_cast<std::uint8_t>(sent >> (56 - 8 * i));
    }
    now_ns += 10'417;  // 96 kpps aggregate: 12 x 8,000 pps
    const rtcap::PacketView view{
        now_ns, static_cast<std::uint32_t>(f.bytes.size()), 0, {f.bytes.data(), f.bytes.size()}};
    tracker.add(view, rtcap::kDltEn10mb);
    if (receiver) audio_api.add(view, rtcap::kDltEn10mb);
    ++n;
  }
  benchmark::DoNotOptimize(tracker.totals());
  const auto streams = tracker.streams();
  std::int64_t lost = 0;
  for (const auto& st : streams) lost += st.lost;
  state.counters["streams"] = static_cast<double>(streams.size());
  state.counters["lost"] = static_cast<double>(lost);
  if (receiver) state.counters["audio_frames"] = static_cast<double>(frames_out);
  state.counters["st2022_7_pairs"] = static_cast<double>(tracker.snapshot().redundancy.size());
  state.SetItemsProcessed(state.iterations());
}

void BM_StreamTrackerAdd_12RtpStreams(benchmark::State& state) { run(state, false); }
void BM_StreamTrackerAdd_12RtpStreamsSendTime(benchmark::State& state) { run(state, true); }

// What PTP adds: a real plant sends ~17 PTP messages/s (8 Sync + 8 Follow_Up + 1/2 Announce)
// against 96,000 RTP packets/s; 1 in 100 is a worst case 50 times that.
void BM_StreamTrackerAdd_12RtpStreamsPtp1in100(benchmark::State& state) { run(state, false, 100); }

// What ST 2022-7 adds: the 12 streams as 6 pairs (one SSRC to two groups each), every packet
// also merged against its twin; with PTP at 1 in 100 on top. Compare with the two above.
void BM_StreamTrackerAdd_12RtpStreams6Pairs2022_7(benchmark::State& state) {
  run(state, false, 0, kStreams / 2);
}
void BM_StreamTrackerAdd_12RtpStreams6Pairs2022_7Ptp1in100(benchmark::State& state) {
  run(state, false, 100, kStreams / 2);
}

BENCHMARK(BM_StreamTrackerAdd_12RtpStreams);
BENCHMARK(BM_StreamTrackerAdd_12RtpStreamsSendTime);
BENCHMARK(BM_StreamTrackerAdd_12RtpStreamsPtp1in100);
BENCHMARK(BM_StreamTrackerAdd_12RtpStreams6Pairs2022_7);
BENCHMARK(BM_StreamTrackerAdd_12RtpStreams6Pairs2022_7Ptp1in100);

// The live audio API's cost per packet (target <= 50 ns, issue 21): the second minus the first.
void BM_StreamTrackerAdd_12L24Streams(benchmark::State& state) { run(state, false, 0, 0, true); }
void BM_AudioReceiver_12L24Streams(benchmark::State& state) { run(state, false, 0, 0, true, true); }
void BM_AudioReceiver_12L24StreamsNoLevels(benchmark::State& state) {
  run(state, false, 0, 0, true, true, false);
}
BENCHMARK(BM_StreamTrackerAdd_12L24Streams);
BENCHMARK(BM_AudioReceiver_12L24Streams);
BENCHMARK(BM_AudioReceiver_12L24StreamsNoLevels);

}  // namespace
