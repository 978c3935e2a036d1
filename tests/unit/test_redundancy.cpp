// ST 2022-7: a=group:DUP parsing, leg pairing, and merging on crafted sequences with a known
// answer (loss on one path, on the other, on both, reordering across paths, hostile jumps).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "analysis_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/metrics.hpp"
#include "rtcap/redundancy.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap {
namespace {

constexpr std::int64_t kT0 = 1'000'000'000'000;
constexpr std::int64_t kPtimeNs = 125'000;     // 125 us, 6 samples at 48 kHz
constexpr std::uint32_t kGroupA = 0xEF450101;  // 239.69.1.1
constexpr std::uint32_t kGroupB = 0xEF450201;  // 239.69.2.1

struct Leg {
  std::uint32_t dst = kGroupA;
  std::uint16_t port = 5004;
  std::uint32_t ssrc = 0x11223344;
  std::uint16_t iface = 0;
  std::int64_t delay_ns = 0;  // added to the packet's send time
  std::set<int> drop;         // sequence numbers this path loses
};

Bytes frame(const Leg& l, std::uint16_t seq) {
  Rtp r;
  r.seq = seq;
  r.ts = static_cast<std::uint32_t>(seq) * 6;
  r.ssrc = l.ssrc;
  V4 v;
  v.dst = l.dst;
  return ether(0x0800, ipv4(v, udp(5004, l.port, rtp(r))));
}

// Sends seq first..first+count-1 over both legs, in arrival-time order.
void send(StreamTracker& t, const Leg& a, const Leg& b, int count, int first = 0) {
  std::vector<std::tuple<std::int64_t, int, int>> events;  // arrival, leg, seq
  for (int i = first; i < first + count; ++i) {
    const std::int64_t sent = kT0 + i * kPtimeNs;
    if (!a.drop.count(i)) events.emplace_back(sent + a.delay_ns, 0, i);
    if (!b.drop.count(i)) events.emplace_back(sent + b.delay_ns, 1, i);
  }
  std::stable_sort(events.begin(), events.end());
  for (const auto& [at, leg, seq] : events) {
    const Leg& l = leg == 0 ? a : b;
    const Bytes f = frame(l, static_cast<std::uint16_t>(seq));
    PacketView p = view(f, at);
    p.interface_index = l.iface;
    t.add(p, kDltEn10mb);
  }
}

const RedundantPair& only_pair(const TrackerSnapshot& s) {
  EXPECT_EQ(s.redundancy.size(), 1u);
  static const RedundantPair none;
  return s.redundancy.empty() ? none : s.redundancy[0];
}

// Counted range [5, 999]: path 0's 0..4 arrived before path 1's first packet formed the pair, so
// the first number both paths carried after pairing is 5.
TEST(Redundancy, LossOnOnePathIsCoveredByTheOther) {
  StreamTracker t;
  Leg a, b;
  b.dst = kGroupB;
  b.delay_ns = 500'000;
  a.drop = {100, 200, 300};
  send(t, a, b, 1000);
  const TrackerSnapshot s = t.snapshot();
  const RedundantPair& p = only_pair(s);
  EXPECT_EQ(p.paired_by, PairedBy::kSsrc);
  EXPECT_EQ(p.group, "ssrc 0x11223344");
  EXPECT_EQ(p.first_seq, 5);
  EXPECT_EQ(p.last_seq, 999);
  EXPECT_EQ(p.expected, 995u);
  EXPECT_EQ(p.path[0].lost, 3u);
  EXPECT_EQ(p.path[1].lost, 0u);
  EXPECT_EQ(p.merged_lost, 0u);
  EXPECT_EQ(p.differential_count, 995u - 3u);
  EXPECT_NEAR(p.differential_mean_us, 500.0, 1e-6);
  EXPECT_NEAR(p.differential_max_abs_us, 500.0, 1e-6);
  EXPECT_EQ(p.skew_class, SkewClass::kLowSkew);
  EXPECT_NEAR(p.buffer_needed_us, 500.0, 1e-6);
  EXPECT_EQ(p.buffer_needed_packets, 4u);  // 500 us of 125 us packets
  // Prometheus carries what the table shows: per-path and merged loss, differential, buffer, class.
  const std::string text = render_metrics(CaptureStats{}, &s, nullptr);
  for (const char* line : {"rtcap_st2022_7_path_lost_packets{pair=\"239.69.1.1:5004 ssrc "
                           "0x11223344\",primary=\"239.69.1.1:5004\","
                           "path=\"0\",dst=\"239.69.1.1:5004\"} 3",
                           "rtcap_st2022_7_merged_lost_packets{pair=\"239.69.1.1:5004 ssrc "
                           "0x11223344\",primary=\"239.69.1.1:5004\"} 0",
                           "rtcap_st2022_7_buffer_needed_seconds{pair=\"239.69.1.1:5004 ssrc "
                           "0x11223344\",primary=\"239.69.1.1:5004\"} "
                           "0.0005",
                           "rtcap_st2022_7_skew_class_info{pair=\"239.69.1.1:5004 ssrc "
                           "0x11223344\",primary=\"239.69.1.1:5004\","
                           "class=\"low_skew\"} 1"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  // The legs are the two streams of the table.
  std::set<std::uint64_t> ids;
  for (const auto& st : s.streams) ids.insert(st.id);
  EXPECT_TRUE(ids.count(p.path[0].stream_id));
  EXPECT_TRUE(ids.count(p.path[1].stream_id));
  EXPECT_NE(p.path[0].stream_id, p.path[1].stream_id);
}

TEST(Redundancy, LossOnTheOtherPath) {
  StreamTracker t;
  Leg a, b;
  b.dst = kGroupB;
  b.delay_ns = 2'000'000;  // 2 ms: 16 packets behind
  b.drop = {50, 51, 52, 900};
  send(t, a, b, 1000);
  const TrackerSnapshot snap = t.snapshot();
  const RedundantPair& p = only_pair(snap);
  EXPECT_EQ(p.path[0].lost, 0u);
  EXPECT_EQ(p.path[1].lost, 4u);
  EXPECT_EQ(p.merged_lost, 0u);
  EXPECT_NEAR(p.differential_max_us, 2000.0, 1e-6);
  EXPECT_NEAR(p.differential_min_us, 2000.0, 1e-6);
}

TEST(Redundancy, LossOnBothPathsIsWhatMergingLoses) {
  StreamTracker t;
  Leg a, b;
  b.dst = kGroupB;
  b.delay_ns = 300'000;
  a.drop = {10, 20, 30, 3000};
  b.drop = {20, 40, 3000, 3001};
  send(t, a, b, 5000);  // past the window: most numbers are finalised, not provisional
  const TrackerSnapshot snap = t.snapshot();
  const RedundantPair& p = only_pair(snap);
  EXPECT_EQ(p.first_seq, 3);  // path 0's 0..2 came before path 1's first packet
  EXPECT_EQ(p.expected, 4997u);
  EXPECT_EQ(p.path[0].lost, 4u);
  EXPECT_EQ(p.path[1].lost, 4u);
  EXPECT_EQ(p.merged_lost, 2u);  // 20 and 3000
  EXPECT_EQ(p.path[0].received + p.path[0].lost, p.expected);
}

TEST(Redundancy, ReorderingAcrossPathsLosesNothingAndMeasuresBothSigns) {
  // Path 1 leads by 200 us on even numbers and lags by 200 us on odd ones.
  StreamTracker t;
  Leg a, b;
  b.dst = kGroupB;
  std::vector<std::tuple<std::int64_t, int, int>> events;
  for (int i = 0; i < 400; ++i) {
    const std::int64_t sent = kT0 + i * kPtimeNs;
    events.emplace_back(sent + 200'000, 0, i);
    events.emplace_back(sent + (i % 2 ? 400'000 : 0), 1, i);
  }
  std::stable_sort(events.begin(), events.end());
  for (const auto& [at, leg, seq] : events) {
    const Bytes f = frame(leg ? b : a, static_cast<std::uint16_t>(seq));
    t.add(view(f, at), kDltEn10mb);
  }
  const TrackerSnapshot snap = t.snapshot();
  const RedundantPair& p = only_pair(snap);
  EXPECT_EQ(p.merged_lost, 0u);
  EXPECT_EQ(p.path[0].lost, 0u);
  EXPECT_EQ(p.path[1].lost, 0u);
  EXPECT_NEAR(p.differential_min_us, -200.0, 1e-6);
  EXPECT_NEAR(p.differential_max_us, 200.0, 1e-6);
  EXPECT_NEAR(p.differential_max_abs_us, 200.0, 1e-6);
  EXPECT_LT(std::abs(p.differential_mean_us), 1.0);
}

TEST(Redundancy, SsrcPairingNeedsASecondPathAndTheSameSsrc) {
  {  // another SSRC: two streams, no pair
    StreamTracker t;
    Leg a, b;
    b.dst = kGroupB;
    b.ssrc = 0x55667788;
    send(t, a, b, 100);
    EXPECT_TRUE(t.snapshot().redundancy.empty());
  }
  {  // the same destination on two interfaces: a pair
    StreamTracker t;
    Leg a, b;
    b.iface = 1;
    send(t, a, b, 100);
    EXPECT_EQ(t.snapshot().redundancy.size(), 1u);
  }
  {  // the same group, another port: a pair
    StreamTracker t;
    Leg a, b;
    b.port = 5006;
    send(t, a, b, 100);
    EXPECT_EQ(t.snapshot().redundancy.size(), 1u);
  }
}

TEST(Redundancy, SameSsrcWhoseSequencesNeverMeetIsDissolved) {
  StreamTracker t;
  Leg a, b;
  b.dst = kGroupB;
  // Path 1 numbers 20000 apart from path 0's: the same SSRC, not the same packets.
  std::vector<std::tuple<std::int64_t, int, int>> events;
  for (int i = 0; i < 5000; ++i) {
    events.emplace_back(kT0 + i * kPtimeNs, 0, i);
    events.emplace_back(kT0 + i * kPtimeNs + 1000, 1, i + 20000);
  }
  for (const auto& [at, leg, seq] : events) {
    const Bytes f = frame(leg ? b : a, static_cast<std::uint16_t>(seq));
    t.add(view(f, at), kDltEn10mb);
  }
  const TrackerSnapshot s = t.snapshot();
  EXPECT_GE(s.redundancy_totals.pairs_dissolved, 1u);
  for (const auto& p : s.redundancy) EXPECT_EQ(p.differential_count, 0u);
}

TEST(Redundancy, ASequenceJumpPastTheWindowIsNotLoss) {
  StreamTracker t;
  Leg a, b;
  b.dst = kGroupB;
  b.delay_ns = 100'000;
  send(t, a, b, 500);
  send(t, a, b, 500, 30000);  // both legs jump 29500 ahead (a restart, or spoofing)
  const TrackerSnapshot snap = t.snapshot();
  const RedundantPair& p = only_pair(snap);
  EXPECT_GE(p.resyncs, 1u);
  EXPECT_EQ(p.merged_lost, 0u);
  EXPECT_EQ(p.path[0].lost, 0u);
  EXPECT_EQ(p.path[1].lost, 0u);
  EXPECT_LT(p.expected, 1000u);
}

constexpr const char* kDupSdp =
    "v=0\r\n"
    "o=- 1 1 IN IP4 198.18.0.1\r\n"
    "s=Stage box 2022-7\r\n"
    "t=0 0\r\n"
    "a=group:DUP primary secondary\r\n"
    "m=audio 5004 RTP/AVP 97\r\n"
    "c=IN IP4 239.69.1.1/32\r\n"
    "a=rtpmap:97 L24/48000/2\r\n"
    "a=ptime:0.125\r\n"
    "a=mid:primary\r\n"
    "m=audio 5004 RTP/AVP 97\r\n"
    "c=IN IP4 239.69.2.1/32\r\n"
    "a=rtpmap:97 L24/48000/2\r\n"
    "a=ptime:0.125\r\n"
    "a=mid:secondary\r\n";

TEST(RedundancySdp, GroupDupNamesTheTwoLegs) {
  const auto f = parse_sdp(kDupSdp, "file dup.sdp");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].mid, "primary");
  EXPECT_EQ(f[1].mid, "secondary");
  EXPECT_EQ(f[0].dup_group, 0);
  EXPECT_EQ(f[1].dup_group, 0);
  EXPECT_EQ(f[0].dup_leg, 0);
  EXPECT_EQ(f[1].dup_leg, 1);
}

TEST(RedundancySdp, AbsurdGroupsAreNotUsed) {
  const std::string body =
      "m=audio 5004 RTP/AVP 97\r\nc=IN IP4 239.69.1.1\r\na=mid:a\r\n"
      "m=audio 5004 RTP/AVP 97\r\nc=IN IP4 239.69.2.1\r\na=mid:b\r\n";
  const std::string long_mid(kMaxMidBytes + 1, 'x');
  const char* groups[] = {
      "a=group:DUP a b c\r\n",  // three legs: not ST 2022-7
      "a=group:DUP a\r\n",      // one
      "a=group:DUP a a\r\n",    // the same twice
      "a=group:DUP a zz\r\n",   // a mid no m= line has
      "a=group:FID a b\r\n",    // other semantics
      "a=group:DUP\r\n",
  };
  for (const char* g : groups) {
    const auto f = parse_sdp(std::string("v=0\r\n") + g + body, "t");
    ASSERT_EQ(f.size(), 2u) << g;
    EXPECT_EQ(f[0].dup_group, -1) << g;
    EXPECT_EQ(f[1].dup_leg, -1) << g;
  }
  const auto f = parse_sdp(
      "v=0\r\na=group:DUP " + long_mid + " b\r\nm=audio 1 RTP/AVP 97\r\na=mid:" + long_mid + "\r\n",
      "t");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].mid.empty());
  EXPECT_EQ(f[0].dup_group, -1);
  // Many groups: at most kMaxDupGroups are read; a mid in two groups belongs to the first.
  std::string many = "v=0\r\n";
  for (int i = 0; i < 100; ++i) many += "a=group:DUP a b\r\n";
  const auto g = parse_sdp(many + body, "t");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].dup_group, 0);
  EXPECT_EQ(g[1].dup_group, 0);
}

