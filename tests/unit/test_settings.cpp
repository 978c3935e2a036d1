// The table of settings (src/engine/config_table.hpp) is what every front end checks against: a
// value refused by one is refused by all, each naming the setting in its own words (C++:
// CaptureConfig::snaplen, C: rtcap_config_set_snaplen, the CLI: -s; Python: tests/unit/
// test_python.py).
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "engine/config_table.hpp"
#include "platform/os_info.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/rtcap.h"

#ifdef RTCAP_HAVE_CLI
#include <CLI/CLI.hpp>

#include "capture/capture_options.hpp"
#include "cli.hpp"
#endif

namespace {

namespace table = rtcap::config_table;
constexpr auto kNpcap = rtcap::CapturePlatform::kNpcap;
constexpr auto kLinux = rtcap::CapturePlatform::kLinuxLibpcap;

// Each numeric C setter by its setting's name, with the range of its C parameter type.
struct CSetter {
  std::function<int(rtcap_config*, std::int64_t)> set;
  std::int64_t type_min;
  std::int64_t type_max;
};
constexpr std::int64_t kIntMin = std::numeric_limits<int>::min();
constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
constexpr std::int64_t kI64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

const std::map<std::string, CSetter>& c_setters() {
  static const std::map<std::string, CSetter> m = {
      {"snaplen",
       {[](rtcap_config* c, std::int64_t v) { return rtcap_config_set_snaplen(c, int(v)); },
        kIntMin, kIntMax}},
      {"timeout_ms",
       {[](rtcap_config* c, std::int64_t v) { return rtcap_config_set_timeout_ms(c, int(v)); },
        kIntMin, kIntMax}},
      {"buffer_kib",
       {[](rtcap_config* c, std::int64_t v) { return rtcap_config_set_buffer_kib(c, int(v)); },
        kIntMin, kIntMax}},
      {"coalesce_us",
       {[](rtcap_config* c, std::int64_t v) { return rtcap_config_set_coalesce_us(c, int(v)); },
        kIntMin, kIntMax}},
      {"mintocopy_bytes",
       {[](rtcap_config* c, std::int64_t v) { return rtcap_config_set_mintocopy_bytes(c, int(v)); },
        kIntMin, kIntMax}},
      {"user_buffer_bytes",
       {[](rtcap_config* c, std::int64_t v) {
          return rtcap_config_set_user_buffer_bytes(c, int(v));
        },
        kIntMin, kIntMax}},
      {"batch_packets",
       {[](rtcap_config* c, std::int64_t v) {
          return rtcap_config_set_batch_packets(c, std::size_t(v));
        },
        0, kI64Max}},
      {"batch_bytes",
       {[](rtcap_config* c, std::int64_t v) {
          return rtcap_config_set_batch_bytes(c, std::size_t(v));
        },
        0, kI64Max}},
      {"pool_batches",
       {[](rtcap_config* c, std::int64_t v) {
          return rtcap_config_set_pool_batches(c, std::size_t(v));
        },
        0, kI64Max}},
      {"max_packets",
       {[](rtcap_config* c, std::int64_t v) { return rtcap_config_set_max_packets(c, v); }, kI64Min,
        kI64Max}},
      {"stats_interval_ms",
       {[](rtcap_config* c, std::int64_t v) {
          return rtcap_config_set_stats_interval_ms(c, int(v));
        },
        kIntMin, kIntMax}},
  };
  return m;
}

// A config the engine would open but for the setting under test (nothing is opened: the
// values tested are refused before any handle).
rtcap::CaptureConfig base() {
  rtcap::CaptureConfig c;
  c.read_file = "/nonexistent/rtcap-settings-test.pcap";
  return c;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

#ifdef RTCAP_HAVE_CLI
// The CLI's one-line refusal of `flag value`, "" when it accepts it.
std::string cli_refusal(const std::string& flag, const std::string& value) {
  auto cli = rtcap::tool::make_cli();
  std::vector<std::string> args{"rtcap", "-r", "x.pcap", flag, value};
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    cli->app->parse(int(argv.size()), const_cast<char**>(argv.data()));
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return {};
}
#endif

}  // namespace

TEST(Settings, EveryFieldOnceWithItsFrontEnds) {
  std::size_t n = 0;
  for (const table::Setting& s : table::kAll) {
    ++n;
    EXPECT_EQ(table::find(s.name), &s) << s.name << " twice";
    EXPECT_NE(std::string(s.type), "") << s.name;
    EXPECT_NE(std::string(s.evidence), "") << s.name << ": a default needs its reason";
    EXPECT_TRUE(starts_with(s.c_setter, "rtcap_config_")) << s.name;
    if (s.kind == table::Kind::kNumber || s.kind == table::Kind::kChoice ||
        s.kind == table::Kind::kFlag) {
      const std::int64_t d = table::default_value(s);
      EXPECT_GE(d, s.min) << s.name;
      EXPECT_LE(d, s.max) << s.name;
    }
  }
  // CaptureConfig's fields: a field added to the struct needs its row.
  EXPECT_EQ(n, 22u);
  rtcap::CaptureConfig c = base();
  EXPECT_TRUE(table::validate(c)) << table::validate(c).error().message;
}

TEST(Settings, FrontEndsRefuseTheSameValuesEachInItsWords) {
  for (const auto& [name, setter] : c_setters()) {
    const table::Setting& s = table::at(name);
    std::vector<std::int64_t> refused, accepted = {s.min, s.max};
    if (s.min > kI64Min) refused.push_back(s.min - 1);
    if (s.max < kI64Max) refused.push_back(s.max + 1);
    for (const std::int64_t v : refused) {
      const std::string what = name + " = " + std::to_string(v);
      // C++: the engine refuses, naming CaptureConfig::NAME, and the error carries the field.
      rtcap::CaptureConfig c = base();
      s.set(c, v);
      if (s.get(c) == v) {  // the member's type holds it
        auto opened = rtcap::Engine::open(c);
        ASSERT_FALSE(opened) << what;
        EXPECT_EQ(opened.error().code, rtcap::ErrorCode::kBadConfig) << what;
        EXPECT_EQ(opened.error().setting, name) << what;
        EXPECT_TRUE(starts_with(opened.error().message, "CaptureConfig::" + name + ": "))
            << what << ": " << opened.error().message;
      }
      // C: the setter refuses, naming itself.
      if (v >= setter.type_min && v <= setter.type_max) {
        rtcap_config* config = nullptr;
        ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
        EXPECT_EQ(setter.set(config, v), RTCAP_ERR_BAD_CONFIG) << what;
        EXPECT_TRUE(starts_with(rtcap_last_error(), std::string(s.c_setter) + ": "))
            << what << ": " << rtcap_last_error();
        EXPECT_EQ(std::string(rtcap_last_error_setting()), name);
        EXPECT_EQ(rtcap_config_check_setting(name.c_str(), v), RTCAP_ERR_BAD_CONFIG) << what;
        rtcap_config_free(config);
      }
#ifdef RTCAP_HAVE_CLI
      // The CLI: refused at parsing, naming the option.
      if (*s.cli) {
        const std::string flag = table::term(s, table::Front::kCli);
        const std::string line = cli_refusal(flag, std::to_string(v));
        EXPECT_NE(line, "") << what << " accepted by the CLI";
      }
#endif
    }
    for (const std::int64_t v : accepted) {
      const std::string what = name + " = " + std::to_string(v);
      EXPECT_EQ(table::check_number(s, v), "") << what;
      if (v >= setter.type_min && v <= setter.type_max) {
        rtcap_config* config = nullptr;
        ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
        EXPECT_EQ(setter.set(config, v), RTCAP_OK) << what << ": " << rtcap_last_error();
        rtcap_config_free(config);
      }
#ifdef RTCAP_HAVE_CLI
      if (*s.cli) {
        EXPECT_EQ(cli_refusal(table::term(s, table::Front::kCli), std::to_string(v)), "") << what;
      }
#endif
    }
  }
}

// The C API hands out the table itself (a binding's keyword arguments come from it, Python's do)
// and sets any number, flag or choice by name with the setter's own checks and words.
TEST(Settings, TheCApiDescribesEveryRowAndSetsByName) {
  std::size_t i = 0;
  for (const table::Setting& s : table::kAll) {
    ASSERT_NE(rtcap_setting_name(i), nullptr);
    EXPECT_EQ(std::string(rtcap_setting_name(i)), s.name);
    ++i;
    int kind = -1;
    std::int64_t min = 1, max = 0;
    const char *choices = nullptr, *unit = nullptr, *setter = nullptr;
    ASSERT_EQ(rtcap_setting_describe(s.name, &kind, &min, &max, &choices, &unit, &setter),
              RTCAP_OK);
    EXPECT_EQ(std::string(choices), s.choices);
    EXPECT_EQ(std::string(unit), s.unit);
    EXPECT_EQ(std::string(setter), s.c_setter);
    if (s.kind == table::Kind::kText || s.kind == table::Kind::kTexts) {
      EXPECT_EQ(kind, s.kind == table::Kind::kText ? RTCAP_SETTING_TEXT : RTCAP_SETTING_TEXTS);
      rtcap_config* config = nullptr;
      ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
      EXPECT_EQ(rtcap_config_set_number(config, s.name, 1), RTCAP_ERR_INVALID_ARGUMENT) << s.name;
      rtcap_config_free(config);
      continue;
    }
    EXPECT_EQ(min, s.min) << s.name;
    EXPECT_EQ(max, s.max) << s.name;
    rtcap_config* config = nullptr;
    ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
    EXPECT_EQ(rtcap_config_set_number(config, s.name, min), RTCAP_OK) << s.name;
    EXPECT_EQ(rtcap_config_set_number(config, s.name, max), RTCAP_OK) << s.name;
    if (max < kI64Max) {
      EXPECT_EQ(rtcap_config_set_number(config, s.name, max + 1), RTCAP_ERR_BAD_CONFIG) << s.name;
      EXPECT_TRUE(starts_with(rtcap_last_error(), std::string(s.c_setter) + ": "))
          << rtcap_last_error();
      EXPECT_EQ(std::string(rtcap_last_error_setting()), s.name);
    }
    if (min > kI64Min) {
      EXPECT_EQ(rtcap_config_set_number(config, s.name, min - 1), RTCAP_ERR_BAD_CONFIG) << s.name;
    }
    rtcap_config_free(config);
  }
  EXPECT_EQ(rtcap_setting_name(i), nullptr);
  EXPECT_EQ(rtcap_setting_describe("no_such_setting", nullptr, nullptr, nullptr, nullptr, nullptr,
                                   nullptr),
            RTCAP_ERR_INVALID_ARGUMENT);
}

// The disagreements there were: the C setters accepted what the engine refused, or the reverse.
TEST(Settings, TheReportedDisagreementsAreGone) {
  struct Case {
    const char* name;
    std::int64_t value;
  };
  for (const Case& k : {Case{"pool_batches", 1}, Case{"batch_bytes", std::int64_t{1} << 31},
                        Case{"stats_interval_ms", 5}, Case{"timeout_ms", 60001}}) {
    rtcap_config* config = nullptr;
    ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
    EXPECT_EQ(c_setters().at(k.name).set(config, k.value), RTCAP_ERR_BAD_CONFIG) << k.name;
    rtcap_config_free(config);
    rtcap::CaptureConfig c = base();
    table::at(k.name).set(c, k.value);
    EXPECT_FALSE(rtcap::Engine::open(c)) << k.name;
  }
}

// Values a range used to allow that make no sense: a batch of 10 bytes (silently raised to the
// snaplen), a pool of batches larger than any use.
TEST(Settings, ValuesThatMakeNoSenseAreRefusedOrWarned) {
  rtcap::CaptureConfig c = base();
  c.batch_bytes = 10;
  auto opened = rtcap::Engine::open(c);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().setting, "batch_bytes") << opened.error().message;
  rtcap_config* config = nullptr;
  ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
  EXPECT_EQ(rtcap_config_set_batch_bytes(config, 10), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_batch_bytes(config, 65536), RTCAP_OK) << rtcap_last_error();
  rtcap_config_free(config);
#ifdef RTCAP_HAVE_CLI
  EXPECT_NE(cli_refusal("--batch-bytes", "10"), "");
#endif

