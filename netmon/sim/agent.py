"""The simulated SNMP v1/v2c agents: one UDP socket per device address, one asyncio loop.

Why not snmpd for everything: one snmpd process serves every address with the
*same* data (its handlers cannot see which local address a request came to),
so 1,372 routers would share one sysName and one set of counters, and a
scenario could not reboot just one of them; snmpsim can, but costs ~520 µs of
CPU per varbind (a province cycle would take ~340 s).  This responder uses the
project's BER codec (proven identical to pyasn1 in ``tests/unit/collect``) and
shared MIB layouts, and serves each device its own data at a few µs per varbind.
SNMPv3 devices are served by the same sockets and answers wrapped in the project's USM
(:mod:`netmon.sim.v3`).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

from netmon.collect import ber
from netmon.sim.mib import Layout, layout_for
from netmon.sim.world import Behaviour, SimDevice, World

log = logging.getLogger(__name__)

MAX_VARBINDS = 2_000  # GETBULK answers are cut here (net-snmp caps them too)
MAX_RESPONSE = 65_000  # bytes; cut the response at the last varbind that fits
READ_BURST = 64  # datagrams read per readiness event before yielding to the loop

NO_SUCH_NAME = 2
TOO_BIG = 1


class AgentStats:
    __slots__ = ("dropped", "requests", "varbinds")

    def __init__(self) -> None:
        self.requests = 0
        self.varbinds = 0
        self.dropped = 0


def answer(device: SimDevice, layout: Layout, request: ber.Request, now: float) -> bytes:
    """The response a device sends to ``request`` at ``now`` (pure; the unit under test)."""
    status, index, out = answer_pdu(device, layout, request.pdu_type, request.oids, request.non_repeaters,
                                    request.max_repetitions, now, v1=request.version == ber.V1)
    return ber.encode_response_from_encoded_varbinds(
        request.version, request.community, request.request_id, status, index, out
    )


def answer_pdu(
    device: SimDevice,
    layout: Layout,
    pdu: ber.PduType,
    oids: list[ber.Oid],
    non_repeaters: int,
    max_repetitions: int,
    now: float,
    *,
    v1: bool = False,
    max_bytes: int = MAX_RESPONSE,
) -> tuple[int, int, list[bytes]]:
    """(error-status, error-index, encoded varbinds) of the answer to a GET/GETNEXT/GETBULK; the SNMPv3
    agent (:mod:`netmon.sim.v3`) wraps the same answer in its envelope. GETBULK stops at ``max_bytes``."""
    out: list[bytes] = []
    if pdu is ber.PduType.GET:
        for i, oid in enumerate(oids):
            pos = layout.index.get(oid)
            if pos is None or (v1 and layout.counter64[pos]):
                if v1:
                    return _error(oids, NO_SUCH_NAME, i + 1)
                out.append(_exception(oid, ber.NO_SUCH_OBJECT))
            else:
                out.append(layout.varbind(pos, device, now))
    elif pdu is ber.PduType.GETNEXT:
        for i, oid in enumerate(oids):
            pos = _next(layout, layout.position_after(oid), v1)
            if pos is None:
                if v1:
                    return _error(oids, NO_SUCH_NAME, i + 1)
                out.append(_exception(oid, ber.END_OF_MIB_VIEW))
            else:
                out.append(layout.varbind(pos, device, now))
    else:  # GETBULK (v2c and v3)
        n = min(max(non_repeaters, 0), len(oids))
        for oid in oids[:n]:
            pos = _next(layout, layout.position_after(oid), False)
            out.append(_exception(oid, ber.END_OF_MIB_VIEW) if pos is None else layout.varbind(pos, device, now))
        repeaters = oids[n:]
        positions = [layout.position_after(oid) for oid in repeaters]
        last = list(repeaters)
        size = sum(map(len, out))
        end = len(layout.oids)
        for _ in range(max(max_repetitions, 0)):
            if not repeaters or len(out) >= MAX_VARBINDS:
                break
            all_done = True
            for j, pos in enumerate(positions):
                if pos >= end:
                    vb = _exception(last[j], ber.END_OF_MIB_VIEW)
                else:
                    all_done = False
                    vb = layout.varbind(pos, device, now)
                    last[j] = layout.oids[pos]
                    positions[j] = pos + 1
                size += len(vb)
                if size > max_bytes:
                    break
                out.append(vb)
            if all_done or size > max_bytes:
                break
    return 0, 0, out


def _next(layout: Layout, pos: int, v1: bool) -> int | None:
    end = len(layout.oids)
    while pos < end and v1 and layout.counter64[pos]:
        pos += 1
    return pos if pos < end else None


def _exception(oid: ber.Oid, tag: int) -> bytes:
    return ber.encode_varbind(oid, tag, None)


def _error(oids: list[ber.Oid], status: int, index: int) -> tuple[int, int, list[bytes]]:
    return status, index, [ber.encode_varbind(oid, ber.NULL, None) for oid in oids]


class Agents:
    """Binds one socket per v1/v2c device and answers from the :class:`World`.

    The SNMPv3 agents (:class:`netmon.sim.v3.V3Agents`) share the sockets and behaviours and change only
    :meth:`_state` (what a device needs to check a request) and :meth:`_respond`.
    """

    def __init__(self, world: World, communities: dict[str, bytes], clock: Callable[[], float] = time.time):
        self.world = world
        self.communities = communities  # device id -> community
        self.clock = clock
        self.stats = AgentStats()
        self.sockets: list[socket.socket] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop, devices: list[SimDevice]) -> None:
        raise_fd_limit(len(self.sockets) + len(devices) + 256)
        self._loop = loop
        for dev in devices:
            family = socket.AF_INET6 if ":" in dev.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            try:
                sock.bind((dev.host, dev.port))
            except OSError as exc:
                sock.close()
                self.stop()
                where = f"{dev.host}:{dev.port} for {dev.id}"
                raise OSError(exc.errno, f"cannot listen on {where}: {exc.strerror}") from None
            sock.setblocking(False)
            self.sockets.append(sock)
            loop.add_reader(sock.fileno(), self._on_readable, sock, dev, layout_for(dev), self._state(dev))

    def _state(self, dev: SimDevice) -> Any:
        """Per device, given to :meth:`_respond`: here its community."""
        return self.communities[dev.id]

    def stop(self) -> None:
        for sock in self.sockets:
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self.sockets.clear()

    def _on_readable(self, sock: socket.socket, dev: SimDevice, layout: Layout, state: Any) -> None:
        stats = self.stats
        for _ in range(READ_BURST):
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. ICMP errors queued on the socket
                continue
            if not dev.answers:
                stats.dropped += 1
                continue
            response = self._respond(dev, layout, state, data)
            if response is None:
                continue
            if dev.behaviour is Behaviour.SLOW and self._loop is not None:
                self._loop.call_later(dev.delay_s, _send, sock, response, addr)
            else:
                _send(sock, response, addr)

    def _respond(self, dev: SimDevice, layout: Layout, community: Any, data: bytes) -> bytes | None:
        """The answer to one datagram, or None to stay silent (counted in ``stats.dropped``)."""
        stats = self.stats
        try:
            request = ber.decode_request(data)
        except ber.BerError:
            stats.dropped += 1  # real agents count snmpInASNParseErrs and stay silent
            return None
        if request.community != community:
            stats.dropped += 1  # snmpInBadCommunityNames: silent
            return None
        stats.requests += 1
        stats.varbinds += len(request.oids) if request.pdu_type is not ber.PduType.GETBULK else 0
        return answer(dev, layout, request, self.clock())


def _send(sock: socket.socket, data: bytes, addr: tuple[str, int]) -> None:
    try:
        sock.sendto(data, addr)
    except OSError as exc:  # a vanished client is not the agent's problem
        log.debug("send failed: %s", exc)


def raise_fd_limit(needed: int) -> None:
    """Lift the soft limit of open files to the hard one (no privilege needed) when ``needed`` is more; OSError
    when even the hard limit is too low (split the agents over processes: ``netmon simulate --part K/N``)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        raise OSError(f"need {needed} open files for the agents but the hard limit is {hard}: "
                      f"split them over processes with --part K/N")
