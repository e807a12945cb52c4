"""The simulated SNMPv3 agents: pysnmp's real USM command responder over the shared MIB layouts.

Why pysnmp here and not the fast v2c responder (:mod:`netmon.sim.agent`): USM
(HMAC digests, CFB/CBC privacy, engine discovery, time windows, report PDUs)
is exactly the part worth testing against a real implementation, and we do not
write crypto.  Only a few routers (core and district) speak v3, so pysnmp's
cost per varbind is affordable.  Every v3 device gets its own ``SnmpEngine``
(own engine id, derived from the device id, so it is stable across runs) on
its own ``(host, port)``; a custom MIB controller answers GET/GETNEXT/GETBULK
from the same :class:`~netmon.sim.mib.Layout` and
:class:`~netmon.sim.world.SimDevice` as the v2c agent, so a device says the
same thing whichever version it is asked in.

Behaviours are applied at the transport, so they hold for every datagram,
engine discovery included: a device that does not answer drops requests
unread; a SLOW one sends each datagram ``delay_s`` later via ``call_later``
(the loop is never blocked).

Left to pysnmp on purpose: unknown user, wrong digest, unknown engine id and
time-window reports; VACM (each user may read 1.3.6.1 at its own security level
or above, write nothing).  GETBULK answers are capped at pysnmp's 64 varbinds.
pysnmp keeps ``snmpEngineBoots`` per engine id under ``$TMPDIR/__pysnmp/``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.carrier.asyncio.dispatch import AsyncioDispatcher
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v2c
from pysnmp.smi import error as smi_error

from netmon.collect import ber
from netmon.sim.mib import Layout, layout_for
from netmon.sim.world import Behaviour, SimDevice, World

log = logging.getLogger(__name__)

AUTH_PROTOCOLS: dict[str, Any] = {
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA224": config.USM_AUTH_HMAC128_SHA224,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
    "SHA384": config.USM_AUTH_HMAC256_SHA384,
    "SHA512": config.USM_AUTH_HMAC384_SHA512,
}
# AES192/AES256: the key extension routers use (Reeder, "AES192C"/"AES256C" in net-snmp's -x),
# which is also what pysnmp's own manager calls usmAesCfb192Protocol / usmAesCfb256Protocol.
PRIV_PROTOCOLS: dict[str, Any] = {
    "DES": config.USM_PRIV_CBC56_DES,
    "AES": config.USM_PRIV_CFB128_AES,
    "AES192": config.USM_PRIV_CFB192_AES,
    "AES256": config.USM_PRIV_CFB256_AES,
}
LEVELS = {(False, False): "noAuthNoPriv", (True, False): "authNoPriv", (True, True): "authPriv"}
READ_VIEW = (1, 3, 6, 1)
TIMER_RESOLUTION_S = 0.5  # pysnmp's housekeeping tick per engine (its default 0.1 s wakes 10 loops/s each)
PYSNMP_ENTERPRISE = b"\x80\x00\x4f\xb8"  # RFC 3411 engine id: enterprise 20408 (pysnmp), bit 7 set


@dataclass(frozen=True)
class V3User:
    """A USM user as an agent knows it; protocol names as in ``netmon.inventory.schema``."""

    user: str
    auth_protocol: str | None
    auth_key: str | None = field(repr=False)
    priv_protocol: str | None
    priv_key: str | None = field(repr=False)


def engine_id(device_id: str) -> bytes:
    """A stable engine id per device (format 5, "octets"), so clients' caches survive restarts."""
    return PYSNMP_ENTERPRISE + b"\x05" + hashlib.blake2b(device_id.encode(), digest_size=12).digest()


# ------------------------------------------------------------------- values
def _uint(c: bytes) -> int:
    return int.from_bytes(c, "big")


