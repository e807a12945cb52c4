"""The SNMPv3 poller against real agents, and against every way a v3 reply can go wrong.

* net-snmp ``snmpd`` (Debian 5.9.3) with a user for every auth (MD5, SHA, SHA-224/256/384/512) × privacy
  (none, DES, AES, AES-192, AES-256, AES-192-C, AES-256-C) pair it offers, at its level, and a
  noAuthNoPriv user; restarted (a reboot: boots + 1) and given a new engine id, on the same port.
* pysnmp's own agent (``tests/fixtures/snmp/pysnmp_v3_agent.py``), every pair.
* The simulator's USM agent in-process, to reboot it, move its clock, change its engine id, silence it.
* A UDP relay in front of an agent that duplicates, replays, flips bits, truncates and forges (with the
  real keys) replies.

Every refusal must be a one-line error naming its cause, within the device's deadline, without a key in
any log line or repr. Agents run on 127.0.0.0/8 at free high ports and are stopped by PID.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from loopthread import LoopThread
from simulated import free_port
from v3names import NET_SNMP_AUTH, NET_SNMP_PRIV, PAIRS

from netmon.collect import ber, usm
from netmon.collect.ber import OCTET_STRING, PduType
from netmon.collect.oids import DEVICE_SPEC, DISCOVERY_SPEC, IF_NAME, SYS_DESCR, SYS_NAME, SYS_UPTIME, PollSpec
from netmon.collect.snmp import PollResult, SnmpPoller, Target
from netmon.inventory.load import load_inventory
from netmon.secrets import Secret
from netmon.sim.build import build_world
from netmon.sim.v3 import V3Agents, V3User
from netmon.sim.world import Behaviour, SimDevice, World

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
AUTH_KEY = "it-v3-auth-5e1d0a"
PRIV_KEY = "it-v3-priv-93c7b4"
WRONG_KEY = "it-v3-wrong-000000"
COMMUNITY = "it-v3-community"
SCALARS = PollSpec("scalars", scalars=(SYS_DESCR, SYS_UPTIME, SYS_NAME))


def user_name(auth: str | None, priv: str | None) -> str:
    return f"{(auth or 'none').lower()}-{(priv or 'none').lower()}"


def v3(port: int, auth: str | None, priv: str | None, *, user: str | None = None, host: str = "127.0.0.1",
       auth_key: str = AUTH_KEY, priv_key: str = PRIV_KEY, name: str | None = None, timeout_s: float = 1.0,
       retries: int = 1) -> Target:  # fmt: skip
    return Target(
        name or f"{user or user_name(auth, priv)}@{port}", host, port, "3", user=user or user_name(auth, priv),
        auth_protocol=auth, auth_key=Secret("env:IT_V3_AUTH", auth_key) if auth else None,
        priv_protocol=priv, priv_key=Secret("env:IT_V3_PRIV", priv_key) if priv else None,
        timeout_s=timeout_s, retries=retries,
    )  # fmt: skip


def poll(targets: list[Target], spec: PollSpec = DEVICE_SPEC, **options: float) -> list[PollResult]:
    async def run() -> list[PollResult]:
        async with SnmpPoller(**options) as poller:  # type: ignore[arg-type]
            return await asyncio.wait_for(poller.poll(targets, spec), 60)

    return asyncio.run(run())


def discovery_answered(port: int, host: str = "127.0.0.1") -> bool:
    """True once an SNMPv3 discovery probe to ``host:port`` gets a Report (the agent is up)."""
    probe = usm.encode_message(1, usm.REPORTABLE_FLAG, b"", 0, 0, b"",
                               ber.encode_scoped_pdu(b"", b"", PduType.GET, 1, 0, 0, ()))  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(probe, (host, port))
        try:
            return bool(s.recv(65535))
        except OSError:
            return False


def wait_for(port: int, proc: subprocess.Popen[str] | subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        if discovery_answered(port):
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not answer on port {port}")


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def assert_no_secret(*texts: object) -> None:
    joined = "".join(map(str, texts))
    for secret in (AUTH_KEY, PRIV_KEY, WRONG_KEY, COMMUNITY):
        assert secret not in joined


# ---------------------------------------------------------------------------------------------- snmpd
class Snmpd:
    """net-snmp snmpd in the foreground with its own config and persistent directory; restartable."""

    def __init__(self, tmp: Path, engine_id: str = "netmon-it-1") -> None:
        binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
        if not os.path.exists(binary):
            pytest.skip("net-snmp snmpd (Debian package snmpd) is not installed")
        self.binary, self.tmp, self.port = binary, tmp, free_port()
        self.engine_id = engine_id
        self.persist = tmp / "persist"
        self.proc: subprocess.Popen[bytes] | None = None

    def config(self) -> Path:
        lines = [f"rocommunity {COMMUNITY} 127.0.0.1", "sysName it-snmpd-v3", f"engineID {self.engine_id}",
                 "createUser none-none", "rouser none-none noauth"]  # fmt: skip
        for auth, priv in PAIRS:
            name = user_name(auth, priv)
            line = f'createUser {name} {NET_SNMP_AUTH[auth]} "{AUTH_KEY}"'
            lines.append(line + (f' {NET_SNMP_PRIV[priv]} "{PRIV_KEY}"' if priv else ""))
            lines.append(f"rouser {name} {'priv' if priv else 'auth'}")
        path = self.tmp / "snmpd.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> None:
        # snmpEngineBoots lives in the persistent dir; -C skips it unless it is named as a config file too
        persist = self.persist
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persist)}
        config = f"{self.config()},{persist / 'snmpd.conf'}"
        self.proc = subprocess.Popen([self.binary, "-f", "-Lo", "-C", "-c", config, "-m", "", "-I",
                                      "-smux", f"udp:127.0.0.1:{self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=env)  # fmt: skip
        wait_for(self.port, self.proc, "snmpd")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    agent = Snmpd(tmp_path_factory.mktemp("snmpd-v3"))
    agent.start()
    yield agent
    agent.stop()


def v2c_reference(port: int) -> PollResult:
    target = Target("snmpd-v2c", "127.0.0.1", port, "2c", community=Secret("env:IT_COMMUNITY", COMMUNITY))
    [result] = poll([target])
    assert result.ok, result.error
    return result


def test_every_protocol_pair_and_level_against_snmpd(snmpd: Snmpd) -> None:
    reference = v2c_reference(snmpd.port)
    targets = [v3(snmpd.port, auth, priv) for auth, priv in PAIRS] + [v3(snmpd.port, None, None)]
    results = poll(targets)
    assert [r.error for r in results if not r.ok] == []
    for r in results:
        assert r.scalars[SYS_NAME] == (OCTET_STRING, b"it-snmpd-v3"), r.device_id
        assert r.columns[IF_NAME] == reference.columns[IF_NAME], r.device_id
    assert len(results) == 6 * 7 + 1


def test_discovery_spec_and_a_dead_v3_agent_in_one_batch(snmpd: Snmpd) -> None:
    """The slow poll (ENTITY/HOST-RESOURCES) over v3, beside an SNMPv3 address where nothing answers."""
    silent = v3(free_port(), "SHA256", "AES", name="nobody-home")  # ICMP port unreachable: a fast failure
    started = time.monotonic()
    live, dead = poll([v3(snmpd.port, "SHA256", "AES"), silent], DISCOVERY_SPEC)
    assert live.ok, live.error
    assert live.columns[(1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 3)]  # hrStorageDescr
    assert not dead.ok and dead.error is not None and dead.error.startswith("timeout")
    assert time.monotonic() - started < 2 * 2 * 1.0 + 1.0


def test_refusals_are_one_line_errors_naming_the_cause(snmpd: Snmpd, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = snmpd.port
    cases = {
        v3(port, "SHA256", "AES", auth_key=WRONG_KEY, name="wrong-auth"):
            "wrong SNMPv3 auth key or auth protocol (SHA256) for user 'sha256-aes' (usmStatsWrongDigests)",
        v3(port, "SHA512", "AES", user="sha256-aes", name="wrong-auth-protocol"):
            "wrong SNMPv3 auth key or auth protocol (SHA512) for user 'sha256-aes' (usmStatsWrongDigests)",
        v3(port, "SHA256", "AES", priv_key=WRONG_KEY, name="wrong-priv"):
            "timeout after 1 retries; the agent answered discovery but not the authPriv request "
            "(wrong privacy key or protocol?)",
        v3(port, "MD5", "AES256C", user="md5-aes256", name="wrong-aes-variant"):
            "timeout after 1 retries; the agent answered discovery but not the authPriv request "
            "(wrong privacy key or protocol?)",
        v3(port, "SHA256", "AES", user="intruder", name="unknown-user"):
            "unknown SNMPv3 user 'intruder' on the agent (usmStatsUnknownUserNames)",
        v3(port, "SHA256", "AES", user="sha256-none", name="priv-for-auth-only-user"):
            "security level authPriv not supported for user 'sha256-none' by the agent (usmStatsUnsupportedSecLevels)",
        v3(port, "SHA256", None, user="sha256-aes", name="level-below-rouser"):
            "access refused to SNMPv3 user 'sha256-aes' at authNoPriv (authorizationError: the agent's access "
            "rules need another security level or view)",
        v3(port, "SHA256", None, user="sha256-aes", auth_key="short", name="short-password"):
            "SNMPv3 password shorter than 8 characters (RFC 3414 11.2)",
    }  # fmt: skip
    started = time.monotonic()
    results = poll(list(cases))
    took = time.monotonic() - started
    for target, result in zip(cases, results, strict=True):
        assert not result.ok
        assert result.error == cases[target], target.device_id
        assert target.device_id in caplog.text
    assert took < 2 * (1.0 * 2) + 1.5  # discovery + request, each within timeout × (retries + 1)
    assert_no_secret(caplog.text, results, list(cases))


def test_snmpd_restart_is_a_reboot_and_a_new_engine_id_is_rediscovered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    agent = Snmpd(tmp_path, engine_id="netmon-it-first")
    agent.start()
    target = v3(agent.port, "SHA256", "AES")

    async def three_polls() -> list[PollResult]:
        async with SnmpPoller() as poller:
            first = await poller.poll_one(target, SCALARS)
            await asyncio.to_thread(agent.stop)
            await asyncio.to_thread(agent.start)  # same persistent dir: snmpEngineBoots + 1
            rebooted = await poller.poll_one(target, SCALARS)
            await asyncio.to_thread(agent.stop)
            agent.engine_id, agent.persist = "netmon-it-second", tmp_path / "new-router"  # new hardware
            await asyncio.to_thread(agent.start)
            replaced = await poller.poll_one(target, SCALARS)
            return [first, rebooted, replaced]

    try:
        first, rebooted, replaced = asyncio.run(three_polls())
    finally:
        agent.stop()
    assert (first.ok, first.requests) == (True, 2), first.error  # discovery, then the request
    assert (rebooted.ok, rebooted.requests) == (True, 2), rebooted.error  # notInTimeWindow, then again
    assert (replaced.ok, replaced.requests) == (True, 2), replaced.error  # unknown engine id: its report says
    # the new one, with boots and time good enough to go on
    assert rebooted.scalars[SYS_UPTIME][1] < first.scalars[SYS_UPTIME][1] + 1000  # type: ignore[operator]
    assert "SNMPv3 engine id changed from" in caplog.text


# ---------------------------------------------------------------------------------------- pysnmp agent
@pytest.fixture(scope="module")
def pysnmp_agent() -> Iterator[int]:
    port = free_port()
    script = ROOT / "tests" / "fixtures" / "snmp" / "pysnmp_v3_agent.py"
    proc = subprocess.Popen([sys.executable, str(script), str(port), AUTH_KEY, PRIV_KEY], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        wait_for(port, proc, "pysnmp agent")
        yield port
    finally:
        stop(proc)


def test_every_protocol_pair_against_pysnmps_agent(pysnmp_agent: int) -> None:
    targets = [v3(pysnmp_agent, auth, priv) for auth, priv in PAIRS] + [v3(pysnmp_agent, None, None)]
    results = poll(targets, SCALARS, max_repetitions=8)
    assert [r.error for r in results if not r.ok] == []
    for r in results:
        assert r.scalars[SYS_DESCR][1].startswith(b"PySNMP engine")  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- the simulator in-process
@dataclass
class Served:
    world: World
    agents: V3Agents
    devices: list[SimDevice]
    loop: LoopThread
    port: int

    def target(self, dev: SimDevice, **options: object) -> Target:
        return v3(self.port, "SHA256", "AES", user="netmon", host=dev.host, name=dev.id, **options)  # type: ignore[arg-type]

    def restart(self, **options: object) -> None:
        """Stop the agents and start new ones on the same addresses (e.g. with other engine ids)."""
        self.loop.call(self.agents.stop)
        self.agents = V3Agents(self.world, _users(self.devices), **options)  # type: ignore[arg-type]
        self.loop.call(lambda: self.agents.start(self.loop.loop, self.devices))


def _users(devices: list[SimDevice]) -> dict[str, V3User]:
    user = V3User("netmon", "SHA256", AUTH_KEY, "AES", PRIV_KEY)
    return {d.id: user for d in devices}


@pytest.fixture
def served() -> Iterator[Served]:
    world = build_world(load_inventory(ROOT / "inventory"), time.time())
    devices = [d for d in world.devices.values() if d.v3][:6]
    loop = LoopThread("v3-agents")
    agents = V3Agents(world, _users(devices))
    port = free_port()
    for dev in devices:
        dev.port = port
    loop.call(lambda: agents.start(loop.loop, devices))
    s = Served(world, agents, devices, loop, port)
    try:
        yield s
    finally:
        loop.call(s.agents.stop)
        loop.close()


def two_polls(served: Served, target: Target, between: Callable[[], None], *, on_loop: bool = True
              ) -> tuple[PollResult, PollResult]:
    """Poll, run ``between`` (on the agents' loop, or in a thread that may call into it), poll again."""

    async def run() -> tuple[PollResult, PollResult]:
        async with SnmpPoller() as poller:
            first = await poller.poll_one(target, SCALARS)
            await asyncio.to_thread(served.loop.call, between) if on_loop else await asyncio.to_thread(between)
            return first, await poller.poll_one(target, SCALARS)

    return asyncio.run(run())


def test_wrong_privacy_key_is_named_by_the_agents_report(served: Served) -> None:
    [result] = poll([served.target(served.devices[0], priv_key=WRONG_KEY)], SCALARS)
    assert result.error == ("wrong SNMPv3 privacy key or privacy protocol (AES) for user 'netmon' "
                            "(usmStatsDecryptionErrors)")


def test_agent_reboot_between_polls(served: Served) -> None:
    dev = served.devices[0]
    first, second = two_polls(served, served.target(dev), lambda: served.world.reboot(dev.id, time.time()))
    assert first.ok and second.ok, (first.error, second.error)
    assert second.requests == 2  # notInTimeWindow with the new boots, then the request again
    assert second.scalars[SYS_UPTIME][1] < 500  # type: ignore[operator]


def test_agent_clock_far_ahead_is_followed(served: Served) -> None:
    dev = served.devices[1]

    def jump() -> None:
        dev.boot -= 10_000_000  # engine time 115 days ahead, same boots

    first, second = two_polls(served, served.target(dev), jump)
    assert first.ok and second.ok, (first.error, second.error)
    assert second.requests == 2


def test_agent_clock_gone_back_is_refused_as_a_replay(served: Served) -> None:
    dev = served.devices[2]

    def back() -> None:
        dev.boot += 3600  # engine time an hour behind, boots unchanged: RFC 3414 says replay

    first, second = two_polls(served, served.target(dev), back)
    assert first.ok, first.error
    assert second.error is not None and second.error.startswith(
        "not in time window: the agent's engine time went back without a reboot"), second.error


def test_engine_id_change_is_rediscovered(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    dev = served.devices[3]
    new_id = b"\x80\x00\x4f\xb8\x05replaced-router"
    first, second = two_polls(served, served.target(dev), lambda: None)
    assert first.ok and second.ok and second.requests == 1  # a known engine costs no extra round trip
    first, second = two_polls(served, served.target(dev), lambda: served.restart(engine_ids={dev.id: new_id}),
                              on_loop=False)
    assert first.ok and second.ok, (first.error, second.error)
    assert second.requests == 2  # unknownEngineID report with the new id, then the request
    assert new_id.hex() in caplog.text


def test_dead_and_slow_v3_devices_cost_one_deadline(served: Served) -> None:
    dead, slow, *alive = served.devices
    served.loop.call(lambda: served.world.set_behaviour(dead.id, Behaviour.DROP))
    served.loop.call(lambda: served.world.set_behaviour(slow.id, Behaviour.SLOW, 5.0))
    targets = [served.target(d, timeout_s=0.5, retries=1) for d in served.devices]
    started = time.monotonic()
    results = {r.device_id: r for r in poll(targets, DEVICE_SPEC)}
    took = time.monotonic() - started
    assert results[dead.id].error == "timeout after 1 retries"
    assert results[slow.id].error == "timeout after 1 retries"
    assert all(results[d.id].ok for d in alive)
    # discovery timed out within timeout × (retries + 1) = 1 s; nothing waits for more than that
    assert took < 1.0 + 1.0, took


# ------------------------------------------------------------------------------------------ the relay
class Relay:
    """A UDP relay in front of an agent: ``mangle(reply, n)`` returns what to send back for the n-th reply
    (a list: nothing, the reply, duplicates, forgeries). Runs in a thread, bounded by ``stop()``."""

    def __init__(self, upstream: tuple[str, int], mangle: Callable[[bytes, int], list[bytes]]) -> None:
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(upstream)
        self.port = int(self.front.getsockname()[1])
        self.mangle = mangle
        self.client: tuple[str, int] | None = None
        self.replies = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.front, self.back], [], [], 0.05)
            for sock in ready:
                if sock is self.front:
                    data, self.client = self.front.recvfrom(65535)
                    self.back.send(data)
                else:
                    data = self.back.recv(65535)
                    self.replies += 1
                    for out in self.mangle(data, self.replies):
                        if self.client is not None:
                            self.front.sendto(out, self.client)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.front.close()
        self.back.close()


