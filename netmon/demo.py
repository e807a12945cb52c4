"""``netmon demo``: the whole province, simulated and monitored, in one command.

What runs (all children of this process, all stopped at exit, by PID):

* the simulated province (``netmon simulate`` with the demo scenario, sending traps to us);
* the netmon service in this process: scheduler, SNMP + ICMP polling, trap receiver, outage
  history in a fresh SQLite file, ``/metrics``;
* optionally Debian's ``prometheus`` and ``prometheus-alertmanager`` with the repo's ``deploy/`` rules.

As root, the demo first moves into a private network namespace of its own: there a device the
scenario takes down gets a blackhole route and fails ICMP as well as SNMP, exactly as a dead router
does; on the host's namespace every 127.x address answers ping.  The HTTP ports are opened on the
host *before* moving, and forwarded inside, so ``http://127.0.0.1:9750/metrics`` (and Prometheus /
Alertmanager) stay reachable from the host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from netmon.health.incidents import Incident
from netmon.health.states import State
from netmon.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEMO_SECRETS = {
    # The simulated province's credentials (not secrets of any real network); an operator's own
    # values in the environment win.
    "NETMON_SNMP_COMMUNITY": "demo-agency",
    "NETMON_BTS_COMMUNITY": "demo-bts",
    "NETMON_SNMPV3_AUTH_KEY": "demo-auth-key",
    "NETMON_SNMPV3_PRIV_KEY": "demo-priv-key",
}


@dataclass
class DemoConfig:
    inventory: Path
    scenario: Path
    workdir: Path
    duration: float | None
    headless: bool
    with_prometheus: bool
    metrics_port: int = 9750
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    isolate: bool = True


@dataclass
class Log:
    """Timestamped lines relative to the demo's start, for the headless incident log."""

    started: float = field(default_factory=time.time)
    lines: list[str] = field(default_factory=list)
    echo: bool = True
    console: Console = field(default_factory=lambda: Console(highlight=False, soft_wrap=True))

    def __call__(self, text: str) -> None:
        line = f"[t+{time.time() - self.started:6.1f}s] {text}"
        self.lines.append(line)
        if self.echo:
            self.console.print(line, markup=False)


# --------------------------------------------------------------------- isolation
def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"port 127.0.0.1:{port} is taken ({exc.strerror}); choose another") from None
    sock.listen(64)
    sock.setblocking(False)
    return sock


async def _forward(host_socket: socket.socket, inner_port: int) -> None:
    """Accept on a socket of the host's namespace; connect to the same port inside ours; pipe bytes."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            inner_r, inner_w = await asyncio.open_connection("127.0.0.1", inner_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, inner_w), pipe(inner_r, client_w))

    server = await asyncio.start_server(handle, sock=host_socket)
    async with server:
        await server.serve_forever()


# ------------------------------------------------------------------- children
@dataclass
class Child:
    name: str
    proc: subprocess.Popen[str]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _start_simulator(cfg: DemoConfig, trap_port: int, log: Log) -> Child:
    cmd = [sys.executable, "-m", "netmon", "simulate", "--inventory", str(cfg.inventory),
           "--scenario", str(cfg.scenario), "--traps", f"127.0.0.1:{trap_port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cfg.workdir)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ready"):
            log(f"simulated province {line.strip()}")
            return Child("simulator", proc)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"the simulator did not start: {proc.stderr.read()[-2000:] if proc.stderr else ''}")


def _follow(child: Child, log: Log) -> None:
    """Echo the simulator's scenario steps (its stderr) into the demo log, from a thread."""
    import threading

    def run() -> None:
        assert child.proc.stderr is not None
        for line in child.proc.stderr:
            if " t+" in line:
                log("scenario: " + line.split(" t+", 1)[1].split("s ", 1)[-1].strip())

    threading.Thread(target=run, name="sim-log", daemon=True).start()


