// rtcap: capture high rates of tiny packets with low, bounded delay.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "capture_cmd.hpp"
#include "exit_codes.hpp"
#ifdef _WIN32
#include "npcap_loader_windows.hpp"
#else
#include "bench.hpp"
#include "demo.hpp"
#include "gen.hpp"
#include "lab.hpp"
#endif
#include "rtcap/engine.hpp"

int main(int argc, char** argv) {
  using namespace rtcap::tool;
#ifdef _WIN32
  // Before anything calls pcap (the --version text below does): wpcap.dll is delay-loaded.
  if (std::string problem = load_npcap(); !problem.empty()) {
    fmt::print(stderr, "rtcap: {}\n", problem);
    return kExitNoPcapLib;
  }
#endif
  CLI::App app{"rtcap: capture 100,000+ tiny packets/s with no loss and low, bounded delay.\n"
               "With no subcommand, rtcap captures like tcpdump: rtcap -i IFACE [-w FILE] "
               "[filter]"};
  app.set_version_flag("--version", fmt::format("rtcap {} ({})", RTCAP_VERSION,
                                                rtcap::pcap_library_version()));
  CaptureOptions capture;
  add_capture_options(app, capture);
  int exit_code = kExitOk;
#ifndef _WIN32  // network namespaces, veth, sendmmsg: Linux only (docs/WINDOWS.md)
  add_lab_command(app, exit_code);
  add_gen_command(app, exit_code);
  add_bench_command(app, exit_code);
  add_demo_command(app, exit_code);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (app.get_subcommands().empty()) return run_capture(capture);
  return exit_code;
}
