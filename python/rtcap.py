"""rtcap from Python: a ctypes module over the C API (include/rtcap/rtcap.h), standard library only.

    import rtcap
    with rtcap.Capture(interfaces=["eth0"], filter="udp portrange 5004-5100") as cap:
        for batch in cap.batches(timeout=0.1, seconds=10):   # lists of rtcap.Packet, copied
            for p in batch:
                use(p.ts_ns, p.data)
        s = cap.stats()          # s["kernel_dropped"], s["app_dropped_packets"]: packets lost

A faster form calls a function with each batch while the batch is still the library's (a view,
valid during the call only; each packet's data a memoryview into it, no copy); return True to
stop:

    cap.poll(0.1, lambda view: count(len(view)))

With inline delivery a capture can also be waited on beside other files: cap.fileno() is
readable when there is something to dispatch(); wait at most cap.timeout() seconds (selectors,
asyncio's add_reader; docs/EMBEDDING.md).

The library is found from RTCAP_LIBRARY (a path), else the system's (librtcap.so.1, installed by
the librtcap1 package; rtcap.dll on Windows). Errors raise rtcap.Error with the library's status
code and its one-line message; a setting the library's table refuses (out of range, a string with
a NUL, settings that do not go together) raises rtcap.ConfigError, also a ValueError, naming the
keyword (snaplen=). Numbers are checked before ctypes could narrow them. A call out of turn raises
rtcap.BusyError (a poll while another runs, or from inside the handler) or rtcap.MisuseError, and
capture goes on; any call on a closed Capture, Audio or Tracker raises rtcap.MisuseError. An
argument of the wrong type raises TypeError naming its keyword (dst=5). Each Capture is used from one thread; stop() from any thread. rtcap.SETTINGS
is the library's table of settings (Capture's keywords, read through the C API), rtcap.COUNTERS
names what stats() gives (the library's registry of counters).
"""

import ctypes
import ctypes.util
import io
import itertools
import json
import operator
import os
import re
import select
import sys
from typing import (Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple,
                    TypeVar, Union)

_Self = TypeVar("_Self")

__all__ = ["Audio", "AudioBlock", "AudioEvent", "AudioStream", "BusyError", "Capture",
           "ConfigError", "Error", "MisuseError", "Packet", "Tracker", "library_version",
           "pcap_version"]

# ---- status codes (rtcap.h) -------------------------------------------------------------------
OK = 0
DONE = 1
ERR_BAD_CONFIG = -5
ERR_NO_SUCH_NAMESPACE = -10
ERR_WRONG_STATE = -22
ERR_BUSY = -23
ERR_CALLBACK = -24
ERR_BUFFER_TOO_SMALL = -25

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


def _closed(what: str) -> MisuseError:
    """A call on a Capture, Audio or Tracker after its close(): the same exception for each."""
    return MisuseError(ERR_WRONG_STATE, "RTCAP_ERR_WRONG_STATE", "the %s is closed" % what)


def _bad_type(name: str, value: Any, wanted: str) -> TypeError:
    return TypeError("%s=: %r is not %s" % (name, value, wanted))


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
    ("callback_ns", ctypes.c_uint64),
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

# A read-only memoryview over memory the library owns (CPython's C API, stable ABI): a packet's
# bytes without copying them.
_memory_view = ctypes.pythonapi.PyMemoryView_FromMemory
_memory_view.restype = ctypes.py_object
_memory_view.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int]
_PyBUF_READ = 0x100


def _load():
    path = os.environ.get("RTCAP_LIBRARY")
    if not path:
        if sys.platform == "win32":
            path = ctypes.util.find_library("rtcap") or "rtcap.dll"
        else:
            # By SONAME, as the dynamic loader finds it: find_library("rtcap") may name another
            # SONAME's librtcap (librtcap0 stays installed beside librtcap1), whose ABI differs.
            path = "librtcap.so.1"
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            "rtcap: cannot load %s (%s): install the librtcap1 package or set RTCAP_LIBRARY "
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
        "rtcap_config_check_setting": (I, [ctypes.c_char_p, I64]),
        "rtcap_config_set_number": (I, [VP, ctypes.c_char_p, I64]),
        "rtcap_setting_name": (ctypes.c_char_p, [S]),
        "rtcap_setting_describe": (I, [ctypes.c_char_p, P(I), P(I64), P(I64), P(ctypes.c_char_p),
                                       P(ctypes.c_char_p), P(ctypes.c_char_p)]),
        "rtcap_setting_applies": (I, [ctypes.c_char_p, P(ctypes.c_char_p)]),
        "rtcap_counter_name": (ctypes.c_char_p, [S]),
        "rtcap_interface_counter_name": (ctypes.c_char_p, [S]),
        "rtcap_last_error_setting": (ctypes.c_char_p, []),
        "rtcap_last_error_reason": (ctypes.c_char_p, []),
        "rtcap_engine_open": (I, [VP, P(VP)]),
        "rtcap_engine_close": (I, [VP]),
        "rtcap_engine_start": (I, [VP]),
        "rtcap_engine_poll": (I, [VP, I64, _BATCH_FN, VP, P(S)]),
        "rtcap_engine_dispatch": (I, [VP, _BATCH_FN, VP, P(S)]),
        "rtcap_engine_readiness": (I, [VP, P(ctypes.c_ssize_t), S, P(S), P(I64)]),
        "rtcap_engine_stop": (I, [VP]),
        "rtcap_engine_done": (I, [VP, P(I)]),
        "rtcap_engine_stop_reason": (I, [VP, P(I)]),
        "rtcap_engine_failure": (I, [VP]),
        "rtcap_engine_warning_count": (I, [VP, P(S)]),
        "rtcap_engine_warning": (I, [VP, S, P(ctypes.c_char_p)]),
        "rtcap_engine_warning_text": (I, [VP, S, P(ctypes.c_char_p)]),
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


def _names(function: Callable[[int], Optional[bytes]]) -> List[str]:
    out: List[str] = []
    i = 0
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


class Setting(NamedTuple):
    """One row of the library's table of settings (rtcap_setting_describe)."""
    kind: int  # SETTING_NUMBER, _FLAG, _CHOICE, _TEXT, _TEXTS
    min: int
    max: int
    choices: Tuple[str, ...]  # a choice's names, in the order of its C enum
    unit: str
    setter: str  # the C setter; a text's takes (rtcap_config*, const char*)
    applies: str  # where it has an effect ("with immediate_mode= only ..."); "": everywhere


SETTING_NUMBER, SETTING_FLAG, SETTING_CHOICE, SETTING_TEXT, SETTING_TEXTS = range(5)


