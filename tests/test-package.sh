#!/usr/bin/env bash
# The Debian packages, as a user gets them: lintian, install with dpkg -i, use only the installed
# files (rtcap -D, rtcap -r, the C, C++ and pkg-config examples rtcap-doc installs built against
# /usr, python3-rtcap finding librtcap.so.1 on its own), the documentation where rtcap(1) says it
# is, the debug symbols found by build ID, the systemd unit checked by systemd-analyze verify and
# its ExecStart run as the unit would run it (a non-root user with only CAP_NET_RAW and
# CAP_NET_ADMIN, ambient) on a lab interface, the maintainer scripts on a simulated systemd host
# (upgrade restarts running instances, removal stops them, purge removes enabled instances), then
# dpkg --purge and nothing left behind.
#
#   scripts/build-deb.sh build-deb && bash tests/test-package.sh . build-deb
#
# Root only (dpkg). Not part of ./test.sh: it changes the system's package set; CI runs it as its
# own step (.ci/package.sh). Exit 77 (skipped) without root.
set -u
src=$(cd "${1:?usage: test-package.sh SOURCE_DIR DEB_DIR}" && pwd)
debdir=$(cd "${2:?usage: test-package.sh SOURCE_DIR DEB_DIR}" && pwd)
packages=(librtcap1 librtcap-metrics-server1 librtcap-dev rtcap rtcap-doc python3-rtcap librtcap1-dbgsym
  librtcap-metrics-server1-dbgsym rtcap-dbgsym)
PCAP=$src/tests/data/rtp-12streams-125us.pcap
PCAP_PACKETS=1200  # tshark -r tests/data/rtp-12streams-125us.pcap | wc -l

if [ "$(id -u)" -ne 0 ]; then echo "[test-package] SKIP: needs root (dpkg -i)" >&2; exit 77; fi
debs=()
for p in "${packages[@]}"; do
  f=$(ls "$debdir"/${p}_*.deb "$debdir"/${p}_*.ddeb 2>/dev/null | head -1)  # -dbgsym: .ddeb
  [ -n "$f" ] || { echo "[test-package] FAIL: no ${p}_*.deb in $debdir (scripts/build-deb.sh)" >&2; exit 1; }
  debs+=("$f")
done
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    echo "[test-package] FAIL: $p is already installed; dpkg --purge ${packages[*]} first" >&2; exit 1
  fi
done

# lib.sh: the lab, its cleanup, TMPD, log/fail; RTCAP is the installed binary (it exists only
# after dpkg -i: until then lib.sh is given the one in the package, unpacked).
unpacked=$(mktemp -d /tmp/rtcap-package-unpacked.XXXXXX)
dpkg-deb -x "${debs[3]}" "$unpacked"
. "$src/tests/integration/lib.sh" "$unpacked/usr/bin/rtcap"
RTCAP=/usr/bin/rtcap
installed=0
lab_up=0
# Every path the packages ship, and whether it existed before: after the purge each must be as
# it was (a directory such as /usr/bin stays, every file of ours is gone).
manifest=$TMPD/manifest
for d in "${debs[@]}"; do dpkg-deb -c "$d"; done | awk '{print $6}' | sed 's|^\./|/|; s|/$||' |
  grep -v '^$' | grep -vx '/' | LC_ALL=C sort -u > "$manifest"
before=$TMPD/before
while read -r path; do [ -e "$path" ] || [ -L "$path" ] && echo "$path"; done < "$manifest" > "$before"
package_cleanup() {
  rc=$?
  trap - EXIT
  [ -n "${SVC_PID:-}" ] && kill "$SVC_PID" 2>/dev/null
  if [ "$lab_up" = 1 ]; then
    lab_cleanup  # while /usr/bin/rtcap is still installed: it takes the lab down
  else
    for pid in $BG_PIDS; do kill "$pid" 2>/dev/null; done
    rm -rf "$TMPD"
  fi
  if [ "$installed" = 1 ]; then dpkg --purge "${packages[@]}" >/dev/null 2>&1; fi
  [ -n "${fake_systemd:-}" ] && rm -rf "$fake_systemd"
  rm -rf "$unpacked"
  exit $rc
}
trap package_cleanup EXIT

