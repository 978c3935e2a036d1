#!/usr/bin/env bash
# The Python module as its users get it: its type hints checked by mypy (python/pyproject.toml,
# [tool.mypy]), its version the project's, then `pip install ./python` into a fresh virtual
# environment (python3 -m venv) and the example run from there, outside the source tree, on a
# capture file, with the library RTCAP_LIBRARY names (a build tree's).
#
#   tests/test-python-package.sh SOURCE_DIR BUILD_DIR
#
# Offline: pip builds with the venv's setuptools and the system's wheel (--system-site-packages,
# --no-build-isolation: Debian's python3-setuptools and python3-wheel); with a network, plain
# `pip install ./python` fetches them itself. No root needed.
set -euo pipefail
PY=${PYTHON:-/usr/bin/python3}  # Debian's, with the python3-* packages above
src=$(cd "${1:?usage: test-python-package.sh SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: test-python-package.sh SOURCE_DIR BUILD_DIR}" && pwd)
PCAP=$src/tests/data/rtp-12streams-125us.pcap
PCAP_PACKETS=1200  # tshark -r tests/data/rtp-12streams-125us.pcap | wc -l
log() { echo "[test-python-package] $*" >&2; }
fail() { echo "[test-python-package] FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d /tmp/rtcap-python.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
lib=$(ls "$build"/src/librtcap.so.1 2>/dev/null || ls "$build"/librtcap.so.1 2>/dev/null || true)
[ -n "$lib" ] || fail "no librtcap.so.1 under $build (build the shared library first)"

# 1. mypy, with the settings in pyproject.toml.
(cd "$src/python" && "$PY" -m mypy --cache-dir "$tmp/mypy-cache") > "$tmp/mypy.txt" 2>&1 ||
  fail "mypy: $(cat "$tmp/mypy.txt")"
log "mypy: $(tail -1 "$tmp/mypy.txt")"

# 2. One version: pyproject.toml's is CMakeLists.txt's project(VERSION).
want=$(sed -n 's/^project(rtcap VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
got=$("$PY" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$src/python/pyproject.toml")
[ "$got" = "$want" ] || fail "python/pyproject.toml version $got, CMakeLists.txt $want"

# 3. A fresh venv; pip install from a copy (setuptools builds in the source folder).
"$PY" -m venv --system-site-packages "$tmp/venv" || fail "python3 -m venv (package python3-venv)"
cp -r "$src/python" "$tmp/python"
"$tmp/venv/bin/pip" install -q --no-build-isolation --no-index "$tmp/python" > "$tmp/pip.txt" 2>&1 ||
  fail "pip install ./python: $(tail -5 "$tmp/pip.txt")"
where=$(cd "$tmp" && "$tmp/venv/bin/python" -c 'import importlib.util as u; print(u.find_spec("rtcap").origin)')
case "$where" in "$tmp/venv/"*) ;; *) fail "import rtcap finds $where, not the venv's";; esac
log "pip install ./python: rtcap $("$tmp/venv/bin/pip" show rtcap | sed -n 's/^Version: //p') in $where"

# 4. Without the library the import says what to do; with RTCAP_LIBRARY the example runs.
out=$(cd "$tmp" && env -u RTCAP_LIBRARY LD_LIBRARY_PATH= "$tmp/venv/bin/python" -c 'import rtcap' 2>&1) &&
  ! ldconfig -p | grep -q librtcap.so.1 && fail "import rtcap without a library succeeded"
if ! ldconfig -p | grep -q librtcap.so.1; then
  echo "$out" | grep -q "RTCAP_LIBRARY" || fail "import rtcap without a library: $out"
fi
cp "$src/python/examples/rtcap_pps.py" "$tmp/pps.py"  # outside the source tree: no sys.path help
out=$(cd "$tmp" && RTCAP_LIBRARY=$lib "$tmp/venv/bin/python" pps.py -r "$PCAP" 2>&1) ||
  fail "example from the venv: $out"
echo "$out" | tail -1 | grep -q "total packets=$PCAP_PACKETS " || fail "example: $out"
log "example from the venv on $lib: $(echo "$out" | tail -1)"

# 5. Waiting on a capture in one's own loop: selectors on Capture.fileno() with timeout() and
# dispatch(), every payload a read-only memoryview into the batch (the first packet's bytes
# against the file's, read here); live on lo (root): stop() from another thread wakes the wait.
live=; [ "$(id -u)" = 0 ] && live=lo
cat > "$tmp/selectors_test.py" <<'PY'
import selectors, sys, threading, time
import rtcap
pcap = sys.argv[1]
# the file's first packet, read independently of the library
raw = open(pcap, "rb").read()
assert raw[:4] == bytes.fromhex("d4c3b2a1"), raw[:4]
incl = int.from_bytes(raw[24 + 8:24 + 12], "little")
first_truth = raw[24 + 16:24 + 16 + incl]
n, first = 0, []
with rtcap.Capture(read_file=pcap) as cap:
    print("readiness", cap.readiness())
    sel = selectors.DefaultSelector()
    sel.register(cap, selectors.EVENT_READ)  # a Capture is a file object: fileno()
    def on(view):
        global n
        for p in view:
            assert isinstance(p.data, memoryview) and p.data.readonly, type(p.data)
            if not first:
                first.append(p.copy())
            n += 1
    waits = 0
    while not cap.done:
        sel.select(cap.timeout())
        waits += 1
        cap.dispatch(on)
    sel.close()
assert n == 1200, n
assert isinstance(first[0].data, bytes) and first[0].data == first_truth
print("file: %d packets in %d waits, payloads memoryviews, first packet = the file's" % (n, waits))
if len(sys.argv) > 2:
    with rtcap.Capture(interfaces=[sys.argv[2]], filter="udp port 9") as cap:
        sel = selectors.DefaultSelector()
        sel.register(cap, selectors.EVENT_READ)
        threading.Timer(0.3, cap.stop).start()
        t0 = time.monotonic()
        while not cap.done:
            sel.select(cap.timeout())
            cap.dispatch()
        dt = time.monotonic() - t0
        assert 0.25 < dt < 2.0, dt
        print("live: stop() from another thread woke the selector after %.2f s" % dt)
PY
out=$(cd "$tmp" && RTCAP_LIBRARY=$lib "$tmp/venv/bin/python" selectors_test.py "$PCAP" $live 2>&1) ||
  fail "selectors: $out"
echo "$out" | grep -q "^file: 1200 packets" || fail "selectors: $out"
log "selectors: $(echo "$out" | grep -v '^readiness' | paste -sd';' -)"

# 6. The tone example (numpy from the system's python3-numpy, through --system-site-packages) on a
# capture written here: L24/48000/2, 1 ms packets, a 997 Hz sine at -6 dBFS on channel 0 and
# 3000 Hz at -20 dBFS on channel 1 (the truth), behind a packet of another stream.
if "$tmp/venv/bin/python" -c 'import numpy' 2>/dev/null; then
  "$tmp/venv/bin/python" - "$tmp/tones.pcap" <<'PY'
import math, struct, sys
def frame(payload, ssrc, seq, ts, dport=5004):
    rtp = struct.pack("!BBHII", 0x80, 97, seq, ts, ssrc) + payload
    udp = struct.pack("!HHHH", 5004, dport, 8 + len(rtp), 0) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([198, 18, 0, 1]), bytes([239, 69, 1, 1])) + udp
    return b"\x01\x00\x5e\x45\x01\x01\x02\x00\x00\x00\x00\x01\x08\x00" + ip
