"""SNMPv3 (USM) requests through pysnmp 7, answering in the shape the fast path uses.

Why pysnmp here and not our codec: SNMPv3 means USM — engine-id discovery, time windows, key
localisation, HMAC-SHA-2 and AES — which is easy to get subtly wrong; the devices that need it are a handful
of core routers, so pysnmp's per-varbind cost is affordable there. An :class:`SnmpEngine` is shared by all
devices with the same credentials (in practice: one per inventory profile), so each agent's engine-id is
discovered once; one engine per credential set because pysnmp keeps one key set per user name and engine.
pysnmp is untyped: everything it returns is ``Any`` and is converted to ``(oid, tag, value)`` triples here.

AES192/AES256 use the Reeder key extension (pysnmp's default, Cisco's, net-snmp's ``AES-256-C``).
"""

from __future__ import annotations

from typing import Any, Final

from netmon.collect.ber import VarBind
from netmon.collect.target import Target
from netmon.collect.walk import WalkRequest

__all__ = ["AUTH_PROTOCOLS", "PRIV_PROTOCOLS", "V3Error", "V3Session"]

AUTH_PROTOCOLS: Final = {  # inventory names -> pysnmp constant names (one place for both)
    None: "USM_AUTH_NONE",
    "MD5": "USM_AUTH_HMAC96_MD5",
    "SHA": "USM_AUTH_HMAC96_SHA",
    "SHA224": "USM_AUTH_HMAC128_SHA224",
    "SHA256": "USM_AUTH_HMAC192_SHA256",
    "SHA384": "USM_AUTH_HMAC256_SHA384",
    "SHA512": "USM_AUTH_HMAC384_SHA512",
}
PRIV_PROTOCOLS: Final = {
    None: "USM_PRIV_NONE",
    "DES": "USM_PRIV_CBC56_DES",
    "AES": "USM_PRIV_CFB128_AES",
    "AES192": "USM_PRIV_CFB192_AES",
    "AES256": "USM_PRIV_CFB256_AES",
}
# pysnmp's error indications, by class name, in words an operator can act on (never with key material)
_ERRORS: Final = {
    "WrongDigest": "authentication failure (wrong v3 key?)",
    "AuthenticationFailure": "authentication failure (wrong v3 key?)",
    "UnknownUserName": "unknown SNMPv3 user",
    "UnsupportedSecurityLevel": "security level not supported by the agent",
    "DecryptionError": "decryption failure (wrong v3 privacy key?)",
    "NotInTimeWindow": "not in time window (agent clock/boots changed?)",
    "UnknownEngineID": "engine-id discovery failed",
}


class V3Error(Exception):
    """A request failed before any PDU came back; ``timeout`` tells a silent agent from a refusal."""

    def __init__(self, message: str, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class V3Session:
    """Sends the walk's requests for SNMPv3 targets. Create it lazily: building an SnmpEngine costs ~0.1 s."""

    def __init__(self) -> None:
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        self._hlapi: Any = hlapi
        self._context: Any = hlapi.ContextData()
        # credentials -> (engine, UsmUserData); Secret hashes by value but never shows it
        self._engines: dict[tuple[object, ...], tuple[Any, Any]] = {}
        self._transports: dict[tuple[int, str, int, float, int], Any] = {}
        self._answered: set[tuple[str, int]] = set()  # agents whose engine id pysnmp has learnt

    def knows(self, t: Target) -> bool:
        """True once the agent answered: its engine id is cached, no discovery round trip is needed."""
        return (t.host, t.port) in self._answered

    def _engine_and_user(self, t: Target) -> tuple[Any, Any]:
        key = (t.user, t.auth_protocol, t.auth_key, t.priv_protocol, t.priv_key)
        found = self._engines.get(key)
        if found is None:
            h = self._hlapi
            if t.auth_protocol not in AUTH_PROTOCOLS or t.priv_protocol not in PRIV_PROTOCOLS:
                raise V3Error(f"unsupported SNMPv3 protocols {t.auth_protocol}/{t.priv_protocol}")
            user = h.UsmUserData(
                t.user,
                authKey=t.auth_key.reveal() if t.auth_key else None,
                privKey=t.priv_key.reveal() if t.priv_key else None,
                authProtocol=getattr(h, AUTH_PROTOCOLS[t.auth_protocol]),
                privProtocol=getattr(h, PRIV_PROTOCOLS[t.priv_protocol]),
            )
            found = self._engines[key] = (h.SnmpEngine(), user)
        return found

    async def _transport(self, t: Target, engine: Any) -> Any:
        key = (id(engine), t.host, t.port, t.timeout_s, t.retries)
        transport = self._transports.get(key)
        if transport is None:
            cls = self._hlapi.Udp6TransportTarget if ":" in t.host else self._hlapi.UdpTransportTarget
            transport = await cls.create((t.host, t.port), timeout=t.timeout_s, retries=t.retries)
            self._transports[key] = transport
        return transport

    async def request(self, t: Target, req: WalkRequest) -> tuple[int, int, list[VarBind]]:
        """Send one GET/GETBULK (pysnmp retries internally); ``(error_status, error_index, varbinds)``."""
        h = self._hlapi
        engine, user = self._engine_and_user(t)
        transport = await self._transport(t, engine)
        objects = [h.ObjectType(h.ObjectIdentity(oid)) for oid in req.oids]
        if req.pdu.name == "GETBULK":
            reply = await h.bulk_cmd(
                engine, user, transport, self._context, req.non_repeaters, req.max_repetitions,
                *objects, lookupMib=False,
            )  # fmt: skip
        elif req.pdu.name == "GET":
            reply = await h.get_cmd(engine, user, transport, self._context, *objects, lookupMib=False)
        else:
            reply = await h.next_cmd(engine, user, transport, self._context, *objects, lookupMib=False)
        indication, status, index, varbinds = reply
        if indication:
            name = type(indication).__name__
            if name == "RequestTimedOut":
                text = f"timeout after {t.retries} retries"
                if t.priv_protocol:
                    text += " (with SNMPv3 a wrong privacy key looks the same)"
                raise V3Error(text, timeout=True)
            raise V3Error(_ERRORS.get(name, f"SNMPv3 error: {name}"))
        self._answered.add((t.host, t.port))
        return int(status), int(index), [_triple(vb) for vb in varbinds]

    def close(self) -> None:
        for engine, _user in self._engines.values():
            engine.close_dispatcher()
        self._engines.clear()
        self._transports.clear()


def _triple(vb: Any) -> VarBind:
    """pysnmp ``(ObjectName, value)`` → ``(oid, tag, value)`` as :mod:`netmon.collect.ber` decodes it."""
    name, value = vb[0], vb[1]
    tag_obj = value.tagSet[-1]
    tag = tag_obj.tagClass | tag_obj.tagFormat | tag_obj.tagId
    plain: Any
    if tag in (0x04, 0x40, 0x44):  # OCTET STRING, IpAddress, Opaque
        plain = bytes(value.asOctets())
    elif tag == 0x06:
        plain = tuple(value)
    elif tag in (0x05, 0x80, 0x81, 0x82):
        plain = None
    else:
        plain = int(value)
    return tuple(name), tag, plain
