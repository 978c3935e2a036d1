// The bench's chart as plain SVG 1.1 text: no library, opens in any browser.
#include <algorithm>
#include <cmath>
#include <fmt/core.h>
#include <string>

#include "bench/bench.hpp"
#include "common/svg.hpp"

namespace rtcap::tool {
namespace {

constexpr int kWidth = 980;
constexpr int kPanelHeight = 400;
constexpr int kLeft = 80;    // room for y labels
constexpr int kRight = 230;  // room for the legend
constexpr int kTop = 50;     // panel title
constexpr int kBottom = 50;  // x labels
constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};

const char* colour(std::size_t i) { return kColours[i % (sizeof kColours / sizeof kColours[0])]; }

std::string latency_label(double ns) {
  if (ns < 1e3) return fmt::format("{:g} ns", ns);
  if (ns < 1e6) return fmt::format("{:g} µs", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:g} ms", ns / 1e6);
  return fmt::format("{:g} s", ns / 1e9);
}

std::string rate_label(double pps) {
  if (pps >= 1e6) return fmt::format("{:g}M", pps / 1e6);
  if (pps >= 1e3) return fmt::format("{:g}k", pps / 1e3);
  return fmt::format("{:g}", pps);
}

double nice_step(double range, int target_ticks) {
  if (range <= 0) return 1;
  const double raw = range / target_ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

struct Frame {
  double x0, y0, w, h;  // plot area in SVG coordinates (y0 = top)
};

std::string panel_frame(const Frame& f, const std::string& title, const std::string& xlabel,
                        const std::string& ylabel) {
  std::string s;
  s += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="#fafafa" stroke="#888"/>)"
                   "\n",
                   f.x0, f.y0, f.w, f.h);
  s += fmt::format(R"(<text x="{}" y="{}" font-size="15" font-weight="bold">{}</text>)"
                   "\n",
                   f.x0, f.y0 - 14, svg_escape(title));
  s += fmt::format(R"(<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text>)"
                   "\n",
                   f.x0 + f.w / 2, f.y0 + f.h + 38, svg_escape(xlabel));
  s += fmt::format(
      R"x(<text x="{}" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 {} {})">{}</text>)x"
      "\n",
      f.x0 - 58, f.y0 + f.h / 2, f.x0 - 58, f.y0 + f.h / 2, svg_escape(ylabel));
  return s;
}

std::string x_tick(const Frame& f, double x, const std::string& label) {
  return fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#ddd"/>)"
                     R"(<text x="{0:.1f}" y="{3}" font-size="11" text-anchor="middle">{4}</text>)"
                     "\n",
                     x, f.y0, f.y0 + f.h, f.y0 + f.h + 16, svg_escape(label));
}

std::string y_tick(const Frame& f, double y, const std::string& label) {
  return fmt::format(R"(<line x1="{1}" y1="{0:.1f}" x2="{2}" y2="{0:.1f}" stroke="#ddd"/>)"
                     R"(<text x="{3}" y="{4:.1f}" font-size="11" text-anchor="end">{5}</text>)"
                     "\n",
                     y, f.x0, f.x0 + f.w, f.x0 - 6, y + 4, svg_escape(label));
}

std::string legend(const Frame& f, const std::vector<ChartSeries>& series) {
  std::string s;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double y = f.y0 + 10 + 20.0 * static_cast<double>(i);
    s += fmt::format(
        R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="{}" stroke-width="3"/>)"
        R"(<text x="{}" y="{:.1f}" font-size="12">{}</text>)"
        "\n",
        f.x0 + f.w + 14, y, f.x0 + f.w + 40, y, colour(i), f.x0 + f.w + 46, y + 4,
        svg_escape(series[i].name));
  }
  return s;
}

// Latency CDF: x = latency on a log scale, y = cumulative fraction in "nines" (-log10(1 - q)),
// so the tail (99%, 99.9%, 99.99%) gets as much room as the body.
std::string cdf_panel(const Frame& f, const std::vector<ChartSeries>& series) {
  double lo = 1e300, hi = 0;
  for (const auto& s : series)
    for (const auto& [x, q] : s.points) {
      lo = std::min(lo, std::max(x, 1.0));
      hi = std::max(hi, std::max(x, 1.0));
    }
  if (hi == 0) {
    lo = 1e3;
    hi = 1e6;
  }
  const double lx0 = std::floor(std::log10(lo));
  double lx1 = std::ceil(std::log10(hi));
  if (lx1 <= lx0) lx1 = lx0 + 1;
  constexpr double kMaxNines = 5;  // 99.999%
  const auto px = [&](double x) {
    return f.x0 + (std::log10(std::max(x, 1.0)) - lx0) / (lx1 - lx0) * f.w;
  };
  const auto py = [&](double q) {
    const double nines = q >= 1 ? kMaxNines : std::min(kMaxNines, -std::log10(1 - q));
    return f.y0 + f.h - nines / kMaxNines * f.h;
  };
  std::string s = panel_frame(f, "Delivery latency CDF (capture timestamp → reader), per mode",
                              "latency (log scale)", "fraction of packets delivered within");
  for (double e = lx0; e <= lx1 + 1e-9; e += 1)
    s += x_tick(f, px(std::pow(10.0, e)), latency_label(std::pow(10.0, e)));
  const std::pair<double, const char*> yt[] = {
      {0, "0%"},        {0.5, "50%"},       {0.9, "90%"},        {0.99, "99%"},
      {0.999, "99.9%"}, {0.9999, "99.99%"}, {0.99999, "99.999%"}};
  for (const auto& [q, label] : yt) s += y_tick(f, py(q), label);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& pts = series[i].points;
    if (pts.empty()) continue;
    std::string path = fmt::format("M{:.1f},{:.1f}", px(pts.front().first), py(0));
    double prev_q = 0;
    for (const auto& [x, q] : pts) {
      path += fmt::format(" L{:.1f},{:.1f} L{:.1f},{:.1f}", px(x), py(prev_q), px(x), py(q));
      prev_q = q;
    }
    s += fmt::format(R"(<path d="{}" fill="none" stroke="{}" stroke-width="2"/>)"
                     "\n",
                     path, colour(i));
  }
  s += legend(f, series);
  return s;
}

