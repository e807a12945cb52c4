"""Device facts over SSH: model, serial, OS version, uptime — parsed with ntc-templates, regexes as fallback.

Why both: ntc-templates knows many output variants, but one unexpected line
(RouterOS 7's ``build-time`` format, an SRX's ``REV 0x10``) makes a template raise
and yield nothing.  Each fact therefore has a template column *and* a plain
regex; the regex is used whenever the template gives no value.  The probe table
is data: a new platform or command variant is one entry.

Stored on the ``device`` row: ``hardware``, ``serial``, ``os_version`` and
``facts_at``.  Uptime has no column (it changes every second; ``sysUpTime`` from
SNMP tracks it) and is only reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from netmon.store.facts import update_device_facts

if TYPE_CHECKING:
    from netmon.ssh.session import Session
    from netmon.store.db import Engine

FACT_NAMES = ("hostname", "hardware", "serial", "os_version", "uptime")


@dataclass(frozen=True)
class Facts:
    hostname: str | None = None
    hardware: str | None = None
    serial: str | None = None
    os_version: str | None = None
    uptime: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def empty(self) -> bool:
        return not any(self.as_dict().values())


@dataclass(frozen=True)
class Probe:
    """One command, and where each fact is in its output."""

    command: str
    template: str | None = None
    """ntc-templates platform name (its index maps ``command`` to a template); None: regexes only."""
    columns: Mapping[str, str] = field(default_factory=dict)
    """fact → template column (lower case; a list column gives its first item)."""
    regexes: Mapping[str, str] = field(default_factory=dict)
    """fact → regex (multiline) whose first group is the value; used when the template gives nothing."""


_IOS = Probe(
    "show version",
    "cisco_ios",
    {"hostname": "hostname", "hardware": "hardware", "serial": "serial", "os_version": "version",
     "uptime": "uptime"},
    {"hostname": r"^(\S+) uptime is ", "hardware": r"^[Cc]isco (\S+) \(.*\) processor",
     "serial": r"^Processor board ID (\S+)", "os_version": r"Version ([^,\s]+)", "uptime": r"^\S+ uptime is (.+?)\s*$"},
)
PROBES: dict[str, tuple[Probe, ...]] = {
    "cisco_ios": (_IOS,),
    "cisco_xe": (_IOS,),
    "cisco_nxos": (Probe(
        "show version", "cisco_nxos",
        {"hostname": "hostname", "hardware": "platform", "serial": "serial", "os_version": "os", "uptime": "uptime"},
        {"hardware": r"^\s*cisco (?:Nexus\s*)?(\S+) [Cc]hassis", "serial": r"^\s*Processor Board ID (\S+)",
         "os_version": r"^\s*(?:NXOS|system):\s+version (\S+)", "uptime": r"^Kernel uptime is (.+?)\s*$"},
    ),),
    "cisco_xr": (Probe(
        "show version", "cisco_xr",
        {"hostname": "hostname", "hardware": "hardware", "serial": "serial", "os_version": "version",
         "uptime": "uptime"},
        {"os_version": r"Version\s+:?\s*(\S+)", "uptime": r"uptime is (.+?)\s*$"},
    ),),
    "arista_eos": (Probe(
        "show version", "arista_eos",
        {"hardware": "model", "serial": "serial_number", "os_version": "image", "uptime": "uptime"},
        {"hardware": r"^Arista (\S+)", "serial": r"^Serial number:\s*(\S+)",
         "os_version": r"^Software image version:\s*(\S+)", "uptime": r"^Uptime:\s*(.+?)\s*$"},
    ),),
    "juniper_junos": (
        Probe("show version", "juniper_junos",
              {"hostname": "hostname", "hardware": "model", "os_version": "junos_version"},
              {"hostname": r"^Hostname:\s*(\S+)", "hardware": r"^Model:\s*(\S+)",
               "os_version": r"^Junos:\s*(\S+)|\[(\d+\.\d+\S*)\]"}),
        # ntc's chassis-hardware template rejects some real lines (SRX "REV 0x10"): the regex carries it.
        Probe("show chassis hardware", None, {}, {"serial": r"^Chassis\s+(?:\S+\s+){0,2}?(\S+)\s+\S+\s*$"}),
        Probe("show system uptime", None, {}, {"uptime": r"^System booted:.*\((.+?) ago\)"}),
    ),
    "huawei": (
        Probe("display version", "huawei_vrp", {"hardware": "model", "uptime": "uptime"},
              {"os_version": r"software, Version \S+ \((?:\S+ )?(V\d+R\d+\S*)\)",
               "hardware": r"^(?:HUAWEI|Huawei|Quidway) (\S+)(?: Router)? uptime is",
               "uptime": r" uptime is (.+?)\s*$"}),
        Probe("display esn", None, {}, {"serial": r"^ESN of [^:]+:\s*(\S+)"}),
    ),
    "hp_comware": (
        Probe("display version", None, {},
              {"os_version": r"Comware Software, Version (\S+, Release \S+)",
               "hardware": r"^(?:H3C|HPE?) (\S+(?: \S+)?) uptime is", "uptime": r" uptime is (.+?)\s*$"}),
        Probe("display device manuinfo", None, {}, {"serial": r"^\s*DEVICE_SERIAL_NUMBER\s*:\s*(\S+)"}),
    ),
    "mikrotik_routeros": (
        Probe("/system resource print", "mikrotik_routeros",
              {"os_version": "version", "uptime": "uptime", "hardware": "board_name"},
              {"os_version": r"^\s*version:\s*(.+?)\s*$", "uptime": r"^\s*uptime:\s*(\S+)",
               "hardware": r"^\s*board-name:\s*(.+?)\s*$"}),
        Probe("/system routerboard print", "mikrotik_routeros", {"serial": "serial_number"},
              {"serial": r"^\s*serial-number:\s*(\S+)"}),
    ),
    "fortinet": (Probe(
        "get system status", "fortinet",
        {"hostname": "hostname", "serial": "serial_number", "os_version": "version"},
        {"hostname": r"^Hostname:\s*(\S+)", "serial": r"^Serial-Number:\s*(\S+)",
         "os_version": r"^Version:\s*(.+?)\s*$", "hardware": r"^Version:\s*(\S+)"},
    ),),
    "linux": (Probe("uname -snr", None, {}, {"hostname": r"^\S+ (\S+) ", "os_version": r"^(\S+ \S+ \S+)\s*$"}),),
}


def commands(platform: str) -> tuple[str, ...]:
    return tuple(p.command for p in PROBES.get(platform, ()))


def _template_row(probe: Probe, output: str) -> dict[str, Any]:
    if probe.template is None or not output.strip():
        return {}
    from ntc_templates.parse import parse_output  # imports textfsm: only when parsing
    from textfsm import TextFSMError
    from textfsm.clitable import CliTableError

    try:
        rows = parse_output(platform=probe.template, command=probe.command, data=output)
    except (TextFSMError, CliTableError, ValueError, IndexError):
        return {}
    return rows[0] if rows and isinstance(rows[0], dict) else {}


def _clean(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if v), None)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_facts(platform: str, outputs: Mapping[str, str]) -> Facts:
    """Facts from the outputs of :func:`commands` (``command → output``); pure, no I/O."""
    found: dict[str, str] = {}
    for probe in PROBES.get(platform, ()):
        output = outputs.get(probe.command, "")
        row = _template_row(probe, output)
        for fact in FACT_NAMES:
            if fact in found:
                continue
            value = _clean(row.get(probe.columns[fact])) if fact in probe.columns else None
            if value is None and fact in probe.regexes:
                match = re.search(probe.regexes[fact], output, re.MULTILINE)
                if match:
                    value = _clean(next((g for g in match.groups() if g), None))
            if value is not None:
                found[fact] = value
    return Facts(**found)


def collect_facts(session: Session) -> tuple[Facts, dict[str, str]]:
    """Run the platform's fact commands in ``session``; (facts, raw outputs)."""
    outputs = {command: session.send(command) for command in commands(session.target.platform)}
    return parse_facts(session.target.platform, outputs), outputs


def save_facts(engine: Engine, device_id: str, facts: Facts, at: datetime) -> bool:
    """Write the facts on the device row; False when the device is not in the database (no sync yet).

    A fact the device did not report is left as it was rather than blanked.
    """
    values: dict[str, Any] = {"facts_at": at}
    for name in ("hardware", "serial", "os_version"):
        value = getattr(facts, name)
        if value is not None:
            values[name] = value
    return update_device_facts(engine, device_id, values)
