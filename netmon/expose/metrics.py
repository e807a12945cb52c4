"""``/metrics``: a custom prometheus-client Collector over the monitor's in-memory state.

One collector builds every family at scrape time from the latest state, instead
of thousands of long-lived child gauges (prometheus_client's own advice for
exporters).  Names follow Prometheus conventions (``_total``, ``_seconds``,
``_bytes``, base units).  Descriptive labels — Vietnamese names, district,
coordinates — live on ``*_info`` series only, so the per-interface series stay
small; join on ``device``/``site``.  No secret is ever a label: targets carry
only references.

Two outputs, one source of truth.  The builders below are the only place that
decides which families, labels and series exist; each fills a :class:`_Family`
(label-value tuples and values, in order).  From those families:

* :meth:`MonitorCollector.collect` yields ordinary prometheus-client families,
  for ``registry.collect()`` / ``generate_latest`` users;
* :meth:`MonitorCollector.render` writes the text format (0.0.4) itself, and is
  what ``/metrics`` serves (:mod:`netmon.expose.http`).  Its bytes are identical
  to ``generate_latest`` of the same state (tested, also across polls).

Why a renderer of our own — ``python bench/exposition.py`` on this 2-core box:
for the province (70,900 lines, 6.4 MB) ``generate_latest`` took ~420 ms, of
which ~140 ms built the families and ~280 ms formatted them: per sample it
re-sorts the label dict, re-escapes every value and goes through
``floatToGoString``, ~4 µs a sample.  The targets are 50 ms (province) and
500 ms (10×: 723,000 lines, 67 MB), i.e. under 0.7 µs a line all included, so
no collector, however lean, gets there through ``generate_latest``.  The
renderer instead

* keeps the static families (``*_info``, contracted bandwidth) as pre-rendered
  bytes: the inventory does not change while running;
* formats each label set once and keeps its text (per interface, device, link);
* formats values through a memo (most values are the same at the next scrape:
  states, speeds, counters of devices not polled since), in C-level bulk
  operations (``map`` over dict lookups, one ``join`` per family);
* rebuilds a device's interface series only when the device was polled since
  (its observation or its counter totals are new objects): a router has up to 50
  interfaces × 9 families, and reading the CounterTracker is the costly part;
* keeps the key tuples from one scrape to the next, so a scrape allocates few
  long-lived objects (at 10× a full garbage collection costs ~0.8 s).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from itertools import chain
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from netmon.health.states import State

if TYPE_CHECKING:
    from netmon.health.interpret import DeviceObs
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


def go_float(v: Value) -> str:
    """Exactly ``prometheus_client.utils.floatToGoString(v)``, about twice as fast for the common cases."""
    if type(v) is int:
        if 0 <= v < 1024:
            return _SMALL[v]
        if -_EXACT < v < 1_000_000:
            return f"{v}.0"
        if 1_000_000 <= v < _EXACT:  # Go's %g switches to an exponent where repr does not
            digits = str(v)
            mantissa = f"{digits[0]}.{digits[1:]}".rstrip("0.")
            return f"{mantissa}e+{len(digits) - 1:02d}"
        return floatToGoString(v)
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
    return floatToGoString(v)


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


def _interleave(columns: Sequence[list[Key]] | Sequence[list[Value | None]]) -> list:  # type: ignore[type-arg]
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

    __slots__ = ("doc", "key_labels", "keys", "kind", "labels", "name", "shared", "values")

    def __init__(self, name: str, doc: str, kind: str, labels: Sequence[str] = (), key_labels: int = 0) -> None:
        self.name, self.doc, self.kind = name, doc, kind
        self.labels: tuple[str, ...] = tuple(labels)
        self.key_labels = key_labels
        self.keys: list[Key] = []
        self.values: list[Value] = []
        self.shared = False  # keys/values are the caller's lists: copy before appending

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
    @property
    def exposed_name(self) -> str:
        return self.name + {"counter": "_total", "info": "_info"}.get(self.kind, "")

    def header(self) -> str:
        name = self.exposed_name
        doc = self.doc.replace("\\", r"\\").replace("\n", r"\n")
        return f"# HELP {name} {doc}\n# TYPE {name} {'counter' if self.kind == 'counter' else 'gauge'}\n"

    def label_text(self, key: Key) -> str:
        """``{a="…",b="…"} `` with the labels sorted by name, or a lone space for no labels."""
        if not key:
            return " "
        pairs = sorted(zip(self.labels, key, strict=True))
        return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "} "

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


_STATUS_OF: Final = attrgetter("oper_status", "admin_status", "speed_bps")
_COUNTERS_OF: Final = itemgetter(*COUNTER_NAMES)
_NO_COUNTERS: Final = (None,) * len(COUNTER_NAMES)
_NO_VALUES: Final[list[Sequence[Value | None]]] = [()] * 9


class _Polled:
    """A device's series that change only when it is polled: interfaces, uptime, discontinuities.

    ``obs`` and ``rates`` (the monitor's latest observation and RateResult, both immutable and replaced by
    each poll) identify the state they were built from; ``rates`` is read before the tracker, and the
    monitor replaces it only after the tracker's update, so series built from a half-updated tracker never
    outlive that update.
    """

    __slots__ = ("disc_keys", "disc_values", "keys", "obs", "one", "rates", "uptime", "values")

    def __init__(self, m: Monitor, dev: str, obs: DeviceObs, rates: RateResult | None, router: bool) -> None:
        self.obs, self.rates = obs, rates
        tracker = m.tracker
        self.values: list[Sequence[Value | None]]
        if router:
            itfs = list(obs.interfaces.values())
            per_if = tracker.totals(dev)
            counters = [_COUNTERS_OF(t) if (t := per_if.get(i.if_index)) else _NO_COUNTERS for i in itfs]
            self.keys: list[Key] = [(dev, i.label) for i in itfs]
            if itfs:
                oper, admin, speed = zip(*map(_STATUS_OF, itfs), strict=True)
                self.values = [oper, admin, [sp / 8 if sp else None for sp in speed], *zip(*counters, strict=True)]
            else:
                self.values = _NO_VALUES
        elif (backhaul := obs.interfaces.get(1)) is not None:
            # Base stations: only the backhaul port (their radio ports would add 10k series for nothing);
            # tracker.totals() would copy the counters of all of a station's ports.
            self.keys = [(dev, backhaul.label)]
            sp = backhaul.speed_bps
            self.values = [(backhaul.oper_status,), (backhaul.admin_status,), (sp / 8 if sp else None,),
                           *zip(map(partial(tracker.total, dev, 1), COUNTER_NAMES))]
        else:
            self.keys, self.values = [], _NO_VALUES
        self.one: Key = (dev,)
        self.uptime = None if obs.uptime_ticks is None else obs.uptime_ticks / 100
        counts = tracker.discontinuity_counts(dev)
        self.disc_keys: list[Key] = [(dev, reason.value) for reason in counts] if counts else []
        self.disc_values: list[Value | None] = list(counts.values())


class MonitorCollector(Collector):
    """Everything netmon knows, as Prometheus families, built per scrape."""

    def __init__(self, monitor: Monitor) -> None:
        self.m = monitor
        static = self._static_families()
        self._info: list[Metric] = [f.metric() for f in static]
        self._static_text = "".join(f.text({}, {}, {}) for f in static).encode()
        self._lock = threading.Lock()  # render()'s caches; concurrent scrapes take turns
        self._labels: dict[tuple[str, ...], dict[Key, str]] = {}  # label names → key → label text
        self._memo: dict[Value, str] = {}  # value → text
        self._polled: dict[str, _Polled] = {}  # device → its series as of its latest poll
        self._keys: dict[tuple[str, ...], dict[str, Key]] = {}  # suffix → device → (device, *suffix)

    # ----------------------------------------------------------------------------------------- outputs
    def collect(self) -> Iterator[Metric]:
        yield from self._info
        for fam in self._families(fresh=True):
            yield fam.metric()

    def render(self) -> bytes:
        """The exposition text (format 0.0.4), byte for byte what ``generate_latest`` makes of :meth:`collect`."""
        with self._lock:
            families = self._families(fresh=False)
            parts = [self._static_text]
            memo = self._memo
            shared: dict[tuple[str, ...], dict[int, list[str]]] = {}  # the key lists live until the end
            for fam in families:
                cache = self._labels.setdefault(fam.labels, {})
                parts.append(fam.text(cache, memo, shared.setdefault(fam.labels, {})).encode())
            self._prune(families)
        return b"".join(parts)

    def invalidate(self) -> None:
        """Forget the per-device series and value texts, as if every device had been polled since the last
        scrape (the worst case of a scrape, for the bench; label texts are kept: they outlive polls)."""
        with self._lock:
            self._polled.clear()
            self._memo.clear()

    def _prune(self, families: list[_Family]) -> None:
        """Text of series and values gone away (devices removed, counters moved on) must not pile up."""
        live: dict[tuple[str, ...], int] = {}
        for fam in families:
            live[fam.labels] = max(live.get(fam.labels, 0), len(fam.keys))
        for labels, cache in self._labels.items():
            if len(cache) > 2 * live.get(labels, 0) + 256:
                cache.clear()
        if len(self._memo) > 2 * sum(len(fam.values) for fam in families) + 4096:
            self._memo.clear()
        devices = len(self.m.stats) + len(self.m.observations)
        if len(self._polled) > len(self.m.observations) + 256:
            self._polled = {d: p for d, p in self._polled.items() if d in self.m.observations}
        for by_device in self._keys.values():
            if len(by_device) > devices + 256:
                by_device.clear()

    def _families(self, fresh: bool) -> list[_Family]:
        """Every family but the static ones; ``fresh``: ignore what earlier scrapes built (for collect())."""
        m = self.m
        polled = self._polled_families(m, fresh)
        return [*self._health(m), *polled[:9], *self._devices(m, polled[9:]), *self._poller(m)]

    def _keyed(self, devices: list[str], *suffix: str) -> list[Key]:
        """``(device, *suffix)`` for each device, the same tuples from one scrape to the next."""
        known = self._keys.setdefault(suffix, {})
        keys: list[Key | None] = list(map(known.get, devices))
        if all(keys):
            return keys  # type: ignore[return-value]
        return [k or known.setdefault(d, (d, *suffix)) for k, d in zip(keys, devices, strict=True)]

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

    def _health(self, m: Monitor) -> list[_Family]:
        status = _Family("netmon_device_status", "1 for the device's current state.", "gauge",
                         ("device", "kind", "state"))
        up = _Family("netmon_device_up", "1 when SNMP answered at the last poll.", "gauge", ("device", "kind"))
        health = m.health
        # In bulk: a column per state, interleaved device by device. States are ints 1/0 (text "1.0"/"0.0").
        for kind, table in (("router", health.devices), ("bts", health.base_stations)):
            devices = list(table)
            records = [table[d] for d in devices]
            status.extend(_interleave([self._keyed(devices, kind, s.value) for s in DEVICE_STATES]),
                          _interleave([[1 if h.state is s else 0 for h in records] for s in DEVICE_STATES]))
            up.extend(self._keyed(devices, kind),
                      [None if h.last_check is None else 1 if h.last_check.snmp_ok else 0 for h in records])
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

    def _polled_families(self, m: Monitor, fresh: bool) -> list[_Family]:
        """The nine interface families, then uptime and discontinuities (they follow the same devices)."""
        labels = ("device", "interface")
        families = [
            _Family("netmon_interface_oper_status", "ifOperStatus (1 up, 2 down, …).", "gauge", labels),
            _Family("netmon_interface_admin_status", "ifAdminStatus (1 up, 2 down).", "gauge", labels),
            _Family("netmon_interface_speed_bytes", "Interface speed, bytes per second.", "gauge", labels),
            *(_Family(f"netmon_interface_{name}", help_, "counter", labels) for name, help_ in INTERFACE_COUNTERS),
            _Family("netmon_device_uptime_seconds", "sysUpTime.", "gauge", ("device",)),
            _Family("netmon_counter_discontinuities", "Counter intervals dropped, by reason.", "counter",
                    ("device", "reason")),
        ]
        routers = m.inventory.devices
        rates = m.rates
        cache = self._polled
        polled: list[_Polled] = []
        for dev, obs in list(m.observations.items()):
            r = rates.get(dev)  # before the tracker: see _Polled
            p = None if fresh else cache.get(dev)
            if p is None or p.obs is not obs or p.rates is not r:
                p = _Polled(m, dev, obs, r, dev in routers)
                if not fresh:
                    cache[dev] = p
            polled.append(p)
        # Concatenate device by device, in C: one key list for the nine interface families.
        keys = list(chain.from_iterable(map(attrgetter("keys"), polled)))
        values = list(map(attrgetter("values"), polled))
        for i, fam in enumerate(families[:9]):
            fam.extend(keys, list(chain.from_iterable(map(itemgetter(i), values))))
        families[9].extend(list(map(attrgetter("one"), polled)), list(map(attrgetter("uptime"), polled)))
        families[10].extend(list(chain.from_iterable(map(attrgetter("disc_keys"), polled))),
                            list(chain.from_iterable(map(attrgetter("disc_values"), polled))))
        return families

    def _devices(self, m: Monitor, polled: list[_Family]) -> list[_Family]:
        uptime, discont = polled
        reboots = _Family("netmon_device_reboots", "Reboots seen (sysUpTime reset).", "counter", ("device",))
        rtt = _Family("netmon_icmp_rtt_seconds", "ICMP round-trip time of the last round.", "gauge",
                      ("device", "stat"))
        loss = _Family("netmon_icmp_loss_ratio", "Share of echo requests lost in the last round.", "gauge",
                       ("device",))
        jitter = _Family("netmon_icmp_jitter_seconds", "ICMP jitter of the last round.", "gauge", ("device",))
        booted = list(m.reboots)
        reboots.extend(self._keyed(booted), [m.reboots.get(d) for d in booted])
        pinged = list(m.icmp_results)
        results = [m.icmp_results[d] for d in pinged]
        loss.extend(self._keyed(pinged), [r.loss or 0.0 for r in results])
        answered = [i for i, r in enumerate(results) if r.rtt_avg_ms is not None]
        devices = [pinged[i] for i in answered]
        ok = [results[i] for i in answered]
        rtt.extend(_interleave([self._keyed(devices, stat) for stat in ("min", "avg", "max")]),
                   [(v or 0.0) / 1000 for r in ok for v in (r.rtt_min_ms, r.rtt_avg_ms, r.rtt_max_ms)])
        jitter.extend(self._keyed(devices), [(r.jitter_ms or 0.0) / 1000 for r in ok])
        return [uptime, reboots, rtt, loss, jitter, discont]

    def _poller(self, m: Monitor) -> list[_Family]:
        lv = ("device",)
        devices = list(m.stats)
        stats = [m.stats[d] for d in devices]
        keys = self._keyed(devices)
        out = []
        for attr, name, help_ in POLL_COUNTERS:
            fam = _Family(name, help_, "counter", lv)
            fam.extend(keys, [getattr(s, attr) for s in stats])
            out.append(fam)
        duration = _Family("netmon_poll_duration_seconds", "Wall time of the device's last poll.", "gauge", lv)
        duration.extend(keys, [s.last_duration_s or 0.0 for s in stats])
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
        extra = getattr(m, "trap_stats", None)
        if extra is not None:
            traps = _Family("netmon_traps", "SNMP traps by outcome.", "counter", ("outcome",))
            for outcome, n in extra().items():
                traps.add((outcome,), n)
            out.append(traps)
        return out
