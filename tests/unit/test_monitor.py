"""``Monitor`` with a fake poller, a fake pinger and fake stores (after snmp_exporter's ``scraper/mock.go``).

The fakes implement the monitor's declared seams (:class:`netmon.monitor.Poller`, ``Pinger``,
``OutageHistory``, ``FactSink``) and nothing more; the mini inventory gives the topology
(core → district → two communes; a second district; two base stations). No socket, no database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from netmon import mib as o
from netmon.collect import ber
from netmon.collect.icmp import IcmpResult
from netmon.collect.oids import DEVICE_SPEC, STATION_SPEC, PollSpec
from netmon.collect.target import Target
from netmon.collect.walk import PollResult
from netmon.health.incidents import Incident
from netmon.health.observation import DeviceObs, Hardware
from netmon.health.states import Params, State
from netmon.inventory.load import Inventory, load_inventory
from netmon.monitor import FactSink, Monitor, OutageHistory, Pinger, Poller
from netmon.secrets import Secret
from netmon.store.history import OpenOutage

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "inventory" / "mini"
CORE, DISTRICT, TOWN, COMMUNE, OTHER = "rt-core", "rt-cau-ngang", "rt-tt-cau-ngang", "rt-my-long-bac", \
    "rt-huyen-uy-tieu-can"
WATCHED = "GigabitEthernet0/0"  # the district's end of link core-cau-ngang


# ------------------------------------------------------------------------------------------------- fakes
@dataclass
class FakeAgent:
    """What one device answers: alive or silent, its uptime and its one interface."""

    alive: bool = True
    boot: float = 0.0  # wall-clock time of its last boot (sysUpTime counts from here)
    oper: int = 1
    octets: int = 0


@dataclass
class FakePoller:
    """Answers each walk from ``agents`` at once, at the time ``clock`` says; remembers every call (the
    targets and the spec)."""

    agents: dict[str, FakeAgent]
    clock: list[float]
    calls: list[tuple[list[str], PollSpec]] = field(default_factory=list)

    async def poll(self, targets: Sequence[Target], spec: PollSpec) -> list[PollResult]:
        self.calls.append(([t.device_id for t in targets], spec))
        return [self._walk(t) for t in targets]

    def _walk(self, target: Target) -> PollResult:
        now = self.clock[0]
        agent = self.agents[target.device_id]
        result = PollResult(target.device_id, started=now, requests=1, elapsed_s=0.01)
        if not agent.alive:
            result.error, result.timeouts, result.retries = "timeout", 2, 1
            return result
        result.ok = True
        result.scalars = {o.SYS_NAME: (ber.OCTET_STRING, target.device_id.encode()),
                          o.SYS_UPTIME: (ber.TIMETICKS, int((now - agent.boot) * 100))}
        name = WATCHED if target.device_id == DISTRICT else "ether1"
        result.columns = {o.IF_NAME: {(1,): (ber.OCTET_STRING, name.encode())},
                          o.IF_OPER_STATUS: {(1,): (ber.INTEGER, agent.oper)},
                          o.IF_ADMIN_STATUS: {(1,): (ber.INTEGER, 1)},
                          o.IF_HIGH_SPEED: {(1,): (ber.GAUGE32, 100)},
                          o.IF_HC_IN_OCTETS: {(1,): (ber.COUNTER64, agent.octets)},
                          o.IF_HC_OUT_OCTETS: {(1,): (ber.COUNTER64, agent.octets)}}
        result.varbinds = 8
        return result


class NoPing:
    """ICMP off (as without root): SNMP alone decides."""

    enabled = False

    async def probe(self, hosts: Sequence[str]) -> dict[str, IcmpResult]:
        return {}


@dataclass
class FakeHistory:
    open: dict[str, OpenOutage] = field(default_factory=dict)
    gap_start: datetime | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)
    opened: list[Incident] = field(default_factory=list)
    closed: list[Incident] = field(default_factory=list)
    adopted_closed: dict[str, datetime] = field(default_factory=dict)
    database_up: bool = True
    pending: int = 0
    database_outages: int = 0

    def event(self, at: datetime, object_type: str, object_id: str, kind: str, detail: str | None) -> None:
        self.events.append((object_type, object_id, kind))

    def record(self, opened: Iterable[Incident], closed: Iterable[Incident], now: datetime,
               adopted_ended_at: dict[str, datetime] | None = None) -> None:
        for inc in opened:
            self.opened.append(inc)
            found = self.open.get(inc.key)
            self.open[inc.key] = replace(found, title=inc.title) if found else OpenOutage(
                inc.key, inc.started_at, frozenset(inc.affected_site_ids), inc.kind.value, inc.title, inc.site_id)
        for inc in closed:
            self.closed.append(inc)
            self.open.pop(inc.key, None)
        for key, ended in (adopted_ended_at or {}).items():
            self.adopted_closed[key] = ended
            self.open.pop(key, None)

    def grow(self, still_open: Iterable[Incident]) -> None:
        pass

    def change_kind(self, incidents: Iterable[Incident]) -> None:
        pass


@dataclass
class FakeFacts:
    saved: list[tuple[list[str], set[str]]] = field(default_factory=list)
    hardware: list[Mapping[str, Hardware]] = field(default_factory=list)

    def save(self, observations: Iterable[DeviceObs], known_devices: set[str]) -> int:
        obs = list(observations)
        self.saved.append(([x.device_id for x in obs], known_devices))
        return len(obs)

    def save_hardware(self, hardware: dict[str, Hardware]) -> None:
        self.hardware.append(hardware)

    def forget(self, devices: Iterable[str]) -> None:
        pass


# ------------------------------------------------------------------------------------------------ set-up
@dataclass
class Rig:
    monitor: Monitor
    agents: dict[str, FakeAgent]
    poller: FakePoller
    history: FakeHistory
    facts: FakeFacts

    def poll(self, devices: Iterable[str] | None = None) -> list[DeviceObs]:
        """A batch 30 s (of the agents' clock) after the previous one; all devices by default."""
        self.poller.clock[0] += 30
        ids = list(devices) if devices is not None else list(self.monitor.by_id)
        return asyncio.run(self.monitor.poll_batch(ids))

    def state(self, device_id: str) -> State:
        h = self.monitor.health.devices.get(device_id) or self.monitor.health.base_stations[device_id]
        return h.state


@pytest.fixture
def rig() -> Rig:
    inv: Inventory = replace(load_inventory(MINI), maintenance={})  # no window may fall on the test's clock
    community = Secret("env:TEST", "public")
    targets = [Target(d.id, d.mgmt.host, community=community) for d in inv.devices.values()]
    targets += [Target(b.id, b.mgmt.host, community=community) for b in inv.base_stations.values() if b.mgmt]
    clock = [time.time() - 400]  # polls 30 s apart on this clock: behind the monitor's, within its 600 s
    agents = {t.device_id: FakeAgent(boot=clock[0] - 3600) for t in targets}
    poller, history, facts = FakePoller(agents, clock), FakeHistory(), FakeFacts()
    monitor = Monitor(inv, targets, poller, NoPing(), params=Params(failures_to_down=2), confirm_after_s=1e9,
                      history=history, facts=facts)
    return Rig(monitor, agents, poller, history, facts)


def test_the_fakes_are_the_declared_seams(rig: Rig) -> None:
    poller: Poller = rig.poller
    pinger: Pinger = NoPing()
    history: OutageHistory = rig.history
    facts: FactSink = rig.facts
    assert poller and pinger and history and facts


# ------------------------------------------------------------------------------------------------- tests
def test_a_healthy_batch_is_walked_once_judged_and_recorded(rig: Rig) -> None:
    observations = rig.poll()
    m = rig.monitor
    routers = [d for d in m.by_id if d not in m.inventory.base_stations]
    stations = [d for d in m.by_id if d in m.inventory.base_stations]
    assert stations  # one walk per device, no re-probe; a base station's is its backhaul port only
    assert rig.poller.calls == [(routers, DEVICE_SPEC), (stations, STATION_SPEC)]
    assert [x.device_id for x in observations] == list(m.by_id) and all(x.ok for x in observations)
    assert {rig.state(d) for d in m.by_id} == {State.UP}
    assert m.incidents == {} and rig.history.opened == [] and rig.history.events == []
    assert m.observations[DISTRICT].interface_named(WATCHED) is not None
    assert set(m.rates) == set(m.by_id)  # every answer went through the counter tracker
    assert m.stats[CORE].polls == 1 and m.stats[CORE].varbinds == 8 and m.stats[CORE].errors == 0
    assert rig.facts.saved == [(list(m.by_id), set(m.inventory.devices))]


def test_rates_come_from_consecutive_polls(rig: Rig) -> None:
    rig.poll()
    rig.agents[CORE].octets = 300_000_000  # in 30 s: 80 Mbit/s of the 100
    rig.poll()
    rates = rig.monitor.rates[CORE]
    assert rates.interval_s == pytest.approx(30) and not rates.discontinuities
    assert rates.interfaces[1].in_bps == pytest.approx(80e6)
    assert rig.monitor.tracker.total(CORE, 1, "in_octets") == 300_000_000


def test_a_dead_district_router_is_one_incident_after_a_reprobe_of_its_parent(rig: Rig) -> None:
    rig.poll()
    for dev in (DISTRICT, TOWN, COMMUNE):
        rig.agents[dev].alive = False
    rig.poll()  # first failure: not down yet
    assert rig.state(DISTRICT) is State.UP and rig.history.opened == []
    before = len(rig.poller.calls)
    rig.poll([DISTRICT, TOWN, COMMUNE])  # second failure; the parents were not polled in this batch …
    reprobes = rig.poller.calls[before + 1:]
    assert reprobes and CORE in reprobes[0][0]  # … so they are re-probed (the core too) before judging
    assert all(spec is DEVICE_SPEC for _, spec in reprobes)
    assert rig.state(DISTRICT) is State.DOWN
    assert rig.state(TOWN) is rig.state(COMMUNE) is State.UNREACHABLE
    assert [i.key for i in rig.history.opened] == [f"device:{DISTRICT}"]  # one root cause, not three
    assert {a.device_id for a in rig.history.opened[0].affected} == {TOWN, COMMUNE}
    stats = rig.monitor.stats[DISTRICT]
    assert stats.errors == stats.polls - 1 == 3  # every walk since it died is counted, its re-probe too

    for dev in (DISTRICT, TOWN, COMMUNE):
        rig.agents[dev].alive = True
    rig.poll()
    assert rig.state(DISTRICT) is State.UP and rig.monitor.incidents == {}
    assert [i.key for i in rig.history.closed] == [f"device:{DISTRICT}"]


def test_a_watched_link_going_down_opens_a_link_incident(rig: Rig) -> None:
    rig.poll()
    rig.agents[DISTRICT].oper = 2
    rig.poll()
    assert [i.key for i in rig.history.opened] == ["link:core-cau-ngang"]


def test_a_reboot_is_an_event_and_counted(rig: Rig) -> None:
    rig.poll()
    rig.agents[OTHER].boot = rig.poller.clock[0] + 10  # rebooted between the polls: sysUpTime back to 20 s
    rig.poll()
    assert ("device", OTHER, "reboot") in rig.history.events
    assert rig.monitor.reboots[OTHER] == 1


def test_trap_stats_is_a_declared_field(rig: Rig) -> None:
    assert rig.monitor.trap_stats is None
    rig.monitor.trap_stats = lambda: {"accepted": 1}
    assert rig.monitor.trap_stats() == {"accepted": 1}


# ------------------------------------------------------------------------------------------ restarts
def _announced(rig: Rig) -> list[tuple[str, str, datetime]]:
    said: list[tuple[str, str, datetime]] = []
    rig.monitor.listeners.append(lambda what, inc, at: said.append((what, inc.key, inc.started_at)))
    return said


def test_an_outage_open_at_restart_keeps_its_start_and_is_not_announced_again(rig: Rig) -> None:
    """The previous run opened (and announced) it: the same outage goes on, from its stored start."""
    stored = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    key = f"device:{DISTRICT}"
    rig.history.open[key] = OpenOutage(key, stored, frozenset(), "device_down", "old title", None, adopted=True)
    said = _announced(rig)
    rig.monitor.ready = True
    for dev in (DISTRICT, TOWN, COMMUNE):
        rig.agents[dev].alive = False
    rig.poll()
    rig.poll([CORE, DISTRICT, TOWN, COMMUNE])
    assert rig.state(DISTRICT) is State.DOWN
    assert rig.monitor.incidents[key].started_at == stored  # /metrics and the webhook say the stored start
    assert [i.key for i in rig.history.opened] == [key]  # the history adopts the row …
    assert said == []  # … and nobody is paged a second time
    rig.poll()  # still down: later passes keep the stored start too
    assert rig.monitor.incidents[key].started_at == stored and said == []
    for dev in (DISTRICT, TOWN, COMMUNE):
        rig.agents[dev].alive = True
    rig.poll()
    assert said == [("closed", key, stored)]  # one "resolved", with the stored start


def test_an_outage_that_ended_while_netmon_was_away_closes_at_the_first_poll_that_sees_it_up(rig: Rig) -> None:
    stored = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    key = f"device:{COMMUNE}"
    rig.history.open[key] = OpenOutage(key, stored, frozenset(), "device_down", "xã mất kết nối", None, adopted=True)
    rig.history.gap_start = datetime(2026, 12, 1, 8, 5, tzinfo=UTC)
    said = _announced(rig)
    rig.poll()  # the start-up sweep: everything answers
    rig.monitor.close_stale_adopted(datetime.now(UTC))
    first_up = rig.monitor.health.devices[COMMUNE].since
    assert rig.history.adopted_closed == {key: first_up}  # the first poll after start, not the last heartbeat
    assert said == [("closed", key, stored)]


def test_a_cluster_poller_that_owns_nothing_yet_keeps_no_state_and_closes_no_one_elses_outage(rig: Rig) -> None:
    """Before its first beat a cluster's poller owns nothing: it judges nothing and keeps no per-device state,
    and an outage open in the database is the owner's to close — not "ended" because this poller has no
    record of its object."""
    from netmon.cluster.assign import Scope

    key = f"device:{COMMUNE}"
    stored = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    rig.history.open[key] = OpenOutage(key, stored, frozenset(), "device_down", "xã mất kết nối", None, adopted=True)
    rig.monitor.scope_to(Scope())
    assert rig.monitor.judged.nodes == {} and rig.monitor.health.devices == {}
    rig.monitor.close_stale_adopted(datetime.now(UTC))
    assert rig.history.adopted_closed == {} and key in rig.history.open


# ---------------------------------------------------------------------------------------- link lingers
def test_a_link_incident_closes_a_linger_after_the_link_came_back_without_waiting_for_a_poll(rig: Rig) -> None:
    """Back up, the link's incident stays open for ``link_linger_s`` (a bounce within it is the same incident),
    counted from the poll that saw it back; then a timer judges again and closes it: no poll needed."""
    m = rig.monitor
    m.link_linger_s = 0.4
    said = _announced(rig)

    async def scenario() -> tuple[bool, float]:
        for oper in (1, 2, 1):
            rig.agents[DISTRICT].oper = oper
            rig.poller.clock[0] = time.time()  # the agents' clock on the monitor's: the linger counts from it
            await m.poll_batch(list(m.by_id))
        lingering = "link:core-cau-ngang" in m.incidents
        back = m.health.links["core-cau-ngang"].last_change_at
        assert back is not None
        await asyncio.sleep(0.8)
        return lingering, back.timestamp()

    lingering, back = asyncio.run(scenario())
    assert lingering, "still open right after the link came back"
    assert rig.monitor.incidents == {}
    assert [(w, k) for w, k, _ in said] == [("opened", "link:core-cau-ngang"), ("closed", "link:core-cau-ngang")]
    assert [i.key for i in rig.history.closed] == [] and list(rig.history.adopted_closed) == ["link:core-cau-ngang"]
    assert rig.history.adopted_closed["link:core-cau-ngang"].timestamp() == pytest.approx(back)  # ended: when back


# ------------------------------------------------------------------------------------- netmon cut off
@dataclass
class FakePath:
    ok: bool = True
    reason: str = "no_carrier"
    interface: str | None = "eth0"
    target: str | None = "127.10.0.1"

    def probe(self) -> FakePath:
        return replace(self, reason="" if self.ok else self.reason)


def test_netmon_cut_off_is_one_incident_everything_unknown_and_open_outages_held(rig: Rig) -> None:
    path = FakePath()
    rig.monitor.path = path
    said = _announced(rig)
    rig.poll()
    assert rig.monitor.health.path.state is State.UP
    rig.agents[COMMUNE].alive = False
    rig.poll()
    rig.poll([CORE, DISTRICT, COMMUNE])
    commune = f"device:{COMMUNE}"
    assert set(rig.monitor.incidents) == {commune}
    started = rig.monitor.incidents[commune].started_at

    path.ok = False  # the monitor's cable is pulled: every poll fails
    for agent in rig.agents.values():
        agent.alive = False
    rig.poll()  # one broken look: not enough, and these failures say nothing about the devices
    assert rig.monitor.health.path.state is State.UP and rig.monitor.health.path.failures == 1
    assert rig.state(CORE) is State.UP and set(rig.monitor.incidents) == {commune}
    assert rig.monitor._confirming >= {CORE}, "the path is looked at again soon"
    rig.poll()
    rig.poll()
    m = rig.monitor
    assert m.health.path.state is State.DOWN
    calls = len(rig.poller.calls)
    rig.poll()
    assert len(rig.poller.calls) == calls, "cut off: nothing is polled, only the path is looked at"
    assert {h.state for h in (*m.health.devices.values(), *m.health.base_stations.values())} == {State.UNKNOWN}
    assert set(m.health.links.values()) and {lh.state for lh in m.health.links.values()} == {State.UNKNOWN}
    assert set(m.incidents) == {"netmon:path", commune}, "one cut-off incident; the open outage is not over"
    cut = m.incidents["netmon:path"]
    assert cut.kind.value == "monitor_cut_off" and "eth0 mất tín hiệu" in cut.title and "no carrier" in cut.summary

    path.ok = True  # back; the commune is still dead
    for dev, agent in rig.agents.items():
        agent.alive = dev != COMMUNE
    rig.poll()
    assert rig.state(CORE) is State.UP and rig.state(COMMUNE) is State.UNKNOWN
    assert set(m.incidents) == {commune}, "not seen failing enough yet: held, not closed"
    rig.poll()
    assert rig.state(COMMUNE) is State.DOWN and set(m.incidents) == {commune}
    assert m.incidents[commune].started_at == started, "the same outage, from its first start"
    rig.agents[COMMUNE].alive = True
    rig.poll()
    assert m.incidents == {}
    assert [(w, k) for w, k, _ in said] == [("opened", commune), ("opened", "netmon:path"),
                                            ("closed", "netmon:path"), ("closed", commune)]
    assert [i.key for i in rig.history.opened] == [commune, "netmon:path"]


def test_a_device_fine_after_the_cut_off_ends_its_held_outage(rig: Rig) -> None:
    path = FakePath()
    rig.monitor.path = path
    rig.poll()
    rig.agents[COMMUNE].alive = False
    rig.poll()
    rig.poll([CORE, DISTRICT, COMMUNE])
    path.ok = False
    rig.poll()
    rig.poll()
    assert set(rig.monitor.incidents) == {"netmon:path", f"device:{COMMUNE}"}
    path.ok = True
    rig.agents[COMMUNE].alive = True  # it came back while netmon could not see
    rig.poll()
    assert rig.monitor.incidents == {}
    assert sorted(i.key for i in rig.history.closed) == [f"device:{COMMUNE}", "netmon:path"]
