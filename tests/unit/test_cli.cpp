// The command line is declared in one place (tools/rtcap/capture_options.cpp + cli.cpp). These
// tests keep it honest: the --help text is golden, the man page names every option, and parsing
// gives what tcpdump users expect.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#ifdef RTCAP_HAVE_CLI
#include "capture/capture_cmd.hpp"
#include "capture/capture_options.hpp"
#include "cli.hpp"
#include "capture/report.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/histogram.hpp"
#include "stats/histogram_recorder.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

rtcap::tool::CaptureOptions parse(std::vector<std::string> args) {
  auto cli = rtcap::tool::make_cli();
  std::vector<const char*> argv{"rtcap"};
  for (const auto& a : args) argv.push_back(a.c_str());
  rtcap::tool::parse_command_line(*cli, int(argv.size()), argv.data());
  rtcap::tool::CaptureOptions o = cli->capture;
  EXPECT_EQ(rtcap::tool::finish_capture_options(o), "");
  return o;
}

}  // namespace

// Regenerate after an intended change: build/tools/rtcap/rtcap --help > tests/unit/golden/help.txt
TEST(Cli, HelpTextIsGolden) {
  auto cli = rtcap::tool::make_cli();
  const std::string golden = read_file(RTCAP_SOURCE_DIR "/tests/unit/golden/help.txt");
  ASSERT_FALSE(golden.empty()) << "tests/unit/golden/help.txt missing";
  EXPECT_EQ(cli->app->help(), golden)
      << "rtcap --help changed: update tests/unit/golden/help.txt and docs/rtcap.1 together";
}

TEST(Cli, ManPageNamesEveryOption) {
  auto cli = rtcap::tool::make_cli();
  const std::string man = read_file(RTCAP_SOURCE_DIR "/docs/rtcap.1");
  ASSERT_FALSE(man.empty()) << "docs/rtcap.1 missing";
  for (const CLI::Option* opt : cli->app->get_options()) {
    for (const std::string& name : opt->get_lnames()) {
      if (name == "help") continue;
      // groff escapes '-' as '\-'.
      const std::string escaped = "\\-\\-" + std::regex_replace(name, std::regex("-"), "\\-");
      EXPECT_NE(man.find(escaped), std::string::npos) << "docs/rtcap.1 lacks --" << name;
    }
  }
  for (const CLI::App* sub : cli->app->get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_group().empty()) continue;  // hidden helpers (bench-reader)
    EXPECT_NE(man.find(".B " + sub->get_name()), std::string::npos)
        << "docs/rtcap.1 lacks the " << sub->get_name() << " subcommand";
  }
}

#ifndef _WIN32  // gen is built for Linux only
// gen's default payload carries the packet index: the help says so rather than "silence".
TEST(Cli, GenHelpSaysWhatTheDefaultPayloadIs) {
  auto cli = rtcap::tool::make_cli();
  const std::string tone = cli->app->get_subcommand("gen")->get_option("--tone")->get_description();
  EXPECT_EQ(tone.find("instead of silence"), std::string::npos) << tone;
  EXPECT_NE(tone.find("index"), std::string::npos) << tone;
  EXPECT_NE(tone.find("not silence"), std::string::npos) << tone;
}
#endif

// A filter word that names a subcommand is a filter word: `rtcap -i eth0 not host demo` must not
// build a lab and send 100,000 packets/s. An option given twice takes the last value.
TEST(Cli, SubcommandOnlyAsTheFirstWordAndTheLastValueWins) {
  const auto o = parse({"-r", "x.pcap", "not", "host", "lab", "or", "demo", "-c", "5", "-c", "7"});
  EXPECT_EQ(o.config.filter, "not host lab or demo");
  EXPECT_EQ(o.config.max_packets, 7);
  auto cli = rtcap::tool::make_cli();
  const char* argv[] = {"rtcap", "lab", "--help"};
  EXPECT_THROW(rtcap::tool::parse_command_line(*cli, 3, argv), CLI::CallForHelp);
}

