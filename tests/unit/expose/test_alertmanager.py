"""The Alertmanager webhook receiver: one log line and one count per alert; anything else is refused."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from netmon.expose.alertmanager import MAX_BODY, AlertmanagerReceiver
from netmon.expose.text import TextRenderer

PAYLOAD = {
    "version": "4", "status": "firing", "receiver": "webhook", "groupKey": "{}:{alertname=\"SiteUnreachable\"}",
    "groupLabels": {"alertname": "SiteUnreachable"}, "commonLabels": {}, "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
    "alerts": [
        {"status": "firing", "labels": {"alertname": "SiteUnreachable", "severity": "info",
                                        "incident": "device:rt-ubnd-huyen-cau-ngang", "site": "ubnd-xa-my-long-bac",
                                        "district_name": "Huyện Cầu Ngang"},
         "annotations": {"summary": "UBND xã Mỹ Long Bắc không tới được (sau router huyện)"},
         "startsAt": "2026-11-15T01:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a1"},
        {"status": "resolved", "labels": {"alertname": "DeviceDown", "severity": "critical"},
         "annotations": {}, "startsAt": "2026-11-15T01:00:00Z", "endsAt": "2026-11-15T01:05:00Z"},
    ],
}


def call(app: AlertmanagerReceiver, method: str = "POST", body: bytes = b"",
         length: str | None = None) -> tuple[str, bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    environ = {"REQUEST_METHOD": method, "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)) if length is None else length}
    out = b"".join(app(environ, start_response))
    return seen["status"], out


def test_each_alert_is_one_log_line_and_one_count(caplog: pytest.LogCaptureFixture) -> None:
    app = AlertmanagerReceiver()
    with caplog.at_level(logging.INFO, logger="netmon.alertmanager"):
        assert call(app, body=json.dumps(PAYLOAD, ensure_ascii=False).encode()) == ("200 OK", b"ok\n")
    assert [r.getMessage() for r in caplog.records] == [
        "firing SiteUnreachable (info) incident=device:rt-ubnd-huyen-cau-ngang site=ubnd-xa-my-long-bac "
        "district_name=Huyện Cầu Ngang: UBND xã Mỹ Long Bắc không tới được (sau router huyện)",
        "resolved DeviceDown (critical)",
    ]
    assert app.alerts == {("firing", "SiteUnreachable", "info"): 1, ("resolved", "DeviceDown", "critical"): 1}


def test_the_counts_are_metric_families() -> None:
    app = AlertmanagerReceiver()
    call(app, body=json.dumps(PAYLOAD).encode())
    call(app, body=json.dumps(PAYLOAD).encode())
    text = b"".join(TextRenderer().render(b"", app.families())).decode()
    assert ('netmon_alertmanager_alerts_total{alertname="SiteUnreachable",severity="info",status="firing"} 2.0'
            in text)
    assert "netmon_alertmanager_webhook_rejected_total 0.0" in text


@pytest.mark.parametrize(("method", "body", "length", "status"), [
    ("GET", b"", None, "405 Method Not Allowed"),
    ("POST", b"", None, "400 Bad Request"),
    ("POST", b"not json", None, "400 Bad Request"),
    ("POST", b'{"alerts": "x"}', None, "400 Bad Request"),
    ("POST", b'{"status": "firing"}', None, "400 Bad Request"),
    ("POST", b"{}", str(MAX_BODY + 1), "413 Payload Too Large"),
])
def test_anything_but_a_webhook_payload_is_refused(method: str, body: bytes, length: str | None,
                                                   status: str) -> None:
    app = AlertmanagerReceiver()
    assert call(app, method, body, length)[0] == status
    assert not app.alerts
    assert app.rejected == (0 if method == "GET" else 1)
