// Windows: the console on standard error.
#include <io.h>
#include <windows.h>

#include <cstdio>

#include "common/live_view.hpp"

namespace rtcap::tool {

bool stderr_is_terminal() { return _isatty(_fileno(stderr)) != 0; }

int stderr_terminal_columns() {
  CONSOLE_SCREEN_BUFFER_INFO info{};
  if (!GetConsoleScreenBufferInfo(GetStdHandle(STD_ERROR_HANDLE), &info)) return 0;
  return info.srWindow.Right - info.srWindow.Left + 1;
}

}  // namespace rtcap::tool
