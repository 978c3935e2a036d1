// The Npcap-only knobs (user buffer, mintocopy) and the version warnings: the counterpart of
// pcap_linux.cpp. Readiness on Windows (the handle's event) is src/platform/readiness_windows.cpp.
//
// What the Npcap driver really does (Npcap's pcap-npf.c, Packet32 and the NPF driver; the Npcap
// maintainers' advice in shared/reference/npcap-tuning-notes.txt):
// - Each handle has a kernel buffer (pcap_set_buffer_size: a limit, allocated as used from the
//   NonPagedPool) and a user buffer (pcap_setuserbuffer, default 256,000 bytes). One read
//   (PacketReceivePacket, which pcap_dispatch issues when its user buffer is empty) copies at
//   most one user buffer out of the kernel buffer; pcap_dispatch(-1) then walks that buffer.
// - A packet larger than the user buffer can never be read and blocks every packet behind it
//   (npcap issue 119): the user buffer must hold the largest packet the snaplen lets through
//   plus its bpf_hdr (20 bytes, word-aligned to 8: at most 28 bytes). We keep it >= snaplen + 64.
// - All packets of one driver indication share one timestamp (since Npcap 0.9994): arrival
//   times are quantised and measured jitter is inflated. Npcap 1.74 to 1.76 had timestamp
//   regressions on top of that; we warn when one of them is loaded.
//
// pcap_stats on Npcap (struct pcap_stat, 32-bit running totals; widened in pcap_backend.cpp):
//   ps_recv   before Npcap 1.76: every packet the driver saw on the adapter, whether or not the
//             filter accepted it or the buffer had room; since 1.76 (driver redesign, npcap
//             issue 644): only packets the filter accepted, including ones then dropped - the
//             same meaning as Linux. rtcap reports it as InterfaceStats::received either way.
//   ps_drop   packets dropped by this handle: kernel buffer full (the reader did not keep up)
//             plus allocation failures in the driver -> InterfaceStats::kernel_dropped.
//   ps_ifdrop always 0 on Npcap: the driver cannot see NIC drops -> interface_dropped is 0.
// MODE_STAT (pcap_setmode) would need a second handle and counts nothing we lack: not used.
// <pcap/pcap.h> first: it includes <winsock2.h>, which must come before <windows.h> (and fmt's).
#include <pcap/pcap.h>
// Then:
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/pcap_backend.hpp"
#include "platform/defaults.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::backend {
namespace {

// rtcap's user buffer when the user gives none (--user-buffer 0), for ~100,000 packets/s of
// ~100-byte frames (AES67 at 125 us: 90-byte frames; ~112 bytes each in Npcap's buffer with the
// bpf_hdr and alignment, ~11 MB/s):
// - Npcap's default, 256,000 bytes, is smaller than the default snaplen (262,144) plus header,
//   which is npcap issue 119's wedge waiting for a 64 KiB coalesced (LSO/RSC) packet; and it
//   empties only ~23 ms of traffic per read, so after a stall of the reader the backlog takes
//   several reads to drain while the kernel buffer keeps filling.
// - 1 MiB holds ~93 ms of this traffic: one read takes the whole backlog of any ordinary stall,
//   which is the Npcap maintainers' advice (raise the user buffer when the bytes per
//   pcap_dispatch come close to it; rtcap reports that share as max_dispatch_buffer_share).
//   It is plain pageable process memory, locked only during a read: cheap.
// - It stays far above mintocopy (the advice: user buffer >= mintocopy, or one read cannot take
//   what one event announced).
constexpr int kDefaultUserBufferBytes = 1 << 20;
// mintocopy is left at Npcap's default when not given (-1): 16,000 bytes, ~143 such packets,
// ~1.4 ms of traffic at 100,000 packets/s. The 1 ms read timeout (--timeout-ms) fires first, so
// the timeout, not mintocopy, bounds the delay at this rate, while at higher rates 16,000 bytes
// keeps the driver to about one read per 16 kB instead of one per packet. Immediate mode sets
// it to 0 (every packet signals): the lowest delay and the highest read rate.
constexpr int kNpcapDefaultMinToCopy = 16000;
// bpf_hdr (20 bytes) word-aligned to 8, plus room: see npcap issue 119 above.
constexpr int kUserBufferHeadroomBytes = 64;

// "Npcap version 1.75, based on libpcap version 1.10.4" -> 1, 75. False for other libraries
// (WinPcap: "WinPcap version 4.1.3 (packet.dll version ...)").
bool npcap_version(const char* text, int& major, int& minor) {
  return text && std::sscanf(text, "Npcap version %d.%d", &major, &minor) == 2;
}

void warn_once(std::vector<std::string>& warnings, std::string text) {
  if (std::find(warnings.begin(), warnings.end(), text) == warnings.end())
    warnings.push_back(std::move(text));
}

}  // namespace