TEST(Redundancy, SdpGroupPairsLegsWithDifferentSsrcs) {
  StreamTrackerConfig c;
  c.sdp = parse_sdp(kDupSdp, "file dup.sdp");
  StreamTracker t(c);
  Leg a, b;
  b.dst = kGroupB;
  b.ssrc = 0x99887766;  // a sender may number its copies' SSRCs apart
  b.delay_ns = 1'000'000;
  a.drop = {100};
  b.drop = {100, 101};
  send(t, a, b, 800);
  const TrackerSnapshot snap = t.snapshot();
  const RedundantPair& p = only_pair(snap);
  EXPECT_EQ(p.paired_by, PairedBy::kSdpGroup);
  EXPECT_EQ(p.group, "DUP primary secondary");
  EXPECT_EQ(p.merged_lost, 1u);
  EXPECT_EQ(p.path[0].lost, 1u);
  EXPECT_EQ(p.path[1].lost, 2u);
  EXPECT_NEAR(p.differential_mean_us, 1000.0, 1e-6);
}

// Two sessions whose SDPs name their mids alike: each pair is named by its primary stream, in
// the table, the JSON and the metrics' pair label.
TEST(Redundancy, EachPairIsNamedByItsPrimaryStream) {
  StreamTrackerConfig c;
  c.sdp = parse_sdp(kDupSdp, "file dup.sdp");
  std::string other = kDupSdp;
  other.replace(other.find("Stage box"), 9, "Desk");
  other.replace(other.find("239.69.1.1"), 10, "239.69.3.1");
  other.replace(other.find("239.69.2.1"), 10, "239.69.4.1");
  for (SdpFormat& f : parse_sdp(other, "file desk.sdp")) c.sdp.push_back(f);
  StreamTracker t(c);
  Leg a, b, x, y;
  b.dst = kGroupB;
  x.dst = 0xEF450301;  // 239.69.3.1
  y.dst = 0xEF450401;
  x.ssrc = y.ssrc = 0x55667788;
  send(t, a, b, 300);
  send(t, x, y, 300, 300);
  const TrackerSnapshot s = t.snapshot();
  ASSERT_EQ(s.redundancy.size(), 2u);
  std::set<std::string> names;
  for (const RedundantPair& p : s.redundancy) {
    EXPECT_EQ(p.group, "DUP primary secondary");
    names.insert(p.name);
  }
  const std::set<std::string> want = {"'Stage box 2022-7' 239.69.1.1:5004 ssrc 0x11223344",
                                      "'Desk 2022-7' 239.69.3.1:5004 ssrc 0x55667788"};
  EXPECT_EQ(names, want);
  EXPECT_NE(format_stream_table(s).find("'Desk 2022-7' 239.69.3.1:5004 ssrc 0x55667788 (DUP "
                                        "primary secondary, paired by sdp_group)"),
            std::string::npos)
      << format_stream_table(s);
  const std::string text = render_metrics(CaptureStats{}, &s, nullptr);
  for (const std::string& n : want)
    EXPECT_NE(text.find("rtcap_st2022_7_merged_lost_packets{pair=\"" + n + "\""), std::string::npos)
        << n << "\n"
        << text;
}

