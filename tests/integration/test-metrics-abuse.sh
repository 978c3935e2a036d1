# Metrics under abuse: with 64 idle and then 64 slow connections open to the
# metrics port, a scrape still answers within 1 s; after -Z, every thread of rtcap, the metrics
# server's included, runs with no_new_privs set and no capability left.
# Connections are made to 127.0.0.1 inside the lab's namespace only.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
"$RTCAP" --help 2>&1 | grep -q -- "--metrics-listen" || skip "rtcap has no --metrics-listen"
have curl || skip "curl not installed (scripts/install-deps.sh installs it)"
have python3 || skip "python3 not installed (scripts/install-deps.sh installs it)"
getent passwd nobody >/dev/null || skip "no user 'nobody'"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"
chmod 755 "$TMPD"  # nobody writes its file below
OUT="$TMPD/out"
mkdir -p "$OUT"
chown nobody "$OUT"

timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -q -Z nobody --streams --metrics-listen 127.0.0.1:0 \
  -w "$OUT/m.pcap" udp dst portrange 5004-5010 2>"$TMPD/m.err" &
PID=$!
BG_PIDS="$BG_PIDS $PID"
wait_listening "$TMPD/m.err" "$PID"
PORT=$(grep -o "metrics at http://127.0.0.1:[0-9]*" "$TMPD/m.err" | sed 's/.*://')
[ -n "$PORT" ] || fail "no 'metrics at http://127.0.0.1:PORT' line: $(cat "$TMPD/m.err")"
CHILD=$(pgrep -P "$PID" | head -1)
[ -n "$CHILD" ] || fail "no rtcap process under timeout $PID"

# 1. Every thread after -Z: no_new_privs, no capability, nobody's uid (/proc/PID/task/*/status).
sleep 0.5
threads=0
for status in /proc/"$CHILD"/task/*/status; do
  name=$(awk '$1 == "Name:" { print $2 }' "$status")
  for f in CapEff CapPrm CapInh; do
    v=$(awk -v f="$f:" '$1 == f { print $2 }' "$status")
    [ "$v" = 0000000000000000 ] || fail "thread $status ($name): $f is $v after -Z"
  done
  nnp=$(awk '$1 == "NoNewPrivs:" { print $2 }' "$status")
  [ "$nnp" = 1 ] || fail "thread $status ($name): NoNewPrivs is $nnp after -Z"
  uid=$(awk '$1 == "Uid:" { print $2 }' "$status")
  [ "$uid" = "$(id -u nobody)" ] || fail "thread $status ($name): uid $uid after -Z"
  threads=$((threads + 1))
done
# main, capture, consumer... and the metrics door and its two workers.
[ "$threads" -ge 4 ] || fail "only $threads threads in /proc/$CHILD/task: is the metrics server running?"
log "-Z nobody: $threads threads, each with NoNewPrivs 1 and no capability"

# hold MODE: open 64 connections to the metrics port and keep them open until killed.
#   idle: connect, send nothing.  slow: send a request head one byte every 0.2 s, never ending it.
hold() {
  ip netns exec "$RX" python3 - "$PORT" "$1" "$TMPD/held.$1" <<'PY' &
import socket, sys, time
port, mode, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(64)]
open(ready, "w").write("64\n")
head = b"GET /metrics HTTP/1.0\r\nX-Slow: " + b"a" * 4000
i = 0
end = time.time() + 30
while time.time() < end:
    if mode == "slow":
        for c in conns:
            try:
                c.send(head[i % len(head):i % len(head) + 1])
            except OSError:
                pass
        i += 1
    time.sleep(0.2)
PY
  HOLD_PID=$!
  BG_PIDS="$BG_PIDS $HOLD_PID"
  for i in $(seq 1 100); do
    [ -s "$TMPD/held.$1" ] && return 0
    kill -0 "$HOLD_PID" 2>/dev/null || fail "could not open 64 $1 connections"
    sleep 0.05
  done
  fail "64 $1 connections not open after 5 s"
}

# scrape_within_1s MODE: one scrape with curl, timed; 200 and under 1 s.
scrape_within_1s() {
  sleep 0.3  # the server has accepted them all
  out=$(ip netns exec "$RX" curl -s -o "$TMPD/scrape.$1" -w '%{http_code} %{time_total}' \
    --max-time 10 "http://127.0.0.1:$PORT/metrics") || fail "curl with 64 $1 connections: exit $?"
  code=${out%% *}
  secs=${out#* }
  [ "$code" = 200 ] || fail "scrape with 64 $1 connections: HTTP $code"
  grep -q "^rtcap_packets_captured_total " "$TMPD/scrape.$1" || fail "scrape with 64 $1 connections: no metrics"
  awk -v s="$secs" 'BEGIN { exit !(s < 1.0) }' || fail "scrape with 64 $1 connections open took $secs s (bound: 1 s)"
  log "scrape with 64 $1 connections open: HTTP $code in $secs s"
}

hold idle
scrape_within_1s idle
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null
hold slow
scrape_within_1s slow
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null

kill -INT "$PID"
wait "$PID" || fail "rtcap exited $? after SIGINT: $(tail -3 "$TMPD/m.err")"
"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
log "PASS"
