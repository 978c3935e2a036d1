/* rtcap.h: the C interface of librtcap. C99 and C++; for C, C#, Rust, Python (python/rtcap.py).
 *
 *   rtcap_config* config = NULL;
 *   rtcap_engine* engine = NULL;
 *   rtcap_config_new(&config);
 *   rtcap_config_add_interface(config, "eth0");
 *   rtcap_config_set_filter(config, "udp portrange 5004-5100");
 *   if (rtcap_engine_open(config, &engine) != RTCAP_OK) {
 *     fprintf(stderr, "%s\n", rtcap_last_error());   // one line: the thing and the fix
 *     return 1;
 *   }
 *   rtcap_config_free(config);                       // the engine keeps its own copy
 *   int st;
 *   while ((st = rtcap_engine_poll(engine, 100000, on_batch, &app, NULL)) == RTCAP_OK) {}
 *   if (st != RTCAP_DONE) fprintf(stderr, "%s\n", rtcap_last_error());
 *   rtcap_stats s = {0};
 *   s.size = sizeof s;
 *   rtcap_engine_stats(engine, &s);    // loss: s.kernel_dropped, s.app_dropped_packets
 *   rtcap_engine_close(engine);
 *
 * The layer is thin: every function maps onto rtcap::Engine (rtcap/engine.hpp) and says which.
 * docs/EMBEDDING.md explains the inline and threaded delivery and which counters mean loss.
 *
 * Rules that hold for every function:
 * - Every function returns a status: RTCAP_OK (0), a positive "worked, and ..." code, or a negative
 *   error code. After an error, rtcap_last_error() gives the one-line message on that thread.
 * - Structs the library fills: zero them ({0}) and set .size = sizeof before the call.
 * - No C++ exception leaves the library, and an exception thrown by a C++ batch callback is
 *   caught (RTCAP_ERR_CALLBACK). Out of memory is RTCAP_ERR_NO_MEMORY.
 * - A handle is never dereferenced: a null, closed or never-opened handle gives
 *   RTCAP_ERR_INVALID_HANDLE, never a crash; closing twice is that error the second time.
 * - ABI: within SONAME librtcap.so.1 functions are added, never changed or removed; structs the
 *   library fills start with a size field (set it to sizeof before the call), structs it hands
 *   out carry their stride. Enum values are never renumbered.
 */
#ifndef RTCAP_RTCAP_H
#define RTCAP_RTCAP_H

#include <stddef.h>
#include <stdint.h>

#define RTCAP_C_API_VERSION \
  5 /* bumped when functions are added; rtcap_c_api_version() at run time */

/* As RTCAP_API in rtcap/export.hpp: MinGW exports the API from rtcap.dll (dllexport while it is
   built, dllimport for its users, nothing when linking the static library); MSVC exports every
   symbol (WINDOWS_EXPORT_ALL_SYMBOLS). */
#if defined(_WIN32)
#if defined(RTCAP_STATIC_DEFINE) || (defined(_MSC_VER) && !defined(__clang__))
#define RTCAP_C_API
#elif defined(RTCAP_BUILDING)
#define RTCAP_C_API __declspec(dllexport)
#else
#define RTCAP_C_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define RTCAP_C_API __attribute__((visibility("default")))
#else
#define RTCAP_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes ---------------------------------------------------------------------------- */
typedef enum rtcap_status {
  RTCAP_OK = 0,
  RTCAP_DONE = 1, /* poll/dispatch: capture has stopped and every packet was delivered */

  /* Opening and capturing (rtcap::ErrorCode). */
  RTCAP_ERR_NO_SUCH_DEVICE = -1, /* the interface does not exist */
  RTCAP_ERR_PERMISSION = -2,     /* no CAP_NET_RAW / CAP_NET_ADMIN (or not Administrator) */
  RTCAP_ERR_INTERFACE_DOWN = -3, /* the interface exists but is not up */
  RTCAP_ERR_BAD_FILTER = -4,     /* pcap_compile rejected the filter expression */
  RTCAP_ERR_BAD_CONFIG = -5,     /* a setting out of range, or settings that cannot work together */
  RTCAP_ERR_OPEN_FAILED = -6,    /* any other pcap_create/pcap_activate failure */
  RTCAP_ERR_CAPTURE_FAILED = -7, /* the handle failed during capture (the interface vanished) */
  RTCAP_ERR_IO = -8,             /* a file could not be opened or read */
  RTCAP_ERR_UNSUPPORTED = -9,    /* the platform or libpcap build cannot do what was asked */
  RTCAP_ERR_NO_SUCH_NAMESPACE = -10, /* the network namespace (rtcap_config_set_netns) is missing */

  /* Use of this interface. */
  RTCAP_ERR_INVALID_ARGUMENT = -20, /* a null pointer or a value the function cannot take */
  RTCAP_ERR_INVALID_HANDLE = -21,   /* null, closed or never-opened config or engine handle */
  RTCAP_ERR_WRONG_STATE = -22,      /* refused, capture goes on: start twice, dispatch on a
                                       threaded engine, poll before start, ... */
  RTCAP_ERR_BUSY = -23,             /* refused, capture goes on: a poll or dispatch while another
                                       runs (another thread, or its own callback); closing an
                                       engine another thread is in a call on; closing an audio
                                       or tracker still in use */
  RTCAP_ERR_CALLBACK = -24,         /* the batch callback returned non-zero (or threw) */
  RTCAP_ERR_BUFFER_TOO_SMALL = -25, /* readiness: *count says how many handles are needed */
  RTCAP_ERR_NO_MEMORY = -26,
  RTCAP_ERR_INTERNAL = -27 /* a bug in rtcap: the message says where; please report it */
} rtcap_status;

