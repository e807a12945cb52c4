"""The inventory commands: ``netmon validate``, ``netmon sync`` and ``netmon inventory …`` (stats, list,
export, generate, show)."""

from __future__ import annotations

import json
import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from netmon.cli.common import (
    Column,
    DatabaseOpt,
    Format,
    FormatOpt,
    PathArg,
    district_codes,
    emit,
    fail,
    human_time,
    inventory_districts,
    iso_time,
    load_or_exit,
    open_database,
    out,
    print_problems,
    say,
    typed_yes,
    unknown_device,
)
from netmon.inventory.load import Inventory
from netmon.inventory.schema import Level, SiteKind
from netmon.lang import t

if TYPE_CHECKING:
    from netmon.store.db import Engine
    from netmon.store.sync import Plan

class RecordFormat(StrEnum):
    """How one record is printed: a table for people, JSON for scripts."""

    TABLE = "table"
    JSON = "json"


inventory_app = typer.Typer(
    help="Look at the inventory: list, stats, export, generate.", no_args_is_help=True
)


@inventory_app.command("show")
def inventory_show(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE", help="Device id.")],
    path: PathArg = None,
    database: DatabaseOpt = None,
    fmt: Annotated[RecordFormat, typer.Option("--format", case_sensitive=False, help="table or json.")]
    = RecordFormat.TABLE,
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
    if fmt is RecordFormat.JSON:
        record = {
            "id": device.id, "site": device.site, "site_name": site.name if site else None,
            "district": site.district if site else None, "district_name": district.name if district else None,
            "mgmt": device.mgmt, "role": device.role.value, "platform": device.platform, "model": device.model,
            "snmp_profile": device.snmp_profile, "ssh_profile": device.ssh_profile,
            "watched": [{"role": i.role.value, "name": i.name, "circuit": i.circuit, "provider": i.provider}
                        for i in device.interfaces],
            "facts": None if row is None else {
                "hardware": row.hardware, "serial": row.serial, "os_version": row.os_version,
                "sys_name": row.sys_name, "sys_descr": row.sys_descr, "facts_at": iso_time(row.facts_at)},
            "config_versions": len(history),
            "last_backup": {"taken_at": iso_time(history[-1].taken_at), "sha256": history[-1].sha256}
            if history else None,
        }
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return

    table = Table("", "", title=f"{device.id}", show_header=False, title_justify="left")

    def add(label: str, value: Any) -> None:
        table.add_row(f"[bold]{escape(label)}[/]", escape(str(value)) if value not in (None, "") else "—")

    add(t("site"), f"{site.name} ({site.id})" if site else device.site)
    add(t("district"), district.name if district else None)
    add(t("management"), device.mgmt)
    add(t("role"), device.role.value)
    add(t("platform"), device.platform)
    add(t("model_inventory"), device.model)
    add(t("snmp_profile"), device.snmp_profile)
    add(t("ssh_profile"), device.ssh_profile)
    for itf in device.interfaces:
        add(t("watched", role=itf.role.value), " ".join(x for x in (itf.name, itf.circuit, itf.provider) if x))
    table.add_section()
    if row is None:
        add(t("facts"), t("facts_missing"))
    else:
        add(t("hardware"), row.hardware)
        add(t("serial"), row.serial)
        add(t("os_version"), row.os_version)
        add("sysName", row.sys_name)
        add("sysDescr", (row.sys_descr or "").splitlines()[0] if row.sys_descr else None)
        add(t("facts_at"), human_time(row.facts_at) if row.facts_at else None)
        if row.hardware and device.model and device.model.lower() not in row.hardware.lower():
            add(t("note"), t("model_differs", model=device.model, hardware=row.hardware))
    table.add_section()
    add(t("config_versions"), len(history))
    add(t("last_backup"), f"{human_time(history[-1].taken_at)} sha256:{history[-1].sha256[:12]}" if history
        else None)
    out.print(table)


def _summary(counts: dict[str, int]) -> str:
    return t("summary", **counts)


def validate(path: PathArg = None) -> None:
    """Check the inventory: every problem as file:line:column: field: message (exit 1), else warnings and OK.

    Warnings (stderr, exit 0) are what is valid but will not work as meant: an env: secret not set here, link
    monitoring without links (only 'links:' drive LinkDown)."""
    from netmon.inventory.validate import advice

    started = time.perf_counter()
    inv = load_or_exit(path)
    seconds = time.perf_counter() - started
    warnings = advice(inv, os.environ)
    for w in warnings:
        say(t("warning", text=str(w)))
    out.print(t("validate_ok", summary=_summary(inv.counts()), seconds=seconds), markup=False, soft_wrap=True)
    if warnings:
        say(t("warnings", n=len(warnings)))


def secrets_or_exit(inv: Inventory) -> None:
    """Every ``env:`` secret of a profile in use is set (SSH profiles: when backups run, NETMON_BACKUPS) — or
    each missing one is printed with its file:line and the command ends (exit 1) before it changes anything:
    ``netmon run`` would fail on it after the sync, or every scheduled backup would."""
    from netmon.inventory.validate import unset_secrets
    from netmon.settings import get_settings

    missing = unset_secrets(inv, os.environ, ssh=get_settings().backups)
    if missing:
        print_problems(missing)
        raise fail(t("secrets_unset", n=len(missing)))


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
    fmt: Annotated[Format, typer.Option(
        "--format", case_sensitive=False,
        help="With --plan: table, json or csv (one row per added or removed row and per changed field: for a "
             "review or a merge request).")] = Format.TABLE,
) -> None:
    """Make the database match the inventory, in one transaction (guarded against mass deletion).

    Refused when validation fails, when a profile in use has an env: secret that is not set, and — unless
    confirmed — when it would empty a table or remove more than 10 % of one."""
    from netmon.store import sync as syncer

    if fmt is not Format.TABLE and not plan_only:
        raise fail(t("format_needs_plan"), 2)
    inv = load_or_exit(path)  # before the database is even opened: a bad inventory changes nothing
    if not plan_only:
        secrets_or_exit(inv)
    if plan_only:
        plan = syncer.plan(_planning_database(database), inv)
    else:
        engine = open_database(database)
        plan = syncer.plan(engine, inv)
    if plan_only and fmt is not Format.TABLE:  # every change, for a program: nothing else on stdout
        emit(_plan_changes(plan), PLAN_COLUMNS, fmt)
        for mass in plan.mass_deletions():
            say(t("plan_will_ask", what=_mass(mass)))
        return
    if plan.empty:
        out.print(t("sync_no_changes"))
        return
    table = Table(t("table"), t("add"), t("change"), t("remove"), title=t("plan") if plan_only else t("applied"))
    for name, counts in plan.summary().items():
        table.add_row(name, str(counts["add"]), str(counts["change"]), str(counts["remove"]))
    if plan_only:
        out.print(table)
        _print_plan_rows(plan, None if show_all else PLAN_ROWS)
        for mass in plan.mass_deletions():
            say(t("plan_will_ask", what=_mass(mass)))
        return
    confirm_deletions(plan, allow_deletions)
    syncer.apply(engine, plan)
    out.print(table)


