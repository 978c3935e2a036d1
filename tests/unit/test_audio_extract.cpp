// --extract-audio: the WAV writer's header and byte order, and the extractor's reorder window,
// loss-as-silence and format sources, on packets built here.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "io/audio_extract.hpp"

namespace io = rtcap::io;

namespace {

std::vector<std::uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
std::uint32_t le32(const std::vector<std::uint8_t>& b, std::size_t o) {
  return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (std::uint32_t{b[o + 3]} << 24);
}
std::uint16_t le16(const std::vector<std::uint8_t>& b, std::size_t o) {
  return static_cast<std::uint16_t>(b[o] | (b[o + 1] << 8));
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/rtcap-wav-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
};

// Ethernet + IPv4 + UDP + RTP (no extension) with `payload`.
std::vector<std::uint8_t> frame(std::uint16_t seq, std::uint32_t ts, int pt,
                                const std::vector<std::uint8_t>& payload,
                                std::uint16_t dst_port = 5004) {
  std::vector<std::uint8_t> f(14 + 20 + 8 + 12 + payload.size(), 0);
  f[12] = 0x08;  // IPv4
  std::uint8_t* ip = &f[14];
  ip[0] = 0x45;
  const std::size_t ip_len = 20 + 8 + 12 + payload.size();
  ip[2] = static_cast<std::uint8_t>(ip_len >> 8);
  ip[3] = static_cast<std::uint8_t>(ip_len);
  ip[8] = 64;
  ip[9] = 17;
  const std::uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {239, 69, 1, 1};
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  std::uint8_t* udp = ip + 20;
  udp[0] = 0x13;
  udp[1] = 0x88;
  udp[2] = static_cast<std::uint8_t>(dst_port >> 8);
  udp[3] = static_cast<std::uint8_t>(dst_port);
  const std::size_t udp_len = 8 + 12 + payload.size();
  udp[4] = static_cast<std::uint8_t>(udp_len >> 8);
  udp[5] = static_cast<std::uint8_t>(udp_len);
  std::uint8_t* rtp = udp + 8;
  rtp[0] = 0x80;
  rtp[1] = static_cast<std::uint8_t>(pt);
  rtp[2] = static_cast<std::uint8_t>(seq >> 8);
  rtp[3] = static_cast<std::uint8_t>(seq);
  for (int i = 0; i < 4; ++i) rtp[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
  rtp[8] = 0xAB;
  rtp[11] = 0x01;
  std::memcpy(rtp + 12, payload.data(), payload.size());
  return f;
}

void feed(io::AudioExtractor& x, const std::vector<std::uint8_t>& f, std::int64_t ts_ns = 0) {
  x.add(rtcap::PacketView{ts_ns, static_cast<std::uint32_t>(f.size()), 0, {f.data(), f.size()}}, 1);
}

// A SAP announcement (RFC 2974, no authentication) of `sdp`, to 239.255.255.255:9875.
std::vector<std::uint8_t> sap_frame(const std::string& sdp) {
  std::vector<std::uint8_t> body = {0x20, 0, 0x12, 0x34, 198, 18, 0, 1};
  const std::string type = "application/sdp";
  body.insert(body.end(), type.begin(), type.end());
  body.push_back(0);
  body.insert(body.end(), sdp.begin(), sdp.end());
  // frame() lays out an RTP header: build the UDP datagram over it and cut the header off.
  std::vector<std::uint8_t> f = frame(0, 0, 0, body, 9875);
  f.erase(f.begin() + 42, f.begin() + 54);
  const std::size_t udp_len = 8 + body.size(), ip_len = 20 + udp_len;
  f[16] = static_cast<std::uint8_t>(ip_len >> 8);
  f[17] = static_cast<std::uint8_t>(ip_len);
  f[38] = static_cast<std::uint8_t>(udp_len >> 8);
  f[39] = static_cast<std::uint8_t>(udp_len);
  f[30] = 239;
  f[31] = f[32] = f[33] = 255;
  return f;
}

std::string sdp_text(const std::string& rtpmap) {
  return "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Desk\r\nc=IN IP4 239.69.1.1/1\r\nt=0 0\r\n"
         "m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 " +
         rtpmap + "\r\n";
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// 6 frames of L24 stereo whose samples encode (packet, frame, channel).
std::vector<std::uint8_t> l24_payload(int packet) {
  std::vector<std::uint8_t> p;
  for (int j = 0; j < 6; ++j)
    for (int c = 0; c < 2; ++c) {
      const std::int32_t v = -(packet * 100 + j * 10 + c + 1);  // negative: checks sign bytes
      p.push_back(static_cast<std::uint8_t>(v >> 16));
      p.push_back(static_cast<std::uint8_t>(v >> 8));
      p.push_back(static_cast<std::uint8_t>(v));
    }
  return p;
}

}  // namespace

TEST(AudioExtract, ParsesFormats) {
  io::PcmFormat f;
  EXPECT_EQ(io::parse_pcm_format("L24/48000/2", f), "");
  EXPECT_EQ(f.bits, 24);
  EXPECT_EQ(f.channels, 2);
  EXPECT_EQ(io::parse_pcm_format("L16/44100", f), "");
  EXPECT_EQ(f.channels, 1);
  for (const char* bad :
       {"L24", "PCMU/8000", "L24/0/2", "L24/48000/0", "L24/48000/x", "L24/48000/65"})
    EXPECT_NE(io::parse_pcm_format(bad, f), "") << bad;
}

TEST(AudioExtract, WavHeaderPcmAndExtensible) {
  TempDir d;
  {
    io::WavWriter w;
    ASSERT_EQ(w.open(d.path + "/a.wav", io::PcmFormat{24, 48000, 2}), "");
    const std::uint8_t be[6] = {0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFE};  // 0x123456, -2
    w.write_big_endian(be, 1);
    w.write_silence(2);
    ASSERT_EQ(w.close(), "");
  }
  auto b = slurp(d.path + "/a.wav");
  ASSERT_EQ(b.size(), 44u + 3 * 6);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "RIFF");
  EXPECT_EQ(le32(b, 4), b.size() - 8);
  EXPECT_EQ(le16(b, 20), 1);  // WAVE_FORMAT_PCM for two channels
  EXPECT_EQ(le32(b, 24), 48000u);
  EXPECT_EQ(le16(b, 32), 6);  // block align
  EXPECT_EQ(le16(b, 34), 24);
  EXPECT_EQ(le32(b, 40), 18u);  // data bytes
  EXPECT_EQ(b[44], 0x56);       // little-endian
  EXPECT_EQ(b[45], 0x34);
  EXPECT_EQ(b[46], 0x12);
  EXPECT_EQ(b[47], 0xFE);
  EXPECT_EQ(b[49], 0xFF);
  for (std::size_t i = 50; i < b.size(); ++i) EXPECT_EQ(b[i], 0) << i;

  {
    io::WavWriter w;
    ASSERT_EQ(w.open(d.path + "/b.wav", io::PcmFormat{16, 48000, 8}), "");
    ASSERT_EQ(w.close(), "");
  }
  b = slurp(d.path + "/b.wav");
  ASSERT_EQ(b.size(), 68u);
  EXPECT_EQ(le32(b, 16), 40u);
  EXPECT_EQ(le16(b, 20), 0xFFFE);  // WAVE_FORMAT_EXTENSIBLE beyond two channels
  EXPECT_EQ(le16(b, 22), 8);
  EXPECT_EQ(le16(b, 36), 22);  // cbSize
  EXPECT_EQ(le16(b, 38), 16);  // valid bits
  EXPECT_EQ(b[44], 0x01);      // KSDATAFORMAT_SUBTYPE_PCM
  EXPECT_EQ(b[59], 0x71);
  EXPECT_EQ(std::string(b.begin() + 60, b.begin() + 64), "data");
}

TEST(AudioExtract, ReorderedInPlaceLostAsSilence) {
  TempDir d;
  io::AudioExtractConfig c;
  c.dir = d.path;
  c.format_by_pt[97] = io::PcmFormat{24, 48000, 2};
  io::AudioExtractor x(c);
  ASSERT_EQ(x.check_output(), "");
  // Packets 0..9 from seq 65533 (wraps), 6 samples each; 3 arrives after 4; 6 and 7 are lost.
  const std::uint16_t seq0 = 65533;
  const std::uint32_t ts0 = 0xFFFFFFF0u;  // wraps too
  for (int k : {0, 1, 2, 4, 3, 5, 8, 9})
    feed(x, frame(static_cast<std::uint16_t>(seq0 + k), ts0 + 6u * k, 97, l24_payload(k)));
  feed(x, frame(static_cast<std::uint16_t>(seq0 + 1), ts0 + 6, 97, l24_payload(1)));  // a duplicate
  const auto out = x.finish();
  ASSERT_EQ(out.size(), 1u);
  const auto& s = out[0];
  EXPECT_EQ(s.skipped, "");
  EXPECT_EQ(s.format_source, "option");
  EXPECT_EQ(s.packets, 8u);
  EXPECT_EQ(s.frames, 60u);
  EXPECT_EQ(s.gaps, 1u);
  EXPECT_EQ(s.silence_frames, 12u);
  EXPECT_EQ(s.lost_packets, 2u);
  EXPECT_EQ(s.late_or_duplicate, 1u);
  const auto b = slurp(s.wav_path);
  ASSERT_EQ(b.size(), 44u + 60 * 6);
  for (int k = 0; k < 10; ++k)
    for (int j = 0; j < 6; ++j)
      for (int c2 = 0; c2 < 2; ++c2) {
        const std::size_t o = 44 + (static_cast<std::size_t>(k * 6 + j) * 2 + c2) * 3;
        std::int32_t v = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
        if (v & 0x800000) v -= 0x1000000;
        const std::int32_t want = (k == 6 || k == 7) ? 0 : -(k * 100 + j * 10 + c2 + 1);
        ASSERT_EQ(v, want) << "packet " << k << " frame " << j << " channel " << c2;
      }
  const auto gaps = slurp(s.gaps_path);
  const std::string text(gaps.begin(), gaps.end());
  EXPECT_NE(text.find("\n36,0.000750,12,0.250,"), std::string::npos)
      << text;  // at sample 36, 12 samples
  EXPECT_NE(text.find(",3,2,lost\n"), std::string::npos)
      << text;  // first lost seq 65539 -> 3, two packets
}

TEST(AudioExtract, FormatSourcesAndSkips) {
  TempDir d;
  io::AudioExtractConfig c;
  c.dir = d.path;
  auto sdp = rtcap::parse_sdp(
      "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Desk\r\nc=IN IP4 239.69.1.1/1\r\nt=0 0\r\n"
      "m=audio 5004 RTP/AVP 98\r\na=rtpmap:98 L16/48000/1\r\n",
      "file t.sdp");
  ASSERT_EQ(sdp.size(), 1u);
  c.sdp = sdp;
  io::AudioExtractor x(c);
  const std::vector<std::uint8_t> mono16(12, 0);  // 6 frames of L16 mono
  // Four packets each: the catalogue validates a stream and learns its timestamp step first.
  for (std::uint16_t k = 1; k <= 4; ++k) {
    const std::uint32_t ts = 6u * k;
    feed(x, frame(k, ts, 98, mono16));        // described by the SDP
    feed(x, frame(k, ts, 11, mono16, 5006));  // static L16 mono 44.1 kHz
    feed(x, frame(k, ts, 97, mono16, 5008));  // dynamic, undescribed
    feed(x, frame(k, ts, 0, mono16, 5010));   // PCMU: not PCM
  }
  const auto out = x.finish();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_NE(out[0].format_source.find("sdp 'Desk'"), std::string::npos);
  EXPECT_EQ(out[0].format.bits, 16);
  EXPECT_EQ(out[0].frames, 24u);
  EXPECT_EQ(out[1].format_source, "static (RFC 3551)");
  EXPECT_EQ(out[1].format.rate_hz, 44100u);
  EXPECT_NE(out[2].skipped.find("format option 97=L24/48000/2"), std::string::npos)
      << out[2].skipped;
  EXPECT_TRUE(out[2].wav_path.empty());
  EXPECT_NE(out[3].skipped.find("not PCM"), std::string::npos) << out[3].skipped;
  const std::string report = io::format_extract_report(out);
  EXPECT_NE(report.find("not extracted"), std::string::npos);
}

// An absurd rate (the catalogue range-checks an SDP's, so a format given directly) and two
// packets whose timestamps say 2^31 samples apart, 1 ms apart in time: no silence the arrival
// clock cannot hold, in 64-bit arithmetic.
TEST(AudioExtract, SilenceIsBoundedByElapsedTime) {
  TempDir d;
  io::AudioExtractConfig c;
  c.dir = d.path;
  c.format_by_pt[96] = io::PcmFormat{24, rtcap::kMaxClockRateHz, 64};  // the most a format may say
  io::AudioExtractor x(c);
  ASSERT_EQ(x.check_output(), "");
  const std::vector<std::uint8_t> one_frame(192, 0x11);  // 64 channels x 3 bytes
  // Four packets first: the catalogue validates the stream and learns its timestamp step (1).
  for (std::uint16_t k = 0; k < 4; ++k) feed(x, frame(k + 1, k, 96, one_frame), 1'000'000'000);
  feed(x, frame(5, 0x7FFFFFF0u, 96, one_frame), 1'001'000'000);
  auto out = x.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].skipped, "");
  EXPECT_EQ(out[0].silence_frames, 0u);
  EXPECT_EQ(out[0].discontinuities, 1u);
  EXPECT_EQ(out[0].frames, 5u);
  EXPECT_LT(file_size(out[0].wav_path), 1100u);

  // PT 11 (L16 mono 44.1 kHz): a 10 s timestamp jump 1 ms later is not 882 KB of silence; a
  // real 5-packet loss (timestamps and arrival agree) is filled.
  io::AudioExtractConfig c2;
  c2.dir = d.path + "/b";
  io::AudioExtractor y(c2);
  ASSERT_EQ(y.check_output(), "");
  const std::vector<std::uint8_t> pkt(88, 0);  // 44 samples
  const std::int64_t t0 = 1'000'000'000;
  // Four packets first (validation, the timestamp step), 1 ms apart; the fourth ends at 176.
  for (std::uint16_t k = 0; k < 4; ++k)
    feed(y, frame(k + 1, 44u * k, 11, pkt, 5006), t0 + k * 1'000'000);
  const std::int64_t t1 = t0 + 3'000'000;
  feed(y, frame(5, 132 + 441000, 11, pkt, 5006), t1 + 1'000'000);
  feed(y, frame(6, 132 + 441044 + 5 * 44, 11, pkt, 5006), t1 + 7'000'000);
  out = y.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].skipped, "");
  EXPECT_EQ(out[0].silence_frames, 5u * 44);
  EXPECT_EQ(out[0].discontinuities, 1u);
  EXPECT_EQ(out[0].unfilled_frames, 441000u - 44);
  EXPECT_LT(file_size(out[0].wav_path), 2000u);
  EXPECT_NE(io::format_extract_report(out).find("timestamp jumps not filled"), std::string::npos);
}

