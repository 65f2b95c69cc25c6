"""Sorting helpers shared by the scoring and solver layers (numbers only, no units).

Both rank pairs by score, best first, with ties in position order, and rank each pair within
its row and its column from that one order: the top-k candidate lists and the certified
solver's start and bounds depend on the same, deterministic order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["descending_order", "group_ranks"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def group_ranks(group: I64, order: I64, size: int) -> I64:
    """Rank of each element within its group, in the order ``order`` (0 = first).

    Examples
    --------
    >>> import numpy as np
    >>> order = descending_order(np.array([0.5, 0.9, 0.5, 0.7]))
    >>> group_ranks(np.array([0, 0, 1, 1]), order, 2).tolist()
    [1, 0, 1, 0]
    """
    p = group.size
    ordered = group[order]
    if size <= 1 << 16:
        # A stable sort of 16-bit group numbers (a radix sort) keeps `order` within groups.
        at = np.argsort(ordered.astype(np.uint16), kind="stable")
        g = ordered[at]
    else:
        # Sort (group, position in `order`) as one int64 key (unique, so any sort is stable).
        key = np.sort(ordered.astype(np.int64) * p + np.arange(p, dtype=np.int64))
        g, at = np.divmod(key, p)
    first = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(g, minlength=size), out=first[1:])
    rank = np.empty(p, dtype=np.int64)
    rank[order[at]] = np.arange(p, dtype=np.int64) - first[g]
    return rank


def descending_order(values: F64) -> I64:
    """Positions by score, best first; equal scores in position order.

    The same as a stable sort, from a faster unstable one: only runs of equal scores are put
    back in position order.

    Examples
    --------
    >>> import numpy as np
    >>> descending_order(np.array([0.5, 0.9, 0.5, 0.7])).tolist()
    [1, 3, 0, 2]
    """
    key = -np.asarray(values, dtype=np.float64)
    order: I64 = np.argsort(key)
    ordered = key[order]
    tied = np.flatnonzero(ordered[1:] == ordered[:-1])
    if tied.size * 8 > order.size:  # many ties: the stable sort is faster
        stable: I64 = np.argsort(key, kind="stable")
        return stable
    if tied.size:
        # Members of runs of equal scores: sort them by (score, position) and put them back
        # in the places the runs hold (each run keeps its places, now in position order).
        member = np.zeros(order.size, dtype=np.bool_)
        member[tied] = True
        member[tied + 1] = True
        at = np.flatnonzero(member)
        run = order[at]
        order[at] = run[np.lexsort((run, ordered[at]))]
    return order
