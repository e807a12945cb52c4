"""The poller over real loopback UDP against small agents written here, honest and lying.

A lying agent costs only its own device's poll — never a hang, a crash or a delay for the others. One that
answers is reachable (``ok``) with what it got wrong counted in ``faults`` and the data it spoiled in
``incomplete``; one that never answers properly (silence, garbage, replies from elsewhere) fails with a
recorded error. Dead devices must cost one deadline of wall time, not one per device.
"""

from __future__ import annotations

import asyncio
import bisect
import errno
import functools
import socket
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest

from netmon.collect import ber
from netmon.collect.ber import COUNTER32, COUNTER64, END_OF_MIB_VIEW, OCTET_STRING, TIMETICKS, PduType, VarBind
from netmon.collect.oids import Oid, PollSpec
from netmon.collect.snmp import PollResult, SnmpPoller, Target
from netmon.collect.transport import UdpTransport
from netmon.secrets import Secret

COMMUNITY = b"test-community"
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
COL_A = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
COL_B = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10)
COL_C = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
SPEC = PollSpec("test", scalars=(SYS_UPTIME,), columns=(COL_A, COL_B, COL_C))
ROWS = 12


class Mib:
    """A sorted MIB; ``rows`` rows in each of the spec's columns, values derived from the row number."""

    def __init__(self, rows: int = ROWS) -> None:
        self.rows = rows
        self.extra: list[VarBind] = [(SYS_UPTIME, TIMETICKS, 4242), ((1, 3, 6, 1, 2, 1, 1, 5, 0), OCTET_STRING, b"r")]
        self.extra.append(((1, 3, 6, 1, 2, 1, 99, 1), COUNTER32, 1))  # something after the last column
        self.columns = (COL_A, COL_B, COL_C)

    def cell(self, col: Oid, row: int) -> VarBind:
        if col == COL_A:
            return ((*col, row), OCTET_STRING, f"if{row}".encode())
        if col == COL_B:
            return ((*col, row), COUNTER32, row * 10)
        return ((*col, row), COUNTER64, row * 2**33)

    def next(self, oid: Oid) -> VarBind:
        """The varbind after ``oid`` (rows are computed, so a table can have 100k of them for free)."""
        for col in self.columns:
            if oid < (*col, 1) and self.rows:
                candidate = self.cell(col, 1)
                return min(candidate, self._next_extra(oid) or candidate)
            if oid[: len(col)] == col and len(oid) > len(col) and oid[len(col)] < self.rows:
                return self.cell(col, oid[len(col)] + 1)
        return self._next_extra(oid) or (oid, END_OF_MIB_VIEW, None)

    def _next_extra(self, oid: Oid) -> VarBind | None:
        keys = [vb[0] for vb in self.extra]
        i = bisect.bisect_right(keys, oid)
        return self.extra[i] if i < len(self.extra) else None

    def bulk(self, req: ber.Request, max_varbinds: int = 2000) -> list[VarBind]:
        n = req.non_repeaters
        out = [self.next(oid) for oid in req.oids[:n]]
        last = list(req.oids[n:])
        for _ in range(req.max_repetitions):
            if not last or len(out) >= max_varbinds:
                break
            row = [self.next(oid) for oid in last]
            out += row
            last = [vb[0] for vb in row]
        return out[:max_varbinds]


