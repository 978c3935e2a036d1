# rtcap gen: real RTP (and raw UDP) over the lab's veth, checked packet by packet with
# independent readers (tcpdump -r / -T rtp, and tshark when installed).
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
have tcpdump || skip "tcpdump not installed: the generator's packets cannot be captured (install tcpdump)"
if have tshark; then TSHARK=1; else TSHARK=0; skip_part "tshark not installed: RTP decoding by Wireshark's dissector not checked"; fi

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up failed"
TX="${LAB}-tx"
FILTER="udp and dst host 198.18.0.2"

# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

# ---- 1. RTP: 2 streams at 125 us, L24 stereo (36-byte payload), across the 16-bit wrap ----
N=400
start_capture "$TMPD/rtp.pcap" "$N" $FILTER
"$RTCAP" gen --netns "$TX" --streams 2 --ptime 125us --count "$N" --seq-start 65436 --seed 5 \
  --json "$TMPD/rtp.json" -q || fail "gen (RTP) exit $?"
wait_capture
expect_eq "RTP packets in capture" "$(count_packets "$TMPD/rtp.pcap")" "$N"
expect_eq "gen report sent" "$(json_field "$TMPD/rtp.json" sent)" "$N"
expect_eq "gen report send_errors" "$(json_field "$TMPD/rtp.json" send_errors)" 0
# Every datagram: 28-byte RTP header+extension + 36 bytes of audio = 64 bytes of UDP payload.
expect_eq "UDP lengths" "$(tcpdump -nn -r "$TMPD/rtp.pcap" 2>/dev/null | grep -o 'length [0-9]*' | sort -u)" "length 64"
# Per stream: each sequence number exactly once, 65436..65535,0..99 (wraps at 16 bits).
want=$( (seq 65436 65535; seq 0 99) | sort -n | tr '\n' ' ')
for port in 5004 5006; do
  got=$(rtp_port_seq "$TMPD/rtp.pcap" | awk -v p=$port '$1 == p {print $2}' | sort -n | tr '\n' ' ')
  expect_eq "seq set on port $port (tcpdump -T rtp)" "$got" "$want"
