"""The v1/v2c datagram layer: a few UDP sockets shared by every request in flight.

Why not one socket per device or pysnmp's transport: a socket per device costs a file descriptor and an
epoll registration each, and pysnmp's target bookkeeping grows with the device count (TOOLING-NOTES). Here
a reply is matched to its request by request-id in one dict (O(1) whatever the number of devices) and must
come from the address the request went to. Each socket's receive buffer is raised to several MB — with the
default ~200 kB, hundreds of devices answering at once overflowed it and 12-16 % of them falsely timed out —
and the reader drains a burst of datagrams per wake-up instead of one.
"""

from __future__ import annotations

import asyncio
import random
import socket
from dataclasses import dataclass
from typing import Final

from netmon.collect.ber import BerError, Response, decode_response

__all__ = ["Exchange", "TransportStats", "UdpTransport"]

READ_BURST: Final = 256  # datagrams drained per readiness event before yielding to the loop
MAX_DATAGRAM: Final = 65_535
_ID_SPACE: Final = 2**31 - 1  # request-id is a non-negative Integer32 here


@dataclass(slots=True)
class TransportStats:
    sent: int = 0
    received: int = 0
    malformed: int = 0  # undecodable datagrams (ignored)
    stray: int = 0  # decodable but for no pending request, or from the wrong address (ignored)
    send_errors: int = 0


class Exchange:
    """One outstanding request: its id, its peer, and counters of junk the peer sent meanwhile."""

    __slots__ = ("future", "host", "late", "malformed", "port", "request_id")

    def __init__(self, request_id: int, host: str, port: int, future: asyncio.Future[tuple[Response, int] | None]):
        self.request_id = request_id
        self.host = host
        self.port = port
        self.future = future
        self.malformed = 0
        self.late: tuple[Response, int] | None = None  # came after the timer fired, before the next attempt


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

    def expect(self, request_id: int, host: str, port: int) -> Exchange:
        """Register interest in the reply to ``request_id`` from ``host:port``; :meth:`done` ends it."""
        loop = self._loop or asyncio.get_running_loop()
        ex = Exchange(request_id, host, port, loop.create_future())
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
                response = decode_response(data)
            except BerError:
                stats.malformed += 1
                ex = self._by_peer.get((addr[0], addr[1]))
                if ex is not None:
                    ex.malformed += 1
                continue
            ex = pending.get(response.request_id)
            if ex is None or ex.host != addr[0] or ex.port != addr[1]:
                stats.stray += 1
                continue
            if not ex.future.done():
                ex.future.set_result((response, len(data)))
            elif ex.late is None:
                ex.late = (response, len(data))
