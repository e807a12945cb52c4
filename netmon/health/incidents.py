"""Incidents: one per root cause, derived from a :class:`~netmon.health.states.HealthState`.

A root cause is a ``down`` device whose parent is not down/unreachable, a ``down`` or
``flapping`` link whose upstream end is fine, or a ``down`` base station.  Everything
``unreachable`` behind a root is listed in that root's incident and never gets its own,
so a dead district router is one page naming 15 communes, not 16 pages.  Incidents are
re-derived from the state each time (no memory here); :func:`diff_incidents` turns two
successive derivations into opened/closed lists for the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from netmon.health.path import PATH_KEY, describe
from netmon.health.states import BLOCKED, DeviceHealth, HealthState, LinkHealth, State
from netmon.health.topology import LinkEnds, Node, Topology, bts_key, device_key, link_key


class IncidentKind(StrEnum):
    DEVICE_DOWN = "device_down"
    LINK_DOWN = "link_down"
    LINK_FLAPPING = "link_flapping"
    BTS_DOWN = "bts_down"
    MONITOR_CUT_OFF = "monitor_cut_off"
    """netmon's own path to the network is gone: everything is unknown, nothing else is raised."""


@dataclass(frozen=True, slots=True)
class AffectedSite:
    site_id: str
    name: str
    level: str
    device_id: str


@dataclass(frozen=True, slots=True)
class Incident:
    key: str
    """Stable id of the root object (``device:…`` / ``link:…`` / ``bts:…``): one incident per root."""
    kind: IncidentKind
    root: str
    """Id of the root device, link or base station."""
    site_id: str | None
    site_name: str | None
    district: str | None
    title: str
    """Vietnamese, for operators: ``Huyện Cầu Ngang: router huyện mất kết nối — 15 điểm cấp xã …``."""
    summary: str
    """English, for logs and non-Vietnamese readers."""
    affected: tuple[AffectedSite, ...]
    started_at: datetime
    evidence: str
    """What the judgement rests on, in words (``ICMP+SNMP failing; parent rt-core answers``)."""
    detected_by: str = "poll"
    """How it was found: ``poll`` (a scheduled or confirming poll), ``trap`` (a poll a trap asked for), ``icmp``,
    ``path`` (netmon's own path to the network)."""

    @property
    def affected_site_ids(self) -> tuple[str, ...]:
        return tuple(a.site_id for a in self.affected)


VI_LEVEL = {"commune": "cấp xã", "district": "cấp huyện", "province": "cấp tỉnh"}
LEVEL_ORDER = ("commune", "district", "province")
NOT_JUDGED = frozenset({State.UNREACHABLE, State.UNKNOWN})


def derive_incidents(
    topology: Topology, state: HealthState, maintenance: frozenset[str] = frozenset()
) -> dict[str, Incident]:
    """The open incidents, keyed by :attr:`Incident.key`.

    Objects in ``maintenance`` (object keys) or flagged ``in_maintenance`` by
    :func:`~netmon.health.states.evaluate` raise nothing.
    """
    out: dict[str, Incident] = {}
    if state.path.state is State.DOWN:  # netmon is cut off: it sees nothing, so it blames nothing
        return {PATH_KEY: _cut_off_incident(topology, state)}

    def quiet(key: str, record: DeviceHealth | LinkHealth) -> bool:
        return key in maintenance or record.in_maintenance

    for dev in topology.order:
        h = state.devices.get(dev)
        node = topology.nodes[dev]
        if h is None or h.state is not State.DOWN or quiet(device_key(dev), h):
            continue
        if node.parent is not None and _state(state, node.parent) in BLOCKED and h.behind is None:
            continue  # behind a failed parent: that parent's incident lists it
        out[device_key(dev)] = _device_incident(topology, state, node, h)
    for link_id, ends in topology.links.items():
        lh = state.links.get(link_id)
        if lh is None or lh.state not in (State.DOWN, State.FLAPPING) or quiet(link_key(link_id), lh):
            continue
        if lh.behind is None and any(_state(state, d) in BLOCKED for d in ends.ends_devices if d != ends.child):
            continue  # the far end failed: it is the root, the link only follows
        child = state.devices.get(ends.child) if ends.child is not None else None
        if child is not None and child.behind == link_key(link_id):
            continue  # the device behind it was down first: its outage explains the link
        out[link_key(link_id)] = _link_incident(topology, state, ends, lh)
    for bts_id, bts in topology.base_stations.items():
        bh = state.base_stations.get(bts_id)
        if bh is None or bh.state is not State.DOWN or quiet(bts_key(bts_id), bh):
            continue
        place = bts.district or topology.province
        out[bts_key(bts_id)] = Incident(
            key=bts_key(bts_id), kind=IncidentKind.BTS_DOWN, root=bts_id, site_id=None, site_name=None,
            district=bts.district,
            title=f"{place}: trạm BTS {bts_id} ({bts.operator}) tại {bts.commune or '?'} mất kết nối",
            summary=f"{place}: base station {bts_id} ({bts.operator}, {bts.commune or '?'}) down",
            affected=(), started_at=_started(bh, state), evidence=_probes(bh),
        )
    return out


