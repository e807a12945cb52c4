"""One error path for every command: an expected failure is one line on stderr — never a traceback.

* a usage error (unknown option, bad option value, missing argument: click's) → ``netmon COMMAND: what; see
  'netmon COMMAND --help'``, exit 2 — one line, not click's usage block and boxed panel;
* an expected failure (a database away, a file that cannot be written, an unknown time zone, a bad
  ``NETMON_*`` setting, a missing secret) → ``netmon COMMAND: what happened; what to do``, exit 1.

:class:`NetmonGroup` — the group class of the ``netmon`` app — does both. What is not recognised here is a bug,
and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import typer
from pydantic import ValidationError
from typer._click import Context  # typer 0.29 vendors click; its group takes this Context
from typer._click.exceptions import ClickException, UsageError
from typer.core import TyperGroup

from netmon.cli.common import say
from netmon.inventory.problems import InventoryError
from netmon.lang import t
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
        return t("unknown_zone", name=name)
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            field = ".".join(str(x) for x in e["loc"])
            parts.append(f"NETMON_{field.upper()}={e.get('input')!r}: {e['msg'].removeprefix('Value error, ')}")
        return t("bad_setting", details="; ".join(parts))
    if isinstance(exc, (SecretError, InventoryError)):
        return " ".join(str(exc).split())
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return t("file_problem", where=where, what=exc.strerror or exc)
    return None


def _command_path(args: Sequence[str], group: TyperGroup) -> str:
    """``netmon report availability`` from the words of the command line that name (sub)commands."""
    words = ["netmon"]
    current: Any = group
    for word in args:
        commands = getattr(current, "commands", None)
        if not commands or word not in commands:
            break
        words.append(word)
        current = commands[word]
    return " ".join(words)


def _context_path(ctx: Context) -> str:
    """``netmon outages`` for the context of ``outages``, however the program was started (``python -m``)."""
    names = []
    node: Context | None = ctx
    while node is not None and node.parent is not None:
        names.append(node.info_name or "")
        node = node.parent
    return " ".join(["netmon", *reversed(names)])


class NetmonGroup(TyperGroup):
    """The ``netmon`` group: every sub-command runs inside the one error path."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `netmon report`: the help is printed already
                sys.exit(exc.exit_code)
            command = _context_path(exc.ctx) if exc.ctx is not None else _command_path(argv, self)
            say(f"{command}: " + t("usage_error", message=_sentence(exc.format_message()), command=command))
            sys.exit(exc.exit_code)
        except ClickException as exc:  # pragma: no cover - click raises only usage errors before invoking
            say(f"netmon: {exc.format_message()}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            say(t("aborted"))
            sys.exit(1)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if isinstance(exc, (typer.Exit, typer.Abort)) or hasattr(exc, "exit_code"):
                raise  # an exit, or a usage error (click's, exit 2): said by main()
            message = expected_failure(exc)
            if message is None:
                raise
            command = " ".join(["netmon", *([ctx.invoked_subcommand] if ctx.invoked_subcommand else [])])
            say(f"{command}: {message}")
            raise typer.Exit(1) from None


def _sentence(text: str) -> str:
    """click's message on one line, without its final full stop (the hint follows)."""
    return " ".join(text.replace("Value error, ", "").split()).rstrip(".")
