// The dispatch capture loop and the consumer hand-off. See docs/ARCHITECTURE.md for the picture.
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "engine/engine_impl.hpp"

namespace rtcap {
namespace detail {
namespace {

Result<void> validate(const CaptureConfig& c) {
  auto bad = [](std::string m) { return make_error(ErrorCode::kBadConfig, std::move(m)); };
  if (c.interfaces.empty() && c.read_file.empty())
    return bad("nothing to capture from: give an interface (-i) or a file (-r)");
  if (!c.interfaces.empty() && !c.read_file.empty())
    return bad("-i and -r cannot be combined: capture live or read a file");
  if (c.interfaces.size() > 0xffff) return bad("too many interfaces");
  if (c.mode == CaptureMode::kNaive && c.interfaces.size() > 1)
    return bad("--mode naive reads one handle with pcap_next_ex: give one -i");
  if (c.snaplen < 1 || c.snaplen > kMaxSnaplen)
    return bad(fmt::format("snaplen {} out of range: 1..{} (-s 0 means {})", c.snaplen,
                           kMaxSnaplen, kMaxSnaplen));
  if (c.timeout_ms < 0) return bad("--timeout-ms must be >= 0");
  if (c.buffer_kib < 0) return bad("-B must be >= 0 KiB");
  if (c.batch_packets < 1 || c.batch_packets > (1u << 20))
    return bad("--batch-packets must be 1..1048576");
  if (c.pool_batches < 2 || c.pool_batches > 65536) return bad("--pool-batches must be 2..65536");
  if (c.coalesce_us < -1 || c.coalesce_us > 1000000)
    return bad("--coalesce-us must be 0..1000000 (or -1: automatic)");
  // Batched capture already wakes once per ring block: a window would only delay it.
  if (c.coalesce_us > 0 && !c.immediate_mode)
    return bad("--coalesce-us applies to --immediate-mode only (batched capture wakes once per "
               "ring block; shorten --timeout-ms instead)");
  if (c.max_packets < 0) return bad("-c must be >= 0");
  // PacketRecord::offset is 32-bit; 1 GiB per batch is far beyond any useful batch.
  if (c.batch_bytes > (std::size_t{1} << 30)) return bad("--batch-bytes must be <= 1 GiB");
  // pcap_set_buffer_size takes an int (bytes).
  if (c.buffer_kib > (1 << 21) - 1) return bad("-B must be < 2097152 KiB (2 GiB)");
  if (c.stats_interval_ms < 10) return bad("the stats interval must be >= 10 ms");
  return {};
}

}  // namespace

CaptureEngine::CaptureEngine(CaptureConfig config, std::vector<backend::PcapHandle> handles,
                             std::vector<std::string> warnings)
    : config_(std::move(config)),
      handles_(std::move(handles)),
      warnings_(std::move(warnings)),
      free_(config_.pool_batches),
      filled_(config_.pool_batches) {
  int largest_snaplen = 0;
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    infos_.push_back(handles_[i].info());
    largest_snaplen = std::max(largest_snaplen, handles_[i].info().snaplen);
    contexts_.push_back(CallbackContext{this, handles_[i].get(), static_cast<std::uint16_t>(i),
                                        handles_[i].info().precision == TimestampPrecision::kNano});
    iface_stats_.push_back(std::make_unique<std::atomic<std::uint64_t>[]>(3));
  }
  // Every batch must hold at least one whole packet of the largest snaplen.
  const std::size_t arena = std::max<std::size_t>(config_.batch_bytes, std::size_t(largest_snaplen));
  for (std::size_t i = 0; i < config_.pool_batches; ++i) {
    storage_.push_back(std::make_unique<Batch>(config_.batch_packets, arena));
    (void)free_.try_push(storage_.back().get());
  }
  pool_memory_bytes_ = config_.pool_batches * (arena + config_.batch_packets * sizeof(PacketRecord));
}

CaptureEngine::~CaptureEngine() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

Result<void> CaptureEngine::prepare_waiter() {
  std::vector<pcap_t*> raw;
  for (auto& h : handles_) raw.push_back(h.get());
  auto waiter = backend::ReadinessWaiter::create(raw);
  if (!waiter) return rtcap::unexpected(waiter.error());
  waiter_ = std::move(*waiter);
  return {};
}

void CaptureEngine::start() {
  if (thread_.joinable()) return;
  start_ns_ = realtime_ns();
  thread_ = std::thread([this] {
    backend::prepare_capture_thread();
    if (!config_.read_file.empty()) run_file();
    else if (config_.mode == CaptureMode::kNaive) run_naive();
    else run_dispatch();
  });
}

void CaptureEngine::request_stop() noexcept {
  stop_requested_.store(true);
  if (waiter_) waiter_->wake();
  // Interrupts a blocking pcap_next_ex (naive mode). Dispatch mode wakes through the waiter and
  // must not set the break flag: its final pcap_dispatch drains what libpcap already holds.
  if (config_.mode == CaptureMode::kNaive)
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
    publish_current(true);
    if (!acquire_batch()) {
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
}

bool CaptureEngine::acquire_batch() noexcept {
  if (free_.try_pop(current_)) return true;
  current_ = nullptr;
  if (config_.overflow == OverflowPolicy::kDrop && config_.read_file.empty()) return false;
  // Block: the consumer is behind; wait for it (the kernel ring absorbs the delay meanwhile).
  // After a stop, keep waiting while the consumer drains, but not forever: an embedding
  // application may stop calling next_batch and destroy the engine.
  const auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!stop_requested_.load(std::memory_order_relaxed) ||
         (draining_ && std::chrono::steady_clock::now() < drain_deadline)) {
    // 10 ms: only bounds how late a stop request is seen; a released batch rings the bell.
    producer_bell_.wait_for(
        [this] { return !free_.empty() || (stop_requested_.load() && !draining_); },
        std::chrono::milliseconds(10));
    if (free_.try_pop(current_)) return true;
  }
  return false;
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
    dispatch_bytes_ = 0;
    const int n = pcap_dispatch(ctx.pcap, -1, &CaptureEngine::pcap_callback,
                                reinterpret_cast<u_char*>(&ctx));
    bump(counters_.dispatch_calls);
    if (n > 0) {
      dispatch_packets_hist_.record(std::uint64_t(n));
      dispatch_bytes_hist_.record(dispatch_bytes_);
      if (dispatch_bytes_ > counters_.max_dispatch_bytes.load(std::memory_order_relaxed))
        counters_.max_dispatch_bytes.store(dispatch_bytes_, std::memory_order_relaxed);
    } else if (n == 0) {
      bump(counters_.empty_dispatch_calls);
    } else if (n != PCAP_ERROR_BREAK) {
      // For example the interface was deleted or went down (ENETDOWN / ENODEV on Linux). The
      // other handles are still drained; the first failure is the one reported.
      std::lock_guard lock(failure_mutex_);
      if (!failure_)
        failure_ = Error{ErrorCode::kCaptureFailed,
                         fmt::format("capture on '{}' stopped: {} (check that the interface "
                                     "still exists and is up)",
                                     handles_[ctx.interface_index].info().name,
                                     pcap_geterr(ctx.pcap))};
      ok = false;
    }
  }
  return ok;
}

