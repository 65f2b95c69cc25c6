"""The certified backend and its proof, against independent references.

References: scipy's ``linear_sum_assignment`` (optional 1:1), ``lap.lapjv`` (square 1:1),
networkx max-weight matching on small bipartite graphs, and the b-matching LP by HiGHS
(integral: the constraint matrix is totally unimodular). Every proof is also re-checked here
from the raw certificate, pair by pair over the whole matrix, without pbmatch's own checks.
"""

from __future__ import annotations

import warnings
from typing import Any

import networkx as nx
import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linear_sum_assignment, linprog

from pbmatch._sorting import descending_order, group_ranks
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.matching import match, match_blocks
from pbmatch.results import MatchResult
from pbmatch.solvers import certified as cert_mod
from pbmatch.solvers.certified import ScoreSource, certify, solve_certified
from pbmatch.solvers.duals import FAR, compute_duals, dual_violations
from pbmatch.solvers.problem import BackendResult
from pbmatch.verify import check_match

RULES = ("left_capacity", "right_capacity", "left_min", "right_min")


def per(value: Any, size: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.int64)
    return np.full(size, array) if array.ndim == 0 else array


def lp_optimum(s: np.ndarray, **kw: Any) -> float | None:
    """The b-matching LP optimum by HiGHS; None when infeasible."""
    n, m = s.shape
    lcap, rcap = per(kw.get("left_capacity", 1), n), per(kw.get("right_capacity", 1), m)
    lmin, rmin = per(kw.get("left_min", 0), n), per(kw.get("right_min", 0), m)
    r, c = np.nonzero(np.isfinite(s))
    if r.size == 0:
        return 0.0 if not (lmin.any() or rmin.any()) else None
    arcs = np.arange(r.size)
    a_row = sparse.csr_array((np.ones(r.size), (r, arcs)), shape=(n, r.size))
    a_col = sparse.csr_array((np.ones(r.size), (c, arcs)), shape=(m, r.size))
    res = linprog(
        -s[r, c],
        A_ub=sparse.vstack([a_row, -a_row, a_col, -a_col]).tocsr(),
        b_ub=np.concatenate([lcap, -lmin, rcap, -rmin]).astype(float),
        bounds=(0, 1),
        method="highs",
    )
    if res.status == 2:
        return None
    assert res.status == 0, res.message
    return float(-res.fun)


def scipy_optional(s: np.ndarray) -> float:
    if 0 in s.shape:
        return 0.0
    w = np.where(np.isfinite(s), np.maximum(s, 0.0), 0.0)
    r, c = linear_sum_assignment(w, maximize=True)
    return float(w[r, c].sum())


def networkx_optional(s: np.ndarray) -> float:
    g = nx.Graph()
    for i, j in zip(*np.nonzero(np.isfinite(s) & (s > 0)), strict=True):
        g.add_edge(("r", int(i)), ("c", int(j)), weight=float(s[i, j]))
    mate = nx.max_weight_matching(g)
    return float(sum(g.edges[a, b]["weight"] for a, b in mate))


