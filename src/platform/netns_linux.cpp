// Linux: setns(2) with CLONE_NEWNET moves only the calling thread; a thread may move into another
// network namespace and back while the process has other threads (unlike CLONE_NEWNS or
// CLONE_NEWUSER). The thread's own namespace is held open by an fd of /proc/thread-self/ns/net
// first, so that it can return even if nothing else names that namespace.
#include "platform/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rtcap::platform {
namespace {

constexpr const char* kNamedNetnsDir = "/run/netns/";  // where `ip netns add` puts its handles

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string path_of(const std::string& ns) {
  return ns.find('/') != std::string::npos ? ns : kNamedNetnsDir + ns;
}

Result<int> open_netns(const std::string& ns) {
  if (ns.empty() || ns == "." || ns == "..")
    return make_error(ErrorCode::kBadConfig, "invalid network namespace name '" + ns + "'");
  const std::string path = path_of(ns);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) return fd;
  const int err = errno;
  if (err == ENOENT)
    return make_error(ErrorCode::kNoSuchNamespace,
                      "network namespace '" + ns + "' not found (" + path +
                          " missing): create it with 'ip netns add " + ns +
                          "', or give the path of a namespace file such as /proc/PID/ns/net");
  return make_error(
      err == EACCES || err == EPERM ? ErrorCode::kPermission : ErrorCode::kOpenFailed,
      "cannot open network namespace '" + ns + "' (" + path + "): " + std::strerror(err));
}

Result<void> join(int fd, const std::string& ns) {
  if (::setns(fd, CLONE_NEWNET) == 0) return {};
  const int err = errno;
  if (err == EPERM)
    return make_error(ErrorCode::kPermission,
                      "no permission to enter network namespace '" + ns +
                          "': entering one needs CAP_SYS_ADMIN (run as root)");
  return make_error(ErrorCode::kOpenFailed, "cannot enter network namespace '" + ns +
                                                "': setns: " + std::strerror(err) +
                                                " (is it a network namespace?)");
}

}  // namespace

Result<void> run_in_netns(const std::string& ns, const std::function<void()>& fn) {
  auto target = open_netns(ns);
  if (!target) return rtcap::unexpected(target.error());
  const Fd target_fd(*target);
  const Fd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (own.get() < 0)
    return make_error(ErrorCode::kOpenFailed,
                      std::string("cannot note this thread's network namespace "
                                  "(/proc/thread-self/ns/net): ") +
                          std::strerror(errno));
  if (auto r = join(target_fd.get(), ns); !r) return r;
  fn();
  if (::setns(own.get(), CLONE_NEWNET) != 0) {
    // Never seen: we were allowed in. The thread stays in `ns`; say so rather than go on quietly.
    return make_error(ErrorCode::kOpenFailed,
                      std::string("cannot return from network namespace '") + ns +
                          "' to this thread's own: setns: " + std::strerror(errno));
  }
  return {};
}

Result<void> enter_netns(const std::string& ns) {
  auto target = open_netns(ns);
  if (!target) return rtcap::unexpected(target.error());
  const Fd target_fd(*target);
  return join(target_fd.get(), ns);
}

}  // namespace rtcap::platform
