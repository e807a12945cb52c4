"""Outage and event history: what happened, recorded forever, surviving restarts.

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

from sqlalchemy import Engine, insert, select, update

from netmon.health.incidents import Incident
from netmon.store import models as m

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


class History:
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
        runs = m.MonitorRun.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            last = conn.execute(select(runs.c.heartbeat_at).order_by(runs.c.heartbeat_at.desc()).limit(1)).scalar()
            gap_start = _utc(last) if last is not None else None
            self.gap_start = gap_start
            if gap_start is not None and (now - gap_start).total_seconds() > 1:
                conn.execute(insert(m.Event.__table__), [{  # type: ignore[attr-defined]
                    "at": gap_start, "object_type": "netmon", "object_id": "netmon", "kind": "monitoring_gap",
                    "detail": f"netmon was not running from {gap_start.isoformat()} to {now.isoformat()} "
                              f"({(now - gap_start).total_seconds():.0f} s): not counted as outage time",
                }])
            self.run_id = conn.execute(
                insert(runs).values(started_at=now, heartbeat_at=now).returning(runs.c.id)
            ).scalar_one()
            outages = m.Outage.__table__  # type: ignore[attr-defined]
            for row in conn.execute(select(outages).where(outages.c.ended_at.is_(None))):
                key = f"{_prefix(row.object_type)}:{row.object_id}"
                self.open[key] = OpenOutage(row.id, key, _utc(row.started_at), frozenset(row.affected or ()))
        return gap_start

    def heartbeat(self, now: datetime) -> None:
        if self.run_id is None:
            return
        runs = m.MonitorRun.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(heartbeat_at=now))

    def stop_run(self, now: datetime) -> None:
        if self.run_id is None:
            return
        runs = m.MonitorRun.__table__  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(heartbeat_at=now, stopped_at=now))

    # ------------------------------------------------------------------ outages
    def record(self, opened: Iterable[Incident], closed: Iterable[Incident], now: datetime,
               adopted_ended_at: dict[str, datetime] | None = None) -> None:
        """Open rows for new incidents (adopting a still-open row with the same key) and close ended ones."""
        outages = m.Outage.__table__  # type: ignore[attr-defined]
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
        outages = m.Outage.__table__  # type: ignore[attr-defined]
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
        outages = m.Outage.__table__  # type: ignore[attr-defined]
        rows = [(self.open[i.key].id, i) for i in incidents if i.key in self.open]
        if rows:
            with self.engine.begin() as conn:
                for row_id, inc in rows:
                    conn.execute(update(outages).where(outages.c.id == row_id).values(
                        kind=inc.kind.value, root_cause=inc.title))

    def _close(self, conn: object, key: str, ended: datetime) -> None:
        found = self.open.pop(key, None)
        if found is None:
            return
        outages = m.Outage.__table__  # type: ignore[attr-defined]
        ended = max(ended, found.started_at)
        conn.execute(update(outages).where(outages.c.id == found.id).values(  # type: ignore[attr-defined]
            ended_at=ended, duration_s=(ended - found.started_at).total_seconds()))

    def event(self, at: datetime, object_type: str, object_id: str, kind: str, detail: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(m.Event.__table__), [{  # type: ignore[attr-defined]
                "at": at, "object_type": object_type, "object_id": object_id, "kind": kind, "detail": detail}])


def _prefix(object_type: str) -> str:
    return {v: k for k, v in OBJECT_TYPES.items()}.get(object_type, object_type)
