"""Notifications the simulated devices send when a scenario changes them: SNMPv2-Trap PDUs, in a v2c
message or (for SNMPv3 devices, :meth:`netmon.sim.v3.V3Agents.trap`) a USM one.

Sent from the device's own address (the receiver identifies devices by source
address), encoded with the project's BER codec.
"""

from __future__ import annotations

import logging
import socket
from itertools import count

from netmon.collect import ber
from netmon.sim.world import Change, SimDevice

log = logging.getLogger(__name__)

SYS_UPTIME_0 = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SNMP_TRAP_OID_0 = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
TRAPS = {
    "cold_start": (1, 3, 6, 1, 6, 3, 1, 1, 5, 1),
    "warm_start": (1, 3, 6, 1, 6, 3, 1, 1, 5, 2),
    "link_down": (1, 3, 6, 1, 6, 3, 1, 1, 5, 3),
    "link_up": (1, 3, 6, 1, 6, 3, 1, 1, 5, 4),
}
IF_INDEX = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1)
IF_ADMIN = (1, 3, 6, 1, 2, 1, 2, 2, 1, 7)
IF_OPER = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
_ids = count(1)


def encode_trap(device: SimDevice, change: Change, community: bytes, now: float) -> bytes | None:
    """The SNMPv2c trap message for ``change`` (None when the change is not a trap)."""
    varbinds = trap_varbinds(device, change, now)
    return None if varbinds is None else ber.encode_trap_v2c(community, next(_ids) % 2**31, varbinds)


def trap_varbinds(device: SimDevice, change: Change, now: float) -> list[bytes] | None:
    """The encoded varbinds of the trap for ``change`` (None when the change is not a trap)."""
    trap_oid = TRAPS.get(change.kind)
    if trap_oid is None:
        return None
    varbinds = [
        ber.encode_varbind(SYS_UPTIME_0, ber.TIMETICKS, device.uptime_ticks(now)),
        ber.encode_varbind(SNMP_TRAP_OID_0, ber.OBJECT_IDENTIFIER, trap_oid),
    ]
    if change.if_index is not None:
        itf = device.interfaces[change.if_index - 1]
        i = change.if_index
        varbinds += [
            ber.encode_varbind((*IF_INDEX, i), ber.INTEGER, i),
            ber.encode_varbind((*IF_ADMIN, i), ber.INTEGER, 1 if itf.admin_up else 2),
            ber.encode_varbind((*IF_OPER, i), ber.INTEGER, 1 if itf.oper_up else 2),
        ]
    return varbinds


def send_trap(device: SimDevice, data: bytes, target: tuple[str, int]) -> None:
    """Send from ``device.host`` (port chosen by the kernel) so the receiver sees the device's address."""
    family = socket.AF_INET6 if ":" in device.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((device.host, 0))
            sock.sendto(data, target)
        except OSError as exc:
            log.warning("trap from %s to %s:%s failed: %s", device.id, target[0], target[1], exc)
