"""Configuration backups: fetch over SSH, scrub, store a version only when it changed, diff versions.

A version is the scrubbed text (:mod:`netmon.ssh.scrub`) and its SHA-256; a fetch
whose hash equals the latest stored one stores nothing, so the table holds
changes, not days.  A new version after an earlier one also writes a
``config_change`` event (with +/- line counts) to the history.

Output that does not look like a whole configuration (an error message, or a
Cisco config without its closing ``end``) is refused rather than stored: a
truncated fetch must not show up as "half the config was deleted".

Runs: :func:`backup_job` is what the service scheduler calls (daily, jittered,
see :func:`add_daily_job`) and what :class:`BackupTrigger` calls shortly after a
config-change trap or indicator; ``netmon backup`` calls :func:`run_backups`.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from netmon.ssh import scrub
from netmon.ssh.facts import Facts, collect_facts, save_facts
from netmon.ssh.session import DeviceError, Outcome, Session, SshSettings, SshTarget, run_sessions
from netmon.store.backups import Version, store_config

if TYPE_CHECKING:
    from netmon.inventory.load import Inventory
    from netmon.store.db import Engine

log = logging.getLogger("netmon.ssh.backup")


@dataclass(frozen=True)
class ConfigSpec:
    command: str
    end: str | None = None
    """Regex the last non-empty line must match: a fetch cut short is refused, not stored."""


_CISCO = ConfigSpec("show running-config", r"^end$")
CONFIGS: dict[str, ConfigSpec] = {
    "cisco_ios": _CISCO,
    "cisco_xe": _CISCO,
    "cisco_nxos": ConfigSpec("show running-config"),
    "cisco_xr": ConfigSpec("show running-config", r"^end$"),
    "arista_eos": _CISCO,
    "juniper_junos": ConfigSpec("show configuration", r"[};]$"),
    "huawei": ConfigSpec("display current-configuration", r"^return$"),
    "hp_comware": ConfigSpec("display current-configuration", r"^return$"),
    "mikrotik_routeros": ConfigSpec("/export"),
    "fortinet": ConfigSpec("show", r"^end$"),
}
_ERROR_OUTPUT = re.compile(
    r"^\s*(?:% ?(?:Invalid|Unknown|Incomplete|Ambiguous|Authorization|Permission)|Unknown command|"
    r"Invalid input|syntax error|error:|Error:|bad command name)", re.MULTILINE
)

CONFIG_CHANGE_TRAPS = {
    "1.3.6.1.4.1.9.9.43.2.0.1": "ciscoConfigManEvent",
    "1.3.6.1.4.1.9.9.43.2.0.2": "ccmCLIRunningConfigChanged",
    "1.3.6.1.4.1.2636.4.5.0.1": "jnxCmCfgChange",
    "1.3.6.1.4.1.2011.6.10.2.1": "hwCfgManEventlog",
}
"""Notifications (snmpTrapOID values) that mean "the configuration was changed"."""
REBOOT_TRAPS = {"1.3.6.1.6.3.1.1.5.1": "coldStart", "1.3.6.1.6.3.1.1.5.2": "warmStart"}
"""After a reboot the running config is the saved one: unsaved edits are gone, so it is worth a fresh look."""
CCM_HISTORY_RUNNING_LAST_CHANGED = "1.3.6.1.4.1.9.9.43.1.1.1.0"
"""CISCO-CONFIG-MAN-MIB: sysUpTime at the last running-config change; a poller can feed it to the trigger."""


def supported(platform: str) -> bool:
    return platform in CONFIGS and platform in scrub.DIALECTS


def prepare(platform: str, raw: str) -> str:
    """Scrubbed, normalised configuration ready to hash and store; ValueError when it is not a config."""
    spec = CONFIGS[platform]
    head = "\n".join(raw.strip().splitlines()[:3])
    if _ERROR_OUTPUT.search(head):
        first = head.splitlines()[0].strip() if head else ""
        raise ValueError(f"{spec.command!r} answered an error, not a configuration: {first[:80]!r}")
    text = scrub.scrub(platform, raw)
    if not text.strip():
        raise ValueError(f"{spec.command!r} returned an empty configuration")
    if spec.end is not None:
        last = next(line for line in reversed(text.splitlines()) if line.strip())
        if not re.search(spec.end, last.strip()):
            raise ValueError(f"configuration looks truncated (last line {last.strip()[:40]!r}); not stored")
    return text


# ----------------------------------------------------------------------------------- versions
def _label(version: Version) -> str:
    taken = version.taken_at if version.taken_at.tzinfo else version.taken_at.replace(tzinfo=UTC)
    return f"{version.device_id} {taken.astimezone().isoformat(timespec='seconds')} sha256:{version.sha256[:12]}"


def unified_diff(old: Version, new: Version, context: int = 3) -> str:
    """``diff -u`` of two versions; empty when they are identical."""
    lines = difflib.unified_diff(old.content.splitlines(keepends=True), new.content.splitlines(keepends=True),
                                 fromfile=_label(old), tofile=_label(new), n=context)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


# ------------------------------------------------------------------------------------ runs
@dataclass(frozen=True)
class Fetched:
    facts: Facts | None = None
    config: str | None = None
    config_error: str | None = None


def fetch(session: Session, *, want_facts: bool, want_config: bool) -> Fetched:
    """In the session's thread: facts first (small), then the configuration, scrubbed before it leaves."""
    platform = session.target.platform
    facts = collect_facts(session)[0] if want_facts else None
    if not want_config:
        return Fetched(facts)
    if not supported(platform):
        return Fetched(facts, None, f"no configuration backup for platform {platform} (no scrubbing rules)")
    raw = session.send(CONFIGS[platform].command)
    try:
        return Fetched(facts, prepare(platform, raw))
    except ValueError as exc:
        return Fetched(facts, None, str(exc))


