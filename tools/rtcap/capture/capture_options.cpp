#include "capture/capture_options.hpp"

#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "capture/host.hpp"
#include "common/exit_codes.hpp"
#include "common/validators.hpp"
#include "engine/config_table.hpp"
#include "rtcap/analysis.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

namespace rtcap::tool {
namespace {

// Options whose empty value would silently mean something else (-Z '' would run on as root,
// --netns '' would capture in the current namespace, -w '' would print text): refused.
CLI::Validator non_empty(std::string fix) {
  return CLI::Validator(
      [fix = std::move(fix)](std::string& value) -> std::string {
        return value.empty() ? "an empty value is not allowed: " + fix : std::string{};
      },
      "");
}

// A finite rate above zero (-1 and nan are not rates).
CLI::Validator positive_rate(double max) {
  return CLI::Validator(
      [max](std::string& value) -> std::string {
        double x = 0;
        const char* end = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(value.data(), end, x);
        if (ec != std::errc{} || ptr != end || !std::isfinite(x) || x <= 0 || x > max)
          return "'" + value + "' is not a packet rate above 0 and at most " +
                 std::to_string(std::int64_t(max)) + " packets/s";
        return {};
      },
      "");
}

// CLI11's PositiveNumber prints a 300-digit double range; a byte count says what it wants.
CLI::Validator positive_byte_count() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        std::uint64_t x = 0;
        const char* end = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(value.data(), end, x);
        if (ec != std::errc{} || ptr != end || x == 0)
          return "'" + value + "' is not a number of bytes: give a whole number above 0, e.g. " +
                 std::to_string(io::AudioExtractConfig::kDefaultMaxBytes) + " (the default)";
        return {};
      },
      "");
}

constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();

using config_table::Setting;

// A value for a numeric setting: decimal digits with an optional '-' (no 0x, no octal, no
// overflow), in the range of the library's table of settings.
CLI::Validator setting_value(const Setting& s) {
  return CLI::Validator(
      [&s](std::string& value) -> std::string {
        std::int64_t n = 0;
        const char* end = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(value.data(), end, n);
        const std::string_view digits =
            std::string_view(value).substr(value.starts_with('-') ? 1 : 0);
        if (digits.empty() || digits.find_first_not_of("0123456789") != digits.npos)
          return "'" + value + "' is not a whole number (decimal digits only)";
        if (ec != std::errc{} || ptr != end) return config_table::out_of_range(s, value);
        if (std::string why = config_table::check_number(s, n); !why.empty()) return why;
        value = std::to_string(n);  // CLI11 would read a leading 0 as octal: 010 is ten
        return {};
      },
      "");
}

// `help`, then where the setting has an effect, from the library's table in the CLI's words.
std::string with_applies(const Setting& s, const std::string& help) {
  if (!*s.applies) return help;
  return fmt::format("{}; applies {}", help,
                     config_table::word(s.applies, config_table::Front::kCli));
}

// A CaptureConfig number: its option names, range, default and where it applies come from the
// library's table.
template <class T>
CLI::Option* add_setting(CLI::App& app, const char* name, T& member, const std::string& help) {
  const Setting& s = config_table::at(name);
  const std::string unit = *s.unit ? std::string(" ") + s.unit : std::string{};
  return app
      .add_option(s.cli, member,
                  fmt::format("{} [{}..{}{}, default {}]", with_applies(s, help), s.min, s.max,
                              unit, config_table::default_value(s)))
      ->transform(setting_value(s));
}

// The names of a choice setting's values, in the table's order.
std::vector<std::string> choices_of(const char* name) {
  std::vector<std::string> out;
  std::string_view all = config_table::at(name).choices;
  for (std::size_t at = 0; at <= all.size();) {
    const std::size_t bar = std::min(all.find('|', at), all.size());
    out.emplace_back(all.substr(at, bar - at));
    at = bar + 1;
  }
  return out;
}

const char* cli_of(const char* name) { return config_table::at(name).cli; }

}  // namespace

