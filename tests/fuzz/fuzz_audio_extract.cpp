// libFuzzer target: hostile RTP packet sequences into the audio extractor (reorder window, loss
// as silence, jumbo payloads, absurd formats, the byte budget), then finish() and a check that
// every WAV's header matches the bytes in the file.
//
// Input: [config byte][records...], record = 11 bytes: [stream (bits 0-1), SAP instead (bit 2)]
// [i16 LE sequence step][i32 LE timestamp step][i16 LE arrival step, us][u16 LE payload bytes]
// (payload bytes modulo 9,217: jumbo frames included). Config bits 0-3: the byte budget in 64 KiB
// steps (0: 16 KiB), bit 4: a format whose rate and channels are the largest an SDP can write.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_frames.hpp"
#include "io/audio_extract.hpp"

namespace {

using rtcap::fuzz::audio_udp_frame;
using rtcap::fuzz::le16;
using rtcap::fuzz::le32;

// Made once per process, removed at exit (leaked on purpose: the exit handler reads it).
const std::string* g_out_dir = nullptr;
void remove_out_dir() {
  std::error_code ec;
  std::filesystem::remove_all(*g_out_dir, ec);
}
const std::string& out_dir() {
  if (g_out_dir == nullptr) {
    char t[] = "/tmp/rtcap-fuzz-audio-XXXXXX";
    const char* d = mkdtemp(t);
    if (d == nullptr) std::abort();
    g_out_dir = new std::string(d);
    std::atexit(remove_out_dir);
  }
  return *g_out_dir;
}

void check_wav(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::vector<std::uint8_t> b{std::istreambuf_iterator<char>(f),
                                    std::istreambuf_iterator<char>()};
  if (b.size() < 44) std::abort();
  const std::size_t header = le32(&b[16]) + 28;  // fmt chunk + RIFF/WAVE + "data" + its size
  if (le32(&b[4]) != b.size() - 8 || le32(&b[header - 4]) != b.size() - header) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t config_bits = data[0];
  ++data;
  --size;
  rtcap::io::AudioExtractConfig c;
  c.dir = out_dir();
  c.max_bytes = (config_bits & 15u) == 0 ? 16 * 1024 : (config_bits & 15u) * 65536ull;
  c.max_streams = 3;
  c.format_by_pt[96] = rtcap::io::PcmFormat{24, 48000, 2};
  // The largest rate and channel count a format may have (more is refused where it enters).
  c.format_by_pt[97] = (config_bits & 16u) ? rtcap::io::PcmFormat{24, rtcap::kMaxClockRateHz, 64}
                                           : rtcap::io::PcmFormat{16, 96000, 8};
  rtcap::io::AudioExtractor x(c);
  if (!x.check_output().empty()) std::abort();

  const int pts[4] = {96, 97, 11, 10};
  std::uint16_t seq[4] = {};
  std::uint32_t ts[4] = {};
  std::int64_t arrival_ns = 1'700'000'000'000'000'000;
  while (size >= 11) {
    const std::uint8_t kind = data[0];
    const int k = kind & 3;
    seq[k] = std::uint16_t(seq[k] + le16(data + 1));
    ts[k] += le32(data + 3);
    arrival_ns += std::int64_t(std::int16_t(le16(data + 7))) * 1000;
    const std::size_t bytes = le16(data + 9) % 9217u;
    data += 11;
    size -= 11;
    std::vector<std::uint8_t> payload;
    std::uint16_t port = std::uint16_t(5004 + 2 * k);
    if (kind & 4) {  // a SAP announcement of stream k's destination at an absurd rate
      const std::string sdp =
          "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=x\r\nc=IN IP4 239.69.1.1/1\r\nt=0 0\r\n"
          "m=audio " +
          std::to_string(port) + " RTP/AVP 98\r\na=rtpmap:98 L24/" +
          std::to_string(bytes * 524287u) + "/" + std::to_string(kind >> 3) + "\r\n";
      payload = {0x20, 0, 0x12, 0x34, 198, 18, 0, 1};
      payload.insert(payload.end(), sdp.begin(), sdp.end());
      port = 9875;
    } else {
      payload.assign(12 + bytes, std::uint8_t(bytes));
      payload[0] = 0x80;
      payload[1] = std::uint8_t(kind >> 3 ? 98 : pts[k]);
      payload[2] = std::uint8_t(seq[k] >> 8);
      payload[3] = std::uint8_t(seq[k]);
      for (int i = 0; i < 4; ++i) payload[4 + i] = std::uint8_t(ts[k] >> (24 - 8 * i));
      payload[11] = std::uint8_t(k);
    }
    const std::vector<std::uint8_t> f = audio_udp_frame(port, payload);
    x.add(rtcap::PacketView{arrival_ns, std::uint32_t(f.size()), 0, {f.data(), f.size()}}, 1);
  }
  for (const auto& s : x.finish())
    if (!s.wav_path.empty() && s.write_error.empty()) check_wav(s.wav_path);
  return 0;
}
