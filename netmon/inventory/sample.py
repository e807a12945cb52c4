"""The sample inventory of the Trà Vinh province WAN (2023), generated from packaged reference data.

Real: administrative units (names, GSO codes, approximate points) and the headline counts of the
2023 provincial report. Illustrative: everything no public source gives (site addresses, devices,
IP addresses, circuits, base-station positions …); every file's header says which is which.
``generate(scale=N)`` repeats the agencies and base stations N times for load tests.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SEED = 2023
MAX_SCALE = 58  # copy k uses 127.(11 + 2k).x.y: k ≤ 57 keeps it inside 127/8
FILES = (
    "units.yaml",
    "sites.yaml",
    "devices.yaml",
    "links.yaml",
    "base_stations.yaml",
    "profiles.yaml",
    "maintenance.yaml",
)

CORE_SITE = "so-thong-tin-truyen-thong"
CITY = "842"  # Thành phố Trà Vinh: where the provincial bodies sit
BBOX_MARGIN = 0.1  # degrees around the outermost unit point, rounded outwards to 0.05

# (id, name) — the core first; the 19th body (Văn phòng Đoàn ĐBQH và HĐND) is our choice.
PROVINCIAL_STATE = (
    (CORE_SITE, "Sở Thông tin và Truyền thông"),
    ("van-phong-ubnd-tinh", "Văn phòng UBND tỉnh"),
    ("so-ke-hoach-dau-tu", "Sở Kế hoạch và Đầu tư"),
    ("so-tai-chinh", "Sở Tài chính"),
    ("so-noi-vu", "Sở Nội vụ"),
    ("so-tu-phap", "Sở Tư pháp"),
    ("so-cong-thuong", "Sở Công Thương"),
    ("so-xay-dung", "Sở Xây dựng"),
    ("so-giao-thong-van-tai", "Sở Giao thông vận tải"),
    ("so-khoa-hoc-cong-nghe", "Sở Khoa học và Công nghệ"),
    ("so-nong-nghiep-ptnt", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("so-tai-nguyen-moi-truong", "Sở Tài nguyên và Môi trường"),
    ("so-lao-dong-tbxh", "Sở Lao động – Thương binh và Xã hội"),
    ("so-van-hoa-the-thao-du-lich", "Sở Văn hóa, Thể thao và Du lịch"),
    ("so-giao-duc-dao-tao", "Sở Giáo dục và Đào tạo"),
    ("so-y-te", "Sở Y tế"),
    ("thanh-tra-tinh", "Thanh tra tỉnh"),
    ("ban-dan-toc", "Ban Dân tộc"),
    ("van-phong-doan-dbqh-hdnd-tinh", "Văn phòng Đoàn ĐBQH và HĐND tỉnh"),
)
PROVINCIAL_PARTY = (
    ("van-phong-tinh-uy", "Văn phòng Tỉnh ủy"),
    ("ban-to-chuc-tinh-uy", "Ban Tổ chức Tỉnh ủy"),
    ("uy-ban-kiem-tra-tinh-uy", "Ủy ban Kiểm tra Tỉnh ủy"),
    ("ban-tuyen-giao-tinh-uy", "Ban Tuyên giáo Tỉnh ủy"),
    ("ban-dan-van-tinh-uy", "Ban Dân vận Tỉnh ủy"),
    ("ban-noi-chinh-tinh-uy", "Ban Nội chính Tỉnh ủy"),
    ("dang-uy-khoi-co-quan-doanh-nghiep-tinh", "Đảng ủy Khối cơ quan và doanh nghiệp tỉnh"),
)
PARTY_COMMITTEE = {"thành phố": "Thành ủy", "thị xã": "Thị ủy", "huyện": "Huyện ủy"}
STREETS = ("Lê Lợi", "Hùng Vương", "Nguyễn Thị Minh Khai", "Phạm Thái Bường", "Điện Biên Phủ",
           "Nguyễn Đáng", "Trần Phú", "Bạch Đằng", "Lê Thánh Tôn", "Nguyễn Chí Thanh")

# operator → (id prefix, stations at scale 1); the split is illustrative, the total (1,222) is real.
OPERATORS = {
    "Viettel": ("vtl", 380),
    "VNPT": ("vnpt", 330),
    "MobiFone": ("mbf", 300),
    "Vietnamobile": ("vnm", 110),
    "Gtel": ("gtel", 50),
    "FPT": ("fpt", 52),
}
BIG_THREE = ("Viettel", "VNPT", "MobiFone")
NEAR_CITY = "847"  # Huyện Châu Thành surrounds the city: its communes keep 4G
FIVE_G = {"Viettel": 3, "VNPT": 2, "MobiFone": 1}  # stations with 5G trials in Thành phố Trà Vinh

# platform → (uplink interface, downlink interface format or "", model)
ROUTER_PLATFORMS = {
    "cisco_xe": ("GigabitEthernet0/0/0", "GigabitEthernet0/0/1.{vlan}", "Cisco ISR 4331"),
    "cisco_ios": ("GigabitEthernet0/0", "GigabitEthernet0/1.{vlan}", "Cisco 1941"),
    "juniper_junos": ("ge-0/0/0", "ge-0/0/1.{vlan}", "Juniper SRX340"),
    "huawei": ("GigabitEthernet0/0/0", "", "Huawei AR1220E"),
    "mikrotik_routeros": ("ether1", "", "MikroTik RB4011iGS+"),
}


# ------------------------------------------------------------------ reference data
@dataclass(frozen=True, slots=True)
class Unit:
    """A district- or commune-level unit from the packaged 2023 list."""

    code: str
    name: str
    type: str
    lat: float
    lon: float
    approximate: bool = False  # no point in the source: the district's point plus an offset


@dataclass(frozen=True, slots=True)
class DistrictUnits:
    district: Unit
    communes: tuple[Unit, ...]


def _csv(name: str) -> list[dict[str, str]]:
    text = resources.files("netmon.inventory").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def load_units() -> list[DistrictUnits]:
    """The 9 districts and 106 communes of 2023, in GSO order (communes without a point get one)."""
    out: list[DistrictUnits] = []
    rows = _csv("travinh_units_2023.csv")
    for d in _csv("travinh_districts_2023.csv"):
        district = Unit(d["district_code"], d["district_name"], d["district_type"],
                        float(d["lat"]), float(d["lon"]))
        communes: list[Unit] = []
        missing = 0
        for r in rows:
            if r["district_code"] != district.code:
                continue
            if r["lat"] and r["lon"]:
                communes.append(Unit(r["commune_code"], r["commune_name"], r["commune_type"],
                                     float(r["lat"]), float(r["lon"])))
                continue
            missing += 1  # deterministic: ~0.7 km south-east per missing unit, in file order
            communes.append(Unit(r["commune_code"], r["commune_name"], r["commune_type"],
                                 round(district.lat - 0.006 * missing, 6),
                                 round(district.lon + 0.004 * missing, 6), approximate=True))
        out.append(DistrictUnits(district, tuple(communes)))
    return out


def slug(text: str) -> str:
    """``"Xã Lương Hoà A"`` → ``"xa-luong-hoa-a"`` (ASCII, no diacritics)."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in plain if unicodedata.category(ch) != "Mn")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def bbox(units: list[DistrictUnits]) -> dict[str, float]:
    """All unit points plus :data:`BBOX_MARGIN`, rounded outwards to 0.05°."""
    points = [(u.lat, u.lon) for d in units for u in (d.district, *d.communes)]
    lats, lons = [p[0] for p in points], [p[1] for p in points]

    def down(x: float) -> float:
        return round(math.floor((x - BBOX_MARGIN) * 20) / 20, 2)

    def up(x: float) -> float:
        return round(math.ceil((x + BBOX_MARGIN) * 20) / 20, 2)

    return {"min_lat": down(min(lats)), "max_lat": up(max(lats)),
            "min_lon": down(min(lons)), "max_lon": up(max(lons))}