def _settings() -> Dict[str, Setting]:
    """The library's table of settings, in rtcap::CaptureConfig's order: Capture()'s keywords,
    their kinds and ranges live there, not here."""
    out: Dict[str, Setting] = {}
    for name in _names(_lib.rtcap_setting_name):
        kind, low, high = ctypes.c_int(), ctypes.c_int64(), ctypes.c_int64()
        choices, unit, setter = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
        _check(_lib.rtcap_setting_describe(name.encode(), ctypes.byref(kind), ctypes.byref(low),
                                           ctypes.byref(high), ctypes.byref(choices),
                                           ctypes.byref(unit), ctypes.byref(setter)))
        applies = ctypes.c_char_p()
        _check(_lib.rtcap_setting_applies(name.encode(), ctypes.byref(applies)))
        row = Setting(kind.value, low.value, high.value,
                      tuple((choices.value or b"").decode().split("|")) if choices.value else (),
                      (unit.value or b"").decode(), (setter.value or b"").decode(),
                      _python_words((applies.value or b"").decode()))
        if row.kind in (SETTING_TEXT, SETTING_TEXTS):
            f = getattr(_lib, row.setter)
            f.restype, f.argtypes = ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]
        out[name] = row
    return out


SETTINGS = _settings()
DELIVERY = {name: i for i, name in enumerate(SETTINGS["delivery"].choices)}
OVERFLOW = {name: i for i, name in enumerate(SETTINGS["overflow"].choices)}
PRECISION = {name: i for i, name in enumerate(SETTINGS["precision"].choices)}

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


def library_version() -> str:
    return _lib.rtcap_version().decode()


def pcap_version() -> str:
    return _lib.rtcap_pcap_version().decode()


class Packet:
    """One packet: ts_ns (ns since the epoch), wire_len, interface_index (order of
    `interfaces`), data (caplen bytes). From a BatchView data is a read-only memoryview into the
    library's batch, valid during the callback only; copy() gives a Packet of bytes to keep."""

    __slots__ = ("ts_ns", "wire_len", "interface_index", "data")

    def __init__(self, ts_ns: int, wire_len: int, interface_index: int,
                 data: Union[bytes, memoryview]) -> None:
        self.ts_ns, self.wire_len, self.interface_index, self.data = ts_ns, wire_len, interface_index, data

    def copy(self) -> "Packet":
        return Packet(self.ts_ns, self.wire_len, self.interface_index, bytes(self.data))

    def __repr__(self) -> str:
        return "Packet(ts_ns=%d, wire_len=%d, interface_index=%d, caplen=%d)" % (
            self.ts_ns, self.wire_len, self.interface_index, len(self.data))


class BatchView:
    """The library's batch during a poll() callback: len(), [i] and iteration give Packets whose
    data is a memoryview into the batch (no copy). The view ends when the callback returns (the
    memory goes back to the library): any later use of it, Audio.add and Tracker.add included,
    raises ValueError; copy() in the callback gives a list of Packets of bytes to keep."""

    __slots__ = ("_batch", "_base", "_stride", "count", "linktypes")

    def __init__(self, batch: _Batch, linktypes: Optional[Any] = None) -> None:
        self._batch = batch
        # The link type of each interface index (a ctypes int array), from the Capture that
        # delivered the batch: Tracker.add and AudioReceiver.add read each packet's from it.
        self.linktypes = linktypes
        self._base: int = batch.packets or 0
        self._stride: int = batch.packet_size
        self.count: int = batch.count

    def _live(self) -> _Batch:
        if self._batch is None:
            raise ValueError("this BatchView ended when its poll()/dispatch() callback returned: "
                             "copy() in the callback what you keep")
        return self._batch

    def _end(self) -> None:
        self._batch, self._base, self.count = None, 0, 0  # type: ignore[assignment]

    def __len__(self) -> int:
        self._live()
        return self.count

    def raw(self, i: int) -> _Packet:
        """The i-th packet's rtcap_packet struct (no copy of the bytes)."""
        self._live()
        if not 0 <= i < self.count:
            raise IndexError(i)
        return _Packet.from_address(self._base + i * self._stride)

    def __getitem__(self, i: int) -> Packet:
        p = self.raw(i)
        data = _memory_view(ctypes.cast(p.data, ctypes.c_void_p), p.caplen, _PyBUF_READ)
        return Packet(p.ts_ns, p.wire_len, p.interface_index, data)

    def __iter__(self) -> Iterator[Packet]:
        self._live()
        for i in range(self.count):
            yield self[i]

    def copy(self) -> List[Packet]:
        """The packets with their bytes copied, to keep after the callback."""
        return [p.copy() for p in self]


Handler = Callable[[BatchView], Any]  # poll()/dispatch(): a true result stops the capture


