"""The health state machine: checks in, states and transitions out — no I/O, no clock.

:func:`evaluate` is a pure function of (topology, previous state, new checks, now), so a
day of polls can be replayed in a test and two runs always agree.  :class:`HealthState`
is immutable (frozen records in read-only mappings; each call copies the small top-level
dicts and replaces only the records that changed): the service can keep the previous
state for diffing and history without defensive copies, and a bug cannot edit the past.

The rules, each there to keep one root cause from paging many times:

* a device is ``down`` only after N consecutive failed checks (SNMP *and* ICMP failing)
  and a *fresh* success of its parent (parent check time ≥ the child's latest failure);
  with a stale parent it keeps its state and asks the service to re-probe the parent;
* a failing device behind a down/unreachable parent, or behind an uplink that is down or
  flapping, is ``unreachable`` — and its failures restart from zero, so after the parent
  recovers it needs N fresh failures again before it is ``down``;
* unless it was ``down`` already: an outage that began before its parent (or uplink) failed
  goes on — ``down``, marked ``behind`` the later failure — and ends once, when the device
  answers again (overlapping faults are two outages, and neither is closed early);
* one success is enough to be ``up`` again;
* a device that answers ping but not SNMP (or whose agent answers with no data at all) stays ``up`` — it
  is not an outage — but once that has lasted ``blind_after_s`` netmon is *blind* to it (its links are no
  longer watched): flagged until SNMP brings data again, through any outage in between;
* a link is ``down`` when a reachable end reports its interface oper-down; more than K
  changes in the window make it ``flapping`` (decided when it is seen up again: while it is
  seen down it is down) until nothing changed for the hold time; a link that stays down for
  ``flap_down_s`` is ``down`` — an outage, not a flap — and its flap history starts afresh;
* a link that was down before the device at its far end failed stays ``down`` (marked
  ``behind`` that device) instead of turning ``unreachable``: its outage goes on and ends once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from netmon.health.reboot import UPTIME_SLACK_S, rebooted
from netmon.health.topology import LinkEnds, Topology, bts_key, device_key, link_key


class State(StrEnum):
    UP = "up"
    DOWN = "down"
    UNREACHABLE = "unreachable"
    """Not answering because something upstream (parent device or uplink) failed."""
    UNKNOWN = "unknown"
    """Not polled yet, or no check for ``stale_after_s`` (a monitoring gap)."""
    FLAPPING = "flapping"
    """Links only: too many changes in the window; held until stable."""


BLOCKED = frozenset({State.DOWN, State.UNREACHABLE})


@dataclass(frozen=True, slots=True)
class Check:
    """One poll of one device (or base station), as the collector saw it."""

    device_id: str
    at: datetime
    snmp_ok: bool
    icmp_ok: bool | None = None
    """None when ICMP is not used for this device (then SNMP alone decides)."""
    error: str | None = None
    if_oper: Mapping[str, bool] = field(default_factory=dict)
    """Watched interface name → oper-status up; only meaningful when ``snmp_ok``."""
    uptime_ticks: int | None = None
    collected: bool = True
    """SNMP brought data (completeness > 0); False for an agent that answered with nothing usable."""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Check.at needs a time zone")
        # The check ends up inside the immutable state: keep the caller's dict out of it.
        object.__setattr__(self, "if_oper", MappingProxyType(dict(self.if_oper)))

    @property
    def failed(self) -> bool:
        """Both probes failed: SNMP alone failing while ping answers is an agent problem, not an outage."""
        return not self.snmp_ok and not self.icmp_ok

    @property
    def blind(self) -> bool:
        """netmon learnt nothing from a device that is there: SNMP failed while ping answered, or the agent
        answered with no data at all (a view or ACL that hides everything)."""
        return (not self.snmp_ok and self.icmp_ok is True) or (self.snmp_ok and not self.collected)


@dataclass(frozen=True, slots=True)
class Params:
    failures_to_down: int = 2
    flap_changes: int = 4
    """More than this many state changes within ``flap_window_s`` is flapping."""
    flap_window_s: float = 300.0
    flap_hold_s: float = 180.0
    """A flapping link stays flapping until it has not changed for this long."""
    flap_down_s: float = 60.0
    """A flapping (or churning) link *seen* down without a change for this long (a report at least this long after
    its last change, not just time passing) is ``down``: an outage, not a flap; its flap history is dropped, so
    coming back from that outage does not start flapping."""
    stale_after_s: float | None = 600.0
    """No check for this long → ``unknown`` (monitoring gap); None disables it."""
    uptime_slack_s: float = UPTIME_SLACK_S
    """Clock jitter tolerated before a later boot time counts as a reboot (:mod:`netmon.health.reboot`, the
    rule the counter rates use too)."""
    fresh_slack_s: float = 1.0
    """A parent probed side by side with its failing child (re-probe round) counts as fresh evidence."""
    blind_after_s: float = 180.0
    """SNMP failing while ping answers this long (first to latest such check) → ``blind`` (an alert)."""

    def __post_init__(self) -> None:
        if self.failures_to_down < 1 or self.flap_changes < 1:
            raise ValueError("failures_to_down and flap_changes must be at least 1")
        if min(self.flap_window_s, self.flap_hold_s, self.flap_down_s, self.uptime_slack_s, self.blind_after_s) < 0:
            raise ValueError("durations must not be negative")


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """What we know about one device or base station."""

    state: State = State.UNKNOWN
    since: datetime | None = None
    consecutive_failures: int = 0
    """Failures that count towards ``down``: reset by a success and while ``unreachable``."""
    failing_since: datetime | None = None
    """First failed check of the current run (reset by a success only): when the outage began."""
    last_check: Check | None = None
    last_ok_at: datetime | None = None
    ok_since: datetime | None = None
    """First success of the current unbroken run of successes (None while failing)."""
    last_failure_at: datetime | None = None
    uptime: tuple[datetime, int] | None = None
    """The latest (check time, sysUpTime ticks) seen, for reboot detection."""
    snmp_error: bool = False
    """Answers ping but not SNMP: ``up``, but the agent needs a look."""
    icmp_error: bool = False
    """Answers SNMP but not ping (filtered ICMP?)."""
    in_maintenance: bool = False
    waiting_for: str | None = None
    """Parent re-probe this device waits for before it may be declared ``down``."""
    behind: str | None = None
    """While ``down`` with its own outage: the key of the parent device or uplink that failed after it."""
    blind_since: datetime | None = None
    """First check of the current run in which netmon learnt nothing from a device that is there (SNMP
    failing while ping answers; :attr:`Check.blind`); cleared when SNMP brings data again."""
    blind: bool = False
    """netmon is blind to this device: that run has lasted ``blind_after_s`` while it was ``up``. Stays set
    through an outage that follows (the alert is inhibited meanwhile) until SNMP brings data again."""

    @property
    def last_check_at(self) -> datetime | None:
        return self.last_check.at if self.last_check else None


@dataclass(frozen=True, slots=True)
class LinkHealth:
    state: State = State.UNKNOWN
    since: datetime | None = None
    observed: State | None = None
    """Current oper-status from the reachable ends (UP/DOWN), None when no end reports it."""
    last_seen: State | None = None
    """Latest non-None observation: changes are counted against it."""
    last_seen_at: datetime | None = None
    changes: tuple[datetime, ...] = ()
    """Observed changes within the flap window (the flap history)."""
    last_change_at: datetime | None = None
    reported_by: tuple[str, ...] = ()
    """Devices whose interface report made the current observation."""
    in_maintenance: bool = False
    behind: str | None = None
    """While ``down``/``flapping`` with the device at its far end failed since: that device's key (the link's
    outage began first and goes on; nothing can be observed of it until that device answers again)."""


@dataclass(frozen=True, slots=True)
class PathHealth:
    """netmon's own path to the network (its interface toward the tree's root), judged by :mod:`netmon.health.path`.

    ``up``; ``down`` — netmon is cut off: nothing it polls can be judged, everything is ``unknown``; or
    ``unknown`` (not watched yet). ``failures`` counts broken observations not yet enough to say ``down``."""

    state: State = State.UNKNOWN
    since: datetime | None = None
    failures: int = 0
    reason: str = ""
    """Why it is broken: ``no_route``, ``interface_down``, ``no_carrier`` (empty when up)."""
    interface: str | None = None
    target: str | None = None
    """The address the path was looked up for (the tree's root)."""
    failing_since: datetime | None = None
    """First broken look of the current run of them (None while it works)."""


@dataclass(frozen=True)
class HealthState:
    """Every device, watched link and base station, keyed by id; and netmon's own path to them."""

    devices: Mapping[str, DeviceHealth] = field(default_factory=dict)
    links: Mapping[str, LinkHealth] = field(default_factory=dict)
    base_stations: Mapping[str, DeviceHealth] = field(default_factory=dict)
    at: datetime | None = None
    path: PathHealth = field(default_factory=PathHealth)

    def __post_init__(self) -> None:
        for name in ("devices", "links", "base_stations"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    @classmethod
    def initial(cls, topology: Topology) -> HealthState:
        """Everything ``unknown``: nothing has been polled yet."""
        return cls(
            {d: DeviceHealth() for d in topology.nodes},
            {ln: LinkHealth() for ln in topology.links},
            {b: DeviceHealth() for b in topology.base_stations},
        )

    def state_of(self, key: str) -> State:
        """State by object key (``device:…``, ``link:…``, ``bts:…``); unknown objects are UNKNOWN."""
        kind, _, ident = key.partition(":")
        record: DeviceHealth | LinkHealth | None = None
        if kind == "device":
            record = self.devices.get(ident)
        elif kind == "link":
            record = self.links.get(ident)
        elif kind == "bts":
            record = self.base_stations.get(ident)
        return record.state if record is not None else State.UNKNOWN


class Transition(NamedTuple):
    key: str
    old: State
    new: State
    at: datetime


class Event(NamedTuple):
    """Something worth recording that is not a state change: a ``reboot``, ``restarted_while_blind`` (a fresh
    uptime after netmon was blind to the device: not paged again), or ``restarted_in_outage`` (a device
    that comes back from being down or unreachable with a fresh uptime: part of that outage, not a page)."""

    kind: str
    key: str
    at: datetime
    detail: str


@dataclass(frozen=True)
class Evaluation:
    state: HealthState
    transitions: tuple[Transition, ...] = ()
    reprobe: frozenset[str] = frozenset()
    """Parent devices to probe *now*; call :func:`evaluate` again with their checks until this is
    empty.  Each answer either confirms the parent or adds a failure to it, so the loop ends
    within about N rounds per level of the tree (bound it anyway)."""
    pending: frozenset[str] = frozenset()
    """Devices waiting for those re-probes before they can be declared ``down``."""
    events: tuple[Event, ...] = ()


# ------------------------------------------------------------------ evaluation
def evaluate(
    topology: Topology,
    state: HealthState,
    checks: Iterable[Check],
    now: datetime,
    params: Params | None = None,
    maintenance: frozenset[str] = frozenset(),
) -> Evaluation:
    """Fold ``checks`` into ``state`` and re-judge everything as of ``now``.

    ``maintenance`` holds object keys (``device:…``/``link:…``/``bts:…``) in a window now:
    their state is still computed, only flagged.  Checks for ids not in the topology, and
    checks older than what a device already has, are ignored.
    """
    if now.tzinfo is None:
        raise ValueError("now needs a time zone")
    params = params or Params()
    per_device: dict[str, list[Check]] = {}
    for check in checks:
        per_device.setdefault(check.device_id, []).append(check)
    events: list[Event] = []
    ingested = {
        d: _ingest(device_key(d), state.devices.get(d, DeviceHealth()), per_device.get(d, ()), params, events)
        for d in topology.nodes
    }
    stations = {
        b: _ingest(bts_key(b), state.base_stations.get(b, DeviceHealth()), per_device.get(b, ()), params, events)
        for b in topology.base_stations
    }
    judge = _Judge(topology, state, ingested, now, params, maintenance)
    for dev in topology.order:
        judge.device(dev)
    for link_id in topology.links:
        if link_id not in judge.links:
            judge.link(link_id)
    new_stations = {b: judge.decide(bts_key(b), h, None, None) for b, h in stations.items()}
    new_state = HealthState(judge.devices, judge.links, new_stations, now, state.path)
    return Evaluation(
        new_state, tuple(judge.transitions), frozenset(judge.reprobe), frozenset(judge.pending), tuple(events)
    )


def _ingest(key: str, h: DeviceHealth, checks: Iterable[Check], params: Params, events: list[Event]) -> DeviceHealth:
    """Apply a device's new checks in time order: counters, flags, reboots; no judgement yet."""
    for c in sorted(checks, key=lambda c: c.at):
        if h.last_check is not None and c.at < h.last_check.at:
            continue  # late arrival: the newer check already speaks for the device
        uptime = h.uptime
        if c.uptime_ticks is not None:
            if uptime is not None and _rebooted(uptime, (c.at, c.uptime_ticks), params.uptime_slack_s):
                # Coming back from an outage with a fresh uptime is part of that outage (its power or the
                # router died): recorded, but not a reboot of its own — one page per fault. So is an agent
                # that comes back fresh after netmon was blind to it (ping answered throughout: most likely
                # the agent restarted; DeviceBlind was the page and its resolve says SNMP is back).
                kind = ("restarted_in_outage" if h.state in BLOCKED
                        else "restarted_while_blind" if h.blind else "reboot")
                events.append(Event(kind, key, c.at, f"sysUpTime {uptime[1]} → {c.uptime_ticks}"))
            uptime = (c.at, c.uptime_ticks)
        failed = c.failed
        if c.blind:
            blind_since = h.blind_since or c.at
        elif c.snmp_ok:  # SNMP answered with data: seeing again
            blind_since = None
        else:  # ping failed too: an outage, judged as such; netmon stays as blind as it was
            blind_since = h.blind_since
        h = replace(
            h, blind_since=blind_since, blind=h.blind and blind_since is not None,
            consecutive_failures=h.consecutive_failures + 1 if failed else 0,
            failing_since=(h.failing_since or c.at) if failed else None,
            last_failure_at=c.at if failed else h.last_failure_at,
            last_ok_at=h.last_ok_at if failed else c.at,
            ok_since=None if failed else (h.ok_since or c.at),
            last_check=c, uptime=uptime, snmp_error=not c.snmp_ok and not failed,
            icmp_error=c.snmp_ok and c.icmp_ok is False,
        )
    return h


def _rebooted(before: tuple[datetime, int], after: tuple[datetime, int], slack_s: float) -> bool:
    """Did the device boot again between two uptime readings? (:func:`netmon.health.reboot.rebooted`)"""
    return rebooted(before[0].timestamp(), before[1], after[0].timestamp(), after[1], slack_s)


class _Judge:
    """One evaluation pass: decides devices parents-first, each after its uplink link."""

    def __init__(
        self, topology: Topology, old: HealthState, ingested: Mapping[str, DeviceHealth],
        now: datetime, params: Params, maintenance: frozenset[str],
    ) -> None:
        self.topology, self.old, self.ingested = topology, old, ingested
        self.now, self.params, self.maintenance = now, params, maintenance
        self.devices: dict[str, DeviceHealth] = {}
        self.links: dict[str, LinkHealth] = {}
        self.transitions: list[Transition] = []
        self.reprobe: set[str] = set()
        self.pending: set[str] = set()

    def fresh(self, at: datetime | None) -> bool:
        stale = self.params.stale_after_s
        return at is not None and (stale is None or (self.now - at).total_seconds() <= stale)

    def state(self, dev: str) -> State:
        """A device's state in this pass if already judged, else its previous one."""
        h = self.devices.get(dev) or self.old.devices.get(dev)
        return h.state if h is not None else State.UNKNOWN

    def device(self, dev: str) -> None:
        node = self.topology.nodes[dev]
        uplink = self.link(node.uplink.link_id) if node.uplink is not None else None
        parent = self.devices[node.parent] if node.parent is not None else None
        uplink_key = link_key(node.uplink.link_id) if node.uplink is not None else None
        self.devices[dev] = self.decide(device_key(dev), self.ingested[dev], parent, uplink, node.parent, uplink_key)

    def decide(
        self, key: str, h: DeviceHealth, parent: DeviceHealth | None, uplink: LinkHealth | None,
        parent_id: str | None = None, uplink_key: str | None = None,
    ) -> DeviceHealth:
        """Judge one ingested record (its state/since are still the previous ones)."""
        new, at, reset, wait = self._rule(h, parent, uplink)
        behind = None
        if new is State.DOWN:
            if parent is not None and parent.state in BLOCKED and parent_id is not None:
                behind = device_key(parent_id)
            elif uplink is not None and uplink.state in (State.DOWN, State.FLAPPING):
                behind = uplink_key
        if wait and parent_id is not None:
            # Re-probing the parent helps if its last word is older than the child's failure or was a
            # failure (more of them decide the parent); after a newer success only the child failing
            # again can decide (the caller re-checks pending devices).
            if parent is None or parent.last_check is None or h.last_check is None \
                    or parent.last_check.at < h.last_check.at or parent.last_check.failed:
                self.reprobe.add(parent_id)
            self.pending.add(key.partition(":")[2])
        since = h.since
        if new is not h.state:
            since = _not_before(at, h.since)
            self.transitions.append(Transition(key, h.state, new, since))
        blind = h.blind
        if h.blind_since is not None and h.last_check is not None and not blind and new is State.UP:
            blind = (h.last_check.at - h.blind_since).total_seconds() >= self.params.blind_after_s
        failures = 0 if reset else h.consecutive_failures
        in_maintenance = key in self.maintenance
        waiting_for = parent_id if wait else None
        if (new is h.state and since == h.since and failures == h.consecutive_failures
                and in_maintenance == h.in_maintenance and waiting_for == h.waiting_for and behind == h.behind
                and blind == h.blind):
            return h  # nothing changed (most records at most passes): a copy costs more than the judgement
        return replace(
            h, state=new, since=since, consecutive_failures=failures, in_maintenance=in_maintenance,
            waiting_for=waiting_for, behind=behind, blind=blind,
        )

    def _rule(
        self, h: DeviceHealth, parent: DeviceHealth | None, uplink: LinkHealth | None
    ) -> tuple[State, datetime, bool, bool]:
        """(new state, effective time, reset failures?, wait for a parent re-probe?)."""
        latest = h.last_check
        fresh = latest is not None and self.fresh(latest.at)
        if latest is not None and fresh and not latest.failed:
            blocked_since = _blocked_since(parent)
            if blocked_since is None or latest.at >= blocked_since:
                return State.UP, latest.at, False, False  # one success is enough
        cut_off = parent is not None and parent.state in BLOCKED
        uplink_cut = uplink is not None and uplink.state in (State.DOWN, State.FLAPPING)
        if (cut_off or uplink_cut) and h.state is State.DOWN and fresh:
            return State.DOWN, h.since or self.now, False, False  # its own outage began first: it goes on
        if cut_off:
            assert parent is not None
            return State.UNREACHABLE, _later(latest, parent.since, self.now), True, False
        if uplink_cut:
            assert uplink is not None
            return State.UNREACHABLE, _later(latest, uplink.since, self.now), True, False
        if latest is None or not fresh:
            return State.UNKNOWN, self.now, False, False
        if latest.failed and h.consecutive_failures >= self.params.failures_to_down:
            if parent is None or _fresh_success(parent, latest.at, self.params.fresh_slack_s):
                return State.DOWN, latest.at, False, False
            return h.state, latest.at, False, h.state is not State.DOWN
        return h.state, latest.at, False, False  # not enough failures yet: keep the state

    def link(self, link_id: str) -> LinkHealth:
        ends = self.topology.links[link_id]
        old = self.old.links.get(link_id, LinkHealth())
        new = _judge_link(ends, old, self, link_key(link_id) in self.maintenance)
        if new.state is not old.state:
            assert new.since is not None
            self.transitions.append(Transition(link_key(link_id), old.state, new.state, new.since))
        self.links[link_id] = new
        return new


def _blocked_since(parent: DeviceHealth | None) -> datetime | None:
    """When the parent started failing, if it is down/unreachable: older successes of a child
    predate the outage and do not prove the child reachable now."""
    if parent is None or parent.state not in BLOCKED:
        return None
    return parent.failing_since or parent.since


def _fresh_success(parent: DeviceHealth, failure_at: datetime, slack_s: float = 0.0) -> bool:
    """The parent was seen up before *and* after the child's failure, with no failure in between.

    Only then is the failure the child's own.  A success *after* is not enough: a child poll that
    started while the parent was down (but not yet judged so) and a parent that came back before
    the re-probe would otherwise make every child behind it "down" (seen in the demo).
    """
    c = parent.last_check
    since = failure_at - timedelta(seconds=slack_s)  # probed side by side: starts differ by microseconds
    return (parent.state is State.UP and c is not None and not c.failed and c.at >= since
            and parent.ok_since is not None and parent.ok_since <= failure_at)


def _not_before(at: datetime, earlier: datetime | None) -> datetime:
    """Clamp a transition time so a state never starts before the one it replaces."""
    return max(at, earlier) if earlier is not None else at


def _later(latest: Check | None, other: datetime | None, now: datetime) -> datetime:
    times = [t for t in (latest.at if latest else None, other) if t is not None]
    return max(times) if times else now


def _judge_link(ends: LinkEnds, old: LinkHealth, judge: _Judge, in_maintenance: bool) -> LinkHealth:
    """Observe the link from its reachable ends, then apply flap detection and hold."""
    params, now = judge.params, judge.now
    reports: list[tuple[str, bool, datetime]] = []
    for dev, interface in ends.ends:
        h = judge.ingested.get(dev)
        c = h.last_check if h is not None else None
        if c is not None and c.snmp_ok and interface in c.if_oper and judge.fresh(c.at):
            reports.append((dev, c.if_oper[interface], c.at))
    down = [r for r in reports if not r[1]]
    used = down or reports
    observed = (State.DOWN if down else State.UP) if reports else None
    observed_at = max((r[2] for r in used), default=now)
    changes, last_change = old.changes, old.last_change_at
    if observed is not None and old.last_seen is not None and observed is not old.last_seen:
        changes, last_change = (*changes, observed_at), observed_at
    window_start = now - timedelta(seconds=params.flap_window_s)
    changes = tuple(t for t in changes if t > window_start)
    far_failed = [dev for dev, _ in ends.ends if dev != ends.child and judge.state(dev) in BLOCKED]
    if observed is not None:
        base, at = observed, observed_at
    elif far_failed and old.state in (State.DOWN, State.FLAPPING) and old.last_seen is State.DOWN:
        base, at = State.DOWN, now  # down before its far end failed: the outage goes on, behind that failure
    elif far_failed:
        base, at = State.UNREACHABLE, now
    elif old.last_seen is not None and judge.fresh(old.last_seen_at):
        base, at = old.last_seen, now  # a missed report is not news: keep the last word until stale
    else:
        base, at = State.UNKNOWN, now
    hold = timedelta(seconds=params.flap_hold_s)
    settled = last_change + timedelta(seconds=params.flap_down_s) if last_change is not None else None
    seen_at = observed_at if observed is not None else old.last_seen_at
    if base is State.DOWN and settled is not None and seen_at is not None and seen_at >= settled and (
            old.state is State.FLAPPING or len(changes) > params.flap_changes):
        # down for good: an outage, not a flap; its return is one change, not the next bounce
        new, changes = State.DOWN, ()
        at = settled if old.state is State.FLAPPING else at
    elif old.state is State.FLAPPING and last_change is not None and now - last_change < hold:
        new, at = State.FLAPPING, old.since or at
    elif old.state is not State.FLAPPING and len(changes) > params.flap_changes and base is State.UP:
        new, at = State.FLAPPING, changes[-1]  # decided when it is back: while it is down, it is down
    else:
        new = base
        if old.state is State.FLAPPING:  # stable again: start counting afresh, or it would re-flap at once
            changes = ()
            if last_change is not None:
                at = last_change + hold  # the moment it became stable
    since = old.since if new is old.state else _not_before(at, old.since)
    behind = device_key(far_failed[0]) if far_failed and new in (State.DOWN, State.FLAPPING) else None
    return LinkHealth(
        state=new, since=since, observed=observed, last_seen=observed or old.last_seen,
        last_seen_at=observed_at if observed is not None else old.last_seen_at, changes=changes,
        last_change_at=last_change, reported_by=tuple(r[0] for r in used), in_maintenance=in_maintenance,
        behind=behind,
    )
