// An engine's warnings as the library wrote them, each setting as ${name}, so that every front
// end words them in its own terms (config_table::word): Engine::warnings() has C++'s words, the C
// API the setters', Python the keywords, the CLI its flags.
#pragma once

#include <string>
#include <vector>

#include "rtcap/engine.hpp"

namespace rtcap::detail {

// Every engine the library opens implements this beside Engine.
class WarningTexts {
 public:
  [[nodiscard]] virtual const std::vector<std::string>& warning_texts() const = 0;

 protected:
  ~WarningTexts() = default;
};

// `engine`'s warnings, settings as ${name}. `engine` was opened by the library.
[[nodiscard]] const std::vector<std::string>& warning_texts(const Engine& engine);

}  // namespace rtcap::detail
