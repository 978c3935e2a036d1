// Frames the fuzz targets wrap their input in: an IPv4 UDP datagram (DLT_RAW), and Ethernet
// around a payload. Header and UDP checksums are left 0 (the parsers do not check them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rtcap::fuzz {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

// IPv4 (identification 1, TTL `ttl`) + UDP src:sport -> dst:dport, then `len` bytes of payload.
inline Bytes ipv4_udp(const std::uint8_t src[4], const std::uint8_t dst[4], std::uint16_t sport,
                      std::uint16_t dport, const std::uint8_t* payload, std::size_t len,
                      std::uint8_t ttl = 64) {
  const std::size_t total = 28 + len;
  Bytes b = {0x45,
             0,
             static_cast<std::uint8_t>(total >> 8),
             static_cast<std::uint8_t>(total),
             0,
             1,
             0,
             0,
             ttl,
             17,
             0,
             0};
  b.insert(b.end(), src, src + 4);
  b.insert(b.end(), dst, dst + 4);
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(8 + len));
  put16(b, 0);
  b.insert(b.end(), payload, payload + len);
  return b;
}

// Ethernet from 02:00:00:00:00:01 to `dst_mac`, with one 802.1Q tag (VID 100) when `vlan`.
inline Bytes ethernet(const std::uint8_t dst_mac[6], std::uint16_t ether_type, const Bytes& l3,
                      bool vlan = false) {
  Bytes b(dst_mac, dst_mac + 6);
  b.insert(b.end(), {0x02, 0, 0, 0, 0, 1});
  if (vlan) {
    put16(b, 0x8100);
    put16(b, 100);
  }
  put16(b, ether_type);
  b.insert(b.end(), l3.begin(), l3.end());
  return b;
}

// The audio targets' input records: little-endian fields.
inline std::uint16_t le16(const std::uint8_t* p) { return std::uint16_t(p[0] | (p[1] << 8)); }
inline std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
         (std::uint32_t(p[3]) << 24);
}

// Ethernet + IPv4 + UDP from 198.18.0.1:5000 to 239.69.1.1:`port`, then `payload`.
inline Bytes audio_udp_frame(std::uint16_t port, const Bytes& payload) {
  const std::uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {239, 69, 1, 1};
  const std::uint8_t mac[6] = {0x01, 0x00, 0x5E, 0x45, 0x01, 0x01};
  return ethernet(mac, 0x0800, ipv4_udp(src, dst, 5000, port, payload.data(), payload.size()));
}

}  // namespace rtcap::fuzz
