"""Interface counter samples → rates, never a spike.

LibreNMS/Cacti users know the "spike of petabytes": a counter that went backwards (agent restart, reboot,
``ifIndex`` renumbering, a 32-bit reset taken for a wrap) turned into an enormous positive delta. Here every
such interval is *dropped*: its rate is ``None`` and a :class:`Discontinuity` says why. Pure: no I/O.

Rules, per device poll (``prev`` → ``cur``, interval ``dt = cur.at - prev.at``):

* ``dt`` under a millisecond (``<= 0``, a denormal that would divide to infinity, or not a number) →
  ``bad_interval``; ``dt > max_gap_s`` → ``gap``: everything dropped, a rate
  is never averaged over a monitoring gap.
* sysUpTime (hundredths of a second, wraps at 2**32 ≈ 497 days): a reboot between the two polls, by the
  one rule the state machine uses too (:func:`netmon.health.reboot.rebooted`: it went backwards, not by the
  497-day wrap; or the boot time moved later by more than a minute) → ``reboot``: every interval of the
  device is dropped. Unknown sysUpTime (an agent answering noSuchObject) → this check is skipped.
* Per interface: other ``ifName``/``ifDescr`` on the same ``ifIndex`` → ``renumbered``; changed
  ``ifCounterDiscontinuityTime`` → ``counter_reset``; counter width changed → ``counter_width_changed``;
  interfaces that (dis)appeared → ``appeared``/``vanished``. All drop the interval of that interface.
* Counter widths: octets and packets use ``bits`` (64 = ifHC* counters); errors and discards are always
  Counter32 (IF-MIB has no HC version).
* A 64-bit counter that decreased → ``counter_went_backwards`` (64 bits never wrap in practice).
* A 32-bit counter that decreased is taken as ONE wrap (``delta + 2**32``) only if plausible: for octets
  with a known speed, the delta must fit in ``speed/8 × dt × (1 + speed_tolerance)`` (else
  ``exceeds_speed``); otherwise (packets, errors, discards, octets of unknown speed) the delta must be at
  most 2**31 (else ``counter_went_backwards``): a counter reset from a low value is never a wrap. RFC 2863
  requires HC packet counters above 650 Mbit/s, where 2**31 packets take > 2000 s.
* 32-bit octets whose link can move 2**32 octets or more within ``dt`` (1 Gbit/s polled every 60 s) →
  ``ambiguous_wrap``: the number of wraps is unknowable, that counter (only) is dropped, every poll.
* Speed (octets only; unknown if ``None`` or ≤ 0 → no check): a rate up to ``speed × 1.05`` is timing
  jitter and is *clamped* to the speed; above that, the interval is *dropped* as ``exceeds_speed`` — never
  silently clamped, since such a rate is a broken counter rather than a busy link.
* Any counter-level problem except ``ambiguous_wrap`` drops every rate of the interface: a reset resets all
  of its counters. A counter that is ``None`` in either sample gives a ``None`` rate and no discontinuity.

:class:`CounterTracker` keeps, per device and interface, monotonic *exported* totals for Prometheus: each
valid (wrap-corrected, unclamped) delta is added, a dropped interval adds nothing, so the exported counter
never decreases and ``rate()`` never spikes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from netmon.health.observation import COUNTERS, CounterName, DeviceObs, InterfaceObs
from netmon.health.reboot import UPTIME_SLACK_S, rebooted
from netmon.serial import serial

__all__ = [
    "COUNTERS",
    "DEFAULT_CONFIG",
    "CounterName",
    "CounterTracker",
    "Discontinuity",
    "InterfaceRates",
    "RateConfig",
    "RateResult",
    "Reason",
    "compute_rates",
]

_OCTETS: Final[frozenset[CounterName]] = frozenset({"in_octets", "out_octets"})
_POSITION: Final[dict[CounterName, int]] = {name: k for k, name in enumerate(COUNTERS)}
_HALF_32: Final = 1 << 31
_MIN_INTERVAL_S: Final = 1e-3


class Reason(StrEnum):
    """Why an interval was dropped (or, for ``appeared``/``vanished``, what changed)."""

    BAD_INTERVAL = "bad_interval"
    GAP = "gap"
    REBOOT = "reboot"
    COUNTER_RESET = "counter_reset"
    RENUMBERED = "renumbered"
    COUNTER_WIDTH_CHANGED = "counter_width_changed"
    APPEARED = "appeared"
    VANISHED = "vanished"
    COUNTER_WENT_BACKWARDS = "counter_went_backwards"
    EXCEEDS_SPEED = "exceeds_speed"
    AMBIGUOUS_WRAP = "ambiguous_wrap"
    INVALID_COUNTER = "invalid_counter"


@dataclass(frozen=True, slots=True)
class Discontinuity:
    """``if_index`` is ``None`` for the whole device; ``counter`` names the counter when one is at fault."""

    if_index: int | None
    reason: Reason
    counter: CounterName | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceRates:
    """Rates over one interval; ``None`` = unknown or dropped. ``deltas`` holds the valid counter increases."""

    in_bps: float | None = None
    out_bps: float | None = None
    in_packets_ps: float | None = None
    out_packets_ps: float | None = None
    in_errors_ps: float | None = None
    out_errors_ps: float | None = None
    in_discards_ps: float | None = None
    out_discards_ps: float | None = None
    utilisation_in: float | None = None
    utilisation_out: float | None = None
    deltas: Mapping[CounterName, int] = field(default_factory=dict)
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class RateResult:
    interval_s: float | None
    interfaces: Mapping[int, InterfaceRates]
    discontinuities: tuple[Discontinuity, ...]
    reboot: bool
    serial: int = field(default_factory=serial, compare=False, repr=False)  # see netmon.serial


@dataclass(frozen=True, slots=True, kw_only=True)
class RateConfig:
    max_gap_s: float = 900.0
    speed_tolerance: float = 0.05
    uptime_slack_s: float = UPTIME_SLACK_S
    """As the state machine's ``Params.uptime_slack_s`` (the same rule: :mod:`netmon.health.reboot`)."""


