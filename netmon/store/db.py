"""Engine and schema: one place that knows how to open the database and migrate it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

from netmon.lang import t

__all__ = ["MIGRATIONS", "DatabaseMissing", "Engine", "alembic_config", "database_problem", "make_engine",
           "open_existing", "schema_is_current", "upgrade"]


class DatabaseMissing(RuntimeError):
    """A command that only reads was pointed at a database that does not exist (a typo, most often)."""

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout for a service + CLI.

    The timeouts are short on purpose: the service writes from its event loop, and a database that does not
    answer must cost seconds, not minutes (what is not written waits in the outbox).
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 5})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    return create_engine(url, pool_pre_ping=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def open_existing(url: str) -> Engine:
    """An engine on a database that must exist already: a command that only reads never creates one
    (a mistyped SQLite path used to give an empty database and "0 outages"). PostgreSQL refuses a
    database that does not exist by itself, at the first query."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise DatabaseMissing(t("database_missing", path=path))
    return make_engine(url)


def schema_is_current(engine: Engine) -> bool | None:
    """Is the schema at the latest migration? None when the database has no netmon schema at all."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return None if current is None else current == head


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent; cheap when already there)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def database_problem(exc: BaseException) -> str | None:
    """One line for an operator if ``exc`` is a database failure (bad URL, server away, disk full), else None.

    For the command line's one error path: the CLI does not know SQLAlchemy's exceptions (only store/ does).
    """
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from netmon.store.outbox import DatabaseUnavailable, one_line

    if isinstance(exc, DatabaseMissing):
        return str(exc)
    if isinstance(exc, ArgumentError):
        return t("database_url_bad", detail=one_line(exc))
    if isinstance(exc, (SQLAlchemyError, DatabaseUnavailable)):
        return t("database_unavailable", detail=one_line(exc))
    if isinstance(exc, CommandError):
        return t("database_migrate_failed", detail=one_line(exc))
    return None