TEST(Cli, TcpdumpConventions) {
  auto o = parse({"-i", "eth0", "-i", "eth1", "-w", "-", "-U", "-c", "5", "-s", "0", "-B", "4096",
                  "-p", "udp", "and", "port", "5004"});
  EXPECT_EQ(o.config.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(o.write_path, "-");
  EXPECT_TRUE(o.packet_buffered);
  EXPECT_EQ(o.config.max_packets, 5);
  EXPECT_EQ(o.config.snaplen, 0);  // -s 0: whole packets, which the engine resolves
  EXPECT_EQ(o.config.buffer_kib, 4096);
  EXPECT_FALSE(o.config.promiscuous);
  EXPECT_EQ(o.config.filter, "udp and port 5004");
}

TEST(Cli, EngineOptionsAndDefaults) {
  auto d = parse({"-i", "eth0"});
  EXPECT_TRUE(d.config.promiscuous);
  EXPECT_FALSE(d.naive());
  EXPECT_EQ(d.config.overflow, rtcap::OverflowPolicy::kDrop);
  EXPECT_EQ(d.config.precision, rtcap::TimestampPrecision::kNano);
  auto o = parse({"-i", "eth0", "--mode", "naive", "--on-overflow", "block", "--immediate-mode",
                  "--time-stamp-precision", "micro", "--batch-packets", "64", "--pool-batches", "8",
                  "--timeout-ms", "5", "-w", "x.pcapng"});
  EXPECT_TRUE(o.naive());
  EXPECT_EQ(o.config.delivery, rtcap::Delivery::kThreaded);  // the baseline hands lists over
  EXPECT_EQ(o.config.overflow, rtcap::OverflowPolicy::kBlock);
  EXPECT_TRUE(o.config.immediate_mode);
  EXPECT_EQ(o.config.precision, rtcap::TimestampPrecision::kMicro);
  EXPECT_EQ(o.config.batch_packets, 64u);
  EXPECT_EQ(o.config.pool_batches, 8u);
  EXPECT_EQ(o.config.timeout_ms, 5);
  EXPECT_TRUE(o.pcapng);  // chosen by the file name
}

// Coalescing: automatic unless given; 0 is kept (a wake-up per packet).
TEST(Cli, CoalesceWindowIsAutomaticUnlessGiven) {
  EXPECT_EQ(rtcap::effective_coalesce_us(parse({"-i", "eth0"}).config), 0);  // batched: blocks
  const int immediate =
      rtcap::effective_coalesce_us(parse({"-i", "eth0", "--immediate-mode"}).config);
#ifdef _WIN32
  EXPECT_EQ(immediate, 0);  // 1 ms timer tick: mintocopy batches instead
#else
  EXPECT_EQ(immediate, rtcap::kLinuxAutoCoalesceUs);
#endif
  EXPECT_EQ(rtcap::effective_coalesce_us(
                parse({"-i", "eth0", "--immediate-mode", "--coalesce-us", "0"}).config),
            0);
  EXPECT_EQ(rtcap::effective_coalesce_us(
                parse({"-i", "eth0", "--immediate-mode", "--coalesce-us", "80"}).config),
            80);
}

TEST(Cli, BadValuesAreRejected) {
  auto cli = rtcap::tool::make_cli();
  const char* argv[] = {"rtcap", "-i", "eth0", "--mode", "fast"};
  EXPECT_THROW(cli->app->parse(5, const_cast<char**>(argv)), CLI::ValidationError);
  rtcap::tool::CaptureOptions none;
  EXPECT_NE(rtcap::tool::finish_capture_options(none), "");  // neither -i nor -r
}

namespace {

// The one line rtcap prints for `args` and whether it is a usage error (exit 2): what main()
// does with a parse error, then what run_capture does with finish_capture_options.
std::string refusal(std::vector<std::string> args) {
  auto cli = rtcap::tool::make_cli();
  std::vector<const char*> argv{"rtcap"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    cli->app->parse(int(argv.size()), const_cast<char**>(argv.data()));
  } catch (const CLI::ParseError& e) {
    testing::internal::CaptureStderr();
    testing::internal::CaptureStdout();
    const int code = rtcap::tool::report_parse_error(*cli, e);
    (void)testing::internal::GetCapturedStdout();
    const std::string line = testing::internal::GetCapturedStderr();
    EXPECT_NE(code, 0) << "parse error with exit 0 for " << args.back();
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << "not one line: " << line;
    return line;
  }
  rtcap::tool::CaptureOptions o = cli->capture;
  return rtcap::tool::finish_capture_options(o);
}

}  // namespace

// Issue 13 item 3: every value rtcap cannot honour is refused before anything is opened, each
// with one line that names the option (main() turns both kinds into exit 2).
TEST(Cli, RefusesWhatItCannotHonour) {
  struct Case {
    std::vector<std::string> args;
    std::string says;  // a piece of the line
  };
  const std::vector<Case> cases = {
      {{"-i", "eth0", "-Z", ""}, "-Z"},
      {{"-i", "eth0", "--netns", ""}, "--netns"},
      {{"-i", "eth0", "-c", "99999999999999999999"}, "--count"},
      {{"-i", "eth0", "-c", "0x10"}, "--count"},
      {{"-i", "eth0", "-c", "010x"}, "--count"},
      {{"-i", "eth0", "-c", "-5"}, "--count"},
      {{"-i", "eth0", "-w", "a.pcap", "-C", "0"}, "--file-size"},
      {{"-i", "eth0", "-w", "a-%H%M%S.pcap", "-G", "0"}, "--rotate-seconds"},
      {{"-i", "eth0", "-w", "a.pcap", "-C", "1", "-W", "0"}, "--file-count"},
      {{"-i", "eth0", "-C", "1"}, "give -w FILE"},
      {{"-i", "eth0", "-G", "5"}, "give -w FILE"},
      {{"-i", "eth0", "-W", "3"}, "give -w FILE"},
      {{"-i", "eth0", "--expected-pps", "-1"}, "--expected-pps"},
      {{"-i", "eth0", "--expected-pps", "nan"}, "--expected-pps"},
      {{"-i", "eth0", "--expected-pps", "inf"}, "--expected-pps"},
      {{"-i", "eth0", "-w", ""}, "--write"},
      {{"-r", ""}, "--read"},
      {{"-i", "eth0", "--stats-json", ""}, "--stats-json"},
      {{"-i", "eth0", "--streams-json", ""}, "--streams-json"},
      {{"-i", "eth0", "--advice-json", ""}, "--advice-json"},
      {{"-i", "eth0", "-w", "g.pcap", "-G", "1"}, "add a strftime time pattern"},
      {{"-i", "eth0", "-w", "g%%.pcap", "-G", "1"}, "add a strftime time pattern"},
      {{"-i", "eth0", "--extract-audio", "d", "--extract-audio-max-bytes", "0"},
       "not a number of bytes"},
      {{"-i", "eth0", "--extract-audio", "d", "--extract-audio-max-bytes", "1k"},
       "not a number of bytes"},
  };
  for (const Case& c : cases) {
    const std::string line = refusal(c.args);
    std::string shown;
    for (const auto& a : c.args) shown += " '" + a + "'";
    EXPECT_NE(line, "") << "accepted:" << shown;
    EXPECT_NE(line.find(c.says), std::string::npos) << "for" << shown << ": " << line;
  }
}

// Issue 13, item 5: the status line's delay is the interval's, not the cumulative one.
TEST(Report, StatusLineDelayIsTheIntervals) {
  rtcap::Histogram h;
  for (int i = 0; i < 1000; ++i) h.record(1000000);  // first second: 1 ms each
  rtcap::CaptureStats prev;
  prev.elapsed_ns = 1000000000;
  prev.packets_captured = 1000;
  prev.latency_ns = h.snapshot();
  for (int i = 0; i < 100; ++i) h.record(20000);  // next second: 20 us each
  rtcap::CaptureStats now = prev;
  now.elapsed_ns = 2000000000;
  now.packets_captured = 1100;
  now.latency_ns = h.snapshot();
  const rtcap::HistogramData d = rtcap::tool::interval_histogram(now.latency_ns, prev.latency_ns);
  EXPECT_EQ(d.count, 100u);
  EXPECT_NEAR(double(d.percentile(0.99)), 20000.0, 20000.0 * 0.032);
  EXPECT_NEAR(double(d.max), 20000.0, 20000.0 * 0.032);
  EXPECT_GT(now.latency_ns.percentile(0.5), 900000u);  // the cumulative p50 is still 1 ms
  const std::string line = rtcap::tool::status_line(now, prev);
  EXPECT_NE(line.find("delay this interval p50 20"), std::string::npos) << line;
  EXPECT_EQ(line.find("ms"), std::string::npos) << "cumulative 1 ms shown: " << line;
  // An interval without packets has no delay to show.
  EXPECT_EQ(rtcap::tool::interval_histogram(now.latency_ns, now.latency_ns).count, 0u);
}

#ifndef _WIN32
namespace {

struct Refused {
  int code;
  std::string err;
};

// What main() prints and returns for a command line CLI11 refuses. A gen line the parser would
// accept fails at its (missing) namespace: nothing is sent.
Refused refused(std::vector<std::string> args) {
  if (args.front() == "gen") args.insert(args.begin() + 1, {"--netns", "rtcap-no-such-ns"});
  auto cli = rtcap::tool::make_cli();
  std::vector<const char*> argv{"rtcap"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    rtcap::tool::parse_command_line(*cli, int(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    testing::internal::CaptureStderr();
    const int code = rtcap::tool::report_parse_error(*cli, e);
    return {code, testing::internal::GetCapturedStderr()};
  }
  return {-1, "accepted"};
}

}  // namespace

// A command line the parser refuses is one line in rtcap's words, naming the (sub)command and
// its --help, exit 2: never CLI11's own wording.
TEST(Cli, ParseErrorsAreRtcapsWords) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> exact = {
      {{"lab"}, "rtcap lab: give a subcommand: up, down or status; see rtcap lab --help\n"},
      {{"lab", "--foo"},
       "rtcap lab: unknown option '--foo': give a subcommand: up, down or status; see rtcap lab "
       "--help\n"},
      {{"lab", "start"},
       "rtcap lab: unexpected argument 'start': give a subcommand: up, down or status; see rtcap "
       "lab --help\n"},
      {{"lab", "status", "--foo"},
       "rtcap lab status: unknown option '--foo'; see rtcap lab status --help\n"},
      {{"lab", "up", "--name"}, "rtcap lab up: --name needs a value; see rtcap lab up --help\n"},
      {{"--foo"}, "rtcap: unknown option '--foo'; see rtcap --help\n"},
      {{"gen", "extra"}, "rtcap gen: unexpected argument 'extra'; see rtcap gen --help\n"},
  };
  for (const auto& [args, line] : exact) {
    const Refused r = refused(args);
    EXPECT_EQ(r.code, 2) << args.front() << ": " << r.err;
    EXPECT_EQ(r.err, line);
  }
  // Every subcommand's options: CLI11's phrases never reach the user.
  const std::vector<std::vector<std::string>> lines = {
      {"gen", "--streams"},
      {"gen", "--streams", "abc"},
      {"gen", "--streams", "0"},
      {"gen", "--loss", "2"},
      {"gen", "--bits", "20"},
      {"gen", "--precision", "x"},
      {"gen", "--seq-start", "-1"},
      {"gen", "--tone", "x"},
      {"gen", "--rate", "abc"},
      {"gen", "--count", "-1"},
      {"gen", "--src-port", "-1"},
      {"gen", "--seed", "-1"},
      {"demo", "--foo"},
      {"bench", "--foo"},
      {"-i"},
      {"-i", "eth0", "--time-stamp-precision", "x"},
      {"-i", "eth0", "--mode", "fast"},
  };
  for (const auto& args : lines) {
    const Refused r = refused(args);
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    EXPECT_EQ(r.code, 2) << shown << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << shown << ": " << r.err;
    EXPECT_TRUE(r.err.starts_with("rtcap")) << shown << ": " << r.err;
    for (const char* framework : {"not expected", "is required", "Could not convert", "required",
                                  "not in range", "not in {", "Value "})
      EXPECT_EQ(r.err.find(framework), std::string::npos) << shown << ": " << r.err;
  }
}

// A gen range shown in --help is the one the parser checks, its bounds written once.
TEST(Cli, GenHelpShowsTheRangeTheParserChecks) {
  auto cli = rtcap::tool::make_cli();
  const std::string help = cli->app->get_subcommand("gen")->help();
  for (const auto& [option, range] :
       std::vector<std::pair<std::string, std::string>>{{"--redundant-delay", "[0..1024]"},
                                                        {"--seq-start", "[0..65535]"},
                                                        {"--tone", "[1..100000]"},
                                                        {"--streams", "[1..4096]"}}) {
    const std::size_t at = help.find("  " + option + " ");
    ASSERT_NE(at, std::string::npos) << option;
    const std::string line = help.substr(at, help.find("\n  -", at + 1) - at);
    EXPECT_NE(line.find(range), std::string::npos) << line;
  }
  EXPECT_EQ(help.find("(0..1024)"), std::string::npos) << help;
  const Refused r = refused({"gen", "--redundant-delay", "1025"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("from 0 to 1024"), std::string::npos) << r.err;
}

// -J on an interface that is not there says so (libpcap would list the types of any name).
TEST(Cli, ListTimeStampTypesOfAMissingInterfaceIsExit3) {
  auto cli = rtcap::tool::make_cli();
  const char* argv[] = {"rtcap", "-i", "rtcapnosuch0", "-J"};
  rtcap::tool::parse_command_line(*cli, 4, argv);
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  const int code = rtcap::tool::run_capture(cli->capture);
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, 3) << err;
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "rtcap: no such interface 'rtcapnosuch0'; 'rtcap -D' lists them\n");
}
#endif

TEST(Cli, AcceptsWhatItCanHonour) {
  EXPECT_EQ(parse({"-i", "eth0", "-c", "0"}).config.max_packets, 0);
  EXPECT_EQ(parse({"-i", "eth0", "-c", "9223372036854775807"}).config.max_packets,
            9223372036854775807);
  EXPECT_EQ(parse({"-i", "eth0", "-c", "010"}).config.max_packets, 10);  // decimal, not octal
  EXPECT_EQ(parse({"-i", "eth0", "-w", "g-%Y%m%d-%H%M%S.pcap", "-G", "1"}).rotation.interval_s, 1);
  // -C numbers the files, so -G needs no time pattern beside it.
  EXPECT_EQ(parse({"-i", "eth0", "-w", "g.pcap", "-G", "60", "-C", "10"}).rotation.size_mb, 10);
  EXPECT_DOUBLE_EQ(parse({"-i", "eth0", "--expected-pps", "8000.5"}).expected_pps, 8000.5);
  EXPECT_TRUE(rtcap::tool::has_time_pattern("a-%s.pcap"));
  EXPECT_FALSE(rtcap::tool::has_time_pattern("100%%.pcap"));
  EXPECT_FALSE(rtcap::tool::has_time_pattern("trailing%"));
}
#endif

TEST(Cli, LibraryMessagesAreWordedWithTheFlags) {
  rtcap::CaptureConfig c;
  c.read_file = "x.pcap";
  c.pool_batches = 1;
  auto opened = rtcap::Engine::open(c);
  ASSERT_FALSE(opened);
  EXPECT_EQ(rtcap::tool::cli_wording(opened.error()),
            "--pool-batches: 1 is outside 2..65536 batches");
  rtcap::Error missing{rtcap::ErrorCode::kNoSuchDevice, "no such interface 'x'"};
  EXPECT_EQ(rtcap::tool::cli_wording(missing, "lab"),
            "no such interface 'x'; 'rtcap --netns lab -D' lists them");
}
