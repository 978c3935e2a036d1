#include "cli.hpp"

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

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

namespace {

// The (sub)command the parse had entered when it stopped, e.g. `lab` then `status`, and its
// words: "rtcap lab status".
const CLI::App* innermost(const CLI::App& top, std::string& words) {
  const CLI::App* app = &top;
  words = "rtcap";
  for (auto subs = app->get_subcommands(); !subs.empty(); subs = app->get_subcommands()) {
    app = subs.back();
    words += " " + app->get_name();
  }
  return app;
}

// "up, down or status"
std::string choice_list(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

// What the user typed that no option or subcommand took.
std::string unexpected(const std::vector<std::string>& words) {
  if (words.empty()) return "an argument it does not take";
  const std::string& w = words.front();
  return fmt::format("{} '{}'",
                     w.size() > 1 && w[0] == '-' ? "unknown option" : "unexpected argument", w);
}

}  // namespace

std::string describe_parse_error(const Cli& cli, const CLI::ParseError& e) {
  std::string words;
  const CLI::App* app = innermost(*cli.app, words);
  const std::string see = fmt::format("; see {} --help", words);
  const std::string what = e.what();
  // CLI11 words these for its own reader ("A subcommand is required", "Could not convert"); the
  // checks rtcap declares (validators, its own option errors) already speak rtcap's words.
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
      app->get_require_subcommand_min() > 0 && app->get_subcommands().empty()) {
    const std::vector<std::string> rest = app->remaining();
    if (rest.empty())
      return fmt::format("{}: give a subcommand: {}{}", words, choice_list(*app), see);
    return fmt::format("{}: {}: give a subcommand: {}{}", words, unexpected(rest),
                       choice_list(*app), see);
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr)
    return fmt::format("{}: {}{}", words, unexpected(app->remaining(true)), see);
  // "--name: 1 required NAME missing" (and the other counts CLI11 checks): the option first.
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    const std::string option = what.substr(0, what.find(':'));
    if (what.ends_with("missing")) return fmt::format("{}: {} needs a value{}", words, option, see);
    return fmt::format("{}: {}: wrong number of values{}", words, option, see);
  }
  // "Could not convert: --secs = abc"
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    constexpr std::string_view kHead = "Could not convert: ";
    const std::size_t eq = what.find(" = ");
    if (what.starts_with(kHead) && eq != std::string::npos)
      return fmt::format("{}: {}: '{}' is not a value it takes{}", words,
                         what.substr(kHead.size(), eq - kHead.size()), what.substr(eq + 3), see);
  }
  return fmt::format("{}: {}", words, what);
}

int report_parse_error(const Cli& cli, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return cli.app->exit(e);  // --help, --version: printed, exit 0
  std::fputs((describe_parse_error(cli, e) + "\n").c_str(), stderr);
  return kExitUsage;
}

}  // namespace rtcap::tool
