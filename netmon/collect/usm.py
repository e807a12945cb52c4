"""SNMPv3's User-based Security Model (RFC 3414) on the project's BER codec: keys, digests, privacy and the
message envelope. Pure: no I/O and no clock; the poller (:mod:`netmon.collect.v3`) and the simulated agents
(:mod:`netmon.sim.v3`) both drive it, one as the non-authoritative and one as the authoritative engine.

Why not pysnmp: it decodes a v3 message with pyasn1 several times over (~250 µs of CPU per varbind on the
old v3 path, TOOLING-NOTES). Here a message costs one HMAC, one cipher call and the codec's direct walk over
the bytes. Nothing below the protocol is ours: digests come from ``hashlib``/``hmac``, AES-CFB and DES-CBC
from ``cryptography`` (OpenSSL). The tests prove keys, digests, ciphertexts and whole messages identical to
pysnmp's, and interoperability with net-snmp's snmpd for every protocol pair it offers.

Protocols, by their inventory names (those of net-snmp and of gosnmp / snmp_exporter):

* auth ``MD5``, ``SHA`` (HMAC-96, RFC 3414), ``SHA224``, ``SHA256``, ``SHA384``, ``SHA512`` (RFC 7860);
* priv ``DES`` (CBC, RFC 3414), ``AES`` (AES-128-CFB, RFC 3826), ``AES192``/``AES256`` (key extension of
  draft-blumenthal-aes-usm-04: net-snmp's ``AES-192``/``AES-256``) and ``AES192C``/``AES256C`` (the Reeder
  key extension Cisco uses: net-snmp's ``AES-192-C``/``AES-256-C``). The variants differ only when the
  auth hash is shorter than the AES key (MD5 or SHA-1 with AES-192/256).

No key material leaves these objects: their ``repr`` names protocols only, and errors say what failed,
never with what.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES  # DES lives with the legacy ciphers
from cryptography.hazmat.decrepit.ciphers.modes import CFB  # and so does CFB, which SNMP's AES uses
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.modes import CBC

from netmon.collect.ber import BerError, encode_integer, encode_length, read_integer, read_tlv

__all__ = [
    "AUTH",
    "AUTH_FLAG",
    "LEVEL_NAMES",
    "MAX_MESSAGE_SIZE",
    "PRIV",
    "PRIV_FLAG",
    "REPORTABLE_FLAG",
    "TIME_WINDOW_S",
    "AuthProtocol",
    "Credentials",
    "Envelope",
    "LocalKeys",
    "PrivProtocol",
    "UsmError",
    "encode_message",
    "localize",
    "msg_id_of",
    "next_salt",
    "parse_message",
    "password_to_key",
]

AUTH_FLAG: Final = 0x01
PRIV_FLAG: Final = 0x02
REPORTABLE_FLAG: Final = 0x04
LEVEL_NAMES: Final = {0: "noAuthNoPriv", AUTH_FLAG: "authNoPriv", AUTH_FLAG | PRIV_FLAG: "authPriv"}
MAX_MESSAGE_SIZE: Final = 65507  # the msgMaxSize we announce: the largest UDP payload over IPv4
TIME_WINDOW_S: Final = 150  # RFC 3414 2.2.3
MAX_BOOTS: Final = 2**31 - 1  # snmpEngineBoots latches here (RFC 3414 2.2.2)
USM: Final = 3  # msgSecurityModel
_MAX_INT32: Final = 2**31 - 1
_MAX_ENGINE_ID: Final = 32  # SnmpEngineID SIZE(5..32); empty only in discovery
_MAX_USER: Final = 32
_ONE_MEGABYTE: Final = 1 << 20
_MIN_PASSWORD: Final = 8  # RFC 3414 11.2; net-snmp refuses shorter ones too
_KEY_CACHE_MAX: Final = 65_536  # localised keys per credential set (one or two per agent)


class UsmError(Exception):
    """A USM problem an operator can act on (bad configuration, refused message). Never carries a key."""


@dataclass(frozen=True, slots=True)
class AuthProtocol:
    name: str
    hash: str  # hashlib name
    mac_len: int  # octets of msgAuthenticationParameters (the truncated HMAC)


@dataclass(frozen=True, slots=True)
class PrivProtocol:
    name: str
    aes: bool  # AES-CFB128 (RFC 3826), else DES-CBC (RFC 3414 8)
    key_len: int  # localised octets used: AES key, or DES key + pre-IV
    extension: str  # how a too-short localised key is extended: "blumenthal", "reeder", "" (never needed)


AUTH: Final = {
    "MD5": AuthProtocol("MD5", "md5", 12),
    "SHA": AuthProtocol("SHA", "sha1", 12),
    "SHA224": AuthProtocol("SHA224", "sha224", 16),
    "SHA256": AuthProtocol("SHA256", "sha256", 24),
    "SHA384": AuthProtocol("SHA384", "sha384", 32),
    "SHA512": AuthProtocol("SHA512", "sha512", 48),
}
PRIV: Final = {
    "DES": PrivProtocol("DES", False, 16, ""),
    "AES": PrivProtocol("AES", True, 16, ""),
    "AES192": PrivProtocol("AES192", True, 24, "blumenthal"),
    "AES256": PrivProtocol("AES256", True, 32, "blumenthal"),
    "AES192C": PrivProtocol("AES192C", True, 24, "reeder"),
    "AES256C": PrivProtocol("AES256C", True, 32, "reeder"),
}

# Salts: a counter from a random start, never repeated within a process (RFC 3826 3.1.2.1, RFC 3414 8.1.1.1)
_salts = itertools.count(secrets.randbits(64))


# ------------------------------------------------------------------------------------------------- keys
def _hash_megabyte(password: bytes, hash_name: str) -> bytes:
    # RFC 3414 A.2 hashes the password repeated over 1 MiB in 64-octet steps; one update of the same
    # megabyte gives the same digest at C speed (~3 ms for SHA-256 here).
    stream = password * (_ONE_MEGABYTE // len(password) + 1)
    return hashlib.new(hash_name, memoryview(stream)[:_ONE_MEGABYTE]).digest()


@lru_cache(maxsize=64)
def password_to_key(password: bytes, hash_name: str) -> bytes:
    """The master key Ku of a password (RFC 3414 A.2, RFC 7860 9.3): computed once per (password, hash)."""
    if len(password) < _MIN_PASSWORD:
        raise UsmError(f"SNMPv3 password shorter than {_MIN_PASSWORD} characters (RFC 3414 11.2)")
    return _hash_megabyte(password, hash_name)


def localize(master: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """Kul = H(Ku || engineID || Ku) (RFC 3414 2.6): the key as one agent knows it."""
    return hashlib.new(hash_name, master + engine_id + master).digest()


def _localized_priv_key(priv: PrivProtocol, auth: AuthProtocol, master: bytes, engine_id: bytes) -> bytes:
    """The privacy key for ``engine_id``: localised with the *auth* hash, then extended if too short."""
    key = localize(master, engine_id, auth.hash)
    while len(key) < priv.key_len:
        if priv.extension == "blumenthal":  # draft-blumenthal-aes-usm-04 3.1.2.1: Kul || H(Kul) ...
            key += hashlib.new(auth.hash, key).digest()
        elif priv.extension == "reeder":  # draft-reeder-snmpv3-usm-3desede 2.1: Kul || Kul(P2K(Kul)) ...
            key += localize(_hash_megabyte(key, auth.hash), engine_id, auth.hash)
        else:  # pragma: no cover - DES and AES-128 fit in every hash (16 octets and more)
            raise UsmError(f"{priv.name} needs {priv.key_len} key octets, {auth.name} gives {len(key)}")
    return key[: priv.key_len]


class LocalKeys:
    """One user's keys localised to one engine id, ready to sign, verify, encrypt and decrypt messages."""

    __slots__ = ("_aes", "_auth_key", "_des", "_pre_iv", "auth", "mac_len", "priv")

    def __init__(self, auth: AuthProtocol | None, priv: PrivProtocol | None, auth_key: bytes, priv_key: bytes):
        self.auth = auth
        self.priv = priv
        self.mac_len = auth.mac_len if auth else 0
        self._auth_key = auth_key
        # cipher algorithm objects built once per key (a cipher per message then costs ~2 µs)
        self._aes = algorithms.AES(priv_key) if priv is not None and priv.aes else None
        self._des = TripleDES(priv_key[:8] * 3) if priv is not None and not priv.aes else None  # EDE, K1=K2=K3: DES
        self._pre_iv = priv_key[8:16] if self._des is not None else b""

    def __repr__(self) -> str:
        return f"LocalKeys({self.auth.name if self.auth else 'noAuth'}/{self.priv.name if self.priv else 'noPriv'})"

    def _mac(self, message: bytes) -> bytes:
        assert self.auth is not None
        return hmac.digest(self._auth_key, message, self.auth.hash)[: self.mac_len]

    def sign(self, message: bytes, offset: int) -> bytes:
        """``message`` (its msgAuthenticationParameters zeroed at ``offset``) with the HMAC put there."""
        return b"".join((message[:offset], self._mac(message), message[offset + self.mac_len :]))

    def verify(self, message: bytes, offset: int, mac: bytes) -> bool:
        """True if ``mac``, found at ``offset`` in ``message``, is the message's HMAC (RFC 3414 6.3.2)."""
        if self.auth is None or len(mac) != self.mac_len:
            return False
        zeroed = b"".join((message[:offset], bytes(self.mac_len), message[offset + self.mac_len :]))
        return hmac.compare_digest(self._mac(zeroed), mac)

    def encrypt(self, plaintext: bytes, boots: int, time: int, salt: int) -> tuple[bytes, bytes]:
        """(ciphertext, msgPrivacyParameters) of a scopedPDU sent with ``boots``/``time`` in its header."""
        if self._aes is not None:  # RFC 3826 3.1.3: IV = boots || time || 64-bit salt
            salt_bytes = (salt & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "big")
            iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt_bytes
            encryptor = Cipher(self._aes, CFB(iv)).encryptor()
            return encryptor.update(plaintext) + encryptor.finalize(), salt_bytes
        if self._des is None:
            raise UsmError("no privacy protocol")
        # RFC 3414 8.1.1.1: salt = boots || 32-bit integer; IV = pre-IV XOR salt; pad to the block size
        salt_bytes = boots.to_bytes(4, "big") + (salt & 0xFFFF_FFFF).to_bytes(4, "big")
        iv = bytes(a ^ b for a, b in zip(self._pre_iv, salt_bytes, strict=True))
        encryptor = Cipher(self._des, CBC(iv)).encryptor()
        padded = plaintext + bytes(-len(plaintext) % 8)
        return encryptor.update(padded) + encryptor.finalize(), salt_bytes

    def decrypt(self, ciphertext: bytes, boots: int, time: int, priv_params: bytes) -> bytes:
        """The plaintext scopedPDU (DES: with its padding); :class:`UsmError` if it cannot be decrypted."""
        if len(priv_params) != 8:
            raise UsmError("decryption error: msgPrivacyParameters is not 8 octets")
        if self._aes is not None:
            iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + priv_params
            decryptor = Cipher(self._aes, CFB(iv)).decryptor()
            return decryptor.update(ciphertext) + decryptor.finalize()
        if self._des is None:
            raise UsmError("no privacy protocol")
        if len(ciphertext) % 8:
            raise UsmError("decryption error: DES ciphertext is not a whole number of blocks")
        iv = bytes(a ^ b for a, b in zip(self._pre_iv, priv_params, strict=True))
        decryptor = Cipher(self._des, CBC(iv)).decryptor()
        return decryptor.update(ciphertext) + decryptor.finalize()


