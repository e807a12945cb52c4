"""``netmon simulate --part K/N``: N processes share the agents, every agent served exactly once; each part plays
every event on its whole world but shows (changes, traps, blackholes) only its own agents'."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon.inventory.load import load_inventory
from netmon.sim.agent import Agents
from netmon.sim.build import build_world
from netmon.sim.netns import Blackholes
from netmon.sim.run import Simulator, parse_part, part_ids
from netmon.sim.scenario import Action, Event
from netmon.sim.world import World

ROOT = Path(__file__).resolve().parents[3]
DISTRICT = "rt-ubnd-huyen-tieu-can"  # a district router with commune routers behind it


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(load_inventory(ROOT / "inventory"), time.time())


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_the_parts_serve_every_agent_exactly_once_and_evenly(world: World, n: int) -> None:
    parts = [part_ids(world.devices, (k, n)) for k in range(1, n + 1)]
    assert sum(len(p) for p in parts) == len(world.devices) == 1372  # no agent twice …
    assert set().union(*parts) == set(world.devices)  # … and none left out
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    if n > 1:  # routers and base stations in every part, not one kind per process
        assert all(any(world.devices[a].kind == "router" for a in p) for p in parts)
        assert all(any(world.devices[a].kind == "bts" for a in p) for p in parts)


def test_the_split_is_stable_whatever_the_order_of_the_ids(world: World) -> None:
    ids = list(world.devices)
    shuffled = random.Random(7).sample(ids, len(ids))
    for k in (1, 2, 3):
        assert part_ids(shuffled, (k, 3)) == part_ids(ids, (k, 3)) == part_ids(reversed(ids), (k, 3))
    assert part_ids(ids, (1, 1)) == set(ids)


@given(st.sets(st.text(min_size=1, max_size=8), max_size=60), st.integers(1, 9))
def test_any_ids_any_n_a_partition(ids: set[str], n: int) -> None:
    parts = [part_ids(ids, (k, n)) for k in range(1, n + 1)]
    assert sum(len(p) for p in parts) == len(ids) and set().union(*parts) == ids


@pytest.mark.parametrize(("text", "part"), [("1/1", (1, 1)), ("2/2", (2, 2)), ("3/7", (3, 7)), (" 1 / 2 ", (1, 2))])
def test_parse_part(text: str, part: tuple[int, int]) -> None:
    assert parse_part(text) == part


@pytest.mark.parametrize("text", ["", "1", "0/2", "3/2", "1/0", "-1/2", "a/b", "1/2/3", "1.0/2", "½"])
def test_parse_part_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_part(text)


def _part(world: World, served: set[str]) -> Simulator:
    return Simulator(world, Agents(world, {}), Blackholes(False), None, {}, b"public", part=(1, 2), served=served)


def test_an_event_changes_the_whole_world_but_shows_only_this_parts_agents(world: World) -> None:
    behind = {d.id for d in world.subtree(DISTRICT)} - {DISTRICT}
    served = {DISTRICT, *sorted(behind)[:1]}  # the district router and one of its communes; the rest elsewhere
    sim = _part(world, served)
    try:
        changes = sim.apply(Event(0.0, 0, Action.DEVICE_DOWN, DISTRICT))
        assert {c.device for c in changes} == served  # only this part's agents …
        assert all(not world.devices[d].reachable for d in behind)  # … but the world behind them went silent too
        assert sim.state()["unreachable"] == sorted(served) and sim.state()["devices"] == len(served)
        assert len(sim.log_lines) == 1
    finally:
        sim.apply(Event(0.0, 1, Action.DEVICE_UP, DISTRICT))
    assert all(world.devices[d].reachable for d in behind)


def test_an_event_of_another_part_is_silent_here_and_an_unknown_device_still_an_error(world: World) -> None:
    sim = _part(world, {DISTRICT})
    other = next(d for d in sorted(world.devices) if world.devices[d].kind == "bts")
    try:
        assert sim.apply(Event(0.0, 0, Action.DEVICE_DOWN, other)) == []
        assert not world.devices[other].reachable  # its own part's world says the same
        assert sim.log_lines == [] and sim.state()["unreachable"] == []
    finally:
        sim.apply(Event(0.0, 1, Action.DEVICE_UP, other))
    with pytest.raises(KeyError, match="unknown device 'rt-nope'"):
        sim.apply(Event(0.0, 2, Action.DEVICE_DOWN, "rt-nope"))
