# The audio path end to end through the lab: rtcap gen --sap --tone (multicast, a group per
# stream, deliberate loss and reordering) -> rtcap --streams --extract-audio. The WAV files are
# read by independent readers (a RIFF parser written here in Python, Python's wave module, sox
# when installed) and every sample is compared with the tone computed here; the silence and the
# side-car gaps must be exactly where the generator's truth file says it dropped packets.
. "$(dirname "$0")/lib.sh" "$@"
require_root
require_netns
have python3 || skip "python3 not installed: the WAV files cannot be checked"
if have sox; then SOX=1; else SOX=0; skip_part "sox not installed: no second WAV reader (install sox)"; fi

"$RTCAP" lab up --name "$LAB" >/dev/null || fail "lab up failed"
TX="${LAB}-tx"
RX="${LAB}-rx"
OUT="$TMPD/wav"

# ---- the capture: every stream, SAP included (the filter lets everything UDP through) ----
"$RTCAP" --netns "$RX" -i "$RX" --streams --streams-json "$TMPD/streams.json" --extract-audio "$OUT" \
  --streams-svg "$TMPD/streams.svg" \
  -s 0 udp >"$TMPD/table.txt" 2>"$TMPD/cap.err" &
CAP=$!
BG_PIDS="$BG_PIDS $CAP"
wait_listening "$TMPD/cap.err" "$CAP"

# 1. Two AES67-style streams, L24 stereo 1 ms, each on its own group, announced with SAP.
"$RTCAP" gen --netns "$TX" --streams 2 --dst 239.69.1.1:5004 --allow-multicast --group-per-stream \
  --sap --sap-interval 0.5 --session-name "Stage box" --tone 1000 --count 2000 --loss 0.02 --reorder 0.01 \
  --seed 11 --truth "$TMPD/a.truth" --json "$TMPD/a.json" -q || fail "gen (L24 stereo) exit $?"
# 2. Eight channels of L16 at 125 us (WAVE_FORMAT_EXTENSIBLE), dynamic type 98, SAP.
"$RTCAP" gen --netns "$TX" --dst 239.69.2.1:5004 --allow-multicast --bits 16 --channels 8 --payload-type 98 \
  --ptime 125us --sap --sap-interval 0.5 --session-name "Mic rack" --tone 500 --count 4000 --loss 0.01 \
  --seed 12 --truth "$TMPD/b.truth" --json "$TMPD/b.json" -q || fail "gen (L16 x 8) exit $?"
# 3. Static L16 stereo at 44.1 kHz (payload type 10): no SDP needed, RFC 3551 says the format.
"$RTCAP" gen --netns "$TX" --dst 198.18.0.2:6000 --payload-type 10 --ptime 48samples --tone 441 --count 500 \
  --seed 13 --truth "$TMPD/c.truth" --json "$TMPD/c.json" -q || fail "gen (L16 44.1 kHz) exit $?"
# 4. A dynamic type nobody describes: skipped, with a line that says so.
"$RTCAP" gen --netns "$TX" --dst 198.18.0.2:6100 --count 50 --seed 14 -q || fail "gen (undescribed) exit $?"
sleep 0.5
interrupt_and_reap "$CAP" 5
[ "$INT_RC" -eq 0 ] || fail "capture exit $INT_RC: $(tail -5 "$TMPD/cap.err")"
grep "rtcap: audio" "$TMPD/cap.err" >&2

[ "$(ls "$OUT"/*.wav 2>/dev/null | wc -l)" -eq 4 ] || fail "want 4 WAV files, got: $(ls "$OUT")"
grep -q "ssrc .*pt 97: not extracted: payload type 97 is dynamic and no SDP describes it" "$TMPD/cap.err" ||
  fail "no line for the undescribed stream: $(grep 'rtcap: audio' "$TMPD/cap.err")"
# The CLI names its own options for the two remedies the library's message gives.
grep "pt 97: not extracted" "$TMPD/cap.err" | grep -q -- "give its SDP (--sdp FILE).* or --audio-format [0-9]" ||
  fail "the undescribed stream's line names no option: $(grep 'pt 97: not extracted' "$TMPD/cap.err")"
