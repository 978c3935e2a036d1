// Prometheus text exposition (format 0.0.4) and the small server that serves it on
// cpp-httplib (Debian libcpp-httplib-dev; on Windows the same release's header-only form).
//
// httplib does the HTTP: request line and headers, routing, the response head. What its own
// listen loop does not bound is the connection: each accepted socket takes one of its worker
// threads until a request arrives, so eight idle connections held a scrape for 5 s (issue 13).
// Here one thread, the door, owns the listening socket and every connection until its request
// head is complete: it waits in poll(), reads what arrives, and closes a connection at its
// deadline (client_timeout_ms). A head that passes max_request_bytes gets 431. Only a complete
// request goes to a worker (kWorkers), which runs httplib's Server::process_request over a
// stream that serves the bytes the door read, then the socket, within the same deadline. An
// idle or slow client therefore costs a file descriptor, never a worker; when kMaxClients
// connections are held, the oldest one still waiting for its request makes room.
#include "rtcap/metrics.hpp"

// httplib.h brings the socket API: <winsock2.h>/<ws2tcpip.h> on Windows, the POSIX headers
// elsewhere (and its socket_t, INVALID_SOCKET).
#include <httplib.h>

#include "platform/socket.hpp"  // after httplib.h: Winsock before <windows.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "rtcap/engine.hpp"