def random_scores(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """Normal, integer, tie-heavy, all-equal, positive or degenerate scores, some forbidden."""
    kind = int(rng.integers(6))
    if kind == 0:
        s = rng.normal(size=(n, m))
    elif kind == 1:
        s = rng.integers(-5, 10, size=(n, m)).astype(float)
    elif kind == 2:
        s = rng.choice([0.0, 1.0, 2.5], size=(n, m))
    elif kind == 3:
        s = np.full((n, m), float(rng.choice([1.0, 0.5, 0.0, -1.0])))
    elif kind == 4:
        s = rng.random((n, m)) + 0.1
    else:  # rank one: every assignment ties
        s = np.add.outer(rng.random(n), rng.random(m))
    s[rng.random((n, m)) < rng.uniform(0, 0.5)] = -np.inf
    return s


def random_rules(rng: np.random.Generator, n: int, m: int) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if rng.random() < 0.6:
        kw["left_capacity"] = rng.integers(0, 4, size=n)
        kw["right_capacity"] = rng.integers(0, 4, size=m)
    if rng.random() < 0.4:
        kw["left_min"] = np.minimum(rng.integers(0, 2, size=n), per(kw.get("left_capacity", 1), n))
    if rng.random() < 0.3:
        kw["right_min"] = np.minimum(
            rng.integers(0, 2, size=m), per(kw.get("right_capacity", 1), m)
        )
    return kw


def assert_proof(result: MatchResult, s: np.ndarray, **kw: Any) -> None:
    """Re-check the certificate from scratch over the whole matrix."""
    assert result.certified, result.message
    cert = result.certificate
    n, m = s.shape
    lcap = np.minimum(per(kw.get("left_capacity", 1), n), m)
    rcap = np.minimum(per(kw.get("right_capacity", 1), m), n)
    lmin, rmin = per(kw.get("left_min", 0), n), per(kw.get("right_min", 0), m)
    u, v = cert.duals.u, cert.duals.v
    chosen = np.zeros((n, m), dtype=bool)
    chosen[result.rows, result.cols] = True
    deg_r, deg_c = chosen.sum(axis=1), chosen.sum(axis=0)
    assert ((deg_r >= lmin) & (deg_r <= lcap)).all() and ((deg_c >= rmin) & (deg_c <= rcap)).all()
    for deg, low, top, price in ((deg_r, lmin, lcap, u), (deg_c, rmin, rcap, v)):
        live = top > 0
        assert not (live & (price > 0) & (deg < top)).any()
        assert not (live & (price < 0) & (deg > low)).any()
    allowed = np.isfinite(s) & (lcap > 0)[:, None] & (rcap > 0)[None, :]
    useful = allowed & ((s > 0) | (lmin > 0)[:, None] | (rmin > 0)[None, :])
    gains = np.rint(np.where(allowed, s, 0.0) * cert.scale).astype(np.int64)
    total = u[:, None].clip(-FAR, FAR) + v[None, :].clip(-FAR, FAR)
    assert not (useful & ~chosen & (gains > total)).any(), "an unchosen pair prices in"
    assert not (chosen & (gains < total)).any(), "a chosen pair prices out"
    if result.resolution is None:  # exact: no pair may gain more than the prices even unscaled
        assert not (useful & ~chosen & (np.where(allowed, s, 0) > total)).any()


def solve(s: np.ndarray, **kw: Any) -> MatchResult:
    result = match(s, **kw)
    check_match(result, s, **{k: v for k, v in kw.items() if k in RULES})
    return result


# --- optimality against references -------------------------------------------------------------


def test_one_to_one_matches_scipy_networkx_and_lap() -> None:
    lap = pytest.importorskip("lap")
    rng = np.random.default_rng(11)
    for trial in range(300):
        n, m = (int(x) for x in rng.integers(0, 14, size=2))
        if trial % 3 == 0:
            m = n
        s = random_scores(rng, n, m)
        result = solve(s, method="certified")
        expected = scipy_optional(s)
        assert result.objective == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert_proof(result, s)
        if trial < 60:
            assert result.objective == pytest.approx(networkx_optional(s), rel=1e-9, abs=1e-9)
        if n == m and n > 0 and np.isfinite(s).all() and (s > 0).all():
            _, x, _ = lap.lapjv(-s)
            assert result.objective == pytest.approx(s[np.arange(n), x].sum(), rel=1e-12)


def test_capacities_and_minimums_match_linprog() -> None:
    rng = np.random.default_rng(12)
    infeasible = 0
    for _ in range(600):
        n, m = (int(x) for x in rng.integers(1, 11, size=2))
        s = random_scores(rng, n, m)
        kw = random_rules(rng, n, m)
        expected = lp_optimum(s, **kw)
        result = solve(s, method="certified", **kw)
        if expected is None:
            infeasible += 1
            assert result.status == "infeasible" and not result.certified
            continue
        assert result.status == "optimal", result.message
        assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-9)
        assert_proof(result, s, **kw)
        assert result.bound is not None and result.bound >= expected - 1e-9
    assert 10 < infeasible < 300


