"""The inventory commands: ``netmon validate``, ``netmon sync`` and ``netmon inventory …`` (stats, list,
export, generate, show)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from netmon.cli.common import (
    DatabaseOpt,
    PathArg,
    district_codes,
    err,
    inventory_districts,
    load_or_exit,
    local_time,
    open_database,
    out,
    unknown_device,
)

if TYPE_CHECKING:
    from netmon.store.db import Engine
    from netmon.store.sync import Plan

inventory_app = typer.Typer(
    help="Look at the inventory: list, stats, export, generate.", no_args_is_help=True
)


@inventory_app.command("show")
def inventory_show(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE", help="Device id.")],
    path: PathArg = None,
    database: DatabaseOpt = None,
) -> None:
    """One device: its inventory record, the facts learnt from it, and its last configuration backup."""
    from netmon.store.backups import versions
    from netmon.store.facts import device_facts

    inv = load_or_exit(path)
    device = inv.devices.get(device_id)
    if device is None:
        raise unknown_device(inv, device_id)
    site = inv.sites.get(device.site)
    district = inv.districts.get(site.district) if site and site.district else None
    engine = open_database(database, read_only=True)
    row = device_facts(engine, device_id)
    history = versions(engine, device_id)

    table = Table("", "", title=f"{device.id}", show_header=False, title_justify="left")

    def add(label: str, value: Any) -> None:
        table.add_row(f"[bold]{label}[/]", escape(str(value)) if value not in (None, "") else "—")

    add("site", f"{site.name} ({site.id})" if site else device.site)
    add("district", district.name if district else None)
    add("management", device.mgmt)
    add("role", device.role.value)
    add("platform", device.platform)
    add("model (inventory)", device.model)
    add("snmp profile", device.snmp_profile)
    add("ssh profile", device.ssh_profile)
    for itf in device.interfaces:
        add(f"watched {itf.role.value}", " ".join(x for x in (itf.name, itf.circuit, itf.provider) if x))
    table.add_section()
    if row is None:
        add("facts", "not in the database (run 'netmon sync')")
    else:
        add("hardware", row.hardware)
        add("serial", row.serial)
        add("os version", row.os_version)
        add("sysName", row.sys_name)
        add("sysDescr", (row.sys_descr or "").splitlines()[0] if row.sys_descr else None)
        add("facts at", local_time(row.facts_at) if row.facts_at else None)
        if row.hardware and device.model and device.model.lower() not in row.hardware.lower():
            add("note", f"inventory says model {device.model}, the device reports {row.hardware}")
    table.add_section()
    add("config versions", len(history))
    add("last backup", f"{local_time(history[-1].taken_at)} sha256:{history[-1].sha256[:12]}" if history else None)
    out.print(table)


def _summary(counts: dict[str, int]) -> str:
    return (
        f"{counts['sites']} sites, {counts['devices']} devices, {counts['links']} links, "
        f"{counts['base_stations']} base stations, {counts['districts']} districts, "
        f"{counts['communes']} communes"
    )


def validate(path: PathArg = None) -> None:
    """Check the inventory and report every problem as file:line:column: field: message."""
    started = time.perf_counter()
    inv = load_or_exit(path)
    out.print(f"OK: {_summary(inv.counts())} ({time.perf_counter() - started:.2f} s)", soft_wrap=True)


AllowDeletionsOpt = Annotated[bool, typer.Option(
    "--allow-deletions", help="Apply a sync that empties a table or removes more than 10 % of one.")]


def sync(
    path: PathArg = None,
    plan_only: Annotated[bool, typer.Option("--plan", help="Only print what would change (the database is "
                                                           "neither created nor migrated).")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="With --plan: every row, not the first 20 per "
                                                         "table.")] = False,
    allow_deletions: AllowDeletionsOpt = False,
    database: DatabaseOpt = None,
) -> None:
    """Make the database match the inventory, in one transaction (refused when validation fails, and — unless
    confirmed — when it would empty a table or remove more than 10 % of one)."""
    from netmon.store import sync as syncer

    inv = load_or_exit(path)  # before the database is even opened: a bad inventory changes nothing
    if plan_only:
        plan = syncer.plan(_planning_database(database), inv)
    else:
        engine = open_database(database)
        plan = syncer.plan(engine, inv)
    if plan.empty:
        out.print("No changes: the database already matches the inventory.")
        return
    table = Table("table", "add", "change", "remove", title="Plan" if plan_only else "Applied")
    for name, counts in plan.summary().items():
        table.add_row(name, str(counts["add"]), str(counts["change"]), str(counts["remove"]))
    if plan_only:
        out.print(table)
        _print_plan_rows(plan, None if show_all else PLAN_ROWS)
        for mass in plan.mass_deletions():
            err.print(f"warning: {mass}; 'netmon sync' will ask for --allow-deletions", markup=False)
        return
    confirm_deletions(plan, allow_deletions)
    syncer.apply(engine, plan)
    out.print(table)


PLAN_ROWS = 20


def _print_plan_rows(plan: Plan, limit: int | None) -> None:
    for name, changes in plan.tables.items():
        lines = [f"  + {name} {_row_key(added)}" for added in changes.add]
        lines += [f"  ~ {name} {_row_key(row)}: " + ", ".join(f"{c}: {old!r} → {new!r}" for c, (old, new) in
                                                             diff.items()) for row, diff in changes.change]
        lines += [f"  - {name} {key}" for key in changes.remove]
        for line in lines if limit is None else lines[:limit]:
            out.print(line, markup=False, soft_wrap=True)
        if limit is not None and len(lines) > limit:
            out.print(f"  … and {len(lines) - limit:,} more {name} change(s) (--all lists every one)",
                      markup=False, soft_wrap=True)


def _planning_database(database: str | None) -> Engine | None:
    """The database to compare with, read as it is: None when there is none yet (everything is added)."""
    from netmon.settings import get_settings
    from netmon.store.db import DatabaseMissing, open_existing, schema_is_current

    try:
        engine = open_existing(database or get_settings().database_url)
    except DatabaseMissing:
        return None
    current = schema_is_current(engine)
    if current is None:
        return None
    if not current:
        err.print("the database has an older schema: 'netmon sync' migrates it first; no plan without that",
                  markup=False)
        raise typer.Exit(1)
    return engine


def confirm_deletions(plan: Plan, allowed: bool) -> None:
    """A mass deletion goes ahead only with --allow-deletions, or a typed "yes" at a terminal; else exit 1
    with nothing changed. (The folder that lost a file, the sync of one file instead of the folder.)"""
    mass = plan.mass_deletions()
    if not mass or allowed:
        return
    for m in mass:
        err.print(f"{m}", markup=False)
    if sys.stdin.isatty():
        answer = typer.prompt("Type yes to delete them", default="no", show_default=False)
        if answer.strip().lower() == "yes":
            return
    err.print("refused: nothing was changed (re-run with --allow-deletions if this is what you want; "
              "'netmon sync --plan' lists the rows)", markup=False)
    raise typer.Exit(1)


def _row_key(row: dict[str, Any]) -> Any:
    return row.get("id", row.get("code", row.get("name")))


@inventory_app.command("stats")
def inventory_stats(
    path: PathArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Counts of sites, devices, links, base stations, districts, communes."""
    counts = load_or_exit(path).counts()
    if as_json:
        sys.stdout.write(json.dumps(counts) + "\n")  # plain: rich would wrap it at the console width
        return
    table = Table("what", "count")
    for key, value in counts.items():
        table.add_row(key, f"{value:,}")
    out.print(table)


