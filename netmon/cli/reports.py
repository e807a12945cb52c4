"""``netmon outages`` and ``netmon report availability``: the outage history, listed and summed up.

The computation is :mod:`netmon.reports` (pure); the records come from :func:`netmon.store.history.read_history`.
Times are read and printed in the province's zone (``--tz`` to choose another): a table shows
``2026-11-15 08:00:00``, JSON and CSV ISO 8601 with the offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from netmon.cli.common import (
    Column,
    DatabaseOpt,
    Format,
    FormatOpt,
    TzOpt,
    district_codes,
    emit,
    fail,
    human_time,
    open_database,
    province_zone,
)
from netmon.lang import t
from netmon.reports import (
    availability,
    availability_rows,
    minutes,
    month_period,
    outage_rows,
    parse_since,
    select_outages,
    site_maintenance,
)
from netmon.store.records import HistoryRecords


class By(StrEnum):
    SITE = "site"
    DISTRICT = "district"
    KIND = "kind"
    LEVEL = "level"


def _history(database: str | None) -> HistoryRecords:
    from netmon.store.history import read_history

    engine = open_database(database, read_only=True)
    try:
        return read_history(engine)
    finally:
        engine.dispose()


def _hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


OUTAGE_COLUMNS = (
    Column("id", "col_id"), Column("started", "col_started"), Column("ended", "col_ended"),
    Column("duration", "col_duration"), Column("kind", "col_kind"), Column("object", "col_object"),
    Column("site", "site"), Column("district", "district"),
    Column("affected", "col_affected", cell=lambda v: str(len(v))),
    Column("detected_by", "col_detected_by", table=False), Column("root_cause", "col_root_cause"),
)
AVAILABILITY_COLUMNS = (
    Column("group", "col_group"), Column("sites", "col_sites"), Column("availability_pct", "col_availability_pct", 3),
    Column("observed_h", "col_observed_h", 1), Column("own_down_min", "col_own_down_min", 1),
    Column("unreachable_min", "col_unreachable_min", 1), Column("outages", "col_outages"),
    Column("unreachable_outages", "col_unreachable_outages"), Column("mttr_min", "col_mttr_min", 1),
    Column("maintenance_min", "col_maintenance_min", 1), Column("gap_min", "col_gap_min", 1),
)


def outages_command(
    open_only: Annotated[bool, typer.Option("--open", help="Only outages still open.")] = False,
    since: Annotated[str | None, typer.Option(help="Still open at or after this date (YYYY-MM-DD or ISO; without "
                                                   "an offset in the province's zone).")] = None,
    district: Annotated[str | None, typer.Option(help="District GSO code or (part of) its name.")] = None,
    fmt: FormatOpt = Format.TABLE,
    database: DatabaseOpt = None,
    tz: TzOpt = None,
) -> None:
    """List outages (newest first): one row per root cause, with the sites it made unreachable."""
    zone = province_zone(tz)  # every argument is checked before the database is opened
    try:
        since_at = parse_since(since, zone.key) if since else None
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    h = _history(database)
    codes = district_codes(h.districts, district) if district else None
    chosen = select_outages(h.outages, open_only=open_only, since=since_at, districts=codes,
                            site_district={k: v.district for k, v in h.sites.items()})
    rows = outage_rows(chosen, h.districts, datetime.now(UTC))
    columns = [*OUTAGE_COLUMNS]  # a table: "(open)" for no end yet, the duration as H:MM:SS
    columns[2] = Column("ended", "col_ended", cell=lambda v: t("open") if v is None else human_time(v, zone))
    columns[3] = Column("duration", "col_duration", cell=_hms)
    n_open = sum(1 for o in chosen if o.ended_at is None)
    emit(rows, columns, fmt, title=t("outages"), footer=[t("outages_summary", n=len(rows), open=n_open)], zone=zone)


def availability_command(
    month: Annotated[str, typer.Option(help="YYYY-MM (month boundaries in the province's zone)")],
    by: Annotated[By, typer.Option(help="site, district, kind or level.")] = By.SITE,
    fmt: FormatOpt = Format.TABLE,
    database: DatabaseOpt = None,
    tz: TzOpt = None,
) -> None:
    """Availability %, outage count and MTTR per group for one month (maintenance and monitoring gaps excluded)."""
    zone = province_zone(tz)
    try:
        period = month_period(month, zone.key)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    h = _history(database)
    groups = availability(h.sites.values(), h.outages, period, h.runs, site_maintenance(h, *period), datetime.now(UTC),
                          by=by.value, province=h.province)
    gap = max((g.gap_s for g in groups), default=0.0)
    footer = [t("availability_footer", gap=f"{minutes(gap) or 0:.1f}", zone=zone.key)]
    emit(availability_rows(groups), AVAILABILITY_COLUMNS, fmt,
         title=t("availability_title", month=month, by=t(f"by_{by.value}")), footer=footer, zone=zone)


def register(app: typer.Typer) -> None:
    """Add ``netmon outages`` and ``netmon report availability`` to the netmon typer app."""
    app.command("outages")(outages_command)
    report_app = typer.Typer(help="Reports over the outage history.", no_args_is_help=True)
    report_app.command("availability")(availability_command)
    app.add_typer(report_app, name="report")
