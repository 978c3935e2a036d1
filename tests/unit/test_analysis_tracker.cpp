// Stream tracker: parsing of hand-built frames for every link type we support, malformed and
// truncated input, stream identity, LRU eviction, interval/delay statistics, output, loss split.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analysis/packet_parser.hpp"
#include "analysis_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {
namespace {

// ---------------------------------------------------------------- parsing

TEST(AnalysisParse, EthernetQinQIpv4WithOptions) {
  Rtp r;
  r.seq = 7;
  r.ts = 1234;
  r.ssrc = 0xDEADBEEF;
  r.csrc = 2;
  V4 v;
  v.option_bytes = 12;
  const Bytes f = ether(0x0800, ipv4(v, udp(40000, 5004, rtp(r))), {0x88A8, 0x8100});
  StreamTracker t;
  t.add(view(f, 1000), kDltEn10mb);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].src.to_string(), "198.18.0.1");
  EXPECT_EQ(s[0].dst.to_string(), "198.19.0.2");
  EXPECT_EQ(s[0].src_port, 40000);
  EXPECT_EQ(s[0].dst_port, 5004);
  EXPECT_TRUE(s[0].is_rtp);
  EXPECT_EQ(s[0].ssrc, 0xDEADBEEFu);
  EXPECT_EQ(s[0].payload_type, 97);
  EXPECT_EQ(s[0].bytes, f.size());
  EXPECT_EQ(t.totals().rtp, 1u);
}

TEST(AnalysisParse, Ipv6WithExtensionHeaders) {
  Rtp r;
  const Bytes l4 = udp(5004, 5006, rtp(r));
  // hop-by-hop (8), routing (24), destination options (16), atomic fragment header (8).
  const Bytes f = ether(0x86DD, ipv6(l4, {{0, 8}, {43, 24}, {60, 16}, {44, 8}}, 0));
  StreamTracker t;
  t.add(view(f), kDltEn10mb);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].src.family, 6);
  EXPECT_EQ(s[0].src.to_string(), "2001:db8::1");
  EXPECT_EQ(s[0].dst.to_string(), "2001:db8::2");
  EXPECT_EQ(s[0].dst_port, 5006);
  EXPECT_TRUE(s[0].is_rtp);
}

TEST(AnalysisParse, Ipv6NonFirstFragmentIsCountedNotParsed) {
  const Bytes l4 = udp(5004, 5006, rtp(Rtp{}));
  StreamTracker t;
  t.add(view(ether(0x86DD, ipv6(l4, {{44, 8}}, static_cast<std::uint16_t>(185 << 3)))), 1);
  t.add(view(ether(0x86DD, ipv6(l4, {{44, 8}}, 1))), 1);  // first fragment, M set: parsed
  EXPECT_EQ(t.totals().fragments, 1u);
  EXPECT_EQ(t.totals().udp, 1u);
  EXPECT_EQ(t.totals().rtp, 1u);
}

TEST(AnalysisParse, Ipv4FragmentsFirstParsedOthersCounted) {
  const Bytes l4 = udp(5004, 5004, rtp(Rtp{}));
  V4 first;
  first.frag = 0x2000;  // MF, offset 0
  V4 later;
  later.frag = 6;  // offset 48 bytes, last fragment
  StreamTracker t;
  t.add(view(ether(0x0800, ipv4(first, l4))), 1);
  t.add(view(ether(0x0800, ipv4(later, Bytes(40, 0xAA)))), 1);
  EXPECT_EQ(t.totals().udp, 1u);
  EXPECT_EQ(t.totals().rtp, 1u);
  EXPECT_EQ(t.totals().fragments, 1u);
  EXPECT_EQ(t.totals().malformed, 0u);
}

