// What rtcap adapts to in libpcap on Linux, the counterpart of pcap_npcap.cpp: the TPACKET_V2
// slot size (immediate mode's snaplen from the MTU) and the TPACKET_V3 block-retire timer's
// frequency.
//
// These stay in src/backend rather than src/platform: they are facts about one capture mechanism
// (libpcap's TPACKET_V3 ring and the kernel timer that retires its blocks; Npcap's driver
// buffers), as libpcap keeps them in pcap-linux.c and pcap-npf.c, not facts about the operating
// system that the engine's waiting, threads or files would need.
#include <fmt/format.h>
#include <sys/utsname.h>

#include <cstdio>

#include "backend/pcap_backend.hpp"
#include "platform/defaults.hpp"
#include "platform/link.hpp"
#include "rtcap/latency_budget.hpp"
#include "stats/latency_model.hpp"

namespace rtcap::backend {
RingRequest ring_request(const std::string& name, const CaptureConfig& config) {
  // The V2 slot follows the snaplen (latency_model.hpp says how libpcap sizes it); one ioctl pair
  // per open, never on the capture path.
  const int mtu = config.immediate_mode ? platform::ethernet_mtu(name) : 0;
  RingRequest r;
  r.snaplen = linux_v2_snaplen(config, mtu);
  CaptureConfig sized = config;
  sized.snaplen = r.snaplen;
  r.buffer_bytes = config.buffer_kib > 0 ? std::uint64_t(config.buffer_kib) * 1024
                                         : platform::default_buffer_bytes(sized, mtu);
  return r;
}

// Npcap's knobs (mintocopy_bytes, user_buffer_bytes) do nothing here: the settings table says
// so once, for every platform (config_table::inert_settings).
Result<void> apply_platform_options(pcap_t*, const std::string&, const CaptureConfig&,
                                    std::vector<std::string>&) {
  return {};
}
}  // namespace rtcap::backend

namespace rtcap {
int host_v3_retire_hz() noexcept {
  struct utsname u {};
  int major = 0, minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return 250;
  if (major > 6 || (major == 6 && minor >= 18)) return 1000;  // hrtimer: see the header
  return 250;  // Debian 12 and most distributions build with CONFIG_HZ=250
}
}  // namespace rtcap
