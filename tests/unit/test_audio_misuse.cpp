// Misuse of the live audio API and the stream tracker refused by the library (one rule; C and
// Python translate it): calls from inside the receiver's own callbacks, destroying it there
// (safe: runs under AddressSanitizer in CI's sanitizer job), numbers that are not
// subscriptions, a silence threshold that is not a level, a tracker table without a bound.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "l16_frame.hpp"
#include "rtcap/audio.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

using rtcap::test::l16_frame;

void send(rtcap::StreamTracker& tracker, rtcap::AudioReceiver* audio, std::uint16_t seq) {
  const Bytes f = l16_frame(seq);
  const rtcap::PacketView p{1'700'000'000'000'000'000 + std::int64_t{seq} * 90'000,
                            static_cast<std::uint32_t>(f.size()),
                            0,
                            {f.data(), f.size()}};
  tracker.add(p, rtcap::kDltEn10mb);
  if (audio != nullptr) audio->add(p, rtcap::kDltEn10mb);
}

}  // namespace

TEST(AudioMisuse, UnsubscribeAndSubscribeFromACallbackAreBusyAndDeliveryGoesOn) {
  rtcap::StreamTracker tracker;
  rtcap::AudioReceiver audio(tracker);
  int id = 0;
  std::vector<rtcap::ErrorCode> refusals;
  std::size_t blocks = 0;
  rtcap::AudioSubscription sub;
  sub.frames_per_delivery = 0;
  sub.on_audio = [&](const rtcap::AudioBlock&) {
    ++blocks;
    if (refusals.empty()) {
      auto u = audio.unsubscribe(id);
      refusals.push_back(u ? rtcap::ErrorCode::kIo : u.error().code);
      auto s = audio.subscribe(rtcap::AudioSubscription{});
      refusals.push_back(s ? rtcap::ErrorCode::kIo : s.error().code);
      audio.finish();  // ignored inside a callback
    }
  };
  auto r = audio.subscribe(std::move(sub));
  ASSERT_TRUE(r.has_value());
  id = *r;
  for (std::uint16_t s = 0; s < 20; ++s) send(tracker, &audio, s);
  ASSERT_EQ(refusals.size(), 2u);
  EXPECT_EQ(refusals[0], rtcap::ErrorCode::kBusy);
  EXPECT_EQ(refusals[1], rtcap::ErrorCode::kBusy);
  EXPECT_GT(blocks, 10u);  // the subscription went on after the refused calls
  EXPECT_TRUE(audio.unsubscribe(id).has_value());
}

TEST(AudioMisuse, DestroyingTheReceiverFromItsOwnCallbackIsSafe) {
  rtcap::StreamTracker tracker;
  auto audio = std::make_unique<rtcap::AudioReceiver>(tracker);
  std::size_t blocks = 0;
  rtcap::AudioSubscription sub;
  sub.frames_per_delivery = 0;
  sub.on_audio = [&](const rtcap::AudioBlock&) {
    ++blocks;
    audio.reset();  // no callback after this one; freed when add() returns
  };
  ASSERT_TRUE(audio->subscribe(std::move(sub)).has_value());
  rtcap::AudioReceiver* raw = audio.get();
  for (std::uint16_t s = 0; s < 20 && audio; ++s) send(tracker, raw, s);
  EXPECT_FALSE(audio);
  EXPECT_EQ(blocks, 1u);
}

TEST(AudioMisuse, DestroyingTheReceiverFromAnEndEventIsSafe) {
  rtcap::StreamTracker tracker;
  auto audio = std::make_unique<rtcap::AudioReceiver>(tracker);
  int ends = 0;
  rtcap::AudioSubscription sub;
  sub.on_event = [&](const rtcap::AudioEvent& e) {
    if (e.kind != rtcap::AudioEvent::Kind::kEnd) return;
    ++ends;
    audio.reset();
  };
  auto r = audio->subscribe(std::move(sub));
  ASSERT_TRUE(r.has_value());
  for (std::uint16_t s = 0; s < 20; ++s) send(tracker, audio.get(), s);
  EXPECT_TRUE(audio->unsubscribe(*r).has_value());  // runs the kEnd callback, which destroys it
  EXPECT_FALSE(audio);
  EXPECT_EQ(ends, 1);
}

TEST(AudioMisuse, NumbersThatAreNotSubscriptionsAreRefusedByName) {
  rtcap::StreamTracker tracker;
  rtcap::AudioReceiver audio(tracker);
  for (int id : {0, -1, 1, 12345}) {
    auto u = audio.unsubscribe(id);
    ASSERT_FALSE(u.has_value()) << id;
    EXPECT_EQ(u.error().code, rtcap::ErrorCode::kBadConfig);
    EXPECT_EQ(u.error().setting, "subscription");
    EXPECT_FALSE(audio.stats(id).has_value()) << id;
    EXPECT_FALSE(audio.levels(id).has_value()) << id;
  }
  auto r = audio.subscribe(rtcap::AudioSubscription{});
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(audio.stats(*r).has_value());
  EXPECT_TRUE(audio.unsubscribe(*r).has_value());
  auto twice = audio.unsubscribe(*r);
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().setting, "subscription");
  EXPECT_NE(twice.error().message.find("unsubscribed"), std::string::npos);
  EXPECT_FALSE(audio.stats(*r).has_value());
}

TEST(AudioMisuse, SilenceThresholdOutsideItsRangeIsRefused) {
  rtcap::StreamTracker tracker;
  rtcap::AudioReceiver audio(tracker);
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity(), 20.0, 0.5, -200.5}) {
    rtcap::AudioSubscription sub;
    sub.levels.silence_threshold_dbfs = bad;
    auto r = audio.subscribe(sub);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, rtcap::ErrorCode::kBadConfig);
    EXPECT_EQ(r.error().setting, "silence_threshold_dbfs");
  }
  for (double good : {rtcap::kMinSilenceThresholdDbfs, rtcap::kMaxSilenceThresholdDbfs, -60.0}) {
    rtcap::AudioSubscription sub;
    sub.levels.silence_threshold_dbfs = good;
    EXPECT_TRUE(audio.subscribe(sub).has_value()) << good;
  }
}

TEST(AudioMisuse, TrackerMaxStreamsHasOneRange) {
  rtcap::StreamTrackerConfig c;
  for (std::size_t bad :
       {std::size_t{0}, rtcap::kMaxTrackerStreams + 1, std::size_t{100'000'000}}) {
    c.max_streams = bad;
    const std::optional<rtcap::Error> e = rtcap::validate(c);
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->code, rtcap::ErrorCode::kBadConfig);
    EXPECT_EQ(e->setting, "max_streams");
  }
  c.max_streams = 0;
  EXPECT_THROW(rtcap::StreamTracker{c}, std::invalid_argument);
  for (std::size_t good : {rtcap::kMinTrackerStreams, rtcap::kMaxTrackerStreams}) {
    c.max_streams = good;
    EXPECT_FALSE(rtcap::validate(c).has_value()) << good;
  }
  EXPECT_FALSE(rtcap::linktype_in_range(-5));
  EXPECT_FALSE(rtcap::linktype_in_range(rtcap::kMaxLinktype + 1));
  EXPECT_TRUE(rtcap::linktype_in_range(rtcap::kDltEn10mb));
}
