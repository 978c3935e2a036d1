#include "capture/npcap_loader_windows.hpp"

#include <windows.h>

#include <string>

namespace rtcap::tool {
namespace {

std::string narrow(const std::wstring& w) {
  if (w.empty()) return {};
  const int n =
      WideCharToMultiByte(CP_UTF8, 0, w.data(), int(w.size()), nullptr, 0, nullptr, nullptr);
  std::string s(std::size_t(n > 0 ? n : 0), '\0');
  if (n > 0)
    WideCharToMultiByte(CP_UTF8, 0, w.data(), int(w.size()), s.data(), n, nullptr, nullptr);
  return s;
}

std::string error_text(DWORD err) {
  char* text = nullptr;
  const DWORD n = FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, err, 0, reinterpret_cast<char*>(&text), 0, nullptr);
  std::string s = n && text ? std::string(text, n) : "Windows error " + std::to_string(err);
  if (text) LocalFree(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '.'))
    s.pop_back();
  return s;
}

constexpr const char* kNotInstalled =
    "Npcap is not installed: install it from https://npcap.com (WinPcap API-compatible mode not "
    "required)";

// The newest functions rtcap calls (libpcap 1.5 API and the Npcap extensions): a wpcap.dll
// without them is not a usable Npcap, and the delay-load helper would only fail at their first
// call, mid-capture.
constexpr const char* kRequiredExports[] = {"pcap_set_immediate_mode",
                                            "pcap_set_tstamp_precision",
                                            "pcap_open_offline_with_tstamp_precision",
                                            "pcap_getevent",
                                            "pcap_setmintocopy",
                                            "pcap_setuserbuffer"};

}  // namespace

std::string load_npcap() {
  wchar_t system_dir[MAX_PATH];
  const UINT len = GetSystemDirectoryW(system_dir, MAX_PATH);
  if (len == 0 || len >= MAX_PATH)
    return "cannot find the Windows system directory to look for Npcap: " +
           error_text(GetLastError());
  const std::wstring npcap_dir = std::wstring(system_dir, len) + L"\\Npcap";
  // Npcap's guide: make System32\Npcap the DLL directory so that wpcap.dll and the Packet.dll it
  // imports come from Npcap, never from a WinPcap or another program's copy on the PATH.
  SetDllDirectoryW(npcap_dir.c_str());
  const std::wstring dll = npcap_dir + L"\\wpcap.dll";
  // By full path: loaded here, the delay-load helper's LoadLibrary("wpcap.dll") later finds this
  // module already in the process. A module stays loaded until the process ends.
  HMODULE module = LoadLibraryExW(dll.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
  if (!module) {
    const DWORD err = GetLastError();
    if (err == ERROR_MOD_NOT_FOUND || err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
      return kNotInstalled;
    return "Npcap's " + narrow(dll) + " cannot be loaded (" + error_text(err) +
           "): reinstall Npcap from https://npcap.com";
  }
  for (const char* name : kRequiredExports) {
    if (!GetProcAddress(module, name))
      return narrow(dll) + " has no " + name +
             ": this Npcap is too old for rtcap; install the current one from https://npcap.com";
  }
  return {};
}

}  // namespace rtcap::tool
