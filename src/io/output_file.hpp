// The output side shared by the pcap and pcapng writers: one descriptor, one buffer allocated at
// open, a full-write loop, and the bookkeeping that keeps the file valid when a write fails.
//
// The buffer only ever holds whole records (the writers reserve a record's size, fill it, then
// commit it), and it goes out at record boundaries. So the file, as far as it has been written
// without error, always ends on a record boundary; `written_` is that offset. When a write
// fails half-way (ENOSPC after a partial write), the format's PrefixScanner walks the buffer to
// find how many whole records the kernel took, and the file is cut back (ftruncate) to the end
// of the last of them: readers see every record that fitted and no truncated tail.
//
// Kernel behaviour this relies on (Linux, regular files): write() on a nearly full filesystem
// first returns a short count (what fitted), and the next write() returns -1/ENOSPC; the short
// part is in the file. ftruncate() to a smaller size always succeeds on a full filesystem (it
// frees blocks). On a pipe nothing can be taken back: the reader has already seen the bytes.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "platform/file_output.hpp"
#include "rtcap/error.hpp"
#include "rtcap/writer.hpp"

namespace rtcap::io {

// The longest prefix of `data` (size bytes of whole records) that ends on a record boundary and
// is at most `limit` bytes long, and how many packet records it holds.
struct RecordPrefix {
  std::size_t bytes = 0;
  std::uint64_t packets = 0;
};
using PrefixScanner = RecordPrefix (*)(const std::uint8_t* data, std::size_t size,
                                       std::size_t limit) noexcept;

inline constexpr std::size_t kMinBufferBytes = 4096;

class OutputFile {
 public:
  // `option` names the output in messages ("choose another --stats-json path").
  static Result<std::unique_ptr<OutputFile>> open(
      const std::string& path, std::size_t buffer_bytes, PrefixScanner scanner,
      const std::atomic<std::int64_t>* give_up_at_ns = nullptr, std::string option = "-w") {
    const bool use_stdout = path == "-";
    int fd = STDOUT_FILENO;
    if (use_stdout) {
      platform::set_binary_mode(fd);
    } else {
      fd = platform::open_output_file(path);
      if (fd < 0) return rtcap::unexpected(open_error(path, errno, option));
    }
    std::unique_ptr<OutputFile> f(
        new OutputFile(path, fd, !use_stdout, std::max(buffer_bytes, kMinBufferBytes), scanner));
    f->option_ = std::move(option);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      f->regular_ = true;
      const off_t pos = platform::output_start_offset(fd, st);
      f->base_offset_ = pos < 0 ? 0 : pos;
    }
    // A pipe whose reader stalls must not hold a stop request (issue 13): with a deadline, the
    // writer waits in slices instead (platform::make_pipe_nonblocking says how), and gives up
    // at the deadline. The original flags come back at close.
    f->give_up_at_ns_ = give_up_at_ns;
    if (give_up_at_ns) f->restore_flags_ = platform::make_pipe_nonblocking(fd);
    return f;
  }

  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() { (void)close(); }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool ok() const noexcept { return !error_ && fd_ >= 0; }

  // Room for n bytes (n <= capacity()), flushing the buffer first if they do not fit.
  // nullptr once the output has failed or is closed; failed() then says why.
  [[nodiscard]] std::uint8_t* reserve(std::size_t n) {
    if (!ok()) return nullptr;
    if (capacity_ - used_ < n) {
      if (!flush()) return nullptr;
    }
    return buffer_.get() + used_;
  }
  void commit(std::size_t n, bool packet) noexcept {
    used_ += n;
    if (packet) ++buffered_packets_;
  }

  Result<void> flush() {
    if (!ok()) return failed();
    if (used_ == 0) return {};
    auto [done, err] = write_fully(buffer_.get(), used_);
    if (err == 0) {
      written_ += used_;
      packets_written_ += buffered_packets_;
    } else {
      const RecordPrefix keep = scanner_(buffer_.get(), used_, done);
      set_error(err, written_ + keep.bytes, done != keep.bytes);
      written_ += keep.bytes;
      packets_written_ += keep.packets;
    }
    used_ = 0;
    buffered_packets_ = 0;
    if (error_) return failed();
    return {};
  }

