// Linux: uname(2) (os_info.hpp).
#include <sys/utsname.h>

#include "platform/os_info.hpp"

namespace rtcap::platform {
std::string os_description() {
  utsname u{};
  if (::uname(&u) != 0) return {};
  return std::string(u.sysname) + " " + u.release;
}
}  // namespace rtcap::platform
