#!/usr/bin/env bash
# Python consuming 12 AES67 streams through numpy at ~100,000 packets/s, on a real capture:
# rtcap gen sends 12 SAP-announced L24/48000/2 streams at 125 us (96,000 packets/s) inside a lab
# the script makes and removes; rtcap.Audio delivers every stream as numpy float32 blocks of 480
# frames and the handler measures each block's peak (numpy). Prints the packets the kernel
# dropped, what the Python API delivered, the gen's count and the Python process's CPU time.
#
#   sudo RTCAP_PYTHON_DIR=python RTCAP_LIBRARY=build/librtcap.so \
#     bash bench/python-audio-12streams.sh build/tools/rtcap/rtcap [SECONDS]
#
# A measurement, not a test: run it on a quiet machine and quote `uptime` beside its figures.
. "$(dirname "$0")/../tests/integration/lib.sh" "$@"
SECS=${2:-10}
PYDIR=${RTCAP_PYTHON_DIR:-}
[ -f "$PYDIR/rtcap.py" ] || fail "RTCAP_PYTHON_DIR must name the python/ folder"
[ -f "${RTCAP_LIBRARY:-}" ] || fail "RTCAP_LIBRARY must name librtcap.so"
require_root
require_netns
PY=${PYTHON:-/usr/bin/python3}
"$PY" -c 'import numpy' 2>/dev/null || skip "numpy not installed for $PY (python3-numpy)"
export PYTHONPATH=$PYDIR RTCAP_LIBRARY

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up failed"

ip netns exec "${LAB}-rx" "$PY" - "$TMPD" "${LAB}-rx" "$SECS" >"$TMPD/py.out" 2>"$TMPD/py.err" <<'PY' &
import json, os, resource, sys, time
import numpy as np
import rtcap
tmp, iface, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
peaks = {}
blocks = 0
def on_audio(b):
    global blocks
    blocks += 1
    peaks[b.stream.id] = float(np.abs(b.samples).max())
with rtcap.Capture(interfaces=[iface], filter="udp") as cap, rtcap.Audio() as audio:
    sub = audio.subscribe(on_audio, max_streams=16)
    open(tmp + "/py.ready", "w").close()
    deadline = time.monotonic() + secs + 30
    while not os.path.exists(tmp + "/sent") and time.monotonic() < deadline:
        cap.poll(0.1, audio.add)
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        cap.poll(0.1, audio.add)
    audio.finish()
    st, cs = audio.stats(sub), cap.stats()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"kernel_dropped": cs["kernel_dropped"], "captured": cs["packets_captured"],
                  "app_dropped": cs["app_dropped_packets"], "audio": st, "blocks": blocks, "streams_heard": len(peaks),
                  "cpu_s": ru.ru_utime + ru.ru_stime}))
PY
PYPID=$!
BG_PIDS="$BG_PIDS $PYPID"
for _ in $(seq 1 200); do [ -e "$TMPD/py.ready" ] && break; sleep 0.05; done
[ -e "$TMPD/py.ready" ] || fail "the Python capture did not start: $(cat "$TMPD/py.err")"
"$RTCAP" gen --netns "${LAB}-tx" --streams 12 --ptime 125us --sap --group-per-stream \
  --dst 239.69.8.1:5004 --allow-multicast --secs "$SECS" -q --json "$TMPD/gen.json" ||
  fail "gen exit $?"
touch "$TMPD/sent"
wait "$PYPID" || fail "the Python capture failed: $(tail -20 "$TMPD/py.err")"
BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $PYPID\b//")
log "gen: $(tr -d " \n" <"$TMPD/gen.json")"
log "python: $(cat "$TMPD/py.out")"
log "load: $(uptime)"
