"""The store's tests run on real databases: ``engine`` is a fresh one, migrated, for each test (SQLite and
PostgreSQL: :func:`db_url` in the top conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from netmon.store.db import make_engine, upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
