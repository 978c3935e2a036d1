#!/usr/bin/env bash
# The main job: install what is missing, build, and run `rtcap demo` (as root: it builds a
# two-namespace lab, sends ~100,000 RTP packets/s through it, captures, prints the verdict).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec build/tools/rtcap/rtcap demo "$@"
