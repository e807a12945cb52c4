"""POST incidents straight to a webhook, in Alertmanager's webhook payload shape (version 4).

For sites without Alertmanager: the receiving end (a chat bridge, a ticket system) can take the same
JSON from either.  One POST per incident change, off the event loop, with a short timeout and no
retries beyond one: the incident history in the database is the record, the webhook is a notice.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from datetime import datetime
from typing import Any

from netmon.health.incidents import Incident

log = logging.getLogger(__name__)


def payload(what: str, inc: Incident, at: datetime, external_url: str = "") -> dict[str, Any]:
    """The Alertmanager webhook body for one incident opening or changing ("firing") or closing ("resolved")."""
    status = "resolved" if what == "closed" else "firing"  # "changed" (e.g. down → flapping) still fires
    labels = {"alertname": "NetmonIncident", "incident": inc.key, "kind": inc.kind.value,
              "site": inc.site_id or "", "site_name": inc.site_name or "", "district_name": inc.district or ""}
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {"title": inc.title, "summary": inc.summary,
                        "affected_sites": str(len(inc.affected)), "detected_by": inc.detected_by,
                        "evidence": inc.evidence},
        "startsAt": inc.started_at.isoformat(),
        "endsAt": at.isoformat() if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": external_url,
        "fingerprint": inc.key,
    }
    return {
        "version": "4", "groupKey": f"{{}}:{{incident={inc.key!r}}}", "truncatedAlerts": 0, "status": status,
        "receiver": "netmon", "groupLabels": {"incident": inc.key}, "commonLabels": labels,
        "commonAnnotations": alert["annotations"], "externalURL": external_url, "alerts": [alert],
    }


class WebhookNotifier:
    """An incident listener (``Monitor.listeners``) that POSTs each change from a worker thread."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0

    def __call__(self, what: str, inc: Incident, at: datetime) -> None:
        body = json.dumps(payload(what, inc, at), ensure_ascii=False).encode()
        threading.Thread(target=self._post, args=(body,), name="netmon-webhook", daemon=True).start()

    def _post(self, body: bytes) -> None:
        for attempt in (1, 2):
            req = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    resp.read()
                self.sent += 1
                return
            except OSError as exc:
                if attempt == 2:
                    self.failed += 1
                    log.warning("webhook POST failed: %s", exc)
