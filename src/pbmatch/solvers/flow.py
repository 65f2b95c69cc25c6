"""The ``flow`` backend: OR-Tools ``SimpleMinCostFlow`` for capacities and minimums.

The network, with ``S`` a source and ``T`` a sink::

    S --[left_min_i, cap_i]--> row i --[0, 1], cost -score--> col j --[right_min_j, cap_j]--> T
    S ------------------------------[0, F], cost 0 (bypass)---------------------------------> T

Pair arcs exist only for candidate pairs (allowed, capacity on both ends, and a score > 0 or a
minimum at either end; see :meth:`MatchProblem.candidate_pairs` for why that is exact). ``F`` is
the most pairs any solution can have, so the bypass makes every pair optional: ``F`` units leave
``S`` and each takes either a source-row-column-sink path (one chosen pair) or the bypass.

Minimums are exact lower bounds by the standard transformation: an arc ``u -> v`` with flow in
``[l, c]`` becomes capacity ``c - l`` with ``l`` moved into the supplies (``u`` supplies ``-l``,
``v`` supplies ``+l``). So ``S`` supplies ``F - sum(left_min)``, row ``i`` supplies
``left_min_i``, column ``j`` demands ``right_min_j`` and ``T`` demands ``F - sum(right_min)``.
A flow exists iff every minimum can be met at once; cheap necessary conditions are checked
first so that the report can name the row or column at fault.

Capacities are clipped to the number of candidate pairs at each node (exact: a node cannot use
more), which also keeps every sum far from int64 overflow.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pbmatch._status import ERROR, INFEASIBLE, OPTIMAL, WITH_SOLUTION, Status
from pbmatch.solvers.problem import Backend, BackendResult, MatchProblem, empty_result
from pbmatch.solvers.scaling import max_safe_cost, scale_scores
from pbmatch.solvers.status import map_status

__all__ = ["BACKEND", "solve", "solve_network", "unsupported"]

_SOLVER = "SimpleMinCostFlow"
_INT32_MAX = (1 << 31) - 1


def unsupported(problem: MatchProblem) -> str | None:
    """Always None: the flow backend solves every problem :func:`pbmatch.match` accepts."""
    return None


def _precheck(
    problem: MatchProblem, deg_row: np.ndarray, deg_col: np.ndarray
) -> BackendResult | None:
    """Name the first row or column whose minimum cannot be met, or return None."""
    lmin, rmin = problem.left_min, problem.right_min
    for side, mins, deg, unit, other, param in (
        ("left", lmin, deg_row, "row", "columns", "left_min"),
        ("right", rmin, deg_col, "column", "rows", "right_min"),
    ):
        short = np.flatnonzero(mins > deg)
        if short.size:
            i = int(short[0])
            message = (
                f"{unit} {i} must have at least {int(mins[i])} pairs ({param}[{i}] = "
                f"{int(mins[i])}) but only {int(deg[i])} {other} are allowed for it (a finite "
                f"score or stored sparse entry, and capacity > 0); found before calling {_SOLVER}"
            )
            return empty_result(
                INFEASIBLE,
                message,
                diagnosis={
                    "side": side,
                    "index": i,
                    "minimum": int(mins[i]),
                    "allowed": int(deg[i]),
                },
            )
    room_right = int(np.minimum(problem.right_capacity, deg_col).sum())
    room_left = int(np.minimum(problem.left_capacity, deg_row).sum())
    for side, total, room, who, whom in (
        ("left", int(lmin.sum()), room_right, "rows' minimums (left_min)", "columns"),
        ("right", int(rmin.sum()), room_left, "columns' minimums (right_min)", "rows"),
    ):
        if total > room:
            message = (
                f"the {who} total {total} pairs but the {whom} can take at most {room} "
                f"(their capacities over allowed pairs); found before calling {_SOLVER}"
            )
            return empty_result(
                INFEASIBLE, message, diagnosis={"side": side, "total": total, "room": room}
            )
    return None


def solve(problem: MatchProblem) -> BackendResult:
    """Solve a capacitated matching with optional minimums exactly by min-cost flow.

    Notes
    -----
    ``n + m + 2`` nodes and ``p + n + m + 1`` arcs for ``p`` candidate pairs; OR-Tools' cost
    scaling push-relabel, ``O(V^2 E log(V C))`` worst case and near-linear in practice.
    Deterministic. ``time_limit`` is ignored: the solve is polynomial.
    """
    n, m = problem.n_rows, problem.n_cols
    rows, cols, values = problem.candidate_pairs()
    p = rows.size
    deg_row = np.bincount(rows, minlength=n)
    deg_col = np.bincount(cols, minlength=m)
    failed = _precheck(problem, deg_row, deg_col) if problem.has_minimums else None
    if failed is not None:
        return failed
    if p == 0:
        return empty_result(OPTIMAL, f"{_SOLVER} not called: no candidate pair")
    if p + n + m + 1 > _INT32_MAX:
        return empty_result(ERROR, f"{p} candidate pairs are more arcs than {_SOLVER} indexes")

    lcap = np.minimum(problem.left_capacity, deg_row)
    rcap = np.minimum(problem.right_capacity, deg_col)
    # SimpleMinCostFlow adds its own source and sink: n + m + 4 nodes, costs scaled by n + m + 5.
    max_cost = max_safe_cost(n + m + 5)
    costs, scaling = scale_scores(values, max_cost=max_cost, negate=True)
    status, message, flows = solve_network(
        rows, cols, costs, lcap, rcap, problem.left_min, problem.right_min
    )
    if flows is None:
        if status == INFEASIBLE:
            message = f"left_min/right_min cannot all be met at once ({message})"
        elif status == ERROR:
            message = f"{message}, with integer costs within +-{max_cost}; a solver failure"
        return empty_result(status, message, scaling=scaling)
    chosen = np.flatnonzero(flows)
    return BackendResult(rows[chosen], cols[chosen], values[chosen], status, message, scaling)


def solve_network(
    rows: npt.NDArray[np.intp],
    cols: npt.NDArray[np.intp],
    costs: npt.NDArray[np.int64],
    lcap: npt.NDArray[np.int64],
    rcap: npt.NDArray[np.int64],
    lmin: npt.NDArray[np.int64],
    rmin: npt.NDArray[np.int64],
    pair_capacity: npt.NDArray[np.int64] | None = None,
) -> tuple[Status, str, npt.NDArray[np.int64] | None]:
    """Solve the network of the module notes for integer pair ``costs`` (to minimise).

    Parameters
    ----------
    rows, cols : ndarray of int
        The pairs (arcs row -> column), at least one.
    costs : ndarray of int64
        Their costs, within :func:`~pbmatch.solvers.scaling.max_safe_cost` of ``n + m + 5``.
    lcap, rcap, lmin, rmin : ndarray of int64
        Capacities and minimums, ``0 <= min <= cap``, each capacity at most the number of
        pairs at its row or column (or the size of the other side), so sums cannot overflow.
    pair_capacity : ndarray of int64, optional
        Most units on each pair (default 1).

    Returns
    -------
    status, message, flows
        The mapped status, the solver's status words and, with a solution, the flow on each
        pair (None otherwise).
    """
    n, m = lcap.size, rcap.size
    p = rows.size
    total = min(int(lcap.sum()), int(rcap.sum()))
    if total < int(lmin.sum()) or total < int(rmin.sum()):
        return INFEASIBLE, f"{_SOLVER} not called: the minimums exceed the capacities", None
    source, sink = n + m, n + m + 1
    row_ids = np.arange(n, dtype=np.int32)
    col_ids = np.arange(n, n + m, dtype=np.int32)
    tails = np.concatenate([rows.astype(np.int32), np.full(n, source, np.int32), col_ids, [source]])
    heads = np.concatenate(
        [(cols + n).astype(np.int32), row_ids, np.full(m, sink, np.int32), [sink]]
    )
    pair_cap = np.ones(p, np.int64) if pair_capacity is None else pair_capacity
    capacities = np.concatenate([pair_cap, lcap - lmin, rcap - rmin, [total]])
    unit_costs = np.zeros(tails.size, dtype=np.int64)
    unit_costs[:p] = costs
    supplies = np.concatenate(
        [lmin, -rmin, [total - int(lmin.sum()), -(total - int(rmin.sum()))]]
    ).astype(np.int64)

    from ortools.graph.python import min_cost_flow

    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32, copy=False),
        heads.astype(np.int32, copy=False),
        capacities,
        unit_costs,
    )
    solver.set_nodes_supplies(np.arange(n + m + 2, dtype=np.int32), supplies)
    status, message = map_status(_SOLVER, solver.solve())
    if status not in WITH_SOLUTION:
        return status, message, None
    flows = np.asarray(solver.flows(np.arange(p, dtype=np.int32)), dtype=np.int64)
    return status, message, flows


BACKEND = Backend(name="flow", unsupported=unsupported, solve=solve)
