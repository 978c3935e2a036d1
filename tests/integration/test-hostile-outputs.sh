# The capture command's outputs under attack and failure, reading capture files (no network):
#   1. a rotation (-C) whose next file cannot be opened (-Z nobody, the next name root's): exit 1,
#      one line, the summary, and every packet before it in the first file;
#   2. SIGTERM during start-up (rtcap blocked opening a -r FIFO): exit 0, the summary, a valid file;
#   3. every failing output (-w, --stats-json, --streams-json, --streams-svg, --advice-json) on
#      /dev/full and on a full tmpfs of the test's own: exit 1 naming the output and the cause
#      (-w: 3, its header fails before capture starts; test-faults.sh fills the disk mid-capture);
#   4. as root, a symlink that user nobody planted in a world-writable sticky directory, for -w,
#      the next -C file and the JSON/SVG outputs: refused in one line, the root-owned target
#      untouched; a link of root's own (/dev/stderr) still works;
#   5. a session name with invalid UTF-8 and 8-bit CSI: the SVG is well-formed XML (xmllint), the
#      table and the JSON carry no C1 control, the JSON is valid UTF-8;
#   6. the live --streams table on an 80-column terminal (tmux) shows Packets, Lost, Jitter and
#      the verdict; --wide shows every column;
#   7. a stream whose sequence never validates (every other packet missing): lost null in
#      --streams-json, and the estimate equals tshark's count.
. "$(dirname "$0")/lib.sh" "$@"
require_root
getent passwd nobody >/dev/null || skip "no user 'nobody'"
have python3 || skip "python3 not installed"
chmod 755 "$TMPD"
DATA="$(cd "$(dirname "$0")/../data" && pwd)/rtp-12streams-125us.pcap"
[ -r "$DATA" ] || fail "missing $DATA"

# write_pcap FILE PACKETS [every_other]: one RTP stream 198.18.0.1:5004 > 239.69.1.1:5004 PT 97,
# 100-byte payloads, 1 ms apart; every_other: only the even sequence numbers.
write_pcap() {
  python3 - "$@" <<'EOF'
import struct, sys
path, count = sys.argv[1], int(sys.argv[2])
step = 2 if len(sys.argv) > 3 else 1
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for n in range(0, count * step, step):
        rtp = struct.pack("!BBHII", 0x80, 97, n & 0xffff, n * 48, 0x1234) + bytes(100)
        udp = struct.pack("!HHHH", 5004, 5004, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 16, 17, 0,
                         bytes([198, 18, 0, 1]), bytes([239, 69, 1, 1])) + udp
        eth = bytes.fromhex("01005e450101" "020000000001" "0800") + ip
        t = 1700000000_000000 + n * 1000
        f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(eth), len(eth)) + eth)
EOF
}

# expect_refusal NAME RC ERRFILE PATTERN: exit code RC and one line matching PATTERN.
expect_line() {
  local name=$1 want_rc=$2 rc=$3 err=$4 pattern=$5
  [ "$rc" -eq "$want_rc" ] || fail "$name: exit $rc, want $want_rc: $(cat "$err")"
  [ "$(grep -c "^rtcap: .*$pattern" "$err")" -eq 1 ] || fail "$name: no one line '$pattern': $(cat "$err")"
}

# --- 1. rotation that cannot open its next file ---------------------------------------------
BIG="$TMPD/big.pcap"
write_pcap "$BIG" 12000  # 1.75 MB: -C 1 needs a second file
ROT="$TMPD/rot"
mkdir "$ROT"
chown nobody "$ROT"
touch "$ROT/out.pcap1"   # root's, 0644: user nobody cannot open it
chmod 644 "$ROT/out.pcap1"
rc=0
"$RTCAP" -r "$BIG" -Z nobody -w "$ROT/out.pcap" -C 1 2>"$TMPD/rot.err" || rc=$?
expect_line "rotation" 1 "$rc" "$TMPD/rot.err" "cannot open the next file.*out.pcap1"
grep -q "packets read" "$TMPD/rot.err" || fail "rotation: no summary: $(cat "$TMPD/rot.err")"
written=$(sed -n 's/^\([0-9]*\) packets written before the output stopped.*/\1/p' "$TMPD/rot.err")
[ -n "$written" ] || fail "rotation: no count of packets written: $(cat "$TMPD/rot.err")"
in_file=$(count_packets "$ROT/out.pcap")
[ "$in_file" -eq "$written" ] && [ "$in_file" -gt 0 ] ||
  fail "rotation: first file has $in_file packets, rtcap says $written written"
