"""Persist what polling learnt: device facts and interfaces with first-seen / last-seen.

Time series stay in Prometheus; only the latest state goes to SQL.  Writes are
kept small: an interface row is written when something about it changed, and
its ``last_seen`` is refreshed at most every ``touch_every_s``.

Facts are a cache of what the devices say, not history: while the database is away they are not queued
(the next poll says the same again); what was not written is remembered as unwritten, so it is written
once the database is back. The shared :class:`~netmon.store.outbox.DatabaseStatus` says so once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update

from netmon.health.observation import DeviceObs, Hardware
from netmon.store import models as m
from netmon.store.cluster import Fence
from netmon.store.models import table
from netmon.store.outbox import DatabaseStatus, is_transient

_LOAD_CHUNK = 500
_ITF_FIELDS = ("name", "descr", "alias", "if_type", "speed_bps", "admin_status", "oper_status")


class FactStore:
    """Writes device facts and interfaces, remembering what it wrote to skip unchanged rows."""

    def __init__(self, engine: Engine, touch_every_s: float = 600.0, status: DatabaseStatus | None = None) -> None:
        self.engine = engine
        self.touch_every_s = touch_every_s
        self.status = status or DatabaseStatus()
        self._written: dict[str, dict[int, int]] = {}
        """Per device saved so far: the hash of each interface's last written values, by ifIndex — what is
        compared (seven values per interface would be ~14 MB more at 10× the province; two different values
        with one 64-bit hash are not a concern). Read from the database the first time a device is saved, so a
        poller holds only what it polls (one of a cluster: its share, not the province's ~400,000 interfaces)."""
        self._touched: dict[str, float] = {}
        """Per device: when the ``last_seen`` of its unchanged interfaces was last refreshed (together: one
        time per device, not one per interface)."""
        self._facts: dict[str, tuple[Any, ...]] = {}
        self.fence: Fence | None = None
        """One poller of a cluster: facts are written only for the devices it owns (checked in the write's
        transaction; the rest dropped)."""

    def _load(self, devices: Iterable[str]) -> None:
        """What the database holds of the interfaces of ``devices`` not read yet."""
        missing = sorted({d for d in devices if d not in self._written})
        if not missing:
            return
        itf = table(m.Interface)
        written: dict[str, dict[int, int]] = {d: {} for d in missing}
        touched: dict[str, float] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(missing), _LOAD_CHUNK):
                chunk = missing[start:start + _LOAD_CHUNK]
                for row in conn.execute(select(itf).where(itf.c.device_id.in_(chunk))):
                    written[row.device_id][row.if_index] = hash(tuple(getattr(row, f) for f in _ITF_FIELDS))
                    seen = row.last_seen.timestamp() if row.last_seen else 0.0
                    touched[row.device_id] = min(seen, touched.get(row.device_id, seen))
        self._written.update(written)  # only now: a device whose read failed is read again next time
        self._touched.update(touched)

    def forget(self, devices: Iterable[str]) -> None:
        """Let go of what is remembered of ``devices`` (another poller of a cluster polls them now; read again
        from the database if they come back)."""
        for d in devices:
            self._written.pop(d, None)
            self._touched.pop(d, None)
            self._facts.pop(d, None)

    def save(self, observations: Iterable[DeviceObs], known_devices: set[str]) -> int:
        """Store facts of ``known_devices`` (rows in ``device``) and every interface seen; rows written
        (0 while the database is away: nothing is lost, the next poll brings the same facts)."""
        try:
            observations = [o for o in observations if o.ok]
            self._load(o.device_id for o in observations)
            return self._save(observations, known_devices)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.status.failed(exc, "device facts")
            return 0

    def _save(self, observations: Iterable[DeviceObs], known_devices: set[str]) -> int:
        written: dict[str, dict[int, int]] = {}
        touched: dict[str, float] = {}
        facts_seen: dict[str, tuple[Any, ...]] = {}
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        touch: list[tuple[str, int]] = []
        fact_updates: list[dict[str, Any]] = []
        for obs in observations:
            seen = datetime.fromtimestamp(obs.at, UTC)
            dev_id = obs.device_id
            if dev_id in known_devices:
                facts = (obs.sys_name, obs.sys_descr, obs.sys_object_id)
                if self._facts.get(dev_id) != facts:
                    facts_seen[dev_id] = facts
                    fact_updates.append({"_id": dev_id, "sys_name": obs.sys_name, "sys_descr": obs.sys_descr,
                                         "sys_object_id": obs.sys_object_id, "facts_at": seen})
            known = self._written.get(dev_id, {})
            due = obs.at - self._touched.get(dev_id, 0.0) >= self.touch_every_s
            digests: dict[int, int] = {}
            for itf in obs.interfaces.values():
                values = tuple(getattr(itf, f) for f in _ITF_FIELDS)
                digest = hash(values)
                before = known.get(itf.if_index)
                if before is None:
                    row = dict(zip(_ITF_FIELDS, values, strict=True))
                    new.append({"device_id": dev_id, "if_index": itf.if_index, **row, "first_seen": seen,
                                "last_seen": seen})
                elif before != digest:
                    row = dict(zip(_ITF_FIELDS, values, strict=True))
                    changed.append({"_d": dev_id, "_i": itf.if_index, **row, "last_seen": seen})
                elif due:
                    touch.append((dev_id, itf.if_index))
                else:
                    continue
                digests[itf.if_index] = digest
            if digests:
                written[dev_id] = digests
            if due:
                touched[dev_id] = obs.at
        if not (new or changed or touch or fact_updates):
            return 0
        interfaces = table(m.Interface)
        dev = table(m.Device)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            if self.fence is not None:
                ok = self.fence.admit(conn)
                refused = sorted({d for d in (*(r["device_id"] for r in new), *(r["_d"] for r in changed),
                                              *(d for d, _ in touch), *(r["_id"] for r in fact_updates))
                                  if not ok(_device_key(d, known_devices))})
                if refused:
                    gone = set(refused)
                    new = [r for r in new if r["device_id"] not in gone]
                    changed = [r for r in changed if r["_d"] not in gone]
                    touch = [k for k in touch if k[0] not in gone]
                    fact_updates = [r for r in fact_updates if r["_id"] not in gone]
                    written = {k: v for k, v in written.items() if k not in gone}
                    touched = {k: v for k, v in touched.items() if k not in gone}
                    facts_seen = {k: v for k, v in facts_seen.items() if k not in gone}
                self.fence.refused([_device_key(d, known_devices) for d in refused], "device fact")
            if new and self.fence is not None:
                # a cluster: another poller may have written this interface since this one last looked
                conn.execute(_upsert(conn, interfaces), new)
            elif new:
                conn.execute(insert(interfaces), new)
            if changed:
                stmt = update(interfaces).where(interfaces.c.device_id == bindparam("_d"),
                                                interfaces.c.if_index == bindparam("_i"))
                conn.execute(stmt, changed)
            if touch:
                stmt = update(interfaces).where(interfaces.c.device_id == bindparam("_d"),
                                                interfaces.c.if_index == bindparam("_i"))
                conn.execute(stmt.values(last_seen=now), [{"_d": d, "_i": i} for d, i in touch])
            if fact_updates:
                conn.execute(update(dev).where(dev.c.id == bindparam("_id")), fact_updates)
        for dev_id, digests in written.items():  # only now: what the database did not take is written next time
            self._written.setdefault(dev_id, {}).update(digests)
        self._touched.update(touched)
        self._facts.update(facts_seen)
        return len(new) + len(changed) + len(touch) + len(fact_updates)

    def save_hardware(self, hardware: dict[str, Hardware]) -> None:
        """Model, serial and software version from discovery (ENTITY-MIB), for devices in ``device``."""
        if not hardware:
            return
        dev = table(m.Device)
        now = datetime.now(UTC)
        rows = [{"_id": d, "hardware": h.model, "serial": h.serial, "os_version": h.software, "facts_at": now}
                for d, h in hardware.items()]
        try:
            with self.engine.begin() as conn:
                conn.execute(update(dev).where(dev.c.id == bindparam("_id")), rows)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.status.failed(exc, "hardware facts")


