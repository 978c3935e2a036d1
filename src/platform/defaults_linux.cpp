// Linux defaults (defaults.hpp): libpcap's TPACKET_V3 and TPACKET_V2 rings.
#include "platform/defaults.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::platform {

std::uint64_t default_buffer_bytes(const CaptureConfig& config) {
  // TPACKET_V3 (batched): blocks of 256 KiB, each handed to us when full or when the retire
  // timeout (timeout_ms, rounded up to a jiffy: 4 ms at HZ=250) expires. At 100,000 packets/s of
  // ~100-byte frames a block retires part-filled, so the ring tolerates about
  // blocks x max(timeout, jiffy) of reader stall: 128 blocks x 4 ms = 0.5 s. libpcap's default
  // of 2 MiB (8 blocks, ~32 ms) is what lets a briefly descheduled reader drop packets.
  //
  // TPACKET_V2 (immediate mode): one slot per packet, sized from the snaplen and, on Ethernet,
  // the interface's largest packet (64 KiB plus headers when GRO/GSO/TSO offloads are on, as on
  // veth). 128 MiB then holds ~1,000 whole-size slots (10 ms at 100,000 packets/s); with -s 256
  // the same memory holds ~250,000 slots. docs/TUNING.md has the measurements.
  return config.immediate_mode ? 128ull << 20 : 32ull << 20;
}

}  // namespace rtcap::platform

namespace rtcap {
// The coalescing default follows libpcap-on-Linux's hand-over (latency_budget.hpp's model).
int effective_coalesce_us(const CaptureConfig& config) noexcept {
  return coalesce_us_on(config, CapturePlatform::kLinuxLibpcap);
}
}  // namespace rtcap
