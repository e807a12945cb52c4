"""``netmon run`` on the 10× province with every agency router on SNMPv3 authPriv: the service's CPU.

Why: SNMPv3 must cost what v2c costs in the real service, not only in a poll loop. The sample province × 10
(1,500 routers on SNMPv3 authPriv SHA-256/AES-128 — what the generator writes — and 12,220 base stations on
v2c) is served by ``netmon simulate`` and monitored by ``netmon run`` with its default settings (SQLite,
router interval 60 s, base stations 300 s, ICMP on as root unless ``--no-icmp``). After start-up (``/readyz``
answers and the first router batch is in) the CPU of each process is read from /proc over ``--seconds``
(default three minutes) and printed apart: netmon's against the target (≤ 25 % of one core), the
simulator's for information. Polls and failures over the window come from netmon's own /metrics.

    python bench/run_v3.py                       # about 6 minutes
    python bench/run_v3.py --scale 1 --seconds 60 --no-icmp
    python bench/run_v3.py --py-spy /tmp/run.txt # also sample netmon run (collapsed stacks) in the window
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netmon.inventory.load import load_inventory  # noqa: E402 - after the path fix, so it runs from a checkout
from netmon.inventory.sample import write_sample  # noqa: E402

ENV = {
    "NETMON_SNMP_COMMUNITY": "bench-agency",
    "NETMON_BTS_COMMUNITY": "bench-bts",
    "NETMON_SNMPV3_AUTH_KEY": "bench-auth-key-1",
    "NETMON_SNMPV3_PRIV_KEY": "bench-priv-key-1",
    "NETMON_SSH_PASSWORD": "bench-ssh-unused",
    "NETMON_BACKUPS": "false",  # no SSH in a CPU bench
}
TICKS = os.sysconf("SC_CLK_TCK")
TARGET = 0.25  # of one core
SAMPLE = re.compile(r'^(netmon_polls_total|netmon_poll_errors_total)\{([^}]*)\} (\S+)$', re.M)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, all threads


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM from /proc), in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def inventory(scale: int, workdir: Path, port: int) -> Path:
    out = workdir / f"scale{scale}"
    write_sample(out, scale=scale)
    profiles = out / "profiles.yaml"
    text = profiles.read_text(encoding="utf-8")
    profiles.write_text(text.replace("\n- name: snmp-", f"\n- port: {port}\n  name: snmp-"), encoding="utf-8")
    return out


@contextmanager
def started(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """A process of ours, stopped by PID (SIGTERM, then SIGKILL) whatever happens."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log.open("w"), text=True, env=env, cwd=ROOT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextmanager
def simulator(inv_dir: Path, env: dict[str, str], work: Path) -> Iterator[subprocess.Popen[str]]:
    """``netmon simulate`` serving ``inv_dir``, once it says it is ready (its first line, printed)."""
    cmd = [sys.executable, "-m", "netmon", "simulate", "--inventory", str(inv_dir)]
    with started(cmd, env, work / "simulate.log") as sim:
        line = first_line(sim, 300)
        if not line.startswith("ready"):
            raise SystemExit(f"simulator did not start: {line!r}; see {work / 'simulate.log'}")
        print(f"simulator: {line.strip()}")
        yield sim


def first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    out: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        out.append(proc.stdout.readline())
        for _ in proc.stdout:  # keep draining so the process never blocks on a full pipe
            pass

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not out and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    return out[0] if out else ""


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status), resp.read().decode()
    except OSError:
        return 0, ""


