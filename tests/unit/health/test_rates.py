"""``netmon.health.rates``: counter samples → rates; every anomaly drops the interval, never a spike.

Unit tests walk through each rule (wraps, resets, reboots, renumbering, speed clamp, gaps); property tests
check, for arbitrary sequences of snapshots, that rates stay within [0, speed] and that the exported
totals of :class:`CounterTracker` never decrease nor grow faster than the link; and that clean traffic is
measured exactly, with no false drop.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netmon.health.observation import DeviceObs, InterfaceObs
from netmon.health.rates import (
    COUNTERS,
    CounterName,
    CounterTracker,
    RateConfig,
    Reason,
    compute_rates,
)

M100 = 100_000_000
G1 = 1_000_000_000
W32 = 2**32
BOOT = 123_456  # uptime (ticks) at at=0


def itf(bits: int = 64, speed: int | None = M100, name: str | None = "ge-0/0/1", **kw: Any) -> InterfaceObs:
    values: dict[str, Any] = {"in_octets": 0, "out_octets": 0, "in_errors": 0, "out_errors": 0}
    values.update(kw)
    return InterfaceObs(0, bits=bits, speed_bps=speed, name=name, **values)  # snap() gives the ifIndex


def snap(at: float, *itfs: InterfaceObs, uptime: int | str | None = "auto", **by_index: Any) -> DeviceObs:
    interfaces: dict[int, InterfaceObs] = {i + 1: x for i, x in enumerate(itfs)}
    interfaces.update({int(k.removeprefix("i")): v for k, v in by_index.items()})
    interfaces = {i: replace(x, if_index=i) for i, x in interfaces.items()}
    ticks = (BOOT + round(at * 100)) % W32 if uptime == "auto" and math.isfinite(at) else uptime
    ticks = None if ticks == "auto" else ticks
    assert not isinstance(ticks, str)
    return DeviceObs("dev", at, True, uptime_ticks=ticks, interfaces=interfaces)


def reasons(result: Any) -> list[tuple[int | None, Reason]]:
    return [(d.if_index, d.reason) for d in result.discontinuities]


# ---------------------------------------------------------------------------------------------- basics
def test_first_poll_has_no_rates() -> None:
    r = compute_rates(None, snap(0, itf(in_octets=5)))
    assert r.interval_s is None and not r.discontinuities and not r.reboot
    assert r.interfaces[1].in_bps is None and not r.interfaces[1].dropped


def test_normal_rate() -> None:
    a = snap(100, itf(in_octets=1_000, out_octets=50, in_errors=3, in_packets=10))
    b = snap(110, itf(in_octets=1_000 + 1_250_000, out_octets=50 + 125_000, in_errors=8, in_discards=4, in_packets=30))
    r = compute_rates(a, b)
    x = r.interfaces[1]
    assert r.interval_s == 10 and r.discontinuities == () and not r.reboot
    assert x.in_bps == pytest.approx(1_000_000) and x.out_bps == pytest.approx(100_000)
    assert x.utilisation_in == pytest.approx(0.01) and x.utilisation_out == pytest.approx(0.001)
    assert x.in_errors_ps == pytest.approx(0.5) and x.out_errors_ps == 0
    assert x.in_discards_ps is None  # not in the first sample
    assert x.in_packets_ps == pytest.approx(2) and x.out_packets_ps is None
    assert x.deltas == {
        "in_octets": 1_250_000,
        "out_octets": 125_000,
        "in_errors": 5,
        "out_errors": 0,
        "in_packets": 20,
    }


def test_missing_counter_gives_none_for_that_counter_only() -> None:
    r = compute_rates(snap(0, itf(in_octets=0, out_octets=None)), snap(10, itf(in_octets=1000, out_octets=7)))
    x = r.interfaces[1]
    assert x.in_bps == pytest.approx(800) and x.out_bps is None and x.utilisation_out is None
    assert r.discontinuities == () and not x.dropped


def test_unknown_or_zero_speed_means_no_clamp_and_no_utilisation() -> None:
    for speed in (None, 0):
        r = compute_rates(snap(0, itf(speed=speed)), snap(1, itf(speed=speed, in_octets=10**12)))
        assert r.interfaces[1].in_bps == pytest.approx(8e12) and r.interfaces[1].utilisation_in is None


def test_bits_must_be_32_or_64() -> None:
    with pytest.raises(ValueError):
        InterfaceObs(1, bits=16)


# ----------------------------------------------------------------------------------------------- wraps
def test_32bit_wrap_is_one_wrap() -> None:
    a = snap(0, itf(bits=32, in_octets=W32 - 1_000, in_errors=W32 - 2))
    r = compute_rates(a, snap(10, itf(bits=32, in_octets=500, in_errors=3)))
    assert r.discontinuities == ()
    assert r.interfaces[1].deltas["in_octets"] == 1_500 and r.interfaces[1].in_bps == pytest.approx(1_200)
    assert r.interfaces[1].deltas["in_errors"] == 5


def test_errors_are_counter32_even_on_hc_interfaces() -> None:
    r = compute_rates(snap(0, itf(bits=64, in_errors=W32 - 1)), snap(10, itf(bits=64, in_errors=1)))
    assert r.interfaces[1].deltas["in_errors"] == 2


def test_64bit_decrease_is_never_a_wrap() -> None:
    r = compute_rates(snap(0, itf(in_octets=2**64 - 10, in_errors=5)), snap(10, itf(in_octets=5, in_errors=6)))
    assert reasons(r) == [(1, Reason.COUNTER_WENT_BACKWARDS)]
    assert r.discontinuities[0].counter == "in_octets"
    x = r.interfaces[1]
    assert x.dropped and x.in_bps is None and x.in_errors_ps is None and x.deltas == {}


def test_32bit_reset_to_small_values_is_not_a_wrap() -> None:
    # 100 Mbit/s for 10 s is at most 131 MB: a wrap of ~4.3 GB is a reset.
    a = snap(0, itf(bits=32, in_octets=3_000_000, out_octets=9_000))
    r = compute_rates(a, snap(10, itf(bits=32, in_octets=1_000, out_octets=20)))
    assert reasons(r) == [(1, Reason.EXCEEDS_SPEED), (1, Reason.EXCEEDS_SPEED)]
    assert r.interfaces[1].dropped and r.interfaces[1].in_bps is None and r.interfaces[1].out_bps is None


def test_32bit_reset_with_unknown_speed_uses_half_range() -> None:
    low = compute_rates(snap(0, itf(bits=32, speed=None, in_octets=5_000)), snap(10, itf(bits=32, speed=None)))
    assert reasons(low) == [(1, Reason.COUNTER_WENT_BACKWARDS)]
    high = compute_rates(
        snap(0, itf(bits=32, speed=None, in_octets=W32 - 100)), snap(10, itf(bits=32, speed=None, in_octets=100))
    )
    assert high.discontinuities == () and high.interfaces[1].deltas["in_octets"] == 200


def test_error_counter_reset_drops_the_whole_interface() -> None:
    a = snap(0, itf(in_octets=0, in_errors=70))
    r = compute_rates(a, snap(10, itf(in_octets=1000, in_errors=1)))
    assert reasons(r) == [(1, Reason.COUNTER_WENT_BACKWARDS)] and r.interfaces[1].in_bps is None


def test_32bit_octets_on_a_fast_link_are_ambiguous() -> None:
    # 1 Gbit/s moves 2**32 octets in 34 s: after 60 s the number of wraps is unknowable.
    a = snap(0, itf(bits=32, speed=G1, in_octets=10, in_errors=0))
    r = compute_rates(a, snap(60, itf(bits=32, speed=G1, in_octets=20, in_errors=2)))
    assert reasons(r) == [(1, Reason.AMBIGUOUS_WRAP), (1, Reason.AMBIGUOUS_WRAP)]
    x = r.interfaces[1]
    assert x.in_bps is None and x.in_errors_ps == pytest.approx(2 / 60) and not x.dropped
    fast = compute_rates(a, snap(30, itf(bits=32, speed=G1, in_octets=20)))  # 30 s: at most one wrap
    assert fast.discontinuities == () and fast.interfaces[1].in_bps == pytest.approx(80 / 30)


def test_invalid_counter_value() -> None:
    r = compute_rates(snap(0, itf(bits=32)), snap(10, itf(bits=32, in_octets=W32)))
    assert reasons(r) == [(1, Reason.INVALID_COUNTER)]


# ----------------------------------------------------------------------------------------------- speed
def test_rate_within_5_percent_above_speed_is_clamped() -> None:
    r = compute_rates(snap(0, itf()), snap(10, itf(in_octets=int(M100 / 8 * 10 * 1.04))))
    x = r.interfaces[1]
    assert r.discontinuities == () and x.in_bps == M100 and x.utilisation_in == 1.0
    assert x.deltas["in_octets"] == int(M100 / 8 * 10 * 1.04)  # the exported total stays exact


def test_rate_more_than_5_percent_above_speed_is_dropped() -> None:
    r = compute_rates(snap(0, itf()), snap(10, itf(in_octets=int(M100 / 8 * 10 * 1.06), out_octets=10)))
    assert reasons(r) == [(1, Reason.EXCEEDS_SPEED)]
    assert r.interfaces[1].in_bps is None and r.interfaces[1].out_bps is None


def test_speed_tolerance_is_configurable() -> None:
    cfg = RateConfig(speed_tolerance=0.10)
    r = compute_rates(snap(0, itf()), snap(10, itf(in_octets=int(M100 / 8 * 10 * 1.06))), cfg)
    assert r.discontinuities == () and r.interfaces[1].in_bps == M100


# -------------------------------------------------------------------------------------------- interval
@pytest.mark.parametrize("at", [100.0, 99.0, math.nan])
def test_zero_negative_or_nan_interval_is_dropped(at: float) -> None:
    r = compute_rates(snap(100, itf()), snap(at, itf(in_octets=10)))
    assert reasons(r) == [(None, Reason.BAD_INTERVAL)] and r.interval_s is None
    assert r.interfaces[1].in_bps is None and r.interfaces[1].dropped and not r.reboot


def test_long_gap_is_dropped() -> None:
    a, b = snap(0, itf()), snap(901, itf(in_octets=10))
    assert reasons(compute_rates(a, b)) == [(None, Reason.GAP)]
    ok = compute_rates(a, b, RateConfig(max_gap_s=1_000))
    assert ok.discontinuities == () and ok.interfaces[1].in_bps == pytest.approx(80 / 901)


# -------------------------------------------------------------------------------------------- sysUpTime
def test_reboot_uptime_backwards_drops_every_interface() -> None:
    a = snap(0, itf(in_octets=10**9), itf(name="ge-0/0/2"), uptime=50_000_000)
    b = snap(300, itf(in_octets=10**9 + 5), itf(name="ge-0/0/2", in_octets=100), uptime=20_000)
    r = compute_rates(a, b)
    assert r.reboot and reasons(r) == [(None, Reason.REBOOT)] and r.interval_s is None
    assert all(x.dropped and x.in_bps is None for x in r.interfaces.values())


def test_uptime_wrap_after_497_days_is_not_a_reboot() -> None:
    a = snap(0, itf(), uptime=W32 - 100 * 100)  # 100 s before the wrap
    r = compute_rates(a, snap(300, itf(in_octets=1000), uptime=200 * 100))
    assert not r.reboot and r.discontinuities == () and r.interfaces[1].in_bps == pytest.approx(8000 / 300)


def test_uptime_that_wrapped_too_far_is_a_reboot() -> None:
    a = snap(0, itf(), uptime=W32 - 100 * 100)
    assert compute_rates(a, snap(300, itf(), uptime=150_000 * 100)).reboot


def test_reboot_with_uptime_already_past_the_old_value() -> None:
    # Up 20 s at the last poll, rebooted, now up 100 s: 300 s passed but uptime advanced only 80 s.
    r = compute_rates(snap(0, itf(), uptime=2_000), snap(300, itf(), uptime=10_000))
    assert r.reboot and reasons(r) == [(None, Reason.REBOOT)]


def test_uptime_jitter_within_tolerance_is_fine() -> None:
    r = compute_rates(snap(0, itf(), uptime=10**6), snap(300, itf(), uptime=10**6 + 300 * 100 - 2_500))
    assert not r.reboot and r.discontinuities == ()


def test_unknown_uptime_skips_the_reboot_check_but_counters_still_guard() -> None:
    r = compute_rates(snap(0, itf(in_octets=10**9), uptime=None), snap(300, itf(in_octets=5), uptime=50))
    assert not r.reboot and reasons(r) == [(1, Reason.COUNTER_WENT_BACKWARDS)]


# ------------------------------------------------------------------------------------------ interfaces
def test_counter_discontinuity_time_change_is_a_reset() -> None:
    a = snap(0, itf(discontinuity_ticks=0, in_octets=100))
    r = compute_rates(a, snap(10, itf(discontinuity_ticks=777, in_octets=5_000)))
    assert reasons(r) == [(1, Reason.COUNTER_RESET)] and r.interfaces[1].in_bps is None
    unknown = compute_rates(snap(0, itf()), snap(10, itf(discontinuity_ticks=777, in_octets=10)))
    assert unknown.discontinuities == () and unknown.interfaces[1].in_bps == pytest.approx(8)


def test_renumbered_interface_is_dropped() -> None:
    a = snap(0, itf(name="ge-0/0/1", in_octets=10))
    r = compute_rates(a, snap(10, itf(name="ge-0/0/7", in_octets=20)))
    assert reasons(r) == [(1, Reason.RENUMBERED)] and r.interfaces[1].in_bps is None
    by_descr = compute_rates(snap(0, itf(name=None, descr="Gi1")), snap(10, itf(name=None, descr="Gi2")))
    assert reasons(by_descr) == [(1, Reason.RENUMBERED)]
    name_unknown = compute_rates(a, snap(10, itf(name=None, in_octets=20)))
    assert name_unknown.discontinuities == ()


def test_counter_width_change_is_dropped() -> None:
    r = compute_rates(snap(0, itf(bits=32)), snap(10, itf(bits=64, in_octets=10)))
    assert reasons(r) == [(1, Reason.COUNTER_WIDTH_CHANGED)]


def test_vanished_and_appeared_interfaces() -> None:
    a = snap(0, i1=itf(), i2=itf(name="b"))
    r = compute_rates(a, snap(10, i1=itf(in_octets=10), i3=itf(name="c", in_octets=99)))
    assert reasons(r) == [(2, Reason.VANISHED), (3, Reason.APPEARED)]
    assert set(r.interfaces) == {1, 3}
    assert r.interfaces[1].in_bps == pytest.approx(8) and r.interfaces[3].in_bps is None


# ------------------------------------------------------------------------------------------ tracker
def test_tracker_never_decreases_across_every_kind_of_discontinuity() -> None:
    t = CounterTracker()
    seq = [
        snap(0, itf(bits=32, in_octets=W32 - 1000)),
        snap(10, itf(bits=32, in_octets=500)),  # wrap: +1500
        snap(20, itf(bits=32, in_octets=200)),  # reset (exceeds speed): +0
        snap(30, itf(bits=32, in_octets=1200)),  # +1000
        snap(40, itf(bits=32, in_octets=1300), uptime=5),  # reboot: +0
        snap(50, itf(bits=32, in_octets=1400), uptime=1005),  # +100
        snap(50, itf(bits=32, in_octets=1400), uptime=1005),  # duplicate: ignored
        snap(60, itf(bits=32, in_octets=1600, name="other"), uptime=2005),  # renumbered: +0
        snap(70, itf(bits=32, in_octets=1700, name="other", discontinuity_ticks=3), uptime=3005),  # +100
        snap(80, itf(bits=32, in_octets=50, name="other", discontinuity_ticks=4), uptime=4005),  # reset: +0
        snap(2_000, itf(bits=32, in_octets=70, name="other", discontinuity_ticks=4), uptime=199_005),  # gap
        snap(2_010, itf(bits=32, in_octets=90, name="other", discontinuity_ticks=4), uptime=200_005),  # +20
        snap(2_020, itf(bits=64, in_octets=90, name="other", discontinuity_ticks=4), uptime=201_005),  # width
        snap(2_030, itf(bits=64, in_octets=10, name="other", discontinuity_ticks=4), uptime=202_005),  # backwards
        snap(2_040, itf(bits=64, in_octets=11, name="other", discontinuity_ticks=4), uptime=203_005),  # +1
    ]
    seen = []
    for s in seq:
        t.update("hn-core-1", s)
        seen.append(t.total("hn-core-1", 1, "in_octets"))
    assert seen == [0, 1500, 1500, 2500, 2500, 2600, 2600, 2600, 2700, 2700, 2700, 2720, 2720, 2720, 2721]
    counts = t.discontinuity_counts("hn-core-1")
    assert counts == {
        Reason.EXCEEDS_SPEED: 1,
        Reason.REBOOT: 1,
        Reason.BAD_INTERVAL: 1,
        Reason.RENUMBERED: 1,
        Reason.COUNTER_RESET: 1,
        Reason.GAP: 1,
        Reason.COUNTER_WIDTH_CHANGED: 1,
        Reason.COUNTER_WENT_BACKWARDS: 1,
    }
    assert t.devices() == ["hn-core-1"] and t.discontinuity_counts("nope") == {}


def test_tracker_ignores_a_late_snapshot_instead_of_counting_twice() -> None:
    t = CounterTracker()
    t.update("d", snap(0, itf(in_octets=0)))
    t.update("d", snap(20, itf(in_octets=2000)))
    t.update("d", snap(10, itf(in_octets=1000)))  # arrived late
    t.update("d", snap(30, itf(in_octets=3000)))
    assert t.total("d", 1, "in_octets") == 3000


def test_tracker_rebaselines_after_a_big_clock_jump_back() -> None:
    t = CounterTracker()
    t.update("d", snap(10_000, itf(in_octets=0), uptime=None))
    t.update("d", snap(10, itf(in_octets=1000), uptime=None))  # clock reset: new baseline, +0
    t.update("d", snap(20, itf(in_octets=1500), uptime=None))
    assert t.total("d", 1, "in_octets") == 500


def test_tracker_forgets_vanished_interfaces_after_a_while() -> None:
    t = CounterTracker(forget_after_s=100)
    t.update("d", snap(0, i1=itf(in_octets=0), i2=itf(name="b", in_octets=0)))
    t.update("d", snap(10, i1=itf(in_octets=10), i2=itf(name="b", in_octets=10)))
    t.update("d", snap(20, i1=itf(in_octets=20)))
    assert t.total("d", 2, "in_octets") == 10  # remembered for now
    t.update("d", snap(80, i1=itf(in_octets=30), i2=itf(name="b", in_octets=30)))  # back: continues
    assert t.total("d", 2, "in_octets") == 10
    t.update("d", snap(90, i1=itf(in_octets=40), i2=itf(name="b", in_octets=35)))
    assert t.total("d", 2, "in_octets") == 15
    for at in range(100, 300, 50):
        t.update("d", snap(at, i1=itf(in_octets=40)))
    assert t.total("d", 2, "in_octets") is None and set(t.totals("d")) == {1}
    t.forget("d")
    assert t.totals("d") == {} and t.total("d", 1, "in_octets") is None


def test_tracker_keeps_devices_apart() -> None:
    t = CounterTracker()
    for dev, step in (("a", 10), ("b", 1)):
        t.update(dev, snap(0, itf()))
        t.update(dev, snap(10, itf(in_octets=step)))
    assert t.total("a", 1, "in_octets") == 10 and t.total("b", 1, "in_octets") == 1


# ---------------------------------------------------------------------------------------- properties
SPEEDS = [None, 0, 64_000, 2_048_000, 10_000_000, M100, G1, 10 * G1]
DTS = st.one_of(
    st.floats(1, 600),
    st.sampled_from([0.0, -5.0, 1e-3, 899.9, 901.0, 5_000.0, -2_000.0]),
    st.floats(-1_000, 2_000),
)
EVENTS = ["traffic"] * 8 + ["burst", "reset", "reboot", "garbage", "renumber", "vanish", "speed", "none", "disc"]


@st.composite
def sequences(draw: st.DrawFn) -> list[DeviceObs]:
    """Mostly realistic polls of a few interfaces, with every kind of accident mixed in."""
    n = draw(st.integers(1, 3))
    state: list[dict[str, Any]] = []
    for i in range(n):
        bits = draw(st.sampled_from([32, 64]))
        state.append(
            {
                "bits": bits,
                "speed": draw(st.sampled_from(SPEEDS)),
                "name": f"if{i}",
                "disc": 0,
                "present": True,
                **{c: draw(st.integers(0, 2**bits - 1)) for c in COUNTERS},
            }
        )
    at = draw(st.floats(0, 1e6))
    uptime = draw(st.sampled_from([0, 10**6, W32 - 20_000])) + draw(st.integers(0, 10_000))
    out = []
    for _ in range(draw(st.integers(2, 25))):
        dt = draw(DTS)
        at += dt
        uptime = (uptime + round(dt * 100)) % W32
        if draw(st.sampled_from(EVENTS)) == "reboot":
            uptime = draw(st.integers(0, 50_000))
        for s in state:
            event = draw(st.sampled_from(EVENTS))
            bits = s["bits"]
            for c in COUNTERS:
                width = 32 if "errors" in c or "discards" in c else bits
                cap = (s["speed"] or 10 * G1) / 8 * max(dt, 0)
                step = int(cap * draw(st.sampled_from([0, 0.01, 0.5, 1.0, 1.04, 1.2]))) if "octets" in c else 0
                if "octets" not in c:
                    step = draw(st.integers(0, 1_000))
                if event == "burst":
                    step = draw(st.integers(0, 2**width))
                s[c] = (s[c] + step) % 2**width
                if event == "reset":
                    s[c] = draw(st.integers(0, 1_000))
                elif event == "garbage":
                    s[c] = draw(st.integers(0, 2**width - 1))
            if event == "renumber":
                s["name"] = draw(st.sampled_from(["if0", "if1", "if2", "x"]))
            elif event == "vanish":
                s["present"] = not s["present"]
            elif event == "speed":
                s["speed"] = draw(st.sampled_from(SPEEDS))
            elif event == "disc":
                s["disc"] += 1
        itfs = {
            i + 1: InterfaceObs(
                i + 1,
                bits=s["bits"],
                name=s["name"],
                speed_bps=s["speed"],
                discontinuity_ticks=s["disc"],
                **{c: (None if draw(st.sampled_from(EVENTS)) == "none" else s[c]) for c in COUNTERS},
            )
            for i, s in enumerate(state)
            if s["present"]
        }
        out.append(
            DeviceObs("dev", at, True, uptime_ticks=draw(st.sampled_from([uptime] * 5 + [None])), interfaces=itfs)
        )
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences())
def test_property_rates_bounded_and_exported_totals_monotonic(seq: list[DeviceObs]) -> None:
    t = CounterTracker(forget_after_s=1e9)
    before: dict[int, dict[CounterName, int]] = {}
    for s in seq:
        r = t.update("dev", s)
        after = t.totals("dev")
        for if_index, x in r.interfaces.items():
            speed = s.interfaces[if_index].speed_bps
            for v in (x.in_bps, x.out_bps, x.in_packets_ps, x.out_errors_ps, x.in_discards_ps, x.out_discards_ps):
                assert v is None or (v >= 0 and math.isfinite(v))
            for v in (x.in_bps, x.out_bps):
                assert v is None or not speed or v <= speed
            for u in (x.utilisation_in, x.utilisation_out):
                assert u is None or 0 <= u <= 1
            if x.deltas:
                assert r.interval_s is not None and 0 < r.interval_s <= 900
        for if_index, totals in after.items():
            old = before.get(if_index, dict.fromkeys(COUNTERS, 0))
            for c in COUNTERS:
                assert totals[c] >= old[c]
            speed = s.interfaces[if_index].speed_bps if if_index in s.interfaces else None
            if speed and r.interval_s is not None:
                for c in ("in_octets", "out_octets"):
                    assert totals[c] - old[c] <= speed / 8 * r.interval_s * 1.05 * (1 + 1e-9)
            else:
                assert r.interval_s is not None or totals == old
        before = after


@st.composite
def clean_traffic(draw: st.DrawFn) -> tuple[list[DeviceObs], list[int], int | None]:
    """Traffic within the link's speed, consistent uptime, no accident: must be measured exactly."""
    bits = draw(st.sampled_from([32, 64]))
    speed = draw(st.sampled_from([s for s in SPEEDS if s]))
    max_dt = 899.0 if bits == 64 else min(899.0, W32 * 8 / speed / 1.05 * 0.999)
    counter = draw(st.integers(0, 2**bits - 1 if bits == 32 else 2**63))  # 64-bit counters never wrap
    at = draw(st.floats(0, 1e6))
    boot = draw(st.sampled_from([0, W32 - 30_000]))
    snaps, truth = [], []
    for k in range(draw(st.integers(2, 20))):
        if k:
            dt = draw(st.floats(min(0.5, max_dt), max_dt))
            at += dt
            octets = int(speed / 8 * dt * draw(st.floats(0, 1.0)))
            truth.append(octets)
            counter = (counter + octets) % 2**bits
        uptime = (boot + round(at * 100)) % W32
        x = InterfaceObs(5, bits=bits, speed_bps=speed, name="xe-1/0/0", in_octets=counter, discontinuity_ticks=7)
        snaps.append(DeviceObs("dev", at, True, uptime_ticks=uptime, interfaces={5: x}))
    return snaps, truth, speed


@settings(max_examples=200, deadline=None)
@given(clean_traffic())
def test_property_clean_traffic_is_measured_exactly(case: tuple[list[DeviceObs], list[int], int | None]) -> None:
    snaps, truth, speed = case
    t = CounterTracker()
    t.update("d", snaps[0])
    for s, octets in zip(snaps[1:], truth, strict=True):
        r = t.update("d", s)
        assert r.discontinuities == () and not r.reboot and r.interval_s is not None
        x = r.interfaces[5]
        assert x.deltas["in_octets"] == octets
        assert x.in_bps == pytest.approx(octets * 8 / r.interval_s)
        assert speed is not None and x.in_bps is not None and x.in_bps <= speed
    assert t.total("d", 5, "in_octets") == sum(truth)


def test_snapshot_values_are_immutable() -> None:
    x = itf()
    with pytest.raises(AttributeError):
        x.in_octets = 5  # type: ignore[misc]
    assert replace(x, in_octets=5).in_octets == 5
