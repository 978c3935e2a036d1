#!/usr/bin/env bash
# The Debian packages (cmake/packaging.cmake): built with CPack in their own build directory
# (prefix /usr), checked with lintian, installed with dpkg -i on this machine, used from the
# installed files only (rtcap -D, rtcap -r, the C, C++ and pkg-config examples, Python, the
# systemd unit), then purged; tests/test-package.sh fails if anything is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
# The step's own tools: lintian; dpkg-dev (dpkg-shlibdeps) and file for CPack's Depends; systemd
# for systemd-analyze verify (installed, not booted: the unit is verified, not started).
scripts/install-deps.sh lintian dpkg-dev file systemd binutils
scripts/build-deb.sh build-deb
bash tests/test-package.sh . build-deb
