// The C API (include/rtcap/rtcap.h) used wrongly on purpose: null, stale and made-up handles,
// null out-pointers, out-of-range settings, a callback that fails or throws, calls from inside
// the callback, stop and close from another thread, double close. Every case must give its
// error code and a message, never a crash (.ci/sanitizers.sh runs this under ASan+UBSan and
// TSan). The capture itself runs on the sample file, so no privileges are needed.
#include <gtest/gtest.h>
#include <rtcap/rtcap.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#ifndef RTCAP_SOURCE_DIR
#define RTCAP_SOURCE_DIR "."
#endif

namespace {

const char* kSample = RTCAP_SOURCE_DIR "/tests/data/rtp-12streams-125us.pcap";
constexpr std::uint64_t kSamplePackets =
    1200;  // tshark -r tests/data/rtp-12streams-125us.pcap | wc -l

std::string last() { return rtcap_last_error(); }

struct Config {
  rtcap_config* c = nullptr;
  Config() { EXPECT_EQ(rtcap_config_new(&c), RTCAP_OK); }
  ~Config() { rtcap_config_free(c); }
};

// The sample file through an engine with the given delivery.
rtcap_engine* open_sample(rtcap_delivery delivery, std::size_t batch_packets = 0) {
  Config cfg;
  EXPECT_EQ(rtcap_config_set_read_file(cfg.c, kSample), RTCAP_OK);
  EXPECT_EQ(rtcap_config_set_delivery(cfg.c, delivery), RTCAP_OK);
  if (batch_packets) {
    EXPECT_EQ(rtcap_config_set_batch_packets(cfg.c, batch_packets), RTCAP_OK);
  }
  rtcap_engine* e = nullptr;
  const int rc = rtcap_engine_open(cfg.c, &e);
  EXPECT_EQ(rc, RTCAP_OK) << last();
  if (rc == RTCAP_OK && delivery == RTCAP_DELIVERY_THREADED) {
    EXPECT_EQ(rtcap_engine_start(e), RTCAP_OK) << last();
  }
  return e;
}

int count_packets(void* user, const rtcap_batch* b) {
  auto* n = static_cast<std::uint64_t*>(user);
  for (std::size_t i = 0; i < b->count; ++i) {
    const rtcap_packet* p = rtcap_batch_packet(b, i);
    EXPECT_GT(p->caplen, 0u);
    EXPECT_LE(p->caplen, p->wire_len);
    EXPECT_NE(p->data, nullptr);
  }
  *n += b->count;
  return 0;
}

// Polls until done; returns the last status.
int drain(rtcap_engine* e, rtcap_batch_fn fn, void* user) {
  int st;
  for (int i = 0; i < 100000; ++i)
    if ((st = rtcap_engine_poll(e, 100000, fn, user, nullptr)) != RTCAP_OK) return st;
  return RTCAP_ERR_INTERNAL;
}

const rtcap_delivery kDeliveries[] = {RTCAP_DELIVERY_INLINE, RTCAP_DELIVERY_THREADED};

}  // namespace

