"""What every command group shares: the consoles, the common arguments, the province's clock, the output of
listings (table, JSON, CSV), and the helpers that load the inventory, open the database and pick districts —
each ending the command with a clear message and exit code when it cannot.

Exit codes: 0 done; 1 a failure (bad inventory, database away, nothing to do); 2 a usage error (a bad option
value, an unknown device or district); 3 every device polled or backed up failed.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netmon.inventory.load import Inventory, load_inventory
from netmon.inventory.problems import InventoryError, Problem
from netmon.inventory.text import match_districts
from netmon.lang import t
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


def say(text: str) -> None:
    """One line for the operator on stderr (never markup: ids and paths print as they are)."""
    err.print(text, markup=False, soft_wrap=True)


def fail(text: str, code: int = 1) -> typer.Exit:
    """Say ``text``; the exit to raise (1: a failure, 2: a usage error)."""
    say(text)
    return typer.Exit(code)


class Format(StrEnum):
    """How a listing is printed: a table for people, JSON or CSV for scripts and spreadsheets."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


PathArg = Annotated[
    Path | None, typer.Argument(help="Inventory folder or file (default: NETMON_INVENTORY or ./inventory).")
]
DatabaseOpt = Annotated[str | None, typer.Option(help="Database URL (default: NETMON_DATABASE_URL).")]
DistrictOpt = Annotated[str | None, typer.Option(help="Only this district (GSO code or name).")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", case_sensitive=False,
    help="table (for people; full values when piped), json, or csv (UTF-8 with BOM: opens in Excel).")]
TzOpt = Annotated[str | None, typer.Option(
    "--tz", help="Time zone to read and print times in (default: NETMON_TIMEZONE, Asia/Ho_Chi_Minh).")]


# ---------------------------------------------------------------------------------- the inventory
def inventory_path(path: Path | None) -> Path:
    return path if path is not None else Path(get_settings().inventory)


def print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        say(str(problem))


def load_or_exit(path: Path | None) -> Inventory:
    """The validated inventory at ``path`` (default: the settings'); every problem printed, exit 1, if not."""
    try:
        return load_inventory(inventory_path(path))
    except InventoryError as exc:
        print_problems(exc.problems)
        raise fail(t("problems", n=len(exc.problems))) from None


def inventory_districts(inv: Inventory) -> dict[str, str]:
    """District GSO code → name, as :func:`district_codes` takes them."""
    return {d.code: d.name for d in inv.province.districts}


def district_codes(districts: Mapping[str, str], text: str) -> set[str]:
    """The code of the one district ``text`` names (GSO code or part of the name, diacritics optional: ``cau
    ngang`` finds ``Huyện Cầu Ngang``). None, or several without one named exactly (``Duyên Hải``: the
    Huyện and the Thị xã): exit 2 naming them."""
    codes = match_districts(districts, text)
    if not codes:
        raise fail(t("no_district", text=text), 2)
    if len(codes) > 1:
        names = ", ".join(f"{districts[c]} ({c})" for c in sorted(codes))
        raise fail(t("ambiguous_district", text=text, n=len(codes), names=names), 2)
    return codes


def unknown_device(inv: Inventory, device_id: str) -> typer.Exit:
    """Say ``device_id`` is not in the inventory (with the closest ids); the exit (2) to raise."""
    return fail(t("unknown_device", device=device_id, hint=close_ids(device_id, inv.devices)), 2)


def typed_yes(prompt: str) -> bool:
    """A destructive change goes ahead on a typed "yes" (có) at a terminal; never without one (a script, a pipe:
    no terminal to answer — it passes the command's own flag instead)."""
    if not sys.stdin.isatty():
        return False
    answer = typer.prompt(prompt, default="no", show_default=False)
    return answer.strip().lower() in ("yes", "có", "co")


def close_ids(word: str, ids: Sequence[str] | Mapping[str, Any]) -> str:
    """``; did you mean a, b?`` for the ids closest to ``word`` ('' when none is close)."""
    import difflib

    close = difflib.get_close_matches(word, list(ids), n=3)
    return t("did_you_mean", names=", ".join(close)) if close else ""


# ---------------------------------------------------------------------------------- the database
def database_url(database: str | None) -> str:
    return database or get_settings().database_url


def open_database(database: str | None, *, read_only: bool = False) -> Engine:
    """The database at ``database`` (default: NETMON_DATABASE_URL), migrated to the latest schema.

    ``read_only``: for commands that only read — the database must exist already (never created by a
    typo) and is not migrated; an older schema is reported, with what to do.
    """
    from netmon.store.db import make_engine, open_existing, schema_is_current, upgrade

    url = database_url(database)
    if not read_only:
        engine = make_engine(url)
        upgrade(engine)
        return engine
    engine = open_existing(url)
    current = schema_is_current(engine)
    if not current:
        raise fail(t("database_no_schema" if current is None else "database_old_schema"))
    return engine