/* "RTCAP_ERR_BAD_FILTER" for RTCAP_ERR_BAD_FILTER; "unknown" for a code this library lacks. */
RTCAP_C_API const char* rtcap_status_name(int status);
/* The message of the last call on this thread that returned an error: one line naming the thing
 * and the fix; "" before the first error. Not cleared by calls that succeed. The pointer is valid
 * until the next failing call on this thread. */
RTCAP_C_API const char* rtcap_last_error(void);
/* When that error was about one setting (RTCAP_ERR_BAD_CONFIG): the setting's name as in
 * rtcap::CaptureConfig ("snaplen"), and the reason without it, in which another setting appears
 * as ${name}; both "" otherwise. For bindings that word settings in their own terms. */
RTCAP_C_API const char* rtcap_last_error_setting(void);
RTCAP_C_API const char* rtcap_last_error_reason(void);

RTCAP_C_API const char* rtcap_version(void); /* the library's version, "0.1.0" */
RTCAP_C_API int rtcap_c_api_version(void);   /* RTCAP_C_API_VERSION the library was built with */
RTCAP_C_API const char* rtcap_pcap_version(void); /* pcap_lib_version() */

/* ---- Configuration (rtcap::CaptureConfig) ------------------------------------------------------
 * A handle filled with setters, so that settings can be added without changing any struct.
 * Defaults are rtcap::CaptureConfig's (rtcap/config.hpp: each carries its measurement). Ranges
 * are the library's table of settings, the same for C++, C, Python and the rtcap command: a
 * setter refuses a value outside them with RTCAP_ERR_BAD_CONFIG, and rtcap_engine_open checks the
 * whole (rtcap_last_error_setting names the setting).
 * One thread at a time per config handle. */
typedef struct rtcap_config rtcap_config;

typedef enum rtcap_delivery {
  RTCAP_DELIVERY_INLINE = 0,  /* the default: the callback runs on the thread that calls poll */
  RTCAP_DELIVERY_THREADED = 1 /* a capture thread fills batches; poll takes them from it */
} rtcap_delivery;
typedef enum rtcap_overflow {
  RTCAP_OVERFLOW_DROP = 0, /* threaded, no free batch: drop and count (app_dropped_packets) */
  RTCAP_OVERFLOW_BLOCK = 1 /* threaded, no free batch: wait; the kernel ring absorbs, then drops */
} rtcap_overflow;
typedef enum rtcap_precision {
  RTCAP_PRECISION_MICRO = 0,
  RTCAP_PRECISION_NANO = 1 /* the default; falls back to micro where unsupported (a warning) */
} rtcap_precision;

RTCAP_C_API int rtcap_config_new(rtcap_config** out);
RTCAP_C_API int rtcap_config_free(rtcap_config* config);
/* Capture on this interface; call again for several (one capture serves them all). */
RTCAP_C_API int rtcap_config_add_interface(rtcap_config* config, const char* name);
/* Or replay a pcap/pcapng file through the same path (interfaces and file are exclusive). */
RTCAP_C_API int rtcap_config_set_read_file(rtcap_config* config, const char* path);
RTCAP_C_API int rtcap_config_set_filter(rtcap_config* config, const char* expression);
/* Linux: the network namespace of the interfaces, a name from `ip netns add` or a path such as
 * /proc/PID/ns/net; the opening thread enters it for the open only (needs CAP_SYS_ADMIN). NULL or
 * "": the caller's. Elsewhere rtcap_engine_open then fails with RTCAP_ERR_UNSUPPORTED. */
RTCAP_C_API int rtcap_config_set_netns(rtcap_config* config, const char* name);
/* Enum-valued settings take an int (a value of the named enum): a caller through an FFI may pass
 * anything, and an int can be checked without undefined behaviour (RTCAP_ERR_BAD_CONFIG). */
RTCAP_C_API int rtcap_config_set_delivery(rtcap_config* config, int delivery /* rtcap_delivery */);
RTCAP_C_API int rtcap_config_set_snaplen(rtcap_config* config, int bytes); /* 0: the maximum */
RTCAP_C_API int rtcap_config_set_promiscuous(rtcap_config* config, int on);
RTCAP_C_API int rtcap_config_set_immediate_mode(rtcap_config* config, int on);
RTCAP_C_API int rtcap_config_set_timeout_ms(rtcap_config* config, int timeout_ms);
RTCAP_C_API int rtcap_config_set_buffer_kib(rtcap_config* config, int buffer_kib); /* 0: default */
RTCAP_C_API int rtcap_config_set_precision(rtcap_config* config,
                                           int precision /* rtcap_precision */);
