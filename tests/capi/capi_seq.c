/* rtcap_capi_seq: captures through the C API only and checks, packet by packet, what
 * `rtcap gen --payload N` sent (raw UDP to port 5004, the first 8 payload bytes the big-endian
 * packet index: src/wire/wire.hpp): each index 0..expect-1 exactly once.
 *
 *   rtcap_capi_seq -i IFACE --expect N [--threaded] [--readiness] [--port 5004] [--netns NS]
 *   rtcap_capi_seq -i IFACE --stop-after-ms MS      (nothing expected: stop from another thread)
 *
 * --readiness (inline): waits on rtcap_engine_readiness() with poll(2) and calls
 * rtcap_engine_dispatch(), as an application with its own event loop does.
 * --stop-after-ms: a second thread calls rtcap_engine_stop while this one is inside a poll with a
 * 10 s timeout; prints how long the poll took to return after the stop.
 * Prints "listening" on stderr once open, then one line of key=value (the check, then every
 * field of rtcap_stats) on stdout. Exit 0 when every check holds. C99 + POSIX threads. */
#define _POSIX_C_SOURCE 200809L
#include <rtcap/rtcap.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct check {
  uint64_t expect;
  unsigned port;
  unsigned char* seen;
  uint64_t packets, matched, unique, duplicates, out_of_range, other;
};

static uint64_t be(const uint8_t* p, int n) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

