"""What the outage history reads back: plain records (no ORM), for the reports' pure computation.

:func:`netmon.store.history.read_history` fills them from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from netmon.inventory import schema as s


@dataclass(frozen=True, slots=True)
class OutageRow:
    id: int
    object_type: str  # device / link / base_station
    object_id: str
    site_id: str | None
    kind: str
    root_cause: str
    affected: tuple[str, ...]
    detected_by: str
    started_at: datetime
    ended_at: datetime | None = None
    duration_s: float | None = None
    root_sites: tuple[str, ...] = ()
    """Sites whose maintenance excuses this outage (its site; for a link, the sites of both ends)."""
    district: str | None = None
    """District code of the root (for filtering and listing)."""

    def until(self, now: datetime) -> datetime:
        return self.ended_at if self.ended_at is not None else now


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: str
    name: str
    kind: str
    level: str
    district: str | None = None
    """District code."""
    district_name: str | None = None


@dataclass(frozen=True, slots=True)
class Run:
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None


@dataclass
class HistoryRecords:
    """Everything the reports read, loaded at once by :func:`read_history`."""

    sites: dict[str, SiteInfo] = field(default_factory=dict)
    outages: list[OutageRow] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    windows: list[s.Maintenance] = field(default_factory=list)
    site_devices: dict[str, set[str]] = field(default_factory=dict)
    districts: dict[str, str] = field(default_factory=dict)  # code -> name
    province: str = ""


def utc(at: datetime) -> datetime:
    """Aware UTC (the database hands SQLite datetimes back naive; they were stored as UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