namespace rtcap {
namespace {

// ---------------------------------------------------------------------------------------------
// Rendering

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

struct Label {
  std::string_view name;
  std::string value;
};

class Text {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, std::string_view value) {
    out_ += name;
    if (labels.size() != 0) {
      out_ += '{';
      bool first = true;
      for (const Label& l : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += fmt::format("{}=\"{}\"", l.name, escape_label(l.value));
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, std::uint64_t v) {
    sample(name, labels, std::string_view(fmt::format("{}", v)));
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t v) {
    sample(name, labels, std::string_view(fmt::format("{}", v)));
  }
  void sample(std::string_view name, std::initializer_list<Label> labels, double v) {
    sample(name, labels, std::string_view(format_value(v)));
  }
  // One-sample families.
  void counter(std::string_view name, std::string_view help, std::uint64_t v) {
    family(name, "counter", help);
    sample(name, {}, v);
  }
  void gauge(std::string_view name, std::string_view help, double v) {
    family(name, "gauge", help);
    sample(name, {}, v);
  }

  // A Prometheus histogram from a log-linear HistogramData. A sample is counted under `le` when
  // its whole histogram bucket lies at or below le * scale (HDR buckets are at most 3.1% wide,
  // so a value up to 3.1% under a bound may land in the next one: latency is never understated).
  // _count and +Inf are the sum of the buckets, not HistogramData::count, so that the series is
  // self-consistent even when the snapshot raced a writer.
  template <std::size_t N>
  void histogram(std::string_view name, std::string_view help, const HistogramData& h,
                 const double (&bounds)[N], double scale_to_units) {
    family(name, "histogram", help);
    const std::string bucket = fmt::format("{}_bucket", name);
    std::uint64_t cumulative = 0;
    std::size_t i = 0;
    for (double bound : bounds) {
      const double limit = std::floor(bound / scale_to_units + 1e-9);  // in histogram units
      for (; i < h.buckets.size() && double(histogram_bucket_upper(i)) <= limit; ++i)
        cumulative += h.buckets[i];
      sample(bucket, {{"le", format_value(bound)}}, cumulative);
    }
    for (; i < h.buckets.size(); ++i) cumulative += h.buckets[i];
    sample(bucket, {{"le", "+Inf"}}, cumulative);
    sample(fmt::format("{}_sum", name), {}, double(h.sum) * scale_to_units);
    sample(fmt::format("{}_count", name), {}, cumulative);
  }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string endpoint(const IpAddress& a, std::uint16_t port) {
  return a.family == 6 ? fmt::format("[{}]:{}", a.to_string(), port)
                       : fmt::format("{}:{}", a.to_string(), port);
}

// PTP per domain and master (at most 8 x 8: the analyser's fixed table bounds the series), and
// per stream whose SDP names a reference clock, whether the wire agrees.
// ST 2022-7 pairs: at most kMaxRedundantPairs, so the series are bounded. A pair is labelled by
// its group and the destination of its first path (two sessions may name their mids alike).
void render_redundancy(Text& t, const TrackerSnapshot& snap) {
  const auto dst_of = [&](std::uint64_t id) {
    for (const StreamSummary& s : snap.streams)
      if (s.id == id) return endpoint(s.dst, s.dst_port);
    return std::string("-");
  };
  t.family("rtcap_st2022_7_path_lost_packets", "gauge",
           "Per ST 2022-7 pair and path: sequence numbers of the counted range that path lost.");
  for (const RedundantPair& r : snap.redundancy)
    for (int i = 0; i < 2; ++i)
      t.sample("rtcap_st2022_7_path_lost_packets",
               {{"pair", r.group},
                {"primary", dst_of(r.path[0].stream_id)},
                {"path", i == 0 ? "0" : "1"},
                {"dst", dst_of(r.path[i].stream_id)}},
               r.path[i].lost);
  const auto per_pair = [&](std::string_view name, std::string_view help, auto value) {
    t.family(name, "gauge", help);
    for (const RedundantPair& r : snap.redundancy)
      if (const auto v = value(r); v)
        t.sample(name, {{"pair", r.group}, {"primary", dst_of(r.path[0].stream_id)}}, *v);
  };
  using Opt = std::optional<double>;
  per_pair("rtcap_st2022_7_expected_packets",
           "Per ST 2022-7 pair: sequence numbers in the counted range.",
           [](const RedundantPair& r) { return Opt(static_cast<double>(r.expected)); });
  per_pair("rtcap_st2022_7_merged_lost_packets",
           "Per ST 2022-7 pair: sequence numbers lost on both paths (what a 2022-7 receiver "
           "loses).",
           [](const RedundantPair& r) { return Opt(static_cast<double>(r.merged_lost)); });
  per_pair("rtcap_st2022_7_path_differential_max_seconds",
           "Per ST 2022-7 pair: largest |arrival on path 1 - arrival on path 0| of one packet.",
           [](const RedundantPair& r) {
             return r.differential_count ? Opt(r.differential_max_abs_us / 1e6) : Opt();
           });
  per_pair("rtcap_st2022_7_path_differential_mean_seconds",
           "Per ST 2022-7 pair: mean of arrival on path 1 - arrival on path 0.",
           [](const RedundantPair& r) {
             return r.differential_count ? Opt(r.differential_mean_us / 1e6) : Opt();
           });
  per_pair("rtcap_st2022_7_buffer_needed_seconds",
           "Per ST 2022-7 pair: what a receiver must hold to merge (the largest differential).",
           [](const RedundantPair& r) {
             return r.differential_count ? Opt(r.buffer_needed_us / 1e6) : Opt();
           });
  t.family("rtcap_st2022_7_skew_class_info", "gauge",
           "Per ST 2022-7 pair: the receiver class (ST 2022-7:2019 Table 1) its largest "
           "differential falls in, as the class label; always 1.");
  for (const RedundantPair& r : snap.redundancy)
    if (r.differential_count)
      t.sample("rtcap_st2022_7_skew_class_info",
               {{"pair", r.group},
                {"primary", dst_of(r.path[0].stream_id)},
                {"class", to_string(r.skew_class)}},
               std::uint64_t{1});
}

void render_ptp(Text& t, const TrackerSnapshot& snap) {
  const PtpSnapshot& p = snap.ptp;
  t.counter("rtcap_ptp_messages_total", "PTP messages seen (UDP 319/320, EtherType 0x88F7).",
            p.totals.messages);
  t.family("rtcap_ptp_refused_messages_total", "counter",
           "PTP messages refused: truncated, bad length, not PTPv2, reserved type.");
  t.sample("rtcap_ptp_refused_messages_total", {{"reason", "truncated"}}, p.totals.truncated);
  t.sample("rtcap_ptp_refused_messages_total", {{"reason", "bad_length"}}, p.totals.bad_length);
  t.sample("rtcap_ptp_refused_messages_total", {{"reason", "bad_version"}}, p.totals.bad_version);
  t.sample("rtcap_ptp_refused_messages_total", {{"reason", "unknown_type"}}, p.totals.unknown_type);
  t.family("rtcap_ptp_grandmaster_info", "gauge",
           "Always 1: the grandmaster the latest Announce of the domain names.");
  for (const PtpDomainSummary& d : p.domains)
    if (d.has_grandmaster)
      t.sample("rtcap_ptp_grandmaster_info",
               {{"domain", fmt::format("{}", d.domain)},
                {"grandmaster", ptp_clock_identity_text(d.grandmaster.identity)},
                {"clock_class", fmt::format("{}", d.grandmaster.clock_class)},
                {"priority1", fmt::format("{}", d.grandmaster.priority1)},
                {"priority2", fmt::format("{}", d.grandmaster.priority2)}},
               std::uint64_t{1});
  t.family("rtcap_ptp_grandmaster_changes_total", "counter",
           "Changes of grandmaster seen in the domain's Announce messages.");
  for (const PtpDomainSummary& d : p.domains)
    t.sample("rtcap_ptp_grandmaster_changes_total", {{"domain", fmt::format("{}", d.domain)}},
             d.grandmaster_changes);
  const auto per_master = [&](std::string_view name, std::string_view help, auto value) {
    t.family(name, "gauge", help);
    for (const PtpDomainSummary& d : p.domains)
      for (const PtpMasterSummary& m : d.masters)
        if (const auto v = value(m); v)
          t.sample(name,
                   {{"domain", fmt::format("{}", d.domain)},
                    {"master", fmt::format("{}/{}", ptp_clock_identity_text(m.clock), m.port)}},
                   *v);
  };
  using Opt = std::optional<double>;
  per_master("rtcap_ptp_sync_interval_seconds", "Measured mean Sync interval of the master.",
             [](const PtpMasterSummary& m) { return m.sync.count ? Opt(m.sync.mean_s) : Opt(); });
  per_master("rtcap_ptp_sync_interval_expected_seconds",
             "Sync interval the master announces (2^logMessageInterval).",
             [](const PtpMasterSummary& m) { return m.syncs ? Opt(m.sync.expected_s) : Opt(); });
  per_master("rtcap_ptp_sync_interval_jitter_seconds",
             "Standard deviation of the master's Sync intervals.",
             [](const PtpMasterSummary& m) { return m.sync.count ? Opt(m.sync.stddev_s) : Opt(); });
  per_master(
      "rtcap_ptp_announce_interval_seconds", "Measured mean Announce interval of the master.",
      [](const PtpMasterSummary& m) { return m.announce.count ? Opt(m.announce.mean_s) : Opt(); });
  per_master("rtcap_ptp_capture_offset_seconds",
             "Capture clock minus PTP time, estimated from the master's Sync origin timestamps "
             "(one-way path delay inside).",
             [](const PtpMasterSummary& m) {
               return m.offset.samples ? Opt(m.offset.mean_ns / 1e9) : Opt();
             });
  per_master("rtcap_ptp_path_delay_seconds",
             "Path delay between the master and the capture point, from the Delay_Req/"
             "Delay_Resp pairs seen (IEEE 1588-2008 11.3, the capture point as the slave).",
             [](const PtpMasterSummary& m) {
               return m.path_delay.samples ? Opt(m.path_delay.mean_ns / 1e9) : Opt();
             });
  t.family("rtcap_stream_ptp_rtp_offset_seconds", "gauge",
           "Per stream whose SDP grandmaster is on the wire: arrival in PTP time minus the RTP "
           "timestamp's PTP media time (a=mediaclk:direct), estimated from the wire.");
  for (const StreamSummary& s : snap.streams)
    if (s.has_ptp_rtp_offset)
      t.sample("rtcap_stream_ptp_rtp_offset_seconds",
               {{"src", endpoint(s.src, s.src_port)},
                {"dst", endpoint(s.dst, s.dst_port)},
                {"ssrc", fmt::format("0x{:08x}", s.ssrc)}},
               s.ptp_rtp_offset_us / 1e6);
  t.family("rtcap_stream_ptp_match", "gauge",
           "Per stream whose SDP names a PTP grandmaster: 1 the wire shows it, 0 the domain "
           "follows another grandmaster, -1 no PTP seen in that domain.");
  for (const StreamSummary& s : snap.streams) {
    if (s.ptp_match == PtpMatch::kNoReference) continue;
    const double v = s.ptp_match == PtpMatch::kMatch              ? 1.0
                     : s.ptp_match == PtpMatch::kOtherGrandmaster ? 0.0
                                                                  : -1.0;
    t.sample("rtcap_stream_ptp_match",
             {{"src", endpoint(s.src, s.src_port)},
              {"dst", endpoint(s.dst, s.dst_port)},
              {"ssrc", fmt::format("0x{:08x}", s.ssrc)}},
             v);
  }
}

void render_streams(Text& t, const TrackerSnapshot& snap, std::size_t top) {
  t.gauge("rtcap_streams_active", "Streams in the analyser's table now.",
          double(snap.totals.streams_active));
  t.counter("rtcap_streams_seen_total", "Distinct UDP/RTP streams the analyser ever created.",
            snap.totals.streams_seen);
  t.counter("rtcap_streams_evicted_total",
            "Streams pushed out of the analyser's table to make room.", snap.totals.evicted);
  t.counter("rtcap_analysed_malformed_packets_total",
            "Packets with truncated or inconsistent headers.", snap.totals.malformed);
  // Network loss only: what fell in a capture outage (an interface down or gone) is not the
  // network's doing and has its own series, so that the loss alert does not fire on a flap.
  const std::uint64_t in_outages = std::min(total_sequence_loss(snap), total_outage_loss(snap));
  t.gauge("rtcap_sequence_lost_packets",
          "RTP sequence gaps summed over all streams (positive per-stream loss, evicted included), "
          "outside capture outages: lost before the capture point, or dropped by the capture.",
          double(total_sequence_loss(snap) - in_outages));
  t.gauge("rtcap_sequence_lost_in_outages_packets",
          "RTP sequence gaps that fell while the stream's interface was down or gone (capture "
          "outage: missed by the capture, not lost by the network).",
          double(in_outages));

  // The catalogue's sessions (SAP and --sdp), with or without traffic: which devices announce.
  // Capped at `top` series, as the streams are.
  t.family("rtcap_sdp_session_streams", "gauge",
           "Streams an announced (SAP) or given (SDP file) session describes now; 0: no traffic.");
  std::size_t listed = 0;
  for (const SessionSummary& x : snap.sessions) {
    if (!x.ended.empty() || listed++ >= top) continue;
    t.sample("rtcap_sdp_session_streams",
             {{"session", x.format.session_name},
              {"origin", x.format.origin},
              {"dst", endpoint(x.format.group, x.format.port)}},
             x.streams);
  }
  t.counter("rtcap_sap_rate_limited_total",
            "SAP announcements not read: over the per-origin or overall budget (a flood).",
            snap.totals.sap_rate_limited);
  t.counter("rtcap_sap_incomplete_total",
            "SAP datagrams not read: fragmented or cut by the snapshot length.",
            snap.totals.sap_incomplete);

  std::vector<const StreamSummary*> order;
  order.reserve(snap.streams.size());
  for (const auto& s : snap.streams) order.push_back(&s);
  const std::size_t n = std::min(top, order.size());
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(n), order.end(),
                    [](const StreamSummary* a, const StreamSummary* b) {
                      return a->packets != b->packets ? a->packets > b->packets : a->id < b->id;
                    });
  order.resize(n);

  struct Row {
    std::string src, dst, ssrc;
    const StreamSummary* s;
  };
  std::vector<Row> rows;
  rows.reserve(n);
  for (const StreamSummary* s : order)
    rows.push_back({endpoint(s->src, s->src_port), endpoint(s->dst, s->dst_port),
                    s->is_rtp ? fmt::format("0x{:08x}", s->ssrc) : std::string(), s});

  auto each = [&](std::string_view name, std::string_view type, std::string_view help, auto value,
                  bool rtp_only) {
    t.family(name, type, help);
    for (const Row& r : rows) {
      if (rtp_only && !r.s->is_rtp) continue;
      t.sample(name, {{"src", r.src}, {"dst", r.dst}, {"ssrc", r.ssrc}}, value(*r.s));
    }
  };
  each(
      "rtcap_stream_packets_total", "counter",
      "Packets of the stream (top streams by packets; ssrc empty for plain UDP).",
      [](const StreamSummary& s) { return s.packets; }, false);
  each(
      "rtcap_stream_bytes_total", "counter", "Wire bytes of the stream.",
      [](const StreamSummary& s) { return s.bytes; }, false);
  each(
      "rtcap_stream_expected_packets", "gauge",
      "RTP packets expected from the sequence numbers (RFC 3550 A.3).",
      [](const StreamSummary& s) { return s.expected; }, true);
  each(
      "rtcap_stream_lost_packets", "gauge",
      "RTP sequence numbers expected and never received (duplicates do not offset loss), outside "
      "capture outages.",
      [](const StreamSummary& s) { return s.network_lost; }, true);
  each(
      "rtcap_stream_lost_in_outages_packets", "gauge",
      "RTP sequence numbers never received that fell while the stream's interface was down.",
      [](const StreamSummary& s) { return s.outage_lost; }, true);
  each(
      "rtcap_stream_duplicate_packets_total", "counter", "RTP sequence numbers seen twice.",
      [](const StreamSummary& s) { return s.duplicates; }, true);
  each(
      "rtcap_stream_reordered_packets_total", "counter",
      "RTP packets that arrived behind the highest sequence number.",
      [](const StreamSummary& s) { return s.reordered; }, true);
  each(
      "rtcap_stream_jitter_seconds", "gauge", "RFC 3550 interarrival jitter, now.",
      [](const StreamSummary& s) { return s.jitter_ms / 1000.0; }, true);
  each(
      "rtcap_stream_max_gap_seconds", "gauge", "Largest arrival gap between two packets.",
      [](const StreamSummary& s) { return s.interval.max_ms / 1000.0; }, false);
  // AES67 / ST 2110-30 timing (docs/TUNING.md has the formulas and windows).
  each(
      "rtcap_stream_ts_df_seconds", "gauge",
      "TS-DF (EBU Tech 3337) of the last completed 200 ms window.",
      [](const StreamSummary& s) { return s.timing.ts_df_last_us / 1e6; }, true);
  each(
      "rtcap_stream_ts_df_max_seconds", "gauge", "Largest TS-DF over the completed windows.",
      [](const StreamSummary& s) { return s.timing.ts_df_us / 1e6; }, true);
  each(
      "rtcap_stream_packet_interval_mean_seconds", "gauge",
      "Mean packet interval time (PIT); AES67/JT-NM want it within 1% of the packet time.",
      [](const StreamSummary& s) { return s.timing.pit.mean_us / 1e6; }, true);
  each(
      "rtcap_stream_packet_interval_max_seconds", "gauge", "Largest packet interval time.",
      [](const StreamSummary& s) { return s.timing.pit.max_us / 1e6; }, true);
  each(
      "rtcap_stream_clock_drift_ppm", "gauge",
      "Sender clock rate error against the capture clock (least-squares slope), ppm.",
      [](const StreamSummary& s) { return s.timing.drift_ppm; }, true);
  each(
      "rtcap_stream_timing_compliant", "gauge",
      "JT-NM Tested 2022 verdict: 2 narrow, 1 wide, 0 not compliant, -1 not known yet.",
      [](const StreamSummary& s) {
        switch (s.timing.verdict) {
          case TimingVerdict::kNarrow:
            return 2.0;
          case TimingVerdict::kWide:
            return 1.0;
          case TimingVerdict::kNotCompliant:
            return 0.0;
          default:
            return -1.0;
        }
      },
      true);
  render_ptp(t, snap);
  render_redundancy(t, snap);
  // Levels per channel, for the streams whose audio is decoded (--extract-audio).
  auto each_channel = [&](std::string_view name, std::string_view type, std::string_view help,
                          auto value) {
    t.family(name, type, help);
    for (const Row& r : rows)
      for (std::size_t c = 0; c < r.s->levels.size(); ++c)
        if (const ChannelLevels& l = r.s->levels[c]; l.seconds > 0)
          t.sample(
              name,
              {{"src", r.src}, {"dst", r.dst}, {"ssrc", r.ssrc}, {"channel", fmt::format("{}", c)}},
              value(l));
  };
  each_channel("rtcap_stream_channel_peak_dbfs", "gauge",
               "Peak sample of the last whole second, dBFS (-Inf: digital zero).",
               [](const ChannelLevels& l) { return l.peak_dbfs; });
  each_channel("rtcap_stream_channel_rms_dbfs", "gauge",
               "RMS of the last whole second, dBFS (a full-scale sine reads -3.01).",
               [](const ChannelLevels& l) { return l.rms_dbfs; });
  each_channel(
      "rtcap_stream_channel_silence_seconds", "gauge",
      "Seconds since the channel's last sample at or above the silence threshold (-60 dBFS).",
      [](const ChannelLevels& l) { return l.silent_seconds; });
  each_channel("rtcap_stream_channel_clipped_samples_total", "counter",
               "Full-scale samples (either sign).",
               [](const ChannelLevels& l) { return l.clipped_samples; });
}

}  // namespace

std::string render_metrics(const CaptureStats& s, const TrackerSnapshot* streams,
                           const std::vector<Advice>* advice, const MetricsOptions& options) {
  Text t;
  t.family("rtcap_build_info", "gauge", "Always 1; the labels name the rtcap and libpcap builds.");
  t.sample("rtcap_build_info",
           {{"version", options.version.empty() ? std::string(RTCAP_VERSION) : options.version},
            {"libpcap", pcap_library_version()}},
           std::uint64_t{1});
  // The registry (rtcap/stats.hpp): capture-wide figures here, the sums over interfaces per
  // interface below, the histogram figures as the histograms.
  for (const CounterInfo& c : capture_counters()) {
    if (c.source != CounterSource::kMember) continue;
    t.family(c.prometheus, c.kind == CounterKind::kCounter ? "counter" : "gauge", c.help);
    if (c.prometheus_scale == 1 && !c.fraction)
      t.sample(c.prometheus, {}, c.integer(s));
    else
      t.sample(c.prometheus, {}, counter_value(c, s) * c.prometheus_scale);
  }
  // Per interface: pcap_stats widened to 64 bits (meanings per platform: rtcap/stats.hpp), and
  // the link: alert on rtcap_interface_up == 0, and on reopens increasing.
  for (const InterfaceCounterInfo& c : interface_counters()) {
    t.family(c.prometheus, c.kind == CounterKind::kCounter ? "counter" : "gauge", c.help);
    for (const auto& i : s.interfaces) {
      if (c.prometheus_scale == 1)
        t.sample(c.prometheus, {{"interface", i.name}}, c.value(i));
      else
        t.sample(c.prometheus, {{"interface", i.name}}, double(c.value(i)) * c.prometheus_scale);
    }
  }

  t.histogram("rtcap_dispatch_packets", "Packets per dispatch call (calls that carried any).",
              s.dispatch_packets, kDispatchPacketBuckets, 1.0);
  t.histogram("rtcap_dispatch_bytes", "Bytes per dispatch call (calls that carried any).",
              s.dispatch_bytes, kDispatchByteBuckets, 1.0);
  t.histogram("rtcap_delivery_latency_seconds",
              "Packet timestamp to consumer hand-off (CLOCK_REALTIME).", s.latency_ns,
              kLatencyBucketsSeconds, 1e-9);

  if (streams) render_streams(t, *streams, options.top_streams);

  if (advice) {
    std::vector<std::pair<std::string, const Advice*>> rules;
    for (const char* id : advice_id::kAll) rules.emplace_back(id, nullptr);
    for (const Advice& a : *advice) {
      auto it =
          std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.first == a.id; });
      if (it == rules.end())
        rules.emplace_back(a.id, &a);
      else
        it->second = &a;
    }
    t.family("rtcap_advice_active", "gauge",
             "1 while an advisor rule holds (rtcap's tuning advice, docs/TUNING.md).");
    for (const auto& [id, a] : rules)
      t.sample("rtcap_advice_active", {{"rule", id}, {"severity", a ? to_string(a->severity) : ""}},
               std::uint64_t{a && a->active ? 1u : 0u});
    t.family("rtcap_advice_fired_total", "counter", "Times an advisor rule became active.");
    for (const auto& [id, a] : rules)
      t.sample("rtcap_advice_fired_total",
               {{"rule", id}, {"severity", a ? to_string(a->severity) : ""}},
               std::uint64_t(a ? std::max(a->times_fired, 0) : 0));
  }
  return t.take();
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// The server

namespace {

using Clock = std::chrono::steady_clock;
// socket_t and INVALID_SOCKET: httplib.h defines them (global: SOCKET on Windows, int elsewhere).

// Two workers: an answer is one copy of a text rendered beforehand and one send() into a socket
// buffer that holds it (a scrape is tens of kB; Linux starts a loopback socket with 128 kB of
// receive buffer, tcp_rmem), so one worker suffices; the second keeps answering while a client
// that does not read holds the first until its deadline.
constexpr std::size_t kWorkers = 2;
// poll() waits at most this long, so that a stop is seen even if the self-connect in ~Impl fails.
constexpr int kPollSliceMs = 1000;
// A worker waiting for a slow client looks at the stop flag this often.
constexpr int kWorkerSliceMs = 100;

// The socket calls that differ between Winsock and POSIX (src/platform/socket_*.cpp).
using platform::allow_address_reuse;
using platform::close_socket;
using platform::kAccessDenied;
using platform::kAddrInUse;
using platform::kAddrNotAvailable;
using platform::kSendFlags;
using platform::kShutWrite;
using platform::poll_sockets;
using platform::set_nonblocking;
using platform::socket_error;
using platform::would_block;
std::string error_text(int e) { return std::system_category().message(e); }

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool loopback = false;
};

// "127.0.0.1:9464", "[::1]:9464", "localhost:9464" -> a socket address. Names other than
// localhost are not resolved: a metrics endpoint should not depend on DNS at start.
Result<Endpoint> parse_listen(std::string_view text) {
  const std::string shown(text);
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kBadConfig,
                      fmt::format("bad metrics address '{}': {}; use HOST:PORT, for example "
                                  "127.0.0.1:9464 or [::1]:9464",
                                  shown, why));
  };
  std::string host;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("an IPv6 address needs brackets and a port");
    host = std::string(text.substr(1, close - 1));
    port_text = std::string(text.substr(close + 2));
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = std::string(text.substr(0, colon));
    port_text = std::string(text.substr(colon + 1));
    if (host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
  }
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad("the port must be a number 0..65535");
  const unsigned long port = std::stoul(port_text);
  if (port > 65535) return bad("the port must be a number 0..65535");
  if (host.empty()) return bad("no host (use 127.0.0.1 for this host only)");
  if (host == "localhost") host = "127.0.0.1";

  Endpoint e;
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&e.addr, &v4, sizeof v4);
    e.len = sizeof v4;
    e.loopback = (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&e.addr, &v6, sizeof v6);
    e.len = sizeof v6;
    e.loopback = IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr);
  } else {
    return bad("the host must be a numeric IPv4/IPv6 address or localhost");
  }
  return e;
}

