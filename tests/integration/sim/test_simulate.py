"""The simulated province, checked with net-snmp's own tools (an independent client)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from simulated import SIM_ENV, SimProcess, free_port, inventory_on_port, start_simulator

from netmon.inventory.load import load_inventory

COMMUNE = "rt-ubnd-xa-phu-can-29347"  # a commune router behind its district router
DISTRICT = "rt-ubnd-huyen-tieu-can"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"
IF_OPER = "1.3.6.1.2.1.2.2.1.8"
IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"


def _v3_hosts(sim: SimProcess) -> set[str]:
    inv = load_inventory(sim.inventory)
    return {d.mgmt.host for d in inv.devices.values() if inv.snmp_profiles[d.snmp_profile].version == "3"}


def _snmp(tool: str, sim: SimProcess, host: str, *oids: str, community: str = "agency-test",
          timeout: int = 2) -> subprocess.CompletedProcess[str]:
    """Ask with net-snmp's tools; SNMPv3 authPriv (SHA-256/AES) for the devices whose profile says so."""
    if host in _v3_hosts(sim):
        auth = ["-v3", "-l", "authPriv", "-u", "netmon", "-a", "SHA-256", "-A", SIM_ENV["NETMON_SNMPV3_AUTH_KEY"],
                "-x", "AES", "-X", SIM_ENV["NETMON_SNMPV3_PRIV_KEY"]]
    else:
        auth = ["-v2c", "-c", community]
    return subprocess.run(
        [tool, *auth, "-m", "", "-On", "-Oe", "-t", str(timeout), "-r", "0", f"{host}:{sim.port}", *oids],
        capture_output=True, text=True, timeout=30, check=False,
    )


def _walk(sim: SimProcess, host: str, oid: str, community: str = "agency-test") -> dict[str, str]:
    result = _snmp("snmpbulkwalk", sim, host, oid, community=community)
    assert result.returncode == 0, result.stderr
    out = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(" = ")
        out[key.rsplit(".", 1)[-1]] = value.split(": ", 1)[-1]  # drop net-snmp's "STRING: " prefix
    return out


def _host(sim: SimProcess, device: str) -> str:
    inv = load_inventory(sim.inventory)
    dev = inv.devices.get(device) or inv.base_stations[device]
    assert dev.mgmt is not None
    return dev.mgmt.host


def test_ready_line_counts_every_agent(simulator: SimProcess) -> None:
    inv = load_inventory(simulator.inventory)
    expected = len(inv.devices) + sum(1 for b in inv.base_stations.values() if b.mgmt)
    assert f"ready: {expected} agents" in simulator.ready_line
    assert expected == 1372


def test_interfaces_match_the_inventory_and_carry_vietnamese_aliases(simulator: SimProcess) -> None:
    inv = load_inventory(simulator.inventory)
    dev = inv.devices[COMMUNE]
    names = _walk(simulator, dev.mgmt.host, IF_NAME)
    assert 10 <= len(names) <= 50
    assert '"' + dev.interfaces[0].name + '"' in names.values()
    # -Oe off: net-snmp prints UTF-8 as a hex string; decode it back.
    result = _snmp("snmpget", simulator, dev.mgmt.host, f"{IF_ALIAS}.1")
    hexes = re.findall(r"\b[0-9A-F]{2}\b", result.stdout.split("=", 1)[1])
    alias = bytes.fromhex("".join(hexes)).decode() if hexes else result.stdout
    assert "Kết nối lên UBND Huyện Tiểu Cần" in alias


def test_counters_grow(simulator: SimProcess) -> None:
    host = _host(simulator, COMMUNE)
    first = _walk(simulator, host, IF_HC_IN)
    time.sleep(1.2)
    second = _walk(simulator, host, IF_HC_IN)
    grown = [i for i in first if int(second[i].split()[-1]) > int(first[i].split()[-1])]
    assert len(grown) >= len(first) // 2


def test_bts_answers_with_its_own_community_only(simulator: SimProcess) -> None:
    host = _host(simulator, "bts-vtl-0001")
    ok = _snmp("snmpget", simulator, host, "1.3.6.1.2.1.1.5.0", community="bts-test")
    assert "bts-vtl-0001" in ok.stdout
    wrong = _snmp("snmpget", simulator, host, "1.3.6.1.2.1.1.5.0", community="agency-test", timeout=1)
    assert wrong.returncode != 0 and "Timeout" in wrong.stderr


