// Child processes for the lab, `rtcap bench` and `rtcap demo`: fork/exec with an argument vector
// (never a shell), optional network namespace, redirections, and waits that are always bounded in
// time.
//
// Every child is put in its own process group (so a terminal's Ctrl-C reaches only the parent,
// which then stops the children in the right order: generator, capture, reader) and gets
// PR_SET_PDEATHSIG SIGKILL (so a parent killed with SIGKILL does not leave a capture running
// forever). A ChildProcess that goes out of scope still running is killed and reaped.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "engine/clock.hpp"

namespace rtcap::tool {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: /dev/null
  int stderr_fd = -1;             // -1: /dev/null
  int netns_fd = -1;              // >= 0: setns(CLONE_NEWNET) before exec
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;

  // fork + exec. Fails (with the exec errno in words) when the program cannot be started.
  static std::expected<ChildProcess, std::string> spawn(const SpawnOptions& options);

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool running() const noexcept { return pid_ > 0 && !reaped_; }
  // Non-blocking: reaps the child if it has exited. True when it is gone (now or before).
  bool poll();
  // Waits up to `timeout` (checking `interrupted` every 10 ms if given). True when reaped.
  bool wait_for(std::chrono::milliseconds timeout, const std::atomic<bool>* interrupted = nullptr);
  // Sends `sig`, waits up to `grace`, then SIGKILL and waits for it. Always reaps.
  void stop(int sig, std::chrono::milliseconds grace);
  bool signal(int sig) const noexcept;

  // Valid after reaping.
  [[nodiscard]] bool exited_normally() const noexcept;
  [[nodiscard]] int exit_status() const noexcept;      // exit code, or 128 + signal
  [[nodiscard]] std::int64_t cpu_ns() const noexcept;  // user + system, from wait4
  [[nodiscard]] std::int64_t user_cpu_ns() const noexcept;
  [[nodiscard]] std::int64_t sys_cpu_ns() const noexcept;
  [[nodiscard]] std::string describe_status() const;  // "exit 0", "killed by signal 9"

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wstatus_ = 0;
  struct rusage usage_ {};
};

// Path of the running executable (/proc/self/exe), to start `rtcap gen`, captures and readers.
std::string self_executable();
// Where a program is in PATH (plus /usr/sbin and /sbin); "" when absent.
std::string find_program(const std::string& name);

// An fd of /var/run/netns/<ns> (O_CLOEXEC), for SpawnOptions::netns_fd; -1 with errno on failure.
int open_netns(const std::string& ns);

// CLOCK_REALTIME / CLOCK_MONOTONIC in ns (src/engine/clock.hpp).
using rtcap::monotonic_ns;
using rtcap::realtime_ns;

// Sleeps `ms` in 10 ms steps; returns early (false) when `interrupted` turns true.
bool sleep_interruptible(std::chrono::milliseconds ms, const std::atomic<bool>* interrupted);

// Whole file as text ("" if it cannot be read).
std::string read_text_file(const std::string& path);

// SIGINT/SIGTERM set the returned flag (no SA_RESTART) until the guard goes away; SIGPIPE is
// ignored while it lives. The previous handlers come back afterwards.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  [[nodiscard]] const std::atomic<bool>* flag() const noexcept;
  [[nodiscard]] bool interrupted() const noexcept;
  [[nodiscard]] int signal_number() const noexcept;  // the signal that arrived first, 0 if none
};

}  // namespace rtcap::tool
