"""The poller's SNMPv3 engine state (``netmon.collect.v3``) without sockets: what it sends, what it accepts,
what a Report turns into. The agent's side is played with ``netmon.collect.usm`` directly (the integration
tests use real agents: snmpd, pysnmp's, the simulator)."""

from __future__ import annotations

import pytest

from netmon.collect import ber, oids, usm
from netmon.collect.ber import OCTET_STRING, PduType
from netmon.collect.target import Target
from netmon.collect.v3 import Incoming, Outgoing, Reject, V3Error, V3Session
from netmon.collect.walk import WalkRequest
from netmon.secrets import Secret

ENGINE = b"\x80\x00\x4f\xb8\x05unit-engine!"
AUTH, PRIV = "unit-auth-key-1", "unit-priv-key-1"
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
REQ = WalkRequest(PduType.GET, [SYS_NAME])


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def target(**changes: object) -> Target:
    fields: dict[str, object] = dict(device_id="rt-1", host="127.0.0.1", port=161, version="3", user="netmon",
                                     auth_protocol="SHA256", auth_key=Secret("env:A", AUTH), priv_protocol="AES",
                                     priv_key=Secret("env:P", PRIV))  # fmt: skip
    return Target(**{**fields, **changes})  # type: ignore[arg-type]


def agent_reply(out: Outgoing, pdu: PduType = PduType.RESPONSE, *, boots: int = 5, etime: int = 500,
                level: int | None = None, request_id: int | None = None, engine: bytes = ENGINE,
                varbinds: list[bytes] | None = None) -> bytes:  # fmt: skip
    """What an agent with ``ENGINE`` answers to ``out`` (keys from the same passwords)."""
    creds = usm.Credentials("netmon", "SHA256", AUTH, "AES", PRIV)
    level = out.level if level is None else level
    body = ber.encode_scoped_pdu(engine, b"", pdu, out.msg_id if request_id is None else request_id, 0, 0,
                                 varbinds if varbinds is not None else
                                 [ber.encode_varbind(SYS_NAME, OCTET_STRING, b"rt-1")])  # fmt: skip
    return usm.encode_message(out.msg_id, level, engine, boots, etime, b"netmon", body,
                              creds.keys(engine) if level else None)  # fmt: skip


def report(out: Outgoing, oid: ber.Oid, **options: object) -> bytes:
    return agent_reply(out, PduType.REPORT, level=0, varbinds=[ber.encode_varbind(oid, ber.COUNTER32, 1)],
                       **options)  # type: ignore[arg-type]


def discovered(session: V3Session, t: Target) -> None:
    creds = session.credentials(t)
    out = session.prepare(t, creds, REQ, 7)
    assert out.discovery and out.level == 0 and out.engine_id == b""
    got = session.check(t, creds, out, report(out, oids.USM_STATS_UNKNOWN_ENGINE_IDS))
    assert session.on_report(t, creds, out, got, synced=False) is None
    assert session.knows(t)


def test_discovery_then_an_authenticated_request_and_its_answer() -> None:
    session, t = V3Session(Clock()), target()
    discovered(session, t)
    creds = session.credentials(t)
    out = session.prepare(t, creds, REQ, 8)
    assert not out.discovery and out.engine_id == ENGINE and out.level == usm.AUTH_FLAG | usm.PRIV_FLAG
    env = usm.parse_message(out.data)
    assert (env.boots, env.time, env.encrypted) == (5, 500, True)  # the discovery report's, as a first guess
    got = session.check(t, creds, out, agent_reply(out))
    assert isinstance(got, Incoming) and got.authenticated and got.varbinds == [(SYS_NAME, OCTET_STRING, b"rt-1")]


def test_replies_that_are_not_the_answer_are_rejected() -> None:
    session, t = V3Session(Clock()), target()
    discovered(session, t)
    creds = session.credentials(t)
    out = session.prepare(t, creds, REQ, 9)
    session.check(t, creds, out, agent_reply(out, etime=1000))  # synchronised: time 1000
    out = session.prepare(t, creds, REQ, 10)
    for data, reason in (
        (agent_reply(out, etime=700), "outside the time window"),  # 300 s older than the latest: a replay
        (agent_reply(out, boots=4, etime=2000), "outside the time window"),  # an older boot
        (agent_reply(out, request_id=11), "request-id does not match"),
        (agent_reply(out, level=usm.AUTH_FLAG), "reply at authNoPriv, request at authPriv"),
        (agent_reply(out, level=0), "reply at noAuthNoPriv"),
        (agent_reply(out, engine=b"\x80\x00\x4f\xb8\x05another-one"), "another engine id"),
        (agent_reply(out)[:-1] + b"\x00", "failed authentication"),
    ):
        with pytest.raises(Reject, match=reason):
            session.check(t, creds, out, data)
    assert session.check(t, creds, out, agent_reply(out, etime=1010)).authenticated


