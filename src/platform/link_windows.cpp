// Windows: not implemented yet (GetIfEntry2 on the adapter's LUID would tell); the state is
// reported as unknown, and the engine treats an unknown link as up; the MTU as unknown (0).
#include "platform/link.hpp"

namespace rtcap::platform {

LinkState link_state(const std::string&, const std::string&) noexcept { return LinkState{}; }

int ethernet_mtu(const std::string&) noexcept { return 0; }

}  // namespace rtcap::platform
