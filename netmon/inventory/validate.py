"""Checks that span records and files: references, duplicates, cycles, geography.

Pure functions over a loaded :class:`~netmon.inventory.load.Inventory`; each
problem points at the field that holds the bad value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from netmon.inventory.problems import Problem

if TYPE_CHECKING:
    from netmon.inventory.model import Inventory, Origin
    from netmon.inventory.schema import Address


def cross_check(inv: Inventory) -> list[Problem]:
    return [
        *_units(inv),
        *_sites(inv),
        *_devices(inv),
        *_links(inv),
        *_base_stations(inv),
        *_maintenance(inv),
        *_addresses(inv),
        *_cycles(inv),
    ]


def _at(origin: Origin, fields: tuple[int | str, ...], message: str) -> Problem:
    file, line, col = origin.at(*fields)
    return Problem(file, line, col, origin.field(*fields), message)


def _units(inv: Inventory) -> Iterator[Problem]:
    origin = inv.origins[("province", inv.province.code)]
    seen: dict[str, tuple[int | str, ...]] = {}
    for di, district in enumerate(inv.province.districts):
        units: list[tuple[tuple[int | str, ...], str]] = [(("districts", di), district.code)]
        units += [(("districts", di, "communes", ci), c.code) for ci, c in enumerate(district.communes)]
        for loc, code in units:
            if code in seen:
                first = origin.at(*seen[code])
                yield _at(origin, (*loc, "code"), f"duplicate unit code {code!r} (first at line {first[1]})")
            else:
                seen[code] = loc
        box = inv.province.bbox
        for loc, unit in [(("districts", di), district)] + [
            (("districts", di, "communes", ci), c) for ci, c in enumerate(district.communes)
        ]:
            if unit.lat is not None and unit.lon is not None and not box.contains(unit.lat, unit.lon):
                yield _at(origin, (*loc, "lat"), _outside(unit.lat, unit.lon, inv))


def _outside(lat: float, lon: float, inv: Inventory) -> str:
    b = inv.province.bbox
    hint = " (lat and lon swapped?)" if b.contains(lon, lat) else ""
    return (
        f"({lat}, {lon}) is outside {inv.province.name} "
        f"(lat {b.min_lat}..{b.max_lat}, lon {b.min_lon}..{b.max_lon}){hint}"
    )


def _unit_refs(
    inv: Inventory, origin: Origin, district: str | None, commune: str | None
) -> Iterator[Problem]:
    districts = inv.districts
    if district is not None and district not in districts:
        yield _at(origin, ("district",), f"unknown district code {district!r}")
        return
    if commune is None:
        return
    found = inv.communes.get(commune)
    if found is None:
        yield _at(origin, ("commune",), f"unknown commune code {commune!r}")
    elif district is not None and found[0].code != district:
        yield _at(
            origin,
            ("commune",),
            f"commune {commune} ({found[1].name}) is in {found[0].name} ({found[0].code}), "
            f"not in district {district} ({districts[district].name})",
        )


def _sites(inv: Inventory) -> Iterator[Problem]:
    for sid, site in inv.sites.items():
        origin = inv.origins[("sites", sid)]
        yield from _unit_refs(inv, origin, site.district, site.commune)
        if site.uplink is not None:
            if site.uplink == sid:
                yield _at(origin, ("uplink",), "a site cannot be its own uplink")
            elif not inv.known("sites", site.uplink):
                message = f"unknown site {site.uplink!r}" + _suggest(site.uplink, inv.sites)
                yield _at(origin, ("uplink",), message)
        if not inv.province.bbox.contains(site.lat, site.lon):
            yield _at(origin, ("lat",), _outside(site.lat, site.lon, inv))


def _suggest(word: str, choices: object) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.8)  # type: ignore[call-overload]
    return f"; did you mean {close[0]!r}?" if close else ""


def _devices(inv: Inventory) -> Iterator[Problem]:
    for did, dev in inv.devices.items():
        origin = inv.origins[("devices", did)]
        if not inv.known("sites", dev.site):
            yield _at(origin, ("site",), f"unknown site {dev.site!r}" + _suggest(dev.site, inv.sites))
        if not inv.known("snmp_profiles", dev.snmp_profile):
            yield _at(origin, ("snmp_profile",), f"unknown SNMP profile {dev.snmp_profile!r}")
        if dev.ssh_profile is not None and not inv.known("ssh_profiles", dev.ssh_profile):
            yield _at(origin, ("ssh_profile",), f"unknown SSH profile {dev.ssh_profile!r}")


def _links(inv: Inventory) -> Iterator[Problem]:
    for lid, link in inv.links.items():
        origin = inv.origins[("links", lid)]
        for end in ("a", "b"):
            device = getattr(link, end).device
            if not inv.known("devices", device):
                message = f"unknown device {device!r}" + _suggest(device, inv.devices)
                yield _at(origin, (end, "device"), message)
        if link.a == link.b:
            yield _at(origin, ("b",), "both ends are the same interface")


def _base_stations(inv: Inventory) -> Iterator[Problem]:
    for bid, bts in inv.base_stations.items():
        origin = inv.origins[("base_stations", bid)]
        yield from _unit_refs(inv, origin, bts.district, bts.commune)
        if bts.snmp_profile is not None and not inv.known("snmp_profiles", bts.snmp_profile):
            yield _at(origin, ("snmp_profile",), f"unknown SNMP profile {bts.snmp_profile!r}")
        if not inv.province.bbox.contains(bts.lat, bts.lon):
            yield _at(origin, ("lat",), _outside(bts.lat, bts.lon, inv))


def _maintenance(inv: Inventory) -> Iterator[Problem]:
    for mid, window in inv.maintenance.items():
        origin = inv.origins[("maintenance", mid)]
        for field_name in ("sites", "devices", "base_stations"):
            for i, ref in enumerate(getattr(window, field_name)):
                if not inv.known(field_name, ref):
                    kind = field_name.removesuffix("s").replace("_", " ")
                    yield _at(origin, (field_name, i), f"unknown {kind} {ref!r}")


def _addresses(inv: Inventory) -> Iterator[Problem]:
    """Two agents on one address:port would answer for each other; always a typo."""
    seen: dict[tuple[str, int], tuple[str, str]] = {}
    owners: list[tuple[str, str, Address, str | None]] = [
        ("devices", k, d.mgmt, d.snmp_profile) for k, d in inv.devices.items()
    ]
    owners += [("base_stations", k, b.mgmt, b.snmp_profile) for k, b in inv.base_stations.items() if b.mgmt]
    for section, key, mgmt, profile_name in owners:
        profile = inv.snmp_profiles.get(profile_name or "")
        endpoint = mgmt.endpoint(profile.port if profile else 161)
        if endpoint in seen:
            other_section, other = seen[endpoint]
            ofile, oline, _ = inv.origins[(other_section, other)].at("mgmt")
            yield _at(
                inv.origins[(section, key)],
                ("mgmt",),
                f"management address {mgmt} is also used by {other!r} ({ofile}:{oline})",
            )
        else:
            seen[endpoint] = (section, key)


def _cycles(inv: Inventory) -> Iterator[Problem]:
    """Report each uplink cycle once, at its first site in file order."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in inv.sites:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in inv.sites and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = inv.sites[node].uplink
        if node is not None and state.get(node) == 1 and node != inv.sites[node].uplink:
            cycle = path[path.index(node):]
            first = min(cycle, key=lambda sid: list(inv.sites).index(sid))
            yield _at(
                inv.origins[("sites", first)],
                ("uplink",),
                "uplink cycle: " + " → ".join([*cycle, node]) + " (no site in it reaches the core)",
            )
        for sid in path:
            state[sid] = 2