class Capture:
    """An rtcap engine: opened on construction (errors raise rtcap.Error), closed by close() or
    at the end of a with block. Its keywords are the library's table of settings (SETTINGS)."""

    def __init__(self, interfaces=(), **settings):
        """Each keyword is a setting of the library's table (SETTINGS: rtcap::CaptureConfig's
        members, read_file=, filter=, delivery="threaded", snaplen=...); None leaves the
        default. A value the table refuses raises ConfigError (a ValueError) naming it."""
        self._open_engine: Optional[ctypes.c_void_p] = None
        # Calls in progress: key (the C callback's user pointer) -> [handler, error].
        self._calls: Dict[int, List[Any]] = {}
        self._linktypes: Optional[Any] = None
        for name in settings:
            if name not in SETTINGS:
                raise TypeError("Capture() got an unexpected keyword argument %r" % name)
        if isinstance(interfaces, str):
            interfaces = [interfaces]
        settings["interfaces"] = interfaces
        delivery = settings.get("delivery") or "inline"
        config = ctypes.c_void_p()
        _check(_lib.rtcap_config_new(ctypes.byref(config)))
        try:
            for name, row in SETTINGS.items():
                value = settings.get(name)
                if value is None:
                    continue
                if row.kind == SETTING_TEXTS:
                    for one in value:
                        _check(getattr(_lib, row.setter)(config, _text(name, one)))
                elif row.kind == SETTING_TEXT:
                    _check(getattr(_lib, row.setter)(config, _text(name, value)))
                elif row.kind == SETTING_CHOICE:
                    if value not in row.choices:
                        raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                                          "%s=: %r is not one of %s"
                                          % (name, value, ", ".join(row.choices)))
                    _check(_lib.rtcap_config_set_number(config, name.encode(),
                                                        row.choices.index(value)))
                elif row.kind == SETTING_FLAG:
                    _check(_lib.rtcap_config_set_number(config, name.encode(), 1 if value else 0))
                else:
                    _check(_lib.rtcap_config_set_number(config, name.encode(),
                                                        _number(name, value)))
            self.delivery = delivery
            engine = ctypes.c_void_p()
            _check(_lib.rtcap_engine_open(config, ctypes.byref(engine)))
            self._open_engine = engine
        finally:
            _lib.rtcap_config_free(config)
        self._trampoline = _BATCH_FN(self._on_batch)
        self._epoll: Optional[Any] = None  # fileno(): select.epoll over readiness()'s fds
        self._epoll_fds: List[int] = []
        if delivery == "threaded":
            _check(_lib.rtcap_engine_start(self._engine))

    def _link_types(self) -> Any:
        """The link type of each interface index, read again when the count grows (a reopened
        interface that came back as another kind of device gets a new index)."""
        n = ctypes.c_size_t()
        _check(_lib.rtcap_engine_interface_count(self._engine, ctypes.byref(n)))
        if self._linktypes is None or len(self._linktypes) != n.value:
            types = (ctypes.c_int * n.value)()
            for i in range(n.value):
                info = _InterfaceInfo()
                info.size = ctypes.sizeof(_InterfaceInfo)
                _check(_lib.rtcap_engine_interface_info(self._engine, i, ctypes.byref(info)))
                types[i] = info.linktype
            self._linktypes = types
        return self._linktypes

    # -- the loop ---------------------------------------------------------------------------------
    def _on_batch(self, user: int, batch_ptr: Any) -> int:
        # Nothing may escape a ctypes callback (it would be printed and the poll go on): what
        # fails, building the view included, stops the capture and is raised by poll().
        call = self._calls[user]
        view: Optional[BatchView] = None
        try:
            view = BatchView(batch_ptr.contents, self._link_types())
            return 1 if call[0](view) else 0
        except BaseException as e:  # noqa: B902 - handed back to the caller of poll()
            call[1] = e
            return 1
        finally:
            if view is not None:
                view._end()

    def poll(self, timeout: float = 0.1, handler: Optional[Handler] = None) -> int:
        """Waits up to `timeout` seconds (inline: capturing on this thread; threaded: for the
        capture thread's next batch) and calls handler(view) for each batch, a BatchView valid
        during the call; a handler that returns True stops the capture. Returns the number of
        packets delivered (0 on timeout); loop on .done. An exception raised by the handler
        stops the capture and is raised here; a capture failure raises rtcap.Error."""
        # A negative, infinite or NaN wait is the caller's mistake, said in Python's terms.
        if not 0 <= timeout < 1e9:
            raise ValueError(f"timeout={timeout!r}: seconds, 0 or more (under 1e9)")
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

    # -- waiting in your own loop (inline delivery) -------------------------------------------------
    def readiness(self) -> Tuple[List[int], Optional[float]]:
        """What to wait on before the next dispatch(), asked anew before every wait: the handles
        (POSIX: file descriptors to wait readable on; Windows: HANDLEs) and the longest wait in
        seconds (None: no limit). Inline delivery only (else rtcap.Error)."""
        handles = (ctypes.c_ssize_t * 8)()
        count, max_wait_us = ctypes.c_size_t(), ctypes.c_int64()
        status = _lib.rtcap_engine_readiness(self._engine, handles, len(handles),
                                             ctypes.byref(count), ctypes.byref(max_wait_us))
        if status == ERR_BUFFER_TOO_SMALL:
            handles = (ctypes.c_ssize_t * count.value)()
            status = _lib.rtcap_engine_readiness(self._engine, handles, len(handles),
                                                 ctypes.byref(count), ctypes.byref(max_wait_us))
        if status == ERR_WRONG_STATE and self.delivery == "threaded":  # the library's refusal
            raise MisuseError(status, "RTCAP_ERR_WRONG_STATE",
                              "readiness()/fileno(): inline delivery only; this Capture is "
                              "threaded (delivery=\"threaded\"): use poll()")
        _check(status)
        wait = None if max_wait_us.value < 0 else max_wait_us.value / 1e6
        return list(handles[:count.value]), wait

    def fileno(self) -> int:
        """One file descriptor that is readable when the capture has something for dispatch(),
        for selectors, select and asyncio's add_reader (Linux: an epoll set holding
        readiness()'s descriptors, refreshed here and by dispatch()). Wait at most timeout()
        seconds on it. Inline delivery only; io.UnsupportedOperation where there is no epoll."""
        if not hasattr(select, "epoll"):
            raise io.UnsupportedOperation("rtcap.Capture.fileno needs epoll (Linux); on Windows "
                                          "wait on readiness()'s HANDLEs")
        self._refresh_epoll()
        assert self._epoll is not None
        return int(self._epoll.fileno())

    def timeout(self) -> Optional[float]:
        """The longest wait on fileno() before dispatch() is due anyway, in seconds (None: no
        limit; 0 for a file, which is always ready)."""
        return self.readiness()[1]

    def dispatch(self, handler: Optional[Handler] = None) -> int:
        """Inline delivery: drains what is captured now, without waiting, calling handler(view)
        as poll() does; for a loop that waits on fileno() or readiness() itself. Returns the
        packets delivered."""
        key = next(_call_keys)
        call = self._calls[key] = [handler or (lambda view: None), None]
        delivered = ctypes.c_size_t()
        try:
            status = _lib.rtcap_engine_dispatch(self._engine, self._trampoline, key,
                                                ctypes.byref(delivered))
        finally:
            del self._calls[key]
        if call[1] is not None:
            raise call[1]
        if status != ERR_CALLBACK:
            _check(status)
        if self._epoll is not None and status != DONE:
            self._refresh_epoll()  # a reopened interface has a new descriptor
        return delivered.value

    def _refresh_epoll(self) -> None:
        fds = self.readiness()[0]
        if self._epoll is None:
            self._epoll = select.epoll()
        if fds == self._epoll_fds:
            return
        for fd in self._epoll_fds:
            try:
                self._epoll.unregister(fd)
            except OSError:
                pass  # closed with the handle it belonged to
        for fd in fds:
            self._epoll.register(fd, select.EPOLLIN)
        self._epoll_fds = fds

    def batches(self, timeout: float = 0.1, seconds: Optional[float] = None) -> Iterator[List[Packet]]:
        """Yields each batch as a list of Packets (copied) until capture is done, or for `seconds`
        (then stops the capture and yields what was still captured)."""
        import time
        deadline = None if seconds is None else time.monotonic() + seconds
        got: List[List[Packet]] = []
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                self.stop()
                deadline = None
            self.poll(timeout, lambda view: got.append(view.copy()))
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
        """"Worked, but..." notes from opening, settings named as Capture()'s keywords."""
        n = ctypes.c_size_t()
        _check(_lib.rtcap_engine_warning_count(self._engine, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            msg = ctypes.c_char_p()
            _check(_lib.rtcap_engine_warning_text(self._engine, i, ctypes.byref(msg)))
            out.append(_python_words((msg.value or b"").decode(errors="replace")))
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
    def close(self) -> None:
        """Stops the capture and frees the engine. Also allowed inside a handler (as C++ destroys
        its Engine there): the poll in progress calls no handler again and returns. From another
        thread while a poll() or another call runs: BusyError, nothing closed (stop(), let the
        call return, then close)."""
        epoll, self._epoll = getattr(self, "_epoll", None), None
        if epoll is not None:
            epoll.close()
        if getattr(self, "_open_engine", None) is not None:
            _check(_lib.rtcap_engine_close(self._open_engine))
            self._open_engine = None

    @property
    def _engine(self) -> ctypes.c_void_p:
        if getattr(self, "_open_engine", None) is None:
            raise _closed("Capture")
        return self._open_engine  # type: ignore[return-value]

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


# ---- live audio (rtcap_audio_*, rtcap/audio.hpp) ------------------------------------------------
# PCM samples of the captured AES67 / ST 2110-30 streams, fed with the batches of a Capture:
#
#     audio = rtcap.Audio()
#     audio.subscribe(on_audio=lambda block: use(block.samples))   # every audio stream
#     cap.poll(0.1, lambda view: audio.add(view))
#
# block.samples is a numpy array (frames x channels, float32 or int32) when numpy is installed
# (Debian python3-numpy): the library writes each sample from the packet straight into memory
# numpy owns, and the array is the block's to keep. Without numpy it is a flat memoryview of the
# library's buffer with block.frame_stride/channel_stride, valid during the callback only.

try:
    import numpy as _np
except ImportError:  # memoryviews instead
    _np = None  # type: ignore[assignment]

SAMPLE_FORMAT = {"float32": 0, "int32": 1}
CHANNEL_LAYOUT = {"interleaved": 0, "planar": 1}
LOSS_FILL = {"silence": 0, "gap": 1}
AUDIO_EVENTS = ("start", "gap", "discontinuity", "format_change", "levels", "end", "not_taken")


class _AudioStream(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("src", ctypes.c_char_p), ("dst", ctypes.c_char_p),
                ("src_port", ctypes.c_uint16), ("dst_port", ctypes.c_uint16),
                ("ssrc", ctypes.c_uint32), ("interface_index", ctypes.c_uint16),
                ("payload_type", ctypes.c_int), ("bits", ctypes.c_int),
                ("rate_hz", ctypes.c_uint32), ("channels", ctypes.c_int),
                ("source", ctypes.c_char_p), ("session_name", ctypes.c_char_p),
                ("redundancy_group", ctypes.c_char_p), ("redundancy_leg", ctypes.c_int)]


class _AudioBlock(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("stream", ctypes.POINTER(_AudioStream)),
                ("format", ctypes.c_int), ("layout", ctypes.c_int), ("data", ctypes.c_void_p),
                ("frames", ctypes.c_size_t), ("channels", ctypes.c_int),
                ("frame_stride", ctypes.c_size_t), ("channel_stride", ctypes.c_size_t),
                ("rtp_timestamp", ctypes.c_uint32), ("capture_ns", ctypes.c_int64),
                ("first_frame", ctypes.c_uint64), ("silence_frames", ctypes.c_uint64)]


class _ChannelLevels(ctypes.Structure):
    _fields_ = [("seconds", ctypes.c_uint64), ("peak_dbfs", ctypes.c_double),
                ("rms_dbfs", ctypes.c_double), ("silent_seconds", ctypes.c_double),
                ("silent", ctypes.c_int), ("silences", ctypes.c_uint64),
                ("clipped_samples", ctypes.c_uint64)]


class _AudioEvent(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("kind", ctypes.c_int),
                ("stream", ctypes.POINTER(_AudioStream)), ("gap_rtp_timestamp", ctypes.c_uint32),
                ("gap_first_frame", ctypes.c_uint64), ("gap_frames", ctypes.c_uint64),
                ("gap_first_seq", ctypes.c_uint32), ("gap_packets", ctypes.c_uint64),
                ("gap_filled", ctypes.c_int), ("levels", ctypes.POINTER(_ChannelLevels)),
                ("why", ctypes.c_char_p)]


_AUDIO_BLOCK_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_AudioBlock))
_AUDIO_EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_AudioEvent))
_AUDIO_BUFFER_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p,
                                    ctypes.POINTER(_AudioStream), ctypes.c_size_t)


