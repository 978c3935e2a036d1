// A setting given a value that does nothing where it is given (a mode or a platform) is one
// warning naming it and where it applies, the same through C++, C, Python and the CLI, each in
// its own words (config_table::inert_settings); never an error, and never a command's flag.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/config_table.hpp"
#include "platform/defaults.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/latency_budget.hpp"
#include "rtcap/rtcap.h"

namespace {

namespace table = rtcap::config_table;
using rtcap::CapturePlatform;

const char* kSample = RTCAP_SOURCE_DIR "/tests/data/rtp-12streams-125us.pcap";

std::vector<std::string> inert(const rtcap::CaptureConfig& c, CapturePlatform p) {
  return table::inert_settings(c, p);
}

// The lines of `lines` that start with `prefix`.
std::vector<std::string> starting(const std::vector<std::string>& lines,
                                  const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& l : lines)
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  return out;
}

TEST(InertSettings, DefaultsAndThePlannersBatchedPlanWarnNothing) {
  for (CapturePlatform p : {CapturePlatform::kLinuxLibpcap, CapturePlatform::kNpcap}) {
    EXPECT_TRUE(inert(rtcap::CaptureConfig{}, p).empty());
    rtcap::CaptureConfig threaded;
    threaded.delivery = rtcap::Delivery::kThreaded;
    EXPECT_TRUE(inert(threaded, p).empty());
  }
  // The latency-budget planner sets coalesce_us 0 with immediate mode off: no warning.
  rtcap::TrafficProfile slow;
  slow.packets_per_second = 1000;
  const rtcap::LatencyPlan plan = rtcap::plan_for_latency_budget(20'000'000, {}, slow);
  ASSERT_FALSE(plan.config.immediate_mode) << "a 20 ms budget is met batched";
  EXPECT_EQ(plan.config.coalesce_us, 0);
  EXPECT_TRUE(inert(plan.config, CapturePlatform::kLinuxLibpcap).empty());
}

TEST(InertSettings, EachNamesTheSettingAndWhereItApplies) {
  rtcap::CaptureConfig c;
  c.coalesce_us = 50;  // batched
  auto lines = inert(c, CapturePlatform::kLinuxLibpcap);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("${coalesce_us} does nothing here: it applies with ${immediate_mode} "
                           "only",
                           0),
            0u)
      << lines[0];
  c.immediate_mode = true;
  EXPECT_TRUE(inert(c, CapturePlatform::kLinuxLibpcap).empty());

  rtcap::CaptureConfig npcap;
  npcap.mintocopy_bytes = 4000;
  npcap.user_buffer_bytes = 1 << 20;
  EXPECT_EQ(inert(npcap, CapturePlatform::kLinuxLibpcap).size(), 2u);
  EXPECT_TRUE(inert(npcap, CapturePlatform::kNpcap).empty());
  npcap.immediate_mode = true;  // Npcap signals every packet: a mintocopy would undo it
  EXPECT_EQ(starting(inert(npcap, CapturePlatform::kNpcap), "${mintocopy_bytes}").size(), 1u);

  rtcap::CaptureConfig pool;
  pool.pool_batches = 8;
  pool.overflow = rtcap::OverflowPolicy::kBlock;
  EXPECT_EQ(inert(pool, CapturePlatform::kNpcap).size(), 2u) << "inline has one batch, no queue";
  pool.delivery = rtcap::Delivery::kThreaded;
  EXPECT_TRUE(inert(pool, CapturePlatform::kNpcap).empty());
}

TEST(InertSettings, EveryFrontEndWordsTheWarningInItsOwnTerms) {
  rtcap::CaptureConfig c;
  c.coalesce_us = 50;
  const std::string text = inert(c, CapturePlatform::kLinuxLibpcap).at(0);
  EXPECT_EQ(table::word(text, table::Front::kCxx)
                .rfind("CaptureConfig::coalesce_us does nothing here: it applies with "
                       "CaptureConfig::immediate_mode only",
                       0),
            0u);
  EXPECT_EQ(table::word(text, table::Front::kC)
                .rfind("rtcap_config_set_coalesce_us does nothing here: it applies with "
                       "rtcap_config_set_immediate_mode only",
                       0),
            0u);
  EXPECT_EQ(table::word(text, table::Front::kPython)
                .rfind("coalesce_us= does nothing here: it applies with immediate_mode= only", 0),
            0u);
  const std::string cli = table::word(text, table::Front::kCli);
  EXPECT_EQ(cli.rfind("--coalesce-us does nothing here: it applies with --immediate-mode only", 0),
            0u)
      << cli;
  EXPECT_NE(cli.find("--timeout-ms"), std::string::npos) << cli;
}

