// The naive baseline, for `rtcap bench` and `rtcap --mode naive` only (internal: the
// benchmark-only parts stay out of the public headers). An application opens engines with
// Engine::open, which always runs the dispatch loop.
#pragma once

#include <memory>

#include "rtcap/config.hpp"
#include "rtcap/engine.hpp"
#include "rtcap/error.hpp"

namespace rtcap::detail {

enum class CaptureMode {
  kDispatch,  // wait on the selectable fd, pcap_dispatch(-1) drains a batch (Engine::open)
  kNaive,     // the baseline the Npcap maintainers warn against: pcap_next_ex + heap copy + list
};

// Engine::open with the capture loop chosen: kNaive runs naive_capture.cpp's loop (threaded
// delivery, one interface).
Result<std::unique_ptr<Engine>> open_engine(const CaptureConfig& config, CaptureMode mode);

}  // namespace rtcap::detail
