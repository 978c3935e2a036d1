#!/usr/bin/env bash
# librtcap links no server (the metrics server is librtcap-metrics-server): it exports no
# MetricsServer symbol, defines no socket call of the server (bind, listen, accept are not even
# imported), and needs no cpp-httplib.
#   tests/abi/check-no-server.sh LIBRARY     # CTest: abi.librtcap_links_no_server
set -euo pipefail
lib=${1:?usage: check-no-server.sh LIBRARY}
fail() { echo "check-no-server: $lib: $*" >&2; exit 1; }
exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' | c++filt)
hits=$(grep -iE 'MetricsServer|socket|httplib' <<<"$exported" || true)
[ -z "$hits" ] || fail "exports server symbols: $(head -5 <<<"$hits" | tr '\n' ' ')"
imported=$(nm -D --undefined-only "$lib" | awk '{print $NF}' | sed 's/@.*//')
hits=$(grep -xE 'bind|listen|accept|accept4' <<<"$imported" || true)
[ -z "$hits" ] || fail "calls $(tr '\n' ' ' <<<"$hits")(the server's socket calls)"
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
grep -q httplib <<<"$needed" && fail "needs $(grep httplib <<<"$needed")"
echo "check-no-server: $(basename "$lib"): no server symbol, no bind/listen/accept, needs $(tr '\n' ' ' <<<"$needed")"
