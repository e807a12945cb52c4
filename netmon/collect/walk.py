"""The SNMP walk as a pure state machine: which request to send next, what a response means.

Why separate from the I/O: the same logic drives the fast v1/v2c path (our BER codec on raw UDP) and the
SNMPv3 path (pysnmp), and every way an agent can lie — non-increasing OIDs, exceptions where none are
allowed, truncated answers, endless tables, tooBig — is decided here and unit-tested without sockets.

A walk reads all of a :class:`~netmon.collect.oids.PollSpec` at once: scalars as GETBULK non-repeaters in
the first request, and every column side by side (one GETBULK carries the next rows of all unfinished
columns). SNMPv1 has no GETBULK: scalars go in one GET, columns in GETNEXTs, one row per request.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final, NamedTuple

from netmon.collect.ber import (
    COUNTER32,
    COUNTER64,
    END_OF_MIB_VIEW,
    GAUGE32,
    INTEGER,
    TIMETICKS,
    PduType,
    Value,
    VarBind,
)
from netmon.collect.oids import Oid, PollSpec, format_oid

__all__ = ["ERROR_STATUS", "PollResult", "Walk", "WalkRequest"]

Cell = tuple[int, Value]
"""A value with its BER tag (see :mod:`netmon.collect.ber`)."""

FIRST_REPETITIONS: Final = 16  # rows asked in the first GETBULK when the table size is unknown
TOO_BIG: Final = 1
NO_SUCH_NAME: Final = 2
ERROR_STATUS: Final = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType",
    "wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue", "resourceUnavailable",
    "commitFailed", "undoFailed", "authorizationError", "notWritable", "inconsistentName",
)  # fmt: skip
_EXCEPTION_NAMES: Final = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}
_SHARED_CELLS: Final[dict[Cell, Cell]] = {
    (tag, n): (tag, n) for tag in (INTEGER, COUNTER32, GAUGE32, TIMETICKS, COUNTER64) for n in range(256)}
"""One cell object for each small number (statuses, types, idle error counters): about half the cells of an
interface row. A batch holds every walk of its devices until they are judged (at 10× the province, a slice of
base stations is ~2,000 walks): cells and row indexes shared within a walk make that a third smaller."""


@dataclass(slots=True)
class PollResult:
    """What one device answered to one :class:`PollSpec`, plus what it cost.

    ``columns`` has a key for every column of the spec (empty if the agent has none), each mapping the
    row index (the OID arcs after the column, e.g. ``(3,)`` for ifIndex 3) to ``(tag, value)``.

    A device that answers is reachable: ``ok`` is True as soon as the agent answered the walk once, and
    ``error`` says why not when it never did (silence, garbage, an SNMPv3 refusal). What an agent that
    answered gets wrong — OIDs that go backwards, duplicated varbinds, noSuchObject where a value was
    expected, a walk cut short — lowers completeness instead: the scalar or column it spoiled is in
    ``incomplete`` (with the first reason), every fault is counted in ``faults`` by reason, and everything
    that did arrive is kept.
    """

    device_id: str
    ok: bool = False
    error: str | None = None
    scalars: dict[Oid, Cell] = field(default_factory=dict)
    columns: dict[Oid, dict[Oid, Cell]] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    varbinds: int = 0
    """Values kept (scalars + cells): the useful work, comparable to snmp_exporter's pdus_returned."""
    malformed: int = 0
    """Undecodable datagrams from the device's address, ignored while waiting."""
    started: float = 0.0
    """Wall-clock start (``time.time()``)."""
    elapsed_s: float = 0.0
    units: int = 0
    """Scalars + columns of the spec: what completeness is counted over."""
    incomplete: dict[Oid, str] = field(default_factory=dict)
    """Scalar or column OID → why it is incomplete (one of :data:`FAULTS`)."""
    faults: dict[str, int] = field(default_factory=dict)
    """Protocol faults of an agent that answered, by reason (:data:`FAULTS`): how many times each."""
    notes: list[str] = field(default_factory=list)
    """The first few faults in words, with their OIDs (for logs and ``netmon poll``)."""

    @property
    def completeness(self) -> float:
        """Share of the spec's scalars and columns read completely: 1.0 for a clean walk, 0.0 when the
        device did not answer or answered nothing at all (an empty column that ended properly is complete)."""
        if not self.ok or (not self.varbinds and self.units):
            return 0.0
        return 1.0 - len(self.incomplete) / self.units if self.units else 1.0


