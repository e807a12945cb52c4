"""The Prometheus + Alertmanager configuration netmon ships (``deploy/``), proven with the real tools.

promtool 2.42 and amtool / prometheus-alertmanager 0.25 (Debian packages ``prometheus`` and
``prometheus-alertmanager``): ``promtool check config|rules``, ``promtool test rules`` (the rule unit
tests in ``deploy/prometheus/tests/``), ``amtool check-config``, ``amtool config routes test`` for the
routing tree, ``amtool template render`` for the Vietnamese messages, and one real Alertmanager on a
loopback port for the inhibition rules (amtool cannot evaluate those offline). All offline, < 5 s.

Without the binaries the tests are skipped with the reason, except under ``CI=true``: CI fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from requirements import require_tool

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
PROM_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "rules" / "netmon.rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "tests" / "netmon.rules.test.yml"
AM_DIR = DEPLOY / "alertmanager"
AM_CONFIG = AM_DIR / "alertmanager.yml"
ENTRYPOINT = AM_DIR / "entrypoint.sh"

CAU_NGANG = "Huyện Cầu Ngang"
TRA_CU = "Huyện Trà Cú"
CANG_LONG = "Huyện Càng Long"  # a district without its own route: falls back to the provincial NOC


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_tool("promtool", "prometheus")


@pytest.fixture(scope="module")
def amtool() -> str:
    return require_tool("amtool", "prometheus-alertmanager")


def _run(*args: str, ok: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=30, **kw)
    if ok:
        assert proc.returncode == 0, f"{' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


# ============================================================================ Prometheus
def test_promtool_check_config(promtool: str) -> None:
    out = _run(promtool, "check", "config", str(PROM_CONFIG)).stdout
    shipped = len(list((PROM_CONFIG.parent / "rules").glob("*.rules.yml")))
    assert f"SUCCESS: {shipped} rule files found" in out  # rule_files resolved relative to the config file


def test_promtool_check_cluster_config(promtool: str) -> None:
    """The several-pollers variant: the same rules, the pollers found through netmon's /sd (http_sd)."""
    config = PROM_CONFIG.with_name("prometheus-cluster.yml")
    out = _run(promtool, "check", "config", str(config)).stdout
    assert "SUCCESS" in out
    cfg = yaml.safe_load(config.read_text(encoding="utf-8"))
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert all(sd["url"].endswith(":9750/sd") for sd in jobs["netmon"]["http_sd_configs"])
    assert cfg["rule_files"] == ["rules/*.rules.yml"]


