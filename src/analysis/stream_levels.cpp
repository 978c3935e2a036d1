#include "analysis/stream_levels.hpp"

namespace rtcap::analysis {

StreamLevels::StreamLevels(const StreamTracker& tracker, std::size_t max_meters,
                           LevelsConfig config)
    : tracker_(tracker), config_(config) {
  records_.resize(tracker.config().max_streams);
  meters_.resize(max_meters);
  free_meters_.reserve(max_meters);
  for (std::size_t i = max_meters; i-- > 0;) free_meters_.push_back(static_cast<std::int32_t>(i));
}

void StreamLevels::add(const Batch& batch, Span<const int> linktype_by_interface) noexcept {
  for_each_rtp(tracker_, cursor_, batch, linktype_by_interface,
               [&](const RtpHandoffPacket& e) { take(e); });
}

void StreamLevels::add(const PacketView& packet, int linktype) noexcept {
  for_each_rtp(tracker_, cursor_, packet, linktype, [&](const RtpHandoffPacket& e) { take(e); });
}

void StreamLevels::release(Record& r) noexcept {
  if (r.meter >= 0) free_meters_.push_back(r.meter);  // never beyond its reserved capacity
  r = Record{};
}

// The catalogue's answer, asked again only when it may have changed (RtpHandoffPacket).
void StreamLevels::resolve(Record& r, std::uint32_t slot) noexcept {
  PcmStreamFormat pf;
  try {
    pf = tracker_.pcm_format(tracker_.rtp_stream_key(slot));
  } catch (...) {  // the catalogue's strings: out of memory
    return;
  }
  if (pf.state != FormatState::kReady) {
    r.frame_bytes = 0;
    return;
  }
  const std::size_t frame_bytes =
      static_cast<std::size_t>(pf.channels) * static_cast<std::size_t>(pf.bits / 8);
  if (r.meter < 0) {
    if (free_meters_.empty()) {
      if (r.frame_bytes == 0) ++not_metered_;
      r.frame_bytes = 0;
      return;
    }
    r.meter = free_meters_.back();
    free_meters_.pop_back();
  } else if (r.frame_bytes != 0 && pf.rate_hz == r.rate_hz && pf.bits == r.bits &&
             pf.channels == r.channels) {
    return;  // the same format: the meter goes on
  }
  meters_[static_cast<std::size_t>(r.meter)].reset(pf.rate_hz, pf.channels, pf.bits, config_);
  r.frame_bytes = frame_bytes;
  r.rate_hz = pf.rate_hz;
  r.bits = pf.bits;
  r.channels = pf.channels;
}

void StreamLevels::take(const RtpHandoffPacket& e) noexcept {
  if (e.stream >= records_.size()) return;
  Record& r = records_[e.stream];
  if (!r.used || r.stream_id != e.stream_id) {
    release(r);  // the tracker gave the slot to another stream
    r.used = true;
    r.stream_id = e.stream_id;
  }
  const std::uint64_t version = tracker_.catalogue_version();
  if (r.version_seen != version || r.validated_seen != e.validated ||
      r.payload_type_seen != e.payload_type || r.payload_bytes_seen != e.payload_bytes ||
      r.samples_per_packet_seen != e.samples_per_packet) {
    r.version_seen = version;
    r.validated_seen = e.validated;
    r.payload_type_seen = e.payload_type;
    r.payload_bytes_seen = e.payload_bytes;
    r.samples_per_packet_seen = e.samples_per_packet;
    resolve(r, e.stream);
  }
  if (r.frame_bytes == 0) return;
  // One 32-bit division per packet (frame_bytes is at most 64 x 4).
  const auto frame_bytes = static_cast<std::uint32_t>(r.frame_bytes);
  const std::uint32_t frames = e.payload_bytes / frame_bytes;
  if (frames * frame_bytes != e.payload_bytes) return;
  meters_[static_cast<std::size_t>(r.meter)].add_big_endian(e.payload, frames);
}

void StreamLevels::add_levels(std::vector<StreamSummary>& streams) const {
  for (const Record& r : records_) {
    if (!r.used || r.meter < 0 || r.frame_bytes == 0) continue;
    for (StreamSummary& summary : streams) {
      if (!summary.is_rtp || summary.id != r.stream_id) continue;
      const LevelMeter& m = meters_[static_cast<std::size_t>(r.meter)];
      summary.levels.clear();
      for (int c = 0; c < m.channels() && c < LevelMeter::kMaxChannels; ++c)
        summary.levels.push_back(m.levels(c));
      break;
    }
  }
}

}  // namespace rtcap::analysis
