"""A full province polling cycle: netmon's SnmpPoller against Debian's prometheus-snmp-exporter (Go).

Why: the poller must poll the province well inside its interval and cost no more CPU per varbind than the
reference tool operators already run. Both read the same OIDs (``IF_MIB_SPEC`` = the exporter's ``if_mib``
module: sysUpTime, ifTable, ifXTable) from the same simulated agents (``netmon simulate``) in one run:

* v2c: every v2c device of the inventory (in the sample: the 1,222 base stations);
* SNMPv3: every v3 device (in the sample: the 150 agency routers, authPriv SHA-256/AES-128), the exporter
  with a ``version: 3`` copy of the module and the same user (``if_mib_v3``), so both do the same USM work;
* netmon polls in this process (CPU = ``time.process_time`` around each cycle; the first cycle of each
  section is cold: no row hints and, for v3, engine discovery); the exporter is scraped at
  ``/snmp?target=…&module=…`` with 64 requests in flight (CPU = utime+stime of its process, from /proc;
  the Python HTTP client's own CPU is not counted against it);
* then 20 % of the agents are told to drop every packet (the simulator's control port) and both poll again.

Run from the repository root (a minute or two; needs prometheus-snmp-exporter, root for nothing)::

    python bench/poll.py                 # both tools, v2c and v3, healthy and 20 % dead
    python bench/poll.py --only netmon   # e.g. under py-spy: py-spy record -o /tmp/poll.svg -- python ...
    python bench/poll.py --inventory DIR # another inventory (e.g. an older one, to compare v2c figures)
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
V3_USER, V3_AUTH, V3_PRIV = "netmon", "bench-auth-key-1", "bench-priv-key-1"  # the inventory's snmp-v3-core
ENV = {
    "NETMON_SNMP_COMMUNITY": COMMUNITY,
    "NETMON_BTS_COMMUNITY": COMMUNITY,
    "NETMON_SNMPV3_AUTH_KEY": V3_AUTH,
    "NETMON_SNMPV3_PRIV_KEY": V3_PRIV,
}
EXPORTER_V3_AUTH = f"""    auth:
      username: {V3_USER}
      security_level: authPriv
      password: {V3_AUTH}
      auth_protocol: SHA256
      priv_protocol: AES
      priv_password: {V3_PRIV}
"""
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


def exporter_config(text: str) -> str:
    """The ``if_mib`` module (v2c, our community) and ``if_mib_v3``: the same module over SNMPv3 authPriv."""
    v2c = re.sub(r"community: \S+", f"community: {COMMUNITY}", text)
    v3 = re.sub(r"^if_mib:", "if_mib_v3:", text, flags=re.M)
    v3 = re.sub(r"^    version: 2$", "    version: 3", v3, flags=re.M)
    v3 = re.sub(r"^    auth:\n      community: \S+\n?", EXPORTER_V3_AUTH, v3, flags=re.M)
    assert "version: 3" in v3 and "security_level: authPriv" in v3, "unexpected exporter module layout"
    return v2c.rstrip("\n") + "\n" + v3


def start_exporter(track: Callable[[subprocess.Popen[Any]], subprocess.Popen[Any]], tmp: Path,
                   port: int) -> subprocess.Popen[bytes]:
    config = tmp / "snmp.yml"
    config.write_text(exporter_config(EXPORTER_MODULE.read_text()))
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
        module = "if_mib_v3" if t.version == "3" else "if_mib"
        url = f"http://127.0.0.1:{port}/snmp?target={t.host}:{t.port}&module={module}"
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
@dataclass
class Section:
    """One protocol's figures: netmon's cycles and the exporter's, healthy and with agents silent."""

    label: str
    runs: list[Cycle]
    exporter: Cycle | None = None
    dead: int = 0
    fresh: Cycle | None = None
    known: Cycle | None = None
    exporter_dead: Cycle | None = None


