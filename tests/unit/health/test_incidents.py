"""One incident per root cause: a dead district router is one page naming its communes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from netmon.health.incidents import Incident, IncidentKind, derive_incidents, diff_incidents
from netmon.health.states import Check, HealthState, evaluate
from netmon.health.topology import Topology, topology_from_inventory, topology_from_parents
from netmon.inventory.load import load_inventory

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
COMMUNES = [f"c{i:02}" for i in range(1, 16)]
NAMES = {"core": "Sở Thông tin và Truyền thông", "dist": "UBND Huyện Cầu Ngang"} | {
    c: f"UBND Xã Số {i}" for i, c in enumerate(COMMUNES, 1)
}
DISTRICT = topology_from_parents(
    {"core": None, "dist": "core"} | dict.fromkeys(COMMUNES, "dist"),
    names=NAMES, levels={"dist": "district"}, bts=["bts-vtl-0200"],
)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def poll(topo: Topology, at: float, *, dead: Iterable[str] = (), ports_down: Iterable[str] = ()) -> list[Check]:
    """One round of checks: ``dead`` devices time out; ``ports_down`` are (device) uplinks whose
    circuit is cut (both ends report it down; the child, cut off, times out)."""
    dead, cut = set(dead), set(ports_down)
    out = []
    for dev, node in topo.nodes.items():
        if dev in dead or dev in cut:
            out.append(Check(dev, t(at), snmp_ok=False, icmp_ok=False, error="timeout"))
            continue
        ports = {} if node.uplink is None else {node.uplink.interface: True}
        for child in topo.children[dev]:
            uplink = topo.nodes[child].uplink
            if uplink is not None:
                ports[uplink.parent_interface] = child not in cut
        out.append(Check(dev, t(at), snmp_ok=True, icmp_ok=True, if_oper=ports))
    out += [Check(b, t(at), snmp_ok=b not in dead, icmp_ok=None) for b in topo.base_stations]
    return out


def run(topo: Topology, rounds: Iterable[list[Check]]) -> tuple[HealthState, list[dict[str, Incident]]]:
    state = HealthState.initial(topo)
    history = []
    for checks in rounds:
        state = evaluate(topo, state, checks, max(c.at for c in checks)).state
        history.append(derive_incidents(topo, state))
    return state, history


def test_district_router_down_is_one_incident_naming_15_communes() -> None:
    behind = ["dist", *COMMUNES]
    state, history = run(DISTRICT, [poll(DISTRICT, 0), *(poll(DISTRICT, s, dead=behind) for s in (30, 60, 90))])
    assert history[0] == {} and history[1] == {}  # one failure is not an outage
    incidents = history[-1]
    assert list(incidents) == ["device:dist"]
    incident = incidents["device:dist"]
    assert incident.kind is IncidentKind.DEVICE_DOWN and incident.root == "dist"
    assert len(incident.affected) == 15 and set(incident.affected_site_ids) == {f"site-{c}" for c in COMMUNES}
    assert incident.title == "Huyện Cầu Ngang: router huyện mất kết nối — 15 điểm cấp xã không truy cập được"
    assert incident.summary.endswith("down — 15 sites (15 commune) unreachable")
    assert incident.started_at == t(30) and incident.district == "Huyện Cầu Ngang"
    assert "parent core answers" in incident.evidence and incident.detected_by == "poll"
    assert all(state.devices[c].state.value == "unreachable" for c in COMMUNES)


def test_sample_inventory_cau_ngang_outage() -> None:
    """The demo scenario on the real sample: the title operators will read."""
    topo = topology_from_inventory(load_inventory(Path(__file__).resolve().parents[3] / "inventory"))
    root = "rt-ubnd-huyen-cau-ngang"
    behind = [root, *topo.descendants(root)]
    _, history = run(topo, [poll(topo, 0), poll(topo, 30, dead=behind), poll(topo, 60, dead=behind)])
    assert list(history[-1]) == [f"device:{root}"]
    incident = history[-1][f"device:{root}"]
    assert incident.title == (
        "Huyện Cầu Ngang: router huyện mất kết nối — 15 điểm cấp xã và 1 điểm cấp huyện không truy cập được"
    )
    assert "Huyện ủy Cầu Ngang" in {a.name for a in incident.affected}
    assert incident.site_name == "UBND Huyện Cầu Ngang"


def test_communes_failing_on_their_own_under_a_dead_router_add_nothing() -> None:
    """Even when communes were already failing before the router died, the router is the one root."""
    rounds = [poll(DISTRICT, 0), poll(DISTRICT, 30, dead=COMMUNES)]
    rounds += [poll(DISTRICT, s, dead=["dist", *COMMUNES]) for s in (60, 90, 120)]
    _, history = run(DISTRICT, rounds)
    assert list(history[-1]) == ["device:dist"]
    assert len(history[-1]["device:dist"].affected) == 15


def test_commune_uplink_cut_is_one_link_incident() -> None:
    _, history = run(DISTRICT, [poll(DISTRICT, 0), poll(DISTRICT, 30, ports_down=["c07"])])
    assert list(history[-1]) == ["link:ln-c07"]  # at once: the port report is direct evidence
    incident = history[-1]["link:ln-c07"]
    assert incident.kind is IncidentKind.LINK_DOWN
    # the port is down and the commune's router is silent: a cut line or a dead router, from here alike
    assert incident.title == (
        "Huyện Cầu Ngang: đường truyền hoặc thiết bị UBND Xã Số 7 mất kết nối — 1 điểm cấp xã không truy cập được"
    )
    assert "or the router behind it" in incident.summary
    assert incident.affected_site_ids == ("site-c07",)
    assert incident.evidence == "ifOperStatus down on dist down-c07"


def test_flapping_link_is_one_incident_for_the_whole_episode() -> None:
    rounds = [poll(DISTRICT, 0)]
    rounds += [poll(DISTRICT, 20 * i, ports_down=["c03"] if i % 2 else []) for i in range(1, 21)]
    rounds += [poll(DISTRICT, 400 + 30 * i) for i in range(1, 12)]  # then stable
    _, history = run(DISTRICT, rounds)
    opened: list[Incident] = []
    previous: dict[str, Incident] = {}
    for incidents in history:
        assert len(incidents) <= 1
        new, _, _ = diff_incidents(previous, incidents)
        opened += new
        previous = incidents
    kinds = [i.kind for i in opened]
    assert kinds.count(IncidentKind.LINK_FLAPPING) == 1
    assert kinds.count(IncidentKind.LINK_DOWN) <= 3  # before the 5th change it is an ordinary outage
    flapping = next(i for i in opened if i.kind is IncidentKind.LINK_FLAPPING)
    assert "chập chờn" in flapping.title and flapping.key == "link:ln-c03"
    assert history[-1] == {}, "closed once stable for the hold time"


def test_base_station_down_has_its_own_incident() -> None:
    _, history = run(DISTRICT, [poll(DISTRICT, s, dead=["bts-vtl-0200"]) for s in (0, 30)])
    incident = history[-1]["bts:bts-vtl-0200"]
    assert incident.kind is IncidentKind.BTS_DOWN
    assert incident.title == "Huyện Cầu Ngang: trạm BTS bts-vtl-0200 (Viettel) tại Xã Hiệp Mỹ Tây mất kết nối"
    assert incident.evidence == "SNMP failing"


def test_diff_opens_keeps_and_closes() -> None:
    behind = ["dist", *COMMUNES]
    _, history = run(DISTRICT, [poll(DISTRICT, 0), poll(DISTRICT, 30, dead=behind), poll(DISTRICT, 60, dead=behind),
                                poll(DISTRICT, 90, dead=behind), poll(DISTRICT, 120)])
    opened, closed, still = diff_incidents(history[1], history[2])
    assert [i.key for i in opened] == ["device:dist"] and closed == [] and still == []
    opened, closed, still = diff_incidents(history[2], history[3])
    assert opened == [] and closed == [] and [i.key for i in still] == ["device:dist"]
    opened, closed, still = diff_incidents(history[3], history[4])
    assert opened == [] and [i.key for i in closed] == ["device:dist"] and still == []


def test_kind_change_closes_and_reopens() -> None:
    _, history = run(DISTRICT, [poll(DISTRICT, 0), poll(DISTRICT, 30, ports_down=["c01"])])
    down = history[-1]["link:ln-c01"]
    flapping = Incident(**{**{f: getattr(down, f) for f in down.__slots__}, "kind": IncidentKind.LINK_FLAPPING})
    opened, closed, still = diff_incidents({down.key: down}, {down.key: flapping})
    assert opened == [flapping] and closed == [down] and still == []


@pytest.mark.parametrize("quiet", [{"device:dist"}, {"device:dist", "link:ln-dist"}])
def test_nothing_is_raised_for_objects_in_maintenance(quiet: set[str]) -> None:
    behind = ["dist", *COMMUNES]
    state, _ = run(DISTRICT, [poll(DISTRICT, 0), poll(DISTRICT, 30, dead=behind), poll(DISTRICT, 60, dead=behind)])
    assert derive_incidents(DISTRICT, state, frozenset(quiet)) == {}
    assert set(derive_incidents(DISTRICT, state)) == {"device:dist"}