RTCAP_C_API int rtcap_config_set_tstamp_type(rtcap_config* config, const char* name);
RTCAP_C_API int rtcap_config_set_coalesce_us(rtcap_config* config, int coalesce_us); /* -1: auto */
RTCAP_C_API int rtcap_config_set_batch_packets(rtcap_config* config, size_t packets);
RTCAP_C_API int rtcap_config_set_batch_bytes(rtcap_config* config, size_t bytes);
RTCAP_C_API int rtcap_config_set_pool_batches(rtcap_config* config, size_t batches);
RTCAP_C_API int rtcap_config_set_overflow(rtcap_config* config, int policy /* rtcap_overflow */);
RTCAP_C_API int rtcap_config_set_max_packets(rtcap_config* config, int64_t packets); /* 0: none */
RTCAP_C_API int rtcap_config_set_stats_interval_ms(rtcap_config* config, int interval_ms);
/* When an interface goes away: keep capturing on the others and open it again once a second. */
RTCAP_C_API int rtcap_config_set_reopen(rtcap_config* config, int on);
/* RTCAP_OK if the numeric setting `setting` ("snaplen") takes `value`, else RTCAP_ERR_BAD_CONFIG
 * as its setter would return; for a binding that must check before narrowing to the setter's
 * type. RTCAP_ERR_INVALID_ARGUMENT: no numeric setting of that name. */
RTCAP_C_API int rtcap_config_check_setting(const char* setting, int64_t value);
/* The table of settings itself, for a binding that builds its keyword arguments from it rather
 * than keep a copy: rtcap_setting_name(i) names setting i ("snaplen"), NULL past the last, and
 * rtcap_setting_describe says what it is. kind: an rtcap_setting_kind; min, max: the accepted
 * range of a number (a flag 0 and 1, a choice 0 to n-1, a text 0 and 0); choices: a choice's
 * names in the order of its enum, '|'-separated ("inline|threaded"), else ""; unit: "bytes",
 * "ms"... or ""; setter: its setter's name ("rtcap_config_set_snaplen"; a text's takes
 * (rtcap_config*, const char*)). Any out pointer may be NULL; the strings live as long as the
 * library. RTCAP_ERR_INVALID_ARGUMENT: no setting of that name. */
typedef enum rtcap_setting_kind {
  RTCAP_SETTING_NUMBER = 0,
  RTCAP_SETTING_FLAG = 1,
  RTCAP_SETTING_CHOICE = 2,
  RTCAP_SETTING_TEXT = 3,
  RTCAP_SETTING_TEXTS = 4 /* a list: its setter adds one (rtcap_config_add_interface) */
} rtcap_setting_kind;
RTCAP_C_API const char* rtcap_setting_name(size_t index);
RTCAP_C_API int rtcap_setting_describe(const char* setting, int* kind, int64_t* min, int64_t* max,
                                       const char** choices, const char** unit,
                                       const char** setter);
/* Where the setting has an effect, as the end of "applies ..." ("with ${immediate_mode} only
 * (...)"), other settings as ${name} to word in the binding's terms as rtcap_last_error_reason;
 * "" when it applies everywhere. A value given where it does nothing is accepted and reported by
 * a warning (rtcap_engine_warning_text). The string lives as long as the library.
 * RTCAP_ERR_INVALID_ARGUMENT: no setting of that name. */
RTCAP_C_API int rtcap_setting_applies(const char* setting, const char** applies);
/* Sets a number, flag or choice by name, as its own setter would (a flag: 0 or 1; a choice: its
 * index). RTCAP_ERR_INVALID_ARGUMENT: no such setting, or a text. */
RTCAP_C_API int rtcap_config_set_number(rtcap_config* config, const char* setting, int64_t value);
/* Npcap only (Windows); elsewhere accepted and reported by a warning saying what applies. */
RTCAP_C_API int rtcap_config_set_mintocopy_bytes(rtcap_config* config, int bytes);
RTCAP_C_API int rtcap_config_set_user_buffer_bytes(rtcap_config* config, int bytes);

/* ---- Packets and batches (rtcap::Batch, rtcap::PacketView) -------------------------------------
 * A batch is a view, valid only during the callback: copy out what you keep. Step through it
 * with rtcap_batch_packet(), which uses the library's stride: a later library may append fields
 * to rtcap_packet and a program built against this header still reads the ones it knows. */
typedef struct rtcap_packet {
  int64_t ts_ns;            /* capture time stamp, ns since the Unix epoch (CLOCK_REALTIME) */
  const uint8_t* data;      /* caplen bytes from the link-layer header on (rtcap_interface_info) */
  uint32_t caplen;          /* bytes captured */
  uint32_t wire_len;        /* bytes on the wire (caplen < wire_len: cut by the snaplen) */
  uint16_t interface_index; /* order of rtcap_config_add_interface, from 0; 0 for a file */
  uint16_t reserved16;
  uint32_t reserved32;
} rtcap_packet;

typedef struct rtcap_batch {
  size_t count;                /* packets in this batch, >= 1 */
  size_t packet_size;          /* bytes from one rtcap_packet to the next */
  const rtcap_packet* packets; /* the first packet */
} rtcap_batch;

static inline const rtcap_packet* rtcap_batch_packet(const rtcap_batch* batch, size_t index) {
  return (const rtcap_packet*)(const void*)((const unsigned char*)(const void*)batch->packets +
                                            index * batch->packet_size);
}

/* Called with each batch. Return 0 to go on; anything else stops the capture (as
 * rtcap_engine_stop), the packets after this batch in the same poll are not handed to the
 * callback (the message says how many), and poll returns RTCAP_ERR_CALLBACK. */
