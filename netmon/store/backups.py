"""Stored configuration versions (``config_backup``): one row per change, never per fetch.

A version is the scrubbed text and its SHA-256; :func:`store_config` stores nothing when the hash equals the
latest stored one, and writes a ``config_change`` event (with +/- line counts) when a version follows
another.  Scrubbing and fetching are :mod:`netmon.ssh.backup`'s business; this module only keeps versions.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from netmon.store import models as m
from netmon.store.models import table


@dataclass(frozen=True)
class Version:
    id: int
    device_id: str
    taken_at: datetime
    sha256: str
    content: str = field(repr=False, default="")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _row(row: Any, with_content: bool = True) -> Version:
    return Version(row.id, row.device_id, row.taken_at, row.sha256, row.content if with_content else "")


def store_config(engine: Engine, device_id: str, content: str, taken_at: datetime) -> tuple[str, str]:
    """Store ``content`` unless it equals the latest version; (status, sha256), status new/changed/unchanged."""
    digest = sha256(content)
    backups = table(m.ConfigBackup)
    with engine.begin() as conn:
        latest = conn.execute(
            select(backups.c.sha256, backups.c.content).where(backups.c.device_id == device_id)
            .order_by(backups.c.taken_at.desc(), backups.c.id.desc()).limit(1)
        ).first()
        if latest is not None and latest.sha256 == digest:
            return "unchanged", digest
        conn.execute(insert(backups).values(device_id=device_id, taken_at=taken_at, sha256=digest, content=content))
        if latest is None:
            return "new", digest
        added, removed = _diff_counts(latest.content, content)
        conn.execute(insert(table(m.Event)).values(
            at=taken_at, object_type="device", object_id=device_id, kind="config_change",
            detail=f"+{added} -{removed} lines, sha256 {latest.sha256[:12]} -> {digest[:12]}"))
    return "changed", digest


def _diff_counts(old: str, new: str) -> tuple[int, int]:
    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def versions(engine: Engine, device_id: str) -> list[Version]:
    """Every stored version of ``device_id``, oldest first, without content."""
    backups = table(m.ConfigBackup)
    with engine.connect() as conn:
        rows = conn.execute(select(backups.c.id, backups.c.device_id, backups.c.taken_at, backups.c.sha256)
                            .where(backups.c.device_id == device_id).order_by(backups.c.taken_at, backups.c.id))
        return [Version(r.id, r.device_id, r.taken_at, r.sha256) for r in rows]


def version_at(engine: Engine, device_id: str, at: datetime | None = None) -> Version | None:
    """The version in force at ``at`` (the latest taken at or before it); the newest when ``at`` is None."""
    backups = table(m.ConfigBackup)
    query = select(backups).where(backups.c.device_id == device_id)
    if at is not None:
        query = query.where(backups.c.taken_at <= at)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(backups.c.taken_at.desc(), backups.c.id.desc()).limit(1)).first()
    return _row(row) if row is not None else None


def version_after(engine: Engine, device_id: str, since: datetime) -> Version | None:
    """The first version taken after ``since`` (for "what changed since the 1st" when the first backup is
    from the 3rd)."""
    backups = table(m.ConfigBackup)
    with engine.connect() as conn:
        row = conn.execute(select(backups).where(backups.c.device_id == device_id, backups.c.taken_at > since)
                           .order_by(backups.c.taken_at, backups.c.id).limit(1)).first()
    return _row(row) if row is not None else None


def version_before(engine: Engine, version: Version) -> Version | None:
    backups = table(m.ConfigBackup)
    with engine.connect() as conn:
        row = conn.execute(
            select(backups).where(backups.c.device_id == version.device_id)
            .where((backups.c.taken_at < version.taken_at)
                   | ((backups.c.taken_at == version.taken_at) & (backups.c.id < version.id)))
            .order_by(backups.c.taken_at.desc(), backups.c.id.desc()).limit(1)
        ).first()
    return _row(row) if row is not None else None
