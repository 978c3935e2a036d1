// The capture command's options: the one place they are declared (tcpdump's letters where
// tcpdump has them). The golden --help test and docs/rtcap.1 are checked against this table.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/audio_extract.hpp"
#include "capture/rotation.hpp"
#include "rtcap/config.hpp"
#include "rtcap/error.hpp"
#include "rtcap/sdp.hpp"

namespace CLI {
class App;
}

namespace rtcap::tool {

struct CaptureOptions {
  CaptureConfig config;
  std::vector<std::string> filter_words;  // trailing arguments, joined by spaces
  std::string write_path;                 // -w
  bool packet_buffered = false;           // -U
  bool pcapng = false;                    // --pcapng (also: -w name ending in .pcapng)
  RotationOptions rotation;               // -C, -G, -W
  bool quiet = false;                     // -q: no live status line
  bool list_devices = false;              // -D
  bool list_tstamp_types = false;         // -J
  std::string stats_json_path;            // --stats-json
  std::string netns;                      // --netns: capture inside a network namespace
  std::string precision_name = "nano";    // --time-stamp-precision
  std::string mode_name = "dispatch";     // --mode
  // --mode naive: the benchmark's baseline (src/engine/baseline.hpp), not a CaptureConfig field.
  [[nodiscard]] bool naive() const { return mode_name == "naive"; }
  std::string overflow_name = "drop";  // --on-overflow
  bool consumer_thread = false;        // --consumer-thread: threaded delivery

  // Analysis and advice (issue "Where did the packets go?").
  bool streams = false;           // --streams: per-stream table (RTP/UDP)
  std::string streams_json_path;  // --streams-json
  bool wide = false;              // --wide: every column in the live stream table
  // --clock-rate PT=HZ (repeatable) or a bare --clock-rate HZ (the default clock for payload
  // types with neither an RFC 3551 static clock nor an SDP); parsed into the two below.
  std::vector<std::string> clock_rate_specs;
  std::map<int, std::uint32_t> clock_rate_by_pt;
  std::uint32_t default_clock_rate_hz = 48000;  // AES67-2018 section 7.1: 48 kHz mandatory
  std::vector<std::string> sdp_paths;           // --sdp FILE (repeatable)
  std::vector<SdpFormat> sdp_formats;           // parsed from them by finish_capture_options
  bool sap = false;               // --sap: join SAP groups, let SAP through the filter
  bool ptp = false;               // --ptp: join the PTP groups, let PTP through the filter
  std::string streams_svg_path;   // --streams-svg FILE: charts per stream
  bool levels = false;            // --levels: every PCM stream's levels, no files
  std::string extract_audio_dir;  // --extract-audio DIR: a WAV per L16/L24 stream
  std::uint64_t extract_audio_max_bytes = io::AudioExtractConfig::kDefaultMaxBytes;
  std::vector<std::string> audio_format_specs;  // --audio-format SELECTOR=ENC/RATE/CH (repeatable)
  std::vector<FormatOption> audio_formats;      // parsed from them
  std::string advice_json_path;                 // --advice-json
  std::string latency_budget;                   // --latency-budget 250us
  double expected_pps = 100000;                 // --expected-pps, for the budget planner

  // Running for weeks.
  std::string drop_to_user;          // -Z: drop root after opening, as tcpdump does
  std::string metrics_listen;        // --metrics-listen 127.0.0.1:9464
  bool metrics_any_address = false;  // --metrics-allow-any-address
};

// Declares every capture option on `app` (the top level of the rtcap command).
void add_capture_options(CLI::App& app, CaptureOptions& options);

// True when -r names a pipe or FIFO ("-" is standard input): read behind a consumer thread.
bool reads_a_pipe(const std::string& path);
// A library error in the command's words: a setting by its option (-s), and the command's
// own fix where it has one ('rtcap -D' lists the interfaces, in --netns NETNS when given).
std::string cli_wording(const Error& error, const std::string& netns = {});

// True when a -G file name holds a strftime conversion ("%%" alone is a literal '%').
bool has_time_pattern(const std::string& name);

// Turns the parsed strings into the config (filter, precision, mode, -s 0). Empty on success,
// otherwise one line for the user, and `*exit_code` (when given) says which kind of failure it
// is: kExitUsage for a bad value, kExitSetup for a file that cannot be read (--sdp), as -r.
std::string finish_capture_options(CaptureOptions& options, int* exit_code = nullptr);

// --clock-rate values: "PT=HZ" maps a payload type (0..127), "HZ" sets the default. HZ is in
// the library's range (kMinClockRateHz..kMaxClockRateHz, sdp.hpp).
// Empty on success, otherwise one line for the user.
std::string parse_clock_rates(const std::vector<std::string>& specs,
                              std::map<int, std::uint32_t>& by_pt, std::uint32_t& default_hz);

}  // namespace rtcap::tool
