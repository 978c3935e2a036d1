// Windows: RtlGetVersion from ntdll (os_info.hpp).
#include <windows.h>

#include "platform/os_info.hpp"

namespace rtcap::platform {
std::string os_description() {
  // GetVersionEx reports 6.2 to programs without a compatibility manifest; ntdll does not lie.
  using RtlGetVersionFn = LONG(WINAPI*)(OSVERSIONINFOW*);
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  const auto get = ntdll ? reinterpret_cast<RtlGetVersionFn>(
                               reinterpret_cast<void*>(GetProcAddress(ntdll, "RtlGetVersion")))
                         : nullptr;
  OSVERSIONINFOW v{};
  v.dwOSVersionInfoSize = sizeof v;
  if (!get || get(&v) != 0) return "Windows";
  return "Windows " + std::to_string(v.dwMajorVersion) + "." + std::to_string(v.dwMinorVersion) +
         "." + std::to_string(v.dwBuildNumber);
}
}  // namespace rtcap::platform
