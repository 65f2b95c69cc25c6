"""The ``assignment`` backend: OR-Tools ``SimpleLinearSumAssignment`` for optional 1:1 matching.

OR-Tools solves a *perfect* min-cost assignment on a square bipartite graph; :func:`pbmatch.match`
wants a maximum-score matching in which every pair is optional and the matrix may be rectangular.
The backend pads to the complete ``K x K`` graph, ``K = max(n, m)``, with weight
``w = max(score, 0)`` (0 for forbidden pairs, pairs of a zero-capacity row or column, and the
padding), solves the perfect assignment, and keeps the real pairs with ``w > 0``. This is exact:
only pairs with a score > 0 can raise the total; any matching ``M`` of positive pairs extends to a
perfect matching of the same weight by zero-weight arcs, and any perfect matching restricted to
its positive arcs is such a matching of the same weight, so the optima agree.

OR-Tools minimises, so costs are the negated scaled weights. ``SimpleLinearSumAssignment``
multiplies costs by ``K + 1`` (its left node count + 1); :mod:`pbmatch.solvers.scaling` has the
bound that keeps it from overflowing.

The solver is fast on dense, near-square matrices with mostly positive scores; many zero-weight
arcs (padding rows, forbidden or non-positive pairs) make it slow, which is why ``auto`` sends
other 1:1 problems to the ``flow`` backend. (An exact sparse alternative, mirror copies of rows
and columns joined by zero-weight arcs, needs only ``2p + n + m`` arcs but was hundreds of times
slower in OR-Tools 9.15 on a 40000 x 40000 problem with 16 candidates a row, so it is not used.)
"""

from __future__ import annotations

import numpy as np

from pbmatch._status import ERROR, OPTIMAL, Status
from pbmatch.solvers.problem import Backend, BackendResult, MatchProblem, empty_result
from pbmatch.solvers.scaling import PRICE_ROOM, Scaling, max_safe_cost, scale_scores
from pbmatch.solvers.status import map_status

__all__ = ["BACKEND", "MAX_ARCS", "solve", "unsupported"]

_SOLVER = "SimpleLinearSumAssignment"

MAX_ARCS = 1 << 27
"""Largest padded ``K x K`` grid the backend builds (about 4 GB of arrays)."""


def unsupported(problem: MatchProblem) -> str | None:
    """Why this backend cannot solve ``problem``, or None.

    It needs capacities <= 1, no minimums, and a padded grid of at most :data:`MAX_ARCS` arcs.
    """
    if problem.has_minimums:
        return "it has minimums (left_min/right_min > 0); use method='flow'"
    if problem.max_capacity > 1:
        return "a capacity is above 1; use method='flow'"
    k = max(problem.n_rows, problem.n_cols)
    if k * k > MAX_ARCS:
        return f"its padded {k} x {k} grid has more than {MAX_ARCS} arcs; use method='flow'"
    return None


def _solve_assignment(
    tails: np.ndarray, heads: np.ndarray, costs: np.ndarray, n_left: int
) -> tuple[np.ndarray | None, Status, str]:
    from ortools.graph.python import linear_sum_assignment

    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    solver.add_arcs_with_cost(tails, heads, costs)
    status, message = map_status(_SOLVER, solver.solve())
    if status != OPTIMAL:
        return None, status, message
    # One call per left node (not per pair): the API has no vectorised mate query.
    mates = np.fromiter(map(solver.right_mate, range(n_left)), dtype=np.intp, count=n_left)
    return mates, status, message


def _weights(problem: MatchProblem) -> np.ndarray:
    """``max(score, 0)`` on the ``K x K`` padded grid, 0 where a pair cannot be used."""
    n, m = problem.n_rows, problem.n_cols
    k = max(n, m)
    if problem.dense is not None:
        s = problem.dense
        zero = np.zeros((), dtype=s.dtype)
        if n == m:
            weights = np.maximum(s, zero)  # -inf -> 0
        else:
            weights = np.zeros((k, k), dtype=s.dtype)
            np.maximum(s, zero, out=weights[:n, :m])
    else:
        assert problem.pair_values is not None
        rows, cols, values = problem.candidate_pairs()
        weights = np.zeros((k, k), dtype=problem.pair_values.dtype)
        weights[rows, cols] = values
    lcap, rcap = problem.left_capacity, problem.right_capacity
    if not lcap.all():
        weights[np.flatnonzero(lcap == 0), :] = 0
    if not rcap.all():
        weights[:, np.flatnonzero(rcap == 0)] = 0
    return weights


def _failed(status: Status, message: str, scaling: Scaling, max_cost: int) -> BackendResult:
    # The complete padded graph always has a perfect matching, and costs are within the bound
    # of pbmatch.solvers.scaling: any status but OPTIMAL is a solver failure.
    message = f"{message}, with integer costs within +-{max_cost}; a solver failure"
    return empty_result(ERROR, message, scaling=scaling)


def solve(problem: MatchProblem) -> BackendResult:
    """Solve an optional 1:1 matching (capacities <= 1, no minimums) exactly.

    Notes
    -----
    ``K^2`` arcs for ``K = max(n, m)``; Goldberg-Kennedy cost scaling, ``O(K^3 log(K C))`` in
    the worst case. Deterministic. ``time_limit`` is ignored: the solve is polynomial.
    """
    n, m = problem.n_rows, problem.n_cols
    if n == 0 or m == 0:
        return empty_result(OPTIMAL, f"{_SOLVER} not called: an empty side")
    weights = _weights(problem)
    k = weights.shape[0]
    # Dense input: `weights` is ours and not needed afterwards, so scaling may overwrite it.
    # Its overflow bound, and room for exact dual prices (only binds below ~60 x 60).
    max_cost = max(1, min(max_safe_cost(k + 1), PRICE_ROOM // (n + m + 1)))
    costs, scaling = scale_scores(
        weights.reshape(-1),
        max_cost=max_cost,
        negate=True,
        overwrite=problem.dense is not None,
    )
    nodes = np.arange(k, dtype=np.int32)
    mates, status, message = _solve_assignment(np.repeat(nodes, k), np.tile(nodes, k), costs, n)
    if mates is None:
        return _failed(status, message, scaling, max_cost)
    rows = np.flatnonzero(mates < m)
    cols = mates[rows]
    if problem.dense is not None:
        values = problem.dense[rows, cols]
        keep = values > 0
        keep &= (problem.left_capacity[rows] > 0) & (problem.right_capacity[cols] > 0)
    else:
        values = weights[rows, cols]  # the given scores of candidate pairs, else 0
        keep = values > 0
    return BackendResult(rows[keep], cols[keep], values[keep], status, message, scaling)


BACKEND = Backend(name="assignment", unsupported=unsupported, solve=solve)
