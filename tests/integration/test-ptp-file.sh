# PTP that ptp4l will not send on demand, from a capture file this test writes byte by byte from
# IEEE 1588-2008 section 13: a grandmaster change, a two-step master over UDP with a slave asking
# for the path delay, a one-step master over Ethernet in another domain, and hostile messages.
# `rtcap -r FILE --streams-json` must report what the test wrote, and tshark (the independent reader) must
# count the same messages per domain and type. No root, no network: a file.
. "$(dirname "$0")/lib.sh" "$@"
have python3 || skip "python3 is needed to write the capture and read the JSON report"
have tshark || skip "tshark (the independent reader) not installed: apt-get install tshark"

PCAP="$TMPD/ptp.pcap"
python3 - "$PCAP" "$TMPD/truth.json" <<'PY' || fail "could not write the capture"
import json, struct, sys

S = 1_000_000_000
T0 = 1_767_225_600 * S  # 2026-01-01, capture clock (UTC)
OFFSET = 300_000        # capture clock ahead of PTP time (ns)
DELAY = 25_000          # master <-> capture point, each way (ns)
GM_A = bytes.fromhex("0011 22ff fe33 4455".replace(" ", ""))
GM_B = bytes.fromhex("39a7 94ff fe07 cbd0".replace(" ", ""))
GM_C = bytes.fromhex("00a0 69ff fe00 0127".replace(" ", ""))
SLAVE = bytes.fromhex("0200 00ff fe00 0099".replace(" ", ""))
records = []

