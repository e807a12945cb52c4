"""The device tree built from the inventory's uplinks (sample inventory and the mini fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netmon.health.topology import Topology, Uplink, topology_from_inventory, topology_from_parents
from netmon.inventory.load import load_inventory

SAMPLE = Path(__file__).resolve().parents[3] / "inventory"
CORE = "rt-so-thong-tin-truyen-thong"
CAU_NGANG = "rt-ubnd-huyen-cau-ngang"


@pytest.fixture(scope="module")
def sample() -> Topology:
    return topology_from_inventory(load_inventory(SAMPLE))


def test_sample_tree_has_every_device_and_one_root(sample: Topology) -> None:
    assert len(sample.nodes) == 150
    assert [d for d, n in sample.nodes.items() if n.parent is None] == [CORE]
    assert sample.order[0] == CORE
    assert set(sample.descendants(CORE)) == set(sample.nodes) - {CORE}
    assert sample.ancestors("rt-ubnd-xa-my-cam-29269") == ("rt-ubnd-huyen-cang-long", CORE)


def test_each_commune_hangs_off_its_district_router(sample: Topology) -> None:
    inv = load_inventory(SAMPLE)
    communes = [n for n in sample.nodes.values() if n.level == "commune"]
    assert len(communes) == 106
    for node in communes:
        uplink_site = inv.sites[node.site_id].uplink
        assert uplink_site is not None
        parent = sample.nodes[node.parent or ""]
        assert parent.site_id == uplink_site and parent.role == "district" and parent.level == "district"
        assert node.district == parent.district


def test_order_puts_parents_before_children(sample: Topology) -> None:
    position = {d: i for i, d in enumerate(sample.order)}
    assert sorted(position) == sorted(sample.nodes)
    for dev, node in sample.nodes.items():
        if node.parent is not None:
            assert position[node.parent] < position[dev]


def test_uplinks_name_link_and_both_interfaces(sample: Topology) -> None:
    node = sample.nodes["rt-ubnd-xa-my-cam-29269"]
    assert node.uplink == Uplink("ln-ubnd-xa-my-cam-29269", "ether1", "ge-0/0/1.102")
    assert node.site_name == "UBND Xã Mỹ Cẩm" and node.district == "Huyện Càng Long"
    assert all(n.uplink is not None for n in sample.nodes.values() if n.parent is not None)
    assert {ln.child for ln in sample.links.values()} == set(sample.nodes) - {CORE}


def test_cau_ngang_has_15_communes_and_its_party_committee_behind_it(sample: Topology) -> None:
    behind = [sample.nodes[d] for d in sample.descendants(CAU_NGANG)]
    assert len(behind) == 16
    assert sum(n.level == "commune" for n in behind) == 15
    assert {n.site_name for n in behind if n.level == "district"} == {"Huyện ủy Cầu Ngang"}
    assert sample.nodes[CAU_NGANG].district == "Huyện Cầu Ngang"
    assert sample.nodes[CAU_NGANG].district_type == "huyện"


def test_base_stations_have_no_parent_but_a_place(sample: Topology) -> None:
    assert len(sample.base_stations) == 1222
    bts = sample.base_stations["bts-vtl-0001"]
    assert (bts.operator, bts.commune, bts.district) == ("Viettel", "Phường 4", "Thành phố Trà Vinh")
    assert not set(sample.base_stations) & set(sample.nodes)


def test_topology_is_read_only(sample: Topology) -> None:
    with pytest.raises(AttributeError):
        sample.order = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        sample.nodes["x"] = sample.nodes[CORE]  # type: ignore[index]


def test_mini_link_orientation_and_extra_device_at_a_site(mini: Path) -> None:
    """The mini fixture writes its link parent-first (a = core): the builder must not care.
    A second device at a site hangs off that site's router, not off the uplink site."""
    devices = mini / "devices.yaml"
    switch = (
        "  - {id: sw-cau-ngang, site: ubnd-cau-ngang, mgmt: 127.10.1.9, role: switch,"
        " platform: cisco_ios, snmp_profile: v2-default}\n"
    )
    devices.write_text(devices.read_text().replace("\nlinks:", switch + "\nlinks:", 1))
    topo = topology_from_inventory(load_inventory(mini))
    assert topo.nodes["rt-cau-ngang"].parent == "rt-core"
    assert topo.nodes["rt-cau-ngang"].uplink == Uplink("core-cau-ngang", "GigabitEthernet0/0", "GigabitEthernet0/0/1")
    assert topo.nodes["sw-cau-ngang"].parent == "rt-cau-ngang"
    assert topo.nodes["rt-tt-cau-ngang"].parent == "rt-cau-ngang"
    assert topo.nodes["rt-huyen-uy-tieu-can"].parent == "rt-core"
    assert topo.nodes["rt-huyen-uy-tieu-can"].uplink is None  # no link in the inventory: no link to watch
    assert set(topo.descendants("rt-cau-ngang")) == {"sw-cau-ngang", "rt-tt-cau-ngang", "rt-my-long-bac"}


def test_hand_made_topologies_reject_cycles_and_unknown_parents() -> None:
    with pytest.raises(ValueError, match="cycle"):
        topology_from_parents({"a": "b", "b": "a"})
    with pytest.raises(ValueError, match="not in the topology"):
        topology_from_parents({"a": "ghost"})
    topo = topology_from_parents({"core": None, "d": "core", "c": "d"})
    assert topo.order == ("core", "d", "c") and topo.descendants("core") == ("d", "c")


def test_restricted_keeps_a_subtree_its_ancestors_and_the_links_between_them(sample: Topology) -> None:
    """One poller of a cluster judges its share: what it owns plus the ancestors it probes, in the tree's order,
    with the whole tree's facts; the root's downlinks to other subtrees are not its business."""
    district = next(d for d, n in sample.nodes.items() if n.role == "district" and sample.children[d])
    subtree = (district, *sample.descendants(district))
    station = next(iter(sample.base_stations))
    part = sample.restricted(subtree, [station, "no-such-station"], ["no-such-link"])
    root = sample.ancestors(district)[-1]
    assert set(part.nodes) == {*subtree, *sample.ancestors(district)}
    assert part.order == tuple(d for d in sample.order if d in part.nodes)
    assert part.nodes[district] is sample.nodes[district] and part.province == sample.province
    assert set(part.base_stations) == {station}
    assert set(part.links) == {ln for ln, e in sample.links.items() if set(e.ends_devices) <= set(part.nodes)}
    assert all(e.child in part.nodes for e in part.links.values() if e.child)
    assert len(part.children[root]) == 1 < len(sample.children[root])


def test_restricted_to_a_link_keeps_both_its_ends() -> None:
    """A link a poller owns is judged from both ends, even one it does not poll (it is then unknown there)."""
    topo = topology_from_parents({"core": None, "d1": "core", "c1": "d1", "d2": "core"})
    part = topo.restricted([], links=["ln-c1"])
    assert set(part.nodes) == {"core", "d1", "c1"} and set(part.links) == {"ln-c1", "ln-d1"}
    assert topo.restricted([]).nodes == {}
