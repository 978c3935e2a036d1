// rtcap: capture high rates of tiny packets with low, bounded delay.
#include <cstdio>

#include <fmt/format.h>

#include "capture/capture_cmd.hpp"
#include "capture/host.hpp"
#include "capture/signals.hpp"
#include "cli.hpp"
#include "common/exit_codes.hpp"

int main(int argc, char** argv) {
  using namespace rtcap::tool;
  // From the first instruction: a SIGTERM while rtcap starts (opening the interface, joining
  // groups, opening the files) stops the capture as one during capture does.
  install_capture_signals();
  // Every line rtcap prints on standard error goes out when it is printed, also into a file or
  // a pipe (a service's log, a supervisor waiting for "metrics at"). glibc's stderr is
  // unbuffered already; the Windows C runtime buffers stderr when it is not a console, for
  // fwrite, which fmt::print uses: under Wine, rtcap.exe 2>FILE showed nothing until it ended
  // (.ci/windows-cross.sh's metrics check waited 120 s for the address line).
  std::setvbuf(stderr, nullptr, _IONBF, 0);
  // Before anything calls pcap (the --version text does): wpcap.dll is delay-loaded on Windows.
  if (std::string problem = load_capture_library(); !problem.empty()) {
    fmt::print(stderr, "rtcap: {}\n", problem);
    return kExitNoPcapLib;
  }
  std::unique_ptr<Cli> cli = make_cli();
  // The subcommands (lab, gen, bench, demo) set their own handlers or rely on the default ones.
  for (CLI::App* sub : cli->app->get_subcommands([](CLI::App*) { return true; }))
    sub->preparse_callback([](std::size_t) { release_stop_signals(); });
  try {
    parse_command_line(*cli, argc, argv);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(*cli, e);
  }
  if (cli->app->get_subcommands().empty()) return run_capture(cli->capture);
  return cli->exit_code;
}
