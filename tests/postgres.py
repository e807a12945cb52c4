"""PostgreSQL helpers shared by the fixtures and the end-to-end tests."""

from __future__ import annotations

from typing import LiteralString


def admin_statement(server_url: str, statement: LiteralString, database: str) -> None:
    """Run ``statement`` (with ``{}`` for the quoted database name) on the server, outside a transaction."""
    import psycopg
    from psycopg import sql

    dsn = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(database)))
