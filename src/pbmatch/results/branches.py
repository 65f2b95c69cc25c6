"""The result of :func:`pbmatch.form_joint_branches` (联合党支部): :class:`JointBranchesResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pbmatch._status import Status
from pbmatch.graph import RegionGraph
from pbmatch.results._base import Result, histogram, optional_float

__all__ = ["JointBranchesResult"]


@dataclass(frozen=True, repr=False)
class JointBranchesResult(Result):
    """The answer of :func:`pbmatch.form_joint_branches`: small units in joint branches.

    :meth:`to_pandas` and :meth:`to_records` have one row per small unit, grouped ones
    first; :meth:`to_networkx` one edge per grouped unit, ``group`` -> ``unit``.

    Attributes
    ----------
    groups : list of tuple of str
        Unit ids of each joint branch (graph order within a group), street by street.
    group_ids : list of str
        A name per group: ``"<street>-J01"``, ``"<street>-J02"``, ...
    group_streets : list of str
        The street (or township) of each group.
    uncovered : dict of str to str
        Every small unit left out, with the reason, in graph order.
    objective : float
        Small units covered (NaN without a solution).
    total_km : float
        Sum over groups of the pairwise great-circle distances of their units.
    same_industry_pairs : int
        Pairs of units within a group that share an industry tag.
    status : str
        ``"optimal"`` when every street is proven optimal for the lexicographic objective.
    graph : RegionGraph
    max_units, min_members, max_members, max_km
        The rules solved with.
    bound : float or None
        Proven upper bound on the units covered (sum of the streets' bounds).
    gap : float or None
    resolution : float or None
        Distance resolution (km) of the solver's tie-break on distance.
    message, wall_time
        As on :class:`MatchResult`.
    extra : dict
        ``streets``: per street, small units, covered, bound, status, method, groups
        enumerated.
    """

    groups: list[tuple[str, ...]]
    group_ids: list[str]
    group_streets: list[str]
    uncovered: dict[str, str]
    objective: float
    total_km: float
    same_industry_pairs: int
    status: Status
    graph: RegionGraph
    max_units: int
    min_members: int
    max_members: int
    max_km: float | None = None
    bound: float | None = None
    gap: float | None = None
    resolution: float | None = None
    message: str = ""
    wall_time: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    _ITEMS = "groups"
    _EDGE = ("group", "unit")
    _COLUMNS = ("group", "unit", "street", "members", "industry", "reason")

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per small unit: ``group`` (``None`` when uncovered), ``unit``, ``street``,
        ``members``, ``industry`` (its tags joined by ``,``), ``reason`` (empty when covered).
        Grouped units first, group by group; then the uncovered ones."""
        g = self.graph

        def row(group: str | None, unit: str, street: str | None, reason: str) -> dict[str, Any]:
            record = g.unit(unit)
            return {
                "group": group,
                "unit": unit,
                "street": street,
                "members": record.members,
                "industry": ",".join(record.tags),
                "reason": reason,
            }

        rows = [
            row(name, unit, street, "")
            for name, street, units in zip(
                self.group_ids, self.group_streets, self.groups, strict=True
            )
            for unit in units
        ]
        rows += [row(None, u, g.street_of(u), why) for u, why in self.uncovered.items()]
        return rows

    def report(self, top: int = 10) -> str:
        """A readable summary: coverage, group sizes, distance, industry, reasons."""
        small = int(self.objective) + len(self.uncovered) if self.success else 0
        sizes = histogram(np.array([len(g) for g in self.groups], dtype=np.int64))
        rules = f"≤ {self.max_units} units, {self.min_members}–{self.max_members} members" + (
            f", within {self.max_km:g} km" if self.max_km is not None else ""
        )
        lines = [
            f"Joint branches (联合党支部): {self.status}, {len(self)} branches ({rules}), "
            f"{self.wall_time:.3f} s",
            f"Small units covered: {self.objective:g} of {small} "
            f"(bound {optional_float(self.bound)})",
            "Branches by size: "
            + (", ".join(f"{k} units: {v}" for k, v in sizes.items()) or "none"),
            f"Distance within branches: {self.total_km:.2f} km in all; same-industry pairs: "
            f"{self.same_industry_pairs}",
        ]
        for name, units in list(zip(self.group_ids, self.groups, strict=True))[:top]:
            lines.append(f"  {name}: {', '.join(units)}")
        if len(self) > top:
            lines.append(f"  … ({len(self)} branches in all)")
        if self.uncovered:
            lines.append(f"Not covered ({len(self.uncovered)}):")
            for unit, why in list(self.uncovered.items())[:top]:
                lines.append(f"  {unit}: {why}")
            if len(self.uncovered) > top:
                lines.append(f"  … ({len(self.uncovered)} in all)")
        return self._end_report(lines)

    def _repr_parts(self) -> list[str]:
        return [
            f"branches={len(self)}",
            f"covered={self.objective:g}",
            f"uncovered={len(self.uncovered)}",
        ]
