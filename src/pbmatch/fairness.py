"""Fairness of a pairing: how evenly the score reaches receivers and regions.

A receiver's *total* is the sum of the scores of its pairs (0 when it has none). The report
gives the Gini coefficient of the totals across receivers (0: all equal; near 1: a few
receivers get everything) and, at a level of the region tree, each region's mean total per
receiver with the worst-off and best-off region. ``pair(objective="maxmin", fair_by=...)``
raises the worst-off group's mean first; this module measures any pairing.

Examples
--------
>>> import pbmatch
>>> result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
>>> report = result.fairness("street")
>>> report.level, len(report.groups), 0 <= report.gini < 1
('street', 6, True)
>>> report.worst_mean <= report.best_mean
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError
from pbmatch.graph import RegionGraph

__all__ = ["FairnessReport", "fair_codes", "fairness_report", "gini"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def gini(values: npt.ArrayLike) -> float:
    """The Gini coefficient of non-negative values: mean absolute difference / (2 × mean).

    0 when all values are equal (or all zero, or there are none); ``(n - 1) / n`` when one
    value holds everything. Computed from the sorted values in ``O(n log n)``.

    Raises
    ------
    InputError
        A negative or non-finite value.

    Examples
    --------
    >>> gini([1, 1, 1, 1]), gini([0, 0, 0, 4]), gini([])
    (0.0, 0.75, 0.0)
    >>> round(gini([1, 2, 3, 4]), 6)
    0.25
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size and (not np.isfinite(x).all() or x[0] < 0):
        raise InputError("gini: values must be finite and >= 0")
    total = float(x.sum())
    if x.size == 0 or total <= 0:
        return 0.0
    n = x.size
    rank = np.arange(1, n + 1, dtype=np.float64)
    return float(max(0.0, (2.0 * float((rank * x).sum())) / (n * total) - (n + 1) / n))