TEST(AnalysisParse, CookedRawAndLoopbackLinkTypes) {
  const Bytes l3 = ipv4(V4{}, udp(1, 2, rtp(Rtp{})));
  const Bytes l3v6 = ipv6(udp(1, 2, rtp(Rtp{})));
  Bytes null_le = {2, 0, 0, 0};    // AF_INET, little-endian host
  Bytes null_be6 = {0, 0, 0, 24};  // AF_INET6 (OpenBSD), big-endian writer
  Bytes loop_v4 = {0, 0, 0, 2};    // DLT_LOOP is network order
  StreamTracker t;
  t.add(view(sll(0x0800, l3)), kDltLinuxSll);
  t.add(view(sll(0x8100, cat({0, 100, 0x86, 0xDD}, l3v6))), kDltLinuxSll);  // VLAN in SLL
  t.add(view(sll2(0x86DD, l3v6)), kDltLinuxSll2);
  t.add(view(l3), kDltRaw);
  t.add(view(l3v6), kLinktypeRaw);
  t.add(view(l3), kDltRawOpenBsd);
  t.add(view(cat(null_le, l3)), kDltNull);
  t.add(view(cat(null_be6, l3v6)), kDltNull);
  t.add(view(cat(loop_v4, l3)), kDltLoop);
  EXPECT_EQ(t.totals().packets, 9u);
  EXPECT_EQ(t.totals().rtp, 9u);
  EXPECT_EQ(t.totals().malformed, 0u);
  EXPECT_EQ(t.streams().size(), 2u);  // the IPv4 and the IPv6 flow
}

TEST(AnalysisParse, NonUdpIsOther) {
  StreamTracker t;
  t.add(view(ether(0x0800, ipv4(V4{.proto = 6}, Bytes(20, 0)))), 1);  // TCP
  t.add(view(ether(0x0806, Bytes(28, 0))), 1);                        // ARP
  t.add(view(ether(0x0040, Bytes(46, 0))), 1);                        // 802.3 length
  t.add(view(ether(0x86DD, ipv6(Bytes(8, 0), {}, 0, 58))), 1);        // ICMPv6
  t.add(view(ether(0x88F7, Bytes(44, 0))), 1);                        // PTP over Ethernet
  t.add(view(Bytes(60, 0)), 147);                                     // unknown link type
  t.add(view(cat({7, 0, 0, 0}, Bytes(20, 0))), kDltNull);             // unknown AF_
  EXPECT_EQ(t.totals().other, 7u);
  EXPECT_EQ(t.totals().udp, 0u);
  EXPECT_EQ(t.totals().malformed, 0u);
  EXPECT_TRUE(t.streams().empty());
}

TEST(AnalysisParse, BadLengthsAreMalformed) {
  const Bytes good = ipv4(V4{}, udp(1, 2, rtp(Rtp{})));
  StreamTracker t;
  Bytes b = good;
  b[0] = 0x44;  // IHL 4 (< 5)
  t.add(view(b), kDltRaw);
  b = good;
  put16(b, 2, static_cast<std::uint16_t>(good.size() + 1));  // total length beyond the wire
  t.add(view(b), kDltRaw);
  b = good;
  put16(b, 2, 19);  // total length below the header
  t.add(view(b), kDltRaw);
  b = good;
  put16(b, 24, 7);  // UDP length < 8
  t.add(view(b), kDltRaw);
  b = good;
  put16(b, 24, static_cast<std::uint16_t>(good.size()));  // UDP length beyond the IP payload
  t.add(view(b), kDltRaw);
  b = good;
  b[0] = 0x55;  // IP version 5
  t.add(view(b), kDltRaw);
  t.add(view(ipv6(Bytes(8, 0),
                  {{0, 8}, {0, 8}, {0, 8}, {0, 8}, {0, 8}, {0, 8}, {0, 8}, {0, 8}, {0, 8}})),
        kDltRaw);  // nine extension headers: more than we follow
  t.add(view(ether(0x0800, good, {0x8100, 0x8100, 0x8100, 0x8100, 0x8100})), 1);  // 5 tags
  t.add(view(ether(0x86DD, good)), 1);  // ethertype says IPv6, header says 4
  EXPECT_EQ(t.totals().malformed, 9u);
  EXPECT_EQ(t.totals().udp, 0u);
}

