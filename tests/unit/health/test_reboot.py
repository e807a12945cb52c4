"""One rule for "rebooted": the counter rates and the state machine agree on every pair of sysUpTime readings.

Before, the rates called a fall of sysUpTime from ~30 s to ~0 a reboot (the interval dropped, counted in
``netmon_counter_discontinuities_total{reason="reboot"}``) while the state machine, which ignored boot-time
shifts under its 60 s slack, counted no reboot (``netmon_device_reboots_total`` stayed 0).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netmon.health.observation import DeviceObs, InterfaceObs
from netmon.health.rates import CounterTracker, Reason, compute_rates
from netmon.health.reboot import REORDER_S, TICKS_WRAP, rebooted
from netmon.health.states import Check, HealthState, Params, evaluate
from netmon.health.topology import topology_from_parents

T0 = 1_700_000_000.0
TOPO = topology_from_parents({"rt": None})


def obs(at: float, ticks: int | None) -> DeviceObs:
    return DeviceObs("rt", T0 + at, True, uptime_ticks=ticks,
                     interfaces={1: InterfaceObs(1, name="ge-0/0/0", bits=64, in_octets=int(at * 1000))})


def state_machine_reboots(readings: list[tuple[float, int]]) -> list[str]:
    """Events of the state machine fed these (seconds, ticks) readings one poll at a time."""
    state = HealthState.initial(TOPO)
    kinds = []
    for at, ticks in readings:
        when = datetime.fromtimestamp(T0 + at, UTC)
        ev = evaluate(TOPO, state, [Check("rt", when, True, True, uptime_ticks=ticks)], when, Params())
        state = ev.state
        kinds += [e.kind for e in ev.events]
    return kinds


def rates_reboots(readings: list[tuple[float, int]]) -> int:
    tracker = CounterTracker()
    for at, ticks in readings:
        tracker.update("rt", obs(at, ticks))
    return tracker.discontinuity_counts("rt").get(Reason.REBOOT, 0)


@pytest.mark.parametrize(
    ("readings", "reboot"),
    [
        ([(0, 3_000), (10, 50)], True),  # ~30 s -> ~0 within 10 s: the case of the issue
        ([(0, 3_000), (60, 50)], True),
        ([(0, 360_000), (60, 366_000)], False),  # an hour up, a minute later: 60 s more
        ([(0, TICKS_WRAP - 1_000), (60, 5_000)], False),  # the 497-day wrap
        ([(0, 10_000), (0.5, 9_800)], False),  # read out of order, 2 s apart: jitter
        ([(0, 10_000), (3_600, 200_000)], True),  # rebooted during a polling gap, already past the old uptime
        ([(0, 10_000), (60, 14_000)], False),  # 20 s short of the elapsed minute: within the slack
        ([(0, 10_000), (60, 7_000)], True),  # backwards by 30 s
    ],
)
def test_rates_and_state_machine_agree(readings: list[tuple[float, int]], reboot: bool) -> None:
    (t0, u0), (t1, u1) = readings
    assert rebooted(t0, u0, t1, u1) is reboot
    assert rates_reboots(readings) == int(reboot)
    assert state_machine_reboots(readings) == (["reboot"] if reboot else [])
    assert compute_rates(obs(*readings[0]), obs(*readings[1])).reboot is reboot


@settings(max_examples=300, deadline=None)
@given(t1=st.floats(0.1, 100_000), u0=st.integers(0, TICKS_WRAP - 1), u1=st.integers(0, TICKS_WRAP - 1))
def test_any_two_readings_are_judged_alike(t1: float, u0: int, u1: int) -> None:
    readings = [(0.0, u0), (t1, u1)]
    expected = rebooted(0.0, u0, t1, u1)
    assert rates_reboots(readings) == int(expected)
    assert state_machine_reboots(readings) == (["reboot"] if expected else [])


def test_a_small_fall_is_reordering_a_larger_one_a_reboot() -> None:
    assert not rebooted(0, 100_000, 1, 100_000 - int(REORDER_S * 100))
    assert rebooted(0, 100_000, 1, 100_000 - int(REORDER_S * 100) - 1)


def test_an_unknown_uptime_in_between_is_skipped_alike() -> None:
    """sysUpTime.0 answered noSuchObject once (unknown): both compare the next reading with the last known."""
    readings = [obs(0, 3_000), obs(10, None), obs(20, 10)]  # 30 s, unknown, 0.1 s: a reboot
    tracker = CounterTracker()
    for o in readings:
        tracker.update("rt", o)
    assert tracker.discontinuity_counts("rt").get(Reason.REBOOT) == 1
    state, kinds = HealthState.initial(TOPO), []
    for o in readings:
        when = datetime.fromtimestamp(o.at, UTC)
        ev = evaluate(TOPO, state, [Check("rt", when, True, True, uptime_ticks=o.uptime_ticks)], when)
        state, kinds = ev.state, kinds + [e.kind for e in ev.events]
    assert kinds == ["reboot"]
    assert state.devices["rt"].uptime == (datetime.fromtimestamp(T0 + 20, UTC), 10)
