"""The validated, numbers-only matching problem the backends solve, and what they return.

Built once by :func:`pbmatch.matching.match` after validation; backends trust its arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import Status
from pbmatch.solvers.scaling import Scaling

__all__ = ["Backend", "BackendResult", "MatchProblem", "empty_result"]

IntArray = npt.NDArray[np.intp]
CountArray = npt.NDArray[np.int64]
ScoreArray = npt.NDArray[Any]  # float64 or int64 scores
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class MatchProblem:
    """A validated bipartite b-matching problem with optional pairs and lower bounds.

    Exactly one of ``dense`` and (``pair_rows``, ``pair_cols``, ``pair_values``) is set.

    Attributes
    ----------
    n_rows, n_cols : int
        Shape of the score matrix.
    dense : ndarray of float64 or int64, shape (n_rows, n_cols), or None
        Dense scores; ``-inf`` forbids a pair.
    pair_rows, pair_cols, pair_values : ndarray or None
        The allowed pairs of a sparse input, sorted by row then column, all values finite.
    left_capacity, right_capacity, left_min, right_min : ndarray of int64
        One entry per row / column, ``0 <= min <= capacity``.
    time_limit : float or None
        Seconds, or None.
    """

    n_rows: int
    n_cols: int
    dense: ScoreArray | None
    pair_rows: IntArray | None
    pair_cols: IntArray | None
    pair_values: ScoreArray | None
    left_capacity: CountArray
    right_capacity: CountArray
    left_min: CountArray
    right_min: CountArray
    time_limit: float | None = None

    @property
    def has_minimums(self) -> bool:
        """True when some row or column must be paired."""
        return bool(self.left_min.any() or self.right_min.any())

    @property
    def max_capacity(self) -> int:
        """The largest capacity on either side (0 for an empty problem)."""
        caps = [int(c.max()) for c in (self.left_capacity, self.right_capacity) if c.size]
        return max(caps, default=0)

    def candidate_pairs(self) -> tuple[IntArray, IntArray, ScoreArray]:
        """The pairs an optimal solution may use, sorted by row then column.

        A pair is a candidate when it is allowed, both its row and column have capacity > 0, and
        either its score is > 0 or its row or column has a minimum. Dropping the other pairs is
        exact: such a pair adds nothing (score <= 0) and no minimum needs it, so removing it from
        any feasible solution keeps it feasible and does not lower the objective.
        """
        lcap_ok = self.left_capacity > 0
        rcap_ok = self.right_capacity > 0
        need_row = self.left_min > 0
        need_col = self.right_min > 0
        if self.dense is not None:
            s = self.dense
            mask = s > 0
            if need_row.any() or need_col.any():
                allowed = s > -np.inf
                mask |= allowed & (need_row[:, None] | need_col[None, :])
            if not lcap_ok.all():
                mask &= lcap_ok[:, None]
            if not rcap_ok.all():
                mask &= rcap_ok[None, :]
            rows, cols = np.nonzero(mask)
            return rows.astype(np.intp, copy=False), cols.astype(np.intp, copy=False), s[rows, cols]
        assert self.pair_rows is not None and self.pair_cols is not None
        assert self.pair_values is not None
        r, c, v = self.pair_rows, self.pair_cols, self.pair_values
        keep = (v > 0) | need_row[r] | need_col[c]
        keep &= lcap_ok[r] & rcap_ok[c]
        return r[keep], c[keep], v[keep]


@dataclass(frozen=True, eq=False)
class BackendResult:
    """What a backend hands back: chosen pairs (sorted) and its own status words."""

    rows: IntArray
    cols: IntArray
    values: ScoreArray
    status: Status
    message: str
    scaling: Scaling | None = None
    diagnosis: Any = None
    certificate: Any = None
    """A :class:`pbmatch.solvers.certified.Certificate` when the backend proved optimality."""


@dataclass(frozen=True)
class Backend:
    """A registered solver backend.

    Attributes
    ----------
    name : str
        The ``method=`` name.
    unsupported : callable
        ``unsupported(problem)`` returns why this backend cannot solve ``problem``, or None.
    solve : callable
        ``solve(problem)`` returns a :class:`BackendResult`.
    """

    name: str
    unsupported: Callable[[MatchProblem], str | None]
    solve: Callable[[MatchProblem], BackendResult]


def empty_result(status: Status, message: str, **kwargs: Any) -> BackendResult:
    """A result with no pairs."""
    none = np.zeros(0, dtype=np.intp)
    return BackendResult(none, none.copy(), np.zeros(0), status, message, **kwargs)
