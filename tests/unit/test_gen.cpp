// The generator's pure parts: packet layout, payload and schedule maths, deterministic fates.
#ifdef RTCAP_HAVE_CLI

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "gen/gen.hpp"
#include "lab/lab.hpp"
#include "lab/netns.hpp"
#include "rtcap/sdp.hpp"
#include "wire/wire.hpp"

namespace rt = rtcap::tool;
namespace rtp = rtcap::rtp;

TEST(RtpFormat, LayoutConstants) {
  EXPECT_EQ(rtp::kHeaderBytes, 28u);
  EXPECT_EQ(rtp::kSendTimeOffset, 17u);
  EXPECT_EQ(rtp::kPayloadOffset % 4, 0u);
  EXPECT_EQ(rtp::kExtLengthWords, 3);
}

TEST(RtpFormat, EncodeDecodeRoundTrip) {
  std::vector<std::uint8_t> pkt(rtp::kHeaderBytes + 36, 0xAA);
  rtp::HeaderFields h;
  h.payload_type = rtp::kPayloadTypeL24;
  h.seq = 0xFFFF;
  h.timestamp = 0x89ABCDEF;
  h.ssrc = 0x01020304;
  rtp::encode_header(pkt.data(), h);
  rtp::set_send_time(pkt.data(), 0x1122334455667788ull);
  rtp::put_index(pkt.data() + rtp::kPayloadOffset, 36, 70000);

  // Wire bytes a third-party decoder (tshark) sees.
  EXPECT_EQ(pkt[0], 0x90);  // V=2, X=1
  EXPECT_EQ(pkt[1], 97);
  EXPECT_EQ(pkt[12], 0xBE);
  EXPECT_EQ(pkt[13], 0xDE);
  EXPECT_EQ(pkt[14], 0);
  EXPECT_EQ(pkt[15], 3);
  EXPECT_EQ(pkt[16], 0x17);
  EXPECT_EQ(pkt[25], 0);
  EXPECT_EQ(pkt[26], 0);
  EXPECT_EQ(pkt[27], 0);

  auto d = rtp::decode(pkt.data(), pkt.size());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->version, 2);
  EXPECT_EQ(d->payload_type, 97);
  EXPECT_EQ(d->seq, 0xFFFF);
  EXPECT_EQ(d->timestamp, 0x89ABCDEFu);
  EXPECT_EQ(d->ssrc, 0x01020304u);
  ASSERT_TRUE(d->send_time_ns.has_value());
  EXPECT_EQ(*d->send_time_ns, 0x1122334455667788ull);
  EXPECT_EQ(d->payload_offset, 28u);
  EXPECT_EQ(d->payload_bytes, 36u);
  ASSERT_TRUE(d->index.has_value());
  EXPECT_EQ(*d->index, 70000u);
}

TEST(RtpFormat, DecodeRejectsGarbage) {
  std::uint8_t short_pkt[8] = {0x80};
  EXPECT_FALSE(rtp::decode(short_pkt, sizeof short_pkt).has_value());
  std::vector<std::uint8_t> v1(40, 0);
  v1[0] = 0x40;  // version 1
  EXPECT_FALSE(rtp::decode(v1.data(), v1.size()).has_value());
  std::vector<std::uint8_t> ext_overrun(16, 0);
  ext_overrun[0] = 0x90;
  ext_overrun[12] = 0xBE;
  ext_overrun[13] = 0xDE;
  ext_overrun[15] = 9;  // claims 36 bytes of extension
  EXPECT_FALSE(rtp::decode(ext_overrun.data(), ext_overrun.size()).has_value());
}

TEST(RtpFormat, IndexTruncatesForTinyPayloads) {
  std::uint8_t b[8] = {};
  rtp::put_index(b, 3, 0x0102030405ull);
  EXPECT_EQ(b[0], 0x03);
  EXPECT_EQ(b[1], 0x04);
  EXPECT_EQ(b[2], 0x05);
  EXPECT_EQ(b[3], 0x00);  // untouched
  EXPECT_EQ(rtp::get_index(b, 3), 0x030405u);
  std::uint8_t full[12] = {};
  rtp::put_index(full, 12, 0xDEADBEEFCAFEF00Dull);
  EXPECT_EQ(rtcap::wire::load_be64(full), 0xDEADBEEFCAFEF00Dull);
  EXPECT_EQ(full[8], 0);
}

