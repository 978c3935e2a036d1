// A batch: fixed-capacity packet records plus one byte arena, allocated once and reused forever.
// The capture thread fills it (one copy per packet), the consumer reads it, and it goes back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace rtcap {

struct PacketRecord {
  std::int64_t ts_ns;      // capture timestamp, ns since the epoch (CLOCK_REALTIME)
  std::uint32_t offset;    // first byte in the batch arena
  std::uint32_t caplen;    // bytes captured
  std::uint32_t wire_len;  // bytes on the wire
  std::uint16_t interface_index;  // index into CaptureConfig::interfaces (0 for a file)
  std::uint16_t reserved;
};

struct PacketView {
  std::int64_t ts_ns;
  std::uint32_t wire_len;
  std::uint16_t interface_index;
  std::span<const std::uint8_t> bytes;  // caplen bytes
};

class Batch {
 public:
  Batch(std::size_t max_packets, std::size_t arena_bytes)
      // Not zeroed: pages are touched only when packets land in them, so a pool sized for bursts
      // costs no start-up page faults for the part that steady traffic never uses.
      : records_(std::make_unique_for_overwrite<PacketRecord[]>(max_packets)),
        arena_(std::make_unique_for_overwrite<std::uint8_t[]>(arena_bytes)),
        max_packets_(max_packets),
        arena_bytes_(arena_bytes) {}

  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Hot path: copies one packet. False when the records or the arena are full.
  [[nodiscard]] bool try_append(std::int64_t ts_ns, std::uint16_t interface_index,
                                const std::uint8_t* data, std::uint32_t caplen,
                                std::uint32_t wire_len) noexcept {
    if (count_ == max_packets_ || arena_bytes_ - used_bytes_ < caplen) return false;
    records_[count_] = PacketRecord{ts_ns, static_cast<std::uint32_t>(used_bytes_), caplen,
                                    wire_len, interface_index, 0};
    std::memcpy(arena_.get() + used_bytes_, data, caplen);
    used_bytes_ += caplen;
    ++count_;
    return true;
  }

  void clear() noexcept {
    count_ = 0;
    used_bytes_ = 0;
  }

  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] std::size_t bytes_used() const noexcept { return used_bytes_; }
  [[nodiscard]] std::size_t capacity_packets() const noexcept { return max_packets_; }
  [[nodiscard]] std::size_t capacity_bytes() const noexcept { return arena_bytes_; }

  [[nodiscard]] std::span<const PacketRecord> records() const noexcept {
    return {records_.get(), count_};
  }
  [[nodiscard]] const std::uint8_t* data(const PacketRecord& r) const noexcept {
    return arena_.get() + r.offset;
  }
  [[nodiscard]] PacketView operator[](std::size_t i) const noexcept {
    const PacketRecord& r = records_[i];
    return PacketView{r.ts_ns, r.wire_len, r.interface_index, {arena_.get() + r.offset, r.caplen}};
  }

  class Iterator {
   public:
    Iterator(const Batch* b, std::size_t i) : batch_(b), index_(i) {}
    PacketView operator*() const noexcept { return (*batch_)[index_]; }
    Iterator& operator++() noexcept {
      ++index_;
      return *this;
    }
    bool operator==(const Iterator& o) const noexcept { return index_ == o.index_; }

   private:
    const Batch* batch_;
    std::size_t index_;
  };
  [[nodiscard]] Iterator begin() const noexcept { return {this, 0}; }
  [[nodiscard]] Iterator end() const noexcept { return {this, count_}; }

 private:
  std::unique_ptr<PacketRecord[]> records_;
  std::unique_ptr<std::uint8_t[]> arena_;
  std::size_t max_packets_;
  std::size_t arena_bytes_;
  std::size_t count_ = 0;
  std::size_t used_bytes_ = 0;
};

}  // namespace rtcap
