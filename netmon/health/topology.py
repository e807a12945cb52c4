"""The uplink tree the health logic walks: who is behind whom, over which link.

Built once from the inventory (:func:`topology_from_inventory`) and then read-only,
so :func:`netmon.health.states.evaluate` stays a pure function of its arguments.
Parents come before children in :attr:`Topology.order`: a child is judged only after
its parent, which is what turns "15 communes down" into "1 district router down".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netmon.inventory.load import Inventory


def device_key(device_id: str) -> str:
    """Object key of a router/switch: used in transitions, maintenance sets and incident keys."""
    return f"device:{device_id}"


def link_key(link_id: str) -> str:
    return f"link:{link_id}"


def bts_key(bts_id: str) -> str:
    return f"bts:{bts_id}"


@dataclass(frozen=True, slots=True)
class Uplink:
    """The link towards the parent device, seen from the child."""

    link_id: str
    interface: str
    """The child's own interface (the a-end in the sample)."""
    parent_interface: str
    """The parent's downlink interface (the b-end in the sample)."""


@dataclass(frozen=True, slots=True)
class Node:
    """One monitored device with the site facts incident titles need."""

    id: str
    parent: str | None
    uplink: Uplink | None
    site_id: str
    site_name: str
    level: str
    """``province`` / ``district`` / ``commune`` (the site's level)."""
    kind: str
    """``state`` / ``party`` (the site's kind)."""
    role: str
    """Device role: ``core`` / ``district`` / ``access`` / ``firewall`` / ``switch``."""
    district: str | None = None
    """District name with its type, e.g. ``Huyện Cầu Ngang``."""
    district_type: str | None = None
    """``huyện`` / ``thị xã`` / ``thành phố``."""


@dataclass(frozen=True, slots=True)
class LinkEnds:
    """A watched link: both ends as (device, interface)."""

    id: str
    a_device: str
    a_interface: str
    b_device: str
    b_interface: str
    circuit: str | None = None
    provider: str | None = None
    child: str | None = None
    """The device this link is the uplink of, if any (its far end is that device's parent)."""

    @property
    def ends(self) -> tuple[tuple[str, str], tuple[str, str]]:
        return (self.a_device, self.a_interface), (self.b_device, self.b_interface)

    @property
    def ends_devices(self) -> tuple[str, str]:
        return self.a_device, self.b_device


@dataclass(frozen=True, slots=True)
class BtsNode:
    """A mobile base station: monitored on its own, it has no parent in our tree."""

    id: str
    operator: str
    commune: str | None
    district: str | None
    monitored: bool = True
    """False when the inventory gives no management address (it will stay ``unknown``)."""