grep -q "from sdp 'Stage box 1'" "$TMPD/cap.err" || fail "stream 1's format not from its SAP announcement"
grep -q "from static (RFC 3551)" "$TMPD/cap.err" || fail "PT 10's format not from RFC 3551"

# ---- every file, every sample ----
python3 - "$OUT" "$TMPD" <<'PY' || fail "WAV check failed"
import glob, json, math, os, struct, sys, wave
out, tmp = sys.argv[1], sys.argv[2]

def riff(path):
    """An independent RIFF/WAVE reader: the fmt chunk and the data bytes."""
    b = open(path, 'rb').read()
    assert b[:4] == b'RIFF' and b[8:12] == b'WAVE', 'not RIFF/WAVE'
    assert struct.unpack('<I', b[4:8])[0] == len(b) - 8, 'RIFF size does not match the file'
    off, fmt, data = 12, None, None
    while off + 8 <= len(b):
        cid, size = b[off:off + 4], struct.unpack('<I', b[off + 4:off + 8])[0]
        body = b[off + 8:off + 8 + size]
        if cid == b'fmt ': fmt = body
        if cid == b'data': data = body
        off += 8 + size + (size & 1)
    tag, ch, rate, byterate, align, bits = struct.unpack('<HHIIHH', fmt[:16])
    if tag == 0xFFFE:
        assert len(fmt) == 40 and struct.unpack('<H', fmt[16:18])[0] == 22, 'extensible fmt size'
        assert struct.unpack('<H', fmt[18:20])[0] == bits, 'valid bits'
        assert fmt[24:40] == bytes.fromhex('0100000000001000800000aa00389b71'), 'SubFormat is not PCM'
    assert byterate == rate * align and align == ch * bits // 8, 'inconsistent fmt'
    return tag, ch, rate, bits, data

def tone(f0, c, n, rate, bits):
    a = ((1 << (bits - 1)) - 1) / 2.0
    k = ((f0 * (c + 1)) % rate) * (n % rate) % rate
    return math.floor(a * math.sin(2.0 * math.pi * k / rate) + 0.5)

