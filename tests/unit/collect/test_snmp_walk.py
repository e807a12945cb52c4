"""The walk state machine against a reference agent: what it asks, what it keeps, how it fails.

The reference agent implements RFC 3416 GET/GETNEXT/GETBULK over a sorted list of varbinds, with
optional response truncation, so the property test can check that whatever the table shape, the agent's
size limit and the rows hint, the walk reads exactly the table — never more, never less.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netmon.collect.ber import (
    COUNTER64,
    END_OF_MIB_VIEW,
    INTEGER,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    OCTET_STRING,
    TIMETICKS,
    PduType,
    VarBind,
)
from netmon.collect.oids import DEVICE_SPEC, IF_MIB_SPEC, Oid, PollSpec
from netmon.collect.walk import FIRST_REPETITIONS, PollResult, Walk, WalkRequest

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
COL_A = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
COL_B = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10)
COL_C = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
SPEC = PollSpec("t", scalars=(SYS_UPTIME,), columns=(COL_A, COL_B, COL_C))


class RefAgent:
    """RFC 3416 semantics over a sorted MIB; ``cap`` truncates GETBULK answers like a size-limited agent."""

    def __init__(self, mib: list[VarBind], cap: int | None = None, v1: bool = False) -> None:
        self.mib = sorted(mib)
        self.oids = [vb[0] for vb in self.mib]
        self.cap = cap
        self.v1 = v1
        self.requests: list[WalkRequest] = []

    def _next(self, oid: Oid) -> VarBind:
        i = bisect.bisect_right(self.oids, oid)
        return self.mib[i] if i < len(self.mib) else (oid, END_OF_MIB_VIEW, None)

    def answer(self, req: WalkRequest) -> tuple[int, int, list[VarBind]]:
        self.requests.append(req)
        if req.pdu is PduType.GET:
            out = []
            for i, oid in enumerate(req.oids):
                j = bisect.bisect_left(self.oids, oid)
                if j < len(self.oids) and self.oids[j] == oid:
                    out.append(self.mib[j])
                elif self.v1:
                    return 2, i + 1, []
                else:
                    out.append((oid, NO_SUCH_OBJECT, None))
            return 0, 0, out
        if req.pdu is PduType.GETNEXT:
            out = []
            for i, oid in enumerate(req.oids):
                vb = self._next(oid)
                if vb[1] == END_OF_MIB_VIEW:
                    return 2, i + 1, []
                out.append(vb)
            return 0, 0, out
        n = req.non_repeaters
        out = [self._next(oid) for oid in req.oids[:n]]
        last = list(req.oids[n:])
        for _ in range(req.max_repetitions):
            if not last:
                break
            row = [self._next(oid) for oid in last]
            out += row
            last = [vb[0] for vb in row]
            if all(vb[1] == END_OF_MIB_VIEW for vb in row):
                break
        if self.cap is not None:
            out = out[: max(self.cap, n)]
        return 0, 0, out


def table(rows: int, extra: bool = True) -> list[VarBind]:
    """sysUpTime, COL_A/COL_B/COL_C with ``rows`` rows, and neighbours around them."""
    mib: list[VarBind] = [(SYS_UPTIME, TIMETICKS, 12345), ((1, 3, 6, 1, 2, 1, 1, 5, 0), OCTET_STRING, b"r1")]
    for r in range(1, rows + 1):
        mib.append(((*COL_A, r), OCTET_STRING, f"eth{r}".encode()))
        mib.append(((*COL_B, r), 0x41, r * 1000))
        mib.append(((*COL_C, r), COUNTER64, r * 2**40))
    if extra:
        mib.append(((1, 3, 6, 1, 2, 1, 2, 2, 1, 3, 1), INTEGER, 6))  # the column after COL_A
        mib.append(((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 7, 1), COUNTER64, 1))  # after COL_C
    return mib


def run(walk: Walk, agent: RefAgent, limit: int = 10_000) -> PollResult:
    for _ in range(limit):
        req = walk.next_request()
        if req is None:
            return walk.result
        walk.feed(*agent.answer(req))
    raise AssertionError("walk did not end")


def expected(mib: list[VarBind], spec: PollSpec) -> tuple[dict[Oid, object], dict[Oid, dict[Oid, object]]]:
    scalars: dict[Oid, object] = {oid: (tag, v) for oid, tag, v in mib if oid in spec.scalars}
    columns: dict[Oid, dict[Oid, object]] = {c: {} for c in spec.columns}
    for oid, tag, v in mib:
        for c in spec.columns:
            if oid[: len(c)] == c:
                columns[c][oid[len(c) :]] = (tag, v)
    return scalars, columns


# ------------------------------------------------------------------------------ requests
def test_first_request_carries_scalars_as_non_repeaters_and_all_columns() -> None:
    walk = Walk(SPEC, PollResult("d"))
    req = walk.next_request()
    assert req is not None
    assert req.pdu is PduType.GETBULK
    assert req.non_repeaters == 1
    assert req.oids == [SYS_UPTIME[:-1], COL_A, COL_B, COL_C]
    assert req.max_repetitions == FIRST_REPETITIONS


def test_rows_hint_asks_one_row_more_and_finishes_in_one_request() -> None:
    agent = RefAgent(table(24))
    walk = Walk(SPEC, PollResult("d"), rows_hint=24)
    result = run(walk, agent)
    assert result.ok, result.error
    assert [r.max_repetitions for r in agent.requests] == [25]
    assert walk.rows == 24
    assert result.varbinds == 1 + 3 * 24


def test_without_hint_rows_per_request_double() -> None:
    agent = RefAgent(table(100))
    result = run(Walk(SPEC, PollResult("d")), agent)
    assert result.ok
    reps = [r.max_repetitions for r in agent.requests]
    assert reps == [16, 32, 64]  # 112 rows asked for 100 (+1 to see the end)


def test_a_table_that_outgrew_its_hint_takes_few_requests() -> None:
    agent = RefAgent(table(100))
    assert run(Walk(SPEC, PollResult("d"), rows_hint=10), agent).ok
    assert [r.max_repetitions for r in agent.requests] == [11, 16, 32, 64]


def test_response_budget_limits_rows_per_request() -> None:
    agent = RefAgent(table(50))
    walk = Walk(SPEC, PollResult("d"), max_response_bytes=1200, rows_hint=50)
    assert run(walk, agent).ok
    # 1200 bytes at the assumed 40 bytes per varbind: 30 varbinds, 1 scalar, 3 columns -> 9 rows
    assert agent.requests[0].max_repetitions == 9


def test_scalars_only_spec_uses_get_and_skips_missing() -> None:
    spec = PollSpec("s", scalars=(SYS_UPTIME, (1, 3, 6, 1, 2, 1, 1, 4, 0)))
    agent = RefAgent(table(1))
    result = run(Walk(spec, PollResult("d")), agent)
    assert agent.requests[0].pdu is PduType.GET
    assert result.ok
    assert result.scalars == {SYS_UPTIME: (TIMETICKS, 12345)}


def test_specs_are_numeric_and_well_formed() -> None:
    assert len(IF_MIB_SPEC.columns) == 22 + 19
    assert (1, 3, 6, 1, 2, 1, 1, 3, 0) in IF_MIB_SPEC.scalars
    assert len(DEVICE_SPEC.scalars) == 6 and len(DEVICE_SPEC.columns) == 19
    with pytest.raises(ValueError, match=r"not a \.0 instance"):
        PollSpec("x", scalars=((1, 3, 6, 1, 2, 1, 1, 3),))
    with pytest.raises(ValueError, match="lies inside"):
        PollSpec("x", columns=((1, 3, 6, 1, 2, 1, 2), COL_A))


ROW_SPEC = PollSpec("r", scalars=(SYS_UPTIME,), columns=(COL_A, COL_B, COL_C), rows=((1,),))


@pytest.mark.parametrize("v1", [False, True])
def test_a_spec_with_rows_reads_only_those_rows_in_one_get(v1: bool) -> None:
    """A base station's poll: its port 1, whatever the size of its interface table, in one request."""
    mib = [vb for vb in table(12) if not (v1 and vb[1] == COUNTER64)]  # v1 agents skip Counter64
    agent = RefAgent(mib, v1=v1)
    result = run(Walk(ROW_SPEC, PollResult("d"), bulk=not v1), agent)
    assert result.ok and result.completeness == 1.0 and not result.faults
    assert result.scalars == {SYS_UPTIME: (TIMETICKS, 12345)}
    assert result.columns == {COL_A: {(1,): (OCTET_STRING, b"eth1")}, COL_B: {(1,): (0x41, 1000)},
                              COL_C: {} if v1 else {(1,): (COUNTER64, 2**40)}}
    assert result.varbinds == (3 if v1 else 4)
    assert agent.requests[0] == WalkRequest(PduType.GET, [SYS_UPTIME, (*COL_A, 1), (*COL_B, 1), (*COL_C, 1)])
    assert len(agent.requests) == (2 if v1 else 1)  # v1: noSuchName for the Counter64, asked again without it


