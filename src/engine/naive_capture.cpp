// The baseline the Npcap maintainers' notes warn against, kept so that every benchmark can show
// the difference side by side: pcap_next_ex one packet at a time, a heap copy per packet, a list
// handed to another thread under a lock when it is full or a timeout passed. The hand-off queue
// is unbounded, as in the design it reproduces. An engine of its own (live capture, threaded
// delivery, one interface): `rtcap bench` and `rtcap --mode naive` open it through
// detail::open_engine; nothing of it is in the CaptureEngine an application gets.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/config_table.hpp"
#include "engine/engine_impl.hpp"

namespace rtcap::detail {
namespace {

struct NaivePacket {
  std::int64_t ts_ns;
  std::uint32_t wire_len;
  std::vector<std::uint8_t> bytes;
};
using NaiveList = std::vector<NaivePacket>;

const Error kNaiveBeforeStart{ErrorCode::kMisuse,
                              "threaded delivery: start the capture thread first"};
const Error kNaiveBusy{ErrorCode::kBusy,
                       "another call is inside poll or next_batch on this engine: one thread "
                       "consumes, and not from inside its own callback"};

class NaiveEngine final : public Engine, public WarningTexts {
 public:
  NaiveEngine(CaptureConfig config, backend::PcapHandle handle, std::vector<std::string> warnings)
      : config_(std::move(config)),
        handle_(std::move(handle)),
        infos_{handle_.info()},
        warnings_(std::move(warnings)),
        warnings_cxx_(config_table::word(warnings_, config_table::Front::kCxx)) {
    const std::size_t arena =
        std::max<std::size_t>(config_.batch_bytes, std::size_t(handle_.info().snaplen));
    for (std::size_t i = 0; i < config_.pool_batches; ++i) {
      storage_.push_back(std::make_unique<Batch>(config_.batch_packets, arena));
      free_.push_back(storage_.back().get());
    }
    pool_memory_bytes_ =
        config_.pool_batches * (arena + config_.batch_packets * sizeof(PacketRecord));
  }
  ~NaiveEngine() override {
    request_stop();
    if (thread_.joinable()) thread_.join();
  }
  NaiveEngine(const NaiveEngine&) = delete;
  NaiveEngine& operator=(const NaiveEngine&) = delete;

  const std::vector<std::string>& warnings() const override { return warnings_cxx_; }
  const std::vector<std::string>& warning_texts() const override { return warnings_; }
  const std::vector<InterfaceInfo>& interfaces() const override { return infos_; }
  std::size_t interface_count() const override { return 1; }
  InterfaceInfo interface_info(std::size_t i) const override {
    return i == 0 ? infos_[0] : InterfaceInfo{};
  }
  const CaptureConfig& config() const override { return config_; }
  std::size_t pool_memory_bytes() const override { return pool_memory_bytes_; }
  using Engine::dispatch;
  using Engine::poll;

