"""Frozen result objects returned by every solve.

A result always carries a ``status`` (see :mod:`pbmatch._status`), a ``success`` flag (a
solution is present), the ``objective`` recomputed in floats from the chosen items, and the
backend's own words in ``message``. Callers who prefer exceptions call ``raise_for_status()``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
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
        An upper bound on the best value of the primary objective, where the backend gives
        one: the total score, or with ``objective="maxmin"`` the smallest column total.
    wall_time : float
        Seconds spent from validated input to decoded answer.
    diagnosis : object or None
        Why the problem is infeasible, when it is and pbmatch can say: with rules (``forbid``,
        ``require``, ``previous``, ``objective="maxmin"``) a
        :class:`~pbmatch.solvers.rules.Diagnosis` (a minimal set of conflicting rules and
        the cheapest relaxations), else the flow backend's dict naming the row or column.
    gap : float or None
        ``(bound - value) / max(|bound|, 1)`` of the primary objective: 0 when proven
        optimal, positive when a time limit stopped the search (status ``"feasible"``).
    min_fair : float or None
        With ``objective="maxmin"``: the smallest total score any counted column receives.
    certificate : Certificate or None
        The proof of optimality (:class:`pbmatch.solvers.certified.Certificate`): dual
        prices of every row and column and the candidate pairs; None without a solution.
    certified : bool
        True when pbmatch proved the answer optimal itself, independently of the solver's
        word: prices that price out every allowed pair (see :mod:`pbmatch.solvers.certified`;
        exact for integer scores, within ``resolution`` per pair otherwise).
    rounds : int
        Solve-and-price rounds of the proof.
    priced : int
        Pairs priced (checked against the prices without being solved with) over all rounds.
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
    certificate: Any = field(default=None, compare=False)
    gap: float | None = None
    min_fair: float | None = None

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    @property
    def certified(self) -> bool:
        """True when pbmatch proved the answer optimal for every allowed pair."""
        return bool(self.certificate is not None and self.certificate.certified)

    @property
    def rounds(self) -> int:
        """Solve-and-price rounds of the proof (0 without one)."""
        return 0 if self.certificate is None else int(self.certificate.rounds)

    @property
    def priced(self) -> int:
        """Pairs priced over all rounds of the proof (0 without one)."""
        return 0 if self.certificate is None else int(self.certificate.priced)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """The chosen pairs as a list of ``(row, col)`` tuples."""
        return list(zip(self.rows.tolist(), self.cols.tolist(), strict=True))

    def explain(self, row: int, col: int) -> Any:
        """Why pair ``(row, col)`` is chosen, or why not.

        Returns an :class:`~pbmatch.explain.Explanation`: for a chosen pair its ``margin``
        (how much the best total would drop without it) and what would replace it; for
        another pair its ``loss`` (how much the best total would drop were it forced in), the
        chosen pairs it would ``displace``, and its ``reduced_score`` under the certificate's
        prices (a lower bound on the loss). Exact: computed from the certificate by the
        cheapest alternating cycle through the pair, over every allowed pair.

        Raises
        ------
        InputError
            The pair is outside the matrix.
        SolverError
            The result has no certificate (no solution).

        Examples
        --------
        >>> import numpy as np
        >>> from pbmatch.matching import match
        >>> result = match(np.array([[3.0, 1.0], [2.0, 1.5]]))
        >>> result.pairs
        [(0, 0), (1, 1)]
        >>> why = result.explain(0, 0)
        >>> why.chosen, why.margin, why.join
        (True, 1.5, [(0, 1), (1, 0)])
        >>> why_not = result.explain(1, 0)
        >>> why_not.loss, why_not.displaced
        (1.5, [(0, 0), (1, 1)])
        """
        from pbmatch.explain import explain_pair

        if self.certificate is None:
            raise SolverError(f"no solution to explain (status {self.status!r})")
        return explain_pair(self.certificate, self.objective, int(row), int(col))

    def __len__(self) -> int:
        return int(self.rows.size)

    def raise_for_status(self) -> MatchResult:
        """Return ``self`` if a solution is present, else raise.

        Raises
        ------
        InfeasibleError
            The problem has no solution (``status == "infeasible"``); its ``diagnosis`` is
            the result's.
        SolverError
            The solver stopped without a solution or failed.

        Examples
        --------
        >>> import numpy as np
        >>> from pbmatch.matching import match
        >>> result = match(np.ones((2, 2)), forbid=[(0, 0)], require=[(0, 0)])
        >>> try:
        ...     result.raise_for_status()
        ... except Exception as error:
        ...     print(type(error).__name__, error.diagnosis.names)
        InfeasibleError ('forbid (0, 0)', 'require (0, 0)')
        """
        if self.success:
            return self
        if self.status == INFEASIBLE:
            words = getattr(self.diagnosis, "message", None)
            detail = words if isinstance(words, str) and words not in self.message else ""
            raise InfeasibleError(
                f"infeasible: {self.message}{' ' + detail if detail else ''}", self
            )
        raise SolverError(f"{self.status}: {self.message}")

    def __repr__(self) -> str:
        return (
            f"MatchResult(status={self.status!r}, pairs={len(self)}, "
            f"objective={self.objective:.6g}, method={self.method!r}, "
            f"certified={self.certified})"
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

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

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

    def __len__(self) -> int:
        return int(self.provider_ids.size)

    def raise_for_status(self) -> PairingResult:
        """Return ``self`` if a solution is present, else raise.

        Raises
        ------
        InfeasibleError
            No pairing satisfies every rule; the error carries this result, so
            ``error.diagnosis`` is :attr:`diagnosis` and its message the diagnosis' words.
        SolverError
            The solver stopped without a solution or failed.

        Examples
        --------
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
        if self.success:
            return self
        if self.status == INFEASIBLE:
            words = getattr(self.diagnosis, "message", "") or self.message
            raise InfeasibleError(f"infeasible: {words}", self)
        raise SolverError(f"{self.status}: {self.message}")

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

    def to_html(self, **options: Any) -> str:
        """A self-contained HTML report (see :func:`pbmatch.report.to_html`)."""
        from pbmatch.report import to_html

        return to_html(self, **options)

    def _repr_html_(self) -> str:
        from pbmatch.report import repr_html

        return repr_html(self)

    def write(self, path: str | os.PathLike[str], *, lang: str = "en") -> Path:
        """Write to .xlsx, .csv, .json, .geojson or .html (see :func:`pbmatch.io.write`)."""
        from pbmatch.io import write

        return write(self, path, lang=lang)  # type: ignore[arg-type]

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


