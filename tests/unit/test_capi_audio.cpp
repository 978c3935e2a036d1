// The C face of the live audio API (rtcap_audio_* in rtcap.h): plain structs per delivery and
// event, defaults from the C++ subscription, errors that name the field, handles that are never
// dereferenced, and a call from inside its own callback refused (RTCAP_ERR_BUSY).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "l16_frame.hpp"
#include "rtcap/rtcap.h"

namespace {

using rtcap::test::l16_frame;

struct App {
  rtcap_audio* audio = nullptr;
  std::vector<std::int32_t> samples;
  std::vector<int> events;
  std::string session;
  int busy = 0;
};

}  // namespace

TEST(CapiAudio, DeliversPlainStructsAndRefusesMisuse) {
  EXPECT_EQ(rtcap_audio_close(nullptr), RTCAP_ERR_INVALID_HANDLE);
  App app;
  ASSERT_EQ(rtcap_audio_open(&app.audio), RTCAP_OK);
  rtcap_audio_subscription sub;
  ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
  EXPECT_EQ(sub.frames_per_delivery, 480u);
  EXPECT_EQ(sub.max_channels, 8);
  int id = 0;
  sub.max_channels = 0;
  EXPECT_EQ(rtcap_audio_subscribe(app.audio, &sub, &id), RTCAP_ERR_BAD_CONFIG);
  EXPECT_STREQ(rtcap_last_error_setting(), "max_channels");
  rtcap_audio_subscription_init(&sub);
  sub.format = RTCAP_SAMPLES_INT32;
  sub.frames_per_delivery = 0;
  sub.user = &app;
  sub.on_audio = [](void* user, const rtcap_audio_block* b) {
    auto& a = *static_cast<App*>(user);
    EXPECT_EQ(b->size, sizeof *b);
    EXPECT_EQ(b->stream->rate_hz, 44100u);
    EXPECT_STREQ(b->stream->dst, "239.69.7.1");
    // Calls on the handle from its own callback are refused; capture goes on.
    a.busy += rtcap_audio_finish(a.audio) == RTCAP_ERR_BUSY;
    for (std::size_t f = 0; f < b->frames; ++f)
      a.samples.push_back(static_cast<const std::int32_t*>(b->data)[f * b->frame_stride]);
  };
  sub.on_event = [](void* user, const rtcap_audio_event* e) {
    static_cast<App*>(user)->events.push_back(e->kind);
  };
  ASSERT_EQ(rtcap_audio_subscribe(app.audio, &sub, &id), RTCAP_OK);
  EXPECT_EQ(id, 1);

  std::vector<std::vector<std::uint8_t>> frames;
  for (std::uint16_t s = 0; s < 10; ++s)
    if (s != 6) frames.push_back(l16_frame(s));
  std::vector<rtcap_packet> packets(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i)
    packets[i] = rtcap_packet{1'700'000'000'000'000'000 + static_cast<std::int64_t>(i) * 90'000,
                              frames[i].data(),
                              static_cast<std::uint32_t>(frames[i].size()),
                              static_cast<std::uint32_t>(frames[i].size()),
                              0,
                              0,
                              0};
  const rtcap_batch batch{packets.size(), sizeof(rtcap_packet), packets.data()};
  ASSERT_EQ(rtcap_audio_add_batch(app.audio, &batch, 1), RTCAP_OK);
  ASSERT_EQ(rtcap_audio_finish(app.audio), RTCAP_OK);
  ASSERT_FALSE(app.samples.empty());
  EXPECT_GT(app.busy, 0);
  // From the first delivered packet on: k*4+i left-justified, packet 6's place silent.
  const std::int32_t first = (app.samples[0] >> 16) / 4;
  for (std::size_t i = 0; i < app.samples.size(); ++i) {
    const auto k = static_cast<std::int32_t>(first + static_cast<std::int32_t>(i / 4));
    EXPECT_EQ(app.samples[i], k == 6 ? 0 : (k * 4 + static_cast<std::int32_t>(i % 4)) << 16) << i;
  }
  ASSERT_GE(app.events.size(), 3u);
  EXPECT_EQ(app.events.front(), RTCAP_AUDIO_START);
  EXPECT_EQ(app.events.back(), RTCAP_AUDIO_END);
  rtcap_audio_stats st{};
  st.size = sizeof st;
  ASSERT_EQ(rtcap_audio_stats_get(app.audio, id, &st), RTCAP_OK);
  EXPECT_EQ(st.lost_packets, 1u);
  EXPECT_EQ(st.gaps, 1u);
  EXPECT_EQ(st.silence_frames, 4u);
  EXPECT_EQ(rtcap_audio_close(app.audio), RTCAP_OK);
  EXPECT_EQ(rtcap_audio_close(app.audio), RTCAP_ERR_INVALID_HANDLE);
}

