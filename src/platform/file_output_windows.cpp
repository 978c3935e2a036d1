// Windows (the C runtime's POSIX-like calls) file output: file_output.hpp.
#include <fcntl.h>
#include <io.h>  // _setmode: the C runtime opens files in text mode (\n -> \r\n) unless told
#include <unistd.h>
#include <windows.h>

#include "platform/file_output.hpp"

namespace rtcap::platform {

int open_output_file(const std::string& path) noexcept {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_BINARY | O_NOINHERIT, 0666);
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