# ---------------------------------------------------------------------------------------------
# Three lists (allocate), double reporting (assign_posts), floating members
# ---------------------------------------------------------------------------------------------


def _table_graph(frame: Any, source: str, target: str) -> Any:
    """A multigraph with one edge per row of ``frame``, from ``source`` to ``target``."""
    import networkx as nx

    rows = frame.dropna(subset=[source, target])
    attributes = [column for column in rows.columns if column not in (source, target)]
    graph = nx.from_pandas_edgelist(
        rows, source, target, edge_attr=attributes or None, create_using=nx.MultiDiGraph
    )
    return graph


def _check_status(status: str, message: str, result: Any) -> None:
    if status in WITH_SOLUTION:
        return
    if status == INFEASIBLE:
        raise InfeasibleError(f"infeasible: {message}", result)
    raise SolverError(f"{status}: {message}")


def _warning_lines(notes: tuple[str, ...], limit: int = 10) -> list[str]:
    lines = [f"Warning: {w}" for w in notes[:limit]]
    if len(notes) > limit:
        lines.append(f"… and {len(notes) - limit} more warnings (see .warnings)")
    return lines


def _more(items: list[str], limit: int = 10) -> str:
    text = ", ".join(items[:limit]) or "none"
    return text + (f", … ({len(items)} in all)" if len(items) > limit else "")