def diff_incidents(
    old: Mapping[str, Incident], new: Mapping[str, Incident]
) -> tuple[list[Incident], list[Incident], list[Incident]]:
    """(opened, closed, still_open) between two derivations, each sorted by key.

    A key whose kind changed (a down link that starts flapping) closes the old incident
    and opens the new one, so the history says what happened; ``still_open`` holds the
    new versions (their affected lists may have grown).
    """
    opened = [new[k] for k in sorted(new) if k not in old or old[k].kind is not new[k].kind]
    closed = [old[k] for k in sorted(old) if k not in new or old[k].kind is not new[k].kind]
    still = [new[k] for k in sorted(new) if k in old and old[k].kind is new[k].kind]
    return opened, closed, still


# -------------------------------------------------------------------- helpers
def _state(state: HealthState, dev: str) -> State:
    h = state.devices.get(dev)
    return h.state if h is not None else State.UNKNOWN


def _affected(topology: Topology, state: HealthState, start: Iterable[str], link_root: bool = False,
              ) -> tuple[AffectedSite, ...]:
    """Devices from ``start`` down that are unreachable/unknown; an up or down device ends the walk
    (down ones are roots of their own, anything unreachable below an up one has another root), and so does
    an uplink whose outage began before the failure above it (``behind``: what is behind it is its own)."""
    out: list[AffectedSite] = []
    todo = list(start)
    mine = set(todo) if link_root else set()  # a link's own child is its incident's, behind or not
    while todo:
        dev = todo.pop(0)
        node = topology.nodes[dev]
        if _state(state, dev) not in NOT_JUDGED or (dev not in mine and _behind_own_uplink(state, node)):
            continue
        out.append(AffectedSite(node.site_id, node.site_name, node.level, dev))
        todo.extend(topology.children[dev])
    return tuple(out)


def _behind_own_uplink(state: HealthState, node: Node) -> bool:
    if node.uplink is None:
        return False
    lh = state.links.get(node.uplink.link_id)
    return lh is not None and lh.behind is not None and lh.state in (State.DOWN, State.FLAPPING)


def narrowed(incident: Incident, topology: Topology, state: HealthState) -> Incident:
    """``incident`` with only the sites still unreachable/unknown in ``state``: an incident held open after its
    object recovered (a link's linger) must not keep flagging sites that answer again."""
    still = tuple(a for a in incident.affected if a.device_id not in topology.nodes
                  or _state(state, a.device_id) in NOT_JUDGED)
    return incident if still == incident.affected else replace(incident, affected=still)


def _counts(affected: tuple[AffectedSite, ...]) -> tuple[str, str]:
    """("15 điểm cấp xã và 1 điểm cấp huyện", "16 sites (15 commune, 1 district)")."""
    levels = [lv for lv in LEVEL_ORDER if any(a.level == lv for a in affected)]
    levels += sorted({a.level for a in affected} - set(levels))
    parts = [(sum(a.level == lv for a in affected), lv) for lv in levels]
    vi = [f"{n} điểm {VI_LEVEL.get(lv, lv)}" for n, lv in parts]
    vi_text = vi[0] if len(vi) == 1 else ", ".join(vi[:-1]) + " và " + vi[-1]
    en = f"{len(affected)} site{'s' if len(affected) != 1 else ''} ({', '.join(f'{n} {lv}' for n, lv in parts)})"
    return vi_text, en


def _tail(affected: tuple[AffectedSite, ...]) -> tuple[str, str]:
    if not affected:
        return "", ""
    vi, en = _counts(affected)
    return f" — {vi} không truy cập được", f" — {en} unreachable"


def _place(topology: Topology, node: Node) -> str:
    return node.district if node.level != "province" and node.district else topology.province


def _started(h: DeviceHealth | LinkHealth, state: HealthState) -> datetime:
    at = (h.failing_since if isinstance(h, DeviceHealth) else None) or h.since or state.at
    if at is None:
        raise ValueError("a failed object without any time: set 'since'")
    return at


def _probes(h: DeviceHealth) -> str:
    used = "SNMP" if h.last_check is None or h.last_check.icmp_ok is None else "ICMP+SNMP"
    error = h.last_check.error if h.last_check is not None else None
    return f"{used} failing" + (f" ({error})" if error else "")