@dataclass(frozen=True)
class Topology:
    """Devices in parents-before-children order, with their links; base stations beside them."""

    nodes: Mapping[str, Node]
    links: Mapping[str, LinkEnds] = field(default_factory=dict)
    base_stations: Mapping[str, BtsNode] = field(default_factory=dict)
    province: str = ""
    children: Mapping[str, tuple[str, ...]] = field(init=False)
    order: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        for name in ("nodes", "links", "base_stations"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        kids: dict[str, list[str]] = {d: [] for d in self.nodes}
        for node in self.nodes.values():
            if node.parent is not None:
                if node.parent not in self.nodes:
                    raise ValueError(f"device {node.id!r}: parent {node.parent!r} is not in the topology")
                kids[node.parent].append(node.id)
        object.__setattr__(self, "children", MappingProxyType({k: tuple(v) for k, v in kids.items()}))
        object.__setattr__(self, "order", _parents_first(self.nodes, self.children))

    def descendants(self, device: str) -> tuple[str, ...]:
        """Every device behind ``device`` (not itself), nearest first."""
        out = list(self.children.get(device, ()))
        i = 0
        while i < len(out):
            out.extend(self.children[out[i]])
            i += 1
        return tuple(out)

    def ancestors(self, device: str) -> tuple[str, ...]:
        """The parent chain of ``device`` up to the root, nearest first."""
        out: list[str] = []
        parent = self.nodes[device].parent
        while parent is not None:
            out.append(parent)
            parent = self.nodes[parent].parent
        return tuple(out)

    def uplink_of(self, link_id: str) -> str | None:
        """The device whose uplink ``link_id`` is, if any."""
        return self.links[link_id].child if link_id in self.links else None

    def devices_at(self, site_id: str) -> tuple[str, ...]:
        return tuple(n.id for n in self.nodes.values() if n.site_id == site_id)

    def restricted(self, devices: Iterable[str], stations: Iterable[str] = (), links: Iterable[str] = (),
                   ) -> Topology:
        """The part of the tree one poller of a cluster judges, so that its work per batch follows what it owns,
        not the province: ``devices`` and their ancestors, the ends of ``links`` (and theirs), the links
        between the devices kept, and ``stations``. Order and facts are the whole tree's; ids it does not
        know are ignored."""
        keep: set[str] = set()
        for dev in (*devices, *(d for ln in links if ln in self.links for d in self.links[ln].ends_devices)):
            if dev in self.nodes and dev not in keep:
                keep.add(dev)
                keep.update(self.ancestors(dev))
        wanted = set(stations)
        return Topology(
            nodes={d: n for d, n in self.nodes.items() if d in keep},
            links={ln: e for ln, e in self.links.items()
                   if all(d in keep or d not in self.nodes for d in e.ends_devices)
                   and any(d in keep for d in e.ends_devices)},
            base_stations={b: n for b, n in self.base_stations.items() if b in wanted},
            province=self.province,
        )


def _parents_first(nodes: Mapping[str, Node], children: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Breadth-first from the roots, in inventory order; a parent cycle is an error."""
    order = [n for n, node in nodes.items() if node.parent is None]
    i = 0
    while i < len(order):
        order.extend(children[order[i]])
        i += 1
    if len(order) != len(nodes):
        stuck = sorted(set(nodes) - set(order))
        raise ValueError(f"parent cycle among devices: {', '.join(stuck[:5])}")
    return tuple(order)


# --------------------------------------------------------------------- builder
_ROLE_OF_LEVEL = {"province": "core", "district": "district", "commune": "access"}
_ROUTER_RANK = {"core": 0, "district": 1, "access": 2, "firewall": 3, "switch": 4}


def topology_from_inventory(inv: Inventory) -> Topology:
    """The device tree of ``inv``: a device's parent is the router of its site's uplink site.

    When a site has several devices, its *router* (core > district > access > firewall >
    switch, then file order) faces the uplink and the others hang off it.  A link that joins
    a device to a device of the uplink site names the parent exactly; a site whose uplink
    site has no device is attached to the nearest ancestor site that has one.
    """
    from netmon.inventory import schema as s

    province = inv.province
    districts = {d.code: d for d in province.districts}
    communes = {c.code: c for d in province.districts for c in d.communes}
    by_site: dict[str, list[s.Device]] = {}
    for dev in inv.devices.values():
        by_site.setdefault(dev.site, []).append(dev)
    router = {
        site: min(devs, key=lambda d: _ROUTER_RANK.get(d.role.value, 9)).id for site, devs in by_site.items()
    }

    def upstream_site(site_id: str) -> str | None:
        seen = {site_id}
        up = inv.sites[site_id].uplink
        while up is not None and up in inv.sites and up not in router:
            if up in seen:
                return None
            seen.add(up)
            up = inv.sites[up].uplink
        return up if up in router else None

    device_site = {d.id: d.site for d in inv.devices.values()}
    peers: dict[str, list[str]] = {}  # device -> devices it shares a link with, in file order
    for link in inv.links.values():
        peers.setdefault(link.a.device, []).append(link.b.device)
        peers.setdefault(link.b.device, []).append(link.a.device)
    nodes: dict[str, Node] = {}
    links: dict[str, LinkEnds] = {}
    uplinks: dict[str, Uplink] = {}
    parents: dict[str, str | None] = {}
    for dev in inv.devices.values():
        if dev.site not in inv.sites:
            raise ValueError(f"device {dev.id!r}: unknown site {dev.site!r}")
        if router[dev.site] != dev.id:
            parents[dev.id] = router[dev.site]
            continue
        up = upstream_site(dev.site)
        parents[dev.id] = router[up] if up is not None else None
        if up is None:
            continue
        # Prefer the device the uplink circuit really ends on.
        on_link = [p for p in peers.get(dev.id, ()) if device_site.get(p) == up]
        if on_link:
            parents[dev.id] = on_link[0]
    for link in inv.links.values():
        child = None
        for mine, theirs in ((link.a, link.b), (link.b, link.a)):
            if parents.get(mine.device) == theirs.device and mine.device not in uplinks:
                uplinks[mine.device] = Uplink(link.id, mine.interface, theirs.interface)
                child = mine.device
                break
        links[link.id] = LinkEnds(
            link.id, link.a.device, link.a.interface, link.b.device, link.b.interface,
            link.circuit, link.provider, child,
        )
    for dev in inv.devices.values():
        site = inv.sites[dev.site]
        district = districts.get(site.district) if site.district is not None else None
        nodes[dev.id] = Node(
            id=dev.id,
            parent=parents[dev.id],
            uplink=uplinks.get(dev.id),
            site_id=site.id,
            site_name=site.name,
            level=site.level.value,
            kind=site.kind.value,
            role=dev.role.value,
            district=district.name if district else None,
            district_type=district.type.value if district else None,
        )
    stations = {
        b.id: BtsNode(
            id=b.id,
            operator=b.operator.value,
            commune=communes[b.commune].name if b.commune in communes else None,
            district=districts[b.district].name if b.district in districts else None,
            monitored=b.mgmt is not None,
        )
        for b in inv.base_stations.values()
    }
    return Topology(nodes=nodes, links=links, base_stations=stations, province=province.name)


def topology_from_parents(
    parents: Mapping[str, str | None],
    *,
    names: Mapping[str, str] | None = None,
    levels: Mapping[str, str] | None = None,
    district: str = "Huyện Cầu Ngang",
    bts: Iterable[str] = (),
) -> Topology:
    """A hand-made topology for tests and what-if tools, without an inventory.

    Each device is its own site ``site-<device>`` with an uplink link ``ln-<device>`` from its
    ``up`` interface to the parent's ``down-<device>``.
    """
    names = names or {}
    levels = levels or {}
    nodes = {}
    links = {}
    for dev, parent in parents.items():
        uplink = None
        if parent is not None:
            uplink = Uplink(f"ln-{dev}", "up", f"down-{dev}")
            links[uplink.link_id] = LinkEnds(uplink.link_id, dev, "up", parent, f"down-{dev}", child=dev)
        level = levels.get(dev, "province" if parent is None else "commune")
        nodes[dev] = Node(
            id=dev, parent=parent, uplink=uplink, site_id=f"site-{dev}", site_name=names.get(dev, dev),
            level=level, kind="state", role=_ROLE_OF_LEVEL.get(level, "access"),
            district=None if level == "province" else district,
            district_type=None if level == "province" else "huyện",
        )
    stations = {b: BtsNode(b, "Viettel", "Xã Hiệp Mỹ Tây", district) for b in bts}
    return Topology(nodes=nodes, links=links, base_stations=stations, province="Tỉnh Trà Vinh")
