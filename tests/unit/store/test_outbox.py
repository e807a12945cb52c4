"""The outbox: changes wait, in order and on disk, while the database is away; nothing is lost or doubled.

The database really goes away: the folder of a SQLite file is moved aside (every new connection fails with
``OperationalError: unable to open database file``), then moved back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.pool import NullPool

from netmon.store.outbox import DatabaseStatus, Op, Outbox, one_line

META = MetaData()
NOTES = Table("note", META, Column("n", Integer, primary_key=True), Column("text", String(8), nullable=False))


def apply(conn: Connection, op: Op) -> None:
    """Idempotent: a note is written once whatever the replays."""
    if conn.execute(select(NOTES.c.n).where(NOTES.c.n == op["n"])).first() is None:
        conn.execute(insert(NOTES).values(n=op["n"], text=op["text"]))


class Db:
    def __init__(self, tmp: Path) -> None:
        self.folder = tmp / "db"
        self.url = f"sqlite:///{self.folder / 'x.db'}"
        self.engine = create_engine(self.url, poolclass=NullPool)

        self.aside = self.folder.with_name("db.away")
        self.folder.mkdir()
        META.create_all(self.engine)

    def away(self) -> None:
        self.folder.rename(self.aside)

    def back(self) -> None:
        self.aside.rename(self.folder)

    def notes(self) -> list[tuple[int, str]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(NOTES).order_by(NOTES.c.n))]  # type: ignore[misc]


@pytest.fixture
def db(tmp_path: Path) -> Db:
    return Db(tmp_path)


def test_changes_wait_while_the_database_is_away_and_are_written_in_order_when_it_returns(
    db: Db, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    status = DatabaseStatus()
    box = Outbox(db.engine, apply, tmp_path / "outbox.jsonl", status)
    assert box.put({"op": "note", "n": 1, "text": "a"})
    db.away()
    with caplog.at_level(logging.WARNING, logger="netmon.store.outbox"):
        for n in range(2, 12):
            assert not box.put({"op": "note", "n": n, "text": "b"})
        assert not box.retry()
    assert not status.up and box.pending == 10
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 10  # on disk while away
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0].getMessage()  # said once, in one line
    db.back()
    assert box.retry()
    assert status.up and box.pending == 0 and not (tmp_path / "outbox.jsonl").exists()
    assert db.notes() == [(1, "a"), *((n, "b") for n in range(2, 12))]
    (gap,) = status.take_gaps()
    assert gap[0] < gap[1]


def test_a_crash_while_away_loses_nothing_the_next_run_writes_the_journal_first(db: Db, tmp_path: Path) -> None:
    journal = tmp_path / "outbox.jsonl"
    first = Outbox(db.engine, apply, journal)
    db.away()
    for n in range(1, 4):
        first.put({"op": "note", "n": n, "text": "ü"})
    del first  # SIGKILL: nothing but the journal survives
    db.back()
    second = Outbox(db.engine, apply, journal)
    assert second.replay() == 3
    assert second.put({"op": "note", "n": 4, "text": "new"})
    assert db.notes() == [(1, "ü"), (2, "ü"), (3, "ü"), (4, "new")]


def test_a_replayed_journal_after_a_crash_between_commit_and_truncation_doubles_nothing(
    db: Db, tmp_path: Path
) -> None:
    journal = tmp_path / "outbox.jsonl"
    journal.write_text('{"op":"note","n":1,"text":"a"}\n{"op":"note","n":2,"text":"b"}\n{"op":"no', encoding="utf-8")
    with db.engine.begin() as conn:
        apply(conn, {"n": 1, "text": "a"})  # already committed before the crash
    box = Outbox(db.engine, apply, journal)
    assert box.replay() == 2  # the line cut short by the crash is reported and skipped
    assert box.flush()
    assert db.notes() == [(1, "a"), (2, "b")]


def test_a_change_the_database_refuses_for_good_is_set_aside_and_does_not_block_the_others(
    db: Db, tmp_path: Path
) -> None:
    journal = tmp_path / "outbox.jsonl"
    box = Outbox(db.engine, apply, journal)
    db.away()
    box.put({"op": "note", "n": 1, "text": "ok"})
    box.put({"op": "note", "n": 2, "text": None})  # NOT NULL: an IntegrityError, not a transient fault
    box.put({"op": "note", "n": 3, "text": "ok"})
    db.back()
    assert box.retry()
    assert db.notes() == [(1, "ok"), (3, "ok")] and box.rejected == 1
    assert '"n": 2' in journal.with_name("outbox.jsonl.rejected").read_text()


def test_an_unwritable_journal_keeps_changes_in_memory(db: Db, tmp_path: Path) -> None:
    box = Outbox(db.engine, apply, tmp_path / "no-such-folder" / "outbox.jsonl")
    db.away()
    box.put({"op": "note", "n": 1, "text": "m"})
    assert box.pending == 1
    db.back()
    assert box.retry() and db.notes() == [(1, "m")]


def test_one_line_drops_sql_and_parameters() -> None:
    from sqlalchemy.exc import OperationalError

    exc = OperationalError("INSERT INTO secret_table VALUES (?)", ("p@ss",), Exception("disk I/O error\nmore"))
    assert one_line(exc) == "Exception: disk I/O error more"
