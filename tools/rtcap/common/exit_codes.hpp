// rtcap's exit codes (README "Exit codes" lists the same).
#pragma once

#include "rtcap/error.hpp"

namespace rtcap::tool {

inline constexpr int kExitOk = 0;         // done: count reached, end of file, SIGINT/SIGTERM
inline constexpr int kExitRuntime = 1;    // capture or output failed after it started
inline constexpr int kExitUsage = 2;      // bad option or bad filter: nothing was captured
inline constexpr int kExitSetup = 3;      // cannot open: no such interface, permission, down
inline constexpr int kExitNoPcapLib = 4;  // Windows: Npcap is not installed

inline int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadFilter:
    case ErrorCode::kBadConfig:
      return kExitUsage;
    case ErrorCode::kCaptureFailed:
      return kExitRuntime;
    default:
      return kExitSetup;
  }
}

}  // namespace rtcap::tool
