// `rtcap bench`: the side-by-side benchmark. rtcap in each capture mode, and tcpdump when it is
// installed, capture the same generated traffic in a lab of their own; one reader
// (pcap_pipe_reader.hpp) measures every one of them the same way.
//
// One run = generator (rx of the lab's veth) + one capture program writing pcap to a pipe + the
// reader on the other end of the pipe, all child processes, all bounded in time:
//
//   rtcap gen --netns L-tx ──veth──► [L-rx] capture -U -w - ──pipe──► rtcap bench-reader
//
// Runs are interleaved: every repetition runs every mode once, the mode order rotated by one
// each repetition, so slow drifts of the machine (other load, thermal) spread over all modes.
// The table shows, per mode, the median over repetitions of each column on its own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rtcap/histogram.hpp"

namespace CLI {
class App;
}

namespace rtcap::tool {

struct BenchConfig {
  double secs = 10;  // generator run time per run
  int repeat =
      5;  // repetitions per (rate, mode): 3 left ratios of 0.95-1.11 on a loaded 2-CPU host
  double rate_pps = 100000;  // raw UDP rate, or RTP rate when given
  bool rate_given = false;   // RTP: without --rate the rate is streams / ptime
  std::size_t payload_bytes = 32;
  bool rtp = false;  // --streams/--ptime given: RTP instead of raw UDP
  int streams = 12;
  std::string ptime = "125us";
  bool sweep = false;
  std::vector<double> sweep_rates;  // 0 = unpaced ("max")
  std::vector<std::string> modes;   // empty: every mode available
  std::string json_path;
  std::string svg_path;
  bool quiet = false;
  // Derived from the chosen modes (BenchMode::sap, ::ptp): what the lab carries beside the streams.
  bool sap_traffic = false;
  bool ptp_traffic = false;
  // Time after the generator ends before the capture is stopped. tcpdump's default
  // pcap timeout is 1000 ms, and with TPACKET_V3 a part-filled ring block is handed to user
  // space only when that timeout expires: stopping sooner would cut tcpdump's last block off
  // and count it as lost. 1.5 s covers it for every mode alike.
  int drain_ms = 1500;
  int pipe_bytes = 1 << 20;  // capture -> reader pipe (same for every mode)
};

// One capture program as the bench runs it.
struct BenchMode {
  std::string name;  // "naive", "dispatch", "dispatch-immediate", "tcpdump", ...
  bool tcpdump = false;
  bool reference = false;         // `rtcap bench-reference`, the one-thread reference loop
  std::vector<std::string> args;  // mode arguments after the common ones
  bool frontier = false;          // a point of the immediate-mode frontier: run only when named
  // Analysis modes (`--streams` and what goes with it): run only when named, RTP traffic only.
  // When any chosen mode asks for SAP or PTP, the lab carries it for every mode of the bench, so
  // each mode's CPU per packet is taken over the same traffic.
  bool analysis = false;
  bool sap = false;            // the generator announces its streams (SAP, every second)
  bool ptp = false;            // ptp4l is grandmaster in the sender's namespace for the whole bench
  bool extract_audio = false;  // --extract-audio into a scratch directory, removed after the run
};

// Every mode the bench knows, in table order; tcpdump's only when `tcpdump_available`.
std::vector<BenchMode> bench_modes(bool tcpdump_available);

// The hidden `rtcap bench-reference` subcommand (bench_reference.cpp).
CLI::App* add_bench_reference_command(CLI::App& app, int& exit_code);

struct BenchRun {
  std::string mode;
  double target_pps = 0;  // 0 = unpaced
  int repetition = 0;     // 0-based
  int position = 0;       // place of this mode in the repetition's (rotated) order
  bool ok = false;        // ran to the end and every output was read
  std::string error;      // why not
  std::string command;    // the capture command line

  // Generator (its --json report).
  std::uint64_t sent = 0;
  double achieved_pps = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t pacing_p99_ns = 0;

  // Reader.
  std::uint64_t records = 0;   // every record the capture wrote
  std::uint64_t captured = 0;  // records with a packet index (ours)
  std::uint64_t unique = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t missing_inside = 0;
  std::uint64_t lost = 0;  // sent - unique (never below 0)
  std::string timestamp_precision;
  HistogramData latency_ns;  // delivery latency, capture timestamp -> reader read()

