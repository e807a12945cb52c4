"""PostgreSQL for the tests: a private server (``initdb`` + ``pg_ctl``) that a test may stop and start again.

The session's server (``conftest.postgres_url``) is one; a test that takes the database away while netmon
runs makes its own. Without the PostgreSQL binaries the test is skipped, except under ``CI=true``, where it
fails: CI must really test PostgreSQL.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import LiteralString

from requirements import unavailable

PG_USER = "netmon"


def pg_bin(name: str) -> str | None:
    """``name`` from PATH, else from the newest ``/usr/lib/postgresql/*/bin`` (Debian keeps it there)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return candidates[-1] if candidates else None


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _unavailable(reason: str) -> None:
    unavailable(reason, prefix="PostgreSQL is required under CI=true: ")


@dataclass
class PgServer:
    """One private PostgreSQL cluster in a temporary folder, on a free port of 127.0.0.1."""

    base: Path
    initdb: str
    pg_ctl: str
    as_user: list[str]
    port: int = field(default_factory=free_tcp_port)
    running: bool = False

    @classmethod
    def create(cls) -> PgServer:
        initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian 'postgresql'")
            raise AssertionError("unreachable")  # pragma: no cover - skip/fail raise
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
        server = cls(base, initdb, pg_ctl, as_user)
        server._run(initdb, "-D", str(server.data), "--auth=trust", "-U", PG_USER, "-E", "UTF8", "--locale=C.UTF-8")
        return server

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def url(self) -> str:
        """The maintenance database (``postgres``)."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        log = self.base / "server.log"
        proc = subprocess.run([*self.as_user, *cmd], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}{tail}")

    def start(self) -> str:
        options = (f"-k {self.base} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off")
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.base / "server.log"), "-o", options, "-w",
                  "-t", "60", "start")
        self.running = True
        return self.url

    def stop(self) -> None:
        """Stop the server now (``-m fast``: connections are cut, as when PostgreSQL restarts)."""
        if self.running:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.running = False

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def admin_statement(server_url: str, statement: LiteralString, database: str) -> None:
    """Run ``statement`` (with ``{}`` for the quoted database name) on the server, outside a transaction."""
    import psycopg
    from psycopg import sql

    dsn = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(database)))
