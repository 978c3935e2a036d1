// The dispatch capture loop and the consumer hand-off. See docs/ARCHITECTURE.md for the picture.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "platform/link.hpp"
#include "engine/engine_impl.hpp"

namespace rtcap {
namespace detail {
namespace {

Result<void> validate(const CaptureConfig& c, CaptureMode mode) {
  auto bad = [](std::string m) { return make_error(ErrorCode::kBadConfig, std::move(m)); };
  if (c.interfaces.empty() && c.read_file.empty())
    return bad("nothing to capture from: give an interface (-i) or a file (-r)");
  if (!c.interfaces.empty() && !c.read_file.empty())
    return bad("-i and -r cannot be combined: capture live or read a file");
  if (c.interfaces.size() > 0xffff) return bad("too many interfaces");
  if (mode == CaptureMode::kNaive && c.interfaces.size() > 1)
    return bad("the naive baseline reads one handle with pcap_next_ex: give one interface");
  if (mode == CaptureMode::kNaive && c.delivery == Delivery::kInline && c.read_file.empty())
    return bad(
        "the naive baseline hands lists to another thread by design: set "
        "CaptureConfig::delivery = Delivery::kThreaded");
  if (c.snaplen < 1 || c.snaplen > kMaxSnaplen)
    return bad(fmt::format("snaplen {} out of range: 1..{} (-s 0 means {})", c.snaplen, kMaxSnaplen,
                           kMaxSnaplen));
  if (c.timeout_ms < 0) return bad("CaptureConfig::timeout_ms must be >= 0");
  if (c.buffer_kib < 0) return bad("CaptureConfig::buffer_kib must be >= 0");
  if (c.batch_packets < 1 || c.batch_packets > (1u << 20))
    return bad("CaptureConfig::batch_packets must be 1..1048576");
  if (c.pool_batches < 2 || c.pool_batches > 65536)
    return bad("CaptureConfig::pool_batches must be 2..65536");
  if (c.coalesce_us < -1 || c.coalesce_us > 1000000)
    return bad("CaptureConfig::coalesce_us must be 0..1000000 (or -1: automatic)");
  // Batched capture already wakes once per ring block: a window would only delay it.
  if (c.coalesce_us > 0 && !c.immediate_mode)
    return bad(
        "CaptureConfig::coalesce_us applies to immediate_mode only (batched capture wakes "
        "once per ring block; shorten timeout_ms instead)");
  if (c.max_packets < 0) return bad("CaptureConfig::max_packets must be >= 0");
  // PacketRecord::offset is 32-bit; 1 GiB per batch is far beyond any useful batch.
  if (c.batch_bytes > (std::size_t{1} << 30))
    return bad("CaptureConfig::batch_bytes must be <= 1 GiB");
  // pcap_set_buffer_size takes an int (bytes).
  if (c.buffer_kib > (1 << 21) - 1)
    return bad("CaptureConfig::buffer_kib must be < 2097152 (2 GiB)");
  if (c.stats_interval_ms < 10) return bad("CaptureConfig::stats_interval_ms must be >= 10");
  return {};
}

}  // namespace

CaptureEngine::CaptureEngine(CaptureConfig config, CaptureMode mode,
                             std::vector<backend::PcapHandle> handles,
                             std::vector<std::string> warnings)
    : config_(std::move(config)),
      mode_(mode),
      coalesce_us_(effective_coalesce_us(config_)),
      handles_(std::move(handles)),
      warnings_(std::move(warnings)),
      free_(config_.pool_batches),
      filled_(config_.pool_batches) {
  int largest_snaplen = 0;
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    infos_.push_back(handles_[i].info());
    largest_snaplen = std::max(largest_snaplen, handles_[i].info().snaplen);
    contexts_.push_back(CallbackContext{this, handles_[i].get(), static_cast<std::uint16_t>(i),
                                        handles_[i].info().precision == TimestampPrecision::kNano,
                                        static_cast<std::uint16_t>(i)});
    indices_of_handle_.push_back({static_cast<std::uint16_t>(i)});
    iface_stats_.push_back(std::make_unique<std::atomic<std::uint64_t>[]>(3));
    links_.push_back(std::make_unique<LinkWatch>());
    iface_buffer_bytes_.push_back(handles_[i].buffer_bytes());
    if (!handles_[i].is_file()) {
      links_.back()->index = backend::link_state(infos_[i].name, config_.netns).index;
      links_.back()->last_up_look_rt_ns = realtime_ns();  // opened: it was up
    }
  }
  interface_count_.store(infos_.size(), std::memory_order_release);
  // Every batch must hold at least one whole packet of the largest snaplen.
  const std::size_t arena =
      std::max<std::size_t>(config_.batch_bytes, std::size_t(largest_snaplen));
  // Inline: one batch, filled and delivered on the caller's thread, then reused.
  const std::size_t batches = is_inline() ? 1 : config_.pool_batches;
  for (std::size_t i = 0; i < batches; ++i) {
    storage_.push_back(std::make_unique<Batch>(config_.batch_packets, arena));
    (void)free_.try_push(storage_.back().get());
  }
  if (is_inline()) (void)free_.try_pop(current_);
  pool_memory_bytes_ = batches * (arena + config_.batch_packets * sizeof(PacketRecord));
}

CaptureEngine::~CaptureEngine() {
  request_stop();
  if (thread_.joinable()) thread_.join();
  if (const int held = batches_held_.load(); held > 0) {
    // Their destructors would write into freed memory: stop here, loudly, instead.
    std::fprintf(stderr,
                 "rtcap: Engine destroyed while %d BatchRef(s) still hold batches: destroy or "
                 "reset() every BatchRef before the engine\n",
                 held);
    std::abort();
  }
}

Result<void> CaptureEngine::prepare_waiter() {
  // A capture file has nothing to wait for (and epoll refuses regular files): only the wake-up.
  std::vector<pcap_t*> raw;
  if (config_.read_file.empty())
    for (auto& h : handles_) raw.push_back(h.get());
  auto waiter = backend::ReadinessWaiter::create(raw);
  if (!waiter) return rtcap::unexpected(waiter.error());
  waiter_ = std::move(*waiter);
  waiter_raw_.store(waiter_.get(), std::memory_order_release);
  return {};
}

Result<void> CaptureEngine::start() {
  if (is_inline())
    return make_error(ErrorCode::kMisuse,
                      "start() is for threaded delivery: this engine is inline (call poll() or "
                      "dispatch() on your thread, or set CaptureConfig::delivery = "
                      "Delivery::kThreaded)");
  if (started_.exchange(true))
    return make_error(ErrorCode::kMisuse, "start() called twice: the capture thread already runs");
  // Scheduling and elapsed time run on the monotonic clock: a wall-clock step (NTP, an operator)
  // must neither freeze the statistics reads nor fire them all at once. Packet timestamps and
  // the delivery latency stay CLOCK_REALTIME.
  start_ns_ = monotonic_ns();
  next_stats_ns_ = start_ns_ + std::int64_t(config_.stats_interval_ms) * 1000000;
  thread_ = std::thread([this] {
    backend::prepare_capture_thread();
    if (!config_.read_file.empty()) {
      while (file_step()) {
      }
    } else if (mode_ == CaptureMode::kNaive) {
      run_naive();
    } else {
      while (capture_step(std::chrono::hours(1), true)) {
      }
    }
  });
  return {};
}

void CaptureEngine::misuse(std::string message) noexcept {
  {
    std::lock_guard lock(failure_mutex_);
    if (!failure_) failure_ = Error{ErrorCode::kMisuse, std::move(message)};
  }
  StopReason running = StopReason::kRunning;
  stop_reason_.compare_exchange_strong(running, StopReason::kFailed);
  request_stop();
  // Nothing else will finish an engine whose thread never started (inline, or threaded misused
  // before start()).
  if (!started_.load() || is_inline()) capture_done_.store(true);
  consumer_bell_.ring();
}

std::size_t CaptureEngine::poll(std::chrono::microseconds timeout, BatchFn on_batch,
                                void* context) {
  return run_inline(timeout, true, on_batch, context);
}

std::size_t CaptureEngine::dispatch(BatchFn on_batch, void* context) {
  return run_inline(std::chrono::microseconds(0), false, on_batch, context);
}

std::size_t CaptureEngine::run_inline(std::chrono::microseconds timeout, bool wait, BatchFn fn,
                                      void* ctx) noexcept {
  if (!is_inline()) {
    misuse(
        "poll() and dispatch() are for inline delivery: this engine is threaded (use start() "
        "and next_batch(), or set CaptureConfig::delivery = Delivery::kInline)");
    return 0;
  }
  if (in_inline_call_) {
    misuse("poll() or dispatch() called from inside its own batch callback");
    return 0;
  }
  if (!fn) {
    misuse("poll() or dispatch() without a batch callback");
    return 0;
  }
  if (capture_done_.load()) return 0;
  if (!inline_started_) {
    inline_started_ = true;
    started_.store(true);
    backend::prepare_capture_thread();  // timer slack of the caller's thread (Linux), see there
    start_ns_ = monotonic_ns();         // monotonic, as in start()
    next_stats_ns_ = start_ns_ + std::int64_t(config_.stats_interval_ms) * 1000000;
  }
  in_inline_call_ = true;
  inline_fn_ = fn;
  inline_ctx_ = ctx;
  inline_delivered_ = 0;
  if (!config_.read_file.empty()) {
    if (!wait) waiter_->clear_wake();
    (void)file_step();
  } else {
    (void)capture_step(std::max(timeout, std::chrono::microseconds(0)), wait);
  }
  inline_fn_ = nullptr;
  inline_ctx_ = nullptr;
  in_inline_call_ = false;
  return inline_delivered_;
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
  if (polling_) {
    // Coalescing: the capture fds would wake per packet; drain every window instead.
    r.handles.erase(r.handles.begin(), r.handles.end() - 1);
    at_most(coalesce_us_);
  }
  if (stop_requested_.load() && !capture_done_.load()) at_most(0);
  r.max_wait_us = limit;
  return r;
}

void CaptureEngine::request_stop() noexcept {
  stop_requested_.store(true);
  wake_waiter();
  // Interrupts a blocking pcap_next_ex (naive mode). Dispatch mode wakes through the waiter and
  // must not set the break flag: its final pcap_dispatch drains what libpcap already holds.
  if (mode_ == CaptureMode::kNaive)
    for (auto& c : contexts_) pcap_breakloop(c.pcap);
  producer_bell_.ring();
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
      for (auto& c : contexts_) pcap_breakloop(c.pcap);
      break_requested_ = true;
    }
    return;
  }
  const std::int64_t ts_ns = pcap_ts_ns(*header, ctx.nano);
  if (!current_ && !acquire_batch()) {
    bump(counters_.app_dropped);
    return;
  }
  if (!current_->try_append(ts_ns, ctx.interface_index, bytes, header->caplen, header->len)) {
    hand_over(true);  // inline: the callback runs now, from inside pcap_dispatch
    if (!current_ && !acquire_batch()) {
      bump(counters_.app_dropped);
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
  dispatch_bytes_ += header->caplen;
  dispatch_last_ts_ns_ = ts_ns;
}

bool CaptureEngine::acquire_batch() noexcept {
  if (free_.try_pop(current_)) return true;
  current_ = nullptr;
  if (config_.overflow == OverflowPolicy::kDrop && config_.read_file.empty()) return false;
  // Block: the consumer is behind; wait for it (the kernel ring absorbs the delay meanwhile).
  // After a stop, keep waiting while the consumer drains, but not past the drain deadline: an
  // embedding application may stop calling next_batch and destroy the engine, and a stop must
  // end in bounded time.
  while (!stop_requested_.load(std::memory_order_relaxed) ||
         (draining_ && std::chrono::steady_clock::now() < drain_deadline_)) {
    // 10 ms: only bounds how late a stop request is seen; a released batch rings the bell.
    producer_bell_.wait_for(
        [this] { return !free_.empty() || (stop_requested_.load() && !draining_); },
        std::chrono::milliseconds(10));
    if (free_.try_pop(current_)) return true;
  }
  return false;
}

bool CaptureEngine::hand_over(bool force) noexcept {
  if (!is_inline()) return publish_current(force);
  deliver_inline();
  return true;
}

void CaptureEngine::deliver_inline() noexcept {
  if (!current_ || current_->empty()) return;
  // After a callback threw (misuse stopped the engine, capture_done_ set), nothing more goes to
  // it; every normal end delivers its last batch before finish() sets capture_done_.
  if (capture_done_.load(std::memory_order_relaxed)) {
    current_->clear();
    return;
  }
  record_delivery(*current_);
  inline_delivered_ += current_->size();
  if (inline_fn_) {
    // An exception must not unwind through pcap_dispatch (C code): stop, and say why.
    try {
      inline_fn_(inline_ctx_, *current_);
    } catch (const std::exception& e) {
      misuse(fmt::format("the batch callback threw: {}", e.what()));
    } catch (...) {
      misuse("the batch callback threw an exception");
    }
  }
  current_->clear();
}

bool CaptureEngine::publish_current(bool force) noexcept {
  if (!current_ || current_->empty()) return false;
  // While the consumer still has a batch waiting, keep filling this one: fewer, fuller batches
  // when the consumer is slow, and no added delay when it keeps up. holding_ and the consumer's
  // check in next_batch form a Dekker pair (seq_cst store, fence, load on both sides): either we
  // see the ring empty, or the consumer sees holding_ and wakes us, so a held batch never waits
  // for the next kernel wake-up.
  if (!force) {
    holding_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!filled_.empty()) return false;
  }
  holding_.store(false, std::memory_order_relaxed);
  (void)filled_.try_push(current_);  // cannot fail: filled_ holds the whole pool
  current_ = nullptr;
  consumer_bell_.ring();
  return true;
}

