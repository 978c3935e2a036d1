// Number formats shared by the subcommands' reports (bench, demo).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

namespace rtcap::tool {

// 1234567 -> "1,234,567".
inline std::string fmt_count(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// A measured rate or mean, rounded to the nearest whole number first.
inline std::string fmt_count_rounded(double v) {
  return fmt_count(static_cast<std::uint64_t>(std::llround(v)));
}

}  // namespace rtcap::tool
