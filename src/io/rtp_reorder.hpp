// The one RTP PCM depacketiser core, shared by the WAV extractor (audio_extract.cpp) and the live
// audio API (audio_receiver.cpp): a reorder window of sequence numbers that hands packets on in
// order and counts those it never saw, and the rule that turns an RTP timestamp jump into
// silence of exactly its length, no more than the arrival clock allows.
//
// Memory is fixed by reset() (a window may grow its slots up to a limit given there); add() and
// drain() allocate only when a slot grows. One owner thread. Private to librtcap.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "analysis/packet_parser.hpp"
#include "analysis/rtp_stats.hpp"
#include "analysis/saturating.hpp"
#include "rtcap/analysis.hpp"

namespace rtcap::io {

// Largest timestamp jump filled with silence: 10 s. Beyond it the sender restarted or jumped,
// and ten seconds of silence would be a guess, not a measurement.
inline constexpr std::uint32_t kMaxGapSeconds = 10;

// How the audio goes on from where it ended (`next_ts`, the last packet's arrival) to a packet
// stamped `ts`: in place, after a gap of `frames` lost samples, or a jump not filled (backwards,
// longer than the arrival time allows or than kMaxGapSeconds; `frames` then is what a forward
// jump claimed).
struct Continuation {
  enum Kind : std::uint8_t { kContiguous, kGap, kDiscontinuity } kind = kContiguous;
  std::uint64_t frames = 0;
};
[[nodiscard]] inline Continuation continue_at(std::uint32_t next_ts, std::int64_t last_arrival_ns,
                                              std::uint32_t ts, std::int64_t arrival_ns,
                                              std::uint32_t rate_hz) noexcept {
  if (ts == next_ts) return {};
  const auto gap = static_cast<std::int32_t>(ts - next_ts);
  // A timestamp is as easy to forge as a sequence number; the arrival clock is not. 64-bit.
  const std::uint64_t allowed = std::min(
      analysis::packet_times_elapsed(analysis::sat_sub(arrival_ns, last_arrival_ns), rate_hz, 1),
      std::uint64_t{kMaxGapSeconds} * rate_hz);
  if (gap > 0 && static_cast<std::uint64_t>(gap) <= allowed)
    return {Continuation::kGap, static_cast<std::uint64_t>(gap)};
  return {Continuation::kDiscontinuity, gap > 0 ? static_cast<std::uint64_t>(gap) : 0};
}

// The tracker's key of a stream whose identity a consumer keeps as raw fields (family, src and
// dst as 16 bytes, ports, ssrc, interface_index).
template <class Identity>
[[nodiscard]] StreamKey stream_key(const Identity& s) {
  StreamKey key;
  key.interface_index = s.interface_index;
  key.src.family = key.dst.family = s.family;
  std::copy_n(s.src, 16, key.src.bytes.begin());
  std::copy_n(s.dst, 16, key.dst.bytes.begin());
  key.src_port = s.src_port;
  key.dst_port = s.dst_port;
  key.ssrc = s.ssrc;
  return key;
}

// The same for a parsed packet of the stream.
[[nodiscard]] inline StreamKey stream_key(const analysis::ParsedPacket& pp,
                                          std::uint16_t interface_index, std::uint32_t ssrc) {
  StreamKey key;
  key.interface_index = interface_index;
  key.src.family = key.dst.family = pp.family;
  const std::size_t n = pp.family == 4 ? 4 : 16;
  std::copy_n(pp.src, n, key.src.bytes.begin());
  std::copy_n(pp.dst, n, key.dst.bytes.begin());
  key.src_port = pp.src_port;
  key.dst_port = pp.dst_port;
  key.ssrc = ssrc;
  return key;
}

// The RTP fixed header (RFC 3550 5.1) of a UDP payload, and the payload after its CSRCs,
// extension and padding. False when it is not RTP version 2, or is RTCP on the same port
// (RFC 5761 section 4).
struct RtpPacket {
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  std::uint32_t ssrc = 0;
  int payload_type = 0;
  const std::uint8_t* payload = nullptr;
  std::size_t bytes = 0;
};
[[nodiscard]] inline bool parse_rtp(const std::uint8_t* p, std::size_t n, RtpPacket& out) noexcept {
  if (n < 12 || (p[0] >> 6) != 2) return false;
  std::size_t off = 12 + 4 * std::size_t{p[0] & 0x0Fu};
  if (off > n) return false;
  if ((p[0] & 0x10) != 0) {
    if (off + 4 > n) return false;
    off += 4 + 4 * std::size_t{analysis::load_be16(p + off + 2)};
    if (off > n) return false;
  }
  std::size_t end = n;
  if ((p[0] & 0x20) != 0) {
    const std::size_t pad = p[n - 1];
    if (pad == 0 || off + pad > n) return false;
    end -= pad;
  }
  out.payload_type = p[1] & 0x7F;
  if (out.payload_type >= 72 && out.payload_type <= 76) return false;
  out.seq = analysis::load_be16(p + 2);
  out.ts = analysis::load_be32(p + 4);
  out.ssrc = analysis::load_be32(p + 8);
  out.payload = p + off;
  out.bytes = end - off;
  return true;
}

class ReorderWindow {
 public:
  // One packet handed on in sequence order; `missing_run` sequence numbers before it were never
  // seen (the first of them `missing_first`) since the last packet the consumer took.
  struct Packet {
    std::uint16_t seq;
    std::uint32_t ts;
    std::int64_t arrival_ns;
    const std::uint8_t* payload;
    std::size_t bytes;
    std::uint64_t missing_run;
    std::uint16_t missing_first;
  };
  struct Counters {
    std::uint64_t lost_packets = 0;       // sequence numbers never seen
    std::uint64_t late_or_duplicate = 0;  // arrived after their place was handed on, or twice
    std::uint64_t oversize = 0;           // payload over the slot limit: not used
  };

