// Per-packet cost of the stream catalogue and of --extract-audio over 12 AES67 streams that SAP
// announces (issue 19: each at most 100 ns per packet). One traffic, three consumers of it:
//   - Baseline: the stream tracker with no SAP parsing (no session matches any stream);
//   - Catalogue: the tracker with SAP on, every stream matched to its session, a re-announcement
//     every 8,000 packets (each session about once a second at 96 kpps; AES67 senders: 30 s);
//   - Levels: that, and the level meter of every stream (--streams --levels);
//   - Extract: the catalogue, the extractor writing the 12 WAVs (to a scratch directory) and the
//     level meters, as --extract-audio runs them;
//   - ExtractOnly: the catalogue and the extractor, no meters (the extractor's own work).
// Catalogue work per packet = Catalogue - Baseline; extractor work = ExtractOnly - Catalogue;
// the meters' = Levels - Catalogue; what --extract-audio adds = Extract - Catalogue.
// A fixed million packets per run (10.4 s of the 12 streams, 36 MB of WAV): every run sees the
// same traffic and the disk use stays bounded.
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "../tests/unit/analysis_frames.hpp"
#include "analysis/stream_levels.hpp"
#include "io/audio_extract.hpp"
#include "rtcap/analysis.hpp"

namespace {

using namespace rtcap;

constexpr int kStreams = 12;
constexpr std::int64_t kPackets = 1'000'000;
constexpr std::uint32_t kSapEvery = 8000;
constexpr std::int64_t kGapNs = 10'417;          // 96 kpps aggregate: 12 x 8,000 pps
constexpr std::size_t kRtpOffset = 14 + 20 + 8;  // Ethernet, IPv4, UDP
constexpr std::uint32_t kSender = 0xC6120001;    // 198.18.0.1

std::uint32_t group_of(int k) {
  return 0xEF450001u + static_cast<std::uint32_t>(k);
}  // 239.69.0.k+1

// Stream k's session: AES67's SDP for 239.69.0.k+1:5004, L24/48000/2, 125 us.
Bytes announcement(int k) {
  const std::string group = "239.69.0." + std::to_string(k + 1);
  const std::string sdp = "v=0\r\no=- " + std::to_string(1000 + k) +
                          " 1 IN IP4 198.18.0.1\r\ns=bench " + std::to_string(k + 1) +
                          "\r\nc=IN IP4 " + group +
                          "/32\r\nt=0 0\r\nm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\n"
                          "a=ptime:0.125\r\na=ts-refclk:localmac=02-00-00-00-00-01\r\n"
                          "a=mediaclk:direct=0\r\n";
  return sap_frame(sap(sdp, static_cast<std::uint16_t>(0x4000 + k)));
}

struct Traffic {
  std::array<Bytes, kStreams> rtp;
  std::array<Bytes, kStreams> sap;
  std::int64_t now_ns = 1'700'000'000'000'000'000;
  std::uint32_t n = 0;  // RTP packets so far
  std::uint32_t i = 0;  // packets so far
  Traffic() {
    for (int k = 0; k < kStreams; ++k) {
      Rtp r;
      r.ssrc = 0x5EED0000u + static_cast<std::uint32_t>(k);
      rtp[k] = rtp_frame(r, 5004, 5004, kSender, group_of(k));
      sap[k] = announcement(k);
    }
  }
  // The next packet: RTP round-robin over the streams, one SAP re-announcement every kSapEvery.
  PacketView next() {
    if (++i % kSapEvery == 0) {
      const Bytes& s = sap[(i / kSapEvery) % kStreams];
      return view(s, now_ns);
    }
    const int k = static_cast<int>(n % kStreams);
    const std::uint32_t seq = n / kStreams;
    Bytes& f = rtp[k];
    put16(f, kRtpOffset + 2, static_cast<std::uint16_t>(seq));
    const std::uint32_t ts = seq * 6;
    put16(f, kRtpOffset + 4, static_cast<std::uint16_t>(ts >> 16));
    put16(f, kRtpOffset + 6, static_cast<std::uint16_t>(ts));
    now_ns += kGapNs;
    ++n;
    return view(f, now_ns);
  }
};

std::string scratch_dir() {
  return (std::filesystem::temp_directory_path() /
          ("rtcap-bench-extract-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())))
      .string();
}

enum class Work { kBaseline, kCatalogue, kLevels, kExtract, kExtractOnly };

void run(benchmark::State& state, Work work) {
  StreamTrackerConfig tc;
  tc.parse_sap = work != Work::kBaseline;
  StreamTracker tracker(tc);
  Traffic traffic;
  const std::string dir = scratch_dir();
  std::optional<io::AudioExtractor> extractor;
  std::optional<analysis::StreamLevels> levels;
  if (work == Work::kLevels || work == Work::kExtract) levels.emplace(tracker);
  if (work == Work::kExtract || work == Work::kExtractOnly) {
    io::AudioExtractConfig ec;
    ec.dir = dir;
    ec.tracker = &tracker;
    extractor.emplace(std::move(ec));
    if (const std::string e = extractor->check_output(); !e.empty()) {
      state.SkipWithError(e.c_str());
      return;
    }
  }
  // Every session announced before its stream starts, as a sender does.
  for (const Bytes& s : traffic.sap) tracker.add(view(s, traffic.now_ns), kDltEn10mb);
  for (auto _ : state) {
    const PacketView p = traffic.next();
    tracker.add(p, kDltEn10mb);
    if (extractor) extractor->add(p, kDltEn10mb);
    if (levels) levels->add(p, kDltEn10mb);
  }
  const TrackerSnapshot snap = tracker.snapshot();
  int described = 0;
  for (const auto& s : snap.streams) described += s.has_sdp ? 1 : 0;
  state.counters["streams"] = static_cast<double>(snap.streams.size());
  state.counters["described"] = described;
  if (extractor) {
    int wavs = 0;
    for (const auto& e : extractor->finish()) wavs += e.wav_path.empty() ? 0 : 1;
    state.counters["wavs"] = wavs;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  state.SetItemsProcessed(state.iterations());
}

void BM_Tracker_12Streams_Baseline(benchmark::State& state) { run(state, Work::kBaseline); }
void BM_Tracker_12Streams_SapCatalogue(benchmark::State& state) { run(state, Work::kCatalogue); }
void BM_Tracker_12Streams_SapCatalogueLevels(benchmark::State& state) { run(state, Work::kLevels); }
void BM_Tracker_12Streams_SapCatalogueExtract(benchmark::State& state) {
  run(state, Work::kExtract);
}

void BM_Tracker_12Streams_SapCatalogueExtractOnly(benchmark::State& state) {
  run(state, Work::kExtractOnly);
}

BENCHMARK(BM_Tracker_12Streams_Baseline)->Iterations(kPackets);
BENCHMARK(BM_Tracker_12Streams_SapCatalogue)->Iterations(kPackets);
BENCHMARK(BM_Tracker_12Streams_SapCatalogueLevels)->Iterations(kPackets);
BENCHMARK(BM_Tracker_12Streams_SapCatalogueExtract)->Iterations(kPackets);
BENCHMARK(BM_Tracker_12Streams_SapCatalogueExtractOnly)->Iterations(kPackets);

}  // namespace
