"""A narrow, fast BER codec for SNMP v1/v2c GET, GETNEXT, GETBULK and their responses, and the scoped PDUs
SNMPv3 carries (:mod:`netmon.collect.usm` wraps them in the v3 envelope).

Why: pysnmp/pyasn1 costs 50-200 µs of CPU per varbind to decode a response; the poller's budget is 30 µs
end to end and the simulated agent's is 25 µs per varbind served. This module handles only the handful of
message shapes those two need, walking the bytes directly. pysnmp stays the reference: the tests prove
byte-for-byte (encoding) and value-for-value (decoding) identity with pyasn1 on recorded net-snmp traffic
and on generated messages.

Decoding is stricter than pyasn1, with one deliberate exception, where net-snmp is lenient too: an unsigned
application type (Counter32, Gauge32, TimeTicks, Counter64) whose contents lack the leading zero octet that
BER needs for a value with its top bit set — ``41 04 FF 00 00 00`` for the Counter32 4278190080, which some
agents send — is read as the unsigned number the agent meant (net-snmp 5.9 prints the same; pyasn1 refuses
the whole message). Such values are counted (``Response.unpadded``) so the agent's fault shows. A value
that is too big for its type even read that way (``41 05 FF …``) is still refused: net-snmp truncates it to
32 bits, a wrong number that would corrupt every rate. Anything else it does not accept raises
:class:`BerError`. No I/O here.

Values are plain Python objects paired with their BER tag, so nothing is lost and the hot path builds
nothing but tuples: a varbind is ``(oid, tag, value)`` where ``value`` is

==========================================================  =================================
tag                                                         value
==========================================================  =================================
INTEGER, COUNTER32, GAUGE32, TIMETICKS, COUNTER64           ``int``
OCTET_STRING, OPAQUE, IP_ADDRESS (4 bytes)                  ``bytes``
OBJECT_IDENTIFIER                                           ``Oid`` (tuple of int)
NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW     ``None``
==========================================================  =================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, TypeAlias

from netmon.collect.oids import Oid

__all__ = [
    "COUNTER32",
    "COUNTER64",
    "END_OF_MIB_VIEW",
    "EXCEPTION_TAGS",
    "GAUGE32",
    "INTEGER",
    "IP_ADDRESS",
    "NO_SUCH_INSTANCE",
    "NO_SUCH_OBJECT",
    "NULL",
    "OBJECT_IDENTIFIER",
    "OCTET_STRING",
    "OPAQUE",
    "TIMETICKS",
    "V1",
    "V2C",
    "BerError",
    "Oid",
    "PduType",
    "Request",
    "Response",
    "ScopedPdu",
    "Value",
    "VarBind",
    "decode_request",
    "decode_response",
    "decode_scoped_pdu",
    "encode_integer",
    "encode_length",
    "encode_request",
    "encode_request_varbinds",
    "encode_response",
    "encode_response_from_encoded_varbinds",
    "encode_scoped_pdu",
    "encode_trap_v2c",
    "encode_varbind",
    "read_integer",
    "read_tlv",
]

V1: Final = 0
V2C: Final = 1

# Value tags (the BER identifier octet). Plain ints rather than an enum: they are compared per varbind.
INTEGER: Final = 0x02
OCTET_STRING: Final = 0x04
NULL: Final = 0x05
OBJECT_IDENTIFIER: Final = 0x06
IP_ADDRESS: Final = 0x40
COUNTER32: Final = 0x41
GAUGE32: Final = 0x42  # also Unsigned32, which shares the tag
TIMETICKS: Final = 0x43
OPAQUE: Final = 0x44
COUNTER64: Final = 0x46
NO_SUCH_OBJECT: Final = 0x80
NO_SUCH_INSTANCE: Final = 0x81
END_OF_MIB_VIEW: Final = 0x82

EXCEPTION_TAGS: Final = frozenset({NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW})
"""SNMPv2 varbind exceptions: the OID has no value (a walk ends at END_OF_MIB_VIEW)."""

Value: TypeAlias = int | bytes | Oid | None
VarBind: TypeAlias = tuple[Oid, int, Value]


class PduType(IntEnum):
    """The PDU tags this codec handles."""

    GET = 0xA0
    GETNEXT = 0xA1
    RESPONSE = 0xA2
    SET = 0xA3  # decoded in SNMPv3 scoped PDUs only, so the simulated agent can refuse it
    GETBULK = 0xA5
    TRAP_V2 = 0xA7
    REPORT = 0xA8  # SNMPv3 (RFC 3412): what an agent answers when USM refuses a request


class BerError(ValueError):
    """Malformed or unsupported message, or a value that cannot be encoded; decoding raises nothing else."""


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded GetResponse PDU with its message envelope."""

    version: int
    community: bytes
    pdu_type: PduType
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[VarBind]
    unpadded: int = 0
    """Unsigned values read without their leading zero octet (see the module docstring): the agent's fault."""


