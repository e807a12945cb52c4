"""``netmon backup …`` and ``netmon inventory show``: configuration backups and device facts over SSH.

Credentials come only from the inventory's SSH profiles (``env:``/``file:``); no
option takes a password, so none can end up in shell history or ``ps``.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperArgument, TyperGroup

if TYPE_CHECKING:

    from netmon.inventory.load import Inventory
    from netmon.ssh.backup import RunReport
    from netmon.store.db import Engine

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

PathArg = Annotated[
    Path | None, typer.Argument(help="Inventory folder or file (default: NETMON_INVENTORY or ./inventory).")
]
DatabaseOpt = Annotated[str | None, typer.Option(help="Database URL (default: NETMON_DATABASE_URL).")]
DeviceOpt = Annotated[list[str] | None, typer.Option("--device", help="Device id (repeat for several).")]
DistrictOpt = Annotated[str | None, typer.Option(help="Only this district (GSO code or name).")]
ConcurrencyOpt = Annotated[
    int | None, typer.Option(min=1, max=512, help="Sessions at once (default: NETMON_SSH_CONCURRENCY or 32).")
]


class _BackupGroup(TyperGroup):
    """``netmon backup [PATH] [OPTIONS]`` runs a backup, ``netmon backup diff …`` a subcommand.

    click would read ``diff`` as the group's PATH argument, and would stop at PATH
    looking for a subcommand; a first word naming a subcommand is one, anything
    else is the backup's own arguments and options.
    """

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] in self.commands:
            saved = self.params
            self.params = [p for p in saved if not isinstance(p, TyperArgument)]
            try:
                return super().parse_args(ctx, args)
            finally:
                self.params = saved
        # No subcommand: options may follow PATH (a group normally stops parsing at its first argument).
        ctx.allow_interspersed_args = True
        return super().parse_args(ctx, args)


backup_app = typer.Typer(
    cls=_BackupGroup,
    invoke_without_command=True,
    no_args_is_help=False,
    help="Back up device configurations over SSH (secrets scrubbed; a version only when it changed).",
)


# ---------------------------------------------------------------------------------- helpers
def _engine(database: str | None) -> Engine:
    from netmon.settings import get_settings
    from netmon.store.db import make_engine, upgrade

    engine = make_engine(database or get_settings().database_url)
    upgrade(engine)
    return engine


def _load(path: Path | None) -> Inventory:
    from netmon.cli import _load_or_exit

    return _load_or_exit(path)


def _select(inv: Inventory, devices: list[str] | None, district: str | None) -> list[str] | None:
    """Device ids to work on (None: every device with an SSH profile)."""
    from netmon.cli import _district_codes

    if not devices and not district:
        return None
    ids = list(devices) if devices else [d.id for d in inv.devices.values() if d.ssh_profile]
    if devices:
        unknown = [d for d in devices if d not in inv.devices]
        if unknown:
            _unknown_device(inv, unknown[0])
    if district:
        codes = _district_codes(inv, district)
        ids = [d for d in ids if inv.sites[inv.devices[d].site].district in codes]
    return ids


def _unknown_device(inv: Inventory, device_id: str) -> None:
    close = difflib.get_close_matches(device_id, list(inv.devices), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    err.print(f"unknown device {device_id!r}{hint}", markup=False)
    raise typer.Exit(2)


def _when(text: str | None, option: str) -> datetime | None:
    """ISO date or date-time; without a zone it is local time (what an operator types)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        err.print(f"{option}: not an ISO date or date-time: {text!r} (e.g. 2026-05-06 or 2026-05-06T09:30)",
                  markup=False)
        raise typer.Exit(2) from None
    return value.astimezone() if value.tzinfo is None else value


def _local(value: datetime | None) -> str:
    if value is None:
        return "—"
    from datetime import UTC

    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone().isoformat(timespec="seconds")


def _run(inv: Inventory, engine: Engine, ids: list[str] | None, *, config: bool, facts: bool,
         concurrency: int | None) -> RunReport:
    from netmon.ssh.backup import run_backups
    from netmon.ssh.session import targets_from_inventory

    targets, errors = targets_from_inventory(inv, ids)
    if not targets and not errors:
        err.print("no device with an ssh_profile to work on")
        raise typer.Exit(1)
    # The table reports every device; the libraries' own log lines would only repeat it, less clearly.
    logging.getLogger("netmon.ssh.backup").setLevel(logging.ERROR)  # host-key trust warnings stay visible
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    return asyncio.run(run_backups(engine, targets, errors, config=config, facts=facts, concurrency=concurrency))


def _exit_code(report: RunReport) -> None:
    """Like ``netmon poll``: 3 when every device failed (some failing is a normal night in a province)."""
    if report.results and len(report.failed) == len(report.results):
        raise typer.Exit(3)


# ---------------------------------------------------------------------------------- commands
@backup_app.callback()
def backup(
    ctx: typer.Context,
    path: PathArg = None,
    device: DeviceOpt = None,
    district: DistrictOpt = None,
    database: DatabaseOpt = None,
    no_facts: Annotated[bool, typer.Option("--no-facts", help="Only the configuration.")] = False,
    concurrency: ConcurrencyOpt = None,
) -> None:
    """Fetch running configurations now (and facts), store each only if it changed."""
    if ctx.invoked_subcommand is not None:
        return
    inv = _load(path)
    ids = _select(inv, device, district)
    engine = _engine(database)
    report = _run(inv, engine, ids, config=True, facts=not no_facts, concurrency=concurrency)
    table = Table("device", "result", "sha256", "seconds", "error")
    styles = {"new": "green", "changed": "yellow", "unchanged": "", "failed": "red"}
    for r in report.results:
        style = styles.get(r.status, "")
        table.add_row(r.device_id, f"[{style}]{r.status}[/]" if style else r.status, (r.sha256 or "")[:12],
                      f"{r.elapsed_s:.1f}", escape(r.error.detail) if r.error else "")
    out.print(table)
    out.print(report.summary(), markup=False)
    _exit_code(report)


