"""Outage and event history: what happened, recorded forever, surviving restarts.

Written by the service through :class:`HistoryWriter`; read back by the reports through
:func:`read_history` (plain records, :mod:`netmon.store.records`).

* An incident opened by ``health/`` becomes an ``outage`` row; closing it sets
  ``ended_at`` and ``duration_s``.  One row per incident key while it is open,
  even across restarts (open rows are adopted at start, never duplicated).
* ``monitor_run`` keeps a heartbeat, so the time netmon itself was stopped is
  recorded as a ``monitoring_gap`` event — not as an outage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from netmon.health.incidents import Incident
from netmon.inventory import schema as s
from netmon.store import models as m
from netmon.store.models import table
from netmon.store.records import HistoryRecords, OutageRow, Run, SiteInfo, utc

OBJECT_TYPES = {"device": "device", "link": "link", "bts": "base_station"}


@dataclass(frozen=True, slots=True)
class OpenOutage:
    id: int
    key: str
    started_at: datetime
    affected: frozenset[str] = frozenset()
    """Every site unreachable behind it at some point of the outage (it only grows)."""


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class HistoryWriter:
    """Writes outages, events and the run heartbeat. Every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.run_id: int | None = None
        self.open: dict[str, OpenOutage] = {}
        self.gap_start: datetime | None = None
        """Last heartbeat of the previous run: outages that ended while netmon was away end here."""

    # ------------------------------------------------------------- runs & gaps
    def start_run(self, now: datetime) -> datetime | None:
        """Register this run; record the gap since the previous run's last heartbeat. Returns its start."""
        runs = table(m.MonitorRun)
        with self.engine.begin() as conn:
            last = conn.execute(select(runs.c.heartbeat_at).order_by(runs.c.heartbeat_at.desc()).limit(1)).scalar()
            gap_start = _utc(last) if last is not None else None
            self.gap_start = gap_start
            if gap_start is not None and (now - gap_start).total_seconds() > 1:
                conn.execute(insert(table(m.Event)), [{
                    "at": gap_start, "object_type": "netmon", "object_id": "netmon", "kind": "monitoring_gap",
                    "detail": f"netmon was not running from {gap_start.isoformat()} to {now.isoformat()} "
                              f"({(now - gap_start).total_seconds():.0f} s): not counted as outage time",
                }])
            self.run_id = conn.execute(
                insert(runs).values(started_at=now, heartbeat_at=now).returning(runs.c.id)
            ).scalar_one()
            outages = table(m.Outage)
            for row in conn.execute(select(outages).where(outages.c.ended_at.is_(None))):
                key = f"{_prefix(row.object_type)}:{row.object_id}"
                self.open[key] = OpenOutage(row.id, key, _utc(row.started_at), frozenset(row.affected or ()))
        return gap_start

    def heartbeat(self, now: datetime) -> None:
        if self.run_id is None:
            return
        runs = table(m.MonitorRun)
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(heartbeat_at=now))

    def stop_run(self, now: datetime) -> None:
        if self.run_id is None:
            return
        runs = table(m.MonitorRun)
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(heartbeat_at=now, stopped_at=now))

    # ------------------------------------------------------------------ outages
    def record(self, opened: Iterable[Incident], closed: Iterable[Incident], now: datetime,
               adopted_ended_at: dict[str, datetime] | None = None) -> None:
        """Open rows for new incidents (adopting a still-open row with the same key) and close ended ones."""
        outages = table(m.Outage)
        with self.engine.begin() as conn:
            for inc in opened:
                if inc.key in self.open:  # survived a restart: same outage, not a new one
                    conn.execute(update(outages).where(outages.c.id == self.open[inc.key].id).values(
                        root_cause=inc.title, affected=list(inc.affected_site_ids)))
                    continue
                kind, _, ident = inc.key.partition(":")
                row_id = conn.execute(insert(outages).values(
                    object_type=OBJECT_TYPES.get(kind, kind), object_id=ident, site_id=inc.site_id,
                    kind=inc.kind.value, root_cause=inc.title, affected=list(inc.affected_site_ids),
                    detected_by=inc.detected_by, started_at=inc.started_at,
                ).returning(outages.c.id)).scalar_one()
                self.open[inc.key] = OpenOutage(row_id, inc.key, inc.started_at, frozenset(inc.affected_site_ids))
            for inc in closed:
                self._close(conn, inc.key, now)
            for key, ended in (adopted_ended_at or {}).items():
                self._close(conn, key, ended)

    def grow(self, still_open: Iterable[Incident]) -> None:
        """An open outage whose shadow grew (more sites unreachable behind it) records them all."""
        outages = table(m.Outage)
        changes = []
        for inc in still_open:
            found = self.open.get(inc.key)
            if found is not None and not set(inc.affected_site_ids) <= found.affected:
                wider = found.affected | set(inc.affected_site_ids)
                self.open[inc.key] = OpenOutage(found.id, found.key, found.started_at, frozenset(wider))
                changes.append((found.id, sorted(wider)))
        if changes:
            with self.engine.begin() as conn:
                for row_id, affected in changes:
                    conn.execute(update(outages).where(outages.c.id == row_id).values(affected=affected))

    def change_kind(self, incidents: Iterable[Incident]) -> None:
        """The same outage changed kind (a down link started flapping): one row, kind and title updated."""
        outages = table(m.Outage)
        rows = [(self.open[i.key].id, i) for i in incidents if i.key in self.open]
        if rows:
            with self.engine.begin() as conn:
                for row_id, inc in rows:
                    conn.execute(update(outages).where(outages.c.id == row_id).values(
                        kind=inc.kind.value, root_cause=inc.title))

    def _close(self, conn: Connection, key: str, ended: datetime) -> None:
        found = self.open.pop(key, None)
        if found is None:
            return
        outages = table(m.Outage)
        ended = max(ended, found.started_at)
        conn.execute(update(outages).where(outages.c.id == found.id).values(
            ended_at=ended, duration_s=(ended - found.started_at).total_seconds()))

    def event(self, at: datetime, object_type: str, object_id: str, kind: str, detail: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(table(m.Event)), [{
                "at": at, "object_type": object_type, "object_id": object_id, "kind": kind, "detail": detail}])


