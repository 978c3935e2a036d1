// --extract-audio: the WAV writer's header and byte order, and the extractor's reorder window,
// loss-as-silence and format sources, on packets built here.
#include <gtest/gtest.h>
#include <unistd.h>

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

void feed(io::AudioExtractor& x, const std::vector<std::uint8_t>& f) {
  x.add(rtcap::PacketView{0, static_cast<std::uint32_t>(f.size()), 0, {f.data(), f.size()}}, 1);
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
  EXPECT_NE(text.find(",3,2\n"), std::string::npos)
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
  EXPECT_NE(out[2].skipped.find("--audio-format 97=L24/48000/2"), std::string::npos)
      << out[2].skipped;
  EXPECT_TRUE(out[2].wav_path.empty());
  EXPECT_NE(out[3].skipped.find("not PCM"), std::string::npos) << out[3].skipped;
  const std::string report = io::format_extract_report(out);
  EXPECT_NE(report.find("not extracted"), std::string::npos);
}
