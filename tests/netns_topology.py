"""A small real WAN in network namespaces: noc ↔ core ↔ district ↔ 3 communes, net-snmp ``snmpd`` in each router.

Shared by ``tests/integration/outages`` and ``bench/detection.py``. Needs root, ``ip`` (iproute2) and net-snmp.

Why a "noc" namespace for netmon (not the root namespace): every address (10.250.x.y) lives only inside
namespaces we create and delete, so nothing is added to the host's routing table. netmon reaches each
router's management address *through* the topology, exactly like in the province::

    noc ─noc0──core-noc─ core ─core-dist──dist-up─ district ─dist-c1──c1-up─ commune 1
    10.250.0.1   10.250.0.2       10.250.1.1  10.250.1.2     ─dist-c2──c2-up─ commune 2 (10.250.12.2)
                                                              ─dist-c3──c3-up─ commune 3 (10.250.13.2)

A router's management address is the address of its uplink interface (the one facing its parent), so its
traps leave from that address, and core/district forward (``ip_forward=1``) with static routes. Hence:

* ``uplink_down(commune)`` sets the commune's end of its uplink veth down: the commune is really
  unreachable (SNMP and ICMP) and the district's veth end towards it really loses carrier, so the district's
  snmpd reports that interface oper-down (ifOperStatus 2);
* ``isolate(router)`` replaces the router's default route by a blackhole: it no longer answers nor forwards
  anything towards the noc — a hung/dead router at the end of a provider circuit, whose port on the parent
  stays up — so everything behind it is really unreachable too; ``restore(router)`` puts the route back;
* ``restart_agent(router)`` restarts its snmpd: sysUpTime starts again from 0 and a coldStart trap goes out,
  what netmon sees of a reboot;
* ``cut_monitor()`` takes netmon's own link down (``noc0`` in the noc namespace: its routes go with it), or,
  ``how="carrier"``, the core's end of it (``noc0`` stays up without carrier); ``restore_monitor()``.
* ``stop_agent(router)`` kills its snmpd (by PID): the router still routes and answers ping, only SNMP is
  gone (a crashed agent); ``start_agent(router)`` starts it again.

In-process monitors run in the noc namespace with :meth:`NetnsWan.run_in_noc` (a thread that ``setns``-es
there, so the caller's thread never changes namespace); subprocesses with :meth:`NetnsWan.exec_prefix`.

Each snmpd: community from ``COMMUNITY_ENV``; ``trap2sink`` to the noc's trap port; linkUp/linkDown
notifications from the DisMan event MIB checked every second (``monitor -S -r 1``; the stock
``linkUpDownNotifications yes`` checks only every 60 s); and its ifTable cache (3 s by default) set to 0
through NET-SNMP-AGENT-MIB ``nsCacheTimeout`` (a write community limited to that subtree and to the
namespace's own 127.0.0.1), so ifOperStatus is current at every poll, as on a real router.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy import Engine, select

from netmon.health.incidents import Incident
from netmon.health.states import Params
from netmon.inventory.load import load_inventory
from netmon.service import Service
from netmon.settings import Settings
from netmon.store import models as m
from netmon.store import sync as syncer
from netmon.store.db import make_engine, upgrade

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
COMMUNITY_ENV = "NETMON_TOPO_COMMUNITY"
TRAP_PORT = 1162
NOC_ADDR = "10.250.0.1"
LINK_DOWN_OID = "1.3.6.1.6.3.1.1.5.3"
LINK_UP_OID = "1.3.6.1.6.3.1.1.5.4"
IF_INDEX, IF_ADMIN, IF_OPER = "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.7", "1.3.6.1.2.1.2.2.1.8"
NS_CACHE_TIMEOUT_IFTABLE = "1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2"
MINI_UNITS = Path(__file__).parent / "fixtures" / "inventory" / "mini" / "units.yaml"


@dataclass(frozen=True)
class Router:
    """One router namespace: its inventory record and its interfaces (names as snmpd reports them)."""

    key: str  # short name: core, dist, c1, c2, c3
    device_id: str
    site_id: str
    mgmt: str
    uplink_if: str | None  # own interface towards the parent (None for the core's noc side: see below)
    parent: str | None  # key of the parent router
    parent_if: str | None  # the parent's interface towards this router


ROUTERS: tuple[Router, ...] = (
    Router("core", "rt-core", "so-tttt", "10.250.0.2", None, None, None),
    Router("dist", "rt-cau-ngang", "ubnd-cau-ngang", "10.250.1.2", "dist-up", "core", "core-dist"),
    Router("c1", "rt-tt-cau-ngang", "ubnd-tt-cau-ngang", "10.250.11.2", "c1-up", "dist", "dist-c1"),
    Router("c2", "rt-my-long-bac", "ubnd-my-long-bac", "10.250.12.2", "c2-up", "dist", "dist-c2"),
    Router("c3", "rt-du-my-long-bac", "du-my-long-bac", "10.250.13.2", "c3-up", "dist", "dist-c3"),
)
BY_KEY = {r.key: r for r in ROUTERS}
COMMUNES = ("c1", "c2", "c3")

SITES: list[dict[str, Any]] = [
    {"id": "so-tttt", "name": "Sở Thông tin và Truyền thông", "kind": "state", "level": "province",
     "lat": 9.9347, "lon": 106.3453},
    {"id": "ubnd-cau-ngang", "name": "UBND Huyện Cầu Ngang", "kind": "state", "level": "district",
     "district": "848", "lat": 9.7875, "lon": 106.4489, "uplink": "so-tttt"},
    {"id": "ubnd-tt-cau-ngang", "name": "UBND Thị trấn Cầu Ngang", "kind": "state", "level": "commune",
     "district": "848", "commune": "29416", "lat": 9.7919, "lon": 106.4494, "uplink": "ubnd-cau-ngang"},
    {"id": "ubnd-my-long-bac", "name": "UBND xã Mỹ Long Bắc", "kind": "state", "level": "commune",
     "district": "848", "commune": "29422", "lat": 9.8193, "lon": 106.4936, "uplink": "ubnd-cau-ngang"},
    {"id": "du-my-long-bac", "name": "Đảng ủy xã Mỹ Long Bắc", "kind": "party", "level": "commune",
     "district": "848", "commune": "29422", "lat": 9.8190, "lon": 106.4930, "uplink": "ubnd-cau-ngang"},
]
GATEWAY = {"dist": "10.250.1.1", **{c: f"10.250.1{n}.1" for n, c in enumerate(COMMUNES, start=1)}}
"""Each router's default gateway: its parent's address on their shared link."""
ROLES = {"core": "core", "dist": "district", "c1": "access", "c2": "access", "c3": "access"}


def link_id(child: str) -> str:
    """Inventory id of the uplink of router ``child`` (e.g. ``uplink-c1``)."""
    return f"uplink-{child}"


def missing_tools() -> str | None:
    """Why this topology cannot be built here (None when it can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "snmpd", "snmpget", "snmpset", "snmptrap"):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian packages iproute2, snmpd, snmp)"
    return None


