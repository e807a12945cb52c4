"""netmon's own path toward the network: the local interface its traffic to the tree's root leaves by, and
whether that interface is up.

I/O only, and cheap enough for every poll batch (~0.1 ms): the kernel's route lookup through ``connect()`` of
a UDP socket (nothing is sent), the routing tables (``/proc/thread-self/net/route`` and ``ipv6_route``) for
the egress interface, and its flags from rtnetlink (``IFF_UP``; ``IFF_LOWER_UP``: the carrier; ``IFF_RUNNING``).
All of it is the calling thread's network namespace (sysfs would show the namespace it was mounted in). What
the answer means (cut off or not, and for how long) is judged in :mod:`netmon.health.path`.

A path is broken when no route leads to the address any more (the interface was taken down: the kernel drops
its routes), or when the egress interface is administratively down or has no carrier (the cable, or the
switch or router port at the other end). A loopback or local address is always reachable; an address
routed by a table this module does not read (policy routing) counts as reachable when the kernel has a
route for it, interface unknown. Several addresses (several roots): the path works if one of them does.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

IFF_UP, IFF_RUNNING, IFF_LOWER_UP = 0x1, 0x40, 0x10000
RTM_GETLINK, NLM_F_REQUEST, NLMSG_ERROR = 18, 1, 2
RTF_UP, RTF_REJECT = 0x1, 0x200
NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL})
PROC_NET = Path("/proc/thread-self/net") if Path("/proc/thread-self/net").exists() else Path("/proc/net")


def interface_flags(name: str) -> int | None:
    """The interface's flags (``IFF_*``, 32 bits: with ``IFF_LOWER_UP``, the carrier) from rtnetlink, in this
    thread's network namespace; None: no such interface, or no rtnetlink here."""
    try:
        index = socket.if_nametoindex(name)
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
            sock.settimeout(1.0)
            request = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, 0, 0)
            sock.send(struct.pack("=IHHII", 16 + len(request), RTM_GETLINK, NLM_F_REQUEST, 1, 0) + request)
            answer = sock.recv(65536)
    except (OSError, AttributeError):  # no such interface; not Linux
        return None
    if len(answer) < 32 or struct.unpack_from("=H", answer, 4)[0] == NLMSG_ERROR:
        return None
    return int(struct.unpack_from("=I", answer, 24)[0])


@dataclass(frozen=True, slots=True)
class PathResult:
    """One look at the path toward ``target`` (satisfies :class:`netmon.health.path.PathLook`)."""

    at: float
    ok: bool
    reason: str = ""
    """``no_route`` / ``interface_down`` / ``no_carrier`` when broken."""
    interface: str | None = None
    target: str | None = None


class LocalPath:
    """Looks at the path from this host (this network namespace) toward ``hosts`` (the tree's roots)."""

    def __init__(self, hosts: Sequence[str], proc_net: Path = PROC_NET,
                 flags: Callable[[str], int | None] = interface_flags) -> None:
        self.hosts = list(dict.fromkeys(hosts))
        self.proc_net = proc_net
        self.flags = flags

    def probe(self) -> PathResult:
        """The first working path, else the first broken one (nothing to watch: working)."""
        results = [self.look(host) for host in self.hosts]
        return next((r for r in results if r.ok), results[0] if results else PathResult(time.time(), True))

    def look(self, host: str) -> PathResult:
        at = time.time()
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:  # a name: not resolved here (no DNS lookups on the polling path)
            return PathResult(at, True, target=host)
        if ip.is_loopback:
            return PathResult(at, True, interface="lo", target=host)
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((host, 9))  # a route lookup; no datagram is sent
                source = sock.getsockname()[0]
            except OSError as exc:
                if exc.errno in NO_ROUTE:
                    return PathResult(at, False, "no_route", target=host)
                return PathResult(at, True, target=host)  # not a routing answer: say nothing
        if source == host:
            return PathResult(at, True, interface="lo", target=host)
        interface = self.egress(ip)
        if interface is None:
            return PathResult(at, True, target=host)
        reason = self.link_state(interface)
        return PathResult(at, reason is None, reason or "", interface, host)

    # ------------------------------------------------------------------ the kernel's tables
    def egress(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        """The interface of the longest-prefix route to ``ip`` in the main table (None: none found)."""
        best: tuple[int, int, str] | None = None  # (prefix length, -metric, interface)
        for prefix, metric, interface in self._routes(ip.version):
            if ip in prefix and (best is None or (prefix.prefixlen, -metric) > best[:2]):
                best = (prefix.prefixlen, -metric, interface)
        return best[2] if best is not None else None

    def _routes(self, version: int) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int, str]]:
        out: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int, str]] = []
        try:
            if version == 4:
                lines = (self.proc_net / "route").read_text().splitlines()[1:]
                for line in lines:
                    f = line.split()
                    if len(f) < 8 or not int(f[3], 16) & RTF_UP or int(f[3], 16) & RTF_REJECT:
                        continue
                    dest = ipaddress.IPv4Address(bytes.fromhex(f[1])[::-1])
                    mask = ipaddress.IPv4Address(bytes.fromhex(f[7])[::-1])
                    out.append((ipaddress.IPv4Network(f"{dest}/{mask}", strict=False), int(f[6]), f[0]))
            else:
                for line in (self.proc_net / "ipv6_route").read_text().splitlines():
                    f = line.split()
                    if len(f) < 10 or not int(f[8], 16) & RTF_UP or int(f[8], 16) & RTF_REJECT or f[9] == "lo":
                        continue
                    dest6 = ipaddress.IPv6Address(bytes.fromhex(f[0]))
                    out.append((ipaddress.IPv6Network(f"{dest6}/{int(f[1], 16)}", strict=False), int(f[5], 16),
                                f[9]))
        except (OSError, ValueError):  # not Linux, or a table this parser does not know: no interface
            return []
        return out

    def link_state(self, interface: str) -> str | None:
        """None when up; ``interface_down`` (administratively) or ``no_carrier`` (no lower layer / not running)."""
        flags = self.flags(interface)
        if flags is None:
            return None  # gone or unreadable: the route lookup already said it leads somewhere
        if not flags & IFF_UP:
            return "interface_down"
        if not flags & IFF_LOWER_UP or not flags & IFF_RUNNING:
            return "no_carrier"
        return None