def test_a_row_the_agent_lacks_is_an_empty_column_and_a_wrong_answer_spoils_its_column() -> None:
    result = run(Walk(ROW_SPEC, PollResult("d")), RefAgent([vb for vb in table(3) if vb[0][-1] != 1 or
                                                               vb[0][: len(COL_A)] != COL_A]))
    assert result.ok and result.columns[COL_A] == {} and not result.incomplete and result.completeness == 1.0

    def lie(req: WalkRequest, answer: Answer) -> Answer:
        status, index, vbs = answer
        return status, index, [((*COL_B, 7), *vb[1:]) if vb[0] == (*COL_B, 1) else vb for vb in vbs]

    result = run(Walk(ROW_SPEC, PollResult("d")), Lying(table(3), lie))
    assert result.ok and result.incomplete == {COL_B: "wrong_oid"} and result.columns[COL_B] == {}
    assert result.completeness == 0.75 and result.faults == {"wrong_oid": 1}


def test_a_get_too_big_for_a_small_agent_is_split_until_it_fits() -> None:
    """An agent whose buffer holds two varbinds (SNMPv1 promises only 484 octets): the GET is halved, nothing lost."""

    def small(req: WalkRequest, answer: Answer) -> Answer:
        return (1, 0, []) if len(req.oids) > 2 else answer

    agent = Lying(table(3), small)
    result = run(Walk(ROW_SPEC, PollResult("d")), agent)
    assert result.ok and not result.incomplete and not result.faults and result.varbinds == 4
    assert [len(r.oids) for r in agent.requests] == [4, 2, 2]
    agent = Lying(table(3), lambda req, answer: (1, 0, []))  # tooBig even for one OID: given up, counted once
    result = run(Walk(ROW_SPEC, PollResult("d")), agent)
    assert result.ok and result.faults == {"too_big": 1} and len(result.incomplete) == 4


