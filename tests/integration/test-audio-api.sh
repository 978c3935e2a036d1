# The live audio API from Python (rtcap.Audio over the C API over rtcap::AudioReceiver), against a
# sender we did not write: GStreamer sends a different sine on each channel (audiotestsrc per
# channel -> interleave -> rtpL24pay / rtpL16pay, two rates and channel counts) and records the
# same samples through a tee, the truth. An nftables rule in the sender's namespace drops a
# random 5% of the RTP packets (numgen random). The numpy frames the API delivers must equal the
# recording sample for sample wherever no gap is reported, be zeros exactly where the gaps say,
# and the dominant FFT frequency of each channel must be the one sent.
. "$(dirname "$0")/lib.sh" "$@"
PYDIR=${RTCAP_PYTHON_DIR:-}
[ -f "$PYDIR/rtcap.py" ] || fail "RTCAP_PYTHON_DIR must name the python/ folder (CTest sets it)"
[ -f "${RTCAP_LIBRARY:-}" ] || fail "RTCAP_LIBRARY must name librtcap.so (CTest sets it)"
require_root
require_netns
# numpy under an AddressSanitizer librtcap would need the runtime preloaded into Python and
# numpy's own allocations leak-checked: the receiver runs under ASan in the unit tests and fuzzer.
! ldd "$RTCAP_LIBRARY" | grep -q libasan || skip "an AddressSanitizer build of librtcap"
have gst-launch-1.0 || skip "gst-launch-1.0 not installed (gstreamer1.0-tools)"
gst-inspect-1.0 rtpL24pay >/dev/null 2>&1 || skip "rtpL24pay not installed (gstreamer1.0-plugins-good)"
gst-inspect-1.0 interleave >/dev/null 2>&1 || skip "interleave not installed (gstreamer1.0-plugins-good)"
have nft || skip "nft not installed (nftables)"
PY=${PYTHON:-/usr/bin/python3}  # Debian's, where python3-numpy installs numpy
[ -x "$PY" ] || PY=python3
"$PY" -c 'import numpy' 2>/dev/null || skip "numpy not installed for $PY (python3-numpy)"
export PYTHONPATH=$PYDIR RTCAP_LIBRARY

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up failed"
TX="${LAB}-tx"
RX="${LAB}-rx"

# name group pt payloader caps-format rate ptime-ns frequencies (one per channel)
STREAMS="a 239.69.4.1 96 rtpL24pay S24BE 48000 1000000 440,1000
b 239.69.4.2 97 rtpL16pay S16BE 96000 1000000 300,2500,7000"
{
  printf 'v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Tones\r\nt=0 0\r\n'
  printf 'm=audio 5004 RTP/AVP 96\r\nc=IN IP4 239.69.4.1/32\r\na=rtpmap:96 L24/48000/2\r\na=ptime:1\r\n'
  printf 'm=audio 5004 RTP/AVP 97\r\nc=IN IP4 239.69.4.2/32\r\na=rtpmap:97 L16/96000/3\r\na=ptime:1\r\n'
} >"$TMPD/session.sdp"

# 5% of the RTP packets dropped at random on their way out of the sender.
ip netns exec "$TX" nft -f - <<'NFT' || fail "nft rule"
table ip rtcap_loss {
  chain out {
    type filter hook output priority 0;
    udp dport 5004 numgen random mod 100 < 5 counter drop
  }
}
NFT

ip netns exec "$RX" "$PY" - "$TMPD" "$RX" >"$TMPD/py.out" 2>"$TMPD/py.err" <<'PY' &
import json, os, sys, time
import numpy as np
import rtcap
tmp, iface = sys.argv[1], sys.argv[2]
blocks, gaps, starts = {}, {}, {}
def on_audio(b):
    blocks.setdefault(b.stream.dst, []).append((b.first_frame, b.rtp_timestamp, b.samples.copy()))
    assert isinstance(b.samples, np.ndarray) and b.samples.shape == (b.frames, b.channels)
def on_event(e):
    if e.kind == "start":
        starts[e.stream.dst] = (e.stream.rate_hz, e.stream.channels, e.stream.session_name)
    if e.kind == "gap":
        gaps.setdefault(e.stream.dst, []).append((e.gap_first_frame, e.gap_frames, e.gap_packets, e.gap_filled))
with rtcap.Capture(interfaces=[iface], filter="udp") as cap, rtcap.Audio() as audio:
    sub = audio.subscribe(on_audio, on_event, sdp=open(tmp + "/session.sdp").read(),
                          format="int32", frames_per_delivery=0, max_streams=4)
    open(tmp + "/py.ready", "w").close()
    deadline = time.monotonic() + 40
    while not os.path.exists(tmp + "/sent") and time.monotonic() < deadline:
        cap.poll(0.1, lambda view: audio.add(view, 1))
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        cap.poll(0.1, lambda view: audio.add(view, 1))
    audio.finish()
    stats = audio.stats(sub)
    assert cap.stats()["kernel_dropped"] == 0, cap.stats()
out = {}
for dst, bl in blocks.items():
    pos = 0
    for first, _, s in bl:
        assert first >= pos, (dst, first, pos)  # deliveries in order, gaps skipped only when said
        pos = first + s.shape[0]
    np.save("%s/%s.npy" % (tmp, dst), np.concatenate([s for _, _, s in bl]))
    out[dst] = {"start": starts[dst], "gaps": gaps.get(dst, []), "first": bl[0][0]}
json.dump({"streams": out, "stats": stats}, open(tmp + "/py.json", "w"))
print(json.dumps(stats))
PY
PYPID=$!
BG_PIDS="$BG_PIDS $PYPID"
for i in $(seq 1 200); do [ -e "$TMPD/py.ready" ] && break; sleep 0.05; done
[ -e "$TMPD/py.ready" ] || fail "the Python capture did not start: $(cat "$TMPD/py.err")"

