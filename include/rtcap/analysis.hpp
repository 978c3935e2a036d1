// Stream analysis: "where did the packets go?"
//
// A StreamTracker is fed every captured packet by the consumer thread. It parses the link layer
// (Ethernet with 802.1Q/802.1ad tags, Linux cooked v1/v2, raw IP, BSD loopback), IPv4/IPv6 and
// UDP, and keeps per-stream statistics for every UDP flow and, when the payload is RTP, for every
// SSRC within it: RFC 3550 A.1 sequence tracking (expected, lost, duplicates, late packets,
// restarts), RFC 3550 interarrival jitter, packet-interval statistics and, when the sender put
// rtcap's send-time header extension in the packet, one-way delay.
//
//   rtcap::StreamTracker tracker;  // compiled in tests/unit/test_header_examples.cpp
//   for (rtcap::PacketView p : batch) tracker.add(p, linktype);
//   std::string table = rtcap::format_stream_table(tracker.snapshot());
//
// Memory is fixed at construction (max_streams slots, the least recently seen stream is evicted
// to make room and the eviction is counted); after warm-up `add` allocates nothing, takes no
// lock, makes no system call and never throws. Not thread-safe: the consumer thread owns it, and
// a status printer calls snapshot() from that same thread.
#pragma once

#include "rtcap/export.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rtcap/batch.hpp"
#include "rtcap/error.hpp"
#include "rtcap/ptp.hpp"
#include "rtcap/redundancy.hpp"
#include "rtcap/sdp.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

namespace analysis {
struct RtpHandoff;
struct RtpHandoffPacket;
}  // namespace analysis

// Link types (DLT_* values as libpcap hands them out by pcap_datalink()).
inline constexpr int kDltNull = 0;         // BSD loopback, host-order AF_ family
inline constexpr int kDltEn10mb = 1;       // Ethernet
inline constexpr int kDltRaw = 12;         // raw IP (most platforms)
inline constexpr int kDltRawOpenBsd = 14;  // raw IP (OpenBSD's DLT_RAW)
inline constexpr int kLinktypeRaw = 101;   // raw IP as written in files
inline constexpr int kDltLoop = 108;       // OpenBSD loopback, network-order AF_ family
inline constexpr int kDltLinuxSll = 113;   // Linux cooked capture v1 ("any" device)
inline constexpr int kDltLinuxSll2 = 276;  // Linux cooked capture v2

// A link type an application passes (pcap_datalink(), rtcap_interface_info): 0 to 65535, the
// pcap file header's 16 bits. One of another value is refused (kBadConfig, setting "linktype");
// one in range the analysis does not parse is counted as not parsed.
inline constexpr int kMaxLinktype = 65535;
[[nodiscard]] inline bool linktype_in_range(int linktype) noexcept {
  return linktype >= 0 && linktype <= kMaxLinktype;
}

// RTP header extension (RFC 8285 one-byte form, profile 0xBEDE) element that rtcap's generator
// writes: 8 data bytes, CLOCK_REALTIME nanoseconds at send time, big-endian uint64.
inline constexpr int kSendTimeExtensionId = 1;

// StreamTrackerConfig::max_streams: the table is allocated up front, about 2 KiB a slot (the
// stream, its histograms, its index buckets), so 65,536 slots take about 128 MiB: a /16 of
// streams, far beyond a media network's, and still a bound an embedder can afford.
inline constexpr std::size_t kMinTrackerStreams = 1;
inline constexpr std::size_t kMaxTrackerStreams = 65536;

