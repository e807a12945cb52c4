"""SNMPv3 for the poller: engine discovery, time synchronisation and the USM checks around the walk's
requests, on the same shared UDP sockets and request-id demultiplexing as v1/v2c.

Why here and not pysnmp: the USM itself is :mod:`netmon.collect.usm` (pure), and the datagrams go through
:mod:`netmon.collect.transport`, so a v3 device costs what a v2c one does plus one HMAC and one cipher
call per message, and it is bounded by the same per-device deadline and slot rules (a dead v3 router
cannot hold a batch). What this module adds is the non-authoritative engine's state per agent (RFC 3414
2.3): its engine id, boots and time, learnt by discovery and kept across polls, so a known agent costs no
extra round trip.

A request's msgID and its PDU's request-id are the same number, which the transport routes replies by.
A reply that fails any check (digest, time window, engine id, user, security level, msgID/request-id) is
ignored and counted, never trusted: the real reply may still come, and if none does the device times out
with the reason. Reports become one-line errors an operator can act on (or a retry, for discovery, time
synchronisation and an engine id that changed). No key material is ever put in a message or a log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, NamedTuple

from netmon.collect import oids, usm
from netmon.collect.ber import BerError, PduType, VarBind, decode_scoped_pdu, encode_request_varbinds, encode_scoped_pdu
from netmon.collect.oids import format_oid
from netmon.collect.target import Target
from netmon.collect.usm import AUTH_FLAG, LEVEL_NAMES, PRIV_FLAG, REPORTABLE_FLAG, Credentials, UsmError
from netmon.collect.walk import WalkRequest

__all__ = [
    "AUTH_PROTOCOLS",
    "MAX_ROUNDS",
    "PRIV_PROTOCOLS",
    "Incoming",
    "Outgoing",
    "Reject",
    "V3Error",
    "V3Session",
]

log = logging.getLogger(__name__)

AUTH_PROTOCOLS: Final = {  # inventory names -> pysnmp constant names, for the trap receiver (pysnmp)
    None: "USM_AUTH_NONE",
    "MD5": "USM_AUTH_HMAC96_MD5",
    "SHA": "USM_AUTH_HMAC96_SHA",
    "SHA224": "USM_AUTH_HMAC128_SHA224",
    "SHA256": "USM_AUTH_HMAC192_SHA256",
    "SHA384": "USM_AUTH_HMAC256_SHA384",
    "SHA512": "USM_AUTH_HMAC384_SHA512",
}
PRIV_PROTOCOLS: Final = {  # pysnmp calls the Reeder variant plain "AES192"/"AES256"; net-snmp and we add "C"
    None: "USM_PRIV_NONE",
    "DES": "USM_PRIV_CBC56_DES",
    "AES": "USM_PRIV_CFB128_AES",
    "AES192": "USM_PRIV_CFB192_AES_BLUMENTHAL",
    "AES256": "USM_PRIV_CFB256_AES_BLUMENTHAL",
    "AES192C": "USM_PRIV_CFB192_AES",
    "AES256C": "USM_PRIV_CFB256_AES",
}
MAX_ROUNDS: Final = 4
"""Round trips one walk request may take: discovery, time synchronisation, a changed engine id, the answer."""
_REPLY_TAGS: Final = frozenset({PduType.RESPONSE, PduType.REPORT})
_PEERS_MAX: Final = 100_000


class V3Error(Exception):
    """A target whose SNMPv3 settings cannot work (unknown protocol, password too short...)."""


class Reject(ValueError):
    """A datagram that is not an acceptable reply to the request it names: ignored and counted."""


class Outgoing(NamedTuple):
    """A request as sent: what its reply is checked against."""

    data: bytes
    msg_id: int
    engine_id: bytes
    level: int
    discovery: bool


@dataclass(frozen=True, slots=True)
class Incoming:
    """An accepted reply: a Response or a Report, with the header fields the engine state needs."""

    pdu_type: PduType
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]
    engine_id: bytes
    boots: int
    time: int
    authenticated: bool
    timely: bool  # an authenticated message inside the time window (RFC 3414 3.2.7b)
    unpadded: int = 0  # unsigned values without their leading zero octet (netmon.collect.ber)


class _Peer:
    """What we know of one agent's engine (RFC 3414 2.3, the non-authoritative side)."""

    __slots__ = ("at", "authenticated", "boots", "engine_id", "latest", "synced", "time")

    def __init__(self, engine_id: bytes, boots: int, etime: int, at: float) -> None:
        self.engine_id = engine_id
        self.boots = boots
        self.time = etime
        self.latest = etime  # latestReceivedEngineTime
        self.at = at  # clock when ``time`` was received
        self.synced = False  # boots/time come from an authenticated message
        self.authenticated: set[Credentials] = set()  # users whose keys it has accepted

    def estimate(self, now: float) -> tuple[int, int]:
        return self.boots, min(self.time + int(now - self.at), usm.MAX_BOOTS)

    def timely(self, boots: int, etime: int) -> bool:
        """RFC 3414 3.2.7b for an authenticated message: not from an older boot or >150 s in the past."""
        if not self.synced:
            return True
        if self.boots == usm.MAX_BOOTS or boots < self.boots:
            return False
        return boots > self.boots or etime >= self.latest - usm.TIME_WINDOW_S

    def learn(self, boots: int, etime: int, now: float) -> None:
        """Take boots/time from an authenticated, timely message when they are newer (RFC 3414 3.2.7b)."""
        if not self.synced or boots > self.boots or (boots == self.boots and etime > self.latest):
            self.boots, self.time, self.latest, self.at = boots, etime, etime, now
        self.synced = True


