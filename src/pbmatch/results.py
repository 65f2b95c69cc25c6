"""Frozen result objects returned by every solve.

A result always carries a ``status`` (see :mod:`pbmatch._status`), a ``success`` flag (a
solution is present), the ``objective`` recomputed in floats from the chosen items, and the
backend's own words in ``message``. Callers who prefer exceptions call ``raise_for_status()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import INFEASIBLE, WITH_SOLUTION, Status
from pbmatch.exceptions import InfeasibleError, SolverError
from pbmatch.graph import RegionGraph
from pbmatch.model import KINDS
from pbmatch.scoring.weights import COMPONENTS, Weights

__all__ = ["MatchResult", "PairingResult"]

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, repr=False)
class MatchResult:
    """The answer of :func:`pbmatch.match`: chosen (row, column) pairs of a score matrix.

    Attributes
    ----------
    rows, cols : ndarray of int
        Chosen pairs, sorted by row then column.
    scores : ndarray of float
        The score of each chosen pair, as given (not rounded).
    objective : float
        Sum of ``scores``.
    status : str
        ``"optimal"``, ``"feasible"``, ``"infeasible"``, ``"not_solved"`` or ``"error"``.
    method : str
        The backend that solved it (``"assignment"``, ``"flow"``, ...).
    resolution : float or None
        The score difference one integer step stood for when scores were scaled to integers;
        ``None`` when no scaling was needed.
    message : str
        The backend's own status words, or why there is no solution.
    bound : float or None
        An upper bound on the best objective, where the backend gives one.
    wall_time : float
        Seconds spent from validated input to decoded answer.
    diagnosis : object or None
        Why the problem is infeasible, when it is and pbmatch can say.
    """

    rows: IntArray
    cols: IntArray
    scores: FloatArray
    objective: float
    status: Status
    method: str = ""
    resolution: float | None = None
    message: str = ""
    bound: float | None = None
    wall_time: float = 0.0
    diagnosis: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """The chosen pairs as a list of ``(row, col)`` tuples."""
        return list(zip(self.rows.tolist(), self.cols.tolist(), strict=True))

    def __len__(self) -> int:
        return int(self.rows.size)

    def raise_for_status(self) -> MatchResult:
        """Return ``self`` if a solution is present, else raise.

        Raises
        ------
        InfeasibleError
            The problem has no solution (``status == "infeasible"``).
        SolverError
            The solver stopped without a solution or failed.
        """
        if self.success:
            return self
        if self.status == INFEASIBLE:
            raise InfeasibleError(f"infeasible: {self.message}", self)
        raise SolverError(f"{self.status}: {self.message}")

    def __repr__(self) -> str:
        return (
            f"MatchResult(status={self.status!r}, pairs={len(self)}, "
            f"objective={self.objective:.6g}, method={self.method!r})"
        )


@dataclass(frozen=True, repr=False)
class PairingResult:
    """The answer of :func:`pbmatch.pair`: co-building pairs with their score breakdown.

    Attributes
    ----------
    provider_ids, receiver_ids : ndarray of str
        The chosen pairs, sorted by provider then receiver position.
    breakdown : dict of str to ndarray
        Per pair: each weighted score component, ``score`` (their sum) and ``distance_km``.
    objective : float
        Sum of the pairs' scores.
    status, message, method, resolution, wall_time
        As on :class:`MatchResult`.
    match : MatchResult
        The numeric answer the pairs were decoded from.
    graph : RegionGraph
        The graph that was paired.
    providers, receivers : ndarray of int
        Unit indices of the two sides that were offered to the solver.
    provider_max, receiver_max : ndarray of int
        The partner limits each side was solved with (unit's own or the default).
    weights : Weights
        The score weights used.
    max_km : float or None
        The distance cut-off used.
    """

    provider_ids: npt.NDArray[np.str_]
    receiver_ids: npt.NDArray[np.str_]
    breakdown: dict[str, FloatArray]
    objective: float
    status: Status
    match: MatchResult
    graph: RegionGraph
    providers: npt.NDArray[np.int64]
    receivers: npt.NDArray[np.int64]
    provider_max: npt.NDArray[np.int64]
    receiver_max: npt.NDArray[np.int64]
    weights: Weights
    max_km: float | None = None
    message: str = ""
    wall_time: float = 0.0
    diagnosis: Any = None

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    @property
    def method(self) -> str:
        return self.match.method

    @property
    def resolution(self) -> float | None:
        return self.match.resolution

    @property
    def scores(self) -> FloatArray:
        return self.breakdown["score"]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The chosen pairs as ``(provider_id, receiver_id)`` tuples."""
        return list(zip(self.provider_ids.tolist(), self.receiver_ids.tolist(), strict=True))

    def __len__(self) -> int:
        return int(self.provider_ids.size)

    def raise_for_status(self) -> PairingResult:
        """Return ``self`` if a solution is present, else raise (see ``MatchResult``)."""
        self.match.raise_for_status()
        return self

    def partner_counts(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Number of partners of each provider and of each receiver (side order)."""
        return (
            np.bincount(self.match.rows, minlength=self.providers.size).astype(np.int64),
            np.bincount(self.match.cols, minlength=self.receivers.size).astype(np.int64),
        )

    def coverage(self) -> dict[str, Any]:
        """How well the pairing covers the receivers.

        Returns
        -------
        dict
            ``receivers_covered`` / ``receivers`` (count with at least one partner / all),
            ``uncovered`` (ids of receivers with no partner), ``providers_paired`` /
            ``providers``, ``need_coverable`` (share of the receivers' total need quantity that
            their partners' pooled offers could meet, category by category),
            ``provider_partners`` and ``receiver_partners`` (histograms: partners → units).
        """
        g = self.graph
        per_provider, per_receiver = self.partner_counts()
        # Pool each receiver's partners' offers, then cap by its needs, category by category.
        pooled = np.zeros((self.receivers.size, len(g.categories)))
        np.add.at(pooled, self.match.cols, g.offers[self.providers[self.match.rows]])
        needs = g.needs[self.receivers]
        total_need = float(needs.sum())
        met = float(np.minimum(pooled, needs).sum())
        return {
            "receivers": int(self.receivers.size),
            "receivers_covered": int((per_receiver > 0).sum()),
            "uncovered": g.ids[self.receivers[per_receiver == 0]].tolist(),
            "providers": int(self.providers.size),
            "providers_paired": int((per_provider > 0).sum()),
            "need_coverable": met / total_need if total_need > 0 else 1.0,
            "provider_partners": _histogram(per_provider),
            "receiver_partners": _histogram(per_receiver),
        }

    def report(self) -> str:
        """A readable summary: status, pairs, objective, coverage and partners per unit."""
        c = self.coverage()
        uncovered = ", ".join(c["uncovered"][:10]) or "none"
        if len(c["uncovered"]) > 10:
            uncovered += f", … ({len(c['uncovered'])} in all)"
        lines = [
            f"Pairing: {self.status}, {len(self)} pairs, objective {self.objective:.4f} "
            f"(method {self.method}, {self.wall_time:.3f} s)",
            f"Receivers covered: {c['receivers_covered']} of {c['receivers']}"
            + (" — every receiver has a partner (全覆盖)" if not c["uncovered"] else ""),
            f"Receivers with no partner: {uncovered}",
            f"Providers paired: {c['providers_paired']} of {c['providers']}",
            f"Needs coverable by partners' offers: {100 * c['need_coverable']:.1f}% of the "
            "receivers' total need",
            "Partners per provider: " + _format_histogram(c["provider_partners"]),
            "Partners per receiver: " + _format_histogram(c["receiver_partners"]),
        ]
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        return "\n".join(lines)

    def to_pandas(self) -> Any:
        """One row per pair: ``provider``, ``receiver``, ``score``, each component, ``distance_km``.

        Requires pandas (``pip install pbmatch[pandas]``).
        """
        import pandas as pd

        columns: dict[str, Any] = {
            "provider": self.provider_ids,
            "receiver": self.receiver_ids,
            "score": self.breakdown["score"],
        }
        columns.update({name: self.breakdown[name] for name in COMPONENTS})
        columns["distance_km"] = self.breakdown["distance_km"]
        return pd.DataFrame(columns)

    def to_records(self) -> list[dict[str, Any]]:
        """The rows of :meth:`to_pandas` as plain dicts (no pandas needed)."""
        names = ["score", *COMPONENTS, "distance_km"]
        rows = zip(*(self.breakdown[n].tolist() for n in names), strict=True)
        return [
            {"provider": p, "receiver": r, **dict(zip(names, values, strict=True))}
            for p, r, values in zip(
                self.provider_ids.tolist(), self.receiver_ids.tolist(), rows, strict=True
            )
        ]

    def to_networkx(self) -> Any:
        """The pairs as a networkx ``Graph``: unit nodes (with kind), an edge per pair with its
        score and components as attributes."""
        import networkx as nx

        graph = nx.Graph()
        g = self.graph
        for side, units in (("provider", self.providers), ("receiver", self.receivers)):
            for i in units.tolist():
                graph.add_node(str(g.ids[i]), kind=KINDS[g.kinds[i]], side=side)
        graph.add_edges_from(
            (row.pop("provider"), row.pop("receiver"), row) for row in self.to_records()
        )
        return graph

    def __repr__(self) -> str:
        return (
            f"PairingResult(status={self.status!r}, pairs={len(self)}, "
            f"objective={self.objective:.6g})"
        )


def _histogram(counts: npt.NDArray[np.int64]) -> dict[int, int]:
    values, freq = np.unique(counts, return_counts=True)
    return dict(zip(values.tolist(), freq.tolist(), strict=True))


def _format_histogram(hist: dict[int, int]) -> str:
    """``1 partner: 211, 2 partners: 146`` or, for many distinct counts, min/median/max."""
    if len(hist) <= 6:
        return ", ".join(f"{k} partner{'s' if k != 1 else ''}: {v}" for k, v in hist.items())
    counts = np.repeat(np.fromiter(hist, dtype=np.int64), list(hist.values()))
    return f"min {counts.min()}, median {np.median(counts):g}, max {counts.max()}"


@dataclass(frozen=True, repr=False)
class GeneralMatchResult:
    """The answer of :func:`pbmatch.match_general`: chosen pairs within one pool.

    Attributes
    ----------
    pairs : list of (u, v)
        The chosen pairs, each oriented as given and listed in the order of ``edges`` (for a
        score matrix: ``(i, j)`` with ``i < j``, sorted by ``i`` then ``j``).
    weights : ndarray of float
        The weight of each chosen pair, as given (not rounded).
    edge_index : ndarray of int
        Where each chosen pair came from: its position in ``edges``, or the flat index
        ``i * n + j`` in an ``n x n`` score matrix.
    objective : float
        Sum of ``weights`` (NaN when there is no solution).
    status : str
        ``"optimal"`` (proven: ``bound == objective``), ``"feasible"`` (a time limit stopped
        the proof), ``"not_solved"`` or ``"error"``.
    method : str
        The method that solved it (``"relaxation"`` or ``"cpsat"``).
    resolution : float or None
        The weight difference one integer step stood for when weights were scaled to
        integers; ``None`` when they were used exactly.
    message : str
        What the solver did, with the backends' own status names.
    bound : float or None
        An upper bound on the total weight: the objective itself when optimal; without a proof
        the fractional relaxation's bound (``None`` in ``maxcardinality`` mode).
    wall_time : float
        Seconds spent from validated input to decoded answer.
    extra : dict
        Solver counters (relaxation half edges, rounds, sizes of the exact sub-solves, ...).
    """

    pairs: list[tuple[Any, Any]]
    weights: FloatArray
    edge_index: IntArray
    objective: float
    status: Status
    method: str = ""
    resolution: float | None = None
    message: str = ""
    bound: float | None = None
    wall_time: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    def __len__(self) -> int:
        return len(self.pairs)

    def partners(self) -> dict[Any, list[Any]]:
        """Each paired node's partners, in the order of ``pairs`` (unpaired nodes absent)."""
        out: dict[Any, list[Any]] = {}
        for u, v in self.pairs:
            out.setdefault(u, []).append(v)
            out.setdefault(v, []).append(u)
        return out

    def to_networkx(self) -> Any:
        """The pairs as a networkx ``Graph`` with a ``weight`` on each edge."""
        import networkx as nx

        graph = nx.Graph()
        graph.add_weighted_edges_from(
            (u, v, w) for (u, v), w in zip(self.pairs, self.weights.tolist(), strict=True)
        )
        return graph

    def raise_for_status(self) -> GeneralMatchResult:
        """Return ``self`` if a solution is present, else raise.

        Raises
        ------
        SolverError
            The solver stopped without a solution or failed.
        """
        if self.success:
            return self
        if self.status == INFEASIBLE:
            raise InfeasibleError(f"infeasible: {self.message}", self)
        raise SolverError(f"{self.status}: {self.message}")

    def __repr__(self) -> str:
        return (
            f"GeneralMatchResult(status={self.status!r}, pairs={len(self)}, "
            f"objective={self.objective:.6g}, method={self.method!r})"
        )
