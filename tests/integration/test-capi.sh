# The C API through the lab: 100,000 packets at 100,000/s captured by a C program that uses
# nothing but rtcap.h (tests/capi/capi_seq.c), each sequence number exactly once, while the rtcap
# command (the C++ API) captures the same packets on the same interface: the two report the same
# counts. Then threaded delivery, readiness + dispatch in an own poll(2) loop, a stop from another
# thread that must end a 10 s poll at once, a double close, and a missing interface.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
CAPI_SEQ=${RTCAP_CAPI_SEQ:-}
[ -x "$CAPI_SEQ" ] || fail "RTCAP_CAPI_SEQ must name the rtcap_capi_seq binary (CTest sets it)"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"

# start_capi NAME ARGS...: the C program in the rx namespace; returns once it listens.
start_capi() {
  local name=$1; shift
  timeout 60 ip netns exec "$RX" "$CAPI_SEQ" -i "$RX" "$@" > "$TMPD/$name.out" 2> "$TMPD/$name.err" &
  CAPI_PID=$!
  BG_PIDS="$BG_PIDS $CAPI_PID"
  wait_listening "$TMPD/$name.err" "$CAPI_PID"
}
field() { tr ' ' '\n' < "$1" | sed -n "s/^$2=//p" | head -1; }  # field FILE KEY

# 1. 100,000 at 100,000/s: the C API (inline, the default) and the C++ API side by side.
start_capi inline --expect 100000
timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -q -c 100000 -w /dev/null --stats-json "$TMPD/cxx.json" \
  udp dst port 5004 2> "$TMPD/cxx.err" &
CXX_PID=$!
BG_PIDS="$BG_PIDS $CXX_PID"
wait_listening "$TMPD/cxx.err" "$CXX_PID"
gen --payload 32 --rate 100000 --count 100000
rc=0; wait "$CAPI_PID" || rc=$?
[ "$rc" = 0 ] || fail "C API capture (exit $rc): $(cat "$TMPD/inline.out" "$TMPD/inline.err")"
rc=0; wait "$CXX_PID" || rc=$?
[ "$rc" = 0 ] || fail "rtcap -c 100000 exited $rc: $(tail -3 "$TMPD/cxx.err")"
BG_PIDS=""
out=$TMPD/inline.out
[ "$(field "$out" unique)" = 100000 ] && [ "$(field "$out" duplicates)" = 0 ] ||
  fail "C API: not every packet exactly once: $(cat "$out")"
for k in packets_captured received kernel_dropped app_dropped_packets bytes_captured packets_truncated; do
  c=$(field "$out" "$k"); cxx=$(final_field "$TMPD/cxx.json" "$k")
  [ -n "$c" ] && [ "$c" = "$cxx" ] || fail "$k: C API $c, C++ API (rtcap) $cxx"
done
[ "$(field "$out" kernel_dropped)" = 0 ] || fail "kernel drops: $(cat "$out")"
[ "$(field "$out" packets_delivered)" = 100000 ] || fail "packets_delivered: $(cat "$out")"
[ "$(field "$out" latency_count)" = 100000 ] || fail "latency recorded for $(field "$out" latency_count) packets"
log "C API inline: 100000/100000 once each; C and C++ APIs agree: captured=$(field "$out" packets_captured) received=$(field "$out" received) bytes=$(field "$out" bytes_captured) drops=0 (C: $(field "$out" wakeups) wake-ups, p99 $(field "$out" latency_p99_ns) ns)"

# 2. Threaded delivery, and inline with the application's own poll(2) loop on the readiness fds.
for mode in threaded readiness; do
  start_capi "$mode" --expect 30000 --"$mode"
  gen --payload 32 --rate 100000 --count 30000
  rc=0; wait "$CAPI_PID" || rc=$?
  BG_PIDS=""
  [ "$rc" = 0 ] || fail "C API --$mode (exit $rc): $(cat "$TMPD/$mode.out" "$TMPD/$mode.err")"
  [ "$(field "$TMPD/$mode.out" kernel_dropped)" = 0 ] || fail "--$mode drops: $(cat "$TMPD/$mode.out")"
  log "C API --$mode: 30000/30000 once each, 0 drops"
done

# 3. Stop from another thread: the poll waiting with a 10 s timeout returns at once; closing twice
#    is an error code.
start_capi stop --stop-after-ms 300
rc=0; wait "$CAPI_PID" || rc=$?
BG_PIDS=""
[ "$rc" = 0 ] || fail "stop from another thread (exit $rc): $(cat "$TMPD/stop.out" "$TMPD/stop.err")"
ms=$(field "$TMPD/stop.out" stop_to_return_ms)
grep -q "poll_status=RTCAP_DONE" "$TMPD/stop.out" || fail "after stop: $(cat "$TMPD/stop.out")"
awk -v ms="$ms" 'BEGIN { exit !(ms < 500) }' || fail "poll returned $ms ms after rtcap_engine_stop (want < 500)"
grep -q "second_close=RTCAP_ERR_INVALID_HANDLE" "$TMPD/stop.out" || fail "double close: $(cat "$TMPD/stop.out")"
log "stop from another thread: a 10 s poll returned $ms ms after it; second close: RTCAP_ERR_INVALID_HANDLE"

# 4. A missing interface: the engine's code and its one-line message.
rc=0
ip netns exec "$RX" "$CAPI_SEQ" -i "${LAB}-nope" --expect 1 > /dev/null 2> "$TMPD/nope.err" || rc=$?
[ "$rc" = 2 ] || fail "missing interface: exit $rc"
grep -q "RTCAP_ERR_NO_SUCH_DEVICE: no such interface '${LAB}-nope'" "$TMPD/nope.err" ||
  fail "missing interface message: $(cat "$TMPD/nope.err")"
log "missing interface: $(cat "$TMPD/nope.err")"

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
echo "PASS"