@pytest.mark.parametrize("pricing", ["blocks", "bounds"])
def test_block_source_small_k_and_both_pricings(pricing: str) -> None:
    rng = np.random.default_rng(13 if pricing == "blocks" else 14)
    rounds = []
    for _ in range(500):
        n, m = (int(x) for x in rng.integers(0, 12, size=2))
        s = random_scores(rng, n, m)
        kw = random_rules(rng, n, m)
        expected = lp_optimum(s, **kw)
        source = ScoreSource(
            (n, m), block=lambda a, b, s=s: s[a:b], rows_per_block=int(rng.integers(1, 5))
        )
        names = (("left_capacity", 1, n), ("right_capacity", 1, m))
        names += (("left_min", 0, n), ("right_min", 0, m))
        caps = [per(kw.get(name, d), size).astype(np.int64) for name, d, size in names]
        raw = solve_certified(source, *caps, k=int(rng.integers(1, 4)), pricing=pricing)
        if expected is None:
            assert raw.status == "infeasible", raw.message
            continue
        assert raw.status == "optimal", raw.message
        assert float(raw.values.sum()) == pytest.approx(expected, rel=1e-7, abs=1e-9)
        rounds.append(raw.certificate.rounds)
    assert max(rounds) > 1  # pricing did add pairs


def test_given_candidates_are_checked_and_completed() -> None:
    rng = np.random.default_rng(15)
    for _ in range(150):
        n, m = (int(x) for x in rng.integers(2, 12, size=2))
        s = random_scores(rng, n, m)
        kw = random_rules(rng, n, m)
        expected = lp_optimum(s, **kw)
        p = int(rng.integers(0, n * m + 1))
        r, c = rng.integers(0, n, size=p), rng.integers(0, m, size=p)
        wrong = s[r, c] + rng.choice([0.0, 0.0, 1.0], size=p)  # some scores are stale
        result = match_blocks(lambda a, b, s=s: s[a:b], s.shape, candidates=(r, c, wrong), **kw)
        if expected is None:
            assert result.status == "infeasible"
            continue
        assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-9)
        assert np.array_equal(result.scores, s[result.rows, result.cols])
        assert_proof(result, s, **kw)


def test_medium_dense_problems_match_references() -> None:
    rng = np.random.default_rng(16)
    for n, m, kw in [
        (300, 300, {}),
        (250, 400, {}),
        (200, 500, {"right_capacity": 2, "left_capacity": 3}),
        (150, 300, {"left_min": 1, "right_capacity": 3}),
    ]:
        s = rng.random((n, m)) * 10 - 1
        s[rng.random((n, m)) < 0.2] = -np.inf
        result = solve(s, method="certified", **kw)
        expected = scipy_optional(s) if not kw else lp_optimum(s, **kw)
        assert result.objective == pytest.approx(expected, rel=1e-10)
        assert_proof(result, s, **kw)


def test_structured_scores_need_several_rounds() -> None:
    rng = np.random.default_rng(17)
    n = 400
    xy = rng.random((2 * n, 2))
    dist = np.linalg.norm(xy[:n, None] - xy[None, n:], axis=2)
    s = np.exp(-dist / 0.05) + 0.3 * rng.random((n, n)).round(1)
    result = solve(s, method="certified")
    assert result.rounds > 1 and result.priced > n * n
    assert result.objective == pytest.approx(scipy_optional(s), rel=1e-12)
    assert_proof(result, s)


# --- the proof on every path -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["auto", "assignment", "flow", "certified"])
def test_every_method_returns_a_checked_certificate(method: str) -> None:
    rng = np.random.default_rng(18)
    for _ in range(120):
        n, m = (int(x) for x in rng.integers(0, 10, size=2))
        s = random_scores(rng, n, m)
        kw = {} if method == "assignment" else random_rules(rng, n, m)
        result = solve(s, method=method, **kw)
        if result.success:
            assert_proof(result, s, **kw)
        else:
            assert not result.certified and result.certificate is None


def test_sparse_input_is_certified_without_pricing() -> None:
    rng = np.random.default_rng(19)
    for _ in range(60):
        n, m = (int(x) for x in rng.integers(1, 15, size=2))
        dense = random_scores(rng, n, m)
        r, c = np.nonzero(np.isfinite(dense))
        scores = sparse.csr_array((dense[r, c], (r, c)), shape=(n, m))
        result = match(scores, right_capacity=2)
        assert result.certified and result.priced == 0
        assert result.objective == pytest.approx(lp_optimum(dense, right_capacity=2), abs=1e-9)


