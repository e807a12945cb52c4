"""Hostile inventories, as an operator (or a tester) writes them: ``netmon validate`` on each, asserting the exit
code and every line it prints — ``file:line:column: field: message`` for a problem (exit 1, nothing changed), or
``warning: …`` for what is valid but will not work as meant (exit 0).

Each case is a copy of ``tests/fixtures/inventory/mini`` with one mutation (see ``test_load.py`` for the first
42; these are others: the links against the devices and the uplinks, names equal after NFC, numbers that are not
numbers, mistyped references and secrets, invisible characters, sites nobody watches, duplicates blamed on the
file just added, and the warnings).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netmon.cli import app

ZWSP = "\u200b"


@pytest.fixture
def inv(mini: Path, monkeypatch: pytest.MonkeyPatch, mini_secrets: dict[str, str]) -> Path:
    """The mini inventory copy, shown as ``inv/…``; its env: secrets set (warnings only where a case wants them)."""
    monkeypatch.chdir(mini.parent)
    monkeypatch.delenv("NETMON_INVENTORY", raising=False)
    return Path("inv")


@dataclass(frozen=True)
class Hostile:
    """One mutation of mini and what ``netmon validate`` says: ``lines`` on stderr (a problem, or ``warning: …``),
    without the closing count; ``code`` the exit code."""

    lines: list[str]
    code: int = 1
    edits: list[tuple[str, str, str]] = field(default_factory=list)
    writes: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()


NO_DEVICE = ("no device at site {0!r}: netmon cannot watch it, and availability would count it as always up; add "
             "its router under 'devices:' (site: {0}), or remove the site")
NFC = "(names are compared after Unicode NFC normalisation)"
NEW_SITE = ("sites:\n  - id: {id}\n    name: {name}\n    kind: state\n    level: district\n    district: 848\n"
            "    lat: 9.78\n    lon: 106.45\n    uplink: so-tttt\n")
NEW_DEVICE = ("devices:\n  - id: rt-{id}\n    site: {id}\n    mgmt: 127.10.5.5\n    role: access\n"
              "    platform: cisco_ios\n    snmp_profile: v2-default\n")

HOSTILE: dict[str, Hostile] = {
    # ------------------------------------------------------------- the links against the devices and uplinks
    "link_end_on_an_interface_the_device_does_not_list": Hostile(
        ["inv/devices.yaml:45:42: links[0].b.interface: rt-cau-ngang does not list interface 'GigabitEthernet0/9' "
         "(inv/devices.yaml:19: GigabitEthernet0/0); did you mean 'GigabitEthernet0/0'?"],
        edits=[("devices.yaml", "interface: GigabitEthernet0/0}", "interface: GigabitEthernet0/9}")]),
    "link_end_with_a_zero_width_space_in_the_interface": Hostile(
        ["inv/devices.yaml:45:42: links[0].b.interface: rt-cau-ngang does not list interface "
         "'Gigabit\\u200bEthernet0/0' (inv/devices.yaml:19: GigabitEthernet0/0); it contains an invisible U+200B "
         "(ZERO WIDTH SPACE) at position 8"],
        edits=[("devices.yaml", "interface: GigabitEthernet0/0}", f"interface: Gigabit{ZWSP}Ethernet0/0}}")]),
    "the_same_link_written_twice_ends_swapped": Hostile(
        ["inv/devices.yaml:49:9: links[1].id: the same link as 'core-cau-ngang' (inv/devices.yaml:43): both join "
         "rt-cau-ngang GigabitEthernet0/0 and rt-core GigabitEthernet0/0/1; keep one"],
        edits=[("devices.yaml", "\n    provider: VNPT\n    bandwidth_mbps: 100\n",
                "\n    provider: VNPT\n    bandwidth_mbps: 100\n  - id: cau-ngang-core\n"
                "    a: {device: rt-cau-ngang, interface: GigabitEthernet0/0}\n"
                "    b: {device: rt-core, interface: GigabitEthernet0/0/1}\n")]),
    "an_uplink_the_links_contradict": Hostile(
        ["inv/sites.yaml:17:13: sites[1].uplink: uplink is 'huyen-uy-tieu-can' but the links join 'ubnd-cau-ngang' "
         "to 'so-tttt' (link 'core-cau-ngang', inv/devices.yaml:43), not to it: fix the uplink or the link"],
        edits=[("sites.yaml", "    lon: 106.4489\n    uplink: so-tttt\n",
                "    lon: 106.4489\n    uplink: huyen-uy-tieu-can\n")]),
    "a_link_from_a_device_to_itself": Hostile(
        ["inv/devices.yaml:45:8: links[0].b: both ends are the same interface"],
        edits=[("devices.yaml", "b: {device: rt-cau-ngang, interface: GigabitEthernet0/0}",
                "b: {device: rt-core, interface: GigabitEthernet0/0/1}")]),
    # ------------------------------------------------------------- sites nobody watches, names written twice
    "a_site_without_a_device": Hostile(
        ["inv/sites2.yaml:2:9: sites[0].id: " + NO_DEVICE.format("ubnd-xa-hiep-hoa")],
        writes={"sites2.yaml": NEW_SITE.format(id="ubnd-xa-hiep-hoa", name="UBND xã Hiệp Hòa")}),
    "the_same_agency_twice_once_typed_in_nfd": Hostile(
        ["inv/sites2.yaml:3:11: sites[0].name: the same name as site 'ubnd-cau-ngang' (inv/sites.yaml:11) in "
         f"Huyện Cầu Ngang: one agency written twice? {NFC}"],
        writes={"sites2.yaml": NEW_SITE.format(id="ubnd-cau-ngang-2",
                                               name=unicodedata.normalize("NFD", "UBND Huyện Cầu Ngang"))
                + NEW_DEVICE.format(id="ubnd-cau-ngang-2")}),
    "the_same_agency_twice_case_and_spacing_aside": Hostile(
        ["inv/sites2.yaml:3:11: sites[0].name: the same name as site 'ubnd-cau-ngang' (inv/sites.yaml:11) in "
         f"Huyện Cầu Ngang: one agency written twice? {NFC}"],
        writes={"sites2.yaml": NEW_SITE.format(id="ubnd-cau-ngang-2", name="ubnd  huyện CẦU NGANG")
                + NEW_DEVICE.format(id="ubnd-cau-ngang-2")}),
    "two_communes_of_one_district_with_one_name": Hostile(
        [f"inv/units.yaml:22:33: province.districts[1].communes[1].name: the same name as the commune at line 21 in "
         f"Huyện Tiểu Cần {NFC}"],
        edits=[("units.yaml", "name: Xã Phú Cần", "name: Thị trấn Tiểu Cần")]),
    "two_districts_with_one_name": Hostile(
        [f"inv/units.yaml:24:13: province.districts[2].name: the same name as the district at line 16 {NFC}"],
        edits=[("units.yaml", "      name: Huyện Cầu Ngang\n", "      name: HUYỆN  TIỂU CẦN\n")]),
    # ------------------------------------------------------------- numbers that are not numbers
    "contracted_bandwidth_infinite": Hostile(
        ["inv/devices.yaml:22:25: devices[1].interfaces[0].bandwidth_mbps: must be a finite number (.nan and .inf "
         "are not numbers here)"],
        edits=[("devices.yaml", "        bandwidth_mbps: 100\n", "        bandwidth_mbps: .inf\n")]),
    "link_bandwidth_typed_in_bit_per_second": Hostile(
        ["inv/devices.yaml:48:21: links[0].bandwidth_mbps: 1e+08 Mbit/s is not a real circuit (at most 400,000 = "
         "400 Gbit/s): bandwidth_mbps is in Mbit/s, not kbit/s or bit/s"],
        edits=[("devices.yaml", "\n    provider: VNPT\n    bandwidth_mbps: 100\n",
                "\n    provider: VNPT\n    bandwidth_mbps: 100000000\n")]),
    "contracted_bandwidth_zero": Hostile(
        ["inv/devices.yaml:22:25: devices[1].interfaces[0].bandwidth_mbps: Input should be greater than 0"],
        edits=[("devices.yaml", "        bandwidth_mbps: 100\n", "        bandwidth_mbps: 0\n")]),
    "latitude_not_a_number": Hostile(
        ["inv/sites.yaml:8:10: sites[0].lat: must be a finite number (.nan and .inf are not numbers here)"],
        edits=[("sites.yaml", "    lat: 9.9347\n", "    lat: .nan\n")]),
    "lat_and_lon_swapped": Hostile(
        ["inv/base_stations.yaml:11:5: base_stations[1]: lat 106.1699 and lon 9.8083 look swapped: latitude "
         "(north–south) is within ±90"],
        edits=[("base_stations.yaml", "    lat: 9.8083\n    lon: 106.1699\n", "    lat: 106.1699\n    lon: 9.8083\n")]),
    "snmp_timeout_zero": Hostile(
        ["inv/profiles.yaml:12:16: snmp_profiles[1].timeout_s: Input should be greater than 0"],
        edits=[("profiles.yaml", "timeout_s: 3", "timeout_s: 0")]),
    "snmp_port_out_of_range": Hostile(
        ["inv/profiles.yaml:13:11: snmp_profiles[1].port: Input should be less than 65536"],
        edits=[("profiles.yaml", "    timeout_s: 3\n", "    timeout_s: 3\n    port: 70000\n")]),
    "management_port_zero": Hostile(
        ["inv/devices.yaml:31:11: devices[3].mgmt: port '0' is not a number from 1 to 65535"],
        edits=[("devices.yaml", "mgmt: 127.10.1.3:1161", "mgmt: 127.10.1.3:0")]),
    # ------------------------------------------------------------- references and secrets, mistyped
    "secret_file_with_a_relative_path_is_not_called_a_literal": Hostile(
        ["inv/profiles.yaml:11:15: snmp_profiles[1].priv_key: file: needs an absolute path: 'secrets/x' is "
         "relative (netmon does not guess the folder); write file:/…/secrets/x"],
        edits=[("profiles.yaml", "file:/etc/netmon/snmp-priv.key", "file:secrets/x")]),
    "secret_env_name_that_is_not_a_name": Hostile(
        ["inv/profiles.yaml:17:15: ssh_profiles[0].password: env: needs a variable name of letters, digits and "
         "'_', not starting with a digit (e.g. env:NETMON_SNMP_COMMUNITY)"],
        edits=[("profiles.yaml", "password: env:NETMON_SSH_PASSWORD", "password: env:Tr@Vinh#2023")]),
    "unknown_snmp_profile_gets_a_did_you_mean": Hostile(
        ["inv/devices.yaml:40:19: devices[4].snmp_profile: unknown SNMP profile 'v2-defualt'; did you mean "
         "'v2-default'?"],
        edits=[("devices.yaml", "    platform: juniper_junos\n    snmp_profile: v2-default\n",
                "    platform: juniper_junos\n    snmp_profile: v2-defualt\n")]),
    "reference_with_an_invisible_character_says_so": Hostile(
        ["inv/base_stations.yaml:10:19: base_stations[0].snmp_profile: unknown SNMP profile 'v2-default\\u200b'; "
         "it contains an invisible U+200B (ZERO WIDTH SPACE) at position 11"],
        edits=[("base_stations.yaml", "snmp_profile: v2-default", f"snmp_profile: v2-default{ZWSP}")]),
    "id_reference_with_a_zero_width_space": Hostile(
        ["inv/devices.yaml:3:11: devices[0].site: must be a lower-case id: letters a-z, digits, '.', '_', '-' "
         "(at most 64); it contains an invisible U+200B (ZERO WIDTH SPACE) at position 8"],
        edits=[("devices.yaml", "    site: so-tttt\n", f"    site: so-tttt{ZWSP}\n")]),
    "unknown_device_in_a_maintenance_window_gets_a_did_you_mean": Hostile(
        ["inv/maintenance.yaml:11:15: maintenance[1].devices[0]: unknown device 'rt-tt-cau-ngan'; did you mean "
         "'rt-tt-cau-ngang'?"],
        edits=[("maintenance.yaml", "devices: [rt-tt-cau-ngang]", "devices: [rt-tt-cau-ngan]")]),
    "district_given_by_name_instead_of_code": Hostile(
        ["inv/sites.yaml:40:15: sites[4].district: must be a GSO code of 2 to 5 digits (e.g. 848 for Huyện Cầu "
         "Ngang), not a name"],
        edits=[("sites.yaml", '    district: "846"', "    district: Tiểu Cần")]),
    # ------------------------------------------------------------- duplicates: blame the copy just written
    "duplicate_in_a_new_file_that_sorts_first_blames_the_new_file": Hostile(
        ["inv/a-sites.yaml:2:9: sites[0].id: duplicate id 'ubnd-cau-ngang' (already in inv/sites.yaml:10, an "
         "older file)"],
        writes={"a-sites.yaml": NEW_SITE.format(id="ubnd-cau-ngang", name="UBND Huyện Cầu Ngang (mới)")}),
    "duplicate_device_id_in_one_file_blames_the_second": Hostile(
        ["inv/devices.yaml:41:9: devices[5].id: duplicate id 'rt-core' (first at line 2)"],
        edits=[("devices.yaml", "\nlinks:\n", "  - id: rt-core\n    site: so-tttt\n    mgmt: 127.10.7.7\n"
                "    role: core\n    platform: cisco_xe\n    snmp_profile: v3-core\n\nlinks:\n")]),
    # ------------------------------------------------------------- records that cannot work
    "snmpv3_privacy_without_authentication": Hostile(
        ["inv/profiles.yaml:5:5: snmp_profiles[1]: 'auth_protocol' and 'auth_key' go together"],
        edits=[("profiles.yaml", "    auth_protocol: SHA256\n", "")]),
    "base_station_with_an_address_but_no_profile": Hostile(
        ["inv/base_stations.yaml:2:5: base_stations[0]: a base station with 'mgmt' needs 'snmp_profile'"],
        edits=[("base_stations.yaml", "    snmp_profile: v2-default\n", "")]),
    "base_station_without_technologies": Hostile(
        ["inv/base_stations.yaml:13:19: base_stations[1].technologies: List should have at least 1 item after "
         "validation, not 0"],
        edits=[("base_stations.yaml", "technologies: [4G, 5G]", "technologies: []")]),
    "interface_listed_twice": Hostile(
        ["inv/devices.yaml:19:7: devices[1].interfaces: interface 'GigabitEthernet0/0' is listed twice"],
        edits=[("devices.yaml", "        bandwidth_mbps: 100\n",
                "        bandwidth_mbps: 100\n      - name: GigabitEthernet0/0\n")]),
    "maintenance_window_without_a_time_zone": Hostile(
        ["inv/maintenance.yaml:9:5: maintenance[1]: 'start' and 'end' need a time zone, e.g. "
         "2026-12-01T22:00:00+07:00"],
        edits=[("maintenance.yaml", "start: 2026-12-01T22:00:00+07:00", "start: 2026-12-01T22:00:00"),
               ("maintenance.yaml", "end: 2026-12-02T02:00:00+07:00", "end: 2026-12-02T02:00:00")]),
    "maintenance_window_for_nothing": Hostile(
        ["inv/maintenance.yaml:9:5: maintenance[1]: a maintenance window needs at least one of 'sites', "
         "'devices', 'base_stations'"],
        edits=[("maintenance.yaml", "    devices: [rt-tt-cau-ngang]\n    base_stations: [vnpt-tvh-cn-001]\n", "")]),
    "merge_key_on_a_number": Hostile(
        ["inv/sites.yaml:10:5: '<<' merge needs a mapping or a list of mappings"],
        edits=[("sites.yaml", "  - id: ubnd-cau-ngang\n", "  - <<: 5\n    id: ubnd-cau-ngang\n")]),
    "tab_indentation": Hostile(
        ["inv/maintenance.yaml:4:1: YAML syntax error: found a tab character that violates indentation"],
        edits=[("maintenance.yaml", "    sites: [ubnd-cau-ngang]\n", "\tsites: [ubnd-cau-ngang]\n")]),
    # ------------------------------------------------------------- warnings: valid, but will not work as meant
    "an_env_secret_that_is_not_set_is_a_warning": Hostile(
        ["warning: inv/profiles.yaml:18:20: ssh_profiles[0].enable_secret: environment variable NETMON_SSH_ENABLE "
         "is not set: 'netmon run' and 'netmon sync' refuse to start without it"],
        code=0, unset=("NETMON_SSH_ENABLE",)),
    "no_links_at_all_is_a_warning": Hostile(
        ["warning: inv/devices.yaml:2:5: links: the inventory has no links: no link is monitored (LinkDown, "
         "LinkFlapping, utilisation come from 'links:' only; a device's 'interfaces:' feed bandwidth metrics); add "
         "a 'links:' section"],
        code=0, edits=[("devices.yaml", "\nlinks:\n  - id: core-cau-ngang\n"
                        "    a: {device: rt-core, interface: GigabitEthernet0/0/1}\n"
                        "    b: {device: rt-cau-ngang, interface: GigabitEthernet0/0}\n"
                        "    circuit: VNPT-TVH-0102\n    provider: VNPT\n    bandwidth_mbps: 100\n", "\n")]),
    "a_watched_interface_on_no_link_is_a_warning": Hostile(
        ["warning: inv/devices.yaml:30:15: devices[2].interfaces[0].name: watched interface 'ether1' is on no "
         "link: its state raises no LinkDown (only 'links:' are monitored); add a link with this end, or keep it "
         "for its traffic"],
        code=0, edits=[("devices.yaml", "    platform: mikrotik_routeros\n    snmp_profile: v2-default\n",
                        "    platform: mikrotik_routeros\n    snmp_profile: v2-default\n"
                        "    interfaces:\n      - name: ether1\n")]),
}


@pytest.mark.parametrize("case", HOSTILE.values(), ids=HOSTILE.keys())
def test_validate_names_file_line_field_and_what_to_do(inv: Path, case: Hostile,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for file, old, new in case.edits:
        content = (inv / file).read_text(encoding="utf-8")
        assert content.count(old) == 1, f"{old!r} must occur exactly once in {file}"
        (inv / file).write_text(content.replace(old, new), encoding="utf-8")
    for file, text in case.writes.items():
        (inv / file).write_text(text, encoding="utf-8")
    for name in case.unset:
        monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["validate", str(inv)])
    assert result.exit_code == case.code, result.output
    lines = result.stderr.splitlines()
    n = len(case.lines)
    if case.code == 0:
        assert lines == [*case.lines, f"{n} warning{'s' if n != 1 else ''} (they do not stop a sync)."]
        assert result.stdout.startswith("OK: ")
    else:
        assert lines == [*case.lines, f"{n} problem{'s' if n != 1 else ''}; nothing was changed."]
        assert result.stdout == ""
    assert "Traceback" not in result.output


def test_at_least_30_hostile_inventories_beyond_the_first_42() -> None:
    from test_load import BAD

    assert len(HOSTILE) >= 30 and len(BAD) >= 42
    assert not set(HOSTILE) & set(BAD)


def test_no_secret_value_is_echoed(inv: Path) -> None:
    edit = (inv / "profiles.yaml").read_text(encoding="utf-8").replace("password: env:NETMON_SSH_PASSWORD",
                                                                       "password: env:Tr@Vinh#2023")
    (inv / "profiles.yaml").write_text(edit, encoding="utf-8")
    assert "Tr@Vinh#2023" not in CliRunner().invoke(app, ["validate", str(inv)]).output
    assert os.environ["NETMON_LANG"] == "en"