TEST(AnalysisParse, RtcpAndBadRtpAreRawUdp) {
  Bytes rtcp = {0x80, 200, 0, 6};  // SR
  rtcp.resize(28, 0);
  Rtp bad_pad;
  bad_pad.padding = 4;
  Bytes bad = rtp(bad_pad);
  bad.back() = 200;  // padding count beyond the packet
  Rtp ok_pad;
  ok_pad.padding = 4;
  ok_pad.csrc = 3;
  StreamTracker t;
  t.add(view(ether(0x0800, ipv4(V4{}, udp(5005, 5005, rtcp)))), 1);
  t.add(view(ether(0x0800, ipv4(V4{}, udp(5006, 5006, bad)))), 1);
  t.add(view(ether(0x0800, ipv4(V4{}, udp(5007, 5007, rtp(ok_pad))))), 1);
  t.add(view(ether(0x0800,
                   ipv4(V4{}, udp(5008, 5008, Bytes{0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})))),
        1);
  EXPECT_EQ(t.totals().udp, 4u);
  EXPECT_EQ(t.totals().rtp, 1u);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 4u);
  EXPECT_FALSE(s[0].is_rtp);
  EXPECT_FALSE(s[1].is_rtp);
  EXPECT_TRUE(s[2].is_rtp);
  EXPECT_FALSE(s[3].is_rtp);
}

TEST(AnalysisParse, RtpParserReadsSendTimeExtension) {
  Rtp r;
  r.send_ns = 0x0123456789ABCDEFull;
  r.csrc = 1;
  const Bytes b = rtp(r);
  analysis::RtpHeader h;
  ASSERT_TRUE(analysis::parse_rtp(b.data(), b.size(), true, h));
  EXPECT_TRUE(h.has_send_time);
  EXPECT_EQ(h.send_time_ns, 0x0123456789ABCDEFull);
  // Extension length pointing past the end: not RTP.
  Bytes cut(b.begin(), b.begin() + 12 + 4 + 4 + 8);
  EXPECT_FALSE(analysis::parse_rtp(cut.data(), cut.size(), true, h));
}

// Every prefix of a valid frame, both as a short packet (wire = captured) and as a snaplen cut
// (wire = full): never crashes, never reads past the captured bytes (run under ASan: each prefix
// is its own exact-size heap block), and every packet lands in exactly one class.
TEST(AnalysisParse, EveryTruncationIsSafe) {
  Rtp r;
  r.csrc = 2;
  r.send_ns = 1;
  r.padding = 4;
  V4 opts;
  opts.option_bytes = 8;
  const Bytes v4 = ipv4(opts, udp(5004, 5004, rtp(r)));
  const Bytes v6 = ipv6(udp(5004, 5004, rtp(r)), {{0, 8}, {43, 16}, {44, 8}, {60, 8}});
  const std::vector<std::pair<Bytes, int>> frames = {
      {ether(0x0800, v4, {0x88A8, 0x8100}), kDltEn10mb},
      {ether(0x86DD, v6, {0x8100}), kDltEn10mb},
      {sll(0x0800, v4), kDltLinuxSll},
      {sll2(0x86DD, v6), kDltLinuxSll2},
      {v4, kDltRaw},
      {cat({0, 0, 0, 24}, v6), kDltLoop},
  };
  StreamTracker t;
  std::uint64_t n = 0;
  for (const auto& [frame, linktype] : frames) {
    for (std::size_t len = 0; len <= frame.size(); ++len) {
      auto exact = std::make_unique<std::uint8_t[]>(len == 0 ? 1 : len);
      if (len != 0) std::memcpy(exact.get(), frame.data(), len);
      const std::span<const std::uint8_t> bytes(exact.get(), len);
      t.add(PacketView{0, static_cast<std::uint32_t>(len), 0, bytes}, linktype);
      t.add(PacketView{0, static_cast<std::uint32_t>(frame.size()), 0, bytes}, linktype);
      n += 2;
    }
    // The whole frame is RTP.
    const auto before = t.totals().rtp;
    t.add(view(frame), linktype);
    ++n;
    EXPECT_EQ(t.totals().rtp, before + 1) << "linktype " << linktype;
  }
  const TrackerTotals tot = t.totals();
  EXPECT_EQ(tot.packets, n);
  EXPECT_EQ(classified(tot), n);
  EXPECT_GT(tot.malformed, 0u);
}

