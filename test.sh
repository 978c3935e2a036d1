#!/usr/bin/env bash
# Builds (warnings as errors) and runs every test: unit tests, then the integration tests, which
# need root and network namespaces and report "skipped" without them.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTCAP_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)" -L unit
ctest --output-on-failure -L integration