def sync(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an ``async def`` test in a fresh loop, bounded in time (no pytest-asyncio here)."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(asyncio.wait_for(test(), 30))

    return run


Handler = Callable[[ber.Request, "Agent"], bytes | None]


def honest(mib: Mib) -> Handler:
    def handle(req: ber.Request, agent: Agent) -> bytes:
        return reply(req, mib.bulk(req))

    return handle


def reply(req: ber.Request, varbinds: list[VarBind], status: int = 0, rid: int | None = None) -> bytes:
    return ber.encode_response(req.version, req.community, req.request_id if rid is None else rid, status, 0,
                               varbinds)


class Agent(asyncio.DatagramProtocol):
    """A UDP agent on ``host``; ``handler`` turns a request into reply bytes (None: stay silent)."""

    def __init__(self, handler: Handler, delay_s: float = 0.0) -> None:
        self.handler = handler
        self.delay_s = delay_s
        self.transport: Any = None  # asyncio's datagram transport (its class is not DatagramTransport)
        self.other: socket.socket | None = None  # for replies from the wrong port
        self.requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests += 1
        req = ber.decode_request(data)
        out = self.handler(req, self)
        if out is None or self.transport is None:
            return
        if self.delay_s:
            asyncio.get_running_loop().call_later(self.delay_s, self.transport.sendto, out, addr)
        elif self.other is not None:
            self.other.sendto(out, addr)
        else:
            self.transport.sendto(out, addr)


@asynccontextmanager
async def agents(specs: dict[str, tuple[Handler, str, float]]) -> AsyncIterator[dict[str, Target]]:
    """Start one agent per name ``(handler, host, delay)``; yield a Target per name; stop them all."""
    loop = asyncio.get_running_loop()
    started: list[tuple[asyncio.DatagramTransport, Agent]] = []
    targets: dict[str, Target] = {}
    try:
        for name, (handler, host, delay) in specs.items():
            agent = Agent(handler, delay)
            transport, _ = await loop.create_datagram_endpoint(functools.partial(lambda a: a, agent),
                                                               local_addr=(host, 0))
            started.append((transport, agent))
            port = transport.get_extra_info("sockname")[1]
            targets[name] = Target(name, host, port, community=Secret("env:TEST", COMMUNITY.decode()),
                                   timeout_s=0.4, retries=1)
        yield targets
    finally:
        for transport, agent in started:
            transport.close()
            if agent.other is not None:
                agent.other.close()


# ------------------------------------------------------------------------ lying agents
def echo_request(req: ber.Request, agent: Agent) -> bytes:
    return reply(req, [(oid, COUNTER32, 1) for oid in req.oids])  # the same OIDs back: no progress


def end_of_mib(req: ber.Request, agent: Agent) -> bytes:
    return reply(req, [(oid, END_OF_MIB_VIEW, None) for oid in req.oids])


def no_such_object(req: ber.Request, agent: Agent) -> bytes:
    return reply(req, [(oid, ber.NO_SUCH_OBJECT, None) for oid in req.oids])


def truncated(req: ber.Request, agent: Agent) -> bytes:
    return honest(Mib())(req, agent)[:-5]  # type: ignore[index]


def garbage(req: ber.Request, agent: Agent) -> bytes:
    return b"\x30\x82\x01\x00 this is not BER at all"


def wrong_request_id(req: ber.Request, agent: Agent) -> bytes | None:
    if agent.requests > 1:
        return None
    return reply(req, Mib().bulk(req), rid=req.request_id ^ 0x5A5A)


def from_other_port(req: ber.Request, agent: Agent) -> bytes:
    if agent.other is None:
        agent.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        agent.other.bind(("127.0.0.1", 0))
    return honest(Mib())(req, agent)  # type: ignore[return-value]


def too_big_above_four_rows(req: ber.Request, agent: Agent) -> bytes:
    if req.pdu_type is PduType.GETBULK and req.max_repetitions > 4:
        return reply(req, [(oid, ber.NULL, None) for oid in req.oids], status=1)
    return reply(req, Mib().bulk(req))


def always_too_big(req: ber.Request, agent: Agent) -> bytes:
    return reply(req, [(oid, ber.NULL, None) for oid in req.oids], status=1)


def silent(req: ber.Request, agent: Agent) -> None:
    return None


def check_table(result: PollResult, rows: int = ROWS) -> None:
    assert result.ok, result.error
    assert result.scalars == {SYS_UPTIME: (TIMETICKS, 4242)}
    assert result.columns[COL_A] == {(r,): (OCTET_STRING, f"if{r}".encode()) for r in range(1, rows + 1)}
    assert result.columns[COL_B] == {(r,): (COUNTER32, r * 10) for r in range(1, rows + 1)}
    assert result.columns[COL_C] == {(r,): (COUNTER64, r * 2**33) for r in range(1, rows + 1)}
    assert result.varbinds == 1 + 3 * rows


@sync
async def test_lying_agents_cost_only_their_own_poll_and_do_not_block_the_honest_ones() -> None:
    handlers: dict[str, tuple[Handler, str, float]] = {
        "honest": (honest(Mib()), "127.0.0.1", 0.0),
        "honest-v6": (honest(Mib()), "::1", 0.0),
        "non-increasing": (echo_request, "127.0.0.1", 0.0),
        "end-of-mib": (end_of_mib, "127.0.0.1", 0.0),
        "no-such-object": (no_such_object, "127.0.0.1", 0.0),
        "truncated": (truncated, "127.0.0.1", 0.0),
        "garbage": (garbage, "127.0.0.1", 0.0),
        "wrong-id": (wrong_request_id, "127.0.0.1", 0.0),
        "other-port": (from_other_port, "127.0.0.1", 0.0),
        "huge-table": (honest(Mib(rows=100_000)), "127.0.0.1", 0.0),
        "too-big": (too_big_above_four_rows, "127.0.0.1", 0.0),
        "always-too-big": (always_too_big, "127.0.0.1", 0.0),
        "silent": (silent, "127.0.0.1", 0.0),
    }
    async with agents(handlers) as targets, SnmpPoller(deadline_s=3.0) as poller:
        started = time.perf_counter()
        results = {r.device_id: r for r in await poller.poll(list(targets.values()), SPEC)}
        wall = time.perf_counter() - started
        stats = poller.transport.stats
    errors = {name: r.error for name, r in results.items()}
    check_table(results["honest"])
    check_table(results["honest-v6"])
    check_table(results["too-big"])
    assert results["too-big"].requests > 2
    answered = {name: (r.ok, r.error, r.faults, r.completeness) for name, r in results.items()}
    # the same OIDs back, every time: nothing increases, nothing is kept — but the device answered
    assert answered["non-increasing"] == (True, None, {"non_increasing_oid": 4}, 0.0)
    assert results["non-increasing"].incomplete == dict.fromkeys((SYS_UPTIME, *SPEC.columns), "non_increasing_oid")
    assert answered["end-of-mib"] == (True, None, {"no_data": 1}, 0.0)
    assert answered["no-such-object"] == (True, None, {"no_such_object": 4}, 0.0)
    assert answered["always-too-big"] == (True, None, {"too_big": 1}, 0.0)
    assert errors["truncated"] == "malformed response (2 ignored), then timeout after 1 retries"
    assert errors["garbage"] == "malformed response (2 ignored), then timeout after 1 retries"
    assert results["garbage"].malformed == 2
    assert errors["wrong-id"] == "timeout after 1 retries"
    assert errors["other-port"] == "timeout after 1 retries"
    huge = results["huge-table"]
    assert huge.ok and huge.incomplete == dict.fromkeys(SPEC.columns, "table_too_large")
    assert huge.notes[0] == "more than 20000 rows in 1.3.6.1.2.1.2.2.1.2"
    assert len(huge.columns[COL_A]) > 20_000 and huge.scalars  # what was read is kept
    assert errors["silent"] == "timeout after 1 retries"
    assert (results["silent"].requests, results["silent"].retries, results["silent"].timeouts) == (1, 1, 2)
    assert stats.stray >= 3  # wrong request-id once, other port twice
    assert stats.malformed == 4
    assert wall < 2.5  # one timeout * 2 attempts plus the huge table, not the sum over devices


@sync
async def test_dead_devices_cost_one_deadline_not_the_sum() -> None:
    """50 live + 12 never-answering devices, timeout 1 s, retries 1: done in about one deadline."""
    live = {f"live-{i}": (honest(Mib()), f"127.20.0.{i + 1}", 0.0) for i in range(50)}
    dead = {f"dead-{i}": (silent, f"127.20.1.{i + 1}", 0.0) for i in range(12)}
    async with agents({**dead, **live}) as targets, SnmpPoller(concurrency=8) as poller:
        fleet = [Target(t.device_id, t.host, t.port, community=t.community, timeout_s=1.0, retries=1)
                 for t in targets.values()]
        started = time.perf_counter()
        results = await poller.poll(fleet, SPEC)
        wall = time.perf_counter() - started
    assert [r.device_id for r in results] == [t.device_id for t in fleet]  # in the order asked
    for r in results:
        if r.device_id.startswith("live"):
            check_table(r)
        else:
            assert r.error == "timeout after 1 retries"
            assert 1.9 < r.elapsed_s < 2.6
    # 12 dead devices > 8 slots: they give their slot up after 0.5 s of silence instead of blocking
    assert wall < 3.0


@sync
async def test_known_dead_devices_start_without_a_slot() -> None:
    dead = {f"dead-{i}": (silent, f"127.20.2.{i + 1}", 0.0) for i in range(6)}
    live = {f"live-{i}": (honest(Mib()), f"127.20.3.{i + 1}", 0.0) for i in range(6)}
    async with agents({**dead, **live}) as targets, SnmpPoller(concurrency=2, slot_release_s=10) as poller:
        fleet = [Target(t.device_id, t.host, t.port, community=t.community, timeout_s=0.3, retries=0)
                 for t in targets.values()]
        await poller.poll(fleet, SPEC)  # learns who is silent (slowly: slots are held for the whole wait)
        started = time.perf_counter()
        results = await poller.poll(fleet, SPEC)
        wall = time.perf_counter() - started
    assert sum(r.ok for r in results) == 6
    assert wall < 0.6  # all six dead wait together, without holding the two slots


@sync
async def test_a_late_reply_to_the_first_attempt_still_counts() -> None:
    async with agents({"slow": (honest(Mib()), "127.0.0.1", 0.6)}) as targets, SnmpPoller() as poller:
        result = await poller.poll_one(targets["slow"], SPEC)  # timeout 0.4 s, retries 1
    check_table(result)
    assert result.timeouts >= 1 and result.retries >= 1


@sync
async def test_deadline_ends_a_walk_that_is_too_slow() -> None:
    slow = {"slow": (honest(Mib(rows=500)), "127.0.0.1", 0.15)}
    async with agents(slow) as targets, SnmpPoller(deadline_s=0.5, max_response_bytes=2000) as poller:
        result = await poller.poll_one(targets["slow"], SPEC)
    assert result.ok and result.error is None  # it answered, too slowly: what came is kept, the rest incomplete
    assert result.notes[0].startswith("deadline of 0.5 s exceeded after")
    assert result.incomplete == dict.fromkeys(SPEC.columns, "deadline") and result.faults == {"deadline": 1}
    assert 0 < len(result.columns[COL_A]) < 500
    assert result.elapsed_s < 0.8


@sync
async def test_results_are_sized_to_the_agent_cap() -> None:
    """An agent that cuts GETBULK answers at 10 varbinds is walked completely all the same."""
    mib = Mib(rows=40)

    def capped(req: ber.Request, agent: Agent) -> bytes:
        return reply(req, mib.bulk(req, max_varbinds=10))

    async with agents({"capped": (capped, "127.0.0.1", 0.0)}) as targets, SnmpPoller() as poller:
        result = await poller.poll_one(targets["capped"], SPEC)
    check_table(result, rows=40)


@sync
async def test_a_reply_just_after_the_timer_fired_is_kept_for_the_next_attempt() -> None:
    transport = UdpTransport(sockets=1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as agent:
        agent.bind(("127.0.0.1", 0))
        agent.settimeout(2)
        port = agent.getsockname()[1]
        ex = transport.expect(transport.new_id(), "127.0.0.1", port)
        transport.send("127.0.0.1", port, b"request")
        _data, manager = agent.recvfrom(100)
        ex.future.set_result(None)  # the timer fired
        req = ber.Request(1, COMMUNITY, PduType.GET, ex.request_id, 0, 0, [SYS_UPTIME])
        agent.sendto(reply(req, [(SYS_UPTIME, TIMETICKS, 7)]), manager)
        for _ in range(100):  # bounded: the reader runs within a few loop iterations
            await asyncio.sleep(0.01)
            if ex.late is not None:
                break
        transport.rearm(ex)
        assert ex.future.done()
        late = ex.future.result()
        assert late is not None and late[0].varbinds == [(SYS_UPTIME, TIMETICKS, 7)]
        transport.done(ex)
        transport.close()


def test_poller_rejects_zero_concurrency() -> None:
    with pytest.raises(ValueError):
        SnmpPoller(concurrency=0)


@pytest.mark.parametrize(("code", "says"), [
    (errno.EINVAL, "send failed: no route to host"),  # a blackhole route's answer to sendto()
    (errno.ENETUNREACH, "send failed: no route to host"),
    (errno.ENOBUFS, "send failed: No buffer space available"),
])
def test_a_request_that_cannot_be_sent_says_why_in_the_operators_words(code: int, says: str) -> None:
    import os

    from netmon.collect.snmp import _send_failure

    assert _send_failure(OSError(code, os.strerror(code))) == says
