# Counters that agree (issue 13, item 5), on a veth lab at 50,000 packets/s:
#   1. SIGUSR1's "packets received by filter" is read then (pcap_stats), not the copy of up to a
#      second ago: it agrees with "packets captured" printed beside it;
#   2. the first --stats-json line already carries received and capture_cpu_ns (it was 0);
#   3. the status line's delay percentiles say they are the interval's;
#   4. a wall-clock step (libfaketime steps CLOCK_REALTIME for rtcap alone, back by an hour)
#      neither freezes the --stats-json lines (scheduled on the monotonic clock) nor moves the
#      packet time stamps (the kernel's CLOCK_REALTIME): skipped with a line without faketime.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
have timeout || skip "coreutils timeout not installed"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"

timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -w "$TMPD/c.pcap" --stats-json "$TMPD/c.json" \
  udp dst port 5004 2>"$TMPD/c.err" &
PID=$!
BG_PIDS="$BG_PIDS $PID"
wait_listening "$TMPD/c.err" "$PID"
RTCAP_ONLY=$(pgrep -P "$PID" | head -1)  # rtcap itself: timeout would die of SIGUSR1
[ -n "$RTCAP_ONLY" ] || fail "cannot find rtcap under timeout ($PID)"
"$RTCAP" gen --netns "${LAB}-tx" -q --payload 32 --rate 50000 --count 250000 >/dev/null 2>&1 &
GEN_PID=$!
BG_PIDS="$BG_PIDS $GEN_PID"
# Four requests at different points of the 1 s statistics interval.
for d in 1.3 0.55 0.8 0.45; do sleep "$d"; kill -USR1 "$RTCAP_ONLY"; done
sleep 0.5
wait "$GEN_PID" 2>/dev/null
interrupt_and_reap "$PID" 5
[ "$INT_RC" = 0 ] || fail "exit $INT_RC: $(tail -3 "$TMPD/c.err")"