# ------------------------------------------------------------------ the agency tree
@dataclass(frozen=True, slots=True)
class _Agency:
    id: str
    name: str
    kind: str  # party | state
    level: str  # province | district | commune
    district: Unit
    commune: Unit | None
    parent: str | None
    role: str  # core | district | access


def _agencies(units: list[DistrictUnits]) -> list[_Agency]:
    """The 150 agencies of one copy, parents before children."""
    city = next(d.district for d in units if d.district.code == CITY)
    out = [_Agency(sid, name, "state", "province", city, None, None if sid == CORE_SITE else CORE_SITE,
                   "core" if sid == CORE_SITE else "access") for sid, name in PROVINCIAL_STATE]
    out += [_Agency(f"ubnd-{slug(d.district.name)}", f"UBND {d.district.name}", "state", "district",
                    d.district, None, CORE_SITE, "district") for d in units]
    for d in units:
        parent = f"ubnd-{slug(d.district.name)}"
        out += [_Agency(f"ubnd-{slug(c.name)}-{c.code}", f"UBND {c.name}", "state", "commune",
                        d.district, c, parent, "access") for c in d.communes]
    out += [_Agency(sid, name, "party", "province", city, None, CORE_SITE, "access")
            for sid, name in PROVINCIAL_PARTY]
    for d in units:
        base = d.district.name.removeprefix(d.district.type.capitalize()).strip()
        name = f"{PARTY_COMMITTEE[d.district.type]} {base}"
        out.append(_Agency(slug(name), name, "party", "district", d.district, None,
                           f"ubnd-{slug(d.district.name)}", "access"))
    if len({a.id for a in out}) != len(out):
        raise RuntimeError("sample site ids are not unique")
    return out


