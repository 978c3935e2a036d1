// Typed errors and warnings, kept apart as libpcap keeps PCAP_ERROR_* apart from PCAP_WARNING_*.
#pragma once

#include <expected>
#include <string>

namespace rtcap {

enum class ErrorCode {
  kNoSuchDevice,     // the interface does not exist
  kPermission,       // no CAP_NET_RAW / CAP_NET_ADMIN
  kInterfaceDown,    // the interface exists but is not up
  kBadFilter,        // pcap_compile rejected the expression
  kBadConfig,        // options that cannot work together or out of range
  kOpenFailed,       // any other pcap_create/pcap_activate failure
  kCaptureFailed,    // the handle failed during capture (for example the interface vanished)
  kIo,               // a file or pipe could not be opened or written
  kUnsupported,      // the platform or libpcap build cannot do what was asked
};

struct Error {
  ErrorCode code;
  std::string message;  // one line a user can act on: names the thing and the fix
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> make_error(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace rtcap