# 1. lintian: no error. Each tag we accept is listed in tests/lintian-overrides.txt with why.
if have lintian; then
  suppress=$(grep -v '^#' "$src/tests/lintian-overrides.txt" | awk 'NF {print $1}' | paste -sd, -)
  lintian --fail-on error ${suppress:+--suppress-tags "$suppress"} "${debs[@]}" > "$TMPD/lintian.txt" 2>&1 ||
    fail "lintian errors: $(grep '^E:' "$TMPD/lintian.txt" | head -20)"
  log "lintian: $(grep -c '^E:' "$TMPD/lintian.txt") errors, $(grep -c '^W:' "$TMPD/lintian.txt") warnings"
  grep '^W:' "$TMPD/lintian.txt" | sed 's/^/  /' >&2
else
  fail "lintian not installed (scripts/install-deps.sh lintian)"
fi

# A systemd host for the maintainer scripts, in a mount namespace of its own: /run/systemd/system
# exists there, systemctl is a stand-in that logs each call (and whether /usr/bin/rtcap was still
# there), policy-rc.d allows, /etc/systemd/system is empty but for what the test puts in. The
# packages themselves install for real.
fake_systemd=$(mktemp -d /tmp/rtcap-package-systemd.XXXXXX)
mkdir -p "$fake_systemd/bin" "$fake_systemd/etc/multi-user.target.wants"
printf '#!/bin/sh\necho "systemctl $* (rtcap $([ -x /usr/bin/rtcap ] && echo present || echo gone))" >> %s/calls\n' \
  "$fake_systemd" > "$fake_systemd/bin/systemctl"
printf '#!/bin/sh\nexit 0\n' > "$fake_systemd/policy-rc.d"
chmod +x "$fake_systemd/bin/systemctl" "$fake_systemd/policy-rc.d"
on_systemd_host() {  # COMMAND...: run with the simulated systemd host
  unshare --mount --propagation private bash -c '
    f=$1; shift
    mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system &&
      mount --bind "$f/etc" /etc/systemd/system || exit 1
    if [ -e /usr/sbin/policy-rc.d ]; then mount --bind "$f/policy-rc.d" /usr/sbin/policy-rc.d || exit 1; fi
    PATH=$f/bin:$PATH exec "$@"' _ "$fake_systemd" "$@"
}
calls() { cat "$fake_systemd/calls" 2>/dev/null; : > "$fake_systemd/calls"; }

# 2. Install; every package lists what it should.
on_systemd_host dpkg -i "${debs[@]}" > "$TMPD/dpkg-i.txt" 2>&1 || fail "dpkg -i: $(tail -5 "$TMPD/dpkg-i.txt")"
installed=1
got=$(calls)
[ "$got" = "systemctl --system daemon-reload (rtcap present)" ] ||
  fail "install on a systemd host: want one daemon-reload, got: $got"
# An upgrade (the same version again: dpkg runs the upgrade path) restarts the running instances
# on the new binary, and stops none before.
on_systemd_host dpkg -i "${debs[3]}" > "$TMPD/dpkg-up.txt" 2>&1 || fail "dpkg -i (upgrade): $(tail -5 "$TMPD/dpkg-up.txt")"
got=$(calls)
[ "$got" = "$(printf 'systemctl --system daemon-reload (rtcap present)\nsystemctl try-restart rtcap@*.service (rtcap present)')" ] ||
  fail "upgrade on a systemd host: want daemon-reload, try-restart rtcap@*.service; got: $got"
log "maintainer scripts: install reloads systemd; upgrade try-restarts rtcap@*.service"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
expect_in() {  # PACKAGE PATH...
  local p=$1; shift
  local list; list=$(dpkg -L "$p")
  for f in "$@"; do echo "$list" | grep -qx "$f" || fail "dpkg -L $p: no $f"; done
}
expect_in librtcap1 /usr/lib/$multiarch/librtcap.so.1 /usr/lib/$multiarch/librtcap.so.1.1.0 \
  /usr/share/doc/librtcap1/copyright