def test_certify_rejects_a_suboptimal_answer() -> None:
    s = np.array([[3.0, 2.0], [2.0, 0.5]])
    result = match(s)
    assert result.pairs == [(0, 1), (1, 0)] and result.certified
    from pbmatch.matching import _match_iv

    problem, _ = _match_iv(s, 1, 1, 0, 0, None, "auto")
    worse = BackendResult(np.array([0]), np.array([0]), np.array([3.0]), "optimal", "a fake")
    proof = certify(problem, worse)
    assert proof is not None and not proof.certified and proof.duals is None


def test_duals_example_and_negative_cycle() -> None:
    rows, cols, gains = np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([3, 2, 2])
    one, zero = np.ones(2, np.int64), np.zeros(2, np.int64)
    best = np.array([False, True, True])
    duals = compute_duals(rows, cols, gains, best, one, one, zero, zero)
    assert duals is not None
    assert dual_violations(duals, rows, cols, gains, best, one, one, zero, zero) == []
    assert compute_duals(rows, cols, gains, ~best, one, one, zero, zero) is None


def test_assignment_fast_path_falls_back_when_perfect_is_not_optimal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Row 0 loves column 1; with one candidate a row, the diagonal completion forces a perfect
    # matching that an optional one beats: the prices find the negative cycle.
    s = np.array([[1.0, 10.0, 0.1], [0.1, 1.0, 0.1], [0.1, 0.1, 1.0]])
    calls: list[str] = []
    flow = cert_mod._solve_flow

    def spy(*args: Any) -> Any:
        calls.append("flow")
        return flow(*args)

    monkeypatch.setattr(cert_mod, "_solve_flow", spy)
    source = ScoreSource(s.shape, dense=s)
    one, zero = np.ones(3, np.int64), np.zeros(3, np.int64)
    raw = solve_certified(source, one, one, zero, zero, k=1)
    assert raw.status == "optimal" and float(raw.values.sum()) == pytest.approx(scipy_optional(s))
    assert raw.certificate.certified and calls


def test_minimums_that_candidates_cannot_meet_go_through_phase_one() -> None:
    # Row 0's best columns are 0 and 1 (k = 1 picks 0); rows 1 and 2 need column 0 and 1 too.
    s = np.array([[9.0, 8.0, 0.1], [5.0, -np.inf, -np.inf], [-np.inf, 5.0, -np.inf]])
    one, zero = np.ones(3, np.int64), np.zeros(3, np.int64)
    source = ScoreSource(s.shape, block=lambda a, b: s[a:b], rows_per_block=1)
    raw = solve_certified(source, one, one, one, zero, k=1)
    assert raw.status == "optimal"
    assert sorted(zip(raw.rows.tolist(), raw.cols.tolist(), strict=True)) == [
        (0, 2),
        (1, 0),
        (2, 1),
    ]
    # ... and a proof of infeasibility when no choice of pairs can meet them (rows 1 and 2
    # both need column 0, which takes one).
    s[2] = [5.0, -np.inf, -np.inf]
    raw = solve_certified(source, one, one, one, zero, k=1)
    assert raw.status == "infeasible" and "proved by pricing" in raw.message


def test_scaling_is_reported_when_non_candidates_are_fractional() -> None:
    # Integer candidates, a fractional pair outside them: the proof must not claim exactness.
    s = np.array([[5.0, 4.0, 0.0], [4.0, 5.0, 0.0], [0.0, 0.0, 3.5]])
    result = solve(s, method="certified")
    assert result.objective == 13.5 and result.resolution is not None
    assert_proof(result, s)


def test_bound_is_an_upper_bound_on_the_true_optimum() -> None:
    rng = np.random.default_rng(20)
    for _ in range(40):
        s = rng.random((30, 40)) / 3
        result = solve(s, method="certified", right_capacity=2)
        assert result.bound is not None
        assert result.objective <= lp_optimum(s, right_capacity=2) + 1e-12 <= result.bound + 1e-9
        assert result.bound - result.objective < 1e-9


