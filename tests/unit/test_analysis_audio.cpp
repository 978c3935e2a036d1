// Audio-over-IP truth (issues 11 and 13): RFC 3551 clocks, loss a person can read, outages taken
// for restarts, never-validated streams, SDP/SAP attached to streams, AES67 / ST 2110-30 timing
// (PIT, TS-DF, drift, verdict) on crafted arrival patterns with the values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap {
namespace {

constexpr std::uint32_t kGroup = 0xEF450101;     // 239.69.1.1
constexpr std::uint32_t kSapGroup = 0xEFFFFFFF;  // 239.255.255.255

Bytes frame_to(const Rtp& r, std::uint32_t dst, std::uint16_t dport = 5004,
               std::uint32_t src = 0xC6120001) {
  V4 v;
  v.src = src;
  v.dst = dst;
  return ether(0x0800, ipv4(v, udp(5004, dport, rtp(r))));
}

// n packets of one stream: seq from seq0, ts step `ticks`, arrival step `gap_ns`.
void feed(StreamTracker& t, int n, std::uint16_t seq0, std::uint32_t ts0, std::uint32_t ticks,
          std::int64_t t0_ns, std::int64_t gap_ns, Rtp proto = {}, std::uint32_t dst = 0xC6130002) {
  for (int i = 0; i < n; ++i) {
    Rtp r = proto;
    r.seq = static_cast<std::uint16_t>(seq0 + i);
    r.ts = ts0 + static_cast<std::uint32_t>(i) * ticks;
    t.add(view(frame_to(r, dst), t0_ns + i * gap_ns), 1);
  }
}

// ---------------------------------------------------------------- clocks (item 1)

TEST(AnalysisClock, StaticTableFollowsRfc3551) {
  EXPECT_EQ(static_clock_rate(0), 8000u);   // PCMU
  EXPECT_EQ(static_clock_rate(8), 8000u);   // PCMA
  EXPECT_EQ(static_clock_rate(9), 8000u);   // G722: 8000 RTP clock, 16 kHz sampling
  EXPECT_EQ(static_clock_rate(6), 16000u);  // DVI4
  EXPECT_EQ(static_clock_rate(16), 11025u);
  EXPECT_EQ(static_clock_rate(17), 22050u);
  EXPECT_EQ(static_clock_rate(10), 44100u);  // L16 stereo
  EXPECT_EQ(static_clock_rate(11), 44100u);  // L16 mono
  EXPECT_EQ(static_clock_rate(14), 90000u);  // MPA
  EXPECT_EQ(static_clock_rate(34), 90000u);  // H263
  EXPECT_EQ(static_clock_rate(1), 0u);       // reserved
  EXPECT_EQ(static_clock_rate(96), 0u);      // dynamic
  EXPECT_STREQ(static_encoding_name(0), "PCMU");
  EXPECT_EQ(static_channels(10), 2);
}

TEST(AnalysisClock, EachStreamSaysWhereItsClockCameFrom) {
  StreamTrackerConfig c;
  c.clock_rate_by_pt[96] = 90000;  // --clock-rate 96=90000
  c.clock_rate_by_pt[8] = 16000;   // an option overrides the static table
  c.default_clock_rate = 44100;    // bare --clock-rate 44100
  StreamTracker t(c);
  const int pts[] = {0, 96, 97, 8, 11};
  for (int i = 0; i < 5; ++i) {
    Rtp r;
    r.pt = static_cast<std::uint8_t>(pts[i]);
    r.ssrc = static_cast<std::uint32_t>(i + 1);
    t.add(view(frame_to(r, 0xC6130002)), 1);
  }
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].clock_rate, 8000u);
  EXPECT_EQ(s[0].clock_source, ClockSource::kStatic);
  EXPECT_EQ(s[1].clock_rate, 90000u);
  EXPECT_EQ(s[1].clock_source, ClockSource::kOption);
  EXPECT_EQ(s[2].clock_rate, 44100u);
  EXPECT_EQ(s[2].clock_source, ClockSource::kDefault);
  EXPECT_EQ(s[3].clock_rate, 16000u);
  EXPECT_EQ(s[3].clock_source, ClockSource::kOption);
  EXPECT_EQ(s[4].clock_rate, 44100u);
  EXPECT_EQ(s[4].clock_source, ClockSource::kStatic);
}

