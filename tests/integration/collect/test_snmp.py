"""The poller against real agents: net-snmp ``snmpd`` (v2c and SNMPv3 USM), an ``snmpsim`` recording of a
real Linux host, and ``netmon simulate``; cross-checked with net-snmp's own ``snmpbulkwalk``.

Each agent runs as a subprocess on 127.0.0.1 and a free high port with a private config, and is stopped
by PID at the end of the module.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from requirements import unavailable

from netmon.collect import ber
from netmon.collect.ber import COUNTER64, OCTET_STRING
from netmon.collect.oids import (
    DEVICE_SPEC,
    DISCOVERY_SPEC,
    IF_ALIAS,
    IF_DESCR,
    IF_HC_IN_OCTETS,
    IF_MIB_SPEC,
    IF_NAME,
    IF_SPEED,
    IF_TYPE,
    STATION_SPEC,
    SYS_NAME,
    Oid,
    PollSpec,
    format_oid,
    parse_oid,
)
from netmon.collect.snmp import PollResult, SnmpPoller, Target, targets_from_inventory
from netmon.secrets import Secret

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
COMMUNITY = "it-community-3e9a"
AUTH_KEY = "it-auth-key-71c05b"
PRIV_KEY = "it-priv-key-0d4f2e"
WRONG_KEY = "it-wrong-key-8888aa"
WRITE_COMMUNITY = "it-write-5d2"
ALIAS_1 = b"uplink VNPT-TVH-0102"
ALIAS_2 = "Trà Vinh — lõi".encode()
USERS = {  # user -> (net-snmp createUser protocols, our protocols, security level)
    "sha256aes": ("SHA-256", "AES", "SHA256", "AES", "priv"),
    "sha512aes256": ("SHA-512", "AES-256-C", "SHA512", "AES256C", "priv"),
    "sha1auth": ("SHA", None, "SHA", None, "auth"),
}


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(targets: list[Target], spec: PollSpec, **options: float) -> list[PollResult]:
    async def run() -> list[PollResult]:
        async with SnmpPoller(**options) as poller:  # type: ignore[arg-type]
            return await asyncio.wait_for(poller.poll(targets, spec), 60)

    return asyncio.run(run())


def answers(port: int, community: str) -> bool:
    """True once a v2c GET of sysUpTime.0 on 127.0.0.1:``port`` is answered."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(ber.encode_request(1, community.encode(), 1, ber.PduType.GET, [(1, 3, 6, 1, 2, 1, 1, 3, 0)]),
                 ("127.0.0.1", port))
        try:
            return bool(s.recv(65535))
        except OSError:
            return False


def start(cmd: list[str], port: int, community: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{cmd[0]} exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        if answers(port, community):
            return proc
        time.sleep(0.1)
    stop(proc)
    raise AssertionError(f"{cmd[0]} did not answer on port {port}")


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -------------------------------------------------------------------------------- snmpd
@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """net-snmp snmpd on 127.0.0.1:PORT with a v2c community and three USM users."""
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not os.path.exists(binary) or shutil.which("snmpbulkwalk") is None:
        pytest.skip("net-snmp (Debian packages snmpd, snmp) is not installed")
    tmp = tmp_path_factory.mktemp("snmpd")
    lines = [f"rocommunity {COMMUNITY} 127.0.0.1", f"rwcommunity {WRITE_COMMUNITY} 127.0.0.1", "sysName it-snmpd"]
    for user, (auth, priv, _a, _p, level) in USERS.items():
        lines.append(f'createUser {user} {auth} "{AUTH_KEY}"' + (f' {priv} "{PRIV_KEY}"' if priv else ""))
        lines.append(f"rouser {user} {level}")
    (tmp / "snmpd.conf").write_text("\n".join(lines) + "\n")
    port = free_port()
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp / "persist")}  # createUser state stays here
    proc = start([binary, "-f", "-Lo", "-C", "-c", str(tmp / "snmpd.conf"), "-m", "", "-I", "-smux",
                  f"udp:127.0.0.1:{port}"], port, COMMUNITY, env)
    for index, alias in ((1, ALIAS_1), (2, ALIAS_2)):  # something worth comparing, UTF-8 included
        subprocess.run(["snmpset", "-v2c", "-c", WRITE_COMMUNITY, "-m", "", f"127.0.0.1:{port}",
                        f"{format_oid(IF_ALIAS)}.{index}", "x", alias.hex()], check=True, capture_output=True,
                       timeout=10)
    yield port
    stop(proc)