TEST(GenMaths, ParsePtime) {
  EXPECT_EQ(rt::parse_ptime("1ms").value(), 1'000'000);
  EXPECT_EQ(rt::parse_ptime("250us").value(), 250'000);
  EXPECT_EQ(rt::parse_ptime("125us").value(), 125'000);
  EXPECT_EQ(rt::parse_ptime("0.5ms").value(), 500'000);
  EXPECT_EQ(rt::parse_ptime("125000ns").value(), 125'000);
  EXPECT_FALSE(rt::parse_ptime("125").has_value());  // unit required
  EXPECT_FALSE(rt::parse_ptime("ms").has_value());
  EXPECT_FALSE(rt::parse_ptime("1.5ns").has_value());
  EXPECT_FALSE(rt::parse_ptime("-1ms").has_value());
  EXPECT_FALSE(rt::parse_ptime("1 ms").has_value());
}

TEST(GenMaths, PayloadBytes) {
  EXPECT_EQ(rt::samples_per_packet(48000, 125'000).value(), 6u);
  EXPECT_EQ(rt::samples_per_packet(48000, 1'000'000).value(), 48u);
  EXPECT_EQ(rt::audio_payload_bytes(48000, 125'000, 2, 24).value(),
            36u);  // AES67 L24 stereo 125 us
  EXPECT_EQ(rt::audio_payload_bytes(48000, 1'000'000, 2, 24).value(), 288u);
  EXPECT_EQ(rt::audio_payload_bytes(48000, 250'000, 2, 24).value(), 72u);
  EXPECT_EQ(rt::audio_payload_bytes(48000, 1'000'000, 2, 16).value(), 192u);
  EXPECT_EQ(rt::audio_payload_bytes(96000, 125'000, 8, 24).value(), 288u);
  EXPECT_FALSE(rt::audio_payload_bytes(44100, 125'000, 2, 24).has_value());  // 5.5125 samples
  EXPECT_FALSE(rt::audio_payload_bytes(48000, 125'000, 2, 20).has_value());
  EXPECT_FALSE(rt::audio_payload_bytes(48000, 125'000, 0, 24).has_value());
}

TEST(GenSchedule, PtimeInterleavesStreamsWithoutDrift) {
  rt::GenConfig cfg;
  cfg.streams = 12;
  cfg.ptime_ns = 125'000;
  auto s = rt::make_schedule(cfg).value();
  ASSERT_TRUE(s.paced());
  EXPECT_DOUBLE_EQ(s.rate_pps(), 96'000.0);
  EXPECT_EQ(s.offset_ns(0), 0);
  EXPECT_EQ(s.offset_ns(1), 10'416);  // 125 us / 12, floored per slot, not accumulated
  EXPECT_EQ(s.offset_ns(12), 125'000);
  // One hour of packets lands exactly on the hour: absolute schedule, no accumulated rounding.
  const std::uint64_t hour_slots = 12ull * 8000 * 3600;
  EXPECT_EQ(s.offset_ns(hour_slots), 3600'000'000'000ll);
}

TEST(GenSchedule, RateOverridesPtimeAndBurstGroupsTicks) {
  rt::GenConfig cfg;
  cfg.streams = 3;
  cfg.rate_pps = 250'000;
  auto s = rt::make_schedule(cfg).value();
  EXPECT_DOUBLE_EQ(s.rate_pps(), 250'000.0);
  EXPECT_EQ(s.offset_ns(1), 4'000);
  EXPECT_EQ(s.offset_ns(250'000), 1'000'000'000);

  cfg.burst = 4;
  s = rt::make_schedule(cfg).value();
  EXPECT_EQ(s.offset_ns(0), 0);
  EXPECT_EQ(s.offset_ns(3), 0);  // same tick: back to back
  EXPECT_EQ(s.offset_ns(4), 16'000);
  EXPECT_EQ(s.offset_ns(7), 16'000);
  EXPECT_EQ(s.offset_ns(250'000), 1'000'000'000);  // same average rate

  cfg.burst = 1;
  cfg.rate_pps = 0;
  s = rt::make_schedule(cfg).value();
  EXPECT_FALSE(s.paced());
  EXPECT_EQ(s.offset_ns(123456), 0);

  cfg.rate_pps = 0.5;  // fractional rates stay exact
  s = rt::make_schedule(cfg).value();
  EXPECT_EQ(s.offset_ns(1), 2'000'000'000);
}

TEST(GenStreams, SsrcAndSeqDeterministicAndDistinct) {
  std::set<std::uint32_t> ssrcs;
  for (std::uint32_t k = 0; k < 1000; ++k) {
    EXPECT_EQ(rt::stream_ssrc(7, k), rt::stream_ssrc(7, k));
    ssrcs.insert(rt::stream_ssrc(7, k));
  }
  EXPECT_EQ(ssrcs.size(), 1000u);
  EXPECT_NE(rt::stream_ssrc(7, 0), rt::stream_ssrc(8, 0));
  EXPECT_EQ(rt::stream_first_seq(7, 3), rt::stream_first_seq(7, 3));
}

static std::vector<rt::FateSelector::Fate> fates(std::uint64_t seed, std::uint32_t stream,
                                                 double loss, double reorder, std::size_t n) {
  rt::FateSelector sel(seed, stream, loss, reorder);
  std::vector<rt::FateSelector::Fate> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(sel.next(i + 1 == n));
  return out;
}

TEST(GenFate, DeterministicPerSeedAndStream) {
  const auto a = fates(42, 0, 0.1, 0.05, 10000);
  EXPECT_EQ(a, fates(42, 0, 0.1, 0.05, 10000));
  EXPECT_NE(a, fates(43, 0, 0.1, 0.05, 10000));
  EXPECT_NE(a, fates(42, 1, 0.1, 0.05, 10000));
}

TEST(GenFate, RatesAndInvariants) {
  using F = rt::FateSelector::Fate;
  const std::size_t n = 200000;
  const auto f = fates(1, 0, 0.1, 0.05, n);
  std::size_t drops = 0, holds = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (f[i] == F::kDrop) ++drops;
    if (f[i] == F::kHold) {
      ++holds;
      ASSERT_LT(i + 1, n) << "the last packet must never be held";
      EXPECT_EQ(f[i + 1], F::kSend) << "a held packet's successor is sent, so the pair swaps";
    }
  }
  // The packet after a hold is always sent, so the stationary hold rate is h = 0.05 (1 - h) and
  // the drop rate 0.1 (1 - h). Bands are 5 binomial sigmas.
  const double h = 0.05 / 1.05;
  EXPECT_NEAR(static_cast<double>(drops) / n, 0.1 * (1 - h), 0.0035);
  EXPECT_NEAR(static_cast<double>(holds) / n, h, 0.0025);

  for (auto x : fates(1, 0, 0.0, 0.0, 1000)) EXPECT_EQ(x, F::kSend);
  for (auto x : fates(1, 0, 1.0, 0.0, 1000)) EXPECT_EQ(x, F::kDrop);
  const auto all_reorder = fates(1, 0, 0.0, 1.0, 1000);
  for (std::size_t i = 0; i < all_reorder.size(); ++i)
    EXPECT_EQ(all_reorder[i], (i % 2 == 0 && i + 1 < all_reorder.size()) ? F::kHold : F::kSend);
}

TEST(GenConfigCheck, DestinationRange) {
  rt::GenConfig cfg;
  EXPECT_TRUE(rt::validate_config(cfg).has_value());
  cfg.dst_addr = "198.19.255.254";
  EXPECT_TRUE(rt::validate_config(cfg).has_value());
  for (const char* bad :
       {"198.20.0.1", "198.17.255.255", "10.0.0.1", "8.8.8.8", "127.0.0.1", "nonsense"}) {
    cfg.dst_addr = bad;
    EXPECT_FALSE(rt::validate_config(cfg).has_value()) << bad;
  }
  cfg.dst_addr = "239.1.2.3";
  EXPECT_FALSE(rt::validate_config(cfg).has_value());
  cfg.allow_multicast = true;
  EXPECT_TRUE(rt::validate_config(cfg).has_value());
  cfg.dst_addr = "224.0.0.1";  // only 239/8 even with the flag
  EXPECT_FALSE(rt::validate_config(cfg).has_value());
}

TEST(GenConfigCheck, BoundsAndRanges) {
  rt::GenConfig cfg;
  cfg.count = 0;
  EXPECT_FALSE(rt::validate_config(cfg).has_value());
  cfg.count.reset();
  cfg.secs = 0;
  EXPECT_FALSE(rt::validate_config(cfg).has_value());
  cfg.secs = 1;
  cfg.loss = 0.7;
  cfg.reorder = 0.5;
  EXPECT_FALSE(rt::validate_config(cfg).has_value());
  cfg.reorder = 0;
  cfg.streams = 3;
  cfg.dst_port = 65532;  // 65532 + 4 > 65535
  EXPECT_FALSE(rt::validate_config(cfg).has_value());
  cfg.dst_port = 5004;
  cfg.raw_payload_bytes = 0;
  EXPECT_FALSE(rt::validate_config(cfg).has_value());
  cfg.raw_payload_bytes = 32;
  EXPECT_TRUE(rt::validate_config(cfg).has_value());
}

// A second path's error names --redundant-dst only when its address is what is wrong.
TEST(GenConfigCheck, RedundantDstBlamesOnlyItsAddress) {
  rt::GenConfig cfg;
  cfg.dst_addr = "239.69.1.1";
  cfg.allow_multicast = true;
  cfg.redundant_dst = "239.69.129.1";
  EXPECT_TRUE(rt::validate_config(cfg).has_value());
  cfg.sap = true;
  cfg.sap_interval_s = 0;
  const auto r = rt::validate_config(cfg);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().find("--redundant-dst"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("--sap-interval"), std::string::npos) << r.error();
  cfg.sap_interval_s = 1;
  cfg.redundant_dst = "10.0.0.1";
  ASSERT_FALSE(rt::validate_config(cfg).has_value());
  EXPECT_EQ(rt::validate_config(cfg).error().rfind("--redundant-dst: ", 0), 0u);
}

TEST(GenPacket, RtpPacket) {
  std::vector<std::uint8_t> buf(28 + 36, 0);
  rt::build_packet(buf.data(), buf.size(), true, 97, 65535, 600, 0xCAFEBABE, 65536);
  auto d = rtp::decode(buf.data(), buf.size());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->seq, 65535);
  EXPECT_EQ(d->timestamp, 600u);
  EXPECT_EQ(d->ssrc, 0xCAFEBABEu);
  EXPECT_EQ(d->payload_bytes, 36u);
  EXPECT_EQ(d->index.value(), 65536u);  // index does not wrap where seq does
}

TEST(GenPacket, RawUdpPacket) {
  std::vector<std::uint8_t> buf(32, 0);
  rt::build_packet(buf.data(), buf.size(), false, 0, 0, 0, 0, 123456789);
  EXPECT_EQ(rtcap::wire::load_be64(buf.data()), 123456789u);
  for (std::size_t i = 8; i < buf.size(); ++i) EXPECT_EQ(buf[i], 0);
}

TEST(GenReportFormat, JsonAndTruth) {
  rt::GenReport r;
  r.sent = 9;
  r.produced = 10;
  r.dropped = 1;
  r.streams.resize(1);
  r.streams[0].ssrc = 5;
  r.events.push_back({rt::TruthEvent::Kind::kDrop, 0, 5, 17, 3});
  r.events.push_back({rt::TruthEvent::Kind::kReorder, 0, 5, 20, 6});
  rt::GenConfig cfg;
  auto j = nlohmann::json::parse(rt::report_json(r, cfg));
  EXPECT_EQ(j["sent"], 9);
  EXPECT_EQ(j["dropped_on_purpose"], 1);
  EXPECT_EQ(j["streams"][0]["ssrc"], 5);
  EXPECT_TRUE(j.contains("pacing_error_ns"));
  std::istringstream lines(rt::truth_jsonl(r));
  std::string line;
  std::vector<nlohmann::json> ev;
  while (std::getline(lines, line)) ev.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0]["kind"], "drop");
  EXPECT_EQ(ev[0]["seq"], 17);
  EXPECT_EQ(ev[0]["index"], 3);
  EXPECT_EQ(ev[1]["kind"], "reorder");
}

TEST(GenMaths, PtimeAdviceFollowsTheRate) {
  // 44.1 kHz: whole samples in whole ns only at multiples of 10 ms (441 samples).
  auto bad = rt::samples_per_packet(44100, 1'000'000);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("44.1 samples"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("multiple of 10ms (441 samples)"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("20ms"), std::string::npos) << bad.error();
  EXPECT_EQ(bad.error().find("125us"), std::string::npos)
      << "125us is not whole at 44.1 kHz: " << bad.error();
  EXPECT_EQ(rt::samples_per_packet(44100, 20'000'000).value(), 882u);  // RFC 3551's 20 ms default
  auto bad48 = rt::samples_per_packet(48000, 100'000);
  ASSERT_FALSE(bad48.has_value());
  EXPECT_NE(bad48.error().find("multiple of 62.5us (3 samples)"), std::string::npos)
      << bad48.error();
  EXPECT_NE(bad48.error().find("125us"), std::string::npos) << bad48.error();
}

TEST(GenFormat, StaticAndDynamicPayloadTypes) {
  rt::GenConfig cfg;
  auto f = rt::payload_format(cfg).value();
  EXPECT_EQ(f.payload_type, 97);
  EXPECT_EQ(f.bytes_per_sample, 3);
  cfg.bits = 16;
  EXPECT_EQ(rt::payload_format(cfg).value().payload_type, 96);
  cfg.payload_type = 100;
  EXPECT_EQ(rt::payload_format(cfg).value().payload_type, 100);
  // PCMU at RFC 3551's format: 8 kHz, mono, a byte per sample.
  cfg.payload_type = 0;
  EXPECT_FALSE(rt::payload_format(cfg).has_value());  // 48 kHz stereo is not PCMU
  cfg.sample_rate_hz = 8000;
  cfg.channels = 1;
  cfg.bits = 8;
  f = rt::payload_format(cfg).value();
  EXPECT_EQ(f.payload_type, 0);
  EXPECT_STREQ(f.name, "PCMU");
  cfg.ptime_ns = 20'000'000;
  EXPECT_TRUE(rt::validate_config(cfg).has_value());
  EXPECT_EQ(rt::audio_payload_bytes(8000, 20'000'000, 1, 8).value(), 160u);  // 20 ms of G.711
  cfg.payload_type = 8;
  EXPECT_STREQ(rt::payload_format(cfg).value().name, "PCMA");
  cfg.payload_type = 10;
  EXPECT_FALSE(rt::payload_format(cfg).has_value());
  cfg.sample_rate_hz = 44100;
  cfg.channels = 2;
  cfg.bits = 16;
  EXPECT_EQ(rt::payload_format(cfg).value().payload_type, 10);
  cfg.payload_type = 11;
  EXPECT_FALSE(rt::payload_format(cfg).has_value());  // 11 is mono
  cfg.payload_type = 3;                               // GSM: not something gen can produce
  EXPECT_FALSE(rt::payload_format(cfg).has_value());
}

TEST(GenFormat, GroupPerStream) {
  rt::GenConfig cfg;
  cfg.streams = 3;
  cfg.dst_addr = "239.69.1.254";
  cfg.allow_multicast = true;
  cfg.group_per_stream = true;
  EXPECT_TRUE(rt::validate_config(cfg).has_value());
  EXPECT_EQ(rt::stream_destination(cfg, 0),
            (std::pair<std::string, std::uint16_t>{"239.69.1.254", 5004}));
  EXPECT_EQ(rt::stream_destination(cfg, 2),
            (std::pair<std::string, std::uint16_t>{"239.69.2.0", 5004}));
  cfg.dst_addr = "239.255.255.255";
  EXPECT_FALSE(rt::validate_config(cfg).has_value());  // would leave 239/8
  cfg.dst_addr = "198.18.0.2";
  EXPECT_FALSE(rt::validate_config(cfg).has_value());  // groups need a multicast --dst
  cfg.group_per_stream = false;
  EXPECT_EQ(rt::stream_destination(cfg, 2),
            (std::pair<std::string, std::uint16_t>{"198.18.0.2", 5008}));
}

TEST(GenTone, DeterministicPerChannelAndInRange) {
  // Channel 0 at 1 kHz, 48 kHz: sample 12 is a quarter turn, the peak (half of full scale).
  EXPECT_EQ(rt::tone_sample(1000, 0, 0, 48000, 24), 0);
  EXPECT_EQ(rt::tone_sample(1000, 0, 12, 48000, 24), 4194304);  // floor(8388607 / 2 + 0.5)
  EXPECT_EQ(rt::tone_sample(1000, 0, 36, 48000, 24), -4194303);
  EXPECT_EQ(rt::tone_sample(1000, 1, 6, 48000, 24), 4194304);  // channel 1 is twice the frequency
  EXPECT_EQ(rt::tone_sample(1000, 0, 12, 48000, 16), 16384);   // floor(32767 / 2 + 0.5)
  // The phase is reduced exactly: an hour in, the same value as at the start of the period.
  EXPECT_EQ(rt::tone_sample(997, 3, 48000ull * 3600 + 5, 48000, 24),
            rt::tone_sample(997, 3, 5, 48000, 24));
  rt::GenConfig cfg;
  cfg.tone_hz = 13000;  // channel 2 at 26 kHz > 24 kHz
  EXPECT_FALSE(rt::validate_config(cfg).has_value());
  cfg.tone_hz = 11000;
  EXPECT_TRUE(rt::validate_config(cfg).has_value());
  cfg.raw_payload_bytes = 32;
  EXPECT_FALSE(rt::validate_config(cfg).has_value());  // no audio to put a tone in
}

TEST(GenTone, G711Encoders) {
  // ITU-T G.711 code words (u-law is bit-inverted, A-law has its even bits toggled).
  EXPECT_EQ(rt::linear_to_ulaw(0), 0xFF);
  EXPECT_EQ(rt::linear_to_ulaw(-1), 0x7F);
  EXPECT_EQ(rt::linear_to_ulaw(32767), 0x80);
  EXPECT_EQ(rt::linear_to_ulaw(-32768), 0x00);
  EXPECT_EQ(rt::linear_to_ulaw(1000), 0xCE);
  EXPECT_EQ(rt::linear_to_alaw(0), 0xD5);
  EXPECT_EQ(rt::linear_to_alaw(-8), 0x55);
  EXPECT_EQ(rt::linear_to_alaw(32767), 0xAA);
  EXPECT_EQ(rt::linear_to_alaw(-32768), 0x2A);
  EXPECT_EQ(rt::linear_to_alaw(1000), 0xFA);
}

TEST(GenSap, SdpAndPacket) {
  rt::GenConfig cfg;
  cfg.streams = 2;
  cfg.dst_addr = "239.69.1.1";
  cfg.allow_multicast = true;
  cfg.group_per_stream = true;
  cfg.ptime_ns = 125'000;
  cfg.session_name = "Desk";
  const auto f = rt::payload_format(cfg).value();
  const std::string sdp = rt::stream_sdp(cfg, f, 1, 0x1234, "198.18.0.1");
  for (const char* line :
       {"v=0\r\n", "o=- 4660 1 IN IP4 198.18.0.1\r\n", "s=Desk 2\r\n", "c=IN IP4 239.69.1.2/1\r\n",
        "t=0 0\r\n", "m=audio 5004 RTP/AVP 97\r\n", "a=rtpmap:97 L24/48000/2\r\n",
        "a=ptime:0.125\r\n", "a=ts-refclk:local\r\n", "a=mediaclk:direct=0\r\n",
        "a=source-filter: incl IN IP4 239.69.1.2 198.18.0.1\r\n"})
    EXPECT_NE(sdp.find(line), std::string::npos) << line << " missing from\n" << sdp;
  EXPECT_EQ(sdp.rfind("v=0", 0), 0u);  // RFC 8866: v= first
  EXPECT_LT(sdp.find("m=audio"), sdp.find("a=rtpmap"));
  // Unicast: no group TTL, no source filter.
  cfg.group_per_stream = false;
  cfg.dst_addr = "198.18.0.2";
  cfg.streams = 1;
  const std::string uni = rt::stream_sdp(cfg, f, 0, 1, "198.18.0.1");
  EXPECT_NE(uni.find("c=IN IP4 198.18.0.2\r\n"), std::string::npos);
  EXPECT_NE(uni.find("s=Desk\r\n"), std::string::npos);
  EXPECT_EQ(uni.find("source-filter"), std::string::npos);

  // --redundant-dst: one SDP, the two legs grouped by a=group:DUP (RFC 7104), each m= line with
  // its own destination, as the analysis pairs them (it announced path 0 alone).
  cfg.dst_addr = "239.69.1.1";
  cfg.redundant_dst = "239.69.129.1";
  cfg.group_per_stream = true;
  cfg.streams = 2;
  const std::string dup = rt::stream_sdp(cfg, f, 1, 0x1234, "198.18.0.1");
  const auto legs = rtcap::parse_sdp(dup, "sap 198.18.0.1");
  ASSERT_EQ(legs.size(), 2u) << dup;
  EXPECT_EQ(legs[0].group.to_string(), "239.69.1.2");
  EXPECT_EQ(legs[1].group.to_string(), "239.69.129.2");
  for (int leg = 0; leg < 2; ++leg) {
    EXPECT_EQ(legs[std::size_t(leg)].dup_group, 0) << dup;
    EXPECT_EQ(legs[std::size_t(leg)].dup_leg, leg) << dup;
    EXPECT_EQ(legs[std::size_t(leg)].clock_rate, 48000u);
    EXPECT_EQ(legs[std::size_t(leg)].channels, 2);
  }
  cfg.redundant_dst.clear();

  const auto p = rt::sap_packet(false, 0xABCD, 0xC6120001, "v=0\r\n");
  ASSERT_EQ(p.size(), 8u + 16u + 5u);
  EXPECT_EQ(p[0], 0x20);  // V=1, IPv4, announcement
  EXPECT_EQ(p[1], 0);     // no authentication
  EXPECT_EQ(p[2], 0xAB);
  EXPECT_EQ(p[3], 0xCD);
  EXPECT_EQ(p[4], 198);
  EXPECT_EQ(p[7], 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&p[8])), "application/sdp");
  EXPECT_EQ(p[8 + 15], 0);
  EXPECT_EQ(p[24], 'v');
  EXPECT_EQ(rt::sap_packet(true, 1, 0, "")[0], 0x24);  // the deletion bit
}

TEST(Lab, NamesAndValidation) {
  const auto lab = rt::lab_names("rt123");
  EXPECT_EQ(lab.tx_ns, "rt123-tx");
  EXPECT_EQ(lab.rx_ns, "rt123-rx");
  EXPECT_EQ(lab.tx_if, "rt123-tx");
  EXPECT_EQ(lab.rx_if, "rt123-rx");
  EXPECT_EQ(lab.tx_addr, "198.18.0.1");
  EXPECT_EQ(lab.rx_addr, "198.18.0.2");
  EXPECT_TRUE(rt::valid_lab_name("rtcap"));
  EXPECT_TRUE(rt::valid_lab_name("abcd1234"));
  EXPECT_LE(rt::lab_names("abcd1234").tx_if.size(), 15u);
  for (const char* bad : {"", "abcd12345", "RTCAP", "rt-1", "a b", "../x", "a;rm"})
    EXPECT_FALSE(rt::valid_lab_name(bad)) << bad;
  // Bad names are refused before anything runs (and before the root check).
  EXPECT_FALSE(rt::lab_up("a;b").has_value());
  EXPECT_FALSE(rt::lab_down("A").has_value());
}

TEST(Lab, EnterMissingNetnsIsAClearError) {
  auto r = rt::enter_netns("rtcap-no-such-ns-xyz");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().find("rtcap-no-such-ns-xyz"), std::string::npos);
  EXPECT_FALSE(rt::enter_netns("../etc").has_value());
}

#endif  // RTCAP_HAVE_CLI
