"""Fixtures for the outage tests: one real netns WAN per module, a netmon service running inside its noc.

The topology (``tests/netns_topology.py``) is built once per module and put back to "all up" before each
test; every test gets its own SQLite database and its own monitor, so tests do not share any state.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from netns_topology import NetnsWan, Rig, missing_tools


@pytest.fixture(scope="module")
def wan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetnsWan]:
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    with NetnsWan(tmp_path_factory.mktemp("wan")) as topology:
        yield topology


@pytest.fixture
def topo(wan: NetnsWan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    """The WAN, all up, with its inventory written and a fresh database for this test."""
    wan.reset()
    for name, value in wan.env().items():
        monkeypatch.setenv(name, value)
    inventory = wan.write_inventory(tmp_path / "inventory")
    db_url = f"sqlite:///{tmp_path / 'netmon.db'}"
    try:
        yield Rig(wan, inventory, db_url, tmp_path)
    finally:
        wan.reset()
