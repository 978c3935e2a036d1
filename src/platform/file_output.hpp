// The system calls of the capture file output (io/output_file.hpp) that differ between POSIX and
// the Windows C runtime: how a file is opened, where writing starts, and what a writer does when
// a pipe does not take data. The write loop, the buffer and the cut-back on failure are shared
// (io/output_file.hpp); ::write, ::fstat, ::lseek, ::ftruncate and ::close are the same calls on
// both (the C runtime's _write and friends on Windows).
// Linux (file_output_linux.cpp, plain POSIX). Windows (file_output_windows.cpp).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "rtcap/error.hpp"

namespace rtcap::platform {

// ---- Outputs in a directory others can write to (/tmp, a shared --extract-audio folder) ----
// A path checked and then opened by name can be a symbolic link by the time it is opened; root
// following one planted by a user truncates whatever it points to. These open the last
// component without following a link, under a directory held open (openat on Linux), so that a
// directory renamed or replaced after the check cannot redirect the files made in it.

// `dir_fd` meaning "relative to the working directory": `name` may then be a whole path (only its
// last component is protected), as for -w FILE.
inline constexpr int kWorkingDirectory = -100;

enum class OutputOpen {
  kTruncate,   // create, or empty an existing regular file (refused when it has other hard links)
  kExclusive,  // create; fail (EEXIST) if anything by that name exists
};

// Holds `path` (a directory) open for open_output_nofollow. Refused when running as root and the
// directory is world-writable without the sticky bit: anyone could rename our files away and put
// links in their place between two opens. Close with close_output_directory.
Result<int> open_output_directory(const std::string& path);
void close_output_directory(int dir_fd) noexcept;
// Opens `name` under `dir_fd` for writing (binary, not inherited, 0666 & ~umask) without
// following a symbolic link; a descriptor, or an error naming `name` and the reason.
// Character devices and FIFOs (-w /dev/null) are opened as they are, never truncated.
Result<int> open_output_nofollow(int dir_fd, const std::string& name, OutputOpen mode);
// Removes `name` under `dir_fd` (a link itself, never what it points to); 0, or -1 with errno.
int remove_output(int dir_fd, const std::string& name) noexcept;

// Creates or truncates `path` for writing, 0666 & ~umask as tcpdump's fopen() does, in binary
// mode and not inherited by programs this process starts. A symbolic link is followed only when
// it belongs to this user or root and no other user can swap it (POSIX: ELOOP otherwise; Windows
// C runtime: links are not checked). A descriptor, or -1 with errno set.
int open_output_file(const std::string& path) noexcept;
// Makes a descriptor we did not open (standard output) binary: the Windows C runtime opens it
// in text mode (\n -> \r\n); nothing to do on POSIX.
void set_binary_mode(int fd) noexcept;
// Where our first byte lands in the regular file `fd` (st: its fstat): the end when it was opened
// for appending (">>"), else its current offset; -1 when unknown.
off_t output_start_offset(int fd, const struct stat& st) noexcept;
// A pipe or socket whose reader stalls would block write() for as long as the reader sleeps, and
// a stop request with it (issue 13: a `cat` under SIGSTOP kept rtcap in pipe_write through three
// SIGTERMs). This makes such an `fd` non-blocking, so that wait_writable waits instead; it
// returns the flags to put back at close (the descriptor may be shared: standard output), or -1
// when it changed nothing (not a pipe, already non-blocking, or Windows, whose C runtime has no
// non-blocking pipes).
int make_pipe_nonblocking(int fd) noexcept;
void restore_descriptor_flags(int fd, int flags) noexcept;
// After write() said EAGAIN: waits until `fd` takes data. False once *give_up_at_ns (steady
// clock, ns; 0: no deadline yet) has passed; no give_up_at_ns: waits as long as it takes.
bool wait_writable(int fd, const std::atomic<std::int64_t>* give_up_at_ns) noexcept;

}  // namespace rtcap::platform
