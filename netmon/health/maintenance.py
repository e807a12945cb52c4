"""Maintenance windows: is one open now, and which stretches of a period does it cover.

Works on anything shaped like :class:`netmon.inventory.schema.Maintenance` (a one-off
``start``/``end`` with time zones, or a weekly ``recurrence`` in a named zone), via the
protocols below, so this module needs no inventory import.  Weekly windows are placed
in *local* time (Sunday 02:00 in Asia/Ho_Chi_Minh) and last ``duration_minutes`` of
real time, so a window may cross midnight, the end of the week, or a DST change.
Every result is an aware datetime in UTC: availability arithmetic must not depend on zones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from netmon.health.topology import Topology, bts_key, device_key, link_key

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[datetime, datetime]


class RecurrenceLike(Protocol):
    @property
    def days(self) -> Sequence[str]: ...
    @property
    def start(self) -> time: ...
    @property
    def duration_minutes(self) -> int: ...
    @property
    def timezone(self) -> str: ...


class WindowLike(Protocol):
    @property
    def start(self) -> datetime | None: ...
    @property
    def end(self) -> datetime | None: ...
    @property
    def recurrence(self) -> RecurrenceLike | None: ...


class TargetedWindow(WindowLike, Protocol):
    @property
    def sites(self) -> Sequence[str]: ...
    @property
    def devices(self) -> Sequence[str]: ...
    @property
    def base_stations(self) -> Sequence[str]: ...


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{name} needs a time zone")
    return at.astimezone(UTC)


def _occurrences(rec: RecurrenceLike, start: datetime, end: datetime) -> Iterable[Interval]:
    """Weekly occurrences (UTC) that may overlap [start, end)."""
    zone = ZoneInfo(rec.timezone)
    length = timedelta(minutes=rec.duration_minutes)
    days = {DAYS.index(d) for d in rec.days}
    first = start.astimezone(zone).date() - timedelta(days=length.days + 1)
    last = end.astimezone(zone).date()
    day = first
    while day <= last:
        if day.weekday() in days:
            # fold=0: an ambiguous local time (DST end) is its first occurrence.
            begin = datetime.combine(day, rec.start, tzinfo=zone).astimezone(UTC)
            yield begin, begin + length
        day += timedelta(days=1)


def maintenance_intervals(window: WindowLike, start: datetime, end: datetime) -> list[Interval]:
    """The parts of [start, end) the window covers: sorted, merged, clipped, in UTC."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return []
    if window.recurrence is not None:
        raw: Iterable[Interval] = _occurrences(window.recurrence, start, end)
    elif window.start is not None and window.end is not None:
        raw = [(_aware(window.start, "window start"), _aware(window.end, "window end"))]
    else:
        raise ValueError("a maintenance window needs 'start' and 'end' or 'recurrence'")
    merged: list[Interval] = []
    for s, e in sorted((max(s, start), min(e, end)) for s, e in raw):
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def in_maintenance(window: WindowLike, at: datetime) -> bool:
    """Is the window open at ``at`` (start inclusive, end exclusive)?"""
    at = _aware(at, "at")
    return bool(maintenance_intervals(window, at, at + timedelta(microseconds=1)))


def maintenance_targets(topology: Topology, windows: Iterable[TargetedWindow], at: datetime) -> frozenset[str]:
    """Object keys in maintenance at ``at``, ready for :func:`netmon.health.states.evaluate`.

    A window covers the devices it lists and those at the sites it lists, and its base
    stations; a link is covered when either end device is (work on one end takes the
    circuit down).  Devices *behind* a covered one are not covered: they become
    ``unreachable``, which never raises an incident of its own anyway.
    """
    keys: set[str] = set()
    open_windows = [w for w in windows if in_maintenance(w, at)]
    devices = {d for w in open_windows for d in w.devices}
    sites = {s for w in open_windows for s in w.sites}
    devices |= {n.id for n in topology.nodes.values() if n.site_id in sites}
    keys |= {device_key(d) for d in devices if d in topology.nodes}
    keys |= {bts_key(b) for w in open_windows for b in w.base_stations if b in topology.base_stations}
    keys |= {
        link_key(ln.id) for ln in topology.links.values() if ln.a_device in devices or ln.b_device in devices
    }
    return frozenset(keys)