PLAN_ROWS = 20
PLAN_COLUMNS = (Column("table", "table"), Column("op", "plan_op"), Column("key", "plan_key"),
                Column("field", "plan_field"), Column("old", "plan_old"), Column("new", "plan_new"))


def _plan_changes(plan: Plan) -> list[dict[str, Any]]:
    """The plan, one row per change: a row added or removed, or one field of a row changed (old → new)."""
    rows: list[dict[str, Any]] = []
    for name, c in plan.tables.items():
        rows += [{"table": name, "op": "add", "key": _row_key(added)} for added in c.add]
        rows += [{"table": name, "op": "change", "key": _row_key(row), "field": column, "old": old, "new": new}
                 for row, diff in c.change for column, (old, new) in diff.items()]
        rows += [{"table": name, "op": "remove", "key": key} for key in c.remove]
    return rows


def _print_plan_rows(plan: Plan, limit: int | None) -> None:
    for name, changes in plan.tables.items():
        lines = [f"  + {name} {_row_key(added)}" for added in changes.add]
        lines += [f"  ~ {name} {_row_key(row)}: " + ", ".join(f"{c}: {old!r} → {new!r}" for c, (old, new) in
                                                             diff.items()) for row, diff in changes.change]
        lines += [f"  - {name} {key}" for key in changes.remove]
        for line in lines if limit is None else lines[:limit]:
            out.print(line, markup=False, soft_wrap=True)
        if limit is not None and len(lines) > limit:
            out.print(t("plan_more", n=len(lines) - limit, table=name), markup=False, soft_wrap=True)


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
        raise fail(t("plan_old_schema"))
    return engine


