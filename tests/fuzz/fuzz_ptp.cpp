// libFuzzer target: hostile PTP messages into the parser and, over both transports, into the
// stream tracker's PTP analysis, then its outputs; an SDP naming a reference clock is matched
// against whatever the messages made of the domains.
//
// Input: [mode][bytes...]; the bytes are split at 0xFF 0xFF into messages. mode bit 0: over
// Ethernet (EtherType 0x88F7, else UDP/IPv4 to 224.0.1.129); bit 1: behind a VLAN tag; bits 2-3:
// the capture time step between messages (0, 1 us, 125 ms, 2 s).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "analysis/ptp_wire.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/sdp.hpp"

namespace {

void put16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

std::vector<std::uint8_t> frame(std::uint8_t mode, const std::uint8_t* msg, std::size_t len) {
  std::vector<std::uint8_t> b = {0x01, 0x1B, 0x19, 0, 0, 0, 0x02, 0, 0, 0, 0, 1};
  if (mode & 2u) {
    put16(b, 0x8100);
    put16(b, 100);
  }
  if (mode & 1u) {
    put16(b, 0x88F7);
    b.insert(b.end(), msg, msg + len);
    return b;
  }
  put16(b, 0x0800);
  const std::size_t total = 28 + len;
  const std::uint8_t ip[20] = {0x45,
                               0,
                               static_cast<std::uint8_t>(total >> 8),
                               static_cast<std::uint8_t>(total),
                               0,
                               1,
                               0,
                               0,
                               1,
                               17,
                               0,
                               0,
                               198,
                               18,
                               0,
                               1,
                               224,
                               0,
                               1,
                               129};
  b.insert(b.end(), ip, ip + 20);
  const std::uint16_t port = len > 0 && (msg[0] & 0x0F) < 4 ? 319 : 320;
  put16(b, port);
  put16(b, port);
  put16(b, static_cast<std::uint16_t>(8 + len));
  put16(b, 0);
  b.insert(b.end(), msg, msg + len);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 65000) return 0;
  const std::uint8_t mode = data[0];
  ++data;
  --size;
  static const std::int64_t kSteps[4] = {0, 1'000, 125'000'000, 2'000'000'000};
  const std::int64_t step = kSteps[(mode >> 2) & 3u];
  rtcap::StreamTrackerConfig config;
  config.max_streams = 8;
  config.sdp = rtcap::parse_sdp(
      "v=0\r\ns=f\r\nc=IN IP4 198.18.0.2\r\nm=audio 5004 RTP/AVP 97\r\n"
      "a=ts-refclk:ptp=IEEE1588-2008:02-00-00-FF-FE-00-00-01:0\r\n",
      "fuzz");
  rtcap::StreamTracker tracker(config);
  std::int64_t ts = 1'700'000'000'000'000'000;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= size; ++i) {
    if (i < size && !(i + 1 < size && data[i] == 0xFF && data[i + 1] == 0xFF)) continue;
    const std::uint8_t* msg = data + start;
    const std::size_t len = i - start;
    rtcap::analysis::ptp::Message m;
    (void)rtcap::analysis::ptp::parse_ptp(msg, len, m);
    const auto f = frame(mode, msg, len > 1400 ? 1400 : len);
    tracker.add(
        rtcap::PacketView{ts, static_cast<std::uint32_t>(f.size()), 0, {f.data(), f.size()}},
        rtcap::kDltEn10mb);
    ts += step;
    start = i + 2;
    ++i;
  }
  const rtcap::TrackerSnapshot snap = tracker.snapshot();
  (void)rtcap::to_json(snap);
  (void)rtcap::format_stream_table(snap);
  return 0;
}