  // Below the snaplen: raised to it, and a warning says so in each front end's words.
  const auto linux_pcap = rtcap::CapturePlatform::kLinuxLibpcap;
  c = base();
  c.batch_bytes = 65536;
  const auto lines = table::inert_settings(c, linux_pcap);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(table::word(lines[0], table::Front::kCxx),
            "CaptureConfig::batch_bytes does nothing here: it applies when not smaller than the "
            "snapshot length CaptureConfig::snaplen (a batch holds one whole packet: a smaller "
            "value is raised to it)");
  c.snaplen = 65536;
  EXPECT_TRUE(table::inert_settings(c, linux_pcap).empty());
  c.snaplen = 0;
  c.immediate_mode = true;  // Linux takes the MTU + 22 as the snaplen then
  EXPECT_TRUE(table::inert_settings(c, linux_pcap).empty());

  // A user buffer too small for one packet is the Npcap backend's to raise (snaplen + 64, with a
  // note: npcap issue 119), not an error.
  c = base();
  c.user_buffer_bytes = 1000;
  EXPECT_TRUE(table::validate(c));
  // On Linux the setting does nothing: a warning says so.
  const auto inert = table::inert_settings(c, kLinux);
  ASSERT_EQ(inert.size(), 1u);
  EXPECT_EQ(inert[0].rfind("${user_buffer_bytes} does nothing here", 0), 0u) << inert[0];

