"""The result of :func:`pbmatch.exchange_cycles` (交换机制): :class:`ExchangeResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import Status
from pbmatch.graph import RegionGraph
from pbmatch.results._base import Result, histogram, optional_float

__all__ = ["ExchangeResult"]


@dataclass(frozen=True, repr=False)
class ExchangeResult(Result):
    """The answer of :func:`pbmatch.exchange_cycles`: disjoint giving cycles (交换机制).

    :meth:`to_pandas` and :meth:`to_records` have one row per arc and category of every
    cycle; :meth:`to_networkx` one edge per row, ``giver`` -> ``receiver``.

    Attributes
    ----------
    cycles : list of tuple of str
        Unit ids in giving order: ``(a, b, c)`` means a gives to b, b to c, c to a. Each starts
        at its unit that comes first in the graph; sorted by that unit.
    gives : list of tuple of dict
        Per cycle, per arc (``cycles[k][i]`` gives to the next): category → quantity, the
        ``min(offer, need)`` of every category the giver offers and the receiver needs.
    objective : float
        Units in cycles (NaN without a solution).
    quantity : float
        Total quantity exchanged, the tie-break (NaN without a solution).
    status : str
        ``"optimal"``: proven most units, then most quantity among those; ``"feasible"``: a
        time limit stopped the proof (see ``bound``).
    graph : RegionGraph
    max_length : int
    max_km : float or None
    candidates : ndarray of str
        The units on some giving cycle of any length (in a strongly connected component of
        the can-give graph with another unit): the only ones encoded.
    n_cycles : int
        Cycles enumerated (the columns of the set packing).
    bound : float or None
        Proven upper bound on ``objective`` (units).
    gap : float or None
        ``(bound - objective) / bound``.
    resolution : float or None
        Quantity resolution of the tie-break when quantities were fractional.
    message, wall_time
        As on :class:`MatchResult`.
    extra : dict
        Solver counters (LP bound, rounds, sizes of the CP-SAT models, objective weights).
    """

    cycles: list[tuple[str, ...]]
    gives: list[tuple[dict[str, float], ...]]
    objective: float
    quantity: float
    status: Status
    graph: RegionGraph
    max_length: int
    max_km: float | None
    candidates: npt.NDArray[np.str_]
    n_cycles: int
    bound: float | None = None
    gap: float | None = None
    resolution: float | None = None
    message: str = ""
    wall_time: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    _ITEMS = "cycles"
    _EDGE = ("giver", "receiver")
    _COLUMNS = ("cycle", "length", "step", "giver", "receiver", "category", "quantity")

    @property
    def units(self) -> list[str]:
        """Ids of the units in some cycle, in cycle order."""
        return [u for cycle in self.cycles for u in cycle]

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per arc and category: ``cycle`` (0, 1, ...), ``length``, ``step`` (0 for
        the first arc), ``giver``, ``receiver``, ``category``, ``quantity``."""
        rows: list[dict[str, Any]] = []
        for k, (cycle, arcs) in enumerate(zip(self.cycles, self.gives, strict=True)):
            for step, gift in enumerate(arcs):
                for category, quantity in gift.items():
                    rows.append(
                        {
                            "cycle": k,
                            "length": len(cycle),
                            "step": step,
                            "giver": cycle[step],
                            "receiver": cycle[(step + 1) % len(cycle)],
                            "category": category,
                            "quantity": quantity,
                        }
                    )
        return rows

    def report(self, top: int = 5) -> str:
        """A readable summary: units in cycles, cycle lengths, the largest cycles' gifts."""
        n = len(self.candidates)
        lengths = histogram(np.array([len(c) for c in self.cycles], dtype=np.int64))
        rules = f"length <= {self.max_length}" + (
            f", within {self.max_km:g} km" if self.max_km is not None else ""
        )
        lines = [
            f"Exchange cycles (交换机制): {self.status}, {len(self)} cycles ({rules}), "
            f"{self.wall_time:.3f} s",
            f"Units in cycles: {self.objective:g} of {n} that can both give and receive "
            f"(bound {optional_float(self.bound)}); quantity exchanged {self.quantity:g}",
            "Cycles by length: " + (", ".join(f"{k}: {v}" for k, v in lengths.items()) or "none"),
            f"Cycles enumerated: {self.n_cycles}",
        ]
        for cycle, arcs in list(zip(self.cycles, self.gives, strict=True))[:top]:
            steps = [
                f"{cycle[i]} → {cycle[(i + 1) % len(cycle)]} "
                + "{"
                + ", ".join(f"{c}: {q:g}" for c, q in gift.items())
                + "}"
                for i, gift in enumerate(arcs)
            ]
            lines.append("  " + "; ".join(steps))
        if len(self) > top:
            lines.append(f"  … ({len(self)} cycles in all)")
        return self._end_report(lines)

    def _repr_parts(self) -> list[str]:
        return [
            f"cycles={len(self)}",
            f"units={self.objective:g}",
            f"quantity={self.quantity:g}",
        ]
