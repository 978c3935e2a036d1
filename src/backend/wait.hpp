// Moved to src/platform/ (readiness.hpp, word_wait.hpp, thread.hpp). Kept only for
// tools/rtcap/bench_wake.cpp until it includes those (tools/ is being split into subcommand
// folders as this is written); nothing else may include it.
#pragma once

#include "platform/readiness.hpp"
#include "platform/thread.hpp"
#include "platform/word_wait.hpp"