TEST(AudioExtract, ByteBudgetStopsTheFilesAndSaysWhatWasNotWritten) {
  TempDir d;
  io::AudioExtractConfig c;
  c.dir = d.path;
  c.format_by_pt[97] = io::PcmFormat{24, 48000, 2};
  c.max_bytes = 1000;
  io::AudioExtractor x(c);
  ASSERT_EQ(x.check_output(), "");
  for (int k = 0; k < 100; ++k)
    feed(x, frame(static_cast<std::uint16_t>(k), 6u * k, 97, l24_payload(k)), k * 125'000);
  const auto out = x.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].packets, 1000u / 36);
  EXPECT_EQ(out[0].over_budget_packets, 100u - 1000u / 36);
  EXPECT_EQ(out[0].over_budget_bytes, (100u - 1000u / 36) * 36);
  EXPECT_EQ(file_size(out[0].wav_path), 44u + (1000u / 36) * 36);
  EXPECT_FALSE(io::extract_failed(out));  // a budget is a choice, not a failure
  const std::string r = io::format_extract_report(out);
  EXPECT_NE(r.find("the audio byte budget ran out"), std::string::npos) << r;
  EXPECT_EQ(r.find("--extract"), std::string::npos) << r;  // the library names no CLI flag
  const std::string cli = io::format_extract_report(out, "--extract-audio-max-bytes");
  EXPECT_NE(cli.find("--extract-audio-max-bytes"), std::string::npos) << cli;
}

