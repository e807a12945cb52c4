"""Targets from the inventory: secrets resolved at the edge, never shown, clear errors when missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from netmon.collect.snmp import Target, targets_from_inventory
from netmon.inventory.load import load_inventory
from netmon.secrets import Secret, SecretError

COMMUNITY = "s3cret-community-7f"
AUTH = "auth-key-value-9d1e"
PRIV = "priv-key-value-42aa"


@pytest.fixture
def inv_dir(mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    priv = tmp_path / "priv.key"
    priv.write_text(PRIV + "\n")
    profiles = mini / "profiles.yaml"
    profiles.write_text(profiles.read_text().replace("file:/etc/netmon/snmp-priv.key", f"file:{priv}"))
    monkeypatch.setenv("NETMON_SNMP_COMMUNITY", COMMUNITY)
    monkeypatch.setenv("NETMON_SNMP_AUTH_KEY", AUTH)
    return mini


def test_targets_cover_devices_and_base_stations_with_an_address(inv_dir: Path) -> None:
    targets = {t.device_id: t for t in targets_from_inventory(load_inventory(inv_dir))}
    assert set(targets) == {
        "rt-core", "rt-cau-ngang", "rt-tt-cau-ngang", "rt-my-long-bac", "rt-huyen-uy-tieu-can", "vnpt-tvh-cn-001",
    }  # fmt: skip
    core = targets["rt-core"]
    assert (core.host, core.port, core.version, core.user) == ("127.10.0.1", 161, "3", "netmon")
    assert (core.auth_protocol, core.priv_protocol, core.timeout_s) == ("SHA256", "AES", 3.0)
    assert core.auth_key is not None and core.auth_key.reveal() == AUTH
    assert core.priv_key is not None and core.priv_key.reveal() == PRIV
    v6 = targets["rt-tt-cau-ngang"]
    assert (v6.host, v6.port, v6.version) == ("::1", 1161, "2c")
    assert v6.community is not None and v6.community.reveal() == COMMUNITY
    assert targets["rt-my-long-bac"].port == 1161


def test_kinds_select_sections(inv_dir: Path) -> None:
    inv = load_inventory(inv_dir)
    assert [t.device_id for t in targets_from_inventory(inv, kinds=("base_stations",))] == ["vnpt-tvh-cn-001"]
    with pytest.raises(ValueError, match="unknown inventory section"):
        targets_from_inventory(inv, kinds=("links",))


def test_repr_never_shows_secrets(inv_dir: Path) -> None:
    for target in targets_from_inventory(load_inventory(inv_dir)):
        text = repr(target) + str(target)
        for secret in (COMMUNITY, AUTH, PRIV):
            assert secret not in text
    assert "env:NETMON_SNMP_AUTH_KEY" in repr(targets_from_inventory(load_inventory(inv_dir))[0])


def test_missing_secret_names_profile_and_variable(inv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETMON_SNMP_AUTH_KEY")
    with pytest.raises(SecretError) as err:
        targets_from_inventory(load_inventory(inv_dir))
    assert "NETMON_SNMP_AUTH_KEY" in str(err.value)
    assert "SNMP profile v3-core" in str(err.value)


def test_target_validates_and_canonicalises() -> None:
    community = Secret("env:C", "x")
    assert Target("d", "0:0:0:0:0:0:0:1", community=community).host == "::1"
    with pytest.raises(ValueError, match="not an IP address"):
        Target("d", "router.example", community=community)
    with pytest.raises(ValueError, match="needs a community"):
        Target("d", "127.0.0.1")
    with pytest.raises(ValueError, match="needs a user"):
        Target("d", "127.0.0.1", version="3")
    with pytest.raises(ValueError, match="go together"):
        Target("d", "127.0.0.1", version="3", user="u", auth_protocol="SHA")
