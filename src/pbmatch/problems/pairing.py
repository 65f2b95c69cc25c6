"""Co-building pairing (结对共建): providers ↔ communities and villages."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch.exceptions import InputError
from pbmatch.graph import RegionGraph
from pbmatch.matching import match, match_blocks
from pbmatch.model import KINDS, RECEIVER_KINDS
from pbmatch.results import MatchResult, PairingResult
from pbmatch.scoring.pairscore import PairScorer
from pbmatch.scoring.weights import Weights

__all__ = ["DENSE_PAIRS", "SCALE_K", "pair", "topk_bounds"]

IntArray = npt.NDArray[np.int64]

DENSE_PAIRS = 1 << 22
"""Sides with at most this many pairs (4.2 M, 34 MB of scores) are scored densely; larger ones
are solved from candidates and priced by blocks (:func:`pbmatch.matching.match_blocks`),
which was as fast at 2000 x 2000 and faster above (one scoring pass either way)."""
_PAIRS_PER_CALL = 1 << 20
SCALE_K = 20
"""Candidates per provider and per receiver above :data:`DENSE_PAIRS`: the exact top ``2k``
bound the pairs left out, the first solve takes the best ``k / 2``. On a 50,000 x 50,000
synthetic city the top 40 leave 2.8 million pairs the bounds cannot rule out, the top 32 5.5
million and the top 24 12.7 million; 20 cost the generator about a second more than 16 and
saved pricing and solving about three."""


def _pair_scores(scorer: PairScorer) -> Any:
    """Exact scores of listed pairs, ``-inf`` where forbidden, in chunks of a million."""
    listed = getattr(scorer, "scores", None)

    def scores(rows: IntArray, cols: IntArray) -> npt.NDArray[np.float64]:
        out = np.empty(rows.size)
        for start in range(0, rows.size, _PAIRS_PER_CALL):
            r = rows[start : start + _PAIRS_PER_CALL]
            c = cols[start : start + _PAIRS_PER_CALL]
            if listed is not None:
                out[start : start + r.size] = listed(r, c)
                continue
            parts = scorer.breakdown(r, c)
            value = parts["score"]
            value[scorer.providers[r] == scorer.receivers[c]] = -np.inf
            if scorer.max_km is not None:
                value[parts["distance_km"] > scorer.max_km] = -np.inf
            out[start : start + r.size] = value
        return out

    return scores


def topk_bounds(
    rows: npt.ArrayLike, cols: npt.ArrayLike, scores: npt.ArrayLike, shape: tuple[int, int], k: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Bounds on the pairs left out of an exact top-``k`` candidate set.

    When the candidates hold the ``k`` best pairs of every row and of every column, no pair
    left out of row ``i`` scores above the ``k``-th best candidate of that row (``-inf`` if the
    row has fewer than ``k``: then all its allowed pairs are candidates), and the same for
    columns. These are the bounds :func:`pbmatch.matching.match_blocks` prices with.

    Examples
    --------
    >>> r, c, s = [0, 0, 1], [0, 1, 1], [3.0, 2.0, 5.0]
    >>> rb, cb = topk_bounds(r, c, s, (2, 2), 2)
    >>> rb.tolist(), cb.tolist()
    ([2.0, -inf], [-inf, 2.0])
    """
    n, m = shape
    out = []
    for key, size in ((np.asarray(rows), n), (np.asarray(cols), m)):
        values = np.asarray(scores, dtype=np.float64)
        order = np.lexsort((-values, key))
        key, values = key[order], values[order]
        start = np.searchsorted(key, np.arange(size))
        count = np.bincount(key, minlength=size)
        bound = np.full(size, -np.inf)
        full = count >= k
        bound[full] = values[start[full] + k - 1]
        out.append(bound)
    return out[0], out[1]