def poll_counts(metrics: str, routers: set[str]) -> dict[tuple[str, str], float]:
    """(metric, "router" | "bts") -> value summed over devices."""
    out: dict[tuple[str, str], float] = {}
    for name, labels, value in SAMPLE.findall(metrics):
        device = re.search(r'device="([^"]*)"', labels)
        key = (name, "router" if device and device.group(1) in routers else "bts")
        out[key] = out.get(key, 0.0) + float(value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=180.0, help="measurement window after start-up")
    parser.add_argument("--no-icmp", action="store_true", help="NETMON_ICMP=false (SNMP only)")
    parser.add_argument("--py-spy", type=Path, help="record netmon run with py-spy in the window (raw stacks)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="netmon-bench-run-v3-"))
    try:
        port = free_port()
        inv_dir = inventory(args.scale, work, port)
        inv = load_inventory(inv_dir)
        v3 = sum(inv.snmp_profiles[d.snmp_profile].version == "3" for d in inv.devices.values())
        bts = sum(1 for b in inv.base_stations.values() if b.mgmt)
        print(f"province × {args.scale}: {len(inv.devices)} routers ({v3} on SNMPv3 authPriv SHA-256/AES-128), "
              f"{bts} base stations on v2c; agents on port {port}")
        routers = set(inv.devices)
        env = {**os.environ, **ENV}
        with simulator(inv_dir, env, work) as sim:
            listen = f"127.0.0.1:{free_port(socket.SOCK_STREAM)}"
            run_env = {**env, "NETMON_DATABASE_URL": f"sqlite:///{work / 'netmon.db'}", "NETMON_LISTEN": listen,
                       "NETMON_TRAP_LISTEN": f"127.0.0.1:{free_port()}"}
            if args.no_icmp:
                run_env["NETMON_ICMP"] = "false"
            run_cmd = [sys.executable, "-m", "netmon", "run", str(inv_dir)]
            t_start = time.monotonic()
            with started(run_cmd, run_env, work / "run.log") as run:
                while get(f"http://{listen}/readyz")[0] != 200:
                    if run.poll() is not None or time.monotonic() - t_start > 600:
                        raise SystemExit(f"netmon run did not get ready; see {work / 'run.log'}")
                    time.sleep(0.5)
                polled = ("netmon_polls_total", "router")
                while poll_counts(get(f"http://{listen}/metrics")[1], routers).get(polled, 0) < 1:
                    if run.poll() is not None or time.monotonic() - t_start > 600:
                        raise SystemExit(f"netmon run polled nothing; see {work / 'run.log'}")
                    time.sleep(0.5)
                ready_s = time.monotonic() - t_start
                startup_cpu = cpu_seconds(run.pid)
                before = poll_counts(get(f"http://{listen}/metrics")[1], routers)
                spy = None
                if args.py_spy is not None:  # its own CPU is its own process's, not netmon's
                    spy = subprocess.Popen([shutil.which("py-spy") or "py-spy", "record", "-p", str(run.pid), "-d",
                                            str(int(args.seconds)), "-r", "20", "-f", "raw", "-o", str(args.py_spy)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                run0, sim0, wall0 = cpu_seconds(run.pid), cpu_seconds(sim.pid), time.monotonic()
                time.sleep(args.seconds)
                run1, sim1, wall1 = cpu_seconds(run.pid), cpu_seconds(sim.pid), time.monotonic()
                rss = memory_mb(run.pid)
                after = poll_counts(get(f"http://{listen}/metrics")[1], routers)
                if spy is not None:
                    spy.wait(timeout=60)
                if run.poll() is not None:
                    raise SystemExit(f"netmon run exited during the window; see {work / 'run.log'}")
        wall = wall1 - wall0
        share, sim_share = (run1 - run0) / wall, (sim1 - sim0) / wall
        print(f"start-up: ready and first router batch in {ready_s:.1f} s ({startup_cpu:.1f} s of CPU)")
        print(f"window: {wall:.0f} s after start-up; ICMP {'off' if args.no_icmp else 'default (on as root)'}")
        for cls, label in (("router", "routers (v3)"), ("bts", "base stations (v2c)")):
            polls = after.get(("netmon_polls_total", cls), 0) - before.get(("netmon_polls_total", cls), 0)
            errors = after.get(("netmon_poll_errors_total", cls), 0) - before.get(("netmon_poll_errors_total", cls), 0)
            print(f"  {label:<20} polls {polls:8.0f}   failed {errors:6.0f}")
        print(f"  netmon run:  {run1 - run0:7.1f} s CPU = {share:6.1%} of one core; RSS {rss['VmRSS']:.0f} MB "
              f"(peak {rss['VmHWM']:.0f} MB)")
        print(f"  simulator:   {sim1 - sim0:7.1f} s CPU = {sim_share:6.1%} of one core (apart: not netmon's)")
        ok = share <= TARGET
        print(f"  {'PASS' if ok else 'FAIL'}  netmon run ≤ {TARGET:.0%} of one core ({share:.1%})")
        router_errors = after.get(("netmon_poll_errors_total", "router"), 0) - before.get(
            ("netmon_poll_errors_total", "router"), 0)
        print(f"  {'PASS' if router_errors == 0 else 'FAIL'}  no router poll failed in the window "
              f"({router_errors:.0f})")
        return 0 if ok and router_errors == 0 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
