"""Two pollers of one province, wired as ``netmon run`` wires them (:class:`netmon.service.Service` with
``NETMON_CLUSTER``), on a real PostgreSQL, polling the simulated province in-process (the real BER codec and
agents' answers behind the poller seam): each judges, writes, pages and exports only what it owns; a district
outage open when its poller dies stays one row, adopted by the survivor without a second page; a poller back
from the dead writes nothing for what it lost (the fence), and rejoins.

Membership is ticked by hand with a short failover, so the test takes seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from simulated_monitor import ENV, SimIcmp, SimPoller
from sqlalchemy import Engine, select

from netmon.health.incidents import Incident
from netmon.inventory.load import Inventory, load_inventory
from netmon.service import ClusterNeedsPostgres, Service
from netmon.settings import Settings
from netmon.sim.build import build_world
from netmon.sim.world import World
from netmon.store import models as m
from netmon.store.db import make_engine, upgrade
from netmon.store.models import table
from netmon.store.sync import apply, plan

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
FAILOVER = 6.0


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    import uuid

    from postgres import admin_statement

    name = f"netmon_test_{uuid.uuid4().hex[:12]}"
    admin_statement(postgres_url, "CREATE DATABASE {}", name)
    eng = make_engine(postgres_url.rsplit("/", 1)[0] + f"/{name}")
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        admin_statement(postgres_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, what: str, inc: Incident, at: datetime) -> None:
        self.seen.append((what, inc.key))


class Rig:
    def __init__(self, engine: Engine, inv: Inventory, world: World) -> None:
        self.engine, self.inv, self.world = engine, inv, world
        self.loop = asyncio.new_event_loop()
        self.pollers: dict[str, Service] = {}
        self.pages: dict[str, Recorder] = {}

    def poller(self, name: str) -> Service:
        s = Settings(database_url=str(self.engine.url), cluster=True, poller_id=name, listen="", trap_listen=None,
                     failover_s=FAILOVER, cluster_beat_s=0.2, outbox="", watch_path=False, icmp=False,
                     backups=False, confirm_after_s=1e6)
        svc = Service(s, self.inv, self.engine)
        clock = time.time
        svc.monitor.poller = SimPoller(self.world, clock)
        svc.monitor.icmp = SimIcmp(self.world, clock)
        svc.monitor.ready = True
        assert svc.history is not None
        svc.history.start_run(datetime.now().astimezone())
        self.pollers[name] = svc
        self.pages[name] = Recorder()
        svc.monitor.listeners.append(self.pages[name])
        return svc

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def tick(self, *names: str) -> None:
        for n in names:
            self.run(self.pollers[n].cluster_tick())

    def poll(self, *names: str, beat: bool = True) -> None:
        """A beat, then a full pass of each poller over what it probes (and the handover polls in flight)."""
        for n in names:
            svc = self.pollers[n]
            if beat:
                self.tick(n)

            async def one_pass(svc: Service = svc) -> None:
                await asyncio.gather(*svc._cluster_tasks)  # the handover polls in flight
                assert svc.monitor.scope is not None
                await svc.monitor.poll_batch(sorted(svc.monitor.scope.probed))

            self.run(one_pass())

    def outages(self, object_id: str) -> list[Any]:
        outages = table(m.Outage)
        with self.engine.connect() as conn:
            return list(conn.execute(select(outages).where(outages.c.object_id == object_id)
                                     .order_by(outages.c.id)))

    def close(self) -> None:
        for svc in self.pollers.values():
            svc.poller.close()
            svc.icmp.close()
        self.loop.close()


@pytest.fixture
def rig(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    inv = load_inventory(ROOT / "inventory")
    apply(pg, plan(pg, inv))
    r = Rig(pg, inv, build_world(inv, time.time() - 10))
    try:
        yield r
    finally:
        r.close()


def exported_devices(svc: Service) -> set[str]:
    from netmon.expose.metrics import MonitorCollector

    text = MonitorCollector(svc.monitor).render().decode()
    return {line.split('device="', 1)[1].split('"', 1)[0] for line in text.splitlines()
            if line.startswith("netmon_device_up{")}


def district_router(inv: Inventory, world: World) -> str:
    parents = {d.parent for d in world.devices.values() if d.parent}
    return next(d.id for d in inv.devices.values() if d.role.value == "district" and d.id in parents)


def test_two_pollers_split_the_province_hand_over_an_open_outage_and_fence_the_one_back_from_the_dead(
        rig: Rig) -> None:
    a, b = rig.poller("a"), rig.poller("b")
    rig.tick("a", "b", "a", "b")  # a leads and shares out
    sa, sb = a.monitor.scope, b.monitor.scope
    assert sa is not None and sb is not None and sa.keys and sb.keys
    every = set(rig.inv.devices) | {d for d in rig.inv.base_stations if rig.inv.base_stations[d].mgmt}
    assert not sa.keys & sb.keys and (sa.devices | sa.stations | sb.devices | sb.stations) == every
    rig.poll("a", "b")
    rig.poll("a", "b")
    ea, eb = exported_devices(a), exported_devices(b)
    assert ea | eb == every and not ea & eb  # Prometheus sees every device once
    for svc, scope in ((a, sa), (b, sb)):  # each judges and keeps state for its share, not the province
        judged, health = svc.monitor.judged, svc.monitor.health
        assert scope.devices <= set(judged.nodes) <= scope.devices | scope.probed
        assert set(judged.base_stations) == scope.stations
        assert set(health.devices) == set(judged.nodes) and set(health.base_stations) == scope.stations
        assert len(judged.nodes) + len(judged.base_stations) < len(rig.inv.devices) + len(rig.inv.base_stations)

    # A district router dies; its owner judges the district outage, the other (which probes only the root
    # above its own subtrees) raises nothing.
    district = district_router(rig.inv, rig.world)
    owner, other = (a, b) if district in sa.devices else (b, a)
    on, off = ("a", "b") if owner is a else ("b", "a")
    rig.world.set_alive(district, False, time.time())
    rig.poll(on, off, on, off)
    key = f"device:{district}"
    assert key in owner.monitor.incidents and key not in other.monitor.incidents
    rows = rig.outages(district)
    assert len(rows) == 1 and rows[0].ended_at is None
    started = rows[0].started_at
    assert rig.pages[on].seen == [("opened", key)] and rig.pages[off].seen == []

    # The owner dies (it beats no more); after the failover the survivor owns everything, polls what it
    # gained at once, and adopts the open outage: same row, same start, no second page.
    deadline = time.monotonic() + FAILOVER + 0.3
    while time.monotonic() < deadline:
        rig.tick(off)
        time.sleep(0.1)
    rig.tick(off, off)
    assert other.membership is not None and other.membership.owned == {u.id for u in other.membership.units}
    rig.poll(off)
    assert key in other.monitor.incidents
    assert rig.pages[off].seen == []  # adopted, not announced again
    rows = rig.outages(district)
    assert len(rows) == 1 and rows[0].ended_at is None and rows[0].started_at == started
    assert exported_devices(other) == every
    # The death is one PollerDown (the leader's series at 0), and /sd still lists the dead one for a while
    # (its failed scrapes hold its incidents in Prometheus until their new owner exports them).
    from netmon.expose.cluster import cluster_families, sd_targets

    assert other.membership.leader
    text = "".join(f.text({}, {}, {}) for f in cluster_families(other.membership, lambda: 0))
    assert f'netmon_cluster_poller_up{{poller="{on}"}} 0' in text
    assert f'netmon_cluster_poller_up{{poller="{off}"}} 1' in text
    assert len(sd_targets(other.membership.members, FAILOVER)) == 2

    # The dead one wakes up (a paused process) and polls before its next beat: its view of what it owns is
    # too old to act on, so it judges nothing as its own — no page, no write ...
    rig.world.set_alive(district, True, time.time())
    seen = list(rig.pages[on].seen)
    rig.poll(on, beat=False)
    assert rig.pages[on].seen == seen and owner.monitor.incidents == {}
    assert len(rig.outages(district)) == 1 and rig.outages(district)[0].ended_at is None
    # ... and what it had left to write for the district (its outbox) is refused by the database's fence.
    assert owner.history is not None and owner.fence is not None
    owner.history.outbox.put({"op": "close", "key": key, "ended_at": datetime.now().astimezone().isoformat()})
    assert owner.fence.dropped >= 1 and owner.history.pending == 0
    assert len(rig.outages(district)) == 1 and rig.outages(district)[0].ended_at is None
    # ... and at its next beat it rejoins: it drops what it lost without a word, and gets a share back.
    rig.tick(on, off, on)
    assert owner.monitor.scope is not None and owner.monitor.scope.keys
    assert not owner.monitor.scope.keys & other.monitor.scope.keys if other.monitor.scope else False
    rig.poll(on, off)
    rig.poll(on, off)
    rows = rig.outages(district)
    assert len(rows) == 1 and rows[0].ended_at is not None  # closed once, by whoever owns it now
    closes = [p for n in (on, off) for p in rig.pages[n].seen if p == ("closed", key)]
    assert len(closes) == 1
    assert not [p for n in (on, off) for p in rig.pages[n].seen if p[0] == "opened" and p[1] != key]


def test_sqlite_stays_single_poller_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    eng = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    upgrade(eng)
    inv = load_inventory(ROOT / "inventory")
    with pytest.raises(ClusterNeedsPostgres, match="PostgreSQL"):
        Service(Settings(cluster=True, listen="", trap_listen=None, outbox=""), inv, eng)
    eng.dispose()