def test_silence_after_nothing_fails_a_rows_poll_and_rows_must_be_well_formed() -> None:
    walk = Walk(ROW_SPEC, PollResult("d"))
    assert walk.next_request() is not None
    walk.fail("timeout")
    assert not walk.result.ok and walk.result.error == "timeout"
    with pytest.raises(ValueError, match="rows"):
        PollSpec("x", columns=(COL_A,), rows=((),))


# ------------------------------------------------------------------------------ property
@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(0, 60),
    cap=st.one_of(st.none(), st.integers(1, 40)),
    hint=st.one_of(st.none(), st.integers(0, 80)),
    budget=st.integers(200, 40_000),
    drop=st.sets(st.integers(1, 60), max_size=10),
)
def test_walk_reads_exactly_the_table(
    rows: int, cap: int | None, hint: int | None, budget: int, drop: set[int]
) -> None:
    """Any table size, agent truncation, hint and budget: the result is the table, in few requests."""
    mib = [vb for vb in table(rows) if not (vb[0][: len(COL_B)] == COL_B and vb[0][-1] in drop)]  # sparse B
    agent = RefAgent(mib, cap=cap)
    result = run(Walk(SPEC, PollResult("d"), rows_hint=hint, max_response_bytes=budget), agent)
    assert result.ok or (result.error or "").startswith("endOfMibView"), result.error
    scalars, columns = expected(mib, SPEC)
    assert result.scalars == scalars
    assert result.columns == columns
    assert len(agent.requests) <= 3 * rows + 10


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(0, 20), drop=st.sets(st.integers(1, 20), max_size=5))
def test_v1_walk_reads_the_table_with_getnext(rows: int, drop: set[int]) -> None:
    mib = [vb for vb in table(rows, extra=False) if not (vb[0][: len(COL_B)] == COL_B and vb[0][-1] in drop)]
    mib = [vb for vb in mib if vb[1] != COUNTER64]  # v1 agents skip Counter64
    agent = RefAgent(mib, v1=True)
    spec = PollSpec("v1", scalars=(SYS_UPTIME, (1, 3, 6, 1, 2, 1, 1, 4, 0)), columns=SPEC.columns)
    result = run(Walk(spec, PollResult("d"), bulk=False), agent)
    assert result.ok, result.error
    scalars, columns = expected(mib, spec)
    assert result.scalars == scalars
    assert result.columns == columns
    assert {r.pdu for r in agent.requests} <= {PduType.GET, PduType.GETNEXT}