class Credentials:
    """A USM user as both ends configure it: name, protocols and master keys, localised per engine id.

    Master keys (1 MiB of hashing each) are computed here, once; :meth:`keys` localises them to an engine
    id (two hashes) and caches the result. Raises :class:`UsmError` for an unknown protocol, a privacy
    protocol without authentication, or a password shorter than 8 characters.
    """

    __slots__ = ("_auth_master", "_local", "_priv_master", "auth", "level", "priv", "user")

    def __init__(
        self,
        user: str | bytes,
        auth_protocol: str | None = None,
        auth_password: str | bytes | None = None,
        priv_protocol: str | None = None,
        priv_password: str | bytes | None = None,
    ) -> None:
        self.user = user.encode() if isinstance(user, str) else bytes(user)
        if len(self.user) > _MAX_USER:
            raise UsmError(f"SNMPv3 user name longer than {_MAX_USER} octets")
        if auth_protocol is not None and auth_protocol not in AUTH:
            raise UsmError(f"unsupported SNMPv3 auth protocol {auth_protocol!r} (use one of {', '.join(AUTH)})")
        if priv_protocol is not None and priv_protocol not in PRIV:
            raise UsmError(f"unsupported SNMPv3 privacy protocol {priv_protocol!r} (use one of {', '.join(PRIV)})")
        if (auth_protocol is None) != (auth_password is None) or (priv_protocol is None) != (priv_password is None):
            raise UsmError("an SNMPv3 protocol needs its password and a password its protocol")
        if priv_protocol is not None and auth_protocol is None:
            raise UsmError("SNMPv3 privacy needs authentication (there is no noAuthPriv level)")
        self.auth = AUTH[auth_protocol] if auth_protocol else None
        self.priv = PRIV[priv_protocol] if priv_protocol else None
        self.level = (AUTH_FLAG if self.auth else 0) | (PRIV_FLAG if self.priv else 0)
        self._auth_master = self._priv_master = b""
        if self.auth is not None:
            assert auth_password is not None
            self._auth_master = password_to_key(_octets(auth_password), self.auth.hash)
            if self.priv is not None:
                assert priv_password is not None
                self._priv_master = password_to_key(_octets(priv_password), self.auth.hash)
        self._local: dict[bytes, LocalKeys] = {}

    def __repr__(self) -> str:
        auth = self.auth.name if self.auth else "noAuth"
        priv = self.priv.name if self.priv else "noPriv"
        return f"Credentials(user={self.user.decode(errors='replace')!r}, {auth}/{priv})"

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    def keys(self, engine_id: bytes) -> LocalKeys:
        """This user's keys localised to ``engine_id`` (cached)."""
        keys = self._local.get(engine_id)
        if keys is None:
            auth_key = priv_key = b""
            if self.auth is not None:
                auth_key = localize(self._auth_master, engine_id, self.auth.hash)
                if self.priv is not None:
                    priv_key = _localized_priv_key(self.priv, self.auth, self._priv_master, engine_id)
            keys = LocalKeys(self.auth, self.priv, auth_key, priv_key)
            if len(self._local) >= _KEY_CACHE_MAX:  # spoofed engine ids must not grow it without bound
                self._local.clear()
            self._local[engine_id] = keys
        return keys


