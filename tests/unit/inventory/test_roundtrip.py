"""Property: a valid inventory written as YAML, loaded, exported as JSON and loaded again is equal.

The generated inventories build on the mini fixture's province (its real Trà Vinh districts and
communes) with random sites in random uplink trees, devices (at least one per site), links along the
uplinks, base stations, profiles and maintenance windows; names are Vietnamese with diacritics — or, in the
"wild" variant, any text — numbered, as two records of one agency or unit may not share a name.
"""

from __future__ import annotations

import dataclasses
import string
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netmon.inventory.export import to_json
from netmon.inventory.load import load_inventory
from netmon.inventory.schema import PLATFORMS, AuthProtocol, DeviceRole, Operator, PrivProtocol, Technology

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "inventory" / "mini"
PROVINCE: dict[str, Any] = yaml.safe_load((MINI / "units.yaml").read_text(encoding="utf-8"))["province"]
BBOX: dict[str, float] = PROVINCE["bbox"]
COMMUNES: dict[str, list[str]] = {
    str(d["code"]): [str(c["code"]) for c in d["communes"]] for d in PROVINCE["districts"]
}
SECTION_FILES = ("a.yaml", "b.yaml", "c.yaml")

VI_LOWER = "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ"
VI_WORD = st.text(alphabet=VI_LOWER + VI_LOWER.upper(), min_size=1, max_size=7)
PREFIXES = ("UBND", "Sở", "Huyện ủy", "Đảng ủy", "Trạm", "Ban", "Văn phòng", "Thị trấn", "Xã")
VIETNAMESE_NAME = st.builds(
    lambda prefix, words: " ".join([prefix, *words]),
    st.sampled_from(PREFIXES),
    st.lists(VI_WORD, min_size=1, max_size=4),
)
# Any text at all (no lone surrogates: they cannot be in a UTF-8 file). A fixed first word keeps
# it non-empty after whitespace stripping.
WILD_NAME = st.builds(
    lambda t: f"UBND {t}", st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
)
SLUG_TAIL = string.ascii_lowercase + string.digits + "._-"
# First character a letter: plain YAML writes e.g. `1e5` unquoted and a YAML 1.2 reader makes it
# a number (see test_load for how that is reported); the quoted writer allows any valid id.
SAFE_ID = st.builds(
    lambda a, b: a + b, st.sampled_from(string.ascii_lowercase), st.text(SLUG_TAIL, max_size=12)
)
ANY_ID = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
LAT = st.floats(BBOX["min_lat"], BBOX["max_lat"], allow_nan=False)
LON = st.floats(BBOX["min_lon"], BBOX["max_lon"], allow_nan=False)
ENV_REF = st.from_regex(r"env:[A-Z_][A-Z0-9_]{0,15}", fullmatch=True)
SECRET_REF = ENV_REF | st.from_regex(r"file:/etc/netmon/[a-z0-9._-]{1,12}", fullmatch=True)
ICT = timezone(timedelta(hours=7))
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """Leave out optional fields that were drawn as None (as an operator would)."""
    return {k: v for k, v in record.items() if v is not None}


