// A C capture over two interfaces of different link types (Ethernet and raw IP, or one reopened
// as another kind of device) gives each packet its own interface's link type:
// rtcap_tracker_add_batch_by_interface and rtcap_audio_add_batch_by_interface read it per
// interface index, as the C++ add(batch, Span<const int>) does.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "analysis_frames.hpp"
#include "rtcap/rtcap.h"

namespace {

using rtcap::Bytes;

// 100 packets of two streams, alternating: even ones Ethernet on interface 0 to port 5004, odd
// ones raw IP (the Ethernet header cut off) on interface 1 to port 6004.
struct TwoLinks {
  TwoLinks() {
    for (int i = 0; i < 200; ++i) {
      rtcap::Rtp r;
      r.seq = static_cast<std::uint16_t>(i / 2);
      r.ts = 6 * static_cast<std::uint32_t>(i / 2);
      const bool raw = i % 2 == 1;
      r.ssrc = raw ? 0x22222222 : 0x11111111;
      Bytes f = rtcap::rtp_frame(r, 5004, raw ? 6004 : 5004);
      if (raw) f.erase(f.begin(), f.begin() + 14);
      frames.push_back(std::move(f));
    }
    for (std::size_t i = 0; i < frames.size(); ++i) {
      rtcap_packet p{};
      p.ts_ns = 1'000'000'000 + static_cast<std::int64_t>(i / 2) * 125'000;
      p.data = frames[i].data();
      p.caplen = p.wire_len = static_cast<std::uint32_t>(frames[i].size());
      p.interface_index = static_cast<std::uint16_t>(i % 2);
      packets.push_back(p);
    }
    batch.count = packets.size();
    batch.packet_size = sizeof(rtcap_packet);
    batch.packets = packets.data();
  }
  std::vector<Bytes> frames;
  std::vector<rtcap_packet> packets;
  rtcap_batch batch{};
};

nlohmann::json snapshot(rtcap_tracker* t) {
  std::size_t needed = 0;
  (void)rtcap_tracker_snapshot_json(t, nullptr, 0, &needed);
  std::string text(needed, '\0');
  EXPECT_EQ(rtcap_tracker_snapshot_json(t, text.data(), text.size(), &needed), RTCAP_OK);
  text.resize(needed - 1);
  return nlohmann::json::parse(text);
}

TEST(CapiLinkTypes, TrackerTakesEachInterfacesLinkType) {
  const TwoLinks two;
  rtcap_tracker* t = nullptr;
  ASSERT_EQ(rtcap_tracker_open(nullptr, &t), RTCAP_OK);
  const int linktypes[] = {rtcap::kDltEn10mb, rtcap::kDltRaw};
  ASSERT_EQ(rtcap_tracker_add_batch_by_interface(t, &two.batch, linktypes, 2), RTCAP_OK)
      << rtcap_last_error();
  const nlohmann::json j = snapshot(t);
  ASSERT_EQ(j.at("streams").size(), 2u) << j.dump();
  for (const auto& s : j.at("streams")) {
    EXPECT_EQ(s.at("packets"), 100);
    EXPECT_EQ(s.at("lost"), 0);
  }
  EXPECT_EQ(rtcap_tracker_close(t), RTCAP_OK);
}

TEST(CapiLinkTypes, OneLinkTypeForAllMisparsesTheOther) {
  // What the one-link-type entry point does with the same batch: half the packets unreadable.
  const TwoLinks two;
  rtcap_tracker* t = nullptr;
  ASSERT_EQ(rtcap_tracker_open(nullptr, &t), RTCAP_OK);
  ASSERT_EQ(rtcap_tracker_add_batch(t, &two.batch, rtcap::kDltEn10mb), RTCAP_OK);
  EXPECT_EQ(snapshot(t).at("streams").size(), 1u);
  EXPECT_EQ(rtcap_tracker_close(t), RTCAP_OK);
}

TEST(CapiLinkTypes, IndexPastTheArrayIsNotParsedAndNullIsRefused) {
  const TwoLinks two;
  rtcap_tracker* t = nullptr;
  ASSERT_EQ(rtcap_tracker_open(nullptr, &t), RTCAP_OK);
  const int linktypes[] = {rtcap::kDltEn10mb};
  ASSERT_EQ(rtcap_tracker_add_batch_by_interface(t, &two.batch, linktypes, 1), RTCAP_OK);
  EXPECT_EQ(snapshot(t).at("streams").size(), 1u);
  EXPECT_EQ(rtcap_tracker_add_batch_by_interface(t, &two.batch, nullptr, 2),
            RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(rtcap_last_error()).find("linktype_by_interface"), std::string::npos);
  EXPECT_EQ(rtcap_tracker_close(t), RTCAP_OK);
}

TEST(CapiLinkTypes, AudioTakesEachInterfacesLinkType) {
  const TwoLinks two;
  rtcap_tracker* t = nullptr;
  ASSERT_EQ(rtcap_tracker_open(nullptr, &t), RTCAP_OK);
  rtcap_audio* audio = nullptr;
  ASSERT_EQ(rtcap_audio_open_on(t, &audio), RTCAP_OK);
  const int linktypes[] = {rtcap::kDltEn10mb, rtcap::kDltRaw};
  ASSERT_EQ(rtcap_audio_add_batch_by_interface(audio, &two.batch, linktypes, 2), RTCAP_OK)
      << rtcap_last_error();
  EXPECT_EQ(rtcap_audio_add_batch_by_interface(audio, &two.batch, nullptr, 2),
            RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_audio_close(audio), RTCAP_OK);
  // The audio fed its tracker with the right link types: both streams are there.
  ASSERT_EQ(snapshot(t).at("streams").size(), 2u);
  EXPECT_EQ(rtcap_tracker_close(t), RTCAP_OK);
}

}  // namespace
