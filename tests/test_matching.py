"""pbmatch.matching.match against independent references: scipy, HiGHS LP, brute force.

Every result also passes :func:`pbmatch.verify.check_match`.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linear_sum_assignment, linprog

from pbmatch.exceptions import InfeasibleError, InputError, PrecisionWarning, SolverError
from pbmatch.matching import match
from pbmatch.results import MatchResult
from pbmatch.verify import check_match

RULES = ("left_capacity", "right_capacity", "left_min", "right_min")


def solve(scores: Any, **kwargs: Any) -> MatchResult:
    """match(), then check the result independently."""
    result = match(scores, **kwargs)
    check_match(result, scores, **{k: v for k, v in kwargs.items() if k in RULES})
    return result


# --- independent references -------------------------------------------------------------------


def dense_of(scores: Any) -> np.ndarray:
    """Dense float scores with -inf for forbidden pairs (absent sparse entries)."""
    if sparse.issparse(scores):
        csr = sparse.csr_array(scores)
        csr.sum_duplicates()
        out = np.full(csr.shape, -np.inf)
        rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
        out[rows, csr.indices] = csr.data
        return out
    return np.asarray(scores, dtype=np.float64)


def per(value: Any, size: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.int64)
    return np.full(size, array) if array.ndim == 0 else array


def lp_reference(
    scores: Any,
    left_capacity: Any = 1,
    right_capacity: Any = 1,
    left_min: Any = 0,
    right_min: Any = 0,
) -> float | None:
    """The b-matching LP by HiGHS (integral: totally unimodular); None if infeasible."""
    s = dense_of(scores)
    n, m = s.shape
    lcap, rcap = per(left_capacity, n), per(right_capacity, m)
    lmin, rmin = per(left_min, n), per(right_min, m)
    r, c = np.nonzero(np.isfinite(s))
    p = r.size
    if p == 0:
        return 0.0 if not (lmin.any() or rmin.any()) else None
    arcs = np.arange(p)
    a_row = sparse.csr_array((np.ones(p), (r, arcs)), shape=(n, p))
    a_col = sparse.csr_array((np.ones(p), (c, arcs)), shape=(m, p))
    a_ub = sparse.vstack([a_row, -a_row, a_col, -a_col]).tocsr()
    b_ub = np.concatenate([lcap, -lmin, rcap, -rmin]).astype(float)
    res = linprog(-s[r, c], A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    if res.status == 2:
        return None
    assert res.status == 0, res.message
    return float(-res.fun)


def brute_force(
    scores: Any,
    left_capacity: Any = 1,
    right_capacity: Any = 1,
    left_min: Any = 0,
    right_min: Any = 0,
) -> float | None:
    """Best total over every subset of allowed pairs (tiny cases); None if none is feasible."""
    s = dense_of(scores)
    n, m = s.shape
    r, c = np.nonzero(np.isfinite(s))
    p = r.size
    masks = np.array(list(itertools.product([0, 1], repeat=p)), dtype=np.int64).reshape(2**p, p)
    row_counts = masks @ (r[:, None] == np.arange(n)[None, :]).astype(np.int64)
    col_counts = masks @ (c[:, None] == np.arange(m)[None, :]).astype(np.int64)
    ok = (
        (row_counts <= per(left_capacity, n)).all(axis=1)
        & (row_counts >= per(left_min, n)).all(axis=1)
        & (col_counts <= per(right_capacity, m)).all(axis=1)
        & (col_counts >= per(right_min, m)).all(axis=1)
    )
    if not ok.any():
        return None
    return float((masks[ok] @ s[r, c]).max()) if p else 0.0


def scipy_one_to_one(scores: Any) -> float:
    """Optional 1:1 optimum: scipy's full assignment on max(score, 0), forbidden as 0."""
    s = dense_of(scores)
    if 0 in s.shape:
        return 0.0
    w = np.where(np.isfinite(s), np.maximum(s, 0.0), 0.0)
    rows, cols = linear_sum_assignment(w, maximize=True)
    return float(w[rows, cols].sum())


