"""What a test needs from the machine: skip without it on a workstation, fail without it in CI.

CI must really run against the real servers (``.ci/run`` installs them), so a missing one is an error
there, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str, prefix: str = "CI=true: ") -> NoReturn:
    """Skip the test for ``reason``, or fail it under ``CI=true``."""
    if in_ci():
        pytest.fail(f"{prefix}{reason}", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, package: str) -> str:
    """The path of a command from a Debian package (see ``scripts/setup``)."""
    path = shutil.which(name)
    if path:
        return path
    unavailable(f"{name} not installed (apt-get install {package}; scripts/setup does it)")
