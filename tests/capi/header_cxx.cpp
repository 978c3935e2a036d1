// rtcap.h compiles as C++17 (tests/capi/CMakeLists.txt), and the layouts of the structs that cross
// the C ABI are pinned here: changing one breaks programs built against librtcap.so.1 (and
// python/rtcap.py, which declares them again), so it must fail the build, not pass unnoticed.
#include <rtcap/rtcap.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

static_assert(std::is_standard_layout_v<rtcap_packet> && std::is_trivial_v<rtcap_packet>);
#if UINTPTR_MAX == UINT64_MAX  // the 64-bit layouts (Linux x86-64/arm64, Windows x64)
static_assert(offsetof(rtcap_packet, ts_ns) == 0);
static_assert(offsetof(rtcap_packet, data) == 8);
static_assert(offsetof(rtcap_packet, caplen) == 8 + sizeof(void*));
static_assert(offsetof(rtcap_packet, wire_len) == 12 + sizeof(void*));
static_assert(offsetof(rtcap_packet, interface_index) == 16 + sizeof(void*));
static_assert(sizeof(rtcap_packet) == 24 + sizeof(void*));
static_assert(offsetof(rtcap_batch, count) == 0);
static_assert(offsetof(rtcap_batch, packet_size) == sizeof(size_t));
static_assert(offsetof(rtcap_batch, packets) == 2 * sizeof(size_t));
static_assert(offsetof(rtcap_stats, size) == 0);
static_assert(offsetof(rtcap_stats, elapsed_ns) == 8);
static_assert(offsetof(rtcap_stats, received) == 8 + 13 * 8);
static_assert(offsetof(rtcap_stats, latency_max_ns) == 8 + 20 * 8);
static_assert(offsetof(rtcap_stats, thread_handoffs) == 8 + 21 * 8);
static_assert(offsetof(rtcap_stats, interface_reopens) == 8 + 22 * 8);
static_assert(offsetof(rtcap_stats, callback_ns) == 8 + 25 * 8);
static_assert(sizeof(rtcap_stats) == 8 + 26 * 8, "rtcap_stats: append fields only");
static_assert(offsetof(rtcap_interface_info, size) == 0);
static_assert(offsetof(rtcap_interface_info, buffer_bytes) ==
              8 + sizeof(void*) + 3 * 4 + 4 + 3 * 8);
static_assert(sizeof(rtcap_interface_info) == 8 + sizeof(void*) + 3 * 4 + 4 + 8 * 8);
#endif
static_assert(sizeof(rtcap_status) == sizeof(int) && sizeof(rtcap_delivery) == sizeof(int));
static_assert(RTCAP_OK == 0 && RTCAP_DONE == 1 && RTCAP_ERR_NO_SUCH_DEVICE == -1 &&
                  RTCAP_ERR_UNSUPPORTED == -9 && RTCAP_ERR_INVALID_ARGUMENT == -20 &&
                  RTCAP_ERR_INTERNAL == -27,
              "status values are ABI: never renumber");

int rtcap_header_cxx_uses(const rtcap_batch* batch) {
  rtcap_stats stats{};
  stats.size = sizeof stats;
  return static_cast<int>(stats.size + rtcap_batch_packet(batch, 0)->caplen);
}
