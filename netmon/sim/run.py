"""``netmon simulate``: start every simulated agent, play a scenario, stop cleanly.

One process, one asyncio loop: the v1/v2c agents (:mod:`netmon.sim.agent`), the
SNMPv3 agents (:mod:`netmon.sim.v3`, the same sockets inside the project's USM), the scenario clock, traps and the
blackhole routes that make unreachable devices silent to ICMP too.  A small
line-based JSON control port lets tests and benchmarks change state on demand.

One socket per agent: the 20× province (~27,500 agents) needs more descriptors than a process may have
(RLIMIT_NOFILE's hard limit, often 20,000 or less without privilege). ``--part K/N`` splits the agents over N
processes (:func:`part_ids`). Each part keeps the whole world and plays every event on it — a district router
down in one part silences its communes in another — but answers, traps and blackholes only for its own agents.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netmon import secrets
from netmon.inventory import schema as s
from netmon.inventory.load import Inventory, load_inventory
from netmon.sim.agent import Agents, raise_fd_limit
from netmon.sim.build import build_world
from netmon.sim.netns import Blackholes
from netmon.sim.scenario import Action, Event, Scenario, load_scenario, timeline
from netmon.sim.traps import encode_trap, send_trap, trap_varbinds
from netmon.sim.world import Behaviour, Change, SimDevice, World

if TYPE_CHECKING:
    from netmon.sim.v3 import V3Agents, V3User

log = logging.getLogger("netmon.sim")


@dataclass
class SimConfig:
    inventory: Path = Path("inventory")
    scale: int = 1
    scenario: Path | None = None
    trap_target: tuple[str, int] | None = None
    control: tuple[str, int] | None = None
    blackhole: bool | None = None  # None: when in a private network namespace
    duration: float | None = None
    part: tuple[int, int] = (1, 1)  # (K, N): serve only the K-th of N shares of the agents (see part_ids)


def parse_part(text: str) -> tuple[int, int]:
    """``K/N`` (1 ≤ K ≤ N) as (K, N); ValueError when it is not."""
    k, slash, n = text.strip().partition("/")
    if not slash or not k.strip().isdigit() or not n.strip().isdigit():
        raise ValueError(text)
    part = int(k), int(n)
    if not 1 <= part[0] <= part[1]:
        raise ValueError(text)
    return part


def part_ids(ids: Iterable[str], part: tuple[int, int]) -> set[str]:
    """The agents part K of N serves: the K-th, (K+N)-th, … of the sorted ids. The N parts of the same inventory
    serve every agent exactly once, and as many each (±1)."""
    k, n = part
    return {agent for i, agent in enumerate(sorted(ids)) if i % n == k - 1}


def load_for_simulation(cfg: SimConfig) -> Inventory:
    """The inventory to simulate: the given folder, or the sample province × ``scale``."""
    if cfg.scale > 1:
        from netmon.inventory.sample import write_sample

        tmp = Path(tempfile.mkdtemp(prefix="netmon-sim-"))
        write_sample(tmp, scale=cfg.scale)
        return load_inventory(tmp)
    return load_inventory(cfg.inventory)


def communities(inv: Inventory) -> dict[str, bytes]:
    """Community of every v1/v2c device and base station (resolved here, at the edge)."""
    cache: dict[str, bytes] = {}
    out: dict[str, bytes] = {}
    owners = [(d.id, d.snmp_profile) for d in inv.devices.values()]
    owners += [(b.id, b.snmp_profile) for b in inv.base_stations.values() if b.mgmt and b.snmp_profile]
    for owner, name in owners:
        profile = inv.snmp_profiles[name]
        if profile.version is s.SnmpVersion.V3 or profile.community is None:
            continue
        if name not in cache:
            cache[name] = secrets.resolve(profile.community, owner=f"SNMP profile {name}").reveal().encode()
        out[owner] = cache[name]
    return out


def v3_users(inv: Inventory) -> dict[str, V3User]:
    """USM user of every SNMPv3 device and base station, keys resolved here (at the edge), once per profile."""
    from netmon.sim.v3 import V3User

    def key(ref: str | None, what: str, profile: str) -> str | None:
        return None if ref is None else secrets.resolve(ref, owner=f"{what} of SNMP profile {profile}").reveal()

    owners = [(d.id, d.snmp_profile) for d in inv.devices.values()]
    owners += [(b.id, b.snmp_profile) for b in inv.base_stations.values() if b.mgmt and b.snmp_profile]
    users: dict[str, V3User] = {}
    out: dict[str, V3User] = {}
    for owner, name in owners:
        p = inv.snmp_profiles[name]
        if p.version is not s.SnmpVersion.V3:
            continue
        if name not in users:
            users[name] = V3User(
                p.user or "",
                p.auth_protocol.value if p.auth_protocol else None,
                key(p.auth_key, "auth_key", p.name),
                p.priv_protocol.value if p.priv_protocol else None,
                key(p.priv_key, "priv_key", p.name),
            )
        out[owner] = users[name]
    return out


@dataclass
class Simulator:
    world: World
    agents: Agents
    blackholes: Blackholes
    trap_target: tuple[str, int] | None
    communities: dict[str, bytes]
    trap_community: bytes
    started: float = field(default_factory=time.time)
    log_lines: list[str] = field(default_factory=list)
    on_change: Callable[[str], None] | None = None
    v3_agents: V3Agents | None = None
    part: tuple[int, int] = (1, 1)
    served: set[str] | None = None  # the agents this part serves; None: every one

    def serves(self, device_id: str) -> bool:
        return self.served is None or device_id in self.served

    def devices(self) -> list[SimDevice]:
        """The agents this process serves."""
        return [d for d in self.world.devices.values() if self.serves(d.id)]

    def apply(self, event: Event) -> list[Change]:
        """Apply one scenario event now; send the traps it causes; keep blackholes in step.

        The event changes the whole world (every part plays the same events, so their worlds agree); what is
        seen of it — the log line, traps, blackholes, the changes returned — is only this part's agents'. An
        event that changes none of them is another part's business: silent here."""
        now = time.time()
        w = self.world
        if event.device not in w.devices:
            raise KeyError(f"unknown device {event.device!r}")
        changes: list[Change] = []
        if event.action is Action.DEVICE_DOWN:
            changes = w.set_alive(event.device, False, now)
        elif event.action is Action.DEVICE_UP:
            changes = w.set_alive(event.device, True, now)
        elif event.action in (Action.LINK_DOWN, Action.LINK_UP):
            changes = w.set_link(event.device, event.interface or "", event.action is Action.LINK_UP, now)
        elif event.action is Action.REBOOT:
            changes = w.reboot(event.device, now)
        elif event.action is Action.SLOW:
            w.set_behaviour(event.device, Behaviour.SLOW, event.delay)
        elif event.action is Action.DROP:
            w.set_behaviour(event.device, Behaviour.DROP)
        elif event.action is Action.NORMAL:
            w.set_behaviour(event.device, Behaviour.NORMAL)
        self.blackholes.update({d.host for d in w.unreachable() if self.serves(d.id)})
        changes = [c for c in changes if self.serves(c.device)]
        if not changes and not self.serves(event.device):
            return []
        unreachable = sum(1 for c in changes if c.kind == "unreachable")
        line = f"t+{now - self.started:6.1f}s {event.action.value} {event.device}"
        line += f" {event.interface}" if event.interface else ""
        line += f" ({unreachable} device(s) now unreachable)" if unreachable else ""
        self._emit(line)
        if self.trap_target is not None:
            for change in changes:
                dev = w.devices[change.device]
                if not dev.reachable and change.kind != "link_down":
                    continue  # a dead device sends nothing; a link-down is sent before the path goes
                if dev.v3 and self.v3_agents is not None:  # the device's own engine and user, authPriv
                    varbinds = trap_varbinds(dev, change, now)
                    data = None if varbinds is None else self.v3_agents.trap(dev, varbinds, now)
                else:
                    data = encode_trap(dev, change, self.communities.get(dev.id, self.trap_community), now)
                if data is not None:
                    send_trap(dev, data, self.trap_target)
        return changes

    def _emit(self, line: str) -> None:
        self.log_lines.append(line)
        log.info("%s", line)
        if self.on_change is not None:
            self.on_change(line)

    def state(self) -> dict[str, Any]:
        v3 = self.v3_agents.stats if self.v3_agents is not None else None
        return {
            "devices": len(self.devices()),
            "part": f"{self.part[0]}/{self.part[1]}",
            "unreachable": sorted(d.id for d in self.world.unreachable() if self.serves(d.id)),
            "requests": self.agents.stats.requests + (v3.requests if v3 else 0),
            "dropped": self.agents.stats.dropped + (v3.dropped if v3 else 0),
            "uptime_s": round(time.time() - self.started, 1),
        }


