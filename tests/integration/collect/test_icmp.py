"""ICMP rounds against real kernel echo replies (loopback, and a blackholed address in a private netns)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys

import pytest

from netmon.collect.icmp import IcmpProber

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root")


def test_loopback_answers_every_packet() -> None:
    results = asyncio.run(IcmpProber(count=3, interval_s=0.01).probe(["127.0.0.1", "127.10.0.7"]))
    for host in ("127.0.0.1", "127.10.0.7"):
        r = results[host]
        assert r.alive and r.sent == 3 and r.received == 3 and r.loss == 0.0
        assert r.rtt_min_ms is not None and r.rtt_max_ms is not None and 0 <= r.rtt_min_ms <= r.rtt_max_ms < 100


def test_disabled_prober_reports_nothing() -> None:
    assert asyncio.run(IcmpProber(enabled=False).probe(["127.0.0.1"])) == {}


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 missing")
def test_blackholed_address_is_lost_inside_a_private_netns() -> None:
    ns = f"netmon-icmp-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        run = ["ip", "netns", "exec", ns]
        subprocess.run([*run, "ip", "link", "set", "lo", "up"], check=True)
        subprocess.run([*run, "ip", "route", "add", "blackhole", "127.10.0.9/32", "table", "local"], check=True)
        code = (
            "import asyncio; from netmon.collect.icmp import IcmpProber;"
            "r = asyncio.run(IcmpProber(count=2, interval_s=0.05, timeout_s=0.5).probe(['127.10.0.8', '127.10.0.9']));"
            "print(r['127.10.0.8'].received, r['127.10.0.9'].received, r['127.10.0.9'].loss)"
        )
        out = subprocess.run([*run, sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["2", "0", "1.0"]
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_ipv6_loopback_answers() -> None:
    r = asyncio.run(IcmpProber(count=2, interval_s=0.01).probe(["::1"]))["::1"]
    assert (r.sent, r.received) == (2, 2) and r.rtt_avg_ms is not None


def test_two_thousand_hosts_at_once_every_echo_answered() -> None:
    """What icmplib got wrong at this scale (1 reply in 3 on loopback): one socket, replies matched by id."""
    hosts = [f"127.{20 + i // 250}.{(i // 250) % 250}.{1 + i % 250}" for i in range(2000)]
    results = asyncio.run(IcmpProber(count=3, interval_s=0.05, timeout_s=2.0).probe(hosts))
    assert len(results) == 2000 and all(r.received == 3 for r in results.values())


def test_concurrent_rounds_share_the_socket_without_mixing_replies() -> None:
    prober = IcmpProber(count=2, interval_s=0.01)

    async def both() -> tuple[dict[str, object], dict[str, object]]:
        a, b = await asyncio.gather(prober.probe(["127.30.0.1", "127.30.0.2"]), prober.probe(["127.30.0.2"]))
        return a, b  # type: ignore[return-value]

    a, b = asyncio.run(both())
    assert set(a) == {"127.30.0.1", "127.30.0.2"} and set(b) == {"127.30.0.2"}
    assert all(r.received == 2 for r in (*a.values(), *b.values()))  # type: ignore[attr-defined]
