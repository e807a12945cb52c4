"""Make a simulated device look down to every probe: a blackhole route inside a private netns.

Every 127.x address answers ping, so stopping an agent is not enough: netmon
also probes ICMP.  ``ip route add blackhole ADDR/32 table local`` drops both SNMP
and ICMP for that address — but only inside a network namespace of our own,
never on the host's (see ../shared/TOOLING-NOTES.md).
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess

log = logging.getLogger(__name__)

CLONE_NEWNET = 0x40000000


def in_private_netns() -> bool:
    """True when this process's network namespace is not the host's.

    Compares with PID 1's namespace where /proc allows it; in sandboxes that hide
    PID 1, a namespace with nothing but loopback and virtual links (veth, dummy,
    bridge) is taken as private — the host's has a real NIC.
    """
    try:
        return os.stat("/proc/self/ns/net").st_ino != os.stat("/proc/1/ns/net").st_ino
    except OSError:
        pass
    if shutil.which("ip") is None:
        return False
    out = subprocess.run(["ip", "-o", "-d", "link", "show"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        name = line.split(":", 2)[1].strip().split("@")[0]
        if name != "lo" and not any(f" {kind} " in line for kind in _VIRTUAL_KINDS):
            return False
    return True


_VIRTUAL_KINDS = ("veth", "dummy", "bridge", "vxlan", "macvlan")


def enter_private_netns() -> None:
    """Move this process (and its future children) into a new network namespace with loopback up.

    Python 3.11 has no ``os.unshare``; libc's ``unshare(2)`` needs root (CAP_SYS_ADMIN).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET) failed: {os.strerror(err)} (needs root)")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


class Blackholes:
    """Keeps the set of blackholed addresses equal to the set of unreachable devices."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = (in_private_netns() and shutil.which("ip") is not None) if enabled is None else enabled
        self.active: set[str] = set()

    def update(self, down: set[str]) -> None:
        if not self.enabled:
            return
        add = sorted(h for h in down - self.active if ":" not in h)
        remove = sorted(h for h in self.active - down)
        if not add and not remove:
            return
        lines = [f"route add blackhole {h}/32 table local" for h in add]
        lines += [f"route del blackhole {h}/32 table local" for h in remove]
        result = subprocess.run(["ip", "-batch", "-", "-force"], input="\n".join(lines) + "\n",
                                text=True, capture_output=True, check=False)
        if result.returncode != 0:
            log.warning("ip route batch: %s", result.stderr.strip())
        self.active = (self.active | set(add)) - set(remove)

    def clear(self) -> None:
        self.update(set())
