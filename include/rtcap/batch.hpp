// A batch: fixed-capacity packet records plus one byte arena, allocated once and reused forever.
// The capture thread fills it (one copy per packet), the consumer reads it, and it goes back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <type_traits>

#include "rtcap/export.hpp"

namespace rtcap {

// A view of contiguous elements (C++17 has no std::span). Pointers are its iterators, so in C++20
// a std::span<const T> converts from it implicitly and std::ranges algorithms accept it.
template <typename T>
class Span {
 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  using size_type = std::size_t;
  using iterator = T*;

  constexpr Span() noexcept = default;
  constexpr Span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
  // From any contiguous range with data() and size() (std::vector, std::array, std::span): a
  // view, as std::span is; it must not outlive what it views.
  template <typename C, typename = std::enable_if_t<
                            !std::is_same_v<std::decay_t<C>, Span> &&
                            std::is_convertible_v<decltype(std::data(std::declval<C&>())), T*>>>
  constexpr Span(C&& c) noexcept : data_(std::data(c)), size_(std::size(c)) {}  // NOLINT

  [[nodiscard]] constexpr T* data() const noexcept { return data_; }
  [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
  [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] constexpr T* begin() const noexcept { return data_; }
  [[nodiscard]] constexpr T* end() const noexcept { return data_ + size_; }
  constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
  // Elements [offset, offset + count), clamped to the view.
  [[nodiscard]] constexpr Span subspan(std::size_t offset,
                                       std::size_t count = std::size_t(-1)) const noexcept {
    if (offset > size_) offset = size_;
    if (count > size_ - offset) count = size_ - offset;
    return {data_ + offset, count};
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

using ByteView = Span<const std::uint8_t>;

struct PacketRecord {
  std::int64_t ts_ns;             // capture timestamp, ns since the epoch (CLOCK_REALTIME)
  std::uint32_t offset;           // first byte in the batch arena
  std::uint32_t caplen;           // bytes captured
  std::uint32_t wire_len;         // bytes on the wire
  std::uint16_t interface_index;  // index into CaptureConfig::interfaces (0 for a file)
  std::uint16_t reserved;
};

struct PacketView {
  std::int64_t ts_ns;
  std::uint32_t wire_len;
  std::uint16_t interface_index;
  ByteView bytes;  // caplen bytes
};

class Batch {
 public:
  Batch(std::size_t max_packets, std::size_t arena_bytes)
      // Not zeroed: pages are touched only when packets land in them, so a pool sized for bursts
      // costs no start-up page faults for the part that steady traffic never uses.
      : records_(new PacketRecord[max_packets]),  // default-initialised: not zeroed
        arena_(new std::uint8_t[arena_bytes]),
        max_packets_(max_packets),
        arena_bytes_(arena_bytes) {}

  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Hot path: copies one packet. False when the records or the arena are full.
  [[nodiscard]] bool try_append(std::int64_t ts_ns, std::uint16_t interface_index,
                                const std::uint8_t* data, std::uint32_t caplen,
                                std::uint32_t wire_len) noexcept {
    if (count_ == max_packets_ || arena_bytes_ - used_bytes_ < caplen) return false;
    records_[count_] = PacketRecord{
        ts_ns, static_cast<std::uint32_t>(used_bytes_), caplen, wire_len, interface_index, 0};
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

  [[nodiscard]] Span<const PacketRecord> records() const noexcept {
    return {records_.get(), count_};
  }
  [[nodiscard]] const std::uint8_t* data(const PacketRecord& r) const noexcept {
    return arena_.get() + r.offset;
  }
  [[nodiscard]] PacketView operator[](std::size_t i) const noexcept {
    const PacketRecord& r = records_[i];
    return PacketView{r.ts_ns, r.wire_len, r.interface_index, {arena_.get() + r.offset, r.caplen}};
  }

  // A random-access iterator yielding PacketView by value (as std::ranges' iota-like views do),
  // so Batch is a std::ranges::random_access_range in C++20.
  class Iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = PacketView;
    using difference_type = std::ptrdiff_t;
    using reference = PacketView;
    using pointer = void;

    Iterator() noexcept = default;
    Iterator(const Batch* b, std::size_t i) noexcept : batch_(b), index_(std::ptrdiff_t(i)) {}
    PacketView operator*() const noexcept { return (*batch_)[std::size_t(index_)]; }
    PacketView operator[](difference_type n) const noexcept {
      return (*batch_)[std::size_t(index_ + n)];
    }
    Iterator& operator++() noexcept {
      ++index_;
      return *this;
    }
    Iterator operator++(int) noexcept {
      Iterator t = *this;
      ++index_;
      return t;
    }
    Iterator& operator--() noexcept {
      --index_;
      return *this;
    }
    Iterator operator--(int) noexcept {
      Iterator t = *this;
      --index_;
      return t;
    }
    Iterator& operator+=(difference_type n) noexcept {
      index_ += n;
      return *this;
    }
    Iterator& operator-=(difference_type n) noexcept {
      index_ -= n;
      return *this;
    }
    friend Iterator operator+(Iterator it, difference_type n) noexcept { return it += n; }
    friend Iterator operator+(difference_type n, Iterator it) noexcept { return it += n; }
    friend Iterator operator-(Iterator it, difference_type n) noexcept { return it -= n; }
    friend difference_type operator-(const Iterator& a, const Iterator& b) noexcept {
      return a.index_ - b.index_;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) noexcept {
      return a.index_ == b.index_;
    }
    friend bool operator!=(const Iterator& a, const Iterator& b) noexcept {
      return a.index_ != b.index_;
    }
    friend bool operator<(const Iterator& a, const Iterator& b) noexcept {
      return a.index_ < b.index_;
    }
    friend bool operator>(const Iterator& a, const Iterator& b) noexcept {
      return a.index_ > b.index_;
    }
    friend bool operator<=(const Iterator& a, const Iterator& b) noexcept {
      return a.index_ <= b.index_;
    }
    friend bool operator>=(const Iterator& a, const Iterator& b) noexcept {
      return a.index_ >= b.index_;
    }

   private:
    const Batch* batch_ = nullptr;
    difference_type index_ = 0;
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
