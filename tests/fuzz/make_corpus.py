#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (run from anywhere; the seeds are committed).

corpus/stream_tracker/: inputs in fuzz_stream_tracker's format (see that file): a link-type
  selector, a config byte, then records [u16 length][u16 time delta, us][bytes], hand-made frames
  of every link type and shape the parser knows (VLAN, QinQ, IPv6 with extension headers,
  fragments, Linux cooked v1/v2, BSD/OpenBSD loopback, raw IP, RTP with the send-time extension).
corpus/sap_sdp/: inputs of fuzz_sap_sdp: [mode byte][SAP datagram or SDP text], AES67-style
  announcements (IPv4 and IPv6 origins, authentication data, a deletion, two media sections).
corpus/catalogue/: operation lists of fuzz_catalogue: announce, stream, refresh, re-announce with
  another rate, delete, an hour passing, a flood, an absurd rate, a raw SAP datagram.
corpus/pcap_file/: small capture files: the first packets of tests/data/*.pcap as pcap (us and ns
  magic, both byte orders) and as pcapng (SHB, IDB, EPBs, ISB).
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def rtp(seq, ts, ssrc, pt=96, ext=True, payload=b"\x00" * 36):
    hdr = struct.pack("!BBHII", 0x90 if ext else 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    if ext:  # RFC 8285 one-byte header: id 1, 8 bytes of send time
        hdr += struct.pack("!HH", 0xBEDE, 3) + bytes([0x17]) + struct.pack("!Q", 1_700_000_000_000_000_000 + seq * 125_000) + b"\0\0\0"
    return hdr + payload

def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload

def ipv4(src, dst, l4, proto=17, frag=0, ihl_extra=b""):
    ihl = 5 + len(ihl_extra) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(ihl_extra) + len(l4), 1, frag, 64, proto, 0,
                    bytes(src), bytes(dst)) + ihl_extra
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + l4

def ipv6(src, dst, l4, nh=17, ext=b""):
    return struct.pack("!IHBB16s16s", 0x60000000, len(ext) + len(l4), nh if not ext else 0, 64,
                       bytes(src), bytes(dst)) + ext + l4

def eth(payload, ethertype=0x0800, tags=()):
    h = bytes.fromhex("629f3bc0e5c7e65b8a415538")
    for tpid, vid in tags:
        h += struct.pack("!HH", tpid, vid)
    return h + struct.pack("!H", ethertype) + payload

def sll(payload, proto=0x0800):
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", proto) + payload

def sll2(payload, proto=0x0800):
    return struct.pack("!HHIHBB8s", proto, 0, 2, 1, 0, 6, b"\x02" * 6 + b"\0\0") + payload

A4, B4 = [198, 18, 0, 1], [198, 18, 0, 2]
A6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
B6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2]

def rtp_v4(seq, ssrc=0x1234, dport=5004):
    return ipv4(A4, B4, udp(36964, dport, rtp(seq, seq * 6, ssrc)))

DLT = {"null": 0, "en10mb": 1, "raw": 2, "raw14": 3, "raw101": 4, "loop": 5, "sll": 6, "sll2": 7}

def tracker_input(dlt, frames, config=0x03):
    out = bytes([DLT[dlt], config])
    for f in frames:
        out += struct.pack("<HH", len(f), 125) + f
    return out

def write(dirname, name, data):
    d = os.path.join(HERE, "corpus", dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def tracker_seeds():
    seqs = [0, 1, 2, 4, 3, 3, 7, 40000, 40001, 65535, 0]
    write("stream_tracker", "eth-rtp-v4", tracker_input("en10mb", [eth(rtp_v4(s)) for s in seqs]))
    write("stream_tracker", "eth-vlan-qinq", tracker_input("en10mb", [
        eth(rtp_v4(1), tags=[(0x8100, 5)]), eth(rtp_v4(2), tags=[(0x88A8, 7), (0x8100, 5)]),
        eth(rtp_v4(3), tags=[(0x9100, 1)])]))
    ext = bytes([17, 0]) + b"\0" * 6  # hop-by-hop header, next header UDP
    write("stream_tracker", "eth-ipv6", tracker_input("en10mb", [
        eth(ipv6(A6, B6, udp(5004, 5006, rtp(i, i * 48, 0xABCD, ext=False))), 0x86DD) for i in range(4)] + [
        eth(ipv6(A6, B6, udp(5004, 5006, rtp(9, 9 * 48, 0xABCD)), ext=ext), 0x86DD)]))
    l4 = udp(1000, 5004, rtp(1, 6, 0x55))
    write("stream_tracker", "eth-fragments", tracker_input("en10mb", [
        eth(ipv4(A4, B4, l4[:24], frag=0x2000)), eth(ipv4(A4, B4, l4[24:], frag=3)),
        eth(ipv4(A4, B4, l4, ihl_extra=b"\x01\x01\x01\x00"))]))
    write("stream_tracker", "eth-malformed", tracker_input("en10mb", [
        eth(rtp_v4(1))[:30], eth(b"\x45" + b"\0" * 19), eth(b"\x60" + b"\0" * 10, 0x86DD),
        eth(ipv4(A4, B4, b"\x01\x02\x03", proto=6)), eth(b"", 0x0806)]))
    write("stream_tracker", "sll", tracker_input("sll", [sll(rtp_v4(s)) for s in range(5)]))
    write("stream_tracker", "sll2", tracker_input("sll2", [sll2(rtp_v4(s)) for s in range(5)]))
    write("stream_tracker", "null", tracker_input("null", [struct.pack("<I", 2) + rtp_v4(s) for s in range(3)] +
                                                  [struct.pack("<I", 30) + ipv6(A6, B6, udp(1, 2, b"x"))]))
    write("stream_tracker", "loop", tracker_input("loop", [struct.pack("!I", 2) + rtp_v4(s) for s in range(3)]))
    for key in ("raw", "raw14", "raw101"):
        write("stream_tracker", key, tracker_input(key, [rtp_v4(s) for s in range(3)] +
                                                   [ipv6(A6, B6, udp(7, 9, b"plain udp"))]))
    # Many streams with a small table: eviction.
    write("stream_tracker", "eviction", tracker_input("en10mb", [eth(rtp_v4(s, ssrc=s % 9, dport=5004 + 2 * (s % 5)))
                                                                 for s in range(30)], config=0x01))

def pcap_seeds():
    src = os.path.join(DATA, "rtp-12streams-125us.pcap")
    with open(src, "rb") as f:
        data = f.read()
    hdr, rest = data[:24], data[24:]
    records = []
    off = 0
    while off + 16 <= len(rest) and len(records) < 24:
        sec, usec, incl, orig = struct.unpack("<IIII", rest[off:off + 16])
        records.append((sec, usec, orig, rest[off + 16:off + 16 + incl]))
        off += 16 + incl
    def pcap(order, magic, nano):
        out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, 1)
        for sec, usec, orig, pkt in records:
            out += struct.pack(order + "IIII", sec, usec * 1000 if nano else usec, len(pkt), orig) + pkt
        return out
    write("pcap_file", "le-micro.pcap", pcap("<", 0xA1B2C3D4, False))
    write("pcap_file", "be-micro.pcap", pcap(">", 0xA1B2C3D4, False))
    write("pcap_file", "le-nano.pcap", pcap("<", 0xA1B23C4D, True))
    write("pcap_file", "truncated.pcap", pcap("<", 0xA1B2C3D4, False)[:24 + 16 + 50])
    write("pcap_file", "raw-ip.pcap", struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101) +
          b"".join(struct.pack("<IIII", 1, i, len(p), len(p)) + p for i, p in enumerate(rtp_v4(s) for s in range(4))))

    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    def opt(code, val):
        return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opt(4, b"rtcap-fuzz") + opt(0, b""))
    idb = block(1, struct.pack("<HHI", 1, 0, 262144) + opt(2, b"eth0") + opt(9, b"\x09") + opt(0, b""))
    epbs = b""
    for sec, usec, orig, pkt in records[:12]:
        t = sec * 1_000_000_000 + usec * 1000
        epbs += block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(pkt), orig) + pkt)
    isb = block(5, struct.pack("<III", 0, 0, 0) + opt(4, struct.pack("<Q", 12)) + opt(7, struct.pack("<Q", 0)) + opt(0, b""))
    write("pcap_file", "capture.pcapng", shb + idb + epbs + isb)

def sap_sdp_seeds():
    sdp = (b"v=0\r\no=- 1311738121 1311738121 IN IP4 198.18.0.1\r\ns=Stage box 1\r\n"
           b"c=IN IP4 239.69.1.1/32\r\nt=0 0\r\na=ts-refclk:ptp=IEEE1588-2008:00-1D-C1-FF-FE-12-34-56:0\r\n"
           b"m=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\n"
           b"a=source-filter: incl IN IP4 239.69.1.1 198.18.0.1\r\na=ptime:0.125\r\n"
           b"a=mediaclk:direct=963214424\r\n")
    two = (b"v=0\ns=Two\nc=IN IP6 ff0e::101\nm=audio 5004 RTP/AVP 96\na=rtpmap:96 L16/44100\n"
           b"a=ptime:1\nm=audio 5006 RTP/AVP 98\nc=IN IP4 239.1.2.3/16\na=rtpmap:98 AM824/48000/8\n")
    def sap(payload, flags=0, auth=b"", v6=False, ptype=True):
        head = bytes([0x20 | (0x10 if v6 else 0) | flags, len(auth) // 4]) + b"\x12\x34"
        head += (bytes(range(16)) if v6 else bytes([198, 18, 0, 1])) + auth
        return head + (b"application/sdp\0" if ptype else b"") + payload
    write("sap_sdp", "sdp-aes67", b"\x00" + sdp)
    write("sap_sdp", "sdp-two-media", b"\x00" + two)
    write("sap_sdp", "sap-v4", b"\x03" + sap(sdp))
    write("sap_sdp", "sap-v6-auth", b"\x03" + sap(sdp, auth=b"\xaa" * 8, v6=True))
    write("sap_sdp", "sap-no-type", b"\x01" + sap(two, ptype=False))
    write("sap_sdp", "sap-deletion", b"\x03" + sap(b"o=- 1 1 IN IP4 198.18.0.1\r\n", flags=0x04))
    write("sap_sdp", "sap-encrypted", b"\x03" + sap(b"\x99" * 40, flags=0x02))

def audio_extract_seeds():
    # Records of fuzz_audio_extract: [kind][i16 seq step][i32 ts step][i16 arrival step us][u16 bytes].
    def rec(kind, seq, ts, us, n):
        return struct.pack("<BhiHH", kind, seq, ts, us & 0xFFFF, n)
    clean = b"".join(rec(0, 1, 6, 125, 36) for _ in range(40))
    lossy = b"".join(rec(0, 1 + (i % 7 == 3), 6 * (1 + (i % 7 == 3)), 125, 36) for i in range(40))
    reorder = b"".join(rec(0, s, 6 * s, 125, 36) for s in [1, 2, -1, 2, 1, 40, -30, 1])
    jumbo = b"".join(rec(1, 1, 556, 1000, 8896) for _ in range(6))
    late_sap = b"".join(rec(3, 1, 6, 125, 24) for _ in range(10)) + rec(4 | 3 | 16, 0, 0, 1, 1) + \
        b"".join(rec(3, 1, 6, 125, 24) for _ in range(10))
    forged = rec(2, 1, 44, 1000, 88) * 4 + rec(2, 1, 441000, 1000, 88) + rec(2, 1, 0x7FFFFFF0, 1, 88)
    write("audio_extract", "clean", b"\x01" + clean)
    write("audio_extract", "lossy", b"\x01" + lossy)
    write("audio_extract", "reorder", b"\x01" + reorder)
    write("audio_extract", "jumbo", b"\x02" + jumbo)
    write("audio_extract", "late-sap", b"\x01" + late_sap)
    write("audio_extract", "forged-jumps", b"\x10" + forged)
def catalogue_seeds():
    # fuzz_catalogue: [op][a][b][c] records (see that file).
    def ops(*records):
        return b"".join(bytes(r) for r in records)
    rtp = [(3, 7, 0, 0x30 | 2)] * 6
    write("catalogue", "announce-stream-refresh-delete",
          ops((0, 7, 0, 0x80), *rtp, (1, 7, 0, 0x80), (7, 0, 0, 0), (2, 7, 0, 0), (7, 0, 0, 0)))
    write("catalogue", "reannounce-other-rate",
          ops((0, 7, 0, 0x80), *rtp, (0, 7, 0, 0x90), *rtp, (7, 0, 0, 0)))
    write("catalogue", "expiry", ops((0, 7, 0, 0x80), *rtp, (4, 0, 4, 6), *rtp))
    write("catalogue", "flood", ops((0, 7, 0, 0x80), *rtp, (6, 3, 1, 0x80), *rtp, (7, 0, 0, 0)))
    write("catalogue", "absurd-rate", ops((0, 9, 0x3C, 0x30), (3, 9, 0, 0x30)))
    write("catalogue", "raw-sap", ops((5, 0, 8, 0)) + b"\x20\x00\x12\x34\xc6\x12\x00\x01")
def ptp_seeds():
    # fuzz_ptp: [mode][messages joined by 0xFF 0xFF], IEEE 1588-2008 section 13 layouts.
    clock = bytes([0x02, 0, 0, 0xFF, 0xFE, 0, 0, 1])
    def msg(mtype, seq, log, body, flags=0, domain=0):
        head = struct.pack("!BBHBBHqI8sHHBb", mtype, 2, 34 + len(body), domain, 0, flags, 0, 0,
                           clock, 1, seq, 0, log)
        return head + body
    ts = lambda s, ns: struct.pack("!HII", s >> 32, s & 0xFFFFFFFF, ns)
    announce = lambda seq, gm=clock: msg(0xB, seq, 1, ts(0, 0) + struct.pack(
        "!hBBBBHB8sHB", 37, 0, 128, 248, 0xFE, 0xFFFF, 128, gm, 0, 0xA0), flags=0x0004)
    t0 = 1_767_225_637
    two_step = [announce(0)]
    for i in range(4):
        two_step += [msg(0, i, -3, ts(0, 0), flags=0x0200), msg(8, i, -3, ts(t0 + i, 5000))]
    one_step = [announce(0)] + [msg(0, i, -2, ts(t0 + i, 0)) for i in range(4)]
    change = [announce(0), announce(1, bytes(8)), announce(2)]
    join = lambda ms: b"\xff\xff".join(ms)
    write("ptp", "two-step-udp", bytes([0x08]) + join(two_step))
    write("ptp", "one-step-l2-vlan", bytes([0x0B]) + join(one_step))
    write("ptp", "gm-change", bytes([0x0C]) + join(change))
    write("ptp", "delay-resp", bytes([0x00]) + msg(9, 1, 0x7F, ts(t0, 0) + clock + b"\0\1"))

tracker_seeds()
pcap_seeds()
audio_extract_seeds()
sap_sdp_seeds()
catalogue_seeds()
ptp_seeds()
print("seeds written under", os.path.join(HERE, "corpus"), file=sys.stderr)
