// Linux defaults (defaults.hpp): libpcap's TPACKET_V3 and TPACKET_V2 rings.
#include "platform/defaults.hpp"
#include "rtcap/latency_budget.hpp"
#include "stats/latency_model.hpp"

namespace rtcap::platform {

std::uint64_t default_buffer_bytes(const CaptureConfig& config, int mtu) {
  // TPACKET_V2 (immediate mode): one slot per packet, sized from the snaplen, which rtcap takes
  // from the interface MTU when the user gave none (latency_model.hpp, kLinuxV2SnaplenOverMtu):
  // 100 ms at 1,000,000 packets/s is 100,000 slots of 1,600 bytes at MTU 1500 (195 MiB mapped).
  // Jumbo frames, loopback or an explicit large snaplen give larger slots: capped at 256 MiB
  // mapped (2,048 slots of ~64 KiB). docs/TUNING.md has the measurements.
  if (config.immediate_mode) return linux_v2_default_buffer_bytes(config, mtu);
  // TPACKET_V3 (batched): blocks of 256 KiB, each handed to us when full or when the retire
  // timeout (timeout_ms, rounded up to a jiffy: 4 ms at HZ=250) expires. At 100,000 packets/s of
  // ~100-byte frames a block retires part-filled, so the ring tolerates about
  // blocks x max(timeout, jiffy) of reader stall: 128 blocks x 4 ms = 0.5 s. libpcap's default
  // of 2 MiB (8 blocks, ~32 ms) is what lets a briefly descheduled reader drop packets.
  return 32ull << 20;
}

CapturePlatform capture_platform() noexcept { return CapturePlatform::kLinuxLibpcap; }

}  // namespace rtcap::platform

namespace rtcap {
// The coalescing default follows libpcap-on-Linux's hand-over (latency_budget.hpp's model).
int effective_coalesce_us(const CaptureConfig& config) noexcept {
  return coalesce_us_on(config, CapturePlatform::kLinuxLibpcap);
}
}  // namespace rtcap
