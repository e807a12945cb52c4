"""``netmon run`` on the 10× province: resident memory after N router cycles, and where it goes.

Why: one poller must carry the 10× province (13,720 agents) in ≤ 600 MB RSS (issue #17). As
``bench/run_v3.py`` does, ``netmon simulate`` serves the province and ``netmon run`` polls it with its default
settings (SQLite, routers every 60 s, base stations every 300 s, ICMP on as root unless ``--no-icmp``).
Its RSS (with the anonymous / file-backed split) is read from /proc at start-up (``/readyz`` and the first
router batch in) and after each router cycle (60 s), its CPU over the cycles; the RSS target is checked
against the largest reading.

With ``--tracemalloc`` a second run does the same under tracemalloc (traced from the interpreter's start,
so slower: its CPU is not comparable) and, after the cycles, has the process write what is allocated by
module — the live Python objects, apart from the interpreter, malloc's free lists and fragmentation:
the top ten, and the total against the RSS.

    python bench/memory.py                       # about 5 minutes
    python bench/memory.py --cycles 2 --tracemalloc
    python bench/memory.py --scale 1 --cycles 1 --no-icmp
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run_v3 import ENV, cpu_seconds, free_port, get, inventory, poll_counts, simulator, started  # noqa: E402

from netmon.inventory.load import load_inventory  # noqa: E402 - after the path fix, so it runs from a checkout

TARGET_MB = 600.0
CYCLE_S = 60.0  # the routers' interval (settings default)
TOP = 10


def status_mb(pid: int) -> dict[str, float]:
    """VmRSS (and its anonymous and file-backed parts) and VmHWM from /proc, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    return out


def module_of(filename: str) -> str:
    """A traced allocation's file as a module name: ``netmon.health.rates``, else the top-level package."""
    path = Path(filename)
    try:
        rel = path.resolve().relative_to(ROOT)
        return ".".join(rel.with_suffix("").parts)
    except ValueError:
        pass
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return path.stem if path.suffix == ".py" else filename  # the standard library: the module's file


# ------------------------------------------------------------------------------- inside netmon run
def child(out: Path, argv: list[str]) -> None:
    """``netmon run`` under tracemalloc; SIGUSR1 writes the traced sizes by module to ``out``."""
    import tracemalloc

    if not tracemalloc.is_tracing():
        tracemalloc.start(1)

    def dump(_sig: int, _frame: object) -> None:
        snapshot = tracemalloc.take_snapshot()
        sizes: dict[str, list[int]] = {}
        for stat in snapshot.statistics("filename"):
            entry = sizes.setdefault(module_of(stat.traceback[0].filename), [0, 0])
            entry[0] += stat.size
            entry[1] += stat.count
        lines = [f"{size}\t{count}\t{name}" for name, (size, count) in sizes.items()]
        tmp = out.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.rename(out)

    signal.signal(signal.SIGUSR1, dump)
    from netmon.cli import app

    sys.argv = ["netmon", *argv]
    app()


