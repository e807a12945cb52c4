"""Running things: ``netmon run`` (the service), ``netmon demo`` (the province simulated and monitored) and
``netmon simulate`` (the simulated province alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netmon.cli.common import DatabaseOpt, PathArg, fail, hostport, load_or_exit, log_to_stderr, out, print_problems
from netmon.cli.inventory import AllowDeletionsOpt, confirm_deletions, secrets_or_exit
from netmon.lang import t
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
    import dataclasses
    import logging

    from netmon.malloc import one_arena
    from netmon.service import run_service
    from netmon.store import sync as syncer
    from netmon.store.db import make_engine, upgrade

    one_arena()  # before any thread: the HTTP workers' scrapes share one malloc arena (see netmon.malloc)
    log_to_stderr()
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per job run (86 % of the log)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from netmon.collect.target import targets_from_inventory

    hostport(listen, "--listen")
    hostport(traps, "--traps")
    settings = get_settings()
    if listen is not None:
        settings.listen = listen
    if traps is not None:
        settings.trap_listen = traps or None
    inv = load_or_exit(path)
    # Every secret the start needs, before the database is touched: an unset env: secret (each named with its
    # file:line), then the SNMP credentials resolved as the poller will (a secret file that cannot be read).
    secrets_or_exit(inv)
    targets_from_inventory(inv)
    # Where each record came from (file:line, with the parsed YAML: ~38 MB at 10× the province) is for the
    # messages above; the running service never needs it.
    inv = dataclasses.replace(inv, origins={})
    engine = make_engine(database or settings.database_url)
    if settings.cluster and engine.dialect.name != "postgresql":  # before anything is written
        raise fail(t("cluster_needs_postgresql"))
    upgrade(engine)
    plan = syncer.plan(engine, inv)
    if not plan.empty:
        confirm_deletions(plan, allow_deletions)  # the same guard as `netmon sync`
        syncer.apply(engine, plan)
        logging.getLogger("netmon").info("inventory synced: %s", plan.summary())
    asyncio.run(run_service(settings, inv, engine, duration))


ScenarioOpt = Annotated[str | None, typer.Option(
    help="Scenario to play: a YAML file, or a shipped one by name (demo, province-day, district-outage).")]


def scenario_or_exit(text: str | None) -> Path | None:
    """The scenario file ``--scenario`` names (a path, or a shipped scenario); exit 2 naming the shipped ones."""
    from netmon.sim.scenario import scenario_path, shipped_scenarios

    if text is None:
        return None
    path = scenario_path(text)
    if path is None:
        raise fail(t("unknown_scenario", text=text, names=", ".join(shipped_scenarios())), 2)
    return path


def demo(
    duration: Annotated[float | None, typer.Option(help="Stop by itself after this many seconds.")] = None,
    headless: Annotated[bool, typer.Option("--headless", help="Print the incident log, not the live view.")] = False,
    with_prometheus: Annotated[bool, typer.Option("--with-prometheus", help="Also run Prometheus + Alertmanager.")]
    = False,
    inventory: Annotated[Path | None, typer.Option(
        help="Inventory to simulate and monitor (default: the sample province, generated into the work folder)."
    )] = None,
    scenario: ScenarioOpt = "demo",
    workdir: Annotated[Path | None, typer.Option(help="Working folder (fresh SQLite database, logs).")] = None,
    port: Annotated[int, typer.Option(help="Port of /metrics on 127.0.0.1.")] = 9750,
    isolate: Annotated[bool, typer.Option(help="Run in a private network namespace (root) so down devices "
                                          "fail ICMP too.")] = True,
) -> None:
    """The whole province, simulated and monitored, in one command, from any folder (Ctrl-C stops everything)."""
    from netmon.demo import DemoConfig, default_workdir, main
    from netmon.inventory.sample import write_sample

    play = scenario_or_exit(scenario)
    work = (workdir or default_workdir()).resolve()
    if inventory is None:  # the embedded default: the sample province from the package, whatever the cwd
        inventory = work / "inventory"
        write_sample(inventory)
    elif not inventory.exists():
        raise fail(f"--inventory: {inventory}: " + t("no_such_path"), 2)
    cfg = DemoConfig(inventory.resolve(), play.resolve() if play else Path(), work, duration,
                     headless, with_prometheus, metrics_port=port, isolate=isolate)
    try:
        main(cfg, out, lambda code: None)  # a port taken: one line through the error path, exit 1
    except RuntimeError as exc:  # the simulator did not start: what it said (its last lines)
        raise fail(f"netmon demo: {exc}") from None


def simulate(
    inventory: Annotated[Path, typer.Option("--inventory", help="Inventory to simulate.")] = Path("inventory"),
    scale: Annotated[int, typer.Option(min=1, max=20, help="Simulate the sample province × N instead.")] = 1,
    scenario: ScenarioOpt = None,
    traps: Annotated[str | None, typer.Option(help="Send traps to HOST:PORT (e.g. 127.0.0.1:1162).")] = None,
    control: Annotated[str | None, typer.Option(help="JSON control port HOST:PORT (tests, benchmarks).")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    part: Annotated[str, typer.Option(help="Serve only part K of N of the agents (K/N): one socket per agent, so "
                                      "N processes share what one process's descriptor limit cannot hold.")]
    = "1/1",
) -> None:
    """Serve real SNMP for every device and base station on its loopback address; play a scenario."""
    import asyncio

    from netmon.inventory.problems import InventoryError
    from netmon.secrets import SecretError
    from netmon.sim.run import SimConfig, Simulator, parse_part, run_simulator

    try:
        share = parse_part(part)
    except ValueError:
        raise fail(t("bad_part", text=part), 2) from None
    log_to_stderr("%(asctime)s %(name)s %(message)s")
    cfg = SimConfig(inventory, scale, scenario_or_exit(scenario), hostport(traps, "--traps"),
                    hostport(control, "--control"), duration=duration, part=share)

    def ready(sim: Simulator, seconds: float) -> None:
        # a line for a program (`netmon demo` and the tests wait for it): never translated
        mine = sim.devices()
        v3 = sum(1 for d in mine if d.v3)
        of = f", part {share[0]}/{share[1]} of {len(sim.world.devices)}," if share != (1, 1) else ""
        out.print(f"ready: {len(mine)} agents ({v3} SNMPv3){of} in {seconds:.1f} s; "
                  f"blackholes {'on' if sim.blackholes.enabled else 'off (not in a private netns)'}", markup=False)

    try:
        asyncio.run(run_simulator(cfg, ready))
    except InventoryError as exc:
        print_problems(exc.problems)
        raise fail(t("problems", n=len(exc.problems))) from None
    except (SecretError, OSError) as exc:  # OSError: an address taken, too few descriptors
        raise fail(f"netmon simulate: {exc}") from None
    out.print(t("stopped"), markup=False)