def test_prometheus_config_contents() -> None:
    cfg = yaml.safe_load(PROM_CONFIG.read_text(encoding="utf-8"))
    assert cfg["global"]["scrape_interval"] == "30s"
    assert cfg["global"]["external_labels"] == {"province": "Trà Vinh"}
    assert cfg["rule_files"] == ["rules/*.rules.yml"]
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert jobs["netmon"]["static_configs"] == [{"targets": ["netmon:9750"]}]
    assert cfg["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    # targets on single lines, so a deployment / the e2e test can rewrite them with sed
    text = PROM_CONFIG.read_text(encoding="utf-8")
    assert re.search(r'^\s*- targets: \["netmon:9750"\]$', text, re.M)
    assert re.search(r'^\s*- targets: \["alertmanager:9093"\]$', text, re.M)


def test_prometheus_config_rewritten_to_loopback(promtool: str, tmp_path: Path) -> None:
    """What the e2e test does: copy the folder, point the targets at 127.0.0.1 ports."""
    dest = tmp_path / "prometheus"
    shutil.copytree(DEPLOY / "prometheus", dest)
    conf = dest / "prometheus.yml"
    text = conf.read_text(encoding="utf-8")
    text = text.replace("netmon:9750", "127.0.0.1:19750").replace("alertmanager:9093", "127.0.0.1:19093")
    conf.write_text(text, encoding="utf-8")
    _run(promtool, "check", "config", str(conf))
    cfg = yaml.safe_load(text)
    assert cfg["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:19750"]


def test_promtool_check_rules(promtool: str) -> None:
    out = _run(promtool, "check", "rules", str(RULES)).stdout
    assert "SUCCESS" in out


def test_promtool_rule_unit_tests(promtool: str) -> None:
    proc = _run(promtool, "test", "rules", str(RULE_TESTS), ok=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


EXPECTED_ALERTS = {
    "PollerDown",
    "PollerUnscraped",
    "LinkDown",
    "DeviceDown",
    "SiteUnreachable",
    "IncidentInhibitor",
    "MonitoringCutOff",
    "HighUtilization",
    "InterfaceErrors",
    "DeviceRebooted",
    "DeviceBlind",
    "PollerBehind",
    "NetmonDown",
    "NetmonDatabaseDown",
}


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [r for g in doc["groups"] for r in g["rules"]]


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    alerts = {r["alert"] for r in _rules() if "alert" in r}
    assert alerts == EXPECTED_ALERTS
    doc = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    firing: set[str] = set()
    quiet: set[str] = set()
    for group in doc["tests"]:
        for t in group.get("alert_rule_test", []):
            (firing if t.get("exp_alerts") else quiet).add(t["alertname"])
    assert firing == alerts, f"no firing test for {alerts - firing}"
    assert quiet == alerts, f"no not-firing/resolved test for {alerts - quiet}"


def test_incident_alerts_pass_netmon_through() -> None:
    """for: 0s (netmon debounces), severity from the incident, Vietnamese annotations incl. title."""
    by_name = {r["alert"]: r for r in _rules() if "alert" in r}
    for name in ("LinkDown", "DeviceDown", "MonitoringCutOff", "SiteUnreachable"):
        rule = by_name[name]
        assert rule["for"] == "0s"
        assert {"title", "since", "summary", "description"} <= set(rule["annotations"])
    for name in ("LinkDown", "DeviceDown", "MonitoringCutOff"):
        assert "severity" not in by_name[name].get("labels", {})  # taken from netmon_incident_open
    # an incident's alert identity never holds what changes while it lasts (a label change = a second page)
    held = next(r for r in _rules() if r.get("record") == "netmon:incident_open:held")
    by = held["expr"].split("max by (", 1)[1].split(")", 1)[0]
    assert {x.strip() for x in by.split(",")} == {"incident", "severity", "device", "link", "site", "site_name",
                                                   "district", "district_name"}
    assert by_name["IncidentInhibitor"]["keep_firing_for"] == "1m"
    assert by_name["SiteUnreachable"]["labels"] == {"severity": "info"}
    assert by_name["HighUtilization"]["for"] == "10m"
    assert by_name["InterfaceErrors"]["for"] == "10m"
    assert by_name["PollerBehind"]["for"] == "5m"
    assert by_name["NetmonDown"]["for"] == "1m"


# ============================================================================ Alertmanager
def test_amtool_check_config(amtool: str) -> None:
    out = _run(amtool, "check-config", str(AM_CONFIG)).stdout
    assert "SUCCESS" in out
    assert "5 inhibit rules" in out
    assert "1 templates" in out


ROUTES = [
    pytest.param(
        {
            "alertname": "DeviceDown",
            "severity": "critical",
            "kind": "device_down",
            "incident": "device:rt-ubnd-huyen-cau-ngang",
            "district_name": CAU_NGANG,
        },
        "cau-ngang-critical,noc-critical",
        id="critical-district-incident-own-team+noc",
    ),
    pytest.param(
        {
            "alertname": "DeviceDown",
            "severity": "critical",
            "kind": "device_down",
            "incident": "device:rt-ubnd-huyen-cang-long",
            "district_name": CANG_LONG,
        },
        "noc-critical",
        id="critical-other-district-falls-back-to-noc",
    ),
    pytest.param(
        {
            "alertname": "DeviceDown",
            "severity": "critical",
            "kind": "device_down",
            "incident": "device:rt-ubnd-huyen-tra-cu",
            "district_name": TRA_CU,
        },
        "tra-cu-critical,noc-critical",
        id="critical-second-district",
    ),
    pytest.param(
        {
            "alertname": "LinkDown",
            "severity": "warning",
            "kind": "link_down",
            "incident": "link:cl-an-truong-uplink",
            "district_name": CANG_LONG,
        },
        "noc-warning",
        id="warning-commune",
    ),
    pytest.param(
        {
            "alertname": "LinkDown",
            "severity": "warning",
            "incident": "link:tc-ngai-xuyen-uplink",
            "district_name": TRA_CU,
        },
        "tra-cu-warning,noc-warning",
        id="warning-district-route",
    ),
    pytest.param(
        {"alertname": "DeviceRebooted", "severity": "warning", "device": "rt-ubnd-huyen-tra-cu",
         "district_name": TRA_CU},
        "tra-cu-event,noc-event",
        id="reboot-event-district-team+noc",
    ),
    pytest.param(
        {"alertname": "DeviceRebooted", "severity": "warning", "device": "rt-ubnd-huyen-cang-long",
         "district_name": CANG_LONG},
        "noc-event",
        id="reboot-event-noc",
    ),
    pytest.param(
        {"alertname": "IncidentInhibitor", "severity": "none", "incident": "device:rt-ubnd-huyen-cau-ngang",
         "district_name": CAU_NGANG},
        "inhibit-only",
        id="inhibitor-sends-nothing",
    ),
    pytest.param(
        {"alertname": "MonitoringCutOff", "severity": "critical", "incident": "netmon:path"},
        "noc-critical",
        id="monitoring-cut-off",
    ),
    pytest.param(
        {
            "alertname": "SiteUnreachable",
            "severity": "info",
            "incident": "device:rt-ubnd-huyen-cau-ngang",
            "district_name": CAU_NGANG,
        },
        "webhook",
        id="info-webhook-only-even-in-a-routed-district",
    ),
    pytest.param(
        {"alertname": "DeviceBlind", "severity": "warning", "device": "rt-ubnd-xa-hiep-hoa-29410",
         "district_name": CAU_NGANG},
        "cau-ngang-warning,noc-warning",
        id="blind-warning-own-team+noc",
    ),
    pytest.param(
        {"alertname": "NetmonDown", "severity": "critical", "job": "netmon"}, "noc-critical", id="netmon-down"
    ),
    pytest.param({"alertname": "Unexpected"}, "noc-warning", id="no-severity-falls-back-to-noc"),
]


@pytest.mark.parametrize(("labels", "receivers"), ROUTES)
def test_amtool_routes(amtool: str, labels: dict[str, str], receivers: str) -> None:
    args = [f'{k}="{v}"' for k, v in labels.items()]
    proc = _run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={AM_CONFIG}",
        f"--verify.receivers={receivers}",
        *args,
        ok=False,
    )
    assert proc.stdout.strip() == receivers, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _am_config() -> dict[str, Any]:
    cfg: dict[str, Any] = yaml.safe_load(AM_CONFIG.read_text(encoding="utf-8"))
    return cfg


def test_receivers_channels_by_severity() -> None:
    """critical -> all channels; warning -> webhook + Telegram; info -> webhook only."""
    channels = {
        r["name"]: {k.removesuffix("_configs") for k in r if k.endswith("_configs")} for r in _am_config()["receivers"]
    }
    assert channels["noc-critical"] == {"webhook", "email", "telegram"}
    assert channels["noc-warning"] == channels["noc-event"] == {"webhook", "telegram"}
    assert channels["webhook"] == {"webhook"}
    assert channels["inhibit-only"] == set()
    for district in ("cau-ngang", "tra-cu"):
        assert channels[f"{district}-critical"] == {"email", "telegram"}
        assert channels[f"{district}-warning"] == channels[f"{district}-event"] == {"telegram"}
    # events (a reboot) send no "resolved"; everything else does
    for r in _am_config()["receivers"]:
        for key, configs in r.items():
            if key.endswith("_configs"):
                assert all(c["send_resolved"] is (not r["name"].endswith("-event")) for c in configs), r["name"]


def test_route_grouping_and_inhibitions() -> None:
    cfg = _am_config()
    route = cfg["route"]
    assert route["group_by"] == ["alertname", "incident"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("10s", "1m", "4h")
    reboots = next(r for r in route["routes"] if r["matchers"] == ['alertname="DeviceRebooted"'])
    assert reboots["group_by"] == ["alertname", "device"]  # one reboot never re-sends another device's
    inhibit = cfg["inhibit_rules"]
    assert {
        "source_matchers": ['alertname=~"DeviceDown|LinkDown|IncidentInhibitor"'],
        "target_matchers": ['alertname="SiteUnreachable"'],
        "equal": ["incident"],
    } in inhibit
    assert {
        "source_matchers": ['alertname="MonitoringCutOff"'],
        "target_matchers": ['alertname!~"MonitoringCutOff|NetmonDown"'],
    } in inhibit
    assert {
        "source_matchers": ['alertname=~"DeviceDown|SiteUnreachable"'],
        "target_matchers": ['alertname="DeviceBlind"'],
        "equal": ["device"],
    } in inhibit


def test_no_literal_secrets() -> None:
    text = AM_CONFIG.read_text(encoding="utf-8")
    cfg = _am_config()
    assert cfg["global"]["smtp_auth_password_file"].startswith("/run/secrets/")
    assert not re.search(r"^\s*(smtp_)?auth_password:", text, re.M)
    for receiver in cfg["receivers"]:
        for tg in receiver.get("telegram_configs", []):
            assert tg["bot_token"] == "@@TELEGRAM_BOT_TOKEN@@"  # filled from a file by entrypoint.sh


# ------------------------------------------------------------------ templates
def _alert_data(status: str) -> dict[str, Any]:
    labels = {
        "alertname": "DeviceDown",
        "severity": "critical",
        "kind": "device_down",
        "incident": "device:rt-ubnd-huyen-cau-ngang",
        "device": "rt-ubnd-huyen-cau-ngang",
        "site": "ubnd-huyen-cau-ngang",
        "site_name": "UBND Huyện Cầu Ngang",
        "district": "848",
        "district_name": CAU_NGANG,
        "province": "Trà Vinh",
    }
    annotations = {
        "title": "Huyện Cầu Ngang: router huyện mất kết nối — 15 điểm cấp xã không truy cập được",
        "since": "2026-11-30 10:02 (+07)",
        "affected_sites": "15",
        "summary": "Thiết bị rt-ubnd-huyen-cau-ngang tại UBND Huyện Cầu Ngang (Huyện Cầu Ngang) mất kết nối",
        "description": "Router huyện <Cầu Ngang> & 15 xã",
    }
    return {
        "receiver": "cau-ngang-critical",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": annotations,
                "startsAt": "2026-11-30T03:02:40Z",
                "endsAt": "2026-11-30T04:15:10Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "0123456789abcdef",
            }
        ],
        "groupLabels": {"alertname": "DeviceDown", "incident": labels["incident"]},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager:9093",
    }


