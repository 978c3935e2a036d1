// The whole rtcap command line in one place: the capture options (capture_options.cpp) and the
// subcommands. main() and the golden --help test build it the same way.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "capture/capture_options.hpp"

namespace rtcap::tool {

struct Cli {
  std::unique_ptr<CLI::App> app;
  CaptureOptions capture;
  int exit_code = 0;  // set by a subcommand's callback
};

// Declares every option and subcommand. Returns a heap object: CLI11 keeps pointers into it.
std::unique_ptr<Cli> make_cli();

// Parses as tcpdump reads a command line: a subcommand only as the first word (rtcap lab up),
// so a filter word that names one (rtcap -i eth0 not host lab) stays a filter word; a capture
// option given twice takes the last value. Throws CLI::ParseError as CLI::App::parse does.
void parse_command_line(Cli& cli, int argc, const char* const* argv);

// What main() prints and returns for a command line that parse_command_line refused: --help and
// --version as CLI11 prints them (0); anything else one line in rtcap's words on stderr, naming
// the (sub)command and its --help (kExitUsage).
int report_parse_error(const Cli& cli, const CLI::ParseError& e);
// That one line, without the newline.
std::string describe_parse_error(const Cli& cli, const CLI::ParseError& e);

// The subcommands one platform has: lab, gen, bench, demo on Linux (cli_posix.cpp: network
// namespaces, veth, sendmmsg); none on Windows (cli_windows.cpp, docs/WINDOWS.md).
void add_platform_commands(CLI::App& app, int& exit_code);

}  // namespace rtcap::tool
