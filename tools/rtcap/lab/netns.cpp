// --netns: the library's namespace entry (src/platform/netns_*.cpp), for the whole process. The
// capture command does not use CaptureConfig::netns, which enters for the open only, because
// more than the capture handles must live in the namespace: -D and --list-time-stamp-types list
// its interfaces, and the --metrics listener serves on its addresses, as under `ip netns exec`.
#include "lab/netns.hpp"

#include "platform/netns.hpp"

namespace rtcap::tool {

std::expected<void, std::string> enter_netns(const std::string& ns) {
  auto r = platform::enter_netns(ns);
  if (r) return {};
  if (r.error().code == ErrorCode::kUnsupported)
    return std::unexpected("--netns " + ns +
                           " is not supported on Windows: network namespaces are a Linux "
                           "feature; capture on an interface of this machine with -i (rtcap -D "
                           "lists them)");
  if (r.error().code == ErrorCode::kNoSuchNamespace)
    return std::unexpected(r.error().message + "; or with `rtcap lab up`");
  return std::unexpected(r.error().message);
}

}  // namespace rtcap::tool
