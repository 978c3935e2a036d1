// Output file rotation as tcpdump does it: -C (size, in millions of bytes), -G (seconds, the
// name passed through strftime), -W (how many files; with -C a ring of files, with -G the number
// of files after which capture stops). Every file is complete on its own: pcapng files end with
// an interface statistics block.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "rtcap/writer.hpp"

namespace rtcap::tool {

struct RotationOptions {
  std::int64_t size_mb = 0;  // -C: rotate when a file passes this many 1,000,000 bytes
  int interval_s = 0;        // -G: rotate every this many seconds
  int file_count = 0;        // -W
};

// The name of file number `index` (0-based) for `base`: -G passes `base` through strftime at
// `when`; -C appends the index (from the second file on, or always with -W, zero-padded to
// the width of -W), as tcpdump names them.
std::string rotated_name(const std::string& base, const RotationOptions& r, int index,
                         std::time_t when);

class RotatingWriter {
 public:
  // Opens the first file. Errors name the file and the fix.
  static Result<std::unique_ptr<RotatingWriter>> open(WriterOptions options, RotationOptions r);

  // Writes the batch, rotating first when the current file is full or its time is up.
  // `stats` goes into the closing file's statistics block (pcapng).
  Result<void> write(const Batch& batch, const CaptureStats& stats);
  Result<void> flush() { return writer_ ? writer_->flush() : Result<void>{}; }
  // The next interface index (a reopen with another link type): into this file and the next.
  Result<void> add_interface(const InterfaceInfo& info) {
    options_.interfaces.push_back(info);
    return writer_ ? writer_->add_interface(info) : Result<void>{};
  }
  Result<void> close(const CaptureStats& stats);
  // The open file; nullptr after -G/-W finished or when the next file could not be opened.
  CaptureWriter* current() { return writer_.get(); }
  // Why the last write failed: the file's failure, or kOther when the next file did not open.
  [[nodiscard]] WriteFailure failure() const {
    return writer_ ? writer_->failure() : WriteFailure::kOther;
  }
  // -G with -W: the last file is done; capture should stop (tcpdump exits).
  [[nodiscard]] bool finished() const { return finished_; }
  [[nodiscard]] int files_opened() const { return files_opened_; }
  // Packets in the files so far, every file together (a failed write's cut-off ones excluded).
  [[nodiscard]] std::uint64_t packets_written() const {
    return closed_packets_ + (writer_ ? writer_->packets_written() : 0);
  }

 private:
  RotatingWriter(WriterOptions options, RotationOptions r) : options_(std::move(options)), r_(r) {}
  Result<void> open_next(std::time_t now);
  Result<void> close_current(const CaptureStats& stats);

  WriterOptions options_;
  RotationOptions r_;
  std::unique_ptr<CaptureWriter> writer_;
  std::string base_path_;
  int index_ = 0;
  int files_opened_ = 0;
  std::uint64_t closed_packets_ = 0;                   // in files already closed
  std::chrono::steady_clock::time_point opened_at_{};  // of the current file
  bool finished_ = false;
};

}  // namespace rtcap::tool
