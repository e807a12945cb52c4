"""netmon's own path to the network: when it is gone, netmon is cut off — not every device down.

The monitor is part of the topology. It reaches the tree's root (and everything behind it) through a local
interface; when that interface is down, has lost its carrier, or no route leads to the root any more, every
poll fails at once, and without this module that would read as "the core router is down, N sites
unreachable" (or as a page per base station). Instead:

* :func:`judge_path` folds one look at the local path (:class:`PathLook`, what ``collect/path.py`` reports) into
  :class:`~netmon.health.states.PathHealth`: one look that works is enough to be ``up``; ``failures_to_cut``
  broken looks in a row are ``down`` (cut off). A broken look that is not enough yet makes the batch's
  checks say nothing about the devices (they failed because of the path): :func:`evaluate_on_path` leaves
  them out, and the service confirms the path soon after;
* while cut off, :func:`cut_off` makes every device, link and base station ``unknown`` — not down, not
  unreachable: netmon does not know — and :mod:`netmon.health.incidents` raises one incident, netmon's own
  (``netmon:path``), instead of any other;
* once the path works again, devices are judged afresh from their next checks (``unknown`` → ``up`` at the
  first success; a device still dead needs its N failures again).

Pure, like the rest of ``health/``: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from netmon.health.states import (
    Check,
    DeviceHealth,
    Evaluation,
    HealthState,
    LinkHealth,
    Params,
    PathHealth,
    State,
    Transition,
    evaluate,
)
from netmon.health.topology import Topology, bts_key, device_key, link_key

PATH_KEY = "netmon:path"
"""Object key of netmon's own path (its transitions and its incident)."""

REASONS_EN = {"no_route": "no route to {target}", "interface_down": "interface {interface} down",
              "no_carrier": "interface {interface}: no carrier"}
REASONS_VI = {"no_route": "không có tuyến tới {target}", "interface_down": "giao diện {interface} bị tắt",
              "no_carrier": "giao diện {interface} mất tín hiệu"}


class PathLook(Protocol):
    """One look at the local path toward the tree's root (:class:`netmon.collect.path.PathResult` is one)."""

    @property
    def ok(self) -> bool: ...
    @property
    def reason(self) -> str:
        """``no_route`` / ``interface_down`` / ``no_carrier`` when broken."""
    @property
    def interface(self) -> str | None: ...
    @property
    def target(self) -> str | None: ...


def describe(path: PathHealth, vi: bool = False) -> str:
    """Why the path is broken, in words (``interface noc0: no carrier``)."""
    table = REASONS_VI if vi else REASONS_EN
    template = table.get(path.reason)
    if template is None:
        return path.reason or ("đường kết nối bị cắt" if vi else "path broken")
    return template.format(interface=path.interface or "?", target=path.target or "?")


def judge_path(old: PathHealth, look: PathLook, now: datetime, failures_to_cut: int) -> PathHealth:
    """One look folded in: ``up`` at once; ``down`` after ``failures_to_cut`` broken looks in a row."""
    if look.ok:
        since = old.since if old.state is State.UP else now
        return PathHealth(State.UP, since, 0, "", look.interface, look.target)
    failing_since = old.failing_since or now
    failures = old.failures + 1
    if old.state is State.DOWN or failures >= failures_to_cut:
        since = old.since if old.state is State.DOWN else failing_since  # cut off since it was first seen broken
        return PathHealth(State.DOWN, since, failures, look.reason, look.interface, look.target, failing_since)
    return replace(old, failures=failures, reason=look.reason, interface=look.interface, target=look.target,
                   failing_since=failing_since)


def cut_off(state: HealthState, now: datetime) -> tuple[HealthState, list[Transition]]:
    """Everything ``unknown`` from ``now``: netmon cannot see it. What was seen before is dropped (a device is
    judged afresh from its next check); sysUpTime is kept, so a reboot meanwhile is still noticed."""
    transitions: list[Transition] = []

    def device(key: str, h: DeviceHealth) -> DeviceHealth:
        if h.state is not State.UNKNOWN:
            transitions.append(Transition(key, h.state, State.UNKNOWN, now))
        return DeviceHealth(State.UNKNOWN, now, uptime=h.uptime, in_maintenance=h.in_maintenance)

    def link(key: str, lh: LinkHealth) -> LinkHealth:
        if lh.state is not State.UNKNOWN:
            transitions.append(Transition(key, lh.state, State.UNKNOWN, now))
        return LinkHealth(State.UNKNOWN, now, in_maintenance=lh.in_maintenance)

    devices = {d: device(device_key(d), h) for d, h in state.devices.items()}
    links = {ln: link(link_key(ln), lh) for ln, lh in state.links.items()}
    stations = {b: device(bts_key(b), h) for b, h in state.base_stations.items()}
    return HealthState(devices, links, stations, now, state.path), transitions


def evaluate_on_path(
    topology: Topology,
    state: HealthState,
    checks: Iterable[Check],
    now: datetime,
    params: Params,
    maintenance: frozenset[str] = frozenset(),
    look: PathLook | None = None,
) -> Evaluation:
    """:func:`~netmon.health.states.evaluate`, unless ``look`` says netmon's own path is broken: then the checks
    are left out (they failed because of the path), and once it is ``down``, everything is ``unknown``.
    ``look`` None: the path is not watched (the state's path is kept as it is)."""
    if look is None:
        return evaluate(topology, state, checks, now, params, maintenance)
    path = judge_path(state.path, look, now, params.failures_to_down)
    moved = [Transition(PATH_KEY, state.path.state, path.state, path.since or now)] \
        if path.state is not state.path.state else []
    if look.ok:
        ev = evaluate(topology, replace(state, path=path), checks, now, params, maintenance)
        return replace(ev, transitions=(*moved, *ev.transitions))
    if path.state is State.DOWN and state.path.state is not State.DOWN:
        cut, transitions = cut_off(state, path.since or now)
        return Evaluation(replace(cut, path=path, at=now), (*moved, *transitions))
    return Evaluation(replace(state, path=path, at=now), tuple(moved))  # the checks say nothing about devices
