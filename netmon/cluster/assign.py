"""Which poller polls which devices: subtrees of the uplink tree, balanced, and stable (pure: no I/O, no clock).

Why subtrees: "parent down → children unreachable, one incident" needs the parent's fresh success or failure
beside the child's. A poller therefore owns whole subtrees (a district router with its communes), and it
also *probes* the ancestors of what it owns up to the root — cheaply, without owning them: their incidents
belong to their own owner. The root router is a unit of its own.

Why stable: moving a device costs a handover (its state starts ``unknown`` at the new owner, its open
outage is adopted). So an assignment keeps every unit whose poller is alive; the units of a dead poller go
to the least loaded at once; and units move to balance load only while the most and least loaded pollers
differ by more than ``margin`` of the fair share — a poller that joins gets work only past that margin, and
two pollers never trade the same unit back and forth (hysteresis).

Load is polls per minute (a router every 60 s weighs 1, a base station every 300 s weighs 0.2), so the split
follows the work, not the device count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from netmon.health.topology import Topology

__all__ = ["Scope", "Unit", "assign", "homes", "loads", "units_of"]


@dataclass(frozen=True, slots=True)
class Unit:
    """What moves between pollers as one piece."""

    id: str
    devices: tuple[str, ...]
    """The routers of a subtree, or a group of base stations."""
    ancestors: tuple[str, ...] = ()
    """Routers above the subtree, nearest first: the owner probes them to judge its subtree."""
    weight: float = 0.0
    """Polls per minute the unit costs."""


def units_of(topology: Topology, router_interval_s: float = 60.0, bts_interval_s: float = 300.0) -> list[Unit]:
    """The units of a province: each root router alone, each subtree hanging from a root, and the base
    stations of each district (they have no parent in the tree: any grouping keeps them whole)."""
    per_router, per_bts = 60.0 / router_interval_s, 60.0 / bts_interval_s
    out: list[Unit] = []
    for root in (d for d in topology.order if topology.nodes[d].parent is None):
        out.append(Unit(f"device:{root}", (root,), (), per_router))
        for child in topology.children[root]:
            devices = (child, *topology.descendants(child))
            out.append(Unit(f"device:{child}", devices, (root,), per_router * len(devices)))
    by_district: dict[str, list[str]] = {}
    for bts in topology.base_stations.values():
        if bts.monitored:
            by_district.setdefault(bts.district or "-", []).append(bts.id)
    for district, stations in sorted(by_district.items()):
        out.append(Unit(f"bts:{district}", tuple(sorted(stations)), (), per_bts * len(stations)))
    return out


def loads(units: Iterable[Unit], assignment: Mapping[str, str], pollers: Iterable[str]) -> dict[str, float]:
    """Polls per minute each poller carries under ``assignment`` (unit id → poller)."""
    out = dict.fromkeys(pollers, 0.0)
    for unit in units:
        owner = assignment.get(unit.id)
        if owner in out:
            out[owner] += unit.weight
    return out


def assign(units: Sequence[Unit], pollers: Sequence[str], current: Mapping[str, str],
           margin: float = 0.2) -> dict[str, str]:
    """Unit id → poller for the live ``pollers``, starting from ``current`` (see the module's rules).

    Deterministic: the same inputs give the same answer whoever computes it.
    """
    if not pollers:
        return {}
    live = sorted(set(pollers))
    out = {u.id: current[u.id] for u in units if current.get(u.id) in live}
    load = loads(units, out, live)
    for unit in sorted((u for u in units if u.id not in out), key=lambda u: (-u.weight, u.id)):
        target = min(live, key=lambda p: (load[p], p))  # orphans: new, or their poller died
        out[unit.id] = target
        load[target] += unit.weight
    fair = sum(u.weight for u in units) / len(live)
    by_id = {u.id: u for u in units}
    for _ in range(len(units)):  # bounded: each move narrows the spread
        heavy = max(live, key=lambda p: (load[p], p))
        light = min(live, key=lambda p: (load[p], p))
        gap = load[heavy] - load[light]
        if gap <= margin * fair:
            break
        # the unit whose move narrows the spread the most without overshooting (smallest id on ties)
        candidates = [by_id[u] for u, p in out.items() if p == heavy and 0 < by_id[u].weight < gap]
        if not candidates:
            break
        best = min(candidates, key=lambda u: (abs(gap - 2 * u.weight), u.id))
        out[best.id] = light
        load[heavy] -= best.weight
        load[light] += best.weight
    return out


def homes(topology: Topology, units: Sequence[Unit], sites: Iterable[str] = ()) -> dict[str, str]:
    """Object key → the unit whose owner judges, writes, pages and exports it.

    Keys are the incident keys (``device:…``, ``link:…``, ``bts:…``) plus ``site:…`` (for the static site
    series). A device's home is its unit; a link's, its child end's (the owner of the child probes the parent
    too, so it sees both ends); a site's, its first device's in tree order; a base station without SNMP
    (in no unit), its district's unit. Whatever is left (a site with no router, a district with no
    monitored station) goes to the first root router's unit, so every object has exactly one home.
    """
    out: dict[str, str] = {}
    for unit in units:
        for device in unit.devices:
            prefix = "bts" if device in topology.base_stations else "device"
            out[f"{prefix}:{device}"] = unit.id
    roots = [u.id for u in units if u.id.startswith("device:") and not u.ancestors]
    fallback = roots[0] if roots else (units[0].id if units else "")
    for link_id, ends in topology.links.items():
        anchor = ends.child or ends.a_device
        out[f"link:{link_id}"] = out.get(f"device:{anchor}", fallback)
    for bts_id, bts in topology.base_stations.items():
        out.setdefault(f"bts:{bts_id}", f"bts:{bts.district or '-'}")
    known = {u.id for u in units}
    for key, home in list(out.items()):
        if home not in known:
            out[key] = fallback
    for dev in topology.order:
        site = topology.nodes[dev].site_id
        out.setdefault(f"site:{site}", out.get(f"device:{dev}", fallback))
    for site in sites:
        out.setdefault(f"site:{site}", fallback)
    return out


@dataclass(frozen=True, slots=True)
class Scope:
    """What one poller of a cluster is responsible for: the objects it judges, writes, pages and exports (by
    kind, ids), and the devices it polls (those plus the ancestors of its subtrees)."""

    units: frozenset[str] = frozenset()
    devices: frozenset[str] = frozenset()
    """Routers it owns."""
    stations: frozenset[str] = frozenset()
    """Base stations it owns."""
    links: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    probed: frozenset[str] = frozenset()
    """Routers and base stations it polls: what it owns plus the ancestors of its subtrees."""
    keys: frozenset[str] = field(default=frozenset(), repr=False)
    """Every object key it owns (``device:…``, ``link:…``, ``bts:…``, ``site:…``)."""

    @classmethod
    def of(cls, home: Mapping[str, str], units: Sequence[Unit], owned: Iterable[str]) -> Scope:
        mine = frozenset(owned)
        keys = frozenset(k for k, u in home.items() if u in mine)
        by_kind: dict[str, set[str]] = {"device": set(), "bts": set(), "link": set(), "site": set()}
        for key in keys:
            kind, _, ident = key.partition(":")
            by_kind[kind].add(ident)
        probed = frozenset(d for u in units if u.id in mine for d in (*u.devices, *u.ancestors))
        return cls(mine, frozenset(by_kind["device"]), frozenset(by_kind["bts"]), frozenset(by_kind["link"]),
                   frozenset(by_kind["site"]), probed, keys)

    def owns(self, key: str) -> bool:
        """An object key (an incident's) is this poller's to judge, write and page."""
        return key in self.keys
