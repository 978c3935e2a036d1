// The baseline the Npcap maintainers' notes warn against, kept so that every benchmark can show
// the difference side by side: pcap_next_ex one packet at a time, a heap copy per packet, a list
// handed to another thread under a lock when it is full or a timeout passed. The hand-off queue
// is unbounded, as in the design it reproduces.
#include <fmt/format.h>

#include "engine/engine_impl.hpp"

namespace rtcap::detail {

void CaptureEngine::run_naive() {
  auto& ctx = contexts_.front();
  const std::int64_t list_timeout_ns = std::int64_t(std::max(config_.timeout_ms, 1)) * 1000000;
  const std::int64_t interval_ns = std::int64_t(config_.stats_interval_ms) * 1000000;
  std::int64_t next_stats_ns = monotonic_ns() + interval_ns;  // scheduling: monotonic
  NaiveList list;
  list.reserve(config_.batch_packets);  // "a pre-allocated list, to avoid reallocation"
  std::int64_t list_start_ns = monotonic_ns();
  auto hand_over = [&] {
    {
      std::lock_guard lock(naive_mutex_);
      naive_lists_.push_back(std::move(list));
    }
    naive_cv_.notify_one();
    list = NaiveList();
    list.reserve(config_.batch_packets);
    list_start_ns = monotonic_ns();
  };
  StopReason reason = StopReason::kRequested;
  std::optional<Error> error;
  while (!stop_requested_.load(std::memory_order_relaxed)) {
    struct pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(source_->pcap(0), &header, &data);
    bump(counters_.dispatch_calls);
    if (rc == 1) {
      list.push_back(NaivePacket{pcap_ts_ns(*header, ctx.nano), header->len,
                                 std::vector<std::uint8_t>(data, data + header->caplen)});
      bump(counters_.packets);
      bump(counters_.bytes, header->caplen);
      if (header->caplen < header->len) bump(counters_.truncated);
      if (count_reached()) {
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
                                                           infos_.front().name, source_->error(0))};
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
  finish(reason, std::move(error));
}

const Batch* CaptureEngine::next_naive_batch(std::chrono::microseconds wait) {
  NaiveList list;
  {
    std::unique_lock lock(naive_mutex_);
    if (!naive_cv_.wait_for(lock, wait,
                            [this] { return !naive_lists_.empty() || capture_done_.load(); }))
      return nullptr;
    if (naive_lists_.empty()) return nullptr;
    list = std::move(naive_lists_.front());
    naive_lists_.pop_front();
  }
  // The consumer turns the list into a Batch so that writers and analysis see one type. Both
  // rings are used by this thread only in naive mode.
  Batch* batch = nullptr;
  if (!free_.try_pop(batch)) {  // the consumer holds every batch without releasing: a caller bug
    std::lock_guard lock(naive_mutex_);
    naive_lists_.push_front(std::move(list));
    return nullptr;
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
    std::lock_guard lock(naive_mutex_);
    naive_lists_.push_front(std::move(rest));
  }
  record_delivery(*batch);
  return batch;
}

}  // namespace rtcap::detail