@dataclass(frozen=True, slots=True)
class ScopedPdu:
    """An SNMPv3 ScopedPDU (RFC 3412): the context and the PDU inside the USM envelope.

    ``field1``/``field2`` are error-status/error-index, or non-repeaters/max-repetitions for GETBULK.
    """

    context_engine_id: bytes
    context_name: bytes
    pdu_type: PduType
    request_id: int
    field1: int
    field2: int
    varbinds: list[VarBind]
    unpadded: int = 0
    """As :attr:`Response.unpadded`."""


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded GET/GETNEXT/GETBULK request; the request values (NULL by convention) are dropped.

    ``non_repeaters``/``max_repetitions`` occupy the PDU slots of error-status/error-index, so for GET and
    GETNEXT they hold whatever the manager sent there (normally 0) and should be ignored.
    """

    version: int
    community: bytes
    pdu_type: PduType
    request_id: int
    non_repeaters: int
    max_repetitions: int
    oids: list[Oid]


# --------------------------------------------------------------------------------------------------------
# Limits. pysnmp's constraints (RFC 1902/1905) where it has them; otherwise bounds that keep a hostile
# packet from costing more than its length.
# --------------------------------------------------------------------------------------------------------

_INT32: Final = (-(2**31), 2**31 - 1)
_UINT32: Final = (0, 2**32 - 1)
_UINT64: Final = (0, 2**64 - 1)
_MAX_BINDINGS: Final = 2**31 - 1
_MAX_INT_OCTETS: Final = 9  # Counter64 needs 9 (a leading 0x00); longer is padding or an attack
_MAX_LENGTH_OCTETS: Final = 4
_MAX_OID_ARCS: Final = 128  # RFC 2578 section 3.5; net-snmp's MAX_OID_LEN
_MAX_ARC_CONTINUATION_OCTETS: Final = 20  # pyasn1's limit, so both accept the same arcs
_MAX_ARC: Final = 2 ** (7 * (_MAX_ARC_CONTINUATION_OCTETS + 1)) - 1
_MAX_STRING: Final = 65535  # RFC 2578 OCTET STRING (SIZE (0..65535))

# SNMPv1 (RFC 1157) INTEGER is unbounded in pysnmp: bound it only by the octet limit.
_V1_INT_RANGES: Final[dict[int, tuple[int, int]]] = {
    INTEGER: (-(2 ** (8 * _MAX_INT_OCTETS - 1)), 2 ** (8 * _MAX_INT_OCTETS - 1) - 1),
    COUNTER32: _UINT32,
    GAUGE32: _UINT32,
    TIMETICKS: _UINT32,
}
_V2_INT_RANGES: Final[dict[int, tuple[int, int]]] = {
    INTEGER: _INT32,
    COUNTER32: _UINT32,
    GAUGE32: _UINT32,
    TIMETICKS: _UINT32,
    COUNTER64: _UINT64,
}
_V1_NULL_TAGS: Final = frozenset({NULL})
_V2_NULL_TAGS: Final = frozenset({NULL}) | EXCEPTION_TAGS
_OPAQUE_TAGS: Final = frozenset({OCTET_STRING, OPAQUE})  # bytes, any content
_STRING_TAGS: Final = _OPAQUE_TAGS | {IP_ADDRESS}

# First subidentifier octet (< 0x80) -> first two arcs (X.690 8.19.4).
_FIRST_ARCS: Final = tuple((b // 40, b % 40) if b < 80 else (2, b - 80) for b in range(128))

_PDU_BY_TAG: Final = {int(t): t for t in PduType}
_REQUEST_TAGS: Final = frozenset({PduType.GET, PduType.GETNEXT, PduType.GETBULK})
_RESPONSE_TAGS: Final = frozenset({PduType.RESPONSE})


# --------------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------------


def _long_length(data: bytes, pos: int) -> tuple[int, int]:
    """Decode the long form of a length whose first octet (>= 0x80) is at ``pos``: (length, next pos)."""
    count = data[pos] & 0x7F
    if count == 0:
        raise BerError("indefinite length not allowed")
    if count > _MAX_LENGTH_OCTETS:
        raise BerError("length field too long")
    end = pos + 1 + count
    if end > len(data):
        raise BerError("truncated length")
    return int.from_bytes(data[pos + 1 : end], "big"), end


def _enter(data: bytes, pos: int, limit: int, tag: int, what: str) -> tuple[int, int]:
    """Check the tag at ``pos`` and return the (start, end) of its contents, which must end by ``limit``."""
    if data[pos] != tag:
        raise BerError(f"{what}: expected tag 0x{tag:02x}, got 0x{data[pos]:02x}")
    n = data[pos + 1]
    if n < 0x80:
        start = pos + 2
    else:
        n, start = _long_length(data, pos + 1)
    end = start + n
    if end > limit:
        raise BerError(f"{what}: length overruns its container")
    return start, end


def _integer(data: bytes, pos: int, limit: int, lo: int, hi: int, what: str) -> tuple[int, int]:
    """Decode an INTEGER at ``pos`` within [lo, hi]: (value, next pos)."""
    start, end = _enter(data, pos, limit, INTEGER, what)
    if not 0 < end - start <= _MAX_INT_OCTETS:
        raise BerError(f"{what}: bad INTEGER length {end - start}")
    value = int.from_bytes(data[start:end], "big", signed=True)
    if not lo <= value <= hi:
        raise BerError(f"{what}: {value} out of range")
    return value, end


read_tlv = _enter
"""Public name for :mod:`netmon.collect.usm`, which walks the SNMPv3 envelope with the same checks."""
read_integer = _integer


def _decode_oid(raw: bytes) -> Oid:
    """Decode OID contents. Arcs < 128 (the common case) take a C-speed path."""
    if raw.isascii():  # no octet has the continuation bit: one octet per arc
        if not raw:
            raise BerError("empty OBJECT IDENTIFIER")
        if len(raw) < _MAX_OID_ARCS:
            return _FIRST_ARCS[raw[0]] + tuple(raw[1:])
    arcs: list[int] = []
    arc = 0
    continuation = 0
    for octet in raw:
        if octet & 0x80:
            if continuation == 0 and octet == 0x80:
                raise BerError("OID arc with a leading 0x80 octet")
            continuation += 1
            if continuation > _MAX_ARC_CONTINUATION_OCTETS:
                raise BerError("OID arc too large")
            arc = (arc << 7) | (octet & 0x7F)
        else:
            arcs.append((arc << 7) | octet)
            arc = 0
            continuation = 0
    if continuation:
        raise BerError("truncated OID arc")
    if len(arcs) >= _MAX_OID_ARCS:
        raise BerError("OBJECT IDENTIFIER has too many arcs")
    first = arcs[0]
    arcs[0:1] = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return tuple(arcs)


def _varbinds(data: bytes, pos: int, end: int, version: int) -> tuple[list[VarBind], int]:
    """Decode the varbinds between ``pos`` and ``end``, and count the unsigned values read without their
    leading zero octet; inlined, since this loop is the whole cost."""
    int_ranges = _V2_INT_RANGES if version else _V1_INT_RANGES
    null_tags = _V2_NULL_TAGS if version else _V1_NULL_TAGS
    unpadded = 0
    out: list[VarBind] = []
    append = out.append
    value: Value
    while pos < end:
        if data[pos] != 0x30:
            raise BerError("varbind: expected SEQUENCE")
        n = data[pos + 1]
        if n < 0x80:
            pos += 2
        else:
            n, pos = _long_length(data, pos + 1)
        vb_end = pos + n
        if vb_end > end:
            raise BerError("varbind: length overruns the list")

        if data[pos] != OBJECT_IDENTIFIER:
            raise BerError("varbind name: expected OBJECT IDENTIFIER")
        n = data[pos + 1]
        if n < 0x80:
            pos += 2
        else:
            n, pos = _long_length(data, pos + 1)
        name_end = pos + n
        if name_end > vb_end:
            raise BerError("varbind name: length overruns the varbind")
        oid = _decode_oid(data[pos:name_end])

        tag = data[name_end]
        n = data[name_end + 1]
        if n < 0x80:
            pos = name_end + 2
        else:
            n, pos = _long_length(data, name_end + 1)
        if pos + n != vb_end:
            raise BerError("varbind value: length does not match the varbind")

        bounds = int_ranges.get(tag)
        if bounds is not None:
            if n == 0 or n > _MAX_INT_OCTETS:
                raise BerError(f"varbind value: bad integer length {n}")
            value = int.from_bytes(data[pos:vb_end], "big", signed=True)
            if not bounds[0] <= value <= bounds[1]:
                if value < 0 and bounds[0] == 0:  # an unsigned type without its leading zero octet: what net-snmp reads
                    value += 1 << (8 * n)
                    unpadded += 1
                if not bounds[0] <= value <= bounds[1]:
                    raise BerError(f"varbind value: {value} out of range for tag 0x{tag:02x}")
        elif tag in _OPAQUE_TAGS:
            if n > _MAX_STRING:
                raise BerError("varbind value: OCTET STRING longer than 65535")
            value = data[pos:vb_end]
        elif tag in null_tags:
            if n:
                raise BerError("varbind value: NULL with contents")
            value = None
        elif tag == OBJECT_IDENTIFIER:
            value = _decode_oid(data[pos:vb_end])
        elif tag == IP_ADDRESS:
            if n != 4:
                raise BerError("varbind value: IpAddress must be 4 octets")
            value = data[pos:vb_end]
        else:
            raise BerError(f"varbind value: unsupported tag 0x{tag:02x} in SNMP version {version}")
        append((oid, tag, value))
        pos = vb_end
    return out, unpadded


def _pdu(
    data: bytes, pos: int, end: int, pdu_tags: frozenset[PduType], version: int
) -> tuple[PduType, int, int, int, list[VarBind], int]:
    """Decode the PDU at ``pos``, which must fill the rest of its container up to ``end``."""
    pdu_type = _PDU_BY_TAG.get(data[pos])
    if pdu_type is None or pdu_type not in pdu_tags or (pdu_type is PduType.GETBULK and version == V1):
        raise BerError(f"unexpected PDU tag 0x{data[pos]:02x} for SNMP version {version}")
    pos, pdu_end = _enter(data, pos, end, pdu_type, "PDU")
    if pdu_end != end:
        raise BerError("trailing bytes after the PDU")
    request_id, pos = _integer(data, pos, end, *_INT32, "request-id")
    field1, pos = _integer(data, pos, end, 0, _MAX_BINDINGS, "error-status/non-repeaters")
    field2, pos = _integer(data, pos, end, 0, _MAX_BINDINGS, "error-index/max-repetitions")
    pos, list_end = _enter(data, pos, end, 0x30, "varbind list")
    if list_end != end:
        raise BerError("trailing bytes after the varbind list")
    return pdu_type, request_id, field1, field2, *_varbinds(data, pos, end, version)


def _decode(
    data: bytes | bytearray | memoryview, pdu_tags: frozenset[PduType]
) -> tuple[int, bytes, PduType, int, int, int, list[VarBind], int]:
    """Decode a whole message whose PDU tag is one of ``pdu_tags``."""
    if not isinstance(data, bytes):
        data = bytes(data)
    try:
        size = len(data)
        start, end = _enter(data, 0, size, 0x30, "message")
        if end != size:
            raise BerError("trailing bytes after the message")
        version, pos = _integer(data, start, end, *_INT32, "version")
        if version != V1 and version != V2C:
            raise BerError(f"unsupported SNMP version {version}")
        start, pos = _enter(data, pos, end, OCTET_STRING, "community")
        community = data[start:pos]
        pdu_type, request_id, field1, field2, varbinds, unpadded = _pdu(data, pos, end, pdu_tags, version)
    except IndexError:
        raise BerError("truncated message") from None
    return version, community, pdu_type, request_id, field1, field2, varbinds, unpadded


def decode_response(data: bytes | bytearray | memoryview) -> Response:
    """Decode a v1/v2c GetResponse. Raises :class:`BerError` on anything else or anything malformed."""
    return Response(*_decode(data, _RESPONSE_TAGS))


def decode_request(data: bytes | bytearray | memoryview) -> Request:
    """Decode a v1/v2c GET, GETNEXT or (v2c) GETBULK request, for the simulated agent."""
    version, community, pdu_type, request_id, field1, field2, varbinds, _ = _decode(data, _REQUEST_TAGS)
    return Request(version, community, pdu_type, request_id, field1, field2, [vb[0] for vb in varbinds])


_SCOPED_TAGS: Final = frozenset(PduType)


def decode_scoped_pdu(
    data: bytes, pdu_tags: frozenset[PduType] = _SCOPED_TAGS, *, padded: bool = False
) -> ScopedPdu:
    """Decode an SNMPv3 ScopedPDU (plaintext, or as decrypted). ``padded``: bytes after the SEQUENCE are
    cipher padding (DES-CBC, RFC 3414 8.1.1.2) and ignored; otherwise they are an error."""
    try:
        start, end = _enter(data, 0, len(data), 0x30, "scopedPDU")
        if end != len(data) and not padded:
            raise BerError("trailing bytes after the scopedPDU")
        first, pos = _enter(data, start, end, OCTET_STRING, "contextEngineID")
        engine_id = data[first:pos]
        first, pos = _enter(data, pos, end, OCTET_STRING, "contextName")
        name = data[first:pos]
        pdu_type, request_id, field1, field2, varbinds, unpadded = _pdu(data, pos, end, pdu_tags, V2C)
    except IndexError:
        raise BerError("truncated scopedPDU") from None
    return ScopedPdu(engine_id, name, pdu_type, request_id, field1, field2, varbinds, unpadded)


# --------------------------------------------------------------------------------------------------------
# Encoding. Output is byte-identical to pyasn1's BER encoder (definite, minimal lengths; INTEGER in the
# fewest octets pyasn1 uses, which for negative powers of two such as -128 is one more than DER's).
# --------------------------------------------------------------------------------------------------------

_LENGTHS: Final = tuple(bytes((n,)) if n < 0x80 else bytes((0x81, n)) for n in range(256))
_VERSION_TLVS: Final = (b"\x02\x01\x00", b"\x02\x01\x01")
_NULL_VALUE: Final = b"\x05\x00"
_REQUEST_CACHE_MAX: Final = 100_000
_request_varbinds: dict[Oid, bytes] = {}  # OID -> encoded "OID = NULL" varbind; pollers reuse OIDs


def _length(n: int) -> bytes:
    """Definite-form length octets, minimal as pyasn1 writes them."""
    if n < 256:
        return _LENGTHS[n]
    size = (n.bit_length() + 7) // 8
    if size > _MAX_LENGTH_OCTETS:
        raise BerError("element too long")
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


encode_length = _length
"""Public name for agents that assemble varbinds from pre-encoded parts (the simulator's MIB layouts)."""


def _int_contents(value: int) -> bytes:
    """Two's complement contents as pyasn1 writes them (``to_bytes`` of ``bit_length() + 1`` bits)."""
    return value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)