std::string xy_panel(const Frame& f, const std::vector<ChartSeries>& series,
                     const std::string& title, const std::string& ylabel, bool percent) {
  double xmax = 0, ymax = 0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      xmax = std::max(xmax, x);
      ymax = std::max(ymax, y);
    }
  if (xmax <= 0) xmax = 1;
  if (ymax <= 0) ymax = percent ? 1 : 1;
  const double xstep = nice_step(xmax, 6);
  const double ystep = nice_step(ymax * 1.1, 5);
  const double xtop = std::ceil(xmax * 1.05 / xstep) * xstep;
  const double ytop = std::ceil(ymax * 1.1 / ystep) * ystep;
  const auto px = [&](double x) { return f.x0 + x / xtop * f.w; };
  const auto py = [&](double y) { return f.y0 + f.h - y / ytop * f.h; };
  std::string s = panel_frame(f, title, "packets per second reached by the generator", ylabel);
  for (double x = 0; x <= xtop + 1e-9; x += xstep) s += x_tick(f, px(x), rate_label(x));
  for (double y = 0; y <= ytop + 1e-9; y += ystep)
    s += y_tick(f, py(y), percent ? fmt::format("{:g}%", y) : fmt::format("{:g}", y));
  for (std::size_t i = 0; i < series.size(); ++i) {
    auto pts = series[i].points;
    std::sort(pts.begin(), pts.end());
    std::string path;
    for (const auto& [x, y] : pts) {
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", px(x), py(y));
      s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3.5" fill="{}"/>)"
                       "\n",
                       px(x), py(y), colour(i));
    }
    if (!path.empty())
      s += fmt::format(R"(<path d="{}" fill="none" stroke="{}" stroke-width="2"/>)"
                       "\n",
                       path, colour(i));
  }
  s += legend(f, series);
  return s;
}

}  // namespace

std::vector<std::pair<double, double>> cdf_points(const HistogramData& h) {
  std::vector<std::pair<double, double>> pts;
  if (h.count == 0) return pts;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < h.buckets.size(); ++i) {
    if (!h.buckets[i]) continue;
    seen += h.buckets[i];
    const auto upper = std::clamp(histogram_bucket_upper(i), h.min, h.max);
    pts.emplace_back(static_cast<double>(upper),
                     static_cast<double>(seen) / static_cast<double>(h.count));
  }
  return pts;
}

std::string render_bench_svg(const BenchChart& chart) {
  const bool sweeping = !chart.cpu_vs_rate.empty();
  const int panels = sweeping ? 3 : 1;
  const int height = 70 + panels * (kPanelHeight + kTop + kBottom);
  std::string s = fmt::format(
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      "\n"
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="sans-serif">)"
      "\n"
      R"(<rect width="100%" height="100%" fill="white"/>)"
      "\n"
      R"(<text x="{2}" y="28" font-size="18" font-weight="bold">{3}</text>)"
      "\n"
      R"(<text x="{2}" y="48" font-size="12" fill="#444">{4}</text>)"
      "\n",
      kWidth, height, kLeft, svg_escape(chart.title), svg_escape(chart.subtitle));
  const double w = kWidth - kLeft - kRight;
  double y = 70 + kTop;
  s += cdf_panel(Frame{kLeft, y, w, kPanelHeight}, chart.latency_cdf);
  if (sweeping) {
    y += kPanelHeight + kTop + kBottom;
    s += xy_panel(Frame{kLeft, y, w, kPanelHeight}, chart.cpu_vs_rate,
                  "CPU per packet of the capture process against rate",
                  "CPU ns per packet (user + system)", false);
    y += kPanelHeight + kTop + kBottom;
    s += xy_panel(Frame{kLeft, y, w, kPanelHeight}, chart.loss_vs_rate,
                  "Packets lost (sent but not in the capture) against rate", "lost, % of sent",
                  true);
  }
  s += "</svg>\n";
  return s;
}

}  // namespace rtcap::tool
