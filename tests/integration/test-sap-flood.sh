# A SAP flood must never cost capture a packet: 20,000 distinct announcements in about a second
# beside a 2,000 packets/s canary RTP stream. The canary is counted exactly (every packet, 0 lost,
# 0 kernel drops); the flood is bounded (at most the budget parsed, the rest counted as rate
# limited) and every SAP datagram is counted once.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
have python3 || skip "python3 is needed to send the flood and read the JSON"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up"
RX="${LAB}-rx"
TX="${LAB}-tx"
CANARY=10000   # 5 s at 2,000 packets/s
FLOOD=20000

timeout 60 "$RTCAP" --netns "$RX" -i "$RX" -q --streams --streams-json "$TMPD/streams.json" \
  --stats-json "$TMPD/stats.json" udp >"$TMPD/cap.out" 2>"$TMPD/cap.err" &
CAP=$!
BG_PIDS="$BG_PIDS $CAP"
wait_listening "$TMPD/cap.err" "$CAP"

"$RTCAP" gen --netns "$TX" -q --rate 2000 --count "$CANARY" --dst 198.18.0.2:5004 &
GEN=$!
BG_PIDS="$BG_PIDS $GEN"
sleep 1
# The flood: distinct sessions (message id hash, group) from 200 origins, to the capture's port.
ip netns exec "$TX" python3 - "$FLOOD" <<'PY' || fail "flood sender"
import socket, struct, sys, time
n = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i in range(n):
    sdp = (f"v=0\r\no=- {i} 1 IN IP4 198.18.0.1\r\ns=flood {i}\r\n"
           f"c=IN IP4 239.70.{i // 250}.{i % 250}/32\r\nt=0 0\r\nm=audio 5004 RTP/AVP 97\r\n"
           f"a=rtpmap:97 L24/48000/2\r\na=ptime:1\r\n").encode()
    head = struct.pack("!BBH4s", 0x20, 0, i & 0xFFFF, bytes([198, 18, 1, i % 200]))
    s.sendto(head + b"application/sdp\0" + sdp, ("198.18.0.2", 9875))
    if i % 1000 == 999:  # ~20,000 a second: pace so the veth does not drop them itself
        time.sleep(max(0.0, (i + 1) / 20000 - (time.monotonic() - t0)))
PY
wait "$GEN" || fail "canary generator exit $?"
interrupt_and_reap "$CAP" 10
[ "$INT_RC" -eq 0 ] || fail "rtcap exit $INT_RC: $(tail -3 "$TMPD/cap.err")"

python3 - "$TMPD" "$CANARY" "$FLOOD" <<'PY' || fail "the flood cost the canary, or was not bounded"
import json, sys
d, canary, flood = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
j = json.load(open(f"{d}/streams.json"))
rtp = [s for s in j["streams"] if s.get("protocol") == "rtp" and s["dst_port"] == 5004]
assert len(rtp) == 1, f"want the canary only, got {len(rtp)} RTP streams"
c = rtp[0]
assert c["packets"] == canary and c["lost"] == 0 and c["validated"], c
sap = j["totals"]["sap"]
assert sap["packets"] == flood, sap
parsed = sap["announcements"]
assert parsed + sap["rate_limited"] + sap["malformed"] + sap["refreshes"] == flood, sap
# 256 at once and 128 a second in all: the flood lasts about a second; allow 5 s of refill.
assert 0 < parsed <= 256 + 128 * 5, f"{parsed} announcements parsed: the budget did not hold"
assert len(j["sessions"]) <= 256, len(j["sessions"])
final = json.loads(open(f"{d}/stats.json").read().splitlines()[-1])
assert final["kernel_dropped"] == 0 and final["app_dropped_packets"] == 0, final
print(f"canary {c['packets']} packets, 0 lost; SAP {sap['packets']}: {parsed} parsed, "
      f"{sap['rate_limited']} rate limited")
PY
log "PASS"
