#!/usr/bin/env bash
# Builds the Debian packages (librtcap0, librtcap-dev, rtcap, rtcap-doc, python3-rtcap and the
# -dbgsym .ddeb files; cmake/packaging.cmake) with CPack.
#   scripts/build-deb.sh [BUILD_DIR]       # default build-deb; the .deb files land in BUILD_DIR
# A build of its own: installed to /usr (GNUInstallDirs then picks lib/<multiarch>), no tests,
# no benchmarks, no install run path (the library is on the system path; lintian rejects a
# RUNPATH into /usr/lib: custom-library-search-path).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-deb}
# The changelog's date from the commit's, not the build's.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_SKIP_INSTALL_RPATH=ON -DRTCAP_BUILD_TESTS=OFF -DRTCAP_BUILD_BENCH=OFF \
  -DRTCAP_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
rm -f "$build"/*.deb "$build"/*.ddeb
(cd "$build" && cpack -G DEB >/dev/null)
ls "$build"/*.deb "$build"/*.ddeb