bool CaptureEngine::dispatch_all() noexcept {
  bool ok = true;
  for (auto& ctx : contexts_) {
    if (count_reached()) break;
    if (!ctx.pcap) continue;  // --reopen: closed until its interface is back
    dispatch_bytes_ = 0;
    const int n =
        pcap_dispatch(ctx.pcap, -1, &CaptureEngine::pcap_callback, reinterpret_cast<u_char*>(&ctx));
    bump(counters_.dispatch_calls);
    if (n > 0) {
      // A packet captured on the interface bounds an outage (link_watch.cpp).
      LinkWatch& link = *links_[ctx.handle];
      link.last_packet_ts_ns = dispatch_last_ts_ns_;
      if (!link.up) [[unlikely]]
        packets_while_down(ctx.handle, dispatch_last_ts_ns_);
      dispatch_packets_hist_.record(std::uint64_t(n));
      dispatch_bytes_hist_.record(dispatch_bytes_);
      if (dispatch_bytes_ > counters_.max_dispatch_bytes.load(std::memory_order_relaxed))
        counters_.max_dispatch_bytes.store(dispatch_bytes_, std::memory_order_relaxed);
    } else if (n == 0) {
      bump(counters_.empty_dispatch_calls);
    } else if (n != PCAP_ERROR_BREAK) {
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
                                     handles_[ctx.handle].info().name, pcap_geterr(ctx.pcap))};
      ok = false;
    }
  }
  return ok;
}

