// Windows (the C runtime's POSIX-like calls) file output: file_output.hpp.
#include <fcntl.h>
#include <io.h>  // _setmode: the C runtime opens files in text mode (\n -> \r\n) unless told
#include <unistd.h>
#include <windows.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "platform/file_output.hpp"

namespace rtcap::platform {

int open_output_file(const std::string& path) noexcept {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_BINARY | O_NOINHERIT, 0666);
}

namespace {
// The C runtime has no openat: a held directory is its path, by number. Symbolic links need a
// privilege to create on Windows; reparse points are refused by name instead.
std::mutex g_dirs_mutex;
std::vector<std::string> g_dirs;

std::string full_path(int dir_fd, const std::string& name) {
  if (dir_fd == kWorkingDirectory) return name;
  std::lock_guard lock(g_dirs_mutex);
  if (dir_fd < 0 || std::size_t(dir_fd) >= g_dirs.size()) return name;
  return g_dirs[std::size_t(dir_fd)] + "\\" + name;
}
}  // namespace

Result<int> open_output_directory(const std::string& path) {
  const DWORD a = GetFileAttributesA(path.c_str());
  if (a == INVALID_FILE_ATTRIBUTES || (a & FILE_ATTRIBUTE_DIRECTORY) == 0)
    return make_error(ErrorCode::kIo, "cannot open directory '" + path + "': not a directory");
  std::lock_guard lock(g_dirs_mutex);
  g_dirs.push_back(path);
  return int(g_dirs.size() - 1);
}

void close_output_directory(int) noexcept {}  // a few paths, kept until exit

Result<int> open_output_nofollow(int dir_fd, const std::string& name, OutputOpen mode) {
  const std::string path = full_path(dir_fd, name);
  const DWORD a = GetFileAttributesA(path.c_str());
  if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_REPARSE_POINT) != 0)
    return make_error(ErrorCode::kIo, "'" + name +
                                          "' is a symbolic link: refusing to follow it; remove "
                                          "it or choose another name");
  const int fd = ::open(path.c_str(),
                        O_WRONLY | O_CREAT | O_BINARY | O_NOINHERIT |
                            (mode == OutputOpen::kExclusive ? O_EXCL : O_TRUNC),
                        0666);
  if (fd < 0)
    return make_error(ErrorCode::kIo, "cannot create '" + name + "': " + std::strerror(errno));
  return fd;
}

int remove_output(int dir_fd, const std::string& name) noexcept {
  return ::unlink(full_path(dir_fd, name).c_str());
}

void set_binary_mode(int fd) noexcept { (void)::_setmode(fd, O_BINARY); }

off_t output_start_offset(int fd, const struct stat&) noexcept {
  return ::lseek(fd, 0, SEEK_CUR);  // no F_GETFL; ">>" has already sought to the end
}

int make_pipe_nonblocking(int) noexcept { return -1; }
void restore_descriptor_flags(int, int) noexcept {}

bool wait_writable(int, const std::atomic<std::int64_t>*) noexcept {
  Sleep(1);  // the C runtime has no poll(); this branch needs a PIPE_NOWAIT pipe there
  return true;
}

}  // namespace rtcap::platform
