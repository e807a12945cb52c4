"""`netmon run` against the simulated province, as an operator runs it: a separate process, real SNMP.

Every test runs twice: on the embedded default (SQLite) and on PostgreSQL, the production database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from netmon_process import Running, start_netmon, wait_for
from postgres import admin_statement
from simulated import SimProcess

ROOT = Path(__file__).resolve().parents[2]
COMMUNE = "rt-ubnd-xa-phu-can-29347"


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
    running = start_netmon(simulator.inventory, database, tmp_path_factory.mktemp("run"))
    try:
        yield running
    finally:
        running.stop()


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
    # the core's 10G ports and every router's 8 Gbit/s loopback: beyond a 32-bit INTEGER, which stopped the
    # service at its first poll on PostgreSQL
    fast = service.query(f"select max(speed_bps) from interface where device_id = '{COMMUNE}'")[0][0]
    assert isinstance(fast, int) and fast >= 8_000_000_000
    core = service.query("select max(speed_bps) from interface where device_id = 'rt-so-thong-tin-truyen-thong'")
    assert core[0][0] == 10_000_000_000


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