DEFAULT_CONFIG: Final = RateConfig()
_NO_DATA: Final = InterfaceRates()
_DROPPED: Final = InterfaceRates(dropped=True)
_NO_DELTAS: Final[tuple[None, ...]] = (None,) * len(COUNTERS)
_Entry = InterfaceRates | tuple[int | None, ...]
"""An interface in :class:`_Rates`: a shared :class:`InterfaceRates`, or ``(speed, *deltas)``."""


def compute_rates(prev: DeviceObs | None, cur: DeviceObs, config: RateConfig = DEFAULT_CONFIG,
                  uptime: tuple[float, int] | None = None) -> RateResult:
    """Rates between two polls of the same device; the first poll (``prev is None``) gives no rates.

    ``uptime``: the last known sysUpTime reading ``(at, ticks)`` when ``prev`` has none (its agent answered
    noSuchObject): a reboot since then drops this interval too, as the state machine counts it."""
    if prev is None:
        return RateResult(None, _Rates(dict.fromkeys(cur.interfaces, _NO_DATA), None), (), False)
    dt = cur.at - prev.at
    events: list[Discontinuity] = []
    if not dt >= _MIN_INTERVAL_S:  # also NaN
        events.append(Discontinuity(None, Reason.BAD_INTERVAL, detail=f"interval {dt} s"))
    elif not dt <= config.max_gap_s:
        events.append(Discontinuity(None, Reason.GAP, detail=f"interval {dt:.1f} s > {config.max_gap_s} s"))
    before = (prev.at, prev.uptime_ticks) if prev.uptime_ticks is not None else uptime
    reboot = (dt >= _MIN_INTERVAL_S and before is not None and cur.uptime_ticks is not None and before[0] < cur.at
              and rebooted(before[0], before[1], cur.at, cur.uptime_ticks, config.uptime_slack_s))
    if reboot:
        assert before is not None
        events.append(
            Discontinuity(
                None, Reason.REBOOT,
                detail=f"sysUpTime {before[1]} -> {cur.uptime_ticks} in {cur.at - before[0]:.1f} s",
            )
        )
    device_ok = not events
    events.extend(Discontinuity(i, Reason.VANISHED) for i in sorted(prev.interfaces.keys() - cur.interfaces.keys()))
    rates: dict[int, _Entry] = {}
    for if_index, new in cur.interfaces.items():
        old = prev.interfaces.get(if_index)
        if old is None:
            events.append(Discontinuity(if_index, Reason.APPEARED))
            rates[if_index] = _NO_DATA
        else:
            rates[if_index] = _interface(if_index, old, new, dt, device_ok, config, events)
    return RateResult(dt if device_ok else None, _Rates(rates, dt), tuple(events), reboot)


