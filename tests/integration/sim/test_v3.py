"""The simulated SNMPv3 agents (netmon's USM, authoritative side), asked by clients that are not ours:
net-snmp's ``snmpget``/``snmpbulkwalk`` and pysnmp's manager, for every auth × privacy pair; and their traps,
received by the trap receiver (pysnmp).

The agents run on an asyncio loop in a background thread for the whole module, on the devices' own loopback
addresses but on a free high port. Keys are test values: the clients and the agents are both ours.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from loopthread import LoopThread
from simulated import free_port
from v3names import NET_SNMP_AUTH, NET_SNMP_PRIV
from v3names import PAIRS as AUTH_PRIV_PAIRS

from netmon.collect.target import Target
from netmon.collect.traps import Trap, TrapReceiver
from netmon.inventory.load import load_inventory
from netmon.secrets import Secret
from netmon.sim.build import build_world
from netmon.sim.mib import layout_for
from netmon.sim.traps import send_trap, trap_varbinds
from netmon.sim.v3 import V3Agents, V3User
from netmon.sim.world import Behaviour, Change, SimDevice, World

pytestmark = pytest.mark.integration

INVENTORY = Path(__file__).parents[3] / "inventory"
AUTH_KEY = "test-auth-key-8c1f"
PRIV_KEY = "test-priv-key-51ab"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
PYSNMP_AUTH = {"MD5": "USM_AUTH_HMAC96_MD5", "SHA": "USM_AUTH_HMAC96_SHA", "SHA224": "USM_AUTH_HMAC128_SHA224",
               "SHA256": "USM_AUTH_HMAC192_SHA256", "SHA384": "USM_AUTH_HMAC256_SHA384",
               "SHA512": "USM_AUTH_HMAC384_SHA512"}  # fmt: skip
PYSNMP_PRIV = {"DES": "USM_PRIV_CBC56_DES", "AES": "USM_PRIV_CFB128_AES", "AES192": "USM_PRIV_CFB192_AES_BLUMENTHAL",
               "AES256": "USM_PRIV_CFB256_AES_BLUMENTHAL", "AES192C": "USM_PRIV_CFB192_AES",
               "AES256C": "USM_PRIV_CFB256_AES"}  # fmt: skip
PAIRS = [*AUTH_PRIV_PAIRS, (None, None)]

if shutil.which("snmpget") is None or shutil.which("snmpbulkwalk") is None:
    pytest.skip("net-snmp client tools (Debian 'snmp') are not installed", allow_module_level=True)


@dataclass
class Served:
    world: World
    agents: V3Agents
    devices: list[SimDevice]  # SHA-256/AES users, as the sample inventory's profile
    pairs: dict[tuple[str | None, str | None], SimDevice]  # one device per protocol pair
    port: int
    loop: LoopThread

    def addr(self, dev: SimDevice) -> str:
        return f"{dev.host}:{self.port}"


def _user(auth: str | None, priv: str | None, name: str = "netmon") -> V3User:
    return V3User(name, auth, AUTH_KEY if auth else None, priv, PRIV_KEY if priv else None)


def _pair_user(auth: str | None, priv: str | None) -> str:
    return f"{(auth or 'none').lower()}-{(priv or 'none').lower()}"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    world = build_world(load_inventory(INVENTORY), time.time())
    routers = [d for d in world.devices.values() if d.kind == "router"]
    devices = [d for d in routers if d.v3][:6]
    assert len(devices) == 6, "the sample inventory has SNMPv3 routers"
    others = [d for d in routers if d not in devices][: len(PAIRS)]
    pairs = dict(zip(PAIRS, others, strict=True))
    users = {d.id: _user("SHA256", "AES") for d in devices}
    users |= {d.id: _user(*pair, _pair_user(*pair)) for pair, d in pairs.items()}
    loop = LoopThread("v3-agents")
    agents = V3Agents(world, users)
    port = free_port()
    served_devices = devices + list(pairs.values())
    for dev in served_devices:
        dev.port = port
    loop.call(lambda: agents.start(loop.loop, served_devices))
    try:
        yield Served(world, agents, devices, pairs, port, loop)
    finally:
        loop.call(agents.stop)
        loop.call(agents.stop)  # idempotent
        loop.close()


def argv(tool: str, addr: str, *oids: str, auth: str = AUTH_KEY, priv: str = PRIV_KEY, user: str = "netmon",
         timeout: int = 2, retries: int = 1, extra: tuple[str, ...] = (), protocols: tuple[str | None, str | None] =
         ("SHA256", "AES")) -> list[str]:  # fmt: skip
    """A net-snmp command line at the level the protocols give, numeric, no MIBs."""
    a, p = protocols
    level = ["-l", "authPriv" if p else "authNoPriv" if a else "noAuthNoPriv"]
    keys = (["-a", NET_SNMP_AUTH[a], "-A", auth] if a else []) + (["-x", NET_SNMP_PRIV[p], "-X", priv] if p else [])
    return [tool, "-v3", *level, "-u", user, *keys, "-m", "", "-On", "-t", str(timeout), "-r", str(retries), *extra,
            addr, *oids]  # fmt: skip


def snmp(tool: str, addr: str, *oids: str, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv(tool, addr, *oids, **options), capture_output=True, text=True, timeout=60,
                          check=False)


def _string(out: str) -> str:
    match = re.search(r'STRING: "(.*)"', out)
    assert match, out
    return match.group(1)


def _counter64(out: str) -> int:
    match = re.search(r"Counter64: (\d+)", out)
    assert match, out
    return int(match.group(1))


# ------------------------------------------------------------------- tests
def test_net_snmp_reads_every_protocol_pair(served: Served) -> None:
    for (auth, priv), dev in served.pairs.items():
        proc = snmp("snmpget", served.addr(dev), SYS_NAME, protocols=(auth, priv), user=_pair_user(auth, priv))
        assert proc.returncode == 0, (auth, priv, proc.stderr)
        assert _string(proc.stdout) == dev.sys_name


def test_pysnmps_manager_reads_every_protocol_pair(served: Served) -> None:
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    async def everything() -> list[tuple[Any, Any]]:
        engine = hlapi.SnmpEngine()  # one manager engine, a user name per pair (pysnmp keys users by name)
        out = []
        try:
            for (auth, priv), dev in served.pairs.items():
                user = hlapi.UsmUserData(
                    _pair_user(auth, priv), authKey=AUTH_KEY if auth else None, privKey=PRIV_KEY if priv else None,
                    authProtocol=getattr(hlapi, PYSNMP_AUTH[auth]) if auth else hlapi.USM_AUTH_NONE,
                    privProtocol=getattr(hlapi, PYSNMP_PRIV[priv]) if priv else hlapi.USM_PRIV_NONE,
                )  # fmt: skip
                transport = await hlapi.UdpTransportTarget.create((dev.host, served.port), timeout=2, retries=1)
                indication, status, _index, varbinds = await hlapi.get_cmd(
                    engine, user, transport, hlapi.ContextData(), hlapi.ObjectType(hlapi.ObjectIdentity(SYS_NAME)))
                out.append((indication or status, varbinds))
        finally:
            engine.close_dispatcher()
        return out

    for ((auth, priv), dev), (error, varbinds) in zip(served.pairs.items(), asyncio.run(everything()), strict=True):
        assert not error, (auth, priv, error)
        assert bytes(varbinds[0][1]) == dev.sys_name.encode()


def test_bulkwalk_if_names_equal_the_world(served: Served) -> None:
    for dev in (served.devices[0], served.devices[-1]):
        proc = snmp("snmpbulkwalk", served.addr(dev), IF_NAME)
        assert proc.returncode == 0, proc.stderr
        rows = re.findall(rf'^\.{re.escape(IF_NAME)}\.(\d+) = STRING: "(.*)"$', proc.stdout, re.M)
        assert [(int(i), name) for i, name in rows] == [(i.index, i.name) for i in dev.interfaces]


def test_hc_in_octets_grows_and_matches_the_world(served: Served) -> None:
    dev = served.devices[0]
    itf = next(i for i in dev.interfaces if i.oper_up and i.utilisation > 0)
    oid = f"{IF_HC_IN_OCTETS}.{itf.index}"
    values = []
    for _ in range(2):
        before = time.time()
        proc = snmp("snmpget", served.addr(dev), oid)
        after = time.time()
        assert proc.returncode == 0, proc.stderr
        value = _counter64(proc.stdout)
        assert itf.octets(before)[0] <= value <= itf.octets(after)[0]
        values.append(value)
        time.sleep(1.0)
    assert values[1] > values[0]


def test_wrong_credentials_are_reported_and_others_keep_being_served(served: Served) -> None:
    dev, other = served.devices[0], served.devices[1]
    before = dict(served.agents.usm_stats)
    bad_auth = snmp("snmpget", served.addr(dev), SYS_NAME, auth="not-the-auth-key", retries=0)
    assert bad_auth.returncode != 0 and "Authentication failure" in bad_auth.stderr
    bad_priv = snmp("snmpget", served.addr(dev), SYS_NAME, priv="not-the-priv-key", retries=0)
    assert bad_priv.returncode != 0 and "Decryption error" in bad_priv.stderr
    bad_user = snmp("snmpget", served.addr(dev), SYS_NAME, user="intruder", retries=0)
    assert bad_user.returncode != 0 and "Unknown user name" in bad_user.stderr
    low = snmp("snmpget", served.addr(dev), SYS_NAME, protocols=("SHA256", None), retries=0)
    assert low.returncode != 0 and "authorizationError" in low.stdout + low.stderr
    for name in ("usmStatsWrongDigests", "usmStatsDecryptionErrors", "usmStatsUnknownUserNames"):
        assert served.agents.usm_stats.get(name, 0) == before.get(name, 0) + 1, name
    for d in (dev, other):
        proc = snmp("snmpget", served.addr(d), SYS_NAME)
        assert proc.returncode == 0, proc.stderr
        assert _string(proc.stdout) == d.sys_name


def test_set_is_refused(served: Served) -> None:
    proc = snmp("snmpset", served.addr(served.devices[0]), SYS_NAME, "s", "hacked", timeout=1, retries=0)
    assert proc.returncode != 0 and "notWritable" in proc.stdout + proc.stderr


def test_device_that_does_not_answer_times_out(served: Served) -> None:
    dev = served.devices[1]
    served.loop.call(lambda: served.world.set_behaviour(dev.id, Behaviour.DROP))
    try:
        dropped = served.agents.dropped
        started = time.monotonic()
        proc = snmp("snmpget", served.addr(dev), SYS_NAME, timeout=1, retries=0)
        assert proc.returncode != 0
        assert "Timeout" in proc.stdout + proc.stderr
        assert time.monotonic() - started >= 1.0
        assert served.agents.dropped > dropped
    finally:
        served.loop.call(lambda: served.world.set_behaviour(dev.id, Behaviour.NORMAL))
    assert snmp("snmpget", served.addr(dev), SYS_NAME).returncode == 0


def test_slow_device_answers_late_without_blocking_the_others(served: Served) -> None:
    slow, fast = served.devices[2], served.devices[3]
    delay = 0.8
    served.loop.call(lambda: served.world.set_behaviour(slow.id, Behaviour.SLOW, delay))
    try:
        started = time.monotonic()
        cmd = argv("snmpget", served.addr(slow), SYS_NAME, timeout=5, retries=0)
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as pending:
            time.sleep(0.1)
            fast_started = time.monotonic()
            quick = snmp("snmpget", served.addr(fast), SYS_NAME)
            fast_took = time.monotonic() - fast_started
            out, err = pending.communicate(timeout=30)
            slow_took = time.monotonic() - started
        assert quick.returncode == 0, quick.stderr
        assert fast_took < delay, "the slow device must not hold up the loop"
        assert pending.returncode == 0, err
        assert _string(out) == slow.sys_name
        assert slow_took >= delay
    finally:
        served.loop.call(lambda: served.world.set_behaviour(slow.id, Behaviour.NORMAL))


def test_bind_failure_names_the_device(served: Served) -> None:
    dev = served.devices[0]
    clash = V3Agents(served.world, {dev.id: _user("SHA256", "AES")})
    with pytest.raises(OSError, match=re.escape(f"{dev.host}:{served.port}")) as info:
        served.loop.call(lambda: clash.start(served.loop.loop, [dev]))
    assert dev.id in str(info.value)
    served.loop.call(clash.stop)
    assert snmp("snmpget", served.addr(dev), SYS_NAME).returncode == 0


def test_v3_traps_reach_the_trap_receiver(served: Served) -> None:
    """issue #19: an SNMPv3 device sends SNMPv3 traps (authPriv, its own engine), not a v2c coldStart."""
    dev = served.devices[4]
    target = Target(dev.id, dev.host, served.port, "3", user="netmon", auth_protocol="SHA256",
                    auth_key=Secret("env:A", AUTH_KEY), priv_protocol="AES", priv_key=Secret("env:P", PRIV_KEY))
    got: list[Trap] = []

    async def receive() -> tuple[int, int]:
        receiver = TrapReceiver([target], got.append, port=0)
        await receiver.start()
        try:
            for change in (Change("cold_start", dev.id), Change("link_down", dev.id, 2, dev.interfaces[1].name)):
                varbinds = trap_varbinds(dev, change, time.time())
                assert varbinds is not None
                send_trap(dev, served.agents.trap(dev, varbinds, time.time()), receiver.address)
            for _ in range(100):
                if len(got) == 2:
                    break
                await asyncio.sleep(0.02)
            return receiver.accepted, receiver.dropped_bad_credentials
        finally:
            receiver.stop()

    accepted, refused = served.loop.run(receive())
    assert (accepted, refused) == (2, 0)
    assert [(t.device_id, t.kind, t.if_index) for t in got] == [(dev.id, "cold_start", None), (dev.id, "link_down", 2)]


