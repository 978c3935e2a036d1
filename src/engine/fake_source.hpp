// A Source in memory, for unit tests and benchmarks: the live path (waits, drains, hold-back,
// coalescing, the stop's drain, -c) driven without root or an interface. Each interface has a
// "kernel ring" the test fills (FakeKernel::inject) with sequence-numbered packets; dispatch
// takes what waits as pcap_dispatch does on Linux (all of it, or max; PCAP_ERROR_BREAK after
// breakloop, the packets already taken uncounted), and the counters are Linux's: received
// counts every packet offered, the ring's overflow (kernel_dropped) included. Header-only: the
// library never contains it.
#pragma once

#include <pcap/pcap.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/clock.hpp"
#include "engine/source.hpp"

namespace rtcap::detail {

// What the test and the engine's source share: the test keeps it after the engine took the
// source.
class FakeKernel {
 public:
  struct Packet {
    std::int64_t ts_us;
    std::vector<std::uint8_t> bytes;
  };

  explicit FakeKernel(std::size_t interfaces = 1, std::size_t ring_packets = std::size_t(1) << 20)
      : rings_(interfaces), ring_packets_(ring_packets) {}

  // `count` packets of `size` bytes (at least 8) on interface i, each holding the next sequence
  // number (FakeKernel::sequence_of) in its first 8 bytes. A full ring drops what does not fit.
  void inject(std::size_t i, std::uint64_t count, std::uint32_t size = 90) {
    size = std::max<std::uint32_t>(size, 8);
    const std::int64_t now_us = realtime_ns() / 1000;
    {
      std::lock_guard lock(m_);
      Ring& r = rings_[i];
      for (std::uint64_t k = 0; k < count; ++k) {
        ++r.offered;
        const std::uint64_t seq = next_seq_++;
        if (r.packets.size() >= ring_packets_) {
          ++r.dropped;
          continue;
        }
        Packet p{now_us, std::vector<std::uint8_t>(size, 0x5a)};
        std::memcpy(p.bytes.data(), &seq, sizeof seq);
        r.packets.push_back(std::move(p));
      }
    }
    cv_.notify_all();
  }
  static std::uint64_t sequence_of(const std::uint8_t* bytes) {
    std::uint64_t seq = 0;
    std::memcpy(&seq, bytes, sizeof seq);
    return seq;
  }
  std::size_t waiting(std::size_t i) {
    std::lock_guard lock(m_);
    return rings_[i].packets.size();
  }
  // Called on every statistics read (the capture thread's pcap_stats), before it is taken.
  void on_stats(std::function<void()> fn) {
    std::lock_guard lock(m_);
    on_stats_ = std::move(fn);
  }
  [[nodiscard]] bool source_alive() const noexcept { return source_alive_.load(); }
  [[nodiscard]] std::uint64_t dispatches() const noexcept { return dispatches_.load(); }

 private:
  friend class FakeSource;
  friend class FakeWaiter;
  struct Ring {
    std::deque<Packet> packets;
    std::uint64_t offered = 0, dropped = 0;
    bool broken = false;  // breakloop() was called
  };
  bool any_waiting_locked() const {
    for (const auto& r : rings_)
      if (!r.packets.empty()) return true;
    return false;
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::vector<Ring> rings_;
  const std::size_t ring_packets_;
  std::uint64_t next_seq_ = 0;
  std::function<void()> on_stats_;
  std::atomic<bool> source_alive_{false};
  std::atomic<std::uint64_t> dispatches_{0};
};

// Waits until a ring holds packets or wake() is called (the ReadinessWaiter contract).
class FakeWaiter final : public platform::ReadinessWaiter {
 public:
  explicit FakeWaiter(std::shared_ptr<FakeKernel> k) : k_(std::move(k)) {}
  platform::WaitResult wait(std::chrono::microseconds max_wait) noexcept override {
    std::unique_lock lock(k_->m_);
    k_->cv_.wait_for(lock, max_wait, [&] { return woken_ || k_->any_waiting_locked(); });
    if (woken_) {
      woken_ = false;
      return platform::WaitResult::kWoken;
    }
    return k_->any_waiting_locked() ? platform::WaitResult::kReady : platform::WaitResult::kTimeout;
  }
  void wake() noexcept override {
    {
      std::lock_guard lock(k_->m_);
      woken_ = true;
    }
    k_->cv_.notify_all();
  }
  [[nodiscard]] std::vector<std::intptr_t> wait_handles() const override { return {}; }
  [[nodiscard]] std::int64_t required_timeout_us() const noexcept override { return -1; }
  void clear_wake() noexcept override {
    std::lock_guard lock(k_->m_);
    woken_ = false;
  }

