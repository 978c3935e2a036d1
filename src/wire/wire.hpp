// The wire formats the library and the tools share, once: big-endian byte order, DLT_* to
// LINKTYPE_* (what files store), and the layout of the packets `rtcap gen` sends (RTP with a
// send-time header extension, or raw UDP with a packet index). Internal, header-only, below
// src/ and tools/: the analysis, the writers, the generator, the bench reader and the tests
// include it.
#pragma once

#include <pcap/dlt.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace rtcap::wire {

// ---- Big-endian (network order) loads and stores: byte-wise, no alignment assumed ----------
inline std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline std::uint64_t load_be64(const std::uint8_t* p) noexcept {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
inline void store_be64(std::uint8_t* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
}

// ---- DLT_* (what a pcap handle reports) to LINKTYPE_* (what files store) ----------------------
// They are the same number for almost every type. The exceptions are the early BSD-era values
// that operating systems numbered differently, which tcpdump.org moved to unique LINKTYPE values
// (libpcap's dlt_to_linktype() in pcap-common.c does the same; it is not public API, so we keep
// the short list here and test it against libpcap's own pcap_dump_open output for every DLT).
// DLT_LINUX_SLL2 (276), DLT_EN10MB (1), DLT_LINUX_SLL (113) and the rest pass through unchanged.
constexpr int kLinktypeAtmRfc1483 = 100;
constexpr int kLinktypeRaw = 101;
constexpr int kLinktypeSlipBsdos = 102;
constexpr int kLinktypePppBsdos = 103;
constexpr int kLinktypeAtmClip = 106;
constexpr int kLinktypeLoop = 108;
constexpr int kLinktypeEnc = 109;
constexpr int kLinktypePfsync = 246;
constexpr int kLinktypePktap = 258;

// An if-chain rather than a switch: on some systems two of these DLT macros share a value
// (OpenBSD: DLT_LOOP 12), and the first match is the one libpcap picks there too.
constexpr int dlt_to_linktype(int dlt) noexcept {
  if (dlt == DLT_ATM_RFC1483) return kLinktypeAtmRfc1483;
  if (dlt == DLT_RAW) return kLinktypeRaw;
  if (dlt == DLT_SLIP_BSDOS) return kLinktypeSlipBsdos;
  if (dlt == DLT_PPP_BSDOS) return kLinktypePppBsdos;
#ifdef DLT_ATM_CLIP
  if (dlt == DLT_ATM_CLIP) return kLinktypeAtmClip;
#endif
  if (dlt == DLT_LOOP) return kLinktypeLoop;
  if (dlt == DLT_ENC) return kLinktypeEnc;
#ifdef DLT_PFSYNC
  if (dlt == DLT_PFSYNC) return kLinktypePfsync;
#endif
#ifdef DLT_PKTAP
  if (dlt == DLT_PKTAP) return kLinktypePktap;
#endif
  return dlt;
}

}  // namespace rtcap::wire

// ---- The packets `rtcap gen` sends -----------------------------------------------------------
// RTP mode (default), one UDP datagram:
//
//   offset  size  field
//   0       12    RTP fixed header (RFC 3550): V=2, P=0, X=1, CC=0, M=0, PT, seq, timestamp, SSRC
//   12      2     0xBEDE  (RFC 8285 one-byte header extension profile)
//   14      2     3       (extension length in 32-bit words, after these 4 bytes)
//   16      1     0x17    (element: ID=1 in the high nibble, L=7 i.e. 8 data bytes)
//   17      8     send time, CLOCK_REALTIME ns, big-endian uint64, read just before sendmmsg
//   25      3     0       (padding to the 4-byte boundary)
//   28      ...   payload (audio samples); when the payload has >= 8 bytes its first 8 bytes hold
//                 the big-endian uint64 per-stream packet index (0,1,2,... over every packet the
//                 schedule produced, including ones dropped on purpose, so it never wraps)
//                 With --tone the whole payload is audio instead: samples big-endian (L16: 2
//                 bytes, L24: 3 bytes, two's complement; PCMU/PCMA: one G.711 byte), channels
//                 interleaved (RFC 3551 section 4.5.11), the tone defined in gen.hpp.
//
// Raw mode (`--payload BYTES`): plain UDP, no RTP; the first min(8, BYTES) bytes of the payload
// are the low-order bytes of the big-endian 64-bit per-stream packet index (with BYTES >= 8 this
// is the full index), the rest is zero.
namespace rtcap::rtp {

inline constexpr std::uint8_t kVersion = 2;
inline constexpr std::size_t kFixedHeaderBytes = 12;
inline constexpr std::uint16_t kOneByteExtProfile = 0xBEDE;  // RFC 8285 section 4.2
inline constexpr std::uint8_t kSendTimeExtId = 1;
inline constexpr std::size_t kSendTimeBytes = 8;
// 4 bytes extension header + 1 element header + 8 data + 3 padding.
inline constexpr std::size_t kExtBytes = 16;
inline constexpr std::uint16_t kExtLengthWords = (kExtBytes - 4) / 4;       // = 3
inline constexpr std::size_t kHeaderBytes = kFixedHeaderBytes + kExtBytes;  // = 28
inline constexpr std::size_t kSendTimeOffset = kFixedHeaderBytes + 4 + 1;   // = 17
inline constexpr std::size_t kPayloadOffset = kHeaderBytes;
inline constexpr std::size_t kIndexBytes = 8;

// Dynamic payload types (RFC 3551 gives L16 only for 44.1 kHz as static 10/11; AES67 streams
// use dynamic types announced in SDP). 97 = L24, 96 = L16. `--payload-type` sends the static
// types 0 (PCMU), 8 (PCMA), 10/11 (L16 44.1 kHz) at their RFC 3551 clocks instead.
inline constexpr std::uint8_t kPayloadTypeL24 = 97;
inline constexpr std::uint8_t kPayloadTypeL16 = 96;

inline constexpr std::uint16_t kDefaultPort = 5004;  // RFC 3551 default RTP port; stream k: +2k

// Writes the low-order min(8, n) bytes of `index`, big-endian, into p[0..n).
inline void put_index(std::uint8_t* p, std::size_t n, std::uint64_t index) noexcept {
  const std::size_t k = n < kIndexBytes ? n : kIndexBytes;
  for (std::size_t i = 0; i < k; ++i) p[i] = static_cast<std::uint8_t>(index >> (8 * (k - 1 - i)));
}
inline std::uint64_t get_index(const std::uint8_t* p, std::size_t n) noexcept {
  const std::size_t k = n < kIndexBytes ? n : kIndexBytes;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < k; ++i) v = (v << 8) | p[i];
  return v;
}

