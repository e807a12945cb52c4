"""Detection latency: from a link really going down to netmon's incident, by polling alone and by trap.

Why: an outage must page within one poll interval + 5 s when only polling sees it, and within 2 s when the
device says so with a trap. Measured on a real small WAN (``tests/netns_topology.py``: network namespaces,
veth pairs, net-snmp snmpd in each router; netmon in the noc namespace, in this process):

* each run sets a commune's end of its uplink veth down (the district's end loses carrier, its snmpd
  reports ifOperStatus down and, within its 1 s event check, sends linkDown), then waits for the incident
  (``link:uplink-cN``) and for the recovery, rotating over the three communes;
* **poll**: no trap receiver, routers polled every ``--interval`` s (one slice); each run starts at a random
  phase of the poll cycle, so the median is about half an interval plus one poll;
* **trap**: the trap receiver on, routers polled only every 60 s, so what is measured is the trap path
  (snmpd's own linkDown → receiver → re-poll of the district and its parent → judged down);
* the flap detector is set out of reach (``flap_changes=1000``): 10 runs over 3 links would trip it;
* latency = wall time of the monitor's ``opened`` callback − the time ``ip link set … down`` returned;
* recovery → close = wall time of the ``closed`` callback − the time ``ip link set … up`` returned: the link
  incident stays open until the link has been back for the linger (so a flap stays one incident), two poll
  intervals as deployed — ``2 × --interval`` in both modes here (trap mode polls every 60 s, whose 120 s
  linger would make each run two minutes long) — and is closed by a timer, not by the next poll.

Run as root from the repository root (about 2 minutes)::

    python bench/detection.py              # 10 runs of each, median against the targets
    python bench/detection.py --runs 3 --json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the shared topology helpers

from netns_topology import COMMUNES, NetnsWan, Opened, Rig, link_id, missing_tools, wait_for  # noqa: E402

from netmon.health.states import Params, State  # noqa: E402 - after the path fix, so it runs from a checkout
from netmon.health.topology import link_key  # noqa: E402

TRAP_TARGET_S = 2.0
POLL_MARGIN_S = 5.0
TRAP_MODE_INTERVAL_S = 60.0


def _all_up(svc: Any) -> bool:
    h = svc.monitor.health
    return all(d.state is State.UP for d in h.devices.values()) and all(
        ln.state is State.UP for ln in h.links.values()) and not svc.monitor.incidents


def measure(rig: Rig, mode: str, runs: int, interval: float, deadline: float) -> list[dict[str, Any]]:
    """``runs`` link-down → incident latencies in ``mode`` (poll / trap), each bounded in time."""
    overrides: dict[str, Any] = {"router_interval_s": interval, "trap_listen": None} if mode == "poll" else {
        "router_interval_s": TRAP_MODE_INTERVAL_S}
    overrides["link_linger_s"] = 2 * interval
    per_run_s = (interval if mode == "poll" else 2.0) + 15.0

    async def scenario() -> list[dict[str, Any]]:
        import asyncio

        out: list[dict[str, Any]] = []
        # 10 runs over 3 links would trip the flap detector (more than 4 changes in 300 s): not what is measured.
        async with rig.service(params=Params(flap_changes=1000), **overrides) as svc:
            await wait_for(lambda: _all_up(svc), 20, "everything up before the first run")
            for n in range(runs):
                if time.monotonic() > deadline:
                    print(f"  {mode}: time budget spent after {n} runs", file=sys.stderr)
                    break
                commune = COMMUNES[n % len(COMMUNES)]
                key = link_key(link_id(commune))
                if mode == "poll":
                    await asyncio.sleep(random.uniform(0, interval))  # a random phase of the poll cycle
                else:
                    await asyncio.sleep(random.uniform(0, 1.0))  # and of snmpd's 1 s event check
                mark = len(rig.log)
                rig.wan.uplink_down(commune)
                down_at = time.time()

                def opened_now(key: str = key, mark: int = mark) -> Opened | None:
                    return next((o for o in rig.log[mark:] if o.what == "opened" and o.incident.key == key), None)

                await wait_for(lambda: opened_now() is not None, per_run_s, f"{mode} run {n + 1}: incident for {key}")
                opened = opened_now()
                assert opened is not None
                rig.wan.uplink_up(commune)
                up_at = time.time()

                def closed_now(key: str = key, mark: int = mark) -> Opened | None:
                    return next((o for o in rig.log[mark:] if o.what == "closed" and o.incident.key == key), None)

                if mode == "trap":  # the 60 s poll would be slow to see the commune back: look at once
                    await svc.monitor.poll_batch([d for d in svc.monitor.by_id])
                await wait_for(lambda: closed_now() is not None and _all_up(svc),
                               per_run_s + svc.monitor.link_linger_s + interval, f"{mode} run {n + 1}: recovery")
                closed = closed_now()
                assert closed is not None
                out.append({"run": n + 1, "link": link_id(commune), "latency_s": opened.at - down_at,
                            "detected_by": opened.incident.detected_by, "close_s": closed.at - up_at})
                print(f"  {mode} run {n + 1:2d}: {opened.at - down_at:6.2f} s  ({opened.incident.detected_by}), "
                      f"closed {closed.at - up_at:5.2f} s after the link came back", file=sys.stderr)
        return out

    return rig.wan.run_in_noc(scenario, timeout_s=max(30.0, deadline - time.monotonic() + 60))


def summary(mode: str, results: list[dict[str, Any]], target: float) -> dict[str, Any]:
    lat = sorted(r["latency_s"] for r in results)
    close = sorted(r["close_s"] for r in results)
    median = statistics.median(lat) if lat else float("nan")
    return {"mode": mode, "runs": len(lat), "median_s": median, "min_s": lat[0] if lat else None,
            "max_s": lat[-1] if lat else None, "target_s": target, "met": bool(lat) and median < target,
            "close_median_s": statistics.median(close) if close else None}


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per mode (default 10)")
    parser.add_argument("--interval", type=float, default=4.0, help="router poll interval in poll mode (s)")
    parser.add_argument("--budget", type=float, default=600.0, help="stop starting runs after this many seconds")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    reason = missing_tools()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.budget
    logging.basicConfig(level=logging.ERROR)  # the monitor logs every incident at WARNING
    with tempfile.TemporaryDirectory(prefix="netmon-detection-") as tmp:
        work = Path(tmp)
        with NetnsWan(work / "wan") as wan:
            os.environ.update(wan.env())
            inventory = wan.write_inventory(work / "inventory")
            results = {}
            for mode in ("poll", "trap"):
                rig = Rig(wan, inventory, f"sqlite:///{work / f'{mode}.db'}", work)
                wan.reset()
                results[mode] = measure(rig, mode, args.runs, args.interval, deadline)
    rows = [summary("poll", results["poll"], args.interval + POLL_MARGIN_S),
            summary("trap", results["trap"], TRAP_TARGET_S)]
    if args.json:
        print(json.dumps({"summary": rows, "runs": results}, indent=2))
    else:
        print(f"Detection latency, link down → incident (median of {args.runs} runs; poll interval "
              f"{args.interval:g} s in poll mode, {TRAP_MODE_INTERVAL_S:g} s in trap mode); link back → incident "
              f"closed (linger {2 * args.interval:g} s)")
        print(f"{'mode':6} {'runs':>4} {'median':>8} {'min':>7} {'max':>7} {'target':>8}  verdict  "
              f"{'back → closed':>13}")
        for r in rows:
            verdict = "ok" if r["met"] else "MISSED"
            print(f"{r['mode']:6} {r['runs']:>4} {fmt(r['median_s']):>8} {fmt(r['min_s']):>7} {fmt(r['max_s']):>7} "
                  f"{'< ' + fmt(r['target_s']):>8}  {verdict:7}  {fmt(r['close_median_s']):>13}")
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
