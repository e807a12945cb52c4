"""The ``netmon`` command line (typer + rich): one module per command group, the shared helpers in
:mod:`netmon.cli.common`. Errors go to stderr with a non-zero exit.

=====================  ===========================================================
module                 commands
=====================  ===========================================================
``cli.inventory``      ``validate``, ``sync``, ``inventory stats|list|export|generate|show``
``cli.poll``           ``poll``
``cli.service``        ``run``, ``demo``, ``simulate``
``cli.reports``        ``outages``, ``report availability``
``cli.backup``         ``backup``, ``backup facts|diff|show|history``
=====================  ===========================================================
"""

from __future__ import annotations

import typer

from netmon.cli import backup, inventory, poll, reports, service
from netmon.cli.errors import NetmonGroup

__all__ = ["app", "inventory_app", "main"]

app = typer.Typer(
    cls=NetmonGroup,
    help="netmon: network inventory and monitoring for a provincial government WAN.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
inventory_app = inventory.inventory_app
app.add_typer(inventory_app, name="inventory")
reports.register(app)
backup.register(app)
app.command()(inventory.validate)
app.command()(inventory.sync)
app.command()(poll.poll)
app.command()(service.run)
app.command()(service.demo)
app.command()(service.simulate)


def main() -> None:  # pragma: no cover - console entry point
    app()
