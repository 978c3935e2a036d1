"""rtcap from Python: a ctypes module over the C API (include/rtcap/rtcap.h), standard library only.

    import rtcap
    with rtcap.Capture(interfaces=["eth0"], filter="udp portrange 5004-5100") as cap:
        for batch in cap.batches(timeout=0.1, seconds=10):   # lists of rtcap.Packet, copied
            for p in batch:
                use(p.ts_ns, p.data)
        s = cap.stats()          # s["kernel_dropped"], s["app_dropped_packets"]: packets lost

A faster form calls a function with each batch while the batch is still the library's (a view,
valid during the call only); return True to stop:

    cap.poll(0.1, lambda view: count(len(view)))

The library is found from RTCAP_LIBRARY (a path), else the system's (librtcap.so.0, installed by
the librtcap0 package; rtcap.dll on Windows). Errors raise rtcap.Error with the library's status
code and its one-line message; a setting the library's table refuses (out of range, a string with
a NUL, settings that do not go together) raises rtcap.ConfigError, also a ValueError, naming the
keyword (snaplen=). Numbers are checked before ctypes could narrow them. A call out of turn raises
rtcap.BusyError (a poll while another runs, or from inside the handler) or rtcap.MisuseError, and
capture goes on. Each Capture is used from one thread; stop() from any thread. rtcap.COUNTERS
names what stats() gives (the library's registry of counters).
"""

import ctypes
import ctypes.util
import itertools
import operator
import os
import re
import sys

__all__ = ["BusyError", "Capture", "ConfigError", "Error", "MisuseError", "Packet",
           "library_version", "pcap_version"]

# ---- status codes (rtcap.h) -------------------------------------------------------------------
OK = 0
DONE = 1
ERR_BAD_CONFIG = -5
ERR_WRONG_STATE = -22
ERR_BUSY = -23
ERR_CALLBACK = -24
ERR_BUFFER_TOO_SMALL = -25

DELIVERY = {"inline": 0, "threaded": 1}
OVERFLOW = {"drop": 0, "block": 1}
PRECISION = {"micro": 0, "nano": 1}
STOP_REASONS = ["running", "requested", "count_reached", "end_of_file", "failed", "callback"]


class Error(Exception):
    """A call into librtcap failed: .status (negative rtcap_status), .name, str() the message."""

    def __init__(self, status, name, message):
        super().__init__(message)
        self.status = status
        self.name = name


class ConfigError(Error, ValueError):
    """A setting the library refuses (out of its range, or not with the others): str() names it
    as its keyword argument (snaplen=)."""


class BusyError(Error):
    """The engine refused a call because another runs (another thread, or its own handler);
    capture goes on."""


class MisuseError(Error):
    """The engine refused a call its delivery or state does not allow (start twice, ...);
    capture goes on."""


# The engine's typed refusals (rtcap::ErrorCode kBusy, kMisuse), as their own exceptions.
_ERRORS = {ERR_BUSY: BusyError, ERR_WRONG_STATE: MisuseError}


# ---- the structs that cross the ABI (rtcap.h; layouts pinned by tests/capi/header_cxx.cpp) ----
class _Packet(ctypes.Structure):
    _fields_ = [
        ("ts_ns", ctypes.c_int64),
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("caplen", ctypes.c_uint32),
        ("wire_len", ctypes.c_uint32),
        ("interface_index", ctypes.c_uint16),
        ("reserved16", ctypes.c_uint16),
        ("reserved32", ctypes.c_uint32),
    ]


class _Batch(ctypes.Structure):
    _fields_ = [
        ("count", ctypes.c_size_t),
        ("packet_size", ctypes.c_size_t),
        ("packets", ctypes.c_void_p),
    ]