def v2c(port: int, name: str = "snmpd") -> Target:
    return Target(name, "127.0.0.1", port, "2c", community=Secret("env:IT_COMMUNITY", COMMUNITY))


def v3(port: int, user: str, auth_key: str = AUTH_KEY, priv_key: str = PRIV_KEY, name: str = "") -> Target:
    _auth, _priv, auth_protocol, priv_protocol, _level = USERS[user]
    return Target(
        name or f"snmpd-{user}", "127.0.0.1", port, "3", user=user, auth_protocol=auth_protocol,
        auth_key=Secret("env:IT_AUTH", auth_key), priv_protocol=priv_protocol,
        priv_key=Secret("env:IT_PRIV", priv_key) if priv_protocol else None, timeout_s=1.0, retries=1,
    )  # fmt: skip


def bulkwalk(port: int, oid: Oid) -> dict[Oid, bytes | int]:
    """``snmpbulkwalk`` of one column (an independent client): index -> bytes (strings) or int."""
    out = subprocess.run(
        ["snmpbulkwalk", "-v2c", "-c", COMMUNITY, "-m", "", "-On", "-OQ", "-Ox", f"127.0.0.1:{port}",
         format_oid(oid)],
        capture_output=True, text=True, check=True, timeout=20,
    ).stdout  # fmt: skip
    rows: dict[Oid, bytes | int] = {}
    for name, value in re.findall(r"^(\.[0-9.]+) = (.*?)(?=^\.[0-9]|\Z)", out, re.M | re.S):
        value = value.strip()
        rows[parse_oid(name)[len(oid) :]] = bytes.fromhex(value[1:-1]) if value.startswith('"') else int(value)
    return rows


def test_v2c_matches_snmpbulkwalk(snmpd: int) -> None:
    before = bulkwalk(snmpd, IF_HC_IN_OCTETS)
    [result] = poll([v2c(snmpd)], DEVICE_SPEC)
    after = bulkwalk(snmpd, IF_HC_IN_OCTETS)
    assert result.ok, result.error
    assert result.scalars[SYS_NAME] == (OCTET_STRING, b"it-snmpd")
    for column in (IF_DESCR, IF_NAME, IF_ALIAS, IF_TYPE, IF_SPEED):
        ours = {index: value for index, (_tag, value) in result.columns[column].items()}
        assert ours == bulkwalk(snmpd, column), format_oid(column)
    assert set(result.columns[IF_ALIAS].values()) >= {(OCTET_STRING, ALIAS_1), (OCTET_STRING, ALIAS_2)}
    counters = result.columns[IF_HC_IN_OCTETS]
    assert set(counters) == set(before) and counters
    for index, (tag, value) in counters.items():
        assert tag == COUNTER64
        assert int(before[index]) <= int(str(value)) <= int(after[index])


def test_if_mib_and_discovery_specs_against_snmpd(snmpd: int) -> None:
    result, discovery = poll([v2c(snmpd, "a")], IF_MIB_SPEC)[0], poll([v2c(snmpd, "b")], DISCOVERY_SPEC)[0]
    assert result.ok and discovery.ok, (result.error, discovery.error)
    rows = len(result.columns[IF_DESCR])
    assert rows >= 1 and len(result.columns[IF_NAME]) == rows
    assert discovery.columns[(1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 3)]  # hrStorageDescr: snmpd has memory rows


