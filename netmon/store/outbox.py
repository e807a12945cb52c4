"""Changes for the database kept in order until it takes them — in memory and in a journal file.

Why: the outage history is what netmon is for. When the database stumbles (PostgreSQL restarting, a full
disk, a lock held too long) the judgement goes on — polls, incidents, alerts — and the changes it makes to
the history must not be lost or reordered. Every change is an *operation* (a small JSON-able dict):

* :meth:`Outbox.put` appends it to the queue and to the journal file (one JSON line each, flushed, so a
  crash or SIGKILL while the database is away loses nothing), then tries to write the whole queue in one
  transaction; on success the journal is emptied;
* a transient failure (connection refused, server restarting, disk full, database locked) keeps the queue;
  :meth:`Outbox.retry` tries again (the service calls it every few seconds); the queue is written in order
  as soon as the database answers, and the outage of the database itself is recorded by the caller from
  :class:`DatabaseStatus` (which also says so once in the log, not once per write);
* an operation the database refuses for good (a data error: a bug) is set aside in ``*.rejected`` beside
  the journal, with one error line, so it cannot block the ones behind it;
* at start, :meth:`Outbox.replay` reads the journal a previous run left and writes it first. Operations
  must therefore be idempotent (applying one twice changes nothing the second time): a crash between a
  commit and the journal's truncation replays it.

If the journal itself cannot be written (the same full disk), the queue lives in memory only; that too is
said once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

__all__ = ["DatabaseStatus", "DatabaseUnavailable", "Op", "Outbox", "is_transient", "one_line"]

log = logging.getLogger(__name__)

class DatabaseUnavailable(RuntimeError):
    """The database cannot be written where netmon must (at start): one line for the operator."""


Op = dict[str, Any]
"""One change: ``{"op": name, ...}`` with JSON values (times as ISO 8601 strings)."""


def one_line(exc: BaseException) -> str:
    """An exception as one short line for the log (SQLAlchemy appends SQL and parameters: not those)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    text = " ".join(str(exc).split())
    text = text.split(" [SQL:", 1)[0].split("(Background on this error", 1)[0].strip()
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the database or its disk is away, not the data wrong."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, TimeoutError

    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, TimeoutError, OSError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@dataclass
class DatabaseStatus:
    """Is the database taking writes? Logs each change of state once; the service exports it."""

    up: bool = True
    down_since: datetime | None = None
    last_error: str | None = None
    outages: int = 0
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)
    """Periods the database was unavailable (start, end), oldest first, until taken by :meth:`take_gaps`."""

    def failed(self, exc: BaseException, what: str) -> None:
        self.last_error = one_line(exc)
        if self.up:
            self.up, self.down_since = False, datetime.now(UTC)
            self.outages += 1
            log.error("database unavailable (%s while writing %s): netmon keeps monitoring and alerting, "
                      "and keeps the history changes to write them when it is back", self.last_error, what)

    def succeeded(self, written: int = 0) -> None:
        if not self.up:
            now = datetime.now(UTC)
            since = self.down_since or now
            self.gaps.append((since, now))
            log.warning("database available again after %.0f s; %d kept change(s) written",
                        (now - since).total_seconds(), written)
            self.up, self.down_since, self.last_error = True, None, None

    def take_gaps(self) -> list[tuple[datetime, datetime]]:
        gaps, self.gaps = self.gaps, []
        return gaps


