"""Interpret a poll: raw (tag, value) cells → a typed observation of a device and its interfaces.

Pure.  It reads any object shaped like :class:`netmon.collect.walk.PollResult`
(``scalars`` and ``columns`` keyed by numeric OIDs) and imports only OID
constants, so the poller's I/O stays out of ``health/``.  Text is decoded as
UTF-8 (Vietnamese ``ifAlias``/``sysLocation`` survive), with replacement
characters rather than an exception for an agent that sends Latin-1.
"""

from __future__ import annotations

from collections.abc import Mapping
from sys import intern
from typing import Any, Protocol

from netmon import mib as o
from netmon.health.observation import NOTHING, CollectionState, DeviceObs, Hardware, InterfaceObs

__all__ = ["Cell", "CollectionState", "DeviceObs", "Hardware", "InterfaceObs", "Walked", "chassis", "interpret"]

Cell = tuple[int, Any]


class Walked(Protocol):
    device_id: str
    ok: bool
    error: str | None
    started: float
    scalars: dict[tuple[int, ...], Cell]
    columns: dict[tuple[int, ...], dict[tuple[int, ...], Cell]]
    incomplete: dict[tuple[int, ...], str]
    faults: dict[str, int]
    notes: list[str]

    @property
    def completeness(self) -> float: ...


def text(cell: Cell | None) -> str | None:
    if cell is None or not isinstance(cell[1], bytes | bytearray):
        return None
    return bytes(cell[1]).rstrip(b"\x00").decode("utf-8", errors="replace")


def name_text(cell: Cell | None) -> str | None:
    """An interface name: without the trailing NULs and blanks some agents pad it with; None when empty."""
    found = text(cell)
    return found.strip() or None if found is not None else None


def shared_text(text: str | None) -> str | None:
    """One string object for equal interface names and aliases: the same few names ("eth0",
    "GigabitEthernet0/0/1", an operator's alias) recur on every device and every poll, and a device's
    observation is kept until its next poll (at 10× the province, ~180,000 interfaces)."""
    return None if text is None else intern(text)


def number(cell: Cell | None) -> int | None:
    return cell[1] if cell is not None and isinstance(cell[1], int) and not isinstance(cell[1], bool) else None


def oid_text(cell: Cell | None) -> str | None:
    return o.format_oid(cell[1]) if cell is not None and isinstance(cell[1], tuple) else None


def collection(result: Walked) -> CollectionState:
    """How complete the walk was, in the names people know (see :class:`CollectionState`)."""
    if not result.ok:
        return NOTHING
    if not result.faults and not result.incomplete:
        return CollectionState(result.completeness)
    tables = {o.table_of(oid): "complete" for oid in (*result.scalars, *result.columns)}
    for oid, reason in result.incomplete.items():
        table = o.table_of(oid)
        if tables.get(table, "complete") == "complete":
            tables[table] = reason
    return CollectionState(
        completeness=result.completeness, faults=result.faults, tables=tables,
        incomplete={o.name_of(oid): reason for oid, reason in result.incomplete.items()}, notes=tuple(result.notes))


def interpret(result: Walked) -> DeviceObs:
    """The device as its agent described it (a failed or partial walk keeps whatever came back).

    An interface is named by ifName, else ifDescr (trailing NULs and blanks removed), else ``ifIndex N``
    (:attr:`InterfaceObs.label`). Its octet counters are the 64-bit ifHC* ones when the agent gave both, else
    the 32-bit ones (an agent without ifXTable, or answering noSuchInstance there): rates stay right."""
    sc = result.scalars
    cols = result.columns

    def col(oid: tuple[int, ...]) -> Mapping[tuple[int, ...], Cell]:
        return cols.get(oid) or {}

    indexes: set[tuple[int, ...]] = set()
    for oid in (o.IF_DESCR, o.IF_NAME, o.IF_OPER_STATUS, o.IF_HC_IN_OCTETS, o.IF_IN_OCTETS):
        indexes.update(col(oid))
    interfaces: dict[int, InterfaceObs] = {}
    hc_in, hc_out = col(o.IF_HC_IN_OCTETS), col(o.IF_HC_OUT_OCTETS)
    in32, out32 = col(o.IF_IN_OCTETS), col(o.IF_OUT_OCTETS)
    for idx in indexes:
        if len(idx) != 1:
            continue
        i = idx[0]
        high = number(col(o.IF_HIGH_SPEED).get(idx))
        speed = number(col(o.IF_SPEED).get(idx))
        # ifSpeed saturates at 4,294,967,295 (RFC 2863): above ~4 Gbit/s only ifHighSpeed (Mbit/s) is right.
        speed_bps = high * 1_000_000 if high else speed
        has_hc, has_32 = (idx in hc_in, idx in hc_out), (idx in in32, idx in out32)
        hc = all(has_hc) or (any(has_hc) and not any(has_32))  # both HC cells, else the 32-bit ones
        interfaces[i] = InterfaceObs(
            if_index=i,
            name=shared_text(name_text(col(o.IF_NAME).get(idx))),
            descr=shared_text(name_text(col(o.IF_DESCR).get(idx))),
            alias=shared_text(text(col(o.IF_ALIAS).get(idx))),
            if_type=number(col(o.IF_TYPE).get(idx)),
            speed_bps=speed_bps,
            admin_status=number(col(o.IF_ADMIN_STATUS).get(idx)),
            oper_status=number(col(o.IF_OPER_STATUS).get(idx)),
            last_change_ticks=number(col(o.IF_LAST_CHANGE).get(idx)),
            bits=64 if hc else 32,
            in_octets=number((hc_in if hc else in32).get(idx)),
            out_octets=number((hc_out if hc else out32).get(idx)),
            in_errors=number(col(o.IF_IN_ERRORS).get(idx)),
            out_errors=number(col(o.IF_OUT_ERRORS).get(idx)),
            in_discards=number(col(o.IF_IN_DISCARDS).get(idx)),
            out_discards=number(col(o.IF_OUT_DISCARDS).get(idx)),
            discontinuity_ticks=number(col(o.IF_COUNTER_DISCONTINUITY_TIME).get(idx)),
        )
    return DeviceObs(
        device_id=result.device_id,
        at=result.started,
        ok=result.ok,
        error=result.error,
        sys_name=text(sc.get(o.SYS_NAME)),
        sys_descr=text(sc.get(o.SYS_DESCR)),
        sys_object_id=oid_text(sc.get(o.SYS_OBJECT_ID)),
        sys_contact=text(sc.get(o.SYS_CONTACT)),
        sys_location=text(sc.get(o.SYS_LOCATION)),
        uptime_ticks=number(sc.get(o.SYS_UPTIME)),
        interfaces=dict(sorted(interfaces.items())),
        collection=collection(result),
    )


def chassis(result: Walked) -> Hardware | None:
    """The first chassis row of a discovery walk, or None when the agent has no ENTITY-MIB."""
    cols = result.columns
    classes = cols.get(o.ENT_PHYSICAL_CLASS) or {}
    row = next((idx for idx, cell in sorted(classes.items()) if number(cell) == 3), None)
    if row is None:
        return None

    def get(col: tuple[int, ...]) -> str | None:
        return text((cols.get(col) or {}).get(row)) or None

    return Hardware(get(o.ENT_PHYSICAL_MODEL_NAME), get(o.ENT_PHYSICAL_SERIAL_NUM),
                    get(o.ENT_PHYSICAL_SOFTWARE_REV), get(o.ENT_PHYSICAL_MFG_NAME))
