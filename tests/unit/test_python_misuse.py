"""rtcap.py: the engine's refusals arrive as exceptions (BusyError, MisuseError) and capture
goes on. Runs on the sample file: no privileges. Usage: RTCAP_LIBRARY=... test_python_misuse.py
SOURCE_DIR"""
import os
import sys
import threading

source_dir = sys.argv[1]
sys.path.insert(0, os.path.join(source_dir, "python"))
import rtcap  # noqa: E402

SAMPLE = os.path.join(source_dir, "tests", "data", "rtp-12streams-125us.pcap")
PACKETS = 1200


def expect_raises(cls, f):
    try:
        f()
    except cls as e:
        assert isinstance(e, rtcap.Error)
        return e
    raise AssertionError("%s not raised" % cls.__name__)


# Inline: start is refused, a poll from inside the handler is refused; every packet still comes.
with rtcap.Capture(read_file=SAMPLE, batch_packets=100) as cap:
    e = expect_raises(rtcap.MisuseError, lambda: rtcap._check(rtcap._lib.rtcap_engine_start(cap._engine)))
    assert "inline delivery has no capture thread" in str(e), str(e)
    got, inner = [0], []

    def handler(view):
        got[0] += len(view)
        if not inner:
            inner.append(expect_raises(rtcap.BusyError, lambda: cap.poll(0.001)))

    while not cap.done:
        cap.poll(0.1, handler)
    assert "own batch callback" in str(inner[0]), str(inner[0])
    assert got[0] == PACKETS, got[0]
    assert cap.failure() is None
    assert cap.stop_reason == "end_of_file", cap.stop_reason

# Threaded: a second thread polling while one is inside is refused; the first goes on.
with rtcap.Capture(read_file=SAMPLE, delivery="threaded", batch_packets=100) as cap:
    expect_raises(rtcap.MisuseError, lambda: rtcap._check(rtcap._lib.rtcap_engine_start(cap._engine)))
    inside, release, rival = threading.Event(), threading.Event(), []
    got = [0]

    def slow(view):
        got[0] += len(view)
        if not inside.is_set():
            inside.set()
            release.wait(5)

    def consume():
        while not cap.done:
            cap.poll(0.1, slow)

    t = threading.Thread(target=consume)
    t.start()
    assert inside.wait(5)
    rival.append(expect_raises(rtcap.BusyError, lambda: cap.poll(0.001)))
    release.set()
    t.join()
    assert "another thread" in str(rival[0]), str(rival[0])
    assert got[0] == PACKETS, got[0]
print("python misuse: ok")
