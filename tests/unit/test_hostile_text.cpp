// Text from the wire in every front end (one sanitiser: valid UTF-8, no C0/C1 controls), the
// stream table fitted to the terminal, the SVG's TS-DF peak, and the loss of a stream that never
// validated.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/rtp_stats.hpp"
#include "analysis/wire_text.hpp"
#include "rtcap/analysis.hpp"

#ifdef RTCAP_HAVE_CLI
#include "capture/streams_view.hpp"
#include "common/live_view.hpp"
#endif

namespace rtcap {
namespace {

using analysis::printable_text;

const std::string kFffd = "\xEF\xBF\xBD";

// Well-formed UTF-8 without controls other than newline: what printable_text leaves alone.
bool clean_text(const std::string& text) {
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t nl = std::min(text.find('\n', at), text.size());
    const std::string line = text.substr(at, nl - at);
    if (printable_text(line) != line) return false;
    at = nl + 1;
  }
  return true;
}

TEST(WireText, KeepsPrintableUtf8) {
  const std::string s = "B\xC3\xBChne 1 \xE2\x80\x94 \xF0\x9F\x8E\xB5 <a&b>";
  EXPECT_EQ(printable_text(s), s);
}

TEST(WireText, ReplacesInvalidUtf8) {
  EXPECT_EQ(printable_text("a\xFF"
                           "b"),
            "a" + kFffd + "b");
  EXPECT_EQ(printable_text("\xC0\xAF"), kFffd + kFffd);                          // overlong
  EXPECT_EQ(printable_text("\xED\xA0\x80"), kFffd + kFffd + kFffd);              // a surrogate
  EXPECT_EQ(printable_text("x\xE2\x82"), "x" + kFffd);                           // cut short
  EXPECT_EQ(printable_text("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(printable_text("\xEF\xBF\xBF"), kFffd);  // U+FFFF: not in XML
}

TEST(WireText, RemovesC0AndC1Controls) {
  EXPECT_EQ(printable_text("a\x1b[2Jb\x07\x7f\tc\r\n"), "a[2Jbc");
  EXPECT_EQ(printable_text("a\xC2\x9B"
                           "2Jb\xC2\x85"),
            "a2Jb");  // U+009B (CSI), U+0085 (NEL)
  EXPECT_EQ(printable_text("a\x9B"
                           "2J"),
            "a" + kFffd + "2J");  // the raw 8-bit CSI byte
}

StreamSummary rtp_stream(const std::string& session_name) {
  StreamSummary s;
  s.is_rtp = true;
  s.src.family = s.dst.family = 4;
  s.src.bytes = {198, 18, 0, 1};
  s.dst.bytes = {239, 69, 1, 1};
  s.src_port = 5004;
  s.dst_port = 5004;
  s.ssrc = 0x1234;
  s.payload_type = 97;
  s.clock_rate = 48000;
  s.packets = 123456;
  s.validated = true;
  s.expected = 123460;
  s.lost = 4;
  s.has_sdp = true;
  s.sdp.session_name = session_name;
  s.sdp.encoding = "L24\x9B";
  s.sdp.origin =
      "sap 198.18.0.1 \xC2\x9B"
      "1m";
  s.sdp.clock_rate = 48000;
  s.sdp.channels = 2;
  s.timing.ts_df_windows = 10;
  s.timing.ts_df_us = 38733;
  return s;
}

const std::string kHostileName =
    "Stage \x9B"
    "2J\xC2\x9B"
    "31m\x1b]0;x\x07 \xFF\xFE box";

TEST(WireText, StreamTableHasNoControlsAndValidUtf8) {
  TrackerSnapshot snap;
  snap.streams.push_back(rtp_stream(kHostileName));
  const std::string table = format_stream_table(snap);
  EXPECT_EQ(table.find('\x1b'), std::string::npos);
  EXPECT_EQ(table.find('\x07'), std::string::npos);
  EXPECT_EQ(table.find("\xC2\x9B"), std::string::npos);
  EXPECT_TRUE(clean_text(table)) << table;
  EXPECT_NE(table.find("Stage " + kFffd + "2J31m]0;x " + kFffd + kFffd + " box"), std::string::npos)
      << table;
}

TEST(WireText, StreamJsonCarriesReplacementCharacters) {
  TrackerSnapshot snap;
  snap.streams.push_back(rtp_stream(kHostileName));
  const std::string text = to_json(snap);
  ASSERT_TRUE(nlohmann::json::accept(text));
  const auto j = nlohmann::json::parse(text);
  const std::string name = j["streams"][0]["session_name"];
  EXPECT_EQ(name, "Stage " + kFffd + "2J31m]0;x " + kFffd + kFffd + " box");
  EXPECT_TRUE(clean_text(j["streams"][0]["sdp"]["origin"].get<std::string>()));
}

TEST(StreamTable, LongIntervalColumnIsNamedForWhatItCounts) {
  TrackerSnapshot snap;
  snap.streams.push_back(rtp_stream("a"));
  const std::string table = format_stream_table(snap);
  EXPECT_NE(table.find("LongInt"), std::string::npos);
  EXPECT_EQ(table.find("Gaps"), std::string::npos);
}

TEST(StreamTable, FitsTheWidthByPriority) {
  TrackerSnapshot snap;
  snap.streams.push_back(rtp_stream("a"));
  const std::string narrow = format_stream_table(snap, 79);
  const std::string header = narrow.substr(0, narrow.find('\n'));
  for (const char* must : {"Destination", "Packets", "Lost", "Jitter", "Verdict"})
    EXPECT_NE(header.find(must), std::string::npos) << must << " in: " << header;
  EXPECT_EQ(header.find("DelayP99"), std::string::npos);
  // Every row of the table proper (the stream lines, not the notes under them) fits.
  std::size_t at = 0;
  for (int row = 0; row < 3; ++row) {
    const std::size_t nl = narrow.find('\n', at);
    EXPECT_LE(nl - at, 79u) << narrow.substr(at, nl - at);
    at = nl + 1;
  }
  EXPECT_NE(narrow.find("123456"), std::string::npos);  // packets
  const std::string wide = format_stream_table(snap, 0);
  EXPECT_EQ(wide, format_stream_table(snap));
  EXPECT_NE(wide.find("DelayP99"), std::string::npos);
  EXPECT_NE(wide.find("0x00001234"), std::string::npos);
}

TEST(StreamLoss, NeverValidatedHasNullLostAndARangeEstimate) {
  analysis::SeqTracker seq;
  seq.start(0);
  std::uint64_t sent = 0;
  for (std::uint32_t n = 0; n < 20000; n += 2, ++sent)  // every other packet missing
    seq.update(static_cast<std::uint16_t>(n));
  EXPECT_FALSE(seq.validated());
  EXPECT_EQ(sent, 10000u);
  // tshark: highest extended 19998 - first 0 + 1 = 19999 expected, 10,000 received.
  EXPECT_EQ(seq.unvalidated_lost_estimate(), 9999u);

  TrackerSnapshot snap;
  StreamSummary s = rtp_stream("a");
  s.validated = false;
  s.lost = 0;
  s.lost_estimate = seq.unvalidated_lost_estimate();
  snap.streams.push_back(s);
  const auto j = nlohmann::json::parse(to_json(snap));
  EXPECT_TRUE(j["streams"][0]["lost"].is_null());
  EXPECT_EQ(j["streams"][0]["lost_estimate"], 9999);
  EXPECT_NE(format_stream_table(snap).find("misses 9999"), std::string::npos);
}

#ifdef RTCAP_HAVE_CLI

TEST(StreamsSvg, TsDfChartPeakIsTheReportedMaximum) {
  tool::StreamsSvg svg;
  TrackerSnapshot snap;
  StreamSummary s = rtp_stream(kHostileName);
  s.timing.ts_df_last_us = 9285;  // the record window ended earlier within the second
  s.timing.ts_df_us = 38733;
  snap.streams.push_back(s);
  svg.sample(snap, 1'000'000'000);
  snap.streams[0].timing.ts_df_last_us = 5000;
  svg.sample(snap, 2'000'000'000);
  const std::string out = svg.render(snap);
  EXPECT_NE(out.find("TS-DF per window (max 38733.0 us)"), std::string::npos) << out;
  EXPECT_TRUE(clean_text(out));
}

TEST(StreamsSvg, EveryWindowBetweenTwoSamplesIsPlotted) {
  tool::StreamsSvg svg;
  TrackerSnapshot snap;
  StreamSummary s = rtp_stream("a");
  s.timing.ts_df_windows = 5;
  s.timing.ts_df_recent_us = {9000, 100, 200, 300, 400};
  s.timing.ts_df_last_us = 400;
  s.timing.ts_df_us = 9000;
  snap.streams.push_back(s);
  svg.sample(snap, 1'000'000'000);
  // The next second: a 7,000 us window that is neither the largest nor the last.
  auto& t = snap.streams[0].timing;
  t.ts_df_windows = 10;
  t.ts_df_recent_us = {9000, 100, 200, 300, 400, 100, 7000, 200, 300, 500};
  t.ts_df_last_us = 500;
  svg.sample(snap, 2'000'000'000);
  // No window completed in the third second: the last one stands.
  svg.sample(snap, 3'000'000'000);
  EXPECT_EQ(svg.ts_df_points(s.id), (std::vector<double>{9000, 7000, 500}));
  // A tracker that restarted its windows (a clock change) starts the count again.
  t.ts_df_windows = 2;
  t.ts_df_recent_us = {800, 600};
  t.ts_df_last_us = 600;
  t.ts_df_us = 800;
  svg.sample(snap, 4'000'000'000);
  EXPECT_EQ(svg.ts_df_points(s.id).back(), 800);
}

TEST(LiveView, TableFitsAnEightyColumnTerminal) {
  TrackerSnapshot snap;
  snap.streams.push_back(
      rtp_stream("\xE2\x80\x94\xE2\x80\x94 long session name that goes on "
                 "and on past the edge of any terminal \xE2\x80\x94"));
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  tool::LiveStreamView view;
  view.draw(f, "status", snap, 80);
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  EXPECT_NE(text.find("Packets"), std::string::npos);
  EXPECT_NE(text.find("123456"), std::string::npos);
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    std::string line = text.substr(at, nl - at);
    std::size_t chars = 0;
    for (char c : line) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    EXPECT_LE(chars, 79u) << line;
    EXPECT_EQ(printable_text(line), line) << "a UTF-8 sequence cut in half";
    at = nl + 1;
  }
}

#endif

}  // namespace
}  // namespace rtcap