def _start_prometheus(cfg: DemoConfig, log: Log) -> list[Child]:
    prometheus, alertmanager = shutil.which("prometheus"), shutil.which("prometheus-alertmanager")
    if not prometheus or not alertmanager:
        log("--with-prometheus: Debian's prometheus / prometheus-alertmanager are not installed; skipped")
        return []
    work = cfg.workdir / "prometheus"
    (work / "rules").mkdir(parents=True, exist_ok=True)
    deploy = ROOT / "deploy"
    text = (deploy / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    text = text.replace("netmon:9750", f"127.0.0.1:{cfg.metrics_port}")
    text = text.replace("alertmanager:9093", f"127.0.0.1:{cfg.alertmanager_port}")
    # The demo polls every 10 s: scrape and evaluate at that pace so alerts keep up with it.
    text = re.sub(r"(scrape_interval|evaluation_interval):\s*\d+s", r"\1: 5s", text)
    text = re.sub(r"scrape_timeout:\s*\d+s", "scrape_timeout: 4s", text)
    (work / "prometheus.yml").write_text(text, encoding="utf-8")
    for rule in (deploy / "prometheus" / "rules").glob("*.yml"):
        shutil.copy(rule, work / "rules" / rule.name)
    am = cfg.workdir / "alertmanager"
    am.mkdir(exist_ok=True)
    shutil.copytree(deploy / "alertmanager", am / "config", dirs_exist_ok=True)
    children = []
    for name, cmd in (
        ("prometheus", [prometheus, f"--config.file={work / 'prometheus.yml'}",
                        f"--storage.tsdb.path={work / 'data'}",
                        f"--web.listen-address=127.0.0.1:{cfg.prometheus_port}"]),
        ("alertmanager", [alertmanager, f"--config.file={am / 'config' / 'alertmanager.yml'}",
                          f"--storage.path={am / 'data'}", "--cluster.listen-address=",
                          f"--web.listen-address=127.0.0.1:{cfg.alertmanager_port}"]),
    ):
        out = (cfg.workdir / f"{name}.log").open("w")
        children.append(Child(name, subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True,
                                                     cwd=work if name == "prometheus" else am / "config")))
    log(f"Prometheus: http://127.0.0.1:{cfg.prometheus_port}  Alertmanager: http://127.0.0.1:{cfg.alertmanager_port}")
    return children


# ------------------------------------------------------------------ live view
def _view(service: Any, started: float) -> Group:
    m = service.monitor
    inv = m.inventory
    by_district: dict[str, dict[str, int]] = {}
    for dev_id, h in list(m.health.devices.items()):
        site = inv.sites[inv.devices[dev_id].site]
        name = inv.districts[site.district].name if site.district else "Cấp tỉnh"
        counts = by_district.setdefault(name, {s.value: 0 for s in State})
        counts[h.state.value] += 1
    t = Table("Đơn vị (district)", "up", "down", "unreachable", "unknown", title="Trạng thái router theo huyện")
    for name in sorted(by_district):
        c = by_district[name]
        t.add_row(name, str(c["up"]), f"[red]{c['down']}[/]" if c["down"] else "0",
                  f"[yellow]{c['unreachable']}[/]" if c["unreachable"] else "0", str(c["unknown"]))
    bts = list(m.health.base_stations.values())
    t.add_row("Trạm BTS", str(sum(h.state is State.UP for h in bts)), str(sum(h.state is State.DOWN for h in bts)),
              str(sum(h.state is State.UNREACHABLE for h in bts)), str(sum(h.state is State.UNKNOWN for h in bts)))
    inc = Table("Sự cố (incident)", "nguyên nhân (root cause)", "ảnh hưởng", "thời gian", title="Sự cố đang mở")
    now = datetime.now(UTC)
    for i in list(m.incidents.values()):
        inc.add_row(i.key, i.title, str(len(i.affected)), f"{(now - i.started_at).total_seconds():.0f} s")
    p = Table("class", "last full cycle", "lag", title=f"Poller (demo t+{time.time() - started:.0f} s)")
    for cls, c in list(m.classes.items()):
        p.add_row(cls, f"{c.last_full_cycle_s:.1f} s", f"{c.lag_s:.1f} s")
    return Group(t, inc, _collection_view(m), p)


def _collection_view(m: Any, rows: int = 8) -> Table:
    """Devices netmon is blind to (ping answers, SNMP does not) or reads only in part, worst first."""
    c = Table("Thiết bị (device)", "thu thập (collection)", "đầy đủ", "lý do (why)",
              title="Thu thập SNMP: mù hoặc thiếu dữ liệu")
    found = []
    for table in (m.health.devices, m.health.base_stations):
        for dev, h in list(table.items()):
            obs = m.observations.get(dev)
            share = obs.collection.completeness if obs is not None else None
            partial = obs is not None and obs.ok and not obs.collection.complete
            if not (h.blind or partial):
                continue
            why = ""
            if h.blind and h.last_check is not None:
                why = h.last_check.error or "no data"
            elif obs is not None:
                spoiled = [f"{t}: {why}" for t, why in obs.collection.tables.items() if why != "complete"]
                why = ", ".join(spoiled or obs.collection.faults)
            found.append((0 if h.blind else 1 if (share or 0.0) < 1 else 2, share or 0.0, dev, why))
    kinds = ("[red]mù (blind)[/]", "[yellow]một phần (partial)[/]", "lỗi giao thức (faults)")
    for rank, share, dev, why in sorted(found)[:rows]:
        c.add_row(dev, kinds[rank], f"{share:.0%}", why[:80])
    if len(found) > rows:
        c.add_row(f"… {len(found) - rows} more", "", "", "")
    return c


