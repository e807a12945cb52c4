"""CPU cost per varbind of ``netmon.collect.ber`` versus pysnmp/pyasn1, on recorded net-snmp responses.

Why: the poller's budget is 30 µs per varbind end to end and the simulated agent's 25 µs; pyasn1 alone
costs ~200 µs. This prints what each codec step costs, on the 25-varbind GETBULK responses recorded by
``tests/fixtures/snmp/record.py``. Run from the repository root::

    python bench/codec.py            # about 15 s
"""

from __future__ import annotations

import json
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import api

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netmon.collect.ber import (  # noqa: E402 - after the path fix, so it runs from a checkout
    PduType,
    decode_response,
    encode_request,
    encode_response,
    encode_response_from_encoded_varbinds,
    encode_varbind,
)

FIXTURES = ROOT / "tests" / "fixtures" / "snmp" / "recorded.jsonl"


def per_call_us(fn: Callable[[], object], repeat_s: float = 0.03) -> float:
    """Best-of-5 CPU µs per call (process time: the poller's and agent's real constraint)."""
    timer = timeit.Timer(fn, timer=time.process_time)
    once = max(timer.timeit(number=3) / 3, 1e-7)
    number = max(1, int(repeat_s / once))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def _py(value: Any) -> object:
    """A pyasn1 value as the plain Python value a poller needs (what our decoder returns)."""
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return value.asOctets()
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    return None


def main() -> None:
    records = [json.loads(line) for line in FIXTURES.read_text("utf-8").splitlines() if line]
    responses = [
        bytes.fromhex(r["response"])
        for r in records
        if r["name"].startswith("v2c-bulk-") and r["name"] != "v2c-bulk-ifTable-60"
    ]
    responses = [data for data in responses if len(decode_response(data).varbinds) >= 20]
    msg_spec = api.v2c.Message()
    pdu_api: Any = api.v2c.apiPDU
    msg_api: Any = api.v2c.apiMessage

    def pyasn1_decode(data: bytes) -> None:
        msg, _ = decoder.decode(data, asn1Spec=msg_spec)
        for oid, value in pdu_api.get_varbinds(msg_api.get_pdu(msg)):
            tuple(oid), _py(value)

    total_vb = 0
    acc = {k: 0.0 for k in ("dec", "dec_ref", "enc", "enc_pre", "enc_ref", "req", "req_ref")}
    for data in responses:
        r = decode_response(data)
        total_vb += len(r.varbinds)
        pre = [encode_varbind(*vb) for vb in r.varbinds]
        pyasn1_msg = decoder.decode(data, asn1Spec=msg_spec)[0]
        oids = [vb[0] for vb in r.varbinds]
        req_msg = decoder.decode(encode_request(1, b"public", 7, PduType.GET, oids), asn1Spec=msg_spec)[0]
        acc["dec"] += per_call_us(lambda data=data: decode_response(data))
        acc["dec_ref"] += per_call_us(lambda data=data: pyasn1_decode(data))
        acc["enc"] += per_call_us(lambda r=r: encode_response(1, r.community, 7, 0, 0, r.varbinds))
        acc["enc_pre"] += per_call_us(
            lambda r=r, pre=pre: encode_response_from_encoded_varbinds(1, r.community, 7, 0, 0, pre)
        )
        acc["enc_ref"] += per_call_us(lambda m=pyasn1_msg: encoder.encode(m))
        acc["req"] += per_call_us(lambda oids=oids: encode_request(1, b"public", 7, PduType.GET, oids))
        acc["req_ref"] += per_call_us(lambda m=req_msg: encoder.encode(m))

    def us(key: str) -> float:
        return acc[key] / total_vb

    rows = [
        ("decode_response", us("dec"), us("dec_ref")),
        ("encode_response (from triples)", us("enc"), us("enc_ref")),
        ("encode_response_from_encoded_varbinds", us("enc_pre"), us("enc_ref")),
        ("encode_request GET (cached OIDs)", us("req"), us("req_ref")),
    ]
    print(f"{len(responses)} recorded v2c GETBULK responses, {total_vb} varbinds; CPU µs per varbind")
    print(f"{'step':40} {'ours':>8} {'pyasn1':>8} {'speed-up':>9}")
    for name, ours, ref in rows:
        print(f"{name:40} {ours:8.2f} {ref:8.2f} {ref / ours:8.0f}x")
    print("pyasn1 decode = decoder.decode(asn1Spec=Message()) + reading OIDs and values;")
    print("pyasn1 encode = encoder.encode() of an already built Message (building it costs more).")


if __name__ == "__main__":
    main()