void CaptureEngine::drain_after_stop() noexcept {
  // The whole drain (the block policy's waits for the consumer and the retire wait below) ends
  // within kDrainAfterStop of the stop, so that a stop ends in bounded time whatever
  // --timeout-ms says (issue 13: --timeout-ms 10000 exited 10 s after SIGTERM, 2147483647 never).
  drain_deadline_ = std::chrono::steady_clock::now() + kDrainAfterStop;
  draining_ = true;
  (void)dispatch_all();
  // TPACKET_V3 hands over a block only when it retires: wait one retire period so that the
  // block the kernel was filling at the stop is delivered too (measured retire delay: see
  // host_v3_retire_hz in latency_budget.hpp). A longer timeout than the drain allows leaves the
  // packets of that block in the kernel: counted as received, not captured.
  if (!config_.immediate_mode && config_.timeout_ms > 0 && !count_reached()) {
    const auto retire = std::chrono::milliseconds(std::int64_t(config_.timeout_ms) + 1);
    std::this_thread::sleep_until(
        std::min(std::chrono::steady_clock::now() + retire, drain_deadline_));
    (void)dispatch_all();
  }
  hand_over(true);
}

bool CaptureEngine::capture_step(std::chrono::microseconds max_wait, bool wait) noexcept {
  using std::chrono::microseconds;
  if (capture_done_.load()) return false;
  const std::int64_t interval_ns = std::int64_t(config_.stats_interval_ms) * 1000000;
  // Coalescing (immediate mode, --coalesce-us W): once traffic flows, stop waiting on the fd,
  // which wakes us per packet, and drain every W instead, until a drain finds nothing. One timer
  // wake-up per W carries W x rate packets; idle, we block on the fd again (as NAPI does).
  const auto window = microseconds(coalesce_us_);
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
      if (waiter_->wait(std::min(until_stats, max_wait)) == backend::WaitResult::kReady &&
          window.count() > 0)
        std::this_thread::sleep_for(window);
    }
    bump(counters_.wakeups);
  }
  if (stop_requested_.load(std::memory_order_relaxed)) {
    // Stop requested: take what the kernel already captured, then hand everything over.
    drain_after_stop();
    finish(StopReason::kRequested);
    return false;
  }
  const std::uint64_t before = counters_.packets.load(std::memory_order_relaxed);
  if (!dispatch_all()) {
    hand_over(true);
    finish(StopReason::kFailed);
    return false;
  }
  if (count_reached()) {
    hand_over(true);
    finish(StopReason::kCountReached);
    return false;
  }
  polling_ = window.count() > 0 && counters_.packets.load(std::memory_order_relaxed) > before;
  hand_over(false);
  if (const std::int64_t now_ns = monotonic_ns(); now_ns >= next_stats_ns_) {
    if (!watch_links()) {  // --reopen could not go on (link_watch.cpp)
      hand_over(true);
      finish(StopReason::kFailed);
      return false;
    }
    refresh_stats();
    next_stats_ns_ += interval_ns;
    // Late by more than an interval (a long stall): the next read is an interval from now.
    if (next_stats_ns_ <= now_ns) next_stats_ns_ = now_ns + interval_ns;
  } else if (stats_wanted()) {
    refresh_stats();  // stats_now()
  }
  return !capture_done_.load();  // a misused inline callback may have stopped the engine
}

