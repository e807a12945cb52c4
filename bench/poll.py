"""A full province polling cycle: netmon's SnmpPoller against Debian's prometheus-snmp-exporter (Go).

Why: the poller must poll the province well inside its interval and cost no more CPU per varbind than the
reference tool operators already run. Both read the same OIDs (``IF_MIB_SPEC`` = the exporter's ``if_mib``
module: sysUpTime, ifTable, ifXTable) from the same simulated agents (``netmon simulate``) in one run:

* every v2c router and base station (the 10 SNMPv3 routers are left out: netmon polls them through pysnmp
  and the exporter module here is v2c only, so including them would compare different protocols);
* netmon polls in this process (CPU = ``time.process_time`` around each cycle); the exporter is scraped at
  ``/snmp?target=…&module=if_mib`` with 64 requests in flight (CPU = utime+stime of its process, from
  /proc; the Python HTTP client's own CPU is not counted against it);
* then 20 % of the agents are told to drop every packet (the simulator's control port) and both poll again.

Run from the repository root (about a minute; needs prometheus-snmp-exporter, root for nothing)::

    python bench/poll.py                 # both tools, healthy and 20 % dead
    python bench/poll.py --only netmon   # e.g. under py-spy: py-spy record -o /tmp/poll.svg -- python ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netmon.collect.oids import IF_MIB_SPEC  # noqa: E402 - after the path fix, so it runs from a checkout
from netmon.collect.snmp import PollResult, SnmpPoller, Target, targets_from_inventory  # noqa: E402
from netmon.inventory.load import load_inventory  # noqa: E402

EXPORTER = "/usr/bin/prometheus-snmp-exporter"
EXPORTER_MODULE = ROOT / "bench" / "snmp_exporter_if_mib.yml"  # copy of ../shared/bench/snmp_exporter_if_mib.yml
COMMUNITY = "bench-community"  # one value for both v2c profiles, so one exporter module fits all
ENV = {
    "NETMON_SNMP_COMMUNITY": COMMUNITY,
    "NETMON_BTS_COMMUNITY": COMMUNITY,
    "NETMON_SNMPV3_AUTH_KEY": "bench-auth-key-1",
    "NETMON_SNMPV3_PRIV_KEY": "bench-priv-key-1",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
PDUS = re.compile(rb"^snmp_scrape_pdus_returned (\S+)$", re.M)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """utime + stime of a process (all threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Cycle:
    wall_s: float
    cpu_s: float
    varbinds: int
    errors: int
    sim_cpu_s: float

    @property
    def us_per_varbind(self) -> float:
        return self.cpu_s / self.varbinds * 1e6 if self.varbinds else float("nan")


# ----------------------------------------------------------------------------- processes
@contextmanager
def processes() -> Iterator[Callable[[subprocess.Popen[Any]], subprocess.Popen[Any]]]:
    """Track every process this bench starts; stop each by PID at the end, on errors and on Ctrl-C too."""
    started: list[subprocess.Popen[Any]] = []

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield lambda p: started.append(p) or p  # type: ignore[func-returns-value]
    finally:
        for proc in reversed(started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        signal.signal(signal.SIGTERM, previous)


def start_simulator(track: Callable[[subprocess.Popen[Any]], subprocess.Popen[Any]], inventory: Path,
                    control: int, log: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "netmon", "simulate", "--inventory", str(inventory), "--control",
           f"127.0.0.1:{control}", "--duration", "600"]
    proc = track(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
                                  env={**os.environ, **ENV}, cwd=ROOT))
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:  # keep reading so the simulator never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=drain, daemon=True).start()
    try:
        line = lines.get(timeout=60)
    except queue.Empty:
        line = ""
    if not line.startswith("ready"):
        raise SystemExit(f"simulator did not start: {line!r}; see {log}")
    print(f"simulator: {line.strip()}")
    return proc


def start_exporter(track: Callable[[subprocess.Popen[Any]], subprocess.Popen[Any]], tmp: Path,
                   port: int) -> subprocess.Popen[bytes]:
    config = tmp / "snmp.yml"
    text = EXPORTER_MODULE.read_text()
    config.write_text(re.sub(r"community: \S+", f"community: {COMMUNITY}", text))
    proc = track(subprocess.Popen([EXPORTER, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=(tmp / "exporter.log").open("w")))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    raise SystemExit(f"snmp_exporter did not start; see {tmp / 'exporter.log'}")


def control(port: int, steps: list[dict[str, object]]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        reader = conn.makefile()
        for step in steps:
            conn.sendall((json.dumps(step) + "\n").encode())
            reply = json.loads(reader.readline())
            if not reply.get("ok", True):
                raise SystemExit(f"control step {step} failed: {reply}")


# ---------------------------------------------------------------------------------- cycles
def netmon_cycle(poller: SnmpPoller, targets: list[Target], sim_pid: int) -> tuple[Cycle, list[PollResult]]:
    sim0, cpu0, wall0 = cpu_s(sim_pid), time.process_time(), time.perf_counter()
    results = asyncio.get_event_loop().run_until_complete(
        asyncio.wait_for(poller.poll(targets, IF_MIB_SPEC), 120))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    cycle = Cycle(wall, cpu, sum(r.varbinds for r in results), sum(not r.ok for r in results),
                  cpu_s(sim_pid) - sim0)
    return cycle, results


def exporter_cycle(port: int, pid: int, targets: list[Target], sim_pid: int, workers: int) -> Cycle:
    def scrape(t: Target) -> int | None:
        url = f"http://127.0.0.1:{port}/snmp?target={t.host}:{t.port}&module=if_mib"
        try:
            body = urllib.request.urlopen(url, timeout=30).read()
        except (urllib.error.URLError, OSError):  # a dead target answers HTTP 500 after its timeout
            return None
        found = PDUS.search(body)
        return int(float(found.group(1))) if found else None

    sim0, cpu0, wall0 = cpu_s(sim_pid), cpu_s(pid), time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        counts = list(pool.map(scrape, targets))
    wall = time.perf_counter() - wall0
    return Cycle(wall, cpu_s(pid) - cpu0, sum(c or 0 for c in counts), sum(c is None for c in counts),
                 cpu_s(sim_pid) - sim0)


def show(label: str, c: Cycle) -> None:
    print(f"  {label:<36} {c.wall_s:7.2f} {c.cpu_s:8.2f} {c.varbinds:9d} {c.us_per_varbind:9.2f} "
          f"{c.sim_cpu_s:9.2f} {c.errors:6d}")


def header() -> None:
    print(f"  {'':<36} {'wall s':>7} {'CPU s':>8} {'varbinds':>9} {'µs/vb':>9} {'sim CPU':>9} {'failed':>6}")


def verdict(ok: bool, text: str) -> bool:
    print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return ok


# ------------------------------------------------------------------------------------ main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory")
    parser.add_argument("--cycles", type=int, default=3, help="netmon healthy cycles (the first is cold)")
    parser.add_argument("--workers", type=int, default=64, help="exporter scrapes in flight")
    parser.add_argument("--dead", type=float, default=0.2, help="fraction of agents made silent")
    parser.add_argument("--only", choices=("netmon", "both"), default="both")
    args = parser.parse_args()
    if args.only == "both" and not os.access(EXPORTER, os.X_OK):
        raise SystemExit(f"{EXPORTER} not found: apt-get install prometheus-snmp-exporter, or --only netmon")
    os.environ.update(ENV)
    tmp = Path(tempfile.mkdtemp(prefix="netmon-bench-poll-"))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ok = True
    try:
        with processes() as track:
            agent_port, control_port = free_port(), free_port(socket.SOCK_STREAM)
            inventory = tmp / "inventory"  # the sample province on a free port: no clash on 161
            shutil.copytree(args.inventory, inventory, ignore=shutil.ignore_patterns("scenarios"))
            profiles = inventory / "profiles.yaml"
            profiles.write_text(re.sub(r"(\n- name: [^\n]+\n)(?=  version)", rf"\1  port: {agent_port}\n",
                                       profiles.read_text()))
            sim = start_simulator(track, inventory, control_port, tmp / "simulator.log")
            all_targets = targets_from_inventory(load_inventory(inventory))
            targets = [t for t in all_targets if t.version != "3"]
            deadline = max(t.timeout_s * (t.retries + 1) for t in targets) + 0.5
            print(f"targets: {len(targets)} v2c devices and base stations ({len(all_targets) - len(targets)} "
                  f"SNMPv3 routers left out: pysnmp path, and the exporter module is v2c); spec {IF_MIB_SPEC.name}"
                  f" = snmp_exporter if_mib (sysUpTime, ifTable, ifXTable); per-device deadline {deadline:.1f} s")
            poller = SnmpPoller()
            print("\nhealthy province")
            header()
            runs = []
            for i in range(args.cycles):
                cycle, _ = netmon_cycle(poller, targets, sim.pid)
                runs.append(cycle)
                show(f"netmon cycle {i + 1}{' (cold: no row hints)' if i == 0 else ''}", cycle)
            steady = runs[-1]
            exporter = None
            if args.only == "both":
                exp_port = free_port(socket.SOCK_STREAM)
                exp = start_exporter(track, tmp, exp_port)
                exporter_cycle(exp_port, exp.pid, targets[:50], sim.pid, args.workers)  # warm-up
                exporter = exporter_cycle(exp_port, exp.pid, targets, sim.pid, args.workers)
                show("snmp_exporter cycle", exporter)

            dead = targets[:: round(1 / args.dead)] if args.dead > 0 else []
            control(control_port, [{"action": "drop", "device": t.device_id} for t in dead])
            print(f"\n{len(dead)} of {len(targets)} agents silent ({len(dead) / len(targets):.0%})")
            header()
            fresh, _ = netmon_cycle(poller, targets, sim.pid)
            show("netmon, fresh outage", fresh)
            known, _ = netmon_cycle(poller, targets, sim.pid)
            show("netmon, dead since last cycle", known)
            exporter_dead = None
            if exporter is not None:
                exporter_dead = exporter_cycle(exp_port, exp.pid, targets, sim.pid, args.workers)
                show("snmp_exporter", exporter_dead)
            control(control_port, [{"action": "normal", "device": t.device_id} for t in dead])
            poller.close()

            print("\nverdict")
            if exporter is not None:
                ratio = steady.us_per_varbind / exporter.us_per_varbind
                print(f"  netmon/exporter CPU per varbind: {steady.us_per_varbind:.2f} / "
                      f"{exporter.us_per_varbind:.2f} µs = {ratio:.2f}; wall {steady.wall_s:.1f} / "
                      f"{exporter.wall_s:.1f} s; varbinds {steady.varbinds} / {exporter.varbinds}")
                ok &= verdict(ratio <= 1.5, "netmon ≤ 1.5 × exporter CPU per varbind")
            ok &= verdict(steady.us_per_varbind <= 30, f"netmon ≤ 30 µs CPU per varbind ({steady.us_per_varbind:.2f})")
            ok &= verdict(all(r.errors == 0 for r in runs), "no device failed in the healthy cycles")
            ok &= verdict(steady.wall_s < 10, f"full cycle < 10 s wall ({steady.wall_s:.2f} s)")
            ok &= verdict(fresh.wall_s < 10 and known.wall_s < 10,
                          f"20 % dead: cycle < 10 s wall ({fresh.wall_s:.2f} s fresh, {known.wall_s:.2f} s known; "
                          f"per-device deadline {deadline:.1f} s)")
            ok &= verdict(fresh.errors == len(dead) and known.errors == len(dead),
                          f"20 % dead: exactly the {len(dead)} silent agents failed")
            busy = max(c.sim_cpu_s / c.wall_s for c in (*runs, fresh, known))
            print(f"  note: the simulator used at most {busy:.0%} of one core during netmon cycles "
                  "(< 100 %: it was not the bottleneck)")
    except KeyboardInterrupt:
        print("interrupted; processes stopped")
        return 130
    finally:
        loop.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
