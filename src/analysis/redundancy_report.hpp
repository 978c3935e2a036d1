// The ST 2022-7 part of the stream table and of --streams-json (report.cpp calls these). Private.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "rtcap/analysis.hpp"

namespace rtcap::analysis {

// The 2022-7 section under the stream table: per pair its legs, per-path and merged loss, the
// path differential against the skew classes and the buffer it needs. Empty without pairs.
[[nodiscard]] std::string format_redundancy_section(const TrackerSnapshot& snap);
[[nodiscard]] nlohmann::json redundancy_json(const TrackerSnapshot& snap);

}  // namespace rtcap::analysis