typedef int (*rtcap_batch_fn)(void* user, const rtcap_batch* batch);

/* ---- The engine (rtcap::Engine) ----------------------------------------------------------------
 * Misuse is refused per call by the engine itself, capture going on (RTCAP_ERR_BUSY,
 * RTCAP_ERR_WRONG_STATE), as in C++ (rtcap::ErrorCode::kBusy, kMisuse) and Python.
 * Threads: poll, dispatch, readiness and start from one thread (the consumer). stop, done, stats,
 * stop_reason, failure and the interface/warning getters from any thread. None of them from a
 * signal handler: set a flag there and call rtcap_engine_stop from your loop. */
typedef struct rtcap_engine rtcap_engine;

/* Opens every handle (pcap_create, pcap_set_*, pcap_activate, filter); nothing is captured yet
 * by a threaded engine until rtcap_engine_start. The engine copies the config. */
RTCAP_C_API int rtcap_engine_open(const rtcap_config* config, rtcap_engine** out);
/* Stops the capture and frees the engine; the handle is invalid from here on. Also from inside
 * the engine's own batch callback, as a C++ rtcap::Engine may be destroyed there: the poll calls
 * the callback no more and frees the engine when it returns. RTCAP_ERR_BUSY, nothing closed,
 * while another thread is inside a call on the engine (a poll whose callback may still run with
 * what you free after close): stop the capture, let that call return, then close. */
RTCAP_C_API int rtcap_engine_close(rtcap_engine* engine);
/* Threaded delivery: starts the capture thread (twice: RTCAP_ERR_WRONG_STATE). Inline delivery
 * has no thread to start: RTCAP_ERR_WRONG_STATE, as rtcap::Engine::start; poll captures on the
 * calling thread from the first call. */
RTCAP_C_API int rtcap_engine_start(rtcap_engine* engine);

/* Inline: waits up to timeout_us for packets, drains every handle, calls fn for what it drained;
 * returns within timeout_us plus at most one batch's callback (what is left waits in the kernel
 * ring for the next call).
 * Threaded: waits up to timeout_us for the next filled batch, calls fn, gives the batch back.
 * *delivered (may be NULL): packets handed to fn. Returns RTCAP_OK (also on timeout, with 0),
 * RTCAP_DONE once capture has stopped (-c reached, end of file, stop) and every packet was
 * delivered, or an error: RTCAP_ERR_CAPTURE_FAILED when capture failed on its own (then
 * everything captured before was still delivered), RTCAP_ERR_CALLBACK. */
RTCAP_C_API int rtcap_engine_poll(rtcap_engine* engine, int64_t timeout_us, rtcap_batch_fn fn,
                                  void* user, size_t* delivered);
/* Inline only: drains now without waiting, for a program that waits on the readiness handles in
 * its own event loop (epoll, WaitForMultipleObjects). Same results as poll. */
RTCAP_C_API int rtcap_engine_dispatch(rtcap_engine* engine, rtcap_batch_fn fn, void* user,
                                      size_t* delivered);
/* Inline only: what to wait on before the next dispatch; call it before every wait. Fills
 * handles[0..*count) (POSIX: file descriptors, readable; Windows: HANDLEs, signalled) and
 * *max_wait_us (dispatch after at most this long even if nothing is ready; -1: no limit).
 * capacity too small: RTCAP_ERR_BUFFER_TOO_SMALL with *count set to what is needed. */
RTCAP_C_API int rtcap_engine_readiness(rtcap_engine* engine, intptr_t* handles, size_t capacity,
                                       size_t* count, int64_t* max_wait_us);
/* Any thread. Capture stops; every packet already captured is still delivered by poll. Wakes a
 * poll that is waiting and makes the readiness handles ready. */
RTCAP_C_API int rtcap_engine_stop(rtcap_engine* engine);
/* *done = 1 once capture has stopped and everything was delivered. */
RTCAP_C_API int rtcap_engine_done(rtcap_engine* engine, int* done);

typedef enum rtcap_stop_reason {
  RTCAP_STOP_RUNNING = 0,
  RTCAP_STOP_REQUESTED = 1,
  RTCAP_STOP_COUNT_REACHED = 2,
  RTCAP_STOP_END_OF_FILE = 3,
  RTCAP_STOP_FAILED = 4,
  RTCAP_STOP_CALLBACK = 5 /* the batch callback returned non-zero */
} rtcap_stop_reason;
RTCAP_C_API int rtcap_engine_stop_reason(rtcap_engine* engine, rtcap_stop_reason* out);
/* RTCAP_OK while capture has not failed; else the failure's code, its message in
 * rtcap_last_error(). */
RTCAP_C_API int rtcap_engine_failure(rtcap_engine* engine);

/* "Worked, but..." notes from opening (PCAP_WARNING_*, fallbacks, a setting given where it does
 * nothing), settings named by their setters. The strings live until close. */
RTCAP_C_API int rtcap_engine_warning_count(rtcap_engine* engine, size_t* count);
RTCAP_C_API int rtcap_engine_warning(rtcap_engine* engine, size_t index, const char** message);
/* The same warning with each setting as ${name} ("${snaplen}"), for bindings that word settings
 * in their own terms, as rtcap_last_error_reason. */
RTCAP_C_API int rtcap_engine_warning_text(rtcap_engine* engine, size_t index, const char** text);

