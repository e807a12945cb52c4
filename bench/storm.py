"""Storms against a running ``netmon run``: 20,000 traps in one burst, 10,000 malformed datagrams, 2,000 slow
HTTP connections. Does netmon absorb them, and does polling keep its schedule?

Why: a flapping port, a confused agent or a spoofer with the community can send thousands of traps a second,
and a scrape endpoint faces slow or idle clients. A trap is a hint (a re-poll); netmon must not multiply
the load per trap, and a normal ``/metrics`` fetch must stay fast whatever the other connections do.

``netmon run`` (a separate process, SQLite, routers every 10 s in 5 slices, ICMP off) polls the simulated
province (``netmon simulate``). Printed:

* CPU seconds of netmon during the storm window, against the same window idle;
* router lag during the storm: how late the routers' batches ran (target: under one slice, 2 s);
* re-polls the storm triggered per device (polls beyond the schedule; target: a few at most);
* trap outcomes (accepted, rate-limited, …) and RSS before and after;
* ``/metrics`` fetch time idle and with 2,000 slow connections open (target: < 2 × idle).

Run from the repository root (about two minutes)::

    python bench/storm.py [--traps 20000] [--malformed 10000] [--slow 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from poll import ENV, ROOT, cpu_s, free_port, processes, start_simulator

from netmon.collect import ber
from netmon.collect.snmp import targets_from_inventory
from netmon.inventory.load import load_inventory

ROUTER_INTERVAL_S, SLICES = 10.0, 5
SLICE_S = ROUTER_INTERVAL_S / SLICES
WINDOW_S = 20.0
SAMPLE = re.compile(r'^(\w+)(?:\{([^}]*)\})? (\S+)$', re.M)


def metrics(port: int) -> dict[str, dict[str, float]]:
    """name -> {label text: value} from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, dict[str, float]] = {}
    for name, labels, value in SAMPLE.findall(text):
        out.setdefault(name, {})[labels or ""] = float(value)
    return out


def polls_per_device(port: int) -> dict[str, float]:
    return {re.search(r'device="([^"]+)"', k).group(1): v  # type: ignore[union-attr]
            for k, v in metrics(port).get("netmon_polls_total", {}).items()}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fetch_ms(port: int, n: int = 10) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
            r.read()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def watch(port: int, seconds: float) -> float:
    """Sample the routers' schedule for ``seconds``: the worst lag seen (a late or skipped batch)."""
    worst, end = 0.0, time.monotonic() + seconds
    while time.monotonic() < end:
        m = metrics(port)
        last = m.get("netmon_poller_last_batch_timestamp_seconds", {}).get('class="routers"', 0.0)
        lag = m.get("netmon_poller_lag_seconds", {}).get('class="routers"', 0.0)
        worst = max(worst, lag, time.time() - last - SLICE_S)
        time.sleep(0.5)
    return worst


def link_down(community: bytes, request_id: int) -> bytes:
    varbinds = [ber.encode_varbind((1, 3, 6, 1, 2, 1, 1, 3, 0), ber.TIMETICKS, 12345),
                ber.encode_varbind((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), ber.OBJECT_IDENTIFIER,
                                   (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)),
                ber.encode_varbind((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), ber.INTEGER, 2)]
    return ber.encode_trap_v2c(community, request_id, varbinds)


def blast(sources: list[str], payloads: list[bytes], dest: tuple[str, int]) -> float:
    """Send every payload, round-robin over sockets bound to ``sources``; seconds taken."""
    socks = []
    for src in sources:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        s.bind((src, 0))
        socks.append(s)
    t0 = time.perf_counter()
    for n, payload in enumerate(payloads):
        with contextlib.suppress(OSError):  # a full send buffer: the datagram is lost, as on a real network
            socks[n % len(socks)].sendto(payload, dest)
    took = time.perf_counter() - t0
    for s in socks:
        s.close()
    return took


