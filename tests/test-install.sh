# Installs rtcap into a temporary prefix, builds examples/embed against it with
# find_package(rtcap), and runs it on a capture file: the library others embed really works.
# Args: SOURCE_DIR BUILD_DIR PCAP_FILE EXPECTED_PACKETS
set -eu
src=$1 build=$2 pcap=$3 expect=$4
tmp=$(mktemp -d /tmp/rtcap-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/examples/embed" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/build" >/dev/null
out=$(LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64" "$tmp/build/embed_capture" -r "$pcap" 5)
echo "$out"
echo "$out" | grep -q "^packets=$expect " || { echo "FAIL: expected $expect packets"; exit 1; }
echo "PASS"
