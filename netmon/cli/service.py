"""Running things: ``netmon run`` (the service), ``netmon demo`` (the province simulated and monitored) and
``netmon simulate`` (the simulated province alone)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from netmon.cli.common import DatabaseOpt, PathArg, err, hostport, load_or_exit, out
from netmon.cli.inventory import AllowDeletionsOpt, confirm_deletions
from netmon.settings import get_settings


def run(
    path: PathArg = None,
    database: DatabaseOpt = None,
    listen: Annotated[str | None, typer.Option(help="HOST:PORT for /metrics /healthz /readyz.")] = None,
    traps: Annotated[str | None, typer.Option(help="HOST:PORT of the trap receiver ('' to disable).")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    allow_deletions: AllowDeletionsOpt = False,
) -> None:
    """Run the service: sync the inventory, poll on schedule, judge outages, serve /metrics."""
    import asyncio
    import logging

    from netmon.service import run_service
    from netmon.store import sync as syncer
    from netmon.store.db import make_engine, upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per job run (86 % of the log)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = get_settings()
    if listen is not None:
        settings.listen = listen
    if traps is not None:
        settings.trap_listen = traps or None
    inv = load_or_exit(path)
    engine = make_engine(database or settings.database_url)
    upgrade(engine)
    plan = syncer.plan(engine, inv)
    if not plan.empty:
        confirm_deletions(plan, allow_deletions)  # the same guard as `netmon sync`
        syncer.apply(engine, plan)
        logging.getLogger("netmon").info("inventory synced: %s", plan.summary())
    asyncio.run(run_service(settings, inv, engine, duration))


def demo(
    duration: Annotated[float | None, typer.Option(help="Stop by itself after this many seconds.")] = None,
    headless: Annotated[bool, typer.Option("--headless", help="Print the incident log, not the live view.")] = False,
    with_prometheus: Annotated[bool, typer.Option("--with-prometheus", help="Also run Prometheus + Alertmanager.")]
    = False,
    inventory: Annotated[Path, typer.Option(help="Inventory to simulate and monitor.")] = Path("inventory"),
    scenario: Annotated[Path, typer.Option(help="Scenario to play.")] = Path("inventory/scenarios/demo.yaml"),
    workdir: Annotated[Path | None, typer.Option(help="Working folder (fresh SQLite database, logs).")] = None,
    port: Annotated[int, typer.Option(help="Port of /metrics on 127.0.0.1.")] = 9750,
    isolate: Annotated[bool, typer.Option(help="Run in a private network namespace (root) so down devices "
                                          "fail ICMP too.")] = True,
) -> None:
    """The whole province, simulated and monitored, in one command (Ctrl-C stops everything)."""
    from netmon.demo import DemoConfig, default_workdir, main

    cfg = DemoConfig(inventory.resolve(), scenario.resolve(), (workdir or default_workdir()).resolve(), duration,
                     headless, with_prometheus, metrics_port=port, isolate=isolate)
    try:
        main(cfg, out, lambda code: None)
    except (OSError, RuntimeError) as exc:
        err.print(f"demo: {exc}", markup=False)
        raise typer.Exit(1) from None


def simulate(
    inventory: Annotated[Path, typer.Option("--inventory", help="Inventory to simulate.")] = Path("inventory"),
    scale: Annotated[int, typer.Option(min=1, max=20, help="Simulate the sample province × N instead.")] = 1,
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML (e.g. inventory/scenarios/demo.yaml).")] = None,
    traps: Annotated[str | None, typer.Option(help="Send traps to HOST:PORT (e.g. 127.0.0.1:1162).")] = None,
    control: Annotated[str | None, typer.Option(help="JSON control port HOST:PORT (tests, benchmarks).")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Serve real SNMP for every device and base station on its loopback address; play a scenario."""
    import asyncio
    import logging

    from netmon.inventory.problems import InventoryError
    from netmon.secrets import SecretError
    from netmon.sim.run import SimConfig, Simulator, run_simulator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    cfg = SimConfig(inventory, scale, scenario, hostport(traps, "--traps"), hostport(control, "--control"),
                    duration=duration)

    def ready(sim: Simulator, seconds: float) -> None:
        v3 = sum(1 for d in sim.world.devices.values() if d.v3)
        out.print(f"ready: {len(sim.world.devices)} agents ({v3} SNMPv3) in {seconds:.1f} s; "
                  f"blackholes {'on' if sim.blackholes.enabled else 'off (not in a private netns)'}", markup=False)

    try:
        asyncio.run(run_simulator(cfg, ready))
    except InventoryError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except (SecretError, OSError) as exc:
        err.print(f"simulate: {exc}", markup=False)
        raise typer.Exit(1) from None
    out.print("stopped", markup=False)
