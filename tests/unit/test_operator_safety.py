"""Issue #15's reproductions, one test per bullet of "Data loss by accident" and "Wrong answers" — each runs what
the operator ran (the ``netmon`` command line) and checks what used to go wrong does not.

Bullets tested elsewhere, with the real programs they need: ``netmon demo`` from another folder
(tests/e2e/test_demo.py), ``poll`` against the simulated province with the SNMPv3 keys unset
(tests/e2e/test_poll_cli.py), Alertmanager delivering to netmon (tests/e2e/test_alertmanager_webhook.py), compose's
environment (tests/integration/deploy/test_compose.py), the dashboards' datasource (tests/unit/dashboards), the
validation of links (tests/unit/inventory/test_hostile.py), every error as one line (tests/unit/test_cli_errors.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mini import MINI_SECRETS
from typer.testing import CliRunner, Result

from netmon.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inv(mini: Path, monkeypatch: pytest.MonkeyPatch, mini_secrets: dict[str, str]) -> Path:
    monkeypatch.chdir(mini.parent)
    for name in ("NETMON_DATABASE_URL", "NETMON_INVENTORY", "NETMON_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    return Path("inv")


@pytest.fixture
def host_in_utc() -> Iterator[None]:
    """The host's clock in UTC, as in a container: a zone-less time must still be the province's."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def netmon(*argv: str) -> Result:
    return CliRunner().invoke(app, [str(a) for a in argv])


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])


# ===================================================================================== data loss by accident
def test_a_file_the_loader_cannot_read_is_an_error_and_sync_deletes_nothing(inv: Path) -> None:
    db = inv.parent / "netmon.db"
    assert netmon("sync", inv, "--database", f"sqlite:///{db}").exit_code == 0
    assert rows(db, "base_station") == 2

    def refused(entry: str) -> None:
        validated = netmon("validate", inv)
        assert validated.exit_code == 1 and f"inv/{entry}:1:1: " in validated.stderr, validated.output
        synced = netmon("sync", inv, "--database", f"sqlite:///{db}")
        assert synced.exit_code == 1 and "nothing was changed" in synced.stderr
        assert rows(db, "base_station") == 2, entry

    original = (inv / "base_stations.yaml").read_text(encoding="utf-8")
    (inv / "base_stations.yaml").unlink()
    os.symlink("/nonexistent/base_stations.yaml", inv / "base_stations.yaml")  # a dangling symlink
    refused("base_stations.yaml")
    (inv / "base_stations.yaml").unlink()
    (inv / "base_stations.YAML").write_text(original, encoding="utf-8")  # a name the loader does not read
    refused("base_stations.YAML")


def test_sync_of_one_file_instead_of_the_folder_is_refused_until_confirmed(inv: Path) -> None:
    db = inv.parent / "netmon.db"
    url = f"sqlite:///{db}"
    assert netmon("sync", inv, "--database", url).exit_code == 0
    one_file = netmon("sync", inv / "units.yaml", "--database", url)
    assert one_file.exit_code == 1
    assert "sites: 5 of 5 would be removed (every row)" in one_file.stderr
    assert "refused: nothing was changed" in one_file.stderr
    assert (rows(db, "site"), rows(db, "device"), rows(db, "base_station")) == (5, 5, 2)
    planned = netmon("sync", inv / "units.yaml", "--plan", "--database", url)
    assert planned.exit_code == 0 and "'netmon sync' will ask for --allow-deletions" in planned.stderr
    confirmed = netmon("sync", inv / "units.yaml", "--allow-deletions", "--database", url)
    assert confirmed.exit_code == 0, confirmed.output
    assert rows(db, "site") == 0