expect_in librtcap-metrics-server1 /usr/lib/$multiarch/librtcap-metrics-server.so.1 \
  /usr/lib/$multiarch/librtcap-metrics-server.so.1.1.0 /usr/share/doc/librtcap-metrics-server1/copyright
expect_in librtcap-dev /usr/lib/$multiarch/librtcap.so /usr/include/rtcap/rtcap.h \
  /usr/include/rtcap/engine.hpp /usr/lib/$multiarch/cmake/rtcap/rtcapConfig.cmake \
  /usr/lib/$multiarch/pkgconfig/rtcap.pc /usr/lib/$multiarch/librtcap-metrics-server.so \
  /usr/include/rtcap/metrics_server.hpp /usr/lib/$multiarch/pkgconfig/rtcap-metrics-server.pc
expect_in rtcap /usr/bin/rtcap /usr/share/man/man1/rtcap.1.gz /usr/lib/systemd/system/rtcap@.service
expect_in python3-rtcap /usr/lib/python3/dist-packages/rtcap.py /usr/share/doc/python3-rtcap/copyright
for soname in librtcap.so.1 librtcap-metrics-server.so.1; do
  [ "$(readelf -d /usr/lib/$multiarch/$soname | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')" = $soname ] ||
    fail "$soname: SONAME is not $soname"
done
# An embedder that serves no metrics installs no HTTP server: librtcap1 does not pull it in.
dpkg-query -W -f='${Depends}' librtcap1 | grep -qiE 'httplib|metrics-server' &&
  fail "librtcap1 Depends: $(dpkg-query -W -f='${Depends}' librtcap1)"
dpkg-query -W -f='${Depends}' librtcap-metrics-server1 | grep -q 'librtcap1 (=' ||
  fail "librtcap-metrics-server1 Depends: $(dpkg-query -W -f='${Depends}' librtcap-metrics-server1)"
bash "$src/tests/abi/check-no-server.sh" /usr/lib/$multiarch/librtcap.so.1 >/dev/null ||
  fail "librtcap.so.1 holds the server: $(bash "$src/tests/abi/check-no-server.sh" /usr/lib/$multiarch/librtcap.so.1 2>&1)"
# The command is linked with the static library (tools/rtcap): no RUNPATH, every library found.
readelf -d /usr/bin/rtcap | grep -qE 'RPATH|RUNPATH' && fail "/usr/bin/rtcap carries a RUNPATH"
ldd /usr/bin/rtcap | grep -q "not found" && fail "rtcap: $(ldd /usr/bin/rtcap | grep 'not found')"
[ "$(pkg-config --modversion rtcap)" = "$(dpkg-query -W -f='${Version}' librtcap-dev | sed 's/-.*//')" ] ||
  fail "pkg-config --modversion rtcap: $(pkg-config --modversion rtcap 2>&1)"
gzip -t /usr/share/man/man1/rtcap.1.gz || fail "man page is not a valid gzip file"
zcat /usr/share/man/man1/rtcap.1.gz | grep -q '^\.TH RTCAP 1' || fail "man page has no .TH RTCAP 1"
log "installed: $(for p in "${packages[@]}"; do dpkg -L "$p"; done | wc -l) paths"
# The documentation: every path in rtcap(1)'s FILES section exists, and every guide it names.
zcat /usr/share/man/man1/rtcap.1.gz | sed -n '/^\.SH FILES/,/^\.SH SEE/p' > "$TMPD/files.man"
paths=$(sed -n 's/^\.I //p' "$TMPD/files.man" | sed 's/\\-/-/g')
[ -n "$paths" ] || fail "rtcap(1) has no FILES section naming paths"
for p in $paths; do [ -e "$p" ] || fail "rtcap(1) names $p: not installed"; done
docdir=$(echo "$paths" | head -1)
for f in $(grep -o '[A-Z]*\.md' "$TMPD/files.man"); do
  [ -s "$docdir/$f" ] || fail "rtcap(1) names $f: no $docdir$f"