/* ---- Statistics (rtcap::CaptureStats) ----------------------------------------------------------
 * Loss shows in three counters: kernel_dropped (the kernel ring was full: the reader did not keep
 * up), interface_dropped (the NIC; Linux: promiscuous mode only), app_dropped_packets (threaded,
 * drop policy: no free batch, the consumer fell behind). All 64-bit running totals. */
typedef struct rtcap_stats {
  size_t size; /* in: sizeof(rtcap_stats); out: the bytes the library filled (a prefix) */
  int64_t elapsed_ns;
  uint64_t packets_captured;    /* copied into batches */
  uint64_t bytes_captured;      /* sum of caplen */
  uint64_t packets_truncated;   /* caplen < wire_len */
  uint64_t app_dropped_packets; /* threaded: no free batch */
  uint64_t packets_delivered;   /* handed to the callback */
  uint64_t batches_delivered;
  uint64_t wakeups;                 /* returns from the readiness wait */
  uint64_t dispatch_calls;          /* pcap_dispatch calls */
  uint64_t empty_dispatch_calls;    /* ... that returned no packet */
  uint64_t max_dispatch_bytes;      /* most bytes one call carried */
  double max_dispatch_buffer_share; /* max_dispatch_bytes / kernel buffer: near 1, drops are near */
  int64_t capture_cpu_ns;           /* CPU time of the capturing thread */
  uint64_t received;                /* pcap_stats ps_recv, widened, summed over the interfaces */
  uint64_t kernel_dropped;          /* ps_drop, likewise */
  uint64_t interface_dropped;       /* ps_ifdrop, likewise */
  /* Delivery latency: packet time stamp to the moment its batch reached the consumer. */
  uint64_t latency_count;
  uint64_t latency_p50_ns;
  uint64_t latency_p99_ns;
  uint64_t latency_p999_ns;
  uint64_t latency_max_ns;
  /* Appended fields: an older library fills less; read them only if .size covers them. */
  uint64_t thread_handoffs;      /* batches passed to the consumer thread (inline: 0) */
  uint64_t interface_reopens;    /* handles opened again after their interface came back */
  uint64_t dispatch_bytes_count; /* dispatch calls that carried packets */
  uint64_t dispatch_bytes_p99;   /* 99th percentile of the bytes one such call carried */
  uint64_t callback_ns; /* capture thread's time in the batch callback or waiting for a batch */
} rtcap_stats;
/* The library's counters by name, in its registry's order (rtcap::capture_counters()): every one
 * is a field of rtcap_stats; NULL past the last. rtcap_interface_counter_name likewise for the
 * per-interface ones of rtcap_interface_info. */
RTCAP_C_API const char* rtcap_counter_name(size_t index);
RTCAP_C_API const char* rtcap_interface_counter_name(size_t index);
RTCAP_C_API int rtcap_engine_stats(rtcap_engine* engine, rtcap_stats* out);

typedef struct rtcap_interface_info {
  size_t size;               /* in: sizeof(rtcap_interface_info); out: the bytes filled */
  const char* name;          /* lives until close */
  int linktype;              /* DLT_* of the handle: 1 Ethernet, 113 Linux SLL, ... */
  int snaplen;               /* as activated */
  rtcap_precision precision; /* as activated */
  uint64_t received;         /* pcap_stats of this interface, as in rtcap_stats */
  uint64_t kernel_dropped;
  uint64_t interface_dropped;
  uint64_t buffer_bytes; /* kernel buffer asked for */
  /* Appended fields: read them only if .size covers them. */
  uint64_t up;          /* 1 while the interface is up and running, 0 while down or gone */
  uint64_t down_events; /* times it was seen going down or away */
  uint64_t down_ns;     /* time seen down, the current outage included */
  uint64_t reopens;     /* times its handle was opened again (rtcap_config_set_reopen) */
} rtcap_interface_info;
/* How many interface indices packets may carry (rtcap_packet.interface_index): the interfaces
 * opened, and one more each time a reopened interface came back with another link type or
 * snaplen (rtcap::Engine::interface_count). */
RTCAP_C_API int rtcap_engine_interface_count(rtcap_engine* engine, size_t* count);
RTCAP_C_API int rtcap_engine_interface_info(rtcap_engine* engine, size_t index,
                                            rtcap_interface_info* out);

/* ---- Stream analysis (rtcap::StreamTracker, rtcap/analysis.hpp) --------------------------------
 * The stream table of what was captured: per UDP flow and RTP stream the packets, loss, jitter,
 * TS-DF, verdict, SAP/SDP session names, and PTP. Fed the batches of an engine:
 *
 *   rtcap_tracker* tracker = NULL;
 *   rtcap_tracker_open(NULL, &tracker);               // or with rtcap_tracker_options
 *   ... in the batch callback: rtcap_tracker_add_batch(tracker, batch, linktype);
 *   size_t needed = 0;
 *   rtcap_tracker_snapshot_json(tracker, NULL, 0, &needed);    // RTCAP_ERR_BUFFER_TOO_SMALL
 *   char* json = malloc(needed);
 *   rtcap_tracker_snapshot_json(tracker, json, needed, &needed);
 *   rtcap_tracker_close(tracker);
 *
 * The JSON is what the rtcap command writes for its stream report (rtcap::to_json of a
 * snapshot); the fields are described in rtcap/analysis.hpp. Calls on one tracker from several
 * threads take turns (a snapshot waits for the batch being added); from a callback of an
 * rtcap_audio opened on it (rtcap_audio_open_on) a snapshot works too. */
