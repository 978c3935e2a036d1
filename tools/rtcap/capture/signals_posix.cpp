#include <unistd.h>

#include <csignal>
#include <ctime>

#include "capture/signals.hpp"

namespace rtcap::tool {
namespace {

volatile std::sig_atomic_t g_stop = 0;  // the stop signal's number
volatile std::sig_atomic_t g_print_stats = 0;
volatile std::sig_atomic_t g_flush = 0;

// Lock-free (checked below), so a signal handler may store them.
std::atomic<std::int64_t> g_stop_at_ns{0};
std::atomic<std::int64_t> g_give_up_at_ns{0};
static_assert(std::atomic<std::int64_t>::is_always_lock_free);

// Flags and the time only: the main loop sees the flag within one next_batch wait (100 ms) and
// calls Engine::request_stop from a normal thread (request_stop may take a mutex). The time
// (clock_gettime is async-signal-safe) is the deadline of a write blocked on a stalled reader.
extern "C" void on_stop_signal(int sig) {
  g_stop = sig;
  if (g_stop_at_ns.load(std::memory_order_relaxed) != 0) return;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // steady_clock's clock in libstdc++
  const std::int64_t now_ns = std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  g_stop_at_ns.store(now_ns);
  g_give_up_at_ns.store(now_ns + std::chrono::nanoseconds(kOutputGraceAfterStop).count());
}
extern "C" void on_usr1(int) { g_print_stats = 1; }
extern "C" void on_usr2(int) { g_flush = 1; }

}  // namespace

void install_capture_signals() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_usr2;
  sigaction(SIGUSR2, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
}

void release_stop_signals() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = SIG_DFL;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (g_stop != 0) std::raise(g_stop);
}

// POSIX handlers never touch the engine (see on_stop_signal); Windows' console handler runs on a
// thread of its own and does.
void set_signal_target(Engine*) {}
bool stop_requested() { return g_stop != 0; }
std::int64_t stop_requested_at_ns() { return g_stop_at_ns.load(); }
const std::atomic<std::int64_t>* output_give_up_at_ns() { return &g_give_up_at_ns; }
bool take_print_stats_request() {
  if (!g_print_stats) return false;
  g_print_stats = 0;
  return true;
}
bool take_flush_request() {
  if (!g_flush) return false;
  g_flush = 0;
  return true;
}

}  // namespace rtcap::tool
