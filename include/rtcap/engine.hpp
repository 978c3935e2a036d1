// The capture engine: opens the handles and delivers what they capture in batches, in one of two
// ways (CaptureConfig::delivery; docs/EMBEDDING.md says when to pick which):
//
// Inline (the default): capture runs on the caller's thread, as the Npcap maintainers advise:
// wait for readiness, pcap_dispatch every handle, run the callback on what was drained.
// examples/inline/ is the full program; in short (compiled in tests/unit/test_header_examples.cpp):
//
//   auto engine = rtcap::Engine::open(config);          // handles open, filter set, nothing runs
//   if (!engine) { std::puts(engine.error().message.c_str()); return 1; }
//   while (!(*engine)->done())
//     (void)(*engine)->poll(std::chrono::milliseconds(100), [&](const rtcap::Batch& batch) {
//       for (rtcap::PacketView p : batch) use(p);      // valid during the call only
//     });
//
// An application with its own event loop waits on readiness() itself and calls dispatch().
//
// Threaded: a capture thread of the engine's fills batches and hands them to one consumer
// thread through a lock-free ring; the consumer may stall without stalling capture
// (examples/threaded/):
//
//   (*engine)->start();
//   while (!(*engine)->done())
//     if (rtcap::BatchRef batch = (*engine)->next_batch(std::chrono::milliseconds(100)))
//       for (rtcap::PacketView p : *batch) use(p);    // back to the pool when `batch` goes
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rtcap/batch.hpp"
#include "rtcap/config.hpp"
#include "rtcap/error.hpp"
#include "rtcap/export.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

struct InterfaceInfo {
  std::string name;
  int linktype = 0;                                           // DLT_* of the handle
  int snaplen = 0;                                            // as activated
  TimestampPrecision precision = TimestampPrecision::kMicro;  // as activated
};

enum class StopReason { kRunning, kRequested, kCountReached, kEndOfFile, kFailed };

// What an application's own event loop waits on before it calls Engine::dispatch().
// POSIX: file descriptors to poll for readability (each handle's pcap_get_selectable_fd, then the
// engine's wake-up eventfd). Windows: HANDLEs for WaitForMultipleObjects (each handle's
// pcap_getevent, then the engine's wake-up event).
using WaitHandle = std::intptr_t;
struct Readiness {
  std::vector<WaitHandle> handles;  // wait until any is readable / signalled
  // Call dispatch() after at most this long even if nothing became ready (-1: no limit): the
  // handles' pcap_get_required_select_timeout, the next statistics read, and, while immediate
  // mode coalesces, the window (the handles list is then only the wake-up handle).
  std::int64_t max_wait_us = -1;
};

class Engine;

// Threaded delivery: owns one filled batch and gives it back to the pool when destroyed (or on
// reset()). Move-only. Must not outlive its engine.
class RTCAP_API BatchRef {
 public:
  BatchRef() noexcept = default;
  BatchRef(BatchRef&& other) noexcept
      : engine_(std::exchange(other.engine_, nullptr)),
        batch_(std::exchange(other.batch_, nullptr)),
        refused_(std::exchange(other.refused_, nullptr)) {}
  BatchRef& operator=(BatchRef&& other) noexcept {
    if (this != &other) {
      reset();
      engine_ = std::exchange(other.engine_, nullptr);
      batch_ = std::exchange(other.batch_, nullptr);
      refused_ = std::exchange(other.refused_, nullptr);
    }
    return *this;
  }
  BatchRef(const BatchRef&) = delete;
  BatchRef& operator=(const BatchRef&) = delete;
  ~BatchRef() { reset(); }

  explicit operator bool() const noexcept { return batch_ != nullptr; }
  [[nodiscard]] const Batch* get() const noexcept { return batch_; }
  const Batch& operator*() const noexcept { return *batch_; }
  const Batch* operator->() const noexcept { return batch_; }
  inline void reset() noexcept;  // gives the batch back now (inline: defined below Engine)
  // Why next_batch() refused the call (ErrorCode::kBusy or kMisuse; capture goes on), or null:
  // an empty BatchRef without it only means that nothing came in time.
  [[nodiscard]] const Error* refused() const noexcept { return refused_; }