def _jitter(rng: random.Random, lat: float, lon: float, spread: float) -> tuple[float, float]:
    return (round(lat + rng.uniform(-spread, spread), 6), round(lon + rng.uniform(-spread, spread), 6))


def _mgmt(first: int, i: int) -> str:
    return f"127.{first}.{i // 250}.{i % 250 + 1}"


def _bandwidth(rng: random.Random, level: str) -> int:
    choices = {"commune": (20, 30, 50, 100), "district": (100, 200, 300, 500),
               "province": (100, 200, 300, 500, 1000)}[level]
    return rng.choice(choices)


def _platform(rng: random.Random, agency: _Agency) -> str:
    if agency.role == "core":
        return "cisco_xe"
    if agency.role == "district":
        return rng.choice(("cisco_ios", "cisco_ios", "juniper_junos"))
    if agency.level == "commune":
        return rng.choices(("cisco_ios", "huawei", "mikrotik_routeros"), weights=(5, 3, 2))[0]
    if agency.level == "province":
        return rng.choice(("cisco_xe", "cisco_ios"))
    return "cisco_ios"


_MODELS = {("core", "cisco_xe"): "Cisco ASR 1001-X", ("district", "cisco_ios"): "Cisco 2921",
           ("district", "juniper_junos"): "Juniper SRX340"}


