"""Results of the numeric matchings: :class:`MatchResult` (``match``) and
:class:`GeneralMatchResult` (``match_general``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pbmatch._status import Status
from pbmatch.exceptions import SolverError
from pbmatch.results._base import FloatArray, IntArray, Result

__all__ = ["GeneralMatchResult", "MatchResult"]


@dataclass(frozen=True, repr=False)
class MatchResult(Result):
    """The answer of :func:`pbmatch.match`: chosen (row, column) pairs of a score matrix.

    :meth:`to_pandas` and :meth:`to_records` have one row per chosen pair: ``row``, ``col``,
    ``score``; :meth:`to_networkx` gives the bipartite graph of the pairs.

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

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> result = match(np.array([[3.0, 1.0], [2.0, 1.5]]))
    >>> result.to_records()
    [{'row': 0, 'col': 0, 'score': 3.0}, {'row': 1, 'col': 1, 'score': 1.5}]
    >>> frame = result.to_pandas()
    >>> list(frame.columns), float(frame["score"].sum()) == result.objective
    (['row', 'col', 'score'], True)
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

    _ITEMS = "rows"

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

    def _infeasible_words(self) -> str:
        words = getattr(self.diagnosis, "message", None)
        detail = words if isinstance(words, str) and words not in self.message else ""
        return f"{self.message}{' ' + detail if detail else ''}"

    def _table_columns(self) -> dict[str, Any]:
        return {"row": self.rows, "col": self.cols, "score": self.scores}

    def to_networkx(self) -> Any:
        """The pairs as a bipartite networkx ``Graph`` (:func:`pbmatch.io.match_to_networkx`).

        Nodes ``("row", i)`` (``bipartite=0``) and ``("col", j)`` (``bipartite=1``), so a row
        and a column with the same number stay apart; one edge per chosen pair with its
        ``score``.

        Examples
        --------
        >>> import numpy as np
        >>> from pbmatch.matching import match
        >>> graph = match(np.array([[1.0, 2.0], [3.0, 1.0]])).to_networkx()
        >>> sorted(graph.edges(data="score"))
        [(('row', 0), ('col', 1), 2.0), (('row', 1), ('col', 0), 3.0)]
        """
        from pbmatch.io import match_to_networkx

        return match_to_networkx(self)

    def _repr_parts(self) -> list[str]:
        return [
            f"pairs={len(self)}",
            f"objective={self.objective:.6g}",
            f"method={self.method!r}",
            f"certified={self.certified}",
        ]


@dataclass(frozen=True, repr=False)
class GeneralMatchResult(Result):
    """The answer of :func:`pbmatch.match_general`: chosen pairs within one pool.

    :meth:`to_pandas` and :meth:`to_records` have one row per chosen pair: ``u``, ``v``,
    ``weight``; :meth:`to_networkx` gives a ``Graph`` with a ``weight`` on each edge.

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

    Examples
    --------
    >>> from pbmatch.general import match_general
    >>> result = match_general([("a", "b", 2.0), ("b", "c", 3.0), ("c", "d", 2.0)])
    >>> result.to_records()
    [{'u': 'a', 'v': 'b', 'weight': 2.0}, {'u': 'c', 'v': 'd', 'weight': 2.0}]
    >>> float(result.to_pandas()["weight"].sum()) == result.objective
    True
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

    _ITEMS = "pairs"

    def partners(self) -> dict[Any, list[Any]]:
        """Each paired node's partners, in the order of ``pairs`` (unpaired nodes absent)."""
        out: dict[Any, list[Any]] = {}
        for u, v in self.pairs:
            out.setdefault(u, []).append(v)
            out.setdefault(v, []).append(u)
        return out

    def _table_columns(self) -> dict[str, Any]:
        return {
            "u": [u for u, _ in self.pairs],
            "v": [v for _, v in self.pairs],
            "weight": self.weights,
        }

    def to_networkx(self) -> Any:
        """The pairs as a networkx ``Graph`` with a ``weight`` on each edge."""
        import networkx as nx

        graph = nx.Graph()
        graph.add_weighted_edges_from(
            (u, v, w) for (u, v), w in zip(self.pairs, self.weights.tolist(), strict=True)
        )
        return graph

    def _repr_parts(self) -> list[str]:
        return [
            f"pairs={len(self)}",
            f"objective={self.objective:.6g}",
            f"method={self.method!r}",
        ]
