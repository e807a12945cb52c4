"""Reports: availability arithmetic on hand-built outage rows, outage selection, and the two CLI commands."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from netmon import reports as r
from netmon.cli.common import district_codes
from netmon.cli.reports import register
from netmon.health.maintenance import maintenance_intervals
from netmon.inventory import schema as s
from netmon.reports import OutageRow, Run, SiteInfo

NOV = r.month_period("2026-11", "UTC")
MONTH_S = 30 * 86400.0


def t(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


END = datetime(2026, 12, 1, tzinfo=UTC)
AFTER = datetime(2027, 1, 1, tzinfo=UTC)  # "now" after the month: nothing is clipped
WHOLE_MONTH = [Run(NOV[0], NOV[1], NOV[1])]

CORE = SiteInfo("so-tttt", "Sở TTTT", "state", "province")
DIST = SiteInfo("ubnd-cau-ngang", "UBND Huyện Cầu Ngang", "state", "district", "848", "Huyện Cầu Ngang")
C1 = SiteInfo("ubnd-tt", "UBND Thị trấn Cầu Ngang", "state", "commune", "848", "Huyện Cầu Ngang")
C2 = SiteInfo("ubnd-mlb", "UBND xã Mỹ Long Bắc", "state", "commune", "848", "Huyện Cầu Ngang")
C3 = SiteInfo("du-mlb", "Đảng ủy xã Mỹ Long Bắc", "party", "commune", "848", "Huyện Cầu Ngang")
TC = SiteInfo("huyen-uy-tc", "Huyện ủy Tiểu Cần", "party", "district", "846", "Huyện Tiểu Cần")
SITES = [CORE, DIST, C1, C2, C3, TC]
COMMUNES = (C1.id, C2.id, C3.id)


def outage(id: int, site: SiteInfo | None, start: datetime, end: datetime | None, *, affected: tuple[str, ...] = (),
           object_type: str = "device", kind: str = "device_down", object_id: str | None = None,
           roots: tuple[str, ...] = ()) -> OutageRow:
    return OutageRow(
        id=id, object_type=object_type, object_id=object_id or f"rt-{id}", site_id=site.id if site else None,
        kind=kind, root_cause=f"outage {id}", affected=affected, detected_by="test", started_at=start, ended_at=end,
        duration_s=(end - start).total_seconds() if end else None, root_sites=roots or ((site.id,) if site else ()),
        district=site.district if site else None,
    )


def one(site: SiteInfo, outages: list[OutageRow], runs: list[Run] = WHOLE_MONTH,
        maintenance: dict[str, list[r.Interval]] | None = None, now: datetime = AFTER) -> r.SiteAvailability:
    return r.site_availability(site, outages, NOV, r.monitored_intervals(runs, now), maintenance or {}, now)


# ------------------------------------------------------------------------------------------ intervals
def test_interval_helpers() -> None:
    a = [(t(1), t(3)), (t(2), t(4)), (t(10), t(11))]
    assert r.merge(a) == [(t(1), t(4)), (t(10), t(11))]
    assert r.intersect(a, [(t(3), t(10, 12))]) == [(t(3), t(4)), (t(10), t(10, 12))]
    assert r.subtract(a, [(t(2), t(3)), (t(10, 6), t(20))]) == [(t(1), t(2)), (t(3), t(4)), (t(10), t(10, 6))]
    assert r.seconds(a) == 4 * 86400
    assert r.subtract([(t(1), t(2))], []) == [(t(1), t(2))]
    assert r.intersect([], a) == []


spans = st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), max_size=8).map(
    lambda xs: [(t(1) + timedelta(minutes=min(p)), t(1) + timedelta(minutes=max(p))) for p in xs])


@given(spans, spans)
def test_intersection_and_difference_partition_an_interval_set(a: list[r.Interval], b: list[r.Interval]) -> None:
    both, rest = r.intersect(a, b), r.subtract(a, b)
    assert r.seconds(both) + r.seconds(rest) == r.seconds(a)
    assert r.intersect(both, rest) == []
    assert r.seconds(r.intersect(rest, b)) == 0


def test_month_period_is_local_midnight_to_local_midnight() -> None:
    start, end = r.month_period("2026-11")  # Asia/Ho_Chi_Minh, UTC+7
    assert start == datetime(2026, 10, 31, 17, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert r.month_period("2026-12", "UTC") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="YYYY-MM"):
        r.month_period("2026-13")


def test_monitored_time_comes_from_runs_and_their_heartbeats() -> None:
    runs = [Run(t(1), t(5), t(5)), Run(t(5, 2), t(20), None), Run(t(3), t(4))]  # killed: no stopped_at
    # The latest run beat 30 s ago: it is running, up to now.
    now = t(20, 0, 0) + timedelta(seconds=30)
    assert r.monitored_intervals(runs, now) == [(t(1), t(5)), (t(5, 2), now)]
    # Its last heartbeat is an hour old: it died there (a gap up to now).
    assert r.monitored_intervals(runs, t(20, 1)) == [(t(1), t(5)), (t(5, 2), t(20))]


# ---------------------------------------------------------------------------------------- availability
def test_one_own_outage_over_a_fully_monitored_month() -> None:
    sa = one(C1, [outage(1, C1, t(10, 10), t(10, 11))])
    assert sa.observed_s == MONTH_S
    assert sa.own_down_s == 3600 and sa.unreachable_s == 0
    assert sa.availability == pytest.approx(1 - 3600 / MONTH_S)
    assert sa.own_outages == (1,)


def test_own_outage_versus_time_unreachable_behind_the_district() -> None:
    dist_down = outage(1, DIST, t(10, 10), t(10, 11), affected=COMMUNES)
    c1_link = outage(2, C1, t(10, 10, 30), t(10, 11, 30), object_type="link", kind="link_down",
                     object_id="uplink-c1", roots=(C1.id, DIST.id))
    rows = [dist_down, c1_link]
    d = one(DIST, rows)
    assert (d.own_down_s, d.unreachable_s, d.own_outages) == (3600, 0, (1,))
    c1 = one(C1, rows)  # own 10:30-11:30, behind the district 10:00-10:30 only (no double count)
    assert (c1.own_down_s, c1.unreachable_s) == (3600, 1800)
    assert c1.own_outages == (2,) and c1.unreachable_outages == (1,)
    assert c1.availability == pytest.approx(1 - 5400 / MONTH_S)
    c2 = one(C2, rows)
    assert (c2.own_down_s, c2.unreachable_s, c2.own_outages, c2.unreachable_outages) == (0, 3600, (), (1,))
    assert one(TC, rows).availability == 1.0


def test_maintenance_is_neither_observed_time_nor_downtime() -> None:
    window = s.Maintenance(id="w", sites=[DIST.id], start=t(10, 10), end=t(10, 10, 30))
    maintenance = {DIST.id: maintenance_intervals(window, *NOV)}
    rows = [outage(1, DIST, t(10, 10), t(10, 11), affected=COMMUNES)]
    d = one(DIST, rows, maintenance=maintenance)
    assert d.maintenance_s == 1800 and d.observed_s == MONTH_S - 1800
    assert d.own_down_s == 1800  # 10:30-11:00 only
    # The communes were unreachable because of planned work at the district: excused for that half hour,
    # while their own observed time is untouched (the window is not theirs).
    c2 = one(C2, rows, maintenance=maintenance)
    assert (c2.observed_s, c2.unreachable_s, c2.maintenance_s) == (MONTH_S, 1800, 0)
    # An outage entirely inside a window of its root is not an outage for the report.
    inside = one(DIST, [outage(2, DIST, t(10, 10, 5), t(10, 10, 25))], maintenance=maintenance)
    assert inside.own_down_s == 0 and inside.own_outages == ()


def test_monitoring_gaps_count_neither_as_up_nor_down() -> None:
    runs = [Run(NOV[0], t(20), None), Run(t(20, 2), END, END)]  # killed at 20 Nov 00:00, back at 02:00
    rows = [outage(1, C3, t(19, 23), t(20, 3))]  # spans the gap: 1 h before it, 1 h after
    sa = one(C3, rows, runs=runs)
    assert sa.gap_s == 7200
    assert sa.observed_s == MONTH_S - 7200
    assert sa.own_down_s == 7200
    assert sa.availability == pytest.approx(1 - 7200 / (MONTH_S - 7200))
    nothing = one(C3, [], runs=[])
    assert nothing.observed_s == 0 and nothing.availability is None and nothing.gap_s == MONTH_S


def test_open_outage_counts_up_to_now_and_the_period_stops_at_now() -> None:
    now = t(25, 12)
    runs = [Run(NOV[0], now - timedelta(seconds=10), None)]
    sa = one(C2, [outage(1, C2, t(25, 11), None)], runs=runs, now=now)
    assert sa.observed_s == (now - NOV[0]).total_seconds()
    assert sa.own_down_s == 3600
    # A month that has not begun has nothing observed.
    assert r.site_availability(C2, [], r.month_period("2027-02", "UTC"), [], {}, now).availability is None


def test_outages_outside_the_period_and_base_stations_do_not_count() -> None:
    rows = [outage(1, C1, t(1) - timedelta(hours=2), t(1) + timedelta(hours=1)),  # 1 h inside
            outage(2, C1, END + timedelta(hours=1), END + timedelta(hours=2)),
            outage(3, None, t(5), t(6), object_type="base_station", kind="bts_down", affected=(C1.id,))]
    sa = one(C1, rows)
    assert sa.own_down_s == 3600 and sa.own_outages == (1,) and sa.unreachable_s == 0


def test_groups_add_seconds_count_each_outage_once_and_give_mttr() -> None:
    rows = [outage(1, DIST, t(10, 10), t(10, 11), affected=COMMUNES),
            outage(2, C1, t(12, 8), t(12, 8, 30), object_type="link", kind="link_down", object_id="uplink-c1"),
            outage(3, TC, t(14), t(14, 2)),
            outage(4, C2, t(29, 23), None)]
    now = t(30, 0)
    runs = [Run(NOV[0], now, None)]
    by_district = {g.key: g for g in r.availability(SITES, rows, NOV, runs, {}, now, by="district")}
    cn = by_district["848"]
    assert cn.label == "Huyện Cầu Ngang" and cn.sites == 4
    observed = (now - NOV[0]).total_seconds()
    assert cn.observed_s == 4 * observed
    assert cn.own_down_s == 3600 + 1800 + 3600  # district 1 h, c1 30 min, c2 1 h open
    assert cn.unreachable_s == 3 * 3600  # the three communes behind the district
    assert cn.outages == 3 and cn.unreachable_outages == 0  # outage 1 is own for the group
    assert cn.mttr_s == pytest.approx((3600 + 1800) / 2)  # the open one has no repair time yet
    assert cn.availability == pytest.approx(1 - (2.5 * 3600 + 3 * 3600) / (4 * observed))
    assert by_district[""].label.startswith("(cấp tỉnh)")
    assert by_district["846"].mttr_s == 7200
    by_level = {g.label: g for g in r.availability(SITES, rows, NOV, runs, {}, now, by="level")}
    assert list(by_level) == ["province", "district", "commune"]
    assert by_level["commune"].outages == 2 and by_level["commune"].unreachable_outages == 1
    assert by_level["district"].outages == 2
    by_kind = {g.label: g for g in r.availability(SITES, rows, NOV, runs, {}, now, by="kind")}
    assert by_kind["party"].sites == 2 and by_kind["party"].outages == 1
    by_site = r.availability(SITES, rows, NOV, runs, {}, now, by="site")
    assert len(by_site) == len(SITES) and all(g.sites == 1 for g in by_site)


def test_select_outages_filters() -> None:
    rows = [outage(1, DIST, t(10, 10), t(10, 11), affected=COMMUNES),
            outage(2, TC, t(14), t(14, 2)),
            outage(3, CORE, t(20), None, affected=(DIST.id, *COMMUNES, TC.id)),
            outage(4, C1, t(1), t(2))]
    site_district = {x.id: x.district for x in SITES}

    def ids(xs: list[OutageRow]) -> list[int]:
        return [o.id for o in xs]

    assert ids(r.select_outages(rows)) == [3, 2, 1, 4]  # newest first
    assert ids(r.select_outages(rows, open_only=True)) == [3]
    assert ids(r.select_outages(rows, since=t(12))) == [3, 2]
    assert ids(r.select_outages(rows, districts={"846"}, site_district=site_district)) == [3, 2]
    assert ids(r.select_outages(rows, districts={"848"}, site_district=site_district)) == [3, 1, 4]
    assert district_codes({"848": "Huyện Cầu Ngang", "846": "Huyện Tiểu Cần"}, "cau ngang") == {"848"}
    assert r.parse_since("2026-11-10") == datetime(2026, 11, 9, 17, tzinfo=UTC)


# --------------------------------------------------------------------------------------------- CLI
MINI = Path(__file__).resolve().parents[1] / "fixtures" / "inventory" / "mini"


@pytest.fixture
def db(tmp_path: Path) -> str:
    """The mini inventory synced into a SQLite database, with a hand-written history for November 2024."""
    from sqlalchemy import insert

    from netmon.inventory.load import load_inventory
    from netmon.store import models as m
    from netmon.store import sync as syncer
    from netmon.store.db import make_engine, upgrade

    inv_dir = tmp_path / "inv"
    shutil.copytree(MINI, inv_dir)
    url = f"sqlite:///{tmp_path / 'netmon.db'}"
    engine = make_engine(url)
    upgrade(engine)
    syncer.apply(engine, syncer.plan(engine, load_inventory(inv_dir)))

    def utc(*a: int) -> datetime:
        return datetime(*a).replace(tzinfo=UTC)  # type: ignore[arg-type]

    with engine.begin() as conn:
        conn.execute(insert(m.MonitorRun.__table__), [  # type: ignore[attr-defined]
            {"started_at": utc(2024, 10, 1), "heartbeat_at": utc(2024, 11, 20), "stopped_at": None},
            {"started_at": utc(2024, 11, 20, 1), "heartbeat_at": utc(2024, 12, 5), "stopped_at": utc(2024, 12, 5)},
        ])
        conn.execute(insert(m.Outage.__table__), [  # type: ignore[attr-defined]
            # The district router, 1 h, two communes behind it.
            {"object_type": "device", "object_id": "rt-cau-ngang", "site_id": "ubnd-cau-ngang",
             "kind": "device_down", "root_cause": "Huyện Cầu Ngang: router huyện mất kết nối",
             "affected": ["ubnd-tt-cau-ngang", "ubnd-my-long-bac"], "detected_by": "ICMP+SNMP failing",
             "started_at": utc(2024, 11, 12, 3), "ended_at": utc(2024, 11, 12, 4), "duration_s": 3600.0},
            # During the weekly window (Sunday 17 Nov 22:00-24:00 local = 15:00-17:00 UTC): excused.
            {"object_type": "device", "object_id": "rt-cau-ngang", "site_id": "ubnd-cau-ngang",
             "kind": "device_down", "root_cause": "bảo trì", "affected": [], "detected_by": "ICMP+SNMP failing",
             "started_at": utc(2024, 11, 17, 15, 10), "ended_at": utc(2024, 11, 17, 15, 40), "duration_s": 1800.0},
            # Tiểu Cần, still open.
            {"object_type": "device", "object_id": "rt-huyen-uy-tieu-can", "site_id": "huyen-uy-tieu-can",
             "kind": "device_down", "root_cause": "Huyện Tiểu Cần: router huyện mất kết nối", "affected": [],
             "detected_by": "ICMP+SNMP failing", "started_at": utc(2024, 11, 30, 16), "ended_at": None,
             "duration_s": None},
        ])
    engine.dispose()
    return url


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """netmon (test app)."""

    register(app)
    return app


def _csv(text: str) -> list[dict[str, str]]:
    """The rows of CSV output, which starts with a UTF-8 byte-order mark (for Excel)."""
    assert text.startswith("\ufeff"), text[:20]
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_report_availability_cli(db: str) -> None:
    runner = CliRunner(env={"COLUMNS": "250"})
    result = runner.invoke(_app(), ["report", "availability", "--month", "2024-11", "--by", "site", "--format", "csv",
                                    "--database", db])
    assert result.exit_code == 0, result.output
    rows = {row["group"]: row for row in _csv(result.stdout)}
    assert set(rows) >= {"UBND Huyện Cầu Ngang (ubnd-cau-ngang)", "Huyện ủy Tiểu Cần (huyen-uy-tieu-can)"}
    dist = rows["UBND Huyện Cầu Ngang (ubnd-cau-ngang)"]
    # November 2024 local: 720 h; gap 20 Nov 00:00-01:00 UTC; 4 Sundays × 2 h of maintenance for the district.
    assert dist["gap_min"] == "60.0"
    assert dist["maintenance_min"] == "480.0"
    assert dist["observed_h"] == f"{720 - 1 - 8:.1f}"
    assert dist["outages"] == "1" and dist["own_down_min"] == "60.0" and dist["mttr_min"] == "60.0"
    assert dist["availability_pct"] == f"{(1 - 1 / 711) * 100:.3f}"
    town = rows["UBND Thị trấn Cầu Ngang (ubnd-tt-cau-ngang)"]
    assert (town["outages"], town["unreachable_outages"], town["unreachable_min"]) == ("0", "1", "60.0")
    tc = rows["Huyện ủy Tiểu Cần (huyen-uy-tieu-can)"]
    assert tc["own_down_min"] == "60.0"  # open since 30 Nov 16:00 UTC, the month ends at 17:00 UTC
    assert tc["mttr_min"] == ""  # no closed outage: an empty cell (Excel sums the column), never "—"

    by_district = runner.invoke(_app(), ["report", "availability", "--month", "2024-11", "--by", "district",
                                         "--database", db])
    assert by_district.exit_code == 0, by_district.output
    assert "Huyện Cầu Ngang" in by_district.stdout and "monitoring gaps in the period: 60.0 min" in by_district.stdout

    bad = runner.invoke(_app(), ["report", "availability", "--month", "2024-11", "--by", "street", "--database", db])
    assert bad.exit_code == 2


def test_outages_cli(db: str) -> None:
    runner = CliRunner(env={"COLUMNS": "250"})
    result = runner.invoke(_app(), ["outages", "--format", "csv", "--database", db])
    assert result.exit_code == 0, result.output
    rows = _csv(result.stdout)
    assert [row["object"] for row in rows] == ["device:rt-huyen-uy-tieu-can", "device:rt-cau-ngang",
                                               "device:rt-cau-ngang"]
    assert rows[0]["ended"] == "" and rows[2]["affected"] == "ubnd-tt-cau-ngang;ubnd-my-long-bac"
    assert rows[2]["district"] == "Huyện Cầu Ngang" and rows[2]["duration"] == "3600"

    opened = runner.invoke(_app(), ["outages", "--open", "--format", "csv", "--database", db])
    assert [row["id"] for row in _csv(opened.stdout)] == [rows[0]["id"]]

    district = runner.invoke(_app(), ["outages", "--district", "cau ngang", "--since", "2024-11-15", "--database", db])
    assert district.exit_code == 0, district.output
    assert "1 outage, 0 open" in district.stdout and "bảo trì" in district.stdout

    assert runner.invoke(_app(), ["outages", "--district", "nowhere", "--database", db]).exit_code == 2
    assert runner.invoke(_app(), ["outages", "--format", "xml", "--database", db]).exit_code == 2
