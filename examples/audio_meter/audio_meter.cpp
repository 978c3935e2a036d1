// A level meter for every audio stream the network announces (SAP/SDP) or an SDP file
// describes: once a second per stream, each channel's peak and RMS in dBFS, silence and
// clipping, from the live audio API (rtcap/audio.hpp) running inline on the capture thread.
// Usage: audio_meter (-i IFACE | -r FILE) [seconds] [sdp-file]
#include <rtcap/audio.hpp>
#include <rtcap/engine.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

void print_levels(const rtcap::AudioEvent& e) {
  const rtcap::AudioStreamInfo& s = *e.stream;
  std::printf("%s:%u '%s' L%d/%u/%d", s.key.dst.to_string().c_str(), s.key.dst_port,
              s.session_name.c_str(), s.bits, s.rate_hz, s.channels);
  for (int c = 0; c < s.channels; ++c) {
    const rtcap::ChannelLevels& l = e.levels[c];
    std::printf(" | ch%d peak %6.1f rms %6.1f", c + 1, l.peak_dbfs, l.rms_dbfs);
    if (l.silent) std::printf(" SILENT %.0fs", l.silent_seconds);
    if (l.clipped_samples > 0) std::printf(" CLIP %llu", (unsigned long long)l.clipped_samples);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s (-i IFACE | -r FILE) [seconds] [sdp-file]\n", argv[0]);
    return 2;
  }
  rtcap::CaptureConfig config;
  if (std::string(argv[1]) == "-r")
    config.read_file = argv[2];
  else
    config.interfaces.push_back(argv[2]);
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 10;
  config.filter = "udp";

  // The stream catalogue: SAP announcements as they arrive, and the SDP file if one is given.
  rtcap::StreamTracker tracker;
  rtcap::AudioReceiver audio(tracker);
  rtcap::AudioSubscription sub;  // every stream whose format the catalogue knows
  if (argc > 4) {
    std::ifstream f(argv[4]);
    std::stringstream text;
    text << f.rdbuf();
    sub.sdp_text = text.str();  // subscribe() refuses a text with no media description
  }
  sub.max_channels = rtcap::kMaxChannels;
  sub.on_event = [](const rtcap::AudioEvent& e) {
    if (e.kind == rtcap::AudioEvent::Kind::kLevels) print_levels(e);
    if (e.kind == rtcap::AudioEvent::Kind::kStart || e.kind == rtcap::AudioEvent::Kind::kEnd ||
        e.kind == rtcap::AudioEvent::Kind::kNotTaken)
      std::printf("%s %s:%u '%s' (%s)%s%s\n",
                  e.kind == rtcap::AudioEvent::Kind::kStart ? "start"
                  : e.kind == rtcap::AudioEvent::Kind::kEnd ? "end"
                                                            : "not taken",
                  e.stream->key.dst.to_string().c_str(), e.stream->key.dst_port,
                  e.stream->session_name.c_str(), e.stream->source.c_str(),
                  *e.why != '\0' ? ": " : "", e.why);
  };
  const auto subscribed = audio.subscribe(std::move(sub));
  if (!subscribed) {
    std::fprintf(stderr, "audio_meter: %s\n", subscribed.error().message.c_str());
    return 1;
  }

  auto opened = rtcap::Engine::open(config);
  if (!opened) {
    std::fprintf(stderr, "audio_meter: %s\n", opened.error().message.c_str());
    return 1;
  }
  rtcap::Engine& engine = **opened;
  std::vector<int> linktypes;
  for (std::size_t i = 0; i < engine.interface_count(); ++i)
    linktypes.push_back(engine.interface_info(i).linktype);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!engine.done()) {
    if (std::chrono::steady_clock::now() >= deadline) engine.request_stop();
    const auto polled = engine.poll(std::chrono::milliseconds(100), [&](const rtcap::Batch& b) {
      if (linktypes.size() < engine.interface_count()) {  // a reopened interface's new index
        linktypes.clear();
        for (std::size_t i = 0; i < engine.interface_count(); ++i)
          linktypes.push_back(engine.interface_info(i).linktype);
      }
      tracker.add(b, linktypes);
      audio.add(b, linktypes);
    });
    if (!polled) {
      std::fprintf(stderr, "audio_meter: %s\n", polled.error().message.c_str());
      return 1;
    }
  }
  audio.finish();
  const rtcap::AudioSubscriptionStats st = audio.stats(*subscribed).value();
  std::printf("streams=%llu packets=%llu lost=%llu\n", (unsigned long long)st.streams,
              (unsigned long long)st.packets, (unsigned long long)st.lost_packets);
  return 0;
}
