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
from typer.core import TyperArgument, TyperGroup

from netmon.cli.common import (
    Column,
    DatabaseOpt,
    DistrictOpt,
    Format,
    FormatOpt,
    PathArg,
    district_codes,
    emit,
    fail,
    human_time,
    inventory_districts,
    load_or_exit,
    open_database,
    parse_when,
    say,
    unknown_device,
)
from netmon.lang import t

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
        raise fail(t("no_ssh_device"))
    # The table reports every device; the libraries' own log lines would only repeat it, less clearly.
    logging.getLogger("netmon.ssh.backup").setLevel(logging.ERROR)  # host-key trust warnings stay visible
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    return asyncio.run(run_backups(engine, targets, errors, config=config, facts=facts, concurrency=concurrency))


def _summary(report: RunReport) -> str:
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("new", "changed", "unchanged", "facts", "failed")
                       if report.count(s))
    return t("backup_summary", n=len(report.results), seconds=report.wall_s, counts=counts or t("nothing_to_do"))


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
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Fetch running configurations now (and facts), store each only if it changed."""
    if ctx.invoked_subcommand is not None:
        return
    inv = load_or_exit(path)
    ids = select_devices(inv, device, district)
    engine = open_database(database)
    report = _run(inv, engine, ids, config=True, facts=not no_facts, concurrency=concurrency)
    rows = [{"device": r.device_id, "result": r.status, "sha256": r.sha256, "seconds": r.elapsed_s,
             "error": r.error.detail if r.error else None} for r in report.results]
    emit(rows, RESULT_COLUMNS, fmt, footer=[_summary(report)])
    _exit_code(report)


RESULT_COLUMNS = (Column("device", "col_device"), Column("result", "col_result"),
                  Column("sha256", "col_sha256", cell=lambda v: (v or "")[:12]),
                  Column("seconds", "col_seconds", digits=1), Column("error", "col_error", cell=lambda v: v or ""))
FACT_COLUMNS = (Column("device", "col_device"), Column("hardware", "hardware"), Column("serial", "serial"),
                Column("os_version", "os_version"), Column("uptime", "col_uptime"), Column("stored", "col_stored"),
                Column("error", "col_error", cell=lambda v: v or ""))


@backup_app.command("facts")
def backup_facts(
    path: PathArg = None,
    device: DeviceOpt = None,
    district: DistrictOpt = None,
    database: DatabaseOpt = None,
    concurrency: ConcurrencyOpt = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Collect model, serial, OS version and uptime now and store them on the devices."""
    inv = load_or_exit(path)
    ids = select_devices(inv, device, district)  # a usage error before the database is opened (or created)
    report = _run(inv, open_database(database), ids, config=False, facts=True, concurrency=concurrency)
    rows = []
    for r in report.results:
        f = r.facts
        rows.append({"device": r.device_id, "hardware": f.hardware if f else None, "serial": f.serial if f else None,
                     "os_version": f.os_version if f else None, "uptime": f.uptime if f else None,
                     "stored": r.facts_saved, "error": r.error.detail if r.error else None})
    emit(rows, FACT_COLUMNS, fmt)
    if any(r.facts is not None and not r.facts_saved for r in report.results):
        say(t("facts_not_stored"))
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

    start, end = parse_when(since, "--from"), parse_when(until, "--to")  # a typo: exit 2 before the database
    engine = open_database(database, read_only=True)
    new = version_at(engine, device_id, end)
    if new is None:
        raise fail(t("no_config", device=device_id, at=t("at_time", when=until) if until else ""))
    if start is None:
        old = version_before(engine, new)
    else:  # the version in force then; none that old: the first one taken after it
        old = version_at(engine, device_id, start)
        if old is None:
            old = version_after(engine, device_id, start)
            old = None if old is not None and old.id == new.id else old
    if old is None:
        span = t("since_time", when=since) if since else ""
        raise fail(t("one_version", device=device_id, span=span, when=human_time(new.taken_at)))
    text = unified_diff(old, new)
    if not text:
        say(t("identical", device=device_id, sha=new.sha256[:12]))
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

    when = parse_when(at, "--at")
    version = version_at(open_database(database, read_only=True), device_id, when)
    if version is None:
        raise fail(t("no_config", device=device_id, at=t("at_time", when=at) if at else ""))
    say(t("version_of", device=device_id, when=human_time(version.taken_at), sha=version.sha256[:12]))
    sys.stdout.write(version.content)


@backup_app.command("history")
def backup_history(
    device_id: Annotated[str, typer.Argument(metavar="DEVICE", help="Device id.")],
    database: DatabaseOpt = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """List the stored versions of a device's configuration (times in the province's zone)."""
    from netmon.store.backups import versions

    stored = versions(open_database(database, read_only=True), device_id)
    if not stored:
        raise fail(t("no_config", device=device_id, at=""))
    rows = [{"n": i, "taken_at": v.taken_at, "sha256": v.sha256} for i, v in enumerate(stored, 1)]
    emit(rows, HISTORY_COLUMNS, fmt)


HISTORY_COLUMNS = (Column("n", "col_n"), Column("taken_at", "col_taken_at"),
                   Column("sha256", "col_sha256", cell=lambda v: v[:12]))


def register(app: typer.Typer) -> None:
    """Add ``netmon backup …`` to the main CLI (once, however often called)."""
    if not any(group.typer_instance is backup_app for group in app.registered_groups):
        app.add_typer(backup_app, name="backup")
