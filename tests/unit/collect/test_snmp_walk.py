"""The walk state machine against a reference agent: what it asks, what it keeps, how it fails.

The reference agent implements RFC 3416 GET/GETNEXT/GETBULK over a sorted list of varbinds, with
optional response truncation, so the property test can check that whatever the table shape, the agent's
size limit and the rows hint, the walk reads exactly the table — never more, never less.
"""

from __future__ import annotations

import bisect

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
def feed_once(spec: PollSpec, varbinds: list[VarBind], status: int = 0, index: int = 0) -> PollResult:
    walk = Walk(spec, PollResult("d"))
    assert walk.next_request() is not None
    walk.feed(status, index, varbinds)
    assert walk.next_request() is None or not walk.result.ok
    return walk.result


def test_non_increasing_oid_ends_the_walk_and_keeps_what_was_read() -> None:
    spec = PollSpec("a", columns=(COL_A,))
    result = feed_once(spec, [((*COL_A, 1), OCTET_STRING, b"a"), ((*COL_A, 1), OCTET_STRING, b"a")])
    assert not result.ok
    assert result.error == "agent returned non-increasing OID at 1.3.6.1.2.1.2.2.1.2.1"
    assert result.columns[COL_A] == {(1,): (OCTET_STRING, b"a")}
    assert result.varbinds == 1


def test_no_such_object_in_a_walk_is_an_error() -> None:
    result = feed_once(PollSpec("a", columns=(COL_A,)), [(COL_A, NO_SUCH_OBJECT, None)])
    assert result.error == "agent returned noSuchObject in a walk at 1.3.6.1.2.1.2.2.1.2"
    result = feed_once(SPEC, [(SYS_UPTIME, NO_SUCH_INSTANCE, None)])
    assert result.error is not None and "noSuchInstance" in result.error


def test_end_of_mib_view_at_once_is_an_error() -> None:
    vbs: list[VarBind] = [(oid, END_OF_MIB_VIEW, None) for oid in (SYS_UPTIME[:-1], *SPEC.columns)]
    result = feed_once(SPEC, vbs)
    assert not result.ok
    assert result.error is not None and result.error.startswith("endOfMibView")


def test_table_too_large() -> None:
    spec = PollSpec("a", columns=(COL_A,))
    agent = RefAgent([((*COL_A, r), INTEGER, r) for r in range(1, 5_001)])
    result = run(Walk(spec, PollResult("d"), max_rows=1_000), agent)
    assert result.error == "table too large: more than 1000 rows in 1.3.6.1.2.1.2.2.1.2"
    assert 1_000 < len(result.columns[COL_A]) < 1_200


def test_too_big_halves_the_rows_then_gives_up_at_one() -> None:
    walk = Walk(PollSpec("a", columns=(COL_A,)), PollResult("d"), rows_hint=40)
    seen = []
    while (req := walk.next_request()) is not None:
        seen.append(req.max_repetitions)
        walk.feed(1, 0, [])
    assert seen == [41, 20, 10, 5, 2, 1]
    assert walk.result.error == "agent answered tooBig to a GETBULK of 1 OIDs"


def test_truncated_to_nothing_halves_then_fails() -> None:
    walk = Walk(PollSpec("a", columns=(COL_A,)), PollResult("d"), rows_hint=3)
    seen = []
    while (req := walk.next_request()) is not None:
        seen.append(req.max_repetitions)
        walk.feed(0, 0, [])
    assert seen == [4, 2, 1]
    assert walk.result.error == "agent returned no rows (truncated response)"


def test_agent_error_status_is_reported_with_its_oid() -> None:
    result = feed_once(SPEC, [], status=5, index=2)
    assert result.error == "agent error genErr at 1.3.6.1.2.1.2.2.1.2"


def test_wrong_varbind_count_for_get_is_malformed() -> None:
    result = feed_once(PollSpec("s", scalars=(SYS_UPTIME,)), [])
    assert result.error == "malformed response: 0 varbinds for 1 requested"


def test_feed_without_request_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        Walk(SPEC, PollResult("d")).feed(0, 0, [])
