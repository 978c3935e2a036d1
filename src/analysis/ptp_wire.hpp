// IEEE 1588-2008 (PTPv2) messages as they travel: the common header (section 13.3), the bodies
// rtcap reads (13.5 Announce, 13.6 Sync/Delay_Req, 13.7 Follow_Up, 13.8 Delay_Resp, 13.9-13.11
// peer delay), the transports (Annex D UDP/IPv4, Annex E UDP/IPv6, Annex F Ethernet). Private to
// librtcap; the unit tests and the fuzz target include it through the src/ include path.
//
// parse_ptp never trusts messageLength before comparing it with the captured bytes and with the
// fixed size of the message type, and reads nothing past min(messageLength, captured).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "analysis/packet_parser.hpp"

namespace rtcap::analysis::ptp {

inline constexpr std::uint16_t kEventPort = 319;    // Annex D.2: Sync, Delay_Req, Pdelay_*
inline constexpr std::uint16_t kGeneralPort = 320;  // Announce, Follow_Up, Delay_Resp, ...
inline constexpr std::uint16_t kEtherType = kEtherTypePtp;
// Annex D.3 / E.3 / F.3 destinations.
inline constexpr const char* kGroupIpv4 = "224.0.1.129";
inline constexpr const char* kGroupIpv4PeerDelay = "224.0.0.107";
inline constexpr const char* kGroupIpv6LinkLocal = "ff02::181";
inline constexpr const char* kGroupIpv6PeerDelay = "ff02::6b";

enum class MessageType : std::uint8_t {
  kSync = 0x0,
  kDelayReq = 0x1,
  kPdelayReq = 0x2,
  kPdelayResp = 0x3,
  kFollowUp = 0x8,
  kDelayResp = 0x9,
  kPdelayRespFollowUp = 0xA,
  kAnnounce = 0xB,
  kSignaling = 0xC,
  kManagement = 0xD,
};

inline constexpr std::size_t kHeaderBytes = 34;
inline constexpr std::size_t kTimestampBytes = 10;  // 48-bit seconds + 32-bit nanoseconds
inline constexpr std::size_t kPortIdentityBytes = 10;
inline constexpr std::size_t kAnnounceBytes = 64;
// flagField bits (table 20), as the 16-bit big-endian word: octet 0 in the high byte.
inline constexpr std::uint16_t kFlagTwoStep = 0x0200;
inline constexpr std::uint16_t kFlagUnicast = 0x0400;
inline constexpr std::uint16_t kFlagUtcOffsetValid = 0x0004;
inline constexpr std::uint16_t kFlagPtpTimescale = 0x0008;

// Bytes a message of this type needs at least (header + fixed body); 0: a type 1588-2008 leaves
// reserved (4-7, 0xE, 0xF).
[[nodiscard]] constexpr std::size_t min_length(std::uint8_t type) noexcept {
  switch (type) {
    case 0x0:  // Sync: originTimestamp
    case 0x1:  // Delay_Req: originTimestamp
    case 0x8:  // Follow_Up: preciseOriginTimestamp
      return kHeaderBytes + kTimestampBytes;
    case 0x2:  // Pdelay_Req: originTimestamp + 10 reserved
    case 0x3:  // Pdelay_Resp: requestReceiptTimestamp + requestingPortIdentity
    case 0x9:  // Delay_Resp: receiveTimestamp + requestingPortIdentity
    case 0xA:  // Pdelay_Resp_Follow_Up: responseOriginTimestamp + requestingPortIdentity
      return kHeaderBytes + kTimestampBytes + kPortIdentityBytes;
    case 0xB:
      return kAnnounceBytes;
    case 0xC:  // Signaling: targetPortIdentity
      return kHeaderBytes + kPortIdentityBytes;
    case 0xD:  // Management: targetPortIdentity + startingBoundaryHops, boundaryHops, action, res.
      return kHeaderBytes + kPortIdentityBytes + 4;
    default:
      return 0;
  }
}

// Event messages are time stamped and go to port 319; the others to 320 (Annex D.2).
[[nodiscard]] constexpr bool is_event(std::uint8_t type) noexcept { return type < 4; }

struct Timestamp {
  std::uint64_t seconds = 0;  // 48 bits
  std::uint32_t nanoseconds = 0;
  [[nodiscard]] bool valid() const noexcept { return nanoseconds < 1'000'000'000u; }
};

struct PortIdentity {
  std::uint8_t clock[8] = {};
  std::uint16_t port = 0;
  [[nodiscard]] bool operator==(const PortIdentity& o) const noexcept {
    return port == o.port && std::memcmp(clock, o.clock, 8) == 0;
  }
};

struct Announce {
  std::int16_t current_utc_offset = 0;
  std::uint8_t priority1 = 0;
  std::uint8_t clock_class = 0;
  std::uint8_t clock_accuracy = 0;
  std::uint16_t offset_scaled_log_variance = 0;
  std::uint8_t priority2 = 0;
  std::uint8_t grandmaster[8] = {};
  std::uint16_t steps_removed = 0;
  std::uint8_t time_source = 0;
};

enum class ParseResult : std::uint8_t {
  kOk,
  kTruncated,    // fewer bytes captured than the header, the type's body or messageLength
  kBadLength,    // messageLength shorter than the header or than the type's fixed body
  kBadVersion,   // versionPTP other than 2 (PTPv1 has another layout)
  kUnknownType,  // a messageType 1588-2008 reserves
};

struct Message {
  std::uint8_t transport_specific = 0;
  std::uint8_t type = 0;  // MessageType value
  std::uint16_t length = 0;
  std::uint8_t domain = 0;
  std::uint16_t flags = 0;
  std::int64_t correction = 0;  // ns x 2^16
  PortIdentity source;
  std::uint16_t sequence_id = 0;
  std::int8_t log_interval = 0;  // log2 seconds; 0x7F: not given
  Timestamp timestamp;           // origin / preciseOrigin / receive timestamp, per type
  PortIdentity requesting;       // Delay_Resp, Pdelay_Resp(_Follow_Up)
  Announce announce;             // Announce only
  [[nodiscard]] bool two_step() const noexcept { return (flags & kFlagTwoStep) != 0; }
};

inline Timestamp load_timestamp(const std::uint8_t* p) noexcept {
  Timestamp t;
  t.seconds = (std::uint64_t{load_be16(p)} << 32) | load_be32(p + 2);
  t.nanoseconds = load_be32(p + 6);
  return t;
}
inline PortIdentity load_port_identity(const std::uint8_t* p) noexcept {
  PortIdentity id;
  std::memcpy(id.clock, p, 8);
  id.port = load_be16(p + 8);
  return id;
}

// One PTP message at `p` (a UDP payload or what follows EtherType 0x88F7), `cap` bytes captured.
// Bytes past messageLength (Ethernet padding, suffix TLVs counted in it are inside) are ignored.
[[nodiscard]] inline ParseResult parse_ptp(const std::uint8_t* p, std::size_t cap,
                                           Message& m) noexcept {
  if (cap < kHeaderBytes) return ParseResult::kTruncated;
  if ((p[1] & 0x0Fu) != 2) return ParseResult::kBadVersion;
  m.transport_specific = p[0] >> 4;
  m.type = p[0] & 0x0Fu;
  m.length = load_be16(p + 2);
  const std::size_t need = min_length(m.type);
  if (need == 0) return ParseResult::kUnknownType;
  if (m.length < need) return ParseResult::kBadLength;
  if (cap < m.length) return ParseResult::kTruncated;
  m.domain = p[4];
  m.flags = load_be16(p + 6);
  m.correction = static_cast<std::int64_t>(load_be64(p + 8));
  m.source = load_port_identity(p + 20);
  m.sequence_id = load_be16(p + 30);
  m.log_interval = static_cast<std::int8_t>(p[33]);
  const std::uint8_t* body = p + kHeaderBytes;
  if (m.type != static_cast<std::uint8_t>(MessageType::kSignaling) &&
      m.type != static_cast<std::uint8_t>(MessageType::kManagement))
    m.timestamp = load_timestamp(body);
  if (need == kHeaderBytes + kTimestampBytes + kPortIdentityBytes &&
      m.type != static_cast<std::uint8_t>(MessageType::kPdelayReq))
    m.requesting = load_port_identity(body + kTimestampBytes);
  if (m.type == static_cast<std::uint8_t>(MessageType::kAnnounce)) {
    Announce& a = m.announce;
    a.current_utc_offset = static_cast<std::int16_t>(load_be16(p + 44));
    a.priority1 = p[47];
    a.clock_class = p[48];
    a.clock_accuracy = p[49];
    a.offset_scaled_log_variance = load_be16(p + 50);
    a.priority2 = p[52];
    std::memcpy(a.grandmaster, p + 53, 8);
    a.steps_removed = load_be16(p + 61);
    a.time_source = p[63];
  }
  return ParseResult::kOk;
}

}  // namespace rtcap::analysis::ptp
