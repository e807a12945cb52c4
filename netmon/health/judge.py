"""A batch of polls judged in one pass: walks in, observations, rates, checks and an evaluation out.

Pure, like the rest of ``health/``: the monitor hands over what ``collect/`` brought back (the walks and the
latest ICMP rounds) together with the state so far, and gets back everything it records —
:func:`judge` interprets each walk (:func:`~netmon.health.interpret.interpret`), feeds the counters to the
:class:`~netmon.health.rates.CounterTracker`, turns each observation into a :class:`~netmon.health.states.Check`
(:func:`check`) and evaluates them (:func:`~netmon.health.states.evaluate`).  When the evaluation asks for
re-probes of parents, the monitor polls them and calls :func:`judge` again with the new state.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from netmon.health.interpret import Walked, interpret
from netmon.health.observation import DeviceObs
from netmon.health.path import PathLook, evaluate_on_path
from netmon.health.rates import CounterTracker, RateResult
from netmon.health.states import Check, Evaluation, HealthState, Params
from netmon.health.topology import Topology

PING_FRESH_S = 30.0
"""An ICMP round counts for a check only if it was this close to the SNMP poll."""


class Ping(Protocol):
    """One ICMP round of a device, as :class:`netmon.collect.icmp.IcmpResult` reports it."""

    @property
    def at(self) -> float: ...

    @property
    def alive(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Judgement:
    observations: list[DeviceObs]
    """One per walk, in order."""
    rates: dict[str, RateResult]
    """Per device that answered (empty when the counters were not tracked)."""
    checks: list[Check]
    evaluation: Evaluation


def check(obs: DeviceObs, ping: Ping | None, watched: Collection[str], icmp: bool) -> Check:
    """What the state machine needs from an observation: did SNMP and ICMP answer, did SNMP bring any data,
    and the oper-status of the watched interfaces (links) when SNMP did.  ``icmp`` False: SNMP alone decides."""
    icmp_ok: bool | None = None
    if icmp and ping is not None and abs(ping.at - obs.at) < PING_FRESH_S:
        icmp_ok = ping.alive
    if_oper: dict[str, bool] = {}
    if obs.ok:
        for name in watched:
            itf = obs.interface_named(name)
            if itf is not None and itf.oper_status is not None:
                if_oper[name] = itf.oper_status == 1
    return Check(obs.device_id, datetime.fromtimestamp(obs.at, UTC), obs.ok, icmp_ok, obs.error, if_oper,
                 obs.uptime_ticks, collected=obs.collection.completeness > 0)


def judge(
    walks: Iterable[Walked],
    pings: Mapping[str, Ping],
    state: HealthState,
    topology: Topology,
    now: datetime,
    *,
    watched: Mapping[str, Collection[str]],
    params: Params,
    icmp: bool,
    maintenance: frozenset[str] = frozenset(),
    tracker: CounterTracker | None = None,
    path: PathLook | None = None,
) -> Judgement:
    """Judge one batch.  ``pings``: the latest ICMP round per device id; ``watched``: device id → the
    interface names its links are watched by; ``tracker``: counters to update (None: leave them, as for
    the re-probe of a parent, which is judged but not measured); ``path``: a look at netmon's own path taken
    after the polls (None: not watched) — when it is broken the checks say nothing about the devices
    (:func:`~netmon.health.path.evaluate_on_path`)."""
    observations = [interpret(walk) for walk in walks]
    rates: dict[str, RateResult] = {}
    if tracker is not None:
        for obs in observations:
            if obs.ok:
                rates[obs.device_id] = tracker.update(obs.device_id, obs)
    checks = [check(obs, pings.get(obs.device_id), watched.get(obs.device_id, ()), icmp) for obs in observations]
    evaluation = evaluate_on_path(topology, state, checks, now, params, maintenance, path)
    return Judgement(observations, rates, checks, evaluation)
