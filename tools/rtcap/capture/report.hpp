// Human and JSON renderings of CaptureStats: the live status line, tcpdump's three lines, the
// final summary.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rtcap/advisor.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/latency_budget.hpp"
#include "rtcap/stats.hpp"

namespace rtcap::tool {

using ::rtcap::format_duration_ns;  // one formatter for every duration rtcap prints
// One line: rate, totals, drops, latency percentiles, CPU. `previous` (the last line's stats)
// gives the rate and makes the delay percentiles the interval's, not the cumulative ones.
std::string status_line(const CaptureStats& now, const CaptureStats& previous);
// The samples recorded between two snapshots of one histogram (min and max to the bucket).
HistogramData interval_histogram(const HistogramData& now, const HistogramData& previous);
// tcpdump's SIGUSR1/exit lines: captured, received by filter, dropped by kernel.
std::string tcpdump_lines(const CaptureStats& s);
// Multi-line final summary (tcpdump's lines first, then ours). `live`: false for -r, which has
// no kernel counters and no delivery delay worth reporting.
std::string summary(const CaptureStats& s, bool live);
// The figures the summary's lines name: the registry's counters (rtcap/stats.hpp), each shown
// (a unit test checks), and a few derived here.
std::vector<std::string> summary_figures();
// One JSON object (one line), for --stats-json.
std::string stats_json(const CaptureStats& s, bool final);

// Library text that names settings as ${name} (advice, the latency plan), with the command's
// options (-B 4096).
std::string cli_words(std::string_view text);
std::vector<Advice> cli_words(std::vector<Advice> advice);
// A writer's error (WriterOptions fields as ${pcapng}, ${path}) with the command's options.
std::string cli_words(const Error& writer_error);

// The advisor's stream inputs for one interval, from the tracker: sequence loss and discarded
// packets since the previous interval (`loss_before`, `discarded_before`), and whether all UDP
// seen went unicast to one destination (nullopt before any UDP).
StreamIntervalInfo stream_interval_info(const TrackerSnapshot& snap, std::uint64_t loss_now,
                                        std::uint64_t loss_before, std::uint64_t discarded_before);

}  // namespace rtcap::tool
