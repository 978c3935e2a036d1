// Linux: --netns enters a network namespace made by `ip netns add` (or `rtcap lab up`).
#include "lab/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/core.h>

namespace rtcap::tool {
namespace {
constexpr const char* kNetnsDir = "/var/run/netns/";  // where `ip netns add` puts its handles
}  // namespace

std::expected<void, std::string> enter_netns(const std::string& ns) {
  if (ns.empty() || ns.find('/') != std::string::npos || ns == "." || ns == "..")
    return std::unexpected(fmt::format("invalid network namespace name '{}'", ns));
  const std::string path = kNetnsDir + ns;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT)
      return std::unexpected(
          fmt::format("network namespace {} not found ({} missing): create it, for "
                      "example with `rtcap lab up`",
                      ns, path));
    return std::unexpected(fmt::format("cannot open network namespace {} ({}): {}; run as root", ns,
                                       path, std::strerror(err)));
  }
  if (setns(fd, CLONE_NEWNET) != 0) {
    const int err = errno;
    close(fd);
    return std::unexpected(fmt::format("cannot enter network namespace {}: setns: {}; {}", ns,
                                       std::strerror(err),
                                       err == EPERM ? "run as root (needs CAP_SYS_ADMIN)"
                                                    : "check that it is a network namespace"));
  }
  close(fd);
  return {};
}

}  // namespace rtcap::tool
