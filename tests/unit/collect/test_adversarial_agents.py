"""The seven misbehaviours of issue #14, each played by a real UDP agent on loopback, and what a correct
poller reports about each: reachable (a device that answers is never "unreachable"), which data is complete,
no duplicate rows, no invented zeros, rates never negative and never spiking.

1. an ifTable walk whose OIDs jump back to an earlier row (ifXTable served correctly);
2. a varbind repeated in every GETBULK answer (net-snmp prints it twice and carries on);
3. noSuchObject for sysUpTime.0, noSuchInstance for the ifHC* cells inside the walk;
4. Counter32 / Gauge32 / TimeTicks of 2**31 or more without their leading zero octet (``41 04 FF …``);
5. no ifXTable (older equipment): names from ifDescr, padded with NULs and blanks, or none at all;
6. SNMP dead while ping answers (agent crashed, wrong community, garbage replies): one blind warning;
7. sysUpTime falling from ~30 s to ~0: one reboot, counted by the rates and by the state machine alike.

The agent (:class:`Agent`) implements GET / GETNEXT / GETBULK (RFC 3416) over a small router's MIB
(:class:`Router`: system group, ifTable and ifXTable of three interfaces whose counters grow with time) with
the project's BER encoder, and lies where each test tells it to: in the next OID it finds, in the varbinds it
answers, or in the bytes it sends. The whole path is the real one: SnmpPoller over UDP, the BER decoder,
interpret, the counter rates, and (classes 5-7) the Monitor with the mini inventory's topology, real ICMP
where the machine allows raw sockets (as root), /metrics rendered from it.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from netmon import mib as o
from netmon.collect import ber
from netmon.collect.ber import COUNTER32, COUNTER64, GAUGE32, INTEGER, OCTET_STRING, TIMETICKS, VarBind
from netmon.collect.icmp import IcmpProber, IcmpResult
from netmon.collect.oids import DEVICE_SPEC, Oid
from netmon.collect.snmp import SnmpPoller, Target
from netmon.expose.metrics import MonitorCollector
from netmon.health.interpret import interpret
from netmon.health.observation import DeviceObs
from netmon.health.rates import CounterTracker, Reason
from netmon.health.states import Params, State
from netmon.inventory.load import load_inventory
from netmon.monitor import Monitor
from netmon.secrets import Secret

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "inventory" / "mini"
COMMUNITY = "adversarial-community"
SPEED = 100_000_000  # bit/s of every interface
RATE = 2_000_000  # octets/s in and out on every interface (16 % of the link)


def sync(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an ``async def`` test in a fresh loop, bounded in time."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(asyncio.wait_for(test(), 60))

    return run


# ------------------------------------------------------------------------------------------------ the agent
class Router:
    """A small router's MIB at a moment: system group, ifTable, ifXTable; counters grow at RATE since boot.

    ``names``: ifName per interface (None: the agent has no ifXTable at all); ``descrs``: ifDescr as sent
    (bytes, padding included); ``offset``: octets already counted at boot (to start near 2**31 or 2**32)."""

    def __init__(self, *, boot: float | None = None, names: Sequence[str] | None = ("Gi0/0", "Gi0/1", "Gi0/2"),
                 descrs: Sequence[bytes] = (b"GigabitEthernet0/0", b"GigabitEthernet0/1", b"GigabitEthernet0/2"),
                 offset: int = 0, speed: int = SPEED) -> None:
        self.boot = time.time() - 3600 if boot is None else boot
        self.names = names
        self.descrs = descrs
        self.offset = offset
        self.speed = speed

    def octets(self, now: float, bits: int) -> int:
        return (self.offset + int(RATE * (now - self.boot))) % (1 << bits)

    def varbinds(self, now: float) -> list[VarBind]:
        ticks = int((now - self.boot) * 100) % (1 << 32)
        out: list[VarBind] = [
            (o.SYS_DESCR, OCTET_STRING, b"adversarial router"),
            (o.SYS_OBJECT_ID, ber.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 9)),
            (o.SYS_UPTIME, TIMETICKS, ticks), (o.SYS_CONTACT, OCTET_STRING, b"noc"),
            (o.SYS_NAME, OCTET_STRING, b"rt"), (o.SYS_LOCATION, OCTET_STRING, "Trà Vinh".encode()),
            (o.IF_NUMBER, INTEGER, len(self.descrs)),
        ]
        c32, c64 = self.octets(now, 32), self.octets(now, 64)
        for i, descr in enumerate(self.descrs, start=1):
            out += [((*o.IF_INDEX, i), INTEGER, i), ((*o.IF_DESCR, i), OCTET_STRING, descr),
                    ((*o.IF_TYPE, i), INTEGER, 6), ((*o.IF_MTU, i), INTEGER, 1500),
                    ((*o.IF_SPEED, i), GAUGE32, self.speed), ((*o.IF_PHYS_ADDRESS, i), OCTET_STRING, bytes(6)),
                    ((*o.IF_ADMIN_STATUS, i), INTEGER, 1), ((*o.IF_OPER_STATUS, i), INTEGER, 1),
                    ((*o.IF_LAST_CHANGE, i), TIMETICKS, 0), ((*o.IF_IN_OCTETS, i), COUNTER32, c32),
                    ((*o.IF_IN_DISCARDS, i), COUNTER32, 0), ((*o.IF_IN_ERRORS, i), COUNTER32, 3),
                    ((*o.IF_OUT_OCTETS, i), COUNTER32, c32), ((*o.IF_OUT_DISCARDS, i), COUNTER32, 0),
                    ((*o.IF_OUT_ERRORS, i), COUNTER32, 0)]
            if self.names is not None:
                out += [((*o.IF_NAME, i), OCTET_STRING, self.names[i - 1].encode()),
                        ((*o.IF_HC_IN_OCTETS, i), COUNTER64, c64), ((*o.IF_HC_OUT_OCTETS, i), COUNTER64, c64),
                        ((*o.IF_HIGH_SPEED, i), GAUGE32, self.speed // 1_000_000),
                        ((*o.IF_ALIAS, i), OCTET_STRING, f"uplink {i}".encode()),
                        ((*o.IF_COUNTER_DISCONTINUITY_TIME, i), TIMETICKS, 0)]
        out.append(((1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2, 1), OCTET_STRING, b"chassis"))  # something after
        return sorted(out)


Lie = Callable[[ber.Request, list[VarBind]], list[VarBind]]


class Agent(asyncio.DatagramProtocol):
    """RFC 3416 over ``router``'s MIB; answers only ``COMMUNITY`` (another community: silence, as net-snmp).

    ``successor`` replaces "the next OID after" (a looping table); ``lie`` rewrites the answer's varbinds;
    ``encode`` the answer's bytes; ``mode``: "honest", "silent" (crashed agent) or "garbage"."""

    def __init__(self, router: Router, *, successor: Callable[[Oid, list[VarBind]], VarBind | None] | None = None,
                 lie: Lie | None = None, encode: Callable[[ber.Request, list[VarBind]], bytes] | None = None) -> None:
        self.router = router
        self.successor = successor
        self.lie = lie
        self.encode = encode
        self.mode = "honest"
        self.transport: Any = None
        self.requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests += 1
        if self.mode == "silent":
            return
        if self.mode == "garbage":
            self.transport.sendto(b"\x30\x82\x01\x00 not BER at all", addr)
            return
        req = ber.decode_request(data)
        if req.community != COMMUNITY.encode():
            return
        varbinds = self.answer(req)
        if self.lie is not None:
            varbinds = self.lie(req, varbinds)
        if self.encode is not None:
            out = self.encode(req, varbinds)
        else:
            out = ber.encode_response(req.version, req.community, req.request_id, 0, 0, varbinds)
        self.transport.sendto(out, addr)

    def answer(self, req: ber.Request) -> list[VarBind]:
        mib = self.router.varbinds(time.time())
        oids = [vb[0] for vb in mib]

        def get(oid: Oid) -> VarBind:
            i = bisect.bisect_left(oids, oid)
            return mib[i] if i < len(mib) and oids[i] == oid else (oid, ber.NO_SUCH_OBJECT, None)

        def after(oid: Oid) -> VarBind:
            if self.successor is not None:
                found = self.successor(oid, mib)
                if found is not None:
                    return found
            i = bisect.bisect_right(oids, oid)
            return mib[i] if i < len(mib) else (oid, ber.END_OF_MIB_VIEW, None)

        if req.pdu_type is ber.PduType.GET:
            return [get(oid) for oid in req.oids]
        if req.pdu_type is ber.PduType.GETNEXT:
            return [after(oid) for oid in req.oids]
        n = req.non_repeaters
        out = [after(oid) for oid in req.oids[:n]]
        last = list(req.oids[n:])
        for _ in range(req.max_repetitions):
            row = [after(oid) for oid in last]
            out += row
            last = [vb[0] for vb in row]
            if all(vb[1] == ber.END_OF_MIB_VIEW for vb in row) or len(out) > 1000:
                break
        return out


