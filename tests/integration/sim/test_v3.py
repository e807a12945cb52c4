"""The SNMPv3 simulated agents, asked by the real net-snmp client (snmpget / snmpbulkwalk).

The agents run on an asyncio loop in a background thread for the whole module
(starting ten pysnmp engines costs ~0.7 s), on the v3 devices' own loopback
addresses but on a free high port.  Keys are test values: the client and the
agents are both ours.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pysnmp.proto.api import v2c

from netmon.collect import ber
from netmon.inventory.load import load_inventory
from netmon.sim.build import build_world
from netmon.sim.mib import layout_for
from netmon.sim.v3 import V3Agents, V3User, value_of
from netmon.sim.world import Behaviour, SimDevice, World

pytestmark = pytest.mark.integration

INVENTORY = Path(__file__).parents[3] / "inventory"
AUTH_KEY = "test-auth-key-8c1f"
PRIV_KEY = "test-priv-key-51ab"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
T = TypeVar("T")

if shutil.which("snmpget") is None or shutil.which("snmpbulkwalk") is None:
    pytest.skip("net-snmp client tools (Debian 'snmp') are not installed", allow_module_level=True)


class LoopThread:
    """An asyncio loop in a daemon thread: the agents serve while the test blocks on subprocesses."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="v3-agents", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Served:
    world: World
    agents: V3Agents
    devices: list[SimDevice]
    port: int
    loop: LoopThread

    def addr(self, dev: SimDevice) -> str:
        return f"{dev.host}:{self.port}"


def _users(world: World, devices: list[SimDevice]) -> dict[str, V3User]:
    profile = load_inventory(INVENTORY).snmp_profiles["snmp-v3-core"]
    assert profile.user and profile.auth_protocol and profile.priv_protocol
    user = V3User(profile.user, profile.auth_protocol.value, AUTH_KEY, profile.priv_protocol.value, PRIV_KEY)
    return {d.id: user for d in devices}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    world = build_world(load_inventory(INVENTORY), time.time())
    devices = [d for d in world.devices.values() if d.v3]
    assert len(devices) >= 2, "the sample inventory has v3 core and district routers"
    loop = LoopThread()
    agents = V3Agents(world, _users(world, devices))
    port = 16161
    while True:
        for dev in devices:
            dev.port = port
        try:
            loop.run(agents.start(devices))
            break
        except OSError:
            port += 1
            if port > 16261:
                raise
    try:
        yield Served(world, agents, devices, port, loop)
    finally:
        loop.call(agents.stop)
        loop.call(agents.stop)  # idempotent
        loop.close()


def argv(tool: str, addr: str, *oids: str, auth: str = AUTH_KEY, priv: str = PRIV_KEY, user: str = "netmon",
         timeout: int = 2, retries: int = 1, extra: tuple[str, ...] = ()) -> list[str]:
    """A net-snmp command line: authPriv, SHA-256/AES as the snmp-v3-core profile says, numeric, no MIBs."""
    return [tool, "-v3", "-l", "authPriv", "-u", user, "-a", "SHA-256", "-A", auth, "-x", "AES", "-X", priv,
            "-m", "", "-On", "-t", str(timeout), "-r", str(retries), *extra, addr, *oids]


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
def test_value_conversion_matches_the_ber_codec() -> None:
    """Every value a layout serves keeps its type and value when handed to pysnmp."""
    world = build_world(load_inventory(INVENTORY), time.time())
    dev = next(d for d in world.devices.values() if d.v3)
    layout = layout_for(dev)
    types = {ber.INTEGER: v2c.Integer32, ber.OCTET_STRING: v2c.OctetString, ber.OBJECT_IDENTIFIER:
             v2c.ObjectIdentifier, ber.COUNTER32: v2c.Counter32, ber.GAUGE32: v2c.Gauge32,
             ber.TIMETICKS: v2c.TimeTicks, ber.COUNTER64: v2c.Counter64}
    seen = set()
    now = time.time()
    for pos in range(len(layout.oids)):
        encoded = layout.varbind(pos, dev, now)
        message = ber.encode_response_from_encoded_varbinds(ber.V2C, b"c", 1, 0, 0, [encoded])
        oid, tag, value = ber.decode_response(message).varbinds[0]
        converted = value_of(encoded)
        assert oid == layout.oids[pos]
        assert converted.tagSet == types[tag].tagSet, oid
        if tag == ber.OCTET_STRING:
            assert bytes(converted) == value, oid
        elif tag == ber.OBJECT_IDENTIFIER:
            assert tuple(converted) == value, oid
        else:
            assert int(converted) == value, oid
        seen.add(tag)
    assert seen == set(types)


def test_get_returns_sys_name(served: Served) -> None:
    for dev in served.devices[:3]:
        proc = snmp("snmpget", served.addr(dev), SYS_NAME)
        assert proc.returncode == 0, proc.stderr
        assert _string(proc.stdout) == dev.sys_name


def test_bulkwalk_if_names_equal_the_world(served: Served) -> None:
    for dev in (served.devices[0], served.devices[-1]):  # the core router and a district one
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


def test_wrong_credentials_fail_and_others_keep_being_served(served: Served) -> None:
    dev, other = served.devices[0], served.devices[1]
    bad_auth = snmp("snmpget", served.addr(dev), SYS_NAME, auth="not-the-auth-key", retries=0)
    assert bad_auth.returncode != 0
    assert "Authentication failure" in bad_auth.stderr
    bad_priv = snmp("snmpget", served.addr(dev), SYS_NAME, priv="not-the-priv-key", retries=0)
    assert bad_priv.returncode != 0
    assert "Decryption error" in bad_priv.stderr
    bad_user = snmp("snmpget", served.addr(dev), SYS_NAME, user="intruder", retries=0)
    assert bad_user.returncode != 0
    assert "Unknown user name" in bad_user.stderr
    for d in (dev, other):
        proc = snmp("snmpget", served.addr(d), SYS_NAME)
        assert proc.returncode == 0, proc.stderr
        assert _string(proc.stdout) == d.sys_name


def test_set_is_refused(served: Served) -> None:
    proc = snmp("snmpset", served.addr(served.devices[0]), SYS_NAME, "s", "hacked")
    assert proc.returncode != 0
    assert "notWritable" in proc.stdout + proc.stderr


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
    clash = V3Agents(served.world, _users(served.world, [dev]))
    with pytest.raises(OSError, match=re.escape(f"{dev.host}:{served.port}")) as info:
        served.loop.run(clash.start([dev]))
    assert dev.id in str(info.value)
    served.loop.call(clash.stop)
    assert snmp("snmpget", served.addr(dev), SYS_NAME).returncode == 0


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
