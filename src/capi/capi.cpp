// The C interface (include/rtcap/rtcap.h) over rtcap::Engine.
//
// Handles are never pointers: an rtcap_engine* or rtcap_config* is a number from a counter that
// never repeats, looked up in a registry. A null, stale (closed) or made-up handle therefore finds
// nothing and gives RTCAP_ERR_INVALID_HANDLE; no call can reach freed memory, and a second close
// is an error code, not a double free. The registry holds shared_ptrs: a call copies the entry
// under the mutex and runs without it. Close refuses (RTCAP_ERR_BUSY) while another thread holds a
// copy, since that thread may be about to call the application's callback with memory the
// application frees after close; from inside the engine's own callback on this thread it is
// allowed (as rtcap::Engine destroyed there): the handle goes at once, the callback is not called
// again, and the engine goes when the poll returns. Cost: one uncontended mutex and a shared_ptr
// copy per call, i.e. per wake-up (about 1,000 a second in the default mode: docs/TUNING.md), not
// per packet.
//
// No exception leaves: every entry point runs inside guarded(), which turns std::bad_alloc into
// RTCAP_ERR_NO_MEMORY and anything else into RTCAP_ERR_INTERNAL with its what().
#include "rtcap/rtcap.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rtcap/analysis.hpp"
#include "rtcap/audio.hpp"
#include "rtcap/batch.hpp"
#include "rtcap/config.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/error.hpp"
#include "rtcap/stats.hpp"
#include "capi/stats_fields.hpp"
#include "engine/config_table.hpp"
#include "engine/warning_texts.hpp"
#include "io/audio_words.hpp"

namespace {

thread_local std::string t_last_error;
thread_local std::string t_last_setting;  // kBadConfig about one setting: its name, else empty
thread_local std::string t_last_reason;   // and the reason, other settings as ${name}

int fail(int status, std::string message) {
  t_last_error = std::move(message);
  t_last_setting.clear();
  t_last_reason.clear();
  return status;
}

int status_of(rtcap::ErrorCode code) {
  switch (code) {
    case rtcap::ErrorCode::kNoSuchDevice:
      return RTCAP_ERR_NO_SUCH_DEVICE;
    case rtcap::ErrorCode::kPermission:
      return RTCAP_ERR_PERMISSION;
    case rtcap::ErrorCode::kInterfaceDown:
      return RTCAP_ERR_INTERFACE_DOWN;
    case rtcap::ErrorCode::kBadFilter:
      return RTCAP_ERR_BAD_FILTER;
    case rtcap::ErrorCode::kBadConfig:
      return RTCAP_ERR_BAD_CONFIG;
    case rtcap::ErrorCode::kOpenFailed:
      return RTCAP_ERR_OPEN_FAILED;
    case rtcap::ErrorCode::kCaptureFailed:
      return RTCAP_ERR_CAPTURE_FAILED;
    case rtcap::ErrorCode::kIo:
      return RTCAP_ERR_IO;
    case rtcap::ErrorCode::kUnsupported:
      return RTCAP_ERR_UNSUPPORTED;
    case rtcap::ErrorCode::kMisuse:
      return RTCAP_ERR_WRONG_STATE;
    case rtcap::ErrorCode::kBusy:
      return RTCAP_ERR_BUSY;
    case rtcap::ErrorCode::kNoSuchNamespace:
      return RTCAP_ERR_NO_SUCH_NAMESPACE;
  }
  return RTCAP_ERR_INTERNAL;  // a code added to rtcap::ErrorCode and not mapped here
}

// A setting's error is worded with the C setters' names (config_table.hpp).
int fail(const rtcap::Error& error) {
  if (!rtcap::config_table::find(error.setting)) return fail(status_of(error.code), error.message);
  fail(status_of(error.code), rtcap::config_table::word(error, rtcap::config_table::Front::kC));
  t_last_setting = error.setting;
  t_last_reason = error.reason;
  return status_of(error.code);
}
// An engine's refusal, worded for C: the function's name, then the engine's reason.
int refused(const char* function, const rtcap::Error& error) {
  return fail(status_of(error.code), std::string(function) + ": " + error.message);
}

template <class F>
int guarded(const char* function, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(RTCAP_ERR_NO_MEMORY, std::string(function) + ": out of memory");
  } catch (const std::exception& e) {
    return fail(RTCAP_ERR_INTERNAL, std::string(function) + ": unexpected exception: " + e.what() +
                                        " (a bug in rtcap)");
  } catch (...) {
    return fail(RTCAP_ERR_INTERNAL,
                std::string(function) + ": unexpected exception (a bug in rtcap)");
  }
}

struct ConfigState {
  rtcap::CaptureConfig config;
};

// The engine keeps its own state and refuses calls out of turn (kBusy, kMisuse); this adds only
// what the C callback needs.
struct EngineState {
  std::unique_ptr<rtcap::Engine> engine;
  std::vector<rtcap_packet> chunk;  // the C view of up to batch_packets packets, reused (the
                                    // engine runs one poll or dispatch at a time)
  std::atomic<bool> callback_stopped{false};
  // rtcap_engine_close from inside the callback: the callback is not called again (the engine
  // goes when that poll returns). Written and read on the polling thread only.
  bool closed = false;
  std::vector<std::string> warnings;  // worded for C (the setters), fixed at open
};

// Handles: numbers, never addresses (see the top of this file). 0 is never handed out, and one
// counter serves both kinds, so a config handle passed as an engine finds nothing.
std::atomic<std::uintptr_t> g_next_handle{1};

template <class State>
class Registry {
 public:
  std::uintptr_t add(std::shared_ptr<State> state) {
    std::lock_guard lock(mutex_);
    const std::uintptr_t id = g_next_handle.fetch_add(1);
    entries_.emplace(id, std::move(state));
    return id;
  }
  std::shared_ptr<State> find(std::uintptr_t id) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second;
  }
  // RTCAP_OK and the state (to destroy outside the lock), or why not. `in_use_ok(state)`: true
  // when calls may hold copies (the state then lives until they return).
  int remove(std::uintptr_t id, std::shared_ptr<State>& out,
             bool (*in_use_ok)(const State&) = nullptr) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return RTCAP_ERR_INVALID_HANDLE;
    // Copies are made only under this mutex; other threads can only drop theirs meanwhile.
    if (it->second.use_count() > 1 && !(in_use_ok && in_use_ok(*it->second))) return RTCAP_ERR_BUSY;
    out = std::move(it->second);
    entries_.erase(it);
    return RTCAP_OK;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::uintptr_t, std::shared_ptr<State>> entries_;
};
Registry<ConfigState>& configs() {
  static Registry<ConfigState> r;
  return r;
}
Registry<EngineState>& engines() {
  static Registry<EngineState> r;
  return r;
}

template <class Handle>
std::uintptr_t id_of(const Handle* h) {
  return reinterpret_cast<std::uintptr_t>(h);
}

int no_config(const char* function) {
  return fail(RTCAP_ERR_INVALID_HANDLE,
              std::string(function) +
                  ": not an open rtcap_config (null, freed, or never made by rtcap_config_new)");
}
int no_engine(const char* function) {
  return fail(
      RTCAP_ERR_INVALID_HANDLE,
      std::string(function) +
          ": not an open rtcap_engine (null, closed, or never opened by rtcap_engine_open)");
}
int null_argument(const char* function, const char* name) {
  return fail(RTCAP_ERR_INVALID_ARGUMENT, std::string(function) + ": " + name + " is NULL");
}

// Warning `index` of `w`, for rtcap_engine_warning and rtcap_engine_warning_text.
int warning_at(const char* function, const std::vector<std::string>& w, size_t index,
               const char** out) {
  if (!out) return null_argument(function, "message");
  if (index >= w.size())
    return fail(RTCAP_ERR_INVALID_ARGUMENT, std::string(function) + ": index " +
                                                std::to_string(index) + " but there are " +
                                                std::to_string(w.size()));
  *out = w[index].c_str();
  return RTCAP_OK;
}

// A config setter: finds the handle, runs `set` on the CaptureConfig.
template <class F>
int with_config(rtcap_config* handle, const char* function, F&& set) noexcept {
  return guarded(function, [&]() -> int {
    auto state = configs().find(id_of(handle));
    if (!state) return no_config(function);
    return set(*state);
  });
}

template <class F>
int with_engine(rtcap_engine* handle, const char* function, F&& body) noexcept {
  return guarded(function, [&]() -> int {
    auto state = engines().find(id_of(handle));
    if (!state) return no_engine(function);
    return body(*state);
  });
}

