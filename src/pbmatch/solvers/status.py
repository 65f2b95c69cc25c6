"""One table from each OR-Tools backend's status to a pbmatch status.

Every backend maps its solver's status through :func:`map_status`; the solver's own status name
is kept for the result's ``message`` (convention 2 of the design).
"""

from __future__ import annotations

from typing import Any

from pbmatch._status import ERROR, FEASIBLE, INFEASIBLE, NOT_SOLVED, OPTIMAL, Status

__all__ = ["STATUS_TABLE", "map_status", "status_name"]

STATUS_TABLE: dict[tuple[str, str], Status] = {
    # ortools.graph.python.linear_sum_assignment.SimpleLinearSumAssignment.Status
    ("SimpleLinearSumAssignment", "OPTIMAL"): OPTIMAL,
    ("SimpleLinearSumAssignment", "INFEASIBLE"): INFEASIBLE,
    ("SimpleLinearSumAssignment", "POSSIBLE_OVERFLOW"): ERROR,
    # ortools.graph.python.min_cost_flow.SimpleMinCostFlow.Status
    ("SimpleMinCostFlow", "OPTIMAL"): OPTIMAL,
    ("SimpleMinCostFlow", "FEASIBLE"): FEASIBLE,
    ("SimpleMinCostFlow", "INFEASIBLE"): INFEASIBLE,
    ("SimpleMinCostFlow", "NOT_SOLVED"): NOT_SOLVED,
    ("SimpleMinCostFlow", "UNBALANCED"): ERROR,
    ("SimpleMinCostFlow", "BAD_RESULT"): ERROR,
    ("SimpleMinCostFlow", "BAD_COST_RANGE"): ERROR,
    ("SimpleMinCostFlow", "BAD_CAPACITY_RANGE"): ERROR,
    # ortools.sat.python.cp_model.CpSolver.status_name(): OPTIMAL (proved), FEASIBLE (a
    # solution, no proof: a limit stopped the search), UNKNOWN (stopped before any solution)
    ("CpSolver", "OPTIMAL"): OPTIMAL,
    ("CpSolver", "FEASIBLE"): FEASIBLE,
    ("CpSolver", "INFEASIBLE"): INFEASIBLE,
    ("CpSolver", "MODEL_INVALID"): ERROR,
    ("CpSolver", "UNKNOWN"): NOT_SOLVED,
}
"""``(solver class name, solver status name) -> pbmatch status``."""


def status_name(status: Any) -> str:
    """The bare name of a solver status enum member (``Status.OPTIMAL`` -> ``"OPTIMAL"``).

    Examples
    --------
    >>> from ortools.graph.python import min_cost_flow
    >>> status_name(min_cost_flow.SimpleMinCostFlow.OPTIMAL)
    'OPTIMAL'
    """
    name = getattr(status, "name", None)
    return str(name) if name is not None else str(status).rsplit(".", 1)[-1]


def map_status(solver: str, status: Any) -> tuple[Status, str]:
    """Map a backend status to ``(pbmatch status, "<solver> status <NAME>")``.

    An unknown status maps to ``"error"`` rather than being guessed.

    Examples
    --------
    >>> map_status("SimpleMinCostFlow", "BAD_COST_RANGE")
    ('error', 'SimpleMinCostFlow status BAD_COST_RANGE')
    >>> map_status("SimpleLinearSumAssignment", "OPTIMAL")[0]
    'optimal'
    >>> map_status("CpSolver", "UNKNOWN")
    ('not_solved', 'CpSolver status UNKNOWN')
    """
    name = status_name(status)
    return STATUS_TABLE.get((solver, name), ERROR), f"{solver} status {name}"
