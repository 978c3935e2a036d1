// The C face of the stream tracker (rtcap_tracker_* in rtcap.h): the JSON is the C++ snapshot's
// to_json, text calls say how much room they need, options name the field they refuse, handles
// are never dereferenced, and an rtcap_audio opened on a tracker feeds it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "analysis_frames.hpp"
#include "rtcap/rtcap.h"

namespace {

using rtcap::Bytes;

// RTP to 198.19.0.2:5004, sequence 0..count-1 but for those in `lost`, 125 us apart, 6 frames of
// L24 stereo each.
std::vector<Bytes> frames(std::uint8_t pt, int count, const std::vector<int>& lost) {
  std::vector<Bytes> out;
  for (int i = 0; i < count; ++i) {
    if (std::find(lost.begin(), lost.end(), i) != lost.end()) continue;
    rtcap::Rtp r;
    r.pt = pt;
    r.seq = static_cast<std::uint16_t>(i);
    r.ts = 6 * static_cast<std::uint32_t>(i);
    out.push_back(rtcap::rtp_frame(r));
  }
  return out;
}

// The C batch of those frames (kept here), and the same packets for a C++ tracker.
struct CBatch {
  explicit CBatch(std::vector<Bytes> made) : f(std::move(made)) {
    for (std::size_t i = 0; i < f.size(); ++i) {
      rtcap_packet p{};
      p.ts_ns = 1'000'000'000 + static_cast<std::int64_t>(i) * 125'000;
      p.data = f[i].data();
      p.caplen = p.wire_len = static_cast<std::uint32_t>(f[i].size());
      packets.push_back(p);
    }
    batch.count = packets.size();
    batch.packet_size = sizeof(rtcap_packet);
    batch.packets = packets.data();
  }
  void feed(rtcap::StreamTracker& t) const {
    for (const rtcap_packet& p : packets)
      t.add(rtcap::PacketView{p.ts_ns, p.wire_len, 0, {p.data, p.caplen}}, rtcap::kDltEn10mb);
  }
  std::vector<Bytes> f;
  std::vector<rtcap_packet> packets;
  rtcap_batch batch{};
};

// The SDP of the stream frames() makes.
constexpr const char* kStageLeft =
    "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Stage left\r\nc=IN IP4 198.19.0.2/32\r\nt=0 0\r\n"
    "m=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\n";

std::string json_of(rtcap_tracker* t) {
  std::size_t needed = 0;
  EXPECT_EQ(rtcap_tracker_snapshot_json(t, nullptr, 0, &needed), RTCAP_ERR_BUFFER_TOO_SMALL);
  std::string text(needed, '\0');
  EXPECT_EQ(rtcap_tracker_snapshot_json(t, text.data(), text.size(), &needed), RTCAP_OK);
  text.resize(needed - 1);
  return text;
}

}  // namespace

TEST(CapiTracker, SnapshotJsonIsTheLibrarysAndTextCallsSayTheRoomNeeded) {
  const CBatch c(frames(97, 200, {10, 11, 150}));
  rtcap_tracker* t = nullptr;
  ASSERT_EQ(rtcap_tracker_open(nullptr, &t), RTCAP_OK);
  ASSERT_EQ(rtcap_tracker_add_batch(t, &c.batch, 1), RTCAP_OK);
  rtcap::StreamTracker cpp;
  c.feed(cpp);

  const std::string text = json_of(t);
  EXPECT_EQ(text, rtcap::to_json(cpp.snapshot()));
  const nlohmann::json j = nlohmann::json::parse(text);
  ASSERT_EQ(j.at("streams").size(), 1u);
  const auto& s = j.at("streams")[0];
  EXPECT_EQ(s.at("packets"), 197);
  EXPECT_EQ(s.at("lost"), 3);
  EXPECT_EQ(s.at("ssrc"), "0x11223344");
  EXPECT_EQ(s.at("dst_addr"), "198.19.0.2");

  // Too small: the size, the error, and the buffer untouched.
  char small[8] = "keep";
  std::size_t needed = 0;
  EXPECT_EQ(rtcap_tracker_snapshot_json(t, small, sizeof small, &needed),
            RTCAP_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(needed, text.size() + 1);
  EXPECT_STREQ(small, "keep");
  EXPECT_NE(std::string(rtcap_last_error()).find("rtcap_tracker_snapshot_json"), std::string::npos);
  EXPECT_EQ(rtcap_tracker_snapshot_json(t, nullptr, 8, &needed), RTCAP_ERR_INVALID_ARGUMENT);

  // The table, fitted to a width, as format_stream_table gives it.
  std::string table(1 << 16, '\0');
  ASSERT_EQ(rtcap_tracker_table(t, 80, table.data(), table.size(), &needed), RTCAP_OK);
  table.resize(needed - 1);
  EXPECT_EQ(table, rtcap::format_stream_table(cpp.snapshot(), 80));
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("198.19.0.2:5004") != std::string::npos) {
      EXPECT_LE(line.size(), 80u) << line;
    }
  }

  EXPECT_EQ(rtcap_tracker_close(t), RTCAP_OK);
  EXPECT_EQ(rtcap_tracker_close(t), RTCAP_ERR_INVALID_HANDLE);
}

