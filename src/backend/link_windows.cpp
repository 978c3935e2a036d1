// Windows: not implemented yet (GetIfEntry2 on the adapter's LUID would tell); the state is
// reported as unknown, and the engine treats an unknown link as up.
#include "backend/link.hpp"

namespace rtcap::backend {

LinkState link_state(const std::string&) noexcept { return LinkState{}; }

}  // namespace rtcap::backend
