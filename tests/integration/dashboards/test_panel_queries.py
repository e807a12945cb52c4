"""Every panel query of every dashboard (``dashboards/*.json``) returns data from a real Prometheus.

The stack, once per module (~40 s to a steady state):

* ``netmon simulate`` on a port-shifted copy of the sample inventory (``tests/simulated.py``);
* ``netmon run`` polling it with short intervals (as ``tests/e2e/test_service.py`` does);
* Debian's ``prometheus`` with a temporary config: job ``netmon`` scraped every 2 s, the repo's rule files
  (``deploy/prometheus/rules/*.rules.yml``, so ``netmon:*`` recorded series exist), temp storage;
* then a district router (Huyện Trà Cú) and a Viettel base station of Huyện Cầu Ngang are switched off in
  the simulator, so the incident, unreachable-site and outage panels have something to show.

All of it runs in a private network namespace of its own, with ``NETMON_ICMP=true``.  Why not the host's
namespace with ``NETMON_ICMP=false`` (as test_service.py does): netmon then exports no ICMP series at all,
so the RTT / loss panels would be empty — which this test must fail.  In a private namespace the simulator
blackholes the addresses of the devices it switches off, so they fail ICMP as well as SNMP, exactly like a
dead router (the demo and the outage tests work the same way).  The test talks to Prometheus from a thread
that has entered that namespace; nothing is added to the host's network.

Each query is sent with the dashboard's template variables replaced by real values (district Huyện Cầu
Ngang, a commune site and its router, operator Viettel; and ``.*`` for variables that offer "All") and the
Grafana macros ``$__rate_interval``, ``$__interval``, ``$__range``, ``$__range_s`` replaced.  Instant targets go
to ``/api/v1/query``, range targets to ``/api/v1/query_range``; an error or an empty result fails.  The
template variable queries themselves (``label_values``, ``query_result``) are checked too.

Needs root, iproute2 and Debian's ``prometheus``; without them the module is skipped, except under ``CI=true``.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from requirements import unavailable
from simulated import SIM_ENV, SimProcess, free_port, start_simulator

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules"
CLONE_NEWNET = 0x40000000

DISTRICT = "Huyện Cầu Ngang"
SITE = "ubnd-xa-my-hoa-29428"  # UBND Xã Mỹ Hòa, a commune of Huyện Cầu Ngang
DEVICE = "rt-ubnd-xa-my-hoa-29428"
OPERATOR = "Viettel"
DEAD_DISTRICT_ROUTER = "rt-ubnd-huyen-tra-cu"  # Huyện Trà Cú: one critical incident, its communes unreachable
VALUES = {"district": DISTRICT, "site": SITE, "device": DEVICE, "operator": OPERATOR,
          "datasource": "netmon-prometheus"}  # the ${datasource} variable: the provisioned Prometheus
MACROS = {"$__rate_interval": "20s", "$__interval": "10s", "$__range_s": "300", "$__range": "5m"}
SCRAPE_S = 2
RANGE_S = 120  # range queries: the last two minutes
RETRY_S = 8.0  # an instant query right after a slow scrape (stale markers) is retried this long


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "a private network namespace needs root"
    for tool, package in (("ip", "iproute2"), ("prometheus", "prometheus")):
        if shutil.which(tool) is None:
            return f"{tool} not installed (apt-get install {package}; scripts/setup does it)"
    return None


# ------------------------------------------------------------------------------------- the namespace
def _enter(name: str) -> None:
    """Move the calling thread (only it) into network namespace ``name``."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


class Netns:
    """A named network namespace with loopback up; HTTP into it from one thread that lives there."""

    def __init__(self, name: str) -> None:
        self.name = name
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        try:
            subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)
            raise
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"in-{name}", initializer=_enter, initargs=(name,))

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def get(self, url: str, timeout: float = 30) -> tuple[int, bytes]:
        def fetch() -> tuple[int, bytes]:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()
            except OSError:
                return 0, b""

        return self._pool.submit(fetch).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        subprocess.run(["ip", "netns", "delete", self.name], check=False, capture_output=True)


# ------------------------------------------------------------------------------------------ the stack
@dataclass
class Stack:
    ns: Netns
    prom_port: int
    netmon_port: int
    sim: SimProcess
    procs: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    dead_bts: str = ""

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        query = urllib.parse.urlencode(params, doseq=True)
        status, body = self.ns.get(f"http://127.0.0.1:{self.prom_port}{path}?{query}")
        if not body:
            return {"status": "error", "error": f"HTTP {status}, no body"}
        result: dict[str, Any] = json.loads(body)
        return result

    def instant(self, expr: str) -> dict[str, Any]:
        return self.api("/api/v1/query", query=expr, time=f"{time.time():.3f}")

    def range(self, expr: str) -> dict[str, Any]:
        now = time.time()
        return self.api("/api/v1/query_range", query=expr, start=f"{now - RANGE_S:.3f}", end=f"{now:.3f}",
                        step=str(SCRAPE_S * 2))

    def tail(self) -> str:
        return "\n".join(f"--- {name}\n{path.read_text(errors='replace')[-1500:]}"
                         for name, path in self.logs.items() if path.exists())


