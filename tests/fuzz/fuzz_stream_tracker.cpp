// libFuzzer target: hostile bytes as captured packets into the stream tracker (the link-layer,
// IP, UDP and RTP parsers, sequence/jitter/delay state, eviction), then every output function.
//
// Input: [link type selector][config][records...], record = [u16 LE length][u16 LE time delta
// in us][length bytes]; a short last record takes what is left. The selector picks one of the
// DLTs the tracker parses (or, above them, an arbitrary value); config bit 0-2: table slots - 1
// (small, to exercise eviction), bit 3: detect_rtp off, bit 4: several interfaces through the
// Batch overload with per-interface link types.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "rtcap/analysis.hpp"
#include "rtcap/batch.hpp"
#include "rtcap/stats.hpp"

namespace {

constexpr int kLinkTypes[] = {rtcap::kDltNull,       rtcap::kDltEn10mb,   rtcap::kDltRaw,
                              rtcap::kDltRawOpenBsd, rtcap::kLinktypeRaw, rtcap::kDltLoop,
                              rtcap::kDltLinuxSll,   rtcap::kDltLinuxSll2};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t selector = data[0];
  const std::uint8_t config_bits = data[1];
  const int linktype = selector < std::size(kLinkTypes) ? kLinkTypes[selector] : int(selector) * 7;
  data += 2;
  size -= 2;

  rtcap::StreamTrackerConfig config;
  config.max_streams = (config_bits & 7u) + 1;
  config.detect_rtp = (config_bits & 8u) == 0;
  config.clock_rate_by_pt[96] = 48000;
  config.clock_rate_by_pt[0] = 8000;
  rtcap::StreamTracker tracker(config);
  const bool via_batch = (config_bits & 16u) != 0;
  rtcap::Batch batch(64, 64 * 1024);
  const int by_interface[] = {linktype, rtcap::kDltEn10mb, rtcap::kDltLinuxSll2};

  std::int64_t ts_ns = 1'700'000'000'000'000'000;
  std::uint16_t index = 0;
  while (size > 0) {
    std::size_t len = size;
    std::uint32_t delta_us = 125;
    if (size >= 4) {
      len = std::size_t(data[0]) | (std::size_t(data[1]) << 8);
      delta_us = std::uint32_t(data[2]) | (std::uint32_t(data[3]) << 8);
      data += 4;
      size -= 4;
      len = std::min(len, size);
    }
    ts_ns += std::int64_t(delta_us) * 1000;
    // A copy of exactly `len` bytes: ASan sees any read past the captured length.
    std::vector<std::uint8_t> packet(data, data + len);
    static const std::uint8_t kNothing = 0;
    const std::uint8_t* bytes = packet.empty() ? &kNothing : packet.data();  // never null
    const std::uint32_t wire_len = std::uint32_t(len) + (delta_us & 1u ? 0u : delta_us % 64u);
    if (via_batch) {
      const auto iface = std::uint16_t(index++ % 4);  // 3 is out of range on purpose
      if (!batch.try_append(ts_ns, iface, bytes, std::uint32_t(len), wire_len)) {
        tracker.add(batch, by_interface);
        batch.clear();
        (void)batch.try_append(ts_ns, iface, bytes, std::uint32_t(len), wire_len);
      }
    } else {
      rtcap::PacketView view{ts_ns, wire_len, 0, {bytes, packet.size()}};
      tracker.add(view, linktype);
    }
    data += len;
    size -= len;
  }
  if (via_batch && !batch.empty()) tracker.add(batch, by_interface);

  const rtcap::TrackerSnapshot snapshot = tracker.snapshot();
  (void)rtcap::to_json(snapshot, -1);
  (void)rtcap::format_stream_table(snapshot);
  const std::uint64_t missing = rtcap::total_sequence_loss(snapshot);
  rtcap::CaptureStats stats;
  stats.app_dropped_packets = snapshot.totals.packets / 3;
  (void)rtcap::to_json(rtcap::attribute_loss(missing, stats), -1);
  (void)tracker.memory_bytes();
  tracker.clear();
  return 0;
}
