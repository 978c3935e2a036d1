// Typed errors and warnings, kept apart as libpcap keeps PCAP_ERROR_* apart from PCAP_WARNING_*.
//
// Result<T> holds a T or an Error. It is rtcap's own small type, not std::expected, so that the
// public headers compile as C++17 (JUCE and most audio code) and the library has one ABI
// whatever standard the application uses. It reads like std::expected:
//
//   rtcap::Result<std::unique_ptr<rtcap::Engine>> engine = rtcap::Engine::open(config);
//   if (!engine) { std::puts(engine.error().message.c_str()); return 1; }
//   (*engine)->start();
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "rtcap/export.hpp"

namespace rtcap {

enum class ErrorCode {
  kNoSuchDevice,     // the interface does not exist
  kPermission,       // no CAP_NET_RAW / CAP_NET_ADMIN
  kInterfaceDown,    // the interface exists but is not up
  kBadFilter,        // pcap_compile rejected the expression
  kBadConfig,        // settings that cannot work together or out of range
  kOpenFailed,       // any other pcap_create/pcap_activate failure
  kCaptureFailed,    // the handle failed during capture (for example the interface vanished)
  kIo,               // a file or pipe could not be opened or written
  kUnsupported,      // the platform or libpcap build cannot do what was asked
  kMisuse,           // the API was called out of order (start twice, the wrong delivery mode)
  kBusy,             // another call on the engine is running (another thread, or its own callback)
  kNoSuchNamespace,  // the network namespace (CaptureConfig::netns) does not exist
};

struct Error {
  ErrorCode code;
  std::string message;  // one line a user can act on: names the thing and the fix
  // kBadConfig about one field of a CaptureConfig, WriterOptions or MetricsServerOptions: its name
  // ("snaplen") and the message naming it as ${snaplen}, so that a front end (C, Python, the CLI)
  // can name the field in its own terms.
  std::string setting = {};
  std::string reason = {};
};

// What Result::value() throws when it holds an error (the hot path never calls value()).
class BadResultAccess : public std::exception {
 public:
  explicit BadResultAccess(std::string message) : message_(std::move(message)) {}
  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// The error side of a Result, as std::unexpected is for std::expected.
struct Unexpected {
  Error error;
};
inline Unexpected unexpected(Error error) { return Unexpected{std::move(error)}; }
inline Unexpected make_error(ErrorCode code, std::string message) {
  return Unexpected{Error{code, std::move(message)}};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  template <typename U = T, std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                 !std::is_same_v<std::decay_t<U>, Result> &&
                                                 !std::is_same_v<std::decay_t<U>, Unexpected>,
                                             int> = 0>
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT: implicit
  Result(Unexpected e) : v_(std::in_place_index<1>, std::move(e.error)) {}   // NOLINT: implicit

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  const T* operator->() const noexcept { return std::get_if<0>(&v_); }

  T& value() & {
    check();
    return **this;
  }
  const T& value() const& {
    check();
    return **this;
  }
  T&& value() && {
    check();
    return std::move(**this);
  }
  // Only when !has_value().
  [[nodiscard]] const Error& error() const& noexcept { return *std::get_if<1>(&v_); }
  [[nodiscard]] Error&& error() && noexcept { return std::move(*std::get_if<1>(&v_)); }

 private:
  void check() const {
    if (!has_value()) throw BadResultAccess(error().message);
  }
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected e) : error_(std::move(e.error)), failed_(true) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (failed_) throw BadResultAccess(error_.message);
  }
  [[nodiscard]] const Error& error() const& noexcept { return error_; }

 private:
  Error error_{ErrorCode::kMisuse, {}};
  bool failed_ = false;
};

}  // namespace rtcap
