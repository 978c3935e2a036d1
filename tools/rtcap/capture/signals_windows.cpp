// Windows: the console control handler (SetConsoleCtrlHandler) in place of POSIX signals.
// Ctrl-C and Ctrl-Break stop the capture, as SIGINT/SIGTERM do on Linux. Windows has no SIGUSR1/
// SIGUSR2 and no SIGPIPE: there are no stats or flush requests from outside (stats still print
// every second and at the end; -U flushes after every batch), and a closed output pipe is an
// EPIPE from write() already.
//
// The handler runs on a thread the system creates for it, not on an interrupted thread, so it
// may do more than a signal handler; it still only sets a flag and asks the engine to stop
// (Engine::request_stop is safe from any thread).
#include <windows.h>
#include <io.h>
#include <cstdio>

#include <atomic>

#include "rtcap/engine.hpp"
#include "capture/signals.hpp"

namespace rtcap::tool {
namespace {

std::atomic<Engine*> g_engine{nullptr};
std::atomic<bool> g_stop{false};
std::atomic<std::int64_t> g_stop_at_ns{0};
std::atomic<std::int64_t> g_give_up_at_ns{0};

void note_stop() {
  g_stop.store(true);
  std::int64_t none = 0;
  const std::int64_t now_ns = monotonic_ns();
  if (g_stop_at_ns.compare_exchange_strong(none, now_ns))
    g_give_up_at_ns.store(now_ns + std::chrono::nanoseconds(kOutputGraceAfterStop).count());
}

BOOL WINAPI on_console_control(DWORD type) {
  switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
      note_stop();
      if (Engine* e = g_engine.load()) e->request_stop();
      return TRUE;  // handled: the process goes on and stops the capture itself
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      // The console is going away: Windows ends the process when this handler returns (and
      // after 5 s at the latest). Ask for a stop and give the capture loop time to hand over
      // its last batches and close the -w file, then let the system end us.
      note_stop();
      if (Engine* e = g_engine.load()) e->request_stop();
      for (int i = 0; i < 40 && g_engine.load() != nullptr; ++i) Sleep(50);
      return TRUE;
    default:
      return FALSE;
  }
}

}  // namespace

void install_capture_signals() { SetConsoleCtrlHandler(on_console_control, TRUE); }
void release_stop_signals() { SetConsoleCtrlHandler(on_console_control, FALSE); }

void set_signal_target(Engine* engine) { g_engine.store(engine); }
bool stop_requested() { return g_stop.load(); }
std::int64_t stop_requested_at_ns() { return g_stop_at_ns.load(); }
const std::atomic<std::int64_t>* output_give_up_at_ns() { return &g_give_up_at_ns; }
bool take_print_stats_request() { return false; }  // no SIGUSR1 on Windows
bool take_flush_request() { return false; }        // no SIGUSR2 on Windows

}  // namespace rtcap::tool