// A warning a library user reads names no flag of the rtcap command: C++ and C.
TEST(InertSettings, TheEngineWarnsOnceInCxxAndCWordsNeverAFlag) {
  rtcap::CaptureConfig c;
  c.read_file = kSample;
  c.coalesce_us = 50;
  c.pool_batches = 8;
  const bool on_linux = rtcap::platform::capture_platform() == CapturePlatform::kLinuxLibpcap;
  c.mintocopy_bytes = on_linux ? 4000 : -1;
  c.user_buffer_bytes = on_linux ? 1 << 20 : 0;
  auto opened = rtcap::Engine::open(c);
  ASSERT_TRUE(opened) << opened.error().message;
  const auto& cxx = (*opened)->warnings();
  for (const char* name : {"coalesce_us", "pool_batches"})
    EXPECT_EQ(starting(cxx, std::string("CaptureConfig::") + name + " does nothing here").size(),
              1u)
        << name;
  if (on_linux) {
    const auto m = starting(cxx, "CaptureConfig::mintocopy_bytes does nothing here");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_NE(m[0].find("CaptureConfig::timeout_ms"), std::string::npos) << m[0];
    const auto u = starting(cxx, "CaptureConfig::user_buffer_bytes does nothing here");
    ASSERT_EQ(u.size(), 1u);
    EXPECT_NE(u[0].find("CaptureConfig::buffer_kib"), std::string::npos) << u[0];
  }
  for (const auto& w : cxx) {
    EXPECT_EQ(w.find("--"), std::string::npos) << w;
    EXPECT_EQ(w.find("${"), std::string::npos) << w;
  }

  rtcap_config* config = nullptr;
  ASSERT_EQ(rtcap_config_new(&config), RTCAP_OK);
  ASSERT_EQ(rtcap_config_set_read_file(config, kSample), RTCAP_OK);
  ASSERT_EQ(rtcap_config_set_coalesce_us(config, 50), RTCAP_OK);
  ASSERT_EQ(rtcap_config_set_pool_batches(config, 8), RTCAP_OK);
  if (on_linux) {
    ASSERT_EQ(rtcap_config_set_mintocopy_bytes(config, 4000), RTCAP_OK);
  }
  rtcap_engine* engine = nullptr;
  ASSERT_EQ(rtcap_engine_open(config, &engine), RTCAP_OK) << rtcap_last_error();
  rtcap_config_free(config);
  size_t n = 0;
  ASSERT_EQ(rtcap_engine_warning_count(engine, &n), RTCAP_OK);
  std::vector<std::string> c_words, texts;
  for (size_t i = 0; i < n; ++i) {
    const char* w = nullptr;
    ASSERT_EQ(rtcap_engine_warning(engine, i, &w), RTCAP_OK);
    c_words.emplace_back(w);
    ASSERT_EQ(rtcap_engine_warning_text(engine, i, &w), RTCAP_OK);
    texts.emplace_back(w);
  }
  const char* none = nullptr;
  EXPECT_EQ(rtcap_engine_warning_text(engine, n, &none), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_engine_close(engine), RTCAP_OK);
  const auto coalesce = starting(c_words, "rtcap_config_set_coalesce_us does nothing here");
  ASSERT_EQ(coalesce.size(), 1u);
  EXPECT_NE(coalesce[0].find("rtcap_config_set_immediate_mode"), std::string::npos);
  EXPECT_EQ(starting(c_words, "rtcap_config_set_pool_batches does nothing here").size(), 1u);
  if (on_linux) {
    const auto m = starting(c_words, "rtcap_config_set_mintocopy_bytes does nothing here");
    ASSERT_EQ(m.size(), 1u);
    EXPECT_NE(m[0].find("rtcap_config_set_timeout_ms"), std::string::npos) << m[0];
  }
  for (const auto& w : c_words) {
    EXPECT_EQ(w.find("--"), std::string::npos) << w;
    EXPECT_EQ(w.find("CaptureConfig::"), std::string::npos) << w;
  }
  // The text form, for bindings, words into the same lines.
  EXPECT_EQ(table::word(texts, table::Front::kC), c_words);
  EXPECT_EQ(starting(texts, "${coalesce_us} does nothing here").size(), 1u);
}

}  // namespace