  // File headers and records larger than the buffer: flush, then write the pieces; on failure
  // the file is cut back to where this record began.
  Result<void> write_whole(std::initializer_list<std::span<const std::uint8_t>> pieces,
                           bool packet) {
    if (auto r = flush(); !r) return r;
    std::uint64_t total = 0;
    for (const auto& piece : pieces) {
      auto [done, err] = write_fully(piece.data(), piece.size());
      total += done;
      if (err != 0) {
        set_error(err, written_, total != 0);
        return failed();
      }
    }
    written_ += total;
    if (packet) ++packets_written_;
    return {};
  }

  // Flushes; closes the descriptor unless it is standard output. Idempotent.
  Result<void> close() {
    if (fd_ < 0) return error_ ? failed() : Result<void>{};
    Result<void> r = flush();
    platform::restore_descriptor_flags(fd_, restore_flags_);
    if (owns_fd_) {
      if (::close(fd_) != 0 && r && errno != EINTR) {
        // NFS and some FUSE filesystems report write-back errors only here.
        set_error(errno, written_, false);
        r = failed();
      }
    }
    fd_ = -1;
    closed_ = true;
    return r;
  }

  [[nodiscard]] rtcap::Unexpected failed() const {
    if (error_) return rtcap::unexpected(*error_);
    return rtcap::unexpected(Error{ErrorCode::kIo, "writing " + name() + " after it was closed"});
  }
  [[nodiscard]] WriteFailure failure() const noexcept {
    if (error_) return failure_;
    return closed_ ? WriteFailure::kOther : WriteFailure::kNone;
  }
  [[nodiscard]] std::uint64_t packets_written() const noexcept { return packets_written_; }
  [[nodiscard]] std::uint64_t bytes_written() const noexcept { return written_; }
  [[nodiscard]] std::uint64_t write_calls() const noexcept { return write_calls_; }
  [[nodiscard]] std::string name() const { return path_ == "-" ? "standard output" : path_; }

 private:
  OutputFile(std::string path, int fd, bool owns_fd, std::size_t capacity, PrefixScanner scanner)
      : path_(std::move(path)),
        fd_(fd),
        owns_fd_(owns_fd),
        buffer_(std::make_unique_for_overwrite<std::uint8_t[]>(capacity)),
        capacity_(capacity),
        scanner_(scanner) {}

