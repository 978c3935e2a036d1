# Capture in another network namespace from the library, and immediate mode's ring.
#   1. An embedding program (tests/netns/netns_seq.cpp) that stays in the root namespace opens the
#      rx end of the lab through CaptureConfig::netns: every one of 20,000 sequence-numbered
#      packets exactly once, its own namespace unchanged, no link outage reported by the link
#      watch (which looks at the interface in its namespace once a second). A missing namespace
#      is refused with a message naming it.
#   2. Immediate mode without -s: the snaplen is the MTU + 22 (1522 on the lab's 1500), so the
#      V2 ring holds 100,000 packets: a reader stopped (SIGSTOP) while 30,000 packets arrive loses
#      none (2,046 whole-size slots before: ~28,000 kernel drops).
#   3. What that snaplen cuts is counted: TCP sent with TSO on the tx veth leaves as aggregates
#      larger than the MTU; each is counted in packets_truncated, and tcpdump -r reads caplen 1522.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
NETNS_SEQ=${RTCAP_NETNS_SEQ:-}
[ -x "$NETNS_SEQ" ] || fail "RTCAP_NETNS_SEQ must name the rtcap_netns_seq binary (CTest sets it)"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"
TX="${LAB}-tx"
field() { tr ' ' '\n' < "$1" | sed -n "s/^$2=//p" | head -1; }  # field FILE KEY

# 1. The library enters the namespace for the open only.
timeout 60 "$NETNS_SEQ" --netns "$RX" -i "$RX" --expect 20000 --seconds 3 \
  > "$TMPD/seq.out" 2> "$TMPD/seq.err" &
SEQ_PID=$!
BG_PIDS="$BG_PIDS $SEQ_PID"
wait_listening "$TMPD/seq.err" "$SEQ_PID"
gen --payload 32 --rate 20000 --count 20000
rc=0; wait "$SEQ_PID" || rc=$?
BG_PIDS=""
out=$TMPD/seq.out
[ "$rc" = 0 ] || fail "capture through CaptureConfig::netns (exit $rc): $(cat "$out" "$TMPD/seq.err")"
[ "$(field "$out" unique)" = 20000 ] && [ "$(field "$out" duplicates)" = 0 ] ||
  fail "not every packet exactly once: $(cat "$out")"
[ "$(field "$out" netns_same)" = 1 ] || fail "the program's own namespace changed: $(cat "$out")"
[ "$(field "$out" down_events)" = 0 ] || fail "link watch saw the interface go: $(cat "$out")"
log "CaptureConfig::netns=$RX from the root namespace: 20000/20000 once each, received $(field "$out" received), no outage"

# The same from C (rtcap_config_set_netns), with -c: every packet once, from the root namespace.
CAPI_SEQ=${RTCAP_CAPI_SEQ:-}
if [ -x "$CAPI_SEQ" ]; then
  timeout 60 "$CAPI_SEQ" --netns "$RX" -i "$RX" --expect 10000 > "$TMPD/capi.out" 2> "$TMPD/capi.err" &
  SEQ_PID=$!
  BG_PIDS="$BG_PIDS $SEQ_PID"
  wait_listening "$TMPD/capi.err" "$SEQ_PID"
  gen --payload 32 --rate 20000 --count 10000
  rc=0; wait "$SEQ_PID" || rc=$?
  BG_PIDS=""
  [ "$rc" = 0 ] && [ "$(field "$TMPD/capi.out" unique)" = 10000 ] ||
    fail "C API with rtcap_config_set_netns (exit $rc): $(cat "$TMPD/capi.out" "$TMPD/capi.err")"
  log "C API, rtcap_config_set_netns($RX): 10000/10000 once each"
else
  skip_part "RTCAP_CAPI_SEQ not set: the C API case did not run"
fi

rc=0
"$NETNS_SEQ" --netns "${LAB}-nope" -i "$RX" --expect 1 > /dev/null 2> "$TMPD/nope.err" || rc=$?
[ "$rc" = 2 ] || fail "missing namespace: exit $rc"
grep -q "network namespace '${LAB}-nope' not found" "$TMPD/nope.err" ||
  fail "missing namespace message: $(cat "$TMPD/nope.err")"