// Jumbo frames: 8,900-byte L16 payloads are audio; a payload that is not whole frames is counted
// and said.
TEST(AudioExtract, JumboPayloadsAreExtractedAndUnusableOnesCounted) {
  TempDir d;
  io::AudioExtractConfig c;
  c.dir = d.path;
  c.format_by_pt[97] = io::PcmFormat{16, 48000, 2};
  io::AudioExtractor x(c);
  ASSERT_EQ(x.check_output(), "");
  std::vector<std::uint8_t> jumbo(8900);
  for (std::size_t i = 0; i < jumbo.size(); ++i) jumbo[i] = static_cast<std::uint8_t>(i * 7);
  // 2,225 frames a packet. Four jumbo packets first: the catalogue validates the stream and
  // learns its timestamp step (from the stash, they start the file).
  constexpr std::uint32_t kW = 4 * 2225;  // where the warm-up ends
  for (std::uint16_t k = 0; k < 4; ++k) feed(x, frame(k, 2225u * k, 97, jumbo));
  // Then packet 6 arrives after 7 (the window moves a jumbo payload).
  feed(x, frame(4, kW, 97, std::vector<std::uint8_t>(400, 1)));  // a small one
  feed(x, frame(5, kW + 100, 97, jumbo));
  feed(x, frame(7, kW + 100 + 2 * 2225, 97, jumbo));
  feed(x, frame(6, kW + 100 + 2225, 97, jumbo));
  feed(x, frame(8, kW + 100 + 3 * 2225, 97, std::vector<std::uint8_t>(8901, 0)));  // not frames
  const auto out = x.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].skipped, "");
  EXPECT_EQ(out[0].packets, 4u + 4);
  EXPECT_EQ(out[0].frames, kW + 100u + 3 * 2225);
  EXPECT_EQ(out[0].malformed, 1u);
  const auto b = slurp(out[0].wav_path);
  ASSERT_EQ(b.size(), 44u + 4 * (kW + 100u + 3 * 2225));
  // Packet 6's first sample, little-endian, at frame kW + 100 + 2225.
  const std::size_t o = 44 + 4 * (kW + 100 + 2225);
  EXPECT_EQ(b[o], jumbo[1]);
  EXPECT_EQ(b[o + 1], jumbo[0]);
  const std::string r = io::format_extract_report(out);
  EXPECT_NE(r.find("1 packets not used"), std::string::npos) << r;
}