  // `window` packets; slots of `slot_bytes`, growing to `max_slot_bytes` for larger payloads
  // (equal: fixed). Forgets everything held.
  void reset(std::size_t window, std::size_t slot_bytes, std::size_t max_slot_bytes) {
    window_ = window;
    max_slot_bytes_ = max_slot_bytes;
    if (slots_.size() != window) slots_ = std::vector<Slot>(window);
    for (Slot& s : slots_) s = Slot{};
    slot_bytes_ = slot_bytes;
    if (data_.size() < window * slot_bytes) data_.assign(window * slot_bytes, 0);
    restart();
  }
  // Starts over at the next packet (a format change), keeping the memory.
  void restart() noexcept {
    for (Slot& s : slots_) s.present = false;
    held_ = 0;
    started_ = false;
    missing_run_ = 0;
    counters_ = Counters{};
  }

  // `emit(const Packet&)` returns true when it took the packet (its missing run is then cleared).
  template <class Emit>
  void add(std::uint16_t seq, std::uint32_t ts, std::int64_t arrival_ns,
           const std::uint8_t* payload, std::size_t bytes, Emit&& emit) {
    if (bytes > max_slot_bytes_) {
      ++counters_.oversize;
      return;
    }
    if (!started_) {
      started_ = true;
      head_seq_ = seq;
      start_arrival_ns_ = arrival_ns;
    }
    auto d = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - head_seq_));
    if (d < 0) {  // its place is handed on already (or it came twice)
      ++counters_.late_or_duplicate;
      return;
    }
    const auto w = static_cast<std::int16_t>(window_);
    // Out of the window ahead: hand on (or declare lost) from the head until it fits. A jump far
    // beyond the window skips the empty middle in one step.
    while (d >= w) {
      if (!any_held()) {
        const auto skip = static_cast<std::uint16_t>(d - w + 1);
        if (missing_run_ == 0) missing_first_ = head_seq_;
        missing_run_ += skip;
        counters_.lost_packets += skip;
        head_seq_ = static_cast<std::uint16_t>(head_seq_ + skip);
        d = static_cast<std::int16_t>(d - skip);
        break;
      }
      step(emit);
      --d;
    }
    Slot& slot = slots_[seq % window_];
    if (slot.present && slot.seq == seq) {
      ++counters_.late_or_duplicate;
      return;
    }
    fit(bytes);
    if (!slot.present) ++held_;
    slot = Slot{true, seq, ts, static_cast<std::uint32_t>(bytes), arrival_ns};
    if (bytes > 0) std::memcpy(slot_data(seq), payload, bytes);
    while (slots_[head_seq_ % window_].present && slots_[head_seq_ % window_].seq == head_seq_)
      step(emit);
  }

  // Hands on whatever the window holds, in order; sequence numbers missing before the last held
  // packet are lost, after it nothing can be known.
  template <class Emit>
  void drain(Emit&& emit) {
    for (std::size_t k = 0; k < window_ && any_held(); ++k) step(emit);
  }

  [[nodiscard]] bool started() const noexcept { return started_; }
  [[nodiscard]] std::int64_t start_arrival_ns() const noexcept { return start_arrival_ns_; }
  [[nodiscard]] const Counters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return slots_.size() * sizeof(Slot) + data_.size();
  }

 private:
  struct Slot {
    bool present = false;
    std::uint16_t seq = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t bytes = 0;
    std::int64_t arrival_ns = 0;
  };
  [[nodiscard]] bool any_held() const noexcept { return held_ > 0; }
  std::uint8_t* slot_data(std::uint16_t seq) noexcept {
    return &data_[(seq % window_) * slot_bytes_];
  }
  // Room for a payload of `bytes`: the slots grow (and what they hold moves) when it is larger.
  void fit(std::size_t bytes) {
    if (bytes <= slot_bytes_) return;
    const std::size_t grown = std::max(bytes, std::min(2 * slot_bytes_, max_slot_bytes_));
    std::vector<std::uint8_t> d(window_ * grown);
    for (std::size_t i = 0; i < window_; ++i)
      if (slots_[i].present) std::memcpy(&d[i * grown], &data_[i * slot_bytes_], slots_[i].bytes);
    data_.swap(d);
    slot_bytes_ = grown;
  }
  template <class Emit>
  void step(Emit& emit) {
    Slot& slot = slots_[head_seq_ % window_];
    if (slot.present && slot.seq == head_seq_) {
      slot.present = false;
      --held_;
      const Packet p{slot.seq,   slot.timestamp, slot.arrival_ns, slot_data(head_seq_),
                     slot.bytes, missing_run_,   missing_first_};
      if (emit(p)) missing_run_ = 0;
    } else {
      if (missing_run_ == 0) missing_first_ = head_seq_;
      ++missing_run_;
      ++counters_.lost_packets;
    }
    ++head_seq_;
  }

  std::vector<Slot> slots_;
  std::vector<std::uint8_t> data_;  // window x slot_bytes
  std::size_t window_ = 0;
  std::size_t slot_bytes_ = 0;
  std::size_t max_slot_bytes_ = 0;
  std::size_t held_ = 0;  // slots present: any_held() in O(1), it runs inside loops
  bool started_ = false;
  std::uint16_t head_seq_ = 0;  // the next sequence number to hand on
  std::int64_t start_arrival_ns_ = 0;
  std::uint64_t missing_run_ = 0;
  std::uint16_t missing_first_ = 0;
  Counters counters_;
};

}  // namespace rtcap::io