done
if [ "$TSHARK" = 1 ]; then
  tshark -r "$TMPD/rtp.pcap" -d udp.port==5004,rtp -d udp.port==5006,rtp -T fields -E separator=, \
    -e rtp.version -e rtp.p_type -e rtp.seq -e rtp.ssrc -e rtp.ext.profile -e rtp.payload \
    -e udp.dstport >"$TMPD/rtp.tshark" 2>"$TMPD/tshark.err" || fail "tshark failed: $(cat "$TMPD/tshark.err")"
  expect_eq "tshark rows" "$(wc -l <"$TMPD/rtp.tshark")" "$N"
  expect_eq "RTP version" "$(cut -d, -f1 "$TMPD/rtp.tshark" | sort -u)" 2
  expect_eq "RTP payload type" "$(cut -d, -f2 "$TMPD/rtp.tshark" | sort -u)" 97
  expect_eq "RTP extension profile" "$(cut -d, -f5 "$TMPD/rtp.tshark" | sort -u)" 0xbede
  # Payload hex (colons removed when present): 36 bytes = 72 hex digits.
  expect_eq "RTP payload size" "$(cut -d, -f6 "$TMPD/rtp.tshark" | tr -d ':' | awk '{print length($0)/2}' | sort -u)" 36
  expect_eq "SSRCs" "$(cut -d, -f4 "$TMPD/rtp.tshark" | sort -u | wc -l)" 2
  # Packet index in the first 8 payload bytes: 0..199 exactly once per stream.
  for port in 5004 5006; do
    got=$(awk -F, -v p=$port '$7 == p {gsub(":", "", $6); print substr($6, 1, 16)}' "$TMPD/rtp.tshark" |
      while read -r hex; do echo $((16#$hex)); done | sort -n | tr '\n' ' ')
    expect_eq "payload index set on port $port" "$got" "$(seq 0 199 | tr '\n' ' ')"
  done
  # SSRCs in the capture are the ones the report names.
  for s in $(cut -d, -f4 "$TMPD/rtp.tshark" | sort -u); do
    grep -q "\"ssrc\": $((s))" "$TMPD/rtp.json" || fail "SSRC $s not in the gen report"
  done
fi
log "RTP ok"

# ---- 2. Raw UDP: 32-byte payloads carrying the 64-bit index, paced at 50 kpps ----
N=1000
start_capture "$TMPD/raw.pcap" "$N" $FILTER
"$RTCAP" gen --netns "$TX" --payload 32 --rate 50000 --count "$N" -q || fail "gen (raw) exit $?"
wait_capture
expect_eq "raw packets in capture" "$(count_packets "$TMPD/raw.pcap")" "$N"
expect_eq "raw UDP lengths" "$(tcpdump -nn -r "$TMPD/raw.pcap" 2>/dev/null | grep -o 'length [0-9]*' | sort -u)" "length 32"
# Index = first 8 payload bytes. tcpdump -x: 20-byte IP + 8-byte UDP header = 28 bytes = 14
# four-hex-digit groups, so the index is groups 15-18 of each packet's hex dump.
got=$(tcpdump -nn -x -r "$TMPD/raw.pcap" 2>/dev/null | awk '
  /^[0-9]/ { if (hex != "") print substr(hex, 57, 16); hex = ""; next }
  { for (i = 2; i <= NF; i++) hex = hex $i }
  END { if (hex != "") print substr(hex, 57, 16) }' | while read -r h; do echo $((16#$h)); done | sort -n | tr '\n' ' ')
expect_eq "raw index set" "$got" "$(seq 0 $((N - 1)) | tr '\n' ' ')"
log "raw UDP ok"

# ---- 3. Deliberate loss: exactly the packets the truth file names are missing ----
N=2000
# Dry run to learn how many survive: the fates are deterministic per seed, so a run to a
# throwaway port gives the same truth file.
"$RTCAP" gen --netns "$TX" --count "$N" --rate 40000 --loss 0.1 --seed 7 --seq-start 0 \
  --dst 198.18.0.2:7000 --truth "$TMPD/truth0.jsonl" -q || fail "gen (loss, dry) exit $?"
drops=$(grep -c '"kind":"drop"' "$TMPD/truth0.jsonl")
[ "$drops" -gt 100 ] && [ "$drops" -lt 320 ] || fail "10% loss of $N dropped $drops"
start_capture "$TMPD/loss.pcap" $((N - drops)) $FILTER
"$RTCAP" gen --netns "$TX" --count "$N" --rate 40000 --loss 0.1 --seed 7 --seq-start 0 \
  --truth "$TMPD/truth.jsonl" --json "$TMPD/loss.json" -q || fail "gen (loss) exit $?"
wait_capture
cmp -s <(grep -o '"seq":[0-9]*' "$TMPD/truth0.jsonl") <(grep -o '"seq":[0-9]*' "$TMPD/truth.jsonl") ||
  fail "same seed, different drops: --loss is not deterministic"
expect_eq "report dropped_on_purpose" "$(json_field "$TMPD/loss.json" dropped_on_purpose)" "$drops"
expect_eq "report sent" "$(json_field "$TMPD/loss.json" sent)" $((N - drops))
received=$(rtp_port_seq "$TMPD/loss.pcap" | awk '{print $2}' | sort -n)
dropped=$(grep -o '"seq":[0-9]*' "$TMPD/truth.jsonl" | cut -d: -f2 | sort -n)
expect_eq "received count" "$(echo "$received" | wc -l)" $((N - drops))
expect_eq "received seqs are unique" "$(echo "$received" | uniq | wc -l)" $((N - drops))
[ -z "$(comm -12 <(echo "$received" | sort) <(echo "$dropped" | sort))" ] || fail "a packet named dropped arrived"
expect_eq "received + dropped = all" "$( (echo "$received"; echo "$dropped") | sort -n | tr '\n' ' ')" \
  "$(seq 0 $((N - 1)) | tr '\n' ' ')"
log "loss ok ($drops of $N dropped, as the truth file says)"

# ---- 4. Deliberate reordering: each named packet arrives right after its successor ----
N=1000
start_capture "$TMPD/reorder.pcap" "$N" $FILTER
"$RTCAP" gen --netns "$TX" --count "$N" --rate 40000 --reorder 0.05 --seed 9 --seq-start 100 \
  --truth "$TMPD/rtruth.jsonl" -q || fail "gen (reorder) exit $?"
wait_capture
order=$(rtp_port_seq "$TMPD/reorder.pcap" | awk '{print $2}' | tr '\n' ' ')
swapped=$(grep -o '"seq":[0-9]*' "$TMPD/rtruth.jsonl" | cut -d: -f2)
[ -n "$swapped" ] || fail "--reorder 0.05 over $N packets swapped nothing"
for s in $swapped; do
  echo " $order" | grep -q " $((s + 1)) $s " || fail "seq $s was not sent right after seq $((s + 1))"
done
expect_eq "reordered capture has every seq once" "$(echo "$order" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" \
  "$(seq 100 $((100 + N - 1)) | tr '\n' ' ')"
log "reorder ok ($(echo "$swapped" | wc -l) swaps)"

# ---- 5. Refusals: one line; exit 2 for a bad value, 3 for what cannot be set up (README) ----
refuse() {  # refuse WANT_EXIT WHAT ARGS...
  local want=$1 what=$2; shift 2
  local rc=0
  "$RTCAP" gen "$@" 2>"$TMPD/err" >/dev/null || rc=$?
  [ "$rc" -eq "$want" ] || fail "$what: want exit $want, got $rc: $(cat "$TMPD/err")"
  [ "$(wc -l <"$TMPD/err")" -eq 1 ] || fail "$what: want one error line, got: $(cat "$TMPD/err")"
}
refuse 2 "destination outside 198.18.0.0/15" --netns "$TX" --count 1 --dst 10.1.2.3:5004
refuse 2 "multicast without --allow-multicast" --netns "$TX" --count 1 --dst 239.1.1.1:5004
refuse 2 "unbounded (--secs 0)" --netns "$TX" --secs 0
refuse 3 "missing namespace" --netns "${LAB}-nope" --count 1
refuse 2 "bad ptime" --netns "$TX" --count 1 --ptime 7
refuse 2 "zero ptime" --netns "$TX" --count 1 --ptime 0ms
grep -q "greater than zero" "$TMPD/err" || fail "--ptime 0ms: want 'greater than zero', got: $(cat "$TMPD/err")"
log "refusals ok"

# ---- 6. SIGINT stops cleanly with a report ----
"$RTCAP" gen --netns "$TX" --secs 20 --rate 1000 --dst 198.18.0.2:7000 --json "$TMPD/int.json" 2>"$TMPD/int.err" &
GEN_PID=$!
BG_PIDS="$BG_PIDS $GEN_PID"
sleep 0.5
kill -INT "$GEN_PID"
rc=0
for i in $(seq 1 40); do kill -0 "$GEN_PID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$GEN_PID" 2>/dev/null && fail "gen still running 2 s after SIGINT"
wait "$GEN_PID" || rc=$?
BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $GEN_PID\b//")
expect_eq "exit code after SIGINT" "$rc" 0
grep -q "interrupted" "$TMPD/int.err" || fail "no interrupted report line: $(cat "$TMPD/int.err")"
grep -q '"interrupted": true' "$TMPD/int.json" || fail "JSON report does not say interrupted"
log "SIGINT ok"


# ---- 7. Multicast through the lab: a group per stream, as AES67 senders do ----
N=300
start_capture "$TMPD/mc.pcap" "$N" "udp and dst net 239.69.1.0/24"
"$RTCAP" gen --netns "$TX" --streams 3 --dst 239.69.1.1:5004 --allow-multicast --group-per-stream \
  --count "$N" --ptime 125us --json "$TMPD/mc.json" -q || fail "gen (multicast groups) exit $?"
wait_capture
for g in 1 2 3; do
  expect_eq "packets to 239.69.1.$g:5004" \
    "$(tcpdump -nn -r "$TMPD/mc.pcap" "dst host 239.69.1.$g and dst port 5004" 2>/dev/null | wc -l)" 100
done
grep -q '"dst": "239.69.1.3"' "$TMPD/mc.json" || fail "gen report does not name group 239.69.1.3"
log "multicast groups ok"

# ---- 8. SAP: one announcement per stream per period, an AES67-style SDP, deletions at the end ----
CAPTURE_SNAPLEN=0 start_capture "$TMPD/sap.pcap" 8 "udp and dst host 239.255.255.255 and dst port 9875"
"$RTCAP" gen --netns "$TX" --streams 2 --dst 239.69.1.1:5004 --allow-multicast --group-per-stream \
  --sap --sap-interval 0.5 --session-name "Stage box" --secs 1.2 --json "$TMPD/sap.json" -q || fail "gen --sap exit $?"
wait_capture
# 2 streams x (announce at 0, 0.5, 1.0 s) + 2 deletions = 8.
expect_eq "SAP packets" "$(count_packets "$TMPD/sap.pcap")" 8
expect_eq "report sap_sent" "$(json_field "$TMPD/sap.json" sap_sent)" 8
if [ "$TSHARK" = 1 ]; then
  tshark -r "$TMPD/sap.pcap" -T fields -E separator=";" -e sap.flags.t -e sdp.session_name -e sdp.connection_info \
    -e sdp.media -e sdp.media_attr >"$TMPD/sap.tshark" 2>/dev/null || fail "tshark could not read the SAP capture"
  expect_eq "SAP deletions (T bit)" "$(cut -d";" -f1 "$TMPD/sap.tshark" | grep -c '^1')" 2
  grep -q "Stage box 2;IN IP4 239.69.1.2/1;audio 5004 RTP/AVP 97" "$TMPD/sap.tshark" ||
    fail "SDP of stream 2 as Wireshark reads it: $(head -2 "$TMPD/sap.tshark")"
  for a in "rtpmap:97 L24/48000/2" "ptime:1" "ts-refclk:local" "mediaclk:direct=0" \
    "source-filter: incl IN IP4 239.69.1.2 198.18.0.1"; do
    grep -q "$a" "$TMPD/sap.tshark" || fail "SDP attribute a=$a missing: $(head -1 "$TMPD/sap.tshark")"
  done
fi
log "SAP ok"

# ---- 9. Static payload types at their RFC 3551 clocks; the tone, exact, in G.711 and L24 ----
CAPTURE_SNAPLEN=0 start_capture "$TMPD/pcmu.pcap" 10 $FILTER
"$RTCAP" gen --netns "$TX" --payload-type 0 --ptime 20ms --count 10 --tone 440 --seq-start 0 -q ||
  fail "gen --payload-type 0 exit $?"
wait_capture
if [ "$TSHARK" = 1 ]; then
  tshark -r "$TMPD/pcmu.pcap" -d udp.port==5004,rtp -T fields -E separator=, -e rtp.p_type -e rtp.timestamp \
    -e rtp.payload >"$TMPD/pcmu.tshark" 2>/dev/null
  expect_eq "PCMU payload type" "$(cut -d, -f1 "$TMPD/pcmu.tshark" | sort -u)" 0
  # 20 ms at 8,000 Hz: 160 one-byte samples, and the timestamp steps by 160.
  expect_eq "PCMU payload bytes" "$(cut -d, -f3 "$TMPD/pcmu.tshark" | tr -d ':' | awk '{print length($0)/2}' | sort -u)" 160
  expect_eq "PCMU timestamp step" "$(cut -d, -f2 "$TMPD/pcmu.tshark" | awk 'NR>1{print $1-p} {p=$1}' | sort -u)" 160
  # The same tone computed here, encoded by Python's audioop (an independent G.711 encoder).
  python3 - "$TMPD/pcmu.tshark" <<'PY' || fail "PCMU tone differs from the formula"
import audioop, math, struct, sys
rows = [l.strip().split(',') for l in open(sys.argv[1])]
for i, (_, _, hexp) in enumerate(rows):
    got = bytes.fromhex(hexp.replace(':', ''))
    lin = b''.join(struct.pack('<h', math.floor(32767 / 2.0 * math.sin(2.0 * math.pi * ((440 * (i * 160 + j)) % 8000) / 8000) + 0.5))
                   for j in range(160))
    want = audioop.lin2ulaw(lin, 2)
    if got != want:
        sys.exit(f"packet {i}: first difference at byte {next(k for k in range(160) if got[k] != want[k])}")
PY
else
  skip_part "tshark not installed: PCMU payload type and tone not decoded"
fi
start_capture "$TMPD/l16.pcap" 5 $FILTER
"$RTCAP" gen --netns "$TX" --payload-type 10 --ptime 48samples --count 5 --seq-start 0 -q ||
  fail "gen --payload-type 10 exit $?"
wait_capture
# L16 stereo at 44.1 kHz, 48 samples (1.088 ms, AES67's 44.1 kHz packet): 48 x 2 x 2 + 28 bytes.
expect_eq "L16 44.1 kHz UDP length" "$(tcpdump -nn -r "$TMPD/l16.pcap" 2>/dev/null | grep -o 'length [0-9]*' | sort -u)" "length 220"
if [ "$TSHARK" = 1 ]; then
  expect_eq "L16 payload type and timestamp step" "$(tshark -r "$TMPD/l16.pcap" -d udp.port==5004,rtp -T fields \
    -e rtp.p_type -e rtp.timestamp 2>/dev/null | awk 'NR>1{print $1, $2-p} {p=$2}' | sort -u)" "10 48"
fi
log "static payload types ok"

# ---- 10. Sends that fail are a failure: one line, exit 1 ----
refuse 1 "no route (sends fail)" --netns "$TX" --streams 2 --dst 198.19.5.5:5004 --count 4
grep -q "sent nothing" "$TMPD/err" || fail "failed sends: $(cat "$TMPD/err")"
refuse 3 "multicast outside a lab namespace" --count 1 --dst 239.69.1.1:5004 --allow-multicast
refuse 2 "44.1 kHz at 1 ms" --netns "$TX" --count 1 --payload-type 10
grep -q "multiple of 10ms (441 samples)" "$TMPD/err" || fail "44.1 kHz ptime advice: $(cat "$TMPD/err")"
log "failed sends ok"

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down failed"
assert_lab_gone
log "PASS${SKIPPED_PARTS:+ (skipped parts: $SKIPPED_PARTS)}"
exit 0
