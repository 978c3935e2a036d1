#include "common/live_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace rtcap::tool {
namespace {

// Characters on the screen: UTF-8 continuation bytes take no column (wide CJK characters are
// taken as one: session names are shown sanitised, rarely wide).
std::size_t screen_width(std::string_view line) {
  std::size_t n = 0;
  for (char c : line) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The first `columns` characters of `line`, never half a UTF-8 sequence.
std::string cut_to_width(const std::string& line, std::size_t columns) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < line.size(); ++i)
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80 && seen++ == columns)
      return line.substr(0, i);
  return line;
}

}  // namespace

void LiveStreamView::draw(std::FILE* out, const std::string& status_line,
                          const TrackerSnapshot& snapshot, int columns, bool wide) {
  std::string block = status_line;
  if (block.empty() || block.back() != '\n') block += '\n';
  const std::size_t fit = columns > 1 ? static_cast<std::size_t>(columns) - 1 : 0;
  block += format_stream_table(snapshot, wide ? 0 : fit);
  std::string text;
  if (lines_ > 0)
    text += fmt::format("\x1b[{}A\r\x1b[J", lines_);  // up over the last drawing, clear below
  lines_ = 0;
  for (std::size_t at = 0; at < block.size();) {
    const std::size_t nl = block.find('\n', at);
    std::string line = block.substr(at, nl - at);
    if (fit > 0 && !wide) line = cut_to_width(line, fit);
    text += line + '\n';
    // --wide lines wrap: each screen line is one more to move up over next time.
    lines_ +=
        fit > 0 && wide ? std::max<std::size_t>(1, (screen_width(line) + fit) / (fit + 1)) : 1;
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

void LiveStreamView::note(std::FILE* out, const std::string& line) {
  std::string text;
  if (lines_ > 0) text += fmt::format("\x1b[{}A\r\x1b[J", lines_);
  text += line;
  if (text.empty() || text.back() != '\n') text += '\n';
  lines_ = 0;  // the block is gone; the next draw() starts below the note
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

}  // namespace rtcap::tool