void CaptureEngine::drain_after_stop() noexcept {
  draining_ = true;
  (void)dispatch_all();
  // TPACKET_V3 hands over a block only when it retires: wait one retire period so that the
  // block the kernel was filling at the stop is delivered too (measured retire delay: see
  // host_v3_retire_hz in latency_budget.hpp).
  if (!config_.immediate_mode && config_.timeout_ms > 0 && !count_reached()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(config_.timeout_ms + 1));
    (void)dispatch_all();
  }
  publish_current(true);
}

void CaptureEngine::run_dispatch() {
  using std::chrono::microseconds;
  const std::int64_t interval_ns = std::int64_t(config_.stats_interval_ms) * 1000000;
  std::int64_t next_stats_ns = realtime_ns() + interval_ns;
  // Coalescing (immediate mode, --coalesce-us W): once traffic flows, stop waiting on the fd,
  // which wakes us per packet, and drain every W instead, until a drain finds nothing. One timer
  // wake-up per W carries W x rate packets; idle, we block on the fd again (as NAPI does).
  const auto window = microseconds(effective_coalesce_us(config_));
  bool polling = false;
  while (!stop_requested_.load(std::memory_order_relaxed)) {
    if (polling) {
      std::this_thread::sleep_for(window);
    } else {
      // Sleep until the kernel says a handle is ready, the consumer wants a held batch, or the
      // next statistics read is due.
      const auto wait =
          microseconds(std::max<std::int64_t>(0, next_stats_ns - realtime_ns()) / 1000);
      if (waiter_->wait(wait) == backend::WaitResult::kReady && window.count() > 0)
        std::this_thread::sleep_for(window);
    }
    bump(counters_.wakeups);
    const std::uint64_t before = counters_.packets.load(std::memory_order_relaxed);
    if (!dispatch_all()) {
      publish_current(true);
      finish(StopReason::kFailed);
      return;
    }
    if (count_reached()) {
      publish_current(true);
      finish(StopReason::kCountReached);
      return;
    }
    polling = window.count() > 0 && counters_.packets.load(std::memory_order_relaxed) > before;
    publish_current(false);
    if (realtime_ns() >= next_stats_ns) {
      refresh_stats();
      next_stats_ns += interval_ns;
    }
  }
  // Stop requested: take what the kernel already captured, then hand everything over.
  drain_after_stop();
  finish(StopReason::kRequested);
}