@asynccontextmanager
async def serving(agents: dict[str, tuple[Agent, str]]) -> AsyncIterator[dict[str, Target]]:
    """Each agent on its own loopback address: ``{name: (agent, host)}`` → a Target per name."""
    loop = asyncio.get_running_loop()
    transports = []
    targets = {}
    try:
        for name, (agent, host) in agents.items():
            transport, _ = await loop.create_datagram_endpoint(lambda a=agent: a, local_addr=(host, 0))  # type: ignore[misc]
            transports.append(transport)
            targets[name] = Target(name, host, transport.get_extra_info("sockname")[1],
                                   community=Secret("env:ADVERSARIAL", COMMUNITY), timeout_s=0.3, retries=1)
        yield targets
    finally:
        for transport in transports:
            transport.close()


async def poll_twice(target: Target, gap_s: float = 1.0) -> tuple[list[DeviceObs], CounterTracker, list[Any]]:
    """Two polls ``gap_s`` apart through the real poller; the observations, the counter tracker, the rates."""
    tracker = CounterTracker()
    observations, rates = [], []
    async with SnmpPoller() as poller:
        for i in range(2):
            if i:
                await asyncio.sleep(gap_s)
            (result,) = await poller.poll([target], DEVICE_SPEC)
            obs = interpret(result)
            observations.append(obs)
            rates.append(tracker.update(target.device_id, obs))
    return observations, tracker, rates