def random_scores(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """Normal, integer, or tie-heavy scores, with some -inf."""
    kind = rng.integers(3)
    if kind == 0:
        s = rng.normal(size=(n, m))
    elif kind == 1:
        s = rng.integers(-5, 10, size=(n, m)).astype(float)
    else:
        s = rng.choice([0.0, 1.0, 2.5], size=(n, m))
    s[rng.random((n, m)) < rng.uniform(0, 0.5)] = -np.inf
    return s


def assert_objective(result: MatchResult, expected: float | None, rel: float = 1e-9) -> None:
    if expected is None:
        assert result.status == "infeasible", result
        assert not result.success and len(result) == 0
    else:
        assert result.status == "optimal", result.message
        assert result.objective == pytest.approx(expected, rel=rel, abs=1e-9)


# --- optimality against references -------------------------------------------------------------


@pytest.mark.parametrize("method", ["auto", "assignment", "flow"])
def test_one_to_one_matches_scipy(method: str) -> None:
    rng = np.random.default_rng(2024)
    for _ in range(150):
        n, m = rng.integers(0, 26, size=2)
        s = random_scores(rng, n, m)
        scores: Any = s.astype(np.int64) if np.isfinite(s).all() and rng.random() < 0.5 else s
        result = solve(scores, method=method)
        assert_objective(result, scipy_one_to_one(scores))
        assert (result.scores > 0).all()  # no minimums: only strictly positive pairs


def test_medium_one_to_one_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    for n, m in [(200, 200), (150, 210), (300, 40)]:
        s = rng.random((n, m)) * 100 - 10
        s[rng.random((n, m)) < 0.3] = -np.inf
        for method in ("assignment", "flow"):
            assert_objective(solve(s, method=method), scipy_one_to_one(s), rel=1e-12)


def test_capacities_and_minimums_match_linprog() -> None:
    rng = np.random.default_rng(11)
    infeasible = 0
    for i in range(400):
        n, m = rng.integers(1, 13, size=2) if i < 380 else rng.integers(20, 60, size=2)
        s = random_scores(rng, n, m)
        lcap = rng.integers(0, 4, size=n) if rng.random() < 0.7 else int(rng.integers(0, 4))
        rcap = rng.integers(0, 4, size=m) if rng.random() < 0.7 else int(rng.integers(0, 4))
        kw: dict[str, Any] = {"left_capacity": lcap, "right_capacity": rcap}
        if rng.random() < 0.6:
            kw["left_min"] = np.minimum(rng.integers(0, 3, size=n), per(lcap, n))
        if rng.random() < 0.4:
            kw["right_min"] = np.minimum(rng.integers(0, 2, size=m), per(rcap, m))
        expected = lp_reference(s, **kw)
        infeasible += expected is None
        assert_objective(solve(s, **kw), expected, rel=1e-6)
    assert 20 < infeasible < 300  # both outcomes exercised


def test_medium_capacitated_matches_linprog() -> None:
    rng = np.random.default_rng(5)
    n, m = 60, 90
    s = rng.random((n, m))
    s[rng.random((n, m)) < 0.8] = -np.inf
    kw = {"left_capacity": rng.integers(1, 4, size=n), "right_capacity": 2, "left_min": 1}
    assert_objective(solve(s, **kw), lp_reference(s, **kw), rel=1e-9)


def test_tiny_cases_match_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(500):
        n, m = rng.integers(0, 4, size=2)
        s = random_scores(rng, n, m)
        lcap, rcap = rng.integers(0, 3, size=n), rng.integers(0, 3, size=m)
        lmin = np.minimum(rng.integers(0, 2, size=n), lcap) * (rng.random() < 0.5)
        rmin = np.minimum(rng.integers(0, 2, size=m), rcap) * (rng.random() < 0.5)
        kw = {"left_capacity": lcap, "right_capacity": rcap, "left_min": lmin, "right_min": rmin}
        assert_objective(solve(s, **kw), brute_force(s, **kw))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_hypothesis_tiny_cases_match_brute_force(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 3))
    m = data.draw(st.integers(0, 3))
    values = st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 1.0, 1.0, 3.25])
    s = np.array([[data.draw(values) for _ in range(m)] for _ in range(n)]).reshape(n, m)
    lcap = np.array([data.draw(st.integers(0, 2)) for _ in range(n)], dtype=np.int64)
    rcap = np.array([data.draw(st.integers(0, 2)) for _ in range(m)], dtype=np.int64)
    lmin = np.array([data.draw(st.integers(0, int(c))) for c in lcap], dtype=np.int64)
    rmin = np.array([data.draw(st.integers(0, int(c))) for c in rcap], dtype=np.int64)
    kw = {"left_capacity": lcap, "right_capacity": rcap, "left_min": lmin, "right_min": rmin}
    method = data.draw(st.sampled_from(["auto", "flow"]))
    assert_objective(solve(s, method=method, **kw), brute_force(s, **kw))


