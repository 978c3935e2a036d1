// Link layer -> IPv4/IPv6 -> UDP -> RTP parsing for the stream tracker. Private to librtcap
// (the unit tests include it through the src/ include path).
//
// Every read is preceded by an explicit bounds check against the captured length; nothing here
// trusts a length field before comparing it with what was captured. Inline so that the tracker's
// hot path compiles into one function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "wire/wire.hpp"

namespace rtcap::analysis {

enum class ParseClass : std::uint8_t {
  kUdp,        // a UDP datagram (or the first fragment of one): ports and payload valid
  kOther,      // not IP, IP but not UDP, or a link type we do not parse
  kMalformed,  // truncated header, impossible length, bad version
  kFragment,   // a non-first IP fragment: no UDP header in it
};

struct ParsedPacket {
  ParseClass cls = ParseClass::kOther;
  std::uint8_t family = 0;            // 4 or 6
  const std::uint8_t* src = nullptr;  // 4 or 16 bytes, inside the packet
  const std::uint8_t* dst = nullptr;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  const std::uint8_t* payload = nullptr;  // UDP payload, captured part
  std::size_t payload_len = 0;            // captured bytes of the UDP payload
  bool payload_complete = false;          // the whole UDP payload was captured (not a fragment,
                                          // not cut by snaplen)
  // PTP over Ethernet (EtherType 0x88F7, behind VLAN tags too): cls is kOther, payload and
  // payload_len hold the PTP message as captured.
  bool ptp_l2 = false;
};

using wire::load_be16;
using wire::load_be32;
using wire::load_be64;

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;     // 802.1Q
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88A8;     // 802.1ad
inline constexpr std::uint16_t kEtherTypeQinQOld = 0x9100;  // pre-standard QinQ, still seen
inline constexpr std::uint16_t kEtherTypePtp = 0x88F7;      // IEEE 1588-2008 Annex F
inline constexpr int kMaxVlanTags = 4;
inline constexpr int kMaxIpv6ExtHeaders = 8;  // more than any sane packet carries

// UDP over IP, starting at `p` with `cap` captured bytes and `wire` bytes on the wire (wire >=
// cap when snaplen cut the packet). `version_hint` 0: take the version from the first nibble.
inline void parse_ip(const std::uint8_t* p, std::size_t cap, std::size_t wire, int version_hint,
                     ParsedPacket& out) noexcept {
  out.cls = ParseClass::kMalformed;
  if (cap < 1) return;
  const int version = p[0] >> 4;
  if (version_hint != 0 && version != version_hint) return;
  std::size_t l4_offset = 0;
  std::size_t l4_wire_len = 0;  // bytes of the L4 part per the IP length field
  std::uint8_t proto = 0;
  bool first_fragment_only = false;  // MF set: the datagram continues in later fragments
  if (version == 4) {
    if (cap < 20) return;
    const std::size_t ihl = std::size_t{p[0] & 0x0Fu} * 4;
    if (ihl < 20 || ihl > cap) return;  // options must be captured whole
    const std::size_t total = load_be16(p + 2);
    if (total < ihl || total > wire) return;
    const std::uint16_t frag = load_be16(p + 6);
    const bool more_fragments = (frag & 0x2000u) != 0;
    const std::uint16_t frag_offset = frag & 0x1FFFu;
    out.family = 4;
    out.src = p + 12;
    out.dst = p + 16;
    if (frag_offset != 0) {
      out.cls = ParseClass::kFragment;
      return;
    }
    first_fragment_only = more_fragments;
    proto = p[9];
    l4_offset = ihl;
    l4_wire_len = total - ihl;
  } else if (version == 6) {
    if (cap < 40) return;
    const std::size_t payload_len = load_be16(p + 4);
    // 0 means a jumbogram (RFC 2675), which never carries our traffic; treat it as malformed.
    if (payload_len == 0 || 40 + payload_len > wire) return;
    out.family = 6;
    out.src = p + 8;
    out.dst = p + 24;
    std::uint8_t next = p[6];
    std::size_t off = 40;
    const std::size_t end = 40 + payload_len;
    for (int i = 0;; ++i) {
      if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
        if (i == kMaxIpv6ExtHeaders) return;
        if (off + 2 > cap || off + 2 > end) return;
        const std::size_t len = (std::size_t{p[off + 1]} + 1) * 8;
        if (off + len > end) return;
        next = p[off];
        off += len;
      } else if (next == 44) {  // fragment header, 8 bytes
        if (i == kMaxIpv6ExtHeaders) return;
        if (off + 8 > cap || off + 8 > end) return;
        const std::uint16_t fo = load_be16(p + off + 2);
        if ((fo >> 3) != 0) {
          out.cls = ParseClass::kFragment;
          return;
        }
        first_fragment_only = (fo & 1u) != 0;
        next = p[off];
        off += 8;
      } else if (next == 51) {  // authentication header: (len + 2) * 4 bytes
        if (i == kMaxIpv6ExtHeaders) return;
        if (off + 2 > cap || off + 2 > end) return;
        const std::size_t len = (std::size_t{p[off + 1]} + 2) * 4;
        if (off + len > end) return;
        next = p[off];
        off += len;
      } else {
        break;
      }
    }
    proto = next;
    l4_offset = off;
    l4_wire_len = end - off;
  } else {
    return;
  }
  if (proto != 17) {
    out.cls = ParseClass::kOther;
    return;
  }
  if (l4_offset + 8 > cap || l4_wire_len < 8) return;  // UDP header must be captured whole
  const std::uint8_t* udp = p + l4_offset;
  const std::size_t udp_len = load_be16(udp + 4);
  if (udp_len < 8) return;
  // A first fragment carries only part of the datagram; otherwise the UDP length must fit the IP
  // payload exactly or with trailing bytes (never more).
  if (!first_fragment_only && udp_len > l4_wire_len) return;
  const std::size_t payload_wire = first_fragment_only ? l4_wire_len - 8 : udp_len - 8;
  const std::size_t payload_cap_avail = cap - l4_offset - 8;
  out.src_port = load_be16(udp);
  out.dst_port = load_be16(udp + 2);
  out.payload = udp + 8;
  out.payload_len = payload_wire < payload_cap_avail ? payload_wire : payload_cap_avail;
  out.payload_complete = !first_fragment_only && payload_cap_avail >= payload_wire;
  out.cls = ParseClass::kUdp;
}