class _AudioSubscription(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("session_name", ctypes.c_char_p),
                ("dst", ctypes.c_char_p), ("dst_port", ctypes.c_int), ("src", ctypes.c_char_p),
                ("has_ssrc", ctypes.c_int), ("ssrc", ctypes.c_uint32),
                ("payload_type", ctypes.c_int), ("sdp", ctypes.c_char_p), ("format", ctypes.c_int),
                ("layout", ctypes.c_int), ("loss", ctypes.c_int),
                ("frames_per_delivery", ctypes.c_size_t), ("reorder_packets", ctypes.c_size_t),
                ("max_payload_bytes", ctypes.c_size_t), ("max_channels", ctypes.c_int),
                ("max_streams", ctypes.c_size_t), ("end_after_ms", ctypes.c_uint32),
                ("levels", ctypes.c_int), ("silence_threshold_dbfs", ctypes.c_double),
                ("silence_ms", ctypes.c_uint32), ("on_audio", _AUDIO_BLOCK_FN),
                ("on_event", _AUDIO_EVENT_FN), ("user", ctypes.c_void_p),
                ("on_buffer", _AUDIO_BUFFER_FN)]


_AUDIO_STATS = ("streams", "streams_not_taken", "packets", "frames", "silence_frames", "gaps",
                "lost_packets", "late_or_duplicate", "malformed", "discontinuities",
                "callback_exceptions", "own_buffer_deliveries")


class _AudioStats(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t)] + [(n, ctypes.c_uint64) for n in _AUDIO_STATS]


