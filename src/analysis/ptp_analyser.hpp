// The per-domain PTP analyser the stream tracker feeds with every PTP message it sees (UDP ports
// 319/320, EtherType 0x88F7). Private to librtcap.
//
// Memory is fixed at construction: kMaxDomains domains of kMaxMasters masters each and a ring
// of the last kChangesKept grandmaster changes per domain; messages of domains or masters
// beyond that are counted, not kept. add_* never allocates, never throws, and costs a parse and
// a scan of at most 8 + 8 entries (16 more for a Delay_Resp): PTP is a few tens of messages a
// second, not the hot traffic.
#pragma once

#include <cstddef>
#include <cstdint>

#include "analysis/packet_parser.hpp"
#include "analysis/ptp_wire.hpp"
#include "analysis/running_intervals.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/ptp.hpp"

namespace rtcap::analysis {

// A stream's SDP reference clock against the wire (StreamSummary::ptp_match), and its RTP
// timestamp's offset from the PTP media clock when the grandmaster matches (snapshot time).
void apply_ptp(StreamSummary& s, const PtpSnapshot& ptp) noexcept;

class PtpAnalyser {
 public:
  // 8 domains: AES67 and ST 2059-2 plants run one or two (0, 127), a gateway a few more.
  static constexpr std::size_t kMaxDomains = 8;
  // 8 masters a domain: one grandmaster, a backup, boundary clocks seen on a mirrored port.
  static constexpr std::size_t kMaxMasters = 8;
  static constexpr std::size_t kChangesKept = 16;
  // Delay_Reqs awaiting their Delay_Resp: a few slaves at up to 8 requests a second each.
  static constexpr std::size_t kDelayReqsKept = 16;

  // A UDP datagram to port 319 or 320 (pk.cls == kUdp).
  void add_udp(const ParsedPacket& pk, std::int64_t ts_ns) noexcept;
  // What follows EtherType 0x88F7 (pk.ptp_l2).
  void add_ethernet(const std::uint8_t* p, std::size_t len, std::int64_t ts_ns) noexcept;

  [[nodiscard]] PtpSnapshot snapshot() const;
  [[nodiscard]] std::uint64_t messages() const noexcept { return totals_.messages; }
  void clear() noexcept;

  struct Estimate {  // exponentially weighted mean and spread of a time difference
    std::uint64_t samples = 0;
    double last_ns = 0, mean_ns = 0, var_ns2 = 0, min_ns = 0, max_ns = 0;
    bool utc_applied = false;
    void add(double ns, bool utc) noexcept;
  };
  // The offset over time (PtpMasterSummary::offset_history): fixed buckets, min and max each.
  struct History {
    static constexpr std::size_t kBuckets = 64;
    struct Bucket {
      double min_ns = 0, max_ns = 0;
      std::uint64_t samples = 0;
    };
    std::int64_t origin_ns = 0;
    std::int64_t width_ns = 1'000'000'000;
    std::size_t used = 0;  // buckets up to the latest in use
    Bucket buckets[kBuckets];
    void add(std::int64_t ts_ns, double ns) noexcept;
  };

 private:
  struct Intervals {
    std::int64_t last_ns = 0;
    std::uint64_t messages = 0;
    RunningIntervals gaps;
    std::int8_t log_interval = 0;
    void add(std::int64_t ts_ns, std::int8_t log) noexcept;
  };
  struct Master {
    ptp::PortIdentity id;
    std::uint8_t addr_family = 0;
    std::uint8_t addr[16] = {};
    bool over_udp = false, over_ethernet = false;
    std::uint64_t announces = 0, follow_ups = 0, delay_resps = 0;
    bool two_step = false, one_step = false;
    std::uint64_t fu_matched = 0, fu_missing = 0, fu_orphan = 0;
    Intervals announce, sync;
    // The latest two-step Sync still waiting for its Follow_Up.
    bool sync_pending = false;
    std::uint16_t sync_seq = 0;
    std::int64_t sync_ts_ns = 0;
    std::int64_t sync_correction = 0;
    Estimate offset;
    History offset_history;
    Estimate path_delay;
    std::int64_t last_seen_ns = 0;
  };
  struct Change {
    std::int64_t ts_ns;
    bool had_previous;
    std::uint8_t from[8];
    std::uint8_t to[8];
  };
  struct DelayReq {  // a slave's request seen passing, until the master answers it
    ptp::PortIdentity requester;
    std::uint16_t sequence_id = 0;
    std::int64_t ts_ns = 0;
    bool pending = false;
  };
  struct Domain {
    bool used = false;
    std::uint8_t number = 0;
    bool has_gm = false;
    ptp::Announce gm;
    bool utc_valid = false;
    std::int64_t gm_since_ns = 0;
    std::uint64_t gm_changes = 0;
    Change changes[kChangesKept] = {};
    std::uint64_t messages = 0;
    std::uint64_t by_type[16] = {};
    std::size_t master_count = 0;
    Master masters[kMaxMasters];
    DelayReq delay_reqs[kDelayReqsKept];
    std::size_t delay_req_next = 0;
  };

  void add(const std::uint8_t* p, std::size_t len, std::int64_t ts_ns, const ParsedPacket* udp);
  Domain* domain(std::uint8_t number) noexcept;
  Master* master(Domain& d, const ptp::PortIdentity& id) noexcept;
  void on_announce(Domain& d, const ptp::Message& m, std::int64_t ts_ns) noexcept;
  bool ptp_time_ns(const Domain& d, const ptp::Timestamp& t, std::int64_t& ns) noexcept;
  void on_delay_req(Domain& d, const ptp::Message& m, std::int64_t ts_ns) noexcept;
  void on_delay_resp(Domain& d, Master& ms, const ptp::Message& m) noexcept;
  void offset_sample(Domain& d, Master& ms, std::int64_t capture_ns, const ptp::Timestamp& t,
                     std::int64_t correction) noexcept;

  PtpTotals totals_;
  Domain domains_[kMaxDomains];
};

}  // namespace rtcap::analysis