def _render(amtool: str, tmp_path: Path, status: str, template: str, kind: str = "text") -> str:
    data = tmp_path / f"{status}.json"
    data.write_text(json.dumps(_alert_data(status), ensure_ascii=False), encoding="utf-8")
    return _run(
        amtool,
        "template",
        "render",
        f"--template.glob={AM_DIR / 'templates' / '*.tmpl'}",
        f"--template.data={data}",
        f"--template.type={kind}",
        f'--template.text={{{{ template "{template}" . }}}}',
    ).stdout


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ("netmon.telegram.message", "text"),
        ("netmon.email.text", "text"),
        ("netmon.email.subject", "text"),
        ("netmon.email.html", "html"),
    ],
)
def test_templates_vietnamese_firing_and_resolved(amtool: str, tmp_path: Path, template: str, kind: str) -> None:
    firing = _render(amtool, tmp_path, "firing", template, kind)
    resolved = _render(amtool, tmp_path, "resolved", template, kind)
    for out in (firing, resolved):
        assert "Huyện Cầu Ngang: router huyện mất kết nối — 15 điểm cấp xã" in out
    assert "NGHIÊM TRỌNG" in firing
    assert "Đã khôi phục" not in firing and "ĐÃ KHÔI PHỤC" not in firing
    assert "Đã khôi phục" in resolved or "ĐÃ KHÔI PHỤC" in resolved
    if template != "netmon.email.subject":
        for out in (firing, resolved):
            assert "UBND Huyện Cầu Ngang — Huyện Cầu Ngang" in out  # site, district
            assert "2026-11-30 10:02 (" in out  # since (netmon's own start time)
            assert "15" in out
        assert "2026-11-30 11:15 (" in resolved  # resolved at 04:15 UTC = 11:15 (+07)
    if template == "netmon.telegram.message":  # parse_mode HTML: values escaped, tags kept
        assert "<b>" in firing and "<code>device:rt-ubnd-huyen-cau-ngang</code>" in firing
    if kind == "html":
        assert "&lt;Cầu Ngang&gt; &amp; 15 xã" in firing


