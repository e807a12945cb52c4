"""The echo packet and the Internet checksum (RFC 1071), checked against known values and round trips."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from netmon.collect.icmp import checksum, echo_request, parse_reply


def test_checksum_of_the_rfc_1071_example() -> None:
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum (with end-around carry) to ddf2; the checksum is ~ddf2
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


@given(st.binary(max_size=64))
def test_a_packet_with_its_checksum_sums_to_zero(data: bytes) -> None:
    padded = data + b"\0" * (len(data) % 2)
    with_sum = padded + struct.pack("!H", checksum(padded))
    assert checksum(with_sum) == 0


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_an_echo_request_is_valid_and_its_reply_parses_back(ident: int, seq: int) -> None:
    request = echo_request(False, ident, seq)
    assert request[0] == 8 and checksum(request) == 0
    reply = bytes([0x45]) + bytes(19) + bytes([0]) + request[1:]  # an IPv4 header, then type 0 (echo reply)
    assert parse_reply(reply, v6=False) == (ident, seq)
    assert parse_reply(bytes([0x45]) + bytes(19) + request, v6=False) is None  # a request is not a reply
    v6 = echo_request(True, ident, seq)
    assert v6[0] == 128 and parse_reply(bytes([129]) + v6[1:], v6=True) == (ident, seq)


def test_short_or_foreign_datagrams_are_ignored() -> None:
    assert parse_reply(b"", v6=False) is None
    assert parse_reply(bytes([0x45]) + bytes(22), v6=False) is None
    assert parse_reply(bytes([3, 1]) + bytes(6), v6=True) is None  # destination unreachable
