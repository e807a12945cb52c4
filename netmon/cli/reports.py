"""``netmon outages`` and ``netmon report availability``: the outage history, listed and summed up.

The computation is :mod:`netmon.reports` (pure); the records come from :func:`netmon.store.history.read_history`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from netmon.cli.common import DatabaseOpt, district_codes, err, open_database, out
from netmon.reports import (
    AVAILABILITY_COLUMNS,
    DEFAULT_TZ,
    GROUPINGS,
    OUTAGE_COLUMNS,
    GroupBy,
    availability,
    availability_rows,
    minutes,
    month_period,
    outage_rows,
    parse_since,
    select_outages,
    site_maintenance,
    to_csv,
)
from netmon.store.records import HistoryRecords

FormatOpt = Annotated[str, typer.Option("--format", help="table or csv.")]
TzOpt = Annotated[str, typer.Option("--tz", help="Time zone of dates and month boundaries.")]


def _history(database: str | None) -> HistoryRecords:
    from netmon.store.history import read_history

    engine = open_database(database, read_only=True)
    try:
        return read_history(engine)
    finally:
        engine.dispose()


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "csv"):
        err.print("--format must be table or csv", markup=False)
        raise typer.Exit(2)


def _emit(rows: list[dict[str, str]], columns: Sequence[str], fmt: str, title: str) -> None:
    if fmt == "csv":
        sys.stdout.write(to_csv(rows, columns))
        return
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*(row[c] for c in columns))
    out.print(table)


def outages_command(
    open_only: Annotated[bool, typer.Option("--open", help="Only outages still open.")] = False,
    since: Annotated[str | None, typer.Option(help="Still open at or after this date (YYYY-MM-DD or ISO).")] = None,
    district: Annotated[str | None, typer.Option(help="District GSO code or (part of) its name.")] = None,
    fmt: FormatOpt = "table",
    database: DatabaseOpt = None,
    tz: TzOpt = DEFAULT_TZ,
) -> None:
    """List outages (newest first): one row per root cause, with the sites it made unreachable."""
    _check_format(fmt)
    try:
        since_at = parse_since(since, tz) if since else None
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    h = _history(database)
    codes = district_codes(h.districts, district) if district else None
    chosen = select_outages(h.outages, open_only=open_only, since=since_at, districts=codes,
                            site_district={k: v.district for k, v in h.sites.items()})
    rows = outage_rows(chosen, h.districts, tz, datetime.now(UTC), csv_mode=fmt == "csv")
    columns = OUTAGE_COLUMNS if fmt == "csv" else tuple(c for c in OUTAGE_COLUMNS if c != "detected_by")
    _emit(rows, columns, fmt, "Outages")
    if fmt == "table":
        out.print(f"{len(rows)} outage(s), {sum(1 for o in chosen if o.ended_at is None)} open")


def availability_command(
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    by: Annotated[str, typer.Option(help="site, district, kind or level.")] = "site",
    fmt: FormatOpt = "table",
    database: DatabaseOpt = None,
    tz: TzOpt = DEFAULT_TZ,
) -> None:
    """Availability %, outage count and MTTR per group for one month (maintenance and monitoring gaps excluded)."""
    _check_format(fmt)
    if by not in GROUPINGS:
        err.print(f"--by must be one of {', '.join(GROUPINGS)}", markup=False)
        raise typer.Exit(2)
    try:
        period = month_period(month, tz)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    h = _history(database)
    grouping: GroupBy = by
    groups = availability(h.sites.values(), h.outages, period, h.runs, site_maintenance(h, *period), datetime.now(UTC),
                          by=grouping, province=h.province)
    _emit(availability_rows(groups), AVAILABILITY_COLUMNS, fmt, f"Availability {month} by {by}")
    if fmt == "table":
        gap = max((g.gap_s for g in groups), default=0.0)
        out.print(f"monitoring gaps in the period: {minutes(gap)} min (counted neither up nor down); "
                   "own = root at the site, unreachable = behind a failed parent")


def register(app: typer.Typer) -> None:
    """Add ``netmon outages`` and ``netmon report availability`` to the netmon typer app."""
    app.command("outages")(outages_command)
    report_app = typer.Typer(help="Reports over the outage history.", no_args_is_help=True)
    report_app.command("availability")(availability_command)
    app.add_typer(report_app, name="report")
