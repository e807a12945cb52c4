"""Trap-triggered re-polls: a storm of requests becomes a few batches, each device at most once per gap."""

from __future__ import annotations

import asyncio
from collections import Counter

from netmon.repoll import Repoller

PARENT = {f"c{i}": "dist" for i in range(12)} | {"dist": "core"}


def _run(scenario):  # type: ignore[no-untyped-def]
    return asyncio.run(scenario())


def test_a_burst_of_ten_thousand_traps_is_one_batch_with_each_device_once() -> None:
    batches: list[list[str]] = []

    async def poll(batch: list[str]) -> None:
        batches.append(batch)
        await asyncio.sleep(0.05)

    async def scenario() -> Repoller:
        r = Repoller(poll, PARENT.get, gather_s=0.01, min_gap_s=1.0)
        for n in range(10_000):
            r.request(f"c{n % 12}")
        await asyncio.sleep(0.2)
        await r.close()
        return r

    r = _run(scenario)
    assert batches == [sorted([*(f"c{i}" for i in range(12)), "dist"])]
    assert (r.stats.requested, r.stats.polled, r.stats.batches) == (20_000, 13, 1)
    assert r.stats.coalesced == 20_000 - 13


def test_a_device_trapping_continuously_is_repolled_once_per_gap_then_once_per_refill() -> None:
    polled: Counter[str] = Counter()

    async def poll(batch: list[str]) -> None:
        polled.update(batch)
        await asyncio.sleep(0.01)

    async def scenario(burst: int) -> None:
        r = Repoller(poll, PARENT.get, gather_s=0.01, min_gap_s=0.25, burst=burst, refill_s=0.5)
        for _ in range(100):  # 100 traps a second for one second
            r.request("c1")
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        await r.close()

    asyncio.run(scenario(burst=100))  # gap only: one every 0.25 s
    assert 4 <= polled["c1"] <= 6 and polled["dist"] == polled["c1"]
    polled.clear()
    asyncio.run(scenario(burst=2))  # two at once (0.25 s apart), then one per 0.5 s
    assert 3 <= polled["c1"] <= 4 and polled["dist"] == polled["c1"]


def test_requests_during_a_batch_go_into_the_next_one_and_a_failed_batch_does_not_stop_later_ones() -> None:
    batches: list[list[str]] = []

    async def poll(batch: list[str]) -> None:
        batches.append(batch)
        await asyncio.sleep(0.05)
        if len(batches) == 1:
            raise RuntimeError("database hiccup")

    async def scenario() -> None:
        r = Repoller(poll, PARENT.get, gather_s=0.01, min_gap_s=0.0)
        r.request("dist")
        await asyncio.sleep(0.03)  # the first batch is running
        r.request("c3")
        await asyncio.sleep(0.2)
        await r.close()

    _run(scenario)
    assert batches == [["core", "dist"], ["c3", "dist"]]


def test_close_cancels_what_is_pending() -> None:
    polled: list[list[str]] = []

    async def poll(batch: list[str]) -> None:
        polled.append(batch)

    async def scenario() -> None:
        r = Repoller(poll, PARENT.get, gather_s=10.0)
        r.request("c1")
        await r.close()
        assert not r.pending

    _run(scenario)
    assert polled == []
