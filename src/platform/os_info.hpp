// The operating system's name and version, as the pcapng section header's shb_os records it
// ("Linux 6.1.0-28-amd64", "Windows 10.0.22631"). Empty when it cannot be told.
// Linux (os_info_linux.cpp): uname. Windows (os_info_windows.cpp): RtlGetVersion.
// Also the running program's path.
#pragma once

#include <string>

namespace rtcap::platform {
std::string os_description();
// The running program's file, for advice that names it ("setcap ... /usr/bin/app"). Linux: the
// /proc/self/exe link; Windows: GetModuleFileNameW. Empty when it cannot be told.
std::string program_path();
}  // namespace rtcap::platform
