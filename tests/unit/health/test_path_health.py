"""netmon's own path: one broken look is not enough, two are a cut-off — everything unknown, one incident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from netmon.health.incidents import IncidentKind, derive_incidents
from netmon.health.path import PATH_KEY, describe, evaluate_on_path, judge_path
from netmon.health.states import Check, HealthState, Params, PathHealth, State, evaluate
from netmon.health.topology import topology_from_parents

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
TOPO = topology_from_parents({"core": None, "dist": "core", "c1": "dist"}, bts=["bts-1"])


def t(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


@dataclass(frozen=True)
class Look:
    ok: bool
    reason: str = ""
    interface: str | None = "eth0"
    target: str | None = "10.0.0.1"


BROKEN = Look(False, "no_carrier")


def ok(dev: str, at: float) -> Check:
    node = TOPO.nodes.get(dev)
    ports = [node.uplink.interface] if node and node.uplink else []
    ports += [f"down-{c}" for c in TOPO.children.get(dev, ())]
    return Check(dev, t(at), snmp_ok=True, icmp_ok=True, if_oper=dict.fromkeys(ports, True), uptime_ticks=100)


def fail(dev: str, at: float) -> Check:
    return Check(dev, t(at), snmp_ok=False, icmp_ok=False, error="send failed: Network is unreachable")


def test_judge_path_up_at_once_down_after_n_broken_looks() -> None:
    up = judge_path(PathHealth(), Look(True), t(0), 2)
    assert (up.state, up.since, up.interface) == (State.UP, t(0), "eth0")
    once = judge_path(up, BROKEN, t(10), 2)
    assert (once.state, once.failures, once.failing_since) == (State.UP, 1, t(10))
    cut = judge_path(once, BROKEN, t(15), 2)
    assert (cut.state, cut.since, cut.reason) == (State.DOWN, t(10), "no_carrier"), "cut off since first seen broken"
    assert judge_path(cut, BROKEN, t(20), 2).since == t(10)
    back = judge_path(cut, Look(True), t(30), 2)
    assert (back.state, back.since, back.failures, back.failing_since) == (State.UP, t(30), 0, None)


def test_describe_in_both_languages() -> None:
    assert describe(PathHealth(State.DOWN, reason="no_route", target="10.0.0.1")) == "no route to 10.0.0.1"
    assert describe(PathHealth(State.DOWN, reason="interface_down", interface="noc0"), vi=True) == \
        "giao diện noc0 bị tắt"


def test_cut_off_everything_unknown_one_incident_the_root_not_blamed() -> None:
    params = Params()
    state = evaluate(TOPO, HealthState.initial(TOPO), [ok(d, 0) for d in ("core", "dist", "c1", "bts-1")], t(0)).state
    state = evaluate_on_path(TOPO, state, [], t(1), params, look=Look(True)).state
    everything = ("core", "dist", "c1", "bts-1")
    ev = evaluate_on_path(TOPO, state, [fail(d, 30) for d in everything], t(30), params, look=BROKEN)
    assert ev.transitions == () and ev.state.devices["core"].state is State.UP, "one broken look: checks left out"
    assert ev.state.devices["core"].consecutive_failures == 0
    ev = evaluate_on_path(TOPO, ev.state, [fail(d, 35) for d in everything], t(35), params, look=BROKEN)
    s = ev.state
    assert s.path.state is State.DOWN
    assert {h.state for h in (*s.devices.values(), *s.base_stations.values(), *s.links.values())} == {State.UNKNOWN}
    assert (PATH_KEY, State.UP, State.DOWN, t(30)) in ev.transitions
    assert ("device:core", State.UP, State.UNKNOWN, t(30)) in ev.transitions
    incidents = derive_incidents(TOPO, s)
    assert list(incidents) == [PATH_KEY]
    inc = incidents[PATH_KEY]
    assert inc.kind is IncidentKind.MONITOR_CUT_OFF and inc.started_at == t(30) and inc.detected_by == "path"
    assert inc.title == ("Mất giám sát: netmon mất đường kết nối tới mạng (giao diện eth0 mất tín hiệu) — "
                         "chưa rõ trạng thái 3 router và 1 trạm BTS")
    # back: judged afresh from the next checks (one success: up), nothing older counts
    ev = evaluate_on_path(TOPO, s, [ok("core", 60), fail("dist", 60)], t(60), params, look=Look(True))
    assert ev.state.path.state is State.UP and derive_incidents(TOPO, ev.state) == {}
    assert ev.state.devices["core"].state is State.UP
    assert ev.state.devices["dist"].state is State.UNKNOWN, "one failure after the cut: not down"
    assert ev.state.devices["c1"].state is State.UNKNOWN and ev.state.devices["c1"].last_check is None


def test_no_look_keeps_the_path_as_it_is() -> None:
    state = HealthState.initial(TOPO)
    ev = evaluate_on_path(TOPO, state, [ok("core", 0)], t(0), Params(), look=None)
    assert ev.state.path == PathHealth() and ev.state.devices["core"].state is State.UP
