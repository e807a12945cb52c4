"""Interpret a poll: raw (tag, value) cells → a typed observation of a device and its interfaces.

Pure.  It reads any object shaped like :class:`netmon.collect.walk.PollResult`
(``scalars`` and ``columns`` keyed by numeric OIDs) and imports only OID
constants, so the poller's I/O stays out of ``health/``.  Text is decoded as
UTF-8 (Vietnamese ``ifAlias``/``sysLocation`` survive), with replacement
characters rather than an exception for an agent that sends Latin-1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from netmon import mib as o
from netmon.health.observation import DeviceObs, Hardware, InterfaceObs

__all__ = ["Cell", "DeviceObs", "Hardware", "InterfaceObs", "Walked", "chassis", "interpret"]

Cell = tuple[int, Any]


class Walked(Protocol):
    device_id: str
    ok: bool
    error: str | None
    started: float
    scalars: dict[tuple[int, ...], Cell]
    columns: dict[tuple[int, ...], dict[tuple[int, ...], Cell]]


def text(cell: Cell | None) -> str | None:
    if cell is None or not isinstance(cell[1], bytes | bytearray):
        return None
    return bytes(cell[1]).rstrip(b"\x00").decode("utf-8", errors="replace")


def number(cell: Cell | None) -> int | None:
    return cell[1] if cell is not None and isinstance(cell[1], int) and not isinstance(cell[1], bool) else None


def oid_text(cell: Cell | None) -> str | None:
    return o.format_oid(cell[1]) if cell is not None and isinstance(cell[1], tuple) else None


def interpret(result: Walked) -> DeviceObs:
    """The device as its agent described it (a failed or partial walk keeps whatever came back)."""
    sc = result.scalars
    cols = result.columns

    def col(oid: tuple[int, ...]) -> Mapping[tuple[int, ...], Cell]:
        return cols.get(oid) or {}

    indexes: set[tuple[int, ...]] = set()
    for oid in (o.IF_DESCR, o.IF_NAME, o.IF_OPER_STATUS, o.IF_HC_IN_OCTETS, o.IF_IN_OCTETS):
        indexes.update(col(oid))
    interfaces: dict[int, InterfaceObs] = {}
    hc_in, hc_out = col(o.IF_HC_IN_OCTETS), col(o.IF_HC_OUT_OCTETS)
    for idx in indexes:
        if len(idx) != 1:
            continue
        i = idx[0]
        high = number(col(o.IF_HIGH_SPEED).get(idx))
        speed = number(col(o.IF_SPEED).get(idx))
        # ifSpeed saturates at 4,294,967,295 (RFC 2863): above ~4 Gbit/s only ifHighSpeed (Mbit/s) is right.
        speed_bps = high * 1_000_000 if high else speed
        hc = idx in hc_in or idx in hc_out
        interfaces[i] = InterfaceObs(
            if_index=i,
            name=text(col(o.IF_NAME).get(idx)),
            descr=text(col(o.IF_DESCR).get(idx)),
            alias=text(col(o.IF_ALIAS).get(idx)),
            if_type=number(col(o.IF_TYPE).get(idx)),
            speed_bps=speed_bps,
            admin_status=number(col(o.IF_ADMIN_STATUS).get(idx)),
            oper_status=number(col(o.IF_OPER_STATUS).get(idx)),
            last_change_ticks=number(col(o.IF_LAST_CHANGE).get(idx)),
            bits=64 if hc else 32,
            in_octets=number((hc_in if hc else col(o.IF_IN_OCTETS)).get(idx)),
            out_octets=number((hc_out if hc else col(o.IF_OUT_OCTETS)).get(idx)),
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