def test_template_monitoring_cut_off_names_the_monitor(amtool: str, tmp_path: Path) -> None:
    data = _alert_data("firing")
    title = ("Mất giám sát: netmon mất đường kết nối tới mạng (giao diện noc0 mất tín hiệu) — "
             "chưa rõ trạng thái 5 router")
    labels = {"alertname": "MonitoringCutOff", "severity": "critical", "incident": "netmon:path",
              "province": "Trà Vinh"}
    alert = {**data["alerts"][0], "labels": labels, "annotations": {"title": title, "since": "2026-11-30 10:30 (+07)"}}
    data.update(alerts=[alert], commonLabels=labels, commonAnnotations=alert["annotations"],
                groupLabels={"alertname": "MonitoringCutOff", "incident": "netmon:path"})
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for template in ("netmon.telegram.message", "netmon.email.text"):
        out = _run(amtool, "template", "render", f"--template.glob={AM_DIR / 'templates' / '*.tmpl'}",
                   f"--template.data={path}", f'--template.text={{{{ template "{template}" . }}}}').stdout
        assert title in out and "máy chủ giám sát netmon" in out and "NGHIÊM TRỌNG" in out, out
        assert "?" not in out.split(title)[1].splitlines()[1], out  # a place, not "?"


def _blind_data(status: str) -> dict[str, Any]:
    labels = {"alertname": "DeviceBlind", "severity": "warning", "device": "rt-ubnd-xa-hiep-hoa-29410",
              "kind": "router", "site": "ubnd-xa-hiep-hoa-29410", "site_name": "UBND Xã Hiệp Hòa",
              "district": "848", "district_name": CAU_NGANG}
    annotations = {
        "summary": "Mất giám sát SNMP: rt-ubnd-xa-hiep-hoa-29410 tại UBND Xã Hiệp Hòa (Huyện Cầu Ngang) vẫn trả "
                   "lời ping nhưng không trả lời SNMP",
        "description": "Thiết bị rt-ubnd-xa-hiep-hoa-29410 vẫn hoạt động (trả lời ping) nhưng netmon không đọc "
                       "được SNMP.",
        "action": "kiểm tra tiến trình SNMP agent trên thiết bị (dừng/treo?); community SNMPv2c hoặc người dùng "
                  "SNMPv3 <v3> & ACL",
    }
    return {"receiver": "noc-warning", "status": status,
            "alerts": [{"status": status, "labels": labels, "annotations": annotations,
                        "startsAt": "2026-11-30T03:02:40Z",
                        "endsAt": "2026-11-30T04:15:10Z" if status == "resolved" else "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prometheus:9090/graph", "fingerprint": "fedcba9876543210"}],
            "groupLabels": {"alertname": "DeviceBlind"}, "commonLabels": labels,
            "commonAnnotations": annotations, "externalURL": "http://alertmanager:9093"}


