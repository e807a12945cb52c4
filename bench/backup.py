"""Wall time to back up 100 simulated devices (config + facts) with the default concurrency.

Why: the nightly backup of a province (~1,500 routers) must finish well inside
its window, and a slow or hung device must not stretch it. Devices are fakenos
SSH servers (Cisco IOS, Arista EOS, JunOS mix) with realistic outputs from
``tests/fixtures/ssh``, each on its own 127.85.x.y address. One fakenos process
serves all hundred (measured: same wall time as four processes); ``--processes``
splits them. Everything started here is stopped by PID.

Two runs: the first stores every config (``new``), the second finds them all
``unchanged`` — the normal nightly case. Printed: wall time, per-device p50/p95,
CPU seconds of netmon and of the simulators.

Run from the repository root (about a minute)::

    python bench/backup.py                       # 100 devices, default concurrency
    python bench/backup.py --devices 300 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import paramiko  # noqa: E402
from sshfake import PASSWORD, FakeHost, FakeNos, free_ports, write_netmon_inventory  # noqa: E402

from netmon.inventory.load import load_inventory  # noqa: E402
from netmon.ssh.backup import RunReport, run_backups  # noqa: E402
from netmon.ssh.session import DEFAULT_CONCURRENCY, SshSettings, ssh_targets  # noqa: E402
from netmon.store import sync as syncer  # noqa: E402
from netmon.store.db import make_engine, upgrade  # noqa: E402

MIX = (("cisco_ios", 60), ("arista_eos", 25), ("juniper_junos", 15))
PASSWORD_ENV = "NETMON_BENCH_SSH_PASSWORD"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (the simulators' cost, not counted against netmon)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plan(n: int) -> list[tuple[str, str, str, int]]:
    platforms = [p for p, share in MIX for _ in range(share)]
    ports = free_ports(n)
    return [(f"rt-{i:03d}", platforms[i % len(platforms)], f"127.85.{i // 250}.{i % 250 + 1}", ports[i])
            for i in range(n)]


def show(label: str, report: RunReport, cpu: float, sim_cpu: float) -> None:
    statuses = ", ".join(f"{report.count(s)} {s}" for s in ("new", "changed", "unchanged", "failed")
                         if report.count(s))
    print(f"{label:<10} wall {report.wall_s:6.2f} s | per device p50 {report.percentile(50):.2f} s, "
          f"p95 {report.percentile(95):.2f} s | netmon CPU {cpu:5.1f} s, simulators {sim_cpu:5.1f} s | {statuses}")
    for r in report.failed[:5]:
        print(f"    {r.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--processes", type=int, default=1, help="fakenos processes serving the devices")
    parser.add_argument("--concurrency", type=int, default=None,
                        help=f"sessions at once (default: netmon's default, {DEFAULT_CONCURRENCY})")
    args = parser.parse_args()
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # transport-thread noise; netmon reports each device

    work = Path(tempfile.mkdtemp(prefix="netmon-bench-backup-"))
    os.environ[PASSWORD_ENV] = PASSWORD
    os.environ.setdefault("NETMON_TEST_COMMUNITY", "unused")
    devices = plan(args.devices)
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(str(work / "host_key"))
    known = work / "known_hosts"
    known.write_text("".join(f"[{a}]:{p} {key.get_name()} {key.get_base64()}\n" for _, _, a, p in devices))
    settings = SshSettings(known_hosts=known, auto_add_host_keys=False)

    hosts = [FakeHost.realistic(name, platform, port, address) for name, platform, address, port in devices]
    groups = [hosts[i::args.processes] for i in range(args.processes)]
    sims = [FakeNos(g, host_key=work / "host_key", workdir=work / f"fakenos-{i}") for i, g in enumerate(groups)]
    started = time.monotonic()
    try:
        for sim in sims:
            sim.start(timeout=180)
        print(f"{args.devices} fakenos devices in {args.processes} process(es) up in "
              f"{time.monotonic() - started:.1f} s; concurrency {args.concurrency or settings.concurrency}")
        inv = load_inventory(write_netmon_inventory(work / "inv", devices, password_env=PASSWORD_ENV,
                                                    timeout_s=10.0))
        engine = make_engine(f"sqlite:///{work / 'netmon.db'}")
        upgrade(engine)
        syncer.apply(engine, syncer.plan(engine, inv))
        targets, errors = ssh_targets(inv)
        for label in ("first", "nightly"):
            sim_before = sum(cpu_seconds(s.proc.pid) for s in sims if s.proc)
            cpu_before = time.process_time()
            report = asyncio.run(run_backups(engine, targets, errors, settings=settings,
                                             concurrency=args.concurrency))
            show(label, report, time.process_time() - cpu_before,
                 sum(cpu_seconds(s.proc.pid) for s in sims if s.proc) - sim_before)
    finally:
        for sim in sims:
            sim.stop()


if __name__ == "__main__":
    main()