# ------------------------------------------------------------------------------ lying agents
# A device that answers is reachable: what an agent gets wrong costs the scalar or column it touches (in
# ``incomplete``, counted in ``faults``), never the poll, and whatever did arrive is kept.
Answer = tuple[int, int, list[VarBind]]


class Lying(RefAgent):
    """The reference agent with its answers rewritten by ``lie(request, answer)``."""

    def __init__(self, mib: list[VarBind], lie: Callable[[WalkRequest, Answer], Answer], cap: int | None = None):
        super().__init__(mib, cap=cap)
        self.lie = lie

    def answer(self, req: WalkRequest) -> Answer:
        return self.lie(req, super().answer(req))


def feed_once(spec: PollSpec, varbinds: list[VarBind], status: int = 0, index: int = 0) -> Walk:
    walk = Walk(spec, PollResult("d"))
    assert walk.next_request() is not None
    walk.feed(status, index, varbinds)
    return walk


def test_a_looping_column_ends_there_keeps_its_rows_and_the_other_columns() -> None:
    """ifDescr jumps back to row 1 after row 3: that column has rows 1..3 (once each), the others all 24."""

    def loop(req: WalkRequest, answer: Answer) -> Answer:
        status, index, vbs = answer
        looped = [((*COL_A, 1), OCTET_STRING, b"eth1") if vb[0][: len(COL_A)] == COL_A and vb[0][-1] > 3 else vb
                  for vb in vbs]
        return status, index, looped

    mib = table(24)
    result = run(Walk(SPEC, PollResult("d")), Lying(mib, loop))
    scalars, columns = expected(mib, SPEC)
    assert result.ok and result.error is None
    assert result.columns[COL_A] == {(r,): (OCTET_STRING, f"eth{r}".encode()) for r in (1, 2, 3)}
    assert result.columns[COL_B] == columns[COL_B] and result.columns[COL_C] == columns[COL_C]
    assert result.scalars == scalars
    assert result.incomplete == {COL_A: "non_increasing_oid"}
    assert result.faults == {"non_increasing_oid": 1}
    assert result.notes == ["non-increasing OID 1.3.6.1.2.1.2.2.1.2.1 after 1.3.6.1.2.1.2.2.1.2.3"]
    assert result.completeness == pytest.approx(3 / 4)


def test_non_increasing_oid_ends_that_column_and_keeps_what_was_read() -> None:
    spec = PollSpec("a", columns=(COL_A,))
    walk = feed_once(spec, [((*COL_A, 1), OCTET_STRING, b"a"), ((*COL_A, 2), OCTET_STRING, b"b"),
                            ((*COL_A, 1), OCTET_STRING, b"a")])
    assert walk.next_request() is None
    result = walk.result
    assert result.ok and result.error is None
    assert result.columns[COL_A] == {(1,): (OCTET_STRING, b"a"), (2,): (OCTET_STRING, b"b")}
    assert result.incomplete == {COL_A: "non_increasing_oid"}
    assert result.varbinds == 2 and result.completeness == 0.0


