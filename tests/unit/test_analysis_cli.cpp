// The stream options of the capture command: --clock-rate forms (issue 11 item 1, issue 13 item
// 3), --sdp files, --sap on a file as live (tcpdump users read with the options they capture
// with), and the advisor inputs taken from the tracker.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#ifdef RTCAP_HAVE_CLI
#include "capture/capture_options.hpp"
#include "capture/report.hpp"

namespace rtcap::tool {
namespace {

TEST(AnalysisCli, ClockRateForms) {
  std::map<int, std::uint32_t> by_pt;
  std::uint32_t def = 48000;
  EXPECT_EQ(parse_clock_rates({"96=44100", "0=16000", "32000"}, by_pt, def), "");
  EXPECT_EQ(by_pt.at(96), 44100u);
  EXPECT_EQ(by_pt.at(0), 16000u);
  EXPECT_EQ(def, 32000u);
  for (const char* bad : {"0", "96=0", "128=48000", "-1=8000", "96=", "=8000", "96=48000x", "x",
                          "96=10000001", "96=8000=1", " 96=8000", "99999999999999999999"}) {
    by_pt.clear();
    const std::string e = parse_clock_rates({bad}, by_pt, def);
    EXPECT_NE(e, "") << bad;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    EXPECT_NE(e.find("--clock-rate"), std::string::npos) << e;
    EXPECT_TRUE(by_pt.empty()) << bad;
  }
}

TEST(AnalysisCli, SdpFileAndSapChecksComeFirst) {
  CaptureOptions o;
  o.config.read_file = "x.pcap";
  o.sdp_paths = {"/nonexistent/a.sdp"};
  EXPECT_NE(finish_capture_options(o).find("--sdp: cannot read"), std::string::npos);

  const std::string path = ::testing::TempDir() + "rtcap_test.sdp";
  {
    std::ofstream f(path);
    f << "v=0\ns=S\nc=IN IP4 239.69.1.1/32\nm=audio 5004 RTP/AVP 97\na=rtpmap:97 L24/48000/2\n";
  }
  CaptureOptions ok;
  ok.config.read_file = "x.pcap";
  ok.sdp_paths = {path};
  EXPECT_EQ(finish_capture_options(ok), "");
  ASSERT_EQ(ok.sdp_formats.size(), 1u);
  EXPECT_EQ(ok.sdp_formats[0].origin, "file " + path);
  EXPECT_TRUE(ok.streams);  // --sdp implies --streams
  std::remove(path.c_str());

  // A file with the options of the live capture: SAP passes the filter, no group is joined.
  for (const bool ptp : {false, true}) {
    CaptureOptions file;
    file.config.read_file = "x.pcap";
    file.sap = !ptp;
    file.ptp = ptp;
    file.filter_words = {"udp", "port", "5004"};
    EXPECT_EQ(finish_capture_options(file), "");
    EXPECT_TRUE(file.streams);
    EXPECT_NE(file.config.filter.find(ptp ? "udp port 319" : "udp port 9875"), std::string::npos)
        << file.config.filter;
  }

  CaptureOptions live;
  live.config.interfaces = {"eth0"};
  live.sap = true;
  live.filter_words = {"udp", "port", "5004"};
  EXPECT_EQ(finish_capture_options(live), "");
  EXPECT_EQ(live.config.filter, "(udp port 5004) or (udp port 9875)");
}

TEST(AnalysisCli, AdvisorInputsFromTheTracker) {
  TrackerSnapshot snap;
  snap.totals.udp = 10;
  snap.totals.discarded = 30;
  snap.totals.distinct_destinations = 1;
  StreamIntervalInfo i = stream_interval_info(snap, 7, 2, 10);
  EXPECT_EQ(i.sequence_lost, 5u);
  EXPECT_EQ(i.consumer_discarded, 20u);
  EXPECT_EQ(i.all_unicast_to_one_destination, true);
  snap.totals.any_multicast = true;
  EXPECT_EQ(stream_interval_info(snap, 0, 0, 0).all_unicast_to_one_destination, false);
  snap.totals.any_multicast = false;
  snap.totals.other = 1;  // an ARP: its destination is not known, so no promise
  EXPECT_EQ(stream_interval_info(snap, 0, 0, 0).all_unicast_to_one_destination, false);
  snap.totals = TrackerTotals{};
  EXPECT_FALSE(stream_interval_info(snap, 0, 0, 0).all_unicast_to_one_destination.has_value());
}

}  // namespace
}  // namespace rtcap::tool
#endif