// The SDP comes 50 packets into the stream (a late SAP): the WAV says where it starts.
TEST(AudioExtract, LateFormatSaysTheFileStartsMidStream) {
  TempDir d;
  io::AudioExtractConfig c;
  c.dir = d.path;
  io::AudioExtractor x(c);
  ASSERT_EQ(x.check_output(), "");
  const std::int64_t t0 = 5'000'000'000;
  for (int k = 0; k < 50; ++k)
    feed(x, frame(static_cast<std::uint16_t>(100 + k), 6u * k, 96, l24_payload(k)),
         t0 + k * 125'000);
  feed(x, sap_frame(sdp_text("L24/48000/2")), t0 + 50 * 125'000);
  for (int k = 50; k < 60; ++k)
    feed(x, frame(static_cast<std::uint16_t>(100 + k), 6u * k, 96, l24_payload(k)),
         t0 + k * 125'000);
  const auto out = x.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].skipped, "");
  EXPECT_EQ(out[0].packets, 10u);
  EXPECT_EQ(out[0].before_format_packets, 50u);
  EXPECT_EQ(out[0].before_format_ns, 50 * 125'000);
  const std::string r = io::format_extract_report(out);
  EXPECT_NE(r.find("starts mid-stream"), std::string::npos) << r;
  const auto g = slurp(out[0].gaps_path);
  const std::string text(g.begin(), g.end());
  EXPECT_NE(text.find("\n0,0.000000,0,6.250,100,50,before_format\n"), std::string::npos) << text;
}

// Links planted in the output directory are never followed: not by the write probe, the WAV or
// the gaps file; the capture is told it failed.
TEST(AudioExtract, PlantedLinksAreRefused) {
  TempDir d;
  const std::string victim = d.path + "/victim";
  std::ofstream(victim) << "precious";
  const std::string out_dir = d.path + "/wav";
  ASSERT_EQ(::mkdir(out_dir.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(victim.c_str(),
                      (out_dir + "/198.18.0.1_5000-239.69.1.1_5004-ab000001.wav").c_str()),
            0);
  ASSERT_EQ(::symlink(victim.c_str(),
                      (out_dir + "/198.18.0.1_5000-239.69.1.1_5006-ab000001.gaps.csv").c_str()),
            0);
  ASSERT_EQ(::symlink(victim.c_str(),
                      (out_dir + "/.rtcap-write-probe-" + std::to_string(::getpid())).c_str()),
            0);
  io::AudioExtractConfig c;
  c.dir = out_dir;
  c.format_by_pt[97] = io::PcmFormat{24, 48000, 2};
  {
    io::AudioExtractor probe(c);
    EXPECT_NE(probe.check_output(), "");  // the probe name is taken: refused, not followed
  }
  ASSERT_EQ(::unlink((out_dir + "/.rtcap-write-probe-" + std::to_string(::getpid())).c_str()), 0);
  io::AudioExtractor x(c);
  ASSERT_EQ(x.check_output(), "");
  // Four packets each: the catalogue validates a stream and learns its timestamp step first.
  for (std::uint16_t k = 1; k <= 4; ++k) {
    feed(x, frame(k, 6u * k, 97, l24_payload(k)));
    feed(x, frame(k, 6u * k, 97, l24_payload(k), 5006));
  }
  const auto out = x.finish();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].wav_path.empty());
  EXPECT_NE(out[0].write_error.find("symbolic link"), std::string::npos) << out[0].write_error;
  EXPECT_NE(out[1].write_error.find("symbolic link"), std::string::npos) << out[1].write_error;
  EXPECT_TRUE(io::extract_failed(out));
  std::ifstream f(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(f), {}), "precious");
}

