#!/usr/bin/env bash
# Soak: rtcap --reopen captures RATE packets/s (default 100,000) for SECS seconds (default 600)
# in a lab of its own, while the capture interface flaps every FLAP_S seconds (default 30; 0: no
# flaps): the odd flaps take it down for 1 s (ip link set down/up), the even ones delete it and
# re-create it (rtcap lab up: a new interface index). Every 10 s: RSS and the counters. At the
# end: packets sent, captured, lost, how many of the lost fall in the measured outages, and RSS
# at start and end. Every packet index checked by rtcap_seqcheck is too big a file at this
# length, so the check is what the generator sent against rtcap's counters, pcap_stats and the
# outages' own length. Not run by CI (it takes 10 minutes); run it by hand:
#   scripts/soak.sh build/tools/rtcap/rtcap [SECS] [FLAP_S] [RATE]
set -euo pipefail
RTCAP=$(realpath "$1"); SECS=${2:-600}; FLAP_S=${3:-30}; RATE=${4:-100000}
LAB="soak$$"; LAB=${LAB:0:8}
TMP=$(mktemp -d /tmp/rtcap-soak.XXXXXX)
cleanup() {
  kill "$CAP" "${GEN:-}" 2>/dev/null || true; wait 2>/dev/null || true
  "$RTCAP" lab down --name "$LAB" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
RX="$LAB-rx"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
"$RTCAP" lab up --name "$LAB" >/dev/null
"$RTCAP" --netns "$RX" -i "$RX" --reopen -q -w /dev/null --stats-json "$TMP/stats.json" udp \
  2>"$TMP/cap.err" &
CAP=$!
sleep 1
"$RTCAP" gen --netns "$LAB-tx" -q --payload 32 --rate "$RATE" --secs "$SECS" --json "$TMP/gen.json" &
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
sent=$(grep -o '"sent": *[0-9]*' "$TMP/gen.json" | head -1 | grep -o '[0-9]*$')
last=$(tail -1 "$TMP/stats.json")
captured=$(field packets_captured); kdrop=$(field kernel_dropped); adrop=$(field app_dropped_packets)
lost=$((sent - captured))
# What the outages can explain: the rate times their measured length, plus 100 ms per flap for
# the time the kernel takes to pass packets again after operstate says up.
outage_max=$(( RATE * (down_ms + 100 * flaps) / 1000 ))
echo "sent $sent captured $captured lost $lost kernel_dropped $kdrop app_dropped $adrop"
echo "flaps $flaps, outages $down_ms ms in all: at most $outage_max packets lost to them"
echo "rss start ${rss_start} KiB end ${rss_end} KiB"
grep -E "dropped|delay|capture thread|interface" "$TMP/cap.err" | tail -8
if [ "$kdrop" = 0 ] && [ "$adrop" = 0 ] && [ "$lost" -le "$outage_max" ]; then
  echo "SOAK PASS: every packet sent outside the outages was captured"
else
  echo "SOAK FAIL"; exit 1
fi
