"""Several pollers on one province (issue #17): CPU, memory and /metrics per poller, and the takeover after SIGKILL.

For each number of pollers N (``--pollers 1,2,3``): a fresh PostgreSQL database (``netmon sync``), N ``netmon
run`` started together with ``NETMON_CLUSTER=true`` on the province × ``--scale`` served by ``netmon simulate``
(default settings: routers every 60 s, base stations every 300 s, failover ``--failover`` s). Once the
assignment has settled (every device owned and judged by exactly one poller) each poller's CPU is read from
/proc over ``--seconds``, then its RSS (now and peak), and its /metrics is fetched (size, time to render and
send). With N ≥ 2 the leader (the poller that assigns: the worst case, the lease must move too) is SIGKILLed and
the time until every one of its devices is exported again by the others is measured (checked every second),
against the target failover + one router interval.

    python bench/cluster.py                                  # 10×, 1, 2 and 3 pollers (about 25 minutes)
    python bench/cluster.py --scale 20 --pollers 3           # 20×, 3 pollers
    python bench/cluster.py --scale 1 --pollers 1,2 --seconds 30 --failover 20   # a quick look

Runs a private PostgreSQL server (tests/postgres.py) unless ``--database`` names one (its maintenance
database: the bench creates and drops its own databases there). The simulator holds one socket per agent: when
the agents (~27,500 at 20×) do not fit under the hard RLIMIT_NOFILE of one process (each lifts its soft limit to
it), they are split over as many ``netmon simulate --part K/N`` processes as needed.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from run_v3 import ENV, cpu_seconds, first_line, free_port, get, inventory, memory_mb, started  # noqa: E402

from netmon.inventory.load import load_inventory  # noqa: E402

UP = re.compile(r'^netmon_device_up\{device="([^"]*)"', re.M)
OWNED = re.compile(r"^netmon_cluster_owned_devices (\S+)$", re.M)
LEADER = re.compile(r"^netmon_cluster_leader (\S+)$", re.M)


@dataclass
class Poller:
    name: str
    listen: str
    proc: subprocess.Popen[str]

    def metrics(self) -> str:
        return get(f"http://{self.listen}/metrics")[1]


FD_MARGIN = 512  # descriptors a simulator needs besides its agents' sockets (it asks for 256 more)


def simulator_parts(agents: int) -> tuple[int, int]:
    """(processes, hard descriptor limit): how many ``netmon simulate --part K/N`` the agents' sockets need."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 2 * FD_MARGIN:  # no limit; or too low to split sensibly
        return 1, hard
    return max(1, math.ceil(agents / (hard - FD_MARGIN))), hard


def exported(text: str) -> set[str]:
    return set(UP.findall(text))


def owned(text: str) -> int:
    m = OWNED.search(text)
    return int(float(m.group(1))) if m else 0


def timed_fetch(url: str) -> tuple[int, float]:
    """(bytes, seconds) of one GET, the body read to its end (uncompressed, as Prometheus' text scrape)."""
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=120) as resp:
        size = len(resp.read())
    return size, time.monotonic() - t0