def ts(ns):  # PTP timestamp of a UTC time in ns: TAI, 37 s ahead
    tai = ns + 37 * S
    return struct.pack(">HIL", tai // S >> 32, tai // S & 0xFFFFFFFF, tai % S)

def msg(mtype, domain, clock, seq, log, flags=0, body=b"", version=2, length=None):
    control = {0: 0, 1: 1, 8: 2, 9: 3}.get(mtype, 5)
    n = 34 + len(body) if length is None else length
    head = struct.pack(">BBHBBHq4s8sHHBb", mtype, version, n, domain, 0, flags, 0, b"", clock, 1,
                       seq, control, log)
    return head + body

def announce(domain, clock, gm, seq, log):
    body = ts(0) + struct.pack(">hBBBBHB8sHB", 37, 0, 128, 248, 0xFE, 0xFFFF, 128, gm, 0, 0xA0)
    return msg(11, domain, clock, seq, log, flags=0x000C, body=body)

def udp(t_ns, payload):
    port = 319 if (payload[0] & 0x0F) < 4 else 320
    u = struct.pack(">HHHH", port, port, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 0, 0, 1, 17, 0,
                     bytes([198, 18, 0, 1]), bytes([224, 0, 1, 129]))
    s = sum(struct.unpack(">10H", ip))
    s = (s & 0xFFFF) + (s >> 16)
    ip = ip[:10] + struct.pack(">H", ~s & 0xFFFF) + ip[12:]
    frame = bytes.fromhex("01005e000181") + bytes.fromhex("020000000001") + b"\x08\x00" + ip + u
    records.append((t_ns, frame))

def l2(t_ns, payload):
    frame = bytes.fromhex("011b19000000") + bytes.fromhex("020000000002") + b"\x88\xf7" + payload
    records.append((t_ns, frame.ljust(60, b"\0")))

# Domain 0: master A, two-step over UDP, Sync + Follow_Up every 125 ms for 10 s; its Announce
# every second names A for 5 s, then master B's names B (the grandmaster change at 5 s). A slave
# asks for the path delay once a second; A answers.
for i in range(80):
    t = T0 + i * S // 8
    udp(t, msg(0, 0, GM_A, i, -3, flags=0x0200, body=ts(0)))
    udp(t + 40_000, msg(8, 0, GM_A, i, -3, body=ts(t - OFFSET - DELAY)))
    if i % 8 == 4:
        c3 = t + 20_000_000
        udp(c3, msg(1, 0, SLAVE, i, 0x7F, body=ts(0)))
        req = SLAVE + struct.pack(">H", 1)
        udp(c3 + 300_000, msg(9, 0, GM_A, i, 0, body=ts(c3 - OFFSET + DELAY) + req))
for k in range(10):
    clock = GM_A if k < 5 else GM_B
    udp(T0 + k * S + 1_000_000, announce(0, clock, clock, k, 0))
# Domain 127: master C, one-step over Ethernet, Sync every 250 ms and Announce every 2 s.
for i in range(40):
    t = T0 + i * S // 4 + 7_000_000
    l2(t, msg(0, 127, GM_C, i, -2, body=ts(t - OFFSET - DELAY)))
    if i % 8 == 0:
        l2(t + 1_000_000, announce(127, GM_C, GM_C, i // 8, 1))
# Hostile, all in domain 5: cut short, version 1, messageLength past the data, a reserved type,
# a Follow_Up without its Sync.
h = T0 + 10 * S
udp(h, msg(11, 5, GM_A, 1, 0)[:20])
udp(h + 1, msg(0, 5, GM_A, 2, 0, body=ts(0), version=1))
udp(h + 2, msg(0, 5, GM_A, 3, 0, body=ts(0), length=200))
udp(h + 3, msg(5, 5, GM_A, 4, 0, body=ts(0)))
udp(h + 4, msg(8, 5, GM_A, 9999, 0, body=ts(h)))

records.sort(key=lambda r: r[0])
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))  # nanosecond pcap
    for t, frame in records:
        f.write(struct.pack("<IIII", t // S, t % S, len(frame), len(frame)) + frame)
truth = {"offset_ns": OFFSET, "delay_ns": DELAY, "a": "00-11-22-FF-FE-33-44-55",
         "b": "39-A7-94-FF-FE-07-CB-D0", "c": "00-A0-69-FF-FE-00-01-27",
         "types": {"0": {"Sync": 80, "Follow_Up": 80, "Delay_Req": 10, "Delay_Resp": 10,
                         "Announce": 10},
                   "127": {"Sync": 40, "Announce": 5}}}
json.dump(truth, open(sys.argv[2], "w"))
PY

"$RTCAP" -r "$PCAP" --streams-json "$TMPD/report.json" --streams-svg "$TMPD/report.svg" >"$TMPD/out" 2>"$TMPD/err" ||
  fail "rtcap -r --streams-json failed: $(tail -3 "$TMPD/err")"

# tshark's count per domain and message type (the hostile domain 5 left out: a dissector's
# reading of broken messages is its own).
tshark -r "$PCAP" -Y "ptp && !(ptp.v2.domainnumber == 5)" -T fields -e ptp.v2.domainnumber \
  -e ptp.v2.messagetype >"$TMPD/tshark.txt" 2>"$TMPD/tshark.err" ||
  fail "tshark could not read the capture: $(tail -3 "$TMPD/tshark.err")"

python3 - "$TMPD/report.json" "$TMPD/truth.json" "$TMPD/tshark.txt" <<'PY' || fail "the PTP report differs from what the test wrote or from tshark"
import collections, json, sys
j = json.load(open(sys.argv[1]))
truth = json.load(open(sys.argv[2]))
names = {0: "Sync", 1: "Delay_Req", 8: "Follow_Up", 9: "Delay_Resp", 11: "Announce"}
tshark = collections.Counter()
for line in open(sys.argv[3]):
    if not line.split():
        continue
    d, t = line.split()
    tshark[(d, names.get(int(t, 0), t))] += 1
ptp = j["ptp"]
domains = {str(d["domain"]): d for d in ptp["domains"]}
for d, want in truth["types"].items():
    got = domains[d]["messages_by_type"]
    assert got == want, (d, got, want)
    assert {t: tshark[(d, t)] for t in want} == want, (d, dict(tshark), want)
d0 = domains["0"]
assert d0["grandmaster"]["identity"] == truth["b"], d0["grandmaster"]
assert d0["grandmaster_changes"] == 1, d0
assert d0["changes"][0]["from"] == truth["a"] and d0["changes"][0]["to"] == truth["b"], d0["changes"]
a = [m for m in d0["masters"] if m["clock_identity"] == truth["a"]][0]
assert a["two_step"] and not a["one_step"] and a["follow_ups_matched"] == 80, a
assert a["sync_interval"]["log_interval"] == -3 and abs(a["sync_interval"]["mean_s"] - 0.125) < 1e-6, a
# The Follow_Up origin is the Sync's arrival less offset and delay; the pairs give the delay.
assert abs(a["capture_offset"]["mean_ns"] - (truth["offset_ns"] + truth["delay_ns"])) < 1, a["capture_offset"]
assert a["path_delay"]["samples"] == 10, a["path_delay"]
assert abs(a["path_delay"]["mean_ns"] - truth["delay_ns"]) < 1, a["path_delay"]
d127 = domains["127"]
c = d127["masters"][0]
assert d127["grandmaster"]["identity"] == truth["c"] and d127["grandmaster_changes"] == 0, d127
assert c["one_step"] and not c["two_step"] and c["over_ethernet"] and not c["over_udp"], c
assert abs(c["sync_interval"]["mean_s"] - 0.25) < 1e-6 and c["sync_interval"]["log_interval"] == -2, c
assert abs(c["capture_offset"]["mean_ns"] - (truth["offset_ns"] + truth["delay_ns"])) < 1, c
t = ptp["totals"]
assert (t["truncated"], t["bad_version"], t["unknown_type"], t["orphan_follow_ups"]) == (2, 1, 1, 1), t
print("domain 0: grandmaster change A -> B, path delay %.1f us over %d pairs; domain 127 one-step "
      "over Ethernet; hostile: %s" % (a["path_delay"]["mean_ns"] / 1e3, a["path_delay"]["samples"], t))
PY
grep -q "path delay master - capture point: 25.0 us" "$TMPD/out" "$TMPD/err" ||
  fail "the table does not show the path delay: $(grep -i 'path delay' "$TMPD/out" "$TMPD/err")"

# The SVG draws each domain's offset over the capture from the analyser's buckets: every bucket
# holds the offset the test wrote (offset + delay, the path delay inside), every Sync counted
# once (those before the first Announce, 37 s off before its UTC offset, are dropped with the
# estimate they started).
python3 - "$TMPD/report.svg" "$TMPD/truth.json" <<'PY' || fail "the SVG's PTP offset chart differs from what the test wrote"
import re, sys
svg = open(sys.argv[1]).read()
import json
truth = json.load(open(sys.argv[2]))
want = "%+.1f us" % ((truth["offset_ns"] + truth["delay_ns"]) / 1e3)
for domain, syncs in (("0", 79), ("127", 39)):
    m = re.search(r'<g id="ptp-offset-%s">(.*?)</g>' % domain, svg, re.S)
    assert m, f"no offset chart for domain {domain}"
    g = m.group(1)
    assert f"capture clock - PTP time {want}" in g, g[:300]
    bars = re.findall(r"<title>([0-9.]+)-([0-9.]+) s: (\S+ \S+) \.\. (\S+ \S+) \((\d+) samples\)</title>", g)
    assert 5 <= len(bars) <= 64, len(bars)
    assert all(lo == want and hi == want for _, _, lo, hi, _ in bars), bars
    assert sum(int(b[4]) for b in bars) == syncs, (domain, sum(int(b[4]) for b in bars), syncs)
print(f"SVG: offset {want} in every bucket of domains 0 and 127")
PY
log "PASS"
