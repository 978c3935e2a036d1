// Inline delivery in a Windows application's own wait loop: WaitForMultipleObjects on rtcap's
// readiness handles (each adapter's pcap_getevent event, then the engine's wake-up event) and a
// waitable timer of the application's own, then Engine::dispatch(). This is the loop the Npcap
// maintainers describe (wait on the event, pcap_dispatch, callback on every packet), with the
// statistics, -c and stop handling of rtcap.
//
// Usage: wait_capture -i ADAPTER [packets] [filter]
// Prints one line: packets, bytes, timer ticks served, and the engine's statistics.
#include <rtcap/engine.hpp>

#include <windows.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cwchar>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) != "-i") {
    std::fprintf(stderr, "usage: %s -i ADAPTER [packets] [filter]\n", argv[0]);
    return 2;
  }
  // Npcap installs wpcap.dll in System32\Npcap, which is not on the DLL search path; rtcap
  // loads it at the first pcap call (delay-load), so say where before opening anything.
  wchar_t npcap_dir[MAX_PATH];
  const UINT n = GetSystemDirectoryW(npcap_dir, MAX_PATH - 7);
  if (n == 0 || n >= MAX_PATH - 7) return 1;
  wcscpy(npcap_dir + n, L"\\Npcap");
  SetDllDirectoryW(npcap_dir);

  rtcap::CaptureConfig config;  // delivery is inline by default
  config.interfaces.push_back(argv[2]);
  config.max_packets = argc > 3 ? std::atoll(argv[3]) : 1000;
  if (argc > 4) config.filter = argv[4];

  auto opened = rtcap::Engine::open(config);
  if (!opened) {
    std::fprintf(stderr, "wait_capture: %s\n", opened.error().message.c_str());
    return 1;
  }
  rtcap::Engine& engine = **opened;
  for (const auto& w : engine.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());

  // The application's own 10 ms timer, in the same wait as the capture.
  HANDLE timer = CreateWaitableTimerW(nullptr, FALSE, nullptr);
  LARGE_INTEGER due;
  due.QuadPart = -100000;  // 10 ms, in 100 ns units, relative
  SetWaitableTimer(timer, &due, 10, nullptr, nullptr, FALSE);
  std::vector<HANDLE> handles{timer};
  for (rtcap::WaitHandle h : engine.readiness().handles)
    handles.push_back(reinterpret_cast<HANDLE>(h));

  std::uint64_t packets = 0, bytes = 0, ticks = 0;
  auto on_batch = [&](const rtcap::Batch& batch) {  // a view, valid during the call
    for (rtcap::PacketView p : batch) {
      ++packets;
      bytes += p.bytes.size();
    }
  };
  while (!engine.done()) {
    const std::int64_t max_wait_us = engine.readiness().max_wait_us;
    const DWORD timeout_ms =
        max_wait_us < 0
            ? 100
            : static_cast<DWORD>(max_wait_us > 100000 ? 100 : (max_wait_us + 999) / 1000);
    const DWORD r = WaitForMultipleObjects(static_cast<DWORD>(handles.size()), handles.data(),
                                           FALSE, timeout_ms);
    if (r == WAIT_OBJECT_0) {
      ++ticks;  // our timer: the application's own work would go here
      continue;
    }
    (void)engine.dispatch(on_batch);  // an adapter event, rtcap's wake-up, or the time limit
  }
  CloseHandle(timer);

  const rtcap::CaptureStats s = engine.stats();
  std::printf("packets=%llu bytes=%llu ticks=%llu captured=%llu kernel_dropped=%llu\n",
              (unsigned long long)packets, (unsigned long long)bytes, (unsigned long long)ticks,
              (unsigned long long)s.packets_captured, (unsigned long long)s.kernel_dropped());
  if (auto f = engine.failure()) {
    std::fprintf(stderr, "wait_capture: %s\n", f->message.c_str());
    return 1;
  }
  return packets == s.packets_captured ? 0 : 1;
}
