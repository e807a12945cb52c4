"""``POST /alertmanager-webhook``: netmon as the receiver of Alertmanager's shipped ``webhook`` route.

``deploy/alertmanager/alertmanager.yml`` sends every notification to ``http://netmon:9750/alertmanager-webhook``
— the ``severity="info"`` ones (``SiteUnreachable``: a site behind a failed parent) to nowhere else. Here each
alert of a notification (Alertmanager's webhook payload, version 4) becomes one log line and one count:

* log ``netmon.alertmanager``: ``firing SiteUnreachable (info) incident=… site=… district=…: summary``;
* ``netmon_alertmanager_alerts_total{status, alertname, severity}`` on /metrics (``rate()`` of it shows what
  Alertmanager is sending, and that its route to netmon works);
* ``netmon_alertmanager_webhook_rejected_total``: bodies that were not a webhook payload (answered 400).

Nothing else happens: netmon's incidents come from its own judgement, never back from Alertmanager. A body is
read only up to :data:`MAX_BODY`; only ``POST`` is allowed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from netmon.expose.text import Family

__all__ = ["PATH", "AlertmanagerReceiver"]

PATH = "/alertmanager-webhook"
MAX_BODY = 4 * 1024 * 1024
"""Alertmanager's ``max_alerts: 0`` sends a whole group: a district's hundreds of alerts fit many times over."""

log = logging.getLogger("netmon.alertmanager")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def describe(alert: Mapping[str, Any], status: str) -> str:
    """The log line of one alert: status, name, severity, the labels an operator looks for, the summary."""
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    where = " ".join(f"{k}={_one_line(labels[k])}" for k in ("incident", "device", "site", "link", "district_name")
                     if labels.get(k))
    text = annotations.get("summary") or annotations.get("title") or annotations.get("description") or ""
    head = f"{status} {labels.get('alertname', '?')} ({labels.get('severity', '-')})"
    return " ".join(x for x in (head, where) if x) + (f": {_one_line(text)}" if text else "")


class AlertmanagerReceiver:
    """A WSGI app for :data:`PATH`; thread-safe (the HTTP server's workers call it at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.alerts: Counter[tuple[str, str, str]] = Counter()
        """(status, alertname, severity) → alerts received."""
        self.rejected = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            start_response("405 Method Not Allowed", [("Allow", "POST"), ("Content-Type", "text/plain")])
            return [b"POST Alertmanager's webhook payload here\n"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            return self._reject(start_response, "413 Payload Too Large" if length > MAX_BODY else "400 Bad Request",
                                f"a body of 1 to {MAX_BODY} bytes is needed")
        try:
            payload = json.loads(environ["wsgi.input"].read(length))
            alerts = payload["alerts"]
            if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
                raise TypeError("alerts is not a list of objects")
        except (ValueError, KeyError, TypeError) as exc:
            return self._reject(start_response, "400 Bad Request", f"not an Alertmanager webhook payload ({exc})")
        group_status = str(payload.get("status", "firing"))
        for alert in alerts:
            status = str(alert.get("status") or group_status)
            labels = alert.get("labels") or {}
            log.info("%s", describe(alert, status))
            with self._lock:
                self.alerts[(status, str(labels.get("alertname", "")), str(labels.get("severity", "")))] += 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]

    def _reject(self, start_response: Callable[..., Any], status: str, why: str) -> list[bytes]:
        with self._lock:
            self.rejected += 1
        log.warning("alertmanager webhook: %s: %s", status, why)
        start_response(status, [("Content-Type", "text/plain")])
        return [f"{why}\n".encode()]

    def families(self) -> list[Family]:
        """The receiver's counters, as /metrics families (MonitorCollector renders them with the rest)."""
        alerts = Family("netmon_alertmanager_alerts", "Alerts Alertmanager delivered to netmon's webhook, by "
                        "status (firing/resolved), alert name and severity.", "counter",
                        ("status", "alertname", "severity"))
        with self._lock:
            for key, n in sorted(self.alerts.items()):
                alerts.add(key, n)
            rejected_n = self.rejected
        rejected = Family("netmon_alertmanager_webhook_rejected", "Requests to the Alertmanager webhook that were "
                          "not its payload (answered 400/413).", "counter")
        rejected.add((), rejected_n)
        return [alerts, rejected]
