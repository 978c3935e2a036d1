// A format option (--audio-format SELECTOR=ENC/RATE/CH) that selects a stream is the user's word
// for it: it wins over an SDP that says otherwise, and the format's source says which SDP it
// overrides (the one line --extract-audio prints for the WAV).
#include <gtest/gtest.h>

#include <string>

#include "analysis_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap {
namespace {

constexpr const char* kWrongSdp =
    "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Wrong\r\nc=IN IP4 239.69.1.1/32\r\nt=0 0\r\n"
    "m=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/96000/2\r\n";

// 200 packets of L24/48000/2, 1 ms apart (48 frames: 288 bytes), and the one stream they make.
StreamSummary feed(StreamTracker& t) {
  for (int i = 0; i < 200; ++i) {
    Rtp r;
    r.seq = static_cast<std::uint16_t>(i);
    r.ts = 48u * static_cast<std::uint32_t>(i);
    r.payload = 48 * 2 * 3;
    V4 v;
    v.src = 0xC6120001;
    v.dst = 0xEF450101;
    t.add(view(ether(0x0800, ipv4(v, udp(5004, 5004, rtp(r)))), 1'000'000'000 + i * 1'000'000), 1);
  }
  const auto streams = t.streams();
  EXPECT_EQ(streams.size(), 1u);
  return streams.empty() ? StreamSummary{} : streams[0];
}

StreamKey key_of(const StreamSummary& s) {
  StreamKey k;
  k.interface_index = s.interface_index;
  k.src = s.src;
  k.dst = s.dst;
  k.src_port = s.src_port;
  k.dst_port = s.dst_port;
  k.ssrc = s.ssrc;
  return k;
}

StreamTrackerConfig config(const char* option) {
  StreamTrackerConfig c;
  c.sdp = parse_sdp(kWrongSdp, "file wrong.sdp");
  FormatOption f;
  EXPECT_EQ(parse_format_option(option, f), "");
  c.audio_formats.push_back(f);
  return c;
}

TEST(FormatOptionWins, OverADisagreeingSdpAndSaysSo) {
  StreamTracker t(config("239.69.1.1:5004=L24/48000/2"));
  const StreamSummary s = feed(t);
  EXPECT_EQ(s.clock_rate, 48000u);
  EXPECT_EQ(s.clock_source, ClockSource::kOption);
  const PcmStreamFormat f = t.pcm_format(key_of(s));
  EXPECT_EQ(f.state, FormatState::kReady) << f.why;
  EXPECT_EQ(f.rate_hz, 48000u);
  EXPECT_EQ(f.channels, 2);
  EXPECT_NE(f.source.find("option 239.69.1.1:5004=L24/48000/2"), std::string::npos) << f.source;
  EXPECT_NE(f.source.find("over sdp 'Wrong'"), std::string::npos) << f.source;
  EXPECT_NE(f.source.find("L24/96000/2"), std::string::npos) << f.source;
  EXPECT_EQ(f.source.find('\n'), std::string::npos);
  EXPECT_EQ(f.session_name, "Wrong");
}

TEST(FormatOptionWins, AnOptionThatAgreesNamesNoOverride) {
  StreamTracker t(config("97=L24/96000/2"));
  const PcmStreamFormat f = t.pcm_format(key_of(feed(t)));
  EXPECT_EQ(f.source.find("over sdp"), std::string::npos) << f.source;
}

TEST(FormatOptionWins, AnOptionForOtherStreamsLeavesTheSdp) {
  StreamTracker t(config("239.69.9.9:5004=L24/48000/2"));
  const StreamSummary s = feed(t);
  EXPECT_EQ(s.clock_rate, 96000u);
  EXPECT_EQ(s.clock_source, ClockSource::kSdp);
}

}  // namespace
}  // namespace rtcap
