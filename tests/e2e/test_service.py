"""`netmon run` against the simulated province, as an operator runs it: a separate process, real SNMP.

Every test runs twice: on the embedded default (SQLite) and on PostgreSQL, the production database.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import admin_statement
from prometheus_client.parser import text_string_to_metric_families
from simulated import SIM_ENV, SimProcess, free_port
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
COMMUNE = "rt-ubnd-xa-phu-can-29347"


class Running:
    def __init__(self, proc: subprocess.Popen[str], port: int, db_url: str, log: Path) -> None:
        self.proc, self.port, self.db_url, self.log = proc, port, db_url, log
        self.engine = create_engine(db_url)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        _, text = self.get("/metrics")
        out: dict[str, list[tuple[dict[str, str], float]]] = {}
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                out.setdefault(s.name, []).append((s.labels, s.value))
        return out

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]


def wait_for(predicate, timeout: float, what: str, every: float = 0.5):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for one service run: a SQLite file, or a new database on the session's PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'netmon.db'}"
        return
    server: str = request.getfixturevalue("postgres_url")
    name = f"netmon_run_{uuid.uuid4().hex[:12]}"
    admin_statement(server, "CREATE DATABASE {}", name)
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin_statement(server, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


@pytest.fixture(scope="module")
def service(simulator: SimProcess, database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("run")
    port = free_port(socket.SOCK_STREAM)
    log = tmp / "run.log"
    env = {**os.environ, **SIM_ENV, "NETMON_ROUTER_INTERVAL_S": "6", "NETMON_BTS_INTERVAL_S": "30",
           "NETMON_SLICES": "2", "NETMON_CONFIRM_AFTER_S": "1",
           # Outside a private network namespace every 127.x address answers ping, so a silent agent
           # would look like "SNMP broken, host up": judge on SNMP alone here (the netns tests cover ICMP).
           "NETMON_ICMP": "false"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "netmon", "run", str(simulator.inventory), "--database", database,
             "--listen", f"127.0.0.1:{port}", "--traps", f"127.0.0.1:{free_port()}"],
            stdout=out, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp,
        )
    running = Running(proc, port, database, log)
    try:
        wait_for(lambda: proc.poll() is not None or (_up(port) and running.get("/readyz")[0] == 200), 90, "/readyz")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield running
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        running.engine.dispose()


def _up(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_health_and_readiness(service: Running) -> None:
    assert service.get("/healthz") == (200, "ok\n")
    assert service.get("/readyz")[0] == 200


def test_every_router_and_base_station_is_polled_and_up(service: Running) -> None:
    m = service.metrics()
    up = {lbl["device"] for lbl, v in m["netmon_device_status"] if lbl["state"] == "up" and v == 1}
    assert len(up) == 1372
    polls = {lbl["device"]: v for lbl, v in m["netmon_polls_total"]}
    assert len(polls) == 1372 and min(polls.values()) >= 1
    octets = [v for lbl, v in m["netmon_interface_in_octets_total"] if lbl["device"] == COMMUNE]
    assert octets  # counters exported (they start at 0 and grow from the second poll)
    site = next(lbl for lbl, _ in m["netmon_site_info"] if lbl["site"] == "ubnd-xa-phu-can-29347")
    assert site["name"] == "UBND Xã Phú Cần" and site["district_name"] == "Huyện Tiểu Cần"


def test_facts_and_interfaces_are_stored_with_first_and_last_seen(service: Running) -> None:
    rows = service.query(f"select sys_name, sys_descr from device where id = '{COMMUNE}'")
    assert rows[0][0] == COMMUNE and "Cisco IOS" in str(rows[0][1])
    itf = service.query(f"select count(*), min(first_seen), max(last_seen), max(alias) from interface "
                        f"where device_id = '{COMMUNE}'")
    assert itf[0][0] >= 10 and itf[0][1] is not None
    assert service.query("select count(*) from monitor_run")[0][0] == 1
    # the routers' loopbacks run at 8 Gbit/s: beyond a 32-bit INTEGER, which stopped the service on PostgreSQL
    fast = service.query(f"select max(speed_bps) from interface where device_id = '{COMMUNE}'")[0][0]
    assert isinstance(fast, int) and fast >= 8_000_000_000


def test_a_silent_router_becomes_one_incident_that_closes_with_its_duration(
    service: Running, simulator: SimProcess
) -> None:
    simulator.send(action="drop", device=COMMUNE)
    try:
        def opened() -> list[tuple[dict[str, str], float]]:
            return [(lbl, v) for lbl, v in service.metrics().get("netmon_incident_open", [])
                    if lbl["incident"] == f"device:{COMMUNE}"]

        incident = wait_for(opened, 40, "the incident")
        labels = incident[0][0]
        assert labels["site_name"] == "UBND Xã Phú Cần" and labels["severity"] == "warning"
        assert "mất kết nối" in labels["title"]
        rows = service.query(f"select id, ended_at from outage where object_id = '{COMMUNE}'")
        assert len(rows) == 1 and rows[0][1] is None
    finally:
        simulator.send(action="normal", device=COMMUNE)
    wait_for(lambda: not service.query(
        f"select 1 from outage where object_id = '{COMMUNE}' and ended_at is null"), 40, "the outage to close")
    duration = service.query(f"select duration_s from outage where object_id = '{COMMUNE}'")[0][0]
    assert isinstance(duration, float) and duration > 0
    assert json.dumps(service.metrics().get("netmon_incident_open", [])).count(COMMUNE) == 0