def _repeating(where: int, every: bool) -> Callable[[WalkRequest, Answer], Answer]:
    def repeat(req: WalkRequest, answer: Answer) -> Answer:
        status, index, vbs = answer
        if req.pdu is not PduType.GETBULK or not vbs or not (every or not repeat.done):  # type: ignore[attr-defined]
            return answer
        repeat.done = True  # type: ignore[attr-defined]
        i = where % len(vbs)
        return status, index, [*vbs[: i + 1], vbs[i], *vbs[i + 1 :]]

    repeat.done = False  # type: ignore[attr-defined]
    return repeat


def _sparse(rows: int, drop: set[int], empty: Oid | None) -> list[VarBind]:
    """The table with holes in COL_B and maybe one column empty."""
    return [vb for vb in table(rows) if not (vb[0][: len(COL_B)] == COL_B and vb[0][-1] in drop)
            and (empty is None or vb[0][: len(empty)] != empty)]


REPEATS = {"rows": st.integers(1, 30), "hint": st.one_of(st.none(), st.integers(0, 40)),
           "where": st.integers(0, 10_000), "every": st.booleans(), "drop": st.sets(st.integers(1, 30), max_size=8),
           "empty": st.sampled_from([None, COL_A, COL_B, COL_C])}


@settings(max_examples=400, deadline=None)
@given(**REPEATS)
def test_a_repeated_varbind_is_dropped_once_and_the_table_is_read_exactly(
    rows: int, hint: int | None, where: int, every: bool, drop: set[int], empty: Oid | None
) -> None:
    """Net-snmp prints a repeated varbind twice and carries on; it shifts every later varbind of a GETBULK
    answer into the wrong column, so the walk must see it, drop it and read the answer again: whatever the
    table, the hint and where the repeat is (in one answer, or in every one), the table exactly."""
    mib = _sparse(rows, drop, empty)
    agent = Lying(mib, _repeating(where, every))
    result = run(Walk(SPEC, PollResult("d"), rows_hint=hint), agent)
    scalars, columns = expected(mib, SPEC)
    assert (result.scalars, result.columns) == (scalars, columns)
    assert result.ok and not result.incomplete
    # counted where it mattered (a repeat past the end of every column changes nothing and may pass unseen)
    assert set(result.faults) <= {"duplicate_varbind"}
    assert result.faults.get("duplicate_varbind", 0) <= (len(agent.requests) if every else 1)


@settings(max_examples=300, deadline=None)
@given(cap=st.integers(4, 40), **REPEATS)
def test_a_repeat_in_a_truncated_answer_never_gives_a_wrong_value(
    cap: int, rows: int, hint: int | None, where: int, every: bool, drop: set[int], empty: Oid | None
) -> None:
    """An agent that also cuts its answers short can make a repeat undecidable (the answer reads the same
    with or without it): then rows may be missing from that poll — never a wrong or invented value."""
    mib = _sparse(rows, drop, empty)
    result = run(Walk(SPEC, PollResult("d"), rows_hint=hint), Lying(mib, _repeating(where, every), cap=cap))
    scalars, columns = expected(mib, SPEC)
    assert result.ok
    assert result.scalars.items() <= scalars.items()
    for col, cells in result.columns.items():
        assert cells.items() <= columns[col].items()


def test_neighbours_with_the_same_oid_beyond_an_empty_column_are_not_repeats() -> None:
    """COL_A is empty: its position walks into COL_B beside COL_B's own (the same OIDs, rightly), while an
    odd answer elsewhere makes the walk look for repeats."""
    mib = [vb for vb in table(5) if vb[0][: len(COL_A)] != COL_A]

    def odd(req: WalkRequest, answer: Answer) -> Answer:
        status, index, vbs = answer
        return status, index, [(oid, NO_SUCH_OBJECT, None) if oid == SYS_UPTIME else (oid, tag, v)
                               for oid, tag, v in vbs]

    result = run(Walk(SPEC, PollResult("d")), Lying(mib, odd))
    _, columns = expected(mib, SPEC)
    assert result.columns == columns
    assert result.faults == {"no_such_object": 1} and result.incomplete == {SYS_UPTIME: "no_such_object"}


