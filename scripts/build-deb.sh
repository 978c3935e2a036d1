#!/usr/bin/env bash
# Builds the Debian packages (librtcap1, librtcap-metrics-server1, librtcap-dev, rtcap, rtcap-doc,
# python3-rtcap and the -dbgsym .ddeb files; cmake/packaging.cmake) with CPack.
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
# CPack 3.25's -dbgsym packages list absolute build paths in DEBIAN/md5sums and have no
# /usr/share/doc (lintian: md5sums-lists-nonexistent-file, no-copyright-file): rebuilt with the
# md5sums of their files and the doc directory a link to the package's own, as debhelper's
# dbgsym packages have it (each depends on its package, = version).
for ddeb in "$build"/*-dbgsym_*.ddeb; do
  tree=$(mktemp -d)
  dpkg-deb -R "$ddeb" "$tree"
  chmod 755 "$tree"
  find "$tree/usr" -type f -exec chmod 644 {} +  # .debug files are data (Debian's are 0644)
  pkg=$(dpkg-deb -f "$ddeb" Package)
  (cd "$tree" && find usr -type f -exec md5sum {} + | LC_ALL=C sort -k2) > "$tree/DEBIAN/md5sums"
  mkdir -p "$tree/usr/share/doc"
  ln -s "${pkg%-dbgsym}" "$tree/usr/share/doc/$pkg"
  dpkg-deb --root-owner-group -Zxz -b "$tree" "$ddeb" >/dev/null
  rm -rf "$tree"
done
ls "$build"/*.deb "$build"/*.ddeb