// Random garbage through every link type: same guarantees.
TEST(AnalysisParse, RandomBytesNeverCrash) {
  StreamTracker t;
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  const int linktypes[] = {0, 1, 12, 14, 101, 108, 113, 276};
  std::uint64_t n = 0;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::size_t len = x % 130;
    auto buf = std::make_unique<std::uint8_t[]>(len + 1);
    std::uint64_t y = x;
    for (std::size_t k = 0; k < len; ++k) {
      y = y * 6364136223846793005ull + 1442695040888963407ull;
      buf[k] = static_cast<std::uint8_t>(y >> 56);
    }
    // Bias towards plausible headers so deeper layers get exercised.
    if (len > 0 && (i & 1)) buf[0] = static_cast<std::uint8_t>(0x45 + (i & 2 ? 0x20 : 0));
    t.add(PacketView{0, static_cast<std::uint32_t>(len + (x >> 60)), 0, {buf.get(), len}},
          linktypes[i % 8]);
    ++n;
  }
  EXPECT_EQ(classified(t.totals()), n);
}

// ---------------------------------------------------------------- streams

TEST(AnalysisTracker, EachSsrcInAFlowIsAStream) {
  StreamTracker t;
  for (std::uint16_t i = 0; i < 10; ++i) {
    Rtp a;
    a.seq = i;
    a.ssrc = 1;
    Rtp b;
    b.seq = static_cast<std::uint16_t>(100 + i);
    b.ssrc = 2;
    t.add(view(rtp_frame(a), i * 1000), 1);
    t.add(view(rtp_frame(b), i * 1000 + 1), 1);
  }
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].ssrc, 1u);
  EXPECT_EQ(s[1].ssrc, 2u);
  EXPECT_EQ(s[0].id, 0u);
  EXPECT_EQ(s[1].id, 1u);
  EXPECT_EQ(s[0].expected, 10u);
  EXPECT_EQ(s[1].packets, 10u);
}

TEST(AnalysisTracker, LossDuplicatesAndReorderThroughTheTracker) {
  StreamTracker t;
  const int seqs[] = {0, 1, 2, 3, 5, 4, 6, 6, 9, 10};  // 7, 8 lost; 4 late; 6 twice
  std::int64_t ts = 0;
  for (int s : seqs) {
    Rtp r;
    r.seq = static_cast<std::uint16_t>(s);
    r.ts = static_cast<std::uint32_t>(s * 6);
    t.add(view(rtp_frame(r), ts += 125'000), 1);
  }
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].packets, 10u);
  EXPECT_EQ(s[0].expected, 11u);
  EXPECT_EQ(s[0].received, 10u);
  EXPECT_EQ(s[0].lost, 2u);                    // 7 and 8 never came
  EXPECT_EQ(s[0].rfc3550_cumulative_lost, 1);  // 2 lost, 1 duplicate: RFC 3550 arithmetic
  EXPECT_EQ(s[0].duplicates, 1u);
  EXPECT_EQ(s[0].reordered, 1u);
}

TEST(AnalysisTracker, IntervalStatsAndPtimeEstimate) {
  StreamTracker t;
  std::int64_t ts = 1'000'000'000;
  for (int i = 0; i < 100; ++i) {
    if (i == 50) {
      ts += 250'000;  // two packets missing: a 375 us gap
      continue;
    }
    if (i == 51) continue;
    Rtp r;
    r.seq = static_cast<std::uint16_t>(i);
    r.ts = static_cast<std::uint32_t>(6 * i);  // 125 us at 48 kHz
    t.add(view(rtp_frame(r), ts), 1);
    ts += 125'000;
  }
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  const IntervalStats& iv = s[0].interval;
  EXPECT_EQ(iv.count, 97u);
  EXPECT_NEAR(iv.ptime_ms, 0.125, 1e-12);
  EXPECT_NEAR(iv.max_ms, 0.375, 1e-12);
  EXPECT_NEAR(iv.min_ms, 0.125, 1e-12);
  EXPECT_EQ(iv.long_gaps, 1u);
  EXPECT_NEAR(iv.mean_ms, (96 * 0.125 + 0.375) / 97, 1e-9);
  EXPECT_GT(iv.stddev_ms, 0.0);
  EXPECT_EQ(s[0].lost, 2u);
  EXPECT_NEAR(s[0].jitter_ms, 0.0, 0.01);  // one bump, decayed
  EXPECT_NEAR(s[0].rate_pps, 97.0 * 1e9 / double(s[0].last_ts_ns - s[0].first_ts_ns), 1e-6);
}

