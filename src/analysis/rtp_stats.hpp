// Per-stream RTP arithmetic: RFC 3550 appendix A.1 sequence tracking and section 6.4.1 / A.8
// interarrival jitter. Private to librtcap; the unit tests drive these directly.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace rtcap::analysis {

// RFC 3550 A.1 constants.
inline constexpr std::uint32_t kRtpSeqMod = 1u << 16;
inline constexpr std::uint32_t kMaxDropout = 3000;
inline constexpr std::uint32_t kMaxMisorder = 100;
inline constexpr std::uint32_t kMinSequential = 2;

enum class SeqVerdict : std::uint8_t {
  kProbation,  // source not yet validated; not counted
  kInOrder,    // advanced the highest sequence number (maybe over a gap)
  kDuplicate,  // seen before (within the 128-packet window)
  kLate,       // behind the highest, not seen before: reordered
  kBadJump,    // a large jump, not (yet) confirmed: not counted
  kRestart,    // a confirmed large jump: the sequence space restarted here
};

// RFC 3550 A.1 update_seq, plus a 128-bit window of recently seen numbers behind max_seq so that
// a packet behind the highest one can be told apart as a duplicate or a late arrival (A.1 lumps
// them together as "duplicate or reordered").
//
// One deliberate difference from A.1: once probation succeeds, the MIN_SEQUENTIAL packets that
// passed it are counted (base is the first of them), so a clean stream of N packets reports
// expected = received = N, as tshark does; A.1 starts counting at the last probation packet.
// Restarts keep the totals: expected/received of the finished run are carried over.
class SeqTracker {
 public:
  void start(std::uint16_t seq) noexcept {  // first packet of a new source (A.1: then update)
    init(seq);
    max_seq_ = static_cast<std::uint16_t>(seq - 1);
    probation_ = kMinSequential;
  }

  // `ts_packets`: how many packet times the RTP timestamp says lie between the highest packet and
  // this one (timestamp step / samples per packet, when that divides exactly), 0 when unknown.
  // A.1 takes any jump of MAX_DROPOUT or more for a restart; when the timestamp moved forward by
  // exactly as many packet times as the sequence number (modulo 2^16, so outages longer than
  // 65,536 packets are counted whole too), the sender did not restart: the packets in between
  // were lost, and are counted so (a 0.5 s outage at 125 us is 4,000 packets).
  // `time_packets`: how many packet times the arrival clock allows since the highest packet
  // (packet_times_elapsed), kTimeUnknown when not known. A forward jump of more packets than
  // that cannot be loss: a timestamp is as easy to forge as a sequence number, time is not. It
  // is then a jump A.1 ignores until its successor confirms a restart.
  static constexpr std::uint64_t kTimeUnknown = ~std::uint64_t{0};
  SeqVerdict update(std::uint16_t seq, std::uint64_t ts_packets = 0,
                    std::uint64_t time_packets = kTimeUnknown) noexcept {
    const std::uint16_t udelta = static_cast<std::uint16_t>(seq - max_seq_);
    if (probation_ == 0 && udelta > 1 && udelta <= kRtpSeqMod - kMaxMisorder &&
        time_packets != kTimeUnknown) {
      const std::uint64_t jump =
          ts_packets >= kMaxDropout && (ts_packets & (kRtpSeqMod - 1)) == udelta ? ts_packets
                                                                                 : udelta;
      if (jump > time_packets) return bad_jump(seq);
    }
    if (probation_ == 0 && udelta != 0 && ts_packets >= kMaxDropout &&
        (ts_packets & (kRtpSeqMod - 1)) == udelta) {
      const std::uint64_t extended = cycles_ + max_seq_ + ts_packets;
      cycles_ = extended & ~std::uint64_t{kRtpSeqMod - 1};
      max_seq_ = seq;
      shift_window(ts_packets >= 128 ? 128 : static_cast<std::uint32_t>(ts_packets));
      ++loss_jumps_;
      ++received_;
      return SeqVerdict::kInOrder;
    }
    if (probation_ != 0) {
      if (!validated_) note_range(seq);
      if (seq == static_cast<std::uint16_t>(max_seq_ + 1)) {
        --probation_;
        max_seq_ = seq;
        if (probation_ == 0) {
          init(seq);
          base_ = std::int64_t{seq} - (kMinSequential - 1);
          received_ = kMinSequential;
          // The probation packets are seq-1 .. seq: mark them in the window.
          window_lo_ = (std::uint64_t{1} << kMinSequential) - 1;
          validated_ = true;
          return SeqVerdict::kInOrder;
        }
      } else {
        probation_ = kMinSequential - 1;
        max_seq_ = seq;
      }
      return SeqVerdict::kProbation;
    }
    SeqVerdict verdict = SeqVerdict::kInOrder;
    if (udelta == 0) {
      verdict = SeqVerdict::kDuplicate;
      ++duplicates_;
    } else if (udelta < kMaxDropout) {
      if (seq < max_seq_) cycles_ += kRtpSeqMod;  // wrapped
      max_seq_ = seq;
      shift_window(udelta);
    } else if (udelta <= kRtpSeqMod - kMaxMisorder) {
      // A very large jump. If it is followed by its successor, the sender restarted (or we came
      // back after a long outage): accept the new sequence space. Otherwise ignore the packet.
      return bad_jump(seq);
    } else {
      // Up to MAX_MISORDER behind the highest: duplicate or late.
      const std::uint32_t back = kRtpSeqMod - udelta;  // 1 .. MAX_MISORDER
      if (test_and_set(back)) {
        verdict = SeqVerdict::kDuplicate;
        ++duplicates_;
      } else {
        verdict = SeqVerdict::kLate;
        ++reordered_;
      }
    }
    ++received_;
    return verdict;
  }

