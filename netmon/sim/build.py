"""Build the simulated province from an inventory: one :class:`SimDevice` per router and base station.

Everything is derived deterministically from ids (same answers every run), so
tests can predict what an agent says.  Names the inventory mentions (watched
interfaces, link ends) always exist on the simulated device; the rest is filled
with the platform's usual port names up to 10–50 interfaces.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from netmon.inventory import schema as s
from netmon.inventory.load import Inventory
from netmon.sim.world import SimDevice, SimEntity, SimInterface, World, stable_unit

ETHERNET, LOOPBACK, TUNNEL, VLAN = 6, 24, 131, 136


@dataclass(frozen=True)
class PlatformInfo:
    descr: str
    object_id: tuple[int, ...]
    mfg: str
    ports: tuple[str, ...]  # name patterns, {n} counts from 0
    firmware: str


PLATFORMS: dict[str, PlatformInfo] = {
    "cisco_ios": PlatformInfo(
        "Cisco IOS Software, ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 15.9(3)M7, "
        "RELEASE SOFTWARE (fc1)", (1, 3, 6, 1, 4, 1, 9, 1, 2068), "Cisco Systems, Inc.",
        ("GigabitEthernet0/{n}",), "15.9(3)M7"),
    "cisco_xe": PlatformInfo(
        "Cisco IOS Software [Amsterdam], ASR1000 Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), "
        "Version 17.3.4a, RELEASE SOFTWARE (fc3)", (1, 3, 6, 1, 4, 1, 9, 1, 1861), "Cisco Systems, Inc.",
        ("GigabitEthernet0/0/{n}",), "17.3.4a"),
    "juniper_junos": PlatformInfo(
        "Juniper Networks, Inc. mx204 internet router, kernel JUNOS 21.4R3-S4.9",
        (1, 3, 6, 1, 4, 1, 2636, 1, 1, 1, 2, 150), "Juniper Networks", ("ge-0/0/{n}",), "21.4R3-S4.9"),
    "huawei": PlatformInfo(
        "Huawei Versatile Routing Platform Software VRP (R) software, Version 5.170 (AR1220E V200R010C10SPC700)",
        (1, 3, 6, 1, 4, 1, 2011, 2, 224, 279), "Huawei Technologies Co., Ltd.", ("GigabitEthernet0/0/{n}",),
        "V200R010C10SPC700"),
    "mikrotik_routeros": PlatformInfo(
        "RouterOS RB4011iGS+", (1, 3, 6, 1, 4, 1, 14988, 1), "MikroTik", ("ether{n1}",), "7.12.1"),
}
BTS_VENDORS: dict[str, tuple[str, str]] = {
    "Viettel": ("Ericsson", "Ericsson RBS 6601 Baseband 5216"),
    "VNPT": ("Nokia", "Nokia AirScale System Module"),
    "MobiFone": ("Huawei", "Huawei BTS3900 BBU3910"),
    "FPT": ("ZTE", "ZTE ZXSDR B8200"),
    "Gtel": ("Huawei", "Huawei DBS3900 BBU3900"),
    "Vietnamobile": ("ZTE", "ZTE ZXSDR BS8700"),
}
LAN_ALIASES = ("LAN nội bộ – {site}", "Wi-Fi khách", "Camera an ninh", "Hội nghị truyền hình trực tuyến",
               "Bộ phận Một cửa", "Máy chủ nội bộ", "Dự phòng")


def _crc(*parts: object) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def _mac(device_id: str, index: int) -> bytes:
    return bytes((0x02, 0x4E)) + (_crc(device_id) ^ index).to_bytes(4, "big")


def _port_name(platform: str, n: int) -> str:
    pattern = PLATFORMS.get(platform, PLATFORMS["cisco_ios"]).ports[0]
    return pattern.format(n=n, n1=n + 1)


def build_world(inv: Inventory, now: float, community_of: dict[str, bytes] | None = None) -> World:
    """The simulated province; boot times are spread over the last ~90 days before ``now``."""
    sites = inv.sites
    router_of_site = {d.site: d for d in inv.devices.values()}
    # Which interface of each device faces which link, from the links list.
    link_by_end: dict[tuple[str, str], s.Link] = {}
    for link in inv.links.values():
        link_by_end[(link.a.device, link.a.interface)] = link
        link_by_end[(link.b.device, link.b.interface)] = link
    devices: list[SimDevice] = []
    for dev in inv.devices.values():
        devices.append(_router(inv, dev, now, link_by_end))
    for bts in inv.base_stations.values():
        if bts.mgmt is not None:
            devices.append(_bts(inv, bts, now))
    # Management topology: a router's parent is the router of its site's uplink site.
    by_id = {d.id: d for d in devices}
    for dev in inv.devices.values():
        sim = by_id[dev.id]
        up_site = sites[dev.site].uplink if dev.site in sites else None
        parent = router_of_site.get(up_site) if up_site else None
        if parent is None:
            continue
        sim.parent = parent.id
        for itf in sim.interfaces:
            found = link_by_end.get((dev.id, itf.name))
            if found is None:
                continue
            other = found.b if found.a.device == dev.id else found.a
            if other.device == parent.id:
                sim.uplink_if = itf.index
                sim.parent_if = by_id[parent.id].interface(other.interface).index
                break
    return World(devices)


def _router(inv: Inventory, dev: s.Device, now: float, link_by_end: dict[tuple[str, str], s.Link]) -> SimDevice:
    site = inv.sites.get(dev.site)
    site_name = site.name if site else dev.site
    info = PLATFORMS.get(dev.platform, PLATFORMS["cisco_ios"])
    wanted = [w.name for w in dev.interfaces]
    wanted += [name for (d, name) in link_by_end if d == dev.id and name not in wanted]
    total = max(10 + _crc(dev.id, "ifs") % 31, len(wanted) + 4)
    total = min(total, max(50, len(wanted) + 4))
    names: list[str] = list(wanted)
    n = 0
    while len(names) < total - 1:
        candidate = _port_name(dev.platform, n)
        n += 1
        if candidate not in names:
            names.append(candidate)
    names.append("Loopback0" if dev.platform != "juniper_junos" else "lo0")
    watched = {w.name: w for w in dev.interfaces}
    interfaces = []
    for index, name in enumerate(names, start=1):
        interfaces.append(_interface(inv, dev.id, site_name, index, name, watched.get(name),
                                     link_by_end.get((dev.id, name)), now))
    boot = now - 3600 * (2 + 2000 * stable_unit(dev.id, "boot"))
    for itf in interfaces:
        itf.since = boot
        itf.last_change = boot + 60
    serial = f"{info.mfg[:3].upper()}{_crc(dev.id, 'sn') % 10**8:08d}"
    entities = [
        SimEntity(1, f"{dev.model or info.mfg} chassis", (*info.object_id, 1), 0, 3, "Chassis", "V02",
                  info.firmware, info.firmware, serial, info.mfg, dev.model or "router"),
        SimEntity(2, "Power Supply Module 0", (*info.object_id, 2), 1, 6, "PSU 0", "V01", "", "",
                  f"PS{_crc(dev.id, 'ps') % 10**7:07d}", info.mfg, "PWR-AC"),
        SimEntity(3, "Fan Tray", (*info.object_id, 3), 1, 7, "Fan 0", "V01", "", "", "", info.mfg, "FAN"),
    ]
    return SimDevice(
        id=dev.id, kind="router", host=dev.mgmt.host, port=_port(inv, dev.mgmt.port, dev.snmp_profile),
        sys_name=dev.id, sys_descr=info.descr, sys_object_id=info.object_id,
        sys_location=f"{site_name}, {site.address}" if site and site.address else site_name,
        sys_contact="Trung tâm Giám sát mạng (NOC) – Sở TT&TT Trà Vinh",
        interfaces=interfaces, entities=entities, boot=boot,
        cpu_base=8 + 40 * stable_unit(dev.id, "cpu"), mem_total_kb=[524_288, 1_048_576, 4_194_304][_crc(dev.id) % 3],
        v3=inv.snmp_profiles[dev.snmp_profile].version is s.SnmpVersion.V3,
    )


def _interface(inv: Inventory, device_id: str, site_name: str, index: int, name: str,
               watched: s.WatchedInterface | None, link: s.Link | None, now: float) -> SimInterface:
    u = stable_unit(device_id, name)
    loop = name.lower().startswith(("loopback", "lo0"))
    bandwidth = (watched.bandwidth_mbps if watched and watched.bandwidth_mbps else
                 link.bandwidth_mbps if link and link.bandwidth_mbps else None)
    if loop:
        alias, speed, capacity, util, admin = "Quản lý (management)", 8_000_000_000, 0, 0.0, True
    elif link is not None or watched is not None:
        other = None
        if link is not None:
            other_end = link.b if link.a.device == device_id else link.a
            peer = inv.devices.get(other_end.device)
            other = inv.sites[peer.site].name if peer and peer.site in inv.sites else other_end.device
        role = watched.role.value if watched else ("uplink" if link and link.a.device == device_id else "downlink")
        circuit = (watched.circuit if watched else None) or (link.circuit if link else None) or ""
        provider = (watched.provider if watched else None) or (link.provider if link else None) or ""
        arrow = "Kết nối lên" if role == "uplink" else "Kết nối xuống"
        alias = f"{arrow} {other or ''} | {provider} {circuit} {int(bandwidth or 0)}M".strip()
        device = inv.devices.get(device_id)
        # the provincial core (the data centre) has 10G ports; beyond 2^31 bit/s, like any 10G uplink
        speed = 10_000_000_000 if device is not None and device.role is s.DeviceRole.CORE else 1_000_000_000
        capacity = int((bandwidth or 100) * 1_000_000)
        # Most links idle along at 5–45 %; about one in twenty runs hot (for the utilisation alert).
        util = 0.85 + 0.1 * u if stable_unit(device_id, name, "hot") < 0.05 else 0.05 + 0.4 * u
        admin = True
    else:
        spare = stable_unit(device_id, name, "spare") < 0.3
        alias = "Dự phòng" if spare else LAN_ALIASES[int(u * (len(LAN_ALIASES) - 1))].format(site=site_name)
        speed, capacity, util, admin = 1_000_000_000, 100_000_000, 0.02 + 0.2 * u, not spare
    itf = SimInterface(index=index, name=name, alias=alias, if_type=LOOPBACK if loop else ETHERNET,
                       speed_bps=speed, mac=_mac(device_id, index), capacity_bps=capacity, admin_up=admin,
                       utilisation=util)
    itf.swing = itf.utilisation * 0.6
    itf.phase = 6.283 * stable_unit(device_id, name, "phase")
    if not loop and admin and stable_unit(device_id, name, "err") < 0.03:
        itf.error_rate = 0.2 + 2 * stable_unit(device_id, name, "rate")
    return itf


def _port(inv: Inventory, explicit: int | None, profile_name: str | None) -> int:
    if explicit is not None:
        return explicit
    profile = inv.snmp_profiles.get(profile_name or "")
    return profile.port if profile else 161


def _bts(inv: Inventory, bts: s.BaseStation, now: float) -> SimDevice:
    mfg, model = BTS_VENDORS.get(bts.operator.value, ("Ericsson", "RBS"))
    commune = inv.communes.get(bts.commune)
    place = commune[1].name if commune else bts.commune
    names = ["eth0", "eth1"] + [f"radio{i}" for i in range(8 + _crc(bts.id) % 5)]
    interfaces = []
    for index, name in enumerate(names, start=1):
        u = stable_unit(bts.id, name)
        itf = SimInterface(index=index, name=name,
                           alias=("Truyền dẫn – " + bts.operator.value) if name == "eth0" else
                           ("Quản lý" if name == "eth1" else f"Khối vô tuyến {index - 2} – {place}"),
                           if_type=ETHERNET, speed_bps=1_000_000_000, mac=_mac(bts.id, index),
                           utilisation=0.05 + 0.5 * u)
        itf.capacity_bps = 300_000_000 if name == "eth0" else 50_000_000
        itf.swing = itf.utilisation * 0.6
        itf.phase = 6.283 * u
        interfaces.append(itf)
    boot = now - 3600 * (1 + 1500 * stable_unit(bts.id, "boot"))
    for itf in interfaces:
        itf.since = boot
        itf.last_change = boot + 30
    assert bts.mgmt is not None
    return SimDevice(
        id=bts.id, kind="bts", host=bts.mgmt.host, port=_port(inv, bts.mgmt.port, bts.snmp_profile),
        sys_name=bts.id, sys_descr=f"{model} ({bts.operator.value}; {', '.join(t.value for t in bts.technologies)})",
        sys_object_id=(1, 3, 6, 1, 4, 1, 193 if mfg == "Ericsson" else 2011, 2, 1),
        sys_location=f"Trạm BTS {bts.operator.value} – {place}",
        sys_contact=f"NOC {bts.operator.value} Trà Vinh",
        interfaces=interfaces,
        entities=[SimEntity(1, f"{model}", (1, 3, 6, 1, 4, 1, 193, 1), 0, 3, "Chassis", "R1A", "", "",
                            f"BTS{_crc(bts.id, 'sn') % 10**8:08d}", mfg, model)],
        boot=boot, cpu_base=5 + 30 * stable_unit(bts.id, "cpu"),
        v3=bts.snmp_profile is not None and inv.snmp_profiles[bts.snmp_profile].version is s.SnmpVersion.V3,
    )