def test_link_down_and_up_both_ends_and_the_child_becomes_unreachable(simulator: SimProcess) -> None:
    inv = load_inventory(simulator.inventory)
    link = next(lk for lk in inv.links.values() if lk.a.device == COMMUNE)
    parent_host = inv.devices[link.b.device].mgmt.host
    names = _walk(simulator, parent_host, IF_NAME)
    index = next(i for i, v in names.items() if v == f'"{link.b.interface}"')
    reply = simulator.send(action="link_down", device=COMMUNE, interface=link.a.interface)
    assert reply["ok"] is True and f"unreachable:{COMMUNE}" in reply["changes"]
    assert "INTEGER: 2" in _snmp("snmpget", simulator, parent_host, f"{IF_OPER}.{index}").stdout
    gone = _snmp("snmpget", simulator, inv.devices[COMMUNE].mgmt.host, SYS_UPTIME, timeout=1)
    assert "Timeout" in gone.stderr
    simulator.send(action="link_up", device=COMMUNE, interface=link.a.interface)
    assert "INTEGER: 1" in _snmp("snmpget", simulator, parent_host, f"{IF_OPER}.{index}").stdout
    assert _snmp("snmpget", simulator, inv.devices[COMMUNE].mgmt.host, SYS_UPTIME).returncode == 0


def test_district_down_silences_everything_behind_it(simulator: SimProcess) -> None:
    inv = load_inventory(simulator.inventory)
    reply = simulator.send(action="device_down", device=DISTRICT)
    behind = [c.split(":", 1)[1] for c in reply["changes"]]  # type: ignore[union-attr]
    try:
        district_site = inv.devices[DISTRICT].site
        children = [d.id for d in inv.devices.values() if inv.sites[d.site].uplink == district_site]
        assert set(children) <= set(behind) and DISTRICT in behind
        state = simulator.send(state=True)
        assert set(behind) <= set(state["unreachable"])  # type: ignore[arg-type]
        sample = inv.devices[children[0]].mgmt.host
        assert "Timeout" in _snmp("snmpget", simulator, sample, SYS_UPTIME, timeout=1).stderr
    finally:
        simulator.send(action="device_up", device=DISTRICT)
    assert simulator.send(state=True)["unreachable"] == []


def test_reboot_resets_uptime_and_counters(simulator: SimProcess) -> None:
    host = _host(simulator, COMMUNE)
    before = _snmp("snmpget", simulator, host, SYS_UPTIME).stdout
    ticks_before = int(re.search(r"\((\d+)\)", before).group(1))  # type: ignore[union-attr]
    simulator.send(action="reboot", device=COMMUNE)
    after = _snmp("snmpget", simulator, host, SYS_UPTIME, f"{IF_HC_IN}.1").stdout
    ticks_after = int(re.search(r"\((\d+)\)", after).group(1))  # type: ignore[union-attr]
    assert ticks_after < 1000 < ticks_before
    octets = int(after.strip().splitlines()[-1].split()[-1])
    assert octets < 10_000_000_000


def test_slow_and_drop_behaviours(simulator: SimProcess) -> None:
    host = _host(simulator, "bts-vtl-0002")
    simulator.send(action="slow", device="bts-vtl-0002", delay=2.0)
    try:
        started = time.monotonic()
        ok = _snmp("snmpget", simulator, host, SYS_UPTIME, community="bts-test", timeout=5)
        assert ok.returncode == 0 and time.monotonic() - started >= 1.9
        simulator.send(action="drop", device="bts-vtl-0002")
        gone = _snmp("snmpget", simulator, host, SYS_UPTIME, community="bts-test", timeout=1)
        assert "Timeout" in gone.stderr
    finally:
        simulator.send(action="normal", device="bts-vtl-0002")