def test_precision_warning_comes_through_the_certified_path() -> None:
    # 50,000 rows: the flow solver's safe cost range leaves a grid coarser than 1e-9 of the
    # largest score, so 1 and 1 + 1e-10 become one gain.
    n = 50_000
    small = np.full((n, 3), -np.inf)
    small[[0, 1, 2], [0, 1, 2]] = [1.0, 1.0 + 1e-10, 0.5]
    with pytest.warns(PrecisionWarning, match="distinct score values became equal"):
        result = match_blocks(lambda a, b: small[a:b], small.shape)
    assert result.certified and result.objective == pytest.approx(2.5, abs=1e-9)
    assert result.resolution is not None and result.resolution > 1e-9


def test_deterministic() -> None:
    rng = np.random.default_rng(21)
    s = rng.choice([1.0, 2.0, 3.0], size=(500, 450))  # ties everywhere
    a, b = match(s), match(s.copy())
    assert a.method == "certified"
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols)
    assert (a.rounds, a.priced, a.message) == (b.rounds, b.priced, b.message)


# --- match_blocks ------------------------------------------------------------------------------


def test_match_blocks_equals_match_and_reads_only_blocks() -> None:
    rng = np.random.default_rng(22)
    s = rng.random((120, 90))
    calls: list[tuple[int, int]] = []

    def block(a: int, b: int) -> np.ndarray:
        calls.append((a, b))
        return s[a:b]

    result = match_blocks(block, s.shape, right_capacity=2, left_min=1, rows_per_block=32)
    expected = match(s, right_capacity=2, left_min=1)
    assert result.objective == pytest.approx(expected.objective, rel=1e-12)
    assert result.certified and result.method == "certified"
    assert max(b - a for a, b in calls) <= 32
    assert result.explain(*result.pairs[0]).chosen


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"shape": (2,)}, "shape"),
        ({"shape": (-1, 2)}, "shape"),
        ({"candidates": ([0], [5], [1.0])}, "outside"),
        ({"candidates": ([0, 1], [0], [1.0])}, "lengths"),
        ({"candidates": ([0], [0], [np.nan])}, "nan"),
        ({"candidates": "pairs"}, "candidates"),
        ({"left_capacity": [1, 2, 3]}, "left_capacity"),
        ({"k": 0}, "k is 0"),
        ({"start": 0}, "start is 0"),
        ({"start": 1.5}, "start is 1.5"),
        ({"candidates": ([0], [0], [1.0]), "bounds": 0}, "bounds is 0"),
    ],
)
def test_match_blocks_bad_input(kwargs: dict[str, Any], text: str) -> None:
    s = np.ones((2, 3))
    shape = kwargs.pop("shape", s.shape)
    with pytest.raises(InputError, match=text):
        match_blocks(lambda a, b: s[a:b], shape, **kwargs)


def test_match_blocks_bad_block() -> None:
    s = np.ones((3, 3))
    with pytest.raises(InputError, match="shape"):
        match_blocks(lambda a, b: s[a:b, :2], s.shape)
    s[1, 2] = np.nan
    with pytest.raises(InputError, match=r"pair \(1, 2\)"):
        match_blocks(lambda a, b: s[a:b], s.shape)
    with pytest.raises(InputError, match="function"):
        match_blocks(s, s.shape)  # type: ignore[arg-type]


def test_empty_and_forbidden_everything() -> None:
    for shape in [(0, 0), (0, 5), (4, 0)]:
        result = match_blocks(lambda a, b, shape=shape: np.zeros((b - a, shape[1])), shape)
        assert result.status == "optimal" and result.certified and len(result) == 0
    s = np.full((5, 5), -np.inf)
    result = match_blocks(lambda a, b: s[a:b], s.shape)
    assert result.certified and len(result) == 0
    result = match_blocks(lambda a, b: s[a:b], s.shape, left_min=1)
    assert result.status == "infeasible"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert solve(np.zeros((400, 400))).certified