def assert_sane_rates(obs: DeviceObs, rates: Any) -> None:
    """Rates never negative, never infinite, never above the link's speed."""
    for if_index, r in rates.interfaces.items():
        speed = obs.interfaces[if_index].speed_bps
        for v in (r.in_bps, r.out_bps, r.in_errors_ps, r.out_errors_ps, r.in_discards_ps, r.out_discards_ps):
            assert v is None or (v >= 0 and math.isfinite(v)), (if_index, r)
        for v in (r.in_bps, r.out_bps):
            assert v is None or speed is None or v <= speed


def assert_close_to_rate(bps: float | None) -> None:
    assert bps is not None and abs(bps - 8 * RATE) < 0.25 * 8 * RATE, bps


# --------------------------------------------------------------------------------- 1. non-increasing OIDs
@sync
async def test_1_a_looping_iftable_keeps_its_rows_once_and_the_ifxtable() -> None:
    """After row 2, every ifTable column jumps back to row 1: the agent answers, its ifTable is incomplete
    (rows 1-2 kept, once), its ifXTable is complete — three interfaces, named, with 64-bit rates."""

    def loop(oid: Oid, mib: list[VarBind]) -> VarBind | None:
        column = oid[:10]
        if column[:9] == o.IF_ENTRY and len(oid) == 11 and oid[10] >= 2:
            return next(vb for vb in mib if vb[0] == (*column, 1))  # back to row 1
        return None

    async with serving({"loop": (Agent(Router(), successor=loop), "127.14.0.1")}) as targets:
        (first, second), tracker, (_, rates) = await poll_twice(targets["loop"])
    assert first.ok and first.error is None  # reachable
    assert sorted(second.interfaces) == [1, 2, 3]  # no duplicates, and interface 3 from ifXTable
    itf = second.interfaces
    assert [i.name for i in itf.values()] == ["Gi0/0", "Gi0/1", "Gi0/2"]
    assert (itf[1].oper_status, itf[2].oper_status, itf[3].oper_status) == (1, 1, None)  # unknown, not 0
    assert itf[3].in_errors is None and itf[3].descr is None  # no invented values for the rows not read
    assert all(i.bits == 64 for i in itf.values())
    c = second.collection
    assert dict(c.tables) == {"system": "complete", "ifTable": "non_increasing_oid", "ifXTable": "complete"}
    assert c.faults["non_increasing_oid"] == 13 and 0 < c.completeness < 1
    assert_sane_rates(second, rates)
    for i in (1, 2, 3):
        assert_close_to_rate(rates.interfaces[i].in_bps)
    assert not tracker.discontinuity_counts("loop")