@pytest.mark.parametrize(
    ("template", "kind"),
    [("netmon.telegram.message", "text"), ("netmon.email.text", "text"), ("netmon.email.html", "html")],
)
def test_the_blind_warning_says_what_to_check_while_it_fires(amtool: str, tmp_path: Path, template: str,
                                                               kind: str) -> None:
    out = {}
    for status in ("firing", "resolved"):
        data = tmp_path / f"blind-{status}.json"
        data.write_text(json.dumps(_blind_data(status), ensure_ascii=False), encoding="utf-8")
        out[status] = _run(amtool, "template", "render", f"--template.glob={AM_DIR / 'templates' / '*.tmpl'}",
                           f"--template.data={data}", f"--template.type={kind}",
                           f'--template.text={{{{ template "{template}" . }}}}').stdout
    assert "Mất giám sát SNMP: rt-ubnd-xa-hiep-hoa-29410" in out["firing"]
    assert "UBND Xã Hiệp Hòa — Huyện Cầu Ngang" in out["firing"]
    assert "Cần kiểm tra" in out["firing"] and "tiến trình SNMP agent" in out["firing"]
    assert "Cần kiểm tra" not in out["resolved"]  # SNMP answers again: nothing left to check
    if template == "netmon.telegram.message" or kind == "html":  # escaped
        assert "&lt;v3&gt; &amp; ACL" in out["firing"]