typedef struct rtcap_tracker rtcap_tracker;

/* rtcap::StreamTrackerConfig. rtcap_tracker_options_init sets .size and every default. */
typedef struct rtcap_tracker_options {
  size_t size;
  const char* sdp; /* SDP text describing streams (RFC 8866), or NULL; SAP in the traffic adds */
  const char* const* audio_formats; /* "SELECTOR=ENC/RATE/CH" each ("239.69.1.1:5004=L24/48000/2",
                                       "97=L16/44100/2"): the format of the streams it selects */
  size_t audio_format_count;
  size_t max_streams;          /* table slots, 1 to 65536 (allocated up front, about 2 KiB a
                                  slot); more streams evict the least recently seen */
  uint32_t default_clock_rate; /* Hz, for dynamic payload types nothing else describes */
} rtcap_tracker_options;

RTCAP_C_API int rtcap_tracker_options_init(rtcap_tracker_options* options);
/* options NULL: the defaults. RTCAP_ERR_BAD_CONFIG names the field (rtcap_last_error_setting:
 * "sdp", "audio_formats", "max_streams", "default_clock_rate"). */
RTCAP_C_API int rtcap_tracker_open(const rtcap_tracker_options* options, rtcap_tracker** out);
/* RTCAP_ERR_BUSY while an rtcap_audio opened on it is open (close that first) or a call runs. */
RTCAP_C_API int rtcap_tracker_close(rtcap_tracker* tracker);
/* Every packet of the batch, captured on a link of type `linktype` (rtcap_interface_info):
 * for a capture on one interface whose link type never changes. */
RTCAP_C_API int rtcap_tracker_add_batch(rtcap_tracker* tracker, const rtcap_batch* batch,
                                        int linktype);
/* Every packet of the batch, each with the link type of its interface:
 * linktype_by_interface[packet->interface_index], `count` entries (the .linktype of
 * rtcap_engine_interface_info for each index below rtcap_engine_interface_count, which grows
 * when a reopened interface comes back with another link type). A packet whose index is
 * `count` or more is counted as not parsed. For several interfaces, or with reopen. */
RTCAP_C_API int rtcap_tracker_add_batch_by_interface(rtcap_tracker* tracker,
                                                     const rtcap_batch* batch,
                                                     const int* linktype_by_interface,
                                                     size_t count);
/* The text calls: *needed (may be NULL) is the bytes the text takes with its NUL. When size is
 * smaller, RTCAP_ERR_BUFFER_TOO_SMALL and nothing is written (buf may be NULL with size 0). The
 * text grows as streams appear: ask again if a later call says it is still too small. */
RTCAP_C_API int rtcap_tracker_snapshot_json(rtcap_tracker* tracker, char* buf, size_t size,
                                            size_t* needed);
/* The table for a terminal, fitted to `width` characters (0: every column). */
RTCAP_C_API int rtcap_tracker_table(rtcap_tracker* tracker, size_t width, char* buf, size_t size,
                                    size_t* needed);

/* ---- Live audio (rtcap::AudioReceiver, rtcap/audio.hpp) -----------------------------------------
 * PCM samples of the captured AES67 / ST 2110-30 streams. An rtcap_audio holds its own stream
 * catalogue (SAP announcements seen in the traffic, the SDP given to a subscription, RFC 3551)
 * and is fed the batches of an engine, inside the batch callback:
 *
 *   rtcap_audio* audio = NULL;
 *   rtcap_audio_open(&audio);
 *   rtcap_audio_subscription sub;
 *   rtcap_audio_subscription_init(&sub);          // every audio stream, float32 interleaved
 *   sub.on_audio = on_audio;                      // a rtcap_audio_block per delivery
 *   sub.user = &app;
 *   int id = 0;
 *   rtcap_audio_subscribe(audio, &sub, &id);
 *   ... in the batch callback: rtcap_audio_add_batch(audio, batch, linktype);
 *   rtcap_audio_finish(audio);                    // what is held is delivered, streams end
 *   rtcap_audio_close(audio);
 *
 * The callbacks run inside rtcap_audio_add_batch (and finish, expire, unsubscribe), on that
 * thread; what they are handed is valid during the call only. One thread at a time per handle:
 * another call on it meanwhile, or a call on it from its own callback, is RTCAP_ERR_BUSY. */
typedef struct rtcap_audio rtcap_audio;

typedef enum rtcap_sample_format {
  RTCAP_SAMPLES_FLOAT32 = 0, /* float in [-1, 1) */
  RTCAP_SAMPLES_INT32 = 1    /* left-justified: full scale is INT32_MIN..INT32_MAX */
} rtcap_sample_format;
typedef enum rtcap_channel_layout {
  RTCAP_CHANNELS_INTERLEAVED = 0,
  RTCAP_CHANNELS_PLANAR = 1 /* one buffer per channel */
} rtcap_channel_layout;
typedef enum rtcap_loss_fill {
  RTCAP_LOSS_SILENCE = 0, /* a lost packet is zeros of its length, and a gap event */
  RTCAP_LOSS_GAP_ONLY = 1 /* the gap event only */
} rtcap_loss_fill;
typedef enum rtcap_audio_event_kind {
  RTCAP_AUDIO_START = 0,
  RTCAP_AUDIO_GAP = 1,
  RTCAP_AUDIO_DISCONTINUITY = 2,
  RTCAP_AUDIO_FORMAT_CHANGE = 3,
  RTCAP_AUDIO_LEVELS = 4,
  RTCAP_AUDIO_END = 5,
  /* A stream the subscription selects and will not get (no format known, more channels than
   * max_channels, max_streams all taken): why says which; stream->id is 0. Once per stream and
   * reason. (A stream goes to every subscription that selects it.) */
  RTCAP_AUDIO_NOT_TAKEN = 6
} rtcap_audio_event_kind;