@dataclass
class DeviceResult:
    device_id: str
    status: str
    """new, changed, unchanged (config); facts (facts only); failed."""
    error: DeviceError | None = None
    sha256: str | None = None
    facts: Facts | None = None
    facts_saved: bool = False
    elapsed_s: float = 0.0


@dataclass
class RunReport:
    results: list[DeviceResult]
    wall_s: float

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[DeviceResult]:
        return [r for r in self.results if r.status == "failed"]

    def percentile(self, q: float) -> float:
        times = sorted(r.elapsed_s for r in self.results if r.status != "failed")
        if not times:
            return 0.0
        if len(times) == 1:
            return times[0]
        return statistics.quantiles(times, n=100, method="inclusive")[int(q) - 1]

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("new", "changed", "unchanged", "facts", "failed") if self.count(s)]
        return f"{len(self.results)} device(s) in {self.wall_s:.1f} s: " + (", ".join(parts) or "nothing to do")


async def run_backups(
    engine: Engine,
    targets: Iterable[SshTarget],
    errors: Iterable[DeviceError] = (),
    *,
    config: bool = True,
    facts: bool = True,
    settings: SshSettings | None = None,
    concurrency: int | None = None,
) -> RunReport:
    """Fetch (and store) config and/or facts of every target, bounded and cut at each device's deadline.

    Each device is stored as soon as it finishes; database writes are serialised
    in a worker thread so the event loop (and the SNMP poller sharing it) never waits on them.
    """
    started = time.monotonic()
    results: list[DeviceResult] = [DeviceResult(e.device_id, "failed", e) for e in errors]
    todo: list[SshTarget] = []
    for target in targets:
        if config and not facts and not supported(target.platform):
            results.append(DeviceResult(target.device_id, "failed", target.error(
                "unsupported", f"no configuration backup for platform {target.platform} (no scrubbing rules)")))
        else:
            todo.append(target)
    write_lock = asyncio.Lock()

    def work(session: Session) -> Fetched:
        return fetch(session, want_facts=facts, want_config=config)

    async def store(outcome: Outcome[Fetched]) -> None:
        result = DeviceResult(outcome.target.device_id, "failed", outcome.error, elapsed_s=outcome.elapsed_s)
        fetched = outcome.value
        if fetched is not None:
            async with write_lock:
                try:
                    result = await asyncio.to_thread(_store_one, engine, outcome, fetched, config)
                except Exception as exc:  # the database, not the device: report it, keep storing the others
                    result.error = outcome.target.error("store", f"could not store the result: "
                                                                 f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        results.append(result)
        if result.error is not None:
            log.warning("backup %s", result.error)
        else:
            log.info("backup %s: %s%s (%.1f s)", result.device_id, result.status,
                     f" sha256 {result.sha256[:12]}" if result.sha256 else "", result.elapsed_s)

    await run_sessions(todo, work, settings=settings, concurrency=concurrency, on_outcome=store)
    order = {t.device_id: i for i, t in enumerate(todo)}
    results.sort(key=lambda r: order.get(r.device_id, -1))
    return RunReport(results, time.monotonic() - started)


def _store_one(engine: Engine, outcome: Outcome[Fetched], fetched: Fetched, want_config: bool) -> DeviceResult:
    target = outcome.target
    now = datetime.now(UTC)
    result = DeviceResult(target.device_id, "facts", facts=fetched.facts, elapsed_s=outcome.elapsed_s)
    if fetched.facts is not None and not fetched.facts.empty:
        result.facts_saved = save_facts(engine, target.device_id, fetched.facts, now)
    if want_config:
        if fetched.config is None:
            result.status = "failed"
            result.error = target.error("command", fetched.config_error or "no configuration")
        else:
            result.status, result.sha256 = store_config(engine, target.device_id, fetched.config, now)
    return result


async def backup_job(inventory: Inventory, engine: Engine, device_ids: Iterable[str] | None = None) -> RunReport:
    """The scheduler's hook: back up (config + facts) every SSH-managed device, or just ``device_ids``.

    Never raises for a device's failure (each is logged and in the report).
    """
    from netmon.ssh.session import ssh_targets

    targets, errors = ssh_targets(inventory, device_ids)
    report = await run_backups(engine, targets, errors)
    log.info("config backup: %s", report.summary())
    return report


def add_daily_job(scheduler: Any, inventory: Inventory, engine: Engine, settings: SshSettings | None = None) -> Any:
    """Add the daily backup to an APScheduler scheduler: ``backup_at`` local time plus up to ``backup_jitter_s``.

    Jitter spreads many netmon instances (and reruns) so devices and AAA servers do not see them all at once.
    """
    from apscheduler.triggers.cron import CronTrigger

    settings = settings or SshSettings()
    hour, _, minute = settings.backup_at.partition(":")
    trigger = CronTrigger(hour=int(hour), minute=int(minute or 0), timezone=settings.backup_timezone,
                          jitter=settings.backup_jitter_s or None)
    return scheduler.add_job(backup_job, trigger, args=[inventory, engine], id="config-backup",
                             max_instances=1, coalesce=True, misfire_grace_time=3600, replace_existing=True)


class BackupTrigger:
    """Turn config-change signals into one backup per device, ``delay_s`` after the last signal.

    Why wait: an edit is many commands and often many traps; backing up once the
    burst is over stores the finished config once instead of half-edited ones.
    Call its methods from the event loop's thread (trap callback, poll handler).
    """

    def __init__(self, inventory: Inventory, engine: Engine, delay_s: float | None = None) -> None:
        self.inventory = inventory
        self.engine = engine
        self.delay_s = SshSettings().change_delay_s if delay_s is None else delay_s
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._running: set[str] = set()
        self._indicators: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[RunReport]] = set()
        self.fired = 0

    def notify(self, device_id: str, reason: str = "") -> None:
        """A change happened on ``device_id``: (re)start its countdown."""
        if device_id not in self.inventory.devices or self.inventory.devices[device_id].ssh_profile is None:
            return
        timer = self._timers.pop(device_id, None)
        if timer is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        self._timers[device_id] = loop.call_later(self.delay_s, self._fire, device_id)
        log.info("config change on %s (%s): backup in %.0f s", device_id, reason or "signal", self.delay_s)

    def on_trap(self, device_id: str, trap_oid: str) -> bool:
        """Feed every trap; True when it was a config-change or restart notification (a backup is now due)."""
        oid = trap_oid.lstrip(".")
        name = CONFIG_CHANGE_TRAPS.get(oid) or REBOOT_TRAPS.get(oid)
        if name is not None:
            self.notify(device_id, name)
        return name is not None

    def observe(self, device_id: str, indicator: str, value: int) -> bool:
        """Feed a polled change indicator (``ccmHistoryRunningLastChanged``, sysUpTime …).

        A different value than last time means a change (for sysUpTime: only when it
        went *down*, i.e. a reboot). The first value seen only sets the baseline.
        """
        key = (device_id, indicator)
        previous = self._indicators.get(key)
        self._indicators[key] = value
        if previous is None:
            return False
        changed = value < previous if indicator == "sysUpTime" else value != previous
        if changed:
            self.notify(device_id, f"{indicator} {previous} -> {value}")
        return changed

    def _fire(self, device_id: str) -> None:
        self._timers.pop(device_id, None)
        if device_id in self._running:  # still busy with the previous one: look again after another delay
            self._timers[device_id] = asyncio.get_running_loop().call_later(self.delay_s, self._fire, device_id)
            return
        self._running.add(device_id)
        self.fired += 1
        task = asyncio.get_running_loop().create_task(backup_job(self.inventory, self.engine, [device_id]))
        self._tasks.add(task)

        def done(t: asyncio.Task[RunReport]) -> None:
            self._tasks.discard(t)
            self._running.discard(device_id)
            if not t.cancelled() and t.exception() is not None:
                log.error("triggered backup of %s failed: %s", device_id, t.exception())

        task.add_done_callback(done)

    async def close(self) -> None:
        """Cancel pending countdowns and wait for running backups."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