@dataclass(frozen=True, repr=False)
class AllocationResult:
    """The answer of :func:`pbmatch.allocate`: flows of whole quantities from offers to needs.

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

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    def __len__(self) -> int:
        return int(self.quantities.size)

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

    def raise_for_status(self) -> AllocationResult:
        """Return ``self`` if a solution is present, else raise (see ``MatchResult``)."""
        _check_status(self.status, self.message, self)
        return self

    def to_html(self, **options: Any) -> str:
        """A self-contained HTML report (see :func:`pbmatch.report.to_html`)."""
        from pbmatch.report import to_html

        return to_html(self, **options)

    def _repr_html_(self) -> str:
        from pbmatch.report import repr_html

        return repr_html(self)

    def to_networkx(self) -> Any:
        """One edge per row of :meth:`to_pandas`, ``provider`` -> ``receiver``, the other columns as
        edge attributes (rows without both ends are left out). Needs pandas."""
        return _table_graph(self.to_pandas(), "provider", "receiver")

    def write(self, path: str | os.PathLike[str], *, lang: str = "en") -> Path:
        """Write to .xlsx, .csv, .json, .geojson or .html (see :func:`pbmatch.io.write`)."""
        from pbmatch.io import write

        return write(self, path, lang=lang)  # type: ignore[arg-type]

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
        lines += _warning_lines(self.warnings)
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        return "\n".join(lines)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per flow: ``provider``, ``receiver``, ``category``, ``quantity``,
        ``distance_km``."""
        return [
            {"provider": p, "receiver": r, "category": c, "quantity": q, "distance_km": d}
            for p, r, c, q, d in zip(
                self.provider_ids.tolist(),
                self.receiver_ids.tolist(),
                self.category_names.tolist(),
                self.quantities.tolist(),
                self.distance_km.tolist(),
                strict=True,
            )
        ]

    def to_pandas(self) -> Any:
        """One row per flow: ``provider``, ``receiver``, ``category``, ``quantity``,
        ``distance_km``. Requires pandas."""
        import pandas as pd

        return pd.DataFrame(
            {
                "provider": self.provider_ids,
                "receiver": self.receiver_ids,
                "category": self.category_names,
                "quantity": self.quantities,
                "distance_km": self.distance_km,
            }
        )

    def __repr__(self) -> str:
        return (
            f"AllocationResult(status={self.status!r}, flows={len(self)}, "
            f"need_met={self.need_met}, quantity_km={self.quantity_km:.6g})"
        )


