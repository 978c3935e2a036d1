// rtcap_netns_seq: an embedding application that stays in its own network namespace and captures
// on an interface of another one through CaptureConfig::netns, checking what `rtcap gen
// --payload N` sent (raw UDP to port 5004, the first 8 payload bytes the big-endian packet index):
// each index 0..expect-1 exactly once. Runs for at least --seconds, so that the engine's link
// watch (once a second) has looked at the interface in its namespace several times.
//
//   rtcap_netns_seq --netns NS -i IFACE --expect N [--seconds S] [--immediate]
//
// Prints "listening" on stderr once open, then one line of key=value on stdout, and the inode of
// its own network namespace before and after the open (they must be equal). Exit 0 when every
// check holds, 1 when one fails, 2 when the engine does not open (the message on stderr).
#include <rtcap/engine.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::uint64_t be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

unsigned long long own_netns_inode() {
  struct stat st {};
  return stat("/proc/thread-self/ns/net", &st) == 0 ? static_cast<unsigned long long>(st.st_ino)
                                                    : 0;
}

}  // namespace

int main(int argc, char** argv) {
  rtcap::CaptureConfig config;
  std::uint64_t expect = 0;
  int seconds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool valued = i + 1 < argc;
    if (a == "--immediate")
      config.immediate_mode = true;
    else if (a == "--netns" && valued)
      config.netns = argv[++i];
    else if (a == "-i" && valued)
      config.interfaces.push_back(argv[++i]);
    else if (a == "--expect" && valued)
      expect = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--seconds" && valued)
      seconds = std::atoi(argv[++i]);
  }
  if (config.interfaces.empty()) {
    std::fprintf(stderr, "usage: %s --netns NS -i IFACE --expect N [--seconds S]\n", argv[0]);
    return 2;
  }
  config.filter = "udp dst port 5004";
  const unsigned long long ns_before = own_netns_inode();
  auto opened = rtcap::Engine::open(config);
  const unsigned long long ns_after = own_netns_inode();
  if (!opened) {
    std::fprintf(stderr, "rtcap_netns_seq: %s\n", opened.error().message.c_str());
    return 2;
  }
  rtcap::Engine& engine = **opened;
  for (const auto& w : engine.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::fprintf(stderr, "rtcap_netns_seq: listening on %s in %s\n", config.interfaces[0].c_str(),
               config.netns.c_str());

  std::vector<unsigned char> seen(expect);
  std::uint64_t packets = 0, unique = 0, duplicates = 0, other = 0;
  auto on_batch = [&](const rtcap::Batch& batch) {
    for (rtcap::PacketView p : batch) {
      ++packets;
      const std::uint8_t* d = p.bytes.data();
      const std::size_t udp = 14 + std::size_t(d[14] & 0x0f) * 4;
      if (p.bytes.size() < udp + 16) {
        ++other;
        continue;
      }
      const std::uint64_t index = be(d + udp + 8, 8);
      if (index >= expect) {
        ++other;
      } else if (seen[index]) {
        ++duplicates;
      } else {
        seen[index] = 1;
        ++unique;
      }
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  // Until every packet is in and the link watch has run (stats_interval_ms 1000) a few times;
  // 20 s at most.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(seconds + 20);
  while (!engine.done() && std::chrono::steady_clock::now() < give_up &&
         (unique < expect || std::chrono::steady_clock::now() < deadline))
    if (!engine.poll(std::chrono::milliseconds(100), on_batch)) break;
  engine.request_stop();
  while (!engine.done())
    if (!engine.poll(std::chrono::milliseconds(100), on_batch)) break;
  const rtcap::CaptureStats s = engine.stats();
  const rtcap::InterfaceStats& i = s.interfaces.at(0);
  std::printf(
      "packets=%llu unique=%llu duplicates=%llu missing=%llu other=%llu received=%llu "
      "kernel_dropped=%llu down_events=%llu up=%d netns_same=%d snaplen=%d failure=%s\n",
      static_cast<unsigned long long>(packets), static_cast<unsigned long long>(unique),
      static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(expect - unique),
      static_cast<unsigned long long>(other), static_cast<unsigned long long>(i.received),
      static_cast<unsigned long long>(i.kernel_dropped),
      static_cast<unsigned long long>(i.down_events), i.up ? 1 : 0,
      ns_before != 0 && ns_before == ns_after ? 1 : 0, engine.interface_info(0).snaplen,
      engine.failure() ? engine.failure()->message.c_str() : "none");
  const bool ok = unique == expect && duplicates == 0 && i.down_events == 0 && i.up &&
                  ns_before == ns_after && !engine.failure();
  return ok ? 0 : 1;
}
