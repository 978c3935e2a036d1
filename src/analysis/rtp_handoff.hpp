// The stream tracker's hand-off to the library's consumers of samples (the audio extractor, the
// live audio API): each RTP packet the tracker parsed in its last add() call, with its stream
// (the tracker's slot and id) and what the catalogue's answer for it depends on. A consumer fed
// the same packets right after the tracker reads them from here: no second parse, no second
// lookup of the stream. Fed anything else (other packets, the tracker not fed first), it asks
// the tracker per packet (StreamTracker::rtp_handoff_of), which parses and looks up. The
// tracker fills the hand-off only once a consumer has read it: without consumers it costs
// nothing, and a consumer's first call asks per packet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rtcap/analysis.hpp"
#include "rtcap/batch.hpp"

namespace rtcap::analysis {

struct RtpHandoffPacket {
  const std::uint8_t* payload = nullptr;  // after CSRCs, header extension and padding
  std::uint32_t payload_bytes = 0;
  std::uint32_t rtp_ts = 0;
  std::uint16_t seq = 0;
  std::uint8_t payload_type = 0;
  bool validated = false;       // the stream's RTP sequence passed probation
  std::int64_t ts_ns = 0;       // capture time
  std::uint32_t stream = 0;     // the tracker's slot, < config().max_streams
  std::uint64_t stream_id = 0;  // unique in the tracker's life: a reused slot has another
  // With the catalogue's version, what StreamTracker::pcm_format depends on: while these stay,
  // its answer stays (payload type and bytes above, the confirmed RTP timestamp step here).
  std::uint32_t samples_per_packet = 0;
};

struct RtpHandoff {
  std::uint64_t call = 0;               // add() calls so far
  const Batch* batch = nullptr;         // what the last call was given: a batch,
  const std::uint8_t* frame = nullptr;  // or one packet (its bytes and capture time)
  std::int64_t frame_ts_ns = 0;
  bool complete = true;  // every RTP packet of the call is in `packets` (else: ask per packet)
  std::vector<RtpHandoffPacket> packets;
  static constexpr std::size_t kCapacity = 4096;  // reserved once: a batch of the default size
};

// What a consumer remembers to tell a fresh hand-off from a stale one.
struct HandoffCursor {
  std::uint64_t call = ~0ull;
};

// Calls take(const RtpHandoffPacket&) for each RTP packet of `batch`, in order.
template <class Take>
void for_each_rtp(const StreamTracker& tracker, HandoffCursor& cursor, const Batch& batch,
                  Span<const int> linktype_by_interface, Take&& take) {
  const RtpHandoff& h = tracker.rtp_handoff();
  if (h.call != cursor.call && h.batch == &batch && h.complete) {
    cursor.call = h.call;
    for (const RtpHandoffPacket& e : h.packets) take(e);
    return;
  }
  RtpHandoffPacket e;
  for (PacketView p : batch) {
    const int lt = p.interface_index < linktype_by_interface.size()
                       ? linktype_by_interface[p.interface_index]
                       : -1;
    if (tracker.rtp_handoff_of(p, lt, e)) take(e);
  }
}

template <class Take>
void for_each_rtp(const StreamTracker& tracker, HandoffCursor& cursor, const PacketView& packet,
                  int linktype, Take&& take) {
  const RtpHandoff& h = tracker.rtp_handoff();
  if (h.call != cursor.call && h.batch == nullptr && h.frame == packet.bytes.data() &&
      h.frame_ts_ns == packet.ts_ns && h.complete) {
    cursor.call = h.call;
    for (const RtpHandoffPacket& e : h.packets) take(e);
    return;
  }
  RtpHandoffPacket e;
  if (tracker.rtp_handoff_of(packet, linktype, e)) take(e);
}

}  // namespace rtcap::analysis