struct StreamTrackerConfig {
  // Table slots (kMinTrackerStreams..kMaxTrackerStreams); more streams evict the least
  // recently seen.
  std::size_t max_streams = 1024;
  // Hz, RTP clock for payload types neither static, nor in an SDP, nor mapped: 48000, the rate
  // AES67 makes mandatory (AES67-2018 section 7.1).
  std::uint32_t default_clock_rate = 48000;
  std::map<int, std::uint32_t> clock_rate_by_pt;  // --clock-rate PT=HZ: payload type -> Hz
  // --audio-format SELECTOR=ENC/RATE/CH: the format (and clock) of the streams each selects,
  // before an SDP describing the stream (the user's word for the streams it selects; the
  // format's source then names the SDP it overrides) and --clock-rate; the first that selects
  // wins.
  std::vector<FormatOption> audio_formats;
  // SDPs given up front (--sdp FILE); announcements seen in the traffic (SAP, UDP port 9875) are
  // added as they arrive when parse_sap is set.
  std::vector<SdpFormat> sdp;
  bool parse_sap = true;
  // Media descriptions the catalogue holds; more replace the oldest ended, then the oldest
  // announced one (never a --sdp file's).
  std::size_t max_sdp_formats = 256;
  // TS-DF window (ms): 200, as EBU LIST (see docs/TUNING.md for why).
  std::int64_t ts_df_window_ms = 200;
  // Expected packet time for the gap count; 0: estimate per stream from RTP timestamp deltas.
  std::int64_t expected_ptime_ns = 0;
  bool detect_rtp = true;  // false: every UDP flow is tracked as raw UDP
  // Capture outages (set_outages): a sequence gap's share of them is settled this long after
  // the gap, in packet time; until then it is worked out again against the outages known at
  // each snapshot. 5000: the engine sees a link change within one statistics interval (1 s) and
  // the CLI passes the outages on once a second; 5 s leaves room for both and for a late look.
  std::int64_t outage_settle_ms = 5000;
};

// Checks a StreamTrackerConfig: max_streams (kMinTrackerStreams..kMaxTrackerStreams) and the
// clock rates (default_clock_rate, clock_rate_by_pt and each audio_formats entry:
// kMinClockRateHz..kMaxClockRateHz, payload types 0..127, channels 1..kMaxChannels, sdp.hpp).
// Nothing when they are fine, else a kBadConfig Error whose `setting` names the field and `reason`
// says what is wrong. StreamTracker's constructor throws std::invalid_argument with the same
// message.
[[nodiscard]] RTCAP_API std::optional<Error> validate(const StreamTrackerConfig& config);

// Where a stream's RTP clock rate came from, in the order they are tried: a format option
// selecting the stream (audio_formats), an SDP describing the stream (SAP or --sdp, its
// a=rtpmap for the packets' payload type), a per-payload-type option (--clock-rate PT=HZ: e.g.
// a device sending L16 at 48 kHz on PT 11), a
// static payload type's own clock (RFC 3551 tables 4 and 5), the default (48 kHz, AES67's
// mandatory rate, or a bare --clock-rate HZ).
enum class ClockSource : std::uint8_t { kDefault, kStatic, kSdp, kOption };
[[nodiscard]] RTCAP_API const char* to_string(
    ClockSource source) noexcept;  // "default", "static", ...

// RFC 3551 tables 4 and 5: the RTP clock of a static payload type (0..34), 0 when the type is
// unassigned or dynamic (35..127). G722 (9) is 8000: the RTP clock, not its 16 kHz sampling.
[[nodiscard]] RTCAP_API std::uint32_t static_clock_rate(int payload_type) noexcept;
// RFC 3551 encoding name ("PCMU", "PCMA", "G722", "L16"...), nullptr when not static.
[[nodiscard]] RTCAP_API const char* static_encoding_name(int payload_type) noexcept;
// Channels of a static audio type (L16 stereo 10: 2; the others 1); 0 when not static audio.
[[nodiscard]] RTCAP_API int static_channels(int payload_type) noexcept;

// JT-NM Tested 2022 verdict for an ST 2110-30 / AES67 stream (thresholds in docs/TUNING.md):
// TS-DF below one packet time: narrow; up to 17 packet times: wide; above: not compliant; PIT
// mean more than 1% from the packet time also makes it not compliant. Unknown: not enough data
// (fewer than one full TS-DF window, or no packet time).
enum class TimingVerdict : std::uint8_t { kUnknown, kNarrow, kWide, kNotCompliant };
[[nodiscard]] RTCAP_API const char* to_string(
    TimingVerdict verdict) noexcept;  // "unknown", "narrow",
                                      // "wide", "not_compliant"

