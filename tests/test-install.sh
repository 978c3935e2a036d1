#!/usr/bin/env bash
# Installs rtcap into a fresh temporary prefix and uses it as an outsider would:
# - the installed rtcap runs from that prefix (--version, -D, -r) and its man page is there;
# - examples/threaded and examples/inline build against the prefix with find_package(rtcap), as
#   C++17 and as C++20 applications, and read a capture file with every packet delivered;
# - examples/metrics_server links rtcap::metrics_server and serves the counters a scraper reads,
#   while the other examples and librtcap itself link no server.
# Args: SOURCE_DIR BUILD_DIR PCAP_FILE EXPECTED_PACKETS
set -eu
src=$1 build=$2 pcap=$3 expect=$4
tmp=$(mktemp -d /tmp/rtcap-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
prefix=$tmp/prefix

# The installed command, from the prefix alone (no build tree, no LD_LIBRARY_PATH).
"$prefix/bin/rtcap" --version >/dev/null || fail "installed rtcap --version failed"
out=$("$prefix/bin/rtcap" -r "$pcap" -q -w "$tmp/copy.pcap" 2>&1) || fail "installed rtcap -r failed: $out"
echo "$out" | grep -q "^$expect packets read" || fail "installed rtcap -r: expected $expect packets: $out"
# Compressed, as Debian Policy 12.1 asks (cmake/packaging.cmake); man reads it as it is.
[ -f "$prefix/share/man/man1/rtcap.1.gz" ] || fail "man page not installed at share/man/man1/rtcap.1.gz"
man -l "$prefix/share/man/man1/rtcap.1.gz" >/dev/null 2>&1 || command -v man >/dev/null || true

libdir=$(ls -d "$prefix"/lib*/ | head -1)
for example in threaded inline; do
  for std in 17 20; do
    b=$tmp/build-$example-$std
    cmake -S "$src/examples/$example" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_CXX_STANDARD=$std -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >/dev/null ||
      fail "examples/$example: cmake against the installed package (C++$std)"
    cmake --build "$b" >/dev/null 2>"$b.err" || { cat "$b.err" >&2; fail "examples/$example does not build as C++$std"; }
    out=$(LD_LIBRARY_PATH="$libdir" "$b/${example}_capture" -r "$pcap" 5) ||
      fail "examples/$example (C++$std) exited non-zero: $out"
    echo "$example C++$std: $out"
    echo "$out" | grep -q "^packets=$expect " || fail "examples/$example (C++$std): expected $expect packets"
  done
done
# The audio meter (examples/audio_meter): builds as C++17 against the prefix and reads the file to
# its end (its streams are announced by no SAP: it meters none, and says so).
b=$tmp/build-audio-meter
cmake -S "$src/examples/audio_meter" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >/dev/null ||
  fail "examples/audio_meter: cmake against the installed package"
cmake --build "$b" >/dev/null 2>"$b.err" || { cat "$b.err" >&2; fail "examples/audio_meter does not build"; }
out=$(LD_LIBRARY_PATH="$libdir" "$b/audio_meter" -r "$pcap" 5) || fail "examples/audio_meter exited non-zero: $out"
echo "$out" | grep -q "^streams=0 " || fail "examples/audio_meter: $out"

# The metrics server is a library of its own: librtcap has none of it, and only a program that
# serves metrics needs it.
bash "$src/tests/abi/check-no-server.sh" "$libdir"/librtcap.so.1 >/dev/null ||
  fail "the installed librtcap.so.1 holds the server"
needs() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
needs "$tmp/build-inline-17/inline_capture" | grep -q rtcap-metrics-server &&
  fail "examples/inline links librtcap-metrics-server: $(needs "$tmp/build-inline-17/inline_capture" | tr '\n' ' ')"
pc=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --libs rtcap-metrics-server 2>&1) ||
  fail "pkg-config rtcap-metrics-server: $pc"
for want in -lrtcap-metrics-server -lrtcap; do
  [[ " $pc " == *" $want "* ]] || fail "pkg-config --libs rtcap-metrics-server: no $want in: $pc"
done
b=$tmp/build-metrics-server
cmake -S "$src/examples/metrics_server" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" >/dev/null ||
  fail "examples/metrics_server: cmake against the installed package"
cmake --build "$b" >/dev/null 2>"$b.err" || { cat "$b.err" >&2; fail "examples/metrics_server does not build"; }
needs "$b/metrics_capture" | grep -qx 'librtcap-metrics-server.so.1' ||
  fail "examples/metrics_server: not linked with librtcap-metrics-server.so.1: $(needs "$b/metrics_capture" | tr '\n' ' ')"
# It reads the file, publishes, and serves for 10 s more: scrape it as Prometheus would.
LD_LIBRARY_PATH="$libdir" "$b/metrics_capture" -r "$pcap" 5 10 >"$b.out" 2>"$b.log" &
mpid=$!
port= scraped=
for _ in $(seq 1 100); do
  # (the log may not exist yet: the background program opens it)
  [ -n "$port" ] || port=$(sed -n 's|^metrics at http://127.0.0.1:\([0-9]*\)/metrics$|\1|p' "$b.log" 2>/dev/null || true)
  if [ -n "$port" ] && grep -q '^published' "$b.log" 2>/dev/null; then
    scraped=$(exec 3<>/dev/tcp/127.0.0.1/"$port" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3) || true
    break
  fi
  kill -0 "$mpid" 2>/dev/null || break
  sleep 0.1
done
kill "$mpid" 2>/dev/null || true
wait "$mpid" 2>/dev/null || true
grep -q "^rtcap_packets_captured_total $expect"$'\r'"\?$" <<<"$scraped" ||
  fail "examples/metrics_server: scrape on port '$port' has no rtcap_packets_captured_total $expect: $(head -3 <<<"$scraped") $(cat "$b.log")"
echo "metrics_server: linked with librtcap-metrics-server.so.1, scraped rtcap_packets_captured_total $expect on 127.0.0.1:$port"
echo "PASS"