TEST(AnalysisClock, PcmuTwentyMsPacketTimeFollowsFromItsClock) {
  // Issue 11: a 20 ms PCMU stream showed ptime 3.333 ms and 495 of 498 gaps as "long".
  StreamTracker t;
  Rtp p;
  p.pt = 0;
  p.payload = 160;
  feed(t, 500, 100, 0, 160, 1'000'000'000, 20'000'000, p);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NEAR(s[0].interval.ptime_ms, 20.0, 1e-9);
  EXPECT_EQ(s[0].interval.long_gaps, 0u);
  EXPECT_NEAR(s[0].jitter_ms, 0.0, 1e-9);
}

// ---------------------------------------------------------------- loss (items 2 and issue 13.1)

TEST(AnalysisLossCount, DuplicatesNeverMakeLossNegative) {
  StreamTracker t;
  const int seqs[] = {0, 1, 2, 3, 3, 3, 4, 5, 5, 6, 7};  // 4 duplicates, nothing lost
  std::int64_t at = 0;
  for (int q : seqs) {
    Rtp r;
    r.seq = static_cast<std::uint16_t>(q);
    r.ts = static_cast<std::uint32_t>(q * 6);
    t.add(view(frame_to(r, 0xC6130002), at += 125'000), 1);
  }
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].lost, 0u);
  EXPECT_EQ(s[0].rfc3550_cumulative_lost,
            -3);  // expected 8, received 11 (the first 3 is not a dup)
  EXPECT_EQ(s[0].duplicates, 3u);
}

TEST(AnalysisLossCount, HalfSecondOutageAt125usIs4000Lost) {
  // Issue 13 item 1: 4,000 consecutive packets lost, RTP timestamps advancing 4,000 x 6.
  StreamTracker t;
  const std::int64_t t0 = 1'700'000'000'000'000'000;
  feed(t, 1000, 0, 0, 6, t0, 125'000);
  // Packet 1000 .. 4999 never came; 5000 arrives 0.5 s + 125 us after 999.
  feed(t, 1000, 5000, 5000 * 6, 6, t0 + 5000 * 125'000, 125'000);
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_EQ(snap.streams.size(), 1u);
  const StreamSummary& s = snap.streams[0];
  EXPECT_TRUE(s.validated);
  EXPECT_EQ(s.lost, 4000u);
  EXPECT_EQ(s.rfc3550_cumulative_lost, 4000);
  EXPECT_EQ(s.expected, 6000u);
  EXPECT_EQ(s.seq_restarts, 0u);
  EXPECT_EQ(s.loss_jumps, 1u);
  EXPECT_EQ(total_sequence_loss(snap), 4000u);
  const LossAttribution a = attribute_loss(snap, 0, DropKnowledge::kLive);
  EXPECT_EQ(a.missing_in_streams, 4000u);
  EXPECT_EQ(a.text.find("complete"), std::string::npos) << a.text;
}

TEST(AnalysisLossCount, LatePacketWithAPowerOfTwoStepIsNotAJump) {
  // 64 ticks per packet: a packet 2 behind has a timestamp step of -128, which modulo 2^32 is an
  // exact multiple of 64 and, modulo 2^16 packets, the same as its sequence step. Still late.
  StreamTracker t;
  const int seqs[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10, 13, 14};
  std::int64_t at = 0;
  for (int q : seqs) {
    Rtp r;
    r.seq = static_cast<std::uint16_t>(q);
    r.ts = static_cast<std::uint32_t>(q * 64);
    t.add(view(frame_to(r, 0xC6130002), at += 1'333'333), 1);
  }
  const auto s = t.streams();
  EXPECT_EQ(s[0].reordered, 1u);
  EXPECT_EQ(s[0].loss_jumps, 0u);
  EXPECT_EQ(s[0].expected, 15u);
  EXPECT_EQ(s[0].lost, 0u);
}

TEST(AnalysisLossCount, SenderRestartWithNewTimestampsIsARestart) {
  StreamTracker t;
  feed(t, 200, 0, 0, 6, 1'000'000'000, 125'000);
  // Sequence and timestamp both jump, inconsistently: a sender restart, not an outage.
  feed(t, 200, 30000, 123457, 6, 1'000'000'000 + 200 * 125'000, 125'000);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seq_restarts, 1u);
  EXPECT_EQ(s[0].loss_jumps, 0u);
  EXPECT_EQ(s[0].lost, 0u);
}

TEST(AnalysisLossCount, EveryOtherPacketLostIsNeverComplete) {
  StreamTracker t;
  for (int i = 0; i < 2000; i += 2) {
    Rtp r;
    r.seq = static_cast<std::uint16_t>(i);
    r.ts = static_cast<std::uint32_t>(i * 6);
    t.add(view(frame_to(r, 0xC6130002), 1'000'000'000 + i * 125'000), 1);
  }
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_EQ(snap.streams.size(), 1u);
  EXPECT_FALSE(snap.streams[0].validated);
  EXPECT_EQ(snap.totals.unvalidated_rtp_streams, 1u);
  const LossAttribution a = attribute_loss(snap, 0, DropKnowledge::kLive);
  EXPECT_FALSE(a.exact);
  EXPECT_EQ(a.unvalidated_streams, 1u);
  EXPECT_EQ(a.text.find("No packet is missing"), std::string::npos) << a.text;
  EXPECT_EQ(a.text.find("every RTP sequence is complete"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("never passed"), std::string::npos) << a.text;
  EXPECT_NE(format_stream_table(snap).find("loss unknown"), std::string::npos);
}

TEST(AnalysisLossCount, FileFromAnotherToolSaysItCannotTell) {
  StreamTracker t;
  feed(t, 10, 0, 0, 6, 0, 125'000);
  feed(t, 10, 20, 120, 6, 20 * 125'000, 125'000);
  const LossAttribution a = attribute_loss(t.snapshot(), 0, DropKnowledge::kFileWithoutStatistics);
  EXPECT_EQ(a.missing_in_streams, 10u);
  EXPECT_FALSE(a.exact);
  EXPECT_NE(a.text.find("cannot be told"), std::string::npos) << a.text;
  EXPECT_EQ(a.text.find("before they reached"), std::string::npos) << a.text;
}

// ---------------------------------------------------------------- SDP and SAP (item 3)

const char* kAes67Sdp =
    "v=0\r\n"
    "o=- 1311738121 1311738121 IN IP4 198.18.0.1\r\n"
    "s=Stage box 1: ch 1-2\r\n"
    "c=IN IP4 239.69.1.1/32\r\n"
    "t=0 0\r\n"
    "a=ts-refclk:ptp=IEEE1588-2008:00-1D-C1-FF-FE-12-34-56:0\r\n"
    "m=audio 5004 RTP/AVP 97\r\n"
    "i=Channels 1-2\r\n"
    "a=rtpmap:97 L24/48000/2\r\n"
    "a=source-filter: incl IN IP4 239.69.1.1 198.18.0.1\r\n"
    "a=ptime:0.125\r\n"
    "a=mediaclk:direct=963214424\r\n"
    "a=recvonly\r\n";

TEST(AnalysisSdp, ParsesAnAes67Description) {
  const auto f = parse_sdp(kAes67Sdp, "file x.sdp");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].session_name, "Stage box 1: ch 1-2");
  EXPECT_EQ(f[0].group.to_string(), "239.69.1.1");
  EXPECT_EQ(f[0].ttl, 32);
  EXPECT_EQ(f[0].port, 5004);
  EXPECT_EQ(f[0].payload_type, 97);
  EXPECT_EQ(f[0].encoding, "L24");
  EXPECT_EQ(f[0].clock_rate, 48000u);
  EXPECT_EQ(f[0].channels, 2);
  EXPECT_DOUBLE_EQ(f[0].ptime_ms, 0.125);
  EXPECT_EQ(f[0].source.to_string(), "198.18.0.1");
  EXPECT_EQ(f[0].ts_refclk, "ptp=IEEE1588-2008:00-1D-C1-FF-FE-12-34-56:0");
  EXPECT_TRUE(f[0].has_mediaclk_offset);
  EXPECT_EQ(f[0].mediaclk_offset, 963214424u);
  EXPECT_EQ(f[0].sample_bytes(), 3);
}

TEST(AnalysisSdp, TwoMediaSectionsAndIpv6AndLfOnly) {
  const std::string text =
      "v=0\ns=Two\nc=IN IP6 ff0e::101\nm=audio 5004 RTP/AVP 96\na=rtpmap:96 L16/44100\n"
      "a=ptime:1\nm=audio 5006 RTP/AVP 98\nc=IN IP4 239.1.2.3/16\na=rtpmap:98 AM824/48000/8\n";
  const auto f = parse_sdp(text, "t");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].group.to_string(), "ff0e::101");
  EXPECT_EQ(f[0].channels, 1);  // rtpmap without channels: one
  EXPECT_EQ(f[0].clock_rate, 44100u);
  EXPECT_EQ(f[1].group.to_string(), "239.1.2.3");
  EXPECT_EQ(f[1].ttl, 16);
  EXPECT_EQ(f[1].encoding, "AM824");
  EXPECT_EQ(f[1].channels, 8);
  EXPECT_EQ(f[1].session_name, "Two");
}

TEST(AnalysisSdp, HostileTextIsSkippedNotTrusted) {
  const char* bad[] = {
      "",
      "m=",
      "m=audio 99999999 RTP/AVP 97\na=rtpmap:97 L24/0/2\n",  // port overflow, rate 0
      "m=audio 5004 RTP/AVP 300\n",                          // pt out of range
      "m=audio 5004 RTP/AVP 97\na=rtpmap:97 L24/48000/100000\na=ptime:-1\na=ptime:1e308\n",
      "c=IN IP4 999.1.1.1/32\nm=audio 5004 RTP/AVP 97\n",
      "m=audio 5004 RTP/AVP 97\na=source-filter: incl IN IP4\na=mediaclk:direct=x\n",
      "\r\n\r\n=\n==\nm\n",
  };
  for (const char* b : bad) {
    const auto f = parse_sdp(b, "t");
    for (const auto& x : f) {
      EXPECT_LE(x.channels, 64);
      EXPECT_LT(x.payload_type, 128);
      EXPECT_GE(x.ptime_ms, 0.0);
      EXPECT_LT(x.ptime_ms, 1e7);
    }
  }
  EXPECT_EQ(parse_sdp("m=audio 99999999 RTP/AVP 97\na=rtpmap:97 L24/0/2\n", "t")[0].clock_rate, 0u);
  std::string huge(100000, 'm');
  EXPECT_TRUE(parse_sdp(huge, "t").empty());
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "m=audio 1 RTP/AVP 96\n";
  EXPECT_LE(parse_sdp(many, "t").size(), 64u);
}

TEST(AnalysisSdp, WireTextCannotBreakTheTerminalOrTheJson) {
  // An ANSI escape in the session name, invalid UTF-8 in the encoding (fuzz_sap_sdp found that
  // the JSON writer threw on it).
  const std::string text = std::string("v=0\ns=\x1b[2Jevil\nc=IN IP4 239.69.1.1/32\n") +
                           "m=audio 5004 RTP/AVP 97\na=rtpmap:97 L\xdd\xdd/48000/2\n";
  StreamTrackerConfig c;
  c.sdp = parse_sdp(text, "t");
  ASSERT_EQ(c.sdp.size(), 1u);
  EXPECT_EQ(c.sdp[0].session_name, "?[2Jevil");
  StreamTracker t(c);
  Rtp r;
  t.add(view(frame_to(r, kGroup)), 1);
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_TRUE(snap.streams[0].has_sdp);
  std::string json;
  EXPECT_NO_THROW(json = to_json(snap));
  EXPECT_TRUE(nlohmann::json::accept(json));
  EXPECT_EQ(format_stream_table(snap).find('\x1b'), std::string::npos);
}

Bytes sap_packet(const std::string& sdp, bool deletion = false, bool ipv6 = false,
                 std::uint8_t auth_words = 0, bool with_type = true, std::uint8_t extra_flags = 0) {
  Bytes b;
  b.push_back(
      static_cast<std::uint8_t>(0x20 | (ipv6 ? 0x10 : 0) | (deletion ? 0x04 : 0) | extra_flags));
  b.push_back(auth_words);
  push16(b, 0x1234);
  if (ipv6) {
    const Bytes a = v6addr(7);
    b.insert(b.end(), a.begin(), a.end());
  } else {
    push32(b, 0xC6120001);
  }
  b.insert(b.end(), std::size_t{auth_words} * 4, 0xAA);
  if (with_type) {
    const std::string t = "application/sdp";
    b.insert(b.end(), t.begin(), t.end());
    b.push_back(0);
  }
  b.insert(b.end(), sdp.begin(), sdp.end());
  return b;
}

TEST(AnalysisSap, HeaderFormsOfRfc2974) {
  SapMessage m;
  std::string why;
  Bytes p = sap_packet(kAes67Sdp);
  ASSERT_TRUE(parse_sap(p.data(), p.size(), m, &why)) << why;
  EXPECT_EQ(m.version, 1);
  EXPECT_FALSE(m.deletion);
  EXPECT_EQ(m.origin.to_string(), "198.18.0.1");
  EXPECT_EQ(m.msg_id_hash, 0x1234);
  EXPECT_EQ(m.payload_type, "application/sdp");
  EXPECT_EQ(m.sdp, kAes67Sdp);

  p = sap_packet(kAes67Sdp, false, true, 2, false);  // IPv6 origin, 8 bytes auth, no type
  ASSERT_TRUE(parse_sap(p.data(), p.size(), m, &why)) << why;
  EXPECT_EQ(m.origin.to_string(), "2001:db8::7");
  EXPECT_EQ(m.sdp, kAes67Sdp);

  p = sap_packet("o=- 1 1 IN IP4 198.18.0.1\r\n", true);
  ASSERT_TRUE(parse_sap(p.data(), p.size(), m, &why));
  EXPECT_TRUE(m.deletion);

  p = sap_packet("xx", false, false, 0, true, 0x02);  // encrypted: parsed, payload left alone
  ASSERT_TRUE(parse_sap(p.data(), p.size(), m, &why));
  EXPECT_TRUE(m.encrypted);
  EXPECT_TRUE(m.sdp.empty());
}

TEST(AnalysisSap, HostilePacketsAreRefused) {
  SapMessage m;
  std::string why;
  Bytes p = sap_packet(kAes67Sdp, false, false, 200);  // auth 800 bytes past the end
  p.resize(100);
  EXPECT_FALSE(parse_sap(p.data(), p.size(), m, &why));
  EXPECT_FALSE(why.empty());
  Bytes v2 = sap_packet(kAes67Sdp);
  v2[0] = 0x40;  // version 2
  EXPECT_FALSE(parse_sap(v2.data(), v2.size(), m, &why));
  Bytes notype = {0x20, 0, 0, 0, 198, 18, 0, 1, 'a', 'b', 'c'};  // type without NUL
  EXPECT_FALSE(parse_sap(notype.data(), notype.size(), m, &why));
  Bytes v6cut = {0x30, 0, 0, 0, 1, 2, 3};
  EXPECT_FALSE(parse_sap(v6cut.data(), v6cut.size(), m, &why));
  EXPECT_FALSE(parse_sap(nullptr, 0, m, &why));
  // Every truncation of a good packet, and random bytes, never crash.
  const Bytes good = sap_packet(kAes67Sdp);
  for (std::size_t n = 0; n <= good.size(); ++n) (void)parse_sap(good.data(), n, m, nullptr);
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 2000; ++i) {
    Bytes r(static_cast<std::size_t>(i % 300));
    for (auto& c : r) c = static_cast<std::uint8_t>((x = x * 6364136223846793005ull + 1) >> 56);
    if (!r.empty()) r[0] = static_cast<std::uint8_t>(0x20 | (r[0] & 0x1F));
    if (parse_sap(r.data(), r.size(), m, nullptr)) (void)parse_sdp(m.sdp, "r");
  }
}