// The value given to the setting `name` is refused, for `reason`.
int refuse(const char* name, std::string reason) {
  return fail(rtcap::config_table::setting_error(rtcap::config_table::at(name), std::move(reason)));
}

// A number for the setting `name`, checked against the table; unsigned values beyond int64_t
// are out of every range.
template <class T>
int set_number(rtcap_config* config, const char* name, T value) noexcept {
  return guarded(name, [&]() -> int {
    const rtcap::config_table::Setting& s = rtcap::config_table::at(name);
    return with_config(config, s.c_setter, [&](ConfigState& state) -> int {
      if (std::is_unsigned_v<T> && std::uint64_t(value) > std::uint64_t(s.max))
        return refuse(name, rtcap::config_table::out_of_range(s, std::to_string(value)));
      if (std::string why = rtcap::config_table::check_number(s, std::int64_t(value)); !why.empty())
        return refuse(name, std::move(why));
      s.set(state.config, std::int64_t(value));
      return RTCAP_OK;
    });
  });
}

struct Delivery;
// The innermost Delivery calling its callback on this thread (each links the one it runs inside):
// rtcap_engine_close is allowed from inside its own engine's callback only.
thread_local const Delivery* t_delivering = nullptr;

// Calls the C callback on each batch in chunks of the preallocated view (no allocation per
// batch). After the callback returned non-zero or threw, the rest of this poll's packets are
// counted in `skipped`, not handed to it, and the engine is asked to stop.
struct Delivery {
  Delivery(EngineState* s, rtcap_batch_fn f, void* u) : state(s), fn(f), user(u) {}
  EngineState* state;
  const Delivery* outer = nullptr;  // the Delivery whose callback this one runs inside
  rtcap_batch_fn fn;
  void* user;
  std::size_t delivered = 0;
  std::size_t skipped = 0;
  int callback_result = 0;
  std::string callback_exception;
  bool stopped = false;

  void deliver(const rtcap::Batch& batch) noexcept {
    const std::size_t n = batch.size();
    if (state->closed) return;
    if (stopped) {
      skipped += n;
      return;
    }
    std::vector<rtcap_packet>& view = state->chunk;
    for (std::size_t first = 0; first < n; first += view.size()) {
      const std::size_t count = std::min(view.size(), n - first);
      for (std::size_t i = 0; i < count; ++i) {
        const rtcap::PacketView p = batch[first + i];
        rtcap_packet& c = view[i];
        c.ts_ns = p.ts_ns;
        c.data = p.bytes.data();
        c.caplen = static_cast<std::uint32_t>(p.bytes.size());
        c.wire_len = p.wire_len;
        c.interface_index = p.interface_index;
        c.reserved16 = 0;
        c.reserved32 = 0;
      }
      const rtcap_batch b{count, sizeof(rtcap_packet), view.data()};
      int rc = 0;
      outer = t_delivering;
      t_delivering = this;
      try {
        rc = fn(user, &b);
      } catch (const std::exception& e) {
        rc = RTCAP_ERR_CALLBACK;
        note_exception(e.what());
      } catch (...) {
        rc = RTCAP_ERR_CALLBACK;
        note_exception("an exception that is not a std::exception");
      }
      t_delivering = outer;
      if (state->closed) {  // closed by the callback: not called again
        delivered += count;
        return;
      }
      if (rc != 0) {
        callback_result = rc;
        stopped = true;
        delivered += count;
        skipped += n - first - count;
        state->callback_stopped.store(true);
        state->engine->request_stop();
        return;
      }
      delivered += count;
    }
  }

  void note_exception(const char* what) noexcept {
    try {
      callback_exception = what;
    } catch (...) {  // no memory for the text: the status code alone says it
      callback_exception.clear();
      callback_result = RTCAP_ERR_CALLBACK;
    }
  }

  // The engine's BatchFn: `context` is the Delivery.
  static void trampoline(void* context, const rtcap::Batch& batch) {
    static_cast<Delivery*>(context)->deliver(batch);
  }

  // Whether this thread is inside a callback of `s` (possibly with other engines' callbacks
  // nested in it): then no other thread can be calling that callback (one poll at a time).
  static bool in_callback_of(const EngineState& s) {
    for (const Delivery* d = t_delivering; d != nullptr; d = d->outer)
      if (d->state == &s) return true;
    return false;
  }

  int finish(const char* function) {
    if (!stopped) return RTCAP_OK;
    std::string why = callback_exception.empty() ? "returned " + std::to_string(callback_result)
                                                 : "threw " + callback_exception;
    return fail(RTCAP_ERR_CALLBACK, std::string(function) + ": the batch callback " + why +
                                        ": capture stopped; " + std::to_string(skipped) +
                                        " packets drained in this call were not handed to it");
  }
};

int not_inline(const char* function) {
  return fail(RTCAP_ERR_WRONG_STATE, std::string(function) +
                                         ": inline delivery only; this engine is threaded: use "
                                         "rtcap_engine_poll");
}

// After a poll: RTCAP_DONE, the capture's own failure, or RTCAP_OK.
int end_status(EngineState& s, const char* function) {
  if (!s.engine->done()) return RTCAP_OK;
  if (auto f = s.engine->failure()) {
    return fail(status_of(f->code), std::string(function) + ": " + f->message);
  }
  return RTCAP_DONE;
}

constexpr std::int64_t kMaxTimeoutUs = std::numeric_limits<std::int64_t>::max() / 1000;

}  // namespace

