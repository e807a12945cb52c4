"""``netmon poll``: poll devices now over SNMP and print what they answered."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from netmon.cli.common import PathArg, district_codes, err, inventory_districts, load_or_exit, out


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

    inv = load_or_exit(path)
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
        codes = district_codes(inventory_districts(inv), district)
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
            "collection": obs.collection.as_dict(),
            "sysName": obs.sys_name,
            "sysUpTime": obs.uptime_ticks,
            "interfaces": [
                {"ifIndex": i.if_index, "name": i.label, "descr": i.descr, "alias": i.alias, "admin": i.admin_status,
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
        table = Table("device", "reachable", "sysUpTime", "interfaces (up/total)", "collection", "error")
        for obs in results:
            up = sum(1 for i in obs.interfaces.values() if i.oper_status == 1)
            c = obs.collection
            spoiled = ", ".join(f"{t}: {why}" for t, why in c.tables.items() if why != "complete")
            table.add_row(obs.device_id, "yes" if obs.ok else "[red]no[/]",
                          "—" if obs.uptime_ticks is None else str(obs.uptime_ticks), f"{up}/{len(obs.interfaces)}",
                          f"{c.completeness:.0%}" + (f" ({spoiled})" if spoiled else ""), obs.error or "")
        out.print(table)
    if results and not any(o.ok for o in results):
        raise typer.Exit(3)