def test_verify_certificate_accepts_proofs_and_rejects_tampering() -> None:
    from dataclasses import replace

    from pbmatch.solvers.duals import Duals
    from pbmatch.verify import verify_certificate

    rng = np.random.default_rng(23)
    for _ in range(40):
        n, m = (int(x) for x in rng.integers(1, 30, size=2))
        s = random_scores(rng, n, m)
        kw = random_rules(rng, n, m)
        result = match(s, **kw)
        if not result.success:
            assert verify_certificate(result, s, **kw) != []
            continue
        assert verify_certificate(result, s, **kw) == []
    s = rng.random((200, 300))
    result = match(s, right_capacity=2)
    assert verify_certificate(result, s, right_capacity=2) == []
    assert verify_certificate(result, sparse.csr_array(s), right_capacity=2) == []
    cert = result.certificate
    low_u = replace(cert, duals=Duals(cert.duals.u - 2**40, cert.duals.v))
    broken = replace(result, certificate=low_u)
    assert any("would gain" in p for p in verify_certificate(broken, s, right_capacity=2))
    worse = s.copy()
    worse[0, 0] = 10.0  # a pair the prices never saw
    assert any("(0, 0)" in p for p in verify_certificate(result, worse, right_capacity=2))


def test_suspect_enumeration_finds_exactly_the_dominated_pairs() -> None:
    rng = np.random.default_rng(24)
    for _ in range(200):
        n, m = (int(x) for x in rng.integers(0, 50, size=2))
        u, v, a, b = rng.normal(size=n), rng.normal(size=m), rng.normal(size=n), rng.normal(size=m)
        a[rng.random(n) < 0.2] = -np.inf
        v[rng.random(m) < 0.1] = np.inf
        ii, jj = np.nonzero((v[None, :] <= a[:, None]) & (b[None, :] >= u[:, None]))
        expected = set(zip(ii.tolist(), jj.tolist(), strict=True))
        found: set[tuple[int, int]] = set()
        for r, c in cert_mod._suspect_chunks(u, v, a, b, cells=int(rng.integers(1, 300))):
            found |= set(zip(r.tolist(), c.tolist(), strict=True))
        assert found == expected


# --- candidates from a deeper top-k: start, known candidates, bounds ----------------------------


