"""Benchmark: validate and sync the sample inventory and a 10× generated one.

    python bench/inventory.py [--sample inventory] [--scale 10] [--postgres URL] [--repeat 3]

For each inventory: ``load_inventory`` in-process (parse + every check, best of --repeat),
then the real command line in a new process, start-up and imports included: ``netmon
validate`` (best of --repeat), a first ``netmon sync`` into a fresh database (load, migrate,
plan, apply) and a second one that must report no changes. The sample is ./inventory (or
``--sample``; generated at scale 1 when absent); the big one is generated into a temporary
folder with ``netmon.inventory.sample.write_sample(dir, scale=--scale)``.
SQLite always (a new file in a temporary folder); PostgreSQL too with ``--postgres URL``
(a SQLAlchemy URL of a database this benchmark may fill; its inventory tables are emptied
first). Targets (issue): the 10× inventory validates in < 2 s and syncs in < 10 s; the
exit code is 1 when one is missed or a second sync is not a no-op.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from netmon.inventory.load import load_inventory  # noqa: E402
from netmon.store import sync as syncer  # noqa: E402
from netmon.store.db import make_engine, upgrade  # noqa: E402

VALIDATE_TARGET_S = 2.0
SYNC_TARGET_S = 10.0
T = TypeVar("T")


@dataclass
class Row:
    inventory: str
    backend: str
    records: str
    load_s: float  # load_inventory in-process (best of --repeat)
    validate_s: float  # `netmon validate` end to end (a new process: start-up and imports included)
    sync_s: float  # `netmon sync` into a fresh database, end to end
    resync_s: float  # the second `netmon sync`, which must report no changes
    resync_empty: bool


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """The result of the last call and the best wall time of ``repeat`` calls."""
    best = float("inf")
    result: T
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return result, best


def netmon(*args: str) -> str:
    """Run the ``netmon`` command line in a new process; its stdout (fails loudly on an error)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    code = "import sys; from netmon.cli import app; sys.argv[0] = 'netmon'; app()"
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"netmon {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def clear_postgres(url: str) -> None:
    """Empty the inventory tables so the first sync starts from nothing (schema kept)."""
    from sqlalchemy import delete

    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            for spec in syncer.TABLES:
                conn.execute(delete(spec.table.__table__))  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def measure(name: str, path: Path, backends: dict[str, str | None], repeat: int) -> list[Row]:
    inv, load_s = timed(lambda: load_inventory(path), repeat)
    c = inv.counts()
    records = f"{c['sites']:,} sites, {c['base_stations']:,} BTS"
    _, validate_s = timed(lambda: netmon("validate", str(path)), repeat)
    rows = []
    for backend, url in backends.items():
        with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp:
            db_url = url or f"sqlite:///{Path(tmp) / 'netmon.db'}"
            if url is not None:
                clear_postgres(db_url)
            _, sync_s = timed(lambda u=db_url: netmon("sync", str(path), "--database", u))  # type: ignore[misc]
            second, resync_s = timed(lambda u=db_url: netmon("sync", str(path), "--database", u))  # type: ignore[misc]
            engine = make_engine(db_url)
            try:  # the second run said "no changes"; check the database really matches
                empty = "No changes" in second and syncer.plan(engine, inv).empty
            finally:
                engine.dispose()
        rows.append(Row(name, backend, records, load_s, validate_s, sync_s, resync_s, empty))
    return rows


def sample_inventory(arg: Path | None, tmp: Path) -> Path:
    if arg is not None:
        return arg
    default = ROOT / "inventory"
    if default.is_dir() and any(default.glob("*.yaml")):
        return default
    from netmon.inventory.sample import write_sample

    out = tmp / "sample"
    out.mkdir()
    write_sample(out, scale=1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=Path, help="inventory folder (default: ./inventory, else generated)")
    ap.add_argument("--scale", type=int, default=10, help="copies of the province for the big run (10)")
    ap.add_argument("--postgres", metavar="URL", help="also sync into this PostgreSQL database")
    ap.add_argument("--repeat", type=int, default=3, help="validate runs; the best is reported (3)")
    args = ap.parse_args(argv)

    backends: dict[str, str | None] = {"sqlite": None}
    if args.postgres:
        backends["postgresql"] = args.postgres
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="netmon-bench-inv-") as tmp_name:
        tmp = Path(tmp_name)
        rows += measure("sample", sample_inventory(args.sample, tmp), backends, args.repeat)
        from netmon.inventory.sample import write_sample

        big = tmp / f"x{args.scale}"
        big.mkdir()
        _, generate_s = timed(lambda: write_sample(big, scale=args.scale))
        size_mb = sum(p.stat().st_size for p in big.glob("*.yaml")) / 1e6
        print(f"generated the {args.scale}× inventory in {generate_s:.2f} s ({size_mb:.1f} MB of YAML)")
        rows += measure(f"{args.scale}×", big, backends, args.repeat)

    header = (f"{'inventory':<9} {'backend':<10} {'records':<26} {'load':>7} {'validate':>9} "
              f"{'sync':>7} {'re-sync':>8}")
    print(header)
    print("-" * len(header))
    for r in rows:
        note = "" if r.resync_empty else "  (re-sync found changes!)"
        print(f"{r.inventory:<9} {r.backend:<10} {r.records:<26} {r.load_s:6.2f}s {r.validate_s:8.2f}s "
              f"{r.sync_s:6.2f}s {r.resync_s:7.2f}s{note}")
    print("load: load_inventory in-process; validate, sync, re-sync: the netmon command in a new process")

    ok = all(r.resync_empty for r in rows)
    print()
    big_rows = [r for r in rows if r.inventory != "sample"]
    validate_s = min(r.validate_s for r in big_rows)
    verdict = validate_s < VALIDATE_TARGET_S
    ok &= verdict
    print(f"target: {args.scale}× `netmon validate` < {VALIDATE_TARGET_S:.0f} s: {validate_s:.2f} s "
          f"{'PASS' if verdict else 'FAIL'}")
    for r in big_rows:
        verdict = r.sync_s < SYNC_TARGET_S
        ok &= verdict
        print(f"target: {args.scale}× `netmon sync` < {SYNC_TARGET_S:.0f} s ({r.backend}, fresh database): "
              f"{r.sync_s:.2f} s {'PASS' if verdict else 'FAIL'}")
    if not all(r.resync_empty for r in rows):
        print("FAIL: a second sync found changes (sync is not idempotent)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