def test_no_such_object_for_a_scalar_is_a_missing_value_not_a_failure() -> None:
    def no_uptime(req: WalkRequest, answer: Answer) -> Answer:
        status, index, vbs = answer
        return status, index, [(oid, NO_SUCH_OBJECT, None) if oid == SYS_UPTIME else (oid, tag, v)
                               for oid, tag, v in vbs]

    mib = table(4)
    result = run(Walk(SPEC, PollResult("d")), Lying(mib, no_uptime))
    _, columns = expected(mib, SPEC)
    assert result.ok and SYS_UPTIME not in result.scalars and result.columns == columns
    assert result.incomplete == {SYS_UPTIME: "no_such_object"}
    assert result.notes == ["noSuchObject for 1.3.6.1.2.1.1.3.0 (non-repeater)"]


def test_no_such_instance_cells_inside_a_walk_are_holes_and_the_walk_goes_on() -> None:
    """ifHC* answering noSuchInstance for some rows: those cells are missing, the column goes on."""

    def holes(req: WalkRequest, answer: Answer) -> Answer:
        status, index, vbs = answer
        return status, index, [(oid, NO_SUCH_INSTANCE, None) if oid[: len(COL_C)] == COL_C and oid[-1] % 2
                               else (oid, tag, v) for oid, tag, v in vbs]

    mib = table(6)
    result = run(Walk(SPEC, PollResult("d")), Lying(mib, holes))
    _, columns = expected(mib, SPEC)
    assert result.columns[COL_C] == {k: v for k, v in columns[COL_C].items() if k[-1] % 2 == 0}
    assert result.columns[COL_A] == columns[COL_A] and result.columns[COL_B] == columns[COL_B]
    assert result.incomplete == {COL_C: "no_such_instance"} and result.faults == {"no_such_instance": 1}


def test_an_exception_at_the_requested_oid_ends_that_column_only() -> None:
    walk = feed_once(PollSpec("a", columns=(COL_A, COL_B)), [(COL_A, NO_SUCH_OBJECT, None), ((*COL_B, 1), 0x41, 5)])
    assert walk.result.incomplete == {COL_A: "no_such_object"}
    assert walk.result.columns[COL_B] == {(1,): (0x41, 5)}
    req = walk.next_request()
    assert req is not None and req.oids == [(*COL_B, 1)]  # the walk goes on with the other column


def test_end_of_mib_view_at_once_is_an_answer_with_no_data() -> None:
    vbs: list[VarBind] = [(oid, END_OF_MIB_VIEW, None) for oid in (SYS_UPTIME[:-1], *SPEC.columns)]
    walk = feed_once(SPEC, vbs)
    assert walk.next_request() is None
    result = walk.result
    assert result.ok and result.error is None
    assert result.faults == {"no_data": 1} and result.completeness == 0.0


def test_end_of_mib_view_to_a_get_is_a_fault() -> None:
    walk = feed_once(PollSpec("s", scalars=(SYS_UPTIME,)), [(SYS_UPTIME, END_OF_MIB_VIEW, None)])
    assert walk.next_request() is None
    assert walk.result.incomplete == {SYS_UPTIME: "end_of_mib_view"}


def test_table_too_large() -> None:
    spec = PollSpec("a", columns=(COL_A,))
    agent = RefAgent([((*COL_A, r), INTEGER, r) for r in range(1, 5_001)])
    result = run(Walk(spec, PollResult("d"), max_rows=1_000), agent)
    assert result.ok and result.incomplete == {COL_A: "table_too_large"}
    assert result.notes == ["more than 1000 rows in 1.3.6.1.2.1.2.2.1.2"]
    assert 1_000 < len(result.columns[COL_A]) < 1_200