def exact_top(s: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The allowed pairs among the ``depth`` best of every row and column, sorted."""
    keep = np.zeros(s.shape, dtype=bool)
    finite = np.isfinite(s)
    filled = np.where(finite, s, -np.inf)
    for axis in (0, 1):
        rank = np.argsort(np.argsort(-filled, axis=axis, kind="stable"), axis=axis)
        keep |= rank < depth
    r, c = np.nonzero(keep & finite)
    return r, c, s[r, c]


def structured_scores(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """Distance decay plus noise in a narrow band (many near-ties), as pairing scores are."""
    a, b = rng.random((n, 2)), rng.random((m, 2))
    dist = np.linalg.norm(a[:, None] - b[None, :], axis=2)
    s = 1.0 + 0.3 * np.exp(-dist / 0.2) + 0.2 * rng.random((n, m))
    if rng.random() < 0.3:
        s = np.round(s, 1)  # ties
    s[rng.random((n, m)) < 0.1] = -np.inf
    return s


def test_start_known_candidates_and_deeper_bounds_are_exact() -> None:
    # The candidates are the exact top-`depth` of every row and column, the bounds their
    # depth-th scores; the solve starts from the `start` best and prices the rest of the
    # candidates from their scores and the pairs outside by the bounds. A pair between the
    # two depths that only the known-candidate pricing can catch must not be missed.
    rng = np.random.default_rng(41)
    checked = 0
    for trial in range(160):
        n, m = (int(x) for x in rng.integers(4, 40, size=2))
        s = structured_scores(rng, n, m) if trial % 2 else random_scores(rng, n, m)
        kw = random_rules(rng, n, m)
        expected = lp_optimum(s, **kw)
        depth = int(rng.integers(1, 6))
        r, c, v = exact_top(s, depth)
        # The bounds as arrays, or as the depth of the exact top-k (derived inside).
        bounds: Any = cert_mod.kth_best(r, c, v, depth, s.shape) if trial % 3 else depth
        start = int(rng.integers(1, depth + 1)) if trial % 5 else None
        result = match_blocks(
            lambda a, b, s=s: s[a:b],
            s.shape,
            candidates=(r, c, v),
            bounds=bounds,
            pair_scores=lambda i, j, s=s: s[i, j],
            k=int(rng.integers(1, 4)),
            start=start,
            **kw,
        )
        if expected is None:
            assert result.status == "infeasible", result.message
            continue
        assert result.status == "optimal", result.message
        assert result.objective == pytest.approx(expected, rel=1e-7, abs=1e-9)
        assert_proof(result, s, **kw)
        checked += 1
    assert checked > 100


def test_start_on_a_city_like_instance_equals_the_dense_optimum() -> None:
    # Receivers with minimums and providers with small capacities, as in synthetic_city:
    # several rounds, known candidates joining, suspects scored outside the candidates.
    rng = np.random.default_rng(42)
    n, m = 300, 260
    s = structured_scores(rng, n, m)
    s[np.isinf(s)] = 1.0
    kw = {
        "left_capacity": rng.integers(1, 4, size=n),
        "right_capacity": rng.integers(1, 6, size=m),
        "right_min": np.ones(m, dtype=np.int64),
    }
    expected = match(s, **kw).objective
    r, c, v = exact_top(s, 8)
    for start in (1, 2, 4, 8):
        result = match_blocks(
            lambda a, b: s[a:b],
            s.shape,
            candidates=(r, c, v),
            bounds=cert_mod.kth_best(r, c, v, 8, s.shape),
            pair_scores=lambda i, j: s[i, j],
            k=4,
            start=start,
            **kw,
        )
        assert result.objective == pytest.approx(expected, rel=1e-12)
        assert_proof(result, s, **kw)


def test_kth_best_and_best_of_groups_follow_their_definitions() -> None:
    from pbmatch.problems.pairing import topk_bounds

    rng = np.random.default_rng(43)
    for _ in range(300):
        n, m = (int(x) for x in rng.integers(1, 12, size=2))
        p = int(rng.integers(0, n * m + 1))
        keys = rng.choice(n * m, p, replace=False)
        r, c = keys // m, keys % m
        v = rng.integers(0, 4, p).astype(float)  # many ties
        k = int(rng.integers(1, 5))
        rb, cb = cert_mod.kth_best(r, c, v, k, (n, m))
        ref_r, ref_c = topk_bounds(r, c, v, (n, m), k)
        assert np.array_equal(rb, ref_r) and np.array_equal(cb, ref_c)
        mask = cert_mod.best_of_groups(r, c, v, k, (n, m))
        expected = np.zeros(p, dtype=bool)
        for group in (r, c):
            for g in np.unique(group):
                idx = np.flatnonzero(group == g)
                expected[idx[np.lexsort((idx, -v[idx]))][:k]] = True
        assert np.array_equal(mask, expected)


def test_compute_duals_detects_every_non_optimal_solution() -> None:
    # Prices exist exactly for optimal solutions: against the LP optimum, on random feasible
    # solutions (the optimum, and the optimum with pairs dropped or swapped), with negative
    # cycles far from the hub that only the parent-pointer check finds early.
    rng = np.random.default_rng(44)
    seen = {"optimal": 0, "not": 0}
    for _ in range(300):
        n, m = (int(x) for x in rng.integers(2, 25, size=2))
        s = random_scores(rng, n, m)
        kw = random_rules(rng, n, m)
        result = match(s, method="flow", **kw)
        if not result.success:
            continue
        r, c = np.nonzero(np.isfinite(s))
        gains = np.rint(np.where(np.isfinite(s), s, 0)[r, c] * 1024).astype(np.int64)
        caps = [
            np.minimum(per(kw.get("left_capacity", 1), n), m).astype(np.int64),
            np.minimum(per(kw.get("right_capacity", 1), m), n).astype(np.int64),
            per(kw.get("left_min", 0), n).astype(np.int64),
            per(kw.get("right_min", 0), m).astype(np.int64),
        ]
        base = np.zeros(r.size, dtype=bool)
        base[np.searchsorted(r * m + c, result.rows * m + result.cols)] = True
        for trial in range(4):
            chosen = base.copy()
            if trial:  # drop a chosen pair, or add an unchosen one where there is room
                flip = int(rng.integers(r.size))
                chosen[flip] = not chosen[flip]
            deg_r = np.bincount(r[chosen], minlength=n)
            deg_c = np.bincount(c[chosen], minlength=m)
            if (deg_r > caps[0]).any() or (deg_c > caps[1]).any():
                continue
            if (deg_r < caps[2]).any() or (deg_c < caps[3]).any():
                continue
            duals = compute_duals(r, c, gains, chosen, *caps)
            best = lp_optimum(np.where(np.isfinite(s), np.rint(s * 1024), -np.inf), **kw)
            value = float(gains[chosen].sum())
            if duals is None:
                assert best is not None and value < best - 1e-6
                seen["not"] += 1
            else:
                assert dual_violations(duals, r, c, gains, chosen, *caps) == []
                assert best is not None and value == pytest.approx(best, abs=1e-6)
                seen["optimal"] += 1
    assert seen["optimal"] > 100 and seen["not"] > 50


def test_compute_duals_finds_a_negative_cycle_away_from_the_hub_quickly() -> None:
    # Perfect matchings only (minimum = capacity = 1): no arc touches the hub, so a better
    # matching shows as a cycle among pairs, found by the parent pointers within rounds.
    rng = np.random.default_rng(45)
    n = 300
    s = rng.integers(0, 1000, size=(n, n)).astype(np.int64)
    r, c = (x.ravel() for x in np.indices((n, n)))
    ones = np.ones(n, dtype=np.int64)
    gains = s[r, c]
    best_r, best_c = linear_sum_assignment(s, maximize=True)
    for perm in (best_c, rng.permutation(n), np.roll(best_c, 1)):
        chosen = np.zeros(r.size, dtype=bool)
        chosen[np.arange(n) * n + perm] = True
        duals = compute_duals(r, c, gains, chosen, ones, ones, ones, ones)
        optimal = s[np.arange(n), perm].sum() == s[best_r, best_c].sum()
        assert (duals is not None) == optimal


def test_rank_helpers_equal_stable_sorts() -> None:
    # descending_order is a stable descending sort (ties in position order) however many ties;
    # group_ranks ranks within groups in that order on both of its paths (16-bit group
    # numbers by a radix sort, larger ones by one int64 key).
    rng = np.random.default_rng(47)
    for trial in range(400):
        p = int(rng.integers(0, 400))
        if trial % 3 == 0:
            v = rng.integers(0, 3, p).astype(float)  # mostly ties: the stable-sort path
        elif trial % 3 == 1:
            v = rng.integers(0, 10 * p + 1, p).astype(float)  # a few ties
        else:
            v = rng.random(p)
        if p and trial % 5 == 0:
            v[rng.integers(0, p, 3)] = -np.inf
        order = descending_order(v)
        assert np.array_equal(order, np.argsort(-v, kind="stable"))
        size = int(rng.integers(1, 40)) if trial % 2 else 70_000
        group = rng.integers(0, size, p)
        rank = group_ranks(group, order, size)
        expected = np.empty(p, dtype=np.int64)
        for g in np.unique(group):
            idx = np.flatnonzero(group == g)
            expected[idx[np.lexsort((idx, -v[idx]))]] = np.arange(idx.size)
        assert np.array_equal(rank, expected)


def test_unique_keys_and_pool_copy_given_candidates() -> None:
    keys = np.array([1, 4, 9], dtype=np.int64)
    same, first = cert_mod._unique_keys(keys)
    assert first is None and same is keys
    out, first = cert_mod._unique_keys(np.array([9, 1, 4, 1], dtype=np.int64))
    assert out.tolist() == [1, 4, 9] and first is not None and first.tolist() == [1, 2, 0]
    # Candidates already sorted and distinct (as top_k gives them) skip the sort; scores the
    # block pricing corrects are the pool's own copy, never the caller's arrays.
    rng = np.random.default_rng(5)
    s = rng.random((30, 25))
    r, c = np.nonzero(s > 0.8)
    given = s[r, c] - 0.5  # wrong scores: replaced from the blocks
    before = given.copy()
    kw: dict[str, Any] = {"right_capacity": 2}
    result = match_blocks(lambda a, b: s[a:b], s.shape, candidates=(r, c, given), **kw)
    assert np.array_equal(given, before)
    assert result.certified
    assert result.objective == pytest.approx(match(s, **kw).objective, rel=1e-12)
