// The capture engine: opens the handles, runs the capture thread, hands batches to one consumer.
//
//   auto engine = rtcap::Engine::open(config);          // handles open, filter set, nothing runs
//   if (!engine) { print(engine.error().message); ... }
//   (*engine)->start();
//   while (!(*engine)->done())
//     if (const rtcap::Batch* b = (*engine)->next_batch(std::chrono::milliseconds(100))) {
//       for (rtcap::PacketView p : *b) use(p);
//       (*engine)->release(b);
//     }
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rtcap/batch.hpp"
#include "rtcap/config.hpp"
#include "rtcap/error.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

struct InterfaceInfo {
  std::string name;
  int linktype = 0;  // DLT_* of the handle
  int snaplen = 0;   // as activated
  TimestampPrecision precision = TimestampPrecision::kMicro;  // as activated
};

enum class StopReason { kRunning, kRequested, kCountReached, kEndOfFile, kFailed };

class Engine {
 public:
  // Opens every handle the recommended way (pcap_create, pcap_set_*, pcap_activate, filter).
  static Result<std::unique_ptr<Engine>> open(const CaptureConfig& config);
  virtual ~Engine() = default;

  // "Worked, but..." notes from opening (PCAP_WARNING_*, precision fallbacks, sizes chosen).
  [[nodiscard]] virtual const std::vector<std::string>& warnings() const = 0;
  [[nodiscard]] virtual const std::vector<InterfaceInfo>& interfaces() const = 0;
  [[nodiscard]] virtual const CaptureConfig& config() const = 0;
  // Bytes the batch pool holds (records + arenas); fixed for the engine's life.
  [[nodiscard]] virtual std::size_t pool_memory_bytes() const = 0;

  virtual void start() = 0;
  // From any thread (not from a signal handler: it may take a mutex; set a flag there and call
  // this from your loop). Capture stops; every packet already captured is still delivered.
  virtual void request_stop() noexcept = 0;

  // Consumer side, one thread. Returns the next filled batch, or nullptr after waiting up to
  // `wait`; nullptr may also come sooner (a signal, a stale wake-up): loop on done(), as in the
  // example above, not on the result.
  // Latency (packet timestamp to this call) is recorded for every packet handed out.
  [[nodiscard]] virtual const Batch* next_batch(std::chrono::microseconds wait) = 0;
  virtual void release(const Batch* batch) = 0;
  // True once capture has stopped and every filled batch has been handed out.
  [[nodiscard]] virtual bool done() const = 0;

  [[nodiscard]] virtual CaptureStats stats() const = 0;
  [[nodiscard]] virtual StopReason stop_reason() const = 0;
  // Why capture failed on its own (StopReason::kFailed), e.g. the interface went away.
  [[nodiscard]] virtual std::optional<Error> failure() const = 0;
};

struct DeviceInfo {
  std::string name;
  std::string description;
  bool up = false;
  bool running = false;
  bool loopback = false;
};
Result<std::vector<DeviceInfo>> list_devices();  // pcap_findalldevs, for -D
std::string pcap_library_version();               // pcap_lib_version()

}  // namespace rtcap
