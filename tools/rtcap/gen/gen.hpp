// `rtcap gen`: sends RTP over UDP the way an AES67 audio source does (or raw tiny UDP packets),
// on an absolute schedule, with deliberate, reproducible loss and reordering for tests.
// Packet layout: src/wire/wire.hpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "wire/wire.hpp"

namespace CLI {
class App;
}

namespace rtcap::tool {

struct GenConfig {
  int streams = 1;
  std::int64_t ptime_ns = 1'000'000;  // packet time; 1ms, 250us, 125us
  // --ptime NNsamples: the packet in samples instead (48 at 44.1 kHz is 1.088435 ms, no whole
  // number of ns); then the schedule runs at samples / rate exactly and ptime_ns is unused.
  std::uint32_t ptime_samples = 0;
  int channels = 2;
  int sample_rate_hz = 48000;
  int bits = 24;  // 24: L24 (PT 97), 16: L16 (PT 96), 8: G.711 (PT 0, 8)
  // -1: dynamic, 97 for L24 and 96 for L16. Static RFC 3551 types: 0 PCMU and 8 PCMA (8,000 Hz,
  // mono, 8-bit), 10 L16 stereo and 11 L16 mono (44,100 Hz); dynamic 96..127 take --bits.
  int payload_type = -1;
  bool group_per_stream = false;  // stream k goes to group + k, all on the same port
  int tone_hz = 0;                // --tone: channel c carries tone_hz x (c + 1); 0: no tone
  bool sap = false;               // announce each stream with SAP (RFC 2974) + SDP
  double sap_interval_s = 30;     // announcement period (AES67 devices: ~30 s)
  std::string session_name = "rtcap gen";        // SDP s=, "<name> <k+1>" with several streams
  std::optional<std::size_t> raw_payload_bytes;  // --payload: plain UDP, no RTP
  std::optional<double> rate_pps;                // total over all streams; 0 = as fast as possible
  int burst = 1;                                 // packets back to back per tick
  std::optional<double> secs;                    // run time bound
  std::optional<std::uint64_t> count;            // total packet bound (produced, including drops)
  std::string dst_addr = "198.18.0.2";
  std::uint16_t dst_port = 5004;  // stream k: dst_port + 2k
  std::uint16_t src_port = 0;     // 0: ephemeral
  bool allow_multicast = false;
  std::string netns;     // enter before opening the socket
  double loss = 0.0;     // probability a produced packet is not sent
  double reorder = 0.0;  // probability a packet is sent after its successor
  std::uint64_t seed = 1;
  std::optional<std::uint16_t> seq_start;  // unset: random per stream (from seed)
  // ST 2022-7: every packet also goes to a second path, stream k to redundant_dst (+ k with
  // group_per_stream) on the same port, with its own loss (--loss is path 0's, reordering too)
  // and sent redundant_delay_packets packet times later. "": one path.
  std::string redundant_dst;
  double redundant_loss = 0.0;
  std::uint32_t redundant_delay_packets = 0;
  std::string truth_path;
  std::string json_path;
  bool quiet = false;
};

// One intentionally dropped or swapped packet.
struct TruthEvent {
  enum class Kind : std::uint8_t { kDrop, kReorder };
  Kind kind;
  std::uint32_t stream;
  std::uint32_t ssrc;     // 0 in raw mode
  std::uint16_t seq;      // RTP sequence number (raw mode: low 16 bits of index)
  std::uint64_t index;    // per-stream packet index
  std::uint8_t path = 0;  // 1: the ST 2022-7 second path (--redundant-dst)
};

struct StreamReport {
  std::uint32_t ssrc = 0;
  std::string dst_addr;
  std::uint16_t dst_port = 0;
  std::uint16_t first_seq = 0;
  std::uint64_t produced = 0;  // packets the schedule made for this stream
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;    // on purpose (--loss)
  std::uint64_t reordered = 0;  // on purpose (--reorder)
  std::uint64_t send_errors = 0;
  // --redundant-dst: path 1's copies. Its last redundant_delay_packets packets are not sent.
  std::string redundant_dst_addr;
  std::uint64_t redundant_sent = 0;
  std::uint64_t redundant_dropped = 0;
};

struct GenReport {
  bool rtp = true;
  std::size_t payload_bytes = 0;   // UDP payload after the RTP header+extension (raw: all of it)
  std::size_t datagram_bytes = 0;  // UDP payload size on the wire
  double target_pps = 0;           // 0: as fast as possible
  std::uint64_t produced = 0;
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;
  std::uint64_t reordered = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t enobufs = 0;       // part of send_errors
  std::uint64_t icmp_refused = 0;  // ECONNREFUSED from an ICMP unreachable, retried (not lost)
  std::string first_send_error;    // strerror of the first failed send, "" if none
  std::uint64_t sendmmsg_calls = 0;
  double duration_s = 0;
  double achieved_pps = 0;
  std::uint64_t pacing_samples = 0;  // packets with a schedule time (paced runs only)
  std::uint64_t pacing_p50_ns = 0;   // actual send - scheduled, per packet
  std::uint64_t pacing_p99_ns = 0;
  std::uint64_t pacing_max_ns = 0;
  std::uint8_t payload_type = 0;
  std::uint64_t sap_sent = 0;    // announcements and deletions sent
  std::uint64_t sap_errors = 0;  // announcements that could not be sent
  bool interrupted = false;      // stopped by signal / stop flag
  std::vector<StreamReport> streams;
  std::vector<TruthEvent> events;  // in the order they happened
};

// ---- pure helpers (unit tested) ----

// "1ms", "250us", "125us", "0.5ms", "125000ns" -> nanoseconds.
std::expected<std::int64_t, std::string> parse_ptime(const std::string& text);

// Samples per packet = sample_rate * ptime, which must be a whole number.
std::expected<std::uint32_t, std::string> samples_per_packet(int sample_rate_hz,
                                                             std::int64_t ptime_ns);

// Samples per packet of this configuration: ptime_samples, or samples_per_packet(rate, ptime_ns).
std::expected<std::uint32_t, std::string> packet_samples(const GenConfig& cfg);

// sample_rate * ptime * channels * bits / 8.
std::expected<std::size_t, std::string> audio_payload_bytes(int sample_rate_hz,
                                                            std::int64_t ptime_ns, int channels,
                                                            int bits);

// The absolute schedule: slot j (one packet, all streams interleaved, stream j % streams)
// is due at t0 + offset_ns(j). With a burst of B, slots come in ticks of B sent back to back at
// the tick's time. Rational period, so there is no rounding drift over long runs.
struct Schedule {
  std::uint64_t period_num = 0;  // slot period = period_num / period_den ns; num 0 = unpaced
  std::uint64_t period_den = 1;
  std::uint32_t burst = 1;
  [[nodiscard]] bool paced() const noexcept { return period_num != 0; }
  [[nodiscard]] std::int64_t offset_ns(std::uint64_t slot) const noexcept;
  [[nodiscard]] double rate_pps() const noexcept;
};

// From the configuration: --rate wins over the ptime-derived rate (streams / ptime).
std::expected<Schedule, std::string> make_schedule(const GenConfig& cfg);

// Deterministic per-stream values from the seed.
std::uint32_t stream_ssrc(std::uint64_t seed, std::uint32_t stream);
std::uint16_t stream_first_seq(std::uint64_t seed, std::uint32_t stream);

// Decides each produced packet's fate for one stream, reproducibly from (seed, stream).
// A packet held for reordering forces its successor to be sent normally (so the pair swaps).
class FateSelector {
 public:
  enum class Fate : std::uint8_t { kSend, kDrop, kHold };
  FateSelector(std::uint64_t seed, std::uint32_t stream, double loss, double reorder) noexcept;
  // `last`: the stream produces no packet after this one (then it is never held).
  Fate next(bool last) noexcept;

