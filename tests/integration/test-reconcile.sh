# Counters that reconcile at stop, on a veth lab: for each live mode the final counters satisfy
#   received = packets_captured + kernel_dropped + app_dropped_packets + unread
# with unread (what the kernel counted after the last drain) 0 when the traffic ended before the
# stop, and the -c-th packet's followers only with -c. Modes: inline, --consumer-thread, -c (both
# deliveries, and opened while traffic flows), -G rotation, SIGTERM. Then the block policy with a stalled consumer (Python over
# the C API): kernel_dropped grows while the consumer sleeps (read live, not at the stop), and no
# packet is ever counted as app-dropped. Last, poll's bound on the live ring (a 50 ms handler).
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
have timeout || skip "coreutils timeout not installed"
have python3 || skip "python3 not installed"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"
TX="${LAB}-tx"
SENT=20000

# reconcile NAME JSON WANT_CAPTURED MAX_UNREAD: the relation on the final --stats-json line.
reconcile() {
  python3 - "$@" <<'EOF' || exit 1
import json, sys
name, path, want, max_unread = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = json.loads(open(path).read().splitlines()[-1])
assert s["final"], (name, "the last line is not the final one")
unread = s["received"] - s["packets_captured"] - s["kernel_dropped"] - s["app_dropped_packets"]
line = "%s: received %d = captured %d + kernel_dropped %d + app_dropped %d + unread %d" % (
    name, s["received"], s["packets_captured"], s["kernel_dropped"], s["app_dropped_packets"],
    unread)
print(line, file=sys.stderr)
ok = 0 <= unread <= max_unread and (want < 0 or s["packets_captured"] == want)
sys.exit(0 if ok else "FAIL " + line + " (want captured %d, unread <= %d)" % (want, max_unread))
EOF
}

# run_mode NAME WANT_CAPTURED MAX_UNREAD SIGNAL ARGS...: rtcap in the rx namespace, SENT packets
# at 20,000/s from the tx side, then SIGNAL (none: rtcap ends on its own, -c) once they went.
run_mode() {
  local name=$1 want=$2 max_unread=$3 sig=$4
  shift 4
  mkdir -p "$TMPD/$name"
  timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -q --stats-json "$TMPD/$name/s.json" "$@" \
    udp dst port 5004 2>"$TMPD/$name/err" &
  local pid=$!
  BG_PIDS="$BG_PIDS $pid"
  wait_listening "$TMPD/$name/err" "$pid"
  "$RTCAP" gen --netns "$TX" -q --payload 32 --rate 20000 --count "$SENT" >/dev/null 2>&1 ||
    fail "$name: gen"
  sleep 0.5  # the last packets reach the ring and the block retires
  if [ "$sig" = none ]; then
    wait "$pid"
    INT_RC=$?
  elif [ "$sig" = INT ]; then
    interrupt_and_reap "$pid" 5
  else
    local child
    child=$(pgrep -P "$pid" | head -1)
    kill -"$sig" "${child:-$pid}"
    wait "$pid"
    INT_RC=$?
  fi
  [ "$INT_RC" = 0 ] || fail "$name: exit $INT_RC: $(tail -3 "$TMPD/$name/err")"
  reconcile "$name" "$TMPD/$name/s.json" "$want" "$max_unread"
}

run_mode inline "$SENT" 0 INT -w "$TMPD/inline/c.pcap"
run_mode threaded "$SENT" 0 INT --consumer-thread -w "$TMPD/threaded/c.pcap"
# -c: the packets after the count are the kernel's after the last read (at most the rest sent).
run_mode count-inline 5000 "$((SENT - 5000))" none -c 5000 -w "$TMPD/count-inline/c.pcap"
run_mode count-threaded 5000 "$((SENT - 5000))" none -c 5000 --consumer-thread \
  -w "$TMPD/count-threaded/c.pcap"
run_mode rotate "$SENT" 0 INT -G 1 -w "$TMPD/rotate/c-%s.pcap"
run_mode sigterm "$SENT" 0 TERM -w "$TMPD/sigterm/c.pcap"
# -c with traffic already flowing when the capture opens: packets reach the ring before the
# filter is set and are captured; received must count them too (it fell one short of captured).
mkdir -p "$TMPD/busy"
"$RTCAP" gen --netns "$TX" -q --payload 32 --rate 20000 --count 400000 >/dev/null 2>&1 &
GEN_PID=$!
BG_PIDS="$BG_PIDS $GEN_PID"
sleep 0.3
for i in 1 2; do
  timeout 30 "$RTCAP" --netns "$RX" -i "$RX" -q -c 5000 --stats-json "$TMPD/busy/s$i.json" \
    -w "$TMPD/busy/c$i.pcap" udp dst port 5004 2>"$TMPD/busy/err$i" ||
    fail "busy -c: $(tail -3 "$TMPD/busy/err$i")"
  reconcile "count-busy-$i" "$TMPD/busy/s$i.json" 5000 20000
done
kill "$GEN_PID" 2>/dev/null
wait "$GEN_PID" 2>/dev/null
n=$(count_packets "$TMPD/inline/c.pcap")
[ "$n" = "$SENT" ] || fail "inline: tcpdump reads $n packets of $SENT in the file"