void add_capture_options(CLI::App& app, CaptureOptions& o) {
  CaptureConfig& c = o.config;
  app.add_option(cli_of("interfaces"), c.interfaces,
                 "Capture on this interface; repeat -i to capture several with one thread")
      ->allow_extra_args(false);
  app.add_option(cli_of("read_file"), c.read_file,
                 "Read packets from a pcap/pcapng file through the same pipeline")
      ->check(non_empty("give the file to read, or -i IFACE to capture live"));
  app.add_option("-w,--write", o.write_path,
                 "Write packets to this file ('-' = standard output); pcapng if it ends in "
                 ".pcapng")
      ->check(non_empty("give a file name, or '-' for standard output"));
  app.add_flag("-U,--packet-buffered", o.packet_buffered,
               "Write each batch as it arrives (one write per batch, never one per packet)");
  app.add_flag("--pcapng", o.pcapng, "Write pcapng (interface statistics blocks carry drops)");
  app.add_option("-C,--file-size", o.rotation.size_mb,
                 "Start a new -w file when this one passes this many millions of bytes")
      ->transform(decimal(1, std::numeric_limits<std::int64_t>::max() / 1000000));
  app.add_option("-G,--rotate-seconds", o.rotation.interval_s,
                 "Start a new -w file every this many seconds (the name goes through strftime and "
                 "needs a time pattern such as %Y%m%d-%H%M%S)")
      ->transform(decimal(1, kIntMax));
  app.add_option("-W,--file-count", o.rotation.file_count,
                 "With -C: a ring of this many files; with -G: stop after this many files")
      ->transform(decimal(1, kIntMax));
  add_setting(app, "max_packets", c.max_packets, "Stop after this many packets (0: no limit)");
  add_setting(app, "snaplen", c.snaplen,
              "Bytes to capture per packet; 0 means 262144, whole packets. Linux "
              "--immediate-mode without -s: the interface MTU + 22, so that the ring holds "
              "100,000 packets; larger offload aggregates are cut and counted as truncated");
  add_setting(app, "buffer_kib", c.buffer_kib,
              "Kernel buffer in KiB (0: 32768 batched; immediate: 100 ms at 1,000,000 "
              "packets/s, at most 256 MiB mapped; see docs/TUNING.md)");
  app.add_flag_callback(
      cli_of("promiscuous"), [&c] { c.promiscuous = false; },
      "Do not put the interface into promiscuous mode");
  app.add_flag(cli_of("immediate_mode"), c.immediate_mode,
               "Deliver each packet as it arrives (Linux: TPACKET_V2 ring, one slot per packet)");
  app.add_option(cli_of("precision"), o.precision_name,
                 "micro or nano (default nano; falls back to micro where unsupported)")
      ->check(one_of(choices_of("precision")));
  app.add_option(cli_of("tstamp_type"), c.tstamp_type,
                 "Time stamp type, as in pcap-tstamp(7) (host, adapter, adapter_unsynced...)");
  app.add_flag("-J,--list-time-stamp-types", o.list_tstamp_types,
               "List the time stamp types of the -i interface and exit");
  app.add_flag("-D,--list-interfaces", o.list_devices, "List the interfaces rtcap can capture on");
  app.add_flag("-q,--quiet", o.quiet, "No live status line on stderr (the final summary stays)");
  app.add_option("--stats-json", o.stats_json_path,
                 "Write the status (each second) and the final summary to this file as JSON lines")
      ->check(non_empty("give a file name"));
  app.add_flag(cli_of("reopen"), c.reopen,
               "When an interface goes away, say so, keep the other interfaces and the output "
               "running, and open it again (same settings) every second until it is back");
  app.add_option("--netns", o.netns,
                 "Enter this network namespace (ip netns name) before opening the interfaces")
      ->check(non_empty("give the namespace name ('ip netns list' shows them)"));

  app.add_option("--mode", o.mode_name,
                 "dispatch: wait on the fd, drain batches with pcap_dispatch (default); naive: "
                 "pcap_next_ex + a heap copy per packet, the baseline to compare against")
      ->check(one_of({"dispatch", "naive"}));
  app.add_flag(cli_of("delivery"), o.consumer_thread,
               "Write and analyse on a thread of their own behind a lock-free hand-off, for "
               "outputs that may stall for long (slow disks); default: on the capture thread, "
               "where the kernel ring (-B) absorbs a stall (the default ring, about 0.5 s at "
               "100,000 packets/s of small frames) and what overflows it counts as kernel drops");
  add_setting(app, "timeout_ms", c.timeout_ms,
              "pcap_set_timeout; batched Linux capture: the ring block retire time");
  add_setting(app, "coalesce_us", c.coalesce_us,
              "After a wake-up wait this long, then drain (fewer, fuller batches; -1: "
              "automatic, 75 on Linux, 0 on Windows; 0: a wake-up per packet)");
  add_setting(app, "batch_packets", c.batch_packets, "Packets per batch");
  add_setting(app, "batch_bytes", c.batch_bytes, "Arena bytes per batch");
  add_setting(app, "pool_batches", c.pool_batches,
              "Batches in the pool, bounds memory and how far the consumer may fall behind");
  app.add_option(cli_of("overflow"), o.overflow_name,
                 with_applies(config_table::at("overflow"),
                              "No free batch: drop (count it, capture never blocks; default) "
                              "or block"))
      ->check(one_of(choices_of("overflow")));
  add_setting(app, "mintocopy_bytes", c.mintocopy_bytes,
              "Wake the reader when this many bytes wait (pcap_setmintocopy; -1: Npcap's "
              "default, 16000)");
  add_setting(app, "user_buffer_bytes", c.user_buffer_bytes,
              "Bytes one read can carry (pcap_setuserbuffer; 0: 1 MiB, Npcap's own 256000 is "
              "smaller than the default snaplen; raised to snaplen + 64 when smaller)");
  app.add_flag("--streams", o.streams,
               "Track every UDP flow and RTP stream: loss, duplicates, reordering, jitter, "
               "one-way delay; print the table at the end");
  app.add_option("--streams-json", o.streams_json_path,
                 "Write the final stream table to this file as JSON (implies --streams)")
      ->check(non_empty("give a file name"));
  app.add_flag("--wide", o.wide,
               "The live stream table shows every column (long lines wrap); without it, the "
               "columns that fit the terminal: destination, packets, lost, jitter, verdict first");
  app.add_option("--clock-rate", o.clock_rate_specs,
                 "RTP clock of a payload type, PT=HZ (repeat for several); a bare HZ is the clock "
                 "of dynamic types no SDP describes (default 48000). Static types (PCMU, G722, "
                 "L16...) use their RFC 3551 clock unless mapped here")
      ->allow_extra_args(false);
  app.add_option("--sdp", o.sdp_paths,
                 "Read this SDP file (repeatable): its streams get their session name, format, "
                 "clock and ptime, and packets that contradict it are flagged")
      ->allow_extra_args(false);
  app.add_flag("--sap", o.sap,
               "Join the SAP groups (239.255.255.255, 224.2.127.254) on the -i interfaces and let "
               "SAP (udp port 9875) through the filter; announcements describe the streams");
  app.add_flag(
      "--ptp", o.ptp,
      "Join the PTP groups (224.0.1.129, 224.0.0.107) on the -i interfaces and let PTP "
      "(udp ports 319, 320, EtherType 0x88F7) through the filter; the stream table "
      "shows each domain's grandmaster and checks it against the SDPs (implies --streams)");
  app.add_flag("--levels", o.levels,
               fmt::format("Measure every L16/L24 stream's levels without writing files: peak "
                           "and RMS (dBFS, each second), silence (below {} dBFS for {} s) and "
                           "full-scale samples per channel, in --streams-json and the metrics "
                           "(implies --streams; --extract-audio measures them too)",
                           kDefaultSilenceThresholdDbfs, kDefaultSilenceMs / 1000));
  app.add_option("--streams-svg", o.streams_svg_path,
                 "Draw per RTP stream TS-DF and delay over time, the packet interval histogram "
                 "and the gaps into this SVG file at the end (implies --streams)")
      ->check(non_empty("give a file name"));
  app.add_option(
         "--extract-audio", o.extract_audio_dir,
         "Write every L16/L24 RTP stream to DIR as a bit-exact WAV (lost packets as "
         "silence of their length, a .gaps.csv beside each); the format comes from SDP/SAP, "
         "RFC 3551 (PT 10, 11) or --audio-format")
      ->check(non_empty("give a directory"));
  app.add_option("--extract-audio-max-bytes", o.extract_audio_max_bytes,
                 "Stop writing --extract-audio files when together they reach this many bytes "
                 "(silence included; default " +
                     std::to_string(io::AudioExtractConfig::kDefaultMaxBytes) +
                     "); what was not written is counted")
      ->check(positive_byte_count());
  app.add_option("--audio-format", o.audio_format_specs,
                 "Format of the streams it selects, over their SDP, SELECTOR=ENC/RATE/CH, the "
                 "selector a "
                 "payload type, a destination ADDR:PORT or an SSRC 0xHEX, or several joined by "
                 "'/', e.g. 97=L24/48000/2, 239.69.1.1:5004/97=L24/96000/8 (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--advice-json", o.advice_json_path,
                 "Write the tuning advice that fired to this file as JSON")
      ->check(non_empty("give a file name"));
  app.add_option("--latency-budget", o.latency_budget,
                 "Choose timeout, immediate mode, ring size and coalescing to deliver within this "
                 "delay (e.g. 250us, 2ms) at the lowest CPU; the summary says if it was met");
  app.add_option("--expected-pps", o.expected_pps,
                 "Packet rate the latency budget plans for (default 100000)")
      ->check(positive_rate(1e9));  // 1e9: ten times a 100 Gb/s link of 64-byte frames
  app.add_option("-Z,--relinquish-privileges", o.drop_to_user,
                 "After opening the interfaces, drop root and run as this user (as tcpdump -Z)")
      ->check(non_empty("give a user name, or leave -Z out to keep running as root"));
  app.add_option("--metrics-listen", o.metrics_listen,
                 "Serve Prometheus metrics at http://ADDR:PORT/metrics (loopback only unless "
                 "--metrics-allow-any-address), e.g. 127.0.0.1:9464");
  app.add_flag("--metrics-allow-any-address", o.metrics_any_address,
               "Let --metrics-listen bind a non-loopback address");
  app.add_option("filter", o.filter_words, "Filter expression (pcap-filter(7)), as in tcpdump");
}