def _int_tlv(value: int) -> bytes:
    contents = _int_contents(value)
    return b"\x02" + _LENGTHS[len(contents)] + contents


encode_integer = _int_tlv
"""An INTEGER TLV as pyasn1 writes it (the SNMPv3 header's fields)."""


def _oid_contents(oid: Oid) -> bytes:
    """Encode OID contents; raise :class:`BerError` where pyasn1 would raise or we would not decode."""
    if not 2 <= len(oid) <= _MAX_OID_ARCS:
        raise BerError(f"OBJECT IDENTIFIER must have 2..{_MAX_OID_ARCS} arcs, got {len(oid)}")
    first, second = oid[0], oid[1]
    if first not in (0, 1, 2) or second < 0 or (first < 2 and second > 39):
        raise BerError(f"impossible first arcs {first}.{second}")
    arcs = (first * 40 + second, *oid[2:])
    if min(arcs) < 0:
        raise BerError("negative OID arc")
    if max(arcs) < 0x80:
        return bytes(arcs)
    if max(arcs) > _MAX_ARC:
        raise BerError("OID arc too large")
    out = bytearray()
    for arc in arcs:
        if arc < 0x80:
            out.append(arc)
        else:
            septets = []
            while arc:
                septets.append(arc & 0x7F | 0x80)
                arc >>= 7
            septets[0] &= 0x7F
            out.extend(reversed(septets))
    return bytes(out)


