"""Bring-your-own-scores bipartite matching: :func:`match`."""

from __future__ import annotations

import math
import numbers
import operator
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from pbmatch._status import INFEASIBLE, WITH_SOLUTION
from pbmatch.exceptions import InputError, PrecisionWarning
from pbmatch.results import MatchResult
from pbmatch.solvers import choose_method, get_backend, method_names
from pbmatch.solvers.certified import certify
from pbmatch.solvers.problem import BackendResult, MatchProblem

__all__ = ["match", "match_blocks"]

_INT64_MAX = np.iinfo(np.int64).max


def match(
    scores: Any,
    *,
    left_capacity: int | npt.ArrayLike = 1,
    right_capacity: int | npt.ArrayLike = 1,
    left_min: int | npt.ArrayLike = 0,
    right_min: int | npt.ArrayLike = 0,
    time_limit: float | None = None,
    method: str = "auto",
    forbid: Any = None,
    require: Any = None,
    previous: Any = None,
    max_changes: int | None = None,
    objective: str = "sum",
    seed: int = 0,
    progress: Any = None,
) -> MatchResult:
    """Choose (row, column) pairs of a score matrix that maximise the total score.

    Each row ``i`` is in at most ``left_capacity[i]`` and at least ``left_min[i]`` chosen pairs,
    each column ``j`` in at most ``right_capacity[j]`` and at least ``right_min[j]``; a pair is
    chosen at most once. Pairs are optional unless a minimum asks for them. Rules, all
    combinable: ``forbid`` pairs are never chosen, ``require`` pairs always; at most
    ``max_changes`` of the ``previous`` pairs are dropped; ``objective="maxmin"`` maximises
    the smallest total score any column receives first, then the total.

    Parameters
    ----------
    scores : array_like or scipy.sparse matrix/array, shape (n_rows, n_cols)
        Higher is better; rectangular allowed; int or float. In a dense array ``-inf`` forbids a
        pair. In a sparse matrix an absent entry forbids a pair, and every stored entry (an
        explicit zero too) is an allowed pair; duplicate entries are summed, as scipy does.
    left_capacity, right_capacity : int or array_like of int, default 1
        Most pairs per row / per column: one int for all, or one entry per row / column, >= 0.
    left_min, right_min : int or array_like of int, default 0
        Fewest pairs per row / per column, ``0 <= min <= capacity``.
    time_limit : float or None, default None
        Seconds, > 0, for the whole call. The ``assignment``, ``flow`` and ``certified``
        methods are polynomial and finish regardless; ``cpsat`` stops at the limit and returns
        the best solution found with status ``"feasible"``, a ``bound`` and the ``gap``.
    method : {"auto", "assignment", "flow", "certified", "cpsat"}, default "auto"
        ``assignment``: OR-Tools ``SimpleLinearSumAssignment``, for capacities <= 1 and no
        minimums. ``flow``: OR-Tools ``SimpleMinCostFlow``, for everything but the rules
        that need ``cpsat``. ``certified``: flow on candidate pairs with a proof of
        optimality. ``cpsat``: OR-Tools CP-SAT, for every rule. ``auto`` picks the fastest
        that applies: with rules, ``flow`` when the rules are only ``forbid`` (the pairs are
        dropped) and ``require`` (the pairs are fixed and their rows' and columns' capacities
        and minimums reduced), else ``cpsat`` (``previous`` with ``max_changes``,
        ``objective="maxmin"``); see :mod:`pbmatch.solvers.rules`.
    forbid, require : sequence of (row, col), optional
        Pairs never / always chosen. A required pair must be allowed (a finite score or a
        stored sparse entry); forbidding a pair that is not allowed changes nothing.
    previous : sequence of (row, col), optional
        Standing pairs (for example last year's); with ``max_changes``.
    max_changes : int, optional
        At most this many of the ``previous`` pairs are dropped (a previous pair that is not
        allowed any more counts as dropped). Required with ``previous``.
    objective : {"sum", "maxmin"}, default "sum"
        ``"maxmin"``: first maximise the smallest total score received by a column (columns
        that can receive nothing, with capacity 0 or no allowed pair, are not counted), then
        the total.
    seed : int, default 0
        CP-SAT's random seed (CP-SAT runs with one worker: the same input gives the same
        answer, except when a time limit stops it).
    progress : callable or bool, optional
        For runs over a second: called with a :class:`~pbmatch.solvers.rules.SolveProgress`
        at each new solution or bound; ``True`` prints a line on stderr.

    Returns
    -------
    MatchResult
        ``rows``, ``cols`` (sorted by row then column), ``scores`` (as given, as floats),
        ``objective`` (their exactly rounded float sum; NaN when there is no solution),
        ``status`` (``"optimal"``; ``"feasible"`` when a time limit stopped CP-SAT;
        ``"infeasible"`` when the minimums or rules cannot all hold; ``"not_solved"`` when
        stopped before any solution; ``"error"`` if a backend failed), ``method``,
        ``resolution``, ``message`` (the backend's own status words, or why it is
        infeasible), ``bound`` and ``gap`` (of the total, or with ``"maxmin"`` of
        ``min_fair``, the smallest column total), ``diagnosis`` (with rules: a minimal set of
        conflicting rules and the cheapest relaxations, in index terms), ``wall_time``.

    Raises
    ------
    InputError
        Also a ``ValueError``. NaN or ``+inf`` scores, a non-numeric dtype, not 2-D, a capacity
        or minimum that is negative, not a whole number, or of the wrong length, a minimum above
        its capacity, a bad ``time_limit`` or an unknown ``method``; the message names the
        parameter, the row or column and the value; a rule's pair outside the matrix or not
        a pair of ints, a required pair that is not allowed, ``previous`` without
        ``max_changes`` (or the reverse), or ``method`` ``"assignment"`` or ``"certified"``
        with rules.

    Warns
    -----
    PrecisionWarning
        Scaling the scores to the solver's integers made distinct scores equal.

    See Also
    --------
    pbmatch.verify.verify_match : check a result independently of the solver.

    Notes
    -----
    With no minimums only pairs with a score > 0 are chosen: a pair of score <= 0 cannot raise
    the total, so it is left out (ties with an empty pair go to leaving it out). With minimums,
    a pair of score <= 0 is chosen only at a row or column that has a minimum.

    OR-Tools takes integer costs. Integer-valued scores that fit are used exactly
    (``resolution`` is None). Other scores are multiplied by the largest power of two that
    cannot overflow the solver (see :mod:`pbmatch.solvers.scaling`) and rounded;
    ``resolution = 1 / scale`` then bounds the rounding of each score by ``resolution / 2``, so
    the returned total is within ``resolution`` times the most pairs a solution can have of the
    true optimum (``resolution`` is typically about ``1e-11`` times the largest score).

    The same input gives the same output. Complexity: the assignment solver is
    ``O(n m log(n C))`` (Goldberg-Kennedy cost scaling), the flow solver ``O(V^2 E log(V C))``
    worst case and near-linear in practice. Validation and arc building are vectorised.

    Examples
    --------
    >>> import numpy as np
    >>> from pbmatch.matching import match
    >>> scores = np.array([[3.0, 1.0, -np.inf],
    ...                    [2.0, 4.0, 0.5]])
    >>> result = match(scores)
    >>> result.pairs, result.objective, result.status
    ([(0, 0), (1, 1)], 7.0, 'optimal')

    A column may take two rows; row 1 must be paired twice:

    >>> result = match(scores, right_capacity=2, left_capacity=2, left_min=[0, 2])
    >>> result.pairs, result.method
    ([(0, 0), (0, 1), (1, 0), (1, 1)], 'flow')

    Minimums that cannot be met give an ``infeasible`` status, not an exception:

    >>> bad = match(scores, right_min=1)
    >>> bad.status, bad.success
    ('infeasible', False)
    >>> print(bad.message[:51])
    the columns' minimums (right_min) total 3 pairs but
    >>> bad.diagnosis.names  # a minimal set of rules that cannot all hold
    ('column 0 min 1', 'column 1 min 1', 'column 2 min 1', 'row 0 capacity 1', 'row 1 capacity 1')
    >>> print(bad.diagnosis.message)  # doctest: +NORMALIZE_WHITESPACE
    columns {0, 1, 2} need 3 partners (their minimums) but the rows they can pair with,
    {0, 1}, offer at most 2 (their capacities, each pair at most once). Cheapest fix: drop
    column 0 min 1.

    Rules: forbid a pair and require another (the flow drops the one and fixes the other):

    >>> result = match(scores, forbid=[(1, 1)], require=[(1, 2)])
    >>> result.pairs, result.objective, result.method
    ([(0, 0), (1, 2)], 3.5, 'flow')

    Re-pairing: at most ``max_changes`` of the previous pairs may be dropped. When the best
    pairing already keeps enough of them (or none may go: they are fixed) the flow solves it;
    otherwise CP-SAT:

    >>> match(scores, previous=[(0, 0), (1, 0)], max_changes=1).method
    'flow'
    >>> swapped = np.array([[3.0, 1.0], [1.0, 3.0]])
    >>> result = match(swapped, previous=[(0, 1), (1, 0)], max_changes=1)
    >>> result.pairs, result.objective, result.method
    ([(0, 1), (1, 0)], 2.0, 'cpsat')

    Max-min fairness, the smallest column total first:

    >>> fair = match(scores, objective="maxmin", left_capacity=2)
    >>> fair.pairs, fair.min_fair, fair.objective
    ([(0, 0), (1, 1), (1, 2)], 0.5, 7.5)

    Rules that cannot all hold: a minimal conflict and the cheapest relaxations:

    >>> bad = match(scores, require=[(0, 0), (0, 1)])
    >>> bad.status, bad.diagnosis.names
    ('infeasible', ('require (0, 0)', 'require (0, 1)', 'row 0 capacity 1'))
    >>> bad.diagnosis.relaxations[0]
    'drop require (0, 0)'
    """
    if _has_rules(forbid, require, previous, max_changes, objective, method):
        return _match_rules(
            scores, left_capacity, right_capacity, left_min, right_min, time_limit, method,
            forbid, require, previous, max_changes, objective, seed, progress,
        )  # fmt: skip
    problem, method = _match_iv(
        scores, left_capacity, right_capacity, left_min, right_min, time_limit, method
    )
    started = time.perf_counter()
    if method == "auto":
        method = choose_method(problem)
    backend = get_backend(method)
    reason = backend.unsupported(problem)
    if reason is not None:
        raise InputError(f"method={method!r} cannot solve this problem: {reason}")
    raw = backend.solve(problem)
    certificate = raw.certificate
    if certificate is None and raw.status in WITH_SOLUTION:
        certificate = certify(problem, raw)
    result = _result(raw, method, certificate, started)
    if result.status == INFEASIBLE:
        result = _diagnosed(result, problem)
    return result


