"""The ``netmon`` command line (typer + rich). Errors go to stderr with a non-zero exit."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from netmon.inventory.load import Inventory, load_inventory
from netmon.inventory.problems import InventoryError
from netmon.reports import register as register_reports
from netmon.settings import get_settings
from netmon.ssh.cli import register as register_ssh

app = typer.Typer(
    help="netmon: network inventory and monitoring for a provincial government WAN.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
inventory_app = typer.Typer(
    help="Look at the inventory: list, stats, export, generate.", no_args_is_help=True
)
app.add_typer(inventory_app, name="inventory")
register_reports(app)
register_ssh(app, inventory_app)

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

PathArg = Annotated[
    Path | None, typer.Argument(help="Inventory folder or file (default: NETMON_INVENTORY or ./inventory).")
]


def _inventory_path(path: Path | None) -> Path:
    return path if path is not None else Path(get_settings().inventory)


def _load_or_exit(path: Path | None) -> Inventory:
    try:
        return load_inventory(_inventory_path(path))
    except InventoryError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        n = len(exc.problems)
        err.print(f"[bold red]{n} problem{'s' if n != 1 else ''}[/]; nothing was changed.")
        raise typer.Exit(1) from None


def _summary(counts: dict[str, int]) -> str:
    return (
        f"{counts['sites']} sites, {counts['devices']} devices, {counts['links']} links, "
        f"{counts['base_stations']} base stations, {counts['districts']} districts, "
        f"{counts['communes']} communes"
    )


@app.command()
def validate(path: PathArg = None) -> None:
    """Check the inventory and report every problem as file:line:column: field: message."""
    started = time.perf_counter()
    inv = _load_or_exit(path)
    out.print(f"OK: {_summary(inv.counts())} ({time.perf_counter() - started:.2f} s)", soft_wrap=True)


@app.command()
def sync(
    path: PathArg = None,
    plan_only: Annotated[bool, typer.Option("--plan", help="Only print what would change.")] = False,
    database: Annotated[str | None, typer.Option(help="Database URL (default: NETMON_DATABASE_URL).")] = None,
) -> None:
    """Make the database match the inventory, in one transaction (refused when validation fails)."""
    from netmon.store import sync as syncer
    from netmon.store.db import make_engine, upgrade

    inv = _load_or_exit(path)  # before the database is even opened: a bad inventory changes nothing
    engine = make_engine(database or get_settings().database_url)
    upgrade(engine)
    plan = syncer.plan(engine, inv)
    if plan.empty:
        out.print("No changes: the database already matches the inventory.")
        return
    table = Table("table", "add", "change", "remove", title="Plan" if plan_only else "Applied")
    for name, counts in plan.summary().items():
        table.add_row(name, str(counts["add"]), str(counts["change"]), str(counts["remove"]))
    if plan_only:
        out.print(table)
        for name, changes in plan.tables.items():
            for added in changes.add[:20]:
                out.print(f"  + {name} {_row_key(added)}", markup=False, soft_wrap=True)
            for row, diff in changes.change[:20]:
                cols = ", ".join(f"{c}: {old!r} → {new!r}" for c, (old, new) in diff.items())
                out.print(f"  ~ {name} {_row_key(row)}: {cols}", markup=False, soft_wrap=True)
            for key in changes.remove[:20]:
                out.print(f"  - {name} {key}", markup=False, soft_wrap=True)
        return
    syncer.apply(engine, plan)
    out.print(table)


def _row_key(row: dict[str, Any]) -> Any:
    return row.get("id", row.get("code", row.get("name")))


@inventory_app.command("stats")
def inventory_stats(
    path: PathArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Counts of sites, devices, links, base stations, districts, communes."""
    counts = _load_or_exit(path).counts()
    if as_json:
        sys.stdout.write(json.dumps(counts) + "\n")  # plain: rich would wrap it at the console width
        return
    table = Table("what", "count")
    for key, value in counts.items():
        table.add_row(key, f"{value:,}")
    out.print(table)


@inventory_app.command("list")
def inventory_list(
    path: PathArg = None,
    district: Annotated[str | None, typer.Option(help="District GSO code or (part of) its name.")] = None,
    kind: Annotated[str | None, typer.Option(help="party or state.")] = None,
    level: Annotated[str | None, typer.Option(help="province, district or commune.")] = None,
) -> None:
    """List the agency sites with their router and uplink."""
    inv = _load_or_exit(path)
    codes = _district_codes(inv, district) if district else None
    routers = {d.site: d for d in inv.devices.values()}
    table = Table("site", "name", "kind", "level", "district", "router", "mgmt", "uplink")
    shown = 0
    for site in inv.sites.values():
        if codes is not None and site.district not in codes:
            continue
        if (kind and site.kind.value != kind) or (level and site.level.value != level):
            continue
        router = routers.get(site.id)
        dname = inv.districts[site.district].name if site.district else "—"
        table.add_row(site.id, site.name, site.kind.value, site.level.value, dname,
                      router.id if router else "—", str(router.mgmt) if router else "—", site.uplink or "—")
        shown += 1
    out.print(table)
    out.print(f"{shown} site(s)")


def _district_codes(inv: Inventory, text: str) -> set[str]:
    from netmon.inventory.text import match_districts

    codes = match_districts({d.code: d.name for d in inv.province.districts}, text)
    if not codes:
        err.print(f"no district matches {text!r}", markup=False)
        raise typer.Exit(2)
    return codes


