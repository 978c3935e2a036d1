// libFuzzer target: hostile capture files (pcap and pcapng, any byte order and precision) read
// the way `rtcap -r` reads them (libpcap's reader, nanosecond precision asked for), every packet
// fed to the stream tracker with the file's link type, then the outputs rendered.
//
// Why not rtcap::Engine::open(read_file): the engine's public API returns std::expected, which
// clang 14 (the fuzzing compiler on Debian 12) cannot compile from libstdc++ 12 (<expected> needs
// __cpp_concepts >= 202002L; clang 14 and 16 define 201907L). The engine adds no parsing of its
// own on the file path: it hands libpcap's packets to the same tracker, which this target fuzzes.
#include <pcap/pcap.h>

#include "engine/pcap_time.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "rtcap/analysis.hpp"
#include "rtcap/batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // fmemopen: libpcap reads a FILE*, the same code path as a file on disk, without the disk.
  FILE* file = fmemopen(const_cast<std::uint8_t*>(data), size, "rb");
  if (!file) return 0;
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    std::fclose(file);
    return 0;
  }
  const int linktype = pcap_datalink(p);
  rtcap::StreamTrackerConfig config;
  config.max_streams = 16;
  rtcap::StreamTracker tracker(config);
  rtcap::Batch batch(32, 16 * 1024);
  pcap_pkthdr* header = nullptr;
  const u_char* bytes = nullptr;
  int packets = 0;
  while (pcap_next_ex(p, &header, &bytes) == 1 && packets++ < 100000) {
    const std::int64_t ts_ns = rtcap::detail::pcap_ts_ns(*header, true);  // the engine's conversion
    // As the capture thread does: copy caplen bytes into a batch, wire length as recorded.
    if (!batch.try_append(ts_ns, 0, bytes, header->caplen, header->len)) {
      tracker.add(batch, linktype);
      batch.clear();
      if (!batch.try_append(ts_ns, 0, bytes, header->caplen, header->len)) continue;  // > arena
    }
  }
  if (!batch.empty()) tracker.add(batch, linktype);
  pcap_close(p);  // closes `file`
  const rtcap::TrackerSnapshot snapshot = tracker.snapshot();
  (void)rtcap::to_json(snapshot, -1);
  (void)rtcap::format_stream_table(snapshot);
  return 0;
}
