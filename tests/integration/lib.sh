# Shared helpers for the integration tests. Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh" "$@"      # $1 = path to the rtcap binary
#
# Exit codes: 0 pass, 77 skipped (CTest SKIP_RETURN_CODE), anything else fail.
# Every test gets its own lab name (rt + pid digits, <= 8 chars so "<name>-tx" fits IFNAMSIZ)
# and its own temp directory; an EXIT trap always runs `rtcap lab down` and removes both,
# also when the test fails or is interrupted.

set -u

RTCAP=${1:-}
if [ -z "$RTCAP" ] || [ ! -x "$RTCAP" ]; then
  echo "FAIL: usage: bash $0 /path/to/rtcap (got '${RTCAP}', not an executable)" >&2
  exit 2
fi
RTCAP=$(cd "$(dirname "$RTCAP")" && pwd)/$(basename "$RTCAP")

TEST_NAME=$(basename "$0" .sh)
LAB="rt$(( $$ % 1000000 ))"   # rt + up to 6 digits: unique among concurrently running tests
TMPD=""
BG_PIDS=""

log()  { echo "[$TEST_NAME] $*" >&2; }
fail() { echo "[$TEST_NAME] FAIL: $*" >&2; exit 1; }
skip() { echo "[$TEST_NAME] SKIP: $*" >&2; exit 77; }
# A part of a test cannot run (a tool is missing): say so loudly and go on with the rest.
skip_part() { echo "[$TEST_NAME] SKIP PART: $* *****" >&2; SKIPPED_PARTS=$(( ${SKIPPED_PARTS:-0} + 1 )); }
have() { command -v "$1" >/dev/null 2>&1; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: needs root" >&2
    exit 77
  fi
}

# Network namespaces and veth must work here (containers without CAP_SYS_ADMIN: skip).
require_netns() {
  have ip || skip "iproute2 'ip' not installed"
  local probe="rtp$(( $$ % 100000 ))"
  if ! ip netns add "$probe" 2>/dev/null; then skip "cannot create network namespaces here"; fi
  ip netns del "$probe" 2>/dev/null
}

lab_cleanup() {
  local pid
  for pid in $BG_PIDS; do kill "$pid" 2>/dev/null; done
  for pid in $BG_PIDS; do wait "$pid" 2>/dev/null; done
  if [ "$(id -u)" -eq 0 ]; then  # non-root runs were skipped before making anything
    "$RTCAP" lab down --name "$LAB" >/dev/null 2>&1 || log "warning: lab down --name $LAB failed"
  fi
  [ -n "$TMPD" ] && rm -rf "$TMPD"
}

trap 'rc=$?; trap - EXIT; lab_cleanup; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMPD=$(mktemp -d "/tmp/rtcap-${TEST_NAME}.XXXXXX")

# final_field STATS_JSONL FIELD: a number from the last line of a --stats-json file (the first
# occurrence of FIELD in that line).
final_field() { tail -1 "$1" | grep -o "\"$2\":[0-9.]*" | head -1 | sed 's/.*://'; }

# Nothing of the lab may remain: no netns, no link with the lab's prefix.
assert_lab_gone() {
  if ip netns list | grep -q "^${LAB}-"; then fail "netns ${LAB}-* left behind: $(ip netns list | grep "^${LAB}-" | tr '\n' ' ')"; fi
  if ip -o link show | grep -q " ${LAB}-"; then fail "link ${LAB}-* left behind"; fi
}

