// Linux: SIOCGIFINDEX (the interface exists, and its index; what if_nametoindex asks) and
// SIOCGIFFLAGS on a datagram socket made in the interface's network namespace (IFF_UP:
// administratively up; IFF_RUNNING: the carrier is there, RFC 2863 operstate "up"). A veth whose
// peer is down is up but not running: no packet can arrive on it.
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/link.hpp"
#include "platform/netns.hpp"

namespace rtcap::platform {

LinkState link_state(const std::string& name, const std::string& netns) noexcept {
  LinkState s;
  if (name.empty() || name.size() >= IFNAMSIZ) return s;  // not a kernel interface (e.g. "any")
  // The ioctls answer for the namespace the socket was made in.
  int fd = -1;
  auto make_socket = [&] { fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); };
  if (netns.empty())
    make_socket();
  else if (!platform::run_in_netns(netns, make_socket))
    return s;  // the namespace is gone or cannot be entered: unknown
  if (fd < 0) return s;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  s.known = true;
  // SIOCGIFINDEX is what if_nametoindex does, on a socket of our choosing.
  if (::ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    s.known = errno == ENODEV;  // no such interface; anything else: cannot tell
    ::close(fd);
    return s;
  }
  s.index = unsigned(ifr.ifr_ifindex);
  s.exists = true;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
    s.up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
  else
    s.known = false;
  ::close(fd);
  return s;
}

int ethernet_mtu(const std::string& name) noexcept {
  if (name.empty() || name.size() >= IFNAMSIZ) return 0;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  int mtu = 0;
  // libpcap maps ARPHRD_ETHER and ARPHRD_LOOPBACK to DLT_EN10MB (pcap-linux.c map_arphrd_to_dlt).
  if (::ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 &&
      (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER || ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK) &&
      ::ioctl(fd, SIOCGIFMTU, &ifr) == 0)
    mtu = ifr.ifr_mtu > 0 ? ifr.ifr_mtu : 0;
  ::close(fd);
  return mtu;
}

}  // namespace rtcap::platform
