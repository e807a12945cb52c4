"""``netmon run`` as a separate process, as an operator runs it; and a webhook sink that counts notifications.

Shared by the end-to-end tests of the service (``tests/e2e``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families
from simulated import SIM_ENV, free_port
from sqlalchemy import Engine, create_engine, text

T = TypeVar("T")

FAST = {"NETMON_ROUTER_INTERVAL_S": "6", "NETMON_BTS_INTERVAL_S": "30", "NETMON_SLICES": "2",
        "NETMON_CONFIRM_AFTER_S": "1", "NETMON_RETRY_S": "1", "NETMON_BACKUPS": "false",
        # Outside a private network namespace every 127.x address answers ping, so a silent agent would
        # look like "SNMP broken, host up": judge on SNMP alone here (the netns tests cover ICMP).
        "NETMON_ICMP": "false"}


def wait_for(predicate: Callable[[], T], timeout: float, what: str, every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Running:
    """One ``netmon run`` process: its HTTP endpoints, its database and its log."""

    def __init__(self, proc: subprocess.Popen[str], port: int, db_url: str, log: Path) -> None:
        self.proc, self.port, self.db_url, self.log = proc, port, db_url, log
        self.engine: Engine = create_engine(db_url)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        _, body = self.get("/metrics")
        out: dict[str, list[tuple[dict[str, str], float]]] = {}
        for fam in text_string_to_metric_families(body):
            for s in fam.samples:
                out.setdefault(s.name, []).append((s.labels, s.value))
        return out

    def value(self, name: str, **labels: str) -> float | None:
        for lbl, v in self.metrics().get(name, []):
            if all(lbl.get(k) == want for k, want in labels.items()):
                return v
        return None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    def ready(self) -> bool:
        try:
            return self.get("/readyz")[0] == 200
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop it with ``sig`` (SIGKILL: as the OOM killer or a power cut would); its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.engine.dispose()
        return self.proc.returncode

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_netmon(inventory: Path, db_url: str, workdir: Path, *, env: dict[str, str] | None = None,
                 ready_within: float = 90) -> Running:
    """``netmon run`` on ``inventory`` and ``db_url``, in ``workdir`` (its outbox journal lives there)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port(socket.SOCK_STREAM)
    log = workdir / f"run-{int(time.time() * 1000)}.log"
    full_env = {**os.environ, **SIM_ENV, **FAST, **(env or {})}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "netmon", "run", str(inventory), "--database", db_url,
             "--listen", f"127.0.0.1:{port}", "--traps", f"127.0.0.1:{free_port()}"],
            stdout=out, stderr=subprocess.STDOUT, text=True, env=full_env, cwd=workdir,
        )
    running = Running(proc, port, db_url, log)
    try:
        wait_for(lambda: proc.poll() is not None or running.ready(), ready_within, "/readyz")
    except AssertionError:
        running.stop(signal.SIGKILL)
        raise
    assert proc.poll() is None, log.read_text()[-3000:]
    return running


@dataclass
class Notification:
    received: float
    status: str
    incident: str
    starts_at: str
    ends_at: str


@dataclass
class WebhookSink:
    """An HTTP endpoint that records every Alertmanager-shaped webhook it receives (netmon's direct webhook)."""

    got: list[Notification] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for alert in body["alerts"]:
                    sink.got.append(Notification(time.time(), alert["status"], alert["labels"]["incident"],
                                                 alert["startsAt"], alert["endsAt"]))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def of(self, incident: str) -> list[Notification]:
        return [n for n in self.got if n.incident == incident]

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