log "1. rotation: exit 1, one line, summary; first file $in_file packets, all readable"
# -G: the directory removed between two files (the packets come through a FIFO, 1.5 s apart).
ROTG="$TMPD/rotg"
mkdir "$ROTG"
FIFOG="$TMPD/rotg.fifo"
mkfifo "$FIFOG"
"$RTCAP" -r "$FIFOG" -G 1 -w "$ROTG/%s.pcap" 2>"$TMPD/rotg.err" &
pid=$!
python3 - "$FIFOG" "$ROTG" <<'EOF2'
import shutil, struct, sys, time
def packet(n):
    rtp = struct.pack("!BBHII", 0x80, 97, n, n * 48, 0x1234) + bytes(100)
    udp = struct.pack("!HHHH", 5004, 5004, 8 + len(rtp), 0) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 16, 17, 0,
                     bytes([198, 18, 0, 1]), bytes([239, 69, 1, 1])) + udp
    eth = bytes.fromhex("01005e450101" "020000000001" "0800") + ip
    return struct.pack("<IIII", 1700000000, n, len(eth), len(eth)) + eth
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    f.write(b"".join(packet(n) for n in range(100)))
    f.flush()
    time.sleep(1.5)
    shutil.rmtree(sys.argv[2])
    f.write(b"".join(packet(n) for n in range(100, 200)))
EOF2
rc=0
wait "$pid" || rc=$?
expect_line "-G, directory removed" 1 "$rc" "$TMPD/rotg.err" "cannot open the next file.*no such directory"
grep -q "packets read" "$TMPD/rotg.err" || fail "-G, directory removed: no summary: $(cat "$TMPD/rotg.err")"
log "1b. -G with its directory removed: exit 1, one line, summary"

# --- 2. SIGTERM during start-up -----------------------------------------------------------------
FIFO="$TMPD/startup.fifo"
mkfifo "$FIFO"
"$RTCAP" -r "$FIFO" -w "$TMPD/startup.pcap" 2>"$TMPD/startup.err" &
pid=$!
sleep 0.5                 # rtcap is blocked opening the FIFO: start-up
kill -TERM "$pid"
sleep 0.2
# Bounded: a reader that died (no handler in place) would leave the open of the FIFO blocked.
# rtcap stops at once and may close the FIFO before it is all written (cat: EPIPE).
timeout 10 sh -c 'cat "$1" >"$2"' _ "$DATA" "$FIFO" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "SIGTERM during start-up: exit $rc, want 0: $(cat "$TMPD/startup.err")"
grep -q "packets read" "$TMPD/startup.err" || fail "start-up stop: no summary: $(cat "$TMPD/startup.err")"
tcpdump -r "$TMPD/startup.pcap" >/dev/null 2>&1 || fail "start-up stop: the -w file is not a valid pcap"
log "2. SIGTERM during start-up: exit 0, summary, valid file"

# --- 3. failing outputs: /dev/full and a full tmpfs ----------------------------------------------
for opt in -w --stats-json --streams-json --streams-svg --advice-json; do
  rc=0
  "$RTCAP" -r "$DATA" $([ "$opt" = -w ] || echo "-w $TMPD/x.pcap") "$opt" /dev/full >/dev/null 2>"$TMPD/full.err" || rc=$?
  # -w writes its header at open, before capture: "cannot open" (3); the others fail later (1).
  expect_line "$opt /dev/full" "$([ "$opt" = -w ] && echo 3 || echo 1)" "$rc" "$TMPD/full.err" "disk full writing /dev/full"
  [ "$opt" = -w ] || grep -q -- "another $opt path" "$TMPD/full.err" || fail "$opt: message names another option: $(cat "$TMPD/full.err")"
