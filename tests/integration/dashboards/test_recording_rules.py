"""``deploy/prometheus/rules/dashboards.rules.yml``: promtool checks it and its unit tests pass (~0.1 s).

The state codes the dashboards colour (0 up, 1 unreachable / flapping, 2 down, 3 unknown) and the
availability series that skip unknown time are pinned in ``dashboards.rules.test.yml`` beside this file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from requirements import require_tool

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "dashboards.rules.yml"
TESTS = Path(__file__).with_name("dashboards.rules.test.yml")


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_tool("promtool", "prometheus")


def test_rules_are_valid(promtool: str) -> None:
    proc = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rule_unit_tests(promtool: str) -> None:
    proc = subprocess.run([promtool, "test", "rules", str(TESTS)], capture_output=True, text=True, timeout=60,
                          cwd=TESTS.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