// Address and port of a socket address, the address alone in `ip`.
void split_address(const sockaddr_storage& a, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    port = ntohs(v6->sin6_port);
  } else {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    port = ntohs(v4->sin_port);
  }
  ip = buf;
}

std::string to_text(const sockaddr_storage& a) {
  std::string ip;
  int port = 0;
  split_address(a, ip, port);
  return a.ss_family == AF_INET6 ? fmt::format("[{}]:{}", ip, port)
                                 : fmt::format("{}:{}", ip, port);
}

// Half-closes, reads what the client sent beyond its request (bounded) and closes: closing a
// socket with unread data makes the kernel send RST, and the client could lose the response.
void close_client(socket_t fd) {
  ::shutdown(fd, kShutWrite);
  char scratch[4096];
  for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof scratch, 0) > 0; ++i) {
  }
  close_socket(fd);
}

// A connection held by the door until its request head is complete.
struct Waiting {
  socket_t fd = INVALID_SOCKET;
  Clock::time_point deadline;
  std::string head;  // what arrived so far
};

bool head_complete(const std::string& head) { return head.find("\r\n\r\n") != std::string::npos; }

// httplib's view of one connection: first the bytes the door read, then the socket; every
// wait ends at the connection's deadline or when the server stops. The socket is non-blocking.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(Waiting& w, std::size_t max_read_bytes, const std::atomic<bool>& stopping)
      : fd_(w.fd),
        head_(std::move(w.head)),
        deadline_(w.deadline),
        max_read_bytes_(max_read_bytes),
        stopping_(stopping) {}

  bool is_readable() const override { return pos_ < head_.size() || wait(POLLIN); }
  bool is_writable() const override { return wait(POLLOUT); }

  ssize_t read(char* ptr, size_t size) override {
    if (pos_ < head_.size()) {
      const std::size_t n = std::min(size, head_.size() - pos_);
      std::memcpy(ptr, head_.data() + pos_, n);
      pos_ += n;
      return static_cast<ssize_t>(n);
    }
    // GET and HEAD have no body; whatever else a client sends is bounded like its head.
    if (read_bytes_ >= max_read_bytes_) return -1;
    const std::size_t want = std::min(size, max_read_bytes_ - read_bytes_);
    while (wait(POLLIN)) {
      const auto n = ::recv(fd_, ptr, static_cast<int>(want), 0);
      if (n >= 0) {
        read_bytes_ += static_cast<std::size_t>(n);
        return n;
      }
      if (!would_block(socket_error())) break;
    }
    return -1;
  }

  ssize_t write(const char* ptr, size_t size) override {
    // This server speaks HTTP/1.0 as it always did: one response per connection, then close
    // (httplib sends Connection: close). httplib 0.11 writes its status line as "HTTP/1.1";
    // the first write is the whole response head, and its version is rewritten to what the
    // connection really was.
    static constexpr std::string_view kHttp11 = "HTTP/1.1 ";
    if (!head_written_) {
      head_written_ = true;
      if (std::string_view(ptr, size).starts_with(kHttp11)) {
        std::string head(ptr, size);
        head[7] = '0';
        return send_all(head.data(), head.size()) ? static_cast<ssize_t>(size) : -1;
      }
    }
    return send_all(ptr, size) ? static_cast<ssize_t>(size) : -1;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) split_address(a, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) split_address(a, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  // true when the socket is ready for `events` before the deadline and before a stop.
  bool wait(short events) const {
    for (;;) {
      if (stopping_.load(std::memory_order_relaxed)) return false;
      const auto left_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left_ms <= 0) return false;
      pollfd p{fd_, events, 0};
      const int ready = poll_sockets(&p, 1, int(std::min<long long>(left_ms, kWorkerSliceMs)));
      if (ready > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
      if (ready < 0 && !would_block(socket_error())) return false;
    }
  }

  bool send_all(const char* p, std::size_t n) {
    while (n > 0) {
      if (!wait(POLLOUT)) return false;
      const auto sent = ::send(fd_, p, static_cast<int>(n), kSendFlags);
      if (sent > 0) {
        p += sent;
        n -= static_cast<std::size_t>(sent);
      } else if (sent < 0 && !would_block(socket_error())) {
        return false;
      }
    }
    return true;
  }

  socket_t fd_;
  std::string head_;
  std::size_t pos_ = 0;
  Clock::time_point deadline_;
  std::size_t max_read_bytes_;
  std::size_t read_bytes_ = 0;
  bool head_written_ = false;
  const std::atomic<bool>& stopping_;
};

