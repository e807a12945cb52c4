"""Facts parsing from realistic command outputs (ntc-templates first, regex when a template gives nothing)."""

from __future__ import annotations

import pytest
from sshfake import fixture

from netmon.ssh.facts import PROBES, Facts, commands, parse_facts

CASES = {
    "cisco_ios": ({"show version": "cisco_ios/show_version.txt"},
                  Facts("TVH-RT-CAUNGANG", "CISCO2911/K9", "FGL1931X1AB", "15.7(3)M8",
                        "12 weeks, 3 days, 4 hours, 17 minutes")),
    "cisco_xe": ({"show version": "cisco_xe/show_version.txt"},
                 Facts("TVH-RT-CORE", "ISR4451-X/K9", "FOC2231X0QZ", "16.9.4",
                       "1 year, 6 weeks, 2 days, 1 hour, 9 minutes")),
    "arista_eos": ({"show version": "arista_eos/show_version.txt"},
                   Facts(None, "DCS-7050SX3-48YC8-R", "JPE21102345", "4.28.3M",
                         "23 weeks, 4 days, 6 hours and 52 minutes")),
    "juniper_junos": ({"show version": "juniper_junos/show_version.txt",
                       "show chassis hardware": "juniper_junos/show_chassis_hardware.txt",
                       "show system uptime": "juniper_junos/show_system_uptime.txt"},
                      Facts("TVH-HU-TIEUCAN", "srx345", "CX3019AF0456", "21.4R3-S5.4", "12w0d 01:09")),
    "huawei": ({"display version": "huawei/display_version.txt", "display esn": "huawei/display_esn.txt"},
               Facts(None, "AR2220E", "2102351931P0C3000154", "V200R010C10SPC500", "45 days, 3 hours, 12 minutes")),
    # RouterOS 7's build-time format makes the ntc template raise: the regexes must carry it.
    "mikrotik_routeros": ({"/system resource print": "mikrotik_routeros/system_resource.txt",
                           "/system routerboard print": "mikrotik_routeros/system_routerboard.txt"},
                          Facts(None, "RB4011iGS+", "HE208F29VJQ", "7.14.3 (stable)", "3w2d5h17m44s")),
}


@pytest.mark.parametrize("platform", sorted(CASES))
def test_facts_from_realistic_outputs(platform: str) -> None:
    files, expected = CASES[platform]
    assert set(files) == set(commands(platform))
    assert parse_facts(platform, {cmd: fixture(path) for cmd, path in files.items()}) == expected


def test_error_output_gives_no_facts_rather_than_garbage() -> None:
    facts = parse_facts("cisco_ios", {"show version": "% Invalid input detected at '^' marker."})
    assert facts.empty


def test_unknown_platform_has_no_probes() -> None:
    assert commands("nokia_sros") == ()
    assert parse_facts("nokia_sros", {}).empty


def test_every_inventory_platform_has_probes() -> None:
    from netmon.inventory.schema import PLATFORMS

    assert set(PLATFORMS) <= set(PROBES)
