// Interface loss, on the capture thread. Suricata's AF_PACKET capture is the
// model (src/source-af-packet.c, AFPTryReopen): when the interface goes away it says so, marks
// the socket down, retries on a timer and resumes. Here:
//   - once per statistics interval (1 s) every live handle's link is read (platform/link.hpp):
//     gone, or not up and running, is an outage; coming back ends it. Without --reopen that is
//     all (the CLI prints a warning line at each change; a down/up is survived by the handle);
//   - with --reopen, a handle whose pcap_dispatch fails (the interface was deleted: ENODEV /
//     ENETDOWN) or whose interface now has another index (deleted and re-created between two
//     looks) is closed, the waiter rebuilt on the other handles, and it is opened again with the
//     same settings at each interval until that works. Capture on the other handles and the
//     output go on meanwhile; the packets keep their interface index, so the output keeps its
//     interface (a pcapng IDB) when the link type and snaplen are the same, which they are for
//     the same interface opened the same way; when they are not (re-created as another kind of
//     device), relabel() gives its packets a new interface index (a new IDB in pcapng);
//   - each outage is recorded as an interval in packet-stamp time (mark_link), bounded by the
//     looks and by the packets captured on the handle, for the stream analysis' per-gap split.
#include <fmt/format.h>

#include <algorithm>

#include "platform/link.hpp"
#include "engine/engine_impl.hpp"

