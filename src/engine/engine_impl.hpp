// The engine's internals: the capture core (engine.cpp, link_watch.cpp) and what the naive
// baseline's engine (naive_capture.cpp) shares with it. Not installed.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backend/pcap_backend.hpp"
#include "engine/source.hpp"
#include "engine/clock.hpp"  // realtime_ns
#include "engine/baseline.hpp"
#include "platform/readiness.hpp"
#include "platform/thread.hpp"
#include "engine/doorbell.hpp"
#include "engine/handoff.hpp"
#include "engine/pcap_time.hpp"
#include "engine/spsc_ring.hpp"
#include "engine/warning_texts.hpp"
#include "stats/histogram_recorder.hpp"
#include "rtcap/engine.hpp"

namespace rtcap::detail {

// How long the capture thread may take, after a stop request, to drain what the kernel holds
// and wait for the consumer: 500 ms, a quarter of the 2 s within which rtcap ends after a stop
// (docs/OPERATIONS.md). The retire wait of a default --timeout-ms 1 is 2 ms of it.
inline constexpr std::chrono::milliseconds kDrainAfterStop{500};

// Counters written by the capture thread only; relaxed stores publish them to readers.
struct CaptureCounters {
  std::atomic<std::uint64_t> packets{0}, bytes{0}, truncated{0}, app_dropped{0};
  std::atomic<std::uint64_t> wakeups{0}, dispatch_calls{0}, empty_dispatch_calls{0};
  std::atomic<std::uint64_t> max_dispatch_bytes{0};
  std::atomic<std::int64_t> cpu_ns{0};
  std::atomic<std::int64_t> callback_ns{0};  // CaptureStats::callback_ns
};

// Adds the time since `since_ns` (monotonic) to a single-writer duration counter.
inline void add_time_since(std::atomic<std::int64_t>& counter, std::int64_t since_ns) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + (monotonic_ns() - since_ns),
                std::memory_order_relaxed);
}

// Every packet's delay at its delivery (one clock read per batch: the batch is delivered at one
// moment). record_n stores the totals once per batch; recording packet by packet through the
// exported bucket function was 25 of 263 rtcap samples in a perf profile at 100,000 packets/s
// (Dec 2026).
inline void record_latency(Histogram& hist, const Batch& batch) noexcept {
  const std::int64_t now = realtime_ns();
  const PacketRecord* records = batch.records().data();
  hist.record_n(batch.size(), [&](std::size_t i) {
    return std::uint64_t(std::max<std::int64_t>(0, now - records[i].ts_ns));
  });
}

// Calls the batch callback. An exception must not unwind through libpcap's C code: it comes
// back as the message the engine stops with.
inline std::optional<std::string> call_batch_fn(Engine::BatchFn fn, void* ctx,
                                                const Batch& batch) noexcept {
  try {
    fn(ctx, batch);
  } catch (const std::exception& e) {
    return std::string("the batch callback threw: ") + e.what();
  } catch (...) {
    return std::string("the batch callback threw an exception");
  }
  return std::nullopt;
}

// The naive baseline's engine (naive_capture.cpp): live capture of config.interfaces[0].
Result<std::unique_ptr<Engine>> open_naive_engine(const CaptureConfig& config,
                                                  std::vector<std::string> warnings);

// The capture core behind the Engine an application owns (EngineHandle in engine.cpp). Apart
// from it so that the application may destroy its Engine from inside a batch callback: the core
// then lives until the call in progress returns (release_owner).
class CaptureEngine final {
 public:
  using BatchFn = Engine::BatchFn;
  struct CallbackContext {
    CaptureEngine* engine;
    std::uint16_t interface_index;  // the packets' label: an index into interface_info()
    bool nano;                      // time stamps already in ns
    std::uint16_t handle;           // into source_ and links_ (interface_index differs after a
                                    // reopen with another link type: link_watch.cpp)
  };

  CaptureEngine(CaptureConfig config, std::unique_ptr<Source> source,
                std::vector<std::string> warnings);
  ~CaptureEngine();
  CaptureEngine(const CaptureEngine&) = delete;
  CaptureEngine& operator=(const CaptureEngine&) = delete;