done
for f in README.md docs/EMBEDDING.md docs/TUNING.md docs/OPERATIONS.md docs/ARCHITECTURE.md; do
  cmp -s "$src/$f" "$docdir/$(basename $f)" || fail "$docdir$(basename $f) is not the source's $f"
done
for e in inline threaded c pkgconfig python/rtcap_pps.py; do
  [ -e "$docdir/examples/$e" ] || fail "no $docdir/examples/$e"
done
log "documentation: rtcap(1) FILES names $(echo $paths): all there"
# Debug symbols: stripped binaries, their symbols in the -dbgsym packages under their build IDs.
for f in /usr/lib/$multiarch/librtcap.so.1 /usr/lib/$multiarch/librtcap-metrics-server.so.1 /usr/bin/rtcap; do
  id=$(readelf -n "$f" 2>/dev/null | sed -n 's/.*Build ID: //p')
  [ -n "$id" ] || fail "$f has no build ID"
  readelf -S "$f" | grep -q '\.debug_info' && fail "$f is not stripped"
  dbg=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
  [ -f "$dbg" ] || fail "no debug symbols for $f at $dbg"
  readelf -S "$dbg" | grep -q '\.debug_info' || fail "$dbg holds no .debug_info"
  dpkg -S "$dbg" | grep -q -- "-dbgsym:" || fail "$dbg is not in a -dbgsym package"
done
log "debug symbols: librtcap.so.1, librtcap-metrics-server.so.1 and rtcap stripped, their .debug files found by build ID"

# 3. The installed command: -D and -r.
/usr/bin/rtcap -D > "$TMPD/D.txt" 2>&1 || fail "rtcap -D: $(cat "$TMPD/D.txt")"
grep -q '\blo\b' "$TMPD/D.txt" || fail "rtcap -D does not list lo: $(cat "$TMPD/D.txt")"
/usr/bin/rtcap -r "$PCAP" -q -w "$TMPD/r.pcapng" 2> "$TMPD/r.err" || fail "rtcap -r: $(cat "$TMPD/r.err")"
n=$(tcpdump -nn -r "$TMPD/r.pcapng" 2>/dev/null | wc -l)
[ "$n" = "$PCAP_PACKETS" ] || fail "rtcap -r wrote $n packets, want $PCAP_PACKETS"
log "rtcap -D, rtcap -r: $n packets"

# 4. Programs built against the installed files only (no CMAKE_PREFIX_PATH, no -I/-L of ours).
cp -r "$docdir/examples" "$TMPD/examples"  # the installed ones
for example in inline threaded; do
  cmake -S "$TMPD/examples/$example" -B "$TMPD/build-$example" > "$TMPD/$example.log" 2>&1 &&
    cmake --build "$TMPD/build-$example" >> "$TMPD/$example.log" 2>&1 ||
    fail "C++ example $example: $(tail -5 "$TMPD/$example.log")"
  out=$("$TMPD/build-$example/${example}_capture" -r "$PCAP" 5) || fail "C++ example $example failed: $out"
  echo "$out" | grep -q "^packets=$PCAP_PACKETS " || fail "C++ example $example: $out"
  ldd "$TMPD/build-$example/${example}_capture" | grep -qE "=> (/usr)?/lib/$multiarch/librtcap.so.1" ||
    fail "C++ example $example: not the installed library"
  log "C++ example $example (find_package(rtcap), C++17): $out"
done
# The metrics server example: find_package(rtcap), rtcap::metrics_server, the installed library.
cmake -S "$TMPD/examples/metrics_server" -B "$TMPD/build-metrics" > "$TMPD/metrics.log" 2>&1 &&
  cmake --build "$TMPD/build-metrics" >> "$TMPD/metrics.log" 2>&1 ||
  fail "C++ example metrics_server: $(tail -5 "$TMPD/metrics.log")"
ldd "$TMPD/build-metrics/metrics_capture" | grep -qE "=> (/usr)?/lib/$multiarch/librtcap-metrics-server.so.1" ||
  fail "C++ example metrics_server: not the installed librtcap-metrics-server.so.1"