typedef struct rtcap_audio_stream {
  uint64_t id;     /* from 1, never reused */
  const char* src; /* "198.18.0.1" */
  const char* dst; /* "239.69.1.1" */
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t ssrc;
  uint16_t interface_index;
  int payload_type;
  int bits; /* on the wire: 16 or 24 */
  uint32_t rate_hz;
  int channels;
  const char* source;       /* where the format came from */
  const char* session_name; /* the SDP's s=, "" when none */
  /* ST 2022-7 (since RTCAP_C_API_VERSION 5): one leg of a redundant pair, the other leg a stream
   * of its own (rtcap/audio.hpp says what a subscriber gets): the pair's group ("DUP primary
   * secondary", "ssrc 0x1a2b3c4d") and this leg (0 or 1); "" and -1 when none. */
  const char* redundancy_group;
  int redundancy_leg;
} rtcap_audio_stream;

/* Sample (f, c) is at data[f * frame_stride + c * channel_stride] (int32_t or float). */
typedef struct rtcap_audio_block {
  size_t size; /* sizeof(rtcap_audio_block) of the library: read appended fields only if covered */
  const rtcap_audio_stream* stream;
  int format; /* rtcap_sample_format */
  int layout; /* rtcap_channel_layout */
  const void* data;
  size_t frames;
  int channels;
  size_t frame_stride;     /* in samples */
  size_t channel_stride;   /* in samples */
  uint32_t rtp_timestamp;  /* of the first frame */
  int64_t capture_ns;      /* capture time of the first packet in the block */
  uint64_t first_frame;    /* stream position of the first frame (gaps included) */
  uint64_t silence_frames; /* of frames: filled for lost packets */
} rtcap_audio_block;

typedef struct rtcap_channel_levels {
  uint64_t seconds; /* whole seconds measured; 0: peak and rms not known yet */
  double peak_dbfs; /* over the last whole second; -infinity for digital zero */
  double rms_dbfs;
  double silent_seconds; /* since the last sample at or above the silence threshold */
  int silent;            /* silent_seconds has reached the set silence time */
  uint64_t silences;     /* times the channel became silent */
  uint64_t clipped_samples;
} rtcap_channel_levels;

typedef struct rtcap_audio_event {
  size_t size;
  int kind; /* rtcap_audio_event_kind */
  const rtcap_audio_stream* stream;
  /* RTCAP_AUDIO_GAP: RTP timestamps [gap_rtp_timestamp, + gap_frames), stream frames
   * [gap_first_frame, + gap_frames); the first lost sequence number and how many packets. */
  uint32_t gap_rtp_timestamp;
  uint64_t gap_first_frame;
  uint64_t gap_frames;
  uint32_t gap_first_seq;
  uint64_t gap_packets;
  int gap_filled;                     /* silence was delivered in its place */
  const rtcap_channel_levels* levels; /* RTCAP_AUDIO_LEVELS: stream->channels entries */
  const char* why;                    /* RTCAP_AUDIO_END, _DISCONTINUITY, _NOT_TAKEN: one line */
} rtcap_audio_event;

typedef void (*rtcap_audio_block_fn)(void* user, const rtcap_audio_block* block);
typedef void (*rtcap_audio_event_fn)(void* user, const rtcap_audio_event* event);
/* The memory of the next delivery of `stream`: `samples` int32_t or float (its capacity in frames
 * x stream->channels; planar: channel c from c x capacity frames on), 4-byte aligned, or NULL
 * for the library's own buffer (valid during on_audio only; counted in own_buffer_deliveries).
 * The block's data points there; the library writes it no more once on_audio returns. */
typedef void* (*rtcap_audio_buffer_fn)(void* user, const rtcap_audio_stream* stream,
                                       size_t samples);

/* rtcap::AudioSubscription. rtcap_audio_subscription_init sets .size and every default; fields
 * are appended (on_buffer in version 5), and the library reads no more than .size says. */
typedef struct rtcap_audio_subscription {
  size_t size;
  /* Selector: every field set must match; NULL / -1 / 0: any. */
  const char* session_name;
  const char* dst; /* address text */
  int dst_port;
  const char* src;
  int has_ssrc;
  uint32_t ssrc;
  int payload_type;
  const char* sdp; /* SDP text of the streams (the application's own description), or NULL */
  int format;      /* rtcap_sample_format */
  int layout;      /* rtcap_channel_layout */
  int loss;        /* rtcap_loss_fill */
  size_t frames_per_delivery; /* 0: each packet's samples as they come in order */
  size_t reorder_packets;
  size_t max_payload_bytes;
  int max_channels;
  size_t max_streams;
  uint32_t end_after_ms;
  int levels; /* 1: RTCAP_AUDIO_LEVELS events once a second */
  double silence_threshold_dbfs;
  uint32_t silence_ms;
  rtcap_audio_block_fn on_audio; /* may be NULL */
  rtcap_audio_event_fn on_event; /* may be NULL */
  void* user;
  /* RTCAP_C_API_VERSION 5: deliveries written into the application's memory (a sample is copied
   * once, from the packet to where it is kept); NULL: the library's buffer. */
  rtcap_audio_buffer_fn on_buffer;
} rtcap_audio_subscription;