// httplib's server with its request processing opened up: the door and the workers here
// replace its accept loop (Server::listen is never called).
class Http : public httplib::Server {
 public:
  using httplib::Server::process_request;
};

}  // namespace

struct RTCAP_LOCAL MetricsServer::Impl {
  MetricsOptions options;
  socket_t listen_fd = INVALID_SOCKET;
  sockaddr_storage bound{};
  socklen_t bound_len = 0;
  std::uint16_t port = 0;
  std::string address;
  Http http;
  std::unique_ptr<httplib::ThreadPool> workers;
  std::thread door;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> answering{0};  // connections handed to a worker, not yet closed
  std::atomic<std::uint64_t> scrapes{0};
  std::atomic<std::uint64_t> publishes{0};

  std::mutex mutex;  // guards `text` only
  std::shared_ptr<const std::string> text;

  ~Impl() {
    stopping.store(true);
    if (door.joinable()) {
      wake_door();
      door.join();
    }
    if (workers) workers->shutdown();  // each worker sees `stopping` within kWorkerSliceMs
    if (listen_fd != INVALID_SOCKET) close_socket(listen_fd);
  }

  std::shared_ptr<const std::string> current() {
    std::lock_guard lock(mutex);
    return text;
  }

  void routes() {
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const auto body = current();
      res.set_content(body ? *body : std::string(), "text/plain; version=0.0.4; charset=utf-8");
      scrapes.fetch_add(1, std::memory_order_relaxed);
    });
    http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.method == "GET" || req.method == "HEAD")
        return httplib::Server::HandlerResponse::Unhandled;
      res.status = 405;
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      res.set_content(res.status == 404   ? "not found: rtcap serves /metrics only\n"
                      : res.status == 405 ? "method not allowed: rtcap serves GET and HEAD\n"
                                          : "bad request\n",
                      "text/plain; charset=utf-8");
    });
    http.set_payload_max_length(options.max_request_bytes);
  }

  // The door's poll() returns when the listening socket is readable: one connection to it.
  void wake_door() {
    sockaddr_storage to = bound;
    if (to.ss_family == AF_INET6) {
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&to);
      if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) v6->sin6_addr = in6addr_loopback;
    } else {
      auto* v4 = reinterpret_cast<sockaddr_in*>(&to);
      if (v4->sin_addr.s_addr == htonl(INADDR_ANY)) v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    const socket_t s = ::socket(to.ss_family, SOCK_STREAM, 0);
    if (s == INVALID_SOCKET) return;  // the door sees the flag within kPollSliceMs
    (void)::connect(s, reinterpret_cast<const sockaddr*>(&to), bound_len);
    close_socket(s);
  }

  void answer(Waiting w) {
    if (!head_complete(w.head)) {
      // The door gave up on it: the head passed max_request_bytes.
      static constexpr std::string_view k431 =
          "HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Type: text/plain; "
          "charset=utf-8\r\nContent-Length: 18\r\nConnection: close\r\n\r\nrequest too large\n";
      ConnectionStream s(w, 0, stopping);
      (void)s.write(k431.data(), k431.size());
    } else {
      ConnectionStream s(w, options.max_request_bytes, stopping);
      bool closed = false;
      (void)http.process_request(s, /*close_connection=*/true, closed, nullptr);
    }
    close_client(w.fd);
    answering.fetch_sub(1, std::memory_order_relaxed);
  }

  void hand_over(Waiting&& w) {
    answering.fetch_add(1, std::memory_order_relaxed);
    workers->enqueue([this, w = std::move(w)]() mutable { answer(std::move(w)); });
  }

  void run_door() {
    std::vector<Waiting> waiting;  // oldest first
    std::vector<pollfd> fds;
    char buf[4096];
    while (!stopping.load(std::memory_order_relaxed)) {
      fds.clear();
      fds.push_back({listen_fd, POLLIN, 0});
      auto now = Clock::now();
      int timeout_ms = kPollSliceMs;
      for (const Waiting& w : waiting) {
        fds.push_back({w.fd, POLLIN, 0});
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(w.deadline - now).count();
        timeout_ms =
            std::clamp<int>(int(std::min<long long>(left, kPollSliceMs)) + 1, 0, timeout_ms);
      }
      const int ready = poll_sockets(fds.data(), fds.size(), timeout_ms);
      if (ready < 0 && !would_block(socket_error())) break;
      if (stopping.load(std::memory_order_relaxed)) break;
      now = Clock::now();
      std::vector<Waiting> kept;
      kept.reserve(waiting.size() + 1);
      for (std::size_t i = 0; i < waiting.size(); ++i) {
        Waiting& w = waiting[i];
        const short rev = ready > 0 ? fds[i + 1].revents : short(0);
        if (rev & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
          // Readable: this recv returns at once (data, end of stream or an error).
          const auto n = ::recv(w.fd, buf, sizeof buf, 0);
          if (n > 0) {
            w.head.append(buf, static_cast<std::size_t>(n));
            if (head_complete(w.head) || w.head.size() > options.max_request_bytes) {
              hand_over(std::move(w));
              continue;
            }
          } else if (n == 0 || !would_block(socket_error())) {
            close_socket(w.fd);  // gone before a whole request
            continue;
          }
        }
        if (now >= w.deadline) {
          close_client(w.fd);  // too slow: give the slot back
          continue;
        }
        kept.push_back(std::move(w));
      }
      waiting = std::move(kept);
      if (ready > 0 && (fds[0].revents & POLLIN)) accept_new(waiting, now);
    }
    for (Waiting& w : waiting) close_socket(w.fd);
  }

  void accept_new(std::vector<Waiting>& waiting, Clock::time_point now) {
    for (;;) {
      const socket_t fd = ::accept(listen_fd, nullptr, nullptr);
      if (fd == INVALID_SOCKET) return;  // none left, or a transient error (ECONNABORTED, EMFILE)
      if (!set_nonblocking(fd)) {
        close_socket(fd);
        continue;
      }
      if (waiting.size() + answering.load(std::memory_order_relaxed) >= std::size_t(kMaxClients)) {
        if (waiting.empty()) {  // every slot is being answered: this one waits its turn no more
          close_socket(fd);
          continue;
        }
        close_client(waiting.front().fd);  // the oldest idle or slow client makes room
        waiting.erase(waiting.begin());
      }
      Waiting w;
      w.fd = fd;
      w.deadline = now + std::chrono::milliseconds(options.client_timeout_ms);
      waiting.push_back(std::move(w));
    }
  }
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() = default;