_STATS_FIELDS = [
    ("elapsed_ns", ctypes.c_int64),
    ("packets_captured", ctypes.c_uint64),
    ("bytes_captured", ctypes.c_uint64),
    ("packets_truncated", ctypes.c_uint64),
    ("app_dropped_packets", ctypes.c_uint64),
    ("packets_delivered", ctypes.c_uint64),
    ("batches_delivered", ctypes.c_uint64),
    ("wakeups", ctypes.c_uint64),
    ("dispatch_calls", ctypes.c_uint64),
    ("empty_dispatch_calls", ctypes.c_uint64),
    ("max_dispatch_bytes", ctypes.c_uint64),
    ("max_dispatch_buffer_share", ctypes.c_double),
    ("capture_cpu_ns", ctypes.c_int64),
    ("received", ctypes.c_uint64),
    ("kernel_dropped", ctypes.c_uint64),
    ("interface_dropped", ctypes.c_uint64),
    ("latency_count", ctypes.c_uint64),
    ("latency_p50_ns", ctypes.c_uint64),
    ("latency_p99_ns", ctypes.c_uint64),
    ("latency_p999_ns", ctypes.c_uint64),
    ("latency_max_ns", ctypes.c_uint64),
    ("thread_handoffs", ctypes.c_uint64),
    ("interface_reopens", ctypes.c_uint64),
    ("dispatch_bytes_count", ctypes.c_uint64),
    ("dispatch_bytes_p99", ctypes.c_uint64),
]


class _Stats(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t)] + _STATS_FIELDS


class _InterfaceInfo(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("name", ctypes.c_char_p),
        ("linktype", ctypes.c_int),
        ("snaplen", ctypes.c_int),
        ("precision", ctypes.c_int),
        ("received", ctypes.c_uint64),
        ("kernel_dropped", ctypes.c_uint64),
        ("interface_dropped", ctypes.c_uint64),
        ("buffer_bytes", ctypes.c_uint64),
        ("up", ctypes.c_uint64),
        ("down_events", ctypes.c_uint64),
        ("down_ns", ctypes.c_uint64),
        ("reopens", ctypes.c_uint64),
    ]


_BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_Batch))


def _load():
    path = os.environ.get("RTCAP_LIBRARY")
    if not path:
        if sys.platform == "win32":
            path = ctypes.util.find_library("rtcap") or "rtcap.dll"
        else:
            # find_library consults ldconfig's cache: the installed librtcap.so.0.
            path = ctypes.util.find_library("rtcap") or "librtcap.so.0"
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            "rtcap: cannot load %s (%s): install the librtcap0 package or set RTCAP_LIBRARY "
            "to the path of librtcap.so" % (path, e)) from None
    P, I, S, I64, VP = ctypes.POINTER, ctypes.c_int, ctypes.c_size_t, ctypes.c_int64, ctypes.c_void_p
    sigs = {
        "rtcap_status_name": (ctypes.c_char_p, [I]),
        "rtcap_last_error": (ctypes.c_char_p, []),
        "rtcap_version": (ctypes.c_char_p, []),
        "rtcap_c_api_version": (I, []),
        "rtcap_pcap_version": (ctypes.c_char_p, []),
        "rtcap_config_new": (I, [P(VP)]),
        "rtcap_config_free": (I, [VP]),
        "rtcap_config_add_interface": (I, [VP, ctypes.c_char_p]),
        "rtcap_config_set_read_file": (I, [VP, ctypes.c_char_p]),
        "rtcap_config_set_filter": (I, [VP, ctypes.c_char_p]),
        "rtcap_config_set_delivery": (I, [VP, I]),
        "rtcap_config_set_snaplen": (I, [VP, I]),
        "rtcap_config_set_promiscuous": (I, [VP, I]),
        "rtcap_config_set_immediate_mode": (I, [VP, I]),
        "rtcap_config_set_timeout_ms": (I, [VP, I]),
        "rtcap_config_set_buffer_kib": (I, [VP, I]),
        "rtcap_config_set_precision": (I, [VP, I]),
        "rtcap_config_set_tstamp_type": (I, [VP, ctypes.c_char_p]),
        "rtcap_config_set_coalesce_us": (I, [VP, I]),
        "rtcap_config_set_batch_packets": (I, [VP, S]),
        "rtcap_config_set_batch_bytes": (I, [VP, S]),
        "rtcap_config_set_pool_batches": (I, [VP, S]),
        "rtcap_config_set_overflow": (I, [VP, I]),
        "rtcap_config_set_max_packets": (I, [VP, I64]),
        "rtcap_config_set_stats_interval_ms": (I, [VP, I]),
        "rtcap_config_set_mintocopy_bytes": (I, [VP, I]),
        "rtcap_config_set_user_buffer_bytes": (I, [VP, I]),
        "rtcap_config_set_reopen": (I, [VP, I]),
        "rtcap_config_check_setting": (I, [ctypes.c_char_p, I64]),
        "rtcap_counter_name": (ctypes.c_char_p, [S]),
        "rtcap_interface_counter_name": (ctypes.c_char_p, [S]),
        "rtcap_last_error_setting": (ctypes.c_char_p, []),
        "rtcap_last_error_reason": (ctypes.c_char_p, []),
        "rtcap_engine_open": (I, [VP, P(VP)]),
        "rtcap_engine_close": (I, [VP]),
        "rtcap_engine_start": (I, [VP]),
        "rtcap_engine_poll": (I, [VP, I64, _BATCH_FN, VP, P(S)]),
        "rtcap_engine_stop": (I, [VP]),
        "rtcap_engine_done": (I, [VP, P(I)]),
        "rtcap_engine_stop_reason": (I, [VP, P(I)]),
        "rtcap_engine_failure": (I, [VP]),
        "rtcap_engine_warning_count": (I, [VP, P(S)]),
        "rtcap_engine_warning": (I, [VP, S, P(ctypes.c_char_p)]),
        "rtcap_engine_stats": (I, [VP, P(_Stats)]),
        "rtcap_engine_interface_count": (I, [VP, P(S)]),
        "rtcap_engine_interface_info": (I, [VP, S, P(_InterfaceInfo)]),
    }
    for name, (restype, argtypes) in sigs.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = restype, argtypes
    return lib