out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
def write(t_us, data):
    out.write(struct.pack("<IIII", t_us // 10**6, t_us % 10**6, len(data), len(data)) + data)
write(0, frame(bytes(12), 0x22222222, 1, 0, 5006))  # another stream first: not the one measured
for k in range(1200):
    payload = b""
    for n in range(k * 48, k * 48 + 48):
        for f, a in ((997.0, 10 ** (-6 / 20)), (3000.0, 10 ** (-20 / 20))):
            v = round(a * 8388607 * math.sin(2 * math.pi * f * n / 48000)) & 0xFFFFFF
            payload += v.to_bytes(3, "big")
    write(1000 + k * 1000, frame(payload, 0x11111111, k, k * 48))
PY
  cp "$src/python/examples/rtcap_tones.py" "$tmp/tones.py"
  out=$(cd "$tmp" && RTCAP_LIBRARY=$lib "$tmp/venv/bin/python" tones.py -r "$tmp/tones.pcap" \
    --format 239.69.1.1:5004=L24/48000/2 udp dst port 5004 2>&1) || fail "tone example: $out"
  echo "$out" | grep -q '^ssrc=0x11111111 frames=48000 ' || fail "tone example: $out"
  "$PY" - "$out" <<'PY' || fail "tone example: $out"
import sys
got = {}
for line in sys.argv[1].splitlines():
    if line.startswith("channel="):
        f = dict(kv.split("=") for kv in line.split())
        got[int(f["channel"])] = (float(f["frequency_hz"]), float(f["level_dbfs"]))
want = {0: (997.0, -6.0), 1: (3000.0, -20.0)}
assert set(got) == set(want), got
for c, (hz, db) in want.items():
    assert abs(got[c][0] - hz) < 1.0 and abs(got[c][1] - db) < 0.1, (c, got[c])
PY
  log "tone example (numpy FFT): $(echo "$out" | grep -c '^channel=') channels at the frequencies sent"
else
  log "numpy not installed (python3-numpy): tone example not run"
fi
echo PASS
