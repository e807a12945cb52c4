"""The outage history keeps every judgement while the database is away, and writes it in order when it is back.

A real SQLite database whose folder is moved aside (every connection fails: ``unable to open database
file``) and back; no fake.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from netmon.health.incidents import Incident, IncidentKind
from netmon.store.db import make_engine, upgrade
from netmon.store.history import HistoryWriter
from netmon.store.outbox import DatabaseUnavailable

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def incident(key: str, started: datetime, affected: tuple[str, ...] = ()) -> Incident:
    return Incident(key=key, kind=IncidentKind.DEVICE_DOWN, root=key.split(":")[1], site_id="ubnd-x",
                    site_name="UBND xã Phú Cần", district="Huyện Tiểu Cần", title="xã Phú Cần mất kết nối",
                    summary="down", affected=(), started_at=started, evidence="SNMP failing")


class Db:
    def __init__(self, tmp: Path) -> None:
        self.folder, self.aside = tmp / "db", tmp / "db.away"
        self.folder.mkdir()
        self.engine = make_engine(f"sqlite:///{self.folder / 'netmon.db'}")
        upgrade(self.engine)
        self.engine.dispose()

    def away(self) -> None:
        self.engine.dispose()  # no pooled connection survives: the next one fails, as with a dead server
        self.folder.rename(self.aside)

    def back(self) -> None:
        self.aside.rename(self.folder)

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]


@pytest.fixture
def db(tmp_path: Path) -> Db:
    return Db(tmp_path)


def test_an_outage_that_starts_and_ends_while_the_database_is_away_is_one_row_with_its_times(
    db: Db, tmp_path: Path
) -> None:
    journal = tmp_path / "outbox.jsonl"
    h = HistoryWriter(db.engine, journal)
    h.start_run(T0)
    db.away()
    inc = incident("device:rt-xa-phu-can", T0 + timedelta(seconds=10))
    h.record([inc], [], T0 + timedelta(seconds=15))
    h.event(T0 + timedelta(seconds=12), "device", "rt-xa-phu-can", "reboot", "sysUpTime 9 → 1")
    h.record([], [inc], T0 + timedelta(seconds=50))
    h.heartbeat(T0 + timedelta(seconds=55))  # not a traceback: said once, kept trying
    assert not h.database_up and h.pending == 3 and journal.exists()
    db.back()
    assert h.retry()
    assert db.rows("select object_id, started_at, ended_at, duration_s from outage") == [
        ("rt-xa-phu-can", "2026-12-04 09:00:10.000000", "2026-12-04 09:00:50.000000", 40.0)]
    kinds = [k for (k,) in db.rows("select kind from event order by id")]
    assert kinds == ["reboot", "database_gap"]
    assert h.database_up and h.pending == 0 and h.database_outages == 1 and not journal.exists()


def test_the_write_that_finds_the_database_back_records_the_gap_with_it(db: Db, tmp_path: Path) -> None:
    """Not only a retry: a new outage written first after the gap has the gap beside it (no heartbeat between)."""
    h = HistoryWriter(db.engine, tmp_path / "outbox.jsonl")
    h.start_run(T0)
    db.away()
    inc = incident("device:rt-xa-phu-can", T0 + timedelta(seconds=10))
    h.record([inc], [], T0 + timedelta(seconds=15))
    assert not h.database_up
    db.back()
    h.record([], [inc], T0 + timedelta(seconds=50))
    assert h.database_up and h.pending == 0
    assert [k for (k,) in db.rows("select kind from event")] == ["database_gap"]
    assert len(db.rows("select ended_at from outage where ended_at is not null")) == 1


def test_changes_left_in_the_journal_by_a_killed_run_are_written_first_at_the_next_start(
    db: Db, tmp_path: Path
) -> None:
    journal = tmp_path / "outbox.jsonl"
    first = HistoryWriter(db.engine, journal)
    first.start_run(T0)
    db.away()
    first.record([incident("device:rt-a", T0 + timedelta(seconds=5))], [], T0 + timedelta(seconds=8))
    del first  # SIGKILL while the database was away
    db.back()
    second = HistoryWriter(db.engine, journal)
    second.start_run(T0 + timedelta(minutes=2))
    assert db.rows("select object_id, ended_at from outage") == [("rt-a", None)]
    assert set(second.open) == {"device:rt-a"} and second.open["device:rt-a"].adopted


def test_an_adopted_outage_and_a_replayed_journal_stay_one_row(db: Db, tmp_path: Path) -> None:
    journal = tmp_path / "outbox.jsonl"
    h = HistoryWriter(db.engine, journal)
    h.start_run(T0)
    inc = incident("device:rt-b", T0)
    h.record([inc], [], T0)
    journal.write_text('{"op":"open","key":"device:rt-b","object_type":"device","object_id":"rt-b",'
                       '"site_id":null,"kind":"device_down","title":"again","affected":[],"detected_by":"poll",'
                       '"started_at":"2026-12-04T09:00:00+00:00"}\n', encoding="utf-8")
    again = HistoryWriter(db.engine, journal)
    again.start_run(T0 + timedelta(minutes=1))
    again.record([incident("device:rt-b", T0 + timedelta(minutes=1))], [], T0 + timedelta(minutes=1))
    assert db.rows("select count(*) from outage") == [(1,)]


def test_start_on_a_database_that_is_away_is_one_clear_error(db: Db, tmp_path: Path) -> None:
    db.away()
    with pytest.raises(DatabaseUnavailable, match="unable to open database file"):
        HistoryWriter(db.engine, tmp_path / "outbox.jsonl").start_run(T0)