for _name, _restype, _argtypes in [
        ("rtcap_audio_open", ctypes.c_int, [ctypes.POINTER(ctypes.c_void_p)]),
        ("rtcap_audio_open_on", ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]),
        ("rtcap_audio_close", ctypes.c_int, [ctypes.c_void_p]),
        ("rtcap_audio_subscription_init_sized", ctypes.c_int,
         [ctypes.POINTER(_AudioSubscription), ctypes.c_size_t]),
        ("rtcap_audio_subscribe", ctypes.c_int,
         [ctypes.c_void_p, ctypes.POINTER(_AudioSubscription), ctypes.POINTER(ctypes.c_int)]),
        ("rtcap_audio_unsubscribe", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int]),
        ("rtcap_audio_add_batch", ctypes.c_int,
         [ctypes.c_void_p, ctypes.POINTER(_Batch), ctypes.c_int]),
        ("rtcap_audio_add_batch_by_interface", ctypes.c_int,
         [ctypes.c_void_p, ctypes.POINTER(_Batch), ctypes.POINTER(ctypes.c_int), ctypes.c_size_t]),
        ("rtcap_audio_expire", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int64]),
        ("rtcap_audio_finish", ctypes.c_int, [ctypes.c_void_p]),
        ("rtcap_audio_stats_get", ctypes.c_int,
         [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_AudioStats)]),
        ("rtcap_audio_levels", ctypes.c_int,
         [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(_AudioStream)),
          ctypes.c_size_t,
          ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(_ChannelLevels), ctypes.c_size_t,
          ctypes.POINTER(ctypes.c_size_t)])]:
    _f = getattr(_lib, _name)
    _f.restype, _f.argtypes = _restype, _argtypes


class AudioStream:
    """One stream a subscription took: its identity and format (the catalogue's)."""

    __slots__ = ("id", "src", "dst", "src_port", "dst_port", "ssrc", "interface_index",
                 "payload_type", "bits", "rate_hz", "channels", "source", "session_name",
                 "redundancy_group", "redundancy_leg")

    def __init__(self, s: _AudioStream) -> None:
        self.id: int = s.id
        self.src: str = (s.src or b"").decode()
        self.dst: str = (s.dst or b"").decode()
        self.src_port: int = s.src_port
        self.dst_port: int = s.dst_port
        self.ssrc: int = s.ssrc
        self.interface_index: int = s.interface_index
        self.payload_type: int = s.payload_type
        self.bits: int = s.bits
        self.rate_hz: int = s.rate_hz
        self.channels: int = s.channels
        self.source: str = (s.source or b"").decode(errors="replace")
        self.session_name: str = (s.session_name or b"").decode(errors="replace")
        # ST 2022-7: one leg (0 or 1) of the pair named by the group; "" and -1: none.
        self.redundancy_group: str = (s.redundancy_group or b"").decode(errors="replace")
        self.redundancy_leg: int = s.redundancy_leg

    def __repr__(self) -> str:
        return "AudioStream(%s:%d > %s:%d ssrc 0x%08x L%d/%d/%d)" % (
            self.src, self.src_port, self.dst, self.dst_port, self.ssrc, self.bits, self.rate_hz,
            self.channels)


class AudioBlock:
    """A run of samples. With numpy, `samples` is an array (int32 or float32) of the block's
    own: frames x channels for layout "interleaved", channels x frames for "planar" (samples[c]
    is channel c, contiguous). The library wrote it from the packets into memory numpy owns, so
    it may be kept after the callback (a kept block keeps its stream's 256 KiB pool alive: copy()
    a small piece to keep only that). Without numpy it is a flat memoryview into the library's
    buffer, sample (f, c) at f * frame_stride + c * channel_stride (planar: channel c is
    [c * channel_stride, + frames)), valid during the callback only: it is released when the
    callback returns, so a later use raises ValueError (bytes(samples) or list(samples) in the
    callback keep a copy)."""

    __slots__ = ("stream", "samples", "layout", "frames", "channels", "frame_stride",
                 "channel_stride", "rtp_timestamp", "capture_ns", "first_frame", "silence_frames")

    def __init__(self, b: _AudioBlock, stream: AudioStream, owned: Any = None) -> None:
        """owned: the numpy array the library wrote this block into (_BufferPool), or None."""
        self.stream = stream
        self.layout: str = "planar" if b.layout == CHANNEL_LAYOUT["planar"] else "interleaved"
        self.frames: int = b.frames
        self.channels: int = b.channels
        self.frame_stride: int = b.frame_stride
        self.channel_stride: int = b.channel_stride
        self.rtp_timestamp: int = b.rtp_timestamp
        self.capture_ns: int = b.capture_ns
        self.first_frame: int = b.first_frame
        self.silence_frames: int = b.silence_frames
        self.samples: Any
        if owned is not None:
            self.samples = owned
            return
        count = (b.channels - 1) * b.channel_stride + (b.frames - 1) * b.frame_stride + 1
        raw = _memory_view(ctypes.c_void_p(b.data), 4 * count, _PyBUF_READ)
        code = "i" if b.format == SAMPLE_FORMAT["int32"] else "f"
        if _np is not None:  # the library's own buffer (the pool gave none): copied out
            view: Any = _np.ndarray((b.frames, b.channels), dtype=_np.int32 if code == "i"
                                    else _np.float32, buffer=raw,
                                    strides=(4 * b.frame_stride, 4 * b.channel_stride))
            # The library reuses its buffer after the callback; planar: channels x frames.
            self.samples = view.T.copy() if self.layout == "planar" else view.copy()
            del view
            raw.release()
        else:
            self.samples = raw.cast(code)
            raw.release()  # the cast keeps the memory; _release() ends it

    def _release(self) -> Optional[BaseException]:
        """After the callback: a memoryview into the library's buffer must not outlive it."""
        if isinstance(self.samples, memoryview):
            try:
                self.samples.release()
            except BufferError:
                return MisuseError(ERR_WRONG_STATE, "RTCAP_ERR_WRONG_STATE",
                                   "AudioBlock.samples is still exported after its callback (an "
                                   "array over it was kept): copy what you keep in the callback")
        return None

class _BufferPool:
    """The memory the library writes a subscription's deliveries into (rtcap_audio_buffer_fn):
    per stream, successive pieces of a numpy array of at least 64 Ki samples, so that a sample
    is copied once (packet to array) and a block's array is a view that stays valid when kept."""

    POOL_SAMPLES = 1 << 16

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype
        # stream id -> [pool, its address, next free sample, the piece given: offset or -1]
        self.streams: Dict[int, List[Any]] = {}

    def give(self, stream_id: int, samples: int) -> int:
        st = self.streams.get(stream_id)
        if st is None or st[0].shape[0] - st[2] < samples:
            pool = _np.empty(max(samples, self.POOL_SAMPLES), dtype=self.dtype)
            st = self.streams[stream_id] = [pool, pool.ctypes.data, 0, -1]
        st[3] = st[2]
        return int(st[1] + 4 * st[2])

    def take(self, b: _AudioBlock, stream_id: int) -> Any:
        """The block's array when the library wrote it into the piece given, else None."""
        st = self.streams.get(stream_id)
        if st is None or st[3] < 0 or b.data != st[1] + 4 * st[3]:
            return None
        pool, off = st[0], st[3]
        st[3] = -1
        if b.frame_stride == b.channels and b.channel_stride == 1:  # interleaved
            used = b.frames * b.channels
            st[2] = off + used
            return pool[off:off + used].reshape(b.frames, b.channels)
        capacity = b.channel_stride  # planar: a row per channel of the delivery's capacity
        st[2] = off + capacity * b.channels
        return pool[off:off + capacity * b.channels].reshape(b.channels, capacity)[:, :b.frames]

    def end(self, stream_id: int) -> None:
        self.streams.pop(stream_id, None)