out=$("$TMPD/build-metrics/metrics_capture" -r "$PCAP" 5 0 2>&1) || fail "C++ example metrics_server failed: $out"
echo "$out" | grep -q "^packets=$PCAP_PACKETS " || fail "C++ example metrics_server: $out"
log "C++ example metrics_server (rtcap::metrics_server): $(echo "$out" | tail -1)"
if [ -d "$TMPD/examples/c" ]; then
  cmake -S "$TMPD/examples/c" -B "$TMPD/build-c" > "$TMPD/c.log" 2>&1 &&
    cmake --build "$TMPD/build-c" >> "$TMPD/c.log" 2>&1 || fail "C example: $(tail -5 "$TMPD/c.log")"
  for delivery in "" -t; do  # inline (the default), threaded
    out=$("$TMPD/build-c/rtcap_count" -r "$PCAP" $delivery) || fail "C example $delivery failed: $out"
    echo "$out" | grep -q "^packets=$PCAP_PACKETS " || fail "C example $delivery: $out"
  done
  log "C example (find_package(rtcap), C99, inline and threaded): $out"
  make -C "$TMPD/examples/pkgconfig" > "$TMPD/pc.log" 2>&1 || fail "pkg-config example: $(tail -5 "$TMPD/pc.log")"
  out=$("$TMPD/examples/pkgconfig/rtcap_count" -r "$PCAP") || fail "pkg-config C example failed: $out"
  echo "$out" | grep -q "^packets=$PCAP_PACKETS " || fail "pkg-config C example: $out"
  for example in inline threaded; do
    out=$("$TMPD/examples/pkgconfig/${example}_capture" -r "$PCAP" 5) || fail "pkg-config C++ $example failed: $out"
    echo "$out" | grep -q "^packets=$PCAP_PACKETS " || fail "pkg-config C++ $example: $out"
  done
  log "pkg-config examples (make, C and C++17): $out"
fi
where=$(cd / && env -u RTCAP_LIBRARY -u PYTHONPATH /usr/bin/python3 -c 'import rtcap; print(rtcap.__file__)' 2>&1)
[ "$where" = /usr/lib/python3/dist-packages/rtcap.py ] || fail "python3 imports rtcap from: $where"
out=$(cd / && env -u RTCAP_LIBRARY -u PYTHONPATH /usr/bin/python3 "$docdir/examples/python/rtcap_pps.py" -r "$PCAP" 2>&1) ||
  fail "Python example on the installed library: $out"
echo "$out" | tail -1 | grep -q "total packets=$PCAP_PACKETS " || fail "Python example: $out"
log "python3-rtcap (ctypes, finds librtcap.so.1 itself), the installed example: $(echo "$out" | tail -1)"

# 5. The unit: systemd-analyze verify, then its ExecStart as systemd would run it.
unit=/usr/lib/systemd/system/rtcap@.service
require_netns
lab_up=1
"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"
instance=$(systemd-escape "$RX")   # rt123-rx -> rt123\x2drx: %I gives the name back
mkdir -p "$TMPD/units"
if have systemd-analyze; then
  # verify loads the template through the instance name; the interface lives in the lab's
  # namespace, so systemd-analyze does not look for it (it checks the unit, the binary, the paths).
  SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$unit" "/usr/lib/systemd/system/rtcap@${instance}.service" \
    > "$TMPD/verify.txt" 2>&1 || fail "systemd-analyze verify: $(cat "$TMPD/verify.txt")"
  [ -s "$TMPD/verify.txt" ] && fail "systemd-analyze verify says: $(cat "$TMPD/verify.txt")"
  log "systemd-analyze verify rtcap@${instance}.service: clean"
else
  fail "systemd-analyze not installed (package systemd)"