# --------------------------------------------------------------------------------- 2. a repeated varbind
@sync
async def test_2_a_repeated_varbind_is_dropped_once_and_nothing_is_lost() -> None:
    def repeat(req: ber.Request, varbinds: list[VarBind]) -> list[VarBind]:
        if req.pdu_type is not ber.PduType.GETBULK or len(varbinds) < 12:
            return varbinds
        return [*varbinds[:11], varbinds[10], *varbinds[11:]]  # the 11th varbind twice in a row

    router = Router()
    agents = {"repeats": (Agent(router, lie=repeat), "127.14.0.2"), "honest": (Agent(router), "127.14.0.3")}
    async with serving(agents) as targets:
        (_, lying), _, (_, rates) = await poll_twice(targets["repeats"])
        (_, honest), _, _ = await poll_twice(targets["honest"])
    assert lying.ok and lying.collection.completeness == 1.0
    assert dict(lying.collection.faults) == {"duplicate_varbind": 1}
    assert lying.collection.incomplete == {}
    assert lying.interfaces.keys() == honest.interfaces.keys() == {1, 2, 3}  # no duplicate rows
    for i, itf in lying.interfaces.items():  # the same interfaces (counters move with time: compared apart)
        assert (itf.name, itf.descr, itf.oper_status, itf.bits, itf.in_errors) == (
            honest.interfaces[i].name, honest.interfaces[i].descr, honest.interfaces[i].oper_status, 64, 3)
    assert_sane_rates(lying, rates)
    assert_close_to_rate(rates.interfaces[1].in_bps)


# ----------------------------------------------------------------------- 3. noSuchObject / noSuchInstance
@sync
async def test_3_no_such_object_and_no_such_instance_are_missing_values_not_an_unreachable_device() -> None:
    """sysUpTime.0 noSuchObject (to GET and GETNEXT alike), every ifHC* cell noSuchInstance inside the walk:
    reachable, uptime unknown (None, not 0), rates from the 32-bit counters."""
    hc = (o.IF_HC_IN_OCTETS, o.IF_HC_OUT_OCTETS)

    def no_such(req: ber.Request, varbinds: list[VarBind]) -> list[VarBind]:
        out: list[VarBind] = []
        for oid, tag, value in varbinds:
            if oid == o.SYS_UPTIME:
                out.append((oid, ber.NO_SUCH_OBJECT, None))
            elif oid[:11] in hc:
                out.append((oid, ber.NO_SUCH_INSTANCE, None))
            else:
                out.append((oid, tag, value))
        return out

    async with serving({"nosuch": (Agent(Router(), lie=no_such), "127.14.0.4")}) as targets:
        (_, obs), tracker, (_, rates) = await poll_twice(targets["nosuch"])
    assert obs.ok and obs.uptime_ticks is None
    assert all(i.bits == 32 and i.in_octets is not None for i in obs.interfaces.values())
    assert dict(obs.collection.incomplete) == {"sysUpTime": "no_such_object", "ifHCInOctets": "no_such_instance",
                                               "ifHCOutOctets": "no_such_instance"}
    assert_sane_rates(obs, rates)
    for i in (1, 2, 3):
        assert_close_to_rate(rates.interfaces[i].in_bps)
        assert_close_to_rate(rates.interfaces[i].out_bps)
    assert Reason.REBOOT not in tracker.discontinuity_counts("nosuch")