def _result(raw: BackendResult, method: str, certificate: Any, started: float) -> MatchResult:
    """Decode a backend's answer; warn when scaling merged distinct scores."""
    scaling = raw.scaling
    if scaling is not None and scaling.merged:
        warnings.warn(
            f"{scaling.merged} distinct score values became equal when scaled to integers "
            f"(resolution {scaling.resolution:.3g}); the total is optimal to within "
            "resolution x the most pairs a solution can have",
            PrecisionWarning,
            stacklevel=3,
        )
    chosen = np.asarray(raw.values, dtype=np.float64)
    success = raw.status in WITH_SOLUTION
    return MatchResult(
        rows=raw.rows.astype(np.intp, copy=False),
        cols=raw.cols.astype(np.intp, copy=False),
        scores=chosen,
        objective=math.fsum(chosen.tolist()) if success else math.nan,
        status=raw.status,
        method=method,
        resolution=None if scaling is None else scaling.resolution,
        message=raw.message,
        bound=certificate.bound if certificate is not None and certificate.certified else None,
        wall_time=time.perf_counter() - started,
        diagnosis=raw.diagnosis,
        certificate=certificate,
    )


def match_blocks(
    block: Callable[[int, int], Any],
    shape: tuple[int, int],
    *,
    candidates: Any = None,
    bounds: tuple[npt.ArrayLike, npt.ArrayLike] | int | None = None,
    pair_scores: Callable[[Any, Any], Any] | None = None,
    left_capacity: int | npt.ArrayLike = 1,
    right_capacity: int | npt.ArrayLike = 1,
    left_min: int | npt.ArrayLike = 0,
    right_min: int | npt.ArrayLike = 0,
    k: int | None = None,
    rows_per_block: int | None = None,
    start: int | None = None,
) -> MatchResult:
    """:func:`match` on a score matrix given by rows, never held whole, with a certificate.

    Solves on candidate pairs and prices the others through ``block`` (or ``bounds``) until
    the answer is proved optimal for the whole matrix (see :mod:`pbmatch.solvers.certified`).
    The rules and the result are those of :func:`match` (method ``"certified"``).

    Parameters
    ----------
    block : callable
        ``block(start, stop)`` returns rows ``start:stop`` of the scores as a float array of
        shape ``(stop - start, n_cols)``; ``-inf`` forbids a pair.
    shape : (int, int)
        ``(n_rows, n_cols)``.
    candidates : object or (rows, cols, scores), optional
        Pairs to start from: three arrays, or any object with ``rows``, ``cols`` and
        ``scores`` attributes. Default: the top ``k`` of every row and column, found in two
        passes over the blocks.
    bounds : (row_bound, col_bound) or int, optional
        Every useful pair not in ``candidates`` scores at most ``row_bound[i]`` and at most
        ``col_bound[j]``; pricing then scores only the pairs the bounds cannot rule out, with
        ``pair_scores``. An int ``d`` says that ``candidates`` hold the ``d`` best pairs of
        every row and of every column (as :meth:`PairScorer.top_k
        <pbmatch.scoring.pairscore.PairScorer.top_k>` gives them): the ``d``-th best listed
        score of each row and column is then the bound. Ignored without ``candidates`` (the
        default candidates bring their own bounds).
    pair_scores : callable, optional
        ``pair_scores(rows, cols)``: exact scores of listed pairs; default, read rows through
        ``block``.
    left_capacity, right_capacity, left_min, right_min
        As in :func:`match`.
    k : int, optional
        Candidates per row and column when none are given, and the most pairs each row and
        column adds per pricing pass (default
        :data:`~pbmatch.solvers.certified.DEFAULT_K`).
    rows_per_block : int, optional
        Rows per ``block`` call when pricing (default about a million pairs a call).
    start : int, optional
        Solve first on only the ``start`` best of ``candidates`` of every row and column; the
        others are priced from their given scores in every round, before any other pair, and
        join when they could improve the answer (fewer and smaller solves when many candidates
        are given). Default: solve on every candidate.

    Returns
    -------
    MatchResult
        With ``certified``, ``rounds`` and ``priced``.

    Raises
    ------
    InputError
        Bad shape, capacities or minimums (as :func:`match`), candidates out of range, or a
        block of the wrong shape or with NaN or ``+inf``.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.random.default_rng(0).random((300, 200))
    >>> result = match_blocks(lambda a, b: scores[a:b], scores.shape, right_capacity=2)
    >>> result.certified, result.objective == match(scores, right_capacity=2).objective
    (True, True)
    """
    from pbmatch.solvers.certified import DEFAULT_K, ScoreSource, solve_certified

    started = time.perf_counter()
    if not callable(block):
        raise InputError(f"block is a {type(block).__name__}; pass a function block(start, stop)")
    try:
        n, m = (int(x) for x in shape)
    except (TypeError, ValueError) as exc:
        raise InputError(f"shape is {shape!r}; pass (n_rows, n_cols)") from exc
    if n < 0 or m < 0:
        raise InputError(f"shape is {shape!r}; sizes must be >= 0")
    lcap = _counts_iv(left_capacity, "left_capacity", n, "row")
    rcap = _counts_iv(right_capacity, "right_capacity", m, "column")
    lmin = _counts_iv(left_min, "left_min", n, "row")
    rmin = _counts_iv(right_min, "right_min", m, "column")
    _min_cap_iv(lmin, lcap, left_min, left_capacity, "left_min", "left_capacity", "row")
    _min_cap_iv(rmin, rcap, right_min, right_capacity, "right_min", "right_capacity", "column")
    triple = None
    if candidates is not None:
        triple = _candidates_iv(candidates, n, m)
    elif bounds is not None:
        bounds = None  # the default candidates come with their own bounds
    if isinstance(bounds, (int, np.integer)) and not isinstance(bounds, bool):
        if bounds < 1:
            raise InputError(f"bounds is {bounds!r}; an int bound depth must be >= 1")
        bounds = int(bounds)
    for name, value in (("k", k), ("start", start)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
        ):
            raise InputError(f"{name} is {value!r}; it must be an int >= 1")
    source = ScoreSource((n, m), block=block, rows_per_block=rows_per_block)
    raw = solve_certified(
        source,
        lcap,
        rcap,
        lmin,
        rmin,
        candidates=triple,
        k=DEFAULT_K if k is None else int(k),
        bounds=bounds,
        pair_scores=pair_scores,
        start=None if start is None else int(start),
    )
    return _result(raw, "certified", raw.certificate, started)


