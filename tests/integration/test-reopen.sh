# rtcap --reopen survives interface loss (issue 13, item 4), on a veth lab:
#   1. the capture interface is deleted mid-capture and re-created (a new index): rtcap says so
#      at once, opens it again and goes on into the same pcapng file; the packets sent before
#      (port 5004) and after (port 5006) are each in the file exactly once; the outage is counted
#      (--stats-json reopens 1, down_events 1; the status line; the file's ISB comment);
#   2. a down/up of the same interface: packets before and after exactly once, none twice, the
#      missing ones no more than the outage's share, the outage counted, and the stream
#      analysis puts every missing packet in the outage (outage_lost), none on the network;
#   3. without --reopen, a down/up gets a warning line when it goes down and when it comes back;
#   4. the interface re-created as another kind (a TUN: link-type RAW): pcapng goes on with a new
#      IDB, tshark reads the packets before as Ethernet and after as raw IP; pcap stops, one line.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
SEQCHECK=${RTCAP_SEQCHECK:-}
[ -x "$SEQCHECK" ] || fail "RTCAP_SEQCHECK must name the rtcap_seqcheck binary (CTest sets it)"
have tcpdump || skip "tcpdump not installed (scripts/install-deps.sh installs it)"
have timeout || skip "coreutils timeout not installed"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"
FAILURES=0
bad() { echo "[$TEST_NAME] FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }
gen() { "$RTCAP" gen --netns "${LAB}-tx" -q "$@" >/dev/null 2>&1 || bad "gen $* failed"; }
seq_field() { echo "$1" | grep -o "$2=[0-9]*" | sed 's/.*=//'; }
# wait_for FILE TEXT SECS: until TEXT appears in FILE.
wait_for() {
  local i
  for i in $(seq 1 $(( $3 * 20 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
exactly_once() {  # NAME FILE PORT COUNT
  local out
  out=$("$SEQCHECK" "$2" --expect "$4" --port "$3") || { bad "$1: $out"; return; }
  [ "$(seq_field "$out" unique)" = "$4" ] || bad "$1: $out"
  log "$1: $out"
}

# 1. Deleted and re-created.
timeout 60 "$RTCAP" --netns "$RX" -i "$RX" --reopen -w "$TMPD/del.pcapng" \
  --stats-json "$TMPD/del.json" udp >/dev/null 2>"$TMPD/del.err" &
PID=$!
BG_PIDS="$BG_PIDS $PID"
wait_listening "$TMPD/del.err" "$PID"
old_index=$(ip netns exec "$RX" cat "/sys/class/net/$RX/ifindex")
gen --dst 198.18.0.2:5004 --payload 32 --rate 20000 --count 20000
sleep 0.3
ip netns exec "$RX" ip link del "$RX" || fail "ip link del $RX"
wait_for "$TMPD/del.err" "interface '$RX' is down or gone" 3 ||
  bad "deleted: no line saying so within 3 s: $(tail -3 "$TMPD/del.err")"
kill -0 "$PID" 2>/dev/null || bad "deleted: rtcap --reopen ended: $(tail -3 "$TMPD/del.err")"
sleep 1.5
"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up again"
new_index=$(ip netns exec "$RX" cat "/sys/class/net/$RX/ifindex")
wait_for "$TMPD/del.err" "interface '$RX' is back" 5 ||
  bad "re-created: no line saying it is back within 5 s: $(tail -3 "$TMPD/del.err")"
gen --dst 198.18.0.2:5006 --payload 32 --rate 20000 --count 20000
sleep 0.3
interrupt_and_reap "$PID" 3
[ "$INT_RC" = 0 ] || bad "deleted: exit $INT_RC: $(tail -3 "$TMPD/del.err")"
exactly_once "before the deletion" "$TMPD/del.pcapng" 5004 20000
exactly_once "after the re-creation (index $old_index -> $new_index)" "$TMPD/del.pcapng" 5006 20000
reopens=$(final_field "$TMPD/del.json" interface_reopens)
downs=$(tail -1 "$TMPD/del.json" | grep -o '"down_events":[0-9]*' | head -1 | sed 's/.*://')
[ "$reopens" = 1 ] && [ "$downs" = 1 ] ||
  bad "deleted: --stats-json says reopens ${reopens:-?}, down_events ${downs:-?} (want 1 and 1)"
grep -q "reopens 1" "$TMPD/del.err" || bad "deleted: the status line never showed the reopen"
grep -q "DOWN" "$TMPD/del.err" || bad "deleted: the status line never showed the interface down"
# The ISB comment (raw bytes of the file: tshark does not print ISB comments by default).
grep -aq "interface down 1 time(s)" "$TMPD/del.pcapng" || bad "deleted: no ISB comment naming the outage"
tcpdump -nn -r "$TMPD/del.pcapng" >/dev/null 2>"$TMPD/del.tcpdump" ||
  bad "deleted: tcpdump cannot read the file: $(cat "$TMPD/del.tcpdump")"
log "deleted and re-created: $(grep -E "down or gone|is back" "$TMPD/del.err" | tr '\n' ' ')"

# 2 and 3. Down and up, with and without --reopen: 1,000 RTP packets/s for 6 s, down for 1.5 s.
for mode in reopen plain; do
  flag=""; [ "$mode" = reopen ] && flag="--reopen --streams --streams-json $TMPD/$mode.streams.json"
  port=$([ "$mode" = reopen ] && echo 5008 || echo 5010)
  timeout 60 "$RTCAP" --netns "$RX" -i "$RX" $flag -q -w "$TMPD/$mode.pcap" \
    --stats-json "$TMPD/$mode.json" udp >"$TMPD/$mode.out" 2>"$TMPD/$mode.err" &
  PID=$!
  BG_PIDS="$BG_PIDS $PID"
  wait_listening "$TMPD/$mode.err" "$PID"
  # RTP (one stream, 1 ms packets: 1,000/s) so that the stream analysis sees the gap; an
  # outage of under 3 s stays under RFC 3550's MAX_DROPOUT (3,000), which the tracker would
  # take for a sender restart.
  "$RTCAP" gen --netns "${LAB}-tx" -q --dst "198.18.0.2:$port" --ptime 1ms \
    --count 6000 >/dev/null 2>&1 &
  GEN_PID=$!
  BG_PIDS="$BG_PIDS $GEN_PID"
  sleep 1.5
  ip netns exec "$RX" ip link set "$RX" down || fail "ip link set down"
  wait_for "$TMPD/$mode.err" "interface '$RX' is down or gone" 3 ||
    bad "$mode down: no line saying so within 3 s: $(tail -3 "$TMPD/$mode.err")"
  sleep 1
  ip netns exec "$RX" ip link set "$RX" up || fail "ip link set up"
  wait_for "$TMPD/$mode.err" "interface '$RX' is back" 5 ||
    bad "$mode up: no line saying it is back within 5 s: $(tail -3 "$TMPD/$mode.err")"
  wait "$GEN_PID" 2>/dev/null
  sleep 0.3
  interrupt_and_reap "$PID" 3
  [ "$INT_RC" = 0 ] || bad "$mode down/up: exit $INT_RC: $(tail -3 "$TMPD/$mode.err")"
  out=$("$SEQCHECK" "$TMPD/$mode.pcap" --expect 6000 --rtp --port "$port")
  missing=$(seq_field "$out" missing)
  [ "$(seq_field "$out" duplicates)" = 0 ] && [ "$(seq_field "$out" out_of_range)" = 0 ] ||
    bad "$mode down/up: duplicates or foreign packets: $out"
  # Down for ~1.5 s (the line, 1 s, the up, the line again) at 1,000/s: at most 2,900 missing,
  # and some: the link really was down. Everything else exactly once.
  [ "${missing:-0}" -gt 0 ] && [ "${missing:-0}" -le 2900 ] ||
    bad "$mode down/up: ${missing:-?} missing (want 1..2900): $out"
  downs=$(tail -1 "$TMPD/$mode.json" | grep -o '"down_events":[0-9]*' | head -1 | sed 's/.*://')
  [ "$downs" = 1 ] || bad "$mode down/up: down_events ${downs:-?} (want 1)"
  if [ "$mode" = reopen ]; then
    # The stream analysis puts the outage's gap on the outage, gap by gap, not on the network:
    # every missing packet (the independent reader's count) in outage_lost, none in network_lost.
    sj="$TMPD/$mode.streams.json"
    outage_lost=$(grep -o '"outage_lost": *[0-9]*' "$sj" | tail -1 | grep -o '[0-9]*$')
    network_lost=$(grep -o '"network_lost": *[0-9]*' "$sj" | tail -1 | grep -o '[0-9]*$')
    [ "${outage_lost:-x}" = "$missing" ] && [ "${network_lost:-x}" = 0 ] ||
      bad "$mode down/up: $missing missing, the stream analysis says ${outage_lost:-?} in the outage and ${network_lost:-?} on the network (want $missing and 0)"
    note=$(grep "fell while an interface was down" "$TMPD/$mode.err")
    echo "$note" | grep -q "$missing packet(s) are missing from the RTP sequences: $missing of them fell" ||
      bad "$mode down/up: the verdict does not put the $missing missing on the outage: ${note:-no line}"
    grep -q "in capture outages of its interface" "$TMPD/$mode.out" ||
      bad "$mode down/up: the stream table does not show the outage's share: $(cat "$TMPD/$mode.out")"
  fi
  log "$mode down/up: $out; $(grep -E "down or gone|is back" "$TMPD/$mode.err" | tr '\n' ' ')"
done

# 4. Re-created as another kind of device: the veth is deleted and a TUN device (link-type RAW,
# no Ethernet header; the only other kind this kernel lets a namespace make) takes its name,
# fed UDP to port 5012 every 1 ms by a small writer. pcapng goes on with a second IDB, and
# tshark reads the packets before as Ethernet and those after as raw IP; a pcap file (one link
# type) stops with one line, the packets before it complete.
if [ ! -c /dev/net/tun ] || ! have python3 || ! have tshark; then
  skip_part "link-type change: needs /dev/net/tun, python3 and tshark"
else
  cat >"$TMPD/tunfeed.py" <<'PY'
import fcntl, os, struct, subprocess, sys, time
name, count = sys.argv[1], int(sys.argv[2])
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", name.encode(), 0x0001 | 0x1000))  # TUNSETIFF: IFF_TUN | IFF_NO_PI
subprocess.run(["ip", "link", "set", name, "up"], check=True)
def checksum(b):
    s = sum(struct.unpack("!10H", b)); s = (s >> 16) + (s & 0xFFFF); s += s >> 16
    return ~s & 0xFFFF
t0 = time.monotonic()
for i in range(count):
    payload = struct.pack("!Q", i) + bytes(24)
    udp = struct.pack("!HHHH", 40000, 5012, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                     bytes([198, 18, 9, 1]), bytes([198, 18, 0, 2]))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    os.write(fd, ip + udp)
    time.sleep(max(0.0, t0 + (i + 1) / 1000 - time.monotonic()))
PY
  for out in pcapng pcap; do
    lt="$TMPD/lt.$out"
    "$RTCAP" lab up --name "$LAB" >/dev/null 2>&1  # the veth again, after the previous round
    timeout 60 "$RTCAP" --netns "$RX" -i "$RX" --reopen -q -w "$lt" udp >/dev/null \
      2>"$TMPD/lt-$out.err" &
    PID=$!
    BG_PIDS="$BG_PIDS $PID"
    wait_listening "$TMPD/lt-$out.err" "$PID"
    gen --dst 198.18.0.2:5004 --payload 32 --rate 20000 --count 2000
    sleep 0.3
    ip netns exec "$RX" ip link del "$RX" || fail "ip link del $RX"
    wait_for "$TMPD/lt-$out.err" "interface '$RX' is down or gone" 3 ||
      bad "$out link-type change: no line saying it is gone: $(tail -3 "$TMPD/lt-$out.err")"
    ip netns exec "$RX" python3 "$TMPD/tunfeed.py" "$RX" 3000 2>"$TMPD/tunfeed.err" ||
      bad "$out link-type change: the TUN writer failed: $(cat "$TMPD/tunfeed.err")"
    sleep 0.3
    if [ "$out" = pcapng ]; then
      interrupt_and_reap "$PID" 3
      [ "$INT_RC" = 0 ] || bad "pcapng link-type change: exit $INT_RC: $(tail -3 "$TMPD/lt-$out.err")"
      grep -q "came back with link-type RAW" "$TMPD/lt-$out.err" ||
        bad "pcapng link-type change: no line naming the new link type: $(tail -3 "$TMPD/lt-$out.err")"
      tshark -r "$lt" -T fields -e frame.interface_id -e frame.protocols -e udp.dstport \
        2>"$TMPD/lt.tshark" | sort | uniq -c >"$TMPD/lt.counts" ||
        bad "pcapng link-type change: tshark cannot read the file: $(cat "$TMPD/lt.tshark")"
      before=$(awk '$2 == 0 && $3 ~ /^eth:ethertype:ip:udp/ && $4 == 5004 {n += $1} END {print n + 0}' "$TMPD/lt.counts")
      after=$(awk '$2 == 1 && $3 ~ /^raw:ip:udp/ && $4 == 5012 {n += $1} END {print n + 0}' "$TMPD/lt.counts")
      others=$(awk '!(($2 == 0 && $4 == 5004) || ($2 == 1 && $4 == 5012)) {n += $1} END {print n + 0}' "$TMPD/lt.counts")
      # Before: every packet, as Ethernet on IDB 0. After: raw IP on IDB 1, from the reopen on
      # (within about a second of the TUN coming up) to the end of the 3 s of writes.
      [ "$before" = 2000 ] && [ "$after" -ge 1000 ] && [ "$after" -le 3000 ] && [ "$others" = 0 ] ||
        bad "pcapng link-type change: tshark read (count, interface, protocols, port): $(tr '\n' ';' <"$TMPD/lt.counts")"
      log "pcapng link-type change: $before as Ethernet on interface 0, $after as raw IP on interface 1"
    else
      # The pcap file cannot take the new link type: rtcap stops by itself, with one line.
      for _ in $(seq 1 60); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
      if kill -0 "$PID" 2>/dev/null; then
        bad "pcap link-type change: still running: $(tail -3 "$TMPD/lt-$out.err")"
        interrupt_and_reap "$PID" 3
      else
        rc=0; wait "$PID" || rc=$?
        BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $PID\b//")
        [ "$rc" = 1 ] || bad "pcap link-type change: exit $rc (want 1)"
      fi
      grep -q "a pcap file holds one link type and snaplen, but $RX came back as RAW" "$TMPD/lt-$out.err" ||
        bad "pcap link-type change: no line saying why it stopped: $(tail -3 "$TMPD/lt-$out.err")"
      exactly_once "pcap link-type change, before it" "$lt" 5004 2000
    fi
  done
  ip netns exec "$RX" ip link del "$RX" 2>/dev/null  # a TUN left behind, if any
  "$RTCAP" lab up --name "$LAB" >/dev/null 2>&1

  # The same change seen by an embedder: through the C API, Python's interfaces() grows to the
  # engine's interface_count() (the TUN's packets come labelled 1, described as RAW), so every
  # packet's interface index can be described.
  PYDIR=${RTCAP_PYTHON_DIR:-}
  if [ ! -f "$PYDIR/rtcap.py" ] || [ ! -f "${RTCAP_LIBRARY:-}" ]; then
    skip_part "link-type change from Python: RTCAP_PYTHON_DIR / RTCAP_LIBRARY not set (CTest sets them)"
  elif ldd "$RTCAP_LIBRARY" | grep -q libasan; then
    skip_part "link-type change from Python: a sanitizer build (test-python.sh covers the module there)"
  else
    timeout 60 env PYTHONPATH="$PYDIR" RTCAP_LIBRARY="$RTCAP_LIBRARY" \
      ip netns exec "$RX" python3 - "$RX" "$TMPD/py.open" >"$TMPD/py.txt" 2>&1 <<'PY' &
import sys, time, rtcap
seen = {}
def count(view):
    for p in view:
        seen[p.interface_index] = seen.get(p.interface_index, 0) + 1
with rtcap.Capture(interfaces=[sys.argv[1]], filter="udp", reopen=True) as cap:
    open(sys.argv[2], "w").close()
    end = time.monotonic() + 20
    while time.monotonic() < end and seen.get(1, 0) < 500:
        cap.poll(0.1, count)
    ifaces = cap.interfaces()
print("interfaces:", len(ifaces), [(i["name"], i["linktype"]) for i in ifaces], "packets:", seen)
assert len(ifaces) == 2, "interfaces() is not the engine's interface_count()"
assert ifaces[0]["linktype"] == 1 and ifaces[1]["linktype"] != 1, ifaces
assert seen.get(0) == 2000 and seen.get(1, 0) >= 500 and set(seen) == {0, 1}, seen
PY
    PID=$!
    BG_PIDS="$BG_PIDS $PID"
    for _ in $(seq 100); do [ -f "$TMPD/py.open" ] && break; sleep 0.05; done
    gen --dst 198.18.0.2:5004 --payload 32 --rate 20000 --count 2000
    sleep 0.3
    ip netns exec "$RX" ip link del "$RX" || fail "ip link del $RX"
    ip netns exec "$RX" python3 "$TMPD/tunfeed.py" "$RX" 3000 2>"$TMPD/tunfeed.err" ||
      bad "python link-type change: the TUN writer failed: $(cat "$TMPD/tunfeed.err")"
    rc=0; wait "$PID" || rc=$?
    BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $PID\b//")
    [ "$rc" = 0 ] || bad "python link-type change: exit $rc: $(tail -5 "$TMPD/py.txt")"
    log "python link-type change: $(grep '^interfaces:' "$TMPD/py.txt")"
    ip netns exec "$RX" ip link del "$RX" 2>/dev/null
    "$RTCAP" lab up --name "$LAB" >/dev/null 2>&1
  fi
fi

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down"
assert_lab_gone
[ "$FAILURES" = 0 ] || fail "$FAILURES reopen checks failed (above)"
log "PASS"
