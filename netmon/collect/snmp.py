"""The async SNMP collection engine: poll many devices at once, each within its own deadline.

I/O only: a poll returns :class:`PollResult` dataclasses and knows nothing of the database or Prometheus.

* v1/v2c take the fast path: our BER codec (:mod:`netmon.collect.ber`) over a few shared UDP sockets
  (:mod:`netmon.collect.transport`), walking all columns of a spec side by side with GETBULK
  (:mod:`netmon.collect.walk`). pysnmp costs ~620 µs of CPU per varbind here; this path costs a few.
* SNMPv3 takes the same path: the USM (:mod:`netmon.collect.usm`, :mod:`netmon.collect.v3`) wraps the same
  requests, over the same sockets, with the same deadlines and slots; only discovery and time
  synchronisation add round trips, once per agent.

Why a per-device deadline and a slot that dead devices give back: one slow or dead device must never
stall the cycle (the classic LibreNMS / snmp_exporter complaint). Every device has a deadline covering all
its retries, and a device silent for half a second stops counting against the concurrency cap while it
waits (a live agent answers in milliseconds), so 20 % dead devices cost one deadline of wall time, not
one per 256 of them.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Sequence
from functools import partial
from types import TracebackType

from netmon.collect.ber import V1, V2C, PduType, Response, encode_request
from netmon.collect.oids import DEVICE_SPEC, DISCOVERY_SPEC, IF_MIB_SPEC, USM_STATS_NOT_IN_TIME_WINDOWS, PollSpec
from netmon.collect.target import Target, targets_from_inventory
from netmon.collect.transport import Exchange, UdpTransport
from netmon.collect.v3 import MAX_ROUNDS, Incoming, V3Error, V3Session
from netmon.collect.walk import PollResult, Walk

__all__ = [
    "DEVICE_SPEC",
    "DISCOVERY_SPEC",
    "IF_MIB_SPEC",
    "PollResult",
    "PollSpec",
    "SnmpPoller",
    "Target",
    "targets_from_inventory",
]

log = logging.getLogger(__name__)

Reply = tuple[Response | Incoming, int] | None
AUTHORIZATION_ERROR = 16  # error-status of an SNMPv3 request the agent's access control refuses


class _Budget:
    """A device's time: ``deadline`` bounds silence and moves on while it answers, up to ``hard``."""

    __slots__ = ("deadline", "deadline_s", "hard")

    def __init__(self, now: float, deadline_s: float, hard_s: float) -> None:
        self.deadline_s = deadline_s
        self.deadline = now + deadline_s
        self.hard = now + hard_s


class _Slot:
    """One of the poller's concurrency slots, which a device may give back while it waits on retries."""

    __slots__ = ("held", "sem")

    def __init__(self, sem: asyncio.Semaphore) -> None:
        self.sem = sem
        self.held = False

    async def acquire(self) -> None:
        await self.sem.acquire()
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.sem.release()


def _expire(fut: asyncio.Future[Reply]) -> None:
    if not fut.done():
        fut.set_result(None)


