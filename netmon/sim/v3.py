"""The simulated SNMPv3 agents: the v2c agents' sockets and answers inside the project's USM.

Why not pysnmp's agent any more: it costs ~60 µs of CPU per varbind served, so it could not give every
router of the province (let alone the 10× province) SNMPv3. This agent is the authoritative side of
:mod:`netmon.collect.usm`, the same code the poller uses, and answers from the same
:class:`~netmon.sim.mib.Layout` as the v2c agent (:func:`netmon.sim.agent.answer_pdu`), so a device says
the same thing whichever version it is asked in. Interoperability is proven against clients that are not
ours: net-snmp's ``snmpget``/``snmpbulkwalk`` and pysnmp's manager (tests/integration/sim/test_v3.py).

Each device is its own engine (RFC 3414 3.2, the authoritative side): a stable engine id derived from its
id; snmpEngineBoots = seconds from 2020 to the simulator's start plus the device's reboots (so it only
grows, across simulator restarts too); snmpEngineTime = seconds since the device booted. Requests are
checked in the RFC's order and refused with the Report PDU a real agent sends: unknown engine id
(discovery), unknown user, unsupported security level, wrong digest, not in time window (authenticated),
decryption error, unknown context. A request below the user's configured level gets authorizationError,
as net-snmp's ``rouser NAME priv`` does; a Set gets notWritable, as a read-only net-snmp object answers.

Behaviours (dead, dropping, slow) are the v2c agent's, applied to every datagram, discovery included.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Final

from netmon.collect import ber, oids, usm
from netmon.collect.ber import BerError, PduType
from netmon.collect.usm import AUTH_FLAG, PRIV_FLAG, REPORTABLE_FLAG, Credentials, Envelope, LocalKeys, UsmError
from netmon.sim.agent import MAX_RESPONSE, Agents, answer_pdu
from netmon.sim.mib import Layout
from netmon.sim.world import SimDevice, World

__all__ = ["V3Agents", "V3User", "engine_id"]

ENGINE_ID_PREFIX: Final = b"\x80\x00\x4f\xb8"  # RFC 3411 format: enterprise 20408, bit 7 set (kept stable)
BOOTS_EPOCH: Final = 1_577_836_800  # 2020-01-01T00:00:00Z
AUTHORIZATION_ERROR: Final = 16
NOT_WRITABLE: Final = 17
ENVELOPE_ROOM: Final = 256  # octets a response's USM header may take beyond its varbinds
_REQUEST_TAGS: Final = frozenset({PduType.GET, PduType.GETNEXT, PduType.GETBULK, PduType.SET})
_trap_ids = count(1)


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
    return ENGINE_ID_PREFIX + b"\x05" + hashlib.blake2b(device_id.encode(), digest_size=12).digest()


class _Engine:
    """One device's authoritative engine: its id, its user and the boots offset of this simulator run."""

    __slots__ = ("boots_base", "creds", "engine_id", "keys")

    def __init__(self, eid: bytes, creds: Credentials, boots_base: int) -> None:
        self.engine_id = eid
        self.creds = creds
        self.keys: LocalKeys | None = creds.keys(eid) if creds.level else None
        self.boots_base = boots_base

    def boots_time(self, dev: SimDevice, now: float) -> tuple[int, int]:
        return min(self.boots_base + dev.reboots, usm.MAX_BOOTS), max(0, min(int(now - dev.boot), usm.MAX_BOOTS))


