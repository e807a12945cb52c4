"""End to end: real snmpd agents → ``netmon run`` → a real Prometheus → a real Alertmanager → sinks in the test.

The WAN of network namespaces from ``tests/netns_topology.py`` (noc ↔ core ↔ district ↔ 3 communes, net-snmp
``snmpd`` in each router). Everything else runs inside the ``noc`` namespace and talks over its own 127.0.0.1:

* ``netmon run`` (router interval 3 s in 3 slices, confirm after 1 s, flap window 15 s and hold 9 s — the deployed
  settings scaled down 20× — traps on 10.250.0.1:1162), /metrics on :9750, on PostgreSQL (a private server,
  reached through its Unix socket);
* Debian's ``prometheus`` with a copy of ``deploy/prometheus/`` (the shipped rules unchanged; targets rewritten to
  loopback, scrape/evaluation interval 1 s);
* Debian's ``prometheus-alertmanager`` started by the shipped ``deploy/alertmanager/entrypoint.sh`` (Telegram token
  from a file) on a copy of ``deploy/alertmanager/`` where only the endpoints and the timings change: the webhook URL
  and the Telegram ``api_url`` point at an HTTP sink in this test, the SMTP smarthost at an SMTP sink in this test
  (no TLS), group_wait/group_interval 1 s. The routing tree, the receivers, the inhibitions and the Vietnamese
  templates are the shipped ones, so every channel is exercised and nothing can reach the internet;
* the sinks: servers of this process whose listening sockets were created inside the noc namespace.

The namespaces being private, the ports are fixed. What is checked (the Prometheus export issue's acceptance):
Prometheus scrapes netmon (``up == 1``, no duplicate series, every rule evaluates); a commune's uplink down gives
exactly one firing notification per destination, naming the commune's Vietnamese site, then exactly one resolved
one; a district router off the network gives one notification (DeviceDown), none for the communes behind it (their
SiteUnreachable alerts exist in Alertmanager but are inhibited); the district router's snmpd killed while it routes
on gives exactly one warning (DeviceBlind, naming what to check), no DeviceDown and nothing for the communes, then
one resolved when snmpd runs again.

Then the pages a NOC must be able to trust (issue #18), each counted at the sinks: a flap of 6 bounces is one
firing and one resolved; a district uplink cut after churn is one critical LinkDown; a commune down before its
district is one outage (one history row), never resolved early; 4 reboots on 3 routers are 4 messages; netmon cut
off from the network is one MonitoringCutOff and no device alert; 10 recoveries in a row leak no informational
alert; a 10-minute outage fires no PollerBehind. About 25 minutes in all (the last one is 10 of them).
"""

from __future__ import annotations

import contextlib
import ctypes
import email
import email.policy
import http.server
import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from netns_topology import BY_KEY, COMMUNES, NOC_ADDR, NetnsWan, link_id, missing_tools
from postgres import PG_USER, PgServer, admin_statement
from prometheus_client.parser import text_string_to_metric_families
from requirements import require_tool

from netmon.health.topology import device_key, link_key

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# Inside the private noc namespace: nothing else listens there.
NETMON_PORT, PROM_PORT, AM_PORT, HTTP_SINK_PORT, SMTP_SINK_PORT = 9750, 9090, 9093, 9099, 2525
INTERVAL_S = 3.0  # netmon's router interval
SLICES = 3  # a batch every second, as the deployed 6 slices of 60 s make one every 10 s
FLAP_HOLD_S = 9.0
SETTLE_S = 2 * INTERVAL_S + 3  # after a notification: two more polls, scrapes, evaluations and group intervals
TOKEN = "123456789:AAE2e-Test_token"
NOC_CHAT, CAU_NGANG_CHAT = "-1001000000084", "-1001000000848"
NOC_MAIL, CAU_NGANG_MAIL = "noc@example.invalid", "it-cau-ngang@example.invalid"
DISTRICT_NAME = "Huyện Cầu Ngang"
ROUTERS_N, LINKS_N = 5, 4

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """This thread in network namespace ``name`` (sockets created meanwhile stay there); always switched back."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            yield
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:  # pragma: no cover - would leave the thread in the noc
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(target)
        os.close(own)


# ------------------------------------------------------------------------------------------------ sinks
@dataclass
class Note:
    """One notification as a sink received it."""

    channel: str  # webhook | telegram | email
    dest: str  # webhook: the Alertmanager receiver; telegram: the chat id; email: the recipients
    text: str  # what a person reads (webhook: the payload as JSON)
    resolved: bool
    payload: Any
    at: float = field(default_factory=time.time)

    def about(self, alertname: str, incident: str | None) -> bool:
        """``incident`` None: an alert without one (DeviceBlind: one per device, grouped by alertname)."""
        if self.channel == "webhook":
            group = self.payload["groupLabels"]
            return bool(group.get("alertname") == alertname and group.get("incident") == incident)
        return alertname in self.text and (incident is None or incident in self.text)

    def short(self) -> str:
        return f"{self.channel}->{self.dest} {'resolved' if self.resolved else 'firing'}: {self.text[:300]!r}"


class Sinks:
    """An HTTP sink (Alertmanager webhook + Telegram Bot API) and an SMTP sink, listening inside ``netns``."""

    def __init__(self, netns: str) -> None:
        self.notes: list[Note] = []
        self.lock = threading.Lock()
        self.errors: list[str] = []
        sinks = self
        with in_netns(netns):
            self.http = http.server.ThreadingHTTPServer(("127.0.0.1", HTTP_SINK_PORT), self._http_handler(sinks))
            self.smtp = socketserver.ThreadingTCPServer(("127.0.0.1", SMTP_SINK_PORT), self._smtp_handler(sinks))
        self.threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
                        for s in (self.http, self.smtp)]
        for t in self.threads:
            t.start()

    def add(self, note: Note) -> None:
        with self.lock:
            self.notes.append(note)

    def since(self, mark: int) -> list[Note]:
        with self.lock:
            return list(self.notes[mark:])

    def mark(self) -> int:
        with self.lock:
            return len(self.notes)

    def close(self) -> None:
        for server in (self.http, self.smtp):
            server.shutdown()
            server.server_close()

    @staticmethod
    def _http_handler(sinks: Sinks) -> type[http.server.BaseHTTPRequestHandler]:
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path == "/webhook":
                    sinks.add(Note("webhook", body.get("receiver", ""), json.dumps(body, ensure_ascii=False),
                                   body.get("status") == "resolved", body))
                    reply: dict[str, Any] = {}
                elif self.path == f"/telegram/bot{TOKEN}/sendMessage":
                    text = str(body.get("text", ""))
                    chat = str(body.get("chat_id", ""))
                    sinks.add(Note("telegram", chat, text, "KHÔI PHỤC" in text.upper(), body))
                    reply = {"ok": True, "result": {"message_id": len(sinks.notes), "date": int(time.time()),
                                                    "chat": {"id": int(chat or 0), "type": "supergroup"}}}
                else:  # e.g. a Telegram call without the token from the file: not what was deployed
                    sinks.errors.append(f"HTTP POST {self.path}")
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    @staticmethod
    def _smtp_handler(sinks: Sinks) -> type[socketserver.StreamRequestHandler]:
        class Handler(socketserver.StreamRequestHandler):
            """Just enough ESMTP for Go's net/smtp: no STARTTLS, no AUTH offered."""

            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 sink ESMTP")
                rcpt: list[str] = []
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        self.reply("250-sink")
                        self.reply("250 8BITMIME")
                    elif verb in (b"HELO", b"MAIL", b"RSET", b"NOOP"):
                        self.reply("250 OK")
                    elif verb == b"RCPT":
                        rcpt.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == b"DATA":
                        self.reply("354 go on")
                        data = bytearray()
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        msg = email.message_from_bytes(bytes(data), policy=email.policy.default)
                        plain = msg.get_body(("plain",))
                        subject = str(msg["Subject"])
                        text = subject + "\n" + (plain.get_content() if plain is not None else "")
                        sinks.add(Note("email", ",".join(sorted(rcpt)), text, "khôi phục" in subject.lower(),
                                       {"subject": subject, "to": list(rcpt)}))
                        rcpt = []
                        self.reply("250 OK queued")
                    elif verb == b"QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        return Handler