@dataclass(frozen=True, repr=False)
class PostAssignmentResult:
    """The answer of :func:`pbmatch.assign_posts`: members on service posts (双报到).

    Attributes
    ----------
    member_ids, post_ids : ndarray of str
        One entry per filled seat, sorted by member then post (input order).
    objective : float
        Seats filled (NaN without a solution).
    load_cost : int
        ``sum(k * (k - 1) / 2)`` over members with ``k`` posts: 0 when nobody has two posts;
        least among assignments that fill the most seats.
    fit_cost : int
        Total unneeded skills: for each seat, the member's skills the post does not require;
        least among assignments that fill the most seats with the least ``load_cost``.
    status, message, wall_time, bound
        As on :class:`MatchResult`.
    members, posts : tuple of Member, tuple of ServicePost
        The validated input.
    max_posts : ndarray of int
        Most posts of each member as solved (its own ``max_posts`` or the default).
    members_index, posts_index : ndarray of int
        Positions of each seat's member and post in ``members`` and ``posts``.
    warnings : tuple of str
        Posts no member of their community can fill (a skill nobody there has, or nobody
        there at all).
    """

    member_ids: npt.NDArray[np.str_]
    post_ids: npt.NDArray[np.str_]
    objective: float
    load_cost: int
    fit_cost: int
    status: Status
    members: tuple[Any, ...]
    posts: tuple[Any, ...]
    max_posts: npt.NDArray[np.int64]
    members_index: npt.NDArray[np.int64]
    posts_index: npt.NDArray[np.int64]
    message: str = ""
    bound: float | None = None
    wall_time: float = 0.0
    warnings: tuple[str, ...] = ()

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    def __len__(self) -> int:
        return int(self.member_ids.size)

    @property
    def seats(self) -> int:
        """Seats filled."""
        return len(self)

    @property
    def seats_offered(self) -> int:
        """Total headcount of the posts."""
        return int(sum(p.headcount for p in self.posts))

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The filled seats as ``(member, post)`` tuples."""
        return list(zip(self.member_ids.tolist(), self.post_ids.tolist(), strict=True))

    def raise_for_status(self) -> PostAssignmentResult:
        """Return ``self`` if a solution is present, else raise (see ``MatchResult``)."""
        _check_status(self.status, self.message, self)
        return self

    def to_html(self, **options: Any) -> str:
        """A self-contained HTML report (see :func:`pbmatch.report.to_html`)."""
        from pbmatch.report import to_html

        return to_html(self, **options)

    def _repr_html_(self) -> str:
        from pbmatch.report import repr_html

        return repr_html(self)

    def to_networkx(self) -> Any:
        """One edge per row of :meth:`to_pandas`, ``member`` -> ``post``, the other columns as
        edge attributes (rows without both ends are left out). Needs pandas."""
        return _table_graph(self.to_pandas(), "member", "post")

    def write(self, path: str | os.PathLike[str], *, lang: str = "en") -> Path:
        """Write to .xlsx, .csv, .json, .geojson or .html (see :func:`pbmatch.io.write`)."""
        from pbmatch.io import write

        return write(self, path, lang=lang)  # type: ignore[arg-type]

    def posts_per_member(self) -> dict[int, int]:
        """Histogram: number of posts → number of members."""
        counts = np.bincount(self.members_index, minlength=len(self.members)).astype(np.int64)
        return _histogram(counts)

    def unfilled(self) -> list[dict[str, Any]]:
        """Posts with empty seats: ``post``, ``community``, ``headcount``, ``filled``."""
        filled = np.bincount(self.posts_index, minlength=len(self.posts))
        return [
            {"post": p.id, "community": p.community, "headcount": p.headcount, "filled": int(f)}
            for p, f in zip(self.posts, filled.tolist(), strict=True)
            if f < p.headcount
        ]

    def report(self) -> str:
        """A readable summary: seats filled, load, fit, unfilled posts and warnings."""
        offered = self.seats_offered
        share = 100 * self.seats / offered if offered else 100.0
        hist = self.posts_per_member()
        unfilled = self.unfilled()
        lines = [
            f"Post assignment (双报到): {self.status}, {self.seats} of {offered} seats filled "
            f"({share:.1f}%), {len(self.members)} members, {len(self.posts)} posts, "
            f"{self.wall_time:.3f} s",
            "Posts per member: "
            + (
                ", ".join(f"{k} post{'s' if k != 1 else ''}: {v}" for k, v in hist.items())
                or "no members"
            ),
            f"Load cost {self.load_cost} (pairs of posts held by one member); unneeded skills "
            f"{self.fit_cost}",
            f"Posts with empty seats: {len(unfilled)}"
            + (f" ({_more([u['post'] for u in unfilled])})" if unfilled else ""),
        ]
        lines += _warning_lines(self.warnings)
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        return "\n".join(lines)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per filled seat: ``member``, ``post``."""
        return [
            {"member": m, "post": p}
            for m, p in zip(self.member_ids.tolist(), self.post_ids.tolist(), strict=True)
        ]

    def to_pandas(self) -> Any:
        """One row per filled seat: ``member``, ``post``. Requires pandas."""
        import pandas as pd

        return pd.DataFrame({"member": self.member_ids, "post": self.post_ids})

    def __repr__(self) -> str:
        return (
            f"PostAssignmentResult(status={self.status!r}, seats={self.seats}, "
            f"load_cost={self.load_cost}, fit_cost={self.fit_cost})"
        )


