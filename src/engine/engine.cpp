// The dispatch capture loop and the consumer hand-off. See docs/ARCHITECTURE.md for the picture.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "platform/link.hpp"
#include "engine/config_table.hpp"
#include "engine/engine_impl.hpp"
#include "platform/defaults.hpp"

namespace rtcap {
namespace detail {
namespace {

// The table's rules (src/engine/config_table.cpp), then what the naive baseline cannot do.
Result<void> validate(const CaptureConfig& c, CaptureMode mode) {
  if (auto ok = config_table::validate(c); !ok) return ok;
  if (mode == CaptureMode::kNaive && c.interfaces.size() > 1)
    return rtcap::unexpected(config_table::setting_error(
        config_table::at("interfaces"),
        "the naive baseline reads one handle with pcap_next_ex: give one interface"));
  if (mode == CaptureMode::kNaive && c.delivery == Delivery::kInline && c.read_file.empty())
    return rtcap::unexpected(config_table::setting_error(
        config_table::at("delivery"),
        "the naive baseline hands lists to another thread by design: it must be threaded"));
  return {};
}

}  // namespace

CaptureEngine::CaptureEngine(CaptureConfig config, std::unique_ptr<Source> source,
                             std::vector<std::string> warnings)
    : config_(std::move(config)),
      coalesce_us_(effective_coalesce_us(config_)),
      packet_limit_(config_.max_packets > 0 ? std::uint64_t(config_.max_packets)
                                            : std::numeric_limits<std::uint64_t>::max()),
      source_(std::move(source)),
      warnings_(std::move(warnings)),
      warnings_cxx_(config_table::word(warnings_, config_table::Front::kCxx)) {
  int largest_snaplen = 0;
  for (std::size_t i = 0; i < source_->size(); ++i) {
    infos_.push_back(source_->info(i));
    largest_snaplen = std::max(largest_snaplen, infos_[i].snaplen);
    contexts_.push_back(CallbackContext{this, static_cast<std::uint16_t>(i),
                                        infos_[i].precision == TimestampPrecision::kNano,
                                        static_cast<std::uint16_t>(i)});
    indices_of_handle_.push_back({static_cast<std::uint16_t>(i)});
    iface_stats_.push_back(std::make_unique<std::atomic<std::uint64_t>[]>(3));
    links_.push_back(std::make_unique<LinkWatch>());
    iface_buffer_bytes_.push_back(source_->buffer_bytes(i));
    if (!source_->is_file()) {
      links_.back()->index = source_->link_state(i).index;
      links_.back()->last_up_look_rt_ns = realtime_ns();  // opened: it was up
    }
  }
  interface_count_.store(infos_.size(), std::memory_order_release);
  // Every batch must hold at least one whole packet of the largest snaplen.
  const std::size_t arena =
      std::max<std::size_t>(config_.batch_bytes, std::size_t(largest_snaplen));
  handoff_ = config_.delivery == Delivery::kInline ? make_inline_handoff(*this, arena)
                                                   : make_threaded_handoff(*this, arena);
}

CaptureEngine::~CaptureEngine() {
  request_stop();  // a capture thread ends when handoff_, the last member, goes
}

namespace {
// Refusals (BatchRef::refused points at them: they live as long as the library; the hand-offs
// have their own).
const Error kBusyReentered{ErrorCode::kBusy,
                           "called from inside this engine's own batch callback: return from "
                           "the callback first (the call in progress delivers what comes)"};
const Error kBusyOtherThread{ErrorCode::kBusy,
                             "another thread is inside poll, dispatch or next_batch on this "
                             "engine: one thread consumes"};
}  // namespace

const Error* CaptureEngine::enter_call() noexcept {
  // Readers (stats_now) may come and go meanwhile: only the kInCall bit decides.
  if (call_state_.fetch_or(kInCall, std::memory_order_acq_rel) & kInCall)
    return caller_.load(std::memory_order_relaxed) == std::this_thread::get_id()
               ? &kBusyReentered
               : &kBusyOtherThread;
  caller_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  return nullptr;
}

void CaptureEngine::leave_call() noexcept {
  caller_.store(std::thread::id{}, std::memory_order_relaxed);
  // Whoever leaves the state at exactly kOrphaned (no call, no reader) frees the engine.
  if ((call_state_.fetch_and(~kInCall, std::memory_order_acq_rel) & ~kInCall) == kOrphaned)
    delete this;
}

void CaptureEngine::enter_reader() noexcept {
  call_state_.fetch_add(kReader, std::memory_order_acq_rel);
}

void CaptureEngine::leave_reader() noexcept {
  if (call_state_.fetch_sub(kReader, std::memory_order_acq_rel) - kReader == kOrphaned) delete this;
}

void CaptureEngine::release_owner() noexcept {
  request_stop();  // a call or reader still waiting returns soon, and frees the engine then
  if (call_state_.fetch_or(kOrphaned, std::memory_order_acq_rel) == 0) delete this;
}

Result<void> CaptureEngine::prepare_waiter() {
  auto waiter = source_->make_waiter();
  if (!waiter) return rtcap::unexpected(waiter.error());
  waiter_ = std::move(*waiter);
  waiter_raw_.store(waiter_.get(), std::memory_order_release);
  return {};
}

Result<void> CaptureEngine::start() { return handoff_->start(); }

void CaptureEngine::begin_capture() noexcept {
  // Scheduling and elapsed time run on the monotonic clock: a wall-clock step (NTP, an operator)
  // must neither freeze the statistics reads nor fire them all at once. Packet timestamps and
  // the delivery latency stay CLOCK_REALTIME.
  start_ns_ = monotonic_ns();
  next_stats_ns_ = start_ns_ + std::int64_t(config_.stats_interval_ms) * 1000000;
}

void CaptureEngine::run_capture_thread() noexcept {
  if (!config_.read_file.empty()) {
    while (file_step()) {
    }
  } else {
    while (capture_step(std::chrono::hours(1), true)) {
    }
  }
}

void CaptureEngine::callback_failed(std::string message) noexcept {
  callback_threw_.store(true);
  {
    std::lock_guard lock(failure_mutex_);
    if (!failure_) failure_ = Error{ErrorCode::kMisuse, std::move(message)};
  }
  StopReason running = StopReason::kRunning;
  stop_reason_.compare_exchange_strong(running, StopReason::kFailed);
  request_stop();
  handoff_->callback_failed();
  handoff_->wake_consumer();
}

Result<std::size_t> CaptureEngine::poll(std::chrono::microseconds timeout, BatchFn on_batch,
                                        void* context) {
  if (!on_batch) return make_error(ErrorCode::kMisuse, "poll without a batch callback");
  if (const Error* refused = handoff_->refuse_poll()) return rtcap::unexpected(*refused);
  if (const Error* busy = enter_call()) return rtcap::unexpected(*busy);
  const std::size_t n = handoff_->poll(timeout, on_batch, context);
  leave_call();  // may free *this
  return n;
}

Result<std::size_t> CaptureEngine::dispatch(BatchFn on_batch, void* context) {
  if (const Error* refused = handoff_->refuse_dispatch()) return rtcap::unexpected(*refused);
  if (!on_batch) return make_error(ErrorCode::kMisuse, "dispatch without a batch callback");
  if (const Error* busy = enter_call()) return rtcap::unexpected(*busy);
  const std::size_t n = handoff_->dispatch(on_batch, context);
  leave_call();  // may free *this
  return n;
}

Readiness CaptureEngine::readiness() const {
  Readiness r;
  if (!waiter_) return r;
  r.handles = waiter_->wait_handles();
  if (!config_.read_file.empty()) {
    r.max_wait_us = 0;  // a file is always ready
    return r;
  }
  std::int64_t limit = waiter_->required_timeout_us();
  auto at_most = [&](std::int64_t us) { limit = limit < 0 ? us : std::min(limit, us); };
  if (next_stats_ns_ > 0)
    at_most(std::max<std::int64_t>(0, next_stats_ns_ - monotonic_ns()) / 1000);
  if (polling_ && !r.handles.empty()) {
    // Coalescing: the capture fds would wake per packet; drain every window instead.
    r.handles.erase(r.handles.begin(), r.handles.end() - 1);
    at_most(coalesce_us_);
  }
  if (stop_requested_.load() && !capture_done_.load()) {
    if (draining_ && drain_phase_ == DrainPhase::kRetire) {
      // The stop waits for the ring's last block to retire: dispatch when it has, not sooner.
      const auto left = std::min(retire_at_, drain_deadline_) - std::chrono::steady_clock::now();
      at_most(std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::microseconds>(left).count()));
    } else {
      at_most(0);
    }
  }
  if (held_back_) at_most(0);  // poll's bound held a batch back: the next call delivers it
  r.max_wait_us = limit;
  return r;
}

void CaptureEngine::request_stop() noexcept {
  stop_requested_.store(true);
  // The waiter wakes the loop; no break flag: its final pcap_dispatch drains what libpcap holds.
  wake_waiter();
  handoff_->wake_producer();
}

void CaptureEngine::pcap_callback(u_char* user, const struct pcap_pkthdr* header,
                                  const u_char* bytes) {
  const auto* ctx = reinterpret_cast<const CallbackContext*>(user);
  ctx->engine->on_packet(*ctx, header, bytes);
}

void CaptureEngine::on_packet(const CallbackContext& ctx, const struct pcap_pkthdr* header,
                              const std::uint8_t* bytes) noexcept {
  if (count_reached()) {
    // Once: pcap_breakloop also writes libpcap's wake-up eventfd on Linux.
    if (!break_requested_) {
      for (std::size_t i = 0; i < source_->size(); ++i) source_->breakloop(i);
      break_requested_ = true;
    }
    return;
  }
  const std::int64_t ts_ns = pcap_ts_ns(*header, ctx.nano);
  if (!current_ && !acquire_batch()) {
    if (!drain_gave_up_) bump(counters_.app_dropped);
    return;
  }
  if (!current_->try_append(ts_ns, ctx.interface_index, bytes, header->caplen, header->len)) {
    hand_over(true);  // inline: the callback runs now, from inside pcap_dispatch
    if (!current_ && !acquire_batch()) {
      if (!drain_gave_up_) bump(counters_.app_dropped);
      return;
    }
    // An empty batch's arena holds the largest snaplen; only a file whose records exceed its
    // own snaplen can get here, and such a record is counted, not copied.
    if (!current_->try_append(ts_ns, ctx.interface_index, bytes, header->caplen, header->len)) {
      bump(counters_.app_dropped);
      return;
    }
  }
  bump(counters_.packets);
  bump(counters_.bytes, header->caplen);
  if (header->caplen < header->len) bump(counters_.truncated);
  dispatch_last_ts_ns_ = ts_ns;
}

void CaptureEngine::serve_stats_while_blocked() noexcept {
  // From inside pcap_dispatch: pcap_stats reads the socket's counters (getsockopt
  // PACKET_STATISTICS; Npcap's stats ioctl), not the ring being walked. So kernel drops show
  // while the block policy waits, and stats_now() answers.
  if (const std::int64_t now_ns = monotonic_ns(); now_ns >= next_stats_ns_) {
    refresh_stats();
    const std::int64_t interval_ns = std::int64_t(config_.stats_interval_ms) * 1000000;
    next_stats_ns_ += interval_ns;
    if (next_stats_ns_ <= now_ns) next_stats_ns_ = now_ns + interval_ns;
  } else if (stats_wanted()) {
    refresh_stats();
  }
}

void CaptureEngine::note_callback_end() noexcept {
  if (call_out_of_time_ || monotonic_ns() < call_deadline_ns_) return;
  call_out_of_time_ = true;
  // What the kernel still holds stays there until the next call (libpcap keeps its place).
  if (dispatching_) source_->breakloop(dispatching_->handle);
}

bool CaptureEngine::dispatch_all() noexcept {
  bool ok = true;
  if (drain_gave_up_) return ok;  // see acquire_batch
  const std::size_t handles = contexts_.size();
  const std::size_t first = next_context_ < handles ? next_context_ : 0;
  for (std::size_t k = 0; k < handles; ++k) {
    if (count_reached() || out_of_time()) break;
    const std::size_t at = (first + k) % handles;
    CallbackContext& ctx = contexts_[at];
    // A call cut short (poll's bound, -c) resumes after this handle: every handle gets its turn.
    next_context_ = (at + 1) % handles;
    if (!source_->is_open(ctx.handle)) continue;  // --reopen: closed until it is back
    const std::uint64_t before = counters_.packets.load(std::memory_order_relaxed);
    const std::uint64_t bytes_before = counters_.bytes.load(std::memory_order_relaxed);
    dispatching_ = &ctx;
    int n = source_->dispatch(ctx.handle, -1, &CaptureEngine::pcap_callback,
                              reinterpret_cast<u_char*>(&ctx));
    dispatching_ = nullptr;
    const std::uint64_t dispatch_bytes =
        counters_.bytes.load(std::memory_order_relaxed) - bytes_before;  // copied by this call
    bump(counters_.dispatch_calls);
    // Broken off (-c, or poll's bound): what it took before is a drain like any other.
    if (n == PCAP_ERROR_BREAK) n = int(counters_.packets.load(std::memory_order_relaxed) - before);
    if (n > 0) {
      // A packet captured on the interface bounds an outage (link_watch.cpp).
      LinkWatch& link = *links_[ctx.handle];
      link.last_packet_ts_ns = dispatch_last_ts_ns_;
      if (!link.up) [[unlikely]]
        packets_while_down(ctx.handle, dispatch_last_ts_ns_);
      dispatch_packets_hist_.record(std::uint64_t(n));
      dispatch_bytes_hist_.record(dispatch_bytes);
      if (dispatch_bytes > counters_.max_dispatch_bytes.load(std::memory_order_relaxed))
        counters_.max_dispatch_bytes.store(dispatch_bytes, std::memory_order_relaxed);
    } else if (n == 0) {
      bump(counters_.empty_dispatch_calls);
    } else if (n < 0) {
      // For example the interface was deleted or went down (ENETDOWN / ENODEV on Linux). The
      // other handles are still drained; the first failure is the one reported. With --reopen
      // the handle is closed and opened again when the interface is back (link_watch.cpp).
      if (config_.reopen) {
        lose_handle(ctx.handle);
        continue;
      }
      std::lock_guard lock(failure_mutex_);
      if (!failure_)
        failure_ = Error{ErrorCode::kCaptureFailed,
                         fmt::format("capture on '{}' stopped: {} (check that the interface "
                                     "still exists and is up)",
                                     infos_[ctx.handle].name, source_->error(ctx.handle))};
      ok = false;
    }
  }
  return ok;
}

void CaptureEngine::begin_drain() noexcept {
  if (draining_) return;
  draining_ = true;
  const auto now = std::chrono::steady_clock::now();
  drain_deadline_ = now + kDrainAfterStop;
  // TPACKET_V3 hands over a block only when it retires: wait one retire period so that the
  // block the kernel was filling at the stop is delivered too (measured retire delay: see
  // host_v3_retire_hz in latency_budget.hpp). A longer timeout than the drain allows leaves the
  // packets of that block in the kernel: counted as received, not captured.
  drain_retire_ = !config_.immediate_mode && config_.timeout_ms > 0;
  retire_at_ =
      now + (drain_retire_ ? std::chrono::milliseconds(std::int64_t(config_.timeout_ms) + 1)
                           : std::chrono::milliseconds(0));
}

bool CaptureEngine::stop_step() noexcept {
  // The whole drain (the block policy's waits for the consumer and the retire wait below) ends
  // within kDrainAfterStop of the stop, so that a stop ends in bounded time whatever
  // --timeout-ms says; an inline call whose time runs out comes back to the same phase.
  using clock = std::chrono::steady_clock;
  begin_drain();
  const bool late = clock::now() >= drain_deadline_;
  if (!late && drain_phase_ == DrainPhase::kFirst) {
    (void)dispatch_all();
    if (out_of_time()) return true;
    drain_phase_ = count_reached() ? DrainPhase::kHandOver : DrainPhase::kRetire;
  }
  if (!late && drain_phase_ == DrainPhase::kRetire) {
    const auto until = std::min(retire_at_, drain_deadline_);
    // The retire wait counts against poll's timeout like any other wait.
    const std::int64_t call_left_ns = call_deadline_ns_ - monotonic_ns();
    if (call_left_ns < std::chrono::nanoseconds(until - clock::now()).count()) {
      std::this_thread::sleep_for(
          std::chrono::nanoseconds(std::max<std::int64_t>(0, call_left_ns)));
      return true;
    }
    std::this_thread::sleep_until(until);
    drain_phase_ = DrainPhase::kLast;
  }
  if (!late && drain_phase_ == DrainPhase::kLast) {
    if (drain_retire_) (void)dispatch_all();
    if (out_of_time()) return true;
    drain_phase_ = DrainPhase::kHandOver;
  }
  if (out_of_time() && current_ && !current_->empty()) return true;  // delivered by the next call
  end_live(StopReason::kRequested);
  return false;
}

bool CaptureEngine::capture_step(std::chrono::microseconds max_wait, bool wait) noexcept {
  using std::chrono::microseconds;
  if (capture_done_.load()) return false;
  const std::int64_t interval_ns = std::int64_t(config_.stats_interval_ms) * 1000000;
  // Coalescing (immediate mode, --coalesce-us W): once traffic flows, stop waiting on the fd,
  // which wakes us per packet, and drain every W instead, until a drain finds nothing. One timer
  // wake-up per W carries W x rate packets; idle, we block on the fd again (as NAPI does).
  const auto window = microseconds(coalesce_us_);
  // A batch the previous call's bound held back goes out first, without waiting.
  if (held_back_) wait = false;
  if (!stop_requested_.load(std::memory_order_relaxed)) {
    if (!wait) {
      // dispatch(): the application waited on readiness() itself; take its wake-up, if any.
      waiter_->clear_wake();
    } else if (polling_) {
      std::this_thread::sleep_for(std::min(window, max_wait));
    } else {
      // Sleep until the kernel says a handle is ready, the consumer wants a held batch, the
      // next statistics read is due, or the caller's timeout passes.
      const auto until_stats =
          microseconds(std::max<std::int64_t>(0, next_stats_ns_ - monotonic_ns()) / 1000);
      if (waiter_->wait(std::min(until_stats, max_wait)) == platform::WaitResult::kReady &&
          window.count() > 0)
        std::this_thread::sleep_for(std::min(window, max_wait));
    }
    bump(counters_.wakeups);
  }
  if (stop_requested_.load(std::memory_order_relaxed)) {
    // Stop requested: take what the kernel already captured, then hand everything over.
    return stop_step();
  }
  const std::uint64_t before = counters_.packets.load(std::memory_order_relaxed);
  if (!dispatch_all()) {
    end_live(StopReason::kFailed);
    return false;
  }
  if (count_reached()) {
    end_live(StopReason::kCountReached);
    return false;
  }
  polling_ = window.count() > 0 && counters_.packets.load(std::memory_order_relaxed) > before;
  hand_over(false);
  if (const std::int64_t now_ns = monotonic_ns(); now_ns >= next_stats_ns_) {
    if (!watch_links()) {  // --reopen could not go on (link_watch.cpp)
      end_live(StopReason::kFailed);
      return false;
    }
    refresh_stats();
    next_stats_ns_ += interval_ns;
    // Late by more than an interval (a long stall): the next read is an interval from now.
    if (next_stats_ns_ <= now_ns) next_stats_ns_ = now_ns + interval_ns;
  } else if (stats_wanted()) {
    refresh_stats();  // stats_now()
  }
  return !capture_done_.load();  // a throwing inline callback may have stopped the engine
}

bool CaptureEngine::file_step() noexcept {
  if (capture_done_.load()) return false;
  auto& ctx = contexts_.front();
  StopReason reason = StopReason::kEndOfFile;
  if (!stop_requested_.load(std::memory_order_relaxed)) {
    const std::uint64_t bytes_before = counters_.bytes.load(std::memory_order_relaxed);
    // A savefile has no "batch the kernel holds": read batch_packets at a time so that stop
    // requests and hand-offs are seen regularly.
    dispatching_ = &ctx;
    int n = source_->dispatch(0, int(config_.batch_packets), &CaptureEngine::pcap_callback,
                              reinterpret_cast<u_char*>(&ctx));
    // A savefile read broken off after some packets keeps libpcap's break flag, and the next
    // read only clears it: read again when that is all this one did.
    if (n == PCAP_ERROR_BREAK && !out_of_time() && !count_reached() && !stop_requested_.load())
      n = source_->dispatch(0, int(config_.batch_packets), &CaptureEngine::pcap_callback,
                            reinterpret_cast<u_char*>(&ctx));
    dispatching_ = nullptr;
    bump(counters_.dispatch_calls);
    if (n < 0 && n != PCAP_ERROR_BREAK) {
      hand_over(true);
      finish(StopReason::kFailed,
             Error{ErrorCode::kIo,
                   fmt::format("reading '{}' failed: {}", config_.read_file, source_->error(0))});
      return false;
    }
    if (n > 0) {
      dispatch_packets_hist_.record(std::uint64_t(n));
      dispatch_bytes_hist_.record(counters_.bytes.load(std::memory_order_relaxed) - bytes_before);
      hand_over(false);
      if (!count_reached() && !stop_requested_.load()) return !capture_done_.load();
      reason = count_reached() ? StopReason::kCountReached : StopReason::kRequested;
    } else if (n == PCAP_ERROR_BREAK) {
      // Neither -c nor a stop: poll's bound broke a read off (a savefile keeps the flag until
      // the next read when the broken one had packets), and the rest of the file waits.
      if (!count_reached() && !stop_requested_.load()) return !capture_done_.load();
      reason = stop_requested_ ? StopReason::kRequested : StopReason::kCountReached;
    }
    // n == 0: end of file.
  } else {
    reason = StopReason::kRequested;
  }
  if (out_of_time() && current_ && !current_->empty()) return true;  // the next call ends it
  hand_over(true);
  finish(reason);
  return false;
}

void CaptureEngine::refresh_stats() noexcept {
  // Every request made before this read is served by it.
  const std::uint64_t requested = stats_requested_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < source_->size(); ++i) {
    if (!source_->refresh_stats(i)) continue;
    const auto& s = source_->stats(i);
    iface_stats_[i][0].store(s.received, std::memory_order_relaxed);
    iface_stats_[i][1].store(s.kernel_dropped, std::memory_order_relaxed);
    iface_stats_[i][2].store(s.interface_dropped, std::memory_order_relaxed);
  }
  counters_.cpu_ns.store(platform::thread_cpu_ns(), std::memory_order_relaxed);
  stats_served_.store(requested, std::memory_order_release);
}