def _value_contents(tag: int, value: Value) -> bytes:
    """Contents octets of a varbind value, checked against its tag and pysnmp's constraints."""
    bounds = _V2_INT_RANGES.get(tag)
    if bounds is not None:
        if not isinstance(value, int):
            raise BerError(f"tag 0x{tag:02x} needs an int, got {type(value).__name__}")
        if not bounds[0] <= value <= bounds[1]:
            raise BerError(f"{value} out of range for tag 0x{tag:02x}")
        return _int_contents(value)
    if tag in _STRING_TAGS:
        if not isinstance(value, bytes | bytearray):
            raise BerError(f"tag 0x{tag:02x} needs bytes, got {type(value).__name__}")
        if tag == IP_ADDRESS and len(value) != 4:
            raise BerError("IpAddress must be 4 octets")
        if len(value) > _MAX_STRING:
            raise BerError("OCTET STRING longer than 65535")
        return bytes(value)
    if tag == OBJECT_IDENTIFIER:
        if not isinstance(value, tuple):
            raise BerError(f"OBJECT IDENTIFIER value must be a tuple, got {type(value).__name__}")
        return _oid_contents(value)
    if tag in _V2_NULL_TAGS:
        if value is not None:
            raise BerError(f"tag 0x{tag:02x} needs None")
        return b""
    raise BerError(f"unsupported tag 0x{tag:02x}")


