"""Assigning the province to pollers: whole subtrees, balanced within the margin, stable, deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netmon.cluster.assign import Unit, assign, loads, units_of
from netmon.health.topology import Topology, topology_from_inventory
from netmon.inventory.load import load_inventory

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def province() -> Topology:
    return topology_from_inventory(load_inventory(ROOT / "inventory"))


def test_units_cover_every_device_once_and_subtrees_stay_whole(province: Topology) -> None:
    units = units_of(province)
    routers = [d for u in units if u.id.startswith("device:") for d in u.devices]
    stations = [b for u in units if u.id.startswith("bts:") for b in u.devices]
    assert sorted(routers) == sorted(province.nodes)
    assert sorted(stations) == sorted(b for b, n in province.base_stations.items() if n.monitored)
    for unit in units:
        if unit.id.startswith("device:") and unit.ancestors:
            top = unit.devices[0]
            assert set(unit.devices) == {top, *province.descendants(top)}  # a whole subtree
            assert unit.ancestors == province.ancestors(top)  # probed up to the root
    assert sum(u.weight for u in units) == pytest.approx(len(province.nodes) + 0.2 * len(stations))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_every_unit_goes_to_a_live_poller_within_the_margin(province: Topology, n: int) -> None:
    units = units_of(province)
    pollers = [f"p{i}" for i in range(n)]
    out = assign(units, pollers, {})
    assert set(out) == {u.id for u in units} and set(out.values()) <= set(pollers)
    load = loads(units, out, pollers)
    fair = sum(load.values()) / n
    biggest = max(u.weight for u in units)
    assert max(load.values()) - min(load.values()) <= max(0.2 * fair, biggest)
    assert assign(units, pollers, out) == out  # stable: nothing moves when nothing changed


def test_a_dead_poller_loses_only_its_units_and_a_joining_one_gets_work_past_the_margin(province: Topology) -> None:
    units = units_of(province)
    three = assign(units, ["a", "b", "c"], {})
    two = assign(units, ["a", "b"], three)
    moved = {u for u in three if three[u] != two[u]}
    assert moved == {u for u, p in three.items() if p == "c"}  # nothing else moves
    back = assign(units, ["a", "b", "c"], two)
    assert set(back.values()) == {"a", "b", "c"}
    assert assign(units, ["a", "b", "c"], back) == back  # no ping-pong once balanced


def test_no_pollers_no_assignment() -> None:
    assert assign([Unit("device:x", ("x",), (), 1.0)], [], {}) == {}


@settings(max_examples=200, deadline=None)
@given(weights=st.lists(st.floats(0.2, 40), min_size=1, max_size=40), n=st.integers(1, 6),
       seed_owner=st.lists(st.integers(0, 8), max_size=40))
def test_property_complete_live_and_deterministic(weights: list[float], n: int, seed_owner: list[int]) -> None:
    units = [Unit(f"u{i}", (f"d{i}",), (), w) for i, w in enumerate(weights)]
    pollers = [f"p{i}" for i in range(n)]
    current = {f"u{i}": f"p{o}" for i, o in enumerate(seed_owner) if i < len(units)}  # some to dead pollers
    out = assign(units, pollers, current)
    assert set(out) == {u.id for u in units} and set(out.values()) <= set(pollers)
    assert out == assign(units, list(reversed(pollers)), current)  # the order pollers are listed in is moot
    kept = {u: p for u, p in current.items() if p in pollers}
    load = loads(units, out, pollers)
    if len(kept) == len(units):  # nothing orphaned: only balance moves, and only past the margin
        before = loads(units, kept, pollers)
        fair = sum(weights) / n
        if max(before.values()) - min(before.values()) <= 0.2 * fair:
            assert out == kept
    assert max(load.values()) - min(load.values()) <= max(0.2 * sum(weights) / n, max(weights)) + 1e-9