bool reads_a_pipe(const std::string& path) {
  if (path.empty()) return false;
  if (path == "-") return true;    // pcap_open_offline("-") reads standard input
  return is_pipe_or_socket(path);  // capture/host_*.cpp
}

std::string cli_wording(const Error& error, const std::string& netns) {
  std::string message = config_table::word(error, config_table::Front::kCli);
  if (error.code == ErrorCode::kNoSuchDevice)
    message += netns.empty() ? "; 'rtcap -D' lists them"
                             : fmt::format("; 'rtcap --netns {} -D' lists them", netns);
  return message;
}

bool has_time_pattern(const std::string& name) {
  for (std::size_t i = 0; i + 1 < name.size(); ++i) {
    if (name[i] != '%') continue;
    if (name[i + 1] != '%') return true;
    ++i;  // "%%" is a literal percent sign
  }
  return false;
}

std::string finish_capture_options(CaptureOptions& o, int* exit_code) {
  if (exit_code != nullptr) *exit_code = kExitUsage;
  CaptureConfig& c = o.config;
  for (const auto& w : o.filter_words) c.filter += (c.filter.empty() ? "" : " ") + w;
  c.precision =
      o.precision_name == "micro" ? TimestampPrecision::kMicro : TimestampPrecision::kNano;
  c.overflow = o.overflow_name == "block" ? OverflowPolicy::kBlock : OverflowPolicy::kDrop;
  // The naive baseline hands lists to a consumer thread by design. A read from a pipe or FIFO
  // can block for ever in fread (its writer stalls) and cannot be interrupted: only from behind
  // the hand-off can a stop leave it and end within its 2 s (docs/OPERATIONS.md), so -r of a
  // pipe is threaded too.
  c.delivery = o.consumer_thread || o.naive() || reads_a_pipe(c.read_file) ? Delivery::kThreaded
                                                                           : Delivery::kInline;
  if (!o.streams_json_path.empty()) o.streams = true;
  if (!o.sdp_paths.empty() || o.sap || o.ptp) o.streams = true;
  if (!o.streams_svg_path.empty()) o.streams = true;
  if (o.levels) o.streams = true;
  if (std::string e =
          parse_clock_rates(o.clock_rate_specs, o.clock_rate_by_pt, o.default_clock_rate_hz);
      !e.empty())
    return e;
  for (const std::string& path : o.sdp_paths) {
    std::ifstream f(path, std::ios::binary);
    std::error_code ec;
    if (!f || std::filesystem::is_directory(path, ec)) {  // a directory opens, and reads as empty
      if (exit_code != nullptr) *exit_code = kExitSetup;
      return fmt::format("--sdp: cannot read '{}': {}", path,
                         f ? "it is a directory: give an SDP file" : "check the path");
    }
    std::string text;
    constexpr std::size_t kMaxSdpBytes = 1 << 20;  // an SDP is a few hundred bytes; refuse junk
    text.resize(kMaxSdpBytes + 1);
    f.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(f.gcount()));
    if (text.size() > kMaxSdpBytes)
      return fmt::format("--sdp: '{}' is larger than 1 MiB: not an SDP", path);
    std::vector<SdpFormat> formats;
    if (std::string why = parse_sdp_streams(text, "file " + path, formats); !why.empty())
      return fmt::format("--sdp: '{}' {}: not an SDP", path, why);
    for (auto& f2 : formats) o.sdp_formats.push_back(std::move(f2));
  }
  for (const std::string& spec : o.audio_format_specs) {
    FormatOption f;
    if (std::string e = parse_format_option(spec, f); !e.empty()) return "--audio-format " + e;
    o.audio_formats.push_back(std::move(f));
  }
  if (o.extract_audio_max_bytes != io::AudioExtractConfig::kDefaultMaxBytes &&
      o.extract_audio_dir.empty())
    return "--extract-audio-max-bytes is for --extract-audio: add --extract-audio DIR";
  // SAP must pass the filter when asked for (--sap): OR it in, keeping the user's expression.
  if (o.sap && !c.filter.empty())
    c.filter = fmt::format("({}) or (udp port {})", c.filter, kSapPort);
  if (o.ptp && !c.filter.empty())
    c.filter =
        fmt::format("({}) or (udp port 319 or udp port 320 or ether proto 0x88f7)", c.filter);
  if (o.write_path.size() > 7 && o.write_path.ends_with(".pcapng")) o.pcapng = true;
  if (o.list_devices || o.list_tstamp_types) return {};
  const RotationOptions& r = o.rotation;
  if ((r.size_mb > 0 || r.interval_s > 0 || r.file_count > 0) && o.write_path.empty())
    return "-C, -G and -W rotate the -w file: give -w FILE";
  // tcpdump's convention: -G names go through strftime. Without a time pattern (and without -C,
  // which numbers the files) every new file would overwrite the last one.
  if (r.interval_s > 0 && r.size_mb == 0 && !has_time_pattern(o.write_path))
    return fmt::format(
        "-G {} would overwrite '{}' every {} s: add a strftime time pattern to "
        "the -w name, e.g. -w 'capture-%Y%m%d-%H%M%S.pcap'",
        r.interval_s, o.write_path, r.interval_s);
  if (c.interfaces.empty() && c.read_file.empty())
    return "nothing to capture: give an interface (-i IFACE; 'rtcap -D' lists them) or a file "
           "(-r FILE)";
  return {};
}