def confirm_deletions(plan: Plan, allowed: bool) -> None:
    """A mass deletion goes ahead only with --allow-deletions, or a typed "yes" at a terminal; else exit 1
    with nothing changed. (The folder that lost a file, the sync of one file instead of the folder.)"""
    mass = plan.mass_deletions()
    if not mass or allowed:
        return
    for m in mass:
        say(_mass(m))
    if typed_yes(t("type_yes")):
        return
    raise fail(t("deletion_refused"))


def _mass(m: Any) -> str:
    what = t("every_row") if m.remove == m.existing else t("share_of_rows", share=m.remove / m.existing)
    return t("mass_deletion", table=m.table, remove=m.remove, existing=m.existing, what=what)


def _row_key(row: dict[str, Any]) -> Any:
    return row.get("id", row.get("code", row.get("name")))


STAT_COLUMNS = (Column("what", "what"), Column("count", "count", cell=lambda n: f"{n:,}"))


@inventory_app.command("stats")
def inventory_stats(
    path: PathArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object {what: count}.")] = False,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Counts of sites, devices, links, base stations, districts, communes."""
    counts = load_or_exit(path).counts()
    if as_json:
        sys.stdout.write(json.dumps(counts) + "\n")  # plain: rich would wrap it at the console width
        return
    emit([{"what": k, "count": v} for k, v in counts.items()], STAT_COLUMNS, fmt)


SITE_COLUMNS = (
    Column("site", "site"), Column("name", "name"), Column("kind", "kind"), Column("level", "level"),
    Column("district_code", "district", table=False), Column("district", "district"), Column("router", "router"),
    Column("mgmt", "mgmt"), Column("uplink", "uplink"),
)


@inventory_app.command("list")
def inventory_list(
    path: PathArg = None,
    district: Annotated[str | None, typer.Option(help="District GSO code or (part of) its name.")] = None,
    kind: Annotated[SiteKind | None, typer.Option(help="party or state.")] = None,
    level: Annotated[Level | None, typer.Option(help="province, district or commune.")] = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """List the agency sites with their router and uplink."""
    inv = load_or_exit(path)
    codes = district_codes(inventory_districts(inv), district) if district else None
    routers = {d.site: d for d in inv.devices.values()}
    rows = []
    for site in inv.sites.values():
        if codes is not None and site.district not in codes:
            continue
        if (kind and site.kind is not kind) or (level and site.level is not level):
            continue
        router = routers.get(site.id)
        rows.append({
            "site": site.id, "name": site.name, "kind": site.kind.value, "level": site.level.value,
            "district_code": site.district, "district": inv.districts[site.district].name if site.district else None,
            "router": router.id if router else None, "mgmt": str(router.mgmt) if router else None,
            "uplink": site.uplink,
        })
    emit(rows, SITE_COLUMNS, fmt, footer=[t("sites_shown", n=len(rows))])


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@inventory_app.command("export")
def inventory_export(
    path: PathArg = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", case_sensitive=False,
                                              help="json (everything) or csv (one row per site; UTF-8 with BOM)."
                                              )] = ExportFormat.JSON,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export the inventory: json (the whole validated inventory) or csv (one row per site)."""
    from netmon.inventory.export import to_csv, to_json

    inv = load_or_exit(path)
    text = to_json(inv) if fmt is ExportFormat.JSON else to_csv(inv)
    if output:
        output.write_text(text, encoding="utf-8")  # an unwritable path: one line (the error path), exit 1
        say(t("export_written", path=output))
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

    if out_dir.is_dir() and not force and any(p.suffix.lower() in (".yaml", ".yml") for p in out_dir.iterdir()):
        raise fail(t("generate_refused", path=out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Any] = write_sample(out_dir, scale=scale)
    out.print(t("generate_wrote", path=out_dir, counts=counts), markup=False, soft_wrap=True)
