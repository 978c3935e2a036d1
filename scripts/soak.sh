#!/usr/bin/env bash
# Soak: rtcap captures 100,000 packets/s for SECS seconds (default 600) in a lab of its own;
# reports loss (every packet index checked by rtcap_seqcheck is too big a file at this length,
# so the check is pcap_stats + rtcap's own counters against what the generator sent) and the
# capture process's RSS every 10 s. Not run by CI (it takes 10 minutes); run it by hand:
#   scripts/soak.sh build/tools/rtcap/rtcap [SECS]
set -euo pipefail
RTCAP=$(realpath "$1"); SECS=${2:-600}; LAB="soak$$"; LAB=${LAB:0:8}
TMP=$(mktemp -d /tmp/rtcap-soak.XXXXXX)
cleanup() { kill "$CAP" 2>/dev/null || true; wait 2>/dev/null || true; "$RTCAP" lab down --name "$LAB" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$RTCAP" lab up --name "$LAB" >/dev/null
"$RTCAP" --netns "$LAB-rx" -i "$LAB-rx" -q -w /dev/null --stats-json "$TMP/stats.json" udp 2>"$TMP/cap.err" &
CAP=$!
sleep 1
"$RTCAP" gen --netns "$LAB-tx" -q --payload 32 --rate 100000 --secs "$SECS" --json "$TMP/gen.json" &
GEN=$!
echo "t_s rss_kib packets kernel_dropped app_dropped"
t=0
while kill -0 "$GEN" 2>/dev/null; do
  sleep 10; t=$((t + 10))
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$CAP/status")
  last=$(tail -1 "$TMP/stats.json")
  field() { echo "$last" | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
  echo "$t $rss $(field packets_captured) $(field kernel_dropped) $(field app_dropped_packets)"
done
wait "$GEN"
sleep 1.5
kill -INT "$CAP"; wait "$CAP" || true
sent=$(grep -o '"sent": *[0-9]*' "$TMP/gen.json" | head -1 | grep -o '[0-9]*$')
final=$(tail -1 "$TMP/stats.json")
captured=$(echo "$final" | grep -o '"packets_captured":[0-9]*' | cut -d: -f2)
echo "sent $sent captured $captured"
grep -E "dropped|delay|capture thread" "$TMP/cap.err"
[ "$sent" = "$captured" ] && echo "SOAK PASS: every packet captured" || { echo "SOAK FAIL"; exit 1; }
