"""The datagram layer of every SNMP version: a few UDP sockets shared by every request in flight.

Why not one socket per device or pysnmp's transport: a socket per device costs a file descriptor and an
epoll registration each, and pysnmp's target bookkeeping grows with the device count (TOOLING-NOTES). Here
a reply is matched to its request by request-id in one dict (O(1) whatever the number of devices) and must
come from the address the request went to. Each socket's receive buffer is raised to several MB — with the
default ~200 kB, hundreds of devices answering at once overflowed it and 12-16 % of them falsely timed out —
and the reader drains a burst of datagrams per wake-up instead of one.

SNMPv3 replies are routed by their msgID (the poller makes it equal to the request-id) and then checked by
the exchange's ``check`` (USM: digest, time window, decryption — :mod:`netmon.collect.v3`) before they
count as the answer; a reply that fails is ignored and counted like a malformed one, with its reason kept.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from netmon.collect.ber import BerError, Response, decode_response
from netmon.collect.usm import msg_id_of

if TYPE_CHECKING:
    from netmon.collect.v3 import Incoming

__all__ = ["Exchange", "Reply", "TransportStats", "UdpTransport"]

log = logging.getLogger(__name__)

Reply: TypeAlias = "tuple[Response | Incoming, int]"
"""A decoded reply and its datagram size."""

READ_BURST: Final = 256  # datagrams drained per readiness event before yielding to the loop
MAX_DATAGRAM: Final = 65_535
_ID_SPACE: Final = 2**31 - 1  # request-id is a non-negative Integer32 here


@dataclass(slots=True)
class TransportStats:
    sent: int = 0
    received: int = 0
    malformed: int = 0  # undecodable datagrams, and SNMPv3 replies that failed their check (ignored)
    stray: int = 0  # decodable but for no pending request, or from the wrong address (ignored)
    send_errors: int = 0


class Exchange:
    """One outstanding request: its id, its peer, and counters of junk the peer sent meanwhile.

    ``check`` (SNMPv3) turns a datagram carrying this msgID into the reply, or raises ValueError to have it
    ignored; ``rejected`` keeps the last reason.
    """

    __slots__ = ("check", "future", "host", "late", "malformed", "port", "rejected", "request_id")

    def __init__(self, request_id: int, host: str, port: int, future: asyncio.Future[Reply | None],
                 check: Callable[[bytes], Incoming] | None = None):
        self.request_id = request_id
        self.host = host
        self.port = port
        self.future = future
        self.check = check
        self.malformed = 0
        self.rejected: str | None = None
        self.late: Reply | None = None  # came after the timer fired, before the next attempt


class UdpTransport:
    """Send requests and await replies; start with :meth:`open` in the running loop, end with :meth:`close`."""

    def __init__(self, sockets: int = 2, rcvbuf: int = 8 << 20) -> None:
        self.pool_size = max(1, sockets)
        self.rcvbuf = rcvbuf
        self.stats = TransportStats()
        self.rcvbuf_effective = 0
        self._socks: dict[int, list[socket.socket]] = {}
        self._turn = 0
        self._pending: dict[int, Exchange] = {}
        self._by_peer: dict[tuple[str, int], Exchange] = {}
        self._next_id = random.randrange(1, _ID_SPACE)
        self._loop: asyncio.AbstractEventLoop | None = None

    # ----------------------------------------------------------------- sockets
    def _sockets(self, family: int) -> list[socket.socket]:
        socks = self._socks.get(family)
        if socks is None:
            loop = self._loop = self._loop or asyncio.get_running_loop()
            socks = []
            try:
                for _ in range(self.pool_size):
                    sock = socket.socket(family, socket.SOCK_DGRAM)
                    socks.append(sock)
                    self._tune(sock)
                    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
                    sock.setblocking(False)
                    loop.add_reader(sock.fileno(), self._readable, sock)
            except OSError:
                for sock in socks:
                    loop.remove_reader(sock.fileno())
                    sock.close()
                raise
            self._socks[family] = socks
        return socks

    def _tune(self, sock: socket.socket) -> None:
        force = getattr(socket, "SO_RCVBUFFORCE", None)  # root may exceed net.core.rmem_max
        try:
            if force is None:
                raise PermissionError
            sock.setsockopt(socket.SOL_SOCKET, force, self.rcvbuf)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        # Linux reports twice the size it books for the payload (the rest is overhead)
        self.rcvbuf_effective = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2

    def close(self) -> None:
        for socks in self._socks.values():
            for sock in socks:
                if self._loop is not None and not self._loop.is_closed():
                    self._loop.remove_reader(sock.fileno())
                sock.close()
        self._socks.clear()
        for ex in self._pending.values():
            if not ex.future.done():
                ex.future.cancel()
        self._pending.clear()
        self._by_peer.clear()

    # ---------------------------------------------------------------- requests
    def new_id(self) -> int:
        """A request-id not in flight (ids wrap around a 2^31 space starting at a random point)."""
        rid = self._next_id
        while rid in self._pending:
            rid = rid % (_ID_SPACE - 1) + 1
        self._next_id = rid % (_ID_SPACE - 1) + 1
        return rid

    def expect(self, request_id: int, host: str, port: int,
               check: Callable[[bytes], Incoming] | None = None) -> Exchange:
        """Register interest in the reply to ``request_id`` from ``host:port``; :meth:`done` ends it.
        ``check`` makes it an SNMPv3 exchange (see :class:`Exchange`)."""
        loop = self._loop or asyncio.get_running_loop()
        ex = Exchange(request_id, host, port, loop.create_future(), check)
        self._pending[request_id] = ex
        self._by_peer[(host, port)] = ex
        return ex

    def rearm(self, ex: Exchange) -> None:
        """A fresh future for the next attempt of the same request (a late reply to the first still counts)."""
        loop = self._loop or asyncio.get_running_loop()
        ex.future = loop.create_future()
        if ex.late is not None:
            ex.future.set_result(ex.late)
            ex.late = None

    def done(self, ex: Exchange) -> None:
        if self._pending.get(ex.request_id) is ex:
            del self._pending[ex.request_id]
        peer = (ex.host, ex.port)
        if self._by_peer.get(peer) is ex:
            del self._by_peer[peer]

    def send(self, host: str, port: int, data: bytes) -> None:
        """Send one datagram. A full socket buffer drops it silently (the timeout will resend)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        socks = self._socks.get(family) or self._sockets(family)
        self._turn += 1
        try:
            socks[self._turn % len(socks)].sendto(data, (host, port))
        except BlockingIOError:
            self.stats.send_errors += 1
            return
        self.stats.sent += 1

    # ------------------------------------------------------------------ replies
    def _readable(self, sock: socket.socket) -> None:
        pending = self._pending
        stats = self.stats
        for _ in range(READ_BURST):
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error queued on the socket; the request will time out
                continue
            stats.received += 1
            try:
                msg_id = msg_id_of(data)
                if msg_id is not None:
                    self._v3_reply(msg_id, data, addr)
                    continue
                response = decode_response(data)
            except BerError:
                stats.malformed += 1
                ex = self._by_peer.get((addr[0], addr[1]))
                if ex is not None:
                    ex.malformed += 1
                continue
            ex = pending.get(response.request_id)
            if ex is None or ex.host != addr[0] or ex.port != addr[1] or ex.check is not None:
                stats.stray += 1
                continue
            self._deliver(ex, (response, len(data)))

    def _v3_reply(self, msg_id: int, data: bytes, addr: tuple[str, int]) -> None:
        ex = self._pending.get(msg_id)
        if ex is None or ex.host != addr[0] or ex.port != addr[1] or ex.check is None:
            self.stats.stray += 1  # duplicates and replays of finished requests end here
            return
        try:
            reply = ex.check(data)
        except ValueError as exc:  # BerError, or a USM check that failed: ignore it, keep waiting
            self.stats.malformed += 1
            ex.malformed += 1
            ex.rejected = f"malformed reply: {exc}" if isinstance(exc, BerError) else str(exc)
            return
        except Exception as exc:  # a bug must cost this datagram, not the reader (class name only: no data)
            log.exception("SNMPv3 reply from %s could not be checked (%s)", addr[0], type(exc).__name__)
            self.stats.malformed += 1
            ex.malformed += 1
            return
        self._deliver(ex, (reply, len(data)))

    @staticmethod
    def _deliver(ex: Exchange, reply: Reply) -> None:
        if not ex.future.done():
            ex.future.set_result(reply)
        elif ex.late is None:
            ex.late = reply
