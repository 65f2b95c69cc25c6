"""Co-building pairing (结对共建): providers ↔ communities and villages."""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
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
SCALE_K = 16
"""Candidates per provider and per receiver above :data:`DENSE_PAIRS`."""


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


def _within_top(rows: IntArray, cols: IntArray, scores: npt.NDArray[np.float64], k: int) -> Any:
    """Mask of the pairs among the ``k`` best of their row or of their column."""
    mask = np.zeros(rows.size, dtype=bool)
    for group in (rows, cols):
        order = np.lexsort((-scores, group))
        g = group[order]
        first = np.flatnonzero(np.concatenate([[True], g[1:] != g[:-1]]))
        rank = np.arange(g.size) - np.repeat(first, np.diff(np.append(first, g.size)))
        mask[order[rank < k]] = True
    return mask


def _with_known(
    rows: IntArray, cols: IntArray, scores: npt.NDArray[np.float64], m: int, score: Any
) -> Any:
    """``score(rows, cols)``, looking pairs up among already scored ones first."""
    keys = rows * m + cols
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], scores[order]

    def lookup(r: IntArray, c: IntArray) -> npt.NDArray[np.float64]:
        key = r * m + c
        pos = np.minimum(np.searchsorted(keys, key), max(keys.size - 1, 0))
        hit = keys[pos] == key if keys.size else np.zeros(key.size, dtype=bool)
        out = np.empty(key.size)
        out[hit] = values[pos[hit]]
        if not hit.all():
            out[~hit] = score(r[~hit], c[~hit])
        return out

    return lookup


def _match_at_scale(scorer: PairScorer, rules: dict[str, Any]) -> MatchResult:
    """Certified matching without the dense matrix: candidates, then pricing by bounds or blocks.

    With the scoring layer's exact top-k, the solve starts from the best :data:`SCALE_K` pairs
    of every unit, while the bounds come from twice as deep (the ``2k``-th best of every row
    and column): deeper bounds leave far fewer pairs to score (33 million a round on a
    50,000 x 50,000 city at ``k = 16``), and the pairs between the two depths are already
    scored.
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
    if hasattr(found, "row_bound") and hasattr(found, "col_bound"):
        bounds = (found.row_bound, found.col_bound)
    else:  # exact top-k of every row and column: its k-th scores bound the rest
        bounds = topk_bounds(rows, cols, scores, (n, m), depth)
    top = _within_top(rows, cols, scores, k)
    return match_blocks(
        scorer.block,
        (n, m),
        candidates=(rows[top], cols[top], scores[top]),
        bounds=bounds,
        pair_scores=_with_known(rows, cols, scores, m, _pair_scores(scorer)),
        k=k,
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
        Seconds; passed to :func:`pbmatch.match`.

    Returns
    -------
    PairingResult
        ``to_pandas()`` has one row per pair with ``provider``, ``receiver``, ``score``, one
        column per score component and ``distance_km``; ``report()`` gives coverage;
        ``certified`` says the pairing is proved optimal and ``explain(provider, receiver)``
        why a pair is, or is not, chosen.

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

    Examples
    --------
    >>> import pbmatch
    >>> result = pbmatch.pair(pbmatch.synthetic_district(seed=0))
    >>> result.status, result.certified
    ('optimal', True)
    >>> row = result.to_records()[0]
    >>> abs(row["score"] - sum(row[c] for c in pbmatch.COMPONENTS)) < 1e-12
    True
    """
    started = time.perf_counter()
    if max_km is not None and not (isinstance(max_km, (int, float)) and max_km > 0):
        raise InputError(f"max_km is {max_km!r}; it must be a number > 0 or None")
    if weights is not None and not isinstance(weights, Weights):
        raise InputError(f"weights is a {type(weights).__name__}; pass a pbmatch.Weights")
    left = _side(graph, providers, receiver=False, name="providers")
    right = _side(graph, receivers, receiver=True, name="receivers")
    left_max = _capacity(graph, left, provider_max, "provider_max")
    right_max = _capacity(graph, right, receiver_max, "receiver_max")
    scorer = PairScorer(graph, left, right, weights, max_km=max_km)
    rules: dict[str, Any] = {
        "left_capacity": left_max,
        "right_capacity": right_max,
        "left_min": graph.min_partners[left],
        "right_min": graph.min_partners[right],
    }
    n, m = scorer.shape
    if n * m <= DENSE_PAIRS:
        solved = match(scorer.dense(), time_limit=time_limit, **rules)
    else:
        solved = _match_at_scale(scorer, rules)
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
    )