// A write that fails part-way (here the file size limit; a full disk the same) leaves a WAV
// whose RIFF and data sizes match the whole frames in it, and says why.
// The writer buffers packets as RTP carried them and converts the buffer at each write: packets
// of every size across the buffer's ends (one larger than the buffer too), with silence between
// them, come out little-endian sample for sample (L24 and L16).
TEST(AudioExtract, BufferedPacketsAcrossFlushesComeOutLittleEndian) {
  TempDir d;
  for (const int bits : {24, 16}) {
    const io::PcmFormat f{bits, 48000, 2};
    const std::size_t fb = f.frame_bytes();
    const std::size_t w = fb / 2;
    const std::string path = d.path + "/x" + std::to_string(bits) + ".wav";
    std::vector<std::uint8_t> expect;  // the data chunk, built sample by sample
    std::uint8_t next = 0;
    {
      io::WavWriter wav;
      ASSERT_EQ(wav.open(path, f), "");
      for (const std::size_t frames :
           {std::size_t{6}, std::size_t{1}, std::size_t{1499}, io::WavWriter::kBufferBytes / fb + 7,
            std::size_t{48}, std::size_t{3}, std::size_t{10923}, std::size_t{6}}) {
        std::vector<std::uint8_t> be(frames * fb);
        for (auto& b : be) b = next++;
        ASSERT_TRUE(wav.write_big_endian(be.data(), frames));
        for (std::size_t i = 0; i < be.size(); i += w)
          for (std::size_t k = 0; k < w; ++k) expect.push_back(be[i + w - 1 - k]);
        if (frames == 48) {
          ASSERT_TRUE(wav.write_silence(5));
          expect.insert(expect.end(), 5 * fb, 0);
        }
      }
      ASSERT_EQ(wav.close(), "");
      EXPECT_EQ(wav.frames(), expect.size() / fb);
    }
    const auto b = slurp(path);
    ASSERT_EQ(b.size(), 44 + expect.size());
    EXPECT_EQ(le32(b, 40), expect.size());
    EXPECT_TRUE(std::equal(expect.begin(), expect.end(), b.begin() + 44)) << bits;
  }
}

