// PTPv2 messages built byte by byte from IEEE 1588-2008 section 13 (header 13.3, bodies 13.5-13.8),
// independent of src/analysis/ptp_wire.hpp, and the frames that carry them (UDP/IPv4 to
// 224.0.1.129 ports 319/320, Ethernet 0x88F7). Header-only, for the PTP unit tests.
#pragma once

#include <cstdint>
#include <vector>

#include "analysis_frames.hpp"

namespace rtcap {
namespace {

struct Ptp {
  std::uint8_t type = 0;  // 0 Sync, 8 Follow_Up, 9 Delay_Resp, 0xB Announce, ...
  std::uint8_t domain = 0;
  std::uint16_t flags = 0;  // 0x0200 two-step
  std::uint8_t clock[8] = {0x02, 0x00, 0x00, 0xFF, 0xFE, 0x00, 0x00, 0x01};
  std::uint16_t port = 1;
  std::uint16_t seq = 0;
  std::int8_t log_interval = 0;
  std::uint64_t ts_s = 0;  // origin / preciseOrigin / receive timestamp
  std::uint32_t ts_ns = 0;
  std::int64_t correction_ns = 0;
  // Announce body
  std::int16_t utc_offset = 37;
  std::uint8_t priority1 = 128;
  std::uint8_t clock_class = 248;
  std::uint8_t accuracy = 0xFE;
  std::uint16_t variance = 0xFFFF;
  std::uint8_t priority2 = 128;
  std::uint8_t gm[8] = {0x02, 0x00, 0x00, 0xFF, 0xFE, 0x00, 0x00, 0x01};
  std::uint16_t steps_removed = 0;
  std::uint8_t time_source = 0xA0;
  std::uint8_t requesting[10] = {0x44, 0x44, 0x44, 0x44, 0x44,
                                 0x44, 0x44, 0x44, 0x44, 0x44};  // Delay_Resp's requester
  int length_override = -1;  // messageLength written instead of the real one
  std::uint8_t version = 2;
};

inline Bytes ptp(const Ptp& m) {
  Bytes b;
  b.push_back(m.type & 0x0F);
  b.push_back(m.version);
  push16(b, 0);  // messageLength, set below
  b.push_back(m.domain);
  b.push_back(0);
  push16(b, m.flags);
  const auto corr = static_cast<std::uint64_t>(m.correction_ns * 65536);
  push32(b, static_cast<std::uint32_t>(corr >> 32));
  push32(b, static_cast<std::uint32_t>(corr));
  push32(b, 0);
  b.insert(b.end(), m.clock, m.clock + 8);
  push16(b, m.port);
  push16(b, m.seq);
  b.push_back(m.type == 0   ? 0
              : m.type == 1 ? 1
              : m.type == 8 ? 2
              : m.type == 9 ? 3
                            : 5);  // controlField
  b.push_back(static_cast<std::uint8_t>(m.log_interval));
  // Every type rtcap reads starts its body with a timestamp.
  push16(b, static_cast<std::uint16_t>(m.ts_s >> 32));
  push32(b, static_cast<std::uint32_t>(m.ts_s));
  push32(b, m.ts_ns);
  if (m.type == 0xB) {
    push16(b, static_cast<std::uint16_t>(m.utc_offset));
    b.push_back(0);
    b.push_back(m.priority1);
    b.push_back(m.clock_class);
    b.push_back(m.accuracy);
    push16(b, m.variance);
    b.push_back(m.priority2);
    b.insert(b.end(), m.gm, m.gm + 8);
    push16(b, m.steps_removed);
    b.push_back(m.time_source);
  } else if (m.type == 9 || m.type == 3 || m.type == 0xA || m.type == 2) {
    b.insert(b.end(), m.requesting, m.requesting + 10);  // reserved for Pdelay_Req
  }
  put16(b, 2,
        m.length_override >= 0 ? static_cast<std::uint16_t>(m.length_override)
                               : static_cast<std::uint16_t>(b.size()));
  return b;
}

// UDP/IPv4 to 224.0.1.129, port 319 for event messages, 320 for the others (Annex D).
inline Bytes ptp_udp4(const Bytes& msg, std::uint32_t src = 0xC6120001) {
  V4 v;
  v.src = src;
  v.dst = 0xE0000181;  // 224.0.1.129
  const std::uint16_t port = (msg[0] & 0x0F) < 4 ? 319 : 320;
  return ether(0x0800, ipv4(v, udp(port, port, msg)));
}

// Ethernet to 01-1B-19-00-00-00 (Annex F), padded to the 60-byte minimum frame as a NIC would.
inline Bytes ptp_l2(const Bytes& msg, const std::vector<std::uint16_t>& tags = {}) {
  Bytes b = ether(0x88F7, msg, tags);
  const Bytes dst = {0x01, 0x1B, 0x19, 0x00, 0x00, 0x00};
  std::copy(dst.begin(), dst.end(), b.begin());
  if (b.size() < 60) b.resize(60, 0);
  return b;
}

}  // namespace
}  // namespace rtcap
