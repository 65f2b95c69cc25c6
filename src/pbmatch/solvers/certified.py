"""The ``certified`` backend: exact b-matching from sparse candidates, with a proof of optimality.

A dense ``n x m`` problem is solved on a few candidate pairs, then every other pair is *priced*
against dual prices of that solution; pairs that could improve it join the candidates and the
problem is solved again, until none can (column generation for the b-matching LP).

The loop
--------
1. Candidates: given (rows, cols, scores), or the top ``k`` pairs of every row and of every
   column (:func:`dense_candidates`, :func:`block_candidates`). Only useful pairs are kept: a
   pair is useful when it is allowed, its row and column have capacity > 0, and its score is
   > 0 or its row or column has a minimum (any other pair can be dropped from any solution
   without loss, see :meth:`~pbmatch.solvers.problem.MatchProblem.candidate_pairs`).
2. Scale the candidates' scores to integer gains ``g = round(score * scale)``
   (:mod:`pbmatch.solvers.scaling`, one power-of-two scale for every pair, never truncated).
3. Solve the candidate problem exactly with OR-Tools: ``SimpleLinearSumAssignment`` when it is a
   square 1:1 problem without minimums (a perfect matching of the candidates, several times
   faster), else ``SimpleMinCostFlow`` (:func:`pbmatch.solvers.flow.solve_network`).
4. Dual prices ``u`` (rows) and ``v`` (columns) of the solution by shortest paths in its residual
   graph (:func:`pbmatch.solvers.duals.compute_duals`), re-checked condition by condition
   (:func:`~pbmatch.solvers.duals.dual_violations`). A perfect matching that is not optimal
   for optional pairs shows as a negative cycle, and min-cost flow solves it instead.
5. Price every pair block by block: a useful pair that is not a candidate *violates* when
   ``round(score * scale) > u_i + v_j`` (its reduced gain is positive). The ``k`` most
   violating pairs of every row and of every column join the candidates (partial pricing:
   a loose first dual can flag millions of pairs, and a few per row suffice for progress);
   scores of candidates read from a callback are checked against its blocks on the way.
   Stop when a full pass finds none, else go to 2.

Pricing by bounds instead of blocks: when every pair left out is known to score at most
``row_bound[i]`` and at most ``col_bound[j]`` (the ``k``-th best of its row and column, for an
exact top-``k`` candidate set), only the pairs with ``min(row_bound[i], col_bound[j]) * scale >
u_i + v_j`` can violate. These *suspects* are enumerated without an ``n x m`` pass (columns
sorted by price, one prefix a row) and scored exactly (``pair_scores``), each once over all
rounds (:func:`_price_bounded`). With the exact top 40 of every row and column they were
0.1% of the pairs of a 50,000 x 50,000 synthetic city (2.8 million). This is how
:func:`pbmatch.pair` certifies a city without its score matrix.

Fewer and smaller solves (``start``): the solve may start from only the ``start`` best
candidates of every row and column; the others, and every suspect once scored, are *known*
pairs, priced from their scores at the start of each round (one vectorised pass) before any
pair is scored, and bounds or blocks price the rest only once the known pairs price out.
Pricing adds the violators and, ahead of the next prices, up to ten times as many of the
non-violators with the highest reduced gains (a round saved is a solve saved). After pairs
are added, the last solution is first re-priced on the larger candidate set: it often stays
optimal (only the prices move), and then no solve is needed. None of this changes what is
proved: the last round prices every pair, known, suspect or bounded, with the same prices.

Minimums the candidates cannot meet (the candidate problem is infeasible) start a first phase
(:func:`_phase_one`): "meet the minimums with as few artificial pairs as possible", priced the
same way, adds pairs until they can be met, or proves over every pair that they cannot
(``infeasible``, with the shortfall).

What is proved
--------------
When the loop stops, ``certified`` is True and the returned pairs are optimal for the *full*
dense problem with every score replaced by its rounded gain: the prices satisfy complementary
slackness with the solution on every candidate pair (step 4) and on every other useful pair
(step 5), so with arc duals ``w_e = max(0, g_e - u_i - v_j)`` they form a dual solution of the
b-matching LP over all useful pairs whose value equals the solution's total gain; by weak
duality no solution, even fractional, gains more. The signs of the prices carry the
capacities and the minimums (a positive price only at a full row or column, a negative one only
at a row or column at its minimum), which is why the test ``g_e > u_i + v_j`` is the exact
LP-dual condition with optional pairs, capacities and minimums. Pairs that are not useful
(score <= 0, no minimum at either end) are left out by the exchange argument of step 1.
When the scores were used unscaled (``resolution`` None: whole numbers that fit), pricing also
brings in any useful pair whose score is not a whole number, so that the next round scales and
the claim of exactness covers every pair, not only the candidates.

In true scores the total is within ``resolution x F`` of the optimum, ``F`` the most pairs a
solution can have, since each gain is within ``resolution / 2`` of its score; ``bound`` is an
upper bound on the true optimum, ``sum(g) * resolution + F * resolution / 2``. With integer
scores that fit (``resolution`` None) the proof is exact.

Prices are int64 and exact. The pricing pass first keeps the pairs with
``score >= (u_i + v_j + 1/2) * resolution`` in floats (exact while the prices stay below
``2**50``, as they do for the solver's overflow-safe costs on all but tiny problems; otherwise
with a margin that makes it a superset), then re-checks those in int64.

The same machinery certifies the answer of any other backend (:func:`certify`): the solution
is known, so only the prices are computed and every pair priced (no re-solve), and a sparse
input needs no pricing at all (every allowed pair is a candidate).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._sorting import descending_order, group_ranks
from pbmatch._status import ERROR, INFEASIBLE, OPTIMAL, WITH_SOLUTION, Status
from pbmatch.exceptions import InputError
from pbmatch.solvers.duals import FAR, Duals, compute_duals, dual_violations
from pbmatch.solvers.problem import Backend, BackendResult, MatchProblem, empty_result
from pbmatch.solvers.scaling import (
    PRICE_ROOM,
    Scaling,
    choose_scale,
    max_safe_cost,
    scale_scores,
)

__all__ = [
    "BACKEND",
    "DEFAULT_K",
    "Certificate",
    "ScoreSource",
    "best_of_groups",
    "block_candidates",
    "certify",
    "dense_candidates",
    "kth_best",
    "solve",
    "solve_certified",
    "unsupported",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
BlockFn = Callable[[int, int], Any]
PairFn = Callable[[Any, Any], Any]

DEFAULT_K = 4
"""Candidates per row and per column picked from a dense matrix."""
BLOCK_ELEMENTS = 1 << 20
"""Pairs priced at a time (8 MB of float64 scores)."""
_FLOAT_EXACT = 1 << 53
_EXACT_PRICE = 1 << 50
_CLIP = float(1 << 61)
_SOLVER_LSA = "SimpleLinearSumAssignment"


# --- where scores come from --------------------------------------------------------------------


class ScoreSource:
    """Rows of a score matrix: a dense array, a ``block(start, stop)`` callback, or sparse pairs.

    Parameters
    ----------
    shape : (int, int)
        ``(n_rows, n_cols)``.
    dense : ndarray, optional
        The whole matrix (float64, or int64 within ``2**53``); ``-inf`` forbids a pair.
    block : callable, optional
        ``block(start, stop)`` returns rows ``start:stop`` as a float array of shape
        ``(stop - start, n_cols)``; ``-inf`` forbids a pair.
    sparse : (rows, cols, values), optional
        The allowed pairs, sorted by row then column (every other pair is forbidden).
    rows_per_block : int, optional
        Rows per call; default about :data:`BLOCK_ELEMENTS` pairs.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        dense: npt.NDArray[Any] | None = None,
        block: BlockFn | None = None,
        sparse: tuple[Any, Any, Any] | None = None,
        rows_per_block: int | None = None,
    ) -> None:
        if sum(x is not None for x in (dense, block, sparse)) != 1:
            raise ValueError("give exactly one of dense, block and sparse")
        self.shape = (int(shape[0]), int(shape[1]))
        self.dense = dense
        self._block = block
        self._sparse = sparse
        m = self.shape[1]
        self.rows_per_block = rows_per_block or max(1, BLOCK_ELEMENTS // max(m, 1))
        self.calls = 0

    @property
    def is_sparse(self) -> bool:
        """True when the source lists its allowed pairs (nothing else to price)."""
        return self._sparse is not None

    def block(self, start: int, stop: int) -> F64:
        """Rows ``start:stop`` as a C-contiguous float64 array.

        Raises
        ------
        InputError
            A callback returned the wrong shape, NaN or ``+inf``.
        """
        self.calls += 1
        n_cols = self.shape[1]
        if self.dense is not None:
            out = self.dense[start:stop]
            return out if out.dtype == np.float64 else out.astype(np.float64)
        if self._sparse is not None:
            rows, cols, values = self._sparse
            lo, hi = np.searchsorted(rows, [start, stop])
            dense = np.full((stop - start, n_cols), -np.inf)
            dense[rows[lo:hi] - start, cols[lo:hi]] = values[lo:hi]
            return dense
        assert self._block is not None
        out = np.ascontiguousarray(self._block(start, stop), dtype=np.float64)
        if out.shape != (stop - start, n_cols):
            raise InputError(
                f"block({start}, {stop}) returned shape {out.shape}; "
                f"expected {(stop - start, n_cols)}"
            )
        top = out.max() if out.size else 0.0
        if not top < np.inf:  # NaN or +inf somewhere
            bad = ~(out < np.inf)
            i, j = np.unravel_index(int(np.argmax(bad)), out.shape)
            raise InputError(
                f"block({start}, {stop}) gave score {out[i, j]} for pair ({start + i}, {j}); "
                "scores must be finite, or -inf to forbid a pair"
            )
        return out

    def row(self, i: int) -> F64:
        """Row ``i`` (every column), ``-inf`` where forbidden."""
        out: F64 = self.block(i, i + 1)[0]
        return out

    def ranges(self) -> list[tuple[int, int]]:
        """The consecutive ``(start, stop)`` row ranges of one pass."""
        n, step = self.shape[0], self.rows_per_block
        return [(s, min(s + step, n)) for s in range(0, n, step)]


# --- initial candidates ------------------------------------------------------------------------


def _kth_of_groups(groups: F64, k: int, axis: int = 1) -> F64:
    """Along ``axis`` of ``groups``, the ``k``-th largest entry (``-inf`` if there are fewer)."""
    width = groups.shape[axis]
    if k > width:
        return np.full(groups.shape[1 - axis], -np.inf)
    kth: F64 = np.take(np.partition(groups, width - k, axis=axis), width - k, axis=axis)
    return kth


def _group_max(a: F64, n_groups: int, axis: int) -> F64:
    """Elementwise max of ``n_groups`` consecutive slices of ``a`` along ``axis``.

    Entry ``t`` of the result is the max over the positions ``t, t + w, t + 2w, ...`` along
    ``axis`` (``w`` the slice width), so every entry of ``a`` is in exactly one group.
    """
    size = a.shape[axis]
    width = -(-size // n_groups)

    def take(start: int, stop: int) -> F64:
        return a[:, start:stop] if axis == 1 else a[start:stop]

    out = np.array(take(0, width), dtype=np.float64)
    for start in range(width, size, width):
        part = take(start, min(start + width, size))
        sub = out[:, : part.shape[1]] if axis == 1 else out[: part.shape[0]]
        np.maximum(sub, part, out=sub)
    return out


def _useful_thresholds(
    t_row: F64, t_col: F64, lcap: I64, rcap: I64, lmin: I64, rmin: I64
) -> tuple[F64, F64]:
    """Thresholds that also exclude useless pairs (score <= 0 at a row or column with no minimum,
    forbidden pairs, and rows or columns with capacity 0)."""
    tiny = np.nextafter(0.0, 1.0)
    lowest = -np.finfo(np.float64).max
    t_row = np.where(lmin > 0, np.maximum(t_row, lowest), np.maximum(t_row, tiny))
    t_col = np.where(rmin > 0, np.maximum(t_col, lowest), np.maximum(t_col, tiny))
    return np.where(lcap > 0, t_row, np.inf), np.where(rcap > 0, t_col, np.inf)


def _mask_pairs(source: ScoreSource, t_row: F64, t_col: F64) -> tuple[I64, I64, F64]:
    """Pairs with ``score >= t_row[i]`` or ``score >= t_col[j]``, sorted by row then column."""
    m = source.shape[1]
    out_r, out_c, out_s = [], [], []
    for start, stop in source.ranges():
        b = source.block(start, stop)
        hit = np.flatnonzero((b >= t_row[start:stop, None]) | (b >= t_col[None, :]))
        out_r.append(hit // m + start)
        out_c.append(hit % m)
        out_s.append(b.reshape(-1)[hit])
    return _cat(out_r, np.int64), _cat(out_c, np.int64), _cat(out_s, np.float64)


def _cat(parts: list[Any], dtype: Any) -> Any:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def dense_candidates(
    scores: npt.NDArray[Any],
    k: int,
    lcap: I64,
    rcap: I64,
    lmin: I64,
    rmin: I64,
) -> tuple[I64, I64, F64, F64, F64]:
    """The useful pairs among the top ``k`` of every row and every column of a dense matrix.

    Each row's threshold is the ``k``-th largest of the maxima of 8 interleaved column groups
    (one vectorised pass, no sort of the whole row): at least the row's top ``k`` pairs pass,
    and at most ``8 k``. The same for columns with row groups. Sorted by row then column.

    Returns ``rows, cols, scores`` and the thresholds ``row_bound``, ``col_bound``: every
    useful pair left out scores below both of its row's and its column's.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[5.0, 1.0, 0.5], [4.0, 3.0, -np.inf]])
    >>> one, zero = np.ones(2, np.int64), np.zeros(2, np.int64)
    >>> r, c, v, *_ = dense_candidates(s, 1, one, np.ones(3, np.int64), zero, np.zeros(3, np.int64))
    >>> list(zip(r.tolist(), c.tolist()))
    [(0, 0), (0, 2), (1, 0), (1, 1)]
    """
    n, m = scores.shape
    s = scores if scores.dtype == np.float64 else scores.astype(np.float64)
    if n == 0 or m == 0:
        z = np.zeros(0, np.int64)
        return z, z.copy(), np.zeros(0), np.full(n, -np.inf), np.full(m, -np.inf)
    t_row = _kth_of_groups(_group_max(s, 8, axis=1), k)
    t_col = _kth_of_groups(_group_max(s, 8, axis=0), k, axis=0)
    t_row, t_col = _useful_thresholds(t_row, t_col, lcap, rcap, lmin, rmin)
    return (*_mask_pairs(ScoreSource((n, m), dense=s), t_row, t_col), t_row, t_col)


def block_candidates(
    source: ScoreSource, k: int, lcap: I64, rcap: I64, lmin: I64, rmin: I64
) -> tuple[I64, I64, F64, F64, F64]:
    """:func:`dense_candidates` through ``source.block``, in one pass: the exact top ``k``.

    Each block gives its rows' ``k`` best pairs (``argpartition``) and updates every column's
    ``k`` best so far. Returns the useful pairs among both, sorted, and the ``k``-th best score
    of every row and column as bounds on the pairs left out (``-inf`` when a row or column
    has at most ``k`` pairs).
    """
    n, m = source.shape
    if n == 0 or m == 0:
        z = np.zeros(0, np.int64)
        return z, z.copy(), np.zeros(0), np.full(n, -np.inf), np.full(m, -np.inf)
    kr, kc = min(k, m), min(k, n)
    t_row = np.full(n, -np.inf)
    best = np.full((kc, m), -np.inf)  # each column's kc best so far, and their rows
    best_rows = np.zeros((kc, m), dtype=np.int64)
    out_r, out_c, out_s = [], [], []
    cols = np.arange(m)
    for start, stop in source.ranges():
        b = source.block(start, stop)
        top = np.argpartition(b, m - kr, axis=1)[:, m - kr :]
        values = np.take_along_axis(b, top, axis=1)
        if kr == k:
            t_row[start:stop] = values.min(axis=1)
        out_r.append(np.repeat(np.arange(start, stop, dtype=np.int64), kr))
        out_c.append(top.reshape(-1).astype(np.int64))
        out_s.append(values.reshape(-1))
        stacked = np.concatenate([best, b], axis=0)
        stacked_rows = np.concatenate(
            [best_rows, np.broadcast_to(np.arange(start, stop)[:, None], b.shape)], axis=0
        )
        keep = np.argpartition(stacked, stacked.shape[0] - kc, axis=0)[-kc:]
        best = np.take_along_axis(stacked, keep, axis=0)
        best_rows = np.take_along_axis(stacked_rows, keep, axis=0)
    t_col = best.min(axis=0) if kc == k else np.full(m, -np.inf)
    r = np.concatenate([*out_r, best_rows.reshape(-1)])
    c = np.concatenate([*out_c, np.tile(cols, kc)])
    v = np.concatenate([*out_s, best.reshape(-1)])
    finite = v > -np.inf
    return r[finite], c[finite], v[finite], t_row, t_col


# --- the certificate ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Certificate:
    """What the certified solve proved, and what :mod:`pbmatch.explain` needs.

    Attributes
    ----------
    certified : bool
        True when every useful pair of the full matrix was priced out (see the module notes).
    rounds : int
        Solve-and-price rounds.
    priced : int
        Pairs priced over all rounds (the non-candidates of each full pass).
    scale : float
        ``gain = round(score * scale)``.
    duals : Duals or None
        Row and column prices in gains.
    bound : float or None
        An upper bound on the best total of true scores.
    rows, cols, values, gains, chosen : ndarray
        The final candidate pairs, their scores and gains, and which are chosen.
    lcap, rcap, lmin, rmin : ndarray of int64
        Capacities (clipped to the other side's size) and minimums.
    source : ScoreSource
        The full score matrix, for explanations.
    """

    certified: bool
    rounds: int
    priced: int
    scale: float
    duals: Duals | None
    bound: float | None
    rows: I64
    cols: I64
    values: F64
    gains: I64
    chosen: BoolArray
    lcap: I64
    rcap: I64
    lmin: I64
    rmin: I64
    source: ScoreSource

    @property
    def n_candidates(self) -> int:
        """Candidate pairs in the last solve."""
        return int(self.rows.size)


def _useful(r: I64, c: I64, s: F64, lcap: I64, rcap: I64, lmin: I64, rmin: I64) -> BoolArray:
    ok: BoolArray = (s > -np.inf) & (lcap[r] > 0) & (rcap[c] > 0)
    ok &= (s > 0) | (lmin[r] > 0) | (rmin[c] > 0)
    return ok


def _max_cost(n: int, m: int) -> int:
    # The flow solver's bound (SimpleMinCostFlow adds a source and a sink to n + m + 2 nodes),
    # and room for exact int64 prices; the second only binds on tiny problems.
    return max(1, min(max_safe_cost(n + m + 5), PRICE_ROOM // (n + m + 1)))


def _solve_lsa(
    n: int, rows: I64, cols: I64, gains: I64, keys: I64
) -> tuple[Status, str, BoolArray | None]:
    from pbmatch.solvers.assignment import _solve_assignment

    mates, status, message = _solve_assignment(
        rows.astype(np.int32), cols.astype(np.int32), -gains, n
    )
    if mates is None:
        return status, message, None
    chosen = np.zeros(rows.size, dtype=np.bool_)
    chosen[np.searchsorted(keys, np.arange(n, dtype=np.int64) * n + mates)] = True
    return status, message, chosen


def _solve_flow(
    rows: I64, cols: I64, gains: I64, lcap: I64, rcap: I64, lmin: I64, rmin: I64
) -> tuple[Status, str, BoolArray | None]:
    from pbmatch.solvers.flow import solve_network

    n, m = lcap.size, rcap.size
    deg_r = np.bincount(rows, minlength=n)
    deg_c = np.bincount(cols, minlength=m)
    status, message, flows = solve_network(
        rows, cols, -gains, np.minimum(lcap, deg_r), np.minimum(rcap, deg_c), lmin, rmin
    )
    return status, message, None if flows is None else flows > 0


def _solve_round(
    rows: I64,
    cols: I64,
    gains: I64,
    keys: I64,
    caps: tuple[I64, I64, I64, I64],
    square_one_to_one: bool,
) -> tuple[Status, str, BoolArray | None, Duals | None]:
    """Solve the candidate problem and find its prices."""
    if square_one_to_one:
        status, message, chosen = _solve_lsa(caps[0].size, rows, cols, gains, keys)
        if chosen is not None:
            duals = compute_duals(rows, cols, gains, chosen, *caps)
            if duals is not None:
                return status, message, chosen, duals
    status, message, chosen = _solve_flow(rows, cols, gains, *caps)
    if chosen is None:
        return status, message, None, None
    duals = compute_duals(rows, cols, gains, chosen, *caps)
    if duals is None:
        return ERROR, f"{message}, but its solution has a negative cycle", None, None
    return status, message, chosen, duals


@dataclass(frozen=True, eq=False)
class _Last:
    """The last round's candidates, solution and prices (for :func:`_still_optimal`)."""

    keys: I64
    gains: I64
    chosen: BoolArray
    duals: Duals
    scale: float


def _still_optimal(
    rows: I64, cols: I64, gains: I64, keys: I64, caps: tuple[I64, I64, I64, I64], last: _Last
) -> tuple[Status, str, BoolArray, Duals] | None:
    """The last solution with prices for the enlarged candidate set, if it is still optimal.

    Added candidates often leave the solution optimal and only move the prices (a new
    pair's positive reduced gain under the old prices is then absorbed by new ones): one
    shortest-path pass (:func:`~pbmatch.solvers.duals.compute_duals`) finds out, instead of
    a solve. None when it is not (a negative cycle) or the old pairs' gains changed.
    """
    old = _is_candidate(keys, last.keys)
    if int(old.sum()) != last.keys.size or not np.array_equal(gains[old], last.gains):
        return None  # scores were refreshed or rescaled
    chosen = np.zeros(keys.size, dtype=np.bool_)
    chosen[np.flatnonzero(old)[last.chosen]] = True
    duals = compute_duals(rows, cols, gains, chosen, *caps)
    if duals is None or dual_violations(duals, rows, cols, gains, chosen, *caps):
        return None
    return OPTIMAL, "the last solution, still optimal with the added candidates", chosen, duals


def _top_per_group(group: I64, score: F64, q: int, n_groups: int) -> BoolArray:
    """Mask of (about) the ``q`` highest ``score`` entries of each ``group``.

    ``q`` rounds of "take each group's maximum" (no sort); ties may add a few more.
    """
    mask = np.zeros(group.size, dtype=np.bool_)
    left = score.astype(np.float64, copy=True)
    best = np.empty(n_groups, dtype=np.float64)
    for _ in range(q):
        best.fill(-np.inf)
        np.maximum.at(best, group, left)
        pick = (left == best[group]) & (left > -np.inf)
        if not pick.any():
            break
        mask |= pick
        left[pick] = -np.inf
    return mask


def _select(r: I64, c: I64, gap: F64, q: int, n: int, m: int) -> BoolArray:
    """Partial pricing: the ``q`` largest ``gap`` of every row and of every column."""
    if r.size <= q * min(n, m):
        return np.ones(r.size, dtype=np.bool_)
    return _top_per_group(r, gap, q, n) | _top_per_group(c, gap, q, m)


def _thresholds(duals: Duals, scale: float) -> tuple[F64, F64, float]:
    """Float row and column terms whose sum bounds ``(u_i + v_j + 1/2) * resolution`` from below.

    Exact (margin 0) while ``|u|, |v| < 2**50``; otherwise a margin of one gain unit plus the
    float error keeps the float test a superset of the exact one.
    """
    u, v = duals.u, duals.v
    res = 1.0 / scale
    live_u, live_v = u < FAR, v < FAR
    top = max(int(np.abs(u[live_u]).max(initial=0)), int(np.abs(v[live_v]).max(initial=0)))
    margin = 0.0 if top < _EXACT_PRICE else 2.0 * top * 2.0**-50 + 1.0
    a = np.where(live_u, (u.astype(np.float64) - margin) * res, np.inf)
    b = np.where(live_v, (v.astype(np.float64) + 0.5) * res, np.inf)
    return a, b, margin


def _excess(s: F64, scale: float, u: I64, v: I64) -> I64:
    """Exact ``round(s * scale) - u - v`` in int64 (clipped far beyond any price)."""
    with np.errstate(over="ignore", invalid="ignore"):
        g = np.clip(np.rint(s * scale), -_CLIP, _CLIP).astype(np.int64)
    out: I64 = g - (u + v)
    return out


def _price(
    source: ScoreSource,
    duals: Duals,
    scale: float,
    keys: I64,
    values: F64,
    need: tuple[BoolArray, BoolArray],
    per_row: int,
    exact: bool = False,
) -> tuple[I64, I64, F64, BoolArray, int]:
    """One pass: useful non-candidate pairs with a positive reduced gain ``g - u_i - v_j``.

    Returns the ``per_row`` most violating pairs of every row and of every column (partial
    pricing: enough for progress, few enough to keep the next solve small), which candidates
    changed score (a callback's blocks are compared with ``values``, refreshed in place), and
    how many pairs violate in all. With ``exact`` (the candidates' scores were used unscaled,
    so the proof claims no rounding), a useful pair whose score is not a whole number of gains
    also joins: the next round then scales, and reports its resolution.
    """
    n, m = source.shape
    u, v = duals.u, duals.v
    a, b, _ = _thresholds(duals, scale)
    need_row, need_col = need
    changed = np.zeros(values.size, dtype=np.bool_)
    out_r, out_c, out_s, out_g = [], [], [], []
    violating = 0
    for start, stop in source.ranges():
        blk = source.block(start, stop)
        if source.dense is None:
            _refresh(blk, start, stop, m, keys, values, changed)
        over = blk >= a[start:stop, None] + b[None, :]
        if exact:
            scaled = blk * scale
            live = (a[start:stop, None] < np.inf) & (b[None, :] < np.inf)
            over |= (scaled != np.rint(scaled)) & (blk > -np.inf) & live
        hit = np.flatnonzero(over)
        if hit.size == 0:
            continue
        r = hit // m + start
        c = hit % m
        s = blk.reshape(-1)[hit]
        excess = _excess(s, scale, u[r], v[c])
        keep = excess > 0
        if exact:
            scaled_hit = s * scale
            keep |= scaled_hit != np.rint(scaled_hit)
            excess = np.maximum(excess, 1)
        keep &= (s > 0) | need_row[r] | need_col[c]
        keep &= ~_is_candidate(r * m + c, keys)
        r, c, s = r[keep], c[keep], s[keep]
        gap = excess[keep].astype(np.float64)
        violating += r.size
        top = _select(r - start, c, gap, per_row, stop - start, m)
        out_r.append(r[top])
        out_c.append(c[top])
        out_s.append(s[top])
        out_g.append(gap[top])
    r, c = _cat(out_r, np.int64), _cat(out_c, np.int64)
    s, gap = _cat(out_s, np.float64), _cat(out_g, np.float64)
    top = _select(r, c, gap, per_row, n, m)
    return r[top], c[top], s[top], changed, violating


def _is_candidate(key: I64, keys: I64) -> BoolArray:
    if keys.size == 0:
        return np.zeros(key.size, dtype=np.bool_)
    pos = np.minimum(np.searchsorted(keys, key), keys.size - 1)
    found: BoolArray = keys[pos] == key
    return found


def _refresh(
    blk: F64, start: int, stop: int, m: int, keys: I64, values: F64, changed: BoolArray
) -> None:
    """Compare the candidates in rows ``start:stop`` with the block; update ``values``."""
    lo, hi = np.searchsorted(keys, [start * m, stop * m])
    if hi > lo:
        here = keys[lo:hi]
        now = blk[here // m - start, here % m]
        diff = now != values[lo:hi]
        if diff.any():
            changed[lo:hi] = diff
            values[lo:hi] = now


def _suspect_chunks(
    u: F64, v: F64, a: F64, b: F64, cells: int = 1 << 20
) -> Iterator[tuple[I64, I64]]:
    """All ``(i, j)`` with ``v[j] <= a[i]`` and ``u[i] <= b[j]``, chunk by chunk, no ``n x m`` pass.

    Columns are sorted by ``v``, so each row's possible columns are a prefix; rows are taken
    in order of prefix length, in chunks of about ``cells`` tested pairs, each chunk testing
    only its longest prefix (memory stays proportional to ``cells``).
    """
    n = u.size
    col_order = np.argsort(v, kind="stable")
    v_sorted, b_sorted = v[col_order], b[col_order]
    reach = np.searchsorted(v_sorted, a, side="right")
    row_order = np.argsort(reach, kind="stable")
    start = int(np.searchsorted(reach[row_order], 1))  # rows that reach no column
    while start < n:
        width = int(reach[row_order[start]])
        stop = start + 1
        while stop < n:  # grow the chunk while it stays within `cells` tested pairs
            wider = int(reach[row_order[min(n, 2 * stop - start) - 1]])
            if (min(n, 2 * stop - start) - start) * wider > cells:
                break
            stop, width = min(n, 2 * stop - start), wider
        rows = row_order[start:stop]
        width = int(reach[rows[-1]])
        hit = (v_sorted[None, :width] <= a[rows, None]) & (b_sorted[None, :width] >= u[rows, None])
        ii, jj = np.nonzero(hit)
        if ii.size:
            yield rows[ii].astype(np.int64), col_order[jj].astype(np.int64)
        start = stop


def _suspect_pairs(u: F64, v: F64, a: F64, b: F64) -> tuple[I64, I64]:
    """:func:`_suspect_chunks`, all at once."""
    parts = list(_suspect_chunks(u, v, a, b))
    return _cat([p[0] for p in parts], np.int64), _cat([p[1] for p in parts], np.int64)


_KEEP_SCORED = 1 << 24
"""Most pairs held with known scores (candidates and scored suspects, 25 bytes each)."""


def _price_bounded(
    bounded: tuple[F64, F64, PairFn],
    duals: Duals,
    scale: float,
    keys: I64,
    given: I64,
    need: tuple[BoolArray, BoolArray],
    per_row: int,
    exact: bool,
    known: _Known,
    passes: list[tuple[F64, F64, F64, F64]],
    ahead: int = 0,
) -> tuple[I64, I64, F64, int]:
    """Pricing with bounds instead of a pass over every pair.

    ``bounded = (row_bound, col_bound, pair_scores)``: every pair outside the given
    candidates (sorted keys ``given``) scores at most ``row_bound[i]`` and at most
    ``col_bound[j]``. A pair can only violate when ``min(row_bound[i], col_bound[j]) * scale >
    u_i + v_j``; those *suspects* are found by :func:`_suspect_chunks` (with a margin that
    makes the float test a superset) and scored exactly with ``pair_scores(rows, cols)``.

    Each suspect is scored once over all rounds: the scored ones that do not join the
    candidates now join ``known`` (priced from their scores in every later round, like the
    given candidates), and the tests of this pass are kept in ``passes``, so that a later pass
    skips every pair an earlier one enumerated (a given candidate, a current one, or in
    ``known``) without looking it up, and scores only new suspects. That needs room in
    ``known`` (:data:`_KEEP_SCORED`); without it the pass is not recorded and its suspects are
    scored again next time. Current candidates (keys ``keys``) and given ones are skipped.

    Returns the pairs to add to the candidates: the violators (``per_row`` per row and
    column, as :func:`_price`) and, when there are any, up to ``min(ahead, LOOK_AHEAD x
    violators)`` more suspects with the highest reduced gains below zero (as
    :meth:`_Known.price`); and how many suspects were scored.
    """
    row_bound, col_bound, pair_scores = bounded
    m = col_bound.size
    u = np.where(duals.u < FAR, duals.u.astype(np.float64), np.inf)
    v = np.where(duals.v < FAR, duals.v.astype(np.float64), np.inf)
    with np.errstate(invalid="ignore", over="ignore"):
        top_r, top_c = row_bound * scale, col_bound * scale
        # Float slack: one gain unit plus the rounding of values below 2**63.
        slack_r = 1.0 + 2.0**-50 * (np.abs(np.nan_to_num(top_r)) + np.abs(np.nan_to_num(u)))
        slack_c = 1.0 + 2.0**-50 * (np.abs(np.nan_to_num(top_c)) + np.abs(np.nan_to_num(v)))
        a = np.where(np.isfinite(u), top_r - u + slack_r, -np.inf)
        b = np.where(np.isfinite(v), top_c - v + slack_c, -np.inf)
    a = np.nan_to_num(a, nan=-np.inf)
    b = np.nan_to_num(b, nan=-np.inf)
    u_key, v_key = np.where(np.isfinite(u), u, np.inf), np.where(np.isfinite(v), v, np.inf)
    first = len(known.parts)  # the scored suspects go to `known`, as new parts
    suspects = 0
    for r, c in _suspect_chunks(u_key, v_key, a, b):  # memory stays proportional to a chunk
        seen = np.zeros(r.size, dtype=np.bool_)
        for pa, pb, pu, pv in passes:
            seen |= (pv[c] <= pa[r]) & (pu[r] <= pb[c])
        r, c = r[~seen], c[~seen]
        key = r * m + c
        fresh = ~(_is_candidate(key, given) | _is_candidate(key, keys))
        r, c = r[fresh], c[fresh]
        if r.size == 0:
            continue
        suspects += r.size
        s = np.asarray(pair_scores(r, c), dtype=np.float64).reshape(-1)
        useful = (s > -np.inf) & ((s > 0) | need[0][r] | need[1][c])
        known.extend(r[useful], c[useful], s[useful])
    # The violators among them and the look-ahead join the candidates; the rest stay known.
    new_r, new_c, new_s, _ = known.price(duals, scale, per_row, exact, ahead, first)
    if known.size <= _KEEP_SCORED:
        passes.append((a, b, u_key, v_key))
    else:  # no room: forget them, and score these suspects again next time
        known.drop(first)
    return new_r, new_c, new_s, suspects


def _reader(source: ScoreSource) -> PairFn:
    """Exact scores of listed pairs, read from ``source`` (a gather, or one block per row)."""

    def read(rows: I64, cols: I64) -> F64:
        if source.dense is not None:
            return np.asarray(source.dense[rows, cols], dtype=np.float64)
        out = np.empty(rows.size)
        order = np.argsort(rows, kind="stable")
        bounds = np.flatnonzero(np.diff(rows[order], prepend=-1, append=-1))
        for lo, hi in itertools.pairwise(bounds):
            idx = order[lo:hi]
            out[idx] = source.row(int(rows[idx[0]]))[cols[idx]]
        return out

    return read


def _bound(gains: I64, chosen: BoolArray, scaling: Scaling, most_pairs: int) -> float:
    """Upper bound on the true optimum: total gain * resolution + F * resolution / 2."""
    if scaling.resolution is None:
        return math.fsum(gains[chosen].astype(np.float64).tolist())
    res = Fraction(scaling.resolution)
    exact = Fraction(int(gains[chosen].sum())) * res + Fraction(most_pairs) * res / 2
    return math.nextafter(float(exact), math.inf)


@dataclass
class _Pool:
    """The candidate pairs, kept sorted by row then column, without duplicates."""

    rows: I64
    cols: I64
    values: F64
    keys: I64
    m: int

    @classmethod
    def build(cls, r: I64, c: I64, s: F64, m: int, useful: BoolArray) -> _Pool:
        r, c, s = r[useful], c[useful], s[useful]  # copies: the pool's own arrays
        keys, first = _unique_keys(r * m + c)
        if first is None:
            return cls(r, c, s, keys, m)
        return cls(r[first], c[first], s[first], keys, m)

    def add(self, r: I64, c: I64, s: F64, caps: tuple[I64, I64, I64, I64]) -> None:
        r = np.concatenate([self.rows, r])
        c = np.concatenate([self.cols, c])
        s = np.concatenate([self.values, s])
        new = _Pool.build(r, c, s, self.m, _useful(r, c, s, *caps))
        self.rows, self.cols, self.values, self.keys = new.rows, new.cols, new.values, new.keys


_LOOK_AHEAD = 10
"""Known candidates added per violator found among them, by reduced gain (see _Known)."""


class _Known:
    """Pairs held back from the solves whose scores are known (candidates beyond ``start``,
    scored suspects): pricing them is one vectorised pass (see :func:`solve_certified`).

    Held as parts (the given candidates, then one part per batch of scored suspects), each
    ``(rows, cols, scores, taken)``, so that adding pairs copies nothing and pricing works
    part by part with bounded temporary memory.
    """

    def __init__(self, pool: _Pool, taken: BoolArray, shape: tuple[int, int]) -> None:
        self.parts: list[tuple[I64, I64, F64, BoolArray]] = []
        self.shape = shape
        self.size = 0
        self.violators = 0  # found by the last price()
        self.extend(pool.rows, pool.cols, pool.values, taken.copy())

    @property
    def waiting(self) -> bool:
        """Whether some pairs are not among the solved candidates yet."""
        return any(not bool(part[3].all()) for part in self.parts)

    def extend(self, rows: I64, cols: I64, values: F64, taken: BoolArray | None = None) -> None:
        """More pairs (not taken unless ``taken`` says so)."""
        for lo in range(0, rows.size, _KNOWN_PART):
            hi = min(lo + _KNOWN_PART, rows.size)
            flags = np.zeros(hi - lo, dtype=np.bool_) if taken is None else taken[lo:hi]
            self.parts.append((rows[lo:hi], cols[lo:hi], values[lo:hi], flags))
        self.size += int(rows.size)

    def drop(self, first: int) -> None:
        """Forget the parts from ``first`` on."""
        self.size -= sum(int(part[0].size) for part in self.parts[first:])
        del self.parts[first:]

    def take_all(self) -> tuple[I64, I64, F64]:
        """Every pair not taken yet (all of them join the solve)."""
        out = []
        for rows, cols, values, taken in self.parts:
            rest = ~taken
            out.append((rows[rest], cols[rest], values[rest]))
            taken[:] = True
        return (
            _cat([x[0] for x in out], np.int64),
            _cat([x[1] for x in out], np.int64),
            _cat([x[2] for x in out], np.float64),
        )

    def price(
        self, duals: Duals, scale: float, per_row: int, exact: bool, room: int, first: int = 0
    ) -> tuple[I64, I64, F64, int]:
        """Untaken pairs to solve on next, and how many pairs were priced.

        The ``per_row`` most violating of every row and column and, when there are any, up
        to ``min(room, LOOK_AHEAD x violators)`` more with the highest reduced gains, below
        zero: the next prices move, and those are the pairs most likely to violate then (a
        round saved costs a solve). All are marked taken. Only parts from ``first`` on.
        """
        hits: list[tuple[int, I64, I64]] = []  # (part, positions, excess)
        near: list[tuple[int, I64, I64]] = []
        priced = 0
        for k, (rows, cols, values, taken) in enumerate(self.parts):
            if k < first or taken.all():
                continue
            excess = _excess(values, scale, duals.u[rows], duals.v[cols])
            keep = excess > 0
            if exact:
                scaled = values * scale
                keep |= (scaled != np.rint(scaled)) & (scaled > duals.u[rows] + duals.v[cols])
            keep &= ~taken
            priced += int(taken.size - np.count_nonzero(taken))
            at = np.flatnonzero(keep)
            hits.append((k, at, excess[at]))
            if room:
                below = np.flatnonzero(~keep & ~taken)
                if below.size > room:
                    below = below[np.argpartition(-excess[below], room - 1)[:room]]
                near.append((k, below, excess[below]))
        top = self._best(hits, per_row)
        self.violators = sum(x[1].size for x in hits)
        more = min(room, _LOOK_AHEAD * sum(x[1].size for x in top))
        if more and sum(x[1].size for x in top):
            top += self._nearest(near, more)
        out = []
        for k, at in top:
            rows, cols, values, taken = self.parts[k]
            taken[at] = True
            out.append((rows[at], cols[at], values[at]))
        return (
            _cat([x[0] for x in out], np.int64),
            _cat([x[1] for x in out], np.int64),
            _cat([x[2] for x in out], np.float64),
            priced,
        )

    def _best(self, hits: list[tuple[int, I64, I64]], per_row: int) -> list[tuple[int, I64]]:
        """The ``per_row`` most violating of every row and column, as (part, positions)."""
        if not hits:
            return []
        part = np.concatenate([np.full(x[1].size, x[0], dtype=np.int64) for x in hits])
        at = _cat([x[1] for x in hits], np.int64)
        gap = np.maximum(_cat([x[2] for x in hits], np.int64), 1).astype(np.float64)
        rows = _cat([self.parts[k][0][a] for k, a, _ in hits], np.int64)
        cols = _cat([self.parts[k][1][a] for k, a, _ in hits], np.int64)
        pick = _select(rows, cols, gap, per_row, *self.shape)
        return _by_part(part[pick], at[pick])

    @staticmethod
    def _nearest(near: list[tuple[int, I64, I64]], more: int) -> list[tuple[int, I64]]:
        """The ``more`` pairs of highest reduced gain among ``near``, as (part, positions)."""
        part = np.concatenate([np.full(x[1].size, x[0], dtype=np.int64) for x in near])
        at = _cat([x[1] for x in near], np.int64)
        excess = _cat([x[2] for x in near], np.int64)
        if excess.size > more:
            pick = np.argpartition(-excess, more - 1)[:more]
            part, at = part[pick], at[pick]
        return _by_part(part, at)


def _by_part(part: I64, at: I64) -> list[tuple[int, I64]]:
    order = np.lexsort((at, part))
    part, at = part[order], at[order]
    cuts = np.flatnonzero(np.diff(part)) + 1
    return [
        (int(p[0]), a)
        for p, a in zip(np.split(part, cuts), np.split(at, cuts), strict=True)
        if p.size
    ]


_FEW_VIOLATORS = 200
"""Known violators are *few* below one per this many candidates (see solve_certified)."""

_KNOWN_PART = 1 << 21
"""Pairs per part of :class:`_Known` (priced one part at a time)."""


def _unique_keys(keys: I64) -> tuple[I64, I64 | None]:
    """Sorted distinct ``keys`` and the first position of each; None when ``keys`` already are
    (strictly increasing, as candidates sorted by row then column: one pass, no sort)."""
    if keys.size < 2 or bool((keys[1:] > keys[:-1]).all()):
        return keys, None
    out, first = np.unique(keys, return_index=True)
    return out, first


def _rank_value(group: I64, rank: I64, values: F64, k: int, size: int) -> F64:
    """The value of rank ``k - 1`` in each group (``-inf`` where a group has fewer)."""
    out = np.full(size, -np.inf)
    at = rank == k - 1
    out[group[at]] = values[at]
    return out


def best_of_groups(
    rows: npt.ArrayLike, cols: npt.ArrayLike, scores: npt.ArrayLike, k: int, shape: tuple[int, int]
) -> BoolArray:
    """Mask of the pairs among the ``k`` best of their row or of their column.

    Equal scores are ranked by position in the arrays (earlier first). ``O(p log p)`` for
    ``p`` pairs: one sort by score and one stable sort by row and by column.

    Examples
    --------
    Row 0's best is (0, 0), row 1's (1, 2); (0, 1) is the best of column 1, and (0, 2) of
    nothing:

    >>> best_of_groups([0, 0, 0, 1], [0, 1, 2, 2], [3.0, 1.0, 2.0, 5.0], 1, (2, 3)).tolist()
    [True, True, False, True]
    """
    r, c = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    order = descending_order(np.asarray(scores, dtype=np.float64))
    mask: BoolArray = (group_ranks(r, order, shape[0]) < k) | (group_ranks(c, order, shape[1]) < k)
    return mask


def kth_best(
    rows: npt.ArrayLike, cols: npt.ArrayLike, scores: npt.ArrayLike, k: int, shape: tuple[int, int]
) -> tuple[F64, F64]:
    """The ``k``-th best score listed for every row and every column (``-inf`` with fewer).

    For an exact top-``k`` candidate set (the ``k`` best pairs of every row and column, and
    possibly more), these bound every pair left out: the ``bounds`` of
    :func:`solve_certified`. Same as :func:`pbmatch.problems.pairing.topk_bounds`, with one
    sort by score shared by rows and columns.

    Examples
    --------
    >>> rb, cb = kth_best([0, 0, 1], [0, 1, 1], [3.0, 2.0, 5.0], 2, (2, 2))
    >>> rb.tolist(), cb.tolist()
    ([2.0, -inf], [-inf, 2.0])
    """
    r, c = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    order = descending_order(s)
    return (
        _rank_value(r, group_ranks(r, order, shape[0]), s, k, shape[0]),
        _rank_value(c, group_ranks(c, order, shape[1]), s, k, shape[1]),
    )


def _price_feasible_bounded(
    bounded: tuple[F64, F64, PairFn],
    u: I64,
    v: I64,
    keys: I64,
    need: tuple[BoolArray, BoolArray],
    q: int,
) -> tuple[I64, I64, F64]:
    """Phase 1 pricing with bounds: suspects ``u_i + v_j < 0`` where the bounds allow a pair."""
    row_bound, col_bound, pair_scores = bounded
    n, m = row_bound.size, col_bound.size
    uf, vf = u[:n].astype(np.float64), v[:m].astype(np.float64)
    a = np.where((u[:n] < FAR) & (row_bound > -np.inf), -uf - 0.5, -np.inf)
    b = np.where((v[:m] < FAR) & (col_bound > -np.inf), -vf - 0.5, -np.inf)
    r, c = _suspect_pairs(uf, np.where(v[:m] < FAR, vf, np.inf), a, b)
    keep = (need[0][r] | need[1][c]) & ~_is_candidate(r * m + c, keys)
    r, c = r[keep], c[keep]
    if r.size == 0:
        return r, c, np.zeros(0)
    s = np.asarray(pair_scores(r, c), dtype=np.float64).reshape(-1)
    ok = s > -np.inf
    r, c, s = r[ok], c[ok], s[ok]
    gap = -(uf[r] + vf[c])
    top = _select(r, c, gap, q, n, m)
    return r[top], c[top], s[top]


def _price_feasible(
    source: ScoreSource, u: I64, v: I64, keys: I64, need: tuple[BoolArray, BoolArray], q: int
) -> tuple[I64, I64, F64]:
    """Phase 1 pricing: allowed non-candidate pairs with a minimum at an end and ``u + v < 0``."""
    n, m = source.shape
    need_row, need_col = need
    a = np.where(u[:n] < FAR, u[:n].astype(np.float64), np.inf)
    b = np.where(v[:m] < FAR, v[:m].astype(np.float64), np.inf)
    out_r, out_c, out_s, out_g = [], [], [], []
    for start, stop in source.ranges():
        blk = source.block(start, stop)
        thr = a[start:stop, None] + b[None, :]
        hit = np.flatnonzero((thr < 0) & (blk > -np.inf))
        if hit.size == 0:
            continue
        r = hit // m + start
        c = hit % m
        keep = (need_row[r] | need_col[c]) & ~_is_candidate(r * m + c, keys)
        r, c = r[keep], c[keep]
        gap = -thr.reshape(-1)[hit[keep]]
        top = _select(r - start, c, gap, q, stop - start, m)
        out_r.append(r[top])
        out_c.append(c[top])
        out_s.append(blk.reshape(-1)[hit[keep][top]])
        out_g.append(gap[top])
    r, c = _cat(out_r, np.int64), _cat(out_c, np.int64)
    s, gap = _cat(out_s, np.float64), _cat(out_g, np.float64)
    top = _select(r, c, gap, q, n, m)
    return r[top], c[top], s[top]


def _phase_one(
    source: ScoreSource,
    pool: _Pool,
    caps: tuple[I64, I64, I64, I64],
    q: int,
    max_rounds: int,
    bounded: tuple[F64, F64, PairFn] | None = None,
) -> tuple[Status, str, int, int]:
    """Add candidates until the minimums can be met with them, or prove they cannot.

    Solves "meet the minimums with as few artificial pairs as possible": an artificial
    column takes the missing pairs of rows with a minimum, an artificial row those of
    columns, each at gain -1, real pairs at gain 0; prices real pairs with a minimum at an end
    (others never help: dropping them from a solution keeps it feasible). When a full pass
    finds no pair with ``u_i + v_j < 0``, the least shortfall over *all* pairs is positive and
    the problem is infeasible. Returns (status, message, rounds, pairs priced); ``pool`` grows.
    """
    from pbmatch.solvers.flow import solve_network

    n, m = source.shape
    lcap, rcap, lmin, rmin = caps
    need = (lmin > 0, rmin > 0)
    need_r, need_c = np.flatnonzero(lmin > 0), np.flatnonzero(rmin > 0)
    a_rows = np.concatenate([need_r, np.full(need_c.size, n)]).astype(np.int64)
    a_cols = np.concatenate([np.full(need_r.size, m), need_c]).astype(np.int64)
    a_cap = np.concatenate([lmin[need_r], rmin[need_c]]).astype(np.int64)
    lcap1 = np.append(lcap, int(rmin.sum()))
    rcap1 = np.append(rcap, int(lmin.sum()))
    lmin1, rmin1 = np.append(lmin, 0), np.append(rmin, 0)
    priced = 0
    for rounds in range(1, max_rounds + 1):
        p = pool.rows.size
        rows = np.concatenate([pool.rows, a_rows])
        cols = np.concatenate([pool.cols, a_cols])
        gains = np.concatenate([np.zeros(p, np.int64), np.full(a_rows.size, -1, np.int64)])
        pair_cap = np.concatenate([np.ones(p, np.int64), a_cap])
        _, message, flows = solve_network(
            rows, cols, -gains, lcap1, rcap1, lmin1, rmin1, pair_capacity=pair_cap
        )
        if flows is None:
            return ERROR, f"feasibility phase: {message}", rounds, priced
        duals = compute_duals(rows, cols, gains, flows, lcap1, rcap1, lmin1, rmin1, pair_cap)
        if duals is None:
            return ERROR, f"feasibility phase: {message}, but with a negative cycle", rounds, priced
        short = int(flows[p:].sum())
        if short == 0:
            return OPTIMAL, "", rounds, priced
        if bounded is not None:
            new_r, new_c, new_s = _price_feasible_bounded(
                bounded, duals.u, duals.v, pool.keys, need, q
            )
        else:
            new_r, new_c, new_s = _price_feasible(source, duals.u, duals.v, pool.keys, need, q)
        priced += n * m - p
        if new_r.size == 0:
            message = (
                f"left_min/right_min cannot all be met at once: every solution misses at least "
                f"{short} of the pairs the minimums ask for (proved by pricing all {n * m} pairs)"
            )
            return INFEASIBLE, message, rounds, priced
        pool.add(new_r, new_c, new_s, caps)
    return ERROR, f"feasibility phase: no answer after {max_rounds} rounds", max_rounds, priced


def solve_certified(
    source: ScoreSource,
    lcap: I64,
    rcap: I64,
    lmin: I64,
    rmin: I64,
    *,
    candidates: tuple[Any, Any, Any] | None = None,
    k: int = DEFAULT_K,
    max_rounds: int = 100,
    bounds: tuple[Any, Any] | int | None = None,
    pair_scores: PairFn | None = None,
    pricing: str = "auto",
    start: int | None = None,
) -> BackendResult:
    """Solve a b-matching exactly from candidates and prove it optimal for the full matrix.

    Parameters
    ----------
    source : ScoreSource
        The full score matrix (dense or by blocks).
    lcap, rcap, lmin, rmin : ndarray of int64
        Validated capacities and minimums, ``0 <= min <= cap``.
    candidates : (rows, cols, scores), optional
        Initial candidate pairs; default the top ``k`` of each row and column. Scores given
        here are checked against ``source`` while pricing by blocks (and replaced where they
        differ); with bounds they are trusted, as the bounds are. Duplicates and useless pairs
        are dropped.
    k : int, default :data:`DEFAULT_K`
        Candidates per row and column when none are given; also the most pairs a row or a
        column adds per pricing pass.
    max_rounds : int, default 100
        Solve-and-price rounds before giving up (status ``error``).
    bounds : (row_bound, col_bound), optional
        With ``candidates``: every useful pair *not* among them scores at most
        ``row_bound[i]`` and at most ``col_bound[j]`` (``-inf``: there is none, ``+inf``:
        unknown). Pricing then scores only the pairs these bounds cannot rule out (see
        :func:`_price_bounded`) instead of every pair; the proof is as good as the bounds.
        When candidates are computed here, their thresholds are such bounds. An int ``d``
        says the candidates hold the ``d`` best pairs of every row and of every column
        (ties broken any way), so that their ``d``-th scores are such bounds
        (:func:`kth_best`, computed here from the same sort as ``start``).
    pair_scores : callable, optional
        ``pair_scores(rows, cols)`` gives the exact scores of listed pairs (``-inf`` where
        forbidden); default: read from ``source``.
    pricing : {"auto", "blocks", "bounds"}, default "auto"
        ``blocks`` prices every pair through ``source`` block by block; ``bounds`` uses the
        bounds; ``auto`` uses the bounds when there are any and the source is not dense.
    start : int, optional
        Solve first on only the ``start`` best candidates of every row and of every column
        (:func:`best_of_groups`); every other candidate is priced from its known score at the
        start of each round, and joins when it violates, before any pair outside the
        candidates is priced (by blocks or bounds). Default: solve on every candidate.

    Returns
    -------
    BackendResult
        The chosen pairs, with a :class:`Certificate` in ``certificate``.
    """
    n, m = source.shape
    lcap = np.minimum(lcap, m).astype(np.int64)
    rcap = np.minimum(rcap, n).astype(np.int64)
    for unit, other, low, top in (("row", "columns", lmin, lcap), ("column", "rows", rmin, rcap)):
        over = np.flatnonzero(low > top)
        if over.size:
            i = int(over[0])
            size = m if unit == "row" else n
            return empty_result(
                INFEASIBLE,
                f"{unit} {i} must have at least {int(low[i])} pairs but there are only "
                f"{size} {other}",
            )
    caps = (lcap, rcap, lmin, rmin)
    need = (lmin > 0, rmin > 0)
    has_min = bool(lmin.any() or rmin.any())
    if candidates is None:
        if source.dense is not None:
            r, c, s, t_row, t_col = dense_candidates(source.dense, k, *caps)
        else:
            r, c, s, t_row, t_col = block_candidates(source, k, *caps)
        bounds = (t_row, t_col)
    else:
        r = np.asarray(candidates[0], dtype=np.int64).reshape(-1)
        c = np.asarray(candidates[1], dtype=np.int64).reshape(-1)
        s = np.asarray(candidates[2], dtype=np.float64).reshape(-1)
        inside = (r >= 0) & (r < n) & (c >= 0) & (c < m) & ~np.isnan(s)
        r, c, s = r[inside], c[inside], s[inside]
    first: BoolArray | None = None
    if candidates is not None and (isinstance(bounds, int) or start is not None):
        # One sort by score ranks every candidate in its row and its column: for the bounds
        # of an exact top-`bounds` list and for the `start` best.
        _, once = _unique_keys(r * m + c)
        if once is not None:
            r, c, s = r[once], c[once], s[once]
        order = descending_order(s)
        row_rank, col_rank = group_ranks(r, order, n), group_ranks(c, order, m)
        if isinstance(bounds, int):
            bounds = (
                _rank_value(r, row_rank, s, bounds, n),
                _rank_value(c, col_rank, s, bounds, m),
            )
        if start is not None:
            first = (row_rank < start) | (col_rank < start)
    assert not isinstance(bounds, int)  # made arrays above (or replaced by the thresholds)
    use_bounds = bounds is not None and (
        pricing == "bounds" or (pricing == "auto" and source.dense is None)
    )
    bounded: tuple[F64, F64, PairFn] | None = None
    if use_bounds:
        assert bounds is not None
        scorer = pair_scores if pair_scores is not None else _reader(source)
        bounded = (
            np.asarray(bounds[0], dtype=np.float64).reshape(n),
            np.asarray(bounds[1], dtype=np.float64).reshape(m),
            scorer,
        )
    square_one_to_one = n == m and not has_min and bool((lcap == 1).all() and (rcap == 1).all())
    # The assignment solver needs a perfect matching among the candidates (it can take
    # seconds to find there is none); the diagonal gives one when all its pairs are useful.
    perfect_known = False
    if square_one_to_one and source.dense is not None and n > 0:
        diagonal = np.diagonal(source.dense).astype(np.float64)
        if bool((diagonal > 0).all()):
            idx = np.arange(n, dtype=np.int64)
            r, c, s = (
                np.concatenate([r, idx]),
                np.concatenate([c, idx]),
                np.concatenate([s, diagonal]),
            )
            if first is not None:
                first = np.concatenate([first, np.ones(n, dtype=np.bool_)])
            perfect_known = True
    useful = _useful(r, c, s, *caps)
    if first is None:
        first = np.ones(r.size, dtype=np.bool_)
    # Sorted by key, without duplicates; a duplicate is in the first solve if any copy is.
    keys = r * m + c
    pool = _Pool.build(r, c, s, m, useful)
    pos = np.searchsorted(pool.keys, keys[useful & first])
    taken = np.zeros(pool.keys.size, dtype=np.bool_)
    taken[pos] = True
    given = pool.keys
    # `known`: pairs with known scores not solved on yet, priced first in every round.
    known = _Known(pool, taken, (n, m))
    if not taken.all():
        pool = _Pool(pool.rows[taken], pool.cols[taken], pool.values[taken], pool.keys[taken], m)
    passes: list[tuple[F64, F64, F64, F64]] = []
    max_cost = _max_cost(n, m)
    most_pairs = min(int(lcap.sum()), int(rcap.sum()))
    priced = 0
    rounds = 0
    scaling = Scaling(1.0, None, 0)
    last: _Last | None = None
    solves = 0
    while rounds < max_rounds:
        rounds += 1
        r, c, s, keys = pool.rows, pool.cols, pool.values, pool.keys
        gains, scaling = scale_scores(s, max_cost=max_cost)
        chosen: BoolArray | None
        duals: Duals | None
        if r.size:
            kept = None if last is None else _still_optimal(r, c, gains, keys, caps, last)
            if kept is not None:
                status, message, chosen, duals = kept
            else:
                status, message, chosen, duals = _solve_round(
                    r, c, gains, keys, caps, square_one_to_one and perfect_known
                )
                solves += 1
        elif has_min:
            status, message, chosen, duals = INFEASIBLE, "no candidate pair", None, None
        else:
            status, message = OPTIMAL, "no candidate pair"
            chosen = np.zeros(0, np.bool_)
            duals = compute_duals(r, c, gains, chosen, *caps)
        last = None
        if status == INFEASIBLE and has_min and known.waiting:
            pool.add(*known.take_all(), caps)  # the minimums may need the other candidates
            continue
        if status == INFEASIBLE and has_min:
            status, message, used, more = _phase_one(source, pool, caps, k, max_rounds, bounded)
            rounds += used
            priced += more
            if status == OPTIMAL:
                continue  # the minimums can be met with the candidates now
            return empty_result(status, message, scaling=scaling)
        if chosen is None or duals is None:
            return empty_result(status, message, scaling=scaling)
        broken = dual_violations(duals, r, c, gains, chosen, *caps)
        if broken:
            return empty_result(
                ERROR, f"{message}, but its prices fail: {'; '.join(broken)}", scaling=scaling
            )
        exact = scaling.resolution is None
        if status == OPTIMAL:
            last = _Last(keys, gains, chosen, duals, scaling.scale)
        held: tuple[I64, I64, F64] | None = None
        if known.waiting:
            new_r, new_c, new_s, checked = known.price(duals, scaling.scale, k, exact, r.size // 4)
            priced += checked
            # Few violators among the known pairs: the prices are nearly final, so the pairs
            # outside are priced in the same round (their violators join in the same solve).
            # Many: the prices will move a lot, and pricing outside now would score in vain.
            few = known.violators * _FEW_VIOLATORS <= r.size
            if new_r.size and not (few and bounded is not None and rounds > 1):
                perfect_known = perfect_known or int(chosen.sum()) == n
                pool.add(new_r, new_c, new_s, caps)
                continue
            if new_r.size:
                held = (new_r, new_c, new_s)
        if bounded is not None:
            new_r, new_c, new_s, _ = _price_bounded(
                bounded,
                duals,
                scaling.scale,
                keys,
                given,
                need,
                k,
                exact,
                known,
                passes,
                r.size // 4,
            )
            changed = np.zeros(0, np.bool_)
        else:
            new_r, new_c, new_s, changed, _ = _price(
                source, duals, scaling.scale, keys, s, need, k, exact=exact
            )
        priced += n * m - r.size
        if held is not None:
            new_r, new_c, new_s = (
                np.concatenate([x, y]) for x, y in zip(held, (new_r, new_c, new_s), strict=True)
            )
        if new_r.size == 0 and not changed.any():
            cert = Certificate(
                certified=True,
                rounds=rounds,
                priced=priced,
                scale=scaling.scale,
                duals=duals,
                bound=_bound(gains, chosen, scaling, most_pairs),
                rows=r,
                cols=c,
                values=s,
                gains=gains,
                chosen=chosen,
                lcap=lcap,
                rcap=rcap,
                lmin=lmin,
                rmin=rmin,
                source=source,
            )
            return BackendResult(
                r[chosen].astype(np.intp),
                c[chosen].astype(np.intp),
                s[chosen],
                status,
                f"{message}; certified optimal after {rounds} rounds ({solves} solves), "
                f"{priced} pairs priced",
                scaling,
                certificate=cert,
            )
        # A perfect matching stays one when candidates are added.
        perfect_known = perfect_known or int(chosen.sum()) == n
        pool.add(new_r, new_c, new_s, caps)
    return empty_result(ERROR, f"no certificate after {max_rounds} rounds", scaling=scaling)


def _mark(keys: I64, rows: npt.NDArray[Any], cols: npt.NDArray[Any], m: int) -> BoolArray:
    """Which of the sorted ``keys`` are the pairs ``(rows, cols)`` (all assumed present)."""
    chosen = np.zeros(keys.size, dtype=np.bool_)
    if rows.size:
        chosen[np.searchsorted(keys, rows.astype(np.int64) * m + cols.astype(np.int64))] = True
    return chosen


def certify(
    problem: MatchProblem,
    raw: BackendResult,
    *,
    k: int = DEFAULT_K,
    max_rounds: int = 100,
) -> Certificate | None:
    """Prove (or fail to prove) another backend's solution optimal, without solving again.

    The prices of the known solution are computed on its pairs and the top ``k`` of every row
    and column, every other pair is priced, violators join and the prices are recomputed, until
    a pass finds none (the solution never changes: it is optimal for any superset of its pairs
    if it is optimal at all). Sparse input needs no pricing: every allowed pair is a
    candidate. Gains use the backend's own scale, so the proof is about the problem it solved.

    Returns
    -------
    Certificate or None
        None when ``raw`` has no solution; ``certified`` False when a check fails (a negative
        cycle or a broken condition: the backend's answer was not optimal).
    """
    if raw.status not in WITH_SOLUTION:
        return None
    n, m = problem.n_rows, problem.n_cols
    lcap = np.minimum(problem.left_capacity, m).astype(np.int64)
    rcap = np.minimum(problem.right_capacity, n).astype(np.int64)
    lmin, rmin = problem.left_min, problem.right_min
    caps = (lcap, rcap, lmin, rmin)
    scaling = raw.scaling if raw.scaling is not None else Scaling(1.0, None, 0)
    scale = scaling.scale
    biggest = float(np.abs(raw.values).max(initial=0.0))
    if problem.dense is not None:
        finite = problem.dense[problem.dense > -np.inf]
        biggest = max(biggest, float(np.abs(finite).max(initial=0.0)))
    elif problem.pair_values is not None:
        biggest = max(biggest, float(np.abs(problem.pair_values).max(initial=0.0)))
    room = PRICE_ROOM // (n + m + 1)
    if biggest * scale > room:
        # The backend's grid is finer than exact int64 prices allow (the backends keep within
        # PRICE_ROOM, so only for a foreign result): prove optimality on a coarser grid, which
        # a tie finer than it could defeat.
        scale = choose_scale(biggest, integral=False, max_cost=room)
        scaling = Scaling(scale, 1.0 / scale, 0)
    got_r, got_c = raw.rows.astype(np.int64), raw.cols.astype(np.int64)
    if problem.dense is None:
        assert problem.pair_rows is not None and problem.pair_values is not None
        r, c, s = problem.candidate_pairs()
        source = ScoreSource(
            (n, m), sparse=(problem.pair_rows, problem.pair_cols, problem.pair_values)
        )
    else:
        source = ScoreSource((n, m), dense=problem.dense)
        r0, c0, s0, *_ = dense_candidates(problem.dense, k, *caps)
        chosen_values = raw.values.astype(np.float64)
        r = np.concatenate([got_r, r0])
        c = np.concatenate([got_c, c0])
        s = np.concatenate([chosen_values, s0])
    r, c, s = r.astype(np.int64), c.astype(np.int64), np.asarray(s, dtype=np.float64)
    pool = _Pool.build(r, c, s, m, _useful(r, c, s, *caps) | _is_in(r, c, got_r, got_c, m))
    need = (lmin > 0, rmin > 0)
    most_pairs = min(int(lcap.sum()), int(rcap.sum()))
    priced = 0
    duals: Duals | None = None
    certified = False
    rounds = 0
    gains = np.zeros(0, np.int64)
    chosen = np.zeros(0, np.bool_)
    while rounds < max_rounds:
        rounds += 1
        gains = _excess(pool.values, scale, np.zeros(1, np.int64), np.zeros(1, np.int64))
        chosen = _mark(pool.keys, got_r, got_c, m)
        duals = compute_duals(pool.rows, pool.cols, gains, chosen, *caps)
        if duals is None or dual_violations(duals, pool.rows, pool.cols, gains, chosen, *caps):
            duals = None
            break
        if source.is_sparse:
            certified = True
            break
        new_r, new_c, new_s, _, _ = _price(source, duals, scale, pool.keys, pool.values, need, k)
        priced += n * m - pool.rows.size
        if new_r.size == 0:
            certified = True
            break
        pool.add(new_r, new_c, new_s, caps)
    return Certificate(
        certified=certified,
        rounds=rounds,
        priced=priced,
        scale=scale,
        duals=duals,
        bound=_bound(gains, chosen, scaling, most_pairs) if certified else None,
        rows=pool.rows,
        cols=pool.cols,
        values=pool.values,
        gains=gains,
        chosen=chosen,
        lcap=lcap,
        rcap=rcap,
        lmin=lmin,
        rmin=rmin,
        source=source,
    )


def _is_in(r: I64, c: I64, got_r: I64, got_c: I64, m: int) -> BoolArray:
    found: BoolArray = np.isin(r * m + c, got_r * m + got_c)
    return found


# --- the backend -------------------------------------------------------------------------------


def unsupported(problem: MatchProblem) -> str | None:
    """Why this backend cannot solve ``problem``, or None.

    It needs a dense float matrix, or integers within ``2**53`` (sparse input has nothing to
    price: use ``flow``).
    """
    s = problem.dense
    if s is None:
        return "it prices a dense score matrix; sparse input is solved exactly by method='flow'"
    if s.dtype.kind in "iu" and s.size and max(int(s.max()), -int(s.min())) > _FLOAT_EXACT:
        return "its integer scores exceed 2**53; use method='flow'"
    return None


def solve(problem: MatchProblem) -> BackendResult:
    """The ``certified`` backend entry point for :func:`pbmatch.match` (dense input)."""
    assert problem.dense is not None
    if problem.has_minimums:
        # The flow backend's cheap checks, on the full matrix, name the row or column at fault.
        from pbmatch.solvers.flow import _precheck

        allowed = problem.dense > -np.inf
        deg_row = np.count_nonzero(allowed & (problem.right_capacity > 0)[None, :], axis=1)
        deg_col = np.count_nonzero(allowed & (problem.left_capacity > 0)[:, None], axis=0)
        failed = _precheck(problem, deg_row, deg_col)
        if failed is not None:
            return failed
    source = ScoreSource((problem.n_rows, problem.n_cols), dense=problem.dense)
    return solve_certified(
        source,
        problem.left_capacity,
        problem.right_capacity,
        problem.left_min,
        problem.right_min,
    )


BACKEND = Backend(name="certified", unsupported=unsupported, solve=solve)