struct HeaderFields {
  std::uint8_t payload_type = kPayloadTypeL24;
  bool marker = false;
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
};

// Writes the 28-byte header (fixed header + send-time extension with time 0) into p.
inline void encode_header(std::uint8_t* p, const HeaderFields& h) noexcept {
  p[0] = static_cast<std::uint8_t>((kVersion << 6) | 0x10);  // V=2, P=0, X=1, CC=0
  p[1] = static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7f));
  wire::store_be16(p + 2, h.seq);
  wire::store_be32(p + 4, h.timestamp);
  wire::store_be32(p + 8, h.ssrc);
  wire::store_be16(p + 12, kOneByteExtProfile);
  wire::store_be16(p + 14, kExtLengthWords);
  p[16] = static_cast<std::uint8_t>((kSendTimeExtId << 4) | (kSendTimeBytes - 1));
  wire::store_be64(p + kSendTimeOffset, 0);
  p[25] = p[26] = p[27] = 0;
}

inline void set_send_time(std::uint8_t* packet, std::uint64_t realtime_ns) noexcept {
  wire::store_be64(packet + kSendTimeOffset, realtime_ns);
}

// What a receiver can read back from one datagram's UDP payload.
struct Decoded {
  std::uint8_t version = 0;
  std::uint8_t payload_type = 0;
  bool marker = false;
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::optional<std::uint64_t> send_time_ns;  // from extension element ID 1 if present
  std::size_t payload_offset = 0;             // from the start of the UDP payload
  std::size_t payload_bytes = 0;
  std::optional<std::uint64_t> index;  // when payload_bytes >= 8
};

// Parses any RTP packet (CSRCs, any extension, padding); finds the send time in a one-byte
// extension. Returns nullopt when it is not RTP version 2 or is truncated.
inline std::optional<Decoded> decode(const std::uint8_t* p, std::size_t n) noexcept {
  if (n < kFixedHeaderBytes) return std::nullopt;
  Decoded d;
  d.version = static_cast<std::uint8_t>(p[0] >> 6);
  if (d.version != kVersion) return std::nullopt;
  const bool padding = (p[0] & 0x20) != 0;
  const bool ext = (p[0] & 0x10) != 0;
  const std::size_t cc = p[0] & 0x0f;
  d.marker = (p[1] & 0x80) != 0;
  d.payload_type = p[1] & 0x7f;
  d.seq = wire::load_be16(p + 2);
  d.timestamp = wire::load_be32(p + 4);
  d.ssrc = wire::load_be32(p + 8);
  std::size_t off = kFixedHeaderBytes + 4 * cc;
  if (off > n) return std::nullopt;
  if (ext) {
    if (off + 4 > n) return std::nullopt;
    const std::uint16_t profile = wire::load_be16(p + off);
    const std::size_t words = wire::load_be16(p + off + 2);
    const std::size_t ext_end = off + 4 + 4 * words;
    if (ext_end > n) return std::nullopt;
    if (profile == kOneByteExtProfile) {
      std::size_t q = off + 4;
      while (q < ext_end) {
        const std::uint8_t b = p[q];
        if (b == 0) {
          ++q;
          continue;
        }  // padding byte
        const std::uint8_t id = b >> 4;
        const std::size_t len = (b & 0x0f) + 1u;
        if (id == 15) break;  // reserved: stop parsing (RFC 8285 4.2)
        if (q + 1 + len > ext_end) break;
        if (id == kSendTimeExtId && len == kSendTimeBytes)
          d.send_time_ns = wire::load_be64(p + q + 1);
        q += 1 + len;
      }
    }
    off = ext_end;
  }
  std::size_t end = n;
  if (padding) {
    const std::size_t pad = p[n - 1];
    if (pad == 0 || off + pad > n) return std::nullopt;
    end = n - pad;
  }
  d.payload_offset = off;
  d.payload_bytes = end - off;
  if (d.payload_bytes >= kIndexBytes) d.index = wire::load_be64(p + off);
  return d;
}

}  // namespace rtcap::rtp
