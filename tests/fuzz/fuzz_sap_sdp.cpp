// libFuzzer target: hostile SAP datagrams (RFC 2974) and SDP text (RFC 8866) into the parsers,
// then the formats into a stream tracker that sees a stream they may describe, then the outputs.
//
// Input: [mode][bytes...]. mode bit 0: the bytes are a SAP datagram (else SDP text); bit 1: also
// feed the bytes as a SAP packet on UDP port 9875 through the tracker's own path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/sdp.hpp"

namespace {

// Raw IPv4 (DLT_RAW) UDP datagram 198.18.0.1:5004 -> group:port with `payload`.
std::vector<std::uint8_t> raw_udp(const std::uint8_t group[4], std::uint16_t port,
                                  const std::uint8_t* payload, std::size_t len) {
  const std::uint8_t src[4] = {198, 18, 0, 1};
  return rtcap::fuzz::ipv4_udp(src, group, 5004, port, payload, len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 65000) return 0;
  const std::uint8_t mode = data[0];
  ++data;
  --size;
  std::vector<rtcap::SdpFormat> formats;
  if (mode & 1u) {
    rtcap::SapMessage m;
    std::string error;
    if (rtcap::parse_sap(data, size, m, &error)) formats = rtcap::parse_sdp(m.sdp, "sap fuzz");
  } else {
    formats = rtcap::parse_sdp(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  }
  rtcap::StreamTrackerConfig config;
  config.max_streams = 4;
  config.max_sdp_formats = 8;
  config.sdp = formats;
  rtcap::StreamTracker tracker(config);
  // A stream to the first format's group and port, if it is IPv4, so matching runs.
  std::uint8_t group[4] = {239, 69, 1, 1};
  std::uint16_t port = 5004;
  if (!formats.empty() && formats.front().group.family == 4) {
    for (int i = 0; i < 4; ++i) group[i] = formats.front().group.bytes[i];
    port = formats.front().port;
  }
  if (mode & 2u) {
    const std::uint8_t sap_group[4] = {239, 255, 255, 255};
    const auto p = raw_udp(sap_group, rtcap::kSapPort, data, size > 1400 ? 1400 : size);
    tracker.add(rtcap::PacketView{0, static_cast<std::uint32_t>(p.size()), 0, {p.data(), p.size()}},
                rtcap::kDltRaw);
  }
  for (int i = 0; i < 8; ++i) {
    std::uint8_t rtp[48] = {
        0x80,
        static_cast<std::uint8_t>(formats.empty() ? 97 : (formats.front().payload_type & 0x7F)),
        0,
        static_cast<std::uint8_t>(i),
        0,
        0,
        0,
        static_cast<std::uint8_t>(6 * i),
        1,
        2,
        3,
        4};
    const auto p = raw_udp(group, port, rtp, sizeof rtp);
    tracker.add(rtcap::PacketView{std::int64_t{i} * 125'000,
                                  static_cast<std::uint32_t>(p.size()),
                                  0,
                                  {p.data(), p.size()}},
                rtcap::kDltRaw);
  }
  tracker.add_sdp(formats);
  const rtcap::TrackerSnapshot snap = tracker.snapshot();
  (void)rtcap::to_json(snap);
  (void)rtcap::format_stream_table(snap);
  return 0;
}
