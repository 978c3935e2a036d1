// Prometheus metrics: the text format checked by a strict parser written here (promtool is not a
// build dependency; tests/integration/test-metrics.sh adds `promtool check metrics` when it is
// installed), and the HTTP server scraped over a raw socket on an ephemeral loopback port.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rtcap/advisor.hpp"
#include "rtcap/analysis.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/metrics.hpp"
#include "rtcap/metrics_server.hpp"
#include "rtcap/rtcap.h"
#include "stats/histogram_recorder.hpp"

#ifndef RTCAP_SOURCE_DIR
#define RTCAP_SOURCE_DIR "."
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// A strict checker of the text exposition format 0.0.4. Returns "" when the text is valid, else
// the first problem with its line number.

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

bool parse_value(const std::string& s, double& v) {
  if (s == "+Inf") {
    v = INFINITY;
    return true;
  }
  if (s == "-Inf") {
    v = -INFINITY;
    return true;
  }
  if (s == "NaN") {
    v = NAN;
    return true;
  }
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string labels_key(std::map<std::string, std::string> labels, bool drop_le) {
  if (drop_le) labels.erase("le");
  std::string k;
  for (const auto& [n, v] : labels) k += n + "=" + v + ",";
  return k;
}

std::string check_exposition(const std::string& text,
                             std::map<std::string, std::vector<Sample>>* by_family = nullptr) {
  // [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, [a-zA-Z_][a-zA-Z0-9_]* for label names.
  auto valid = [](const std::string& s, bool colon) {
    auto head = [&](char c) {
      return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (colon && c == ':');
    };
    if (s.empty() || !head(s[0])) return false;
    return std::all_of(s.begin() + 1, s.end(),
                       [&](char c) { return head(c) || (c >= '0' && c <= '9'); });
  };
  if (text.empty() || text.back() != '\n') return "text must end with a newline";
  std::map<std::string, std::string> types;
  std::set<std::string> helps, finished, series;
  std::map<std::string, std::vector<Sample>> samples;
  std::string current;  // family whose samples we are in
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto err = [&](const std::string& what) {
    return "line " + std::to_string(n) + ": " + what + ": '" + line + "'";
  };
  auto family_of = [&](const std::string& name) -> std::string {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
        const std::string base = name.substr(0, name.size() - s.size());
        auto t = types.find(base);
        if (t != types.end() && (t->second == "histogram" || t->second == "summary")) return base;
      }
    }
    return name;
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) return err("empty line");
    if (line[0] == '#') {
      std::istringstream ls(line);
      std::string hash, kind, name;
      ls >> hash >> kind >> name;
      if (kind != "HELP" && kind != "TYPE") continue;  // plain comment
      if (!valid(name, true)) return err("bad metric name");
      if (finished.count(name) || current == name) {
        if (samples.count(name)) return err("HELP/TYPE after the family's samples");
      }
      if (kind == "HELP") {
        if (!helps.insert(name).second) return err("second HELP for " + name);
      } else {
        std::string type, extra;
        ls >> type;
        if (ls >> extra) return err("junk after TYPE");
        if (types.count(name)) return err("second TYPE for " + name);
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped")
          return err("unknown type");
        if (type == "counter" && !name.ends_with("_total")) return err("counter without _total");
        types[name] = type;
      }
      continue;
    }
    // name{l="v",...} value
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!valid(s.name, true)) return err("bad metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) return err("label without '='");
        const std::string lname = line.substr(i, eq - i);
        if (!valid(lname, false) || lname.starts_with("__")) return err("bad label name");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return err("label value not quoted");
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (++j >= line.size()) return err("dangling escape");
            if (line[j] == 'n')
              value += '\n';
            else if (line[j] == '\\' || line[j] == '"')
              value += line[j];
            else
              return err("bad escape");
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return err("unterminated label value");
        if (!s.labels.emplace(lname, value).second) return err("duplicate label");
        i = j + 1;
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i < line.size() && line[i] != '}')
          return err("expected ',' or '}'");
      }
      if (i >= line.size()) return err("unterminated label set");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return err("no space before the value");
    const std::string rest = line.substr(i + 1);
    if (rest.find(' ') != std::string::npos) return err("timestamps or junk after the value");
    if (!parse_value(rest, s.value)) return err("bad value");
    const std::string fam = family_of(s.name);
    if (!types.count(fam)) return err("sample before its TYPE");
    if (!helps.count(fam)) return err("sample without HELP");
    if (fam != current) {
      if (finished.count(fam)) return err("family's samples are not contiguous");
      if (!current.empty()) finished.insert(current);
      current = fam;
    }
    const std::string& type = types[fam];
    if (type == "counter" && (s.value < 0 || std::isnan(s.value))) return err("negative counter");
    if (type == "histogram") {
      if (s.name == fam + "_bucket" && !s.labels.count("le")) return err("bucket without le");
      if (s.name != fam + "_bucket" && s.labels.count("le")) return err("le outside _bucket");
      if (s.name == fam) return err("histogram sample without suffix");
    }
    if (!series.insert(s.name + "|" + labels_key(s.labels, false)).second)
      return err("duplicate series");
    samples[fam].push_back(s);
  }
  // Histograms: per label set, le ascending, counts cumulative, +Inf last and == _count.
  for (const auto& [fam, type] : types) {
    if (type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> counts;
    std::set<std::string> sums;
    for (const Sample& s : samples[fam]) {
      const std::string key = labels_key(s.labels, true);
      if (s.name == fam + "_bucket") {
        double le = 0;
        if (!parse_value(s.labels.at("le"), le))
          return fam + ": bad le '" + s.labels.at("le") + "'";
        buckets[key].push_back({le, s.value});
      } else if (s.name == fam + "_count") {
        counts[key] = s.value;
      } else if (s.name == fam + "_sum") {
        sums.insert(key);
      }
    }
    if (buckets.empty()) return fam + ": histogram without buckets";
    for (const auto& [key, b] : buckets) {
      for (std::size_t i = 1; i < b.size(); ++i) {
        if (!(b[i].first > b[i - 1].first)) return fam + ": le not ascending";
        if (b[i].second < b[i - 1].second) return fam + ": buckets not cumulative";
      }
      if (!std::isinf(b.back().first)) return fam + ": last bucket is not +Inf";
      if (!counts.count(key)) return fam + ": no _count";
      if (!sums.count(key)) return fam + ": no _sum";
      if (counts[key] != b.back().second) return fam + ": +Inf bucket != _count";
    }
  }
  if (by_family) *by_family = std::move(samples);
  return "";
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP client.

struct Response {
  std::string status_line;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string raw;
};

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

Response http(std::uint16_t port, const std::string& request) {
  Response r;
  const int fd = connect_to(port);
  if (fd < 0) return r;
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    r.raw.append(buf, std::size_t(n));
  }
  ::close(fd);
  const auto end = r.raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  std::istringstream head(r.raw.substr(0, end));
  std::string line;
  std::getline(head, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  r.status_line = line;
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  r.body = r.raw.substr(end + 4);
  return r;
}

Response scrape(std::uint16_t port) { return http(port, "GET /metrics HTTP/1.0\r\n\r\n"); }

// Realistic input: the sample file through the engine, a stream tracker and the advisor.
struct Inputs {
  rtcap::CaptureStats stats;
  rtcap::TrackerSnapshot streams;
  std::vector<rtcap::Advice> advice;
};

Inputs sample_inputs() {
  Inputs in;
  rtcap::CaptureConfig config;
  config.read_file = RTCAP_SOURCE_DIR "/tests/data/rtp-12streams-125us.pcap";
  auto engine = rtcap::Engine::open(config);
  EXPECT_TRUE(engine.has_value()) << (engine ? "" : engine.error().message);
  if (!engine) return in;
  rtcap::StreamTracker tracker;
  const int linktype = (*engine)->interfaces().front().linktype;
  while (!(*engine)->done())
    (void)(*engine)->poll(std::chrono::milliseconds(100),
                          [&](const rtcap::Batch& b) { tracker.add(b, linktype); });
  in.stats = (*engine)->stats();
  in.streams = tracker.snapshot();
  rtcap::Advice a;
  a.id = rtcap::advice_id::kReaderTooSlow;
  a.severity = rtcap::Severity::kCritical;
  a.active = true;
  a.times_fired = 2;
  in.advice.push_back(a);
  return in;
}

double value_of(const std::map<std::string, std::vector<Sample>>& fams, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
  for (const auto& [fam, samples] : fams)
    for (const Sample& s : samples)
      if (s.name == name && std::all_of(labels.begin(), labels.end(), [&](const auto& l) {
            auto it = s.labels.find(l.first);
            return it != s.labels.end() && it->second == l.second;
          }))
        return s.value;
  return NAN;
}

}  // namespace

