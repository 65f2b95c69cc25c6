"""The result of :func:`pbmatch.pair`: :class:`PairingResult`, co-building pairs with ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import Status
from pbmatch.exceptions import SolverError
from pbmatch.graph import RegionGraph
from pbmatch.model import KINDS
from pbmatch.results._base import FloatArray, Result, histogram
from pbmatch.results.matching import MatchResult
from pbmatch.scoring.weights import COMPONENTS, Weights

__all__ = ["PairingResult"]


@dataclass(frozen=True, repr=False)
class PairingResult(Result):
    """The answer of :func:`pbmatch.pair`: co-building pairs with their score breakdown.

    :meth:`to_pandas` and :meth:`to_records` have one row per pair: ``provider``,
    ``receiver``, ``score``, each score component, ``distance_km``; :meth:`to_networkx` gives
    the units as nodes and the pairs as edges.

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
    diagnosis : PairingDiagnosis or None
        When infeasible: a minimal set of conflicting rules in domain words, why they
        conflict, and the cheapest relaxations (:class:`pbmatch.diagnosis.PairingDiagnosis`).
    rules : tuple of Rule
        The rules solved with (``pair(rules=...)``).
    previous : ndarray of int, shape (k, 2), or None
        Provider and receiver positions of the previous pairs, when given.
    max_changes : int or None
        At most this many previous pairs could be dropped.
    objective_kind : str
        ``"sum"`` or ``"maxmin"``.
    fair_by : str or None
        The groups of ``objective="maxmin"``.
    min_fair : float or None
        With ``"maxmin"``: the mean total score per receiver of the worst-off group.
    penalty : float
        What the broken soft rules cost (``objective`` is the total score before it).
    violations : tuple of Violation
        Each soft rule that is broken, by how much and where.
    bound, gap : float or None
        The solver's bound on its objective and the relative gap (0 when proved optimal).

    Examples
    --------
    When no pairing satisfies every rule, :meth:`raise_for_status` raises with the
    diagnosis:

    >>> import pbmatch
    >>> from pbmatch.rules import Forbid, Lock
    >>> g = pbmatch.synthetic_district(seed=0, n_streets=1, n_townships=0,
    ...                                units_per_street=(4, 4), communities_per_street=(2, 2))
    >>> bad = pbmatch.pair(g, rules=[Lock("S1-U01", "S1-C01"), Forbid("S1-U01", "S1-C01")])
    >>> try:
    ...     bad.raise_for_status()
    ... except pbmatch.InfeasibleError as error:
    ...     print(error.diagnosis.conflict)
    ("Lock('S1-U01', 'S1-C01')", "Forbid('S1-U01', 'S1-C01')")
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
    rules: tuple[Any, ...] = ()
    previous: npt.NDArray[np.int64] | None = None
    max_changes: int | None = None
    objective_kind: str = "sum"
    fair_by: str | None = None
    min_fair: float | None = None
    penalty: float = 0.0
    violations: tuple[Any, ...] = ()
    bound: float | None = None
    gap: float | None = None

    _ITEMS = "provider_ids"

    @property
    def method(self) -> str:
        return self.match.method

    @property
    def net_objective(self) -> float:
        """``objective - penalty``: the total score less what broken soft rules cost."""
        return self.objective - self.penalty

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

    def _infeasible_words(self) -> str:
        return str(getattr(self.diagnosis, "message", "") or self.message)

    def changes(self) -> dict[str, list[tuple[str, str]]]:
        """The previous pairs ``kept`` and ``dropped``, and the ``new`` pairs, in unit ids.

        Empty lists without ``previous``.
        """
        g = self.graph
        m = max(1, self.receivers.size)
        now = self.match.rows.astype(np.int64) * m + self.match.cols
        prev = np.zeros((0, 2), np.int64) if self.previous is None else self.previous
        before = prev[:, 0] * m + prev[:, 1]
        kept = np.isin(before, now)

        def ids(keys: npt.NDArray[np.int64]) -> list[tuple[str, str]]:
            p = g.ids[self.providers[keys // m]].tolist()
            r = g.ids[self.receivers[keys % m]].tolist()
            return list(zip(p, r, strict=True))

        new = now[~np.isin(now, before)] if self.previous is not None else now[:0]
        return {"kept": ids(before[kept]), "dropped": ids(before[~kept]), "new": ids(new)}

    def fairness(self, level: str = "street") -> Any:
        """Gini of the score each receiver gets and the worst-off region at ``level``.

        ``level`` is ``"receiver"`` or a region level (``"street"``, ``"community"``,
        ``"district"`` ...). Returns a :class:`pbmatch.fairness.FairnessReport`.

        Examples
        --------
        >>> import pbmatch
        >>> report = pbmatch.pair(pbmatch.synthetic_district(seed=0)).fairness("street")
        >>> report.worst_mean <= report.mean <= report.best_mean
        True
        """
        from pbmatch.fairness import fairness_report

        return fairness_report(
            self.graph, self.receivers, self.match.cols, self.breakdown["score"], level=level
        )

    @property
    def certified(self) -> bool:
        """True when the pairing is proved optimal over every allowed pair (see ``MatchResult``)."""
        return self.match.certified

    def explain(self, provider: str, receiver: str) -> Any:
        """Why ``provider`` and ``receiver`` are paired, or why not, in unit ids.

        Returns an :class:`~pbmatch.explain.Explanation` with ids: for a pair in the
        solution, its score ``breakdown`` and ``margin`` (how much the best total would drop
        without it) and the pairs that would replace it (``join``); for another pair, its
        ``loss`` (how much the best total would drop were it forced in), the partners it
        would ``displace``, its ``reduced_score`` and its ``breakdown``. Exact (see
        :meth:`MatchResult.explain`).

        Raises
        ------
        InputError
            An id that is not a unit of the graph, or not on that side.

        Examples
        --------
        >>> import pbmatch
        >>> result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
        >>> p, r = result.pairs[0]
        >>> why = result.explain(p, r)
        >>> why.chosen, why.margin >= 0, abs(why.breakdown["score"] - why.score) < 1e-12
        (True, True, True)
        """
        from dataclasses import replace

        from pbmatch.exceptions import InputError
        from pbmatch.scoring.pairscore import PairScorer

        if self.success and self.match.certificate is None:
            raise SolverError(
                "explain() needs the optimality certificate of a pairing solved without "
                "rules, max_changes or objective='maxmin'; this one has none"
            )
        g = self.graph
        where = []
        for uid, units, side in ((provider, self.providers, "provider"),
                                 (receiver, self.receivers, "receiver")):  # fmt: skip
            pos = np.flatnonzero(units == g.index(uid))
            if pos.size == 0:
                raise InputError(f"unit {uid!r} is not among the {side}s of this pairing")
            where.append(int(pos[0]))
        why = self.match.explain(where[0], where[1])
        scorer = PairScorer(g, self.providers, self.receivers, self.weights, max_km=self.max_km)
        parts = scorer.breakdown(np.array(where[:1]), np.array(where[1:]))
        names = [*COMPONENTS, "score", "distance_km"]

        def ids(pairs: list[tuple[Any, Any]]) -> list[tuple[str, str]]:
            return [
                (str(g.ids[self.providers[i]]), str(g.ids[self.receivers[j]])) for i, j in pairs
            ]

        return replace(
            why,
            row=provider,
            col=receiver,
            leave=ids(why.leave),
            join=ids(why.join),
            breakdown={name: float(parts[name][0]) for name in names},
        )

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
            "provider_partners": histogram(per_provider),
            "receiver_partners": histogram(per_receiver),
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
        if self.rules:
            lines.append("Rules: " + ", ".join(getattr(r, "label", repr(r)) for r in self.rules))
        if self.objective_kind == "maxmin" and self.min_fair is not None:
            lines.append(
                f"Max-min by {self.fair_by}: worst-off mean total score per receiver "
                f"{self.min_fair:.4f}"
            )
        if self.violations:
            lines.append(f"Soft rules broken (penalty {self.penalty:.4f} in all):")
            lines += [f"  - {v}" for v in self.violations]
        if self.previous is not None and self.success:
            changed = self.changes()
            limit = "" if self.max_changes is None else f" (max_changes {self.max_changes})"
            lines.append(
                f"Previous pairs kept: {len(changed['kept'])} of {self.previous.shape[0]}"
                f"{limit}; new pairs: {len(changed['new'])}"
            )
        if self.success and len(self):
            lines += self.fairness("street").lines()
        if self.gap is not None and self.status == "feasible":
            lines.append(f"Bound {self.bound:.4f}, gap {100 * self.gap:.2f}% (time limit)")
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        if self.diagnosis is not None:
            lines += [str(line) for line in str(self.diagnosis).splitlines()]
        return "\n".join(lines)

    def _table_columns(self) -> dict[str, Any]:
        columns: dict[str, Any] = {
            "provider": self.provider_ids,
            "receiver": self.receiver_ids,
            "score": self.breakdown["score"],
        }
        columns.update({name: self.breakdown[name] for name in COMPONENTS})
        columns["distance_km"] = self.breakdown["distance_km"]
        return columns

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

    def _repr_parts(self) -> list[str]:
        return [f"pairs={len(self)}", f"objective={self.objective:.6g}"]


def _format_histogram(hist: dict[int, int]) -> str:
    """``1 partner: 211, 2 partners: 146`` or, for many distinct counts, min/median/max."""
    if len(hist) <= 6:
        return ", ".join(f"{k} partner{'s' if k != 1 else ''}: {v}" for k, v in hist.items())
    counts = np.repeat(np.fromiter(hist, dtype=np.int64), list(hist.values()))
    return f"min {counts.min()}, median {np.median(counts):g}, max {counts.max()}"
