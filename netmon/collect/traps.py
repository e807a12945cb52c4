"""SNMP notifications (traps and informs, v1/v2c/v3) received in-process with pysnmp 7 on asyncio.

Why in-process: a trap only *triggers* an immediate targeted re-poll of its device — the state changes on
the evidence of that poll, never on the trap alone — so the receiver just has to say quickly and reliably
*which* device spoke and about what. It listens on 127.0.0.1:1162 by default (unprivileged); give
``host``/``port`` to listen elsewhere (e.g. ``0.0.0.0``, 162).

Who sent it: the UDP source address, mapped to a device through the inventory's targets. Traps from other
addresses are counted and dropped before pysnmp decodes anything. Credentials must be *that* device's:

* v1/v2c: every community of a v1/v2c profile is configured in pysnmp; an unknown community is rejected
  by pysnmp (snmpInBadCommunityNames), another device's community by :class:`TrapReceiver` itself.
* v3 traps: the sender is the authoritative engine, so USM needs the user's keys localized to the *sender's*
  engine id, and pysnmp 7 only looks users up by exact (engine id, user) — it clones/localizes for outgoing
  requests, never for incoming ones. Engine ids are therefore learned at runtime: before pysnmp sees a v3
  message from a known v3 device, its header's engine id and user name are read and, if new and the user is
  that device's, the device's keys are localized to that engine id (master keys are hashed once at start,
  so this costs one hash). The message is then authenticated and decrypted by pysnmp as usual — learning
  an engine id grants nothing without the keys. At most ``MAX_ENGINE_IDS_PER_DEVICE`` are kept per device
  (oldest evicted) so spoofed packets cannot grow the table. Pass ``engine_ids`` to pin a device's engine
  id instead (no learning for that device). An engine id learned for one device is refused from another.
* v3 informs: the receiver is authoritative, so keys are localized to our own engine id; that only works
  for user names whose credentials are the same on every device (one USM row per user name and engine).
  The discovery/time-sync round trips of an inform count in ``dropped_other``.
* The security level must be at least the profile's (a noAuthNoPriv message naming a user with keys would
  otherwise pass pysnmp's USM as a non-authoritative receiver).

Trap storms (a flapping port, a confused agent, a spoofer with the community): every known source has a
token bucket (``RATE_PER_SOURCE`` per second, bursts of ``BURST_PER_SOURCE``) and all sources share one
(``RATE_TOTAL``/``BURST_TOTAL``), checked *before* pysnmp decodes anything, so a storm costs a dictionary
lookup per datagram beyond the limit. Datagrams over the limit are counted (``dropped_other["rate_limited"]``)
and a storm is logged once when it starts and once when it is over, with the count. A trap is only a hint (a
re-poll, itself coalesced by the service), so dropping the excess loses no judgement.

Every datagram ends in exactly one counter. No secret is logged or put in an exception: communities and keys
are revealed only when handed to pysnmp's configuration, and pysnmp errors are reported by class name only.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import logging
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from netmon.collect.target import Target
from netmon.collect.v3 import AUTH_PROTOCOLS, PRIV_PROTOCOLS
from netmon.mib import IF_ADMIN_STATUS, IF_INDEX, IF_OPER_STATUS, SYS_UPTIME, Oid, format_oid
from netmon.secrets import Secret

__all__ = ["DEFAULT_PORT", "MAX_ENGINE_IDS_PER_DEVICE", "Trap", "TrapKind", "TrapReceiver"]

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 1162
MAX_ENGINE_IDS_PER_DEVICE: Final = 4
RCVBUF_BYTES: Final = 4 << 20  # a core link failing makes dozens of devices trap at once
RATE_PER_SOURCE: Final = 10.0
BURST_PER_SOURCE: Final = 64.0
"""A rebooting router sends coldStart and a linkUp per port at once: room for two dozen ports twice over."""
RATE_TOTAL: Final = 500.0
"""Datagrams per second pysnmp decodes at most, from all sources together (~0.2-0.5 ms of CPU each)."""
BURST_TOTAL: Final = 2000.0

TrapKind = Literal["link_down", "link_up", "cold_start", "warm_start", "other"]

SNMP_TRAP_OID: Final[Oid] = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
_SNMP_TRAPS: Final[Oid] = (1, 3, 6, 1, 6, 3, 1, 1, 5)
KINDS: Final[Mapping[Oid, TrapKind]] = {
    (*_SNMP_TRAPS, 1): "cold_start",
    (*_SNMP_TRAPS, 2): "warm_start",
    (*_SNMP_TRAPS, 3): "link_down",
    (*_SNMP_TRAPS, 4): "link_up",
}

# inventory protocol names -> pysnmp constant names: shared with the poller's SNMPv3 path
_AUTH, _PRIV = AUTH_PROTOCOLS, PRIV_PROTOCOLS
# pysnmp security-failure indications (by class name) that mean "wrong or foreign credentials"
_CREDENTIAL_FAILURES: Final = {
    "UnknownCommunityName": "unknown community",
    "AuthenticationFailure": "wrong v3 auth key",
    "WrongDigest": "wrong v3 auth key",
    "UnknownSecurityName": "unknown v3 user or engine id",
    "UnknownUserName": "unknown v3 user or engine id",
    "DecryptionError": "wrong v3 privacy key",
    "UnsupportedSecurityLevel": "v3 security level not allowed",
}
_SM_FAILURE_POINTS: Final = ("rfc2576.prepareDataElements:sm-failure", "rfc3412.prepareDataElements:sm-failure")
_RECV_ID: Final = "netmon.traps"


@dataclass(frozen=True, slots=True)
class Trap:
    """One accepted notification, already attributed to an inventory device.

    ``if_index`` comes from an ``ifIndex.N`` varbind, else from the index of an ``ifOperStatus.N`` /
    ``ifAdminStatus.N`` varbind (what linkDown/linkUp carry); ``uptime_ticks`` from ``sysUpTime.0``.
    """

    device_id: str
    source: str
    kind: TrapKind
    trap_oid: str
    if_index: int | None
    uptime_ticks: int | None
    received_at: float


@dataclass(frozen=True, slots=True)
class _V3Header:
    engine_id: bytes
    user: bytes


@dataclass(frozen=True, slots=True)
class _V3Keys:
    """A v3 device's user and protocols with *master* keys (localizing one to an engine id is one hash)."""

    user: str
    auth: Any
    auth_master: bytes | None
    priv: Any
    priv_master: bytes | None
    level: int  # 1 noAuthNoPriv, 2 authNoPriv, 3 authPriv