TEST(Redundancy, SdpGroupOrderDecidesThePathsEvenWhenTheSecondArrivesFirst) {
  StreamTrackerConfig c;
  c.sdp = parse_sdp(kDupSdp, "file dup.sdp");
  StreamTracker t(c);
  Leg a, b;
  b.dst = kGroupB;
  a.delay_ns = 700'000;  // the primary's copies arrive 700 us after the secondary's
  send(t, a, b, 300);
  const TrackerSnapshot s = t.snapshot();
  const RedundantPair& p = only_pair(s);
  const auto primary = std::find_if(s.streams.begin(), s.streams.end(),
                                    [&](const auto& st) { return st.id == p.path[0].stream_id; });
  ASSERT_NE(primary, s.streams.end());
  EXPECT_EQ(primary->dst.to_string(), "239.69.1.1");
  EXPECT_NEAR(p.differential_mean_us, -700.0, 1e-6);
}

TEST(Redundancy, SkewClassesAndTheirBounds) {
  EXPECT_EQ(skew_class_of(0), SkewClass::kUltraLowSkew);
  EXPECT_EQ(skew_class_of(kUltraLowSkewMaxUs), SkewClass::kUltraLowSkew);
  EXPECT_EQ(skew_class_of(kUltraLowSkewMaxUs + 1), SkewClass::kLowSkew);
  EXPECT_EQ(skew_class_of(kLowSkewMaxUs), SkewClass::kLowSkew);
  EXPECT_EQ(skew_class_of(kLowSkewMaxUs + 1), SkewClass::kModerateSkew);
  EXPECT_EQ(skew_class_of(kHighSkewMaxUs + 1), SkewClass::kBeyond);
  EXPECT_STREQ(to_string(SkewClass::kModerateSkew), "moderate_skew");
  EXPECT_STREQ(to_string(SkewClass::kUltraLowSkew), "ultra_low_skew");
  EXPECT_STREQ(to_string(PairedBy::kSdpGroup), "sdp_group");
}

TEST(Redundancy, StreamsWithoutRedundancyKeepEveryFigure) {
  // One path only: no pair, and the stream's own figures are what they always were.
  StreamTracker t;
  Leg a, none;
  none.ssrc = 0;  // never sent: every number dropped
  for (int i = 0; i < 100; ++i) none.drop.insert(i);
  a.drop = {5};
  send(t, a, none, 100);
  const TrackerSnapshot s = t.snapshot();
  EXPECT_TRUE(s.redundancy.empty());
  ASSERT_EQ(s.streams.size(), 1u);
  EXPECT_EQ(s.streams[0].lost, 1u);
}

}  // namespace
}  // namespace rtcap