# ------------------------------------------------------------------ 4. unsigned values without their zero octet
def unpadded(req: ber.Request, varbinds: list[VarBind]) -> bytes:
    """The answer with every unsigned 32-bit value of 2**31 or more sent without its leading zero octet."""
    encoded = []
    for oid, tag, value in varbinds:
        vb = ber.encode_varbind(oid, tag, value)
        if tag in (COUNTER32, GAUGE32, TIMETICKS) and isinstance(value, int) and value >= 2**31:
            head = ber.encode_varbind(oid, ber.NULL, None)[2:-2]  # the name's TLV
            vb = b"\x30" + ber.encode_length(len(head) + 6) + head + bytes([tag, 4]) + value.to_bytes(4, "big")
        encoded.append(vb)
    return ber.encode_response_from_encoded_varbinds(req.version, req.community, req.request_id, 0, 0, encoded)


@sync
async def test_4_unsigned_values_without_their_leading_zero_octet_are_read_as_net_snmp_reads_them() -> None:
    """Counter32 crossing 2**31 between the polls, ifSpeed 4 Gbit/s, sysUpTime past 248 days: all sent as
    ``4x 04 FF …``. Before, the whole reply was discarded and the device timed out."""
    now = time.time()
    router = Router(boot=now - 260 * 86400, names=None, offset=2**31 - int(RATE * 260 * 86400) - RATE // 4,
                    speed=4_000_000_000)
    async with serving({"unpadded": (Agent(router, encode=unpadded), "127.14.0.5")}) as targets:
        (first, second), _, (_, rates) = await poll_twice(targets["unpadded"])
    assert first.ok and second.ok
    assert second.uptime_ticks is not None and second.uptime_ticks > 2**31
    itf = second.interfaces[1]
    assert itf.speed_bps == 4_000_000_000 and itf.in_octets is not None and itf.in_octets >= 2**31
    assert first.interfaces[1].in_octets is not None and first.interfaces[1].in_octets < 2**31  # it crossed
    assert second.collection.completeness == 1.0 and second.collection.faults["unpadded_unsigned"] >= 1  # a reply
    assert "unsigned value(s) without the leading zero octet" in second.collection.notes[0]
    assert_sane_rates(second, rates)
    assert_close_to_rate(rates.interfaces[1].in_bps)


# ----------------------------------------------------------------------------------------- 5. no ifXTable
@sync
async def test_5_without_ifxtable_interfaces_are_named_by_ifdescr_and_the_watched_link_matches() -> None:
    """An older router without ifXTable, ifDescr padded with NULs and blanks (and one without any name):
    interfaces named by ifDescr, else 'ifIndex N'; the inventory's watched interface (the district's end of
    link core-cau-ngang, GigabitEthernet0/0) matches, so the link is watched; 32-bit rates."""
    router = Router(names=None, descrs=(b"GigabitEthernet0/0\x00\x00", b"Serial0/1/0   ", b""))
    async with serving({"rt-cau-ngang": (Agent(router), "127.14.0.6")}) as targets:
        monitor = Monitor(load_inventory(MINI), list(targets.values()), SnmpPoller(), NoPing(), confirm_after_s=60)
        try:
            await monitor.poll_batch(["rt-cau-ngang"])
            await asyncio.sleep(0.6)
            await monitor.poll_batch(["rt-cau-ngang"])
        finally:
            monitor.poller.close()  # type: ignore[attr-defined]
    obs = monitor.observations["rt-cau-ngang"]
    assert [i.label for i in obs.interfaces.values()] == ["GigabitEthernet0/0", "Serial0/1/0", "ifIndex 3"]
    assert obs.collection.complete  # an agent without ifXTable is not at fault: those columns are empty
    link = monitor.health.links["core-cau-ngang"]
    assert link.observed is State.UP and link.reported_by == ("rt-cau-ngang",)
    rates = monitor.rates["rt-cau-ngang"]
    assert_sane_rates(obs, rates)
    assert_close_to_rate(rates.interfaces[1].in_bps)
    families = metrics(monitor)
    labels = {s.labels["interface"] for s in families["netmon_interface_in_octets"].samples}
    assert labels == {"GigabitEthernet0/0", "Serial0/1/0", "ifIndex 3"}


