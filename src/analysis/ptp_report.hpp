// The PTP part of the stream table and of --streams-json (report.cpp calls these). Private.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "rtcap/analysis.hpp"

namespace rtcap::analysis {

// The PTP section under the stream table: per domain the grandmaster, its changes, the masters
// with their measured intervals. Empty when no PTP was seen.
[[nodiscard]] std::string format_ptp_section(const PtpSnapshot& ptp);
// One line under a stream whose SDP names a PTP reference clock; empty otherwise.
[[nodiscard]] std::string format_ptp_stream_line(const StreamSummary& s);
// The status line's PTP part: per domain with a grandmaster, its short id (last three octets),
// the capture-clock offset estimate and "GM CHANGED" for a change within the last minute of
// packet time: " | ptp d0 gm ..07-CB-D0 off +1.20 ms +-3.1 us". Empty when no Announce was seen.
[[nodiscard]] std::string format_ptp_status(const PtpSnapshot& ptp);
[[nodiscard]] nlohmann::json ptp_json(const PtpSnapshot& ptp);
// The stream's "ptp" object: its SDP's reference clock and the match; null without one.
[[nodiscard]] nlohmann::json ptp_stream_json(const StreamSummary& s);

}  // namespace rtcap::analysis
