// Stop, status and flush requests from outside: POSIX signals (signals_posix.cpp) or the Windows
// console control handler (signals_windows.cpp). The handlers only set flags and ask the engine
// to stop from an ordinary thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "engine/clock.hpp"

namespace rtcap {
class Engine;
}

namespace rtcap::tool {

// SIGINT/SIGTERM (Ctrl-C, Ctrl-Break): stop. SIGUSR1: print stats. SIGUSR2: flush -w output.
// SIGPIPE is ignored so that a closed output pipe is an EPIPE we can report.
// main() calls it first of all, so that a stop during start-up (opening the interface, joining
// groups) ends the capture as one during capture does: exit 0, the summary, a complete file.
void install_capture_signals();
// Gives SIGINT/SIGTERM their default action back, for a subcommand that handles its own (or
// none); a stop that came before is then acted on as the default action would have.
void release_stop_signals();
// The engine a stop request goes to (nullptr: none yet, or no longer).
void set_signal_target(Engine* engine);
bool stop_requested();
bool take_print_stats_request();  // true once per SIGUSR1
bool take_flush_request();        // true once per SIGUSR2

// After SIGINT/SIGTERM (Ctrl-C), rtcap is gone within kStopBound (docs/OPERATIONS.md, --help):
// the -w output may wait kOutputGraceAfterStop for a stalled reader, the engine drains for at
// most 500 ms (engine_impl.hpp, kDrainAfterStop), and a capture that has still not ended at
// kAbandonAfterStop (a -r FIFO whose writer stalls: the read cannot be interrupted) is left
// behind: the output is closed, the summary printed, and the process exits.
inline constexpr std::chrono::milliseconds kStopBound{2000};
inline constexpr std::chrono::milliseconds kOutputGraceAfterStop{1000};
inline constexpr std::chrono::milliseconds kAbandonAfterStop{1700};
// When the first stop request arrived, steady_clock (CLOCK_MONOTONIC) ns; 0: none yet.
std::int64_t stop_requested_at_ns();
// The -w writer's WriterOptions::give_up_at_ns: 0 until a stop request, then that moment plus
// kOutputGraceAfterStop (set in the signal handler itself: the capture loop may be blocked in a
// write and never see the flag).
const std::atomic<std::int64_t>* output_give_up_at_ns();
// A stop came kAbandonAfterStop ago or longer.
inline bool stop_overdue() {
  const std::int64_t at_ns = stop_requested_at_ns();
  if (at_ns == 0) return false;
  return monotonic_ns() - at_ns >= std::chrono::nanoseconds(kAbandonAfterStop).count();
}

}  // namespace rtcap::tool
