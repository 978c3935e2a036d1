# rtcap under faults, on a veth lab, every packet counted with rtcap_seqcheck:
#   1. disk full (a 512 KiB tmpfs): one line naming the file, exit 1, the file valid to the last
#      whole record, final stats printed;
#   2. the reader of -w - goes away (| head -c 10000): clean stop, exit 0, a message;
#   3. a stalled consumer (-U -w - into a reader that sleeps), inline and --consumer-thread: memory bounded,
#      the loss counted as app drops, every packet in the output once;
#   4. SIGTERM at random points: exit 0, every captured packet in the file;
#   5. the capture interface deleted mid-capture: what was captured is written, one line naming
#      the interface, final stats, exit 1; the lab is still cleaned up.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
SEQCHECK=${RTCAP_SEQCHECK:-}
[ -x "$SEQCHECK" ] || fail "RTCAP_SEQCHECK must name the rtcap_seqcheck binary (CTest sets it)"
have tcpdump || skip "tcpdump not installed (scripts/install-deps.sh installs it)"
have timeout || skip "coreutils timeout not installed"

SMALLFS=""
# lib.sh's trap, plus: unmount the tmpfs first (rm -rf cannot remove a mount point in use).
trap 'rc=$?; trap - EXIT; [ -n "$SMALLFS" ] && umount "$SMALLFS" 2>/dev/null; lab_cleanup; exit $rc' EXIT

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"
FAILURES=0
# A scenario that finds rtcap misbehaving records it and the test goes on with the others, so that
# one run reports every fault at once; the test fails at the end.
bad() { echo "[$TEST_NAME] FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }



# The generator itself in the background (not a subshell running it: kill must reach it).
gen_bg() {
  "$RTCAP" gen --netns "${LAB}-tx" -q "$@" >/dev/null 2>&1 &
  GEN_PID=$!
  BG_PIDS="$BG_PIDS $GEN_PID"
}

seq_field() { echo "$1" | grep -o "$2=[0-9]*" | sed 's/.*=//'; }

# file_matches_stats NAME FILE JSON EXPECT: the file holds exactly the packets the final stats
# say were captured, each once, as a gap-free prefix of the sent sequence; tcpdump reads it whole.
file_matches_stats() {
  local name=$1 file=$2 json=$3 expect=$4 out captured
  tail -1 "$json" | grep -q '"final":true' || { bad "$name: no final stats line in $json"; return; }
  captured=$(final_field "$json" packets_captured)
  out=$("$SEQCHECK" "$file" --expect "$expect" --prefix) || { bad "$name: seqcheck: $out"; return; }
  [ "$(seq_field "$out" unique)" = "$captured" ] ||
    bad "$name: file has $out, stats say $captured packets captured"
  if tcpdump -nn -r "$file" 2>&1 >/dev/null | grep -qi "truncated\|bogus\|error"; then
    bad "$name: tcpdump -r: $(tcpdump -nn -r "$file" 2>&1 >/dev/null | tail -1)"
  fi
  log "$name: $captured packets captured, all in the file once ($out)"
}

# 1. Disk full. 512 KiB hold ~4,900 records of 106 bytes; we send 100,000.
SMALLFS="$TMPD/small"
mkdir -p "$SMALLFS"
if mount -t tmpfs -o size=512k rtcap-test "$SMALLFS" 2>"$TMPD/mount.err"; then
  start_rtcap diskfull -q -w "$SMALLFS/full.pcap" --stats-json "$TMPD/diskfull.json" udp dst port 5004
  gen_bg --payload 32 --rate 50000 --count 100000
  rc=0; wait "$RTCAP_PID" || rc=$?
  wait "$GEN_PID" 2>/dev/null
  err="$TMPD/diskfull.err"
  [ "$rc" = 1 ] || bad "disk full: exit $rc (want 1): $(tail -3 "$err")"
  nerr=$(grep -c "$SMALLFS/full.pcap" "$err")
  [ "$nerr" = 1 ] || bad "disk full: want one line naming the file, got $nerr: $(cat "$err")"
  grep "$SMALLFS/full.pcap" "$err" | grep -qi "full\|no space" ||
    bad "disk full: message does not say the disk is full: $(grep "$SMALLFS" "$err")"
  grep -q "packets captured" "$err" || bad "disk full: no final stats on stderr"
  # The file: valid to the last whole record, every record a packet of the sequence, no holes.
  out=$("$SEQCHECK" "$SMALLFS/full.pcap" --expect 100000 --prefix) || bad "disk full file: $out"
  [ "$(seq_field "$out" unique)" -gt 1000 ] 2>/dev/null || bad "disk full: only $out in the file"
  if tcpdump -nn -r "$SMALLFS/full.pcap" 2>&1 >/dev/null | grep -qi "truncated\|bogus\|error"; then
    bad "disk full: tcpdump -r: $(tcpdump -nn -r "$SMALLFS/full.pcap" 2>&1 >/dev/null | tail -1)"
  fi
  tail -1 "$TMPD/diskfull.json" | grep -q '"final":true' || bad "disk full: no final --stats-json line"
  # The summary says how many packets reached the file: exactly the records in it.
  written=$(sed -n 's/^\([0-9]*\) packets written before the output stopped; [0-9]* captured packets not written$/\1/p' "$err")
  [ -n "$written" ] && [ "$written" = "$(seq_field "$out" packets)" ] ||
    bad "disk full: summary says '${written:-nothing}' written, the file holds $(seq_field "$out" packets)"
  log "disk full: exit $rc, $(grep "$SMALLFS/full.pcap" "$err" | head -1); file: $out"
  umount "$SMALLFS" && SMALLFS=""
else
  skip_part "cannot mount a tmpfs here: $(cat "$TMPD/mount.err")"
  SMALLFS=""
fi

# 2. The reader of -w - goes away after 10,000 bytes.
( timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -q -w - --stats-json "$TMPD/pipe.json" udp dst port 5004 \
    2>"$TMPD/pipe.err" | head -c 10000 >"$TMPD/pipe.head"
  echo "${PIPESTATUS[0]}" >"$TMPD/pipe.rc" ) &
PIPE_PID=$!
BG_PIDS="$BG_PIDS $PIPE_PID"
wait_listening "$TMPD/pipe.err" "$PIPE_PID"
gen_bg --payload 32 --rate 50000 --count 100000
wait "$PIPE_PID"
wait "$GEN_PID" 2>/dev/null
rc=$(cat "$TMPD/pipe.rc")
[ "$rc" = 0 ] || bad "pipe closed: rtcap exit $rc (want 0; 141 = killed by SIGPIPE): $(tail -3 "$TMPD/pipe.err")"
grep -qi "pipe\|reader" "$TMPD/pipe.err" || bad "pipe closed: no message saying so: $(cat "$TMPD/pipe.err")"
grep -q "packets captured" "$TMPD/pipe.err" || bad "pipe closed: no final stats"
[ "$(wc -c <"$TMPD/pipe.head")" = 10000 ] || bad "pipe closed: head got $(wc -c <"$TMPD/pipe.head") bytes"
log "pipe closed: exit $rc, $(grep -i "pipe\|reader" "$TMPD/pipe.err" | head -1)"

# 3. A stalled consumer: the reader sleeps 3 s while 100,000 packets/s arrive. Memory must stay
# bounded (no queue grows) and what reaches the file must be each captured packet once. Where the
# loss shows depends on the delivery:
# - inline (the default): the write blocks the capture thread, the 4 MiB kernel ring fills, and
#   the loss shows as kernel drops (pcap_stats), attributed to the capture, never silent;
# - --consumer-thread with 4 batches in the pool: capture goes on, the pool runs dry, and the
#   loss shows as app drops. A loaded machine may starve the capture thread as well, so kernel
#   drops may come on top: what is checked is that every packet the kernel counted is captured or
#   counted as dropped, exactly (received = captured + kernel + app drops + unread), not timing.
stall_case() {  # NAME COUNTER_THAT_MUST_GROW COUNTER_THAT_MUST_STAY_0|- [rtcap args...]
  local name=$1 grows=$2 zero=$3; shift 3
  mkfifo "$TMPD/$name.fifo"
  ( sleep 3; cat >"$TMPD/$name.pcap" ) <"$TMPD/$name.fifo" &
  READER_PID=$!
  BG_PIDS="$BG_PIDS $READER_PID"
  timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -q -U -w - -B 4096 "$@" \
    --stats-json "$TMPD/$name.json" udp dst port 5004 >"$TMPD/$name.fifo" 2>"$TMPD/$name.err" &
  RTCAP_PID=$!
  BG_PIDS="$BG_PIDS $RTCAP_PID"
  wait_listening "$TMPD/$name.err" "$RTCAP_PID"
  RSS_PID=$(pgrep -P "$RTCAP_PID" | head -1)  # rtcap itself, not timeout
  [ -n "$RSS_PID" ] || fail "$name: cannot find rtcap under timeout ($RTCAP_PID)"
  base_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$RSS_PID/status")  # before any traffic
  gen_bg --payload 32 --rate 100000 --count 400000
  max_rss=0
  while kill -0 "$GEN_PID" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$RSS_PID/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$max_rss" ] && max_rss=$rss
    sleep 0.1
  done
  sleep 1  # the reader has woken up; let the backlog drain
  kill -INT "$RTCAP_PID"
  rc=0; wait "$RTCAP_PID" || rc=$?
  wait "$READER_PID"
  [ "$rc" = 0 ] || bad "$name: exit $rc: $(tail -3 "$TMPD/$name.err")"
  # Bound: growth over the idle process of at most 24 MiB: the 4 MiB kernel ring and the batches
  # (~1.1 MiB) get touched, plus the output buffer and slack (sanitizer builds add shadow memory).
  # 400,000 packets queued anywhere would need > 40 MiB.
  RSS_BOUND_KIB=$((base_rss + 24 * 1024))
  [ "$max_rss" -gt 0 ] && [ "$max_rss" -lt "$RSS_BOUND_KIB" ] ||
    bad "$name: peak RSS ${max_rss} KiB (bound ${RSS_BOUND_KIB} KiB)"
  grew=$(final_field "$TMPD/$name.json" "$grows")
  captured=$(final_field "$TMPD/$name.json" packets_captured)
  [ "${grew:-0}" -gt 0 ] || bad "$name: no $grows counted ($(tail -1 "$TMPD/$name.json"))"
  if [ "$zero" != - ]; then
    stayed=$(final_field "$TMPD/$name.json" "$zero")
    [ "${stayed:-1}" = 0 ] || bad "$name: $zero is ${stayed:-missing}, want 0"
  fi
  received=$(final_field "$TMPD/$name.json" received)
  kdrop=$(final_field "$TMPD/$name.json" kernel_dropped)
  adrop=$(final_field "$TMPD/$name.json" app_dropped_packets)
  [ -n "$received" ] && [ -n "$kdrop" ] && [ -n "$adrop" ] ||
    bad "$name: counters missing from $(tail -1 "$TMPD/$name.json")"
  # unread (the summary's line) is what arrived after the last drain: never negative here.
  unread=$((received - captured - kdrop - adrop))
  [ "$unread" -ge 0 ] ||
    bad "$name: received $received < captured $captured + kernel $kdrop + app $adrop"
  out=$("$SEQCHECK" "$TMPD/$name.pcap" --expect 400000)  # missing packets expected: drops
  [ "$(seq_field "$out" duplicates)" = 0 ] && [ "$(seq_field "$out" out_of_range)" = 0 ] ||
    bad "$name: output has duplicates or foreign packets: $out"
  [ "$(seq_field "$out" unique)" = "$captured" ] ||
    bad "$name: file has $out, stats say $captured captured"
  log "$name: peak RSS ${max_rss} KiB (idle ${base_rss} KiB), $grew $grows, $captured captured = $(seq_field "$out" unique) in the file once"
}
stall_case stall-inline kernel_dropped app_dropped_packets
# Inline has no pool: app drops are impossible, not merely unlikely. Threaded: kernel drops may
# add to the app drops on a loaded machine (see above).
stall_case stall-threaded app_dropped_packets - --consumer-thread --pool-batches 4

# 4. SIGTERM at random points (0.2 .. 2.2 s into a 4 s send): exit 0, nothing captured lost.
for round in 1 2 3; do
  start_rtcap "term$round" -q -w "$TMPD/term$round.pcap" --stats-json "$TMPD/term$round.json" udp dst port 5004
  gen_bg --payload 32 --rate 50000 --count 200000
  delay_ms=$((200 + RANDOM % 2000))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -TERM "$RTCAP_PID"
  rc=0; wait "$RTCAP_PID" || rc=$?
  kill "$GEN_PID" 2>/dev/null; wait "$GEN_PID" 2>/dev/null
  [ "$rc" = 0 ] || bad "SIGTERM after ${delay_ms} ms: exit $rc: $(tail -3 "$TMPD/term$round.err")"
  file_matches_stats "SIGTERM after ${delay_ms} ms" "$TMPD/term$round.pcap" "$TMPD/term$round.json" 200000
done

# 5. The capture interface is deleted while rtcap captures on it (last: it breaks the lab).
start_rtcap ifdel -q -w "$TMPD/ifdel.pcap" --stats-json "$TMPD/ifdel.json" udp dst port 5004
gen_bg --payload 32 --rate 20000 --count 200000
sleep 1
ip netns exec "$RX" ip link del "$RX" || fail "ip link del $RX"
rc=0; wait "$RTCAP_PID" || rc=$?
kill "$GEN_PID" 2>/dev/null; wait "$GEN_PID" 2>/dev/null
err="$TMPD/ifdel.err"
[ "$rc" = 1 ] || bad "interface deleted: exit $rc (want 1; 124 = hung until timeout): $(tail -3 "$err")"
nerr=$(grep -v "listening on\|packets captured\|received by filter\|dropped by" "$err" | grep -c "$RX")
[ "$nerr" = 1 ] || bad "interface deleted: want one line naming $RX, got $nerr: $(cat "$err")"
grep -q "packets captured" "$err" || bad "interface deleted: no final stats"
file_matches_stats "interface deleted" "$TMPD/ifdel.pcap" "$TMPD/ifdel.json" 200000
log "interface deleted: exit $rc, $(grep -v "listening on\|packets captured" "$err" | grep "$RX" | head -1)"

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down after the interface was deleted"
assert_lab_gone
[ "$FAILURES" = 0 ] || fail "$FAILURES fault checks failed (above)"
log "PASS"
