# The Python module (python/rtcap.py, ctypes over the C API): on a pcap file, every packet's time
# stamp and length as tshark reads them; through the lab, 20,000 packets each exactly once with
# no drop, in both deliveries; the per-second example (python/examples/rtcap_pps.py) live.
. "$(dirname "$0")/lib.sh" "$@"
PYDIR=${RTCAP_PYTHON_DIR:-}
[ -f "$PYDIR/rtcap.py" ] || fail "RTCAP_PYTHON_DIR must name the python/ folder (CTest sets it)"
[ -f "${RTCAP_LIBRARY:-}" ] || fail "RTCAP_LIBRARY must name librtcap.so (CTest sets it)"
have python3 || skip "python3 not installed"
export PYTHONPATH=$PYDIR RTCAP_LIBRARY
# An ASan build of librtcap (.ci/sanitizers.sh) needs its runtime loaded before python3 starts;
# Python's own allocations are not ours to leak-check.
asan_rt=$(ldd "$RTCAP_LIBRARY" | awk '/libasan|libubsan/ {print $3}' | paste -sd' ' -)
PY=(python3)
if [ -n "$asan_rt" ]; then
  PY=(env LD_PRELOAD="$asan_rt" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" python3)
  log "sanitizer build: python3 runs with LD_PRELOAD=$asan_rt"
fi
SAMPLE=$(cd "$(dirname "$0")/../data" && pwd)/rtp-12streams-125us.pcap

# 1. The file, packet by packet, against tshark (an independent reader).
"${PY[@]}" - "$SAMPLE" > "$TMPD/py.txt" 2> "$TMPD/py.err" <<'EOF' || fail "python on the file: $(cat "$TMPD/py.err")"
import sys, rtcap
with rtcap.Capture(read_file=sys.argv[1]) as cap:
    assert cap.interfaces()[0]["linktype"] == 1, cap.interfaces()
    for batch in cap.batches():
        for p in batch:
            assert len(p.data) <= p.wire_len and p.interface_index == 0
            print("%d.%06d %d" % (p.ts_ns // 10**9, p.ts_ns // 1000 % 10**6, len(p.data)))
    s = cap.stats()
    assert s["packets_captured"] == s["packets_delivered"] == 1200, s
    assert cap.stop_reason == "end_of_file", cap.stop_reason
    assert cap.failure() is None
print("library %s, %s" % (rtcap.library_version(), rtcap.pcap_version()), file=sys.stderr)
EOF
[ "$(wc -l < "$TMPD/py.txt")" = 1200 ] || fail "python read $(wc -l < "$TMPD/py.txt") packets"
if have tshark; then
  # The file has microsecond time stamps: compare the text at 6 decimals (no floating point).
  tshark -r "$SAMPLE" -T fields -e frame.time_epoch -e frame.cap_len 2>/dev/null |
    sed 's/^\([0-9]*\.[0-9]\{6\}\)[0-9]*/\1/; s/\t/ /' > "$TMPD/tshark.txt"
  diff "$TMPD/py.txt" "$TMPD/tshark.txt" > "$TMPD/diff.txt" ||
    fail "python and tshark differ: $(head -5 "$TMPD/diff.txt")"
  log "file: 1200 packets, every time stamp and length as tshark reads them"
else
  skip_part "tshark not installed: per-packet comparison skipped"
fi

# 2. Errors arrive as rtcap.Error with the code and the message.
"${PY[@]}" - <<'EOF' 2> "$TMPD/err.txt" || fail "python error path: $(cat "$TMPD/err.txt")"
import rtcap
try:
    rtcap.Capture(read_file="/nonexistent/x.pcap")
    raise SystemExit("no error")
except rtcap.Error as e:
    assert e.name == "RTCAP_ERR_IO" and "/nonexistent/x.pcap" in str(e), (e.name, str(e))
try:
    rtcap.Capture(read_file="/dev/null", snaplen=-1)
    raise SystemExit("no error")
except rtcap.Error as e:
    assert e.name == "RTCAP_ERR_BAD_CONFIG", e.name
EOF

require_root
require_netns
"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"

# 3. 20,000 packets at 20,000/s through the lab, each index exactly once, no drop.
for delivery in inline threaded; do
  timeout 60 ip netns exec "$RX" "${PY[@]}" - "$RX" "$delivery" > "$TMPD/lab-$delivery.txt" \
    2> "$TMPD/lab-$delivery.err" <<'EOF' &
import sys, rtcap
rx, delivery = sys.argv[1:]
seen = bytearray(20000)
dups = other = 0
with rtcap.Capture(interfaces=[rx], filter="udp dst port 5004", delivery=delivery,
                   max_packets=20000) as cap:
    print("listening on %s" % rx, file=sys.stderr, flush=True)
    def on_batch(view):
        global dups, other
        for i in range(len(view)):
            raw = view.raw(i)
            d = bytes(raw.data[:raw.caplen])
            ihl = (d[14] & 0x0F) * 4
            index = int.from_bytes(d[14 + ihl + 8:14 + ihl + 16], "big")
            if index >= len(seen):
                other += 1
            elif seen[index]:
                dups += 1
            else:
                seen[index] = 1
    while not cap.done:
        cap.poll(0.1, on_batch)
    s = cap.stats()
print("unique=%d dups=%d other=%d captured=%d received=%d kernel_dropped=%d app_dropped=%d"
      % (sum(seen), dups, other, s["packets_captured"], s["received"], s["kernel_dropped"],
         s["app_dropped_packets"]))
EOF
  PY_PID=$!
  BG_PIDS="$BG_PIDS $PY_PID"
  wait_listening "$TMPD/lab-$delivery.err" "$PY_PID"
  "$RTCAP" gen --netns "${LAB}-tx" -q --payload 32 --rate 20000 --count 20000 || fail "gen"
  rc=0; wait "$PY_PID" || rc=$?
  BG_PIDS=""
  [ "$rc" = 0 ] || fail "python $delivery (exit $rc): $(cat "$TMPD/lab-$delivery.err")"
  grep -q "^unique=20000 dups=0 other=0 captured=20000 received=20000 kernel_dropped=0 app_dropped=0$" \
    "$TMPD/lab-$delivery.txt" || fail "python $delivery: $(cat "$TMPD/lab-$delivery.txt")"
  log "python $delivery through the lab: $(cat "$TMPD/lab-$delivery.txt")"
done

# 4. The per-second example, live: 3 s at 10,000/s while it runs for 4 s.
timeout 30 ip netns exec "$RX" "${PY[@]}" "$PYDIR/examples/rtcap_pps.py" -i "$RX" --seconds 4 \
  udp dst port 5004 > "$TMPD/pps.txt" 2> "$TMPD/pps.err" &
PY_PID=$!
BG_PIDS="$BG_PIDS $PY_PID"
wait_listening "$TMPD/pps.err" "$PY_PID"
"$RTCAP" gen --netns "${LAB}-tx" -q --payload 32 --rate 10000 --count 30000 || fail "gen"
rc=0; wait "$PY_PID" || rc=$?
BG_PIDS=""
[ "$rc" = 0 ] || fail "rtcap_pps.py (exit $rc): $(cat "$TMPD/pps.err")"
grep -q "^total packets=30000 captured=30000 received=30000 kernel_dropped=0 interface_dropped=0 app_dropped=0 " \
  "$TMPD/pps.txt" || fail "rtcap_pps.py: $(cat "$TMPD/pps.txt")"
secs=$(grep -c '^second=' "$TMPD/pps.txt")
[ "$secs" -ge 4 ] || fail "rtcap_pps.py printed $secs per-second lines: $(cat "$TMPD/pps.txt")"
busiest=$(sed -n 's/^second=[0-9]* packets=\([0-9]*\) .*/\1/p' "$TMPD/pps.txt" | sort -n | tail -1)
[ "$busiest" -ge 8000 ] && [ "$busiest" -le 12000 ] || fail "busiest second $busiest packets (want ~10000): $(cat "$TMPD/pps.txt")"
log "rtcap_pps.py: $secs seconds, busiest $busiest packets, $(tail -1 "$TMPD/pps.txt")"

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
echo "PASS"
