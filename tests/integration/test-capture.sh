# rtcap capture, end to end on a veth lab: every sequence-numbered packet exactly once, pcap_stats
# drops zero, the file read by tcpdump; bad filter, missing interface, -c, SIGINT mid-capture,
# naive and immediate modes.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
SEQCHECK=${RTCAP_SEQCHECK:-}
[ -x "$SEQCHECK" ] || fail "RTCAP_SEQCHECK must name the rtcap_seqcheck binary (CTest sets it)"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"

# final_field FILE KEY: the value of KEY in the last (final) --stats-json line.

check_zero_drops() {
  local stats=$1
  tail -1 "$stats" | grep -q '"final":true' || fail "no final stats line in $stats"
  [ "$(final_field "$stats" kernel_dropped)" = 0 ] || fail "kernel drops: $(tail -1 "$stats")"
  [ "$(final_field "$stats" app_dropped_packets)" = 0 ] || fail "app drops: $(tail -1 "$stats")"
}

# 1. 100,000 packets at 100,000/s, default mode (inline delivery: capture, write and analysis on
#    one thread): each exactly once, no drops, tcpdump reads it.
start_rtcap full -w "$TMPD/full.pcap" -q -c 100000 --stats-json "$TMPD/full.json" udp dst port 5004
gen --payload 32 --rate 100000 --count 100000
wait "$RTCAP_PID" || fail "rtcap -c 100000 exited $?: $(tail -5 "$TMPD/full.err")"
"$SEQCHECK" "$TMPD/full.pcap" --expect 100000 || fail "sequence check (default mode)"
check_zero_drops "$TMPD/full.json"
[ "$(final_field "$TMPD/full.json" packets_captured)" = 100000 ] || fail "packets_captured"
[ "$(final_field "$TMPD/full.json" received)" = 100000 ] || fail "pcap_stats received != 100000"
if have tcpdump; then
  n=$(tcpdump -nn -r "$TMPD/full.pcap" 2>/dev/null | wc -l)
  [ "$n" = 100000 ] || fail "tcpdump -r read $n packets"
else skip_part "tcpdump not installed: independent read skipped"; fi
grep -q "100000 packets captured" "$TMPD/full.err" || fail "summary line missing"
grep -q "inline, one batch" "$TMPD/full.err" || fail "startup line does not say inline: $(head -3 "$TMPD/full.err")"
log "default mode: 100000/100000 once each, 0 drops"

# 2. naive, immediate and threaded delivery through the same checks (fewer packets, same rate).
for mode in "--mode naive" "--immediate-mode" "--consumer-thread" "--consumer-thread --immediate-mode"; do
  tag=$(echo "$mode" | tr -dc 'a-z')
  start_rtcap "$tag" -w "$TMPD/$tag.pcap" -q -c 30000 --stats-json "$TMPD/$tag.json" $mode udp dst port 5004
  gen --payload 32 --rate 100000 --count 30000
  wait "$RTCAP_PID" || fail "rtcap $mode exited $?: $(tail -5 "$TMPD/$tag.err")"
  "$SEQCHECK" "$TMPD/$tag.pcap" --expect 30000 || fail "sequence check ($mode)"
  check_zero_drops "$TMPD/$tag.json"
  log "$mode: 30000/30000 once each, 0 drops"
done

# 3. A bad filter: libpcap's error, exit 2, nothing written.
rc=0
"$RTCAP" --netns "$RX" -i "$RX" -w "$TMPD/bad.pcap" 'udp port' 2>"$TMPD/bad.err" || rc=$?
[ "$rc" = 2 ] || fail "bad filter exit $rc (want 2)"
grep -q "bad filter expression 'udp port'" "$TMPD/bad.err" || fail "bad filter message: $(cat "$TMPD/bad.err")"
[ ! -e "$TMPD/bad.pcap" ] || fail "bad filter created the output file"
[ "$(wc -l < "$TMPD/bad.err")" = 1 ] || fail "bad filter: want one line, got $(cat "$TMPD/bad.err")"

# 4. A missing interface: one line naming it and the fix, exit 3.
rc=0
"$RTCAP" --netns "$RX" -i "${LAB}-nope" -w "$TMPD/none.pcap" 2>"$TMPD/none.err" || rc=$?
[ "$rc" = 3 ] || fail "missing interface exit $rc (want 3)"
grep -q "no such interface '${LAB}-nope'" "$TMPD/none.err" || fail "missing interface message: $(cat "$TMPD/none.err")"
grep -q "rtcap --netns $RX -D" "$TMPD/none.err" || fail "missing interface: no fix named (want 'rtcap --netns $RX -D'): $(cat "$TMPD/none.err")"

# 5. -c stops after exactly that many packets even when more arrive.
start_rtcap count -w "$TMPD/count.pcap" -q -c 10 udp dst port 5004
gen --payload 32 --rate 1000 --count 50
wait "$RTCAP_PID" || fail "rtcap -c 10 exited $?"
"$SEQCHECK" "$TMPD/count.pcap" --expect 50 --prefix >/dev/null || fail "-c 10 file"
[ "$(count_packets "$TMPD/count.pcap")" = 10 ] || fail "-c 10 wrote $(count_packets "$TMPD/count.pcap")"

# 6. SIGINT mid-capture: exit 0, the file complete and valid, every captured packet in it.
start_rtcap sigint -w "$TMPD/sigint.pcap" -q --stats-json "$TMPD/sigint.json" udp dst port 5004
gen --payload 32 --rate 50000 --count 200000 &
GEN_PID=$!
BG_PIDS="$BG_PIDS $GEN_PID"
sleep 1.5
kill -INT "$RTCAP_PID"
rc=0; wait "$RTCAP_PID" || rc=$?
[ "$rc" = 0 ] || fail "rtcap after SIGINT exited $rc: $(tail -3 "$TMPD/sigint.err")"
wait "$GEN_PID" 2>/dev/null
captured=$(final_field "$TMPD/sigint.json" packets_captured)
[ "${captured:-0}" -gt 1000 ] || fail "SIGINT: only ${captured:-0} packets captured"
out=$("$SEQCHECK" "$TMPD/sigint.pcap" --expect 200000 --prefix) || fail "SIGINT file: $out"
echo "$out" | grep -q "unique=$captured " || fail "SIGINT: file has $out, stats say $captured captured"
check_zero_drops "$TMPD/sigint.json"
log "SIGINT: $captured packets captured, all in a valid file"

# 7. Rotation (-C 1 -W 3, pcapng): a ring of 3 complete files, each readable with its own
#    interface statistics block; together they hold the newest packets, each once.
mkdir -p "$TMPD/rot"
start_rtcap rot -w "$TMPD/rot/r.pcapng" -q -C 1 -W 3 -c 60000 udp dst port 5004
gen --payload 200 --rate 50000 --count 60000
wait "$RTCAP_PID" || fail "rtcap -C -W exited $?: $(tail -3 "$TMPD/rot.err")"
ls "$TMPD/rot" | grep -qx "r.pcapng0" && ls "$TMPD/rot" | grep -qx "r.pcapng2" || fail "rotation names: $(ls "$TMPD/rot")"
[ "$(ls "$TMPD/rot" | wc -l)" = 3 ] || fail "-W 3 left $(ls "$TMPD/rot" | wc -l) files"
for f in "$TMPD"/rot/*; do
  have tcpdump && { tcpdump -nn -r "$f" >/dev/null 2>"$TMPD/rot.tcpdump" || fail "tcpdump cannot read $f: $(cat "$TMPD/rot.tcpdump")"; }
done
log "rotation: 3 complete pcapng files"

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
log "PASS"