@inventory_app.command("export")
def inventory_export(
    path: PathArg = None,
    fmt: Annotated[str, typer.Option("--format", help="csv (sites) or json (everything).")] = "json",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export the inventory: json (the whole validated inventory) or csv (one row per site)."""
    from netmon.inventory.export import to_csv, to_json

    inv = _load_or_exit(path)
    if fmt not in ("csv", "json"):
        err.print("--format must be csv or json")
        raise typer.Exit(2)
    text = to_json(inv) if fmt == "json" else to_csv(inv)
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@inventory_app.command("generate")
def inventory_generate(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the YAML files into.")
    ] = Path("inventory"),
    scale: Annotated[int, typer.Option(min=1, max=50, help="Copies of the province (10 → 1,500 sites).")] = 1,
) -> None:
    """Write the sample Trà Vinh province (real units, illustrative devices) as YAML."""
    from netmon.inventory.sample import write_sample

    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Any] = write_sample(out_dir, scale=scale)
    out.print(f"wrote {out_dir}: {counts}", markup=False, soft_wrap=True)


@app.command()
def poll(
    path: PathArg = None,
    once: Annotated[bool, typer.Option("--once", help="Poll now, print, exit (the only mode here).")] = True,
    device: Annotated[list[str] | None, typer.Option("--device", help="Device or base-station id (repeat).")] = None,
    district: Annotated[str | None, typer.Option(help="Only this district (GSO code or name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of per-device objects.")] = False,
) -> None:
    """Poll devices now over SNMP and print what they answered."""
    import asyncio

    from netmon.collect.oids import DEVICE_SPEC
    from netmon.collect.snmp import SnmpPoller
    from netmon.collect.target import targets_from_inventory
    from netmon.health.interpret import interpret
    from netmon.secrets import SecretError

    inv = _load_or_exit(path)
    try:
        targets = targets_from_inventory(inv)
    except SecretError as exc:
        err.print(f"poll: {exc}", markup=False)
        raise typer.Exit(1) from None
    if device:
        unknown = set(device) - {t.device_id for t in targets}
        if unknown:
            err.print(f"poll: unknown device(s): {', '.join(sorted(unknown))}", markup=False)
            raise typer.Exit(2)
        targets = [t for t in targets if t.device_id in set(device)]
    if district:
        codes = _district_codes(inv, district)
        in_district = {d.id for d in inv.devices.values() if inv.sites[d.site].district in codes}
        in_district |= {b.id for b in inv.base_stations.values() if b.district in codes}
        targets = [t for t in targets if t.device_id in in_district]

    async def run() -> list[Any]:
        async with SnmpPoller() as poller:
            return await poller.poll(targets, DEVICE_SPEC)

    results = [interpret(r) for r in asyncio.run(run())]
    rows = [
        {
            "id": obs.device_id,
            "reachable": obs.ok,
            "error": obs.error,
            "sysName": obs.sys_name,
            "sysUpTime": obs.uptime_ticks,
            "interfaces": [
                {"ifIndex": i.if_index, "name": i.name, "alias": i.alias, "admin": i.admin_status,
                 "oper": i.oper_status, "in_octets": i.in_octets, "out_octets": i.out_octets,
                 "speed": i.speed_bps}
                for i in obs.interfaces.values()
            ],
        }
        for obs in results
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
    else:
        table = Table("device", "reachable", "sysUpTime", "interfaces (up/total)", "error")
        for obs in results:
            up = sum(1 for i in obs.interfaces.values() if i.oper_status == 1)
            table.add_row(obs.device_id, "yes" if obs.ok else "[red]no[/]",
                          str(obs.uptime_ticks or "—"), f"{up}/{len(obs.interfaces)}", obs.error or "")
        out.print(table)
    if results and not any(o.ok for o in results):
        raise typer.Exit(3)


@app.command()
def run(
    path: PathArg = None,
    database: Annotated[str | None, typer.Option(help="Database URL (default: NETMON_DATABASE_URL).")] = None,
    listen: Annotated[str | None, typer.Option(help="HOST:PORT for /metrics /healthz /readyz.")] = None,
    traps: Annotated[str | None, typer.Option(help="HOST:PORT of the trap receiver ('' to disable).")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """Run the service: sync the inventory, poll on schedule, judge outages, serve /metrics."""
    import asyncio
    import logging

    from netmon.secrets import SecretError
    from netmon.service import run_service
    from netmon.store import sync as syncer
    from netmon.store.db import make_engine, upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    settings = get_settings()
    if listen is not None:
        settings.listen = listen
    if traps is not None:
        settings.trap_listen = traps or None
    inv = _load_or_exit(path)
    engine = make_engine(database or settings.database_url)
    upgrade(engine)
    plan = syncer.plan(engine, inv)
    if not plan.empty:
        syncer.apply(engine, plan)
        logging.getLogger("netmon").info("inventory synced: %s", plan.summary())
    try:
        asyncio.run(run_service(settings, inv, engine, duration))
    except SecretError as exc:
        err.print(f"run: {exc}", markup=False)
        raise typer.Exit(1) from None


@app.command()
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


def _hostport(text: str | None, what: str) -> tuple[str, int] | None:
    if not text:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        err.print(f"{what} must be HOST:PORT, got {text!r}", markup=False)
        raise typer.Exit(2)
    return host.strip("[]"), int(port)


@app.command()
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
    cfg = SimConfig(inventory, scale, scenario, _hostport(traps, "--traps"), _hostport(control, "--control"),
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


def main() -> None:  # pragma: no cover - console entry point
    app()
