// The C face of the library's misuse rules (tests/unit/test_audio_misuse.cpp): each refusal
// translated with its status and the field named (rtcap_last_error_setting), never OK with zeros.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "rtcap/rtcap.h"

namespace {

void expect_field(int status, const char* setting) {
  EXPECT_EQ(status, RTCAP_ERR_BAD_CONFIG) << rtcap_last_error();
  EXPECT_STREQ(rtcap_last_error_setting(), setting) << rtcap_last_error();
}

}  // namespace

TEST(CapiMisuse, AudioRefusesNonsenseByName) {
  rtcap_audio* audio = nullptr;
  ASSERT_EQ(rtcap_audio_open(&audio), RTCAP_OK);
  rtcap_audio_subscription sub;
  int id = 0;
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), 20.0}) {
    ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
    sub.silence_threshold_dbfs = bad;
    expect_field(rtcap_audio_subscribe(audio, &sub, &id), "silence_threshold_dbfs");
  }
  ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
  sub.dst = "nope";
  expect_field(rtcap_audio_subscribe(audio, &sub, &id), "dst");
  ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
  sub.src = "198.18.0.300";
  expect_field(rtcap_audio_subscribe(audio, &sub, &id), "src");
  ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
  sub.sdp = "garbage";
  expect_field(rtcap_audio_subscribe(audio, &sub, &id), "sdp");

  expect_field(rtcap_audio_unsubscribe(audio, 12345), "subscription");
  rtcap_audio_stats st{};
  st.size = sizeof st;
  expect_field(rtcap_audio_stats_get(audio, 999, &st), "subscription");
  ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
  ASSERT_EQ(rtcap_audio_subscribe(audio, &sub, &id), RTCAP_OK);
  EXPECT_EQ(rtcap_audio_stats_get(audio, id, &st), RTCAP_OK);
  EXPECT_EQ(rtcap_audio_unsubscribe(audio, id), RTCAP_OK);
  expect_field(rtcap_audio_unsubscribe(audio, id), "subscription");
  expect_field(rtcap_audio_stats_get(audio, id, &st), "subscription");

  const rtcap_batch empty{0, sizeof(rtcap_packet), nullptr};
  expect_field(rtcap_audio_add_batch(audio, &empty, -5), "linktype");
  expect_field(rtcap_audio_add_batch(audio, &empty, 65536), "linktype");
  EXPECT_EQ(rtcap_audio_add_batch(audio, &empty, 1), RTCAP_OK);
  EXPECT_EQ(rtcap_audio_close(audio), RTCAP_OK);
}

TEST(CapiMisuse, TrackerMaxStreamsAndLinkTypeHaveTheLibrarysRange) {
  rtcap_tracker_options o;
  rtcap_tracker* t = nullptr;
  for (std::size_t bad :
       {std::size_t{0}, std::size_t{65537}, std::size_t{1'000'000}, std::size_t{100'000'000}}) {
    ASSERT_EQ(rtcap_tracker_options_init(&o), RTCAP_OK);
    o.max_streams = bad;
    expect_field(rtcap_tracker_open(&o, &t), "max_streams");
    EXPECT_EQ(t, nullptr);
  }
  ASSERT_EQ(rtcap_tracker_options_init(&o), RTCAP_OK);
  ASSERT_EQ(rtcap_tracker_open(&o, &t), RTCAP_OK);
  const rtcap_batch empty{0, sizeof(rtcap_packet), nullptr};
  expect_field(rtcap_tracker_add_batch(t, &empty, -5), "linktype");
  EXPECT_EQ(rtcap_tracker_add_batch(t, &empty, 1), RTCAP_OK);
  EXPECT_EQ(rtcap_tracker_close(t), RTCAP_OK);
}