def _differs(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a != b


def _interface(
    if_index: int,
    old: InterfaceObs,
    new: InterfaceObs,
    dt: float,
    device_ok: bool,
    config: RateConfig,
    events: list[Discontinuity],
) -> _Entry:
    found: list[Discontinuity] = []
    if _differs(old.name, new.name) or _differs(old.descr, new.descr):
        found.append(
            Discontinuity(
                if_index,
                Reason.RENUMBERED,
                detail=f"{old.name!r}/{old.descr!r} -> {new.name!r}/{new.descr!r}",
            )
        )
    if old.bits != new.bits:
        found.append(Discontinuity(if_index, Reason.COUNTER_WIDTH_CHANGED, detail=f"{old.bits} -> {new.bits} bits"))
    if (
        old.discontinuity_ticks is not None
        and new.discontinuity_ticks is not None
        and old.discontinuity_ticks != new.discontinuity_ticks
    ):
        found.append(
            Discontinuity(
                if_index,
                Reason.COUNTER_RESET,
                detail=f"ifCounterDiscontinuityTime {old.discontinuity_ticks} -> {new.discontinuity_ticks}",
            )
        )
    events.extend(found)
    if found or not device_ok:
        return _DROPPED

    speed = new.speed_bps if new.speed_bps is not None and new.speed_bps > 0 else None
    deltas: list[int | None] = [None] * len(COUNTERS)
    dropped = False
    for k, name in enumerate(COUNTERS):
        a, b = old.value(name), new.value(name)
        if a is None or b is None:
            continue
        outcome = _delta(a, b, new.width(name), speed if name in _OCTETS else None, dt, config.speed_tolerance)
        if isinstance(outcome, Reason):
            events.append(Discontinuity(if_index, outcome, name, f"{a} -> {b} in {dt:.3f} s, speed {speed}"))
            dropped = dropped or outcome is not Reason.AMBIGUOUS_WRAP
        else:
            deltas[k] = outcome
    if dropped:
        return _DROPPED
    return (speed, *deltas)


def _rates(entry: _Entry, dt: float | None) -> InterfaceRates:
    """An interface's rates from its compact entry (see :class:`_Rates`)."""
    if isinstance(entry, InterfaceRates):
        return entry
    assert dt is not None
    speed = entry[0]
    deltas = dict(zip(COUNTERS, entry[1:], strict=True))

    def per_s(name: CounterName) -> float | None:
        delta = deltas[name]
        return None if delta is None else delta / dt

    def bps(name: CounterName) -> float | None:
        delta = deltas[name]
        if delta is None:
            return None
        rate = delta * 8 / dt
        return rate if speed is None else min(rate, float(speed))  # clamp the ≤ 5 % of timing jitter

    in_bps, out_bps = bps("in_octets"), bps("out_octets")
    return InterfaceRates(
        in_bps=in_bps,
        out_bps=out_bps,
        in_packets_ps=per_s("in_packets"),
        out_packets_ps=per_s("out_packets"),
        in_errors_ps=per_s("in_errors"),
        out_errors_ps=per_s("out_errors"),
        in_discards_ps=per_s("in_discards"),
        out_discards_ps=per_s("out_discards"),
        utilisation_in=None if in_bps is None or speed is None else in_bps / speed,
        utilisation_out=None if out_bps is None or speed is None else out_bps / speed,
        deltas={name: delta for name, delta in deltas.items() if delta is not None},
    )


class _Rates(Mapping[int, InterfaceRates]):
    """``RateResult.interfaces``: ifIndex → :class:`InterfaceRates`, made when asked for.

    Kept compact, since the monitor keeps each device's last result (at 10× the province, ~180,000
    interfaces): per interface either a shared :class:`InterfaceRates` (no data, dropped) or one tuple
    ``(speed, *deltas)`` — the speed the rates are clamped to, then the valid counter increases in
    :data:`COUNTERS` order (``None``: none) — instead of an object with ten floats and a dict.
    """

    __slots__ = ("_dt", "_entries")

    def __init__(self, entries: dict[int, _Entry], dt: float | None) -> None:
        self._entries = entries
        self._dt = dt

    def __getitem__(self, if_index: int) -> InterfaceRates:
        return _rates(self._entries[if_index], self._dt)

    def __iter__(self) -> Iterator[int]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, if_index: object) -> bool:
        return if_index in self._entries

    def __repr__(self) -> str:
        return f"{dict(self)!r}"

    def deltas(self) -> Iterator[tuple[int, tuple[int | None, ...]]]:
        """(ifIndex, counter increases in :data:`COUNTERS` order, ``None`` where none) of each interface."""
        for if_index, entry in self._entries.items():
            yield if_index, _NO_DELTAS if isinstance(entry, InterfaceRates) else entry[1:]


def _delta(old: int, new: int, bits: int, speed: int | None, dt: float, tolerance: float) -> int | Reason:
    """The increase of one counter, or why there is none. ``speed`` is given for octet counters only."""
    modulus = 1 << bits
    if not (0 <= old < modulus and 0 <= new < modulus):
        return Reason.INVALID_COUNTER
    most = None if speed is None else speed / 8 * dt * (1 + tolerance)  # octets the link can carry in dt
    if bits == 32 and most is not None and most >= modulus:
        return Reason.AMBIGUOUS_WRAP
    if new >= old:
        delta = new - old
    elif bits == 64:
        return Reason.COUNTER_WENT_BACKWARDS
    else:
        delta = new + modulus - old  # one wrap, if plausible
        if most is None and delta > _HALF_32:
            return Reason.COUNTER_WENT_BACKWARDS
    if most is not None and delta > most:
        return Reason.EXCEEDS_SPEED
    return delta


