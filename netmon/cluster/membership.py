"""One poller's life in a cluster: beat, take the lease when it is free, assign if it holds it, learn what it owns.

The service calls :meth:`Membership.tick` every ``beat_s`` (default 5 s); everything it needs from the
database is in :mod:`netmon.store.cluster`, everything it decides is :func:`netmon.cluster.assign.assign`.

* **Liveness**: a member silent for ``failover_s`` (default 60 s), or one that said goodbye, is dead: the
  leader hands its units to the others at once.
* **Leadership**: the lease lives ``failover_s / 3`` and is renewed every beat, so a dead leader is replaced
  within about that long; each new leader bumps the epoch and the assignment is written only under it.
* **Ownership** (:attr:`units`, :attr:`devices`): read back from the database after each beat. A poller that
  cannot reach the database for ``failover_s`` stops owning anything (its units have gone to the others:
  it must not judge or page them twice) until it can again — the split-brain rule. It gives up two beats
  *before* the others may take over (they count from its last heartbeat, it counts from its last contact,
  which is later, and it looks only once a beat): a short handover with nobody judging, never two judges.
* **Probing** (:attr:`probed`): what it owns plus the ancestors of its subtrees, which it polls to judge
  "parent down → children unreachable" but never writes or pages for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netmon.cluster.assign import Unit, assign
from netmon.store import cluster as db
from netmon.store.db import Engine

__all__ = ["Change", "Membership"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """What a tick changed for this poller."""

    gained: frozenset[str] = frozenset()
    """Devices it owns now and did not before (their open outages are to be adopted)."""
    lost: frozenset[str] = frozenset()
    """Devices it no longer owns (dropped silently: their new owner carries on)."""

    def __bool__(self) -> bool:
        return bool(self.gained or self.lost)


@dataclass
class Membership:
    engine: Engine
    poller_id: str
    url: str
    units: list[Unit]
    failover_s: float = 60.0
    margin: float = 0.2
    clock: Callable[[], float] = time.monotonic
    beat_s: float = 5.0
    """How often :meth:`tick` is called (the split-brain rule gives up this much earlier, twice)."""

    owned: frozenset[str] = field(default=frozenset(), init=False)
    """Unit ids this poller owns."""
    leader_epoch: int | None = field(default=None, init=False)
    dead: tuple[str, ...] = field(default=(), init=False)
    """Members the last tick found dead (the leader exports them: PollerDown)."""
    alive: tuple[str, ...] = field(default=(), init=False)
    members: tuple[db.Member, ...] = field(default=(), init=False)
    """Every member as the last tick saw it."""
    _last_contact: float | None = field(default=None, init=False)
    _registered: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._by_id = {u.id: u for u in self.units}

    @property
    def devices(self) -> frozenset[str]:
        return frozenset(d for u in self.owned for d in self._by_id[u].devices)

    @property
    def probed(self) -> frozenset[str]:
        return frozenset(d for u in self.owned for d in (*self._by_id[u].devices, *self._by_id[u].ancestors))

    @property
    def give_up_s(self) -> float:
        """Without the database this long, this poller gives up its units (before the others take them)."""
        return max(self.failover_s / 2, self.failover_s - 2 * self.beat_s)

    def fresh(self) -> bool:
        """What it owns is still its own to act on: it reached the database less than :attr:`give_up_s` ago."""
        return self._last_contact is not None and self.clock() - self._last_contact < self.give_up_s

    @property
    def leader(self) -> bool:
        return self.leader_epoch is not None

    def tick(self) -> Change:
        """One beat: heartbeat, lease, (assignment), ownership. Never raises for a database fault."""
        before = self.devices
        try:
            self._tick()
            self._last_contact = self.clock()
        except Exception as exc:
            from netmon.store.outbox import is_transient, one_line

            if not is_transient(exc):
                raise
            silent = self.clock() - (self._last_contact or self.clock())
            if self.owned and silent >= self.give_up_s:
                log.error("cluster: no database for %.0f s (%s): this poller gives up its %d unit(s) until it "
                          "is back (the others have them now)", silent, one_line(exc), len(self.owned))
                self.owned, self.leader_epoch = frozenset(), None
        after = self.devices
        return Change(gained=after - before, lost=before - after)

    def _tick(self) -> None:
        if not self._registered:
            db.register(self.engine, self.poller_id, self.url)
            self._registered = True
        else:
            db.beat(self.engine, self.poller_id)
        was_leader = self.leader
        self.leader_epoch = db.take_lease(self.engine, self.poller_id, ttl_s=self.failover_s / 3)
        if self.leader and not was_leader:
            log.warning("cluster: %s assigns the devices now (lease epoch %d)", self.poller_id, self.leader_epoch)
        members = db.members(self.engine)
        self.members = tuple(members)
        self.alive = tuple(m.id for m in members if m.alive(self.failover_s))
        self.dead = tuple(m.id for m in members if m.id not in self.alive)
        current = db.assignment(self.engine)
        if self.leader_epoch is not None and self.alive:
            wanted = assign(self.units, self.alive, current, self.margin)
            if wanted != current and db.write_assignment(self.engine, self.poller_id, self.leader_epoch, wanted):
                moved = sum(1 for u, p in wanted.items() if current.get(u) != p)
                log.info("cluster: %d unit(s) assigned or moved among %d poller(s)", moved, len(self.alive))
                current = wanted
        owned = frozenset(u for u, p in current.items() if p == self.poller_id and u in self._by_id)
        if owned != self.owned:
            log.info("cluster: %s owns %d unit(s), %d device(s)", self.poller_id, len(owned),
                     sum(len(self._by_id[u].devices) for u in owned))
        self.owned = owned

    def leave(self) -> None:
        """A clean stop: say goodbye so the others take over at once."""
        try:
            db.stop(self.engine, self.poller_id)
        except Exception as exc:
            from netmon.store.outbox import is_transient

            if not is_transient(exc):
                raise
