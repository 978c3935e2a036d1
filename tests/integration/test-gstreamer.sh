# A sender we did not write: GStreamer's rtpL24pay/rtpL16pay (their pacing, packet sizes and
# channel order) send noise in the lab while a tee records the same samples to a file, the truth.
# rtcap --sdp FILE --extract-audio captures it; its packet counts must equal tshark's, and every
# WAV must equal GStreamer's own recording sample for sample (eight channels leave in DV order:
# the WAV holds what the wire carries, so its channels are a permutation of the recording's). A
# fourth stream is announced only by a SAP the test sends 300 packets after it started: its WAV
# says it starts mid-stream and equals the recording's tail from where it starts.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
have gst-launch-1.0 || skip "gst-launch-1.0 not installed (gstreamer1.0-tools)"
gst-inspect-1.0 rtpL24pay >/dev/null 2>&1 || skip "rtpL24pay not installed (gstreamer1.0-plugins-good)"
have tshark || skip "tshark not installed: no independent packet count"
have python3 || skip "python3 not installed"

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up failed"
TX="${LAB}-tx"
RX="${LAB}-rx"
OUT="$TMPD/wav"

# name group pt payloader caps-format channels samples-per-packet ptime-ns
STREAMS="a 239.69.3.1 96 rtpL24pay S24BE 2 48 1000000
b 239.69.3.2 97 rtpL16pay S16BE 2 48 1000000
c 239.69.3.3 98 rtpL24pay S24BE 8 6 125000
d 239.69.3.4 99 rtpL24pay S24BE 2 48 1000000"

# The SDP of a, b and c, given with --sdp; d's comes later by SAP.
sdp_media() {  # group pt encoding channels ptime-ms
  printf 'm=audio 5004 RTP/AVP %s\r\nc=IN IP4 %s/32\r\na=rtpmap:%s %s/48000/%s\r\na=ptime:%s\r\n' "$2" "$1" "$2" "$3" "$4" "$5"
}
{
  printf 'v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=GStreamer\r\nt=0 0\r\n'
  sdp_media 239.69.3.1 96 L24 2 1
  sdp_media 239.69.3.2 97 L16 2 1
  sdp_media 239.69.3.3 98 L24 8 0.125
} >"$TMPD/session.sdp"

"$RTCAP" --netns "$RX" -i "$RX" --sdp "$TMPD/session.sdp" --extract-audio "$OUT" -w "$TMPD/cap.pcap" \
  -s 0 udp 2>"$TMPD/cap.err" &
CAP=$!
BG_PIDS="$BG_PIDS $CAP"
wait_listening "$TMPD/cap.err" "$CAP"

# d's announcement comes after 300 of d's own packets (heard on the sender's side through
# multicast loopback), whatever the machine's load makes of the start-up times.
ip netns exec "$TX" python3 - "$TMPD/sap.ready" <<'PY' >"$TMPD/sap.log" 2>&1 &
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
r.bind(("239.69.3.4", 5004))
r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.69.3.4") + socket.inet_aton("198.18.0.1"))
r.settimeout(15)
open(sys.argv[1], "w").close()
for _ in range(300):
    r.recv(4096)
sdp = ("v=0\r\no=- 2 2 IN IP4 198.18.0.1\r\ns=GStreamer late\r\nc=IN IP4 239.69.3.4/32\r\nt=0 0\r\n"
       "m=audio 5004 RTP/AVP 99\r\na=rtpmap:99 L24/48000/2\r\na=ptime:1\r\n")