# ------------------------------------------------------------------------ run
async def run_demo(cfg: DemoConfig, console: Console) -> int:
    from netmon.inventory.load import load_inventory
    from netmon.service import Service
    from netmon.sim.netns import enter_private_netns, in_private_netns
    from netmon.store import sync as syncer
    from netmon.store.db import make_engine, upgrade

    log = Log(echo=cfg.headless, console=console)
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, filename=cfg.workdir / "netmon.log", force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if os.environ.get("NETMON_DEBUG"):
        logging.getLogger("netmon.monitor").setLevel(logging.DEBUG)
    for key, value in DEMO_SECRETS.items():
        os.environ.setdefault(key, value)
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    for stale in cfg.workdir.glob("netmon.db*"):
        stale.unlink()
    host_sockets = {cfg.metrics_port: _listen(cfg.metrics_port)}
    if cfg.with_prometheus:
        host_sockets[cfg.prometheus_port] = _listen(cfg.prometheus_port)
        host_sockets[cfg.alertmanager_port] = _listen(cfg.alertmanager_port)
    isolated = in_private_netns()
    if cfg.isolate and not isolated and os.geteuid() == 0 and shutil.which("ip"):
        enter_private_netns()
        isolated = True
    log(f"network namespace: {'private (down devices fail ICMP too)' if isolated else 'host (ICMP off)'}")

    inv = load_inventory(cfg.inventory)
    engine = make_engine(f"sqlite:///{cfg.workdir / 'netmon.db'}")
    upgrade(engine)
    syncer.apply(engine, syncer.plan(engine, inv))
    trap_port = 1162
    settings = Settings(
        router_interval_s=10, bts_interval_s=12, slices=2, confirm_after_s=2,
        listen=f"127.0.0.1:{cfg.metrics_port}", trap_listen=f"127.0.0.1:{trap_port}",
        icmp=isolated and os.geteuid() == 0,
        database_url=f"sqlite:///{cfg.workdir / 'netmon.db'}",
        backups=False,  # the simulated routers speak SNMP only (the SSH side is tested against fakenos)
    )
    children: list[Child] = []
    tasks: list[asyncio.Task[Any]] = []
    service: Service | None = None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        service = Service(settings, inv, engine)
        opened: list[Incident] = []

        def on_incident(what: str, inc: Incident, at: datetime) -> None:
            if what == "opened":
                opened.append(inc)
                log(f"INCIDENT OPEN   {inc.key}: {inc.title} [{inc.detected_by}: {inc.evidence}]")
            elif what == "changed":
                log(f"INCIDENT NOW    {inc.key}: {inc.title}")
            else:
                log(f"INCIDENT CLOSED {inc.key} after {(at - inc.started_at).total_seconds():.0f} s")

        service.monitor.listeners.append(on_incident)
        if isolated:  # host ports → the same ports inside our namespace
            tasks += [asyncio.create_task(_forward(s, port)) for port, s in host_sockets.items()]
        else:
            for s in host_sockets.values():
                s.close()
        sim = _start_simulator(cfg, trap_port, log)
        children.append(sim)
        _follow(sim, log)
        await service.start()
        log(f"netmon: {len(service.targets)} devices polled; http://127.0.0.1:{cfg.metrics_port}/metrics")
        if cfg.with_prometheus:
            children += _start_prometheus(cfg, log)
        waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
        if cfg.duration is not None:
            waiters.append(asyncio.create_task(asyncio.sleep(cfg.duration - (time.time() - log.started))))
        if cfg.headless:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        else:
            with Live(_view(service, log.started), console=console, refresh_per_second=2) as live:
                while not any(w.done() for w in waiters):
                    await asyncio.sleep(0.5)
                    live.update(_view(service, log.started))
        for w in waiters:
            w.cancel()
        _summary(service, log, opened, console)
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # the servers close their sockets
        if service is not None:
            await service.stop()
        for child in reversed(children):
            child.stop()
        for s in host_sockets.values():
            if s.fileno() != -1:
                with contextlib.suppress(OSError):
                    s.close()


def _summary(service: Any, log: Log, opened: list[Incident], console: Console) -> None:
    m = service.monitor
    polled = sum(1 for s in m.stats.values() if s.polls)
    log.echo = True
    log(f"summary: {polled}/{len(m.stats)} devices polled; {len(opened)} incident(s) opened, "
        f"{len(m.incidents)} still open")
    for inc in opened:  # an open one as it is now (a link down that turned flapping says so)
        now = m.incidents.get(inc.key)
        log(f"  {'open' if now else 'closed':6} {inc.key}: {(now or inc).title}")


def default_workdir() -> Path:
    return Path(tempfile.gettempdir()) / "netmon-demo"


def main(cfg: DemoConfig, console: Console, exit_: Callable[[int], None]) -> None:
    exit_(asyncio.run(run_demo(cfg, console)))