def _candidates_iv(candidates: Any, n: int, m: int) -> tuple[Any, Any, Any]:
    if all(hasattr(candidates, name) for name in ("rows", "cols", "scores")):
        parts = (candidates.rows, candidates.cols, candidates.scores)
    else:
        try:
            parts = tuple(candidates)
        except TypeError as exc:
            raise InputError(
                "candidates must be (rows, cols, scores) or have rows, cols and scores"
            ) from exc
        if len(parts) != 3:
            raise InputError(f"candidates has {len(parts)} parts; pass (rows, cols, scores)")
    rows, cols, scores = (np.asarray(x).reshape(-1) for x in parts)
    if not (rows.size == cols.size == scores.size):
        raise InputError(
            f"candidates: rows, cols and scores have lengths {rows.size}, {cols.size}, "
            f"{scores.size}; they must be equal"
        )
    if rows.size and (rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu"):
        raise InputError("candidates: rows and cols must be integer arrays")
    bad = (rows < 0) | (rows >= n) | (cols < 0) | (cols >= m)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"candidates: pair ({rows[i]}, {cols[i]}) is outside the {n} x {m} matrix")
    values = _score_dtype_iv(scores, "candidates' scores").astype(np.float64)
    if not (values < np.inf).all():
        i = int(np.argmin(values < np.inf))
        raise InputError(_bad_score_message(f"candidate ({rows[i]}, {cols[i]})", values[i]))
    return rows.astype(np.int64), cols.astype(np.int64), values


