// read_file_drop_statistics (rtcap/writer.hpp): the Interface Statistics Blocks of a pcapng file
// (draft-ietf-opsawg-pcapng section 4.6), as pcapng_writer.cpp writes them. The file is walked
// block by block and read, never mapped: a hostile length stops the walk, it never seeks past
// the data or allocates by it.
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "io/pcapng_format.hpp"
#include "rtcap/writer.hpp"

namespace rtcap {
namespace {

using io::pcapng::kBlockIsb;
using io::pcapng::kBlockShb;
using io::pcapng::kByteOrderMagic;
using io::pcapng::kIsbIfDrop;
using io::pcapng::kIsbOsDrop;
// An ISB's options fit in far less; larger ones are skipped unread.
constexpr std::uint32_t kMaxIsbBytes = 64 * 1024;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

std::uint32_t swap32(std::uint32_t v) noexcept {
  return (v >> 24) | ((v >> 8) & 0xFF00u) | ((v << 8) & 0xFF0000u) | (v << 24);
}

class Reader {
 public:
  explicit Reader(std::FILE* f) : f_(f) {}
  bool read(void* out, std::size_t n) { return std::fread(out, 1, n, f_) == n; }
  bool skip(std::uint64_t n) {
    char buf[16384];
    while (n > 0) {
      const std::size_t step = n < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf;
      if (std::fread(buf, 1, step, f_) != step) return false;
      n -= step;
    }
    return true;
  }

 private:
  std::FILE* f_;
};

}  // namespace

Result<FileDropStatistics> read_file_drop_statistics(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return make_error(ErrorCode::kIo, "cannot read '" + path + "'");
  Reader in(f.get());
  FileDropStatistics out;
  // Per section and interface, the last ISB: its counters are the capture's totals so far.
  std::map<std::pair<unsigned, std::uint32_t>, std::uint64_t> last;
  unsigned section = 0;
  bool swapped = false;
  std::vector<std::uint8_t> body;
  for (;;) {
    std::uint32_t head[2];
    if (!in.read(head, sizeof head)) break;
    std::uint32_t type = head[0];
    std::uint32_t length = head[1];
    if (type == kBlockShb) {
      std::uint32_t magic = 0;
      if (!in.read(&magic, sizeof magic)) break;
      if (magic != kByteOrderMagic && magic != swap32(kByteOrderMagic)) break;
      swapped = magic != kByteOrderMagic;
      ++section;
      if (swapped) length = swap32(length);
      if (length < 28 || length % 4 != 0 || !in.skip(length - 12)) break;
      continue;
    }
    if (section == 0) break;  // not pcapng (a pcap file starts with its own magic)
    if (swapped) {
      type = swap32(type);
      length = swap32(length);
    }
    if (length < 12 || length % 4 != 0) break;
    const std::uint32_t rest = length - 8;  // body and the trailing length
    if (type != kBlockIsb || rest > kMaxIsbBytes) {
      if (!in.skip(rest)) break;
      continue;
    }
    body.resize(rest);
    if (!in.read(body.data(), rest) || rest < 16) break;
    const auto u16 = [&](std::size_t at) {
      std::uint16_t v;
      std::memcpy(&v, body.data() + at, 2);
      return swapped ? static_cast<std::uint16_t>((v >> 8) | (v << 8)) : v;
    };
    const auto u32 = [&](std::size_t at) {
      std::uint32_t v;
      std::memcpy(&v, body.data() + at, 4);
      return swapped ? swap32(v) : v;
    };
    const auto u64 = [&](std::size_t at) {  // the section's byte order, as u32
      std::uint64_t v;
      std::memcpy(&v, body.data() + at, 8);
      return swapped ? (std::uint64_t{swap32(static_cast<std::uint32_t>(v))} << 32) |
                           swap32(static_cast<std::uint32_t>(v >> 32))
                     : v;
    };
    std::uint64_t dropped = 0;
    bool any = false;
    for (std::size_t at = 12; at + 4 <= rest - 4;) {  // options, before the trailing length
      const std::uint16_t code = u16(at), len = u16(at + 2);
      if (code == 0) break;
      if ((code == kIsbIfDrop || code == kIsbOsDrop) && len == 8 && at + 12 <= rest - 4) {
        dropped += u64(at + 4);
        any = true;
      }
      at += 4 + ((len + 3u) & ~3u);
    }
    if (any) last[{section, u32(0)}] = dropped;
  }
  for (const auto& [key, dropped] : last) out.dropped += dropped;
  out.interfaces_with_statistics = static_cast<std::uint32_t>(last.size());
  out.has_statistics = !last.empty();
  return out;
}

}  // namespace rtcap
