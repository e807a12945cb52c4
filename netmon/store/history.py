"""Outage and event history: what happened, recorded forever, surviving restarts and database outages.

Written by the service through :class:`HistoryWriter`; read back by the reports through
:func:`read_history` (plain records, :mod:`netmon.store.records`).

* An incident opened by ``health/`` becomes an ``outage`` row; closing it sets
  ``ended_at`` and ``duration_s``.  One row per incident key while it is open,
  even across restarts (open rows are adopted at start, never duplicated).
* Every change goes through an :class:`~netmon.store.outbox.Outbox`: in order, journalled on disk, retried
  until the database takes it. A change names its outage by the incident key (the object), never by a row
  id, so a change made while the database was away applies when it is back, and applying one twice (a
  replayed journal) changes nothing. The time the database was away is recorded as a ``database_gap``.
* ``monitor_run`` keeps a heartbeat, so the time netmon itself was stopped is
  recorded as a ``monitoring_gap`` event — not as an outage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, select, update

from netmon.health.incidents import Incident
from netmon.inventory import schema as s
from netmon.store import models as m
from netmon.store.cluster import Fence
from netmon.store.models import table
from netmon.store.outbox import DatabaseStatus, DatabaseUnavailable, Op, Outbox, is_transient, one_line
from netmon.store.records import HistoryRecords, OutageRow, Run, SiteInfo, utc

OBJECT_TYPES = {"device": "device", "link": "link", "bts": "base_station"}


@dataclass(frozen=True, slots=True)
class OpenOutage:
    """An outage open in the history (written, or waiting in the outbox), as the monitor knows it."""

    key: str
    started_at: datetime
    affected: frozenset[str] = frozenset()
    """Every site unreachable behind it at some point of the outage (it only grows)."""
    kind: str = ""
    title: str = ""
    site_id: str | None = None
    adopted: bool = False
    """Opened by a previous run (found open at start): it was announced then."""


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _object(key: str) -> tuple[str, str]:
    kind, _, ident = key.partition(":")
    return OBJECT_TYPES.get(kind, kind), ident


class HistoryWriter:
    """Writes outages and events through an outbox (never raises for a database fault), and the heartbeat.

    ``journal``: the outbox file (``None``: memory only). ``status`` says whether the database takes writes;
    :meth:`retry` (called every few seconds by the service) writes what waits.
    """

    def __init__(self, engine: Engine, journal: Path | None = None, status: DatabaseStatus | None = None) -> None:
        self.engine = engine
        self.status = status or DatabaseStatus()
        self.fence: Fence | None = None
        """One poller of a cluster: its changes are written only for the objects it owns (the rest dropped)."""
        self.outbox = Outbox(engine, _apply, journal, self.status, fence=self._admit, refused=self._refused)
        self.run_id: int | None = None
        self.open: dict[str, OpenOutage] = {}
        self.gap_start: datetime | None = None
        """Last heartbeat of the previous run (the gap's start: when netmon last looked)."""

    @property
    def pending(self) -> int:
        """Changes waiting for the database."""
        return self.outbox.pending

    # ------------------------------------------------------------------ cluster
    def _admit(self, conn: Connection) -> Any:
        if self.fence is None:
            return lambda op: True
        ok = self.fence.admit(conn)
        return lambda op: ok(_key_of(op))

    def _refused(self, ops: list[Op]) -> None:
        if self.fence is not None:
            self.fence.refused([_key_of(op) for op in ops], "outage history")

    def load_open(self, keys: Iterable[str]) -> list[OpenOutage]:
        """The outages open in the database for these objects (a poller that gains them adopts them: the same
        row goes on, from its stored start, without a second page). Raises when the database is away."""
        wanted = {_object(k) for k in keys}
        if not wanted:
            return []
        outages = table(m.Outage)
        out = []
        with self.engine.connect() as conn:
            ids = sorted({i for _, i in wanted})
            for row in conn.execute(select(outages).where(outages.c.ended_at.is_(None),
                                                          outages.c.object_id.in_(ids))):
                if (row.object_type, row.object_id) in wanted:
                    key = f"{_prefix(row.object_type)}:{row.object_id}"
                    out.append(OpenOutage(key, _utc(row.started_at), frozenset(row.affected or ()), row.kind,
                                          row.root_cause, row.site_id, adopted=True))
        return out

    def adopt(self, outages: Iterable[OpenOutage]) -> None:
        """Take over open outages (from :meth:`load_open`) that this writer does not know yet."""
        for o in outages:
            self.open.setdefault(o.key, o)

    def forget(self, keys: Iterable[str]) -> None:
        """Objects this poller no longer owns: their open outages go on under their new owner, untouched."""
        for key in keys:
            self.open.pop(key, None)

    @property
    def database_up(self) -> bool:
        return self.status.up

    @property
    def database_outages(self) -> int:
        return self.status.outages

    # ------------------------------------------------------------- runs & gaps
    def start_run(self, now: datetime) -> datetime | None:
        """Write what a previous run left in the outbox, register this run, record the gap since the previous
        run's last heartbeat and adopt the outages still open. Returns the gap's start.

        Needs the database (raises if it is away): netmon starts on a database it can write.
        """
        self.outbox.replay()
        if not self.outbox.flush():
            raise DatabaseUnavailable(f"cannot write the outage history: {self.status.last_error}")
        try:
            return self._start_run(now)
        except Exception as exc:
            if not is_transient(exc):
                raise
            raise DatabaseUnavailable(f"cannot write the outage history: {one_line(exc)}") from exc

    def _start_run(self, now: datetime) -> datetime | None:
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
                self.open[key] = OpenOutage(key, _utc(row.started_at), frozenset(row.affected or ()), row.kind,
                                            row.root_cause, row.site_id, adopted=True)
        return gap_start

    def heartbeat(self, now: datetime) -> None:
        """Mark this run alive; also the moment to retry what waits (cheap when nothing does)."""
        self.retry()
        if self.run_id is None or not self.status.up:
            return
        self._run_update(values={"heartbeat_at": now}, what="the heartbeat")

    def stop_run(self, now: datetime) -> None:
        self.retry()
        if self.run_id is None:
            return
        self._run_update(values={"heartbeat_at": now, "stopped_at": now}, what="the run's end")

    def _run_update(self, values: dict[str, Any], what: str) -> None:
        runs = table(m.MonitorRun)
        try:
            with self.engine.begin() as conn:
                conn.execute(update(runs).where(runs.c.id == self.run_id).values(**values))
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.status.failed(exc, what)

    def retry(self) -> bool:
        """Write what waits; once the database is back, record how long it was away. True if nothing waits."""
        self.outbox.retry()
        self._record_gaps()
        return not self.outbox.pending

    def _put(self, *ops: Op) -> None:
        """Queue and try to write ``ops``; the write that finds the database back also records the gap, at once
        (not at the next heartbeat: whoever reads the outage written after a gap finds the gap beside it)."""
        self.outbox.put(*ops)
        self._record_gaps()

    def _record_gaps(self) -> None:
        gaps = self.status.take_gaps()
        if gaps:
            self.outbox.put(*({
                "op": "event", "at": start.isoformat(), "object_type": "netmon", "object_id": "netmon",
                "kind": "database_gap",
                "detail": f"database unavailable from {start.isoformat()} to {end.isoformat()} "
                          f"({(end - start).total_seconds():.0f} s): the changes made meanwhile were kept "
                          f"and written when it came back",
            } for start, end in gaps))

    # ------------------------------------------------------------------ outages
    def record(self, opened: Iterable[Incident], closed: Iterable[Incident], now: datetime,
               adopted_ended_at: dict[str, datetime] | None = None) -> None:
        """Open rows for new incidents (adopting a still-open row with the same key) and close ended ones."""
        ops: list[Op] = []
        for inc in opened:
            found = self.open.get(inc.key)
            if found is not None:  # survived a restart: same outage, not a new one
                self.open[inc.key] = replace(found, affected=found.affected | set(inc.affected_site_ids),
                                             kind=inc.kind.value, title=inc.title)
            else:
                self.open[inc.key] = OpenOutage(inc.key, inc.started_at, frozenset(inc.affected_site_ids),
                                                inc.kind.value, inc.title, inc.site_id)
            object_type, object_id = _object(inc.key)
            ops.append({"op": "open", "key": inc.key, "object_type": object_type, "object_id": object_id,
                        "site_id": inc.site_id, "kind": inc.kind.value, "title": inc.title,
                        "affected": sorted(self.open[inc.key].affected), "detected_by": inc.detected_by,
                        "started_at": inc.started_at.isoformat()})
        for inc in closed:
            ops += self._close(inc.key, now)
        for key, ended in (adopted_ended_at or {}).items():
            ops += self._close(key, ended)
        self._put(*ops)

    def grow(self, still_open: Iterable[Incident]) -> None:
        """An open outage whose shadow grew (more sites unreachable behind it) records them all."""
        ops: list[Op] = []
        for inc in still_open:
            found = self.open.get(inc.key)
            if found is not None and not set(inc.affected_site_ids) <= found.affected:
                wider = found.affected | set(inc.affected_site_ids)
                self.open[inc.key] = replace(found, affected=frozenset(wider))
                ops.append({"op": "grow", "key": inc.key, "affected": sorted(wider)})
        if ops:
            self._put(*ops)

    def change_kind(self, incidents: Iterable[Incident]) -> None:
        """The same outage changed kind (a down link started flapping): one row, kind and title updated."""
        ops: list[Op] = []
        for inc in incidents:
            found = self.open.get(inc.key)
            if found is not None:
                self.open[inc.key] = replace(found, kind=inc.kind.value, title=inc.title)
                ops.append({"op": "kind", "key": inc.key, "kind": inc.kind.value, "title": inc.title})
        if ops:
            self._put(*ops)

    def _close(self, key: str, ended: datetime) -> list[Op]:
        found = self.open.pop(key, None)
        if found is None:
            return []
        return [{"op": "close", "key": key, "ended_at": max(ended, found.started_at).isoformat()}]

    def event(self, at: datetime, object_type: str, object_id: str, kind: str, detail: str | None) -> None:
        self._put({"op": "event", "at": at.isoformat(), "object_type": object_type, "object_id": object_id,
                   "kind": kind, "detail": detail})


def _apply(conn: Connection, op: Op) -> None:
    """One outbox operation, idempotent: the open row is found by its object, an event is written once."""
    outages = table(m.Outage)
    name = op["op"]
    if name == "event":
        events = table(m.Event)
        at = datetime.fromisoformat(op["at"])
        same = and_(events.c.at == at, events.c.object_type == op["object_type"],
                    events.c.object_id == op["object_id"], events.c.kind == op["kind"])
        if conn.execute(select(events.c.id).where(same).limit(1)).first() is None:
            conn.execute(insert(events).values(at=at, object_type=op["object_type"], object_id=op["object_id"],
                                               kind=op["kind"], detail=op["detail"]))
        return
    object_type, object_id = _object(op["key"])
    is_open = and_(outages.c.object_type == object_type, outages.c.object_id == object_id,
                   outages.c.ended_at.is_(None))
    row = conn.execute(select(outages.c.id, outages.c.started_at, outages.c.affected).where(is_open)
                       .order_by(outages.c.id.desc()).limit(1)).first()
    if name == "open":
        if row is not None:  # adopted (a previous run's) or a replay: the same outage goes on
            affected = sorted(set(row.affected or ()) | set(op["affected"]))
            conn.execute(update(outages).where(outages.c.id == row.id).values(
                kind=op["kind"], root_cause=op["title"], affected=affected))
        else:
            conn.execute(insert(outages).values(
                object_type=object_type, object_id=object_id, site_id=op["site_id"], kind=op["kind"],
                root_cause=op["title"], affected=op["affected"], detected_by=op["detected_by"],
                started_at=datetime.fromisoformat(op["started_at"])))
        return
    if row is None:
        return  # closed already (a replay), or never opened: nothing to change
    if name == "close":
        started = _utc(row.started_at)
        ended = max(datetime.fromisoformat(op["ended_at"]), started)
        conn.execute(update(outages).where(outages.c.id == row.id).values(
            ended_at=ended, duration_s=(ended - started).total_seconds()))
    elif name == "grow":
        affected = sorted(set(row.affected or ()) | set(op["affected"]))
        conn.execute(update(outages).where(outages.c.id == row.id).values(affected=affected))
    elif name == "kind":
        conn.execute(update(outages).where(outages.c.id == row.id).values(kind=op["kind"], root_cause=op["title"]))
    else:
        raise ValueError(f"unknown history operation {name!r}")


def _key_of(op: Op) -> str:
    """The object key an operation writes for."""
    if op["op"] == "event":
        return f"{_prefix(op['object_type'])}:{op['object_id']}"
    return str(op["key"])


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