bool CaptureEngine::file_step() noexcept {
  if (capture_done_.load()) return false;
  auto& ctx = contexts_.front();
  StopReason reason = StopReason::kEndOfFile;
  if (!stop_requested_.load(std::memory_order_relaxed)) {
    dispatch_bytes_ = 0;
    // A savefile has no "batch the kernel holds": read batch_packets at a time so that stop
    // requests and hand-offs are seen regularly.
    const int n = pcap_dispatch(ctx.pcap, int(config_.batch_packets), &CaptureEngine::pcap_callback,
                                reinterpret_cast<u_char*>(&ctx));
    bump(counters_.dispatch_calls);
    if (n < 0 && n != PCAP_ERROR_BREAK) {
      hand_over(true);
      finish(StopReason::kFailed,
             Error{ErrorCode::kIo, fmt::format("reading '{}' failed: {}", config_.read_file,
                                               pcap_geterr(ctx.pcap))});
      return false;
    }
    if (n > 0) {
      dispatch_packets_hist_.record(std::uint64_t(n));
      dispatch_bytes_hist_.record(dispatch_bytes_);
      hand_over(false);
      if (!count_reached() && !stop_requested_.load()) return !capture_done_.load();
      reason = count_reached() ? StopReason::kCountReached : StopReason::kRequested;
    } else if (n == PCAP_ERROR_BREAK) {
      reason = stop_requested_ ? StopReason::kRequested : StopReason::kCountReached;
    }
    // n == 0: end of file.
  } else {
    reason = StopReason::kRequested;
  }
  hand_over(true);
  finish(reason);
  return false;
}