class V3Agents(Agents):
    """One USM engine per SNMPv3 device, on the v2c agents' socket machinery.

    ``usm_stats`` counts refusals by the RFC's counter names (what the reports carry). ``engine_ids``
    overrides :func:`engine_id` per device (a replaced router: same address, new engine).
    """

    def __init__(self, world: World, users: dict[str, V3User], clock: Callable[[], float] = time.time,
                 engine_ids: dict[str, bytes] | None = None) -> None:
        super().__init__(world, {}, clock)
        self.users = users  # device id -> user
        self.engine_ids = engine_ids or {}
        self.boots_base = max(1, int(clock()) - BOOTS_EPOCH)
        self.usm_stats: dict[str, int] = {}
        self._engines: dict[str, _Engine] = {}
        self._credentials: dict[V3User, Credentials] = {}

    @property
    def requests(self) -> int:
        return self.stats.requests

    @property
    def varbinds(self) -> int:
        return self.stats.varbinds

    @property
    def dropped(self) -> int:
        return self.stats.dropped

    def _state(self, dev: SimDevice) -> _Engine:
        user = self.users.get(dev.id)
        if user is None:
            raise KeyError(f"no SNMPv3 user for {dev.id}")
        creds = self._credentials.get(user)
        if creds is None:  # one per distinct user: master keys (1 MiB of hashing each) once
            creds = self._credentials[user] = Credentials(
                user.user, user.auth_protocol, user.auth_key, user.priv_protocol, user.priv_key
            )
        eid = self.engine_ids.get(dev.id) or engine_id(dev.id)
        engine = self._engines[dev.id] = _Engine(eid, creds, self.boots_base)
        return engine

    def engine(self, device_id: str) -> tuple[bytes, int, int]:
        """(engine id, boots, time) of a device now: what a test or a trap receiver may check."""
        eng = self._engines[device_id]
        boots, etime = eng.boots_time(self.world.devices[device_id], self.clock())
        return eng.engine_id, boots, etime

    # ------------------------------------------------------------------------------------------- requests
    def _respond(self, dev: SimDevice, layout: Layout, eng: _Engine, data: bytes) -> bytes | None:
        try:
            env = usm.parse_message(data)
        except BerError:
            self._drop("snmpInASNParseErrs")
            return None
        now = self.clock()
        boots, etime = eng.boots_time(dev, now)
        level = env.level
        if env.engine_id != eng.engine_id:  # RFC 3414 3.2.3 (and discovery, section 4)
            return self._report(oids.USM_STATS_UNKNOWN_ENGINE_IDS, env, eng, boots, etime, _plain_id(env))
        creds = eng.creds
        if env.user != creds.user:
            return self._report(oids.USM_STATS_UNKNOWN_USER_NAMES, env, eng, boots, etime, _plain_id(env))
        if level & ~creds.level:
            return self._report(oids.USM_STATS_UNSUPPORTED_SEC_LEVELS, env, eng, boots, etime, _plain_id(env))
        keys = eng.keys
        plaintext = env.payload
        if level & AUTH_FLAG:
            assert keys is not None
            if not keys.verify(data, env.auth_offset, env.auth_params):
                return self._report(oids.USM_STATS_WRONG_DIGESTS, env, eng, boots, etime, 0)
            if boots == usm.MAX_BOOTS or env.boots != boots or abs(env.time - etime) > usm.TIME_WINDOW_S:
                return self._report(oids.USM_STATS_NOT_IN_TIME_WINDOWS, env, eng, boots, etime, 0, keys)
            if level & PRIV_FLAG:
                try:
                    plaintext = keys.decrypt(env.payload, env.boots, env.time, env.priv_params)
                except UsmError:
                    return self._report(oids.USM_STATS_DECRYPTION_ERRORS, env, eng, boots, etime, 0)
        try:
            des = bool(level & PRIV_FLAG and keys and keys.priv and not keys.priv.aes)
            scoped = ber.decode_scoped_pdu(plaintext, _REQUEST_TAGS, padded=des)
        except BerError:
            if level & PRIV_FLAG:  # garbage after decryption: the key or protocol is wrong
                return self._report(oids.USM_STATS_DECRYPTION_ERRORS, env, eng, boots, etime, 0)
            self._drop("snmpInASNParseErrs")
            return None
        if scoped.context_name:
            return self._report(oids.SNMP_UNKNOWN_CONTEXTS, env, eng, boots, etime, scoped.request_id)
        if scoped.context_engine_id not in (b"", eng.engine_id):
            return self._report(oids.SNMP_UNKNOWN_PDU_HANDLERS, env, eng, boots, etime, scoped.request_id)
        oid_list = [vb[0] for vb in scoped.varbinds]
        if level < creds.level:  # VACM: the user reads at its configured level or above ("rouser NAME priv")
            status, index = AUTHORIZATION_ERROR, 0
            out = [ber.encode_varbind(oid, ber.NULL, None) for oid in oid_list]
        elif scoped.pdu_type is PduType.SET:
            status, index = NOT_WRITABLE, 1
            out = [ber.encode_varbind(*vb) for vb in scoped.varbinds]
        else:
            room = min(env.max_size, MAX_RESPONSE) - ENVELOPE_ROOM - len(env.user) - len(eng.engine_id) * 2
            status, index, out = answer_pdu(dev, layout, scoped.pdu_type, oid_list, scoped.field1, scoped.field2,
                                            now, max_bytes=room)  # fmt: skip
        self.stats.requests += 1
        self.stats.varbinds += len(out)
        body = ber.encode_scoped_pdu(eng.engine_id, b"", PduType.RESPONSE, scoped.request_id, status, index, out)
        return usm.encode_message(env.msg_id, level, eng.engine_id, boots, etime, env.user, body,
                                  keys if level else None)  # fmt: skip

    def _drop(self, counter: str) -> None:
        self.stats.dropped += 1
        self.usm_stats[counter] = self.usm_stats.get(counter, 0) + 1

    def _report(self, oid: ber.Oid, env: Envelope, eng: _Engine, boots: int, etime: int, request_id: int,
                keys: LocalKeys | None = None) -> bytes | None:
        """The Report PDU for a refused request (RFC 3412 7.1.3): noAuthNoPriv, except notInTimeWindow,
        which is authenticated so the manager can trust the boots/time it carries (RFC 3414 3.2.7a)."""
        name = _COUNTER_NAMES[oid]
        count_ = self.usm_stats[name] = self.usm_stats.get(name, 0) + 1
        self.stats.dropped += 1
        if not env.flags & REPORTABLE_FLAG:
            return None
        varbind = ber.encode_varbind(oid, ber.COUNTER32, count_ % 2**32)
        body = ber.encode_scoped_pdu(eng.engine_id, b"", PduType.REPORT, request_id, 0, 0, [varbind])
        flags = AUTH_FLAG if keys is not None else 0
        return usm.encode_message(env.msg_id, flags, eng.engine_id, boots, etime, env.user, body, keys)

    # ---------------------------------------------------------------------------------------------- traps
    def trap(self, dev: SimDevice, varbinds: list[bytes], now: float) -> bytes:
        """An SNMPv3 SNMPv2-Trap from ``dev`` at its user's level: the device is the authoritative engine
        (RFC 3414 1.5.1), so the receiver must know its engine id or learn it from the trap."""
        eng = self._engines[dev.id]
        boots, etime = eng.boots_time(dev, now)
        msg_id = next(_trap_ids) % 2**31
        body = ber.encode_scoped_pdu(eng.engine_id, b"", PduType.TRAP_V2, msg_id, 0, 0, varbinds)
        return usm.encode_message(msg_id, eng.creds.level, eng.engine_id, boots, etime, eng.creds.user, body,
                                  eng.keys)  # fmt: skip


_COUNTER_NAMES: Final = {
    oids.USM_STATS_UNSUPPORTED_SEC_LEVELS: "usmStatsUnsupportedSecLevels",
    oids.USM_STATS_NOT_IN_TIME_WINDOWS: "usmStatsNotInTimeWindows",
    oids.USM_STATS_UNKNOWN_USER_NAMES: "usmStatsUnknownUserNames",
    oids.USM_STATS_UNKNOWN_ENGINE_IDS: "usmStatsUnknownEngineIDs",
    oids.USM_STATS_WRONG_DIGESTS: "usmStatsWrongDigests",
    oids.USM_STATS_DECRYPTION_ERRORS: "usmStatsDecryptionErrors",
    oids.SNMP_UNKNOWN_CONTEXTS: "snmpUnknownContexts",
    oids.SNMP_UNKNOWN_PDU_HANDLERS: "snmpUnknownPDUHandlers",
}


def _plain_id(env: Envelope) -> int:
    """The request-id of a plaintext request, for its report (0 when it cannot be read: RFC 3412 7.1.3)."""
    if env.encrypted:
        return 0
    try:
        return ber.decode_scoped_pdu(env.payload).request_id
    except BerError:
        return 0