# ------------------------------------------------------------------------------------------------ the stack
@dataclass
class Stack:
    wan: NetnsWan
    tmp: Path
    bins: dict[str, str]
    database: str
    """PostgreSQL, the production database, through its Unix socket (the noc namespace has its own loopback)."""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    sinks: Sinks | None = None

    # -- configs: copies of deploy/, only endpoints and timings changed
    def prometheus_config(self) -> Path:
        dest = self.tmp / "prometheus"
        shutil.copytree(DEPLOY / "prometheus", dest)
        conf = dest / "prometheus.yml"
        cfg = yaml.safe_load(conf.read_text(encoding="utf-8"))
        cfg["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
        (job,) = cfg["scrape_configs"]
        assert job["job_name"] == "netmon" and job["static_configs"] == [{"targets": ["netmon:9750"]}]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{NETMON_PORT}"]}]
        (am,) = cfg["alerting"]["alertmanagers"]
        assert am["static_configs"] == [{"targets": ["alertmanager:9093"]}]
        am["static_configs"] = [{"targets": [f"127.0.0.1:{AM_PORT}"]}]
        conf.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return conf

    def alertmanager_config(self) -> Path:
        dest = self.tmp / "alertmanager"
        shutil.copytree(DEPLOY / "alertmanager", dest)
        conf = dest / "alertmanager.yml"
        cfg = yaml.safe_load(conf.read_text(encoding="utf-8"))
        password = self.tmp / "smtp_password"
        password.write_text("not-used\n")  # the sink offers no AUTH: never sent
        cfg["global"].update(smtp_smarthost=f"127.0.0.1:{SMTP_SINK_PORT}", smtp_require_tls=False,
                             smtp_auth_password_file=str(password))
        cfg["route"].update(group_wait="1s", group_interval="1s")
        for receiver in cfg["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                sink = f"http://127.0.0.1:{HTTP_SINK_PORT}/webhook"
                assert hook["url"] in ("http://netmon:9750/alertmanager-webhook", sink)  # YAML aliases: shared
                hook["url"] = sink
            for tg in receiver.get("telegram_configs", []):
                assert tg["bot_token"] == "@@TELEGRAM_BOT_TOKEN@@"  # entrypoint.sh puts the token in
                tg["api_url"] = f"http://127.0.0.1:{HTTP_SINK_PORT}/telegram"
            assert set(receiver) <= {"name", "webhook_configs", "telegram_configs", "email_configs"}, receiver
        conf.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
        subprocess.run([self.bins["amtool"], "check-config", str(conf)], check=True, capture_output=True)
        return conf

    # -- processes
    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        with (self.tmp / f"{name}.log").open("wb") as out:
            # `ip netns exec` execs the command (and entrypoint.sh execs Alertmanager): the PID is the program's
            self.procs[name] = subprocess.Popen([*self.wan.exec_prefix("noc"), *cmd], cwd=ROOT, env=env,
                                                stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    def start(self) -> None:
        self.sinks = Sinks(self.wan.noc)
        prom_conf, am_conf = self.prometheus_config(), self.alertmanager_config()
        token = self.tmp / "telegram_bot_token"
        token.write_text(TOKEN + "\n")
        self._spawn("alertmanager", ["sh", str(am_conf.parent / "entrypoint.sh"), f"--storage.path={self.tmp / 'am'}",
                                     f"--web.listen-address=127.0.0.1:{AM_PORT}", "--cluster.listen-address="],
                    env={**os.environ, "ALERTMANAGER_CONFIG": str(am_conf), "TELEGRAM_BOT_TOKEN_FILE": str(token),
                         "ALERTMANAGER_RUNTIME_DIR": str(self.tmp / "am-runtime"),
                         "ALERTMANAGER_BIN": self.bins["prometheus-alertmanager"]})
        inventory = self.wan.write_inventory(self.tmp / "inventory")
        env = {k: v for k, v in os.environ.items() if not k.startswith("NETMON_")}
        # the deployed settings scaled down 20× with the interval (60 s → 3 s): flap window 300 → 15 s, flap hold
        # 180 → 9 s; the link linger (2 intervals) and flap_down (1 interval) follow the interval by default
        env.update(self.wan.env(), NETMON_ROUTER_INTERVAL_S=str(INTERVAL_S), NETMON_SLICES=str(SLICES),
                   NETMON_CONFIRM_AFTER_S="1", NETMON_ICMP="true", NETMON_ICMP_COUNT="2", NETMON_HEARTBEAT_S="1",
                   NETMON_FLAP_WINDOW_S="15", NETMON_FLAP_HOLD_S=str(FLAP_HOLD_S))
        self._spawn("netmon", [sys.executable, "-m", "netmon", "run", str(inventory),
                               "--database", self.database,
                               "--listen", f"127.0.0.1:{NETMON_PORT}", "--traps", f"{NOC_ADDR}:{self.wan.trap_port}",
                               "--duration", "3600"], env=env)  # the module runs ~30 min
        self._spawn("prometheus", [self.bins["prometheus"], f"--config.file={prom_conf}",
                                   f"--storage.tsdb.path={self.tmp / 'prom'}",
                                   f"--web.listen-address=127.0.0.1:{PROM_PORT}"])
        self.until(lambda: self.status(f"http://127.0.0.1:{AM_PORT}/-/ready") == 200, 15, "Alertmanager ready")
        self.until(lambda: self.status(f"http://127.0.0.1:{NETMON_PORT}/healthz") == 200, 30, "netmon serving")
        self.until(lambda: self.status(f"http://127.0.0.1:{PROM_PORT}/-/ready") == 200, 15, "Prometheus ready")

    def stop(self) -> None:
        for name in ("prometheus", "alertmanager", "netmon"):  # Prometheus first: no more alerts sent
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self.sinks is not None:
            self.sinks.close()
            self.sinks = None

    # -- talking to them, from inside the noc
    def get(self, url: str, timeout: float = 5) -> tuple[int, bytes]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with in_netns(self.wan.noc):
            try:
                with opener.open(url, timeout=timeout) as r:
                    return int(r.status), bytes(r.read())
            except urllib.error.HTTPError as e:
                return int(e.code), bytes(e.read())

    def status(self, url: str) -> int:
        try:
            return self.get(url, timeout=2)[0]
        except OSError:
            return 0

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{PROM_PORT}{path}?{urllib.parse.urlencode(params)}"
        code, body = self.get(url)
        assert code == 200, f"{url}: {code} {body[:500]!r}"
        doc = json.loads(body)
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        result: list[dict[str, Any]] = self.api("/api/v1/query", **params)["result"]
        return result

    def scalar(self, expr: str, at: float | None = None) -> float | None:
        result = self.query(expr, at)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def am_alerts(self, alertname: str) -> list[dict[str, Any]]:
        flt = urllib.parse.quote(f'alertname="{alertname}"')
        code, body = self.get(f"http://127.0.0.1:{AM_PORT}/api/v2/alerts?filter={flt}")
        assert code == 200, body
        alerts: list[dict[str, Any]] = json.loads(body)
        return alerts

    # -- waiting, with the logs on failure
    def diagnostics(self) -> str:
        out = []
        for name in ("netmon", "prometheus", "alertmanager"):
            log = self.tmp / f"{name}.log"
            proc = self.procs.get(name)
            state = "running" if proc is not None and proc.poll() is None else f"exited {proc and proc.returncode}"
            text = log.read_text(errors="replace") if log.exists() else ""
            out.append(f"--- {name} ({state}), last lines:\n" + "\n".join(text.splitlines()[-15:]))
        if self.sinks is not None:
            out.append("--- notifications:\n" + "\n".join(n.short() for n in self.sinks.since(0)))
            out.append(f"--- sink errors: {self.sinks.errors}")
        return "\n".join(out)

    def until(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> float:
        start = time.monotonic()
        while True:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise AssertionError(f"{name} exited while waiting for {what}\n{self.diagnostics()}")
            if predicate():
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}\n{self.diagnostics()}")
            time.sleep(0.1)

    def quiet(self) -> bool:
        """Prometheus sees every router and link up, its rules have evaluated that, no alert firing or pending.

        Except IncidentInhibitor (it outlives each incident by a minute, sends nothing) and PollerBehind pending
        (the burst of re-probes that confirms an outage may skip a batch or two; ``for: 5m`` keeps it quiet).
        """
        return (self.scalar('count(netmon_device_status{state="up"} == 1)') == ROUTERS_N
                and self.scalar('count(netmon_link_status{state="up"} == 1)') == LINKS_N
                and self.scalar("count(netmon:device:info)") == ROUTERS_N
                and not self.query('ALERTS unless ALERTS{alertname="IncidentInhibitor"}'
                                   ' unless ALERTS{alertname="PollerBehind", alertstate="pending"}'))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    bins = {name: require_tool(name, pkg) for name, pkg in (("prometheus", "prometheus"), ("promtool", "prometheus"),
                                                      ("prometheus-alertmanager", "prometheus-alertmanager"),
                                                      ("amtool", "prometheus-alertmanager"))}
    tmp = tmp_path_factory.mktemp("alerting")
    pg = PgServer.create()
    try:
        admin_statement(pg.start(), "CREATE DATABASE {}", "netmon")
        wan = NetnsWan(tmp / "wan")
        wan.start()  # cleans up after itself when it fails
        st = Stack(wan, tmp, bins, f"postgresql+psycopg://{PG_USER}@/netmon?host={pg.base}&port={pg.port}")
        try:
            st.start()
            yield st
        finally:
            try:
                st.stop()
            finally:
                wan.close()
    finally:
        pg.remove()


@pytest.fixture
def quiet_stack(stack: Stack) -> Stack:
    """Everything up again and Prometheus agreeing, no alert left (between tests)."""
    stack.wan.reset()
    took = stack.until(stack.quiet, 60, "every router and link up in Prometheus, no alert")
    print(f"\nquiet after {took:.1f} s")
    return stack


def _by_channel(notes: list[Note], resolved: bool) -> Counter[tuple[str, str]]:
    return Counter((n.channel, n.dest) for n in notes if n.resolved is resolved)


def _expect_one_each(notes: list[Note], alertname: str, incident: str | None, expected: Counter[tuple[str, str]],
                     resolved: bool, st: Stack) -> None:
    """Exactly one notification per destination, all about this incident, nothing else."""
    others = [n.short() for n in notes if not n.about(alertname, incident)]
    assert not others, "notifications about something else:\n" + "\n".join(others)
    got = _by_channel(notes, resolved)
    assert got == expected, f"{'resolved' if resolved else 'firing'} {alertname} {incident}: {got}\n{st.diagnostics()}"
    assert not _by_channel(notes, not resolved), [n.short() for n in notes]


# ----------------------------------------------------------------------------------------------------- tests
def test_prometheus_scrapes_netmon_up_no_duplicate_series_rules_healthy(quiet_stack: Stack) -> None:
    st = quiet_stack
    (target,) = st.api("/api/v1/targets", state="active")["activeTargets"]
    assert target["labels"]["job"] == "netmon" and target["scrapeUrl"] == f"http://127.0.0.1:{NETMON_PORT}/metrics"
    assert (target["health"], target["lastError"]) == ("up", ""), target
    up = st.query('up{job="netmon"}')
    assert [s["value"][1] for s in up] == ["1"], up

    # No duplicate series: every sample of the last scrape is a distinct series in Prometheus' TSDB (a duplicate
    # is dropped at ingestion and only counted), and Prometheus counted no duplicate, out-of-order sample.
    # (every name netmon exports starts with netmon_, checked below; recorded series keep job="netmon" too)
    at = time.time()
    scraped = st.scalar('scrape_samples_scraped{job="netmon"}', at)
    stored = st.scalar('count({job="netmon", __name__=~"netmon_.+"})', at)
    assert scraped is not None and scraped > 100 and stored == scraped, (scraped, stored)
    _, own = st.get(f"http://127.0.0.1:{PROM_PORT}/metrics")
    prom_self = {s.name: s.value for fam in text_string_to_metric_families(own.decode()) for s in fam.samples}
    for name in ("prometheus_target_scrapes_sample_duplicate_timestamp_total",
                 "prometheus_target_scrapes_sample_out_of_order_total",
                 "prometheus_target_scrapes_sample_out_of_bounds_total"):
        assert prom_self[name] == 0, name

    # The same exposition, checked directly: distinct series, and promtool's own parser + linter accept it.
    code, body = st.get(f"http://127.0.0.1:{NETMON_PORT}/metrics")
    assert code == 200
    text = body.decode()
    series = Counter((s.name, tuple(sorted(s.labels.items())))
                     for fam in text_string_to_metric_families(text) for s in fam.samples)
    assert [k for k, n in series.items() if n > 1] == []
    assert all(name.startswith("netmon_") for name, _ in series)
    lint = subprocess.run([st.bins["promtool"], "check", "metrics"], input=body, capture_output=True, timeout=30)
    assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()

    # The Vietnamese names made it through: a join of the shipped recording rules on netmon's info series.
    names = {s["metric"]["site_name"] for s in st.query("netmon:device:info")}
    assert {"UBND Thị trấn Cầu Ngang", "UBND xã Mỹ Long Bắc", "Đảng ủy xã Mỹ Long Bắc"} <= names, names

    # Every shipped rule evaluates against the real exposition (no many-to-many joins, no bad templates yet).
    groups = st.api("/api/v1/rules")["groups"]
    bad = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"]
    assert groups and not bad, bad
    assert st.sinks is not None
    assert st.sinks.since(0) == [], [n.short() for n in st.sinks.since(0)]  # nothing notified so far


def test_commune_uplink_down_one_notification_with_site_name_then_resolved(quiet_stack: Stack) -> None:
    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    c1 = BY_KEY["c1"]
    site_name = "UBND Thị trấn Cầu Ngang"  # the commune's site in the topology's inventory
    incident = link_key(link_id("c1"))
    # warning, district Huyện Cầu Ngang: its team's Telegram (continue) + the NOC's webhook and Telegram
    expected = Counter({("webhook", "noc-warning"): 1, ("telegram", CAU_NGANG_CHAT): 1, ("telegram", NOC_CHAT): 1})

    mark = sinks.mark()
    down_at = time.time()
    st.wan.uplink_down("c1")
    try:
        fired = st.until(_webhook_since(sinks, mark, resolved=False), 40, f"a firing notification for {incident}")
        # The commune itself is unreachable behind that link: its SiteUnreachable exists but is inhibited.
        st.until(lambda: _suppressed(st, {c1.device_id}, incident), 15, "SiteUnreachable of c1, inhibited")
        time.sleep(SETTLE_S)
        firing = sinks.since(mark)
    finally:
        up_mark = sinks.mark()
        up_at = time.time()
        st.wan.uplink_up("c1")
    _expect_one_each(firing, "LinkDown", incident, expected, resolved=False, st=st)
    hook = next(n for n in firing if n.channel == "webhook")
    (alert,) = hook.payload["alerts"]
    labels, ann = alert["labels"], alert["annotations"]
    assert (labels["alertname"], labels["severity"]) == ("LinkDown", "warning") and "kind" not in labels
    assert (labels["site"], labels["site_name"], labels["district_name"]) == (c1.site_id, site_name, DISTRICT_NAME)
    assert labels["link"] == link_id("c1") and labels["province"] == "Trà Vinh"
    for key in ("title", "summary", "description"):
        assert site_name in ann[key], (key, ann)
    assert "Mất kết nối đường truyền" in ann["summary"]
    for note in firing:
        assert site_name in note.text and "khôi phục" not in note.text.lower(), note.short()
        if note.channel == "telegram":
            assert f"📍 {site_name} — {DISTRICT_NAME}" in note.text and note.payload.get("parse_mode") == "HTML"

    resolved = st.until(_webhook_since(sinks, up_mark, resolved=True), 40, f"the resolved notification of {incident}")
    time.sleep(SETTLE_S)
    after = sinks.since(up_mark)
    _expect_one_each(after, "LinkDown", incident, expected, resolved=True, st=st)
    for note in after:
        assert site_name in note.text, note.short()
        if note.channel == "telegram":
            assert "ĐÃ KHÔI PHỤC" in note.text and "Đã khôi phục:" in note.text
    assert sinks.errors == []
    print(f"\ncommune uplink: firing notification {fired:.1f} s after the veth went down "
          f"(at +{hook.at - down_at:.1f} s), resolved {resolved:.1f} s after it came up "
          f"(at +{next(n.at for n in after if n.channel == 'webhook') - up_at:.1f} s)")


def test_district_router_outage_one_notification_none_for_the_communes(quiet_stack: Stack) -> None:
    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    dist = BY_KEY["dist"]
    incident = device_key(dist.device_id)
    communes = {BY_KEY[c].device_id for c in COMMUNES}
    # critical, district Huyện Cầu Ngang: its team's e-mail + Telegram (continue), the NOC's webhook, e-mail, Telegram
    expected = Counter({("webhook", "noc-critical"): 1, ("email", NOC_MAIL): 1, ("email", CAU_NGANG_MAIL): 1,
                        ("telegram", NOC_CHAT): 1, ("telegram", CAU_NGANG_CHAT): 1})

    mark = sinks.mark()
    st.wan.isolate("dist")
    try:
        fired = st.until(_webhook_since(sinks, mark, resolved=False), 40, f"a firing notification for {incident}")
        st.until(lambda: _suppressed(st, communes, incident), 20, "the communes' SiteUnreachable, all inhibited")
        time.sleep(SETTLE_S)
        firing = sinks.since(mark)
        site_unreachable = st.am_alerts("SiteUnreachable")
    finally:
        up_mark = sinks.mark()
        st.wan.restore("dist")
    _expect_one_each(firing, "DeviceDown", incident, expected, resolved=False, st=st)
    hook = next(n for n in firing if n.channel == "webhook")
    (alert,) = hook.payload["alerts"]
    labels = alert["labels"]
    assert (labels["alertname"], labels["severity"], labels["device"]) == ("DeviceDown", "critical", dist.device_id)
    assert labels["site_name"] == "UBND Huyện Cầu Ngang"
    assert 1 <= int(alert["annotations"]["affected_sites"]) <= len(communes)  # netmon's count as first evaluated
    for note in firing:  # one notification about the district router; none names a commune's router
        assert "UBND Huyện Cầu Ngang" in note.text, note.short()
        assert not any(c in note.text for c in communes), note.short()
    assert {a["labels"]["device"] for a in site_unreachable} == communes
    assert all(a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"] for a in site_unreachable)

    resolved = st.until(_webhook_since(sinks, up_mark, resolved=True), 40, f"the resolved notification of {incident}")
    time.sleep(SETTLE_S)  # the communes' alerts resolve too: never notified, so no "resolved" for them either
    after = sinks.since(up_mark)
    _expect_one_each(after, "DeviceDown", incident, expected, resolved=True, st=st)
    assert sinks.errors == []
    print(f"\ndistrict outage: firing notification {fired:.1f} s after isolating, resolved {resolved:.1f} s after "
          "restoring")


def test_snmpd_killed_router_still_routing_one_blind_warning_no_outage(quiet_stack: Stack) -> None:
    """The district router's snmpd dies; the router routes on. netmon is blind to it after three poll intervals:
    exactly one DeviceBlind warning per destination (its district's team and the NOC) saying what to check, no
    DeviceDown, nothing for the communes behind it; one resolved when snmpd runs again."""
    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    dist = BY_KEY["dist"]
    expected = Counter({("webhook", "noc-warning"): 1, ("telegram", CAU_NGANG_CHAT): 1, ("telegram", NOC_CHAT): 1})

    mark = sinks.mark()
    killed_at = time.time()
    st.wan.stop_agent("dist")
    try:
        fired = st.until(_webhook_since(sinks, mark, resolved=False), 60, "a firing notification for DeviceBlind")
        time.sleep(SETTLE_S)
        firing = sinks.since(mark)
        alerts = {a["metric"]["alertname"] for a in st.query("ALERTS")}
        states = {s["metric"]["device"]: s["value"][1] for s in st.query('netmon_device_status{state="up"}')}
    finally:
        up_mark = sinks.mark()
        st.wan.start_agent("dist")
    _expect_one_each(firing, "DeviceBlind", None, expected, resolved=False, st=st)
    # no DeviceDown, no SiteUnreachable, no LinkDown (IncidentInhibitor: a previous test's, never sent)
    assert alerts <= {"DeviceBlind", "PollerBehind", "IncidentInhibitor"}, alerts
    assert set(states.values()) == {"1"} and len(states) == ROUTERS_N  # every router still up
    hook = next(n for n in firing if n.channel == "webhook")
    (alert,) = hook.payload["alerts"]
    labels, ann = alert["labels"], alert["annotations"]
    assert (labels["alertname"], labels["severity"], labels["device"], labels["kind"]) == (
        "DeviceBlind", "warning", dist.device_id, "router")
    assert (labels["site_name"], labels["district_name"]) == ("UBND Huyện Cầu Ngang", DISTRICT_NAME)
    assert "không trả lời SNMP" in ann["summary"] and "SNMP agent" in ann["action"]
    for note in firing:
        assert dist.device_id in note.text, note.short()
        if note.channel == "telegram":
            assert "Cần kiểm tra" in note.text and "community" in note.text

    resolved = st.until(_webhook_since(sinks, up_mark, resolved=True), 60, "the resolved DeviceBlind")
    time.sleep(SETTLE_S)
    _expect_one_each(sinks.since(up_mark), "DeviceBlind", None, expected, resolved=True, st=st)
    assert sinks.errors == []
    print(f"\nsnmpd killed: DeviceBlind notified {fired:.1f} s later (at +{hook.at - killed_at:.1f} s), "
          f"resolved {resolved:.1f} s after snmpd was back")


def _webhook_since(sinks: Sinks, mark: int, resolved: bool) -> Callable[[], bool]:
    return lambda: any(n.channel == "webhook" and n.resolved is resolved for n in sinks.since(mark))


def _suppressed(st: Stack, devices: set[str], incident: str) -> bool:
    alerts = [a for a in st.am_alerts("SiteUnreachable") if a["labels"].get("incident") == incident]
    return {a["labels"].get("device") for a in alerts} == devices and all(
        a["status"]["state"] == "suppressed" for a in alerts)


# ------------------------------------------------------------------------------- pages a NOC can trust (#18)
def _hooks(notes: list[Note], alertname: str, **group: str) -> list[Note]:
    """Webhook notifications of ``alertname`` whose group labels include ``group``."""
    out = []
    for n in notes:
        labels = n.payload.get("groupLabels", {}) if n.channel == "webhook" else {}
        if labels.get("alertname") == alertname and all(labels.get(k) == v for k, v in group.items()):
            out.append(n)
    return out


def _firing_resolved(notes: list[Note]) -> tuple[int, int]:
    return sum(not n.resolved for n in notes), sum(n.resolved for n in notes)


def _info(notes: list[Note]) -> list[str]:
    return [n.short() for n in notes if n.channel == "webhook" and n.dest == "webhook"]


def _only(notes: list[Note], allowed: set[tuple[str, str]]) -> list[str]:
    """Notifications about anything but these (alertname, incident) pairs — webhook and Telegram alike."""
    out = []
    for n in notes:
        if n.channel == "webhook":
            key = (n.payload["groupLabels"].get("alertname", ""), n.payload["groupLabels"].get("incident", ""))
            if key not in allowed:
                out.append(n.short())
        elif not any(a in n.text and i in n.text for a, i in allowed):
            out.append(n.short())
    return out


def test_a_flap_of_six_bounces_is_one_firing_and_one_resolved(quiet_stack: Stack) -> None:
    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    incident = link_key(link_id("c3"))
    mark = sinks.mark()
    try:
        for _ in range(6):  # 1 s down, 1 s up: every 3 s poll sees the other phase; the traps say it too
            st.wan.uplink_down("c3")
            time.sleep(1.0)
            st.wan.uplink_up("c3")
            time.sleep(1.0)
        last_bounce = time.time()
    finally:
        st.wan.uplink_up("c3")
    kinds = {s["metric"]["kind"] for s in st.query(f'netmon_incident_open{{incident="{incident}"}}')}
    resolved = st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "LinkDown", incident=incident))[1] >= 1,
                        FLAP_HOLD_S + 2 * INTERVAL_S + 25, f"the resolved notification of {incident}")
    time.sleep(SETTLE_S)
    notes = sinks.since(mark)
    hooks = _hooks(notes, "LinkDown", incident=incident)
    assert _firing_resolved(hooks) == (1, 1), [n.short() for n in notes]
    assert not _only(notes, {("LinkDown", incident)}), _only(notes, {("LinkDown", incident)})
    telegram = Counter((n.dest, n.resolved) for n in notes if n.channel == "telegram")
    assert telegram == {(NOC_CHAT, False): 1, (NOC_CHAT, True): 1, (CAU_NGANG_CHAT, False): 1,
                        (CAU_NGANG_CHAT, True): 1}, telegram
    assert hooks[0].payload["alerts"][0]["labels"]["severity"] == "warning"  # a commune's: the same throughout
    print(f"\nflap of 6 bounces: kinds seen {kinds or '-'}, resolved {time.time() - last_bounce - SETTLE_S:.1f} s "
          f"after the last bounce ({resolved:.1f} s of waiting)")


def test_a_district_uplink_cut_after_churn_is_one_critical_link_down(quiet_stack: Stack) -> None:
    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    incident = link_key(link_id("dist"))
    mark = sinks.mark()
    try:
        for _ in range(2):  # churn: two bounces
            st.wan.uplink_down("dist")
            time.sleep(2.0)
            st.wan.uplink_up("dist")
            time.sleep(2.0)
        st.wan.uplink_down("dist")  # then a real cut
        st.until(_webhook_since(sinks, mark, resolved=False), 30, f"a firing notification for {incident}")
        time.sleep(5 * INTERVAL_S)  # the cut goes on
        now_open = st.query(f'netmon_incident_open{{incident="{incident}"}}')
        kind = {s["metric"]["kind"] for s in now_open}
        titles = {s["metric"]["title"] for s in now_open}
        alerts = [a for a in st.am_alerts("LinkDown") if a["labels"]["incident"] == incident]
    finally:
        up_at = time.time()
        st.wan.uplink_up("dist")
    st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "LinkDown", incident=incident))[1] >= 1,
             FLAP_HOLD_S + 2 * INTERVAL_S + 25, f"the resolved notification of {incident}")
    time.sleep(SETTLE_S)
    notes = sinks.since(mark)
    hooks = _hooks(notes, "LinkDown", incident=incident)
    assert _firing_resolved(hooks) == (1, 1), [n.short() for n in notes]
    assert not _only(notes, {("LinkDown", incident)}), _only(notes, {("LinkDown", incident)})
    assert kind == {"link_down"}, "down for good after the churn: a down link, not a flap"
    assert [(a["labels"]["severity"], a["status"]["state"]) for a in alerts] == [("critical", "active")]
    firing = next(n for n in hooks if not n.resolved).payload["alerts"][0]
    assert firing["labels"]["severity"] == "critical" and firing["labels"]["alertname"] == "LinkDown"
    # while cut, the district router behind the port is silent: netmon's title says "line or device" (the first
    # notification may have gone out before netmon saw it silent, at the first bounce)
    assert [t for t in titles if "đường truyền hoặc thiết bị UBND Huyện Cầu Ngang" in t], titles
    assert {n.dest for n in notes if n.channel == "email"} == {NOC_MAIL, CAU_NGANG_MAIL}  # critical: e-mail too
    print(f"\ncut after churn: one critical LinkDown, resolved {hooks[-1].at - up_at:.1f} s after the cut ended")