  // Each in range, together 64 TiB allocated at open: refused, naming the pool.
  c = base();
  c.delivery = rtcap::Delivery::kThreaded;
  c.pool_batches = 65536;
  c.batch_bytes = std::size_t{1} << 30;
  auto huge = table::validate(c);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().setting, "pool_batches");
  EXPECT_NE(huge.error().message.find("CaptureConfig::batch_bytes"), std::string::npos)
      << huge.error().message;
  c.delivery = rtcap::Delivery::kInline;  // one batch
  EXPECT_TRUE(table::validate(c));
}

// Where a setting applies is the table's, read by every front end: the C API hands it out with
// ${name} for the binding to word (Python: tests/unit/test_python.py), the CLI's --help words it.
TEST(Settings, EveryFrontEndReadsWhereASettingApplies) {
  std::size_t with_applies = 0;
  for (const table::Setting& s : table::kAll) {
    const char* text = nullptr;
    ASSERT_EQ(rtcap_setting_applies(s.name, &text), RTCAP_OK) << s.name;
    EXPECT_STREQ(text, s.applies) << s.name;
    if (!*s.applies) continue;
    ++with_applies;
#ifdef RTCAP_HAVE_CLI
    if (*s.cli) {
      const std::string help = rtcap::tool::make_cli()->app->help();
      EXPECT_NE(help.find("applies " + table::word(s.applies, table::Front::kCli).substr(0, 20)),
                std::string::npos)
          << s.name;
    }
#endif
  }
  EXPECT_GE(with_applies, 6u);
  const char* text = nullptr;
  EXPECT_EQ(rtcap_setting_applies("no_such_setting", &text), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_setting_applies("snaplen", nullptr), RTCAP_ERR_INVALID_ARGUMENT);
}