class V3Session:
    """SNMPv3 state shared by all polls of one poller: credentials and what each agent's engine said.

    ``clock`` is monotonic seconds (engine time advances with it between messages).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._credentials: dict[tuple[object, ...], Credentials] = {}
        self._peers: dict[tuple[str, int], _Peer] = {}

    def knows(self, t: Target) -> bool:
        """True once the agent's engine id is known: no discovery round trip is needed."""
        return (t.host, t.port) in self._peers

    def forget(self, t: Target) -> None:
        """Drop what we know of ``t``'s engine: the next request rediscovers it."""
        self._peers.pop((t.host, t.port), None)

    def close(self) -> None:
        self._peers.clear()
        self._credentials.clear()

    def credentials(self, t: Target) -> Credentials:
        """The target's USM user, master keys hashed once per credential set (Secret hashes by value)."""
        key = (t.user, t.auth_protocol, t.auth_key, t.priv_protocol, t.priv_key)
        creds = self._credentials.get(key)
        if creds is None:
            try:
                creds = Credentials(
                    t.user or "",
                    t.auth_protocol, t.auth_key.reveal() if t.auth_key else None,
                    t.priv_protocol, t.priv_key.reveal() if t.priv_key else None,
                )  # fmt: skip
            except UsmError as exc:
                raise V3Error(str(exc)) from None
            self._credentials[key] = creds
        return creds

    # ------------------------------------------------------------------------------------------- requests
    def prepare(self, t: Target, creds: Credentials, req: WalkRequest, msg_id: int) -> Outgoing:
        """The datagram for ``req`` (or, while the engine id is unknown, the discovery probe before it)."""
        peer = self._peers.get((t.host, t.port))
        if peer is None:  # RFC 3414 4: noAuthNoPriv, no engine id, no user, no varbinds; reportable
            scoped = encode_scoped_pdu(b"", b"", PduType.GET, msg_id, 0, 0, ())
            data = usm.encode_message(msg_id, REPORTABLE_FLAG, b"", 0, 0, b"", scoped)
            return Outgoing(data, msg_id, b"", 0, True)
        engine_id = peer.engine_id
        boots, etime = peer.estimate(self.clock())
        scoped = encode_scoped_pdu(engine_id, b"", req.pdu, msg_id, req.non_repeaters, req.max_repetitions,
                                   encode_request_varbinds(req.oids))  # fmt: skip
        keys = creds.keys(engine_id) if creds.level else None
        data = usm.encode_message(msg_id, creds.level | REPORTABLE_FLAG, engine_id, boots, etime, creds.user,
                                  scoped, keys)  # fmt: skip
        return Outgoing(data, msg_id, engine_id, creds.level, False)

    def check(self, t: Target, creds: Credentials, out: Outgoing, data: bytes) -> Incoming:
        """Accept ``data`` as the reply to ``out`` or raise :class:`Reject` (or BerError) saying why."""
        env = usm.parse_message(data)
        if env.msg_id != out.msg_id:
            raise Reject("msgID does not match the request")
        level = env.level
        authenticated = timely = False
        if level & AUTH_FLAG:
            if creds.auth is None or env.user != creds.user:
                raise Reject("authenticated reply for another user")
            if env.engine_id != out.engine_id:
                raise Reject("authenticated reply from another engine id")
            keys = creds.keys(env.engine_id)
            if not keys.verify(data, env.auth_offset, env.auth_params):
                raise Reject("reply failed authentication (digest)")
            authenticated = True
            peer = self._peers.get((t.host, t.port))
            timely = peer is None or peer.engine_id != env.engine_id or peer.timely(env.boots, env.time)
            if env.encrypted:
                try:
                    plaintext = keys.decrypt(env.payload, env.boots, env.time, env.priv_params)
                    scoped = decode_scoped_pdu(plaintext, _REPLY_TAGS, padded=not (keys.priv and keys.priv.aes))
                except (UsmError, BerError):
                    raise Reject("reply cannot be decrypted (wrong privacy key or protocol?)") from None
            else:
                scoped = decode_scoped_pdu(env.payload, _REPLY_TAGS)
        else:
            scoped = decode_scoped_pdu(env.payload, _REPLY_TAGS)
        if scoped.pdu_type is PduType.RESPONSE:
            if level != out.level:
                raise Reject(f"reply at {LEVEL_NAMES[level]}, request at {LEVEL_NAMES[out.level]}")
            if env.engine_id != out.engine_id:
                raise Reject("reply from another engine id")
            if scoped.request_id != out.msg_id:
                raise Reject("request-id does not match the request")
            if authenticated and not timely:
                raise Reject("reply outside the time window (replayed?)")
        elif scoped.request_id not in (0, out.msg_id):
            raise Reject("report for another request")
        if authenticated and timely:
            peer = self._peers.get((t.host, t.port))
            if peer is not None and peer.engine_id == env.engine_id:
                peer.learn(env.boots, env.time, self.clock())
                peer.authenticated.add(creds)
        return Incoming(scoped.pdu_type, scoped.request_id, scoped.field1, scoped.field2, scoped.varbinds,
                        env.engine_id, env.boots, env.time, authenticated, timely, scoped.unpadded)  # fmt: skip

    # -------------------------------------------------------------------------------------------- reports
    def on_report(self, t: Target, creds: Credentials, out: Outgoing, report: Incoming, synced: bool) -> str | None:
        """Act on a Report: None to send the request again (engine learnt or time synchronised), else the
        one-line error of the poll. ``synced``: this request was already resent after a time sync."""
        oid = report.varbinds[0][0] if report.varbinds else ()
        user = creds.user.decode(errors="replace")
        if oid == oids.USM_STATS_UNKNOWN_ENGINE_IDS:
            if not 5 <= len(report.engine_id) <= 32:
                return "SNMPv3 discovery failed: the agent reported an invalid engine id"
            if not out.discovery and report.engine_id == out.engine_id:
                return "the agent refuses its own engine id (usmStatsUnknownEngineIDs)"
            if not out.discovery:
                log.info("%s: SNMPv3 engine id changed from %s to %s; rediscovered", t.device_id,
                         out.engine_id.hex(), report.engine_id.hex())  # fmt: skip
            self._learn_engine(t, report)
            return None
        if oid == oids.USM_STATS_NOT_IN_TIME_WINDOWS:
            if not report.authenticated:
                return "not in time window, and the agent's report is not authenticated (usmStatsNotInTimeWindows)"
            if not report.timely:
                return ("not in time window: the agent's engine time went back without a reboot (boots "
                        f"{report.boots}, time {report.time} s); restart its SNMP engine (usmStatsNotInTimeWindows)")
            if synced:
                return "not in time window: the agent rejects its own engine time (usmStatsNotInTimeWindows)"
            return None  # check() took the agent's boots/time: send again
        if oid == oids.USM_STATS_UNKNOWN_USER_NAMES:
            return f"unknown SNMPv3 user '{user}' on the agent (usmStatsUnknownUserNames)"
        if oid == oids.USM_STATS_WRONG_DIGESTS:
            auth = creds.auth.name if creds.auth else "none"
            return f"wrong SNMPv3 auth key or auth protocol ({auth}) for user '{user}' (usmStatsWrongDigests)"
        if oid == oids.USM_STATS_DECRYPTION_ERRORS:
            priv = creds.priv.name if creds.priv else "none"
            return f"wrong SNMPv3 privacy key or privacy protocol ({priv}) for user '{user}' (usmStatsDecryptionErrors)"
        if oid == oids.USM_STATS_UNSUPPORTED_SEC_LEVELS:
            return (f"security level {creds.level_name} not supported for user '{user}' by the agent "
                    "(usmStatsUnsupportedSecLevels)")
        if oid in (oids.SNMP_UNKNOWN_CONTEXTS, oids.SNMP_UNAVAILABLE_CONTEXTS):
            return "SNMPv3 context refused by the agent (snmpUnknownContexts)"
        if oid in (oids.SNMP_INVALID_MSGS, oids.SNMP_UNKNOWN_SECURITY_MODELS, oids.SNMP_UNKNOWN_PDU_HANDLERS):
            return f"the agent refused the SNMPv3 message ({format_oid(oid)})"
        return f"SNMPv3 report {format_oid(oid) if oid else 'without varbinds'}"

    def _learn_engine(self, t: Target, report: Incoming) -> None:
        """Engine id from discovery; boots/time from it too, as a first guess until an authenticated message
        confirms them (an agent that puts zeros there costs one notInTimeWindow round trip)."""
        if len(self._peers) >= _PEERS_MAX:
            self._peers.clear()
        self._peers[(t.host, t.port)] = _Peer(report.engine_id, report.boots, report.time, self.clock())

    def hint(self, t: Target, creds: Credentials, discovered_now: bool) -> str:
        """What to add to a timeout: an agent that answered discovery in this walk but never an
        authenticated request most likely cannot decrypt it (agents drop those silently)."""
        peer = self._peers.get((t.host, t.port))
        if discovered_now and peer is not None and creds not in peer.authenticated and creds.level & PRIV_FLAG:
            return "; the agent answered discovery but not the authPriv request (wrong privacy key or protocol?)"
        return ""
