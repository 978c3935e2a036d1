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
        message = self.refused("coalesce_us", coalesce_us=50)
        self.assertIn("immediate_mode=", message)

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

    def test_accepted_values_open(self):
        with rtcap.Capture(read_file=SAMPLE, snaplen=0, pool_batches=2, reopen=False,
                           mintocopy_bytes=-1, user_buffer_bytes=0) as cap:
            self.assertEqual(cap.interfaces()[0]["snaplen"] > 0, True)


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


if __name__ == "__main__":
    unittest.main()