VALUE_TYPES: dict[int, Callable[[bytes], Any]] = {
    ber.INTEGER: lambda c: v2c.Integer32(int.from_bytes(c, "big", signed=True)),
    ber.OCTET_STRING: v2c.OctetString,
    ber.NULL: lambda _c: v2c.null,
    ber.OBJECT_IDENTIFIER: lambda c: v2c.ObjectIdentifier(ber._decode_oid(c)),
    ber.IP_ADDRESS: v2c.IpAddress,
    ber.COUNTER32: lambda c: v2c.Counter32(_uint(c)),
    ber.GAUGE32: lambda c: v2c.Gauge32(_uint(c)),
    ber.TIMETICKS: lambda c: v2c.TimeTicks(_uint(c)),
    ber.OPAQUE: v2c.Opaque,
    ber.COUNTER64: lambda c: v2c.Counter64(_uint(c)),
}


def _skip_tl(data: bytes, pos: int) -> int:
    """Index of the contents of the TLV at ``pos``."""
    first = data[pos + 1]
    return pos + 2 if first < 0x80 else pos + 2 + (first & 0x7F)


def value_of(varbind: bytes) -> Any:
    """The pysnmp value of an encoded varbind ``30 L 06 l <oid> <value TLV>`` (the Layout's output)."""
    oid_at = _skip_tl(varbind, 0)
    oid_body = _skip_tl(varbind, oid_at)
    oid_len = varbind[oid_at + 1]
    if oid_len >= 0x80:
        oid_len = int.from_bytes(varbind[oid_at + 2 : oid_body], "big")
    tag_at = oid_body + oid_len
    return VALUE_TYPES[varbind[tag_at]](varbind[_skip_tl(varbind, tag_at) :])


# --------------------------------------------------------------- controller
class _Controller:
    """Duck-typed pysnmp MIB instrumentation: read-only, answers from a Layout at the clock's now."""

    def __init__(self, agents: V3Agents, device: SimDevice, layout: Layout) -> None:
        self.agents = agents
        self.device = device
        self.layout = layout
        self.names = [v2c.ObjectIdentifier(oid) for oid in layout.oids]  # built once: responses reuse them

    def _authorize(self, view: str, context_: dict[str, Any]) -> None:
        """VACM once per call (not per varbind): the view is all of 1.3.6.1, the level is what matters."""
        ac = context_.get("acFun")
        if ac is not None:
            ac(view, (self.names[0] if self.names else v2c.ObjectIdentifier(READ_VIEW), None), **context_)

    def _value(self, pos: int, now: float) -> tuple[Any, Any]:
        return self.names[pos], value_of(self.layout.varbind(pos, self.device, now))

    def read_variables(self, *var_binds: Any, **context_: Any) -> list[tuple[Any, Any]]:
        self._authorize("read", context_)
        now = self.agents.clock()
        index = self.layout.index
        out: list[tuple[Any, Any]] = []
        for name, _ in var_binds:
            pos = index.get(tuple(name))
            out.append((name, rfc1905.noSuchObject) if pos is None else self._value(pos, now))
        self.agents.varbinds += len(out)
        return out

    def read_next_variables(self, *var_binds: Any, **context_: Any) -> list[tuple[Any, Any]]:
        return self.read_bulk(len(var_binds), [name for name, _ in var_binds], 0, **context_)

    def read_bulk(self, non_repeaters: int, names: list[Any], repetitions: int, **context_: Any) -> list[Any]:
        """GETNEXT of every name, then ``repetitions`` rows of the rest; stops after a row that is all
        endOfMibView, as the v2c agent does (pysnmp's own loop would repeat it up to the cap)."""
        self._authorize("read", context_)
        now = self.agents.clock()
        layout, end = self.layout, len(self.layout.oids)
        out: list[tuple[Any, Any]] = []
        for name in names[:non_repeaters]:
            pos = layout.position_after(tuple(name))
            out.append((name, rfc1905.endOfMibView) if pos >= end else self._value(pos, now))
        repeaters = names[non_repeaters:]
        positions = [layout.position_after(tuple(name)) for name in repeaters]
        last = list(repeaters)
        for _ in range(repetitions if repeaters else 0):
            all_done = True
            for j, pos in enumerate(positions):
                if pos >= end:
                    out.append((last[j], rfc1905.endOfMibView))
                else:
                    all_done = False
                    name, value = self._value(pos, now)
                    out.append((name, value))
                    last[j] = name
                    positions[j] = pos + 1
            if all_done:
                break
        self.agents.varbinds += len(out)
        return out

    def write_variables(self, *var_binds: Any, **context_: Any) -> list[tuple[Any, Any]]:
        self._authorize("write", context_)  # too low a security level fails here (authorizationError);
        # the write view is empty, so pysnmp says notInView and the answer is notWritable, as a
        # read-only net-snmp object's is.
        raise smi_error.NotWritableError(name=var_binds[0][0] if var_binds else None, idx=0)