def _run(*cmd: str, check: bool = True, timeout: float = 10, input: str | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, input=input)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies (even by SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@dataclass
class NetnsWan:
    """Build with :meth:`start` (or ``with NetnsWan(...) as wan``); :meth:`close` always cleans up."""

    workdir: Path
    trap_port: int = TRAP_PORT
    community: str = field(default_factory=lambda: "topo-" + secrets.token_hex(6))
    prefix: str = field(default_factory=lambda: f"nmt{os.getpid() % 100000}{secrets.token_hex(2)}")
    namespaces: list[str] = field(default_factory=list)
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _rw_community: str = field(default_factory=lambda: "rw-" + secrets.token_hex(8))
    _isolated: set[str] = field(default_factory=set)
    _down: set[str] = field(default_factory=set)
    _monitor_cut: bool = False
    _spawner: ThreadPoolExecutor | None = None
    _stopped: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ names
    def ns(self, key: str) -> str:
        return f"{self.prefix}-{key}"

    @property
    def noc(self) -> str:
        return self.ns("noc")

    def exec_prefix(self, key: str = "noc") -> list[str]:
        return ["ip", "netns", "exec", self.ns(key)]

    def env(self) -> dict[str, str]:
        """Environment for netmon: the community the inventory refers to."""
        return {COMMUNITY_ENV: self.community}

    # --------------------------------------------------------------- building
    def __enter__(self) -> NetnsWan:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, timeout_s: float = 20.0) -> None:
        try:
            self._build()
            for r in ROUTERS:
                self._start_agent(r)
            self.wait_reachable([r.key for r in ROUTERS], timeout_s)
            for r in ROUTERS:
                self._no_iftable_cache(r.key)
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        for key in ("noc", *(r.key for r in ROUTERS)):
            _run("ip", "netns", "add", self.ns(key))
            self.namespaces.append(self.ns(key))
            _run("ip", "-n", self.ns(key), "link", "set", "lo", "up")
        # noc <-> core
        self._veth("noc", "noc0", "10.250.0.1/30", "core", "core-noc", "10.250.0.2/30")
        self.ip("noc", "route", "add", "default", "via", "10.250.0.2")
        # core <-> district
        self._veth("core", "core-dist", "10.250.1.1/30", "dist", "dist-up", "10.250.1.2/30")
        self.ip("core", "route", "add", "10.250.8.0/21", "via", "10.250.1.2")
        self.ip("dist", "route", "add", "default", "via", "10.250.1.1")
        # district <-> communes
        for n, key in enumerate(COMMUNES, start=1):
            net = f"10.250.1{n}"
            self._veth("dist", f"dist-{key}", f"{net}.1/30", key, f"{key}-up", f"{net}.2/30")
            self.ip(key, "route", "add", "default", "via", f"{net}.1")
        for key in ("core", "dist"):
            self.sh(key, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

    def _veth(self, a: str, a_if: str, a_addr: str, b: str, b_if: str, b_addr: str) -> None:
        # Created directly inside the namespaces: no name is ever added to the root namespace.
        _run("ip", "-n", self.ns(a), "link", "add", a_if, "type", "veth", "peer", "name", b_if,
             "netns", self.ns(b))
        for key, ifname, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            self.ip(key, "addr", "add", addr, "dev", ifname)
            self.ip(key, "link", "set", ifname, "up")

    def _start_agent(self, r: Router, *, again: bool = False) -> None:
        """Write router ``r``'s snmpd.conf and start its snmpd; ``again``: start it with the config it had (its
        internal user's key is kept in the persistent dir: a new one would break its DisMan traps)."""
        d = self.workdir / f"snmpd-{r.key}"
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "snmpd.conf"
        if not again:
            self._write_config(r, conf)
        log = open(d / "snmpd.log", "ab" if again else "wb")  # noqa: SIM115 - owned by the process record below
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(d / "persist")}
        # PR_SET_PDEATHSIG fires when the *thread* that started it ends: only for the main thread (an agent
        # restarted from a scenario's thread is stopped by close(), by PID, like the others)
        main = threading.current_thread() is threading.main_thread()
        proc = subprocess.Popen(
            [*self.exec_prefix(r.key), "snmpd", "-f", "-Lo", "-C", "-c", str(conf), "-m", "", "-I", "-smux",
             "udp:161"], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            preexec_fn=_die_with_parent if main else None)
        log.close()
        self.agents[r.key] = proc  # `ip netns exec` execs snmpd: this PID is snmpd's

    def _write_config(self, r: Router, conf: Path) -> None:
        conf.write_text("\n".join([
            f"rocommunity {self.community} default",
            f"rwcommunity {self._rw_community} 127.0.0.1 .1.3.6.1.4.1.8072.1.5.3",
            f"sysName {r.device_id}",
            f"sysLocation {r.site_id}",
            "sysContact noc@travinh.example",
            "dontLogTCPWrappersConnects yes",
            f"createUser netmonInternal SHA {secrets.token_hex(12)}",
            "rouser netmonInternal",
            "iquerySecName netmonInternal",
            "agentSecName netmonInternal",
            f"trap2sink {NOC_ADDR}:{self.trap_port} {self.community}",
            f"notificationEvent nmLinkUp {LINK_UP_OID} {IF_INDEX} {IF_ADMIN} {IF_OPER}",
            f"notificationEvent nmLinkDown {LINK_DOWN_OID} {IF_INDEX} {IF_ADMIN} {IF_OPER}",
            f'monitor -S -r 1 -e nmLinkUp "linkUp" {IF_OPER} != 2',
            f'monitor -S -r 1 -e nmLinkDown "linkDown" {IF_OPER} == 2',
            "",
        ]), encoding="utf-8")

    def _no_iftable_cache(self, key: str, timeout_s: float = 5.0) -> None:
        """ifOperStatus current at every request (snmpd caches ifTable 3 s by default). Asked inside the router's
        own namespace (127.0.0.1), so it works whatever the path from the noc."""
        deadline = time.monotonic() + timeout_s
        while True:
            out = self.sh(key, "snmpset", "-v2c", "-c", self._rw_community, "-m", "", "-r", "1", "-t", "1",
                          "127.0.0.1", NS_CACHE_TIMEOUT_IFTABLE, "i", "0", check=time.monotonic() > deadline)
            if out:
                return
            time.sleep(0.1)

    def restart_agent(self, key: str) -> float:
        """Restart router ``key``'s snmpd (a reboot, as SNMP sees it: sysUpTime from 0, a coldStart trap).
        Returns the time.time() the new agent answered in its namespace."""
        proc = self.agents.pop(key)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        # Started from a thread that lives as long as the WAN: the agent dies with the thread that started it
        # (PR_SET_PDEATHSIG), and the caller may be a scenario's thread that ends before the WAN is closed.
        if self._spawner is None:
            self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netns-spawner")
        self._spawner.submit(self._start_agent, BY_KEY[key], again=True).result(timeout=30)
        self._no_iftable_cache(key)
        return time.time()

    def wait_reachable(self, keys: list[str], timeout_s: float = 20.0) -> None:
        """Until every router in ``keys`` answers SNMP from the noc (through the topology)."""
        deadline = time.monotonic() + timeout_s
        pending = list(keys)
        while pending and time.monotonic() < deadline:
            key = pending[0]
            proc = self.agents.get(key)
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"snmpd in {key} exited: {self.agent_log(key)[-1000:]}")
            if self.snmp_get(key, "1.3.6.1.2.1.1.5.0") is not None:
                pending.pop(0)
            else:
                time.sleep(0.1)
        if pending:
            raise RuntimeError(f"not reachable from the noc after {timeout_s} s: {pending}")

    def agent_log(self, key: str) -> str:
        path = self.workdir / f"snmpd-{key}" / "snmpd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --------------------------------------------------------------- cleanup
    def close(self) -> None:
        """Stop our snmpd processes (by PID) and delete our namespaces; safe to call twice."""
        for proc in self.agents.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.agents.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.agents.clear()
        if self._spawner is not None:
            self._spawner.shutdown(wait=True)
            self._spawner = None
        for name in reversed(self.namespaces):
            _run("ip", "netns", "del", name, check=False)
        self.namespaces.clear()

    # ------------------------------------------------------------- commands
    def ip(self, key: str, *args: str) -> str:
        return _run("ip", "-n", self.ns(key), *args)

    def sh(self, key: str, *cmd: str, check: bool = True) -> str:
        return _run(*self.exec_prefix(key), *cmd, check=check)

    def snmp_get(self, key: str, oid: str) -> str | None:
        """GET ``oid`` from router ``key``'s management address, from the noc (None: no answer)."""
        proc = subprocess.run(
            [*self.exec_prefix("noc"), "snmpget", "-v2c", "-c", self.community, "-m", "", "-Oqv", "-r", "0",
             "-t", "0.5", BY_KEY[key].mgmt, oid], capture_output=True, text=True, timeout=10, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def if_index(self, key: str, ifname: str) -> int:
        info = json.loads(self.ip(key, "-j", "link", "show", "dev", ifname))
        return int(info[0]["ifindex"])

    def uplink_down(self, child: str) -> None:
        """Set router ``child``'s end of its uplink veth down (the parent's end loses carrier)."""
        self.ip(child, "link", "set", BY_KEY[child].uplink_if or "", "down")
        self._down.add(child)

    def uplink_up(self, child: str) -> None:
        self.ip(child, "link", "set", BY_KEY[child].uplink_if or "", "up")
        if child not in self._isolated:  # admin-down removed the routes through it: put the default back
            self.ip(child, "route", "replace", "default", "via", GATEWAY[child])
        self._down.discard(child)

    def isolate(self, key: str) -> None:
        """Take router ``key`` off the network: it answers nothing and forwards nothing towards the noc."""
        self.ip(key, "route", "replace", "blackhole", "default")
        self._isolated.add(key)

    def restore(self, key: str) -> None:
        self.ip(key, "route", "replace", "default", "via", GATEWAY[key])
        self._isolated.discard(key)

    def cut_monitor(self, how: str = "interface") -> None:
        """netmon's own path gone: ``interface`` sets ``noc0`` down (the kernel drops its routes), ``carrier``
        sets the core's end down (``noc0`` stays up, without carrier; its routes stay)."""
        if how == "interface":
            self.ip("noc", "link", "set", "noc0", "down")
        elif how == "carrier":
            self.ip("core", "link", "set", "core-noc", "down")
        else:
            raise ValueError(how)
        self._monitor_cut = True

    def restore_monitor(self) -> None:
        self.ip("core", "link", "set", "core-noc", "up")
        self.ip("noc", "link", "set", "noc0", "up")
        self.ip("noc", "route", "replace", "default", "via", "10.250.0.2")  # dropped with the link
        self._monitor_cut = False

    def stop_agent(self, key: str) -> None:
        """Kill router ``key``'s snmpd (SIGKILL, by PID): it routes on and answers ping, SNMP is gone."""
        proc = self.agents[key]
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        self._stopped.add(key)

    def start_agent(self, key: str, timeout_s: float = 15.0) -> None:
        """Start router ``key``'s snmpd again (its config and persistent dir are kept)."""
        self._start_agent(BY_KEY[key], again=True)
        self.wait_reachable([key], timeout_s)
        self._no_iftable_cache(key)
        self._stopped.discard(key)

    def reset(self, timeout_s: float = 15.0) -> None:
        """Everything back up and reachable (between tests)."""
        if self._monitor_cut:
            self.restore_monitor()
        for key in list(self._isolated):
            self.restore(key)
        for key in list(self._down):
            self.uplink_up(key)
        for key in list(self._stopped):
            self.start_agent(key, timeout_s)
        self.wait_reachable([r.key for r in ROUTERS], timeout_s)

    def send_link_trap(self, key: str, ifname: str, down: bool = True) -> float:
        """``snmptrap`` linkDown/linkUp for ``ifname`` from router ``key``'s namespace (so from its mgmt
        address: the route to the noc leaves through its uplink). Returns the time.time() it was sent."""
        idx = self.if_index(key, ifname)
        oper = "2" if down else "1"
        at = time.time()
        self.sh(key, "snmptrap", "-v2c", "-c", self.community, "-m", "", f"{NOC_ADDR}:{self.trap_port}", "",
                LINK_DOWN_OID if down else LINK_UP_OID, f"{IF_INDEX}.{idx}", "i", str(idx),
                f"{IF_ADMIN}.{idx}", "i", "1", f"{IF_OPER}.{idx}", "i", oper)
        return at

    # ------------------------------------------------------ running in noc
    @contextlib.contextmanager
    def _entered(self, key: str) -> Iterator[None]:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.ns(key)}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)

    def run_in_noc(self, factory: Callable[[], Coroutine[Any, Any, T]], timeout_s: float = 120.0) -> T:
        """Run ``asyncio.run(factory())`` in a thread inside the noc namespace; return or raise its result.

        Every socket the coroutine opens (SNMP, ICMP, the trap receiver) is in the noc namespace.
        """
        box: dict[str, Any] = {}

        def body() -> None:
            try:
                with self._entered("noc"):
                    box["result"] = asyncio.run(factory())
            except BaseException as exc:
                box["error"] = exc

        thread = threading.Thread(target=body, name="netmon-in-noc", daemon=True)
        thread.start()
        thread.join(timeout_s)
        if thread.is_alive():
            raise TimeoutError(f"scenario in the noc namespace still running after {timeout_s} s")
        if "error" in box:
            raise box["error"]
        result: T = box["result"]
        return result

    # ------------------------------------------------------------ inventory
    def write_inventory(self, dest: Path, *, timeout_s: float = 1.0, retries: int = 0) -> Path:
        """The inventory of this topology (YAML files in ``dest``), units and bbox from the mini fixture."""
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(MINI_UNITS, dest / "units.yaml")
        devices = []
        for r in ROUTERS:
            interfaces = []
            if r.uplink_if:
                interfaces.append({"name": r.uplink_if, "role": "uplink", "circuit": f"VNPT-TVH-{r.key.upper()}",
                                   "provider": "VNPT", "bandwidth_mbps": 100})
            interfaces += [{"name": c.parent_if, "role": "downlink"} for c in ROUTERS if c.parent == r.key]
            devices.append({"id": r.device_id, "site": r.site_id, "mgmt": r.mgmt, "role": ROLES[r.key],
                            "platform": "linux", "model": "net-snmp snmpd in a netns", "snmp_profile": "v2-topo",
                            "interfaces": interfaces})
        links = [
            {"id": link_id(r.key), "a": {"device": r.device_id, "interface": r.uplink_if},
             "b": {"device": BY_KEY[r.parent].device_id, "interface": r.parent_if},
             "circuit": f"VNPT-TVH-{r.key.upper()}", "provider": "VNPT", "bandwidth_mbps": 100}
            for r in ROUTERS if r.parent is not None
        ]
        profiles = [{"name": "v2-topo", "version": "2c", "community": f"env:{COMMUNITY_ENV}",
                     "timeout_s": timeout_s, "retries": retries}]
        for name, body in (("sites", {"sites": SITES}), ("devices", {"devices": devices}),
                           ("links", {"links": links}), ("profiles", {"snmp_profiles": profiles})):
            (dest / f"{name}.yaml").write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False),
                                               encoding="utf-8")
        return dest


