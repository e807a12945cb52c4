"""What every command group shares: the consoles, the common arguments, and the helpers that load the
inventory, open the database and pick districts — each ending the command with a clear message and exit
code when it cannot."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from netmon.inventory.load import Inventory, load_inventory
from netmon.inventory.problems import InventoryError
from netmon.inventory.text import match_districts
from netmon.settings import get_settings

if TYPE_CHECKING:
    from netmon.store.db import Engine

def _console(stderr: bool) -> Console:
    """Wrapped and fitted to the terminal on a terminal; whole lines and untruncated table cells when piped
    or redirected (a log, ``| grep``, a file for a script) — rich would otherwise cut at 80 columns."""
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    return console if console.is_terminal else Console(stderr=stderr, highlight=False, soft_wrap=True,
                                                       width=100_000)


out = _console(stderr=False)
err = _console(stderr=True)

PathArg = Annotated[
    Path | None, typer.Argument(help="Inventory folder or file (default: NETMON_INVENTORY or ./inventory).")
]
DatabaseOpt = Annotated[str | None, typer.Option(help="Database URL (default: NETMON_DATABASE_URL).")]
DistrictOpt = Annotated[str | None, typer.Option(help="Only this district (GSO code or name).")]


def inventory_path(path: Path | None) -> Path:
    return path if path is not None else Path(get_settings().inventory)


def load_or_exit(path: Path | None) -> Inventory:
    """The validated inventory at ``path`` (default: the settings'); every problem printed, exit 1, if not."""
    try:
        return load_inventory(inventory_path(path))
    except InventoryError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        n = len(exc.problems)
        err.print(f"[bold red]{n} problem{'s' if n != 1 else ''}[/]; nothing was changed.")
        raise typer.Exit(1) from None


def inventory_districts(inv: Inventory) -> dict[str, str]:
    """District GSO code → name, as :func:`district_codes` takes them."""
    return {d.code: d.name for d in inv.province.districts}


def district_codes(districts: Mapping[str, str], text: str) -> set[str]:
    """The codes of the districts ``text`` names (GSO code or part of the name, diacritics optional: ``cau
    ngang`` finds ``Huyện Cầu Ngang``); none: exit 2."""
    codes = match_districts(districts, text)
    if not codes:
        err.print(f"no district matches {text!r}", markup=False)
        raise typer.Exit(2)
    return codes


def open_database(database: str | None, *, read_only: bool = False) -> Engine:
    """The database at ``database`` (default: NETMON_DATABASE_URL), migrated to the latest schema.

    ``read_only``: for commands that only read — the database must exist already (never created by a
    typo) and is not migrated; an older schema is reported, with what to do.
    """
    from netmon.store.db import make_engine, open_existing, schema_is_current, upgrade

    url = database or get_settings().database_url
    if not read_only:
        engine = make_engine(url)
        upgrade(engine)
        return engine
    engine = open_existing(url)
    current = schema_is_current(engine)
    if not current:
        what = "has no netmon tables" if current is None else "has an older schema"
        err.print(f"the database {what}: 'netmon sync' creates or migrates it", markup=False)
        raise typer.Exit(1)
    return engine


def parse_when(text: str | None, option: str) -> datetime | None:
    """ISO date or date-time; without a zone it is local time (what an operator types); else exit 2."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        err.print(f"{option}: not an ISO date or date-time: {text!r} (e.g. 2026-05-06 or 2026-05-06T09:30)",
                  markup=False)
        raise typer.Exit(2) from None
    return value.astimezone() if value.tzinfo is None else value


def local_time(value: datetime | None) -> str:
    """Local ISO time to the second (a naive value from the database is UTC); ``—`` for none."""
    if value is None:
        return "—"
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone().isoformat(timespec="seconds")


def hostport(text: str | None, what: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (``[v6]:PORT`` too) of option ``what``; None for none; exit 2 when malformed."""
    if not text:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        err.print(f"{what} must be HOST:PORT, got {text!r}", markup=False)
        raise typer.Exit(2)
    return host.strip("[]"), int(port)


def unknown_device(inv: Inventory, device_id: str) -> typer.Exit:
    """Say ``device_id`` is not in the inventory (with the closest ids); the exit (2) to raise."""
    import difflib

    close = difflib.get_close_matches(device_id, list(inv.devices), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    err.print(f"unknown device {device_id!r}{hint}", markup=False)
    return typer.Exit(2)