  [[nodiscard]] bool validated() const noexcept { return validated_; }
  [[nodiscard]] std::uint64_t expected() const noexcept {
    return expected_carried_ + (probation_ == 0 ? run_expected() : 0);
  }
  [[nodiscard]] std::uint64_t received() const noexcept {
    return received_carried_ + (probation_ == 0 ? received_ : 0);
  }
  // RFC 3550 A.3 cumulative number of packets lost: expected - received, duplicates counted as
  // received, so it goes negative when duplicates outnumber losses (what RTCP and tshark show).
  [[nodiscard]] std::int64_t rfc3550_lost() const noexcept {
    return static_cast<std::int64_t>(expected()) - static_cast<std::int64_t>(received());
  }
  // Packets that never came: expected - distinct sequence numbers received. Duplicates are the
  // ones the 128-packet window recognised (a copy of a packet more than MAX_MISORDER behind is a
  // "bad jump" and never counted as received), so received - duplicates counts distinct numbers.
  [[nodiscard]] std::uint64_t lost() const noexcept {
    const std::uint64_t distinct = received() - std::min(received(), duplicates_counted());
    return expected() > distinct ? expected() - distinct : 0;
  }
  // A source that never validated (every other packet missing): its sequence range as tshark
  // counts it (highest extended number - first + 1) minus the packets seen. 0 once validated.
  [[nodiscard]] std::uint64_t unvalidated_lost_estimate() const noexcept {
    if (validated_ || range_seen_ == 0) return 0;
    return range_ext_ + 1 > range_seen_ ? range_ext_ + 1 - range_seen_ : 0;
  }
  [[nodiscard]] std::uint64_t loss_jumps() const noexcept { return loss_jumps_; }
  [[nodiscard]] std::uint64_t duplicates() const noexcept { return duplicates_; }
  [[nodiscard]] std::uint64_t duplicates_counted() const noexcept { return duplicates_; }
  [[nodiscard]] std::uint64_t reordered() const noexcept { return reordered_; }
  [[nodiscard]] std::uint64_t restarts() const noexcept { return restarts_; }
  [[nodiscard]] std::uint64_t bad_seq_packets() const noexcept { return bad_seq_packets_; }
  [[nodiscard]] std::uint16_t max_seq() const noexcept { return max_seq_; }
  [[nodiscard]] std::uint64_t cycles() const noexcept { return cycles_; }