class _Network:
    """Sites, routers and uplink circuits of all copies; keeps per-parent downlink numbering."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.sites: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.by_site: dict[str, dict[str, Any]] = {}
        self.circuits = 0

    def add_copy(self, k: int, agencies: list[_Agency]) -> None:
        rng = random.Random(f"{self.seed}:{k}:network")
        suffix, copy_name = ("", "") if k == 0 else (f"-k{k}", f" (bản sao {k})")
        for i, ag in enumerate(agencies):
            sid = ag.id + suffix
            parent = ag.parent + suffix if ag.parent else (CORE_SITE if k else None)
            unit = ag.commune or ag.district
            lat, lon = _jitter(rng, unit.lat, unit.lon, 0.012 if ag.level == "province" else 0.004)
            if ag.level == "province":
                street = f"Số {rng.randint(1, 199)} đường {rng.choice(STREETS)}"
                address = f"{street}, {ag.district.name}, tỉnh Trà Vinh"
            elif ag.commune is None:
                address = f"Khu hành chính {ag.district.name}, tỉnh Trà Vinh"
            else:
                address = f"Trụ sở UBND {ag.commune.name}, {ag.district.name}, tỉnh Trà Vinh"
            site: dict[str, Any] = {"id": sid, "name": ag.name + copy_name, "kind": ag.kind,
                                    "level": ag.level, "district": ag.district.code}
            if ag.commune is not None:
                site["commune"] = ag.commune.code
            site |= {"address": address, "lat": lat, "lon": lon}
            if parent is not None:
                site["uplink"] = parent
            self.sites.append(site)

            platform = _platform(rng, ag)
            device: dict[str, Any] = {
                "id": f"rt-{sid}", "site": sid, "mgmt": _mgmt(10 + 2 * k, i),
                "role": ag.role, "platform": platform,
                "model": _MODELS.get((ag.role, platform), ROUTER_PLATFORMS[platform][2]),
                "snmp_profile": "snmp-v3-core",  # every agency router on SNMPv3 authPriv: the secure default
                "ssh_profile": "ssh-noc", "interfaces": [],
            }
            self.devices.append(device)
            self.by_site[sid] = device
            if parent is not None:
                level = "province" if parent == CORE_SITE else ag.level
                self._link(rng, device, self.by_site[parent], sid, 1000 if ag.parent is None else None, level)

    def _link(self, rng: random.Random, child: dict[str, Any], parent: dict[str, Any], sid: str,
              bandwidth: int | None, level: str) -> None:
        self.circuits += 1
        circuit = {
            "circuit": f"TSLCD-TVH-{self.circuits:04d}",
            "provider": "Viettel" if rng.random() < 0.2 else "VNPT",
            "bandwidth_mbps": bandwidth or _bandwidth(rng, level),
        }
        up = ROUTER_PLATFORMS[child["platform"]][0]
        vlan = 101 + sum(1 for itf in parent["interfaces"] if itf["role"] == "downlink")
        down = ROUTER_PLATFORMS[parent["platform"]][1].format(vlan=vlan)
        child["interfaces"].insert(0, {"name": up, "role": "uplink", **circuit})
        parent["interfaces"].append({"name": down, "role": "downlink", **circuit})
        self.links.append({"id": f"ln-{sid}", "a": {"device": child["id"], "interface": up},
                           "b": {"device": parent["id"], "interface": down}, **circuit})


# ------------------------------------------------------------------ base stations
def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; ties by position)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    out = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


@dataclass(frozen=True, slots=True)
class _BtsPlan:
    """Where each operator's stations go (the same in every copy)."""

    communes: list[tuple[Unit, Unit]]  # (district, commune)
    counts: dict[str, list[int]]  # operator → stations per commune
    no_4g: frozenset[str]  # commune codes


def _bts_plan(units: list[DistrictUnits], seed: int) -> _BtsPlan:
    rng = random.Random(f"{seed}:bts-plan")
    communes = [(d.district, c) for d in units for c in d.communes]
    city = next(d.district for d in units if d.district.code == CITY)
    # No 4G: in each rural district but the one around the city, its xã farthest from the city.
    no_4g = frozenset(
        max((c for c in d.communes if c.type == "xã"),
            key=lambda c: (c.lat - city.lat) ** 2 + (c.lon - city.lon) ** 2).code
        for d in units if d.district.type == "huyện" and d.district.code != NEAR_CITY
    )
    noise = [rng.uniform(0.7, 1.3) for _ in communes]
    big = [0.0 if c.code in no_4g else {"phường": 2.0, "thị trấn": 1.6, "xã": 1.0}[c.type] * n
           for (d, c), n in zip(communes, noise, strict=True)]
    minor = [0.0 if c.code in no_4g else {"phường": 3.0, "thị trấn": 2.0, "xã": 0.5}[c.type] * n
             for (d, c), n in zip(communes, noise, strict=True)]
    counts: dict[str, list[int]] = {}
    for op, (_, total) in OPERATORS.items():
        if op in BIG_THREE:  # the three big networks cover every commune
            counts[op] = [1 + x for x in _apportion(total - len(communes), big)]
        else:
            counts[op] = _apportion(total, minor)
    return _BtsPlan(communes, counts, no_4g)


def _technologies(rng: random.Random, op: str, no_4g: bool) -> list[str]:
    if no_4g:
        return rng.choices((["2G", "3G"], ["3G"], ["2G"]), weights=(6, 3, 1))[0]
    if op in BIG_THREE:
        return rng.choices((["2G", "3G", "4G"], ["3G", "4G"], ["4G"]), weights=(7, 2, 1))[0]
    if op == "Vietnamobile":
        return rng.choices((["2G", "3G", "4G"], ["4G"]), weights=(6, 4))[0]
    if op == "Gtel":
        return rng.choices((["2G", "4G"], ["4G"]), weights=(6, 4))[0]
    return ["4G"]


