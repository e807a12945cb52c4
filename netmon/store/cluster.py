"""The cluster's control plane on the database: members and their heartbeats, the assigning lease, who owns what.

No new infrastructure: several ``netmon run`` share the PostgreSQL they already need (the peers' separate
coordination layers — LibreNMS's Redis — are where their outages come from). Every time here is the
database's own clock (:func:`db_now`), so pollers on hosts whose clocks disagree still agree on who is dead.

* a poller :func:`register` s and :func:`beat` s; :func:`members` tells each one's silence;
* one lease, ``assign``: :func:`take_lease` atomically renews it for its holder, or hands it to whoever asks
  once it has expired — and then bumps its **epoch**; the holder computes the assignment;
* :func:`write_assignment` replaces the assignment only under the epoch the writer holds (a leader that lost
  the lease — paused, cut off — cannot overwrite its successor's work); :func:`assignment` reads it;
* :func:`owned_units` is what a poller may write history for: the fence behind "exactly one writer".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from netmon.store import models as m
from netmon.store.models import table

__all__ = ["LEASE", "Fence", "Member", "assignment", "beat", "db_now", "lease_holder", "members", "owned_units",
           "register", "stop", "take_lease", "write_assignment"]

LEASE = "assign"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    url: str
    silent_s: float
    """Seconds since its last heartbeat, by the database's clock."""
    stopped: bool
    """It said goodbye (a clean stop): its devices move at once, no failover wait."""

    def alive(self, failover_s: float) -> bool:
        """Beating: not stopped, and heard from within ``failover_s`` (past it, it is dead: its devices move)."""
        return not self.stopped and self.silent_s < failover_s


def db_now(conn: Connection) -> datetime:
    """The database's current time (UTC)."""
    if conn.dialect.name == "postgresql":
        value = conn.execute(select(func.now())).scalar_one()
    else:  # SQLite: its own clock, UTC
        value = datetime.fromisoformat(conn.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one())
    at: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
    return at.astimezone(UTC)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def register(engine: Engine, poller_id: str, url: str) -> None:
    """Join (or re-join) the cluster."""
    pollers = table(m.Poller)
    with engine.begin() as conn:
        now = db_now(conn)
        if conn.execute(update(pollers).where(pollers.c.id == poller_id).values(
                url=url, started_at=now, heartbeat_at=now, stopped_at=None)).rowcount == 0:
            conn.execute(insert(pollers).values(id=poller_id, url=url, started_at=now, heartbeat_at=now))


def beat(engine: Engine, poller_id: str) -> None:
    pollers = table(m.Poller)
    with engine.begin() as conn:
        conn.execute(update(pollers).where(pollers.c.id == poller_id).values(heartbeat_at=db_now(conn),
                                                                             stopped_at=None))


def stop(engine: Engine, poller_id: str) -> None:
    """A clean goodbye: the others take its devices at once."""
    pollers = table(m.Poller)
    with engine.begin() as conn:
        conn.execute(update(pollers).where(pollers.c.id == poller_id).values(stopped_at=db_now(conn)))


def members(engine: Engine) -> list[Member]:
    """Every poller that ever registered (oldest registration first), with its silence."""
    pollers = table(m.Poller)
    with engine.connect() as conn:
        now = db_now(conn)
        rows = conn.execute(select(pollers).order_by(pollers.c.started_at, pollers.c.id)).all()
    return [Member(r.id, r.url, (now - _utc(r.heartbeat_at)).total_seconds(), r.stopped_at is not None)
            for r in rows]


def take_lease(engine: Engine, poller_id: str, ttl_s: float) -> int | None:
    """Hold the ``assign`` lease for ``ttl_s`` more seconds; its epoch, or None when another holds it.

    Renewing keeps the epoch; taking it over from an expired holder bumps it. One statement under a row lock,
    so two pollers asking at once cannot both win.
    """
    leases = table(m.Lease)
    with engine.begin() as conn:
        now = db_now(conn)
        until = now + timedelta(seconds=ttl_s)
        row = conn.execute(select(leases).where(leases.c.name == LEASE).with_for_update()).first()
        if row is None:  # the first lease ever; two first askers: the primary key lets one in
            try:
                with conn.begin_nested():
                    conn.execute(insert(leases).values(name=LEASE, holder=poller_id, epoch=1, expires_at=until))
            except IntegrityError:
                return None
            return 1
        if row.holder == poller_id:
            conn.execute(update(leases).where(leases.c.name == LEASE).values(expires_at=until))
            return int(row.epoch)
        if _utc(row.expires_at) > now:
            return None
        epoch = int(row.epoch) + 1
        conn.execute(update(leases).where(leases.c.name == LEASE, leases.c.epoch == row.epoch).values(
            holder=poller_id, epoch=epoch, expires_at=until))
        return epoch