# ------------------------------------------------------------------ netmon against it
@dataclass
class Opened:
    """An incident transition as the monitor reported it, with the wall-clock time it happened."""

    what: str  # opened / closed
    incident: Incident
    at: float


@dataclass
class Rig:
    """A topology with its inventory and database: starts netmon services against it."""

    wan: NetnsWan
    inventory: Path
    db_url: str
    tmp: Path
    log: list[Opened] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "database_url": self.db_url, "router_interval_s": 4.0, "slices": 1, "confirm_after_s": 1.0,
            "icmp": True, "icmp_count": 2, "listen": "", "trap_listen": f"{NOC_ADDR}:{self.wan.trap_port}",
            "heartbeat_s": 1.0,
        }
        return Settings(**{**base, **overrides})

    def engine(self) -> Engine:
        engine = make_engine(self.db_url)
        upgrade(engine)
        return engine

    @contextlib.asynccontextmanager
    async def service(self, params: Params | None = None, **overrides: Any) -> AsyncIterator[Service]:
        """A started netmon Service (scheduler, traps, history) for this topology; call inside the noc."""
        inv = load_inventory(self.inventory)
        engine = self.engine()
        plan = syncer.plan(engine, inv)
        if not plan.empty:
            syncer.apply(engine, plan)
        svc = Service(self.settings(**overrides), inv, engine)
        if params is not None:
            svc.monitor.params = params

        def record(what: str, incident: Incident, _at: datetime) -> None:
            self.log.append(Opened(what, incident, time.time()))

        svc.monitor.listeners.append(record)
        try:
            await svc.start()
            yield svc
        finally:
            await svc.stop()
            engine.dispose()

    def outages(self) -> list[Any]:
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                table = m.Outage.__table__  # type: ignore[attr-defined]
                return list(conn.execute(select(table).order_by(table.c.id)))
        finally:
            engine.dispose()

    def events(self, kind: str | None = None) -> list[Any]:
        table = m.Event.__table__  # type: ignore[attr-defined]
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                query = select(table).order_by(table.c.id)
                if kind is not None:
                    query = query.where(table.c.kind == kind)
                return list(conn.execute(query))
        finally:
            engine.dispose()


async def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.05) -> float:
    """Poll ``predicate`` until true (bounded); the seconds it took. Fails the test with ``what`` otherwise."""
    start = time.monotonic()
    deadline = start + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic() - start
        await asyncio.sleep(step_s)
    if predicate():
        return time.monotonic() - start
    raise AssertionError(f"timed out after {timeout_s} s waiting for: {what}")