TEST(MetricsChecker, RejectsBrokenText) {
  EXPECT_NE(check_exposition("# HELP a_total x\n# TYPE a_total counter\na_total 1"), "");  // no \n
  EXPECT_NE(check_exposition("# HELP a x\n# TYPE a counter\na 1\n"), "");  // counter w/o _total
  EXPECT_NE(check_exposition("# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n"), "");
  EXPECT_NE(check_exposition("# HELP a x\n# TYPE a gauge\na{l=\"1} 1\n"), "");
  EXPECT_NE(check_exposition("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\n"
                             "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"),
            "");
  EXPECT_NE(check_exposition("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                             "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"),
            "");
  EXPECT_NE(check_exposition("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                             "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n"),
            "");
  EXPECT_EQ(check_exposition("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n"
                             "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"),
            "");
}

TEST(MetricsRender, EmptyStatsAreValid) {
  const std::string text = rtcap::render_metrics({}, nullptr, nullptr);
  EXPECT_EQ(check_exposition(text), "") << text;
  // The library's one version string, not a fallback a build setting forgot.
  EXPECT_NE(text.find("rtcap_build_info{version=\"" + std::string(rtcap_version()) + "\""),
            std::string::npos)
      << text;
  EXPECT_NE(std::string(rtcap_version()), "unknown");
  EXPECT_NE(text.find("rtcap_packets_captured_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("rtcap_delivery_latency_seconds_bucket{le=\"+Inf\"} 0\n"), std::string::npos);
}

#ifdef RTCAP_HAVE_CLI
// Every family the library exports is in docs/OPERATIONS.md under its full name, the name an
// operator greps for (seven were missing).
TEST(MetricsRender, EveryFamilyIsDocumented) {
  auto slurp = [](const std::string& path) {
    std::ifstream f(std::string(RTCAP_SOURCE_DIR) + "/" + path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  const std::string docs = slurp("docs/OPERATIONS.md");
  ASSERT_FALSE(docs.empty());
  std::set<std::string> names;
  for (const char* source : {"src/io/metrics.cpp", "src/stats/counters.cpp"}) {
    const std::string text = slurp(source);
    ASSERT_FALSE(text.empty()) << source;
    const std::regex literal("\"(rtcap_[a-z0-9_]+)\"");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), literal);
         it != std::sregex_iterator(); ++it)
      names.insert((*it)[1]);
  }
  EXPECT_GT(names.size(), 50u);
  for (const std::string& name : names)
    EXPECT_NE(docs.find("`" + name), std::string::npos) << name << " is not in docs/OPERATIONS.md";
}
#endif

TEST(MetricsRender, SampleCaptureIsValidAndComplete) {
  const Inputs in = sample_inputs();
  ASSERT_EQ(in.stats.packets_captured, 1200u);
  rtcap::MetricsOptions o;
  o.top_streams = 5;
  const std::string text = rtcap::render_metrics(in.stats, &in.streams, &in.advice, o);
  std::map<std::string, std::vector<Sample>> fams;
  ASSERT_EQ(check_exposition(text, &fams), "") << text;
  EXPECT_EQ(value_of(fams, "rtcap_packets_captured_total"), 1200);
  EXPECT_EQ(value_of(fams, "rtcap_packets_delivered_total"), double(in.stats.packets_delivered));
  EXPECT_EQ(value_of(fams, "rtcap_app_dropped_packets_total"), 0);
  EXPECT_EQ(value_of(fams, "rtcap_dispatch_packets_count"),
            double(in.stats.dispatch_packets.count));
  EXPECT_EQ(value_of(fams, "rtcap_delivery_latency_seconds_count"),
            double(in.stats.latency_ns.count));
  // Per-interface series carry the interface label.
  ASSERT_EQ(fams["rtcap_kernel_dropped_packets_total"].size(), in.stats.interfaces.size());
  // Top 5 of 12 streams, labels src/dst/ssrc only.
  const auto& pk = fams["rtcap_stream_packets_total"];
  ASSERT_EQ(pk.size(), 5u);
  for (const Sample& s : pk) {
    EXPECT_EQ(s.labels.size(), 3u);
    EXPECT_TRUE(s.labels.count("src") && s.labels.count("dst") && s.labels.count("ssrc"));
    EXPECT_TRUE(s.labels.at("ssrc").starts_with("0x")) << s.labels.at("ssrc");
    EXPECT_EQ(s.value, 100);
  }
  EXPECT_EQ(fams["rtcap_stream_jitter_seconds"].size(), 5u);
  // AES67 timing per stream, as the final table has it: the sample's 125 us packets.
  for (const char* family :
       {"rtcap_stream_ts_df_seconds", "rtcap_stream_ts_df_max_seconds",
        "rtcap_stream_packet_interval_mean_seconds", "rtcap_stream_packet_interval_max_seconds",
        "rtcap_stream_clock_drift_ppm", "rtcap_stream_timing_compliant"})
    EXPECT_EQ(fams[family].size(), 5u) << family;
  for (const Sample& s : fams["rtcap_stream_packet_interval_mean_seconds"])
    EXPECT_NEAR(s.value, 125e-6, 5e-6);
  EXPECT_EQ(value_of(fams, "rtcap_streams_active"), 12);
  // Every known rule is there; only the active one is 1.
  EXPECT_EQ(fams["rtcap_advice_active"].size(), std::size(rtcap::advice_id::kAll));
  EXPECT_EQ(value_of(fams, "rtcap_advice_active", {{"rule", "reader-too-slow"}}), 1);
  EXPECT_EQ(value_of(fams, "rtcap_advice_active", {{"rule", "burst-drops"}}), 0);
  EXPECT_EQ(value_of(fams, "rtcap_advice_fired_total", {{"rule", "reader-too-slow"}}), 2);
}

// The silence metric's help names the level meter's default threshold, read from its one place.
TEST(MetricsRender, SilenceHelpNamesTheDefaultThreshold) {
  const rtcap::TrackerSnapshot streams;
  const std::string text = rtcap::render_metrics({}, &streams, nullptr);
  const std::string prefix = "# HELP rtcap_stream_channel_silence_seconds ";
  const auto at = text.find(prefix);
  ASSERT_NE(at, std::string::npos) << text;
  const std::string help = text.substr(at, text.find('\n', at) - at);
  EXPECT_NE(help.find(fmt::format("(default {} dBFS)", rtcap::kDefaultSilenceThresholdDbfs)),
            std::string::npos)
      << help;
}

TEST(MetricsRender, LatencyBucketsInSeconds) {
  rtcap::Histogram h;
  for (std::uint64_t ns :
       {5'000ull, 1'500'000ull, 1'900'000ull, 3'000'000'000ull, 20'000'000'000ull})
    h.record(ns);
  rtcap::CaptureStats s;
  s.latency_ns = h.snapshot();
  const std::string text = rtcap::render_metrics(s, nullptr, nullptr);
  std::map<std::string, std::vector<Sample>> fams;
  ASSERT_EQ(check_exposition(text, &fams), "") << text;
  const auto& b = fams["rtcap_delivery_latency_seconds"];
  auto bucket = [&](const std::string& le) {
    return value_of(fams, "rtcap_delivery_latency_seconds_bucket", {{"le", le}});
  };
  EXPECT_EQ(bucket("1e-05"), 1);
  EXPECT_EQ(bucket("0.001"), 1);
  EXPECT_EQ(bucket("0.002"), 3);
  EXPECT_EQ(bucket("2.5"), 3);
  EXPECT_EQ(bucket("5"), 4);
  EXPECT_EQ(bucket("10"), 4);
  EXPECT_EQ(bucket("+Inf"), 5);
  EXPECT_EQ(b.size(), std::size(rtcap::kLatencyBucketsSeconds) + 3);  // + +Inf, _sum, _count
  EXPECT_NEAR(value_of(fams, "rtcap_delivery_latency_seconds_sum"), 23.003405, 1e-6);
}

TEST(MetricsRender, LabelValuesAreEscaped) {
  rtcap::CaptureStats s;
  s.interfaces.push_back({"we\"ird\\na\nme", 1, 2, 3, 4});
  const std::string text = rtcap::render_metrics(s, nullptr, nullptr);
  ASSERT_EQ(check_exposition(text), "") << text;
  EXPECT_NE(text.find("interface=\"we\\\"ird\\\\na\\nme\""), std::string::npos) << text;
}

TEST(MetricsServer, ServesMetricsOnEphemeralLoopbackPort) {
  auto server = rtcap::MetricsServer::start("127.0.0.1:0");
  ASSERT_TRUE(server.has_value()) << server.error().message;
  const std::uint16_t port = (*server)->port();
  ASSERT_NE(port, 0);
  EXPECT_EQ((*server)->address(), "127.0.0.1:" + std::to_string(port));

  Response before = scrape(port);  // valid even before the first publish
  EXPECT_EQ(before.status_line, "HTTP/1.0 200 OK");
  EXPECT_EQ(check_exposition(before.body), "") << before.body;

  const Inputs in = sample_inputs();
  (*server)->publish(in.stats, &in.streams, &in.advice);
  Response r = scrape(port);
  EXPECT_EQ(r.status_line, "HTTP/1.0 200 OK");
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
  std::map<std::string, std::vector<Sample>> fams;
  ASSERT_EQ(check_exposition(r.body, &fams), "") << r.body;
  EXPECT_EQ(value_of(fams, "rtcap_packets_captured_total"), 1200);
  EXPECT_EQ(fams["rtcap_stream_packets_total"].size(), 12u);  // default top 20 > 12 streams
  EXPECT_EQ((*server)->scrapes(), 2u);
  EXPECT_EQ((*server)->publishes(), 1u);

  // HEAD: headers only. Query strings are ignored.
  Response head = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(head.status_line, "HTTP/1.0 200 OK");
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(http(port, "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").status_line,
            "HTTP/1.0 200 OK");
  EXPECT_EQ(http(port, "GET / HTTP/1.0\r\n\r\n").status_line, "HTTP/1.0 404 Not Found");
  EXPECT_EQ(http(port, "GET /metricsx HTTP/1.0\r\n\r\n").status_line, "HTTP/1.0 404 Not Found");
  EXPECT_EQ(http(port, "POST /metrics HTTP/1.0\r\n\r\n").status_line,
            "HTTP/1.0 405 Method Not Allowed");
  EXPECT_EQ(http(port, "garbage\r\n\r\n").status_line, "HTTP/1.0 400 Bad Request");
  // A request head without end, longer than the bound: 431, connection closed.
  EXPECT_EQ(http(port, "GET /metrics HTTP/1.0\r\nX: " + std::string(10000, 'a')).status_line,
            "HTTP/1.0 431 Request Header Fields Too Large");
}

TEST(MetricsServer, SlowClientsDoNotBlockOthers) {
  rtcap::MetricsServerOptions o;
  o.client_timeout_ms = 500;
  auto server = rtcap::MetricsServer::start("127.0.0.1:0", o);
  ASSERT_TRUE(server.has_value()) << server.error().message;
  const std::uint16_t port = (*server)->port();
  // More silent clients than slots: the server frees their slots at the deadline.
  std::vector<int> silent;
  for (int i = 0; i < rtcap::MetricsServer::kMaxClients + 2; ++i)
    silent.push_back(connect_to(port));
  const auto t0 = std::chrono::steady_clock::now();
  Response r = scrape(port);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status_line, "HTTP/1.0 200 OK");
  EXPECT_LT(waited, std::chrono::seconds(3));
  // A silent client is closed by the server after its deadline.
  char c;
  EXPECT_EQ(::recv(silent.front(), &c, 1, 0), 0);
  for (int fd : silent) ::close(fd);
}

TEST(MetricsServer, PublishWhileScraping) {
  auto server = rtcap::MetricsServer::start("127.0.0.1:0");
  ASSERT_TRUE(server.has_value()) << server.error().message;
  const std::uint16_t port = (*server)->port();
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    rtcap::CaptureStats s;
    s.interfaces.push_back({"eth0", 0, 0, 0, 0});
    while (!stop.load()) {
      s.packets_captured += 1000;
      s.interfaces[0].received += 1000;
      (*server)->publish(s, nullptr, nullptr);
    }
  });
  double last = -1;
  for (int i = 0; i < 50; ++i) {
    Response r = scrape(port);
    std::map<std::string, std::vector<Sample>> fams;
    ASSERT_EQ(check_exposition(r.body, &fams), "");
    const double v = value_of(fams, "rtcap_packets_captured_total");
    EXPECT_GE(v, last);  // counters never go back
    last = v;
  }
  stop = true;
  publisher.join();
}

TEST(MetricsServer, RefusesNonLoopbackUnlessAllowed) {
  auto refused = rtcap::MetricsServer::start("0.0.0.0:0");
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("0.0.0.0:0"), std::string::npos);
  EXPECT_NE(refused.error().message.find("not a loopback address"), std::string::npos);
  EXPECT_NE(refused.error().message.find("allow"), std::string::npos);
  EXPECT_EQ(refused.error().message.find('\n'), std::string::npos);
  // The library names its own option; the CLI adds its flag (from setting and reason).
  EXPECT_NE(refused.error().message.find("MetricsServerOptions::allow_any_address"),
            std::string::npos);
  EXPECT_EQ(refused.error().message.find("--"), std::string::npos) << refused.error().message;
  EXPECT_EQ(refused.error().setting, "allow_any_address");
  EXPECT_EQ(refused.error().reason.find("MetricsServerOptions"), std::string::npos);

  rtcap::MetricsServerOptions o;
  o.allow_any_address = true;
  auto any = rtcap::MetricsServer::start("0.0.0.0:0", o);
  ASSERT_TRUE(any.has_value()) << any.error().message;
  EXPECT_EQ(scrape((*any)->port()).status_line, "HTTP/1.0 200 OK");

  auto v6 = rtcap::MetricsServer::start("[::1]:0");
  if (v6) {  // hosts without IPv6: skip
    EXPECT_TRUE((*v6)->address().starts_with("[::1]:"));
  }
  auto local = rtcap::MetricsServer::start("localhost:0");
  ASSERT_TRUE(local.has_value()) << local.error().message;
}

TEST(MetricsServer, AddressErrorsAreOneLineWithTheFix) {
  auto first = rtcap::MetricsServer::start("127.0.0.1:0");
  ASSERT_TRUE(first.has_value());
  const std::string busy = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = rtcap::MetricsServer::start(busy);
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message.find("cannot serve metrics on " + busy), std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("free port"), std::string::npos) << second.error().message;
  EXPECT_EQ(second.error().message.find('\n'), std::string::npos);

  for (const char* bad : {"127.0.0.1", "127.0.0.1:99999", "127.0.0.1:x", ":9464", "::1:9464",
                          "example.org:9464", "[::1"}) {
    auto r = rtcap::MetricsServer::start(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  }
}