def _external_candidates(scorer: PairScorer, k: int) -> Any:
    """Top-``k`` candidates from the scoring layer (:mod:`pbmatch.scoring.candidates`).

    The seam for the scoring layer's generator: ``scorer.top_k(k)`` giving an object with
    ``rows``, ``cols`` and ``scores`` (positions into the scorer's providers and receivers)
    that holds the ``k`` best pairs of every row and of every column. Returns None while that
    generator is not available, and pairing then finds the candidates itself (two passes
    over the blocks).
    """
    try:
        importlib.import_module("pbmatch.scoring.candidates")
    except ImportError:
        return None
    finder = getattr(scorer, "top_k", None)
    return None if finder is None else finder(k)


def _match_at_scale(scorer: PairScorer, rules: dict[str, Any]) -> MatchResult:
    """Certified matching without the dense matrix: candidates, then pricing by bounds or blocks.

    With the scoring layer's exact top-``2k`` (``k`` = :data:`SCALE_K`, or more for large
    capacities), the ``2k``-th best score of every row and column bounds every pair left
    out (``bounds=2k`` in :func:`~pbmatch.matching.match_blocks`). The solve starts from the
    ``k / 2`` best candidates of every unit; the other candidates are priced from their known
    scores in every round and join when they could improve the answer, and the pairs outside
    the candidates are priced only where the bounds cannot rule them out. On a 50,000 x
    50,000 synthetic city that is 3 solves on 0.8 to 0.9 million pairs, and 2.8 million pairs
    scored outside the 3.2 million candidates. Without the generator, candidates and pricing
    come from the blocks.
    """
    n, m = scorer.shape
    k = max(SCALE_K, int(np.max(rules["left_capacity"], initial=1)) + 2)
    depth = 2 * k
    found = _external_candidates(scorer, depth)
    if found is None:
        return match_blocks(scorer.block, (n, m), pair_scores=_pair_scores(scorer), k=k, **rules)
    rows = np.asarray(found.rows, dtype=np.int64)
    cols = np.asarray(found.cols, dtype=np.int64)
    scores = np.asarray(found.scores, dtype=np.float64)
    bounds: Any = depth  # an exact top-k of every row and column: its k-th scores bound the rest
    if hasattr(found, "row_bound") and hasattr(found, "col_bound"):
        bounds = (found.row_bound, found.col_bound)
    return match_blocks(
        scorer.block,
        (n, m),
        candidates=(rows, cols, scores),
        bounds=bounds,
        pair_scores=_pair_scores(scorer),
        k=k,
        start=max(1, k // 2),
        **rules,
    )


def _side(graph: RegionGraph, ids: Sequence[str] | None, receiver: bool, name: str) -> IntArray:
    if ids is None:
        is_receiver = np.isin(graph.kinds, [KINDS.index(k) for k in sorted(RECEIVER_KINDS)])
        return np.flatnonzero(is_receiver if receiver else ~is_receiver).astype(np.int64)
    if isinstance(ids, str):
        raise InputError(f"{name}: got the string {ids!r}; pass a list of unit ids")
    idx = np.array([graph.index(u) for u in ids], dtype=np.int64)
    if np.unique(idx).size != idx.size:
        raise InputError(f"{name}: lists a unit more than once; list each unit id once")
    return idx


def _capacity(graph: RegionGraph, units: IntArray, default: int, name: str) -> IntArray:
    """Each unit's max_partners, or ``default`` where unset; checked against min_partners."""
    if isinstance(default, bool) or not isinstance(default, (int, np.integer)) or default < 0:
        raise InputError(f"{name} is {default!r}; it must be an int >= 0")
    cap = graph.max_partners[units]
    short = np.flatnonzero((cap < 0) & (graph.min_partners[units] > default))
    if short.size:
        unit = units[short[0]]
        raise InputError(
            f"Unit {graph.ids[unit]!r}: min_partners {graph.min_partners[unit]} exceeds "
            f"{name} {default}, its default max_partners; set its max_partners or raise {name}"
        )
    return np.where(cap >= 0, cap, default)


class _RulesRun:
    """One pairing with rules: candidate edges, fixed limits, compiled rules, solver calls."""

    def __init__(
        self,
        rows: IntArray,
        cols: IntArray,
        scores: npt.NDArray[np.float64],
        limits: dict[str, Any],
        compiled: Any,
        *,
        time_limit: float | None,
        seed: int,
        names: tuple[list[str], list[str]] | None = None,
        progress: Any = None,
    ) -> None:
        self.rows, self.cols, self.scores = rows, cols, scores
        self.limits = limits
        self.compiled = compiled
        self.time_limit = time_limit
        self.seed = seed
        self.names = names
        self.progress = progress

    def groups(
        self, hard: Sequence[int], soft: dict[int, float], keep: npt.NDArray[np.bool_] | None
    ) -> list[Any]:
        """Solver groups of the rules ``hard`` and ``soft`` (index -> penalty).

        With ``keep`` (the main solve) the edges are those kept, the hard rules that forbid
        pairs are already applied by dropping edges and the minimums are the solver's own;
        without it every candidate edge takes part and every listed rule is a group.
        """
        from pbmatch.solvers.rules import EdgeGroup

        where = None if keep is None else np.cumsum(keep) - 1
        out = []
        for rule in self.compiled.rules:
            if rule.index in soft:
                penalty: float | None = soft[rule.index]
            elif rule.index in hard:
                penalty = None
            else:
                continue
            if rule.kind in ("receiver_min", "provider_min") and rule.index not in soft:
                continue  # hard minimums are the solver's own (see solve)
            if keep is not None and penalty is None and rule.exclude is not None:
                groups = rule.groups  # its excluded edges are already gone
            else:
                groups = rule.all_groups()
            for group in groups:
                edges = group.edges
                if where is not None and keep is not None:
                    edges = where[edges[keep[edges]]]
                out.append(
                    EdgeGroup(
                        np.asarray(edges, dtype=np.int64),
                        lo=group.lo,
                        hi=group.hi,
                        penalty=penalty,
                        name=rule.label + (f" at {group.where}" if group.where else ""),
                        rule=rule.index,
                    )
                )
        return out

    def solve(
        self,
        hard: Sequence[int],
        soft: dict[int, float],
        *,
        keep: npt.NDArray[np.bool_] | None = None,
        objective: str = "sum",
        fair_groups: IntArray | None = None,
        zero_scores: bool = False,
    ) -> tuple[Any, IntArray]:
        """Solve under the rules; returns the solution and the candidate edge of each edge.

        ``zero_scores``: every score 0, for the diagnosis, which only asks whether the rules
        hold and by how little a soft one can be broken.
        """
        from pbmatch.solvers.rules import solve_rules

        edges = np.arange(self.rows.size) if keep is None else np.flatnonzero(keep)
        lim = self.limits
        mins = {}
        for side, kind in (("left_min", "provider_min"), ("right_min", "receiver_min")):
            own = [r.index for r in self.compiled.rules if r.kind == kind]
            use = keep is not None or any(k in hard for k in own)
            mins[side] = lim[side] if use else np.zeros_like(lim[side])
        solution = solve_rules(
            self.rows[edges],
            self.cols[edges],
            np.zeros(edges.size) if zero_scores else self.scores[edges],
            n_rows=lim["left_capacity"].size,
            n_cols=lim["right_capacity"].size,
            left_capacity=lim["left_capacity"],
            right_capacity=lim["right_capacity"],
            left_min=mins["left_min"],
            right_min=mins["right_min"],
            groups=self.groups(hard, soft, keep),
            objective=objective,
            fair_groups=fair_groups,
            time_limit=self.time_limit,
            seed=self.seed,
            progress=self.progress if keep is not None else None,
            row_names=None if self.names is None else self.names[0],
            col_names=None if self.names is None else self.names[1],
        )
        return solution, edges.astype(np.int64)

    def oracle(self, hard: Sequence[int], soft: Sequence[int]) -> tuple[str, Any]:
        """``(status, chosen mask or None)`` under ``hard`` rules and ``soft`` ones (least
        broken), every score 0; for the diagnosis."""
        solution, edges = self.solve(hard, {k: 1.0 for k in soft}, zero_scores=True)
        if solution.status not in ("optimal", "feasible"):
            return str(solution.status), None
        chosen = np.zeros(self.rows.size, dtype=bool)
        chosen[edges[np.asarray(solution.chosen, dtype=bool)]] = True
        return str(solution.status), chosen


def _diagnose(
    run: _RulesRun,
    graph: RegionGraph,
    left: IntArray,
    right: IntArray,
    max_km: float | None,
    raw: Any = None,
) -> Any:
    """The domain diagnosis of an infeasible pairing (see :mod:`pbmatch.diagnosis`).

    ``raw`` is the solver's diagnosis of the main solve, where the hard rules that forbid
    pairs had removed them: its conflict, with those rules added, is where the search for a
    minimal conflict starts (every hard rule without it).
    """
    from pbmatch.diagnosis import build_diagnosis

    compiled = run.compiled
    conflict = None
    if raw is not None and getattr(raw, "kinds", None):
        # The solver numbers every row's and column's minimum and capacity as a rule;
        # here the minimums of a side are one rule and the capacities always hold.
        own = {
            "left_min": [r.index for r in compiled.rules if r.kind == "provider_min"],
            "right_min": [r.index for r in compiled.rules if r.kind == "receiver_min"],
        }
        found = {r.index for r in compiled.user if r.hard and r.exclude is not None}
        for kind, item in zip(raw.kinds, raw.items, strict=True):
            if kind == "group":
                found.add(int(item))
            else:
                found.update(own.get(kind, []))
        conflict = sorted(found)
    return build_diagnosis(
        graph,
        left,
        right,
        run.rows,
        run.cols,
        run.limits["left_capacity"],
        run.limits["right_capacity"],
        compiled,
        conflict,
        run.oracle,
        max_km=max_km,
    )


def _candidate_edges(
    scorer: PairScorer,
) -> tuple[IntArray, IntArray, npt.NDArray[np.float64]]:
    """Every allowed pair (finite score) in row-major order, from the dense scores."""
    n, m = scorer.shape
    if n * m > DENSE_PAIRS:
        raise InputError(
            f"rules, previous/max_changes and objective='maxmin' solve over every allowed pair "
            f"and take up to {DENSE_PAIRS} pairs; this pairing has {n} x {m} = {n * m}. Pair "
            "district by district (providers=, receivers=) or drop those options"
        )
    dense = scorer.dense()
    rows, cols = np.nonzero(np.isfinite(dense))
    return rows.astype(np.int64), cols.astype(np.int64), dense[rows, cols]


def _check_goal(objective: str, fair_by: str | None) -> str | None:
    """Validate ``objective`` and ``fair_by``; the fairness level used ('receiver' default)."""
    if objective not in ("sum", "maxmin"):
        raise InputError(f"objective is {objective!r}; allowed: 'sum', 'maxmin'")
    if objective == "sum":
        if fair_by is not None:
            raise InputError(
                f"fair_by is {fair_by!r} but objective is 'sum'; fair_by sets the groups of "
                "objective='maxmin' (use result.fairness(level) to measure any pairing)"
            )
        return None
    if fair_by is None:
        return "receiver"
    if not isinstance(fair_by, str):
        raise InputError(f"fair_by is {fair_by!r}; pass 'receiver' or a region level")
    return fair_by


def _pair_with_rules(
    graph: RegionGraph,
    scorer: PairScorer,
    limits: dict[str, Any],
    *,
    rules: Sequence[Any],
    previous: Any,
    max_changes: int | None,
    objective: str,
    fair_by: str | None,
    time_limit: float | None,
    seed: int,
    max_km: float | None,
    progress: Any = None,
) -> tuple[MatchResult, dict[str, Any]]:
    """Compile the rules, solve, decode; returns the numeric answer and the result fields."""
    from pbmatch.fairness import fair_codes
    from pbmatch.rules import Violation, compile_rules

    left, right = scorer.providers, scorer.receivers
    given: Any = rules
    if isinstance(given, Iterable) and not isinstance(given, (str, bytes, Mapping)):
        given = list(given)  # kept on the result; a generator would be used up
    rows, cols, scores = _candidate_edges(scorer)
    compiled = compile_rules(
        graph, left, right, rows, cols, given, previous=previous, max_changes=max_changes
    )
    fair = None if fair_by is None else fair_codes(graph, right, fair_by)[0]
    names = (graph.ids[left].tolist(), graph.ids[right].tolist())
    run = _RulesRun(
        rows,
        cols,
        scores,
        limits,
        compiled,
        time_limit=time_limit,
        seed=seed,
        names=names,
        progress=progress,
    )
    keep = ~compiled.hard_exclusion(rows.size)
    own_mins = ("receiver_min", "provider_min")
    hard = [r.index for r in compiled.rules if r.hard and r.kind not in own_mins]
    soft = {r.index: float(r.penalty) for r in compiled.rules if r.penalty is not None}
    solution, edges = run.solve(hard, soft, keep=keep, objective=objective, fair_groups=fair)
    chosen = np.zeros(rows.size, dtype=bool)
    has_solution = solution.status in ("optimal", "feasible")
    if has_solution:
        chosen[edges[np.asarray(solution.chosen, dtype=bool)]] = True
    picked = np.flatnonzero(chosen)
    g = graph

    def pair_text(e: int) -> str:
        return f"{g.ids[left[rows[e]]]}–{g.ids[right[cols[e]]]}"

    violations = []
    penalty = 0.0
    if has_solution:
        for rule in compiled.rules:
            if rule.penalty is None:
                continue
            where = rule.violations(chosen, pair_text)
            amount = sum(k for _, k in where)
            if amount:
                cost = rule.penalty * amount
                penalty += cost
                violations.append(
                    Violation(rule.label, rule.text, amount, rule.unit, cost, tuple(where))
                )
    diagnosis = None
    if solution.status == "infeasible":
        diagnosis = _diagnose(run, graph, left, right, max_km, solution.diagnosis)
    solved = MatchResult(
        rows=rows[picked],
        cols=cols[picked],
        scores=scores[picked],
        objective=float(scores[picked].sum()),
        status=solution.status,
        method=solution.method,
        message=solution.message,
        bound=solution.bound,
        resolution=solution.resolution,
        wall_time=solution.wall_time,
        diagnosis=solution.diagnosis,
    )
    fields = {
        "rules": tuple(given),
        "previous": None if previous is None else compiled.previous,
        "max_changes": max_changes,
        "objective_kind": objective,
        "fair_by": fair_by,
        "min_fair": solution.min_fair,
        "penalty": penalty,
        "violations": tuple(violations),
        "bound": solution.bound,
        "gap": solution.gap,
        "diagnosis": diagnosis,
    }
    return solved, fields


def _plain_diagnosis(
    graph: RegionGraph, scorer: PairScorer, limits: dict[str, Any], max_km: float | None
) -> Any:
    """The domain diagnosis of an infeasible pairing without rules (None above DENSE_PAIRS)."""
    from pbmatch.rules import compile_rules

    n, m = scorer.shape
    if n * m > DENSE_PAIRS:
        return None
    rows, cols, scores = _candidate_edges(scorer)
    compiled = compile_rules(graph, scorer.providers, scorer.receivers, rows, cols)
    run = _RulesRun(rows, cols, scores, limits, compiled, time_limit=None, seed=0)
    return _diagnose(run, graph, scorer.providers, scorer.receivers, max_km)


def pair(
    graph: RegionGraph,
    *,
    providers: Sequence[str] | None = None,
    receivers: Sequence[str] | None = None,
    weights: Weights | None = None,
    max_km: float | None = None,
    provider_max: int = 1,
    receiver_max: int = 26,
    time_limit: float | None = None,
    rules: Sequence[Any] | None = None,
    previous: str | Sequence[tuple[str, str]] | None = None,
    max_changes: int | None = None,
    objective: str = "sum",
    fair_by: str | None = None,
    seed: int = 0,
    progress: Any = None,
) -> PairingResult:
    """Pair co-building providers with receivers to maximise the total score.

    Parameters
    ----------
    graph : RegionGraph
    providers, receivers : sequence of str, optional
        Unit ids of the two sides. By default receivers are the communities and villages
        and providers every other unit.
    weights : Weights, optional
        Score weights (default ``Weights()``).
    max_km : float, optional
        Never pair units farther apart than this.
    provider_max, receiver_max : int
        Most partners of a unit whose ``max_partners`` is unset (an agency pairs with one
        community by default; a community signs with up to 26 units).
    time_limit : float, optional
        Seconds. With rules, the best pairing found in time comes back with status
        ``"feasible"``, its ``bound`` and ``gap``; the diagnosis of an infeasible pairing
        gives each of its solves this limit again.
    rules : sequence of Rule, optional
        :class:`~pbmatch.rules.Forbid`, :class:`~pbmatch.rules.Lock`,
        :class:`~pbmatch.rules.SameRegion`, :class:`~pbmatch.rules.MaxDistance`,
        :class:`~pbmatch.rules.KindQuota`, :class:`~pbmatch.rules.RegionCap`; hard, or soft
        with a ``penalty`` (see :mod:`pbmatch.rules`).
    previous : "ties" or sequence of (str, str), optional
        Last round's pairs: ``"ties"`` takes the graph's standing ties between the two sides;
        or a list of ``(unit, unit)`` pairs (provider and receiver, in either order). The
        result reports which were kept.
    max_changes : int, optional
        At most this many of the ``previous`` pairs may be dropped.
    objective : {"sum", "maxmin"}, default "sum"
        ``"sum"``: the highest total score (less the penalties of broken soft rules).
        ``"maxmin"``: first the highest mean total score per receiver of the worst-off group
        (``fair_by``), then the highest total.
    fair_by : str, optional
        The groups of ``objective="maxmin"``: ``"receiver"`` (default: each receiver alone)
        or a region level (``"street"``, ``"community"``, ``"district"`` ...).
    seed : int, default 0
        Seed of the solver's search (the answer is the same for the same seed).
    progress : callable or bool, optional
        With rules: ``True`` prints the progress of a CP-SAT run that lasts over a second on
        stderr; a callable gets each :class:`~pbmatch.solvers.rules.SolveProgress`.

    Returns
    -------
    PairingResult
        ``to_pandas()`` has one row per pair with ``provider``, ``receiver``, ``score``, one
        column per score component and ``distance_km``; ``report()`` gives coverage,
        fairness and any broken soft rule; ``certified`` says the pairing is proved optimal
        and ``explain(provider, receiver)`` why a pair is, or is not, chosen (pairings
        without rules). When the rules cannot all hold, ``status`` is ``"infeasible"`` and
        ``diagnosis`` (:class:`~pbmatch.diagnosis.PairingDiagnosis`) names a minimal set of
        conflicting rules, why, and the cheapest relaxations.

    Raises
    ------
    InputError
        Bad parameters or rules: an unknown unit, region, kind or level, bad numbers, a
        pair that is not a provider and a receiver.

    Notes
    -----
    Each unit gets between its ``min_partners`` and ``max_partners`` partners; a unit never
    pairs with itself. The score of a pair is the sum of its weighted components (see
    :class:`~pbmatch.scoring.weights.Weights`); the pairing maximises the sum of scores
    exactly and proves it. Up to :data:`DENSE_PAIRS` pairs the scores are computed densely and
    solved by :func:`pbmatch.match` (certified pricing from 400 x 400); above, from the top
    :data:`SCALE_K` candidates of every unit, with every other pair priced by blocks or ruled
    out by the candidates' bounds (:func:`pbmatch.matching.match_blocks`), never holding the
    whole matrix. Deterministic.

    With ``rules``, ``max_changes`` or ``objective="maxmin"`` every allowed pair is scored
    densely (up to :data:`DENSE_PAIRS` pairs), the rules are compiled into groups of
    candidate pairs (:func:`pbmatch.rules.compile_rules`) and solved by
    :func:`pbmatch.solvers.rules.solve_rules`; hard rules that forbid pairs remove them
    first. ``objective`` (the result's) stays the total score of the chosen pairs;
    ``penalty`` is what broken soft rules cost.

    Examples
    --------
    >>> import pbmatch
    >>> result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    >>> result.status, result.certified
    ('optimal', True)
    >>> row = result.to_records()[0]
    >>> abs(row["score"] - sum(row[c] for c in pbmatch.COMPONENTS)) < 1e-12
    True

    With rules:

    >>> from pbmatch.rules import KindQuota, SameRegion
    >>> graph = pbmatch.synthetic_district(seed=0, n_streets=2, n_townships=0)
    >>> ruled = pbmatch.pair(graph, rules=[SameRegion("street"), KindQuota("agency", min=1)])
    >>> ruled.status
    'optimal'
    """
    started = time.perf_counter()
    if max_km is not None and not (isinstance(max_km, (int, float)) and max_km > 0):
        raise InputError(f"max_km is {max_km!r}; it must be a number > 0 or None")
    if weights is not None and not isinstance(weights, Weights):
        raise InputError(f"weights is a {type(weights).__name__}; pass a pbmatch.Weights")
    fair_level = _check_goal(objective, fair_by)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"seed is {seed!r}; it must be an int")
    rule_list = [] if rules is None else rules
    left = _side(graph, providers, receiver=False, name="providers")
    right = _side(graph, receivers, receiver=True, name="receivers")
    left_max = _capacity(graph, left, provider_max, "provider_max")
    right_max = _capacity(graph, right, receiver_max, "receiver_max")
    scorer = PairScorer(graph, left, right, weights, max_km=max_km)
    limits: dict[str, Any] = {
        "left_capacity": left_max,
        "right_capacity": right_max,
        "left_min": graph.min_partners[left],
        "right_min": graph.min_partners[right],
    }
    extra: dict[str, Any] = {}
    if rule_list or max_changes is not None or objective != "sum":
        solved, extra = _pair_with_rules(
            graph,
            scorer,
            limits,
            rules=rule_list,
            previous=previous,
            max_changes=max_changes,
            objective=objective,
            fair_by=fair_level,
            time_limit=time_limit,
            seed=int(seed),
            max_km=max_km,
            progress=progress,
        )
    else:
        if previous is not None:
            from pbmatch.rules import previous_positions

            extra["previous"] = previous_positions(graph, left, right, previous)
        n, m = scorer.shape
        if n * m <= DENSE_PAIRS:
            solved = match(scorer.dense(), time_limit=time_limit, **limits)
        else:
            solved = _match_at_scale(scorer, limits)
        extra["bound"] = solved.bound
        if solved.status == "infeasible":
            extra["diagnosis"] = _plain_diagnosis(graph, scorer, limits, max_km)
    breakdown = scorer.breakdown(solved.rows, solved.cols)
    return PairingResult(
        provider_ids=graph.ids[left[solved.rows]],
        receiver_ids=graph.ids[right[solved.cols]],
        breakdown=breakdown,
        objective=float(breakdown["score"].sum()),
        status=solved.status,
        match=solved,
        graph=graph,
        providers=left,
        receivers=right,
        provider_max=left_max,
        receiver_max=right_max,
        weights=scorer.weights,
        max_km=max_km,
        message=solved.message,
        wall_time=time.perf_counter() - started,
        **extra,
    )
