"""Interpretation of a walk: interface names with their fallbacks, 64- or 32-bit counters, the collection state."""

from __future__ import annotations

from netmon import mib as o
from netmon.collect import ber
from netmon.collect.oids import DEVICE_SPEC
from netmon.collect.walk import PollResult
from netmon.health.interpret import interpret


def walk(columns: dict[tuple[int, ...], dict[tuple[int, ...], tuple[int, object]]], **kw: object) -> PollResult:
    result = PollResult("rt", ok=True, started=1.0, units=len(DEVICE_SPEC.scalars) + len(DEVICE_SPEC.columns))
    result.columns = {c: {} for c in DEVICE_SPEC.columns}
    result.columns.update(columns)  # type: ignore[arg-type]
    result.scalars = {o.SYS_UPTIME: (ber.TIMETICKS, 500)}
    result.varbinds = 1 + sum(map(len, result.columns.values()))
    for key, value in kw.items():
        setattr(result, key, value)
    return result


def s(text: bytes) -> tuple[int, object]:
    return ber.OCTET_STRING, text


def test_names_fall_back_from_ifname_to_ifdescr_to_the_index() -> None:
    """Older equipment without ifXTable: ifDescr names the interface (padding removed), else ``ifIndex N``."""
    obs = interpret(walk({
        o.IF_DESCR: {(1,): s(b"GigabitEthernet0/0\x00\x00"), (2,): s(b"Serial0/1/0  "), (3,): s(b"\x00")},
        o.IF_OPER_STATUS: {(1,): (ber.INTEGER, 1), (2,): (ber.INTEGER, 2), (3,): (ber.INTEGER, 1)},
        o.IF_NAME: {(4,): s(b"Gi0/4 ")},
    }))
    names = {i: (itf.name, itf.descr, itf.label) for i, itf in obs.interfaces.items()}
    assert names == {1: (None, "GigabitEthernet0/0", "GigabitEthernet0/0"), 2: (None, "Serial0/1/0", "Serial0/1/0"),
                     3: (None, None, "ifIndex 3"), 4: ("Gi0/4", None, "Gi0/4")}
    # the inventory's watched interfaces match whichever name the device has
    for name, index in (("GigabitEthernet0/0", 1), ("Serial0/1/0", 2), ("ifIndex 3", 3), ("Gi0/4", 4)):
        found = obs.interface_named(name)
        assert found is not None and found.if_index == index
    assert obs.interface_named("ifIndex 9") is None


def test_octets_come_from_hc_counters_when_both_are_there_else_from_the_32_bit_ones() -> None:
    obs = interpret(walk({
        o.IF_IN_OCTETS: {(1,): (ber.COUNTER32, 10), (2,): (ber.COUNTER32, 20), (3,): (ber.COUNTER32, 30)},
        o.IF_OUT_OCTETS: {(1,): (ber.COUNTER32, 11), (2,): (ber.COUNTER32, 21), (3,): (ber.COUNTER32, 31)},
        o.IF_HC_IN_OCTETS: {(1,): (ber.COUNTER64, 2**40), (2,): (ber.COUNTER64, 2**41), (4,): (ber.COUNTER64, 7)},
        o.IF_HC_OUT_OCTETS: {(1,): (ber.COUNTER64, 2**40 + 1), (4,): (ber.COUNTER64, 8)},  # no HC out for 2
    }))
    got = {i: (itf.bits, itf.in_octets, itf.out_octets) for i, itf in obs.interfaces.items()}
    # 2 answered noSuchInstance for ifHCOutOctets: both directions from the 32-bit counters (one width)
    assert got == {1: (64, 2**40, 2**40 + 1), 2: (32, 20, 21), 3: (32, 30, 31), 4: (64, 7, 8)}


def test_collection_state_names_what_is_incomplete_and_why() -> None:
    result = walk({o.IF_DESCR: {(1,): s(b"eth0")}, o.IF_NAME: {(1,): s(b"eth0")}},
                  incomplete={o.IF_DESCR: "non_increasing_oid", o.SYS_UPTIME: "no_such_object"},
                  faults={"non_increasing_oid": 1, "no_such_object": 1, "duplicate_varbind": 2},
                  notes=["non-increasing OID …"])
    result.scalars = {}
    obs = interpret(result)
    c = obs.collection
    assert obs.uptime_ticks is None  # unknown, not 0
    assert c.completeness == 1 - 2 / 25
    assert dict(c.incomplete) == {"ifDescr": "non_increasing_oid", "sysUpTime": "no_such_object"}
    assert dict(c.tables) == {"system": "no_such_object", "ifTable": "non_increasing_oid", "ifXTable": "complete"}
    assert dict(c.faults) == {"non_increasing_oid": 1, "no_such_object": 1, "duplicate_varbind": 2}
    assert not c.complete and c.as_dict()["notes"] == ["non-increasing OID …"]


def test_a_clean_walk_is_complete_and_a_failed_one_has_nothing() -> None:
    assert interpret(walk({o.IF_DESCR: {(1,): s(b"eth0")}})).collection.complete
    failed = PollResult("rt", ok=False, error="timeout after 1 retries", units=25)
    assert interpret(failed).collection.completeness == 0.0
