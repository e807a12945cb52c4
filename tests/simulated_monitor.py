"""A Monitor over the simulated province, in-process: the state /metrics is tested and benchmarked on.

The simulated world (:mod:`netmon.sim.build`) answers each DEVICE_SPEC walk in-process (the real ``Walk``
state machine, the real BER codec and the simulator's ``answer()``) through :class:`SimPoller`, which stands
in for the SNMP poller at the monitor's :class:`~netmon.monitor.Poller` seam (and :class:`SimIcmp` for ICMP);
three rounds go through ``Monitor.poll_batch`` — the judgement in ``health/``, incidents — so every family of
``/metrics`` is filled as in production. Between the first and second round a district router is powered off
(a device incident with sites behind it), a watched link goes down, a router reboots (discontinuities, reboot
counter, counters that must not go back) and a base station dies; from the start one router's agent repeats a
varbind in every answer (a protocol fault: ``netmon_poll_faults_total``).

Used by ``tests/unit/expose/test_metrics.py`` and ``bench/exposition.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from netmon.collect import ber
from netmon.collect.icmp import IcmpResult
from netmon.collect.oids import PollSpec
from netmon.collect.target import Target, targets_from_inventory
from netmon.collect.walk import PollResult, Walk
from netmon.expose.metrics import MonitorCollector
from netmon.inventory.load import Inventory, load_inventory
from netmon.monitor import ClassStats, Monitor
from netmon.sim.agent import answer
from netmon.sim.build import build_world
from netmon.sim.mib import layout_for
from netmon.sim.world import World, stable_unit

ROOT = Path(__file__).resolve().parents[1]

ENV = {
    "NETMON_SNMP_COMMUNITY": "bench-community-Secret-1",
    "NETMON_BTS_COMMUNITY": "bench-bts-community-Secret-2",
    "NETMON_SNMPV3_AUTH_KEY": "bench-auth-key-Secret-3",
    "NETMON_SNMPV3_PRIV_KEY": "bench-priv-key-Secret-4",
    "NETMON_SSH_PASSWORD": "bench-ssh-password-Secret-5",
}
ROUND_S = 60.0
SCRAPE_S = 30.0  # deploy/prometheus/prometheus.yml: scrape_interval
COMMUNITY = b"bench"


# ------------------------------------------------------------------------------------------------ state
class SimPoller:
    """Stands in for SnmpPoller: walks the simulated agents in-process at the simulated clock's time."""

    def __init__(self, world: World, clock: Callable[[], float]) -> None:
        self.world = world
        self.clock = clock
        self.polls = 0
        self.repeating: set[str] = set()  # agents that repeat the first varbind of every answer

    async def poll(self, targets: Sequence[Target], spec: PollSpec) -> list[PollResult]:
        return [self.poll_one(t.device_id, spec) for t in targets]

    def poll_one(self, device_id: str, spec: PollSpec) -> PollResult:
        self.polls += 1
        now = self.clock()
        dev = self.world.devices[device_id]
        result = PollResult(device_id, started=now)
        if not dev.answers:
            result.requests = result.timeouts = 2
            result.retries = 1
            result.error = "timeout after 2 requests"
            result.elapsed_s = 4.0
            return result
        layout = layout_for(dev)
        walk = Walk(spec, result, bulk=True, max_repetitions=64)
        request_id = 0
        while (req := walk.next_request()) is not None:
            request_id += 1
            data = ber.encode_request(ber.V2C, COMMUNITY, request_id, req.pdu, req.oids, req.non_repeaters,
                                      req.max_repetitions)
            raw = answer(dev, layout, ber.decode_request(data), now)
            response = ber.decode_response(raw)
            varbinds = response.varbinds
            if device_id in self.repeating and varbinds:
                varbinds = [varbinds[0], *varbinds]
            walk.feed(response.error_status, response.error_index, varbinds, len(raw))
            result.requests += 1
        result.elapsed_s = 0.002 + 0.0004 * result.requests + 0.1 * stable_unit(device_id, now)
        return result

    def close(self) -> None:
        pass


class SimIcmp:
    """Stands in for IcmpProber: 3 echoes per host; a host whose device does not answer loses them all."""

    enabled = True

    def __init__(self, world: World, clock: Callable[[], float]) -> None:
        self.by_host = {d.host: d for d in world.devices.values()}
        self.clock = clock

    async def probe(self, hosts: Sequence[str]) -> dict[str, IcmpResult]:
        at = self.clock()
        out = {}
        for host in hosts:
            dev = self.by_host[host]
            if not dev.reachable or not dev.alive:
                out[host] = IcmpResult(host, at, 3, 0, None, None, None, None)
                continue
            u = stable_unit(host, at)
            base = 1.0 + 20 * stable_unit(host)
            lost = 1 if u < 0.02 else 0
            out[host] = IcmpResult(host, at, 3, 3 - lost, base, base * (1.1 + u), base * (1.3 + u), 0.2 + u)
        return out


