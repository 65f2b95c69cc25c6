"""Solver backends, one a module, found by ``method=`` name.

The registry maps a name to the module holding its ``BACKEND``; modules (and OR-Tools) are
imported on first use, so ``import pbmatch`` stays fast.

Examples
--------
>>> from pbmatch.solvers import get_backend, method_names
>>> method_names()
('auto', 'assignment', 'flow', 'certified')
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
_CERTIFIED_PAIRS = 160_000
"""Dense problems with at least this many pairs go to ``certified``."""
_CERTIFIED_FLOW_PAIRS = 4_096
"""... and from this many when ``flow`` would solve them directly."""
_FLOAT_EXACT = 1 << 53

_REGISTRY: dict[str, str] = {
    "assignment": "pbmatch.solvers.assignment",
    "flow": "pbmatch.solvers.flow",
    "certified": "pbmatch.solvers.certified",
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

    Dense input: ``certified`` from 160,000 pairs (400 x 400), or from 4,096 pairs when the
    direct choice would be ``flow``; below, ``assignment`` for a near-square (sides within 5%)
    1:1 problem without minimums in which at least a quarter of the pairs have a score > 0,
    else ``flow``. Sparse input: ``flow``. Measured with OR-Tools 9.15 on a 2-core machine:
    ``certified`` was 1.5-4x faster than ``assignment`` from 400 x 400 and 3-20x faster than
    ``flow`` from 60 x 60 on dense matrices, and far slower below; ``SimpleLinearSumAssignment``
    was 1.5-3x faster than ``SimpleMinCostFlow`` on the square, mostly positive problems, and up
    to 100x slower on sparse, rectangular or mostly non-positive ones (its zero-weight padding).
    """
    n, m = problem.n_rows, problem.n_cols
    pairs = n * m
    dense = problem.dense
    exact_ints = dense is not None and (
        dense.dtype.kind == "f"
        or dense.size == 0
        or max(int(dense.max()), -int(dense.min())) <= _FLOAT_EXACT
    )
    if dense is not None and exact_ints and pairs >= _CERTIFIED_PAIRS:
        return "certified"
    direct = _direct_method(problem)
    if direct == "flow" and dense is not None and exact_ints and pairs >= _CERTIFIED_FLOW_PAIRS:
        return "certified"
    return direct


def _direct_method(problem: MatchProblem) -> str:
    n, m = problem.n_rows, problem.n_cols
    if problem.has_minimums or problem.max_capacity > 1 or problem.dense is None:
        return "flow"
    if min(n, m) == 0:
        return "assignment"
    if max(n, m) > 1.05 * min(n, m) or max(n, m) ** 2 > _ASSIGNMENT_MAX_ARCS:
        return "flow"
    positive = int(np.count_nonzero(problem.dense > 0))
    return "assignment" if 4 * positive >= n * m else "flow"