_lib = _load()
_call_keys = itertools.count(1)


def _names(function):
    out, i = [], 0
    while True:
        name = function(i)
        if name is None:
            return out
        out.append(name.decode())
        i += 1


# The library's registry of counters (rtcap_counter_name): stats() and interfaces() give each.
COUNTERS = _names(_lib.rtcap_counter_name)
INTERFACE_COUNTERS = _names(_lib.rtcap_interface_counter_name)


def _python_words(text):
    """A library reason with each other setting (${name}) as Python names it (name=)."""
    return re.sub(r"\$\{(\w+)\}", r"\1=", text)


def _check(status):
    if status < 0:
        name = _lib.rtcap_status_name(status).decode()
        setting = _lib.rtcap_last_error_setting().decode()
        if setting:
            reason = _python_words(_lib.rtcap_last_error_reason().decode(errors="replace"))
            raise ConfigError(status, name, "%s=: %s" % (setting, reason))
        raise _ERRORS.get(status, Error)(status, name,
                                         _lib.rtcap_last_error().decode(errors="replace"))
    return status


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _number(setting, value):
    """`value` for the numeric setting, checked against the library's table before ctypes could
    narrow it (ctypes keeps the low bits: 2**32 + 64 would become 64)."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = operator.index(value)
        except TypeError:
            raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                              "%s=: %r is not a whole number" % (setting, value)) from None
    if not _INT64[0] <= value <= _INT64[1]:
        raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                          "%s=: %d does not fit in 64 bits" % (setting, value))
    _check(_lib.rtcap_config_check_setting(setting.encode(), value))
    return value


def _text(setting, value):
    """`value` as the C string the library gets: one with a NUL in it would be cut there."""
    data = os.fsencode(value) if setting == "read_file" else value.encode()
    if b"\0" in data:
        raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                          "%s=: %r contains a NUL character" % (setting, value))
    return data


def library_version():
    return _lib.rtcap_version().decode()


def pcap_version():
    return _lib.rtcap_pcap_version().decode()


class Packet:
    """One packet, copied out of its batch: ts_ns (ns since the epoch), wire_len,
    interface_index (order of `interfaces`), data (bytes, caplen long)."""

    __slots__ = ("ts_ns", "wire_len", "interface_index", "data")

    def __init__(self, ts_ns, wire_len, interface_index, data):
        self.ts_ns, self.wire_len, self.interface_index, self.data = ts_ns, wire_len, interface_index, data

    def __repr__(self):
        return "Packet(ts_ns=%d, wire_len=%d, interface_index=%d, caplen=%d)" % (
            self.ts_ns, self.wire_len, self.interface_index, len(self.data))


class BatchView:
    """The library's batch during a poll() callback: len(), [i] and iteration give Packets
    (copied on access). Do not keep it: the memory goes back to the library after the call."""

    __slots__ = ("_batch", "_base", "_stride", "count")

    def __init__(self, batch):
        self._batch = batch
        self._base = batch.packets
        self._stride = batch.packet_size
        self.count = batch.count

    def __len__(self):
        return self.count

    def raw(self, i):
        """The i-th packet's rtcap_packet struct (no copy of the bytes)."""
        if not 0 <= i < self.count:
            raise IndexError(i)
        return _Packet.from_address(self._base + i * self._stride)

    def __getitem__(self, i):
        p = self.raw(i)
        return Packet(p.ts_ns, p.wire_len, p.interface_index, ctypes.string_at(p.data, p.caplen))

    def __iter__(self):
        for i in range(self.count):
            yield self[i]