  Result<void> start() override {
    if (started_.exchange(true))
      return make_error(ErrorCode::kMisuse, "started twice: the capture thread already runs");
    start_ns_ = monotonic_ns();
    thread_ = std::thread([this] {
      platform::prepare_capture_thread();
      run();
    });
    return {};
  }
  void request_stop() noexcept override {
    stop_requested_.store(true);
    if (pcap_t* p = handle_.get()) pcap_breakloop(p);  // interrupts the blocking pcap_next_ex
  }
  Result<std::size_t> poll(std::chrono::microseconds timeout, BatchFn fn, void* ctx) override {
    if (!fn) return make_error(ErrorCode::kMisuse, "poll without a batch callback");
    if (!started_.load()) return rtcap::unexpected(kNaiveBeforeStart);
    if (in_call_.exchange(true)) return rtcap::unexpected(kNaiveBusy);
    Batch* batch = take(timeout);
    std::size_t n = 0;
    if (batch) {
      n = batch->size();
      if (auto threw = call_batch_fn(fn, ctx, *batch)) fail(std::move(*threw));
      give_back(batch);
    }
    in_call_.store(false);
    return n;
  }
  Result<std::size_t> dispatch(BatchFn, void*) override {
    return make_error(ErrorCode::kMisuse,
                      "dispatch is for inline delivery: the naive baseline is threaded");
  }
  Readiness readiness() const override { return Readiness{}; }
  bool done() const override {
    if (!capture_done_.load()) return false;
    std::lock_guard lock(mutex_);
    return lists_.empty();
  }
  CaptureStats stats() const override {
    CaptureStats s;
    s.elapsed_ns = start_ns_ ? monotonic_ns() - start_ns_ : 0;
    s.packets_captured = counters_.packets.load(std::memory_order_relaxed);
    s.bytes_captured = counters_.bytes.load(std::memory_order_relaxed);
    s.packets_truncated = counters_.truncated.load(std::memory_order_relaxed);
    s.packets_delivered = delivered_packets_.load(std::memory_order_relaxed);
    s.batches_delivered = delivered_batches_.load(std::memory_order_relaxed);
    s.thread_handoffs = s.batches_delivered;
    s.dispatch_calls = counters_.dispatch_calls.load(std::memory_order_relaxed);
    s.empty_dispatch_calls = counters_.empty_dispatch_calls.load(std::memory_order_relaxed);
    s.capture_cpu_ns = counters_.cpu_ns.load(std::memory_order_relaxed);
    InterfaceStats is;
    is.name = infos_[0].name;
    is.received = received_.load(std::memory_order_relaxed);
    is.kernel_dropped = kernel_dropped_.load(std::memory_order_relaxed);
    is.interface_dropped = interface_dropped_.load(std::memory_order_relaxed);
    is.buffer_bytes = handle_.buffer_bytes();
    s.interfaces.push_back(std::move(is));
    s.latency_ns = latency_hist_.snapshot();
    return s;
  }
  // The loop blocks in pcap_next_ex: statistics are read there, once per interval and at the end.
  CaptureStats stats_now(std::chrono::milliseconds) override { return stats(); }
  StopReason stop_reason() const override { return stop_reason_.load(); }
  std::optional<Error> failure() const override {
    std::lock_guard lock(mutex_);
    return failure_;
  }

 protected:
  const Batch* next_filled(std::chrono::microseconds wait, const Error*& refused) override {
    if (!started_.load()) {
      refused = &kNaiveBeforeStart;
      return nullptr;
    }
    if (in_call_.exchange(true)) {
      refused = &kNaiveBusy;
      return nullptr;
    }
    Batch* batch = take(wait);
    in_call_.store(false);
    return batch;
  }
  void release(const Batch* batch) noexcept override {
    if (batch) give_back(const_cast<Batch*>(batch));  // it came from our pool
  }

 private:
  void run() {
    const std::int64_t list_timeout_ns = std::int64_t(std::max(config_.timeout_ms, 1)) * 1000000;
    const std::int64_t interval_ns = std::int64_t(config_.stats_interval_ms) * 1000000;
    std::int64_t next_stats_ns = monotonic_ns() + interval_ns;  // scheduling: monotonic
    const bool nano = infos_[0].precision == TimestampPrecision::kNano;
    NaiveList list;
    list.reserve(config_.batch_packets);  // "a pre-allocated list, to avoid reallocation"
    std::int64_t list_start_ns = monotonic_ns();
    auto hand_over = [&] {
      {
        std::lock_guard lock(mutex_);
        lists_.push_back(std::move(list));
      }
      cv_.notify_one();
      list = NaiveList();
      list.reserve(config_.batch_packets);
      list_start_ns = monotonic_ns();
    };
    StopReason reason = StopReason::kRequested;
    std::optional<Error> error;
    while (!stop_requested_.load(std::memory_order_relaxed)) {
      struct pcap_pkthdr* header = nullptr;
      const u_char* data = nullptr;
      const int rc = pcap_next_ex(handle_.get(), &header, &data);
      bump(counters_.dispatch_calls);
      if (rc == 1) {
        list.push_back(NaivePacket{pcap_ts_ns(*header, nano), header->len,
                                   std::vector<std::uint8_t>(data, data + header->caplen)});
        bump(counters_.packets);
        bump(counters_.bytes, header->caplen);
        if (header->caplen < header->len) bump(counters_.truncated);
        if (config_.max_packets > 0 && counters_.packets.load(std::memory_order_relaxed) >=
                                           std::uint64_t(config_.max_packets)) {
          reason = StopReason::kCountReached;
          break;
        }
      } else if (rc == 0) {
        bump(counters_.empty_dispatch_calls);  // read timeout, no packet
      } else if (rc == PCAP_ERROR_BREAK) {
        break;
      } else {
        reason = StopReason::kFailed;
        error = Error{ErrorCode::kCaptureFailed, fmt::format("capture on '{}' stopped: {}",
                                                             infos_[0].name, handle_.last_error())};
        break;
      }
      const std::int64_t now = monotonic_ns();
      if (list.size() >= config_.batch_packets ||
          (!list.empty() && now - list_start_ns >= list_timeout_ns))
        hand_over();
      if (now >= next_stats_ns) {
        refresh_stats();
        next_stats_ns += interval_ns;
      }
    }
    if (!list.empty()) hand_over();
    refresh_stats();
    {
      std::lock_guard lock(mutex_);
      if (error) failure_ = std::move(error);
    }
    StopReason running = StopReason::kRunning;
    stop_reason_.compare_exchange_strong(running, reason);
    {
      std::lock_guard lock(mutex_);  // a consumer waits on the condition variable
      capture_done_.store(true);
    }
    cv_.notify_all();
  }