@pytest.fixture
def relay_to(served: Served) -> Iterator[Callable[[Callable[[bytes, int], list[bytes]]], Target]]:
    relays: list[Relay] = []

    def make(mangle: Callable[[bytes, int], list[bytes]]) -> Target:
        dev = served.devices[0]
        relay = Relay((dev.host, served.port), mangle)
        relays.append(relay)
        return v3(relay.port, "SHA256", "AES", user="netmon", name="via-relay")

    yield make
    for relay in relays:
        relay.stop()


def test_duplicated_and_replayed_replies_are_ignored(relay_to: Callable[..., Target]) -> None:
    previous: list[bytes] = []

    def duplicate_and_replay(reply: bytes, n: int) -> list[bytes]:
        out = [*previous[-1:], reply, reply]  # the last reply again (a replay), then this one twice
        previous.append(reply)
        return out

    target = relay_to(duplicate_and_replay)

    async def run() -> tuple[PollResult, int]:
        async with SnmpPoller(max_repetitions=4) as poller:  # several requests: room for replays
            result = await poller.poll_one(target, DEVICE_SPEC)
            return result, poller.transport.stats.stray

    result, stray = asyncio.run(run())
    assert result.ok, result.error
    assert result.requests >= 3 and result.malformed == 0
    assert stray >= result.requests - 1  # every replay (a duplicate may also land as a "late" reply: harmless)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_encrypted_reply_is_ignored_then_named(relay_to: Callable[..., Target], damage: str) -> None:
    def spoil(reply: bytes) -> bytes:
        if damage == "flip":
            return reply[:-5] + bytes((reply[-5] ^ 0x10,)) + reply[-4:]  # inside the encrypted scopedPDU
        return reply[: len(reply) // 2]

    first_only = relay_to(lambda reply, n: [spoil(reply) if n == 2 else reply])  # n == 1 is discovery
    [result] = poll([first_only], SCALARS)
    assert result.ok and result.malformed == 1 and result.retries == 1, result.error  # the retry's reply is good
    always = relay_to(lambda reply, n: [spoil(reply) if n >= 2 else reply])
    [result] = poll([always], SCALARS)
    reason = "reply failed authentication (digest)" if damage == "flip" else "malformed reply: "
    assert result.error is not None and result.error.startswith(reason), result.error
    assert result.error.endswith("(2 ignored), then timeout after 1 retries"), result.error


def test_a_valid_digest_for_another_request_is_refused(relay_to: Callable[..., Target], served: Served) -> None:
    dev = served.devices[0]
    eid, _boots, _time = served.loop.call(lambda: served.agents.engine(dev.id))
    keys = usm.Credentials("netmon", "SHA256", AUTH_KEY, "AES", PRIV_KEY).keys(eid)
    forged: list[bytes] = []

    def forge(reply: bytes, n: int) -> list[bytes]:
        """Before the real reply: the same reply re-signed with the right keys, but for another request-id."""
        if n < 2:
            return [reply]
        env = usm.parse_message(reply)
        scoped = ber.decode_scoped_pdu(keys.decrypt(env.payload, env.boots, env.time, env.priv_params))
        other = ber.encode_scoped_pdu(scoped.context_engine_id, b"", PduType.RESPONSE, scoped.request_id ^ 1, 0, 0,
                                      [ber.encode_varbind(SYS_NAME, OCTET_STRING, b"forged")])  # fmt: skip
        forged.append(usm.encode_message(env.msg_id, env.flags, env.engine_id, env.boots, env.time, env.user, other,
                                         keys))  # fmt: skip
        return [forged[-1], reply]

    [result] = poll([relay_to(forge)], SCALARS)
    assert result.ok and result.malformed == 1, result.error
    assert result.scalars[SYS_NAME] == (OCTET_STRING, dev.sys_name.encode())
    assert forged
