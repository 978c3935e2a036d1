// RFC 3551 static payload types and the names of the enums in rtcap/analysis.hpp.
#include "rtcap/analysis.hpp"

namespace rtcap {

namespace {

struct StaticType {
  const char* name;
  std::uint32_t clock_hz;
  int channels;  // audio: channels; 0: video or unassigned
};

// RFC 3551 section 6, table 4 (audio) and table 5 (video). Types 1, 2, 19 and 20..24, 27, 29, 30
// are reserved or unassigned (clock 0). G722's RTP clock is 8000 although it samples at 16 kHz
// (RFC 3551 section 4.5.2: an error in RFC 1890 kept for backward compatibility).
constexpr StaticType kStaticTypes[35] = {
    {"PCMU", 8000, 1},  {nullptr, 0, 0},    {nullptr, 0, 0},    {"GSM", 8000, 1},
    {"G723", 8000, 1},  {"DVI4", 8000, 1},  {"DVI4", 16000, 1}, {"LPC", 8000, 1},
    {"PCMA", 8000, 1},  {"G722", 8000, 1},  {"L16", 44100, 2},  {"L16", 44100, 1},
    {"QCELP", 8000, 1}, {"CN", 8000, 1},    {"MPA", 90000, 0},  {"G728", 8000, 1},
    {"DVI4", 11025, 1}, {"DVI4", 22050, 1}, {"G729", 8000, 1},  {nullptr, 0, 0},
    {nullptr, 0, 0},    {nullptr, 0, 0},    {nullptr, 0, 0},    {nullptr, 0, 0},
    {nullptr, 0, 0},    {"CelB", 90000, 0}, {"JPEG", 90000, 0}, {nullptr, 0, 0},
    {"nv", 90000, 0},   {nullptr, 0, 0},    {nullptr, 0, 0},    {"H261", 90000, 0},
    {"MPV", 90000, 0},  {"MP2T", 90000, 0}, {"H263", 90000, 0},
};

}  // namespace

std::uint32_t static_clock_rate(int pt) noexcept {
  return pt >= 0 && pt < 35 ? kStaticTypes[pt].clock_hz : 0;
}

const char* static_encoding_name(int pt) noexcept {
  return pt >= 0 && pt < 35 ? kStaticTypes[pt].name : nullptr;
}

int static_channels(int pt) noexcept { return pt >= 0 && pt < 35 ? kStaticTypes[pt].channels : 0; }

const char* to_string(ClockSource s) noexcept {
  switch (s) {
    case ClockSource::kStatic:
      return "static";
    case ClockSource::kSdp:
      return "sdp";
    case ClockSource::kOption:
      return "option";
    case ClockSource::kDefault:
      break;
  }
  return "default";
}

const char* to_string(TimingVerdict v) noexcept {
  switch (v) {
    case TimingVerdict::kNarrow:
      return "narrow";
    case TimingVerdict::kWide:
      return "wide";
    case TimingVerdict::kNotCompliant:
      return "not_compliant";
    case TimingVerdict::kUnknown:
      break;
  }
  return "unknown";
}

}  // namespace rtcap