@st.composite
def inventories(draw: st.DrawFn, wild: bool) -> dict[str, Any]:
    """Inventory data in the YAML layout (province + sections)."""
    name = WILD_NAME if wild else VIETNAMESE_NAME
    ids = ANY_ID if wild else SAFE_ID

    def unique_ids(n: int) -> list[str]:
        return draw(st.lists(ids, min_size=n, max_size=n, unique=True))

    province = {
        **PROVINCE,
        "name": draw(name),
        "districts": [
            {**d, "name": f"{draw(name)} {di}", "communes": [
                {**c, "name": f"{draw(name)} {ci}",
                 **draw(st.sampled_from([{}, {"lat": draw(LAT), "lon": draw(LON)}]))}
                for ci, c in enumerate(d["communes"])
            ]}
            for di, d in enumerate(PROVINCE["districts"])
        ],
    }

    # ---- profiles
    snmp: list[dict[str, Any]] = []
    for pname in unique_ids(draw(st.integers(1, 3))):
        common = {"name": pname, "port": draw(_maybe(st.integers(1, 65535))),
                  "timeout_s": draw(_maybe(st.floats(0.1, 60))), "retries": draw(_maybe(st.integers(0, 10)))}
        if draw(st.booleans()):
            snmp.append(_compact({**common, "version": draw(st.sampled_from(["1", "2c"])),
                                  "community": draw(SECRET_REF)}))
            continue
        auth = draw(_maybe(st.sampled_from(list(AuthProtocol))))
        priv = draw(_maybe(st.sampled_from(list(PrivProtocol)))) if auth else None
        snmp.append(_compact({
            **common, "version": draw(st.sampled_from([3, "3"])), "user": draw(VI_WORD),
            "auth_protocol": auth and auth.value, "auth_key": auth and draw(SECRET_REF),
            "priv_protocol": priv and priv.value, "priv_key": priv and draw(SECRET_REF),
        }))
    ssh = [
        _compact({"name": sname, "username": draw(VI_WORD), "password": draw(SECRET_REF),
                  "key_file": draw(_maybe(SECRET_REF)), "enable_secret": draw(_maybe(ENV_REF)),
                  "port": draw(_maybe(st.integers(1, 65535))), "timeout_s": draw(_maybe(st.floats(1, 300)))})
        for sname in unique_ids(draw(st.integers(0, 2)))
    ]

    # ---- sites: a random uplink forest, written in a random order
    site_ids = unique_ids(draw(st.integers(1, 10)))
    sites: list[dict[str, Any]] = []
    for i, sid in enumerate(site_ids):
        level = "province" if i == 0 else draw(st.sampled_from(["province", "district", "commune"]))
        district = draw(st.sampled_from(sorted(COMMUNES))) if level != "province" else None
        commune = draw(st.sampled_from(COMMUNES[district])) if level == "commune" and district else None
        sites.append(_compact({
            "id": sid, "name": f"{draw(name)} {i}", "kind": draw(st.sampled_from(["party", "state"])),
            "level": level,
            "district": district, "commune": commune, "address": draw(_maybe(name)),
            "lat": draw(LAT), "lon": draw(LON),
            "uplink": draw(_maybe(st.sampled_from(site_ids[:i]))) if i else None,
        }))
    uplink_of = {site["id"]: site.get("uplink") for site in sites}
    sites = draw(st.permutations(sites))

    # ---- devices (unique management addresses; every site has one), links along the uplinks, base stations
    device_sites = site_ids + draw(st.lists(st.sampled_from(site_ids), max_size=3))
    devices: list[dict[str, Any]] = []
    for n, (did, site) in enumerate(zip(unique_ids(len(device_sites)), device_sites, strict=True)):
        mgmt = draw(st.sampled_from([f"127.10.{n}.1", f"127.10.{n}.1:1161", f"fd00::{n + 1:x}",
                                     f"[fd00::{n + 1:x}]:1161"]))
        itf_names = draw(st.lists(st.sampled_from(["Gi0/0", "Gi0/1", "ether1", "GigabitEthernet0/0/1"]),
                                  max_size=2, unique=True))
        devices.append(_compact({
            "id": did, "site": site, "mgmt": mgmt, "role": draw(st.sampled_from(list(DeviceRole))).value,
            "platform": draw(st.sampled_from(PLATFORMS)), "model": draw(_maybe(VI_WORD)),
            "snmp_profile": draw(st.sampled_from([p["name"] for p in snmp])),
            "ssh_profile": draw(_maybe(st.sampled_from([p["name"] for p in ssh]))) if ssh else None,
            "interfaces": [
                _compact({"name": itf, "role": draw(st.sampled_from(["uplink", "downlink", "lan"])),
                          "circuit": draw(_maybe(VI_WORD)), "provider": draw(_maybe(name)),
                          "bandwidth_mbps": draw(_maybe(st.floats(0.5, 10_000)))})
                for itf in itf_names
            ],
        }))
    links = []
    router = {}  # the first device of each site
    for d in devices:
        router.setdefault(d["site"], d)
    children = [sid for sid in site_ids if uplink_of[sid]]
    joined = draw(st.lists(st.sampled_from(children), max_size=3, unique=True)) if children else []

    def end(device: dict[str, Any], default: str) -> dict[str, str]:
        listed = [i["name"] for i in device.get("interfaces", [])]
        return {"device": device["id"], "interface": draw(st.sampled_from(listed)) if listed else default}

    for lid, child in zip(unique_ids(len(joined)), joined, strict=True):
        a, b = router[child], router[uplink_of[child]]
        links.append(_compact({"id": lid, "a": end(a, "Gi0/0"), "b": end(b, "Gi0/1"),
                               "circuit": draw(_maybe(VI_WORD)), "bandwidth_mbps": draw(_maybe(st.floats(1, 1000)))}))
    base_stations = []
    for n, bid in enumerate(unique_ids(draw(st.integers(0, 5)))):
        district = draw(st.sampled_from(sorted(COMMUNES)))
        managed = draw(st.booleans())
        base_stations.append(_compact({
            "id": bid, "operator": draw(st.sampled_from(list(Operator))).value,
            "technologies": [t.value for t in draw(st.lists(st.sampled_from(list(Technology)), min_size=1,
                                                            max_size=4, unique=True))],
            "district": draw(st.sampled_from([district, int(district)])),
            "commune": draw(st.sampled_from(COMMUNES[district])), "lat": draw(LAT), "lon": draw(LON),
            "mgmt": f"127.20.{n}.1" if managed else None,
            "snmp_profile": draw(st.sampled_from([p["name"] for p in snmp])) if managed else None,
        }))

    # ---- maintenance windows
    maintenance = []
    for mid in unique_ids(draw(st.integers(0, 2))):
        targets = {
            "sites": draw(st.lists(st.sampled_from(site_ids), min_size=1, max_size=3, unique=True)),
            "devices": draw(st.lists(st.sampled_from([d["id"] for d in devices]), max_size=2, unique=True))
            if devices else [],
        }
        if draw(st.booleans()):
            zone = st.sampled_from([UTC, ICT])
            start = draw(st.datetimes(datetime(2025, 1, 1), datetime(2030, 1, 1), timezones=zone))
            length = draw(st.timedeltas(timedelta(minutes=1), timedelta(days=3)))
            window: dict[str, Any] = {"start": start.isoformat(), "end": (start + length).isoformat()}
        else:
            window = {"recurrence": _compact({
                "days": draw(_maybe(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))),
                "start": draw(st.times()).isoformat(),
                "duration_minutes": draw(st.integers(1, 7 * 24 * 60)),
                "timezone": draw(_maybe(st.sampled_from(["Asia/Ho_Chi_Minh", "UTC", "Asia/Bangkok"]))),
            })}
        maintenance.append(_compact({"id": mid, "description": draw(_maybe(name)),
                                     **{k: v for k, v in targets.items() if v}, **window}))

    return {"province": province, "sites": sites, "devices": devices, "links": links,
            "base_stations": base_stations, "snmp_profiles": snmp, "ssh_profiles": ssh,
            "maintenance": maintenance}