done
MNT="$TMPD/small"
mkdir "$MNT"
mount -t tmpfs -o size=256k tmpfs "$MNT" || fail "mount tmpfs"
trap 'rc=$?; umount "$MNT" 2>/dev/null; trap - EXIT; lab_cleanup; exit $rc' EXIT
dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null  # until the disk is full
for opt in -w --stats-json --streams-json --streams-svg; do
  rc=0
  "$RTCAP" -r "$DATA" $([ "$opt" = -w ] || echo "-w $TMPD/x.pcap") "$opt" "$MNT/out$opt" >/dev/null 2>"$TMPD/tmpfs.err" || rc=$?
  expect_line "$opt on a full tmpfs" "$([ "$opt" = -w ] && echo 3 || echo 1)" "$rc" "$TMPD/tmpfs.err" "disk full writing $MNT/out$opt"
done
umount "$MNT"
log "3. /dev/full and a full tmpfs: exit 1 with the output named, for every output"

# --- 4. planted symlinks -------------------------------------------------------------------------
DROP="$TMPD/drop"
mkdir "$DROP"
chmod 1777 "$DROP"
TARGET="$TMPD/precious"
echo precious >"$TARGET"
for name in out.pcap stats.json streams.json streams.svg rot.pcap1; do
  setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups ln -s "$TARGET" "$DROP/$name" ||
    fail "nobody cannot plant a link"
done
check_target() { [ "$(cat "$TARGET")" = precious ] || fail "$1: the link's target was written"; }
for args in "-w $DROP/out.pcap" "-w $TMPD/y.pcap --stats-json $DROP/stats.json" \
    "-w $TMPD/y.pcap --streams-json $DROP/streams.json" "-w $TMPD/y.pcap --streams-svg $DROP/streams.svg"; do
  rc=0
  # shellcheck disable=SC2086
  "$RTCAP" -r "$DATA" $args >/dev/null 2>"$TMPD/link.err" || rc=$?
  expect_line "link ($args)" 3 "$rc" "$TMPD/link.err" "will not write through the symbolic link"
  check_target "$args"
done
rc=0
"$RTCAP" -r "$BIG" -w "$DROP/rot.pcap" -C 1 2>"$TMPD/link.err" || rc=$?
expect_line "link (-C next file)" 1 "$rc" "$TMPD/link.err" "will not write through the symbolic link"
check_target "-C"
# A link of root's own, in a directory only root writes: followed.
"$RTCAP" -r "$DATA" -w "$TMPD/z.pcap" --stats-json /dev/stderr 2>"$TMPD/own.err" || fail "--stats-json /dev/stderr: $(cat "$TMPD/own.err")"
grep -q '"packets_captured"' "$TMPD/own.err" || fail "--stats-json /dev/stderr wrote nothing"
log "4. planted links refused (-w, -C, JSON, SVG), target untouched; /dev/stderr still works"

# --- 5. hostile session name: SVG, table, JSON -------------------------------------------------
printf 'v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Stage \xff\x9b2J\xc2\x9b31m\x1b]0;x\x07 \xed\xa0\x80 box\r\nc=IN IP4 239.69.1.1/32\r\nt=0 0\r\nm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\na=ptime:1\r\n' >"$TMPD/hostile.sdp"
SMALL="$TMPD/small.pcap"
write_pcap "$SMALL" 300
"$RTCAP" -r "$SMALL" --sdp "$TMPD/hostile.sdp" --streams-svg "$TMPD/s.svg" --streams-json "$TMPD/s.json" \
  >"$TMPD/table.txt" 2>"$TMPD/svg.err" || fail "hostile SDP: $(cat "$TMPD/svg.err")"
