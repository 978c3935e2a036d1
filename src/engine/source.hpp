// What the engine captures from, chosen once at open as libpcap picks its read_op at activation:
// the pcap handles of live interfaces or of a capture file (pcap_source.cpp), or a test's fake
// (fake_source.hpp). The engine calls it once per drain of a handle, never per packet.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/pcap_backend.hpp"
#include "platform/link.hpp"
#include "platform/readiness.hpp"
#include "rtcap/config.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/error.hpp"

namespace rtcap::detail {

class Source {
 public:
  virtual ~Source() = default;
  [[nodiscard]] virtual std::size_t size() const noexcept = 0;  // handles, one per interface
  [[nodiscard]] virtual const InterfaceInfo& info(std::size_t i) const noexcept = 0;
  [[nodiscard]] virtual bool is_file() const noexcept = 0;
  [[nodiscard]] virtual std::uint64_t buffer_bytes(std::size_t i) const noexcept = 0;
  // False while a --reopen handle is closed, until its interface is back.
  [[nodiscard]] virtual bool is_open(std::size_t i) const noexcept = 0;
  // pcap_dispatch: the packets taken, 0, PCAP_ERROR_BREAK after breakloop(i), or another error.
  virtual int dispatch(std::size_t i, int max, pcap_handler fn, u_char* user) noexcept = 0;
  virtual void breakloop(std::size_t i) noexcept = 0;  // pcap_breakloop
  [[nodiscard]] virtual std::string error(std::size_t i) const = 0;
  // pcap_stats into 64-bit totals; false when the read failed.
  virtual bool refresh_stats(std::size_t i) noexcept = 0;
  [[nodiscard]] virtual const backend::WidenedStats& stats(std::size_t i) const noexcept = 0;
  // Waits on the open handles (a file: on the wake-up only).
  virtual Result<std::unique_ptr<platform::ReadinessWaiter>> make_waiter() = 0;
  virtual platform::LinkState link_state(std::size_t i) noexcept = 0;
  virtual void close(std::size_t i) noexcept = 0;
  // The same settings again (--reopen); fails while the interface is not back.
  virtual Result<void> reopen(std::size_t i, std::vector<std::string>& warnings) = 0;
};

// The pcap handles of a live capture (in config.netns) or of config.read_file.
std::unique_ptr<Source> make_pcap_source(std::vector<backend::PcapHandle> handles,
                                         const CaptureConfig& config);

// Engine::open on a source given (the fake source of the unit tests and benchmarks).
Result<std::unique_ptr<Engine>> open_engine(const CaptureConfig& config,
                                            std::unique_ptr<Source> source);

}  // namespace rtcap::detail
