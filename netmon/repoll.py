"""Trap-triggered re-polls, coalesced: a storm of traps costs a few polls per device, not one per trap.

A trap is a hint: it makes netmon poll the device (and its parent, whose fresh success the state machine
needs to tell "down" from "unreachable") now instead of at its next slot. During a trap storm — a flapping
port, a misconfigured agent, a core link failing and every router trapping at once, a spoofer — polling
once per trap multiplied the load by thousands (20,000 traps gave ~2,500 polls per device and kept the
process at 100 % CPU for minutes). Here:

* requests for a device already waiting are merged (a set), so a device waits for at most one re-poll;
* one batch is in flight at a time; what arrives meanwhile goes into the next batch;
* a device re-polled less than ``min_gap_s`` ago waits until the gap has passed, and each device has a
  budget of ``burst`` re-polls refilled one per ``refill_s``: a device trapping continuously is re-polled a
  few times, then once per ``refill_s``, whatever its trap rate (its scheduled polls go on regardless).
  The burst is sized for a flapping port — each bounce re-polled for the first several, so the flap
  detector sees the changes — and the refill keeps a sustained storm at one re-poll per device per 2 s;
* a request is gathered for ``gather_s`` first, so a burst becomes one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["RepollStats", "Repoller"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RepollStats:
    requested: int = 0
    """Devices asked for (a trap asks for its device and its parent)."""
    coalesced: int = 0
    """Requests merged into a re-poll that was already waiting."""
    polled: int = 0
    """Devices actually re-polled."""
    batches: int = 0


class Repoller:
    """Collects re-poll requests and runs them through ``poll`` in coalesced batches, one at a time."""

    def __init__(
        self,
        poll: Callable[[list[str]], Awaitable[object]],
        parent_of: Callable[[str], str | None],
        *,
        gather_s: float = 0.05,
        min_gap_s: float = 1.0,
        burst: int = 6,
        refill_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._poll = poll
        self._parent_of = parent_of
        self.gather_s = gather_s
        self.min_gap_s = min_gap_s
        self.burst = burst
        self.refill_s = refill_s
        self._clock = clock
        self._pending: set[str] = set()
        self._last: dict[str, float] = {}
        self._tokens: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self.stats = RepollStats()

    def request(self, device_id: str) -> None:
        """Re-poll ``device_id`` (and its parent) soon. Cheap: call it for every trap."""
        for dev in (device_id, self._parent_of(device_id)):
            if dev is None:
                continue
            self.stats.requested += 1
            if dev in self._pending:
                self.stats.coalesced += 1
            else:
                self._pending.add(dev)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="netmon-repoll")

    @property
    def pending(self) -> frozenset[str]:
        return frozenset(self._pending)

    async def _run(self) -> None:
        """Drain the pending set: gather, poll what is due, wait for the rest, until nothing is left."""
        while self._pending:
            await asyncio.sleep(self.gather_s)
            now = self._clock()
            due = sorted(d for d in self._pending if self._due_in(d, now) <= 0)
            if not due:
                await asyncio.sleep(min(self._due_in(d, now) for d in self._pending))
                continue
            self._pending.difference_update(due)
            for d in due:
                self._tokens[d] = self._available(d, now) - 1.0
                self._last[d] = now
            self.stats.batches += 1
            self.stats.polled += len(due)
            try:
                await self._poll(due)
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed batch must not stop later re-polls
                log.exception("trap re-poll of %d device(s) failed", len(due))

    def _available(self, device: str, now: float) -> float:
        """Re-polls left in the device's budget at ``now``."""
        if device not in self._last:
            return float(self.burst)
        refilled = self._tokens[device] + (now - self._last[device]) / self.refill_s
        return min(float(self.burst), refilled)

    def _due_in(self, device: str, now: float) -> float:
        """Seconds until ``device`` may be re-polled (≤ 0: now)."""
        if device not in self._last:
            return 0.0
        gap = self._last[device] + self.min_gap_s - now
        budget = (1.0 - self._available(device, now)) * self.refill_s
        return max(gap, budget)

    async def close(self) -> None:
        task, self._task = self._task, None
        self._pending.clear()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