async def play(sim: Simulator, scenario: Scenario) -> None:
    """Run the scenario's events at their offsets from the simulator's start."""
    for event in timeline(scenario):
        delay = sim.started + event.at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            sim.apply(event)
        except KeyError as exc:
            log.error("scenario: %s", exc)


async def _control(sim: Simulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One JSON object per line in (a step without ``at``, or ``{"state": true}``); one JSON line out.

    With ``--part``, a step changes this part's world and reports this part's agents' changes: send it to every
    part to change the province."""
    try:
        while line := await reader.readline():
            try:
                req = json.loads(line)
                if req.get("state"):
                    reply: dict[str, Any] = sim.state()
                else:
                    event = Event(0.0, 0, Action(req["action"]), req["device"], req.get("interface"),
                                  float(req.get("delay", 2.5)))
                    changes = sim.apply(event)
                    reply = {"ok": True, "changes": [c.kind + ":" + c.device for c in changes],
                             "served": sim.serves(event.device)}  # False: another part's agent
            except (ValueError, KeyError, TypeError) as exc:
                reply = {"ok": False, "error": str(exc)}
            writer.write((json.dumps(reply) + "\n").encode())
            await writer.drain()
    finally:
        writer.close()


async def run_simulator(cfg: SimConfig, ready: Callable[[Simulator, float], None] | None = None) -> Simulator:
    """Start everything, wait for SIGINT/SIGTERM (or ``duration``), stop everything."""
    started = time.perf_counter()
    inv = load_for_simulation(cfg)
    scenario = None
    if cfg.scenario is not None:
        scenario = load_scenario(cfg.scenario, set(inv.devices) | set(inv.base_stations))
    now = time.time()
    world = build_world(inv, now)
    comms = communities(inv)
    loop = asyncio.get_running_loop()
    served = None if cfg.part == (1, 1) else part_ids(world.devices, cfg.part)
    mine = [d for d in world.devices.values() if served is None or d.id in served]
    raise_fd_limit(len(mine) + 256)  # every agent's socket (v1/v2c and v3), and room for the rest
    agents = Agents(world, comms)
    v2 = [d for d in mine if not d.v3]
    v3 = [d for d in mine if d.v3]
    agents.start(loop, v2)
    v3_agents = None
    try:
        if v3:
            from netmon.sim.v3 import V3Agents

            v3_agents = V3Agents(world, v3_users(inv))
            v3_agents.start(loop, v3)
        default_community = next(iter(comms.values()), b"public")
        sim = Simulator(world, agents, Blackholes(cfg.blackhole), cfg.trap_target, comms, default_community,
                        started=now, v3_agents=v3_agents, part=cfg.part, served=served)
        server = None
        if cfg.control is not None:
            server = await asyncio.start_server(lambda r, w: _control(sim, r, w), *cfg.control)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if ready is not None:  # after the handlers: a SIGTERM right after "ready" still stops cleanly
            ready(sim, time.perf_counter() - started)
        tasks: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
        if scenario is not None:
            tasks.append(asyncio.create_task(play(sim, scenario)))
        if cfg.duration is not None:
            tasks.append(asyncio.create_task(asyncio.sleep(cfg.duration)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if scenario is not None and len(tasks) > 1 and tasks[1].done() and not stop.is_set():
                await asyncio.wait([tasks[0], *tasks[2:]], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            if server is not None:
                server.close()
            sim.blackholes.clear()
        return sim
    finally:
        agents.stop()
        if v3_agents is not None:
            v3_agents.stop()