def test_a_commune_down_before_its_district_is_one_outage_row_never_resolved_early(quiet_stack: Stack) -> None:
    from sqlalchemy import select

    from netmon.store import models as m
    from netmon.store.db import make_engine

    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    link = link_key(link_id("c3"))
    dist = device_key(BY_KEY["dist"].device_id)
    began = time.time()
    mark = sinks.mark()
    try:
        st.wan.uplink_down("c3")
        st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "LinkDown", incident=link))[0] == 1, 30,
                 "c3's LinkDown")
        time.sleep(5)
        st.wan.isolate("dist")
        st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "DeviceDown", incident=dist))[0] == 1, 30,
                 "the district's DeviceDown")
        time.sleep(SETTLE_S)
        st.wan.restore("dist")
        st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "DeviceDown", incident=dist))[1] == 1, 30,
                 "the district's resolve")
        time.sleep(SETTLE_S)
        early = _firing_resolved(_hooks(sinks.since(mark), "LinkDown", incident=link))
    finally:
        back_at = time.time()
        st.wan.uplink_up("c3")
        st.wan.restore("dist")
    st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "LinkDown", incident=link))[1] == 1,
             2 * INTERVAL_S + 25, "c3's resolve")
    time.sleep(SETTLE_S)
    notes = sinks.since(mark)
    assert early == (1, 0), "c3 was told resolved while its line was still cut"
    assert _firing_resolved(_hooks(notes, "LinkDown", incident=link)) == (1, 1)
    assert _firing_resolved(_hooks(notes, "DeviceDown", incident=dist)) == (1, 1)
    assert not _info(notes) and not _only(notes, {("LinkDown", link), ("DeviceDown", dist)})
    resolved_at = next(n.at for n in _hooks(notes, "LinkDown", incident=link) if n.resolved)
    assert resolved_at >= back_at
    engine = make_engine(st.database)
    try:
        with engine.connect() as conn:
            table = m.Outage.__table__  # type: ignore[attr-defined]
            rows = [r for r in conn.execute(select(table)) if r.started_at.timestamp() >= began - 1]
    finally:
        engine.dispose()
    assert sorted((r.object_id, r.ended_at is not None) for r in rows) == [
        (BY_KEY["dist"].device_id, True), (link_id("c3"), True)], rows  # one row each: c3's not split