log "missing namespace: $(cat "$TMPD/nope.err")"

# 2. A stopped reader in immediate mode: the ring holds the burst.
timeout 60 "$RTCAP" --netns "$RX" -i "$RX" --immediate-mode -q -c 30000 -w "$TMPD/burst.pcap" \
  --stats-json "$TMPD/burst.json" udp dst port 5004 2> "$TMPD/burst.err" &
CAP_PID=$!
BG_PIDS="$BG_PIDS $CAP_PID"
wait_listening "$TMPD/burst.err" "$CAP_PID"
READER=$(pgrep -P "$CAP_PID" | head -1)  # rtcap itself, not timeout
[ -n "$READER" ] || fail "no rtcap process under timeout $CAP_PID"
kill -STOP "$READER"
gen --payload 32 --rate 100000 --count 30000
sleep 0.2
kill -CONT "$READER"
rc=0; wait "$CAP_PID" || rc=$?
BG_PIDS=""
[ "$rc" = 0 ] || fail "immediate mode after a stall: exit $rc (packets lost in the ring?): $(tail -3 "$TMPD/burst.err")"
n=$(count_packets "$TMPD/burst.pcap")
drops=$(final_field "$TMPD/burst.json" kernel_dropped)
[ "$n" = 30000 ] && [ "${drops:-x}" = 0 ] || fail "after a stall: $n packets read back, $drops kernel drops"
snap=$(tcpdump -r "$TMPD/burst.pcap" -c 1 2>&1 | sed -n 's/.*snapshot length \([0-9]*\).*/\1/p')
[ "$snap" = 1522 ] || fail "immediate-mode snaplen $snap, want 1522 (MTU 1500 + 22)"
log "immediate mode, reader stopped for a 30000-packet burst: 30000 read back, 0 kernel drops, snaplen $snap"

# 3. Offload aggregates larger than the MTU are cut and counted.
ip netns exec "$TX" ethtool -K "$TX" tso on gso on >/dev/null 2>&1 || true
timeout 30 ip netns exec "$RX" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.0.2", 5001)); s.listen(1); c, _ = s.accept()
while c.recv(1 << 16): pass
' &
SINK_PID=$!
BG_PIDS="$BG_PIDS $SINK_PID"
timeout 60 "$RTCAP" --netns "$TX" -i "$TX" --immediate-mode -q -w "$TMPD/tcp.pcap" \
  --stats-json "$TMPD/tcp.json" tcp port 5001 2> "$TMPD/tcp.err" &
CAP_PID=$!
BG_PIDS="$BG_PIDS $CAP_PID"
wait_listening "$TMPD/tcp.err" "$CAP_PID"
sleep 0.2
timeout 30 ip netns exec "$TX" python3 -c '
import socket, time
s = socket.create_connection(("198.18.0.2", 5001)); s.sendall(b"x" * (4 << 20)); s.close()
' || fail "TCP sender"
sleep 1.5  # one --stats-json line after the transfer
interrupt_and_reap "$CAP_PID" 5
cut=$(final_field "$TMPD/tcp.json" packets_truncated)
# An independent reader of the pcap records: "records cut largest_caplen" (incl_len < orig_len).
read_back=$(python3 - "$TMPD/tcp.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
o, n, cut, big = 24, 0, 0, 0
while o + 16 <= len(d):
    _, _, incl, orig = struct.unpack(e + "IIII", d[o:o + 16])
    n += 1; cut += incl < orig; big = max(big, incl); o += 16 + incl
print(n, cut, big)
PY
)
set -- $read_back
[ "${2:-x}" = "${cut:-y}" ] || fail "packets_truncated ${cut:-?}, but the file holds $2 cut records ($read_back)"
if [ "$2" -gt 0 ]; then
  [ "$3" = 1522 ] || fail "largest record $3 bytes, want 1522"
  log "TSO aggregates: $cut of $1 packets cut at the MTU + 22 and counted; the file agrees (largest record $3)"
else
  skip_part "no TCP aggregate larger than the MTU on this veth (TSO/GSO off?): nothing was cut"
fi

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
echo "PASS"
