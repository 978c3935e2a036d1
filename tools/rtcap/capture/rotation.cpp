#include "capture/rotation.hpp"

#include <fmt/format.h>

#include <chrono>

namespace rtcap::tool {
namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool rotating(const RotationOptions& r) { return r.size_mb > 0 || r.interval_s > 0; }

}  // namespace

std::string rotated_name(const std::string& base, const RotationOptions& r, int index,
                         std::time_t when) {
  std::string name = base;
  if (r.interval_s > 0) {
    struct tm tm = *std::localtime(&when);  // the consumer thread only
    char buf[4096];
    if (std::strftime(buf, sizeof buf, base.c_str(), &tm) > 0) name = buf;
  }
  if (r.size_mb > 0) {
    const int slot = r.file_count > 0 ? index % r.file_count : index;
    if (r.file_count > 0) {
      const int width = int(std::to_string(r.file_count - 1).size());
      name += fmt::format("{:0{}}", slot, width);
    } else if (slot > 0) {
      name += std::to_string(slot);
    }
  }
  return name;
}

Result<std::unique_ptr<RotatingWriter>> RotatingWriter::open(WriterOptions options,
                                                             RotationOptions r) {
  if (rotating(r) && options.path == "-")
    return make_error(ErrorCode::kBadConfig, "-C and -G rotate files: they cannot write to '-'");
  if (r.size_mb < 0 || r.interval_s < 0 || r.file_count < 0)
    return make_error(ErrorCode::kBadConfig, "-C, -G and -W take positive numbers");
  if (r.file_count > 0 && !rotating(r))
    return make_error(ErrorCode::kBadConfig, "-W needs -C or -G");
  std::unique_ptr<RotatingWriter> w(new RotatingWriter(std::move(options), r));
  w->base_path_ = w->options_.path;
  if (auto ok = w->open_next(std::time(nullptr)); !ok) return rtcap::unexpected(ok.error());
  return w;
}

Result<void> RotatingWriter::open_next(std::time_t now) {
  WriterOptions o = options_;
  o.path = rotating(r_) ? rotated_name(base_path_, r_, index_, now) : base_path_;
  auto w = CaptureWriter::open(o);
  if (!w) return rtcap::unexpected(w.error());
  writer_ = std::move(*w);
  opened_at_ = std::chrono::steady_clock::now();
  ++index_;
  ++files_opened_;
  return {};
}

Result<void> RotatingWriter::close_current(const CaptureStats& stats) {
  if (!writer_) return {};
  (void)writer_->write_interface_stats(stats, now_ns());
  auto r = writer_->close();
  closed_packets_ += writer_->packets_written();
  writer_.reset();
  return r;
}

Result<void> RotatingWriter::write(const Batch& batch, const CaptureStats& stats) {
  if (rotating(r_) && !finished_) {
    // When to rotate is measured on the monotonic clock (a wall-clock step must not freeze
    // rotation or rush it); the new file's name takes the wall-clock time.
    const bool full =
        r_.size_mb > 0 && writer_->bytes_written() >= std::uint64_t(r_.size_mb) * 1000000;
    const bool due = r_.interval_s > 0 && std::chrono::steady_clock::now() - opened_at_ >=
                                              std::chrono::seconds(r_.interval_s);
    const std::time_t now = std::time(nullptr);
    if (full || due) {
      if (auto ok = close_current(stats); !ok) return ok;
      if (due && r_.size_mb == 0 && r_.file_count > 0 && index_ >= r_.file_count) {
        finished_ = true;  // tcpdump -G N -W M: stop after M files
        return {};
      }
      // The previous file is closed and complete; without a next one, capture has to stop.
      if (auto ok = open_next(now); !ok)
        return make_error(ErrorCode::kIo,
                          "cannot open the next file (-C/-G): " + ok.error().message);
    }
  }
  if (!writer_) return {};  // finished
  return writer_->write(batch);
}

Result<void> RotatingWriter::close(const CaptureStats& stats) { return close_current(stats); }

}  // namespace rtcap::tool
