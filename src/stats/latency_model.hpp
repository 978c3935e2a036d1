// The ring and timer model under the latency-budget planner and the advisor: the facts it is
// built on (sources in the comments) and its arithmetic. Internal; rtcap/latency_budget.hpp keeps
// the planner, the RingModel it reports and host_v3_retire_hz(). The capture backend sizes the
// rings it opens with the same functions.
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

// Immediate mode's automatic snaplen. libpcap sizes a V2 slot from the snaplen, capped on
// Ethernet at MTU + 18 with offloads off but at 65535 + 18 with GRO/GSO/TSO on (veth, most NICs:
// create_ring() in pcap-linux.c), so the default snaplen gives 65,632-byte slots: 2,048 of them
// in 256 MiB. When the user gave no snaplen (kMaxSnaplen, tcpdump's -s 0), rtcap asks for the
// interface MTU + 14 (Ethernet header) + 2 x 4 (two VLAN tags): every frame the link can carry
// stays whole and a slot takes 1,600 bytes at MTU 1500 (two per 4 KiB block). Only offload
// aggregates larger than the MTU are cut, and they are counted (CaptureStats::packets_truncated).
// A snaplen the user gave is used as given. Ethernet-framed links only (DLT_EN10MB); others keep
// the maximum.
inline constexpr int kLinuxV2SnaplenOverMtu = 14 + 2 * 4;
// The MTU the planner and the advisor assume: they do not read the interface.
inline constexpr int kAssumedMtu = 1500;
// The default immediate-mode ring holds this long at this rate, within kLinuxMaxRingMappedBytes
// mapped (2,046 whole-size slots lost 0.13-0.18 % at rtcap gen's ~870,000 packets/s: TUNING.md).
inline constexpr std::int64_t kLinuxV2DefaultHoldNs = 100'000'000;
inline constexpr double kLinuxV2DefaultHoldPps = 1'000'000;
inline constexpr double kSmallFrameBytes = 90;  // AES67 L24 stereo at 125 us
// Never map more than this for a ring by default (the planner's TrafficProfile cap too).
inline constexpr std::uint64_t kLinuxMaxRingMappedBytes = 256ull << 20;

// True when CaptureConfig::snaplen asks for whole packets without a number (kMaxSnaplen or 0).
[[nodiscard]] bool snaplen_is_automatic(const CaptureConfig& config) noexcept;
// The snaplen the V2 ring gets: in immediate mode with an automatic snaplen on an Ethernet-framed
// link of this MTU (> 0), mtu + kLinuxV2SnaplenOverMtu; otherwise the configured one (0 -> max).
[[nodiscard]] int linux_v2_snaplen(const CaptureConfig& config, int mtu = kAssumedMtu) noexcept;

// Bytes one TPACKET_V2 slot takes (libpcap create_ring: TPACKET_ALIGN(macoff + frame size)).
// max_frame_bytes: the interface's largest packet; 65553 on Ethernet with offloads on.
[[nodiscard]] std::uint64_t linux_v2_slot_bytes(
    int snaplen, int max_frame_bytes = kLinuxOffloadMaxFrameBytes) noexcept;
// The ring libpcap 1.10 builds from buffer_bytes for this config (immediate_mode picks V2, its
// slots sized by linux_v2_snaplen(config, mtu)).
[[nodiscard]] RingModel linux_ring_model(const CaptureConfig& config, std::uint64_t buffer_bytes,
                                         double mean_packet_bytes,
                                         int max_frame_bytes = kLinuxOffloadMaxFrameBytes,
                                         int mtu = kAssumedMtu) noexcept;
// buffer_bytes, lowered (to whole blocks) until the ring it gives maps at most max_mapped_bytes.
[[nodiscard]] std::uint64_t linux_buffer_within_mapped(const CaptureConfig& config,
                                                       std::uint64_t buffer_bytes,
                                                       std::uint64_t max_mapped_bytes,
                                                       int mtu = kAssumedMtu) noexcept;
// Immediate mode's default -B: kLinuxV2DefaultHoldNs at kLinuxV2DefaultHoldPps of small frames,
// at most kLinuxMaxRingMappedBytes mapped. 160,000,000 bytes (100,000 slots) at MTU 1500.
[[nodiscard]] std::uint64_t linux_v2_default_buffer_bytes(const CaptureConfig& config,
                                                          int mtu) noexcept;
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
                                                   int hz = 250, int mtu = kAssumedMtu) noexcept;

// TrafficProfile's defaults (public, written as numbers) are these facts.
static_assert(TrafficProfile{}.timer_slack_ns == kLinuxTimerSlackNs);
static_assert(TrafficProfile{}.npcap_user_buffer_bytes == kNpcapDefaultUserBufferBytes);
static_assert(TrafficProfile{}.max_buffer_bytes == kLinuxMaxRingMappedBytes);

}  // namespace rtcap