@dataclass
class State:
    inventory: Inventory
    world: World
    monitor: Monitor
    collector: MonitorCollector
    registry: CollectorRegistry
    faults: dict[str, str]
    sim_now: list[float]  # the simulated clock (polls and pings happen at sim_now[0])
    polls: int = 0

    def poll(self, devices: list[str], after_s: float = SCRAPE_S) -> None:
        """Poll ``devices`` through the monitor, ``after_s`` after the previous poll."""
        self.sim_now[0] += after_s
        asyncio.run(self.monitor.poll_batch(devices))
        self.polls += 1

    def poll_scrape_interval(self) -> None:
        """What is polled during one scrape interval (30 s): half the routers (60 s), a tenth of the base
        stations (300 s), the next share each time."""
        i = self.polls
        routers = [d for d in self.inventory.devices if d in self.monitor.by_id]
        stations = [d for d in self.inventory.base_stations if d in self.monitor.by_id]
        self.poll(routers[i % 2::2] + stations[i % 10::10])


def _pick_faults(inv: Inventory, world: World) -> dict[str, str]:
    """A district router with routers behind it, a watched link of another router, a router, a station."""
    children: dict[str, int] = {}
    for dev in world.devices.values():
        if dev.parent:
            children[dev.parent] = children.get(dev.parent, 0) + 1
    district = next(d.id for d in inv.devices.values() if d.role.value == "district" and children.get(d.id))
    behind = {d.id for d in world.subtree(district)}
    link = next(ln for ln in inv.links.values()
                if ln.a.device not in behind and ln.b.device not in behind and world.devices[ln.a.device].parent)
    spared = [d.id for d in inv.devices.values()
              if d.id not in behind and d.id not in (link.a.device, link.b.device) and d.role.value == "access"]
    bts = next(b.id for b in inv.base_stations.values() if b.mgmt is not None)
    return {"power_off": district, "link_down": link.id, "link_device": link.a.device,
            "link_interface": link.a.interface, "reboot": spared[0], "bts_off": bts, "repeats": spared[1]}


def build_state(inventory_dir: Path | str = ROOT / "inventory", rounds: int = 3) -> State:
    """A monitor after ``rounds`` polls of everything (ROUND_S apart), with faults from round 2 on."""
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    logging.getLogger("netmon.monitor").setLevel(logging.ERROR)  # the incidents opened on purpose
    inv = load_inventory(Path(inventory_dir))
    start = time.time() - ROUND_S * rounds  # later polls (State.poll) run ahead of the wall clock: harmless
    sim_now = [start]
    world = build_world(inv, start - 1)
    clock = lambda: sim_now[0]  # noqa: E731
    targets = targets_from_inventory(inv)
    poller = SimPoller(world, clock)
    monitor = Monitor(inv, targets, poller, SimIcmp(world, clock), confirm_after_s=1e9)
    monitor.classes = {"routers": ClassStats(60.0), "base_stations": ClassStats(300.0),
                       "discovery": ClassStats(21_600.0)}
    monitor.trap_stats = lambda: {"accepted": 12, "dropped_unknown_source": 1, "dropped_bad_credentials": 0,
                                  "dropped_other": 0}
    faults = _pick_faults(inv, world)
    poller.repeating.add(faults["repeats"])
    everyone = [t.device_id for t in targets]

    async def run() -> None:
        for n in range(rounds):
            sim_now[0] = start + ROUND_S * n
            if n == 1:
                t = sim_now[0] - 30
                world.set_alive(faults["power_off"], False, t)
                world.set_link(faults["link_device"], faults["link_interface"], False, t)
                world.reboot(faults["reboot"], t)
                world.set_alive(faults["bts_off"], False, t)
            for cls in monitor.classes.values():
                cls.lag_s, cls.last_start, cls.last_full_cycle_s = 0.05 * n, sim_now[0], 1.5 + n
            await monitor.poll_batch(everyone)
        monitor.ready = True

    asyncio.run(run())
    collector = MonitorCollector(monitor)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return State(inv, world, monitor, collector, registry, faults, sim_now)


KNOWN_LINT = {
    # A contract name (alert rules use it): promtool's naming lint, not an error. Renaming is the owner's call.
    "netmon_counter_discontinuities_total metric name should not include type 'counter'",
}
