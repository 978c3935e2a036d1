// The session catalogue: every SDP session rtcap knows (SAP announcements from the wire, --sdp
// files), indexed by destination (group and port) so that matching a stream, or an announcement
// changing what a destination carries, costs the entries of that destination only.
//
// What enters is bounded where it enters: SAP only from complete payloads (not fragmented, not
// cut by the snapshot length), at most kSapBurst parsed announcements at once and kSapPerSecond
// a second in all, kSapOriginBurst and kSapOriginPerSecond per originating source; a repeat of a
// known announcement (same origin, hash and text) only refreshes it and costs no parse. SDP values
// are range-checked by parse_sdp. Sessions end when their sender deletes them or when they are not
// re-announced (RFC 2974 section 4: ten announcement periods or one hour, whichever is longer);
// --sdp sessions never end.
//
// Cold path except match(), which the tracker calls when a stream is created (one hash lookup).
// Private to librtcap; the stream tracker owns one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "rtcap/sdp.hpp"

namespace rtcap::analysis {

// A destination: the key of the index and of the tracker's destination chains.
struct Destination {
  std::uint8_t family = 0;
  std::uint8_t addr[16] = {};
  std::uint16_t port = 0;
  [[nodiscard]] bool operator==(const Destination& o) const noexcept;
  [[nodiscard]] std::uint64_t hash() const noexcept;
};
[[nodiscard]] Destination destination_of(const SdpFormat& f) noexcept;

// "SDP 'Huge rate' (sap 198.18.0.1 #1a2b) refused: rtpmap L24/0/2: clock rate 0 Hz out of range
// 1000..768000", printable: the one line every front end gives for a format parse_sdp refused.
[[nodiscard]] std::string refused_sdp_text(const SdpFormat& f);
// How many of `formats` (TrackerSnapshot::sdp: the live ones) parse_sdp refused: the one count the
// table's SAP line and the rtcap_sdp_refused_formats gauge give.
[[nodiscard]] std::size_t refused_formats(const std::vector<SdpFormat>& formats) noexcept;

// RFC 2974 section 3.1 has an announcer send at most ~4,000 bits/s in a scope; a real device
// announces each session every 30 s (AES67) and a few dozen at start. 64 at once and 16 a second
// per origin pass a 64-session device's start-up burst; 256 at once and 128 a second in all cap a
// flood at well under a millisecond of parsing per second (measured: one announcement ~5 us).
inline constexpr double kSapBurst = 256;
inline constexpr double kSapPerSecond = 128;
inline constexpr double kSapOriginBurst = 64;
inline constexpr double kSapOriginPerSecond = 16;
// RFC 2974 section 4: a session is deleted when not re-announced for ten times the announcement
// interval or one hour, whichever is the greater.
inline constexpr std::int64_t kSapTimeoutPeriods = 10;
inline constexpr std::int64_t kSapMinTimeoutNs = 3600LL * 1'000'000'000;

struct SapCounters {
  std::uint64_t packets = 0;
  std::uint64_t announcements = 0;  // parsed, carrying SDP (new or changed)
  std::uint64_t refreshes = 0;      // the same announcement again: last-seen time only
  std::uint64_t deletions = 0;
  std::uint64_t encrypted_or_compressed = 0;
  std::uint64_t malformed = 0;
  std::uint64_t incomplete = 0;    // fragmented or cut by the snapshot length: not parsed
  std::uint64_t rate_limited = 0;  // over the per-origin or overall budget: not parsed
  std::uint64_t expired = 0;       // sessions not re-announced in time
  std::uint64_t evicted = 0;       // sessions pushed out to make room
};

class SessionCatalogue {
 public:
  explicit SessionCatalogue(std::size_t max_formats = 256);

  // --sdp FILE (or an embedder's SDP): replaces what the same origin gave before. Never expires.
  void add_file(const std::vector<SdpFormat>& formats, std::vector<Destination>& changed);
  // One SAP datagram (the UDP payload), `complete` when the whole payload was captured.
  // Destinations whose sessions changed are appended to `changed`.
  void on_sap(const std::uint8_t* payload, std::size_t len, bool complete, std::int64_t now_ns,
              std::vector<Destination>& changed);
  // Ends the sessions not re-announced in time; checks at most once a second of packet time.
  void expire(std::int64_t now_ns, std::vector<Destination>& changed);