TEST(AnalysisTracker, ClockRateFromPayloadTypeMap) {
  StreamTrackerConfig c;
  c.clock_rate_by_pt[96] = 90000;
  StreamTracker t(c);
  Rtp v;
  v.pt = 96;
  v.ssrc = 1;
  Rtp a;
  a.pt = 97;
  a.ssrc = 2;
  t.add(view(rtp_frame(v)), 1);
  t.add(view(rtp_frame(a)), 1);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].clock_rate, 90000u);
  EXPECT_EQ(s[1].clock_rate, 48000u);
}

TEST(AnalysisTracker, OneWayDelayFromSendTimeExtension) {
  StreamTracker t;
  const std::int64_t base = 1'700'000'000'000'000'000;
  for (int i = 0; i < 200; ++i) {
    Rtp r;
    r.seq = static_cast<std::uint16_t>(i);
    r.ts = static_cast<std::uint32_t>(48 * i);
    const std::int64_t sent = base + std::int64_t{i} * 1'000'000;
    r.send_ns = static_cast<std::uint64_t>(sent);
    const std::int64_t delay = i == 199 ? 5'000'000 : 200'000 + (i % 10) * 10'000;
    t.add(view(rtp_frame(r), sent + delay), 1);
  }
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  ASSERT_TRUE(s[0].has_delay);
  const DelayStats& d = s[0].one_way_delay;
  EXPECT_EQ(d.count, 200u);
  EXPECT_EQ(d.min_ns, 200'000);
  EXPECT_EQ(d.max_ns, 5'000'000);
  EXPECT_EQ(d.negative, 0u);
  // p99 of 200 samples: the 198th smallest is 290 us (histogram: at most 3.1% above).
  EXPECT_GE(d.p99_ns, 290'000u);
  EXPECT_LE(d.p99_ns, 299'000u);
  EXPECT_GT(d.mean_ns, 200'000);
  EXPECT_LT(d.mean_ns, 300'000);
}

TEST(AnalysisTracker, LruEvictionKeepsMemoryBounded) {
  StreamTrackerConfig c;
  c.max_streams = 8;
  StreamTracker t(c);
  const std::size_t mem0 = t.memory_bytes();
  Rtp keep;
  keep.ssrc = 0xAAAA;
  for (int i = 0; i < 1000; ++i) {
    keep.seq = static_cast<std::uint16_t>(i);
    t.add(view(rtp_frame(keep), i), 1);  // touched every time: never the least recent
    Rtp r;
    r.ssrc = static_cast<std::uint32_t>(i + 1);
    r.seq = 1;
    t.add(view(rtp_frame(r, 5004, 5004, 0xC6120000u + static_cast<std::uint32_t>(i))), 1);
  }
  const TrackerTotals tot = t.totals();
  EXPECT_EQ(tot.streams_active, 8u);
  EXPECT_EQ(tot.streams_seen, 1001u);
  EXPECT_EQ(tot.evicted, 993u);
  EXPECT_EQ(t.memory_bytes(), mem0);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 8u);
  EXPECT_EQ(s[0].ssrc, 0xAAAAu);  // first seen, kept alive by LRU
  EXPECT_EQ(s[0].packets, 1000u);
  EXPECT_EQ(s[0].lost, 0u);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_LT(s[i - 1].id, s[i].id);
  // The survivors besides the kept one are the 7 newest.
  EXPECT_EQ(s[7].ssrc, 1000u);
  EXPECT_EQ(s[1].ssrc, 994u);
}

TEST(AnalysisTracker, EvictedLossStaysInTheTotals) {
  StreamTrackerConfig c;
  c.max_streams = 1;
  StreamTracker t(c);
  for (int seq : {0, 1, 2, 5}) {  // 3 and 4 lost
    Rtp r;
    r.seq = static_cast<std::uint16_t>(seq);
    t.add(view(rtp_frame(r)), 1);
  }
  Rtp other;
  other.ssrc = 9;
  t.add(view(rtp_frame(other)), 1);  // evicts the first stream
  const TrackerSnapshot snap = t.snapshot();
  EXPECT_EQ(snap.totals.evicted, 1u);
  EXPECT_EQ(snap.totals.evicted_lost, 2u);
  EXPECT_EQ(total_sequence_loss(snap), 2u);
}

TEST(AnalysisTracker, ManyStreamsAndChurnKeepTheIndexConsistent) {
  StreamTrackerConfig c;
  c.max_streams = 64;
  StreamTracker t(c);
  // Interleave 100 flows round-robin: the table thrashes; every lookup must stay correct.
  for (int round = 0; round < 20; ++round)
    for (int f = 0; f < 100; ++f) {
      Rtp r;
      r.ssrc = static_cast<std::uint32_t>(f);
      r.seq = static_cast<std::uint16_t>(round);
      t.add(view(rtp_frame(r, static_cast<std::uint16_t>(f))), 1);
    }
  // Then only 50 flows: they fit, so after warm-up none is evicted any more.
  const auto evicted_before = [&] {
    for (int round = 0; round < 5; ++round)
      for (int f = 0; f < 50; ++f) {
        Rtp r;
        r.ssrc = static_cast<std::uint32_t>(f);
        r.seq = static_cast<std::uint16_t>(100 + round);
        t.add(view(rtp_frame(r, static_cast<std::uint16_t>(f))), 1);
      }
    return t.totals().evicted;
  }();
  for (int f = 0; f < 50; ++f) {
    Rtp r;
    r.ssrc = static_cast<std::uint32_t>(f);
    r.seq = 200;
    t.add(view(rtp_frame(r, static_cast<std::uint16_t>(f))), 1);
  }
  EXPECT_EQ(t.totals().evicted, evicted_before);
  EXPECT_EQ(t.totals().streams_active, 64u);
  std::size_t fifty = 0;
  for (const auto& s : t.streams()) fifty += s.ssrc < 50 ? 1 : 0;
  EXPECT_EQ(fifty, 50u);
}

TEST(AnalysisTracker, RawUdpFlowGetsIntervalStatsOnly) {
  StreamTrackerConfig c;
  c.detect_rtp = false;
  StreamTracker t(c);
  for (int i = 0; i < 5; ++i) t.add(view(rtp_frame(Rtp{}), i * 1'000'000), 1);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_FALSE(s[0].is_rtp);
  EXPECT_EQ(s[0].expected, 0u);
  EXPECT_EQ(s[0].interval.count, 4u);
  EXPECT_NEAR(s[0].interval.mean_ms, 1.0, 1e-12);
  EXPECT_NEAR(s[0].rate_pps, 1000.0, 1e-9);
  t.clear();
  EXPECT_TRUE(t.streams().empty());
  EXPECT_EQ(t.totals().packets, 0u);
}

TEST(AnalysisTracker, BatchWithLinkTypePerInterface) {
  const Bytes eth = rtp_frame(Rtp{});
  const Bytes raw = ipv4(V4{}, udp(1, 2, rtp(Rtp{})));
  Batch batch(8, 4096);
  ASSERT_TRUE(batch.try_append(1, 0, eth.data(), static_cast<std::uint32_t>(eth.size()),
                               static_cast<std::uint32_t>(eth.size())));
  ASSERT_TRUE(batch.try_append(2, 1, raw.data(), static_cast<std::uint32_t>(raw.size()),
                               static_cast<std::uint32_t>(raw.size())));
  ASSERT_TRUE(batch.try_append(3, 2, raw.data(), static_cast<std::uint32_t>(raw.size()),
                               static_cast<std::uint32_t>(raw.size())));
  StreamTracker t;
  const int linktypes[] = {kDltEn10mb, kDltRaw};
  t.add(batch, std::span<const int>(linktypes));
  EXPECT_EQ(t.totals().rtp, 2u);
  EXPECT_EQ(t.totals().other, 1u);  // interface 2 has no link type
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].interface_index, 0);
  EXPECT_EQ(s[1].interface_index, 1);
}

TEST(AnalysisTracker, ConfiguredPtimeCountsLongGaps) {
  StreamTrackerConfig c;
  c.expected_ptime_ns = 1'000'000;
  c.detect_rtp = false;
  StreamTracker t(c);
  for (std::int64_t ts : {0, 1'000'000, 2'000'000, 3'400'000, 4'400'000, 6'000'000})
    t.add(view(rtp_frame(Rtp{}), ts), 1);
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].interval.long_gaps, 1u);  // 1.6 ms > 1.5 ms; 1.4 ms is not
  EXPECT_NEAR(s[0].interval.ptime_ms, 1.0, 1e-12);
}

