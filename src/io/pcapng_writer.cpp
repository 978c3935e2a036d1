// pcapng writer (draft-ietf-opsawg-pcapng): one section, host byte order.
//
//   SHB  type 0x0A0D0D0A, byte-order magic 0x1A2B3C4D, version 1.0, section length -1 (unknown,
//        we stream), options shb_os (3), shb_userappl (4), opt_endofopt.
//   IDB  type 1, one per InterfaceInfo, Interface ID = its index = PacketRecord::interface (and
//        one more mid-section for each add_interface: an interface reopened as another kind):
//        LINKTYPE (16 bits), reserved 0, snaplen, options if_name (2), if_tsresol (9: 6 = µs,
//        9 = ns), if_filter (11: first byte 0 = libpcap filter string), opt_endofopt.
//   EPB  type 6 per packet: interface id, 64-bit timestamp in if_tsresol units split high/low,
//        captured length, original length, data padded to 32 bits, no options.
//   ISB  type 5 per interface, from write_interface_stats().
// Every block: type, total length, body, total length again; options are code (16), length
// (16), value padded to 32 bits, and a list of options ends with opt_endofopt (0, 0).
//
// How our counters map onto the ISB options (the spec's words in quotes):
//   isb_starttime (2)   now_ns - CaptureStats::elapsed_ns, "the time the capture started".
//   isb_endtime (3)     now_ns.
//   isb_ifrecv (4)      "packets received from the physical interface": InterfaceStats::received,
//                       but ONLY when no filter is set. Linux ps_recv counts packets that passed
//                       the kernel filter (see stats.hpp); with a filter it is not what the
//                       option means, so we leave the option out rather than understate.
//   isb_filteraccept (6) InterfaceStats::received: "accepted by filter" is exactly ps_recv on
//                       Linux (and Npcap >= 1.76), including packets then dropped.
//   isb_ifdrop (5)      InterfaceStats::interface_dropped (ps_ifdrop): "dropped by the interface
//                       due to lack of resources" - NIC missed/fifo errors.
//   isb_osdrop (7)      "dropped by the operating system": InterfaceStats::kernel_dropped (ps_drop,
//                       ring full), plus CaptureStats::app_dropped_packets when there is exactly
//                       one interface. From the file's point of view everything between the NIC
//                       and this file is the capture system, and rtcap's own drops (no free
//                       batch) must show up where Wireshark users look for drops. With several
//                       interfaces the app drops cannot be attributed and are left out of osdrop
//                       (they still show as filteraccept - osdrop - usrdeliv); the ISB comment
//                       says which case applies.
//   isb_usrdeliv (8)    packets of this interface this writer put in the file so far (counted
//                       here, per interface, so it is exact even with several interfaces).
//   Note: dumpcap (Wireshark) puts ps_drop plus its own drops in isb_ifdrop, which Wireshark's
//   Capture File Properties shows as "Dropped"; we follow the spec's words instead, so our ring
//   drops are in isb_osdrop ("Number of Packets Dropped by OS" in tshark's pcapng dissector:
//   tshark -r F -X read_format:'MIME Files Format' -V).
//   opt_comment (1)     one line spelling out the split above, e.g. "rtcap: osdrop = 12 kernel
//                       ring (ps_drop) + 3 rtcap queue (no free batch)", and the interface's
//                       outages, if any ("interface down 1 time(s), 3012 ms in all, reopened
//                       1 time(s)"); the CLI writes an ISB when an interface comes back.
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "wire/wire.hpp"
#include "io/output_file.hpp"
#include "io/pcapng_format.hpp"
#include "io/writers.hpp"
#include "platform/os_info.hpp"
#include "rtcap/writer.hpp"

