# PTP on the wire against a real peer: linuxptp's ptp4l as grandmaster in the tx namespace
# (software time stamping, a chosen domain and intervals from a config file), over UDPv4 and over
# Ethernet (-2), and ptp4l as a slave (-s) in the rx namespace asking for the path delay.
# rtcap --ptp in the rx namespace must show ptp4l's clockIdentity (as pmc reads it
# back from ptp4l, and as the interface MAC with FF-FE inserted), the domain and the intervals it
# was given; of two streams whose SDPs name a reference clock, the one naming ptp4l matches and
# the one naming another grandmaster is flagged.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
have ptp4l || skip "linuxptp (ptp4l) not installed: apt-get install linuxptp"
have pmc || skip "linuxptp (pmc) not installed: apt-get install linuxptp"
have python3 || skip "python3 is needed to read the JSON report"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
TX="${LAB}-tx"
RX="${LAB}-rx"
MAC=$(ip netns exec "$TX" cat "/sys/class/net/$TX/address") || fail "no MAC on $TX"
# EUI-64 from the MAC as ptp4l builds it: the 3 high bytes, FF-FE, the 3 low bytes.
EXPECT_ID=$(echo "$MAC" | tr 'a-f' 'A-F' | awk -F: '{printf "%s-%s-%s-FF-FE-%s-%s-%s", $1,$2,$3,$4,$5,$6}')
OTHER_ID="39-A7-94-FF-FE-07-CB-D0"

sdp() {  # PORT GMID DOMAIN
  printf 'v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=ptp test %s\r\nc=IN IP4 198.18.0.2\r\nt=0 0\r\nm=audio %s RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\na=ptime:1\r\na=ts-refclk:ptp=IEEE1588-2008:%s:%s\r\na=mediaclk:direct=0\r\n' \
    "$1" "$1" "$2" "$3"
}

