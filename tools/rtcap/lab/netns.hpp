// --netns: the capture command runs in a network namespace of the lab (or any made by
// `ip netns add`). Linux only; on Windows enter_netns refuses with a line that says what to do.
#pragma once

#include <expected>
#include <string>

namespace rtcap::tool {

// setns(CLONE_NEWNET) of the calling thread into /run/netns/<ns> (or the namespace file at the path
// <ns>), for good. Sockets and threads made afterwards by this thread live in that namespace.
std::expected<void, std::string> enter_netns(const std::string& ns);

}  // namespace rtcap::tool
