// Threaded delivery: the engine's capture thread fills batches from a pool and publishes them on
// an SPSC ring; the consumer takes them (poll, next_batch) and gives them back on another.
#include <thread>

#include "engine/engine_impl.hpp"
#include "engine/handoff.hpp"

namespace rtcap::detail {
namespace {

const Error kNextBatchBeforeStart{ErrorCode::kMisuse,
                                  "threaded delivery: start the capture thread first"};
const Error kDispatchThreaded{ErrorCode::kMisuse,
                              "dispatch is for inline delivery: a threaded engine's capture "
                              "thread drains the handles itself (poll or next_batch take its "
                              "batches)"};

}  // namespace

// A friend of CaptureEngine (engine_impl.hpp): not in the anonymous namespace.
class ThreadedHandoff final : public Handoff {
 public:
  ThreadedHandoff(CaptureEngine& engine, std::size_t arena)
      : engine_(engine),
        free_(engine.config().pool_batches),
        filled_(engine.config().pool_batches) {
    const CaptureConfig& c = engine.config();
    for (std::size_t i = 0; i < c.pool_batches; ++i) {
      storage_.push_back(std::make_unique<Batch>(c.batch_packets, arena));
      (void)free_.try_push(storage_.back().get());
    }
    pool_memory_bytes_ = c.pool_batches * (arena + c.batch_packets * sizeof(PacketRecord));
  }

  ~ThreadedHandoff() override {
    // The capture thread uses the pool: it ends (the engine requested the stop) before the pool.
    if (thread_.joinable()) thread_.join();
  }

  const Error* refuse_poll() const noexcept override { return refuse_next_batch(); }
  const Error* refuse_dispatch() const noexcept override { return &kDispatchThreaded; }
  const Error* refuse_next_batch() const noexcept override {
    return engine_.started_.load() ? nullptr : &kNextBatchBeforeStart;
  }

  // The next filled batch through the callback, then back to the pool.
  std::size_t poll(std::chrono::microseconds timeout, Engine::BatchFn fn,
                   void* ctx) noexcept override {
    Batch* batch = pop_filled(timeout);
    if (!batch) return 0;
    const std::size_t n = batch->size();
    if (!engine_.orphaned() && !engine_.callback_threw_.load()) {
      if (auto threw = call_batch_fn(fn, ctx, *batch)) engine_.callback_failed(std::move(*threw));
    }
    give_back(batch);
    return n;
  }
  std::size_t dispatch(Engine::BatchFn, void*) noexcept override { return 0; }

  Batch* next_filled(std::chrono::microseconds wait) noexcept override { return pop_filled(wait); }
  void release(Batch* batch) noexcept override { give_back(batch); }

  Result<void> start() override {
    if (engine_.started_.exchange(true))
      return make_error(ErrorCode::kMisuse, "started twice: the capture thread already runs");
    engine_.begin_capture();
    thread_ = std::thread([this] {
      platform::prepare_capture_thread();
      engine_.run_capture_thread();
    });
    return {};
  }