// Packet interval time (EBU Tech 3337 "PIT"): arrival gap between consecutive packets of a stream
// (arrival order), in microseconds.
struct PitBin {
  double lower_us = 0;  // [lower_us, upper_us)
  double upper_us = 0;
  std::uint64_t count = 0;
};
struct PitStats {
  std::uint64_t count = 0;
  double min_us = 0;
  double mean_us = 0;
  double max_us = 0;
  double ptime_us = 0;  // the packet time it is compared against (0: unknown)
  // The sender's pacing: the mean over intervals between consecutive sequence numbers only (an
  // interval across a lost or reordered packet measures the loss). The verdict judges this.
  double paced_mean_us = 0;
  std::vector<PitBin> histogram;  // non-empty bins, ascending; log-linear, 8 bins per octave
};

// AES67 / ST 2110-30 timing of one RTP stream (formulas and windows in docs/TUNING.md).
struct AudioTiming {
  PitStats pit;
  // TS-DF (EBU Tech 3337): D(i) = (R(i) - S(i)) - (R(0) - S(0)), max D - min D per window.
  double ts_df_us = 0;       // largest over the completed windows
  double ts_df_last_us = 0;  // the last completed window
  // The last completed windows (up to 16), oldest first: the last is window ts_df_windows - 1.
  std::vector<double> ts_df_recent_us;
  std::uint64_t ts_df_windows = 0;
  double ts_df_window_ms = 0;  // the window used (200 ms, as EBU LIST)
  // Least-squares slope of RTP time against arrival time, minus 1, in ppm (Wireshark's "Freq
  // Drift" as a rate error). Positive: the sender's clock runs fast against the capture clock.
  bool has_drift = false;
  double drift_ppm = 0;
  // "Delta packet vs RTP": arrival time in media-clock ticks (mod 2^32) minus (RTP timestamp -
  // mediaclk offset), in us. Meaningful only when the capture clock is PTP-disciplined
  // (a NIC with PTP hardware timestamps, -j adapter): otherwise it measures the clocks' offset.
  bool has_delta_rtp = false;
  double delta_rtp_min_us = 0;
  double delta_rtp_mean_us = 0;
  double delta_rtp_max_us = 0;
  TimingVerdict verdict = TimingVerdict::kUnknown;
  // Why not compliant, in words: which test failed and by how much ("" otherwise).
  std::string verdict_reason;
  // The clock every figure above is in: they count from since_ns, the stream's first packet or
  // the first after its clock changed (a late SDP or a re-announcement with another rate).
  std::int64_t since_ns = 0;
  std::uint32_t clock_changes = 0;
  std::uint32_t previous_clock_rate = 0;  // before the last change; 0: none
  // No SDP, option or static type gave the clock: the figures are in an assumed unit, so the
  // verdict stays unknown ("unknown: clock assumed").
  bool clock_assumed = false;
};

// Arrival-time gaps between consecutive packets of one stream (arrival order).
struct IntervalStats {
  std::uint64_t count = 0;  // gaps measured (packets - 1)
  double mean_ms = 0;
  double stddev_ms = 0;
  double min_ms = 0;
  double max_ms = 0;            // the largest gap
  double ptime_ms = 0;          // expected packet time (configured or estimated); 0: unknown
  std::uint64_t long_gaps = 0;  // gaps > 1.5 x ptime (only counted once ptime is known)
};

// One-way delay = capture timestamp - sender timestamp (both CLOCK_REALTIME, so meaningful only
// when the clocks agree: same host, or PTP-synchronised hosts).
struct DelayStats {
  std::uint64_t count = 0;
  std::int64_t min_ns = 0;
  std::int64_t max_ns = 0;
  double mean_ns = 0;
  std::uint64_t p99_ns = 0;    // from a log-linear histogram, <= 3.1% above the true value
  std::uint64_t negative = 0;  // samples below zero (clocks disagree); recorded as 0 in p99
};

