"""Shared fixtures: the mini inventory, a throwaway PostgreSQL server, a fresh database per test.

PostgreSQL: the session starts its own server (``initdb`` + ``pg_ctl``) in a temporary
folder on a free port, and stops it at the end; nothing else is touched. Without the
PostgreSQL binaries the Postgres tests are skipped, except under ``CI=true``, where
they fail: CI must really test PostgreSQL. ``NETMON_TEST_POSTGRES_URL`` points the
tests at an existing server instead (its maintenance database, e.g. ``…/postgres``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import admin_statement
from requirements import unavailable

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "inventory" / "mini"
PG_USER = "netmon"


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A writable copy of the mini inventory (``tmp_path/inv``)."""
    dest = tmp_path / "inv"
    shutil.copytree(MINI, dest)
    return dest


# ------------------------------------------------------------------ PostgreSQL
def _pg_bin(name: str) -> str | None:
    """``name`` from PATH, else from the newest ``/usr/lib/postgresql/*/bin`` (Debian keeps it there)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _unavailable(reason: str) -> None:
    unavailable(reason, prefix="PostgreSQL is required under CI=true: ")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the maintenance database of a PostgreSQL server started for this session."""
    external = os.environ.get("NETMON_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian 'postgresql'")
        return  # pragma: no cover - skip/fail raise
    as_user: list[str] = []
    # tmp_path_factory folders are 0700 root: the postgres user could not enter them.
    base = Path(tempfile.mkdtemp(prefix="netmon-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(base, ignore_errors=True)
            _unavailable("running as root and 'runuser' is missing: cannot start PostgreSQL as 'postgres'")
        as_user = [str(runuser), "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
    data, log = base / "data", base / "server.log"
    port = _free_port()

    def run(*cmd: str) -> None:
        proc = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            output = proc.stdout + proc.stderr + tail
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{output}")

    started = False
    try:
        run(initdb, "-D", str(data), "--auth=trust", "-U", PG_USER, "-E", "UTF8", "--locale=C.UTF-8")
        options = f"-k {base} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        run(pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        started = True
        yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: a SQLite file, or a new database on the session server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'netmon.db'}"
        return
    server: str = request.getfixturevalue("postgres_url")
    name = f"netmon_test_{uuid.uuid4().hex[:12]}"
    admin_statement(server, "CREATE DATABASE {}", name)
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin_statement(server, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
