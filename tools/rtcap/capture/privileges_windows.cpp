// Windows: there is no root to give up. Npcap decides at install time who may capture (all
// users, or Administrators only with "Restrict Npcap driver's access to Administrators only"),
// and a process cannot drop an elevated token to another user's the way setresuid does; so -Z
// is refused with what to do instead, and there are no capabilities to report.
#include "capture/privileges.hpp"

namespace rtcap::tool {

Result<void> drop_privileges(const std::string& user) {
  return make_error(ErrorCode::kUnsupported,
                    "-Z " + user +
                        " is not supported on Windows: run rtcap as the user who should own the "
                        "files (Npcap lets every user capture unless it was installed for "
                        "Administrators only)");
}

unsigned long long permitted_capabilities() { return 0; }

}  // namespace rtcap::tool