// Levels of one channel of a PCM stream (--levels, --extract-audio: its L16/L24 samples as they
// arrive): peak and RMS over the last whole second of received audio (lost packets are not
// counted as silence), in dBFS: a full-scale sine reads 0 peak and -3.01 RMS (no AES17 +3 dB);
// digital zero reads -infinity (null in JSON). Silence: below this level for longer than this time
// (the level meter's defaults: the live audio API's, the stream table's). 10 s: a dead-air alarm,
// not a pause in speech or music (those rarely pass 2-3 s); a Prometheus rule can pick its own time
// from silent_seconds.
inline constexpr double kDefaultSilenceThresholdDbfs = -60.0;
// The threshold's range: 0 dBFS is full scale; -200 is below the smallest 32-bit sample
// (-186 dBFS), there only digital zero is silent.
inline constexpr double kMinSilenceThresholdDbfs = -200.0;
inline constexpr double kMaxSilenceThresholdDbfs = 0.0;
inline constexpr std::uint32_t kDefaultSilenceMs = 10000;

struct ChannelLevels {
  std::uint64_t seconds = 0;  // whole seconds measured; 0: peak and rms not known yet
  double peak_dbfs = 0;
  double rms_dbfs = 0;
  double silent_seconds = 0;          // since the last sample at or above the silence threshold
  bool silent = false;                // silent_seconds has reached the set silence time
  std::uint64_t silences = 0;         // times the channel became silent
  std::uint64_t clipped_samples = 0;  // full-scale samples (either sign), in all
};

struct StreamSummary {
  std::uint64_t id = 0;  // first-seen order (0, 1, 2, ... across the tracker's life)
  std::uint16_t interface_index = 0;
  IpAddress src;
  IpAddress dst;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  bool is_rtp = false;

  std::uint64_t packets = 0;  // every packet of the stream the tracker saw
  std::uint64_t bytes = 0;    // sum of wire lengths (whole frames)
  std::int64_t first_ts_ns = 0;
  std::int64_t last_ts_ns = 0;
  double rate_pps = 0;  // packets / (last - first)
  double rate_bps = 0;  // bytes * 8 / (last - first)
  IntervalStats interval;

  // RTP only (zero for raw UDP).
  std::uint32_t ssrc = 0;
  int payload_type = -1;  // of the latest packet
  std::uint32_t clock_rate = 0;
  ClockSource clock_source = ClockSource::kDefault;
  bool validated = false;      // passed RFC 3550 probation (MIN_SEQUENTIAL in-order packets);
                               // false: expected/lost say nothing, the stream is never "complete"
  std::uint64_t expected = 0;  // extended highest seq - base + 1, summed over restarts
  std::uint64_t received = 0;  // RFC 3550 count (includes duplicates)
  std::uint64_t lost = 0;      // expected - distinct sequence numbers received: never negative
  std::uint64_t lost_estimate = 0;  // not validated: sequence range - packets, as tshark counts
  std::int64_t rfc3550_cumulative_lost = 0;  // expected - received (RTCP RR, tshark): duplicates
                                             // push it below zero
  std::uint64_t loss_jumps = 0;  // jumps >= MAX_DROPOUT whose RTP timestamp advanced with the
                                 // sequence (same samples per packet): outages, counted as loss
  // `lost` split by where the missing packets fell (StreamTracker::set_outages): in a capture
  // outage of the stream's interface (it was down or gone, so the capture missed them: not the
  // network's doing), or outside every outage (lost before the capture point, or dropped by the
  // capture: attribute_loss splits that part). outage_lost + network_lost == lost.
  std::uint64_t outage_lost = 0;
  std::uint64_t network_lost = 0;
  std::uint64_t duplicates = 0;    // a sequence number seen twice (within the last 128)
  std::uint64_t reordered = 0;     // late packets: behind the highest seq, not seen before
  std::uint64_t seq_restarts = 0;  // large jump confirmed by a sequential packet
  std::uint64_t bad_seq = 0;       // packets dropped from the count by the large-jump rule
  double jitter = 0;               // RFC 3550 J, RTP clock units
  double jitter_ms = 0;
  double max_jitter_ms = 0;
  bool has_delay = false;
  DelayStats one_way_delay;  // valid when has_delay

