#!/usr/bin/env bash
# Every public header compiles on its own, as an embedding application includes it, with
# -Wall -Wextra -Wpedantic -Werror at C++17, C++20 and C++23 (JUCE and most audio code are
# C++17). Usage: check-headers.sh CXX INCLUDE_DIR [extra flags...]
set -euo pipefail
cxx=$1 inc=$2; shift 2
fail=0
for std in 17 20 23; do
  for h in "$inc"/rtcap/*.hpp; do
    name=rtcap/$(basename "$h")
    if ! echo "#include <$name>" | "$cxx" -std=c++$std -Wall -Wextra -Wpedantic -Werror \
        -I"$inc" "$@" -fsyntax-only -x c++ - 2>/tmp/check-headers.$$; then
      echo "FAIL: <$name> does not compile alone with -std=c++$std:" >&2
      head -5 /tmp/check-headers.$$ >&2
      fail=1
    fi
  done
done
rm -f /tmp/check-headers.$$
[ "$fail" -eq 0 ] && echo "every public header compiles alone at C++17, C++20 and C++23"
exit "$fail"
