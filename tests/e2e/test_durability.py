"""The production path survives its faults (issue #19): a database that stops or fills up while an outage
starts and ends, netmon killed right after a recovery, a restart with an outage open.

Real parts only: ``netmon run`` as a process, the simulated province, a private PostgreSQL server that the
test stops and starts, SQLite on a real full filesystem (a small tmpfs, as root), and a webhook sink that
counts every notification. Each test asserts the history (one row per outage, with the right times), the
notifications (one "firing" and one "resolved" per outage, ``startsAt`` the stored start) and the log (the
database fault said once, no traceback).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from netmon_process import Running, WebhookSink, start_netmon, wait_for
from postgres import PgServer, admin_statement
from requirements import unavailable
from simulated import SimProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMMUNE = "rt-ubnd-xa-phu-can-29347"
KEY = f"device:{COMMUNE}"
ROUTER_INTERVAL_S = 6.0


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    s = WebhookSink()
    s.start()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _commune_answers_again(simulator: SimProcess) -> Iterator[None]:
    yield
    simulator.send(action="normal", device=COMMUNE)


def _when(value: object) -> datetime:
    """A time from the database (SQLite hands back naive UTC) or a webhook (ISO 8601 with offset)."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _outage(run: Running) -> list[tuple[object, ...]]:
    return run.query(f"select started_at, ended_at, duration_s from outage where object_id = '{COMMUNE}'")


def _no_traceback(run: Running) -> None:
    log = run.log_text()
    assert "Traceback" not in log, log[-3000:]


def _fail_and_recover(simulator: SimProcess, sink: WebhookSink) -> tuple[float, float]:
    """The commune's router stops answering, is paged, comes back, is resolved: (drop time, recovery time)."""
    dropped = time.time()
    simulator.send(action="drop", device=COMMUNE)
    wait_for(lambda: [n for n in sink.of(KEY) if n.status == "firing"], 40, "the firing notification")
    recovered = time.time()
    simulator.send(action="normal", device=COMMUNE)
    wait_for(lambda: [n for n in sink.of(KEY) if n.status == "resolved"], 40, "the resolved notification")
    return dropped, recovered


def test_postgresql_stopped_for_60_s_while_an_outage_starts_and_ends(
    simulator: SimProcess, sink: WebhookSink, tmp_path: Path
) -> None:
    pg = PgServer.create()
    try:
        server = pg.start()
        admin_statement(server, "CREATE DATABASE {}", "netmon")
        run = start_netmon(simulator.inventory, server.rsplit("/", 1)[0] + "/netmon", tmp_path,
                           env={"NETMON_WEBHOOK_URL": sink.start()})
        try:
            stopped = time.monotonic()
            pg.stop()
            dropped, recovered = _fail_and_recover(simulator, sink)
            assert run.value("netmon_database_up") == 0 and (run.value("netmon_history_pending") or 0) >= 1
            time.sleep(max(0.0, 60 - (time.monotonic() - stopped)))
            pg.start()
            row = wait_for(lambda: [r for r in _outage(run) if r[1] is not None], 30, "the outage written")
            assert len(_outage(run)) == 1
            started, ended = _when(row[0][0]), _when(row[0][1])
            firing, resolved = sink.of(KEY)  # exactly one of each
            assert (firing.status, resolved.status) == ("firing", "resolved")
            assert started == _when(firing.starts_at) and ended == _when(resolved.ends_at)
            assert dropped - 1 <= started.timestamp() <= recovered and ended.timestamp() >= recovered - 1
            gap = run.query("select detail from event where kind = 'database_gap'")
            assert len(gap) == 1 and "database unavailable from" in str(gap[0][0])
            wait_for(lambda: run.value("netmon_database_up") == 1, 10, "netmon_database_up back to 1")
            assert run.value("netmon_history_pending") == 0
            log = run.log_text()
            assert log.count("database unavailable (") == 1 and log.count("database available again") == 1
            _no_traceback(run)
        finally:
            run.stop()
    finally:
        pg.remove()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs mounted for this test (root only): a filesystem the test can really fill."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        unavailable("mounting a small tmpfs needs root")
    where = tmp_path / "small"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(fs: Path) -> Path:
    """Fill ``fs`` to the last byte; the filler file (delete it to free the space)."""
    filler = fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (1 << 20, 4096, 1):
            try:
                while os.write(fd, b"\0" * block):
                    pass
            except OSError:
                pass  # ENOSPC at this block size: on with a smaller one
    finally:
        os.close(fd)
    return filler


