"""pbmatch.stability against independent references: brute force and a plain Python greedy.

The references here share no code with the module: blocking pairs by the definition, pair by
pair; every matching of a tiny instance enumerated; the greedy stable matching walked pair by
pair. Every result is also checked with :func:`pbmatch.verify.verify_match` (capacities,
allowed pairs, objective).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

import pbmatch
from pbmatch.exceptions import InputError
from pbmatch.matching import match
from pbmatch.results import MatchResult
from pbmatch.stability import StabilityReport, blocking_pairs, stability_report, stable_match
from pbmatch.verify import verify_match

Pairs = list[tuple[int, int]]


# --- independent references -------------------------------------------------------------------


def per(value: Any, size: int) -> list[int]:
    array = np.asarray(value, dtype=np.int64)
    return [int(x) for x in (np.full(size, array) if array.ndim == 0 else array)]


def dense_of(scores: Any) -> np.ndarray:
    """Dense float scores, -inf where a sparse matrix stores nothing."""
    if sparse.issparse(scores):
        coo = sparse.coo_array(scores)
        coo.sum_duplicates()
        out = np.full(coo.shape, -np.inf)
        out[coo.row, coo.col] = coo.data
        return out
    return np.asarray(scores, dtype=np.float64)


def prefers(values: np.ndarray, a: int, b: int, ties: bool) -> bool:
    """Whether ``a`` is preferred to ``b`` by one unit with ``values`` (higher is better)."""
    if values[a] != values[b]:
        return bool(values[a] > values[b])
    return ties and a < b


def brute_blocking(
    scores: Any,
    pairs: Pairs,
    lcap: Any = 1,
    rcap: Any = 1,
    right: Any = None,
    ties: bool = False,
) -> Pairs:
    """Blocking pairs by the definition, one pair at a time."""
    s = dense_of(scores)
    r = s if right is None else dense_of(right)
    n, m = s.shape
    lc, rc = per(lcap, n), per(rcap, m)
    chosen = set(pairs)
    row_partners: dict[int, list[int]] = {i: [] for i in range(n)}
    col_partners: dict[int, list[int]] = {j: [] for j in range(m)}
    for i, j in pairs:
        row_partners[i].append(j)
        col_partners[j].append(i)
    out = []
    for i in range(n):
        for j in range(m):
            if (i, j) in chosen or not (math.isfinite(s[i, j]) and math.isfinite(r[i, j])):
                continue
            row_wants = len(row_partners[i]) < lc[i] or any(
                prefers(s[i], j, k, ties) for k in row_partners[i]
            )
            col_wants = len(col_partners[j]) < rc[j] or any(
                prefers(r[:, j], i, k, ties) for k in col_partners[j]
            )
            if row_wants and col_wants:
                out.append((i, j))
    return out


def all_matchings(
    scores: np.ndarray, lcap: list[int], rcap: list[int], right: Any = None
) -> list[Pairs]:
    """Every set of allowed pairs within the capacities."""
    r = scores if right is None else right
    allowed = [
        (i, j)
        for i in range(scores.shape[0])
        for j in range(scores.shape[1])
        if math.isfinite(scores[i, j]) and math.isfinite(r[i, j])
    ]
    out: list[Pairs] = []

    def grow(k: int, chosen: Pairs, left: list[int], right_left: list[int]) -> None:
        if k == len(allowed):
            out.append(list(chosen))
            return
        grow(k + 1, chosen, left, right_left)
        i, j = allowed[k]
        if left[i] and right_left[j]:
            left[i] -= 1
            right_left[j] -= 1
            chosen.append((i, j))
            grow(k + 1, chosen, left, right_left)
            chosen.pop()
            left[i] += 1
            right_left[j] += 1

    grow(0, [], list(lcap), list(rcap))
    return out


def python_greedy(scores: Any, lcap: Any = 1, rcap: Any = 1) -> Pairs:
    """Walk the pairs by (score descending, row, column); take those with room at both ends."""
    s = dense_of(scores)
    n, m = s.shape
    lc, rc = per(lcap, n), per(rcap, m)
    order = sorted(
        ((-s[i, j], i, j) for i in range(n) for j in range(m) if math.isfinite(s[i, j])),
    )
    taken = []
    for _, i, j in order:
        if lc[i] and rc[j]:
            lc[i] -= 1
            rc[j] -= 1
            taken.append((i, j))
    return sorted(taken)


def check(result: MatchResult, scores: Any, lcap: Any = 1, rcap: Any = 1) -> None:
    """Capacities, allowed pairs, sorted unique pairs and the objective, independently."""
    problems = verify_match(result, scores, left_capacity=lcap, right_capacity=rcap)
    assert not [p for p in problems if "no minimum needs it" not in p], problems


def random_instance(rng: np.random.Generator, n: int, m: int, *, levels: int = 0) -> np.ndarray:
    """Scores in [0, 1) (or integers 0..levels-1, many ties) with some pairs forbidden."""
    s = rng.integers(0, levels, (n, m)).astype(float) if levels else rng.random((n, m))
    s[rng.random((n, m)) < 0.25] = -np.inf
    return s


def random_matching(
    rng: np.random.Generator, s: np.ndarray, lcap: list[int], rcap: list[int]
) -> Pairs:
    """A random set of allowed pairs within the capacities."""
    lc, rc = list(lcap), list(rcap)
    pairs = []
    for i, j in zip(*np.nonzero(np.isfinite(s)), strict=True):
        if lc[i] and rc[j] and rng.random() < 0.5:
            lc[i] -= 1
            rc[j] -= 1
            pairs.append((int(i), int(j)))
    return pairs


def as_pairs(rows: np.ndarray, cols: np.ndarray) -> Pairs:
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


# --- blocking pairs ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(60))
def test_blocking_pairs_match_the_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = (int(x) for x in rng.integers(1, 7, 2))
    s = random_instance(rng, n, m, levels=3 if seed % 2 else 0)
    right = random_instance(rng, n, m, levels=3) if seed % 3 == 0 else None
    lcap = rng.integers(0, 3, n).tolist()
    rcap = rng.integers(0, 4, m).tolist()
    allowed = s if right is None else np.where(np.isfinite(right), s, -np.inf)
    pairs = random_matching(rng, allowed, lcap, rcap)
    rows = np.array([p[0] for p in pairs], dtype=int)
    cols = np.array([p[1] for p in pairs], dtype=int)
    order = rng.permutation(len(pairs))  # any order of the chosen pairs
    for ties in (False, True):
        got = blocking_pairs(
            s, rows[order], cols[order], left_capacity=lcap, right_capacity=rcap,
            right_scores=right, break_ties=ties,
        )  # fmt: skip
        assert as_pairs(*got) == brute_blocking(s, pairs, lcap, rcap, right, ties)
        # The same pairs from sparse input (absent entries forbid) and mixed inputs.
        spr = sparse.csr_array((s[np.isfinite(s)], np.nonzero(np.isfinite(s))), shape=s.shape)
        got_sparse = blocking_pairs(
            spr, rows, cols, left_capacity=lcap, right_capacity=rcap, right_scores=right,
            break_ties=ties,
        )  # fmt: skip
        assert as_pairs(*got_sparse) == as_pairs(*got)


def test_blocking_pairs_small_cases() -> None:
    s = np.array([[3.0, 2.0], [2.0, 1.0]])
    assert as_pairs(*blocking_pairs(s, [0, 1], [1, 0])) == [(0, 0)]
    assert as_pairs(*blocking_pairs(s, [0, 1], [0, 1])) == []
    # Nothing chosen: every allowed pair blocks (free slots on both sides).
    assert as_pairs(*blocking_pairs(s, [], [])) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    # Capacity 0 never blocks.
    assert as_pairs(*blocking_pairs(s, [], [], left_capacity=[0, 1])) == [(1, 0), (1, 1)]
    # Equal scores block only when ties are broken by index.
    t = np.array([[1.0, 1.0]])
    assert as_pairs(*blocking_pairs(t, [0], [1])) == []
    assert as_pairs(*blocking_pairs(t, [0], [1], break_ties=True)) == [(0, 0)]
    # A pair of negative score is still acceptable.
    assert as_pairs(*blocking_pairs(np.array([[-5.0]]), [], [])) == [(0, 0)]


def test_blocking_pairs_integer_scores_at_the_int64_limits() -> None:
    big = np.iinfo(np.int64).max
    s = np.array([[big, big - 1], [np.iinfo(np.int64).min, 0]], dtype=np.int64)
    assert as_pairs(*blocking_pairs(s, [0, 1], [1, 0])) == [(0, 0)]
    assert stable_match(s).pairs == [(0, 0), (1, 1)]
    assert stable_match(s, right_scores=s).pairs == [(0, 0), (1, 1)]


# --- stable matchings: brute force on tiny instances --------------------------------------------


@pytest.mark.parametrize("seed", range(80))
def test_deferred_acceptance_is_stable_and_proposer_optimal(seed: int) -> None:
    """Among every matching of a tiny instance, the DA result is stable and the proposers' best.

    Preferences are strict with the documented tie-breaking (lower index first), so each
    proposer compares partners by (score, -index). Proposers have capacity 1 on odd seeds
    (many-to-one, the hospitals/residents case) and up to 2 otherwise (many-to-many).
    """
    rng = np.random.default_rng(1000 + seed)
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    s = random_instance(rng, n, m, levels=3 if seed % 4 < 2 else 0)
    right = random_instance(rng, n, m, levels=3 if seed % 3 else 0)
    lcap = rng.integers(0, 3, n).tolist() if seed % 2 == 0 else [1] * n
    rcap = rng.integers(0, 3, m).tolist()
    both = np.where(np.isfinite(right), s, -np.inf)
    stable_sets = [
        set(p)
        for p in all_matchings(s, lcap, rcap, right)
        if not brute_blocking(s, p, lcap, rcap, right, ties=True)
    ]
    assert stable_sets  # a stable matching always exists
    for proposing in ("left", "right"):
        result = stable_match(
            s, left_capacity=lcap, right_capacity=rcap, right_scores=right, proposing=proposing
        )
        check(result, both, lcap, rcap)
        got = set(result.pairs)
        assert got in stable_sets
        assert not brute_blocking(s, result.pairs, lcap, rcap, right, ties=False)
        # Proposer-optimal: every proposer's k-th best partner is at least as good as its
        # k-th best in any stable matching (and the number of partners is the same).
        size = n if proposing == "left" else m

        def ranked(
            pairs: set[tuple[int, int]], p: int, proposing: str = proposing
        ) -> list[tuple[float, int]]:
            if proposing == "left":
                return sorted((-s[p, j], j) for i, j in pairs if i == p)
            return sorted((-right[i, p], i) for i, j in pairs if j == p)

        for other in stable_sets:
            for p in range(size):
                a, b = ranked(got, p), ranked(other, p)
                assert len(a) == len(b)
                assert all(x <= y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("seed", range(40))
def test_one_common_score_has_one_stable_matching_the_greedy(seed: int) -> None:
    rng = np.random.default_rng(2000 + seed)
    n, m = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    s = random_instance(rng, n, m, levels=3 if seed % 2 else 0)
    lcap, rcap = rng.integers(0, 3, n).tolist(), rng.integers(0, 3, m).tolist()
    stable_sets = [
        sorted(p)
        for p in all_matchings(s, lcap, rcap)
        if not brute_blocking(s, p, lcap, rcap, ties=True)
    ]
    assert stable_sets == [python_greedy(s, lcap, rcap)]
    assert stable_match(s, left_capacity=lcap, right_capacity=rcap).pairs == stable_sets[0]


# --- the fast path against deferred acceptance and the plain greedy ----------------------------


@pytest.mark.parametrize("seed", range(40))
def test_greedy_fast_path_agrees_with_deferred_acceptance(seed: int) -> None:
    """Sizes where the dense fast path works from candidates and grows them."""
    rng = np.random.default_rng(3000 + seed)
    n, m = int(rng.integers(5, 60)), int(rng.integers(5, 60))
    s = random_instance(rng, n, m, levels=4 if seed % 3 == 0 else 0)
    lcap = int(rng.integers(0, 3)) if seed % 2 else rng.integers(0, 4, n)
    rcap = rng.integers(0, 5, m) if seed % 2 else int(rng.integers(1, 6))
    expected = python_greedy(s, lcap, rcap)
    fast = stable_match(s, left_capacity=lcap, right_capacity=rcap)
    assert fast.method == "greedy"
    assert fast.pairs == expected
    check(fast, s, lcap, rcap)
    for proposing in ("left", "right"):
        da = stable_match(
            s, left_capacity=lcap, right_capacity=rcap, right_scores=s, proposing=proposing
        )
        assert da.method == "deferred_acceptance"
        assert da.pairs == expected
    spr = sparse.csr_array((s[np.isfinite(s)], np.nonzero(np.isfinite(s))), shape=s.shape)
    assert stable_match(spr, left_capacity=lcap, right_capacity=rcap).pairs == expected
    both_sparse = stable_match(spr, left_capacity=lcap, right_capacity=rcap, right_scores=spr)
    assert both_sparse.pairs == expected
    rows, _ = blocking_pairs(s, fast.rows, fast.cols, left_capacity=lcap, right_capacity=rcap)
    assert rows.size == 0


@pytest.mark.parametrize("shape", [(300, 40), (40, 300), (200, 200)])
def test_fast_path_on_larger_instances(shape: tuple[int, int]) -> None:
    """Many rows left out, many columns left out, square: candidates must grow correctly."""
    rng = np.random.default_rng(sum(shape))
    s = rng.random(shape)
    s[rng.random(shape) < 0.1] = -np.inf
    for lcap, rcap in ((1, 2), (2, 1), (1, 1), (3, 5)):
        fast = stable_match(s, left_capacity=lcap, right_capacity=rcap)
        da = stable_match(s, left_capacity=lcap, right_capacity=rcap, right_scores=s)
        assert fast.pairs == da.pairs
        ties = blocking_pairs(s, fast.rows, fast.cols, left_capacity=lcap, right_capacity=rcap,
                              break_ties=True)  # fmt: skip
        assert ties[0].size == 0


def test_sequential_finish_gives_the_same_matching(monkeypatch: pytest.MonkeyPatch) -> None:
    import pbmatch.stability as stability

    rng = np.random.default_rng(7)
    s, h = rng.random((120, 30)), rng.random((120, 30))
    s[rng.random(s.shape) < 0.2] = -np.inf
    results = []
    for below in (0, 8, 10**9):  # never, at the end, from the start
        monkeypatch.setattr(stability, "_SEQUENTIAL_BELOW", below)
        for proposing in ("left", "right"):
            r = stable_match(s, right_scores=h, right_capacity=5, proposing=proposing)
            results.append((proposing, r.pairs))
    assert results[0::2] == results[0::2][:1] * 3
    assert results[1::2] == results[1::2][:1] * 3


def test_stable_match_capacities_and_edges() -> None:
    s = np.array([[5.0, 4.0], [4.0, -np.inf]])
    assert stable_match(s).pairs == [(0, 0)]
    assert stable_match(s, right_capacity=2).pairs == [(0, 0), (1, 0)]
    assert stable_match(s, left_capacity=2, right_capacity=[0, 5]).pairs == [(0, 1)]
    assert stable_match(s, left_capacity=10**6, right_capacity=10**6).pairs == [
        (0, 0), (0, 1), (1, 0),
    ]  # fmt: skip
    for shape in ((0, 3), (3, 0), (0, 0)):
        for kw in ({}, {"right_scores": np.zeros(shape)}):
            r = stable_match(np.zeros(shape), **kw)
            assert r.pairs == [] and r.objective == 0.0 and r.success
    assert stable_match(np.full((3, 3), -np.inf)).pairs == []
    r = stable_match(np.array([[-1.0, -2.0]]))  # negative scores are acceptable
    assert r.pairs == [(0, 0)] and r.objective == -1.0


def test_stable_match_result_fields() -> None:
    s = np.array([[2, 1], [1, 2]])
    h = np.array([[1, 2], [2, 1]])
    r = stable_match(s, right_scores=h)
    assert r.status == "optimal" and r.success and r.method == "deferred_acceptance"
    assert r.pairs == [(0, 0), (1, 1)] and r.objective == 4.0
    assert r.scores.dtype == np.float64 and r.rows.dtype == np.intp
    assert r.extra["proposing"] == "left" and r.extra["proposals"] >= 2
    h_opt = stable_match(s, right_scores=h, proposing="right")
    assert h_opt.pairs == [(0, 1), (1, 0)] and "columns" in h_opt.message
    assert r.certificate is None and r.bound is None


@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(0, 2**32 - 1),
    st.integers(0, 3),
    st.integers(0, 3),
    st.booleans(),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_hypothesis_stable_and_agreeing(
    n: int, m: int, seed: int, lcap: int, rcap: int, ties: bool
) -> None:
    rng = np.random.default_rng(seed)
    s = random_instance(rng, n, m, levels=2 if ties else 0)
    right = random_instance(rng, n, m, levels=2 if ties else 0)
    fast = stable_match(s, left_capacity=lcap, right_capacity=rcap)
    assert fast.pairs == python_greedy(s, lcap, rcap)
    for proposing in ("left", "right"):
        r = stable_match(s, left_capacity=lcap, right_capacity=rcap, right_scores=right,
                         proposing=proposing)  # fmt: skip
        assert not brute_blocking(s, r.pairs, lcap, rcap, right, ties=True)
        got = blocking_pairs(s, r.rows, r.cols, left_capacity=lcap, right_capacity=rcap,
                             right_scores=right)  # fmt: skip
        assert got[0].size == 0


# --- mixed and sparse inputs --------------------------------------------------------------------


def test_sparse_and_mixed_inputs() -> None:
    rng = np.random.default_rng(11)
    s, h = rng.random((8, 6)), rng.random((8, 6))
    s[rng.random(s.shape) < 0.3] = -np.inf
    h[rng.random(h.shape) < 0.3] = -np.inf
    spr_s = sparse.csr_array((s[np.isfinite(s)], np.nonzero(np.isfinite(s))), shape=s.shape)
    spr_h = sparse.coo_matrix((h[np.isfinite(h)], np.nonzero(np.isfinite(h))), shape=h.shape)
    expected = stable_match(s, right_scores=h, right_capacity=2).pairs
    for a, b in ((spr_s, h), (s, spr_h), (spr_s, spr_h)):
        assert stable_match(a, right_scores=b, right_capacity=2).pairs == expected
    # An explicit zero in a sparse matrix is an allowed pair; an absent entry is not.
    z = sparse.csr_array((np.array([0.0]), (np.array([0]), np.array([1]))), shape=(1, 2))
    assert stable_match(z).pairs == [(0, 1)]
    assert as_pairs(*blocking_pairs(z, [], [])) == [(0, 1)]


# --- input validation --------------------------------------------------------------------------


def test_bad_input_raises_input_error() -> None:
    s = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(InputError, match=r"scores\[0, 1\] is nan"):
        stable_match(np.array([[1.0, np.nan]]))
    with pytest.raises(InputError, match=r"right_scores\[1, 0\] is inf"):
        stable_match(s, right_scores=np.array([[1.0, 2.0], [np.inf, 1.0]]))
    with pytest.raises(InputError, match="right_scores has shape"):
        stable_match(s, right_scores=np.ones((3, 2)))
    with pytest.raises(InputError, match="proposing"):
        stable_match(s, proposing="up")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="left_capacity"):
        stable_match(s, left_capacity=-1)
    with pytest.raises(InputError, match="right_capacity has length 3"):
        stable_match(s, right_capacity=[1, 1, 1])
    with pytest.raises(InputError, match="dtype"):
        stable_match(np.array([["a", "b"]]))
    with pytest.raises(InputError, match="2-D"):
        blocking_pairs(np.ones(3), [], [])
    with pytest.raises(InputError, match="outside"):
        blocking_pairs(s, [2], [0])
    with pytest.raises(InputError, match="listed twice"):
        blocking_pairs(s, [0, 0], [1, 1], left_capacity=2)
    with pytest.raises(InputError, match="not allowed"):
        blocking_pairs(np.array([[1.0, -np.inf]]), [0], [1])
    with pytest.raises(InputError, match=r"row 0 has 2 pairs but left_capacity\[0\] is 1"):
        blocking_pairs(s, [0, 0], [0, 1])
    with pytest.raises(InputError, match="one length"):
        blocking_pairs(s, [0, 1], [0])
    with pytest.raises(InputError, match="integer"):
        blocking_pairs(s, [0.5], [0])


# --- the report -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_report_on_match_results(seed: int) -> None:
    rng = np.random.default_rng(4000 + seed)
    s = random_instance(rng, 12, 9, levels=5 if seed % 2 else 0)
    lcap, rcap = 1, rng.integers(1, 3, 9)
    best = match(s, left_capacity=lcap, right_capacity=rcap)
    report = stability_report(best, scores=s, left_capacity=lcap, right_capacity=rcap, top=3)
    expected = brute_blocking(s, best.pairs, lcap, rcap)
    assert report.n_blocking == len(expected)
    worst = sorted(expected, key=lambda p: (-s[p], p))[:3]
    assert [(r, c) for r, c, _ in report.worst] == worst
    assert report.scores.tolist() == [s[p] for p in worst]
    stable = stable_match(s, left_capacity=lcap, right_capacity=rcap)
    assert report.stable.pairs == stable.pairs
    assert report.objective == pytest.approx(best.objective)
    assert report.difference == pytest.approx(best.objective - stable.objective)
    assert report.difference >= -1e-9  # the maximum total is at least the stable one's
    assert report.shared == len(set(best.pairs) & set(stable.pairs))
    assert report.pairs == len(best)
    assert report.is_stable == (not expected)
    everything = stability_report(best, scores=s, left_capacity=lcap, right_capacity=rcap, top=None)
    assert sorted((r, c) for r, c, _ in everything.worst) == expected
    text = report.summary()
    assert f"{report.n_blocking} blocking pair" in text or "Stable" in text
    assert "stable alternative" in text and repr(report).startswith("StabilityReport(")


def test_report_of_a_stable_result_is_clean() -> None:
    s = np.array([[10.0, 9.0], [9.0, 1.0]])
    stable = stable_match(s)
    report = stability_report(stable, scores=s)
    assert report.is_stable and report.n_blocking == 0 and report.worst == []
    assert report.difference == 0.0 and report.shared == 2
    assert report.summary().startswith("Stable: no blocking pair among the 2 pairs")
    # With the columns' own preferences and the columns proposing.
    h = np.array([[1.0, 2.0], [2.0, 1.0]])
    r = stability_report(stable_match(s, right_scores=h), scores=s, right_scores=h,
                         proposing="right")  # fmt: skip
    assert r.is_stable and r.stable.extra["proposing"] == "right"


def test_report_input_errors() -> None:
    s = np.array([[1.0]])
    result = match(s)
    with pytest.raises(InputError, match="scores is missing"):
        stability_report(result)
    with pytest.raises(InputError, match="top"):
        stability_report(result, scores=s, top=-1)
    with pytest.raises(InputError, match="pass a MatchResult"):
        stability_report("result", scores=s)  # type: ignore[arg-type]
    bad = match(s, right_min=[1], left_capacity=0)
    with pytest.raises(InputError, match="no solution"):
        stability_report(bad, scores=s)
    pairing = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    with pytest.raises(InputError, match="scores, left_capacity given for a PairingResult"):
        stability_report(pairing, scores=s, left_capacity=1)


@pytest.fixture(scope="module")
def district_pairing() -> Any:
    return pbmatch.pair(pbmatch.synthetic_district(seed=0))


def dense_pairing_scores(result: Any) -> np.ndarray:
    from pbmatch.scoring.pairscore import PairScorer

    scorer = PairScorer(
        result.graph, result.providers, result.receivers, result.weights, max_km=result.max_km
    )
    return scorer.dense()


def test_report_on_a_pairing(district_pairing: Any) -> None:
    result = district_pairing
    s = dense_pairing_scores(result)
    lcap, rcap = result.provider_max, result.receiver_max
    report = stability_report(result)
    assert isinstance(report, StabilityReport)
    expected = blocking_pairs(s, result.match.rows, result.match.cols, left_capacity=lcap,
                              right_capacity=rcap)  # fmt: skip
    assert report.n_blocking == expected[0].size > 0
    stable = stable_match(s, left_capacity=lcap, right_capacity=rcap)
    assert report.stable.pairs == stable.pairs
    assert report.objective == pytest.approx(result.objective)
    assert report.difference >= 0
    ids = result.graph.ids
    p, r, score = report.worst[0]
    assert p == ids[result.providers[report.rows[0]]] and r == ids[result.receivers[report.cols[0]]]
    assert score == s[report.rows[0], report.cols[0]] == report.scores.max()
    assert report.stable_pairs[0] == (
        ids[result.providers[stable.rows[0]]],
        ids[result.receivers[stable.cols[0]]],
    )


def test_report_on_a_pairing_block_by_block(
    district_pairing: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The large-instance path (no dense matrix) gives the same report as the dense one."""
    import pbmatch.problems.pairing as pairing
    import pbmatch.stability as stability

    dense = stability_report(district_pairing, top=None)
    monkeypatch.setattr(pairing, "DENSE_PAIRS", 0)
    monkeypatch.setattr(stability, "_BLOCK_PAIRS", 500)  # many blocks
    monkeypatch.setattr(stability, "_CANDIDATES_K", 1)  # few candidates: the loop must grow them
    blocks = stability_report(district_pairing, top=None)
    assert blocks.n_blocking == dense.n_blocking
    assert sorted(blocks.worst) == sorted(dense.worst)
    assert blocks.stable.pairs == dense.stable.pairs
    assert blocks.stable.objective == pytest.approx(dense.stable.objective)
    assert blocks.stable.extra["rounds"] >= 1
    top = stability_report(district_pairing, top=5)
    assert top.worst == dense.worst[:5] and top.n_blocking == dense.n_blocking


