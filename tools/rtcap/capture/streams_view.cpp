#include "capture/streams_view.hpp"
#include "common/svg.hpp"
#include "analysis/wire_text.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace rtcap::tool {

void StreamsSvg::sample(const TrackerSnapshot& snapshot, std::int64_t t_ns) {
  if (t0_ns_ == 0) t0_ns_ = t_ns;
  for (const RedundantPair& r : snapshot.redundancy) {
    if (r.differential_recent_max_us.empty()) continue;
    if (pairs_.size() >= kMaxStreams && pairs_.find(r.path[0].stream_id) == pairs_.end()) continue;
    auto& pts = pairs_[r.path[0].stream_id];
    pts.emplace_back(static_cast<double>(t_ns - t0_ns_) / 1e9, r.differential_recent_max_us.back());
    if (pts.size() >= kMaxPoints) {  // halve, keeping the larger of each two
      std::vector<std::pair<double, double>> kept;
      for (std::size_t i = 0; i + 1 < pts.size(); i += 2)
        kept.emplace_back(pts[i].first, std::max(pts[i].second, pts[i + 1].second));
      pts = std::move(kept);
    }
  }
  for (const StreamSummary& s : snapshot.streams) {
    if (!s.is_rtp) continue;
    if (series_.size() >= kMaxStreams && series_.find(s.id) == series_.end()) continue;
    Series& se = series_[s.id];
    Point p;
    p.t_s = static_cast<double>(t_ns - t0_ns_) / 1e9;
    // The largest window that ended since the previous sample (the tracker keeps the last 16);
    // the stream's largest when it grew meanwhile, so the chart's peak is always the title's.
    const AudioTiming& t = s.timing;
    const std::uint64_t fresh =
        t.ts_df_windows >= se.last_windows ? t.ts_df_windows - se.last_windows : t.ts_df_windows;
    p.ts_df_us = t.ts_df_last_us;
    const std::size_t have = t.ts_df_recent_us.size();
    for (std::size_t i = have - std::min<std::size_t>(have, fresh); i < have; ++i)
      p.ts_df_us = std::max(p.ts_df_us, t.ts_df_recent_us[i]);
    if (t.ts_df_us > se.last_ts_df_max_us) p.ts_df_us = std::max(p.ts_df_us, t.ts_df_us);
    se.last_ts_df_max_us = t.ts_df_us;
    se.last_windows = t.ts_df_windows;
    p.ts_df_us = std::max(p.ts_df_us, se.skipped_ts_df_us);
    const double sum_ns = s.one_way_delay.mean_ns * static_cast<double>(s.one_way_delay.count);
    if (s.has_delay && s.one_way_delay.count > se.last_delay_count)
      p.delay_us = (sum_ns - se.last_delay_sum_ns) /
                   static_cast<double>(s.one_way_delay.count - se.last_delay_count) / 1e3;
    se.last_delay_count = s.one_way_delay.count;
    se.last_delay_sum_ns = sum_ns;
    const std::uint64_t lost = s.lost;
    p.lost = lost > se.last_lost ? lost - se.last_lost : 0;
    se.last_lost = lost;
    if (se.seen++ % se.keep_every != 0 && p.lost == 0) {
      se.skipped_ts_df_us = p.ts_df_us;  // carried into the next point kept
      continue;
    }
    se.skipped_ts_df_us = 0;
    se.points.push_back(p);
    if (se.points.size() >= kMaxPoints) {  // halve: every other point, every loss, every peak
      std::vector<Point> kept;
      for (std::size_t i = 0; i < se.points.size(); ++i) {
        if (i % 2 == 0 || se.points[i].lost > 0 || kept.empty())
          kept.push_back(se.points[i]);
        else
          kept.back().ts_df_us = std::max(kept.back().ts_df_us, se.points[i].ts_df_us);
      }
      se.points = std::move(kept);
      se.keep_every *= 2;
    }
  }
}

std::vector<double> StreamsSvg::ts_df_points(std::uint64_t id) const {
  std::vector<double> out;
  if (auto it = series_.find(id); it != series_.end())
    for (const Point& p : it->second.points) out.push_back(p.ts_df_us);
  return out;
}