def encode_varbind(oid: Oid, tag: int, value: Value) -> bytes:
    """Encode one varbind. The agent encodes its data once and reuses the bytes in every response.

    Values are checked against pysnmp's SNMPv2 constraints (INTEGER is Integer32 here for both versions).
    """
    name = _oid_contents(oid)
    contents = _value_contents(tag, value)
    body = b"".join((b"\x06", _length(len(name)), name, bytes((tag,)), _length(len(contents)), contents))
    return b"\x30" + _length(len(body)) + body


def _request_varbind(oid: Oid) -> bytes:
    encoded = _request_varbinds.get(oid)
    if encoded is None:
        name = _oid_contents(oid)
        body = b"\x06" + _length(len(name)) + name + _NULL_VALUE
        encoded = b"\x30" + _length(len(body)) + body
        if len(_request_varbinds) >= _REQUEST_CACHE_MAX:
            _request_varbinds.clear()
        _request_varbinds[oid] = encoded
    return encoded


def encode_request_varbinds(oids: Sequence[Oid]) -> list[bytes]:
    """``OID = NULL`` varbinds for a request (cached per OID, as :func:`encode_request` uses them)."""
    return [_request_varbind(oid) for oid in oids]


def _pdu_head(pdu_type: int, request_id: int, field1: int, field2: int, bindings_len: int) -> bytes:
    """The PDU's tag, length and fixed fields up to the varbind list's length octets."""
    if not _INT32[0] <= request_id <= _INT32[1]:
        raise BerError(f"request-id {request_id} out of Integer32 range")
    if not (0 <= field1 <= _MAX_BINDINGS and 0 <= field2 <= _MAX_BINDINGS):
        raise BerError("error-status/error-index/non-repeaters/max-repetitions out of range")
    fields = b"".join((_int_tlv(request_id), _int_tlv(field1), _int_tlv(field2), b"\x30", _length(bindings_len)))
    return bytes((pdu_type,)) + _length(len(fields) + bindings_len) + fields


