"""Shared CP-SAT helpers for the domain problems: deterministic solves, statuses, bounds.

Every model that pbmatch hands to OR-Tools CP-SAT goes through :func:`solve_model`, which

* fixes the parameters that decide the search: ``num_workers`` (1 by default), ``random_seed``
  (0) and, where given, ``max_time_in_seconds``; a solve that ends by proof is then the same
  run after run (a solve stopped by the time limit depends on the machine's speed);
* maps CP-SAT's status through :data:`pbmatch.solvers.status.STATUS_TABLE` (solver name
  ``"CpSolver"``), falling back to the CP-SAT table of the one-pool matcher for names that
  table does not list yet, and keeps CP-SAT's own status name for the result's ``message``;
* returns the integer objective, the proven integer bound and the relative gap.

Lexicographic objectives are turned into one integer objective with
:func:`dominating_weights`, whose weights make each level worth more than every possible change
of all the levels after it (so the combined optimum is the lexicographic optimum, exactly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import ERROR, FEASIBLE, INFEASIBLE, OPTIMAL, Status
from pbmatch.exceptions import InputError
from pbmatch.solvers.status import STATUS_TABLE

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

__all__ = [
    "MAX_OBJECTIVE",
    "CpsatSolution",
    "cpsat_status",
    "dominating_weights",
    "relative_gap",
    "solve_model",
]

IntArray = npt.NDArray[np.int64]

MAX_OBJECTIVE = 1 << 53
"""Largest objective magnitude the helpers allow: every value stays an exact float64 integer."""

SOLVER_NAME = "CpSolver"


def cpsat_status(name: str) -> Status:
    """The pbmatch status of a CP-SAT status name.

    Examples
    --------
    >>> cpsat_status("OPTIMAL"), cpsat_status("UNKNOWN"), cpsat_status("MODEL_INVALID")
    ('optimal', 'not_solved', 'error')
    """
    return STATUS_TABLE.get((SOLVER_NAME, name), ERROR)


def relative_gap(objective: float, bound: float | None) -> float | None:
    """``(bound - objective) / max(|bound|, 1)`` for a maximisation; 0 when proven optimal.

    Examples
    --------
    >>> relative_gap(9.0, 10.0), relative_gap(3.0, 3.0), relative_gap(1.0, None)
    (0.1, 0.0, None)
    """
    if bound is None or not math.isfinite(objective) or not math.isfinite(bound):
        return None
    return max(0.0, bound - objective) / max(abs(bound), 1.0)


def dominating_weights(spans: Sequence[int]) -> list[int]:
    """Integer weights that make a weighted sum of levels lexicographic.

    Level ``i`` takes integer values in a range of width ``spans[i]`` (its largest minus its
    smallest possible value over all solutions, or any upper bound of that). With
    ``w[-1] = 1`` and ``w[i] = 1 + sum(w[j] * spans[j] for j > i)``, one step of level ``i``
    outweighs every change of all later levels together, so maximising ``sum(w[i] * level[i])``
    maximises level 0 first, then level 1 among those optima, and so on.

    Raises
    ------
    InputError
        The combined objective could exceed :data:`MAX_OBJECTIVE` (the message gives the
        spans); coarsen a lower level's resolution.

    Examples
    --------
    >>> dominating_weights([10, 100, 5])
    [606, 6, 1]
    """
    weights = [1] * len(spans)
    total = 0
    for i in range(len(spans) - 1, -1, -1):
        if spans[i] < 0:
            raise InputError(f"spans[{i}] is {spans[i]}; a level's span must be >= 0")
        weights[i] = 1 + total
        total += weights[i] * int(spans[i])
    if total + weights[0] > MAX_OBJECTIVE:
        raise InputError(
            f"a lexicographic objective with level spans {list(spans)} needs weights up to "
            f"{total}, above 2**53; coarsen the resolution of a lower level"
        )
    return weights


@dataclass(frozen=True, eq=False)
class CpsatSolution:
    """One CP-SAT solve.

    Attributes
    ----------
    status : str
        The pbmatch status (:func:`cpsat_status`).
    name : str
        CP-SAT's own status name (``OPTIMAL``, ``FEASIBLE``, ``INFEASIBLE``, ``UNKNOWN``,
        ``MODEL_INVALID``).
    values : ndarray of int64
        The value of every model variable, in index order; empty without a solution.
    objective, bound : int
        The solution's objective and CP-SAT's proven bound, in the model's sense (an upper
        bound when maximising); both 0 without a solution.
    wall_time : float
        CP-SAT's own wall time, seconds.
    """

    status: Status
    name: str
    values: IntArray
    objective: int
    bound: int
    wall_time: float

    @property
    def success(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)

    @property
    def gap(self) -> float | None:
        """Relative gap between bound and objective (``None`` without a solution)."""
        return relative_gap(float(self.objective), float(self.bound)) if self.success else None

    def message(self, what: str = "CP-SAT") -> str:
        """``"<what> status NAME (objective o, bound b, 0.123 s)"``."""
        if not self.success:
            return f"{what} status {self.name} ({self.wall_time:.3f} s)"
        return (
            f"{what} status {self.name} (objective {self.objective}, bound {self.bound}, "
            f"{self.wall_time:.3f} s)"
        )


def solve_model(
    model: cp_model.CpModel,
    *,
    time_limit: float | None = None,
    num_workers: int = 1,
    random_seed: int = 0,
    linearization_level: int | None = None,
    deterministic_limit: float | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> CpsatSolution:
    """Solve ``model`` with fixed, deterministic parameters.

    Parameters
    ----------
    model : ortools.sat.python.cp_model.CpModel
        With an objective whose every coefficient, and whose total, stays below 2**53.
    time_limit : float, optional
        Seconds (``max_time_in_seconds``); ``None`` runs to proof.
    num_workers : int, default 1
        Search workers. One worker gives the same answer on every run; more workers may find
        a different optimum of equal value.
    random_seed : int, default 0
    linearization_level : int, optional
        CP-SAT's ``linearization_level``; 2 puts every at-most-one and Boolean constraint in the
        LP relaxation, which is what set-packing models need for a useful bound.
    deterministic_limit : float, optional
        CP-SAT's ``max_deterministic_time``: a work limit (in CP-SAT's deterministic time
        units, roughly seconds) that stops the search at the same point on every machine.
    parameters : mapping, optional
        Further ``SatParameters`` fields by name (e.g. ``optimize_with_lb_tree_search``).

    Returns
    -------
    CpsatSolution
    """
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = random_seed
    if linearization_level is not None:
        solver.parameters.linearization_level = linearization_level
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = max(float(time_limit), 1e-3)
    if deterministic_limit is not None:
        solver.parameters.max_deterministic_time = float(deterministic_limit)
    for key, value in (parameters or {}).items():
        setattr(solver.parameters, key, value)
    code = solver.solve(model)
    name = str(solver.status_name(code))
    status = cpsat_status(name)
    wall = float(solver.wall_time)
    if status not in (OPTIMAL, FEASIBLE):
        return CpsatSolution(status, name, np.zeros(0, dtype=np.int64), 0, 0, wall)
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    if not model.has_objective():
        return CpsatSolution(status, name, values, 0, 0, wall)
    objective = round(solver.objective_value)
    bound = round(solver.best_objective_bound)
    if status == OPTIMAL:
        bound = objective
    return CpsatSolution(status, name, values, objective, bound, wall)


# ---------------------------------------------------------------------------------------------
# Weighted set packing: choose disjoint columns (cycles, groups) of the most total weight
# ---------------------------------------------------------------------------------------------
DIRECT_MAX_COLUMNS = 4000
"""Packings with at most this many columns go to CP-SAT whole; larger ones are reduced first."""
PACKING_PARAMETERS: dict[str, Any] = {"optimize_with_lb_tree_search": True}
"""CP-SAT parameters of every packing solve: the best-bound tree search, which proves these
near-tight packings far faster than the default search (1.3 s instead of 8 s on a district's
hardest sub-problem)."""
COVER_PARAMETERS: dict[str, Any] = {}
"""CP-SAT parameters when every element must be covered (exactly-one rows): the default search,
which proves those partitions faster than the best-bound tree search (2.1 instead of 2.8
deterministic seconds over eight 1,000-unit exchange districts, 1.1 instead of 1.3 at most)."""
_CG_BATCH = 300
_CG_MAX_ROUNDS = 200
_PER_ELEMENT = 2
_GLOP_STATUS = {0: "OPTIMAL", 1: "FEASIBLE", 2: "INFEASIBLE", 3: "UNBOUNDED", 4: "ABNORMAL"}


@dataclass(frozen=True, eq=False)
class PackingSolution:
    """The answer of :func:`solve_set_packing`.

    Attributes
    ----------
    chosen : ndarray of bool
        Per column; all False without a solution.
    status : str
        ``"optimal"`` when the objective is proven the best over *all* columns.
    objective, bound : int
        Total weight of the chosen columns and a proven upper bound over all columns.
    message : str
        What was solved, with CP-SAT's and GLOP's own status names.
    wall_time : float
        Seconds.
    extra : dict
        Counters: ``columns``, ``lp_bound`` (float; ``None`` on the direct path),
        ``lp_rounds``, ``solved_columns`` (the size of each CP-SAT model), ``targets``.
    """

    chosen: npt.NDArray[np.bool_]
    status: Status
    objective: int
    bound: int
    message: str
    wall_time: float
    extra: dict[str, object]

    @property
    def success(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)


def _column_rows(indptr: IntArray, indices: IntArray, n_elements: int) -> tuple[IntArray, IntArray]:
    """Transpose a column → elements CSR into element → columns (columns ascending)."""
    counts = np.diff(indptr)
    cols = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    order = np.argsort(indices, kind="stable")  # cols ascend already: stable keeps them so
    row_ptr = np.zeros(n_elements + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_elements), out=row_ptr[1:])
    return row_ptr, cols[order]


def _join(values: npt.NDArray[np.int64]) -> str:
    return ", ".join(map(str, values.tolist()))


def _packing_cpsat(
    indptr: IntArray,
    indices: IntArray,
    weights: IntArray,
    columns: IntArray,
    n_elements: int,
    *,
    at_least: int | None = None,
    min_elements: int = 0,
    time_limit: float | None = None,
) -> tuple[CpsatSolution, npt.NDArray[np.bool_]]:
    """CP-SAT on the given columns: one Boolean each, an at-most-one per element.

    The model is written as CpModelProto text and parsed in C++ (much faster than one Python
    call per variable). ``at_least`` restricts the objective to values ``>= at_least``;
    ``min_elements`` requires that many elements covered (all of them: an exactly-one per
    element, which propagates far better than at-most-one plus a count).
    """
    from ortools.sat.python import cp_model

    k = columns.size
    counts = indptr[columns + 1] - indptr[columns]
    sub_ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(counts, out=sub_ptr[1:])
    start = np.repeat(indptr[columns] - sub_ptr[:-1], counts)
    sub_idx = indices[start + np.arange(sub_ptr[-1], dtype=np.int64)]
    row_ptr, row_cols = _column_rows(sub_ptr, sub_idx, n_elements)
    parts = ["variables { domain: [0, 1] }\n" * k]
    sizes = np.diff(row_ptr)
    cover = min_elements >= n_elements
    kind = "exactly_one" if cover else "at_most_one"
    for e in (np.arange(n_elements) if cover else np.flatnonzero(sizes > 1)).tolist():
        lits = _join(row_cols[row_ptr[e] : row_ptr[e + 1]])
        parts.append(f"constraints {{ {kind} {{ literals: [{lits}] }} }}\n")
    ids = _join(np.arange(k, dtype=np.int64))
    if 0 < min_elements < n_elements:
        parts.append(
            f"constraints {{ linear {{ vars: [{ids}] coeffs: [{_join(counts)}] "
            f"domain: [{int(min_elements)}, {int(counts.sum())}] }} }}\n"
        )
    # CP-SAT minimises: maximise w.x as minimise -w.x, reported with scaling factor -1.
    domain = "" if at_least is None else f" domain: [{-MAX_OBJECTIVE}, {-int(at_least)}]"
    parts.append(
        f"objective {{ vars: [{ids}] coeffs: [{_join(-weights[columns])}] "
        f"scaling_factor: -1{domain} }}\n"
    )
    model = cp_model.CpModel()
    if not model.proto.parse_text_format("".join(parts)):  # pragma: no cover - a bug if so
        failed = CpsatSolution(ERROR, "MODEL_INVALID", np.zeros(0, np.int64), 0, 0, 0.0)
        return failed, np.zeros(k, dtype=bool)
    out = solve_model(
        model,
        time_limit=time_limit,
        linearization_level=2,
        parameters=COVER_PARAMETERS if cover else PACKING_PARAMETERS,
    )
    chosen = out.values[:k] > 0 if out.success else np.zeros(k, dtype=bool)
    return out, chosen


def _lp_prices(
    indptr: IntArray, indices: IntArray, weights: IntArray, n_elements: int
) -> tuple[npt.NDArray[np.float64], int, str]:
    """Dual prices of the packing LP by column generation with GLOP.

    Returns prices ``pi >= 0`` (one per element), the number of rounds and GLOP's last status.
    Any ``pi >= 0`` gives a valid bound (see :func:`solve_set_packing`), so an unfinished or
    inexact LP weakens the bound but never makes it wrong.
    """
    from ortools.linear_solver import pywraplp

    k = weights.size
    col_of = np.repeat(np.arange(k, dtype=np.int64), np.diff(indptr))
    w = weights.astype(np.float64)
    # Start from each element's best few columns by weight.
    row_ptr, row_cols = _column_rows(indptr, indices, n_elements)
    element = np.repeat(np.arange(n_elements, dtype=np.int64), np.diff(row_ptr))
    order = np.lexsort((-w[row_cols], element))
    rank = np.arange(order.size) - row_ptr[element[order]]
    start = np.unique(row_cols[order][rank < _PER_ELEMENT])

    solver = pywraplp.Solver.CreateSolver("GLOP")
    rows = [solver.Constraint(-solver.infinity(), 1.0) for _ in range(n_elements)]
    objective = solver.Objective()
    objective.SetMaximization()
    in_lp = np.zeros(k, dtype=bool)

    def add(columns: IntArray) -> None:
        for j in columns.tolist():
            var = solver.NumVar(0.0, solver.infinity(), "")
            objective.SetCoefficient(var, float(w[j]))
            for e in indices[indptr[j] : indptr[j + 1]].tolist():
                rows[e].SetCoefficient(var, 1.0)
        in_lp[columns] = True

    add(start)
    pi = np.zeros(n_elements)
    tol = 1e-9 * max(1.0, float(w.max(initial=0.0)))
    name = "NOT_SOLVED"
    rounds = 0
    while rounds < _CG_MAX_ROUNDS:
        rounds += 1
        code = solver.Solve()
        name = _GLOP_STATUS.get(code, "NOT_SOLVED")
        if code != pywraplp.Solver.OPTIMAL:
            break
        pi = np.maximum(np.array([r.dual_value() for r in rows], dtype=np.float64), 0.0)
        rc = w - np.bincount(col_of, weights=pi[indices], minlength=k)
        rc[in_lp] = -np.inf
        new = np.flatnonzero(rc > tol)
        if new.size == 0:
            break
        if new.size > _CG_BATCH:
            new = np.sort(new[np.argsort(-rc[new], kind="stable")[:_CG_BATCH]])
        add(new)
    return pi, rounds, f"GLOP status {name}"


def _greedy(indptr: IntArray, indices: IntArray, weights: IntArray, n_elements: int) -> IntArray:
    """A packing: columns by decreasing weight, each taken if its elements are still free.

    Each pick marks every column that meets one of its elements as blocked (through the
    element -> columns transpose), and the next pick is the first unblocked column in weight
    order; the work is linear in the size of the columns, not a Python step per column.
    """
    order = np.argsort(-weights, kind="stable")
    order = order[(weights[order] > 0) & (np.diff(indptr)[order] > 0)]
    rank = np.full(weights.size, order.size, dtype=np.int64)  # position in `order`
    rank[order] = np.arange(order.size, dtype=np.int64)
    row_ptr, row_cols = _column_rows(indptr, indices, n_elements)
    free = np.ones(order.size + 1, dtype=bool)  # the last entry: a sentinel for the others
    taken: list[int] = []
    at = 0
    while True:
        at += int(np.argmax(free[at:-1])) if at < order.size else 0
        if at >= order.size or not free[at]:
            break
        j = int(order[at])
        taken.append(j)
        for e in indices[indptr[j] : indptr[j + 1]].tolist():
            free[rank[row_cols[row_ptr[e] : row_ptr[e + 1]]]] = False
    return np.sort(np.asarray(taken, dtype=np.int64))


def solve_set_packing(
    indptr: IntArray,
    indices: IntArray,
    weights: IntArray,
    n_elements: int,
    *,
    time_limit: float | None = None,
    direct_max: int | None = None,
    element_weight: tuple[int, int] | None = None,
) -> PackingSolution:
    """Choose disjoint columns of the most total weight, exactly.

    Parameters
    ----------
    indptr, indices : ndarray of int64
        Column ``j`` covers elements ``indices[indptr[j]:indptr[j + 1]]`` (at least one each).
    weights : ndarray of int64
        Column weights, ``>= 0``; the total of any packing must stay below 2**53.
    n_elements : int
    time_limit : float, optional
        Seconds for the CP-SAT solves together (the LP runs to its end regardless).
    direct_max : int, optional
        Up to this many columns (default :data:`DIRECT_MAX_COLUMNS`) one CP-SAT model of all
        of them is solved; above it, the LP-reduced method below.
    element_weight : (int, int), optional
        ``(w, r)`` such that every packing ``P`` is worth at most ``w * covered(P) + r``, where
        ``covered(P)`` is the number of elements it covers: the weights of a lexicographic
        objective whose first level is the elements covered (``w`` its dominating weight, ``r``
        the most the later levels add). A packing worth ``t`` or more then covers at least
        ``ceil((t - r) / w)`` elements; the LP-reduced method adds that count to its CP-SAT
        models (as an exactly-one per element when it is all of them). Only a hint of
        structure: the answer is the same without it, usually slower.

    Returns
    -------
    PackingSolution

    Notes
    -----
    **Direct**: one Boolean per column, an at-most-one per element, maximise the weight;
    CP-SAT with one worker, seed 0 and ``linearization_level=2`` (every at-most-one in its LP).

    **LP-reduced** (many columns, e.g. the 10^5 cycles of a 1,000-unit district): the LP
    relaxation is solved by column generation with GLOP, pricing every column with numpy,
    which gives prices ``pi >= 0``. For *any* such prices and any packing ``P``::

        w(P) <= U + min(0, rc_j)   for every column j in P,

    where ``rc_j = w_j - sum(pi[e] for e in j)`` and ``U = sum(pi) + sum(max(0, rc))`` (the
    LP bound). So a packing that uses a column outside ``C(t)``, the columns with
    ``U + rc_j >= t``, is worth at most ``t - 1`` (weights are integers); ``C(t)`` is usually a
    few hundred columns for ``t`` near ``U``. The method takes ``t = floor(U)`` and lets
    CP-SAT maximise over ``C(t)`` with the objective restricted to ``>= t - 1``. A packing
    found is optimal over *every* column: those outside ``C(t)`` give at most ``t - 1``.
    Infeasible proves the optimum is at most ``t - 1`` and below what ``C(t)`` can reach; the
    next target is then lower, at doubling steps (``t - 1``, ``t - 3``, ``t - 7`` …), never
    below the value of a greedy packing. ``U`` and ``rc`` are evaluated in float64 with a
    margin of ``2**-39`` times the sum of the magnitudes involved, far above their rounding
    error, so the proof does not depend on the LP's accuracy. With a time limit, the bound
    reported is the smallest that this argument proves.
    """
    import time

    started = time.perf_counter()
    k = int(weights.size)
    deadline = None if time_limit is None else started + float(time_limit)

    def remaining() -> float | None:
        return None if deadline is None else max(deadline - time.perf_counter(), 1e-3)

    def min_elements(value: int) -> int:
        if element_weight is None:
            return 0
        per, rest = element_weight
        return max(0, -((rest - value) // per))  # ceil((value - rest) / per)

    if k == 0:
        return PackingSolution(
            np.zeros(0, dtype=bool), OPTIMAL, 0, 0, "no columns", 0.0, {"columns": 0}
        )
    if k <= (DIRECT_MAX_COLUMNS if direct_max is None else direct_max):
        out, chosen = _packing_cpsat(
            indptr, indices, weights, np.arange(k, dtype=np.int64), n_elements,
            time_limit=time_limit,
        )  # fmt: skip
        return PackingSolution(
            chosen,
            out.status,
            out.objective,
            out.bound,
            out.message(f"CP-SAT on all {k} columns:"),
            time.perf_counter() - started,
            {"columns": k, "lp_bound": None, "lp_rounds": 0, "solved_columns": [k]},
        )

    pi, rounds, lp_name = _lp_prices(indptr, indices, weights, n_elements)
    col_of = np.repeat(np.arange(k, dtype=np.int64), np.diff(indptr))
    w = weights.astype(np.float64)
    price = np.bincount(col_of, weights=pi[indices], minlength=k)
    rc = w - price
    lp_value = math.fsum(pi.tolist()) + math.fsum(np.maximum(rc, 0.0).tolist())
    margin = 2.0**-39 * (float(np.abs(w).sum()) + float(price.sum()) + float(pi.sum()) + 1.0)
    upper = math.floor(lp_value + margin)  # a proven bound on every packing
    reach = lp_value + np.minimum(rc, 0.0) + margin  # no packing with column j is worth more

    best = _greedy(indptr, indices, weights, n_elements)
    z = int(weights[best].sum())
    solved: list[int] = []
    targets: list[int] = []
    message = f"{lp_name} ({rounds} rounds, LP bound {lp_value:.10g}); greedy {z}"
    status: Status = FEASIBLE
    step = 1
    target = upper
    while True:
        if z >= upper:
            status = OPTIMAL
            break
        target = max(target, z + 1)
        accept = max(target - 1, z + 1)  # packings outside C(target) are worth < target
        candidates = np.flatnonzero(reach >= target)
        # No hint: every known packing is worth less than `accept`, so none would satisfy it.
        out, chosen = _packing_cpsat(
            indptr, indices, weights, candidates, n_elements,
            at_least=accept, min_elements=min_elements(accept), time_limit=remaining(),
        )  # fmt: skip
        solved.append(int(candidates.size))
        targets.append(target)
        message += "; " + out.message(f"CP-SAT for >= {accept} on {candidates.size} columns:")
        if out.success:
            best, z = candidates[chosen], out.objective
            if out.status == OPTIMAL:
                # The best packing in C(target); every other one is worth < target <= z + 1.
                upper = z
                status = OPTIMAL
            else:  # time limit: CP-SAT's bound covers every packing worth >= accept
                upper = min(upper, max(out.bound, target - 1))
            break
        if out.status == INFEASIBLE:
            # C(target) has nothing >= accept (>= target - 1), the other packings are < target.
            upper = min(upper, max(accept - 1, target - 1))
            target = upper - step + 1
            step *= 2
            continue
        break  # time limit (or error) before an answer: the greedy packing stands
    chosen_all = np.zeros(k, dtype=bool)
    chosen_all[best] = True
    extra: dict[str, object] = {
        "columns": k,
        "lp_bound": lp_value,
        "lp_rounds": rounds,
        "solved_columns": solved,
        "targets": targets,
    }
    return PackingSolution(
        chosen_all, status, z, max(upper, z), message, time.perf_counter() - started, extra
    )