# Two seconds of each stream, paced by GStreamer itself (is-live).
GST_PIDS=""
while read -r name group pt pay fmt rate ptime freqs; do
  spp=$(( rate * ptime / 1000000000 ))
  IFS=, read -ra f <<<"$freqs"
  ch=${#f[@]}
  srcs=""
  for c in $(seq 0 $(( ch - 1 ))); do
    srcs="$srcs audiotestsrc is-live=true wave=sine volume=0.5 freq=${f[$c]} num-buffers=$(( 2 * rate / spp )) samplesperbuffer=$spp ! audio/x-raw,rate=$rate,channels=1 ! i.sink_$c"
  done
  # shellcheck disable=SC2086 # the pipeline's words
  ip netns exec "$TX" timeout 30 gst-launch-1.0 -q interleave name=i ! audioconvert ! \
    "audio/x-raw,format=$fmt,rate=$rate,channels=$ch,layout=interleaved" ! tee name=t \
    t. ! queue ! filesink location="$TMPD/$name.raw" \
    t. ! queue ! audioconvert ! "$pay" pt="$pt" min-ptime="$ptime" max-ptime="$ptime" ! \
    udpsink host="$group" port=5004 multicast-iface="$TX" ttl-mc=1 sync=false $srcs \
    >"$TMPD/$name.gst" 2>&1 &
  GST_PIDS="$GST_PIDS $!"
done <<<"$STREAMS"
BG_PIDS="$BG_PIDS $GST_PIDS"
wait_gst "$GST_PIDS"
touch "$TMPD/sent"
wait "$PYPID" || fail "the Python capture failed: $(tail -20 "$TMPD/py.err")"
BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $PYPID\b//")
dropped=$(ip netns exec "$TX" nft list table ip rtcap_loss | grep -o 'packets [0-9]*' | grep -o '[0-9]*')
log "nftables dropped $dropped packets; the API's counts: $(cat "$TMPD/py.out")"
[ "${dropped:-0}" -gt 0 ] || fail "the nftables rule dropped nothing"
lost=$(grep -o '"lost_packets": [0-9]*' "$TMPD/py.out" | grep -o '[0-9]*$')
# Every packet the API calls lost was dropped by the rule (those before a stream's first or
# after its last packet it cannot see).
[ "$lost" -le "$dropped" ] && [ "$lost" -gt 0 ] || fail "the API counts $lost lost packets, nftables dropped $dropped"

"$PY" - "$TMPD" <<'PY' || fail "audio check failed"
import json, sys
import numpy as np
tmp = sys.argv[1]
res = json.load(open(tmp + "/py.json"))
for name, dst, fmt, rate, freqs in [("a", "239.69.4.1", "S24BE", 48000, [440, 1000]),
                                    ("b", "239.69.4.2", "S16BE", 96000, [300, 2500, 7000])]:
    ch = len(freqs)
    info = res["streams"][dst]
    assert info["start"][:2] == [rate, ch] and info["start"][2] == "Tones", info["start"]
    raw = np.frombuffer(open("%s/%s.raw" % (tmp, name), "rb").read(), dtype=np.uint8)
    if fmt == "S24BE":
        b = raw.reshape(-1, 3).astype(np.uint32)
        truth = ((b[:, 0] << 24) | (b[:, 1] << 16) | (b[:, 2] << 8)).view(np.int32)
    else:
        truth = raw.view(">i2").astype(np.int32) << 16
    truth = truth.reshape(-1, ch)
    got = np.load("%s/%s.npy" % (tmp, dst))
    gaps = info["gaps"]
    assert all(g[3] for g in gaps), "a gap not filled"
    silent = np.zeros(got.shape[0], dtype=bool)
    for first, frames, _, _ in gaps:
        first -= info["first"]
        silent[first:first + frames] = True
    # Where the delivered stream starts in the recording (probation takes its first packets);
    # a packet lost within the first 64 frames is silence there, so those frames do not count.
    k0 = np.flatnonzero((truth == got[0]).all(axis=1))
    heard = ~silent[:64]
    start = next(k for k in k0 if k + 64 <= truth.shape[0] and (truth[k:k + 64][heard] == got[:64][heard]).all())
    n = got.shape[0]
    assert start + n <= truth.shape[0], (start, n, truth.shape)
    want = truth[start:start + n].copy()
    want[silent] = 0
    bad = np.flatnonzero((got != want).any(axis=1))
    assert bad.size == 0, "%s: %d frames differ, first at %d (gaps %s)" % (name, bad.size, bad[0], gaps[:5])
    # Every lost packet's samples are a gap: no recorded frame is missing between them.
    lost_packets = sum(g[2] for g in gaps)
    assert len(gaps) > 0 and lost_packets > 0, "%s: no loss reported" % name
    for c, f in enumerate(freqs):
        x = got[:rate, c].astype(np.float64) * np.hanning(rate)
        spec = np.abs(np.fft.rfft(x))
        spec[0] = 0
        peak = int(np.argmax(spec)) * rate / rate
        assert abs(peak - f) <= 1, "%s channel %d: dominant %.1f Hz, sent %d" % (name, c, peak, f)
    print("%s: %d frames x %d ch equal to GStreamer's recording from frame %d; %d gaps (%d packets, "
          "%d frames) silent exactly where said; dominant frequencies %s" % (
              name, n, ch, start, len(gaps), lost_packets, int(silent.sum()), freqs), file=sys.stderr)
PY

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down failed"
assert_lab_gone
log "PASS${SKIPPED_PARTS:+ (skipped parts: $SKIPPED_PARTS)}"
exit 0
