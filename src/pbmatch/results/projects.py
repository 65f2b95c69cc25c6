"""The result of :func:`pbmatch.staff_projects` (项目清单): :class:`ProjectsResult`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import Status
from pbmatch.graph import RegionGraph
from pbmatch.results._base import FloatArray, Result, optional_float

__all__ = ["ProjectsResult"]


@dataclass(frozen=True, repr=False)
class ProjectsResult(Result):
    """The answer of :func:`pbmatch.staff_projects`: contributions to the projects list.

    :meth:`to_pandas` and :meth:`to_records` have one row per contribution: ``project``,
    ``unit``, ``category``, ``quantity``, ``distance_km``; :meth:`to_networkx` one edge per
    contribution, ``unit`` -> ``project``.

    Attributes
    ----------
    project_ids, unit_ids, category_names : ndarray of str
        One entry per contribution, sorted by project (input order), unit, category.
    quantities : ndarray of float
        Quantity of each contribution (> 0).
    distance_km : ndarray of float
        Great-circle distance from the contributing unit to the project's owner.
    projects : tuple of Project
        The validated projects, in input order.
    max_units : ndarray of int
        Most contributing units of each project as solved.
    staffed : ndarray of bool
        Per project: an indivisible project fully staffed (always False for divisible ones).
    share : ndarray of float
        Per project: share of its total need met.
    objective : float
        ``sum(priority * value)``: value 1/0 for indivisible projects, ``share`` for divisible
        ones (NaN without a solution).
    total_km : float
        Sum of the distances of the contributing (unit, project) pairs: the tie-break.
    status : str
        ``"optimal"``: proven best priority-weighted staffing, then least distance.
    graph : RegionGraph
    max_km : float or None
    bound : float or None
        Proven upper bound on ``objective``.
    gap : float or None
    resolution : float or None
        Step of the priority objective when priorities or shares were scaled to integers.
    message, wall_time
        As on :class:`MatchResult`.
    distance_bound_km : float or None
        Proven lower bound on ``total_km`` among the staffings of the best priority value,
        on the solver's distance grid (``total_km`` itself is summed from unrounded
        distances, so the two can differ by that rounding); None without a solution.
    """

    project_ids: npt.NDArray[np.str_]
    unit_ids: npt.NDArray[np.str_]
    category_names: npt.NDArray[np.str_]
    quantities: FloatArray
    distance_km: FloatArray
    projects: tuple[Any, ...]
    max_units: npt.NDArray[np.int64]
    staffed: npt.NDArray[np.bool_]
    share: FloatArray
    objective: float
    total_km: float
    status: Status
    graph: RegionGraph
    max_km: float | None = None
    bound: float | None = None
    gap: float | None = None
    resolution: float | None = None
    message: str = ""
    wall_time: float = 0.0
    distance_bound_km: float | None = None

    _ITEMS = "quantities"
    _EDGE = ("unit", "project")
    _COLUMNS = ("project", "unit", "category", "quantity", "distance_km")

    @property
    def contributions(self) -> list[tuple[str, str, str, float]]:
        """``(project, unit, category, quantity)`` tuples."""
        return list(
            zip(
                self.project_ids.tolist(),
                self.unit_ids.tolist(),
                self.category_names.tolist(),
                self.quantities.tolist(),
                strict=True,
            )
        )

    def summary(self) -> list[dict[str, Any]]:
        """One dict per project: ``project``, ``owner``, ``priority``, ``divisible``,
        ``staffed`` (indivisible fully staffed), ``share`` (of the need met), ``units``
        (contributing unit ids)."""
        units: dict[str, list[str]] = {}
        for p, u in zip(self.project_ids.tolist(), self.unit_ids.tolist(), strict=True):
            if u not in units.setdefault(p, []):
                units[p].append(u)
        return [
            {
                "project": p.id,
                "owner": p.owner,
                "priority": p.priority,
                "divisible": p.divisible,
                "staffed": bool(s),
                "share": float(f),
                "units": units.get(p.id, []),
            }
            for p, s, f in zip(
                self.projects, self.staffed.tolist(), self.share.tolist(), strict=True
            )
        ]

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per contribution: ``project``, ``unit``, ``category``, ``quantity``,
        ``distance_km``."""
        return [
            {"project": p, "unit": u, "category": c, "quantity": q, "distance_km": d}
            for (p, u, c, q), d in zip(self.contributions, self.distance_km.tolist(), strict=True)
        ]

    def report(self, top: int = 10) -> str:
        """A readable summary: projects staffed, value against the bound, per-project lines."""
        rows = self.summary()
        whole = [r for r in rows if not r["divisible"]]
        parts = [r for r in rows if r["divisible"]]
        lines = [
            f"Projects (项目清单): {self.status}, {len(self)} contributions, "
            f"{self.wall_time:.3f} s",
            f"Indivisible projects staffed: {sum(r['staffed'] for r in whole)} of {len(whole)}; "
            f"divisible: {sum(r['share'] >= 1 - 1e-9 for r in parts)} of {len(parts)} full, "
            f"mean share {np.mean([r['share'] for r in parts]) if parts else 1.0:.2f}",
            f"Priority-weighted value: {self.objective:.6g} (bound "
            f"{optional_float(self.bound)}); distance of contributing pairs "
            f"{self.total_km:.2f} km",
        ]
        for r in rows[:top]:
            state = (
                f"{100 * r['share']:.0f}% met"
                if r["divisible"]
                else ("staffed" if r["staffed"] else "not staffed")
            )
            lines.append(
                f"  {r['project']} ({r['owner']}, priority {r['priority']:g}): {state}"
                + (f" by {', '.join(r['units'])}" if r["units"] else "")
            )
        if len(rows) > top:
            lines.append(f"  … ({len(rows)} projects in all)")
        return self._end_report(lines)

    def _repr_parts(self) -> list[str]:
        return [
            f"contributions={len(self)}",
            f"objective={self.objective:.6g}",
            f"total_km={self.total_km:.6g}",
        ]