  CaptureStats stats_now(std::chrono::milliseconds wait) override {
    CaptureEngine& e = engine_;
    if (!thread_.joinable()) return e.stats();
    // A destroy that starts while this waits is held off until it returns (the reader count);
    // one that starts before enter_reader() is the caller's race, as for any object.
    e.enter_reader();
    const std::uint64_t ticket = e.stats_requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
    e.wake_waiter();
    const auto deadline = std::chrono::steady_clock::now() + wait;
    // 200 us steps: a wake-up and one pcap_stats take tens of microseconds here
    // (docs/TUNING.md); this runs once per status line, not per packet.
    while (e.stats_served_.load(std::memory_order_acquire) < ticket && !e.capture_done_.load() &&
           !e.orphaned() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    CaptureStats s = e.stats();  // before leave_reader: an owner gone meanwhile frees us there
    e.leave_reader();
    return s;
  }

  [[nodiscard]] bool drained() const noexcept override { return filled_.empty(); }

  bool acquire(Batch*& current) noexcept override {
    CaptureEngine& e = engine_;
    if (free_.try_pop(current)) return true;
    current = nullptr;
    if (e.config().overflow == OverflowPolicy::kDrop && e.config().read_file.empty()) return false;
    // Block: the consumer is behind; wait for it (the kernel ring absorbs the delay meanwhile).
    // After a stop, keep waiting while the consumer drains, but not past the drain deadline: an
    // embedding application may stop calling next_batch and destroy the engine, and a stop must
    // end in bounded time.
    std::int64_t since_ns = monotonic_ns();  // callback_ns grows live, every wait
    for (;;) {
      if (e.stop_requested_.load(std::memory_order_relaxed)) {
        e.begin_drain();  // the stop's deadline bounds this wait too
        if (std::chrono::steady_clock::now() >= e.drain_deadline_) break;
      }
      // 10 ms: only bounds how late a stop request is seen; a released batch rings the bell.
      producer_bell_.wait_for(
          [this, &e] { return !free_.empty() || (e.stop_requested_.load() && !e.draining_); },
          std::chrono::milliseconds(10));
      add_time_since(e.counters_.callback_ns, since_ns);
      since_ns = monotonic_ns();
      if (free_.try_pop(current)) return true;
      e.serve_stats_while_blocked();
    }
    // Stopping, and the consumer took nothing before the deadline: read no more. The packet in
    // hand and what the kernel still holds stay uncaptured (CaptureStats::unread_packets()),
    // never app drops: the block policy promised to leave loss to the kernel ring.
    e.drain_gave_up_ = true;
    if (e.dispatching_) e.source_->breakloop(e.dispatching_->handle);
    return false;
  }

  void hand_over(Batch*& current, bool force) noexcept override {
    if (!current || current->empty()) return;
    // While the consumer still has a batch waiting, keep filling this one: fewer, fuller batches
    // when the consumer is slow, and no added delay when it keeps up. holding_ and the
    // consumer's check in pop_filled form a Dekker pair (seq_cst store, fence, load on both
    // sides): either we see the ring empty, or the consumer sees holding_ and wakes us, so a held
    // batch never waits for the next kernel wake-up.
    if (!force) {
      holding_.store(true, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (!filled_.empty()) return;
    }
    holding_.store(false, std::memory_order_relaxed);
    (void)filled_.try_push(current);  // cannot fail: filled_ holds the whole pool
    current = nullptr;
    consumer_bell_.ring();
  }

  void callback_failed() noexcept override {}
  void wake_producer() noexcept override { producer_bell_.ring(); }
  void wake_consumer() noexcept override { consumer_bell_.ring(); }

 private:
  Batch* pop_filled(std::chrono::microseconds wait) noexcept {
    CaptureEngine& e = engine_;
    Batch* batch = nullptr;
    if (!filled_.try_pop(batch)) {
      // Running dry while the capture thread holds a batch back for us: ask for it.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (holding_.load(std::memory_order_seq_cst)) e.wake_waiter();
      consumer_bell_.wait_for([this, &e] { return !filled_.empty() || e.capture_done_.load(); },
                              wait);
      (void)filled_.try_pop(batch);
    }
    if (batch) {
      e.record_delivery(*batch);
      bump(e.thread_handoffs_);
    }
    return batch;
  }

  void give_back(Batch* batch) noexcept {
    batch->clear();
    (void)free_.try_push(batch);  // cannot fail: free_ holds the whole pool
    producer_bell_.ring();
  }

  CaptureEngine& engine_;
  // Every batch lives in storage_ and is in exactly one place at a time: free_, the capture
  // thread's current batch, filled_, or held by the consumer.
  std::vector<std::unique_ptr<Batch>> storage_;
  SpscRing<Batch*> free_;    // consumer -> capture thread
  SpscRing<Batch*> filled_;  // capture thread -> consumer
  // A line each: the consumer writes consumer_bell_'s flag on every wait, the capture thread
  // producer_bell_'s (block policy), and holding_ is the capture thread's.
  alignas(kCacheLine) Doorbell consumer_bell_;  // rung when filled_ gains a batch or capture ends
  alignas(kCacheLine) Doorbell producer_bell_;  // rung when free_ gains a batch (block policy)
  // The capture thread holds a filled batch back while the consumer is busy; the consumer wakes
  // it through the waiter when it runs dry (see hand_over and pop_filled).
  alignas(kCacheLine) std::atomic<bool> holding_{false};
  std::thread thread_;
};

std::unique_ptr<Handoff> make_threaded_handoff(CaptureEngine& engine, std::size_t arena) {
  return std::make_unique<ThreadedHandoff>(engine, arena);
}

}  // namespace rtcap::detail
