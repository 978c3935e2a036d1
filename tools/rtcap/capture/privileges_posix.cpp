// Dropping privileges the way tcpdump's droproot() does (initgroups, setgid, setuid), plus the
// checks OpenBSD's and CERT's guidance add: verify the drop, because a setuid() that "worked" as
// a non-root saved uid, or a kept capability, would leave a way back.
#include "capture/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace rtcap::tool {
namespace {

// capget/capset through syscall(): glibc does not wrap them and libcap would be a dependency for
// two calls. Version 3 carries 64 capability bits in two 32-bit words.
bool read_caps(__user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return ::syscall(SYS_capget, &header, data) == 0;
}

bool clear_caps() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  return ::syscall(SYS_capset, &header, data) == 0;
}

Result<void> fail(const std::string& message) {
  return make_error(ErrorCode::kPermission, message);
}

}  // namespace

unsigned long long permitted_capabilities() {
  __user_cap_data_struct data[2] = {};
  if (!read_caps(data)) return ~0ull;
  return (static_cast<unsigned long long>(data[1].permitted) << 32) | data[0].permitted;
}

Result<void> drop_privileges(const std::string& user) {
  if (user.empty()) return fail("-Z needs a user name, for example -Z nobody");
  long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(static_cast<std::size_t>(size > 0 ? size : 16384));
  passwd pw{};
  passwd* found = nullptr;
  int rc;
  while ((rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE)
    buf.resize(buf.size() * 2);
  if (rc != 0)
    return fail(fmt::format("-Z {}: cannot look the user up: {}", user, std::strerror(rc)));
  if (!found)
    return fail(
        fmt::format("-Z {}: no such user; create it (useradd --system {}) or name an "
                    "existing one, for example -Z nobody",
                    user, user));
  const uid_t uid = pw.pw_uid;
  const gid_t gid = pw.pw_gid;
  if (uid == 0)
    return fail(
        fmt::format("-Z {}: that user is root (uid 0); name an unprivileged user, for "
                    "example -Z nobody",
                    user));

  if (::getuid() != 0 && ::geteuid() != 0) {
    // Not root: only "become who I already am" makes sense; then shed file capabilities.
    if (::getuid() != uid)
      return fail(
          fmt::format("-Z {}: only root can switch users, and this process runs as uid "
                      "{}; run rtcap as root, or run it as {} with file capabilities "
                      "(setcap cap_net_raw,cap_net_admin=eip) and keep -Z {}",
                      user, ::getuid(), user, user));
    if (!clear_caps())
      return fail(fmt::format("-Z {}: cannot clear capabilities: {}", user, std::strerror(errno)));
  } else {
    if (::initgroups(pw.pw_name, gid) != 0)
      return fail(fmt::format("-Z {}: initgroups failed: {}", user, std::strerror(errno)));
    if (::setresgid(gid, gid, gid) != 0)
      return fail(fmt::format("-Z {}: setgid({}) failed: {}", user, gid, std::strerror(errno)));
    if (::setresuid(uid, uid, uid) != 0)
      return fail(fmt::format("-Z {}: setuid({}) failed: {}", user, uid, std::strerror(errno)));
  }
  // No execve() can hand privileges back (setuid binaries, file capabilities).
  (void)::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

  // Verify: every id is the user's, root cannot be regained, no capability is left.
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0)
    return fail(
        fmt::format("-Z {}: cannot read back the process ids: {}", user, std::strerror(errno)));
  if (ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid)
    return fail(
        fmt::format("-Z {}: ids after the drop are uid {}/{}/{} gid {}/{}/{}, want {} and "
                    "{}; refusing to capture",
                    user, ruid, euid, suid, rgid, egid, sgid, uid, gid));
  if (::setuid(0) == 0 || ::seteuid(0) == 0)
    return fail(
        fmt::format("-Z {}: root could be regained after the drop; refusing to capture", user));
  if (::setgid(0) == 0 && gid != 0)
    return fail(
        fmt::format("-Z {}: group root could be regained after the drop; refusing to "
                    "capture",
                    user));
  if (const unsigned long long caps = permitted_capabilities(); caps != 0)
    return fail(
        fmt::format("-Z {}: capabilities 0x{:x} are still permitted after the drop; "
                    "refusing to capture",
                    user, caps));
  return {};
}

}  // namespace rtcap::tool