  const std::vector<std::string>& warnings() const { return warnings_cxx_; }
  const std::vector<std::string>& warning_texts() const { return warnings_; }
  const std::vector<InterfaceInfo>& interfaces() const { return infos_; }
  std::size_t interface_count() const { return interface_count_.load(std::memory_order_acquire); }
  InterfaceInfo interface_info(std::size_t index) const;
  const CaptureConfig& config() const { return config_; }
  std::size_t pool_memory_bytes() const { return handoff_->pool_memory_bytes(); }
  Result<std::size_t> poll(std::chrono::microseconds timeout, BatchFn on_batch, void* context);
  Result<std::size_t> dispatch(BatchFn on_batch, void* context);
  Readiness readiness() const;
  Result<void> start();
  void request_stop() noexcept;
  bool done() const;
  CaptureStats stats() const;
  CaptureStats stats_now(std::chrono::milliseconds wait);
  StopReason stop_reason() const { return stop_reason_.load(); }
  std::optional<Error> failure() const;
  const Batch* next_filled(std::chrono::microseconds wait, const Error*& refused);
  void release(const Batch* batch) noexcept;
  [[nodiscard]] int batches_held() const noexcept { return batches_held_.load(); }
  // The owner (EngineHandle) is going: free now, or when the call in progress returns.
  void release_owner() noexcept;

  // Reached from the pcap callback.
  void on_packet(const CallbackContext& ctx, const struct pcap_pkthdr* header,
                 const std::uint8_t* bytes) noexcept;
  static void pcap_callback(u_char* user, const struct pcap_pkthdr* header, const u_char* bytes);

  Result<void> prepare_waiter();  // dispatch mode (live or file): called once by Engine::open

 private:
  friend class InlineHandoff;
  friend class ThreadedHandoff;
  // One wake-up of live capture: wait (when `wait`; at most max_wait, the next statistics read,
  // or the coalescing window), drain every handle, hand over. False once capture has finished.
  bool capture_step(std::chrono::microseconds max_wait, bool wait) noexcept;
  // One read of a capture file (batch_packets records). False once the file is done.
  bool file_step() noexcept;
  // The clocks start (the first inline call, or start()).
  void begin_capture() noexcept;
  void run_capture_thread() noexcept;  // threaded: the capture thread's whole life
  // Consumer-side calls (poll, dispatch, next_batch, an inline stats_now) run one at a time:
  // enter_call() is null when this call may go on, else the kBusy error to refuse it with.
  // leave_call() may free the engine (the owner went meanwhile): touch nothing after it.
  const Error* enter_call() noexcept;
  void leave_call() noexcept;
  // A threaded stats_now() waiting on the capture thread (any number, any thread): the engine
  // outlives them. leave_reader() may free the engine, as leave_call().
  void enter_reader() noexcept;
  void leave_reader() noexcept;
  [[nodiscard]] bool orphaned() const noexcept {
    return (call_state_.load(std::memory_order_acquire) & kOrphaned) != 0;
  }
  bool dispatch_all() noexcept;  // false: a handle failed (failure_ set)
  // The filled batch to the consumer: one virtual call per batch.
  void hand_over(bool force) noexcept { handoff_->hand_over(current_, force); }
  // The batch callback threw: the engine stops, failure() says so.
  void callback_failed(std::string message) noexcept;
  // poll's bound: this call's time is up, no further callback starts in it (a threaded
  // engine's capture thread has no call, so no deadline).
  [[nodiscard]] bool out_of_time() const noexcept { return call_out_of_time_; }
  void set_call_deadline(std::int64_t monotonic_ns) noexcept {
    call_deadline_ns_ = monotonic_ns;
    call_out_of_time_ = false;
  }
  void note_callback_end() noexcept;
  // After a stop: drain what the kernel holds, hand everything over, finish. False once
  // finished; true when the inline call's time ran out first (the next call goes on with it).
  bool stop_step() noexcept;
  [[nodiscard]] bool count_reached() const noexcept {
    return counters_.packets.load(std::memory_order_relaxed) >= packet_limit_;
  }
  bool acquire_batch() noexcept { return handoff_->acquire(current_); }
  void serve_stats_while_blocked() noexcept;
  void begin_drain() noexcept;  // the stop's deadline starts (kDrainAfterStop)
  void refresh_stats() noexcept;
  // The capture thread's side of stats_now(): true when a reader asked for a fresh read.
  [[nodiscard]] bool stats_wanted() const noexcept {
    return stats_requested_.load(std::memory_order_relaxed) !=
           stats_served_.load(std::memory_order_relaxed);
  }
  void finish(StopReason reason, std::optional<Error> error = std::nullopt,
              bool read_stats = true) noexcept;
  void end_live(StopReason reason) noexcept;  // read the counters, hand over, finish
  void record_delivery(const Batch& batch) noexcept;