def _prefix(object_type: str) -> str:
    return {v: k for k, v in OBJECT_TYPES.items()}.get(object_type, object_type)


# ---------------------------------------------------------------------------------------------- reading
def read_history(engine: Engine) -> HistoryRecords:
    """The sites, outages, runs and maintenance windows in the database, as plain records."""
    h = HistoryRecords()
    with engine.connect() as conn:
        def rows(model: type[Any]) -> list[Any]:
            return list(conn.execute(select(table(model))))

        for u in rows(m.Unit):
            if u.level == "district":
                h.districts[u.code] = u.name
            elif u.level == "province":
                h.province = u.name
        for st in rows(m.Site):
            h.sites[st.id] = SiteInfo(st.id, st.name, st.kind, st.level, st.district,
                                      h.districts.get(st.district) if st.district else None)
        device_site: dict[str, str] = {}
        for d in rows(m.Device):
            device_site[d.id] = d.site
            h.site_devices.setdefault(d.site, set()).add(d.id)
        link_sites = {ln.id: tuple(dict.fromkeys(device_site[x] for x in (ln.a_device, ln.b_device)
                                                 if x in device_site)) for ln in rows(m.Link)}
        bts_district = {b.id: b.district for b in rows(m.BaseStation)}
        outages = table(m.Outage)
        for o in conn.execute(select(outages).order_by(outages.c.id)):
            roots: tuple[str, ...] = ()
            if o.object_type == "link":
                roots = link_sites.get(o.object_id, ())
            elif o.object_type == "device" and o.object_id in device_site:
                roots = (device_site[o.object_id],)
            if o.site_id:
                roots = tuple(dict.fromkeys((*roots, o.site_id)))
            district = (h.sites[o.site_id].district if o.site_id in h.sites
                        else bts_district.get(o.object_id) if o.object_type == "base_station" else None)
            h.outages.append(OutageRow(
                id=o.id, object_type=o.object_type, object_id=o.object_id, site_id=o.site_id, kind=o.kind,
                root_cause=o.root_cause, affected=tuple(o.affected or ()), detected_by=o.detected_by,
                started_at=utc(o.started_at), ended_at=utc(o.ended_at) if o.ended_at else None,
                duration_s=o.duration_s, root_sites=roots, district=district,
            ))
        h.runs = [Run(utc(r.started_at), utc(r.heartbeat_at), utc(r.stopped_at) if r.stopped_at else None)
                  for r in rows(m.MonitorRun)]
        for w in rows(m.Maintenance):
            h.windows.append(s.Maintenance.model_validate({"id": w.id, "description": w.description, **w.spec}))
    return h
