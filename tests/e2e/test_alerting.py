"""End to end: real snmpd agents → ``netmon run`` → a real Prometheus → a real Alertmanager → sinks in the test.

The WAN of network namespaces from ``tests/netns_topology.py`` (noc ↔ core ↔ district ↔ 3 communes, net-snmp
``snmpd`` in each router). Everything else runs inside the ``noc`` namespace and talks over its own 127.0.0.1:

* ``netmon run`` (router interval 3 s, one slice, confirm after 1 s, traps on 10.250.0.1:1162), /metrics on :9750,
  on PostgreSQL (a private server, reached through its Unix socket);
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
one resolved when snmpd runs again. A minute or two in all.
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
        env.update(self.wan.env(), NETMON_ROUTER_INTERVAL_S=str(INTERVAL_S), NETMON_SLICES="1",
                   NETMON_CONFIRM_AFTER_S="1", NETMON_ICMP="true", NETMON_ICMP_COUNT="2", NETMON_HEARTBEAT_S="1")
        self._spawn("netmon", [sys.executable, "-m", "netmon", "run", str(inventory),
                               "--database", self.database,
                               "--listen", f"127.0.0.1:{NETMON_PORT}", "--traps", f"{NOC_ADDR}:{self.wan.trap_port}",
                               "--duration", "900"], env=env)
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

        Except PollerBehind pending: netmon's ``netmon_poller_cycle_duration_seconds`` is the start-to-start
        period of a full pass, i.e. the interval ± scheduler jitter, so ``cycle > interval`` holds about every
        other cycle on a healthy poller (``for: 5m`` keeps it from firing in this short test).
        """
        return (self.scalar('count(netmon_device_status{state="up"} == 1)') == ROUTERS_N
                and self.scalar('count(netmon_link_status{state="up"} == 1)') == LINKS_N
                and self.scalar("count(netmon:device:info)") == ROUTERS_N
                and not self.query('ALERTS unless ALERTS{alertname="PollerBehind", alertstate="pending"}'))


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
    assert (labels["alertname"], labels["kind"], labels["severity"]) == ("LinkDown", "link_down", "warning")
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
    assert (labels["alertname"], labels["kind"], labels["severity"], labels["device"]) == (
        "DeviceDown", "device_down", "critical", dist.device_id)
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
    assert alerts <= {"DeviceBlind", "PollerBehind"}, alerts  # no DeviceDown, no SiteUnreachable, no LinkDown
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
