// Windows: not implemented yet (GetIfEntry2 on the adapter's LUID would tell); the state is
// reported as unknown, and the engine treats an unknown link as up.
#include "platform/link.hpp"

namespace rtcap::platform {

LinkState link_state(const std::string&) noexcept { return LinkState{}; }

}  // namespace rtcap::platform
