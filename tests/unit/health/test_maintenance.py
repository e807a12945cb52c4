"""Maintenance windows: one-off and weekly, across midnight, in time zones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from netmon.health.maintenance import in_maintenance, maintenance_intervals, maintenance_targets
from netmon.health.topology import topology_from_inventory
from netmon.inventory.load import load_inventory
from netmon.inventory.schema import Maintenance, Recurrence

ICT = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")


def one_off(start: datetime, end: datetime) -> Maintenance:
    return Maintenance(id="mw", devices=["rt-x"], start=start, end=end)


def weekly(days: list[str], start: time, minutes: int, zone: str = "Asia/Ho_Chi_Minh") -> Maintenance:
    rec = Recurrence.model_validate({"days": days, "start": start, "duration_minutes": minutes, "timezone": zone})
    return Maintenance(id="mw", devices=["rt-x"], recurrence=rec)


def hours(intervals: list[tuple[datetime, datetime]]) -> float:
    return sum((e - s).total_seconds() for s, e in intervals) / 3600


def test_one_off_window_is_half_open_and_zone_independent() -> None:
    mw = one_off(datetime(2023, 12, 9, 22, tzinfo=ICT), datetime(2023, 12, 10, 2, tzinfo=ICT))
    assert in_maintenance(mw, datetime(2023, 12, 9, 22, tzinfo=ICT))
    assert in_maintenance(mw, datetime(2023, 12, 9, 18, 30, tzinfo=UTC))  # 01:30 ICT
    assert not in_maintenance(mw, datetime(2023, 12, 10, 2, tzinfo=ICT))
    assert not in_maintenance(mw, datetime(2023, 12, 9, 21, 59, tzinfo=ICT))


def test_one_off_intervals_are_clipped_and_in_utc() -> None:
    mw = one_off(datetime(2023, 12, 9, 22, tzinfo=ICT), datetime(2023, 12, 10, 2, tzinfo=ICT))
    got = maintenance_intervals(mw, datetime(2023, 12, 10, tzinfo=ICT), datetime(2023, 12, 11, tzinfo=ICT))
    assert got == [(datetime(2023, 12, 9, 17, tzinfo=UTC), datetime(2023, 12, 9, 19, tzinfo=UTC))]
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in got)
    assert maintenance_intervals(mw, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)) == []


def test_weekly_window_across_midnight() -> None:
    mw = weekly(["sat"], time(23, 0), 180)  # Saturday 23:00 → Sunday 02:00, Vietnam time
    sat = datetime(2024, 3, 2, tzinfo=ICT)  # a Saturday
    assert not in_maintenance(mw, sat.replace(hour=22, minute=59))
    assert in_maintenance(mw, sat.replace(hour=23))
    assert in_maintenance(mw, sat + timedelta(days=1, hours=1, minutes=59))
    assert not in_maintenance(mw, sat + timedelta(days=1, hours=2))
    assert not in_maintenance(mw, sat + timedelta(days=1, hours=23))  # Sunday night is not Saturday night


def test_weekly_window_across_the_end_of_the_week() -> None:
    mw = weekly(["sun"], time(23, 30), 60)
    monday = datetime(2024, 3, 4, tzinfo=ICT)
    assert in_maintenance(mw, monday.replace(minute=15))
    assert not in_maintenance(mw, monday.replace(minute=30))
    got = maintenance_intervals(mw, monday, monday + timedelta(days=7))
    assert [s.astimezone(ICT) for s, _ in got] == [monday, monday + timedelta(days=6, hours=23, minutes=30)]
    assert hours(got) == 0.5 + 0.5


def test_local_time_zone_decides_the_day() -> None:
    """Sunday 02:00 in Vietnam is Saturday 19:00 UTC; the same window in Berlin is 8 hours later."""
    mw_vn, mw_de = weekly(["sun"], time(2), 120), weekly(["sun"], time(2), 120, "Europe/Berlin")
    sat_19_utc = datetime(2024, 1, 6, 19, 30, tzinfo=UTC)
    assert in_maintenance(mw_vn, sat_19_utc) and not in_maintenance(mw_de, sat_19_utc)
    assert in_maintenance(mw_de, datetime(2024, 1, 7, 1, 30, tzinfo=UTC))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    got = maintenance_intervals(mw_vn, start, start + timedelta(days=28))
    assert [s for s, _ in got] == [datetime(2024, 1, d, 19, tzinfo=UTC) for d in (6, 13, 20, 27)]
    assert hours(got) == 8


def test_duration_is_real_time_across_a_dst_change() -> None:
    mw = weekly(["sun"], time(1, 0), 180, "Europe/Berlin")  # 31 March 2024: clocks jump 02:00 → 03:00
    day = datetime(2024, 3, 31, tzinfo=BERLIN)
    got = maintenance_intervals(mw, day, day + timedelta(days=1))
    assert got == [(datetime(2024, 3, 31, 0, tzinfo=UTC), datetime(2024, 3, 31, 3, tzinfo=UTC))]
    assert got[0][1].astimezone(BERLIN).hour == 5  # 3 real hours, ending at 05:00 CEST


def test_overlapping_occurrences_merge() -> None:
    mw = weekly(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], time(0), 25 * 60)
    start = datetime(2024, 1, 1, 12, tzinfo=ICT)
    assert maintenance_intervals(mw, start, start + timedelta(days=3)) == [
        (start.astimezone(UTC), (start + timedelta(days=3)).astimezone(UTC))
    ]


def test_naive_times_are_refused() -> None:
    mw = weekly(["sun"], time(2), 120)
    with pytest.raises(ValueError, match="time zone"):
        in_maintenance(mw, datetime(2024, 1, 7, 2, 30))
    assert maintenance_intervals(mw, datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)) == []


def test_sample_windows_cover_their_devices_sites_and_links() -> None:
    inv = load_inventory(Path(__file__).resolve().parents[3] / "inventory")
    topo = topology_from_inventory(inv)
    windows = list(inv.maintenance.values())
    sunday_0230 = datetime(2024, 1, 7, 2, 30, tzinfo=ICT)
    keys = maintenance_targets(topo, windows, sunday_0230)
    assert "device:rt-ubnd-huyen-duyen-hai" in keys and "device:rt-ubnd-xa-ngu-lac-29530" in keys
    assert "link:ln-ubnd-huyen-duyen-hai" in keys  # its circuit to the core
    assert sum(k.startswith("device:") for k in keys) == 8
    assert "device:rt-so-thong-tin-truyen-thong" not in keys
    assert maintenance_targets(topo, windows, sunday_0230 + timedelta(hours=1, minutes=30)) == frozenset()  # ends 04:00
    core_upgrade = maintenance_targets(topo, windows, datetime(2023, 12, 10, 1, tzinfo=ICT))
    assert "device:rt-so-thong-tin-truyen-thong" in core_upgrade
    assert sum(k.startswith("link:") for k in core_upgrade) == 34  # every circuit ending on the core (25 + 9)
