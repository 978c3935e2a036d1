// Text and JSON for the ST 2022-7 analysis (redundancy_report.hpp).
#include "analysis/redundancy_report.hpp"

#include <cmath>

#include <fmt/format.h>

#include "analysis/wire_text.hpp"

namespace rtcap::analysis {

namespace {

const StreamSummary* stream_of(const TrackerSnapshot& snap, std::uint64_t id) {
  for (const StreamSummary& s : snap.streams)
    if (s.id == id) return &s;
  return nullptr;
}

std::string leg_text(const TrackerSnapshot& snap, const RedundantPath& p) {
  const StreamSummary* s = stream_of(snap, p.stream_id);
  if (s == nullptr) return fmt::format("stream {}", p.stream_id);
  return fmt::format("{}:{} if {} ssrc 0x{:08x}", s->dst.to_string(), s->dst_port,
                     s->interface_index, s->ssrc);
}

double pct(std::uint64_t part, std::uint64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace

std::string format_redundancy_section(const TrackerSnapshot& snap) {
  const RedundancyTotals& t = snap.redundancy_totals;
  if (snap.redundancy.empty() && t.pairs_formed == 0 && t.pairs_not_kept == 0) return {};
  std::string out = fmt::format("ST 2022-7: {} pair(s)", snap.redundancy.size());
  if (t.pairs_ended || t.pairs_dissolved || t.pairs_not_kept)
    out += fmt::format(" ({} ended, {} dissolved: same SSRC, sequences never met, {} not kept)",
                       t.pairs_ended, t.pairs_dissolved, t.pairs_not_kept);
  out += "\n";
  for (const RedundantPair& r : snap.redundancy) {
    out += fmt::format("  {} ({}, paired by {}): path 0 {}, path 1 {}\n", r.name,
                       printable_text(r.group), to_string(r.paired_by), leg_text(snap, r.path[0]),
                       leg_text(snap, r.path[1]));
    out += fmt::format(
        "    seq {}..{}: {} expected; lost path 0 {} ({:.3f}%), path 1 {} ({:.3f}%), after "
        "merging {} ({:.3f}%)\n",
        r.first_seq, r.last_seq, r.expected, r.path[0].lost, pct(r.path[0].lost, r.expected),
        r.path[1].lost, pct(r.path[1].lost, r.expected), r.merged_lost,
        pct(r.merged_lost, r.expected));
    if (r.differential_count == 0) {
      out += "    path differential: no sequence number seen on both paths yet\n";
    } else {
      out += fmt::format(
          "    path differential (path 1 - path 0): mean {:.1f} us, min {:.1f}, max {:.1f}, "
          "|max| {:.1f} us over {} packets: {} (classes not checked against ST 2022-7:2019's "
          "text); receiver buffer >= {:.1f} us",
          r.differential_mean_us, r.differential_min_us, r.differential_max_us,
          r.differential_max_abs_us, r.differential_count, to_string(r.skew_class),
          r.buffer_needed_us);
      if (r.buffer_needed_packets) out += fmt::format(" ({} packets)", r.buffer_needed_packets);
      out += "\n";
    }
    for (int i = 0; i < 2; ++i)
      if (r.path[i].late_beyond_window)
        out += fmt::format(
            "    ! path {}: {} copies arrived more than {} packets behind the other path (counted "
            "lost on it)\n",
            i, r.path[i].late_beyond_window, kRedundancyWindow);
    if (r.resyncs)
      out +=
          fmt::format("    {} sequence jump(s) past the window restarted the count\n", r.resyncs);
  }
  return out;
}

nlohmann::json redundancy_json(const TrackerSnapshot& snap) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const RedundantPair& r : snap.redundancy) {
    nlohmann::json paths = nlohmann::json::array();
    for (const RedundantPath& p : r.path)
      paths.push_back({{"stream_id", p.stream_id},
                       {"received", p.received},
                       {"lost", p.lost},
                       {"duplicates", p.duplicates},
                       {"late_beyond_window", p.late_beyond_window}});
    nlohmann::json hist = nlohmann::json::array();
    for (const PathDifferentialBin& b : r.differential_histogram)
      hist.push_back({{"lower_us", b.lower_us},
                      {"upper_us", std::isinf(b.upper_us) ? nlohmann::json(nullptr)
                                                          : nlohmann::json(b.upper_us)},
                      {"count", b.count}});
    nlohmann::json diff = nullptr;
    if (r.differential_count > 0)
      diff = {{"count", r.differential_count},
              {"mean_us", r.differential_mean_us},
              {"min_us", r.differential_min_us},
              {"max_us", r.differential_max_us},
              {"max_abs_us", r.differential_max_abs_us},
              {"histogram", hist},
              {"recent_max_us", r.differential_recent_max_us}};
    pairs.push_back({{"name", r.name},
                     {"group", r.group},
                     {"paired_by", to_string(r.paired_by)},
                     {"paths", paths},
                     {"first_seq", r.first_seq},
                     {"last_seq", r.last_seq},
                     {"expected", r.expected},
                     {"merged_lost", r.merged_lost},
                     {"resyncs", r.resyncs},
                     {"path_differential", diff},
                     {"skew_class", to_string(r.skew_class)},
                     {"buffer_needed_us", r.buffer_needed_us},
                     {"buffer_needed_packets", r.buffer_needed_packets}});
  }
  const RedundancyTotals& t = snap.redundancy_totals;
  return {{"pairs", pairs},
          {"pairs_formed", t.pairs_formed},
          {"pairs_ended", t.pairs_ended},
          {"pairs_dissolved", t.pairs_dissolved},
          {"pairs_not_kept", t.pairs_not_kept}};
}

}  // namespace rtcap::analysis
