// The default command: capture (or read a file), write, print status and the summary.
#pragma once

#include "capture/capture_options.hpp"

namespace rtcap::tool {

int run_capture(CaptureOptions& options);

}  // namespace rtcap::tool
