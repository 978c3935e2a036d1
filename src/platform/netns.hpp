// Network namespaces (Linux): open capture handles inside another namespace without moving the
// process. A packet socket belongs to the namespace it was created in and keeps capturing there
// after the creating thread has left (Linux setns(2), network_namespaces(7)), so only the open
// (pcap_create .. pcap_activate) and the per-interval link look need to run inside.
// Linux: netns_linux.cpp. Windows: netns_windows.cpp (no such thing: kUnsupported).
#pragma once

#include <functional>
#include <string>

#include "rtcap/error.hpp"

namespace rtcap::platform {

// Runs fn with the calling thread in network namespace `ns`, then puts the thread back into the
// namespace it was in, also when fn fails. `ns` is a name made by `ip netns add` (a file in
// /run/netns) or a path to a namespace file (/proc/<pid>/ns/net). Needs CAP_SYS_ADMIN.
Result<void> run_in_netns(const std::string& ns, const std::function<void()>& fn);

// Moves the calling thread into `ns` for good; threads it starts afterwards are there too.
Result<void> enter_netns(const std::string& ns);

}  // namespace rtcap::platform
