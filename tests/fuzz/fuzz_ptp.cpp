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
#include "fuzz_frames.hpp"
#include "rtcap/sdp.hpp"

namespace {

// Ethernet to the PTP multicast MAC (VLAN-tagged when mode bit 1), then the message: over
// EtherType 0x88F7 (mode bit 0), or over UDP/IPv4 198.18.0.1 -> 224.0.1.129, port 319 for the
// event messages and 320 for the others.
std::vector<std::uint8_t> frame(std::uint8_t mode, const std::uint8_t* msg, std::size_t len) {
  static const std::uint8_t kPtpMac[6] = {0x01, 0x1B, 0x19, 0, 0, 0};
  const bool vlan = (mode & 2u) != 0;
  if (mode & 1u)
    return rtcap::fuzz::ethernet(kPtpMac, 0x88F7, rtcap::fuzz::Bytes(msg, msg + len), vlan);
  const std::uint8_t src[4] = {198, 18, 0, 1}, group[4] = {224, 0, 1, 129};
  const std::uint16_t port = len > 0 && (msg[0] & 0x0F) < 4 ? 319 : 320;
  return rtcap::fuzz::ethernet(kPtpMac, 0x0800,
                               rtcap::fuzz::ipv4_udp(src, group, port, port, msg, len, 1), vlan);
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