# ------------------------------------------------------------------------------ 6. SNMP dead, ping alive
class NoPing:
    enabled = False

    async def probe(self, hosts: Sequence[str]) -> dict[str, IcmpResult]:
        return {}


class AlwaysAnswers:
    """ICMP for a machine without raw sockets (not root): every loopback address answers, as it would."""

    enabled = True

    async def probe(self, hosts: Sequence[str]) -> dict[str, IcmpResult]:
        now = time.time()
        return {h: IcmpResult(h, now, 2, 2, 0.05, 0.05, 0.06, 0.01) for h in hosts}


def metrics(monitor: Monitor) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(MonitorCollector(monitor).render().decode())}


def sample(families: dict[str, Any], name: str, **labels: str) -> float | None:
    found = [s.value for s in families[name].samples if all(s.labels.get(k) == v for k, v in labels.items())]
    return found[0] if found else None


@sync
async def test_6_snmp_dead_while_ping_answers_makes_netmon_blind_to_it_once() -> None:
    """The district router's agent crashes (silent), then answers garbage, then another community: it stays
    up (no DeviceDown, no incident, the communes behind it untouched) and, after blind_after_s, netmon is
    blind to it: netmon_device_blind 1 (the DeviceBlind warning); resolved when SNMP answers again."""
    icmp = IcmpProber(count=2, interval_s=0.05, timeout_s=0.5) if os.geteuid() == 0 else AlwaysAnswers()
    district, communes = Agent(Router()), {"rt-tt-cau-ngang": "127.14.0.8", "rt-my-long-bac": "127.14.0.9"}
    agents = {"rt-cau-ngang": (district, "127.14.0.7"), **{d: (Agent(Router()), h) for d, h in communes.items()}}
    async with serving(agents) as targets:
        monitor = Monitor(load_inventory(MINI), list(targets.values()), SnmpPoller(), icmp, confirm_after_s=60,
                          params=Params(blind_after_s=1.0))
        everyone = list(targets)

        async def rounds(n: int) -> None:
            for _ in range(n):
                await monitor.poll_batch(everyone)
                await asyncio.sleep(0.4)

        try:
            await rounds(1)
            assert monitor.health.devices["rt-cau-ngang"].state is State.UP
            seen_blind, seen_incidents = [], set()
            for mode in ("silent", "garbage", "wrong-community"):
                if mode == "wrong-community":
                    district.mode = "honest"
                    monitor.by_id["rt-cau-ngang"] = Target(
                        "rt-cau-ngang", targets["rt-cau-ngang"].host, targets["rt-cau-ngang"].port,
                        community=Secret("env:ADVERSARIAL", "changed-on-the-router"), timeout_s=0.3, retries=1)
                else:
                    district.mode = mode
                for _ in range(2):
                    await rounds(1)
                    seen_blind.append(monitor.health.devices["rt-cau-ngang"].blind)
                    seen_incidents |= set(monitor.incidents)
            families = metrics(monitor)
            during = {d: monitor.health.devices[d].state for d in everyone}
            monitor.by_id["rt-cau-ngang"] = targets["rt-cau-ngang"]  # the community fixed
            await rounds(1)
            after = monitor.health.devices["rt-cau-ngang"]
        finally:
            monitor.poller.close()  # type: ignore[attr-defined]
    assert seen_blind[0] is False and all(seen_blind[2:])  # blind once it lasted blind_after_s, and stays
    assert seen_incidents == set()  # no DeviceDown, nothing for the sites behind it
    assert during == dict.fromkeys(everyone, State.UP)
    assert sample(families, "netmon_device_blind", device="rt-cau-ngang") == 1.0
    assert sample(families, "netmon_device_status", device="rt-cau-ngang", state="up") == 1.0
    assert sample(families, "netmon_device_up", device="rt-cau-ngang") == 0.0
    assert sample(families, "netmon_device_collection_completeness", device="rt-cau-ngang") == 0.0
    for commune in communes:
        assert sample(families, "netmon_device_blind", device=commune) == 0.0
    assert not after.blind and after.blind_since is None and after.state is State.UP


