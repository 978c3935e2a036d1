// Checks for option values that answer in rtcap's words, naming the value and what is wanted
// (CLI11's own say "Value abc not in range 1 to 4096" and "x not in {micro,nano}").
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (format.h in fmt 9, ranges.h from fmt 11)

namespace rtcap::tool {

namespace detail {
// decimal()'s check; `shown` goes into --help beside the type name.
inline CLI::Validator decimal(std::int64_t min, std::int64_t max, std::string shown) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        std::int64_t n = 0;
        const char* end = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(value.data(), end, n);
        const bool digits = !value.empty() && value.find_first_not_of("0123456789") == value.npos;
        if (!digits || ec != std::errc{} || ptr != end || n < min || n > max)
          return fmt::format("'{}' is not a whole number from {} to {} (decimal digits only)",
                             value, min, max);
        value = std::to_string(n);
        return {};
      },
      std::move(shown));
}
}  // namespace detail

// A plain decimal count in [min, max]: no sign, no 0x (CLI11 would read 0x10 as 16 and 010 as
// 8), no overflow (99999999999999999999 would otherwise become "no limit"). A transform: the
// value CLI11 converts is the decimal reading. --help shows no range (decimal_in does).
inline CLI::Validator decimal(std::int64_t min, std::int64_t max) {
  return detail::decimal(min, max, {});
}

// decimal(), shown in --help as [min..max] (the bounds written once, as number_in's).
inline CLI::Validator decimal_in(std::int64_t min, std::int64_t max) {
  return detail::decimal(min, max, fmt::format("[{}..{}]", min, max));
}

// A finite number in [min, max] ("nan" and "inf" are not), shown in --help as [min..max].
inline CLI::Validator number_in(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& value) -> std::string {
        double x = 0;
        const char* end = value.data() + value.size();
        const auto [ptr, ec] = std::from_chars(value.data(), end, x);
        if (ec != std::errc{} || ptr != end || !std::isfinite(x) || x < min || x > max)
          return fmt::format("'{}' is not a number from {} to {}", value, min, max);
        return {};
      },
      fmt::format("[{}..{}]", min, max));
}

// One of a fixed set of words, shown in --help as {a,b}.
inline CLI::Validator one_of(std::vector<std::string> choices) {
  std::string shown = fmt::format("{{{}}}", fmt::join(choices, ","));
  return CLI::Validator(
      [choices = std::move(choices)](std::string& value) -> std::string {
        for (const std::string& c : choices)
          if (value == c) return {};
        return fmt::format("'{}' is not one of {}", value, fmt::join(choices, ", "));
      },
      std::move(shown));
}

}  // namespace rtcap::tool