  // Returns bytes written and 0, or bytes written before the failure and its errno.
  std::pair<std::size_t, int> write_fully(const std::uint8_t* data, std::size_t size) noexcept {
    std::size_t done = 0;
    while (done < size) {
      ++write_calls_;
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // A pipe we made non-blocking (see open), or standard output left non-blocking by
        // whoever opened it: wait instead of spinning, until the deadline if there is one.
        if (!wait_writable()) return {done, ETIMEDOUT};
        continue;
      }
      return {done, n < 0 ? errno : EIO};
    }
    return {done, 0};
  }

  // Waits until the output takes data; false once give_up_at_ns has passed.
  bool wait_writable() noexcept { return platform::wait_writable(fd_, give_up_at_ns_); }

  // Records the sticky error; on a regular file cuts it back to `keep_bytes` (relative to where
  // we started writing) when bytes past that point reached the file.
  void set_error(int err, std::uint64_t keep_bytes, bool cut) {
    std::string msg;
    switch (err) {
      case EPIPE:
        failure_ = WriteFailure::kPipeClosed;
        msg = "output pipe closed by the reader of " + name();
        break;
      case ENOSPC:
        failure_ = WriteFailure::kDiskFull;
        msg = "disk full writing " + name() + ": free space or choose another " + option_ + " path";
        break;
#ifdef EDQUOT  // not in the Windows C runtime
      case EDQUOT:
        failure_ = WriteFailure::kDiskFull;
        msg = "disk quota exceeded writing " + name() + ": free space or choose another " +
              option_ + " path";
        break;
#endif
      case ETIMEDOUT:  // our own: wait_writable passed give_up_at_ns
        failure_ = WriteFailure::kStalled;
        msg = "the reader of " + name() + " took no data until the stop deadline: gave up";
        break;
      case EFBIG:
        failure_ = WriteFailure::kOther;
        msg = name() + " reached the largest file size allowed (filesystem or ulimit -f): " +
              "choose another " + option_ + " path or raise the limit";
        break;
      default:
        failure_ = WriteFailure::kOther;
        msg = "error writing " + name() + ": " + std::strerror(err);
        break;
    }
    if (cut && regular_) {
      const off_t end = static_cast<off_t>(base_offset_ + keep_bytes);
      if (::ftruncate(fd_, end) != 0) {
        msg += std::string(" (could not cut the file back to its last whole record: ") +
               std::strerror(errno) + ")";
      } else {
        (void)::lseek(fd_, end, SEEK_SET);
      }
    }
    error_ = Error{ErrorCode::kIo, std::move(msg)};
  }

  static Error open_error(const std::string& path, int err, const std::string& option) {
    std::string dir = ".";
    if (auto slash = path.find_last_of('/'); slash != std::string::npos)
      dir = slash == 0 ? "/" : path.substr(0, slash);
    std::string msg;
    switch (err) {
      case ENOENT:
        msg = "cannot create " + path + ": no such directory " + dir +
              ": create it or choose another " + option + " path";
        break;
      case ENOTDIR:
        msg = "cannot create " + path + ": a part of " + dir +
              " is not a directory: choose another " + option + " path";
        break;
      case EACCES:
      case EPERM:
        msg = "permission denied creating " + path + ": choose a directory you can write to (" +
              option + ") or change the permissions of " + dir;
        break;
      case EISDIR:
        msg = "cannot write to " + path + ": it is a directory: give a file name with " + option;
        break;
#ifdef ELOOP
      case ELOOP:  // platform::open_output_file: a link another user could have planted
        msg = "will not write through the symbolic link " + path +
              ": another user could have planted it; remove it or choose another " + option +
              " path";
        break;
#endif
      case EROFS:
        msg =
            "cannot create " + path + ": read-only filesystem: choose another " + option + " path";
        break;
      case ENOSPC:
#ifdef EDQUOT
      case EDQUOT:
#endif
        msg = "cannot create " + path + ": disk full: free space or choose another " + option +
              " path";
        break;
      default:
        msg = "cannot create " + path + ": " + std::strerror(err);
        break;
    }
    return Error{ErrorCode::kIo, std::move(msg)};
  }

  std::string path_;
  std::string option_ = "-w";
  int fd_;
  bool owns_fd_;
  bool regular_ = false;
  bool closed_ = false;
  std::uint64_t base_offset_ = 0;  // file offset where our first byte went
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::uint64_t buffered_packets_ = 0;
  PrefixScanner scanner_;
  std::uint64_t written_ = 0;  // bytes in the output, always at a record boundary
  std::uint64_t packets_written_ = 0;
  std::uint64_t write_calls_ = 0;
  std::optional<Error> error_;
  WriteFailure failure_ = WriteFailure::kNone;
  const std::atomic<std::int64_t>* give_up_at_ns_ = nullptr;
  int restore_flags_ = -1;  // fcntl flags to put back at close (we set O_NONBLOCK)
};

// What both formats' writers only forward to their OutputFile; each adds write() and
// write_interface_stats(). Closing on destruction ignores errors (close() reports them).
class FileBackedWriter : public CaptureWriter {
 public:
  explicit FileBackedWriter(std::unique_ptr<OutputFile> out) : out_(std::move(out)) {}
  ~FileBackedWriter() override { (void)out_->close(); }

  Result<void> flush() override { return out_->flush(); }
  Result<void> close() override { return out_->close(); }
  std::uint64_t packets_written() const override { return out_->packets_written(); }
  std::uint64_t bytes_written() const override { return out_->bytes_written(); }
  std::uint64_t write_calls() const override { return out_->write_calls(); }
  WriteFailure failure() const override { return out_->failure(); }

 protected:
  std::unique_ptr<OutputFile> out_;
};

}  // namespace rtcap::io
