// drop_privileges (-Z): each case runs in a forked child, because a drop cannot be undone.
// Needs root for the real drop; without root only the error cases run.
#ifdef RTCAP_HAVE_CLI
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>

#include "capture/privileges.hpp"

namespace {

// Runs fn in a child; returns what the child wrote to the pipe (one line) and its exit status.
std::string in_child(const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe(p) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    const std::string out = fn();
    [[maybe_unused]] auto n = ::write(p[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, std::size_t(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += " [child died]";
  return out;
}

bool have_user(const char* name) { return ::getpwnam(name) != nullptr; }

}  // namespace

TEST(Privileges, DropsRootToNobodyAndCannotRegainIt) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  if (!have_user("nobody")) GTEST_SKIP() << "no user 'nobody'";
  const uid_t nobody = ::getpwnam("nobody")->pw_uid;
  const std::string out = in_child([&] {
    // A privileged socket opened before the drop keeps working after it (as a pcap handle does).
    const int before = ::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    auto r = rtcap::tool::drop_privileges("nobody");
    if (!r) return "error: " + r.error().message;
    if (::getuid() != nobody || ::geteuid() != nobody) return std::string("ids not dropped");
    if (::setuid(0) == 0 || ::seteuid(0) == 0) return std::string("regained root");
    if (rtcap::tool::permitted_capabilities() != 0) return std::string("capabilities left");
    gid_t groups[64];
    const int n = ::getgroups(64, groups);
    for (int i = 0; i < n; ++i)
      if (groups[i] == 0) return std::string("still in group root");
    const int after = ::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (after >= 0) return std::string("opened a raw socket after the drop");
    if (before < 0) return std::string("no raw socket before the drop");
    int type = 0;
    socklen_t len = sizeof type;
    if (::getsockopt(before, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_RAW)
      return std::string("old socket unusable");
    return std::string("ok");
  });
  EXPECT_EQ(out, "ok");
}

TEST(Privileges, UnknownUserIsOneClearLine) {
  const std::string out = in_child([] {
    auto r = rtcap::tool::drop_privileges("rtcap-no-such-user");
    return r ? std::string("ok?") : r.error().message;
  });
  EXPECT_NE(out.find("-Z rtcap-no-such-user: no such user"), std::string::npos) << out;
  EXPECT_EQ(out.find('\n'), std::string::npos);
}

TEST(Privileges, RootAsTargetIsRefused) {
  const std::string out = in_child([] {
    auto r = rtcap::tool::drop_privileges("root");
    return r ? std::string("ok?") : r.error().message;
  });
  EXPECT_NE(out.find("that user is root"), std::string::npos) << out;
}

TEST(Privileges, NonRootCannotSwitchUsers) {
  if (!have_user("nobody") || !have_user("daemon")) GTEST_SKIP() << "needs users nobody, daemon";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become nobody first";
  const std::string out = in_child([] {
    if (!rtcap::tool::drop_privileges("nobody")) return std::string("first drop failed");
    auto same = rtcap::tool::drop_privileges("nobody");  // already nobody: fine, idempotent
    if (!same) return "same user: " + same.error().message;
    auto r = rtcap::tool::drop_privileges("daemon");
    return r ? std::string("switched users without root") : r.error().message;
  });
  EXPECT_NE(out.find("only root can switch users"), std::string::npos) << out;
  EXPECT_NE(out.find("setcap"), std::string::npos) << out;
}
#endif  // RTCAP_HAVE_CLI