# --- rules: forbid, require, previous, max-min (pbmatch.solvers.rules) -----------------------


def _has_rules(
    forbid: Any, require: Any, previous: Any, max_changes: Any, objective: Any, method: Any
) -> bool:
    """True when the call needs :func:`pbmatch.solvers.rules.solve_rules`."""
    if objective != "sum" or method == "cpsat":
        return True
    if previous is not None or max_changes is not None:
        return True
    return any(
        pairs is not None and len(_pair_list(pairs, name)) > 0
        for pairs, name in ((forbid, "forbid"), (require, "require"))
    )


def _edges(problem: MatchProblem) -> tuple[Any, Any, Any]:
    """Every allowed pair of a validated problem: rows, cols (row-major order) and scores."""
    if problem.dense is not None:
        rows, cols = (a.astype(np.int64) for a in np.nonzero(problem.dense > -np.inf))
        return rows, cols, problem.dense[rows, cols]
    assert problem.pair_rows is not None and problem.pair_cols is not None
    rows, cols = problem.pair_rows.astype(np.int64), problem.pair_cols.astype(np.int64)
    return rows, cols, problem.pair_values


_DIAGNOSE_MAX_PAIRS = 1_000_000
"""Above this many allowed pairs an infeasible plain answer keeps the backend's diagnosis only
(a minimal conflict costs a few dozen flows over all pairs)."""


