"""`netmon poll --once --json` against the simulated province: what an operator runs by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from simulated import SIM_ENV, SimProcess

from netmon.inventory.load import load_inventory


def _poll(sim: SimProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netmon", "poll", str(sim.inventory), "--once", "--json", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **SIM_ENV}, check=False,
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