class SnmpPoller:
    """Polls targets with a :class:`PollSpec`. Use ``async with SnmpPoller() as p`` (or call :meth:`close`).

    ``concurrency`` caps devices actively walking; one silent for ``slot_release_s`` stops counting (it is
    probably dead) and queues for a slot again if it answers; one that did not answer at all in its
    previous poll starts without a slot, so known-dead devices all start their timers at once.
    ``max_response_bytes`` sizes GETBULK requests (rows per request adapt to the bytes per varbind seen);
    agents that answer tooBig get half as many rows per request. ``max_rows`` ends an endless table with
    an error. ``deadline_s`` overrides the per-device deadline, by default
    ``timeout_s * (retries + 1) + deadline_margin_s`` (SNMPv3: plus the same again for engine discovery).
    """

    def __init__(
        self,
        *,
        concurrency: int = 256,
        max_repetitions: int = 64,
        max_response_bytes: int = 32_000,
        max_rows: int = 20_000,
        deadline_s: float | None = None,
        deadline_margin_s: float = 0.5,
        slot_release_s: float = 0.5,
        sockets: int = 2,
        rcvbuf: int = 8 << 20,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.max_repetitions = max_repetitions
        self.max_response_bytes = max_response_bytes
        self.max_rows = max_rows
        self.deadline_s = deadline_s
        self.deadline_margin_s = deadline_margin_s
        self.slot_release_s = slot_release_s
        self.transport = UdpTransport(sockets, rcvbuf)
        self._slots = asyncio.Semaphore(concurrency)
        self._v3 = V3Session()
        self._hints: dict[tuple[str, str], int] = {}  # (device, spec) -> rows seen last time
        self._silent: set[str] = set()  # devices that did not answer at all last time

    async def __aenter__(self) -> SnmpPoller:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()
        self._v3.close()

    # ---------------------------------------------------------------------- API
    async def poll(self, targets: Sequence[Target], spec: PollSpec) -> list[PollResult]:
        """Poll every target (at most ``concurrency`` at a time); results in the order of ``targets``."""
        return list(await asyncio.gather(*(self.poll_one(t, spec) for t in targets)))

    async def poll_one(self, target: Target, spec: PollSpec) -> PollResult:
        """Poll one target; never raises for anything the device does (see ``ok``/``error``)."""
        result = PollResult(target.device_id)
        begin = 0.0
        hint_key = (target.device_id, spec.name)
        walk = Walk(
            spec,
            result,
            bulk=target.version != "1",
            max_repetitions=self.max_repetitions,
            max_response_bytes=self.max_response_bytes,
            max_rows=self.max_rows,
            rows_hint=self._hints.get(hint_key),
        )
        slot = _Slot(self._slots)
        silent_before = target.device_id in self._silent
        try:
            if not silent_before:  # a device silent last time takes a slot only once it answers
                await slot.acquire()
            result.started, begin = time.time(), time.perf_counter()
            deadline = self.deadline_s or target.timeout_s * (target.retries + 1) + self.deadline_margin_s
            if target.version == "3":
                if self.deadline_s is None and not self._v3.knows(target):
                    # engine-id discovery is a request of its own (only until the agent first answered)
                    deadline += target.timeout_s * (target.retries + 1)
                await self._walk_v3(target, walk, deadline, slot)
            else:
                await self._walk_udp(target, walk, deadline, slot)
        except OSError as exc:
            walk.fail(_send_failure(exc), "send_failed")
        except Exception as exc:  # a bug must cost one device's result, not the whole cycle
            log.exception("poll of %s failed", target.device_id)
            walk.fail(f"internal error: {type(exc).__name__}", "internal_error")
        finally:
            slot.release()
            result.elapsed_s = time.perf_counter() - begin if begin else 0.0
        if result.ok:
            self._hints[hint_key] = walk.rows
            if result.faults:  # an agent that answers but breaks the protocol: in the metrics, and here once
                log.info("SNMP poll of %s at %s port %d: completeness %.0f %%, faults %s%s", target.device_id,
                         target.host, target.port, 100 * result.completeness, result.faults,
                         f" ({'; '.join(result.notes)})" if result.notes else "")
        else:  # silence is routine (dead devices show in metrics); anything else needs a look
            error = result.error or ""
            silent = error.startswith(("timeout", "deadline")) and "wrong" not in error
            level = logging.INFO if silent else logging.WARNING
            log.log(level, "SNMP poll of %s at %s port %d: %s", target.device_id, target.host, target.port,
                    result.error)
        if result.timeouts and result.requests == 1 and not result.varbinds:
            self._silent.add(target.device_id)
        elif silent_before:
            self._silent.discard(target.device_id)
        return result

    # ------------------------------------------------------------------ v1/v2c
    async def _walk_udp(self, target: Target, walk: Walk, deadline_s: float, slot: _Slot) -> None:
        """Drive the walk over UDP: one request in flight per device, retried with the same request-id."""
        assert target.community is not None
        community = target.community.reveal().encode()
        version = V1 if target.version == "1" else V2C
        transport = self.transport
        loop = asyncio.get_running_loop()
        budget = _Budget(loop.time(), deadline_s, self._hard_limit(deadline_s))
        while (req := walk.next_request()) is not None:
            rid = transport.new_id()
            data = encode_request(version, community, rid, req.pdu, req.oids, req.non_repeaters,
                                  req.max_repetitions)
            reply, _ = await self._ask(target, rid, data, budget, slot, walk.result, loop)
            if reply is None:
                past = loop.time() >= budget.deadline
                walk.fail(self._silence(walk.result, past, deadline_s, target.retries), _silence_reason(past))
                return
            response, size = reply
            assert isinstance(response, Response)
            walk.feed(response.error_status, response.error_index, response.varbinds, size, response.unpadded)

    async def _ask(
        self, target: Target, rid: int, data: bytes, budget: _Budget, slot: _Slot, result: PollResult,
        loop: asyncio.AbstractEventLoop, check: partial[Incoming] | None = None,
    ) -> tuple[Reply, str | None]:
        """One request: send, wait, resend the same datagram on timeout; (reply or None, why the device's
        other datagrams were ignored). A device that answers gets its deadline moved on."""
        transport, host, port = self.transport, target.host, target.port
        ex = transport.expect(rid, host, port, check)
        reply: Reply = None
        result.requests += 1
        try:
            for attempt in range(target.retries + 1):
                remaining = budget.deadline - loop.time()
                if remaining <= 0:
                    break
                if attempt:
                    transport.rearm(ex)  # picks up a reply that came just after the timer fired
                if not ex.future.done():
                    result.retries += attempt > 0
                    transport.send(host, port, data)
                reply = await self._wait(ex, min(target.timeout_s, remaining), slot, loop)
                if reply is not None:
                    break
                result.timeouts += 1
        finally:
            transport.done(ex)
            result.malformed += ex.malformed
        if reply is None:
            return None, ex.rejected
        if not slot.held:  # it answered after all: queue for a slot; the wait is not its fault
            waited = loop.time()
            await slot.acquire()
            budget.deadline += loop.time() - waited
        # it answers: silence is what we bound
        budget.deadline = min(budget.hard, max(budget.deadline, loop.time() + budget.deadline_s))
        return reply, ex.rejected

    async def _wait(self, ex: Exchange, wait_s: float, slot: _Slot, loop: asyncio.AbstractEventLoop) -> Reply:
        """The reply, or None after ``wait_s``; silent past ``slot_release_s``, the device gives its slot up."""
        first = min(wait_s, self.slot_release_s) if slot.held else wait_s
        handle = loop.call_later(first, _expire, ex.future)
        try:
            reply = await ex.future
        finally:
            handle.cancel()
        if reply is not None or first >= wait_s:
            return reply
        slot.release()  # probably dead: let a live device use the slot while this one waits
        self.transport.rearm(ex)
        handle = loop.call_later(wait_s - first, _expire, ex.future)
        try:
            return await ex.future
        finally:
            handle.cancel()

    def _hard_limit(self, deadline_s: float) -> float:
        """The default deadline bounds *silence*: an agent that keeps answering may take longer (a big
        table, a busy SNMPv3 agent) up to this limit, while a dead device still costs one deadline.
        An explicit ``deadline_s`` is a hard limit on the whole walk."""
        return deadline_s if self.deadline_s is not None else max(4 * deadline_s, 30.0)

    @staticmethod
    def _silence(result: PollResult, past_deadline: bool, deadline_s: float, retries: int,
                 rejected: str | None = None, answered: int | None = None) -> str:
        """Why a device went silent; ``answered``: walk requests answered (default: all but the last)."""
        answered = result.requests - 1 if answered is None else answered
        if past_deadline:
            text = f"deadline of {deadline_s:.1f} s exceeded after {result.requests} requests"
        else:
            text = f"timeout after {retries} retries"
            if answered:
                text += f" (walk incomplete after {answered} answered requests)"
        if result.malformed:
            text = f"{rejected or 'malformed response'} ({result.malformed} ignored), then {text}"
        return text

    # ---------------------------------------------------------------------- v3
    async def _walk_v3(self, target: Target, walk: Walk, deadline_s: float, slot: _Slot) -> None:
        """The same walk through the USM: each request may first need discovery or a time sync round."""
        session, transport, result = self._v3, self.transport, walk.result
        try:
            creds = session.credentials(target)
        except V3Error as exc:
            walk.fail(str(exc))
            return
        loop = asyncio.get_running_loop()
        budget = _Budget(loop.time(), deadline_s, self._hard_limit(deadline_s))
        discovered = False
        answered = 0  # walk requests answered (discovery and time sync rounds are not the walk's)
        while (req := walk.next_request()) is not None:
            synced = False
            for _ in range(MAX_ROUNDS):
                rid = transport.new_id()
                out = session.prepare(target, creds, req, rid)
                check = partial(session.check, target, creds, out)
                reply, rejected = await self._ask(target, rid, out.data, budget, slot, result, loop, check)
                if reply is None:
                    past = loop.time() >= budget.deadline
                    text = self._silence(result, past, deadline_s, target.retries, rejected, answered)
                    walk.fail(text if rejected else text + session.hint(target, creds, discovered),
                              _silence_reason(past))
                    return
                incoming, size = reply
                assert isinstance(incoming, Incoming)
                if incoming.pdu_type is PduType.RESPONSE:
                    break
                error = session.on_report(target, creds, out, incoming, synced)
                if error is not None:
                    walk.fail(error, "refused")
                    return
                discovered |= out.discovery
                synced |= incoming.varbinds[0][0] == USM_STATS_NOT_IN_TIME_WINDOWS
            else:
                walk.fail(f"SNMPv3: no answer after {MAX_ROUNDS} rounds of discovery and time synchronisation",
                          "refused")
                return
            if incoming.error_status == AUTHORIZATION_ERROR:
                walk.fail(f"access refused to SNMPv3 user '{target.user}' at {creds.level_name} "
                          "(authorizationError: the agent's access rules need another security level or view)",
                          "refused")
                return
            answered += 1
            walk.feed(incoming.error_status, incoming.error_index, incoming.varbinds, size, incoming.unpadded)


def _silence_reason(past_deadline: bool) -> str:
    """The fault of a walk the agent stopped answering half-way (see :data:`netmon.collect.walk.FAULTS`)."""
    return "deadline" if past_deadline else "timeout"


_NO_ROUTE = frozenset({errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EINVAL})
"""What Linux's sendto() says when there is no way to the host: EINVAL is a ``blackhole`` route's answer."""


def _send_failure(exc: OSError) -> str:
    """The error of a request that could not even be sent, for the operator (the outage's evidence)."""
    if exc.errno in _NO_ROUTE:
        return "send failed: no route to host"
    return f"send failed: {exc.strerror or exc}"