fi
# What systemd would execute: ExecStart with %i/%I and the Environment= defaults expanded, plus
# an EnvironmentFile like /etc/rtcap/IFACE.conf (here: files of 1 MB, a ring of 3: 40,000
# packets of 74 bytes, ~4.3 MB of pcapng, go round it once and a half) and the
# StateDirectory replaced by a directory of ours.
state=$TMPD/state
mkdir -p "$state" && chown nobody "$state" && chmod o+x "$TMPD"  # nobody must reach it
printf 'RTCAP_FILE_MB=1\nRTCAP_FILES=3\nRTCAP_FILTER=udp dst port 5004\n' > "$TMPD/instance.conf"
python3 - "$unit" "$instance" "$RX" "$TMPD/instance.conf" "$state" > "$TMPD/exec.args" <<'EOF' || fail "cannot expand ExecStart of $unit"
import re, shlex, sys
unit, inst_escaped, inst, env_file, state = sys.argv[1:]
env, exec_line = {}, None
for raw in open(unit):
    line = raw.strip()
    if line.startswith("Environment="):
        for word in shlex.split(line[len("Environment="):]):
            k, _, v = word.partition("="); env[k] = v
    elif line.startswith("ExecStart="):
        exec_line = line[len("ExecStart="):]
for raw in open(env_file):
    k, _, v = raw.strip().partition("="); env[k] = v
exec_line = exec_line.replace("%I", inst).replace("%i", inst_escaped)
exec_line = exec_line.replace("/var/lib/rtcap/" + inst_escaped, state)
out = []
for word in shlex.split(exec_line):
    m = re.fullmatch(r"\$\{(\w+)\}", word)
    if m: out.append(env.get(m.group(1), "")); continue   # ${VAR}: one word
    m = re.fullmatch(r"\$(\w+)", word)
    if m: out.extend(env.get(m.group(1), "").split()); continue  # $VAR: split on blanks
    out.append(word)
print("\n".join(out))
EOF
mapfile -t args < "$TMPD/exec.args"
log "ExecStart: ${args[*]}"
# As the unit: DynamicUser (here nobody), AmbientCapabilities and CapabilityBoundingSet
# CAP_NET_RAW CAP_NET_ADMIN, NoNewPrivileges; no root.
ip netns exec "$RX" setpriv --reuid=nobody --regid=nogroup --clear-groups \
  --inh-caps=-all,+net_raw,+net_admin --ambient-caps=-all,+net_raw,+net_admin \
  --bounding-set=-all,+net_raw,+net_admin --no-new-privs \
  "${args[@]}" 2> "$TMPD/svc.err" &
SVC_PID=$!
BG_PIDS="$BG_PIDS $SVC_PID"
# scrape FILE: GET /metrics on the namespace's loopback (bash /dev/tcp, no curl needed).
scrape() {
  ip netns exec "$RX" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9464 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' \
    > "$1" 2>/dev/null && grep -q "^HTTP/1.[01] 200" "$1"
}
for i in $(seq 1 100); do
  scrape "$TMPD/metrics0.txt" && break
  kill -0 "$SVC_PID" 2>/dev/null || fail "the unit's command exited: $(cat "$TMPD/svc.err")"
  sleep 0.1
done
[ -s "$TMPD/metrics0.txt" ] || fail "no metrics on 127.0.0.1:9464 in $RX after 10 s: $(cat "$TMPD/svc.err")"
pid_status=$(cat /proc/$SVC_PID/status)
[ "$(echo "$pid_status" | awk '/^Uid:/ {print $2}')" = "$(id -u nobody)" ] || fail "the service runs as uid $(echo "$pid_status" | awk '/^Uid:/ {print $2}')"
# CapEff 0x3000 = CAP_NET_ADMIN (12) | CAP_NET_RAW (13): these two and nothing else.
[ "$(echo "$pid_status" | awk '/^CapEff:/ {print $2}')" = 0000000000003000 ] || fail "capabilities: $(echo "$pid_status" | grep ^Cap)"
"$RTCAP" gen --netns "${LAB}-tx" -q --payload 32 --rate 20000 --count 40000 || fail "gen"
# The metrics text is rendered about once a second (docs/OPERATIONS.md): wait for the last packet.
for i in $(seq 1 50); do
  scrape "$TMPD/metrics.txt" && grep -q '^rtcap_packets_captured_total 40000$' "$TMPD/metrics.txt" && break
  sleep 0.1
