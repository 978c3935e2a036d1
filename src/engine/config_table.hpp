// The table of CaptureConfig settings: every field once, with its type, unit, range, default,
// the evidence behind the default, its normalisation, its CLI option and its C setter. The
// engine's validation, the C setters (src/capi), Python (through the C API), the CLI option table
// (tools/rtcap/capture/capture_options.cpp), --help and the man page read it.
//
// An error about a setting carries the setting's name (Error::setting) and the reason without it
// (Error::reason); each front end words both in its own terms (word()). A reason names another
// setting as ${name}, so that each front end words that one too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <vector>

#include "rtcap/config.hpp"
#include "rtcap/error.hpp"
#include "rtcap/latency_budget.hpp"

namespace rtcap::config_table {

enum class Kind {
  kNumber,  // an integer in [min, max]
  kFlag,    // bool
  kChoice,  // an enum, stored as its index into `choices` ("inline|threaded")
  kText,    // a string (no NUL: the C API and libpcap end it there)
  kTexts,   // a list of strings
};

struct Setting {
  const char* name;  // the CaptureConfig member; Python's keyword argument
  Kind kind;
  const char* type;  // the C++ type of the member
  const char* unit;  // "bytes", "ms", ... ("" for none)
  // Numbers: the values accepted as given (normalisation applies after the check).
  std::int64_t min;
  std::int64_t max;
  const char* choices;        // kChoice: the names of the enum values, '|'-separated, in order
  const char* normalisation;  // what the engine makes of a special value ("" for none)
  const char* evidence;       // why the default is what it is
  const char* cli;            // the CLI's option names, "-s,--snapshot-length" ("": none)
  const char* c_setter;       // the C API's setter ("": none)
  // Numbers, flags and choices as integers (a flag 0/1, a choice its index).
  std::int64_t (*get)(const CaptureConfig&);
  void (*set)(CaptureConfig&, std::int64_t);
  // Where the setting has an effect, as the end of "applies ...", other settings as ${name}
  // ("": everywhere).
  const char* applies;
  // True when `config` gives the setting a value that does nothing on `platform` (nullptr: the
  // setting applies everywhere). A neutral value (coalesce_us 0, the default) never counts: the
  // latency-budget planner sets coalesce_us 0 in batched mode.
  bool (*inert)(const CaptureConfig& config, CapturePlatform platform);
};

// Every setting, in CaptureConfig's order.
[[nodiscard]] const Setting* begin() noexcept;
[[nodiscard]] const Setting* end() noexcept;
struct All {
  [[nodiscard]] const Setting* begin() const noexcept { return config_table::begin(); }
  [[nodiscard]] const Setting* end() const noexcept { return config_table::end(); }
};
inline constexpr All kAll{};

// The setting of this name; nullptr when there is none.
[[nodiscard]] const Setting* find(std::string_view name) noexcept;
// The setting of this name, which must exist (a name spelt in the code).
[[nodiscard]] const Setting& at(std::string_view name);

// The default: the value of a default-constructed CaptureConfig (the one place it is written).
[[nodiscard]] std::int64_t default_value(const Setting& s);

// Why `value` cannot be given to `s` (numbers: outside the range); empty when it can.
[[nodiscard]] std::string check_number(const Setting& s, std::int64_t value);
// The reason for a number outside the range, `value` as the front end wrote it.
[[nodiscard]] std::string out_of_range(const Setting& s, std::string_view value);

// Every field and the rules between fields. The Error carries the setting and the reason; its
// message is worded for C++ (CaptureConfig::snaplen).
[[nodiscard]] Result<void> validate(const CaptureConfig& config);

// One warning line for each setting given a value that does nothing where it is given (Setting::
// inert), naming it and where it applies, settings as ${name}: the engine adds them to its
// warnings, the same for C++, C, Python and the CLI. Never an error: such a value is harmless.
[[nodiscard]] std::vector<std::string> inert_settings(const CaptureConfig& config,
                                                      CapturePlatform platform);

// What the engine runs with: special values resolved (snaplen 0: kMaxSnaplen).
[[nodiscard]] CaptureConfig normalised(CaptureConfig config);

// The front ends that word settings, each in its own terms.
enum class Front {
  kCxx,     // CaptureConfig::snaplen
  kC,       // rtcap_config_set_snaplen
  kPython,  // snaplen=
  kCli,     // -s
};
// `s` as `front` names it.
[[nodiscard]] std::string term(const Setting& s, Front front);
// `text` with each ${name} replaced by that setting's term.
[[nodiscard]] std::string word(std::string_view text, Front front);
// Each of `texts` worded for `front`.
[[nodiscard]] std::vector<std::string> word(const std::vector<std::string>& texts, Front front);
// "TERM: reason" for an error about `setting`.
[[nodiscard]] std::string word(const Error& error, Front front);

// A kBadConfig error about `s`, worded for C++.
[[nodiscard]] Error setting_error(const Setting& s, std::string reason);

}  // namespace rtcap::config_table
