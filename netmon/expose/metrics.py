"""``/metrics``: a custom prometheus-client Collector over the monitor's in-memory state.

One collector builds every family at scrape time from the latest state, instead
of thousands of long-lived child gauges (prometheus_client's own advice for
exporters).  Names follow Prometheus conventions (``_total``, ``_seconds``,
``_bytes``, base units).  Descriptive labels — Vietnamese names, district,
coordinates — live on ``*_info`` series only, so the per-interface series stay
small; join on ``device``/``site``.  No secret is ever a label: targets carry
only references.

Two outputs, one source of truth.  The builders below are the only place that
decides which families, labels and series exist; they fill :class:`_Family`
objects (label-value tuples and values, in order), the per-device ones through
a rows function per group of families (``_router_rows``, ``_station_row``,
``_icmp_row``, ``_health_row``).  From those:

* :meth:`MonitorCollector.collect` yields ordinary prometheus-client families,
  built afresh, for ``registry.collect()`` / ``generate_latest`` users;
* :meth:`MonitorCollector.render_parts` writes the text format (0.0.4) itself,
  one piece per family, and is what ``/metrics`` serves (:mod:`netmon.expose.http`);
  :meth:`MonitorCollector.render` joins the pieces.  The bytes are identical to
  ``generate_latest`` of the same state (tested, also across polls, faults and
  reboots).

Why a renderer of our own — ``python bench/exposition.py``, this 2-core box.
For the province (70,900 lines, 6.4 MB) ``generate_latest`` takes ~400 ms (10×:
723,000 lines, 67 MB, ~5 s): ~140 ms to build the families, the rest to format
them — per sample it re-sorts the label dict, re-escapes every label value and
goes through ``floatToGoString``, ~4 µs a sample.  The targets (50 ms, 500 ms)
leave under 0.7 µs a line, so no collector, however lean, gets there through
``generate_latest``.  The renderer instead

* keeps the static families (``*_info``, contracted bandwidth) as bytes: the
  inventory does not change while running;
* keeps, per device, the text of its series in each family, with the serial
  numbers of the inputs it was made from (observation and RateResult, ICMP
  result; health state: the monitor replaces these immutable objects when they
  change), and re-formats a device's series only when it was polled since — and
  then only the families whose values changed (octet counters, uptime; states,
  speeds and idle error counters keep their text).  Base stations, ICMP and
  health have a fixed number of series per device: flat rows, a few
  comprehensions per device (:class:`_Fixed`); routers one row per interface
  (:class:`_Device`).  Entries are updated in place: what a render keeps is what
  the garbage collector scans next;
* formats each label set once (cached, through a format string per label set),
  values with an exact, faster ``floatToGoString`` (``go_float``), the few
  per-scrape families in C-level bulk (``map`` over dict lookups, one ``join``);
* pauses the cyclic garbage collector while it runs (one pass after it instead
  of ~150 small ones during it) and hands out one piece per family instead of a
  67 MB copy (fresh pages from the kernel: ~16,000 page faults, ~200 ms here).

Per render (bench, sample province / 10×): nothing polled since the last scrape
7 / 112 ms; 30 s of polls (the deployed scrape interval: half the routers, a
tenth of the stations) 16 / 208 ms; every device polled since the last scrape
37 / 437 ms; the first scrape of a collector (every label set and value
formatted once, a one-off after start) 54 / 649 ms.
"""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import chain
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast
from zoneinfo import ZoneInfo

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from netmon.health.states import State

if TYPE_CHECKING:
    from netmon.collect.icmp import IcmpResult
    from netmon.health.observation import DeviceObs
    from netmon.health.rates import CounterName, RateResult
    from netmon.monitor import Monitor

