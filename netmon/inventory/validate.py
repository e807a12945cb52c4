"""Checks that span records and files: references, duplicates, cycles, geography, the links against the
devices and the uplink tree; and the advice ``netmon validate`` prints as warnings.

Pure functions over a loaded :class:`~netmon.inventory.load.Inventory` (the environment is passed in); each
problem points at the field that holds the bad value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from netmon.inventory.problems import Problem
from netmon.inventory.text import invisible, same_name

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
        *_names(inv),
        *_sites_without_device(inv),
        *_link_ends(inv),
        *_uplinks_against_links(inv),
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
                yield _at(origin, ("uplink",), _unknown("site", site.uplink, inv.sites))
        if not inv.province.bbox.contains(site.lat, site.lon):
            yield _at(origin, ("lat",), _outside(site.lat, site.lon, inv))


def _suggest(word: str, choices: object, cutoff: float = 0.8) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)  # type: ignore[call-overload]
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown(kind: str, ref: str, choices: object, cutoff: float = 0.8) -> str:
    """``unknown site 'x'; did you mean 'y'?`` — naming an invisible character the reference hides (a pasted
    zero-width space makes ``so-tttt`` and ``so-tttt\u200b`` look the same)."""
    return f"unknown {kind} {ref!r}" + (invisible(ref) or _suggest(ref, choices, cutoff))


def _devices(inv: Inventory) -> Iterator[Problem]:
    for did, dev in inv.devices.items():
        origin = inv.origins[("devices", did)]
        if not inv.known("sites", dev.site):
            yield _at(origin, ("site",), _unknown("site", dev.site, inv.sites))
        if not inv.known("snmp_profiles", dev.snmp_profile):
            yield _at(origin, ("snmp_profile",), _unknown("SNMP profile", dev.snmp_profile, inv.snmp_profiles, 0.6))
        if dev.ssh_profile is not None and not inv.known("ssh_profiles", dev.ssh_profile):
            yield _at(origin, ("ssh_profile",), _unknown("SSH profile", dev.ssh_profile, inv.ssh_profiles, 0.6))


def _links(inv: Inventory) -> Iterator[Problem]:
    for lid, link in inv.links.items():
        origin = inv.origins[("links", lid)]
        for end in ("a", "b"):
            device = getattr(link, end).device
            if not inv.known("devices", device):
                yield _at(origin, (end, "device"), _unknown("device", device, inv.devices))
        if link.a == link.b:
            yield _at(origin, ("b",), "both ends are the same interface")


def _base_stations(inv: Inventory) -> Iterator[Problem]:
    for bid, bts in inv.base_stations.items():
        origin = inv.origins[("base_stations", bid)]
        yield from _unit_refs(inv, origin, bts.district, bts.commune)
        if bts.snmp_profile is not None and not inv.known("snmp_profiles", bts.snmp_profile):
            yield _at(origin, ("snmp_profile",), _unknown("SNMP profile", bts.snmp_profile, inv.snmp_profiles, 0.6))
        if not inv.province.bbox.contains(bts.lat, bts.lon):
            yield _at(origin, ("lat",), _outside(bts.lat, bts.lon, inv))


def _maintenance(inv: Inventory) -> Iterator[Problem]:
    for mid, window in inv.maintenance.items():
        origin = inv.origins[("maintenance", mid)]
        for field_name in ("sites", "devices", "base_stations"):
            for i, ref in enumerate(getattr(window, field_name)):
                if not inv.known(field_name, ref):
                    kind = field_name.removesuffix("s").replace("_", " ")
                    yield _at(origin, (field_name, i), _unknown(kind, ref, getattr(inv, field_name)))


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


def _where(inv: Inventory, section: str, key: str, *fields: int | str) -> str:
    file, line, _ = inv.origins[(section, key)].at(*fields)
    return f"{file}:{line}"


def _names(inv: Inventory) -> Iterator[Problem]:
    """Two records of one agency or unit: names equal once Unicode is normalised (NFC: a Vietnamese letter typed
    as a base letter + combining marks is the same letter), case and spacing aside — sites within one district
    (``UBND Phường 1`` exists in two districts), districts within the province, communes within a district."""
    first: dict[tuple[str | None, str], str] = {}
    for sid, site in inv.sites.items():
        key = (site.district, same_name(site.name))
        if key in first:
            other = first[key]
            where = inv.districts[site.district].name if site.district in inv.districts else "the province"
            yield _at(inv.origins[("sites", sid)], ("name",),
                      f"the same name as site {other!r} ({_where(inv, 'sites', other, 'name')}) in {where}: one "
                      "agency written twice? (names are compared after Unicode NFC normalisation)")
        else:
            first[key] = sid
    origin = inv.origins[("province", inv.province.code)]
    seen: dict[str, int] = {}
    for di, district in enumerate(inv.province.districts):
        name = same_name(district.name)
        if name in seen:
            line = origin.at("districts", seen[name], "name")[1]
            yield _at(origin, ("districts", di, "name"), f"the same name as the district at line {line} "
                      "(names are compared after Unicode NFC normalisation)")
        seen.setdefault(name, di)
        communes: dict[str, int] = {}
        for ci, commune in enumerate(district.communes):
            cname = same_name(commune.name)
            if cname in communes:
                line = origin.at("districts", di, "communes", communes[cname], "name")[1]
                yield _at(origin, ("districts", di, "communes", ci, "name"),
                          f"the same name as the commune at line {line} in {district.name} "
                          "(names are compared after Unicode NFC normalisation)")
            communes.setdefault(cname, ci)


def _sites_without_device(inv: Inventory) -> Iterator[Problem]:
    """A site no device stands at is never watched, and availability would show it always up."""
    if inv.incomplete or any(section == "devices" for section, _ in inv.broken):
        return  # a device may be in what could not be read
    with_device = {d.site for d in inv.devices.values()}
    for sid in inv.sites:
        if sid not in with_device:
            yield _at(inv.origins[("sites", sid)], ("id",),
                      f"no device at site {sid!r}: netmon cannot watch it, and availability would count it as "
                      f"always up; add its router under 'devices:' (site: {sid}), or remove the site")


def _link_ends(inv: Inventory) -> Iterator[Problem]:
    """A link end must be an interface its device lists (when it lists any), and a link is written once."""
    seen: dict[frozenset[tuple[str, str]], str] = {}
    for lid, link in inv.links.items():
        origin = inv.origins[("links", lid)]
        for end in ("a", "b"):
            e = getattr(link, end)
            dev = inv.devices.get(e.device)
            names = [i.name for i in dev.interfaces] if dev else []
            if names and e.interface not in names:
                hint = invisible(e.interface) or _suggest(e.interface, names, 0.6)
                yield _at(origin, (end, "interface"),
                          f"{e.device} does not list interface {e.interface!r} "
                          f"({_where(inv, 'devices', e.device, 'interfaces')}: {', '.join(names)}){hint}")
        pair = frozenset({(link.a.device, link.a.interface), (link.b.device, link.b.interface)})
        if pair in seen:
            other = seen[pair]
            yield _at(origin, ("id",), f"the same link as {other!r} ({_where(inv, 'links', other)}): both join "
                      f"{link.a.device} {link.a.interface} and {link.b.device} {link.b.interface}; keep one")
        else:
            seen[pair] = lid


def _uplinks_against_links(inv: Inventory) -> Iterator[Problem]:
    """A site's links and its uplink must tell the same story: a site whose links join it to other sites — none
    of them its uplink, none a site below it — has the wrong uplink (or the links are wrong). Outage suppression
    follows the uplinks; LinkDown follows the links."""
    site_of = {d.id: d.site for d in inv.devices.values()}
    neighbours: dict[str, dict[str, str]] = {}  # site → {neighbouring site: the link joining them}
    for lid, link in inv.links.items():
        a, b = site_of.get(link.a.device), site_of.get(link.b.device)
        if a and b and a != b:
            neighbours.setdefault(a, {}).setdefault(b, lid)
            neighbours.setdefault(b, {}).setdefault(a, lid)
    for sid, site in inv.sites.items():
        if site.uplink is None or site.uplink not in inv.sites:
            continue
        joined = neighbours.get(sid, {})
        above = {other: lid for other, lid in joined.items() if inv.sites.get(other) is None
                 or inv.sites[other].uplink != sid}
        if above and site.uplink not in joined:
            other, lid = next(iter(above.items()))
            yield _at(inv.origins[("sites", sid)], ("uplink",),
                      f"uplink is {site.uplink!r} but the links join {sid!r} to {other!r} (link {lid!r}, "
                      f"{_where(inv, 'links', lid)}), not to it: fix the uplink or the link")


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