def _base_stations(plan: _BtsPlan, k: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}:{k}:bts")
    suffix = "" if k == 0 else f"-k{k}"
    out: list[dict[str, Any]] = []
    for op, (prefix, _) in OPERATORS.items():
        start = len(out)
        for (district, commune), n in zip(plan.communes, plan.counts[op], strict=True):
            for _ in range(n):
                lat, lon = _jitter(rng, commune.lat, commune.lon, 0.006 if commune.type == "phường" else 0.02)
                out.append({
                    "id": f"bts-{prefix}-{len(out) - start + 1:04d}{suffix}", "operator": op,
                    "technologies": _technologies(rng, op, commune.code in plan.no_4g),
                    "district": district.code, "commune": commune.code, "lat": lat, "lon": lon,
                })
        city = [b for b in out[start:] if b["district"] == CITY]
        for bts in rng.sample(city, FIVE_G.get(op, 0)):
            bts["technologies"] = [*bts["technologies"], "5G"]
    for i, bts in enumerate(out):
        bts |= {"mgmt": _mgmt(11 + 2 * k, i), "snmp_profile": "snmp-v2c-bts"}
    return out


# ------------------------------------------------------------------ files
def _units_data(units: list[DistrictUnits]) -> dict[str, Any]:
    def unit(u: Unit) -> dict[str, Any]:
        return {"code": u.code, "name": u.name, "type": u.type, "lat": u.lat, "lon": u.lon}

    return {"province": {
        "code": "84", "name": "Tỉnh Trà Vinh", "bbox": bbox(units),
        "districts": [unit(d.district) | {"communes": [unit(c) for c in d.communes]} for d in units],
    }}


def _profiles() -> dict[str, Any]:
    return {
        "snmp_profiles": [
            {"name": "snmp-v2c-agency", "version": "2c", "community": "env:NETMON_SNMP_COMMUNITY"},
            {"name": "snmp-v2c-bts", "version": "2c", "community": "env:NETMON_BTS_COMMUNITY"},
            {"name": "snmp-v3-core", "version": "3", "user": "netmon",
             "auth_protocol": "SHA256", "auth_key": "env:NETMON_SNMPV3_AUTH_KEY",
             "priv_protocol": "AES", "priv_key": "env:NETMON_SNMPV3_PRIV_KEY"},
        ],
        "ssh_profiles": [{"name": "ssh-noc", "username": "netmon", "password": "env:NETMON_SSH_PASSWORD"}],
    }


def _maintenance(units: list[DistrictUnits]) -> dict[str, Any]:
    dh = next(d for d in units if d.district.code == "850")  # Huyện Duyên Hải
    return {"maintenance": [
        {"id": "mw-2023-12-core-upgrade",
         "description": "Nâng cấp phần mềm router lõi Sở TT&TT (core router software upgrade)",
         "devices": [f"rt-{CORE_SITE}"],
         "start": "2023-12-09T22:00:00+07:00", "end": "2023-12-10T02:00:00+07:00"},
        {"id": "mw-weekly-duyen-hai",
         "description": "Bảo trì định kỳ tuyến truyền dẫn huyện Duyên Hải (weekly provider maintenance)",
         "sites": [f"ubnd-{slug(dh.district.name)}", *(f"ubnd-{slug(c.name)}-{c.code}" for c in dh.communes)],
         "recurrence": {"days": ["sun"], "start": "02:00", "duration_minutes": 120,
                        "timezone": "Asia/Ho_Chi_Minh"}},
    ]}


def generate(scale: int = 1, seed: int = DEFAULT_SEED) -> dict[str, dict[str, Any]]:
    """The sample inventory as ``{file name: YAML data}``; deterministic for a given scale and seed."""
    if not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be from 1 to {MAX_SCALE}, not {scale}")
    units = load_units()
    agencies = _agencies(units)
    net = _Network(seed)
    plan = _bts_plan(units, seed)
    stations: list[dict[str, Any]] = []
    for k in range(scale):
        net.add_copy(k, agencies)
        stations += _base_stations(plan, k, seed)
    return {
        "units.yaml": _units_data(units),
        "sites.yaml": {"sites": net.sites},
        "devices.yaml": {"devices": net.devices},
        "links.yaml": {"links": net.links},
        "base_stations.yaml": {"base_stations": stations},
        "profiles.yaml": _profiles(),
        "maintenance.yaml": _maintenance(units),
    }