void CaptureEngine::refresh_stats() noexcept {
  // Every request made before this read is served by it.
  const std::uint64_t requested = stats_requested_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    if (!handles_[i].refresh_stats()) continue;
    const auto& s = handles_[i].stats();
    iface_stats_[i][0].store(s.received, std::memory_order_relaxed);
    iface_stats_[i][1].store(s.kernel_dropped, std::memory_order_relaxed);
    iface_stats_[i][2].store(s.interface_dropped, std::memory_order_relaxed);
  }
  counters_.cpu_ns.store(backend::thread_cpu_ns(), std::memory_order_relaxed);
  stats_served_.store(requested, std::memory_order_release);
}

CaptureStats CaptureEngine::stats_now(std::chrono::milliseconds wait) {
  // Only the dispatch loop serves requests (the naive loop blocks in pcap_next_ex, a file has
  // no kernel counters); once capture is done, finish() has made the last read.
  if (!waiter_ || capture_done_.load() || !config_.read_file.empty() ||
      mode_ == CaptureMode::kNaive)
    return stats();
  if (is_inline()) {
    // The caller is the capture thread (see engine.hpp): read them now, ourselves.
    if (started_.load()) refresh_stats();
    return stats();
  }
  if (!thread_.joinable()) return stats();
  const std::uint64_t ticket = stats_requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
  wake_waiter();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  // 200 us steps: a wake-up and one pcap_stats take tens of microseconds here (docs/TUNING.md);
  // this runs once per status line, not per packet.
  while (stats_served_.load(std::memory_order_acquire) < ticket && !capture_done_.load() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  return stats();
}

void CaptureEngine::finish(StopReason reason, std::optional<Error> error) noexcept {
  refresh_stats();
  if (error) {
    std::lock_guard lock(failure_mutex_);
    failure_ = std::move(error);
  }
  StopReason running = StopReason::kRunning;
  stop_reason_.compare_exchange_strong(running, reason);
  capture_done_.store(true);
  consumer_bell_.ring();
  std::lock_guard lock(naive_mutex_);  // a naive consumer waits on the condition variable
  naive_cv_.notify_all();
}

void CaptureEngine::record_delivery(const Batch& batch) noexcept {
  if (config_.read_file.empty()) {
    // Every packet's delay is recorded (one clock read per batch: the batch is delivered at
    // one moment). record_n stores the totals once per batch; recording packet by packet
    // through the exported bucket function was 25 of 263 rtcap samples in a perf profile at
    // 100,000 packets/s (Dec 2026).
    const std::int64_t now = realtime_ns();
    const PacketRecord* records = batch.records().data();
    latency_hist_.record_n(batch.size(), [&](std::size_t i) {
      return std::uint64_t(std::max<std::int64_t>(0, now - records[i].ts_ns));
    });
  }
  bump(delivered_packets_, batch.size());
  bump(delivered_batches_);
}

const Batch* CaptureEngine::next_filled(std::chrono::microseconds wait) {
  if (is_inline()) {
    misuse(
        "next_batch() is for threaded delivery: this engine is inline (call poll() or "
        "dispatch(), or set CaptureConfig::delivery = Delivery::kThreaded)");
    return nullptr;
  }
  if (!started_.load()) {
    misuse("next_batch() before start()");
    return nullptr;
  }
  const Batch* got = nullptr;
  if (mode_ == CaptureMode::kNaive && config_.read_file.empty()) {
    got = next_naive_batch(wait);
  } else {
    Batch* batch = nullptr;
    if (!filled_.try_pop(batch)) {
      // Running dry while the capture thread holds a batch back for us: ask for it.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (holding_.load(std::memory_order_seq_cst)) wake_waiter();
      consumer_bell_.wait_for([this] { return !filled_.empty() || capture_done_.load(); }, wait);
      (void)filled_.try_pop(batch);
    }
    if (batch) record_delivery(*batch);
    got = batch;
  }
  if (got)
    batches_held_.store(batches_held_.load(std::memory_order_relaxed) + 1,
                        std::memory_order_relaxed);
  return got;
}

void CaptureEngine::release(const Batch* batch) noexcept {
  if (!batch) return;
  batches_held_.store(batches_held_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  auto* b = const_cast<Batch*>(batch);  // it came from our pool
  b->clear();
  (void)free_.try_push(b);  // cannot fail: free_ holds the whole pool
  producer_bell_.ring();
}

bool CaptureEngine::done() const {
  if (!capture_done_.load()) return false;
  if (is_inline()) return true;  // inline delivers before poll()/dispatch() returns
  if (mode_ == CaptureMode::kNaive && config_.read_file.empty()) {
    std::lock_guard lock(const_cast<std::mutex&>(naive_mutex_));
    return naive_lists_.empty();
  }
  return filled_.empty();
}

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
  s.thread_handoffs = is_inline() ? 0 : s.batches_delivered;
  s.wakeups = counters_.wakeups.load(std::memory_order_relaxed);
  s.dispatch_calls = counters_.dispatch_calls.load(std::memory_order_relaxed);
  s.empty_dispatch_calls = counters_.empty_dispatch_calls.load(std::memory_order_relaxed);
  s.max_dispatch_bytes = counters_.max_dispatch_bytes.load(std::memory_order_relaxed);
  s.capture_cpu_ns = counters_.cpu_ns.load(std::memory_order_relaxed);
  std::uint64_t buffer_bytes = 0;
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    InterfaceStats is;
    is.name = infos_[i].name;
    is.received = iface_stats_[i][0].load(std::memory_order_relaxed);
    is.kernel_dropped = iface_stats_[i][1].load(std::memory_order_relaxed);
    is.interface_dropped = iface_stats_[i][2].load(std::memory_order_relaxed);
    is.buffer_bytes = iface_buffer_bytes_[i];  // a copy: --reopen replaces handles_[i]
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

}  // namespace detail

Result<std::unique_ptr<Engine>> Engine::open(const CaptureConfig& config) {
  return detail::open_engine(config, detail::CaptureMode::kDispatch);
}

namespace detail {

Result<std::unique_ptr<Engine>> open_engine(const CaptureConfig& config, CaptureMode mode) {
  if (auto ok = validate(config, mode); !ok) return rtcap::unexpected(ok.error());
  std::vector<std::string> warnings;
  std::vector<backend::PcapHandle> handles;
  // Open every handle before capture starts (opening handles during heavy capture has stalled
  // Npcap: npcap issue 663).
  if (!config.read_file.empty()) {
    auto h = backend::open_file(config.read_file, config, warnings);
    if (!h) return rtcap::unexpected(h.error());
    handles.push_back(std::move(*h));
  }
  for (const auto& name : config.interfaces) {
    auto h = backend::open_live(name, config, warnings, mode == CaptureMode::kDispatch);
    if (!h) return rtcap::unexpected(h.error());
    handles.push_back(std::move(*h));
  }
  auto engine =
      std::make_unique<CaptureEngine>(config, mode, std::move(handles), std::move(warnings));
  if (config.read_file.empty() ? mode == CaptureMode::kDispatch
                               : config.delivery == Delivery::kInline) {
    if (auto ok = engine->prepare_waiter(); !ok) return rtcap::unexpected(ok.error());
  }
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace detail

}  // namespace rtcap
