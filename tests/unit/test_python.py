"""python/rtcap.py against the library's table of settings and registry of counters, no root:
refused values raise ValueError naming the keyword (snaplen=), nothing is narrowed or cut at a NUL,
and stats()/interfaces() give every counter. Run by ctest (unit.python) with RTCAP_LIBRARY set."""
import os
import sys
import unittest

sys.path.insert(0, os.environ["RTCAP_PYTHON_DIR"])
import rtcap  # noqa: E402

SAMPLE = os.environ["RTCAP_SAMPLE"]
NOWHERE = "/nonexistent/rtcap-python-test.pcap"


class Settings(unittest.TestCase):
    def refused(self, keyword, **kwargs):
        kwargs.setdefault("read_file", NOWHERE)
        with self.assertRaises(ValueError) as e:
            rtcap.Capture(**kwargs)
        self.assertTrue(str(e.exception).startswith(keyword + "="), str(e.exception))
        return str(e.exception)

    def test_numbers_are_never_narrowed(self):
        # ctypes keeps the low 32 bits: 2**32 + 64 would have opened with snaplen 64.
        self.refused("snaplen", snaplen=2**32 + 64)
        self.refused("batch_bytes", batch_bytes=2**64 + 1)
        self.refused("max_packets", max_packets=-1)
        self.refused("snaplen", snaplen=1.5)

    def test_the_reported_disagreements(self):
        self.refused("pool_batches", pool_batches=1)
        self.refused("batch_bytes", batch_bytes=2**31)
        self.refused("stats_interval_ms", stats_interval_ms=5)
        self.refused("timeout_ms", timeout_ms=60001)

    def test_strings_with_nul_are_refused(self):
        self.refused("interfaces", interfaces=["eth0\0x"], read_file=None)
        self.refused("filter", filter="udp\0 or tcp")
        self.refused("read_file", read_file=SAMPLE + "\0x")

    def test_a_rule_between_settings_names_both(self):
        message = self.refused("read_file", interfaces=["eth0"])
        self.assertIn("interfaces=", message)

    def test_a_setting_that_does_nothing_here_is_one_warning_in_python_words(self):
        with rtcap.Capture(read_file=SAMPLE, coalesce_us=50) as cap:
            lines = [w for w in cap.warnings() if w.startswith("coalesce_us= does nothing here")]
            self.assertEqual(len(lines), 1, cap.warnings())
            self.assertIn("immediate_mode=", lines[0])
            for word in ("--", "${", "CaptureConfig::", "rtcap_config_set_"):
                self.assertNotIn(word, lines[0])

    def test_keywords_and_choices_come_from_the_library(self):
        self.assertEqual(list(rtcap.SETTINGS)[:3], ["interfaces", "read_file", "filter"])
        self.assertEqual(rtcap.SETTINGS["snaplen"].kind, rtcap.SETTING_NUMBER)
        self.assertEqual(rtcap.DELIVERY, {"inline": 0, "threaded": 1})
        self.assertEqual(rtcap.OVERFLOW, {"drop": 0, "block": 1})
        pool = rtcap.SETTINGS["pool_batches"]
        self.refused("pool_batches", pool_batches=pool.min - 1)
        self.refused("pool_batches", pool_batches=pool.max + 1)
        self.refused("overflow", overflow="sometimes")
        with self.assertRaises(TypeError):
            rtcap.Capture(read_file=SAMPLE, no_such_setting=1)

    def test_where_a_setting_applies_comes_from_the_library(self):
        self.assertEqual(rtcap.SETTINGS["snaplen"].applies, "")
        coalesce = rtcap.SETTINGS["coalesce_us"].applies
        self.assertTrue(coalesce.startswith("with immediate_mode= only"), coalesce)
        for name, row in rtcap.SETTINGS.items():
            for word in ("${", "CaptureConfig::", "rtcap_config_set_"):
                self.assertNotIn(word, row.applies, name)

    def test_values_that_make_no_sense_are_refused(self):
        self.refused("batch_bytes", batch_bytes=10)
        self.refused("pool_batches", pool_batches=65536, batch_bytes=2**30, delivery="threaded")

    def test_a_value_that_does_nothing_here_opens_with_a_warning(self):
        if sys.platform == "win32":
            self.skipTest("the user buffer applies on Npcap")
        with rtcap.Capture(read_file=SAMPLE, user_buffer_bytes=1000, reopen=False) as cap:
            said = [w for w in cap.warnings() if w.startswith("user_buffer_bytes= does nothing")]
            self.assertEqual(len(said), 1, cap.warnings())

    def test_accepted_values_open(self):
        with rtcap.Capture(read_file=SAMPLE, snaplen=0, pool_batches=2, reopen=False,
                           mintocopy_bytes=-1, user_buffer_bytes=0) as cap:
            self.assertEqual(cap.interfaces()[0]["snaplen"] > 0, True)