def _upsert(conn: Any, interfaces: Any) -> Any:
    """An insert of interface rows that updates the ones already there, keeping their ``first_seen``
    (PostgreSQL: a cluster runs on nothing else)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    stmt = pg_insert(interfaces)
    return stmt.on_conflict_do_update(index_elements=["device_id", "if_index"],
                                      set_={f: stmt.excluded[f] for f in (*_ITF_FIELDS, "last_seen")})


def _device_key(device_id: str, routers: set[str]) -> str:
    return f"device:{device_id}" if device_id in routers else f"bts:{device_id}"


def update_device_facts(engine: Engine, device_id: str, values: Mapping[str, Any]) -> bool:
    """Write these columns (facts learnt over SSH) on the device row; False when the device is not in the
    database (no sync yet)."""
    dev = table(m.Device)
    with engine.begin() as conn:
        result = conn.execute(update(dev).where(dev.c.id == device_id).values(**values))
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What polling and SSH learnt about one device (``netmon inventory show``)."""

    hardware: str | None
    serial: str | None
    os_version: str | None
    sys_name: str | None
    sys_descr: str | None
    facts_at: datetime | None


def device_facts(engine: Engine, device_id: str) -> DeviceFacts | None:
    """The facts stored on the device row; None when the device is not in the database (no sync yet)."""
    dev = table(m.Device)
    with engine.connect() as conn:
        row = conn.execute(select(dev.c.hardware, dev.c.serial, dev.c.os_version, dev.c.sys_name, dev.c.sys_descr,
                                  dev.c.facts_at).where(dev.c.id == device_id)).first()
    return None if row is None else DeviceFacts(row.hardware, row.serial, row.os_version, row.sys_name,
                                                row.sys_descr, row.facts_at)