CaptureStats CaptureEngine::stats_now(std::chrono::milliseconds wait) {
  // A file has no kernel counters; once capture is done, finish() has made the last read.
  if (!waiter_ || capture_done_.load() || !config_.read_file.empty()) return stats();
  return handoff_->stats_now(wait);
}

void CaptureEngine::end_live(StopReason reason) noexcept {
  // The last read of the kernel's counters comes right after the last drain, before the final
  // callback: what the kernel counts later (arriving meanwhile) is what it counted after the
  // last read, outside received (CaptureStats::unread_packets()).
  refresh_stats();
  hand_over(true);
  finish(reason, std::nullopt, false);
}

void CaptureEngine::finish(StopReason reason, std::optional<Error> error,
                           bool read_stats) noexcept {
  if (read_stats) refresh_stats();
  if (error) {
    std::lock_guard lock(failure_mutex_);
    failure_ = std::move(error);
  }
  StopReason running = StopReason::kRunning;
  stop_reason_.compare_exchange_strong(running, reason);
  capture_done_.store(true);
  handoff_->wake_consumer();
}

void CaptureEngine::record_delivery(const Batch& batch) noexcept {
  if (config_.read_file.empty()) record_latency(latency_hist_, batch);
  bump(delivered_packets_, batch.size());
  bump(delivered_batches_);
}