 private:
  std::shared_ptr<FakeKernel> k_;
  bool woken_ = false;  // under k_->m_
};

class FakeSource final : public Source {
 public:
  explicit FakeSource(std::shared_ptr<FakeKernel> k) : k_(std::move(k)) {
    for (std::size_t i = 0; i < k_->rings_.size(); ++i)
      infos_.push_back(InterfaceInfo{"fake" + std::to_string(i), DLT_EN10MB, kMaxSnaplen,
                                     TimestampPrecision::kMicro});
    stats_.resize(infos_.size());
    k_->source_alive_.store(true);
  }
  ~FakeSource() override { k_->source_alive_.store(false); }

  std::size_t size() const noexcept override { return infos_.size(); }
  const InterfaceInfo& info(std::size_t i) const noexcept override { return infos_[i]; }
  bool is_file() const noexcept override { return false; }
  std::uint64_t buffer_bytes(std::size_t) const noexcept override { return 1 << 20; }
  bool is_open(std::size_t) const noexcept override { return true; }
  int dispatch(std::size_t i, int max, pcap_handler fn, u_char* user) noexcept override {
    k_->dispatches_.fetch_add(1);
    int n = 0;
    while (max <= 0 || n < max) {
      FakeKernel::Packet p;
      {
        std::lock_guard lock(k_->m_);
        FakeKernel::Ring& r = k_->rings_[i];
        if (r.broken) {
          r.broken = false;
          return PCAP_ERROR_BREAK;
        }
        if (r.packets.empty()) break;
        p = std::move(r.packets.front());
        r.packets.pop_front();
      }
      // The callback runs unlocked, as libpcap's does: a slow one lets inject() go on.
      struct pcap_pkthdr h {};
      h.ts.tv_sec = p.ts_us / 1000000;
      h.ts.tv_usec = suseconds_t(p.ts_us % 1000000);
      h.caplen = h.len = std::uint32_t(p.bytes.size());
      fn(user, &h, p.bytes.data());
      ++n;
    }
    return n;
  }
  void breakloop(std::size_t i) noexcept override {
    std::lock_guard lock(k_->m_);
    k_->rings_[i].broken = true;
  }
  std::string error(std::size_t) const override { return "fake source"; }
  bool refresh_stats(std::size_t i) noexcept override {
    std::function<void()> hook;
    struct pcap_stat raw {};
    {
      std::lock_guard lock(k_->m_);
      hook = k_->on_stats_;
    }
    if (hook) hook();
    {
      std::lock_guard lock(k_->m_);
      raw.ps_recv = std::uint32_t(k_->rings_[i].offered);
      raw.ps_drop = std::uint32_t(k_->rings_[i].dropped);
    }
    stats_[i].update(raw);
    return true;
  }
  const backend::WidenedStats& stats(std::size_t i) const noexcept override { return stats_[i]; }
  Result<std::unique_ptr<platform::ReadinessWaiter>> make_waiter() override {
    return std::unique_ptr<platform::ReadinessWaiter>(std::make_unique<FakeWaiter>(k_));
  }
  platform::LinkState link_state(std::size_t i) noexcept override {
    return platform::LinkState{true, true, true, unsigned(i + 1)};
  }
  void close(std::size_t) noexcept override {}
  Result<void> reopen(std::size_t, std::vector<std::string>&) override { return {}; }

 private:
  std::shared_ptr<FakeKernel> k_;
  std::vector<InterfaceInfo> infos_;
  std::vector<backend::WidenedStats> stats_;
};

}  // namespace rtcap::detail