namespace rtcap::io {
namespace {

using namespace pcapng;  // block types and option codes

constexpr std::size_t kEpbFixedBytes = 28;  // type, length, if id, ts high, ts low, caplen, len
constexpr std::size_t kMaxOptionValue = 0xFFFC;  // 16-bit length, kept a multiple of 4

constexpr std::size_t pad4(std::size_t n) noexcept { return (n + 3) & ~std::size_t{3}; }

// Builds blocks at open and for ISBs (not per packet: EPBs go straight into the output buffer).
class BlockBuilder {
 public:
  explicit BlockBuilder(std::vector<std::uint8_t>& out) : out_(out) {}
  void u16(std::uint16_t v) { raw(&v, 2); }
  void u32(std::uint32_t v) { raw(&v, 4); }
  void u64(std::uint64_t v) { raw(&v, 8); }
  void raw(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void begin(std::uint32_t type) {
    start_ = out_.size();
    u32(type);
    u32(0);  // total length, patched in end()
  }
  void option(std::uint16_t code, const void* value, std::size_t n) {
    n = std::min(n, kMaxOptionValue);
    u16(code);
    u16(static_cast<std::uint16_t>(n));
    raw(value, n);
    out_.insert(out_.end(), pad4(n) - n, 0);
  }
  void option(std::uint16_t code, std::string_view s) { option(code, s.data(), s.size()); }
  void option_u64(std::uint16_t code, std::uint64_t v) { option(code, &v, 8); }
  void end_options() {
    u16(kOptEndOfOpt);
    u16(0);
  }
  void end() {
    const auto total = static_cast<std::uint32_t>(out_.size() - start_ + 4);
    u32(total);
    std::memcpy(out_.data() + start_ + 4, &total, 4);
  }

 private:
  std::vector<std::uint8_t>& out_;
  std::size_t start_ = 0;
};

RecordPrefix scan_pcapng_blocks(const std::uint8_t* data, std::size_t size,
                                std::size_t limit) noexcept {
  RecordPrefix p;
  while (p.bytes + 8 <= size) {
    std::uint32_t type, len;
    std::memcpy(&type, data + p.bytes, 4);
    std::memcpy(&len, data + p.bytes + 4, 4);
    if (len < 12 || p.bytes + len > limit) break;
    p.bytes += len;
    if (type == kBlockEpb) ++p.packets;
  }
  return p;
}

std::string default_os() { return platform::os_description(); }  // src/platform/os_info_*.cpp

void build_idb(BlockBuilder& b, const InterfaceInfo& i, const WriterOptions& options) {
  const std::uint8_t tsresol = options.precision == TimestampPrecision::kNano ? 9 : 6;
  int snaplen = i.snaplen > 0 ? i.snaplen : options.snaplen;
  if (snaplen <= 0) snaplen = kMaxSnaplen;
  b.begin(kBlockIdb);
  b.u16(static_cast<std::uint16_t>(wire::dlt_to_linktype(i.linktype)));
  b.u16(0);  // reserved
  b.u32(static_cast<std::uint32_t>(snaplen));
  if (!i.name.empty()) b.option(kIfName, i.name);
  b.option(kIfTsresol, &tsresol, 1);
  if (!options.filter.empty()) {
    // First octet 0: the filter is a libpcap filter string.
    std::string f(1, '\0');
    f += options.filter;
    b.option(kIfFilter, f);
  }
  b.end_options();
  b.end();
}

class PcapngWriter final : public FileBackedWriter {
 public:
  PcapngWriter(std::unique_ptr<OutputFile> out, const WriterOptions& options)
      : FileBackedWriter(std::move(out)),
        nano_(options.precision == TimestampPrecision::kNano),
        packet_buffered_(options.packet_buffered),
        filtered_(!options.filter.empty()),
        names_(),
        delivered_(options.interfaces.size(), 0),
        options_(options) {
    for (const InterfaceInfo& i : options.interfaces) names_.push_back(i.name);
  }

