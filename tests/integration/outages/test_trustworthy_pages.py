"""The faults that made netmon page wrongly (issue #18), on the real WAN of network namespaces, netmon in-process.

* overlapping faults: a commune's outage that began before its district router died is not closed while it
  lasts — one outage row, ended when the commune is back (a cut line; and a dead router);
* a cut after churn: a district uplink that bounced, then stays cut, is a *down* link (critical), one incident;
* netmon cut off from the network (its own interface down, or no carrier): one ``netmon:path`` incident,
  every device unknown, the core not blamed, and nothing left behind when it is back;
* a reboot (snmpd restarted: sysUpTime from 0) is one event, counted; a router that died and comes back with a
  fresh uptime is part of its outage, not a reboot of its own.

Short intervals as in the other outage tests (router interval 4 s, one slice, confirm after 1 s), ICMP on. The
cut-off scenarios run by default (~20 s each); the others are ``slow`` (CI runs them with ``-m slow``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from netns_topology import ROUTERS, Rig, link_id, wait_for
from prometheus_client.parser import text_string_to_metric_families

from netmon.expose.metrics import MonitorCollector
from netmon.health.incidents import IncidentKind
from netmon.health.path import PATH_KEY
from netmon.health.states import Params, State
from netmon.health.topology import device_key, link_key
from netmon.service import Service

pytestmark = [pytest.mark.integration]

INTERVAL = 4.0
DEV = {r.key: r.device_id for r in ROUTERS}


def state(svc: Service, key: str) -> State:
    return svc.monitor.health.devices[DEV[key]].state


def all_up(svc: Service) -> bool:
    h = svc.monitor.health
    return all(d.state is State.UP for d in h.devices.values()) and all(
        ln.state is State.UP for ln in h.links.values())


def closes(topo: Rig, key: str) -> list[float]:
    return [o.at for o in topo.log if o.what == "closed" and o.incident.key == key]


def severities(svc: Service) -> dict[str, str]:
    text = MonitorCollector(svc.monitor).render().decode()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    return {s.labels["incident"]: s.labels["severity"] for s in fams["netmon_incident_open"].samples}


# ------------------------------------------------------------------------------------------- overlaps
@pytest.mark.slow  # ~35 s each
@pytest.mark.parametrize("how", ["line", "router"])
def test_a_commune_down_before_its_district_is_one_outage_never_closed_early(topo: Rig, how: str) -> None:
    """c3 fails (its line is cut / its router dies), 5 s later the district router dies; the district comes back
    first, then c3. c3's outage is one row, open all along, ended when c3 is back; the district's is its own."""
    key = link_key(link_id("c3")) if how == "line" else device_key(DEV["c3"])
    dist = device_key(DEV["dist"])

    async def scenario() -> dict[str, Any]:
        async with topo.service() as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first polls")
            if how == "line":
                topo.wan.uplink_down("c3")
            else:
                topo.wan.isolate("c3")
            await wait_for(lambda: key in svc.monitor.incidents, INTERVAL + 15, f"{key} open")
            await asyncio.sleep(5)
            topo.wan.isolate("dist")
            await wait_for(lambda: dist in svc.monitor.incidents, INTERVAL + 15, "the district's incident")
            await asyncio.sleep(INTERVAL + 1)  # a poll or two with both down
            during = {"incidents": dict(svc.monitor.incidents), "c3": state(svc, "c3"),
                      "link": svc.monitor.health.links[link_id("c3")].state}
            topo.wan.restore("dist")
            await wait_for(lambda: dist not in svc.monitor.incidents, INTERVAL + 15, "the district back")
            await asyncio.sleep(INTERVAL + 1)
            during["after_dist"] = dict(svc.monitor.incidents)
            back_at = time.time()
            if how == "line":
                topo.wan.uplink_up("c3")
            else:
                topo.wan.restore("c3")
            await wait_for(lambda: not svc.monitor.incidents and all_up(svc), 2 * INTERVAL + 15, "c3 back")
            during["back_at"] = back_at
            return during

    d = topo.wan.run_in_noc(scenario)
    assert set(d["incidents"]) == {key, dist}, d["incidents"]
    assert {a.device_id for a in d["incidents"][dist].affected} == {DEV["c1"], DEV["c2"]}, "c3 is its own outage's"
    if how == "line":
        assert d["link"] is State.DOWN and d["incidents"][key].kind is IncidentKind.LINK_DOWN
    else:
        assert d["c3"] is State.DOWN
    assert set(d["after_dist"]) == {key}
    assert len(closes(topo, key)) == 1 and closes(topo, key)[0] >= d["back_at"], "closed early"
    rows = topo.outages()
    assert sorted(r.object_id for r in rows) == sorted([key.partition(":")[2], DEV["dist"]]), rows
    (mine,) = [r for r in rows if r.object_id == key.partition(":")[2]]
    assert mine.ended_at is not None and mine.ended_at.timestamp() >= d["back_at"] - 1


# ------------------------------------------------------------------------------------ cut after churn
@pytest.mark.slow  # ~30 s
def test_a_district_uplink_cut_after_churn_is_one_critical_link_down(topo: Rig) -> None:
    params = Params(failures_to_down=2, flap_changes=4, flap_window_s=60.0, flap_hold_s=3 * INTERVAL,
                    flap_down_s=INTERVAL)
    key = link_key(link_id("dist"))

    async def scenario() -> dict[str, Any]:
        async with topo.service(params=params) as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first polls")
            for _ in range(2):  # churn: two bounces seen (4 changes), not yet flapping
                topo.wan.uplink_down("dist")
                await wait_for(lambda: svc.monitor.health.links[link_id("dist")].observed is State.DOWN,
                               INTERVAL + 5, "the bounce seen down")
                topo.wan.uplink_up("dist")
                await wait_for(lambda: svc.monitor.health.links[link_id("dist")].observed is State.UP,
                               INTERVAL + 5, "the bounce seen up")
            topo.wan.uplink_down("dist")  # then the cut, for good
            await asyncio.sleep(2 * INTERVAL + 2)
            during = {"link": svc.monitor.health.links[link_id("dist")].state, "incidents": dict(svc.monitor.incidents),
                      "severity": severities(svc), "states": {k: state(svc, k) for k in DEV}}
            topo.wan.uplink_up("dist")
            await wait_for(lambda: not svc.monitor.incidents and all_up(svc), 3 * INTERVAL + 15, "recovery")
            return during

    d = topo.wan.run_in_noc(scenario)
    assert d["link"] is State.DOWN
    assert set(d["incidents"]) == {key}
    inc = d["incidents"][key]
    assert inc.kind is IncidentKind.LINK_DOWN
    assert "đường truyền hoặc thiết bị UBND Huyện Cầu Ngang mất kết nối" in inc.title
    assert d["severity"] == {key: "critical"}
    assert d["states"]["dist"] is State.UNREACHABLE and d["states"]["core"] is State.UP
    rows = topo.outages()
    assert [(r.object_id, r.kind) for r in rows] == [(link_id("dist"), "link_down")], "one incident all along"


# -------------------------------------------------------------------------------------- netmon cut off
@pytest.mark.parametrize("how", ["interface", "carrier"])
def test_netmon_cut_off_is_one_incident_every_device_unknown_the_core_not_blamed(topo: Rig, how: str) -> None:
    async def scenario() -> dict[str, Any]:
        async with topo.service() as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first polls")
            cut_at = time.time()
            topo.wan.cut_monitor(how)
            took = await wait_for(lambda: PATH_KEY in svc.monitor.incidents, 2 * INTERVAL + 10, "the cut-off")
            seen: set[str] = set()
            deadline = time.monotonic() + 2 * INTERVAL + 1  # two more polls: nothing else may open
            while time.monotonic() < deadline:
                seen |= set(svc.monitor.incidents)
                await asyncio.sleep(0.1)
            h = svc.monitor.health
            during = {"took": took, "seen": seen, "path": h.path, "severity": severities(svc),
                      "states": {*(d.state for d in h.devices.values()), *(ln.state for ln in h.links.values())},
                      "incident": svc.monitor.incidents[PATH_KEY], "cut_at": cut_at}
            topo.wan.restore_monitor()
            await wait_for(lambda: not svc.monitor.incidents and all_up(svc), 2 * INTERVAL + 15, "back")
            return during

    d = topo.wan.run_in_noc(scenario)
    print(f"\nnetmon cut off ({how}): its incident after {d['took']:.1f} s")
    assert d["seen"] == {PATH_KEY}, "nothing but netmon's own incident: the core is not blamed"
    assert d["states"] == {State.UNKNOWN}
    assert d["path"].state is State.DOWN and d["path"].reason == ("no_route" if how == "interface" else "no_carrier")
    assert d["severity"] == {PATH_KEY: "critical"}
    inc = d["incident"]
    assert inc.kind is IncidentKind.MONITOR_CUT_OFF and inc.title.startswith("Mất giám sát: netmon mất đường kết nối")
    assert ("giao diện noc0 mất tín hiệu" if how == "carrier" else "không có tuyến tới 10.250.0.2") in inc.title
    # since the first look that found it broken: the next batch's, after its polls (≤ an interval + a timeout)
    assert d["cut_at"] - 1 <= inc.started_at.timestamp() <= d["cut_at"] + INTERVAL + 4
    rows = topo.outages()
    assert [(r.object_type, r.object_id, r.kind) for r in rows] == [("netmon", "path", "monitor_cut_off")]
    assert rows[0].ended_at is not None


# --------------------------------------------------------------------------------------------- reboots
@pytest.mark.slow  # ~80 s: the agents must have run past the reboot rule's slack first
def test_a_reboot_is_one_event_and_a_router_back_from_an_outage_is_not_a_reboot(topo: Rig) -> None:
    async def scenario() -> dict[str, Any]:
        async with topo.service() as svc:
            await wait_for(lambda: all_up(svc), 15, "everything up after the first polls")
            # sysUpTime must have run past the reboot rule's slack (60 s) for a restart to read as a reboot
            await wait_for(lambda: all(
                (obs.uptime_ticks or 0) > 6500 for obs in svc.monitor.observations.values()), 75,
                "agents up for over a minute")
            topo.wan.restart_agent("c1")
            await wait_for(lambda: svc.monitor.reboots[DEV["c1"]] == 1, INTERVAL + 10, "c1's reboot counted")
            incidents_after_reboot = dict(svc.monitor.incidents)
            topo.wan.isolate("c2")  # c2 dies, and comes back rebooted: its outage, not a reboot of its own
            await wait_for(lambda: device_key(DEV["c2"]) in svc.monitor.incidents, INTERVAL + 15, "c2 down")
            topo.wan.restart_agent("c2")
            topo.wan.restore("c2")
            await wait_for(lambda: not svc.monitor.incidents and all_up(svc), INTERVAL + 15, "c2 back")
            await asyncio.sleep(1)
            return {"reboots": dict(svc.monitor.reboots), "after_reboot": incidents_after_reboot}

    d = topo.wan.run_in_noc(scenario)
    assert d["after_reboot"] == {}, "a reboot is no outage"
    assert d["reboots"] == {DEV["c1"]: 1, **{DEV[k]: 0 for k in DEV if k != "c1"}}
    kinds = [(e.object_id, e.kind) for e in topo.events() if e.kind in ("reboot", "restarted_in_outage")]
    assert kinds == [(DEV["c1"], "reboot"), (DEV["c2"], "restarted_in_outage")]
    assert [(r.object_id, r.kind) for r in topo.outages()] == [(DEV["c2"], "device_down")]
