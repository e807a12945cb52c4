"""Proof that ``netmon.collect.usm`` is the USM of the RFCs and of pysnmp, the reference implementation.

* Test vectors: RFC 3414 appendix A.3 (password to key, localisation).
* Keys: for every auth and privacy protocol (both AES-192/256 key extensions), localised keys equal
  pysnmp's, for generated passwords and engine ids.
* Whole messages, both ways, through pysnmp's own USM (``SnmpUSMSecurityModel``, not a re-implementation):
  pysnmp's authoritative engine accepts the requests we encode (digest, time window, decryption) and finds
  our scopedPDU in them; we accept the responses it generates and, with its salt, encode the very same bytes.
* Robustness: a flipped bit anywhere in an authenticated message fails our checks (never an exception
  other than BerError, never acceptance); truncation is a BerError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.entity import config, engine
from pysnmp.proto.api import v2c
from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
from pysnmp.proto.secmod.eso.priv import aes192, aes256
from pysnmp.proto.secmod.rfc3414.priv import des
from pysnmp.proto.secmod.rfc3826.priv import aes

from netmon.collect import ber, usm
from netmon.collect.ber import BerError, PduType
from netmon.collect.usm import AUTH_FLAG, PRIV_FLAG, REPORTABLE_FLAG, Credentials, UsmError

AUTH_IDS = {
    "MD5": config.USM_AUTH_HMAC96_MD5,
    "SHA": config.USM_AUTH_HMAC96_SHA,
    "SHA224": config.USM_AUTH_HMAC128_SHA224,
    "SHA256": config.USM_AUTH_HMAC192_SHA256,
    "SHA384": config.USM_AUTH_HMAC256_SHA384,
    "SHA512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV_IDS = {
    "DES": config.USM_PRIV_CBC56_DES,
    "AES": config.USM_PRIV_CFB128_AES,
    "AES192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "AES192C": config.USM_PRIV_CFB192_AES,  # pysnmp's plain name is the Reeder variant
    "AES256C": config.USM_PRIV_CFB256_AES,
}
PRIV_SERVICES = {
    "DES": des.Des(), "AES": aes.Aes(), "AES192": aes192.AesBlumenthal192(), "AES256": aes256.AesBlumenthal256(),
    "AES192C": aes192.Aes192(), "AES256C": aes256.Aes256(),
}  # fmt: skip
ENGINE_IDS = (bytes.fromhex("80001f8880e9bd0c1d12667a5100000000"), bytes.fromhex("800007e580ad6d5b3c9e0a1f22"),
              b"\x80\x00\x4f\xb8\x05netmon-test!")  # fmt: skip
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)

passwords = st.binary(min_size=8, max_size=40)
engine_ids = st.binary(min_size=5, max_size=32)
auths = st.sampled_from(sorted(AUTH_IDS))
privs = st.sampled_from([None, *sorted(PRIV_IDS)])
oid_strategy = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=12).map(lambda arcs: (1, 3, 6, 1, *arcs))
varbind_strategy = st.one_of(
    st.tuples(oid_strategy, st.just(ber.INTEGER), st.integers(-(2**31), 2**31 - 1)),
    st.tuples(oid_strategy, st.just(ber.OCTET_STRING), st.binary(max_size=300)),
    st.tuples(oid_strategy, st.just(ber.COUNTER64), st.integers(0, 2**64 - 1)),
    st.tuples(oid_strategy, st.just(ber.END_OF_MIB_VIEW), st.none()),
)


# ------------------------------------------------------------------------------------------ vectors
def test_rfc3414_appendix_a3_vectors() -> None:
    engine_id = bytes(11) + b"\x02"
    md5 = usm.password_to_key(b"maplesyrup", "md5")
    assert md5.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert usm.localize(md5, engine_id, "md5").hex() == "526f5eed9fcce26f8964c2930787d82b"
    sha = usm.password_to_key(b"maplesyrup", "sha1")
    assert sha.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert usm.localize(sha, engine_id, "sha1").hex() == "6695febc9288e36282235fc7151f128497b38f3f"


@settings(max_examples=40, deadline=None)
@given(auth=auths, priv=privs, auth_password=passwords, priv_password=passwords, engine_id=engine_ids)
def test_localised_keys_equal_pysnmp(auth: str, priv: str | None, auth_password: bytes, priv_password: bytes,
                                     engine_id: bytes) -> None:
    creds = Credentials("u", auth, auth_password, priv, priv_password if priv else None)
    keys = creds.keys(engine_id)
    auth_service = config.AUTH_SERVICES[AUTH_IDS[auth]]
    expected = auth_service.localize_key(auth_service.hash_passphrase(auth_password), univ.OctetString(engine_id))
    assert keys._auth_key == bytes(expected)
    if priv is not None:
        service, auth_id = PRIV_SERVICES[priv], AUTH_IDS[auth]
        expected = service.localize_key(auth_id, service.hash_passphrase(auth_id, priv_password),
                                         univ.OctetString(engine_id))  # fmt: skip
        ours = keys._aes.key if keys._aes is not None else keys._des.key[:8] + keys._pre_iv  # type: ignore[union-attr]
        assert ours == bytes(expected)
    assert creds.keys(engine_id) is keys  # cached


def test_the_two_aes_key_extensions_differ_only_for_short_hashes() -> None:
    eid = ENGINE_IDS[0]
    for auth, differ in (("MD5", True), ("SHA", True), ("SHA256", False), ("SHA512", False)):
        blumenthal = Credentials("u", auth, "authpass1", "AES256", "privpass1").keys(eid)._aes
        reeder = Credentials("u", auth, "authpass1", "AES256C", "privpass1").keys(eid)._aes
        assert blumenthal is not None and reeder is not None
        assert (blumenthal.key != reeder.key) is differ, auth


def test_bad_credentials_are_refused_without_the_secret() -> None:
    with pytest.raises(UsmError, match="shorter than 8") as info:
        Credentials("u", "SHA256", "short-1")
    assert "short-1" not in str(info.value)
    with pytest.raises(UsmError, match="unsupported SNMPv3 privacy protocol 'AES512'"):
        Credentials("u", "SHA256", "long-enough", "AES512", "long-enough")
    with pytest.raises(UsmError, match="privacy needs authentication"):
        Credentials("u", None, None, "AES", "long-enough")
    creds = Credentials("netmon", "SHA256", "secret-auth-1", "AES", "secret-priv-1")
    keys = creds.keys(ENGINE_IDS[0])
    text = repr(creds) + str(creds) + repr(keys) + str(keys)
    assert text == "Credentials(user='netmon', SHA256/AES)Credentials(user='netmon', SHA256/AES)" \
                   "LocalKeys(SHA256/AES)LocalKeys(SHA256/AES)"


# ------------------------------------------------------------------------------------ whole messages
_engines: dict[bytes, Any] = {}
_users = iter(range(10**9))


def _pysnmp_engine(engine_id: bytes) -> Any:
    """An authoritative pysnmp engine (no transport): its USM is the oracle."""
    if engine_id not in _engines:
        _engines[engine_id] = engine.SnmpEngine(snmpEngineID=v2c.OctetString(engine_id))
    return _engines[engine_id]


def _boots_time(eng: Any) -> tuple[int, int]:
    boots, etime = eng.get_mib_builder().import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots", "snmpEngineTime")
    return int(boots.syntax), int(etime.syntax.clone())  # pysnmp computes the time in clone()


def _pysnmp_scoped(data: bytes) -> bytes:
    """A scopedPDU object as pysnmp hands it over, back to bytes (pyasn1's encoding)."""
    return bytes(encoder.encode(data))


@pytest.fixture(scope="module", autouse=True)
def _close_engines() -> Iterator[None]:
    yield
    _engines.clear()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(auth=st.one_of(st.none(), auths), priv=privs, engine_id=st.sampled_from(ENGINE_IDS),
       msg_id=st.integers(0, 2**31 - 1), varbinds=st.lists(varbind_strategy, max_size=8),
       auth_password=passwords, priv_password=passwords, salt=st.integers(0, 2**64 - 1))  # fmt: skip
def test_whole_messages_both_ways_through_pysnmp(
    auth: str | None, priv: str | None, engine_id: bytes, msg_id: int, varbinds: list[ber.VarBind],
    auth_password: bytes, priv_password: bytes, salt: int,
) -> None:
    if auth is None:
        priv = None
    eng = _pysnmp_engine(engine_id)
    user = f"user{next(_users)}"
    config.add_v3_user(
        eng, user,
        AUTH_IDS[auth] if auth else config.USM_AUTH_NONE, auth_password if auth else None,
        PRIV_IDS[priv] if priv else config.USM_PRIV_NONE, priv_password if priv else None,
    )  # fmt: skip
    creds = Credentials(user, auth, auth_password if auth else None, priv, priv_password if priv else None)
    keys = creds.keys(engine_id) if creds.level else None
    sm = eng.security_models[3]
    boots, etime = _boots_time(eng)

    # our request -> pysnmp, authoritative: digest, time window and decryption all accepted
    oids = [vb[0] for vb in varbinds] or [SYS_NAME]
    scoped = ber.encode_scoped_pdu(engine_id, b"", PduType.GETBULK, msg_id, 0, 10, ber.encode_request_varbinds(oids))
    request = usm.encode_message(msg_id, creds.level | REPORTABLE_FLAG, engine_id, boots, etime, creds.user, scoped,
                                 keys, salt=salt)  # fmt: skip
    message, rest = decoder.decode(request, asn1Spec=SNMPv3Message())
    assert not rest
    assert bytes(encoder.encode(message)) == request  # the envelope is DER-identical to pyasn1's
    accepted = sm.process_incoming_message(eng, 3, usm.MAX_MESSAGE_SIZE, message.getComponentByPosition(2), 3,
                                           {0: 1, AUTH_FLAG: 2, AUTH_FLAG | PRIV_FLAG: 3}[creds.level], request,
                                           message)  # fmt: skip
    engine_seen, _security_name, pysnmp_scoped, _max_scoped, state_reference = accepted
    assert bytes(engine_seen) == engine_id
    assert _pysnmp_scoped(pysnmp_scoped) == scoped

    # pysnmp's response -> us: parsed, verified, decrypted; and, with its salt, the same bytes from us
    response_scoped = ber.encode_scoped_pdu(engine_id, b"", PduType.RESPONSE, msg_id, 0, 0,
                                            [ber.encode_varbind(*vb) for vb in varbinds])  # fmt: skip
    pdu, _ = decoder.decode(response_scoped, asn1Spec=ScopedPDU())
    reply = SNMPv3Message()
    reply.setComponentByPosition(0, 3)
    header = reply.setComponentByPosition(1).getComponentByPosition(1)
    header.setComponentByPosition(0, msg_id)
    header.setComponentByPosition(1, usm.MAX_MESSAGE_SIZE)
    header.setComponentByPosition(2, bytes((creds.level,)))
    header.setComponentByPosition(3, 3)
    _params, response = sm.generate_response_message(eng, 3, reply, usm.MAX_MESSAGE_SIZE, 3, engine_id, user,
                                                     {0: 1, 1: 2, 3: 3}[creds.level], pdu, state_reference, None)
    response = bytes(response)
    env = usm.parse_message(response)
    assert (env.msg_id, env.engine_id, env.user, env.flags) == (msg_id, engine_id, creds.user, creds.level)
    plaintext = env.payload
    if keys is not None:
        assert keys.verify(response, env.auth_offset, env.auth_params)
        if env.encrypted:
            plaintext = keys.decrypt(env.payload, env.boots, env.time, env.priv_params)
    decoded = ber.decode_scoped_pdu(plaintext, padded=True)
    assert decoded.varbinds == varbinds and decoded.request_id == msg_id
    their_salt = int.from_bytes(env.priv_params[4:] if priv == "DES" else env.priv_params or b"\0", "big")
    ours = usm.encode_message(msg_id, creds.level, engine_id, env.boots, env.time, creds.user, response_scoped, keys,
                              salt=their_salt)  # fmt: skip
    if priv != "DES" or len(response_scoped) % 8:  # pysnmp pads whole blocks with a spare one; RFC: "as necessary"
        assert ours == response


@settings(max_examples=40, deadline=None)
@given(priv=st.sampled_from([None, "DES", "AES"]), flip=st.integers(0, 10_000), bit=st.integers(0, 7),
       cut=st.integers(1, 10_000))  # fmt: skip
def test_a_flipped_bit_or_a_cut_never_passes(priv: str | None, flip: int, bit: int, cut: int) -> None:
    creds = Credentials("netmon", "SHA256", "auth-pass-1", priv, "priv-pass-1" if priv else None)
    eid = ENGINE_IDS[1]
    keys = creds.keys(eid)
    scoped = ber.encode_scoped_pdu(eid, b"", PduType.RESPONSE, 7, 0, 0,
                                   [ber.encode_varbind(SYS_NAME, ber.OCTET_STRING, b"rt-1" * 20)])  # fmt: skip
    message = usm.encode_message(7, creds.level, eid, 1, 100, b"netmon", scoped, keys)
    env = usm.parse_message(message)
    assert keys.verify(message, env.auth_offset, env.auth_params)
    damaged = bytearray(message)
    damaged[flip % len(message)] ^= 1 << bit
    try:
        env = usm.parse_message(bytes(damaged))
    except BerError:
        pass
    else:
        assert not keys.verify(bytes(damaged), env.auth_offset, env.auth_params)
    with pytest.raises(BerError):
        usm.parse_message(message[: -(cut % len(message)) or 1])


def test_msg_id_is_read_without_parsing_the_rest() -> None:
    message = usm.encode_message(2**31 - 1, REPORTABLE_FLAG, b"", 0, 0, b"", ber.encode_scoped_pdu(
        b"", b"", PduType.GET, 1, 0, 0, ()))  # fmt: skip
    assert usm.msg_id_of(message) == 2**31 - 1
    assert usm.msg_id_of(ber.encode_request(1, b"public", 5, PduType.GET, [SYS_NAME])) is None
    with pytest.raises(BerError):
        usm.msg_id_of(message[:6])