def _levels_dicts(levels: Any, channels: int) -> List[Dict[str, Any]]:
    """rtcap_channel_levels entries as dicts (silent as a bool)."""
    return [{n: (bool(getattr(levels[c], n)) if n == "silent" else getattr(levels[c], n))
             for n, _ in _ChannelLevels._fields_} for c in range(channels)]


class AudioEvent:
    """kind: one of AUDIO_EVENTS. gap: gap_rtp_timestamp, gap_first_frame, gap_frames,
    gap_first_seq, gap_packets, gap_filled. levels: a dict per channel. end, discontinuity and
    not_taken (a stream the subscription selects and will not get; stream.id 0): why."""

    __slots__ = ("kind", "stream", "gap_rtp_timestamp", "gap_first_frame", "gap_frames",
                 "gap_first_seq", "gap_packets", "gap_filled", "levels", "why")

    def __init__(self, e: _AudioEvent, stream: AudioStream) -> None:
        self.kind: str = AUDIO_EVENTS[e.kind] if 0 <= e.kind < len(AUDIO_EVENTS) else str(e.kind)
        self.stream = stream
        self.gap_rtp_timestamp: int = e.gap_rtp_timestamp
        self.gap_first_frame: int = e.gap_first_frame
        self.gap_frames: int = e.gap_frames
        self.gap_first_seq: int = e.gap_first_seq
        self.gap_packets: int = e.gap_packets
        self.gap_filled = bool(e.gap_filled)
        self.levels: List[Dict[str, Any]] = (_levels_dicts(e.levels, stream.channels)
                                             if e.levels else [])
        self.why: str = (e.why or b"").decode(errors="replace")


AudioHandler = Callable[[AudioBlock], Any]
EventHandler = Callable[[AudioEvent], Any]


class _Closable:
    """close() on leaving a with block and when collected (errors then are of no one's use)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown, or still in use (BusyError)
            pass


def _batch_args(view: Any, linktype: Any) -> None:
    """add()'s arguments as the C call takes them (the library checks the link type's range)."""
    if not isinstance(view, BatchView):
        raise _bad_type("view", view, "a BatchView (the argument of a poll() handler)")
    view._live()
    if linktype is not None and (isinstance(linktype, bool) or not isinstance(linktype, int)):
        raise _bad_type("linktype", linktype, "an int")
    if linktype is not None and not -(1 << 31) <= linktype < 1 << 31:
        raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                          "linktype=: %d is not a link type" % linktype)


def _subscription(number: Any) -> int:
    """A subscription number as the C int it is: the library says whether it is one; a number
    ctypes would narrow (2**32 + 1 -> 1) is refused here."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise _bad_type("subscription", number, "an int")
    if not -(1 << 31) <= number < 1 << 31:
        raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                          "subscription=: %d is not a subscription of this Audio" % number)
    return number


