#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "capture/host.hpp"
#include "rtcap/sdp.hpp"

namespace rtcap::tool {

CapturePlatform host_capture_platform() noexcept { return CapturePlatform::kLinuxLibpcap; }

std::string load_capture_library() { return {}; }  // libpcap is linked

bool is_pipe_or_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

SapMembership::~SapMembership() {
  for (int fd : sockets_) ::close(fd);  // leaving the groups: the kernel sends the IGMP leave
}

std::expected<void, std::string> SapMembership::join(const std::vector<std::string>& interfaces) {
  return join(interfaces, {kSapGroupAdminScoped, kSapGroupGlobal}, "--sap");
}

std::expected<void, std::string> SapMembership::join(const std::vector<std::string>& interfaces,
                                                     const std::vector<const char*>& groups,
                                                     const char* option) {
  const std::string opt = option;
  for (const std::string& name : interfaces) {
    const unsigned index = if_nametoindex(name.c_str());
    if (index == 0)
      return std::unexpected(opt + ": no interface '" + name +
                             "' to join the groups on (rtcap -D lists them)");
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::unexpected(opt + ": cannot open a UDP socket: " + std::strerror(errno));
    sockets_.push_back(fd);
    for (const char* group : groups) {
      ip_mreqn m{};
      if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1) continue;
      m.imr_ifindex = static_cast<int>(index);
      if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0)
        return std::unexpected(opt + ": cannot join " + std::string(group) + " on " + name + ": " +
                               std::strerror(errno) +
                               " (does the interface have an IPv4 address and multicast enabled?)");
      ++joined_;
    }
  }
  return {};
}

}  // namespace rtcap::tool
