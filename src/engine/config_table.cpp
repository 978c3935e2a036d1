#include "engine/config_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "rtcap/batch.hpp"          // PacketRecord
#include "stats/latency_model.hpp"  // snaplen_is_automatic, the largest packet

namespace rtcap::config_table {
namespace {

constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// Accessors for the table: one per member kind, so a row names its member once.
template <auto Member>
std::int64_t get_int(const CaptureConfig& c) {
  return static_cast<std::int64_t>(c.*Member);
}
template <auto Member>
void set_int(CaptureConfig& c, std::int64_t v) {
  using T = std::remove_reference_t<decltype(c.*Member)>;
  c.*Member = static_cast<T>(v);
}
std::int64_t get_none(const CaptureConfig&) { return 0; }
void set_none(CaptureConfig&, std::int64_t) {}

#define RTCAP_NUMBER(member) &get_int<&CaptureConfig::member>, &set_int<&CaptureConfig::member>
#define RTCAP_TEXT &get_none, &set_none
// A setting that applies wherever it is given.
#define RTCAP_EVERYWHERE "", nullptr

bool on_linux(CapturePlatform p) { return p == CapturePlatform::kLinuxLibpcap; }
bool inline_delivery(const CaptureConfig& c) { return c.delivery == Delivery::kInline; }
// The snaplen the engine runs with (normalised(): 0 is the maximum).
int resolved_snaplen(const CaptureConfig& c) { return c.snaplen == 0 ? kMaxSnaplen : c.snaplen; }
// The largest packet a batch must hold, as far as the settings tell (0: not known before open;
// Linux immediate mode with an automatic snaplen takes the interface MTU + 22 then).
std::int64_t packet_bytes(const CaptureConfig& c, CapturePlatform p) {
  if (on_linux(p) && c.immediate_mode && snaplen_is_automatic(c)) return 0;
  return resolved_snaplen(c);
}

// clang-format off
const Setting kSettings[] = {
    {"interfaces", Kind::kTexts, "std::vector<std::string>", "", 0, 0xffff, "", "",
     "live capture on each; one capture thread serves them all (at most 65535: PacketView::interface_index is 16-bit)",
     "-i,--interface", "rtcap_config_add_interface", RTCAP_TEXT, RTCAP_EVERYWHERE},
    {"read_file", Kind::kText, "std::string", "", 0, 0, "", "",
     "replay a capture file through the same pipeline instead of capturing live",
     "-r,--read", "rtcap_config_set_read_file", RTCAP_TEXT, RTCAP_EVERYWHERE},
    {"filter", Kind::kText, "std::string", "", 0, 0, "", "",
     "a BPF expression (pcap-filter(7)) compiled for every handle; empty: every packet",
     "filter", "rtcap_config_set_filter", RTCAP_TEXT, RTCAP_EVERYWHERE},
    {"snaplen", Kind::kNumber, "int", "bytes", 0, kMaxSnaplen, "",
     "0 means 262144, as tcpdump's -s 0; Linux immediate mode then takes the interface MTU + 22 (docs/TUNING.md)",
     "whole packets: libpcap's MAXIMUM_SNAPLEN (pcap-int.h), tcpdump's default",
     "-s,--snapshot-length", "rtcap_config_set_snaplen", RTCAP_NUMBER(snaplen), RTCAP_EVERYWHERE},
    {"promiscuous", Kind::kFlag, "bool", "", 0, 1, "", "",
     "tcpdump's default; Linux counts interface drops (ps_ifdrop) only in promiscuous mode",
     "-p,--no-promiscuous-mode", "rtcap_config_set_promiscuous", RTCAP_NUMBER(promiscuous), RTCAP_EVERYWHERE},
    {"immediate_mode", Kind::kFlag, "bool", "", 0, 1, "", "",
     "off: TPACKET_V3 blocks cost one wake-up per block, immediate mode one per packet or window (docs/TUNING.md, \"The wake-up floor\")",
     "--immediate-mode", "rtcap_config_set_immediate_mode", RTCAP_NUMBER(immediate_mode), RTCAP_EVERYWHERE},
    // 60 s: the longest a part-filled block may wait is also how late a quiet capture notices a
    // stop or reads its statistics; a minute is far past any use (the default is 1 ms).
    {"timeout_ms", Kind::kNumber, "int", "ms", 0, 60000, "", "0 means no timeout (libpcap)",
     "1 ms: the TPACKET_V3 block retire time bounds a packet's wait in a part-filled block (docs/TUNING.md)",
     "--timeout-ms", "rtcap_config_set_timeout_ms", RTCAP_NUMBER(timeout_ms), RTCAP_EVERYWHERE},
    // pcap_set_buffer_size takes an int of bytes: 2 GiB - 1 KiB at most.
    {"buffer_kib", Kind::kNumber, "int", "KiB", 0, (std::int64_t{1} << 21) - 1, "",
     "0 means the platform default",
     "Linux 32 MiB batched holds ~0.5 s of 100,000 packets/s of small frames (docs/TUNING.md, \"Inline stalls\")",
     "-B,--buffer-size", "rtcap_config_set_buffer_kib", RTCAP_NUMBER(buffer_kib), RTCAP_EVERYWHERE},
    {"precision", Kind::kChoice, "TimestampPrecision", "", 0, 1, "micro|nano", "",
     "nano: pcap_set_tstamp_precision works on Linux; falls back to micro where unsupported",
     "--time-stamp-precision", "rtcap_config_set_precision", RTCAP_NUMBER(precision), RTCAP_EVERYWHERE},
    {"tstamp_type", Kind::kText, "std::string", "", 0, 0, "", "empty means the default type",
     "pcap-tstamp(7) name; the default is the host's clock",
     "-j,--time-stamp-type", "rtcap_config_set_tstamp_type", RTCAP_TEXT, RTCAP_EVERYWHERE},
    {"delivery", Kind::kChoice, "Delivery", "", 0, 1, "inline|threaded", "",
     "inline: one thread, one wake-up per batch; threaded costs a second wake-up per batch (docs/TUNING.md, \"The wake-up floor\")",
     "--consumer-thread", "rtcap_config_set_delivery", RTCAP_NUMBER(delivery), RTCAP_EVERYWHERE},
    {"coalesce_us", Kind::kNumber, "int", "us", -1, 1000000, "",
     "-1 means automatic: 75 on Linux in immediate mode, else 0",
     "75 us on Linux immediate mode: the CPU and p50 frontier measured by rtcap bench (config.hpp, kLinuxAutoCoalesceUs)",
     "--coalesce-us", "rtcap_config_set_coalesce_us", RTCAP_NUMBER(coalesce_us),
     "with ${immediate_mode} only (batched capture wakes once per ring block: shorten ${timeout_ms} instead)",
     [](const CaptureConfig& c, CapturePlatform) { return c.coalesce_us > 0 && !c.immediate_mode; }},
    {"mintocopy_bytes", Kind::kNumber, "int", "bytes", -1, kIntMax, "",
     "-1 means Npcap's default, 16000 (0 in immediate mode)",
     "Npcap's own default",
     "--mintocopy", "rtcap_config_set_mintocopy_bytes", RTCAP_NUMBER(mintocopy_bytes),
     "on Windows (Npcap) without ${immediate_mode} only (on Linux the kernel hands over a ring block when it is full or after ${timeout_ms}; Npcap's immediate mode signals every packet)",
     [](const CaptureConfig& c, CapturePlatform p) { return on_linux(p) ? c.mintocopy_bytes >= 0 : c.immediate_mode && c.mintocopy_bytes > 0; }},
    {"user_buffer_bytes", Kind::kNumber, "int", "bytes", 0, kIntMax, "",
     "0 means rtcap's default, 1 MiB",
     "Npcap's 256,000 bytes is smaller than the default snaplen, which wedges the handle (npcap issue 119)",
     "--user-buffer", "rtcap_config_set_user_buffer_bytes", RTCAP_NUMBER(user_buffer_bytes),
     "on Windows (Npcap) only (on Linux libpcap reads the mmap ring in place: size it with ${buffer_kib})",
     [](const CaptureConfig& c, CapturePlatform p) { return on_linux(p) && c.user_buffer_bytes > 0; }},
    {"batch_packets", Kind::kNumber, "std::size_t", "packets", 1, std::int64_t{1} << 20, "", "",
     "1024: a 1 ms TPACKET_V3 block at 100,000 packets/s carries ~100 packets; room for bursts",
     "--batch-packets", "rtcap_config_set_batch_packets", RTCAP_NUMBER(batch_packets), RTCAP_EVERYWHERE},
    // PacketRecord::offset is 32-bit; 1 GiB per batch is far beyond any useful batch. 64 KiB,
    // the largest IP datagram: a smaller batch buys no latency (a drain hands over at its end
    // whatever the size), only more callbacks.
    {"batch_bytes", Kind::kNumber, "std::size_t", "bytes", 65536, std::int64_t{1} << 30, "",
     "raised to the snaplen when smaller (every batch holds one whole packet)",
     "256 KiB: one TPACKET_V3 block",
     "--batch-bytes", "rtcap_config_set_batch_bytes", RTCAP_NUMBER(batch_bytes),
     "when not smaller than the snapshot length ${snaplen} (a batch holds one whole packet: a smaller value is raised to it)",
     [](const CaptureConfig& c, CapturePlatform p) { return c.batch_bytes < std::size_t(packet_bytes(c, p)); }},
    // 2: one batch filled by the capture thread while the consumer holds the other.
    {"pool_batches", Kind::kNumber, "std::size_t", "batches", 2, 65536, "", "",
     "64: bounds memory (64 x 280 KiB) and how far the consumer may fall behind; inline delivery uses one batch",
     "--pool-batches", "rtcap_config_set_pool_batches", RTCAP_NUMBER(pool_batches),
     "with threaded delivery only (${delivery}; inline delivery uses one batch)",
     [](const CaptureConfig& c, CapturePlatform) { return inline_delivery(c) && c.pool_batches != CaptureConfig{}.pool_batches; }},
    {"overflow", Kind::kChoice, "OverflowPolicy", "", 0, 1, "drop|block", "",
     "drop: capture never blocks; a drop is counted in app_dropped_packets",
     "--on-overflow", "rtcap_config_set_overflow", RTCAP_NUMBER(overflow),
     "with threaded delivery only (${delivery}; inline delivery has no queue to overflow)",
     [](const CaptureConfig& c, CapturePlatform) { return inline_delivery(c) && c.overflow != CaptureConfig{}.overflow; }},
    {"max_packets", Kind::kNumber, "std::int64_t", "packets", 0, kInt64Max, "", "0 means no limit",
     "no limit", "-c,--count", "rtcap_config_set_max_packets", RTCAP_NUMBER(max_packets), RTCAP_EVERYWHERE},
    {"reopen", Kind::kFlag, "bool", "", 0, 1, "", "",
     "off: a deleted interface ends the capture; on: retried once a second, as Suricata does",
     "--reopen", "rtcap_config_set_reopen", RTCAP_NUMBER(reopen), RTCAP_EVERYWHERE},
    // 10 ms: each read is one pcap_stats system call per handle and a snapshot of the
    // histograms; faster would cost more than it tells. An hour: beyond it the running 32-bit
    // pcap_stats counters could wrap unseen at line rate (libpcap issue 994).
    {"stats_interval_ms", Kind::kNumber, "int", "ms", 10, 3600000, "", "",
     "1 s: the advisor's and the status line's interval",
     "", "rtcap_config_set_stats_interval_ms", RTCAP_NUMBER(stats_interval_ms), RTCAP_EVERYWHERE},
    {"netns", Kind::kText, "std::string", "", 0, 0, "", "empty means the caller's namespace",
     "Linux: the opening thread enters it for the open only (setns), needs CAP_SYS_ADMIN; elsewhere unsupported",
     "--netns", "rtcap_config_set_netns", RTCAP_TEXT, RTCAP_EVERYWHERE},
};
// clang-format on
#undef RTCAP_NUMBER
#undef RTCAP_TEXT
#undef RTCAP_EVERYWHERE

}  // namespace

const Setting* begin() noexcept { return std::begin(kSettings); }
const Setting* end() noexcept { return std::end(kSettings); }

const Setting* find(std::string_view name) noexcept {
  for (const Setting& s : kAll)
    if (name == s.name) return &s;
  return nullptr;
}

const Setting& at(std::string_view name) {
  if (const Setting* s = find(name)) return *s;
  throw std::logic_error(fmt::format("no CaptureConfig setting '{}'", name));
}

std::int64_t default_value(const Setting& s) { return s.get(CaptureConfig{}); }

std::string check_number(const Setting& s, std::int64_t value) {
  if (value >= s.min && value <= s.max) return {};
  return out_of_range(s, std::to_string(value));
}

std::string out_of_range(const Setting& s, std::string_view value) {
  std::string unit = *s.unit ? fmt::format(" {}", s.unit) : std::string{};
  std::string special = *s.normalisation ? fmt::format(" ({})", s.normalisation) : std::string{};
  return fmt::format("{} is outside {}..{}{}{}", value, s.min, s.max, unit, special);
}

Error setting_error(const Setting& s, std::string reason) {
  Error e{ErrorCode::kBadConfig, {}, s.name, std::move(reason)};
  e.message = word(e, Front::kCxx);
  return e;
}

namespace {

Result<void> refuse(const char* name, std::string reason) {
  return rtcap::unexpected(setting_error(at(name), std::move(reason)));
}

}  // namespace

Result<void> validate(const CaptureConfig& c) {
  if (c.interfaces.empty() && c.read_file.empty())
    return refuse("interfaces",
                  "nothing to capture from: add an interface, or a file to read "
                  "(${read_file})");
  if (!c.interfaces.empty() && !c.read_file.empty())
    return refuse("read_file",
                  "cannot be combined with ${interfaces}: capture live or read a file");
  if (c.interfaces.size() > std::size_t(at("interfaces").max))
    return refuse("interfaces", fmt::format("{} interfaces, at most {}", c.interfaces.size(),
                                            at("interfaces").max));
  for (std::size_t i = 0; i < c.interfaces.size(); ++i) {
    if (c.interfaces[i].empty()) return refuse("interfaces", "an interface name is empty");
    // Twice the same interface: every packet captured (and written) twice.
    for (std::size_t j = 0; j < i; ++j)
      if (c.interfaces[j] == c.interfaces[i])
        return refuse("interfaces", "'" + c.interfaces[i] + "' is named twice");
  }
  for (const Setting& s : kAll) {
    if (s.kind != Kind::kNumber && s.kind != Kind::kChoice) continue;
    if (std::string why = check_number(s, s.get(c)); !why.empty()) return refuse(s.name, why);
  }
  // The batches are allocated at open: a pool larger than any use (65536 batches of 1 GiB would
  // be 64 TiB) is refused rather than left to the allocator or the OOM killer. 16 GiB: 900 times
  // the default pool (64 x 280 KiB); the largest inline batch takes 1.02 GiB.
  constexpr std::uint64_t kMaxPoolBytes = std::uint64_t{16} << 30;
  const std::uint64_t arena =
      std::max<std::uint64_t>(c.batch_bytes, std::uint64_t(resolved_snaplen(c)));
  const std::uint64_t batches = c.delivery == Delivery::kInline ? 1 : c.pool_batches;
  const std::uint64_t pool = batches * (arena + c.batch_packets * sizeof(PacketRecord));
  if (pool > kMaxPoolBytes)
    return refuse("pool_batches",
                  fmt::format("{} batches of {} bytes (${{batch_bytes}}) and {} packet records "
                              "(${{batch_packets}}) would take {} GiB at open, more than {} GiB",
                              batches, arena, c.batch_packets, pool >> 30, kMaxPoolBytes >> 30));
  return {};
}

std::vector<std::string> inert_settings(const CaptureConfig& config, CapturePlatform platform) {
  std::vector<std::string> lines;
  for (const Setting& s : kAll)
    if (s.inert && s.inert(config, platform))
      lines.push_back(fmt::format("${{{}}} does nothing here: it applies {}", s.name, s.applies));
  return lines;
}

CaptureConfig normalised(CaptureConfig config) {
  config.snaplen = resolved_snaplen(config);
  return config;
}

std::string term(const Setting& s, Front front) {
  switch (front) {
    case Front::kCxx:
      return fmt::format("CaptureConfig::{}", s.name);
    case Front::kC:
      return s.c_setter;
    case Front::kPython:
      return fmt::format("{}=", s.name);
    case Front::kCli: {
      // The first name of the option; a setting the command does not set keeps its own name.
      const std::string_view cli = s.cli;
      if (cli.empty()) return fmt::format("the {} setting", s.name);
      return std::string(cli.substr(0, cli.find(',')));
    }
  }
  return s.name;
}

std::string word(std::string_view text, Front front) {
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t open = text.find("${", at);
    const std::size_t close = open == text.npos ? text.npos : text.find('}', open);
    const Setting* s = close == text.npos ? nullptr : find(text.substr(open + 2, close - open - 2));
    if (!s) {
      out += text.substr(at, open == text.npos ? text.npos : open + 2 - at);
      if (open == text.npos) break;
      at = open + 2;
      continue;
    }
    out += text.substr(at, open - at);
    out += term(*s, front);
    at = close + 1;
  }
  return out;
}

std::vector<std::string> word(const std::vector<std::string>& texts, Front front) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back(word(t, front));
  return out;
}

std::string word(const Error& error, Front front) {
  const Setting* s = find(error.setting);
  if (!s) return error.message;
  return fmt::format("{}: {}", term(*s, front), word(error.reason, front));
}

}  // namespace rtcap::config_table

namespace rtcap {
std::string setting_words(const std::string& text) {
  return config_table::word(text, config_table::Front::kCxx);
}
}  // namespace rtcap
