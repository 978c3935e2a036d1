#!/usr/bin/env python3
"""The dominant frequency of each channel of one L16/L24 RTP stream you describe, with numpy's FFT.

    python3 rtcap_tones.py -i eth0 --format 239.69.1.1:5004=L24/48000/2
    python3 rtcap_tones.py -r capture.pcap --format 97=L16/44100/2 [--seconds 1] [filter]

For a stream nobody announces: --format SELECTOR=ENC/RATE/CH gives its format (the selector a
payload type, a destination, an SSRC, as the rtcap command's --audio-format). The library does
the RTP work: an rtcap.Tracker knows the format and keeps the stream table, an rtcap.Audio on
that tracker hands float32 frames (a lost packet: silence of its length). After --seconds of
audio (default 1) it prints the stream's line ("ssrc=... frames=... rate=... packets=...
lost=... jitter_ms=... verdict=...", the figures from the tracker's table), then one line per
channel: "channel=N frequency_hz=F level_dbfs=L". Needs numpy (Debian: python3-numpy).
"""
import argparse
import sys
from typing import List, Optional

import numpy as np

import rtcap


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("-i", dest="interfaces", action="append", help="interface (repeatable)")
    src.add_argument("-r", dest="read_file", help="pcap/pcapng file")
    ap.add_argument("--format", required=True,
                    help="SELECTOR=ENCODING/RATE/CHANNELS, e.g. 97=L24/48000/2")
    ap.add_argument("--seconds", type=float, default=1.0, help="audio to analyse")
    ap.add_argument("filter", nargs="*", help="capture filter, pcap-filter(7)")
    args = ap.parse_args()

    chunks: List[np.ndarray] = []
    frames = 0
    rate = 0
    stream: Optional[rtcap.AudioStream] = None

    def on_audio(block: rtcap.AudioBlock) -> None:
        nonlocal frames, rate, stream
        if stream is None:
            stream, rate = block.stream, block.stream.rate_hz
        if block.stream.id == stream.id:
            chunks.append(block.samples)  # with numpy, the block's own array: kept as is
            frames += block.frames

    try:
        tracker = rtcap.Tracker(audio_formats=[args.format])
    except rtcap.ConfigError as e:
        ap.error("--format: %s" % e)
    with tracker, rtcap.Capture(interfaces=args.interfaces or (), read_file=args.read_file,
                                filter=" ".join(args.filter)) as cap:
        linktype = cap.interfaces()[0]["linktype"]
        with rtcap.Audio(tracker) as receiver:
            receiver.subscribe(on_audio, max_streams=1, max_channels=64)
            while not cap.done and not (rate and frames >= args.seconds * rate):
                cap.poll(0.1, lambda view: receiver.add(view, linktype))
            receiver.finish()
        table = tracker.snapshot()["streams"]
    if stream is None or frames < 64:
        print("rtcap_tones: no audio stream that --format describes", file=sys.stderr)
        return 1
    audio = np.concatenate(chunks)[:int(args.seconds * rate)].astype(np.float64)
    for s in table:
        if (s["dst_addr"], s["dst_port"], s["ssrc"]) == (stream.dst, stream.dst_port,
                                                         "0x%08x" % stream.ssrc):
            print("ssrc=%s frames=%d rate=%d packets=%d lost=%d jitter_ms=%.3f verdict=%s"
                  % (s["ssrc"], len(audio), rate, s["packets"], s["lost"], s["jitter_ms"],
                     s["verdict"]))
    channels = audio.shape[1]
    window = np.hanning(len(audio))
    freqs = np.fft.rfftfreq(len(audio), 1.0 / rate)
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