class Outbox:
    """An ordered, durable queue of operations written to the database by ``apply``, one transaction a flush."""

    def __init__(self, engine: Engine, apply: Callable[[Connection, Op], None], journal: Path | None,
                 status: DatabaseStatus | None = None,
                 fence: Callable[[Connection], Callable[[Op], bool]] | None = None,
                 refused: Callable[[list[Op]], None] | None = None) -> None:
        """``fence`` (a cluster's poller): called once per transaction, it gives a test each operation must
        pass to be applied in it; those that fail are dropped and, once committed, given to ``refused``."""
        self.engine = engine
        self._apply = apply
        self._fence = fence
        self._refused = refused
        self.journal = journal
        self.status = status or DatabaseStatus()
        self._queue: list[Op] = []
        self._lock = threading.RLock()
        """The service writes from the event loop and from the scheduler's threads (heartbeat, retry): one
        writer at a time, or two flushes of the same queue would insert the same outage twice."""
        self._journal_ok = True
        self.written = 0
        self.rejected = 0

    @property
    def pending(self) -> int:
        return len(self._queue)

    # ----------------------------------------------------------------------- queue
    def put(self, *ops: Op) -> bool:
        """Queue ``ops`` (journal first) and try to write everything queued. True if all is written."""
        with self._lock:
            if not ops:
                return self.flush()
            self._queue.extend(ops)
            self._append(ops)
            return self.flush()

    def retry(self) -> bool:
        """Write what is queued, if anything (cheap when the queue is empty)."""
        with self._lock:
            return self.flush() if self._queue else True

    def replay(self) -> int:
        """Queue the operations a previous run left in the journal (before anything new); how many."""
        if self.journal is None or not self.journal.exists():
            return 0
        ops: list[Op] = []
        for n, line in enumerate(self.journal.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                ops.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash: the ones before it are whole
                log.warning("%s:%d: unreadable outbox line skipped (cut short by a crash?)", self.journal, n)
        self._queue[:0] = ops
        if ops:
            log.warning("%d history change(s) left by the previous run in %s: writing them first",
                        len(ops), self.journal)
        return len(ops)

    def flush(self) -> bool:
        """Write the whole queue in one transaction, in order. False (queue kept) if the database is away."""
        with self._lock:
            return self._flush()

    def _flush(self) -> bool:
        if not self._queue:
            return True
        batch = list(self._queue)
        try:
            with self.engine.begin() as conn:
                admit = self._fence(conn) if self._fence is not None else None
                dropped = []
                for op in batch:
                    if admit is None or admit(op):
                        self._apply(conn, op)
                    else:
                        dropped.append(op)
        except Exception as exc:  # judged below: transient (kept) or a bad operation (set aside)
            if is_transient(exc):
                self.status.failed(exc, f"{len(batch)} history change(s)")
                return False
            return self._flush_one_by_one(exc)
        del self._queue[: len(batch)]
        self.written += len(batch) - len(dropped)
        if self._refused is not None and admit is not None:
            self._refused(dropped)
        self.status.succeeded(len(batch))
        if not self._queue:
            self._truncate()
        return not self._queue

    def _flush_one_by_one(self, first: BaseException) -> bool:
        """A permanent error in the batch: write operations one at a time, set aside the ones refused."""
        log.debug("history batch refused (%s): writing one change at a time", one_line(first))
        while self._queue:
            op = self._queue[0]
            try:
                with self.engine.begin() as conn:
                    if self._fence is not None and not self._fence(conn)(op):
                        if self._refused is not None:
                            self._refused([op])
                        self._queue.pop(0)
                        continue
                    self._apply(conn, op)
            except Exception as exc:
                if is_transient(exc):
                    self.status.failed(exc, "a history change")
                    return False
                self._reject(op, exc)
            else:
                self.written += 1
            self._queue.pop(0)
        self.status.succeeded()
        self._truncate()
        return True

    # --------------------------------------------------------------------- journal
    def _append(self, ops: tuple[Op, ...]) -> None:
        if self.journal is None:
            return
        try:
            with self.journal.open("a", encoding="utf-8") as f:
                for op in ops:
                    f.write(json.dumps(op, ensure_ascii=False, separators=(",", ":")) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            if self._journal_ok:
                self._journal_ok = False
                log.error("cannot write the outbox journal %s (%s): history changes are kept in memory only "
                          "until the database takes them", self.journal, one_line(exc))
            return
        if not self._journal_ok:
            self._journal_ok = True
            log.warning("outbox journal %s writable again", self.journal)

    def _truncate(self) -> None:
        if self.journal is None or not self.journal.exists():
            return
        try:
            self.journal.unlink()
        except OSError as exc:
            log.error("cannot empty the outbox journal %s (%s): its changes would be written again at the "
                      "next start (harmless: they are idempotent)", self.journal, one_line(exc))

    def _reject(self, op: Op, exc: BaseException) -> None:
        self.rejected += 1
        log.error("history change refused by the database for good (%s); set aside: %s", one_line(exc),
                  json.dumps(op, ensure_ascii=False)[:500])
        if self.journal is None:
            return
        with contextlib.suppress(OSError), self.journal.with_name(self.journal.name + ".rejected").open(
            "a", encoding="utf-8"
        ) as f:
            f.write(json.dumps({"error": one_line(exc), "op": op}, ensure_ascii=False) + "\n")
