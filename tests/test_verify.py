"""pbmatch.verify.verify_match catches each kind of broken result."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import sparse

from pbmatch.matching import match
from pbmatch.results import MatchResult
from pbmatch.verify import check_match, verify_match

SCORES = np.array([[1.0, 2.0, -np.inf], [3.0, -1.0, 0.5]])


def result(pairs: list[tuple[int, int]], matrix: Any = SCORES, **fields: Any) -> MatchResult:
    rows = np.array([p[0] for p in pairs], dtype=np.intp)
    cols = np.array([p[1] for p in pairs], dtype=np.intp)
    dense = np.asarray(matrix.toarray() if sparse.issparse(matrix) else matrix, dtype=float)
    inside = (rows < dense.shape[0]) & (cols < dense.shape[1])
    chosen = np.where(inside, dense[np.where(inside, rows, 0), np.where(inside, cols, 0)], 1.0)
    base: dict[str, Any] = {
        "rows": rows,
        "cols": cols,
        "scores": chosen,
        "objective": math.fsum(chosen.tolist()),
        "status": "optimal",
    }
    base.update(fields)
    return MatchResult(**base)


def test_a_real_result_passes() -> None:
    assert verify_match(match(SCORES), SCORES) == []
    check_match(match(SCORES, right_capacity=2), SCORES, right_capacity=2)


def test_consistent_handmade_result_passes() -> None:
    assert verify_match(result([(0, 1), (1, 0)]), SCORES) == []


@pytest.mark.parametrize(
    ("res", "kwargs", "fragment"),
    [
        (result([(1, 0), (0, 1)]), {}, "not sorted"),
        (result([(0, 1), (0, 1)]), {"left_capacity": 2, "right_capacity": 2}, "more than once"),
        (result([(0, 2)]), {}, "not allowed"),
        (result([(0, 5)]), {}, "outside the 2 x 3"),
        (result([(0, 0), (0, 1)]), {}, "row 0 has 2 pairs, above its capacity 1"),
        (result([(0, 0), (1, 0)]), {}, "column 0 has 2 pairs, above its capacity 1"),
        (result([(0, 1)]), {"left_min": 1}, "row 1 has 0 pairs, below its minimum 1"),
        (result([(0, 1)]), {"right_min": [1, 0, 0]}, "column 0 has 0 pairs, below its minimum 1"),
        (result([(1, 1)]), {}, "score -1.0 <= 0 and no minimum needs it"),
        (result([(0, 1)], objective=2.5), {}, "objective 2.5 but the chosen scores sum to 2.0"),
        (result([(0, 1)], scores=np.array([7.0])), {}, "reports score 7.0, given 2.0"),
        (result([(0, 1)], status="infeasible"), {}, "status 'infeasible' but 1 pairs"),
        (result([], status="done"), {}, "unknown status 'done'"),
        (result([(0, 1)], cols=np.array([1, 2])), {}, "different lengths"),
        (result([(0, 1)], rows=np.array([0.0])), {}, "integer arrays"),
        (result([(0, 1)], rows=np.array([[0]])), {}, "1-D"),
    ],
)
def test_each_violation_is_reported(
    res: MatchResult, kwargs: dict[str, Any], fragment: str
) -> None:
    problems = verify_match(res, SCORES, **kwargs)
    assert any(fragment in p for p in problems), problems
    with pytest.raises(AssertionError, match="violates its rules"):
        check_match(res, SCORES, **kwargs)


def test_negative_pair_is_fine_where_a_minimum_needs_it() -> None:
    assert verify_match(result([(0, 1), (1, 1)]), SCORES, right_capacity=2, left_min=1) == []


def test_failed_result_with_no_pairs_passes() -> None:
    res = result([], status="infeasible", objective=math.nan)
    assert verify_match(res, SCORES, left_min=3, left_capacity=3) == []


def test_sparse_scores_absent_entries_forbid_and_duplicates_sum() -> None:
    coo = sparse.coo_array(
        (np.array([1.0, 2.0, 0.0]), (np.array([0, 0, 1]), np.array([1, 1, 0]))), shape=(2, 2)
    )
    ok = MatchResult(
        rows=np.array([0], dtype=np.intp),
        cols=np.array([1], dtype=np.intp),
        scores=np.array([3.0]),  # 1 + 2, duplicates summed
        objective=3.0,
        status="optimal",
    )
    assert verify_match(ok, coo) == []
    absent = MatchResult(
        rows=np.array([1], dtype=np.intp),
        cols=np.array([1], dtype=np.intp),
        scores=np.array([0.0]),
        objective=0.0,
        status="optimal",
    )
    assert any("not allowed" in p for p in verify_match(absent, coo, right_min=[0, 1]))
    explicit_zero = MatchResult(
        rows=np.array([1], dtype=np.intp),
        cols=np.array([0], dtype=np.intp),
        scores=np.array([0.0]),
        objective=0.0,
        status="optimal",
    )
    assert verify_match(explicit_zero, coo, left_min=[0, 1]) == []
    assert any("no minimum needs it" in p for p in verify_match(explicit_zero, coo))


def test_empty_sparse_matrix() -> None:
    empty = sparse.csr_array((2, 3))
    assert verify_match(match(empty), empty) == []
    res = result([(0, 0)], matrix=np.zeros((2, 3)))
    assert any("not allowed" in p for p in verify_match(res, empty))