@pytest.mark.timeout(600)  # each DeviceRebooted lasts ~2 minutes (the deployed rule, not scaled): ~5 minutes
def test_four_reboots_on_three_routers_are_four_messages(quiet_stack: Stack) -> None:
    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    routers = [BY_KEY[k].device_id for k in ("c1", "c2", "dist")]
    # sysUpTime must have run past the reboot rule's slack (60 s) for a restart to read as a reboot
    st.until(lambda: all((st.scalar(f'netmon_device_uptime_seconds{{device="{d}"}}') or 0) > 65 for d in routers), 90,
             "the agents up for over a minute")
    mark = sinks.mark()
    for key in ("c1", "c2", "dist"):
        st.wan.restart_agent(key)
        time.sleep(3)
    st.until(lambda: len(_hooks(sinks.since(mark), "DeviceRebooted")) == 3, 30, "three reboot messages")
    # the first one resolves (no message) ~2 minutes on; then the same router reboots again: a message of its own
    st.until(lambda: not st.query(f'ALERTS{{alertname="DeviceRebooted", device="{routers[0]}"}}'), 200,
             "c1's DeviceRebooted resolved")
    st.wan.restart_agent("c1")
    st.until(lambda: len(_hooks(sinks.since(mark), "DeviceRebooted")) == 4, 30, "the fourth reboot message")
    # every one resolves ~2 minutes after its reboot, and none of them says so (an event has no "resolved")
    st.until(lambda: not st.query('ALERTS{alertname="DeviceRebooted"}'), 200, "every DeviceRebooted resolved")
    time.sleep(SETTLE_S)
    notes = sinks.since(mark)
    hooks = _hooks(notes, "DeviceRebooted")
    assert _firing_resolved(hooks) == (4, 0), [n.short() for n in notes]
    assert [n.payload["groupLabels"]["device"] for n in hooks] == [*routers, routers[0]]
    assert all(len(n.payload["alerts"]) == 1 for n in hooks), "one reboot per message, none repeating another"
    telegram = Counter((n.dest, n.resolved) for n in notes if n.channel == "telegram")
    assert telegram == {(NOC_CHAT, False): 4, (CAU_NGANG_CHAT, False): 4}, telegram
    assert not _only(notes, {("DeviceRebooted", "")})
    assert all("vừa khởi động lại" in n.text for n in notes if n.channel == "telegram")


