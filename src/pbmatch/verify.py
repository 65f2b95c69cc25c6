"""Independent checks of solver output: feasibility and objective, recomputed from the input.

Each ``verify_*`` function takes a result and the input it was solved from, recomputes every
rule with plain numpy (sharing no code with the solvers), and returns the list of violations
(empty when the result is consistent). Each ``check_*`` function raises ``AssertionError`` with
that list instead. Optimality is not checked here: the tests compare with independent solvers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import WITH_SOLUTION
from pbmatch.results import MatchResult, PairingResult

__all__ = ["check_match", "verify_match", "verify_pairing"]

_STATUSES = frozenset({"optimal", "feasible", "infeasible", "not_solved", "error"})


def _per_unit(value: Any, size: int) -> npt.NDArray[np.int64]:
    array = np.asarray(value).astype(np.int64)
    return np.full(size, array, dtype=np.int64) if array.ndim == 0 else array


def _given_scores(
    scores: Any, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]
) -> tuple[tuple[int, int], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Shape, the given score of each (row, col) and whether the pair is allowed."""
    if hasattr(scores, "tocsr") and hasattr(scores, "nnz"):  # scipy.sparse, without importing it
        csr = scores.tocsr(copy=True)
        csr.sum_duplicates()  # sorted indices, duplicates summed as scipy does; zeros stay
        shape = (int(csr.shape[0]), int(csr.shape[1]))
        counts = np.diff(np.asarray(csr.indptr))
        keys = np.repeat(np.arange(shape[0], dtype=np.int64), counts) * shape[1]
        keys += np.asarray(csr.indices, dtype=np.int64)
        data = np.asarray(csr.data, dtype=np.float64)
        wanted = rows.astype(np.int64) * shape[1] + cols.astype(np.int64)
        if keys.size == 0:
            return shape, np.full(rows.shape, -np.inf), np.zeros(rows.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        found = keys[pos] == wanted
        values = np.where(found, data[pos], -np.inf)
        return shape, values, found & np.isfinite(values)
    dense = np.asarray(scores, dtype=np.float64)
    shape = (int(dense.shape[0]), int(dense.shape[1]))
    values = dense[rows, cols]
    return shape, values, np.isfinite(values)


def verify_match(
    result: MatchResult,
    scores: Any,
    *,
    left_capacity: Any = 1,
    right_capacity: Any = 1,
    left_min: Any = 0,
    right_min: Any = 0,
) -> list[str]:
    """Recompute every rule of a :func:`pbmatch.match` result from its input.

    Checks: the arrays are 1-D and of one length; pairs are in range, sorted by row then column
    and unique; every pair is allowed (a finite dense score or a stored sparse entry); the
    reported scores are the given ones; no row or column exceeds its capacity; with a solution,
    every minimum is met and a pair of score <= 0 sits only at a row or column with a minimum;
    ``objective`` is the sum of the chosen scores; without a solution, no pairs are reported.

    Parameters
    ----------
    result : MatchResult
        What :func:`pbmatch.match` returned.
    scores, left_capacity, right_capacity, left_min, right_min
        What it was called with.

    Returns
    -------
    list of str
        The violations, empty when the result is consistent.

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> scores = np.array([[1.0, 2.0], [3.0, -np.inf]])
    >>> verify_match(match(scores), scores)
    []
    >>> verify_match(match(scores), scores, right_capacity=0)
    ['column 0 has 1 pairs, above its capacity 0', 'column 1 has 1 pairs, above its capacity 0']
    """
    problems: list[str] = []
    rows = np.asarray(result.rows)
    cols = np.asarray(result.cols)
    chosen = np.asarray(result.scores, dtype=np.float64)
    if result.status not in _STATUSES:
        problems.append(f"unknown status {result.status!r}")
    if rows.ndim != 1 or cols.ndim != 1 or chosen.ndim != 1:
        return [*problems, "rows, cols and scores must be 1-D arrays"]
    if not (rows.size == cols.size == chosen.size):
        sizes = f"{rows.size}, {cols.size}, {chosen.size}"
        return [*problems, f"rows, cols and scores have different lengths {sizes}"]
    if rows.size and (rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu"):
        return [*problems, f"rows and cols must be integer arrays, got {rows.dtype}, {cols.dtype}"]
    rows, cols = rows.astype(np.intp), cols.astype(np.intp)

    if result.status not in WITH_SOLUTION:
        if rows.size:
            problems.append(f"status {result.status!r} but {rows.size} pairs reported")
        return problems

    shape = tuple(np.shape(scores)) if not hasattr(scores, "nnz") else tuple(scores.shape)
    n, m = int(shape[0]), int(shape[1])
    out = (rows < 0) | (rows >= n) | (cols < 0) | (cols >= m)
    if out.any():
        k = int(np.argmax(out))
        return [*problems, f"pair ({rows[k]}, {cols[k]}) is outside the {n} x {m} score matrix"]

    keys = rows.astype(np.int64) * m + cols.astype(np.int64)
    step = np.diff(keys)
    if (step < 0).any():
        k = int(np.argmax(step < 0))
        problems.append(f"pairs not sorted by row then column at position {k + 1}")
    sorted_keys = np.sort(keys)
    dup = sorted_keys[1:] == sorted_keys[:-1]
    if dup.any():
        key = int(sorted_keys[1:][dup][0])
        problems.append(f"pair ({key // m}, {key % m}) is chosen more than once")

    _, given, allowed = _given_scores(scores, rows, cols)
    for k in np.flatnonzero(~allowed)[:5]:
        problems.append(f"pair ({rows[k]}, {cols[k]}) is not allowed (score {given[k]})")
    wrong = allowed & (chosen != given)
    for k in np.flatnonzero(wrong)[:5]:
        problems.append(f"pair ({rows[k]}, {cols[k]}) reports score {chosen[k]}, given {given[k]}")

    lcap, rcap = _per_unit(left_capacity, n), _per_unit(right_capacity, m)
    lmin, rmin = _per_unit(left_min, n), _per_unit(right_min, m)
    row_count = np.bincount(rows, minlength=n)
    col_count = np.bincount(cols, minlength=m)
    for unit, count, cap, low in (
        ("row", row_count, lcap, lmin),
        ("column", col_count, rcap, rmin),
    ):
        for i in np.flatnonzero(count > cap)[:5]:
            problems.append(f"{unit} {i} has {count[i]} pairs, above its capacity {cap[i]}")
        for i in np.flatnonzero(count < low)[:5]:
            problems.append(f"{unit} {i} has {count[i]} pairs, below its minimum {low[i]}")

    needless = allowed & (given <= 0) & (lmin[rows] == 0) & (rmin[cols] == 0)
    for k in np.flatnonzero(needless)[:5]:
        problems.append(
            f"pair ({rows[k]}, {cols[k]}) has score {given[k]} <= 0 and no minimum needs it"
        )

    expected = math.fsum(np.where(allowed, given, 0.0).tolist())
    scale = math.fsum(np.abs(np.where(allowed, given, 0.0)).tolist())
    if not math.isclose(result.objective, expected, rel_tol=1e-12, abs_tol=1e-12 * scale):
        problems.append(f"objective {result.objective!r} but the chosen scores sum to {expected!r}")
    return problems


def check_match(result: MatchResult, scores: Any, **rules: Any) -> None:
    """Like :func:`verify_match`, but raise ``AssertionError`` listing the violations.

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> scores = np.eye(3)
    >>> check_match(match(scores), scores)
    """
    problems = verify_match(result, scores, **rules)
    if problems:
        raise AssertionError("match result violates its rules:\n  " + "\n  ".join(problems))


def verify_pairing(result: PairingResult) -> list[str]:
    """Recompute a pairing's feasibility, scores and objective from its graph.

    Checks that every pair joins a provider and a receiver of the solved sides, no unit with
    itself, no pair twice, each unit within its partner limits, every pair within ``max_km``,
    each breakdown equal to a fresh recomputation and summing to the score, and the objective
    equal to the sum of scores.

    Returns
    -------
    list of str
        The violations found; empty when the result is sound.

    Examples
    --------
    >>> import pbmatch
    >>> verify_pairing(pbmatch.pair(pbmatch.synthetic_district(seed=0)))
    []
    """
    from pbmatch.scoring.pairscore import PairScorer
    from pbmatch.scoring.weights import COMPONENTS

    problems: list[str] = []
    g = result.graph
    if not result.success:
        return problems if len(result) == 0 else [f"status {result.status} but {len(result)} pairs"]
    side_p = {int(u): k for k, u in enumerate(result.providers)}
    side_r = {int(u): k for k, u in enumerate(result.receivers)}
    p_units = np.array([g.index(u) for u in result.provider_ids.tolist()], dtype=np.int64)
    r_units = np.array([g.index(u) for u in result.receiver_ids.tolist()], dtype=np.int64)
    outside = [u for u in p_units.tolist() if u not in side_p] + [
        u for u in r_units.tolist() if u not in side_r
    ]
    if outside:
        return [f"units {g.ids[outside].tolist()} are not on the side they were paired from"]
    rows = np.array([side_p[u] for u in p_units.tolist()], dtype=np.int64)
    cols = np.array([side_r[u] for u in r_units.tolist()], dtype=np.int64)
    if (p_units == r_units).any():
        problems.append(f"self pairs: {g.ids[p_units[p_units == r_units]].tolist()}")
    keys = rows * max(1, result.receivers.size) + cols
    if np.unique(keys).size != keys.size:
        problems.append("a pair is chosen twice")
    for label, side_units, counts, cap in (
        (
            "provider",
            result.providers,
            np.bincount(rows, minlength=result.providers.size),
            result.provider_max,
        ),
        (
            "receiver",
            result.receivers,
            np.bincount(cols, minlength=result.receivers.size),
            result.receiver_max,
        ),
    ):
        over = np.flatnonzero(counts > cap)
        under = np.flatnonzero(counts < g.min_partners[side_units])
        problems += [
            f"{label} {g.ids[side_units[i]]!r} has {counts[i]} partners > max {cap[i]}"
            for i in over
        ]
        mins = g.min_partners[side_units]
        problems += [
            f"{label} {g.ids[side_units[i]]!r} has {counts[i]} partners < min {mins[i]}"
            for i in under
        ]
    fresh = PairScorer(g, result.providers, result.receivers, result.weights, max_km=result.max_km)
    redo = fresh.breakdown(rows, cols)
    if result.max_km is not None:
        far = np.flatnonzero(redo["distance_km"] > result.max_km)
        problems += [
            f"pair {g.ids[p_units[i]]!r}-{g.ids[r_units[i]]!r} is "
            f"{redo['distance_km'][i]:.2f} km apart > max_km {result.max_km}"
            for i in far
        ]
    for name in (*COMPONENTS, "score"):
        if not np.allclose(result.breakdown[name], redo[name], rtol=1e-9, atol=1e-12):
            problems.append(f"breakdown {name!r} differs from a fresh recomputation")
    total = sum((result.breakdown[c] for c in COMPONENTS), np.zeros(len(result)))
    if not np.allclose(total, result.breakdown["score"], rtol=1e-12, atol=1e-12):
        problems.append("breakdown components do not sum to the score")
    if not np.isclose(
        result.objective, float(result.breakdown["score"].sum()), rtol=1e-9, atol=1e-9
    ):
        problems.append(
            f"objective {result.objective} != sum of scores {result.breakdown['score'].sum()}"
        )
    return problems