class Audio(_Closable):
    """Live audio over the C API's rtcap_audio: its own stream catalogue (SAP seen in the
    traffic, the SDP given to subscribe()) or a Tracker's, fed with add(view) from a Capture's poll handler.
    Callbacks run inside add(), finish(), expire() and unsubscribe(); an exception in one is
    raised from that call once it returns."""

    def __init__(self, tracker: Optional["Tracker"] = None) -> None:
        """tracker: share that Tracker's catalogue and feed it through add() (then do not call
        tracker.add() too: every packet would count twice)."""
        self._open_audio: Optional[ctypes.c_void_p] = None
        self._tracker = tracker  # open as long as this is
        handle = ctypes.c_void_p()
        if tracker is None:
            _check(_lib.rtcap_audio_open(ctypes.byref(handle)))
        else:
            _check(_lib.rtcap_audio_open_on(tracker._handle(), ctypes.byref(handle)))
        self._open_audio = handle
        self._keep: List[Any] = []  # the C callbacks, alive as long as the handle
        self._streams: Dict[int, AudioStream] = {}
        self._error: Optional[BaseException] = None

    def _stream(self, s: Any) -> AudioStream:
        c = s.contents
        known = self._streams.get(c.id)
        if known is None or known.rate_hz != c.rate_hz or known.channels != c.channels:
            known = self._streams[c.id] = AudioStream(c)
        return known

    def subscribe(self, on_audio: Optional[AudioHandler] = None,
                  on_event: Optional[EventHandler] = None, *, session_name: Optional[str] = None,
                  dst: Optional[str] = None, dst_port: Optional[int] = None,
                  src: Optional[str] = None, ssrc: Optional[int] = None,
                  payload_type: Optional[int] = None, sdp: Optional[str] = None,
                  format: str = "float32", layout: str = "interleaved", loss: str = "silence",
                  frames_per_delivery: Optional[int] = None, reorder_packets: Optional[int] = None,
                  max_payload_bytes: Optional[int] = None, max_channels: Optional[int] = None,
                  max_streams: Optional[int] = None, end_after_ms: Optional[int] = None,
                  levels: bool = True, silence_threshold_dbfs: Optional[float] = None,
                  silence_ms: Optional[int] = None) -> int:
        """Takes the streams the selector keywords match (none: every audio stream); returns the
        subscription's number. Out-of-range values raise ConfigError naming the setting."""
        for name, handler in [("on_audio", on_audio), ("on_event", on_event)]:
            if handler is not None and not callable(handler):
                raise _bad_type(name, handler, "callable (or None)")
        sub = _AudioSubscription()
        _check(_lib.rtcap_audio_subscription_init_sized(ctypes.byref(sub), ctypes.sizeof(sub)))
        for name, value, table in [("format", format, SAMPLE_FORMAT),
                                   ("layout", layout, CHANNEL_LAYOUT), ("loss", loss, LOSS_FILL)]:
            if value not in table:
                raise ValueError("%s=: %r is not one of %s" % (name, value, ", ".join(table)))
            setattr(sub, name, table[value])
        texts = {"session_name": session_name, "dst": dst, "src": src, "sdp": sdp}
        for name, text in texts.items():
            if text is not None:
                if not isinstance(text, str):
                    raise _bad_type(name, text, "a str")
                data = text.encode()
                if b"\0" in data:
                    raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                                      "%s=: %r contains a NUL character" % (name, text))
                setattr(sub, name, data)
        # The library checks the ranges (ConfigError names the setting); here only that ctypes
        # will not narrow the number.
        numbers = {"dst_port": dst_port, "payload_type": payload_type,
                   "frames_per_delivery": frames_per_delivery, "reorder_packets": reorder_packets,
                   "max_payload_bytes": max_payload_bytes, "max_channels": max_channels,
                   "max_streams": max_streams, "end_after_ms": end_after_ms,
                   "silence_ms": silence_ms}
        for name, number in numbers.items():
            if number is None:
                continue
            if isinstance(number, bool) or not isinstance(number, int):
                raise _bad_type(name, number, "an int")
            if not 0 <= number < 1 << 31:
                raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                                  "%s=: %r is not a whole number from 0 to 2**31-1" % (name, number))
            setattr(sub, name, number)
        if ssrc is not None:
            if isinstance(ssrc, bool) or not isinstance(ssrc, int):
                raise _bad_type("ssrc", ssrc, "an int")
            if not 0 <= ssrc <= 0xFFFFFFFF:
                raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                                  "ssrc=: %r is not a 32-bit number" % (ssrc,))
            sub.has_ssrc, sub.ssrc = 1, ssrc
        sub.levels = 1 if levels else 0
        if silence_threshold_dbfs is not None:
            # The library checks the range (NaN and infinities included).
            if isinstance(silence_threshold_dbfs, bool) or not isinstance(silence_threshold_dbfs,
                                                                          (int, float)):
                raise _bad_type("silence_threshold_dbfs", silence_threshold_dbfs, "a number")
            sub.silence_threshold_dbfs = float(silence_threshold_dbfs)

        pool = None
        if _np is not None and on_audio is not None:
            pool = _BufferPool(_np.int32 if format == "int32" else _np.float32)

        def buffer_fn(_user: Any, s: Any, samples: int) -> Optional[int]:
            try:
                return pool.give(s.contents.id, samples)  # type: ignore[union-attr]
            except BaseException as e:  # noqa: B902 - the library's buffer then; raised later
                if self._error is None:
                    self._error = e
                return None

        def block_fn(_user: Any, b: Any) -> None:
            c = b.contents
            owned = pool.take(c, c.stream.contents.id) if pool is not None else None
            if on_audio is None or self._error is not None:
                return
            block = AudioBlock(c, self._stream(c.stream), owned)
            try:
                on_audio(block)
            except BaseException as e:  # noqa: B902 - raised from the call that ran it
                self._error = e
            finally:
                kept = block._release()
                if kept is not None and self._error is None:
                    self._error = kept

        def event_fn(_user: Any, e: Any) -> None:
            c = e.contents
            if on_event is not None and self._error is None:
                try:
                    on_event(AudioEvent(c, self._stream(c.stream)))
                except BaseException as x:  # noqa: B902 - raised from the call that ran it
                    self._error = x
            if c.kind in (AUDIO_EVENTS.index("end"), AUDIO_EVENTS.index("not_taken")):
                self._streams.pop(c.stream.contents.id, None)
                if pool is not None:
                    pool.end(c.stream.contents.id)

        sub.on_audio = _AUDIO_BLOCK_FN(block_fn)
        sub.on_event = _AUDIO_EVENT_FN(event_fn)
        self._keep += [sub.on_audio, sub.on_event]
        if pool is not None:
            sub.on_buffer = _AUDIO_BUFFER_FN(buffer_fn)
            self._keep.append(sub.on_buffer)
        out = ctypes.c_int()
        self._run(_lib.rtcap_audio_subscribe(self._audio, ctypes.byref(sub), ctypes.byref(out)))
        return out.value

    def _run(self, status: int) -> int:
        error, self._error = self._error, None
        if error is not None:
            raise error
        return _check(status)

    def unsubscribe(self, subscription: int) -> None:
        """ConfigError (subscription=) for a number subscribe() did not give or already
        unsubscribed; BusyError from inside this Audio's own callbacks."""
        self._run(_lib.rtcap_audio_unsubscribe(self._audio, _subscription(subscription)))

    def add(self, view: BatchView, linktype: Optional[int] = None) -> None:
        """Every packet of a poll()/dispatch() batch, each with its own interface's link type
        (the Capture's, per interface index); `linktype` forces one for all (1 Ethernet)."""
        _batch_args(view, linktype)
        if linktype is None and view.linktypes is not None:
            self._run(_lib.rtcap_audio_add_batch_by_interface(
                self._audio, ctypes.byref(view._batch), view.linktypes, len(view.linktypes)))
        else:
            self._run(_lib.rtcap_audio_add_batch(self._audio, ctypes.byref(view._batch),
                                                 1 if linktype is None else linktype))

    def expire(self, now_ns: int) -> None:
        if isinstance(now_ns, bool) or not isinstance(now_ns, int):
            raise _bad_type("now_ns", now_ns, "an int")
        if not _INT64[0] <= now_ns <= _INT64[1]:
            raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                              "now_ns=: %d does not fit in 64 bits" % now_ns)
        self._run(_lib.rtcap_audio_expire(self._audio, now_ns))

    def finish(self) -> None:
        """Delivers what is held and ends every stream (end events)."""
        self._run(_lib.rtcap_audio_finish(self._audio))

    def stats(self, subscription: int) -> Dict[str, int]:
        s = _AudioStats()
        s.size = ctypes.sizeof(s)
        self._run(_lib.rtcap_audio_stats_get(self._audio, _subscription(subscription),
                                             ctypes.byref(s)))
        return {n: getattr(s, n) for n in _AUDIO_STATS}

    def levels(self, subscription: int) -> List[Tuple[AudioStream, List[Dict[str, Any]]]]:
        """Now, on demand: (stream, a dict per channel as in a levels event) for every stream
        the subscription holds. Not from inside this Audio's callbacks (BusyError)."""
        number = _subscription(subscription)
        count, level_count = ctypes.c_size_t(), ctypes.c_size_t()
        while True:
            streams = (ctypes.POINTER(_AudioStream) * max(count.value, 1))()
            levels = (_ChannelLevels * max(level_count.value, 1))()
            status = _lib.rtcap_audio_levels(self._audio, number, streams, len(streams),
                                             ctypes.byref(count), levels, len(levels),
                                             ctypes.byref(level_count))
            if status != ERR_BUFFER_TOO_SMALL:
                break
        self._run(status)
        out, k = [], 0
        for i in range(count.value):
            stream = AudioStream(streams[i].contents)
            out.append((stream, _levels_dicts(levels[k:k + stream.channels], stream.channels)))
            k += stream.channels
        return out

    def close(self) -> None:
        if getattr(self, "_open_audio", None) is not None:
            _check(_lib.rtcap_audio_close(self._open_audio))
            self._open_audio = None

    @property
    def _audio(self) -> ctypes.c_void_p:
        if getattr(self, "_open_audio", None) is None:
            raise _closed("Audio")
        return self._open_audio  # type: ignore[return-value]