@sync
async def test_6b_an_agent_that_answers_with_no_data_is_blindness_too() -> None:
    """A view or ACL that hides everything: endOfMibView for every OID. Reachable, completeness 0, blind."""

    def nothing(oid: Oid, mib: list[VarBind]) -> VarBind:
        return (oid, ber.END_OF_MIB_VIEW, None)

    async with serving({"rt-cau-ngang": (Agent(Router(), successor=nothing), "127.14.0.10")}) as targets:
        monitor = Monitor(load_inventory(MINI), list(targets.values()), SnmpPoller(), NoPing(), confirm_after_s=60,
                          params=Params(blind_after_s=0.5))
        try:
            for _ in range(3):
                await monitor.poll_batch(["rt-cau-ngang"])
                await asyncio.sleep(0.3)
        finally:
            monitor.poller.close()  # type: ignore[attr-defined]
    obs, health = monitor.observations["rt-cau-ngang"], monitor.health.devices["rt-cau-ngang"]
    assert obs.ok and obs.collection.completeness == 0.0 and dict(obs.collection.faults) == {"no_data": 1}
    assert health.state is State.UP and health.blind and not monitor.incidents


# -------------------------------------------------------------------------------------- 7. one reboot rule
@sync
async def test_7_sysuptime_falling_from_30_s_to_0_is_one_reboot_for_rates_and_states_alike() -> None:
    router = Router(boot=time.time() - 30)
    async with serving({"rt-cau-ngang": (Agent(router), "127.14.0.11")}) as targets:
        monitor = Monitor(load_inventory(MINI), list(targets.values()), SnmpPoller(), NoPing(), confirm_after_s=60)
        try:
            await monitor.poll_batch(["rt-cau-ngang"])
            before = monitor.tracker.totals("rt-cau-ngang")
            await asyncio.sleep(0.5)
            router.boot = time.time() - 0.2  # rebooted: uptime ~0, counters from 0
            await monitor.poll_batch(["rt-cau-ngang"])
            await asyncio.sleep(0.5)
            await monitor.poll_batch(["rt-cau-ngang"])
        finally:
            monitor.poller.close()  # type: ignore[attr-defined]
    assert monitor.reboots["rt-cau-ngang"] == 1
    assert monitor.tracker.discontinuity_counts("rt-cau-ngang").get(Reason.REBOOT) == 1
    families = metrics(monitor)
    assert sample(families, "netmon_device_reboots", device="rt-cau-ngang") == 1.0
    assert sample(families, "netmon_counter_discontinuities", device="rt-cau-ngang", reason="reboot") == 1.0
    after = monitor.tracker.totals("rt-cau-ngang")
    for if_index, totals in before.items():  # exported counters never go back, and the reboot adds nothing big
        for name, value in totals.items():
            assert value <= after[if_index][name] <= value + 8 * RATE
    assert_sane_rates(monitor.observations["rt-cau-ngang"], monitor.rates["rt-cau-ngang"])


def test_the_seven_classes_are_all_here() -> None:
    names = [n for n in globals() if n.startswith("test_") and n[5].isdigit()]
    assert sorted({n[5] for n in names}) == [str(i) for i in range(1, 8)]