// The same interface twice would capture (and write) every packet twice.
TEST(Settings, AnInterfaceNamedTwiceIsRefused) {
  rtcap::CaptureConfig c;
  c.interfaces = {"veth0", "veth1", "veth0"};
  auto r = table::validate(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'veth0' is named twice"), std::string::npos)
      << r.error().message;
  c.interfaces = {"veth0", "veth1"};
  EXPECT_TRUE(table::validate(c));
}

// snaplen 0 means the maximum, and only the engine says so: the C setter and the CLI keep 0.
TEST(Settings, SnaplenZeroIsTheMaximumInTheEngine) {
  rtcap::CaptureConfig c;
  c.read_file = RTCAP_SOURCE_DIR "/tests/data/rtp-12streams-125us.pcap";
  c.snaplen = 0;
  auto engine = rtcap::Engine::open(c);
  ASSERT_TRUE(engine) << engine.error().message;
  EXPECT_EQ((*engine)->config().snaplen, rtcap::kMaxSnaplen);
  rtcap_config* config = nullptr;
  ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
  EXPECT_EQ(rtcap_config_set_snaplen(config, 0), RTCAP_OK);
  rtcap_config_free(config);
}

TEST(Settings, ARuleBetweenSettingsNamesBothInEachFrontEnd) {
  rtcap::CaptureConfig c = base();
  c.interfaces = {"eth0"};  // and a file: refused
  auto opened = rtcap::Engine::open(c);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().setting, "read_file");
  EXPECT_NE(opened.error().message.find("CaptureConfig::interfaces"), std::string::npos)
      << opened.error().message;
  EXPECT_EQ(table::word(opened.error(), table::Front::kC)
                .rfind("rtcap_config_set_read_file: cannot be combined with "
                       "rtcap_config_add_interface",
                       0),
            0u)
      << table::word(opened.error(), table::Front::kC);
  EXPECT_EQ(table::word(opened.error(), table::Front::kPython)
                .rfind("read_file=: cannot be combined with interfaces=", 0),
            0u);
#ifdef RTCAP_HAVE_CLI
  const std::string cli = rtcap::tool::cli_wording(opened.error());
  EXPECT_EQ(cli.rfind("-r: cannot be combined with -i", 0), 0u) << cli;
#endif
  // Through the C API's open, the same error is worded with the setters.
  rtcap_config* config = nullptr;
  ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
  ASSERT_EQ(rtcap_config_set_read_file(config, "/nonexistent/x.pcap"), RTCAP_OK);
  ASSERT_EQ(rtcap_config_add_interface(config, "eth0"), RTCAP_OK);
  rtcap_engine* engine = nullptr;
  EXPECT_EQ(rtcap_engine_open(config, &engine), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(std::string(rtcap_last_error()).rfind("rtcap_config_set_read_file: ", 0), 0u)
      << rtcap_last_error();
  EXPECT_EQ(std::string(rtcap_last_error_setting()), "read_file");
  rtcap_config_free(config);
}

// No library message names the rtcap command or its flags: an embedder reads them.
TEST(Settings, LibraryMessagesDoNotNameTheCommand) {
  rtcap::CaptureConfig none;
  auto opened = rtcap::Engine::open(none);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().message.find("(-i)"), std::string::npos) << opened.error().message;
  EXPECT_EQ(opened.error().message.find("(-r)"), std::string::npos) << opened.error().message;

  rtcap::CaptureConfig missing;
  missing.interfaces = {"rtcapnosuch0"};
  auto live = rtcap::Engine::open(missing);
  ASSERT_FALSE(live);
  const std::string& m = live.error().message;
  EXPECT_EQ(m.find("rtcap -D"), std::string::npos) << m;
  EXPECT_EQ(m.find("=eip rtcap)"), std::string::npos) << m;
  if (live.error().code == rtcap::ErrorCode::kPermission) {
    const std::string self = rtcap::platform::program_path();
    ASSERT_NE(self, "");
    EXPECT_NE(m.find(self), std::string::npos) << m;  // setcap names this program
  }
}