extern "C" {

const char* rtcap_status_name(int status) {
  switch (status) {
    case RTCAP_OK:
      return "RTCAP_OK";
    case RTCAP_DONE:
      return "RTCAP_DONE";
    case RTCAP_ERR_NO_SUCH_DEVICE:
      return "RTCAP_ERR_NO_SUCH_DEVICE";
    case RTCAP_ERR_PERMISSION:
      return "RTCAP_ERR_PERMISSION";
    case RTCAP_ERR_INTERFACE_DOWN:
      return "RTCAP_ERR_INTERFACE_DOWN";
    case RTCAP_ERR_BAD_FILTER:
      return "RTCAP_ERR_BAD_FILTER";
    case RTCAP_ERR_BAD_CONFIG:
      return "RTCAP_ERR_BAD_CONFIG";
    case RTCAP_ERR_OPEN_FAILED:
      return "RTCAP_ERR_OPEN_FAILED";
    case RTCAP_ERR_CAPTURE_FAILED:
      return "RTCAP_ERR_CAPTURE_FAILED";
    case RTCAP_ERR_IO:
      return "RTCAP_ERR_IO";
    case RTCAP_ERR_UNSUPPORTED:
      return "RTCAP_ERR_UNSUPPORTED";
    case RTCAP_ERR_NO_SUCH_NAMESPACE:
      return "RTCAP_ERR_NO_SUCH_NAMESPACE";
    case RTCAP_ERR_INVALID_ARGUMENT:
      return "RTCAP_ERR_INVALID_ARGUMENT";
    case RTCAP_ERR_INVALID_HANDLE:
      return "RTCAP_ERR_INVALID_HANDLE";
    case RTCAP_ERR_WRONG_STATE:
      return "RTCAP_ERR_WRONG_STATE";
    case RTCAP_ERR_BUSY:
      return "RTCAP_ERR_BUSY";
    case RTCAP_ERR_CALLBACK:
      return "RTCAP_ERR_CALLBACK";
    case RTCAP_ERR_BUFFER_TOO_SMALL:
      return "RTCAP_ERR_BUFFER_TOO_SMALL";
    case RTCAP_ERR_NO_MEMORY:
      return "RTCAP_ERR_NO_MEMORY";
    case RTCAP_ERR_INTERNAL:
      return "RTCAP_ERR_INTERNAL";
    default:
      return "unknown";
  }
}

const char* rtcap_last_error(void) { return t_last_error.c_str(); }
const char* rtcap_version(void) { return RTCAP_VERSION; }
int rtcap_c_api_version(void) { return RTCAP_C_API_VERSION; }

const char* rtcap_pcap_version(void) {
  try {
    static const std::string version = rtcap::pcap_library_version();
    return version.c_str();
  } catch (...) {
    return "unknown";
  }
}

// ---- config ----

int rtcap_config_new(rtcap_config** out) {
  return guarded("rtcap_config_new", [&]() -> int {
    if (!out) return null_argument("rtcap_config_new", "out");
    *out = nullptr;
    auto state = std::make_shared<ConfigState>();
    *out = reinterpret_cast<rtcap_config*>(configs().add(std::move(state)));
    return RTCAP_OK;
  });
}

int rtcap_config_free(rtcap_config* config) {
  return guarded("rtcap_config_free", [&]() -> int {
    std::shared_ptr<ConfigState> state;
    const int rc = configs().remove(id_of(config), state);
    if (rc == RTCAP_ERR_INVALID_HANDLE) return no_config("rtcap_config_free");
    if (rc == RTCAP_ERR_BUSY)
      return fail(rc,
                  "rtcap_config_free: the config is in use by another thread (rtcap_engine_open?)");
    return RTCAP_OK;
  });
}

int rtcap_config_add_interface(rtcap_config* config, const char* name) {
  return with_config(config, "rtcap_config_add_interface", [&](ConfigState& s) -> int {
    if (!name) return null_argument("rtcap_config_add_interface", "name");
    if (!*name) return refuse("interfaces", "an interface name is empty");
    s.config.interfaces.emplace_back(name);
    return RTCAP_OK;
  });
}

int rtcap_config_set_read_file(rtcap_config* config, const char* path) {
  return with_config(config, "rtcap_config_set_read_file", [&](ConfigState& s) -> int {
    if (!path) return null_argument("rtcap_config_set_read_file", "path");
    s.config.read_file = path;
    return RTCAP_OK;
  });
}

int rtcap_config_set_filter(rtcap_config* config, const char* expression) {
  return with_config(config, "rtcap_config_set_filter", [&](ConfigState& s) -> int {
    if (!expression) return null_argument("rtcap_config_set_filter", "expression");
    s.config.filter = expression;
    return RTCAP_OK;
  });
}

int rtcap_config_set_netns(rtcap_config* config, const char* name) {
  return with_config(config, "rtcap_config_set_netns", [&](ConfigState& s) -> int {
    s.config.netns = name ? name : "";
    return RTCAP_OK;
  });
}

int rtcap_config_set_delivery(rtcap_config* config, int delivery) {
  return with_config(config, "rtcap_config_set_delivery", [&](ConfigState& s) -> int {
    if (delivery != RTCAP_DELIVERY_INLINE && delivery != RTCAP_DELIVERY_THREADED)
      return refuse("delivery",
                    std::to_string(int(delivery)) +
                        " is neither RTCAP_DELIVERY_INLINE nor RTCAP_DELIVERY_THREADED");
    s.config.delivery =
        delivery == RTCAP_DELIVERY_THREADED ? rtcap::Delivery::kThreaded : rtcap::Delivery::kInline;
    return RTCAP_OK;
  });
}

int rtcap_config_set_snaplen(rtcap_config* config, int bytes) {
  return set_number(config, "snaplen", bytes);
}
int rtcap_config_set_promiscuous(rtcap_config* config, int on) {
  return set_number(config, "promiscuous", on != 0 ? 1 : 0);
}
int rtcap_config_set_immediate_mode(rtcap_config* config, int on) {
  return set_number(config, "immediate_mode", on != 0 ? 1 : 0);
}
int rtcap_config_set_reopen(rtcap_config* config, int on) {
  return set_number(config, "reopen", on != 0 ? 1 : 0);
}
int rtcap_config_set_timeout_ms(rtcap_config* config, int timeout_ms) {
  return set_number(config, "timeout_ms", timeout_ms);
}
int rtcap_config_set_buffer_kib(rtcap_config* config, int buffer_kib) {
  return set_number(config, "buffer_kib", buffer_kib);
}
int rtcap_config_set_precision(rtcap_config* config, int precision) {
  return with_config(config, "rtcap_config_set_precision", [&](ConfigState& s) -> int {
    if (precision != RTCAP_PRECISION_MICRO && precision != RTCAP_PRECISION_NANO)
      return refuse("precision", std::to_string(int(precision)) +
                                     " is neither RTCAP_PRECISION_MICRO nor RTCAP_PRECISION_NANO");
    s.config.precision = precision == RTCAP_PRECISION_NANO ? rtcap::TimestampPrecision::kNano
                                                           : rtcap::TimestampPrecision::kMicro;
    return RTCAP_OK;
  });
}
int rtcap_config_set_tstamp_type(rtcap_config* config, const char* name) {
  return with_config(config, "rtcap_config_set_tstamp_type", [&](ConfigState& s) -> int {
    if (!name) return null_argument("rtcap_config_set_tstamp_type", "name");
    s.config.tstamp_type = name;
    return RTCAP_OK;
  });
}
int rtcap_config_set_coalesce_us(rtcap_config* config, int coalesce_us) {
  return set_number(config, "coalesce_us", coalesce_us);
}
int rtcap_config_set_batch_packets(rtcap_config* config, size_t packets) {
  return set_number(config, "batch_packets", packets);
}
int rtcap_config_set_batch_bytes(rtcap_config* config, size_t bytes) {
  return set_number(config, "batch_bytes", bytes);
}
int rtcap_config_set_pool_batches(rtcap_config* config, size_t batches) {
  return set_number(config, "pool_batches", batches);
}
int rtcap_config_set_overflow(rtcap_config* config, int policy) {
  return with_config(config, "rtcap_config_set_overflow", [&](ConfigState& s) -> int {
    if (policy != RTCAP_OVERFLOW_DROP && policy != RTCAP_OVERFLOW_BLOCK)
      return refuse("overflow", std::to_string(int(policy)) +
                                    " is neither RTCAP_OVERFLOW_DROP nor RTCAP_OVERFLOW_BLOCK");
    s.config.overflow = policy == RTCAP_OVERFLOW_BLOCK ? rtcap::OverflowPolicy::kBlock
                                                       : rtcap::OverflowPolicy::kDrop;
    return RTCAP_OK;
  });
}
int rtcap_config_set_max_packets(rtcap_config* config, int64_t packets) {
  return set_number(config, "max_packets", packets);
}
int rtcap_config_set_stats_interval_ms(rtcap_config* config, int interval_ms) {
  return set_number(config, "stats_interval_ms", interval_ms);
}
int rtcap_config_set_mintocopy_bytes(rtcap_config* config, int bytes) {
  return set_number(config, "mintocopy_bytes", bytes);
}
int rtcap_config_set_user_buffer_bytes(rtcap_config* config, int bytes) {
  return set_number(config, "user_buffer_bytes", bytes);
}

int rtcap_config_check_setting(const char* setting, int64_t value) {
  return guarded("rtcap_config_check_setting", [&]() -> int {
    if (!setting) return null_argument("rtcap_config_check_setting", "setting");
    const rtcap::config_table::Setting* s = rtcap::config_table::find(setting);
    if (!s || s->kind == rtcap::config_table::Kind::kText ||
        s->kind == rtcap::config_table::Kind::kTexts)
      return fail(RTCAP_ERR_INVALID_ARGUMENT, std::string("rtcap_config_check_setting: '") +
                                                  setting + "' is not a numeric setting");
    if (std::string why = rtcap::config_table::check_number(*s, value); !why.empty())
      return refuse(s->name, std::move(why));
    return RTCAP_OK;
  });
}

const char* rtcap_setting_name(size_t index) {
  const auto* first = rtcap::config_table::begin();
  return index < std::size_t(rtcap::config_table::end() - first) ? first[index].name : nullptr;
}

int rtcap_setting_describe(const char* setting, int* kind, int64_t* min, int64_t* max,
                           const char** choices, const char** unit, const char** setter) {
  return guarded("rtcap_setting_describe", [&]() -> int {
    if (!setting) return null_argument("rtcap_setting_describe", "setting");
    const rtcap::config_table::Setting* s = rtcap::config_table::find(setting);
    if (!s)
      return fail(RTCAP_ERR_INVALID_ARGUMENT,
                  std::string("rtcap_setting_describe: no setting '") + setting + "'");
    using rtcap::config_table::Kind;
    const bool text = s->kind == Kind::kText || s->kind == Kind::kTexts;
    if (kind) {
      switch (s->kind) {
        case Kind::kNumber:
          *kind = RTCAP_SETTING_NUMBER;
          break;
        case Kind::kFlag:
          *kind = RTCAP_SETTING_FLAG;
          break;
        case Kind::kChoice:
          *kind = RTCAP_SETTING_CHOICE;
          break;
        case Kind::kText:
          *kind = RTCAP_SETTING_TEXT;
          break;
        case Kind::kTexts:
          *kind = RTCAP_SETTING_TEXTS;
          break;
      }
    }
    if (min) *min = text ? 0 : s->min;
    if (max) *max = text ? 0 : s->max;
    if (choices) *choices = s->choices;
    if (unit) *unit = s->unit;
    if (setter) *setter = s->c_setter;
    return RTCAP_OK;
  });
}

int rtcap_setting_applies(const char* setting, const char** applies) {
  return guarded("rtcap_setting_applies", [&]() -> int {
    if (!setting) return null_argument("rtcap_setting_applies", "setting");
    if (!applies) return null_argument("rtcap_setting_applies", "applies");
    const rtcap::config_table::Setting* s = rtcap::config_table::find(setting);
    if (!s)
      return fail(RTCAP_ERR_INVALID_ARGUMENT,
                  std::string("rtcap_setting_applies: no setting '") + setting + "'");
    *applies = s->applies;
    return RTCAP_OK;
  });
}

int rtcap_config_set_number(rtcap_config* config, const char* setting, int64_t value) {
  return guarded("rtcap_config_set_number", [&]() -> int {
    if (!setting) return null_argument("rtcap_config_set_number", "setting");
    const rtcap::config_table::Setting* s = rtcap::config_table::find(setting);
    using rtcap::config_table::Kind;
    if (!s || s->kind == Kind::kText || s->kind == Kind::kTexts)
      return fail(RTCAP_ERR_INVALID_ARGUMENT, std::string("rtcap_config_set_number: '") + setting +
                                                  "' is not a number, flag or choice");
    return set_number(config, s->name, value);
  });
}

const char* rtcap_counter_name(size_t index) {
  const auto all = rtcap::capture_counters();
  return index < all.size() ? all[index].name : nullptr;
}
const char* rtcap_interface_counter_name(size_t index) {
  const auto all = rtcap::interface_counters();
  return index < all.size() ? all[index].name : nullptr;
}

const char* rtcap_last_error_setting(void) { return t_last_setting.c_str(); }
const char* rtcap_last_error_reason(void) { return t_last_reason.c_str(); }

// ---- engine ----

int rtcap_engine_open(const rtcap_config* config, rtcap_engine** out) {
  return guarded("rtcap_engine_open", [&]() -> int {
    if (!out) return null_argument("rtcap_engine_open", "out");
    *out = nullptr;
    auto cfg = configs().find(id_of(config));
    if (!cfg) return no_config("rtcap_engine_open");
    auto opened = rtcap::Engine::open(cfg->config);
    if (!opened) return fail(opened.error());
    auto state = std::make_shared<EngineState>();
    state->engine = std::move(*opened);
    state->chunk.resize(std::max<std::size_t>(1, state->engine->config().batch_packets));
    state->warnings = rtcap::config_table::word(rtcap::detail::warning_texts(*state->engine),
                                                rtcap::config_table::Front::kC);
    *out = reinterpret_cast<rtcap_engine*>(engines().add(std::move(state)));
    return RTCAP_OK;
  });
}

int rtcap_engine_close(rtcap_engine* engine) {
  return guarded("rtcap_engine_close", [&]() -> int {
    // From inside its own callback, as rtcap::Engine destroyed there: the handle goes now, the
    // poll calls the callback no more and frees the engine when it returns. From another thread
    // during a call: refused, or the application would free what a callback still to come uses.
    std::shared_ptr<EngineState> state;
    const int rc = engines().remove(id_of(engine), state, &Delivery::in_callback_of);
    if (rc == RTCAP_ERR_BUSY)
      return fail(rc,
                  "rtcap_engine_close: another thread is inside a call on this engine (a poll "
                  "or a getter): stop the capture, let that call return, then close");
    if (rc != RTCAP_OK) return no_engine("rtcap_engine_close");
    state->closed = true;  // no other thread reads it: only this one can be polling
    state->engine->request_stop();
    state.reset();  // unless the poll holds a copy: joins the capture thread, closes the handles
    return RTCAP_OK;
  });
}

int rtcap_engine_start(rtcap_engine* engine) {
  return with_engine(engine, "rtcap_engine_start", [&](EngineState& s) -> int {
    if (auto started = s.engine->start(); !started)
      return refused("rtcap_engine_start", started.error());
    return RTCAP_OK;
  });
}

int rtcap_engine_poll(rtcap_engine* engine, int64_t timeout_us, rtcap_batch_fn fn, void* user,
                      size_t* delivered) {
  if (delivered) *delivered = 0;
  return with_engine(engine, "rtcap_engine_poll", [&](EngineState& s) -> int {
    if (!fn) return null_argument("rtcap_engine_poll", "fn");
    if (timeout_us < 0)
      return fail(RTCAP_ERR_INVALID_ARGUMENT,
                  "rtcap_engine_poll: timeout_us " + std::to_string(timeout_us) + " is negative");
    Delivery d{&s, fn, user};
    const auto wait = std::chrono::microseconds(std::min(timeout_us, kMaxTimeoutUs));
    if (auto polled = s.engine->poll(wait, &Delivery::trampoline, &d); !polled)
      return refused("rtcap_engine_poll", polled.error());
    if (delivered) *delivered = d.delivered;
    if (const int rc = d.finish("rtcap_engine_poll"); rc != RTCAP_OK) return rc;
    return end_status(s, "rtcap_engine_poll");
  });
}

int rtcap_engine_dispatch(rtcap_engine* engine, rtcap_batch_fn fn, void* user, size_t* delivered) {
  if (delivered) *delivered = 0;
  return with_engine(engine, "rtcap_engine_dispatch", [&](EngineState& s) -> int {
    if (!fn) return null_argument("rtcap_engine_dispatch", "fn");
    Delivery d{&s, fn, user};
    if (auto dispatched = s.engine->dispatch(&Delivery::trampoline, &d); !dispatched)
      return refused("rtcap_engine_dispatch", dispatched.error());
    if (delivered) *delivered = d.delivered;
    if (const int rc = d.finish("rtcap_engine_dispatch"); rc != RTCAP_OK) return rc;
    return end_status(s, "rtcap_engine_dispatch");
  });
}

int rtcap_engine_readiness(rtcap_engine* engine, intptr_t* handles, size_t capacity, size_t* count,
                           int64_t* max_wait_us) {
  return with_engine(engine, "rtcap_engine_readiness", [&](EngineState& s) -> int {
    if (!count) return null_argument("rtcap_engine_readiness", "count");
    if (!max_wait_us) return null_argument("rtcap_engine_readiness", "max_wait_us");
    if (!handles && capacity) return null_argument("rtcap_engine_readiness", "handles");
    if (s.engine->config().delivery != rtcap::Delivery::kInline)
      return not_inline("rtcap_engine_readiness");
    const rtcap::Readiness r = s.engine->readiness();
    *count = r.handles.size();
    *max_wait_us = r.max_wait_us;
    if (capacity < r.handles.size())
      return fail(RTCAP_ERR_BUFFER_TOO_SMALL,
                  "rtcap_engine_readiness: " + std::to_string(r.handles.size()) +
                      " handles to wait on, room for " + std::to_string(capacity) +
                      ": *count says how many");
    std::copy(r.handles.begin(), r.handles.end(), handles);
    return RTCAP_OK;
  });
}

int rtcap_engine_stop(rtcap_engine* engine) {
  return with_engine(engine, "rtcap_engine_stop", [&](EngineState& s) -> int {
    s.engine->request_stop();
    return RTCAP_OK;
  });
}

int rtcap_engine_done(rtcap_engine* engine, int* done) {
  return with_engine(engine, "rtcap_engine_done", [&](EngineState& s) -> int {
    if (!done) return null_argument("rtcap_engine_done", "done");
    *done = s.engine->done() ? 1 : 0;
    return RTCAP_OK;
  });
}

int rtcap_engine_stop_reason(rtcap_engine* engine, rtcap_stop_reason* out) {
  return with_engine(engine, "rtcap_engine_stop_reason", [&](EngineState& s) -> int {
    if (!out) return null_argument("rtcap_engine_stop_reason", "out");
    const rtcap::StopReason r = s.engine->stop_reason();
    // The callback's stop is a request_stop: the engine reports it as requested (or still
    // running until it has acted on it), unless the capture had ended for its own reason.
    if (s.callback_stopped.load() &&
        (r == rtcap::StopReason::kRunning || r == rtcap::StopReason::kRequested)) {
      *out = RTCAP_STOP_CALLBACK;
      return RTCAP_OK;
    }
    switch (r) {
      case rtcap::StopReason::kRunning:
        *out = RTCAP_STOP_RUNNING;
        break;
      case rtcap::StopReason::kRequested:
        *out = RTCAP_STOP_REQUESTED;
        break;
      case rtcap::StopReason::kCountReached:
        *out = RTCAP_STOP_COUNT_REACHED;
        break;
      case rtcap::StopReason::kEndOfFile:
        *out = RTCAP_STOP_END_OF_FILE;
        break;
      case rtcap::StopReason::kFailed:
        *out = RTCAP_STOP_FAILED;
        break;
    }
    return RTCAP_OK;
  });
}

int rtcap_engine_failure(rtcap_engine* engine) {
  return with_engine(engine, "rtcap_engine_failure", [&](EngineState& s) -> int {
    if (auto f = s.engine->failure()) return fail(*f);
    return RTCAP_OK;
  });
}

int rtcap_engine_warning_count(rtcap_engine* engine, size_t* count) {
  return with_engine(engine, "rtcap_engine_warning_count", [&](EngineState& s) -> int {
    if (!count) return null_argument("rtcap_engine_warning_count", "count");
    *count = s.warnings.size();
    return RTCAP_OK;
  });
}

int rtcap_engine_warning(rtcap_engine* engine, size_t index, const char** message) {
  return with_engine(engine, "rtcap_engine_warning", [&](EngineState& s) -> int {
    return warning_at("rtcap_engine_warning", s.warnings, index, message);
  });
}

int rtcap_engine_warning_text(rtcap_engine* engine, size_t index, const char** text) {
  return with_engine(engine, "rtcap_engine_warning_text", [&](EngineState& s) -> int {
    return warning_at("rtcap_engine_warning_text", rtcap::detail::warning_texts(*s.engine), index,
                      text);
  });
}

int rtcap_engine_stats(rtcap_engine* engine, rtcap_stats* out) {
  return with_engine(engine, "rtcap_engine_stats", [&](EngineState& s) -> int {
    if (!out) return null_argument("rtcap_engine_stats", "out");
    if (out->size < sizeof(out->size))
      return fail(RTCAP_ERR_INVALID_ARGUMENT, "rtcap_engine_stats: out->size is " +
                                                  std::to_string(out->size) +
                                                  ": set it to sizeof(rtcap_stats)");
    const rtcap::CaptureStats c = s.engine->stats();
    rtcap_stats v{};
    rtcap::capi::fill_stats(c, v);
    const std::size_t n = std::min(out->size, sizeof v);
    v.size = n;
    std::memcpy(out, &v, n);
    return RTCAP_OK;
  });
}

int rtcap_engine_interface_count(rtcap_engine* engine, size_t* count) {
  return with_engine(engine, "rtcap_engine_interface_count", [&](EngineState& s) -> int {
    if (!count) return null_argument("rtcap_engine_interface_count", "count");
    *count = s.engine->interface_count();
    return RTCAP_OK;
  });
}

int rtcap_engine_interface_info(rtcap_engine* engine, size_t index, rtcap_interface_info* out) {
  return with_engine(engine, "rtcap_engine_interface_info", [&](EngineState& s) -> int {
    if (!out) return null_argument("rtcap_engine_interface_info", "out");
    if (out->size < sizeof(out->size))
      return fail(RTCAP_ERR_INVALID_ARGUMENT, "rtcap_engine_interface_info: out->size is " +
                                                  std::to_string(out->size) +
                                                  ": set it to sizeof(rtcap_interface_info)");
    const std::size_t count = s.engine->interface_count();
    if (index >= count)
      return fail(RTCAP_ERR_INVALID_ARGUMENT, "rtcap_engine_interface_info: index " +
                                                  std::to_string(index) + " but there are " +
                                                  std::to_string(count));
    const rtcap::InterfaceInfo i = s.engine->interface_info(index);
    rtcap_interface_info v{};
    // A later index is an interface opened again under the same name: the name of the one
    // opened first lives as long as the engine.
    for (const rtcap::InterfaceInfo& opened : s.engine->interfaces())
      if (opened.name == i.name) {
        v.name = opened.name.c_str();
        break;
      }
    v.linktype = i.linktype;
    v.snaplen = i.snaplen;
    v.precision = i.precision == rtcap::TimestampPrecision::kNano ? RTCAP_PRECISION_NANO
                                                                  : RTCAP_PRECISION_MICRO;
    const rtcap::CaptureStats c = s.engine->stats();
    if (index < c.interfaces.size()) {
      rtcap::capi::fill_interface(c.interfaces[index], v);
    } else {
      for (const rtcap::InterfaceStats& is : c.interfaces)
        if (is.name == i.name) {
          rtcap::capi::fill_interface(is, v);
          break;
        }
    }
    const std::size_t n = std::min(out->size, sizeof v);
    v.size = n;
    std::memcpy(out, &v, n);
    return RTCAP_OK;
  });
}

}  // extern "C"