def run_pollers(n: int, inv_dir: Path, total: int, db_server: str, work: Path, args: argparse.Namespace,
                interval_s: float) -> None:
    from postgres import admin_statement

    db = f"bench_cluster_{n}_{int(time.time())}"
    admin_statement(db_server, "CREATE DATABASE {}", db)
    db_url = db_server.rsplit("/", 1)[0] + f"/{db}"
    print(f"\n== {n} poller(s), province × {args.scale} ({total} devices), failover {args.failover:.0f} s")
    pollers: list[Poller] = []
    try:
        with ExitStack() as stack:
            # the schema and the inventory first, then every poller at once (as a deployment starts them)
            subprocess.run([sys.executable, "-m", "netmon", "sync", str(inv_dir), "--database", db_url],
                           env={**os.environ, **ENV}, cwd=ROOT, check=True, capture_output=True, timeout=900)
            for i in range(1, n + 1):
                listen = f"127.0.0.1:{free_port(socket.SOCK_STREAM)}"
                env = {**os.environ, **ENV, "NETMON_DATABASE_URL": db_url, "NETMON_LISTEN": listen,
                       "NETMON_TRAP_LISTEN": f"127.0.0.1:{free_port()}", "NETMON_CLUSTER": "true",
                       "NETMON_POLLER_ID": f"p{i}", "NETMON_FAILOVER_S": str(args.failover),
                       "NETMON_OUTBOX": str(work / f"outbox-{n}-{i}.jsonl"), "NETMON_ICMP": "false"}
                proc = stack.enter_context(started([sys.executable, "-m", "netmon", "run", str(inv_dir)], env,
                                                   work / f"run-{n}-{i}.log"))
                pollers.append(Poller(f"p{i}", listen, proc))
            t0 = time.monotonic()
            for i, p in enumerate(pollers, 1):
                while get(f"http://{p.listen}/readyz")[0] != 200:
                    if p.proc.poll() is not None or time.monotonic() - t0 > 900:
                        raise SystemExit(f"{p.name} did not get ready; see {work / f'run-{n}-{i}.log'}")
                    time.sleep(1)
            t0 = time.monotonic()
            while True:  # settled: every device owned and judged by exactly one poller
                texts = [p.metrics() for p in pollers]
                sets = [exported(t) for t in texts]
                counts = [owned(t) for t in texts]
                union = set().union(*sets)
                if all(counts) and sum(counts) == total and len(union) == total == sum(map(len, sets)):
                    break
                if time.monotonic() - t0 > 1200:
                    raise SystemExit(f"the assignment did not settle: owned {counts}, exported "
                                     f"{[len(s) for s in sets]} of {total}")
                time.sleep(5)
            settle_s = time.monotonic() - t0
            print(f"settled {settle_s:.0f} s after every poller was ready: owned {counts}")
            cpu0 = [cpu_seconds(p.proc.pid) for p in pollers]
            w0 = time.monotonic()
            time.sleep(args.seconds)
            wall = time.monotonic() - w0
            cpu1 = [cpu_seconds(p.proc.pid) for p in pollers]
            print(f"{'poller':<7}{'devices':>8}{'CPU % core':>12}{'RSS MB':>9}{'peak MB':>9}"
                  f"{'/metrics MB':>13}{'fetch s':>9}")
            texts = [p.metrics() for p in pollers]
            for p, c0, c1, t in zip(pollers, cpu0, cpu1, texts, strict=True):
                rss = memory_mb(p.proc.pid)
                size, took = timed_fetch(f"http://{p.listen}/metrics")
                print(f"{p.name:<7}{len(exported(t)):>8}{(c1 - c0) / wall:>12.1%}{rss['VmRSS']:>9.0f}"
                      f"{rss['VmHWM']:>9.0f}{size / 1e6:>13.1f}{took:>9.2f}")
            if n < 2:
                return
            leader = next((p for p, t in zip(pollers, texts, strict=True)
                           if (m := LEADER.search(t)) and float(m.group(1)) == 1), pollers[0])
            victim_devices = exported(texts[pollers.index(leader)])
            survivors = [p for p in pollers if p is not leader]
            killed = time.monotonic()
            leader.proc.send_signal(signal.SIGKILL)
            leader.proc.wait(timeout=10)
            while True:
                covered = set().union(*(exported(p.metrics()) for p in survivors))
                if victim_devices <= covered:
                    break
                if time.monotonic() - killed > 3 * (args.failover + interval_s):
                    print(f"takeover: NOT complete after {time.monotonic() - killed:.0f} s "
                          f"({len(victim_devices - covered)} of {len(victim_devices)} devices missing)")
                    return
                time.sleep(1)
            took = time.monotonic() - killed
            target = args.failover + interval_s
            print(f"takeover after SIGKILL of the leader {leader.name} ({len(victim_devices)} devices): {took:.1f} s "
                  f"— {'PASS' if took <= target else 'FAIL'} (target failover + one interval = {target:.0f} s)")
    finally:
        admin_statement(db_server, "DROP DATABASE IF EXISTS {} WITH (FORCE)", db)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--pollers", default="1,2,3", help="comma-separated numbers of pollers, run in turn")
    parser.add_argument("--seconds", type=float, default=120.0, help="CPU window once settled")
    parser.add_argument("--failover", type=float, default=60.0)
    parser.add_argument("--database", help="a PostgreSQL server's maintenance database URL (default: a private one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="netmon-bench-cluster-"))
    try:
        port = free_port()
        inv_dir = inventory(args.scale, work, port)
        inv = load_inventory(inv_dir)
        total = len(inv.devices) + sum(1 for b in inv.base_stations.values() if b.mgmt)
        env = {**os.environ, **ENV}
        with ExitStack() as stack:
            server = None
            db_server = args.database
            if db_server is None:
                from postgres import PgServer

                server = PgServer.create()
                stack.callback(server.remove)
                db_server = server.start()
            # one socket per agent: 20× needs ~27,500 descriptors, more than one process may open here (a hard
            # limit of 20,000 that root without CAP_SYS_RESOURCE cannot raise): the agents in N parts
            parts, hard = simulator_parts(total)
            if parts > 1:
                print(f"simulator: {total} agents in {parts} processes (hard descriptor limit {hard})")
            sims = []
            for k in range(1, parts + 1):
                log = work / (f"simulate-{k}.log" if parts > 1 else "simulate.log")
                sims.append((stack.enter_context(started([sys.executable, "-m", "netmon", "simulate", "--inventory",
                                                          str(inv_dir), "--part", f"{k}/{parts}"], env, log)), log))
            deadline = time.monotonic() + 600
            for k, (sim, log) in enumerate(sims, 1):
                line = first_line(sim, max(1.0, deadline - time.monotonic()))
                name = f"simulator {k}/{parts}" if parts > 1 else "simulator"
                if not line.startswith("ready"):
                    why = [x for x in log.read_text(errors="replace").splitlines() if "alembic" not in x][-3:]
                    raise SystemExit(f"{name} did not start: {line!r} {' / '.join(why)}")
                print(f"{name}: {line.strip()}")
            for n in (int(x) for x in args.pollers.split(",")):
                run_pollers(n, inv_dir, total, db_server, work, args, 60.0)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