def run_section(label: str, targets: list[Target], args: argparse.Namespace, sim_pid: int, control_port: int,
                exporter: tuple[int, int] | None) -> Section:
    deadline = max(t.timeout_s * (t.retries + 1) for t in targets) + 0.5
    print(f"\n{label}: {len(targets)} agents; spec {IF_MIB_SPEC.name} = snmp_exporter if_mib (sysUpTime, ifTable, "
          f"ifXTable); per-device deadline {deadline:.1f} s")
    header()
    poller = SnmpPoller()
    section = Section(label, [])
    for i in range(args.cycles):
        cycle, _ = netmon_cycle(poller, targets, sim_pid)
        section.runs.append(cycle)
        cold = " (cold" + (", discovery)" if label.startswith("SNMPv3") else ": no row hints)")
        show(f"netmon cycle {i + 1}{cold if i == 0 else ''}", cycle)
    if exporter is not None:
        port, pid = exporter
        exporter_cycle(port, pid, targets[:50], sim_pid, args.workers)  # warm-up
        section.exporter = exporter_cycle(port, pid, targets, sim_pid, args.workers)
        show("snmp_exporter cycle", section.exporter)

    dead = targets[:: round(1 / args.dead)] if args.dead > 0 else []
    section.dead = len(dead)
    control(control_port, [{"action": "drop", "device": t.device_id} for t in dead])
    print(f"  {len(dead)} of {len(targets)} agents silent ({len(dead) / len(targets):.0%})")
    section.fresh, _ = netmon_cycle(poller, targets, sim_pid)
    show("netmon, fresh outage", section.fresh)
    section.known, _ = netmon_cycle(poller, targets, sim_pid)
    show("netmon, dead since last cycle", section.known)
    if exporter is not None:
        section.exporter_dead = exporter_cycle(exporter[0], exporter[1], targets, sim_pid, args.workers)
        show("snmp_exporter", section.exporter_dead)
    control(control_port, [{"action": "normal", "device": t.device_id} for t in dead])
    poller.close()
    return section


def judge(section: Section, max_ratio: float, deadline: float) -> bool:
    ok = True
    steady = section.runs[-1]
    print(f"\n  {section.label}")
    if section.exporter is not None:
        ratio = steady.us_per_varbind / section.exporter.us_per_varbind
        print(f"  netmon/exporter CPU per varbind: {steady.us_per_varbind:.2f} / "
              f"{section.exporter.us_per_varbind:.2f} µs = {ratio:.2f}; wall {steady.wall_s:.1f} / "
              f"{section.exporter.wall_s:.1f} s; varbinds {steady.varbinds} / {section.exporter.varbinds}")
        ok &= verdict(ratio <= max_ratio, f"netmon ≤ {max_ratio} × exporter CPU per varbind ({ratio:.2f})")
        ok &= verdict(section.exporter.errors == 0, f"exporter: no device failed ({section.exporter.errors})")
    ok &= verdict(steady.us_per_varbind <= 30, f"netmon ≤ 30 µs CPU per varbind ({steady.us_per_varbind:.2f})")
    ok &= verdict(all(r.errors == 0 for r in section.runs),
                  f"netmon: no device failed in the healthy cycles ({[r.errors for r in section.runs]})")
    ok &= verdict(steady.wall_s < 10, f"full cycle < 10 s wall ({steady.wall_s:.2f} s)")
    fresh, known = section.fresh, section.known
    assert fresh is not None and known is not None
    ok &= verdict(fresh.wall_s < 10 and known.wall_s < 10,
                  f"20 % dead: cycle < 10 s wall ({fresh.wall_s:.2f} s fresh, {known.wall_s:.2f} s known; "
                  f"per-device deadline {deadline:.1f} s)")
    ok &= verdict(fresh.errors == section.dead and known.errors == section.dead,
                  f"20 % dead: exactly the {section.dead} silent agents failed ({fresh.errors}, {known.errors})")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inventory", type=Path, default=ROOT / "inventory")
    parser.add_argument("--cycles", type=int, default=3, help="netmon healthy cycles (the first is cold)")
    parser.add_argument("--workers", type=int, default=64, help="exporter scrapes in flight")
    parser.add_argument("--dead", type=float, default=0.2, help="fraction of agents made silent")
    parser.add_argument("--only", choices=("netmon", "both"), default="both")
    parser.add_argument("--versions", choices=("v2c", "v3", "both"), default="both")
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
            exporter = None
            if args.only == "both":
                exp_port = free_port(socket.SOCK_STREAM)
                exporter = (exp_port, start_exporter(track, tmp, exp_port).pid)
            sections: list[tuple[Section, float, float]] = []
            for label, version, max_ratio in (("v2c", "2c", 1.5), ("SNMPv3 authPriv SHA-256/AES-128", "3", 0.3)):
                targets = [t for t in all_targets if (t.version == "3") == (version == "3")]
                if not targets or args.versions not in ("both", "v3" if version == "3" else "v2c"):
                    continue
                deadline = max(t.timeout_s * (t.retries + 1) for t in targets) + 0.5
                section = run_section(label, targets, args, sim.pid, control_port, exporter)
                sections.append((section, max_ratio, deadline))

            print("\nverdict")
            for section, max_ratio, deadline in sections:
                ok &= judge(section, max_ratio, deadline)
            cycles = [c for s, _, _ in sections for c in (*s.runs, s.fresh, s.known) if c is not None]
            busy = max(c.sim_cpu_s / c.wall_s for c in cycles)
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