grep -q "Stage" "$TMPD/table.txt" || fail "the session is not in the table"
if have xmllint; then
  xmllint --noout "$TMPD/s.svg" 2>"$TMPD/xmllint.err" || fail "the SVG is not well-formed XML: $(head -3 "$TMPD/xmllint.err")"
else
  skip_part "xmllint not installed"
fi
python3 - "$TMPD/table.txt" "$TMPD/s.json" "$TMPD/s.svg" <<'EOF' || fail "wire text reached an output unsanitised"
import json, sys
for path in sys.argv[1:]:
    text = open(path, "rb").read().decode("utf-8")  # raises on invalid UTF-8
    bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
    assert not bad, f"{path}: control characters {bad!r}"
name = json.load(open(sys.argv[2]))["streams"][0]["session_name"]
# 0xff and the raw 0x9b: U+FFFD each; U+009B (C2 9B): removed; the surrogate: U+FFFD x3.
assert name.startswith("Stage \ufffd\ufffd2J31m") and name.endswith(" \ufffd\ufffd\ufffd box"), name
EOF
log "5. invalid UTF-8 and C1 controls: SVG well-formed, table and JSON clean"

# --- 6. the live table on an 80-column terminal --------------------------------------------------
if have tmux; then
  for wide in "" --wide; do
    FIFO6="$TMPD/live$wide.fifo"
    mkfifo "$FIFO6"
    sess="rtcap$$${wide#--}"
    tmux new-session -d -s "$sess" -x 80 -y 150 "$RTCAP -r $FIFO6 --streams $wide; sleep 30"
    { cat "$DATA"; sleep 3; } >"$FIFO6" &   # the FIFO stays open: status ticks, live table
    feeder=$!
    sleep 2.2
    tmux capture-pane -p -t "$sess" >"$TMPD/pane$wide.txt"
    wait "$feeder"
    tmux kill-session -t "$sess"
    header=$(grep -m1 "Destination" "$TMPD/pane$wide.txt") || fail "tmux$wide: no table: $(cat "$TMPD/pane$wide.txt")"
    if [ -z "$wide" ]; then  # one header line with the first columns
      for col in Packets Lost Jitter Verdict; do
        case $header in *"$col"*) ;; *) fail "80 columns: no $col in: $header" ;; esac
      done
    else                     # every column, the lines wrapped
      for col in Packets Lost Jitter Verdict SSRC LongInt DelayP99; do
        grep -q "$col" "$TMPD/pane$wide.txt" || fail "--wide: no $col: $(cat "$TMPD/pane$wide.txt")"
      done
    fi
  done
  log "6. live table at 80 columns: Packets, Lost, Jitter, Verdict shown; --wide shows all"
else
  skip_part "tmux not installed"
fi

# --- 7. a stream that never validates -----------------------------------------------------------
HALF="$TMPD/half.pcap"
write_pcap "$HALF" 10000 every_other
"$RTCAP" -r "$HALF" --streams-json "$TMPD/half.json" >/dev/null 2>&1 || fail "every-other stream"
est=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["streams"][0]; assert s["lost"] is None, s["lost"]; print(s["lost_estimate"])' "$TMPD/half.json") ||
  fail "never-validated stream: lost is not null"
if have tshark; then
  t_lost=$(tshark -r "$HALF" -o rtp.heuristic_rtp:TRUE -q -z rtp,streams 2>/dev/null |
    awk '/0x00001234/ { for (i = 1; i <= NF; i++) if ($i ~ /^0x00001234$/) { print $(i + 3); exit } }')
  [ "$t_lost" = "$est" ] || fail "never-validated stream: estimate $est, tshark lost $t_lost"
  log "7. never-validated stream: lost null, estimate $est = tshark's"
else
  skip_part "tshark not installed: estimate $est not compared"
fi

log "PASS"