# 1. Each SIGUSR1 block: "N packets captured" then "M packets received by filter". Both are read
# within microseconds of each other; one wake-up's worth of packets (a ring block, well under
# 2,000 at 50,000/s) may separate them. The old copy was up to a second (50,000 packets) old.
pairs=$(awk '/ packets captured$/ {c=$1; next}
             / packets received by filter$/ && c != "" {print c, $1; c=""}' "$TMPD/c.err")
n=$(echo "$pairs" | grep -c .)
[ "$n" -ge 4 ] || fail "want 4 SIGUSR1 blocks and the summary, got $n: $(cat "$TMPD/c.err")"
echo "$pairs" | while read -r captured received; do
  diff=$((captured > received ? captured - received : received - captured))
  [ "$diff" -le 2000 ] || fail "SIGUSR1: $captured packets captured beside $received received by filter"
done || exit 1
log "SIGUSR1 and summary (captured received): $(echo "$pairs" | tr '\n' ';')"

# 2. The first status line: traffic flowed for most of its second, so both are above zero.
first=$(head -1 "$TMPD/c.json")
recv=$(echo "$first" | grep -o '"received":[0-9]*' | head -1 | sed 's/.*://')
cpu=$(echo "$first" | grep -o '"capture_cpu_ns":[0-9]*' | head -1 | sed 's/.*://')
captured=$(echo "$first" | grep -o '"packets_captured":[0-9]*' | head -1 | sed 's/.*://')
[ "${captured:-0}" -gt 0 ] || fail "first --stats-json line: nothing captured yet ($first); the test sent too late"
[ "${recv:-0}" -gt 0 ] && [ "${cpu:-0}" -gt 0 ] ||
  fail "first --stats-json line: received ${recv:-?}, capture_cpu_ns ${cpu:-?} beside $captured captured"
log "first --stats-json line: captured $captured, received $recv, capture_cpu_ns $cpu"

# 3. The status line names its percentiles.
grep -q "delay this interval p50" "$TMPD/c.err" ||
  fail "status line does not say its delay percentiles are the interval's: $(grep -m1 pkts "$TMPD/c.err")"

# 4. A wall-clock step. libfaketime (Debian's faketime package) fakes the process's own clock
# calls; the kernel still stamps packets with the real CLOCK_REALTIME. FAKETIME_NO_CACHE makes
# it read the offset file at every call, so writing "-3600" into it steps rtcap's wall clock
# back an hour mid-capture; FAKETIME_DONT_FAKE_MONOTONIC leaves CLOCK_MONOTONIC alone.
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
if [ -z "$FAKETIME_LIB" ] || ! have python3; then
  skip_part "wall-clock step: libfaketime or python3 not installed (scripts/install-deps.sh installs faketime)"
else
  echo "+0" >"$TMPD/faketime.rc"
  # Under AddressSanitizer (.ci/sanitizers.sh) libfaketime comes before the ASan runtime in the
  # preload order, which ASan refuses unless told that this order is intended.
  timeout 60 env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$TMPD/faketime.rc" \
    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$RTCAP" --netns "$RX" -i "$RX" -q -w "$TMPD/ft.pcapng" --stats-json "$TMPD/ft.json" \
    udp dst port 5004 2>"$TMPD/ft.err" &
  PID=$!
  BG_PIDS="$BG_PIDS $PID"
  wait_listening "$TMPD/ft.err" "$PID"
  "$RTCAP" gen --netns "${LAB}-tx" -q --payload 32 --rate 1000 --count 7500 >/dev/null 2>&1 &
  GEN_PID=$!
  BG_PIDS="$BG_PIDS $GEN_PID"
  sleep 2.2
  before_step=$(grep -c . "$TMPD/ft.json")
  echo "-3600" >"$TMPD/faketime.rc"  # rtcap's wall clock is now an hour behind
  sleep 5
  real_end_s=$(date +%s)
  wait "$GEN_PID" 2>/dev/null
  interrupt_and_reap "$PID" 5
  [ "$INT_RC" = 0 ] || fail "wall-clock step: exit $INT_RC: $(tail -3 "$TMPD/ft.err")"
  after_step=$(( $(grep -c '"final":false' "$TMPD/ft.json") - before_step ))
  # 5 s after the step: 5 lines at 1 s, 4 allowing for where the step fell in the interval. A
  # wall-clock schedule would write none for an hour.
  [ "$after_step" -ge 4 ] ||
    fail "wall-clock step: $after_step --stats-json lines in the 5 s after it (want >= 4): the schedule follows the wall clock"
  # The step reached rtcap (else this test could not fail): its ISB end time is rtcap's wall
  # clock at the end; the packet stamps (EPBs) are the kernel's, within a minute of the real time.
  read -r isb_end_s first_pkt_s last_pkt_s packets < <(python3 - "$TMPD/ft.pcapng" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, isb_end, stamps = 0, None, []
while off + 12 <= len(data):
    btype, blen = struct.unpack_from("<II", data, off)
    if blen < 12:
        break
    if btype == 6:  # EPB: interface, ts high, ts low (if_tsresol 9: ns)
        _, hi, lo = struct.unpack_from("<III", data, off + 8)
        stamps.append(((hi << 32) | lo) // 10**9)
    elif btype == 5:  # ISB: options after interface id and timestamp
        o = off + 20
        while o + 4 <= off + blen - 4:
            code, length = struct.unpack_from("<HH", data, o)
            if code == 0:
                break
            if code == 3 and length == 8:  # isb_endtime
                isb_end = struct.unpack_from("<Q", data, o + 4)[0] // 10**9
            o += 4 + ((length + 3) & ~3)
    off += blen
print(isb_end if isb_end is not None else -1, min(stamps) if stamps else -1,
      max(stamps) if stamps else -1, len(stamps))
PY
  )
  [ "${packets:-0}" -gt 5000 ] || fail "wall-clock step: only ${packets:-no} packets in the file"
  [ "$isb_end_s" -gt 0 ] && [ $(( real_end_s - isb_end_s )) -ge 3000 ] ||
    fail "wall-clock step: rtcap's wall clock was not stepped (ISB end $isb_end_s, real $real_end_s): libfaketime did not take"
  [ $(( real_end_s - last_pkt_s )) -le 60 ] && [ $(( real_end_s - last_pkt_s )) -ge -5 ] ||
    fail "wall-clock step: last packet stamped $last_pkt_s, real time $real_end_s: packet stamps moved with the wall clock"
  log "wall-clock step back 1 h: $after_step --stats-json lines in the 5 s after it; packet stamps $first_pkt_s..$last_pkt_s (real end $real_end_s), rtcap's wall clock at the end $isb_end_s"
fi

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
log "PASS"