def _diagnosed(result: MatchResult, problem: MatchProblem) -> MatchResult:
    """Give an infeasible plain answer the rules' diagnosis (the backend's own in ``extra``)."""
    from dataclasses import replace

    from pbmatch.solvers.rules import solve_rules

    if problem.dense is not None:
        pairs = int(np.count_nonzero(problem.dense > -np.inf))
    else:
        pairs = 0 if problem.pair_rows is None else int(problem.pair_rows.size)
    if pairs > _DIAGNOSE_MAX_PAIRS:
        return result
    rows, cols, values = _edges(problem)
    out = solve_rules(
        rows, cols, values, n_rows=problem.n_rows, n_cols=problem.n_cols,
        left_capacity=problem.left_capacity, right_capacity=problem.right_capacity,
        left_min=problem.left_min, right_min=problem.right_min, time_limit=problem.time_limit,
    )  # fmt: skip
    if out.diagnosis is None:  # pragma: no cover - both solvers agree on feasibility
        return result
    extra = {**result.extra, "backend_diagnosis": result.diagnosis}
    return replace(result, diagnosis=out.diagnosis, extra=extra)


def _pair_list(pairs: Any, name: str) -> list[Any]:
    if isinstance(pairs, np.ndarray):
        return list(pairs.reshape(-1, 2)) if pairs.size else []
    try:
        return list(pairs)
    except TypeError as exc:
        raise InputError(f"{name} is {pairs!r}; pass a list of (row, col) pairs") from exc


