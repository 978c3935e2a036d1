// Windows defaults (defaults.hpp): Npcap's kernel buffer, and the coalescing default of the
// Npcap hand-over model (latency_budget.hpp).
#include "platform/defaults.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::platform {
// Npcap's kernel buffer (pcap_set_buffer_size) is a limit, allocated as used from the
// NonPagedPool (npcap-tuning-notes: 768 MB of it on a 4 GB Windows 11 machine), and a handle that
// stops reading can grow to it. 16 MiB holds ~1.5 s of 100,000 packets/s of ~100-byte frames:
// room for bursts and stalls without claiming a large share of that pool. Npcap's own default is
// 1,000,000 bytes (~90 ms at that rate).
std::uint64_t default_buffer_bytes(const CaptureConfig&, int) { return 16ull << 20; }
CapturePlatform capture_platform() noexcept { return CapturePlatform::kNpcap; }

}  // namespace rtcap::platform

namespace rtcap {
int effective_coalesce_us(const CaptureConfig& config) noexcept {
  return coalesce_us_on(config, CapturePlatform::kNpcap);
}
}  // namespace rtcap
