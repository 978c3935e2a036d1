// Text that came off the wire (SAP/SDP session names, origins, encodings), made safe for every
// front end that shows it: the terminal table, the JSON, the SVG (XML), the metrics. One rule for
// all of them:
// - valid UTF-8: each maximal invalid subsequence becomes U+FFFD (Unicode 15, section 3.9, as
//   browsers decode), so XML and JSON parsers accept the document;
// - no C0 or C1 control characters and no DEL: ESC and the 8-bit CSI (0x9B, U+009B) would drive
//   a terminal, and XML 1.0 forbids most C0 characters; U+FFFE and U+FFFF (XML forbids them too)
//   become U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtcap::analysis {

inline std::string printable_text(std::string_view in) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(in.size());
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(in[i]); };
  for (std::size_t i = 0; i < in.size();) {
    const std::uint8_t b = byte(i);
    if (b < 0x80) {
      if (b >= 0x20 && b != 0x7F) out += char(b);
      ++i;
      continue;
    }
    // The length of the sequence and the range of its second byte (Table 3-7).
    std::size_t len = 0;
    std::uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;  // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;  // <= U+10FFFF
    }
    std::size_t ok = len ? 1 : 0;  // bytes of a well-formed prefix
    while (ok > 0 && ok < len && i + ok < in.size()) {
      const std::uint8_t c = byte(i + ok);
      if (c < (ok == 1 ? lo : 0x80) || c > (ok == 1 ? hi : 0xBF)) break;
      ++ok;
    }
    if (len == 0 || ok < len) {
      out += kReplacement;
      i += ok ? ok : 1;
      continue;
    }
    std::uint32_t cp = b & (0xFF >> (len + 1));
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (byte(i + k) & 0x3F);
    if (cp >= 0x80 && cp <= 0x9F) {
      // C1 control: dropped
    } else if (cp == 0xFFFE || cp == 0xFFFF) {
      out += kReplacement;
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
  return out;
}

}  // namespace rtcap::analysis
