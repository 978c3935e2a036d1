// Least privilege: give up root after the capture handles are open, as tcpdump -Z does.
//
// Call order in the CLI (tcpdump's, for the same reasons):
//   enter_netns (needs root) -> Engine::open (needs CAP_NET_RAW/CAP_NET_ADMIN) -> metrics
//   listen socket -> drop_privileges(user) -> CaptureWriter::open (the file is created by the
//   unprivileged user, who must be able to write there) -> engine->start().
// Open pcap handles and sockets stay usable after the drop; nothing can be opened anew.
#pragma once

#include <string>

#include "rtcap/error.hpp"

namespace rtcap::tool {

// As root (real or effective uid 0): initgroups(user), setresgid(gid x3), setresuid(uid x3),
// PR_SET_NO_NEW_PRIVS, then verifies that root cannot be regained (setuid(0) and setgid(0) must
// fail, every uid/gid is the user's, no capability is left in the permitted set).
// Not root (for example a binary with file capabilities run by `user` itself): `user` must be the
// current user; the capabilities the process still holds are cleared (capset), so that the
// capture runs with no privilege at all. Anything else is an error with one line naming the user
// and the fix. On error the process may be half-dropped: the caller must exit.
Result<void> drop_privileges(const std::string& user);

// Capabilities in the permitted set of this process (bit n = capability n), for tests and -v.
unsigned long long permitted_capabilities();

}  // namespace rtcap::tool