  const CaptureConfig config_;
  // effective_coalesce_us(config_), resolved once at open rather than on every wake-up.
  const int coalesce_us_;
  // config_.max_packets, or no limit as the largest count: one compare per packet.
  const std::uint64_t packet_limit_;
  const std::unique_ptr<Source> source_;
  std::vector<InterfaceInfo> infos_;
  std::vector<std::string> warnings_;      // settings as ${name}
  std::vector<std::string> warnings_cxx_;  // worded for C++
  std::vector<CallbackContext> contexts_;  // one per handle, the pcap_dispatch user pointer
  std::size_t next_context_ = 0;           // where dispatch_all starts: after the last cut short
  std::unique_ptr<platform::ReadinessWaiter> waiter_;
  // Interface loss (link_watch.cpp). When a handle is closed or reopened the
  // waiter is rebuilt on the open handles; other threads only wake() it, through waiter_raw_,
  // and the previous waiter stays alive until the next rebuild (at least one statistics
  // interval later) so that a wake() in flight never touches a freed one.
  std::atomic<platform::ReadinessWaiter*> waiter_raw_{nullptr};
  std::unique_ptr<platform::ReadinessWaiter> retired_waiter_;
  struct LinkWatch {
    bool up = true;                  // capture thread's view
    bool closed = false;             // the handle failed and was closed: reopen pending
    unsigned index = 0;              // interface index when opened (a re-created one differs)
    std::int64_t down_since_ns = 0;  // monotonic_ns(), while down
    std::atomic<bool> up_published{true};
    std::atomic<std::uint64_t> down_events{0}, reopens{0};
    std::atomic<std::int64_t> down_ns_done{0};          // outages that ended
    std::atomic<std::int64_t> down_since_published{0};  // 0: up
    // The outage intervals (stats.hpp LinkOutage), CLOCK_REALTIME like packet stamps, bounded
    // by the evidence: the capture thread's last look that found the link up, the last packet
    // captured on it before the down was seen, the first one after (within one pcap_dispatch:
    // the stamp of that call's last packet).
    std::int64_t last_up_look_rt_ns = 0;  // capture thread
    std::int64_t last_packet_ts_ns = 0;   // capture thread: newest packet stamp on this handle
    std::int64_t down_seen_rt_ns = 0;     // capture thread: when the down was seen
    std::int64_t end_bound_ns = 0;        // capture thread: first packet after it (0: none yet)
    mutable std::mutex outages_mutex;     // the capture thread writes, stats() copies
    std::vector<LinkOutage> outages;      // the last InterfaceStats::kMaxOutagesKept
  };
  std::vector<std::unique_ptr<LinkWatch>> links_;
  // Interfaces a reopen brought back with another link type or snaplen (link_watch.cpp): new
  // indices after the opened ones, so that packets before and after stay apart (a pcapng IDB
  // each). The capture thread appends under the mutex, then publishes the count.
  mutable std::mutex added_infos_mutex_;
  std::vector<InterfaceInfo> added_infos_;
  std::vector<std::vector<std::uint16_t>> indices_of_handle_;  // capture thread: every index used
  std::atomic<std::size_t> interface_count_{0};
  static constexpr std::size_t kMaxAddedInterfaces = 64;  // a bound on memory; then it stops
  std::vector<std::uint64_t> iface_buffer_bytes_;
  void wake_waiter() noexcept {
    if (auto* w = waiter_raw_.load(std::memory_order_acquire)) w->wake();
  }
  bool rebuild_waiter() noexcept;            // false: cannot (the error is in failure_)
  void lose_handle(std::size_t i) noexcept;  // --reopen: handle i failed
  bool watch_links() noexcept;               // per interval; false: cannot go on
  bool relabel(std::size_t i, const InterfaceInfo& now) noexcept;  // link_watch.cpp
  void mark_link(std::size_t i, bool up) noexcept;
  void packets_while_down(std::size_t i, std::int64_t last_ts_ns) noexcept;  // cold

