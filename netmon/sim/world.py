"""The simulated province's state: devices, interfaces, counters, topology, faults.

Pure (no I/O): the agent asks it what a device would answer at time ``now``;
scenarios change it.  Counters are closed-form integrals of a smooth traffic
curve, so they are monotonic, cost nothing to keep, and restart from zero on a
reboot exactly as a real router's do.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

DAY = 86_400.0


def stable_unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) derived from ``parts`` (same every run)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class Behaviour(StrEnum):
    NORMAL = "normal"
    SLOW = "slow"  # answers after a delay (2–3 s by default)
    DROP = "drop"  # a live device whose agent drops every packet


@dataclass(slots=True)
class SimInterface:
    index: int
    name: str
    alias: str
    if_type: int  # IANAifType: 6 ethernetCsmacd, 24 softwareLoopback, 131 tunnel
    speed_bps: int
    mac: bytes
    capacity_bps: int = 0  # what traffic is measured against (contracted bandwidth); 0 = speed
    admin_up: bool = True
    link_up: bool = True  # the carrier (a scenario's link_down clears it)
    last_change: float = 0.0  # wall time of the last oper-status change
    utilisation: float = 0.0  # mean share of speed in use
    swing: float = 0.0  # daily swing around the mean (≤ utilisation, keeps counters monotonic)
    phase: float = 0.0
    error_rate: float = 0.0  # input errors per second
    # Counter state: octets accumulated until ``since`` (reset on reboot, frozen while down).
    acc_in: float = 0.0
    acc_out: float = 0.0
    acc_err: float = 0.0
    since: float = 0.0

    @property
    def oper_up(self) -> bool:
        return self.admin_up and self.link_up

    def _integral(self, t0: float, t1: float, direction: int) -> float:
        """Octets sent between t0 and t1 when up: ∫ speed/8·(u + s·sin(2πt/day + φ)) dt."""
        if t1 <= t0:
            return 0.0
        base = self.utilisation * (0.55 if direction else 1.0)
        swing = self.swing * (0.55 if direction else 1.0)
        k = 2 * math.pi / DAY
        phi = self.phase + direction
        area = base * (t1 - t0) + swing / k * (math.cos(k * t0 + phi) - math.cos(k * t1 + phi))
        return (self.capacity_bps or self.speed_bps) / 8 * area

    def octets(self, now: float) -> tuple[int, int]:
        if not self.oper_up:
            return int(self.acc_in), int(self.acc_out)
        return (
            int(self.acc_in + self._integral(self.since, now, 0)),
            int(self.acc_out + self._integral(self.since, now, 1)),
        )

    def errors(self, now: float) -> int:
        if not self.oper_up:
            return int(self.acc_err)
        return int(self.acc_err + self.error_rate * max(0.0, now - self.since))

    def freeze(self, now: float) -> None:
        """Carry the counters to ``now`` (before a state change), so they never jump or go back."""
        self.acc_in, self.acc_out = (float(v) for v in self.octets(now))
        self.acc_err = float(self.errors(now))
        self.since = now

    def reset(self, now: float) -> None:
        self.acc_in = self.acc_out = self.acc_err = 0.0
        self.since = now


@dataclass(slots=True)
class SimEntity:
    """A row of ENTITY-MIB entPhysicalTable."""

    index: int
    descr: str
    vendor_type: tuple[int, ...]
    contained_in: int
    klass: int  # 3 chassis, 9 module, 6 powerSupply, 10 port, 7 fan
    name: str
    hardware_rev: str
    firmware_rev: str
    software_rev: str
    serial: str
    mfg: str
    model: str


@dataclass(slots=True)
class SimDevice:
    id: str
    kind: str  # router / bts
    host: str
    port: int
    sys_name: str
    sys_descr: str
    sys_object_id: tuple[int, ...]
    sys_location: str
    sys_contact: str
    interfaces: list[SimInterface]
    entities: list[SimEntity]
    boot: float
    reboots: int = 0  # since the simulator started: SNMPv3's snmpEngineBoots moves with it
    cpu_base: float = 10.0
    mem_total_kb: int = 1_048_576
    v3: bool = False
    parent: str | None = None  # upstream device id (management path)
    uplink_if: int | None = None  # our ifIndex towards the parent
    parent_if: int | None = None  # the parent's ifIndex towards us
    alive: bool = True
    reachable: bool = True
    behaviour: Behaviour = Behaviour.NORMAL
    delay_s: float = 2.5
    children: list[str] = field(default_factory=list)

    @property
    def answers(self) -> bool:
        return self.reachable and self.behaviour is not Behaviour.DROP

    def uptime_ticks(self, now: float) -> int:
        return int((now - self.boot) * 100) % 2**32

    def interface(self, name: str) -> SimInterface:
        for itf in self.interfaces:
            if itf.name == name:
                return itf
        raise KeyError(f"{self.id} has no interface {name!r}")

    def cpu_load(self, core: int, now: float) -> int:
        """hrProcessorLoad: a slow random walk around the device's base load (percent)."""
        minute = int(now // 60)
        wobble = stable_unit(self.id, core, minute) * 20 - 10
        return max(1, min(99, round(self.cpu_base + wobble)))


@dataclass(frozen=True, slots=True)
class Change:
    """A visible consequence of a scenario step, for traps and logs."""

    kind: str  # link_down / link_up / cold_start / unreachable / reachable
    device: str
    if_index: int | None = None
    if_name: str | None = None


class World:
    """All simulated devices and their management topology (a tree rooted at the core)."""

    def __init__(self, devices: Iterable[SimDevice]) -> None:
        self.devices: dict[str, SimDevice] = {d.id: d for d in devices}
        self.by_endpoint: dict[tuple[str, int], SimDevice] = {(d.host, d.port): d for d in self.devices.values()}
        for dev in self.devices.values():
            dev.children = []
        for dev in self.devices.values():
            if dev.parent is not None:
                self.devices[dev.parent].children.append(dev.id)

    # ----------------------------------------------------------------- queries
    def subtree(self, device_id: str) -> Iterator[SimDevice]:
        """The device and everything managed through it."""
        stack = [device_id]
        while stack:
            dev = self.devices[stack.pop()]
            yield dev
            stack.extend(dev.children)

    def unreachable(self) -> list[SimDevice]:
        return [d for d in self.devices.values() if not d.reachable]

    # ------------------------------------------------------------- mutations
    def _recompute(self, root: str) -> list[Change]:
        """Re-derive reachability below ``root``; report devices whose reachability flipped."""
        changes = []
        for dev in self.subtree(root):
            parent = self.devices.get(dev.parent) if dev.parent else None
            path_ok = parent is None or (
                parent.reachable
                and (dev.uplink_if is None or dev.interfaces[dev.uplink_if - 1].oper_up)
            )
            now_reachable = dev.alive and path_ok
            if now_reachable != dev.reachable:
                dev.reachable = now_reachable
                changes.append(Change("reachable" if now_reachable else "unreachable", dev.id))
        return changes

    def set_link(self, device_id: str, if_name: str, up: bool, now: float) -> list[Change]:
        """Carrier change on an interface; a link to the parent changes both ends."""
        dev = self.devices[device_id]
        itf = dev.interface(if_name)
        ends = [(dev, itf)]
        if dev.parent is not None and itf.index == dev.uplink_if and dev.parent_if is not None:
            parent = self.devices[dev.parent]
            ends.append((parent, parent.interfaces[dev.parent_if - 1]))
        else:  # maybe it is a downlink: find the child whose parent_if this is
            for child_id in dev.children:
                child = self.devices[child_id]
                if child.parent_if == itf.index and child.uplink_if is not None:
                    ends.append((child, child.interfaces[child.uplink_if - 1]))
        changes: list[Change] = []
        for end_dev, end_itf in ends:
            if end_itf.link_up == up:
                continue
            end_itf.freeze(now)
            end_itf.link_up = up
            end_itf.last_change = now
            if end_dev.alive:
                changes.append(Change("link_up" if up else "link_down", end_dev.id, end_itf.index, end_itf.name))
        return changes + self._recompute(device_id)

    def set_alive(self, device_id: str, alive: bool, now: float) -> list[Change]:
        """Power a device off (it and everything behind it stop answering) or back on (a cold start)."""
        dev = self.devices[device_id]
        if dev.alive == alive:
            return []
        dev.alive = alive
        changes: list[Change] = []
        if alive:
            changes += self.reboot(device_id, now)
        return changes + self._recompute(device_id)

    def reboot(self, device_id: str, now: float) -> list[Change]:
        """sysUpTime and every counter restart from zero."""
        dev = self.devices[device_id]
        dev.boot = now
        dev.reboots += 1
        for itf in dev.interfaces:
            itf.reset(now)
            itf.last_change = now
        return [Change("cold_start", dev.id)]

    def set_behaviour(self, device_id: str, behaviour: Behaviour, delay_s: float | None = None) -> None:
        dev = self.devices[device_id]
        dev.behaviour = behaviour
        if delay_s is not None:
            dev.delay_s = delay_s
