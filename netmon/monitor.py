"""The monitoring core: probe → judge → record, for one batch of devices at a time.

The scheduler (:mod:`netmon.service`) decides *when* a batch runs; this module
decides what a batch means.  All judgement is in ``health/`` (pure); here is
only the glue and the state the exporter reads:

* a batch of SNMP polls and ICMP rounds (``collect/``, through the :class:`Poller`
  and :class:`Pinger` seams) goes to :func:`~netmon.health.judge.judge` in one piece:
  interpretation, counter rates, checks and the evaluation;
* when the evaluation asks for fresh re-probes of parents, they are polled at once
  and judged again (bounded);
* a device that failed once but is not yet ``down`` is re-checked after
  ``confirm_after_s`` instead of a whole interval, so an outage is confirmed fast;
* the outcome is recorded: the state /metrics reads, incidents diffed and written
  to the outage history (:class:`OutageHistory`), reboots as events, facts
  (:class:`FactSink`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from netmon.cluster.assign import Scope
from netmon.collect.icmp import IcmpResult
from netmon.collect.oids import DEVICE_SPEC, DISCOVERY_SPEC, STATION_SPEC, PollSpec
from netmon.collect.target import Target
from netmon.collect.walk import PollResult
from netmon.health import states as st
from netmon.health.incidents import Incident, IncidentKind, derive_incidents, diff_incidents, narrowed
from netmon.health.interpret import chassis
from netmon.health.judge import Judgement, judge
from netmon.health.maintenance import maintenance_targets
from netmon.health.observation import DeviceObs, Hardware
from netmon.health.path import PATH_KEY, PathLook, describe
from netmon.health.rates import CounterTracker, RateResult
from netmon.health.topology import Topology, topology_from_inventory
from netmon.inventory.load import Inventory

log = logging.getLogger("netmon.monitor")

REPROBE_ROUNDS = 6
DISCOVERY_BATCH = 1000


# ------------------------------------------------------------------------------------------ seams
# What the monitor needs from the rooms around it, and nothing more: the service plugs in the real ones
# (collect.snmp.SnmpPoller, collect.icmp.IcmpProber, store.history.HistoryWriter, store.facts.FactStore),
# a test or a benchmark its fakes (tests/unit/test_monitor.py, tests/simulated_monitor.py).
class Poller(Protocol):
    """Walks ``spec`` on each target, concurrently; one result per target, in order (never raises for a
    device that does not answer: its result says so)."""

    async def poll(self, targets: Sequence[Target], spec: PollSpec) -> list[PollResult]: ...


class Pinger(Protocol):
    """ICMP rounds; ``enabled`` False: ``probe`` answers ``{}`` and SNMP alone decides."""

    @property
    def enabled(self) -> bool: ...

    async def probe(self, hosts: Sequence[str]) -> dict[str, IcmpResult]: ...


class PathWatch(Protocol):
    """netmon's own path toward the tree's root (:class:`netmon.collect.path.LocalPath`): one look, now."""

    def probe(self) -> PathLook: ...


class OpenOutageView(Protocol):
    """An outage open in the history, as the monitor needs it."""

    @property
    def started_at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def adopted(self) -> bool:
        """Opened by a previous run (and announced then)."""


class OutageHistory(Protocol):
    """The outage and event history the judgements are written to (it never raises for a database fault:
    what the database cannot take yet waits, in order, until it can)."""

    @property
    def open(self) -> Mapping[str, OpenOutageView]:
        """The outages open in the history (adopted from a previous run or opened since), by incident key."""

    @property
    def gap_start(self) -> datetime | None:
        """Last heartbeat of the previous run: when netmon last looked before this run."""

    @property
    def database_up(self) -> bool: ...
    @property
    def pending(self) -> int:
        """Changes waiting for the database."""
    @property
    def database_outages(self) -> int: ...

    def event(self, at: datetime, object_type: str, object_id: str, kind: str, detail: str | None) -> None: ...

    def record(self, opened: Iterable[Incident], closed: Iterable[Incident], now: datetime,
               adopted_ended_at: dict[str, datetime] | None = None) -> None: ...

    def grow(self, still_open: Iterable[Incident]) -> None: ...

    def change_kind(self, incidents: Iterable[Incident]) -> None: ...

    def adopt(self, outages: Iterable[Any]) -> None:
        """Take over open outages (a cluster's poller that gained their objects)."""

    def forget(self, keys: Iterable[str]) -> None:
        """Drop open outages without closing them (their objects are another poller's now)."""


class FactSink(Protocol):
    """Where what polling learnt about devices and interfaces is kept."""

    def save(self, observations: Iterable[DeviceObs], known_devices: set[str]) -> int: ...

    def save_hardware(self, hardware: dict[str, Hardware]) -> None: ...

    def forget(self, devices: Iterable[str]) -> None:
        """Let go of what is remembered of devices another poller of a cluster polls now."""


@dataclass
class PollStats:
    """Self-metrics per device, summed since start (exported as counters)."""

    polls: int = 0
    errors: int = 0
    timeouts: int = 0
    retries: int = 0
    requests: int = 0
    varbinds: int = 0
    last_duration_s: float = 0.0
    last_error: str | None = None
    faults: dict[str, int] = field(default_factory=dict)
    """Polls the device answered with a protocol fault, by reason (``netmon.collect.walk.FAULTS``)."""


@dataclass
class ClassStats:
    """Per poll class (routers, base_stations, discovery): the last cycle and how late it started."""

    interval_s: float
    cycles: int = 0
    last_start: float = 0.0
    last_duration_s: float = 0.0
    lag_s: float = 0.0
    cycle_start: float = 0.0  # start of the current full pass over the class
    last_full_cycle_s: float = 0.0
    skipped: int = 0
    """Batches the scheduler did not run (too late or too many running): those devices waited an interval."""


@dataclass
class Monitor:
    inventory: Inventory
    targets: Sequence[Target]
    poller: Poller
    icmp: Pinger
    params: st.Params = field(default_factory=st.Params)
    confirm_after_s: float = 5.0
    listeners: list[Callable[[str, Incident, datetime], None]] = field(default_factory=list)
    """Called with ("opened" | "changed" | "closed", incident, when) after the history is written."""
    history: OutageHistory | None = None
    facts: FactSink | None = None
    trap_stats: Callable[[], Mapping[str, int]] | None = None
    """Trap receiver counters by outcome, for /metrics (set by the service once its receiver runs)."""

    topology: Topology = field(init=False)
    judged: Topology = field(init=False)
    """What this monitor judges at each batch: the whole tree, or — one poller of a cluster — what it owns and
    the ancestors it probes (:meth:`Topology.restricted`): its work per batch follows its share, not the province."""
    health: st.HealthState = field(init=False)
    incidents: dict[str, Incident] = field(default_factory=dict)
    observations: dict[str, DeviceObs] = field(default_factory=dict)
    rates: dict[str, RateResult] = field(default_factory=dict)
    icmp_results: dict[str, IcmpResult] = field(default_factory=dict)
    tracker: CounterTracker = field(default_factory=CounterTracker)
    stats: dict[str, PollStats] = field(default_factory=dict)
    reboots: dict[str, int] = field(default_factory=dict)
    classes: dict[str, ClassStats] = field(default_factory=dict)
    ready: bool = False
    started_at: float = field(default_factory=time.time)
    link_linger_s: float = 120.0
    """A link incident stays open until the link has been back this long (flaps stay one incident); a flapping
    one until it has been stable for the flap hold time — whichever is longer, counted from its last change."""
    path: PathWatch | None = None
    """netmon's own path to the network, looked at after every batch's polls (None: not watched)."""
    scope: Scope | None = None
    """One poller of a cluster: what it owns (judges, writes, pages, exports) and probes; None: everything."""
    scope_fresh: Callable[[], bool] | None = None
    """One poller of a cluster: False when its view of what it owns is too old to act on (it has not reached
    the database for most of the failover time: the others may own its units now). It then judges nothing as
    its own — no page, no write — until a beat tells it again (the split-brain rule, checked at each judgement
    and not only at each beat: a paused process wakes up to a poll before its next beat)."""
    _confirming: set[str] = field(default_factory=set)
    _cleared: dict[str, datetime] = field(default_factory=dict)
    _held: dict[str, Incident] = field(default_factory=dict)
    """Incidents open when netmon was cut off: not over until their object has been seen again."""
    _kept_start: dict[str, datetime] = field(default_factory=dict)
    _tick: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle, float] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.topology = topology_from_inventory(self.inventory)
        self.judged = self.topology
        self.health = st.HealthState.initial(self.topology)
        self.by_id = {t.device_id: t for t in self.targets}
        self.by_host = {t.host: t for t in self.targets}
        self.stats = {t.device_id: PollStats() for t in self.targets}
        self.reboots = {t.device_id: 0 for t in self.targets}
        self.watched: dict[str, set[str]] = {}
        for link in self.topology.links.values():
            for device, interface in link.ends:
                self.watched.setdefault(device, set()).add(interface)

    # ---------------------------------------------------------------- polling
    async def poll_batch(self, device_ids: Iterable[str], reason: str = "poll") -> list[DeviceObs]:
        """Poll these devices (SNMP + ICMP together), judge, record. Safe to call concurrently.

        One pass through the rooms: ``collect/`` walks and pings (:meth:`_probe`), ``health/`` judges the
        whole batch at once (:func:`~netmon.health.judge.judge`), the store and the exposition get the
        outcome (:meth:`_record`).  Re-probes of parents the evaluation asks for go round once more each.
        """
        targets = [self._target(d, reason) for d in device_ids if d in self.by_id]
        if not targets:
            return []
        if self.path is not None and self.health.path.state is st.State.DOWN:
            still = self.path.probe()
            if not still.ok:  # still cut off: every poll would only fail (and log so); the path is all there is
                async with self._lock:
                    await self._judge([], reason, still)
                return []
        t0 = time.monotonic()
        walks = await self._probe(targets)
        look = self._look()  # after the polls: a path broken by then explains their failures
        t1 = time.monotonic()
        async with self._lock:  # judging and recording are sequential: one state, one history
            t2 = time.monotonic()
            observations = await self._judge(walks, reason, look)
        log.debug("%s batch of %d: probe %.1f s, waited %.1f s for the lock, judged in %.1f s", reason,
                  len(targets), t1 - t0, t2 - t1, time.monotonic() - t2)
        return observations

    def _target(self, device_id: str, reason: str) -> Target:
        """Back off from dead devices: a scheduled poll of a down/unreachable device gets no retries (nor does
        the first poll of devices taken over from a dead poller: their state is unknown, and it is quick).

        Its recovery is still seen at the next poll (or at once after a trap); the poller also starts
        known-silent devices without a concurrency slot, so they never delay the live ones.
        """
        target = self.by_id[device_id]
        h = self.health.devices.get(device_id) or self.health.base_stations.get(device_id)
        if reason == "poll" and h is not None and h.state in (st.State.DOWN, st.State.UNREACHABLE):
            return replace(target, retries=0)
        if reason == "handover":  # devices a cluster poller just took over: the first look is quick (a
            return replace(target, retries=0)  # dead one costs its timeout once); one failure is only one
        return target

    def _look(self) -> PathLook | None:
        return self.path.probe() if self.path is not None else None

    async def _probe(self, targets: Sequence[Target]) -> list[PollResult]:
        """collect/: the walks and the ICMP rounds of ``targets``; the poller's own counters are kept."""
        snmp_task = asyncio.ensure_future(self._walk(targets))
        icmp_task = asyncio.ensure_future(self.icmp.probe([t.host for t in targets]))
        results, pings = await asyncio.gather(snmp_task, icmp_task)
        for target, result in zip(targets, results, strict=True):
            s = self.stats[target.device_id]
            s.polls += 1
            s.requests += result.requests
            s.retries += result.retries
            s.timeouts += result.timeouts
            s.varbinds += result.varbinds
            s.last_duration_s = result.elapsed_s
            s.last_error = result.error
            if not result.ok:
                s.errors += 1
            for reason in result.faults:  # one per poll and reason: "polls with this fault"
                s.faults[reason] = s.faults.get(reason, 0) + 1
            ping = pings.get(target.host)
            if ping is not None:
                self.icmp_results[target.device_id] = ping
        return results

    async def _walk(self, targets: Sequence[Target]) -> list[PollResult]:
        """Devices are walked whole (DEVICE_SPEC); base stations only for their backhaul port (STATION_SPEC)."""
        stations = self.inventory.base_stations
        bts = [t for t in targets if t.device_id in stations]
        if not bts:
            return await self.poller.poll(targets, DEVICE_SPEC)
        devices = [t for t in targets if t.device_id not in stations]
        walked, walked_bts = await asyncio.gather(self.poller.poll(devices, DEVICE_SPEC),
                                                  self.poller.poll(bts, STATION_SPEC))
        by_id = {r.device_id: r for r in (*walked, *walked_bts)}
        return [by_id[t.device_id] for t in targets]

    async def discover(self, device_ids: Iterable[str]) -> None:
        """The slow poll: ENTITY-MIB and HOST-RESOURCES (hardware, CPU, memory)."""
        targets = [self.by_id[d] for d in device_ids if d in self.by_id]
        found: dict[str, Hardware] = {}
        # Only the hardware is kept, and the raw walks are held DISCOVERY_BATCH at a time, not all at once (at
        # 10× the province, 13,720 walks of ~10 KB each).
        for start in range(0, len(targets), DISCOVERY_BATCH):
            batch = targets[start:start + DISCOVERY_BATCH]
            for target, result in zip(batch, await self.poller.poll(batch, DISCOVERY_SPEC), strict=True):
                if result.ok:
                    hw = chassis(result)
                    if hw is not None and target.device_id in self.inventory.devices:
                        found[target.device_id] = hw
        if self.facts is not None:
            self.facts.save_hardware(found)

    # ---------------------------------------------------------------- judging
    def _judged(self, walks: Sequence[PollResult], now: datetime, maintenance: frozenset[str],
                state: st.HealthState, track: bool, look: PathLook | None = None) -> Judgement:
        return judge(walks, self.icmp_results, state, self.judged, now, watched=self.watched, params=self.params,
                     icmp=self.icmp.enabled, maintenance=maintenance, tracker=self.tracker if track else None,
                     path=look)

    async def _judge(self, walks: Sequence[PollResult], reason: str, look: PathLook | None = None,
                     ) -> list[DeviceObs]:
        if self.scope is not None and self.scope.keys and self.scope_fresh is not None and not self.scope_fresh():
            log.error("cluster: no word from the database for too long: this poller judges nothing as its own "
                      "until it has again (its devices may be another poller's now)")
            self._rescope(Scope())
        now = datetime.now(UTC)
        maintenance = maintenance_targets(self.topology, list(self.inventory.maintenance.values()), now)
        judged = self._judged(walks, now, maintenance, self.health, track=True, look=look)
        observations = judged.observations
        for obs in observations:
            self.observations[obs.device_id] = obs
        self.rates.update(judged.rates)
        if log.isEnabledFor(logging.DEBUG):
            for c in judged.checks:
                if c.failed or not c.snmp_ok:
                    log.debug("check %s snmp=%s icmp=%s (%s)", c.device_id, c.snmp_ok, c.icmp_ok, c.error)
        ev = judged.evaluation
        transitions = list(ev.transitions)
        events = list(ev.events)
        rounds = 0
        while ev.reprobe and rounds < REPROBE_ROUNDS:
            rounds += 1
            log.debug("re-probe round %d: %s", rounds, sorted(ev.reprobe))
            fresh = await self._probe([self.by_id[d] for d in sorted(ev.reprobe) if d in self.by_id])
            look = self._look()
            now = datetime.now(UTC)
            again = self._judged(fresh, now, maintenance, ev.state, track=False, look=look)
            for obs in again.observations:
                self.observations[obs.device_id] = obs
            ev = again.evaluation
            transitions += ev.transitions
            events += ev.events
        if log.isEnabledFor(logging.DEBUG) and (ev.pending or ev.reprobe):
            log.debug("after %d re-probe round(s): pending %d, re-probe %s", rounds, len(ev.pending),
                      sorted(ev.reprobe))
        self._record(ev.state, transitions, events, observations, now, reason)
        return observations

    # ---------------------------------------------------------------- recording
    def _record(self, state: st.HealthState, transitions: list[st.Transition], events: list[st.Event],
                observations: list[DeviceObs], now: datetime, reason: str) -> None:
        """The judgement's outcome: the state /metrics reads, the outage history, the facts."""
        self.health = state
        for t in transitions:
            if t.key == PATH_KEY:  # netmon's own path: say why, loudly
                level = logging.ERROR if t.new is st.State.DOWN else \
                    logging.WARNING if t.old is st.State.DOWN else logging.INFO
                why = describe(state.path) if t.new is st.State.DOWN else f"via {state.path.interface or '?'}"
                log.log(level, "%s: %s → %s (%s)", t.key, t.old.value, t.new.value, why)
                continue
            log.info("%s: %s → %s", t.key, t.old.value, t.new.value)
        for e in events:
            kind, _, ident = e.key.partition(":")
            if e.kind == "reboot":
                self.reboots[ident] = self.reboots.get(ident, 0) + 1
            if self.history is not None and (self.scope is None or self.scope.owns(e.key)):
                self.history.event(e.at, kind, ident, e.kind, e.detail)
        self._incidents(now, reason)
        if self.facts is not None and observations:
            known = set(self.inventory.devices)
            scope = self.scope
            if scope is not None:
                observations = [o for o in observations if o.device_id in scope.devices
                                or o.device_id in scope.stations]
            self.facts.save(observations, known)
        self._schedule_confirmations()
        self._schedule_tick(now)

    def _incidents(self, now: datetime, reason: str) -> None:
        maintenance = maintenance_targets(self.topology, list(self.inventory.maintenance.values()), now)
        new = derive_incidents(self.topology, self.health, maintenance)
        scope = self.scope
        if scope is not None:  # ancestors probed to judge its subtrees raise nothing here: their owner pages
            new = {k: v for k, v in new.items() if k == PATH_KEY or scope.owns(k)}
        if reason == "trap":  # found because a trap made us look now
            new = {k: replace(v, detected_by="trap") if k not in self.incidents else v
                   for k, v in new.items()}
        self._hold_through_cut_off(new)
        self._linger(new, now)
        adopted = self._adopt(new)
        opened, closed, still_open = diff_incidents(self.incidents, new)
        changed = [i for i in opened if i.key in self.incidents]  # same root, new kind (down → flapping)
        changed_keys = {i.key for i in changed}
        opened = [i for i in opened if i.key not in changed_keys]
        closed = [i for i in closed if i.key not in changed_keys]
        ended = {i.key: self._cleared.pop(i.key) for i in closed if i.key in self._cleared}
        self.incidents = new
        if self.history is not None:
            # a lingering link ends when it came back up, not when the linger ran out
            self.history.record(opened, [i for i in closed if i.key not in ended], now, ended)
            self.history.grow([*still_open, *changed])
            self.history.change_kind(changed)
        for inc in opened:
            if inc.key in adopted:  # announced by the run that opened it: not a new page
                log.warning("INCIDENT ADOPTED %s (open since %s) — %s", inc.key, inc.started_at.isoformat(),
                            inc.title)
        self._announce([("opened", [i for i in opened if i.key not in adopted]), ("changed", changed),
                        ("closed", closed)], now)
        if self.ready and self.history is not None and self.history.open:
            self.close_stale_adopted(now, first_pass=False)

    def _linger(self, new: dict[str, Incident], now: datetime) -> None:
        """A link that comes back stays an open incident until it has been back for ``link_linger_s``: if it
        fails again meanwhile (a flap) it is the same incident — one incident per flap episode, not one per
        bounce — and a flapping one that turns ``down`` or ``flapping`` only changes kind.  The time counts
        from the link's return (its last change), so a flapping link, judged stable only after the flap hold,
        closes then: at its last change + max(hold, linger).  Meanwhile the sites behind it that answer again
        are no longer listed as unreachable (their flags end with the recovery, not with the linger).
        Updates ``new`` in place."""
        lingering = set()
        for key, old in self.incidents.items():
            if not key.startswith("link:") or key in new:
                continue
            lh = self.health.links.get(key.partition(":")[2])
            back = lh.last_change_at if lh is not None and lh.state is st.State.UP and lh.last_change_at else now
            cleared = self._cleared.setdefault(key, min(back, now))
            if (now - cleared).total_seconds() < self.link_linger_s:
                new[key] = narrowed(old, self.topology, self.health)
                lingering.add(key)
        for key in list(self._cleared):
            if key in new and key not in lingering:
                del self._cleared[key]  # failing again: the same incident goes on

    def _hold_through_cut_off(self, new: dict[str, Incident]) -> None:
        """While netmon is cut off it sees nothing, so the outages open when that began are not over: they stay
        open (Alertmanager hides them behind the cut-off alert), and after it each one ends when its object has
        been seen again and is fine, or goes on — from its first start — when it is still failing.
        Updates ``new`` in place."""
        cut_off = self.health.path.state is st.State.DOWN
        if cut_off:
            for key, inc in self.incidents.items():
                if key != PATH_KEY:
                    self._held.setdefault(key, inc)
        for key, inc in list(self._held.items()):
            if key in new:  # seen failing again: the same outage
                self._kept_start[key] = inc.started_at
                del self._held[key]
            elif cut_off or self.health.state_of(key) is st.State.UNKNOWN:
                new[key] = inc  # not seen since: not over
            else:
                del self._held[key]  # seen again, and fine: it ends now
        for key in list(self._kept_start):
            if key in new:
                new[key] = replace(new[key], started_at=self._kept_start[key])
            else:
                del self._kept_start[key]

    def _schedule_tick(self, now: datetime) -> None:
        """Judge again, without polling, when a lingering link incident or a flap hold runs out: such an
        incident closes on time whatever the poll interval (the judgement is pure: no I/O)."""
        p = self.params
        due = [cleared.timestamp() + self.link_linger_s for cleared in self._cleared.values()]
        for lh in self.health.links.values():
            if lh.state is st.State.FLAPPING and lh.last_change_at is not None:
                due.append(lh.last_change_at.timestamp() + p.flap_hold_s)
        future = [d for d in due if d > now.timestamp()]
        if not future:
            return
        at = min(future) + 0.05
        loop = asyncio.get_running_loop()
        if self._tick is not None:
            tick_loop, handle, when = self._tick
            if tick_loop is loop and not handle.cancelled() and when <= at and when > time.time():
                return  # an earlier one is due anyway
            handle.cancel()
        handle = loop.call_later(at - time.time(), self._run_tick)
        self._tick = (loop, handle, at)

    def _run_tick(self) -> None:
        self._tick = None
        task = asyncio.ensure_future(self.rejudge())
        task.add_done_callback(_log_failure)

    async def rejudge(self) -> None:
        """Judge the state as of now without new checks (links' holds and lingers that ran out), and record."""
        async with self._lock:
            now = datetime.now(UTC)
            maintenance = maintenance_targets(self.topology, list(self.inventory.maintenance.values()), now)
            ev = self._judged([], now, maintenance, self.health, track=False).evaluation
            self._record(ev.state, list(ev.transitions), list(ev.events), [], now, "tick")

    async def rescope(self, scope: Scope, adopted: Iterable[Any] = ()) -> frozenset[str]:
        """A cluster's poller owns ``scope`` now; ``adopted``: the open outages of what it gained, read from the
        database. Returns the devices it polls now and did not before (to poll at once).

        What it gained starts ``unknown`` (never ``down`` because a poller died): its first polls judge it,
        and an outage its previous owner opened goes on (same row, stored start, no second page). What it
        lost is dropped silently — no "resolved": the new owner carries on.
        """
        async with self._lock:
            return self._rescope(scope, adopted)

    def _rescope(self, scope: Scope, adopted: Iterable[Any] = ()) -> frozenset[str]:
        before = self.scope
        self.scope = scope
        lost: frozenset[str] | set[str]
        if before is not None:
            lost = before.keys - scope.keys
        else:
            lost = {k for k in (*self.incidents, *(self.history.open if self.history else ()))
                    if k != PATH_KEY and not scope.owns(k)}
        for table in (self.incidents, self._held, self._kept_start, self._cleared):
            for key in [k for k in table if k in lost]:
                del table[key]
        taken: list[str] = []
        if self.history is not None:
            self.history.forget([k for k in list(self.history.open) if k in lost or not scope.owns(k)])
            mine = [o for o in adopted if scope.owns(o.key)]
            self.history.adopt(mine)
            for o in mine:  # not over until seen again (as through a cut-off): exported now, no gap, no page
                if o.key not in self.incidents:
                    self._held.setdefault(o.key, self._stored_incident(o.key, self.history.open.get(o.key, o)))
                    taken.append(o.key)
        was_probed = before.probed if before is not None else frozenset(self.by_id)
        dropped = was_probed - scope.probed
        self._narrow(scope, dropped)
        if dropped:  # no longer polled: forget what was known (unknown again if it comes back)
            for table2 in (self.observations, self.rates, self.icmp_results):
                for d in [d for d in table2 if d in dropped]:
                    del table2[d]
            for d in dropped:  # another poller counts its interfaces now
                self.tracker.forget(d)
            if self.facts is not None:
                self.facts.forget(dropped)
            self._confirming -= dropped
        if taken:
            self._incidents(datetime.now(UTC), "handover")
        return scope.probed - was_probed if before is not None else scope.probed

    def scope_to(self, scope: Scope) -> None:
        """Start as one poller of a cluster that owns ``scope`` (nothing, until its first beat says what): it
        judges and keeps state only for that. The outage history is left as it is (:meth:`rescope` sorts it)."""
        self.scope = scope
        self._narrow(scope, frozenset(self.by_id) - scope.probed)

    def _narrow(self, scope: Scope, dropped: frozenset[str]) -> None:
        """Judge only what ``scope`` owns and probes; keep the health of what stays, forget the rest (what comes
        back later starts ``unknown``)."""
        self.judged = judged = self.topology.restricted(scope.probed, scope.stations, scope.links)
        old = self.health
        fresh_device, fresh_link = st.DeviceHealth(), st.LinkHealth()
        self.health = st.HealthState(
            {d: fresh_device if d in dropped else old.devices.get(d, fresh_device) for d in judged.nodes},
            {ln: fresh_link if dropped.intersection(e.ends_devices) else old.links.get(ln, fresh_link)
             for ln, e in judged.links.items()},
            {b: fresh_device if b in dropped else old.base_stations.get(b, fresh_device)
             for b in judged.base_stations},
            old.at, old.path)

    def _adopt(self, new: dict[str, Incident]) -> set[str]:
        """Incidents whose outage a previous run opened: the same outage goes on, from its stored start
        (webhook ``startsAt``, /metrics), and it is not announced again. Updates ``new`` in place."""
        if self.history is None:
            return set()
        adopted = set()
        for key, inc in new.items():
            stored = self.history.open.get(key)
            if stored is not None and stored.adopted:
                if inc.started_at != stored.started_at:  # every pass: health's own start is this run's
                    new[key] = replace(inc, started_at=stored.started_at)
                if key not in self.incidents:
                    adopted.add(key)
        return adopted

    def _announce(self, changes: Iterable[tuple[str, Iterable[Incident]]], now: datetime) -> None:
        """Log each incident change and tell the listeners (webhook, demo), after the history has it."""
        for what, incidents in changes:
            for inc in incidents:
                log.warning("INCIDENT %s %s — %s", what.upper(), inc.key, inc.title)
                for listener in self.listeners:
                    try:
                        listener(what, inc, now)
                    except Exception:  # a broken listener must not stop judging
                        log.exception("incident listener failed")

    def close_stale_adopted(self, now: datetime, first_pass: bool = True) -> None:
        """Outages left open by a previous run that no longer hold are closed — once their object is seen up.

        Right after a restart a device that is still down has failed only once (``failures_to_down``
        are needed), so it has no incident yet: closing its outage then would end it at the gap and open
        a duplicate a second later.  So an adopted outage is closed only when its object is judged ``up``
        (or has left the inventory); until then its incident, once confirmed, adopts the row.  Called
        after the first full pass and after every later judgement.

        When it ended: at the first poll that saw the object up again (``since`` of its ``up`` state) — the
        best evidence, an upper bound when it recovered while netmon was not running (the monitoring gap
        is recorded apart). An object gone from the inventory ends at the gap's start (netmon cannot know
        better). Never before the outage's own start. Each close is announced ("resolved"): the outage was
        announced by the run that opened it. Objects this monitor does not poll stay ``unknown`` and are
        left alone.
        """
        history = self.history
        if history is None:
            return
        tables: dict[str, Mapping[str, st.DeviceHealth | st.LinkHealth]] = {
            "device": self.health.devices, "link": self.health.links, "bts": self.health.base_stations}
        ended: dict[str, datetime] = {}
        scope = self.scope
        for key in history.open:
            if key in self.incidents or (scope is not None and not scope.owns(key)):
                continue  # open, or another poller's to close (this one keeps no state for it)
            kind, _, ident = key.partition(":")
            record = tables.get(kind, {}).get(ident)
            if record is not None and record.state is not st.State.UP:
                continue  # still failing, unreachable or unknown: not over (yet)
            if record is None:
                ended[key] = history.gap_start or now
            else:
                ended[key] = record.since or now
        if not ended:
            return
        stored = {key: history.open[key] for key in ended}
        history.record([], [], now, ended)
        self._announce([("closed", [self._stored_incident(k, o) for k, o in stored.items()])], now)

    def _stored_incident(self, key: str, outage: OpenOutageView) -> Incident:
        """An adopted outage as an incident, for its "resolved" (what the history holds of it)."""
        kind, _, ident = key.partition(":")
        anchor = ident
        if kind == "link" and ident in self.topology.links:
            ends = self.topology.links[ident]
            anchor = ends.child or ends.a_device
        node = self.topology.nodes.get(anchor)
        bts = self.topology.base_stations.get(ident) if kind == "bts" else None
        return Incident(
            key=key, kind=IncidentKind(outage.kind), root=ident, site_id=node.site_id if node else None,
            site_name=node.site_name if node else None,
            district=node.district if node else bts.district if bts else None,
            title=outage.title, summary=outage.title, affected=(), started_at=outage.started_at,
            evidence="open when netmon restarted; seen up again",
        )

    def _schedule_confirmations(self) -> None:
        """Re-check soon the devices that failed once: N failures in seconds, not in N intervals.

        All devices due are re-checked in ONE batch (a dead district router leaves a dozen communes
        pending: one batch and one re-probe of their parent, not a dozen of each).
        """
        due = set()
        if self.health.path.failures > 0 and self.health.path.state is not st.State.DOWN:
            # netmon's own path looked broken once: look again soon (with a poll of the roots)
            due |= {d for d in self.topology.order if self.topology.nodes[d].parent is None and d in self.by_id}
        for table in (self.health.devices, self.health.base_stations):
            for dev, h in table.items():
                needs_more = 0 < h.consecutive_failures < self.params.failures_to_down or h.waiting_for
                if needs_more and h.state not in (st.State.DOWN, st.State.UNREACHABLE) and dev in self.by_id:
                    due.add(dev)
        due -= self._confirming
        if not due:
            return
        if not self._confirming:
            asyncio.get_running_loop().call_later(self.confirm_after_s, self._confirm)
        self._confirming |= due

    def _confirm(self) -> None:
        batch, self._confirming = sorted(self._confirming), set()
        task = asyncio.ensure_future(self.poll_batch(batch, reason="confirm"))
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background poll failed", exc_info=task.exception())