  // The format slot describing a stream (destination, source, payload type), -1 if none: an
  // active format whose payload type matches first, a --sdp file's before an announcement's,
  // the latest announced among equals.
  [[nodiscard]] std::int32_t match(const Destination& d, std::uint8_t family,
                                   const std::uint8_t* src, int payload_type) const noexcept;
  [[nodiscard]] const SdpFormat& format(std::int32_t slot) const noexcept {
    return slots_[static_cast<std::size_t>(slot)].format;
  }
  // Changes when the slot is given to another session: a stream that kept an ended session's
  // description checks it before reading the slot again.
  [[nodiscard]] std::uint32_t generation(std::int32_t slot) const noexcept {
    return slots_[static_cast<std::size_t>(slot)].generation;
  }
  // A stream matched the slot: under a flood of new announcements, the formats that describe
  // traffic are the last to be pushed out.
  void mark_used(std::int32_t slot) noexcept { slots_[static_cast<std::size_t>(slot)].used = true; }
  [[nodiscard]] bool active(std::int32_t slot) const noexcept {
    return slots_[static_cast<std::size_t>(slot)].state == SlotState::kActive;
  }

  struct FormatEntry {
    const SdpFormat* format;
    std::int32_t slot;
    std::int64_t first_seen_ns;  // packet time of the first announcement (0: a file)
    std::int64_t last_seen_ns;
    std::uint64_t announcements;
    const char* ended;  // nullptr while active; "deleted", "expired"
  };
  // Every format still held (active, or ended and kept for the streams it described).
  [[nodiscard]] std::vector<FormatEntry> entries() const;
  [[nodiscard]] std::vector<SdpFormat> active_formats() const;
  [[nodiscard]] const SapCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }  // bumps on changes
  [[nodiscard]] std::size_t memory_bytes() const noexcept;
  void clear_counters() noexcept { counters_ = SapCounters{}; }

 private:
  enum class SlotState : std::uint8_t { kFree, kActive, kEnded };
  struct Slot {
    SdpFormat format;
    std::uint32_t generation = 0;
    SlotState state = SlotState::kFree;
    bool used = false;  // a stream matched it
    const char* ended = nullptr;
    std::uint64_t session = 0;  // key of the session it belongs to
    std::int64_t first_seen_ns = 0;
    std::int64_t last_seen_ns = 0;
    std::uint64_t announcements = 0;
  };
  struct Session {
    std::string origin;  // "sap 198.18.0.1 #1a2b", "file a.sdp"
    IpAddress sap_origin;
    std::uint16_t msg_id_hash = 0;
    bool from_file = false;
    std::string sdp_text;  // the announcement as parsed, to recognise a repeat
    std::int64_t last_seen_ns = 0;
    std::int64_t period_ns = 0;  // between the last two announcements
    std::vector<std::int32_t> slots;
  };
  struct Bucket {  // token bucket, refilled by packet time
    double tokens = 0;
    std::int64_t at_ns = 0;
    bool started = false;
    bool take(std::int64_t now_ns, double burst, double per_second) noexcept;
  };

  void end_session(std::uint64_t key, const char* why, std::vector<Destination>& changed);
  void place(std::uint64_t key, Session& s, const std::vector<SdpFormat>& formats,
             std::int64_t now_ns, std::vector<Destination>& changed);
  std::int32_t free_slot(std::uint64_t placing, std::vector<Destination>& changed);
  void release(std::int32_t slot, SlotState to, const char* why, std::vector<Destination>& changed);

  std::size_t max_formats_;
  std::vector<Slot> slots_;
  std::unordered_map<std::uint64_t, Session> sessions_;
  std::unordered_map<std::uint64_t, std::vector<std::int32_t>> by_destination_;
  Bucket overall_;
  static constexpr std::size_t kOriginBuckets = 256;  // hashed; colliding origins share one
  Bucket origin_[kOriginBuckets];
  std::int64_t next_expiry_check_ns_ = 0;
  SapCounters counters_;
  std::uint64_t version_ = 0;
};

}  // namespace rtcap::analysis