std::string parse_clock_rates(const std::vector<std::string>& specs,
                              std::map<int, std::uint32_t>& by_pt, std::uint32_t& default_hz) {
  const auto number = [](std::string_view t, std::uint64_t& v) {
    if (t.empty() || t.size() > 12) return false;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    return r.ec == std::errc{} && r.ptr == t.data() + t.size();
  };
  for (const std::string& spec : specs) {
    const std::string_view s = spec;
    const std::size_t eq = s.find('=');
    std::uint64_t pt = 0, hz = 0;
    const std::string_view hz_text = eq == std::string_view::npos ? s : s.substr(eq + 1);
    if (eq != std::string_view::npos && (!number(s.substr(0, eq), pt) || pt > 127))
      return fmt::format(
          "--clock-rate '{}': the payload type must be 0 to 127 (as in PT=HZ, "
          "e.g. 96=48000)",
          spec);
    // The library's range (sdp.hpp), the one the SDP parser and the C tracker apply.
    if (!number(hz_text, hz) || hz < kMinClockRateHz || hz > kMaxClockRateHz)
      return fmt::format(
          "--clock-rate '{}': the rate must be a whole number of Hz from {} to {} (e.g. "
          "96=48000, or 44100 for every dynamic type)",
          spec, kMinClockRateHz, kMaxClockRateHz);
    if (eq == std::string_view::npos)
      default_hz = static_cast<std::uint32_t>(hz);
    else
      by_pt[static_cast<int>(pt)] = static_cast<std::uint32_t>(hz);
  }
  return {};
}

}  // namespace rtcap::tool
