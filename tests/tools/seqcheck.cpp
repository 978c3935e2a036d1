// rtcap_seqcheck: an independent check that every generated packet is in a capture file exactly
// once. Reads the file with libpcap (pcap_open_offline), takes each UDP datagram to the given
// port range, reads the per-stream 64-bit packet index the generator puts in the payload (see
// src/wire/wire.hpp) and counts, per destination port, unique, duplicate and missing
// indices in 0..expected-1.
//
//   rtcap_seqcheck FILE --expect N [--rtp] [--port 5004] [--streams 1] [--prefix]
//
// --prefix: the capture was stopped early; the indices must be exactly 0..k-1 for some k.
// Prints one line of key=value pairs; exits 0 when every check holds, 1 otherwise.
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::uint64_t be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE --expect N [--rtp] [--port P] [--streams S] [--prefix]\n",
                 argv[0]);
    return 2;
  }
  const char* path = argv[1];
  std::uint64_t expect = 0;
  bool rtp = false, prefix = false;
  unsigned port = 5004, streams = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--expect" && i + 1 < argc)
      expect = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--port" && i + 1 < argc)
      port = unsigned(std::atoi(argv[++i]));
    else if (a == "--streams" && i + 1 < argc)
      streams = unsigned(std::atoi(argv[++i]));
    else if (a == "--rtp")
      rtp = true;
    else if (a == "--prefix")
      prefix = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path, errbuf);
  if (!p) {
    std::fprintf(stderr, "seqcheck: %s\n", errbuf);
    return 1;
  }
  if (pcap_datalink(p) != DLT_EN10MB) {
    std::fprintf(stderr, "seqcheck: expected Ethernet, got link type %d\n", pcap_datalink(p));
    return 1;
  }
  std::vector<std::vector<std::uint8_t>> seen(streams, std::vector<std::uint8_t>(expect, 0));
  std::uint64_t packets = 0, matched = 0, duplicates = 0, out_of_range = 0, other = 0;
  struct pcap_pkthdr* h;
  const u_char* d;
  int rc;
  const std::size_t payload_at = rtp ? 28 : 0;  // RTP fixed header + send-time extension
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    ++packets;
    if (h->caplen < 14 + 20 + 8 || be(d + 12, 2) != 0x0800 || d[14 + 9] != 17) {
      ++other;
      continue;
    }
    const std::size_t ihl = std::size_t(d[14] & 0x0f) * 4;
    const std::size_t udp = 14 + ihl;
    if (h->caplen < udp + 8 + payload_at + 8) {
      ++other;
      continue;
    }
    const unsigned dport = unsigned(be(d + udp + 2, 2));
    if (dport < port || dport >= port + 2 * streams || (dport - port) % 2) {
      ++other;
      continue;
    }
    const unsigned stream = (dport - port) / 2;
    const std::uint64_t index = be(d + udp + 8 + payload_at, 8);
    ++matched;
    if (index >= expect) {
      ++out_of_range;
      continue;
    }
    if (seen[stream][index]++) ++duplicates;
  }
  if (rc != PCAP_ERROR_BREAK) {
    std::fprintf(stderr, "seqcheck: reading %s: %s\n", path, pcap_geterr(p));
    return 1;
  }
  pcap_close(p);
  std::uint64_t unique = 0, missing = 0, holes = 0;
  for (const auto& s : seen) {
    std::uint64_t last_seen = 0;
    bool any = false;
    for (std::uint64_t i = 0; i < expect; ++i) {
      if (s[i]) {
        ++unique;
        last_seen = i;
        any = true;
      } else {
        ++missing;
      }
    }
    // A hole is a missing index below the last one seen: early stop cannot explain it.
    if (any)
      for (std::uint64_t i = 0; i < last_seen; ++i) holes += s[i] == 0;
  }
  std::printf(
      "packets=%llu matched=%llu unique=%llu duplicates=%llu missing=%llu holes=%llu "
      "out_of_range=%llu other=%llu\n",
      (unsigned long long)packets, (unsigned long long)matched, (unsigned long long)unique,
      (unsigned long long)duplicates, (unsigned long long)missing, (unsigned long long)holes,
      (unsigned long long)out_of_range, (unsigned long long)other);
  const bool ok = duplicates == 0 && out_of_range == 0 && (prefix ? holes == 0 : missing == 0);
  return ok ? 0 : 1;
}
