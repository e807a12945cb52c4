"""One error path for every command: an expected failure is one line on stderr and exit 1 — never a traceback.

Commands raise what they raise (a database away, a file that cannot be written, an unknown time zone, a bad
``NETMON_*`` setting, a missing secret); :class:`NetmonGroup` — the group class of the ``netmon`` app —
turns each into ``netmon COMMAND: what happened; what to do``. Usage errors stay click's (exit 2). What is
not recognised here is a bug, and keeps its traceback.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import typer
from pydantic import ValidationError
from typer._click import Context  # typer 0.29 vendors click; its group takes this Context
from typer.core import TyperGroup

from netmon.cli.common import err
from netmon.inventory.problems import InventoryError
from netmon.secrets import SecretError

__all__ = ["NetmonGroup", "expected_failure"]


def expected_failure(exc: BaseException) -> str | None:
    """What to tell the operator about ``exc``, in one line; None for an unexpected error (a bug)."""
    from netmon.store.db import database_problem

    db = database_problem(exc)
    if db is not None:
        return db
    if isinstance(exc, ZoneInfoNotFoundError):
        name = str(exc.args[0]).removeprefix("No time zone found with key ") if exc.args else "?"
        return f"unknown time zone {name!r}: use an IANA name such as Asia/Ho_Chi_Minh"
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            field = ".".join(str(x) for x in e["loc"])
            parts.append(f"NETMON_{field.upper()}={e.get('input')!r}: {e['msg']}")
        return "bad setting " + "; ".join(parts)
    if isinstance(exc, (SecretError, InventoryError)):
        return " ".join(str(exc).split())
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return None


class NetmonGroup(TyperGroup):
    """The ``netmon`` group: every sub-command runs inside the one error path."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if isinstance(exc, (typer.Exit, typer.Abort)) or hasattr(exc, "exit_code"):
                raise  # an exit, or a usage error (click's, exit 2): already said
            message = expected_failure(exc)
            if message is None:
                raise
            command = " ".join(["netmon", *([ctx.invoked_subcommand] if ctx.invoked_subcommand else [])])
            err.print(f"{command}: {message}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
