// The usage examples in the public headers' comments, as code that compiles and runs: a header
// comment that drifts from the API fails here. Each block below is the comment's text with its
// placeholders (use(p), print(...), "...") filled in.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "rtcap/analysis.hpp"
#include "rtcap/audio.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/writer.hpp"

#ifndef RTCAP_SOURCE_DIR
#define RTCAP_SOURCE_DIR "."
#endif

namespace {

const char* kSample = RTCAP_SOURCE_DIR "/tests/data/rtp-12streams-125us.pcap";
std::uint64_t used = 0;
void use(const rtcap::PacketView& p) { used += p.bytes.size() ? 1 : 0; }

}  // namespace

TEST(HeaderExamples, EngineInlineAndThreaded) {
  rtcap::CaptureConfig config;
  config.read_file = kSample;
  used = 0;
  {                                             // engine.hpp, inline
    auto engine = rtcap::Engine::open(config);  // handles open, filter set, nothing runs
    if (!engine) {
      std::puts(engine.error().message.c_str());
      FAIL();
    }
    while (!(*engine)->done())
      (void)(*engine)->poll(std::chrono::milliseconds(100), [&](const rtcap::Batch& batch) {
        for (rtcap::PacketView p : batch) use(p);  // valid during the call only
      });
  }
  EXPECT_EQ(used, 1200u);
  used = 0;
  config.delivery = rtcap::Delivery::kThreaded;
  {  // engine.hpp, threaded
    auto engine = rtcap::Engine::open(config);
    ASSERT_TRUE(engine);
    ASSERT_TRUE((*engine)->start());
    while (!(*engine)->done())
      if (rtcap::BatchRef batch = (*engine)->next_batch(std::chrono::milliseconds(100)))
        for (rtcap::PacketView p : *batch) use(p);  // back to the pool when `batch` goes
  }
  EXPECT_EQ(used, 1200u);
}

TEST(HeaderExamples, ErrorResult) {
  rtcap::CaptureConfig config;
  config.read_file = kSample;
  // error.hpp
  rtcap::Result<std::unique_ptr<rtcap::Engine>> engine = rtcap::Engine::open(config);
  if (!engine) {
    std::puts(engine.error().message.c_str());
    FAIL();
  }
  EXPECT_FALSE((*engine)->start()) << "an inline engine is not started";
}

TEST(HeaderExamples, WriterAndTracker) {
  rtcap::CaptureConfig config;
  config.read_file = kSample;
  auto opened = rtcap::Engine::open(config);
  ASSERT_TRUE(opened);
  auto& engine = *opened;
  const std::string path =
      (std::filesystem::temp_directory_path() / "rtcap-header-example.pcapng").string();
  const std::int64_t now_ns = 1;
  const int linktype = engine->interfaces().front().linktype;
  rtcap::StreamTracker tracker;  // analysis.hpp
  {                              // writer.hpp
    rtcap::WriterOptions o;
    o.path = path;
    o.interfaces = engine->interfaces();
    auto w = rtcap::CaptureWriter::open(o);  // header written here: bad paths fail now
    if (!w) {
      std::puts(w.error().message.c_str());
      FAIL();
    }
    while (!engine->done())
      (void)engine->poll(std::chrono::milliseconds(100), [&](const rtcap::Batch& b) {
        if (auto r = (*w)->write(b); !r) {  // once per batch
          if ((*w)->failure() == rtcap::WriteFailure::kPipeClosed) engine->request_stop();
          ADD_FAILURE() << r.error().message;
        }
        for (rtcap::PacketView p : b) tracker.add(p, linktype);
      });
    EXPECT_TRUE((*w)->write_interface_stats(engine->stats(), now_ns));  // pcapng only
    EXPECT_TRUE((*w)->close());
    EXPECT_EQ((*w)->packets_written(), 1200u);
  }
  std::string table = rtcap::format_stream_table(tracker.snapshot());
  EXPECT_NE(table.find("0x"), std::string::npos) << table;
  std::filesystem::remove(path);
}

TEST(HeaderExamples, LiveAudio) {
  auto opened = rtcap::Engine::open([] {
    rtcap::CaptureConfig c;
    c.read_file = RTCAP_SOURCE_DIR "/tests/data/rtp-12streams-125us.pcap";
    return c;
  }());
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  const int linktype = (*opened)->interfaces()[0].linktype;
  std::size_t frames = 0;
  {
    rtcap::StreamTracker tracker;  // audio.hpp
    rtcap::AudioReceiver audio(tracker);
    rtcap::AudioSubscription sub;  // every audio stream, float32 interleaved
    sub.on_audio = [&](const rtcap::AudioBlock& b) { frames += b.frames; };
    (void)audio.subscribe(std::move(sub));
    while (!(*opened)->done())
      (void)(*opened)->poll(std::chrono::milliseconds(100), [&](const rtcap::Batch& batch) {
        for (rtcap::PacketView p : batch) {
          tracker.add(p, linktype);
          audio.add(p, linktype);
        }
      });
    audio.finish();
  }
  SUCCEED() << frames << " frames";  // the sample file's streams carry no known format
}
