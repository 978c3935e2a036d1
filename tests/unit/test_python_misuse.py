"""rtcap.py: the engine's refusals arrive as exceptions (BusyError, MisuseError) and capture
goes on; bad arguments name their keyword; a closed object raises MisuseError. Runs on the
sample file: no privileges. Usage: RTCAP_LIBRARY=... test_python_misuse.py SOURCE_DIR"""
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
    # close() from here is refused too: the handler may run again after it; nothing is closed.
    rival.append(expect_raises(rtcap.BusyError, cap.close))
    cap.stats()
    release.set()
    t.join()
    assert "another thread" in str(rival[0]), str(rival[0])
    assert "another thread is inside a call" in str(rival[1]), str(rival[1])
    assert got[0] == PACKETS, got[0]

# What fails while a handler's BatchView is made is raised by poll(), as the handler's own
# exception is, and stops the capture (not printed by ctypes with the poll going on).
with rtcap.Capture(read_file=SAMPLE, batch_packets=100) as cap:
    def broken_link_types():
        raise OSError("link types unreadable")

    cap._link_types = broken_link_types  # type: ignore[method-assign]
    handled = [0]
    e = None
    try:
        cap.poll(10.0, lambda view: handled.__setitem__(0, handled[0] + 1))
    except OSError as raised:
        e = raised
    assert e is not None and "link types unreadable" in str(e), e
    assert handled[0] == 0, handled[0]
    assert cap.stop_reason in ("callback", "end_of_file"), cap.stop_reason

# Bad arguments: ConfigError (a ValueError) or TypeError, naming the Python keyword; the
# library's refusals (dst, sdp, subscription numbers, the silence threshold) as ConfigError too.
def expect_named(cls, keyword, f):
    try:
        f()
    except cls as e:
        assert str(e).startswith(keyword + "="), (keyword, str(e))
        return e
    raise AssertionError("%s naming %s= not raised" % (cls.__name__, keyword))


with rtcap.Audio() as audio:
    expect_named(rtcap.ConfigError, "dst", lambda: audio.subscribe(dst="nope"))
    expect_named(rtcap.ConfigError, "src", lambda: audio.subscribe(src="198.18.0.300"))
    expect_named(rtcap.ConfigError, "sdp", lambda: audio.subscribe(sdp="garbage"))
    expect_named(TypeError, "dst", lambda: audio.subscribe(dst=5))
    expect_named(TypeError, "ssrc", lambda: audio.subscribe(ssrc="abc"))
    expect_named(TypeError, "on_audio", lambda: audio.subscribe(5))
    expect_named(TypeError, "on_event", lambda: audio.subscribe(on_event="x"))
    expect_named(TypeError, "max_streams", lambda: audio.subscribe(max_streams=1.5))
    for bad in (float("nan"), float("inf"), 20):
        expect_named(rtcap.ConfigError, "silence_threshold_dbfs",
                     lambda: audio.subscribe(silence_threshold_dbfs=bad))
    expect_named(TypeError, "silence_threshold_dbfs",
                 lambda: audio.subscribe(silence_threshold_dbfs="loud"))
    expect_named(rtcap.ConfigError, "subscription", lambda: audio.unsubscribe(999))
    expect_named(rtcap.ConfigError, "subscription", lambda: audio.stats(999))
    expect_named(rtcap.ConfigError, "subscription", lambda: audio.unsubscribe(2**32 + 1))
    expect_named(TypeError, "subscription", lambda: audio.stats("1"))
    expect_named(TypeError, "view", lambda: audio.add(None))
    expect_named(TypeError, "now_ns", lambda: audio.expire("now"))
    expect_named(rtcap.ConfigError, "now_ns", lambda: audio.expire(2**70))
    sub = audio.subscribe()
    assert audio.stats(sub)["streams"] == 0
    audio.unsubscribe(sub)
    expect_named(rtcap.ConfigError, "subscription", lambda: audio.unsubscribe(sub))
    expect_named(rtcap.ConfigError, "subscription", lambda: audio.stats(sub))

# A link type outside the library's range, refused by the library for Audio and Tracker alike.
with rtcap.Capture(read_file=SAMPLE, batch_packets=100) as cap, rtcap.Tracker() as tracker:
    audio = rtcap.Audio()
    refused = []

    def feed(view):
        if not refused:
            refused.append(expect_named(rtcap.ConfigError, "linktype",
                                        lambda: audio.add(view, -5)))
            refused.append(expect_named(rtcap.ConfigError, "linktype",
                                        lambda: tracker.add(view, 70000)))
    cap.poll(0.5, feed)
    audio.close()
    assert len(refused) == 2

expect_named(TypeError, "audio_formats", lambda: rtcap.Tracker(audio_formats="97=L24/48000/2"))
for bad in (0, 65537, 10**6, 10**8):
    expect_named(rtcap.ConfigError, "max_streams", lambda: rtcap.Tracker(max_streams=bad))

# close() from inside the handler, as C++ destroying its Engine there: allowed and safe, never
# raised through the handler (that stopped the capture as a failed callback); the handler is not
# called again, poll returns, and the closed Capture raises MisuseError from then on.
for delivery in ("inline", "threaded"):
    cap = rtcap.Capture(read_file=SAMPLE, delivery=delivery, batch_packets=100)
    calls = [0]

    def closing(view):
        calls[0] += 1
        cap.close()

    assert cap.poll(10.0, closing) == 100  # returns at the first batch; 10 s for a loaded CI
    assert calls[0] == 1, calls[0]
    e = expect_raises(rtcap.MisuseError, lambda: cap.poll(0.01, closing))
    assert "the Capture is closed" in str(e), str(e)
    assert calls[0] == 1, calls[0]

# After close(): MisuseError from every object alike.
cap = rtcap.Capture(read_file=SAMPLE)
cap.close()
audio = rtcap.Audio()
audio.close()
tracker = rtcap.Tracker()
tracker.close()
for name, call in [("Capture", lambda: cap.stats()), ("Capture", lambda: cap.poll(0.01)),
                   ("Audio", lambda: audio.subscribe()), ("Audio", lambda: audio.finish()),
                   ("Tracker", lambda: tracker.snapshot())]:
    e = expect_raises(rtcap.MisuseError, call)
    assert "the %s is closed" % name in str(e), str(e)
cap.close()
audio.close()
tracker.close()  # closing twice is harmless
# A threaded Capture has nothing to wait on: said in Python's words (it named rtcap_engine_poll).
with rtcap.Capture(read_file=SAMPLE, delivery="threaded") as cap:
    for call in (cap.fileno, cap.readiness):
        e = expect_raises(rtcap.MisuseError, call)
        assert "use poll()" in str(e) and "rtcap_" not in str(e), str(e)
print("python misuse: ok")