def test_sqlite_on_a_full_filesystem_loses_no_outage(
    simulator: SimProcess, sink: WebhookSink, small_fs: Path, tmp_path: Path
) -> None:
    run = start_netmon(simulator.inventory, f"sqlite:///{small_fs / 'netmon.db'}", small_fs,
                       env={"NETMON_WEBHOOK_URL": sink.start()})
    try:
        # SQLite reuses its write-ahead log in place: empty it first, so the next write must grow a file
        with sqlite3.connect(small_fs / "netmon.db") as conn:
            wait_for(lambda: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0, 10,
                     "the write-ahead log emptied")
        filler = _fill(small_fs)  # the outbox journal lives there too: it falls back to memory
        dropped, recovered = _fail_and_recover(simulator, sink)
        assert run.proc.poll() is None and run.value("netmon_database_up") == 0
        filler.unlink()
        row = wait_for(lambda: [r for r in _outage(run) if r[1] is not None], 30, "the outage written")
        assert len(_outage(run)) == 1
        started, ended = _when(row[0][0]), _when(row[0][1])
        firing, resolved = sink.of(KEY)
        assert started == _when(firing.starts_at) and ended == _when(resolved.ends_at)
        assert dropped - 1 <= started.timestamp() <= recovered and ended.timestamp() >= recovered - 1
        assert run.query("select count(*) from event where kind = 'database_gap'") == [(1,)]
        _no_traceback(run)
    finally:
        run.stop()


def test_sigkill_right_after_a_recovery_ends_the_outage_within_one_interval_of_it(
    simulator: SimProcess, sink: WebhookSink, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'netmon.db'}"
    env = {"NETMON_WEBHOOK_URL": sink.start(), "NETMON_ROUTER_INTERVAL_S": str(ROUTER_INTERVAL_S)}
    first = start_netmon(simulator.inventory, db, tmp_path / "a", env=env)
    simulator.send(action="drop", device=COMMUNE)
    wait_for(lambda: [r for r in _outage(first) if r[1] is None], 40, "the outage opened")
    wait_for(lambda: sink.of(KEY), 10, "the firing notification")
    recovered = time.time()
    simulator.send(action="normal", device=COMMUNE)
    first.stop(signal.SIGKILL)  # before it polls the commune again
    second = start_netmon(simulator.inventory, db, tmp_path / "a", env=env)
    try:
        row = wait_for(lambda: [r for r in _outage(second) if r[1] is not None], 30, "the outage closed")
        started, ended = _when(row[0][0]), _when(row[0][1])
        assert started <= ended and len(_outage(second)) == 1
        assert recovered - 1 <= ended.timestamp() <= recovered + ROUTER_INTERVAL_S + 15  # + the restart itself
        wait_for(lambda: [n for n in sink.of(KEY) if n.status == "resolved"], 10, "its resolved notification")
        assert [n.status for n in sink.of(KEY)] == ["firing", "resolved"]
        _no_traceback(second)
    finally:
        second.stop()


def test_a_restart_with_an_outage_open_pages_once_with_the_stored_start(
    simulator: SimProcess, sink: WebhookSink, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'netmon.db'}"
    env = {"NETMON_WEBHOOK_URL": sink.start()}
    first = start_netmon(simulator.inventory, db, tmp_path / "w", env=env)
    simulator.send(action="drop", device=COMMUNE)
    wait_for(lambda: [n for n in sink.of(KEY) if n.status == "firing"], 40, "the firing notification")
    started = first.value("netmon_incident_started_timestamp_seconds", incident=KEY)
    assert first.stop() == 0  # SIGTERM: a clean stop
    _no_traceback(first)
    second = start_netmon(simulator.inventory, db, tmp_path / "w", env=env)
    try:
        wait_for(lambda: second.value("netmon_incident_open", incident=KEY), 30, "the outage adopted")
        assert second.value("netmon_incident_started_timestamp_seconds", incident=KEY) == started
        simulator.send(action="normal", device=COMMUNE)
        wait_for(lambda: [n for n in sink.of(KEY) if n.status == "resolved"], 40, "the resolved notification")
        firing, resolved = sink.of(KEY)  # no second "firing" from the restarted run
        assert firing.starts_at == resolved.starts_at and _when(firing.starts_at).timestamp() == started
        assert len(_outage(second)) == 1
        _no_traceback(second)
    finally:
        second.stop()