  void refresh_stats() noexcept {
    if (handle_.refresh_stats()) {
      const auto& st = handle_.stats();
      received_.store(st.received, std::memory_order_relaxed);
      kernel_dropped_.store(st.kernel_dropped, std::memory_order_relaxed);
      interface_dropped_.store(st.interface_dropped, std::memory_order_relaxed);
    }
    counters_.cpu_ns.store(platform::thread_cpu_ns(), std::memory_order_relaxed);
  }

  // The consumer turns the next list into a Batch, so that writers and analysis see one type.
  Batch* take(std::chrono::microseconds wait) {
    NaiveList list;
    Batch* batch = nullptr;
    {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_for(lock, wait, [this] { return !lists_.empty() || capture_done_.load(); }))
        return nullptr;
      // Empty, or every batch held without release (a caller bug): the lists wait.
      if (lists_.empty() || free_.empty()) return nullptr;
      list = std::move(lists_.front());
      lists_.pop_front();
      batch = free_.back();
      free_.pop_back();
    }
    std::size_t i = 0;
    for (; i < list.size(); ++i) {
      const NaivePacket& p = list[i];
      if (!batch->try_append(p.ts_ns, 0, p.bytes.data(), std::uint32_t(p.bytes.size()), p.wire_len))
        break;
    }
    if (i < list.size()) {  // did not fit: the rest goes back to the front of the queue
      NaiveList rest(std::make_move_iterator(list.begin() + std::ptrdiff_t(i)),
                     std::make_move_iterator(list.end()));
      std::lock_guard lock(mutex_);
      lists_.push_front(std::move(rest));
    }
    record_latency(latency_hist_, *batch);
    bump(delivered_packets_, batch->size());
    bump(delivered_batches_);
    return batch;
  }
  void give_back(Batch* batch) noexcept {
    batch->clear();
    std::lock_guard lock(mutex_);
    free_.push_back(batch);
  }
  void fail(std::string message) {
    {
      std::lock_guard lock(mutex_);
      if (!failure_) failure_ = Error{ErrorCode::kMisuse, std::move(message)};
    }
    StopReason running = StopReason::kRunning;
    stop_reason_.compare_exchange_strong(running, StopReason::kFailed);
    request_stop();
  }

  const CaptureConfig config_;
  backend::PcapHandle handle_;
  const std::vector<InterfaceInfo> infos_;
  const std::vector<std::string> warnings_;      // settings as ${name}
  const std::vector<std::string> warnings_cxx_;  // worded for C++
  std::vector<std::unique_ptr<Batch>> storage_;
  std::size_t pool_memory_bytes_ = 0;
  std::thread thread_;
  std::atomic<bool> started_{false}, stop_requested_{false}, capture_done_{false};
  std::atomic<bool> in_call_{false};  // poll or next_batch in progress
  std::atomic<StopReason> stop_reason_{StopReason::kRunning};
  std::int64_t start_ns_ = 0;
  CaptureCounters counters_;
  std::atomic<std::uint64_t> received_{0}, kernel_dropped_{0}, interface_dropped_{0};
  std::atomic<std::uint64_t> delivered_packets_{0}, delivered_batches_{0};
  Histogram latency_hist_;  // consumer writes

  mutable std::mutex mutex_;  // lists_, free_, failure_
  std::condition_variable cv_;
  std::deque<NaiveList> lists_;
  std::vector<Batch*> free_;
  std::optional<Error> failure_;
};

}  // namespace

Result<std::unique_ptr<Engine>> open_naive_engine(const CaptureConfig& config,
                                                  std::vector<std::string> warnings) {
  auto h = backend::open_live(config.interfaces.front(), config, warnings, false);
  if (!h) return rtcap::unexpected(h.error());
  return std::unique_ptr<Engine>(
      std::make_unique<NaiveEngine>(config, std::move(*h), std::move(warnings)));
}

}  // namespace rtcap::detail
