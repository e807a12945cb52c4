"""``netmon sync`` against real databases: SQLite and PostgreSQL (every test runs on both)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from mini import MINI_SECRETS
from sqlalchemy import Engine, inspect, select, text, update
from sqlmodel import SQLModel
from typer.testing import CliRunner

from netmon.cli import app
from netmon.inventory.load import load_inventory
from netmon.store import models as m
from netmon.store.db import alembic_config, make_engine, upgrade
from netmon.store.sync import apply, plan

pytestmark = pytest.mark.integration
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

MINI_ROWS = {
    "unit": 10,  # province + 3 districts + 6 communes
    "site": 5,
    "device": 5,
    "link": 1,
    "base_station": 2,
    "snmp_profile": 2,
    "ssh_profile": 1,
    "maintenance": 2,
}


@pytest.fixture(autouse=True)
def _no_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETMON_DATABASE_URL", raising=False)
    monkeypatch.delenv("NETMON_INVENTORY", raising=False)


def _sync_cli(inventory: Path, db_url: str, *extra: str) -> Any:
    return CliRunner(env=MINI_SECRETS).invoke(app, ["sync", str(inventory), "--database", db_url, *extra])


def _edit(path: Path, old: str, new: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert content.count(old) == 1, f"{old!r} must occur exactly once in {path.name}"
    path.write_text(content.replace(old, new), encoding="utf-8")


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in MINI_ROWS
        }


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (including alembic_version), in primary-key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in [*SQLModel.metadata.sorted_tables]:
            order = [*table.primary_key.columns]
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
        out["alembic_version"] = [tuple(r) for r in conn.execute(text("SELECT * FROM alembic_version"))]
    return out


def _sqlite_bytes(db_url: str) -> dict[str, str]:
    path = Path(db_url.removeprefix("sqlite:///"))
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
        if p.exists()
    }


# ----------------------------------------------------------------------- sync
def test_first_sync_adds_every_record_and_the_rows_match(engine: Engine, mini: Path) -> None:
    inv = load_inventory(mini)
    first = plan(engine, inv)
    assert first.summary() == {
        "units": {"add": 10, "change": 0, "remove": 0},
        "sites": {"add": 5, "change": 0, "remove": 0},
        "devices": {"add": 5, "change": 0, "remove": 0},
        "links": {"add": 1, "change": 0, "remove": 0},
        "base_stations": {"add": 2, "change": 0, "remove": 0},
        "snmp_profiles": {"add": 2, "change": 0, "remove": 0},
        "ssh_profiles": {"add": 1, "change": 0, "remove": 0},
        "maintenance": {"add": 2, "change": 0, "remove": 0},
    }
    apply(engine, first)
    assert _row_counts(engine) == MINI_ROWS
    with engine.connect() as conn:
        site = conn.execute(select(m.Site.__table__).where(text("id = 'ubnd-my-long-bac'"))).one()  # type: ignore[attr-defined]
        profile = conn.execute(select(m.SnmpProfile.__table__).where(text("name = 'v3-core'"))).one()  # type: ignore[attr-defined]
        window = conn.execute(select(m.Maintenance.__table__).where(text("id = 'bao-tri-dinh-ky'"))).one()  # type: ignore[attr-defined]
    assert (site.name, site.district, site.commune, site.uplink) == (
        "UBND xã Mỹ Long Bắc", "848", "29422", "ubnd-cau-ngang"
    )
    assert (profile.auth_key_ref, profile.priv_key_ref) == (
        "env:NETMON_SNMP_AUTH_KEY", "file:/etc/netmon/snmp-priv.key"
    )
    assert window.spec["recurrence"]["start"] == "22:00:00"
    assert plan(engine, inv).empty


def test_second_sync_reports_no_changes(db_url: str, mini: Path) -> None:
    first = _sync_cli(mini, db_url)
    assert first.exit_code == 0, first.output
    assert "Applied" in first.stdout
    second = _sync_cli(mini, db_url)
    assert second.exit_code == 0, second.output
    assert "No changes: the database already matches the inventory." in second.stdout
    engine = make_engine(db_url)
    try:
        assert plan(engine, load_inventory(mini)).empty
        assert _row_counts(engine) == MINI_ROWS
    finally:
        engine.dispose()


def test_changed_value_is_planned_exactly_then_applied_then_idempotent(
    engine: Engine, db_url: str, mini: Path
) -> None:
    apply(engine, plan(engine, load_inventory(mini)))
    before = _dump(engine)
    _edit(mini / "sites.yaml", "    lat: 9.8193\n", "    lat: 9.8201\n")

    planned = _sync_cli(mini, db_url, "--plan")
    assert planned.exit_code == 0, planned.output
    assert "  ~ sites ubnd-my-long-bac: lat: 9.8193 → 9.8201" in planned.stdout
    assert _dump(engine) == before, "--plan must not write"

    p = plan(engine, load_inventory(mini))
    assert p.summary() == {"sites": {"add": 0, "change": 1, "remove": 0}}
    (row, diff), = p.tables["sites"].change
    assert row["id"] == "ubnd-my-long-bac"
    assert diff == {"lat": (9.8193, 9.8201)}

    applied = _sync_cli(mini, db_url)
    assert applied.exit_code == 0, applied.output
    assert plan(engine, load_inventory(mini)).empty
    assert "No changes" in _sync_cli(mini, db_url).stdout


def test_removed_site_and_its_router_are_deleted(engine: Engine, mini: Path) -> None:
    apply(engine, plan(engine, load_inventory(mini)))
    sites = (mini / "sites.yaml").read_text(encoding="utf-8")
    (mini / "sites.yaml").write_text(sites[: sites.index("  - id: huyen-uy-tieu-can")], encoding="utf-8")
    devices = (mini / "devices.yaml").read_text(encoding="utf-8")
    start, end = devices.index("  - id: rt-huyen-uy-tieu-can"), devices.index("\nlinks:")
    (mini / "devices.yaml").write_text(devices[:start] + devices[end:], encoding="utf-8")

    p = plan(engine, load_inventory(mini))
    assert p.summary() == {
        "sites": {"add": 0, "change": 0, "remove": 1},
        "devices": {"add": 0, "change": 0, "remove": 1},
    }
    assert p.tables["sites"].remove == ["huyen-uy-tieu-can"]
    assert p.tables["devices"].remove == ["rt-huyen-uy-tieu-can"]
    apply(engine, p)
    assert _row_counts(engine) == {**MINI_ROWS, "site": 4, "device": 4}
    assert plan(engine, load_inventory(mini)).empty


def test_failing_validation_leaves_the_database_byte_for_byte_unchanged(
    engine: Engine, db_url: str, mini: Path
) -> None:
    apply(engine, plan(engine, load_inventory(mini)))
    engine.dispose()  # SQLite: close every connection so the file is complete and stable
    rows_before = _dump(engine)
    engine.dispose()
    files_before = _sqlite_bytes(db_url) if db_url.startswith("sqlite") else {}
    # One valid change (would be synced) and one error: nothing at all may be written.
    _edit(mini / "sites.yaml", "    lat: 9.8193\n", "    lat: 9.8201\n")
    _edit(mini / "devices.yaml", "    platform: huawei\n", "    platform: huawai\n")

    result = _sync_cli(mini, db_url)

    assert result.exit_code == 1
    assert "devices[3].platform: Input should be" in result.stderr
    assert "1 problem; nothing was changed." in result.stderr
    if db_url.startswith("sqlite"):
        assert _sqlite_bytes(db_url) == files_before
    assert _dump(engine) == rows_before


def test_failing_validation_does_not_create_a_database(tmp_path: Path, mini: Path) -> None:
    db_file = tmp_path / "never.db"
    (mini / "links.yaml").write_text("", encoding="utf-8")
    result = _sync_cli(mini, f"sqlite:///{db_file}")
    assert result.exit_code == 1
    assert "links.yaml:1:1: file is empty; remove it or add inventory sections" in result.stderr
    assert not db_file.exists()


def test_sync_keeps_poller_facts_on_devices(engine: Engine, mini: Path) -> None:
    apply(engine, plan(engine, load_inventory(mini)))
    device = m.Device.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            update(device)
            .where(device.c.id == "rt-core")
            .values(sys_name="rt-core.travinh.gov.vn", serial="FDO2101A0BC", os_version="17.9.4a")
        )
    _edit(mini / "devices.yaml", "    model: ISR4451\n", "    model: ISR4461\n")

    p = plan(engine, load_inventory(mini))
    assert p.summary() == {"devices": {"add": 0, "change": 1, "remove": 0}}
    assert p.tables["devices"].change[0][1] == {"model": ("ISR4451", "ISR4461")}
    apply(engine, p)

    with engine.connect() as conn:
        row = conn.execute(select(device).where(device.c.id == "rt-core")).one()
    assert (row.model, row.sys_name, row.serial, row.os_version) == (
        "ISR4461", "rt-core.travinh.gov.vn", "FDO2101A0BC", "17.9.4a"
    )


# ----------------------------------------------------------------- migrations
def _schema(engine: Engine) -> dict[str, Any]:
    insp = inspect(engine)
    return {
        t: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
            sorted((i["name"] or "", tuple(map(str, i["column_names"]))) for i in insp.get_indexes(t)),
        )
        for t in sorted(insp.get_table_names())
    }


def test_alembic_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    before, rows_before = _schema(engine), _dump(engine)
    upgrade(engine)
    assert _schema(engine) == before
    assert _dump(engine) == rows_before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]


def test_migrated_schema_equals_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diffs == []


# ------------------------------------------------------------- SNMP-sized values
SPEEDS = {1: 8_000_000_000, 2: 10_000_000_000, 3: 400_000_000_000, 4: 2**63 - 1}
"""A router's 8 Gbit/s loopback, a 10G and a 400G port, and the largest value a BIGINT holds."""


