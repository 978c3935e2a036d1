/* Embedding rtcap from C: capture on an interface (or read a file) on this thread, count the
 * packets in the batch callback, stop after some seconds, print the statistics.
 *
 *   rtcap_count (-i IFACE | -r FILE) [-t] [seconds] [filter]      -t: threaded delivery
 *
 * Built against the installed package: examples/c/CMakeLists.txt (find_package(rtcap)) or
 * examples/pkgconfig/Makefile (pkg-config rtcap). C99, nothing but rtcap.h and the C library. */
#include <rtcap/rtcap.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct counts {
  unsigned long long packets;
  unsigned long long bytes;
};

static int on_batch(void* user, const rtcap_batch* batch) {
  struct counts* c = (struct counts*)user;
  size_t i;
  for (i = 0; i < batch->count; ++i) {
    const rtcap_packet* p = rtcap_batch_packet(batch, i);
    c->bytes += p->caplen;
  }
  c->packets += batch->count;
  return 0; /* non-zero would stop the capture */
}

static int fail(const char* what) {
  fprintf(stderr, "rtcap_count: %s: %s\n", what, rtcap_last_error());
  return 1;
}

int main(int argc, char** argv) {
  rtcap_config* config = NULL;
  rtcap_engine* engine = NULL;
  struct counts counts = {0, 0};
  rtcap_stats stats;
  int arg = 3, seconds = 5, st, threaded = 0;
  time_t deadline;
  size_t i, nwarnings = 0;

  if (argc < 3 || (strcmp(argv[1], "-i") != 0 && strcmp(argv[1], "-r") != 0)) {
    fprintf(stderr, "usage: %s (-i IFACE | -r FILE) [-t] [seconds] [filter]\n", argv[0]);
    return 2;
  }
  if (arg < argc && strcmp(argv[arg], "-t") == 0) {
    threaded = 1;
    ++arg;
  }
  if (arg < argc) seconds = atoi(argv[arg++]);

  if (rtcap_config_new(&config) != RTCAP_OK) return fail("config");
  st = strcmp(argv[1], "-r") == 0 ? rtcap_config_set_read_file(config, argv[2])
                                  : rtcap_config_add_interface(config, argv[2]);
  if (st != RTCAP_OK) return fail("config");
  if (arg < argc && rtcap_config_set_filter(config, argv[arg]) != RTCAP_OK) return fail("filter");
  if (threaded && rtcap_config_set_delivery(config, RTCAP_DELIVERY_THREADED) != RTCAP_OK)
    return fail("delivery");
  st = rtcap_engine_open(config, &engine);
  rtcap_config_free(config); /* the engine has its own copy */
  if (st != RTCAP_OK) return fail("open");
  rtcap_engine_warning_count(engine, &nwarnings);
  for (i = 0; i < nwarnings; ++i) {
    const char* w = NULL;
    if (rtcap_engine_warning(engine, i, &w) == RTCAP_OK) fprintf(stderr, "warning: %s\n", w);
  }
  /* Threaded: start the capture thread. Inline: poll captures on this thread. */
  if (threaded && rtcap_engine_start(engine) != RTCAP_OK) return fail("start");

  deadline = time(NULL) + seconds;
  while ((st = rtcap_engine_poll(engine, 50000, on_batch, &counts, NULL)) == RTCAP_OK)
    if (time(NULL) >= deadline) rtcap_engine_stop(engine); /* then poll delivers the rest */
  if (st != RTCAP_DONE) fprintf(stderr, "rtcap_count: capture: %s\n", rtcap_last_error());

  memset(&stats, 0, sizeof stats);
  stats.size = sizeof stats;
  if (rtcap_engine_stats(engine, &stats) != RTCAP_OK) return fail("stats");
  printf(
      "packets=%llu bytes=%llu captured=%llu received=%llu kernel_dropped=%llu "
      "app_dropped=%llu latency_p99_ns=%llu\n",
      counts.packets, counts.bytes, (unsigned long long)stats.packets_captured,
      (unsigned long long)stats.received, (unsigned long long)stats.kernel_dropped,
      (unsigned long long)stats.app_dropped_packets, (unsigned long long)stats.latency_p99_ns);
  if (rtcap_engine_close(engine) != RTCAP_OK) return fail("close");
  return st == RTCAP_DONE && counts.packets == stats.packets_captured ? 0 : 1;
}
