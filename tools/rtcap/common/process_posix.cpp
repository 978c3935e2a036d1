#include "common/process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fmt/core.h>
#include <fstream>
#include <sstream>
#include <thread>

namespace rtcap::tool {
namespace {

std::int64_t timeval_ns(const timeval& tv) noexcept {
  return static_cast<std::int64_t>(tv.tv_sec) * 1'000'000'000 +
         static_cast<std::int64_t>(tv.tv_usec) * 1000;
}

// Child side of spawn(): only async-signal-safe calls between fork and exec (the parent may
// have other threads, as `rtcap demo` does).
[[noreturn]] void exec_child(const SpawnOptions& o, char* const* argv, const char* path,
                             int report_fd, int devnull, pid_t parent) {
  const auto fail = [&](int step) {
    const int err[2] = {step, errno};
    [[maybe_unused]] auto n = write(report_fd, err, sizeof err);
    _exit(127);
  };
  setpgid(0, 0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(1);
  // The parent may already be gone (its death signal would then never come).
  if (getppid() != parent) _exit(126);
  // Back to default dispositions: exec keeps "ignored" (SIGPIPE in the parent) otherwise.
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaction(s, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const int in = o.stdin_fd >= 0 ? o.stdin_fd : devnull;
  const int out = o.stdout_fd >= 0 ? o.stdout_fd : devnull;
  const int err = o.stderr_fd >= 0 ? o.stderr_fd : devnull;
  if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
    fail(2);
  if (o.netns_fd >= 0 && setns(o.netns_fd, CLONE_NEWNET) != 0) fail(3);
  if (path[0] == '/')
    execv(path, argv);
  else
    execvp(path, argv);
  fail(4);
  _exit(127);
}

}  // namespace

ChildProcess::~ChildProcess() {
  if (running()) stop(SIGKILL, std::chrono::milliseconds(0));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), reaped_(other.reaped_), wstatus_(other.wstatus_), usage_(other.usage_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) stop(SIGKILL, std::chrono::milliseconds(0));
    pid_ = other.pid_;
    reaped_ = other.reaped_;
    wstatus_ = other.wstatus_;
    usage_ = other.usage_;
    other.pid_ = -1;
  }
  return *this;
}

std::expected<ChildProcess, std::string> ChildProcess::spawn(const SpawnOptions& o) {
  if (o.argv.empty()) return std::unexpected(std::string("internal error: empty argv"));
  std::vector<char*> argv;
  argv.reserve(o.argv.size() + 1);
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0)
    return std::unexpected(fmt::format("cannot open /dev/null: {}", std::strerror(errno)));
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    close(devnull);
    return std::unexpected(fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close(devnull);
    close(report[0]);
    close(report[1]);
    return std::unexpected(fmt::format("fork: {}", std::strerror(e)));
  }
  if (pid == 0) exec_child(o, argv.data(), argv[0], report[1], devnull, parent);
  // Also from the parent: whichever runs first, the group exists before anyone signals it.
  setpgid(pid, pid);
  close(report[1]);
  close(devnull);
  int err[2] = {0, 0};
  ssize_t n;
  do {
    n = read(report[0], err, sizeof err);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  ChildProcess child;
  child.pid_ = pid;
  if (n == static_cast<ssize_t>(sizeof err)) {
    child.wait_for(std::chrono::milliseconds(5000));
    static const char* const steps[] = {"", "prctl(PR_SET_PDEATHSIG)", "redirect stdio",
                                        "enter the network namespace", "execute"};
    const int step = err[0] >= 1 && err[0] <= 4 ? err[0] : 4;
    return std::unexpected(
        fmt::format("cannot {} {}: {}", steps[step], o.argv[0], std::strerror(err[1])));
  }
  return child;
}

bool ChildProcess::poll() {
  if (pid_ <= 0 || reaped_) return true;
  for (;;) {
    const pid_t r = wait4(pid_, &wstatus_, WNOHANG, &usage_);
    if (r == pid_) {
      reaped_ = true;
      return true;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {  // ECHILD: someone else reaped it; nothing more to learn
      reaped_ = true;
      wstatus_ = 0;
      return true;
    }
    return false;
  }
}

bool ChildProcess::wait_for(std::chrono::milliseconds timeout,
                            const std::atomic<bool>* interrupted) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (poll()) return true;
    if (interrupted && interrupted->load()) return false;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool ChildProcess::signal(int sig) const noexcept {
  return pid_ > 0 && !reaped_ && ::kill(pid_, sig) == 0;
}

void ChildProcess::stop(int sig, std::chrono::milliseconds grace) {
  if (!running()) return;
  signal(sig);
  if (sig != SIGKILL && wait_for(grace)) return;
  signal(SIGKILL);
  for (;;) {
    const pid_t r = wait4(pid_, &wstatus_, 0, &usage_);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
  }
  reaped_ = true;
}

bool ChildProcess::exited_normally() const noexcept { return reaped_ && WIFEXITED(wstatus_); }

int ChildProcess::exit_status() const noexcept {
  if (!reaped_) return -1;
  if (WIFEXITED(wstatus_)) return WEXITSTATUS(wstatus_);
  if (WIFSIGNALED(wstatus_)) return 128 + WTERMSIG(wstatus_);
  return -1;
}

std::int64_t ChildProcess::user_cpu_ns() const noexcept { return timeval_ns(usage_.ru_utime); }
std::int64_t ChildProcess::sys_cpu_ns() const noexcept { return timeval_ns(usage_.ru_stime); }
std::int64_t ChildProcess::cpu_ns() const noexcept { return user_cpu_ns() + sys_cpu_ns(); }

std::string ChildProcess::describe_status() const {
  if (!reaped_) return "still running";
  if (WIFEXITED(wstatus_)) return fmt::format("exit {}", WEXITSTATUS(wstatus_));
  if (WIFSIGNALED(wstatus_)) return fmt::format("killed by signal {}", WTERMSIG(wstatus_));
  return "ended";
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "rtcap";
  return std::string(buf, static_cast<std::size_t>(n));
}

std::string find_program(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

int open_netns(const std::string& ns) {
  return open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
}

bool sleep_interruptible(std::chrono::milliseconds ms, const std::atomic<bool>* interrupted) {
  const auto deadline = std::chrono::steady_clock::now() + ms;
  while (std::chrono::steady_clock::now() < deadline) {
    if (interrupted && interrupted->load()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(10), deadline - std::chrono::steady_clock::now()));
  }
  return !(interrupted && interrupted->load());
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// ---- InterruptGuard ----

namespace {
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signal{0};
struct sigaction g_old_int {
}, g_old_term{}, g_old_pipe{};

extern "C" void on_interrupt(int sig) {
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
  g_interrupted.store(true);
}
}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupted.store(false);
  g_signal.store(0);
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: sleeps return early
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, &g_old_pipe);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGPIPE, &g_old_pipe, nullptr);
}

const std::atomic<bool>* InterruptGuard::flag() const noexcept { return &g_interrupted; }
bool InterruptGuard::interrupted() const noexcept { return g_interrupted.load(); }
int InterruptGuard::signal_number() const noexcept { return g_signal.load(); }

}  // namespace rtcap::tool