// ---- stream analysis (rtcap/analysis.hpp) ----

namespace {

// Calls take turns on the mutex; recursive, so that a callback of an rtcap_audio on this tracker
// (which runs with it held) can take a snapshot.
struct TrackerState {
  explicit TrackerState(rtcap::StreamTrackerConfig config) : tracker(std::move(config)) {}
  std::recursive_mutex mutex;
  rtcap::StreamTracker tracker;
};

Registry<TrackerState>& trackers() {
  static Registry<TrackerState> r;
  return r;
}

int no_tracker(const char* function) {
  return fail(RTCAP_ERR_INVALID_HANDLE,
              std::string(function) +
                  ": not an open rtcap_tracker (null, closed, or never opened by "
                  "rtcap_tracker_open)");
}

// A field of rtcap_tracker_options that cannot be used: named for bindings.
int bad_field(const char* function, const char* field, const std::string& reason) {
  fail(RTCAP_ERR_BAD_CONFIG, std::string(function) + ": " + field + ": " + reason);
  t_last_setting = field;
  t_last_reason = reason;
  return RTCAP_ERR_BAD_CONFIG;
}
// A library refusal: a field's (named for bindings, rtcap_last_error_setting) or another.
int refused_field(const char* function, const rtcap::Error& error) {
  if (error.setting.empty()) return refused(function, error);
  return bad_field(function, error.setting.c_str(), error.reason);
}

template <class F>
int with_tracker(rtcap_tracker* handle, const char* function, F&& body) noexcept {
  return guarded(function, [&]() -> int {
    auto state = trackers().find(id_of(handle));
    if (!state) return no_tracker(function);
    std::lock_guard lock(state->mutex);
    return body(state->tracker);
  });
}

// The C convention for text: all of it with its NUL, or RTCAP_ERR_BUFFER_TOO_SMALL and nothing.
int give_text(const char* function, const std::string& text, char* buf, std::size_t size,
              std::size_t* needed) {
  if (needed) *needed = text.size() + 1;
  if (size < text.size() + 1)
    return fail(RTCAP_ERR_BUFFER_TOO_SMALL,
                std::string(function) + ": the text takes " + std::to_string(text.size() + 1) +
                    " bytes with its NUL; the buffer has " + std::to_string(size));
  std::memcpy(buf, text.c_str(), text.size() + 1);
  return RTCAP_OK;
}

// Each packet of a batch with its link type: the one given for all, or the entry of its
// interface index (-1 past the end: the tracker counts it as not parsed, as the C++ Span add).
struct LinkTypes {
  int all = 0;
  const int* by_interface = nullptr;
  std::size_t count = 0;
  [[nodiscard]] int of(const rtcap_packet& p) const noexcept {
    if (by_interface == nullptr) return all;
    return p.interface_index < count ? by_interface[p.interface_index] : -1;
  }
};
template <class F>
void each_packet(const rtcap_batch& batch, const LinkTypes& link, F&& f) {
  for (std::size_t i = 0; i < batch.count; ++i) {
    const rtcap_packet* p = rtcap_batch_packet(&batch, i);
    f(rtcap::PacketView{p->ts_ns, p->wire_len, p->interface_index, {p->data, p->caplen}},
      link.of(*p));
  }
}

// A batch the application built itself: every packet it names must be readable, or the batch is
// refused whole before any packet is used (a NULL data with a length would be read).
int bad_batch(const char* fn, const rtcap_batch& batch) {
  if (batch.count == 0) return RTCAP_OK;
  if (batch.packets == nullptr)
    return fail(RTCAP_ERR_INVALID_ARGUMENT, std::string(fn) + ": batch->packets is NULL and " +
                                                "batch->count is " + std::to_string(batch.count));
  if (batch.packet_size < offsetof(rtcap_packet, reserved16))
    return fail(RTCAP_ERR_INVALID_ARGUMENT,
                std::string(fn) + ": batch->packet_size is " + std::to_string(batch.packet_size) +
                    ", less than the rtcap_packet fields it must hold (sizeof(rtcap_packet))");
  for (std::size_t i = 0; i < batch.count; ++i) {
    const rtcap_packet* p = rtcap_batch_packet(&batch, i);
    if (p->data == nullptr && p->caplen > 0)
      return fail(RTCAP_ERR_INVALID_ARGUMENT, std::string(fn) + ": packet " + std::to_string(i) +
                                                  " of the batch has data NULL" + " and caplen " +
                                                  std::to_string(p->caplen) +
                                                  "; nothing of the batch was used");
  }
  return RTCAP_OK;
}

// A link type given for the whole batch, in the library's range (analysis.hpp).
int bad_linktype(const char* fn, const LinkTypes& link) {
  if (link.by_interface != nullptr || rtcap::linktype_in_range(link.all)) return RTCAP_OK;
  return bad_field(fn, "linktype",
                   std::to_string(link.all) + " is not a link type (0 to " +
                       std::to_string(rtcap::kMaxLinktype) + ", pcap_datalink())");
}

int tracker_add(const char* fn, rtcap_tracker* tracker, const rtcap_batch* batch,
                const LinkTypes& link) {
  if (!batch) return null_argument(fn, "batch");
  if (const int rc = bad_linktype(fn, link)) return rc;
  if (const int rc = bad_batch(fn, *batch)) return rc;
  return with_tracker(tracker, fn, [&](rtcap::StreamTracker& t) -> int {
    each_packet(*batch, link, [&](const rtcap::PacketView& v, int lt) { t.add(v, lt); });
    return RTCAP_OK;
  });
}
}  // namespace

