// Capture outages in the stream analysis (issue 13): the packets a stream misses while its
// interface is down are the capture's outage, the others the network's. The truth is written
// into a pcap here (one stream, 1 ms packets, a 1,000-packet outage and three network gaps
// outside it), read back through the engine (-r) as the CLI reads it, and both numbers checked
// exactly; then the edge cases on hand-built packets.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "analysis_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;  // a CLOCK_REALTIME of 2023, in ns
constexpr std::uint32_t kSamplesPerPacket = 48;          // 1 ms at 48 kHz (AES67)

// Packet `seq` of the stream is sent at kT0 + seq ms with RTP timestamp seq x 48.
Bytes packet(std::uint16_t seq, std::uint16_t port = 5004) {
  Rtp r;
  r.seq = seq;
  r.ts = std::uint32_t{seq} * kSamplesPerPacket;
  r.payload = 288;  // L24 stereo, 48 samples
  return rtp_frame(r, port, port);
}

// 6,000 packets; missing: 1000..1004 and 4500 (network), 2000..2999 (the outage), 3010
// (network, 10 packet times after the outage: well outside the one-packet slack).
bool missing(int seq) {
  return (seq >= 1000 && seq <= 1004) || seq == 4500 || (seq >= 2000 && seq <= 2999) || seq == 3010;
}
constexpr std::uint64_t kNetworkTruth = 5 + 1 + 1;
constexpr std::uint64_t kOutageTruth = 1000;
// What the engine would record: the last packet before (seq 1999) and the first after (3000).
constexpr LinkOutage kOutage{kT0 + 1999 * kMs, kT0 + 3000 * kMs};

std::string write_truth_pcap(const std::filesystem::path& dir) {
  const std::string path = (dir / "outage-truth.pcap").string();
  pcap_t* dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  EXPECT_NE(d, nullptr) << pcap_geterr(dead);
  if (!d) return path;
  for (int seq = 0; seq < 6000; ++seq) {
    if (missing(seq)) continue;
    const Bytes f = packet(static_cast<std::uint16_t>(seq));
    const std::int64_t t = kT0 + seq * kMs;
    pcap_pkthdr h{};
    h.ts.tv_sec = t / 1'000'000'000;
    h.ts.tv_usec = t % 1'000'000'000;  // ns: the nanosecond dumper reads tv_usec as ns
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
  return path;
}

TrackerSnapshot track_file(const std::string& path, const std::vector<LinkOutage>& outages) {
  CaptureConfig c;
  c.read_file = path;
  auto engine = Engine::open(c);
  EXPECT_TRUE(engine.has_value()) << (engine ? "" : engine.error().message);
  StreamTracker tracker;
  tracker.set_outages(0, outages);
  if (!engine) return tracker.snapshot();
  const int linktype = (*engine)->interfaces().front().linktype;
  while (!(*engine)->done())
    (void)(*engine)->poll(std::chrono::milliseconds(100),
                          [&](const Batch& b) { tracker.add(b, linktype); });
  return tracker.snapshot();
}

TEST(AnalysisOutage, PcapWithTheTruthSplitsOutageFromNetworkExactly) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("rtcap-outage-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = write_truth_pcap(dir);

  const TrackerSnapshot with = track_file(path, {kOutage});
  ASSERT_EQ(with.streams.size(), 1u);
  const StreamSummary& s = with.streams[0];
  ASSERT_TRUE(s.validated);
  EXPECT_EQ(s.expected, 6000u);
  EXPECT_EQ(s.lost, kNetworkTruth + kOutageTruth);
  EXPECT_EQ(s.outage_lost, kOutageTruth);
  EXPECT_EQ(s.network_lost, kNetworkTruth);
  EXPECT_EQ(total_outage_loss(with), kOutageTruth);

  // The report says both, everywhere.
  const auto j = nlohmann::json::parse(to_json(with));
  EXPECT_EQ(j["streams"][0]["outage_lost"], kOutageTruth);
  EXPECT_EQ(j["streams"][0]["network_lost"], kNetworkTruth);
  EXPECT_EQ(j["totals"]["outage_lost"], kOutageTruth);
  EXPECT_EQ(j["totals"]["network_lost"], kNetworkTruth);
  EXPECT_EQ(j["totals"]["sequence_lost"], kOutageTruth + kNetworkTruth);
  const std::string table = format_stream_table(with);
  EXPECT_NE(table.find("1000 in capture outages of its interface"), std::string::npos) << table;
  EXPECT_NE(table.find("1007 missing from RTP sequences (1000 in capture outages, 7 outside them)"),
            std::string::npos)
      << table;
  const LossAttribution a = attribute_loss(with, 0, DropKnowledge::kLive);
  EXPECT_EQ(a.missing_in_streams, 1007u);
  EXPECT_EQ(a.lost_in_outages, kOutageTruth);
  EXPECT_EQ(a.lost_before_capture_min, kNetworkTruth);  // the capture dropped nothing
  EXPECT_NE(a.text.find("1000 of them fell while an interface was down"), std::string::npos)
      << a.text;
  EXPECT_NE(a.text.find("7 outside them"), std::string::npos) << a.text;
  EXPECT_EQ(nlohmann::json::parse(to_json(a))["lost_in_outages"], kOutageTruth);

  // Without the outage, every gap is the network's (what rtcap said before).
  const TrackerSnapshot without = track_file(path, {});
  ASSERT_EQ(without.streams.size(), 1u);
  EXPECT_EQ(without.streams[0].outage_lost, 0u);
  EXPECT_EQ(without.streams[0].network_lost, kNetworkTruth + kOutageTruth);
  const LossAttribution b = attribute_loss(without, 0, DropKnowledge::kLive);
  EXPECT_EQ(b.lost_in_outages, 0u);
  EXPECT_EQ(b.text.find("capture outage"), std::string::npos) << b.text;
  std::filesystem::remove_all(dir);
}

// Feeds packets [from, to) of the stream on interface `iface`, skipping those `skip` says.
template <typename Skip>
void feed(StreamTracker& t, int from, int to, std::uint16_t iface, Skip skip,
          std::uint16_t port = 5004) {
  for (int seq = from; seq < to; ++seq) {
    if (skip(seq)) continue;
    const Bytes f = packet(static_cast<std::uint16_t>(seq), port);
    PacketView v = view(f, kT0 + seq * kMs);
    v.interface_index = iface;
    t.add(v, kDltEn10mb);
  }
}

TEST(AnalysisOutage, OnlyTheStreamsOfTheInterfaceThatWasDown) {
  StreamTracker t;
  const auto gap = [](int seq) { return seq >= 100 && seq < 200; };
  feed(t, 0, 400, 0, gap, 5004);  // interface 0: its gap is the outage's
  feed(t, 0, 400, 1, gap, 5006);  // interface 1, same gap at the same time: the network's
  t.set_outages(0, std::vector<LinkOutage>{{kT0 + 99 * kMs, kT0 + 200 * kMs}});
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].interface_index, 0);
  EXPECT_EQ(s[0].outage_lost, 100u);
  EXPECT_EQ(s[0].network_lost, 0u);
  EXPECT_EQ(s[1].outage_lost, 0u);
  EXPECT_EQ(s[1].network_lost, 100u);
}

