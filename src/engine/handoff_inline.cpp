// Inline delivery: capture runs on the thread that calls poll or dispatch, and each filled batch
// goes to that call's callback from inside it. One batch, filled, delivered, reused.
#include <algorithm>

#include "engine/engine_impl.hpp"
#include "engine/handoff.hpp"

namespace rtcap::detail {
namespace {

// The longest wait a call takes literally (2^50 us, 35 years): keeps deadlines in int64 ns.
constexpr std::int64_t kMaxWaitUs = std::int64_t{1} << 50;

const Error kNextBatchInline{ErrorCode::kMisuse,
                             "inline delivery has no batches to take: poll or dispatch deliver "
                             "them through the callback (or open with threaded delivery)"};

}  // namespace

// A friend of CaptureEngine (engine_impl.hpp): not in the anonymous namespace.
class InlineHandoff final : public Handoff {
 public:
  InlineHandoff(CaptureEngine& engine, std::size_t arena)
      : engine_(engine), batch_(engine.config().batch_packets, arena) {
    pool_memory_bytes_ = arena + engine.config().batch_packets * sizeof(PacketRecord);
    engine_.current_ = &batch_;  // never handed away: acquire() is never needed
  }

  const Error* refuse_poll() const noexcept override { return nullptr; }
  const Error* refuse_dispatch() const noexcept override { return nullptr; }
  const Error* refuse_next_batch() const noexcept override { return &kNextBatchInline; }

  std::size_t poll(std::chrono::microseconds timeout, Engine::BatchFn fn,
                   void* ctx) noexcept override {
    return run(timeout, true, fn, ctx);
  }
  std::size_t dispatch(Engine::BatchFn fn, void* ctx) noexcept override {
    return run(std::chrono::microseconds(0), false, fn, ctx);
  }
  Batch* next_filled(std::chrono::microseconds) noexcept override { return nullptr; }
  void release(Batch*) noexcept override {}

  Result<void> start() override {
    return make_error(ErrorCode::kMisuse,
                      "inline delivery has no capture thread to start: capture runs on the "
                      "thread that calls poll or dispatch (or open with threaded delivery)");
  }

  CaptureStats stats_now(std::chrono::milliseconds) override {
    // The caller is the capture thread (see engine.hpp): read them now, ourselves, unless
    // another thread is inside poll (it reads them there); from inside the callback we may.
    CaptureEngine& e = engine_;
    if (!e.started_.load()) return e.stats();
    if (!e.enter_call()) {
      e.refresh_stats();
      CaptureStats s = e.stats();  // before leave_call: an owner gone meanwhile frees us there
      e.leave_call();
      return s;
    } else if (e.caller_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
      e.refresh_stats();
    }
    return e.stats();
  }

  // Inline delivers before poll()/dispatch() returns.
  [[nodiscard]] bool drained() const noexcept override { return true; }

  bool acquire(Batch*& current) noexcept override {
    current = &batch_;
    return true;
  }

  void hand_over(Batch*& current, bool force) noexcept override {
    CaptureEngine& e = engine_;
    if (current->empty()) return;
    // After a callback threw (capture_done_ set) or the owner destroyed the engine from inside
    // one, nothing more goes to it; every normal end delivers its last batch before finish().
    if (e.capture_done_.load(std::memory_order_relaxed) || e.orphaned()) {
      current->clear();
      return;
    }
    // poll's bound: once this call's time is up, the batch waits for the next call (a full one
    // cannot wait: out_of_time() stopped draining right after the callback that used the time).
    if (!force && e.out_of_time()) {
      e.held_back_ = true;
      return;
    }
    e.held_back_ = false;
    e.record_delivery(*current);
    delivered_ += current->size();
    if (fn_) {
      const std::int64_t began_ns = monotonic_ns();
      if (auto threw = call_batch_fn(fn_, ctx_, *current)) e.callback_failed(std::move(*threw));
      add_time_since(e.counters_.callback_ns, began_ns);
      e.note_callback_end();
    }
    current->clear();
  }

  void callback_failed() noexcept override { engine_.capture_done_.store(true); }
  void wake_producer() noexcept override {}
  void wake_consumer() noexcept override {}

 private:
  // One step of capture with the application's callback installed.
  std::size_t run(std::chrono::microseconds timeout, bool wait, Engine::BatchFn fn,
                  void* ctx) noexcept {
    CaptureEngine& e = engine_;
    if (e.capture_done_.load()) return 0;
    if (!started_) {
      started_ = true;
      e.started_.store(true);
      platform::prepare_capture_thread();  // timer slack of the caller's thread (Linux), see there
      e.begin_capture();
    }
    fn_ = fn;
    ctx_ = ctx;
    delivered_ = 0;
    timeout = std::max(timeout, std::chrono::microseconds(0));
    e.set_call_deadline(monotonic_ns() +
                        std::min<std::int64_t>(timeout.count(), kMaxWaitUs) * 1000);
    if (!e.config().read_file.empty()) {
      if (!wait) e.waiter_->clear_wake();
      (void)e.file_step();
    } else {
      (void)e.capture_step(timeout, wait);
    }
    fn_ = nullptr;
    ctx_ = nullptr;
    return delivered_;
  }

  CaptureEngine& engine_;
  Batch batch_;
  Engine::BatchFn fn_ = nullptr;  // the callback of the poll()/dispatch() call in progress
  void* ctx_ = nullptr;
  std::size_t delivered_ = 0;  // packets delivered by the call in progress
  bool started_ = false;       // the first poll()/dispatch() prepared the thread
};

std::unique_ptr<Handoff> make_inline_handoff(CaptureEngine& engine, std::size_t arena) {
  return std::make_unique<InlineHandoff>(engine, arena);
}

}  // namespace rtcap::detail
