"""Nothing in the inventory folder is skipped silently: every entry is read or is an error naming it.

A skipped ``base_stations.YAML`` or a dangling symlink made ``validate`` say OK with 0 base stations, and
``sync`` then deleted all of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netmon.inventory.load import load_inventory
from netmon.inventory.problems import InventoryError


@pytest.fixture
def inv(mini: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(mini.parent)
    return Path("inv")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    return [str(p) for p in caught.value.problems]


def test_a_dangling_symlink_is_an_error_not_a_skip(inv: Path) -> None:
    (inv / "base_stations.yaml").rename(inv.parent / "moved-away.yaml")
    os.symlink("/nonexistent/base_stations.yaml", inv / "base_stations.yaml")
    assert problems_of(inv) == ["inv/base_stations.yaml:1:1: cannot read file: No such file or directory"]


def test_a_symlink_loop_is_an_error_not_a_skip(inv: Path) -> None:
    os.symlink("loop-b.yaml", inv / "loop-a.yaml")
    os.symlink("loop-a.yaml", inv / "loop-b.yaml")
    assert problems_of(inv) == [
        "inv/loop-a.yaml:1:1: cannot read file: Too many levels of symbolic links",
        "inv/loop-b.yaml:1:1: cannot read file: Too many levels of symbolic links",
    ]


def test_an_upper_case_extension_is_an_error_with_the_name_to_use(inv: Path) -> None:
    (inv / "base_stations.yaml").rename(inv / "base_stations.YAML")
    assert problems_of(inv)[0] == (
        "inv/base_stations.YAML:1:1: not read: inventory files end in lower-case .yaml or .yml; "
        "rename it to base_stations.yaml"
    )


@pytest.mark.parametrize(("entry", "message"), [
    ("notes.txt", "not an inventory file (only *.yaml and *.yml are read)"),
    ("old/", "a sub-folder is not inventory (only scenarios/ may be here)"),
    ("extra.yaml/", "a folder named like an inventory file"),
])
def test_any_other_entry_is_an_error(inv: Path, entry: str, message: str) -> None:
    path = inv / entry.rstrip("/")
    if entry.endswith("/"):
        path.mkdir()
    else:
        path.write_text("ghi chú\n", encoding="utf-8")
    [problem] = problems_of(inv)
    assert problem.startswith(f"{path}:1:1: {message}")


def test_hidden_entries_and_the_scenarios_folder_are_not_inventory_by_rule(inv: Path) -> None:
    (inv / ".git").mkdir()
    (inv / ".devices.yaml.swp").write_bytes(b"\x00vim swap")
    (inv / "scenarios").mkdir()
    (inv / "scenarios" / "demo.yaml").write_text("steps: []\n", encoding="utf-8")
    assert load_inventory(inv).counts()["base_stations"] == 2
