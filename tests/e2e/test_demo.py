"""`netmon demo` as the README runs it: the whole province simulated and monitored, then stopped — from a folder
that is not the clone (the sample province and the demo scenario ship in the package)."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from simulated import free_port

DISTRICT = "rt-ubnd-huyen-cau-ngang"


@pytest.mark.skipif(os.geteuid() != 0, reason="the demo isolates itself in a network namespace as root")
def test_demo_runs_headless_polls_everything_and_shows_one_district_incident(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_STREAM)
    workdir = tmp_path / "demo"
    proc = subprocess.Popen(
        [sys.executable, "-m", "netmon", "demo", "--duration", "60", "--headless", "--workdir", str(workdir),
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,  # not the clone's root
    )
    metrics = ""
    try:
        time.sleep(52)  # everything in the scenario has happened by now
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out
    # Not on a terminal, the log is not hard-wrapped at 80 columns: every line is a whole log line.
    assert all(line.startswith("[t+") for line in out.splitlines() if line.strip()), out[:3000]
    assert any(len(line) > 100 for line in out.splitlines())

    # Every router and every base station with a management address was polled.
    polls = {s.labels["device"]: s.value for fam in text_string_to_metric_families(metrics)
             for s in fam.samples if s.name == "netmon_polls_total"}
    assert len(polls) == 150 + 1222 and min(polls.values()) >= 1

    # The district failure is exactly one incident, which closes; nothing for the communes behind it.
    opened = re.findall(r"INCIDENT OPEN\s+(\S+):", out)
    assert opened.count(f"device:{DISTRICT}:") + opened.count(f"device:{DISTRICT}") == 1, out
    assert not [k for k in opened if "cau-ngang" in k and DISTRICT not in k], out
    assert f"INCIDENT CLOSED device:{DISTRICT}" in out

    with sqlite3.connect(workdir / "netmon.db") as db:
        rows = db.execute("select ended_at, duration_s, affected from outage where object_id = ?",
                          (DISTRICT,)).fetchall()
    assert len(rows) == 1 and rows[0][0] is not None and rows[0][1] > 0
    assert rows[0][2].count("ubnd-xa-") >= 10  # the communes are listed as affected, not alerting

    # Nothing the demo started is left behind.
    left = subprocess.run(["pgrep", "-f", f"--inventory {workdir / 'inventory'}"],
                          capture_output=True, text=True, check=False).stdout.split()
    assert left == []