@inventory_app.command("list")
def inventory_list(
    path: PathArg = None,
    district: Annotated[str | None, typer.Option(help="District GSO code or (part of) its name.")] = None,
    kind: Annotated[str | None, typer.Option(help="party or state.")] = None,
    level: Annotated[str | None, typer.Option(help="province, district or commune.")] = None,
) -> None:
    """List the agency sites with their router and uplink."""
    inv = load_or_exit(path)
    codes = district_codes(inventory_districts(inv), district) if district else None
    routers = {d.site: d for d in inv.devices.values()}
    table = Table("site", "name", "kind", "level", "district", "router", "mgmt", "uplink")
    shown = 0
    for site in inv.sites.values():
        if codes is not None and site.district not in codes:
            continue
        if (kind and site.kind.value != kind) or (level and site.level.value != level):
            continue
        router = routers.get(site.id)
        dname = inv.districts[site.district].name if site.district else "—"
        table.add_row(site.id, site.name, site.kind.value, site.level.value, dname,
                      router.id if router else "—", str(router.mgmt) if router else "—", site.uplink or "—")
        shown += 1
    out.print(table)
    out.print(f"{shown} site(s)")


@inventory_app.command("export")
def inventory_export(
    path: PathArg = None,
    fmt: Annotated[str, typer.Option("--format", help="csv (sites) or json (everything).")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export the inventory: json (the whole validated inventory) or csv (one row per site)."""
    from netmon.inventory.export import to_csv, to_json

    inv = load_or_exit(path)
    if fmt not in ("csv", "json"):
        err.print("--format must be csv or json")
        raise typer.Exit(2)
    text = to_json(inv) if fmt == "json" else to_csv(inv)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@inventory_app.command("generate")
def inventory_generate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the YAML files into.")
    ] = Path("inventory"),
    scale: Annotated[int, typer.Option(min=1, max=50, help="Copies of the province (10 → 1,500 sites).")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the YAML files of a folder that has some.")]
    = False,
) -> None:
    """Write the sample Trà Vinh province (real units, illustrative devices) as YAML."""
    from netmon.inventory.sample import write_sample

    if out_dir.is_dir() and not force and any(p.suffix in (".yaml", ".yml") for p in out_dir.iterdir()):
        err.print(f"{out_dir} already holds inventory files (your inventory?): nothing was written; choose "
                  "another --out, or --force to overwrite them with the sample", markup=False)
        raise typer.Exit(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Any] = write_sample(out_dir, scale=scale)
    out.print(f"wrote {out_dir}: {counts}", markup=False, soft_wrap=True)
