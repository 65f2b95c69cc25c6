"""The ``cpsat`` backend for one-pool b-matching: a plain 0-1 model solved by OR-Tools CP-SAT.

One Boolean per edge, ``sum(x_e, e at v) <= b_v`` at every node (an ``at_most_one`` when
``b_v = 1``), ``maximize sum(w_e x_e)``. It is the exact method of last resort and the exact
sub-solver of :mod:`pbmatch.solvers.general_relax`, which hands it the small pieces of a problem
that the relaxation leaves fractional. CP-SAT's LP relaxation with its zero-half cuts (which
include the odd-set "blossom" inequalities) is what makes it fast on matching.

The model is written as protobuf text in one string and parsed in C++ (about three times faster
than one Python call per variable). CP-SAT runs with one worker and a fixed seed, so a solve
that ends by proof is the same run after run; a solve stopped by ``time_limit`` depends on the
machine's speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pbmatch._status import (
    ERROR,
    FEASIBLE,
    OPTIMAL,
    Status,
)
from pbmatch.solvers.general_problem import GeneralProblem, GeneralSolution
from pbmatch.solvers.status import map_status

__all__ = ["CpsatOutcome", "solve", "solve_edges"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_SOLVER = "CpSolver"


@dataclass(frozen=True, eq=False)
class CpsatOutcome:
    """One CP-SAT solve of an edge set.

    Attributes
    ----------
    chosen : ndarray of bool
        Per edge of the solved set; all False without a solution.
    status : str
        The pbmatch status (:data:`pbmatch.solvers.status.STATUS_TABLE`, ``"CpSolver"`` rows).
    name : str
        CP-SAT's own status name.
    objective, bound : int
        The solution's total weight and CP-SAT's proven upper bound (integers).
    wall_time : float
        CP-SAT's own wall time in seconds.
    """

    chosen: BoolArray
    status: Status
    name: str
    objective: int
    bound: int
    wall_time: float


def _join(values: IntArray) -> str:
    return ", ".join(map(str, values.tolist()))


def _cut_text(cuts: list[tuple[IntArray, int]]) -> list[str]:
    """``sum(x_e, e in edges) <= rhs`` for each cut."""
    out = []
    for edges, rhs in cuts:
        ones = ", ".join(["1"] * edges.size)
        out.append(
            f"constraints {{ linear {{ vars: [{_join(edges)}] coeffs: [{ones}] "
            f"domain: [0, {rhs}] }} }}\n"
        )
    return out


def _model_text(
    tails: IntArray,
    heads: IntArray,
    costs: IntArray,
    capacity: IntArray,
    lower: IntArray | None,
    hint: BoolArray | None,
    cuts: list[tuple[IntArray, int]] | None = None,
) -> str:
    """The CpModelProto text of the b-matching model on local node indices."""
    p = tails.size
    ends = np.concatenate([tails, heads])
    edge_of_end = np.concatenate([np.arange(p), np.arange(p)])
    order = np.argsort(ends, kind="stable")
    ends, edge_of_end = ends[order], edge_of_end[order]
    breaks = np.flatnonzero(np.diff(ends)) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [ends.size]])
    parts = ["variables { domain: [0, 1] }\n" * p]
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        node = ends[start]
        cap = int(capacity[node])
        low = 0 if lower is None else int(lower[node])
        if stop - start <= cap and low == 0:
            continue
        literals = _join(edge_of_end[start:stop])
        if cap == 1:
            kind = "exactly_one" if low == 1 else "at_most_one"
            parts.append(f"constraints {{ {kind} {{ literals: [{literals}] }} }}\n")
        else:
            ones = ", ".join(["1"] * (stop - start))
            parts.append(
                f"constraints {{ linear {{ vars: [{literals}] coeffs: [{ones}] "
                f"domain: [{low}, {cap}] }} }}\n"
            )
    parts.extend(_cut_text(cuts or []))
    indices = _join(np.arange(p))
    # CP-SAT minimises: maximise w.x as minimise -w.x, reported with scaling factor -1.
    parts.append(
        f"objective {{ vars: [{indices}] coeffs: [{_join(-costs)}] scaling_factor: -1 }}\n"
    )
    if hint is not None:
        parts.append(
            f"solution_hint {{ vars: [{indices}] values: [{_join(hint.astype(np.int64))}] }}\n"
        )
    return "".join(parts)


def solve_edges(
    tails: IntArray,
    heads: IntArray,
    costs: IntArray,
    capacity: IntArray,
    *,
    lower: IntArray | None = None,
    hint: BoolArray | None = None,
    cuts: list[tuple[IntArray, int]] | None = None,
    time_limit: float | None = None,
) -> CpsatOutcome:
    """Solve the b-matching on the given edges exactly (up to ``time_limit``) with CP-SAT.

    Parameters
    ----------
    tails, heads : ndarray of int64
        Edges on node indices ``0 .. len(capacity) - 1``.
    costs : ndarray of int64
        Edge weights (any sign; the caller passes positive ones).
    capacity : ndarray of int64
        Per node.
    lower : ndarray of int64, optional
        Fewest chosen edges per node (``<= capacity``); a node with fewer edges makes the model
        infeasible.
    hint : ndarray of bool, optional
        A choice of edges to start from.
    cuts : list of (ndarray of int64, int), optional
        Valid inequalities ``sum(x_e, e in edges) <= rhs`` to add (blossom inequalities: a
        0-1 matching model's LP lacks them, see :func:`pbmatch.solvers.general_relax`).
    time_limit : float, optional
        Seconds.
    """
    from ortools.sat.python import cp_model

    p = tails.size
    if p == 0:
        return CpsatOutcome(np.zeros(0, dtype=bool), OPTIMAL, "OPTIMAL", 0, 0, 0.0)
    model = cp_model.CpModel()
    text = _model_text(tails, heads, costs, capacity, lower, hint, cuts)
    if not model.proto.parse_text_format(text):
        return CpsatOutcome(np.zeros(p, dtype=bool), ERROR, "MODEL_INVALID", 0, 0, 0.0)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    # Level 2 keeps every at-most-one in the LP even after presolve has rewritten some of
    # them as implications; at the default level the LP of a sparse, path-like piece can lose
    # almost all its rows and the search then runs without a useful bound.
    solver.parameters.linearization_level = 2
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = max(time_limit, 1e-3)
    code = solver.solve(model)
    name = str(solver.status_name(code))
    status, _ = map_status(_SOLVER, name)
    wall = float(solver.wall_time)
    if status not in (OPTIMAL, FEASIBLE):
        return CpsatOutcome(np.zeros(p, dtype=bool), status, name, 0, 0, wall)
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)[:p]
    chosen = values > 0
    objective = int(np.dot(costs, values))
    # The exact integer bound of the minimised inner objective -w.x (the float
    # best_objective_bound loses digits above 2**53).
    bound = -int(solver.response_proto.inner_objective_lower_bound)
    return CpsatOutcome(chosen, status, name, objective, max(bound, objective), wall)


def solve(problem: GeneralProblem) -> GeneralSolution:
    """Solve a :class:`GeneralProblem` with one CP-SAT model (the ``cpsat`` method).

    Notes
    -----
    Exact when CP-SAT proves optimality; NP-hard in its search in general, fast in practice on
    matching. Deterministic with one worker and seed 0 unless ``time_limit`` stops it.
    """
    out = solve_edges(
        problem.tails,
        problem.heads,
        problem.costs,
        problem.capacity,
        time_limit=problem.time_limit,
    )
    message = f"CP-SAT status {out.name} ({problem.n_edges} edges, {out.wall_time:.3f} s)"
    upper2 = 2 * out.bound if out.status in (OPTIMAL, FEASIBLE) else None
    return GeneralSolution(
        out.chosen, out.status, message, upper2, {"cpsat_edges": problem.n_edges}
    )
