# Levels without --extract-audio: GStreamer (a sender we did not write) sends three L24 mono
# streams, a -6.02 dBFS sine (volume 0.5), a full-scale square and digital silence; rtcap --sdp
# FILE --levels --streams-json (no files written) must report the sine's peak within 0.1 dB and
# its RMS 3.01 dB below, count the square's full-scale samples, and call the silent stream silent
# (--levels keeps the meter's 10 s: the silence stream runs 12 s).
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
have gst-launch-1.0 || skip "gst-launch-1.0 not installed (gstreamer1.0-tools)"
gst-inspect-1.0 rtpL24pay >/dev/null 2>&1 || skip "rtpL24pay not installed (gstreamer1.0-plugins-good)"
have python3 || skip "python3 not installed"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up failed"
TX="${LAB}-tx"
RX="${LAB}-rx"

# name group pt wave volume seconds
STREAMS="sine 239.69.4.1 96 sine 0.5 3
square 239.69.4.2 97 square 1.0 3
silence 239.69.4.3 98 silence 1.0 12"
{
  printf 'v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=GStreamer levels\r\nt=0 0\r\n'
  while read -r name group pt wave volume seconds; do
    printf 'm=audio 5004 RTP/AVP %s\r\nc=IN IP4 %s/32\r\na=rtpmap:%s L24/48000/1\r\na=ptime:1\r\n' "$pt" "$group" "$pt"
  done <<<"$STREAMS"
} >"$TMPD/session.sdp"

mkdir "$TMPD/cwd"
(cd "$TMPD/cwd" && exec "$RTCAP" --netns "$RX" -i "$RX" --sdp "$TMPD/session.sdp" --levels \
  --streams-json "$TMPD/streams.json" udp) >"$TMPD/cap.out" 2>"$TMPD/cap.err" &
CAP=$!
BG_PIDS="$BG_PIDS $CAP"
wait_listening "$TMPD/cap.err" "$CAP"

GST_PIDS=""
while read -r name group pt wave volume seconds; do
  ip netns exec "$TX" timeout 30 gst-launch-1.0 -q audiotestsrc is-live=true wave="$wave" \
    volume="$volume" freq=997 num-buffers=$(( seconds * 1000 )) samplesperbuffer=48 ! \
    "audio/x-raw,format=S24BE,rate=48000,channels=1" ! rtpL24pay pt="$pt" min-ptime=1000000 \
    max-ptime=1000000 ! udpsink host="$group" port=5004 multicast-iface="$TX" ttl-mc=1 sync=false \
    >"$TMPD/$name.gst" 2>&1 &
  GST_PIDS="$GST_PIDS $!"
done <<<"$STREAMS"
BG_PIDS="$BG_PIDS $GST_PIDS"
wait_gst "$GST_PIDS"
sleep 0.3
interrupt_and_reap "$CAP" 5
[ "$INT_RC" -eq 0 ] || fail "capture exit $INT_RC: $(tail -5 "$TMPD/cap.err")"
[ -z "$(ls -A "$TMPD/cwd")" ] || fail "--levels wrote files: $(ls "$TMPD/cwd")"

python3 - "$TMPD/streams.json" <<'PY' || fail "levels check failed: $(cat "$TMPD/streams.json")"
import json, sys
streams = {s["dst_addr"]: s for s in json.load(open(sys.argv[1]))["streams"] if s["protocol"] == "rtp"}
def levels(group):
    s = streams[group]
    assert "levels" in s and len(s["levels"]) == 1, f"{group}: no levels: {s}"
    return s["levels"][0]
sine = levels("239.69.4.1")
assert abs(sine["peak_dbfs"] - (-6.0206)) <= 0.1, f"sine peak {sine['peak_dbfs']}"
assert abs(sine["rms_dbfs"] - (-9.0309)) <= 0.1, f"sine rms {sine['rms_dbfs']}"
assert sine["clipped_samples"] == 0 and not sine["silent"], sine
square = levels("239.69.4.2")
assert square["clipped_samples"] >= 48000, f"square: {square}"
silence = levels("239.69.4.3")
assert silence["silent"] and silence["silences"] == 1, f"silence: {silence}"
assert silence["peak_dbfs"] is None, f"digital silence reads -inf (null): {silence}"
print(f"sine {sine['peak_dbfs']:.3f} / {sine['rms_dbfs']:.3f} dBFS, square {square['clipped_samples']} "
      f"full-scale samples, silence silent after {silence['silent_seconds']:.1f} s", file=sys.stderr)
PY

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down failed"
assert_lab_gone
log "PASS${SKIPPED_PARTS:+ (skipped parts: $SKIPPED_PARTS)}"
exit 0
