#!/usr/bin/env bash
# Soak: rtcap --reopen captures RATE packets/s (default 100,000) for SECS seconds (default 600)
# in a lab of its own, while the capture interface flaps every FLAP_S seconds (default 30; 0: no
# flaps): the odd flaps take it down for 1 s (ip link set down/up), the even ones delete it and
# re-create it (rtcap lab up: a new interface index). The traffic is RTP, RATE/1000 streams of
# 1 ms packets (100 streams at 100,000/s: a 1 s outage is a 1,000-packet gap per stream, under
# RFC 3550's MAX_DROPOUT), analysed by --streams, which lays every sequence gap against the
# outages rtcap recorded (issue 13). Every 10 s: RSS and the counters. At the end: packets sent,
# captured, lost, how many of the lost the stream analysis put in the outages and how many
# outside them, and RSS at start and end. PASS: no capture drop, and every lost packet is a
# sequence gap that fell in an outage ("lost only during outages"). Every packet index checked
# by rtcap_seqcheck is too big a file at this length. Not run by CI (it takes 10 minutes); run
# it by hand:
#   scripts/soak.sh build/tools/rtcap/rtcap [SECS] [FLAP_S] [RATE]
set -euo pipefail
RTCAP=$(realpath "$1"); SECS=${2:-600}; FLAP_S=${3:-30}; RATE=${4:-100000}
LAB="soak$$"; LAB=${LAB:0:8}
TMP=$(mktemp -d /tmp/rtcap-soak.XXXXXX)
cleanup() {
  kill "$CAP" "${GEN:-}" 2>/dev/null || true; wait 2>/dev/null || true
  "$RTCAP" lab down --name "$LAB" >/dev/null 2>&1 || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "soak: kept $TMP (cap.err, stats.json, streams.json)"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
RX="$LAB-rx"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
"$RTCAP" lab up --name "$LAB" >/dev/null
"$RTCAP" --netns "$RX" -i "$RX" --reopen -q -w /dev/null --stats-json "$TMP/stats.json" \
  --streams --streams-json "$TMP/streams.json" udp >"$TMP/cap.out" 2>"$TMP/cap.err" &
CAP=$!
sleep 1
STREAMS=$(( RATE / 1000 )); [ "$STREAMS" -ge 1 ] || STREAMS=1
"$RTCAP" gen --netns "$LAB-tx" -q --streams "$STREAMS" --ptime 1ms --secs "$SECS" \
  --json "$TMP/gen.json" 2>"$TMP/gen.err" &
GEN=$!
rss_start=$(awk '/VmRSS/ {print $2}' "/proc/$CAP/status")
echo "t_s rss_kib packets kernel_dropped app_dropped interface_reopens"
t=0; flaps=0; down_ms=0
field() { echo "$last" | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
while kill -0 "$GEN" 2>/dev/null; do
  sleep 10; t=$((t + 10))
  if [ "$FLAP_S" -gt 0 ] && [ $((t % FLAP_S)) = 0 ] && [ "$t" -lt "$SECS" ]; then
    flaps=$((flaps + 1))
    t0=$(now_ms)
    if [ $((flaps % 2)) = 1 ]; then
      ip netns exec "$RX" ip link set "$RX" down; sleep 1; ip netns exec "$RX" ip link set "$RX" up
    else
      ip netns exec "$RX" ip link del "$RX"; sleep 1; "$RTCAP" lab up --name "$LAB" >/dev/null
    fi
    # Until the veth carries packets again (both ends up: operstate UP).
    for _ in $(seq 1 50); do
      [ "$(ip netns exec "$RX" cat "/sys/class/net/$RX/operstate" 2>/dev/null)" = up ] && break
      sleep 0.02
    done
    down_ms=$((down_ms + $(now_ms) - t0))
  fi
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$CAP/status")
  last=$(tail -1 "$TMP/stats.json")
  echo "$t $rss $(field packets_captured) $(field kernel_dropped) $(field app_dropped_packets) $(field interface_reopens)"
done
wait "$GEN" || true
sleep 1.5
rss_end=$(awk '/VmRSS/ {print $2}' "/proc/$CAP/status")
kill -INT "$CAP"; wait "$CAP" || true
if [ -f "$TMP/gen.json" ]; then
  sent=$(grep -o '"sent": *[0-9]*' "$TMP/gen.json" | head -1 | grep -o '[0-9]*$')
else
  # The generator writes no report when sends failed: a delete/re-create flap takes the veth
  # pair's other end with it, and its sends meanwhile fail ("Network is unreachable"). Its one
  # line says how many of how many: those were never sent, so they are not lost.
  cat "$TMP/gen.err"
  read -r failed total < <(sed -n 's/.* \([0-9]*\) of \([0-9]*\) packets could not be sent.*/\1 \2/p' "$TMP/gen.err")
  sent=$(( ${total:?no generator report and no failure line} - failed ))
fi
unsent=$(( ${total:-$sent} - sent ))  # their sequence numbers are gaps too
last=$(tail -1 "$TMP/stats.json")
captured=$(field packets_captured); kdrop=$(field kernel_dropped); adrop=$(field app_dropped_packets)
lost=$((sent - captured))
# What the outages can explain: the rate times their measured length, plus 100 ms per flap for
# the time the kernel takes to pass packets again after operstate says up.
outage_max=$(( RATE * (down_ms + 100 * flaps) / 1000 ))
# The stream analysis' totals: every gap, split by the outages it fell in.
total() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['totals'][sys.argv[2]])" "$TMP/streams.json" "$1"; }
seq_lost=$(total sequence_lost); in_outages=$(total outage_lost); outside=$(total network_lost)
echo "sent $sent captured $captured lost $lost kernel_dropped $kdrop app_dropped $adrop"
echo "stream analysis ($STREAMS RTP streams): $seq_lost missing from the sequences, $in_outages in outages, $outside outside them"
echo "flaps $flaps, outages $down_ms ms in all: at most $outage_max packets lost to them"
echo "rss start ${rss_start} KiB end ${rss_end} KiB"
grep -E "dropped|delay|capture thread|interface|missing from the RTP" "$TMP/cap.err" | tail -9
# outage_max (this script's own timing of the flaps) is printed for comparison only: the kernel
# passes packets again some time after "ip link set up" (measured here, 60 s at 20,000/s: the
# down/up flap's gap was 29,412 packets, 1.47 s, where this script timed 1.055 s), so the real
# outages are longer than the script's clock says; the stream analysis, which times each gap
# against the outages rtcap recorded, is the judge.
# Outside the outages rtcap recorded, up to 5 packet times per stream per flap are allowed: a
# flap takes both ends of the veth pair down, and the generator's end passes packets again a few
# ms after rtcap's end is seen up (measured here, 70 s at 20,000/s, two flaps: 3 packets in 9 of
# the 20 streams, 27 in all, 47,968 in the outages); rtcap rightly counts those as lost before
# its capture point, which is up.
edge_max=$(( 5 * STREAMS * flaps ))
echo "outside the outages: $outside (allowed next to the flaps: $edge_max); not sent by the generator (its sends failed while the veth was gone): $unsent"
if [ "$kdrop" = 0 ] && [ "$adrop" = 0 ] && [ "$outside" -le "$edge_max" ] &&
   [ "$seq_lost" = $(( lost + unsent )) ]; then
  echo "SOAK PASS: lost only during outages ($in_outages in them, $outside next to them, by the stream analysis); no capture drop"
else
  echo "SOAK FAIL"; KEEP_TMP=1; exit 1
fi
