"""``/metrics``: the list of metric families — a custom prometheus-client Collector over the monitor's state.

One collector builds every family at scrape time from the latest state, instead
of thousands of long-lived child gauges (prometheus_client's own advice for
exporters).  Names follow Prometheus conventions (``_total``, ``_seconds``,
``_bytes``, base units).  Descriptive labels — Vietnamese names, district,
coordinates — live on ``*_info`` series only, so the per-interface series stay
small; join on ``device``/``site``.  No secret is ever a label: targets carry
only references.

What it reads is declared, not reached into: :class:`MonitorView` (the monitor
satisfies it).  Two outputs, one source of truth.  The builders below are the
only place that decides which families, labels and series exist; they fill
:class:`~netmon.expose.text.Family` objects (label-value tuples and values, in
order), the per-device ones through a rows function per group of families
(``_router_rows``, ``_station_row``, ``_icmp_row``, ``_health_row``).  From those:

* :meth:`MonitorCollector.collect` yields ordinary prometheus-client families,
  built afresh, for ``registry.collect()`` / ``generate_latest`` users;
* :meth:`MonitorCollector.render_parts` has :class:`~netmon.expose.text.TextRenderer`
  write the text format (0.0.4), one piece per family, and is what ``/metrics``
  serves (:mod:`netmon.expose.http`); :meth:`MonitorCollector.render` joins the
  pieces.  The bytes are identical to ``generate_latest`` of the same state
  (tested, also across polls, faults and reboots).  How fast, and why a
  renderer of its own: :mod:`netmon.expose.text`, ``python bench/exposition.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import chain
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Final, Protocol, TypeVar
from zoneinfo import ZoneInfo

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from netmon.expose.text import CONTENT_TYPE, Family, GroupRows, Key, Pieces, TextRenderer, Value, go_float, go_floats
from netmon.gcpause import gc_paused
from netmon.health.observation import COUNTERS
from netmon.health.states import State
from netmon.malloc import trim

if TYPE_CHECKING:
    from netmon.cluster.assign import Scope
    from netmon.collect.icmp import IcmpResult
    from netmon.health.incidents import Incident
    from netmon.health.observation import DeviceObs
    from netmon.health.rates import CounterName, CounterTracker, RateResult
    from netmon.health.states import HealthState
    from netmon.health.topology import Topology
    from netmon.inventory.model import Inventory

__all__ = [
    "CONTENT_TYPE",
    "COUNTER_NAMES",
    "POLL_COUNTERS",
    "MonitorCollector",
    "MonitorView",
    "go_float",
    "go_floats",
]

T = TypeVar("T")


# ------------------------------------------------------------------------------------- what it reads
class PollCounters(Protocol):
    """Self-metrics of one device's polls, summed since start (``netmon.monitor.PollStats``)."""

    @property
    def polls(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def timeouts(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def requests(self) -> int: ...
    @property
    def varbinds(self) -> int: ...
    @property
    def last_duration_s(self) -> float: ...
    @property
    def faults(self) -> Mapping[str, int]:
        """Polls the device answered with a protocol fault, by reason."""


class ClassTimes(Protocol):
    """One poll class's last cycle (``netmon.monitor.ClassStats``)."""

    @property
    def interval_s(self) -> float: ...
    @property
    def last_start(self) -> float: ...
    @property
    def last_full_cycle_s(self) -> float: ...
    @property
    def lag_s(self) -> float: ...
    @property
    def skipped(self) -> int: ...


class HistoryView(Protocol):
    """The outage history's health: is the database taking its changes?"""

    @property
    def database_up(self) -> bool: ...
    @property
    def pending(self) -> int: ...
    @property
    def database_outages(self) -> int: ...


class MonitorView(Protocol):
    """Everything /metrics reads from the monitor (:class:`netmon.monitor.Monitor` is one)."""

    @property
    def inventory(self) -> Inventory: ...
    @property
    def topology(self) -> Topology: ...
    @property
    def health(self) -> HealthState: ...
    @property
    def incidents(self) -> Mapping[str, Incident]: ...
    @property
    def observations(self) -> Mapping[str, DeviceObs]: ...
    @property
    def rates(self) -> Mapping[str, RateResult]: ...
    @property
    def tracker(self) -> CounterTracker: ...
    @property
    def reboots(self) -> Mapping[str, int]: ...
    @property
    def icmp_results(self) -> Mapping[str, IcmpResult]: ...
    @property
    def stats(self) -> Mapping[str, PollCounters]: ...
    @property
    def classes(self) -> Mapping[str, ClassTimes]: ...
    @property
    def ready(self) -> bool: ...
    @property
    def trap_stats(self) -> Callable[[], Mapping[str, int]] | None: ...
    @property
    def history(self) -> HistoryView | None: ...
    @property
    def scope(self) -> Scope | None:
        """One poller of a cluster: only what it owns is exported (None: everything)."""


def _mine(scope: Scope | None) -> Callable[[str, str], bool]:
    """Whether a cluster poller exports an object (kind ``router``/``bts``/``link``, id); all without a scope."""
    if scope is None:
        return lambda kind, ident: True
    sets = {"router": scope.devices, "bts": scope.stations, "link": scope.links}
    return lambda kind, ident: ident in sets[kind]


# ------------------------------------------------------------------------------------------ families
DEVICE_STATES = (State.UP, State.DOWN, State.UNREACHABLE, State.UNKNOWN)
LINK_STATES = (State.UP, State.DOWN, State.FLAPPING, State.UNKNOWN)
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SEVERITY_CRITICAL_ROLES = ("core", "district")

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


def _interleave(columns: Sequence[Sequence[T]]) -> list[T]:
    """``[a0, b0, c0, a1, b1, c1, …]`` from columns ``a``, ``b``, ``c``: series device by device."""
    return list(chain.from_iterable(zip(*columns, strict=True)))


_STATUS_OF: Final = attrgetter("oper_status", "admin_status", "speed_bps")
_COUNTERS_OF: Final = itemgetter(*(COUNTERS.index(name) for name in COUNTER_NAMES))  # the tracker's totals
_NO_COUNTERS: Final = (None,) * len(COUNTER_NAMES)
_NO_PORT: Final[tuple[Key, ...]] = (("", ""),) * 9  # a station without its port: absent series
_NO_PORT_VALUES: Final[tuple[None, ...]] = (None,) * 9
_KIND_UP: Final = {(kind, up): (kind, up) for kind in ("router", "bts") for up in (None, True, False)}


class MonitorCollector(Collector):
    """Everything netmon knows, as Prometheus families, built per scrape."""

    def __init__(self, monitor: MonitorView, extra: Sequence[Callable[[], list[Family]]] = ()) -> None:
        self.m = monitor
        self.extra = tuple(extra)
        """More families, each call's anew (the Alertmanager webhook's counters)."""
        self._static_scope: Scope | None = None
        self._info: list[Metric] | None = None  # collect()'s static families, made at its first call: /metrics
        # serves the text (prometheus-client's objects for 16,700 info series at 10× the province: ~14 MB)
        self._static(monitor.scope)
        self._lock = threading.Lock()  # the renderer's caches; concurrent scrapes take turns
        self._text = TextRenderer()

    def _static(self, scope: Scope | None) -> None:
        """The static families, built again only when a cluster poller's scope changed."""
        self._static_text = "".join(f.text({}, {}, {}) for f in self._static_families(scope)).encode()
        self._info = None  # made again at collect()'s next call
        self._static_scope = scope

    def _static_current(self) -> None:
        scope = self.m.scope
        if scope is not self._static_scope:
            self._static(scope)

    # ----------------------------------------------------------------------------------------- outputs
    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self._static_current()
            if self._info is None:
                self._info = [f.metric() for f in self._static_families(self._static_scope)]
            info = self._info
        yield from info
        for fam in self._families(fresh=True):
            yield fam.metric()

    def render(self) -> bytes:
        """The exposition text (format 0.0.4), byte for byte what ``generate_latest`` makes of :meth:`collect`."""
        return b"".join(self.render_parts())

    def render_parts(self) -> list[bytes]:
        """:meth:`render` as it is served: the static text, then one piece per family.

        Pieces rather than one copy of the whole text: at 10× the province (67 MB) a fresh buffer that big
        comes from the kernel page by page (16,000 page faults) where a family's
        piece (at most ~5 MB) reuses memory malloc already holds.  The HTTP app compresses or writes the
        pieces one by one.
        """
        return list(self.render_pieces())

    def render_pieces(self) -> Pieces:
        """:meth:`render_parts`, each piece made as the iteration reaches it (see :class:`Pieces`): what
        ``/metrics`` serves, so a scrape holds one family's text at a time, not the whole exposition."""
        with self._lock, gc_paused():
            pieces = self._render_pieces()  # its temporaries are gone before the collector runs again
            trim()  # and what the polls and the last scrape freed since goes back to the system (see netmon.malloc)
            return pieces

    def _render_pieces(self) -> Pieces:
        self._static_current()
        families = self._families(fresh=False)
        pieces = self._text.pieces(self._static_text, families)
        m = self.m
        self._text.prune(families, len(m.stats) + len(m.observations) + len(m.health.devices)
                         + len(m.health.base_stations))
        return pieces

    def _families(self, fresh: bool) -> list[Family]:
        """Every family but the static ones; ``fresh``: build everything anew (for collect()), else reuse
        the text of series whose inputs have not changed since the last render."""
        m = self.m
        return [*self._health(m, fresh), *self._devices(m, fresh), *self._poller(m),
                *(f for families in self.extra for f in families())]

    # ------------------------------------------------------------------------------------------ groups
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
    def _static_families(self, scope: Scope | None) -> list[Family]:
        inv = self.m.inventory
        districts = inv.districts
        communes = inv.communes
        site = Family("netmon_site", "Agency sites (static, for joins).", "info",
                       ("site", "name", "kind", "level", "district", "district_name", "commune", "commune_name",
                        "lat", "lon"), 1)
        for s in inv.sites.values():
            if scope is not None and s.id not in scope.sites:
                continue
            site.add((s.id, s.name, s.kind.value, s.level.value, s.district or "",
                      districts[s.district].name if s.district else "", s.commune or "",
                      communes[s.commune][1].name if s.commune in communes else "",
                      f"{s.lat:.6f}", f"{s.lon:.6f}"), 1)
        device = Family("netmon_device", "Monitored routers (static, for joins).", "info",
                         ("device", "site", "role", "platform", "model", "mgmt"), 1)
        for d in inv.devices.values():
            if scope is not None and d.id not in scope.devices:
                continue
            device.add((d.id, d.site, d.role.value, d.platform, d.model or "", d.mgmt.host), 1)
        bts = Family("netmon_base_station", "Mobile base stations (static, for joins).", "info",
                      ("base_station", "operator", "technologies", "has_4g", "district", "district_name", "commune",
                       "commune_name", "lat", "lon", "monitored"), 1)
        for b in inv.base_stations.values():
            if scope is not None and b.id not in scope.stations:
                continue
            techs = sorted(t.value for t in b.technologies)
            bts.add((b.id, b.operator.value, ",".join(techs), str("4G" in techs).lower(), b.district,
                     districts[b.district].name if b.district in districts else "", b.commune,
                     communes[b.commune][1].name if b.commune in communes else "",
                     f"{b.lat:.6f}", f"{b.lon:.6f}", str(b.mgmt is not None).lower()), 1)
        link = Family("netmon_link", "Watched links (static, for joins).", "info",
                       ("link", "a_device", "a_interface", "b_device", "b_interface", "circuit", "provider"), 1)
        for ln in inv.links.values():
            if scope is not None and ln.id not in scope.links:
                continue
            link.add((ln.id, ln.a.device, ln.a.interface, ln.b.device, ln.b.interface, ln.circuit or "",
                      ln.provider or ""), 1)
        contracted = Family("netmon_interface_contracted_bandwidth_bytes",
                             "Contracted bandwidth of a watched interface, bytes per second.", "gauge",
                             ("device", "interface", "circuit", "provider"))
        for d in inv.devices.values():
            if scope is not None and d.id not in scope.devices:
                continue
            for w in d.interfaces:
                if w.bandwidth_mbps:
                    contracted.add((d.id, w.name, w.circuit or "", w.provider or ""), w.bandwidth_mbps * 1_000_000 / 8)
        return [site, device, bts, link, contracted]

    def _health(self, m: MonitorView, fresh: bool) -> list[Family]:
        status = Family("netmon_device_status", "1 for the device's current state.", "gauge",
                         ("device", "kind", "state"))
        up = Family("netmon_device_up", "1 when SNMP answered at the last poll.", "gauge", ("device", "kind"))
        blind = Family("netmon_device_blind", "1 while netmon is blind to it: ping answers, SNMP fails (or no data).",
                       "gauge", ("device", "kind"))
        health = m.health
        scope = m.scope
        mine = _mine(scope)
        # A health record is replaced at every judgement, polled or not: the series depend on its state and
        # on whether SNMP answered only, so these (constants, compared by identity) are the group's inputs.
        items: list[tuple[str, object, object]] = [
            (dev, h.state, _KIND_UP[kind, None if h.last_check is None else bool(h.last_check.snmp_ok)])
            for kind, table in (("router", health.devices), ("bts", health.base_stations))
            for dev, h in list(table.items()) if mine(kind, dev)]
        self._text.grouped("health", [status, up], items, self._health_row, (4, 1), fresh, fixed=True)
        for kind, table in (("router", health.devices), ("bts", health.base_stations)):
            records = [(d, h) for d, h in list(table.items()) if mine(kind, d)]
            blind.extend(self._text.keyed([d for d, _ in records], kind), [1 if h.blind else 0 for _, h in records])
        links = Family("netmon_link_status", "1 for the link's current state.", "gauge", ("link", "state"))
        link_ids = [i for i in list(health.links) if mine("link", i)]
        link_records = [health.links[i] for i in link_ids]
        links.extend(_interleave([self._text.keyed(link_ids, s.value) for s in LINK_STATES]),
                     _interleave([[1 if lh.state is s else 0 for lh in link_records] for s in LINK_STATES]))

        open_ = Family("netmon_incident_open", "1 per open incident (one per root cause).", "gauge",
                        ("incident", "kind", "severity", "device", "link", "site", "site_name", "district",
                         "district_name", "title", "summary", "since"))
        affected = Family("netmon_incident_affected_sites", "Sites unreachable behind the incident.", "gauge",
                           ("incident",))
        started = Family("netmon_incident_started_timestamp_seconds", "When the incident began.", "gauge",
                          ("incident",))
        unreachable = Family("netmon_device_unreachable",
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
            # The severity is the incident's for its whole life (it is part of the alert's identity): a link that
            # starts flapping keeps its outage's; netmon cut off from the network is critical.
            critical = ((node is not None and node.role in SEVERITY_CRITICAL_ROLES)
                        or inc.kind.value == "monitor_cut_off")
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
        return [status, up, blind, links, open_, affected, started, unreachable]

    def _devices(self, m: MonitorView, fresh: bool) -> list[Family]:
        """The interface families, then the device families (in the order of the exposition).

        Interfaces and uptime: the routers' series, then the base stations'.
        """
        labels = ("device", "interface")
        polled = [
            Family("netmon_interface_oper_status", "ifOperStatus (1 up, 2 down, …).", "gauge", labels),
            Family("netmon_interface_admin_status", "ifAdminStatus (1 up, 2 down).", "gauge", labels),
            Family("netmon_interface_speed_bytes", "Interface speed, bytes per second.", "gauge", labels),
            *(Family(f"netmon_interface_{name}", help_, "counter", labels) for name, help_ in INTERFACE_COUNTERS),
            Family("netmon_device_uptime_seconds", "sysUpTime.", "gauge", ("device",)),
        ]
        rates = m.rates
        routers = m.inventory.devices
        # The RateResult is read before the tracker (see _router_rows).
        scope = m.scope
        owned = None if scope is None else scope.devices | scope.stations
        observed = [(dev, obs, rates.get(dev)) for dev, obs in list(m.observations.items())
                    if owned is None or dev in owned]
        self._text.grouped("routers", polled, [o for o in observed if o[0] in routers], self._router_rows, (9, 1),
                      fresh, serials=True)
        self._text.grouped("stations", polled, [o for o in observed if o[0] not in routers], self._station_row,
                      (1,) * 10, fresh, serials=True, fixed=True)

        reboots = Family("netmon_device_reboots", "Reboots seen (sysUpTime reset).", "counter", ("device",))
        booted = [(d, n) for d, n in list(m.reboots.items()) if owned is None or d in owned]
        reboots.extend(self._text.keyed([d for d, _ in booted]), [n for _, n in booted])
        icmp = [
            Family("netmon_icmp_rtt_seconds", "ICMP round-trip time of the last round.", "gauge",
                    ("device", "stat")),
            Family("netmon_icmp_loss_ratio", "Share of echo requests lost in the last round.", "gauge",
                    ("device",)),
            Family("netmon_icmp_jitter_seconds", "ICMP jitter of the last round.", "gauge", ("device",)),
        ]
        self._text.grouped("icmp", icmp, [(dev, r, None) for dev, r in list(m.icmp_results.items())
                                          if owned is None or dev in owned],
                      self._icmp_row, (3, 1, 1), fresh, serials=True, fixed=True)
        discont = Family("netmon_counter_discontinuities", "Counter intervals dropped, by reason.", "counter",
                          ("device", "reason"))
        for dev, counts in m.tracker.all_discontinuities():
            if owned is not None and dev not in owned:
                continue
            for reason, n in counts.items():
                discont.add((dev, reason.value), n)
        completeness = Family("netmon_device_collection_completeness",
                              "Share of the last poll's scalars and columns read completely (0: none).", "gauge",
                              ("device",))
        completeness.extend(self._text.keyed([dev for dev, _, _ in observed]),
                            [obs.collection.completeness for _, obs, _ in observed])
        return [*polled, reboots, *icmp, discont, completeness]

    def _poller(self, m: MonitorView) -> list[Family]:
        lv = ("device",)
        scope = m.scope
        stats = list(m.stats.items())
        if scope is not None:
            stats = [(d, s) for d, s in stats if d in scope.devices or d in scope.stations]
        keys = self._text.keyed([d for d, _ in stats])
        out = []
        for attr, name, help_ in POLL_COUNTERS:
            fam = Family(name, help_, "counter", lv)
            fam.extend(keys, [getattr(s, attr) for _, s in stats])
            out.append(fam)
        faults = Family("netmon_poll_faults", "Polls the device answered with a protocol fault, by reason.", "counter",
                        ("device", "reason"))
        for dev, st in stats:
            for reason, n in list(st.faults.items()):
                faults.add((dev, reason), n)
        out.append(faults)
        duration = Family("netmon_poll_duration_seconds", "Wall time of the device's last poll.", "gauge", lv)
        duration.extend(keys, [s.last_duration_s or 0.0 for _, s in stats])
        cyc = Family("netmon_poller_cycle_duration_seconds", "Wall time of the last full pass over the class.",
                      "gauge", ("class",))
        lag = Family("netmon_poller_lag_seconds", "How late the last batch started against its schedule.",
                     "gauge", ("class",))
        skipped = Family("netmon_poller_skipped_batches", "Poll batches the scheduler could not run (behind).",
                         "counter", ("class",))
        interval = Family("netmon_poller_interval_seconds", "Configured poll interval.", "gauge", ("class",))
        last = Family("netmon_poller_last_batch_timestamp_seconds", "When the last batch started.", "gauge",
                       ("class",))
        for cls, c in list(m.classes.items()):
            key = (cls,)
            cyc.add(key, c.last_full_cycle_s or 0.0)
            lag.add(key, c.lag_s or 0.0)
            skipped.add(key, c.skipped)
            interval.add(key, c.interval_s or 0.0)
            last.add(key, c.last_start or 0.0)
        ready = Family("netmon_ready", "1 once the first full poll is done.", "gauge")
        ready.add((), 1 if m.ready else 0)
        out += [duration, cyc, lag, skipped, interval, last, ready]
        history = m.history
        if history is not None:
            db_up = Family("netmon_database_up", "1 while the database takes the outage history's changes.",
                           "gauge")
            db_up.add((), 1 if history.database_up else 0)
            pending = Family("netmon_history_pending", "Outage-history changes waiting for the database "
                             "(kept in order, on disk).", "gauge")
            pending.add((), history.pending)
            outages = Family("netmon_database_outages", "Times the database stopped taking writes.", "counter")
            outages.add((), history.database_outages)
            out += [db_up, pending, outages]
        extra = m.trap_stats
        if extra is not None:
            traps = Family("netmon_traps", "SNMP traps by outcome.", "counter", ("outcome",))
            for outcome, n in extra().items():
                traps.add((outcome,), n)
            out.append(traps)
        return out
