// How filled batches reach the consumer, chosen once at open beside the Source (libpcap picks its
// read_op so): inline (handoff_inline.cpp: the callback on the thread that calls poll or
// dispatch, one batch reused) or threaded (handoff_threaded.cpp: a capture thread, a pool and two
// SPSC rings, next_batch). The engine owns capture, stop and statistics and calls its hand-off
// once per batch (hand_over) and once per consumer call, never per packet.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "rtcap/batch.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/error.hpp"

namespace rtcap::detail {

class CaptureEngine;

class Handoff {
 public:
  virtual ~Handoff() = default;
  Handoff() = default;
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  // Consumer calls, after the engine's own preconditions (enter_call). Each refusal is a typed
  // error that leaves capture running.
  virtual const Error* refuse_poll() const noexcept = 0;
  virtual const Error* refuse_dispatch() const noexcept = 0;
  virtual const Error* refuse_next_batch() const noexcept = 0;
  virtual std::size_t poll(std::chrono::microseconds timeout, Engine::BatchFn fn,
                           void* ctx) noexcept = 0;
  virtual std::size_t dispatch(Engine::BatchFn fn, void* ctx) noexcept = 0;
  virtual Batch* next_filled(std::chrono::microseconds wait) noexcept = 0;
  virtual void release(Batch* batch) noexcept = 0;
  virtual Result<void> start() = 0;
  virtual CaptureStats stats_now(std::chrono::milliseconds wait) = 0;
  // Nothing filled is left for the consumer (capture itself being done is the engine's).
  [[nodiscard]] virtual bool drained() const noexcept = 0;

  // Capture side. The batch to fill next, into `current` (false: none free, the overflow policy
  // drops); then the filled one goes over (force: also while the consumer is still busy).
  virtual bool acquire(Batch*& current) noexcept = 0;
  virtual void hand_over(Batch*& current, bool force) noexcept = 0;
  // The callback threw: nothing more reaches it (inline: capture is done at once).
  virtual void callback_failed() noexcept = 0;
  virtual void wake_producer() noexcept = 0;  // a stop: a capture thread waiting for a batch
  virtual void wake_consumer() noexcept = 0;  // a batch or the end: a consumer waiting for one

  [[nodiscard]] std::size_t pool_memory_bytes() const noexcept { return pool_memory_bytes_; }

 protected:
  std::size_t pool_memory_bytes_ = 0;
};

// `arena` bytes per batch, each holding at least one packet of the largest snaplen.
std::unique_ptr<Handoff> make_inline_handoff(CaptureEngine& engine, std::size_t arena);
std::unique_ptr<Handoff> make_threaded_handoff(CaptureEngine& engine, std::size_t arena);

}  // namespace rtcap::detail