extern "C" {

int rtcap_tracker_options_init(rtcap_tracker_options* options) {
  if (!options) return null_argument("rtcap_tracker_options_init", "options");
  const rtcap::StreamTrackerConfig d;
  *options = rtcap_tracker_options{};
  options->size = sizeof *options;
  options->max_streams = d.max_streams;
  options->default_clock_rate = d.default_clock_rate;
  return RTCAP_OK;
}

int rtcap_tracker_open(const rtcap_tracker_options* options, rtcap_tracker** out) {
  constexpr const char* fn = "rtcap_tracker_open";
  return guarded(fn, [&]() -> int {
    if (!out) return null_argument(fn, "out");
    *out = nullptr;
    rtcap::StreamTrackerConfig config;
    if (options) {
      if (options->size < sizeof *options)
        return fail(RTCAP_ERR_INVALID_ARGUMENT,
                    std::string(fn) +
                        ": options->size is not sizeof(rtcap_tracker_options): fill it with "
                        "rtcap_tracker_options_init");
      if (options->sdp) {
        std::string why = rtcap::parse_sdp_streams(options->sdp, "application", config.sdp);
        if (!why.empty()) return bad_field(fn, "sdp", why);
      }
      if (options->audio_format_count > 0 && !options->audio_formats)
        return null_argument(fn, "options->audio_formats");
      for (std::size_t i = 0; i < options->audio_format_count; ++i) {
        const char* text = options->audio_formats[i];
        if (!text) return null_argument(fn, "an entry of options->audio_formats");
        rtcap::FormatOption f;
        if (std::string e = rtcap::parse_format_option(text, f); !e.empty())
          return bad_field(fn, "audio_formats", e);
        config.audio_formats.push_back(std::move(f));
      }
      config.max_streams = options->max_streams;
      config.default_clock_rate = options->default_clock_rate;
    }
    if (std::optional<rtcap::Error> e = rtcap::validate(config))
      return bad_field(fn, e->setting.c_str(), e->reason);
    *out = reinterpret_cast<rtcap_tracker*>(
        trackers().add(std::make_shared<TrackerState>(std::move(config))));
    return RTCAP_OK;
  });
}

int rtcap_tracker_close(rtcap_tracker* tracker) {
  return guarded("rtcap_tracker_close", [&]() -> int {
    std::shared_ptr<TrackerState> state;
    const int rc = trackers().remove(id_of(tracker), state);
    if (rc == RTCAP_ERR_INVALID_HANDLE) return no_tracker("rtcap_tracker_close");
    if (rc == RTCAP_ERR_BUSY)
      return fail(rc,
                  "rtcap_tracker_close: an rtcap_audio opened on it is still open (close it "
                  "first), or another call on this rtcap_tracker is running");
    return RTCAP_OK;
  });
}

int rtcap_tracker_add_batch(rtcap_tracker* tracker, const rtcap_batch* batch, int linktype) {
  return tracker_add("rtcap_tracker_add_batch", tracker, batch, LinkTypes{linktype});
}

int rtcap_tracker_add_batch_by_interface(rtcap_tracker* tracker, const rtcap_batch* batch,
                                         const int* linktype_by_interface, size_t count) {
  constexpr const char* fn = "rtcap_tracker_add_batch_by_interface";
  if (!linktype_by_interface) return null_argument(fn, "linktype_by_interface");
  return tracker_add(fn, tracker, batch, LinkTypes{0, linktype_by_interface, count});
}

int rtcap_tracker_snapshot_json(rtcap_tracker* tracker, char* buf, size_t size, size_t* needed) {
  constexpr const char* fn = "rtcap_tracker_snapshot_json";
  if (!buf && size > 0) return null_argument(fn, "buf");
  return with_tracker(tracker, fn, [&](rtcap::StreamTracker& t) -> int {
    return give_text(fn, rtcap::to_json(t.snapshot()), buf, size, needed);
  });
}

int rtcap_tracker_table(rtcap_tracker* tracker, size_t width, char* buf, size_t size,
                        size_t* needed) {
  constexpr const char* fn = "rtcap_tracker_table";
  if (!buf && size > 0) return null_argument(fn, "buf");
  return with_tracker(tracker, fn, [&](rtcap::StreamTracker& t) -> int {
    return give_text(fn, rtcap::format_stream_table(t.snapshot(), width), buf, size, needed);
  });
}

}  // extern "C"