@dataclass(frozen=True, repr=False)
class FloatingResult:
    """The answer of :func:`pbmatch.host_floating_members`: members placed with hosts.

    Attributes
    ----------
    member_ids, host_ids : ndarray of str
        One entry per hosted member, sorted by host then member (input order).
    distance_km : ndarray of float
        Great-circle distance from the member to the host.
    same_industry : ndarray of bool
        Whether member and host share an industry.
    contact : ndarray of int
        Which of the host's contact persons (1, 2, ...) follows the member: members of a host
        are dealt to ``ceil(n / per_contact)`` contacts in turn, so each follows 3–5 when the
        host has 3 or more.
    objective : float
        Members hosted (NaN without a solution).
    cost_km : float
        ``sum(distance_km + industry_km * (not same_industry))``: least among placements that
        host the most members.
    status, message, wall_time, resolution, bound
        As on :class:`MatchResult`.
    members, hosts : tuple of FloatingMember, tuple of Host
        The validated input.
    capacity : ndarray of int
        Most members of each host as solved: ``min(capacity, per_contact * contacts)``.
    members_index, hosts_index : ndarray of int
        Positions of each placement's member and host in ``members`` and ``hosts``.
    max_km, industry_km, per_contact, branch_min
        The rules solved with.
    warnings : tuple of str
    """

    member_ids: npt.NDArray[np.str_]
    host_ids: npt.NDArray[np.str_]
    distance_km: FloatArray
    same_industry: npt.NDArray[np.bool_]
    contact: npt.NDArray[np.int64]
    objective: float
    cost_km: float
    status: Status
    members: tuple[Any, ...]
    hosts: tuple[Any, ...]
    capacity: npt.NDArray[np.int64]
    members_index: npt.NDArray[np.int64]
    hosts_index: npt.NDArray[np.int64]
    max_km: float | None = None
    industry_km: float = 0.0
    per_contact: int = 5
    branch_min: int = 3
    resolution: float | None = None
    message: str = ""
    bound: float | None = None
    wall_time: float = 0.0
    warnings: tuple[str, ...] = ()

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    def __len__(self) -> int:
        return int(self.member_ids.size)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The placements as ``(member, host)`` tuples."""
        return list(zip(self.member_ids.tolist(), self.host_ids.tolist(), strict=True))

    @property
    def unhosted(self) -> list[str]:
        """Ids of the members no host took (none within ``max_km`` had room)."""
        hosted = np.zeros(len(self.members), dtype=bool)
        hosted[self.members_index] = True
        return [m.id for m, h in zip(self.members, hosted.tolist(), strict=True) if not h]

    def raise_for_status(self) -> FloatingResult:
        """Return ``self`` if a solution is present, else raise (see ``MatchResult``)."""
        _check_status(self.status, self.message, self)
        return self

    def to_html(self, **options: Any) -> str:
        """A self-contained HTML report (see :func:`pbmatch.report.to_html`)."""
        from pbmatch.report import to_html

        return to_html(self, **options)

    def _repr_html_(self) -> str:
        from pbmatch.report import repr_html

        return repr_html(self)

    def to_networkx(self) -> Any:
        """One edge per row of :meth:`to_pandas`, ``member`` -> ``host``, the other columns as
        edge attributes (rows without both ends are left out). Needs pandas."""
        return _table_graph(self.to_pandas(), "member", "host")

    def write(self, path: str | os.PathLike[str], *, lang: str = "en") -> Path:
        """Write to .xlsx, .csv, .json, .geojson or .html (see :func:`pbmatch.io.write`)."""
        from pbmatch.io import write

        return write(self, path, lang=lang)  # type: ignore[arg-type]

    def host_summary(self) -> list[dict[str, Any]]:
        """One dict per host that took members: ``host``, ``members``, ``capacity``,
        ``contacts_needed``, ``branch`` (enough members, ``branch_min`` or more, for a
        temporary branch 临时党支部)."""
        counts = np.bincount(self.hosts_index, minlength=len(self.hosts))
        return [
            {
                "host": h.id,
                "members": int(n),
                "capacity": int(cap),
                "contacts_needed": -(-int(n) // self.per_contact),
                "branch": bool(n >= self.branch_min),
            }
            for h, n, cap in zip(self.hosts, counts.tolist(), self.capacity.tolist(), strict=True)
            if n > 0
        ]

    @property
    def branches(self) -> list[str]:
        """Ids of the hosts with enough members for a temporary branch."""
        return [row["host"] for row in self.host_summary() if row["branch"]]

    def report(self) -> str:
        """A readable summary: members hosted, distance, industry, branches, unhosted."""
        n = len(self.members)
        unhosted = self.unhosted
        share = 100 * len(self) / n if n else 100.0
        same = int(self.same_industry.sum())
        mean_km = float(self.distance_km.mean()) if len(self) else 0.0
        summary = self.host_summary()
        lines = [
            f"Floating members (流动党员): {self.status}, {len(self)} of {n} hosted "
            f"({share:.1f}%) by {len(summary)} hosts, {self.wall_time:.3f} s",
            f"Distance: mean {mean_km:.2f} km, total {float(self.distance_km.sum()):.2f} km; "
            f"same industry: {same} of {len(self)}",
            f"Hosts with {self.branch_min}+ members (temporary branch possible): "
            f"{len(self.branches)} ({_more(self.branches)})",
            f"Contact persons needed: {sum(r['contacts_needed'] for r in summary)} "
            f"(each follows at most {self.per_contact})",
            f"Unhosted: {len(unhosted)} ({_more(unhosted)})",
        ]
        lines += _warning_lines(self.warnings)
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        return "\n".join(lines)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per hosted member: ``member``, ``host``, ``distance_km``,
        ``same_industry``, ``contact``."""
        return [
            {"member": m, "host": h, "distance_km": d, "same_industry": s, "contact": c}
            for m, h, d, s, c in zip(
                self.member_ids.tolist(),
                self.host_ids.tolist(),
                self.distance_km.tolist(),
                self.same_industry.tolist(),
                self.contact.tolist(),
                strict=True,
            )
        ]

    def to_pandas(self) -> Any:
        """One row per hosted member: ``member``, ``host``, ``distance_km``, ``same_industry``,
        ``contact``. Requires pandas."""
        import pandas as pd

        return pd.DataFrame(
            {
                "member": self.member_ids,
                "host": self.host_ids,
                "distance_km": self.distance_km,
                "same_industry": self.same_industry,
                "contact": self.contact,
            }
        )

    def __repr__(self) -> str:
        return (
            f"FloatingResult(status={self.status!r}, hosted={len(self)} of "
            f"{len(self.members)}, cost_km={self.cost_km:.6g})"
        )


