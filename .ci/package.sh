#!/usr/bin/env bash
# The Debian packages (cmake/packaging.cmake): built with CPack in their own build directory
# (prefix /usr), checked with lintian, installed with dpkg -i on this machine, used from the
# installed files only (rtcap -D, rtcap -r, the C, C++ and pkg-config examples, Python, the
# systemd unit), then purged; tests/test-package.sh fails if anything is left behind. Before it,
# the Python module from the same build: mypy, and pip install ./python into a fresh venv
# (tests/test-python-package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# The step's own tools: lintian; dpkg-dev (dpkg-shlibdeps) and file for CPack's Depends; systemd
# for systemd-analyze verify (installed, not booted: the unit is verified, not started);
# binutils (objcopy, readelf) for the -dbgsym packages; mypy, python3-venv and the build tools
# pip uses offline (python3-setuptools, python3-wheel) for the Python module.
scripts/install-deps.sh lintian dpkg-dev file systemd binutils mypy python3-venv python3-setuptools \
  python3-wheel
scripts/build-deb.sh build-deb
bash tests/test-python-package.sh . build-deb
bash tests/test-package.sh . build-deb
