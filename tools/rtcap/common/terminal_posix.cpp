// Linux: the terminal on standard error (isatty, TIOCGWINSZ).
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/live_view.hpp"

namespace rtcap::tool {

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

int stderr_terminal_columns() {
  winsize ws{};
  return ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

}  // namespace rtcap::tool