void CaptureEngine::run_file() {
  auto& ctx = contexts_.front();
  StopReason reason = StopReason::kEndOfFile;
  while (!stop_requested_.load(std::memory_order_relaxed)) {
    dispatch_bytes_ = 0;
    // A savefile has no "batch the kernel holds": read batch_packets at a time so that stop
    // requests and hand-offs are seen regularly.
    const int n = pcap_dispatch(ctx.pcap, int(config_.batch_packets), &CaptureEngine::pcap_callback,
                                reinterpret_cast<u_char*>(&ctx));
    bump(counters_.dispatch_calls);
    if (n == 0) break;  // end of file
    if (n == PCAP_ERROR_BREAK) {
      reason = stop_requested_ ? StopReason::kRequested : StopReason::kCountReached;
      break;
    }
    if (n < 0) {
      publish_current(true);
      finish(StopReason::kFailed, Error{ErrorCode::kIo, fmt::format("reading '{}' failed: {}",
                                                                     config_.read_file,
                                                                     pcap_geterr(ctx.pcap))});
      return;
    }
    dispatch_packets_hist_.record(std::uint64_t(n));
    dispatch_bytes_hist_.record(dispatch_bytes_);
    publish_current(false);
    if (count_reached()) {
      reason = StopReason::kCountReached;
      break;
    }
  }
  if (stop_requested_ && reason == StopReason::kEndOfFile) reason = StopReason::kRequested;
  publish_current(true);
  finish(reason);
}

void CaptureEngine::refresh_stats() noexcept {
  for (std::size_t i = 0; i < handles_.size(); ++i) {
    if (!handles_[i].refresh_stats()) continue;
    const auto& s = handles_[i].stats();
    iface_stats_[i][0].store(s.received, std::memory_order_relaxed);
    iface_stats_[i][1].store(s.kernel_dropped, std::memory_order_relaxed);
    iface_stats_[i][2].store(s.interface_dropped, std::memory_order_relaxed);
  }
  counters_.cpu_ns.store(backend::thread_cpu_ns(), std::memory_order_relaxed);
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
    const std::int64_t now = realtime_ns();
    for (const PacketRecord& r : batch.records())
      latency_hist_.record(std::uint64_t(std::max<std::int64_t>(0, now - r.ts_ns)));
  }
  bump(delivered_packets_, batch.size());
  bump(delivered_batches_);
}

const Batch* CaptureEngine::next_batch(std::chrono::microseconds wait) {
  if (config_.mode == CaptureMode::kNaive && config_.read_file.empty())
    return next_naive_batch(wait);
  Batch* batch = nullptr;
  if (!filled_.try_pop(batch)) {
    // Running dry while the capture thread holds a batch back for us: ask for it.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (holding_.load(std::memory_order_seq_cst) && waiter_) waiter_->wake();
    consumer_bell_.wait_for([this] { return !filled_.empty() || capture_done_.load(); }, wait);
    if (!filled_.try_pop(batch)) return nullptr;
  }
  record_delivery(*batch);
  return batch;
}

void CaptureEngine::release(const Batch* batch) {
  if (!batch) return;
  auto* b = const_cast<Batch*>(batch);  // it came from our pool
  b->clear();
  (void)free_.try_push(b);  // cannot fail: free_ holds the whole pool
  producer_bell_.ring();
}

bool CaptureEngine::done() const {
  if (!capture_done_.load()) return false;
  if (config_.mode == CaptureMode::kNaive && config_.read_file.empty()) {
    std::lock_guard lock(const_cast<std::mutex&>(naive_mutex_));
    return naive_lists_.empty();
  }
  return filled_.empty();
}

std::optional<Error> CaptureEngine::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

CaptureStats CaptureEngine::stats() const {
  CaptureStats s;
  s.elapsed_ns = start_ns_ ? realtime_ns() - start_ns_ : 0;
  s.packets_captured = counters_.packets.load(std::memory_order_relaxed);
  s.bytes_captured = counters_.bytes.load(std::memory_order_relaxed);
  s.packets_truncated = counters_.truncated.load(std::memory_order_relaxed);
  s.app_dropped_packets = counters_.app_dropped.load(std::memory_order_relaxed);
  s.packets_delivered = delivered_packets_.load(std::memory_order_relaxed);
  s.batches_delivered = delivered_batches_.load(std::memory_order_relaxed);
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
    is.buffer_bytes = handles_[i].buffer_bytes();
    buffer_bytes = std::max(buffer_bytes, is.buffer_bytes);
    s.interfaces.push_back(std::move(is));
  }
  if (buffer_bytes) s.max_dispatch_buffer_share = double(s.max_dispatch_bytes) / double(buffer_bytes);
  s.dispatch_packets = dispatch_packets_hist_.snapshot();
  s.dispatch_bytes = dispatch_bytes_hist_.snapshot();
  s.latency_ns = latency_hist_.snapshot();
  return s;
}

}  // namespace detail

Result<std::unique_ptr<Engine>> Engine::open(const CaptureConfig& config) {
  if (auto ok = detail::validate(config); !ok) return rtcap::unexpected(ok.error());
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
    auto h = backend::open_live(name, config, warnings);
    if (!h) return rtcap::unexpected(h.error());
    handles.push_back(std::move(*h));
  }
  auto engine = std::make_unique<detail::CaptureEngine>(config, std::move(handles),
                                                        std::move(warnings));
  if (config.read_file.empty() && config.mode == CaptureMode::kDispatch) {
    if (auto ok = engine->prepare_waiter(); !ok) return rtcap::unexpected(ok.error());
  }
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace rtcap