def test_interfaces_faster_than_2_gbits_are_stored(engine: Engine) -> None:
    from netmon.health.interpret import DeviceObs, InterfaceObs
    from netmon.store.facts import FactStore

    itfs = {i: InterfaceObs(i, name=f"Te0/{i}", speed_bps=s) for i, s in SPEEDS.items()}
    written = FactStore(engine).save([DeviceObs("rt-core", 1_780_000_000.0, True, interfaces=itfs)], set())
    assert written == len(SPEEDS)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT if_index, speed_bps FROM interface")).all())
    assert stored == SPEEDS


def test_upgrade_from_0001_keeps_interface_rows_and_widens_speed(db_url: str) -> None:
    from alembic import command

    eng = make_engine(db_url)
    cfg = alembic_config(db_url)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO interface (device_id, if_index, speed_bps, first_seen, last_seen) "
                          "VALUES ('rt-a', 1, 1000000000, '2026-12-01 00:00:00', '2026-12-01 00:00:00')"))
    upgrade(eng)
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO interface (device_id, if_index, speed_bps, first_seen, last_seen) "
                          "VALUES ('rt-a', 2, 100000000000, '2026-12-01 00:00:00', '2026-12-01 00:00:00')"))
        rows = conn.execute(text("SELECT if_index, speed_bps FROM interface ORDER BY if_index")).all()
    eng.dispose()
    assert [tuple(r) for r in rows] == [(1, 1_000_000_000), (2, 100_000_000_000)]


