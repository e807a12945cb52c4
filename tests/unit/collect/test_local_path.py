"""collect/path.py on made-up /proc and /sys trees (the real kernel's are used by the netns tests)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from netmon.collect.path import LocalPath, interface_flags

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
noc0\t00000000\t0200FA0A\t0003\t0\t0\t0\t00000000\t0\t0\t0
noc0\t0000FA0A\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0
mgmt1\t0001FA0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def tree(tmp_path: Path, flags: dict[str, int] | None = None) -> LocalPath:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "route").write_text(ROUTES)
    return LocalPath(["10.250.1.2"], proc, (flags or {}).get)


def test_longest_prefix_route_gives_the_egress_interface(tmp_path: Path) -> None:
    lp = tree(tmp_path)
    import ipaddress

    assert lp.egress(ipaddress.ip_address("10.250.1.2")) == "mgmt1"  # /24 beats the default route
    assert lp.egress(ipaddress.ip_address("10.250.0.2")) == "noc0"
    assert lp.egress(ipaddress.ip_address("8.8.8.8")) == "noc0"


@pytest.mark.parametrize(("flags", "expected"), [
    (0x11043, None),  # UP, BROADCAST, RUNNING, LOWER_UP
    (0x1002, "interface_down"),  # administratively down
    (0x1043, "no_carrier"),  # up and "running" without LOWER_UP: a veth whose peer is down, a pulled cable
    (0x11003, "no_carrier"),  # not running (operstate down)
])
def test_link_state(tmp_path: Path, flags: int, expected: str | None) -> None:
    lp = tree(tmp_path, {"noc0": flags})
    assert lp.link_state("noc0") == expected
    assert lp.link_state("gone0") is None


def test_the_real_loopback_is_up_and_running() -> None:
    flags = interface_flags("lo")
    assert flags is not None and flags & 0x41 == 0x41
    assert interface_flags("no-such-if0") is None


def test_loopback_and_names_always_work(tmp_path: Path) -> None:
    assert LocalPath(["127.10.0.1"]).probe().ok and LocalPath(["127.10.0.1"]).probe().interface == "lo"
    assert LocalPath(["::1"]).probe().ok
    assert LocalPath(["router.example"]).probe().ok  # no DNS on the polling path
    assert LocalPath([]).probe().ok


def test_no_route_is_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoRoute(socket.socket):
        def connect(self, address: object) -> None:
            raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "socket", NoRoute)
    r = LocalPath(["10.250.0.2", "10.250.0.6"]).probe()
    assert (r.ok, r.reason, r.target) == (False, "no_route", "10.250.0.2")
