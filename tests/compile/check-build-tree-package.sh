#!/usr/bin/env bash
# An outside CMake project can use rtcap straight from a build tree, without installing it:
# find_package(rtcap) with -Drtcap_DIR=<build> finds the rtcapConfig.cmake generated there and the
# targets exported beside it. examples/inline, examples/c and examples/metrics_server (the second
# exported library) build against it (warnings as errors), and examples/inline reads a capture
# file through the built librtcap, every packet delivered.
# Args: SOURCE_DIR BUILD_DIR PCAP_FILE EXPECTED_PACKETS
set -eu
src=$1 build=$2 pcap=$3 expect=$4
tmp=$(mktemp -d /tmp/rtcap-build-tree.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
build=$(cd "$build" && pwd)
[ -f "$build/rtcapConfig.cmake" ] || fail "no rtcapConfig.cmake in the build tree $build"

for example in inline c metrics_server; do
  b=$tmp/build-$example
  cmake -S "$src/examples/$example" -B "$b" -Drtcap_DIR="$build" \
    -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >"$b.log" 2>&1 ||
    { tail -20 "$b.log" >&2; fail "examples/$example: cmake with -Drtcap_DIR=$build"; }
  cmake --build "$b" >"$b.log" 2>&1 || { tail -20 "$b.log" >&2; fail "examples/$example does not build against the build tree"; }
done
# No LD_LIBRARY_PATH: the imported target names the library in the build tree, and CMake's
# build-tree RPATH finds it.
out=$("$tmp/build-inline/inline_capture" -r "$pcap" 5) || fail "examples/inline exited non-zero: $out"
echo "$out" | grep -q "^packets=$expect " || fail "examples/inline: expected $expect packets: $out"
echo "PASS: examples/inline, c and metrics_server build with -Drtcap_DIR=$build; inline read $expect packets"