typedef struct rtcap_audio_stats {
  size_t size; /* in: sizeof(rtcap_audio_stats); out: the bytes filled */
  uint64_t streams;
  uint64_t streams_not_taken;
  uint64_t packets;
  uint64_t frames;
  uint64_t silence_frames;
  uint64_t gaps;
  uint64_t lost_packets;
  uint64_t late_or_duplicate;
  uint64_t malformed;
  uint64_t discontinuities;
  uint64_t callback_exceptions;
  uint64_t own_buffer_deliveries; /* on_buffer set but it gave NULL: the library's buffer */
} rtcap_audio_stats;

RTCAP_C_API int rtcap_audio_open(rtcap_audio** out);
/* An rtcap_audio that reads formats from, and feeds, `tracker`: rtcap_audio_add_batch adds each
 * packet to the tracker first, so one pass gives both the audio and the stream table (do not
 * also call rtcap_tracker_add_batch: the packets would count twice). The tracker stays open
 * until the audio is closed. */
RTCAP_C_API int rtcap_audio_open_on(rtcap_tracker* tracker, rtcap_audio** out);
RTCAP_C_API int rtcap_audio_close(rtcap_audio* audio);
/* Every default, in the `size` bytes at sub (sizeof *sub: the struct of the header the caller
 * was built with): the fields this library knows, the rest zeroed; .size = the bytes it reads,
 * less than `size` for a later header. Since RTCAP_C_API_VERSION 5. */
RTCAP_C_API int rtcap_audio_subscription_init_sized(rtcap_audio_subscription* sub, size_t size);
/* The same for a program built against version 4: the struct without on_buffer. A program built
 * with this header calls rtcap_audio_subscription_init_sized through the macro below. */
RTCAP_C_API int rtcap_audio_subscription_init(rtcap_audio_subscription* sub);
#define rtcap_audio_subscription_init(sub) rtcap_audio_subscription_init_sized((sub), sizeof *(sub))
/* *id: the subscription's number, from 1. RTCAP_ERR_BAD_CONFIG names the field. */
RTCAP_C_API int rtcap_audio_subscribe(rtcap_audio* audio, const rtcap_audio_subscription* sub,
                                      int* id);
/* RTCAP_ERR_BAD_CONFIG (rtcap_last_error_setting "subscription") for an id subscribe did not
 * give or already unsubscribed; so does rtcap_audio_stats_get. */
RTCAP_C_API int rtcap_audio_unsubscribe(rtcap_audio* audio, int id);
/* Every packet of the batch, captured on a link of type `linktype` (rtcap_interface_info; 0 to
 * 65535, else RTCAP_ERR_BAD_CONFIG naming "linktype", as rtcap_tracker_add_batch). */
RTCAP_C_API int rtcap_audio_add_batch(rtcap_audio* audio, const rtcap_batch* batch, int linktype);
/* The same with the link type per interface index, as rtcap_tracker_add_batch_by_interface. */
RTCAP_C_API int rtcap_audio_add_batch_by_interface(rtcap_audio* audio, const rtcap_batch* batch,
                                                   const int* linktype_by_interface, size_t count);
/* Ends the streams idle for their end_after_ms at now_ns (CLOCK_REALTIME ns). */
RTCAP_C_API int rtcap_audio_expire(rtcap_audio* audio, int64_t now_ns);
/* Delivers what is held and ends every stream. */
RTCAP_C_API int rtcap_audio_finish(rtcap_audio* audio);
RTCAP_C_API int rtcap_audio_stats_get(rtcap_audio* audio, int id, rtcap_audio_stats* out);
/* The levels of every channel of every stream subscription `id` holds now (rtcap::AudioReceiver::
 * levels), on demand: streams[k] points to stream k's record, which the library keeps (as the
 * stream of a block or event: fields may be appended to rtcap_audio_stream, so it is never an
 * array the caller allocates), and `levels` holds each stream's stream->channels entries one
 * after another (stream k's first channel at the sum of the channels before it). *stream_count
 * and *level_count: what there is; RTCAP_ERR_BUFFER_TOO_SMALL (nothing written) when `capacity`
 * or `level_capacity` is less: call again with more. The records and their text stay valid until
 * the stream ends or the next call on this rtcap_audio. Not from inside this rtcap_audio's
 * callbacks (RTCAP_ERR_BUSY). RTCAP_ERR_BAD_CONFIG ("subscription") as rtcap_audio_stats_get.
 * Since RTCAP_C_API_VERSION 5. */
RTCAP_C_API int rtcap_audio_levels(rtcap_audio* audio, int id, const rtcap_audio_stream** streams,
                                   size_t capacity, size_t* stream_count,
                                   rtcap_channel_levels* levels, size_t level_capacity,
                                   size_t* level_count);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RTCAP_RTCAP_H */
