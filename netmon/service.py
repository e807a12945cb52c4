"""``netmon run``: the service — scheduler, polling, traps, history and the HTTP endpoints, wired together.

Scheduling (APScheduler ``AsyncIOScheduler``): each poll class (routers every
60 s, base stations every 300 s, discovery every 6 h by default) is split into
``slices`` batches by a stable hash of the device id; one job per class runs
every ``interval / slices`` and polls the next batch.  The load is spread evenly
over the interval, every device is polled once per interval, and a batch never
overlaps itself (``max_instances=1``).  Misfire policy: ``coalesce=True`` with a
grace of one slice — a late batch runs once, a batch more than a slice late is
skipped (the next one is due anyway) and shows up as ``netmon_poller_lag_seconds``.
A dead device costs its batch at most its own deadline (timeout × (retries+1)),
never the sum of deadlines: the poller runs a batch concurrently.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import CollectorRegistry

from netmon.cluster.assign import Scope, homes, units_of
from netmon.collect.icmp import IcmpProber
from netmon.collect.path import LocalPath
from netmon.collect.snmp import SnmpPoller
from netmon.collect.target import targets_from_inventory
from netmon.expose.alertmanager import PATH as ALERTMANAGER_PATH
from netmon.expose.alertmanager import AlertmanagerReceiver
from netmon.expose.cluster import SD_PATH, cluster_families, sd_app
from netmon.expose.http import make_metrics_app
from netmon.expose.metrics import MonitorCollector
from netmon.expose.server import HttpServer
from netmon.health.states import Params
from netmon.inventory.load import Inventory
from netmon.monitor import ClassStats, Monitor
from netmon.repoll import Repoller
from netmon.settings import Settings, split_hostport

if TYPE_CHECKING:
    from netmon.cluster.membership import Membership
    from netmon.store.cluster import Fence
    from netmon.store.facts import FactStore
    from netmon.store.history import HistoryWriter

log = logging.getLogger("netmon.service")


JOIN_BEATS = 2
"""Beats a cluster poller waits at start before its first poll (so those started together share out first)."""


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("cluster: following the assignment failed", exc_info=task.exception())


def slice_of(device_id: str, slices: int) -> int:
    """Stable across restarts and processes (unlike ``hash``)."""
    return zlib.crc32(device_id.encode()) % slices


def http_app(collector: MonitorCollector, monitor: Monitor,
             alerts: AlertmanagerReceiver | None = None,
             sd: Callable[..., Iterable[bytes]] | None = None) -> Callable[..., Iterable[bytes]]:
    """/metrics (the collector's fast renderer), /healthz (alive), /readyz (first full poll done),
    /alertmanager-webhook (the shipped Alertmanager config's receiver: one log line and a count per alert),
    and in a cluster /sd (the live pollers, Prometheus http_sd)."""
    metrics = make_metrics_app(collector)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            ok = monitor.ready
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ready\n" if ok else b"first poll not finished\n"]
        if path in ("/metrics", "/"):
            body: Iterable[bytes] = metrics(environ, start_response)
            return body
        if path == ALERTMANAGER_PATH and alerts is not None:
            return alerts(environ, start_response)
        if path == SD_PATH and sd is not None:
            return sd(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return app


class ClusterNeedsPostgres(RuntimeError):
    """NETMON_CLUSTER on a database the pollers cannot share."""


class Service:
    """Owns the monitor, the scheduler, the trap receiver and the HTTP server (and, as one of a cluster's
    pollers, its membership: what it polls, judges, writes and exports follows the assignment)."""

    def __init__(self, settings: Settings, inventory: Inventory, engine: Any | None = None) -> None:
        self.settings = settings
        self.inventory = inventory
        self.engine = engine
        self.targets = targets_from_inventory(inventory)
        self.poller = SnmpPoller(concurrency=settings.concurrency)
        self.icmp = IcmpProber(count=settings.icmp_count, interval_s=0.2, enabled=settings.icmp)
        self.history: HistoryWriter | None = None
        facts: FactStore | None = None
        if engine is not None:
            from netmon.store.facts import FactStore
            from netmon.store.history import HistoryWriter
            from netmon.store.outbox import DatabaseStatus

            status = DatabaseStatus()  # one view of the database for the history and the facts
            journal = Path(settings.outbox) if settings.outbox else None
            self.history, facts = HistoryWriter(engine, journal, status), FactStore(engine, status=status)
        self.monitor = Monitor(
            inventory, self.targets, self.poller, self.icmp,
            params=Params(failures_to_down=settings.failures_to_down, flap_changes=settings.flap_changes,
                          flap_window_s=settings.flap_window_s, flap_hold_s=settings.flap_hold_s,
                          flap_down_s=settings.flap_down_s if settings.flap_down_s is not None
                          else settings.router_interval_s,
                          blind_after_s=settings.blind_after_s if settings.blind_after_s is not None
                          else 3 * settings.router_interval_s),
            confirm_after_s=settings.confirm_after_s, history=self.history, facts=facts,
            link_linger_s=settings.link_linger_s if settings.link_linger_s is not None
            else 2 * settings.router_interval_s,
        )
        self.membership: Membership | None = None
        self.fence: Fence | None = None
        self._cluster_tasks: set[asyncio.Task[Any]] = set()
        self._beat_stop = threading.Event()
        self._beat_thread: threading.Thread | None = None
        self._following: asyncio.Future[None] | None = None
        if settings.cluster:
            self._join(facts)
        if settings.watch_path:  # the first routers of the tree: netmon's path to the network ends there
            topology = self.monitor.topology
            roots = [self.monitor.by_id[d].host for d in topology.order
                     if topology.nodes[d].parent is None and d in self.monitor.by_id]
            if roots:
                self.monitor.path = LocalPath(roots)
        if settings.webhook_url:
            from netmon.expose.webhook import WebhookNotifier

            self.monitor.listeners.append(WebhookNotifier(settings.webhook_url))
        routers = [t.device_id for t in self.targets if t.device_id in inventory.devices]
        stations = [t.device_id for t in self.targets if t.device_id in inventory.base_stations]
        self.classes: dict[str, tuple[list[str], float]] = {
            "routers": (routers, settings.router_interval_s),
            "base_stations": (stations, settings.bts_interval_s),
        }
        self._next_slice = dict.fromkeys(self.classes, 0)
        self._anchor: dict[str, float] = {}  # when each class's first scheduled batch was due
        self._inflight: set[asyncio.Task[Any]] = set()
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.httpd: HttpServer | None = None
        self.traps: Any = None
        self.backup_trigger: Any = None
        self.repoller = Repoller(lambda batch: self.monitor.poll_batch(batch, reason="trap"), self._parent_of)

    def _join(self, facts: FactStore | None) -> None:
        """One of N pollers on the shared PostgreSQL: the membership, and the write fence."""
        s = self.settings
        engine = self.engine
        if engine is None or engine.dialect.name != "postgresql" or self.history is None:
            raise ClusterNeedsPostgres("NETMON_CLUSTER needs the shared PostgreSQL database (NETMON_DATABASE_URL="
                                       "postgresql+psycopg://…): on SQLite netmon runs as a single poller")
        from netmon.cluster.membership import Membership
        from netmon.store.cluster import Fence

        host, port = split_hostport(s.listen or "127.0.0.1:9750", 9750)
        name = socket.gethostname()
        poller_id = s.poller_id or f"{name}:{port}"
        url = s.advertise or f"http://{name if host in ('0.0.0.0', '::', '') else host}:{port}/metrics"
        units = units_of(self.monitor.topology, s.router_interval_s, s.bts_interval_s)
        self.home = homes(self.monitor.topology, units, self.inventory.sites)
        self.membership = Membership(engine, poller_id, url, units, failover_s=s.failover_s, margin=s.cluster_margin,
                                     beat_s=s.cluster_beat_s)
        self.fence = Fence(poller_id, self.home)
        self.history.fence = self.fence
        if facts is not None:
            facts.fence = self.fence
        self.monitor.scope_to(Scope())  # nothing until the first beat says what it owns
        self.monitor.scope_fresh = self.membership.fresh
        log.info("cluster: poller %s (%s), %d units, failover %.0f s", poller_id, url, len(units), s.failover_s)

    async def cluster_tick(self) -> None:
        """One beat, then :meth:`follow` (the test's and the first beat's path; the service beats in its own
        thread, :meth:`_beat_forever`)."""
        if self.membership is not None:
            await asyncio.to_thread(self.membership.tick)
            await self.follow()

    def _beat_forever(self, loop: asyncio.AbstractEventLoop) -> None:
        """The heartbeat thread: the membership ticks every beat whatever the event loop is doing (a poller
        busy judging a big batch must not look dead to the others), then asks the loop to follow."""
        m = self.membership
        assert m is not None
        while not self._beat_stop.wait(self.settings.cluster_beat_s):
            try:
                m.tick()
            except Exception:  # a bug must not stop the heartbeat; the database's faults are handled inside
                log.exception("cluster: beat failed")
                continue
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._follow_soon)

    def _follow_soon(self) -> None:
        if self._following is None or self._following.done():
            self._following = asyncio.ensure_future(self.follow())
            self._following.add_done_callback(_log_failure)

    async def follow(self) -> None:
        """The monitor follows what this poller owns now: gained devices are polled at once, their open outages
        adopted; lost ones dropped (reads the membership's last beat; the database read is in a thread)."""
        m = self.membership
        if m is None:
            return
        scope = Scope.of(self.home, m.units, m.owned)
        before = self.monitor.scope
        if before is not None and before.keys == scope.keys and before.probed == scope.probed:
            return
        gained = scope.keys - (before.keys if before is not None else frozenset())
        adopted: list[Any] = []
        if gained and self.history is not None:
            from netmon.store.outbox import is_transient, one_line

            try:
                adopted = await asyncio.to_thread(self.history.load_open, gained)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("cluster: cannot read the open outages of the gained devices (%s): an outage "
                            "still open is re-opened as the same row", one_line(exc))
        fresh = await self.monitor.rescope(scope, adopted)
        if adopted:
            log.warning("cluster: %d open outage(s) taken over: %s", len(adopted),
                        ", ".join(sorted(o.key for o in adopted))[:300])
        if fresh and self.monitor.ready:  # the handover: poll what it gained now, not at its slice's turn
            task = asyncio.ensure_future(self.monitor.poll_batch(sorted(fresh), reason="handover"))
            self._cluster_tasks.add(task)
            task.add_done_callback(self._cluster_tasks.discard)

    def _parent_of(self, device_id: str) -> str | None:
        node = self.monitor.topology.nodes.get(device_id)
        return node.parent if node is not None else None

    # ------------------------------------------------------------------ jobs
    def _batch(self, cls: str, index: int) -> list[str]:
        devices, _ = self.classes[cls]
        scope = self.monitor.scope
        probed = scope.probed if scope is not None else None
        return [d for d in devices if slice_of(d, self.settings.slices) == index and (probed is None or d in probed)]

    async def run_slice(self, cls: str) -> None:
        _, interval = self.classes[cls]
        stats = self.monitor.classes[cls]
        period = interval / self.settings.slices
        start = time.time()
        # How late this batch started against its schedule (first + k·period). A batch more than a period
        # late is skipped by the scheduler (counted in `skipped`), so the lag is below one period; a batch
        # that takes long (a dead device's deadline) delays nobody: the next slice starts on time.
        anchor = self._anchor.get(cls, start)
        stats.lag_s = (start - anchor) % period if start >= anchor else 0.0
        index = self._next_slice[cls]
        if index == 0:
            stats.cycle_start = start
        self._next_slice[cls] = (index + 1) % self.settings.slices
        stats.last_start = start
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await self.monitor.poll_batch(self._batch(cls, index))
        except asyncio.CancelledError:  # shutting down: the batch is abandoned, nothing to report
            log.debug("%s batch %d cancelled at shutdown", cls, index)
            return
        except Exception:  # a bug in one batch must not stop the schedule
            log.exception("%s batch %d failed", cls, index)
        finally:
            if task is not None:
                self._inflight.discard(task)
        stats.last_duration_s = time.time() - start
        stats.cycles += 1
        if index == self.settings.slices - 1 and stats.cycle_start:
            # a full pass: first batch's start to last batch's end (≈ interval − period + batch time when
            # healthy; above the interval only when batches run late)
            stats.last_full_cycle_s = time.time() - stats.cycle_start

    async def initial_sweep(self) -> None:
        """Everything once, at start: the state is known (and /readyz is true) within seconds."""
        start = time.time()
        scope = self.monitor.scope
        everything = [d for devices, _ in self.classes.values() for d in devices
                      if scope is None or d in scope.probed]
        # Slice by slice, as the scheduler will poll them: a batch holds every raw walk until it is judged, and
        # one batch of everything (at 10× the province, 13,720 walks: ~800 MB at once) left the process that
        # much larger for good. A parent in a later slice is re-probed when a child's failure needs it.
        slices = self.settings.slices
        for index in range(slices):
            await self.monitor.poll_batch([d for d in everything if slice_of(d, slices) == index], reason="start")
        for cls in self.classes:
            self.monitor.classes[cls].last_full_cycle_s = time.time() - start
        self.monitor.ready = True
        # The start-up objects (inventory, topology, first observations) live for the whole run: move them
        # out of the collector's way, so its full passes stay short (they stall scrapes and polls alike).
        gc.collect()
        gc.freeze()
        self.monitor.close_stale_adopted(datetime.now(UTC))
        log.info("first poll of %d devices done in %.1f s", len(everything), time.time() - start)

    async def discovery(self) -> None:
        started = time.time()
        scope = self.monitor.scope  # a cluster poller discovers what it owns (the others' hardware is theirs)
        await self.monitor.discover([t.device_id for t in self.targets
                                     if scope is None or t.device_id in scope.devices or t.device_id in scope.stations])
        self.monitor.classes["discovery"].last_full_cycle_s = time.time() - started
        self.monitor.classes["discovery"].last_start = started

    def _on_skipped(self, event: JobEvent) -> None:
        """A poll batch the scheduler did not run (too late, or too many still running): its devices wait a
        whole interval. Counted per class (``netmon_poller_skipped_batches_total``, what PollerBehind reads)."""
        cls = event.job_id.removeprefix("poll-")
        if cls in self.monitor.classes:
            self.monitor.classes[cls].skipped += 1
            log.warning("%s: a poll batch was skipped (the poller is behind its schedule)", cls)

    def heartbeat(self) -> None:
        if self.history is not None:
            self.history.heartbeat(datetime.now(UTC))

    # ---------------------------------------------------------------- running
    async def start(self) -> None:
        s = self.settings
        if self.history is not None:
            self.history.start_run(datetime.now(UTC))
        for cls, (_, interval) in self.classes.items():
            self.monitor.classes[cls] = ClassStats(interval_s=interval)
        self.monitor.classes["discovery"] = ClassStats(interval_s=s.discovery_interval_s)
        if self.membership is not None:
            await self.cluster_tick()  # what it owns, before the first poll
            for _ in range(JOIN_BEATS):  # pollers started together all join before the first assignment sticks:
                await asyncio.sleep(s.cluster_beat_s)  # none polls (and holds in memory) the whole province
                await self.cluster_tick()
        self._start_http()
        await self._start_traps()
        await self.initial_sweep()
        now = datetime.now(UTC)
        for cls, (_, interval) in self.classes.items():
            period = interval / s.slices
            self._anchor[cls] = now.timestamp() + period
            # Slices may overlap (each polls other devices; a slice never overlaps its own next turn), so a
            # batch waiting on a dead device's deadline does not hold up the next one.
            self.scheduler.add_job(
                self.run_slice, "interval", args=[cls], seconds=period, id=f"poll-{cls}",
                max_instances=max(1, s.slices - 1), coalesce=True, misfire_grace_time=max(1, int(period)),
                next_run_time=datetime.fromtimestamp(self._anchor[cls], UTC),
            )
        self.scheduler.add_listener(self._on_skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_job(self.discovery, "interval", seconds=s.discovery_interval_s, id="discovery",
                               max_instances=1, coalesce=True,
                               next_run_time=datetime.fromtimestamp(now.timestamp() + 30, UTC))
        self.scheduler.add_job(self.heartbeat, "interval", seconds=s.heartbeat_s, id="heartbeat",
                               max_instances=1, coalesce=True)
        if self.membership is not None:
            self._beat_thread = threading.Thread(target=self._beat_forever, args=(asyncio.get_running_loop(),),
                                                 name="netmon-cluster-beat", daemon=True)
            self._beat_thread.start()
        if self.history is not None:  # what waits for the database is written soon after it is back
            self.scheduler.add_job(self.history.retry, "interval", seconds=s.retry_s, id="history-retry",
                                   max_instances=1, coalesce=True)
        if s.backups and self.engine is not None and any(d.ssh_profile for d in self.inventory.devices.values()):
            from netmon.ssh.backup import BackupTrigger, add_daily_job

            add_daily_job(self.scheduler, self.inventory, self.engine)  # daily, jittered
            self.backup_trigger = BackupTrigger(self.inventory, self.engine)  # soon after a config change
        self.scheduler.start()

    def _start_http(self) -> None:
        if not self.settings.listen:
            return
        host, port = split_hostport(self.settings.listen, 9750)
        self.alerts = AlertmanagerReceiver()
        extra = [self.alerts.families]
        sd = None
        if self.membership is not None:
            view, fence = self.membership, self.fence
            extra.append(lambda: cluster_families(view, lambda: fence.dropped if fence is not None else 0))
            sd = sd_app(self.membership)
        collector = MonitorCollector(self.monitor, extra=extra)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(collector)  # the one source of truth; /metrics renders the same text faster
        self.registry = registry
        self.httpd = HttpServer(http_app(collector, self.monitor, self.alerts, sd), host, port)
        self.httpd.start()
        log.info("serving /metrics on http://%s:%d", host, port)

    async def _start_traps(self) -> None:
        if not self.settings.trap_listen:
            return
        try:
            from netmon.collect.traps import TrapReceiver
        except ImportError:  # pragma: no cover
            return
        host, port = split_hostport(self.settings.trap_listen, 1162)

        def on_trap(trap: Any) -> None:
            log.debug("trap %s from %s (%s)", trap.kind, trap.device_id, trap.source)
            scope = self.monitor.scope
            if scope is not None and trap.device_id not in scope.probed:
                return  # a cluster: another poller's device (devices send their traps to every poller)
            if self.backup_trigger is not None:
                self.backup_trigger.on_trap(trap.device_id, trap.trap_oid)
            self.repoller.request(trap.device_id)

        self.traps = TrapReceiver(self.targets, on_trap, host=host, port=port)
        await self.traps.start()
        self.monitor.trap_stats = self._trap_stats

    def _trap_stats(self) -> dict[str, int]:
        t = self.traps
        if t is None:
            return {}
        out = {"accepted": t.accepted, "dropped_unknown_source": t.dropped_unknown_source,
               "dropped_bad_credentials": t.dropped_bad_credentials}
        limited = t.dropped_other["rate_limited"]
        out["dropped_rate_limited"] = limited
        out["dropped_other"] = sum(t.dropped_other.values()) - limited
        return out

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop everything started; batches in flight get ``grace_s`` to finish (their judgements recorded)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._beat_stop.set()
        if self._beat_thread is not None:
            await asyncio.to_thread(self._beat_thread.join, 10)
        for t in list(self._cluster_tasks):
            t.cancel()
        if self._following is not None:
            self._following.cancel()
        if self._inflight:
            _, late = await asyncio.wait(set(self._inflight), timeout=grace_s)
            for task in late:
                task.cancel()
        if self.backup_trigger is not None:
            await self.backup_trigger.close()
        if self.traps is not None:
            self.traps.stop()
        await self.repoller.close()
        if self.httpd is not None:
            self.httpd.close()
        self.poller.close()
        self.icmp.close()
        if self.history is not None:
            self.history.stop_run(datetime.now(UTC))
        if self.membership is not None:  # goodbye: the others take its devices at once
            await asyncio.to_thread(self.membership.leave)


async def run_service(settings: Settings, inventory: Inventory, engine: Any | None,
                      duration: float | None = None, on_ready: Callable[[Service], None] | None = None) -> Service:
    """Run until SIGINT/SIGTERM (or ``duration`` seconds); stop everything that was started."""
    service = Service(settings, inventory, engine)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        if on_ready is not None:
            on_ready(service)
        waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
        if duration is not None:
            waiters.append(asyncio.create_task(asyncio.sleep(duration)))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await service.stop()
    return service