const Batch* CaptureEngine::next_filled(std::chrono::microseconds wait, const Error*& refused) {
  if ((refused = handoff_->refuse_next_batch())) return nullptr;
  if ((refused = enter_call())) return nullptr;
  Batch* batch = handoff_->next_filled(wait);
  if (batch && orphaned()) {  // the owner went while we waited: nobody takes it
    handoff_->release(batch);
    batch = nullptr;
  }
  if (batch)
    batches_held_.store(batches_held_.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
  leave_call();  // may free *this
  return batch;
}

void CaptureEngine::release(const Batch* batch) noexcept {
  if (!batch) return;
  batches_held_.store(batches_held_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  handoff_->release(const_cast<Batch*>(batch));  // it came from our pool
}

bool CaptureEngine::done() const { return capture_done_.load() && handoff_->drained(); }

InterfaceInfo CaptureEngine::interface_info(std::size_t index) const {
  if (index < infos_.size()) return infos_[index];
  std::lock_guard lock(added_infos_mutex_);
  if (index - infos_.size() < added_infos_.size()) return added_infos_[index - infos_.size()];
  return InterfaceInfo{};
}

std::optional<Error> CaptureEngine::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

CaptureStats CaptureEngine::stats() const {
  CaptureStats s;
  s.elapsed_ns = start_ns_ ? monotonic_ns() - start_ns_ : 0;
  s.packets_captured = counters_.packets.load(std::memory_order_relaxed);
  s.bytes_captured = counters_.bytes.load(std::memory_order_relaxed);
  s.packets_truncated = counters_.truncated.load(std::memory_order_relaxed);
  s.app_dropped_packets = counters_.app_dropped.load(std::memory_order_relaxed);
  s.packets_delivered = delivered_packets_.load(std::memory_order_relaxed);
  s.batches_delivered = delivered_batches_.load(std::memory_order_relaxed);
  s.thread_handoffs = thread_handoffs_.load(std::memory_order_relaxed);
  s.wakeups = counters_.wakeups.load(std::memory_order_relaxed);
  s.dispatch_calls = counters_.dispatch_calls.load(std::memory_order_relaxed);
  s.empty_dispatch_calls = counters_.empty_dispatch_calls.load(std::memory_order_relaxed);
  s.max_dispatch_bytes = counters_.max_dispatch_bytes.load(std::memory_order_relaxed);
  s.capture_cpu_ns = counters_.cpu_ns.load(std::memory_order_relaxed);
  s.callback_ns = counters_.callback_ns.load(std::memory_order_relaxed);
  std::uint64_t buffer_bytes = 0;
  for (std::size_t i = 0; i < source_->size(); ++i) {
    InterfaceStats is;
    is.name = infos_[i].name;
    is.received = iface_stats_[i][0].load(std::memory_order_relaxed);
    is.kernel_dropped = iface_stats_[i][1].load(std::memory_order_relaxed);
    is.interface_dropped = iface_stats_[i][2].load(std::memory_order_relaxed);
    is.buffer_bytes = iface_buffer_bytes_[i];  // a copy: --reopen replaces the handle
    const LinkWatch& l = *links_[i];
    is.up = l.up_published.load(std::memory_order_relaxed);
    is.down_events = l.down_events.load(std::memory_order_relaxed);
    is.reopens = l.reopens.load(std::memory_order_relaxed);
    is.down_ns = l.down_ns_done.load(std::memory_order_relaxed);
    {
      std::lock_guard lock(l.outages_mutex);
      is.outages = l.outages;
    }
    if (const std::int64_t since = l.down_since_published.load(std::memory_order_relaxed))
      is.down_ns += std::max<std::int64_t>(0, monotonic_ns() - since);
    buffer_bytes = std::max(buffer_bytes, is.buffer_bytes);
    s.interfaces.push_back(std::move(is));
  }
  if (buffer_bytes)
    s.max_dispatch_buffer_share = double(s.max_dispatch_bytes) / double(buffer_bytes);
  s.dispatch_packets = dispatch_packets_hist_.snapshot();
  s.dispatch_bytes = dispatch_bytes_hist_.snapshot();
  s.latency_ns = latency_hist_.snapshot();
  return s;
}

// What the application owns: the capture core behind it, and the core's one owner.
class EngineHandle final : public Engine, public WarningTexts {
 public:
  explicit EngineHandle(CaptureEngine* core) noexcept : core_(core) {}
  EngineHandle(const EngineHandle&) = delete;
  EngineHandle& operator=(const EngineHandle&) = delete;
  ~EngineHandle() override {
    if (const int held = core_->batches_held(); held > 0) {
      // Their destructors would write into freed memory: stop here, loudly, instead.
      std::fprintf(stderr,
                   "rtcap: Engine destroyed while %d BatchRef(s) still hold batches: destroy or "
                   "reset() every BatchRef before the engine\n",
                   held);
      std::abort();
    }
    // Destroyed from inside its own batch callback, the core is still on the stack: it is
    // freed when that call returns (a destructor cannot refuse, so it is made safe).
    core_->release_owner();
  }

  const std::vector<std::string>& warnings() const override { return core_->warnings(); }
  const std::vector<std::string>& warning_texts() const override { return core_->warning_texts(); }
  const std::vector<InterfaceInfo>& interfaces() const override { return core_->interfaces(); }
  std::size_t interface_count() const override { return core_->interface_count(); }
  InterfaceInfo interface_info(std::size_t i) const override { return core_->interface_info(i); }
  const CaptureConfig& config() const override { return core_->config(); }
  std::size_t pool_memory_bytes() const override { return core_->pool_memory_bytes(); }
  CaptureEngine& core() noexcept { return *core_; }
  using Engine::dispatch;
  using Engine::poll;
  Result<std::size_t> poll(std::chrono::microseconds timeout, BatchFn fn, void* ctx) override {
    return core_->poll(timeout, fn, ctx);  // `this` may be gone when it returns: touch nothing
  }
  Result<std::size_t> dispatch(BatchFn fn, void* ctx) override {
    return core_->dispatch(fn, ctx);  // as poll
  }
  Readiness readiness() const override { return core_->readiness(); }
  Result<void> start() override { return core_->start(); }
  void request_stop() noexcept override { core_->request_stop(); }
  bool done() const override { return core_->done(); }
  CaptureStats stats() const override { return core_->stats(); }
  CaptureStats stats_now(std::chrono::milliseconds wait) override { return core_->stats_now(wait); }
  StopReason stop_reason() const override { return core_->stop_reason(); }
  std::optional<Error> failure() const override { return core_->failure(); }

 protected:
  const Batch* next_filled(std::chrono::microseconds wait, const Error*& refused) override {
    return core_->next_filled(wait, refused);
  }
  void release(const Batch* batch) noexcept override { core_->release(batch); }

 private:
  CaptureEngine* const core_;
};

}  // namespace detail

Result<std::unique_ptr<Engine>> Engine::open(const CaptureConfig& config) {
  return detail::open_engine(config, detail::CaptureMode::kDispatch);
}

namespace detail {

namespace {

// The engine on its source: the waiter, where the loop waits on one, is ready before capture.
Result<std::unique_ptr<Engine>> compose(CaptureConfig config, std::unique_ptr<Source> source,
                                        std::vector<std::string> warnings) {
  const bool waits = config.read_file.empty() || config.delivery == Delivery::kInline;
  auto engine = std::make_unique<EngineHandle>(
      new CaptureEngine(std::move(config), std::move(source), std::move(warnings)));
  if (waits) {
    if (auto ok = engine->core().prepare_waiter(); !ok) return rtcap::unexpected(ok.error());
  }
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace

const std::vector<std::string>& warning_texts(const Engine& engine) {
  return dynamic_cast<const WarningTexts&>(engine).warning_texts();
}

Result<std::unique_ptr<Engine>> open_engine(const CaptureConfig& given, CaptureMode mode) {
  if (auto ok = validate(given, mode); !ok) return rtcap::unexpected(ok.error());
  const CaptureConfig config = config_table::normalised(given);
  std::vector<std::string> warnings =
      config_table::inert_settings(config, platform::capture_platform());
  // A capture file is read by the dispatch loop in either mode.
  if (mode == CaptureMode::kNaive && config.read_file.empty())
    return open_naive_engine(config, std::move(warnings));
  std::vector<backend::PcapHandle> handles;
  // Open every handle before capture starts (opening handles during heavy capture has stalled
  // Npcap: npcap issue 663).
  if (!config.read_file.empty()) {
    auto h = backend::open_file(config.read_file, config, warnings);
    if (!h) return rtcap::unexpected(h.error());
    handles.push_back(std::move(*h));
  }
  for (const auto& name : config.interfaces) {
    auto h = backend::open_live(name, config, warnings);
    if (!h) return rtcap::unexpected(h.error());
    handles.push_back(std::move(*h));
  }
  auto source = make_pcap_source(std::move(handles), config);
  return compose(config, std::move(source), std::move(warnings));
}

Result<std::unique_ptr<Engine>> open_engine(const CaptureConfig& given,
                                            std::unique_ptr<Source> source) {
  if (auto ok = validate(given, CaptureMode::kDispatch); !ok) return rtcap::unexpected(ok.error());
  if (!source || source->size() == 0)
    return make_error(ErrorCode::kMisuse, "a source with no handle to capture from");
  const CaptureConfig config = config_table::normalised(given);
  return compose(config, std::move(source),
                 config_table::inert_settings(config, platform::capture_platform()));
}

}  // namespace detail

}  // namespace rtcap