TEST(AudioExtract, FailedWriteLeavesAHeaderThatMatchesTheData) {
  TempDir d;
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  const std::string path = d.path + "/a.wav";
  std::string close_error;
  std::uint64_t frames = 0;
  {
    io::WavWriter w;
    ASSERT_EQ(w.open(path, io::PcmFormat{24, 48000, 2}), "");
    struct rlimit small = old;
    small.rlim_cur = 100'000;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    std::vector<std::uint8_t> be(6 * 48000, 0x42);  // 1 s: more than the limit
    w.write_big_endian(be.data(), 48000);
    w.write_silence(10);
    close_error = w.close();
    frames = w.frames();
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  }
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(close_error.find("File too large"), std::string::npos) << close_error;
  const auto b = slurp(path);
  ASSERT_GT(b.size(), 44u);
  EXPECT_LE(b.size(), 100'000u);
  EXPECT_EQ((b.size() - 44) % 6, 0u);
  EXPECT_EQ(le32(b, 4), b.size() - 8);
  EXPECT_EQ(le32(b, 40), b.size() - 44);
  EXPECT_EQ(frames, (b.size() - 44) / 6);
}

// A gap that fits the time but not the 4 GiB a RIFF file can hold: the file ends there (its
// silence a hole, no disk blocks), and the packets after it are counted as not written.
TEST(AudioExtract, RiffLimitEndsTheFileAndIsSaid) {
  TempDir d;
  io::AudioExtractConfig c;
  c.dir = d.path;
  c.format_by_pt[97] = io::PcmFormat{24, rtcap::kMaxClockRateHz, 64};  // 147 MB/s: 4 GiB in 29 s
  c.max_bytes = ~std::uint64_t{0};
  io::AudioExtractor x(c);
  ASSERT_EQ(x.check_output(), "");
  const std::vector<std::uint8_t> one_frame(192, 0x11);
  const std::int64_t t0 = 1'000'000'000;
  // Four packets first (validation, the timestamp step: 1), samples 0..3.
  for (std::uint16_t k = 0; k < 4; ++k) feed(x, frame(k + 1, k, 97, one_frame), t0);
  // Then 9 s outages (under the 10 s a gap may fill), 1.33 GB of silence each: the fourth
  // would pass 4 GiB.
  constexpr std::uint32_t kGap = 9 * rtcap::kMaxClockRateHz;
  std::uint32_t ts = 3;
  for (std::uint16_t i = 1; i <= 4; ++i) {
    ts += 1 + kGap;
    feed(x, frame(static_cast<std::uint16_t>(4 + i), ts, 97, one_frame),
         t0 + std::int64_t{i} * 9'500'000'000);
  }
  const auto out = x.finish();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].skipped, "");
  constexpr std::uint64_t kWavFrames = 4 + 3 * (std::uint64_t{kGap} + 1);
  EXPECT_EQ(out[0].packets, 7u);
  EXPECT_EQ(out[0].frames, kWavFrames);
  EXPECT_EQ(out[0].silence_frames, 3 * std::uint64_t{kGap});
  EXPECT_EQ(out[0].over_budget_packets, 1u);
  EXPECT_TRUE(out[0].riff_full);
  EXPECT_EQ(file_size(out[0].wav_path), 68u + kWavFrames * 192);
  struct stat st {};
  ASSERT_EQ(::stat(out[0].wav_path.c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 1'000'000) << "the silence is not a hole";
  EXPECT_NE(io::format_extract_report(out).find("4 GiB RIFF limit"), std::string::npos);
}

// A full slot table frees the record of a stream that ended (idle), not that of a live stream
// waiting for its format: freeing a live one only brings it back at its next packet, pushing out
// another (churn), and each eviction was a report line of its own.
TEST(AudioExtract, AFullTableFreesAnIdleStreamBeforeALiveOne) {
  TempDir d;
  io::AudioExtractConfig c;
  c.dir = d.path;
  c.max_streams = 2;
  c.format_by_pt[97] = io::PcmFormat{24, 48000, 2};
  io::AudioExtractor x(c);
  ASSERT_EQ(x.check_output(), "");
  std::int64_t t = 0;
  const auto both = [&](int k, bool a, std::uint16_t b_port) {
    const auto seq = static_cast<std::uint16_t>(k);
    // 5008: payload type 96, no format known: its record waits, live.
    feed(x, frame(seq, 6u * k, 96, l24_payload(k), 5008), t);
    if (a) feed(x, frame(seq, 6u * k, 97, l24_payload(k), 5004), t);
    if (b_port != 0) feed(x, frame(seq, 6u * k, 97, l24_payload(k), b_port), t);
    t += 125'000;
  };
  for (int k = 0; k < 10; ++k) both(k, true, 0);  // 5004 extracted, 5008 waiting
  t += 3'000'000'000;                             // 5004 ends: 3 s without a packet
  for (int k = 10; k < 20; ++k) both(k, false, 5006);
  const auto out = x.finish();
  std::size_t waiting = 0, ended = 0, later = 0;
  for (const auto& s : out) {
    waiting += s.description.find(":5008 ") != std::string::npos;
    ended += s.description.find(":5004 ") != std::string::npos && !s.wav_path.empty();
    later += s.description.find(":5006 ") != std::string::npos && !s.wav_path.empty();
  }
  EXPECT_EQ(waiting, 1u) << io::format_extract_report(out);
  EXPECT_EQ(ended, 1u) << io::format_extract_report(out);
  EXPECT_EQ(later, 1u) << io::format_extract_report(out);
}
