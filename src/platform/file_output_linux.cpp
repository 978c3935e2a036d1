// Linux (plain POSIX) file output calls: file_output.hpp.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "platform/file_output.hpp"

namespace rtcap::platform {

namespace {

// A link we may follow: ours or root's (/dev/stdout), in a directory where nobody else can swap
// it (not world-writable, or sticky: there only the link's owner may replace it).
bool trusted_link(const std::string& path) noexcept {
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0 || !S_ISLNK(link.st_mode)) return false;
  if (link.st_uid != ::geteuid() && link.st_uid != 0) return false;
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash ? slash : 1);
  struct stat d {};
  if (::stat(dir.c_str(), &d) != 0) return false;
  return !(d.st_mode & S_IWOTH) || (d.st_mode & S_ISVTX);
}

}  // namespace

int open_output_file(const std::string& path) noexcept {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  // Never through a link someone else planted (root truncating /etc/shadow through
  // /tmp/out.pcap): O_NOFOLLOW, then a link is followed only when trusted_link says so.
  const int fd = ::open(path.c_str(), kFlags | O_NOFOLLOW, 0666);
  // A link gives ELOOP, or EACCES with O_CREAT in a sticky directory (Linux 6.1 here).
  if (fd >= 0 || (errno != ELOOP && errno != EACCES)) return fd;
  const int open_errno = errno;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
    errno = open_errno;
    return -1;
  }
  if (!trusted_link(path)) {
    errno = ELOOP;
    return -1;
  }
  return ::open(path.c_str(), kFlags, 0666);
}

static_assert(kWorkingDirectory == AT_FDCWD);

Result<int> open_output_directory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ErrorCode::kIo,
                      "cannot open directory '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && ::geteuid() == 0 && (st.st_mode & S_IWOTH) != 0 &&
      (st.st_mode & S_ISVTX) == 0) {
    ::close(fd);
    return make_error(ErrorCode::kIo, "directory '" + path +
                                          "' is writable by everyone without the sticky bit: as "
                                          "root, refusing to write there (chmod o-w or +t it, or "
                                          "choose another)");
  }
  return fd;
}

void close_output_directory(int dir_fd) noexcept {
  if (dir_fd >= 0) ::close(dir_fd);
}

Result<int> open_output_nofollow(int dir_fd, const std::string& name, OutputOpen mode) {
  // No O_TRUNC at open: what is there is checked first (a hard link to another file is not ours
  // to empty). O_NOFOLLOW: a symbolic link as last component fails with ELOOP.
  const int flags =
      O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (mode == OutputOpen::kExclusive ? O_EXCL : 0);
  const int fd = ::openat(dir_fd, name.c_str(), flags, 0666);
  if (fd < 0) {
    const int e = errno;
    // fs.protected_symlinks answers EACCES, not ELOOP, for another user's link in a sticky
    // directory: name the link either way.
    struct stat link {};
    const bool is_link =
        ::fstatat(dir_fd, name.c_str(), &link, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(link.st_mode);
    return make_error(
        ErrorCode::kIo,
        e == ELOOP || is_link
            ? "'" + name +
                  "' is a symbolic link: refusing to follow it; remove it or choose another name"
            : "cannot create '" + name + "': " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error(ErrorCode::kIo, "cannot create '" + name + "': " + std::strerror(e));
  }
  if (S_ISREG(st.st_mode)) {
    if (st.st_nlink > 1) {
      ::close(fd);
      return make_error(ErrorCode::kIo, "'" + name +
                                            "' has other hard links: refusing to overwrite it; "
                                            "remove it or choose another name");
    }
    if (st.st_size > 0 && ::ftruncate(fd, 0) != 0) {
      const int e = errno;
      ::close(fd);
      return make_error(ErrorCode::kIo, "cannot empty '" + name + "': " + std::strerror(e));
    }
  } else if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kIo, "'" + name + "' is not a regular file");
  }
  return fd;
}

int remove_output(int dir_fd, const std::string& name) noexcept {
  return ::unlinkat(dir_fd, name.c_str(), 0);
}

void set_binary_mode(int) noexcept {}

off_t output_start_offset(int fd, const struct stat& st) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  return (flags >= 0 && (flags & O_APPEND)) ? st.st_size : ::lseek(fd, 0, SEEK_CUR);
}

int make_pipe_nonblocking(int fd) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return -1;
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && !(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0)
    return flags;
  return -1;
}

void restore_descriptor_flags(int fd, int flags) noexcept {
  if (flags >= 0) (void)::fcntl(fd, F_SETFL, flags);
}

bool wait_writable(int fd, const std::atomic<std::int64_t>* give_up_at_ns) noexcept {
  for (;;) {
    // 100 ms slices: how late a deadline set while we wait is seen (one wake-up per slice,
    // only while the reader takes nothing).
    int slice_ms = -1;
    if (give_up_at_ns) {
      slice_ms = 100;
      if (const std::int64_t deadline = give_up_at_ns->load(std::memory_order_relaxed)) {
        const std::int64_t left_ns =
            deadline - std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
        if (left_ns <= 0) return false;
        slice_ms = int(std::min<std::int64_t>(100, left_ns / 1000000 + 1));
      }
    }
    pollfd p{fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, slice_ms);
    if (n > 0) return true;  // writable, or POLLERR/POLLHUP: the next write() says which
    if (n < 0 && errno != EINTR) return true;
  }
}

}  // namespace rtcap::platform