  // Payload bytes of the latest packet (after the RTP header, extension and padding).
  std::uint32_t payload_bytes = 0;
  // The SDP that describes this stream (matched by destination group and port, and by the
  // a=source-filter source when it has one), from SAP or --sdp.
  bool has_sdp = false;
  SdpFormat sdp;
  // What the packets contradict in that SDP, one line each ("payload type 97, SDP says 96",
  // "payload 144 bytes, SDP format 2 ch x 3 bytes x 48 samples = 288", "packet interval 0.250 ms,
  // SDP ptime 1 ms").
  std::vector<std::string> sdp_mismatches;
  AudioTiming timing;  // RTP only
  // The SDP's PTP reference clock (a=ts-refclk) against the grandmaster on the wire in that
  // domain (TrackerSnapshot::ptp); ptp_grandmaster_seen is the wire's, when one was seen.
  PtpMatch ptp_match = PtpMatch::kNoReference;
  PtpClockIdentity ptp_grandmaster_seen{};
  // delta_rtp_us taken to PTP time with the capture-clock offset estimated from the wire
  // (PtpMasterSummary::offset of that domain's grandmaster): how far behind its RTP timestamp's
  // PTP media time (a=mediaclk:direct) the packet arrived. An estimate: mean over the stream
  // against the offset now; uncertainty = the offset's spread. Set with a matching grandmaster.
  bool has_ptp_rtp_offset = false;
  double ptp_rtp_offset_us = 0;
  double ptp_rtp_offset_uncertainty_us = 0;
  std::vector<ChannelLevels> levels;  // one per channel when the audio was decoded
};

struct TrackerTotals {
  std::uint64_t packets = 0;         // every packet given to add()
  std::uint64_t bytes = 0;           // sum of wire lengths
  std::uint64_t udp = 0;             // UDP datagrams (first fragments included)
  std::uint64_t rtp = 0;             // of which parsed as RTP
  std::uint64_t malformed = 0;       // truncated headers, bad lengths, bad versions
  std::uint64_t other = 0;           // not IP, or IP but not UDP, or unknown link type
  std::uint64_t fragments = 0;       // non-first IP fragments (counted, not parsed)
  std::uint64_t evicted = 0;         // streams pushed out of the table to make room
  std::uint64_t streams_seen = 0;    // distinct streams ever created
  std::uint64_t streams_active = 0;  // in the table now
  // Sequence loss of evicted streams, kept so that totals stay right after eviction.
  std::uint64_t evicted_expected = 0;
  std::uint64_t evicted_lost = 0;
  std::uint64_t evicted_outage_lost = 0;      // of evicted_lost: in capture outages
  std::uint64_t unvalidated_rtp_streams = 0;  // RTP streams (in the table) never out of probation
  // SAP (RFC 2974) datagrams seen on UDP port 9875, and how they ended.
  std::uint64_t sap_packets = 0;
  std::uint64_t sap_announcements = 0;  // parsed, carrying SDP (new or changed)
  std::uint64_t sap_refreshes = 0;      // a known announcement again: not parsed again
  std::uint64_t sap_deletions = 0;
  std::uint64_t sap_encrypted_or_compressed = 0;  // counted and left alone
  std::uint64_t sap_malformed = 0;
  std::uint64_t sap_incomplete = 0;    // fragmented or cut by the snapshot length: not read
  std::uint64_t sap_rate_limited = 0;  // over the per-origin or overall budget: not read
  std::uint64_t sap_expired = 0;       // sessions not re-announced in time (RFC 2974 section 4)
  std::uint64_t sap_evicted = 0;       // sessions pushed out to make room
  // Packets the tracker looked at and could not use: not UDP, malformed or fragments (the
  // advisor's "consumer discarded" input).
  std::uint64_t discarded = 0;
  // Distinct destinations seen (saturates at 2) and whether any was multicast/broadcast: the
  // advisor's "all unicast to one destination" input.
  std::uint64_t distinct_destinations = 0;
  bool any_multicast = false;
};

