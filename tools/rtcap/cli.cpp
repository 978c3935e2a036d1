#include "cli.hpp"

#include <string_view>

#include <fmt/format.h>

#include "common/exit_codes.hpp"
#include "rtcap/engine.hpp"

#ifndef RTCAP_VERSION
#define RTCAP_VERSION "dev"
#endif

namespace rtcap::tool {

std::unique_ptr<Cli> make_cli() {
  auto cli = std::make_unique<Cli>();
  cli->app = std::make_unique<CLI::App>(
      "rtcap: capture 100,000+ tiny packets/s with no loss and low, bounded delay.\n"
      "With no subcommand, rtcap captures like tcpdump: rtcap -i IFACE [-w FILE] [filter]\n"
      "SIGINT/SIGTERM: rtcap stops and is gone within 2 s, having written what it could and "
      "said how many captured packets it could not write",
      "rtcap");
  CLI::App& app = *cli->app;
  app.set_version_flag("--version",
                       fmt::format("rtcap {} ({})", RTCAP_VERSION, rtcap::pcap_library_version()));
  // One line per error, naming the option and the fix (CLI11 would add "Run with --help").
  app.failure_message(
      [](const CLI::App*, const CLI::Error& e) { return fmt::format("rtcap: {}\n", e.what()); });
  add_capture_options(app, cli->capture);
  for (CLI::Option* opt : app.get_options())  // -c 5 -c 10 counts 10, as tcpdump's getopt does
    if (opt->get_items_expected_max() == 1 && !opt->get_positional())
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli->exit_code = kExitOk;
  add_platform_commands(app, cli->exit_code);  // cli_posix.cpp / cli_windows.cpp
  return cli;
}

void parse_command_line(Cli& cli, int argc, const char* const* argv) {
  bool help = false;
  for (int i = 1; i < argc; ++i)
    help = help || std::string_view(argv[i]) == "-h" || std::string_view(argv[i]) == "--help";
  // Disabled subcommands are not recognised; --help still lists them all.
  const bool first_is_subcommand =
      argc > 1 &&
      cli.app->get_subcommands([&](const CLI::App* s) { return s->check_name(argv[1]); }).size() >
          0;
  if (!first_is_subcommand && !help)
    for (CLI::App* s : cli.app->get_subcommands([](const CLI::App*) { return true; }))
      s->disabled();
  cli.app->parse(argc, argv);
}

}  // namespace rtcap::tool