// ---- live audio (rtcap/audio.hpp) ----

namespace {

// The C view of a stream, kept by the library: its strings are its own, so that they outlive the
// AudioStreamInfo they were read from (rtcap_audio_levels reads a copy freed at its return).
struct CStream {
  std::string src, dst, source, session_name, redundancy_group;
  rtcap_audio_stream c{};
};

struct AudioState {
  // Its own tracker (rtcap_audio_open) or one shared with an rtcap_tracker (rtcap_audio_open_on).
  explicit AudioState(std::shared_ptr<TrackerState> t) : shared(std::move(t)) {}
  std::shared_ptr<TrackerState> shared;
  rtcap::StreamTracker& tracker = shared->tracker;
  rtcap::AudioReceiver receiver{tracker};
  std::atomic<bool> in_call{false};
  // Per subscription and stream id: the C stream record (cold: made at a stream's start).
  std::unordered_map<std::uint64_t, std::unique_ptr<CStream>> streams;
  std::vector<rtcap_channel_levels> levels;
};

Registry<AudioState>& audios() {
  static Registry<AudioState> r;
  return r;
}

const rtcap_audio_stream* c_stream(AudioState& a, const rtcap::AudioStreamInfo& info) {
  auto& slot = a.streams[info.id];
  if (!slot) slot = std::make_unique<CStream>();
  CStream& s = *slot;
  s.src = info.key.src.to_string();
  s.dst = info.key.dst.to_string();
  s.c.id = info.id;
  s.c.src = s.src.c_str();
  s.c.dst = s.dst.c_str();
  s.c.src_port = info.key.src_port;
  s.c.dst_port = info.key.dst_port;
  s.c.ssrc = info.key.ssrc;
  s.c.interface_index = info.key.interface_index;
  s.c.payload_type = info.payload_type;
  s.c.bits = info.bits;
  s.c.rate_hz = info.rate_hz;
  s.c.channels = info.channels;
  s.source = info.source;
  s.session_name = info.session_name;
  s.redundancy_group = info.redundancy_group;
  s.c.source = s.source.c_str();
  s.c.session_name = s.session_name.c_str();
  s.c.redundancy_group = s.redundancy_group.c_str();
  s.c.redundancy_leg = info.redundancy_leg;
  return &s.c;
}

rtcap_channel_levels c_levels(const rtcap::ChannelLevels& l) {
  return rtcap_channel_levels{l.seconds,        l.peak_dbfs, l.rms_dbfs,       l.silent_seconds,
                              l.silent ? 1 : 0, l.silences,  l.clipped_samples};
}

// The rtcap_audio this thread is inside a call on: a call on it again is from its own callback.
thread_local const AudioState* t_audio_calling = nullptr;

template <class F>
int with_audio(rtcap_audio* handle, const char* function, F&& body) noexcept {
  return guarded(function, [&]() -> int {
    auto state = audios().find(id_of(handle));
    if (!state)
      return fail(RTCAP_ERR_INVALID_HANDLE,
                  std::string(function) +
                      ": not an open rtcap_audio (null, closed, or never opened by "
                      "rtcap_audio_open)");
    if (state->in_call.exchange(true))
      return fail(RTCAP_ERR_BUSY, std::string(function) + ": " +
                                      (t_audio_calling == state.get()
                                           ? rtcap::detail::kAudioCallFromCallback
                                           : "another call on this rtcap_audio is running "
                                             "on another thread"));
    struct Leave {
      std::atomic<bool>& f;
      const AudioState*& calling;
      const AudioState* before;
      ~Leave() {
        calling = before;
        f.store(false);
      }
    } leave{state->in_call, t_audio_calling, t_audio_calling};
    t_audio_calling = state.get();
    std::lock_guard lock(state->shared->mutex);
    return body(*state);
  });
}

int audio_add(const char* fn, rtcap_audio* audio, const rtcap_batch* batch, const LinkTypes& link) {
  if (!batch) return null_argument(fn, "batch");
  if (const int rc = bad_linktype(fn, link)) return rc;
  if (const int rc = bad_batch(fn, *batch)) return rc;
  return with_audio(audio, fn, [&](AudioState& a) -> int {
    each_packet(*batch, link, [&](const rtcap::PacketView& v, int lt) {
      a.tracker.add(v, lt);
      a.receiver.add(v, lt);
    });
    return RTCAP_OK;
  });
}

}  // namespace