RingRequest ring_request(const std::string&, const CaptureConfig& config) {
  // The kernel buffer holds packets back to back (a bpf_hdr each): the snaplen sizes nothing.
  RingRequest r;
  r.snaplen = config.snaplen > 0 ? config.snaplen : kMaxSnaplen;
  r.buffer_bytes = config.buffer_kib > 0 ? std::uint64_t(config.buffer_kib) * 1024
                                         : platform::default_buffer_bytes(config, 0);
  return r;
}

Result<void> apply_platform_options(pcap_t* p, const std::string& name, const CaptureConfig& config,
                                    std::vector<std::string>& warnings) {
  const char* version = pcap_lib_version();
  int major = 0, minor = 0;
  if (!npcap_version(version, major, minor)) {
    warn_once(warnings, fmt::format("the capture library is not Npcap ('{}'): rtcap is tuned and "
                                    "tested for Npcap only; install it from https://npcap.com",
                                    version ? version : "?"));
  } else if (major == 1 && minor >= 74 && minor <= 76) {
    warn_once(warnings,
              fmt::format("Npcap {}.{} has known time stamp regressions (1.74 to 1.76): delay "
                          "and jitter measurements may be wrong; install a newer Npcap from "
                          "https://npcap.com",
                          major, minor));
  }

  // user_buffer_bytes and mintocopy_bytes are in range: the engine checked them (config_table).
  // The user buffer first: the snaplen after activation is the real one.
  const int snaplen = pcap_snapshot(p);
  const long long needed = static_cast<long long>(std::max(snaplen, 0)) + kUserBufferHeadroomBytes;
  long long user_buffer =
      config.user_buffer_bytes > 0 ? config.user_buffer_bytes : kDefaultUserBufferBytes;
  std::string user_buffer_note;
  if (user_buffer < needed) {
    user_buffer_note = fmt::format(
        " (raised from {}: it must hold a whole packet of the snapshot length {} plus its "
        "header, or a larger packet wedges the handle, npcap issue 119; lower it with a "
        "smaller ${{snaplen}})",
        user_buffer, snaplen);
    user_buffer = needed;
  }
  if (pcap_setuserbuffer(p, static_cast<int>(user_buffer)) != 0)
    return make_error(ErrorCode::kOpenFailed,
                      fmt::format("{}: cannot set the Npcap user buffer to {} bytes: {}", name,
                                  user_buffer, pcap_geterr(p)));

  int mintocopy = config.immediate_mode ? 0 : kNpcapDefaultMinToCopy;
  std::string mintocopy_note = config.mintocopy_bytes < 0 ? " (Npcap default)" : "";
  if (config.mintocopy_bytes >= 0) {
    if (config.immediate_mode && config.mintocopy_bytes > 0) {
      // Immediate mode is "signal every packet": a mintocopy would quietly undo it (the
      // engine's warning says so: config_table::inert_settings).
      mintocopy_note = fmt::format(" (${{mintocopy_bytes}} {} ignored)", config.mintocopy_bytes);
    } else {
      mintocopy = config.mintocopy_bytes;
      if (pcap_setmintocopy(p, mintocopy) != 0)
        return make_error(ErrorCode::kOpenFailed,
                          fmt::format("{}: cannot set Npcap mintocopy to {} bytes: {}", name,
                                      mintocopy, pcap_geterr(p)));
      if (mintocopy > user_buffer)
        mintocopy_note = fmt::format(
            " (larger than the user buffer: one read cannot take what one event announces; "
            "raise ${{user_buffer_bytes}} to at least {})",
            mintocopy);
    }
  }
  warnings.push_back(fmt::format("{}: Npcap user buffer {} bytes{}, mintocopy {} bytes{}", name,
                                 user_buffer, user_buffer_note, mintocopy, mintocopy_note));
  return {};
}

}  // namespace rtcap::backend

namespace rtcap {
// No TPACKET_V3 block-retire timer on Windows (the Npcap driver signals on mintocopy and the
// read timeout instead); latency_budget.hpp asks for 250 here, unused by the Npcap model.
int host_v3_retire_hz() noexcept { return 250; }
}  // namespace rtcap
