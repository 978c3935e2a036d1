// Linux: if_nametoindex (the interface exists, and its index) and SIOCGIFFLAGS on a datagram
// socket (IFF_UP: administratively up; IFF_RUNNING: the carrier is there, RFC 2863 operstate
// "up"). A veth whose peer is down is up but not running: no packet can arrive on it.
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "platform/link.hpp"

namespace rtcap::platform {

LinkState link_state(const std::string& name) noexcept {
  LinkState s;
  if (name.size() >= IFNAMSIZ) return s;  // not a kernel interface name (e.g. "any"): unknown
  s.index = ::if_nametoindex(name.c_str());
  s.known = true;
  s.exists = s.index != 0;
  if (!s.exists) return s;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    s.known = false;
    return s;
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
    s.up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
  else
    s.known = false;
  ::close(fd);
  return s;
}

}  // namespace rtcap::platform
