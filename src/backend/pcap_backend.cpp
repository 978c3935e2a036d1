#include "backend/pcap_backend.hpp"

#include "platform/defaults.hpp"
#include "platform/os_info.hpp"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "platform/netns.hpp"

namespace rtcap::backend {

void WidenedStats::update(const struct pcap_stat& raw) noexcept {
  // Unsigned 32-bit subtraction gives the right delta across one wrap.
  received += static_cast<std::uint32_t>(raw.ps_recv - last_recv);
  kernel_dropped += static_cast<std::uint32_t>(raw.ps_drop - last_drop);
  interface_dropped += static_cast<std::uint32_t>(raw.ps_ifdrop - last_ifdrop);
  last_recv = raw.ps_recv;
  last_drop = raw.ps_drop;
  last_ifdrop = raw.ps_ifdrop;
}

PcapHandle::PcapHandle(PcapHandle&& o) noexcept
    : pcap_(std::exchange(o.pcap_, nullptr)),
      info_(std::move(o.info_)),
      is_file_(o.is_file_),
      buffer_bytes_(o.buffer_bytes_),
      stats_(o.stats_) {}

PcapHandle& PcapHandle::operator=(PcapHandle&& o) noexcept {
  if (this != &o) {
    if (pcap_) pcap_close(pcap_);
    pcap_ = std::exchange(o.pcap_, nullptr);
    info_ = std::move(o.info_);
    is_file_ = o.is_file_;
    buffer_bytes_ = o.buffer_bytes_;
    stats_ = o.stats_;
  }
  return *this;
}

PcapHandle::~PcapHandle() {
  if (pcap_) pcap_close(pcap_);
}

void PcapHandle::close() noexcept {
  if (pcap_) pcap_close(pcap_);
  pcap_ = nullptr;
}

Result<void> PcapHandle::reopen(const CaptureConfig& config, std::vector<std::string>& warnings) {
  auto fresh = open_live(info_.name, config, warnings);
  if (!fresh) return rtcap::unexpected(fresh.error());
  const WidenedStats before = stats_;
  *this = std::move(*fresh);
  // The new socket counts from zero (open_live took its base): add what the old one counted.
  stats_.received += before.received;
  stats_.kernel_dropped += before.kernel_dropped;
  stats_.interface_dropped += before.interface_dropped;
  return {};
}

bool PcapHandle::refresh_stats() noexcept {
  if (is_file_ || !pcap_) return false;
  struct pcap_stat raw {};
  if (pcap_stats(pcap_, &raw) != 0) return false;
  stats_.update(raw);
  return true;
}

namespace {

std::string program_or(const char* fallback) {
  std::string path = platform::program_path();
  return path.empty() ? fallback : path;
}

// netns: where the interface was looked for (CaptureConfig::netns; empty: the caller's namespace).
Error activate_error(const std::string& name, const std::string& netns, int status, pcap_t* p) {
  const std::string detail = pcap_geterr(p);
  switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
      if (!netns.empty())
        return {ErrorCode::kNoSuchDevice,
                fmt::format("no such interface '{}' in network namespace '{}': pcap_findalldevs "
                            "run inside it lists those there are ({})",
                            name, netns, detail)};
      return {ErrorCode::kNoSuchDevice,
              fmt::format("no such interface '{}': pcap_findalldevs lists those there are ({})",
                          name, detail)};
    case PCAP_ERROR_PERM_DENIED:
      return {ErrorCode::kPermission,
              fmt::format("no permission to capture on '{}': run as root or grant "
                          "CAP_NET_RAW,CAP_NET_ADMIN (setcap cap_net_raw,cap_net_admin=eip {})",
                          name, program_or("this program"))};
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return {ErrorCode::kPermission,
              fmt::format("no permission for promiscuous mode on '{}': run as root or capture "
                          "without promiscuous mode",
                          name)};
    case PCAP_ERROR_IFACE_NOT_UP:
      return {ErrorCode::kInterfaceDown,
              fmt::format("interface '{}' is down: bring it up ('ip link set {} up')", name, name)};
    case PCAP_ERROR_RFMON_NOTSUP:
      return {ErrorCode::kUnsupported,
              fmt::format("interface '{}' does not support monitor mode", name)};
    default:
      return {ErrorCode::kOpenFailed,
              fmt::format("cannot capture on '{}': {}", name,
                          detail.empty() ? pcap_statustostr(status) : detail)};
  }
}

std::string activate_warning(const std::string& name, int status, pcap_t* p) {
  switch (status) {
    case PCAP_WARNING_PROMISC_NOTSUP:
      return fmt::format("{}: promiscuous mode not supported; capturing without it", name);
    case PCAP_WARNING_TSTAMP_TYPE_NOTSUP:
      return fmt::format("{}: the requested time stamp type is not supported; using the default",
                         name);
    default:
      return fmt::format("{}: {}", name, pcap_geterr(p));
  }
}

Result<void> set_filter(pcap_t* p, const std::string& filter, const std::string& where) {
  if (filter.empty()) return {};
  struct bpf_program program {};
  // Optimised, netmask unknown: only "ip broadcast" needs the netmask, as in tcpdump.
  if (pcap_compile(p, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    return make_error(ErrorCode::kBadFilter,
                      fmt::format("bad filter expression '{}': {}", filter, pcap_geterr(p)));
  const int rc = pcap_setfilter(p, &program);
  pcap_freecode(&program);
  if (rc != 0)
    return make_error(ErrorCode::kBadFilter,
                      fmt::format("cannot set the filter on {}: {}", where, pcap_geterr(p)));
  return {};
}

}  // namespace

Result<PcapHandle> open_live(const std::string& name, const CaptureConfig& config,
                             std::vector<std::string>& warnings, bool nonblocking) {
  if (!config.netns.empty()) {
    // The packet socket, its ring and the MTU lookup belong to the namespace they are made in.
    CaptureConfig here = config;
    here.netns.clear();
    std::optional<Result<PcapHandle>> opened;
    auto entered = platform::run_in_netns(config.netns, [&] {
      opened.emplace(open_live_here(name, here, config.netns, warnings, nonblocking));
    });
    if (!entered) return rtcap::unexpected(entered.error());
    return std::move(*opened);
  }
  return open_live_here(name, config, {}, warnings, nonblocking);
}

Result<PcapHandle> open_live_here(const std::string& name, const CaptureConfig& config,
                                  const std::string& netns, std::vector<std::string>& warnings,
                                  bool nonblocking) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapHandle h;
  h.pcap_ = pcap_create(name.c_str(), errbuf);
  if (!h.pcap_)
    return make_error(ErrorCode::kOpenFailed,
                      fmt::format("cannot capture on '{}': {}", name, errbuf));
  pcap_t* p = h.pcap_;

  const RingRequest ring = ring_request(name, config);
  pcap_set_snaplen(p, ring.snaplen);
  pcap_set_promisc(p, config.promiscuous ? 1 : 0);
  pcap_set_timeout(p, config.timeout_ms);
  h.buffer_bytes_ = ring.buffer_bytes;
  pcap_set_buffer_size(p, static_cast<int>(h.buffer_bytes_));
  pcap_set_immediate_mode(p, config.immediate_mode ? 1 : 0);

  h.info_.precision = TimestampPrecision::kMicro;
  if (config.precision == TimestampPrecision::kNano) {
    if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0)
      h.info_.precision = TimestampPrecision::kNano;
    else
      warnings.push_back(
          fmt::format("{}: nanosecond time stamps not supported here; using microseconds", name));
  }
  if (!config.tstamp_type.empty()) {
    const int type = pcap_tstamp_type_name_to_val(config.tstamp_type.c_str());
    if (type < 0)
      return make_error(ErrorCode::kBadConfig,
                        fmt::format("unknown time stamp type '{}': see pcap-tstamp(7) for the "
                                    "names, pcap_list_tstamp_types for those {} has",
                                    config.tstamp_type, name));
    const int rc = pcap_set_tstamp_type(p, type);
    if (rc > 0)
      warnings.push_back(activate_warning(name, rc, p));
    else if (rc < 0)
      return make_error(ErrorCode::kBadConfig,
                        fmt::format("{}: cannot set time stamp type '{}': {}", name,
                                    config.tstamp_type, pcap_statustostr(rc)));
  }

