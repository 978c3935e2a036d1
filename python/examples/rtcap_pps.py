#!/usr/bin/env python3
"""Per-second packet counts and drops, the way a test rig watches a capture.

    python3 rtcap_pps.py -i eth0 [--seconds 10] [udp portrange 5004-5100]
    python3 rtcap_pps.py -r capture.pcap

Prints one line per second: packets in that second, the three drop counters' increase (kernel:
the ring was full; interface: the NIC; app: no free batch, threaded only), and at the end the
totals. PYTHONPATH must hold the folder of rtcap.py (this file's parent folder, or where it is
installed); RTCAP_LIBRARY may name librtcap.so.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rtcap  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("-i", dest="interfaces", action="append", help="interface (repeatable)")
    src.add_argument("-r", dest="read_file", help="pcap/pcapng file")
    ap.add_argument("--seconds", type=float, default=None, help="stop after this long")
    ap.add_argument("-c", dest="count", type=int, default=None, help="stop after this many packets")
    ap.add_argument("--delivery", choices=["inline", "threaded"], default="inline")
    ap.add_argument("filter", nargs="*", help="capture filter, pcap-filter(7)")
    args = ap.parse_args()

    try:
        cap = rtcap.Capture(interfaces=args.interfaces or (), read_file=args.read_file,
                            filter=" ".join(args.filter), delivery=args.delivery,
                            max_packets=args.count)
    except rtcap.Error as e:
        print("rtcap_pps: %s" % e, file=sys.stderr)
        return 3
    with cap:
        for w in cap.warnings():
            print("warning: %s" % w, file=sys.stderr)
        print("listening on %s" % ", ".join(i["name"] for i in cap.interfaces()), file=sys.stderr)
        start = time.monotonic()
        deadline = None if args.seconds is None else start + args.seconds
        next_report = start + 1.0
        total = 0
        in_second = 0
        last = cap.stats()
        second = 0
        counter = {"n": 0}

        def on_batch(view):
            counter["n"] += len(view)

        while not cap.done:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                cap.stop()
                deadline = None
            cap.poll(0.1, on_batch)
            now = time.monotonic()
            if now >= next_report or cap.done:
                second += 1
                in_second, counter["n"] = counter["n"], 0
                total += in_second
                s = cap.stats()
                print("second=%d packets=%d kernel_dropped=%d interface_dropped=%d app_dropped=%d"
                      % (second, in_second, s["kernel_dropped"] - last["kernel_dropped"],
                         s["interface_dropped"] - last["interface_dropped"],
                         s["app_dropped_packets"] - last["app_dropped_packets"]), flush=True)
                last = s
                next_report += 1.0
        s = cap.stats()
        failure = cap.failure()
        print("total packets=%d captured=%d received=%d kernel_dropped=%d interface_dropped=%d "
              "app_dropped=%d latency_p99_ns=%d stop=%s"
              % (total, s["packets_captured"], s["received"], s["kernel_dropped"],
                 s["interface_dropped"], s["app_dropped_packets"], s["latency_p99_ns"],
                 cap.stop_reason), flush=True)
        if failure is not None:
            print("rtcap_pps: %s" % failure, file=sys.stderr)
            return 1
    return 0 if total == s["packets_captured"] else 1


if __name__ == "__main__":
    sys.exit(main())
