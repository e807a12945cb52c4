"""Pollers sharing one database: who leads, who owns what, what happens when one dies or loses the database.

Real databases (SQLite and PostgreSQL); several :class:`Membership` in one process, ticked by hand, a short
failover so the test takes seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from netmon.cluster.assign import units_of
from netmon.cluster.membership import Membership
from netmon.health.topology import topology_from_inventory
from netmon.inventory.load import load_inventory
from netmon.store.db import make_engine

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
FAILOVER = 1.0
UNITS = units_of(topology_from_inventory(load_inventory(ROOT / "inventory")))
EVERY_DEVICE = frozenset(d for u in UNITS for d in u.devices)


def member(engine: Engine, name: str) -> Membership:
    return Membership(engine, name, f"http://{name}:9750", UNITS, failover_s=FAILOVER)


def test_pollers_share_the_province_once_and_a_dead_one_is_replaced_within_failover(engine: Engine) -> None:
    a, b, c = member(engine, "a"), member(engine, "b"), member(engine, "c")
    assert a.tick().gained == EVERY_DEVICE and a.leader  # alone: everything
    b.tick()
    c.tick()
    a.tick()  # the leader shares out
    b.tick()
    c.tick()
    owned = [m.devices for m in (a, b, c)]
    assert all(owned) and sum(map(len, owned)) == len(EVERY_DEVICE) and frozenset().union(*owned) == EVERY_DEVICE
    assert c.probed > c.devices  # it probes the root above its subtrees too
    # c dies (stops beating): after the failover its devices are a's and b's, nobody else's moved
    a_before, b_before = a.devices, b.devices
    deadline = time.monotonic() + FAILOVER + 0.1
    while time.monotonic() < deadline:  # a and b beat on, c does not
        a.tick()
        b.tick()
        time.sleep(0.1)
    for m in (a, b, a, b):  # views settle within a tick of the leader's write
        m.tick()
    assert a.devices | b.devices == EVERY_DEVICE and not a.devices & b.devices
    assert a.devices >= a_before and b.devices >= b_before  # only c's units moved
    assert "c" in a.dead and set(a.alive) == {"a", "b"}


def test_a_clean_stop_hands_over_at_once_and_the_lease_passes_on(engine: Engine) -> None:
    a, b = member(engine, "a"), member(engine, "b")
    a.tick()
    b.tick()
    a.tick()
    b.tick()
    a.leave()
    time.sleep(FAILOVER / 3 + 0.1)  # the lease outlives its holder by at most its ttl
    b.tick()
    assert b.leader and b.devices == EVERY_DEVICE


def test_a_poller_cut_off_from_the_database_gives_up_its_units(engine: Engine, tmp_path: Path) -> None:
    a, b = member(engine, "a"), member(engine, "b")
    a.tick()
    b.tick()
    a.tick()
    b.tick()
    assert b.devices
    b.engine = make_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")  # its database is unreachable now
    b.tick()
    assert b.devices  # a short hiccup changes nothing
    time.sleep(FAILOVER + 0.1)
    lost = b.tick().lost
    assert lost and not b.devices and not b.leader  # no double judging, no double paging
    a.tick()
    assert a.devices == EVERY_DEVICE