# ------------------------------------------------------------------ entrypoint.sh (Telegram token from a file)
def test_entrypoint_puts_token_from_file(amtool: str, tmp_path: Path) -> None:
    token = tmp_path / "telegram_bot_token"
    token.write_text("123456789:AAExample-token_x\n")
    runtime = tmp_path / "runtime"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN_FILE": str(token),
        "ALERTMANAGER_RUNTIME_DIR": str(runtime),
        "ALERTMANAGER_BIN": "echo",
    }
    out = _run("sh", str(ENTRYPOINT), "--storage.path=/x", env=env).stdout.split()
    rendered = runtime / "alertmanager.yml"
    assert out == [f"--config.file={rendered}", "--storage.path=/x"]
    assert 'bot_token: "123456789:AAExample-token_x"' in rendered.read_text(encoding="utf-8")
    assert "@@TELEGRAM_BOT_TOKEN@@" in AM_CONFIG.read_text(encoding="utf-8")  # source untouched
    assert rendered.stat().st_mode & 0o077 == 0
    assert (runtime / "templates").resolve() == (AM_DIR / "templates").resolve()
    _run(amtool, "check-config", str(rendered))

    token.write_text("not a token; rm -rf /\n")
    bad = _run("sh", str(ENTRYPOINT), env=env, ok=False)
    assert bad.returncode == 1 and "does not hold a Telegram bot token" in bad.stderr


