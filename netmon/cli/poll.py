"""``netmon poll``: poll devices now over SNMP and print what they answered."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from netmon.cli.common import (
    Column,
    Format,
    PathArg,
    close_ids,
    district_codes,
    emit,
    fail,
    inventory_districts,
    load_or_exit,
)
from netmon.lang import t

# One row per device for ``--format csv`` (a spreadsheet) and the table; ``--format json`` / ``--json`` keep the
# nested per-device objects with every interface and the collection state.
POLL_COLUMNS = (
    Column("device", "col_device"),
    Column("reachable", "col_reachable", cell=lambda ok: t("yes") if ok else t("no")),
    Column("sysName", "col_device", table=False),
    Column("sysUpTime", "col_uptime_ticks"),
    Column("interfaces_up", "col_interfaces_up"),
    Column("interfaces", "col_interfaces_up", table=False),
    Column("completeness", "col_collection"),
    Column("faults", "col_collection", table=False),
    Column("error", "col_error", cell=lambda v: v or ""),
)


def poll(
    path: PathArg = None,
    once: Annotated[bool, typer.Option("--once", help="Poll now, print, exit (the only mode here).")] = True,
    device: Annotated[list[str] | None, typer.Option("--device", help="Device or base-station id (repeat).")] = None,
    district: Annotated[str | None, typer.Option(help="Only this district (GSO code or name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    fmt: Annotated[Format, typer.Option(
        "--format", case_sensitive=False,
        help="table (for people), json (a list of per-device objects with every interface and the collection "
             "state), or csv (one row per device; UTF-8 with BOM: opens in Excel).")] = Format.TABLE,
) -> None:
    """Poll devices now over SNMP and print what they answered."""
    import asyncio
    import dataclasses

    from netmon.collect.oids import DEVICE_SPEC
    from netmon.collect.snmp import SnmpPoller
    from netmon.collect.target import targets_from_inventory
    from netmon.health.interpret import interpret

    inv = load_or_exit(path)
    # Which devices first (an unknown id is a usage error), then the secrets of those alone: polling a v2c
    # router needs no SNMPv3 key. A secret that is missing fails the command through the one error path.
    wanted = {*inv.devices, *inv.base_stations}
    if device:
        unknown = sorted(set(device) - wanted)
        if unknown:
            raise fail(t("poll_unknown", ids=", ".join(unknown), hint=close_ids(unknown[0], sorted(wanted))), 2)
        no_address = sorted(d for d in device if d in inv.base_stations and inv.base_stations[d].mgmt is None)
        if no_address:
            raise fail(t("poll_no_address", ids=", ".join(no_address)), 2)
        wanted = set(device)
    if district:
        codes = district_codes(inventory_districts(inv), district)
        in_district = {d.id for d in inv.devices.values() if inv.sites[d.site].district in codes}
        in_district |= {b.id for b in inv.base_stations.values() if b.district in codes}
        wanted &= in_district
    chosen = dataclasses.replace(inv, devices={k: v for k, v in inv.devices.items() if k in wanted},
                                 base_stations={k: v for k, v in inv.base_stations.items() if k in wanted})
    targets = targets_from_inventory(chosen)

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
    if as_json or fmt is Format.JSON:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
    else:
        flat = []
        for obs in results:
            c = obs.collection
            spoiled = ", ".join(f"{name}: {why}" for name, why in c.tables.items() if why != "complete")
            up = sum(1 for i in obs.interfaces.values() if i.oper_status == 1)
            flat.append({
                "device": obs.device_id, "reachable": obs.ok, "sysName": obs.sys_name, "sysUpTime": obs.uptime_ticks,
                "interfaces_up": up if fmt is Format.CSV else f"{up}/{len(obs.interfaces)}",
                "interfaces": len(obs.interfaces),
                "completeness": round(c.completeness, 4) if fmt is Format.CSV
                else f"{c.completeness:.0%}" + (f" ({spoiled})" if spoiled else ""),
                "faults": ";".join(f"{why}={n}" for why, n in sorted(c.faults.items())),
                "error": obs.error,
            })
        emit(flat, POLL_COLUMNS, fmt)
    if results and not any(o.ok for o in results):
        raise typer.Exit(3)