def slow_clients(port: int, n: int, stop: threading.Event) -> list[socket.socket]:
    """``n`` connections that send half a request, then one byte every few seconds (slowloris)."""
    conns = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: netmon\r\n")
        conns.append(c)

    def trickle() -> None:
        while not stop.wait(3.0):
            for c in conns:
                with contextlib.suppress(OSError):
                    c.sendall(b"X")

    threading.Thread(target=trickle, daemon=True).start()
    return conns


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traps", type=int, default=20_000)
    parser.add_argument("--malformed", type=int, default=10_000)
    parser.add_argument("--slow", type=int, default=2_000)
    args = parser.parse_args()
    os.environ.update(ENV)
    tmp = Path(tempfile.mkdtemp(prefix="netmon-bench-storm-"))
    ok = True
    try:
        with processes() as track:
            agent_port, control_port, http_port, trap_port = (free_port(), free_port(socket.SOCK_STREAM),
                                                              free_port(socket.SOCK_STREAM), free_port())
            inventory = tmp / "inventory"
            shutil.copytree(ROOT / "inventory", inventory, ignore=shutil.ignore_patterns("scenarios"))
            profiles = inventory / "profiles.yaml"
            profiles.write_text(re.sub(r"(\n- name: [^\n]+\n)(?=  version)", rf"\1  port: {agent_port}\n",
                                       profiles.read_text()))
            start_simulator(track, inventory, control_port, tmp / "simulator.log")
            env = {**os.environ, "NETMON_ROUTER_INTERVAL_S": str(ROUTER_INTERVAL_S),
                   "NETMON_SLICES": str(SLICES), "NETMON_BTS_INTERVAL_S": "60", "NETMON_ICMP": "false",
                   "NETMON_BACKUPS": "false"}
            log = tmp / "netmon.log"
            netmon = track(subprocess.Popen(
                [sys.executable, "-m", "netmon", "run", str(inventory), "--database", f"sqlite:///{tmp / 'db'}",
                 "--listen", f"127.0.0.1:{http_port}", "--traps", f"127.0.0.1:{trap_port}"],
                stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=tmp))
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if netmon.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"netmon did not become ready; see {log}")
                time.sleep(0.5)
            print(f"netmon ready (pid {netmon.pid}); routers every {ROUTER_INTERVAL_S:g} s in {SLICES} slices")
            time.sleep(ROUTER_INTERVAL_S)  # past start-up work

            targets = targets_from_inventory(load_inventory(inventory))
            v2c = [t for t in targets if t.version in ("1", "2c") and t.community is not None]
            sources = sorted({t.host for t in v2c})[:150]
            community = v2c[0].community.reveal().encode() if v2c[0].community else b"public"

            # ---------------------------------------------------------------- idle window
            rss0, polls0, cpu0 = rss_mb(netmon.pid), polls_per_device(http_port), cpu_s(netmon.pid)
            idle_lag = watch(http_port, WINDOW_S)
            idle_cpu = cpu_s(netmon.pid) - cpu0
            polls1 = polls_per_device(http_port)
            idle_polls = statistics.mean(polls1[d] - polls0.get(d, 0) for d in polls1)

            # ---------------------------------------------------------------- storm window
            traps = [link_down(community, n) for n in range(args.traps)]
            rnd = random.Random(7)
            junk = [rnd.randbytes(rnd.randint(1, 600)) for _ in range(args.malformed)]
            cpu1 = cpu_s(netmon.pid)
            sent_traps = blast(sources, traps, ("127.0.0.1", trap_port))
            sent_junk = blast(sources, junk, ("127.0.0.1", trap_port))
            storm_lag = watch(http_port, WINDOW_S)
            storm_cpu = cpu_s(netmon.pid) - cpu1
            polls2 = polls_per_device(http_port)
            rss1 = rss_mb(netmon.pid)
            extra = {d: (polls2[d] - polls1.get(d, 0)) - idle_polls for d in polls2}
            stormed = {t.device_id for t in v2c if t.host in sources}
            worst_extra = max((extra.get(d, 0.0) for d in stormed), default=0.0)
            outcomes = metrics(http_port).get("netmon_traps_total", {})

            print(f"\ntrap storm: {args.traps} linkDown traps from {len(sources)} sources in {sent_traps:.3f} s, "
                  f"then {args.malformed} malformed datagrams in {sent_junk:.3f} s")
            print(f"  {'':30}{'idle':>10}{'storm':>10}")
            print(f"  {'netmon CPU s (' + f'{WINDOW_S:g}' + ' s window)':30}{idle_cpu:>10.2f}{storm_cpu:>10.2f}")
            print(f"  {'router lag, max (s)':30}{idle_lag:>10.2f}{storm_lag:>10.2f}")
            print(f"  {'RSS (MB)':30}{rss0:>10.0f}{rss1:>10.0f}")
            print(f"  re-polls beyond the schedule per stormed device: max {worst_extra:.1f}, "
                  f"mean {statistics.mean(extra.get(d, 0.0) for d in stormed):.1f}")
            print("  trap outcomes: " + ", ".join(f"{k.split('=')[1].strip(chr(34))} {v:.0f}"
                                                   for k, v in sorted(outcomes.items())))

            # ---------------------------------------------------------------- slow HTTP clients
            idle_ms = fetch_ms(http_port)
            stop = threading.Event()
            conns = slow_clients(http_port, args.slow, stop)
            time.sleep(1.0)
            busy_ms = fetch_ms(http_port)
            stop.set()
            for c in conns:
                c.close()
            print(f"\n/metrics fetch: {idle_ms:.1f} ms idle, {busy_ms:.1f} ms with {len(conns)} slow connections "
                  f"open ({busy_ms / idle_ms:.2f} ×)")

            print("\nverdict")
            for good, text in (
                (storm_lag < SLICE_S, f"router lag during the storm < one slice ({storm_lag:.2f} < {SLICE_S:g} s)"),
                (worst_extra <= 5, f"re-polls per device ≤ a few ({worst_extra:.1f})"),
                (busy_ms < 2 * idle_ms, f"/metrics with slow clients < 2 × idle ({busy_ms:.1f} / {idle_ms:.1f} ms)"),
                (netmon.poll() is None, "netmon still running"),
            ):
                ok &= good
                print(f"  [{'ok' if good else 'FAIL'}] {text}")
    except KeyboardInterrupt:
        print("interrupted; processes stopped")
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
