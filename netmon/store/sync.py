"""Make the database match the inventory: a plan (pure) and its application (one transaction).

Only inventory columns are compared and written; facts a poller learnt about a
device survive a sync untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlmodel import SQLModel

from netmon.inventory import schema as s
from netmon.inventory.load import Inventory
from netmon.store import models as m
from netmon.store.models import table

Row = dict[str, Any]


def _unit_rows(inv: Inventory) -> Iterable[Row]:
    p = inv.province
    yield {"code": p.code, "name": p.name, "type": "tỉnh", "level": "province", "parent_code": None,
           "lat": None, "lon": None}
    for d in p.districts:
        yield {"code": d.code, "name": d.name, "type": d.type.value, "level": "district",
               "parent_code": p.code, "lat": d.lat, "lon": d.lon}
        for c in d.communes:
            yield {"code": c.code, "name": c.name, "type": c.type.value, "level": "commune",
                   "parent_code": d.code, "lat": c.lat, "lon": c.lon}


def _site_row(x: s.Site) -> Row:
    return x.model_dump(mode="json")


def _device_row(x: s.Device) -> Row:
    row = x.model_dump(mode="json", exclude_none=False)
    row["interfaces"] = [i.model_dump(mode="json", exclude_none=True) for i in x.interfaces]
    return row


def _link_row(x: s.Link) -> Row:
    return {"id": x.id, "a_device": x.a.device, "a_interface": x.a.interface, "b_device": x.b.device,
            "b_interface": x.b.interface, "circuit": x.circuit, "provider": x.provider,
            "bandwidth_mbps": x.bandwidth_mbps}


def _bts_row(x: s.BaseStation) -> Row:
    return x.model_dump(mode="json")


def _snmp_row(x: s.SnmpProfile) -> Row:
    d = x.model_dump(mode="json")
    for key in ("community", "auth_key", "priv_key"):
        d[f"{key}_ref"] = d.pop(key)
    return d


def _ssh_row(x: s.SshProfile) -> Row:
    d = x.model_dump(mode="json")
    for key in ("password", "key_file", "enable_secret"):
        d[f"{key}_ref"] = d.pop(key)
    return d


def _maintenance_row(x: s.Maintenance) -> Row:
    spec = x.model_dump(mode="json", exclude={"id", "description"}, exclude_none=True)
    return {"id": x.id, "description": x.description, "spec": spec}


@dataclass(frozen=True)
class TableSpec:
    name: str
    table: type[SQLModel]
    key: str
    rows: Callable[[Inventory], Iterable[Row]]


TABLES: tuple[TableSpec, ...] = (
    TableSpec("units", m.Unit, "code", _unit_rows),
    TableSpec("sites", m.Site, "id", lambda inv: map(_site_row, inv.sites.values())),
    TableSpec("devices", m.Device, "id", lambda inv: map(_device_row, inv.devices.values())),
    TableSpec("links", m.Link, "id", lambda inv: map(_link_row, inv.links.values())),
    TableSpec("base_stations", m.BaseStation, "id", lambda inv: map(_bts_row, inv.base_stations.values())),
    TableSpec("snmp_profiles", m.SnmpProfile, "name", lambda inv: map(_snmp_row, inv.snmp_profiles.values())),
    TableSpec("ssh_profiles", m.SshProfile, "name", lambda inv: map(_ssh_row, inv.ssh_profiles.values())),
    TableSpec(
        "maintenance", m.Maintenance, "id", lambda inv: map(_maintenance_row, inv.maintenance.values())
    ),
)


@dataclass
class TableChanges:
    add: list[Row] = field(default_factory=list)
    # row, {column: (old, new)}
    change: list[tuple[Row, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    existing: int = 0
    """Rows in the database before the sync."""

    def __bool__(self) -> bool:
        return bool(self.add or self.change or self.remove)


@dataclass(frozen=True, slots=True)
class MassDeletion:
    """A table a sync would empty, or lose more than the allowed share of."""

    table: str
    remove: int
    existing: int

    def __str__(self) -> str:
        share = self.remove / self.existing if self.existing else 1.0
        what = "every row" if self.remove == self.existing else f"{share:.0%} of its rows"
        return f"{self.table}: {self.remove:,} of {self.existing:,} would be removed ({what})"


DELETION_SHARE = 0.10
"""A sync that removes more than this share of any table (or empties one) needs an explicit yes."""


@dataclass
class Plan:
    tables: dict[str, TableChanges]

    @property
    def empty(self) -> bool:
        return not any(self.tables.values())

    def mass_deletions(self, share: float = DELETION_SHARE) -> list[MassDeletion]:
        """Tables this plan would empty or cut by more than ``share``: an inventory folder that lost a file,
        a sync pointed at one file instead of the folder — a destructive change that needs a yes."""
        out = []
        for name, c in self.tables.items():
            if c.remove and (len(c.remove) == c.existing or len(c.remove) > share * c.existing):
                out.append(MassDeletion(name, len(c.remove), c.existing))
        return out

    def summary(self) -> dict[str, dict[str, int]]:
        return {
            name: {"add": len(c.add), "change": len(c.change), "remove": len(c.remove)}
            for name, c in self.tables.items()
            if c
        }


def plan(engine: Engine | None, inv: Inventory) -> Plan:
    """What :func:`apply` would do: compare the inventory with the database, table by table (``None``: a
    database that does not exist yet — everything is added)."""
    if engine is None:
        return Plan({spec.name: TableChanges(add=list(spec.rows(inv))) for spec in TABLES})
    with engine.connect() as conn:
        return Plan({spec.name: _diff(conn, spec, inv) for spec in TABLES})


def _diff(conn: Connection, spec: TableSpec, inv: Inventory) -> TableChanges:
    wanted = {row[spec.key]: row for row in spec.rows(inv)}
    columns = list(next(iter(wanted.values())).keys()) if wanted else [spec.key]
    t = table(spec.table)
    result = conn.execute(select(*[t.c[c] for c in columns]))
    current = {r[spec.key]: r for r in (dict(row._mapping) for row in result)}
    changes = TableChanges()
    for key, row in wanted.items():
        old = current.get(key)
        if old is None:
            changes.add.append(row)
            continue
        diff = {c: (old[c], row[c]) for c in columns if not _same(old[c], row[c])}
        if diff:
            changes.change.append((row, diff))
    changes.remove = sorted(k for k in current if k not in wanted)
    changes.existing = len(current)
    return changes


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9
    return bool(a == b)


def apply(engine: Engine, p: Plan) -> None:
    """Apply ``p`` in one transaction: all of it or nothing."""
    by_name = {spec.name: spec for spec in TABLES}
    with engine.begin() as conn:
        for name, changes in p.tables.items():
            spec = by_name[name]
            t = table(spec.table)
            key_col = t.c[spec.key]
            if changes.remove:
                for chunk in _chunks(changes.remove, 500):
                    conn.execute(delete(t).where(key_col.in_(chunk)))
            if changes.add:
                conn.execute(insert(t), changes.add)
            for row, diff in changes.change:
                conn.execute(update(t).where(key_col == row[spec.key]).values({c: row[c] for c in diff}))


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