# ------------------------------------------------------------------ inhibition, on a real Alertmanager
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A fresh Alertmanager (starts in ~0.05 s) per test: the NetmonDown test mutes everything."""
    binary = require_tool("prometheus-alertmanager", "prometheus-alertmanager")
    tmp = tmp_path
    (tmp / "token").write_text("123456789:AAExample-token_x\n")
    port = _free_port()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN_FILE": str(tmp / "token"),
        "ALERTMANAGER_RUNTIME_DIR": str(tmp / "runtime"),
        "ALERTMANAGER_BIN": binary,
    }
    log = (tmp / "log").open("w")
    # the shipped config through the shipped entrypoint; no cluster; notifications would only be
    # attempted after group_wait (10 s), long after these tests
    proc = subprocess.Popen(
        [
            "sh",
            str(ENTRYPOINT),
            f"--storage.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Alertmanager did not start:\n{(tmp / 'log').read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _post(url: str, alerts: list[dict[str, str]]) -> None:
    body = json.dumps([{"labels": labels} for labels in alerts]).encode()
    req = urllib.request.Request(
        f"{url}/api/v2/alerts", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def _states(url: str, **match: str) -> dict[str, str]:
    """alert key -> active|suppressed, for the alerts whose labels include ``match``."""
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as r:
        alerts = json.load(r)
    out = {}
    for a in alerts:
        labels = a["labels"]
        if all(labels.get(k) == v for k, v in match.items()):
            out[f"{labels['alertname']}/{labels.get('device') or labels.get('incident', '')}"] = a["status"]["state"]
    return out


def _settled_states(url: str, expected: dict[str, str], **match: str) -> dict[str, str]:
    """The states once they equal ``expected``, or the last ones after 3 s.

    Alertmanager's inhibitor learns of new source alerts asynchronously (a subscription to the
    alert store), so right after the POST a target can still read "active" for a moment.
    """
    deadline = time.monotonic() + 3
    while True:
        states = _states(url, **match)
        if states == expected or time.monotonic() > deadline:
            return states
        time.sleep(0.02)


def test_inhibition_root_hides_sites_and_critical_hides_warning(alertmanager: str) -> None:
    root = "device:rt-ubnd-huyen-cau-ngang"
    _post(
        alertmanager,
        [
            # a district router down: one DeviceDown + the communes behind it
            {
                "alertname": "DeviceDown",
                "severity": "critical",
                "incident": root,
                "test": "a",
                "device": "rt-ubnd-huyen-cau-ngang",
                "district_name": CAU_NGANG,
            },
            {
                "alertname": "SiteUnreachable",
                "severity": "info",
                "incident": root,
                "test": "a",
                "device": "rt-ubnd-xa-hiep-hoa-29410",
                "district_name": CAU_NGANG,
            },
            {
                "alertname": "SiteUnreachable",
                "severity": "info",
                "incident": root,
                "test": "a",
                "device": "rt-ubnd-thi-tran-my-long-29419",
                "district_name": CAU_NGANG,
            },
            # unreachable behind ANOTHER root that is not alerting: not hidden
            {
                "alertname": "SiteUnreachable",
                "severity": "info",
                "incident": "link:other",
                "test": "a",
                "device": "rt-ubnd-xa-ngai-xuyen-29467",
            },
            # a warning and a critical alert of the same incident: the warning is hidden
            {"alertname": "DeviceDown", "severity": "warning", "incident": "link:ck-tam-ngai-uplink", "test": "a"},
            {"alertname": "LinkDown", "severity": "critical", "incident": "link:ck-tam-ngai-uplink", "test": "a"},
            # an incident that just closed: its inhibitor still hides the sites behind it
            {"alertname": "IncidentInhibitor", "severity": "none", "incident": "device:rt-ubnd-huyen-tra-cu",
             "test": "a"},
            {"alertname": "SiteUnreachable", "severity": "info", "incident": "device:rt-ubnd-huyen-tra-cu",
             "test": "a", "device": "rt-ubnd-xa-ngai-xuyen-29468"},
            # alerts without an incident are not hidden by a critical incident
            {"alertname": "HighUtilization", "severity": "warning", "device": "rt-ubnd-huyen-tra-cu", "test": "a"},
        ],
    )
    expected = {
        "DeviceDown/rt-ubnd-huyen-cau-ngang": "active",
        "SiteUnreachable/rt-ubnd-xa-hiep-hoa-29410": "suppressed",
        "SiteUnreachable/rt-ubnd-thi-tran-my-long-29419": "suppressed",
        "SiteUnreachable/rt-ubnd-xa-ngai-xuyen-29467": "active",
        "DeviceDown/link:ck-tam-ngai-uplink": "suppressed",
        "LinkDown/link:ck-tam-ngai-uplink": "active",
        "IncidentInhibitor/device:rt-ubnd-huyen-tra-cu": "active",
        "SiteUnreachable/rt-ubnd-xa-ngai-xuyen-29468": "suppressed",
        "HighUtilization/rt-ubnd-huyen-tra-cu": "active",
    }
    assert _settled_states(alertmanager, expected, test="a") == expected


def test_inhibition_monitoring_cut_off_hides_everything_but_netmon_down(alertmanager: str) -> None:
    _post(
        alertmanager,
        [
            {"alertname": "MonitoringCutOff", "severity": "critical", "incident": "netmon:path", "test": "c"},
            # an outage open when netmon was cut off (held: netmon does not know it is over)
            {"alertname": "DeviceDown", "severity": "warning", "incident": "device:rt-ubnd-xa-hiep-hoa-29410",
             "test": "c", "device": "rt-ubnd-xa-hiep-hoa-29410"},
            {"alertname": "PollerBehind", "severity": "warning", "class": "routers", "test": "c"},
        ],
    )
    expected = {
        "MonitoringCutOff/netmon:path": "active",
        "DeviceDown/rt-ubnd-xa-hiep-hoa-29410": "suppressed",
        "PollerBehind/": "suppressed",
    }
    assert _settled_states(alertmanager, expected, test="c") == expected


def test_inhibition_an_outage_hides_the_blind_warning_of_its_devices(alertmanager: str) -> None:
    """DeviceBlind (ping answers, SNMP does not) of a device that is then down itself, or unreachable behind
    a failed parent, is hidden; another device's stays."""
    root = "device:rt-ubnd-huyen-cau-ngang"
    _post(
        alertmanager,
        [
            {"alertname": "DeviceBlind", "severity": "warning", "device": "rt-ubnd-huyen-cau-ngang", "test": "c"},
            {"alertname": "DeviceDown", "severity": "critical", "incident": root, "device": "rt-ubnd-huyen-cau-ngang",
             "test": "c"},
            {"alertname": "DeviceBlind", "severity": "warning", "device": "rt-ubnd-xa-hiep-hoa-29410", "test": "c"},
            {"alertname": "SiteUnreachable", "severity": "info", "incident": root,
             "device": "rt-ubnd-xa-hiep-hoa-29410", "test": "c"},
            {"alertname": "DeviceBlind", "severity": "warning", "device": "rt-ubnd-huyen-tra-cu", "test": "c"},
        ],
    )
    expected = {
        "DeviceBlind/rt-ubnd-huyen-cau-ngang": "suppressed",
        "DeviceDown/rt-ubnd-huyen-cau-ngang": "active",
        "DeviceBlind/rt-ubnd-xa-hiep-hoa-29410": "suppressed",
        "SiteUnreachable/rt-ubnd-xa-hiep-hoa-29410": "suppressed",
        "DeviceBlind/rt-ubnd-huyen-tra-cu": "active",
    }
    assert _settled_states(alertmanager, expected, test="c") == expected


def test_inhibition_netmon_down_hides_everything_else(alertmanager: str) -> None:
    _post(
        alertmanager,
        [
            {
                "alertname": "DeviceDown",
                "severity": "critical",
                "incident": "bts:bts-vnpt-0042",
                "test": "b",
                "device": "bts-vnpt-0042",
            },
            {"alertname": "PollerBehind", "severity": "warning", "class": "routers", "test": "b"},
            {"alertname": "NetmonDown", "severity": "critical", "job": "netmon", "test": "b"},
        ],
    )
    expected = {
        "DeviceDown/bts-vnpt-0042": "suppressed",
        "PollerBehind/": "suppressed",
        "NetmonDown/": "active",
    }
    assert _settled_states(alertmanager, expected, test="b") == expected
