"""The trap receiver against net-snmp's own ``snmptrap``/``snmpinform`` (v1, v2c, v3 USM).

Each trap is sent from the source address of an inventory device with ``--clientaddr`` (every 127.x address
is local, so no namespace is needed) to a receiver on a free high port of 127.0.0.1. Latencies measured here
are printed (``pytest -s``); the asserted bounds are loose on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import shutil
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from netmon.collect import ber
from netmon.collect.target import Target
from netmon.collect.traps import SNMP_TRAP_OID, Trap, TrapReceiver
from netmon.mib import IF_INDEX, SYS_UPTIME
from netmon.secrets import Secret

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap (Debian package snmp) missing"),
]

COMMUNITY_1 = "it-trap-comm-5e1"
COMMUNITY_2 = "it-trap-comm-9a7"
AUTH_KEY = "it-trap-auth-3c8d"
PRIV_KEY = "it-trap-priv-71fe"
WRONG_KEY = "it-trap-wrong-0000"
SECRETS = (COMMUNITY_1, COMMUNITY_2, AUTH_KEY, PRIV_KEY)
ENGINE_ID = "0x80001f8880c0ffee0001"

R1, R2, R3, STRANGER = "127.10.0.5", "127.10.0.6", "127.10.0.7", "127.10.0.99"
TARGETS = [
    Target("core-01", R1, community=Secret("env:IT_C1", COMMUNITY_1)),
    Target("dist-02", R2, version="1", community=Secret("env:IT_C2", COMMUNITY_2)),
    Target(
        "core-v3", R3, version="3", user="netmon",
        auth_protocol="SHA256", auth_key=Secret("env:IT_A", AUTH_KEY),
        priv_protocol="AES", priv_key=Secret("env:IT_P", PRIV_KEY),
    ),
]  # fmt: skip
LINK_DOWN, LINK_UP, COLD_START, WARM_START = (f"1.3.6.1.6.3.1.1.5.{n}" for n in (3, 4, 1, 2))
V3_OK = ["-v3", "-e", ENGINE_ID, "-u", "netmon", "-l", "authPriv", "-a", "SHA-256", "-A", AUTH_KEY,
         "-x", "AES", "-X", PRIV_KEY]  # fmt: skip


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Harness:
    """A started receiver whose callback feeds a queue, plus senders."""

    def __init__(self, receiver: TrapReceiver, queue: asyncio.Queue[Trap]) -> None:
        self.receiver = receiver
        self.queue = queue

    @property
    def port(self) -> int:
        return self.receiver.address[1]

    async def snmp(self, tool: str, source: str, *args: str) -> int:
        """Run ``snmptrap``/``snmpinform`` from ``source``; its exit code."""
        proc = await asyncio.create_subprocess_exec(
            tool, "-m", "", "-r", "0", "-t", "1", f"--clientaddr={source}", *args[:-1], f"127.0.0.1:{self.port}",
            *shlex.split(args[-1]),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return await proc.wait()

    async def trap(self, source: str, *args: str) -> int:
        return await self.snmp("snmptrap", source, *args)

    async def next_trap(self, timeout: float = 1.0) -> Trap:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def nothing_delivered(self, wait: float = 0.3) -> bool:
        await asyncio.sleep(wait)
        return self.queue.empty()


def run(
    test: Callable[[Harness], Awaitable[None]],
    on_trap: Callable[[Trap], Any] | None = None,
    **options: Any,
) -> TrapReceiver:
    """Start a receiver on a free port, run ``test`` against it, stop it; the stopped receiver."""

    async def main() -> TrapReceiver:
        queue: asyncio.Queue[Trap] = asyncio.Queue()
        receiver = TrapReceiver(TARGETS, on_trap or queue.put_nowait, port=options.pop("port", 0), **options)
        async with receiver:
            await asyncio.wait_for(test(Harness(receiver, queue)), 60)
        return receiver

    return asyncio.run(main())


def accounted(r: TrapReceiver) -> int:
    return r.accepted + r.dropped_unknown_source + r.dropped_bad_credentials + sum(r.dropped_other.values())


# ------------------------------------------------------------------------------------------------- v1/v2c
def test_link_down_with_if_index_arrives_within_a_second() -> None:
    async def test(h: Harness) -> None:
        sent = time.monotonic()
        assert await h.trap(R1, "-v2c", "-c", COMMUNITY_1,
                            f"'' {LINK_DOWN} 1.3.6.1.2.1.2.2.1.1.3 i 3 1.3.6.1.2.1.2.2.1.8.3 i 2") == 0  # fmt: skip
        trap = await h.next_trap()
        assert time.monotonic() - sent < 1.0
        assert (trap.device_id, trap.source, trap.kind, trap.trap_oid, trap.if_index) == (
            "core-01",
            R1,
            "link_down",
            LINK_DOWN,
            3,
        )
        assert trap.uptime_ticks is not None and trap.uptime_ticks > 0
        assert abs(trap.received_at - time.time()) < 2

    r = run(test)
    assert (r.received, r.accepted) == (1, 1)


@pytest.mark.parametrize(
    ("oid", "varbinds", "kind", "if_index"),
    [
        (LINK_UP, "1.3.6.1.2.1.2.2.1.8.12 i 1", "link_up", 12),  # index taken from ifOperStatus.12
        (COLD_START, "", "cold_start", None),
        (WARM_START, "", "warm_start", None),
        ("1.3.6.1.4.1.9.9.41.2.0.1", "1.3.6.1.2.1.1.5.0 s core", "other", None),
    ],
)
def test_other_kinds(oid: str, varbinds: str, kind: str, if_index: int | None) -> None:
    async def test(h: Harness) -> None:
        await h.trap(R1, "-v2c", "-c", COMMUNITY_1, f"'' {oid} {varbinds}".strip())
        trap = await h.next_trap()
        assert (trap.kind, trap.trap_oid, trap.if_index, trap.device_id) == (kind, oid, if_index, "core-01")

    run(test)


def test_v1_trap_is_converted() -> None:
    async def test(h: Harness) -> None:
        # generic trap 2 = linkDown; agent-addr is ignored, the UDP source identifies the device
        await h.trap(R2, "-v1", "-c", COMMUNITY_2, f"'' {R2} 2 0 '' 1.3.6.1.2.1.2.2.1.1.7 i 7")
        trap = await h.next_trap()
        assert (trap.device_id, trap.kind, trap.if_index) == ("dist-02", "link_down", 7)

    run(test)


def test_unknown_source_is_counted_and_not_delivered() -> None:
    async def test(h: Harness) -> None:
        await h.trap(STRANGER, "-v2c", "-c", COMMUNITY_1, f"'' {LINK_DOWN}")
        assert await h.nothing_delivered()

    r = run(test)
    assert (r.received, r.dropped_unknown_source, r.accepted) == (1, 1, 0)


def test_wrong_community_is_counted_and_not_delivered() -> None:
    async def test(h: Harness) -> None:
        await h.trap(R1, "-v2c", "-c", "not-the-community", f"'' {LINK_DOWN}")
        await h.trap(R1, "-v2c", "-c", COMMUNITY_2, f"'' {LINK_DOWN}")  # valid, but dist-02's
        assert await h.nothing_delivered()

    r = run(test)
    assert (r.received, r.dropped_bad_credentials, r.accepted) == (2, 2, 0)
    assert r.credential_failures == {"unknown community": 1, "community of another device": 1}


# -------------------------------------------------------------------------------------------------- SNMPv3
def test_v3_authpriv_trap_accepted_wrong_key_and_downgrade_counted() -> None:
    async def test(h: Harness) -> None:
        await h.trap(R3, *V3_OK, f"'' {LINK_DOWN} 1.3.6.1.2.1.2.2.1.1.4 i 4")
        trap = await h.next_trap()
        assert (trap.device_id, trap.kind, trap.if_index) == ("core-v3", "link_down", 4)

        wrong = [WRONG_KEY if a == AUTH_KEY else a for a in V3_OK]
        await h.trap(R3, *wrong, f"'' {LINK_UP}")
        wrong_priv = [WRONG_KEY if a == PRIV_KEY else a for a in V3_OK]
        await h.trap(R3, *wrong_priv, f"'' {LINK_UP}")
        await h.trap(R3, "-v3", "-e", ENGINE_ID, "-u", "netmon", "-l", "noAuthNoPriv", f"'' {LINK_UP}")
        assert await h.nothing_delivered()

        await h.trap(R3, *V3_OK, f"'' {LINK_UP} 1.3.6.1.2.1.2.2.1.1.4 i 4")
        assert (await h.next_trap()).kind == "link_up"

    r = run(test)
    assert (r.received, r.accepted, r.dropped_bad_credentials) == (5, 2, 3)
    assert r.credential_failures == {
        "wrong v3 auth key": 1,
        "wrong v3 privacy key": 1,
        "v3 security level below the profile's": 1,
    }
    assert accounted(r) == r.received


def test_v3_engine_ids_are_learned_per_device_and_can_be_pinned() -> None:
    other_engine = "0x80001f8880c0ffee0099"

    async def learned(h: Harness) -> None:
        for engine in (ENGINE_ID, other_engine):  # e.g. the device was replaced
            args = [other_engine if a == ENGINE_ID else a for a in V3_OK] if engine != ENGINE_ID else V3_OK
            await h.trap(R3, *args, f"'' {COLD_START}")
            assert (await h.next_trap()).device_id == "core-v3"
        # core-01 (a v2c device) sending with core-v3's user and keys: not its credentials
        await h.trap(R1, *V3_OK, f"'' {COLD_START}")
        assert await h.nothing_delivered()

    r = run(learned)
    assert (r.accepted, r.dropped_bad_credentials) == (2, 1)

    async def pinned(h: Harness) -> None:
        await h.trap(R3, *V3_OK, f"'' {COLD_START}")
        assert (await h.next_trap()).kind == "cold_start"
        await h.trap(R3, *[other_engine if a == ENGINE_ID else a for a in V3_OK], f"'' {COLD_START}")
        assert await h.nothing_delivered()

    r = run(pinned, engine_ids={"core-v3": bytes.fromhex(ENGINE_ID[2:])})
    assert (r.accepted, r.dropped_bad_credentials) == (1, 1)


def test_informs_v2c_and_v3_are_acknowledged() -> None:
    async def test(h: Harness) -> None:
        assert await h.snmp("snmpinform", R1, "-v2c", "-c", COMMUNITY_1, f"'' {LINK_UP}") == 0
        assert (await h.next_trap()).device_id == "core-01"
        # no -e: the sender discovers our engine id; keys are localized to it
        v3 = [a for a in V3_OK if a not in ("-e", ENGINE_ID)]
        assert await h.snmp("snmpinform", R3, *v3, f"'' {LINK_UP}") == 0
        assert (await h.next_trap()).device_id == "core-v3"
        wrong = [WRONG_KEY if a == AUTH_KEY else a for a in v3]
        assert await h.snmp("snmpinform", R3, *wrong, f"'' {LINK_UP}") != 0  # net-snmp: authentication failure

    r = run(test)
    assert r.accepted == 2
    assert r.dropped_other["engine_id_discovery"] >= 1  # the inform sender's discovery round trip
    assert r.credential_failures["wrong v3 auth key"] == 1


# ------------------------------------------------------------------------------------------ robustness
def test_keeps_working_after_abuse_and_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def test(h: Harness) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((R1, 0))
            s.sendto(b"\x30\x03\x02\x01", ("127.0.0.1", h.port))  # truncated BER
            s.sendto(b"hello", ("127.0.0.1", h.port))
        await h.trap(STRANGER, "-v2c", "-c", COMMUNITY_1, f"'' {LINK_DOWN}")
        await h.trap(R1, "-v2c", "-c", "guess", f"'' {LINK_DOWN}")
        await h.trap(R3, *[WRONG_KEY if a == AUTH_KEY else a for a in V3_OK], f"'' {LINK_DOWN}")
        await h.snmp("snmpget", R1, "-v2c", "-c", COMMUNITY_1, "1.3.6.1.2.1.1.3.0")  # not a notification
        assert await h.nothing_delivered()
        for source, args in ((R1, ["-v2c", "-c", COMMUNITY_1]), (R3, V3_OK)):
            await h.trap(source, *args, f"'' {LINK_UP} 1.3.6.1.2.1.2.2.1.1.1 i 1")
            assert (await h.next_trap()).kind == "link_up"

    r = run(test)
    assert r.accepted == 2
    assert (r.dropped_unknown_source, r.dropped_bad_credentials) == (1, 2)
    assert r.dropped_other["malformed"] == 2
    assert r.dropped_other["not_a_notification"] == 1
    assert accounted(r) == r.received == 8
    assert caplog.text and not any(secret in caplog.text for secret in SECRETS)


def test_async_callback_runs_as_a_task_and_does_not_block() -> None:
    started: list[float] = []
    done: list[str] = []

    async def slow_repoll(trap: Trap) -> None:
        started.append(time.monotonic())
        await asyncio.sleep(0.8)
        done.append(trap.device_id)

    async def test(h: Harness) -> None:
        await asyncio.gather(
            h.trap(R1, "-v2c", "-c", COMMUNITY_1, f"'' {LINK_DOWN}"),
            h.trap(R2, "-v1", "-c", COMMUNITY_2, f"'' {R2} 2 0 ''"),
        )
        await asyncio.sleep(0.3)
        assert len(started) == 2 and max(started) - min(started) < 0.5 and not done
        await asyncio.sleep(0.8)
        assert sorted(done) == ["core-01", "dist-02"]

    run(test, on_trap=slow_repoll)


def test_stop_frees_the_port_and_is_idempotent() -> None:
    port = free_port()

    async def main() -> None:
        receiver = TrapReceiver(TARGETS, lambda t: None, port=port)
        await receiver.start()
        assert receiver.address == ("127.0.0.1", port)
        with pytest.raises(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", port))
        second = TrapReceiver(TARGETS, lambda t: None, port=port)
        with pytest.raises(OSError):
            await second.start()
        receiver.stop()
        receiver.stop()
        second.stop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", port))  # free at once, without yielding to the loop
        async with TrapReceiver(TARGETS, lambda t: None, port=port) as again:  # and reusable
            assert again.address[1] == port

    asyncio.run(main())


# ----------------------------------------------------------------------------------------------- latency
def _raw_link_down(request_id: int) -> bytes:
    varbinds = [
        ber.encode_varbind(SYS_UPTIME, ber.TIMETICKS, 12345),
        ber.encode_varbind(SNMP_TRAP_OID, ber.OBJECT_IDENTIFIER, (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)),
        ber.encode_varbind((*IF_INDEX, 3), ber.INTEGER, 3),
    ]
    return ber.encode_trap_v2c(COMMUNITY_1.encode(), request_id, varbinds)


def test_latency_send_to_callback() -> None:
    """Median of 20: a raw v2c datagram (receiver only), snmptrap v2c and v3 (including process start)."""
    arrivals: asyncio.Queue[float] = asyncio.Queue()
    results: dict[str, list[float]] = {}

    async def test(h: Harness) -> None:
        async def measure(name: str, send: Callable[[], Awaitable[Any]]) -> None:
            samples = []
            for _ in range(20):
                sent = time.perf_counter()
                await send()
                samples.append(await asyncio.wait_for(arrivals.get(), 1.0) - sent)
            results[name] = samples

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((R1, 0))
            s.setblocking(False)

            async def raw() -> None:
                s.sendto(_raw_link_down(1), ("127.0.0.1", h.port))

            await measure("raw v2c datagram", raw)
        await measure("snmptrap -v2c", lambda: h.trap(R1, "-v2c", "-c", COMMUNITY_1, f"'' {LINK_DOWN}"))
        await measure("snmptrap -v3 authPriv", lambda: h.trap(R3, *V3_OK, f"'' {LINK_DOWN}"))

    r = run(test, on_trap=lambda trap: arrivals.put_nowait(time.perf_counter()))
    assert r.accepted == 60
    for name, samples in results.items():
        print(f"\n{name}: median {statistics.median(samples) * 1000:.2f} ms, max {max(samples) * 1000:.2f} ms")
    assert statistics.median(results["raw v2c datagram"]) < 0.05
    assert all(statistics.median(samples) < 0.5 for samples in results.values())


# ------------------------------------------------------------------------------------------------- storms
def test_a_trap_storm_from_one_source_is_rate_limited_before_decoding(caplog: pytest.LogCaptureFixture) -> None:
    """5,000 linkDowns in a burst from one device: a burst's worth is decoded, the rest counted as rate_limited;
    the other devices' traps still get through; the storm is logged once."""
    from netmon.collect.traps import BURST_PER_SOURCE

    async def test(h: Harness) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            s.bind((R1, 0))
            for n in range(5000):
                s.sendto(_raw_link_down(n), ("127.0.0.1", h.port))
                if n % 500 == 499:
                    await asyncio.sleep(0.01)  # let the receiver drain: the kernel must not drop them
        await asyncio.sleep(0.5)
        assert await h.trap(R3, *V3_OK, f"'' {LINK_DOWN}") == 0  # another device, same moment
        while (await h.next_trap(2.0)).device_id != "core-v3":
            pass

    with caplog.at_level(logging.INFO, logger="netmon.collect.traps"):
        r = run(test)
    storm_lines = [rec for rec in caplog.records if "trap storm" in rec.getMessage()]
    assert r.received == 5001 and accounted(r) == r.received
    assert BURST_PER_SOURCE <= r.accepted - 1 <= BURST_PER_SOURCE + 30  # + refill while the burst was sent
    assert r.dropped_other["rate_limited"] == 5000 - (r.accepted - 1)
    assert len(storm_lines) == 1 and "core-01" in storm_lines[0].getMessage()
