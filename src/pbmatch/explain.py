"""Why this pair, and why not that one: exact answers from the optimality certificate.

For a pair of a solved b-matching, :func:`explain_pair` says how much the best total would drop
if the pair's status were forced the other way: removed when it is chosen (its *margin*), added
when it is not (its *loss*), and which pairs would leave and join the solution to make room.

How it is computed
------------------
The certificate (:class:`pbmatch.solvers.certified.Certificate`) holds prices ``u`` (rows) and
``v`` (columns) under which every arc of the solution's residual graph has a non-negative
reduced cost (see :mod:`pbmatch.solvers.duals`). Any solution differs from the optimal one ``x``
by cycles of that graph, each of non-negative cost, so the best solution that flips pair
``e = (i, j)`` is ``x`` plus the cheapest cycle through ``e``: for an unchosen pair, the arc
``i -> j`` and a shortest path from ``j`` back to ``i``; for a chosen one, the arc ``j -> i`` and
a shortest path from ``i`` to ``j``. Reduced costs are non-negative, so Dijkstra finds the path
exactly, in integer gains, over *every* allowed pair (rows are read whole from the score
source, so pairs that were never candidates count too). The cycle's chosen pairs leave the
solution and its unchosen pairs join; ``loss`` is the resulting drop in true scores.

The reduced score ``(g_e - u_i - v_j) * resolution`` alone is a lower bound on that loss (the
path costs >= 0): it is what the prices say at a glance, the loss is what re-solving with the
pair forced would give.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError, SolverError

__all__ = ["Explanation", "explain_pair"]

I64 = npt.NDArray[np.int64]
_INF = np.int64(1) << 62


@dataclass(frozen=True)
class Explanation:
    """Why a pair is, or is not, in an optimal solution.

    Attributes
    ----------
    row, col : int or str
        The pair (indices for :meth:`MatchResult.explain`, ids for
        :meth:`PairingResult.explain`).
    chosen : bool
        Whether the solution uses the pair.
    allowed : bool
        Whether the pair may be used at all (finite score, capacity at both ends).
    score : float
        Its score (``-inf`` when forbidden).
    loss : float
        How much the best total drops if the pair is forced out (chosen: its margin) or in
        (not chosen); ``0`` for a tie, ``inf`` when no solution can flip it (minimums, or a
        forbidden pair).
    reduced_score : float or None
        ``score - u_row - v_col`` in the certificate's prices (scaled back to scores): >= 0
        for a chosen pair, <= 0 for another; a lower bound on ``loss``.
    objective : float
        The solution's total.
    alternative : float
        The best total with the pair flipped (``objective - loss``).
    leave, join : list of tuple
        Pairs that leave and join the solution in that best alternative (the flipped pair
        included).
    breakdown : dict
        Score components of the pair (pairings only).
    """

    row: Any
    col: Any
    chosen: bool
    allowed: bool
    score: float
    loss: float
    reduced_score: float | None
    objective: float
    alternative: float
    leave: list[tuple[Any, Any]] = field(default_factory=list)
    join: list[tuple[Any, Any]] = field(default_factory=list)
    breakdown: dict[str, float] = field(default_factory=dict)

    @property
    def margin(self) -> float | None:
        """For a chosen pair, how much the total would lose without it; else None."""
        return self.loss if self.chosen else None

    @property
    def displaced(self) -> list[tuple[Any, Any]]:
        """For an unchosen pair, the chosen pairs it would push out; else ``[]``."""
        return [] if self.chosen else self.leave

    def __str__(self) -> str:
        pair = f"({self.row}, {self.col})"
        if not self.allowed:
            return f"pair {pair} is not allowed (score {self.score}, or a capacity of 0)"
        if self.chosen:
            if math.isinf(self.loss):
                return f"pair {pair} is chosen and cannot be removed: the minimums need it"
            others = ", ".join(map(str, self.join[:5])) or "nothing"
            return (
                f"pair {pair} is chosen (score {self.score:.6g}); without it the best total "
                f"drops by {self.loss:.6g} to {self.alternative:.6g}, replaced by {others}"
            )
        if math.isinf(self.loss):
            return (
                f"pair {pair} is not chosen and cannot be: the capacities and minimums rule it out"
            )
        pushed = ", ".join(map(str, self.leave[:5])) or "nothing"
        return (
            f"pair {pair} is not chosen (score {self.score:.6g}); forcing it in drops the best "
            f"total by {self.loss:.6g} to {self.alternative:.6g}, displacing {pushed}"
        )


def _row_gains(row: npt.NDArray[np.float64], scale: float) -> I64:
    with np.errstate(over="ignore", invalid="ignore"):
        g = np.clip(np.rint(row * scale), -float(_INF), float(_INF))
    return g.astype(np.int64)


def explain_pair(cert: Any, objective: float, row: int, col: int) -> Explanation:
    """Explain pair ``(row, col)`` of a certified solution.

    Parameters
    ----------
    cert : Certificate
        From the result (``result.certificate``); must be certified.
    objective : float
        The solution's total.
    row, col : int
        The pair.

    Returns
    -------
    Explanation

    Notes
    -----
    Dijkstra with an array of tentative distances: each settled row reads one row of scores
    from the source (``O(m)``), each settled column its chosen pairs; it stops when the end of
    the cycle is settled. Worst case ``O((n + m) (n + m))``, usually far less. Deterministic.
    """
    if not cert.certified or cert.duals is None:
        raise SolverError("this result has no optimality certificate, so it cannot be explained")
    source = cert.source
    n, m = source.shape
    if not (0 <= row < n and 0 <= col < m):
        raise InputError(f"pair ({row}, {col}) is outside the {n} x {m} score matrix")
    u, v, scale = cert.duals.u, cert.duals.v, cert.scale
    lcap, rcap = cert.lcap, cert.rcap
    chosen_mask = cert.chosen
    pr, pc = cert.rows[chosen_mask], cert.cols[chosen_mask]
    pv = cert.values[chosen_mask]
    is_chosen = bool(np.any((pr == row) & (pc == col)))
    scores_row = source.row(row)
    score = float(scores_row[col])
    allowed = score > -math.inf and lcap[row] > 0 and rcap[col] > 0
    if not allowed:
        return Explanation(row, col, False, False, score, math.inf, None, objective, -math.inf)
    reduced = score - (int(u[row]) + int(v[col])) / scale
    start, target = (row, n + col) if is_chosen else (n + col, row)
    path = _shortest_path(cert, pr, pc, start, target)
    if path is None:
        return Explanation(
            row, col, is_chosen, True, score, math.inf, reduced, objective, -math.inf
        )
    # The cycle: the flipped pair, then the path's pair arcs (col -> row: a chosen pair
    # leaves; row -> col: a pair joins).
    leave: list[tuple[int, int]] = []
    join: list[tuple[int, int]] = []
    (leave if is_chosen else join).append((row, col))
    for a, b in itertools.pairwise(path):
        if a < n <= b < n + m:
            join.append((a, b - n))
        elif b < n <= a < n + m:
            leave.append((b, a - n))
    chosen_keys = pr.astype(np.int64) * m + pc
    out_r = np.array([p[0] for p in leave], dtype=np.int64)
    out_c = np.array([p[1] for p in leave], dtype=np.int64)
    left = pv[np.searchsorted(chosen_keys, out_r * m + out_c)]
    joined = [float(source.row(r)[c]) for r, c in join]
    loss = math.fsum(left.tolist()) - math.fsum(joined)
    return Explanation(
        row,
        col,
        is_chosen,
        True,
        score,
        loss,
        reduced,
        objective,
        objective - loss,
        sorted(leave),
        sorted(join),
    )


def _shortest_path(cert: Any, pr: I64, pc: I64, start: int, target: int) -> list[int] | None:
    """Nodes of a shortest path in reduced costs from ``start`` to ``target``, or None."""
    source = cert.source
    n, m = source.shape
    u, v, scale = cert.duals.u, cert.duals.v, cert.scale
    lcap, rcap, lmin, rmin = cert.lcap, cert.rcap, cert.lmin, cert.rmin
    hub = n + m
    deg_r = np.bincount(pr, minlength=n)
    deg_c = np.bincount(pc, minlength=m)
    order = np.argsort(pc, kind="stable")
    by_col_rows = pr[order]
    col_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(pc, minlength=m), out=col_ptr[1:])
    by_col_gains = cert.gains[cert.chosen][order]
    chosen_keys = pr.astype(np.int64) * m + pc  # sorted: the pool is sorted by row, column
    col_useful = rcap > 0
    need_col = rmin > 0
    rows_in = np.flatnonzero(deg_r < lcap)  # R -> i
    cols_in = np.flatnonzero(deg_c > rmin)  # R -> j

    size = n + m + 1
    dist = np.full(size, _INF, dtype=np.int64)
    open_ = np.full(size, _INF, dtype=np.int64)  # dist of unsettled nodes, INF once settled
    parent = np.full(size, -1, dtype=np.int64)
    dist[start] = open_[start] = 0

    settled = np.zeros(size, dtype=np.bool_)

    def relax(x: int, heads: I64, costs: I64) -> None:
        cand = dist[x] + costs
        better = (cand < dist[heads]) & ~settled[heads]
        heads, cand = heads[better], cand[better]
        dist[heads] = cand
        open_[heads] = cand
        parent[heads] = x

    while True:
        x = int(np.argmin(open_))
        if open_[x] >= _INF:
            return None
        if x == target:
            break
        open_[x] = _INF
        settled[x] = True
        if x < n:  # a row: every unchosen useful pair, and back to R above its minimum
            scores = source.row(x)
            cols = np.flatnonzero(
                (scores > -np.inf) & col_useful & ((scores > 0) | (lmin[x] > 0) | need_col)
            )
            if chosen_keys.size:
                key = x * m + cols
                pos = np.minimum(np.searchsorted(chosen_keys, key), chosen_keys.size - 1)
                cols = cols[chosen_keys[pos] != key]
            g = _row_gains(scores[cols], scale)
            relax(x, n + cols, u[x] + v[cols] - g)
            if deg_r[x] > lmin[x]:
                relax(x, np.array([hub]), np.array([u[x]]))
        elif x < hub:  # a column: its chosen pairs back to their rows, and on to R if it has room
            j = x - n
            rows = by_col_rows[col_ptr[j] : col_ptr[j + 1]]
            g = by_col_gains[col_ptr[j] : col_ptr[j + 1]]
            relax(x, rows.astype(np.int64), g - u[rows] - v[j])
            if deg_c[j] < rcap[j]:
                relax(x, np.array([hub]), np.array([-v[j]]))
        else:  # R
            relax(x, rows_in.astype(np.int64), -u[rows_in])
            relax(x, n + cols_in.astype(np.int64), v[cols_in])
    path = [target]
    while path[-1] != start:
        path.append(int(parent[path[-1]]))
    return path[::-1]
