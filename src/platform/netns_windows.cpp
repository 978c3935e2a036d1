// Windows: network namespaces are a Linux feature; every call says so.
#include "platform/netns.hpp"

namespace rtcap::platform {
namespace {
Result<void> unsupported(const std::string& ns) {
  return make_error(ErrorCode::kUnsupported,
                    "network namespace '" + ns +
                        "': network namespaces exist only on Linux; leave the namespace setting "
                        "empty and capture on an interface of this machine");
}
}  // namespace

Result<void> run_in_netns(const std::string& ns, const std::function<void()>&) {
  return unsupported(ns);
}
Result<void> enter_netns(const std::string& ns) { return unsupported(ns); }

}  // namespace rtcap::platform
