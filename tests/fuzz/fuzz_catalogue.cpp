// libFuzzer target: SAP/SDP *sequences* through the session catalogue (the stream tracker's):
// announce, re-announce, change, delete, let time pass (expiry), flood, hostile datagrams, with
// RTP streams to the announced destinations in between; then every output, and the invariants.
//
// Input: a list of operations, [op][a][b][c] each (4 bytes), and raw SAP datagrams for op 5:
//   0 announce session a (its group 239.69.0.a, port 5004 + b % 4, rtpmap from c)
//   1 the same announcement again (a refresh)      2 delete session a
//   3 an RTP packet of stream a % 8 to session a's destination (payload c x 6 bytes)
//   4 time passes: (a << 8 | b) x 10^c ms, c % 7   5 a raw SAP datagram: the next b bytes
//   6 a flood: (a % 8 + 1) x 64 distinct announcements, a millisecond apart
//   7 a stream asks for its PCM format (the extractor's question)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_frames.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/sdp.hpp"

namespace {

using rtcap::fuzz::Bytes;
using rtcap::fuzz::put16;

// Raw IPv4 (DLT_RAW) UDP datagram 198.18.0.src:5004 -> dst:port.
Bytes raw_udp(std::uint8_t src, const std::uint8_t dst[4], std::uint16_t port,
              const Bytes& payload) {
  const std::uint8_t from[4] = {198, 18, 0, src};
  return rtcap::fuzz::ipv4_udp(from, dst, 5004, port, payload.data(), payload.size());
}

Bytes sap(std::uint16_t hash, std::uint8_t origin, bool deletion, const std::string& sdp) {
  Bytes b = {static_cast<std::uint8_t>(0x20 | (deletion ? 0x04 : 0)), 0};
  put16(b, hash);
  b.insert(b.end(), {198, 18, 0, origin});
  const std::string type = "application/sdp";
  b.insert(b.end(), type.begin(), type.end());
  b.push_back(0);
  b.insert(b.end(), sdp.begin(), sdp.end());
  return b;
}

std::string sdp_for(std::uint8_t a, std::uint8_t b, std::uint8_t c) {
  static const char* kRates[] = {"48000", "96000",  "44100", "4294967295",
                                 "0",     "768001", "1000",  "90000"};
  static const char* kEnc[] = {"L24", "L16", "AM824", "PCMU"};
  return "v=0\r\no=- " + std::to_string(a) + " 1 IN IP4 198.18.0.1\r\ns=fuzz " + std::to_string(a) +
         "\r\nc=IN IP4 239.69.0." + std::to_string(a) + "/32\r\nt=0 0\r\nm=audio " +
         std::to_string(5004 + b % 4) + " RTP/AVP " + std::to_string(96 + c % 4) +
         "\r\na=rtpmap:" + std::to_string(96 + c % 4) + " " + kEnc[(c >> 2) % 4] + "/" +
         kRates[(c >> 4) % 8] + "/" + std::to_string(1 + (b >> 2) % 70) + "\r\n" +
         ((c & 0x80) ? "a=ptime:1\r\n" : "") +
         ((b & 0x80)
              ? "a=source-filter: incl IN IP4 239.69.0." + std::to_string(a) + " 198.18.0.9\r\n"
              : "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 8192) return 0;
  rtcap::StreamTrackerConfig config;
  config.max_streams = 16;
  config.max_sdp_formats = 32;
  rtcap::StreamTracker tracker(config);
  std::int64_t now_ns = 1'000'000'000;
  std::uint16_t seq[8] = {};
  const std::uint8_t sap_group[4] = {239, 255, 255, 255};
  const auto feed = [&](const Bytes& p) {
    tracker.add(
        rtcap::PacketView{now_ns, static_cast<std::uint32_t>(p.size()), 0, {p.data(), p.size()}},
        rtcap::kDltRaw);
  };
  std::size_t i = 0;
  while (i + 4 <= size) {
    const std::uint8_t op = data[i] % 8, a = data[i + 1], b = data[i + 2], c = data[i + 3];
    i += 4;
    switch (op) {
      case 0:
      case 1:
        feed(raw_udp(1, sap_group, rtcap::kSapPort, sap(a, 1, false, sdp_for(a, b, c))));
        break;
      case 2:
        feed(raw_udp(1, sap_group, rtcap::kSapPort,
                     sap(a, 1, true, "o=- 1 1 IN IP4 198.18.0.1\r\n")));
        break;
      case 3: {
        const std::uint8_t dst[4] = {239, 69, 0, a};
        const std::size_t k = a % 8;
        Bytes r = {0x80, static_cast<std::uint8_t>(96 + c % 4), 0, 0, 0, 0, 0, 0, 0, 0,
                   0,    static_cast<std::uint8_t>(k)};
        r[2] = static_cast<std::uint8_t>(seq[k] >> 8);
        r[3] = static_cast<std::uint8_t>(seq[k]);
        const std::uint32_t ts = static_cast<std::uint32_t>(seq[k]) * 48;
        for (int j = 0; j < 4; ++j) r[4 + j] = static_cast<std::uint8_t>(ts >> (24 - 8 * j));
        ++seq[k];
        r.resize(12 + std::size_t{c} * 6, 0x11);
        feed(raw_udp((b & 1) ? 9 : 1, dst, static_cast<std::uint16_t>(5004 + b % 4), r));
        now_ns += 1'000'000;
        break;
      }
      case 4: {
        std::int64_t step = (std::int64_t{a} << 8 | b) * 1'000'000;
        for (int j = 0; j < c % 7; ++j) step *= 10;
        now_ns += step;
        break;
      }
      case 5: {
        const std::size_t n = std::min<std::size_t>(b, size - i);
        feed(raw_udp(2, sap_group, rtcap::kSapPort, Bytes(data + i, data + i + n)));
        i += n;
        break;
      }
      case 6:
        for (int j = 0; j < (a % 8 + 1) * 64; ++j) {
          feed(raw_udp(static_cast<std::uint8_t>(j), sap_group, rtcap::kSapPort,
                       sap(static_cast<std::uint16_t>(j + 1000), static_cast<std::uint8_t>(j),
                           false, sdp_for(static_cast<std::uint8_t>(j), b, c))));
          now_ns += 1'000'000;
        }
        break;
      case 7:
        for (const auto& s : tracker.streams()) {
          rtcap::StreamKey key;
          key.src = s.src;
          key.dst = s.dst;
          key.src_port = s.src_port;
          key.dst_port = s.dst_port;
          key.ssrc = s.ssrc;
          const rtcap::PcmStreamFormat f = tracker.pcm_format(key);
          if (f.state == rtcap::FormatState::kReady &&
              (f.rate_hz < rtcap::kMinClockRateHz || f.rate_hz > rtcap::kMaxClockRateHz ||
               f.channels < 1 || f.channels > rtcap::kMaxChannels))
            std::abort();  // a format out of range reached an extractor
        }
        break;
    }
  }
  const rtcap::TrackerSnapshot snap = tracker.snapshot();
  // Invariants: a stream is described only by a format of its own destination and allowed
  // source; the catalogue never holds more than its bound; every SAP packet is counted once.
  for (const auto& s : snap.streams) {
    if (!s.has_sdp) continue;
    if (s.sdp.group != s.dst || s.sdp.port != s.dst_port) std::abort();
    if (s.sdp.source.family != 0 && s.sdp.source != s.src) std::abort();
    if (s.sdp.clock_rate != 0 &&
        (s.sdp.clock_rate < rtcap::kMinClockRateHz || s.sdp.clock_rate > rtcap::kMaxClockRateHz))
      std::abort();
  }
  if (snap.sessions.size() > config.max_sdp_formats) std::abort();
  const rtcap::TrackerTotals& t = snap.totals;
  if (t.sap_announcements + t.sap_refreshes + t.sap_deletions + t.sap_malformed + t.sap_incomplete +
          t.sap_rate_limited + t.sap_encrypted_or_compressed >
      t.sap_packets)
    std::abort();
  (void)rtcap::to_json(snap);
  (void)rtcap::format_stream_table(snap);
  return 0;
}
