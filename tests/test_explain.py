"""``explain``: every margin and loss against re-solving with the pair forced out or in.

The reference re-solves the b-matching LP by HiGHS with the pair's variable fixed to 0 or 1
(integral: totally unimodular), and by brute force on tiny cases; nothing is shared with the
certificate or the shortest paths that ``explain`` uses.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

import pbmatch
from pbmatch.exceptions import InputError, SolverError
from pbmatch.explain import Explanation
from pbmatch.matching import match, match_blocks
from pbmatch.problems import pairing
from pbmatch.scoring.pairscore import PairScorer


def per(value: Any, size: int) -> np.ndarray:
    array = np.asarray(value, dtype=np.int64)
    return np.full(size, array) if array.ndim == 0 else array


def forced_lp(s: np.ndarray, pair: tuple[int, int], value: int, **kw: Any) -> float:
    """Best total with pair fixed to ``value`` (0 or 1); ``-inf`` when infeasible."""
    n, m = s.shape
    lcap, rcap = per(kw.get("left_capacity", 1), n), per(kw.get("right_capacity", 1), m)
    lmin, rmin = per(kw.get("left_min", 0), n), per(kw.get("right_min", 0), m)
    r, c = np.nonzero(np.isfinite(s))
    hit = np.flatnonzero((r == pair[0]) & (c == pair[1]))
    if value == 1 and hit.size == 0:
        return -math.inf
    if r.size == 0:
        return 0.0 if not (lmin.any() or rmin.any()) else -math.inf
    bounds = [(0.0, 1.0)] * r.size
    if hit.size:
        bounds[int(hit[0])] = (value, value)
    arcs = np.arange(r.size)
    a_row = sparse.csr_array((np.ones(r.size), (r, arcs)), shape=(n, r.size))
    a_col = sparse.csr_array((np.ones(r.size), (c, arcs)), shape=(m, r.size))
    res = linprog(
        -s[r, c],
        A_ub=sparse.vstack([a_row, -a_row, a_col, -a_col]).tocsr(),
        b_ub=np.concatenate([lcap, -lmin, rcap, -rmin]).astype(float),
        bounds=bounds,
        method="highs",
    )
    if res.status == 2:
        return -math.inf
    assert res.status == 0, res.message
    return float(-res.fun)


def forced_brute(s: np.ndarray, pair: tuple[int, int], value: int, **kw: Any) -> float:
    n, m = s.shape
    lcap, rcap = per(kw.get("left_capacity", 1), n), per(kw.get("right_capacity", 1), m)
    lmin, rmin = per(kw.get("left_min", 0), n), per(kw.get("right_min", 0), m)
    r, c = np.nonzero(np.isfinite(s))
    best = -math.inf
    for mask in itertools.product([0, 1], repeat=r.size):
        x = np.array(mask, dtype=bool)
        on = bool(np.any(x & (r == pair[0]) & (c == pair[1])))
        if on != bool(value):
            continue
        dr, dc = np.bincount(r[x], minlength=n), np.bincount(c[x], minlength=m)
        if ((dr <= lcap) & (dr >= lmin)).all() and ((dc <= rcap) & (dc >= rmin)).all():
            best = max(best, float(s[r[x], c[x]].sum()))
    return best


def random_case(rng: np.random.Generator, n: int, m: int) -> tuple[np.ndarray, dict[str, Any]]:
    kind = int(rng.integers(4))
    if kind == 0:
        s = rng.normal(size=(n, m))
    elif kind == 1:
        s = rng.integers(-3, 8, size=(n, m)).astype(float)
    elif kind == 2:
        s = rng.choice([0.0, 1.0, 2.5], size=(n, m))  # ties
    else:
        s = rng.random((n, m)) + 0.2
    s[rng.random((n, m)) < rng.uniform(0, 0.4)] = -np.inf
    kw: dict[str, Any] = {}
    if rng.random() < 0.6:
        kw["left_capacity"] = rng.integers(0, 3, size=n)
        kw["right_capacity"] = rng.integers(0, 3, size=m)
    if rng.random() < 0.4:
        kw["left_min"] = np.minimum(rng.integers(0, 2, size=n), per(kw.get("left_capacity", 1), n))
    if rng.random() < 0.25:
        kw["right_min"] = np.minimum(
            rng.integers(0, 2, size=m), per(kw.get("right_capacity", 1), m)
        )
    return s, kw


def check_pair(why: Explanation, objective: float, alternative: float, scale: float) -> None:
    expected = objective - alternative
    if math.isinf(expected):
        assert math.isinf(why.loss), (why, expected)
        return
    assert why.loss == pytest.approx(expected, rel=1e-9, abs=1e-9 * scale), (why, expected)
    assert why.alternative == pytest.approx(alternative, rel=1e-9, abs=1e-9 * scale)
    if why.reduced_score is not None:  # the prices' lower bound on the loss
        bound = why.reduced_score if why.chosen else -why.reduced_score
        assert bound <= why.loss + 1e-9 * scale
    assert len(why.leave) + len(why.join) >= 1


@pytest.mark.parametrize("method", ["auto", "flow", "certified"])
def test_every_pair_agrees_with_a_forced_lp(method: str) -> None:
    rng = np.random.default_rng({"auto": 31, "flow": 32, "certified": 33}[method])
    checked = 0
    for _ in range(70):
        n, m = (int(x) for x in rng.integers(1, 7, size=2))
        s, kw = random_case(rng, n, m)
        result = match(s, method=method, **kw)
        if not result.success:
            with pytest.raises(SolverError):
                result.explain(0, 0)
            continue
        scale = 1.0 + float(np.abs(s[np.isfinite(s)]).max(initial=0.0))
        for i, j in itertools.product(range(n), range(m)):
            why = result.explain(i, j)
            assert why.chosen == ((i, j) in result.pairs)
            if not why.allowed:
                assert math.isinf(why.loss) and not why.chosen
                continue
            alternative = forced_lp(s, (i, j), 0 if why.chosen else 1, **kw)
            check_pair(why, result.objective, alternative, scale)
            checked += 1
    assert checked > 400


def test_tiny_cases_agree_with_brute_force() -> None:
    rng = np.random.default_rng(34)
    for _ in range(120):
        n, m = (int(x) for x in rng.integers(1, 4, size=2))
        s, kw = random_case(rng, n, m)
        result = match(s, **kw)
        if not result.success:
            continue
        for i, j in itertools.product(range(n), range(m)):
            why = result.explain(i, j)
            if why.allowed:
                alternative = forced_brute(s, (i, j), 0 if why.chosen else 1, **kw)
                check_pair(why, result.objective, alternative, 10.0)


def test_loss_counts_pairs_that_were_never_candidates() -> None:
    # A 600 x 600 certified solve keeps ~10 candidates a row; explaining walks every pair.
    rng = np.random.default_rng(35)
    s = rng.random((600, 600))
    result = match(s, right_capacity=2, left_capacity=2)
    assert result.method == "certified" and result.certificate.n_candidates < 600 * 600 / 20
    chosen = set(result.pairs)
    for _ in range(12):
        i, j = (int(x) for x in rng.integers(0, 600, size=2))
        why = result.explain(i, j)
        alternative = result.objective - why.loss
        # Re-solve with the pair forced: forbid it (-inf) or give it a huge bonus.
        forced = s.copy()
        if (i, j) in chosen:
            forced[i, j] = -np.inf
            resolved = match(forced, right_capacity=2, left_capacity=2)
            again = resolved.objective
        else:
            forced[i, j] = 1e3
            resolved = match(forced, right_capacity=2, left_capacity=2)
            again = resolved.objective - 1e3 + s[i, j]
        assert ((i, j) in resolved.pairs) != ((i, j) in chosen)  # the pair really flipped
        assert alternative == pytest.approx(again, abs=1e-9)


def test_sparse_and_block_results_explain_too() -> None:
    rng = np.random.default_rng(36)
    for _ in range(20):
        n, m = (int(x) for x in rng.integers(2, 7, size=2))
        s, kw = random_case(rng, n, m)
        r, c = np.nonzero(np.isfinite(s))
        scores = sparse.csr_array((s[r, c], (r, c)), shape=(n, m))
        for result in (match(scores, **kw), match_blocks(lambda a, b, s=s: s[a:b], s.shape, **kw)):
            if not result.success:
                continue
            for i, j in itertools.product(range(n), range(m)):
                why = result.explain(i, j)
                if why.allowed:
                    alternative = forced_lp(s, (i, j), 0 if why.chosen else 1, **kw)
                    check_pair(why, result.objective, alternative, 10.0)


def test_explanation_fields_and_text() -> None:
    result = match(np.array([[3.0, 1.0], [2.0, 1.5]]))
    why = result.explain(0, 0)
    assert why.chosen and why.margin == pytest.approx(1.5) and why.displaced == []
    assert why.leave == [(0, 0), (1, 1)] and why.join == [(0, 1), (1, 0)]
    assert "chosen" in str(why) and "drops by 1.5" in str(why)
    why_not = result.explain(1, 0)
    assert not why_not.chosen and why_not.margin is None
    assert why_not.loss == pytest.approx(1.5) and why_not.displaced == [(0, 0), (1, 1)]
    assert why_not.reduced_score is not None and -why_not.reduced_score <= why_not.loss
    assert "displacing" in str(why_not)
    required = match(np.array([[1.0, -np.inf]]), left_min=1).explain(0, 0)
    assert required.chosen and math.isinf(required.loss) and "cannot be removed" in str(required)
    forbidden = match(np.array([[1.0, -np.inf]])).explain(0, 1)
    assert not forbidden.allowed and "not allowed" in str(forbidden)
    with pytest.raises(InputError, match="outside"):
        result.explain(2, 0)


def test_pairing_explain_speaks_ids_with_breakdowns() -> None:
    graph = pbmatch.synthetic_district(seed=2, n_streets=2)
    result = pbmatch.pair(graph)
    assert result.certified
    p, r = result.pairs[0]
    why = result.explain(p, r)
    assert (why.row, why.col, why.chosen) == (p, r, True)
    assert why.breakdown["score"] == pytest.approx(result.breakdown["score"][0])
    assert all(isinstance(a, str) and isinstance(b, str) for a, b in why.leave + why.join)
    assert why.margin is not None and why.margin >= 0
    # A pair left out: forced in, the best total drops by exactly its loss.
    scorer = PairScorer(graph, result.providers, result.receivers)
    dense = scorer.dense()
    rules = pairing_rules(graph, result)
    rng = np.random.default_rng(37)
    for _ in range(3):
        i = int(rng.integers(dense.shape[0]))
        j = int(rng.integers(dense.shape[1]))
        pid, rid = str(graph.ids[result.providers[i]]), str(graph.ids[result.receivers[j]])
        why = result.explain(pid, rid)
        assert why.breakdown["score"] == pytest.approx(dense[i, j])
        assert forced_pairing(dense, rules, i, j, why)
    with pytest.raises(InputError, match="not among the receivers"):
        result.explain(p, p)


def forced_pairing(dense: np.ndarray, rules: dict[str, Any], i: int, j: int, why: Any) -> bool:
    """Re-solve the pairing with pair (i, j) forced the other way; compare with ``why``."""
    forced = dense.copy()
    if why.chosen:
        forced[i, j] = -np.inf
        resolved = match(forced, **rules)
        again = resolved.objective if resolved.success else -math.inf
    else:
        if not np.isfinite(dense[i, j]):
            return math.isinf(why.loss)
        forced[i, j] = 1e3
        resolved = match(forced, **rules)
        assert (i, j) in resolved.pairs  # the bonus really forced it in
        again = resolved.objective - 1e3 + dense[i, j]
    if math.isinf(why.loss):
        return not resolved.success
    assert why.objective - why.loss == pytest.approx(again, abs=1e-7)
    return True


def pairing_rules(graph: Any, result: Any) -> dict[str, Any]:
    lcap = np.where(
        graph.max_partners[result.providers] >= 0, graph.max_partners[result.providers], 1
    )
    rcap = np.where(
        graph.max_partners[result.receivers] >= 0, graph.max_partners[result.receivers], 26
    )
    return {
        "left_capacity": lcap,
        "right_capacity": rcap,
        "left_min": graph.min_partners[result.providers],
        "right_min": graph.min_partners[result.receivers],
    }


@pytest.mark.parametrize("external", [False, True])
def test_pairing_at_scale_explains_like_a_forced_resolve(
    monkeypatch: pytest.MonkeyPatch, external: bool
) -> None:
    # Above DENSE_PAIRS the certificate comes from candidates and pricing (by blocks, or by
    # the bounds of an exact top-k with candidates held back from the first solves): its
    # explanations must still equal re-solving the dense problem with the pair forced.
    graph = pbmatch.synthetic_city(n_providers=160, n_receivers=120, n_districts=2, seed=9)
    dense = pbmatch.pair(graph)
    monkeypatch.setattr(pairing, "DENSE_PAIRS", 0)
    if external:
        monkeypatch.setattr(pairing, "SCALE_K", 3)
    else:
        monkeypatch.setattr(pairing, "_external_candidates", lambda scorer, k: None)
    scaled = pbmatch.pair(graph)
    assert scaled.match.method == "certified" and scaled.certified
    assert scaled.objective == pytest.approx(dense.objective, rel=1e-12)
    scorer = PairScorer(graph, scaled.providers, scaled.receivers)
    matrix = scorer.dense()
    rules = pairing_rules(graph, scaled)
    rng = np.random.default_rng(38)
    picks = [
        (int(a), int(b)) for a, b in zip(scaled.match.rows[:3], scaled.match.cols[:3], strict=True)
    ]
    picks += [
        (int(rng.integers(matrix.shape[0])), int(rng.integers(matrix.shape[1]))) for _ in range(5)
    ]
    for i, j in picks:
        pid, rid = str(graph.ids[scaled.providers[i]]), str(graph.ids[scaled.receivers[j]])
        why = scaled.explain(pid, rid)
        assert why.loss == pytest.approx(dense.explain(pid, rid).loss, abs=1e-9)
        assert forced_pairing(matrix, rules, i, j, why)