@backup_app.command("facts")
def backup_facts(
    path: PathArg = None,
    device: DeviceOpt = None,
    district: DistrictOpt = None,
    database: DatabaseOpt = None,
    concurrency: ConcurrencyOpt = None,
) -> None:
    """Collect model, serial, OS version and uptime now and store them on the devices."""
    inv = _load(path)
    engine = _engine(database)
    report = _run(inv, engine, _select(inv, device, district), config=False, facts=True, concurrency=concurrency)
    table = Table("device", "hardware", "serial", "os version", "uptime", "stored", "error")
    for r in report.results:
        f = r.facts
        table.add_row(r.device_id, *(escape(v or "—") for v in (f.hardware, f.serial, f.os_version, f.uptime))
                      if f else ("—",) * 4, "yes" if r.facts_saved else "no",
                      escape(r.error.detail) if r.error else "")
    out.print(table)
    if any(r.facts is not None and not r.facts_saved for r in report.results):
        err.print("some devices are not in the database: run 'netmon sync' first to store their facts")
    _exit_code(report)


@backup_app.command("diff")
def backup_diff(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE", help="Device id.")],
    since: Annotated[str | None, typer.Option("--from", help="Version in force at this time (default: the "
                                                             "one before --to).")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Version in force at this time (default: latest).")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Unified diff between two stored versions of a device's configuration."""
    from netmon.ssh.backup import unified_diff
    from netmon.store.backups import version_at, version_before

    engine = _engine(database)
    new = version_at(engine, device_id, _when(until, "--to"))
    if new is None:
        err.print(f"{device_id}: no configuration stored{' at ' + until if until else ''}", markup=False)
        raise typer.Exit(1)
    old = version_at(engine, device_id, _when(since, "--from")) if since else version_before(engine, new)
    if old is None:
        err.print(f"{device_id}: only one version stored ({_local(new.taken_at)}); nothing to compare",
                  markup=False)
        raise typer.Exit(1)
    text = unified_diff(old, new)
    if not text:
        err.print(f"{device_id}: the two versions are identical (sha256 {new.sha256[:12]})", markup=False)
        return
    sys.stdout.write(text)


@backup_app.command("show")
def backup_show(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE", help="Device id.")],
    at: Annotated[str | None, typer.Option("--at", help="Version in force at this time (default: latest).")] = None,
    database: DatabaseOpt = None,
) -> None:
    """Print a stored configuration (the latest, or the one in force at --at)."""
    from netmon.store.backups import version_at

    engine = _engine(database)
    version = version_at(engine, device_id, _when(at, "--at"))
    if version is None:
        err.print(f"{device_id}: no configuration stored{' at ' + at if at else ''}", markup=False)
        raise typer.Exit(1)
    err.print(f"{device_id}: version of {_local(version.taken_at)}, sha256 {version.sha256[:12]}", markup=False)
    sys.stdout.write(version.content)


@backup_app.command("history")
def backup_history(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE", help="Device id.")],
    database: DatabaseOpt = None,
) -> None:
    """List the stored versions of a device's configuration."""
    from netmon.store.backups import versions

    rows = versions(_engine(database), device_id)
    if not rows:
        err.print(f"{device_id}: no configuration stored", markup=False)
        raise typer.Exit(1)
    table = Table("#", "taken at", "sha256")
    for i, v in enumerate(rows, 1):
        table.add_row(str(i), _local(v.taken_at), v.sha256[:12])
    out.print(table)


def inventory_show(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE", help="Device id.")],
    path: PathArg = None,
    database: DatabaseOpt = None,
) -> None:
    """One device: its inventory record, the facts learnt from it, and its last configuration backup."""
    from netmon.store.backups import versions
    from netmon.store.facts import device_facts

    inv = _load(path)
    device = inv.devices.get(device_id)
    if device is None:
        _unknown_device(inv, device_id)
        return
    site = inv.sites.get(device.site)
    district = inv.districts.get(site.district) if site and site.district else None
    engine = _engine(database)
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
        add("facts at", _local(row.facts_at) if row.facts_at else None)
        if row.hardware and device.model and device.model.lower() not in row.hardware.lower():
            add("note", f"inventory says model {device.model}, the device reports {row.hardware}")
    table.add_section()
    add("config versions", len(history))
    add("last backup", f"{_local(history[-1].taken_at)} sha256:{history[-1].sha256[:12]}" if history else None)
    out.print(table)


def register(app: typer.Typer, inventory_app: typer.Typer) -> None:
    """Add ``netmon backup …`` and ``netmon inventory show`` to the main CLI (once, however often called)."""
    if not any(group.typer_instance is backup_app for group in app.registered_groups):
        app.add_typer(backup_app, name="backup")
    if not any(command.callback is inventory_show for command in inventory_app.registered_commands):
        inventory_app.command("show")(inventory_show)
