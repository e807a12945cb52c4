"""``netmon status``: one screen — the inventory, the database (open incidents, when netmon last ran), and the
running service as its ``/metrics`` tells it (last poll per class and lag, the trap receiver, history writes).

It reads; it starts nothing and changes nothing. Whatever does not answer is said plainly ("NOT running"), and
the exit code says it too: 0 when the database and the service both answer, 3 when one of them does not (so a
script or a cron job can check), 1 only for a usage problem of its own.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from netmon.cli.common import DatabaseOpt, PathArg, database_url, human_time, inventory_path, iso_time, out
from netmon.lang import t
from netmon.settings import get_settings

RUN_SILENT_S = 120.0
"""A run whose last heartbeat is older than this (and not stopped) did not stop cleanly."""
METRICS = ("netmon_ready", "netmon_poller_last_batch_timestamp_seconds", "netmon_poller_lag_seconds",
           "netmon_poller_interval_seconds", "netmon_traps_total", "netmon_traps", "netmon_database_up",
           "netmon_history_pending")


class StatusFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _age(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def metrics_url(listen: str) -> str:
    """``http://HOST:PORT/metrics`` of ``NETMON_LISTEN`` (a wildcard host is asked on the loopback)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"


def read_metrics(url: str, timeout_s: float = 5.0) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The samples of :data:`METRICS` that the netmon at ``url`` exposes now (name → (labels, value))."""
    from prometheus_client.parser import text_string_to_metric_families

    query = urllib.parse.urlencode([("name[]", n) for n in METRICS])
    with urllib.request.urlopen(f"{url}?{query}", timeout=timeout_s) as response:
        text = response.read().decode("utf-8")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name.removesuffix("_total"), []).append((dict(sample.labels), sample.value))
    return samples


def _inventory(path: Any) -> dict[str, Any]:
    from netmon.inventory.load import load_inventory
    from netmon.inventory.problems import InventoryError

    try:
        inv = load_inventory(inventory_path(path))
    except InventoryError as exc:
        return {"ok": False, "problems": len(exc.problems)}
    return {"ok": True, "counts": inv.counts()}


def _database(database: str | None, now: datetime) -> dict[str, Any]:
    from netmon.cli.errors import expected_failure
    from netmon.store.db import open_existing, schema_is_current
    from netmon.store.history import read_history

    url = database_url(database)
    shown = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)  # never the password
    try:
        engine = open_existing(url)
        try:
            if not schema_is_current(engine):
                return {"ok": False, "url": shown, "detail": t("database_no_schema")}
            h = read_history(engine)
        finally:
            engine.dispose()
    except Exception as exc:
        message = expected_failure(exc)
        if message is None:
            raise
        return {"ok": False, "url": shown, "detail": message}
    last = max(h.runs, key=lambda r: r.heartbeat_at, default=None)
    run = None
    if last is not None:
        state = ("stopped" if last.stopped_at is not None
                 else "running" if (now - last.heartbeat_at).total_seconds() <= RUN_SILENT_S else "silent")
        run = {"heartbeat_at": last.heartbeat_at, "state": state}
    incidents = [{"object": f"{o.object_type}:{o.object_id}", "root_cause": o.root_cause, "started": o.started_at,
                  "affected": len(o.affected)}
                 for o in sorted(h.outages, key=lambda o: o.started_at, reverse=True) if o.ended_at is None]
    return {"ok": True, "url": shown, "last_run": run, "open_incidents": incidents}


def _service(url: str, now: float) -> dict[str, Any]:
    try:
        samples = read_metrics(url)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return {"ok": False, "url": url, "detail": " ".join(str(reason).split())}
    by_class: dict[str, dict[str, float]] = {}
    for name, key in (("netmon_poller_last_batch_timestamp_seconds", "last"), ("netmon_poller_lag_seconds", "lag"),
                      ("netmon_poller_interval_seconds", "interval")):
        for labels, value in samples.get(name, []):
            by_class.setdefault(labels.get("class", "?"), {})[key] = value
    classes = {cls: {"last_poll_age_s": (now - v["last"]) if v.get("last") else None, "lag_s": v.get("lag", 0.0),
                     "interval_s": v.get("interval", 0.0)} for cls, v in by_class.items()}
    traps = {labels.get("outcome", "?"): value for labels, value in samples.get("netmon_traps", [])}
    db_up = samples.get("netmon_database_up")
    pending = samples.get("netmon_history_pending")
    return {
        "ok": True, "url": url, "ready": bool(samples.get("netmon_ready", [({}, 0.0)])[0][1]), "classes": classes,
        "traps": {"accepted": int(traps.get("accepted", 0)),
                  "dropped": int(sum(v for k, v in traps.items() if k != "accepted"))} if traps else None,
        "database_up": bool(db_up[0][1]) if db_up else None,
        "history_pending": int(pending[0][1]) if pending else 0,
    }


def status(
    path: PathArg = None,
    database: DatabaseOpt = None,
    url: Annotated[str | None, typer.Option(help="/metrics of the running netmon (default: from NETMON_LISTEN).")]
    = None,
    fmt: Annotated[StatusFormat, typer.Option("--format", case_sensitive=False, help="table or json.")]
    = StatusFormat.TABLE,
) -> None:
    """One screen: inventory counts, last poll per class and its lag, open incidents, the database, the trap
    receiver and /metrics of the running netmon — and plainly what is not running (exit 3)."""
    settings = get_settings()
    now = datetime.now(UTC)
    report = {
        "inventory": _inventory(path),
        "database": _database(database, now),
        "service": _service(url or metrics_url(settings.listen), time.time()),
    }
    if report["service"]["ok"] and report["service"]["traps"] is None and not settings.trap_listen:
        report["service"]["traps_off"] = True
    down = [k for k in ("database", "service") if not report[k]["ok"]]
    if fmt is StatusFormat.JSON:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, default=lambda v: iso_time(v)) + "\n")
    else:
        _print(report)
    if down:
        raise typer.Exit(3)


def _print(report: dict[str, Any]) -> None:
    table = Table("", "", title=t("status_title"), show_header=False, title_justify="left")

    def add(label: str, value: str, bad: bool = False) -> None:
        table.add_row(f"[bold]{escape(label)}[/]", f"[red]{escape(value)}[/]" if bad else escape(value))

    inv = report["inventory"]
    if inv["ok"]:
        add(t("status_inventory"), t("summary", **inv["counts"]))
    else:
        add(t("status_inventory"), t("status_inventory_bad", n=inv["problems"]), bad=True)

    db = report["database"]
    if db["ok"]:
        add(t("status_database"), t("status_db_ok", url=db["url"]))
        run = db["last_run"]
        if run is None:
            add(t("status_last_run"), t("status_never_ran"))
        else:
            key = {"running": "status_run_running", "stopped": "status_run_stopped"}.get(run["state"],
                                                                                      "status_run_silent")
            add(t("status_last_run"), t(key, when=human_time(run["heartbeat_at"])), bad=run["state"] == "silent")
        incidents = db["open_incidents"]
        add(t("status_open_incidents"), str(len(incidents)), bad=bool(incidents))
        for inc in incidents[:10]:
            add("", f"{inc['object']}: {inc['root_cause']} ({human_time(inc['started'])}, +{inc['affected']})")
        if len(incidents) > 10:
            add("", f"… +{len(incidents) - 10} ('netmon outages --open')")
    else:
        add(t("status_database"), t("status_db_down", detail=db["detail"]), bad=True)

    svc = report["service"]
    if svc["ok"]:
        add(t("status_service"), t("status_service_up", url=svc["url"],
                                   ready="" if svc["ready"] else t("status_not_ready")), bad=not svc["ready"])
        for cls, c in sorted(svc["classes"].items()):
            age = c["last_poll_age_s"]
            line = (t("status_poll_line", age=_age(age), lag=c["lag_s"], interval=c["interval_s"]) if age is not None
                    else t("status_poll_never"))
            late = age is not None and c["interval_s"] and age > 2 * c["interval_s"]
            add(t("status_poll_class", cls=cls), line, bad=bool(late))
        traps = svc["traps"]
        add(t("status_traps"), t("status_traps_on", **traps) if traps else t("status_traps_off"))
        if svc["database_up"] is False:
            add(t("status_db_writes"), t("status_db_writes_pending", n=svc["history_pending"]), bad=True)
        elif svc["database_up"]:
            add(t("status_db_writes"), t("status_db_writes_ok"))
    else:
        add(t("status_service"), t("status_service_down", url=svc["url"], detail=svc["detail"]), bad=True)
        add(t("status_traps"), t("status_unknown"))
    out.print(table)
