"""Outage history and availability reports, behind ``netmon outages`` and ``netmon report availability``.

The computation is pure (plain records in, plain records out, every time an aware UTC datetime) so it
can be tested with hand-built rows; :func:`netmon.store.history.read_history` reads those records and
:mod:`netmon.cli.reports` holds the two commands.

Availability of a site over a period:

* **observed time** = the period (up to now) ∩ the time netmon was running − the site's maintenance windows.
  netmon's running time comes from ``monitor_run`` rows: a run covers ``[started_at, heartbeat_at]`` (the
  latest run, still beating, up to now); everything else — between one run's last heartbeat and the next
  run's start, before the first run — is a monitoring gap and counts neither as up nor as down.
* **own downtime**: outages whose root is at this site (``outage.site_id`` — its router down, or its uplink
  down/flapping); **unreachable downtime**: outages rooted elsewhere that list the site in ``affected``
  (behind a failed parent). Both within observed time, own first (overlaps are not counted twice), and an
  outage's time inside a maintenance window of its root (the root site, or either end of a root link) is
  excused: planned work at the district is not the communes' unavailability.
* **availability** = 1 − (own + unreachable downtime) / observed time; ``None`` (shown ``—``) without
  observed time.
* **outages** = own outages with downtime counted in the period; **MTTR** = their mean recorded duration
  (``ended_at − started_at``), over the closed ones.

Groups (``--by district|kind|level``) add the seconds of their sites, so a group's availability is
weighted by observed time. Base-station outages have no site and are left out of site availability.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from netmon.health.maintenance import maintenance_intervals
from netmon.lang import t
from netmon.settings import DEFAULT_TIMEZONE
from netmon.store.records import HistoryRecords, OutageRow, Run, SiteInfo

Interval = tuple[datetime, datetime]
GroupBy = Literal["site", "district", "kind", "level"]
GROUPINGS: tuple[GroupBy, ...] = ("site", "district", "kind", "level")
DEFAULT_TZ = DEFAULT_TIMEZONE
RUN_GRACE_S = 120.0
"""The latest run counts as running up to now if its last heartbeat is at most this old."""


# -------------------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class SiteAvailability:
    site: SiteInfo
    observed_s: float
    own_down_s: float
    unreachable_s: float
    maintenance_s: float
    gap_s: float
    own_outages: tuple[int, ...]
    """Ids of own outages with downtime counted in the period."""
    unreachable_outages: tuple[int, ...]
    """Ids of outages rooted elsewhere that made this site unreachable in the period."""

    @property
    def availability(self) -> float | None:
        if self.observed_s <= 0:
            return None
        return max(0.0, 1.0 - (self.own_down_s + self.unreachable_s) / self.observed_s)


@dataclass(frozen=True, slots=True)
class GroupAvailability:
    key: str
    label: str
    sites: int
    observed_s: float
    own_down_s: float
    unreachable_s: float
    maintenance_s: float
    gap_s: float
    outages: int
    unreachable_outages: int
    mttr_s: float | None

    @property
    def availability(self) -> float | None:
        if self.observed_s <= 0:
            return None
        return max(0.0, 1.0 - (self.own_down_s + self.unreachable_s) / self.observed_s)


# ------------------------------------------------------------------------------------ intervals
def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-empty, non-overlapping."""
    out: list[Interval] = []
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    a, b = merge(a), merge(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    cut = merge(b)
    for s, e in merge(a):
        cur = s
        for cs, ce in cut:
            if ce <= cur or cs >= e:
                continue
            if cs > cur:
                out.append((cur, cs))
            cur = max(cur, ce)
            if cur >= e:
                break
        if cur < e:
            out.append((cur, e))
    return out


def seconds(intervals: Iterable[Interval]) -> float:
    return sum((e - s).total_seconds() for s, e in merge(intervals))


def month_period(month: str, tz: str = DEFAULT_TZ) -> Interval:
    """``YYYY-MM`` → [first day 00:00, next month's first day 00:00) in ``tz``, as UTC."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        first = date(year, mon, 1)
    except ValueError:
        raise ValueError(t("month_bad", text=month)) from None
    nxt = date(year + (mon == 12), mon % 12 + 1, 1)
    zone = ZoneInfo(tz)
    return (datetime.combine(first, datetime.min.time(), zone).astimezone(UTC),
            datetime.combine(nxt, datetime.min.time(), zone).astimezone(UTC))


def monitored_intervals(runs: Iterable[Run], now: datetime, grace_s: float = RUN_GRACE_S) -> list[Interval]:
    """When netmon was running: each run's [start, last heartbeat]; the latest, still beating, up to now."""
    runs = sorted(runs, key=lambda r: r.started_at)
    out = []
    for i, r in enumerate(runs):
        end = r.heartbeat_at
        latest = i == len(runs) - 1
        if latest and r.stopped_at is None and (now - r.heartbeat_at).total_seconds() <= grace_s:
            end = now
        out.append((r.started_at, min(end, now)))
    return merge(out)


# ------------------------------------------------------------------------------------ computing
def site_availability(
    site: SiteInfo,
    outages: Sequence[OutageRow],
    period: Interval,
    monitored: Sequence[Interval],
    maintenance: Mapping[str, Sequence[Interval]],
    now: datetime,
) -> SiteAvailability:
    """One site over ``period`` (see the module docstring). ``maintenance``: site id → its windows' intervals."""
    start, end = period
    end = min(end, now)
    window = [(start, end)] if end > start else []
    running = intersect(window, monitored)
    own_maint = intersect(running, maintenance.get(site.id, ()))
    observed = subtract(running, own_maint)

    def counted(o: OutageRow) -> list[Interval]:
        excused = [i for s in (o.root_sites or ((o.site_id,) if o.site_id else ())) for i in maintenance.get(s, ())]
        return intersect(subtract([(o.started_at, o.until(now))], excused), observed)

    own_ids, own_down, up_ids, up_down = [], [], [], []
    for o in outages:
        if o.object_type == "base_station":
            continue
        if o.site_id == site.id:
            parts = counted(o)
            if parts:
                own_ids.append(o.id)
                own_down += parts
        elif site.id in o.affected:
            parts = counted(o)
            if parts:
                up_ids.append(o.id)
                up_down += parts
    own = merge(own_down)
    behind = subtract(up_down, own)
    return SiteAvailability(
        site=site, observed_s=seconds(observed), own_down_s=seconds(own), unreachable_s=seconds(behind),
        maintenance_s=seconds(own_maint), gap_s=seconds(subtract(window, monitored)),
        own_outages=tuple(own_ids), unreachable_outages=tuple(i for i in up_ids if i not in own_ids),
    )


def group_key(site: SiteInfo, by: GroupBy, province: str = "tỉnh") -> tuple[str, str]:
    """(sort key, label) of the group ``site`` belongs to."""
    if by == "site":
        return site.id, f"{site.name} ({site.id})"
    if by == "district":
        if site.district is None:
            return "", f"(cấp tỉnh) {province}".strip()
        return site.district, site.district_name or site.district
    if by == "kind":
        return site.kind, site.kind
    if by == "level":
        order = {"province": "0", "district": "1", "commune": "2"}
        return order.get(site.level, "9") + site.level, site.level
    raise ValueError(f"--by must be one of {', '.join(GROUPINGS)}")


def availability(
    sites: Iterable[SiteInfo],
    outages: Sequence[OutageRow],
    period: Interval,
    runs: Iterable[Run],
    maintenance: Mapping[str, Sequence[Interval]],
    now: datetime,
    by: GroupBy = "site",
    province: str = "tỉnh",
) -> list[GroupAvailability]:
    """Availability per group, sorted by group; ``runs`` are the ``monitor_run`` rows."""
    monitored = monitored_intervals(runs, now)
    per_site = [site_availability(s, outages, period, monitored, maintenance, now) for s in sites]
    by_id = {o.id: o for o in outages}
    groups: dict[tuple[str, str], list[SiteAvailability]] = {}
    for sa in per_site:
        groups.setdefault(group_key(sa.site, by, province), []).append(sa)
    out = []
    for (key, label), members in sorted(groups.items()):
        own = sorted({i for m in members for i in m.own_outages})
        behind = sorted({i for m in members for i in m.unreachable_outages} - set(own))
        closed = [by_id[i] for i in own if by_id[i].ended_at is not None]
        mttr = (sum(_duration(o) for o in closed) / len(closed)) if closed else None
        out.append(GroupAvailability(
            key=key, label=label, sites=len(members), observed_s=sum(m.observed_s for m in members),
            own_down_s=sum(m.own_down_s for m in members), unreachable_s=sum(m.unreachable_s for m in members),
            maintenance_s=sum(m.maintenance_s for m in members), gap_s=max((m.gap_s for m in members), default=0),
            outages=len(own), unreachable_outages=len(behind), mttr_s=mttr,
        ))
    return out


def _duration(o: OutageRow) -> float:
    """The recorded duration of a closed outage."""
    if o.duration_s is not None:
        return o.duration_s
    return ((o.ended_at or o.started_at) - o.started_at).total_seconds()


def select_outages(
    outages: Iterable[OutageRow],
    *,
    open_only: bool = False,
    since: datetime | None = None,
    districts: set[str] | None = None,
    site_district: Mapping[str, str | None] | None = None,
) -> list[OutageRow]:
    """``--open``: not ended; ``--since``: still open or ended at/after it; ``--district``: rooted in one
    of ``districts`` or making one of their sites unreachable. Newest first."""
    site_district = site_district or {}
    out = []
    for o in outages:
        if open_only and o.ended_at is not None:
            continue
        if since is not None and o.ended_at is not None and o.ended_at < since:
            continue
        if districts is not None:
            places = {o.district, *(site_district.get(s) for s in o.affected)}
            if not places & districts:
                continue
        out.append(o)
    return sorted(out, key=lambda o: (o.started_at, o.id), reverse=True)


# ------------------------------------------------------------------------------------ rows
def minutes(s: float | None) -> float | None:
    return None if s is None else s / 60


AVAILABILITY_COLUMNS = ("group", "sites", "availability_pct", "observed_h", "own_down_min", "unreachable_min",
                        "outages", "unreachable_outages", "mttr_min", "maintenance_min", "gap_min")
OUTAGE_COLUMNS = ("id", "started", "ended", "duration", "kind", "object", "site", "district", "affected",
                  "detected_by", "root_cause")


def availability_rows(groups: Iterable[GroupAvailability]) -> list[dict[str, object]]:
    """One row per group, typed (None: no value — no observed time, no closed outage for an MTTR); the command
    line formats them (a table's ``—``, an empty CSV cell, JSON's null)."""
    return [{
        "group": g.label, "sites": g.sites,
        "availability_pct": None if g.availability is None else g.availability * 100,
        "observed_h": g.observed_s / 3600, "own_down_min": minutes(g.own_down_s),
        "unreachable_min": minutes(g.unreachable_s), "outages": g.outages,
        "unreachable_outages": g.unreachable_outages, "mttr_min": minutes(g.mttr_s),
        "maintenance_min": minutes(g.maintenance_s), "gap_min": minutes(g.gap_s),
    } for g in groups]


def outage_rows(outages: Iterable[OutageRow], districts: Mapping[str, str], now: datetime) -> list[dict[str, object]]:
    """One row per outage, typed: times are aware datetimes (the command line prints them in the province's
    zone), ``duration`` is seconds (up to ``now`` while open, ``ended`` None), ``affected`` the site ids."""
    rows: list[dict[str, object]] = []
    for o in outages:
        duration = o.duration_s if o.duration_s is not None else (now - o.started_at).total_seconds()
        rows.append({
            "id": o.id, "started": o.started_at, "ended": o.ended_at, "duration": round(duration),
            "kind": o.kind, "object": f"{o.object_type}:{o.object_id}", "site": o.site_id,
            "district": districts.get(o.district or "", o.district or "") or None,
            "affected": list(o.affected), "detected_by": o.detected_by, "root_cause": o.root_cause,
        })
    return rows


# ------------------------------------------------------------------------------------ maintenance
def site_maintenance(h: HistoryRecords, start: datetime, end: datetime) -> dict[str, list[Interval]]:
    """Site id → the maintenance intervals covering it (windows listing the site or one of its devices)."""
    out: dict[str, list[Interval]] = {}
    for w in h.windows:
        spans = maintenance_intervals(w, start, end)
        if not spans:
            continue
        covered = set(w.sites) | {s for s, devs in h.site_devices.items() if devs & set(w.devices)}
        for site in covered:
            out.setdefault(site, []).extend(spans)
    return {k: merge(v) for k, v in out.items()}


def parse_since(text: str, tz: str = DEFAULT_TZ) -> datetime:
    """``YYYY-MM-DD`` (midnight in ``tz``) or an ISO datetime (``tz`` when it has no offset)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(t("since_bad", text=text)) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(tz))
    return at.astimezone(UTC)


__all__ = [
    "GroupAvailability",
    "OutageRow",
    "Run",
    "SiteAvailability",
    "SiteInfo",
    "availability",
    "monitored_intervals",
    "month_period",
    "select_outages",
    "site_availability",
    "site_maintenance",
]
