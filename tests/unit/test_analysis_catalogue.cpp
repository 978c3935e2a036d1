// The session catalogue through the stream tracker: SAP/SDP sessions, their match to streams,
// clock changes, what hostile announcements may cost.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "analysis_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/metrics.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap {
namespace {

constexpr std::uint32_t kGroup = 0xEF450101;     // 239.69.1.1
constexpr std::uint32_t kSapGroup = 0xEFFFFFFF;  // 239.255.255.255
constexpr std::uint32_t kSender = 0xC6120001;    // 198.18.0.1

std::string sdp_text(const std::string& name, const std::string& rtpmap, const std::string& ptime,
                     const std::string& group = "239.69.1.1", int port = 5004,
                     const std::string& source = "") {
  std::string s = "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=" + name + "\r\nc=IN IP4 " + group +
                  "/32\r\nt=0 0\r\nm=audio " + std::to_string(port) +
                  " RTP/AVP 97\r\na=rtpmap:97 " + rtpmap + "\r\n";
  if (!ptime.empty()) s += "a=ptime:" + ptime + "\r\n";
  if (!source.empty()) s += "a=source-filter: incl IN IP4 " + group + " " + source + "\r\n";
  return s;
}

Bytes rtp_to(const Rtp& r, std::uint32_t dst = kGroup, std::uint32_t src = kSender) {
  V4 v;
  v.src = src;
  v.dst = dst;
  return ether(0x0800, ipv4(v, udp(5004, 5004, rtp(r))));
}

// n packets: seq from seq0, timestamp step `ticks`, arrival step `gap_ns` from t0_ns.
void send(StreamTracker& t, int n, int seq0, std::uint32_t ticks, std::int64_t t0_ns,
          std::int64_t gap_ns, Rtp proto) {
  for (int i = 0; i < n; ++i) {
    Rtp r = proto;
    r.seq = static_cast<std::uint16_t>(seq0 + i);
    r.ts = static_cast<std::uint32_t>(seq0 + i) * ticks;
    t.add(view(rtp_to(r), t0_ns + i * gap_ns), 1);
  }
}

const StreamSummary* rtp_stream(const TrackerSnapshot& s) {
  for (const auto& x : s.streams)
    if (x.is_rtp) return &x;
  return nullptr;
}

// A 96 kHz stream announced 3 s after it started: the windows measured at the assumed 48 kHz
// must not stay in the results.
TEST(Catalogue, LateSdpRestartsEveryClockDerivedFigure) {
  StreamTracker t;
  Rtp r;
  r.payload = 96 * 2 * 3;  // L24 stereo, 96 samples: 1 ms at 96 kHz
  send(t, 3000, 0, 96, 0, 1'000'000, r);
  TrackerSnapshot before = t.snapshot();
  ASSERT_NE(rtp_stream(before), nullptr);
  EXPECT_EQ(rtp_stream(before)->clock_rate, 48000u);
  EXPECT_GT(rtp_stream(before)->timing.ts_df_us, 50'000);  // 200 ms windows at half the rate
  const std::int64_t announced_ns = 3'000'000'000 - 500'000;
  t.add(view(sap_frame(sap(sdp_text("late", "L24/96000/2", "1"))), announced_ns), 1);
  send(t, 3000, 3000, 96, 3'000'000'000, 1'000'000, r);
  const TrackerSnapshot after = t.snapshot();
  const StreamSummary* s = rtp_stream(after);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->clock_rate, 96000u);
  EXPECT_EQ(s->clock_source, ClockSource::kSdp);
  EXPECT_EQ(s->timing.clock_changes, 1u);
  EXPECT_EQ(s->timing.previous_clock_rate, 48000u);
  EXPECT_EQ(s->timing.since_ns, 3'000'000'000);
  EXPECT_LT(s->timing.ts_df_us, 1.0);
  EXPECT_LT(s->timing.ts_df_last_us, 1.0);
  EXPECT_LT(s->max_jitter_ms, 0.001);
  ASSERT_TRUE(s->timing.has_drift);
  EXPECT_LT(std::abs(s->timing.drift_ppm), 1.0);
  EXPECT_NEAR(s->timing.pit.mean_us, 1000, 0.01);
  EXPECT_EQ(s->timing.pit.count, 3000u);  // the gaps since the change
  EXPECT_EQ(s->timing.verdict, TimingVerdict::kNarrow);
  EXPECT_NE(format_stream_table(after).find("clock changed from 48000 to 96000 Hz"),
            std::string::npos);
  const auto j = nlohmann::json::parse(to_json(after));
  ASSERT_EQ(j["streams"][0]["protocol"], "rtp");
  EXPECT_EQ(j["streams"][0]["timing_since_ns"], 3'000'000'000);
  EXPECT_EQ(j["streams"][0]["clock_changes"], 1);
}

TEST(Catalogue, NoVerdictOnAnAssumedClock) {
  StreamTracker t;
  Rtp r;
  r.payload = 96 * 2 * 3;
  send(t, 2000, 0, 96, 0, 1'000'000, r);  // 96 kHz, nothing says so
  const TrackerSnapshot snap = t.snapshot();
  const StreamSummary* s = rtp_stream(snap);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->clock_source, ClockSource::kDefault);
  EXPECT_TRUE(s->timing.clock_assumed);
  EXPECT_EQ(s->timing.verdict, TimingVerdict::kUnknown);
  EXPECT_NE(format_stream_table(snap).find("unknown: clock assumed"), std::string::npos);
  const auto j = nlohmann::json::parse(to_json(snap));
  EXPECT_EQ(j["streams"][0]["verdict"], "unknown");
  EXPECT_EQ(j["streams"][0]["verdict_note"], "clock assumed");
}

// 44 samples a packet at 44.1 kHz are 997.73 us; packets 1.04% slower than that fail the PIT
// test although they are only 0.81% from a=ptime's nominal 1 ms.
TEST(Catalogue, PitIsJudgedAgainstSamplesOverRate) {
  StreamTrackerConfig c;
  c.sdp = parse_sdp(sdp_text("cd", "L24/44100/2", "1"), "file cd.sdp");
  StreamTracker t(c);
  Rtp r;
  r.payload = 44 * 2 * 3;
  const std::int64_t gap_ns = 1'008'100;  // 997,732 ns x 1.0104
  send(t, 2000, 0, 44, 0, gap_ns, r);
  const TrackerSnapshot snap = t.snapshot();  // the summary lives in it
  const StreamSummary* s = rtp_stream(snap);
  ASSERT_NE(s, nullptr);
  EXPECT_NEAR(s->timing.pit.ptime_us, 997.732, 0.001);
  EXPECT_EQ(s->timing.verdict, TimingVerdict::kNotCompliant);
}

TEST(Catalogue, AnnouncedSessionsWithoutTrafficAreListed) {
  StreamTracker t;
  t.add(view(sap_frame(sap(sdp_text("Quiet desk", "L24/48000/8", "1", "239.69.9.9"), 0x4242)),
             5'000'000'000),
        1);
  t.add(view(sap_frame(sap(sdp_text("Busy desk", "L24/48000/2", "0.125"), 0x4343)), 5'000'000'000),
        1);
  Rtp r;
  send(t, 100, 0, 6, 5'000'000'000, 125'000, r);
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_EQ(snap.sessions.size(), 2u);
  const SessionSummary* quiet = nullptr;
  for (const auto& x : snap.sessions)
    if (x.format.session_name == "Quiet desk") quiet = &x;
  ASSERT_NE(quiet, nullptr);
  EXPECT_EQ(quiet->streams, 0u);
  EXPECT_EQ(quiet->announcements, 1u);
  EXPECT_EQ(quiet->first_seen_ns, 5'000'000'000);
  EXPECT_EQ(quiet->format.origin, "sap 198.18.0.1 #4242");
  const std::string table = format_stream_table(snap);
  EXPECT_NE(table.find("session \"Quiet desk\" 239.69.9.9:5004 pt 97 L24/48000/8: no traffic "
                       "(sap 198.18.0.1 #4242)"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.find("session \"Busy desk\" 239"), std::string::npos) << table;
  const auto j = nlohmann::json::parse(to_json(snap));
  ASSERT_EQ(j["sessions"].size(), 2u);
  int with_traffic = 0;
  for (const auto& x : j["sessions"]) with_traffic += x["streams"].get<int>();
  EXPECT_EQ(with_traffic, 1);
}

TEST(Catalogue, SourceFilterNamesTheOnlySender) {
  StreamTrackerConfig c;
  c.sdp = parse_sdp(sdp_text("bm", "L24/48000/2", "0.125", "239.69.1.1", 5004, "198.18.0.77"),
                    "file bm.sdp");
  StreamTracker t(c);
  Rtp r;
  send(t, 10, 0, 6, 0, 125'000, r);           // from 198.18.0.1: not the filter's source
  const TrackerSnapshot snap = t.snapshot();  // the summary lives in it
  const StreamSummary* s = rtp_stream(snap);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->has_sdp);
}

// A SAP payload split over IP fragments, or cut by the snapshot length, is not read: half an
// rtpmap ("L24/48") would give a 48 Hz clock.
TEST(Catalogue, SapOnlyFromCompletePayloads) {
  StreamTracker t;
  const std::string text = sdp_text("cut", "L24/48000/2", "1");
  Bytes whole = sap_frame(sap(text));
  const std::size_t cut_at = whole.size() - text.size() + text.find("/48000") + 3;  // "L24/48"
  Bytes cut(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut_at));
  t.add(view(cut, 0, static_cast<std::uint32_t>(whole.size())), 1);  // -s cut it
  // A first fragment: MF set, the UDP length says more is coming.
  V4 v;
  v.dst = kSapGroup;
  Bytes l4 = udp(9875, 9875, sap(text));
  Bytes first(l4.begin(), l4.begin() + 48);
  v.frag = 0x2000;  // MF, offset 0
  t.add(view(ether(0x0800, ipv4(v, first))), 1);
  const TrackerSnapshot snap = t.snapshot();
  EXPECT_EQ(snap.totals.sap_packets, 2u);
  EXPECT_EQ(snap.totals.sap_incomplete, 2u);
  EXPECT_EQ(snap.totals.sap_announcements, 0u);
  EXPECT_TRUE(snap.sdp.empty());
}

TEST(Catalogue, AbsurdSdpValuesNeverEnter) {
  const auto f = parse_sdp(sdp_text("x", "L24/4294967295/64", "1"), "t");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].clock_rate, 0u);
  EXPECT_EQ(parse_sdp(sdp_text("x", "L24/48000/65", "1"), "t")[0].clock_rate, 0u);
  EXPECT_EQ(parse_sdp(sdp_text("x", "L24/999/2", "1"), "t")[0].clock_rate, 0u);
  EXPECT_EQ(parse_sdp(sdp_text("x", "L24/768000/64", "1"), "t")[0].clock_rate, 768000u);
  EXPECT_EQ(parse_sdp(sdp_text("x", "L24/48000/2", "5000"), "t")[0].ptime_ms, 0);
}

// An SDP that arrives but whose rtpmap is out of range is not "no SDP": the table, the JSON and
// the extractor say which SDP was refused and why, and it is not counted as a format known.
TEST(Catalogue, RefusedSdpSaysWhyInEveryFrontEnd) {
  StreamTracker t;
  t.add(view(sap_frame(sap(sdp_text("Huge rate", "L24/4294967295/2", "1"), 0x4242)), 0), 1);
  t.add(view(sap_frame(sap(sdp_text("Many", "L24/48000/100000", "1", "239.69.2.2"), 0x4343)), 0),
        1);
  t.add(view(sap_frame(sap(sdp_text("Zero", "L24/0/0", "1", "239.69.3.3"), 0x4444)), 0), 1);
  Rtp r;
  r.payload = 48 * 6;
  send(t, 100, 0, 48, 0, 1'000'000, r);
  const TrackerSnapshot snap = t.snapshot();
  ASSERT_EQ(snap.sdp.size(), 3u);
  const StreamSummary* s = rtp_stream(snap);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->has_sdp);
  const std::string huge =
      "SDP 'Huge rate' (sap 198.18.0.1 #4242) refused: rtpmap L24/4294967295/2: clock rate "
      "4294967295 Hz out of range 1000..768000";
  const std::string table = format_stream_table(snap);
  EXPECT_NE(table.find("  ! " + huge + "\n"), std::string::npos) << table;
  EXPECT_NE(table.find("SDP 'Many' (sap 198.18.0.1 #4343) refused: rtpmap L24/48000/100000: "
                       "channel count '100000' out of range 1..64: no traffic"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("rtpmap L24/0/0: clock rate 0 Hz out of range"), std::string::npos);
  EXPECT_NE(table.find("0 SDP formats known, 3 refused"), std::string::npos) << table;
  EXPECT_EQ(table.find("?/0/0"), std::string::npos) << table;
  const auto j = nlohmann::json::parse(to_json(snap));
  for (const auto& x : j["streams"]) {
    if (x["protocol"] != "rtp") continue;
    EXPECT_EQ(x["sdp"]["refused"],
              "rtpmap L24/4294967295/2: clock rate 4294967295 Hz out of "
              "range 1000..768000");
  }
  ASSERT_EQ(j["sessions"].size(), 3u);
  for (const auto& x : j["sessions"]) EXPECT_TRUE(x["refused"].is_string()) << x.dump();
  EXPECT_NE(render_metrics(CaptureStats{}, &snap, nullptr).find("\nrtcap_sdp_refused_formats 3\n"),
            std::string::npos)
      << render_metrics(CaptureStats{}, &snap, nullptr);
  StreamKey k;
  k.interface_index = s->interface_index;
  k.src = s->src;
  k.dst = s->dst;
  k.src_port = s->src_port;
  k.dst_port = s->dst_port;
  k.ssrc = s->ssrc;
  const PcmStreamFormat f = t.pcm_format(k);
  EXPECT_NE(f.why.find(huge), std::string::npos) << f.why;
  EXPECT_EQ(f.why.find("no SDP describes it"), std::string::npos) << f.why;
}

// 20,000 distinct announcements in one second: at most the burst plus a second's budget are
// parsed, the rest counted; the session that describes live traffic is not pushed out.
// The table's SAP line and the metrics gauge give one count of refused formats, read from the
// same field of the snapshot (the live formats).
TEST(Catalogue, TheTableAndTheMetricsCountRefusedFormatsAlike) {
  TrackerSnapshot snap;
  snap.totals.sap_packets = 1;
  SdpFormat f;
  f.session_name = "Huge rate";
  f.refused = "rtpmap L24/0/2: clock rate 0 Hz out of range 1000..768000";
  snap.sdp = {f, f};
  SdpFormat ok;
  ok.session_name = "Fine";
  snap.sdp.push_back(ok);
  const std::string table = format_stream_table(snap);
  EXPECT_NE(table.find("1 SDP formats known, 2 refused"), std::string::npos) << table;
  const std::string metrics = render_metrics(CaptureStats{}, &snap, nullptr);
  EXPECT_NE(metrics.find("\nrtcap_sdp_refused_formats 2\n"), std::string::npos) << metrics;
}

TEST(Catalogue, SapFloodIsBoundedAndKeepsTheLiveSession) {
  StreamTrackerConfig c;
  StreamTracker t(c);
  t.add(view(sap_frame(sap(sdp_text("real", "L24/48000/2", "0.125"), 0x0001)), 0), 1);
  Rtp r;
  send(t, 100, 0, 6, 0, 125'000, r);
  for (int i = 0; i < 20000; ++i) {
    const std::string group = "239.70." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    t.add(view(sap_frame(sap(sdp_text("flood", "L24/48000/2", "1", group),
                             static_cast<std::uint16_t>(i + 2), false,
                             0xC6120100u + static_cast<std::uint32_t>(i % 200))),
               100'000'000 + i * 50'000),
          1);
  }
  send(t, 100, 100, 6, 1'200'000'000, 125'000, r);
  const TrackerSnapshot snap = t.snapshot();
  EXPECT_EQ(snap.totals.sap_packets, 20001u);
  EXPECT_LE(snap.totals.sap_announcements, 1 + 256 + 128 * 1.2);
  EXPECT_EQ(snap.totals.sap_announcements + snap.totals.sap_rate_limited, 20001u);
  const StreamSummary* s = rtp_stream(snap);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->has_sdp);
  EXPECT_EQ(s->sdp.session_name, "real");
  EXPECT_LE(snap.sdp.size(), 256u);
}

// A session with more formats than free slots must not push out its own formats while it is
// being placed (the fuzzer found the session freed under itself: a use after free).
TEST(Catalogue, SessionLargerThanTheFreeSlotsKeepsWhatFits) {
  StreamTrackerConfig c;
  c.max_sdp_formats = 2;
  c.sdp = parse_sdp(sdp_text("file", "L24/48000/2", "1", "239.69.9.9"), "file");
  StreamTracker t(c);
  std::string two = sdp_text("two", "L24/48000/2", "1", "239.69.1.1");
  two += "m=audio 5006 RTP/AVP 98\r\nc=IN IP4 239.69.1.2/32\r\na=rtpmap:98 L16/48000/2\r\n";
  t.add(view(sap_frame(sap(two, 0x0002)), 0), 1);
  t.add(view(sap_frame(sap(two, 0x0002)), 1'000'000), 1);
  const TrackerSnapshot snap = t.snapshot();
  EXPECT_EQ(snap.totals.sap_announcements, 1u);
  EXPECT_EQ(snap.sdp.size(), 2u);  // the file's format and the first that fits
}

TEST(Catalogue, RepeatedAnnouncementRefreshesWithoutParsing) {
  StreamTracker t;
  const Bytes a = sap(sdp_text("s", "L24/48000/2", "1"));
  for (int i = 0; i < 1000; ++i) t.add(view(sap_frame(a), i * 1'000'000), 1);
  const TrackerSnapshot snap = t.snapshot();
  EXPECT_EQ(snap.totals.sap_announcements, 1u);
  EXPECT_EQ(snap.totals.sap_refreshes, 999u);
  EXPECT_EQ(snap.totals.sap_rate_limited, 0u);
  ASSERT_EQ(snap.sessions.size(), 1u);
  EXPECT_EQ(snap.sessions[0].announcements, 1000u);
  EXPECT_EQ(snap.sessions[0].last_seen_ns, 999'000'000);
}

// RFC 2974 section 4: not re-announced for ten periods or an hour, whichever is longer, a
// session is gone; the stream it described keeps its description.
TEST(Catalogue, SessionsExpireWhenNotReannounced) {
  StreamTracker t;
  const Bytes a = sap(sdp_text("s", "L24/48000/2", "0.125"));
  t.add(view(sap_frame(a), 0), 1);
  t.add(view(sap_frame(a), 30'000'000'000), 1);  // period 30 s: timeout max(300 s, 3600 s)
  Rtp r;
  send(t, 10, 0, 6, 31'000'000'000, 125'000, r);
  Bytes other = sap_frame(sap(sdp_text("o", "L16/48000/1", "1", "239.69.2.2"), 0x9999));
  t.add(view(other, 3000'000'000'000), 1);
  TrackerSnapshot snap = t.snapshot();
  EXPECT_EQ(snap.sdp.size(), 2u);
  send(t, 10, 10, 6, 3631'000'000'000, 125'000, r);  // 3,601 s after the last announcement
  snap = t.snapshot();
  EXPECT_EQ(snap.totals.sap_expired, 1u);
  ASSERT_EQ(snap.sdp.size(), 1u);
  EXPECT_EQ(snap.sdp[0].session_name, "o");
  const StreamSummary* s = rtp_stream(snap);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->has_sdp);
  bool listed = false;
  for (const auto& x : snap.sessions)
    if (x.format.session_name == "s") {
      listed = true;
      EXPECT_EQ(x.ended, "expired");
    }
  EXPECT_TRUE(listed);
}

// A re-announcement with another format changes the stream's clock; a deletion then leaves it
// its last description.
TEST(Catalogue, ReannouncementChangesTheFormatDeletionKeepsIt) {
  StreamTracker t;
  t.add(view(sap_frame(sap(sdp_text("v1", "L24/48000/2", "1"), 0x0001)), 0), 1);
  Rtp r;
  r.payload = 48 * 6;
  send(t, 500, 0, 48, 0, 1'000'000, r);
  t.add(view(sap_frame(sap(sdp_text("v2", "L24/96000/2", "0.5"), 0x0002)), 500'000'000), 1);
  send(t, 500, 500, 48, 500'000'000, 1'000'000, r);
  TrackerSnapshot snap = t.snapshot();
  const StreamSummary* s = rtp_stream(snap);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->sdp.session_name, "v2");
  EXPECT_EQ(s->clock_rate, 96000u);
  EXPECT_EQ(s->timing.clock_changes, 1u);
  t.add(view(sap_frame(sap("o=- 1 1 IN IP4 198.18.0.1\r\n", 0x0002, true)), 1'000'000'000), 1);
  snap = t.snapshot();
  s = rtp_stream(snap);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(snap.totals.sap_deletions, 1u);
  // v1 (never deleted) describes the destination again: the latest active one wins.
  EXPECT_EQ(s->sdp.session_name, "v1");
}

}  // namespace
}  // namespace rtcap