def test_netmon_cut_off_is_one_isolation_alert_and_no_device_alert(quiet_stack: Stack) -> None:
    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    mark = sinks.mark()
    cut_at = time.time()
    st.wan.cut_monitor("interface")  # netmon's own link: Prometheus and Alertmanager (local) are unaffected
    try:
        fired = st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "MonitoringCutOff"))[0] == 1, 40,
                         "the MonitoringCutOff notification")
        time.sleep(3 * INTERVAL_S + SETTLE_S)  # polls go on failing meanwhile
        device_alerts = [a["labels"] for name in ("DeviceDown", "LinkDown", "SiteUnreachable")
                         for a in st.am_alerts(name)]
        unknown = st.scalar('count(netmon_device_status{state="unknown"} == 1)')
    finally:
        back_at = time.time()
        st.wan.restore_monitor()
    st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "MonitoringCutOff"))[1] == 1, 40,
             "its resolve")
    time.sleep(SETTLE_S)
    notes = sinks.since(mark)
    hooks = _hooks(notes, "MonitoringCutOff", incident="netmon:path")
    assert _firing_resolved(hooks) == (1, 1), [n.short() for n in notes]
    assert not _only(notes, {("MonitoringCutOff", "netmon:path")}), "a device alert while netmon was cut off"
    assert device_alerts == [] and unknown == ROUTERS_N
    alert = next(n for n in hooks if not n.resolved).payload["alerts"][0]
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["title"].startswith("Mất giám sát: netmon mất đường kết nối tới mạng")
    tg = [n for n in notes if n.channel == "telegram"]
    assert tg and all("máy chủ giám sát netmon" in n.text for n in tg)
    print(f"\nnetmon cut off: paged {fired:.1f} s after its interface went down (at +{hooks[0].at - cut_at:.1f} s), "
          f"resolved at +{hooks[-1].at - back_at:.1f} s after it came back")