class _Track(list[int]):
    """One interface's exported totals, in :data:`COUNTERS` order, and when it was last seen (a list itself:
    one object less per interface, ~180,000 at 10× the province)."""

    __slots__ = ("last_seen",)

    def __init__(self, last_seen: float) -> None:
        super().__init__([0] * len(COUNTERS))
        self.last_seen = last_seen


@dataclass(slots=True)
class _Device:
    prev: DeviceObs | None = None
    uptime: tuple[float, int] | None = None  # the last known sysUpTime reading (at, ticks)
    interfaces: dict[int, _Track] = field(default_factory=dict)
    discontinuities: dict[Reason, int] = field(default_factory=dict)


class CounterTracker:
    """Monotonic exported totals per (device, ifIndex, counter), for Prometheus counters without spikes.

    Totals start at 0 when an interface is first seen and only ever grow by valid deltas. A snapshot older
    than the last one (by at most ``max_gap_s``: out-of-order delivery) is ignored, so nothing is counted
    twice; a larger backwards jump of ``at`` (clock reset) makes it the new baseline. An interface absent
    for more than ``forget_after_s`` (measured on its device's ``at``) is forgotten; one that comes back
    sooner continues from its old totals.
    """

    def __init__(self, config: RateConfig = DEFAULT_CONFIG, *, forget_after_s: float = 86_400.0) -> None:
        self.config = config
        self.forget_after_s = forget_after_s
        self._devices: dict[str, _Device] = {}
        self._discontinuous: dict[str, _Device] = {}  # the devices with any discontinuity, for all_discontinuities()

    def update(self, device_id: str, snapshot: DeviceObs) -> RateResult:
        device = self._devices.setdefault(device_id, _Device())
        result = compute_rates(device.prev, snapshot, self.config, device.uptime)
        for event in result.discontinuities:
            device.discontinuities[event.reason] = device.discontinuities.get(event.reason, 0) + 1
            self._discontinuous[device_id] = device
        if not math.isfinite(snapshot.at):
            return result
        if device.prev is not None and -self.config.max_gap_s <= snapshot.at - device.prev.at <= 0:
            return result
        device.prev = snapshot
        if snapshot.uptime_ticks is not None:
            device.uptime = (snapshot.at, snapshot.uptime_ticks)
        rates = result.interfaces
        assert isinstance(rates, _Rates)
        for if_index, deltas in rates.deltas():
            track = device.interfaces.get(if_index)
            if track is None:
                track = device.interfaces[if_index] = _Track(snapshot.at)
            track.last_seen = snapshot.at
            if deltas is not _NO_DELTAS:
                for k, delta in enumerate(deltas):
                    if delta is not None:
                        track[k] += delta
        for if_index in [i for i, t in device.interfaces.items() if snapshot.at - t.last_seen > self.forget_after_s]:
            del device.interfaces[if_index]
        return result

    def total(self, device_id: str, if_index: int, counter: CounterName) -> int | None:
        device = self._devices.get(device_id)
        track = None if device is None else device.interfaces.get(if_index)
        return None if track is None else track[_POSITION[counter]]

    def totals(self, device_id: str) -> dict[int, dict[CounterName, int]]:
        device = self._devices.get(device_id)
        return {} if device is None else {i: dict(zip(COUNTERS, t, strict=True))
                                          for i, t in device.interfaces.items()}

    def live_totals(self, device_id: str) -> dict[int, Sequence[int]]:
        """Like :meth:`totals`, without copying the counters, which come in :data:`COUNTERS` order: for a reader
        that uses them at once (the exposition, after a poll of every device: ~47k interfaces at 10× the
        province)."""
        device = self._devices.get(device_id)
        return {} if device is None else dict(device.interfaces)

    def live_interface_totals(self, device_id: str, if_index: int) -> Sequence[int] | None:
        """One interface's :meth:`live_totals`."""
        device = self._devices.get(device_id)
        return None if device is None else device.interfaces.get(if_index)

    def all_discontinuities(self) -> list[tuple[str, dict[Reason, int]]]:
        """:meth:`discontinuity_counts` of every device that has any (few: a scrape asks at 10× the province)."""
        return [(dev, dict(d.discontinuities)) for dev, d in list(self._discontinuous.items())]

    def discontinuity_counts(self, device_id: str) -> dict[Reason, int]:
        """Discontinuities seen so far for the device, by reason (for a Prometheus counter)."""
        device = self._devices.get(device_id)
        return {} if device is None else dict(device.discontinuities)

    def devices(self) -> list[str]:
        return list(self._devices)

    def forget(self, device_id: str) -> None:
        self._devices.pop(device_id, None)
        self._discontinuous.pop(device_id, None)