def _wait(what: str, predicate: Callable[[], bool], timeout: float, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for name, proc in stack.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited ({proc.returncode}) while waiting for {what}\n{stack.tail()}")
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{stack.tail()}")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _pick_bts(inventory: Path) -> str:
    """A Viettel base station of Huyện Cầu Ngang with a management address (the filtered BTS panels)."""
    from netmon.inventory.load import load_inventory

    inv = load_inventory(inventory)
    codes = {code for code, d in inv.districts.items() if d.name == DISTRICT}
    return next(b.id for b in inv.base_stations.values()
                if b.district in codes and b.operator.value == OPERATOR and b.mgmt is not None)


def _has(stack: Stack, expr: str) -> bool:
    r = stack.instant(expr)
    return r.get("status") == "success" and bool(r["data"]["result"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = _missing()
    if reason:
        unavailable(reason)
    tmp = tmp_path_factory.mktemp("dashboards")
    procs: dict[str, subprocess.Popen[str]] = {}
    sim: SimProcess | None = None
    ns: Netns | None = None
    try:
        ns = Netns(f"netmon-dash-{os.getpid()}")
        sim = start_simulator(tmp, prefix=ns.prefix)  # port-shifted copy of the sample inventory
        netmon_port, prom_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
        st = Stack(ns, prom_port, netmon_port, sim, procs, dead_bts=_pick_bts(sim.inventory))
        # Short intervals, but with headroom: a scrape renders ~70,000 lines while the poller runs, and on a
        # 2-core machine the render must stay well under the 2 s scrape timeout.
        env = {**os.environ, **SIM_ENV, "NETMON_ROUTER_INTERVAL_S": "10", "NETMON_BTS_INTERVAL_S": "30",
               "NETMON_SLICES": "5", "NETMON_CONFIRM_AFTER_S": "1", "NETMON_ICMP": "true", "NETMON_ICMP_COUNT": "1"}
        st.logs["netmon"] = tmp / "netmon.log"
        with st.logs["netmon"].open("w") as out:
            procs["netmon"] = subprocess.Popen(
                [*ns.prefix, sys.executable, "-m", "netmon", "run", str(sim.inventory),
                 "--database", f"sqlite:///{tmp / 'netmon.db'}", "--listen", f"127.0.0.1:{netmon_port}",
                 "--traps", f"127.0.0.1:{free_port()}"],
                stdout=out, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp)
        config = tmp / "prometheus.yml"
        config.write_text(
            f"global:\n  scrape_interval: {SCRAPE_S}s\n  scrape_timeout: {SCRAPE_S}s\n"
            f"  evaluation_interval: {SCRAPE_S}s\n"
            f"rule_files:\n  - {RULES}/*.rules.yml\n"
            "scrape_configs:\n  - job_name: netmon\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{netmon_port}']\n", encoding="utf-8")
        st.logs["prometheus"] = tmp / "prometheus.log"
        with st.logs["prometheus"].open("w") as out:
            procs["prometheus"] = subprocess.Popen(
                [*ns.prefix, "prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                stdout=out, stderr=subprocess.STDOUT, text=True, cwd=tmp)

        _wait("netmon /readyz", lambda: ns.get(f"http://127.0.0.1:{netmon_port}/readyz")[0] == 200, 120, st)
        sim.send(action="device_down", device=DEAD_DISTRICT_ROUTER)
        sim.send(action="device_down", device=st.dead_bts)
        steady = [
            f'netmon_incident_open{{incident="device:{DEAD_DISTRICT_ROUTER}"}}',
            f'netmon_incident_open{{kind="bts_down", device="{st.dead_bts}"}}',
            "netmon_device_unreachable",
            f'netmon_icmp_rtt_seconds{{device="{DEVICE}"}}',
            "count(netmon:site:state_code) == 150",
            "count(netmon:base_station:state_code) == 1222",
            f'netmon:interface_utilization:ratio_rate5m{{device="{DEVICE}"}}',
            'netmon:uplink:info{district_name="Huyện Cầu Ngang"}',
        ]
        _wait("the incidents and recorded series in Prometheus", lambda: all(_has(st, e) for e in steady), 120, st)
        yield st
    finally:
        for proc in reversed(list(procs.values())):
            _stop(proc)
        if sim is not None:
            sim.stop()
        if ns is not None:
            ns.close()


# ------------------------------------------------------------------------------------------ the tests
def _dashboards() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows keep their panels inside


def _variable_values(dashboard: dict[str, Any]) -> list[dict[str, str]]:
    """The real values, and ``.*`` (Grafana's "All" here) for each variable that offers All."""
    variables = dashboard.get("templating", {}).get("list", [])
    concrete = {v["name"]: VALUES[v["name"]] for v in variables}
    all_ = {v["name"]: v.get("allValue") or ".*" for v in variables if v.get("includeAll")}
    return [concrete, {**concrete, **all_}] if all_ else [concrete]


def substitute(expr: str, values: dict[str, str]) -> str:
    for macro, value in MACROS.items():
        expr = expr.replace(macro, value)
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return expr


def _run(stack: Stack, expr: str, instant: bool) -> str | None:
    """None when the query returns data; else why not (after retrying an empty instant result briefly)."""
    deadline = time.monotonic() + RETRY_S
    while True:
        r = stack.instant(expr) if instant else stack.range(expr)
        if r.get("status") != "success":
            return f"{r.get('errorType', 'error')}: {r.get('error')}"
        result = r["data"]["result"]
        if result and (instant or any(series.get("values") for series in result)):
            return None
        if time.monotonic() > deadline:
            return "empty result"
        time.sleep(1)


@pytest.mark.parametrize("path", _dashboards(), ids=lambda p: p.stem)
def test_every_panel_query_returns_data(stack: Stack, path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    failures: list[str] = []
    checked = 0
    for values in _variable_values(dashboard):
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                if target.get("hide"):
                    continue
                expr = substitute(target["expr"], values)
                if "$" in expr:
                    failures.append(f"«{panel['title']}» {target['refId']}: unknown variable or macro\n    {expr}")
                    continue
                kinds = [k for k in ("instant", "range") if target.get(k)] or ["range"]
                for kind in kinds:
                    checked += 1
                    why = _run(stack, expr, kind == "instant")
                    if why:
                        failures.append(f"«{panel['title']}» {target['refId']} ({kind}, {values}): {why}\n    {expr}")
    assert checked, f"{path.name}: no panel query at all"
    assert not failures, f"{path.name}: {len(failures)} of {checked} queries failed:\n" + "\n".join(failures)


LABEL_VALUES = re.compile(r"^label_values\((?:(?P<match>.+),\s*)?(?P<label>\w+)\)$", re.S)
QUERY_RESULT = re.compile(r"^query_result\((?P<expr>.+)\)$", re.S)


def _grafana_line(sample: dict[str, Any]) -> str:
    """A query_result() line as Grafana shows it to the variable's regex: name{a="b",…} value timestamp."""
    metric = dict(sample["metric"])
    name = metric.pop("__name__", "")
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()))
    return f"{name}{{{labels}}} {sample['value'][1]} {int(float(sample['value'][0]) * 1000)}"


@pytest.mark.parametrize("path", _dashboards(), ids=lambda p: p.stem)
def test_template_variables_offer_the_values_used(stack: Stack, path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    variables = dashboard.get("templating", {}).get("list", [])
    for values in _variable_values(dashboard):
        for var in variables:
            if var["type"] == "datasource":  # offers Grafana's datasources of a type, not series
                continue
            query = var["query"] if isinstance(var["query"], str) else var["query"]["query"]
            query = substitute(query, values)
            if m := LABEL_VALUES.match(query):
                params: dict[str, Any] = {"match[]": m["match"]} if m["match"] else {}
                r = stack.api(f"/api/v1/label/{m['label']}/values", **params)
                assert r.get("status") == "success", (var["name"], query, r)
                offered = set(r["data"])
            elif m := QUERY_RESULT.match(query):
                r = stack.instant(m["expr"])
                assert r.get("status") == "success", (var["name"], query, r)
                lines = [_grafana_line(s) for s in r["data"]["result"]]
                regex = var.get("regex", "").strip("/").replace("(?<", "(?P<")
                offered = set()
                for line in lines:
                    found = re.search(regex, line) if regex else None
                    if found:
                        offered.add(found.groupdict().get("value") or found.group(0))
            else:
                pytest.fail(f"{path.name}: variable {var['name']}: query not understood: {query}")
            wanted = VALUES[var["name"]]
            assert wanted in offered, f"{var['name']}: {wanted!r} not in {sorted(offered)[:20]}"
