// Capture-file writers: pcap (one link type) and pcapng (one IDB per interface, ISB statistics).
//
//   rtcap::WriterOptions o;                      // compiled in tests/unit/test_header_examples.cpp
//   o.path = "out.pcapng";                       // "-" = standard output
//   o.interfaces = engine->interfaces();
//   auto w = rtcap::CaptureWriter::open(o);      // header written here: bad paths fail now
//   if (!w) { print(w.error().message); ... }
//   while (!engine->done())
//     (void)engine->poll(std::chrono::milliseconds(100), [&](const rtcap::Batch& b) {
//       if (auto r = (*w)->write(b); !r) {       // once per batch
//         if ((*w)->failure() == rtcap::WriteFailure::kPipeClosed) engine->request_stop();
//         ...
//       }
//     });
//   (*w)->write_interface_stats(engine->stats(), now_ns);  // pcapng only; pcap: no-op
//   (*w)->close();
//
// System calls: records are serialised into one buffer allocated at open (buffer_bytes) and the
// buffer goes out in one write() when the next record would not fit; with packet_buffered
// (tcpdump -U) every batch also goes out at its end, in one write() as long as the serialised
// batch fits the buffer (size buffer_bytes to the batch arena plus 32 bytes a packet to be sure).
// Never one system call per packet, never an allocation per packet.
//
// Errors are sticky: after a failed write every call returns the same error without writing.
// On a full disk the file is cut back (ftruncate) to the end of the last whole record, so every
// reader sees a valid file holding every record that fitted.
//
// The writer is not thread-safe: the thread that consumes batches owns it.
#pragma once

#include <atomic>
#include "rtcap/export.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rtcap/batch.hpp"
#include "rtcap/config.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/error.hpp"
#include "rtcap/stats.hpp"

namespace rtcap {

struct WriterOptions {
  std::string path;              // "-" = standard output
  bool packet_buffered = false;  // tcpdump -U: each batch is written when it arrives, one write()
  bool pcapng = false;           // also chosen when path ends in ".pcapng"
  // pcap: magic 0xa1b2c3d4 (micro) or 0xa1b23c4d (nano); pcapng: if_tsresol 6 or 9.
  TimestampPrecision precision = TimestampPrecision::kMicro;
  // File snaplen (pcap header; pcapng IDBs whose InterfaceInfo::snaplen is 0). 0: kMaxSnaplen.
  int snaplen = 0;
  // One per capture interface, in PacketRecord::interface order; linktype is the DLT_* value
  // (mapped to the LINKTYPE_* file value here). pcap needs exactly one link type.
  std::vector<InterfaceInfo> interfaces;
  std::string filter;       // pcapng IDB if_filter (libpcap filter string)
  std::string os;           // pcapng shb_os; empty: uname() sysname + release
  std::string application;  // pcapng shb_userappl; empty: "rtcap"
  // Output buffer, allocated once at open. 256 KiB: 2,600 packets of 90 bytes, i.e. one write()
  // per ~26 ms at 100 kpps; large enough that write() cost is noise, small enough that a reader
  // of -w - sees data soon even without -U. Values below 4 KiB are raised to 4 KiB.
  std::size_t buffer_bytes = 256 * 1024;
  // When to stop waiting for an output that takes no data (a pipe or FIFO whose reader stalls):
  // CLOCK_MONOTONIC (std::chrono::steady_clock) nanoseconds, 0 = no deadline yet. Read at every
  // wait, so another thread or a signal handler may set it (at a stop request). Once the clock
  // passes it, a write the output does not accept fails with WriteFailure::kStalled; before, the
  // writer waits as long as the reader needs. nullptr: wait forever (blocking writes).
  const std::atomic<std::int64_t>* give_up_at_ns = nullptr;
};

// Why the last write failed, so that a caller can act on the kind without parsing the message.
enum class WriteFailure {
  kNone,
  kPipeClosed,  // EPIPE: the reader of -w - went away; stop capturing cleanly
  kDiskFull,    // ENOSPC / EDQUOT: the file was cut back to its last whole record
  kStalled,     // the reader took no data until WriterOptions::give_up_at_ns (after a stop)
  kOther,       // any other write error, or writing after close()
};

class RTCAP_API CaptureWriter {
 public:
  // Creates (truncates) the file, or uses standard output for "-", and writes the file header
  // (pcap) or the SHB and IDBs (pcapng). Errors name the path and the fix, one line.
  static Result<std::unique_ptr<CaptureWriter>> open(const WriterOptions& options);

  virtual ~CaptureWriter() = default;  // implementations close(), ignoring errors

  // Appends every record of the batch. Never throws, never allocates.
  virtual Result<void> write(const Batch& batch) = 0;
  // Writes out what is buffered (SIGUSR2, end of capture).
  virtual Result<void> flush() = 0;
  // pcapng: one Interface Statistics Block per interface (see pcapng_writer.cpp for the
  // mapping of our counters to isb_* options), buffered like packets. pcap: no-op.
  // now_ns is wall-clock time, ns since the epoch (CLOCK_REALTIME, the clock of packet
  // timestamps), not CaptureStats::elapsed_ns: it becomes the ISB timestamp and isb_endtime,
  // and now_ns - stats.elapsed_ns becomes isb_starttime.
  virtual Result<void> write_interface_stats(const CaptureStats& stats, std::int64_t now_ns) = 0;
  // An interface the engine added mid-capture (Engine::interface_count(): a reopen with another
  // link type), as the next interface index. pcapng: an Interface Description Block, which the
  // format allows anywhere in a section after the SHB. pcap: an error (a pcap file has one link
  // type in its header), unless the link type and snaplen are the file's.
  virtual Result<void> add_interface(const InterfaceInfo& info) = 0;
  // Flushes and closes (standard output is flushed, not closed). Idempotent; returns the sticky
  // error if an earlier write failed.
  virtual Result<void> close() = 0;

  // Packets and bytes that reached the file descriptor as whole records (buffered ones are not
  // counted until written; after a disk-full cut, only what the file still holds).
  [[nodiscard]] virtual std::uint64_t packets_written() const = 0;
  [[nodiscard]] virtual std::uint64_t bytes_written() const = 0;
  // write()/writev() system calls made on the output so far (headers included).
  [[nodiscard]] virtual std::uint64_t write_calls() const = 0;
  [[nodiscard]] virtual WriteFailure failure() const = 0;
  [[nodiscard]] virtual bool is_pcapng() const = 0;
};

// What a capture file says its capture dropped: the last pcapng Interface Statistics Block of
// each interface, isb_ifdrop + isb_osdrop (rtcap's files: the interface's and the kernel ring's
// drops, and rtcap's own when there was one interface). A pcap file, or a pcapng file without
// ISBs, has none (has_statistics false): then capture drops cannot be told from loss upstream.
struct FileDropStatistics {
  bool has_statistics = false;
  std::uint64_t dropped = 0;
  std::uint32_t interfaces_with_statistics = 0;
};
[[nodiscard]] RTCAP_API Result<FileDropStatistics> read_file_drop_statistics(
    const std::string& path);

}  // namespace rtcap
