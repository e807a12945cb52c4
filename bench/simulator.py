"""Benchmark the simulated province: start-up time and agent CPU per varbind served.

Walks every v2c agent's IF-MIB tables with net-snmp's ``snmpbulkwalk`` (an
independent client) in parallel, and reads the simulator's CPU time from
/proc before and after.  Targets: province ready < 30 s; ≤ 25 µs of agent CPU
per varbind.

    python bench/simulator.py [--scale 1 10] [--walkers 16] [--limit 400]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netmon.inventory.load import load_inventory  # noqa: E402

ENV = {
    "NETMON_SNMP_COMMUNITY": "bench-agency",
    "NETMON_BTS_COMMUNITY": "bench-bts",
    "NETMON_SNMPV3_AUTH_KEY": "bench-auth-key",
    "NETMON_SNMPV3_PRIV_KEY": "bench-priv-key",
}
TABLES = ("1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1")  # ifTable, ifXTable
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def inventory_for(scale: int, workdir: Path, port: int) -> Path:
    from netmon.inventory.sample import write_sample

    out = workdir / f"scale{scale}"
    write_sample(out, scale=scale)
    profiles = out / "profiles.yaml"
    text = profiles.read_text(encoding="utf-8")
    profiles.write_text(text.replace("\n- name: snmp-", f"\n- port: {port}\n  name: snmp-"), encoding="utf-8")
    return out


def walk(host: str, port: int, community: str) -> int:
    total = 0
    for table in TABLES:
        out = subprocess.run(
            ["snmpbulkwalk", "-v2c", "-c", community, "-m", "", "-On", "-Cr25", "-t", "5", "-r", "1",
             f"{host}:{port}", table],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout
        total += out.count("\n")
    return total


def run(scale: int, walkers: int, limit: int, workdir: Path, port: int) -> dict[str, float]:
    inv_dir = inventory_for(scale, workdir, port)
    inv = load_inventory(inv_dir)
    v2 = [(d.mgmt.host, ENV["NETMON_SNMP_COMMUNITY"]) for d in inv.devices.values()
          if inv.snmp_profiles[d.snmp_profile].version != "3"]
    v2 += [(b.mgmt.host, ENV["NETMON_BTS_COMMUNITY"]) for b in inv.base_stations.values() if b.mgmt]
    agents = len(inv.devices) + sum(1 for b in inv.base_stations.values() if b.mgmt)
    started = time.perf_counter()
    errors = (workdir / f"sim{scale}.err").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "netmon", "simulate", "--inventory", str(inv_dir)],
                            stdout=subprocess.PIPE, stderr=errors, text=True, env={**os.environ, **ENV}, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        ready_s = time.perf_counter() - started
        if not line.startswith("ready"):
            errors.seek(0)
            raise SystemExit(f"simulator failed to start: {errors.read()[-2000:]}")
        sample = v2[:: max(1, len(v2) // limit)][:limit]
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(walkers) as pool:
            varbinds = sum(pool.map(lambda hc: walk(hc[0], port, hc[1]), sample))
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"scale": scale, "agents": agents, "ready_s": ready_s, "walked": len(sample), "varbinds": varbinds,
            "wall_s": wall, "cpu_s": cpu, "us_per_varbind": cpu / max(varbinds, 1) * 1e6,
            "varbinds_per_s": varbinds / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--walkers", type=int, default=16, help="parallel snmpbulkwalk processes")
    parser.add_argument("--limit", type=int, default=400, help="agents walked per scale (spread evenly)")
    parser.add_argument("--port", type=int, default=16161, help="UDP port every agent listens on")
    args = parser.parse_args()
    if shutil.which("snmpbulkwalk") is None:
        raise SystemExit("needs net-snmp's snmpbulkwalk (Debian package snmp)")
    print(f"{'scale':>5} {'agents':>7} {'ready s':>8} {'walked':>7} {'varbinds':>9} {'wall s':>7} "
          f"{'agent CPU s':>11} {'µs/varbind':>10} {'varbinds/s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(scale, args.walkers, args.limit, Path(tmp), args.port) for scale in args.scale]
    for r in rows:
        print(f"{r['scale']:>5} {r['agents']:>7} {r['ready_s']:>8.1f} {r['walked']:>7} {r['varbinds']:>9} "
              f"{r['wall_s']:>7.1f} {r['cpu_s']:>11.2f} {r['us_per_varbind']:>10.1f} {r['varbinds_per_s']:>10.0f}")
    ok_ready = all(r["ready_s"] < 30 for r in rows if r["scale"] == 1)
    ok_cpu = all(r["us_per_varbind"] <= 25 for r in rows)
    print(f"target: province ready < 30 s ... {'PASS' if ok_ready else 'FAIL'}")
    print(f"target: agent CPU ≤ 25 µs per varbind served ... {'PASS' if ok_cpu else 'FAIL'}")


if __name__ == "__main__":
    main()