sap = bytes([0x20, 0, 0x56, 0x78, 198, 18, 0, 1]) + b"application/sdp\0" + sdp.encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("198.18.0.1"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.sendto(sap, ("239.255.255.255", 9875))
PY
SAP=$!
BG_PIDS="$BG_PIDS $SAP"
for i in $(seq 1 100); do [ -e "$TMPD/sap.ready" ] && break; sleep 0.05; done
[ -e "$TMPD/sap.ready" ] || fail "the SAP sender did not start: $(cat "$TMPD/sap.log")"

# One second of each stream, paced by GStreamer itself (is-live), all at once.
GST_PIDS=""
while read -r name group pt pay fmt ch spp ptime; do
  buffers=$(( 48000 / spp ))
  ip netns exec "$TX" timeout 20 gst-launch-1.0 -q audiotestsrc is-live=true wave=white-noise \
    num-buffers="$buffers" samplesperbuffer="$spp" ! \
    "audio/x-raw,format=$fmt,rate=48000,channels=$ch,layout=interleaved" ! tee name=t \
    t. ! queue ! filesink location="$TMPD/$name.raw" \
    t. ! queue ! audioconvert ! "$pay" pt="$pt" min-ptime="$ptime" max-ptime="$ptime" ! \
    udpsink host="$group" port=5004 multicast-iface="$TX" ttl-mc=1 sync=false \
    >"$TMPD/$name.gst" 2>&1 &
  GST_PIDS="$GST_PIDS $!"
done <<<"$STREAMS"
BG_PIDS="$BG_PIDS $GST_PIDS"
wait "$SAP" || fail "the SAP sender failed: $(cat "$TMPD/sap.log")"
BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $SAP\b//")
wait_gst "$GST_PIDS"
sleep 0.3
interrupt_and_reap "$CAP" 5
[ "$INT_RC" -eq 0 ] || fail "capture exit $INT_RC: $(tail -5 "$TMPD/cap.err")"
grep "rtcap: audio" "$TMPD/cap.err" >&2

# Packets: rtcap's count per stream against tshark's reading of the -w file.
while read -r name group pt pay fmt ch spp ptime; do
  want=$(tshark -r "$TMPD/cap.pcap" -Y "ip.dst == $group && udp.dstport == 5004" 2>/dev/null | wc -l)
  [ "$want" -eq $(( 48000 / spp )) ] || fail "$name: tshark reads $want packets, GStreamer sent $(( 48000 / spp ))"
  line=$(grep "rtcap: audio .* > $group:5004 " "$TMPD/cap.err") || fail "$name: no audio line"
  got=$(echo "$line" | grep -o ', [0-9]* packets,' | grep -o '[0-9]*')
  before=$(echo "$line" | grep -o 'and [0-9]* packets after the stream started' | grep -o '[0-9]*' || echo 0)
  [ $(( got + before )) -eq "$want" ] || fail "$name: rtcap wrote $got packets (+ $before before its format), tshark reads $want: $line"
  echo "$line" | grep -q " 0 gaps " || fail "$name: gaps: $line"
  if [ "$name" = d ]; then
    # The SAP leaves after 300 of the stream's packets; the capture may see it a few packets early.
    [ "$before" -ge 250 ] || fail "d: the late stream does not say it starts mid-stream: $line"
    grep -q ",before_format$" "$OUT"/*-"$group"_5004-*.gaps.csv || fail "d: the gaps CSV does not say where the file starts"
  fi
done <<<"$STREAMS"

# Samples: each WAV against GStreamer's own recording.
python3 - "$OUT" "$TMPD" <<'PY' || fail "WAV check failed"
import glob, struct, sys
out, tmp = sys.argv[1], sys.argv[2]
def wav(path):
    b = open(path, 'rb').read()
    assert struct.unpack('<I', b[4:8])[0] == len(b) - 8, 'RIFF size'
    off = 12
    while off + 8 <= len(b):
        cid, size = b[off:off + 4], struct.unpack('<I', b[off + 4:off + 8])[0]
        if cid == b'fmt ': ch, rate = struct.unpack('<HI', b[off + 10:off + 16]); bits = struct.unpack('<H', b[off + 22:off + 24])[0]
        if cid == b'data': return ch, rate, bits, b[off + 8:off + 8 + size]
        off += 8 + size + (size & 1)
for name, group, w, ch in [('a', '239.69.3.1', 3, 2), ('b', '239.69.3.2', 2, 2), ('c', '239.69.3.3', 3, 8), ('d', '239.69.3.4', 3, 2)]:
    paths = glob.glob(f'{out}/*-{group}_5004-*.wav')
    assert len(paths) == 1, f'{name}: {paths}'
    c2, rate, bits, data = wav(paths[0])
    assert (c2, rate, bits) == (ch, 48000, 8 * w), f'{name}: fmt {(c2, rate, bits)}'
    raw = open(f'{tmp}/{name}.raw', 'rb').read()  # big-endian, as the caps said
    fb = ch * w
    truth = [[raw[f * fb + c * w:f * fb + (c + 1) * w][::-1] for c in range(ch)] for f in range(len(raw) // fb)]
    got = [[data[f * fb + c * w:f * fb + (c + 1) * w] for c in range(ch)] for f in range(len(data) // fb)]
    start = 0
    if name == 'd':  # the file starts where the SAP came: find that frame in the recording
        start = next(k for k in range(len(truth)) if truth[k] == got[0] and truth[k + 1] == got[1])
        assert start > 0, 'd starts at the first frame although its SDP came late'
    assert len(got) == len(truth) - start, f'{name}: {len(got)} frames, the recording has {len(truth) - start}'
    # The channel order on the wire: each WAV channel is one recorded channel, all of them once.
    perm = [next(t for t in range(ch) if all(got[f][c] == truth[start + f][t] for f in range(64))) for c in range(ch)]
    assert sorted(perm) == list(range(ch)), f'{name}: channels {perm} are not a permutation'
    if ch <= 2: assert perm == list(range(ch)), f'{name}: stereo reordered {perm}'
    # rtpL24pay's DV.LRCWoLsRsLmixRmix, as measured: input channels 4-5 and 6-7 trade places.
    if ch == 8: assert perm == [0, 1, 2, 3, 6, 7, 4, 5], f'{name}: not the DV order: {perm}'
    for f in range(len(got)):
        for c in range(ch):
            assert got[f][c] == truth[start + f][perm[c]], f'{name}: frame {f} channel {c} differs'
    print(f'{name}: {len(got)} frames x {ch} ch equal to GStreamer\'s recording'
          f'{f" from frame {start}" if start else ""}, wire channel order {perm}', file=sys.stderr)
PY

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down failed"
assert_lab_gone
log "PASS${SKIPPED_PARTS:+ (skipped parts: $SKIPPED_PARTS)}"
exit 0
