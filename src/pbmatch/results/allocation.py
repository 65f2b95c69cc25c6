"""The result of :func:`pbmatch.allocate` (三张清单): :class:`AllocationResult`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import Status
from pbmatch.graph import RegionGraph
from pbmatch.results._base import FloatArray, Result

__all__ = ["AllocationResult"]


@dataclass(frozen=True, repr=False)
class AllocationResult(Result):
    """The answer of :func:`pbmatch.allocate`: flows of whole quantities from offers to needs.

    :meth:`to_pandas` and :meth:`to_records` have one row per flow: ``provider``,
    ``receiver``, ``category``, ``quantity``, ``distance_km``; :meth:`to_networkx` one edge per
    flow, ``provider`` -> ``receiver``.

    Attributes
    ----------
    provider_ids, receiver_ids, category_names : ndarray of str
        One entry per flow, sorted by provider, receiver, then category (graph order).
    quantities : ndarray of int64
        The quantity of each flow (> 0).
    distance_km : ndarray of float
        Great-circle distance of each flow; NaN where a location is unknown.
    objective : float
        Weighted need met: ``sum(quantity * category weight * need priority)`` (the total
        quantity when no weights are given). NaN without a solution.
    need_met : int
        Total quantity of the flows.
    quantity_km : float
        ``sum(quantity * distance_km)`` over flows with known distance: the secondary
        objective, least among allocations that meet the most need.
    status, message, wall_time, resolution, bound
        As on :class:`MatchResult`; ``bound`` equals ``objective`` when optimal.
    graph : RegionGraph
        The graph that was allocated.
    categories : tuple of str
        The categories solved (columns of ``need_weights``).
    need_weights : ndarray of float, shape (units, len(categories))
        Weight of a unit of each unit's need (category weight × priority).
    providers, receivers, category_index : ndarray of int
        Unit indices and category columns of the flows.
    within, max_km
        The rules solved with.
    warnings : tuple of str
        Notes for the report (units with no location, needs left out ...).
    """

    provider_ids: npt.NDArray[np.str_]
    receiver_ids: npt.NDArray[np.str_]
    category_names: npt.NDArray[np.str_]
    quantities: npt.NDArray[np.int64]
    distance_km: FloatArray
    objective: float
    need_met: int
    quantity_km: float
    status: Status
    graph: RegionGraph
    categories: tuple[str, ...]
    need_weights: FloatArray
    providers: npt.NDArray[np.int64]
    receivers: npt.NDArray[np.int64]
    category_index: npt.NDArray[np.int64]
    within: str | None = None
    max_km: float | None = None
    resolution: float | None = None
    message: str = ""
    bound: float | None = None
    wall_time: float = 0.0
    warnings: tuple[str, ...] = ()

    _ITEMS = "quantities"
    _EDGE = ("provider", "receiver")

    @property
    def flows(self) -> list[tuple[str, str, str, int]]:
        """The flows as ``(provider, receiver, category, quantity)`` tuples."""
        return list(
            zip(
                self.provider_ids.tolist(),
                self.receiver_ids.tolist(),
                self.category_names.tolist(),
                self.quantities.tolist(),
                strict=True,
            )
        )

    def _columns(self) -> list[int]:
        return [self.graph.categories.index(c) for c in self.categories]

    def met(self) -> FloatArray:
        """Need met of each unit and solved category, shape (units, len(categories))."""
        out = np.zeros((len(self.graph), len(self.categories)))
        np.add.at(out, (self.receivers, self.category_index), self.quantities)
        return out

    def unmet(self, tier: str | None = None) -> list[dict[str, Any]]:
        """Unmet need by region and category, largest first.

        Parameters
        ----------
        tier : str, optional
            Region tier to total over (default: ``within``, else ``"street"``); units outside
            every region of the tier are totalled under ``None``.

        Returns
        -------
        list of dict
            ``region``, ``category``, ``need``, ``met``, ``unmet`` for every (region,
            category) with unmet need; sorted by ``unmet`` (descending), region, category.
        """
        g = self.graph
        tier = tier or self.within or "street"
        codes = g.region_codes(tier)
        needs = g.needs[:, self._columns()]
        met = self.met()
        n_regions = len(g.region_ids) + 1
        key = codes + 1  # 0: outside the tier
        totals_need = np.zeros((n_regions, len(self.categories)))
        totals_met = np.zeros((n_regions, len(self.categories)))
        np.add.at(totals_need, key, needs)
        np.add.at(totals_met, key, met)
        short = totals_need - totals_met
        rows, cols = np.nonzero(short > 0)
        labels: list[str | None] = [None, *g.region_ids]
        order = np.lexsort((cols, rows, -short[rows, cols]))
        return [
            {
                "region": labels[r],
                "category": self.categories[c],
                "need": float(totals_need[r, c]),
                "met": float(totals_met[r, c]),
                "unmet": float(short[r, c]),
            }
            for r, c in zip(rows[order].tolist(), cols[order].tolist(), strict=True)
        ]

    def report(self, top: int = 10) -> str:
        """A readable summary: status, need met, distance, and the largest unmet needs."""
        g = self.graph
        total_need = float(g.needs[:, self._columns()].sum())
        share = 100 * self.need_met / total_need if total_need else 100.0
        rules = ", ".join(
            part
            for part in (
                f"within {self.within}" if self.within else "",
                f"max {self.max_km:g} km" if self.max_km is not None else "",
            )
            if part
        )
        lines = [
            f"Allocation (三张清单): {self.status}, {len(self)} flows"
            + (f" ({rules})" if rules else "")
            + f", {self.wall_time:.3f} s",
            f"Need met: {self.need_met:g} of {total_need:g} ({share:.1f}%); weighted objective "
            f"{self.objective:.6g}",
            f"Quantity × distance: {self.quantity_km:.3f} (quantity·km)",
        ]
        unmet = self.unmet()
        if unmet:
            tier = self.within or "street"
            lines.append(f"Unmet need by {tier} and category (largest {min(top, len(unmet))}):")
            lines += [
                f"  {row['region'] or '(none)'}  {row['category']}: {row['unmet']:g} of "
                f"{row['need']:g} unmet"
                for row in unmet[:top]
            ]
        else:
            lines.append("Every need is met.")
        return self._end_report(lines, self.warnings)

    def _table_columns(self) -> dict[str, Any]:
        return {
            "provider": self.provider_ids,
            "receiver": self.receiver_ids,
            "category": self.category_names,
            "quantity": self.quantities,
            "distance_km": self.distance_km,
        }

    def _repr_parts(self) -> list[str]:
        return [
            f"flows={len(self)}",
            f"need_met={self.need_met}",
            f"quantity_km={self.quantity_km:.6g}",
        ]
