// The sizes and delays rtcap picks when the user gives none, per platform: they follow from how
// each platform's capture path hands packets over (TPACKET_V3 ring blocks on Linux, the Npcap
// driver's kernel buffer on Windows), so each file says why for its own.
// Linux: defaults_linux.cpp. Windows: defaults_windows.cpp.
// (effective_coalesce_us, the coalescing default, is public: include/rtcap/config.hpp.)
#pragma once

#include <cstdint>

#include "rtcap/config.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::platform {

// pcap_set_buffer_size when CaptureConfig::buffer_kib is 0, bytes, for an interface of this
// Ethernet MTU (platform::ethernet_mtu; 0: not Ethernet-framed, or unknown).
std::uint64_t default_buffer_bytes(const CaptureConfig& config, int mtu);

// The capture mechanism of this build: which settings apply (config_table::inert_settings).
CapturePlatform capture_platform() noexcept;

}  // namespace rtcap::platform