def _counting(base: Any) -> Any:
    """A pysnmp responder class that counts the responses it sends (for self-metrics)."""

    class Counting(base):  # type: ignore[misc]
        def __init__(self, snmp_engine: Any, snmp_context: Any, agents: V3Agents) -> None:
            super().__init__(snmp_engine, snmp_context)
            self._agents = agents

        def send_pdu(self, snmp_engine: Any, state_reference: Any, pdu: Any) -> None:
            self._agents.requests += 1
            super().send_pdu(snmp_engine, state_reference, pdu)

    Counting.__name__ = f"Counting{base.__name__}"
    return Counting


class _BulkResponder(cmdrsp.BulkCommandResponder):  # type: ignore[misc]
    """GETBULK in one controller call (one VACM check, one bisect per column) instead of pysnmp's
    GETNEXT per repetition; same N/M/R arithmetic and 64-varbind cap as pysnmp's."""

    def handle_management_operation(self, snmp_engine: Any, state_reference: Any, context_name: Any,
                                    pdu: Any) -> None:
        non_repeaters = max(int(v2c.apiBulkPDU.get_non_repeaters(pdu)), 0)
        repetitions = max(int(v2c.apiBulkPDU.get_max_repetitions(pdu)), 0)
        names = [name for name, _ in v2c.apiPDU.get_varbinds(pdu)]
        n = min(non_repeaters, len(names))
        r = len(names) - n
        if r:
            repetitions = min(repetitions, self.max_varbinds // r)
        controller = self.snmpContext.get_mib_instrum(context_name)
        var_binds = controller.read_bulk(n, names, repetitions, snmpEngine=snmp_engine,
                                         acFun=self.verify_access, cbCtx=self.cbCtx)
        self.send_varbinds(snmp_engine, state_reference, 0, 0, var_binds)
        self.release_state_information(state_reference)


RESPONDERS = [_counting(c) for c in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder,
                                      _BulkResponder, cmdrsp.SetCommandResponder)]


# ---------------------------------------------------------------- transport
def _transport_class(base: Any) -> Any:
    """pysnmp's asyncio UDP transport with the device's behaviour applied to every datagram."""

    class Transport(base):  # type: ignore[misc]
        def __init__(self, agents: V3Agents, device: SimDevice, loop: asyncio.AbstractEventLoop) -> None:
            super().__init__(loop=loop)
            self._agents = agents
            self._device = device

        def datagram_received(self, datagram: bytes, address: Any) -> None:
            if not self._device.answers:
                self._agents.dropped += 1
                return
            super().datagram_received(datagram, address)

        def send_message(self, message: bytes, address: Any) -> None:
            dev = self._device
            if dev.behaviour is Behaviour.SLOW:
                self._agents._later(dev.delay_s, super().send_message, message, address)
            else:
                super().send_message(message, address)

    return Transport


UDP4 = _transport_class(udp.UdpAsyncioTransport)
UDP6 = _transport_class(udp6.Udp6AsyncioTransport)