def test_ten_recoveries_in_a_row_leak_no_informational_alert(quiet_stack: Stack) -> None:
    """The race: an incident and the sites behind it resolve together; Alertmanager must never see them
    un-inhibited and firing. Five district routers off and back, five commune lines cut and back, in a row."""
    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    mark = sinks.mark()
    took = []
    for n in range(10):
        if n % 2 == 0:
            incident, name, fail, mend = device_key(BY_KEY["dist"].device_id), "DeviceDown", \
                lambda: st.wan.isolate("dist"), lambda: st.wan.restore("dist")
        else:
            incident, name, fail, mend = link_key(link_id("c1")), "LinkDown", \
                lambda: st.wan.uplink_down("c1"), lambda: st.wan.uplink_up("c1")
        before = _firing_resolved(_hooks(sinks.since(mark), name, incident=incident))
        start = time.time()
        fail()
        try:
            st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), name, incident=incident))[0] > before[0],  # noqa: B023
                     30, f"recovery {n + 1}: {name} firing")
            st.until(lambda: bool(st.am_alerts("SiteUnreachable")), 15, f"recovery {n + 1}: the sites behind it")
        finally:
            mend()
        st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), name, incident=incident))[1] > before[1],  # noqa: B023
                 30, f"recovery {n + 1}: {name} resolved")
        took.append(time.time() - start)
        st.until(lambda: not st.am_alerts("SiteUnreachable") or all(
            a["status"]["state"] == "suppressed" for a in st.am_alerts("SiteUnreachable")), 10, "quiet")
    time.sleep(SETTLE_S)
    notes = sinks.since(mark)
    assert _info(notes) == [], "informational alerts leaked"
    assert not any("SiteUnreachable" in n.text for n in notes)
    print(f"\n10 recoveries in {sum(took):.0f} s, 0 informational alerts leaked")