def _pairs_iv(pairs: Any, name: str, n: int, m: int) -> npt.NDArray[np.int64]:
    """A list of (row, col) pairs -> distinct int64 keys ``row * m + col``, in first order."""
    if pairs is None:
        return np.zeros(0, dtype=np.int64)
    keys: list[int] = []
    for k, pair in enumerate(_pair_list(pairs, name)):
        try:
            i, j = pair
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{name}[{k}] is {pair!r}; each item must be a (row, col) pair"
            ) from exc
        if not all(
            isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in (i, j)
        ):
            raise InputError(f"{name}[{k}] is {pair!r}; row and col must be ints")
        if not (0 <= int(i) < n and 0 <= int(j) < m):
            raise InputError(
                f"{name}[{k}] is ({int(i)}, {int(j)}), outside the {n} x {m} score matrix"
            )
        keys.append(int(i) * m + int(j))
    return np.array(list(dict.fromkeys(keys)), dtype=np.int64)


def _match_rules(
    scores: Any,
    left_capacity: Any,
    right_capacity: Any,
    left_min: Any,
    right_min: Any,
    time_limit: Any,
    method: Any,
    forbid: Any,
    require: Any,
    previous: Any,
    max_changes: Any,
    objective: Any,
    seed: Any,
    progress: Any,
) -> MatchResult:
    """:func:`match` with rules: encode as edge groups, solve, decode."""
    from pbmatch.solvers.rules import EdgeGroup, solve_rules

    problem, method = _match_iv(
        scores, left_capacity, right_capacity, left_min, right_min, time_limit, method
    )
    if method in ("assignment", "certified"):
        raise InputError(
            f"method={method!r} does not take forbid, require, previous or objective='maxmin'; "
            "use 'auto', 'flow' or 'cpsat'"
        )
    if objective not in ("sum", "maxmin"):
        raise InputError(f"objective is {objective!r}; use 'sum' or 'maxmin'")
    if (previous is None) != (max_changes is None):
        given, missing = ("previous", "max_changes") if previous is not None else (
            "max_changes", "previous")  # fmt: skip
        raise InputError(f"{given} is given without {missing}; pass both or neither")
    if max_changes is not None and (
        isinstance(max_changes, bool)
        or not isinstance(max_changes, numbers.Integral)
        or max_changes < 0
    ):
        raise InputError(f"max_changes is {max_changes!r}; it must be an int >= 0")
    limit = 0 if max_changes is None else operator.index(max_changes)
    started = time.perf_counter()
    n, m = problem.n_rows, problem.n_cols
    rows, cols, values = _edges(problem)
    keys = rows * m + cols  # sorted: row-major order

    def find(wanted: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        pos = np.minimum(np.searchsorted(keys, wanted), max(keys.size - 1, 0))
        found = keys[pos] == wanted if keys.size else np.zeros(wanted.size, dtype=bool)
        return pos, found

    groups: list[Any] = []
    forbid_keys = _pairs_iv(forbid, "forbid", n, m)
    pos, found = find(forbid_keys)
    for key, e in zip(forbid_keys[found].tolist(), pos[found].tolist(), strict=True):
        groups.append(EdgeGroup(np.array([e]), hi=0, name=f"forbid ({key // m}, {key % m})"))
    require_keys = _pairs_iv(require, "require", n, m)
    pos, found = find(require_keys)
    if not found.all():
        key = int(require_keys[~found][0])
        raise InputError(
            f"require contains ({key // m}, {key % m}), a pair that is not allowed (score -inf, "
            "or no stored entry in a sparse matrix); require only allowed pairs"
        )
    for key, e in zip(require_keys.tolist(), pos.tolist(), strict=True):
        groups.append(EdgeGroup(np.array([e]), lo=1, name=f"require ({key // m}, {key % m})"))
    previous_rule = -1
    total = kept = 0
    if previous is not None:
        previous_keys = _pairs_iv(previous, "previous", n, m)
        pos, found = find(previous_keys)
        total, kept = int(previous_keys.size), int(found.sum())
        if total - limit > 0:
            name = f"at most {limit} of the {total} previous pairs dropped"
            if kept < total:
                name += f" ({total - kept} of them are no longer allowed)"
            previous_rule = len(groups)
            groups.append(EdgeGroup(np.sort(pos[found]), lo=total - limit, name=name))
    fair = None
    if objective == "maxmin":
        receives = (np.bincount(cols, minlength=m) > 0) & (problem.right_capacity > 0)
        if receives.any():
            fair = np.where(receives, np.arange(m), -1)
        else:
            objective = "sum"  # no column can receive a pair: every solution is empty
    out = solve_rules(
        rows, cols, values, n_rows=n, n_cols=m, left_capacity=problem.left_capacity,
        right_capacity=problem.right_capacity, left_min=problem.left_min,
        right_min=problem.right_min, groups=groups, objective=objective, fair_groups=fair,
        time_limit=problem.time_limit, seed=seed, progress=progress,
        method="auto" if method == "auto" else method,
    )  # fmt: skip
    if out.merged:
        warnings.warn(
            f"{out.merged} distinct score values became equal when scaled to integers "
            f"(resolution {out.resolution:.3g}); the answer is optimal to within resolution x "
            "the most pairs a solution can have",
            PrecisionWarning,
            stacklevel=3,
        )
    diagnosis = out.diagnosis
    if diagnosis is not None and previous_rule >= 0:
        diagnosis = _previous_words(diagnosis, previous_rule, total, limit)
    chosen = np.flatnonzero(out.chosen)
    picked = np.asarray(values[chosen], dtype=np.float64)
    message = out.message
    if diagnosis is not None:
        message = f"{out.message.split(';')[0]}; {diagnosis.message}"
    return MatchResult(
        rows=rows[chosen].astype(np.intp),
        cols=cols[chosen].astype(np.intp),
        scores=picked,
        objective=math.fsum(picked.tolist()) if out.success else math.nan,
        status=out.status,
        method=out.method,
        resolution=out.resolution,
        message=message,
        bound=out.bound,
        wall_time=time.perf_counter() - started,
        diagnosis=diagnosis,
        gap=out.gap,
        min_fair=out.min_fair,
    )


def _previous_words(diagnosis: Any, rule: int, total: int, max_changes: int) -> Any:
    """Say "raise max_changes from K to K'" for the previous-pairs rule."""
    from dataclasses import replace

    steps = []
    message = diagnosis.message
    for step in diagnosis.steps:
        if step.rule == rule:
            allowed = total - step.new_lo
            words = f"raise max_changes from {max_changes} to {allowed}"
            if step.partial:
                words += " (resolves this conflict; another remains)"
            message = message.replace(step.words, words)
            step = replace(step, words=words)
        steps.append(step)
    return replace(
        diagnosis,
        steps=tuple(steps),
        relaxations=tuple(step.words for step in steps),
        message=message,
    )


# --- validation, once, at the boundary --------------------------------------------------------


def _match_iv(
    scores: Any,
    left_capacity: Any,
    right_capacity: Any,
    left_min: Any,
    right_min: Any,
    time_limit: Any,
    method: Any,
) -> tuple[MatchProblem, str]:
    if not isinstance(method, str) or method not in (*method_names(), "cpsat"):
        get_backend(method)  # raises the InputError that lists the known names
    if time_limit is not None and not (
        isinstance(time_limit, numbers.Real)
        and not isinstance(time_limit, bool)
        and math.isfinite(float(time_limit))
        and float(time_limit) > 0
    ):
        raise InputError(
            f"time_limit is {time_limit!r}; it must be a number of seconds > 0 or None"
        )

    sparse = sys.modules.get("scipy.sparse")  # scipy is optional: only a sparse input loads it
    if sparse is not None and sparse.issparse(scores):
        n, m, pair_rows, pair_cols, pair_values = _sparse_scores_iv(scores)
        dense = None
    else:
        dense = _dense_scores_iv(scores)
        n, m = dense.shape
        pair_rows = pair_cols = pair_values = None

    lcap = _counts_iv(left_capacity, "left_capacity", n, "row")
    rcap = _counts_iv(right_capacity, "right_capacity", m, "column")
    lmin = _counts_iv(left_min, "left_min", n, "row")
    rmin = _counts_iv(right_min, "right_min", m, "column")
    _min_cap_iv(lmin, lcap, left_min, left_capacity, "left_min", "left_capacity", "row")
    _min_cap_iv(rmin, rcap, right_min, right_capacity, "right_min", "right_capacity", "column")
    problem = MatchProblem(
        n_rows=n,
        n_cols=m,
        dense=dense,
        pair_rows=pair_rows,
        pair_cols=pair_cols,
        pair_values=pair_values,
        left_capacity=lcap,
        right_capacity=rcap,
        left_min=lmin,
        right_min=rmin,
        time_limit=None if time_limit is None else float(time_limit),
    )
    return problem, method


def _score_dtype_iv(array: np.ndarray, what: str) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float64, copy=False)
    if kind in "iu":
        if kind == "u" and array.size and array.max() > _INT64_MAX:
            return array.astype(np.float64)
        return array.astype(np.int64, copy=False)
    raise InputError(
        f"{what} has dtype {array.dtype}; scores must be real numbers (an integer or float dtype)"
    )