  Result<void> write(const Batch& batch) override {
    if (!out_->ok()) return out_->failed();
    const std::size_t n_if = delivered_.size();
    for (const PacketRecord& r : batch.records()) {
      if (r.interface_index >= n_if) [[unlikely]] {
        return make_error(ErrorCode::kBadConfig,
                          "packet from interface " + std::to_string(r.interface_index) + " but " +
                              out_->name() + " was opened with " + std::to_string(n_if) +
                              " interface(s): pass every capture interface in WriterOptions");
      }
      const std::uint64_t units = nano_ ? clamp_ts(r.ts_ns) : clamp_ts(r.ts_ns) / 1000;
      const std::size_t padded = pad4(r.caplen);
      const std::size_t total = kEpbFixedBytes + padded + 4;
      const std::uint32_t head[7] = {kBlockEpb,
                                     static_cast<std::uint32_t>(total),
                                     r.interface_index,
                                     static_cast<std::uint32_t>(units >> 32),
                                     static_cast<std::uint32_t>(units),
                                     r.caplen,
                                     r.wire_len};
      // Padding and trailing length together: at most 3 zero bytes, then the length.
      std::uint8_t tail[8] = {};
      const auto total32 = static_cast<std::uint32_t>(total);
      std::memcpy(tail + (padded - r.caplen), &total32, 4);
      const std::size_t tail_len = padded - r.caplen + 4;

      if (total > out_->capacity()) {
        auto w =
            out_->write_whole({std::span(reinterpret_cast<const std::uint8_t*>(head), sizeof head),
                               std::span(batch.data(r), r.caplen), std::span(tail, tail_len)},
                              true);
        if (!w) return w;
      } else {
        std::uint8_t* p = out_->reserve(total);
        if (p == nullptr) return out_->failed();
        std::memcpy(p, head, sizeof head);
        std::memcpy(p + sizeof head, batch.data(r), r.caplen);
        std::memcpy(p + sizeof head + r.caplen, tail, tail_len);
        out_->commit(total, true);
      }
      ++delivered_[r.interface_index];
    }
    if (packet_buffered_) return out_->flush();
    return {};
  }

  Result<void> write_interface_stats(const CaptureStats& stats, std::int64_t now_ns) override {
    if (!out_->ok()) return out_->failed();
    const auto to_units = [&](std::int64_t ns) {
      return nano_ ? clamp_ts(ns) : clamp_ts(ns) / 1000;
    };
    const std::uint64_t now = to_units(now_ns);
    const bool single = names_.size() == 1;
    std::vector<std::uint8_t> blocks;
    blocks.reserve(256 * names_.size());
    BlockBuilder b(blocks);
    for (std::size_t i = 0; i < names_.size(); ++i) {
      const InterfaceStats* s = find_stats(stats, i);
      b.begin(kBlockIsb);
      b.u32(static_cast<std::uint32_t>(i));
      b.u32(static_cast<std::uint32_t>(now >> 32));
      b.u32(static_cast<std::uint32_t>(now));
      std::string comment;
      if (s != nullptr) {
        const std::uint64_t app = single ? stats.app_dropped_packets : 0;
        comment = "rtcap: osdrop = " + std::to_string(s->kernel_dropped) +
                  " kernel ring (ps_drop) + " + std::to_string(app) +
                  " rtcap queue (no free batch)";
        if (!single && stats.app_dropped_packets != 0)
          comment += "; " + std::to_string(stats.app_dropped_packets) +
                     " rtcap queue drops across all interfaces are not attributed";
        if (filtered_)
          comment += "; no ifrecv: with a filter the kernel counts only accepted packets";
        // Outages (issue 13): the packets of an outage are missing from the file, not dropped.
        if (s->down_events != 0)
          comment += "; interface down " + std::to_string(s->down_events) + " time(s), " +
                     std::to_string(s->down_ns / 1000000) + " ms in all" +
                     (s->up ? "" : ", down now") + ", reopened " + std::to_string(s->reopens) +
                     " time(s): packets sent meanwhile were not captured";
      } else {
        comment = "rtcap: no statistics for this interface";
      }
      b.option(kOptComment, comment);
      if (stats.elapsed_ns > 0) b.option_u64(kIsbStartTime, to_units(now_ns - stats.elapsed_ns));
      b.option_u64(kIsbEndTime, now);
      if (s != nullptr) {
        if (!filtered_) b.option_u64(kIsbIfRecv, s->received);
        b.option_u64(kIsbIfDrop, s->interface_dropped);
        b.option_u64(kIsbFilterAccept, s->received);
        b.option_u64(kIsbOsDrop, s->kernel_dropped + (single ? stats.app_dropped_packets : 0));
      }
      b.option_u64(kIsbUsrDeliv, delivered_[i]);
      b.end_options();
      b.end();
    }
    // Whole blocks through the buffer like EPBs, so a disk-full cut keeps them whole too.
    std::size_t off = 0;
    while (off < blocks.size()) {
      std::uint32_t len;
      std::memcpy(&len, blocks.data() + off + 4, 4);
      const std::span<const std::uint8_t> block(blocks.data() + off, len);
      if (len > out_->capacity()) {
        if (auto w = out_->write_whole({block}, false); !w) return w;
      } else {
        std::uint8_t* p = out_->reserve(len);
        if (p == nullptr) return out_->failed();
        std::memcpy(p, block.data(), len);
        out_->commit(len, false);
      }
      off += len;
    }
    if (packet_buffered_) return out_->flush();
    return {};
  }