def encode_scoped_pdu(
    context_engine_id: bytes,
    context_name: bytes,
    pdu_type: PduType,
    request_id: int,
    field1: int,
    field2: int,
    encoded_varbinds: Sequence[bytes],
) -> bytes:
    """An SNMPv3 ScopedPDU around varbinds from :func:`encode_varbind` / :func:`encode_request_varbinds`."""
    bindings = b"".join(encoded_varbinds)
    body = b"".join((
        b"\x04", _length(len(context_engine_id)), context_engine_id,
        b"\x04", _length(len(context_name)), context_name,
        _pdu_head(pdu_type, request_id, field1, field2, len(bindings)),
    ))  # fmt: skip
    return b"".join((b"\x30", _length(len(body) + len(bindings)), body, bindings))


def _message(
    version: int,
    community: bytes,
    pdu_type: int,
    request_id: int,
    field1: int,
    field2: int,
    encoded_varbinds: Sequence[bytes],
) -> bytes:
    if version != V1 and version != V2C:
        raise BerError(f"unsupported SNMP version {version}")
    if not _INT32[0] <= request_id <= _INT32[1]:
        raise BerError(f"request-id {request_id} out of Integer32 range")
    if not (0 <= field1 <= _MAX_BINDINGS and 0 <= field2 <= _MAX_BINDINGS):
        raise BerError("error-status/error-index/non-repeaters/max-repetitions out of range")
    bindings = b"".join(encoded_varbinds)
    head = b"".join(
        (_int_tlv(request_id), _int_tlv(field1), _int_tlv(field2), b"\x30", _length(len(bindings)))
    )
    pdu_len = len(head) + len(bindings)
    envelope = b"".join(
        (
            _VERSION_TLVS[version],
            b"\x04",
            _length(len(community)),
            community,
            bytes((pdu_type,)),
            _length(pdu_len),
        )
    )
    return b"".join((b"\x30", _length(len(envelope) + pdu_len), envelope, head, bindings))