# ---------------------------------------------------------------------------------- one clock
def province_zone(tz: str | None = None, option: str = "--tz") -> ZoneInfo:
    """The zone every time is read and printed in: ``tz`` (an option: unknown → exit 2) or the province's
    (NETMON_TIMEZONE, default Asia/Ho_Chi_Minh)."""
    name = tz if tz is not None else get_settings().timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(f"{option}: " + t("unknown_zone", name=name), 2) from None


def parse_when(text: str | None, option: str, zone: ZoneInfo | None = None) -> datetime | None:
    """ISO date or date-time (``2026-11-01``, ``2026-11-01T08:00``, ``…+07:00``); without an offset it is the
    province's time, whatever the host's zone (a container's is UTC). Malformed: exit 2."""
    if text is None:
        return None
    zone = zone or province_zone()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise fail(t("bad_when", option=option, text=text, zone=zone.key), 2) from None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


class ProvinceTimeFormatter(logging.Formatter):
    """Log lines stamped in the province's zone, ISO 8601 with the offset (``2026-11-15T08:00:00.123+07:00``):
    the service's log and the command line tell the same time, whatever the host's zone."""

    def __init__(self, fmt: str, zone: ZoneInfo) -> None:
        super().__init__(fmt)
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="milliseconds")


def log_to_stderr(fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> None:
    """INFO and above on stderr, each line stamped in the province's time."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ProvinceTimeFormatter(fmt, province_zone()))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # a naive value from the database is UTC


def human_time(value: datetime | None, zone: ZoneInfo | None = None) -> str:
    """``2026-11-15 08:00:00`` in the province's zone (a table's cell); ``—`` for none."""
    if value is None:
        return "—"
    return _aware(value).astimezone(zone or province_zone()).strftime("%Y-%m-%d %H:%M:%S")


def iso_time(value: datetime | None, zone: ZoneInfo | None = None) -> str | None:
    """ISO 8601 with the offset, in the province's zone, to the second (machine output); None for none."""
    if value is None:
        return None
    return _aware(value).astimezone(zone or province_zone()).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------- listings
@dataclass(frozen=True, slots=True)
class Column:
    """One column of a listing: ``key`` names it in JSON and CSV (never translated), ``header`` is the catalog
    key of its table header; ``digits`` rounds a float; ``cell`` formats a table cell (default: ``—`` for
    none, the province's time for a time); ``table=False`` keeps it out of the table (machine output only)."""

    key: str
    header: str
    digits: int | None = None
    cell: Callable[[Any], str] | None = None
    table: bool = True


def _number(value: float, digits: int | None) -> str:
    return f"{value:.{digits}f}" if digits is not None else repr(value)


def table_cell(value: Any, column: Column, zone: ZoneInfo) -> str:
    if column.cell is not None:
        return column.cell(value)
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return human_time(value, zone)
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if isinstance(value, float):
        return _number(value, column.digits)
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def csv_cell(value: Any, column: Column, zone: ZoneInfo) -> str:
    """Empty for none (an empty cell, never ``—``, so Excel sums the column); times ISO 8601 with offset."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_time(value, zone) or ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value, column.digits)
    if isinstance(value, list | tuple):
        return ";".join(map(str, value))
    return str(value)


def json_value(value: Any, column: Column, zone: ZoneInfo) -> Any:
    if isinstance(value, datetime):
        return iso_time(value, zone)
    if isinstance(value, float) and column.digits is not None:
        return round(value, column.digits)
    if isinstance(value, tuple):
        return list(value)
    return value


BOM = "\ufeff"


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], zone: ZoneInfo | None = None) -> str:
    """CSV text with a UTF-8 byte-order mark (Excel then reads Vietnamese as UTF-8, not as mojibake), a header
    row of the column keys, CRLF line ends."""
    zone = zone or province_zone()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(c.key), c, zone) for c in columns])
    return BOM + buf.getvalue()


def emit(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], fmt: Format, *, title: str | None = None,
         footer: Sequence[str] = (), zone: ZoneInfo | None = None) -> None:
    """Print a listing: a table (translated headers, the province's time, ``footer`` lines under it), a JSON
    list of objects, or CSV — machine output has every column, exactly, and nothing else on stdout."""
    zone = zone or province_zone()
    if fmt is Format.JSON:
        data = [{c.key: json_value(row.get(c.key), c, zone) for c in columns} for row in rows]
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    if fmt is Format.CSV:
        sys.stdout.write(to_csv(rows, columns, zone))
        return
    shown = [c for c in columns if c.table]
    table = Table(*(t(c.header) for c in shown), title=title)
    for row in rows:
        table.add_row(*(escape(table_cell(row.get(c.key), c, zone)) for c in shown))
    out.print(table)
    for line in footer:
        out.print(line, markup=False, soft_wrap=True)


def hostport(text: str | None, what: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (``[v6]:PORT`` too) of option ``what``; None for none; exit 2 when malformed."""
    if not text:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise fail(t("bad_hostport", what=what, text=text), 2)
    return host.strip("[]"), int(port)