def lease_holder(engine: Engine) -> str | None:
    """The poller holding the ``assign`` lease now (None: nobody, or it expired)."""
    leases = table(m.Lease)
    with engine.connect() as conn:
        now = db_now(conn)
        row = conn.execute(select(leases).where(leases.c.name == LEASE)).first()
    return str(row.holder) if row is not None and _utc(row.expires_at) > now else None


def assignment(engine: Engine) -> dict[str, str]:
    """Unit id → poller id, as last written."""
    rows = table(m.Assignment)
    with engine.connect() as conn:
        return {r.unit_id: r.poller_id for r in conn.execute(select(rows.c.unit_id, rows.c.poller_id))}


def write_assignment(engine: Engine, poller_id: str, epoch: int, wanted: Mapping[str, str]) -> bool:
    """Make the assignment ``wanted`` (unit → poller), if ``poller_id`` still holds the lease at ``epoch``;
    False (nothing written) when it does not. Only the rows that change are written."""
    leases, rows = table(m.Lease), table(m.Assignment)
    with engine.begin() as conn:
        lease = conn.execute(select(leases).where(leases.c.name == LEASE).with_for_update()).first()
        if lease is None or lease.holder != poller_id or int(lease.epoch) != epoch:
            return False
        now = db_now(conn)
        current = {r.unit_id: r.poller_id for r in conn.execute(select(rows.c.unit_id, rows.c.poller_id))}
        gone = [u for u in current if u not in wanted]
        if gone:
            conn.execute(delete(rows).where(rows.c.unit_id.in_(gone)))
        for unit, owner in wanted.items():
            if unit not in current:
                conn.execute(insert(rows).values(unit_id=unit, poller_id=owner, epoch=epoch, assigned_at=now))
            elif current[unit] != owner:
                conn.execute(update(rows).where(rows.c.unit_id == unit).values(
                    poller_id=owner, epoch=epoch, assigned_at=now))
    return True


def owned_units(conn: Connection, poller_id: str) -> set[str]:
    """The units ``poller_id`` owns now, read inside the caller's transaction (the write fence).

    On PostgreSQL the rows are read ``FOR SHARE``: a leader moving one of them waits for the writer's
    transaction to end, and a writer that starts after the move reads the new owner — so a write for a unit
    commits only while its writer owns the unit."""
    rows = table(m.Assignment)
    query = select(rows.c.unit_id).where(rows.c.poller_id == poller_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    return set(conn.execute(query).scalars())


@dataclass
class Fence:
    """Exactly one writer per object: what a poller writes for an object (its outages, events, facts) is
    written only while it owns the object's unit, checked in the same transaction as the write.

    ``home``: object key (``device:…``, ``link:…``, ``bts:…``) → unit id; keys with no home (netmon's own
    events) are always admitted. What is refused is dropped (the unit's new owner writes it), counted and
    said once in the log until the poller owns everything it writes again."""

    poller_id: str
    home: Mapping[str, str]
    dropped: int = 0
    _said: bool = field(default=False, repr=False)

    def admit(self, conn: Connection) -> Callable[[str], bool]:
        """A test for object keys, valid inside ``conn``'s transaction."""
        owned = owned_units(conn, self.poller_id)

        def ok(key: str) -> bool:
            unit = self.home.get(key)
            return unit is None or unit in owned

        return ok

    def refused(self, keys: list[str], what: str) -> None:
        """After a commit: ``keys`` were not written (their units are another poller's now)."""
        if not keys:
            self._said = False
            return
        self.dropped += len(keys)
        if not self._said:
            self._said = True
            log.warning("cluster: %s no longer owns %s (e.g. %s): %d %s change(s) dropped, their new owner "
                        "writes them", self.poller_id, "them" if len(keys) > 1 else "it", keys[0], len(keys), what)