run() {  # NAME TRANSPORT DOMAIN LOG_SYNC LOG_ANNOUNCE
  local name=$1 transport=$2 domain=$3 log_sync=$4 log_announce=$5
  cat >"$TMPD/$name.conf" <<CONF
[global]
domainNumber $domain
logSyncInterval $log_sync
logAnnounceInterval $log_announce
announceReceiptTimeout 2
masterOnly 1
uds_address $TMPD/$name.uds
CONF
  sdp 5004 "$EXPECT_ID" "$domain" >"$TMPD/$name-match.sdp"
  sdp 5006 "$OTHER_ID" "$domain" >"$TMPD/$name-other.sdp"
  # Not -q: the status line each second carries the grandmaster and the offset (checked below).
  timeout 40 "$RTCAP" --netns "$RX" -i "$RX" --ptp --sdp "$TMPD/$name-match.sdp" \
    --sdp "$TMPD/$name-other.sdp" --streams-json "$TMPD/$name.json" --streams-svg "$TMPD/$name.svg" >"$TMPD/$name.out" \
    2>"$TMPD/$name.err" &
  local rtcap_pid=$!
  BG_PIDS="$BG_PIDS $rtcap_pid"
  wait_listening "$TMPD/$name.err" "$rtcap_pid"
  grep -q "joined 2 PTP group(s)" "$TMPD/$name.err" || fail "$name: --ptp did not join: $(cat "$TMPD/$name.err")"
  ip netns exec "$TX" timeout 30 ptp4l -i "$TX" -S "$transport" -m -f "$TMPD/$name.conf" \
    >"$TMPD/$name.ptp4l" 2>&1 &
  local ptp_pid=$!
  BG_PIDS="$BG_PIDS $ptp_pid"
  sed -e 's/^masterOnly 1/slaveOnly 1/' -e "s|$name.uds|$name-slave.uds|" "$TMPD/$name.conf" \
    >"$TMPD/$name-slave.conf"
  ip netns exec "$RX" timeout 30 ptp4l -i "$RX" -S "$transport" -m -f "$TMPD/$name-slave.conf" \
    >"$TMPD/$name.slave" 2>&1 &
  local slave_pid=$!
  BG_PIDS="$BG_PIDS $slave_pid"
  # Master within announceReceiptTimeout x the announce interval (~1 s); 10 s bound.
  local i
  for i in $(seq 1 100); do
    grep -q "assuming the grand master role\|to MASTER on" "$TMPD/$name.ptp4l" && break
    kill -0 "$ptp_pid" 2>/dev/null || fail "$name: ptp4l exited: $(tail -5 "$TMPD/$name.ptp4l")"
    sleep 0.1
  done
  grep -q "to MASTER on" "$TMPD/$name.ptp4l" || fail "$name: ptp4l never became master: $(tail -5 "$TMPD/$name.ptp4l")"
  # ptp4l's own word for its clockIdentity (management over its UNIX socket).
  PMC_ID=$(ip netns exec "$TX" timeout 5 pmc -u -b 0 -d "$domain" -s "$TMPD/$name.uds" \
    -i "$TMPD/$name.pmc" 'GET DEFAULT_DATA_SET' 2>/dev/null | awk '/clockIdentity/ {print $2; exit}')
  [ -n "$PMC_ID" ] || fail "$name: pmc did not answer"
  "$RTCAP" gen --netns "$TX" -q --streams 2 --ptime 1ms --secs 3 --dst 198.18.0.2:5004 || fail "$name: gen"
  interrupt_and_reap "$rtcap_pid" 3
  [ "$INT_RC" -eq 0 ] || fail "$name: rtcap exited $INT_RC: $(tail -3 "$TMPD/$name.err")"
  kill "$ptp_pid" "$slave_pid" 2>/dev/null
  wait "$ptp_pid" "$slave_pid" 2>/dev/null
  BG_PIDS=$(echo "$BG_PIDS" | sed -e "s/ $ptp_pid\b//" -e "s/ $slave_pid\b//")
  python3 - "$TMPD/$name.json" "$EXPECT_ID" "$PMC_ID" "$OTHER_ID" "$domain" "$log_sync" \
    "$log_announce" "$transport" <<'PY' || fail "$name: the report does not show ptp4l as it was configured"
import json, sys
path, expect_id, pmc_id, other_id = sys.argv[1:5]
domain, log_sync, log_announce, transport = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
j = json.load(open(path))
doms = {d["domain"]: d for d in j["ptp"]["domains"]}
assert domain in doms, f"domain {domain} not seen: {list(doms)}"
d = doms[domain]
gm = d["grandmaster"]["identity"]
# pmc prints 001122.fffe.334455: the same eight bytes.
assert gm.replace("-", "").lower() == pmc_id.replace(".", "").lower(), (gm, pmc_id)
assert gm == expect_id, (gm, expect_id)
assert d["grandmaster_changes"] == 0, d
# The slave (the rx namespace's ptp4l -s) asks for the path delay; the master answers.
assert d["messages_by_type"].get("Delay_Req", 0) > 0, d["messages_by_type"]
masters = [m for m in d["masters"] if m["clock_identity"] == expect_id]
assert len(masters) == 1, d["masters"]
m = masters[0]
assert m["two_step"] and not m["one_step"], m  # ptp4l -S is a two-step clock
assert m["follow_ups_matched"] >= m["syncs"] - 1 and m["follow_ups_orphan"] == 0, m
assert m["sync_interval"]["log_interval"] == log_sync, m["sync_interval"]
assert m["announce_interval"]["log_interval"] == log_announce, m["announce_interval"]
want = 2.0 ** log_sync
assert m["syncs"] >= 8, m
assert abs(m["sync_interval"]["mean_s"] - want) < 0.1 * want, (m["sync_interval"], want)
want_a = 2.0 ** log_announce
assert abs(m["announce_interval"]["mean_s"] - want_a) < 0.1 * want_a, (m["announce_interval"], want_a)
assert m["delay_resps"] > 0, m
assert m["over_ethernet"] == (transport == "-2") and m["over_udp"] == (transport == "-4"), m
# Same host, same CLOCK_REALTIME: the estimate is the software path, well under 10 ms.
assert abs(m["capture_offset"]["mean_ns"]) < 10e6, m["capture_offset"]
# The slave's Delay_Reqs and the master's answers give the path delay (1588-2008 11.3): on a
# veth pair with software time stamps, positive and well under 10 ms.
pd = m.get("path_delay")
assert pd and pd["samples"] > 0, m
assert 0 < pd["mean_ns"] < 10e6, pd
t = j["ptp"]["totals"]
assert t["truncated"] == t["bad_length"] == t["bad_version"] == t["unknown_type"] == 0, t
assert t["wrong_port"] == 0 and t["orphan_follow_ups"] == 0, t
rtp = {s["dst_port"]: s for s in j["streams"] if s.get("protocol") == "rtp"}
assert rtp[5004]["ptp"]["match"] == "match", rtp[5004]["ptp"]
assert rtp[5006]["ptp"]["match"] == "other_grandmaster", rtp[5006]["ptp"]
assert rtp[5006]["ptp"]["wire_grandmaster"] == expect_id, rtp[5006]["ptp"]
assert rtp[5006]["ptp"]["sdp_grandmaster"] == other_id, rtp[5006]["ptp"]
print(f"ptp4l {gm} domain {domain}: Sync {m['sync_interval']['mean_s']:.4f} s (log {log_sync}), "
      f"Announce {m['announce_interval']['mean_s']:.3f} s, offset {m['capture_offset']['mean_ns']/1e3:.1f} us, "
      f"path delay {pd['mean_ns']/1e3:.1f} us ({pd['samples']} pairs)")
PY
  grep -q "! PTP: SDP names $OTHER_ID domain $domain, the wire's grandmaster in that domain is $EXPECT_ID" \
    "$TMPD/$name.err" "$TMPD/$name.out" || fail "$name: the stream naming another grandmaster is not flagged in the table"
  # The SVG draws the domain's offset over the capture.
  grep -q "<g id=\"ptp-offset-$domain\">" "$TMPD/$name.svg" || fail "$name: the SVG has no PTP offset chart"
  # The status line's short form of the same: domain, the grandmaster's last three octets, offset.
  grep -q "| ptp d$domain gm \.\.${EXPECT_ID: -8} off [-+][0-9.]* [mu]*s +-" "$TMPD/$name.err" ||
    fail "$name: no status line names grandmaster ..${EXPECT_ID: -8} in domain $domain: $(grep -m1 'pkts' "$TMPD/$name.err")"
}

run udp4 -4 24 -3 -1
run l2 -2 127 -2 -1
cat "$TMPD/l2.out" "$TMPD/l2.err" | grep -A12 "^PTP:" >&2
log "PASS"
