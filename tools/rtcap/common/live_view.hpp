// The live view of the capture command and of `rtcap demo`: a status line and the stream table,
// redrawn in place on a terminal (as top does). One file per platform for the terminal itself:
// terminal_posix.cpp, terminal_windows.cpp.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

#include "rtcap/analysis.hpp"

namespace rtcap::tool {

// Standard error is a terminal (the live view redraws in place only there).
bool stderr_is_terminal();
// Columns of the terminal on standard error; 0 when unknown.
int stderr_terminal_columns();

// Redraws `status + table` in place: moves the cursor up over what it drew last and clears to
// the end of the screen (ANSI CSI n A, CSI J), then draws again. One write per redraw.
class LiveStreamView {
 public:
  // `columns` > 0: the table keeps the columns that fit in columns - 1 characters, by priority,
  // and each line is cut there (as top does), so none wraps and the count of lines to move up
  // stays right. `wide`: every column; long lines wrap and are counted as the lines they fill.
  void draw(std::FILE* out, const std::string& status_line, const TrackerSnapshot& snapshot,
            int columns, bool wide = false);
  // A line that must stay (advice, warnings): printed above the block, which is drawn again below.
  void note(std::FILE* out, const std::string& line);
  [[nodiscard]] std::size_t lines_drawn() const noexcept { return lines_; }

 private:
  std::size_t lines_ = 0;
};

}  // namespace rtcap::tool
