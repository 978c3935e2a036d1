// Levels: peak and RMS of a sine of known amplitude, silence within its set time, clipping of a
// full-scale square wave; through the int32 and the big-endian L16/L24 inputs; and from the
// levels consumer (--levels, --extract-audio) into the stream JSON and the metrics.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/levels.hpp"
#include "analysis/stream_levels.hpp"
#include "rtcap/sdp.hpp"
#include "rtcap/metrics.hpp"

using rtcap::analysis::LevelMeter;
using rtcap::analysis::LevelsConfig;

namespace {

constexpr double kPi = 3.14159265358979323846;

// `seconds` of interleaved int32 left-justified frames: channel c a sine of amplitude_dbfs[c]
// (quantised to `bits`) at a frequency that does not divide the rate (997 Hz, as test tones do).
std::vector<std::int32_t> sines(std::uint32_t rate, const std::vector<double>& amplitude_dbfs,
                                double seconds, int bits) {
  const auto frames = static_cast<std::size_t>(rate * seconds);
  const std::size_t ch = amplitude_dbfs.size();
  const double lsb = std::ldexp(1.0, 32 - bits);
  std::vector<std::int32_t> out(frames * ch);
  for (std::size_t f = 0; f < frames; ++f)
    for (std::size_t c = 0; c < ch; ++c) {
      const double a = std::pow(10.0, amplitude_dbfs[c] / 20.0) * 2147483648.0;
      const double v = a * std::sin(2 * kPi * 997.0 * (c + 1) * double(f) / rate);
      out[f * ch + c] = static_cast<std::int32_t>(std::lround(v / lsb) * lsb);
    }
  return out;
}

// Big-endian samples of `bits` (16 or 24) from left-justified int32, as RTP carries them.
std::vector<std::uint8_t> to_big_endian(const std::vector<std::int32_t>& in, int bits) {
  std::vector<std::uint8_t> out;
  for (std::int32_t x : in) {
    const auto u = static_cast<std::uint32_t>(x);
    for (int b = 0; b < bits / 8; ++b) out.push_back(static_cast<std::uint8_t>(u >> (24 - 8 * b)));
  }
  return out;
}

}  // namespace

TEST(Levels, SineOfKnownAmplitudeWithinATenthOfADecibel) {
  const std::vector<double> dbfs = {-20.0, -6.0, -45.5};
  LevelMeter m;
  m.reset(48000, 3, 24);
  const auto pcm = sines(48000, dbfs, 2.0, 24);
  // In 48-frame packets (1 ms), as AES67 sends them.
  for (std::size_t f = 0; f < pcm.size() / 3; f += 48) m.add(&pcm[f * 3], 48);
  for (int c = 0; c < 3; ++c) {
    const auto l = m.levels(c);
    EXPECT_EQ(l.seconds, 2u);
    EXPECT_NEAR(l.peak_dbfs, dbfs[c], 0.1) << "channel " << c;
    EXPECT_NEAR(l.rms_dbfs, dbfs[c] - 3.0103, 0.1) << "channel " << c;  // a sine's RMS: peak/sqrt 2
    EXPECT_EQ(l.clipped_samples, 0u);
    EXPECT_FALSE(l.silent);
  }
}

TEST(Levels, BigEndianL16AndL24ReadAsTheirInt32) {
  for (int bits : {16, 24}) {
    const auto pcm = sines(44100, {-12.0, -30.0}, 1.0, bits);
    const auto wire = to_big_endian(pcm, bits);
    LevelMeter m;
    m.reset(44100, 2, bits);
    m.add_big_endian(wire.data(), pcm.size() / 2);
    EXPECT_NEAR(m.levels(0).peak_dbfs, -12.0, 0.1) << "L" << bits;
    EXPECT_NEAR(m.levels(1).rms_dbfs, -33.0103, 0.1) << "L" << bits;
    EXPECT_EQ(m.levels(0).seconds, 1u);
  }
}

TEST(Levels, NothingBeforeTheFirstWholeSecond) {
  LevelMeter m;
  m.reset(48000, 1, 24);
  const auto pcm = sines(48000, {-20.0}, 0.5, 24);
  m.add(pcm.data(), pcm.size());
  EXPECT_EQ(m.levels(0).seconds, 0u);
  EXPECT_EQ(m.levels(5).seconds, 0u);  // no such channel
}

TEST(Levels, DigitalSilenceIsMinusInfinity) {
  LevelMeter m;
  m.reset(48000, 1, 24);
  const std::vector<std::int32_t> zeros(48000, 0);
  m.add(zeros.data(), zeros.size());
  EXPECT_TRUE(std::isinf(m.levels(0).peak_dbfs) && m.levels(0).peak_dbfs < 0);
  EXPECT_TRUE(std::isinf(m.levels(0).rms_dbfs) && m.levels(0).rms_dbfs < 0);
}