 private:
  SeqVerdict bad_jump(std::uint16_t seq) noexcept {
    if (seq == bad_seq_) {  // confirmed by its successor: the sender restarted here
      // A.1 counts from this packet on; the one before it (bad_seq - 1) was not counted.
      expected_carried_ += run_expected();
      received_carried_ += received_;
      init(seq);
      ++restarts_;
      ++received_;
      return SeqVerdict::kRestart;
    }
    bad_seq_ = (std::uint32_t{seq} + 1) & (kRtpSeqMod - 1);
    ++bad_seq_packets_;
    return SeqVerdict::kBadJump;
  }
  void init(std::uint16_t seq) noexcept {
    base_ = seq;
    max_seq_ = seq;
    bad_seq_ = kRtpSeqMod + 1;  // so seq == bad_seq is false
    cycles_ = 0;
    received_ = 0;
    window_lo_ = 1;  // bit 0 = max_seq itself
    window_hi_ = 0;
  }
  [[nodiscard]] std::uint64_t run_expected() const noexcept {
    const std::int64_t extended_max = static_cast<std::int64_t>(cycles_) + max_seq_;
    return static_cast<std::uint64_t>(extended_max - base_ + 1);
  }
  void shift_window(std::uint32_t by) noexcept {  // max_seq moved forward by `by`; mark it
    if (by >= 128) {
      window_hi_ = 0;
      window_lo_ = 0;
    } else if (by >= 64) {
      window_hi_ = window_lo_ << (by - 64);
      window_lo_ = 0;
    } else {
      window_hi_ = (window_hi_ << by) | (window_lo_ >> (64 - by));
      window_lo_ <<= by;
    }
    window_lo_ |= 1;
  }
  void note_range(std::uint16_t seq) noexcept {
    const auto forward = static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - range_hi_));
    if (range_seen_ == 0) {
      range_hi_ = seq;
    } else if (forward > 0) {
      range_ext_ += static_cast<std::uint64_t>(forward);
      range_hi_ = seq;
    }
    ++range_seen_;
  }
  bool test_and_set(std::uint32_t back) noexcept {  // back < 128
    std::uint64_t& word = back < 64 ? window_lo_ : window_hi_;
    const std::uint64_t bit = std::uint64_t{1} << (back & 63);
    const bool seen = (word & bit) != 0;
    word |= bit;
    return seen;
  }

  std::int64_t base_ = 0;  // may be -1 when probation straddles a wrap
  std::uint64_t cycles_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t expected_carried_ = 0;
  std::uint64_t received_carried_ = 0;
  std::uint64_t duplicates_ = 0;
  std::uint64_t reordered_ = 0;
  std::uint64_t restarts_ = 0;
  std::uint64_t bad_seq_packets_ = 0;
  std::uint64_t loss_jumps_ = 0;
  std::uint64_t window_lo_ = 0;   // bit i: max_seq - i was received (i < 64)
  std::uint64_t window_hi_ = 0;   // bit i: max_seq - 64 - i
  std::uint64_t range_ext_ = 0;   // before validation: highest extended - first number
  std::uint64_t range_seen_ = 0;  // before validation: packets seen
  std::uint16_t range_hi_ = 0;
  std::uint32_t bad_seq_ = kRtpSeqMod + 1;
  std::uint32_t probation_ = 0;
  std::uint16_t max_seq_ = 0;
  bool validated_ = false;
};

// Packet times of `ptime_ticks` at `clock_rate` that `elapsed_ns` of arrival time can hold, for
// SeqTracker::update: generous (+1% for the sender's clock, +20 ms and 2 packets for a packet
// before the outage that arrived late), since it only has to tell a real outage from a forged jump
// of thousands or millions of packets. 64-bit throughout: elapsed times up to ~290 years.
inline std::uint64_t packet_times_elapsed(std::int64_t elapsed_ns, std::uint32_t clock_rate,
                                          std::uint32_t ptime_ticks) noexcept {
  if (clock_rate == 0 || ptime_ticks == 0) return SeqTracker::kTimeUnknown;
  const std::uint64_t ns = elapsed_ns > 0 ? static_cast<std::uint64_t>(elapsed_ns) : 0;
  const std::uint64_t slack_ns = ns / 100 + 20'000'000;
  const std::uint64_t t = ns + slack_ns;  // < 2^63 + 2^57: fits
  const std::uint64_t ticks =
      (t / 1'000'000'000) * clock_rate + (t % 1'000'000'000) * clock_rate / 1'000'000'000;
  return ticks / ptime_ticks + 2;
}

// RFC 3550 interarrival jitter, in RTP clock units, in arrival order:
//   D(i,j) = (Rj - Ri) - (Sj - Si),  J += (|D| - J) / 16.
// Arrival times are kept in nanoseconds and converted with the clock rate as a real number, so
// no precision is lost to rounding arrival times to whole RTP ticks; the RTP timestamp delta is
// taken modulo 2^32 as a signed 32-bit value (wrap-safe).
class JitterTracker {
 public:
  void reset() noexcept { have_prev_ = false; }
  void update(std::int64_t arrival_ns, std::uint32_t rtp_ts, std::uint32_t clock_rate) noexcept {
    if (have_prev_) {
      const double arrival_delta_units =
          static_cast<double>(arrival_ns - prev_arrival_ns_) * clock_rate * 1e-9;
      const auto ts_delta = static_cast<std::int32_t>(rtp_ts - prev_rtp_ts_);
      const double d = arrival_delta_units - ts_delta;
      jitter_ += (std::fabs(d) - jitter_) / 16.0;
      if (jitter_ > max_jitter_) max_jitter_ = jitter_;
    }
    prev_arrival_ns_ = arrival_ns;
    prev_rtp_ts_ = rtp_ts;
    have_prev_ = true;
  }
  [[nodiscard]] double jitter() const noexcept { return jitter_; }
  [[nodiscard]] double max_jitter() const noexcept { return max_jitter_; }

 private:
  double jitter_ = 0;
  double max_jitter_ = 0;
  std::int64_t prev_arrival_ns_ = 0;
  std::uint32_t prev_rtp_ts_ = 0;
  bool have_prev_ = false;
};

}  // namespace rtcap::analysis