@pytest.mark.parametrize(("oid", "error"), [
    (oids.USM_STATS_UNKNOWN_USER_NAMES, "unknown SNMPv3 user 'netmon' on the agent (usmStatsUnknownUserNames)"),
    (oids.USM_STATS_WRONG_DIGESTS,
     "wrong SNMPv3 auth key or auth protocol (SHA256) for user 'netmon' (usmStatsWrongDigests)"),
    (oids.USM_STATS_DECRYPTION_ERRORS,
     "wrong SNMPv3 privacy key or privacy protocol (AES) for user 'netmon' (usmStatsDecryptionErrors)"),
    (oids.USM_STATS_UNSUPPORTED_SEC_LEVELS,
     "security level authPriv not supported for user 'netmon' by the agent (usmStatsUnsupportedSecLevels)"),
    (oids.SNMP_UNKNOWN_CONTEXTS, "SNMPv3 context refused by the agent (snmpUnknownContexts)"),
    (oids.USM_STATS_NOT_IN_TIME_WINDOWS,
     "not in time window, and the agent's report is not authenticated (usmStatsNotInTimeWindows)"),
])  # fmt: skip
def test_reports_become_one_line_errors(oid: ber.Oid, error: str) -> None:
    session, t = V3Session(Clock()), target()
    discovered(session, t)
    creds = session.credentials(t)
    out = session.prepare(t, creds, REQ, 12)
    got = session.check(t, creds, out, report(out, oid))
    assert session.on_report(t, creds, out, got, synced=False) == error


def test_reboot_resynchronises_and_time_going_back_is_refused() -> None:
    clock = Clock()
    session, t = V3Session(clock), target()
    discovered(session, t)
    creds = session.credentials(t)
    out = session.prepare(t, creds, REQ, 13)
    session.check(t, creds, out, agent_reply(out, etime=1000))
    clock.now += 60
    out = session.prepare(t, creds, REQ, 14)
    assert usm.parse_message(out.data).time == 1060  # the estimate moves with the clock
    nit = agent_reply(out, PduType.REPORT, level=usm.AUTH_FLAG, boots=6, etime=3, request_id=0,
                      varbinds=[ber.encode_varbind(oids.USM_STATS_NOT_IN_TIME_WINDOWS, ber.COUNTER32, 1)])
    got = session.check(t, creds, out, nit)
    assert got.authenticated and got.timely
    assert session.on_report(t, creds, out, got, synced=False) is None  # rebooted: boots 6, go again
    assert session.on_report(t, creds, out, got, synced=True) is not None  # but not forever
    out = session.prepare(t, creds, REQ, 15)
    assert (usm.parse_message(out.data).boots, usm.parse_message(out.data).time) == (6, 3)
    back = agent_reply(out, PduType.REPORT, level=usm.AUTH_FLAG, boots=6, etime=1, request_id=0,
                       varbinds=[ber.encode_varbind(oids.USM_STATS_NOT_IN_TIME_WINDOWS, ber.COUNTER32, 2)])
    session.check(t, creds, out, back)  # within the window: fine
    session._peers[(t.host, t.port)].latest = 5000  # as if much later
    got = session.check(t, creds, out, back)
    error = session.on_report(t, creds, out, got, synced=False)
    assert error is not None and error.startswith("not in time window: the agent's engine time went back")


def test_an_engine_id_that_changes_is_relearnt() -> None:
    session, t = V3Session(Clock()), target()
    discovered(session, t)
    creds = session.credentials(t)
    out = session.prepare(t, creds, REQ, 16)
    new = b"\x80\x00\x4f\xb8\x05new-router!!"
    got = session.check(t, creds, out, report(out, oids.USM_STATS_UNKNOWN_ENGINE_IDS, engine=new, request_id=0))
    assert session.on_report(t, creds, out, got, synced=False) is None
    assert session.prepare(t, creds, REQ, 17).engine_id == new


def test_bad_settings_are_per_device_errors_without_secrets() -> None:
    session = V3Session()
    with pytest.raises(V3Error, match="shorter than 8") as info:
        session.credentials(target(auth_key=Secret("env:A", "short")))
    assert "short" not in str(info.value).replace("shorter", "")
    session.credentials(target())  # fine, and cached
    assert session.credentials(target()) is session.credentials(target())