namespace {

// A polyline chart in the box (x, y, w, h) of (t, v) points; returns the SVG elements.
std::string chart(double x, double y, double w, double h, double t_max,
                  const std::vector<std::pair<double, double>>& pts, const char* colour,
                  const char* title, const char* unit, double reference = -1) {
  std::string o;
  o += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" class="box"/>)", x, y, w, h);
  double vmax = reference > 0 ? reference * 1.2 : 0;
  for (const auto& p : pts) vmax = std::max(vmax, p.second);
  if (vmax <= 0) vmax = 1;
  o += fmt::format(
      R"(<text x="{}" y="{}" class="label">{} (max {:.1f} {})</text>)", x + 4, y + 12, title,
      pts.empty() ? 0.0
                  : std::max_element(pts.begin(), pts.end(),
                                     [](auto& a, auto& b) { return a.second < b.second; })
                        ->second,
      unit);
  o += fmt::format(R"(<text x="{}" y="{}" class="axis">{:.0f}</text>)", x - 2, y + 10, vmax);
  if (reference > 0) {
    const double ry = y + h - h * reference / vmax;
    o += fmt::format(R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" class="ref"/>)", x, ry, x + w,
                     ry);
  }
  if (pts.empty()) {
    o += fmt::format(R"(<text x="{}" y="{}" class="axis">no data</text>)", x + w / 2, y + h / 2);
    return o;
  }
  // One vertex per pixel column, its largest value: a peak narrower than a pixel stays drawn.
  std::string path;
  const auto column = [&](double t) {
    return static_cast<long>(std::floor(w * (t_max > 0 ? t / t_max : 0)));
  };
  for (std::size_t i = 0; i < pts.size();) {
    const long px = column(pts[i].first);
    double v = pts[i].second;
    for (++i; i < pts.size() && column(pts[i].first) == px; ++i) v = std::max(v, pts[i].second);
    path += fmt::format("{:.1f},{:.1f} ", x + double(px), y + h - h * v / vmax);
  }
  o += fmt::format(R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5"/>)", path,
                   colour);
  return o;
}

// Signed duration in the unit that keeps it short (the offset runs from us to s).
std::string signed_us(double ns) {
  const double a = std::fabs(ns);
  if (a >= 1e9) return fmt::format("{:+.3f} s", ns / 1e9);
  if (a >= 1e6) return fmt::format("{:+.3f} ms", ns / 1e6);
  return fmt::format("{:+.1f} us", ns / 1e3);
}

// The capture clock's offset from PTP time over the capture, from the PTP analyser's buckets:
// a bar from each bucket's least to its largest sample, on a signed axis with zero marked.
std::string offset_chart(double x, double y, double w, double h,
                         const std::vector<PtpOffsetBucket>& buckets) {
  std::string o;
  o += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" class="box"/>)", x, y, w, h);
  double lo = 0, hi = 0;  // zero stays on the axis: the offset's sign is the news
  for (const PtpOffsetBucket& b : buckets) {
    lo = std::min(lo, b.min_ns);
    hi = std::max(hi, b.max_ns);
  }
  if (hi - lo <= 0) hi = lo + 1;
  const std::int64_t t0 = buckets.front().start_ns;
  const double span = std::max(double(buckets.back().end_ns - t0), 1.0);
  const auto vy = [&](double v) { return y + h - h * (v - lo) / (hi - lo); };
  o += fmt::format(R"(<text x="{}" y="{}" class="axis">{}</text>)", x - 2, y + 10, signed_us(hi));
  o += fmt::format(R"(<text x="{}" y="{}" class="axis">{}</text>)", x - 2, y + h, signed_us(lo));
  o += fmt::format(R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" class="ref"/>)", x, vy(0),
                   x + w, vy(0));
  for (const PtpOffsetBucket& b : buckets) {
    const double bx = x + w * double(b.start_ns - t0) / span;
    const double bw = std::max(w * double(b.end_ns - b.start_ns) / span - 1, 1.0);
    const double top = vy(b.max_ns);
    o += fmt::format(
        R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" class="off"><title>{:.1f}-{:.1f} s: {} .. {} ({} samples)</title></rect>)",
        bx, top, bw, std::max(vy(b.min_ns) - top, 1.0), double(b.start_ns - t0) / 1e9,
        double(b.end_ns - t0) / 1e9, signed_us(b.min_ns), signed_us(b.max_ns), b.samples);
  }
  o += fmt::format(R"(<text x="{}" y="{}" class="label">0 .. {:.1f} s of capture time</text>)",
                   x + 4, y + h + 12, span / 1e9);
  return o;
}

}  // namespace

