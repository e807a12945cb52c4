"""Outages on a real small WAN: network namespaces, veth pairs, net-snmp snmpd in each router, netmon polling.

The topology (``tests/netns_topology.py``): noc ↔ core ↔ district ↔ three communes, each router a namespace
with its own snmpd; netmon runs in the noc namespace (in-process, or as ``netmon run`` for the restart test)
and reaches each management address through the routers, so a failure really hides what is behind it.
Short intervals (router interval 4 s, one slice, confirm after 1 s), ICMP on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from netns_topology import BY_KEY, COMMUNES, ROUTERS, Rig, link_id, wait_for

from netmon.health.incidents import IncidentKind
from netmon.health.states import Params, State
from netmon.health.topology import device_key, link_key
from netmon.service import Service

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[3]
INTERVAL = 4.0
DEV = {r.key: r.device_id for r in ROUTERS}


def state(svc: Service, key: str) -> State:
    return svc.monitor.health.devices[DEV[key]].state


def states(svc: Service) -> dict[str, State]:
    return {key: state(svc, key) for key in DEV}


def all_up(svc: Service) -> bool:
    h = svc.monitor.health
    return all(d.state is State.UP for d in h.devices.values()) and all(
        ln.state is State.UP for ln in h.links.values())


# ---------------------------------------------------------------------------------------- link down
def test_commune_uplink_down_is_one_incident_for_that_commune(topo: Rig) -> None:
    async def scenario() -> dict[str, Any]:
        async with topo.service() as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first polls")
            topo.wan.uplink_down("c1")
            took = await wait_for(
                lambda: link_key(link_id("c1")) in svc.monitor.incidents and state(svc, "c1") is State.UNREACHABLE,
                INTERVAL + 10, "an incident for c1's uplink and c1 unreachable")
            seen_keys: set[str] = set()
            deadline = time.monotonic() + INTERVAL + 1  # at least one more full poll: nothing else may open
            while time.monotonic() < deadline:
                seen_keys |= set(svc.monitor.incidents)
                await asyncio.sleep(0.1)
            itf = svc.monitor.observations[DEV["dist"]].interface_named("dist-c1")
            during = {"incidents": dict(svc.monitor.incidents), "states": states(svc), "seen": seen_keys,
                      "link": svc.monitor.health.links[link_id("c1")].state, "took": took,
                      "dist_c1_oper": itf.oper_status if itf else None}
            topo.wan.uplink_up("c1")
            await wait_for(lambda: not svc.monitor.incidents and all_up(svc), INTERVAL + 10, "recovery")
            return during

    during = topo.wan.run_in_noc(scenario)
    assert set(during["incidents"]) == {link_key(link_id("c1"))}, during["incidents"]
    assert during["seen"] == {link_key(link_id("c1"))}
    inc = during["incidents"][link_key(link_id("c1"))]
    assert inc.kind is IncidentKind.LINK_DOWN
    assert inc.site_id == BY_KEY["c1"].site_id
    assert "dist-c1" in inc.evidence  # the district's snmpd reported its veth end oper-down
    assert during["link"] is State.DOWN
    assert during["dist_c1_oper"] == 2  # ifOperStatus down(2) on the district's end, as its snmpd reports it
    assert during["states"] == {"core": State.UP, "dist": State.UP, "c1": State.UNREACHABLE,
                                "c2": State.UP, "c3": State.UP}
    rows = topo.outages()
    assert [(r.object_type, r.object_id, r.kind) for r in rows] == [("link", link_id("c1"), "link_down")]
    assert rows[0].ended_at is not None and rows[0].duration_s > 0


# ----------------------------------------------------------------------------------- district dead
def test_district_off_the_network_is_one_incident_communes_unreachable(topo: Rig) -> None:
    communes = {DEV[c] for c in COMMUNES}

    async def scenario() -> dict[str, Any]:
        async with topo.service() as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first polls")
            isolated_at = time.time()
            topo.wan.isolate("dist")
            await wait_for(
                lambda: device_key(DEV["dist"]) in svc.monitor.incidents
                and all(state(svc, c) is State.UNREACHABLE for c in COMMUNES),
                INTERVAL + 15, "the district down and its communes unreachable")
            seen: set[str] = set()
            deadline = time.monotonic() + INTERVAL + 1
            while time.monotonic() < deadline:
                seen |= set(svc.monitor.incidents)
                await asyncio.sleep(0.1)
            during = {"incidents": dict(svc.monitor.incidents), "states": states(svc), "seen": seen}
            restored_at = time.time()
            topo.wan.restore("dist")
            await wait_for(lambda: not svc.monitor.incidents and all_up(svc), INTERVAL + 10, "recovery")
            during.update(isolated_at=isolated_at, restored_at=restored_at, recovered_at=time.time())
            return during

    d = topo.wan.run_in_noc(scenario)
    key = device_key(DEV["dist"])
    assert set(d["incidents"]) == {key} and d["seen"] == {key}
    inc = d["incidents"][key]
    assert inc.kind is IncidentKind.DEVICE_DOWN
    assert {a.device_id for a in inc.affected} == communes
    assert d["states"] == {"core": State.UP, "dist": State.DOWN, **{c: State.UNREACHABLE for c in COMMUNES}}
    rows = topo.outages()
    assert [(r.object_type, r.object_id, r.kind) for r in rows] == [("device", DEV["dist"], "device_down")]
    row = rows[0]
    assert row.ended_at is not None
    started, ended = row.started_at.timestamp(), row.ended_at.timestamp()
    assert d["isolated_at"] - 0.5 <= started <= d["isolated_at"] + INTERVAL + 1
    assert d["restored_at"] - 0.5 <= ended <= d["recovered_at"] + 0.5
    assert row.duration_s == pytest.approx(ended - started, abs=0.01)
    assert row.duration_s >= d["restored_at"] - d["isolated_at"] - INTERVAL - 1
    # The row names the sites that were unreachable behind the district (what reports count as
    # "unreachable behind a parent").
    assert set(row.affected) == {BY_KEY[c].site_id for c in COMMUNES}


# --------------------------------------------------------------------------------------------- traps
def test_link_down_trap_opens_the_incident_within_two_seconds(topo: Rig) -> None:
    sources: list[tuple[Any, ...]] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.msg.startswith("trap ") and isinstance(record.args, tuple):
                sources.append(record.args)

    handler = Grab(level=logging.DEBUG)  # one line per trap is DEBUG: a trap storm must not flood the log
    svc_log = logging.getLogger("netmon.service")
    old_level = svc_log.level
    svc_log.setLevel(logging.DEBUG)
    svc_log.addHandler(handler)

    async def scenario() -> dict[str, Any]:
        # Polling every 60 s: only the trap can explain a detection within seconds. No linger: this test
        # times the trap-driven close (the linger that keeps a flap one incident is tested below).
        async with topo.service(router_interval_s=60.0, link_linger_s=0.0) as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first poll")
            key = link_key(link_id("c2"))
            topo.wan.uplink_down("c2")
            sent = topo.wan.send_link_trap("dist", "dist-c2", down=True)
            await wait_for(lambda: key in svc.monitor.incidents, 5, "the trap-driven incident")
            opened = next(o for o in topo.log if o.what == "opened" and o.incident.key == key)
            topo.wan.uplink_up("c2")
            sent_up = topo.wan.send_link_trap("dist", "dist-c2", down=False)
            await wait_for(lambda: key not in svc.monitor.incidents, 5, "the trap-driven recovery")
            closed = next(o for o in topo.log if o.what == "closed" and o.incident.key == key)
            return {"latency": opened.at - sent, "incident": opened.incident, "recovery": closed.at - sent_up,
                    "accepted": svc.traps.accepted, "unknown": svc.traps.dropped_unknown_source,
                    "bad": svc.traps.dropped_bad_credentials}

    try:
        r = topo.wan.run_in_noc(scenario)
    finally:
        svc_log.removeHandler(handler)
        svc_log.setLevel(old_level)
    print(f"\ntrap → incident {r['latency'] * 1000:.0f} ms, trap → closed {r['recovery'] * 1000:.0f} ms")
    assert r["latency"] < 2.0
    assert r["recovery"] < 2.0
    assert r["incident"].kind is IncidentKind.LINK_DOWN
    assert r["incident"].detected_by == "trap"
    assert r["incident"].evidence.startswith("ifOperStatus down on rt-cau-ngang dist-c2")
    assert r["accepted"] >= 2 and r["unknown"] == 0 and r["bad"] == 0
    # The receiver attributed the traps by their source: the district's management address.
    assert ("link_down", DEV["dist"], BY_KEY["dist"].mgmt) in sources
    rows = topo.outages()
    assert [(r.object_id, r.kind, r.detected_by) for r in rows] == [
        (link_id("c2"), "link_down", "trap")]


# ------------------------------------------------------------------------------------------ flapping
def test_link_flapping_ten_times_is_one_flapping_incident(topo: Rig) -> None:
    # held until stable for 3 polls: a flap is seen in samples (4 s polls, a few trap re-polls), and a shorter
    # hold than that would call a link stable whenever two samples in a row caught the same phase
    params = Params(failures_to_down=2, flap_changes=4, flap_window_s=60.0, flap_hold_s=3 * INTERVAL)
    key = link_key(link_id("c3"))

    async def scenario() -> dict[str, Any]:
        async with topo.service(params=params) as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first polls")
            started = time.monotonic()
            # 10 down/up cycles in ~30 s: well within a minute. 1.5 s each way: a 2 s period would be sampled in
            # the same phase by every 4 s poll, and traps only hint (a device's trap re-polls have a budget), so
            # no monitor could see those bounces; this rhythm every poll sees a different phase of.
            for _ in range(10):
                topo.wan.uplink_down("c3")
                await asyncio.sleep(1.5)
                topo.wan.uplink_up("c3")
                await asyncio.sleep(1.5)
            flapped_in = time.monotonic() - started
            stable_from = time.time()
            during = {"link": svc.monitor.health.links[link_id("c3")].state, "incidents": dict(svc.monitor.incidents),
                      "rows": topo.outages(), "flapped_in": flapped_in}
            await wait_for(lambda: not svc.monitor.incidents and all_up(svc),
                           max(params.flap_hold_s, svc.monitor.link_linger_s) + INTERVAL + 10,
                           "the link stable again after the hold time")
            during["closed_after"] = time.time() - stable_from
            return during

    d = topo.wan.run_in_noc(scenario)
    assert d["flapped_in"] < 60
    assert d["link"] is State.FLAPPING
    assert set(d["incidents"]) == {key}
    assert d["incidents"][key].kind is IncidentKind.LINK_FLAPPING
    rows = topo.outages()
    flapping = [r for r in rows if r.kind == "link_flapping"]
    assert len(flapping) == 1 and flapping[0].object_id == link_id("c3")
    assert flapping[0].ended_at is not None
    # One incident for the whole episode: it opened as a link-down, lingered through the bounces and
    # became the flapping incident — no second row, no device incident, nothing for the others.
    assert len(rows) == 1, rows
    # closed max(hold, linger) after its last change (a timer, not the next poll): bounded, whatever the interval
    assert d["closed_after"] <= max(params.flap_hold_s, 2 * INTERVAL) + 2, d["closed_after"]


# --------------------------------------------------------------------------------------------- restart
def _netmon(topo: Rig, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **topo.wan.env(), "NETMON_ROUTER_INTERVAL_S": str(INTERVAL), "NETMON_SLICES": "1",
           "NETMON_CONFIRM_AFTER_S": "1", "NETMON_ICMP": "true", "NETMON_ICMP_COUNT": "2", "NETMON_HEARTBEAT_S": "1"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [*topo.wan.exec_prefix("noc"), sys.executable, "-m", "netmon", "run", str(topo.inventory),
             "--database", topo.db_url, "--listen", "", "--traps", f"10.250.0.1:{topo.wan.trap_port}",
             "--duration", "120"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _until(predicate: Any, timeout_s: float, what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"netmon exited ({proc.returncode}) while waiting for {what}:\n"
                                 f"{log.read_text(errors='replace')[-3000:]}")
        if predicate():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}:\n{tail}")


def _runs(topo: Rig) -> list[Any]:
    from sqlalchemy import select

    from netmon.store import models as m
    from netmon.store.db import make_engine

    engine = make_engine(topo.db_url)
    try:
        with engine.connect() as conn:
            table = m.MonitorRun.__table__  # type: ignore[attr-defined]
            return list(conn.execute(select(table).order_by(table.c.id)))
    finally:
        engine.dispose()


def test_sigkill_during_an_outage_then_restart_keeps_one_outage_and_records_the_gap(topo: Rig) -> None:
    log = topo.tmp / "netmon.log"
    dist = DEV["dist"]
    procs: list[subprocess.Popen[bytes]] = []
    topo.engine().dispose()  # the schema exists before we look (netmon run would create it too)
    try:
        first = _netmon(topo, log)
        procs.append(first)
        _until(lambda: len(_runs(topo)) == 1, 30, "the first run to start", first, log)
        topo.wan.isolate("dist")
        _until(lambda: any(r.object_id == dist and r.ended_at is None for r in topo.outages()), INTERVAL + 20,
               "an open outage for the district", first, log)
        (row,) = topo.outages()
        os.kill(first.pid, signal.SIGKILL)  # `ip netns exec` execs python: this PID is netmon's
        first.wait(timeout=10)
        last_beat = _runs(topo)[0].heartbeat_at
        time.sleep(3)

        second = _netmon(topo, log)
        procs.append(second)
        _until(lambda: len(_runs(topo)) == 2, 30, "the second run to start", second, log)
        started = _runs(topo)[1].started_at
        # Its first sweep, confirmations and a couple of poll cycles: the outage must stay the same row.
        _until(lambda: (_runs(topo)[1].heartbeat_at - started).total_seconds() >= INTERVAL * 2 + 2, 30,
               "two poll intervals of the second run", second, log)
        rows = topo.outages()
        assert [(r.id, r.object_id, r.ended_at) for r in rows] == [(row.id, dist, None)], rows
        gaps = topo.events("monitoring_gap")
        assert len(gaps) == 1
        assert gaps[0].at == last_beat
        assert (started - last_beat).total_seconds() >= 3

        topo.wan.restore("dist")
        _until(lambda: topo.outages()[0].ended_at is not None, INTERVAL + 15, "the outage to close", second, log)
        rows = topo.outages()
        assert len(rows) == 1 and rows[0].id == row.id
        assert rows[0].duration_s == pytest.approx((rows[0].ended_at - rows[0].started_at).total_seconds(), abs=0.01)
        assert rows[0].ended_at > started  # closed by the second run, when the district answered again
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


# ----------------------------------------------------------------------------- snmpd killed, still routing
# Last in the module: the district's snmpd runs again afterwards, its DisMan link monitor (-r 1) in another
# phase. Run before the flapping test above (toggles every second, racing that monitor and the trap re-poll
# budget), it made that test see four link changes where it needs five, every time (3 of 3 runs).
def test_snmpd_killed_router_still_routing_is_one_blind_warning_and_no_outage(topo: Rig) -> None:
    """The district router's agent dies; the router routes on (its communes answer, it answers ping): no
    incident, nothing for the sites behind it, every router up — and netmon blind to the district router
    (netmon_device_blind, the DeviceBlind warning) after blind_after_s, until snmpd runs again."""
    from netmon.expose.metrics import MonitorCollector

    communes = {DEV[c] for c in COMMUNES}

    async def scenario() -> dict[str, Any]:
        async with topo.service(blind_after_s=2 * INTERVAL) as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first polls")
            topo.wan.stop_agent("dist")
            killed = time.monotonic()
            seen: set[str] = set()
            blind = lambda: svc.monitor.health.devices[DEV["dist"]].blind  # noqa: E731
            while not blind() and time.monotonic() - killed < 2 * INTERVAL + 15:
                seen |= set(svc.monitor.incidents)
                await asyncio.sleep(0.1)
            took = time.monotonic() - killed
            deadline = time.monotonic() + INTERVAL + 1  # one more full poll: nothing else may happen
            while time.monotonic() < deadline:
                seen |= set(svc.monitor.incidents)
                await asyncio.sleep(0.1)
            h = svc.monitor.health
            during = {"seen": seen, "states": states(svc), "took": took,
                      "blind": {d for d, x in h.devices.items() if x.blind},
                      "links": {ln: x.state for ln, x in h.links.items()},
                      "metrics": MonitorCollector(svc.monitor).render().decode()}
            topo.wan.start_agent("dist")
            await wait_for(lambda: not blind() and all_up(svc) and not svc.monitor.incidents, INTERVAL + 10,
                           "snmpd back: not blind any more")
            return during

    d = topo.wan.run_in_noc(scenario)
    print(f"\nsnmpd killed: blind after {d['took']:.1f} s (blind_after_s {2 * INTERVAL:.0f} s)")
    assert d["seen"] == set()  # no DeviceDown, no link incident, nothing for the communes
    assert d["states"] == dict.fromkeys(DEV, State.UP)
    assert d["blind"] == {DEV["dist"]}
    assert 2 * INTERVAL <= d["took"] <= 3 * INTERVAL + 10
    # the district's uplink and the communes' are still watched from the other ends
    assert set(d["links"].values()) == {State.UP}
    text = d["metrics"]
    assert f'netmon_device_blind{{device="{DEV["dist"]}",kind="router"}} 1.0' in text
    assert f'netmon_device_status{{device="{DEV["dist"]}",kind="router",state="up"}} 1.0' in text
    assert f'netmon_device_up{{device="{DEV["dist"]}",kind="router"}} 0.0' in text
    for commune in communes:
        assert f'netmon_device_blind{{device="{commune}",kind="router"}} 0.0' in text
    assert topo.outages() == []