def test_inventory_generate_never_overwrites_an_inventory_without_force(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inventory").mkdir()
    mine = tmp_path / "inventory" / "sites.yaml"
    mine.write_text("# the operators' own sites\nsites: []\n", encoding="utf-8")
    refused = netmon("inventory", "generate")
    assert refused.exit_code == 1 and "already holds inventory files" in refused.stderr
    assert mine.read_text(encoding="utf-8") == "# the operators' own sites\nsites: []\n"
    assert sorted(p.name for p in (tmp_path / "inventory").iterdir()) == ["sites.yaml"]
    assert netmon("inventory", "generate", "--force").exit_code == 0
    assert "sample inventory of the Trà Vinh" in mine.read_text(encoding="utf-8")


def test_sync_plan_says_how_many_rows_it_left_out_and_creates_nothing(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "new.db"
    plan = netmon("sync", ROOT / "inventory", "--plan", "--database", f"sqlite:///{db}")
    assert plan.exit_code == 0, plan.output
    site_lines = [ln for ln in plan.stdout.splitlines() if ln.startswith("  + sites ")]
    assert len(site_lines) == 20
    assert "  … and 130 more sites changes (--all lists every one)" in plan.stdout
    every = netmon("sync", ROOT / "inventory", "--plan", "--all", "--database", f"sqlite:///{db}")
    assert len([ln for ln in every.stdout.splitlines() if ln.startswith("  + sites ")]) == 150
    assert "more sites" not in every.stdout
    assert not db.exists(), "--plan created the database"


def test_read_only_commands_on_a_mistyped_path_create_no_database(inv: Path) -> None:
    typo = inv.parent / "netmn.db"
    for argv in (["outages"], ["report", "availability", "--month", "2026-11"], ["backup", "history", "rt-core"],
                 ["inventory", "show", "rt-core", str(inv)]):
        result = netmon(*argv, "--database", f"sqlite:///{typo}")
        assert result.exit_code == 1 and f"no database at {typo}" in result.stderr, (argv, result.output)
        assert "0 outage" not in result.stdout
    assert not typo.exists()


# ======================================================================================= wrong answers
def test_the_demo_needs_nothing_from_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from netmon.inventory.load import load_inventory
    from netmon.inventory.sample import write_sample
    from netmon.sim.scenario import load_scenario, scenario_path

    monkeypatch.chdir(tmp_path)  # no ./inventory, no ./inventory/scenarios here
    scenario = scenario_path("demo")
    assert scenario is not None and scenario.is_file() and "netmon/sim/scenarios" in str(scenario)
    write_sample(tmp_path / "demo" / "inventory")  # what `netmon demo` does in its work folder
    inv = load_inventory(tmp_path / "demo" / "inventory")
    assert load_scenario(scenario, {*inv.devices, *inv.base_stations}).steps
    assert netmon("demo", "--scenario", "nope").exit_code == 2


def _two_versions(db: Path) -> tuple[datetime, datetime]:
    from netmon.store.backups import store_config
    from netmon.store.db import make_engine

    first, second = datetime(2026, 11, 15, 0, 30, tzinfo=UTC), datetime(2026, 11, 15, 2, 0, tzinfo=UTC)
    engine = make_engine(f"sqlite:///{db}")
    store_config(engine, "rt-core", "hostname core\nversion 1\n", first)
    store_config(engine, "rt-core", "hostname core\nversion 2\n", second)
    engine.dispose()
    return first, second


def test_backup_diff_from_a_date_before_the_first_backup_compares_the_two_stored(inv: Path) -> None:
    db = inv.parent / "netmon.db"
    assert netmon("sync", inv, "--database", f"sqlite:///{db}").exit_code == 0
    _two_versions(db)
    diff = netmon("backup", "diff", "rt-core", "--from", "2026-11-01", "--database", f"sqlite:///{db}")
    assert diff.exit_code == 0, diff.output
    assert "-version 1" in diff.stdout and "+version 2" in diff.stdout


def test_one_clock_the_provinces_for_reading_and_printing(inv: Path, host_in_utc: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    db = inv.parent / "netmon.db"
    url = f"sqlite:///{db}"
    assert netmon("sync", inv, "--database", url).exit_code == 0
    _two_versions(db)  # 07:30 and 09:00 in Trà Vinh
    # 08:00 without an offset is Trà Vinh's 08:00 (01:00 UTC): version 1 — not 08:00 of the host's zone (UTC)
    shown = netmon("backup", "show", "rt-core", "--at", "2026-11-15T08:00", "--database", url)
    assert shown.exit_code == 0 and "version 1" in shown.stdout, shown.output
    assert "2026-11-15 07:30:00" in shown.stderr
    history = json.loads(netmon("backup", "history", "rt-core", "--format", "json", "--database", url).stdout)
    assert [h["taken_at"] for h in history] == ["2026-11-15T07:30:00+07:00", "2026-11-15T09:00:00+07:00"]
    table = netmon("backup", "history", "rt-core", "--database", url).stdout
    assert "2026-11-15 07:30:00" in table and "2026-11-15 09:00:00" in table

    with sqlite3.connect(db) as conn:  # an outage from 23:30 on the 14th to 00:30 on the 15th, Trà Vinh time
        conn.execute("insert into outage (object_type, object_id, site_id, kind, root_cause, affected, detected_by,"
                     " started_at, ended_at, duration_s) values ('device', 'rt-core', 'so-tttt', 'device_down', "
                     "'lõi', '[]', 'poll', '2026-11-14 16:30:00.000000', '2026-11-14 17:30:00.000000', 3600)")
    since = json.loads(netmon("outages", "--since", "2026-11-15", "--format", "json", "--database", url).stdout)
    assert [(o["started"], o["ended"]) for o in since] == [("2026-11-14T23:30:00+07:00", "2026-11-15T00:30:00+07:00")]
    assert netmon("outages", "--since", "2026-11-15T00:31", "--format", "json", "--database", url).stdout == "[]\n"
    monkeypatch.setenv("NETMON_TIMEZONE", "UTC")  # another province's clock: a setting, not the host's zone
    utc = json.loads(netmon("backup", "history", "rt-core", "--format", "json", "--database", url).stdout)
    assert utc[0]["taken_at"] == "2026-11-15T00:30:00+00:00"


def test_poll_names_an_unknown_device_before_any_secret(inv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in MINI_SECRETS:
        monkeypatch.delenv(name)
    result = netmon("poll", inv, "--device", "nope")
    assert result.exit_code == 2 and result.stderr.splitlines() == ["unknown device(s): nope"]
    v3 = netmon("poll", inv, "--device", "rt-core")  # the v3 router: its key is what is missing, said once
    assert v3.exit_code == 1 and "NETMON_SNMP_AUTH_KEY" in v3.stderr and len(v3.stderr.splitlines()) == 1


def test_kind_must_be_a_kind_and_a_district_must_be_one_district(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = ROOT / "inventory"
    kind = netmon("inventory", "list", sample, "--kind", "foo")
    assert kind.exit_code == 2 and "'foo' is not one of 'party', 'state'" in kind.stderr
    both = netmon("inventory", "list", sample, "--district", "Duyên Hải")
    assert both.exit_code == 2
    assert "'Duyên Hải' matches 2 districts: Huyện Duyên Hải (850), Thị xã Duyên Hải (851)" in both.stderr
    exact = netmon("inventory", "list", sample, "--district", "Thị xã Duyên Hải", "--format", "json")
    assert exact.exit_code == 0 and {r["district_code"] for r in json.loads(exact.stdout)} == {"851"}
    party = json.loads(netmon("inventory", "list", sample, "--kind", "party", "--format", "json").stdout)
    assert len(party) == 16


def test_listings_for_scripts_and_excel(inv: Path) -> None:
    csv_text = netmon("inventory", "list", inv, "--format", "csv").stdout_bytes.decode("utf-8")  # CRLF kept
    assert csv_text.startswith("\ufeffsite,name,kind,level,district_code,district,router,mgmt,uplink\r\n")
    assert "so-tttt,Sở Thông tin và Truyền thông,state,province,,,rt-core,127.10.0.1,\r\n" in csv_text
    listed = json.loads(netmon("inventory", "list", inv, "--format", "json").stdout)
    assert listed[0] == {"site": "so-tttt", "name": "Sở Thông tin và Truyền thông", "kind": "state",
                         "level": "province", "district_code": None, "district": None, "router": "rt-core",
                         "mgmt": "127.10.0.1", "uplink": None}
    stats = json.loads(netmon("inventory", "stats", inv, "--format", "json").stdout)
    assert {"what": "sites", "count": 5} in stats


def test_the_alertmanager_webhook_target_is_served() -> None:
    import yaml

    from netmon.expose.alertmanager import PATH

    config = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8"))
    urls = {h["url"] for r in config["receivers"] for h in r.get("webhook_configs", [])}
    assert urls == {f"http://netmon:9750{PATH}"}


def test_vietnamese_by_default_english_on_request(inv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETMON_LANG")
    vi = netmon("validate", inv)
    assert vi.stdout.startswith("OK: 5 điểm, 5 thiết bị, 1 liên kết, 2 trạm BTS, 3 huyện, 6 xã")
    assert "khớp 2 huyện" in netmon("inventory", "list", inv, "--district", "Huyện").stderr
    assert "┃ điểm" in netmon("inventory", "list", inv).stdout
    csv_vi = netmon("inventory", "list", inv, "--format", "csv").stdout  # machine output: never translated
    monkeypatch.setenv("NETMON_LANG", "en")
    assert netmon("validate", inv).stdout.startswith("OK: 5 sites, 5 devices")
    assert netmon("inventory", "list", inv, "--format", "csv").stdout == csv_vi
