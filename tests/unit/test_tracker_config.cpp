// StreamTrackerConfig's clock rates are checked against the library's one range (sdp.hpp),
// the error naming the field, before a tracker measures anything with them.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include "rtcap/analysis.hpp"
#include "rtcap/rtcap.h"
#include "rtcap/sdp.hpp"

namespace rtcap {
namespace {

void expect_bad(const StreamTrackerConfig& c, const char* setting) {
  const std::optional<Error> e = validate(c);
  ASSERT_TRUE(e.has_value()) << setting;
  EXPECT_EQ(e->code, ErrorCode::kBadConfig);
  EXPECT_EQ(e->setting, setting);
  EXPECT_NE(e->message.find(setting), std::string::npos) << e->message;
  EXPECT_FALSE(e->reason.empty());
  EXPECT_THROW(StreamTracker{c}, std::invalid_argument);
}

TEST(TrackerConfig, DefaultsAreValid) {
  EXPECT_FALSE(validate(StreamTrackerConfig{}).has_value());
  StreamTrackerConfig c;
  c.default_clock_rate = kMaxClockRateHz;
  c.clock_rate_by_pt[11] = kMinClockRateHz;
  EXPECT_FALSE(validate(c).has_value());
}

TEST(TrackerConfig, DefaultClockRateOutOfRange) {
  for (const std::uint32_t hz : {0u, kMinClockRateHz - 1, kMaxClockRateHz + 1, 4294967295u}) {
    StreamTrackerConfig c;
    c.default_clock_rate = hz;
    expect_bad(c, "default_clock_rate");
  }
}

TEST(TrackerConfig, ClockRateByPayloadTypeOutOfRange) {
  StreamTrackerConfig c;
  c.clock_rate_by_pt[96] = 0;
  expect_bad(c, "clock_rate_by_pt");
  c.clock_rate_by_pt.clear();
  c.clock_rate_by_pt[96] = 10'000'000;
  expect_bad(c, "clock_rate_by_pt");
  c.clock_rate_by_pt.clear();
  c.clock_rate_by_pt[128] = 48000;
  expect_bad(c, "clock_rate_by_pt");
}

TEST(TrackerConfig, AudioFormatBuiltByHandOutOfRange) {
  StreamTrackerConfig c;
  FormatOption f;
  ASSERT_EQ(parse_format_option("97=L24/48000/2", f), "");
  c.audio_formats.push_back(f);
  EXPECT_FALSE(validate(c).has_value());
  c.audio_formats[0].clock_rate = 4294967295u;
  expect_bad(c, "audio_formats");
  c.audio_formats[0].clock_rate = 48000;
  c.audio_formats[0].channels = kMaxChannels + 1;
  expect_bad(c, "audio_formats");
}

TEST(TrackerConfig, CApiNamesTheField) {
  rtcap_tracker_options o;
  rtcap_tracker_options_init(&o);
  o.default_clock_rate = kMaxClockRateHz + 1;
  rtcap_tracker* t = nullptr;
  EXPECT_EQ(rtcap_tracker_open(&o, &t), RTCAP_ERR_BAD_CONFIG);
  EXPECT_STREQ(rtcap_last_error_setting(), "default_clock_rate");
  EXPECT_EQ(t, nullptr);
}

}  // namespace
}  // namespace rtcap
