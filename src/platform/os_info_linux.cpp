// Linux: uname(2) (os_info.hpp).
#include <sys/utsname.h>
#include <unistd.h>

#include <array>

#include "platform/os_info.hpp"

namespace rtcap::platform {
std::string os_description() {
  utsname u{};
  if (::uname(&u) != 0) return {};
  return std::string(u.sysname) + " " + u.release;
}

std::string program_path() {
  std::array<char, 4096> path{};
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size());
  if (n <= 0 || std::size_t(n) >= path.size()) return {};
  return std::string(path.data(), std::size_t(n));
}
}  // namespace rtcap::platform