def test_sync_plan_as_json_and_csv_lists_every_change_for_a_review(db_url: str, mini: Path) -> None:
    """``sync --plan --format json|csv``: one row per row added or removed and per field changed — what a merge
    request's pipeline shows — and nothing else on stdout; the database is left as it is."""
    import csv
    import io
    import json

    assert _sync_cli(mini, db_url).exit_code == 0
    _edit(mini / "devices.yaml", "    model: ISR4451\n", "    model: ISR4461\n")
    as_json = _sync_cli(mini, db_url, "--plan", "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [{"table": "devices", "op": "change", "key": "rt-core", "field": "model",
                                           "old": "ISR4451", "new": "ISR4461"}]
    as_csv = _sync_cli(mini, db_url, "--plan", "--format", "csv")
    assert as_csv.exit_code == 0 and as_csv.stdout.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(as_csv.stdout.removeprefix("\ufeff")))) == [
        ["table", "op", "key", "field", "old", "new"], ["devices", "change", "rt-core", "model", "ISR4451", "ISR4461"]]
    assert json.loads(_sync_cli(mini, db_url, "--plan", "--format", "json", "--all").stdout)[0]["op"] == "change"
    applied = _sync_cli(mini, db_url, "--format", "json")  # an applied sync prints its summary table
    assert applied.exit_code == 2 and "--format json|csv goes with --plan" in applied.stderr
    assert json.loads(_sync_cli(mini, db_url, "--plan", "--format", "json").stdout)[0]["new"] == "ISR4461"
