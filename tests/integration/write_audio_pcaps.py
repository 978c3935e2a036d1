#!/usr/bin/env python3
"""Writes the audio-truth capture files test-streams.sh reads with rtcap -r, and the truth.

usage: write_audio_pcaps.py DIR
  DIR/static.pcap   PCMU (PT 0), PCMA (8), G722 (9): 20 ms packets, 160 ticks of the 8 kHz RTP
                    clock, 0..4 ms arrival jitter, 7 lost, 3 duplicated and 2 swapped per stream,
                    PCMU's sequence wrapping past 65535. DIR/static-truth.json: lost, duplicates.
  DIR/outage.pcap   L24/48000/2 (PT 97) at 125 us: 1000 packets, 4000 missing with the RTP
                    timestamp advancing 4000 x 6 (a 0.5 s outage), 1000 more (issue 13 item 1).
  DIR/probation.pcap the same stream with every other packet lost: it never validates.
  DIR/sdp.pcap      a SAP announcement (239.255.255.255:9875) and the L24 stream it describes on
                    239.69.1.1:5004, 0.125 ms ptime, 36-byte payloads; plus DIR/session.sdp.
"""
import json, random, struct, sys

d = sys.argv[1]
rnd = random.Random(11)
SDP = ("v=0\r\no=- 1311738121 1311738121 IN IP4 198.18.0.1\r\ns=Stage box 1: ch 1-2\r\n"
       "c=IN IP4 239.69.1.1/32\r\nt=0 0\r\na=ts-refclk:ptp=IEEE1588-2008:00-1D-C1-FF-FE-12-34-56:0\r\n"
       "m=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\n"
       "a=source-filter: incl IN IP4 239.69.1.1 198.18.0.1\r\na=ptime:0.125\r\n"
       "a=mediaclk:direct=0\r\n")

def frame(payload, sport, dport, dst=(198, 18, 0, 2)):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([198, 18, 0, 1]), bytes(dst)) + udp
    return b"\x01\x00\x5e\x00\x00\x01\x02\x00\x00\x00\x00\x01\x08\x00" + ip

def rtp(pt, seq, ts, ssrc, payload):
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload

def write_pcap(path, records):  # records: (arrival_ns, frame); nanosecond pcap
    records.sort(key=lambda r: r[0])
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))
        for t, pkt in records:
            f.write(struct.pack("<IIII", t // 10**9, t % 10**9, len(pkt), len(pkt)) + pkt)

# static.pcap
records, truth = [], {}
for n, (pt, ssrc, seq0) in enumerate([(0, 0x1000000A, 65000), (8, 0x1000000B, 100), (9, 0x1000000C, 30000)]):
    t0 = 1_700_000_000 * 10**9 + n * 10**6
    lost = set(rnd.sample(range(10, 490), 7))
    sent = [[t0 + i * 20_000_000 + rnd.randrange(0, 4_000_000), i] for i in range(500) if i not in lost]
    for i in rnd.sample(range(20, len(sent) - 20), 3):
        sent.append([sent[i][0] + 100_000, sent[i][1]])
    sent.sort()
    for i in rnd.sample(range(20, len(sent) - 20), 2):
        sent[i][1], sent[i + 1][1] = sent[i + 1][1], sent[i][1]
    for t, i in sent:
        records.append((t, frame(rtp(pt, seq0 + i, 1234 + 160 * i, ssrc, bytes(160)), 40000 + 2 * n, 5004 + 2 * n)))
    truth[f"0x{ssrc:08x}"] = {"lost": len(lost), "duplicates": 3, "packets": len(sent)}
write_pcap(f"{d}/static.pcap", records)
json.dump(truth, open(f"{d}/static-truth.json", "w"))

# outage.pcap and probation.pcap: L24 stereo, 6 samples (36 bytes) per 125 us packet.
t0 = 1_700_000_100 * 10**9
out = [(t0 + i * 125_000, frame(rtp(97, i, 6 * i, 0x2000000D, bytes(36)), 5004, 5004))
       for i in list(range(1000)) + list(range(5000, 6000))]
write_pcap(f"{d}/outage.pcap", out)
prob = [(t0 + i * 125_000, frame(rtp(97, i, 6 * i, 0x2000000E, bytes(36)), 5004, 5004)) for i in range(0, 4000, 2)]
write_pcap(f"{d}/probation.pcap", prob)

# sdp.pcap: the SAP announcement first, then 4000 packets (0.5 s) of the stream it describes.
sap = bytes([0x20, 0]) + b"\x12\x34" + bytes([198, 18, 0, 1]) + b"application/sdp\0" + SDP.encode()
recs = [(t0, frame(sap, 9875, 9875, (239, 255, 255, 255)))]
recs += [(t0 + 1_000_000 + i * 125_000, frame(rtp(97, i, 6 * i, 0x2000000F, bytes(36)), 5004, 5004, (239, 69, 1, 1)))
         for i in range(4000)]
write_pcap(f"{d}/sdp.pcap", recs)
open(f"{d}/session.sdp", "w").write(SDP)