# --- sparse input ------------------------------------------------------------------------------


def test_sparse_matches_dense_and_references() -> None:
    rng = np.random.default_rng(17)
    for _ in range(60):
        n, m = rng.integers(1, 15, size=2)
        k = int(rng.integers(0, n * m + 1))
        rows, cols = rng.integers(0, n, size=k), rng.integers(0, m, size=k)
        noise = rng.random(k) * (rng.random() < 0.5)
        data = rng.choice([0.0, -1.0, 0.5, 2.0, -np.inf], size=k) + noise
        coo = sparse.coo_array((data, (rows, cols)), shape=(n, m))  # may have duplicates
        kw: dict[str, Any] = {}
        if rng.random() < 0.5:
            kw = {"left_capacity": 2, "left_min": rng.integers(0, 2, size=n)}
        result = solve(coo, **kw)
        assert result.method == "flow"
        assert_objective(result, lp_reference(coo, **kw), rel=1e-9)
        dense_result = solve(dense_of(coo), **kw)
        assert dense_result.status == result.status
        if result.success:
            assert result.objective == pytest.approx(dense_result.objective, rel=1e-12)


def test_sparse_explicit_zero_is_an_allowed_pair() -> None:
    scores = sparse.csr_array((np.array([0.0]), (np.array([0]), np.array([1]))), shape=(2, 2))
    assert scores.nnz == 1
    result = solve(scores)  # optional and not positive: not chosen
    assert result.pairs == [] and result.objective == 0.0
    result = solve(scores, left_min=[1, 0])
    assert result.pairs == [(0, 1)] and result.objective == 0.0
    result = solve(scores, left_min=[0, 1])  # row 1 has no stored entry
    assert result.status == "infeasible"
    assert "row 1" in result.message


@pytest.mark.parametrize(
    "fmt", ["csr_matrix", "csc_matrix", "coo_matrix", "lil_matrix", "dok_matrix", "csr_array"]
)
def test_sparse_formats(fmt: str) -> None:
    dense = np.array([[5.0, 0.0, 1.0], [4.0, 0.0, 0.0]])
    scores = getattr(sparse, fmt)(dense)
    result = solve(scores, right_capacity=2)  # zeros in `dense` are not stored: forbidden
    assert result.pairs == [(0, 0), (1, 0)] and result.objective == 9.0
    result = solve(scores, left_capacity=2, right_capacity=2)
    assert result.pairs == [(0, 0), (0, 2), (1, 0)] and result.objective == 10.0


def test_sparse_neg_inf_entry_forbids() -> None:
    scores = sparse.csr_array(np.array([[-np.inf, 1.0], [2.0, 0.0]]))
    result = solve(scores, left_min=1, right_min=1)
    assert result.pairs == [(0, 1), (1, 0)]