// A batch the application built with a packet whose data is NULL but whose caplen is not zero is
// refused whole (nothing read), and the handle goes on: the next batch is taken.
TEST(CapiAudio, RefusesABatchWhosePacketDataIsNull) {
  rtcap_audio* audio = nullptr;
  ASSERT_EQ(rtcap_audio_open(&audio), RTCAP_OK);
  rtcap_audio_subscription sub;
  ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
  int id = 0;
  ASSERT_EQ(rtcap_audio_subscribe(audio, &sub, &id), RTCAP_OK);
  const std::vector<std::uint8_t> good = l16_frame(0);
  rtcap_packet packets[2] = {
      {1'700'000'000'000'000'000, good.data(), static_cast<std::uint32_t>(good.size()),
       static_cast<std::uint32_t>(good.size()), 0, 0, 0},
      {1'700'000'000'000'100'000, nullptr, 100, 100, 0, 0, 0}};
  const rtcap_batch batch{2, sizeof(rtcap_packet), packets};
  EXPECT_EQ(rtcap_audio_add_batch(audio, &batch, 1), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(rtcap_last_error()).find("packet 1 of the batch has data NULL"),
            std::string::npos)
      << rtcap_last_error();
  const int links[1] = {1};
  EXPECT_EQ(rtcap_audio_add_batch_by_interface(audio, &batch, links, 1),
            RTCAP_ERR_INVALID_ARGUMENT);
  const rtcap_batch no_packets{3, sizeof(rtcap_packet), nullptr};
  EXPECT_EQ(rtcap_audio_add_batch(audio, &no_packets, 1), RTCAP_ERR_INVALID_ARGUMENT);
  const rtcap_batch short_stride{2, 8, packets};
  EXPECT_EQ(rtcap_audio_add_batch(audio, &short_stride, 1), RTCAP_ERR_INVALID_ARGUMENT);
  rtcap_tracker* tracker = nullptr;
  ASSERT_EQ(rtcap_tracker_open(nullptr, &tracker), RTCAP_OK);
  EXPECT_EQ(rtcap_tracker_add_batch(tracker, &batch, 1), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_tracker_close(tracker), RTCAP_OK);
  // An empty packet (data NULL, caplen 0) is a packet like any other.
  packets[1].caplen = 0;
  EXPECT_EQ(rtcap_audio_add_batch(audio, &batch, 1), RTCAP_OK);
  rtcap_audio_stats st{};
  st.size = sizeof st;
  EXPECT_EQ(rtcap_audio_stats_get(audio, id, &st), RTCAP_OK);
  EXPECT_EQ(rtcap_audio_close(audio), RTCAP_OK);
}

namespace {
struct Supplied {
  std::vector<std::vector<std::int32_t>> pieces;
  std::size_t matched = 0, blocks = 0;
};

// The memory of a program built against C API version 4: its struct ends before on_buffer, and
// what follows it (here a buffer function) is the program's own, never to be written or called.
int g_foreign_calls = 0;
void* foreign(void*, const rtcap_audio_stream*, size_t) {
  ++g_foreign_calls;
  return nullptr;
}
struct alignas(rtcap_audio_subscription) OldProgram {
  unsigned char sub[offsetof(rtcap_audio_subscription, on_buffer)];
  rtcap_audio_buffer_fn next = foreign;
};
static_assert(offsetof(OldProgram, next) == offsetof(rtcap_audio_subscription, on_buffer));
}  // namespace

