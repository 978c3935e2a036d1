// SAP (RFC 2974) and SDP (RFC 8866) as AES67 / ST 2110-30 senders use them: what a stream is
// (session name, encoding, channels, rate, packet time) and where it goes (group, port, source).
//
//   std::vector<rtcap::SdpFormat> f = rtcap::parse_sdp(text, "file a.sdp");
//   rtcap::SapMessage m;
//   if (rtcap::parse_sap(bytes, len, m, &why)) formats = rtcap::parse_sdp(m.sdp, "sap ...");
//
// Both parsers treat their input as hostile: every length is checked against what is there,
// unknown lines are skipped, nothing is trusted to be NUL-terminated. Not on the hot path (a SAP
// announcement arrives every ~30 s per session; RFC 2974 section 3.1 allows minutes).
// Compiles as C++17.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtcap/export.hpp"

namespace rtcap {

struct RTCAP_API IpAddress {
  std::uint8_t family = 0;                      // 4 or 6 (0: unset)
  std::array<std::uint8_t, 16> bytes{};         // IPv4 in the first 4 bytes
  [[nodiscard]] std::string to_string() const;  // dotted quad, or RFC 5952 text for IPv6
  [[nodiscard]] bool operator==(const IpAddress& o) const noexcept {
    return family == o.family && bytes == o.bytes;
  }
  [[nodiscard]] bool operator!=(const IpAddress& o) const noexcept { return !(*this == o); }
  // Dotted quad or IPv6 text (inet_pton); false (and *this unchanged) when it is neither.
  bool parse(std::string_view text);
};

// One audio (or other) media description of an SDP, with the session-level lines it inherits.
// This is the "format" the stream table shows beside a stream the SDP describes.
struct RTCAP_API SdpFormat {
  std::string session_name;      // s= ("-" or empty when the SDP had none)
  std::string origin;            // where it came from: "sap 198.18.0.1" or "file path.sdp"
  std::string media;             // m= media type: "audio", "video", ...
  IpAddress group;               // c= connection address (multicast group or unicast dst)
  int ttl = -1;                  // c= IPv4 multicast /TTL; -1: not given
  std::uint16_t port = 0;        // m= port
  int payload_type = -1;         // m= first format number (the one a=rtpmap describes)
  std::string encoding;          // a=rtpmap encoding name as written: "L24", "L16", "AM824"...
  std::uint32_t clock_rate = 0;  // a=rtpmap rate (Hz); 0: no usable rtpmap for payload_type
                                 // (none, or a rate outside kMinClockRateHz..kMaxClockRateHz)
  int channels = 0;              // a=rtpmap channels; 1 when rtpmap gives none; 0: no rtpmap
  double ptime_ms = 0;           // a=ptime (ms, may be fractional: 0.125); 0: not given
  IpAddress source;              // a=source-filter: incl ... the (first) allowed source; unset: any
  std::string ts_refclk;         // a=ts-refclk value as written, e.g. "ptp=IEEE1588-2008:..."
  // RFC 7273 section 4.8, from ts_refclk: ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:0 names a
  // grandmaster (EUI-64) and a domain (0 when left out); ptp=IEEE1588-2008:traceable names none.
  bool has_ptp_refclk = false;
  std::array<std::uint8_t, 8> ptp_grandmaster{};
  int ptp_domain = 0;
  bool ptp_traceable = false;
  bool has_mediaclk_offset = false;
  std::uint32_t mediaclk_offset = 0;  // a=mediaclk:direct=N (RTP ts offset from the media clock)
  bool deleted = false;               // a SAP deletion announced the end of this session
  // SMPTE ST 2022-7 legs: a=mid (RFC 5888) of this m= line, and its place in a session-level
  // a=group:DUP naming two mids (RFC 7104): dup_group is the group's index among the SDP's DUP
  // groups, dup_leg 0 for the first mid listed, 1 for the second; -1 when not a leg of one.
  // The two formats of one SDP (same origin) with the same dup_group are one stream's two paths.
  std::string mid;
  int dup_group = -1;
  int dup_leg = -1;
  // Why the a=rtpmap of payload_type was not used, e.g. "rtpmap L24/0/2: clock rate 0 Hz out of
  // range 1000..768000" (then encoding, clock_rate and channels stay unset); empty when it was
  // used or when there was none. Every front end says this rather than "no SDP".
  std::string refused;