 private:
  friend class Engine;
  BatchRef(Engine* engine, const Batch* batch, const Error* refused) noexcept
      : engine_(batch ? engine : nullptr), batch_(batch), refused_(refused) {}
  Engine* engine_ = nullptr;
  const Batch* batch_ = nullptr;
  const Error* refused_ = nullptr;  // static storage, never freed
};

class RTCAP_API Engine {
 public:
  // Opens every handle the recommended way (pcap_create, pcap_set_*, pcap_activate, filter).
  static Result<std::unique_ptr<Engine>> open(const CaptureConfig& config);
  virtual ~Engine() = default;

  // "Worked, but..." notes from opening (PCAP_WARNING_*, precision fallbacks, sizes chosen).
  [[nodiscard]] virtual const std::vector<std::string>& warnings() const = 0;
  // The interfaces as opened: PacketView::interface_index 0 .. interfaces().size() - 1.
  [[nodiscard]] virtual const std::vector<InterfaceInfo>& interfaces() const = 0;
  // With CaptureConfig::reopen, an interface that comes back with another link type or snaplen
  // (re-created as another kind of device) gets a new index after these, so that packets of the
  // two link types are never mixed under one index: interface_count() grows, and
  // interface_info(index) describes every index (same name, the new link type). Both are safe
  // from any thread; a packet's index is always described by the time the consumer has it.
  [[nodiscard]] virtual std::size_t interface_count() const = 0;
  [[nodiscard]] virtual InterfaceInfo interface_info(std::size_t index) const = 0;
  [[nodiscard]] virtual const CaptureConfig& config() const = 0;
  // Bytes the batches hold (records + arenas); fixed for the engine's life.
  [[nodiscard]] virtual std::size_t pool_memory_bytes() const = 0;

  // ---- Misuse -------------------------------------------------------------------------------
  // The engine checks its own preconditions and refuses a call made out of turn with a typed
  // error, capture going on: ErrorCode::kBusy when a consumer call (poll, dispatch, next_batch)
  // is entered while another one runs (on another thread, or from its own batch callback);
  // ErrorCode::kMisuse for a call the engine's delivery or state does not allow (dispatch or
  // next_batch on the wrong delivery, next_batch before start, start twice). Destroying the
  // engine from inside its own batch callback (or while another thread is inside a call) is
  // safe: the callback is not called again, and the engine is freed when that call returns.

  // ---- Inline delivery (CaptureConfig::delivery == Delivery::kInline), on one thread --------
  // The callback gets each drained batch as a view valid during the call only (copy out what
  // you keep); while it runs, capture waits and the kernel ring absorbs the traffic.
  using BatchFn = void (*)(void* context, const Batch& batch);

  // Waits up to `timeout` until a handle is ready (or the engine is woken), drains every handle
  // with pcap_dispatch(-1), calls on_batch for what was drained and returns the number of
  // packets delivered (0: nothing came, a signal interrupted the wait, or done()). Loop on
  // done(), not on the number.
  // Bound: poll returns within `timeout` plus at most one batch's callback. Once the timeout
  // has passed, no further callback starts in this call: draining stops (pcap_breakloop), what
  // the kernel still holds stays in its ring (counted there as kernel_dropped if it overflows),
  // and a batch partly filled is delivered first by the next call.
  // Threaded delivery: waits up to `timeout` for the next filled batch, calls on_batch with it
  // and gives it back (next_batch with a callback).
  virtual Result<std::size_t> poll(std::chrono::microseconds timeout, BatchFn on_batch,
                                   void* context) = 0;
  template <typename F, typename = std::enable_if_t<std::is_invocable_v<F&, const Batch&>>>
  Result<std::size_t> poll(std::chrono::microseconds timeout, F&& on_batch) {
    return poll(timeout, &call<std::remove_reference_t<F>>, static_cast<void*>(&on_batch));
  }
  // Drains the handles now, without waiting, for an application that waits on readiness()
  // itself (epoll, WaitForMultipleObjects). Call it whenever a readiness handle fired or
  // max_wait_us passed; it may deliver nothing. The bound of poll with a zero timeout: at most
  // one batch's callback after draining began; a call cut short there resumes with the next
  // handle, so every interface gets its turn. Inline delivery only (else kMisuse).
  virtual Result<std::size_t> dispatch(BatchFn on_batch, void* context) = 0;
  template <typename F, typename = std::enable_if_t<std::is_invocable_v<F&, const Batch&>>>
  Result<std::size_t> dispatch(F&& on_batch) {
    return dispatch(&call<std::remove_reference_t<F>>, static_cast<void*>(&on_batch));
  }
  // What to wait on before the next dispatch(). Ask again before every wait: max_wait_us changes.
  [[nodiscard]] virtual Readiness readiness() const = 0;