  bool is_pcapng() const override { return true; }

  // An IDB in the middle of the section (pcapng allows one anywhere after the SHB; its
  // Interface ID is the count of IDBs before it), through the buffer like any block.
  Result<void> add_interface(const InterfaceInfo& info) override {
    if (!out_->ok()) return out_->failed();
    if (names_.size() >= 0xFFFF)
      return make_error(ErrorCode::kBadConfig, "too many interfaces for one capture file");
    std::vector<std::uint8_t> block;
    BlockBuilder b(block);
    build_idb(b, info, options_);
    if (auto w = out_->write_whole({std::span<const std::uint8_t>(block)}, false); !w) return w;
    names_.push_back(info.name);
    delivered_.push_back(0);
    return {};
  }

 private:
  // By name (the engine may list them in another order), else by position.
  const InterfaceStats* find_stats(const CaptureStats& stats, std::size_t i) const {
    for (const InterfaceStats& s : stats.interfaces)
      if (!s.name.empty() && s.name == names_[i]) return &s;
    if (i < stats.interfaces.size() && stats.interfaces[i].name.empty())
      return &stats.interfaces[i];
    if (stats.interfaces.size() == names_.size() && i < stats.interfaces.size())
      return &stats.interfaces[i];
    return nullptr;
  }

  bool nano_;
  bool packet_buffered_;
  bool filtered_;
  std::vector<std::string> names_;
  std::vector<std::uint64_t> delivered_;  // EPBs written per interface (isb_usrdeliv)
  WriterOptions options_;                 // for the IDBs added later
};

}  // namespace

Result<std::unique_ptr<CaptureWriter>> open_pcapng_writer(const WriterOptions& options) {
  if (options.interfaces.empty())
    return make_error(
        ErrorCode::kBadConfig,
        "cannot write " + options.path + ": no interface given (pcapng needs one IDB each)");
  if (options.interfaces.size() > 0xFFFF)
    return make_error(ErrorCode::kBadConfig, "too many interfaces for one capture file");

  std::vector<std::uint8_t> head;
  head.reserve(512);
  BlockBuilder b(head);

  b.begin(kBlockShb);
  b.u32(kByteOrderMagic);
  b.u16(1);                  // major
  b.u16(0);                  // minor
  b.u64(~std::uint64_t{0});  // section length -1: not known while streaming
  const std::string os = options.os.empty() ? default_os() : options.os;
  if (!os.empty()) b.option(kShbOs, os);
  b.option(kShbUserAppl, options.application.empty() ? std::string("rtcap") : options.application);
  b.end_options();
  b.end();

  for (const InterfaceInfo& i : options.interfaces) build_idb(b, i, options);

  auto out = OutputFile::open(options.path, options.buffer_bytes, &scan_pcapng_blocks,
                              options.give_up_at_ns);
  if (!out) return rtcap::unexpected(out.error());
  if (auto r = (*out)->write_whole({std::span<const std::uint8_t>(head)}, false); !r)
    return rtcap::unexpected(r.error());
  return std::make_unique<PcapngWriter>(std::move(*out), options);
}

}  // namespace rtcap::io
