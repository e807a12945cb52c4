"""`netmon poll --once --json` against the simulated province: what an operator runs by hand."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from simulated import SIM_ENV, SimProcess

from netmon.inventory.load import load_inventory

V3_KEYS = ("NETMON_SNMPV3_AUTH_KEY", "NETMON_SNMPV3_PRIV_KEY")


def _poll(sim: SimProcess, *args: str, unset: tuple[str, ...] = (), fmt: tuple[str, ...] = ("--json",),
          ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in {**os.environ, **SIM_ENV}.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-m", "netmon", "poll", str(sim.inventory), "--once", *fmt, *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )


def test_poll_one_district_returns_every_router_and_base_station_with_interfaces(simulator: SimProcess) -> None:
    inv = load_inventory(simulator.inventory)
    result = _poll(simulator, "--district", "Cầu Ngang")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    expected = {d.id for d in inv.devices.values() if inv.sites[d.site].district == "848"}
    expected |= {b.id for b in inv.base_stations.values() if b.district == "848"}
    assert {r["id"] for r in rows} == expected
    assert all(r["reachable"] and r["error"] is None for r in rows)
    district = next(r for r in rows if r["id"] == "rt-ubnd-huyen-cau-ngang")  # SNMPv3 authPriv
    assert district["sysName"] == "rt-ubnd-huyen-cau-ngang" and district["sysUpTime"] > 0
    commune = next(r for r in rows if r["id"].startswith("rt-ubnd-thi-tran-cau-ngang"))
    uplink = commune["interfaces"][0]
    assert uplink["alias"].startswith("Kết nối lên UBND Huyện Cầu Ngang")
    assert uplink["oper"] == 1 and uplink["in_octets"] > 0 and uplink["speed"] == 1_000_000_000


def test_poll_reports_an_unreachable_device_without_failing_the_others(simulator: SimProcess) -> None:
    simulator.send(action="drop", device="rt-ubnd-xa-phu-can-29347")
    try:
        result = _poll(simulator, "--device", "rt-ubnd-xa-phu-can-29347", "--device", "rt-ubnd-huyen-tieu-can")
    finally:
        simulator.send(action="normal", device="rt-ubnd-xa-phu-can-29347")
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert rows["rt-ubnd-xa-phu-can-29347"]["reachable"] is False
    assert "timeout" in rows["rt-ubnd-xa-phu-can-29347"]["error"]
    assert rows["rt-ubnd-huyen-tieu-can"]["reachable"] is True


def test_unknown_device_is_a_clear_error(simulator: SimProcess) -> None:
    result = _poll(simulator, "--device", "rt-khong-co")
    assert result.returncode == 2 and "unknown device(s): rt-khong-co" in result.stderr


def test_unknown_device_is_named_before_any_secret_is_needed(simulator: SimProcess) -> None:
    result = _poll(simulator, "--device", "nope", unset=V3_KEYS)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["unknown device(s): nope"], result.stderr


def test_a_v2c_device_is_polled_without_the_snmpv3_keys(simulator: SimProcess) -> None:
    inv = load_inventory(simulator.inventory)
    station = next(b.id for b in inv.base_stations.values() if b.mgmt and b.snmp_profile == "snmp-v2c-bts")
    result = _poll(simulator, "--device", station, unset=V3_KEYS)
    assert result.returncode == 0, result.stderr
    assert [(r["id"], r["reachable"]) for r in json.loads(result.stdout)] == [(station, True)]
    v3 = _poll(simulator, "--device", "rt-ubnd-huyen-cau-ngang", unset=V3_KEYS)  # the key it does need: one line
    assert v3.returncode == 1 and len(v3.stderr.splitlines()) == 1 and "NETMON_SNMPV3_AUTH_KEY" in v3.stderr


def test_poll_as_csv_is_one_row_per_device_for_a_spreadsheet(simulator: SimProcess) -> None:
    result = _poll(simulator, "--device", "rt-ubnd-huyen-cau-ngang", "--device", "rt-ubnd-huyen-tieu-can",
                   fmt=("--format", "csv"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("\ufeff")  # Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert sorted(r["device"] for r in rows) == ["rt-ubnd-huyen-cau-ngang", "rt-ubnd-huyen-tieu-can"]
    for row in rows:
        assert row["reachable"] == "true" and row["completeness"] == "1.0" and row["error"] == ""
        assert int(row["interfaces_up"]) >= 1 and int(row["interfaces"]) >= int(row["interfaces_up"])
        assert int(row["sysUpTime"]) > 0 and row["faults"] == ""


def test_poll_as_a_table_names_the_collection_state(simulator: SimProcess) -> None:
    result = _poll(simulator, "--device", "rt-ubnd-huyen-cau-ngang", fmt=("--format", "table"))
    assert result.returncode == 0, result.stderr
    assert "rt-ubnd-huyen-cau-ngang" in result.stdout and "100%" in result.stdout
