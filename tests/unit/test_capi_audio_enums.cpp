// The C subscription's enums are plain ints: a value outside rtcap_sample_format,
// rtcap_channel_layout or rtcap_loss_fill is refused with the field named, not read as a default;
// the C++ subscription refuses the same for an enum cast from an int.
#include <gtest/gtest.h>

#include <string>

#include "rtcap/audio.hpp"
#include "rtcap/rtcap.h"

namespace {

void expect_refused(int rtcap_audio_subscription::*field, int value, const char* name) {
  rtcap_audio* audio = nullptr;
  ASSERT_EQ(rtcap_audio_open(&audio), RTCAP_OK);
  rtcap_audio_subscription sub;
  ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
  sub.*field = value;
  int id = 0;
  EXPECT_EQ(rtcap_audio_subscribe(audio, &sub, &id), RTCAP_ERR_BAD_CONFIG) << name << "=" << value;
  EXPECT_STREQ(rtcap_last_error_setting(), name);
  const std::string message = rtcap_last_error();
  EXPECT_NE(message.find(name), std::string::npos) << message;
  EXPECT_NE(message.find(std::to_string(value)), std::string::npos) << message;
  EXPECT_EQ(id, 0);
  EXPECT_EQ(rtcap_audio_close(audio), RTCAP_OK);
}

TEST(CapiAudioEnums, OutOfRangeValuesAreRefused) {
  for (const int v : {-1, 2, 1000}) {
    expect_refused(&rtcap_audio_subscription::format, v, "format");
    expect_refused(&rtcap_audio_subscription::layout, v, "layout");
    expect_refused(&rtcap_audio_subscription::loss, v, "loss");
  }
}

TEST(CapiAudioEnums, EveryNamedValueIsTaken) {
  rtcap_audio* audio = nullptr;
  ASSERT_EQ(rtcap_audio_open(&audio), RTCAP_OK);
  for (const int format : {RTCAP_SAMPLES_FLOAT32, RTCAP_SAMPLES_INT32})
    for (const int layout : {RTCAP_CHANNELS_INTERLEAVED, RTCAP_CHANNELS_PLANAR})
      for (const int loss : {RTCAP_LOSS_SILENCE, RTCAP_LOSS_GAP_ONLY}) {
        rtcap_audio_subscription sub;
        ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
        sub.format = format;
        sub.layout = layout;
        sub.loss = loss;
        int id = 0;
        EXPECT_EQ(rtcap_audio_subscribe(audio, &sub, &id), RTCAP_OK) << rtcap_last_error();
      }
  EXPECT_EQ(rtcap_audio_close(audio), RTCAP_OK);
}

TEST(AudioSubscriptionEnums, CastFromAnIntIsRefused) {
  rtcap::StreamTracker tracker;
  rtcap::AudioReceiver receiver(tracker);
  rtcap::AudioSubscription sub;
  sub.format = static_cast<rtcap::SampleFormat>(7);
  auto r = receiver.subscribe(sub);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().setting, "format");
  sub = rtcap::AudioSubscription{};
  sub.layout = static_cast<rtcap::ChannelLayout>(7);
  r = receiver.subscribe(sub);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().setting, "layout");
  sub = rtcap::AudioSubscription{};
  sub.loss = static_cast<rtcap::LossFill>(7);
  r = receiver.subscribe(sub);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().setting, "loss");
}

}  // namespace