int rtcap_audio_open(rtcap_audio** out) {
  return guarded("rtcap_audio_open", [&]() -> int {
    if (!out) return null_argument("rtcap_audio_open", "out");
    *out = nullptr;
    *out = reinterpret_cast<rtcap_audio*>(audios().add(std::make_shared<AudioState>(
        std::make_shared<TrackerState>(rtcap::StreamTrackerConfig{}))));
    return RTCAP_OK;
  });
}

int rtcap_audio_open_on(rtcap_tracker* tracker, rtcap_audio** out) {
  return guarded("rtcap_audio_open_on", [&]() -> int {
    if (!out) return null_argument("rtcap_audio_open_on", "out");
    *out = nullptr;
    auto shared = trackers().find(id_of(tracker));
    if (!shared) return no_tracker("rtcap_audio_open_on");
    *out = reinterpret_cast<rtcap_audio*>(
        audios().add(std::make_shared<AudioState>(std::move(shared))));
    return RTCAP_OK;
  });
}

int rtcap_audio_close(rtcap_audio* audio) {
  return guarded("rtcap_audio_close", [&]() -> int {
    std::shared_ptr<AudioState> state;
    const int rc = audios().remove(id_of(audio), state);
    if (rc == RTCAP_ERR_INVALID_HANDLE)
      return fail(rc, "rtcap_audio_close: not an open rtcap_audio (null, closed, or never opened)");
    if (rc == RTCAP_ERR_BUSY)
      return fail(rc, "rtcap_audio_close: another call on this rtcap_audio is running");
    return RTCAP_OK;
  });
}

// The struct as C API version 4 laid it out ended before on_buffer: a program built then passes
// that much memory to rtcap_audio_subscription_init, which must write no more.
constexpr std::size_t kSubscriptionV4Size = offsetof(rtcap_audio_subscription, on_buffer);

int(rtcap_audio_subscription_init)(rtcap_audio_subscription* sub) {
  return rtcap_audio_subscription_init_sized(sub, kSubscriptionV4Size);
}

int rtcap_audio_subscription_init_sized(rtcap_audio_subscription* sub, size_t size) {
  constexpr const char* fn = "rtcap_audio_subscription_init_sized";
  if (!sub) return null_argument(fn, "sub");
  if (size < kSubscriptionV4Size)
    return fail(RTCAP_ERR_INVALID_ARGUMENT,
                std::string(fn) + ": size " + std::to_string(size) +
                    " is less than any rtcap_audio_subscription: pass sizeof *sub");
  // The caller's memory is `size` bytes, the library knows its own struct: the prefix both know
  // is filled, the rest zeroed, and .size says how much this library reads.
  const rtcap::AudioSubscription d;
  rtcap_audio_subscription c{};
  c.size = std::min(size, sizeof c);
  c.dst_port = d.selector.dst_port;
  c.payload_type = d.selector.payload_type;
  c.format = RTCAP_SAMPLES_FLOAT32;
  c.layout = RTCAP_CHANNELS_INTERLEAVED;
  c.loss = RTCAP_LOSS_SILENCE;
  c.frames_per_delivery = d.frames_per_delivery;
  c.reorder_packets = d.reorder_packets;
  c.max_payload_bytes = d.max_payload_bytes;
  c.max_channels = d.max_channels;
  c.max_streams = d.max_streams;
  c.end_after_ms = d.end_after_ms;
  c.levels = d.levels.enabled ? 1 : 0;
  c.silence_threshold_dbfs = d.levels.silence_threshold_dbfs;
  c.silence_ms = d.levels.silence_ms;
  std::memset(static_cast<void*>(sub), 0, size);
  std::memcpy(static_cast<void*>(sub), &c, c.size);
  return RTCAP_OK;
}