TEST(Levels, SilenceDetectedWithinItsSetTime) {
  LevelsConfig cfg;
  cfg.silence_ms = 2000;  // below -60 dBFS for 2 s
  LevelMeter m;
  m.reset(48000, 2, 24, cfg);
  // 1 s of tone on both channels, then channel 0 at -70 dBFS (below the threshold: silence),
  // channel 1 at -50 dBFS (above it: not silence), in 1 ms packets.
  const auto loud = sines(48000, {-20.0, -20.0}, 1.0, 24);
  m.add(loud.data(), loud.size() / 2);
  EXPECT_FALSE(m.levels(0).silent);
  EXPECT_EQ(m.levels(0).silences, 0u);
  const auto quiet = sines(48000, {-70.0, -50.0}, 3.0, 24);
  std::size_t silent_at_frame = 0;
  for (std::size_t f = 0; f < quiet.size() / 2; f += 48) {
    m.add(&quiet[f * 2], 48);
    if (silent_at_frame == 0 && m.levels(0).silent) silent_at_frame = f + 48;
  }
  // The last loud sample is within the tone's last half cycle: silence follows 2 s after it,
  // seen at the end of the packet that completes it.
  EXPECT_GE(silent_at_frame, 2000u * 48 - 48);
  EXPECT_LE(silent_at_frame, 2000u * 48 + 48);
  EXPECT_TRUE(m.levels(0).silent);
  EXPECT_EQ(m.levels(0).silences, 1u);
  EXPECT_NEAR(m.levels(0).silent_seconds, 3.0, 0.01);
  EXPECT_FALSE(m.levels(1).silent);
  EXPECT_LT(m.levels(1).silent_seconds, 0.01);
  // Sound again ends the silence; the count stays.
  m.add(loud.data(), 480);
  EXPECT_FALSE(m.levels(0).silent);
  EXPECT_EQ(m.levels(0).silences, 1u);
}

TEST(Levels, ClippingCountedOnAFullScaleSquareWave) {
  for (int bits : {16, 24}) {
    // 1 kHz at 48 kHz: 24 samples at positive full scale, 24 at negative, for one second.
    const std::int32_t pos = static_cast<std::int32_t>(0x7FFFFFFFu & ~((1u << (32 - bits)) - 1));
    std::vector<std::int32_t> square(48000);
    for (std::size_t i = 0; i < square.size(); ++i) square[i] = (i / 24) % 2 == 0 ? pos : INT32_MIN;
    LevelMeter m;
    m.reset(48000, 1, bits);
    const auto wire = to_big_endian(square, bits);
    m.add_big_endian(wire.data(), square.size());
    const auto l = m.levels(0);
    EXPECT_EQ(l.clipped_samples, 48000u) << "L" << bits;
    EXPECT_NEAR(l.peak_dbfs, 0.0, 0.001);
    EXPECT_NEAR(l.rms_dbfs, 0.0, 0.001);
  }
  // One step below full scale is not clipping.
  LevelMeter m;
  m.reset(48000, 1, 24);
  const std::int32_t below = 0x7FFFFE00;
  std::vector<std::int32_t> x(100, below);
  m.add(x.data(), x.size());
  EXPECT_EQ(m.levels(0).clipped_samples, 0u);
}

// ---- Wired: the extractor's decoded audio -> StreamSummary::levels -> JSON and metrics ----