__all__ += ["AllocationResult", "FloatingResult", "PostAssignmentResult"]


# ---------------------------------------------------------------------------------------------
# Exchange cycles, joint branches, projects
# ---------------------------------------------------------------------------------------------
def _optional_float(value: float | None) -> str:
    return "none" if value is None else f"{value:.6g}"


@dataclass(frozen=True, repr=False)
class ExchangeResult:
    """The answer of :func:`pbmatch.exchange_cycles`: disjoint giving cycles (交换机制).

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

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    def __len__(self) -> int:
        return len(self.cycles)

    @property
    def units(self) -> list[str]:
        """Ids of the units in some cycle, in cycle order."""
        return [u for cycle in self.cycles for u in cycle]

    def raise_for_status(self) -> ExchangeResult:
        """Return ``self`` if a solution is present, else raise (see ``MatchResult``)."""
        _check_status(self.status, self.message, self)
        return self

    def to_html(self, **options: Any) -> str:
        """A self-contained HTML report (see :func:`pbmatch.report.to_html`)."""
        from pbmatch.report import to_html

        return to_html(self, **options)

    def _repr_html_(self) -> str:
        from pbmatch.report import repr_html

        return repr_html(self)

    def to_networkx(self) -> Any:
        """One edge per row of :meth:`to_pandas`, ``giver`` -> ``receiver``, the other columns as
        edge attributes (rows without both ends are left out). Needs pandas."""
        return _table_graph(self.to_pandas(), "giver", "receiver")

    def write(self, path: str | os.PathLike[str], *, lang: str = "en") -> Path:
        """Write to .xlsx, .csv, .json, .geojson or .html (see :func:`pbmatch.io.write`)."""
        from pbmatch.io import write

        return write(self, path, lang=lang)  # type: ignore[arg-type]

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

    def to_pandas(self) -> Any:
        """The rows of :meth:`to_records` as a DataFrame. Requires pandas."""
        import pandas as pd

        columns = ["cycle", "length", "step", "giver", "receiver", "category", "quantity"]
        return pd.DataFrame(self.to_records(), columns=columns)

    def report(self, top: int = 5) -> str:
        """A readable summary: units in cycles, cycle lengths, the largest cycles' gifts."""
        n = len(self.candidates)
        lengths: dict[int, int] = {}
        for cycle in self.cycles:
            lengths[len(cycle)] = lengths.get(len(cycle), 0) + 1
        rules = f"length <= {self.max_length}" + (
            f", within {self.max_km:g} km" if self.max_km is not None else ""
        )
        lines = [
            f"Exchange cycles (交换机制): {self.status}, {len(self)} cycles ({rules}), "
            f"{self.wall_time:.3f} s",
            f"Units in cycles: {self.objective:g} of {n} that can both give and receive "
            f"(bound {_optional_float(self.bound)}); quantity exchanged {self.quantity:g}",
            "Cycles by length: "
            + (", ".join(f"{k}: {v}" for k, v in sorted(lengths.items())) or "none"),
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
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ExchangeResult(status={self.status!r}, cycles={len(self)}, "
            f"units={self.objective:g}, quantity={self.quantity:g})"
        )


__all__ += ["ExchangeResult"]


@dataclass(frozen=True, repr=False)
class JointBranchesResult:
    """The answer of :func:`pbmatch.form_joint_branches`: small units in joint branches.

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

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    def __len__(self) -> int:
        return len(self.groups)

    def raise_for_status(self) -> JointBranchesResult:
        """Return ``self`` if a solution is present, else raise (see ``MatchResult``)."""
        _check_status(self.status, self.message, self)
        return self

    def to_html(self, **options: Any) -> str:
        """A self-contained HTML report (see :func:`pbmatch.report.to_html`)."""
        from pbmatch.report import to_html

        return to_html(self, **options)

    def _repr_html_(self) -> str:
        from pbmatch.report import repr_html

        return repr_html(self)

    def to_networkx(self) -> Any:
        """One edge per row of :meth:`to_pandas`, ``group`` -> ``unit``, the other columns as
        edge attributes (rows without both ends are left out). Needs pandas."""
        return _table_graph(self.to_pandas(), "group", "unit")

    def write(self, path: str | os.PathLike[str], *, lang: str = "en") -> Path:
        """Write to .xlsx, .csv, .json, .geojson or .html (see :func:`pbmatch.io.write`)."""
        from pbmatch.io import write

        return write(self, path, lang=lang)  # type: ignore[arg-type]

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

    def to_pandas(self) -> Any:
        """The rows of :meth:`to_records` as a DataFrame. Requires pandas."""
        import pandas as pd

        columns = ["group", "unit", "street", "members", "industry", "reason"]
        return pd.DataFrame(self.to_records(), columns=columns)

    def report(self, top: int = 10) -> str:
        """A readable summary: coverage, group sizes, distance, industry, reasons."""
        small = int(self.objective) + len(self.uncovered) if self.success else 0
        sizes: dict[int, int] = {}
        for group in self.groups:
            sizes[len(group)] = sizes.get(len(group), 0) + 1
        rules = f"≤ {self.max_units} units, {self.min_members}–{self.max_members} members" + (
            f", within {self.max_km:g} km" if self.max_km is not None else ""
        )
        lines = [
            f"Joint branches (联合党支部): {self.status}, {len(self)} branches ({rules}), "
            f"{self.wall_time:.3f} s",
            f"Small units covered: {self.objective:g} of {small} "
            f"(bound {_optional_float(self.bound)})",
            "Branches by size: "
            + (", ".join(f"{k} units: {v}" for k, v in sorted(sizes.items())) or "none"),
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
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"JointBranchesResult(status={self.status!r}, branches={len(self)}, "
            f"covered={self.objective:g}, uncovered={len(self.uncovered)})"
        )


__all__ += ["JointBranchesResult"]


@dataclass(frozen=True, repr=False)
class ProjectsResult:
    """The answer of :func:`pbmatch.staff_projects`: contributions to the projects list.

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

    @property
    def success(self) -> bool:
        """True when a solution is present (status ``optimal`` or ``feasible``)."""
        return self.status in WITH_SOLUTION

    def __len__(self) -> int:
        return int(self.quantities.size)

    def raise_for_status(self) -> ProjectsResult:
        """Return ``self`` if a solution is present, else raise (see ``MatchResult``)."""
        _check_status(self.status, self.message, self)
        return self

    def to_html(self, **options: Any) -> str:
        """A self-contained HTML report (see :func:`pbmatch.report.to_html`)."""
        from pbmatch.report import to_html

        return to_html(self, **options)

    def _repr_html_(self) -> str:
        from pbmatch.report import repr_html

        return repr_html(self)

    def to_networkx(self) -> Any:
        """One edge per row of :meth:`to_pandas`, ``unit`` -> ``project``, the other columns as
        edge attributes (rows without both ends are left out). Needs pandas."""
        return _table_graph(self.to_pandas(), "unit", "project")

    def write(self, path: str | os.PathLike[str], *, lang: str = "en") -> Path:
        """Write to .xlsx, .csv, .json, .geojson or .html (see :func:`pbmatch.io.write`)."""
        from pbmatch.io import write

        return write(self, path, lang=lang)  # type: ignore[arg-type]

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

    def to_pandas(self) -> Any:
        """The rows of :meth:`to_records` as a DataFrame. Requires pandas."""
        import pandas as pd

        columns = ["project", "unit", "category", "quantity", "distance_km"]
        return pd.DataFrame(self.to_records(), columns=columns)

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
            f"{_optional_float(self.bound)}); distance of contributing pairs "
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
        if self.message and not self.success:
            lines.append(f"Solver: {self.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ProjectsResult(status={self.status!r}, contributions={len(self)}, "
            f"objective={self.objective:.6g}, total_km={self.total_km:.6g})"
        )


__all__ += ["ProjectsResult"]
