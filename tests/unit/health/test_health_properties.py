"""Properties over random trees and random check sequences (hypothesis).

Whatever the network does: at most one incident per root cause, nothing unreachable has
its own incident, nothing in maintenance raises one, and no device is ``down`` behind a
failed parent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from netmon.health.incidents import IncidentKind, derive_incidents
from netmon.health.states import BLOCKED, Check, HealthState, Params, State, evaluate
from netmon.health.topology import Topology, bts_key, device_key, link_key, topology_from_parents

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STATUS = st.sampled_from(["absent", "ok", "ok", "ok", "fail", "fail", "snmp_only_down"])


@st.composite
def trees(draw: st.DrawFn) -> Topology:
    n = draw(st.integers(1, 10))
    parents: dict[str, str | None] = {"d0": None}
    for i in range(1, n):
        roots_allowed = draw(st.integers(0, 9)) == 0  # now and then a second tree
        parents[f"d{i}"] = None if roots_allowed else f"d{draw(st.integers(0, i - 1))}"
    return topology_from_parents(parents, bts=[f"b{i}" for i in range(draw(st.integers(0, 2)))])


def round_checks(
    data: st.DataObject, topo: Topology, at: datetime, only: frozenset[str] | None = None
) -> list[Check]:
    draw = data.draw
    out = []
    for dev in [*topo.nodes, *topo.base_stations]:
        if only is not None and dev not in only:
            continue
        status = draw(STATUS)
        if status == "absent":
            continue
        if status == "fail":
            out.append(Check(dev, at, snmp_ok=False, icmp_ok=draw(st.sampled_from([False, None]))))
        elif status == "snmp_only_down":
            out.append(Check(dev, at, snmp_ok=False, icmp_ok=True))
        else:
            node = topo.nodes.get(dev)
            ports = [] if node is None else [f"down-{c}" for c in topo.children[dev]]
            if node is not None and node.uplink is not None:
                ports.append(node.uplink.interface)
            if_oper = {p: draw(st.sampled_from([True, True, True, False])) for p in ports}
            out.append(Check(dev, at, snmp_ok=True, icmp_ok=True, if_oper=if_oper,
                             uptime_ticks=draw(st.integers(0, 2**32 - 1))))
    return out


def check_invariants(topo: Topology, state: HealthState, maintenance: frozenset[str], params: Params) -> None:
    incidents = derive_incidents(topo, state)
    claimed: set[str] = set()
    for key, incident in incidents.items():
        assert key == incident.key
        assert key not in maintenance, "an incident for an object in maintenance"
        assert state.state_of(key) in (State.DOWN, State.FLAPPING), f"{key} is {state.state_of(key)}"
        if incident.kind is IncidentKind.DEVICE_DOWN:
            parent = topo.nodes[incident.root].parent
            own_first = state.devices[incident.root].behind is not None  # down before its parent failed
            assert parent is None or state.devices[parent].state not in BLOCKED or own_first, "not a root cause"
        elif incident.kind in (IncidentKind.LINK_DOWN, IncidentKind.LINK_FLAPPING):
            ends = topo.links[incident.root]
            upstream = [d for d in (ends.a_device, ends.b_device) if d != ends.child]
            behind = state.links[incident.root].behind  # down before its far end failed
            assert all(state.devices[d].state not in BLOCKED for d in upstream) or (
                behind is not None and behind in {device_key(d) for d in upstream}), "not a root cause"
        affected = {a.device_id for a in incident.affected}
        assert not affected & claimed, "one failure listed under two incidents"
        claimed |= affected
        for dev in affected:
            assert state.devices[dev].state in (State.UNREACHABLE, State.UNKNOWN)
    for dev in claimed:
        assert device_key(dev) not in incidents, "an affected device has an incident of its own"
    for incident in incidents.values():
        event(f"incident {incident.kind.value}{' with affected' if incident.affected else ''}")
    for dev, node in topo.nodes.items():
        h = state.devices[dev]
        assert h.in_maintenance == (device_key(dev) in maintenance)
        if node.parent is not None and state.devices[node.parent].state in BLOCKED:
            if h.state is State.DOWN:  # only an outage of its own that began before the parent's
                parent = state.devices[node.parent]
                assert h.behind == device_key(node.parent), "judged down behind a failed parent"
                assert h.since is not None and parent.since is not None and h.since <= parent.since
            else:
                assert h.state in (State.UP, State.UNREACHABLE), "judged down behind a failed parent"
        if h.state is State.DOWN:
            assert h.consecutive_failures >= params.failures_to_down


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topo=trees(), data=st.data())
def test_one_incident_per_root_cause(topo: Topology, data: st.DataObject) -> None:
    params = Params(
        failures_to_down=data.draw(st.integers(1, 3)), flap_changes=data.draw(st.integers(1, 4)),
        flap_window_s=120, flap_hold_s=90, stale_after_s=data.draw(st.sampled_from([None, 200.0])),
    )
    keys = [device_key(d) for d in topo.nodes] + [link_key(ln) for ln in topo.links]
    keys += [bts_key(b) for b in topo.base_stations]
    state = HealthState.initial(topo)
    now = T0
    for _ in range(data.draw(st.integers(1, 14))):
        now += timedelta(seconds=data.draw(st.integers(5, 90)))
        maintenance = frozenset(data.draw(st.lists(st.sampled_from(keys), max_size=3)))
        ev = evaluate(topo, state, round_checks(data, topo, now), now, params, maintenance)
        state = ev.state
        check_invariants(topo, state, maintenance, params)
        for _ in range(3):  # the service's re-probe loop, answered at random
            if not ev.reprobe:
                break
            assert ev.reprobe <= set(topo.nodes) and ev.pending <= set(topo.nodes)
            now += timedelta(seconds=1)
            ev = evaluate(topo, state, round_checks(data, topo, now, ev.reprobe), now, params, maintenance)
            state = ev.state
            check_invariants(topo, state, maintenance, params)
