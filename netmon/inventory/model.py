"""The loaded inventory: :class:`Inventory` (typed, immutable) and where each record was written
(:class:`Origin`).  Made by :func:`netmon.inventory.load.load_inventory`, checked across records by
:mod:`netmon.inventory.validate`; both import it, neither imports the other's caller."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from netmon.inventory import schema as s
from netmon.inventory.yamlsrc import Source


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record was written: used to point cross-reference errors at the right line."""

    source: Source
    loc: tuple[int | str, ...]

    def at(self, *fields: int | str) -> tuple[str, int, int]:
        line, col, _ = self.source.locate(self.loc + fields)
        return self.source.file, line, col

    def field(self, *fields: int | str) -> str:
        return render_loc(self.loc + fields)


@dataclass(frozen=True)
class Inventory:
    """The validated, merged inventory. Records are keyed by id (profiles by name), in file order."""

    province: s.Province
    sites: Mapping[str, s.Site]
    devices: Mapping[str, s.Device]
    links: Mapping[str, s.Link]
    base_stations: Mapping[str, s.BaseStation]
    snmp_profiles: Mapping[str, s.SnmpProfile]
    ssh_profiles: Mapping[str, s.SshProfile]
    maintenance: Mapping[str, s.Maintenance]
    origins: Mapping[tuple[str, str], Origin] = field(default_factory=dict, compare=False, repr=False)
    broken: frozenset[tuple[str, str]] = field(default=frozenset(), compare=False, repr=False)
    """(section, key) of records that failed validation: references to them are not reported twice."""
    incomplete: bool = field(default=False, compare=False, repr=False)
    """A file could not be parsed: its records are unknown, so references are not checked."""

    def known(self, section: str, key: str) -> bool:
        """True when ``key`` exists in ``section`` — or exists but is broken (already reported),
        or may exist in a file that could not be parsed."""
        return key in getattr(self, section) or (section, key) in self.broken or self.incomplete

    @cached_property
    def districts(self) -> dict[str, s.District]:
        return {d.code: d for d in self.province.districts}

    @cached_property
    def communes(self) -> dict[str, tuple[s.District, s.Commune]]:
        return {c.code: (d, c) for d in self.province.districts for c in d.communes}

    def counts(self) -> dict[str, int]:
        """The headline numbers (``netmon inventory stats``)."""
        return {
            "districts": len(self.province.districts),
            "communes": sum(len(d.communes) for d in self.province.districts),
            "sites": len(self.sites),
            "devices": len(self.devices),
            "links": len(self.links),
            "base_stations": len(self.base_stations),
            "snmp_profiles": len(self.snmp_profiles),
            "ssh_profiles": len(self.ssh_profiles),
            "maintenance": len(self.maintenance),
        }


def render_loc(loc: Iterable[int | str]) -> str:
    """``('sites', 3, 'lat')`` → ``sites[3].lat``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
