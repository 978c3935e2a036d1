// The registry of counters (rtcap/stats.hpp) is covered by every front end: the C structs, the
// Prometheus text, the stats JSON (Python: tests/unit/test_python.py).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "capi/stats_fields.hpp"
#include "rtcap/metrics.hpp"
#include "rtcap/stats.hpp"

#ifdef RTCAP_HAVE_CLI
#include "capture/report.hpp"
#endif

namespace {

// Every figure non-zero, so that a front end that drops one shows it.
rtcap::CaptureStats busy_stats() {
  rtcap::CaptureStats s;
  s.elapsed_ns = 2'000'000'000;
  s.packets_captured = 1000;
  s.bytes_captured = 90'000;
  s.packets_truncated = 1;
  s.app_dropped_packets = 2;
  s.packets_delivered = 998;
  s.batches_delivered = 10;
  s.thread_handoffs = 10;
  s.wakeups = 11;
  s.dispatch_calls = 12;
  s.empty_dispatch_calls = 1;
  s.max_dispatch_bytes = 9000;
  s.max_dispatch_buffer_share = 0.25;
  s.capture_cpu_ns = 5'000'000;
  s.callback_ns = 1'250'000'000;
  rtcap::InterfaceStats i;
  i.name = "veth0";
  i.received = 1003;
  i.kernel_dropped = 3;
  i.interface_dropped = 1;
  i.buffer_bytes = 1 << 25;
  i.up = false;
  i.down_events = 1;
  i.down_ns = 1'500'000'000;
  i.reopens = 1;
  s.interfaces.push_back(i);
  return s;
}

}  // namespace

TEST(Counters, NamesAreUnique) {
  std::set<std::string> names;
  for (const rtcap::CounterInfo& c : rtcap::capture_counters()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_TRUE((c.integer != nullptr) != (c.fraction != nullptr)) << c.name;
    if (c.kind == rtcap::CounterKind::kCounter && c.source == rtcap::CounterSource::kMember) {
      EXPECT_TRUE(std::string(c.prometheus).ends_with("_total")) << c.prometheus;
    }
  }
  names.clear();
  for (const rtcap::InterfaceCounterInfo& c : rtcap::interface_counters())
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

TEST(Counters, TheCStructsHoldEveryCounter) {
  std::set<std::string> fields;
  for (const auto& f : rtcap::capi::kStatsFields) fields.insert(f.name);
  for (const rtcap::CounterInfo& c : rtcap::capture_counters())
    EXPECT_TRUE(fields.erase(c.name)) << "rtcap_stats lacks " << c.name;
  EXPECT_TRUE(fields.empty()) << "rtcap_stats has " << *fields.begin() << ", the registry not";
  for (const auto& f : rtcap::capi::kInterfaceFields) fields.insert(f.name);
  for (const rtcap::InterfaceCounterInfo& c : rtcap::interface_counters())
    EXPECT_TRUE(fields.erase(c.name)) << "rtcap_interface_info lacks " << c.name;
  EXPECT_TRUE(fields.empty());

  const rtcap::CaptureStats s = busy_stats();
  rtcap_stats v{};
  rtcap::capi::fill_stats(s, v);
  EXPECT_EQ(v.thread_handoffs, 10u);
  EXPECT_EQ(v.interface_reopens, 1u);
  EXPECT_EQ(v.received, 1003u);
  EXPECT_DOUBLE_EQ(v.max_dispatch_buffer_share, 0.25);
  EXPECT_EQ(v.elapsed_ns, 2'000'000'000);
  EXPECT_EQ(v.callback_ns, 1'250'000'000u);
  rtcap_interface_info info{};
  rtcap::capi::fill_interface(s.interfaces[0], info);
  EXPECT_EQ(info.down_events, 1u);
  EXPECT_EQ(info.down_ns, 1'500'000'000u);
  EXPECT_EQ(info.reopens, 1u);
  EXPECT_EQ(info.up, 0u);
}

TEST(Counters, PrometheusTextHasEveryCounter) {
  const std::string text = rtcap::render_metrics(busy_stats(), nullptr, nullptr);
  for (const rtcap::CounterInfo& c : rtcap::capture_counters())
    EXPECT_NE(text.find(std::string("# TYPE ") + c.prometheus + " "), std::string::npos)
        << c.name << ": no " << c.prometheus;
  for (const rtcap::InterfaceCounterInfo& c : rtcap::interface_counters())
    EXPECT_NE(text.find(std::string(c.prometheus) + "{interface=\"veth0\"}"), std::string::npos)
        << c.name;
  EXPECT_NE(text.find("rtcap_thread_handoffs_total 10\n"), std::string::npos);
  EXPECT_NE(text.find("rtcap_max_dispatch_bytes 9000\n"), std::string::npos);
  EXPECT_NE(text.find("rtcap_callback_seconds_total 1.25\n"), std::string::npos);
  EXPECT_NE(text.find("rtcap_interface_down_seconds_total{interface=\"veth0\"} 1.5\n"),
            std::string::npos);
}

#ifdef RTCAP_HAVE_CLI
TEST(Counters, StatsJsonHasEveryCounter) {
  const auto j = nlohmann::json::parse(rtcap::tool::stats_json(busy_stats(), true));
  for (const rtcap::CounterInfo& c : rtcap::capture_counters())
    EXPECT_TRUE(j.contains(c.name)) << c.name;
  ASSERT_EQ(j["interfaces"].size(), 1u);
  for (const rtcap::InterfaceCounterInfo& c : rtcap::interface_counters())
    EXPECT_TRUE(j["interfaces"][0].contains(c.name)) << c.name;
  EXPECT_EQ(j["thread_handoffs"], 10);
}

TEST(Counters, TheSummaryShowsEveryCounter) {
  const auto figures = rtcap::tool::summary_figures();
  const std::set<std::string> shown(figures.begin(), figures.end());
  for (const rtcap::CounterInfo& c : rtcap::capture_counters())
    EXPECT_TRUE(shown.count(c.name)) << "the summary lacks " << c.name;
  rtcap::CaptureStats s = busy_stats();
  s.latency_ns.record(1000);
  const std::string text = rtcap::tool::summary(s, true);
  EXPECT_EQ(text.find('{'), std::string::npos) << text;  // every name resolved
  EXPECT_NE(text.find("1000 packets captured\n1003 packets received by filter\n3 packets "
                      "dropped by kernel\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(10 handed to another thread), 90000 bytes captured"), std::string::npos)
      << text;
  EXPECT_NE(text.find("1 interface reopen(s)"), std::string::npos) << text;
}
#endif