  // The batch being filled (capture thread only), from the hand-off and back to it.
  alignas(kCacheLine) Batch* current_ = nullptr;
  // current_ waits for the next call: poll's bound ran out before it could be delivered.
  bool held_back_ = false;
  // Set for the final drain after a stop: the block policy keeps waiting for the consumer
  // (until drain_deadline_) instead of counting the last packets as dropped.
  bool draining_ = false;                                   // capture thread only
  std::chrono::steady_clock::time_point drain_deadline_{};  // capture thread only
  bool break_requested_ = false;  // -c reached: pcap_breakloop called once
  bool drain_gave_up_ = false;    // block policy: no batch before the drain deadline

  // Drain after a stop, in steps (an inline call may run out of time between them).
  enum class DrainPhase { kFirst, kRetire, kLast, kHandOver };
  DrainPhase drain_phase_ = DrainPhase::kFirst;        // capture thread only
  std::chrono::steady_clock::time_point retire_at_{};  // capture thread only
  bool drain_retire_ = false;  // TPACKET_V3: wait for the block being filled to retire

  // poll's bound: the call's deadline (monotonic ns), and whether it passed after a callback
  // (then draining stops: pcap_breakloop on the handle in pcap_dispatch).
  std::int64_t call_deadline_ns_ = std::numeric_limits<std::int64_t>::max();
  bool call_out_of_time_ = false;
  const CallbackContext* dispatching_ = nullptr;  // the handle inside dispatch (capture thread)

  // The consumer call in progress and the owner's departure (enter_call, release_owner).
  // call_state_: kInCall, kOrphaned, plus kReader per stats_now() reader waiting.
  static constexpr unsigned kInCall = 1, kOrphaned = 2, kReader = 4;
  std::atomic<unsigned> call_state_{0};
  std::atomic<std::thread::id> caller_{};  // the thread inside it: tells re-entry from a rival
  // Live capture loop state, owned by whichever thread captures (inline: the caller's).
  bool polling_ = false;  // coalescing: draining every window, not waiting on fds
  std::int64_t next_stats_ns_ = 0;
  std::atomic<int> batches_held_{0};  // threaded: BatchRefs the application holds

  std::atomic<bool> started_{false};
  std::atomic<bool> callback_threw_{false};  // nothing more goes to the callback
  std::atomic<bool> stop_requested_{false};
  // stats_now(): requests (any reader) and the last request served by a refresh_stats().
  std::atomic<std::uint64_t> stats_requested_{0};
  std::atomic<std::uint64_t> stats_served_{0};
  std::atomic<bool> capture_done_{false};
  std::atomic<StopReason> stop_reason_{StopReason::kRunning};
  mutable std::mutex failure_mutex_;
  std::optional<Error> failure_;
  std::int64_t start_ns_ = 0;  // monotonic_ns() at start(): elapsed_ns

  CaptureCounters counters_;
  std::int64_t dispatch_last_ts_ns_ =
      0;  // stamp of the last packet taken (link_watch.cpp's outages)
  Histogram dispatch_packets_hist_, dispatch_bytes_hist_;  // capture thread writes
  Histogram latency_hist_;                                 // consumer writes
  std::atomic<std::uint64_t> delivered_packets_{0}, delivered_batches_{0}, thread_handoffs_{0};
  std::vector<std::unique_ptr<std::atomic<std::uint64_t>[]>> iface_stats_;  // recv, drop, ifdrop
  // Last, so that it goes first: a threaded capture thread ends before the members it uses.
  std::unique_ptr<Handoff> handoff_;
};

// Single-writer counter update: a plain load and store, no locked read-modify-write.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace rtcap::detail