// on_buffer: each delivery is written into the application's memory (its data is the piece
// given). A program built before on_buffer calls the exported rtcap_audio_subscription_init with
// the older, smaller struct: not a byte past it is written or read, and its deliveries are the
// library's buffer.
TEST(CapiAudio, DeliversIntoTheApplicationsMemoryAndTakesTheOlderStruct) {
  for (const bool older : {false, true}) {
    SCOPED_TRACE(older ? "version 4 program" : "this header");
    rtcap_audio* audio = nullptr;
    ASSERT_EQ(rtcap_audio_open(&audio), RTCAP_OK);
    Supplied app;
    rtcap_audio_subscription current;
    OldProgram old;
    g_foreign_calls = 0;
    rtcap_audio_subscription& sub =
        older ? *reinterpret_cast<rtcap_audio_subscription*>(&old) : current;
    // (name): the function a version 4 binary calls, not this header's macro.
    ASSERT_EQ(older ? (rtcap_audio_subscription_init)(&sub) : rtcap_audio_subscription_init(&sub),
              RTCAP_OK);
    EXPECT_EQ(sub.size, older ? offsetof(rtcap_audio_subscription, on_buffer) : sizeof sub);
    EXPECT_EQ(old.next, &foreign);  // nothing written past the older struct
    sub.format = RTCAP_SAMPLES_INT32;
    sub.frames_per_delivery = 8;
    sub.user = &app;
    if (!older)
      sub.on_buffer = [](void* user, const rtcap_audio_stream* s, size_t samples) -> void* {
        auto& a = *static_cast<Supplied*>(user);
        EXPECT_EQ(samples, 8u * static_cast<std::size_t>(s->channels));
        a.pieces.emplace_back(samples, -1);
        return a.pieces.back().data();
      };
    sub.on_audio = [](void* user, const rtcap_audio_block* b) {
      auto& a = *static_cast<Supplied*>(user);
      ++a.blocks;
      a.matched += !a.pieces.empty() && b->data == a.pieces.back().data();
    };
    int id = 0;
    ASSERT_EQ(rtcap_audio_subscribe(audio, &sub, &id), RTCAP_OK) << rtcap_last_error();
    std::vector<std::vector<std::uint8_t>> frames;
    for (std::uint16_t s = 0; s < 20; ++s) frames.push_back(l16_frame(s));
    std::vector<rtcap_packet> packets(frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i)
      packets[i] = rtcap_packet{1'700'000'000'000'000'000 + static_cast<std::int64_t>(i) * 90'000,
                                frames[i].data(),
                                static_cast<std::uint32_t>(frames[i].size()),
                                static_cast<std::uint32_t>(frames[i].size()),
                                0,
                                0,
                                0};
    const rtcap_batch batch{packets.size(), sizeof(rtcap_packet), packets.data()};
    ASSERT_EQ(rtcap_audio_add_batch(audio, &batch, 1), RTCAP_OK);
    ASSERT_EQ(rtcap_audio_finish(audio), RTCAP_OK);
    ASSERT_GT(app.blocks, 0u);
    EXPECT_EQ(app.matched, older ? 0u : app.blocks);
    EXPECT_EQ(app.pieces.size(), older ? 0u : app.blocks);
    rtcap_audio_stats st{};
    st.size = sizeof st;
    ASSERT_EQ(rtcap_audio_stats_get(audio, id, &st), RTCAP_OK);
    EXPECT_EQ(st.own_buffer_deliveries, 0u);
    EXPECT_EQ(g_foreign_calls, 0);  // what follows the older struct is never read as on_buffer
    EXPECT_EQ(rtcap_audio_close(audio), RTCAP_OK);
  }
}

// A size smaller than any struct is refused; a later header's larger struct gets the fields this
// library knows, the rest zeroed, and .size says how much the library reads.
TEST(CapiAudio, SubscriptionInitWritesTheSizeItIsGiven) {
  rtcap_audio_subscription sub;
  EXPECT_EQ(rtcap_audio_subscription_init_sized(&sub, 8), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_audio_subscription_init_sized(nullptr, sizeof sub), RTCAP_ERR_INVALID_ARGUMENT);
  struct Later {
    rtcap_audio_subscription known;
    std::uint64_t appended;
  } later;
  std::memset(static_cast<void*>(&later), 0xab, sizeof later);
  ASSERT_EQ(rtcap_audio_subscription_init_sized(&later.known, sizeof later), RTCAP_OK);
  EXPECT_EQ(later.known.size, sizeof(rtcap_audio_subscription));
  EXPECT_EQ(later.appended, 0u);
  EXPECT_EQ(later.known.on_buffer, nullptr);
  EXPECT_EQ(later.known.dst_port, -1);
}

