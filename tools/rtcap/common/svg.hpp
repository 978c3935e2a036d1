// What the tools' SVG writers (the bench chart, --streams-svg) share: plain SVG 1.1 text, no
// library, opens in any browser.
#pragma once

#include <string>
#include <string_view>

namespace rtcap::tool {

// Text for an SVG element or attribute. Control characters become '?': some of the text comes
// from the network (SAP session names), and XML 1.0 does not allow most of them.
inline std::string svg_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  return out;
}

}  // namespace rtcap::tool