class _QuotedDumper(yaml.SafeDumper):  # type: ignore[misc]
    """Every string double-quoted: escapes whatever text a plain or single-quoted scalar can't hold."""


_QuotedDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
)


def write_yaml(folder: Path, data: dict[str, Any], files: list[str], quoted: bool) -> None:
    """Spread the sections over a few files; a file may hold several sections."""
    folder.mkdir()
    per_file: dict[str, dict[str, Any]] = {}
    for (section, value), file in zip(data.items(), files, strict=True):
        per_file.setdefault(file, {})[section] = value
    for file, content in per_file.items():
        text = yaml.dump(content, Dumper=_QuotedDumper if quoted else yaml.SafeDumper,
                         allow_unicode=True, sort_keys=False)
        (folder / file).write_text(text, encoding="utf-8")


def check_round_trip(tmp: Path, data: dict[str, Any], files: list[str], quoted: bool) -> None:
    write_yaml(tmp / "yaml", data, files, quoted)
    first = load_inventory(tmp / "yaml")
    exported = to_json(first)
    (tmp / "json").mkdir()
    (tmp / "json" / "export.json").write_text(exported, encoding="utf-8")
    second = load_inventory(tmp / "json" / "export.json")  # a folder holds *.yaml; a file is read as is
    assert second == first
    assert to_json(second) == exported  # the export is a fixed point


FILES = st.lists(st.sampled_from(SECTION_FILES), min_size=8, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=inventories(wild=False), files=FILES)
def test_vietnamese_inventory_round_trips_through_yaml_and_json_export(
    tmp_path_factory: Any, data: dict[str, Any], files: list[str]
) -> None:
    check_round_trip(tmp_path_factory.mktemp("rt"), data, files, quoted=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=inventories(wild=True), files=FILES)
def test_inventory_with_any_text_round_trips_through_json_export(
    tmp_path_factory: Any, data: dict[str, Any], files: list[str]
) -> None:
    check_round_trip(tmp_path_factory.mktemp("rt"), data, files, quoted=True)


def test_json_export_escapes_characters_that_yaml_refuses(tmp_path: Path) -> None:
    inv = load_inventory(MINI)
    awkward = "UBND xã\x7f Phú\x85 Cần\ufffe\uffff\u2028 😀"
    sites = {**inv.sites, "so-tttt": inv.sites["so-tttt"].model_copy(update={"name": awkward})}
    edited = dataclasses.replace(inv, sites=sites)
    (tmp_path / "export.json").write_text(to_json(edited), encoding="utf-8")
    again = load_inventory(tmp_path / "export.json")
    assert again.sites["so-tttt"].name == awkward
    assert again == edited