def _octets(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else bytes(text)


def next_salt() -> int:
    """A fresh salt for :meth:`LocalKeys.encrypt` (a process-wide counter from a random start)."""
    return next(_salts)


# --------------------------------------------------------------------------------------------- messages
@dataclass(frozen=True, slots=True)
class Envelope:
    """An SNMPv3 message as parsed, before any check: header, security parameters, and the scopedPDU
    (``encrypted``: the ciphertext octets; otherwise the plaintext ScopedPDU TLV)."""

    msg_id: int
    max_size: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_params: bytes
    auth_offset: int  # where auth_params starts in the message: the HMAC covers it zeroed
    priv_params: bytes
    encrypted: bool
    payload: bytes

    @property
    def level(self) -> int:
        return self.flags & (AUTH_FLAG | PRIV_FLAG)


def msg_id_of(data: bytes) -> int | None:
    """The msgID of an SNMPv3 message, None for v1/v2c (the transport routes replies with it before any
    USM check). Raises :class:`BerError` on a truncated header."""
    try:
        n = data[1]
        pos = 2 if n < 0x80 else 2 + (n & 0x7F)
        if data[pos : pos + 3] != b"\x02\x01\x03":
            return None
        pos += 3
        if data[pos] != 0x30:
            raise BerError("msgGlobalData: expected SEQUENCE")
        n = data[pos + 1]
        pos += 2 if n < 0x80 else 2 + (n & 0x7F)
        size = data[pos + 1]
        if data[pos] != 0x02 or not 1 <= size <= 5 or pos + 2 + size > len(data):
            raise BerError("msgID: bad INTEGER")
        return int.from_bytes(data[pos + 2 : pos + 2 + size], "big", signed=True)
    except IndexError:
        raise BerError("truncated SNMPv3 header") from None


def parse_message(data: bytes) -> Envelope:
    """Walk an SNMPv3/USM message (RFC 3412 6, RFC 3414 2.4); :class:`BerError` if it is malformed."""
    try:
        size = len(data)
        start, end = read_tlv(data, 0, size, 0x30, "message")
        if end != size:
            raise BerError("trailing bytes after the message")
        version, pos = read_integer(data, start, end, 0, _MAX_INT32, "msgVersion")
        if version != 3:
            raise BerError(f"not SNMPv3 (version {version})")
        first, header_end = read_tlv(data, pos, end, 0x30, "msgGlobalData")
        msg_id, pos = read_integer(data, first, header_end, 0, _MAX_INT32, "msgID")
        max_size, pos = read_integer(data, pos, header_end, 484, _MAX_INT32, "msgMaxSize")
        first, pos = read_tlv(data, pos, header_end, 0x04, "msgFlags")
        if pos - first != 1:
            raise BerError("msgFlags must be one octet")
        flags = data[first]
        model, pos = read_integer(data, pos, header_end, 1, _MAX_INT32, "msgSecurityModel")
        if pos != header_end:
            raise BerError("trailing bytes in msgGlobalData")
        if model != USM:
            raise BerError(f"security model {model} is not USM")
        if flags & (AUTH_FLAG | PRIV_FLAG) == PRIV_FLAG:
            raise BerError("msgFlags: privacy without authentication")
        params, params_end = read_tlv(data, header_end, end, 0x04, "msgSecurityParameters")
        first, pos = read_tlv(data, params, params_end, 0x30, "UsmSecurityParameters")
        if pos != params_end:
            raise BerError("trailing bytes after UsmSecurityParameters")
        first, pos = read_tlv(data, first, params_end, 0x04, "msgAuthoritativeEngineID")
        engine_id = data[first:pos]
        boots, pos = read_integer(data, pos, params_end, 0, _MAX_INT32, "msgAuthoritativeEngineBoots")
        time, pos = read_integer(data, pos, params_end, 0, _MAX_INT32, "msgAuthoritativeEngineTime")
        first, pos = read_tlv(data, pos, params_end, 0x04, "msgUserName")
        user = data[first:pos]
        auth_offset, pos = read_tlv(data, pos, params_end, 0x04, "msgAuthenticationParameters")
        auth_params = data[auth_offset:pos]
        first, pos = read_tlv(data, pos, params_end, 0x04, "msgPrivacyParameters")
        priv_params = data[first:pos]
        if pos != params_end:
            raise BerError("trailing bytes in UsmSecurityParameters")
        if len(engine_id) > _MAX_ENGINE_ID or len(user) > _MAX_USER:
            raise BerError("engine id or user name too long")
        encrypted = bool(flags & PRIV_FLAG)
        first, pos = read_tlv(data, params_end, end, 0x04 if encrypted else 0x30, "msgData")
        if pos != end:
            raise BerError("trailing bytes after msgData")
        payload = data[first:end] if encrypted else data[params_end:end]
    except IndexError:
        raise BerError("truncated SNMPv3 message") from None
    return Envelope(msg_id, max_size, flags, engine_id, boots, time, user, auth_params, auth_offset,
                    priv_params, encrypted, payload)  # fmt: skip


def _octet_string(value: bytes) -> bytes:
    return b"\x04" + encode_length(len(value)) + value


def encode_message(
    msg_id: int,
    flags: int,
    engine_id: bytes,
    boots: int,
    time: int,
    user: bytes,
    scoped_pdu: bytes,
    keys: LocalKeys | None = None,
    *,
    salt: int | None = None,
    max_size: int = MAX_MESSAGE_SIZE,
) -> bytes:
    """An SNMPv3/USM message around an encoded ScopedPDU, encrypted and signed as ``flags`` say.

    The output is byte-identical to pysnmp's for the same fields and salt (AES; DES pads only to the next
    block where pysnmp always adds one). ``salt`` defaults to :func:`next_salt`.
    """
    level = flags & (AUTH_FLAG | PRIV_FLAG)
    if level and keys is None:
        raise UsmError(f"{LEVEL_NAMES.get(level, 'that security level')} needs keys")
    if level == PRIV_FLAG:
        raise UsmError("privacy without authentication")
    if not (0 <= boots <= _MAX_INT32 and 0 <= time <= _MAX_INT32):
        raise UsmError("engine boots/time out of range")
    priv_params = b""
    if level & PRIV_FLAG:
        assert keys is not None
        ciphertext, priv_params = keys.encrypt(scoped_pdu, boots, time, next_salt() if salt is None else salt)
        msg_data = _octet_string(ciphertext)
    else:
        msg_data = scoped_pdu
    mac_len = keys.mac_len if level and keys is not None else 0
    head = b"".join((_octet_string(engine_id), encode_integer(boots), encode_integer(time), _octet_string(user),
                     b"\x04", encode_length(mac_len)))  # fmt: skip
    tail = _octet_string(priv_params)
    usm_len = len(head) + mac_len + len(tail)
    usm_seq_head = b"\x30" + encode_length(usm_len)
    params_head = b"\x04" + encode_length(len(usm_seq_head) + usm_len)
    header = b"".join((encode_integer(msg_id), encode_integer(max_size), b"\x04\x01", bytes((flags,)),
                       b"\x02\x01\x03"))  # fmt: skip
    global_data = b"\x30" + encode_length(len(header)) + header
    before_mac = b"".join((b"\x02\x01\x03", global_data, params_head, usm_seq_head, head))
    body_len = len(before_mac) + mac_len + len(tail) + len(msg_data)
    outer = b"\x30" + encode_length(body_len)
    message = b"".join((outer, before_mac, bytes(mac_len), tail, msg_data))
    if not mac_len:
        return message
    assert keys is not None
    return keys.sign(message, len(outer) + len(before_mac))
