// The pcap pipe reader: the one receiver `rtcap bench` puts behind every capture program (rtcap
// in each mode, tcpdump), so that every mode is measured by the same code.
//
// It reads a pcap stream (a capture's `-w -`) from a pipe and, for every record:
//   - delivery latency = CLOCK_REALTIME when the read() that returned the record's last byte
//     came back - the record's timestamp (µs magic 0xa1b2c3d4 or ns magic 0xa1b23c4d, either
//     byte order). This is the delay a downstream program reading the capture's output sees.
//   - counts it, parses link layer / IPv4 or IPv6 / UDP, and reads the per-stream 64-bit packet
//     index that `rtcap gen` puts in the payload (src/wire/wire.hpp): raw UDP, the first 8 payload
//     bytes; RTP, the first 8 bytes after the RTP header. Streams are told apart by destination
//     port and SSRC. A bitmap per stream counts unique, duplicate and missing indexes.
//
// `rtcap bench-reader [--rtp] [--json FILE]` (hidden) runs it on stdin until end of file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "rtcap/histogram.hpp"

namespace CLI {
class App;
}

namespace rtcap::tool {

struct PipeReaderOptions {
  bool rtp = false;  // payload is rtcap gen's RTP; false: raw UDP with the index first
  // Indexes at or above this are counted as out of range rather than grow the bitmap without
  // bound (2^28 bits = 32 MiB per stream; 45 minutes of one stream at 100 kpps).
  std::uint64_t max_index = std::uint64_t{1} << 28;
};

struct ReaderStream {
  std::uint16_t dst_port = 0;
  std::uint32_t ssrc = 0;  // 0 for raw UDP
  std::uint64_t packets = 0;
  std::uint64_t unique = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t highest_index = 0;  // valid when unique > 0
  std::uint64_t out_of_order = 0;   // index below the highest seen, first time seen
  std::vector<std::uint64_t> seen;  // bitmap of indexes

  // Indexes below the highest one seen that never arrived (loss after the last packet of a
  // stream is invisible here; the bench compares with what the generator sent).
  [[nodiscard]] std::uint64_t missing_inside() const noexcept {
    return unique ? highest_index + 1 - unique : 0;
  }
};

struct PipeReaderResult {
  bool header_seen = false;
  bool nanosecond = false;  // ns magic
  bool swapped = false;     // other byte order than ours
  std::uint32_t linktype = 0;
  std::uint32_t snaplen = 0;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;     // file bytes consumed
  std::uint64_t ours = 0;      // records carrying a packet index we could read
  std::uint64_t not_ours = 0;  // not UDP/IP, or no index (other traffic)
  std::uint64_t index_out_of_range = 0;
  std::uint64_t negative_latency =
      0;  // record stamped after it was read (clock steps): counted as 0
  std::uint64_t read_calls = 0;
  std::int64_t first_record_ts_ns = 0;
  std::int64_t last_record_ts_ns = 0;
  std::int64_t first_read_ns = 0;
  std::int64_t last_read_ns = 0;
  std::size_t trailing_bytes = 0;  // a partial record at end of file (the writer was cut off)
  std::string error;               // fatal format error; empty if none
  HistogramData latency_ns;
  std::vector<ReaderStream> streams;

  [[nodiscard]] std::uint64_t unique() const noexcept;
  [[nodiscard]] std::uint64_t duplicates() const noexcept;
  [[nodiscard]] std::uint64_t missing_inside() const noexcept;
};

// Incremental parser: give it whatever read() returned, it keeps no more than one partial
// record between calls.
class PcapStreamParser {
 public:
  explicit PcapStreamParser(PipeReaderOptions options = {});
  // `data` arrived at `read_realtime_ns` (CLOCK_REALTIME). Parses every complete record in
  // pending + data. False after a fatal format error (result().error says what).
  bool feed(const std::uint8_t* data, std::size_t n, std::int64_t read_realtime_ns);
  void finish();  // end of file: notes a partial record
  [[nodiscard]] const PipeReaderResult& result() const noexcept { return result_; }
  [[nodiscard]] PipeReaderResult take_result() { return std::move(result_); }

 private:
  std::size_t parse(const std::uint8_t* data, std::size_t n, std::int64_t now_ns);
  void record(const std::uint8_t* rec, std::uint32_t caplen, std::uint32_t wire_len,
              std::int64_t ts_ns, std::int64_t now_ns);
  ReaderStream& stream(std::uint16_t dst_port, std::uint32_t ssrc);

  PipeReaderOptions options_;
  PipeReaderResult result_;
  std::vector<std::uint8_t> pending_;
  std::unordered_map<std::uint64_t, std::size_t> stream_index_;
  std::uint64_t last_key_ = ~std::uint64_t{0};
  std::size_t last_stream_ = 0;
};

// Reads `fd` until end of file (EINTR retried). Sets the pipe buffer to `pipe_bytes` when > 0
// and `fd` is a pipe.
PipeReaderResult read_pcap_stream(int fd, const PipeReaderOptions& options, int pipe_bytes = 0);

// The reader's JSON: counts, latency percentiles, a sparse latency histogram
// ([[bucket, count], ...], rtcap/histogram.hpp buckets) and the per-stream counts.
std::string reader_result_json(const PipeReaderResult& result);

// Registers the hidden `bench-reader` subcommand.
CLI::App* add_bench_reader_command(CLI::App& app, int& exit_code);

}  // namespace rtcap::tool