def encode_request(
    version: int,
    community: bytes,
    request_id: int,
    pdu_type: PduType,
    oids: Sequence[Oid],
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """Encode a GET/GETNEXT/GETBULK request with NULL values, as pysnmp does; OID encodings are cached."""
    if pdu_type not in _REQUEST_TAGS:
        raise BerError(f"not a request PDU type: {pdu_type!r}")
    if pdu_type is PduType.GETBULK:
        if version != V2C:
            raise BerError("GETBULK needs SNMP v2c")
    elif non_repeaters or max_repetitions:
        raise BerError("non_repeaters/max_repetitions apply to GETBULK only")
    return _message(
        version,
        community,
        pdu_type,
        request_id,
        non_repeaters,
        max_repetitions,
        [_request_varbind(oid) for oid in oids],
    )


def encode_response_from_encoded_varbinds(
    version: int,
    community: bytes,
    request_id: int,
    error_status: int,
    error_index: int,
    encoded_varbinds: Sequence[bytes],
) -> bytes:
    """Assemble a GetResponse around varbinds from :func:`encode_varbind` (trusted, not re-checked)."""
    return _message(
        version, community, PduType.RESPONSE, request_id, error_status, error_index, encoded_varbinds
    )


def encode_response(
    version: int,
    community: bytes,
    request_id: int,
    error_status: int,
    error_index: int,
    varbinds: Iterable[VarBind],
) -> bytes:
    """Encode a GetResponse from ``(oid, tag, value)`` triples; v1 refuses Counter64 and the exceptions."""
    encoded = []
    for oid, tag, value in varbinds:
        if version == V1 and (tag == COUNTER64 or tag in EXCEPTION_TAGS):
            raise BerError(f"tag 0x{tag:02x} does not exist in SNMPv1")
        encoded.append(encode_varbind(oid, tag, value))
    return encode_response_from_encoded_varbinds(
        version, community, request_id, error_status, error_index, encoded
    )


TRAP_V2: Final = 0xA7


def encode_trap_v2c(community: bytes, request_id: int, encoded_varbinds: Sequence[bytes]) -> bytes:
    """An SNMPv2-Trap message (RFC 3416) around varbinds from :func:`encode_varbind`.

    The varbinds must start with sysUpTime.0 and snmpTrapOID.0, as the RFC requires; the simulated
    devices use this to send linkDown/linkUp/coldStart.
    """
    return _message(V2C, community, TRAP_V2, request_id, 0, 0, encoded_varbinds)
