// Levels of every PCM stream the catalogue knows the format of, without extracting it (the
// levels of --streams-json and the metrics: `rtcap --streams --levels`). Fed the same packets right
// after the stream tracker, it reads each RTP packet from the tracker's hand-off
// (analysis/rtp_handoff.hpp) into its stream's LevelMeter, in arrival order: peak, RMS and
// clipping do not depend on the order, silence is timed in the samples received.
//
// Memory is fixed at construction: a record per slot of the tracker's table and max_meters
// meters (about 5.6 KB each), handed to streams as their format becomes ready; a slot the tracker
// gives to another stream frees its meter. add() allocates nothing. One owner thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "analysis/levels.hpp"
#include "analysis/rtp_handoff.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/batch.hpp"

namespace rtcap::analysis {

class StreamLevels {
 public:
  static constexpr std::size_t kDefaultMaxMeters = 64;

  explicit StreamLevels(const StreamTracker& tracker, std::size_t max_meters = kDefaultMaxMeters,
                        LevelsConfig config = {});
  void add(const Batch& batch, Span<const int> linktype_by_interface) noexcept;
  void add(const PacketView& packet, int linktype) noexcept;
  // The levels of every metered stream into its summary (StreamSummary::levels, by stream id).
  void add_levels(std::vector<StreamSummary>& streams) const;
  // Streams whose format was ready while every meter was taken: not metered.
  [[nodiscard]] std::uint64_t streams_not_metered() const noexcept { return not_metered_; }

 private:
  struct Record {
    std::uint64_t stream_id = 0;
    bool used = false;
    std::uint64_t version_seen = ~0ull;
    bool validated_seen = false;
    std::uint8_t payload_type_seen = 0;
    std::uint32_t payload_bytes_seen = 0;
    std::uint32_t samples_per_packet_seen = 0;
    std::size_t frame_bytes = 0;  // 0: not metered (no format, or no meter free)
    std::uint32_t rate_hz = 0;    // the format the meter was reset for
    int bits = 0;
    int channels = 0;
    std::int32_t meter = -1;
  };
  void take(const RtpHandoffPacket& e) noexcept;
  void resolve(Record& r, std::uint32_t slot) noexcept;
  void release(Record& r) noexcept;

  const StreamTracker& tracker_;
  LevelsConfig config_;
  HandoffCursor cursor_;
  std::vector<Record> records_;  // per slot of the tracker's table
  std::vector<LevelMeter> meters_;
  std::vector<std::int32_t> free_meters_;
  std::uint64_t not_metered_ = 0;
};

}  // namespace rtcap::analysis
