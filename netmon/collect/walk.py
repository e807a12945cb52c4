"""The SNMP walk as a pure state machine: which request to send next, what a response means.

Why separate from the I/O: the same logic drives the fast v1/v2c path (our BER codec on raw UDP) and the
SNMPv3 path (pysnmp), and every way an agent can lie — non-increasing OIDs, exceptions where none are
allowed, truncated answers, endless tables, tooBig — is decided here and unit-tested without sockets.

A walk reads all of a :class:`~netmon.collect.oids.PollSpec` at once: scalars as GETBULK non-repeaters in
the first request, and every column side by side (one GETBULK carries the next rows of all unfinished
columns). SNMPv1 has no GETBULK: scalars go in one GET, columns in GETNEXTs, one row per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, NamedTuple

from netmon.collect.ber import END_OF_MIB_VIEW, PduType, Value, VarBind
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


@dataclass(slots=True)
class PollResult:
    """What one device answered to one :class:`PollSpec`, plus what it cost.

    ``columns`` has a key for every column of the spec (empty if the agent has none), each mapping the
    row index (the OID arcs after the column, e.g. ``(3,)`` for ifIndex 3) to ``(tag, value)``. A walk
    that fails half-way keeps what it got: ``ok`` is False and ``error`` says why in a few words.
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
        self._columns = [_Column(oid, cells) for oid, cells in result.columns.items()]
        self._request: WalkRequest | None = None
        self._sent: list[_Column] = []
        self._reps_cap = self.max_repetitions
        self._chunk = len(self._columns) or 1  # v1: columns per GETNEXT; halves on tooBig
        self._bytes_per_varbind = 40.0  # refined from every response
        self._probe = FIRST_REPETITIONS
        self._asked = bool(self._scalars or self._columns)

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
            req = WalkRequest(PduType.GET, list(self._scalars))
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
    def feed(self, error_status: int, error_index: int, varbinds: list[VarBind], size: int = 0) -> None:
        """Take the response to the last request; ``size`` (datagram bytes) tunes later requests."""
        req = self._request
        if req is None or self.finished:
            raise RuntimeError("feed() without an outstanding request")
        self._request = None
        if error_status:
            self._error_status(req, error_status, error_index)
        elif req.pdu is PduType.GET:
            self._get(req, varbinds)
        elif req.pdu is PduType.GETNEXT:
            if len(varbinds) != len(req.oids):
                self.fail(f"malformed response: {len(varbinds)} varbinds for {len(req.oids)} requested")
            else:
                for col, vb in zip(self._sent, varbinds, strict=True):
                    if self._take(col, (vb,)):
                        break
        else:
            if size and varbinds:
                self._bytes_per_varbind = max(8.0, size / len(varbinds))
            self._bulk(req, varbinds)
        self._columns = [col for col in self._columns if not col.done]

    def _get(self, req: WalkRequest, varbinds: list[VarBind]) -> None:
        if len(varbinds) != len(req.oids):
            self.fail(f"malformed response: {len(varbinds)} varbinds for {len(req.oids)} requested")
            return
        scalars = self.result.scalars
        for want, (oid, tag, value) in zip(req.oids, varbinds, strict=True):
            if oid != want:
                self.fail(f"agent answered {format_oid(oid)} to a GET of {format_oid(want)}")
                return
            if tag < 0x80:  # noSuchObject/noSuchInstance: the device does not have it
                scalars[oid] = (tag, value)
        self._scalars = []

    def _bulk(self, req: WalkRequest, varbinds: list[VarBind]) -> None:
        n = req.non_repeaters
        if len(varbinds) < n:
            self.fail(f"malformed response: {len(varbinds)} varbinds for {n} non-repeaters")
            return
        scalars = self.result.scalars
        for i in range(n):
            oid, tag, value = varbinds[i]
            if tag >= 0x80:
                if tag != END_OF_MIB_VIEW:
                    self.fail(f"agent returned {_EXCEPTION_NAMES[tag]} to a GETBULK at {format_oid(oid)}")
                    return
            elif oid <= req.oids[i]:
                self.fail(f"agent returned non-increasing OID at {format_oid(oid)}")
                return
            elif oid == self._scalars[i]:
                scalars[oid] = (tag, value)
        self._scalars = []
        width = len(self._sent)
        if not width:
            return
        rows = varbinds[n : n + width * req.max_repetitions]
        if not rows:  # the agent cut the answer before the first row
            if n:
                return  # the scalars took the room; the next request carries only columns
            if req.max_repetitions > 1:
                self._reps_cap = max(1, req.max_repetitions // 2)
            else:
                self.fail("agent returned no rows (truncated response)")
            return
        for j, col in enumerate(self._sent):
            if self._take(col, rows[j::width]):
                return
        if len(rows) < width * req.max_repetitions and not any(col.done for col in self._sent):
            # the agent cut the answer to fit its message size: ask for no more than that next time
            self._reps_cap = max(1, -(-len(rows) // width))

    def _take(self, col: _Column, varbinds: list[VarBind] | tuple[VarBind, ...]) -> bool:
        """Store one column's share of a response; True if the walk failed. The per-varbind hot loop."""
        prefix, size, last, cells = col.oid, col.size, col.last, col.cells
        for oid, tag, value in varbinds:
            if tag >= 0x80:  # an exception carries the requested OID, so it is checked first
                if tag == END_OF_MIB_VIEW:
                    col.done = True
                    break
                self.fail(f"agent returned {_EXCEPTION_NAMES[tag]} in a walk at {format_oid(oid)}")
                return True
            if oid <= last:
                self.fail(f"agent returned non-increasing OID at {format_oid(oid)}")
                return True
            if oid[:size] != prefix:
                col.done = True
                break
            cells[oid[size:]] = (tag, value)
            last = oid
        col.last = last
        if len(cells) > self.max_rows:
            self.fail(f"table too large: more than {self.max_rows} rows in {format_oid(prefix)}")
            return True
        return False

    def _error_status(self, req: WalkRequest, status: int, index: int) -> None:
        name = ERROR_STATUS[status] if status < len(ERROR_STATUS) else f"error {status}"
        if status == TOO_BIG:
            if req.pdu is PduType.GETBULK and req.max_repetitions > 1:
                self._reps_cap = max(1, req.max_repetitions // 2)
                return
            if req.pdu is PduType.GETNEXT and len(req.oids) > 1:
                self._chunk = max(1, len(req.oids) // 2)
                return
            self.fail(f"agent answered tooBig to a {req.pdu.name} of {len(req.oids)} OIDs")
            return
        if status == NO_SUCH_NAME and not self.bulk and 1 <= index <= len(req.oids):
            # SNMPv1's way to say "no such object" (GET) or "end of MIB" (GETNEXT): drop it, go on
            if req.pdu is PduType.GET:
                del self._scalars[index - 1]
            else:
                self._sent[index - 1].done = True
            return
        where = f" at {format_oid(req.oids[index - 1])}" if 1 <= index <= len(req.oids) else ""
        self.fail(f"agent error {name}{where}")

    # --------------------------------------------------------------------- end
    def fail(self, error: str) -> None:
        """End the walk with ``error``, keeping what was read so far (first error wins)."""
        if self.result.error is None:
            self.result.error = error
        self._finish()

    def _finish(self) -> None:
        result = self.result
        result.varbinds = len(result.scalars) + sum(map(len, result.columns.values()))
        if result.error is None and not result.varbinds and self._asked:
            result.error = "endOfMibView: the agent has none of the requested OIDs"
        result.ok = result.error is None

    @property
    def rows(self) -> int:
        """Most rows seen in one column: the next poll's ``rows_hint``."""
        return max(map(len, self.result.columns.values()), default=0)
