"""``netmon cluster status|forget``: the pollers sharing the database, as the database tells it.

``status`` lists every poller that registered — alive, ``dead`` (silent for ``NETMON_FAILOVER_S``: its devices
went to the others, and it is one ``PollerDown``) or ``stopped`` (said goodbye) — which one assigns, and how
many units each owns; exit 3 when one is dead, as ``netmon status`` does for what is not running.

``forget`` is for a poller that died for good (a host retired without a clean stop): without it, it stays
``PollerDown`` until a poller with its id runs again. It is marked stopped, as its own goodbye would have
done; a poller that still beats is refused (stop it with SIGTERM), and the change needs ``--yes`` or a typed
yes.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer

from netmon.cli.common import (
    Column,
    DatabaseOpt,
    Format,
    FormatOpt,
    close_ids,
    emit,
    fail,
    open_database,
    say,
    typed_yes,
)
from netmon.lang import t
from netmon.settings import get_settings

__all__ = ["cluster_app"]

cluster_app = typer.Typer(help="The pollers of a cluster (NETMON_CLUSTER on PostgreSQL): status, forget.",
                          no_args_is_help=True)

COLUMNS = (
    Column("poller", "col_poller"),
    Column("state", "col_state"),
    Column("silent_s", "col_silent", digits=0),
    Column("leader", "col_leader"),
    Column("units", "col_units"),
    Column("url", "col_url"),
)


@cluster_app.command("status")
def status(database: DatabaseOpt = None, fmt: FormatOpt = Format.TABLE) -> None:
    """Every poller that registered: alive, dead (silent for NETMON_FAILOVER_S) or stopped; the one that
    assigns; the units each owns. Exit 3 when one is dead."""
    from netmon.store.cluster import assignment, lease_holder, members

    engine = open_database(database, read_only=True)
    failover = get_settings().failover_s
    pollers = members(engine)
    holder = lease_holder(engine)
    owned = Counter(assignment(engine).values())
    rows = [{"poller": p.id, "state": "stopped" if p.stopped else "alive" if p.alive(failover) else "dead",
             "silent_s": round(p.silent_s, 1), "leader": p.id == holder, "units": owned.get(p.id, 0), "url": p.url}
            for p in pollers]
    if not rows and fmt is Format.TABLE:
        say(t("cluster_none"))
        return
    emit(rows, COLUMNS, fmt, title=t("cluster_title"))
    if any(r["state"] == "dead" for r in rows):
        raise typer.Exit(3)


@cluster_app.command("forget")
def forget(
    poller: Annotated[str, typer.Argument(
        metavar="POLLER", help="The poller's id (NETMON_POLLER_ID), as 'netmon cluster status' lists it.")],
    database: DatabaseOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (scripts).")] = False,
) -> None:
    """Forget a poller that died for good: it is marked stopped and its PollerDown ends. One that still beats
    is refused (stop it with SIGTERM instead)."""
    from netmon.store.cluster import members, stop

    engine = open_database(database, read_only=True)
    failover = get_settings().failover_s
    found = {p.id: p for p in members(engine)}
    member = found.get(poller)
    if member is None:
        raise fail(t("cluster_unknown_poller", poller=poller, hint=close_ids(poller, list(found))), 2)
    if member.stopped:
        say(t("cluster_already_stopped", poller=poller))
        return
    if member.alive(failover):
        raise fail(t("cluster_poller_alive", poller=poller, silent=member.silent_s, failover=failover))
    if not yes and not typed_yes(t("cluster_type_yes", poller=poller)):
        raise fail(t("cluster_forget_refused", poller=poller))
    stop(engine, poller)
    say(t("cluster_forgotten", poller=poller))