class Poll(unittest.TestCase):
    def test_a_wait_that_is_no_number_of_seconds_is_a_value_error(self):
        with rtcap.Capture(read_file=SAMPLE) as cap:
            for bad in (-1, float("inf"), float("nan")):
                with self.assertRaises(ValueError):
                    cap.poll(bad)
            self.assertGreaterEqual(cap.poll(0.1), 0)


class Counters(unittest.TestCase):
    def test_every_counter_reaches_python(self):
        self.assertIn("thread_handoffs", rtcap.COUNTERS)
        self.assertIn("reopens", rtcap.INTERFACE_COUNTERS)
        with rtcap.Capture(read_file=SAMPLE) as cap:
            while not cap.done:
                cap.poll(0.1, lambda view: False)
            stats = cap.stats()
            for name in rtcap.COUNTERS:
                self.assertIn(name, stats)
            self.assertEqual(stats["packets_captured"], 1200)
            for name in rtcap.INTERFACE_COUNTERS:
                self.assertIn(name, cap.interfaces()[0])


def _l24_pcap(path, packets=50, lost=(20, 21), raw_ip=False):
    """A pcap of one L24/48000/2 RTP stream to 239.69.9.1:5004, 6 frames a packet at 125 us,
    sample (f, c) of packet k = (k * 12 + f * 2 + c) << 8; the packets `lost` left out. raw_ip:
    LINKTYPE_RAW (no Ethernet header) instead of Ethernet."""
    import struct
    linktype = 101 if raw_ip else 1
    out = [struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, linktype)]  # nanosecond pcap
    for k in range(packets):
        if k in lost:
            continue
        payload = b"".join((k * 12 + i).to_bytes(3, "big", signed=True) for i in range(12))
        rtp = struct.pack(">BBHII", 0x80, 97, k, 6 * k, 0x1234) + payload
        udp = struct.pack(">HHHH", 5004, 5004, 8 + len(rtp), 0) + rtp
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([198, 18, 0, 1]), bytes([239, 69, 9, 1])) + udp
        frame = ip if raw_ip else bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip
        ts = 1_700_000_000 * 10**9 + k * 125_000
        out.append(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(frame), len(frame)) + frame)
    open(path, "wb").write(b"".join(out))


