"""The sample inventory generator: loads cleanly, has the report's numbers, matches what is committed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from netmon.inventory.load import load_inventory
from netmon.inventory.sample import FILES, generate, no_4g_communes, write_sample

COMMITTED = Path(__file__).resolve().parents[3] / "inventory"


def test_scale_1_loads_with_the_report_numbers(tmp_path: Path) -> None:
    written = write_sample(tmp_path)
    inv = load_inventory(tmp_path)  # raises InventoryError listing any problem
    assert inv.counts() == written == {
        "districts": 9, "communes": 106, "sites": 150, "devices": 150, "links": 149,
        "base_stations": 1222, "snmp_profiles": 3, "ssh_profiles": 1, "maintenance": 2,
    }
    sites = list(inv.sites.values())
    assert Counter(s.kind.value for s in sites) == {"party": 16, "state": 134}
    state_levels = Counter(s.level.value for s in sites if s.kind.value == "state")
    assert state_levels == {"province": 19, "district": 9, "commune": 106}
    assert [s.id for s in sites if s.uplink is None] == ["so-thong-tin-truyen-thong"]
    assert {s.commune for s in sites if s.level.value == "commune"} == set(inv.communes)
    assert Counter(b.operator.value for b in inv.base_stations.values()) == {
        "Viettel": 380, "VNPT": 330, "MobiFone": 300, "Vietnamobile": 110, "FPT": 52, "Gtel": 50,
    }
    per_commune = Counter(b.commune for b in inv.base_stations.values())
    assert set(per_commune) == set(inv.communes) and min(per_commune.values()) >= 3
    with_4g = {b.commune for b in inv.base_stations.values() if "4G" in b.technologies}
    assert set(inv.communes) - with_4g == {c.code for c in no_4g_communes()}
    assert len(set(inv.communes) - with_4g) == 6


def test_links_match_the_uplinks_and_interfaces(tmp_path: Path) -> None:
    write_sample(tmp_path)
    inv = load_inventory(tmp_path)
    router = {d.site: d for d in inv.devices.values()}
    for site in inv.sites.values():
        if site.uplink is None:
            continue
        link = inv.links[f"ln-{site.id}"]
        assert (link.a.device, link.b.device) == (router[site.id].id, router[site.uplink].id)
        for end in (link.a, link.b):
            itf = {i.name: i for i in inv.devices[end.device].interfaces}[end.interface]
            assert (itf.circuit, itf.provider, itf.bandwidth_mbps) == (
                link.circuit, link.provider, link.bandwidth_mbps)


def test_deterministic() -> None:
    assert generate(1) == generate(1)
    assert generate(1, seed=7) != generate(1)


@pytest.mark.slow
def test_scale_10_loads(tmp_path: Path) -> None:
    write_sample(tmp_path, scale=10)
    counts = load_inventory(tmp_path).counts()
    assert (counts["sites"], counts["devices"], counts["base_stations"]) == (1500, 1500, 12220)
    assert counts["links"] == 1499  # 149 per copy + one from each copy's root to the real core


def test_committed_inventory_is_the_generator_output(tmp_path: Path) -> None:
    write_sample(tmp_path)
    for name in FILES:
        committed = (COMMITTED / name).read_text(encoding="utf-8")
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        header = [ln for ln in fresh.splitlines() if ln.startswith("#")]
        assert committed.splitlines()[: len(header)] == header, f"{name}: header differs"
        assert yaml.safe_load(committed) == generate(1)[name], (
            f"inventory/{name} drifted from the generator: run `netmon inventory generate`"
        )


def test_headers_tell_operators_how_to_make_the_inventory_their_own() -> None:
    for name in FILES:
        header = [ln for ln in (COMMITTED / name).read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
        text = " ".join(header)
        assert "do not hand-edit" not in text and "không sửa tay" not in text, name
        for step in ("netmon validate", "netmon sync --plan", "netmon sync", "generate --force"):
            assert step in text, (name, step)