done
kill -TERM "$SVC_PID"
svc_rc=0; wait "$SVC_PID" || svc_rc=$?
BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $SVC_PID\b//"); SVC_PID=
[ "$svc_rc" = 0 ] || fail "the unit's command exited $svc_rc on SIGTERM (systemctl stop): $(cat "$TMPD/svc.err")"
grep -q '^rtcap_packets_captured_total 40000$' "$TMPD/metrics.txt" ||
  fail "metrics: $(grep '^rtcap_packets_captured_total' "$TMPD/metrics.txt")"
grep -q '^rtcap_kernel_dropped_packets_total{interface="'"$RX"'"} 0$' "$TMPD/metrics.txt" ||
  fail "kernel drops: $(grep '^rtcap_kernel_dropped_packets_total' "$TMPD/metrics.txt")"
files=$(ls "$state")
[ "$files" = "$(printf 'capture.pcapng0\ncapture.pcapng1\ncapture.pcapng2')" ] ||
  fail "ring: want capture.pcapng0..2, got: $(ls -l "$state")"
total=0
for f in $files; do
  [ "$(stat -c %U "$state/$f")" = nobody ] || fail "$f is not owned by the service's user"
  n=$(tcpdump -nn -r "$state/$f" 2>/dev/null | wc -l)
  [ "$n" -gt 0 ] || fail "$f: tcpdump reads no packet"
  total=$(( total + n ))
done
# The ring went round: the oldest packets were overwritten, the files hold between 2 and 3 MB.
[ "$total" -gt 18000 ] && [ "$total" -lt 40000 ] || fail "ring files hold $total packets: $(ls -l "$state")"
log "unit's command as nobody with CAP_NET_RAW,CAP_NET_ADMIN: 40000 packets, 0 drops, the ring $(echo $files) holds the last $total, metrics on loopback"
"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
lab_up=0
assert_lab_gone

# 6. Remove, purge: no package, no file of ours, no ldconfig entry. On the systemd host, removal
# stops every instance while the binary is still there, and purge removes the instances the
# administrator enabled (systemctl enable rtcap@eth0 made this link).
ln -s /usr/lib/systemd/system/rtcap@.service "$fake_systemd/etc/multi-user.target.wants/rtcap@eth0.service"
on_systemd_host dpkg -r python3-rtcap rtcap-doc rtcap-dbgsym rtcap librtcap-dev librtcap-metrics-server1-dbgsym \
  librtcap-metrics-server1 librtcap1-dbgsym librtcap1 \
  > "$TMPD/dpkg-r.txt" 2>&1 || fail "dpkg -r: $(tail -5 "$TMPD/dpkg-r.txt")"
got=$(calls)
echo "$got" | head -1 | grep -qx 'systemctl stop rtcap@\*.service (rtcap present)' ||
  fail "removal on a systemd host: want stop rtcap@*.service first, while rtcap is there; got: $got"
on_systemd_host dpkg --purge "${packages[@]}" > "$TMPD/dpkg-purge.txt" 2>&1 || fail "dpkg --purge: $(tail -5 "$TMPD/dpkg-purge.txt")"
installed=0
[ -L "$fake_systemd/etc/multi-user.target.wants/rtcap@eth0.service" ] &&
  fail "purge left the enabled instance rtcap@eth0.service"
log "maintainer scripts: removal stops rtcap@*.service before the binary goes; purge removes enabled instances"
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed" && fail "$p still known to dpkg"
done
while read -r path; do [ -e "$path" ] || [ -L "$path" ] && echo "$path"; done < "$manifest" > "$TMPD/after"
left=$(LC_ALL=C comm -13 "$before" "$TMPD/after")
[ -z "$left" ] || fail "left behind after purge: $left"
ldconfig -p | grep -q librtcap && fail "ldconfig still lists librtcap"
[ -e /var/lib/rtcap ] && fail "/var/lib/rtcap exists"
log "removed and purged: none of the $(wc -l < "$manifest") paths left, ldconfig clean"
echo "PASS"