namespace {

struct Fed {
  std::vector<std::vector<std::uint8_t>> frames;
  std::vector<rtcap_packet> packets;
  rtcap_batch batch{};
  explicit Fed(std::uint16_t n) {
    for (std::uint16_t s = 0; s < n; ++s) frames.push_back(l16_frame(s));
    for (std::size_t i = 0; i < frames.size(); ++i)
      packets.push_back(
          rtcap_packet{1'700'000'000'000'000'000 + static_cast<std::int64_t>(i) * 90'000,
                       frames[i].data(), static_cast<std::uint32_t>(frames[i].size()),
                       static_cast<std::uint32_t>(frames[i].size()), 0, 0, 0});
    batch = rtcap_batch{packets.size(), sizeof(rtcap_packet), packets.data()};
  }
};

struct Told {
  rtcap_audio* audio = nullptr;
  std::string busy_message;
  int second_blocks = 0;
};

}  // namespace

// A subscription's levels on demand, as C++ AudioReceiver::levels gives them; the library's
// words when a callback unsubscribes; a second subscription of the stream gets it too.
TEST(CapiAudio, LevelsOnDemandAndTheLibrarysWords) {
  Told told;
  ASSERT_EQ(rtcap_audio_open(&told.audio), RTCAP_OK);
  rtcap_audio_subscription sub;
  ASSERT_EQ(rtcap_audio_subscription_init(&sub), RTCAP_OK);
  sub.user = &told;
  sub.on_audio = [](void* user, const rtcap_audio_block*) {
    auto& t = *static_cast<Told*>(user);
    if (t.busy_message.empty() && rtcap_audio_unsubscribe(t.audio, 1) == RTCAP_ERR_BUSY)
      t.busy_message = rtcap_last_error();
  };
  sub.frames_per_delivery = 0;
  int id = 0;
  ASSERT_EQ(rtcap_audio_subscribe(told.audio, &sub, &id), RTCAP_OK);
  rtcap_audio_subscription_init(&sub);
  sub.user = &told;
  sub.on_audio = [](void* user, const rtcap_audio_block*) {
    ++static_cast<Told*>(user)->second_blocks;
  };
  sub.frames_per_delivery = 0;
  int second = 0;
  ASSERT_EQ(rtcap_audio_subscribe(told.audio, &sub, &second), RTCAP_OK);
  const Fed fed(20);
  ASSERT_EQ(rtcap_audio_add_batch(told.audio, &fed.batch, 1), RTCAP_OK);
  EXPECT_EQ(told.busy_message,
            "rtcap_audio_unsubscribe: called from inside one of the receiver's callbacks; call it "
            "after the callback returns");
  EXPECT_GT(told.second_blocks, 0);  // the stream fans out to both subscriptions

  std::size_t streams = 0, channels = 0;
  EXPECT_EQ(rtcap_audio_levels(told.audio, id, nullptr, 0, &streams, nullptr, 0, &channels),
            RTCAP_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(streams, 1u);
  EXPECT_EQ(channels, 1u);
  const rtcap_audio_stream* s = nullptr;
  rtcap_channel_levels l{};
  ASSERT_EQ(rtcap_audio_levels(told.audio, id, &s, 1, &streams, &l, 1, &channels), RTCAP_OK);
  ASSERT_NE(s, nullptr);
  EXPECT_STREQ(s->dst, "239.69.7.1");
  EXPECT_EQ(s->channels, 1);
  EXPECT_EQ(s->rate_hz, 44100u);
  // The texts are the library's to keep, not the call's (AddressSanitizer in CI).
  EXPECT_STREQ(s->source, "static (RFC 3551)");
  EXPECT_STREQ(s->session_name, "");
  EXPECT_STREQ(s->redundancy_group, "");
  EXPECT_EQ(s->redundancy_leg, -1);
  sub.dst = "239.69.9.9";
  ASSERT_EQ(rtcap_audio_subscribe(told.audio, &sub, &second), RTCAP_OK);
  ASSERT_EQ(rtcap_audio_levels(told.audio, second, &s, 1, &streams, &l, 1, &channels), RTCAP_OK);
  EXPECT_EQ(streams, 0u);
  EXPECT_EQ(rtcap_audio_levels(told.audio, 9, &s, 1, &streams, &l, 1, &channels),
            RTCAP_ERR_BAD_CONFIG);
  EXPECT_STREQ(rtcap_last_error_setting(), "subscription");
  EXPECT_EQ(rtcap_audio_close(told.audio), RTCAP_OK);
}
