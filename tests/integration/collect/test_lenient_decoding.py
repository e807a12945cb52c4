"""Where netmon's BER decoder is lenient it reads what net-snmp reads, and where it refuses net-snmp would
have been wrong: each crafted encoding is served by a small UDP agent on loopback and read by net-snmp's own
``snmpget`` and by ``netmon.collect.ber``.

Some agents drop the leading zero octet of an unsigned value with its top bit set (a Counter32 of 2**31 or
more sent as ``41 04 FF …``). net-snmp 5.9 reads the unsigned number; pyasn1 refuses the whole reply (the
device would look dead). A value too big for its type even read that way (``41 05 FF …``) net-snmp truncates
to 32 bits: a wrong counter — netmon refuses it.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
from requirements import require_tool

from netmon.collect import ber
from netmon.collect.oids import format_oid

pytestmark = pytest.mark.integration

COLUMN = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10)
# row -> (value TLV as the agent sends it, what both must read; None: netmon refuses the reply)
CASES: dict[int, tuple[bytes, int | None]] = {
    1: (bytes.fromhex("4104ff000000"), 0xFF00_0000),
    2: (bytes.fromhex("410480000001"), 2**31 + 1),
    3: (bytes.fromhex("4101ff"), 255),
    4: (bytes.fromhex("41028000"), 32768),
    5: (bytes.fromhex("4204ffffffff"), 2**32 - 1),
    6: (bytes.fromhex("4304deadbeef"), 0xDEADBEEF),
    7: (bytes.fromhex("4608ff00000000000001"), (0xFF << 56) + 1),
    8: (bytes.fromhex("4601ff"), 255),
    9: (bytes.fromhex("410500ff000000"), 0xFF00_0000),  # padded: the normal encoding
    10: (bytes.fromhex("4105ff00000000"), None),  # net-snmp truncates this to 0
    11: (bytes.fromhex("420501ffffffff"), None),  # net-snmp: 4294967295 (2**33 - 1 truncated)
}
TYPES = {0x41: "Counter32", 0x42: "Gauge32", 0x43: "Timeticks", 0x46: "Counter64"}


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + ber.encode_length(len(body)) + body


def _reply(request: bytes) -> bytes:
    req = ber.decode_request(request)
    varbinds = b""
    for oid in req.oids:
        name = ber.encode_varbind(oid, ber.NULL, None)[2:-2]  # the OID TLV of "oid = NULL"
        value = CASES[oid[-1]][0] if oid[:-1] == COLUMN and oid[-1] in CASES else b"\x80\x00"
        varbinds += _tlv(0x30, name + value)
    pdu = _tlv(0xA2, ber.encode_integer(req.request_id) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbinds))
    return _tlv(0x30, ber.encode_integer(req.version) + _tlv(0x04, req.community) + pdu)


@pytest.fixture(scope="module")
def agent() -> Iterator[int]:
    """A UDP agent on 127.0.0.1 answering GETs with the crafted values; yields its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            sock.sendto(_reply(data), addr)

    thread = threading.Thread(target=serve, name="crafted-agent", daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def _snmpget(port: int, row: int) -> str:
    snmpget = require_tool("snmpget", "snmp")
    proc = subprocess.run([snmpget, "-v2c", "-c", "public", "-m", "", "-On", "-r", "0", "-t", "1",
                           f"127.0.0.1:{port}", format_oid((*COLUMN, row))],
                          capture_output=True, text=True, timeout=10, check=False)
    return proc.stdout.strip() or proc.stderr.strip()


@pytest.mark.parametrize("row", sorted(CASES))
def test_netmon_reads_what_net_snmp_reads_or_refuses_what_net_snmp_gets_wrong(agent: int, row: int) -> None:
    value_tlv, expected = CASES[row]
    printed = _snmpget(agent, row)
    match = re.search(rf"= {TYPES[value_tlv[0]]}: (?:\((\d+)\)|(\d+))", printed)
    assert match is not None, printed
    net_snmp = int(match.group(1) or match.group(2))
    request = ber.encode_request(1, b"public", 7, ber.PduType.GET, [(*COLUMN, row)])
    if expected is None:
        assert net_snmp != int.from_bytes(value_tlv[2:], "big")  # net-snmp's number is not the one sent
        with pytest.raises(ber.BerError):
            ber.decode_response(_reply(request))
        return
    response = ber.decode_response(_reply(request))
    assert net_snmp == expected
    assert response.varbinds == [((*COLUMN, row), value_tlv[0], expected)]
    assert response.unpadded == (1 if value_tlv[2] & 0x80 else 0)
