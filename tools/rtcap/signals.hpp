// Stop, status and flush requests from outside: POSIX signals (signals_posix.cpp) or the Windows
// console control handler (signals_windows.cpp). The handlers only set flags and ask the engine
// to stop from an ordinary thread.
#pragma once

namespace rtcap {
class Engine;
}

namespace rtcap::tool {

// SIGINT/SIGTERM (Ctrl-C, Ctrl-Break): stop. SIGUSR1: print stats. SIGUSR2: flush -w output.
// SIGPIPE is ignored so that a closed output pipe is an EPIPE we can report.
void install_capture_signals();
// The engine a stop request goes to (nullptr: none yet, or no longer).
void set_signal_target(Engine* engine);
bool stop_requested();
bool take_print_stats_request();  // true once per SIGUSR1
bool take_flush_request();        // true once per SIGUSR2
// Standard error is a terminal (the live --streams view redraws in place only there).
bool stderr_is_terminal();
// Columns of the terminal on standard error; 0 when unknown.
int stderr_terminal_columns();

}  // namespace rtcap::tool