class Audio(unittest.TestCase):
    SDP = ("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\ns=Unit\r\nc=IN IP4 239.69.9.1/32\r\nt=0 0\r\n"
           "m=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L24/48000/2\r\n")

    def capture(self, **subscription):
        import tempfile
        blocks, events = [], []
        with tempfile.TemporaryDirectory() as d:
            path = d + "/l24.pcap"
            _l24_pcap(path)
            with rtcap.Capture(read_file=path) as cap, rtcap.Audio() as audio:
                sub = audio.subscribe(lambda b: blocks.append((b.first_frame, list(b.samples) if
                                                               isinstance(b.samples, memoryview)
                                                               else b.samples.copy())),
                                      events.append, sdp=self.SDP, **subscription)
                while not cap.done:
                    cap.poll(0.1, lambda view: audio.add(view, 1))
                audio.finish()
                return blocks, events, audio.stats(sub)

    def test_int32_frames_and_the_gap(self):
        blocks, events, stats = self.capture(format="int32", frames_per_delivery=0)
        kinds = [e.kind for e in events]
        self.assertEqual(kinds[0], "start")
        self.assertEqual(kinds[-1], "end")
        gaps = [e for e in events if e.kind == "gap"]
        self.assertEqual(len(gaps), 1)
        self.assertEqual((gaps[0].gap_first_seq, gaps[0].gap_packets, gaps[0].gap_frames),
                         (20, 2, 12))
        self.assertEqual(stats["lost_packets"], 2)
        first_packet = None
        for first, samples in blocks:
            try:
                import numpy
                self.assertEqual(samples.dtype, numpy.int32)
                flat = [int(v) for v in samples.reshape(-1)]
            except ImportError:
                flat = list(samples)
            if first_packet is None:
                first_packet = (flat[0] >> 8) // 12
            for i in range(len(flat) // 2):  # frame by frame: (k, f) of packet k, frame f
                k, f = first_packet + (first + i) // 6, (first + i) % 6
                want = [0, 0] if k in (20, 21) else [(k * 12 + f * 2 + c) << 8 for c in (0, 1)]
                self.assertEqual(flat[2 * i:2 * i + 2], want, (first, i, k))
        self.assertEqual(stats["frames"], (50 - first_packet) * 6)

    def kept_samples(self):
        """Every block's samples kept past its callback, and what they held during it."""
        import tempfile
        kept, seen = [], []

        def on_audio(b):
            kept.append(b.samples)
            seen.append(list(b.samples) if isinstance(b.samples, memoryview)
                        else b.samples.tolist())
        with tempfile.TemporaryDirectory() as d:
            path = d + "/l24.pcap"
            _l24_pcap(path, lost=())
            with rtcap.Capture(read_file=path) as cap, rtcap.Audio() as audio:
                audio.subscribe(on_audio, sdp=self.SDP, format="int32", frames_per_delivery=0)
                while not cap.done:
                    cap.poll(0.1, lambda view: audio.add(view, 1))
                audio.finish()
        self.assertGreater(len(kept), 10)
        return kept, seen

    def test_numpy_samples_are_the_blocks_own(self):
        if rtcap._np is None:
            self.skipTest("numpy not installed (Debian python3-numpy)")
        kept, seen = self.kept_samples()
        for k, s in zip(kept, seen):
            self.assertEqual(k.tolist(), s)

    def test_numpy_samples_are_written_once_into_memory_python_owns(self):
        if rtcap._np is None:
            self.skipTest("numpy not installed (Debian python3-numpy)")
        import numpy
        for layout in ("interleaved", "planar"):
            blocks, _, stats = self.capture(format="float32", layout=layout,
                                            frames_per_delivery=30)
            self.assertEqual(stats["own_buffer_deliveries"], 0, layout)
            axis = 1 if layout == "planar" else 0  # planar: channels x frames
            for _, samples in blocks:
                self.assertEqual(samples.shape[1 - axis], 2)
            # The same samples as int32 deliveries give, scaled (L24 fits a float exactly).
            ints, _, _ = self.capture(format="int32", layout=layout, frames_per_delivery=30)
            got = numpy.concatenate([s for _, s in blocks], axis=axis)
            want = numpy.concatenate([s for _, s in ints], axis=axis).astype(numpy.float64) / 2.0**31
            self.assertTrue(numpy.array_equal(got.astype(numpy.float64), want), layout)

    def test_a_block_kept_without_a_copy_stays_as_it_was(self):
        if rtcap._np is None:
            self.skipTest("numpy not installed (Debian python3-numpy)")
        kept, seen = self.kept_samples()
        for k, s in zip(kept, seen):
            self.assertFalse(k.flags.owndata)  # a view of the pool the library wrote into
            self.assertEqual(k.tolist(), s)

    def test_a_memoryview_is_released_after_the_callback(self):
        saved, rtcap._np = rtcap._np, None
        try:
            kept, _ = self.kept_samples()
        finally:
            rtcap._np = saved
        for k in kept:
            with self.assertRaises(ValueError):
                k[0]

    def feed(self, subscriptions, during=None, lost=()):
        """Subscribes each keyword dict (events and blocks logged per subscription), feeds the
        L24 pcap; during(audio, subs) runs before finish()."""
        import tempfile
        logs = [{"events": [], "blocks": []} for _ in subscriptions]
        with tempfile.TemporaryDirectory() as d:
            path = d + "/l24.pcap"
            _l24_pcap(path, lost=lost)
            with rtcap.Capture(read_file=path) as cap, rtcap.Audio() as audio:
                subs = [audio.subscribe(lambda b, log=log: log["blocks"].append(
                            (b.layout, b.samples.copy() if rtcap._np is not None
                             else list(b.samples))),
                                        lambda e, log=log: log["events"].append(e),
                                        sdp=self.SDP, **kw)
                        for log, kw in zip(logs, subscriptions)]
                while not cap.done:
                    cap.poll(0.1, lambda view: audio.add(view, 1))
                if during is not None:
                    during(audio, subs)
                audio.finish()
                return logs, [audio.stats(s) for s in subs]

    def test_a_batch_view_kept_past_its_callback_raises_value_error(self):
        # It was a SIGSEGV in audio.add and stale bytes when iterated.
        kept = []
        with rtcap.Capture(read_file=SAMPLE) as cap, rtcap.Audio() as audio, \
                rtcap.Tracker() as tracker:
            while not kept and not cap.done:
                cap.poll(0.1, kept.append)
            self.assertTrue(kept)
            view = kept[0]
            for use in (len, list, lambda v: v[0], lambda v: v.raw(0), audio.add, tracker.add):
                with self.assertRaises(ValueError):
                    use(view)

    def test_planar_samples_are_channels_by_frames(self):
        if rtcap._np is None:
            self.skipTest("numpy not installed (Debian python3-numpy)")
        logs, _ = self.feed([{"format": "int32", "layout": "planar", "frames_per_delivery": 0},
                            {"format": "int32", "frames_per_delivery": 0,
                             "dst": "239.69.9.2"}])
        layout, samples = logs[0]["blocks"][0]
        self.assertEqual(layout, "planar")
        self.assertEqual(samples.shape, (2, 6))  # channels x frames
        k = (int(samples[0][0]) >> 8) // 12
        self.assertEqual([int(v) >> 8 for v in samples[1]], [k * 12 + f * 2 + 1 for f in range(6)])

    def told_once(self, subscriptions, which, reason):
        """The one not_taken event of subscription `which`, saying `reason`, counted once."""
        logs, stats = self.feed(subscriptions)
        told = [e for e in logs[which]["events"] if e.kind == "not_taken"]
        self.assertEqual(len(told), 1)
        self.assertIn(reason, told[0].why)
        self.assertEqual(told[0].stream.id, 0)
        self.assertEqual(stats[which]["streams_not_taken"], 1)
        return told[0]

    def test_every_subscription_of_a_stream_gets_it(self):
        logs, stats = self.feed([{"format": "int32"}, {"format": "int32"}])
        self.assertEqual([s["streams"] for s in stats], [1, 1])
        flat = [[v for _, block in log["blocks"] for v in (block.reshape(-1).tolist() if
                                                          rtcap._np is not None else block)]
                for log in logs]
        self.assertTrue(flat[0])
        self.assertEqual(flat[0], flat[1])

    def test_a_stream_with_more_channels_than_max_channels_is_not_taken_once(self):
        self.assertEqual(self.told_once([{"max_channels": 1}], 0, "max_channels (1)").stream.channels,
                         2)

    def test_levels_on_demand(self):
        got = []
        self.feed([{}, {"dst": "239.69.9.2"}],
                 during=lambda audio, subs: got.extend([audio.levels(s) for s in subs]))
        self.assertEqual(len(got[0]), 1)
        stream, channels = got[0][0]
        self.assertEqual((stream.dst, stream.channels, len(channels)), ("239.69.9.1", 2, 2))
        # The texts are the library's records', read after the call returned.
        self.assertEqual((stream.source, stream.redundancy_group), ("sdp 'Unit' (application)", ""))
        self.assertIn("peak_dbfs", channels[0])
        self.assertEqual(got[1], [])
        with self.assertRaises(ValueError):
            rtcap.Audio().levels(5)

    def test_unsubscribe_in_a_callback_is_refused_in_the_librarys_words(self):
        import tempfile
        said = []
        with tempfile.TemporaryDirectory() as d:
            _l24_pcap(d + "/l24.pcap")
            with rtcap.Capture(read_file=d + "/l24.pcap") as cap, rtcap.Audio() as audio:
                def on_audio(_block):
                    if not said:
                        try:
                            audio.unsubscribe(1)
                        except rtcap.BusyError as e:
                            said.append(str(e))
                audio.subscribe(on_audio, sdp=self.SDP)
                while not cap.done:
                    cap.poll(0.1, lambda view: audio.add(view, 1))
                audio.finish()
        self.assertEqual(said, ["rtcap_audio_unsubscribe: called from inside one of the "
                                "receiver's callbacks; call it after the callback returns"])

    def test_a_setting_out_of_range_names_it(self):
        with self.assertRaises(ValueError) as e:
            with rtcap.Audio() as audio:
                audio.subscribe(max_channels=65)
        self.assertTrue(str(e.exception).startswith("max_channels="), str(e.exception))



class Tracker(unittest.TestCase):
    def test_the_sample_gives_the_stream_table_of_the_rtcap_command(self):
        # `rtcap -r rtp-12streams-125us.pcap --streams-json`: 12 RTP streams of 100 packets, none
        # lost, 1200 packets in all.
        with rtcap.Capture(read_file=SAMPLE) as cap, rtcap.Tracker() as tracker:
            linktype = cap.interfaces()[0]["linktype"]
            while not cap.done:
                cap.poll(0.1, lambda view: tracker.add(view, linktype))
            snap = tracker.snapshot()
            table = tracker.table(width=100)
        self.assertTrue({"ptp", "sessions", "st2022_7", "streams", "totals"} <= set(snap), set(snap))
        self.assertEqual((snap["totals"]["packets"], snap["totals"]["rtp"],
                          snap["totals"]["sequence_lost"]), (1200, 1200, 0))
        self.assertEqual(len(snap["streams"]), 12)
        for s in snap["streams"]:
            self.assertEqual((s["packets"], s["lost"], s["expected"], s["duplicates"]),
                             (100, 0, 100, 0), s)
        self.assertEqual(len({(s["dst_addr"], s["dst_port"], s["ssrc"]) for s in snap["streams"]}),
                         12)
        cli = os.environ.get("RTCAP_CLI")
        if cli:  # the same document as the command's, field for field
            import json
            import subprocess
            import tempfile
            with tempfile.TemporaryDirectory() as d:
                subprocess.run([cli, "-q", "-r", SAMPLE, "--streams-json", d + "/s.json"],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                with open(d + "/s.json") as f:
                    self.assertEqual(snap, json.load(f))
        rows = [line for line in table.splitlines() if "198.18.0.2:50" in line]
        self.assertEqual(len(rows), 12, table)
        self.assertTrue(all(len(row) <= 100 for row in rows), table)

    def test_each_packet_is_parsed_with_its_interfaces_link_type(self):
        # A raw-IP capture: add() without a link type takes the Capture's, per interface index.
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = d + "/raw.pcap"
            _l24_pcap(path, lost=(), raw_ip=True)
            for audio in (False, True):
                with rtcap.Capture(read_file=path) as cap, rtcap.Tracker(sdp=Audio.SDP) as tracker:
                    self.assertNotEqual(cap.interfaces()[0]["linktype"], 1)
                    if audio:
                        with rtcap.Audio(tracker) as a:
                            a.subscribe()
                            while not cap.done:
                                cap.poll(0.1, a.add)
                    else:
                        while not cap.done:
                            cap.poll(0.1, tracker.add)
                    streams = tracker.snapshot()["streams"]
                self.assertEqual([(s["packets"], s["lost"]) for s in streams], [(50, 0)], audio)

    def test_a_bad_format_names_the_keyword_and_closed_is_misuse(self):
        with self.assertRaises(rtcap.ConfigError) as e:
            rtcap.Tracker(audio_formats=["97=L99/48000/2"])
        self.assertEqual(e.exception.status, rtcap.ERR_BAD_CONFIG)
        tracker = rtcap.Tracker()
        tracker.close()
        with self.assertRaises(rtcap.MisuseError):
            tracker.snapshot()

    def test_an_audio_on_the_tracker_feeds_it(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = d + "/l24.pcap"
            _l24_pcap(path)
            with rtcap.Capture(read_file=path) as cap, rtcap.Tracker(sdp=Audio.SDP) as tracker:
                with rtcap.Audio(tracker) as audio:
                    audio.subscribe()
                    while not cap.done:
                        cap.poll(0.1, lambda view: audio.add(view, 1))
                    with self.assertRaises(rtcap.BusyError):
                        tracker.close()
                (s,) = tracker.snapshot()["streams"]
        self.assertEqual((s["lost"], s["session_name"], s["channels"]), (2, "Unit", 2))


if __name__ == "__main__":
    unittest.main()
