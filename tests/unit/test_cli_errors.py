"""No traceback, ever, for what an operator can get wrong: every ``netmon`` command with bad arguments, with a
database that is missing, with a PostgreSQL server that is down (a port where nothing listens), and with a bad
setting — a usage error is one line and exit 2, a failure one line and exit 1.

The cases are checked against the command tree: a new command (or one that grows a ``--database`` option) without
its cases fails :func:`test_every_command_has_its_cases`. Most run in-process (``CliRunner``: an uncaught exception
shows as ``result.exception``); a few run as ``python -m netmon`` to see the real stderr.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from mini import MINI_SECRETS
from typer.testing import CliRunner

from netmon.cli import app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


DOWN_PG = f"postgresql+psycopg://netmon@127.0.0.1:{_free_port()}/netmon"  # nothing listens there
MISSING_SQLITE = "sqlite:////nonexistent/dir/netmon.db"
INV = "{inv}"  # replaced by the mini inventory's copy


@dataclass(frozen=True)
class Case:
    argv: list[str]
    code: int
    says: str  # a part of the one line on stderr
    env: dict[str, str] = field(default_factory=dict)
    lines: int = 1  # an inventory's problems: each on its line, then their count


def leaves() -> dict[str, Any]:
    """Every runnable command: ``backup`` runs too (a group with its own callback)."""
    out: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        if getattr(command, "commands", None):
            if command.invoke_without_command and path:
                out[" ".join(path)] = command
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            out[" ".join(path)] = command

    walk(typer.main.get_command(app), [])
    return out


def with_database(command: Any) -> bool:
    return any(p.name == "database" for p in command.params)


# ------------------------------------------------------------------------ bad arguments: one line, exit 2
BAD_ARGUMENTS: dict[str, list[Case]] = {
    "validate": [Case(["validate", INV, "--nope"], 2, "No such option: --nope")],
    "sync": [Case(["sync", INV, "--plan", "--al"], 2, "No such option: --al")],
    "poll": [Case(["poll", INV, "--device", "nope"], 2, "unknown device(s): nope"),
             Case(["poll", INV, "--district", "nowhere"], 2, "no district matches 'nowhere'")],
    "run": [Case(["run", INV, "--duration", "soon"], 2, "Invalid value for '--duration'"),
            Case(["run", INV, "--traps", "nohost"], 2, "--traps must be HOST:PORT")],
    "demo": [Case(["demo", "--scenario", "nope"], 2, "--scenario: no file or shipped scenario named 'nope'"),
             Case(["demo", "--inventory", "/nonexistent/inventory"], 2, "no such file or folder")],
    "simulate": [Case(["simulate", "--scale", "0"], 2, "Invalid value for '--scale'"),
                 Case(["simulate", "--traps", "x"], 2, "--traps must be HOST:PORT"),
                 Case(["simulate", "--part", "3/2"], 2, "--part must be K/N with 1 ≤ K ≤ N (e.g. 1/2), got '3/2'"),
                 Case(["simulate", "--part", "half"], 2, "--part must be K/N")],
    "status": [Case(["status", "--format", "csv"], 2, "'csv' is not one of 'table', 'json'")],
    "outages": [Case(["outages", "--tz", "Nope/Nope"], 2, "--tz: unknown time zone 'Nope/Nope'"),
                Case(["outages", "--since", "yesterday"], 2, "--since must be YYYY-MM-DD"),
                Case(["outages", "--format", "xml"], 2, "'xml' is not one of 'table', 'json', 'csv'")],
    "report availability": [
        Case(["report", "availability", "--month", "2026-11", "--tz", "Mars/Phobos"], 2, "unknown time zone"),
        Case(["report", "availability", "--month", "2026-13"], 2, "--month must be YYYY-MM"),
        Case(["report", "availability"], 2, "Missing option '--month'")],
    "inventory show": [Case(["inventory", "show", "rt-nope", INV], 2, "unknown device 'rt-nope'")],
    "inventory stats": [Case(["inventory", "stats", INV, "--format", "xml"], 2, "'xml' is not one of")],
    "inventory list": [Case(["inventory", "list", INV, "--kind", "foo"], 2, "'foo' is not one of 'party', 'state'"),
                       Case(["inventory", "list", INV, "--district", "Huyện"], 2,
                            "'Huyện' matches 2 districts: Huyện Tiểu Cần (846), Huyện Cầu Ngang (848)")],
    "inventory export": [Case(["inventory", "export", INV, "--format", "xls"], 2, "'xls' is not one of")],
    "inventory generate": [Case(["inventory", "generate", "--scale", "0"], 2, "Invalid value for '--scale'")],
    "backup": [Case(["backup", INV, "--device", "rt-nope"], 2, "unknown device 'rt-nope'")],
    "backup facts": [Case(["backup", "facts", INV, "--district", "nowhere"], 2, "no district matches")],
    "backup diff": [Case(["backup", "diff", "rt-core", "--from", "last week"], 2, "--from: not an ISO date")],
    "backup show": [Case(["backup", "show", "rt-core", "--at", "yesterday"], 2, "--at: not an ISO date")],
    "backup history": [Case(["backup", "history"], 2, "Missing argument 'DEVICE'")],
    "cluster status": [Case(["cluster", "status", "--format", "xml"], 2, "'xml' is not one of")],
    "cluster forget": [Case(["cluster", "forget"], 2, "Missing argument 'POLLER'")],
}

# ------------------------------------------------------------------------ failures: one line, exit 1
FAILURES: dict[str, list[Case]] = {
    "validate": [Case(["validate"], 1, "bad setting NETMON_SLICES='abc'", env={"NETMON_SLICES": "abc"})],
    "outages": [Case(["outages", "--database", "foo://bar"], 1, "cannot use that database URL")],
    "status": [Case(["status", INV], 1, "NETMON_LANG='fr'", env={"NETMON_LANG": "fr"})],
    "run": [Case(["run", INV, "--duration", "1"], 1, "cannot read secret file /etc/netmon/snmp-priv.key",
                 env={"NETMON_SNMP_PRIV_REF": "file"}),
            Case(["run", INV, "--duration", "1", "--database", "sqlite:////nonexistent/dir/cluster.db"], 1,
                 "NETMON_CLUSTER needs the shared PostgreSQL database", env={"NETMON_CLUSTER": "true"})],
    "inventory export": [Case(["inventory", "export", INV, "-o", "/nonexistent/dir/x.json"], 1,
                              "/nonexistent/dir/x.json: No such file or directory")],
    "inventory generate": [Case(["inventory", "generate", "--out", "/proc/nope"], 1, "/proc/nope")],
    "simulate": [Case(["simulate", "--inventory", "/nonexistent/inventory"], 1, "no such file or folder", lines=2)],
}


def _database_case(path: str, url: str) -> Case:
    """The command at ``path`` on the database ``url`` (that cannot be reached), with valid arguments."""
    args = {"sync": ["sync", INV], "run": ["run", INV, "--duration", "1"], "outages": ["outages"],
            "report availability": ["report", "availability", "--month", "2026-11"],
            "inventory show": ["inventory", "show", "rt-core", INV], "backup": ["backup", INV, "--device", "rt-core"],
            "backup facts": ["backup", "facts", INV, "--device", "rt-core"],
            "backup diff": ["backup", "diff", "rt-core"], "backup show": ["backup", "show", "rt-core"],
            "backup history": ["backup", "history", "rt-core"], "cluster status": ["cluster", "status"],
            "cluster forget": ["cluster", "forget", "p2", "--yes"], "status": ["status", INV, "--url",
                                                                            f"http://127.0.0.1:{_free_port()}/metrics"]}
    if path not in args:
        raise KeyError(path)
    if path == "status":  # status reports, it does not fail: exit 3 and the database named NOT reachable
        return Case([*args[path], "--database", url], 3, "")
    says = "database unavailable" if url == DOWN_PG else ("no database at /nonexistent/dir/netmon.db"
                                                         if path not in ("sync", "run", "backup", "backup facts")
                                                         else "database unavailable")
    return Case([*args[path], "--database", url], 1, says)


def _cases(kind: str) -> list[tuple[str, Case]]:
    if kind == "bad":
        return [(p, c) for p, cases in BAD_ARGUMENTS.items() for c in cases]
    if kind == "fail":
        return [(p, c) for p, cases in FAILURES.items() for c in cases]
    url = DOWN_PG if kind == "down-pg" else MISSING_SQLITE
    return [(p, _database_case(p, url)) for p, cmd in sorted(leaves().items()) if with_database(cmd)]


def test_every_command_has_its_cases() -> None:
    commands = leaves()
    assert set(BAD_ARGUMENTS) == set(commands), "every command needs a bad-arguments case"
    for path, command in commands.items():
        if with_database(command):
            _database_case(path, DOWN_PG)  # every command with --database has a case on a database away


def _run(case: Case, inv: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    for name, value in {**MINI_SECRETS, **case.env}.items():
        monkeypatch.setenv(name, value)
    if case.env.get("NETMON_SNMP_PRIV_REF") == "file":  # the mini's own reference: a file that is not there
        profiles = inv / "profiles.yaml"
        profiles.write_text(profiles.read_text(encoding="utf-8").replace("env:NETMON_SNMP_PRIV_KEY",
                                                                         "file:/etc/netmon/snmp-priv.key"))
    argv = [str(inv) if a == INV else a for a in case.argv]
    result = CliRunner().invoke(app, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{argv}: {type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr


@pytest.fixture
def inv(mini: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The mini inventory, every secret it names resolvable (its SNMPv3 privacy key from the environment)."""
    profiles = mini / "profiles.yaml"
    profiles.write_text(profiles.read_text(encoding="utf-8").replace("file:/etc/netmon/snmp-priv.key",
                                                                     "env:NETMON_SNMP_PRIV_KEY"), encoding="utf-8")
    monkeypatch.setenv("NETMON_SNMP_PRIV_KEY", "mini-priv-key")
    monkeypatch.chdir(mini.parent)
    for name in ("NETMON_DATABASE_URL", "NETMON_INVENTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETMON_DATABASE_URL", f"sqlite:///{mini.parent / 'absent.db'}")
    return mini