TEST(AnalysisSap, AnnouncementInTheTrafficDescribesItsStream) {
  StreamTracker t;
  V4 v;
  v.dst = kSapGroup;
  t.add(view(ether(0x0800, ipv4(v, udp(9875, 9875, sap_packet(kAes67Sdp))))), 1);
  Rtp r;
  r.payload = 36;  // 2 ch x 3 bytes x 6 samples
  feed(t, 3300, 0, 0, 6, 1'000'000'000, 125'000, r, kGroup);
  TrackerSnapshot snap = t.snapshot();
  EXPECT_EQ(snap.totals.sap_packets, 1u);
  EXPECT_EQ(snap.totals.sap_announcements, 1u);
  ASSERT_EQ(snap.sdp.size(), 1u);
  const StreamSummary* s = nullptr;
  for (const auto& x : snap.streams)
    if (x.is_rtp) s = &x;
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->has_sdp);
  EXPECT_EQ(s->sdp.session_name, "Stage box 1: ch 1-2");
  EXPECT_EQ(s->clock_source, ClockSource::kSdp);
  EXPECT_TRUE(s->sdp_mismatches.empty()) << s->sdp_mismatches.front();
  EXPECT_EQ(s->timing.verdict, TimingVerdict::kNarrow);
  const auto j = nlohmann::json::parse(to_json(snap));
  const auto& js = j["streams"][1];
  EXPECT_EQ(js["session_name"], "Stage box 1: ch 1-2");
  EXPECT_EQ(js["encoding"], "L24");
  EXPECT_EQ(js["channels"], 2);
  EXPECT_EQ(js["clock_source"], "sdp");
  EXPECT_EQ(js["verdict"], "narrow");
  EXPECT_TRUE(js["pit"].contains("histogram"));
  EXPECT_NE(format_stream_table(snap).find("Stage box 1"), std::string::npos);

  // A deletion ends the session: the stream that was described keeps its description (the final
  // table says what a finished stream was).
  t.add(view(ether(0x0800,
                   ipv4(v, udp(9875, 9875, sap_packet("o=- 1 1 IN IP4 198.18.0.1\r\n", true))))),
        1);
  snap = t.snapshot();
  EXPECT_EQ(snap.totals.sap_deletions, 1u);
  for (const auto& x : snap.streams)
    if (x.is_rtp) {
      EXPECT_TRUE(x.has_sdp);
      EXPECT_EQ(x.sdp.session_name, "Stage box 1: ch 1-2");
    }
}

