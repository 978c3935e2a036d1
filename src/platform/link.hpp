// Is a capture interface there and up? Read by the capture thread once per statistics interval
// (a system call or two per interface per second), so that a link that goes down and comes back
// is reported, and --reopen knows when a deleted interface has been re-created.
// Linux (link_linux.cpp): SIOCGIFINDEX, SIOCGIFFLAGS (and SIOCGIFHWADDR/SIOCGIFMTU for the MTU).
// Windows (link_windows.cpp): unknown for now. In src/platform, not src/backend: it asks the
// operating system, not libpcap.
#pragma once

#include <string>

namespace rtcap::platform {

struct LinkState {
  bool known = false;   // false: this platform cannot tell (Windows today); treat as up
  bool exists = false;  // an interface of this name exists (it may have a new index)
  bool up = false;      // administratively up and running (Linux IFF_UP and IFF_RUNNING)
  unsigned index = 0;   // its interface index (changes when it is deleted and re-created)
};

// netns: the network namespace the interface lives in (CaptureConfig::netns; empty: the caller's).
LinkState link_state(const std::string& name, const std::string& netns = {}) noexcept;

// The MTU of an interface whose packets libpcap delivers with an Ethernet header (Ethernet, veth,
// bridges, loopback: DLT_EN10MB), read when a capture opens. 0: another link type ("any", tun,
// Wi-Fi in monitor mode), no such interface, or this platform cannot tell (Windows today).
int ethernet_mtu(const std::string& name) noexcept;

}  // namespace rtcap::platform
