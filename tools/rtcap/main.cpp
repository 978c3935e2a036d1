// rtcap: capture high rates of tiny packets with low, bounded delay.
#include <fmt/format.h>

#include "capture/capture_cmd.hpp"
#include "cli.hpp"
#include "common/exit_codes.hpp"
#ifdef _WIN32
#include "capture/npcap_loader_windows.hpp"
#endif

int main(int argc, char** argv) {
  using namespace rtcap::tool;
#ifdef _WIN32
  // Before anything calls pcap (the --version text does): wpcap.dll is delay-loaded.
  if (std::string problem = load_npcap(); !problem.empty()) {
    fmt::print(stderr, "rtcap: {}\n", problem);
    return kExitNoPcapLib;
  }
#endif
  std::unique_ptr<Cli> cli = make_cli();
  try {
    cli->app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli->app->exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (cli->app->get_subcommands().empty()) return run_capture(cli->capture);
  return cli->exit_code;
}
