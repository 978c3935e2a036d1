// The words a stream-format message (PcmStreamFormat::why) names the user's two remedies by, so
// that a front end can put its own in their place (the CLI: --sdp FILE, --audio-format).
#pragma once

#include <string>
#include <string_view>

namespace rtcap::analysis {

inline constexpr std::string_view kGiveSdpWords = "give its SDP";
inline constexpr std::string_view kFormatOptionWords = "a format option";

// `text` with each of the two phrases followed (give_sdp) or replaced (format_option).
inline std::string word_format_remedies(std::string text, std::string_view give_sdp_note,
                                        std::string_view format_option) {
  const auto each = [&text](std::string_view from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  each(kGiveSdpWords, std::string(kGiveSdpWords) + std::string(give_sdp_note));
  each(kFormatOptionWords, std::string(format_option));
  return text;
}

}  // namespace rtcap::analysis
