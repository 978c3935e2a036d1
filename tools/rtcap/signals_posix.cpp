#include <atomic>
#include <csignal>

#include "rtcap/engine.hpp"
#include "signals.hpp"

namespace rtcap::tool {
namespace {

std::atomic<Engine*> g_engine{nullptr};
volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_print_stats = 0;
volatile std::sig_atomic_t g_flush = 0;

extern "C" void on_stop_signal(int) {
  g_stop = 1;
  if (Engine* e = g_engine.load()) e->request_stop();
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

void set_signal_target(Engine* engine) { g_engine.store(engine); }
bool stop_requested() { return g_stop != 0; }
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