static int on_batch(void* user, const rtcap_batch* batch) {
  struct check* c = (struct check*)user;
  size_t i;
  for (i = 0; i < batch->count; ++i) {
    const rtcap_packet* p = rtcap_batch_packet(batch, i);
    const uint8_t* d = p->data;
    size_t udp;
    uint64_t index;
    ++c->packets;
    if (p->caplen < 14 + 20 + 8 + 8 || be(d + 12, 2) != 0x0800 || d[14 + 9] != 17) {
      ++c->other;
      continue;
    }
    udp = 14 + (size_t)(d[14] & 0x0f) * 4;
    if (p->caplen < udp + 8 + 8 || be(d + udp + 2, 2) != c->port) {
      ++c->other;
      continue;
    }
    ++c->matched;
    index = be(d + udp + 8, 8);
    if (index >= c->expect) {
      ++c->out_of_range;
      continue;
    }
    if (c->seen[index]++)
      ++c->duplicates;
    else
      ++c->unique;
  }
  return 0;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

struct stopper {
  rtcap_engine* engine;
  int after_ms;
  double stopped_at_ms;
  int rc;
};

static void* stop_later(void* arg) {
  struct stopper* s = (struct stopper*)arg;
  struct timespec t;
  t.tv_sec = s->after_ms / 1000;
  t.tv_nsec = (long)(s->after_ms % 1000) * 1000000L;
  nanosleep(&t, NULL);
  s->stopped_at_ms = now_ms();
  s->rc = rtcap_engine_stop(s->engine);
  return NULL;
}

static int die(const char* what, int st) {
  fprintf(stderr, "rtcap_capi_seq: %s: %s: %s\n", what, rtcap_status_name(st), rtcap_last_error());
  return 2;
}

int main(int argc, char** argv) {
  const char* iface = NULL;
  const char* netns = NULL;
  struct check c;
  int threaded = 0, readiness = 0, stop_after_ms = -1, i, st;
  rtcap_config* config = NULL;
  rtcap_engine* engine = NULL;
  rtcap_stats s;
  size_t delivered = 0;

  memset(&c, 0, sizeof c);
  c.port = 5004;
  for (i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "-i") && i + 1 < argc)
      iface = argv[++i];
    else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
      c.expect = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--netns") && i + 1 < argc)
      netns = argv[++i];
    else if (!strcmp(argv[i], "--port") && i + 1 < argc)
      c.port = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threaded"))
      threaded = 1;
    else if (!strcmp(argv[i], "--readiness"))
      readiness = 1;
    else if (!strcmp(argv[i], "--stop-after-ms") && i + 1 < argc)
      stop_after_ms = atoi(argv[++i]);
    else {
      fprintf(stderr,
              "usage: %s -i IFACE (--expect N | --stop-after-ms MS) [--threaded] "
              "[--readiness] [--port P] [--netns NS]\n",
              argv[0]);
      return 2;
    }
  }
  if (!iface || (c.expect == 0 && stop_after_ms < 0)) {
    fprintf(stderr, "rtcap_capi_seq: give -i IFACE and --expect N or --stop-after-ms MS\n");
    return 2;
  }
  c.seen = (unsigned char*)calloc(c.expect ? c.expect : 1, 1);
  if (!c.seen) return 2;

  if ((st = rtcap_config_new(&config)) != RTCAP_OK) return die("config", st);
  if ((st = rtcap_config_add_interface(config, iface)) != RTCAP_OK) return die("interface", st);
  {
    char filter[64];
    snprintf(filter, sizeof filter, "udp dst port %u", c.port);
    if ((st = rtcap_config_set_filter(config, filter)) != RTCAP_OK) return die("filter", st);
  }
  if (netns && (st = rtcap_config_set_netns(config, netns)) != RTCAP_OK) return die("netns", st);
  if (c.expect && (st = rtcap_config_set_max_packets(config, (int64_t)c.expect)) != RTCAP_OK)
    return die("max packets", st);
  if (threaded && (st = rtcap_config_set_delivery(config, RTCAP_DELIVERY_THREADED)) != RTCAP_OK)
    return die("delivery", st);
  if ((st = rtcap_engine_open(config, &engine)) != RTCAP_OK) {
    /* Free what we hold: this is an expected path of the tests (a missing interface), and
       LeakSanitizer would turn the exit code into its own. */
    rtcap_config_free(config);
    free(c.seen);
    return die("open", st);
  }
  rtcap_config_free(config);
  if (threaded && (st = rtcap_engine_start(engine)) != RTCAP_OK) return die("start", st);
  fprintf(stderr, "rtcap_capi_seq: listening on %s (%s%s)\n", iface,
          threaded ? "threaded" : "inline", readiness ? ", readiness + dispatch" : "");

  if (stop_after_ms >= 0) {
    /* Stop from another thread while this one waits in a poll with a 10 s timeout. */
    pthread_t t;
    struct stopper sp;
    double returned_ms;
    sp.engine = engine;
    sp.after_ms = stop_after_ms;
    sp.stopped_at_ms = 0;
    sp.rc = -1;
    if (pthread_create(&t, NULL, stop_later, &sp) != 0) return 2;
    do {
      st = rtcap_engine_poll(engine, 10 * 1000 * 1000, on_batch, &c, NULL);
    } while (st == RTCAP_OK && sp.stopped_at_ms == 0);
    returned_ms = now_ms();
    pthread_join(t, NULL);
    while (st == RTCAP_OK) st = rtcap_engine_poll(engine, 100000, on_batch, &c, NULL);
    printf("stop_rc=%d poll_status=%s stop_to_return_ms=%.1f\n", sp.rc, rtcap_status_name(st),
           returned_ms - sp.stopped_at_ms);
    if ((st = rtcap_engine_close(engine)) != RTCAP_OK) return die("close", st);
    st = rtcap_engine_close(engine); /* again: an error code, not a crash */
    printf("second_close=%s\n", rtcap_status_name(st));
    free(c.seen);
    return sp.rc == RTCAP_OK && st == RTCAP_ERR_INVALID_HANDLE ? 0 : 1;
  }

  for (;;) {
    if (readiness) {
      intptr_t handles[16];
      struct pollfd fds[16];
      size_t n = 0, k;
      int64_t max_wait_us = -1;
      int timeout_ms;
      if ((st = rtcap_engine_readiness(engine, handles, 16, &n, &max_wait_us)) != RTCAP_OK)
        return die("readiness", st);
      for (k = 0; k < n; ++k) {
        fds[k].fd = (int)handles[k];
        fds[k].events = POLLIN;
        fds[k].revents = 0;
      }
      timeout_ms = max_wait_us < 0 ? 1000 : (int)((max_wait_us + 999) / 1000);
      if (timeout_ms > 1000) timeout_ms = 1000;
      poll(fds, (nfds_t)n, timeout_ms);
      st = rtcap_engine_dispatch(engine, on_batch, &c, &delivered);
    } else {
      st = rtcap_engine_poll(engine, 100000, on_batch, &c, &delivered);
    }
    if (st != RTCAP_OK) break;
  }
  if (st != RTCAP_DONE) return die("capture", st);

  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  if ((st = rtcap_engine_stats(engine, &s)) != RTCAP_OK) return die("stats", st);
  printf(
      "packets=%llu matched=%llu unique=%llu duplicates=%llu missing=%llu out_of_range=%llu "
      "other=%llu",
      (unsigned long long)c.packets, (unsigned long long)c.matched, (unsigned long long)c.unique,
      (unsigned long long)c.duplicates, (unsigned long long)(c.expect - c.unique),
      (unsigned long long)c.out_of_range, (unsigned long long)c.other);
  printf(
      " packets_captured=%llu bytes_captured=%llu packets_truncated=%llu "
      "app_dropped_packets=%llu packets_delivered=%llu batches_delivered=%llu wakeups=%llu "
      "dispatch_calls=%llu empty_dispatch_calls=%llu received=%llu kernel_dropped=%llu "
      "interface_dropped=%llu latency_count=%llu latency_p99_ns=%llu\n",
      (unsigned long long)s.packets_captured, (unsigned long long)s.bytes_captured,
      (unsigned long long)s.packets_truncated, (unsigned long long)s.app_dropped_packets,
      (unsigned long long)s.packets_delivered, (unsigned long long)s.batches_delivered,
      (unsigned long long)s.wakeups, (unsigned long long)s.dispatch_calls,
      (unsigned long long)s.empty_dispatch_calls, (unsigned long long)s.received,
      (unsigned long long)s.kernel_dropped, (unsigned long long)s.interface_dropped,
      (unsigned long long)s.latency_count, (unsigned long long)s.latency_p99_ns);
  if ((st = rtcap_engine_close(engine)) != RTCAP_OK) return die("close", st);
  free(c.seen);
  return c.unique == c.expect && c.duplicates == 0 && c.out_of_range == 0 ? 0 : 1;
}
