// Opening pcap handles the way the libpcap and Npcap maintainers advise, and reading their
// statistics. Portable, but for what each capture mechanism needs of its own (pcap_linux.cpp,
// pcap_npcap.cpp); the operating system's differences live in src/platform/.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

#include "rtcap/config.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/error.hpp"
#include "rtcap/stats.hpp"

namespace rtcap::backend {

// struct pcap_stat holds 32-bit running totals that wrap (libpcap issue 994); we keep the last
// raw values and add the unsigned 32-bit difference to 64-bit totals. Read at least once per
// 2^32 packets (about 12 hours at 100,000 packets/s) and no wrap is lost.
struct WidenedStats {
  std::uint32_t last_recv = 0, last_drop = 0, last_ifdrop = 0;
  std::uint64_t received = 0, kernel_dropped = 0, interface_dropped = 0;
  void update(const struct pcap_stat& raw) noexcept;
};

class PcapHandle {
 public:
  PcapHandle() = default;
  PcapHandle(PcapHandle&& o) noexcept;
  PcapHandle& operator=(PcapHandle&& o) noexcept;
  PcapHandle(const PcapHandle&) = delete;
  PcapHandle& operator=(const PcapHandle&) = delete;
  ~PcapHandle();

  pcap_t* get() const noexcept { return pcap_; }
  const InterfaceInfo& info() const noexcept { return info_; }
  bool is_file() const noexcept { return is_file_; }
  std::uint64_t buffer_bytes() const noexcept { return buffer_bytes_; }
  // Reads pcap_stats on this handle (a getsockopt on Linux: call it per interval, not per packet).
  bool refresh_stats() noexcept;
  const WidenedStats& stats() const noexcept { return stats_; }
  std::string last_error() const { return pcap_ ? pcap_geterr(pcap_) : std::string{}; }
  // --reopen (issue 13): the interface went away; its handle is closed (its socket is dead) and
  // info() and the widened totals are kept for the reopen.
  void close() noexcept;
  // Opens the interface again with the same settings (a re-created interface with a new index
  // too). The widened totals go on from where they were. Fails while it is not back yet.
  Result<void> reopen(const CaptureConfig& config, std::vector<std::string>& warnings);

  friend Result<PcapHandle> open_live_here(const std::string&, const CaptureConfig&,
                                           const std::string&, std::vector<std::string>&, bool);
  friend Result<PcapHandle> open_file(const std::string&, const CaptureConfig&,
                                      std::vector<std::string>&);

 private:
  pcap_t* pcap_ = nullptr;
  InterfaceInfo info_;
  bool is_file_ = false;
  std::uint64_t buffer_bytes_ = 0;
  WidenedStats stats_;
};

// pcap_create -> pcap_set_* -> pcap_activate -> filter -> non-blocking (the dispatch loop; the
// naive baseline, src/engine/baseline.hpp, blocks in pcap_next_ex: nonblocking = false).
// Warnings (PCAP_WARNING_*, fallbacks) are appended to `warnings`.
Result<PcapHandle> open_live(const std::string& name, const CaptureConfig& config,
                             std::vector<std::string>& warnings, bool nonblocking = true);
// open_live in the namespace this thread is in (config.netns unused); `netns` names it in
// messages (empty: the caller's own).
Result<PcapHandle> open_live_here(const std::string& name, const CaptureConfig& config,
                                  const std::string& netns, std::vector<std::string>& warnings,
                                  bool nonblocking);
// A pcap or pcapng file through the same pipeline (pcap_open_offline understands both).
Result<PcapHandle> open_file(const std::string& path, const CaptureConfig& config,
                             std::vector<std::string>& warnings);

// The snaplen and kernel buffer a live handle asks for. Linux (pcap_linux.cpp): in immediate
// mode with no snaplen given, the interface MTU + 22, so TPACKET_V2 slots are small and the
// default buffer holds 100,000 of them; Npcap (pcap_npcap.cpp): as configured.
struct RingRequest {
  int snaplen = kMaxSnaplen;
  std::uint64_t buffer_bytes = 0;
};
RingRequest ring_request(const std::string& name, const CaptureConfig& config);

// Knobs of one capture mechanism, applied after pcap_activate: Npcap's mintocopy and user buffer
// (pcap_npcap.cpp); on Linux a warning that they do not apply, naming what does (pcap_linux.cpp).
Result<void> apply_platform_options(pcap_t* p, const std::string& name, const CaptureConfig& config,
                                    std::vector<std::string>& warnings);

Result<std::vector<DeviceInfo>> list_devices_impl();  // pcap_findalldevs

}  // namespace rtcap::backend
