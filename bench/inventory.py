"""Benchmark: validate and sync the sample inventory and a 10× generated one.

    python bench/inventory.py [--sample inventory] [--scale 10] [--postgres URL] [--repeat 3]

For each inventory: ``validate`` (load + every check), a first ``sync`` into a fresh
database (upgrade + plan + apply), and a second ``sync`` that must find no changes.
SQLite always (a new file in a temporary folder); PostgreSQL too with ``--postgres URL``
(a SQLAlchemy URL of a database this benchmark may fill; its inventory tables are
emptied first). Targets (issue): the 10× inventory validates in < 2 s and syncs in < 10 s.
Exit code 1 when a target is missed.
"""

from __future__ import annotations

import argparse
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

from netmon.inventory import sync as syncer  # noqa: E402
from netmon.inventory.load import Inventory, load_inventory  # noqa: E402
from netmon.store.db import make_engine, upgrade  # noqa: E402

VALIDATE_TARGET_S = 2.0
SYNC_TARGET_S = 10.0
T = TypeVar("T")


@dataclass
class Row:
    inventory: str
    backend: str
    records: str
    validate_s: float
    sync_s: float | None = None
    resync_s: float | None = None
    resync_empty: bool | None = None


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """The result of the last call and the best wall time of ``repeat`` calls."""
    best = float("inf")
    result: T
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return result, best


def sync_once(url: str, inv: Inventory) -> bool:
    """What ``netmon sync`` does after validation; True when there was nothing to change."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        plan = syncer.plan(engine, inv)
        if not plan.empty:
            syncer.apply(engine, plan)
        return plan.empty
    finally:
        engine.dispose()


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
    inv, validate_s = timed(lambda: load_inventory(path), repeat)
    c = inv.counts()
    records = f"{c['sites']:,} sites, {c['base_stations']:,} BTS"
    rows = []
    for backend, url in backends.items():
        with tempfile.TemporaryDirectory(prefix="netmon-bench-") as tmp:
            db_url = url or f"sqlite:///{Path(tmp) / 'netmon.db'}"
            if url is not None:
                clear_postgres(db_url)
            first_empty, sync_s = timed(lambda u=db_url: sync_once(u, inv))  # type: ignore[misc]
            assert not first_empty, "first sync into an empty database found nothing to do"
            second_empty, resync_s = timed(lambda u=db_url: sync_once(u, inv))  # type: ignore[misc]
        rows.append(Row(name, backend, records, validate_s, sync_s, resync_s, second_empty))
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

    header = f"{'inventory':<9} {'backend':<10} {'records':<26} {'validate':>9} {'sync':>8} {'re-sync':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        resync = f"{r.resync_s:7.2f}s" if r.resync_s is not None else "-"
        note = "" if r.resync_empty else "  (re-sync found changes!)"
        print(f"{r.inventory:<9} {r.backend:<10} {r.records:<26} {r.validate_s:8.2f}s {r.sync_s:7.2f}s "
              f"{resync}{note}")

    ok = all(r.resync_empty for r in rows)
    print()
    big_rows = [r for r in rows if r.inventory != "sample"]
    validate_s = min(r.validate_s for r in big_rows)
    verdict = validate_s < VALIDATE_TARGET_S
    ok &= verdict
    print(f"target: {args.scale}× validated in < {VALIDATE_TARGET_S:.0f} s: {validate_s:.2f} s "
          f"{'PASS' if verdict else 'FAIL'}")
    for r in big_rows:
        assert r.sync_s is not None
        verdict = r.sync_s < SYNC_TARGET_S
        ok &= verdict
        print(f"target: {args.scale}× synced in < {SYNC_TARGET_S:.0f} s ({r.backend}, fresh database): "
              f"{r.sync_s:.2f} s {'PASS' if verdict else 'FAIL'}")
    if not all(r.resync_empty for r in rows):
        print("FAIL: a second sync found changes (sync is not idempotent)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
