"""Resolve ``env:NAME`` / ``file:/path`` secret references — the only place secrets are read.

A resolved value is wrapped in :class:`Secret`, whose ``repr``/``str`` never show
it, so a secret that ends up in a log line, an exception or a metric label
prints as ``Secret('env:NAME')`` instead of leaking.
"""

from __future__ import annotations

import os
from pathlib import Path


class SecretError(RuntimeError):
    """A reference that cannot be resolved; the message names the reference, never a value."""


class Secret:
    __slots__ = ("_ref", "_value")

    def __init__(self, ref: str, value: str) -> None:
        self._ref = ref
        self._value = value

    def reveal(self) -> str:
        """The secret itself: call only where it is handed to a protocol library."""
        return self._value

    @property
    def ref(self) -> str:
        return self._ref

    def __repr__(self) -> str:
        return f"Secret({self._ref!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve(ref: str, *, owner: str = "") -> Secret:
    """Read the secret behind ``ref``; ``owner`` (e.g. ``snmp profile snmp-v2c-agency``) goes in errors."""
    where = f" (for {owner})" if owner else ""
    if ref.startswith("env:"):
        name = ref[4:]
        value = os.environ.get(name)
        if value is None:
            raise SecretError(f"environment variable {name} is not set{where}")
        return Secret(ref, value)
    if ref.startswith("file:"):
        path = Path(ref[5:])
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"cannot read secret file {path}: {exc.strerror or exc}{where}") from None
        return Secret(ref, value)
    raise SecretError(f"not a secret reference: use env:NAME or file:/path{where}")