TEST(AnalysisOutage, AGapPartlyInAnOutageIsSplitByTime) {
  // Packets 100..299 missing; the interface was down over 200..299 only: the first half was
  // lost before it went down.
  StreamTracker t;
  feed(t, 0, 400, 0, [](int seq) { return seq >= 100 && seq < 300; });
  t.set_outages(0, std::vector<LinkOutage>{{kT0 + 199 * kMs + kMs / 2, kT0 + 300 * kMs}});
  const auto s = t.streams();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].lost, 200u);
  // 199 (within one packet time of the outage's start) .. 299.
  EXPECT_EQ(s[0].outage_lost, 101u);
  EXPECT_EQ(s[0].network_lost, 99u);
}

TEST(AnalysisOutage, AnOpenOutageCountsAndItsEndIsTakenWhenGiven) {
  // The engine publishes an outage while the link is down (end 0) and its end when it is back;
  // the packets after it may have arrived before either.
  StreamTracker t;
  feed(t, 0, 500, 0, [](int seq) { return seq >= 100 && seq < 200; });
  t.set_outages(0, std::vector<LinkOutage>{{kT0 + 99 * kMs, 0}});
  EXPECT_EQ(t.streams()[0].outage_lost, 100u);
  feed(t, 500, 600, 0, [](int seq) { return seq == 550; });  // a network loss after it
  EXPECT_EQ(t.streams()[0].outage_lost, 101u) << "open: everything after its start";
  t.set_outages(0, std::vector<LinkOutage>{{kT0 + 99 * kMs, kT0 + 200 * kMs}});
  EXPECT_EQ(t.streams()[0].outage_lost, 100u);
  EXPECT_EQ(t.streams()[0].network_lost, 1u);
}

TEST(AnalysisOutage, AGapIsSettledAfterTheHorizonAndKeepsItsShare) {
  StreamTrackerConfig c;
  c.outage_settle_ms = 1000;
  StreamTracker t(c);
  t.set_outages(0, std::vector<LinkOutage>{{kT0 + 99 * kMs, kT0 + 200 * kMs}});
  // The outage's gap, then gaps far later settle it; the outage list can then be forgotten.
  feed(t, 0, 5000, 0, [](int seq) { return (seq >= 100 && seq < 200) || seq % 1000 == 500; });
  t.set_outages(0, std::vector<LinkOutage>{});
  const auto s = t.streams();
  EXPECT_EQ(s[0].outage_lost, 100u) << "settled with the outage known at the time";
  EXPECT_EQ(s[0].network_lost, 5u);
}

TEST(AnalysisOutage, ManyGapsKeepMemoryFixedAndTheOutageShare) {
  // 8 pending gaps per stream: a lossy stream settles the oldest early, with what is known.
  StreamTracker t;
  t.set_outages(0, std::vector<LinkOutage>{{kT0 + 99 * kMs, kT0 + 200 * kMs}});
  const std::size_t before = t.memory_bytes();
  feed(t, 0, 3000, 0,
       [](int seq) { return (seq >= 100 && seq < 200) || (seq > 300 && seq % 10 == 0); });
  EXPECT_EQ(t.memory_bytes(), before);
  const auto s = t.streams();
  EXPECT_EQ(s[0].outage_lost, 100u);
  EXPECT_EQ(s[0].network_lost, 269u);  // 310, 320 .. 2990
}

TEST(AnalysisOutage, EvictedStreamsKeepTheirOutageLoss) {
  StreamTrackerConfig c;
  c.max_streams = 1;
  StreamTracker t(c);
  t.set_outages(0, std::vector<LinkOutage>{{kT0 + 99 * kMs, kT0 + 200 * kMs}});
  feed(
      t, 0, 300, 0, [](int seq) { return seq >= 100 && seq < 200; }, 5004);
  feed(
      t, 300, 310, 0, [](int) { return false; }, 5006);  // evicts the first
  const TrackerSnapshot snap = t.snapshot();
  EXPECT_EQ(snap.totals.evicted, 1u);
  EXPECT_EQ(snap.totals.evicted_outage_lost, 100u);
  EXPECT_EQ(total_outage_loss(snap), 100u);
  EXPECT_EQ(total_sequence_loss(snap), 100u);
}

}  // namespace
}  // namespace rtcap