@pytest.mark.parametrize(("command", "case"), [*_cases("bad"), *_cases("fail"), *_cases("missing-sqlite"),
                                               *_cases("down-pg")],
                         ids=lambda x: x if isinstance(x, str) else " ".join(x.argv[:4]))
def test_one_line_and_the_right_exit_code(command: str, case: Case, inv: Path, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    code, stderr = _run(case, inv, monkeypatch)
    assert code == case.code, stderr
    if case.code == 3:  # netmon status: the screen, saying what is not reachable
        return
    assert len(stderr.splitlines()) == case.lines, stderr
    assert case.says in stderr, stderr
    assert not (inv.parent / "absent.db").exists(), "a command created a database it was not asked to"


# --------------------------------------------------------------------- the real program, its real stderr
@pytest.mark.parametrize("argv", [
    ["outages", "--database", DOWN_PG],
    ["run", "{inv}", "--database", DOWN_PG, "--duration", "1"],
    ["sync", "{inv}", "--database", MISSING_SQLITE],
    ["report", "availability", "--month", "2026-11", "--tz", "Mars/Phobos"],
    ["inventory", "generate", "--out", "/proc/nope"],
    ["outages", "--nope"],
], ids=lambda a: " ".join(a[:2]))
def test_as_a_process_one_line_no_traceback(argv: list[str], inv: Path, tmp_path: Path) -> None:
    mini = inv
    env = {**os.environ, **MINI_SECRETS, "NETMON_DATABASE_URL": f"sqlite:///{tmp_path / 'absent.db'}"}
    proc = subprocess.run([sys.executable, "-m", "netmon", *[a.replace("{inv}", str(mini)) for a in argv]],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("netmon ") or proc.stderr.startswith("--tz"), proc.stderr


def test_status_says_what_is_not_running(inv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _ = _run(Case(["status", INV, "--database", DOWN_PG, "--url", f"http://127.0.0.1:{_free_port()}/metrics"],
                        3, ""), inv, monkeypatch)
    result = CliRunner().invoke(app, ["status", str(inv), "--database", DOWN_PG, "--url",
                                      f"http://127.0.0.1:{_free_port()}/metrics"])
    assert code == result.exit_code == 3
    assert "database" in result.stdout and "NOT reachable" in result.stdout
    assert "NOT running: nothing answers at http://127.0.0.1:" in result.stdout
    assert "5 sites, 5 devices" in result.stdout
