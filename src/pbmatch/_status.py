"""Result statuses shared by every solver and result."""

from __future__ import annotations

from typing import Literal

Status = Literal["optimal", "feasible", "infeasible", "not_solved", "error"]

OPTIMAL: Status = "optimal"
"""A solution proven optimal."""
FEASIBLE: Status = "feasible"
"""A solution that satisfies every rule but is not proven optimal (a time limit stopped it)."""
INFEASIBLE: Status = "infeasible"
"""No solution satisfies every rule."""
NOT_SOLVED: Status = "not_solved"
"""The solver stopped (time limit) before finding any solution."""
ERROR: Status = "error"
"""The backend failed; see the result's ``message``."""

WITH_SOLUTION: frozenset[str] = frozenset({OPTIMAL, FEASIBLE})