 private:
  std::uint64_t state_;
  std::uint64_t loss_threshold_;
  std::uint64_t hold_threshold_;
  bool previous_held_ = false;
};

// What goes in the RTP payload, from --payload-type and --bits.
enum class GenEncoding : std::uint8_t { kL24, kL16, kPcmu, kPcma };
struct PayloadFormat {
  std::uint8_t payload_type = rtp::kPayloadTypeL24;
  GenEncoding encoding = GenEncoding::kL24;
  int bytes_per_sample = 3;
  const char* name = "L24";  // the SDP encoding name (a=rtpmap)
};
std::expected<PayloadFormat, std::string> payload_format(const GenConfig& cfg);

// Stream k's destination address and port (group + k with group_per_stream, else port + 2k).
std::pair<std::string, std::uint16_t> stream_destination(const GenConfig& cfg,
                                                         std::uint32_t stream);

// The --tone signal, deterministic from the per-stream sample index n (0 = the stream's first
// sample): channel c (0-based) carries f = tone_hz x (c + 1),
//   v = floor(A x sin(2 pi x ((f x n) mod rate) / rate) + 0.5), A = (2^(bits-1) - 1) / 2 (-6 dBFS).
// The phase is reduced in integers first, so the value is the same however long the run; a test
// recomputes it with the same double operations (Python's math.sin is the same libm sin).
// G.711 types take the 16-bit value and encode it (linear_to_ulaw / linear_to_alaw).
std::int32_t tone_sample(int tone_hz, int channel, std::uint64_t n, int sample_rate_hz, int bits);
// ITU-T G.711 encoders (segment search; u-law with the 0x84 bias, A-law with the 0x55 toggle).
std::uint8_t linear_to_ulaw(std::int16_t pcm);
std::uint8_t linear_to_alaw(std::int16_t pcm);

// The AES67-style SDP (RFC 8866) announcing stream k, lines ending in CRLF. `origin` is the
// sender's IPv4 address; the media clock is a=mediaclk:direct=0 (an RTP timestamp is its packet's
// scheduled send time in samples since the epoch, stream_sdp's body says why).
// With --redundant-dst both legs are in one SDP (RFC 7104 a=group:DUP); `redundant_source` is
// the address path 1 leaves from (empty: `origin`).
std::string stream_sdp(const GenConfig& cfg, const PayloadFormat& fmt, std::uint32_t stream,
                       std::uint32_t ssrc, const std::string& origin,
                       const std::string& redundant_source = {});
// One SAP packet (RFC 2974 section 3): version 1, IPv4 origin, no authentication, not encrypted
// or compressed, payload type "application/sdp", then the SDP. `deletion` sets the T bit.
std::vector<std::uint8_t> sap_packet(bool deletion, std::uint16_t msg_id_hash,
                                     std::uint32_t origin_host_order, const std::string& sdp);
inline constexpr const char* kSapGroup =
    "239.255.255.255";                           // AES67's administratively scoped SAP group
inline constexpr std::uint16_t kSapPort = 9875;  // RFC 2974 section 3

// Checks destination, ranges and bounds; fills derived values. Error = one actionable line.
std::expected<void, std::string> validate_config(const GenConfig& cfg);

// Builds packet `index` of a stream into buf (size = datagram bytes) without the send time.
// RTP: seq/timestamp are the stream's values for this packet.
void build_packet(std::uint8_t* buf, std::size_t datagram_bytes, bool rtp,
                  std::uint8_t payload_type, std::uint16_t seq, std::uint32_t rtp_timestamp,
                  std::uint32_t ssrc, std::uint64_t index);

// ---- running ----

// Opens the socket (after entering cfg.netns), sends, reports. `stop` may be null; when it turns
// true the run ends early with a report. Does not install signal handlers.
std::expected<GenReport, std::string> run_generator(const GenConfig& cfg,
                                                    const std::atomic<bool>* stop);

std::string report_json(const GenReport& report, const GenConfig& cfg);  // pretty JSON text
std::string report_line(const GenReport& report);                        // one human line
// One JSON object per line per event: {"kind","stream","ssrc","seq","index"}.
std::string truth_jsonl(const GenReport& report);

// Registers `gen` with all options; the callback installs SIGINT/SIGTERM handlers, runs, prints
// the report line to stderr (unless -q), writes --json/--truth, sets exit_code (0 ok, 1 error).
CLI::App* add_gen_command(CLI::App& app, int& exit_code);

}  // namespace rtcap::tool