def _bad_score_message(where: str, value: float) -> str:
    return f"{where} is {value}; scores must be finite numbers, or -inf to forbid a pair"


def _dense_scores_iv(scores: Any) -> np.ndarray:
    try:
        array = np.asarray(scores)
    except (TypeError, ValueError) as exc:
        raise InputError(f"scores could not be read as a 2-D numeric array: {exc}") from exc
    if array.ndim != 2:
        raise InputError(
            f"scores must be 2-D (rows x columns); got {array.ndim}-D with shape {array.shape}"
        )
    array = _score_dtype_iv(array, "scores")
    if array.dtype.kind == "f":
        ok = array < np.inf  # False for NaN and +inf
        if not ok.all():
            i, j = np.unravel_index(int(np.argmin(ok)), array.shape)
            raise InputError(_bad_score_message(f"scores[{i}, {j}]", float(array[i, j])))
    return array


def _sparse_scores_iv(scores: Any) -> tuple[int, int, Any, Any, Any]:
    if scores.ndim != 2:
        raise InputError(f"scores must be 2-D (rows x columns); got a {scores.ndim}-D sparse array")
    csr = scores.tocsr(copy=True)  # sums duplicates, keeps explicit zeros
    csr.sort_indices()
    n, m = csr.shape
    values = _score_dtype_iv(np.asarray(csr.data), "scores")
    rows = np.repeat(np.arange(n, dtype=np.intp), np.diff(csr.indptr))
    cols = np.asarray(csr.indices, dtype=np.intp)
    if values.dtype.kind == "f":
        ok = values < np.inf
        if not ok.all():
            k = int(np.argmin(ok))
            raise InputError(_bad_score_message(f"scores[{rows[k]}, {cols[k]}]", float(values[k])))
        allowed = values > -np.inf
        if not allowed.all():
            rows, cols, values = rows[allowed], cols[allowed], values[allowed]
    return int(n), int(m), rows, cols, values


