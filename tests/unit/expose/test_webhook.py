"""The direct webhook speaks Alertmanager's payload (version 4), so one receiver serves both."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

from netmon.expose.webhook import WebhookNotifier, payload
from netmon.health.incidents import AffectedSite, Incident, IncidentKind

INC = Incident(
    key="device:rt-ubnd-huyen-cau-ngang", kind=IncidentKind.DEVICE_DOWN, root="rt-ubnd-huyen-cau-ngang",
    site_id="ubnd-huyen-cau-ngang", site_name="UBND Huyện Cầu Ngang", district="Huyện Cầu Ngang",
    title="Huyện Cầu Ngang: router huyện mất kết nối — 15 điểm cấp xã không truy cập được",
    summary="district router down", affected=(AffectedSite("ubnd-xa-hiep-hoa", "UBND Xã Hiệp Hòa", "commune",
                                                            "rt-ubnd-xa-hiep-hoa"),),
    started_at=datetime(2026, 11, 30, 3, 0, tzinfo=UTC), evidence="SNMP failing", detected_by="poll",
)


def test_payload_has_the_alertmanager_shape() -> None:
    body = payload("opened", INC, datetime(2026, 11, 30, 3, 1, tzinfo=UTC))
    assert body["version"] == "4" and body["status"] == "firing" and len(body["alerts"]) == 1
    alert = body["alerts"][0]
    assert alert["labels"]["site_name"] == "UBND Huyện Cầu Ngang"
    assert alert["annotations"]["title"].startswith("Huyện Cầu Ngang")
    assert alert["startsAt"] == "2026-11-30T03:00:00+00:00" and alert["endsAt"].startswith("0001")
    closed = payload("closed", INC, datetime(2026, 11, 30, 3, 5, tzinfo=UTC))
    assert closed["status"] == "resolved" and closed["alerts"][0]["endsAt"] == "2026-11-30T03:05:00+00:00"


def test_notifier_posts_utf8_json_off_the_caller_thread() -> None:
    received: list[dict[str, object]] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        notifier = WebhookNotifier(f"http://127.0.0.1:{server.server_address[1]}/hook")
        notifier("opened", INC, datetime.now(UTC))
        deadline = time.monotonic() + 5
        while not (received and notifier.sent) and time.monotonic() < deadline:  # counted after the answer
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    assert received and received[0]["alerts"][0]["labels"]["district_name"] == "Huyện Cầu Ngang"  # type: ignore[index]
    assert notifier.sent == 1
