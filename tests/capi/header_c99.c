/* rtcap.h compiles as strict C99 (tests/capi/CMakeLists.txt) and every declaration is usable. */
#include <rtcap/rtcap.h>

int rtcap_header_c99_uses(const rtcap_batch* batch);
int rtcap_header_c99_uses(const rtcap_batch* batch) {
  rtcap_stats stats = {0}; /* the idiom of rtcap.h: zero it, then set the size */
  rtcap_interface_info info = {0};
  rtcap_batch_fn fn = 0;
  const rtcap_packet* p = rtcap_batch_packet(batch, 0);
  stats.size = sizeof stats;
  info.size = sizeof info;
  (void)fn;
  return (int)(stats.size + info.size + p->caplen) + RTCAP_C_API_VERSION + RTCAP_ERR_INTERNAL;
}
