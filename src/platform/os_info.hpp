// The operating system's name and version, as the pcapng section header's shb_os records it
// ("Linux 6.1.0-28-amd64", "Windows 10.0.22631"). Empty when it cannot be told.
// Linux (os_info_linux.cpp): uname. Windows (os_info_windows.cpp): RtlGetVersion.
#pragma once

#include <string>

namespace rtcap::platform {
std::string os_description();
}  // namespace rtcap::platform
