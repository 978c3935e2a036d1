// The ring and timer model under the latency-budget planner and the advisor: the facts it is
// built on (sources in the comments) and its arithmetic. Internal (issue 10, item 3: the
// latency-model constants leave the public headers); rtcap/latency_budget.hpp keeps the planner,
// the RingModel it reports and host_v3_retire_hz().
#pragma once

#include <cstdint>

#include "rtcap/config.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap {

// ---- Facts the model is built on (sources in the comments) ----------------------------------

// libpcap pcap-linux.c create_ring(): a V3 "frame" is MAXIMUM_SNAPLEN, so every block is 256 KiB.
inline constexpr std::uint64_t kLinuxV3BlockBytes = 262144;
// V2 on Ethernet with GRO/GSO/TSO offloads: the slot holds min(snaplen, 65535 + 18) bytes.
inline constexpr int kLinuxOffloadMaxFrameBytes = 65535 + 18;
// V2: TPACKET_ALIGN(sizeof(tpacket2_hdr)) + sizeof(sockaddr_ll) = 52; netoff =
// TPACKET_ALIGN(52 + MAX_LINKHEADER_SIZE 256) = 320; macoff = netoff - 256 = 64.
inline constexpr std::uint64_t kLinuxV2SlotHeaderBytes = 64;
// V3: tpacket3_hdr (48) + sockaddr_ll (20) = 68; netoff = TPACKET_ALIGN(68 + 16) = 96; the 14-byte
// Ethernet header starts at 82. Each packet then takes TPACKET_ALIGN(82 + caplen) bytes.
inline constexpr std::uint64_t kLinuxV3PacketHeaderBytes = 82;
// af_packet.c DEFAULT_PRB_RETIRE_TOV: the retire timeout the kernel uses when we pass 0.
inline constexpr int kLinuxDefaultRetireTimeoutMs = 8;
// Linux default timer slack of a normal thread (prctl PR_SET_TIMERSLACK): a sleep lasts at least
// this much longer than asked.
inline constexpr std::int64_t kLinuxTimerSlackNs = 50'000;
// Npcap defaults (Npcap docs / maintainers' notes): kernel 1,000,000, user 256,000, mintocopy
// 16,000.
inline constexpr std::uint64_t kNpcapDefaultKernelBufferBytes = 1'000'000;
inline constexpr std::uint64_t kNpcapDefaultUserBufferBytes = 256'000;
inline constexpr std::uint64_t kNpcapDefaultMinToCopyBytes = 16'000;
// Npcap puts a struct bpf_hdr (18 bytes, padded to 20) before every packet in both buffers.
inline constexpr std::uint64_t kNpcapPacketHeaderBytes = 20;

// Bytes one TPACKET_V2 slot takes (libpcap create_ring: TPACKET_ALIGN(macoff + frame size)).
// max_frame_bytes: the interface's largest packet; 65553 on Ethernet with offloads on.
[[nodiscard]] std::uint64_t linux_v2_slot_bytes(
    int snaplen, int max_frame_bytes = kLinuxOffloadMaxFrameBytes) noexcept;
// The ring libpcap 1.10 builds from buffer_bytes for this config (immediate_mode picks V2).
[[nodiscard]] RingModel linux_ring_model(const CaptureConfig& config, std::uint64_t buffer_bytes,
                                         double mean_packet_bytes,
                                         int max_frame_bytes = kLinuxOffloadMaxFrameBytes) noexcept;
// Npcap kernel buffer in packet terms (each packet carries a bpf_hdr).
[[nodiscard]] RingModel npcap_buffer_model(std::uint64_t buffer_bytes,
                                           double mean_packet_bytes) noexcept;

[[nodiscard]] std::int64_t jiffy_ns(int hz) noexcept;  // 4,000,000 at HZ=250
// msecs_to_jiffies(timeout_ms): rounded up; timeout 0 means the kernel default (8 ms).
[[nodiscard]] std::int64_t linux_v3_retire_jiffies(int timeout_ms, int hz = 250) noexcept;
// Longest a packet can sit in a part-filled V3 block: (retire jiffies + 1) jiffies.
[[nodiscard]] std::int64_t linux_v3_worst_delay_ns(int timeout_ms, int hz = 250) noexcept;
// Kernel buffer that lets the reader stall for stall_ns without drops at pps packets/s.
// V3: every retire period consumes a block even when part-filled, plus the bytes themselves.
[[nodiscard]] std::uint64_t buffer_bytes_for_stall(const CaptureConfig& config,
                                                   CapturePlatform platform, std::int64_t stall_ns,
                                                   double pps, double mean_packet_bytes,
                                                   int hz = 250) noexcept;

// TrafficProfile's defaults (public, written as numbers) are these facts.
static_assert(TrafficProfile{}.timer_slack_ns == kLinuxTimerSlackNs);
static_assert(TrafficProfile{}.npcap_user_buffer_bytes == kNpcapDefaultUserBufferBytes);

}  // namespace rtcap