@dataclass(slots=True)
class _Inbound:
    target: Target
    header: _V3Header | None
    outcome: tuple[str, str] | None = None  # (bucket, reason), set by the pysnmp callbacks


class TrapReceiver:
    """Receives notifications for ``targets`` and calls ``on_trap`` with each accepted :class:`Trap`.

    ``on_trap`` runs on the event loop: if it returns an awaitable, that is scheduled as a task (kept until
    done, cancelled by :meth:`stop`), so a re-poll never delays the next trap; a plain function must be quick.

    Counters: ``received`` (datagrams), ``accepted``, ``dropped_unknown_source``, ``dropped_bad_credentials``
    and ``dropped_other`` (reason -> count: malformed, not_a_notification, not_in_time_window, …).
    ``credential_failures`` breaks ``dropped_bad_credentials`` down by reason.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        on_trap: Callable[[Trap], Awaitable[None] | None],
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        engine_ids: Mapping[str, bytes] | None = None,
    ) -> None:
        self._on_trap = on_trap
        self._listen = (str(ipaddress.ip_address(host)), port)
        by_host: dict[str, list[Target]] = {}
        for t in targets:
            by_host.setdefault(t.host, []).append(t)
        self._by_host = {h: ts[0] for h, ts in by_host.items() if len(ts) == 1}
        self._ambiguous = {h for h, ts in by_host.items() if len(ts) > 1}
        if self._ambiguous:
            log.warning(
                "traps from %d addresses shared by several devices cannot be attributed and will be dropped: %s",
                len(self._ambiguous), ", ".join(sorted(self._ambiguous)[:10]),
            )  # fmt: skip
        v3_devices = {t.device_id for t in targets if t.version == "3"}
        unknown = sorted(set(engine_ids or ()) - v3_devices)
        if unknown:
            raise ValueError(f"engine_ids for devices that are not SNMPv3 targets: {', '.join(unknown)}")
        self._pinned = {d: bytes(e) for d, e in (engine_ids or {}).items()}

        self.received = 0
        self.accepted = 0
        self.dropped_unknown_source = 0
        self.dropped_bad_credentials = 0
        self.dropped_other: Counter[str] = Counter()
        self.credential_failures: Counter[str] = Counter()

        self._engine: Any = None
        self._receiver: Any = None
        self._sock: socket.socket | None = None
        self._counters: dict[str, Any] = {}
        self._current: _Inbound | None = None
        self._community_name: dict[str, str] = {}  # device_id -> pysnmp securityName of its community
        self._v3: dict[str, _V3Keys] = {}  # device_id -> keys
        self._engine_owner: dict[bytes, str] = {}  # learned/pinned engine id -> device_id
        self._learned: dict[str, list[bytes]] = {}  # device_id -> engine ids, oldest first
        self._local_engine_id = b""
        self._tasks: set[asyncio.Future[None]] = set()
        self._warned: set[tuple[str, str]] = set()
        self._buckets: dict[str, _Bucket] = {}
        self._total = _Bucket(BURST_TOTAL, RATE_TOTAL)
        self._storms: dict[str, int] = {}  # source -> datagrams dropped since its storm began

    # ------------------------------------------------------------------------------------------ lifecycle
    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port): the real port when constructed with ``port=0``."""
        if self._sock is None:
            return self._listen
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def engine_id(self) -> bytes:
        """Our snmpEngineID: what a v3 *inform* sender must discover (traps use the sender's own)."""
        return self._local_engine_id

    async def start(self) -> None:
        """Bind the port (errors such as EADDRINUSE raise here, as OSError) and start receiving."""
        if self._engine is not None:
            raise RuntimeError("TrapReceiver already started")
        from pysnmp.carrier.asyncio.dgram import udp, udp6
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv

        v6 = ":" in self._listen[0]
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < RCVBUF_BYTES:  # Linux reports double
                log.warning("trap socket receive buffer capped by net.core.rmem_max; a trap storm may lose traps")
            sock.bind(self._listen)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._community_name, self._v3, self._engine_owner, self._learned = {}, {}, {}, {}  # per pysnmp engine
        try:
            eng: Any = engine.SnmpEngine()
            self._engine = eng
            self._local_engine_id = bytes(eng.snmpEngineID.asOctets())
            self._configure_credentials(config)
            transport: Any = (udp6.Udp6AsyncioTransport() if v6 else udp.UdpAsyncioTransport()).open_server_mode(
                sock=sock
            )
            config.add_transport(eng, udp6.DOMAIN_NAME if v6 else udp.DOMAIN_NAME, transport)
            dispatcher = eng.transport_dispatcher
            # Route every datagram through _on_datagram (source check, engine-id learning, accounting),
            # which hands it to pysnmp's message dispatcher itself.
            dispatcher.register_recv_callback(self._on_datagram, _RECV_ID)
            dispatcher.register_routing_callback(lambda *_: _RECV_ID)
            eng.observer.register_observer(self._on_sm_failure, *_SM_FAILURE_POINTS)
            self._receiver = ntfrcv.NotificationReceiver(eng, self._on_notification)
            mib = eng.get_mib_builder()
            for module, name in (
                ("__SNMPv2-MIB", "snmpInASNParseErrs"),
                ("__SNMPv2-MIB", "snmpInBadVersions"),
                ("__SNMP-MPD-MIB", "snmpUnknownPDUHandlers"),
            ):
                (self._counters[name],) = mib.import_symbols(module, name)
            lport = getattr(transport, "_lport", None)  # the endpoint creation pysnmp scheduled
            if isinstance(lport, asyncio.Future):
                await lport
        except BaseException:
            self.stop()
            raise
        log.info("trap receiver listening on %s:%d (%d devices)", *self.address, len(self._by_host))

    def stop(self) -> None:
        """Close the transport and free the port at once; idempotent. Pending ``on_trap`` tasks are cancelled."""
        eng, self._engine = self._engine, None
        if eng is not None:
            try:
                if self._receiver is not None:
                    self._receiver.close(eng)
                eng.observer.unregister_observer(self._on_sm_failure)
                if eng.transport_dispatcher is not None:
                    eng.transport_dispatcher.unregister_routing_callback()
                    eng.close_dispatcher()  # closes the asyncio transport, cancels pysnmp's timer task
            except Exception as exc:  # stopping must not fail half-way; nothing secret in a class name
                log.warning("trap receiver: error while closing pysnmp (%s)", type(exc).__name__)
        self._receiver = None
        if self._sock is not None:
            self._sock.close()  # asyncio closes it only on the next loop iteration; free the port now
            self._sock = None
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    async def __aenter__(self) -> TrapReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------------------------------- credentials
    def _configure_credentials(self, config: Any) -> None:
        eng = self._engine
        names: dict[Secret, str] = {}
        for t in self._by_host.values():
            if t.version in ("1", "2c") and t.community is not None:
                if t.community not in names:
                    names[t.community] = f"netmon-c{len(names) + 1}"
                    config.add_v1_system(eng, names[t.community], t.community.reveal())
                self._community_name[t.device_id] = names[t.community]

        masters: dict[tuple[object, ...], _V3Keys] = {}
        for t in self._by_host.values():
            if t.version != "3" or t.user is None:
                continue
            if t.auth_protocol not in _AUTH or t.priv_protocol not in _PRIV:
                log.warning("%s: SNMPv3 protocols %s/%s not supported for traps",
                            t.device_id, t.auth_protocol, t.priv_protocol)  # fmt: skip
                continue
            key = (t.user, t.auth_protocol, t.auth_key, t.priv_protocol, t.priv_key)
            if key not in masters:
                auth = getattr(config, _AUTH[t.auth_protocol])
                priv = getattr(config, _PRIV[t.priv_protocol])
                auth_master = priv_master = None
                if t.auth_key is not None:
                    auth_master = bytes(config.AUTH_SERVICES[auth].hash_passphrase(t.auth_key.reveal().encode()))
                if t.priv_key is not None:
                    priv_master = bytes(config.PRIV_SERVICES[priv].hash_passphrase(auth, t.priv_key.reveal().encode()))
                level = 3 if t.priv_key is not None else 2 if t.auth_key is not None else 1
                masters[key] = _V3Keys(t.user, auth, auth_master, priv, priv_master, level)
            self._v3[t.device_id] = masters[key]

        for device_id, engine_id in self._pinned.items():
            if device_id in self._v3:
                self._add_user(device_id, engine_id)

        # Informs: one USM row per user name under our own engine id, so only for unambiguous user names.
        by_user: dict[str, set[_V3Keys]] = {}
        for keys in self._v3.values():
            by_user.setdefault(keys.user, set()).add(keys)
        for user, variants in by_user.items():
            if len(variants) == 1:
                self._add_user(None, None, next(iter(variants)))
            else:
                log.info("SNMPv3 informs from user %r not accepted: its keys differ between devices", user)

    def _add_user(self, device_id: str | None, engine_id: bytes | None, keys: _V3Keys | None = None) -> None:
        """Add a USM row for (engine_id, user) with the device's keys localized to it (None: our engine)."""
        from pysnmp.entity import config

        if keys is None:
            assert device_id is not None
            keys = self._v3[device_id]
        config.add_v3_user(
            self._engine, keys.user,
            authProtocol=keys.auth, authKey=keys.auth_master,
            privProtocol=keys.priv, privKey=keys.priv_master,
            securityEngineId=engine_id,
            authKeyType=config.USM_KEY_TYPE_MASTER, privKeyType=config.USM_KEY_TYPE_MASTER,
        )  # fmt: skip
        if device_id is not None and engine_id is not None:
            self._engine_owner[engine_id] = device_id

    def _learn_engine_id(self, target: Target, header: _V3Header) -> None:
        """Make pysnmp able to authenticate a trap from ``target`` with a not yet seen engine id."""
        keys = self._v3.get(target.device_id)
        eid = header.engine_id
        if keys is None or header.user != keys.user.encode() or target.device_id in self._pinned:
            return
        if eid == self._local_engine_id or eid in self._engine_owner or not 5 <= len(eid) <= 32:
            return  # ours (an inform), already known (maybe to another device: refused later), or invalid
        learned = self._learned.setdefault(target.device_id, [])
        if len(learned) >= MAX_ENGINE_IDS_PER_DEVICE:
            from pysnmp.entity import config

            old = learned.pop(0)
            config.delete_v3_user(self._engine, keys.user, old)
            del self._engine_owner[old]
        self._add_user(target.device_id, eid)
        learned.append(eid)
        # debug only: the packet is not authenticated yet
        log.debug("%s: SNMPv3 engine id %s added for its traps", target.device_id, eid.hex())

    # --------------------------------------------------------------------------------------- datagrams
    def _on_datagram(self, dispatcher: Any, domain: Any, address: Any, message: bytes) -> None:
        """Every datagram: attribute it to a device, let pysnmp process it, put it in one counter."""
        eng = self._engine
        if eng is None:  # queued by asyncio just before stop()
            return
        self.received += 1
        host = _canonical_host(address[0])
        target = self._by_host.get(host)
        if target is None:
            if host in self._ambiguous:
                self._drop_other("ambiguous_source", host)
            else:
                self.dropped_unknown_source += 1
                log.debug("trap from unknown source %s dropped", host)
            return
        if not self._admit(host, target):
            return
        try:
            header = _v3_header(message)
        except (ValueError, IndexError):
            self._drop_other("malformed", host)
            return
        inbound = self._current = _Inbound(target, header)
        before = {name: int(sym.syntax) for name, sym in self._counters.items()}
        try:
            if header is not None:
                self._learn_engine_id(target, header)
            eng.message_dispatcher.receive_message(eng, domain, address, message)
        except Exception as exc:  # a pysnmp bug or odd input must not kill the receiver; class name only
            inbound.outcome = inbound.outcome or ("other", f"error:{type(exc).__name__}")
        finally:
            self._current = None
        bucket, reason = inbound.outcome or ("other", self._why_unprocessed(before))
        if bucket == "accepted":
            self.accepted += 1
        elif bucket == "bad_credentials":
            self.dropped_bad_credentials += 1
            self.credential_failures[reason] += 1
            key = (target.device_id, reason)
            if key not in self._warned and len(self._warned) < 10_000:
                self._warned.add(key)
                log.warning("%s (%s): notification dropped: %s", target.device_id, host, reason)
        else:
            self._drop_other(reason, host)

    def _admit(self, host: str, target: Target) -> bool:
        """Rate limits: the source's bucket and the shared one; a storm is logged when it starts and ends."""
        now = time.monotonic()
        bucket = self._buckets.get(host)
        if bucket is None:
            bucket = self._buckets[host] = _Bucket(BURST_PER_SOURCE, RATE_PER_SOURCE)
        if bucket.take(now) and self._total.take(now):
            if host in self._storms and bucket.full(now):
                log.info("%s (%s): trap storm over, %d notification(s) dropped", target.device_id, host,
                         self._storms.pop(host))  # fmt: skip
            return True
        self.dropped_other["rate_limited"] += 1
        if host not in self._storms:
            self._storms[host] = 0
            log.warning("%s (%s): trap storm, dropping notifications beyond %g/s (a trap only triggers a re-poll)",
                        target.device_id, host, RATE_PER_SOURCE)  # fmt: skip
        self._storms[host] += 1
        return False

    def _why_unprocessed(self, before: Mapping[str, int]) -> str:
        changed = {name for name, sym in self._counters.items() if int(sym.syntax) != before[name]}
        if changed & {"snmpInASNParseErrs", "snmpInBadVersions"}:
            return "malformed"
        if "snmpUnknownPDUHandlers" in changed:
            return "not_a_notification"
        return "not_processed"

    def _drop_other(self, reason: str, host: str) -> None:
        self.dropped_other[reason] += 1
        log.debug("notification from %s dropped: %s", host, reason)

    def _on_sm_failure(self, engine: Any, execpoint: str, variables: Any, ctx: Any) -> None:
        """pysnmp's security model refused the message (community, user, digest, decryption, time window)."""
        inbound = self._current
        if inbound is None:
            return
        name = type(variables.get("statusInformation", {}).get("errorIndication")).__name__
        if name in _CREDENTIAL_FAILURES:
            inbound.outcome = ("bad_credentials", _CREDENTIAL_FAILURES[name])
        elif name == "NotInTimeWindow":
            inbound.outcome = ("other", "not_in_time_window")
        elif name == "UnknownEngineID":
            inbound.outcome = ("other", "engine_id_discovery")
        else:
            inbound.outcome = ("other", f"security:{name}")

    def _on_notification(
        self, engine: Any, state_ref: Any, context_engine_id: Any, context_name: Any, varbinds: Any, ctx: Any
    ) -> None:
        """pysnmp accepted a notification: check the credentials are the source device's, then deliver."""
        inbound = self._current
        if inbound is None:
            return
        request = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        problem = self._foreign_credentials(
            inbound, int(request["securityModel"]), str(request["securityName"]), int(request["securityLevel"])
        )
        if problem:
            inbound.outcome = ("bad_credentials", problem)
            return
        inbound.outcome = ("accepted", "")
        trap = _to_trap(inbound.target, varbinds)
        try:
            result = self._on_trap(trap)
        except Exception:
            log.exception("%s: on_trap failed", trap.device_id)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    def _foreign_credentials(self, inbound: _Inbound, model: int, security_name: str, level: int) -> str:
        """Why credentials pysnmp accepted are not the source device's own ("" if they are)."""
        t = inbound.target
        if model in (1, 2):
            if self._community_name.get(t.device_id) != security_name:
                return "community of another device" if t.version != "3" else "community from an SNMPv3 device"
            return ""
        keys, header = self._v3.get(t.device_id), inbound.header
        if keys is None or header is None:
            return "SNMPv3 from a v1/v2c device"
        if header.user != keys.user.encode():
            return "v3 user of another device"
        owner = self._engine_owner.get(header.engine_id)
        if header.engine_id != self._local_engine_id and owner != t.device_id:
            return "v3 engine id of another device" if owner else "v3 engine id not accepted"
        if level < keys.level:
            return "v3 security level below the profile's"
        return ""

    def _task_done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("on_trap task failed", exc_info=task.exception())