// ---------------------------------------------------------------- output

TEST(AnalysisOutput, Ipv6TextIsRfc5952) {
  IpAddress a;
  a.family = 6;
  EXPECT_EQ(a.to_string(), "::");
  a.bytes = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(a.to_string(), "fe80::1:0:0:1");
  a.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(a.to_string(), "2001:db8:0:1:1::1");
  a.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(a.to_string(), "2001:db8::1:0:0:1");  // first of two equal runs
}

TEST(AnalysisOutput, JsonAndTable) {
  StreamTracker t;
  for (int i = 0; i < 4; ++i) {
    Rtp r;
    r.seq = static_cast<std::uint16_t>(i == 3 ? 4 : i);
    r.ssrc = 0x00ABCDEF;
    r.send_ns = 1'000'000;
    t.add(view(rtp_frame(r), 1'500'000 + i * 1'000'000), 1);
  }
  t.add(view(ether(0x0800, ipv4(V4{}, udp(9, 9, Bytes(4, 0))))), 1);
  const TrackerSnapshot snap = t.snapshot();
  const auto j = nlohmann::json::parse(to_json(snap));
  EXPECT_EQ(j["totals"]["packets"], 5);
  EXPECT_EQ(j["totals"]["rtp"], 4);
  EXPECT_EQ(j["totals"]["sequence_lost"], 1);
  ASSERT_EQ(j["streams"].size(), 2u);
  const auto& s = j["streams"][0];
  EXPECT_EQ(s["ssrc"], "0x00abcdef");
  EXPECT_EQ(s["src_addr"], "198.18.0.1");
  EXPECT_EQ(s["dst_port"], 5004);
  EXPECT_EQ(s["payload_type"], 97);
  EXPECT_EQ(s["clock_rate"], 48000);
  EXPECT_EQ(s["expected"], 5);
  EXPECT_EQ(s["lost"], 1);
  EXPECT_TRUE(s.contains("jitter_ms"));
  EXPECT_TRUE(s["interval"].contains("max_ms"));
  EXPECT_TRUE(s.contains("one_way_delay"));
  EXPECT_FALSE(j["streams"][1].contains("ssrc"));
  EXPECT_TRUE(nlohmann::json::accept(to_json(snap, -1)));

  const std::string table = format_stream_table(snap);
  EXPECT_NE(table.find("0x00abcdef"), std::string::npos);
  EXPECT_NE(table.find("198.18.0.1:5004"), std::string::npos);
  EXPECT_NE(table.find("Lost"), std::string::npos);
  EXPECT_NE(table.find("1 missing from RTP sequences"), std::string::npos);
}