@pytest.mark.skipif(shutil.which("snmptrapd") is None, reason="snmptrapd (Debian package snmptrapd) missing")
def test_traps_reach_snmptrapd(tmp_path: Path) -> None:
    """net-snmp's snmptrapd accepts the simulator's traps; the SNMPv3 routers' are authPriv, from their engine."""
    from netmon.sim.v3 import engine_id

    trap_port = free_port()
    conf = tmp_path / "snmptrapd.conf"
    conf.write_text(
        "authCommunity log agency-test\ndisableAuthorization no\n"
        f"createUser -e 0x{engine_id(COMMUNE).hex()} netmon SHA-256 {SIM_ENV['NETMON_SNMPV3_AUTH_KEY']} AES "
        f"{SIM_ENV['NETMON_SNMPV3_PRIV_KEY']}\nauthUser log netmon priv\n"
    )
    trapd = subprocess.Popen(
        ["snmptrapd", "-f", "-Lo", "-C", "-c", str(conf), "-m", "", "-On", f"udp:127.0.0.1:{trap_port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(tmp_path / "trapd")},
    )
    sim = start_simulator(tmp_path, "--traps", f"127.0.0.1:{trap_port}")
    try:
        time.sleep(0.5)
        inv = load_inventory(sim.inventory)
        link = next(lk for lk in inv.links.values() if lk.a.device == COMMUNE)
        sim.send(action="link_down", device=COMMUNE, interface=link.a.interface)
        sim.send(action="link_up", device=COMMUNE, interface=link.a.interface)
        sim.send(action="reboot", device=COMMUNE)
        time.sleep(1.0)
    finally:
        sim.stop()
        trapd.terminate()
        output, _ = trapd.communicate(timeout=10)
    assert ".1.3.6.1.6.3.1.1.5.3" in output  # linkDown
    assert ".1.3.6.1.6.3.1.1.5.4" in output  # linkUp
    assert ".1.3.6.1.6.3.1.1.5.1" in output  # coldStart
    assert inv.devices[COMMUNE].mgmt.host in output  # sent from the device's own address


def test_two_parts_serve_the_province_between_them(tmp_path: Path) -> None:
    """``--part K/N``: each process binds only its share (one socket per agent, the descriptor limit); a step sent
    to every part changes the province as one process would."""
    from netmon.sim.run import part_ids

    port = free_port()
    inv_dir = inventory_on_port(tmp_path, port)
    inv = load_inventory(inv_dir)
    ids = [*inv.devices, *(b.id for b in inv.base_stations.values() if b.mgmt)]
    mine = {k: part_ids(ids, (k, 2)) for k in (1, 2)}
    parts = [start_simulator(tmp_path, "--part", f"{k}/2", inventory=inv_dir, port=port) for k in (1, 2)]
    try:
        for k, sim in enumerate(parts, 1):
            assert sim.ready_line.startswith(f"ready: {len(mine[k])} agents (")
            assert f"part {k}/2 of 1372," in sim.ready_line
        assert len(mine[1]) + len(mine[2]) == 1372
        for k in (1, 2):  # an agent of each part answers
            sample = next(d for d in sorted(mine[k]) if d in inv.devices)
            assert _snmp("snmpget", parts[0], _host(parts[0], sample), SYS_UPTIME).returncode == 0
        behind = {d.id for d in inv.devices.values() if inv.sites[d.site].uplink == inv.devices[DISTRICT].site}
        replies = [sim.send(action="device_down", device=DISTRICT) for sim in parts]
        try:
            assert [r["served"] for r in replies] == [DISTRICT in mine[1], DISTRICT in mine[2]]
            for k, reply in enumerate(replies, 1):
                changed = {c.split(":", 1)[1] for c in reply["changes"]}  # type: ignore[attr-defined]
                assert changed == (behind | {DISTRICT}) & mine[k]
            for k in (1, 2):  # whichever part serves them, everything behind the district is silent
                child = next(d for d in sorted(behind) if d in mine[k])
                assert "Timeout" in _snmp("snmpget", parts[0], _host(parts[0], child), SYS_UPTIME, timeout=1).stderr
        finally:
            for sim in parts:
                sim.send(action="device_up", device=DISTRICT)
        assert parts[1].stop() == 0  # part 2 gone: its agents with it, part 1's still there
        gone = next(d for d in sorted(mine[2]) if d in inv.devices)
        kept = next(d for d in sorted(mine[1]) if d in inv.devices)
        assert "Timeout" in _snmp("snmpget", parts[0], _host(parts[0], gone), SYS_UPTIME, timeout=1).stderr
        assert _snmp("snmpget", parts[0], _host(parts[0], kept), SYS_UPTIME).returncode == 0
    finally:
        for sim in parts:
            sim.stop()


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    sim = start_simulator(tmp_path)
    assert sim.stop() == 0
    out = subprocess.run(["pgrep", "-f", str(sim.inventory)], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == ""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2")
def test_unreachable_device_is_dark_to_icmp_too_inside_a_private_netns(tmp_path: Path) -> None:
    """A blackhole route (only inside our own namespace) makes a down device fail ping as well as SNMP."""
    ns = f"netmon-sim-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        sim = start_simulator(tmp_path, prefix=["ip", "netns", "exec", ns])
        try:
            assert "blackholes on" in sim.ready_line
            host = load_inventory(sim.inventory).devices[COMMUNE].mgmt.host

            def ping() -> int:
                return subprocess.run(["ip", "netns", "exec", ns, "ping", "-c1", "-W1", host],
                                      capture_output=True, check=False).returncode

            assert ping() == 0
            sim.send(action="device_down", device=COMMUNE)
            assert ping() != 0
            sim.send(action="device_up", device=COMMUNE)
            assert ping() == 0
        finally:
            sim.stop()
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_env_is_what_the_simulator_uses() -> None:
    assert set(SIM_ENV) >= {"NETMON_SNMP_COMMUNITY", "NETMON_BTS_COMMUNITY"}
