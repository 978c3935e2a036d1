#!/usr/bin/env python3
"""The dominant frequency of each channel of one L16/L24 RTP stream, with numpy's FFT.

    python3 rtcap_tones.py -i eth0 --format L24/48000/2 udp dst port 5004 and dst host 239.69.1.1
    python3 rtcap_tones.py -r capture.pcap --format L16/44100/2 [--seconds 1] [filter]

Collects --seconds of audio (default 1) from the first RTP stream the filter lets through (its
first SSRC), then prints one line per channel: "channel=N frequency_hz=F level_dbfs=L". The
payloads are read straight from the capture's batch (memoryviews, no copy until numpy's). The
stream's packets are taken in arrival order: on a LAN that is RTP order; a lost packet shortens
the signal by its length, which moves no peak. Needs numpy (Debian: python3-numpy).
"""
import argparse
import sys
from typing import List, Optional

import numpy as np

import rtcap

ETHERNET, RAW, RAW_FILE, LINUX_SLL, LINUX_SLL2 = 1, 12, 101, 113, 276


def ip_offset(linktype: int, data: memoryview) -> Optional[int]:
    """Where the IP header starts, for the link types a capture of audio meets."""
    if linktype == ETHERNET:
        off, ethertype = 14, int.from_bytes(data[12:14], "big")
        while ethertype in (0x8100, 0x88A8, 0x9100) and len(data) >= off + 4:  # VLAN tags
            ethertype, off = int.from_bytes(data[off + 2:off + 4], "big"), off + 4
        return off if ethertype in (0x0800, 0x86DD) else None
    if linktype in (RAW, RAW_FILE):
        return 0
    if linktype == LINUX_SLL:
        return 16
    if linktype == LINUX_SLL2:
        return 20
    return None


def rtp_payload(linktype: int, data: memoryview):
    """(ssrc, payload) of an RTP packet over UDP over IPv4/IPv6, or None."""
    off = ip_offset(linktype, data)
    if off is None or len(data) < off + 1:
        return None
    version = data[off] >> 4
    if version == 4:
        if data[off + 9] != 17:
            return None
        off += (data[off] & 0x0F) * 4
    elif version == 6 and len(data) >= off + 40 and data[off + 6] == 17:
        off += 40
    else:
        return None
    off += 8  # UDP
    if len(data) < off + 12 or data[off] >> 6 != 2:
        return None
    first = data[off]
    start = off + 12 + 4 * (first & 0x0F)
    if first & 0x10:  # header extension
        if len(data) < start + 4:
            return None
        start += 4 + 4 * int.from_bytes(data[start + 2:start + 4], "big")
    end = len(data) - (data[-1] if first & 0x20 else 0)
    if start > end:
        return None
    return int.from_bytes(data[off + 8:off + 12], "big"), data[start:end]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("-i", dest="interfaces", action="append", help="interface (repeatable)")
    src.add_argument("-r", dest="read_file", help="pcap/pcapng file")
    ap.add_argument("--format", required=True, help="ENCODING/RATE/CHANNELS, e.g. L24/48000/2")
    ap.add_argument("--seconds", type=float, default=1.0, help="audio to analyse")
    ap.add_argument("filter", nargs="*", help="capture filter, pcap-filter(7)")
    args = ap.parse_args()
    encoding, rate_text, channels_text = (args.format.split("/") + ["1"])[:3]
    if encoding not in ("L16", "L24"):
        ap.error("--format: L16 or L24")
    width, rate, channels = int(encoding[1:]) // 8, int(rate_text), int(channels_text)
    frame_bytes = width * channels
    want = int(args.seconds * rate) * frame_bytes

    got_ssrc: List[int] = []  # the stream's, from its first packet
    chunks: List[bytes] = []
    total = [0]
    with rtcap.Capture(interfaces=args.interfaces or (), read_file=args.read_file,
                       filter=" ".join(args.filter)) as cap:
        linktype = cap.interfaces()[0]["linktype"]

        def on_batch(view: rtcap.BatchView) -> bool:
            for p in view:
                got = rtp_payload(linktype, memoryview(p.data))
                if got is None:
                    continue
                ssrc, payload = got
                if not got_ssrc:
                    got_ssrc.append(ssrc)
                if ssrc != got_ssrc[0] or len(payload) % frame_bytes:
                    continue
                chunks.append(bytes(payload))  # the one copy: out of the batch
                total[0] += len(payload)
                if total[0] >= want:
                    return True  # enough: stop
            return False

        while not cap.done:
            cap.poll(0.1, on_batch)
    if total[0] < frame_bytes * 64:
        print("rtcap_tones: no audio of that format (%d bytes)" % total[0], file=sys.stderr)
        return 1
    raw = np.frombuffer(b"".join(chunks)[:want], dtype=np.uint8)
    raw = raw[:len(raw) // frame_bytes * frame_bytes].reshape(-1, channels, width)
    # Big-endian samples, left-justified into int32, then scaled to [-1, 1).
    pcm = np.zeros(raw.shape[:2], dtype=np.int32)
    for b in range(width):
        pcm |= raw[:, :, b].astype(np.int32) << (24 - 8 * b)
    audio = pcm.astype(np.float64) / 2.0**31
    window = np.hanning(len(audio))
    freqs = np.fft.rfftfreq(len(audio), 1.0 / rate)
    print("ssrc=0x%08x frames=%d rate=%d" % (got_ssrc[0], len(audio), rate))
    for c in range(channels):
        spectrum = np.abs(np.fft.rfft(audio[:, c] * window))
        spectrum[0] = 0  # DC is not a tone
        k = int(np.argmax(spectrum))
        # Between bins: the peak of the parabola through the three bins around it.
        if 0 < k < len(spectrum) - 1:
            a, b_, g = np.log(spectrum[k - 1:k + 2] + 1e-300)
            k_frac = k + 0.5 * (a - g) / (a - 2 * b_ + g)
        else:
            k_frac = float(k)
        peak = np.max(np.abs(audio[:, c]))
        level = 20 * np.log10(peak) if peak > 0 else float("-inf")
        print("channel=%d frequency_hz=%.1f level_dbfs=%.1f"
              % (c, k_frac * rate / len(audio), level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