def test_dense_input_does_not_import_scipy() -> None:
    code = (
        "import sys, numpy as np\n"
        "from pbmatch.matching import match\n"
        "assert match(np.eye(3), right_capacity=2, method='flow').objective == 3.0\n"
        "assert match(np.eye(3)).objective == 3.0\n"
        "print('scipy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- shapes, capacities, minimums, ties --------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 0), (0, 4), (3, 0)])
@pytest.mark.parametrize("method", ["auto", "assignment", "flow"])
def test_empty_sides_are_optimal_and_empty(shape: tuple[int, int], method: str) -> None:
    result = solve(np.zeros(shape), method=method)
    assert result.status == "optimal" and result.success
    assert len(result) == 0 and result.objective == 0.0
    assert result.rows.dtype == np.intp and result.cols.dtype == np.intp


def test_empty_side_with_minimum_is_infeasible() -> None:
    result = solve(np.zeros((3, 0)), left_min=[0, 1, 0])
    assert result.status == "infeasible"
    assert "row 1" in result.message and "left_min[1]" in result.message
    with pytest.raises(InfeasibleError, match="row 1"):
        result.raise_for_status()


def test_capacity_zero_rows_and_columns_are_never_used() -> None:
    s = np.full((3, 3), 5.0)
    for method in ("auto", "assignment", "flow"):
        result = solve(s, left_capacity=[1, 0, 1], right_capacity=[0, 1, 1], method=method)
        assert 1 not in result.rows and 0 not in result.cols
        assert result.objective == 10.0
    assert solve(s, left_capacity=0).pairs == []


def test_per_row_capacity_arrays() -> None:
    s = np.array([[3.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
    result = solve(s, left_capacity=[3, 1], right_capacity=1)
    assert result.pairs == [(0, 0), (0, 1), (0, 2)]
    result = solve(s, left_capacity=[2, 2], right_capacity=[1, 1, 2])
    assert result.pairs == [(0, 0), (0, 1), (1, 2)] and result.objective == 6.0


def test_huge_capacities_do_not_overflow() -> None:
    s = np.arange(12.0).reshape(3, 4) + 1
    result = solve(s, left_capacity=10**17, right_capacity=[10**18] * 4)
    assert len(result) == 12 and result.objective == pytest.approx(78.0)


def test_all_equal_scores_and_ties() -> None:
    for method in ("auto", "assignment", "flow"):
        result = solve(np.ones((5, 7)), method=method)
        assert len(result) == 5 and result.objective == 5.0
        assert len(set(result.cols.tolist())) == 5
    result = solve(np.ones((4, 4)) * 2.5, right_capacity=2, left_capacity=3)
    assert len(result) == 8 and result.objective == 20.0


def test_negative_scores_are_not_chosen_without_minimums() -> None:
    s = -np.arange(1.0, 7.0).reshape(2, 3)
    for method in ("auto", "assignment", "flow"):
        result = solve(s, method=method)
        assert result.status == "optimal" and len(result) == 0 and result.objective == 0.0
    s[1, 2] = 0.0  # zero is not positive either
    assert solve(s).pairs == []


def test_minimums_force_the_least_bad_pairs() -> None:
    s = np.array([[-1.0, -3.0, 4.0], [-2.0, -0.5, -np.inf]])
    result = solve(s, left_min=1)
    assert result.pairs == [(0, 2), (1, 1)]
    assert result.objective == pytest.approx(3.5)
    result = solve(s, right_min=[1, 0, 0], left_capacity=2)
    assert result.pairs == [(0, 0), (0, 2)]
    assert result.objective == pytest.approx(3.0)


def test_minimum_equal_to_capacity_is_exact() -> None:
    s = np.array([[1.0, 2.0, 3.0, -1.0]])
    result = solve(s, left_capacity=4, left_min=4, right_capacity=1)
    assert len(result) == 4 and result.objective == pytest.approx(5.0)


# --- infeasible minimums are a status naming the culprit ---------------------------------------


def test_row_with_too_few_allowed_columns_is_named() -> None:
    s = np.array([[1.0, 1.0, 1.0], [-np.inf, 2.0, -np.inf], [1.0, 1.0, 1.0]])
    result = solve(s, left_capacity=2, left_min=[0, 2, 0])
    assert result.status == "infeasible" and result.method == "flow"
    assert "row 1" in result.message and "left_min[1] = 2" in result.message
    assert "only 1 columns" in result.message
    backend = {"side": "left", "index": 1, "minimum": 2, "allowed": 1}
    assert result.extra["backend_diagnosis"] == backend
    assert result.diagnosis.names == ("row 1 min 2",)
    assert np.isnan(result.objective)


def test_column_with_too_few_rows_is_named() -> None:
    s = np.array([[1.0, 1.0], [1.0, 1.0]])
    result = solve(s, right_min=[0, 2], right_capacity=2, left_capacity=[1, 0])
    assert result.status == "infeasible"
    assert "column 1" in result.message and "right_min[1] = 2" in result.message


def test_totals_that_cannot_fit_are_reported() -> None:
    s = np.ones((2, 3))
    result = solve(s, left_min=2, left_capacity=2, right_capacity=1)
    assert result.status == "infeasible"
    assert "rows' minimums (left_min) total 4" in result.message
    assert "at most 3" in result.message


def test_solver_infeasibility_is_reported_with_its_status() -> None:
    # Rows 0 and 1 can only use column 0 (capacity 1): Hall's condition fails, the cheap
    # per-row and total checks do not see it.
    s = np.array([[1.0, -np.inf], [1.0, -np.inf], [-np.inf, 1.0]])
    result = solve(s, left_min=[1, 1, 0])
    assert result.status == "infeasible"
    assert "SimpleMinCostFlow status INFEASIBLE" in result.message
    assert "left_min/right_min" in result.message


# --- dtypes, scaling, warnings -----------------------------------------------------------------


def test_integer_scores_are_exact_with_no_resolution() -> None:
    s = np.array([[3, 1], [2, 4]], dtype=np.int32)
    for method in ("auto", "flow"):
        result = solve(s, method=method)
        assert result.resolution is None and result.objective == 7.0
        assert result.scores.dtype == np.float64
    assert solve(s.astype(np.uint8)).objective == 7.0
    assert solve(s.astype(float)).resolution is None  # integer-valued floats too


def test_float_scores_report_a_power_of_two_resolution() -> None:
    s = np.array([[0.1, 0.2], [0.3, 0.05]])
    result = solve(s)
    assert result.resolution is not None and 0 < result.resolution < 1e-12
    assert np.log2(result.resolution) == int(np.log2(result.resolution))
    assert result.objective == 0.1 + 0.3 or result.objective == pytest.approx(0.5)


def test_scores_are_reported_as_given() -> None:
    s = np.array([[0.1, 0.7], [0.3, 0.2]], dtype=np.float32)
    result = solve(s)
    assert result.scores.tolist() == [np.float64(s[0, 1]), np.float64(s[1, 0])]
    assert result.objective == float(np.float64(s[0, 1]) + np.float64(s[1, 0]))


def test_objective_is_the_float_sum_not_the_rounded_one() -> None:
    s = np.array([[1 / 3, -np.inf], [-np.inf, 1 / 7]])
    result = solve(s)
    assert result.objective == 1 / 3 + 1 / 7


def test_precision_warning_when_distinct_scores_merge() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    # 100,000 nodes: the flow solver's safe cost range leaves a grid of ~7e-9, coarser than
    # the 1e-9 of the largest score below which differences count as float noise.
    n = 50_000
    s = sparse.coo_array(([1.0, 1.0 + 1e-9, 0.5], ([0, 1, 2], [0, 1, 2])), shape=(n, n))
    with pytest.warns(PrecisionWarning, match="distinct score values became equal"):
        result = solve(s.tocsr(), method="flow")
    assert result.success and result.resolution is not None and result.resolution > 1e-9
    huge = np.array([[2**62, 1], [2, 3]], dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = solve(huge, left_capacity=2, right_capacity=2)  # 1, 2, 3 are noise next to 2**62
        assert result.objective == float(2**62 + 1 + 2 + 3)
        solve(np.array([[1.5, 2.25], [3.0, 0.5]]))  # no information lost: no warning
        solve(np.array([[1e10, 1e-10], [2e-10, 1.0]]), method="flow", right_capacity=2)


@pytest.mark.parametrize(
    ("module", "method", "status_name"),
    [("flow", "flow", "BAD_COST_RANGE"), ("assignment", "assignment", "POSSIBLE_OVERFLOW")],
)
def test_solver_overflow_becomes_error_status(
    monkeypatch: pytest.MonkeyPatch, module: str, method: str, status_name: str
) -> None:
    # Defeat the guard on purpose: OR-Tools' own overflow check must surface as "error".
    import importlib

    backend = importlib.import_module(f"pbmatch.solvers.{module}")
    monkeypatch.setattr(backend, "max_safe_cost", lambda f: 2**62)
    if hasattr(backend, "PRICE_ROOM"):  # the room it keeps for exact dual prices
        monkeypatch.setattr(backend, "PRICE_ROOM", 2**70)
    result = match(np.array([[0.5, 1.0], [1.0, 0.25]]), method=method)
    assert result.status == "error" and not result.success
    assert status_name in result.message and "solver failure" in result.message
    assert len(result) == 0 and np.isnan(result.objective)
    with pytest.raises(SolverError, match=status_name):
        result.raise_for_status()


# --- determinism, methods, time limits ---------------------------------------------------------


def test_same_input_gives_identical_results() -> None:
    rng = np.random.default_rng(99)
    s = rng.choice([1.0, 2.0, 3.0, -np.inf], size=(40, 50))  # ties everywhere
    for kw in ({}, {"method": "flow"}, {"right_capacity": 2, "left_min": 1}):
        a, b = solve(s, **kw), solve(s.copy(), **kw)
        assert np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols)
        assert np.array_equal(a.scores, b.scores) and a.objective == b.objective
        assert (a.status, a.method, a.resolution, a.message) == (
            b.status,
            b.method,
            b.resolution,
            b.message,
        )


def test_auto_method_choice_is_recorded() -> None:
    rng = np.random.default_rng(1)
    assert solve(rng.random((30, 30))).method == "assignment"
    assert solve(rng.random((30, 60))).method == "flow"  # far from square
    assert solve(rng.random((30, 30)) - 0.9).method == "flow"  # mostly non-positive
    assert solve(rng.random((30, 30)), right_capacity=2).method == "flow"
    assert solve(sparse.random(30, 30, density=0.5, random_state=1)).method == "flow"
    result = solve(rng.random((30, 30)), method="flow")
    assert result.method == "flow" and result.message == "SimpleMinCostFlow status OPTIMAL"
    result = solve(rng.random((30, 30)), method="assignment")
    assert result.message == "SimpleLinearSumAssignment status OPTIMAL"


def test_auto_prices_from_candidates_on_large_dense_input() -> None:
    rng = np.random.default_rng(2)
    square = rng.random((400, 400))
    result = solve(square)
    assert result.method == "certified" and result.certified and result.rounds >= 1
    assert result.objective == pytest.approx(scipy_one_to_one(square), rel=1e-12)
    assert solve(rng.random((399, 399))).method == "assignment"  # below 160,000 pairs
    wide = rng.random((64, 64))  # 4,096 pairs that flow would solve: certified instead
    assert solve(wide, right_capacity=2).method == "certified"
    assert solve(rng.random((63, 64)), right_capacity=2).method == "flow"
    big_ints = np.full((500, 500), 2**60, dtype=np.int64)  # beyond exact float pricing
    assert solve(big_ints, right_capacity=2).method == "flow"
    with pytest.raises(InputError, match="sparse input"):
        match(sparse.csr_array(square), method="certified")


def test_every_successful_result_is_certified() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        n, m = rng.integers(0, 20, size=2)
        s = random_scores(rng, n, m)
        result = solve(s, right_capacity=int(rng.integers(1, 3)))
        assert result.certified and result.bound is not None
        assert result.bound >= result.objective - 1e-12


def test_assignment_method_refuses_what_it_cannot_solve() -> None:
    with pytest.raises(InputError, match=r"method='assignment'.*capacity is above 1"):
        match(np.ones((2, 2)), method="assignment", right_capacity=2)
    with pytest.raises(InputError, match="minimums"):
        match(np.ones((2, 2)), method="assignment", left_min=1)


def test_assignment_method_accepts_sparse_input() -> None:
    scores = sparse.csr_array(np.array([[0.0, 2.0], [3.0, 0.0], [1.0, 1.0]]))
    result = solve(scores, method="assignment")
    assert result.pairs == [(0, 1), (1, 0)] and result.objective == 5.0


@pytest.mark.parametrize("time_limit", [None, 0.5, 10, np.float64(3.0)])
def test_time_limit_is_accepted_and_ignored(time_limit: Any) -> None:
    assert solve(np.eye(3), time_limit=time_limit).objective == 3.0


def test_result_fields() -> None:
    result = solve(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert result.pairs == [(0, 0), (1, 1)]
    assert result.rows.dtype == np.intp and result.scores.dtype == np.float64
    assert result.wall_time >= 0 and result.success
    assert result.certified and result.bound == result.objective == 5.0  # integer scores: exact


# --- bad input: InputError (also ValueError) naming parameter, index and value -----------------


@pytest.mark.parametrize(
    ("scores", "kwargs", "fragments"),
    [
        (np.array([[1.0, 2.0], [3.0, np.nan]]), {}, ["scores[1, 1]", "nan", "-inf"]),
        (np.array([[1.0, np.inf]]), {}, ["scores[0, 1]", "inf", "finite"]),
        (np.array([[1.0, 2.0]]).astype(object), {}, ["scores", "dtype object"]),
        (np.array([[True, False]]), {}, ["scores", "dtype bool"]),
        (np.array([[1 + 2j]]), {}, ["scores", "complex"]),
        (np.array(["a", "b"]).reshape(1, 2), {}, ["scores", "<U1"]),
        (np.ones(3), {}, ["scores", "2-D", "(3,)"]),
        (np.ones((2, 2, 2)), {}, ["scores", "3-D"]),
        ([[1.0, 2.0], [3.0]], {}, ["scores", "2-D numeric"]),
        (np.ones((2, 3)), {"left_capacity": [1, 1, 1]}, ["left_capacity", "length 3", "2 rows"]),
        (np.ones((2, 3)), {"right_capacity": [1, 1]}, ["right_capacity", "length 2", "3 columns"]),
        (np.ones((2, 3)), {"left_capacity": [1, -2]}, ["left_capacity[1]", "-2", ">= 0"]),
        (np.ones((2, 3)), {"right_capacity": -1}, ["right_capacity is -1", ">= 0"]),
        (np.ones((2, 3)), {"right_capacity": [1, 1.5, 1]}, ["right_capacity[1]", "1.5", "whole"]),
        (np.ones((2, 3)), {"left_capacity": 2.5}, ["left_capacity is 2.5", "whole"]),
        (np.ones((2, 3)), {"left_capacity": [1, np.nan]}, ["left_capacity[1]", "nan"]),
        (np.ones((2, 3)), {"left_capacity": True}, ["left_capacity is True"]),
        (np.ones((2, 3)), {"left_capacity": "2"}, ["left_capacity", "dtype <U1"]),
        (np.ones((2, 3)), {"left_capacity": np.ones((2, 1))}, ["left_capacity", "(2, 1)"]),
        (np.ones((2, 3)), {"left_min": [0, -1]}, ["left_min[1]", "-1"]),
        (np.ones((2, 3)), {"right_min": [0, 2, 0]}, ["right_min[1] is 2", "right_capacity is 1"]),
        (
            np.ones((2, 3)),
            {"left_min": 2, "left_capacity": [3, 1]},
            ["left_min is 2", "left_capacity[1] is 1", "must not exceed"],
        ),
        (np.ones((2, 2)), {"time_limit": 0}, ["time_limit is 0", "> 0"]),
        (np.ones((2, 2)), {"time_limit": -1.0}, ["time_limit is -1.0"]),
        (np.ones((2, 2)), {"time_limit": float("nan")}, ["time_limit is nan"]),
        (np.ones((2, 2)), {"time_limit": "10"}, ["time_limit is '10'"]),
        (np.ones((2, 2)), {"time_limit": True}, ["time_limit is True"]),
        (
            np.ones((2, 2)),
            {"method": "hungarian"},
            ["'hungarian'", "'auto'", "'assignment'", "'flow'", "'certified'"],
        ),
        (np.ones((2, 2)), {"method": None}, ["method is None", "'flow'"]),
    ],
)
def test_bad_input_raises_input_error(
    scores: Any, kwargs: dict[str, Any], fragments: list[str]
) -> None:
    with pytest.raises(InputError) as info:
        match(scores, **kwargs)
    assert isinstance(info.value, ValueError)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_bad_sparse_input_names_row_and_column() -> None:
    scores = sparse.csr_array(
        (np.array([1.0, np.nan]), (np.array([0, 2]), np.array([1, 3]))), shape=(3, 4)
    )
    with pytest.raises(InputError, match=r"scores\[2, 3\] is nan"):
        match(scores)
    scores = sparse.csr_array((np.array([np.inf]), (np.array([1]), np.array([0]))), shape=(2, 2))
    with pytest.raises(InputError, match=r"scores\[1, 0\] is inf"):
        match(scores)
    with pytest.raises(InputError, match="dtype bool"):
        match(sparse.csr_array(np.eye(2, dtype=bool)))