@pytest.mark.timeout(900)  # 10 minutes of outage, and PollerBehind's `for: 5m` is not scaled either
def test_a_ten_minute_outage_fires_no_poller_behind(quiet_stack: Stack) -> None:
    """A commune router dead for 10 minutes, in the last slice of the cycle: its polls time out in every cycle
    and its batch runs into the next cycle's first one; PollerBehind, on lag that matters (skipped batches, late
    starts), never fires."""
    from netmon.service import slice_of

    st, sinks = quiet_stack, quiet_stack.sinks
    assert sinks is not None
    # the dead router in the last slice of the cycle: its timeout stretches every cycle past the interval
    victim = next(k for k in COMMUNES if slice_of(BY_KEY[k].device_id, SLICES) == SLICES - 1)
    incident = device_key(BY_KEY[victim].device_id)
    mark = sinks.mark()
    st.wan.isolate(victim)
    try:
        st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "DeviceDown", incident=incident))[0] == 1, 30,
                 "the DeviceDown")
        deadline = time.monotonic() + 600
        pending = 0.0
        while time.monotonic() < deadline:
            assert not st.query('ALERTS{alertname="PollerBehind", alertstate="firing"}'), "PollerBehind fired"
            pending += 5.0 if st.query('ALERTS{alertname="PollerBehind"}') else 0.0
            time.sleep(5)
        old_rule = st.scalar('avg_over_time((max(netmon_poller_cycle_duration_seconds{class="routers"}) '
                             '> bool max(netmon_poller_interval_seconds{class="routers"}))[9m:5s])')
        skipped = st.scalar('sum(increase(netmon_poller_skipped_batches_total{class="routers"}[10m]))')
        lag = st.scalar('max(max_over_time(netmon_poller_lag_seconds{class="routers"}[10m]))')
    finally:
        st.wan.restore(victim)
    st.until(lambda: _firing_resolved(_hooks(sinks.since(mark), "DeviceDown", incident=incident))[1] == 1, 30,
             "its resolve")
    time.sleep(SETTLE_S)
    notes = sinks.since(mark)
    assert not _hooks(notes, "PollerBehind") and not any("PollerBehind" in n.text for n in notes)
    assert not _only(notes, {("DeviceDown", incident)})
    print(f"\n10-minute outage of {BY_KEY[victim].device_id}: PollerBehind never fired (pending ~{pending:.0f} s); "
          f"cycle > interval {100 * (old_rule or 0):.0f} % of the time, {skipped or 0:.0f} batches skipped, "
          f"lag at most {lag or 0:.2f} s")