namespace rtcap::detail {

bool CaptureEngine::rebuild_waiter() noexcept {
  auto waiter = source_->make_waiter();
  if (!waiter) {
    std::lock_guard lock(failure_mutex_);
    if (!failure_) failure_ = Error{ErrorCode::kCaptureFailed, waiter.error().message};
    return false;
  }
  // Frees the waiter before the previous one: no wake() can still be in it (see the header).
  retired_waiter_ = std::move(waiter_);
  waiter_ = std::move(*waiter);
  waiter_raw_.store(waiter_.get(), std::memory_order_release);
  return true;
}

void CaptureEngine::mark_link(std::size_t i, bool up) noexcept {
  LinkWatch& l = *links_[i];
  const std::int64_t rt = realtime_ns();
  if (up) l.last_up_look_rt_ns = rt;
  if (l.up == up) return;
  l.up = up;
  const std::int64_t now = monotonic_ns();
  if (!up) {
    l.down_since_ns = now;
    bump(l.down_events);
    l.down_since_published.store(now, std::memory_order_relaxed);
    // It went down after the last sign of life: the last look that found it up, or the last
    // packet captured on it, whichever is later.
    l.down_seen_rt_ns = rt;
    l.end_bound_ns = 0;
    try {
      std::lock_guard lock(l.outages_mutex);
      if (l.outages.size() >= InterfaceStats::kMaxOutagesKept) l.outages.erase(l.outages.begin());
      l.outages.push_back(LinkOutage{std::max(l.last_up_look_rt_ns, l.last_packet_ts_ns), 0});
    } catch (...) {  // out of memory: the counters still count it
    }
  } else {
    l.down_ns_done.store(l.down_ns_done.load(std::memory_order_relaxed) + (now - l.down_since_ns),
                         std::memory_order_relaxed);
    l.down_since_published.store(0, std::memory_order_relaxed);
    // Back at the first sign of life: this look, or a packet captured on it before this look.
    std::int64_t end = rt;
    if (l.end_bound_ns != 0 && l.end_bound_ns < end) end = l.end_bound_ns;
    std::lock_guard lock(l.outages_mutex);
    if (!l.outages.empty() && l.outages.back().end_ns == 0)
      l.outages.back().end_ns = std::max(end, l.outages.back().begin_ns);
  }
  l.up_published.store(up, std::memory_order_relaxed);
}

// Packets were captured on a handle whose link was last seen down. Stamped before the look that
// saw it down, they were still in the ring (a TPACKET_V3 block retires up to --timeout-ms late):
// the outage began after them. Stamped after it, the link was up again by then: the outage ended
// by the stamp of this pcap_dispatch's last packet (within one call of the first one).
void CaptureEngine::packets_while_down(std::size_t i, std::int64_t last_ts_ns) noexcept {
  LinkWatch& l = *links_[i];
  if (last_ts_ns < l.down_seen_rt_ns) {
    std::lock_guard lock(l.outages_mutex);
    if (!l.outages.empty() && l.outages.back().end_ns == 0 &&
        l.outages.back().begin_ns < last_ts_ns)
      l.outages.back().begin_ns = last_ts_ns;
  } else if (l.end_bound_ns == 0) {
    l.end_bound_ns = last_ts_ns;
  }
}

void CaptureEngine::lose_handle(std::size_t i) noexcept {
  LinkWatch& l = *links_[i];
  if (l.closed) return;
  // What libpcap still holds of it cannot be read any more: the socket is gone with the device.
  source_->close(i);
  l.closed = true;
  mark_link(i, false);
  (void)rebuild_waiter();  // on failure failure_ is set; watch_links stops the capture
}

// A handle reopened with another link type or snaplen (an interface re-created as another kind
// of device) labels its packets with an interface index of its own from now on, so that a
// consumer never reads a packet with the wrong link type: one of this handle's earlier indices
// when one matches, else a new one after all others (interface_count() grows; a pcapng writer
// adds an IDB for it, a pcap file, one link type per file, cannot go on).
bool CaptureEngine::relabel(std::size_t i, const InterfaceInfo& now) noexcept {
  const auto matches = [&](const InterfaceInfo& was) {
    return was.linktype == now.linktype && was.snaplen == now.snaplen;
  };
  if (matches(interface_info(contexts_[i].interface_index))) return true;
  for (const std::uint16_t index : indices_of_handle_[i])
    if (matches(interface_info(index))) {
      contexts_[i].interface_index = index;
      return true;
    }
  const std::size_t index = interface_count_.load(std::memory_order_relaxed);
  if (added_infos_.size() >= kMaxAddedInterfaces || index > 0xFFFF) {
    std::lock_guard lock(failure_mutex_);
    failure_ = Error{ErrorCode::kCaptureFailed,
                     fmt::format("'{}' came back with link type {} and snaplen {}, after {} such "
                                 "changes: too many for one capture; start again",
                                 now.name, now.linktype, now.snaplen, kMaxAddedInterfaces)};
    return false;
  }
  try {
    {
      std::lock_guard lock(added_infos_mutex_);
      added_infos_.push_back(now);
    }
    indices_of_handle_[i].push_back(static_cast<std::uint16_t>(index));
  } catch (...) {
    std::lock_guard lock(failure_mutex_);
    failure_ = Error{ErrorCode::kCaptureFailed, "out of memory recording a reopened interface"};
    return false;
  }
  contexts_[i].interface_index = static_cast<std::uint16_t>(index);
  // Published before the first packet with the new index is appended to a batch: a consumer
  // that sees such a packet (the batch hand-off orders it after this) finds its description.
  interface_count_.store(index + 1, std::memory_order_release);
  return true;
}

bool CaptureEngine::watch_links() noexcept {
  {
    std::lock_guard lock(failure_mutex_);
    if (failure_) return false;  // rebuild_waiter failed
  }
  for (std::size_t i = 0; i < source_->size(); ++i) {
    if (source_->is_file()) continue;
    LinkWatch& l = *links_[i];
    const platform::LinkState st = source_->link_state(i);
    if (!l.closed) {
      // Deleted and re-created between two looks: the socket is bound to the old index.
      if (config_.reopen && st.known && st.exists && l.index != 0 && st.index != l.index) {
        lose_handle(i);
      } else {
        mark_link(i, !st.known || (st.exists && st.up));
        continue;
      }
    }
    if (!st.exists) continue;  // not back yet: the next interval tries again
    std::vector<std::string> warnings;
    if (auto r = source_->reopen(i, warnings); !r) continue;  // e.g. not up yet
    const InterfaceInfo& now = source_->info(i);
    if (!relabel(i, now)) return false;
    l.closed = false;
    l.index = st.index;
    bump(l.reopens);
    if (!rebuild_waiter()) return false;
    mark_link(i, st.up || !st.known);
  }
  return true;
}

}  // namespace rtcap::detail
