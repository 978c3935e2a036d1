// The per-domain PTP analysis through the stream tracker: grandmaster and its changes, masters,
// measured intervals, one- and two-step Sync, the capture-clock offset estimate, hostile
// messages, and the SDP reference clock (RFC 7273) against the wire.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include <fmt/format.h>

#include "analysis/ptp_report.hpp"
#include "ptp_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap {
namespace {

constexpr std::int64_t kS = 1'000'000'000;
// Capture time of the first message: 2026-01-01 (CLOCK_REALTIME, UTC).
constexpr std::int64_t kT0 = 1'767'225'600LL * kS;
const std::uint8_t kGmA[8] = {0x39, 0xA7, 0x94, 0xFF, 0xFE, 0x07, 0xCB, 0xD0};
const std::uint8_t kGmB[8] = {0x00, 0x1D, 0xC1, 0xFF, 0xFE, 0x12, 0x34, 0x56};

Ptp announce(const std::uint8_t gm[8], std::uint16_t seq, std::uint8_t domain = 0) {
  Ptp a;
  a.type = 0xB;
  a.domain = domain;
  a.seq = seq;
  a.log_interval = 1;
  a.flags = 0x0004 | 0x0008;  // currentUtcOffsetValid, ptpTimescale
  std::copy(gm, gm + 8, a.gm);
  std::copy(gm, gm + 8, a.clock);
  return a;
}

// PTP time (TAI) of a capture time (UTC) when the capture clock runs `offset_ns` ahead.
void set_ptp_time(Ptp& m, std::int64_t capture_ns, std::int64_t offset_ns) {
  const std::int64_t tai = capture_ns - offset_ns + 37 * kS;
  m.ts_s = static_cast<std::uint64_t>(tai / kS);
  m.ts_ns = static_cast<std::uint32_t>(tai % kS);
}

TEST(PtpAnalysis, TwoStepGrandmasterOverUdp) {
  StreamTracker t;
  // 10 s: Announce every 2 s (log 1), Sync + Follow_Up every 125 ms (log -3); capture clock
  // 250 us ahead of PTP time, +-20 us of alternating jitter on the Sync arrivals.
  const std::int64_t offset = 250'000;
  std::uint16_t seq = 0;
  for (std::int64_t ts = kT0; ts < kT0 + 10 * kS; ts += kS / 8, ++seq) {
    if (seq % 16 == 0) {
      Ptp a = announce(kGmA, seq / 16);
      t.add(view(ptp_udp4(ptp(a)), ts), kDltEn10mb);
    }
    const std::int64_t jitter = (seq % 2 ? 20'000 : -20'000);
    const std::int64_t arrival = ts + jitter;
    Ptp s;
    s.type = 0;
    s.flags = 0x0200;
    s.seq = seq;
    s.log_interval = -3;
    std::copy(kGmA, kGmA + 8, s.clock);
    t.add(view(ptp_udp4(ptp(s)), arrival), kDltEn10mb);
    Ptp f = s;
    f.type = 8;
    f.flags = 0;
    set_ptp_time(f, arrival, offset);
    t.add(view(ptp_udp4(ptp(f)), arrival + 50'000), kDltEn10mb);
  }
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_EQ(snap.ptp.domains.size(), 1u);
  const PtpDomainSummary& d = snap.ptp.domains[0];
  EXPECT_EQ(d.domain, 0);
  ASSERT_TRUE(d.has_grandmaster);
  EXPECT_EQ(ptp_clock_identity_text(d.grandmaster.identity), "39-A7-94-FF-FE-07-CB-D0");
  EXPECT_EQ(d.grandmaster.current_utc_offset, 37);
  EXPECT_TRUE(d.grandmaster.current_utc_offset_valid);
  EXPECT_EQ(d.grandmaster_changes, 0u);
  ASSERT_EQ(d.masters.size(), 1u);
  const PtpMasterSummary& m = d.masters[0];
  EXPECT_EQ(m.address.to_string(), "198.18.0.1");
  EXPECT_TRUE(m.over_udp);
  EXPECT_EQ(m.syncs, 80u);
  EXPECT_EQ(m.follow_ups_matched, 80u);
  EXPECT_EQ(m.follow_ups_missing, 0u);
  EXPECT_TRUE(m.two_step);
  EXPECT_FALSE(m.one_step);
  EXPECT_EQ(m.announces, 5u);
  EXPECT_EQ(m.announce.log_interval, 1);
  EXPECT_DOUBLE_EQ(m.announce.expected_s, 2.0);
  EXPECT_NEAR(m.announce.mean_s, 2.0, 1e-6);
  EXPECT_EQ(m.sync.log_interval, -3);
  EXPECT_DOUBLE_EQ(m.sync.expected_s, 0.125);
  EXPECT_NEAR(m.sync.mean_s, 0.125, 1e-6);
  EXPECT_NEAR(m.sync.rate_hz, 8.0, 1e-3);
  // Intervals alternate 125.04 and 124.96 ms: jitter (stddev) ~40 us, min/max exact.
  EXPECT_NEAR(m.sync.min_s, 0.12496, 1e-9);
  EXPECT_NEAR(m.sync.max_s, 0.12504, 1e-9);
  EXPECT_NEAR(m.sync.stddev_s, 40e-6, 1e-6);
  // The Follow_Up's origin time is the Sync's arrival minus the offset: exact here.
  ASSERT_EQ(m.offset.samples, 80u);
  EXPECT_TRUE(m.offset.utc_offset_applied);
  EXPECT_NEAR(m.offset.mean_ns, 250'000, 1);
  EXPECT_NEAR(m.offset.stddev_ns, 0, 1);
  EXPECT_EQ(snap.ptp.totals.messages, 5u + 160u);
  EXPECT_EQ(snap.ptp.totals.wrong_port, 0u);
  // The text and JSON carry it.
  const std::string table = format_stream_table(snap);
  EXPECT_NE(table.find("grandmaster 39-A7-94-FF-FE-07-CB-D0"), std::string::npos) << table;
  EXPECT_NE(table.find("Sync interval log -3"), std::string::npos) << table;
  EXPECT_NE(to_json(snap).find("\"identity\": \"39-A7-94-FF-FE-07-CB-D0\""), std::string::npos);
  // The status line's part: the same grandmaster and offset, short.
  EXPECT_EQ(analysis::format_ptp_status(snap.ptp),
            " | ptp d0 gm ..07-CB-D0 off +250.0 us +-0.0 us");
}

TEST(PtpAnalysis, OneStepOverEthernetBehindVlanWithJitteredOffset) {
  StreamTracker t;
  // Offset -3 ms, the Sync arrivals jittered by a known +-10 us pattern: the estimate's mean is
  // within its spread of the truth.
  const std::int64_t offset = -3'000'000;
  Ptp a = announce(kGmB, 0, 127);
  t.add(view(ptp_l2(ptp(a), {0x8100}), kT0), kDltEn10mb);
  for (int i = 0; i < 64; ++i) {
    const std::int64_t ts = kT0 + i * kS / 4;
    const std::int64_t jitter = ((i * 7) % 5 - 2) * 5'000;  // -10..+10 us
    Ptp s;
    s.type = 0;
    s.domain = 127;
    s.seq = static_cast<std::uint16_t>(i);
    s.log_interval = -2;
    std::copy(kGmB, kGmB + 8, s.clock);
    set_ptp_time(s, ts, offset);
    t.add(view(ptp_l2(ptp(s), {0x8100}), ts + jitter), kDltEn10mb);
  }
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_EQ(snap.ptp.domains.size(), 1u);
  const PtpDomainSummary& d = snap.ptp.domains[0];
  EXPECT_EQ(d.domain, 127);
  ASSERT_EQ(d.masters.size(), 1u);
  const PtpMasterSummary& m = d.masters[0];
  EXPECT_TRUE(m.over_ethernet);
  EXPECT_FALSE(m.over_udp);
  EXPECT_TRUE(m.one_step);
  EXPECT_FALSE(m.two_step);
  EXPECT_EQ(m.syncs, 64u);
  EXPECT_NEAR(m.sync.mean_s, 0.25, 1e-4);
  ASSERT_EQ(m.offset.samples, 64u);
  EXPECT_NEAR(m.offset.mean_ns, -3'000'000, 10'000);
  EXPECT_GT(m.offset.stddev_ns, 1'000);
  EXPECT_LT(m.offset.stddev_ns, 15'000);
  EXPECT_NEAR(m.offset.min_ns, -3'010'000, 1);
  EXPECT_NEAR(m.offset.max_ns, -2'990'000, 1);
  EXPECT_EQ(snap.ptp.totals.over_ethernet, 65u);
  // The frames still count as "other" for the tracker: earlier figures unchanged.
  EXPECT_EQ(snap.totals.other, 65u);
  EXPECT_EQ(snap.totals.udp, 0u);
}

TEST(PtpAnalysis, OffsetOverTimeInFixedBucketsWithMinAndMax) {
  StreamTracker t;
  // 1000 s of one-step Syncs, one a second: the offset steps from +1 ms to -2 ms at 600 s, and
  // every eighth sample is 50 us higher. The history stays within 64 buckets (widths doubling
  // from 1 s to 16 s), every sample counted once, each bucket's least and largest exact.
  t.add(view(ptp_l2(ptp(announce(kGmB, 0))), kT0), kDltEn10mb);
  const int n = 1000;
  for (int i = 0; i < n; ++i) {
    const std::int64_t ts = kT0 + 1'000'000 + i * kS;
    const std::int64_t offset = (i < 600 ? 1'000'000 : -2'000'000) + (i % 8 == 0 ? 50'000 : 0);
    Ptp s;
    s.type = 0;
    s.seq = static_cast<std::uint16_t>(i);
    std::copy(kGmB, kGmB + 8, s.clock);
    set_ptp_time(s, ts, offset);
    t.add(view(ptp_l2(ptp(s)), ts), kDltEn10mb);
  }
  const TrackerSnapshot snap = t.snapshot();
  const PtpMasterSummary* m = grandmaster_master(snap.ptp, 0);
  ASSERT_NE(m, nullptr);
  const std::vector<PtpOffsetBucket>& h = m->offset_history;
  ASSERT_FALSE(h.empty());
  EXPECT_LE(h.size(), 64u);
  EXPECT_EQ(h.front().end_ns - h.front().start_ns, 16 * kS);
  std::uint64_t samples = 0;
  for (const PtpOffsetBucket& b : h) {
    samples += b.samples;
    const bool before = b.end_ns <= kT0 + 600 * kS;
    const bool after = b.start_ns > kT0 + 600 * kS;
    if (before) {
      EXPECT_NEAR(b.min_ns, 1'000'000, 1) << b.start_ns;
      EXPECT_NEAR(b.max_ns, 1'050'000, 1) << b.start_ns;
    } else if (after) {
      EXPECT_NEAR(b.min_ns, -2'000'000, 1) << b.start_ns;
      EXPECT_NEAR(b.max_ns, -1'950'000, 1) << b.start_ns;
    } else {  // the bucket with the step holds both
      EXPECT_NEAR(b.min_ns, -2'000'000, 1);
      EXPECT_NEAR(b.max_ns, 1'050'000, 1);
    }
  }
  EXPECT_EQ(samples, std::uint64_t(n));
  EXPECT_EQ(samples, m->offset.samples);
}

TEST(PtpAnalysis, GrandmasterChangeIsRecordedWithItsTime) {
  StreamTracker t;
  for (int i = 0; i < 3; ++i)
    t.add(view(ptp_udp4(ptp(announce(kGmA, static_cast<std::uint16_t>(i))), 0xC6120001),
               kT0 + i * kS),
          kDltEn10mb);
  for (int i = 3; i < 6; ++i)
    t.add(view(ptp_udp4(ptp(announce(kGmB, static_cast<std::uint16_t>(i))), 0xC6120002),
               kT0 + i * kS),
          kDltEn10mb);
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_EQ(snap.ptp.domains.size(), 1u);
  const PtpDomainSummary& d = snap.ptp.domains[0];
  EXPECT_EQ(d.grandmaster_changes, 1u);
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].ts_ns, kT0 + 3 * kS);
  EXPECT_EQ(ptp_clock_identity_text(d.changes[0].from), "39-A7-94-FF-FE-07-CB-D0");
  EXPECT_EQ(ptp_clock_identity_text(d.changes[0].to), "00-1D-C1-FF-FE-12-34-56");
  EXPECT_EQ(d.grandmaster_since_ns, kT0 + 3 * kS);
  EXPECT_EQ(d.masters.size(), 2u);
  EXPECT_NE(format_stream_table(snap).find("grandmaster change at"), std::string::npos);
  // The status line marks it: the latest message (5 s) is 2 s after the change.
  EXPECT_EQ(analysis::format_ptp_status(snap.ptp), " | ptp d0 gm ..12-34-56 GM CHANGED 2 s ago");
}

TEST(PtpAnalysis, HostileMessagesAreCountedAndTheCanaryStreamIsUntouched) {
  StreamTrackerConfig config;
  StreamTracker with_ptp(config), without(config);
  std::int64_t ts = kT0;
  std::uint16_t rtp_seq = 0;
  const auto canary = [&](StreamTracker& t) {
    Rtp r;
    r.seq = rtp_seq;
    r.ts = rtp_seq * 6u;
    t.add(view(rtp_frame(r), ts), kDltEn10mb);
  };
  const auto hostile = [&](const Bytes& frame) {
    canary(with_ptp);
    canary(without);
    ++rtp_seq;
    ts += 125'000;
    with_ptp.add(view(frame, ts), kDltEn10mb);
  };
  Ptp a = announce(kGmA, 0);
  const Bytes good = ptp(a);
  hostile(ptp_udp4(Bytes(good.begin(), good.begin() + 20)));  // truncated header
  Ptp over = a;
  over.length_override = 9000;  // oversized claim
  hostile(ptp_udp4(ptp(over)));
  Ptp short_len = a;
  short_len.length_override = 40;
  hostile(ptp_udp4(ptp(short_len)));
  Ptp v1 = a;
  v1.version = 1;
  hostile(ptp_l2(ptp(v1)));
  Ptp reserved;
  reserved.type = 0x6;
  hostile(ptp_udp4(ptp(reserved)));
  // Contradictory: a Follow_Up with no Sync, a Sync sent to the general port, a bad timestamp,
  // and a two-step Sync whose Follow_Up never comes.
  Ptp fu;
  fu.type = 8;
  fu.seq = 99;
  hostile(ptp_udp4(ptp(fu)));
  Ptp sync;
  sync.type = 0;
  sync.ts_ns = 2'000'000'000;
  Bytes on_general = ptp_udp4(ptp(sync));
  on_general[14 + 20 + 2] = 0x01;  // destination port 319 -> 320 (0x0140)
  on_general[14 + 20 + 3] = 0x40;
  hostile(on_general);
  Ptp two = sync;
  two.flags = 0x0200;
  two.seq = 1;
  hostile(ptp_udp4(ptp(two)));
  two.seq = 2;
  hostile(ptp_udp4(ptp(two)));
  // 300 domains: beyond the table, counted.
  for (int dom = 0; dom < 300; ++dom) {
    Ptp x = announce(kGmB, 0, static_cast<std::uint8_t>(dom));
    hostile(ptp_udp4(ptp(x)));
  }
  const TrackerSnapshot snap = with_ptp.snapshot();
  const PtpTotals& p = snap.ptp.totals;
  EXPECT_EQ(p.truncated, 2u);
  EXPECT_EQ(p.bad_length, 1u);
  EXPECT_EQ(p.bad_version, 1u);
  EXPECT_EQ(p.unknown_type, 1u);
  EXPECT_EQ(p.orphan_follow_ups, 1u);
  EXPECT_EQ(p.wrong_port, 1u);
  EXPECT_EQ(p.bad_timestamp, 1u);
  EXPECT_GT(p.domains_overflow, 0u);
  EXPECT_LE(snap.ptp.domains.size(), 8u);
  std::uint64_t missing = 0;
  for (const auto& d : snap.ptp.domains)
    for (const auto& m : d.masters) missing += m.follow_ups_missing;
  EXPECT_EQ(missing, 1u);  // the Sync seq 1, superseded by seq 2
  // The RTP stream's figures are the same as in a tracker that saw no PTP at all.
  const TrackerSnapshot ref = without.snapshot();
  const StreamSummary* a_rtp = nullptr;
  for (const auto& s : snap.streams)
    if (s.is_rtp) a_rtp = &s;
  ASSERT_NE(a_rtp, nullptr);
  ASSERT_EQ(ref.streams.size(), 1u);
  EXPECT_EQ(a_rtp->packets, ref.streams[0].packets);
  EXPECT_EQ(a_rtp->lost, 0u);
  EXPECT_EQ(a_rtp->expected, ref.streams[0].expected);
  EXPECT_DOUBLE_EQ(a_rtp->jitter, ref.streams[0].jitter);
  EXPECT_NE(format_stream_table(snap).find("refused"), std::string::npos);
}

TEST(PtpAnalysis, SdpRefclkParsed) {
  const auto refclk = [](const std::string& line) {
    const std::string sdp =
        "v=0\r\ns=x\r\nc=IN IP4 239.69.1.1/32\r\nm=audio 5004 RTP/AVP 97\r\n" + line + "\r\n";
    return parse_sdp(sdp, "test").at(0);
  };
  SdpFormat f = refclk("a=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:127");
  EXPECT_TRUE(f.has_ptp_refclk);
  EXPECT_EQ(ptp_clock_identity_text(f.ptp_grandmaster), "39-A7-94-FF-FE-07-CB-D0");
  EXPECT_EQ(f.ptp_domain, 127);
  f = refclk("a=ts-refclk:ptp=IEEE1588-2008:39-a7-94-ff-fe-07-cb-d0");  // domain left out: 0
  EXPECT_TRUE(f.has_ptp_refclk);
  EXPECT_EQ(f.ptp_domain, 0);
  f = refclk("a=ts-refclk:ptp=IEEE1588-2008:traceable");
  EXPECT_TRUE(f.has_ptp_refclk);
  EXPECT_TRUE(f.ptp_traceable);
  for (const char* bad : {"a=ts-refclk:ntp=203.0.113.10", "a=ts-refclk:ptp=IEEE1588-2008:39-A7",
                          "a=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:256",
                          "a=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-DX:0",
                          "a=ts-refclk:ptp=IEEE1588-2008:39:A7:94:FF:FE:07:CB:D0:0",
                          "a=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:x"})
    EXPECT_FALSE(refclk(bad).has_ptp_refclk) << bad;
}

TEST(PtpAnalysis, StreamsAgainstTheirSdpReferenceClock) {
  // Three streams: SDP names GM A domain 0 (on the wire: match), GM B domain 0 (another
  // grandmaster), GM A domain 5 (no PTP there); a fourth names none.
  const auto sdp = [](int port, const char* refclk) {
    return parse_sdp(fmt::format("v=0\r\ns=s{}\r\nc=IN IP4 198.19.0.2/32\r\nm=audio {} RTP/AVP "
                                 "97\r\na=rtpmap:97 L24/48000/2\r\n{}\r\n",
                                 port, port, refclk),
                     "test")
        .at(0);
  };
  StreamTrackerConfig config;
  config.sdp = {sdp(5004, "a=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:0"),
                sdp(5006, "a=ts-refclk:ptp=IEEE1588-2008:00-1D-C1-FF-FE-12-34-56:0"),
                sdp(5008, "a=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:5"),
                sdp(5010, "a=sendrecv")};
  StreamTracker t(config);
  t.add(view(ptp_udp4(ptp(announce(kGmA, 0)))), kDltEn10mb);
  for (std::uint16_t port : {5004, 5006, 5008, 5010})
    for (std::uint16_t i = 0; i < 4; ++i) {
      Rtp r;
      r.seq = i;
      r.ssrc = port;
      t.add(view(rtp_frame(r, 5004, port), kT0 + i * 125'000), kDltEn10mb);
    }
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_EQ(snap.streams.size(), 5u);  // the Announce's UDP flow and four RTP streams
  std::map<int, PtpMatch> by_port;
  for (const auto& s : snap.streams)
    if (s.is_rtp) by_port[s.dst_port] = s.ptp_match;
  EXPECT_EQ(by_port[5004], PtpMatch::kMatch);
  EXPECT_EQ(by_port[5006], PtpMatch::kOtherGrandmaster);
  EXPECT_EQ(by_port[5008], PtpMatch::kNoPtpSeen);
  EXPECT_EQ(by_port[5010], PtpMatch::kNoReference);
  const std::string table = format_stream_table(snap);
  EXPECT_NE(table.find("! PTP: SDP names 00-1D-C1-FF-FE-12-34-56 domain 0, the wire's grandmaster "
                       "in that domain is 39-A7-94-FF-FE-07-CB-D0"),
            std::string::npos)
      << table;
  EXPECT_NE(to_json(snap).find("\"match\": \"other_grandmaster\""), std::string::npos);
}

}  // namespace
}  // namespace rtcap

namespace rtcap {
namespace {

TEST(PtpAnalysis, RtpOffsetFromThePtpMediaClockOnAnOrdinaryCaptureClock) {
  // The capture clock runs 250 us ahead of PTP time; a sender stamps its packets from the PTP
  // media clock (a=mediaclk:direct=1000) and they arrive 1 ms after their media time. The
  // capture-clock view (delta_rtp_us) says 1.25 ms - 37 s; taken to PTP time it says 1 ms.
  const std::int64_t offset = 250'000;
  const std::int64_t latency = 1'000'000;
  StreamTrackerConfig config;
  config.sdp = parse_sdp(
      "v=0\r\ns=m\r\nc=IN IP4 198.19.0.2/32\r\nm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 "
      "L24/48000/2\r\na=ptime:1\r\na=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:0\r\n"
      "a=mediaclk:direct=1000\r\n",
      "test");
  StreamTracker t(config);
  t.add(view(ptp_udp4(ptp(announce(kGmA, 0))), kT0), kDltEn10mb);
  std::uint16_t sync_seq = 0;
  for (std::int64_t ms = 0; ms < 2000; ++ms) {
    const std::int64_t utc = kT0 + ms * 1'000'000;  // PTP time as UTC
    if (ms % 125 == 0) {
      Ptp s;
      s.type = 0;
      s.flags = 0x0200;
      s.seq = sync_seq;
      std::copy(kGmA, kGmA + 8, s.clock);
      const std::int64_t arrival = utc + offset;
      t.add(view(ptp_udp4(ptp(s)), arrival), kDltEn10mb);
      Ptp f = s;
      f.type = 8;
      f.flags = 0;
      set_ptp_time(f, arrival, offset);
      t.add(view(ptp_udp4(ptp(f)), arrival + 30'000), kDltEn10mb);
      ++sync_seq;
    }
    // RTP timestamp = PTP time (TAI) x 48 kHz + 1000, modulo 2^32.
    const std::uint64_t tai_s = static_cast<std::uint64_t>(utc / kS) + 37;
    const std::uint64_t sub = static_cast<std::uint64_t>(utc % kS) * 48000 / kS;
    Rtp r;
    r.seq = static_cast<std::uint16_t>(ms);
    r.ts = static_cast<std::uint32_t>(tai_s * 48000 + sub + 1000);
    r.payload = 288;
    t.add(view(rtp_frame(r), utc + offset + latency), kDltEn10mb);
  }
  const TrackerSnapshot snap = t.snapshot();
  const StreamSummary* s = nullptr;
  for (const auto& st : snap.streams)
    if (st.is_rtp) s = &st;
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->ptp_match, PtpMatch::kMatch);
  ASSERT_TRUE(s->timing.has_delta_rtp);
  // The capture clock is UTC, the media clock TAI: 37 s apart besides the 1.25 ms.
  EXPECT_NEAR(s->timing.delta_rtp_mean_us, 1250 - 37e6, 25);
  ASSERT_TRUE(s->has_ptp_rtp_offset);
  EXPECT_NEAR(s->ptp_rtp_offset_us, 1000, 25);
  EXPECT_LT(s->ptp_rtp_offset_uncertainty_us, 1);
  EXPECT_NE(format_stream_table(snap).find("after their RTP timestamp's PTP media time"),
            std::string::npos);
}

// IEEE 1588-2008 11.3 with the capture point as the slave: Delay_Req/Delay_Resp pairs give the
// path delay inside the offset estimate, and the stream's media-clock offset loses it.
TEST(PtpAnalysis, PathDelayFromDelayRequestsIsTakenOffTheOffset) {
  const std::int64_t offset = 250'000;  // capture clock ahead of PTP time
  const std::int64_t delay = 40'000;    // master <-> capture point, each way
  const std::int64_t latency = 1'000'000;
  StreamTrackerConfig config;
  config.sdp = parse_sdp(
      "v=0\r\ns=m\r\nc=IN IP4 198.19.0.2/32\r\nm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 "
      "L24/48000/2\r\na=ptime:1\r\na=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:0\r\n"
      "a=mediaclk:direct=1000\r\n",
      "test");
  StreamTracker t(config);
  t.add(view(ptp_udp4(ptp(announce(kGmA, 0))), kT0), kDltEn10mb);
  const std::uint8_t slave[8] = {0x02, 0x00, 0x00, 0xFF, 0xFE, 0x00, 0x00, 0x99};
  std::uint16_t seq = 0;
  for (std::int64_t ms = 0; ms < 2000; ++ms) {
    const std::int64_t utc = kT0 + ms * 1'000'000;
    if (ms % 125 == 0) {
      Ptp s;  // one-step: sent at PTP time utc, seen delay later on a clock offset ahead
      s.type = 0;
      s.seq = seq;
      std::copy(kGmA, kGmA + 8, s.clock);
      const std::int64_t arrival = utc + offset + delay;
      set_ptp_time(s, arrival, offset + delay);
      t.add(view(ptp_udp4(ptp(s)), arrival), kDltEn10mb);
      Ptp req;  // the slave's request passes the capture point 10 ms later...
      req.type = 1;
      req.seq = seq;
      std::copy(slave, slave + 8, req.clock);
      const std::int64_t c3 = arrival + 10'000'000;
      t.add(view(ptp_udp4(ptp(req), 0xC6120002), c3), kDltEn10mb);
      Ptp resp;  // ...and reaches the master `delay` later, in PTP time
      resp.type = 9;
      resp.seq = seq;
      std::copy(kGmA, kGmA + 8, resp.clock);
      std::copy(slave, slave + 8, resp.requesting);
      resp.requesting[8] = 0;
      resp.requesting[9] = 1;
      set_ptp_time(resp, c3, offset - delay);
      t.add(view(ptp_udp4(ptp(resp)), c3 + 200'000), kDltEn10mb);
      Ptp stray = resp;  // answers a request nobody sent: no sample
      stray.seq = static_cast<std::uint16_t>(seq + 5000);
      t.add(view(ptp_udp4(ptp(stray)), c3 + 300'000), kDltEn10mb);
      ++seq;
    }
    const std::uint64_t tai_s = static_cast<std::uint64_t>(utc / kS) + 37;
    const std::uint64_t sub = static_cast<std::uint64_t>(utc % kS) * 48000 / kS;
    Rtp r;
    r.seq = static_cast<std::uint16_t>(ms);
    r.ts = static_cast<std::uint32_t>(tai_s * 48000 + sub + 1000);
    r.payload = 288;
    t.add(view(rtp_frame(r), utc + offset + latency), kDltEn10mb);
  }
  const TrackerSnapshot snap = t.snapshot();
  const PtpMasterSummary* gm = grandmaster_master(snap.ptp, 0);
  ASSERT_NE(gm, nullptr);
  EXPECT_EQ(gm->delay_resps, 32u);
  EXPECT_EQ(gm->path_delay.samples, 16u);
  EXPECT_NEAR(gm->path_delay.mean_ns, delay, 1);
  EXPECT_NEAR(gm->offset.mean_ns, offset + delay, 1);
  const StreamSummary* s = nullptr;
  for (const auto& st : snap.streams)
    if (st.is_rtp) s = &st;
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->has_ptp_rtp_offset);
  EXPECT_NEAR(s->ptp_rtp_offset_us, 1000, 5);  // 960 with the path delay left inside
  const std::string table = format_stream_table(snap);
  EXPECT_NE(table.find("path delay master - capture point: 40.0 us"), std::string::npos) << table;
  EXPECT_NE(table.find("with it taken off: 250.0 us"), std::string::npos) << table;
  EXPECT_NE(to_json(snap).find("\"path_delay\""), std::string::npos);
}

}  // namespace
}  // namespace rtcap
