"""Versioned storage of configurations (SQLite and PostgreSQL), diffs, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sshfake import fixture

from netmon.ssh import backup
from netmon.store import backups
from netmon.store import models as m
from netmon.store.db import make_engine, upgrade

T0 = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
V1 = "hostname r1\n!\ninterface Gi0/0\n description old\n!\nend\n"
V2 = "hostname r1\n!\ninterface Gi0/0\n description new\n!\nip route 0.0.0.0 0.0.0.0 10.0.0.1\nend\n"


def test_only_changes_are_stored_and_diffed(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    assert backups.store_config(engine, "r1", V1, T0)[0] == "new"
    assert backups.store_config(engine, "r1", V1, T0 + timedelta(days=1))[0] == "unchanged"
    status, digest = backups.store_config(engine, "r1", V2, T0 + timedelta(days=2))
    assert (status, digest) == ("changed", backups.sha256(V2))
    assert backups.store_config(engine, "r1", V2, T0 + timedelta(days=3))[0] == "unchanged"

    stored = backups.versions(engine, "r1")
    assert [v.taken_at for v in stored] == [T0, T0 + timedelta(days=2)]
    latest = backups.version_at(engine, "r1")
    assert latest is not None and latest.content == V2
    in_force = backups.version_at(engine, "r1", T0 + timedelta(days=1, hours=5))
    assert in_force is not None and in_force.content == V1
    assert backups.version_at(engine, "r1", T0 - timedelta(seconds=1)) is None
    previous = backups.version_before(engine, latest)
    assert previous is not None and previous.sha256 == backups.sha256(V1)
    assert backups.version_before(engine, previous) is None

    diff = backup.unified_diff(previous, latest).splitlines()
    assert diff[0].startswith("--- r1 ") and diff[1].startswith("+++ r1 ")
    assert [line for line in diff[2:] if line[:1] in "+-"] == [
        "- description old", "+ description new", "+ip route 0.0.0.0 0.0.0.0 10.0.0.1"]
    assert backup.unified_diff(latest, latest) == ""

    with engine.connect() as conn:
        events = conn.execute(select(m.Event.__table__)).all()  # type: ignore[attr-defined]
    assert [(e.object_id, e.kind) for e in events] == [("r1", "config_change")]
    assert events[0].detail.startswith("+2 -1 lines")


def test_devices_are_independent(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    assert backups.store_config(engine, "r1", V1, T0)[0] == "new"
    assert backups.store_config(engine, "r2", V1, T0)[0] == "new"
    assert len(backups.versions(engine, "r1")) == len(backups.versions(engine, "r2")) == 1


def test_prepare_scrubs_and_drops_volatile_lines() -> None:
    raw = fixture("cisco_ios/running_config.txt")
    text = backup.prepare("cisco_ios", raw)
    assert "Current configuration" not in text and "Tr4V1nh-R0" not in text
    assert text.endswith("end\n")
    changed_header = raw.replace("Current configuration : 6214 bytes", "Current configuration : 6302 bytes")
    assert backup.prepare("cisco_ios", changed_header) == text  # the byte count is not a change


@pytest.mark.parametrize(("platform", "output", "why"), [
    ("cisco_ios", "% Invalid input detected at '^' marker.", "error"),
    ("cisco_ios", "% Authorization failed.", "error"),
    ("juniper_junos", "error: syntax error, expecting <command>: configuratio", "error"),
    ("huawei", "Error: Unrecognized command found at '^' position.", "error"),
    ("mikrotik_routeros", "bad command name exprt (line 1 column 2)", "error"),
    ("cisco_ios", "", "empty"),
    ("cisco_ios", "Building configuration...\n\nCurrent configuration : 6214 bytes\n!\nhostname r1\ninterface Gi0/0\n",
     "truncated"),
    ("huawei", "#\n sysname X\n#\ninterface GigabitEthernet0/0/0\n", "truncated"),
])
def test_prepare_refuses_what_is_not_a_whole_config(platform: str, output: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        backup.prepare(platform, output)


def test_every_backup_platform_has_scrubbing_rules() -> None:
    from netmon.ssh.scrub import DIALECTS

    assert set(backup.CONFIGS) == set(DIALECTS)
    assert not backup.supported("linux")