# ------------------------------------------------------------------- agents
class V3Agents:
    """One pysnmp ``SnmpEngine`` per v3 device, all on the running asyncio loop."""

    def __init__(
        self, world: World, users: dict[str, V3User], clock: Callable[[], float] = time.time
    ) -> None:
        self.world = world
        self.users = users  # device id -> user
        self.clock = clock
        self.requests = 0  # responses sent (reports to bad requests are pysnmp's and not counted)
        self.varbinds = 0  # varbinds produced by the controllers
        self.dropped = 0  # datagrams ignored because the device does not answer
        self.engines: dict[str, Any] = {}
        self._handles: set[asyncio.TimerHandle] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, devices: Iterable[SimDevice]) -> None:
        """Bind every device's address and wire its engine; returns once all are listening."""
        self._loop = loop = asyncio.get_running_loop()
        try:
            for dev in devices:
                await self._start_one(loop, dev)
        except BaseException:
            self.stop()
            raise

    async def _start_one(self, loop: asyncio.AbstractEventLoop, dev: SimDevice) -> None:
        user = self.users.get(dev.id)
        if user is None:
            raise KeyError(f"no SNMPv3 user for {dev.id}")
        v6 = ":" in dev.host
        sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((dev.host, dev.port))
        except OSError as exc:
            sock.close()
            where = f"{dev.host}:{dev.port} for {dev.id}"
            raise OSError(exc.errno, f"cannot listen on {where}: {exc.strerror}") from exc
        sock.setblocking(False)

        snmp_engine = engine.SnmpEngine(v2c.OctetString(engine_id(dev.id)))
        self.engines[dev.id] = snmp_engine
        dispatcher = AsyncioDispatcher(loop=loop)
        dispatcher.set_timer_resolution(TIMER_RESOLUTION_S)
        snmp_engine.register_transport_dispatcher(dispatcher)
        transport = (UDP6 if v6 else UDP4)(self, dev, loop)
        config.add_transport(snmp_engine, udp6.DOMAIN_NAME if v6 else udp.DOMAIN_NAME,
                             transport.open_server_mode(sock=sock))
        _add_user(snmp_engine, user)
        snmp_context = context.SnmpContext(snmp_engine)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", _Controller(self, dev, layout_for(dev)))
        for responder in RESPONDERS:
            responder(snmp_engine, snmp_context, self)
        listening = getattr(transport, "_lport", None)  # pysnmp's create_datagram_endpoint future
        if isinstance(listening, asyncio.Future):
            await listening

    def _later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._handles.discard(handle)
            try:
                fn(*args)
            except Exception as exc:  # the transport may be closed meanwhile; a late answer is not ours
                log.debug("delayed send failed: %s", exc)

        handle = self._loop.call_later(delay, fire)
        self._handles.add(handle)

    def stop(self) -> None:
        """Close every engine and transport, and forget delayed answers; safe to call twice."""
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
        for dev_id, snmp_engine in self.engines.items():
            try:
                snmp_engine.close_dispatcher()
            except Exception as exc:  # keep closing the others
                log.warning("closing the SNMPv3 engine of %s: %s", dev_id, exc)
        self.engines.clear()


def _add_user(snmp_engine: Any, user: V3User) -> None:
    """USM user plus VACM: read 1.3.6.1 at the user's configured security level or above."""
    auth = AUTH_PROTOCOLS[user.auth_protocol] if user.auth_protocol else config.USM_AUTH_NONE
    priv = PRIV_PROTOCOLS[user.priv_protocol] if user.priv_protocol else config.USM_PRIV_NONE
    config.add_v3_user(snmp_engine, user.user, auth, user.auth_key, priv, user.priv_key)
    level = LEVELS[(user.auth_protocol is not None, user.priv_protocol is not None)]
    config.add_vacm_user(snmp_engine, 3, user.user, level, READ_VIEW)
