"""Alertmanager's shipped ``webhook`` route really reaches netmon: a real ``netmon run`` and Debian's
``prometheus-alertmanager`` started by the shipped ``deploy/alertmanager/entrypoint.sh`` on a copy of the shipped
``alertmanager.yml`` — only the host of the webhook URL (``netmon:9750`` → this netmon's port) and the group timings
change; the path ``/alertmanager-webhook``, the routes and the receivers are the shipped ones.

An info alert (``SiteUnreachable``, the route that goes to the webhook only) posted to Alertmanager's API arrives
at netmon: a 200, one log line naming it, and ``netmon_alertmanager_alerts_total`` on /metrics. Before the
endpoint existed this notification answered 404 and reached nobody.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from mini import MINI, MINI_SECRETS
from netmon_process import Running, start_netmon, wait_for
from requirements import require_tool
from simulated import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_URL = "http://netmon:9750/alertmanager-webhook"


@pytest.fixture(scope="module")
def netmon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("netmon")
    inventory = tmp / "inv"
    shutil.copytree(MINI, inventory)
    profiles = inventory / "profiles.yaml"  # the mini's v3 key is a file that does not exist here
    profiles.write_text(profiles.read_text(encoding="utf-8").replace("file:/etc/netmon/snmp-priv.key",
                                                                     "env:NETMON_SNMP_PRIV_KEY"), encoding="utf-8")
    running = start_netmon(inventory, f"sqlite:///{tmp / 'netmon.db'}", tmp,
                           env={**MINI_SECRETS, "NETMON_SNMP_PRIV_KEY": "mini-priv-key"}, ready_within=120)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def alertmanager(netmon: Running, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = require_tool("prometheus-alertmanager", "prometheus-alertmanager")
    amtool = require_tool("amtool", "prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("alertmanager")
    config_dir = tmp / "config"
    shutil.copytree(ROOT / "deploy" / "alertmanager", config_dir)
    conf = config_dir / "alertmanager.yml"
    cfg = yaml.safe_load(conf.read_text(encoding="utf-8"))
    cfg["route"].update(group_wait="1s", group_interval="1s")
    (tmp / "smtp_password").write_text("not-used\n")
    cfg["global"]["smtp_auth_password_file"] = str(tmp / "smtp_password")
    hooks = [hook for r in cfg["receivers"] for hook in r.get("webhook_configs", [])]
    assert hooks and {h["url"] for h in hooks} == {SHIPPED_URL}
    for hook in hooks:
        hook["url"] = SHIPPED_URL.replace("netmon:9750", f"127.0.0.1:{netmon.port}")
    conf.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    subprocess.run([amtool, "check-config", str(conf)], check=True, capture_output=True)
    port = free_port(socket.SOCK_STREAM)
    log = (tmp / "alertmanager.log").open("wb")
    proc = subprocess.Popen(
        ["sh", str(config_dir / "entrypoint.sh"), f"--storage.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        env={**os.environ, "ALERTMANAGER_CONFIG": str(conf), "ALERTMANAGER_BIN": binary,
             "TELEGRAM_BOT_TOKEN_FILE": str(tmp / "no-token"), "ALERTMANAGER_RUNTIME_DIR": str(tmp / "runtime")},
        stdout=log, stderr=subprocess.STDOUT)

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_for(lambda: proc.poll() is not None or ready(), 30, "Alertmanager ready")
        assert proc.poll() is None, (tmp / "alertmanager.log").read_text()[-3000:]
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def test_alertmanager_delivers_an_info_notification_to_netmons_endpoint(netmon: Running, alertmanager: int) -> None:
    alert = [{"labels": {"alertname": "SiteUnreachable", "severity": "info", "incident": "device:rt-cau-ngang",
                         "site": "ubnd-my-long-bac", "district_name": "Huyện Cầu Ngang"},
              "annotations": {"summary": "UBND xã Mỹ Long Bắc không tới được: router huyện Cầu Ngang mất kết nối"}}]
    request = urllib.request.Request(f"http://127.0.0.1:{alertmanager}/api/v2/alerts", method="POST",
                                     data=json.dumps(alert).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200

    def delivered() -> float | None:
        return netmon.value("netmon_alertmanager_alerts_total", status="firing", alertname="SiteUnreachable",
                            severity="info")

    assert wait_for(delivered, 30, "the notification at netmon's /alertmanager-webhook") == 1
    line = "firing SiteUnreachable (info) incident=device:rt-cau-ngang site=ubnd-my-long-bac"
    assert wait_for(lambda: line in netmon.log_text(), 10, "the log line")
    assert netmon.value("netmon_alertmanager_webhook_rejected_total") == 0


def test_the_endpoint_answers_only_a_post(netmon: Running) -> None:
    status, _ = netmon.get("/alertmanager-webhook")
    assert status == 405


def test_status_reads_the_running_netmon_and_its_database(netmon: Running) -> None:
    """``netmon status`` on a running netmon: its /metrics (last poll per class, traps) and its database."""
    env = {**os.environ, **MINI_SECRETS, "NETMON_LANG": "en"}
    wait_for(lambda: netmon.value("netmon_poller_last_batch_timestamp_seconds", **{"class": "routers"}), 30,
             "a scheduled batch of routers")
    proc = subprocess.run([sys.executable, "-m", "netmon", "status", str(netmon.log.parent / "inv"), "--database",
                           netmon.db_url, "--url", f"http://127.0.0.1:{netmon.port}/metrics", "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["inventory"]["counts"]["sites"] == 5
    assert report["database"]["ok"] and report["database"]["last_run"]["state"] == "running"
    service = report["service"]
    assert service["ok"] and service["ready"]
    assert {"routers", "base_stations"} <= set(service["classes"])
    assert 0 <= service["classes"]["routers"]["last_poll_age_s"] < 30
    assert service["traps"] == {"accepted": 0, "dropped": 0}
    table = subprocess.run([sys.executable, "-m", "netmon", "status", str(netmon.log.parent / "inv"), "--database",
                            netmon.db_url, "--url", f"http://127.0.0.1:{netmon.port}/metrics"],
                           capture_output=True, text=True, env=env, timeout=60, check=False)
    assert table.returncode == 0 and "running at http://127.0.0.1:" in table.stdout, table.stdout
    assert "poll routers" in table.stdout and "NOT" not in table.stdout