def test_station_spec_reads_port_1_alone_as_the_walk_reads_it_over_v1_v2c_and_v3(snmpd: int) -> None:
    """A base station's poll (one GET of ifIndex 1's columns) on a real agent: the same cells as the walk's
    row 1, nothing of the other rows; v1 (no Counter64: noSuchName, asked again without) and v3 alike."""
    user = sorted(USERS)[-1]
    one = Target("snmpd-v1", "127.0.0.1", snmpd, "1", community=Secret("env:IT_COMMUNITY", COMMUNITY))
    walked, *stations = poll([v2c(snmpd, "walk")], DEVICE_SPEC) + poll(
        [v2c(snmpd, "bts"), v3(snmpd, user, name="bts-v3"), one], STATION_SPEC)
    assert len(walked.columns[IF_DESCR]) >= 2  # lo and more: there is something not to read
    for station in stations:
        assert station.ok and station.completeness == 1.0 and not station.faults, (station.device_id,
                                                                                  station.error)
        # one GET; v3 first discovers the agent's engine; v1 asks again without each Counter64 (noSuchName)
        assert station.requests == {"bts": 1, "bts-v3": 2, "snmpd-v1": 3}[station.device_id]
        for column in (IF_DESCR, IF_NAME, IF_ALIAS, IF_TYPE, IF_SPEED):
            assert station.columns[column] == {(1,): walked.columns[column][(1,)]}, format_oid(column)
        assert station.scalars[SYS_NAME] == (OCTET_STRING, b"it-snmpd")
    assert stations[-1].columns[IF_HC_IN_OCTETS] == {} and set(stations[0].columns[IF_HC_IN_OCTETS]) == {(1,)}


@pytest.mark.parametrize("user", sorted(USERS))
def test_snmpv3_reads_the_same_as_v2c(snmpd: int, user: str) -> None:
    reference, secure = poll([v2c(snmpd), v3(snmpd, user)], DEVICE_SPEC)
    assert secure.ok, secure.error
    assert secure.columns[IF_NAME] == reference.columns[IF_NAME]
    assert secure.scalars[SYS_NAME] == (OCTET_STRING, b"it-snmpd")