def _device_incident(topology: Topology, state: HealthState, node: Node, h: DeviceHealth) -> Incident:
    affected = _affected(topology, state, topology.children[node.id])
    place = _place(topology, node)
    if node.role == "core":
        vi_label, en_label = f"router lõi ({node.site_name})", f"core router {node.id} ({node.site_name})"
    elif node.role == "district" and node.district_type:
        vi_label = f"router {node.district_type}"
        en_label = f"district router {node.id} ({node.site_name})"
    else:
        vi_label, en_label = f"router {node.site_name}", f"router {node.id} ({node.site_name})"
    vi_tail, en_tail = _tail(affected)
    if h.behind is not None:
        parent = f"; down before {h.behind} failed, and behind it since"
    else:
        parent = f"; parent {node.parent} answers" if node.parent else "; no parent (root)"
    return Incident(
        key=device_key(node.id), kind=IncidentKind.DEVICE_DOWN, root=node.id, site_id=node.site_id,
        site_name=node.site_name, district=node.district,
        title=f"{place}: {vi_label} mất kết nối{vi_tail}", summary=f"{place}: {en_label} down{en_tail}",
        affected=affected, started_at=_started(h, state), evidence=_probes(h) + parent,
    )


def _cut_off_incident(topology: Topology, state: HealthState) -> Incident:
    path = state.path
    if path.since is None:
        raise ValueError("a cut-off path without any time: set 'since'")
    routers = len(topology.nodes)
    stations = sum(b.monitored for b in topology.base_stations.values())
    vi_what = f"{routers} router" + (f" và {stations} trạm BTS" if stations else "")
    en_what = f"{routers} router{'s' if routers != 1 else ''}" + (f" and {stations} base stations" if stations else "")
    return Incident(
        key=PATH_KEY, kind=IncidentKind.MONITOR_CUT_OFF, root="netmon", site_id=None, site_name=None,
        district=None,
        title=f"Mất giám sát: netmon mất đường kết nối tới mạng ({describe(path, vi=True)}) — "
              f"chưa rõ trạng thái {vi_what}",
        summary=f"monitoring cut off: netmon lost its own path to the network ({describe(path)}) — "
                f"{en_what} unknown, not down",
        affected=(), started_at=path.since, evidence=f"local path: {describe(path)}",
        detected_by="path",
    )


def _link_incident(topology: Topology, state: HealthState, ends: LinkEnds, lh: LinkHealth) -> Incident:
    child = topology.nodes.get(ends.child) if ends.child is not None else None
    anchor = child or topology.nodes.get(ends.a_device)
    affected = _affected(topology, state, (child.id,), link_root=True) if child is not None else ()
    place = _place(topology, anchor) if anchor is not None else topology.province
    what_vi = f"đường truyền {child.site_name}" if child is not None else f"đường truyền {ends.id}"
    what_en = f"link {ends.id}" + (f" ({child.site_name} uplink)" if child is not None else "")
    if child is not None and lh.state is State.DOWN and _state(state, child.id) in NOT_JUDGED:
        # the port is down and the router behind it is silent: a cut line and a dead router (power) look
        # the same from here — say so rather than assert one
        what_vi = f"đường truyền hoặc thiết bị {child.site_name}"
        what_en = f"link {ends.id} or the router behind it ({child.site_name})"
    circuit = ", ".join(x for x in (ends.circuit, ends.provider) if x)
    circuit_vi = f" (mạch {circuit})" if circuit else ""
    vi_tail, en_tail = _tail(affected)
    if lh.state is State.FLAPPING:
        kind, vi_verb, en_verb = IncidentKind.LINK_FLAPPING, "chập chờn", "flapping"
        detected = f"flap detector: {len(lh.changes)} ifOperStatus changes in the window"
    else:
        kind, vi_verb, en_verb = IncidentKind.LINK_DOWN, "mất kết nối", "down"
        detected = "ifOperStatus down on " + ", ".join(
            f"{d} {i}" for d, i in ends.ends if d in lh.reported_by
        )
    if lh.behind is not None:
        detected += f"; down before {lh.behind} failed, and behind it since"
    return Incident(
        key=link_key(ends.id), kind=kind, root=ends.id,
        site_id=anchor.site_id if anchor else None, site_name=anchor.site_name if anchor else None,
        district=anchor.district if anchor else None,
        title=f"{place}: {what_vi} {vi_verb}{circuit_vi}{vi_tail}",
        summary=f"{place}: {what_en} {en_verb}{f' ({circuit})' if circuit else ''}{en_tail}",
        affected=affected, started_at=_started(lh, state), evidence=detected,
    )