Result<std::unique_ptr<MetricsServer>> MetricsServer::open(std::string_view listen,
                                                           MetricsOptions options) {
  auto ep = parse_listen(listen);
  if (!ep) return rtcap::unexpected(ep.error());
  if (!ep->loopback && !options.allow_any_address)
    return make_error(
        ErrorCode::kBadConfig,
        fmt::format("refusing to serve metrics on {}: not a loopback address, and the metrics name "
                    "hosts, ports and SSRCs; listen on 127.0.0.1 and scrape through a tunnel or "
                    "proxy, or allow it explicitly (rtcap --metrics-allow-any-address, "
                    "MetricsOptions::allow_any_address)",
                    listen));

  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const int family = ep->addr.ss_family;
  impl->listen_fd = ::socket(family, SOCK_STREAM, 0);
  if (impl->listen_fd == INVALID_SOCKET || !set_nonblocking(impl->listen_fd))
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: socket: {}", listen,
                                                  error_text(socket_error())));
  const int one = 1;
  const char* on = reinterpret_cast<const char*>(&one);
  allow_address_reuse(impl->listen_fd);
  if (family == AF_INET6) ::setsockopt(impl->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, on, sizeof one);
  if (::bind(impl->listen_fd, reinterpret_cast<const sockaddr*>(&ep->addr), ep->len) != 0) {
    const int err = socket_error();
    const char* fix =
        err == kAddrInUse          ? "another process listens there: stop it or pick a "
                                     "free port (for example 127.0.0.1:9465)"
        : err == kAccessDenied     ? "ports below 1024 need root or CAP_NET_BIND_SERVICE: "
                                     "use a port of 1024 or more (9464 is registered for "
                                     "exporters like this one)"
        : err == kAddrNotAvailable ? "no interface of this host has that address: use "
                                     "127.0.0.1 or an address `ip addr` shows"
                                   : "check the address";
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: {}; {}", listen,
                                                  error_text(err), fix));
  }
  // Backlog: connections made before serve() or while the door is busy wait here (the kernel
  // completes their handshake); 64 covers kMaxClients arriving at once with room to spare.
  if (::listen(impl->listen_fd, 64) != 0)
    return make_error(ErrorCode::kIo, fmt::format("cannot serve metrics on {}: listen: {}", listen,
                                                  error_text(socket_error())));
  impl->bound_len = sizeof impl->bound;
  ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&impl->bound), &impl->bound_len);
  impl->address = to_text(impl->bound);
  impl->port = family == AF_INET6
                   ? ntohs(reinterpret_cast<const sockaddr_in6*>(&impl->bound)->sin6_port)
                   : ntohs(reinterpret_cast<const sockaddr_in*>(&impl->bound)->sin_port);
  impl->routes();
  // Something valid before the first publish(): build info and zero counters.
  impl->text = std::make_shared<const std::string>(
      render_metrics(CaptureStats{}, nullptr, nullptr, impl->options));
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