def fair_codes(graph: RegionGraph, receivers: IntArray, level: str) -> tuple[IntArray, list[str]]:
    """Group code of each receiver at ``level`` (-1: in no region there) and the group names.

    Parameters
    ----------
    graph : RegionGraph
    receivers : ndarray of int
        Unit indices of the receivers.
    level : str
        ``"receiver"`` (each receiver its own group) or a tier of the region tree
        (``"street"``, ``"community"``, ``"district"`` ...; level names such as
        ``"township"`` and Chinese names are accepted).

    Returns
    -------
    codes : ndarray of int
        ``0 .. len(names) - 1``, or -1.
    names : list of str
        Receiver ids or region ids, in code order (regions in graph order).

    Examples
    --------
    >>> import numpy as np, pbmatch
    >>> g = pbmatch.synthetic_district(seed=0, n_streets=2, n_townships=0,
    ...                                units_per_street=(4, 4), communities_per_street=(2, 2))
    >>> codes, names = fair_codes(g, np.flatnonzero(g.kind_names == "community"), "街道")
    >>> codes.tolist(), names
    ([0, 0, 1, 1], ['S1', 'S2'])
    """
    if level == "receiver":
        return np.arange(receivers.size, dtype=np.int64), graph.ids[receivers].tolist()
    from pbmatch.rules import _tier

    tier = _tier(level, "fair_by")
    region = graph.region_codes(tier)[receivers]
    present, codes = np.unique(region, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    if present.size and present[0] < 0:  # receivers in no region at this level
        codes -= 1
        present = present[1:]
    return codes, [graph.region_ids[r] for r in present.tolist()]


@dataclass(frozen=True)
class FairnessReport:
    """How evenly a pairing's score reaches receivers and the regions of one level.

    Attributes
    ----------
    level : str
        ``"receiver"`` or a tier (``"street"`` ...).
    gini : float
        Gini coefficient of the receivers' totals (every receiver of the pairing counted).
    groups : tuple of str
        Region ids (receiver ids at ``level="receiver"``), in graph order.
    means : ndarray of float
        Mean total per receiver of each group.
    sizes : ndarray of int
        Receivers per group.
    worst, best : str
        The group with the lowest and with the highest mean (first in graph order on ties).
    worst_mean, best_mean : float
    mean : float
        Mean total over all receivers.
    outside : int
        Receivers in no region of ``level`` (not in any group).
    """

    level: str
    gini: float
    groups: tuple[str, ...]
    means: FloatArray
    sizes: IntArray
    worst: str
    worst_mean: float
    best: str
    best_mean: float
    mean: float
    outside: int = 0

    def lines(self) -> list[str]:
        """The report as lines of text."""
        word = "receiver" if self.level == "receiver" else self.level
        out = [
            f"Fairness: Gini {self.gini:.3f} of the score each receiver gets (mean {self.mean:.3f})"
        ]
        if self.groups:
            out.append(
                f"Worst-off {word}: {self.worst} ({self.worst_mean:.3f} per receiver); "
                f"best-off: {self.best} ({self.best_mean:.3f})"
            )
        if self.outside:
            out.append(f"{self.outside} receivers lie in no {word} and are not grouped")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        """Plain values: the figures and ``{group: mean}``."""
        return {
            "level": self.level,
            "gini": self.gini,
            "mean": self.mean,
            "worst": self.worst,
            "worst_mean": self.worst_mean,
            "best": self.best,
            "best_mean": self.best_mean,
            "outside": self.outside,
            "means": dict(zip(self.groups, self.means.tolist(), strict=True)),
        }


def fairness_report(
    graph: RegionGraph,
    receivers: IntArray,
    cols: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    level: str = "street",
) -> FairnessReport:
    """Gini of the receivers' totals and the worst-off group at ``level``.

    Parameters
    ----------
    graph : RegionGraph
    receivers : ndarray of int
        Unit indices of the pairing's receivers.
    cols : array_like of int
        Receiver position (into ``receivers``) of each chosen pair.
    scores : array_like of float
        Score of each chosen pair (>= 0).
    level : str, default "street"
        See :func:`fair_codes`.

    Examples
    --------
    >>> import numpy as np, pbmatch
    >>> g = pbmatch.synthetic_district(seed=0, n_streets=2, n_townships=0,
    ...                                units_per_street=(4, 4), communities_per_street=(2, 2))
    >>> r = np.flatnonzero(g.kind_names == "community")
    >>> rep = fairness_report(g, r, [0, 1, 2], [1.0, 1.0, 4.0], level="street")
    >>> rep.worst, rep.worst_mean, rep.best, rep.best_mean, round(rep.gini, 3)
    ('S1', 1.0, 'S2', 2.0, 0.5)
    """
    cols = np.asarray(cols, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    totals = np.bincount(cols, weights=scores, minlength=receivers.size)
    codes, names = fair_codes(graph, receivers, level)
    inside = codes >= 0
    sizes = np.bincount(codes[inside], minlength=len(names)).astype(np.int64)
    sums = np.bincount(codes[inside], weights=totals[inside], minlength=len(names))
    means = np.divide(sums, sizes, out=np.zeros(len(names)), where=sizes > 0)
    if names:
        lo, hi = int(np.argmin(means)), int(np.argmax(means))
        worst, worst_mean, best, best_mean = (
            names[lo],
            float(means[lo]),
            names[hi],
            float(means[hi]),
        )
    else:
        worst, worst_mean, best, best_mean = "", float("nan"), "", float("nan")
    return FairnessReport(
        level=level if level == "receiver" else _level_name(level),
        gini=gini(np.maximum(totals, 0.0)),
        groups=tuple(names),
        means=means,
        sizes=sizes,
        worst=worst,
        worst_mean=worst_mean,
        best=best,
        best_mean=best_mean,
        mean=float(totals.mean()) if totals.size else 0.0,
        outside=int((~inside).sum()),
    )


def _level_name(level: str) -> str:
    from pbmatch.rules import _tier

    return _tier(level, "level")