TEST(Capi, NullAndMadeUpHandlesAreErrorsNotCrashes) {
  rtcap_engine* fake = reinterpret_cast<rtcap_engine*>(static_cast<std::uintptr_t>(0x7fff1234));
  for (rtcap_engine* e : {static_cast<rtcap_engine*>(nullptr), fake}) {
    std::size_t n = 0;
    int done = 0;
    rtcap_stop_reason why;
    rtcap_stats stats{};
    stats.size = sizeof stats;
    rtcap_interface_info info{};
    info.size = sizeof info;
    const char* msg = nullptr;
    intptr_t handles[4];
    int64_t max_wait = 0;
    EXPECT_EQ(rtcap_engine_start(e), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_NE(last().find("not an open rtcap_engine"), std::string::npos) << last();
    EXPECT_EQ(rtcap_engine_poll(e, 0, count_packets, &n, &n), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(rtcap_engine_dispatch(e, count_packets, &n, nullptr), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_readiness(e, handles, 4, &n, &max_wait), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_stop(e), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_done(e, &done), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_stop_reason(e, &why), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_failure(e), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_stats(e, &stats), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_interface_count(e, &n), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_interface_info(e, 0, &info), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_warning_count(e, &n), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_warning(e, 0, &msg), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_ERR_INVALID_HANDLE);
  }
  rtcap_config* fake_config = reinterpret_cast<rtcap_config*>(static_cast<std::uintptr_t>(0x10));
  for (rtcap_config* c : {static_cast<rtcap_config*>(nullptr), fake_config}) {
    EXPECT_EQ(rtcap_config_add_interface(c, "lo"), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_NE(last().find("not an open rtcap_config"), std::string::npos) << last();
    EXPECT_EQ(rtcap_config_set_snaplen(c, 100), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_config_set_filter(c, "udp"), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_config_free(c), RTCAP_ERR_INVALID_HANDLE);
    rtcap_engine* e = nullptr;
    EXPECT_EQ(rtcap_engine_open(c, &e), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(e, nullptr);
  }
}

TEST(Capi, HandlesOfTheOtherKindAreRejected) {
  Config cfg;
  // A config handle where an engine is expected finds nothing: the kinds share one counter.
  rtcap_engine* as_engine = reinterpret_cast<rtcap_engine*>(cfg.c);
  EXPECT_EQ(rtcap_engine_stop(as_engine), RTCAP_ERR_INVALID_HANDLE);
  EXPECT_EQ(rtcap_engine_close(as_engine), RTCAP_ERR_INVALID_HANDLE);
  EXPECT_EQ(rtcap_config_add_interface(cfg.c, "lo"), RTCAP_OK);  // the config is untouched
}

TEST(Capi, NullOutPointersAndBadValues) {
  EXPECT_EQ(rtcap_config_new(nullptr), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last().find("out is NULL"), std::string::npos) << last();
  Config cfg;
  EXPECT_EQ(rtcap_config_add_interface(cfg.c, nullptr), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_config_add_interface(cfg.c, ""), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_filter(cfg.c, nullptr), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_config_set_read_file(cfg.c, nullptr), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_config_set_snaplen(cfg.c, -1), RTCAP_ERR_BAD_CONFIG);
  EXPECT_NE(last().find("rtcap_config_set_snaplen: -1 is outside 0..262144 bytes"),
            std::string::npos)
      << last();
  EXPECT_EQ(rtcap_config_set_snaplen(cfg.c, 0), RTCAP_OK);  // tcpdump's -s 0
  EXPECT_EQ(rtcap_config_set_timeout_ms(cfg.c, -5), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_coalesce_us(cfg.c, -2), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_batch_packets(cfg.c, 0), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_pool_batches(cfg.c, 0), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_max_packets(cfg.c, -1), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_delivery(cfg.c, 7), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_overflow(cfg.c, -1), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_config_set_precision(cfg.c, 2), RTCAP_ERR_BAD_CONFIG);
  EXPECT_EQ(rtcap_engine_open(cfg.c, nullptr), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(rtcap_status_name(RTCAP_ERR_BAD_FILTER), "RTCAP_ERR_BAD_FILTER");
  EXPECT_STREQ(rtcap_status_name(12345), "unknown");
  EXPECT_EQ(rtcap_c_api_version(), RTCAP_C_API_VERSION);
  EXPECT_STRNE(rtcap_version(), "");
#ifndef _WIN32  // Windows: wpcap.dll is loaded at the first pcap call, and Wine has no Npcap
  EXPECT_NE(std::string(rtcap_pcap_version()).find("libpcap"), std::string::npos);
#endif
}

#ifndef _WIN32  // the sample file needs a pcap library that reads files: not Npcap under Wine

TEST(Capi, OpenErrorsCarryTheEngineCodeAndMessage) {
  Config cfg;
  ASSERT_EQ(rtcap_config_set_read_file(cfg.c, "/nonexistent/rtcap-capi.pcap"), RTCAP_OK);
  ASSERT_EQ(rtcap_config_set_delivery(cfg.c, RTCAP_DELIVERY_THREADED), RTCAP_OK);
  rtcap_engine* e = reinterpret_cast<rtcap_engine*>(static_cast<std::uintptr_t>(1));
  EXPECT_EQ(rtcap_engine_open(cfg.c, &e), RTCAP_ERR_IO);
  EXPECT_EQ(e, nullptr);  // *out is cleared on failure
  EXPECT_NE(last().find("/nonexistent/rtcap-capi.pcap"), std::string::npos) << last();
  ASSERT_EQ(rtcap_config_set_read_file(cfg.c, kSample), RTCAP_OK);
  ASSERT_EQ(rtcap_config_set_filter(cfg.c, "udp port"), RTCAP_OK);
  EXPECT_EQ(rtcap_engine_open(cfg.c, &e), RTCAP_ERR_BAD_FILTER);
  EXPECT_NE(last().find("udp port"), std::string::npos) << last();
  EXPECT_EQ(last().find('\n'), std::string::npos) << "one line: " << last();
}

TEST(Capi, FileThroughEveryDeliveryAndStatsVersioning) {
  for (rtcap_delivery d : kDeliveries) {
    SCOPED_TRACE(d);
    rtcap_engine* e = open_sample(d, 100);  // batches of <= 100: several callbacks per poll
    ASSERT_NE(e, nullptr);
    std::uint64_t n = 0;
    EXPECT_EQ(drain(e, count_packets, &n), RTCAP_DONE) << last();
    EXPECT_EQ(n, kSamplePackets);
    int done = 0;
    EXPECT_EQ(rtcap_engine_done(e, &done), RTCAP_OK);
    EXPECT_EQ(done, 1);
    // Done stays done: further polls return RTCAP_DONE and deliver nothing.
    std::size_t more = 99;
    EXPECT_EQ(rtcap_engine_poll(e, 1000, count_packets, &n, &more), RTCAP_DONE);
    EXPECT_EQ(more, 0u);
    rtcap_stop_reason why;
    EXPECT_EQ(rtcap_engine_stop_reason(e, &why), RTCAP_OK);
    EXPECT_EQ(why, RTCAP_STOP_END_OF_FILE);
    EXPECT_EQ(rtcap_engine_failure(e), RTCAP_OK);

    rtcap_stats s;
    std::memset(&s, 0xff, sizeof s);
    s.size = sizeof s;
    ASSERT_EQ(rtcap_engine_stats(e, &s), RTCAP_OK);
    EXPECT_EQ(s.size, sizeof s);
    EXPECT_EQ(s.packets_captured, kSamplePackets);
    EXPECT_EQ(s.packets_delivered, kSamplePackets);
    EXPECT_EQ(s.kernel_dropped, 0u);
    EXPECT_EQ(s.app_dropped_packets, 0u);
    // An older caller's smaller struct: only its prefix is written, and size says so.
    struct {
      rtcap_stats head;
      unsigned char guard[8];
    } small;
    std::memset(&small, 0xab, sizeof small);
    small.head.size = offsetof(rtcap_stats, bytes_captured);
    ASSERT_EQ(rtcap_engine_stats(e, &small.head), RTCAP_OK);
    EXPECT_EQ(small.head.size, offsetof(rtcap_stats, bytes_captured));
    EXPECT_EQ(small.head.packets_captured, kSamplePackets);
    const unsigned char* tail = reinterpret_cast<const unsigned char*>(&small.head.bytes_captured);
    EXPECT_EQ(tail[0], 0xab) << "wrote past the caller's size";
    rtcap_stats zero{};
    EXPECT_EQ(rtcap_engine_stats(e, &zero), RTCAP_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(rtcap_engine_stats(e, nullptr), RTCAP_ERR_INVALID_ARGUMENT);

    std::size_t count = 0;
    ASSERT_EQ(rtcap_engine_interface_count(e, &count), RTCAP_OK);
    ASSERT_EQ(count, 1u);
    rtcap_interface_info info{};
    info.size = sizeof info;
    ASSERT_EQ(rtcap_engine_interface_info(e, 0, &info), RTCAP_OK);
    EXPECT_EQ(info.linktype, 1);  // DLT_EN10MB
    EXPECT_NE(info.name, nullptr);
    EXPECT_EQ(rtcap_engine_interface_info(e, 1, &info), RTCAP_ERR_INVALID_ARGUMENT);
    const char* w = nullptr;
    EXPECT_EQ(rtcap_engine_warning(e, 1000, &w), RTCAP_ERR_INVALID_ARGUMENT);

    EXPECT_EQ(rtcap_engine_close(e), RTCAP_OK);
    // Double close: an error code, and the handle stays dead.
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_NE(last().find("closed"), std::string::npos) << last();
    EXPECT_EQ(rtcap_engine_poll(e, 0, count_packets, &n, nullptr), RTCAP_ERR_INVALID_HANDLE);
  }
}

TEST(Capi, DoubleConfigFree) {
  rtcap_config* c = nullptr;
  ASSERT_EQ(rtcap_config_new(&c), RTCAP_OK);
  EXPECT_EQ(rtcap_config_free(c), RTCAP_OK);
  EXPECT_EQ(rtcap_config_free(c), RTCAP_ERR_INVALID_HANDLE);
  EXPECT_EQ(rtcap_config_set_filter(c, "udp"), RTCAP_ERR_INVALID_HANDLE);
}

TEST(Capi, WrongStateAndModeCalls) {
  Config cfg;
  ASSERT_EQ(rtcap_config_set_read_file(cfg.c, kSample), RTCAP_OK);
  ASSERT_EQ(rtcap_config_set_delivery(cfg.c, RTCAP_DELIVERY_THREADED), RTCAP_OK);
  rtcap_engine* e = nullptr;
  ASSERT_EQ(rtcap_engine_open(cfg.c, &e), RTCAP_OK) << last();
  std::uint64_t n = 0;
  EXPECT_EQ(rtcap_engine_poll(e, 0, count_packets, &n, nullptr), RTCAP_ERR_WRONG_STATE);
  EXPECT_NE(last().find("start the capture thread first"), std::string::npos) << last();
  EXPECT_EQ(rtcap_engine_poll(e, 0, nullptr, &n, nullptr), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_engine_poll(e, -1, count_packets, &n, nullptr), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_engine_start(e), RTCAP_OK);
  EXPECT_EQ(rtcap_engine_start(e), RTCAP_ERR_WRONG_STATE);
  EXPECT_EQ(rtcap_engine_dispatch(e, count_packets, &n, nullptr), RTCAP_ERR_WRONG_STATE);
  intptr_t handles[4];
  std::size_t count = 0;
  int64_t max_wait = 0;
  EXPECT_EQ(rtcap_engine_readiness(e, handles, 4, &count, &max_wait), RTCAP_ERR_WRONG_STATE);
  EXPECT_EQ(drain(e, count_packets, &n), RTCAP_DONE) << last();
  EXPECT_EQ(n, kSamplePackets);
  EXPECT_EQ(rtcap_engine_close(e), RTCAP_OK);
}

TEST(Capi, InlineReadinessAndDispatchInAnOwnLoop) {
  Config cfg;
  ASSERT_EQ(rtcap_config_set_read_file(cfg.c, kSample), RTCAP_OK);
  rtcap_engine* e = nullptr;
  ASSERT_EQ(rtcap_engine_open(cfg.c, &e), RTCAP_OK) << last();  // inline: the default
  EXPECT_EQ(rtcap_engine_start(e), RTCAP_ERR_WRONG_STATE);
  EXPECT_NE(last().find("inline delivery has no capture thread"), std::string::npos) << last();
  std::size_t count = 99;
  int64_t max_wait = 0;
  EXPECT_EQ(rtcap_engine_readiness(e, nullptr, 0, nullptr, &max_wait), RTCAP_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(rtcap_engine_readiness(e, nullptr, 4, &count, &max_wait), RTCAP_ERR_INVALID_ARGUMENT);
  const int first = rtcap_engine_readiness(e, nullptr, 0, &count, &max_wait);
  ASSERT_TRUE(first == RTCAP_OK || first == RTCAP_ERR_BUFFER_TOO_SMALL) << last();
  if (first == RTCAP_ERR_BUFFER_TOO_SMALL) {
    EXPECT_GT(count, 0u);
    EXPECT_NE(last().find("room for 0"), std::string::npos) << last();
  }
  std::uint64_t n = 0;
  int st = RTCAP_OK;
  for (int i = 0; i < 100000 && st == RTCAP_OK; ++i) {
    intptr_t handles[16];
    ASSERT_EQ(rtcap_engine_readiness(e, handles, 16, &count, &max_wait), RTCAP_OK) << last();
    ASSERT_LE(count, 16u);
    st = rtcap_engine_dispatch(e, count_packets, &n, nullptr);
  }
  EXPECT_EQ(st, RTCAP_DONE) << last();
  EXPECT_EQ(n, kSamplePackets);
  EXPECT_EQ(rtcap_engine_close(e), RTCAP_OK);
}

namespace {
struct FailAfter {
  std::uint64_t seen = 0;
  int calls = 0;
  int fail_on_call;
  int result;
};
int fail_after(void* user, const rtcap_batch* b) {
  auto* f = static_cast<FailAfter*>(user);
  f->seen += b->count;
  return ++f->calls == f->fail_on_call ? f->result : 0;
}
}  // namespace

TEST(Capi, CallbackErrorStopsTheCaptureWithItsCode) {
  for (rtcap_delivery d : kDeliveries) {
    SCOPED_TRACE(d);
    rtcap_engine* e = open_sample(d, 100);
    ASSERT_NE(e, nullptr);
    FailAfter f{0, 0, 2, 7};
    int st = RTCAP_OK;
    while ((st = rtcap_engine_poll(e, 100000, fail_after, &f, nullptr)) == RTCAP_OK) {
    }
    EXPECT_EQ(st, RTCAP_ERR_CALLBACK);
    EXPECT_NE(last().find("the batch callback returned 7: capture stopped"), std::string::npos)
        << last();
    rtcap_stop_reason why;
    ASSERT_EQ(rtcap_engine_stop_reason(e, &why), RTCAP_OK);
    EXPECT_TRUE(why == RTCAP_STOP_CALLBACK || why == RTCAP_STOP_END_OF_FILE) << why;
    // Polling on delivers what was already captured, then RTCAP_DONE.
    std::uint64_t rest = 0;
    EXPECT_EQ(drain(e, count_packets, &rest), RTCAP_DONE) << last();
    EXPECT_LE(f.seen + rest, kSamplePackets);
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_OK);
  }
}

namespace {
struct Reentrant {
  rtcap_engine* engine;
  int poll_rc = 0, close_rc = 0, stop_rc = 0, dispatch_rc = 0, after_close_rc = 0;
  bool close = false;  // close last, from inside the callback
  int calls = 0;
};
int reenter(void* user, const rtcap_batch*) {
  auto* r = static_cast<Reentrant*>(user);
  if (r->calls++ > 0) return 0;
  std::uint64_t n = 0;
  r->poll_rc = rtcap_engine_poll(r->engine, 0, count_packets, &n, nullptr);
  r->dispatch_rc = rtcap_engine_dispatch(r->engine, count_packets, &n, nullptr);
  r->stop_rc = rtcap_engine_stop(r->engine);
  if (r->close) {
    r->close_rc = rtcap_engine_close(r->engine);
    r->after_close_rc = rtcap_engine_stop(r->engine);
  }
  return 0;
}
int throw_from_callback(void*, const rtcap_batch*) { throw std::runtime_error("disk on fire"); }
}  // namespace

TEST(Capi, CallsFromInsideTheCallback) {
  for (rtcap_delivery d : kDeliveries) {
    SCOPED_TRACE(d);
    rtcap_engine* e = open_sample(d);
    ASSERT_NE(e, nullptr);
    Reentrant r{e};
    EXPECT_EQ(drain(e, reenter, &r), RTCAP_DONE) << last();
    EXPECT_GE(r.calls, 1);  // what was captured before the stop is still delivered
    EXPECT_EQ(r.poll_rc, RTCAP_ERR_BUSY);
    EXPECT_EQ(r.dispatch_rc, d == RTCAP_DELIVERY_INLINE ? RTCAP_ERR_BUSY : RTCAP_ERR_WRONG_STATE);
    EXPECT_EQ(r.stop_rc, RTCAP_OK);  // stop is allowed anywhere
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_OK);
  }
}

// Closing from inside the callback is what destroying a C++ Engine there is: allowed and safe
// (ASan in CI). The handle goes at once, the callback is not called again, and the engine is
// freed when the poll returns.
TEST(Capi, CloseFromInsideTheCallbackIsSafe) {
  for (rtcap_delivery d : kDeliveries) {
    SCOPED_TRACE(d);
    rtcap_engine* e = open_sample(d);
    ASSERT_NE(e, nullptr);
    Reentrant r{e};
    r.close = true;
    // 10 s: poll returns at the first batch; the threaded engine under load may take a while.
    const int rc = rtcap_engine_poll(e, 10000000, reenter, &r, nullptr);
    EXPECT_TRUE(rc == RTCAP_OK || rc == RTCAP_DONE) << rc << " " << last();
    EXPECT_EQ(r.calls, 1);
    EXPECT_EQ(r.close_rc, RTCAP_OK) << last();
    EXPECT_EQ(r.after_close_rc, RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_poll(e, 0, reenter, &r, nullptr), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(r.calls, 1);
  }
}

namespace {
struct Nested {
  rtcap_engine* outer;
  rtcap_engine* inner;
  int outer_calls = 0, close_rc = 1;
};
int close_outer(void* user, const rtcap_batch*) {
  auto* n = static_cast<Nested*>(user);
  if (n->close_rc == 1) n->close_rc = rtcap_engine_close(n->outer);
  return 0;
}
int poll_inner(void* user, const rtcap_batch*) {
  auto* n = static_cast<Nested*>(user);
  ++n->outer_calls;
  rtcap_engine_poll(n->inner, 10000000, close_outer, n, nullptr);
  return 0;
}
}  // namespace

// Inside the outer engine's callback, another engine's callback closes the outer engine: still
// on the outer poll's thread, so allowed, and the outer callback is not called again.
TEST(Capi, CloseFromACallbackNestedInItsOwn) {
  Nested n{open_sample(RTCAP_DELIVERY_INLINE, 100), open_sample(RTCAP_DELIVERY_INLINE)};
  ASSERT_NE(n.outer, nullptr);
  ASSERT_NE(n.inner, nullptr);
  const int rc = rtcap_engine_poll(n.outer, 10000000, poll_inner, &n, nullptr);
  EXPECT_TRUE(rc == RTCAP_OK || rc == RTCAP_DONE) << rc << " " << last();
  EXPECT_EQ(n.close_rc, RTCAP_OK) << last();
  EXPECT_EQ(n.outer_calls, 1);
  EXPECT_EQ(rtcap_engine_close(n.outer), RTCAP_ERR_INVALID_HANDLE);
  EXPECT_EQ(rtcap_engine_close(n.inner), RTCAP_OK);
}

TEST(Capi, ACallbackThatThrowsIsCaught) {
  for (rtcap_delivery d : kDeliveries) {
    SCOPED_TRACE(d);
    rtcap_engine* e = open_sample(d);
    ASSERT_NE(e, nullptr);
    int st;
    while ((st = rtcap_engine_poll(e, 100000, throw_from_callback, nullptr, nullptr)) == RTCAP_OK) {
    }
    EXPECT_EQ(st, RTCAP_ERR_CALLBACK);
    EXPECT_NE(last().find("threw disk on fire"), std::string::npos) << last();
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_OK);
  }
}

namespace {
struct Blocker {
  std::mutex m;
  std::condition_variable cv;
  bool in_callback = false, release = false;
};
int block_in_callback(void* user, const rtcap_batch*) {
  auto* b = static_cast<Blocker*>(user);
  std::unique_lock lock(b->m);
  b->in_callback = true;
  b->cv.notify_all();
  b->cv.wait(lock, [&] { return b->release; });
  return 0;
}
}  // namespace

TEST(Capi, CloseAndStopFromAnotherThreadDuringAPoll) {
  for (rtcap_delivery d : kDeliveries) {
    SCOPED_TRACE(d);
    rtcap_engine* e = open_sample(d);
    ASSERT_NE(e, nullptr);
    Blocker b;
    std::thread consumer([&] { drain(e, block_in_callback, &b); });
    {
      std::unique_lock lock(b.m);
      b.cv.wait(lock, [&] { return b.in_callback; });
    }
    // The consumer is inside the callback: stop and the getters work from here. Close is
    // refused: the callback may run again after it, with what the application frees once close
    // returns; the engine stays open and capture goes on.
    EXPECT_EQ(rtcap_engine_stop(e), RTCAP_OK);
    rtcap_stats s{};
    s.size = sizeof s;
    EXPECT_EQ(rtcap_engine_stats(e, &s), RTCAP_OK);  // any thread
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_ERR_BUSY);
    EXPECT_NE(last().find("rtcap_engine_close: another thread is inside a call on this engine"),
              std::string::npos)
        << last();
    int done = 0;
    EXPECT_EQ(rtcap_engine_done(e, &done), RTCAP_OK);
    {
      std::lock_guard lock(b.m);
      b.release = true;
    }
    b.cv.notify_all();
    consumer.join();
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_OK) << last();
    EXPECT_EQ(rtcap_engine_close(e), RTCAP_ERR_INVALID_HANDLE);
    EXPECT_EQ(rtcap_engine_done(e, &done), RTCAP_ERR_INVALID_HANDLE);
  }
}

TEST(Capi, ManyThreadsHammerOneHandleWhileItCloses) {
  // Stop, stats and done from 4 threads while the main thread drains and closes: every call
  // returns OK or INVALID_HANDLE (after the close), never anything else, never a crash.
  rtcap_engine* e = open_sample(RTCAP_DELIVERY_THREADED);
  ASSERT_NE(e, nullptr);
  std::atomic<bool> go{true};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      while (go.load()) {
        rtcap_stats s{};
        s.size = sizeof s;
        int done = 0;
        for (int rc : {rtcap_engine_stats(e, &s), rtcap_engine_done(e, &done)})
          if (rc != RTCAP_OK && rc != RTCAP_ERR_INVALID_HANDLE) ++unexpected;
        std::this_thread::yield();
      }
    });
  std::uint64_t n = 0;
  EXPECT_EQ(drain(e, count_packets, &n), RTCAP_DONE);
  int rc;
  while ((rc = rtcap_engine_close(e)) == RTCAP_ERR_BUSY) std::this_thread::yield();
  EXPECT_EQ(rc, RTCAP_OK);
  go = false;
  for (auto& t : threads) t.join();
  EXPECT_EQ(unexpected.load(), 0);
}

#endif  // _WIN32
