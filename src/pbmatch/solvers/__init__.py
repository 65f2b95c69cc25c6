"""Solver backends, one a module, found by ``method=`` name.

The registry maps a name to the module holding its ``BACKEND``; modules (and OR-Tools) are
imported on first use, so ``import pbmatch`` stays fast.

Examples
--------
>>> from pbmatch.solvers import get_backend, method_names
>>> method_names()
('auto', 'assignment', 'flow')
>>> get_backend("flow").name
'flow'
"""

from __future__ import annotations

import importlib

import numpy as np

from pbmatch.exceptions import InputError
from pbmatch.solvers.problem import Backend, BackendResult, MatchProblem

__all__ = [
    "Backend",
    "BackendResult",
    "MatchProblem",
    "choose_method",
    "get_backend",
    "method_names",
]

_ASSIGNMENT_MAX_ARCS = 1 << 27  # = pbmatch.solvers.assignment.MAX_ARCS, without importing it

_REGISTRY: dict[str, str] = {
    "assignment": "pbmatch.solvers.assignment",
    "flow": "pbmatch.solvers.flow",
}


def method_names() -> tuple[str, ...]:
    """Every name ``method=`` accepts, ``"auto"`` first."""
    return ("auto", *_REGISTRY)


def get_backend(method: str) -> Backend:
    """The backend registered as ``method``.

    Raises
    ------
    InputError
        ``method`` is not a registered name; the message lists the known ones.
    """
    module = _REGISTRY.get(method) if isinstance(method, str) else None
    if module is None:
        known = ", ".join(repr(name) for name in method_names())
        raise InputError(f"method is {method!r}; known methods are {known}")
    backend: Backend = importlib.import_module(module).BACKEND
    return backend


def choose_method(problem: MatchProblem) -> str:
    """The ``auto`` choice between the exact backends.

    ``assignment`` for a dense, near-square (sides within 5%) 1:1 problem without minimums in
    which at least a quarter of the pairs have a score > 0; ``flow`` for everything else. On such
    problems ``SimpleLinearSumAssignment`` was 1.5-3x faster than ``SimpleMinCostFlow`` (OR-Tools
    9.15, 1500 x 1500); on sparse, rectangular or mostly non-positive ones the zero-weight padding
    it needs made it up to 100x slower.
    """
    n, m = problem.n_rows, problem.n_cols
    if problem.has_minimums or problem.max_capacity > 1 or problem.dense is None:
        return "flow"
    if min(n, m) == 0:
        return "assignment"
    if max(n, m) > 1.05 * min(n, m) or max(n, m) ** 2 > _ASSIGNMENT_MAX_ARCS:
        return "flow"
    positive = int(np.count_nonzero(problem.dense > 0))
    return "assignment" if 4 * positive >= n * m else "flow"
