// Hand-built frames for the stream-analysis tests: RTP over UDP over IPv4/IPv6 over Ethernet,
// cooked and raw link types. Header-only, inside an unnamed namespace per test file.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rtcap/analysis.hpp"

namespace rtcap {
namespace {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
inline void push16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void push32(Bytes& b, std::uint32_t v) {
  push16(b, static_cast<std::uint16_t>(v >> 16));
  push16(b, static_cast<std::uint16_t>(v));
}
inline Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Rtp {
  std::uint8_t pt = 97;
  bool marker = false;
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  std::uint32_t ssrc = 0x11223344;
  int csrc = 0;
  std::optional<std::uint64_t> send_ns;
  std::size_t payload = 36;  // L24 stereo, 6 samples (125 us at 48 kHz)
  std::uint8_t padding = 0;
};

inline Bytes rtp(const Rtp& r) {
  Bytes b;
  const bool ext = r.send_ns.has_value();
  b.push_back(static_cast<std::uint8_t>(0x80 | (r.padding ? 0x20 : 0) | (ext ? 0x10 : 0) | r.csrc));
  b.push_back(static_cast<std::uint8_t>((r.marker ? 0x80 : 0) | r.pt));
  push16(b, r.seq);
  push32(b, r.ts);
  push32(b, r.ssrc);
  for (int i = 0; i < r.csrc; ++i) push32(b, 0xC0000000u + static_cast<std::uint32_t>(i));
  if (ext) {  // RFC 8285 one-byte: 0xBEDE, 3 words: ID1 L7 + 8 bytes, then 3 padding bytes
    push16(b, 0xBEDE);
    push16(b, 3);
    b.push_back(0x17);
    push32(b, static_cast<std::uint32_t>(*r.send_ns >> 32));
    push32(b, static_cast<std::uint32_t>(*r.send_ns));
    b.insert(b.end(), 3, 0);
  }
  b.insert(b.end(), r.payload, 0x55);
  if (r.padding) {
    b.insert(b.end(), r.padding - 1, 0);
    b.push_back(r.padding);
  }
  return b;
}

inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes b;
  push16(b, sport);
  push16(b, dport);
  push16(b, static_cast<std::uint16_t>(8 + payload.size()));
  push16(b, 0);  // checksum: not checked
  return cat(b, payload);
}

struct V4 {
  std::uint32_t src = 0xC6120001;  // 198.18.0.1
  std::uint32_t dst = 0xC6130002;  // 198.19.0.2
  std::uint8_t proto = 17;
  std::size_t option_bytes = 0;  // multiple of 4
  std::uint16_t frag = 0;        // flags + offset field
};

inline Bytes ipv4(const V4& v, const Bytes& l4) {
  const std::size_t ihl = 20 + v.option_bytes;
  Bytes b(ihl, 0);
  b[0] = static_cast<std::uint8_t>(0x40 | (ihl / 4));
  put16(b, 2, static_cast<std::uint16_t>(ihl + l4.size()));
  put16(b, 6, v.frag);
  b[8] = 64;
  b[9] = v.proto;
  for (int i = 0; i < 4; ++i) {
    b[12 + i] = static_cast<std::uint8_t>(v.src >> (24 - 8 * i));
    b[16 + i] = static_cast<std::uint8_t>(v.dst >> (24 - 8 * i));
  }
  for (std::size_t i = 20; i < ihl; ++i) b[i] = 1;  // NOP options
  return cat(b, l4);
}

inline Bytes v6addr(std::uint8_t last) {
  Bytes a = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
  return a;
}

// ext: list of (header type, total length) in order; the last points to UDP.
inline Bytes ipv6(const Bytes& l4,
                  const std::vector<std::pair<std::uint8_t, std::size_t>>& ext = {},
                  std::uint16_t frag_field = 0, std::uint8_t l4_proto = 17) {
  Bytes exts;
  for (std::size_t i = 0; i < ext.size(); ++i) {
    const std::uint8_t next = i + 1 < ext.size() ? ext[i + 1].first : l4_proto;
    const auto [type, len] = ext[i];
    Bytes h(len, 0);
    h[0] = next;
    if (type == 44) {
      put16(h, 2, frag_field);
    } else {
      h[1] = static_cast<std::uint8_t>(len / 8 - 1);
    }
    exts = cat(exts, h);
  }
  Bytes b(8, 0);
  b[0] = 0x60;
  put16(b, 4, static_cast<std::uint16_t>(exts.size() + l4.size()));
  b[6] = ext.empty() ? l4_proto : ext[0].first;
  b[7] = 64;
  b = cat(b, v6addr(1));
  b = cat(b, v6addr(2));
  return cat(cat(b, exts), l4);
}

inline Bytes ether(std::uint16_t type, const Bytes& l3,
                   const std::vector<std::uint16_t>& tags = {}) {
  Bytes b = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  for (std::uint16_t tpid : tags) {
    push16(b, tpid);
    push16(b, 100);  // PCP 0, VID 100
  }
  push16(b, type);
  return cat(b, l3);
}

inline Bytes sll(std::uint16_t type, const Bytes& l3) {
  Bytes b(16, 0);
  put16(b, 2, 1);  // ARPHRD_ETHER
  put16(b, 4, 6);
  put16(b, 14, type);
  return cat(b, l3);
}

inline Bytes sll2(std::uint16_t type, const Bytes& l3) {
  Bytes b(20, 0);
  put16(b, 0, type);
  put16(b, 8, 1);
  b[11] = 6;
  return cat(b, l3);
}

inline PacketView view(const Bytes& b, std::int64_t ts_ns = 0, std::uint32_t wire_len = 0) {
  return PacketView{
      ts_ns, wire_len ? wire_len : static_cast<std::uint32_t>(b.size()), 0, {b.data(), b.size()}};
}

inline Bytes rtp_frame(const Rtp& r, std::uint16_t sport = 5004, std::uint16_t dport = 5004,
                       std::uint32_t src = 0xC6120001, std::uint32_t dst = V4{}.dst) {
  V4 v;
  v.src = src;
  v.dst = dst;
  return ether(0x0800, ipv4(v, udp(sport, dport, rtp(r))));
}

// A SAP datagram (RFC 2974) carrying `sdp`: an announcement or a deletion from an IPv4 origin.
inline Bytes sap(const std::string& sdp, std::uint16_t hash = 0x1234, bool deletion = false,
                 std::uint32_t origin = 0xC6120001) {
  Bytes b;
  b.push_back(static_cast<std::uint8_t>(0x20 | (deletion ? 0x04 : 0)));
  b.push_back(0);
  push16(b, hash);
  push32(b, origin);
  const std::string t = "application/sdp";
  b.insert(b.end(), t.begin(), t.end());
  b.push_back(0);
  b.insert(b.end(), sdp.begin(), sdp.end());
  return b;
}

// A SAP datagram on the wire: 198.18.0.1 -> 239.255.255.255:9875 over Ethernet.
inline Bytes sap_frame(const Bytes& payload) {
  V4 v;
  v.dst = 0xEFFFFFFF;
  return ether(0x0800, ipv4(v, udp(9875, 9875, payload)));
}

inline std::uint64_t classified(const TrackerTotals& t) {
  return t.udp + t.other + t.malformed + t.fragments;
}

}  // namespace
}  // namespace rtcap