  // Bytes per sample of the encoding: L16 2, L24 3, AM824 4, PCMU/PCMA 1; 0: unknown.
  [[nodiscard]] int sample_bytes() const noexcept;
};

// A format given by the user for the streams it selects (--audio-format SELECTOR=ENC/RATE/CH):
// the selector names a payload type, a destination (address and port), an SSRC, or several of
// them ("239.69.1.1:5004/97", "0x1a2b3c4d", "97"), so that several PT 97 streams of different
// formats (the normal AES67 case) each get theirs.
struct RTCAP_API FormatOption {
  IpAddress dst;          // unset: any destination
  int port = -1;          // -1: any
  int payload_type = -1;  // -1: any
  bool has_ssrc = false;
  std::uint32_t ssrc = 0;
  std::string encoding;  // "L16", "L24"
  std::uint32_t clock_rate = 0;
  int channels = 0;
  std::string text;  // as given, for messages
};
// "L24/48000/2" (channels default to 1) with L16 or L24 and the ranges below; empty on success,
// else one line saying what is wrong.
[[nodiscard]] RTCAP_API std::string parse_pcm_encoding(std::string_view text, std::string& encoding,
                                                       std::uint32_t& rate, int& channels);
// "SELECTOR=ENC/RATE/CH" as above; empty on success, else one line quoting what was wrong
// (a front end adds its own words: the CLI names --audio-format).
[[nodiscard]] RTCAP_API std::string parse_format_option(std::string_view text, FormatOption& out);

// Every media description of an SDP text (RFC 8866 section 5), session-level c=/a= lines
// applied where the media level gives none. Lines may end in CRLF or LF. Never throws on bad
// input: what cannot be parsed is skipped, and a text without m= gives an empty vector.
[[nodiscard]] RTCAP_API std::vector<SdpFormat> parse_sdp(std::string_view text,
                                                         std::string_view origin);

// parse_sdp for an SDP the application gives as the description of its streams, which must
// describe one: "" and the formats in `out`, or why not ("holds no media description (m=)") for
// the front end to word. AudioSubscription::sdp_text, the C API, Python and the CLI's SDP file
// all read this rule: an empty answer never silently widens a selection to every stream.
[[nodiscard]] RTCAP_API std::string parse_sdp_streams(std::string_view text,
                                                      std::string_view origin,
                                                      std::vector<SdpFormat>& out);

// RFC 2974 section 3 packet.
struct SapMessage {
  int version = 0;           // must be 1
  bool ipv6_origin = false;  // A bit
  bool deletion = false;     // T bit: session deleted
  bool encrypted = false;    // E bit: payload encrypted (not parsed)
  bool compressed = false;   // C bit: payload zlib-compressed (not parsed)
  std::uint16_t msg_id_hash = 0;
  IpAddress origin;          // originating source
  std::string payload_type;  // e.g. "application/sdp"; empty when absent (then SDP is implied)
  std::string sdp;           // the payload text, when neither encrypted nor compressed
};

// Parses one SAP datagram (the UDP payload). False with `*error` set (one line) when it is not a
// SAP packet rtcap can read; an encrypted or compressed one parses (true) with an empty `sdp`.
RTCAP_API bool parse_sap(const std::uint8_t* data, std::size_t len, SapMessage& out,
                         std::string* error = nullptr);

// The values a media format may take, checked once where they enter (parse_sdp, --audio-format):
// 1 kHz..768 kHz covers every audio rate in use and the 90 kHz video clock; 64 channels is the
// most an ST 2110-30 level C stream or a MADI-over-AES67 bridge carries.
inline constexpr std::uint32_t kMinClockRateHz = 1000;
inline constexpr std::uint32_t kMaxClockRateHz = 768000;
inline constexpr int kMaxChannels = 64;
inline constexpr double kMaxPtimeMs = 1000;  // a=ptime above one second is not a packet time
// a=group:DUP and a=mid: ST 2022-7 sends two copies, so a group names exactly two mids; a sender
// describes a few streams per SDP. More groups, longer mids, or a mid no m= line carries are
// not used (the m= lines then stand alone).
inline constexpr int kMaxDupGroups = 16;
inline constexpr std::size_t kMaxMidBytes = 64;

inline constexpr std::uint16_t kSapPort = 9875;  // RFC 2974 section 3
// AES67 (section 7.2.2 via RFC 2974): the administratively scoped SAP address, and the global one.
inline constexpr const char* kSapGroupAdminScoped = "239.255.255.255";
inline constexpr const char* kSapGroupGlobal = "224.2.127.254";

}  // namespace rtcap