std::string StreamsSvg::render(const TrackerSnapshot& final_snapshot) const {
  constexpr double kWidth = 960, kPanel = 250, kMargin = 40;
  std::vector<const StreamSummary*> rtp;
  for (const StreamSummary& s : final_snapshot.streams)
    if (s.is_rtp && series_.count(s.id) != 0) rtp.push_back(&s);
  constexpr double kPairPanel = 130;
  std::vector<const RedundantPair*> pairs;
  for (const RedundantPair& r : final_snapshot.redundancy)
    if (pairs_.count(r.path[0].stream_id) != 0) pairs.push_back(&r);
  // Per PTP domain, the offset of the master that speaks for its grandmaster (the table's).
  constexpr double kPtpPanel = 140;
  std::vector<std::pair<const PtpDomainSummary*, const PtpMasterSummary*>> ptp;
  for (const PtpDomainSummary& d : final_snapshot.ptp.domains)
    if (const PtpMasterSummary* m = grandmaster_master(final_snapshot.ptp, d.domain);
        m && !m->offset_history.empty())
      ptp.emplace_back(&d, m);
  const double height = kMargin + std::max<std::size_t>(rtp.size(), 1) * kPanel +
                        static_cast<double>(pairs.size()) * kPairPanel +
                        static_cast<double>(ptp.size()) * kPtpPanel + 20;
  std::string o;
  o += fmt::format(R"(<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}">
<style>
.box {{ fill: #fafafa; stroke: #999; stroke-width: 0.5 }}
.label {{ font: 11px sans-serif; fill: #222 }}
.title {{ font: bold 13px sans-serif; fill: #000 }}
.axis {{ font: 9px sans-serif; fill: #666; text-anchor: end }}
.ref {{ stroke: #c00; stroke-dasharray: 4 3; stroke-width: 0.8 }}
.bar {{ fill: #4a7 }}
.gap {{ stroke: #d22; stroke-width: 2 }}
.off {{ fill: #2a6f97 }}
</style>
<text x="10" y="20" class="title">rtcap --streams: {2} RTP stream{3}</text>
)",
                   kWidth, height, rtp.size(), rtp.size() == 1 ? "" : "s");
  if (rtp.empty()) o += R"(<text x="10" y="50" class="label">no RTP stream was seen</text>)";
  double y = kMargin;
  for (const StreamSummary* s : rtp) {
    const Series& se = series_.at(s->id);
    const double t_max = se.points.empty() ? 1 : std::max(se.points.back().t_s, 1.0);
    const std::string name = s->has_sdp && !s->sdp.session_name.empty()
                                 ? " \"" + analysis::printable_text(s->sdp.session_name) + "\""
                                 : "";
    o += fmt::format(R"(<g id="stream-{}">)", s->id);
    // The RTP timestamp against the PTP media clock, when the SDP's grandmaster is on the wire.
    const std::string ptp_note =
        s->has_ptp_rtp_offset
            ? fmt::format(", RTP vs PTP media clock {} +- {:.1f} us (estimate from the wire)",
                          signed_us(s->ptp_rtp_offset_us * 1e3), s->ptp_rtp_offset_uncertainty_us)
            : "";
    o += fmt::format(
        R"(<text x="10" y="{}" class="title">{}:{} &gt; {}:{} ssrc 0x{:08x}{} — lost {}, TS-DF max {:.1f} us, verdict {}{}</text>)",
        y + 14, s->src.to_string(), s->src_port, s->dst.to_string(), s->dst_port, s->ssrc,
        svg_escape(name), s->lost, s->timing.ts_df_us, to_string(s->timing.verdict), ptp_note);
    std::vector<std::pair<double, double>> tsdf, delay;
    for (const Point& p : se.points) {
      tsdf.emplace_back(p.t_s, p.ts_df_us);
      if (p.delay_us >= 0) delay.emplace_back(p.t_s, p.delay_us);
    }
    const double ptime_us = s->timing.pit.ptime_us;
    o += chart(40, y + 22, 560, 80, t_max, tsdf, "#36c", "TS-DF per window", "us", ptime_us);
    o += chart(40, y + 112, 560, 80, t_max, delay, "#a50", "one-way delay", "us");
    // Where the gaps fell: a red tick per interval with loss, on the time axis.
    o += fmt::format(
        R"(<text x="40" y="{}" class="label">gaps (packets lost per interval), 0 .. {:.0f} s</text>)",
        y + 206, t_max);
    o += fmt::format(
        R"(<line x1="40" y1="{0}" x2="600" y2="{0}" stroke="#999" stroke-width="0.5"/>)", y + 220);
    for (const Point& p : se.points)
      if (p.lost > 0) {
        const double gx = 40 + 560 * p.t_s / t_max;
        o += fmt::format(
            R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" class="gap"><title>{3:.1f} s: {4} lost</title></line>)",
            gx, y + 212, y + 228, p.t_s, p.lost);
      }
    // Packet interval time histogram (final).
    const auto& hist = s->timing.pit.histogram;
    o += fmt::format(R"(<rect x="640" y="{}" width="300" height="170" class="box"/>)", y + 22);
    o += fmt::format(
        R"(<text x="644" y="{}" class="label">PIT min/mean/max {:.1f}/{:.1f}/{:.1f} us, ptime {:.1f}</text>)",
        y + 34, s->timing.pit.min_us, s->timing.pit.mean_us, s->timing.pit.max_us, ptime_us);
    std::uint64_t cmax = 1;
    for (const PitBin& b : hist) cmax = std::max(cmax, b.count);
    const double bw = hist.empty() ? 0 : 280.0 / static_cast<double>(hist.size());
    for (std::size_t i = 0; i < hist.size(); ++i) {
      // Log scale: one packet in a far bin is as visible as it matters.
      const double bh = 130.0 * std::log10(1.0 + static_cast<double>(hist[i].count)) /
                        std::log10(1.0 + static_cast<double>(cmax));
      o += fmt::format(
          R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" class="bar"><title>{:.1f}-{:.1f} us: {}</title></rect>)",
          650 + bw * static_cast<double>(i), y + 185 - bh, std::max(bw - 1, 0.5), bh,
          hist[i].lower_us, hist[i].upper_us, hist[i].count);
    }
    if (!hist.empty())
      o += fmt::format(
          R"(<text x="650" y="{}" class="label" text-anchor="start">{:.0f} us</text><text x="930" y="{}" class="axis">{:.0f} us</text>)",
          y + 200, hist.front().lower_us, y + 200, hist.back().upper_us);
    o += "</g>\n";
    y += kPanel;
  }
  for (const RedundantPair* r : pairs) {
    const auto& pts = pairs_.at(r->path[0].stream_id);
    const double t_max = pts.empty() ? 1 : std::max(pts.back().first, 1.0);
    o += fmt::format(R"(<g id="st2022-7-{}">)", r->path[0].stream_id);
    o += fmt::format(
        R"(<text x="10" y="{}" class="title">ST 2022-7 {} ({}) — lost path 0 {}, path 1 {}, merged {}; skew {}</text>)",
        y + 14, svg_escape(r->name), svg_escape(analysis::printable_text(r->group)),
        r->path[0].lost, r->path[1].lost, r->merged_lost, to_string(r->skew_class));
    o += chart(40, y + 22, 560, 80, t_max, pts, "#636",
               "path differential |path 1 - path 0|, "
               "largest per second",
               "us");
    o += "</g>\n";
    y += kPairPanel;
  }
  for (const auto& [d, m] : ptp) {
    o += fmt::format(R"(<g id="ptp-offset-{}">)", d->domain);
    o += fmt::format(
        R"(<text x="10" y="{}" class="title">PTP domain {}, master {}: capture clock - PTP time {} +- {} (estimate from the wire, path delay inside)</text>)",
        y + 14, d->domain, ptp_clock_identity_text(m->clock), signed_us(m->offset.mean_ns),
        signed_us(m->offset.stddev_ns).substr(1));
    o += offset_chart(100, y + 22, 500, 90, m->offset_history);
    o += "</g>\n";
    y += kPtpPanel;
  }
  o += "</svg>\n";
  return o;
}

}  // namespace rtcap::tool
