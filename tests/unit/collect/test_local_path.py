"""collect/path.py on made-up /proc and /sys trees (the real kernel's are used by the netns tests)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from netmon.collect.path import LocalPath

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
noc0\t00000000\t0200FA0A\t0003\t0\t0\t0\t00000000\t0\t0\t0
noc0\t0000FA0A\t00000000\t0001\t0\t0\t0\tFCFFFFFF\t0\t0\t0
mgmt1\t0001FA0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def tree(tmp_path: Path, interfaces: dict[str, tuple[str, str | None, str]]) -> LocalPath:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "route").write_text(ROUTES)
    for name, (flags, carrier, operstate) in interfaces.items():
        d = tmp_path / "sys" / name
        d.mkdir(parents=True)
        (d / "flags").write_text(flags + "\n")
        if carrier is not None:
            (d / "carrier").write_text(carrier + "\n")
        (d / "operstate").write_text(operstate + "\n")
    return LocalPath(["10.250.1.2"], tmp_path / "sys", proc)


def test_longest_prefix_route_gives_the_egress_interface(tmp_path: Path) -> None:
    lp = tree(tmp_path, {})
    import ipaddress

    assert lp.egress(ipaddress.ip_address("10.250.1.2")) == "mgmt1"  # /24 beats the default route
    assert lp.egress(ipaddress.ip_address("10.250.0.2")) == "noc0"
    assert lp.egress(ipaddress.ip_address("8.8.8.8")) == "noc0"


@pytest.mark.parametrize(("flags", "carrier", "operstate", "expected"), [
    ("0x1003", "1", "up", None),
    ("0x1002", None, "down", "interface_down"),  # administratively down: carrier unreadable
    ("0x1003", "0", "up", "no_carrier"),  # a veth whose peer is down reads operstate up, carrier 0
    ("0x1003", "1", "lowerlayerdown", "no_carrier"),
    ("0x9", "1", "unknown", None),  # loopback
])
def test_link_state(tmp_path: Path, flags: str, carrier: str | None, operstate: str, expected: str | None) -> None:
    lp = tree(tmp_path, {"noc0": (flags, carrier, operstate)})
    assert lp.link_state("noc0") == expected


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