runs = [('a', 1000, 24, 2, 48000, 48, 1), ('b', 500, 16, 8, 48000, 6, 0xFFFE), ('c', 441, 16, 2, 44100, 48, 1)]
checked = 0
for name, f0, bits, ch, rate, spp, want_tag in runs:
    rep = json.load(open(f'{tmp}/{name}.json'))
    drops = {}
    for line in open(f'{tmp}/{name}.truth'):
        e = json.loads(line)
        if e['kind'] == 'drop': drops.setdefault(e['ssrc'], set()).add(e['index'])
    for s in rep['streams']:
        paths = glob.glob(f"{out}/*-{s['dst']}_{s['dst_port']}-{s['ssrc']:08x}.wav")
        assert len(paths) == 1, f"{name}: no single WAV for ssrc {s['ssrc']:08x}: {os.listdir(out)}"
        tag, c2, r2, b2, data = riff(paths[0])
        assert (tag, c2, r2, b2) == (want_tag, ch, rate, bits), f'{paths[0]}: fmt {(tag, c2, r2, b2)}'
        if ch <= 2:  # Python 3.11's wave reads WAVE_FORMAT_PCM only
            w = wave.open(paths[0])
            assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (ch, rate, bits // 8)
            assert w.readframes(w.getnframes()) == data, 'wave module reads other samples'
        d = drops.get(s['ssrc'], set())
        last = s['produced'] - 1
        while last in d: last -= 1  # loss after the last packet that arrived cannot be seen
        w_bytes = bits // 8
        frames = len(data) // (ch * w_bytes)
        assert frames == (last + 1) * spp, f'{paths[0]}: {frames} frames, want {(last + 1) * spp}'
        for n in range(frames):
            silent = (n // spp) in d
            for c in range(ch):
                o = (n * ch + c) * w_bytes
                v = int.from_bytes(data[o:o + w_bytes], 'little', signed=True)
                want = 0 if silent else tone(f0, c, n, rate, bits)
                assert v == want, f'{paths[0]}: frame {n} channel {c}: {v}, want {want} (packet {n // spp}{" dropped" if silent else ""})'
        # The side-car: one row per run of consecutive dropped packets, where and how long.
        runs_want, i = [], 0
        for idx in sorted(x for x in d if x < last):
            if runs_want and runs_want[-1][0] + runs_want[-1][1] == idx: runs_want[-1][1] += 1
            else: runs_want.append([idx, 1])
        rows = [l.strip().split(',') for l in open(paths[0][:-4] + '.gaps.csv')][1:]
        assert all(r[6] == 'lost' for r in rows), 'a gap row that is not a loss'
        got = [[int(r[0]) // spp, int(r[2]) // spp] for r in rows]
        assert got == runs_want, f'{paths[0]}: gaps {got[:5]}..., want {runs_want[:5]}...'
        assert all(int(r[5]) == int(r[2]) // spp for r in rows), 'lost_packets column'
        checked += 1
        print(f'{os.path.basename(paths[0])}: {frames} frames x {ch} ch exact, {len(rows)} gaps where the truth says', file=sys.stderr)
assert checked == 4, f'checked {checked} streams'
PY

if [ "$SOX" = 1 ]; then
  for f in "$OUT"/*.wav; do
    info=$(sox --i "$f" 2>&1) || fail "sox cannot read $f: $info"
    echo "$info" | grep -q "Channels *: [128]" || fail "sox: $f: $info"
  done
  ch8=$(grep -l . "$OUT"/*239.69.2.1_5004*.wav)
  sox --i -c "$ch8" | grep -qx 8 || fail "sox does not read 8 channels in $ch8"
  sox --i -r "$ch8" | grep -qx 48000 || fail "sox does not read 48000 Hz in $ch8"
fi

# ---- the stream table knows the names and formats the SAP announcements gave ----
rc=0
python3 - "$TMPD/streams.json" "$TMPD" <<'PY' || rc=$?
import json, sys
j = json.load(open(sys.argv[1]))
streams = {s.get('ssrc'): s for s in j['streams'] if s.get('ssrc') is not None}
for name, session, enc, ch in [('a', 'Stage box', 'L24', 2), ('b', 'Mic rack', 'L16', 8)]:
    rep = json.load(open(f'{sys.argv[2]}/{name}.json'))
    drops = {}
    for line in open(f'{sys.argv[2]}/{name}.truth'):
        e = json.loads(line)
        if e['kind'] == 'drop': drops[e['ssrc']] = drops.get(e['ssrc'], 0) + 1
    for k, s in enumerate(rep['streams']):
        t = streams.get(f"0x{s['ssrc']:08x}")
        assert t, f"stream 0x{s['ssrc']:08x} not in the table"
        want_name = f'{session} {k + 1}' if len(rep['streams']) > 1 else session
        assert t.get('verdict') in ('narrow', 'wide', 'not_compliant', 'unknown'), f"verdict {t.get('verdict')}"
        assert t.get('lost') <= drops.get(s['ssrc'], 0), f"lost {t.get('lost')} > dropped {drops.get(s['ssrc'], 0)}"
        assert t.get('lost') >= drops.get(s['ssrc'], 0) - 1, f"lost {t.get('lost')} < dropped {drops.get(s['ssrc'], 0)} - 1"
        print(f"{want_name}: lost {t['lost']} (truth {drops.get(s['ssrc'], 0)}, one trailing drop is invisible), verdict {t['verdict']}", file=sys.stderr)
        assert t.get('session_name') == want_name, f"session_name {t.get('session_name')!r}, want {want_name!r}"
        assert t.get('encoding') == enc and t.get('channels') == ch, f"format {t.get('encoding')}/{t.get('channels')}"
        assert t.get('clock_source') == 'sdp', f"clock_source {t.get('clock_source')}"
PY
# The SAP deletion (gen's last word) must not erase what a finished stream was: names checked.
[ "$rc" = 0 ] || fail "streams JSON check failed"

# ---- the SVG: valid XML (xmllint), a panel per RTP stream, gap marks where loss was, drawn by a browser ----
if have xmllint; then
  xmllint --noout "$TMPD/streams.svg" || fail "--streams-svg is not well-formed XML"
else
  skip_part "xmllint not installed (libxml2-utils): SVG well-formedness not checked"
fi
python3 - "$TMPD/streams.svg" <<'PY' || fail "SVG content check failed"
import sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + 'svg', root.tag
panels = [g for g in root.iter(ns + 'g') if g.get('id', '').startswith('stream-')]
assert len(panels) == 5, f'{len(panels)} stream panels, want 5 (4 extracted + 1 undescribed)'
gaps = sum(1 for l in root.iter(ns + 'line') if l.get('class') == 'gap')
assert gaps >= 3, f'{gaps} gap marks: the three lossy streams must show where loss fell'
bars = sum(1 for r in root.iter(ns + 'rect') if r.get('class') == 'bar')
assert bars >= 5, f'{bars} histogram bars'
assert not [e for e in root.iter() if e.tag.endswith('image') or e.tag.endswith('script')], 'not self-contained'
PY
CHROME=""
for c in chromium chromium-browser google-chrome; do have "$c" && CHROME=$c && break; done
if [ -n "$CHROME" ]; then
  timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=960,1300 \
    --screenshot="$TMPD/streams.png" "file://$TMPD/streams.svg" >/dev/null 2>"$TMPD/chrome.err" ||
    fail "headless $CHROME could not render the SVG: $(tail -3 "$TMPD/chrome.err")"
  [ "$(stat -c %s "$TMPD/streams.png" 2>/dev/null || echo 0)" -gt 20000 ] || fail "the rendered SVG is (nearly) empty"
  # Drawn, not blank: the screenshot has many colours (charts, bars, gap marks).
  python3 - "$TMPD/streams.png" <<'PY' || fail "the rendered SVG looks blank"
import sys, zlib, struct
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'\x89PNG\r\n\x1a\n'
off, idat, w, h = 8, b'', 0, 0
while off < len(b):
    n, t = struct.unpack('>I4s', b[off:off + 8]); d = b[off + 8:off + 8 + n]
    if t == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', d[:10])
    if t == b'IDAT': idat += d
    off += 12 + n
raw = zlib.decompress(idat)
assert len(set(raw[i:i + 3] for i in range(0, len(raw) - 3, 97))) > 20, 'too few colours'
PY
else
  skip_part "chromium not installed (apt-get install chromium): the SVG was not rendered in a browser"
fi

# ---- the live view: in place on a terminal (tmux), line by line when piped ----
if have tmux; then
  SESS="rtcap$$"
  # The capture's stderr is the pane (a terminal); its stdout (the final table) goes nowhere.
  tmux new-session -d -s "$SESS" -x 250 -y 60 "'$RTCAP' --netns '$RX' -i '$RX' --streams udp >/dev/null; sleep 30" ||
    fail "tmux could not start"
  "$RTCAP" gen --netns "$TX" --dst 198.18.0.2:5004 --secs 3.5 --ptime 1ms -q &
  GEN=$!
  sleep 2.6
  tmux capture-pane -p -t "$SESS" >"$TMPD/pane1.txt"
  sleep 1.2
  tmux capture-pane -p -t "$SESS" >"$TMPD/pane2.txt"
  wait "$GEN"
  tmux kill-session -t "$SESS" 2>/dev/null
  for f in pane1 pane2; do
    [ "$(grep -c 'Source  *Destination  *SSRC' "$TMPD/$f.txt")" -eq 1 ] ||
      fail "live view ($f): want one table in place, got: $(cat "$TMPD/$f.txt")"
    [ "$(grep -c '^rtcap: .*pkts' "$TMPD/$f.txt")" -le 1 ] || fail "live view ($f): status lines pile up: $(cat "$TMPD/$f.txt")"
  done
  cmp -s "$TMPD/pane1.txt" "$TMPD/pane2.txt" && fail "live view did not change in 1.2 s"
  grep -q "198.18.0.2:5004" "$TMPD/pane2.txt" || fail "live view shows no stream: $(cat "$TMPD/pane2.txt")"
else
  skip_part "tmux not installed: the in-place live view was not tested on a terminal"
fi
# Piped: no escape sequences, one status line a second, the table once at the end (on stdout).
"$RTCAP" --netns "$RX" -i "$RX" --streams udp >"$TMPD/piped.out" 2>"$TMPD/piped.err" &
P=$!
BG_PIDS="$BG_PIDS $P"
wait_listening "$TMPD/piped.err" "$P"
"$RTCAP" gen --netns "$TX" --dst 198.18.0.2:5004 --secs 2.5 -q
interrupt_and_reap "$P" 5
grep -q $'\x1b' "$TMPD/piped.err" && fail "escape sequences in piped stderr"
[ "$(grep -c '^rtcap: .*pkts' "$TMPD/piped.err")" -ge 2 ] || fail "piped: want a status line a second: $(cat "$TMPD/piped.err")"
[ "$(grep -c 'Source  *Destination' "$TMPD/piped.out")" -eq 1 ] || fail "piped: the table once at the end"

# ---- hostile input, from files written here (no lab needed) ----
python3 - "$TMPD" <<'PY' || fail "cannot write the hostile captures"
import struct, sys
d = sys.argv[1]
def frame(payload, dport, dst):
    udp = struct.pack("!HHHH", 5000, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([198, 18, 0, 1]), bytes(dst)) + udp
    return b"\x01\x00\x5e\x00\x00\x01\x02\x00\x00\x00\x00\x01\x08\x00" + ip
def rtp(pt, seq, ts, payload):
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, 0xAB000001) + payload
def pcap(path, recs):  # nanosecond pcap, Ethernet, snaplen 65535
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
        for t, b in recs:
            f.write(struct.pack("<IIII", t // 10**9, t % 10**9, len(b), len(b)) + b)
t0 = 1_700_000_000 * 10**9
sdp = ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Hostile\r\nc=IN IP4 239.69.1.1/32\r\nt=0 0\r\n"
       "m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L24/4294967295/64\r\n")
sap = bytes([0x20, 0]) + b"\x12\x34" + bytes([198, 18, 0, 1]) + b"application/sdp\0" + sdp.encode()
# D2: one SAP with an absurd rate, two packets 1 ms apart whose timestamps are 2^31 apart.
pcap(f"{d}/hostile-rate.pcap", [(t0, frame(sap, 9875, (239, 255, 255, 255))),
    (t0 + 10**6, frame(rtp(96, 1, 0, bytes(192)), 5004, (239, 69, 1, 1))),
    (t0 + 2 * 10**6, frame(rtp(96, 2, 0x7FFFFFF0, bytes(192)), 5004, (239, 69, 1, 1)))])
# D10: L16/48000/2 in 8,900-byte payloads (jumbo frames), 2,225 samples a packet, 46.35 ms apart.
pcap(f"{d}/jumbo.pcap", [(t0 + i * 46_354_167, frame(rtp(97, i, 2225 * i, bytes([i % 256]) * 8900), 5004, (198, 18, 0, 2)))
                         for i in range(40)])
# For the full disk and the links: 2 s of L24/48000/2 at 1 ms (576 kB of audio).
pcap(f"{d}/plain.pcap", [(t0 + i * 10**6, frame(rtp(97, i, 48 * i, bytes([i % 256]) * 288), 5004, (198, 18, 0, 2)))
                         for i in range(2000)])
PY
WAVCHECK='
import struct, sys, os
for p in sys.argv[1:]:
    b = open(p, "rb").read()
    assert b[:4] == b"RIFF" and struct.unpack("<I", b[4:8])[0] == len(b) - 8, f"{p}: RIFF size != file"
    h = 20 + struct.unpack("<I", b[16:20])[0] + 8
    assert struct.unpack("<I", b[h - 4:h])[0] == len(b) - h, f"{p}: data size != data in the file"
    print(f"{os.path.basename(p)}: header matches {len(b) - h} data bytes", file=sys.stderr)
'
# D2: no silence the arrival clock cannot hold; a small file, at once.
rc=0; timeout 20 "$RTCAP" -r "$TMPD/hostile-rate.pcap" --extract-audio "$TMPD/hostile" 2>"$TMPD/err" || rc=$?
[ "$rc" -eq 0 ] || fail "hostile rate: exit $rc: $(cat "$TMPD/err")"
# The catalogue refuses the SDP's rate (out of range): no WAV, and the stream says why. The
# silence bound itself is a unit test (AudioExtract.SilenceIsBoundedByElapsedTime).
size=$(du -cb "$TMPD"/hostile/ 2>/dev/null | tail -1 | cut -f1)
[ "${size:-0}" -lt 10000 ] || fail "hostile rate: $size bytes written for 2 packets: $(grep 'rtcap: audio' "$TMPD/err")"
grep -q "not extracted" "$TMPD/err" || fail "hostile rate: the stream does not say why it has no WAV: $(cat "$TMPD/err")"
# The budget: a small one stops the file and says what was not written.
rc=0; "$RTCAP" -r "$TMPD/plain.pcap" --audio-format 97=L24/48000/2 --extract-audio "$TMPD/budget" \
  --extract-audio-max-bytes 100000 2>"$TMPD/err" || rc=$?
[ "$rc" -eq 0 ] || fail "budget: exit $rc: $(cat "$TMPD/err")"
grep -q "bytes not written: the files reached --extract-audio-max-bytes" "$TMPD/err" || fail "budget not said: $(cat "$TMPD/err")"
python3 -c "$WAVCHECK" "$TMPD"/budget/*.wav || fail "budget: WAV header"
[ "$(stat -c %s "$TMPD"/budget/*.wav)" -le 100044 ] || fail "budget: the WAV is larger than the budget"
# D10: jumbo payloads are audio.
rc=0; "$RTCAP" -r "$TMPD/jumbo.pcap" --audio-format 97=L16/48000/2 --extract-audio "$TMPD/jumbo" 2>"$TMPD/err" || rc=$?
[ "$rc" -eq 0 ] || fail "jumbo: exit $rc: $(cat "$TMPD/err")"
grep -q "40 packets, 89000 samples, 0 gaps" "$TMPD/err" || fail "jumbo: $(grep 'rtcap: audio' "$TMPD/err")"
python3 -c "$WAVCHECK" "$TMPD"/jumbo/*.wav || fail "jumbo: WAV header"
# D9: a full disk (a 256 KiB tmpfs of our own) is exit 1 with its reason, and the WAV's header
# matches the data it holds.
mkdir -p "$TMPD/full"
mount -t tmpfs -o size=256k rtcap-test-full "$TMPD/full" || fail "cannot mount a tmpfs"
rc=0; "$RTCAP" -r "$TMPD/plain.pcap" --audio-format 97=L24/48000/2 --extract-audio "$TMPD/full/wav" 2>"$TMPD/err" || rc=$?
python3 -c "$WAVCHECK" "$TMPD"/full/wav/*.wav || { umount "$TMPD/full"; fail "full disk: WAV header"; }
umount "$TMPD/full"
[ "$rc" -eq 1 ] || fail "full disk: want exit 1, got $rc: $(cat "$TMPD/err")"
grep -q "No space left on device" "$TMPD/err" || fail "full disk: the reason is not said: $(cat "$TMPD/err")"
grep -q "Interrupted system call" "$TMPD/err" && fail "full disk: a wrong reason: $(cat "$TMPD/err")"
# D5: links a user planted are never followed by root. A world-writable directory without the
# sticky bit is refused; in a sticky one (as /tmp), the user's links are refused one by one.
echo precious >"$TMPD/victim"
chmod 644 "$TMPD/victim"
BASE="198.18.0.1_5000-198.18.0.2_5004-ab000001"
for mode in 0777 1777; do
  dir="$TMPD/shared$mode"
  mkdir -p "$dir" && chmod "$mode" "$dir" && chmod 755 "$TMPD"
  setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c \
    "ln -s '$TMPD/victim' '$dir/$BASE.wav' && ln -s '$TMPD/victim' '$dir/$BASE.gaps.csv'" ||
    fail "cannot plant links as nobody"
  rc=0; "$RTCAP" -r "$TMPD/plain.pcap" --audio-format 97=L24/48000/2 --extract-audio "$dir" 2>"$TMPD/err" || rc=$?
  [ "$rc" -ne 0 ] || fail "links in a $mode directory: exit 0: $(cat "$TMPD/err")"
  [ "$(cat "$TMPD/victim")" = precious ] || fail "links in a $mode directory: root wrote through a user's link"
  if [ $mode = 0777 ]; then
    grep -q "sticky bit" "$TMPD/err" || fail "a world-writable directory without sticky bit: $(cat "$TMPD/err")"
  else
    grep -q "symbolic link" "$TMPD/err" || fail "a planted link: $(cat "$TMPD/err")"
  fi
done

# D2 live: a hostile SDP (rate 4294967295, 64 channels) and packets that claim all the silence
# time allows must not cost a 30,000 packets/s canary a packet, and a stop is prompt.
"$RTCAP" --netns "$RX" -i "$RX" --extract-audio "$TMPD/canary" -w "$TMPD/canary.pcap" udp 2>"$TMPD/canary.err" &
CAP=$!
BG_PIDS="$BG_PIDS $CAP"
wait_listening "$TMPD/canary.err" "$CAP"
ip netns exec "$TX" python3 - <<'PY' &
import socket, struct, time
sdp = ("v=0\r\no=- 9 9 IN IP4 198.18.0.1\r\ns=Hostile\r\nc=IN IP4 239.69.9.1/32\r\nt=0 0\r\n"
       "m=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L24/4294967295/64\r\n")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("198.18.0.1"))
s.sendto(bytes([0x20, 0, 0x9a, 0xbc, 198, 18, 0, 1]) + b"application/sdp\0" + sdp.encode(), ("239.255.255.255", 9875))
ts = 0
for seq in range(150):  # 1.5 s: each packet claims 10 ms of silence at 4.29 GHz x 64 channels
    s.sendto(struct.pack("!BBHII", 0x80, 96, seq, ts, 0x0BAD0001) + bytes(192), ("239.69.9.1", 5004))
    ts = (ts + 42_949_673) & 0xFFFFFFFF
    time.sleep(0.01)
PY
HOSTILE=$!
"$RTCAP" gen --netns "$TX" --dst 198.18.0.2:7000 --rate 30000 --count 45000 -q || fail "gen (canary) exit $?"
wait "$HOSTILE"
sleep 0.3
t0=$(date +%s%N)
kill -TERM "$CAP"
rc=0; wait "$CAP" || rc=$?
BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $CAP\b//")
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" -eq 0 ] || fail "canary capture exit $rc: $(tail -5 "$TMPD/canary.err")"
[ "$stop_ms" -lt 2000 ] || fail "canary capture took $stop_ms ms to stop"
got=$(tcpdump -nn -r "$TMPD/canary.pcap" udp dst port 7000 2>/dev/null | wc -l)
grep "rtcap: audio\|dropped by" "$TMPD/canary.err" >&2
log "canary: $got of 45000 packets in the -w file beside the hostile stream; stopped in $stop_ms ms; $(du -cb "$TMPD"/canary/*.wav | tail -1 | cut -f1) WAV bytes (load: $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$got" -eq 45000 ] || fail "canary: $got of 45000 packets captured beside the hostile stream"

# ---- refusals ----
rc=0; "$RTCAP" -r /dev/null --extract-audio /proc/nonexistent/x 2>"$TMPD/err" || rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <"$TMPD/err")" -eq 1 ] || fail "unwritable --extract-audio: rc $rc: $(cat "$TMPD/err")"
rc=0; "$RTCAP" -r /dev/null --audio-format 97=MP3/48000/2 --extract-audio "$TMPD/x" 2>"$TMPD/err" || rc=$?
[ "$rc" -eq 2 ] || fail "bad --audio-format: want exit 2, got $rc: $(cat "$TMPD/err")"
rc=0; "$RTCAP" -r /dev/null --extract-audio-max-bytes 1000 2>"$TMPD/err" || rc=$?
[ "$rc" -eq 2 ] || fail "--extract-audio-max-bytes without --extract-audio: want exit 2, got $rc: $(cat "$TMPD/err")"

"$RTCAP" lab down --name "$LAB" >/dev/null || fail "lab down failed"
assert_lab_gone
log "PASS${SKIPPED_PARTS:+ (skipped parts: $SKIPPED_PARTS)}"
exit 0