  const int status = pcap_activate(p);
  if (status < 0) return rtcap::unexpected(activate_error(name, netns, status, p));
  if (status > 0) warnings.push_back(activate_warning(name, status, p));

  if (auto r = apply_platform_options(p, name, config, warnings); !r)
    return rtcap::unexpected(r.error());
  h.info_.name = name;
  h.info_.linktype = pcap_datalink(p);
  h.info_.snaplen = pcap_snapshot(p);
  if (auto r = set_filter(p, config.filter, name); !r) return rtcap::unexpected(r.error());
  if (nonblocking && pcap_setnonblock(p, 1, errbuf) != 0)
    return make_error(ErrorCode::kOpenFailed,
                      fmt::format("cannot make '{}' non-blocking: {}", name, errbuf));
  // No base is subtracted: the kernel counts from bind time, and packets that reached the ring
  // before the filter was set are counted then; the ones the filter passes are captured, so a
  // base read here made received fall short of captured (-c 100000: 99,999 received).
  return h;
}

Result<PcapHandle> open_file(const std::string& path, const CaptureConfig& config,
                             std::vector<std::string>&) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  PcapHandle h;
  const int precision = config.precision == TimestampPrecision::kNano ? PCAP_TSTAMP_PRECISION_NANO
                                                                      : PCAP_TSTAMP_PRECISION_MICRO;
  h.pcap_ = pcap_open_offline_with_tstamp_precision(path.c_str(), precision, errbuf);
  if (!h.pcap_)
    return make_error(ErrorCode::kIo, fmt::format("cannot read '{}': {}", path, errbuf));
  h.is_file_ = true;
  h.info_.name = path;
  h.info_.linktype = pcap_datalink(h.pcap_);
  h.info_.snaplen = pcap_snapshot(h.pcap_);
  h.info_.precision = config.precision;
  if (auto r = set_filter(h.pcap_, config.filter, path); !r) return rtcap::unexpected(r.error());
  return h;
}

Result<std::vector<DeviceInfo>> list_devices_impl() {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_if_t* all = nullptr;
  if (pcap_findalldevs(&all, errbuf) != 0)
    return make_error(ErrorCode::kOpenFailed, fmt::format("cannot list interfaces: {}", errbuf));
  std::vector<DeviceInfo> out;
  for (pcap_if_t* d = all; d; d = d->next) {
    out.push_back(DeviceInfo{d->name, d->description ? d->description : "",
                             (d->flags & PCAP_IF_UP) != 0, (d->flags & PCAP_IF_RUNNING) != 0,
                             (d->flags & PCAP_IF_LOOPBACK) != 0});
  }
  pcap_freealldevs(all);
  return out;
}

}  // namespace rtcap::backend

namespace rtcap {
Result<std::vector<DeviceInfo>> list_devices() { return backend::list_devices_impl(); }
std::string pcap_library_version() { return pcap_lib_version(); }
}  // namespace rtcap
