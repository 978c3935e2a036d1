// `rtcap bench-reference`: the simplest correct capture loop, as the Npcap and libpcap
// maintainers describe it, on one thread and with nothing of rtcap's in it, so that `rtcap bench`
// shows every user the floor of the design on their own machine:
//   pcap_create / pcap_set_* / pcap_activate, a kernel filter, non-blocking; poll() on the
//   selectable fd (bounded by pcap_get_required_select_timeout); pcap_dispatch(-1) appends
//   every packet to one preallocated buffer as pcap records; one write() per dispatch.
// With --coalesce-us W (immediate mode) it waits W after a wake-up and keeps draining every W
// while packets flow, as rtcap's own coalescing does, so both sit on the same latency/CPU
// frontier. SIGINT/SIGTERM stop it; it then prints tcpdump's statistics lines on stderr.
// With -r FILE it reads a capture file instead, 1,024 packets (rtcap's batch) per dispatch and one
// write each: the same file through `rtcap -r FILE -U -w -` and this loop under
// `valgrind --tool=callgrind` gives both costs per packet in instructions, free of the noise a
// loaded machine puts in CPU time (docs/TUNING.md).
#include <poll.h>
#include <pcap/pcap.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/bench.hpp"

namespace rtcap::tool {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) { g_stop = 1; }

struct RefOptions {
  std::string interface;
  std::string read_file;
  std::vector<std::string> filter_words;
  bool immediate = false;
  int coalesce_us = 0;
  int buffer_kib = 32 * 1024;  // rtcap's Linux default for batched capture (wait_posix.cpp)
  int snaplen = 262144;
};

// The one output buffer, 4 MiB: one dispatch of a full 1 ms ring block (~100 packets at 100,000
// packets/s) is ~10 KiB; a backlog larger than the buffer is written out as it fills.
struct Output {
  std::vector<std::uint8_t> bytes;
  std::size_t used = 0;
  bool failed = false;

  void flush() {
    std::size_t done = 0;
    while (done < used && !failed) {
      const ssize_t n = write(STDOUT_FILENO, bytes.data() + done, used - done);
      if (n > 0)
        done += std::size_t(n);
      else if (n < 0 && errno != EINTR)
        failed = true;
    }
    used = 0;
  }
  void append(const void* p, std::size_t n) {
    if (used + n > bytes.size()) flush();
    std::memcpy(bytes.data() + used, p, n);
    used += n;
  }
};

void on_packet(u_char* user, const struct pcap_pkthdr* h, const u_char* data) {
  auto* out = reinterpret_cast<Output*>(user);
  // pcap record header, nanosecond file: seconds, nanoseconds, caplen, len.
  const std::uint32_t rec[4] = {std::uint32_t(h->ts.tv_sec), std::uint32_t(h->ts.tv_usec),
                                h->caplen, h->len};
  out->append(rec, sizeof rec);
  out->append(data, h->caplen);
}

void sleep_us(int us) {
  const struct timespec ts { us / 1000000, (us % 1000000) * 1000L };
  nanosleep(&ts, nullptr);
}

// A pcap file header for `p`'s link type: nanosecond stamps, as rtcap writes.
void write_file_header(Output& out, pcap_t* p, int snaplen) {
  const std::uint32_t file_header[6] = {
      0xa1b23c4du, 2u | (4u << 16), 0, 0, std::uint32_t(snaplen), std::uint32_t(pcap_datalink(p))};
  out.append(file_header, sizeof file_header);
  out.flush();
}

// rtcap's batch_packets default: one dispatch per batch, one write per dispatch.
constexpr int kFileDispatchPackets = 1024;

int run_reference_file(const RefOptions& o) {
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(o.read_file.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) {
    fmt::print(stderr, "rtcap bench-reference: {}\n", err);
    return 3;
  }
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> guard(p, pcap_close);
  std::signal(SIGPIPE, SIG_IGN);
  Output out;
  out.bytes.resize(std::size_t(4) << 20);
  write_file_header(out, p, pcap_snapshot(p));
  int n = 0;
  while ((n = pcap_dispatch(p, kFileDispatchPackets, on_packet, reinterpret_cast<u_char*>(&out))) >
             0 &&
         !out.failed)
    out.flush();
  out.flush();
  if (n < 0) fmt::print(stderr, "rtcap bench-reference: {}\n", pcap_geterr(p));
  return out.failed || n < 0 ? 1 : 0;
}