# ------------------------------------------------------------------------------------------------ helpers
class _Bucket:
    """A token bucket: ``burst`` tokens, refilled at ``rate`` per second."""

    __slots__ = ("at", "burst", "rate", "tokens")

    def __init__(self, burst: float, rate: float) -> None:
        self.burst, self.rate, self.tokens, self.at = burst, rate, burst, time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst - 1.0


def _canonical_host(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)  # a dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d
    return str(ip)


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start, end) of the BER TLV at ``pos``; ValueError/IndexError on truncation."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        if not 0 < n <= 4:
            raise ValueError("bad BER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise ValueError("truncated BER")
    return tag, pos, pos + length


def _v3_header(message: bytes) -> _V3Header | None:
    """Engine id and user of an SNMPv3/USM message; None for v1/v2c (pysnmp judges those alone)."""
    tag, pos, _ = _tlv(message, 0)
    if tag != 0x30:
        raise ValueError("not a SEQUENCE")
    tag, start, pos = _tlv(message, pos)  # msgVersion
    if tag != 0x02 or int.from_bytes(message[start:pos], "big") != 3:
        return None
    tag, _, pos = _tlv(message, pos)  # msgGlobalData
    tag, start, _ = _tlv(message, pos)  # msgSecurityParameters: OCTET STRING holding a SEQUENCE
    if tag != 0x04:
        raise ValueError("no security parameters")
    tag, pos, _ = _tlv(message, start)
    tag, start, pos = _tlv(message, pos)  # msgAuthoritativeEngineID
    engine_id = message[start:pos]
    _, _, pos = _tlv(message, pos)  # boots
    _, _, pos = _tlv(message, pos)  # time
    tag, start, pos = _tlv(message, pos)  # msgUserName
    return _V3Header(bytes(engine_id), bytes(message[start:pos]))


def _to_trap(target: Target, varbinds: Any) -> Trap:
    trap_oid: Oid = ()
    uptime: int | None = None
    if_index: int | None = None
    status_index: int | None = None
    for name, value in varbinds:
        oid = tuple(name)
        if oid == SNMP_TRAP_OID:
            trap_oid = tuple(value)
        elif oid == SYS_UPTIME:
            uptime = int(value)
        elif oid[:-1] == IF_INDEX and if_index is None:
            if_index = int(value)
        elif oid[:-1] in (IF_OPER_STATUS, IF_ADMIN_STATUS) and status_index is None:
            status_index = oid[-1]
    return Trap(
        device_id=target.device_id,
        source=target.host,
        kind=KINDS.get(trap_oid, "other"),
        trap_oid=format_oid(trap_oid),
        if_index=if_index if if_index is not None else status_index,
        uptime_ticks=uptime,
        received_at=time.time(),
    )
