"""ICMP reachability: several echo requests per device per round (loss, RTT, jitter).

One packet per probe (blackbox_exporter's way) cannot measure loss; a round of
``count`` packets can.  Uses icmplib's asyncio pinger with raw sockets, which
needs root (or CAP_NET_RAW); without it :class:`IcmpProber` reports itself
disabled and the health logic falls back to SNMP alone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from netmon.serial import serial

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IcmpResult:
    host: str
    at: float
    sent: int
    received: int
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None
    jitter_ms: float | None
    serial: int = field(default_factory=serial, compare=False, repr=False)  # see netmon.serial

    @property
    def alive(self) -> bool:
        return self.received > 0

    @property
    def loss(self) -> float:
        return 1.0 - self.received / self.sent if self.sent else 1.0


class IcmpProber:
    """Pings many hosts concurrently; ``enabled`` is False when raw sockets are not allowed."""

    def __init__(self, count: int = 3, interval_s: float = 0.2, timeout_s: float = 1.0,
                 concurrency: int = 1024, enabled: bool | None = None) -> None:
        self.count = count
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.enabled = (os.geteuid() == 0) if enabled is None else enabled

    async def probe(self, hosts: Sequence[str]) -> dict[str, IcmpResult]:
        """One round for every host; {} when disabled (callers treat ICMP as not in use)."""
        if not self.enabled or not hosts:
            return {}
        from icmplib import async_multiping
        from icmplib.exceptions import ICMPLibError

        at = time.time()
        try:
            replies = await async_multiping(
                list(hosts), count=self.count, interval=self.interval_s, timeout=self.timeout_s,
                concurrent_tasks=self.concurrency, privileged=True,
            )
        except (ICMPLibError, OSError) as exc:  # e.g. no CAP_NET_RAW after all
            log.warning("ICMP disabled: %s", exc)
            self.enabled = False
            return {}
        out: dict[str, IcmpResult] = {}
        for host, reply in zip(hosts, replies, strict=True):
            alive = reply.packets_received > 0
            out[host] = IcmpResult(
                host, at, reply.packets_sent, reply.packets_received,
                reply.min_rtt if alive else None, reply.avg_rtt if alive else None,
                reply.max_rtt if alive else None, reply.jitter if alive else None,
            )
        return out
