// --netns: the capture command runs in a network namespace of the lab (or any made by
// `ip netns add`). Linux only; on Windows enter_netns refuses with a line that says what to do.
#pragma once

#include <expected>
#include <string>

namespace rtcap::tool {

// setns(CLONE_NEWNET) of the calling thread into /var/run/netns/<ns>. Sockets opened afterwards
// by this thread live in that namespace.
std::expected<void, std::string> enter_netns(const std::string& ns);

}  // namespace rtcap::tool