# ---------------------------------------------------------------------------------------- the bench
def measure(inv_dir: Path, work: Path, env: dict[str, str], routers: set[str], cycles: int, no_icmp: bool,
            traced: bool) -> dict[str, object]:
    listen = f"127.0.0.1:{free_port(socket.SOCK_STREAM)}"
    tag = "traced" if traced else "plain"
    run_env = {**env, "NETMON_DATABASE_URL": f"sqlite:///{work / f'netmon-{tag}.db'}", "NETMON_LISTEN": listen,
               "NETMON_TRAP_LISTEN": f"127.0.0.1:{free_port()}"}
    if no_icmp:
        run_env["NETMON_ICMP"] = "false"
    dump = work / f"tracemalloc-{tag}.tsv"
    if traced:
        run_env["PYTHONTRACEMALLOC"] = "1"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(dump), "--", "run", str(inv_dir)]
    else:
        cmd = [sys.executable, "-m", "netmon", "run", str(inv_dir)]
    t_start = time.monotonic()
    readings: list[tuple[str, dict[str, float]]] = []
    with started(cmd, run_env, work / f"run-{tag}.log") as run:
        while get(f"http://{listen}/readyz")[0] != 200:
            if run.poll() is not None or time.monotonic() - t_start > 900:
                raise SystemExit(f"netmon run did not get ready; see {work / f'run-{tag}.log'}")
            time.sleep(0.5)
        while poll_counts(get(f"http://{listen}/metrics")[1], routers).get(("netmon_polls_total", "router"), 0) < 1:
            if run.poll() is not None or time.monotonic() - t_start > 900:
                raise SystemExit(f"netmon run polled nothing; see {work / f'run-{tag}.log'}")
            time.sleep(0.5)
        ready_s = time.monotonic() - t_start
        readings.append(("start-up", status_mb(run.pid)))
        cpu0, wall0 = cpu_seconds(run.pid), time.monotonic()
        for n in range(1, cycles + 1):
            time.sleep(max(0.0, wall0 + n * CYCLE_S - time.monotonic()))
            get(f"http://{listen}/metrics")  # a scrape, as Prometheus makes (its buffers count too)
            readings.append((f"cycle {n}", status_mb(run.pid)))
        cpu1, wall1 = cpu_seconds(run.pid), time.monotonic()
        top: list[tuple[int, int, str]] = []
        if traced:
            run.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 300
            while not dump.exists() and time.monotonic() < deadline and run.poll() is None:
                time.sleep(0.5)
            if dump.exists():
                for line in dump.read_text().splitlines():
                    size, count, name = line.split("\t")
                    top.append((int(size), int(count), name))
                top.sort(reverse=True)
        if run.poll() is not None:
            raise SystemExit(f"netmon run exited during the window; see {work / f'run-{tag}.log'}")
    return {"ready_s": ready_s, "readings": readings, "cpu": (cpu1 - cpu0) / (wall1 - wall0), "top": top}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--cycles", type=int, default=3, help="router cycles (60 s each) after start-up")
    parser.add_argument("--no-icmp", action="store_true", help="NETMON_ICMP=false (SNMP only)")
    parser.add_argument("--tracemalloc", action="store_true", help="also a traced run: allocations by module")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child is not None:
        child(args.child, [a for a in rest if a != "--"])
        return 0
    work = Path(tempfile.mkdtemp(prefix="netmon-bench-memory-"))
    try:
        port = free_port()
        inv_dir = inventory(args.scale, work, port)
        inv = load_inventory(inv_dir)
        bts = sum(1 for b in inv.base_stations.values() if b.mgmt)
        print(f"province × {args.scale}: {len(inv.devices)} routers, {bts} base stations "
              f"({len(inv.devices) + bts} agents); {args.cycles} router cycles of {CYCLE_S:.0f} s after start-up; "
              f"ICMP {'off' if args.no_icmp else 'default (on as root)'}")
        env = {**os.environ, **ENV}
        with simulator(inv_dir, env, work):
            plain = measure(inv_dir, work, env, set(inv.devices), args.cycles, args.no_icmp, traced=False)
            traced = (measure(inv_dir, work, env, set(inv.devices), args.cycles, args.no_icmp, traced=True)
                      if args.tracemalloc else None)
        print(f"netmon run: ready and first router batch in {plain['ready_s']:.1f} s")
        readings: list[tuple[str, dict[str, float]]] = plain["readings"]  # type: ignore[assignment]
        for label, mb in readings:
            print(f"  {label:<9} RSS {mb['VmRSS']:6.0f} MB  (anonymous {mb['RssAnon']:6.0f}, "
                  f"files {mb['RssFile']:4.0f}; peak so far {mb['VmHWM']:6.0f})")
        print(f"  CPU over the cycles: {plain['cpu']:.1%} of one core")
        worst = max(mb["VmRSS"] for _, mb in readings)
        if traced is not None:
            top: list[tuple[int, int, str]] = traced["top"]  # type: ignore[assignment]
            last = traced["readings"][-1][1]  # type: ignore[index]
            total = sum(size for size, _, _ in top)
            print(f"traced run (tracemalloc from start; its RSS {last['VmRSS']:.0f} MB includes the traces): "
                  f"{total / 2**20:.0f} MB of live Python allocations after {args.cycles} cycles; top {TOP} by module:")
            for size, count, name in top[:TOP]:
                print(f"  {size / 2**20:7.1f} MB  {count:9d} blocks  {name}")
        ok = worst <= TARGET_MB
        print(f"  {'PASS' if ok else 'FAIL'}  netmon run ≤ {TARGET_MB:.0f} MB RSS (largest reading {worst:.0f} MB)")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
