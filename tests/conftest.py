"""Shared fixtures: the mini inventory, a throwaway PostgreSQL server, a fresh database per test.

PostgreSQL: the session starts its own server (``initdb`` + ``pg_ctl``) in a temporary
folder on a free port, and stops it at the end; nothing else is touched. Without the
PostgreSQL binaries the Postgres tests are skipped, except under ``CI=true``, where
they fail: CI must really test PostgreSQL. ``NETMON_TEST_POSTGRES_URL`` points the
tests at an existing server instead (its maintenance database, e.g. ``…/postgres``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import PgServer, admin_statement

# The tests read netmon's words in English (NETMON_LANG=en; Vietnamese is the default and has tests of its own),
# in the province's zone whatever the machine's; set before anything imports netmon, inherited by subprocesses.
os.environ["NETMON_LANG"] = "en"
os.environ.pop("NETMON_TIMEZONE", None)

from mini import MINI, MINI_SECRETS


@pytest.fixture
def mini_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The mini inventory's env: secrets set (``netmon sync`` and ``run`` refuse a profile in use without them)."""
    for name, value in MINI_SECRETS.items():
        monkeypatch.setenv(name, value)
    return MINI_SECRETS


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A writable copy of the mini inventory (``tmp_path/inv``)."""
    dest = tmp_path / "inv"
    shutil.copytree(MINI, dest)
    return dest


# ------------------------------------------------------------------ PostgreSQL
@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the maintenance database of a PostgreSQL server started for this session."""
    external = os.environ.get("NETMON_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    server = PgServer.create()
    try:
        yield server.start()
    finally:
        server.remove()


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
