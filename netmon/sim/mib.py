"""What a simulated device answers: the MIB view over a :class:`~netmon.sim.world.SimDevice`.

Column sets and value types follow a real recording (snmpsim's
``recorded/linux-full-walk.snmprec``: system group, ifTable, ifXTable,
HOST-RESOURCES) plus ENTITY-MIB's entPhysicalTable as routers expose it; the
values are synthesised per device.  Devices with the same shape share one
*layout* (sorted OIDs, their encodings and a getter per OID), so ten thousand
devices cost little memory and a GETBULK is a bisect plus a loop.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from netmon.collect import ber
from netmon.collect.ber import encode_length as _length
from netmon.collect.oids import Oid
from netmon.sim.world import SimDevice, SimEntity, SimInterface

Getter = Callable[[SimDevice, int, float], bytes]  # (device, row, now) -> value TLV

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
HR_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_PROCESSOR_ENTRY = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1)
IF_X_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
ENT_PHYSICAL_ENTRY = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
HR_STORAGE_RAM = (1, 3, 6, 1, 2, 1, 25, 2, 1, 2)
CPU_INDEX_BASE = 196608  # net-snmp numbers hrProcessor rows from here
MAX_32 = 2**32


# ------------------------------------------------------------------ value TLVs
def _num(tag: int, value: int) -> bytes:
    contents = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    return bytes((tag, len(contents))) + contents


def _text(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return b"\x04" + _length(len(raw)) + raw


def _oid(value: Oid) -> bytes:
    return ber.encode_varbind((1, 3), ber.OBJECT_IDENTIFIER, value)[5:]  # strip "30 L 06 01 2B"


def _const(tlv: bytes) -> Getter:
    return lambda _d, _r, _n: tlv


# ---------------------------------------------------------------- per column
def _itf(getter: Callable[[SimInterface, SimDevice, float], bytes]) -> Getter:
    return lambda d, r, n: getter(d.interfaces[r - 1], d, n)


def _ent(getter: Callable[[SimEntity], bytes]) -> Getter:
    return lambda d, r, _n: getter(d.entities[r - 1])


def _last_change(i: SimInterface, d: SimDevice, _n: float) -> bytes:
    return _num(ber.TIMETICKS, max(0, int((i.last_change - d.boot) * 100)) % MAX_32)


def _octets(direction: int, modulo: int, tag: int, scale: int = 1) -> Getter:
    def get(d: SimDevice, r: int, n: float) -> bytes:
        value = d.interfaces[r - 1].octets(n)[direction] // scale
        return _num(tag, value % modulo)

    return get


def _errors(modulo: int) -> Getter:
    return lambda d, r, n: _num(ber.COUNTER32, d.interfaces[r - 1].errors(n) % modulo)


ZERO_C32 = _const(_num(ber.COUNTER32, 0))
ZERO_C64 = _const(_num(ber.COUNTER64, 0))
PKT = 700  # mean packet size: packets are octets / PKT

IF_COLUMNS: dict[int, Getter] = {
    1: lambda _d, r, _n: _num(ber.INTEGER, r),
    2: _itf(lambda i, _d, _n: _text(i.name)),
    3: _itf(lambda i, _d, _n: _num(ber.INTEGER, i.if_type)),
    4: _itf(lambda i, _d, _n: _num(ber.INTEGER, 1500 if i.if_type == 6 else 65535)),
    5: _itf(lambda i, _d, _n: _num(ber.GAUGE32, min(i.speed_bps, MAX_32 - 1))),
    6: _itf(lambda i, _d, _n: _text(i.mac)),
    7: _itf(lambda i, _d, _n: _num(ber.INTEGER, 1 if i.admin_up else 2)),
    8: _itf(lambda i, _d, _n: _num(ber.INTEGER, 1 if i.oper_up else 2)),
    9: _itf(_last_change),
    10: _octets(0, MAX_32, ber.COUNTER32),
    11: _octets(0, MAX_32, ber.COUNTER32, PKT),
    12: ZERO_C32,
    13: ZERO_C32,
    14: _errors(MAX_32),
    15: ZERO_C32,
    16: _octets(1, MAX_32, ber.COUNTER32),
    17: _octets(1, MAX_32, ber.COUNTER32, PKT),
    18: ZERO_C32,
    19: ZERO_C32,
    20: ZERO_C32,
    21: _const(_num(ber.GAUGE32, 0)),
    22: _const(_oid((0, 0))),
}
IF_X_COLUMNS: dict[int, Getter] = {
    1: _itf(lambda i, _d, _n: _text(i.name)),
    2: ZERO_C32,
    3: ZERO_C32,
    4: ZERO_C32,
    5: ZERO_C32,
    6: _octets(0, 2**64, ber.COUNTER64),
    7: _octets(0, 2**64, ber.COUNTER64, PKT),
    8: ZERO_C64,
    9: ZERO_C64,
    10: _octets(1, 2**64, ber.COUNTER64),
    11: _octets(1, 2**64, ber.COUNTER64, PKT),
    12: ZERO_C64,
    13: ZERO_C64,
    14: _const(_num(ber.INTEGER, 1)),
    15: _itf(lambda i, _d, _n: _num(ber.GAUGE32, i.speed_bps // 1_000_000)),
    16: _const(_num(ber.INTEGER, 2)),
    17: _itf(lambda i, _d, _n: _num(ber.INTEGER, 1 if i.if_type == 6 else 2)),
    18: _itf(lambda i, _d, _n: _text(i.alias)),
    19: _const(_num(ber.TIMETICKS, 0)),
}
ENT_COLUMNS: dict[int, Getter] = {
    2: _ent(lambda e: _text(e.descr)),
    3: _ent(lambda e: _oid(e.vendor_type)),
    4: _ent(lambda e: _num(ber.INTEGER, e.contained_in)),
    5: _ent(lambda e: _num(ber.INTEGER, e.klass)),
    6: _ent(lambda e: _num(ber.INTEGER, -1 if e.contained_in == 0 else e.index)),
    7: _ent(lambda e: _text(e.name)),
    8: _ent(lambda e: _text(e.hardware_rev)),
    9: _ent(lambda e: _text(e.firmware_rev)),
    10: _ent(lambda e: _text(e.software_rev)),
    11: _ent(lambda e: _text(e.serial)),
    12: _ent(lambda e: _text(e.mfg)),
    13: _ent(lambda e: _text(e.model)),
    14: _const(_text("")),
    15: _const(_text("")),
    16: _ent(lambda e: _num(ber.INTEGER, 1 if e.klass in (6, 9) else 2)),
}
SYSTEM_SCALARS: dict[int, Getter] = {
    1: lambda d, _r, _n: _text(d.sys_descr),
    2: lambda d, _r, _n: _oid(d.sys_object_id),
    3: lambda d, _r, n: _num(ber.TIMETICKS, d.uptime_ticks(n)),
    4: lambda d, _r, _n: _text(d.sys_contact),
    5: lambda d, _r, _n: _text(d.sys_name),
    6: lambda d, _r, _n: _text(d.sys_location),
    7: _const(_num(ber.INTEGER, 78)),
}


def _storage(column: int) -> Getter:
    def get(d: SimDevice, _r: int, n: float) -> bytes:
        if column == 1:
            return _num(ber.INTEGER, 1)
        if column == 2:
            return _oid(HR_STORAGE_RAM)
        if column == 3:
            return _text("Physical memory")
        if column == 4:
            return _num(ber.INTEGER, 1024)
        if column == 5:
            return _num(ber.INTEGER, d.mem_total_kb)
        used = d.mem_total_kb * (30 + d.cpu_load(9, n) // 3) // 100
        return _num(ber.INTEGER, used)

    return get


def _cpu(column: int) -> Getter:
    if column == 1:
        return _const(_oid((0, 0)))
    return lambda d, r, n: _num(ber.INTEGER, d.cpu_load(r, n))


# -------------------------------------------------------------------- layout
@dataclass(frozen=True, slots=True)
class Layout:
    """The sorted OIDs of one device shape, with their encodings and getters."""

    oids: list[Oid]
    encoded: list[bytes]  # "06 len contents" of each OID
    getters: list[Getter]
    rows: list[int]
    counter64: list[bool]  # skipped by SNMPv1 GETNEXT, as real agents do
    index: dict[Oid, int]

    def position_after(self, oid: Oid) -> int:
        return bisect.bisect_right(self.oids, oid)

    def varbind(self, pos: int, device: SimDevice, now: float) -> bytes:
        body = self.encoded[pos] + self.getters[pos](device, self.rows[pos], now)
        return b"\x30" + _length(len(body)) + body


_layouts: dict[tuple[int, int, int], Layout] = {}


def layout_for(device: SimDevice, cpus: int = 2) -> Layout:
    key = (len(device.interfaces), len(device.entities), cpus)
    layout = _layouts.get(key)
    if layout is None:
        layout = _layouts[key] = _build(*key)
    return layout


def _build(n_if: int, n_ent: int, cpus: int) -> Layout:
    entries: list[tuple[Oid, Getter, int]] = []
    entries += [((*SYSTEM, c, 0), g, 0) for c, g in SYSTEM_SCALARS.items()]
    entries.append((IF_NUMBER, lambda d, _r, _n: _num(ber.INTEGER, len(d.interfaces)), 0))
    entries += [((*IF_ENTRY, c, r), g, r) for c, g in IF_COLUMNS.items() for r in range(1, n_if + 1)]
    entries += [((*HR_STORAGE_ENTRY, c, 1), _storage(c), 1) for c in range(1, 7)]
    cpu_rows = range(CPU_INDEX_BASE, CPU_INDEX_BASE + cpus)
    entries += [((*HR_PROCESSOR_ENTRY, c, r), _cpu(c), r - CPU_INDEX_BASE) for c in (1, 2) for r in cpu_rows]
    entries += [((*IF_X_ENTRY, c, r), g, r) for c, g in IF_X_COLUMNS.items() for r in range(1, n_if + 1)]
    entries += [((*ENT_PHYSICAL_ENTRY, c, r), g, r) for c, g in ENT_COLUMNS.items() for r in range(1, n_ent + 1)]
    entries.sort(key=lambda e: e[0])
    oids = [e[0] for e in entries]
    encoded = [ber.encode_varbind(o, ber.NULL, None)[:-2] for o in oids]
    encoded = [_strip_seq(e) for e in encoded]
    c64 = [o[: len(IF_X_ENTRY)] == IF_X_ENTRY and 6 <= o[len(IF_X_ENTRY)] <= 13 for o in oids]
    return Layout(oids, encoded, [e[1] for e in entries], [e[2] for e in entries], c64,
                  {o: i for i, o in enumerate(oids)})


def _strip_seq(varbind_without_value: bytes) -> bytes:
    """``30 L 06 l oid`` (L counts the stripped NULL too) → ``06 l oid``."""
    header = 2 if varbind_without_value[1] < 0x80 else 2 + (varbind_without_value[1] & 0x7F)
    return varbind_without_value[header:]
