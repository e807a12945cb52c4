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
``cli.status``         ``status``
``cli.cluster``        ``cluster status|forget``
=====================  ===========================================================

The shared helpers (consoles, the province's clock, listings as table/JSON/CSV) are :mod:`netmon.cli.common`;
the one error path is :mod:`netmon.cli.errors`; the words are the catalog :mod:`netmon.lang`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from netmon.cli import backup, cluster, inventory, poll, reports, service, status
from netmon.cli.errors import NetmonGroup
from netmon.lang import t

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
app.add_typer(cluster.cluster_app, name="cluster")
reports.register(app)
backup.register(app)
app.command()(inventory.validate)
app.command()(inventory.sync)
app.command()(poll.poll)
app.command()(service.run)
app.command()(service.demo)
app.command()(service.simulate)
app.command()(status.status)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(t("version", version=version("netmon")))
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                          help="Print netmon's version and exit.")] = False,
) -> None:
    """netmon: network inventory and monitoring for a provincial government WAN.

    Words: Vietnamese, or English with NETMON_LANG=en. Times: the province's zone (NETMON_TIMEZONE, default
    Asia/Ho_Chi_Minh). Exit codes: 0 done, 1 failed, 2 usage error, 3 every device failed / something not running.
    """


def main() -> None:  # pragma: no cover - console entry point
    app()