def test_report_on_a_pairing_with_max_km(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forbidden pairs (too far) never block, in the dense and the block-by-block paths."""
    import pbmatch.problems.pairing as pairing

    graph = pbmatch.synthetic_district(seed=1)
    result = pbmatch.pair(graph, max_km=2.0, receiver_max=3)
    s = dense_pairing_scores(result)
    dense = stability_report(result, top=None)
    for r, c in zip(dense.rows.tolist(), dense.cols.tolist(), strict=True):
        assert np.isfinite(s[r, c])
    monkeypatch.setattr(pairing, "DENSE_PAIRS", 0)
    blocks = stability_report(result, top=None)
    assert blocks.n_blocking == dense.n_blocking
    assert blocks.stable.pairs == dense.stable.pairs


def test_every_stable_set_is_found_by_brute_force_for_a_classic_instance() -> None:
    """The cyclic 3 x 3 example with three stable matchings (Gale and Shapley, 1962)."""
    # Men (rows) and women (columns); higher score = preferred. Every man's first choice
    # ranks him last, and so on round the cycle.
    men = np.array([[3, 2, 1], [1, 3, 2], [2, 1, 3]])
    women = np.array([[1, 2, 3], [3, 1, 2], [2, 3, 1]])
    stable_sets = [
        sorted(p)
        for p in all_matchings(men.astype(float), [1] * 3, [1] * 3, women.astype(float))
        if len(p) == 3 and not brute_blocking(men, p, 1, 1, women, ties=True)
    ]
    assert len(stable_sets) == 3
    assert stable_match(men, right_scores=women).pairs == [(0, 0), (1, 1), (2, 2)]
    assert stable_match(men, right_scores=women, proposing="right").pairs == [
        (0, 2), (1, 0), (2, 1),
    ]  # fmt: skip
    assert [(0, 1), (1, 2), (2, 0)] in stable_sets  # the third one, between the two
    # Each side gets its first choices when it proposes; the middle one gives both their
    # second choices: the total score of the men is 9, 6, 3 in the three.
    totals = sorted(sum(men[p] for p in pairs) for pairs in stable_sets)
    assert totals == [3, 6, 9]


def test_itertools_reference_enumerates_matchings() -> None:
    """The enumeration of the reference is itself right: 2 x 2, capacity 1 -> 7 matchings."""
    found = all_matchings(np.zeros((2, 2)), [1, 1], [1, 1])
    expected = [
        p
        for k in range(3)
        for p in itertools.combinations([(0, 0), (0, 1), (1, 0), (1, 1)], k)
        if len({i for i, _ in p}) == k and len({j for _, j in p}) == k
    ]
    assert sorted(map(sorted, found)) == sorted(map(sorted, map(list, expected)))