// One media description of a session the catalogue holds (SAP or --sdp), with or without
// traffic: an engineer checking which devices announce sees them all.
struct SessionSummary {
  SdpFormat format;                // origin: "sap 198.18.0.1 #1a2b" or "file a.sdp"
  std::int64_t first_seen_ns = 0;  // packet time of the first announcement; 0: from a file
  std::int64_t last_seen_ns = 0;
  std::uint64_t announcements = 0;  // 0: from a file
  std::uint64_t streams = 0;        // streams in the table it describes now
  std::string ended;                // "" while active; "deleted", "expired"
};

struct TrackerSnapshot {
  TrackerTotals totals;
  std::vector<StreamSummary> streams;     // by first-seen id
  std::int64_t last_ts_ns = 0;            // newest packet timestamp seen
  std::vector<SdpFormat> sdp;             // every SDP format known (--sdp and SAP), live ones
  std::vector<SessionSummary> sessions;   // the catalogue: live ones and ended ones still held
  PtpSnapshot ptp;                        // PTP seen on the wire (UDP 319/320, EtherType 0x88F7)
  std::vector<RedundantPair> redundancy;  // ST 2022-7 pairs (rtcap/redundancy.hpp)
  RedundancyTotals redundancy_totals;
};

// One RTP stream, as the tracker keys it.
struct StreamKey {
  std::uint16_t interface_index = 0;
  IpAddress src;
  IpAddress dst;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t ssrc = 0;
};

// What the catalogue says about a stream for a consumer that turns its payload into samples
// (the audio extractor, an embedder's player): the PCM format, whether the stream has earned it,
// and where it came from.
enum class FormatState : std::uint8_t {
  kUnknownStream,  // the tracker holds no such stream (not seen yet, or evicted)
  kPending,        // not yet: in RTP sequence probation, or no format known (yet)
  kReady,          // sequence validated, format known, the packets agree with it
  kRefused,        // not PCM L16/L24, or the packets contradict the format: `why` says which
};
struct PcmStreamFormat {
  FormatState state = FormatState::kUnknownStream;
  int bits = 0;  // 16 or 24
  std::uint32_t rate_hz = 0;
  int channels = 0;
  std::uint32_t samples_per_packet = 0;  // the RTP timestamp step; 0: not seen yet
  std::string source;                    // "sdp 'Stage box 1' (sap 198.18.0.1 #1234)", "option
                                         // 97=L24/48000/2", "static (RFC 3551)"
  std::string why;                       // pending or refused: one line
  std::string session_name;              // the describing SDP's s=, when an SDP gives the format
  // No format known: an --audio-format that would describe the stream, inferred from its payload
  // size, RTP timestamp step and packet rate ("239.69.1.1:5004/97=L24/96000/4"); empty when the
  // packets do not tell.
  std::string hint;
  std::int64_t first_ts_ns = 0;  // the stream's first packet the tracker saw
  bool validated = false;        // RTP sequence validation passed
  // ST 2022-7: the stream is one leg of a redundant pair (rtcap/redundancy.hpp): the pair's group
  // ("DUP primary secondary" from a=group:DUP, or "ssrc 0x1a2b3c4d"), this leg (0: the pair's
  // path[0]) and the other leg. Empty group, leg -1: no pair (yet).
  std::string redundancy_group;
  int redundancy_leg = -1;
  StreamKey redundant_peer;
};

