"""The cluster's control plane on real databases (SQLite and PostgreSQL): members, the lease and its epoch,
the fenced assignment."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine

from netmon.store import cluster

pytestmark = pytest.mark.integration


def test_members_register_beat_and_say_goodbye(engine: Engine) -> None:
    cluster.register(engine, "p1", "http://10.0.0.1:9750")
    cluster.register(engine, "p2", "http://10.0.0.2:9750")
    time.sleep(0.2)
    cluster.beat(engine, "p2")
    cluster.stop(engine, "p1")
    by_id = {m.id: m for m in cluster.members(engine)}
    assert set(by_id) == {"p1", "p2"} and by_id["p1"].stopped and not by_id["p2"].stopped
    assert by_id["p1"].silent_s >= 0.15 > by_id["p2"].silent_s >= 0
    cluster.register(engine, "p1", "http://10.0.0.9:9750")  # back, elsewhere
    again = {m.id: m for m in cluster.members(engine)}["p1"]
    assert not again.stopped and again.url == "http://10.0.0.9:9750"


def test_the_lease_renews_for_its_holder_and_passes_on_with_a_new_epoch_when_it_expires(engine: Engine) -> None:
    assert cluster.take_lease(engine, "p1", ttl_s=0.3) == 1
    assert cluster.take_lease(engine, "p2", ttl_s=0.3) is None  # held
    assert cluster.take_lease(engine, "p1", ttl_s=0.3) == 1  # renewed, same epoch
    time.sleep(0.4)
    assert cluster.take_lease(engine, "p2", ttl_s=10) == 2  # expired: p2 takes over, epoch bumped
    assert cluster.take_lease(engine, "p1", ttl_s=10) is None


def test_a_leader_that_lost_the_lease_cannot_write_the_assignment(engine: Engine) -> None:
    epoch = cluster.take_lease(engine, "p1", ttl_s=0.2)
    assert epoch == 1 and cluster.write_assignment(engine, "p1", 1, {"device:a": "p1", "device:b": "p2"})
    time.sleep(0.3)
    assert cluster.take_lease(engine, "p2", ttl_s=10) == 2
    assert not cluster.write_assignment(engine, "p1", 1, {"device:a": "p1", "device:b": "p1"})  # fenced
    assert cluster.assignment(engine) == {"device:a": "p1", "device:b": "p2"}
    assert cluster.write_assignment(engine, "p2", 2, {"device:a": "p2", "bts:842": "p2"})
    assert cluster.assignment(engine) == {"device:a": "p2", "bts:842": "p2"}
    with engine.connect() as conn:
        assert cluster.owned_units(conn, "p2") == {"device:a", "bts:842"}
        assert cluster.owned_units(conn, "p1") == set()


def test_many_pollers_asking_at_once_get_one_leader(engine: Engine) -> None:
    won: list[int | None] = []

    def ask(n: int) -> None:
        won.append(cluster.take_lease(engine, f"p{n}", ttl_s=30))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(won, key=lambda x: x or 0) == [None] * 5 + [1]


# ------------------------------------------------------------------ netmon cluster status|forget
def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from netmon.cli import app

    return CliRunner(env={"NETMON_LANG": "en", "NETMON_FAILOVER_S": "60"}).invoke(app, ["cluster", *args])


def _silence(engine: Engine, poller: str, seconds: float) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from netmon.store import models as m
    from netmon.store.models import table

    pollers = table(m.Poller)
    with engine.begin() as conn:
        at = cluster.db_now(conn) - timedelta(seconds=seconds)
        conn.execute(update(pollers).where(pollers.c.id == poller).values(heartbeat_at=at))


def test_cluster_status_lists_the_pollers_and_forget_ends_a_dead_ones_poller_down(engine: Engine) -> None:
    url = str(engine.url.render_as_string(hide_password=False))
    none = _cli("status", "--database", url)
    assert none.exit_code == 0 and "no poller has registered" in none.stderr and none.stdout == ""
    for p in ("p1", "p2", "p3"):
        cluster.register(engine, p, f"http://{p}:9750/metrics")
    cluster.take_lease(engine, "p1", ttl_s=30)
    cluster.write_assignment(engine, "p1", 1, {"device:a": "p1", "device:b": "p2", "bts:842": "p2"})
    _silence(engine, "p2", 300)  # died without a goodbye: PollerDown
    cluster.stop(engine, "p3")  # said goodbye

    listed = _cli("status", "--database", url, "--format", "json")
    assert listed.exit_code == 3  # one is dead
    rows = {r["poller"]: r for r in json.loads(listed.stdout)}
    assert {p: (r["state"], r["leader"], r["units"]) for p, r in rows.items()} == {
        "p1": ("alive", True, 1), "p2": ("dead", False, 2), "p3": ("stopped", False, 0)}
    assert rows["p2"]["silent_s"] >= 299

    alive = _cli("forget", "p1", "--database", url, "--yes")
    assert alive.exit_code == 1 and "still beats" in alive.stderr and len(alive.stderr.splitlines()) == 1
    unknown = _cli("forget", "p22", "--database", url, "--yes")
    assert unknown.exit_code == 2 and "did you mean p2" in unknown.stderr
    unasked = _cli("forget", "p2", "--database", url)  # no terminal to type yes at: nothing changes
    assert unasked.exit_code == 1 and "nothing was changed" in unasked.stderr
    assert not {m.id: m for m in cluster.members(engine)}["p2"].stopped

    done = _cli("forget", "p2", "--database", url, "--yes")
    assert done.exit_code == 0 and "no more PollerDown" in done.stderr
    assert {m.id: m for m in cluster.members(engine)}["p2"].stopped  # the leader exports no poller_up for it
    assert _cli("status", "--database", url).exit_code == 0
    again = _cli("forget", "p2", "--database", url, "--yes")
    assert again.exit_code == 0 and "stopped already" in again.stderr