class Capture:
    """An rtcap engine: opened on construction (errors raise rtcap.Error), closed by close() or
    at the end of a with block. Settings are rtcap_config_set_* (rtcap.h) by name."""

    def __init__(self, interfaces=(), read_file=None, filter=None, delivery="inline", snaplen=None,
                 promiscuous=None, immediate_mode=None, timeout_ms=None, buffer_kib=None,
                 precision=None, tstamp_type=None, coalesce_us=None, batch_packets=None,
                 batch_bytes=None, pool_batches=None, overflow=None, max_packets=None,
                 stats_interval_ms=None, mintocopy_bytes=None, user_buffer_bytes=None, reopen=None):
        self._engine = None
        self._calls = {}  # poll calls in progress: key (the C callback's user) -> [handler, error]
        config = ctypes.c_void_p()
        _check(_lib.rtcap_config_new(ctypes.byref(config)))
        try:
            if isinstance(interfaces, str):
                interfaces = [interfaces]
            for name in interfaces:
                _check(_lib.rtcap_config_add_interface(config, _text("interfaces", name)))
            for name, value in [("read_file", read_file), ("filter", filter),
                                ("tstamp_type", tstamp_type)]:
                if value is not None:
                    _check(getattr(_lib, "rtcap_config_set_" + name)(config, _text(name, value)))
            if delivery not in DELIVERY:
                raise ValueError("delivery=: %r is not one of %s" % (delivery, ", ".join(DELIVERY)))
            _check(_lib.rtcap_config_set_delivery(config, DELIVERY[delivery]))
            self.delivery = delivery
            numbers = [("snaplen", snaplen), ("timeout_ms", timeout_ms), ("buffer_kib", buffer_kib),
                       ("coalesce_us", coalesce_us), ("batch_packets", batch_packets),
                       ("batch_bytes", batch_bytes), ("pool_batches", pool_batches),
                       ("max_packets", max_packets), ("stats_interval_ms", stats_interval_ms),
                       ("mintocopy_bytes", mintocopy_bytes),
                       ("user_buffer_bytes", user_buffer_bytes)]
            for name, value in numbers:
                if value is not None:
                    _check(getattr(_lib, "rtcap_config_set_" + name)(config, _number(name, value)))
            for name, value in [("promiscuous", promiscuous), ("immediate_mode", immediate_mode),
                                ("reopen", reopen)]:
                if value is not None:
                    _check(getattr(_lib, "rtcap_config_set_" + name)(config, 1 if value else 0))
            for name, value, table in [("precision", precision, PRECISION),
                                       ("overflow", overflow, OVERFLOW)]:
                if value is not None:
                    if value not in table:
                        raise ValueError("%s=: %r is not one of %s" % (name, value, ", ".join(table)))
                    _check(getattr(_lib, "rtcap_config_set_" + name)(config, table[value]))
            engine = ctypes.c_void_p()
            _check(_lib.rtcap_engine_open(config, ctypes.byref(engine)))
            self._engine = engine
        finally:
            _lib.rtcap_config_free(config)
        self._trampoline = _BATCH_FN(self._on_batch)
        if delivery == "threaded":
            _check(_lib.rtcap_engine_start(self._engine))

    # -- the loop ---------------------------------------------------------------------------------
    def _on_batch(self, user, batch_ptr):
        call = self._calls[user]
        try:
            return 1 if call[0](BatchView(batch_ptr.contents)) else 0
        except BaseException as e:  # noqa: B902 - handed back to the caller of poll()
            call[1] = e
            return 1

    def poll(self, timeout=0.1, handler=None):
        """Waits up to `timeout` seconds (inline: capturing on this thread; threaded: for the
        capture thread's next batch) and calls handler(view) for each batch, a BatchView valid
        during the call; a handler that returns True stops the capture. Returns the number of
        packets delivered (0 on timeout); loop on .done. An exception raised by the handler
        stops the capture and is raised here; a capture failure raises rtcap.Error."""
        # Each call finds its own handler: a refused one (BusyError) never disturbs the call in
        # progress.
        key = next(_call_keys)
        call = self._calls[key] = [handler or (lambda view: None), None]
        delivered = ctypes.c_size_t()
        try:
            status = _lib.rtcap_engine_poll(self._engine, int(timeout * 1e6), self._trampoline, key,
                                            ctypes.byref(delivered))
        finally:
            del self._calls[key]
        if call[1] is not None:
            raise call[1]
        if status == ERR_CALLBACK:  # the handler returned True: the stop it asked for
            return delivered.value
        _check(status)
        return delivered.value

    def batches(self, timeout=0.1, seconds=None):
        """Yields each batch as a list of Packets (copied) until capture is done, or for `seconds`
        (then stops the capture and yields what was still captured)."""
        import time
        deadline = None if seconds is None else time.monotonic() + seconds
        got = []
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                self.stop()
                deadline = None
            self.poll(timeout, lambda view: got.append(list(view)))
            while got:
                yield got.pop(0)

    @property
    def done(self):
        d = ctypes.c_int()
        _check(_lib.rtcap_engine_done(self._engine, ctypes.byref(d)))
        return bool(d.value)

    def stop(self):
        """From any thread: capture stops; what was captured is still delivered by poll()."""
        _check(_lib.rtcap_engine_stop(self._engine))

    # -- what it measured -------------------------------------------------------------------------
    def stats(self):
        """rtcap_stats as a dict. Loss: kernel_dropped, interface_dropped, app_dropped_packets."""
        s = _Stats()
        s.size = ctypes.sizeof(_Stats)
        _check(_lib.rtcap_engine_stats(self._engine, ctypes.byref(s)))
        if s.size != ctypes.sizeof(_Stats):
            raise Error(-27, "RTCAP_ERR_INTERNAL",
                        "rtcap.py's rtcap_stats (%d bytes) is not the library's (%d bytes): "
                        "use the rtcap.py of the same version" % (ctypes.sizeof(_Stats), s.size))
        return {name: getattr(s, name) for name in COUNTERS}

    def interfaces(self):
        n = ctypes.c_size_t()
        _check(_lib.rtcap_engine_interface_count(self._engine, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            info = _InterfaceInfo()
            info.size = ctypes.sizeof(_InterfaceInfo)
            _check(_lib.rtcap_engine_interface_info(self._engine, i, ctypes.byref(info)))
            one = {"name": info.name.decode(), "linktype": info.linktype,
                   "snaplen": info.snaplen, "precision": "nano" if info.precision else "micro"}
            one.update((name, getattr(info, name)) for name in INTERFACE_COUNTERS)
            out.append(one)
        return out

    def warnings(self):
        n = ctypes.c_size_t()
        _check(_lib.rtcap_engine_warning_count(self._engine, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            msg = ctypes.c_char_p()
            _check(_lib.rtcap_engine_warning(self._engine, i, ctypes.byref(msg)))
            out.append(msg.value.decode(errors="replace"))
        return out

    @property
    def stop_reason(self):
        r = ctypes.c_int()
        _check(_lib.rtcap_engine_stop_reason(self._engine, ctypes.byref(r)))
        return STOP_REASONS[r.value] if 0 <= r.value < len(STOP_REASONS) else str(r.value)

    def failure(self):
        """None, or the Error that stopped capture on its own (the interface went away...)."""
        status = _lib.rtcap_engine_failure(self._engine)
        if status < 0:
            return Error(status, _lib.rtcap_status_name(status).decode(),
                         _lib.rtcap_last_error().decode(errors="replace"))
        return None

    # -- the end ----------------------------------------------------------------------------------
    def close(self):
        if self._engine is not None:
            _check(_lib.rtcap_engine_close(self._engine))
            self._engine = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