class RTCAP_API StreamTracker {
 public:
  explicit StreamTracker(StreamTrackerConfig config = {});
  ~StreamTracker();
  StreamTracker(const StreamTracker&) = delete;
  StreamTracker& operator=(const StreamTracker&) = delete;
  StreamTracker(StreamTracker&&) noexcept;
  StreamTracker& operator=(StreamTracker&&) noexcept;

  // Hot path. `linktype` is the handle's pcap_datalink() value.
  void add(const PacketView& packet, int linktype) noexcept;
  void add(const Batch& batch, int linktype) noexcept;
  // Several interfaces with different link types: indexed by PacketView::interface_index (an index
  // out of range counts the packet as "other").
  void add(const Batch& batch, Span<const int> linktype_by_interface) noexcept;

  [[nodiscard]] std::vector<StreamSummary> streams() const;  // by first-seen id
  [[nodiscard]] TrackerTotals totals() const noexcept;
  [[nodiscard]] TrackerSnapshot snapshot() const;
  [[nodiscard]] const StreamTrackerConfig& config() const noexcept;
  // Bytes the tracker holds now (table + histograms); bounded by max_streams.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;
  void clear() noexcept;  // forget every stream and counter (keeps the memory)
  // Adds (or replaces: same origin, group and port) SDP formats, e.g. read from a file; streams
  // already in the table that they describe pick them up. Not for the hot path.
  void add_sdp(const std::vector<SdpFormat>& formats);
  // The PCM format of one RTP stream (cold: a hash lookup and a few strings). Ask again when
  // catalogue_version() changed, or while the answer is kPending.
  [[nodiscard]] PcmStreamFormat pcm_format(const StreamKey& key) const;
  // The stream is in the table and its RTP sequence passed validation (one hash lookup).
  [[nodiscard]] bool stream_validated(const StreamKey& key) const noexcept;
  // Changes whenever a session is announced, changed, deleted or expires, and whenever an
  // ST 2022-7 pair forms or dissolves (pcm_format's redundancy_group and redundant_peer).
  [[nodiscard]] std::uint64_t catalogue_version() const noexcept;
  // The capture outages of one interface (PacketView::interface_index), e.g. from
  // CaptureStats::interfaces[i].outages; replaces what was given for it before. A stream's
  // missing packets are laid out evenly in time between the packets either side of their gap;
  // those within one packet time of an outage of the stream's interface count as outage_lost,
  // the others as network_lost. Give them again as they change (an open outage gets its end):
  // a gap is worked out against them until outage_settle_ms after it. Not for the hot path.
  void set_outages(std::uint16_t interface_index, Span<const LinkOutage> outages);
  void set_outages(const CaptureStats& stats);  // every interface's, by its index in the stats

  // Inside librtcap (not exported): the RTP packets of the last add() call, parsed once, for the
  // library's consumers of samples (src/analysis/rtp_handoff.hpp); the same for one packet the
  // tracker was fed before (parsed again, looked up); the identity of a stream slot.
  [[nodiscard]] RTCAP_LOCAL const analysis::RtpHandoff& rtp_handoff() const noexcept;
  RTCAP_LOCAL bool rtp_handoff_of(const PacketView& packet, int linktype,
                                  analysis::RtpHandoffPacket& out) const noexcept;
  [[nodiscard]] RTCAP_LOCAL StreamKey rtp_stream_key(std::uint32_t stream) const noexcept;

 private:
  struct RTCAP_LOCAL Impl;
  std::unique_ptr<Impl> impl_;
};

// Sum of sequence loss (expected - distinct received) over validated streams, plus the loss of
// evicted streams.
[[nodiscard]] RTCAP_API std::uint64_t total_sequence_loss(const TrackerSnapshot& snapshot) noexcept;
// Of that, the packets that fell in capture outages (StreamSummary::outage_lost), evicted too.
[[nodiscard]] RTCAP_API std::uint64_t total_outage_loss(const TrackerSnapshot& snapshot) noexcept;