# The block policy with a consumer that sleeps 3 s on its first batch: a 256 KiB ring
# overflows at once; kernel_dropped must grow while it sleeps and app_dropped stay 0.
PYDIR=${RTCAP_PYTHON_DIR:-}
if [ ! -f "$PYDIR/rtcap.py" ] || [ ! -f "${RTCAP_LIBRARY:-}" ]; then
  skip_part "block policy: RTCAP_PYTHON_DIR / RTCAP_LIBRARY not set (CTest sets them)"
elif ldd "$RTCAP_LIBRARY" | grep -q libasan; then
  skip_part "block policy: a sanitizer build (test-python.sh covers the Python module there)"
else
  # The traffic starts once the capture is open (python writes the marker).
  (for _ in $(seq 100); do [ -f "$TMPD/block.open" ] && break; sleep 0.05; done
   "$RTCAP" gen --netns "$TX" -q --payload 32 --rate 20000 --count 100000 >/dev/null 2>&1) &
  GEN_PID=$!
  BG_PIDS="$BG_PIDS $GEN_PID"
  timeout 60 env PYTHONPATH="$PYDIR" RTCAP_LIBRARY="$RTCAP_LIBRARY" \
    ip netns exec "$RX" python3 - "$RX" "$TMPD/block.open" >"$TMPD/block.txt" 2>&1 <<'EOF' ||
import sys, threading, time, rtcap
samples = []
with rtcap.Capture(interfaces=[sys.argv[1]], filter="udp dst port 5004", delivery="threaded",
                   overflow="block", pool_batches=2, batch_packets=64, buffer_kib=256,
                   stats_interval_ms=100) as cap:
    open(sys.argv[2], "w").close()
    stalled = threading.Event()
    def watch():
        stalled.wait(5)
        for _ in range(5):
            time.sleep(0.5)
            samples.append(cap.stats()["kernel_dropped"])
    t = threading.Thread(target=watch)
    t.start()
    def slow(view):
        if not stalled.is_set():
            stalled.set()
            time.sleep(3)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        cap.poll(0.1, slow)
    cap.stop()
    while not cap.done:
        cap.poll(0.1)
    t.join()
    s = cap.stats()
unread = s["received"] - s["packets_captured"] - s["kernel_dropped"] - s["app_dropped_packets"]
print("kernel_dropped while stalled:", samples)
print("final:", {k: s[k] for k in ("received", "packets_captured", "kernel_dropped",
                                   "app_dropped_packets")}, "unread", unread)
assert s["app_dropped_packets"] == 0, "block policy counted app drops"
assert samples[0] < samples[-1], "kernel_dropped did not move while the consumer stalled"
assert 0 <= unread <= 20000, unread
EOF
    fail "block policy: $(cat "$TMPD/block.txt")"
  log "block policy: $(tr '\n' ' ' <"$TMPD/block.txt")"
  wait "$GEN_PID" 2>/dev/null
fi

# poll's bound on the live ring: inline, a handler that sleeps 50 ms per batch at 20,000
# packets/s; each poll(0.1) returns within 0.1 s plus one handler (plus scheduling slack on a
# loaded machine), every packet taken is delivered, and the counters still add up.
if [ -f "$PYDIR/rtcap.py" ] && [ -f "${RTCAP_LIBRARY:-}" ] && ! ldd "$RTCAP_LIBRARY" | grep -q libasan; then
  (for _ in $(seq 100); do [ -f "$TMPD/bound.open" ] && break; sleep 0.05; done
   "$RTCAP" gen --netns "$TX" -q --payload 32 --rate 20000 --count 60000 >/dev/null 2>&1) &
  GEN_PID=$!
  BG_PIDS="$BG_PIDS $GEN_PID"
  timeout 60 env PYTHONPATH="$PYDIR" RTCAP_LIBRARY="$RTCAP_LIBRARY" \
    ip netns exec "$RX" python3 - "$RX" "$TMPD/bound.open" >"$TMPD/bound.txt" 2>&1 <<'EOF' ||
import sys, time, rtcap
with rtcap.Capture(interfaces=[sys.argv[1]], filter="udp dst port 5004", batch_packets=256,
                   buffer_kib=65536) as cap:
    open(sys.argv[2], "w").close()
    got, longest = [0], 0.0
    def slow(view):
        got[0] += len(view)
        time.sleep(0.05)
    end = time.monotonic() + 4
    while time.monotonic() < end:
        t0 = time.monotonic()
        cap.poll(0.1, slow)
        longest = max(longest, time.monotonic() - t0)
    cap.stop()
    while not cap.done:
        cap.poll(0.1, lambda view: got.__setitem__(0, got[0] + len(view)))
    s = cap.stats()
unread = s["received"] - s["packets_captured"] - s["kernel_dropped"] - s["app_dropped_packets"]
print("longest poll(0.1) %.3f s; delivered %d captured %d received %d kernel_dropped %d unread %d"
      % (longest, got[0], s["packets_captured"], s["received"], s["kernel_dropped"], unread))
assert got[0] == s["packets_captured"] == s["packets_delivered"], "delivered != captured"
assert got[0] > 1000, "too little traffic to test the bound"
assert longest < 0.1 + 0.05 + 0.15, "poll(0.1) took %.3f s" % longest
assert 0 <= unread <= 20000, unread
EOF
    fail "poll bound: $(cat "$TMPD/bound.txt")"
  log "poll bound: $(cat "$TMPD/bound.txt")"
  kill "$GEN_PID" 2>/dev/null
  wait "$GEN_PID" 2>/dev/null
else
  skip_part "poll bound: needs RTCAP_PYTHON_DIR / RTCAP_LIBRARY and a build without sanitizers"
fi
log "pass"