FAULTS: Final = (
    "non_increasing_oid", "duplicate_varbind", "no_such_object", "no_such_instance", "end_of_mib_view",
    "wrong_oid", "wrong_varbind_count", "unpadded_unsigned", "agent_error", "too_big", "truncated",
    "table_too_large", "no_data", "timeout", "deadline", "refused", "send_failed", "internal_error",
)  # fmt: skip
"""Reasons for a fault in a walk the agent answered (labels of ``netmon_poll_faults_total``):

* the agent broke the protocol: OIDs that did not increase (a looping table), the same varbind twice in a
  row (dropped once), noSuchObject/noSuchInstance where a GETBULK/GETNEXT must return a value,
  endOfMibView to a GET, another OID than the one asked, the wrong number of varbinds, an unsigned value
  without its leading zero octet (read anyway, see :mod:`netmon.collect.ber`);
* the agent refused or could not: an error-status (``agent_error``; that scalar or column is given up and
  the walk goes on without it), tooBig even for one row, answers cut to nothing (``truncated``), a table
  beyond ``max_rows``, none of the requested OIDs at all (``no_data``: a view or ACL that hides them?);
* the agent stopped answering half-way (``timeout``, ``deadline``), or the walk could not go on
  (``refused``: an SNMPv3 report, ``send_failed``, ``internal_error``).
"""
_MAX_NOTES: Final = 5


class WalkRequest(NamedTuple):
    pdu: PduType
    oids: list[Oid]
    non_repeaters: int = 0
    max_repetitions: int = 0


class _Column:
    __slots__ = ("cells", "done", "last", "oid", "size")

    def __init__(self, oid: Oid, cells: dict[Oid, Cell]) -> None:
        self.oid = oid
        self.size = len(oid)
        self.last = oid  # the walk continues after this OID
        self.cells = cells
        self.done = False


