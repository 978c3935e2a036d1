// Constructors of the concrete writers; CaptureWriter::open (pcap_writer.cpp) picks one.
#pragma once

#include <memory>
#include <string>

#include "rtcap/writer.hpp"

namespace rtcap::io {

Result<std::unique_ptr<CaptureWriter>> open_pcap_writer(const WriterOptions& options);
Result<std::unique_ptr<CaptureWriter>> open_pcapng_writer(const WriterOptions& options);

// A kBadConfig error about WriterOptions::`field`: `reason` names it as ${field}, the message as
// C++ code does, so that the command line can name its own option instead.
Unexpected writer_error(const std::string& field, std::string reason);

// pcapng when asked for, or when the path ends in ".pcapng" (as Wireshark's tools do).
bool wants_pcapng(const WriterOptions& options) noexcept;

// Nanoseconds since the epoch, negative ones (clock before 1970) clamped to 0: both formats
// store unsigned times.
inline std::uint64_t clamp_ts(std::int64_t ts_ns) noexcept {
  return ts_ns < 0 ? 0 : static_cast<std::uint64_t>(ts_ns);
}

}  // namespace rtcap::io