def no_4g_communes(seed: int = DEFAULT_SEED) -> list[Unit]:
    """The communes whose sample base stations are all 2G/3G-only (illustrative)."""
    plan = _bts_plan(load_units(), seed)
    return [c for _, c in plan.communes if c.code in plan.no_4g]


_REAL = """\
# REAL / THỰC: unit names and GSO codes (2023), unit coordinates (geocoder points, ~ a few km),
#   and the headline counts of the 2023 provincial report: 150 agencies on the dedicated data
#   network = 16 Party + 134 state bodies (19 provincial, 9 district, 106 commune level), and
#   1,222 mobile base stations of 6 operators (VNPT, Viettel, MobiFone, FPT, Gtel, Vietnamobile).
# ILLUSTRATIVE / MINH HỌA: site addresses, the site list beyond the named bodies, device models
#   and platforms, IP addresses (loopback, for the simulator), circuit ids, providers, bandwidths,
#   base-station positions, the per-operator split and the technologies. Never present them as real.
"""


def _header(name: str, scale: int, seed: int) -> str:
    notes = {
        "units.yaml": [
            "bbox = outermost unit points + 0.1°, rounded outwards to 0.05°.",
            "Phường 2 (29245) and Phường 6 (29251) of Thành phố Trà Vinh have no point in the source:",
            "  they use the district's point moved 0.006° S / 0.004° E per unit (approximate).",
        ],
        "sites.yaml": [
            "The 19th provincial state body (Văn phòng Đoàn ĐBQH và HĐND tỉnh) is our pick: the report",
            "  does not name its 19 + 16 bodies. Root: Sở Thông tin và Truyền thông (the core).",
        ],
        "base_stations.yaml": [
            "The report says 100% of communes have 3G/4G coverage; these communes are deliberately",
            "  2G/3G-only here so that the 'communes without 4G' view has content:",
            *(f"  {c.name} ({c.code})" for c in no_4g_communes(seed)),
            "The few 5G stations in Thành phố Trà Vinh are illustrative too (no commercial 5G in 2023).",
        ],
        "profiles.yaml": [
            "Secrets are references (env:NAME), never values.",
            "Every agency router uses snmp-v3-core (SNMPv3 authPriv, SHA-256 + AES-128): v2c sends the",
            "  community in clear text. snmp-v2c-agency stays for equipment that cannot do SNMPv3.",
        ],
        "maintenance.yaml": ["Two example windows: one one-off, one weekly (Sunday 02:00, 120 min)."],
    }.get(name, [])
    return (
        f"# {name} — sample inventory of the Trà Vinh province WAN (2023); scale {scale}, seed {seed}.\n"
        "# Written by `netmon inventory generate` (netmon/inventory/sample.py) as a starting point. To make it YOUR\n"
        "#   inventory: edit these files (or replace them with your own *.yaml), then `netmon validate`,\n"
        "#   `netmon sync --plan`, `netmon sync`; keep them in git. `netmon inventory generate --force` writes the\n"
        "#   sample again over them. / Tệp mẫu: sửa trực tiếp cho đúng mạng của đơn vị, rồi chạy validate,\n"
        "#   sync --plan, sync; lưu trong git. Lệnh generate --force sẽ ghi đè bằng bản mẫu.\n"
        + _REAL
        + "".join(f"# {line}\n" for line in notes)
    )


try:
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Dumper = yaml.SafeDumper


def dump(data: dict[str, Any]) -> str:
    """YAML text as the sample files are written (UTF-8 names, keys in model order)."""
    text: str = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                          default_flow_style=False, width=4096)
    return text


def write_sample(out_dir: Path, scale: int = 1, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Write the sample files into ``out_dir``; return the number of records of each kind."""
    files = generate(scale, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out_dir / name).write_text(_header(name, scale, seed) + dump(data), encoding="utf-8", newline="\n")
    province = files["units.yaml"]["province"]
    counts = {"districts": len(province["districts"]),
              "communes": sum(len(d["communes"]) for d in province["districts"])}
    for data in files.values():
        counts |= {key: len(value) for key, value in data.items() if isinstance(value, list)}
    return counts