def test_wrong_v3_key_names_the_device_and_leaks_nothing(snmpd: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_auth = v3(snmpd, "sha256aes", auth_key=WRONG_KEY, name="rt-wrong-auth")
    wrong_priv = v3(snmpd, "sha256aes", priv_key=WRONG_KEY, name="rt-wrong-priv")
    auth, priv = poll([wrong_auth, wrong_priv], DEVICE_SPEC)
    assert not auth.ok and auth.error == ("wrong SNMPv3 auth key or auth protocol (SHA256) for user 'sha256aes' "
                                          "(usmStatsWrongDigests)")
    # net-snmp drops what it cannot decrypt: the agent answered discovery, then nothing
    assert not priv.ok and priv.error is not None and "wrong privacy key" in priv.error
    assert "rt-wrong-auth" in caplog.text and "usmStatsWrongDigests" in caplog.text
    everything = caplog.text + repr(auth) + repr(priv) + repr(wrong_auth) + repr(wrong_priv)
    for key in (AUTH_KEY, PRIV_KEY, WRONG_KEY):
        assert key not in everything


# ------------------------------------------------------------------------------- snmpsim
@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """snmpsim serving its own recording of a real Linux host (``linux-full-walk``) as community 'public'."""
    # the venv's own bin first: `.venv/bin/python -m pytest` does not put it on PATH
    venv_bin = Path(sys.executable).parent / "snmpsim-command-responder"
    binary = str(venv_bin) if venv_bin.exists() else shutil.which("snmpsim-command-responder")
    spec = importlib.util.find_spec("snmpsim")
    if binary is None or spec is None or spec.origin is None:
        unavailable("snmpsim is not installed (pip install snmpsim pysmi: the dev extra)")
    recording = Path(spec.origin).parent / "data" / "recorded" / "linux-full-walk.snmprec"
    tmp = tmp_path_factory.mktemp("snmpsim")
    (tmp / "data").mkdir()
    shutil.copy(recording, tmp / "data" / "public.snmprec")
    port = free_port()
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
    proc = start([binary, f"--data-dir={tmp / 'data'}", f"--cache-dir={tmp / 'cache'}",
                  f"--agent-udpv4-endpoint=127.0.0.1:{port}", "--logging-method=null"], port, "public", env)
    yield port, recording
    stop(proc)


def snmprec(path: Path) -> dict[Oid, tuple[int, object]]:
    """The recording itself (``oid|tag|value``, ``x`` suffix = hex), for the columns/scalars we read."""
    out: dict[Oid, tuple[int, object]] = {}
    for line in path.read_text(errors="replace").splitlines():
        oid_text, tag_text, value = line.split("|", 2)
        tag = int(tag_text.rstrip("x"))
        raw: object
        if tag == 4:
            raw = bytes.fromhex(value) if tag_text.endswith("x") else value.encode()
        elif tag == 6:
            raw = parse_oid(value)
        elif tag in (2, 65, 66, 67, 70):
            raw = int(value)
        else:
            continue
        out[parse_oid(oid_text)] = (tag, raw)
    return out


def test_snmpsim_recording_polled_with_device_spec(snmpsim: tuple[int, Path]) -> None:
    port, recording = snmpsim
    target = Target("linux-recorded", "127.0.0.1", port, community=Secret("env:X", "public"))
    rec = snmprec(recording)
    for spec in (DEVICE_SPEC, IF_MIB_SPEC):
        [result] = poll([target], spec)
        assert result.ok, result.error
        assert result.scalars == {oid: rec[oid] for oid in spec.scalars if oid in rec}
        for column in spec.columns:
            expected = {oid[len(column) :]: cell for oid, cell in rec.items() if oid[: len(column)] == column}
            assert result.columns[column] == expected, format_oid(column)
        assert result.columns[IF_HC_IN_OCTETS] == {(1,): (COUNTER64, 763065745), (2,): (COUNTER64, 24167091249)}
    assert result.requests > 1  # snmpsim cuts GETBULK answers at 64 varbinds: the walk carried on


# ---------------------------------------------------------------------- netmon simulate
SIM_ENV = {
    "NETMON_SNMP_COMMUNITY": "it-agency",
    "NETMON_BTS_COMMUNITY": "it-bts",
    "NETMON_SNMPV3_AUTH_KEY": "it-v3-auth-5b1c",
    "NETMON_SNMPV3_PRIV_KEY": "it-v3-priv-77d0",
}


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """``netmon simulate`` on the sample province, every agent on a free high port; yields (inventory, control)."""
    tmp = tmp_path_factory.mktemp("sim")
    port, control = free_port(), free_port(socket.SOCK_STREAM)
    inv = tmp / "inventory"
    shutil.copytree(ROOT / "inventory", inv, ignore=shutil.ignore_patterns("scenarios"))
    profiles = inv / "profiles.yaml"
    profiles.write_text(re.sub(r"(\n- name: snmp-[^\n]+\n)", rf"\1  port: {port}\n", profiles.read_text()))
    proc = subprocess.Popen([sys.executable, "-m", "netmon", "simulate", "--inventory", str(inv), "--control",
                             f"127.0.0.1:{control}", "--duration", "120"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, **SIM_ENV}, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until "ready: ..." or exit
        assert line.startswith("ready"), f"simulator did not start: {line!r}"
        yield inv, control
    finally:
        stop(proc)


def control(port: int, **step: object) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall((json.dumps(step) + "\n").encode())
        assert json.loads(conn.makefile().readline())["ok"]


def test_simulated_province_v2c_and_v3(simulator: tuple[Path, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from netmon.inventory.load import load_inventory
    from netmon.sim.build import build_world

    inv_dir, control_port = simulator
    for name, value in SIM_ENV.items():
        monkeypatch.setenv(name, value)
    inv = load_inventory(inv_dir)
    world = build_world(inv, time.time())
    routers = targets_from_inventory(inv, kinds=("devices",))  # 150 routers, all on SNMPv3 authPriv
    targets = routers + targets_from_inventory(inv, kinds=("base_stations",))[:100]  # and v2c base stations
    dead = targets[3].device_id
    control(control_port, action="drop", device=dead)
    try:
        started = time.perf_counter()
        results = poll(targets, DEVICE_SPEC)
        wall = time.perf_counter() - started
    finally:
        control(control_port, action="normal", device=dead)
    by_id = {r.device_id: r for r in results}
    error = by_id.pop(dead).error or ""
    # Silent agent: either every retry timed out, or (on a loaded machine) the device deadline came first.
    assert error == "timeout after 1 retries" or error.startswith("deadline of"), error
    assert all(r.ok for r in by_id.values()), [(r.device_id, r.error) for r in by_id.values() if not r.ok]
    for r in by_id.values():
        names = {index: value for index, (_tag, value) in r.columns[IF_NAME].items()}
        assert names == {(i + 1,): itf.name.encode() for i, itf in enumerate(world.devices[r.device_id].interfaces)}
    assert sum(t.version == "3" for t in targets) == len(routers) == 150
    assert wall < 10