def test_too_big_halves_the_rows_then_gives_up_at_one() -> None:
    walk = Walk(PollSpec("a", columns=(COL_A,)), PollResult("d"), rows_hint=40)
    seen = []
    while (req := walk.next_request()) is not None:
        seen.append(req.max_repetitions)
        walk.feed(1, 0, [])
    assert seen == [41, 20, 10, 5, 2, 1]
    assert walk.result.ok and walk.result.incomplete == {COL_A: "too_big"}
    assert walk.result.notes == ["agent answered tooBig to a GETBULK of 1 OIDs"]


def test_truncated_to_nothing_halves_then_gives_up() -> None:
    walk = Walk(PollSpec("a", columns=(COL_A,)), PollResult("d"), rows_hint=3)
    seen = []
    while (req := walk.next_request()) is not None:
        seen.append(req.max_repetitions)
        walk.feed(0, 0, [])
    assert seen == [4, 2, 1]
    assert walk.result.incomplete == {COL_A: "truncated"}


def test_an_agent_error_gives_up_what_it_names_and_the_walk_goes_on() -> None:
    mib = table(3)

    def gen_err_on_a(req: WalkRequest, answer: Answer) -> Answer:
        if COL_A in req.oids:
            return 5, req.oids.index(COL_A) + 1, []
        return answer

    result = run(Walk(SPEC, PollResult("d")), Lying(mib, gen_err_on_a))
    scalars, columns = expected(mib, SPEC)
    assert result.ok and result.scalars == scalars
    assert result.columns == {**columns, COL_A: {}}
    assert result.incomplete == {COL_A: "agent_error"}
    assert result.notes == ["agent error genErr at 1.3.6.1.2.1.2.2.1.2"]


def test_an_agent_error_without_an_index_ends_the_walk() -> None:
    walk = feed_once(SPEC, [], status=5, index=0)
    assert walk.next_request() is None
    assert walk.result.ok and walk.result.completeness == 0.0
    assert walk.result.incomplete == dict.fromkeys((SYS_UPTIME, *SPEC.columns), "agent_error")
    assert walk.result.faults == {"agent_error": 1}


def test_wrong_varbind_count_for_get() -> None:
    walk = feed_once(PollSpec("s", scalars=(SYS_UPTIME,)), [])
    assert walk.next_request() is None
    assert walk.result.incomplete == {SYS_UPTIME: "wrong_varbind_count"}
    walk = feed_once(PollSpec("s", scalars=(SYS_UPTIME,)), [(SYS_UPTIME, TIMETICKS, 5)] * 2)
    assert walk.next_request() is None  # a repeat: dropped
    assert walk.result.scalars == {SYS_UPTIME: (TIMETICKS, 5)} and walk.result.faults == {"duplicate_varbind": 1}


def test_silence_before_any_answer_is_a_failed_poll_after_one_a_partial_walk() -> None:
    walk = Walk(SPEC, PollResult("d"))
    walk.next_request()
    walk.fail("timeout after 1 retries")
    assert not walk.result.ok and walk.result.error == "timeout after 1 retries"
    assert walk.result.completeness == 0.0

    agent = RefAgent(table(40))
    walk = Walk(SPEC, PollResult("d"))
    req = walk.next_request()
    assert req is not None
    walk.feed(*agent.answer(req))
    walk.fail("timeout after 1 retries (walk incomplete after 1 answered requests)")
    result = walk.result
    assert result.ok and result.error is None and walk.next_request() is None
    assert result.incomplete == dict.fromkeys(SPEC.columns, "timeout") and result.faults == {"timeout": 1}
    assert result.scalars and all(len(c) == FIRST_REPETITIONS for c in result.columns.values())


def test_unpadded_values_are_counted() -> None:
    walk = Walk(PollSpec("s", scalars=(SYS_UPTIME,)), PollResult("d"))
    walk.next_request()
    walk.feed(0, 0, [(SYS_UPTIME, TIMETICKS, 2**31)], unpadded=1)
    assert walk.next_request() is None
    assert walk.result.faults == {"unpadded_unsigned": 1} and walk.result.completeness == 1.0


def test_feed_without_request_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        Walk(SPEC, PollResult("d")).feed(0, 0, [])