void MetricsServer::serve() {
  if (impl_->door.joinable()) return;
  impl_->workers = std::make_unique<httplib::ThreadPool>(kWorkers);
  Impl* raw = impl_.get();
  impl_->door = std::thread([raw] { raw->run_door(); });
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(std::string_view listen,
                                                            MetricsOptions options) {
  auto server = open(listen, std::move(options));
  if (server) (*server)->serve();
  return server;
}

void MetricsServer::publish(const CaptureStats& stats, const TrackerSnapshot* streams,
                            const std::vector<Advice>* advice) {
  auto text =
      std::make_shared<const std::string>(render_metrics(stats, streams, advice, impl_->options));
  {
    std::lock_guard lock(impl_->mutex);
    impl_->text.swap(text);
  }
  impl_->publishes.fetch_add(1, std::memory_order_relaxed);
  // The old text is freed here, outside the lock (or by a worker if it still copies it).
}

std::uint16_t MetricsServer::port() const noexcept { return impl_->port; }
const std::string& MetricsServer::address() const noexcept { return impl_->address; }
std::uint64_t MetricsServer::scrapes() const noexcept {
  return impl_->scrapes.load(std::memory_order_relaxed);
}
std::uint64_t MetricsServer::publishes() const noexcept {
  return impl_->publishes.load(std::memory_order_relaxed);
}

}  // namespace rtcap