  // ---- Threaded delivery (Delivery::kThreaded) -----------------------------------------------
  // Starts the capture thread. Once: a second call is refused (ErrorCode::kMisuse), as is
  // start() on an inline engine.
  virtual Result<void> start() = 0;
  // The next filled batch, or an empty BatchRef after waiting up to `wait` (or sooner: a signal,
  // a stale wake-up; loop on done()). Called by one consumer thread. Refused at once with an
  // empty BatchRef whose refused() says why: before start() or on an inline engine (kMisuse),
  // while another consumer call runs (kBusy).
  [[nodiscard]] BatchRef next_batch(std::chrono::microseconds wait) {
    const Error* refused = nullptr;
    const Batch* batch = next_filled(wait, refused);
    return BatchRef(this, batch, refused);
  }

  // ---- Both -----------------------------------------------------------------------------------
  // From any thread (not from a signal handler: it may take a mutex; set a flag there and call
  // this from your loop). Capture stops; every packet already captured is still delivered. It
  // also wakes a poll() in progress and makes the wake-up handle of readiness() ready.
  virtual void request_stop() noexcept = 0;
  // True once capture has stopped and every captured packet has been delivered.
  [[nodiscard]] virtual bool done() const = 0;

  // The kernel counters (pcap_stats) and the capture thread's CPU time in stats() are as of the
  // capture thread's last periodic read (CaptureConfig::stats_interval_ms), and final once
  // done(). stats_now() asks the capture thread to read them now (it wakes it) and waits up to
  // `wait` for that, so that they agree with packets_captured; after `wait`, it returns stats().
  // Inline delivery: call it on the thread that calls poll()/dispatch(); it reads them itself.
  [[nodiscard]] virtual CaptureStats stats() const = 0;
  [[nodiscard]] virtual CaptureStats stats_now(std::chrono::milliseconds wait) {
    (void)wait;
    return stats();
  }
  [[nodiscard]] virtual StopReason stop_reason() const = 0;
  // Why capture failed on its own (StopReason::kFailed), e.g. the interface went away, or the
  // batch callback threw (ErrorCode::kMisuse: an exception must not unwind through libpcap).
  [[nodiscard]] virtual std::optional<Error> failure() const = 0;

 protected:
  // A filled batch, or null (nothing in time; or refused, and then `refused` says why).
  virtual const Batch* next_filled(std::chrono::microseconds wait, const Error*& refused) = 0;
  virtual void release(const Batch* batch) noexcept = 0;

 private:
  friend class BatchRef;
  template <typename F>
  static void call(void* f, const Batch& batch) {
    (*static_cast<F*>(f))(batch);
  }
};

inline void BatchRef::reset() noexcept {
  if (batch_) engine_->release(batch_);
  engine_ = nullptr;
  batch_ = nullptr;
}

struct DeviceInfo {
  std::string name;
  std::string description;
  bool up = false;
  bool running = false;
  bool loopback = false;
};
RTCAP_API Result<std::vector<DeviceInfo>> list_devices();  // pcap_findalldevs, for -D
RTCAP_API std::string pcap_library_version();              // pcap_lib_version()

}  // namespace rtcap