TEST(CapiTracker, OptionsNameTheFieldTheyRefuse) {
  rtcap_tracker* t = nullptr;
  rtcap_tracker_options o;
  ASSERT_EQ(rtcap_tracker_options_init(&o), RTCAP_OK);
  EXPECT_EQ(o.size, sizeof o);
  EXPECT_EQ(o.max_streams, rtcap::StreamTrackerConfig{}.max_streams);
  EXPECT_EQ(o.default_clock_rate, 48000u);

  const char* bad_format[] = {"97=L24/48000/2", "97=L99/1/1"};
  o.audio_formats = bad_format;
  o.audio_format_count = 2;
  EXPECT_EQ(rtcap_tracker_open(&o, &t), RTCAP_ERR_BAD_CONFIG);
  EXPECT_STREQ(rtcap_last_error_setting(), "audio_formats");
  EXPECT_EQ(t, nullptr);

  rtcap_tracker_options_init(&o);
  o.sdp = "v=0\r\ns=nothing\r\n";
  EXPECT_EQ(rtcap_tracker_open(&o, &t), RTCAP_ERR_BAD_CONFIG);
  EXPECT_STREQ(rtcap_last_error_setting(), "sdp");

  rtcap_tracker_options_init(&o);
  o.default_clock_rate = 0;
  EXPECT_EQ(rtcap_tracker_open(&o, &t), RTCAP_ERR_BAD_CONFIG);
  EXPECT_STREQ(rtcap_last_error_setting(), "default_clock_rate");

  rtcap_tracker_options_init(&o);
  o.size = 0;
  EXPECT_EQ(rtcap_tracker_open(&o, &t), RTCAP_ERR_INVALID_ARGUMENT);

  // A format given by the application reaches the stream table.
  rtcap_tracker_options_init(&o);
  const char* formats[] = {"198.19.0.2:5004=L24/48000/2"};
  o.audio_formats = formats;
  o.audio_format_count = 1;
  o.sdp = kStageLeft;
  ASSERT_EQ(rtcap_tracker_open(&o, &t), RTCAP_OK);
  const CBatch c(frames(97, 20, {}));
  ASSERT_EQ(rtcap_tracker_add_batch(t, &c.batch, 1), RTCAP_OK);
  const nlohmann::json j = nlohmann::json::parse(json_of(t));
  EXPECT_EQ(j.at("streams")[0].at("session_name"), "Stage left");
  EXPECT_EQ(j.at("streams")[0].at("channels"), 2);
  EXPECT_EQ(rtcap_tracker_close(t), RTCAP_OK);
}

TEST(CapiTracker, HandlesAreNeverDereferenced) {
  rtcap_batch empty{};
  char buf[4];
  EXPECT_EQ(rtcap_tracker_close(nullptr), RTCAP_ERR_INVALID_HANDLE);
  EXPECT_EQ(rtcap_tracker_add_batch(nullptr, &empty, 1), RTCAP_ERR_INVALID_HANDLE);
  auto* made_up = reinterpret_cast<rtcap_tracker*>(static_cast<std::uintptr_t>(0x7fff1234));
  EXPECT_EQ(rtcap_tracker_snapshot_json(made_up, buf, sizeof buf, nullptr),
            RTCAP_ERR_INVALID_HANDLE);
  EXPECT_EQ(rtcap_tracker_table(made_up, 0, buf, sizeof buf, nullptr), RTCAP_ERR_INVALID_HANDLE);
  rtcap_audio* audio = nullptr;
  EXPECT_EQ(rtcap_audio_open_on(made_up, &audio), RTCAP_ERR_INVALID_HANDLE);
  EXPECT_EQ(audio, nullptr);
  EXPECT_EQ(rtcap_tracker_open(nullptr, nullptr), RTCAP_ERR_INVALID_ARGUMENT);
}

namespace {
struct Shared {
  rtcap_tracker* tracker = nullptr;
  int snapshots = 0;
};
}  // namespace

TEST(CapiTracker, AudioOpenedOnATrackerFeedsItAndKeepsItOpen) {
  Shared app;
  rtcap_tracker_options o;
  rtcap_tracker_options_init(&o);
  o.sdp = kStageLeft;  // the audio reads the format from the tracker's catalogue
  ASSERT_EQ(rtcap_tracker_open(&o, &app.tracker), RTCAP_OK);
  rtcap_audio* audio = nullptr;
  ASSERT_EQ(rtcap_audio_open_on(app.tracker, &audio), RTCAP_OK);
  rtcap_audio_subscription sub;
  rtcap_audio_subscription_init(&sub);
  sub.frames_per_delivery = 0;
  sub.user = &app;
  sub.on_audio = [](void* user, const rtcap_audio_block*) {
    // The tracker is held by this very call: a snapshot from here must not deadlock.
    auto& a = *static_cast<Shared*>(user);
    std::size_t needed = 0;
    a.snapshots +=
        rtcap_tracker_snapshot_json(a.tracker, nullptr, 0, &needed) == RTCAP_ERR_BUFFER_TOO_SMALL;
  };
  int id = 0;
  ASSERT_EQ(rtcap_audio_subscribe(audio, &sub, &id), RTCAP_OK);
  const CBatch c(frames(97, 50, {30}));
  ASSERT_EQ(rtcap_audio_add_batch(audio, &c.batch, 1), RTCAP_OK);
  EXPECT_GT(app.snapshots, 0);

  const nlohmann::json j = nlohmann::json::parse(json_of(app.tracker));
  ASSERT_EQ(j.at("streams").size(), 1u);
  EXPECT_EQ(j.at("streams")[0].at("packets"), 49);
  EXPECT_EQ(j.at("streams")[0].at("lost"), 1);

  EXPECT_EQ(rtcap_tracker_close(app.tracker), RTCAP_ERR_BUSY);
  EXPECT_EQ(rtcap_audio_close(audio), RTCAP_OK);
  EXPECT_EQ(rtcap_tracker_close(app.tracker), RTCAP_OK);
}