  // Capture program.
  std::uint64_t pcap_drops = 0;                       // kernel (ps_drop) + interface (ps_ifdrop)
  std::optional<std::uint64_t> app_drops;             // rtcap only: no free batch
  std::optional<std::int64_t> capture_thread_cpu_ns;  // rtcap only: its capture thread
  std::optional<std::uint64_t> capture_wakeups;       // rtcap only: capture thread wake-ups
  std::optional<std::uint64_t> batches_delivered;     // rtcap only: hand-offs to the consumer
  std::int64_t cpu_user_ns = 0;                       // wait4 rusage of the capture process
  std::int64_t cpu_sys_ns = 0;
  int capture_exit = -1;
  // Analysis modes, from the capture's --streams-json: what the analysis saw, so that a mode
  // that measured less work than it claims fails (a stream SAP did not describe, no PTP).
  std::optional<int> rtp_streams;             // RTP streams in the table
  std::optional<int> described_streams;       // of them, with an SDP (SAP)
  std::optional<std::uint64_t> ptp_messages;  // PTP messages analysed
  std::optional<int> wav_files;               // --extract-audio modes: WAVs the run wrote
  double cpu_ns_per_packet = 0;               // (user + sys) / records
  // CPU other programs used during this run, as a share of one CPU: the noise indicator.
  double foreign_cpu_share = 0;
};

// The medians of one (rate, mode) cell.
struct BenchCell {
  std::string mode;
  double target_pps = 0;
  int runs = 0;            // runs that completed
  int failed_runs = 0;     // runs that did not
  bool zero_loss = false;  // every run completed with lost == 0, pcap drops == 0, app drops == 0
  double sent = 0, achieved_pps = 0, captured = 0, lost = 0, pcap_drops = 0, cpu_ns_per_packet = 0;
  std::optional<double> app_drops;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
  HistogramData merged_latency;  // all runs' latencies together (for the CDF)
  // rtcap only: per 1,000 packets, capture-thread wake-ups and hand-offs to the consumer.
  std::optional<double> wakeups_per_kpacket, handoffs_per_kpacket;
};

BenchCell summarise(const std::string& mode, double target_pps,
                    const std::vector<const BenchRun*>& runs);
double median(std::vector<double> v);  // 0 for none; the mean of the middle two for an even count

// What one sleep and wake-up costs this machine in thread CPU time, µs (bench_wake.cpp): the
// floor under any design that sleeps between batches.
struct WakeCost {
  double sleep_us = 0;          // a thread sleeping 1 ms and waking
  double handoff_waker_us = 0;  // the same thread, when it also rings the engine's Doorbell
  double handoff_woken_us = 0;  // the thread that Doorbell wakes
  int wakeups_per_probe = 0;
  int probes = 0;  // of each kind; the figures above are their medians
  // CPU per packet, ns, spent on wake-ups alone by a capture that wakes `wakeups` times and
  // hands over `handoffs` batches per 1,000 packets (µs per 1,000 packets = ns per packet).
  double floor_ns_per_packet(double wakeups, double handoffs) const {
    const double plain = std::max(0.0, wakeups - handoffs);
    return plain * sleep_us + handoffs * (handoff_waker_us + handoff_woken_us);
  }
};
WakeCost measure_wake_cost(int wakeups_per_probe);

// SVG, hand-written: latency CDF per mode (y in "nines"), and when sweeping, CPU per packet and
// loss against rate.
struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;
};
struct BenchChart {
  std::string title;
  std::string subtitle;
  std::vector<ChartSeries> latency_cdf;   // (latency ns, cumulative fraction 0..1)
  std::vector<ChartSeries> cpu_vs_rate;   // (achieved pps, CPU ns/packet); empty: not sweeping
  std::vector<ChartSeries> loss_vs_rate;  // (achieved pps, lost %)
};
std::string render_bench_svg(const BenchChart& chart);
// CDF points of a histogram: one per non-empty bucket, (bucket upper edge capped at max, fraction).
std::vector<std::pair<double, double>> cdf_points(const HistogramData& h);

// Registers `bench` (and the hidden `bench-reader` it uses).
CLI::App* add_bench_command(CLI::App& app, int& exit_code);

}  // namespace rtcap::tool
