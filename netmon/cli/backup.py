"""``netmon backup …``: configuration backups and device facts over SSH.

Credentials come only from the inventory's SSH profiles (``env:``/``file:``); no
option takes a password, so none can end up in shell history or ``ps``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperArgument, TyperGroup

from netmon.cli.common import (
    DatabaseOpt,
    DistrictOpt,
    PathArg,
    district_codes,
    err,
    inventory_districts,
    load_or_exit,
    local_time,
    open_database,
    out,
    parse_when,
    unknown_device,
)

if TYPE_CHECKING:
    from netmon.inventory.load import Inventory
    from netmon.ssh.backup import RunReport
    from netmon.store.db import Engine

DeviceOpt = Annotated[list[str] | None, typer.Option("--device", help="Device id (repeat for several).")]
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
def select_devices(inv: Inventory, devices: list[str] | None, district: str | None) -> list[str] | None:
    """Device ids to work on (None: every device with an SSH profile)."""
    if not devices and not district:
        return None
    ids = list(devices) if devices else [d.id for d in inv.devices.values() if d.ssh_profile]
    if devices:
        unknown = [d for d in devices if d not in inv.devices]
        if unknown:
            raise unknown_device(inv, unknown[0])
    if district:
        codes = district_codes(inventory_districts(inv), district)
        ids = [d for d in ids if inv.sites[inv.devices[d].site].district in codes]
    return ids


def _run(inv: Inventory, engine: Engine, ids: list[str] | None, *, config: bool, facts: bool,
         concurrency: int | None) -> RunReport:
    from netmon.ssh.backup import run_backups
    from netmon.ssh.session import ssh_targets

    targets, errors = ssh_targets(inv, ids)
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
    inv = load_or_exit(path)
    ids = select_devices(inv, device, district)
    engine = open_database(database)
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
    inv = load_or_exit(path)
    engine = open_database(database)
    report = _run(inv, engine, select_devices(inv, device, district), config=False, facts=True, concurrency=concurrency)
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
    from netmon.store.backups import version_after, version_at, version_before

    engine = open_database(database, read_only=True)
    new = version_at(engine, device_id, parse_when(until, "--to"))
    if new is None:
        err.print(f"{device_id}: no configuration stored{' at ' + until if until else ''}", markup=False)
        raise typer.Exit(1)
    start = parse_when(since, "--from")
    if start is None:
        old = version_before(engine, new)
    else:  # the version in force then; none that old: the first one taken after it
        old = version_at(engine, device_id, start)
        if old is None:
            old = version_after(engine, device_id, start)
            old = None if old is not None and old.id == new.id else old
    if old is None:
        span = f" since {since}" if since else ""
        err.print(f"{device_id}: only one version stored{span} ({local_time(new.taken_at)}); nothing to compare",
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

    engine = open_database(database, read_only=True)
    version = version_at(engine, device_id, parse_when(at, "--at"))
    if version is None:
        err.print(f"{device_id}: no configuration stored{' at ' + at if at else ''}", markup=False)
        raise typer.Exit(1)
    err.print(f"{device_id}: version of {local_time(version.taken_at)}, sha256 {version.sha256[:12]}", markup=False)
    sys.stdout.write(version.content)


@backup_app.command("history")
def backup_history(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE", help="Device id.")],
    database: DatabaseOpt = None,
) -> None:
    """List the stored versions of a device's configuration."""
    from netmon.store.backups import versions

    rows = versions(open_database(database, read_only=True), device_id)
    if not rows:
        err.print(f"{device_id}: no configuration stored", markup=False)
        raise typer.Exit(1)
    table = Table("#", "taken at", "sha256")
    for i, v in enumerate(rows, 1):
        table.add_row(str(i), local_time(v.taken_at), v.sha256[:12])
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``netmon backup …`` to the main CLI (once, however often called)."""
    if not any(group.typer_instance is backup_app for group in app.registered_groups):
        app.add_typer(backup_app, name="backup")