inline void parse_after_ethertype(std::uint16_t ethertype, const std::uint8_t* p, std::size_t cap,
                                  std::size_t wire, std::size_t off, ParsedPacket& out) noexcept {
  for (int tags = 0;
       ethertype == kEtherTypeVlan || ethertype == kEtherTypeQinQ || ethertype == kEtherTypeQinQOld;
       ++tags) {
    if (tags == kMaxVlanTags || off + 4 > cap) {
      out.cls = ParseClass::kMalformed;
      return;
    }
    ethertype = load_be16(p + off + 2);
    off += 4;
  }
  if (ethertype == kEtherTypeIpv4 || ethertype == kEtherTypeIpv6) {
    parse_ip(p + off, cap - off, wire > off ? wire - off : 0, ethertype == kEtherTypeIpv4 ? 4 : 6,
             out);
    return;
  }
  if (ethertype == kEtherTypePtp) {
    out.ptp_l2 = true;
    out.payload = p + off;
    out.payload_len = cap - off;
  }
  out.cls = ParseClass::kOther;
}

// `cap` captured bytes at `p`; `wire` is the wire length (a wire length below cap is corrected).
inline ParsedPacket parse_packet(const std::uint8_t* p, std::size_t cap, std::size_t wire,
                                 int linktype) noexcept {
  ParsedPacket out;
  if (wire < cap) wire = cap;
  switch (linktype) {
    case 1: {  // DLT_EN10MB: dst(6) src(6) type(2)
      if (cap < 14) {
        out.cls = ParseClass::kMalformed;
        return out;
      }
      const std::uint16_t type = load_be16(p + 12);
      if (type < 0x0600) {  // 802.3 length field: LLC/SNAP, never our IP traffic
        out.cls = ParseClass::kOther;
        return out;
      }
      parse_after_ethertype(type, p, cap, wire, 14, out);
      return out;
    }
    case 113: {  // DLT_LINUX_SLL: pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
      if (cap < 16) {
        out.cls = ParseClass::kMalformed;
        return out;
      }
      parse_after_ethertype(load_be16(p + 14), p, cap, wire, 16, out);
      return out;
    }
    case 276: {  // DLT_LINUX_SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1)
                 // halen(1) addr(8)
      if (cap < 20) {
        out.cls = ParseClass::kMalformed;
        return out;
      }
      parse_after_ethertype(load_be16(p), p, cap, wire, 20, out);
      return out;
    }
    case 12:
    case 14:
    case 101:  // raw IP, version from the first nibble
      parse_ip(p, cap, wire, 0, out);
      return out;
    case 0:
    case 108: {  // DLT_NULL (host order) / DLT_LOOP (network order) 4-byte AF_ value
      if (cap < 4) {
        out.cls = ParseClass::kMalformed;
        return out;
      }
      std::uint32_t family = load_be32(p);
      // Whatever the writer's byte order, AF_ values are small: if the high half is set, the
      // bytes are the other way round (tcpdump's print-null.c does the same).
      if ((family & 0xFFFF0000u) != 0)
        family = (family >> 24) | ((family >> 8) & 0xFF00u) | ((family << 8) & 0xFF0000u) |
                 (family << 24);
      int version = 0;
      if (family == 2) {
        version = 4;  // AF_INET everywhere
      } else if (family == 10 || family == 23 || family == 24 || family == 28 || family == 30) {
        version = 6;  // AF_INET6: Linux 10, Windows 23, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30
      } else {
        out.cls = ParseClass::kOther;
        return out;
      }
      parse_ip(p + 4, cap - 4, wire - 4, version, out);
      return out;
    }
    default:
      out.cls = ParseClass::kOther;
      return out;
  }
}

