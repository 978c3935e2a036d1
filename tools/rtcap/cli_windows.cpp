// Windows: rtcap is the capture command only (cli.hpp; docs/WINDOWS.md says why).
#include "cli.hpp"

namespace rtcap::tool {

void add_platform_commands(CLI::App&, int&) {}

}  // namespace rtcap::tool
