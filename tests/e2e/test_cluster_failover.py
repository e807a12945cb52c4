"""End to end, several pollers (issue #17): three ``netmon run`` on one PostgreSQL polling the simulated province,
scraped by a real Prometheus that finds them through netmon's ``/sd`` (``http_sd_configs``), alerting through a
real Alertmanager into a sink of this test.

A district router goes off while its poller runs; the poller is SIGKILLed with the district outage open. Asserted
(the issue's acceptance): every device of the killed poller is polled again by the others within failover + one
interval; ``count by (device) (netmon_device_up)`` is exactly 1 for every device before and after; the open outage
is one row before and after, closed correctly when the router comes back; no other outage (no false incident);
one ``PollerDown`` notification and no device notification between the kill and the router's return.

The deployed settings are scaled down 5× (failover and router interval 12 s, base stations 60 s, a beat a second,
scrape and evaluation every second); the shipped rules and inhibitions are used unchanged.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from netmon_process import Running, WebhookSink, start_netmon, wait_for
from postgres import PgServer, admin_statement
from requirements import require_tool
from simulated import SimProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DISTRICT = "rt-ubnd-huyen-cau-ngang"
COMMUNE = "rt-ubnd-xa-phu-can-29347"
KEY = f"device:{DISTRICT}"
FAILOVER_S = 12.0
INTERVAL_S = 12.0  # routers; the deployed ratio (failover 60 s, routers every 60 s, base stations every 300 s)
DEVICE_ALERTS = {"DeviceDown", "LinkDown", "SiteUnreachable", "DeviceBlind", "MonitoringCutOff"}


@dataclass
class AlertSink:
    """Alertmanager's webhook: every alert of every notification, with when it arrived."""

    got: list[tuple[float, str, str, dict[str, str]]] = field(default_factory=list)  # (at, status, name, labels)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for alert in body["alerts"]:
                    labels = alert["labels"]
                    sink.got.append((time.time(), alert["status"], labels.get("alertname", ""), labels))
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return f"http://127.0.0.1:{self.port}/"

    def since(self, at: float) -> list[tuple[float, str, str, dict[str, str]]]:
        return [g for g in list(self.got) if g[0] >= at]

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class SdBalancer:
    """What a load balancer or a DNS name shared by the pollers does for Prometheus: ``/sd`` answered by the
    first poller that answers. (Prometheus keeps the last list of an http_sd URL that fails: one URL per
    poller would keep a dead poller's target for ever.)"""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                for port in balancer.ports:
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sd", timeout=2) as r:
                            body = r.read()
                    except OSError:
                        continue
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(503)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sd"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.prom_port = free_port(2)
        self.am_port = free_port(2)

    def spawn(self, name: str, cmd: list[str]) -> None:
        with (self.tmp / f"{name}.log").open("wb") as out:
            self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)

    def start(self, sd_urls: list[str], sink_url: str) -> None:
        prom_dir = self.tmp / "prometheus"
        shutil.copytree(DEPLOY / "prometheus", prom_dir)
        conf = prom_dir / "prometheus-cluster.yml"
        cfg = yaml.safe_load(conf.read_text(encoding="utf-8"))
        cfg["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
        (job,) = cfg["scrape_configs"]
        job["http_sd_configs"] = [{"url": u, "refresh_interval": "1s"} for u in sd_urls]
        cfg["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [f"127.0.0.1:{self.am_port}"]}]}]
        conf.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
        shipped = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8"))
        am = {
            "route": {"receiver": "sink", "group_by": ["alertname", "incident", "poller"], "group_wait": "1s",
                      "group_interval": "1s", "repeat_interval": "4h",
                      "routes": [{"matchers": ['alertname="IncidentInhibitor"'], "receiver": "none"}]},
            "inhibit_rules": shipped["inhibit_rules"],  # the shipped inhibitions, unchanged
            "receivers": [{"name": "sink", "webhook_configs": [{"url": sink_url, "send_resolved": True}]},
                          {"name": "none"}],
        }
        am_conf = self.tmp / "alertmanager.yml"
        am_conf.write_text(yaml.safe_dump(am, allow_unicode=True), encoding="utf-8")
        self.spawn("alertmanager", [require_tool("prometheus-alertmanager", "prometheus-alertmanager"),
                                    f"--config.file={am_conf}", f"--storage.path={self.tmp / 'am'}",
                                    f"--web.listen-address=127.0.0.1:{self.am_port}", "--cluster.listen-address="])
        self.spawn("prometheus", [require_tool("prometheus", "prometheus"), f"--config.file={conf}",
                                  f"--storage.tsdb.path={self.tmp / 'prom'}",
                                  f"--web.listen-address=127.0.0.1:{self.prom_port}"])

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                result: list[dict[str, Any]] = json.load(r)["data"]["result"]
                return result
        except OSError:
            return []

    def stop(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            del self.procs[name]


def _device_up(run: Running) -> set[str]:
    """The devices a poller exports ``netmon_device_up`` for (those it owns and has judged)."""
    try:
        return {labels["device"] for labels, _ in run.metrics().get("netmon_device_up", [])}
    except OSError:
        return set()


def _counts(stack: Stack) -> dict[str, int]:
    return {r["metric"]["device"]: int(float(r["value"][1]))
            for r in stack.query("count by (device) (netmon_device_up)")}


@pytest.fixture
def pg() -> Iterator[str]:
    server = PgServer.create()
    try:
        url = server.start()
        admin_statement(url, "CREATE DATABASE {}", "netmon")
        yield url.rsplit("/", 1)[0] + "/netmon"
    finally:
        server.remove()


def test_three_pollers_one_killed_with_a_district_outage_open(
        simulator: SimProcess, pg: str, tmp_path: Path) -> None:
    sink = AlertSink()
    sink_url = sink.start()
    stack = Stack(tmp_path)
    pollers: dict[str, Running] = {}
    balancer: SdBalancer | None = None
    try:
        env = {"NETMON_CLUSTER": "true", "NETMON_FAILOVER_S": str(FAILOVER_S), "NETMON_CLUSTER_BEAT_S": "1",
               "NETMON_HEARTBEAT_S": "1", "NETMON_ROUTER_INTERVAL_S": str(INTERVAL_S),
               "NETMON_BTS_INTERVAL_S": str(5 * INTERVAL_S)}
        for name in ("p1", "p2", "p3"):  # one after the other: the first migrates the database and syncs
            pollers[name] = start_netmon(simulator.inventory, pg, tmp_path / name,
                                         env={**env, "NETMON_POLLER_ID": name}, ready_within=180)
        balancer = SdBalancer([r.port for r in pollers.values()])
        stack.start([balancer.url], sink_url)
        # every device exported by exactly one poller, all of them (the assignment settled)
        def settled() -> bool:
            owned = [int(r.value("netmon_cluster_owned_devices") or 0) for r in pollers.values()]
            counts = _counts(stack)
            return all(owned) and len(counts) == sum(owned) and set(counts.values()) == {1}

        wait_for(settled, 120, "three pollers sharing the province, every device exported once", every=1)
        every = set(_counts(stack))

        # the district router goes off: its owner opens the outage, Alertmanager pages it once
        simulator.send(action="device_down", device=DISTRICT)
        wait_for(lambda: [g for g in sink.got if g[1] == "firing" and g[3].get("incident") == KEY], 60,
                 "the district's DeviceDown")
        rows = pollers["p1"].query(f"select id, started_at, ended_at from outage where object_id = '{DISTRICT}'")
        assert len(rows) == 1 and rows[0][2] is None
        row_id, started = rows[0][0], rows[0][1]
        (owner,) = pollers["p1"].query(f"select poller_id from assignment where unit_id = '{KEY}'")[0]
        victim = pollers[owner]
        its = _device_up(victim)
        assert DISTRICT in its and its <= every

        # SIGKILL the district's poller: the others take its devices over within failover + one interval
        killed = time.time()
        victim.stop(signal.SIGKILL)
        survivors = [r for n, r in pollers.items() if n != owner]
        wait_for(lambda: its <= set().union(*(_device_up(r) for r in survivors)), FAILOVER_S + INTERVAL_S + 30,
                 "the killed poller's devices polled again by the others", every=0.5)
        takeover_s = time.time() - killed
        print(f"takeover after SIGKILL: {takeover_s:.1f} s (failover {FAILOVER_S:.0f} s + interval {INTERVAL_S:.0f} s)")
        assert takeover_s <= FAILOVER_S + INTERVAL_S, f"takeover took {takeover_s:.1f} s"

        # every device exactly once again, in Prometheus
        wait_for(lambda: _counts(stack) == dict.fromkeys(every, 1), 30, "count by (device) == 1 for every device",
                 every=1)
        # one PollerDown; nothing about any device since the kill; the outage is the same open row
        wait_for(lambda: [g for g in sink.since(killed) if g[2] == "PollerDown" and g[1] == "firing"], 60,
                 "PollerDown")
        time.sleep(5)  # a few more evaluations and group intervals: anything else would have arrived
        after_kill = sink.since(killed)
        assert [g[2] for g in after_kill] == ["PollerDown"], after_kill
        assert after_kill[0][3]["poller"] == owner
        rows = survivors[0].query(f"select id, started_at, ended_at from outage where object_id = '{DISTRICT}'")
        assert rows == [(row_id, started, None)]

        # the router comes back: the same row closes, one resolved DeviceDown; no other outage ever opened
        back = time.time()
        simulator.send(action="device_up", device=DISTRICT)
        wait_for(lambda: survivors[0].query(f"select ended_at from outage where id = {row_id}")[0][0], 60,
                 "the outage closed")
        wait_for(lambda: [g for g in sink.since(back) if g[1] == "resolved" and g[3].get("incident") == KEY], 30,
                 "the resolved DeviceDown")
        (ended,) = survivors[0].query(f"select ended_at from outage where id = {row_id}")[0]
        assert back - 1 <= ended.timestamp() <= time.time()
        assert survivors[0].query("select object_id from outage") == [(DISTRICT,)]  # 0 false incidents
        firing = [g for g in sink.got if g[1] == "firing" and g[2] in DEVICE_ALERTS]
        assert [g[3].get("incident") for g in firing] == [KEY]
        for r in survivors:
            assert "Traceback" not in r.log_text(), r.log_text()[-3000:]
    finally:
        stack.stop()
        if balancer is not None:
            balancer.close()
        for r in pollers.values():
            r.stop()
        sink.close()
        simulator.send(action="device_up", device=DISTRICT)


class TcpCut:
    """A TCP forwarder between one poller and PostgreSQL that the test can cut (every connection closed, new
    ones refused) and restore: that poller alone loses its database."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port(1)
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            if self.listener is not None:
                self.listener.close()
                self.listener = None
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()
            self.conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:  # cut meanwhile: this one must not survive it
                    client.close()
                    server.close()
                    continue
                self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


def test_a_poller_cut_off_from_the_database_stops_judging_and_rejoins_without_duplicates(
        simulator: SimProcess, pg: str, tmp_path: Path) -> None:
    """Split brain: p2 loses its database (p1 does not) for longer than failover. p2 gives up its devices before
    p1 takes them (no poller judges them twice); a fault on one of them meanwhile is paged once, by p1; p2
    exports nothing meanwhile. When its database is back p2 rejoins (it gets a share again), and nothing is
    duplicated: one outage row, one firing and one resolved page in all."""
    sinks = {"p1": WebhookSink(), "p2": WebhookSink()}
    urls = {n: s.start() for n, s in sinks.items()}
    pg_port = int(pg.rsplit(":", 1)[1].split("/", 1)[0])
    cut = TcpCut(pg_port)
    pollers: dict[str, Running] = {}
    try:
        env = {"NETMON_CLUSTER": "true", "NETMON_FAILOVER_S": str(FAILOVER_S), "NETMON_CLUSTER_BEAT_S": "1",
               "NETMON_HEARTBEAT_S": "1", "NETMON_ROUTER_INTERVAL_S": str(INTERVAL_S),
               "NETMON_BTS_INTERVAL_S": str(5 * INTERVAL_S)}
        pollers["p1"] = start_netmon(simulator.inventory, pg, tmp_path / "p1", ready_within=180,
                                     env={**env, "NETMON_POLLER_ID": "p1", "NETMON_WEBHOOK_URL": urls["p1"]})
        via_cut = pg.replace(f":{pg_port}/", f":{cut.port}/")
        pollers["p2"] = start_netmon(simulator.inventory, via_cut, tmp_path / "p2", ready_within=180,
                                     env={**env, "NETMON_POLLER_ID": "p2", "NETMON_WEBHOOK_URL": urls["p2"]})
        p1, p2 = pollers["p1"], pollers["p2"]

        def owned(run: Running) -> int:
            try:
                return int(run.value("netmon_cluster_owned_devices") or 0)
            except OSError:
                return 0

        wait_for(lambda: owned(p1) and owned(p2) and len(_device_up(p2)) == owned(p2), 90,
                 "both pollers owning and judging a share", every=1)
        p2_devices = _device_up(p2)
        # one of p2's devices with nothing behind it: a commune's router, or a base station
        leaves = [(r[0], "device") for r in p1.query("select id from device where role = 'access' order by id")]
        leaves += [(r[0], "bts") for r in p1.query("select id from base_station order by id")]
        commune, kind = next((d, k) for d, k in leaves if d in p2_devices)
        key = f"{kind}:{commune}"

        # p2's database goes: it gives up its devices before p1 may take them, and exports none meanwhile
        cut_at = time.time()
        cut.cut()
        wait_for(lambda: owned(p2) == 0, FAILOVER_S + 10, "p2 giving up its devices", every=0.5)
        gave_up = time.time() - cut_at
        assert gave_up < FAILOVER_S, f"p2 gave up only after {gave_up:.1f} s"
        wait_for(lambda: commune in _device_up(p1), FAILOVER_S + INTERVAL_S + 10, "p1 taking p2's devices over",
                 every=0.5)
        assert not _device_up(p2)

        # a fault on one of p2's former devices is p1's alone: one page, from p1
        simulator.send(action="device_down", device=commune)
        wait_for(lambda: [n for n in sinks["p1"].of(key) if n.status == "firing"], 60, "p1's page")
        simulator.send(action="device_up", device=commune)
        wait_for(lambda: [n for n in sinks["p1"].of(key) if n.status == "resolved"], 60, "p1's resolved page")

        # p2's database comes back: it rejoins and gets a share again, without duplicating anything
        cut.restore()
        wait_for(lambda: owned(p2) > 0, 60, "p2 rejoining with a share", every=1)
        time.sleep(2 * INTERVAL_S)  # p2 judges its new share (an outage it might re-open would show now)
        assert [(n.status, n.incident) for n in sinks["p1"].got] == [("firing", key), ("resolved", key)]
        assert sinks["p2"].got == []
        assert p1.query(f"select count(*) from outage where object_id = '{commune}'") == [(1,)]
        assert p1.query("select count(*) from outage") == [(1,)]
        assert owned(p1) + owned(p2) == len(set(_device_up(p1)) | set(_device_up(p2)))
        assert not _device_up(p1) & _device_up(p2)
        for r in pollers.values():
            assert "Traceback" not in r.log_text(), r.log_text()[-3000:]
    finally:
        for r in pollers.values():
            r.stop()
        cut.cut()
        for s in sinks.values():
            s.close()