DEVICE_STATES = (State.UP, State.DOWN, State.UNREACHABLE, State.UNKNOWN)
LINK_STATES = (State.UP, State.DOWN, State.FLAPPING, State.UNKNOWN)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SEVERITY_CRITICAL_ROLES = ("core", "district")
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""What :meth:`MonitorCollector.render` writes (Prometheus' text format; every Prometheus accepts it)."""

Key = tuple[str, ...]
Value = float | int
T = TypeVar("T")

INTERFACE_COUNTERS: Final[tuple[tuple[CounterName, str], ...]] = (
    ("in_octets", "Octets received (wraps, resets and reboots removed: never spikes)."),
    ("out_octets", "Octets sent (wraps, resets and reboots removed: never spikes)."),
    ("in_errors", "Inbound errors."), ("out_errors", "Outbound errors."),
    ("in_discards", "Inbound discards."), ("out_discards", "Outbound discards."),
)
COUNTER_NAMES: Final = tuple(name for name, _ in INTERFACE_COUNTERS)
POLL_COUNTERS: Final = (
    ("polls", "netmon_polls", "SNMP polls made."),
    ("errors", "netmon_poll_errors", "Polls that failed (any reason)."),
    ("timeouts", "netmon_poll_timeouts", "Requests that timed out."),
    ("retries", "netmon_poll_retries", "Requests sent again."),
    ("requests", "netmon_poll_requests", "SNMP requests sent."),
    ("varbinds", "netmon_poll_varbinds", "Values received."),
)


def _since(at: datetime) -> str:
    local = at.astimezone(LOCAL)
    return local.strftime("%Y-%m-%d %H:%M (%z)").replace("(+0700)", "(+07)")


# --------------------------------------------------------------------------------------------- values
_EXACT: Final = 2**53  # below this an int converts to float exactly and repr(float(v)) is "<digits>.0"
_SMALL: Final = tuple(f"{i}.0" for i in range(1024))
_INF: Final = math.inf
_EXPONENT: Final = tuple(f"e+{i:02d}" for i in range(16))  # 2**53 has 16 digits


def _prometheus_float(v: Value) -> str:
    return cast(str, floatToGoString(v))  # type: ignore[no-untyped-call]


def go_float(v: Value) -> str:
    """Exactly ``prometheus_client.utils.floatToGoString(v)``, about twice as fast for the common cases."""
    if type(v) is int:
        if 0 <= v < 1024:
            return _SMALL[v]
        if -_EXACT < v < 1_000_000:
            return f"{v}.0"
        if 1_000_000 <= v < _EXACT:  # Go's %g switches to an exponent where repr does not (octet counters)
            digits = str(v)
            kept = digits.rstrip("0")
            return (f"{kept[0]}.{kept[1:]}" if len(kept) > 1 else kept) + _EXPONENT[len(digits) - 1]
        return _prometheus_float(v)
    if type(v) is float:
        if -_INF < v < 1e6:  # NaN fails both comparisons
            return repr(v)
        if 1e6 <= v < _INF:  # as for ints (repr itself switches at 1e16)
            s = repr(v)
            dot = s.find(".")
            if dot > 6:
                mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
                return f"{mantissa}e+{dot - 1:02d}"
            return s
    return _prometheus_float(v)


def go_floats(values: list[Value], memo: dict[Value, str]) -> list[str]:
    """``go_float`` of each value, through ``memo`` (value → text), which learns the values it lacked.

    Equal numbers have equal text — with one exception: ``-0.0 == 0`` and they hash alike, yet the text of
    ``-0.0`` is ``-0.0``.  So no builder may hand out ``-0.0``: every float taken as is from the monitor
    goes through ``or 0.0`` (which turns ``-0.0`` into ``0.0``), computed ones cannot be ``-0.0``.
    """
    strings: list[str | None] = list(map(memo.get, values))
    if not all(strings):
        for v in set(values).difference(memo):
            memo[v] = go_float(v)
        strings = list(map(memo.get, values))
    return strings  # type: ignore[return-value]


def _interleave(columns: Sequence[Sequence[T]]) -> list[T]:
    """``[a0, b0, c0, a1, b1, c1, …]`` from columns ``a``, ``b``, ``c``: series device by device."""
    return list(chain.from_iterable(zip(*columns, strict=True)))


def _escape(value: str) -> str:
    """Label-value escaping of the text format (as prometheus_client does it)."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


# ------------------------------------------------------------------------------------------- families
class _Family:
    """One family's series for one scrape: label-value tuples and values, in export order.

    ``kind`` is ``gauge``, ``counter`` or ``info``; for ``info`` the first ``key_labels`` labels are the
    family's own (``site``, ``device`` …) and the rest its descriptive labels, the value is always 1.
    """

    __slots__ = ("chunks", "doc", "exposed_name", "key_labels", "keys", "kind", "labels", "name", "shared",
                 "template", "values")

    def __init__(self, name: str, doc: str, kind: str, labels: Sequence[str] = (), key_labels: int = 0) -> None:
        self.name, self.doc, self.kind = name, doc, kind
        self.labels: tuple[str, ...] = tuple(labels)
        self.key_labels = key_labels
        self.keys: list[Key] = []
        self.values: list[Value] = []
        self.shared = False  # keys/values are the caller's lists: copy before appending
        self.exposed_name = name + {"counter": "_total", "info": "_info"}.get(kind, "")
        self.chunks: list[bytes] | None = None  # render(): the series' text, device by device, instead
        # label_text(): a format string with the labels sorted by name, taking the values in key order.
        order = sorted(range(len(self.labels)), key=self.labels.__getitem__)
        self.template = "{{" + ",".join(f'{self.labels[i]}="{{{i}}}"' for i in order) + "}} " if labels else " "

    def add(self, key: Key, value: Value) -> None:
        if self.shared:
            self.keys, self.values, self.shared = list(self.keys), list(self.values), False
        self.keys.append(key)
        self.values.append(value)

    def extend(self, keys: list[Key], values: list[Value | None]) -> None:
        """Add series in bulk, in order; a ``None`` value means that series is absent.

        The first call keeps the caller's lists when nothing is absent: families over the same series then
        share one key list, and :meth:`text` looks its label text up once for all of them.
        """
        if None in values:
            kept = [(k, v) for k, v in zip(keys, values, strict=True) if v is not None]
            keys, values = [k for k, _ in kept], [v for _, v in kept]
        elif not self.keys:
            self.keys, self.values, self.shared = keys, values, True  # type: ignore[assignment]
            return
        if self.shared:
            self.keys, self.values, self.shared = list(self.keys), list(self.values), False
        self.keys += keys
        self.values += values  # type: ignore[arg-type]

    # -- prometheus_client's view
    def metric(self) -> Metric:
        assert self.chunks is None, "built for render(), not collect()"
        pairs = zip(self.keys, self.values, strict=True)
        if self.kind == "info":
            n = self.key_labels
            info = InfoMetricFamily(self.name, self.doc, labels=self.labels[:n])
            names = self.labels[n:]
            for key, _ in pairs:
                info.add_metric(key[:n], dict(zip(names, key[n:], strict=True)))
            return info
        fam: GaugeMetricFamily | CounterMetricFamily
        if self.kind == "counter":
            fam = CounterMetricFamily(self.name, self.doc, labels=self.labels)
        else:
            fam = GaugeMetricFamily(self.name, self.doc, labels=self.labels)
        for key, value in pairs:
            fam.add_metric(key, value)
        return fam

    # -- the text format, as generate_latest writes it
    def header(self) -> str:
        name = self.exposed_name
        doc = self.doc.replace("\\", r"\\").replace("\n", r"\n")
        return f"# HELP {name} {doc}\n# TYPE {name} {'counter' if self.kind == 'counter' else 'gauge'}\n"

    def label_text(self, key: Key) -> str:
        """``{a="…",b="…"} `` with the labels sorted by name, or a lone space for no labels."""
        if not key:
            return " "
        if len(key) != len(self.labels):  # format() would ignore extra values silently
            raise ValueError(f"{self.name}: {len(key)} label values for {len(self.labels)} labels")
        joined = "".join(key)
        if "\\" in joined or "\n" in joined or '"' in joined:
            key = tuple(map(_escape, key))
        return self.template.format(*key)

    def text(self, cache: dict[Key, str], memo: dict[Value, str], shared: dict[int, list[str]]) -> str:
        """The family in the text format.

        ``cache``: key → label text, for this family's label names; ``memo``: value → text; ``shared``: id
        of a key list → its label texts, for the families of one render with the same label names.  Bulk
        operations only: per series two C-level lookups and a concatenation, one ``join`` per family.
        """
        head = self.header()
        keys = self.keys
        if not keys:
            return head
        labels: list[str | None] | None = shared.get(id(keys))  # type: ignore[assignment]
        if labels is None:
            labels = list(map(cache.get, keys))
            if not all(labels):
                labels = [text or cache.setdefault(k, self.label_text(k)) for text, k in zip(labels, keys, strict=True)]
            shared[id(keys)] = labels  # type: ignore[assignment]
        values = ["1.0"] * len(keys) if self.kind == "info" else go_floats(self.values, memo)
        name = self.exposed_name
        return head + name + ("\n" + name).join(map(str.__add__, labels, values)) + "\n"  # type: ignore[arg-type]


GroupRows = list[tuple[list[Key], list[Sequence[Value | None]]]]
"""One device's series in a group of families: per list of keys, the value columns of the consecutive
families over those keys (in family order); a ``None`` value = no series."""

_STATUS_OF: Final = attrgetter("oper_status", "admin_status", "speed_bps")
_COUNTERS_OF: Final = itemgetter(*COUNTER_NAMES)
_NO_COUNTERS: Final = (None,) * len(COUNTER_NAMES)
_NO_PORT: Final[tuple[Key, ...]] = (("", ""),) * 9  # a station without its port: absent series
_NO_PORT_VALUES: Final[tuple[None, ...]] = (None,) * 9
_KIND_UP: Final = {(kind, up): (kind, up) for kind in ("router", "bts") for up in (None, True, False)}


def _line(name: str, label: str, value: Value | None) -> str:
    if value is None:
        return ""
    if type(value) is float and -_INF < value < 1e6:  # go_float's commonest case (RTTs, uptimes), inlined
        return f"{name}{label}{value!r}\n"
    return f"{name}{label}{go_float(value)}\n"


def _lines(name: str, labels: list[str], values: tuple[Value | None, ...]) -> bytes:
    return "".join([_line(name, label, v) for label, v in zip(labels, values, strict=True)]).encode()


class _Shape:
    """What a group's rows look like: the families, and how many of them share each key list in turn
    (:class:`_Device`) or how many series each family has per device (:class:`_Fixed`)."""

    __slots__ = ("caches", "group_of", "label_texts", "names", "series_caches", "series_label_texts",
                 "series_names", "single", "slices")

    def __init__(self, families: list[_Family], shape: Sequence[int], labels: dict[tuple[str, ...], dict[Key, str]],
                 fixed: bool = False) -> None:
        self.names = [fam.exposed_name for fam in families]
        caches = [labels.setdefault(fam.labels, {}) for fam in families]  # key → label text
        if fixed:
            assert len(families) == len(shape)
            per_series = [i for i, n in enumerate(shape) for _ in range(n)]  # series → its family
            self.series_names = [self.names[i] for i in per_series]
            self.series_caches = [caches[i] for i in per_series]
            self.series_label_texts = [families[i].label_text for i in per_series]
            ends = [sum(shape[:i + 1]) for i in range(len(shape))]
            self.slices = list(zip([0, *ends[:-1]], ends, strict=True))
            self.single = all(n == 1 for n in shape)
            return
        self.group_of = [g for g, n in enumerate(shape) for _ in range(n)]  # family → its key list
        firsts = [sum(shape[:g]) for g in range(len(shape))]
        assert len(families) == sum(shape) and all(
            families[i].labels == families[firsts[g]].labels for i, g in enumerate(self.group_of)), "one label set"
        self.caches = [caches[i] for i in firsts]
        self.label_texts = [families[i].label_text for i in firsts]


class _Device:
    """One device's text in a group of families, with what it was made from (for reuse, see ``_grouped``).

    Per key list of the rows: ``keys``; per family: ``labels`` (the label text of its keys), ``values``
    and ``texts``, the device's lines, ready to send.  :meth:`update` remakes them in place; with the same
    keys, each family's text is reused where its values are equal — no builder hands out ``-0.0`` (see
    :func:`go_floats`), so equal values have equal text.  ``a`` and ``b``: the inputs the rows were made
    from, as ``_grouped`` keeps them.  In place, and as few new objects as can be: what a render keeps is
    what the garbage collector scans next (after a full poll at 10× the province, 27,000 devices' worth).
    """

    __slots__ = ("a", "b", "keys", "labels", "texts", "values")

    def __init__(self) -> None:
        self.a: object = None  # what the text was made from: serials, or the inputs themselves
        self.b: object = None
        self.keys: list[list[Key]] | None = None
        self.labels: list[list[str]] = []
        self.values: list[tuple[Value | None, ...]] = []
        self.texts: list[bytes] = []

    def update(self, a: object, b: object, shape: _Shape, rows: GroupRows) -> None:
        self.a, self.b = a, b
        keys = [k for k, _ in rows]
        values = [tuple(column) for _, columns in rows for column in columns]
        if self.keys == keys:  # the same series: the same label text
            self.texts = [text if was == now else _lines(name, labels, now) for text, was, now, name, labels
                          in zip(self.texts, self.values, values, shape.names, self.labels, strict=True)]
        else:
            per_key_list = [[cache.get(k) or cache.setdefault(k, label_text(k)) for k in ks]
                            for ks, cache, label_text in zip(keys, shape.caches, shape.label_texts, strict=True)]
            self.keys = keys
            self.labels = labels = list(map(per_key_list.__getitem__, shape.group_of))
            self.texts = list(map(_lines, shape.names, labels, values))
        self.values = values


class _Fixed:
    """A device's text in a group of families with a fixed number of series per device (one per family
    for a base station's backhaul port and uptime; 3, 1, 1 for ICMP; 4, 1 for health).

    Rows are flat — one key and one value per series, ``None`` for an absent series — so a device costs a
    few comprehensions rather than a loop per family: at 10× the province, 12,220 base stations and 13,720
    ICMP results are rebuilt after a full poll.  ``texts``: one bytes per family; reused, where the keys
    are the same, for each one-series family whose value is equal (see :class:`_Device`).
    """

    __slots__ = ("a", "b", "keys", "labels", "texts", "values")

    def __init__(self) -> None:
        self.a: object = None  # what the text was made from: serials, or the inputs themselves
        self.b: object = None
        self.keys: tuple[Key, ...] | None = None
        self.labels: list[str] = []
        self.values: tuple[Value | None, ...] = ()
        self.texts: list[bytes] = []

    def update(self, a: object, b: object, shape: _Shape, row: tuple[tuple[Key, ...], tuple[Value | None, ...]],
               ) -> None:
        self.a, self.b = a, b
        keys, values = row
        if self.keys == keys:
            labels = self.labels
            if shape.single:
                self.texts = [text if was == now else _line(name, label, now).encode() for text, was, now, name, label
                              in zip(self.texts, self.values, values, shape.names, labels, strict=True)]
                self.values = values
                return
        else:
            self.keys = keys
            self.labels = labels = [cache.get(k) or cache.setdefault(k, label_text(k)) for k, cache, label_text
                                    in zip(keys, shape.series_caches, shape.series_label_texts, strict=True)]
        lines = list(map(_line, shape.series_names, labels, values))
        if shape.single:
            self.texts = list(map(str.encode, lines))
        else:
            self.texts = ["".join(lines[start:end]).encode() for start, end in shape.slices]
        self.values = values


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while rendering: the render makes no reference cycles, but its ~100k
    short-lived containers (10×) would set off ~150 young-generation passes, ~100 ms of the scrape.  What
    it keeps is scanned in one pass after it, by whichever thread allocates next."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class MonitorCollector(Collector):
    """Everything netmon knows, as Prometheus families, built per scrape."""

    def __init__(self, monitor: Monitor) -> None:
        self.m = monitor
        static = self._static_families()
        self._info: list[Metric] = [f.metric() for f in static]
        self._static_text = "".join(f.text({}, {}, {}) for f in static).encode()
        self._lock = threading.Lock()  # render()'s caches; concurrent scrapes take turns
        self._labels: dict[tuple[str, ...], dict[Key, str]] = {}  # label names → key → label text
        self._label_base: dict[tuple[str, ...], int] = {}  # label names → entries after the last clearing
        self._memo: dict[Value, str] = {}  # value → text
        self._keys: dict[tuple[str, ...], dict[str, Key]] = {}  # suffix → device → (device, *suffix)
        self._groups: dict[str, dict[str, _Device]] = {}  # group (polled, health, icmp) → device → its text

    # ----------------------------------------------------------------------------------------- outputs
    def collect(self) -> Iterator[Metric]:
        yield from self._info
        for fam in self._families(fresh=True):
            yield fam.metric()

    def render(self) -> bytes:
        """The exposition text (format 0.0.4), byte for byte what ``generate_latest`` makes of :meth:`collect`."""
        return b"".join(self.render_parts())

    def render_parts(self) -> list[bytes]:
        """:meth:`render` as it is served: the static text, then one piece per family.

        Pieces rather than one copy of the whole text: at 10× the province (67 MB) a fresh buffer that big
        comes from the kernel page by page — 16,000 page faults, ~200 ms on this box — where a family's
        piece (at most ~5 MB) reuses memory malloc already holds.  The HTTP app compresses or writes the
        pieces one by one.
        """
        with self._lock, _gc_paused():
            return self._render_parts()  # its temporaries are gone before the collector runs again

    def _render_parts(self) -> list[bytes]:
        families = self._families(fresh=False)
        parts = [self._static_text]
        memo = self._memo
        shared: dict[tuple[str, ...], dict[int, list[str]]] = {}  # the key lists live until the end
        for fam in families:
            if fam.chunks is not None:
                parts.append(fam.header().encode() + b"".join(fam.chunks))
            else:
                cache = self._labels.setdefault(fam.labels, {})
                parts.append(fam.text(cache, memo, shared.setdefault(fam.labels, {})).encode())
        self._prune(families)
        return parts

    def _prune(self, families: list[_Family]) -> None:
        """Text of series and values gone away (devices removed, counters moved on) must not pile up."""
        for labels, cache in self._labels.items():
            base = self._label_base.get(labels)
            if base is None:
                self._label_base[labels] = len(cache)
            elif len(cache) > 2 * base + 1024:
                cache.clear()
                del self._label_base[labels]
        if len(self._memo) > 2 * sum(len(fam.values) for fam in families) + 4096:
            self._memo.clear()
        m = self.m
        devices = len(m.stats) + len(m.observations) + len(m.health.devices) + len(m.health.base_stations)
        for name, group in list(self._groups.items()):
            if len(group) > devices + 256:
                del self._groups[name]
        for by_device in self._keys.values():
            if len(by_device) > devices + 256:
                by_device.clear()

    def _families(self, fresh: bool) -> list[_Family]:
        """Every family but the static ones; ``fresh``: build everything anew (for collect()), else reuse
        the text of series whose inputs have not changed since the last render."""
        m = self.m
        return [*self._health(m, fresh), *self._devices(m, fresh), *self._poller(m)]

    def _keyed(self, devices: list[str], *suffix: str) -> list[Key]:
        """``(device, *suffix)`` for each device, the same tuples from one scrape to the next."""
        known = self._keys.setdefault(suffix, {})
        keys: list[Key | None] = list(map(known.get, devices))
        if all(keys):
            return keys  # type: ignore[return-value]
        return [k or known.setdefault(d, (d, *suffix)) for k, d in zip(keys, devices, strict=True)]

    # ------------------------------------------------------------------------------------------ groups
    def _grouped(self, name: str, families: list[_Family], items: list[tuple[str, Any, Any]],
                 rows: Callable[[str, Any, Any], Any], shape: Sequence[int], fresh: bool, *,
                 serials: bool = False, fixed: bool = False) -> None:
        """Add to ``families`` device by device: ``items`` are (device, a, b), ``rows(device, a, b)`` its series.

        ``rows`` gives :data:`GroupRows` and ``shape`` says how many consecutive families share each key
        list, or with ``fixed`` flat keys and values, one per series, and ``shape`` says how many series
        each family has.  ``a`` and ``b`` are the immutable inputs of ``rows`` (an observation, a health
        record …), replaced by the monitor whenever they change: while both are the same objects as at the
        last render, the device's text from then is reused as it is; after a change, the text of each family
        whose keys and values are unchanged (states, speeds, idle error counters …) is reused too.
        ``serials``: keep only their serial numbers (:mod:`netmon.serial`), not the objects — an observation
        the monitor has replaced is then freed by the poller that replaced it, not by the next scrape (at the
        province, ~10 ms of a scrape after a full poll).  ``fresh`` (collect()): keys and values only.
        """
        if fresh:
            per_series = [i for i, n in enumerate(shape) for _ in range(n)]
            for dev, a, b in items:
                if fixed:
                    keys, values = rows(dev, a, b)
                    for i, key, value in zip(per_series, keys, values, strict=True):
                        if value is not None:
                            families[i].add(key, value)
                    continue
                i = 0
                for keys, columns in rows(dev, a, b):
                    for column in columns:
                        families[i].extend(keys, list(column))
                        i += 1
            return
        cache: dict[str, Any] = self._groups.setdefault(name, {})
        spec = _Shape(families, shape, self._labels, fixed)
        kind = _Fixed if fixed else _Device
        texts: list[list[bytes]] = []
        if serials:
            for dev, a, b in items:
                entry = cache.get(dev)
                if entry is None:
                    entry = cache[dev] = kind()
                if entry.a != a.serial or entry.b != (b.serial if b is not None else 0):
                    entry.update(a.serial, b.serial if b is not None else 0, spec, rows(dev, a, b))
                texts.append(entry.texts)
        else:
            for dev, a, b in items:
                entry = cache.get(dev)
                if entry is None:
                    entry = cache[dev] = kind()
                if entry.a is not a or entry.b is not b:
                    entry.update(a, b, spec, rows(dev, a, b))
                texts.append(entry.texts)
        for i, fam in enumerate(families):
            fam.chunks = (fam.chunks or []) + list(map(itemgetter(i), texts))

    def _router_rows(self, dev: str, obs: DeviceObs, _rates: RateResult | None) -> GroupRows:
        """A router's interfaces (9 families over the same series) and uptime: they change only when it is
        polled.

        The monitor replaces the observation, then updates the tracker, then replaces the RateResult; the
        caller reads the RateResult before the tracker, so text built from a half-updated tracker is
        rebuilt at the next render.
        """
        uptime: tuple[list[Key], list[Sequence[Value | None]]] = (
            [(dev,)], [(None if obs.uptime_ticks is None else obs.uptime_ticks / 100,)])
        itfs = list(obs.interfaces.values())
        if not itfs:
            return [([], [()] * 9), uptime]
        totals = self.m.tracker.live_totals(dev)
        counters = [_COUNTERS_OF(t) if (t := totals.get(i.if_index)) else _NO_COUNTERS for i in itfs]
        oper, admin, speed = zip(*map(_STATUS_OF, itfs), strict=True)
        return [([(dev, i.label) for i in itfs],
                 [oper, admin, [sp / 8 if sp else None for sp in speed], *zip(*counters, strict=True)]),
                uptime]

    def _station_row(self, dev: str, obs: DeviceObs, _rates: RateResult | None,
                     ) -> tuple[tuple[Key, ...], tuple[Value | None, ...]]:
        """A base station's backhaul port in the 9 interface families (their radio ports would be 10k
        series for nothing), and its uptime: one series each (see _router_rows for the order of reads)."""
        uptime = None if obs.uptime_ticks is None else obs.uptime_ticks / 100
        port = obs.interfaces.get(1)
        if port is None:
            return (*_NO_PORT, (dev,)), (*_NO_PORT_VALUES, uptime)
        key = (dev, port.label)
        totals = self.m.tracker.live_interface_totals(dev, 1)
        sp = port.speed_bps
        return ((key,) * 9 + ((dev,),),
                (port.oper_status, port.admin_status, sp / 8 if sp else None,
                 *(_COUNTERS_OF(totals) if totals else _NO_COUNTERS), uptime))

    @staticmethod
    def _icmp_row(dev: str, r: IcmpResult, _: None) -> tuple[tuple[Key, ...], tuple[Value | None, ...]]:
        keys = ((dev, "min"), (dev, "avg"), (dev, "max"), (dev,), (dev,))
        if r.rtt_avg_ms is None:
            return keys, (None, None, None, r.loss or 0.0, None)
        return keys, ((r.rtt_min_ms or 0.0) / 1000, (r.rtt_avg_ms or 0.0) / 1000, (r.rtt_max_ms or 0.0) / 1000,
                      r.loss or 0.0, (r.jitter_ms or 0.0) / 1000)

    @staticmethod
    def _health_row(dev: str, state: State, kind_up: tuple[str, bool | None],
                    ) -> tuple[tuple[Key, ...], tuple[Value | None, ...]]:
        kind, up = kind_up
        return ((*[(dev, kind, s.value) for s in DEVICE_STATES], (dev, kind)),
                (*[1 if state is s else 0 for s in DEVICE_STATES], None if up is None else 1 if up else 0))

    # ---------------------------------------------------------------------------------------- builders
    # Static families: built once (the inventory does not change while running).
    def _static_families(self) -> list[_Family]:
        inv = self.m.inventory
        districts = inv.districts
        communes = inv.communes
        site = _Family("netmon_site", "Agency sites (static, for joins).", "info",
                       ("site", "name", "kind", "level", "district", "district_name", "commune", "commune_name",
                        "lat", "lon"), 1)
        for s in inv.sites.values():
            site.add((s.id, s.name, s.kind.value, s.level.value, s.district or "",
                      districts[s.district].name if s.district else "", s.commune or "",
                      communes[s.commune][1].name if s.commune in communes else "",
                      f"{s.lat:.6f}", f"{s.lon:.6f}"), 1)
        device = _Family("netmon_device", "Monitored routers (static, for joins).", "info",
                         ("device", "site", "role", "platform", "model", "mgmt"), 1)
        for d in inv.devices.values():
            device.add((d.id, d.site, d.role.value, d.platform, d.model or "", d.mgmt.host), 1)
        bts = _Family("netmon_base_station", "Mobile base stations (static, for joins).", "info",
                      ("base_station", "operator", "technologies", "has_4g", "district", "district_name", "commune",
                       "commune_name", "lat", "lon", "monitored"), 1)
        for b in inv.base_stations.values():
            techs = sorted(t.value for t in b.technologies)
            bts.add((b.id, b.operator.value, ",".join(techs), str("4G" in techs).lower(), b.district,
                     districts[b.district].name if b.district in districts else "", b.commune,
                     communes[b.commune][1].name if b.commune in communes else "",
                     f"{b.lat:.6f}", f"{b.lon:.6f}", str(b.mgmt is not None).lower()), 1)
        link = _Family("netmon_link", "Watched links (static, for joins).", "info",
                       ("link", "a_device", "a_interface", "b_device", "b_interface", "circuit", "provider"), 1)
        for ln in inv.links.values():
            link.add((ln.id, ln.a.device, ln.a.interface, ln.b.device, ln.b.interface, ln.circuit or "",
                      ln.provider or ""), 1)
        contracted = _Family("netmon_interface_contracted_bandwidth_bytes",
                             "Contracted bandwidth of a watched interface, bytes per second.", "gauge",
                             ("device", "interface", "circuit", "provider"))
        for d in inv.devices.values():
            for w in d.interfaces:
                if w.bandwidth_mbps:
                    contracted.add((d.id, w.name, w.circuit or "", w.provider or ""), w.bandwidth_mbps * 1_000_000 / 8)
        return [site, device, bts, link, contracted]

    def _health(self, m: Monitor, fresh: bool) -> list[_Family]:
        status = _Family("netmon_device_status", "1 for the device's current state.", "gauge",
                         ("device", "kind", "state"))
        up = _Family("netmon_device_up", "1 when SNMP answered at the last poll.", "gauge", ("device", "kind"))
        health = m.health
        # A health record is replaced at every judgement, polled or not: the series depend on its state and
        # on whether SNMP answered only, so these (constants, compared by identity) are the group's inputs.
        items: list[tuple[str, object, object]] = [
            (dev, h.state, _KIND_UP[kind, None if h.last_check is None else bool(h.last_check.snmp_ok)])
            for kind, table in (("router", health.devices), ("bts", health.base_stations))
            for dev, h in list(table.items())]
        self._grouped("health", [status, up], items, self._health_row, (4, 1), fresh, fixed=True)
        links = _Family("netmon_link_status", "1 for the link's current state.", "gauge", ("link", "state"))
        link_ids = list(health.links)
        link_records = [health.links[i] for i in link_ids]
        links.extend(_interleave([self._keyed(link_ids, s.value) for s in LINK_STATES]),
                     _interleave([[1 if lh.state is s else 0 for lh in link_records] for s in LINK_STATES]))

        open_ = _Family("netmon_incident_open", "1 per open incident (one per root cause).", "gauge",
                        ("incident", "kind", "severity", "device", "link", "site", "site_name", "district",
                         "district_name", "title", "summary", "since"))
        affected = _Family("netmon_incident_affected_sites", "Sites unreachable behind the incident.", "gauge",
                           ("incident",))
        started = _Family("netmon_incident_started_timestamp_seconds", "When the incident began.", "gauge",
                          ("incident",))
        unreachable = _Family("netmon_device_unreachable",
                              "1 for a device unreachable behind an incident's root cause.", "gauge",
                              ("device", "site", "site_name", "district", "district_name", "incident"))
        inv = m.inventory
        districts = inv.districts
        topology = m.topology
        for inc in list(m.incidents.values()):
            kind, _, root = inc.key.partition(":")
            node = topology.nodes.get(root) if kind == "device" else None
            if kind == "link":
                child = topology.links[root].child if root in topology.links else None
                node = topology.nodes.get(child) if child else None
            critical = node is not None and node.role in SEVERITY_CRITICAL_ROLES and inc.kind.value != "link_flapping"
            site = inv.sites.get(inc.site_id or "")
            open_.add((
                inc.key, inc.kind.value, "critical" if critical else "warning",
                root if kind in ("device", "bts") else "", root if kind == "link" else "",
                inc.site_id or "", inc.site_name or "", (site.district or "") if site else "",
                inc.district or "", inc.title, inc.summary, _since(inc.started_at)), 1)
            affected.add((inc.key,), len(inc.affected))
            started.add((inc.key,), inc.started_at.timestamp())
            for a in inc.affected:
                where = inv.sites.get(a.site_id)
                code = where.district if where is not None and where.district else ""
                dname = districts[code].name if code in districts else ""
                unreachable.add((a.device_id, a.site_id, a.name, code, dname, inc.key), 1)
        return [status, up, links, open_, affected, started, unreachable]

    def _devices(self, m: Monitor, fresh: bool) -> list[_Family]:
        """The interface families, then the device families (in the order of the exposition).

        Interfaces and uptime: the routers' series, then the base stations'.
        """
        labels = ("device", "interface")
        polled = [
            _Family("netmon_interface_oper_status", "ifOperStatus (1 up, 2 down, …).", "gauge", labels),
            _Family("netmon_interface_admin_status", "ifAdminStatus (1 up, 2 down).", "gauge", labels),
            _Family("netmon_interface_speed_bytes", "Interface speed, bytes per second.", "gauge", labels),
            *(_Family(f"netmon_interface_{name}", help_, "counter", labels) for name, help_ in INTERFACE_COUNTERS),
            _Family("netmon_device_uptime_seconds", "sysUpTime.", "gauge", ("device",)),
        ]
        rates = m.rates
        routers = m.inventory.devices
        # The RateResult is read before the tracker (see _router_rows).
        observed = [(dev, obs, rates.get(dev)) for dev, obs in list(m.observations.items())]
        self._grouped("routers", polled, [o for o in observed if o[0] in routers], self._router_rows, (9, 1),
                      fresh, serials=True)
        self._grouped("stations", polled, [o for o in observed if o[0] not in routers], self._station_row,
                      (1,) * 10, fresh, serials=True, fixed=True)

        reboots = _Family("netmon_device_reboots", "Reboots seen (sysUpTime reset).", "counter", ("device",))
        booted = list(m.reboots.items())
        reboots.extend(self._keyed([d for d, _ in booted]), [n for _, n in booted])
        icmp = [
            _Family("netmon_icmp_rtt_seconds", "ICMP round-trip time of the last round.", "gauge",
                    ("device", "stat")),
            _Family("netmon_icmp_loss_ratio", "Share of echo requests lost in the last round.", "gauge",
                    ("device",)),
            _Family("netmon_icmp_jitter_seconds", "ICMP jitter of the last round.", "gauge", ("device",)),
        ]
        self._grouped("icmp", icmp, [(dev, r, None) for dev, r in list(m.icmp_results.items())],
                      self._icmp_row, (3, 1, 1), fresh, serials=True, fixed=True)
        discont = _Family("netmon_counter_discontinuities", "Counter intervals dropped, by reason.", "counter",
                          ("device", "reason"))
        for dev, counts in m.tracker.all_discontinuities():
            for reason, n in counts.items():
                discont.add((dev, reason.value), n)
        return [*polled, reboots, *icmp, discont]

    def _poller(self, m: Monitor) -> list[_Family]:
        lv = ("device",)
        stats = list(m.stats.items())
        keys = self._keyed([d for d, _ in stats])
        out = []
        for attr, name, help_ in POLL_COUNTERS:
            fam = _Family(name, help_, "counter", lv)
            fam.extend(keys, [getattr(s, attr) for _, s in stats])
            out.append(fam)
        duration = _Family("netmon_poll_duration_seconds", "Wall time of the device's last poll.", "gauge", lv)
        duration.extend(keys, [s.last_duration_s or 0.0 for _, s in stats])
        cyc = _Family("netmon_poller_cycle_duration_seconds", "Wall time of the last full pass over the class.",
                      "gauge", ("class",))
        lag = _Family("netmon_poller_lag_seconds", "How late the last batch started.", "gauge", ("class",))
        interval = _Family("netmon_poller_interval_seconds", "Configured poll interval.", "gauge", ("class",))
        last = _Family("netmon_poller_last_batch_timestamp_seconds", "When the last batch started.", "gauge",
                       ("class",))
        for cls, c in list(m.classes.items()):
            key = (cls,)
            cyc.add(key, c.last_full_cycle_s or 0.0)
            lag.add(key, c.lag_s or 0.0)
            interval.add(key, c.interval_s or 0.0)
            last.add(key, c.last_start or 0.0)
        ready = _Family("netmon_ready", "1 once the first full poll is done.", "gauge")
        ready.add((), 1 if m.ready else 0)
        out += [duration, cyc, lag, interval, last, ready]
        extra = m.trap_stats
        if extra is not None:
            traps = _Family("netmon_traps", "SNMP traps by outcome.", "counter", ("outcome",))
            for outcome, n in extra().items():
                traps.add((outcome,), n)
            out.append(traps)
        return out
