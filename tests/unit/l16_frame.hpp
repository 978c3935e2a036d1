// The audio API tests' frame (C++ and C): Ethernet + IPv4 + UDP + RTP to 239.69.7.1:5004, L16
// mono (PT 11, RFC 3551), 4 samples a packet; sample i of packet k is k*4 + i.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace rtcap::test {

inline std::vector<std::uint8_t> l16_frame(std::uint16_t seq) {
  std::vector<std::uint8_t> f(14 + 20 + 8 + 12 + 8, 0);
  f[12] = 0x08;
  std::uint8_t* ip = &f[14];
  ip[0] = 0x45;
  ip[3] = static_cast<std::uint8_t>(f.size() - 14);
  ip[8] = 64;
  ip[9] = 17;
  const std::uint8_t addrs[8] = {198, 18, 0, 1, 239, 69, 7, 1};
  std::memcpy(ip + 12, addrs, 8);
  std::uint8_t* udp = ip + 20;
  udp[0] = 0x13, udp[1] = 0x8C, udp[2] = 0x13, udp[3] = 0x8C;
  udp[5] = static_cast<std::uint8_t>(8 + 12 + 8);
  std::uint8_t* rtp = udp + 8;
  rtp[0] = 0x80;
  rtp[1] = 11;  // RFC 3551: L16/44100/1
  rtp[2] = static_cast<std::uint8_t>(seq >> 8);
  rtp[3] = static_cast<std::uint8_t>(seq);
  const std::uint32_t ts = 4u * seq;
  for (int i = 0; i < 4; ++i) rtp[4 + i] = static_cast<std::uint8_t>(ts >> (24 - 8 * i));
  rtp[11] = 7;
  for (int i = 0; i < 4; ++i) rtp[12 + 2 * i + 1] = static_cast<std::uint8_t>(seq * 4 + i);
  return f;
}

}  // namespace rtcap::test