def test_cpu_per_varbind_of_a_bulk_walk(served: Served) -> None:
    """Agent-side CPU (the loop thread's own clock) per varbind served, for a full-MIB bulk walk."""
    dev = served.devices[0]
    walks, repetitions = 5, 50

    def walk() -> None:
        proc = snmp("snmpbulkwalk", served.addr(dev), "1.3.6.1", extra=(f"-Cr{repetitions}",))
        assert proc.returncode == 0, proc.stderr

    walk()  # warm-up (and engine discovery by the client is per run anyway)
    cpu0, vb0, req0 = served.loop.call(time.thread_time), served.agents.varbinds, served.agents.requests
    for _ in range(walks):
        walk()
    cpu1, vb1, req1 = served.loop.call(time.thread_time), served.agents.varbinds, served.agents.requests
    varbinds = vb1 - vb0
    assert varbinds == walks * len(layout_for(dev).oids) + walks  # each walk ends with one endOfMibView
    per_varbind = (cpu1 - cpu0) / varbinds * 1e6
    per_response = (cpu1 - cpu0) / (req1 - req0) * 1e6
    print(f"\nSNMPv3 agent CPU: {per_varbind:.1f} µs/varbind, {per_response:.0f} µs/response "
          f"({varbinds} varbinds, {req1 - req0} responses, -Cr{repetitions})")
    assert per_varbind < 1_000
