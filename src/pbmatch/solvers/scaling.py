"""Float scores to the int64 costs OR-Tools' assignment and flow solvers take.

The scale is explicit: integer-valued scores that fit are used as they are (scale 1, resolution
``None``); any other scores are multiplied by the largest power of two that keeps every cost within
:func:`max_safe_cost` and rounded to the nearest integer (never truncated). A power of two makes
the multiplication exact, so the only error is the rounding, at most ``resolution / 2`` a score, and
scores already on the grid (dyadic values, anything that came from float32 in the usual range)
stay exact. When the resolution is coarser than ``NEGLIGIBLE`` (1e-9) of the largest score and
rounding makes distinct scores equal, :func:`scale_scores` counts them in ``Scaling.merged`` and
the caller warns with :class:`~pbmatch.exceptions.PrecisionWarning`; a finer grid is below the
float noise of any computed score and is not worth a warning (nor the sort that counts it).

The overflow bound
------------------
Both OR-Tools solvers are cost-scaling push-relabel methods. They multiply every cost by a factor
``f`` (``f = num_left_nodes + 1`` for ``LinearSumAssignment``, ``f = nodes + 1`` for min-cost flow,
where ``SimpleMinCostFlow`` solves on its graph plus an added source and sink) and let node prices
fall during the solve:

* ``GenericMinCostFlow::ScaleCosts`` (``ortools/graph/min_cost_flow.cc``) returns
  ``BAD_COST_RANGE`` when a cost exceeds ``INT64_MAX / (2 f)``; prices start at ``eps0 = f C``
  (``C`` the largest cost magnitude) and, by Goldberg and Tarjan (1990, lemma 5.8), fall by at most
  ``n (eps_k + eps_k+1)`` in each refine phase, ``<= 1.5 n eps0`` over all phases with the divisor
  ``alpha = 5``; the solver stops with ``BAD_COST_RANGE`` before a price passes
  ``INT64_MIN + eps0``.
* ``LinearSumAssignment::FinalizeSetup`` (``ortools/graph/linear_assignment.h``) sums the same
  kind of price-change bound, ``2 (n - 1) (eps_k + eps_k+1)`` a phase, ``<= 3 (n - 1) f C`` in all,
  and reports ``POSSIBLE_OVERFLOW`` when it exceeds ``INT64_MAX``.

Both totals are below ``3 f^2 C``; :func:`max_safe_cost` allows ``C <= INT64_MAX / (4 f^2)``, with
a margin to spare, and never more than ``2**53`` so that every rounded float is an exact
integer. The backends still map the solvers' own overflow statuses to ``"error"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "INT64_MAX",
    "NEGLIGIBLE",
    "PRICE_ROOM",
    "Scaling",
    "choose_scale",
    "count_merged",
    "max_safe_cost",
    "scale_scores",
]

INT64_MAX = (1 << 63) - 1
NEGLIGIBLE = 1e-9
"""A resolution at most this fraction of the largest score loses nothing worth a warning."""
PRICE_ROOM = 1 << 57
"""Largest cost magnitude times nodes for which pbmatch's own dual prices
(:mod:`pbmatch.solvers.duals`, ``|price| <= 4 x nodes x cost``) stay exact in int64 with room
to add two. :func:`max_safe_cost` of ``nodes + 4`` already keeps below it, except on tiny
problems with the cap of ``2**53``; backends that want a certificate take the smaller."""
_FLOAT_EXACT_INT = 1 << 53


@dataclass(frozen=True)
class Scaling:
    """How scores became integer costs.

    Attributes
    ----------
    scale : float
        ``cost = round(score * scale)``; 1.0 or a power of two.
    resolution : float or None
        ``1 / scale`` when the scores were rounded, ``None`` when they were used exactly.
    merged : int
        How many distinct score values were lost because rounding made them equal to another
        (distinct values before minus distinct values after).
    """

    scale: float
    resolution: float | None
    merged: int


def max_safe_cost(factor: int) -> int:
    """Largest integer cost magnitude safe for a solver that scales costs by ``factor``.

    Parameters
    ----------
    factor : int
        The solver's internal cost multiplier (number of nodes + 1, see the module notes).

    Returns
    -------
    int
        ``min(INT64_MAX // (4 * factor**2), 2**53)``, at least 1.

    Examples
    --------
    >>> max_safe_cost(4001)
    144043157494
    >>> max_safe_cost(1) == 2**53
    True
    """
    return max(1, min(INT64_MAX // (4 * factor * factor), _FLOAT_EXACT_INT))


def choose_scale(max_abs: float, *, integral: bool, max_cost: int) -> float:
    """The scale for scores whose largest magnitude is ``max_abs``.

    Returns 1.0 for integer-valued scores that fit, else the largest power of two ``s`` with
    ``max_abs * s <= max_cost`` (which may be below 1 for huge scores).

    Examples
    --------
    >>> choose_scale(7.0, integral=True, max_cost=100)
    1.0
    >>> choose_scale(0.9, integral=False, max_cost=100)
    64.0
    >>> choose_scale(1000.0, integral=True, max_cost=100)
    0.0625
    """
    if max_abs == 0.0 or (integral and max_abs <= max_cost):
        return 1.0
    # Finite powers of two only: absurdly tiny scores (below 2**-970) get a smaller scale.
    top = 1023
    exponent = min(math.floor(math.log2(max_cost) - math.log2(max_abs)), top)
    # Correct the floating-point logs by a step either way.
    while max_abs * math.ldexp(1.0, exponent) > max_cost:
        exponent -= 1
    while exponent < top and max_abs * math.ldexp(1.0, exponent + 1) <= max_cost:
        exponent += 1
    return math.ldexp(1.0, exponent)


def _is_integral(values: npt.NDArray[np.float64]) -> bool:
    # A cheap look at a prefix first: random floats fail at once.
    head = values[:64]
    if not np.array_equal(np.rint(head), head):
        return False
    return bool(np.array_equal(np.rint(values), values))


def _count_merged_inplace(work: npt.NDArray[np.float64], scale: float) -> int:
    """Distinct values of ``work`` minus distinct values of ``round(work * scale)``.

    ``work`` is a private copy and is overwritten.
    """
    if work.size < 2:
        return 0
    if work.min() >= 0.0 or work.max() <= 0.0:
        # One sign: |x| keeps distinctness (and turns -0.0 into +0.0), and non-negative floats
        # sort like their bit patterns, where an int64 sort is faster than a float sort.
        np.abs(work, out=work)
        work.view(np.int64).sort()
    else:
        work.sort()
    distinct_before = np.count_nonzero(work[1:] != work[:-1])
    if scale != 1.0:
        np.multiply(work, scale, out=work)  # monotone, so still sorted
    np.rint(work, out=work)  # monotone too
    distinct_after = np.count_nonzero(work[1:] != work[:-1])
    return int(distinct_before - distinct_after)


def count_merged(values: npt.NDArray[np.float64], scale: float) -> int:
    """Distinct values in ``values`` minus distinct values in ``round(values * scale)``.

    Sorts a copy of ``values``: ``O(k log k)``.

    Examples
    --------
    >>> import numpy as np
    >>> count_merged(np.array([0.1, 0.1001, 0.5, 0.5]), 100.0)
    1
    >>> count_merged(np.array([0.1, 0.2, 0.5]), 100.0)
    0
    """
    return _count_merged_inplace(np.array(values, dtype=np.float64), scale)


def scale_scores(
    values: npt.NDArray[np.float64] | npt.NDArray[np.int64],
    *,
    max_cost: int,
    negate: bool = False,
    overwrite: bool = False,
) -> tuple[npt.NDArray[np.int64], Scaling]:
    """Round ``values`` to int64 costs of magnitude at most ``max_cost``.

    Parameters
    ----------
    values : ndarray of float64 or int64, 1-D
        The finite scores the solver will see.
    max_cost : int
        From :func:`max_safe_cost`.
    negate : bool, default False
        Return ``-round(values * scale)``, the costs of a minimising solver, in the same pass.
    overwrite : bool, default False
        ``values`` (if float64) may be used as scratch space, which saves a copy of a large
        array; its contents afterwards are unspecified.

    Returns
    -------
    costs : ndarray of int64
        ``round(values * scale)`` (or its negation), same order; a new array, never a view.
    scaling : Scaling
        The scale, the resolution and how many distinct values were merged.

    Examples
    --------
    >>> import numpy as np
    >>> costs, s = scale_scores(np.array([3.0, -2.0, 0.0]), max_cost=1000)
    >>> costs.tolist(), s.resolution
    ([3, -2, 0], None)
    >>> costs, s = scale_scores(np.array([0.5, 0.25, 0.3]), max_cost=1000, negate=True)
    >>> costs.tolist(), s.scale, s.merged
    ([-512, -256, -307], 1024.0, 0)
    """
    sign = -1 if negate else 1
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), Scaling(1.0, None, 0)
    max_abs = float(max(values.max(), -values.min()))
    if values.dtype.kind in "iu":
        if max_abs <= max_cost:
            return np.multiply(values, sign, dtype=np.int64), Scaling(1.0, None, 0)
        floats = values.astype(np.float64)
        owned, integral = True, True
    else:
        floats = values.astype(np.float64, copy=False)
        owned = overwrite or floats is not values
        integral = max_abs <= max_cost and _is_integral(floats)
    scale = choose_scale(max_abs, integral=integral, max_cost=max_cost)
    if integral and scale == 1.0:
        return np.multiply(floats, sign).astype(np.int64), Scaling(1.0, None, 0)
    # values * scale is exact for a power of two >= 1 (tiny values may flush to zero below 1);
    # rounding is symmetric, so negating first is the same. When scaling down, the unscaled
    # values are still needed below, so they are not overwritten.
    work = floats if owned and scale >= 1.0 else np.empty_like(floats)
    np.multiply(floats, sign * scale, out=work)
    costs = np.empty(work.shape, dtype=np.int64)
    np.rint(work, out=costs, casting="unsafe")  # |work| <= 2**53: exact integers
    if scale >= 1.0:
        exact = not np.not_equal(work, costs).any()
    else:  # scaling down may have flushed tiny values to zero: compare with the originals
        exact = bool(np.array_equal(costs * (sign / scale), floats))
    if exact:
        merged = 0
    elif 1.0 / scale <= NEGLIGIBLE * max_abs:
        # The grid is finer than float noise in the scores themselves: nothing meaningful
        # can be lost, so the (sorting) count is skipped.
        merged = 0
    elif scale >= 1.0:
        # Multiplying by 2**k, k >= 0, is one-to-one (no overflow here): count on `work`.
        merged = _count_merged_inplace(work, 1.0)
    else:
        # Scaling down can flush tiny values to zero: count on the original values.
        merged = count_merged(floats, scale)
    return costs, Scaling(scale, 1.0 / scale, merged)