TEST(AnalysisSap, SourceFilterAndContradictionsAreChecked) {
  StreamTrackerConfig c;
  c.sdp = parse_sdp(kAes67Sdp, "file a.sdp");
  StreamTracker t(c);
  Rtp wrong;
  wrong.pt = 98;
  wrong.payload = 48;  // 2 ch x 3 bytes x 8 samples: not the 6 of a 0.125 ms ptime
  wrong.ssrc = 1;
  feed(t, 50, 0, 0, 12, 0, 250'000, wrong, kGroup);  // 12 ticks = 0.25 ms, SDP says 0.125
  Rtp other;
  other.ssrc = 2;
  for (int i = 0; i < 10; ++i) {  // same group and port, another source: not described
    other.seq = static_cast<std::uint16_t>(i);
    t.add(view(frame_to(other, kGroup, 5004, 0xC6120009)), 1);
  }
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 2u);
  ASSERT_TRUE(s[0].has_sdp);
  EXPECT_FALSE(s[1].has_sdp);
  ASSERT_EQ(s[0].sdp_mismatches.size(), 2u);
  EXPECT_NE(s[0].sdp_mismatches[0].find("payload type 98, SDP says 97"), std::string::npos);
  EXPECT_NE(s[0].sdp_mismatches[1].find("packet time 0.250 ms"), std::string::npos);
  EXPECT_EQ(s[0].clock_source, ClockSource::kDefault);  // the SDP's rtpmap is for 97, not 98

  // Right payload type, wrong size.
  StreamTracker t2(c);
  Rtp sized;
  sized.payload = 48;
  feed(t2, 50, 0, 0, 6, 0, 125'000, sized, kGroup);
  const auto s2 = t2.streams();
  ASSERT_EQ(s2[0].sdp_mismatches.size(), 1u);
  EXPECT_EQ(s2[0].sdp_mismatches[0],
            "payload 48 bytes, SDP format 2 ch x 3 bytes x 6 samples = 36");
}

// ---------------------------------------------------------------- timing (item 4)

// A verdict needs a clock someone stated (here --clock-rate 97=48000): on an assumed one there is
// none.
StreamTrackerConfig stated_48k() {
  StreamTrackerConfig c;
  c.clock_rate_by_pt[97] = 48000;
  return c;
}

TEST(AnalysisTiming, PitAndTsDfOnACraftedPattern) {
  // 125 us packets (6 ticks at 48 kHz). Arrival offsets e(i) from the ideal i x 125 us:
  // window 1 holds packets 0..1600 (packet 1601 is the first more than 200 ms after packet 0),
  // e(500) = +40 us and e(700) = -10 us: D = e(i) - e(0), TS-DF = 40 - (-10) = 50 us.
  // Window 2 starts at 1601 (its reference) and holds 1601..3201: e(2000) = +20 us: TS-DF 20.
  StreamTracker t(stated_48k());
  const std::int64_t t0 = 1'000'000'000;
  for (int i = 0; i < 3300; ++i) {
    std::int64_t e = 0;
    if (i == 500) e = 40'000;
    if (i == 700) e = -10'000;
    if (i == 2000) e = 20'000;
    Rtp r;
    r.seq = static_cast<std::uint16_t>(i);
    r.ts = static_cast<std::uint32_t>(6 * i);
    t.add(view(frame_to(r, 0xC6130002), t0 + i * 125'000 + e), 1);
  }
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  const AudioTiming& tm = s[0].timing;
  EXPECT_EQ(tm.ts_df_windows, 2u);
  EXPECT_NEAR(tm.ts_df_us, 50.0, 1e-6);
  EXPECT_NEAR(tm.ts_df_last_us, 20.0, 1e-6);
  EXPECT_DOUBLE_EQ(tm.ts_df_window_ms, 200.0);
  // PIT: 3299 gaps; the smallest 125 - 40 - 10 ... worked out: gap 499->500 = 165, 500->501 = 85,
  // 699->700 = 115, 700->701 = 135, 1999->2000 = 145, 2000->2001 = 105.
  EXPECT_EQ(tm.pit.count, 3299u);
  EXPECT_NEAR(tm.pit.min_us, 85.0, 1e-9);
  EXPECT_NEAR(tm.pit.max_us, 165.0, 1e-9);
  EXPECT_NEAR(tm.pit.mean_us, 125.0, 1e-9);  // e(last) = e(0) = 0: 3299 x 125 / 3299
  EXPECT_NEAR(tm.pit.ptime_us, 125.0, 1e-9);
  // Histogram: 125 us falls in [120, 128) (8 bins per octave, 8 us wide between 64 and 128).
  std::uint64_t in_120 = 0, total = 0;
  for (const PitBin& b : tm.pit.histogram) {
    total += b.count;
    if (b.lower_us == 120.0 && b.upper_us == 128.0) in_120 = b.count;
  }
  EXPECT_EQ(total, 3299u);
  EXPECT_EQ(in_120, 3299u - 6u);
  EXPECT_EQ(tm.verdict, TimingVerdict::kNarrow);  // 50 us < one 125 us packet time
  EXPECT_TRUE(tm.has_drift);
  EXPECT_NEAR(tm.drift_ppm, 0.0, 0.5);
}

TEST(AnalysisTiming, DriftIsTheLeastSquaresSlope) {
  // 1 ms packets (48 ticks) arriving every 999,900 ns: the sender's 1 ms of RTP time takes
  // 0.9999 ms of capture time, so RTP time / arrival time = 1 / 0.9999, a drift of
  // (1 / 0.9999 - 1) x 1e6 = 100.010001 ppm.
  StreamTracker t(stated_48k());
  feed(t, 5000, 0, 0, 48, 1'000'000'000, 999'900);
  const auto s = t.streams();
  ASSERT_TRUE(s[0].timing.has_drift);
  EXPECT_NEAR(s[0].timing.drift_ppm, 100.010001, 1e-3);
  // PIT mean 999.9 us is within 1% of 1 ms; TS-DF grows 0.1 us a packet: 200 packets per
  // window -> 20 us, below one packet time: narrow.
  EXPECT_NEAR(s[0].timing.ts_df_us, 20.0, 0.2);
  EXPECT_EQ(s[0].timing.verdict, TimingVerdict::kNarrow);
}

TEST(AnalysisTiming, VerdictWideAndNotCompliant) {
  // A bursty sender: every `burst` packets leave together at the time of the last one, so
  // packet i arrives (burst - 1 - i % burst) packet times late and arrival order is kept.
  // D spans (burst - 1) x 125 us in every window: burst 8 -> 875 us = 7 packet times: wide;
  // burst 24 -> 2875 us = 23 packet times, above 17: not compliant. PIT mean stays 125 us.
  for (const int burst : {8, 24}) {
    StreamTracker t(stated_48k());
    for (int i = 0; i < 4800; ++i) {
      Rtp r;
      r.seq = static_cast<std::uint16_t>(i);
      r.ts = static_cast<std::uint32_t>(6 * i);
      const std::int64_t e = std::int64_t{burst - 1 - i % burst} * 125'000;
      t.add(view(frame_to(r, 0xC6130002), 1'000'000'000 + i * 125'000 + e), 1);
    }
    const auto s = t.streams();
    EXPECT_NEAR(s[0].timing.ts_df_us, (burst - 1) * 125.0, 1e-6);
    EXPECT_EQ(s[0].timing.verdict,
              burst == 8 ? TimingVerdict::kWide : TimingVerdict::kNotCompliant);
  }
}

TEST(AnalysisTiming, PitMeanOffByMoreThanOnePercentIsNotCompliant) {
  // RTP says 125 us per packet, the packets come every 127 us (1.6% slow): PIT fails, whatever
  // TS-DF says.
  StreamTrackerConfig c;
  c.sdp = parse_sdp(kAes67Sdp, "f");
  StreamTracker t(c);
  feed(t, 100, 0, 0, 6, 0, 127'000, Rtp{}, kGroup);
  feed(t, 3000, 100, 600, 6, 100 * 127'000, 127'000, Rtp{}, kGroup);
  const auto s = t.streams();
  EXPECT_NEAR(s[0].timing.pit.mean_us, 127.0, 1e-6);
  EXPECT_EQ(s[0].timing.verdict, TimingVerdict::kNotCompliant);
}

// A perfectly paced sender whose network loses 2%: the intervals across the lost packets are
// the loss, not the pacing, so the verdict stays narrow; a slow sender is told why it fails.
TEST(AnalysisTiming, LossIsNotPacingAndTheVerdictSaysWhy) {
  StreamTrackerConfig c;
  c.sdp = parse_sdp(kAes67Sdp, "f");
  StreamTracker t(c);
  for (int i = 0; i < 4000; ++i) {
    if (i % 50 == 25) continue;  // lost
    Rtp r;
    r.seq = static_cast<std::uint16_t>(i);
    r.ts = static_cast<std::uint32_t>(6 * i);
    t.add(view(frame_to(r, kGroup), 1'000'000'000 + i * 125'000), 1);
  }
  auto s = t.streams();
  EXPECT_NEAR(s[0].timing.pit.mean_us, 125.0 * 3999 / 3919, 1e-6);  // the loss inside
  EXPECT_NEAR(s[0].timing.pit.paced_mean_us, 125.0, 1e-6);
  EXPECT_EQ(s[0].timing.verdict, TimingVerdict::kNarrow);
  EXPECT_EQ(s[0].timing.verdict_reason, "");

  StreamTracker slow(c);
  feed(slow, 3000, 0, 0, 6, 0, 127'000, Rtp{}, kGroup);
  s = slow.streams();
  EXPECT_EQ(s[0].timing.verdict, TimingVerdict::kNotCompliant);
  // 2 us late a packet also walks TS-DF past 17 packet times: both tests are named.
  EXPECT_EQ(s[0].timing.verdict_reason,
            "packet interval mean 127.0 us is outside 125.0 us +-1%; TS-DF 3148.0 us is over 17 "
            "packet times (2125.0 us)");
  const std::string table = format_stream_table(slow.snapshot());
  EXPECT_NE(table.find("! not compliant: packet interval mean 127.0 us"), std::string::npos)
      << table;
  EXPECT_NE(to_json(slow.snapshot()).find("\"verdict_reason\""), std::string::npos);
}

TEST(AnalysisTiming, DeltaPacketVsRtpUsesTheMediaClockOffset) {
  // Arrival exactly 1 s after the epoch + 10 ticks; RTP timestamp = 48000 + offset: the media
  // clock says 48000 ticks at 1 s, so delta = 10 ticks = 208.333 us.
  StreamTrackerConfig c;
  c.sdp = parse_sdp(kAes67Sdp, "f");
  StreamTracker t(c);
  const std::uint32_t offset = 963214424u;
  Rtp r;
  r.ts = 48000 + offset;
  t.add(view(frame_to(r, kGroup), 1'000'000'000 + 208'334), 1);  // 10.00003 ticks
  const auto s = t.streams();
  ASSERT_TRUE(s[0].timing.has_delta_rtp);
  EXPECT_NEAR(s[0].timing.delta_rtp_mean_us, 10 * 1e6 / 48000, 1.0 / 48);  // within a tick
}

// ---------------------------------------------------------------- advisor inputs (item 8)

TEST(AnalysisAdvisorInputs, DiscardedAndDestinations) {
  StreamTracker t;
  V4 tcp;
  tcp.proto = 6;
  t.add(view(ether(0x0800, ipv4(tcp, Bytes(20, 0)))), 1);  // not UDP: discarded
  t.add(view(ether(0x0806, Bytes(28, 0))), 1);             // ARP: discarded
  feed(t, 5, 0, 0, 6, 0, 125'000);
  TrackerTotals tt = t.totals();
  EXPECT_EQ(tt.discarded, 2u);
  EXPECT_EQ(tt.distinct_destinations, 1u);
  EXPECT_FALSE(tt.any_multicast);
  Rtp r;
  r.ssrc = 9;
  t.add(view(frame_to(r, kGroup)), 1);
  tt = t.totals();
  EXPECT_EQ(tt.distinct_destinations, 2u);
  EXPECT_TRUE(tt.any_multicast);
}

}  // namespace
}  // namespace rtcap
