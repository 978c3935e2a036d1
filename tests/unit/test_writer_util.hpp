// Helpers for the writer tests: temporary directories, hand-built batches, reading files back
// with libpcap, running the independent readers (tcpdump, tshark).
#pragma once

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "rtcap/batch.hpp"
#include "rtcap/writer.hpp"

namespace rtcap::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rtcap-writer-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// One packet as the test meant it.
struct Expected {
  std::int64_t ts_ns;
  std::uint32_t wire_len;
  std::uint16_t interface_index;
  std::vector<std::uint8_t> bytes;
};

// A frame-like byte pattern that differs per packet and per byte, so swaps and shifts show.
inline std::vector<std::uint8_t> pattern(std::uint64_t seq, std::size_t len) {
  std::vector<std::uint8_t> v(len);
  for (std::size_t i = 0; i < len; ++i)
    v[i] = static_cast<std::uint8_t>((seq * 131 + i * 7 + (i >> 8)) & 0xFF);
  return v;
}

// Appends `count` packets starting at sequence `first`; sizes cycle over odd and even lengths
// (padding paths), every fifth packet is truncated (wire_len > caplen).
inline void fill(Batch& b, std::vector<Expected>& expected, std::uint64_t first, std::size_t count,
                 std::uint16_t interfaces = 1, std::int64_t t0 = 1'700'000'000'123'456'789) {
  static constexpr std::array<std::uint32_t, 7> kSizes = {60, 61, 62, 63, 90, 1, 1514};
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint64_t seq = first + k;
    const std::uint32_t caplen = kSizes[seq % kSizes.size()];
    const std::uint32_t wire = (seq % 5 == 0) ? caplen + 100 : caplen;
    const auto iface = static_cast<std::uint16_t>(seq % interfaces);
    const std::int64_t ts = t0 + static_cast<std::int64_t>(seq) * 10'001;  // ns digits vary
    auto bytes = pattern(seq, caplen);
    if (!b.try_append(ts, iface, bytes.data(), caplen, wire)) std::abort();
    expected.push_back({ts, wire, iface, std::move(bytes)});
  }
}

struct ReadPacket {
  std::int64_t ts_sec;
  std::int64_t ts_frac;  // µs or ns, as opened
  std::uint32_t caplen;
  std::uint32_t len;
  std::vector<std::uint8_t> bytes;
};

struct ReadResult {
  std::string open_error;  // empty when opened
  int linktype = -1;
  int snaplen = -1;
  std::vector<ReadPacket> packets;
  int end_status = 0;  // pcap_next_ex's last return: -2 = clean end of file
  std::string end_error;
};

inline ReadResult read_back(const std::string& path, bool nano) {
  ReadResult r;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(
      path.c_str(), nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO, err);
  if (p == nullptr) {
    r.open_error = err;
    return r;
  }
  r.linktype = pcap_datalink(p);
  r.snaplen = pcap_snapshot(p);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1)
    r.packets.push_back({h->ts.tv_sec, h->ts.tv_usec, h->caplen, h->len,
                         std::vector<std::uint8_t>(data, data + h->caplen)});
  r.end_status = rc;
  if (rc == PCAP_ERROR) r.end_error = pcap_geterr(p);
  pcap_close(p);
  return r;
}

inline bool have_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command, returns its standard output (stderr goes to the test log).
inline std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int st = ::pclose(f);
  if (status != nullptr) *status = st;
  return out;
}

inline std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

inline std::vector<std::uint8_t> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// write() system calls this thread made so far (task I/O accounting; independent of the writer).
inline long long thread_write_syscalls() {
  std::ifstream in("/proc/thread-self/io");
  for (std::string key; in >> key;) {
    long long v;
    in >> v;
    if (key == "syscw:") return v;
  }
  return -1;
}

inline WriterOptions options_for(const std::string& path, TimestampPrecision precision,
                                 std::size_t interfaces = 1, int linktype = 1 /* EN10MB */) {
  WriterOptions o;
  o.path = path;
  o.precision = precision;
  o.snaplen = 262144;
  for (std::size_t i = 0; i < interfaces; ++i)
    o.interfaces.push_back({"veth" + std::to_string(i), linktype, 262144, precision});
  return o;
}

}  // namespace rtcap::test