// RTP fixed header + what we use from its extension.
struct RtpHeader {
  std::uint8_t payload_type = 0;
  bool marker = false;
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  bool has_send_time = false;
  std::uint64_t send_time_ns = 0;
  std::uint32_t payload_len = 0;     // captured payload bytes after header, extension and padding
  std::uint32_t payload_offset = 0;  // where they start: after the header and extension
};

// RTP if version 2 and every length inside is consistent with the captured payload; RTCP
// (second byte 200..204: payload types 72..76 with the marker bit, RFC 5761 section 4) is not
// RTP. `complete`: the whole payload was captured, so the padding count can be checked.
inline bool parse_rtp(const std::uint8_t* p, std::size_t len, bool complete,
                      RtpHeader& out) noexcept {
  if (len < 12) return false;
  if ((p[0] >> 6) != 2) return false;
  if (p[1] >= 200 && p[1] <= 204) return false;
  const std::size_t csrc_count = p[0] & 0x0Fu;
  std::size_t header = 12 + 4 * csrc_count;
  if (header > len) return false;
  out.has_send_time = false;
  if ((p[0] & 0x10u) != 0) {  // header extension: profile(2) length in 32-bit words(2) data
    if (header + 4 > len) return false;
    const std::uint16_t profile = load_be16(p + header);
    const std::size_t ext_len = std::size_t{load_be16(p + header + 2)} * 4;
    const std::size_t data = header + 4;
    if (data + ext_len > len) return false;
    if (profile == 0xBEDE) {  // RFC 8285 one-byte elements: ID(4) L(4), L+1 data bytes
      std::size_t i = data;
      const std::size_t end = data + ext_len;
      while (i < end) {
        const std::uint8_t b = p[i];
        if (b == 0) {  // padding byte
          ++i;
          continue;
        }
        const int id = b >> 4;
        if (id == 15) break;  // reserved: stop parsing (RFC 8285 section 4.2)
        const std::size_t elen = std::size_t{b & 0x0Fu} + 1;
        if (i + 1 + elen > end) break;
        if (id == 1 && elen == 8) {
          out.has_send_time = true;
          out.send_time_ns = load_be64(p + i + 1);
        }
        i += 1 + elen;
      }
    }
    header = data + ext_len;
  }
  std::size_t pad = 0;
  if ((p[0] & 0x20u) != 0 && complete) {  // padding: last byte counts padding bytes, itself too
    pad = p[len - 1];
    if (pad == 0 || header + pad > len) return false;
  }
  out.payload_len = static_cast<std::uint32_t>(len - header - pad);
  out.payload_offset = static_cast<std::uint32_t>(header);
  out.payload_type = p[1] & 0x7Fu;
  out.marker = (p[1] & 0x80u) != 0;
  out.seq = load_be16(p + 2);
  out.timestamp = load_be32(p + 4);
  out.ssrc = load_be32(p + 8);
  return true;
}

}  // namespace rtcap::analysis