// ---------------------------------------------------------------- loss attribution

TEST(AnalysisLoss, Attribution) {
  LossAttribution a = attribute_loss(0, std::uint64_t{0});
  EXPECT_TRUE(a.exact);
  EXPECT_EQ(a.lost_before_capture_min, 0u);

  a = attribute_loss(10, std::uint64_t{0});  // capture clean: all network loss
  EXPECT_TRUE(a.exact);
  EXPECT_EQ(a.dropped_by_capture_max, 0u);
  EXPECT_EQ(a.lost_before_capture_min, 10u);
  EXPECT_NE(a.text.find("before"), std::string::npos);

  a = attribute_loss(0, std::uint64_t{7});  // drops hit other traffic
  EXPECT_TRUE(a.exact);
  EXPECT_EQ(a.dropped_by_capture_max, 0u);

  a = attribute_loss(10, std::uint64_t{4});  // at most 4 are ours, at least 6 are the network's
  EXPECT_FALSE(a.exact);
  EXPECT_EQ(a.dropped_by_capture_max, 4u);
  EXPECT_EQ(a.lost_before_capture_min, 6u);

  a = attribute_loss(10, std::uint64_t{50});
  EXPECT_FALSE(a.exact);
  EXPECT_EQ(a.dropped_by_capture_max, 10u);
  EXPECT_EQ(a.lost_before_capture_min, 0u);

  CaptureStats cs;
  cs.app_dropped_packets = 1;
  cs.interfaces.push_back({"eth0", 100, 2, 3, 0});
  a = attribute_loss(10, cs);
  EXPECT_EQ(a.capture_dropped, 6u);
  EXPECT_EQ(a.lost_before_capture_min, 4u);
  EXPECT_TRUE(nlohmann::json::accept(to_json(a)));
}

}  // namespace
}  // namespace rtcap
