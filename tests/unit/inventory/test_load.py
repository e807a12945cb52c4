"""``load_inventory``: every bad inventory is reported as ``file:line:column: field: message``.

Each bad inventory is a copy of ``tests/fixtures/inventory/mini`` with one mutation; the
tests run in the copy's parent folder so files are shown as ``inv/<name>.yaml``.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netmon.cli import app
from netmon.inventory import yamlsrc
from netmon.inventory.load import Inventory, load_inventory
from netmon.inventory.problems import InventoryError

LITERAL_SECRET = "literal secrets are not allowed; write a reference: env:VARIABLE or file:/path/to/secret"
PLATFORMS = (
    "'cisco_ios', 'cisco_xe', 'cisco_nxos', 'cisco_xr', 'arista_eos', 'juniper_junos', 'huawei', "
    "'hp_comware', 'mikrotik_routeros', 'fortinet' or 'linux'"
)


@pytest.fixture
def inv(mini: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The mini inventory copy, with the working directory set so it displays as ``inv/…``."""
    monkeypatch.chdir(mini.parent)
    monkeypatch.delenv("NETMON_INVENTORY", raising=False)
    return Path("inv")


def edit(inv: Path, file: str, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``inv/file`` (fails loudly if the fixture changed)."""
    path = inv / file
    content = path.read_text(encoding="utf-8")
    assert content.count(old) == 1, f"{old!r} must occur exactly once in {file}"
    path.write_text(content.replace(old, new), encoding="utf-8")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    return [str(p) for p in caught.value.problems]


# ------------------------------------------------------------------ the good one
def test_mini_fixture_is_valid_and_complete(inv: Path) -> None:
    loaded = load_inventory(inv)
    assert loaded.counts() == {
        "districts": 3, "communes": 6, "sites": 5, "devices": 5, "links": 1,
        "base_stations": 2, "snmp_profiles": 2, "ssh_profiles": 1, "maintenance": 2,
    }
    chain = [loaded.sites["ubnd-tt-cau-ngang"].uplink, loaded.sites["ubnd-cau-ngang"].uplink]
    assert chain == ["ubnd-cau-ngang", "so-tttt"]
    assert loaded.sites["so-tttt"].uplink is None


# ------------------------------------------------------------- bad inventories
@dataclass(frozen=True)
class Bad:
    """One mutation of mini: ``edits`` (file, old, new); ``writes`` whole files (text or bytes)."""

    expected: list[str]
    edits: list[tuple[str, str, str]] = field(default_factory=list)
    writes: dict[str, str | bytes] = field(default_factory=dict)


BAD: dict[str, Bad] = {
    "yaml_syntax_error_at_the_offending_colon": Bad(
        ["inv/sites.yaml:37:19: YAML syntax error: mapping values are not allowed in this context"],
        edits=[("sites.yaml", "    name: Huyện ủy Tiểu Cần\n", "    name: Huyện ủy: Tiểu Cần\n")],
    ),
    "unknown_field_suggests_the_right_one": Bad(
        ["inv/sites.yaml:26:5: sites[2].uplnk: unknown field; did you mean 'uplink'?"],
        edits=[("sites.yaml", "    uplink: ubnd-cau-ngang\n  - id: ubnd-my",
                "    uplnk: ubnd-cau-ngang\n  - id: ubnd-my")],
    ),
    "unknown_nested_field_suggests_the_right_one": Bad(
        ["inv/devices.yaml:21:9: devices[1].interfaces[0].bandwith_mbps: unknown field; "
         "did you mean 'bandwidth_mbps'?"],
        edits=[("devices.yaml", "        circuit: VNPT-TVH-0102\n",
                "        circuit: VNPT-TVH-0102\n        bandwith_mbps: 100\n")],
    ),
    "unknown_section_suggests_the_right_one_without_cascading": Bad(
        # the devices and windows that name its sites are not reported as unknown references
        ["inv/sites.yaml:2:1: site: unknown section; did you mean 'sites'?"],
        edits=[("sites.yaml", "\nsites:\n", "\nsite:\n")],
    ),
    "missing_required_field": Bad(
        ["inv/devices.yaml:29:5: devices[3].platform: required field is missing"],
        edits=[("devices.yaml", "    platform: huawei\n", "")],
    ),
    "wrong_type_text_for_a_number": Bad(
        ["inv/sites.yaml:15:10: sites[1].lat: Input should be a valid number, "
         "unable to parse string as a number"],
        edits=[("sites.yaml", "    lat: 9.7875\n", "    lat: nine\n")],
    ),
    "wrong_enum_value": Bad(
        ["inv/sites.yaml:38:11: sites[4].kind: Input should be 'party' or 'state'"],
        edits=[("sites.yaml", "    kind: party\n", "    kind: parti\n")],
    ),
    "wrong_enum_value_inside_a_list": Bad(
        ["inv/base_stations.yaml:13:24: base_stations[1].technologies[1]: "
         "Input should be '2G', '3G', '4G' or '5G'"],
        edits=[("base_stations.yaml", "technologies: [4G, 5G]", "technologies: [4G, 6G]")],
    ),
    "wrong_unit_type": Bad(
        ["inv/units.yaml:17:13: province.districts[1].type: "
         "Input should be 'thành phố', 'thị xã', 'huyện', 'phường', 'xã' or 'thị trấn'"],
        edits=[("units.yaml", "      type: huyện\n      lat: 9.796916",
                "      type: quận\n      lat: 9.796916")],
    ),
    "invalid_id": Bad(
        # the devices' reference to the old id is a real second problem: that id no longer exists
        ["inv/devices.yaml:36:11: devices[4].site: unknown site 'huyen-uy-tieu-can'",
         "inv/sites.yaml:36:9: sites[4].id: "
         "must be a lower-case id: letters a-z, digits, '.', '_', '-' (at most 64)"],
        edits=[("sites.yaml", "  - id: huyen-uy-tieu-can", "  - id: Huyen-Uy")],
    ),
    "duplicate_id_across_files_blames_the_file_just_added": Bad(
        ["inv/sites2.yaml:2:9: sites[0].id: duplicate id 'ubnd-cau-ngang' (already in inv/sites.yaml:10, "
         "an older file)"],
        writes={"sites2.yaml": "sites:\n  - id: ubnd-cau-ngang\n    name: UBND Huyện Cầu Ngang (cũ)\n"
                "    kind: state\n    level: district\n    district: 848\n    lat: 9.78\n    lon: 106.45\n"},
    ),
    "duplicate_management_address": Bad(
        ["inv/devices.yaml:37:11: devices[4].mgmt: management address 127.10.1.1 is also used by "
         "'rt-cau-ngang' (inv/devices.yaml:14)"],
        edits=[("devices.yaml", "mgmt: 127.10.2.1", "mgmt: 127.10.1.1")],
    ),
    "duplicate_ipv6_management_address_of_a_base_station": Bad(
        ["inv/base_stations.yaml:9:11: base_stations[0].mgmt: management address [::1]:1161 is also used by "
         "'rt-tt-cau-ngang' (inv/devices.yaml:25)"],
        edits=[("base_stations.yaml", "    mgmt: 127.10.9.1\n", "    mgmt: '[::1]:1161'\n")],
    ),
    "invalid_management_address": Bad(
        ["inv/devices.yaml:37:11: devices[4].mgmt: '127.10.2.300' is not an IPv4 or IPv6 address"],
        edits=[("devices.yaml", "mgmt: 127.10.2.1", "mgmt: 127.10.2.300")],
    ),
    "unknown_site_suggests_the_closest": Bad(
        # and the site it meant is now without a device: a real second problem
        ["inv/devices.yaml:30:11: devices[3].site: unknown site 'ubnd-my-long-bc'; "
         "did you mean 'ubnd-my-long-bac'?",
         "inv/sites.yaml:27:9: sites[3].id: no device at site 'ubnd-my-long-bac': netmon cannot watch it, and "
         "availability would count it as always up; add its router under 'devices:' (site: ubnd-my-long-bac), "
         "or remove the site"],
        edits=[("devices.yaml", "site: ubnd-my-long-bac", "site: ubnd-my-long-bc")],
    ),
    "unknown_device_at_a_link_end": Bad(
        ["inv/devices.yaml:45:17: links[0].b.device: unknown device 'rt-cau-ngan'; "
         "did you mean 'rt-cau-ngang'?"],
        edits=[("devices.yaml", "b: {device: rt-cau-ngang,", "b: {device: rt-cau-ngan,")],
    ),
    "unknown_snmp_profile": Bad(
        ["inv/devices.yaml:8:19: devices[0].snmp_profile: unknown SNMP profile 'v3'"],
        edits=[("devices.yaml", "    snmp_profile: v3-core", "    snmp_profile: v3")],
    ),
    "unknown_ssh_profile": Bad(
        ["inv/devices.yaml:9:18: devices[0].ssh_profile: unknown SSH profile 'ssh'; did you mean 'ssh-ops'?"],
        edits=[("devices.yaml", "ssh_profile: ssh-ops", "ssh_profile: ssh")],
    ),
    "unknown_district": Bad(
        ["inv/sites.yaml:40:15: sites[4].district: unknown district code '849'"],
        edits=[("sites.yaml", '    district: "846"', '    district: "849"')],
    ),
    "unknown_commune": Bad(
        ["inv/base_stations.yaml:15:14: base_stations[1].commune: unknown commune code '29999'"],
        edits=[("base_stations.yaml", "commune: 29347", "commune: 29999")],
    ),
    "unknown_site_in_a_maintenance_window": Bad(
        ["inv/maintenance.yaml:4:29: maintenance[0].sites[1]: unknown site 'ubnd-xyz'"],
        edits=[("maintenance.yaml", "sites: [ubnd-cau-ngang]", "sites: [ubnd-cau-ngang, ubnd-xyz]")],
    ),
    "uplink_cycle_reported_once_at_its_first_site": Bad(
        ["inv/sites.yaml:7:13: sites[0].uplink: uplink cycle: so-tttt → ubnd-tt-cau-ngang → ubnd-cau-ngang "
         "→ so-tttt (no site in it reaches the core)"],
        edits=[("sites.yaml", "    level: province\n",
                "    level: province\n    uplink: ubnd-tt-cau-ngang\n")],
    ),
    "site_is_its_own_uplink": Bad(
        ["inv/sites.yaml:26:13: sites[2].uplink: a site cannot be its own uplink"],
        edits=[("sites.yaml", "    uplink: ubnd-cau-ngang\n  - id: ubnd-my",
                "    uplink: ubnd-tt-cau-ngang\n  - id: ubnd-my")],
    ),
    "commune_not_in_the_stated_district": Bad(
        ["inv/sites.yaml:32:14: sites[3].commune: commune 29341 (Thị trấn Tiểu Cần) "
         "is in Huyện Tiểu Cần (846), not in district 848 (Huyện Cầu Ngang)"],
        edits=[("sites.yaml", "commune: 29422", "commune: 29341")],
    ),
    "commune_level_site_without_commune": Bad(
        ["inv/sites.yaml:18:5: sites[2]: a commune-level site needs 'commune'"],
        edits=[("sites.yaml", '    commune: "29416"\n', "")],
    ),
    "site_outside_the_province_bounding_box": Bad(
        ["inv/sites.yaml:8:10: sites[0].lat: (10.9347, 106.3453) is outside Tỉnh Trà Vinh "
         "(lat 9.4..10.2, lon 105.8..106.8)"],
        edits=[("sites.yaml", "    lat: 9.9347\n", "    lat: 10.9347\n")],
    ),
    "base_station_outside_the_province_bounding_box": Bad(
        ["inv/base_stations.yaml:16:10: base_stations[1].lat: (9.1083, 106.1699) is outside Tỉnh Trà Vinh "
         "(lat 9.4..10.2, lon 105.8..106.8)"],
        edits=[("base_stations.yaml", "    lat: 9.8083\n", "    lat: 9.1083\n")],
    ),
    "literal_snmp_community": Bad(
        [f"inv/profiles.yaml:4:16: snmp_profiles[0].community: {LITERAL_SECRET}"],
        edits=[("profiles.yaml", "community: env:NETMON_SNMP_COMMUNITY", "community: public")],
    ),
    "literal_ssh_password": Bad(
        [f"inv/profiles.yaml:17:15: ssh_profiles[0].password: {LITERAL_SECRET}"],
        edits=[("profiles.yaml", "password: env:NETMON_SSH_PASSWORD", "password: 'Tr@Vinh#2023'")],
    ),
    "snmpv3_profile_with_a_community": Bad(
        ["inv/profiles.yaml:5:5: snmp_profiles[1]: 'community' is for SNMP v1/v2c; v3 uses 'user' and keys"],
        edits=[("profiles.yaml", "    user: netmon\n", "    user: netmon\n    community: env:X\n")],
    ),
    "recurrence_start_hour_out_of_range": Bad(
        ["inv/maintenance.yaml:7:14: maintenance[0].recurrence.start: "
         "Input should be in a valid time format, hour value is outside expected range of 0-23"],
        edits=[("maintenance.yaml", "start: 22:00", "start: 25:00")],
    ),
    "unknown_time_zone": Bad(
        ["inv/maintenance.yaml:9:17: maintenance[0].recurrence.timezone: "
         "unknown time zone 'Asia/Hanoi_City': use an IANA name such as Asia/Ho_Chi_Minh"],
        edits=[("maintenance.yaml", "      duration_minutes: 120\n",
                "      duration_minutes: 120\n      timezone: Asia/Hanoi_City\n")],
    ),
    "maintenance_end_before_start": Bad(
        ["inv/maintenance.yaml:9:5: maintenance[1]: 'end' must be after 'start'"],
        edits=[("maintenance.yaml", "end: 2026-12-02T02:00:00+07:00", "end: 2026-12-01T02:00:00+07:00")],
    ),
    "province_defined_twice": Bad(
        ["inv/units2.yaml:1:11: province: defined again (first in inv/units.yaml:3)"],
        writes={"units2.yaml": "province: {code: '84', name: Trà Vinh, "
                "bbox: {min_lat: 9, max_lat: 10, min_lon: 105, max_lon: 107}}\n"},
    ),
    "section_that_is_not_a_list_does_not_cascade": Bad(
        ["inv/base_stations.yaml:2:3: base_stations: must be a list of records (each starting with '- ')"],
        writes={"base_stations.yaml": "base_stations:\n  id: vnpt-tvh-cn-001\n"},
    ),
    "top_level_that_is_not_a_mapping": Bad(
        ["inv/extra.yaml:1:1: the top level must be a mapping of sections (province, sites, devices, links, "
         "base_stations, snmp_profiles, ssh_profiles, maintenance)"],
        writes={"extra.yaml": "- id: rt-new\n"},
    ),
    "duplicate_key_in_one_mapping": Bad(
        ["inv/sites.yaml:39:5: key 'kind' appears twice in the same mapping"],
        edits=[("sites.yaml", "    kind: party\n", "    kind: party\n    kind: state\n")],
    ),
    "second_yaml_document_in_a_file": Bad(
        ["inv/maintenance.yaml:9:1: a second YAML document ('---') in one file: split it into files"],
        edits=[("maintenance.yaml", "  - id: nang-cap-tram-vnpt", "---\n  - id: nang-cap-tram-vnpt")],
    ),
    "explicit_int_tag_on_text": Bad(
        ["inv/sites.yaml:15:10: 'nine' is not a valid int"],
        edits=[("sites.yaml", "    lat: 9.7875\n", "    lat: !!int nine\n")],
    ),
    "control_character_that_yaml_refuses": Bad(
        ["inv/sites.yaml:37:19: character U+007F is not allowed in YAML (control characters are not allowed); "
         "remove it, or write it as an escape in double quotes"],
        edits=[("sites.yaml", "    name: Huyện ủy Tiểu Cần\n", "    name: Huyện ủy\x7f Tiểu Cần\n")],
    ),
    "empty_file": Bad(
        ["inv/links.yaml:1:1: file is empty; remove it or add inventory sections"],
        writes={"links.yaml": ""},
    ),
    "file_with_only_comments_is_empty": Bad(
        ["inv/links.yaml:1:1: file is empty; remove it or add inventory sections"],
        writes={"links.yaml": "# links: moved to devices.yaml\n\n"},
    ),
    "file_not_utf8_points_at_the_first_bad_byte": Bad(
        ["inv/extra.yaml:3:17: file is not UTF-8 (byte 0xe3); save it as UTF-8"],
        # saved as Latin-1 by an old editor: "ã" is the single byte 0xe3
        writes={"extra.yaml": "sites:\n  - id: x\n    name: UBND xã Phú Cần\n".encode("latin-1", "replace")},
    ),
    "alias_bomb_is_refused_not_expanded": Bad(
        ["inv/bomb.yaml:4:36: YAML aliases expand to more than 10,000 extra nodes; refused (an alias bomb?)"],
        writes={"bomb.yaml": "".join(
            f"{name}: &{name} [{', '.join([prev] * 10)}]\n"
            for name, prev in zip("abcdefghi", ["x", *(f"*{c}" for c in "abcdefgh")], strict=True)
        )},
    ),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_inventory_is_reported_with_file_line_column_field_and_message(inv: Path, case: Bad) -> None:
    for file, old, new in case.edits:
        edit(inv, file, old, new)
    for file, content in case.writes.items():
        path = inv / file
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    assert problems_of(inv) == case.expected


def test_at_least_25_distinct_bad_inventories_are_covered() -> None:
    assert len(BAD) >= 25


def test_file_over_the_size_limit_is_refused_unread(inv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = max(p.stat().st_size for p in inv.glob("*.yaml"))
    monkeypatch.setattr(yamlsrc, "MAX_FILE_BYTES", limit)
    # would be an alias bomb too if it were read at all
    (inv / "huge.yaml").write_text("a: &a [x, x]\nb: [*a, *a]\n" + "#" * limit + "\n", encoding="utf-8")
    size = (inv / "huge.yaml").stat().st_size
    assert problems_of(inv) == [
        f"inv/huge.yaml:1:1: file is {size:,} bytes; the limit is {limit:,} (refused unread)"
    ]


def test_literal_secret_is_never_echoed(inv: Path) -> None:
    edit(inv, "profiles.yaml", "password: env:NETMON_SSH_PASSWORD", "password: 'Tr@Vinh#2023'")
    with pytest.raises(InventoryError) as caught:
        load_inventory(inv)
    assert "Tr@Vinh#2023" not in str(caught.value)


def test_every_problem_is_reported_at_once_across_files(inv: Path) -> None:
    edit(inv, "sites.yaml", "    kind: party\n", "    kind: parti\n")
    edit(inv, "devices.yaml", "    platform: huawei\n", "    platform: huawai\n")
    edit(inv, "profiles.yaml", "community: env:NETMON_SNMP_COMMUNITY", "community: public")
    assert problems_of(inv) == [
        f"inv/devices.yaml:33:15: devices[3].platform: Input should be {PLATFORMS}",
        f"inv/profiles.yaml:4:16: snmp_profiles[0].community: {LITERAL_SECRET}",
        "inv/sites.yaml:38:11: sites[4].kind: Input should be 'party' or 'state'",
    ]


def test_reference_to_a_record_that_failed_validation_is_not_reported_again(inv: Path) -> None:
    # the site and the profile fail; the devices, link ends and windows that name them are fine
    edit(inv, "sites.yaml", "    lat: 9.7875\n", "    lat: north\n")
    edit(inv, "profiles.yaml", "community: env:NETMON_SNMP_COMMUNITY", "community: public")
    assert problems_of(inv) == [
        f"inv/profiles.yaml:4:16: snmp_profiles[0].community: {LITERAL_SECRET}",
        "inv/sites.yaml:15:10: sites[1].lat: Input should be a valid number, "
        "unable to parse string as a number",
    ]


def test_syntax_error_in_one_file_does_not_turn_its_records_into_unknown_references(inv: Path) -> None:
    edit(inv, "sites.yaml", "    name: Huyện ủy Tiểu Cần\n", "    name: Huyện ủy: Tiểu Cần\n")
    edit(inv, "devices.yaml", "    platform: huawei\n", "    platform: huawai\n")
    assert problems_of(inv) == [
        f"inv/devices.yaml:33:15: devices[3].platform: Input should be {PLATFORMS}",
        "inv/sites.yaml:37:19: YAML syntax error: mapping values are not allowed in this context",
    ]


def test_missing_inventory_folder_is_one_problem(inv: Path) -> None:
    assert problems_of(Path("nowhere")) == ["nowhere:1:1: no such file or folder"]


def test_inventory_without_province_says_so(inv: Path) -> None:
    (inv / "units.yaml").unlink()
    assert problems_of(inv) == ["inv:1:1: province: no file defines 'province' (the administrative units)"]


# ------------------------------------------------------- values that must survive
def test_vietnamese_text_survives_as_nfc(inv: Path) -> None:
    loaded = load_inventory(inv)
    name = loaded.sites["huyen-uy-tieu-can"].name
    assert name == "Huyện ủy Tiểu Cần"
    assert unicodedata.is_normalized("NFC", name)
    assert loaded.province.districts[1].communes[1].name == "Xã Phú Cần"


def test_decomposed_vietnamese_nfd_is_read_as_nfc(inv: Path) -> None:
    nfc = "Huyện ủy Tiểu Cần"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    edit(inv, "sites.yaml", f"    name: {nfc}\n", f"    name: {nfd}\n")
    assert load_inventory(inv).sites["huyen-uy-tieu-can"].name == nfc


def test_recurrence_start_22_00_stays_a_time_not_sexagesimal(inv: Path) -> None:
    window = load_inventory(inv).maintenance["bao-tri-dinh-ky"]
    assert window.recurrence is not None
    assert window.recurrence.start == time(22, 0)


def test_int_gso_codes_are_accepted_as_text(inv: Path) -> None:
    loaded = load_inventory(inv)
    assert loaded.province.districts[2].code == "848"  # `code: 848` in units.yaml
    assert loaded.sites["ubnd-cau-ngang"].district == "848"  # `district: 848`
    assert loaded.sites["ubnd-my-long-bac"].commune == "29422"  # `commune: 29422`
    bts = loaded.base_stations["viettel-tvh-tc-001"]  # `district: 846`, `commune: 29347`
    assert (bts.district, bts.commune) == ("846", "29347")


def test_ipv6_management_address_with_port(inv: Path) -> None:
    mgmt = load_inventory(inv).devices["rt-tt-cau-ngang"].mgmt
    assert str(mgmt) == "[::1]:1161"
    assert mgmt.endpoint() == ("::1", 1161)


def test_loaded_inventories_compare_equal(inv: Path) -> None:
    first, second = load_inventory(inv), load_inventory(inv)
    assert isinstance(first, Inventory)
    assert first == second


# ------------------------------------------------------------------------- CLI
def test_cli_validate_ok_prints_a_one_line_summary(inv: Path, mini_secrets: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["validate", str(inv)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("OK: 5 sites, 5 devices, 1 links, 2 base stations, 3 districts, 6 communes (")
    assert result.stderr == ""


def test_cli_validate_reads_netmon_inventory_when_no_path_is_given(
    inv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETMON_INVENTORY", str(inv))
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 5 sites")


def test_cli_validate_failure_lists_every_problem_on_stderr_and_exits_1(inv: Path) -> None:
    edit(inv, "sites.yaml", "    kind: party\n", "    kind: parti\n")
    edit(inv, "profiles.yaml", "community: env:NETMON_SNMP_COMMUNITY", "community: public")
    result = CliRunner().invoke(app, ["validate", str(inv)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"inv/profiles.yaml:4:16: snmp_profiles[0].community: {LITERAL_SECRET}",
        "inv/sites.yaml:38:11: sites[4].kind: Input should be 'party' or 'state'",
        "2 problems; nothing was changed.",
    ]


def test_cli_validate_missing_folder_exits_1(inv: Path) -> None:
    result = CliRunner().invoke(app, ["validate", "nowhere"])
    assert result.exit_code == 1
    assert "nowhere:1:1: no such file or folder" in result.stderr


def test_cli_inventory_stats_json_has_every_count(inv: Path) -> None:
    result = CliRunner().invoke(app, ["inventory", "stats", "--json", str(inv)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "districts": 3, "communes": 6, "sites": 5, "devices": 5, "links": 1,
        "base_stations": 2, "snmp_profiles": 2, "ssh_profiles": 1, "maintenance": 2,
    }


def test_cli_inventory_stats_on_a_bad_inventory_exits_1(inv: Path) -> None:
    (inv / "links.yaml").write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, ["inventory", "stats", "--json", str(inv)])
    assert result.exit_code == 1
    assert result.stdout == ""
