// The README's exit codes hold for every subcommand: a bad value is 2 (whether CLI11 or the
// subcommand's own check refuses it), what cannot be opened or set up is 3 (a missing --sdp file
// as a missing -r file), and the message says what is wrong with the value given.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#if defined(RTCAP_HAVE_CLI) && !defined(_WIN32)
#include "capture/capture_options.hpp"
#include "cli.hpp"
#include "common/exit_codes.hpp"

namespace {

struct Outcome {
  int code;
  std::string err;
};

// What main() returns for `rtcap gen ARGS... --netns <none>`, and what it printed. The namespace
// does not exist, so values that pass every check fail at set-up: nothing is ever sent.
Outcome gen(std::vector<std::string> args) {
  auto cli = rtcap::tool::make_cli();
  args.insert(args.end(), {"--netns", "rtcap-no-such-namespace", "--count", "1"});
  std::vector<const char*> argv{"rtcap", "gen"};
  for (const auto& a : args) argv.push_back(a.c_str());
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  int code = 0;
  try {
    rtcap::tool::parse_command_line(*cli, int(argv.size()), argv.data());
    code = cli->exit_code;
  } catch (const CLI::ParseError& e) {
    code = cli->app->exit(e) == 0 ? rtcap::tool::kExitOk : rtcap::tool::kExitUsage;
  }
  (void)testing::internal::GetCapturedStdout();
  return {code, testing::internal::GetCapturedStderr()};
}

TEST(ExitCodes, GenBadValuesAreUsageErrors) {
  // Refused by CLI11's checks and by gen's own: both 2.
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--streams", "0"},
                                               {"--loss", "2"},
                                               {"--ptime", "0ms"},
                                               {"--ptime", "abc"},
                                               {"--ptime", "0samples"},
                                               {"--dst", "198.18.0.2:0"},
                                               {"--dst", "10.0.0.1:5004"},
                                               {"--channels", "0"},
                                               {"--sample-rate", "0"},
                                               {"--burst", "0"},
                                               {"--sap", "--sap-interval=0"}}) {
    const Outcome o = gen(args);
    EXPECT_EQ(o.code, rtcap::tool::kExitUsage) << args[0] << " " << args[1] << ": " << o.err;
  }
}

TEST(ExitCodes, GenZeroPtimeSaysItMustBePositive) {
  const Outcome o = gen({"--ptime", "0ms"});
  EXPECT_NE(o.err.find("greater than zero"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("must be a number with a unit"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("--ptime"), std::string::npos) << o.err;
}

TEST(ExitCodes, GenThatCannotSetUpIsExit3) {
  const Outcome o = gen({"-q"});
  EXPECT_EQ(o.code, rtcap::tool::kExitSetup) << o.err;
}

TEST(ExitCodes, MissingSdpFileIsExit3LikeMissingReadFile) {
  rtcap::tool::CaptureOptions o;
  o.config.read_file = "x.pcap";
  o.sdp_paths = {"/nonexistent/a.sdp"};
  int code = 0;
  EXPECT_NE(rtcap::tool::finish_capture_options(o, &code), "");
  EXPECT_EQ(code, rtcap::tool::kExitSetup);

  // A file that is there but is no SDP is a bad value.
  const std::string path = ::testing::TempDir() + "rtcap_exit_codes_not.sdp";
  std::ofstream(path) << "hello\n";
  rtcap::tool::CaptureOptions bad;
  bad.config.read_file = "x.pcap";
  bad.sdp_paths = {path};
  EXPECT_NE(rtcap::tool::finish_capture_options(bad, &code), "");
  EXPECT_EQ(code, rtcap::tool::kExitUsage);
}

}  // namespace
#endif