# ---- stream analysis (rtcap_tracker_*, rtcap/analysis.hpp) --------------------------------------
# The stream table of what was captured (loss, jitter, TS-DF, verdicts, SAP/SDP names, PTP):
#
#     with rtcap.Tracker() as tracker:
#         cap.poll(0.1, lambda view: tracker.add(view))
#         s = tracker.snapshot()     # the same dict as `rtcap --streams-json` writes
#         print(tracker.table(width=120))

class _TrackerOptions(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("sdp", ctypes.c_char_p),
                ("audio_formats", ctypes.POINTER(ctypes.c_char_p)),
                ("audio_format_count", ctypes.c_size_t), ("max_streams", ctypes.c_size_t),
                ("default_clock_rate", ctypes.c_uint32)]


_TEXT_FN = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
for _name, _restype, _argtypes in [
        ("rtcap_tracker_options_init", ctypes.c_int, [ctypes.POINTER(_TrackerOptions)]),
        ("rtcap_tracker_open", ctypes.c_int,
         [ctypes.POINTER(_TrackerOptions), ctypes.POINTER(ctypes.c_void_p)]),
        ("rtcap_tracker_close", ctypes.c_int, [ctypes.c_void_p]),
        ("rtcap_tracker_add_batch", ctypes.c_int,
         [ctypes.c_void_p, ctypes.POINTER(_Batch), ctypes.c_int]),
        ("rtcap_tracker_add_batch_by_interface", ctypes.c_int,
         [ctypes.c_void_p, ctypes.POINTER(_Batch), ctypes.POINTER(ctypes.c_int), ctypes.c_size_t]),
        ("rtcap_tracker_snapshot_json", ctypes.c_int, [ctypes.c_void_p] + _TEXT_FN),
        ("rtcap_tracker_table", ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t] + _TEXT_FN)]:
    _f = getattr(_lib, _name)
    _f.restype, _f.argtypes = _restype, _argtypes


def _text_of(call: Callable[[Any, int, Any], int]) -> str:
    """A C text call (rtcap.h: RTCAP_ERR_BUFFER_TOO_SMALL with the size needed), asked again
    while the text grows between calls."""
    needed = ctypes.c_size_t(0)
    size = 4096
    while True:
        buf = ctypes.create_string_buffer(size)
        status = call(buf, size, ctypes.byref(needed))
        if status != ERR_BUFFER_TOO_SMALL:
            _check(status)
            return buf.value.decode(errors="replace")
        size = max(needed.value, 2 * size)


class Tracker(_Closable):
    """The library's stream tracker over the C API's rtcap_tracker. sdp: SDP text describing
    streams; audio_formats: "SELECTOR=ENC/RATE/CH" texts (as the rtcap command's
    --audio-format). Bad values raise ConfigError naming the keyword. Usable from a Capture's
    handler; calls from several threads take turns."""

    def __init__(self, sdp: Optional[str] = None, audio_formats: Sequence[str] = (),
                 max_streams: Optional[int] = None,
                 default_clock_rate: Optional[int] = None) -> None:
        self._tracker: Optional[ctypes.c_void_p] = None
        o = _TrackerOptions()
        _check(_lib.rtcap_tracker_options_init(ctypes.byref(o)))
        if isinstance(audio_formats, (str, bytes)):  # one text would be read as its characters
            raise _bad_type("audio_formats", audio_formats, "a list of str")
        texts = [("sdp", t) for t in ([sdp] if sdp is not None else [])]
        texts += [("audio_formats", t) for t in audio_formats]
        for name, text in texts:
            if not isinstance(text, str) or "\0" in text:
                raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                                  "%s=: %r is not a text without NUL characters" % (name, text))
        if sdp is not None:
            o.sdp = sdp.encode()
        formats = (ctypes.c_char_p * max(1, len(audio_formats)))(
            *[f.encode() for f in audio_formats])
        o.audio_formats, o.audio_format_count = formats, len(audio_formats)
        for name, number, top in [("max_streams", max_streams, 1 << 31),
                                  ("default_clock_rate", default_clock_rate, 1 << 32)]:
            if number is None:
                continue
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < top:
                raise ConfigError(ERR_BAD_CONFIG, "RTCAP_ERR_BAD_CONFIG",
                                  "%s=: %r is not a whole number from 0 to %d" % (name, number,
                                                                                  top - 1))
            setattr(o, name, number)
        handle = ctypes.c_void_p()
        _check(_lib.rtcap_tracker_open(ctypes.byref(o), ctypes.byref(handle)))
        self._tracker = handle

    def _handle(self) -> ctypes.c_void_p:
        if self._tracker is None:
            raise _closed("Tracker")
        return self._tracker

    def add(self, view: BatchView, linktype: Optional[int] = None) -> None:
        """Every packet of a poll()/dispatch() batch, each with its own interface's link type
        (the Capture's, per interface index); `linktype` forces one for all (1 Ethernet)."""
        _batch_args(view, linktype)
        if linktype is None and view.linktypes is not None:
            _check(_lib.rtcap_tracker_add_batch_by_interface(
                self._handle(), ctypes.byref(view._batch), view.linktypes, len(view.linktypes)))
        else:
            _check(_lib.rtcap_tracker_add_batch(self._handle(), ctypes.byref(view._batch),
                                                1 if linktype is None else linktype))

    def snapshot(self) -> Dict[str, Any]:
        """{"totals": ..., "streams": [...], ...}: the library's JSON, as --streams-json."""
        handle = self._handle()
        result: Dict[str, Any] = json.loads(_text_of(
            lambda buf, size, needed: _lib.rtcap_tracker_snapshot_json(handle, buf, size, needed)))
        return result

    def table(self, width: int = 0) -> str:
        """The stream table for a terminal, fitted to width characters (0: every column)."""
        if isinstance(width, bool) or not isinstance(width, int) or width < 0:
            raise ValueError("width=: %r is not a whole number from 0" % (width,))
        handle = self._handle()
        return _text_of(
            lambda buf, size, needed: _lib.rtcap_tracker_table(handle, width, buf, size, needed))

    def close(self) -> None:
        """Raises BusyError while an Audio opened on this tracker is open."""
        if getattr(self, "_tracker", None) is not None:
            _check(_lib.rtcap_tracker_close(self._tracker))
            self._tracker = None
