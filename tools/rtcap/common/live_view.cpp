#include "common/live_view.hpp"

#include <fmt/format.h>

namespace rtcap::tool {

void LiveStreamView::draw(std::FILE* out, const std::string& status_line,
                          const TrackerSnapshot& snapshot, int columns) {
  std::string block = status_line;
  if (block.empty() || block.back() != '\n') block += '\n';
  block += format_stream_table(snapshot);
  std::string text;
  if (lines_ > 0)
    text += fmt::format("\x1b[{}A\r\x1b[J", lines_);  // up over the last drawing, clear below
  lines_ = 0;
  for (std::size_t at = 0; at < block.size();) {
    const std::size_t nl = block.find('\n', at);
    std::string line = block.substr(at, nl - at);
    if (columns > 1 && line.size() >= static_cast<std::size_t>(columns))
      line.resize(static_cast<std::size_t>(columns) - 1);
    text += line + '\n';
    ++lines_;
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