// "Where did the packets go?" Splits the packets missing from RTP sequences into those the
// capture itself dropped and those lost before the capture point (on the network or sender).
//
// Reasoning: every packet the capture dropped (kernel ring full, interface drop, or no free batch
// in rtcap) is a packet the tracker never saw. If it belonged to a tracked RTP stream it shows up
// as a sequence gap; if it was other traffic (ARP, PTP, RTCP, untracked flows) it does not. So
// the capture explains at most min(missing, capture_dropped) of the gaps: that is an UPPER bound
// on "dropped by the capture", and missing - that is a LOWER bound on "lost before the capture".
// When the capture dropped nothing, every gap happened before the capture point. Caveats: Linux
// counts interface drops only in promiscuous mode; packets that arrive before the ring exists are
// not counted by anyone; loss after a stream's last received packet is invisible to sequence
// numbers.
struct LossAttribution {
  std::uint64_t missing_in_streams = 0;  // sequence gaps (positive per-stream loss)
  // Of those, the ones that fell in capture outages (an interface down or gone: the capture
  // missed them). The split below is of the rest: missing_in_streams - lost_in_outages.
  std::uint64_t lost_in_outages = 0;
  std::uint64_t capture_dropped = 0;          // kernel + interface + application drops
  std::uint64_t dropped_by_capture_max = 0;   // upper bound: min(missing, capture_dropped)
  std::uint64_t lost_before_capture_min = 0;  // lower bound: missing - dropped_by_capture_max
  bool exact = false;  // true when the split is certain (no capture drops, or nothing missing)
  std::uint64_t unvalidated_streams = 0;  // RTP streams whose loss could not be counted
  std::string text;                       // plain words for a person
};

[[nodiscard]] RTCAP_API LossAttribution attribute_loss(std::uint64_t missing_in_streams,
                                                       std::uint64_t capture_dropped);
// capture_dropped = stats.kernel_dropped() + stats.interface_dropped() + app_dropped_packets.
[[nodiscard]] RTCAP_API LossAttribution attribute_loss(std::uint64_t missing_in_streams,
                                                       const CaptureStats& stats);
// Where the packets come from, for the wording: a live capture knows its own drops; a file
// written by rtcap (pcapng with interface statistics blocks) says what its capture dropped; a
// file written by another tool without them cannot tell capture drops from upstream loss.
enum class DropKnowledge : std::uint8_t { kLive, kFileWithStatistics, kFileWithoutStatistics };
// The full form: also says when RTP streams never passed validation (their loss is unknown, so
// the headline is never "complete"), and words a file without statistics honestly.
[[nodiscard]] RTCAP_API LossAttribution attribute_loss(const TrackerSnapshot& snapshot,
                                                       std::uint64_t capture_dropped,
                                                       DropKnowledge knowledge);

// Output. JSON text (nlohmann inside the library, not in this header): an object with "totals"
// and "streams"; per stream src/dst address and port, ssrc as "0x%08x", payload_type,
// clock_rate, clock_source, packets, expected, lost, rfc3550_cumulative_lost, duplicates,
// reordered, jitter_ms, interval, pit {min_us, mean_us, max_us, histogram}, ts_df_us,
// drift_ppm, verdict, session_name, encoding, channels, sdp_ptime_ms, sdp_mismatches and, when
// known, one_way_delay; top level also "ptp" and "st2022_7" (the RedundantPair figures).
// indent < 0: one line.
[[nodiscard]] RTCAP_API std::string to_json(const TrackerSnapshot& snapshot, int indent = 2);
[[nodiscard]] RTCAP_API std::string to_json(const LossAttribution& loss, int indent = 2);
// Fixed-width text table for a terminal, in the spirit of `tshark -z rtp,streams`.
[[nodiscard]] RTCAP_API std::string format_stream_table(const TrackerSnapshot& snapshot);
// The same table fitted to `width` characters (0: every column): the columns that fit, by
// priority (destination, packets, lost, jitter, verdict first); the JSON has every figure.
[[nodiscard]] RTCAP_API std::string format_stream_table(const TrackerSnapshot& snapshot,
                                                        std::size_t width);

}  // namespace rtcap
