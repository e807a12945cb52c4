"""The interface facts (``store/facts.py``) on real databases: SQLite and PostgreSQL (every test runs on both).

A row is written when something about the interface changed; an unchanged one only has its ``last_seen``
refreshed every ``touch_every_s``; what was written is read back from the database the first time a device
is saved (a restart writes nothing it does not have to) and only for the devices saved, so a poller of a
cluster holds its share of the ~400,000 interfaces of the 10× province, not all of them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from netmon.health.interpret import DeviceObs, InterfaceObs
from netmon.store.facts import FactStore

pytestmark = pytest.mark.integration
T0 = 1_780_000_000.0


def obs(device: str, at: float, alias: str = "Đường truyền UBND xã Phú Cần", ports: int = 3) -> DeviceObs:
    itfs = {i: InterfaceObs(i, name=f"Gi0/{i}", alias=alias if i == 1 else None, oper_status=1,
                            speed_bps=1_000_000_000) for i in range(1, ports + 1)}
    return DeviceObs(device, at, True, interfaces=itfs)


def rows(engine: Engine) -> dict[tuple[str, int], tuple[str | None, float]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT device_id, if_index, alias, last_seen FROM interface")).all()
    return {(d, i): (a, seen if isinstance(seen, float) else _ts(seen)) for d, i, a, seen in found}


def _ts(value: object) -> float:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def test_unchanged_interfaces_are_not_written_again_until_their_touch_is_due(engine: Engine) -> None:
    facts = FactStore(engine, touch_every_s=600)
    assert facts.save([obs("rt-a", T0), obs("rt-b", T0)], set()) == 6
    assert facts.save([obs("rt-a", T0 + 60), obs("rt-b", T0 + 60)], set()) == 0
    assert facts.save([obs("rt-a", T0 + 120, alias="Đường truyền mới")], set()) == 1  # one port changed
    assert rows(engine)[("rt-a", 1)] == ("Đường truyền mới", T0 + 120)
    assert facts.save([obs("rt-a", T0 + 600)], set()) == 3  # the device's touch is due: its ports together
    stored = rows(engine)
    assert stored[("rt-a", 2)][1] > T0 and stored[("rt-b", 2)][1] == T0  # rt-b was not polled


def test_a_restart_reads_back_what_was_written_and_only_for_the_devices_it_saves(engine: Engine) -> None:
    FactStore(engine).save([obs("rt-a", T0), obs("rt-b", T0)], set())
    again = FactStore(engine, touch_every_s=600)
    assert again.save([obs("rt-a", T0 + 60)], set()) == 0  # nothing new for the database
    assert set(again._written) == {"rt-a"}  # rt-b's interfaces are not held by a process that does not poll it
    assert again.save([obs("rt-a", T0 + 60, ports=4)], set()) == 1  # a new port: one row
    again.forget(["rt-a"])  # another poller polls it now ...
    assert again._written == {} and again._touched == {}
    assert again.save([obs("rt-a", T0 + 120, ports=4)], set()) == 0  # ... and back: read again, nothing written
    assert len(rows(engine)) == 7