int rtcap_audio_subscribe(rtcap_audio* audio, const rtcap_audio_subscription* c, int* id) {
  constexpr const char* fn = "rtcap_audio_subscribe";
  if (!c) return null_argument(fn, "sub");
  if (!id) return null_argument(fn, "id");
  // A program built before on_buffer passes the struct without it: not a byte past c->size is
  // read.
  if (c->size < kSubscriptionV4Size)
    return fail(RTCAP_ERR_INVALID_ARGUMENT,
                "rtcap_audio_subscribe: sub->size is not sizeof(rtcap_audio_subscription): "
                "fill it with rtcap_audio_subscription_init");
  const rtcap_audio_buffer_fn on_buffer =
      c->size >= kSubscriptionV4Size + sizeof c->on_buffer ? c->on_buffer : nullptr;
  return with_audio(audio, fn, [&](AudioState& a) -> int {
    rtcap::AudioSubscription s;
    const auto address = [&](const char* text, rtcap::IpAddress& out, const char* name) {
      if (text == nullptr || *text == '\0') return true;
      if (out.parse(text)) return true;
      bad_field(fn, name, std::string("'") + text + "' is not an IPv4 or IPv6 address");
      return false;
    };
    if (c->session_name) s.selector.session_name = c->session_name;
    if (!address(c->dst, s.selector.dst, "dst") || !address(c->src, s.selector.src, "src"))
      return RTCAP_ERR_BAD_CONFIG;
    s.selector.dst_port = c->dst_port;
    s.selector.has_ssrc = c->has_ssrc != 0;
    s.selector.ssrc = c->ssrc;
    s.selector.payload_type = c->payload_type;
    if (c->sdp) s.sdp_text = c->sdp;  // the library refuses one without m=
    // The C enums are ints: a value outside them is refused, not read as the default.
    if (c->format != RTCAP_SAMPLES_FLOAT32 && c->format != RTCAP_SAMPLES_INT32)
      return bad_field(fn, "format",
                       std::to_string(c->format) +
                           " is not an rtcap_sample_format (RTCAP_SAMPLES_FLOAT32 or _INT32)");
    if (c->layout != RTCAP_CHANNELS_INTERLEAVED && c->layout != RTCAP_CHANNELS_PLANAR)
      return bad_field(
          fn, "layout",
          std::to_string(c->layout) +
              " is not an rtcap_channel_layout (RTCAP_CHANNELS_INTERLEAVED or _PLANAR)");
    if (c->loss != RTCAP_LOSS_SILENCE && c->loss != RTCAP_LOSS_GAP_ONLY)
      return bad_field(
          fn, "loss",
          std::to_string(c->loss) + " is not an rtcap_loss_fill (RTCAP_LOSS_SILENCE or _GAP_ONLY)");
    s.format = c->format == RTCAP_SAMPLES_INT32 ? rtcap::SampleFormat::kInt32
                                                : rtcap::SampleFormat::kFloat32;
    s.layout = c->layout == RTCAP_CHANNELS_PLANAR ? rtcap::ChannelLayout::kPlanar
                                                  : rtcap::ChannelLayout::kInterleaved;
    s.loss = c->loss == RTCAP_LOSS_GAP_ONLY ? rtcap::LossFill::kGapOnly : rtcap::LossFill::kSilence;
    s.frames_per_delivery = c->frames_per_delivery;
    s.reorder_packets = c->reorder_packets;
    s.max_payload_bytes = c->max_payload_bytes;
    s.max_channels = c->max_channels;
    s.max_streams = c->max_streams;
    s.end_after_ms = c->end_after_ms;
    s.levels.enabled = c->levels != 0;
    s.levels.silence_threshold_dbfs = c->silence_threshold_dbfs;
    s.levels.silence_ms = c->silence_ms;
    AudioState* state = &a;
    if (on_buffer) {
      s.buffer = [state, f = on_buffer, user = c->user](const rtcap::AudioStreamInfo& info,
                                                        std::size_t samples) {
        return f(user, c_stream(*state, info), samples);
      };
    }
    if (c->on_audio) {
      s.on_audio = [state, f = c->on_audio, user = c->user](const rtcap::AudioBlock& b) {
        rtcap_audio_block cb{};
        cb.size = sizeof cb;
        cb.stream = c_stream(*state, *b.stream);
        cb.format =
            b.format == rtcap::SampleFormat::kInt32 ? RTCAP_SAMPLES_INT32 : RTCAP_SAMPLES_FLOAT32;
        cb.layout = b.layout == rtcap::ChannelLayout::kPlanar ? RTCAP_CHANNELS_PLANAR
                                                              : RTCAP_CHANNELS_INTERLEAVED;
        cb.data = b.data;
        cb.frames = b.frames;
        cb.channels = b.channels;
        cb.frame_stride = b.frame_stride;
        cb.channel_stride = b.channel_stride;
        cb.rtp_timestamp = b.rtp_timestamp;
        cb.capture_ns = b.capture_ns;
        cb.first_frame = b.first_frame;
        cb.silence_frames = b.silence_frames;
        f(user, &cb);
      };
    }
    // Always: a stream's C record goes with its end.
    {
      s.on_event = [state, f = c->on_event, user = c->user](const rtcap::AudioEvent& e) {
        if (f == nullptr) {
          if (e.kind == rtcap::AudioEvent::Kind::kEnd) state->streams.erase(e.stream->id);
          return;
        }
        rtcap_audio_event ce{};
        ce.size = sizeof ce;
        ce.kind = static_cast<int>(e.kind);
        ce.stream = c_stream(*state, *e.stream);
        ce.gap_rtp_timestamp = e.gap_rtp_timestamp;
        ce.gap_first_frame = e.gap_first_frame;
        ce.gap_frames = e.gap_frames;
        ce.gap_first_seq = e.gap_first_seq;
        ce.gap_packets = e.gap_packets;
        ce.gap_filled = e.gap_filled ? 1 : 0;
        ce.why = e.why;
        if (e.levels != nullptr) {
          state->levels.resize(static_cast<std::size_t>(e.stream->channels));
          for (std::size_t i = 0; i < state->levels.size(); ++i)
            state->levels[i] = c_levels(e.levels[i]);
          ce.levels = state->levels.data();
        }
        f(user, &ce);
        if (e.kind == rtcap::AudioEvent::Kind::kEnd || e.kind == rtcap::AudioEvent::Kind::kNotTaken)
          state->streams.erase(e.stream->id);
      };
    }
    auto r = a.receiver.subscribe(std::move(s));
    if (!r) return refused_field(fn, r.error());  // named as the C struct names the field
    *id = *r;
    return RTCAP_OK;
  });
}

int rtcap_audio_unsubscribe(rtcap_audio* audio, int id) {
  return with_audio(audio, "rtcap_audio_unsubscribe", [&](AudioState& a) -> int {
    if (auto r = a.receiver.unsubscribe(id); !r)
      return refused_field("rtcap_audio_unsubscribe", r.error());
    return RTCAP_OK;
  });
}

int rtcap_audio_add_batch(rtcap_audio* audio, const rtcap_batch* batch, int linktype) {
  return audio_add("rtcap_audio_add_batch", audio, batch, LinkTypes{linktype});
}

int rtcap_audio_add_batch_by_interface(rtcap_audio* audio, const rtcap_batch* batch,
                                       const int* linktype_by_interface, size_t count) {
  constexpr const char* fn = "rtcap_audio_add_batch_by_interface";
  if (!linktype_by_interface) return null_argument(fn, "linktype_by_interface");
  return audio_add(fn, audio, batch, LinkTypes{0, linktype_by_interface, count});
}

int rtcap_audio_expire(rtcap_audio* audio, int64_t now_ns) {
  return with_audio(audio, "rtcap_audio_expire", [&](AudioState& a) -> int {
    a.receiver.expire(now_ns);
    return RTCAP_OK;
  });
}

int rtcap_audio_finish(rtcap_audio* audio) {
  return with_audio(audio, "rtcap_audio_finish", [&](AudioState& a) -> int {
    a.receiver.finish();
    return RTCAP_OK;
  });
}

int rtcap_audio_stats_get(rtcap_audio* audio, int id, rtcap_audio_stats* out) {
  if (!out) return null_argument("rtcap_audio_stats_get", "out");
  return with_audio(audio, "rtcap_audio_stats_get", [&](AudioState& a) -> int {
    const rtcap::Result<rtcap::AudioSubscriptionStats> r = a.receiver.stats(id);
    if (!r) return refused_field("rtcap_audio_stats_get", r.error());
    const rtcap::AudioSubscriptionStats& s = *r;
    rtcap_audio_stats c{};
    c.size = std::min(out->size, sizeof c);
    c.streams = s.streams;
    c.streams_not_taken = s.streams_not_taken;
    c.packets = s.packets;
    c.frames = s.frames;
    c.silence_frames = s.silence_frames;
    c.gaps = s.gaps;
    c.lost_packets = s.lost_packets;
    c.late_or_duplicate = s.late_or_duplicate;
    c.malformed = s.malformed;
    c.discontinuities = s.discontinuities;
    c.callback_exceptions = s.callback_exceptions;
    c.own_buffer_deliveries = s.own_buffer_deliveries;
    std::memcpy(out, &c, c.size);
    return RTCAP_OK;
  });
}

int rtcap_audio_levels(rtcap_audio* audio, int id, const rtcap_audio_stream** streams,
                       size_t capacity, size_t* stream_count, rtcap_channel_levels* levels,
                       size_t level_capacity, size_t* level_count) {
  constexpr const char* fn = "rtcap_audio_levels";
  if (!stream_count) return null_argument(fn, "stream_count");
  if (!level_count) return null_argument(fn, "level_count");
  if (!streams && capacity) return null_argument(fn, "streams");
  if (!levels && level_capacity) return null_argument(fn, "levels");
  return with_audio(audio, fn, [&](AudioState& a) -> int {
    const rtcap::Result<std::vector<rtcap::AudioStreamLevels>> r = a.receiver.levels(id);
    if (!r) return refused_field(fn, r.error());
    std::size_t channels = 0;
    for (const rtcap::AudioStreamLevels& l : *r) channels += l.channels.size();
    *stream_count = r->size();
    *level_count = channels;
    if (r->size() > capacity || channels > level_capacity)
      return fail(RTCAP_ERR_BUFFER_TOO_SMALL,
                  std::string(fn) + ": " + std::to_string(r->size()) + " streams and " +
                      std::to_string(channels) + " channels do not fit in capacity " +
                      std::to_string(capacity) + " and level_capacity " +
                      std::to_string(level_capacity) + ": call again with more");
    std::size_t k = 0;
    for (std::size_t i = 0; i < r->size(); ++i) {
      const rtcap::AudioStreamLevels& l = (*r)[i];
      streams[i] = c_stream(a, l.stream);
      for (const rtcap::ChannelLevels& c : l.channels) levels[k++] = c_levels(c);
    }
    return RTCAP_OK;
  });
}
