# Counters that agree (issue 13, item 5), on a veth lab at 50,000 packets/s:
#   1. SIGUSR1's "packets received by filter" is read then (pcap_stats), not the copy of up to a
#      second ago: it agrees with "packets captured" printed beside it;
#   2. the first --stats-json line already carries received and capture_cpu_ns (it was 0);
#   3. the status line's delay percentiles say they are the interval's.
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

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
log "PASS"