class Walk:
    """One device, one spec: alternate :meth:`next_request` and :meth:`feed` until it returns None.

    ``bulk`` selects GETBULK (v2c/v3) or GET/GETNEXT (v1). ``rows_hint`` is the row count seen in the
    previous poll: asking for exactly one row more than that finishes a table in one request without
    fetching the rows of the next column for nothing. Without a hint the rows per request start at
    :data:`FIRST_REPETITIONS` and double, so a short table wastes little and a long one takes few requests.
    A spec with ``rows`` walks nothing: those rows of its columns are GET with the scalars, and filed under
    their columns at the end (a row the agent lacks is an empty column, as an empty table would be).

    An agent's fault spoils only what it touches (see :class:`PollResult`): a column whose OIDs stop
    increasing ends there, a noSuchInstance inside a column is a missing cell, an error-status gives up the
    scalar or column it names and the walk goes on with the others. A varbind repeated in a GETBULK answer
    shifts every varbind after it into the wrong column: when an answer reads oddly and two neighbours share
    an OID, it is rolled back, the repeats whose removal makes it contradict itself less are dropped (each
    counted), and it is read again (see :func:`_contradictions`; columns are walked in OID order).
    """

    def __init__(
        self,
        spec: PollSpec,
        result: PollResult,
        *,
        bulk: bool = True,
        max_repetitions: int = 64,
        max_response_bytes: int = 32_000,
        max_rows: int = 20_000,
        rows_hint: int | None = None,
    ) -> None:
        self.result = result
        self.bulk = bulk
        self.max_repetitions = max(1, max_repetitions)
        self.max_response_bytes = max_response_bytes
        self.max_rows = max_rows
        self.rows_hint = rows_hint
        self._scalars: list[Oid] = list(spec.scalars)
        result.columns = {oid: {} for oid in spec.columns}
        result.units = len(spec.scalars) + len(spec.columns)
        # spec.rows: the cells are GET with the scalars, filed under their column at the end (_finish)
        self._cell_of = {(*col, *row): (col, row) for col in spec.columns for row in spec.rows}
        self._scalars += self._cell_of
        self._columns = [] if spec.rows else sorted(
            (_Column(oid, cells) for oid, cells in result.columns.items()), key=_by_oid)
        self._request: WalkRequest | None = None
        self._sent: list[_Column] = []
        self._reps_cap = self.max_repetitions
        self._chunk = len(self._columns) or 1  # v1: columns per GETNEXT; halves on tooBig
        self._get_chunk = len(self._scalars) or 1  # OIDs per GET; halves on tooBig (a small agent's buffer)
        self._bytes_per_varbind = 40.0  # refined from every response
        self._probe = FIRST_REPETITIONS
        self._asked = bool(self._scalars or self._columns)
        self._answered = 0
        self._odd: list[tuple[Oid | None, str, str]] = []  # this response's faults: (scalar/column, reason, words)
        self._ended = False
        self._rows: dict[Oid, Oid] = {}  # row index → one tuple for the cells of every column in that row

    # ------------------------------------------------------------------ requests
    @property
    def finished(self) -> bool:
        return self.result.error is not None or not (self._scalars or self._columns)

    def next_request(self) -> WalkRequest | None:
        """The request to send now, or None when the walk is over (see ``result.ok``/``error``)."""
        if self.finished:
            self._finish()
            return None
        if self._scalars and (not self.bulk or not self._columns):
            self._sent = []
            req = WalkRequest(PduType.GET, self._scalars[: self._get_chunk])
        elif self.bulk:
            self._sent = list(self._columns)
            oids = [oid[:-1] for oid in self._scalars]  # .0 instances: GETNEXT of the object finds them
            oids += [col.last for col in self._sent]
            req = WalkRequest(PduType.GETBULK, oids, len(self._scalars), self._repetitions())
        else:
            self._sent = self._columns[: self._chunk]
            req = WalkRequest(PduType.GETNEXT, [col.last for col in self._sent])
        self._request = req
        return req

    def _repetitions(self) -> int:
        """Rows per GETBULK: as many as fit the response budget, no more than the table is expected to hold."""
        width = len(self._sent)
        fit = int(self.max_response_bytes / self._bytes_per_varbind) - len(self._scalars)
        reps = min(self._reps_cap, max(1, fit // width))
        fetched = min(len(col.cells) for col in self._sent)
        if self.rows_hint is not None and fetched <= self.rows_hint:
            reps = min(reps, self.rows_hint - fetched + 1)
        else:  # first poll (or the table grew past the hint): start small and double
            reps = min(reps, self._probe)
            self._probe *= 2
        return reps

    # ----------------------------------------------------------------- responses
    def feed(self, error_status: int, error_index: int, varbinds: list[VarBind], size: int = 0,
             unpadded: int = 0) -> None:
        """Take the response to the last request; ``size`` (datagram bytes) tunes later requests;
        ``unpadded``: unsigned values the decoder read without their leading zero octet."""
        req = self._request
        if req is None or self.finished:
            raise RuntimeError("feed() without an outstanding request")
        self._request = None
        self._answered += 1
        if unpadded:
            self._odd.append((None, "unpadded_unsigned", f"{unpadded} unsigned value(s) without the leading "
                              "zero octet (read as unsigned)"))
        if error_status:
            self._error_status(req, error_status, error_index)
        elif req.pdu is PduType.GET:
            self._get(req, varbinds)
        elif req.pdu is PduType.GETNEXT:
            self._getnext(req, varbinds)
        else:
            if size and varbinds:
                self._bytes_per_varbind = max(8.0, size / len(varbinds))
            self._bulk(req, varbinds)
        self._commit()
        self._columns = [col for col in self._columns if not col.done]

    def _get(self, req: WalkRequest, varbinds: list[VarBind]) -> None:
        if len(varbinds) != len(req.oids):
            varbinds = self._deduplicated(varbinds, len(req.oids))
        if len(varbinds) != len(req.oids):
            for oid in req.oids:
                self._odd.append((oid, "wrong_varbind_count",
                                  f"{len(varbinds)} varbinds for a GET of {len(req.oids)}"))
            del self._scalars[: len(req.oids)]
            return
        scalars = self.result.scalars
        for want, (oid, tag, value) in zip(req.oids, varbinds, strict=True):
            if oid != want:
                self._odd.append((want, "wrong_oid", f"agent answered {format_oid(oid)} to a GET of "
                                  f"{format_oid(want)}"))
            elif tag < 0x80:
                scalars[oid] = (tag, value)
            elif tag == END_OF_MIB_VIEW:  # not an answer to a GET (RFC 3416 4.2.1)
                self._odd.append((want, "end_of_mib_view", f"endOfMibView to a GET of {format_oid(want)}"))
            # noSuchObject/noSuchInstance: the device does not have it (an answer, not a fault)
        del self._scalars[: len(req.oids)]

    def _getnext(self, req: WalkRequest, varbinds: list[VarBind]) -> None:
        if len(varbinds) != len(req.oids):
            varbinds = self._deduplicated(varbinds, len(req.oids))
        if len(varbinds) != len(req.oids):
            for col in self._sent:
                self._give_up(col, "wrong_varbind_count", f"{len(varbinds)} varbinds for a GETNEXT of "
                              f"{len(req.oids)}")
            return
        for col, vb in zip(self._sent, varbinds, strict=True):
            self._take(col, [vb], 0, 1)

    def _deduplicated(self, varbinds: list[VarBind], want: int) -> list[VarBind]:
        """A GET/GETNEXT answer with too many varbinds: without repeats, if that gives the right count."""
        out = [vb for i, vb in enumerate(varbinds) if not i or vb[0] != varbinds[i - 1][0]]
        if len(out) != want:
            return varbinds
        self._odd.extend((None, "duplicate_varbind", f"{format_oid(a[0])} twice in a row (dropped)")
                         for a, b in pairwise(varbinds) if a[0] == b[0])
        return out

    def _bulk(self, req: WalkRequest, varbinds: list[VarBind]) -> None:
        columns = [(col, len(col.cells), col.last, col.done) for col in self._sent]
        scalars, kept, noted = list(self._scalars), len(self.result.scalars), len(self._odd)
        surplus = len(varbinds) > req.non_repeaters + len(self._sent) * req.max_repetitions
        if not (self._bulk_pass(req, varbinds) or surplus) or not _repeats(varbinds):
            return

        def rollback() -> None:
            for col, count, last, done in columns:
                for _ in range(len(col.cells) - count):
                    col.cells.popitem()
                col.last, col.done = last, done
            self._scalars = list(scalars)
            while len(self.result.scalars) > kept:
                self.result.scalars.popitem()
            del self._odd[noted:]

        # Something was odd and two neighbours share an OID: a repeated varbind may have shifted the rest.
        rollback()
        reading, dropped = self._without_repeats(req, varbinds)
        self._bulk_pass(req, reading)
        self._odd.extend(dropped)

    def _bulk_pass(self, req: WalkRequest, varbinds: list[VarBind]) -> int:
        """Read a GETBULK answer; how many of its scalars and columns were odd (a repeated varbind may be the
        cause)."""
        odd = 0
        n = req.non_repeaters
        scalars = self.result.scalars
        for i in range(n):
            want = self._scalars[i]
            if i >= len(varbinds):
                self._odd.append((want, "truncated", f"no answer for {format_oid(want)} (non-repeater)"))
                continue
            oid, tag, value = varbinds[i]
            if tag >= 0x80:
                if tag != END_OF_MIB_VIEW:  # a GETNEXT never answers noSuch* (RFC 3416 4.2.2)
                    self._odd.append((want, _EXCEPTION_FAULTS[tag], f"{_EXCEPTION_NAMES[tag]} for "
                                      f"{format_oid(oid)} (non-repeater)"))
                    odd += 1
            elif oid <= req.oids[i]:
                self._odd.append((want, "non_increasing_oid", f"non-increasing OID {format_oid(oid)} after "
                                  f"{format_oid(req.oids[i])}"))
                odd += 1
            elif oid == want:
                scalars[oid] = (tag, value)
            # else: the agent has no such scalar, the next object came back (an answer)
        self._scalars = []
        width = len(self._sent)
        if not width:
            return odd
        rows = varbinds[n : n + width * req.max_repetitions]
        if not rows:  # the agent cut the answer before the first row
            if n and len(varbinds) >= n:
                return odd  # the scalars took the room; the next request carries only columns
            if req.max_repetitions > 1:
                self._reps_cap = max(1, req.max_repetitions // 2)
            else:
                for col in self._sent:
                    self._give_up(col, "truncated", "agent returned no rows (truncated response)")
            return odd
        for j, col in enumerate(self._sent):
            odd += self._take(col, rows, j, width)
        if len(rows) < width * req.max_repetitions and not any(col.done for col in self._sent):
            # the agent cut the answer to fit its message size: ask for no more than that next time
            self._reps_cap = max(1, -(-len(rows) // width))
        return odd

    def _take(self, col: _Column, rows: list[VarBind], j: int, width: int) -> bool:
        """Store column ``col``'s share of ``rows`` (every ``width``-th from ``j``); True if something was odd.
        The per-varbind hot loop: anything unusual goes to :meth:`_take_odd`."""
        prefix, size, last, cells = col.oid, col.size, col.last, col.cells
        indexes, shared = self._rows, _SHARED_CELLS
        start = len(cells)
        for oid, tag, value in rows[j::width]:
            if tag >= 0x80 or oid <= last:  # an exception carries the requested OID: checked first
                col.last = last
                if tag == END_OF_MIB_VIEW and oid == last:  # the end of the MIB (at the OID asked, as it must
                    col.done = True  # be: anything else is odd, a repeat may have shifted it here)
                    return False
                return self._take_odd(col, rows, j + (len(cells) - start) * width, width)
            if oid[:size] != prefix:
                col.done = True
                col.last = last
                # the end of the column — or a varbind repeated just before, that shifted this one here
                pos = j + (len(cells) - start) * width
                return pos > 0 and rows[pos - 1][0] == oid
            index, cell = oid[size:], (tag, value)
            cells[indexes.setdefault(index, index)] = shared.get(cell, cell)
            last = oid
        col.last = last
        if len(cells) > self.max_rows:
            self._give_up(col, "table_too_large", f"more than {self.max_rows} rows in {format_oid(prefix)}")
        return False

    def _take_odd(self, col: _Column, rows: list[VarBind], pos: int, width: int) -> bool:
        """The rest of :meth:`_take` from ``rows[pos]``, the first unusual varbind; always True."""
        prefix, size, last, cells = col.oid, col.size, col.last, col.cells
        for i in range(pos, len(rows), width):
            oid, tag, value = rows[i]
            if tag >= 0x80:
                if tag == END_OF_MIB_VIEW:
                    col.done = True
                    break
                fault, name = _EXCEPTION_FAULTS[tag], _EXCEPTION_NAMES[tag]
                if oid <= last:  # at the OID asked (as a GET would answer): the column cannot go on
                    self._give_up(col, fault, f"{name} at {format_oid(oid)} in a walk")
                    break
                if oid[:size] != prefix:  # past the end of the column: another column's cell
                    col.done = True
                    break
                self._odd.append((prefix, fault, f"{name} at {format_oid(oid)}"))  # a hole: a missing cell
                last = oid
                continue
            if oid <= last:
                self._give_up(col, "non_increasing_oid", f"non-increasing OID {format_oid(oid)} after "
                              f"{format_oid(last)}")
                break
            if oid[:size] != prefix:
                col.done = True
                break
            index, cell = oid[size:], (tag, value)
            cells[self._rows.setdefault(index, index)] = _SHARED_CELLS.get(cell, cell)
            last = oid
        col.last = last
        if len(cells) > self.max_rows and not col.done:
            self._give_up(col, "table_too_large", f"more than {self.max_rows} rows in {format_oid(prefix)}")
        return True

    def _without_repeats(self, req: WalkRequest, varbinds: list[VarBind],
                         ) -> tuple[list[VarBind], list[tuple[Oid | None, str, str]]]:
        """A GETBULK answer without its repeated varbinds. Neighbours may rightly share an OID (a position
        past the end of its column walks on into the next columns, where it can meet its neighbour; past the
        end of the MIB every position says endOfMibView), so a repeat is dropped only when that makes the
        answer contradict itself less (:func:`_contradictions`)."""
        width = len(self._sent)
        reading = list(varbinds)
        wrong = _contradictions(req, reading, width)
        dropped: list[tuple[Oid | None, str, str]] = []
        i = 1
        while i < len(reading) and wrong:
            if reading[i][0] == reading[i - 1][0]:
                trial = reading[:i] + reading[i + 1 :]
                fewer = _contradictions(req, trial, width)
                if fewer < wrong:
                    reading, wrong = trial, fewer
                    dropped.append((None, "duplicate_varbind", f"{format_oid(trial[i - 1][0])} twice in a row "
                                    "(dropped)"))
                    continue
            i += 1
        return reading, dropped

    def _error_status(self, req: WalkRequest, status: int, index: int) -> None:
        name = ERROR_STATUS[status] if status < len(ERROR_STATUS) else f"error {status}"
        if status == TOO_BIG:
            if req.pdu is PduType.GETBULK and req.max_repetitions > 1:
                self._reps_cap = max(1, req.max_repetitions // 2)
                return
            if req.pdu is PduType.GETNEXT and len(req.oids) > 1:
                self._chunk = max(1, len(req.oids) // 2)
                return
            if req.pdu is PduType.GET and len(req.oids) > 1:
                self._get_chunk = max(1, len(req.oids) // 2)
                return
            self._abandon("too_big", f"agent answered tooBig to a {req.pdu.name} of {len(req.oids)} OIDs")
            return
        if status == NO_SUCH_NAME and not self.bulk and 1 <= index <= len(req.oids):
            # SNMPv1's way to say "no such object" (GET) or "end of MIB" (GETNEXT): drop it, go on
            if req.pdu is PduType.GET:
                del self._scalars[index - 1]
            else:
                self._sent[index - 1].done = True
            return
        if not 1 <= index <= len(req.oids):
            self._abandon("agent_error", f"agent error {name}")
            return
        # The agent names the culprit: give that scalar or column up, go on with the others.
        words = f"agent error {name} at {format_oid(req.oids[index - 1])}"
        if req.pdu is PduType.GET:
            self._odd.append((self._scalars.pop(index - 1), "agent_error", words))
        elif req.pdu is PduType.GETNEXT:
            self._give_up(self._sent[index - 1], "agent_error", words)
        elif index <= req.non_repeaters:
            self._odd.append((self._scalars.pop(index - 1), "agent_error", words))
        else:
            self._give_up(self._sent[(index - 1 - req.non_repeaters) % len(self._sent)], "agent_error", words)

    # --------------------------------------------------------------------- faults
    def _give_up(self, col: _Column, reason: str, words: str) -> None:
        col.done = True
        self._odd.append((col.oid, reason, words))

    def _abandon(self, reason: str, words: str) -> None:
        """Give up every scalar and column not read yet, for ``reason`` (counted once)."""
        self._odd.append((None, reason, words))
        incomplete, cell_of = self.result.incomplete, self._cell_of
        for oid in [*self._scalars, *(col.oid for col in self._columns if not col.done)]:
            incomplete.setdefault(cell_of[oid][0] if oid in cell_of else oid, reason)
        self._scalars = []
        for col in self._columns:
            col.done = True

    def _commit(self) -> None:
        result = self.result
        for unit, reason, words in self._odd:
            if unit in self._cell_of:
                unit = self._cell_of[unit][0]  # a row read by GET spoils its column
            if unit is not None:
                if unit in result.incomplete:
                    continue  # one fault per scalar/column counted (a hole per cell would weigh a broken
                result.incomplete[unit] = reason  # column by its length)
            result.faults[reason] = result.faults.get(reason, 0) + 1
            if words and len(result.notes) < _MAX_NOTES:
                result.notes.append(words)
        self._odd = []

    # --------------------------------------------------------------------- end
    def fail(self, error: str, reason: str = "timeout") -> None:
        """End the walk: before the agent answered anything the poll failed, and ``error`` says why; after,
        what was not read yet is incomplete for ``reason`` (one of :data:`FAULTS`) and the rest is kept."""
        if self._answered:
            self._abandon(reason, error)
            self._commit()
            self._columns = []
        elif self.result.error is None:
            self.result.error = error
        self._finish()

    def _finish(self) -> None:
        if self._ended:
            return
        self._ended = True
        result = self.result
        for oid, (col, row) in self._cell_of.items():
            cell = result.scalars.pop(oid, None)
            if cell is not None:
                result.columns[col][row] = _SHARED_CELLS.get(cell, cell)
        result.varbinds = len(result.scalars) + sum(map(len, result.columns.values()))
        result.ok = result.error is None and self._answered > 0
        if result.ok and not result.varbinds and self._asked and not result.incomplete:
            self._odd.append((None, "no_data", "the agent has none of the requested OIDs (endOfMibView)"))
            self._commit()

    @property
    def rows(self) -> int:
        """Most rows seen in one column: the next poll's ``rows_hint``."""
        return max(map(len, self.result.columns.values()), default=0)


def _by_oid(col: _Column) -> Oid:
    return col.oid


def _repeats(varbinds: list[VarBind]) -> bool:
    """Two neighbours with the same OID anywhere in the answer (only looked for when something was odd)."""
    return any(a[0] == b[0] for a, b in pairwise(varbinds))


def _contradictions(req: WalkRequest, varbinds: list[VarBind], width: int) -> int:
    """How often a reading of a GETBULK answer contradicts itself: each position must carry the *next* OID
    after its previous one (after the OID asked, at first), so no OID seen anywhere in the answer may lie
    between the two, and endOfMibView means that none lies after. A varbind shifted into the wrong position
    by a repeat almost always breaks that."""
    seen = sorted({vb[0] for vb in varbinds if vb[1] != END_OF_MIB_VIEW})
    n = req.non_repeaters
    previous = list(req.oids)
    wrong = 0
    for i, (oid, tag, _) in enumerate(varbinds):
        slot = i if i < n else n + (i - n) % width if width else -1
        if slot < 0 or slot >= len(previous):
            break
        before = previous[slot]
        k = bisect_right(seen, before)
        following = seen[k] if k < len(seen) else None
        if tag == END_OF_MIB_VIEW:
            wrong += following is not None
        else:
            wrong += oid <= before or (following is not None and following < oid)
            previous[slot] = oid
    return wrong


_EXCEPTION_FAULTS: Final = {0x80: "no_such_object", 0x81: "no_such_instance", 0x82: "end_of_mib_view"}
