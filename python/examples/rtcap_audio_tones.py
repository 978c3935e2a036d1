#!/usr/bin/env python3
"""The dominant frequency of each channel of one announced audio stream, with numpy's FFT.

    python3 rtcap_audio_tones.py -i eth0 [--session "Stage box 1"] [--seconds 1]
    python3 rtcap_audio_tones.py -r capture.pcap [--sdp session.sdp] [--seconds 1]

The library's live audio API (rtcap.Audio) does the RTP work: it takes the first stream whose
format the catalogue knows (SAP announcements in the traffic, or --sdp FILE), by session name
when --session is given, reorders its packets, fills a lost one with silence of its length, and
hands numpy arrays of frames x channels (float32). After --seconds of audio the script prints
one line per channel: "channel=N frequency_hz=F level_dbfs=L", then "gaps=G". Needs numpy
(Debian: python3-numpy).
"""
import argparse
import sys
import time
from typing import List, Optional

import numpy as np

import rtcap


def dominant(samples: "np.ndarray", rate_hz: int) -> List[str]:
    lines = []
    window = np.hanning(samples.shape[0])
    for c in range(samples.shape[1]):
        x = samples[:, c].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(x * window))
        spectrum[0] = 0  # DC
        k = int(np.argmax(spectrum))
        # Parabolic interpolation between the bins around the peak.
        if 0 < k < len(spectrum) - 1:
            a, b, d = np.log(spectrum[k - 1:k + 2] + 1e-30)
            k_fine = k + 0.5 * (a - d) / (a - 2 * b + d)
        else:
            k_fine = float(k)
        rms = float(np.sqrt(np.mean(x * x)))
        level = 20 * np.log10(rms) if rms > 0 else float("-inf")
        lines.append("channel=%d frequency_hz=%.1f level_dbfs=%.1f" % (
            c + 1, k_fine * rate_hz / len(x), level))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("-i", dest="interface")
    src.add_argument("-r", dest="read_file")
    ap.add_argument("--session", help="the SDP session name (s=) of the stream")
    ap.add_argument("--sdp", help="an SDP file describing the stream")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=30.0, help="give up after this long")
    args = ap.parse_args()

    chunks: List[np.ndarray] = []
    frames = 0
    rate_hz = 0
    stream_id: Optional[int] = None
    gaps = 0

    def on_audio(block: rtcap.AudioBlock) -> None:
        nonlocal frames, rate_hz, stream_id
        if stream_id is None:
            stream_id, rate_hz = block.stream.id, block.stream.rate_hz
        if block.stream.id == stream_id:
            chunks.append(block.samples)  # with numpy, the block's own array: kept as is
            frames += block.frames

    def on_event(event: rtcap.AudioEvent) -> None:
        nonlocal gaps
        if event.kind == "gap" and event.stream.id == stream_id:
            gaps += 1

    sdp = open(args.sdp).read() if args.sdp else None
    with rtcap.Audio() as audio, rtcap.Capture(
            interfaces=[args.interface] if args.interface else [], read_file=args.read_file,
            filter="udp") as cap:
        linktype = cap.interfaces()[0]["linktype"]
        audio.subscribe(on_audio, on_event, session_name=args.session, sdp=sdp, max_channels=64,
                        max_streams=1)
        deadline = time.monotonic() + args.timeout
        while not cap.done and time.monotonic() < deadline:
            if rate_hz and frames >= args.seconds * rate_hz:
                break
            cap.poll(0.1, lambda view: audio.add(view, linktype))
        audio.finish()
    if not chunks:
        print("no announced audio stream seen", file=sys.stderr)
        return 1
    samples = np.concatenate(chunks)[: int(args.seconds * rate_hz)]
    for line in dominant(samples, rate_hz):
        print(line)
    print("gaps=%d" % gaps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