# ------------------------------------------------------------------------------ advice (warnings)
def advice(inv: Inventory, environ: Mapping[str, str]) -> list[Problem]:
    """What is valid but will not work as meant — ``netmon validate`` prints these as warnings (exit 0):
    ``env:`` secrets whose variable is not set here, and link monitoring that cannot happen (only ``links:``
    drives it: LinkDown, LinkFlapping and utilisation come from the links; a device's ``interfaces:`` list
    feeds bandwidth and traffic metrics only)."""
    return sorted([*unset_secrets(inv, environ, in_use_only=False), *_link_advice(inv)])


def _link_advice(inv: Inventory) -> Iterator[Problem]:
    if not inv.links and inv.devices:
        first = next(iter(inv.devices))
        file, line, col = inv.origins[("devices", first)].at()
        yield Problem(file, line, col, "links", "the inventory has no links: no link is monitored (LinkDown, "
                      "LinkFlapping, utilisation come from 'links:' only; a device's 'interfaces:' feed "
                      "bandwidth metrics); add a 'links:' section")
        return
    ends = {(end.device, end.interface) for link in inv.links.values() for end in (link.a, link.b)}
    for did, dev in inv.devices.items():
        for i, itf in enumerate(dev.interfaces):
            if (did, itf.name) not in ends:
                yield _at(inv.origins[("devices", did)], ("interfaces", i, "name"),
                          f"watched interface {itf.name!r} is on no link: its state raises no LinkDown "
                          "(only 'links:' are monitored); add a link with this end, or keep it for its traffic")


def unset_secrets(inv: Inventory, environ: Mapping[str, str], *, in_use_only: bool = True,
                  ssh: bool = True) -> list[Problem]:
    """Every ``env:NAME`` secret whose variable is not set in ``environ``, at its field — of the profiles a
    device or base station uses (``in_use_only``: what ``netmon run``/``sync`` refuse; SSH profiles only with
    ``ssh``, i.e. when backups run), or of every profile."""
    used_snmp = {d.snmp_profile for d in inv.devices.values()}
    used_snmp |= {b.snmp_profile for b in inv.base_stations.values() if b.mgmt and b.snmp_profile}
    used_ssh = {d.ssh_profile for d in inv.devices.values() if d.ssh_profile and ssh}
    out: list[Problem] = []
    for section, profiles, used in (("snmp_profiles", inv.snmp_profiles, used_snmp),
                                    ("ssh_profiles", inv.ssh_profiles, used_ssh)):
        for name, profile in profiles.items():
            if in_use_only and name not in used:
                continue
            for field_name in ("community", "auth_key", "priv_key", "password", "key_file", "enable_secret"):
                ref = getattr(profile, field_name, None)
                if ref is None or not ref.startswith("env:") or ref[4:] in environ:
                    continue
                why = ("'netmon run' and 'netmon sync' refuse to start without it" if name in used
                       else "no device or base station uses this profile yet")
                out.append(_at(inv.origins[(section, name)], (field_name,),
                               f"environment variable {ref[4:]} is not set: {why}"))
    return sorted(out)