int run_reference(const RefOptions& o) {
  if (!o.read_file.empty()) return run_reference_file(o);
  if (o.interface.empty()) {
    fmt::print(stderr, "rtcap bench-reference: give -i INTERFACE or -r FILE\n");
    return 2;
  }
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(o.interface.c_str(), err);
  if (!p) {
    fmt::print(stderr, "rtcap bench-reference: {}\n", err);
    return 3;
  }
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> guard(p, pcap_close);
  pcap_set_snaplen(p, o.snaplen);
  pcap_set_promisc(p, 1);
  pcap_set_timeout(p, 1);
  pcap_set_buffer_size(p, o.buffer_kib * 1024);
  pcap_set_immediate_mode(p, o.immediate ? 1 : 0);
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  if (pcap_activate(p) < 0) {
    fmt::print(stderr, "rtcap bench-reference: {}: {}\n", o.interface, pcap_geterr(p));
    return 3;
  }
  std::string filter;
  for (const auto& w : o.filter_words) filter += (filter.empty() ? "" : " ") + w;
  struct bpf_program prog;
  if (pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
      pcap_setfilter(p, &prog) != 0) {
    fmt::print(stderr, "rtcap bench-reference: bad filter '{}': {}\n", filter, pcap_geterr(p));
    return 2;
  }
  pcap_freecode(&prog);
  if (pcap_setnonblock(p, 1, err) != 0) {
    fmt::print(stderr, "rtcap bench-reference: {}\n", err);
    return 3;
  }
  // Timer slack 1 us, as rtcap's capture thread has: the default 50 us would stretch the window.
  (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  std::signal(SIGPIPE, SIG_IGN);

  Output out;
  out.bytes.resize(std::size_t(4) << 20);
  write_file_header(out, p, o.snaplen);
  fmt::print(stderr, "rtcap bench-reference: listening on {}\n", o.interface);

  struct pollfd pfd {
    pcap_get_selectable_fd(p), POLLIN, 0
  };
  bool polling = false;
  while (!g_stop && !out.failed) {
    if (polling) {
      sleep_us(o.coalesce_us);
    } else {
      int timeout_ms = 1000;
      if (const struct timeval* tv = pcap_get_required_select_timeout(p))
        timeout_ms = int(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000);
      if (poll(&pfd, 1, timeout_ms) > 0 && o.coalesce_us > 0) sleep_us(o.coalesce_us);
    }
    const int n = pcap_dispatch(p, -1, on_packet, reinterpret_cast<u_char*>(&out));
    if (n < 0) {
      fmt::print(stderr, "rtcap bench-reference: {}\n", pcap_geterr(p));
      break;
    }
    polling = o.coalesce_us > 0 && n > 0;
    if (out.used) out.flush();
  }
  (void)pcap_dispatch(p, -1, on_packet, reinterpret_cast<u_char*>(&out));
  out.flush();
  struct pcap_stat st {};
  if (pcap_stats(p, &st) == 0)
    fmt::print(stderr, "{} packets received by filter\n{} packets dropped by kernel\n", st.ps_recv,
               st.ps_drop);
  return out.failed ? 1 : 0;
}

}  // namespace

CLI::App* add_bench_reference_command(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "bench-reference",
      "The one-thread reference capture loop, pcap to stdout (used by rtcap bench)");
  cmd->group("");  // hidden: an internal tool of `rtcap bench`
  auto o = std::make_shared<RefOptions>();
  auto* iface = cmd->add_option("-i", o->interface, "Interface");
  auto* file = cmd->add_option("-r", o->read_file, "Read this capture file instead (callgrind)");
  iface->excludes(file);
  cmd->add_flag("--immediate-mode", o->immediate, "pcap_set_immediate_mode");
  cmd->add_option("--coalesce-us", o->coalesce_us, "Wait this long after a wake-up (immediate)");
  cmd->add_option("-B", o->buffer_kib, "Kernel buffer, KiB")->capture_default_str();
  cmd->add_option("filter", o->filter_words, "Filter expression");
  cmd->callback([o, &exit_code] { exit_code = run_reference(*o); });
  return cmd;
}

}  // namespace rtcap::tool