def _counts_iv(value: Any, name: str, size: int, unit: str) -> npt.NDArray[np.int64]:
    """An int or one whole number >= 0 per row/column -> int64 array of length ``size``."""
    rule = f"{name} must be whole numbers >= 0 (one int, or one per {unit})"
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} is {value!r}; {rule}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} could not be read as integers: {exc}; {rule}") from exc
    if array.ndim > 1:
        raise InputError(f"{name} has shape {array.shape}; {rule}")
    if array.ndim == 1 and array.shape[0] != size:
        raise InputError(
            f"{name} has length {array.shape[0]} but scores has {size} {unit}s; "
            f"give one entry per {unit} or a single int"
        )
    flat = array.reshape(-1)
    if array.dtype.kind == "f":
        bad = ~(np.isfinite(flat) & (flat == np.rint(flat)))
    elif array.dtype.kind in "iu":
        bad = np.zeros(flat.shape, dtype=bool)
    else:
        raise InputError(f"{name} has dtype {array.dtype}; {rule}")
    bad |= flat < 0
    if array.dtype.kind in "uf":
        bad |= flat > _INT64_MAX
    if bad.any():
        k = int(np.argmax(bad))
        where = name if array.ndim == 0 else f"{name}[{k}]"
        raise InputError(f"{where} is {flat[k].item()!r}; {rule}")
    counts = flat.astype(np.int64)
    if array.ndim == 0:
        return np.full(size, counts[0], dtype=np.int64)
    return counts


def _min_cap_iv(
    mins: npt.NDArray[np.int64],
    caps: npt.NDArray[np.int64],
    min_value: Any,
    cap_value: Any,
    min_name: str,
    cap_name: str,
    unit: str,
) -> None:
    over = np.flatnonzero(mins > caps)
    if over.size:
        k = int(over[0])
        lo = min_name if np.ndim(min_value) == 0 else f"{min_name}[{k}]"
        hi = cap_name if np.ndim(cap_value) == 0 else f"{cap_name}[{k}]"
        raise InputError(
            f"{lo} is {int(mins[k])} but {hi} is {int(caps[k])}; a {unit}'s minimum must not "
            "exceed its capacity"
        )
