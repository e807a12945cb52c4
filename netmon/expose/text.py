"""The text format (0.0.4) of ``/metrics``, written by netmon itself: byte for byte what prometheus-client's
``generate_latest`` makes of the same families, several times faster, so a scrape stays well inside its
budget at 10× the province (measured by ``python bench/exposition.py``; figures in the README).

:class:`Family` is one family's series for one scrape (filled by the builders in
:mod:`netmon.expose.metrics`, the list of families, which also keeps the static families — ``*_info``,
contracted bandwidth — as bytes: the inventory does not change while running); :class:`TextRenderer` turns
families into text and keeps, from one scrape to the next, what it can reuse:

* per device, the text of its series in each family, with the serial numbers (:mod:`netmon.serial`) of the
  inputs it was made from (observation and RateResult, ICMP result; health state: the monitor replaces these
  immutable objects when they change); a device's series are re-formatted only when it was polled since —
  and then only the families whose values changed (octet counters, uptime; states, speeds and idle error
  counters keep their text).  Base stations, ICMP and health have a fixed number of series per device: flat
  rows, a few comprehensions per device (:class:`_Fixed`); routers one row per interface (:class:`_Device`).
  Entries are updated in place: what a render keeps is what the garbage collector scans next;
* the label text of each label set (formatted once, through a format string per label set), and the text of
  each value, with an exact, faster ``floatToGoString`` (:func:`go_float`); the few per-scrape families are
  formatted in C-level bulk (``map`` over dict lookups, one ``join``).

The caller pauses the cyclic garbage collector while it renders (:func:`netmon.gcpause.gc_paused`) and hands
out one piece per family instead of one copy of the whole text.  Why not ``generate_latest``: per sample it
re-sorts the label dict, re-escapes every label value and goes through ``floatToGoString``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any, Final, cast

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.utils import floatToGoString

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""What :meth:`TextRenderer.render` writes (Prometheus' text format; every Prometheus accepts it)."""

Key = tuple[str, ...]
Value = float | int


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


def _escape(value: str) -> str:
    """Label-value escaping of the text format (as prometheus_client does it)."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


# ------------------------------------------------------------------------------------------- families
class Family:
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

    def __init__(self, families: list[Family], shape: Sequence[int], labels: dict[tuple[str, ...], dict[Key, str]],
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



class Pieces:
    """The text of one render, one piece per family, each made when the iteration reaches it.

    The families of devices' text (interfaces, uptime, ICMP, health) are kept as their header and chunks —
    bytes the renderer keeps anyway, immutable — and joined one family at a time: a reader that sends or
    compresses each piece before taking the next (the ``/metrics`` app) holds one family's text at a time
    (at most ~5 MB at 10× the province) instead of the whole exposition (67 MB). Iterate it once or more.
    """

    __slots__ = ("_parts",)

    def __init__(self, parts: list[bytes | tuple[bytes, list[bytes]]]) -> None:
        self._parts = parts

    def __iter__(self) -> Iterator[bytes]:
        for part in self._parts:
            yield part if isinstance(part, bytes) else part[0] + b"".join(part[1])

    @property
    def size(self) -> int:
        """Bytes in all (without joining anything)."""
        return sum(len(p) if isinstance(p, bytes) else len(p[0]) + sum(map(len, p[1])) for p in self._parts)


class TextRenderer:
    """Families → the text format, reusing from one render to the next what has not changed (see above).

    Not thread-safe: the caller renders under a lock (concurrent scrapes take turns).
    """

    def __init__(self) -> None:
        self._labels: dict[tuple[str, ...], dict[Key, str]] = {}  # label names → key → label text
        self._label_base: dict[tuple[str, ...], int] = {}  # label names → entries after the last clearing
        self._memo: dict[Value, str] = {}  # value → text
        self._keys: dict[tuple[str, ...], dict[str, Key]] = {}  # suffix → device → (device, *suffix)
        self._groups: dict[str, dict[str, Any]] = {}  # group (polled, health, icmp) → device → its text

    def render(self, static_text: bytes, families: list[Family]) -> list[bytes]:
        """``static_text``, then one piece of text per family."""
        return list(self.pieces(static_text, families))

    def pieces(self, static_text: bytes, families: list[Family]) -> Pieces:
        """:meth:`render`, the families of devices' text still in their chunks (see :class:`Pieces`)."""
        parts: list[bytes | tuple[bytes, list[bytes]]] = [static_text]
        memo = self._memo
        shared: dict[tuple[str, ...], dict[int, list[str]]] = {}  # the key lists live until the end
        for fam in families:
            if fam.chunks is not None:
                parts.append((fam.header().encode(), fam.chunks))
            else:
                cache = self._labels.setdefault(fam.labels, {})
                parts.append(fam.text(cache, memo, shared.setdefault(fam.labels, {})).encode())
        return Pieces(parts)

    def prune(self, families: list[Family], devices: int) -> None:
        """Text of series and values gone away (devices removed, counters moved on) must not pile up;
        ``devices``: about how many devices the state holds."""
        for labels, cache in self._labels.items():
            base = self._label_base.get(labels)
            if base is None:
                self._label_base[labels] = len(cache)
            elif len(cache) > 2 * base + 1024:
                cache.clear()
                del self._label_base[labels]
        # The values' text: what this render used is what the next one will mostly need (the devices not polled
        # in between); the rest (counters that moved on) is dropped once it is a quarter as many, not let grow
        # to twice as many.
        values = sum(len(fam.values) for fam in families)
        if len(self._memo) > values + values // 4 + 4096:
            memo = self._memo
            self._memo = {v: memo[v] for fam in families if fam.chunks is None for v in fam.values if v in memo}
        for name, group in list(self._groups.items()):
            if len(group) > devices + 256:
                del self._groups[name]
        for by_device in self._keys.values():
            if len(by_device) > devices + 256:
                by_device.clear()

    def keyed(self, devices: list[str], *suffix: str) -> list[Key]:
        """``(device, *suffix)`` for each device, the same tuples from one scrape to the next."""
        known = self._keys.setdefault(suffix, {})
        keys: list[Key | None] = list(map(known.get, devices))
        if all(keys):
            return keys  # type: ignore[return-value]
        return [k or known.setdefault(d, (d, *suffix)) for k, d in zip(keys, devices, strict=True)]

    # ------------------------------------------------------------------------------------------ groups
    def grouped(self, name: str, families: list[Family], items: list[tuple[str, Any, Any]],
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