# start_capture FILE COUNT [filter...]: tcpdump in the rx namespace, -c COUNT, bounded by
# a timeout; returns once tcpdump listens. Sets CAPTURE_PID. CAPTURE_SNAPLEN (default 256) for bigger packets.
start_capture() {
  local file=$1 count=$2; shift 2
  local err="$file.stderr"
  CAPTURE_ERR=$err
  timeout 20 ip netns exec "${LAB}-rx" tcpdump -i "${LAB}-rx" -nn -s "${CAPTURE_SNAPLEN:-256}" -B 16384 -c "$count" \
    -w "$file" "$@" 2>"$err" &
  CAPTURE_PID=$!
  BG_PIDS="$BG_PIDS $CAPTURE_PID"
  local i
  for i in $(seq 1 100); do
    grep -q "listening on" "$err" 2>/dev/null && return 0
    kill -0 "$CAPTURE_PID" 2>/dev/null || fail "tcpdump did not start: $(cat "$err")"
    sleep 0.05
  done
  fail "tcpdump not listening after 5 s: $(cat "$err")"
}

# start_rtcap NAME ARGS...: rtcap capturing on the lab's rx interface, in its namespace, bounded
# by a timeout; returns once it listens. Sets RTCAP_PID; stdout in $TMPD/NAME.out, stderr in
# $TMPD/NAME.err.
start_rtcap() {
  local name=$1; shift
  timeout 60 "$RTCAP" --netns "${LAB}-rx" -i "${LAB}-rx" "$@" >"$TMPD/$name.out" \
    2>"$TMPD/$name.err" &
  RTCAP_PID=$!
  BG_PIDS="$BG_PIDS $RTCAP_PID"
  wait_listening "$TMPD/$name.err" "$RTCAP_PID"
}

# gen ARGS...: rtcap gen from the lab's tx namespace, quiet; the test fails if it does.
gen() { "$RTCAP" gen --netns "${LAB}-tx" -q "$@" || fail "gen $*"; }

# wait_gst "PIDS": the GStreamer senders end; the test fails with their output ($TMPD/*.gst) if
# one fails. They leave BG_PIDS.
wait_gst() {
  local pid
  for pid in $1; do
    wait "$pid" || fail "gst-launch-1.0 exit $?: $(cat "$TMPD"/*.gst)"
  done
  BG_PIDS=$(echo "$BG_PIDS" | sed "s/$1//")
}

# wait_listening ERRFILE PID: until rtcap (or tcpdump) says "listening on" on stderr (5 s).
wait_listening() {
  local i
  for i in $(seq 1 100); do
    grep -q "listening on" "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || fail "capture did not start: $(cat "$1")"
    sleep 0.05
  done
  fail "capture not listening after 5 s: $(cat "$1")"
}

# interrupt_and_reap PID SECS: SIGINT, fail unless it exits within SECS, reap it and drop it from
# BG_PIDS. Sets INT_RC to its exit code.
interrupt_and_reap() {
  local pid=$1 i
  kill -INT "$pid"
  for i in $(seq 1 $(( $2 * 20 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && fail "still running $2 s after SIGINT"
  INT_RC=0
  wait "$pid" || INT_RC=$?
  BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $pid\b//")
}

# wait_capture: waits for tcpdump -c to finish; fails if it timed out (too few packets).
wait_capture() {
  local rc=0
  wait "$CAPTURE_PID" || rc=$?
  BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $CAPTURE_PID\b//")
  [ "$rc" -eq 0 ] || fail "capture did not get all packets (tcpdump exit $rc): $(tail -3 "$CAPTURE_ERR" 2>/dev/null)"
}

# count_packets FILE: number of packets in a capture file (independent reader: tcpdump -r).
count_packets() { tcpdump -nn -r "$1" 2>/dev/null | wc -l; }

# rtp_port_seq FILE: "dst_port seq" per packet, in capture order, decoded by tcpdump -T rtp.
rtp_port_seq() {
  tcpdump -nn -T rtp -r "$1" 2>/dev/null | awk '{
    split($5, a, "."); port = a[5]; sub(":", "", port);
    print port, $(NF-1) }'
}

# json_field FILE KEY: top-level integer field of a JSON object (no jq needed).
json_field() { grep -o "\"$2\": *[0-9.]*" "$1" | head -1 | sed 's/.*: *//'; }