namespace {

// Ethernet + IPv4 198.18.0.1:5000 > 239.69.1.1:5004 + UDP + RTP PT 97, SSRC 0xAB000001.
std::vector<std::uint8_t> rtp_frame(std::uint16_t seq, std::uint32_t ts,
                                    const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> f(14 + 20 + 8 + 12 + payload.size(), 0);
  f[12] = 0x08;
  std::uint8_t* ip = &f[14];
  ip[0] = 0x45;
  ip[2] = static_cast<std::uint8_t>((40 + payload.size()) >> 8);
  ip[3] = static_cast<std::uint8_t>(40 + payload.size());
  ip[8] = 64;
  ip[9] = 17;
  const std::uint8_t addrs[8] = {198, 18, 0, 1, 239, 69, 1, 1};
  std::memcpy(ip + 12, addrs, 8);
  std::uint8_t* udp = ip + 20;
  udp[0] = 0x13, udp[1] = 0x88, udp[2] = 0x13, udp[3] = 0x8C;  // 5000 > 5004
  udp[4] = static_cast<std::uint8_t>((20 + payload.size()) >> 8);
  udp[5] = static_cast<std::uint8_t>(20 + payload.size());
  std::uint8_t* rtp = udp + 8;
  rtp[0] = 0x80, rtp[1] = 97, rtp[2] = static_cast<std::uint8_t>(seq >> 8);
  rtp[3] = static_cast<std::uint8_t>(seq);
  for (int i = 0; i < 4; ++i) rtp[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
  rtp[8] = 0xAB, rtp[11] = 0x01;
  std::memcpy(rtp + 12, payload.data(), payload.size());
  return f;
}

}  // namespace

// --levels: the stream tracker and the levels consumer fed each packet, no files: the tracker's
// own snapshot carries the levels into the JSON and the metrics.
TEST(Levels, StreamLevelsReachTheStreamJsonAndTheMetrics) {
  rtcap::StreamTrackerConfig tc;
  rtcap::FormatOption o;
  ASSERT_EQ(rtcap::parse_format_option("97=L24/48000/3", o), "");
  tc.audio_formats.push_back(o);
  rtcap::StreamTracker tracker(tc);
  rtcap::analysis::StreamLevels meter(tracker);
  // 12 s of L24, 3 channels, in 1 ms packets: channel 0 a -12 dBFS sine, channel 1 a full-scale
  // square, channel 2 a -20 dBFS sine for 1 s and then digital silence (10 s makes it silent).
  auto pcm = sines(48000, {-12.0, -200.0, -20.0}, 12.0, 24);
  for (std::size_t f = 0; f < pcm.size() / 3; ++f) {
    pcm[3 * f + 1] = (f / 24) % 2 ? INT32_MIN : 0x7FFFFF00;
    if (f >= 48000) pcm[3 * f + 2] = 0;
  }
  const auto wire = to_big_endian(pcm, 24);
  constexpr std::size_t kPacket = 48 * 3 * 3;
  for (std::uint16_t k = 0; k < 12000; ++k) {
    const std::vector<std::uint8_t> payload(wire.begin() + k * kPacket,
                                            wire.begin() + (k + 1) * kPacket);
    const auto f = rtp_frame(k, k * 48u, payload);
    const rtcap::PacketView v{1'700'000'000'000'000'000 + std::int64_t{k} * 1'000'000,
                              static_cast<std::uint32_t>(f.size()),
                              0,
                              {f.data(), f.size()}};
    tracker.add(v, 1);
    meter.add(v, 1);
  }
  rtcap::TrackerSnapshot snap = tracker.snapshot();
  ASSERT_EQ(snap.streams.size(), 1u);
  meter.add_levels(snap.streams);
  ASSERT_EQ(snap.streams[0].levels.size(), 3u);
  const auto& l = snap.streams[0].levels;
  EXPECT_EQ(l[0].seconds, 11u);  // the first two packets were the sequence's probation
  EXPECT_NEAR(l[0].peak_dbfs, -12.0, 0.1);
  EXPECT_EQ(l[0].clipped_samples, 0u);
  EXPECT_FALSE(l[0].silent);
  EXPECT_GE(l[1].clipped_samples, 11u * 48000);
  EXPECT_TRUE(l[2].silent);
  EXPECT_EQ(l[2].silences, 1u);
  EXPECT_NEAR(l[2].silent_seconds, 11.0, 0.01);

  const auto j = nlohmann::json::parse(rtcap::to_json(snap));
  const auto& levels = j["streams"][0]["levels"];
  ASSERT_EQ(levels.size(), 3u);
  EXPECT_NEAR(levels[0]["peak_dbfs"].get<double>(), -12.0, 0.1);
  EXPECT_NEAR(levels[0]["rms_dbfs"].get<double>(), -15.01, 0.1);
  EXPECT_GE(levels[1]["clipped_samples"].get<std::uint64_t>(), 48000u);
  EXPECT_TRUE(levels[2]["silent"].get<bool>());

  const std::string text = rtcap::render_metrics(rtcap::CaptureStats{}, &snap, nullptr);
  const std::string peak0 =
      "rtcap_stream_channel_peak_dbfs{src=\"198.18.0.1:5000\",dst=\"239.69.1.1:5004\",ssrc="
      "\"0xab000001\",channel=\"0\"} ";
  const auto at = text.find(peak0);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_NEAR(std::stod(text.substr(at + peak0.size())), -12.0, 0.1);
  EXPECT_NE(text.find("rtcap_stream_channel_clipped_samples_total{src=\"198.18.0.1:5000\",dst="
                      "\"239.69.1.1:5004\",ssrc=\"0xab000001\",channel=\"1\"} "),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE rtcap_stream_channel_silence_seconds gauge"), std::string::npos);
}
