// Windows: network namespaces do not exist, so --netns fails with a message that says what to do
// instead. The rest of lab/ (the veth test network) is Linux-only and not built on Windows.
#include "lab/netns.hpp"

namespace rtcap::tool {

std::expected<void, std::string> enter_netns(const std::string& ns) {
  return std::unexpected("--netns " + ns +
                         " is not supported on Windows: network namespaces are a Linux "
                         "feature; capture on an interface of this machine with -i (rtcap -D "
                         "lists them)");
}

}  // namespace rtcap::tool
